"""The lock of a local store, ``outpath/.iactcopy.lock``, and the note it keeps.

A full run holds the lock exclusively (:mod:`iactcopy.filelocks`, an
``flock``) while it changes the local indexes and master file, so that runs
into one ``outpath`` at the same time lose nothing (docs/differences.rst,
"Consistent local store").

The lock file is iactcopy's own: the lock never empties or deletes it, and
iactcopy keeps there the stamp of the last run that had nothing to do
(:mod:`iactcopy.store.local.stamp`): the lock is the only file of its own
that iactcopy leaves in a local store (docs/differences.rst, "Local store
layout").  The note is written only under the exclusive lock and read only
under a shared one, so no reader sees half of it; a run killed while
writing it leaves a note that does not parse, which means a full run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from iactcopy.errors import DataStoreError
from iactcopy.filelocks import LockTimeout, locked_file
from iactcopy.store.layout import LOCK_NAME

__all__ = ["LOCK_TIMEOUT", "shared_note", "store_lock", "write_note"]

#: How long a run waits for another run's index update (seconds).
LOCK_TIMEOUT = 600.0


@contextlib.contextmanager
def store_lock(outpath: str, *, timeout: float | None = None) -> Iterator[int]:
    """Hold the lock of the local store in *outpath* exclusively while the block runs.

    Parameters
    ----------
    outpath : str
        The local store folder (it must exist).
    timeout : float, optional
        Seconds to wait for another run to release it (0: do not wait).
        Default: :data:`LOCK_TIMEOUT`.

    Yields
    ------
    int
        The lock file's descriptor, for :func:`write_note`.

    Raises
    ------
    DataStoreError
        When the lock is not had within *timeout*, or cannot be taken at all
        (a lock that cannot be had is the user's to fix).
    """
    timeout = LOCK_TIMEOUT if timeout is None else timeout
    path = os.path.join(outpath, LOCK_NAME)
    with contextlib.ExitStack() as held:
        try:
            fd = held.enter_context(locked_file(path, timeout=timeout))
        except LockTimeout as err:
            raise DataStoreError(
                f'Another run has held the lock "{path}" of the local store for more than '
                f"{timeout:.0f} s; run again when it has finished.") from err
        except OSError as err:
            raise DataStoreError(f'Cannot lock the local store: "{path}": '
                                 f"{err.strerror or err}.") from err
        yield fd


def write_note(fd: int, text: str) -> None:
    """Replace the note in the lock file open at *fd*, held by :func:`store_lock`.

    Raises
    ------
    OSError
        When the lock file cannot be written.
    """
    data = text.encode("utf-8")
    os.ftruncate(fd, 0)
    written = 0
    while written < len(data):
        written += os.pwrite(fd, data[written:], written)


@contextlib.contextmanager
def shared_note(outpath: str, *, max_bytes: int) -> Iterator[bytes | None]:
    """The note in the lock file of *outpath*, read under a shared lock held for the block.

    Yields None, holding nothing, when there is no lock file (so no note,
    and nothing is created), when no full run could take the lock either
    (not a regular file, a link, a read-only disk), when a run holds it now
    (the lock is not waited for), or when the file is larger than
    *max_bytes*.
    """
    with contextlib.ExitStack() as held:
        try:
            fd = held.enter_context(locked_file(os.path.join(outpath, LOCK_NAME), timeout=0,
                                                shared=True, create=False))
            size = os.fstat(fd).st_size
        except OSError:
            fd, size = None, 0
        if fd is None or size > max_bytes:
            yield None
            return
        with open(fd, "rb", closefd=False) as stream:
            yield stream.read()
