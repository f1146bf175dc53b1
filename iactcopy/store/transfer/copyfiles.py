"""Copy files from a store into a local folder: plan, then copy, then report.

:func:`plan_copy` compares each remote file with its local copy and decides an
action; :func:`copy_files` carries out the ``"copy"`` actions, in parallel,
and returns a :class:`CopyReport`. Progress goes to a :class:`Callback`,
whose default does nothing.

Decisions (docs/differences.rst, "Part files" and "Up to date"):

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
* Every file is written to ``<target>.part`` beside its target, its byte
  count checked, its time set, owner write permission added (remote bits
  otherwise kept, not forced to 0644 as ctools did), and renamed onto the target. Data files are not
  fsync'ed. A kill leaves at most a ``.part``; the target is never truncated.
* Several processes may copy into one folder at once; they take turns on
  each ``.part`` file by the locking scheme of :mod:`iactcopy.store.transfer.partfiles`,
  which also decides which ``.part`` files are iactcopy's (only those are
  ever reused or removed).
* Nothing is written outside ``outpath``: a path that is unsafe, or a
  target folder that resolves (through symbolic links) outside ``outpath``,
  is refused.  The plan checks folders once; each copy opens its folder
  again, one component at a time (:mod:`iactcopy.store.local.folders`), and
  works in it by descriptor, so a folder swapped for a link meanwhile is
  never followed out of ``outpath``.
* A local disk that takes no more files (full, over quota, read-only) stops
  the copy: the files not copied yet are failed with that reason, and
  :attr:`CopyReport.local_error` says why (a local failure, exit status 1,
  not a remote one). Remote names ending in ``.part`` are refused too, because
  they would clash with the temporaries, and so are the names the caller
  writes itself (``reserved``: a local store's master and index files).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import queue
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from iactcopy.store.access.sources import FileInfo, Source, UnsafePath, check_relpath, is_inside
from iactcopy.store.layout import RESERVED_NAMES
from iactcopy.store.local.folders import open_folder, open_root
from iactcopy.store.transfer.partfiles import PART_SUFFIX, create_part, remove_stale_parts

__all__ = [
    "ACTIONS",
    "MTIME_TOLERANCE",
    "NO_CALLBACK",
    "OUTCOMES",
    "Callback",
    "CopyPlan",
    "CopyReport",
    "PlanEntry",
    "copy_files",
    "plan_copy",
]

log = logging.getLogger(__name__)

COPY, UP_TO_DATE, KEPT, MISSING, REFUSED = "copy", "up to date", "kept", "missing", "refused"
ACTIONS = (COPY, UP_TO_DATE, KEPT, MISSING, REFUSED)
"""What :func:`plan_copy` decides for a file."""

COPIED, FAILED = "copied", "failed"
OUTCOMES = (COPIED, UP_TO_DATE, KEPT, MISSING, REFUSED, FAILED)
"""What happened to a file in :func:`copy_files`."""

MTIME_TOLERANCE = 1.0
"""Seconds by which the local and remote modification times may differ."""
_TOLERANCE_NS = round(MTIME_TOLERANCE * 1e9)

_REPORT_FIELDS = {COPIED: "copied", UP_TO_DATE: "up_to_date", KEPT: "kept",
                  MISSING: "missing", REFUSED: "refused", FAILED: "failed"}
_WAIT_POLL = 0.25  # longest stretch the main thread sleeps, so Ctrl-C is seen
# Seconds the copies under way get to stop after Ctrl-C: a read stuck on a
# network source is left behind (it removes its .part when it wakes).
_STOP_GRACE = 2.0
# Write errors after which no other file can be written either.
_DISK_FULL = frozenset(code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None),
                                         errno.EROFS) if code is not None)
_SLOW_LOOKUP = 0.001  # seconds: a first look-up this long makes the others run in parallel


class Callback:
    """Receives progress; every method of this base class does nothing.

    :func:`copy_files` calls it from one thread at a time, though not
    necessarily from the main thread.
    """

    def set_size(self, total_bytes: int) -> None:
        """The number of bytes to copy in all, given once before the first file."""

    def relative_update(self, nbytes: int) -> None:
        """*nbytes* more bytes are done.

        A file that fails, or needs no copy after all, counts as done with
        its remaining bytes, so the updates add up to the size given to
        :meth:`set_size`.
        """

    def file_done(self, entry: PlanEntry, outcome: str) -> None:
        """A file is settled; *outcome* is one of :data:`OUTCOMES`.

        Called for every plan entry: first for those with nothing to copy,
        then for each copy as it ends.
        """


NO_CALLBACK = Callback()
"""The callback that does nothing: the default of :func:`copy_files`."""


@dataclass(frozen=True)
class PlanEntry:
    """One file of a plan.

    Attributes
    ----------
    relpath : str
        The file relative to the store root (normalised), as given if refused.
    target : str or None
        Where it goes locally, None when refused.
    action : str
        One of :data:`ACTIONS`.
    reason : str
        Why, in words for a log.
    info : FileInfo or None
        The remote size and time, None when missing or refused.
    """

    relpath: str
    target: str | None
    action: str
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
    """What :func:`copy_files` will do, file by file, sorted by path.

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

    def with_action(self, action: str) -> list:
        """The entries whose action is *action* (one of :data:`ACTIONS`)."""
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(map(repr, ACTIONS))}, "
                             f"not {action!r}")
        return [e for e in self.entries if e.action == action]

    @property
    def to_copy(self) -> list:
        """The entries to copy."""
        return self.with_action(COPY)

    @property
    def bytes_to_copy(self) -> int:
        """Total remote size of the entries to copy."""
        return sum(e.size for e in self.entries if e.action == COPY)

    @property
    def counts(self) -> dict:
        """Number of entries per action (every action present, maybe 0)."""
        found = Counter(e.action for e in self.entries)
        return {action: found[action] for action in ACTIONS}

    def __len__(self) -> int:
        return len(self.entries)


@dataclass
class CopyReport:
    """What :func:`copy_files` did. Each outcome maps relative paths to reasons.

    Attributes
    ----------
    copied, up_to_date, kept, missing, refused, failed : dict of str to str
        The files of each outcome, sorted by path, with the reason.
    bytes_copied : int
        Bytes written into files that were copied.
    elapsed : float
        Seconds spent copying.
    local_error : str or None
        Why the copy stopped early when the local disk took no more files
        (full, over quota, read-only), naming the file; None otherwise.
    """

    copied: dict = field(default_factory=dict)
    up_to_date: dict = field(default_factory=dict)
    kept: dict = field(default_factory=dict)
    missing: dict = field(default_factory=dict)
    refused: dict = field(default_factory=dict)
    failed: dict = field(default_factory=dict)
    bytes_copied: int = 0
    elapsed: float = 0.0
    local_error: str | None = None

    def add(self, relpath: str, outcome: str, reason: str) -> None:
        """Record the *outcome* (one of :data:`OUTCOMES`) of a file."""
        getattr(self, _REPORT_FIELDS[outcome])[relpath] = reason

    @property
    def complete(self) -> bool:
        """True when no file was missing, refused or failed."""
        return not (self.missing or self.refused or self.failed)

    @property
    def problems(self) -> list:
        """``(relpath, "<outcome>: <reason>")`` for each missing, refused or failed file."""
        found = [(path, f"{outcome}: {reason}")
                 for outcome, files in ((MISSING, self.missing), (REFUSED, self.refused),
                                        (FAILED, self.failed))
                 for path, reason in files.items()]
        return sorted(found)

    @property
    def counts(self) -> dict:
        """Number of files per outcome, keyed by :data:`OUTCOMES`."""
        return {outcome: len(getattr(self, name)) for outcome, name in _REPORT_FIELDS.items()}

    def _sort(self) -> None:
        for name in _REPORT_FIELDS.values():
            setattr(self, name, dict(sorted(getattr(self, name).items())))


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
        Remote look-ups run in parallel in this many threads when the first
        one takes over a millisecond (a network source). Default is 1.
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
    """
    _check_nthreads(nthreads)
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
            refused[err.relpath] = PlanEntry(err.relpath, None, REFUSED, err.why)

    def decide(norm: str) -> PlanEntry:
        target = os.path.join(outpath, norm)
        try:
            folders.check(os.path.dirname(target), norm)
            info = source.info(norm)
        except UnsafePath as err:
            return PlanEntry(norm, None, REFUSED, err.why)
        except FileNotFoundError:
            return PlanEntry(norm, target, MISSING, "not found in the remote store")
        except OSError as err:
            return PlanEntry(norm, target, MISSING, f"cannot be read: {_describe(err)}")
        try:
            local = os.lstat(target)
        except FileNotFoundError:
            return PlanEntry(norm, target, COPY, "no local copy", info)
        except OSError as err:
            # Say why now; the copy itself will fail with the same cause.
            return PlanEntry(norm, target, COPY, f"local copy unreadable: {_describe(err)}",
                             info)
        action, reason = _compare(local, info, clobber)
        return PlanEntry(norm, target, action, reason, info)

    names = sorted(unique)
    started = time.monotonic()
    entries = [decide(norm) for norm in names[:1]]
    # A look-up on a local disk takes microseconds and a thread pool costs
    # more than it saves; one on a network mount or URL takes a round trip.
    slow = time.monotonic() - started > _SLOW_LOOKUP
    if nthreads == 1 or len(names) < 3 or not slow:
        entries += [decide(norm) for norm in names[1:]]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(nthreads) as pool:
            entries += pool.map(decide, names[1:])
    entries.extend(refused.values())
    entries.sort(key=lambda e: e.relpath)
    return CopyPlan(outpath, bool(clobber), entries)


def copy_files(plan: CopyPlan, source: Source, *, nthreads: int = 1,
               callback: Callback = NO_CALLBACK,
               check: Callable[[str, int, str], None] | None = None) -> CopyReport:
    """Copy the files that *plan* marks ``"copy"``, and report on all of them.

    A failing file is recorded and the others go on. Files are written to
    ``<target>.part`` and renamed when complete (see
    :mod:`iactcopy.store.transfer.partfiles` for the locking between processes).

    Parameters
    ----------
    plan : CopyPlan
        From :func:`plan_copy`.
    source : Source
        The source the plan was made from.
    nthreads : int
        Files copied at once. Default is 1.
    callback : Callback
        Receives progress, weighted by bytes. Default: nothing.
    check : callable, optional
        ``check(relpath, fd, part)`` is called on each complete ``.part``
        file before it is renamed; an :class:`OSError` it raises makes the
        file a failed one (see :mod:`iactcopy.store.transfer.contentcheck`).
        Default: no check.

    Returns
    -------
    CopyReport

    Raises
    ------
    ValueError
        When *nthreads* is not an integer of at least 1.
    KeyboardInterrupt
        On Ctrl-C (or SIGTERM, SIGHUP: :mod:`iactcopy.interrupts`): copies
        under way stop within one piece and remove their ``.part`` files;
        nothing else is started.
    """
    _check_nthreads(nthreads)
    started = time.monotonic()
    report = CopyReport()
    run = _Run(plan, source, callback, check)
    try:
        callback.set_size(plan.bytes_to_copy)
        for entry in plan.entries:
            if entry.action != COPY:
                run.settle(report, entry, entry.action, entry.reason, 0)
        todo = plan.to_copy
        source.expect([entry.relpath for entry in todo])
        if nthreads == 1 or len(todo) < 2:
            for entry in todo:
                if run.disk_full is not None:
                    break
                run.settle(report, entry, *run.copy(entry))
        else:
            _copy_in_threads(run, todo, nthreads, report)
        run.fail_the_rest(report, todo)
        run.remove_stale_parts()
    finally:
        run.close()
    report.local_error = run.disk_full
    report._sort()
    report.elapsed = time.monotonic() - started
    log.info("Copied %d files (%d bytes) in %.1f s; %d up to date, %d kept, %d missing, "
             "%d refused, %d failed", len(report.copied), report.bytes_copied, report.elapsed,
             len(report.up_to_date), len(report.kept), len(report.missing),
             len(report.refused), len(report.failed))
    return report


def _copy_in_threads(run: _Run, todo: list, nthreads: int, report: CopyReport) -> None:
    # Plain threads rather than an executor: Ctrl-C may strike while a thread
    # is being started, and an executor then loses track of that thread, which
    # goes on copying after we return. Every thread is listed before it starts.
    entries = iter(todo)
    feed = threading.Lock()
    results: queue.SimpleQueue = queue.SimpleQueue()

    def work() -> None:
        while not run.cancel.is_set() and run.disk_full is None:
            with feed:
                entry = next(entries, None)
            if entry is None:
                return
            try:
                results.put((entry, run.copy(entry), None))
            except BaseException as err:  # handed to the main thread
                results.put((entry, None, err))
                return

    threads = []
    try:
        for k in range(min(nthreads, len(todo))):
            thread = threading.Thread(target=work, name=f"iactcopy-{k}", daemon=True)
            threads.append(thread)
            thread.start()
        for _ in todo:
            while True:
                # A finite wait lets the main thread see Ctrl-C promptly.
                try:
                    entry, outcome, err = results.get(timeout=_WAIT_POLL)
                    break
                except queue.Empty:
                    # Once the disk is full the threads stop taking files.
                    if not any(thread.is_alive() for thread in threads) and results.empty():
                        return
            if err is not None:
                raise err
            run.settle(report, entry, *outcome)
    except BaseException:
        run.cancel.set()
        # Threads get a moment to stop and remove their .part files; one
        # stuck in a read that never returns must not keep Ctrl-C waiting.
        deadline = time.monotonic() + _STOP_GRACE
        for thread in threads:
            if thread.ident is not None:
                thread.join(max(0.0, deadline - time.monotonic()))
        run.abandoned = any(thread.is_alive() for thread in threads)
        raise
    finally:
        for thread in threads:
            if thread.ident is not None and not run.cancel.is_set():
                thread.join()


class _Cancelled(BaseException):
    """Stops a copy in a worker thread; a BaseException so no retry loop catches it."""


class _SizeMismatch(OSError):
    """The bytes copied are not the size the plan saw."""


class _Run:
    """The state shared by the copies of one :func:`copy_files` call."""

    def __init__(self, plan: CopyPlan, source: Source, callback: Callback,
                 check: Callable[[str, int, str], None] | None = None):
        self.plan = plan
        self.source = source
        self.callback = callback
        self.check = check
        self.cancel = threading.Event()
        self.lock = threading.Lock()
        #: Why the local disk takes no more files, once it does not.
        self.disk_full: str | None = None
        self._full_why = ""
        #: Whether a thread stuck in a read was left behind at Ctrl-C.
        self.abandoned = False
        #: The mode of a new file, for remote files that have none.
        self.new_mode = 0o666 & ~_umask()
        self._root: tuple | None = None  # (descriptor, real path) or the error opening it
        self._root_error: OSError | None = None

    def root(self) -> tuple:
        """The descriptor and real path of outpath, opened (and created) at the first copy."""
        with self.lock:
            if self._root is None and self._root_error is None:
                try:
                    fd = open_root(self.plan.outpath)
                    self._root = (fd, os.path.realpath(self.plan.outpath))
                except OSError as err:
                    self._root_error = err
            if self._root_error is not None:
                err = self._root_error
                raise OSError(err.errno, err.strerror, err.filename)
            return self._root

    def close(self) -> None:
        if self._root is not None and not self.abandoned:
            os.close(self._root[0])
            self._root = None

    def remove_stale_parts(self) -> None:
        """Remove the .part files of killed runs in the folders of this run's files."""
        if self._root is None and self._root_error is None:
            try:
                self._root = (open_root(self.plan.outpath, create=False),
                              os.path.realpath(self.plan.outpath))
            except OSError:
                return  # no outpath: nothing to clean
        if self._root is None:
            return
        fd, real = self._root
        folders: dict = {}
        for entry in self.plan.entries:
            if entry.target is not None:
                folder, _, name = entry.relpath.rpartition("/")
                folders.setdefault(folder, {})[name + PART_SUFFIX] = _finished_test(entry)
        with contextlib.ExitStack() as stack:
            opened = []
            for folder, ours in sorted(folders.items()):
                try:
                    folder_fd = open_folder(fd, real, folder, folder, create=False)
                except (OSError, UnsafePath) as err:
                    # No such folder, or not one: its files failed already.
                    log.debug("no clean-up in %s: %s", folder or ".", _describe(err))
                    continue
                stack.callback(os.close, folder_fd)
                opened.append((folder_fd, os.path.join(self.plan.outpath, folder), ours))
            remove_stale_parts(opened)

    def fail_the_rest(self, report: CopyReport, todo: list) -> None:
        """Fail the files a full local disk left uncopied."""
        if self.disk_full is None:
            return
        settled = {path for name in _REPORT_FIELDS.values() for path in getattr(report, name)}
        for entry in todo:
            if entry.relpath not in settled:
                self.progress(entry.size)
                self.settle(report, entry, FAILED,
                            f"not copied: {self._full_why} on the local disk", 0)

    def settle(self, report: CopyReport, entry: PlanEntry, outcome: str, reason: str,
               nbytes: int) -> None:
        report.add(entry.relpath, outcome, reason)
        report.bytes_copied += nbytes
        if outcome == FAILED:
            log.warning("%s: copy failed: %s", entry.relpath, reason)
        else:
            log.debug("%s: %s (%s)", entry.relpath, outcome, reason)
        with self.lock:
            self.callback.file_done(entry, outcome)

    def progress(self, nbytes: int) -> None:
        self.check_cancel()
        with self.lock:
            self.callback.relative_update(nbytes)

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise _Cancelled

    def copy(self, entry: PlanEntry) -> tuple:
        """Copy one file; return (outcome, reason, bytes copied)."""
        sent = _Sent(self)
        try:
            outcome, reason = _copy_one(entry, self, sent)
        except UnsafePath as err:
            outcome, reason = REFUSED, err.why
        except OSError as err:
            outcome, reason = FAILED, _describe(err)
            if err.errno in _DISK_FULL:
                with self.lock:
                    if self.disk_full is None:
                        self.disk_full = f"{err.strerror or err} writing {entry.target!r}"
                        self._full_why = err.strerror or str(err)
        if outcome != COPIED and entry.size > sent.total:
            # Count the rest as done, so the progress still reaches its total.
            self.progress(entry.size - sent.total)
        return outcome, reason, sent.total if outcome == COPIED else 0


class _Sent:
    """Forwards the bytes of one file to the run's callback and counts them."""

    def __init__(self, run: _Run):
        self.run = run
        self.total = 0

    def relative_update(self, nbytes: int) -> None:
        self.total += nbytes
        self.run.progress(nbytes)


class _FolderCheck:
    """Refuses target folders that resolve outside the real outpath (cached).

    For the plan only: a copy opens its folder again (:func:`_copy_one`).
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


def _copy_one(entry: PlanEntry, run: _Run, sent: _Sent) -> tuple:
    root_fd, real_root = run.root()
    folder, _, name = entry.relpath.rpartition("/")
    folder_fd = open_folder(root_fd, real_root, folder, entry.relpath, create=True)
    try:
        return _copy_into(folder_fd, name, entry, run, sent)
    finally:
        os.close(folder_fd)


def _copy_into(folder_fd: int, name: str, entry: PlanEntry, run: _Run, sent: _Sent) -> tuple:
    """Copy through a new ``<name>.part`` in the open folder *folder_fd*, renamed onto *name*."""
    part = name + PART_SUFFIX
    fd = create_part(folder_fd, part, entry.target + PART_SUFFIX, run.check_cancel,
                     _finished_test(entry))
    owned = True  # the name `part` is still our locked file
    try:
        again = _look_again(folder_fd, name, entry, run.plan.clobber)
        if again is not None:
            owned = False
            os.unlink(part, dir_fd=folder_fd)
            return again
        with open(fd, "wb", buffering=0, closefd=False) as out:
            nbytes = run.source.copy_to(entry.relpath, out, sent)
        if nbytes != entry.size:
            raise _SizeMismatch(errno.EIO, f"{nbytes} bytes copied, but the remote file has "
                                           f"{entry.size}: it changed or was cut short")
        if run.check is not None:
            run.check(entry.relpath, fd, entry.target + PART_SUFFIX)
        _finish_metadata(fd, entry.info, run.new_mode)
        owned = False
        os.replace(part, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
        return COPIED, entry.reason
    except BaseException:
        # While we hold its lock, the name is ours to remove; once renamed or
        # removed, it may already be another process's new file.
        if owned:
            try:
                os.unlink(part, dir_fd=folder_fd)
            except OSError as err:
                log.debug("cannot remove %s: %s", entry.target + PART_SUFFIX, err)
        raise
    finally:
        os.close(fd)


def _finished_test(entry: PlanEntry):
    """Whether a file has the size and time of a complete copy of *entry*'s remote file."""
    if entry.info is None:
        return None
    return lambda st: _compare(st, entry.info, False)[0] == UP_TO_DATE


def _look_again(folder_fd: int, name: str, entry: PlanEntry, clobber: bool) -> tuple | None:
    """Return an outcome if the target changed since the plan, else None (copy)."""
    try:
        local = os.lstat(name, dir_fd=folder_fd)
    except FileNotFoundError:
        return None
    action, reason = _compare(local, entry.info, clobber)
    if action == COPY:
        return None
    return action, f"{reason} (written meanwhile by another process)"


def _finish_metadata(fd: int, info: FileInfo, new_mode: int) -> None:
    # The time first, then the mode: the .part's mode is its mark
    # (partfiles.PART_MODE) until the remote size and time are.
    mtime_ns = info.mtime_as_ns
    if mtime_ns is not None:
        os.utime(fd, ns=(time.time_ns(), mtime_ns))
    mode = new_mode if info.mode is None else info.mode & 0o777
    os.fchmod(fd, mode | stat.S_IWUSR)


def _compare(local: os.stat_result, info: FileInfo, clobber: bool) -> tuple:
    """Return (action, reason) for an existing local path and its remote file."""
    if stat.S_ISDIR(local.st_mode):
        return REFUSED, "the local path is a folder"
    if stat.S_ISLNK(local.st_mode):
        why = "the local path is a symbolic link"
    elif not stat.S_ISREG(local.st_mode):
        return REFUSED, "the local path is not a regular file"
    elif local.st_size != info.size:
        why = f"size differs (local {local.st_size}, remote {info.size} bytes)"
    else:
        remote_ns = info.mtime_as_ns
        if remote_ns is None:
            return UP_TO_DATE, "same size (the remote gives no time)"
        delta = local.st_mtime_ns - remote_ns
        if abs(delta) <= _TOLERANCE_NS:
            return UP_TO_DATE, "same size and time"
        why = f"time differs ({delta / 1e9:+.3f} s local - remote)"
    if clobber:
        return COPY, why
    return KEPT, f"{why}; kept because clobber=no"


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


def _check_nthreads(nthreads: int) -> None:
    if isinstance(nthreads, bool) or not isinstance(nthreads, int) or nthreads < 1:
        raise ValueError(f"nthreads must be an integer of at least 1, not {nthreads!r}")


def _umask() -> int:
    # Reading the umask means setting it: done once per copy, before any thread.
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _describe(err: BaseException) -> str:
    if isinstance(err, UnsafePath):
        return err.why
    if isinstance(err, OSError) and err.strerror:
        where = f": {err.filename}" if err.filename else ""
        return f"{err.strerror}{where}"
    return str(err) or type(err).__name__
