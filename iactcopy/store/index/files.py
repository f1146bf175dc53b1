"""Index files as a whole: every HDU in its order, the index tables among them as tables.

A local index must be what the remote gives (docs/differences.rst, "Faithful
indexes").  :class:`IndexFile` therefore keeps the file it read: its primary
HDU and any other extension as bytes, and each index table as an
:class:`~iactcopy.store.index.tables.IndexTable` that remembers its rows and
header cards as read (:mod:`iactcopy.store.fits.rawhdus`).  A file may hold
several HDU index tables, one per event type (HAWC's stores): each is
selected and merged on its own, and all of them are written back, in their
order.  When what is to be written is exactly the content that was read, the
file read is written as it was, compressed bytes included.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from typing import Union

import numpy as np

from iactcopy.atomicfile import ReplaceTogether, atomic_write
from iactcopy.errors import IndexTableError
from iactcopy.store.fits.headers import FitsHeaderError, table_columns
from iactcopy.store.fits.memoryfile import memory_file
from iactcopy.store.fits.rawhdus import RawHDU, RawRows, padded, split_hdus
from iactcopy.store.fits.tablewrite import write_fits_bytes
from iactcopy.store.index.sizebound import bounded_content, check_size
from iactcopy.store.index.tablefinder import TableHeader, check_kind, choose_tables, first_line
from iactcopy.store.index.tables import IndexTable

__all__ = ["IndexFile"]

log = logging.getLogger(__name__)

_GZIP_MAGIC = b"\x1f\x8b"
Part = Union[RawHDU, IndexTable]


class IndexFile:
    """An HDU or OBS index file: its HDUs in order, the index tables read into tables.

    Parameters
    ----------
    kind : {"HDU", "OBS"}
        Which index this is.
    parts : sequence of RawHDU or IndexTable
        The HDUs in file order: the index tables as :class:`IndexTable`,
        the others (the primary HDU first) as they were read. A file built
        in memory may give tables only; it then gets an empty primary HDU.
    path : str, optional
        The file (or URL) it was read from, for messages.
    original : bytes, optional
        The file as read, compressed or not: written again as it is when the
        content to write is the content read.
    content : bytes, optional
        *original* uncompressed (it is decompressed here when not given).
    """

    def __init__(self, kind: str, parts: Sequence[Part], *, path: str | None = None,
                 original: bytes | None = None, content: bytes | None = None):
        self.kind = check_kind(kind)
        self.parts = list(parts)
        self.path = path
        self._original = original
        if content is None and original is not None:
            content = _decompressed(original, path)
        self._content = content
        self._rendered: dict[str, bytes] = {}
        if not self.tables:
            raise ValueError("an index file needs at least one index table")

    @classmethod
    def read(cls, path: str | os.PathLike, kind: str) -> IndexFile:
        """Read an index file; its exact name is used (no ``.gz`` fallback).

        Raises
        ------
        IndexTableError
            When the file is missing, is not FITS, has no index table of
            `kind`, or a table lacks required columns.
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            what = "is a folder, not a file" if os.path.isdir(path) else "not found"
            raise IndexTableError(f'Index file "{path}" {what}.')
        try:
            with open(path, "rb") as stream:
                check_size(os.fstat(stream.fileno()).st_size, path)
                original = stream.read()
        except OSError as err:
            raise IndexTableError(
                f'Index file "{path}" cannot be read: {err.strerror or err}.') from err
        return cls.from_bytes(original, kind, path)

    @classmethod
    def from_bytes(cls, original: bytes, kind: str, path: str) -> IndexFile:
        """The index file whose bytes (compressed or not) are *original*; *path* names it."""
        kind = check_kind(kind)
        content = _decompressed(original, path)
        try:
            hdus = split_hdus(content)
        except FitsHeaderError as err:
            raise IndexTableError(
                f'Index file "{path}" cannot be opened as FITS: {err}.') from err
        headers = [TableHeader(number, hdu.header, table_columns(hdu.header))
                   for number, hdu in enumerate(hdus) if hdu.is_table]
        numbers = [table.number for table in choose_tables(headers, kind, path)]
        import fitsio

        tables = {}
        with memory_file(content, os.path.basename(path)) as readable:
            try:
                fits = fitsio.FITS(readable)
            except OSError as err:
                raise IndexTableError(
                    f'Index file "{path}" cannot be opened as FITS: {first_line(err)}.') from err
            with fits:
                for number in numbers:
                    tables[number] = IndexTable.from_fitsio(fits[number], kind, path,
                                                            raw=RawRows.of(hdus[number]))
        parts = [tables.get(number, hdu) for number, hdu in enumerate(hdus)]
        return cls(kind, parts, path=path, original=original, content=content)

    @property
    def tables(self) -> list[IndexTable]:
        """The index tables, in file order."""
        return [part for part in self.parts if isinstance(part, IndexTable)]

    @property
    def obs_ids(self) -> np.ndarray:
        """The ``OBS_ID`` of every row of every table, as int64."""
        return np.concatenate([table.obs_ids for table in self.tables])

    def __len__(self) -> int:
        return sum(len(table) for table in self.tables)

    def __repr__(self) -> str:
        return (f"IndexFile(kind={self.kind!r}, tables={len(self.tables)}, rows={len(self)}, "
                f"path={self.path!r})")

    def with_tables(self, tables: Sequence[IndexTable]) -> IndexFile:
        """The same file with its index tables replaced, in order, by *tables*.

        Tables beyond the file's own are added after its last HDU.
        """
        tables = list(tables)
        if len(tables) < len(self.tables):
            raise ValueError(f"{len(self.tables)} index tables to replace, {len(tables)} given")
        parts, pending = [], iter(tables)
        for part in self.parts:
            parts.append(next(pending) if isinstance(part, IndexTable) else part)
        parts.extend(pending)
        return IndexFile(self.kind, parts, path=self.path, original=self._original,
                         content=self._content)

    def select(self, obs_ids: Iterable[int]) -> IndexFile:
        """The file with, in each table, only the rows of the observations *obs_ids*."""
        wanted = np.asarray(list(obs_ids) if not isinstance(obs_ids, np.ndarray) else obs_ids,
                            dtype=np.int64)
        return self.with_tables([table.select(wanted) for table in self.tables])

    def select_each(self, obs_ids: Sequence[np.ndarray]) -> IndexFile:
        """The file with, in table number *n*, only the rows of the observations ``obs_ids[n]``."""
        return self.with_tables([table.select(wanted)
                                 for table, wanted in zip(self.tables, obs_ids)])

    def content(self, target: str) -> bytes:
        """The uncompressed bytes of the file to write to *target*."""
        if target not in self._rendered:
            pieces = [part.to_bytes() if isinstance(part, RawHDU) else part.hdu_bytes(target)
                      for part in self.parts]
            if not isinstance(self.parts[0], RawHDU):
                pieces.insert(0, _EMPTY_PRIMARY)
            self._rendered[target] = b"".join(pieces)
        return self._rendered[target]

    def same_content(self, other: IndexFile | None, target: str) -> bool:
        """Whether writing this to *target* would give the content *other* was read from."""
        return (other is not None and other._content is not None
                and self.content(target) == other._content)

    def write(self, path: str | os.PathLike, *, compresslevel: int = 6,
              together: ReplaceTogether | None = None) -> None:
        """Write the file atomically, gzip-compressed when the name ends in ``.gz``.

        When the content is the one read and its compression fits the name,
        the bytes read are written as they are.

        Raises
        ------
        OSError
            When the file cannot be written; an existing file is then unchanged.
        """
        path = os.fspath(path)
        content = self.content(path)
        wants_gzip = path.lower().endswith(".gz")
        if (self._original is not None and content == self._content
                and self._original.startswith(_GZIP_MAGIC) == wants_gzip):
            with atomic_write(path, "wb", together=together) as target:
                target.write(self._original)
            return
        write_fits_bytes(path, content, compresslevel=compresslevel, together=together)


def _decompressed(original: bytes, path: str | None) -> bytes:
    return bounded_content(original, path)


def _primary_header() -> bytes:
    cards = [f"{'SIMPLE':8}= {'T':>20}", f"{'BITPIX':8}= {8:>20}",
             f"{'NAXIS':8}= {0:>20}", f"{'EXTEND':8}= {'T':>20}", "END"]
    return padded("".join(card.ljust(80) for card in cards).encode("ascii"), b" ")


#: The primary HDU of a file built in memory: no data, extensions follow.
_EMPTY_PRIMARY = _primary_header()
