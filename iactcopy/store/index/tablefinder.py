"""Finding the index table in a FITS file, and checking it from its headers alone.

Stores exist whose index extension has no name or a wrong one
(docs/differences.rst, "Index table lookup");
:func:`choose_table` applies the rules that find it, for fitsio (when a table
is read) and for the header scanner of :mod:`iactcopy.store.fits.headers`
(when csiactdata only checks that a production is usable).  This module
imports neither numpy nor fitsio, so that such a check starts fast.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from iactcopy.errors import IndexTableError
from iactcopy.store.fits.headers import FitsHeaderError, iter_headers, table_columns

__all__ = [
    "EXTNAMES",
    "KINDS",
    "REQUIRED_COLUMNS",
    "TableHeader",
    "check_index_table",
    "check_kind",
    "choose_table",
    "choose_tables",
    "has_index_table",
]

log = logging.getLogger(__name__)

KINDS = ("HDU", "OBS")
"""The two kinds of index table."""

EXTNAMES = {"HDU": "HDU_INDEX", "OBS": "OBS_INDEX"}
"""The extension name of each kind, as GADF and the ctools tools spell it."""

REQUIRED_COLUMNS = {
    "HDU": ("OBS_ID", "HDU_TYPE", "HDU_CLASS", "FILE_DIR", "FILE_NAME", "HDU_NAME"),
    "OBS": ("OBS_ID",),
}
"""The columns a table of each kind must have to be used at all."""

# Without a name or HDUCLAS keywords, a table is recognised by these columns.
_SIGNATURE_COLUMNS = {"HDU": ("OBS_ID", "FILE_DIR", "FILE_NAME"), "OBS": ("OBS_ID",)}


def check_kind(kind: str) -> str:
    """*kind* in upper case, checked against :data:`KINDS`."""
    normal = str(kind).upper()
    if normal not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    return normal


def check_index_table(path: str | os.PathLike, kind: str) -> None:
    """Check cheaply that `path` holds a usable index table of `kind`.

    Only the headers are read, by :mod:`iactcopy.store.fits.headers` rather
    than cfitsio, which would decompress a whole ``.gz`` file: the file must
    exist, be FITS, hold a table found as :meth:`IndexTable.read` finds it,
    and that table must have the required columns.

    Raises
    ------
    IndexTableError
        Saying what is wrong, with the file name.
    """
    kind = check_kind(kind)
    path = os.fspath(path)
    _check_is_file(path)
    tables = []
    try:
        for number, header in enumerate(iter_headers(path)):
            if str(header.get("XTENSION", "")).strip() not in ("BINTABLE", "TABLE"):
                continue
            tables.append(TableHeader(number, header, table_columns(header)))
            if _keyword_text(header, "EXTNAME") == EXTNAMES[kind]:
                # The first rule wins outright: no need to step over the data
                # to the headers that follow (a large .gz costs its whole size).
                break
    except (OSError, FitsHeaderError, EOFError, zlib.error) as err:
        raise IndexTableError(
            f'Index file "{path}" cannot be opened as FITS: {first_line(err)}.') from err
    chosen = choose_table(tables, kind, path)
    present = {name.upper() for name in chosen.columns}
    missing = [name for name in REQUIRED_COLUMNS[kind] if name not in present]
    if missing:
        raise IndexTableError(
            f'The {kind} index table of "{path}" lacks the required column(s) '
            f"{', '.join(missing)}.")


def has_index_table(path: str | os.PathLike, kind: str) -> bool:
    """Return whether `path` holds a usable index table of `kind`.

    The same check as :func:`check_index_table`, reading only headers; the
    reason for a False is logged at debug level.
    """
    try:
        check_index_table(path, kind)
    except IndexTableError as err:
        log.debug("%s", err)
        return False
    return True


@dataclass(frozen=True)
class TableHeader:
    """What :func:`choose_table` looks at: an extension's number, header and columns."""

    number: int
    header: Mapping[str, Any]
    columns: Sequence[str]


def choose_table(tables: Sequence[TableHeader], kind: str, path: str) -> TableHeader:
    """Pick the index table of `kind` among the tables of a file.

    Stores exist whose index extension has no name or a wrong one
    (docs/differences.rst, "Index table lookup"), so each rule is tried over
    all tables before the next, looser one: the EXTNAME, then
    ``HDUCLAS1='INDEX'`` with ``HDUCLAS2`` equal to `kind`,
    then the columns.

    Raises
    ------
    IndexTableError
        When no table fits, listing the tables there are.
    """
    for table in tables:
        if _keyword_text(table.header, "EXTNAME") == EXTNAMES[kind]:
            return table
    for table in tables:
        if (_keyword_text(table.header, "HDUCLAS1") == "INDEX"
                and _keyword_text(table.header, "HDUCLAS2") == kind):
            log.info('Index file "%s": using extension %d (HDUCLAS2=%s) as %s', path,
                     table.number, kind, EXTNAMES[kind])
            return table
    for table in tables:
        present = {name.upper() for name in table.columns}
        if set(_SIGNATURE_COLUMNS[kind]) <= present and (kind == "HDU"
                                                           or "FILE_NAME" not in present):
            log.info('Index file "%s": using extension %d (found by its columns) as %s', path,
                     table.number, EXTNAMES[kind])
            return table
    found = ", ".join(f"{t.number} ({_keyword_text(t.header, 'EXTNAME') or 'unnamed'})"
                      for t in tables)
    columns = " and ".join(_SIGNATURE_COLUMNS[kind])
    without = "" if kind == "HDU" else " but without FILE_NAME"
    raise IndexTableError(
        f'No {kind} index table in "{path}": no extension named {EXTNAMES[kind]}, none with '
        f"HDUCLAS1='INDEX' and HDUCLAS2='{kind}', and none with the column(s) {columns}"
        f"{without}. Tables in the file: {found or 'none'}.")


def choose_tables(tables: Sequence[TableHeader], kind: str, path: str) -> list[TableHeader]:
    """The index tables of `kind` among the tables of a file, in file order.

    An OBS index is one table (:func:`choose_table`). An HDU index file may
    hold several, one per event type (HAWC's stores: unnamed tables, each
    with its ``EV_TYPE`` keyword, which gammapy reads one at a time): every
    table with the columns of an HDU index belongs to it.

    Raises
    ------
    IndexTableError
        When no table fits, as :func:`choose_table`.
    """
    first = choose_table(tables, kind, path)
    if kind != "HDU":
        return [first]
    signature = set(_SIGNATURE_COLUMNS[kind])
    return [table for table in tables
            if table is first or signature <= {name.upper() for name in table.columns}]


def _check_is_file(path: str) -> None:
    if not os.path.isfile(path):
        what = "is a folder, not a file" if os.path.isdir(path) else "not found"
        raise IndexTableError(f'Index file "{path}" {what}.')


def _keyword_text(header: Any, name: str) -> str:
    value = header.get(name)
    return str(value).strip().upper() if value is not None else ""


def first_line(err: BaseException) -> str:
    """The first lines of an error message, on one line."""
    text = " ".join(str(err).split("\n")[:2]).strip()
    return text or type(err).__name__


