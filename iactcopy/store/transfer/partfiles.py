"""The ``.part`` files a copy is written to: created exclusively, marked, shared, cleaned.

Every file is written to ``<target>.part`` beside its target and renamed onto
it when complete (:mod:`iactcopy.store.transfer.copyfiles`).  All the calls here work
in a folder given by a descriptor (:mod:`iactcopy.store.local.folders`).

* A ``.part`` is always a new file: created with ``O_CREAT | O_EXCL |
  O_NOFOLLOW``, so that no existing file (a link, a hard link to a file
  elsewhere, a FIFO) is ever opened for writing, truncated or given a mode.
* It carries the mark of iactcopy's runs from the instant it exists: mode
  :data:`PART_MODE` (owner write only, which no downloader or editor gives a
  file), a single name, and the user running the copy as its owner.  Once
  complete, just before its rename, it takes its final mode and the remote
  file's size and time, which are then its mark: a run killed in between
  leaves a ``.part`` that the next run still knows as its own.  A ``.part``
  without either mark is not iactcopy's: it is never written, reused or
  removed, and the file it stands in the way of fails with a message naming
  it.
* Several processes may copy into one folder at once.  Whoever writes
  ``<target>.part`` holds an exclusive ``flock`` on it
  (:mod:`iactcopy.filelocks`); the others wait, then look at the target
  again (it is usually up to date by then).  A marked
  ``.part`` nobody holds was left by a run that died: it is removed, by a
  holder of its lock who checked that it still is the file at that name,
  and a new one created.
* A run that reaches its end removes, in the folders it used, the marked
  ``.part`` files nobody holds.  Names starting with ``.`` are left alone
  unless they belong to this run's files: those are the temporaries of
  :mod:`iactcopy.atomicfile`, which other writers own.

:func:`create_part` makes and locks a ``.part``; :func:`remove_stale_parts`
cleans up.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Callable, Iterable

from iactcopy.filelocks import LockTimeout, wait_for_flock

__all__ = ["PART_MODE", "PART_SUFFIX", "ForeignPart", "Finished", "create_part", "is_marked",
           "remove_stale_parts"]

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"
"""Ending of the temporary file a copy is written to."""

PART_MODE = 0o200
"""Mode of a ``.part`` while it is written; with a single name and our owner, the mark."""

# Read-write: the content check reads a copy back through the same descriptor
# (a new file is ours whatever its mode).
_CREATE = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# Opening someone's .part only to lock it: never follow a link, never wait on a
# FIFO, never make a terminal ours.
_OPEN_EXISTING = os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


Finished = Callable[[os.stat_result], bool]
"""Tells whether a file has the size and time a complete copy of the remote file gets."""


class ForeignPart(OSError):
    """A ``.part`` name taken by a file iactcopy did not make; it is left as it is."""


def is_marked(st: os.stat_result, finished: Finished | None = None) -> bool:
    """Whether an ``lstat`` result is that of a ``.part`` file made by iactcopy.

    Parameters
    ----------
    st : os.stat_result
        The ``.part`` file's.
    finished : callable, optional
        For the ``.part`` of a known remote file: whether *st* is that of a
        complete copy of it. Default: only the mode marks a ``.part``.
    """
    return (stat.S_ISREG(st.st_mode) and st.st_nlink == 1 and st.st_uid == os.geteuid()
            and (stat.S_IMODE(st.st_mode) == PART_MODE
                 or (finished is not None and finished(st))))


def create_part(folder_fd: int, name: str, shown: str, check_cancel: Callable[[], None],
                finished: Finished | None = None) -> int:
    """Create the ``.part`` *name* in the folder *folder_fd*, locked; return its descriptor.

    Parameters
    ----------
    folder_fd : int
        The folder's descriptor.
    name : str
        The ``.part`` file name.
    shown : str
        Its path, for messages.
    check_cancel : callable
        Called before each pause while another process holds the name; it
        raises to give up the wait.
    finished : callable, optional
        See :func:`is_marked`.

    Returns
    -------
    int
        A descriptor open for writing on a new, empty file of mode
        :data:`PART_MODE` now at *name*, with an exclusive ``flock``. The
        caller closes it.

    Raises
    ------
    ForeignPart
        When the name is taken by a file without the mark of iactcopy.
    """
    while True:
        try:
            fd = os.open(name, _CREATE, PART_MODE, dir_fd=folder_fd)
        except FileExistsError:
            _wait_or_remove(folder_fd, name, shown, check_cancel, finished)
            continue
        try:
            # Another run that saw the new file before this lock took it for a
            # dead one's, and removes it: begin again.
            wait_for_flock(fd, timeout=0)
            st = os.fstat(fd)
            if _same_file(st, folder_fd, name):
                if stat.S_IMODE(st.st_mode) != PART_MODE:
                    os.fchmod(fd, PART_MODE)  # a umask took the mark away
                return fd
        except LockTimeout:
            pass
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _wait_or_remove(folder_fd: int, name: str, shown: str,
                    check_cancel: Callable[[], None], finished: Finished | None) -> None:
    """Wait while another run holds the ``.part`` *name*; remove it if its run died."""
    try:
        st = os.lstat(name, dir_fd=folder_fd)
    except FileNotFoundError:
        return
    if not is_marked(st, finished):
        raise ForeignPart(errno.EEXIST, f"{_kind(st)} is in the way, not a .part file of "
                                        "iactcopy; it is left as it is (remove it and rerun)",
                          shown)
    try:
        fd = os.open(name, _OPEN_EXISTING, dir_fd=folder_fd)
    except FileNotFoundError:
        return
    try:
        if not os.path.samestat(os.fstat(fd), st):
            return  # replaced meanwhile: look again

        def waiting() -> None:
            # Another process is writing this file: a cancellation must not
            # be stuck behind it.
            check_cancel()
            log.debug("waiting for %s, written by another process", shown)

        wait_for_flock(fd, check=waiting)
        if _same_file(os.fstat(fd), folder_fd, name):
            # Its writer is gone and did not finish: a new copy starts afresh.
            os.unlink(name, dir_fd=folder_fd)
            log.debug("removed %s, left by an interrupted copy", shown)
    finally:
        os.close(fd)


def remove_stale_parts(folders: Iterable[tuple[int, str, dict]]) -> None:
    """Remove the marked ``.part`` files nobody holds in each folder given.

    Parameters
    ----------
    folders : iterable of (int, str, dict of str to callable)
        A folder's descriptor, its path (for messages), and the ``.part``
        names of the run's own files there, each with its ``finished`` test
        (see :func:`is_marked`). Names starting with ``.`` are left alone
        unless they are one of these.
    """
    for folder_fd, path, ours in folders:
        try:
            names = [name for name in os.listdir(folder_fd)
                     if name.endswith(PART_SUFFIX) and (not name.startswith(".") or name in ours)]
        except OSError as err:
            # A folder the system refuses (a name too long, no permission to
            # list it): its files failed or are reported; the others go on.
            log.debug("cannot look for .part files in %s: %s", path, err)
            continue
        for name in names:
            _remove_if_unused(folder_fd, name, os.path.join(path, name), ours.get(name))


def _same_file(st: os.stat_result, folder_fd: int, name: str) -> bool:
    try:
        return os.path.samestat(st, os.lstat(name, dir_fd=folder_fd))
    except FileNotFoundError:
        return False


def _remove_if_unused(folder_fd: int, name: str, shown: str,
                      finished: Finished | None) -> None:
    try:
        st = os.lstat(name, dir_fd=folder_fd)
        if not is_marked(st, finished):
            return  # not iactcopy's: the user's own file
        fd = os.open(name, _OPEN_EXISTING, dir_fd=folder_fd)
    except OSError as err:
        log.debug("cannot open %s to check it: %s", shown, err)
        return
    try:
        wait_for_flock(fd, timeout=0)
        if _same_file(os.fstat(fd), folder_fd, name) and os.path.samestat(os.fstat(fd), st):
            os.unlink(name, dir_fd=folder_fd)
            log.info("removed %s, left by an interrupted copy", shown)
    except LockTimeout:
        pass  # a live copy is writing it
    except OSError as err:
        log.warning("cannot remove %s, left by an interrupted copy: %s", shown, err)
    finally:
        os.close(fd)


def _kind(st: os.stat_result) -> str:
    """What a file in the way of a ``.part`` is, in words."""
    if stat.S_ISLNK(st.st_mode):
        return "a symbolic link"
    if stat.S_ISFIFO(st.st_mode):
        return "a FIFO"
    if stat.S_ISDIR(st.st_mode):
        return "a folder"
    if not stat.S_ISREG(st.st_mode):
        return "a special file"
    if st.st_nlink != 1:
        return f"a file with {st.st_nlink} names (a hard link)"
    if st.st_uid != os.geteuid():
        return "a file of another user"
    return f"a file of mode {stat.S_IMODE(st.st_mode):04o}"
