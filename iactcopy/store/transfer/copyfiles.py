"""Copy the files of a plan into a local folder, and report.

:func:`copy_files` carries out the ``copy`` actions of a
:class:`~iactcopy.store.transfer.plan.CopyPlan`, in parallel, and returns a
:class:`CopyReport`, whose files are sorted by the same
:class:`~iactcopy.store.transfer.plan.Outcome` values. Progress goes to a
:class:`Callback`, whose default does nothing.

Decisions (docs/differences.rst, "Part files"):

* Every file is written to ``<target>.part`` beside its target, its byte
  count checked, its time set, owner write permission added (remote bits
  otherwise kept, not forced to 0644 as ctools did), and renamed onto the
  target. Data files are not fsync'ed. A kill leaves at most a ``.part``;
  the target is never truncated.
* Several processes may copy into one folder at once; they take turns on
  each ``.part`` file by the locking scheme of :mod:`iactcopy.store.transfer.partfiles`,
  which also decides which ``.part`` files are iactcopy's (only those are
  ever reused or removed).
* The plan checks folders once; each copy opens its folder again, one
  component at a time (:mod:`iactcopy.store.local.folders`), and works in
  it by descriptor, so a folder swapped for a link meanwhile is never
  followed out of ``outpath``.
* A local disk that takes no more files (full, over quota, read-only) stops
  the copy: the files not copied yet are failed with that reason, and
  :attr:`CopyReport.local_error` says why (a local failure, exit status 1,
  not a remote one).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from iactcopy.store.access.sources import FileInfo, Source, UnsafePath
from iactcopy.store.local.folders import open_folder, open_root
from iactcopy.store.transfer.partfiles import PART_SUFFIX, create_part, remove_stale_parts
from iactcopy.store.transfer.plan import (
    CopyPlan,
    Outcome,
    PlanEntry,
    check_nthreads,
    compare_local,
    describe_error,
)
from iactcopy.store.transfer.workers import WorkerThreads

__all__ = ["NO_CALLBACK", "Callback", "CopyReport", "copy_files"]

log = logging.getLogger(__name__)

# Seconds the copies under way get to stop after Ctrl-C: a read stuck on a
# network source is left behind (it removes its .part when it wakes).
_STOP_GRACE = 2.0
# Write errors after which no other file can be written either.
_DISK_FULL = frozenset(code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None),
                                         errno.EROFS) if code is not None)


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

    def file_done(self, entry: PlanEntry, outcome: Outcome) -> None:
        """A file is settled; *outcome* is one of :data:`~iactcopy.store.transfer.plan.OUTCOMES`.

        Called for every plan entry: first for those with nothing to copy,
        then for each copy as it ends.
        """


NO_CALLBACK = Callback()
"""The callback that does nothing: the default of :func:`copy_files`."""


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

    def files(self, outcome: Outcome) -> dict:
        """The files of *outcome* (one of :data:`~iactcopy.store.transfer.plan.OUTCOMES`),
        with the reason: the dict held by the attribute of that name."""
        return self.by_outcome()[outcome]

    def by_outcome(self) -> dict:
        """The files of each outcome, keyed by :class:`~iactcopy.store.transfer.plan.Outcome`."""
        return {Outcome.COPIED: self.copied, Outcome.UP_TO_DATE: self.up_to_date,
                Outcome.KEPT: self.kept, Outcome.MISSING: self.missing,
                Outcome.REFUSED: self.refused, Outcome.FAILED: self.failed}

    def add(self, relpath: str, outcome: Outcome, reason: str) -> None:
        """Record the *outcome* (one of :data:`~iactcopy.store.transfer.plan.OUTCOMES`)
        of a file."""
        self.files(outcome)[relpath] = reason

    @property
    def complete(self) -> bool:
        """True when no file was missing, refused or failed."""
        return not (self.missing or self.refused or self.failed)

    @property
    def problems(self) -> list:
        """``(relpath, "<outcome>: <reason>")`` for each missing, refused or failed file."""
        found = [(path, f"{outcome}: {reason}")
                 for outcome in (Outcome.MISSING, Outcome.REFUSED, Outcome.FAILED)
                 for path, reason in self.files(outcome).items()]
        return sorted(found)

    @property
    def counts(self) -> dict[str, int]:
        """Number of files per outcome, keyed by its words (``"up to date"``, or
        ``Outcome.UP_TO_DATE``: the same key)."""
        return {outcome.value: len(files) for outcome, files in self.by_outcome().items()}

    def sort(self) -> None:
        """Sort the files of each outcome by path."""
        for files in self.by_outcome().values():
            ordered = sorted(files.items())
            files.clear()
            files.update(ordered)


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
    check_nthreads(nthreads)
    started = time.monotonic()
    report = CopyReport()
    run = _Run(plan, source, callback, check)
    try:
        callback.set_size(plan.bytes_to_copy)
        for entry in plan.entries:
            if entry.action != Outcome.COPY:
                run.settle(report, entry, entry.action, entry.reason, 0)
        todo = plan.to_copy
        source.expect([entry.relpath for entry in todo])
        if nthreads == 1 or len(todo) < 2:
            for entry in todo:
                if run.disk_full is not None:
                    break
                run.settle(report, entry, *run.copy(entry))
        else:
            # Once the disk is full the threads stop taking files. After Ctrl-C
            # they get a moment to remove their .part files; one stuck in a read
            # that never returns must not keep Ctrl-C waiting.
            workers = WorkerThreads("iactcopy", nthreads, run.cancel,
                                    stop=lambda: run.disk_full is not None, grace=_STOP_GRACE)
            try:
                workers.run(todo, run.copy,
                            lambda entry, outcome: run.settle(report, entry, *outcome))
            finally:
                run.abandoned = workers.abandoned
        run.fail_the_rest(report, todo)
        run.remove_stale_parts()
    finally:
        run.close()
    report.local_error = run.disk_full
    report.sort()
    report.elapsed = time.monotonic() - started
    log.info("Copied %d files (%d bytes) in %.1f s; %d up to date, %d kept, %d missing, "
             "%d refused, %d failed", len(report.copied), report.bytes_copied, report.elapsed,
             len(report.up_to_date), len(report.kept), len(report.missing),
             len(report.refused), len(report.failed))
    return report


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
                except UnsafePath as err:
                    # A folder swapped for a link: its files failed already.
                    log.debug("no clean-up in %s: %s", folder or ".", err.why)
                    continue
                except OSError as err:
                    # No such folder, or not one: its files failed already.
                    log.debug("no clean-up in %s: %s", folder or ".", describe_error(err))
                    continue
                stack.callback(os.close, folder_fd)
                opened.append((folder_fd, os.path.join(self.plan.outpath, folder), ours))
            remove_stale_parts(opened)

    def fail_the_rest(self, report: CopyReport, todo: list) -> None:
        """Fail the files a full local disk left uncopied."""
        if self.disk_full is None:
            return
        settled = {path for files in report.by_outcome().values() for path in files}
        for entry in todo:
            if entry.relpath not in settled:
                self.progress(entry.size)
                self.settle(report, entry, Outcome.FAILED,
                            f"not copied: {self._full_why} on the local disk", 0)

    def settle(self, report: CopyReport, entry: PlanEntry, outcome: Outcome, reason: str,
               nbytes: int) -> None:
        report.add(entry.relpath, outcome, reason)
        report.bytes_copied += nbytes
        if outcome == Outcome.FAILED:
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
            outcome, reason = Outcome.REFUSED, err.why
        except OSError as err:
            outcome, reason = Outcome.FAILED, describe_error(err)
            if err.errno in _DISK_FULL:
                with self.lock:
                    if self.disk_full is None:
                        self.disk_full = f"{err.strerror or err} writing {entry.target!r}"
                        self._full_why = err.strerror or str(err)
        if outcome != Outcome.COPIED and entry.size > sent.total:
            # Count the rest as done, so the progress still reaches its total.
            self.progress(entry.size - sent.total)
        return outcome, reason, sent.total if outcome == Outcome.COPIED else 0


class _Sent:
    """Forwards the bytes of one file to the run's callback and counts them."""

    def __init__(self, run: _Run):
        self.run = run
        self.total = 0

    def relative_update(self, nbytes: int) -> None:
        self.total += nbytes
        self.run.progress(nbytes)


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
        return Outcome.COPIED, entry.reason
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
    return lambda st: compare_local(st, entry.info, False)[0] == Outcome.UP_TO_DATE


def _look_again(folder_fd: int, name: str, entry: PlanEntry, clobber: bool) -> tuple | None:
    """Return an outcome if the target changed since the plan, else None (copy)."""
    try:
        local = os.lstat(name, dir_fd=folder_fd)
    except FileNotFoundError:
        return None
    action, reason = compare_local(local, entry.info, clobber)
    if action == Outcome.COPY:
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


def _umask() -> int:
    # Reading the umask means setting it: done once per copy, before any thread.
    umask = os.umask(0o022)
    os.umask(umask)
    return umask
