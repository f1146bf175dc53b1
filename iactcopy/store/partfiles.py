"""The ``.part`` files a copy is written to, and the locking that shares them.

Every file is written to ``<target>.part`` beside its target and renamed onto
it when complete (:mod:`iactcopy.store.transfer`).

* Several processes may copy into one folder at once. Whoever writes
  ``<target>.part`` holds an exclusive ``flock`` on it; the others wait, then
  look at the target again (it is usually up to date by then). A ``.part``
  is truncated, renamed or removed only by a holder of its lock who has
  checked that the locked file still is the one at that name. A run that
  reaches its end removes the ``.part`` files that nobody holds in the
  folders it used (those of killed runs). Names starting with ``.`` are left
  alone unless they belong to this run's files: those are the temporaries of
  :mod:`iactcopy.atomicfile`, which other writers own.

:func:`lock_part` opens and locks a ``.part`` file for writing;
:func:`remove_stale_parts` removes the ones nobody holds.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterable

__all__ = ["PART_SUFFIX", "lock_part", "remove_stale_parts"]

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"
"""Ending of the temporary file a copy is written to."""

_LOCK_POLL = (0.01, 0.2)  # first and longest pause while waiting for a .part lock


def lock_part(part: str, check_cancel: Callable[[], None]) -> int:
    """Open and lock ``part``; return its descriptor once it is still that file.

    Parameters
    ----------
    part : str
        The ``.part`` file; it is created when missing (never through a
        symbolic link).
    check_cancel : callable
        Called before each pause while another process holds the lock; it
        raises to give up the wait.

    Returns
    -------
    int
        A descriptor open for writing, holding an exclusive ``flock`` on the
        file now at the name ``part``. The caller closes it.
    """
    pause = _LOCK_POLL[0]
    while True:
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pass
                # Another process is writing this file: poll, so that a
                # cancellation is not stuck behind it.
                check_cancel()
                log.debug("waiting for %s, written by another process", part)
                time.sleep(pause)
                pause = min(2 * pause, _LOCK_POLL[1])
            if _same_file(fd, part):
                return fd
        except BaseException:
            os.close(fd)
            raise
        # The holder renamed or removed it meanwhile: start again on the new name.
        os.close(fd)


def remove_stale_parts(targets: Iterable[str]) -> None:
    """Remove the ``.part`` files nobody holds in the folders of *targets*.

    Names starting with ``.`` are left alone unless they are the ``.part`` of
    one of *targets*. A folder that does not exist is skipped.

    Parameters
    ----------
    targets : iterable of str
        The target paths of a run's files.
    """
    folders: dict = {}
    for target in targets:
        folder, name = os.path.split(target)
        folders.setdefault(folder, set()).add(name + PART_SUFFIX)
    for folder, ours in sorted(folders.items()):
        try:
            with os.scandir(folder) as it:
                names = [d.name for d in it
                         if d.name.endswith(PART_SUFFIX) and d.is_file(follow_symlinks=False)
                         and (not d.name.startswith(".") or d.name in ours)]
        except (FileNotFoundError, NotADirectoryError):
            # No such folder: its files failed already (the path may be a file).
            continue
        except OSError as err:
            # A folder the system refuses (a name too long, no permission to
            # list it): its files failed or are reported; the others go on.
            log.debug("cannot look for .part files in %s: %s", folder, err)
            continue
        for name in names:
            _remove_if_unused(os.path.join(folder, name))


def _same_file(fd: int, path: str) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.lstat(path))
    except FileNotFoundError:
        return False


def _remove_if_unused(part: str) -> None:
    try:
        fd = os.open(part, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        log.debug("cannot open %s to check it: %s", part, err)
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if _same_file(fd, part):
            os.unlink(part)
            log.info("removed %s, left by an interrupted copy", part)
    except BlockingIOError:
        pass  # a live copy is writing it
    except OSError as err:
        log.warning("cannot remove %s, left by an interrupted copy: %s", part, err)
    finally:
        os.close(fd)
