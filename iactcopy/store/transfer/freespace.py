"""Free space on the local disk, checked before the first byte is copied.

A copy that fills the disk half-way leaves a half-copied store and, on a
shared disk, other users' jobs failing; checking first costs one
``statvfs`` call.  The space needed is the bytes still to copy plus
:data:`SPACE_MARGIN` for what a run writes besides the data files (the
local index files, ``master.json``, the log and the ``.part`` temporaries
of the files being renamed).  docs/tools/csiactcopy.rst states the margin.
"""

from __future__ import annotations

import os

from iactcopy.errors import DataStoreError

__all__ = ["SPACE_MARGIN", "check_free_space", "free_bytes"]

SPACE_MARGIN = 10_000_000
"""Bytes needed on top of those copied: 10 MB."""


def free_bytes(path: str) -> tuple[int, str]:
    """The bytes an unprivileged user may still write where *path* is (or would be).

    Returns the free bytes and the folder they were measured on: *path* if
    it exists, else its nearest existing parent folder.
    """
    folder = os.path.abspath(path)
    while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    found = os.statvfs(folder)
    return found.f_bavail * found.f_frsize, folder


def check_free_space(path: str, nbytes: int) -> None:
    """Refuse a copy of *nbytes* into *path* that the disk cannot hold.

    Raises
    ------
    DataStoreError
        When the free space of the disk holding *path* is below *nbytes*
        plus :data:`SPACE_MARGIN`, with both figures and the folder.
    """
    if nbytes <= 0:
        return
    try:
        free, folder = free_bytes(path)
    except OSError:
        return  # no figure to go by (a file system without statvfs): the copy tells
    needed = nbytes + SPACE_MARGIN
    if free < needed:
        raise DataStoreError(f"the copy needs {_size(needed)}, {_size(free)} free on "
                             f"{folder} ({_size(nbytes)} to copy, {_size(SPACE_MARGIN)} for "
                             "index files and the log): free some space or copy fewer "
                             "observations (runlist)")


def _size(nbytes: int) -> str:
    megabytes = nbytes / 1e6
    return f"{megabytes:.0f} MB" if megabytes >= 10 else f"{megabytes:.1f} MB"
