"""Writing FITS files of binary tables, atomically.

:func:`write_fits_tables` writes an empty primary HDU and the
:class:`FitsTable` extensions given, gzip-compressed when the name ends in
``.gz``, and renames the file into place only when it is complete
(:mod:`iactcopy.atomicfile`).  Tables built in memory and the data files of
a generated store are written through it; an index file read from a store
is written back from its own bytes (:mod:`iactcopy.store.index.files`) by
:func:`write_fits_bytes`.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import fitsio
import numpy as np

from iactcopy.atomicfile import ReplaceTogether, atomic_write

__all__ = ["FitsTable", "render_fits_tables", "write_fits_bytes", "write_fits_tables"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitsTable:
    """A binary table extension to write with :func:`write_fits_tables`.

    Parameters
    ----------
    data : numpy.ndarray
        A structured array; sub-array fields become vector columns.
    extname : str
        The extension name.
    header : sequence of dict
        Extra header records (``name``, ``value``, optional ``comment``).
    units : sequence of str, optional
        One unit per column (``""`` for none).
    """

    data: np.ndarray
    extname: str
    header: Sequence[Mapping[str, Any]] = ()
    units: Sequence[str] | None = None


def write_fits_tables(path: str | os.PathLike, tables: Sequence[FitsTable], *,
                      append: bytes = b"", compresslevel: int = 6, fsync: bool = True,
                      together: ReplaceTogether | None = None) -> None:
    """Write an empty primary HDU and binary tables to a FITS file, atomically.

    The tables are rendered by fitsio (:func:`render_fits_tables`) and the
    file written by :func:`write_fits_bytes`. On any error an existing file
    is left unchanged.

    Parameters
    ----------
    path : str or path-like
        The file to write; a name ending in ``.gz`` gives a gzip file.
    tables : sequence of FitsTable
        The extensions, in order.
    append : bytes
        Complete extensions (header and data, in 2880-byte blocks) to add
        after `tables`, e.g. ones rendered once and shared by many files.
        Default: none.
    compresslevel : int
        gzip level, 1 (fast) to 9 (small). Default is 6.
    fsync : bool
        Flush the file to disk before the rename. Default is True.
    together : ReplaceTogether, optional
        Leave the rename to *together*, with the files written with it.
        Default: rename at once.
    """
    if len(append) % 2880:
        raise ValueError(f"append must be whole 2880-byte FITS blocks, not {len(append)} bytes")
    path = os.fspath(path)
    content = render_fits_tables(tables, path)
    write_fits_bytes(path, content + append, compresslevel=compresslevel, fsync=fsync,
                     together=together)


def render_fits_tables(tables: Sequence[FitsTable], path: str | os.PathLike) -> bytes:
    """The bytes of a FITS file holding an empty primary HDU and *tables*, written by fitsio.

    fitsio writes only to a named file: a temporary beside *path*, the file
    that is to be written (so that no other disk is touched, and a killed
    run's temporary is found by :func:`~iactcopy.atomicfile.leftover_temporaries`),
    removed before this returns.
    """
    path = os.fspath(path)
    # The name is only reserved, not created: creating a file costs about a
    # millisecond on some disks, and fitsio would delete and create it again.
    plain = _unused_name(os.path.dirname(path) or ".", f".{os.path.basename(path)}.",
                         ".fits.part")
    try:
        with fitsio.FITS(plain, "rw") as fits:
            for table in tables:
                fits.write(table.data, extname=table.extname, header=list(table.header),
                           units=list(table.units) if table.units is not None else None)
        with open(plain, "rb") as stream:
            return stream.read()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(plain)


def write_fits_bytes(path: str | os.PathLike, content: bytes, *, compresslevel: int = 6,
                     fsync: bool = True, together: ReplaceTogether | None = None) -> None:
    """Write a whole FITS file's bytes atomically, gzip-compressed when the name ends in ``.gz``.

    Parameters are those of :func:`write_fits_tables`. The bytes go through
    :func:`~iactcopy.atomicfile.atomic_write`: an existing file is replaced
    only when the new one is complete.
    """
    path = os.fspath(path)
    name = os.path.basename(path)
    with atomic_write(path, "wb", fsync=fsync, together=together) as target:
        if name.lower().endswith(".gz"):
            with gzip.GzipFile(filename=name[:-3], mode="wb", fileobj=target,
                               compresslevel=compresslevel, mtime=0) as packed:
                packed.write(content)
        else:
            target.write(content)


def _unused_name(folder: str, prefix: str, suffix: str) -> str:
    for _ in range(100):
        candidate = os.path.join(folder, f"{prefix}{os.urandom(6).hex()}{suffix}")
        if not os.path.lexists(candidate):
            return candidate
    raise FileExistsError(f"no unused temporary name {prefix}*{suffix} in {folder}")
