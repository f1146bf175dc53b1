"""The lock of a local store, ``outpath/.iactcopy.lock``, and the note it keeps.

A full run holds the lock exclusively (filelock, which takes an ``flock`` on
Unix) while it changes the local indexes and master file, so that runs into
one ``outpath`` at the same time lose nothing (docs/differences.rst,
"Consistent local store").

The lock file's content means nothing to the lock.  iactcopy keeps there
the stamp of the last run that had nothing to do
(:mod:`iactcopy.store.local.stamp`): the lock is the only file of its own
that iactcopy leaves in a local store (docs/differences.rst, "Local store
layout").  The note is written only under the exclusive
lock and read only under a shared one, so no reader sees half of it; a run
killed while writing it leaves a note that does not parse, which means a
full run.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Iterator

from iactcopy.errors import DataStoreError
from iactcopy.store.layout import LOCK_NAME

__all__ = ["LOCK_TIMEOUT", "shared_note", "store_lock", "write_note"]

#: How long a run waits for another run's index update (seconds).
LOCK_TIMEOUT = 600.0


@contextlib.contextmanager
def store_lock(outpath: str, *, timeout: float | None = None) -> Iterator[None]:
    """Hold the lock of the local store in *outpath* exclusively while the block runs.

    Parameters
    ----------
    outpath : str
        The local store folder (it must exist).
    timeout : float, optional
        Seconds to wait for another run to release it. Default:
        :data:`LOCK_TIMEOUT`.

    Raises
    ------
    DataStoreError
        When the lock is not had within *timeout*, or cannot be taken at all
        (a lock that cannot be had is the user's to fix).
    """
    from filelock import FileLock, Timeout

    timeout = LOCK_TIMEOUT if timeout is None else timeout
    path = os.path.join(outpath, LOCK_NAME)
    lock = FileLock(path, timeout=timeout)
    try:
        lock.acquire()
    except Timeout as err:
        raise DataStoreError(
            f'Another run has held the lock "{path}" of the local store for more than '
            f"{timeout:.0f} s; run again when it has finished.") from err
    except OSError as err:
        raise DataStoreError(f'Cannot lock the local store: "{path}": '
                             f"{err.strerror or err}.") from err
    try:
        yield
    finally:
        lock.release()


def write_note(outpath: str, text: str) -> None:
    """Replace the note in the lock file of *outpath*; the caller holds :func:`store_lock`.

    Raises
    ------
    OSError
        When the lock file is not a regular file or cannot be written.
    """
    fd = os.open(os.path.join(outpath, LOCK_NAME), os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{LOCK_NAME} is not a regular file")
        os.ftruncate(fd, 0)
        with open(fd, "wb", closefd=False) as stream:
            stream.write(text.encode("utf-8"))
    finally:
        os.close(fd)


@contextlib.contextmanager
def shared_note(outpath: str, *, max_bytes: int) -> Iterator[bytes | None]:
    """The note in the lock file of *outpath*, read under a shared lock held for the block.

    Yields None, holding nothing, when there is no lock file (so no note,
    and nothing is created), when no full run could take the lock either
    (the file cannot be opened for writing: a folder, a link, a read-only
    disk), when a run holds it now (the lock is not waited for), or when the
    file is not a regular file of at most *max_bytes*.
    """
    try:
        fd = os.open(os.path.join(outpath, LOCK_NAME),
                     os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            info = os.fstat(fd)
        except OSError:
            yield None
            return
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            yield None
            return
        with open(fd, "rb", closefd=False) as stream:
            yield stream.read()
    finally:
        os.close(fd)
