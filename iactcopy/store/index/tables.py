"""HDU and OBS index tables: reading, selecting and writing them.

An index table is held as a numpy structured array (string columns as ``str``)
with the header keywords worth carrying over and, for a table read from a
file, its rows and header cards as they were read (:mod:`iactcopy.store.fits.rawhdus`),
which it is written back from.  Everything here works on whole columns:
selection with :func:`numpy.isin`, and the file path of each HDU row
(:func:`resolve_file_paths`) from its few distinct folders.  Whole index
files, which may hold several tables, are :mod:`iactcopy.store.index.files`;
merging two tables is in :mod:`iactcopy.store.index.merge`; tables built in
memory are written by :mod:`iactcopy.store.fits.tablewrite`.

astropy is deliberately not imported: it costs 0.3 s at start-up, and fitsio
reads and writes these tables faster.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import posixpath
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import fitsio
import numpy as np

from iactcopy.atomicfile import ReplaceTogether
from iactcopy.errors import IndexTableError
from iactcopy.store.fits.memoryfile import memory_file
from iactcopy.store.fits.rawhdus import RawRows
from iactcopy.store.fits.tablewrite import FitsTable, render_fits_tables
from iactcopy.store.index.keysets import member
from iactcopy.store.index.tablefinder import (
    EXTNAMES,
    KINDS,
    REQUIRED_COLUMNS,
    TableHeader,
    check_index_table,
    check_kind,
    choose_table,
    first_line,
    has_index_table,
)

__all__ = [
    "EXTNAMES",
    "KEY_COLUMNS",
    "KINDS",
    "REQUIRED_COLUMNS",
    "IndexTable",
    "check_index_table",
    "find_table",
    "has_index_table",
    "open_fits",
    "resolve_file_paths",
]

log = logging.getLogger(__name__)

KEY_COLUMNS = {"HDU": ("OBS_ID", "HDU_TYPE", "HDU_CLASS"), "OBS": ("OBS_ID",)}
"""The columns identifying a row in a merge (docs/differences.rst, "Index merge")."""

# Written afresh on every write, so never carried over from a table read.
_NOT_CARRIED = frozenset({
    "SIMPLE", "XTENSION", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT", "TFIELDS", "THEAP",
    "EXTNAME", "EXTVER", "HDUCLASS", "HDUCLAS1", "HDUCLAS2", "CHECKSUM", "DATASUM", "END",
    "CONTINUE", "",
})
_NAXIS_N = re.compile(r"NAXIS\d+")
_COLUMN_KEYWORD = re.compile(r"(T[A-Z]{3,4})(\d+)")
# fitsio derives these from the array itself; a stale copy would contradict it.
_COLUMN_STRUCTURE = frozenset({"TTYPE", "TFORM", "TDIM", "TBCOL", "TSCAL", "TZERO"})
_COLUMN_DESCRIPTIVE = frozenset({
    "TUNIT", "TNULL", "TDISP", "TUCD", "TLMIN", "TLMAX", "TDMIN", "TDMAX", "TCTYP", "TCUNI",
    "TCRPX", "TCRVL", "TCDLT", "TCROT", "TCNAM",
})
_COMMENTARY = frozenset({"COMMENT", "HISTORY"})
_GZIP_MAGIC = b"\x1f\x8b"

# FITS stores these integer types with an offset (TZERO), and TNULL is in stored
# units, while the arrays hold physical values.
_TZERO = {("u", 2): 1 << 15, ("u", 4): 1 << 31, ("u", 8): 1 << 63, ("i", 1): -128}


def _tzero(dtype: np.dtype) -> int:
    return _TZERO.get((dtype.base.kind, dtype.base.itemsize), 0)


class IndexTable:
    """An HDU or OBS index table held in memory.

    Parameters
    ----------
    kind : {"HDU", "OBS"}
        Which index this is.
    data : numpy.ndarray
        A structured array with one field per column. Byte-string columns are
        converted to ``str``. It must have the columns of
        :data:`REQUIRED_COLUMNS` for `kind`, with an integer ``OBS_ID``.
    header : sequence of dict, optional
        Header records to carry over, each with ``name``, ``value`` and
        optionally ``comment``; structural keywords are not allowed here.
        Default: none.
    column_keywords : mapping, optional
        Per column name, the descriptive column keywords without their
        number, e.g. ``{"RA_PNT": {"TUNIT": "deg"}}``; they follow the column
        when columns are reordered. ``TNULL`` is in physical units (as the
        array holds the values). Default: none.
    path : str, optional
        The file the table was read from; it names the table in messages.
    raw : RawRows, optional
        The rows as they were read, one record per row of `data`, with the
        header they were read under: the table is then written from them,
        byte for byte (:mod:`iactcopy.store.fits.rawhdus`). Default: none, the
        table is written from `data`, `header` and `column_keywords`.

    Raises
    ------
    IndexTableError
        When a required column is missing or ``OBS_ID`` is neither integer
        nor text.
    """

    def __init__(self, kind: str, data: np.ndarray, *, header: Iterable[Mapping] = (),
                 column_keywords: Mapping[str, Mapping[str, Any]] | None = None,
                 path: str | os.PathLike | None = None, raw: RawRows | None = None):
        self.kind = check_kind(kind)
        self.path = None if path is None else os.fspath(path)
        self.data = _as_str_columns(np.asarray(data))
        if raw is not None and len(raw.records) != len(self.data):
            raise ValueError(f"raw holds {len(raw.records)} rows, data {len(self.data)}")
        self.raw = raw
        self.header = [dict(record) for record in header]
        keywords = column_keywords or {}
        self.column_keywords = {name: dict(keywords[name]) for name in self.columns
                                if keywords.get(name)}
        missing = [name for name in REQUIRED_COLUMNS[self.kind] if name not in self.columns]
        if missing:
            raise IndexTableError(
                f"The {self._describe()} lacks the required column(s) {', '.join(missing)}; an "
                f"{self.kind} index needs {', '.join(REQUIRED_COLUMNS[self.kind])}. "
                f"Columns present: {', '.join(self.columns) or '(none)'}.")
        obs_id = self.data.dtype["OBS_ID"]
        if obs_id.kind not in "iuU" or obs_id.shape:
            raise IndexTableError(
                f"Column OBS_ID of the {self._describe()} holds {_describe_dtype(obs_id)}; "
                "observation IDs must be one integer (or one text) per row.")

    @classmethod
    def read(cls, path: str | os.PathLike, kind: str) -> IndexTable:
        """Read the index table of `kind` from a FITS file.

        The table is the extension named ``HDU_INDEX``/``OBS_INDEX`` (any
        case), else the one with ``HDUCLAS1='INDEX'`` and ``HDUCLAS2`` equal
        to `kind`, else the first whose columns fit (HDU: ``OBS_ID``,
        ``FILE_DIR`` and ``FILE_NAME``; OBS: ``OBS_ID`` without
        ``FILE_NAME``). A file with several HDU tables (one per event type)
        gives the first here; :class:`~iactcopy.store.index.files.IndexFile`
        holds them all.

        Parameters
        ----------
        path : str or path-like
            The index file; its exact name is used (no ``.gz`` fallback).
        kind : {"HDU", "OBS"}
            Which index to look for.

        Returns
        -------
        IndexTable

        Raises
        ------
        IndexTableError
            When the file is missing, is not FITS, has no such table or the
            table lacks required columns.
        """
        from iactcopy.store.index.files import IndexFile

        return IndexFile.read(path, kind).tables[0]

    @classmethod
    def from_fitsio(cls, hdu: Any, kind: str, path: str, raw: RawRows | None = None
                    ) -> IndexTable:
        """The table of an open fitsio HDU (*path* names it in messages)."""
        try:
            header = hdu.read_header()
            data = hdu.read()
            if data is None:  # fitsio reads a table of no rows as None
                data = np.zeros(0, dtype=hdu.get_rec_dtype()[0])
        except (OSError, ValueError) as err:
            raise IndexTableError(
                f'Cannot read the {kind} index table of "{path}": {first_line(err)}. '
                "The file may be truncated or corrupt.") from err
        records, column_keywords = _split_header(header, data.dtype)
        data = _canonical_required_names(data, kind)
        return cls(kind, data, header=records, column_keywords=column_keywords, path=path,
                   raw=raw)

    @property
    def columns(self) -> tuple[str, ...]:
        """The column names in table order."""
        return self.data.dtype.names

    @property
    def units(self) -> dict[str, str]:
        """The unit of each column that has one (from ``TUNITn``)."""
        return {name: str(keys["TUNIT"]) for name, keys in self.column_keywords.items()
                if keys.get("TUNIT")}

    @property
    def obs_ids(self) -> np.ndarray:
        """The ``OBS_ID`` of every row, as int64 (repeated in an HDU index).

        A text ``OBS_ID`` (gammapy reads such stores) gives the integer it
        spells, or for a text that spells none a stable negative number
        derived from it (:func:`text_obs_ids`).
        """
        column = self.data["OBS_ID"]
        if column.dtype.kind == "U":
            return text_obs_ids(column)
        return np.asarray(column, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return (f"IndexTable(kind={self.kind!r}, rows={len(self)}, "
                f"columns={len(self.columns)}, path={self.path!r})")

    def select(self, obs_ids: Iterable[int]) -> IndexTable:
        """Return a new table with the rows whose ``OBS_ID`` is in `obs_ids`, in table order."""
        wanted = np.asarray(list(obs_ids) if not isinstance(obs_ids, np.ndarray) else obs_ids,
                            dtype=np.int64)
        return self.select_rows(member(self.obs_ids, wanted))

    def same_content(self, other: IndexTable | None) -> bool:
        """True when *other* holds the same columns, rows, keywords and units.

        Compared byte for byte, so NaN cells compare equal to themselves: a
        no-op rerun must find its index unchanged and leave the file alone.
        """
        return (other is not None and self.kind == other.kind
                and self.data.dtype == other.data.dtype
                and self.data.tobytes() == other.data.tobytes()
                and self.header == other.header
                and self.column_keywords == other.column_keywords)

    def select_rows(self, rows: np.ndarray) -> IndexTable:
        """Return a new table with the rows picked by a boolean mask or an index array."""
        rows = np.asarray(rows)
        return type(self)(self.kind, self.data[rows], header=self.header,
                          column_keywords=self.column_keywords, path=self.path,
                          raw=None if self.raw is None else self.raw.select(rows))

    def write(self, path: str | os.PathLike | None = None, *, compresslevel: int = 6,
              together: ReplaceTogether | None = None) -> None:
        """Write the table alone to a FITS file atomically.

        A table read from a file keeps that file's header cards and row bytes
        (:mod:`iactcopy.store.fits.rawhdus`); one built in memory gets an empty
        primary HDU and a table named ``HDU_INDEX`` or ``OBS_INDEX`` with the
        GADF class keywords, the carried header keywords and the column
        units. A name ending in ``.gz`` gives a gzip-compressed file.

        Parameters
        ----------
        path : str or path-like, optional
            Where to write. Default: the path the table was read from.
        compresslevel : int
            gzip level for a ``.gz`` name, 1 (fast) to 9 (small). Default is 6.
        together : ReplaceTogether, optional
            Rename the file into place with the others written with it
            (:class:`~iactcopy.atomicfile.ReplaceTogether`). Default: at once.

        Raises
        ------
        ValueError
            When neither `path` nor the table's own path is set.
        OSError
            When the file cannot be written; an existing file is then unchanged.
        """
        from iactcopy.store.index.files import IndexFile

        target = self.path if path is None else os.fspath(path)
        if target is None:
            raise ValueError("IndexTable.write() needs a path: this table was not read from a file")
        IndexFile(self.kind, [self], path=target).write(target, compresslevel=compresslevel,
                                                        together=together)

    def hdu_bytes(self, target: str) -> bytes:
        """The table as one FITS extension, header and data, in whole blocks.

        From the rows and header as read where the table has them, else
        rendered by fitsio beside *target*, the file it is for.
        """
        if self.raw is not None:
            return self.raw.render()
        from iactcopy.store.fits.rawhdus import split_hdus

        return split_hdus(render_fits_tables([self.to_fits_table()], target))[1].to_bytes()

    def to_fits_table(self) -> FitsTable:
        """Return the table with its full header, ready for :func:`.write_fits_tables`."""
        header = [{"name": "HDUCLASS", "value": "GADF", "comment": "FITS file format convention"},
                  {"name": "HDUCLAS1", "value": "INDEX", "comment": "Index table"},
                  {"name": "HDUCLAS2", "value": self.kind, "comment": f"{self.kind} index"}]
        for number, name in enumerate(self.columns, start=1):
            column_type = self.data.dtype[name]
            for prefix, value in self.column_keywords.get(name, {}).items():
                if prefix == "TUNIT":
                    continue
                if prefix == "TNULL":
                    # Only integer columns may have one; FITS wants it in stored units.
                    if column_type.base.kind not in "iu":
                        continue
                    value = int(value) - _tzero(column_type)
                header.append({"name": f"{prefix}{number}", "value": value})
        header.extend(record for record in self.header if not _is_structural(record["name"]))
        units = [str(self.column_keywords.get(name, {}).get("TUNIT", "")) for name in self.columns]
        return FitsTable(_fits_ready(self.data), EXTNAMES[self.kind], header, units)

    def _describe(self) -> str:
        where = f'"{self.path}"' if self.path else "(not from a file)"
        return f"{self.kind} index table {where}"


@contextlib.contextmanager
def open_fits(path: str | os.PathLike) -> Iterator[fitsio.FITS]:
    """Open a FITS file for reading, as a context manager yielding a :class:`fitsio.FITS`.

    A gzip-compressed file is decompressed into memory first
    (:mod:`iactcopy.store.fits.memoryfile`): zlib does it over ten times faster
    than cfitsio (0.06 s instead of 0.73 s for a 600,000-row HDU index).

    Raises
    ------
    IndexTableError
        When the file is missing (its exact name: no compressed variant is
        tried), is a folder, or cannot be opened as FITS.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        what = "is a folder, not a file" if os.path.isdir(path) else "not found"
        raise IndexTableError(f'Index file "{path}" {what}.')
    with contextlib.ExitStack() as stack:
        try:
            readable = _decompressed(path, stack)
            fits = fitsio.FITS(readable)
        except (OSError, EOFError, zlib.error) as err:
            raise IndexTableError(
                f'Index file "{path}" cannot be opened as FITS: {first_line(err)}.') from err
        try:
            yield fits
        finally:
            fits.close()


def _decompressed(path: str, stack: contextlib.ExitStack) -> str:
    """*path* itself, or the path of its decompressed bytes when it is gzip-compressed."""
    with open(path, "rb") as stream:
        if stream.read(2) != _GZIP_MAGIC:
            return path
    with gzip.open(path) as source:  # read to its end as the memory file is made
        return stack.enter_context(memory_file(source, os.path.basename(path)))


def find_table(fits: fitsio.FITS, kind: str, path: str) -> Any:
    """The fitsio HDU of the index table of `kind` in an open file (see :func:`choose_table`)."""
    tables = []
    for hdu in fits:
        with contextlib.suppress(OSError):
            if hdu.get_exttype() in ("BINARY_TBL", "ASCII_TBL"):
                tables.append(TableHeader(hdu.get_extnum(), hdu.read_header(),
                                          hdu.get_colnames()))
    return fits[choose_table(tables, kind, path).number]


def _split_header(header: Any, dtype: np.dtype) -> tuple[list[dict], dict[str, dict[str, Any]]]:
    names = dtype.names
    records = []
    column_keywords: dict[str, dict[str, Any]] = {}
    for record in header.records():
        name = str(record.get("name") or "").strip().upper()
        if name in _NOT_CARRIED or _NAXIS_N.fullmatch(name):
            continue
        match = _COLUMN_KEYWORD.fullmatch(name)
        if match and match.group(1) in (_COLUMN_STRUCTURE | _COLUMN_DESCRIPTIVE):
            number = int(match.group(2))
            if match.group(1) in _COLUMN_DESCRIPTIVE and 1 <= number <= len(names):
                column = names[number - 1]
                value = record.get("value")
                if match.group(1) == "TNULL":
                    if dtype[column].base.kind not in "iu" or not isinstance(value, int):
                        continue
                    value += _tzero(dtype[column])
                column_keywords.setdefault(column, {})[match.group(1)] = value
            continue
        if name in _COMMENTARY:
            records.append({"name": name, "value": str(record.get("value") or "")})
        else:
            records.append({"name": name, "value": record.get("value"),
                            "comment": str(record.get("comment") or "")})
    return records, column_keywords


def _is_structural(name: str) -> bool:
    name = name.strip().upper()
    match = _COLUMN_KEYWORD.fullmatch(name)
    return (name in _NOT_CARRIED or bool(_NAXIS_N.fullmatch(name))
            or bool(match and match.group(1) in _COLUMN_STRUCTURE | _COLUMN_DESCRIPTIVE))


def _canonical_required_names(data: np.ndarray, kind: str) -> np.ndarray:
    # FITS column names match case-insensitively; the code below wants the GADF spelling.
    wanted = {name.upper(): name for name in REQUIRED_COLUMNS[kind] + KEY_COLUMNS[kind]}
    names = list(data.dtype.names)
    renamed = [wanted.get(name.upper(), name) if name not in wanted.values() else name
               for name in names]
    if renamed == names or len(set(renamed)) != len(renamed):
        return data
    fields = data.dtype.fields
    return data.view(np.dtype({"names": renamed, "formats": [fields[n][0] for n in names],
                               "offsets": [fields[n][1] for n in names],
                               "itemsize": data.dtype.itemsize}))


def _as_str_columns(data: np.ndarray) -> np.ndarray:
    # Byte strings become str, and numbers native byte order: FITS is
    # big-endian, arrays built in memory are not, and a table read back must
    # compare equal to the one that was written (a no-op rerun writes nothing).
    if data.dtype.names is None:
        raise TypeError("an index table needs a structured array, one field per column")
    fields, changed = [], False
    for name in data.dtype.names:
        column = data.dtype[name]
        base = column.base
        if base.kind == "S":
            base = np.dtype(f"U{max(base.itemsize, 1)}")
        elif base.kind in "iufc":
            base = base.newbyteorder("=")
        changed = changed or base != column.base
        fields.append((name, base, column.shape))
    return data.astype(np.dtype(fields)) if changed else data


def _fits_ready(data: np.ndarray) -> np.ndarray:
    # cfitsio refuses zero-width string columns (an all-empty column built in memory).
    if not any(data.dtype[name].base == np.dtype("U0") for name in data.dtype.names):
        return data
    fields = [(name, np.dtype("U1") if data.dtype[name].base == np.dtype("U0")
               else data.dtype[name].base, data.dtype[name].shape) for name in data.dtype.names]
    return data.astype(np.dtype(fields))


def _describe_dtype(dtype: np.dtype) -> str:
    kinds = {"U": "strings", "S": "strings", "b": "booleans", "i": "integers",
             "u": "unsigned integers", "f": "floats", "c": "complex numbers"}
    text = kinds.get(dtype.base.kind, str(dtype.base))
    return f"{text} of shape {dtype.shape}" if dtype.shape else text



def resolve_file_paths(table: IndexTable, *, index_dir: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Return, per HDU row, the path of its file and whether that path is unsafe.

    Paths are resolved as gammapy resolves them: ``FILE_DIR/FILE_NAME``
    with blanks stripped, relative to the folder of the index file, where an
    empty ``FILE_DIR``, ``"."`` or ``"./"`` means that folder itself. The
    GADF ``BASE_DIR`` keyword is ignored: gammapy writes the absolute folder
    of the store it wrote there, which is stale as soon as the store is
    copied, and ignores it when reading.

    Parameters
    ----------
    table : IndexTable
        An HDU index table.
    index_dir : str
        The folder of the HDU index relative to the store root (the folder of
        the master file), e.g. ``"index/gps"``. Paths are then relative to the
        root and a path is unsafe when it leaves the root. Default is ``""``:
        paths relative to the folder of the HDU index.

    Returns
    -------
    paths : numpy.ndarray of str
        Normalised relative paths (``posixpath.normpath``); ``""`` for a row
        with an empty ``FILE_NAME``, which names no file.
    unsafe : numpy.ndarray of bool
        True where the path is absolute or leaves the folder (starts with
        ``..``); a copy must refuse such rows.

    Raises
    ------
    ValueError
        When `table` is not an HDU index.
    """
    if table.kind != "HDU":
        raise ValueError(f"resolve_file_paths needs an HDU index table, not {table.kind}")
    names = np.char.strip(np.asarray(table.data["FILE_NAME"], dtype=str))
    raw_dirs, dir_codes = np.unique(table.data["FILE_DIR"], return_inverse=True)
    dir_codes = dir_codes.reshape(-1)
    # The few distinct folders are normalised one by one; rows then only gather.
    prefixes = []
    unsafe_dirs = []
    for raw in raw_dirs:
        folder = posixpath.normpath(posixpath.join(index_dir, str(raw).strip()))
        prefixes.append("" if folder == "." else folder + "/")
        unsafe_dirs.append(_leaves_root(folder))
    prefix_array = np.asarray(prefixes, dtype=str) if prefixes else np.zeros(0, dtype="U1")
    paths = np.char.add(prefix_array[dir_codes], names) if len(names) else names
    unsafe = np.asarray(unsafe_dirs, dtype=bool)[dir_codes] if len(names) else \
        np.zeros(0, dtype=bool)
    # A name with its own folder part ("sub/x.fits", "../x.fits") needs a full normpath.
    dots = member(names, np.asarray([".", ".."]))
    tricky = np.flatnonzero((np.char.find(names, "/") >= 0) | dots)
    for row in tricky:
        full = posixpath.normpath(posixpath.join(prefixes[dir_codes[row]], str(names[row])))
        paths = _assign_str(paths, row, full)
        unsafe[row] = _leaves_root(full)
    empty = names == ""
    if empty.any():
        paths = np.where(empty, "", paths)
        unsafe[empty] = False
    return paths, unsafe


def text_obs_ids(column: np.ndarray) -> np.ndarray:
    """Observation IDs of a text ``OBS_ID`` column, as int64.

    A text that spells an integer as Python writes it gives that integer, so
    that run lists of numbers select such rows; any other text (``"01000"``,
    ``"run1"``) a negative number taken from its SHA-256 digest, the same in
    every table and every run.
    """
    distinct, inverse = np.unique(np.char.strip(column), return_inverse=True)
    numbers = np.empty(len(distinct), dtype=np.int64)
    for number, text in enumerate(distinct.tolist()):
        numbers[number] = _text_obs_id(text)
    return numbers[inverse.reshape(-1)]


def _text_obs_id(text: str) -> int:
    # Only the one spelling of a number ("1000", not "01000" nor "+1000"): gammapy
    # tells the others apart, so they stay observations of their own.
    if re.fullmatch(r"-?[1-9][0-9]{0,17}|0", text):
        return int(text)
    import hashlib

    return -1 - (int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 2)


def _leaves_root(path: str) -> bool:
    return posixpath.isabs(path) or path == ".." or path.startswith("../")


def _assign_str(array: np.ndarray, row: int, value: str) -> np.ndarray:
    if len(value) > array.dtype.itemsize // 4:
        array = array.astype(f"U{len(value)}")
    array[row] = value
    return array
