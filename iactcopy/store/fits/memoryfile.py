"""Bytes held in memory under a path, for libraries that open files only by name (fitsio).

Linux gives an anonymous in-memory file (``memfd_create``), opened as
``/proc/self/fd/N``; elsewhere the bytes go to a private
:class:`tempfile.TemporaryDirectory`, removed when the block ends.  Either
way nothing is left behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Iterator
from typing import BinaryIO

__all__ = ["memory_file"]

log = logging.getLogger(__name__)

_PIECE = 1 << 20


@contextlib.contextmanager
def memory_file(data: bytes | BinaryIO, name: str) -> Iterator[str]:
    """A path holding *data* for the time of the ``with`` block.

    Parameters
    ----------
    data : bytes or binary file
        The content, or a stream read to its end (in pieces, so that a
        decompressing stream never holds the whole content twice).
    name : str
        A name for it (shown in ``/proc``, or the temporary file's name).

    Yields
    ------
    str
        The path to open.
    """
    fd = _memfd(name)
    if fd is not None:
        try:
            with open(fd, "wb", closefd=False) as out:
                _write(data, out)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="iactcopy-") as folder:
        path = os.path.join(folder, name or "index.fits")
        with open(path, "wb") as out:
            _write(data, out)
        yield path


def _write(data: bytes | BinaryIO, out: BinaryIO) -> None:
    if isinstance(data, (bytes, bytearray, memoryview)):
        out.write(data)
    else:
        shutil.copyfileobj(data, out, _PIECE)


def _memfd(name: str) -> int | None:
    create = getattr(os, "memfd_create", None)
    if create is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return create(name or "index", getattr(os, "MFD_CLOEXEC", 0))
    except OSError as err:
        log.debug("memfd_create not possible (%s): using a temporary folder", err)
        return None
