"""Advisory file locks (``flock``) waited for with a timeout, that leave their file alone.

The lock of a local store, the locks on user parameter files and the
``.part`` files of a copy are all taken here.  A lock file is opened, and
created when missing, but never truncated and never deleted: its content is
its user's.  The store lock keeps the stamp of a rerun with nothing to do in
its file (docs/tools/csiactcopy.rst), which a lock library that treats the
file as its own may empty or delete on release.

A lock is waited for by polling with ``LOCK_NB``, not by a blocking
``flock``: a blocking call cannot end at a timeout, nor give a waiting
caller the chance to notice a cancellation.  Closing the descriptor releases
the lock, also when the process dies, so a lock is never left behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from collections.abc import Callable, Iterator

__all__ = ["LockTimeout", "locked_file", "wait_for_flock"]

_POLL = (0.01, 0.2)  # first and longest pause between two tries (seconds)
# Never follow a link, never wait on a FIFO, never make a terminal ours.
_OPEN = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_MODE = 0o644


class LockTimeout(TimeoutError):
    """Another process held the lock for longer than the caller would wait."""


def wait_for_flock(fd: int, *, shared: bool = False, timeout: float | None = None,
                   check: Callable[[], None] | None = None) -> None:
    """Take an ``flock`` on *fd*, waiting while another process holds it.

    Parameters
    ----------
    fd : int
        An open descriptor of the lock file.
    shared : bool, optional
        A shared lock instead of an exclusive one.
    timeout : float or None, optional
        Seconds to wait; 0 tries once; None (the default) waits as long as
        it takes.
    check : callable, optional
        Called before each pause; it raises to give up the wait.

    Raises
    ------
    LockTimeout
        When the lock is not had within *timeout*.
    OSError
        When the lock cannot be taken at all.
    """
    operation = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = _POLL[0]
    while True:
        try:
            fcntl.flock(fd, operation)
            return
        except BlockingIOError:
            pass
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise LockTimeout(errno.EAGAIN, f"the lock was not had within {timeout} s")
        if check is not None:
            check()
        time.sleep(pause if left is None else min(pause, left))
        pause = min(2 * pause, _POLL[1])


@contextlib.contextmanager
def locked_file(path: str, *, timeout: float | None = None, shared: bool = False,
                create: bool = True) -> Iterator[int]:
    """Hold an ``flock`` on the file *path* while the block runs; yield its descriptor.

    The descriptor is open for reading and writing, at offset 0; what the
    caller writes there stays when the lock is released.

    Parameters
    ----------
    path : str
        The lock file.
    timeout : float or None, optional
        As for :func:`wait_for_flock`.
    shared : bool, optional
        A shared lock instead of an exclusive one.
    create : bool, optional
        Create the file (mode 0644 less the umask) when it is missing.

    Raises
    ------
    LockTimeout
        When the lock is not had within *timeout*.
    OSError
        When *path* cannot be opened (with ``create=False``, also when it is
        missing), is a link or is not a regular file, or cannot be locked.
    """
    fd = os.open(path, _OPEN | (os.O_CREAT if create else 0), _MODE)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        wait_for_flock(fd, shared=shared, timeout=timeout)
        yield fd
    finally:
        os.close(fd)
