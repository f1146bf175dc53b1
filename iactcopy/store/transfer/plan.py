"""The copy plan: for each remote file, what a copy into a local folder will do.

:func:`plan_copy` compares each remote file with its local copy and decides
an :class:`Outcome` (one of :data:`ACTIONS`); nothing is written.  The copy
itself is :func:`iactcopy.store.transfer.copyfiles.copy_files`, whose report
uses the same :class:`Outcome` values.

Decisions (docs/differences.rst, "Up to date"):

* A local file is **up to date** when its size equals the remote size and
  its modification time is within :data:`MTIME_TOLERANCE` (1 s) of the
  remote one. Copies from a local source keep the time to the nanosecond, so
  there the test is exact in practice; the tolerance absorbs whole-second
  times (HTTP, sftp, sshfs), float rounding, and local file systems that
  store whole seconds (rsync's ``--modify-window=1``). A remote file
  replaced within the same second by one of the same size is not noticed.
  When the remote gives no time at all, equal sizes mean up to date.
* A local file that differs (size or time) is re-copied with
  ``clobber=True``; with ``clobber=False`` it is **kept**, whatever the
  difference, and reported so the caller can count it as a differing file
  kept and suggest ``clobber=yes``.
* A remote file that does not exist is **missing**; one that exists but
  cannot be read (access refused, an I/O error, a folder) is **refused**,
  with the reason.
* Nothing is written outside ``outpath``: a path that is unsafe, or a
  target folder that resolves (through symbolic links) outside ``outpath``,
  is refused.  Remote names ending in ``.part`` are refused too, because
  they would clash with the temporaries, and so are the names the caller
  writes itself (``reserved``: a local store's master and index files).
* The remote files are looked up in parallel when each look-up waits for a
  network round trip (:attr:`~iactcopy.store.access.sources.Source.network_lookups`:
  a URL, or a folder on a network or FUSE mount); on a local disk a look-up
  takes microseconds and threads would cost more than they save.
"""

from __future__ import annotations

import os
import stat
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from iactcopy.store.access.sources import FileInfo, Source, UnsafePath, check_relpath, is_inside
from iactcopy.store.layout import RESERVED_NAMES
from iactcopy.store.transfer.partfiles import PART_SUFFIX
from iactcopy.store.transfer.workers import WorkerThreads

__all__ = [
    "ACTIONS",
    "MTIME_TOLERANCE",
    "OUTCOMES",
    "CopyPlan",
    "Outcome",
    "PlanEntry",
    "check_nthreads",
    "compare_local",
    "describe_error",
    "plan_copy",
]


class Outcome(str, Enum):
    """What the plan decides for a file, and what the copy did with it.

    A member is its text (``Outcome.UP_TO_DATE == "up to date"``), and reads
    as it in logs and reports.
    """

    COPY = "copy"
    COPIED = "copied"
    UP_TO_DATE = "up to date"
    KEPT = "kept"
    MISSING = "missing"
    REFUSED = "refused"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


ACTIONS = (Outcome.COPY, Outcome.UP_TO_DATE, Outcome.KEPT, Outcome.MISSING, Outcome.REFUSED)
"""What :func:`plan_copy` decides for a file."""

OUTCOMES = (Outcome.COPIED, Outcome.UP_TO_DATE, Outcome.KEPT, Outcome.MISSING,
            Outcome.REFUSED, Outcome.FAILED)
"""What happened to a file in :func:`~iactcopy.store.transfer.copyfiles.copy_files`."""

MTIME_TOLERANCE = 1.0
"""Seconds by which the local and remote modification times may differ."""
_TOLERANCE_NS = round(MTIME_TOLERANCE * 1e9)


@dataclass(frozen=True)
class PlanEntry:
    """One file of a plan.

    Attributes
    ----------
    relpath : str
        The file relative to the store root (normalised), as given if refused.
    target : str or None
        Where it goes locally, None when refused.
    action : Outcome
        One of :data:`ACTIONS`.
    reason : str
        Why, in words for a log.
    info : FileInfo or None
        The remote size and time, None when missing or refused.
    """

    relpath: str
    target: str | None
    action: Outcome
    reason: str
    info: FileInfo | None = None

    @property
    def size(self) -> int | None:
        """The remote size in bytes, or None."""
        return None if self.info is None else self.info.size

    @property
    def mtime(self) -> float | None:
        """The remote modification time, or None."""
        return None if self.info is None else self.info.mtime


@dataclass
class CopyPlan:
    """What :func:`~iactcopy.store.transfer.copyfiles.copy_files` will do, file by file,
    sorted by path.

    Attributes
    ----------
    outpath : str
        The local folder (absolute).
    clobber : bool
        Whether differing local files are replaced.
    entries : list of PlanEntry
    """

    outpath: str
    clobber: bool
    entries: list = field(default_factory=list)

    def with_action(self, action: Outcome | str) -> list:
        """The entries whose action is *action* (one of :data:`ACTIONS`)."""
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(repr(a.value) for a in ACTIONS)}"
                             f", not {action!r}")
        return [e for e in self.entries if e.action == action]

    @property
    def to_copy(self) -> list:
        """The entries to copy."""
        return self.with_action(Outcome.COPY)

    @property
    def bytes_to_copy(self) -> int:
        """Total remote size of the entries to copy."""
        return sum(e.size for e in self.entries if e.action == Outcome.COPY)

    @property
    def counts(self) -> dict[str, int]:
        """Number of entries per action (every action present, maybe 0), keyed by its words.

        ``counts[Outcome.KEPT]`` and ``counts["kept"]`` are the same item.
        """
        found = Counter(e.action for e in self.entries)
        return {action.value: found[action] for action in ACTIONS}

    def __len__(self) -> int:
        return len(self.entries)


def plan_copy(source: Source, relpaths: Iterable[str], outpath: str | os.PathLike, *,
              clobber: bool = False, nthreads: int = 1,
              reserved: Iterable[str] = ()) -> CopyPlan:
    """Decide, for each file, whether to copy it into *outpath*.

    Nothing is written. The remote files are looked up with
    :meth:`Source.info`, the local ones with ``lstat``.

    Parameters
    ----------
    source : Source
        Where the files are read from.
    relpaths : iterable of str
        Files relative to the source root; normalised, deduplicated, sorted.
    outpath : str or path-like
        The local folder; the file ``a/b`` goes to ``outpath/a/b``.
    clobber : bool
        Replace local files that differ from the remote ones. Default is False.
    nthreads : int
        Remote look-ups run in parallel in this many threads when the
        source's look-ups wait on a network
        (:attr:`~iactcopy.store.access.sources.Source.network_lookups`).
        Default is 1.
    reserved : iterable of str
        Relative paths in *outpath* that the caller writes itself (a local
        store's master and index files): a file to copy there is refused.
        The lock and stamp files of a local store
        (:data:`~iactcopy.store.layout.RESERVED_NAMES`) are always reserved.
        Default: no other.

    Returns
    -------
    CopyPlan

    Raises
    ------
    ValueError
        When *nthreads* is not an integer of at least 1.
    KeyboardInterrupt
        On Ctrl-C (or SIGTERM, SIGHUP): no look-up is started after it.
    """
    check_nthreads(nthreads)
    outpath = os.path.abspath(os.fspath(outpath))
    real_out = os.path.realpath(outpath)
    folders = _FolderCheck(outpath, real_out)

    kept = {check_relpath(name) for name in reserved}
    unique: set = set()
    refused: dict = {}
    for relpath in relpaths:
        try:
            unique.add(_check_target_name(relpath, kept))
        except UnsafePath as err:
            refused[err.relpath] = PlanEntry(err.relpath, None, Outcome.REFUSED, err.why)

    def decide(norm: str) -> PlanEntry:
        target = os.path.join(outpath, norm)
        try:
            folders.check(os.path.dirname(target), norm)
            info = source.info(norm)
        except UnsafePath as err:
            return PlanEntry(norm, None, Outcome.REFUSED, err.why)
        except (FileNotFoundError, NotADirectoryError):
            return PlanEntry(norm, target, Outcome.MISSING, "not found in the remote store")
        except OSError as err:
            # It is there, but access is refused or reading it fails: not missing.
            return PlanEntry(norm, target, Outcome.REFUSED,
                             f"cannot be read: {describe_error(err)}")
        try:
            local = os.lstat(target)
        except FileNotFoundError:
            return PlanEntry(norm, target, Outcome.COPY, "no local copy", info)
        except OSError as err:
            # Say why now; the copy itself will fail with the same cause.
            return PlanEntry(norm, target, Outcome.COPY,
                             f"local copy unreadable: {describe_error(err)}", info)
        action, reason = compare_local(local, info, clobber)
        return PlanEntry(norm, target, action, reason, info)

    names = sorted(unique)
    if nthreads == 1 or len(names) < 2 or not source.network_lookups:
        entries = [decide(norm) for norm in names]
    else:
        entries = []
        WorkerThreads("iactcopy-plan", nthreads, threading.Event()).run(
            names, decide, lambda _, entry: entries.append(entry))
    entries.extend(refused.values())
    entries.sort(key=lambda e: e.relpath)
    return CopyPlan(outpath, bool(clobber), entries)


class _FolderCheck:
    """Refuses target folders that resolve outside the real outpath (cached).

    For the plan only: a copy opens its folder again
    (:mod:`iactcopy.store.local.folders`).
    """

    def __init__(self, outpath: str, real_out: str):
        self.outpath = outpath
        self.real_out = real_out
        self.good: set = set()

    def check(self, folder: str, relpath: str) -> None:
        if folder not in self.good:
            self._check(folder, relpath)
            self.good.add(folder)

    def _check(self, folder: str, relpath: str) -> None:
        real = os.path.realpath(folder)
        if not is_inside(real, self.real_out):
            raise UnsafePath(relpath, f"the local folder {folder!r} leads to {real!r}, "
                                      f"outside {self.real_out!r}")


def compare_local(local: os.stat_result, info: FileInfo, clobber: bool) -> tuple[Outcome, str]:
    """Decide for an existing local path and its remote file.

    Parameters
    ----------
    local : os.stat_result
        The ``lstat`` of the local path.
    info : FileInfo
        The remote file.
    clobber : bool
        Whether a differing local file is replaced.

    Returns
    -------
    tuple of (Outcome, str)
        The action (copy, up to date, kept or refused) and why.
    """
    if stat.S_ISDIR(local.st_mode):
        return Outcome.REFUSED, "the local path is a folder"
    if stat.S_ISLNK(local.st_mode):
        why = "the local path is a symbolic link"
    elif not stat.S_ISREG(local.st_mode):
        return Outcome.REFUSED, "the local path is not a regular file"
    elif local.st_size != info.size:
        why = f"size differs (local {local.st_size}, remote {info.size} bytes)"
    else:
        remote_ns = info.mtime_as_ns
        if remote_ns is None:
            return Outcome.UP_TO_DATE, "same size (the remote gives no time)"
        delta = local.st_mtime_ns - remote_ns
        if abs(delta) <= _TOLERANCE_NS:
            return Outcome.UP_TO_DATE, "same size and time"
        why = f"time differs ({delta / 1e9:+.3f} s local - remote)"
    if clobber:
        return Outcome.COPY, why
    return Outcome.KEPT, f"{why}; kept because clobber=no"


def _check_target_name(relpath: str, reserved: frozenset | set) -> str:
    norm = check_relpath(relpath)
    name = norm.rsplit("/", 1)[-1]
    if name.endswith(PART_SUFFIX):
        raise UnsafePath(relpath, f"names ending in {PART_SUFFIX!r} are kept for temporaries")
    if norm in RESERVED_NAMES:
        raise UnsafePath(relpath, "the name is kept for the lock or stamp of the local store")
    if norm in reserved:
        # Copied, it would replace the local master or index, and with them the
        # entries of other productions and the rows of other observations.
        raise UnsafePath(relpath, "the name is kept for a master or index file of the "
                                  "local store")
    return norm


def check_nthreads(nthreads: int) -> None:
    """Raise ValueError unless *nthreads* is an integer of at least 1."""
    if isinstance(nthreads, bool) or not isinstance(nthreads, int) or nthreads < 1:
        raise ValueError(f"nthreads must be an integer of at least 1, not {nthreads!r}")


def describe_error(err: OSError) -> str:
    """An error in words for a log: its text and the file it names."""
    if err.strerror:
        where = f": {err.filename}" if err.filename else ""
        return f"{err.strerror}{where}"
    return str(err) or type(err).__name__
