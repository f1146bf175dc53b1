"""Merging remote index rows into a local index table.

:func:`merge_index` works on whole columns: each row gets an integer key, the
rows kept are found with :func:`numpy.isin`, and the merged table is built
with one concatenation and a stable sort, so that indexes of 10^5
observations and 10^6 HDU rows merge in a fraction of a second, where
ctools rescanned the table once a row (docs/differences.rst, "Index merge").
The counts of
what it did come back as a :class:`~iactcopy.store.index.mergestats.MergeStats`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from iactcopy.errors import IndexTableError
from iactcopy.store.index.keysets import member
from iactcopy.store.index.mergestats import MergeStats
from iactcopy.store.index.tables import _COMMENTARY, KEY_COLUMNS, IndexTable, _describe_dtype

if TYPE_CHECKING:
    from iactcopy.store.index.files import IndexFile

__all__ = ["merge_index", "merge_index_file"]

log = logging.getLogger(__name__)


def merge_index(local: IndexTable | None, remote: IndexTable, *, clobber: bool
                ) -> tuple[IndexTable, MergeStats]:
    """Merge remote index rows into a local index table.

    Rows are keyed on (``OBS_ID``, ``HDU_TYPE``, ``HDU_CLASS``) in an HDU
    index and on ``OBS_ID`` in an OBS index; string keys are compared
    stripped and in lower case. Within each input a repeated key keeps its
    first row (with a warning).

    With ``clobber=True`` the remote rows of an observation replace all its
    local rows; with ``clobber=False`` local rows stay and remote rows whose
    key is not local yet are added.

    Without a local table the result is the remote rows, in their order,
    with their header and row bytes. Otherwise, when both tables are in
    ascending ``OBS_ID`` order, the result is stably sorted by ``OBS_ID``
    (local rows before remote rows of one observation), so that a store kept
    in order stays in order; in any other order local rows keep their places,
    remote rows of a local observation follow its rows and new observations
    come at the end, in the remote order. When the two
    tables have the same columns in the same formats, the result keeps the
    local table's header and the rows' bytes as read (nothing is converted).

    Otherwise columns are matched by name: local order first, then
    remote-only columns. A column only one side has is filled on the other
    side's rows with ``""`` (strings), NaN (floats), False (booleans) or, for
    integers, the column's ``TNULL`` — when it has none, the smallest value
    of the type (the largest for unsigned types), which is then recorded as
    its ``TNULL`` so that FITS readers see an undefined value. An integer
    column both sides have takes the remote's ``TNULL``, else the local's,
    passing over one that is a defined value of either side, and each
    side's undefined values are carried over to it; an integer column that
    needs no undefined value gets no ``TNULL``. String columns are widened
    to the wider side; integer and float sides give a float column (integers
    equal to ``TNULL`` become NaN). Header keywords and column keywords come
    from the remote table, local-only ones are kept.

    Parameters
    ----------
    local : IndexTable or None
        The local table, or None when there is no local index yet.
    remote : IndexTable
        The remote rows to merge in, typically already selected by run list.
    clobber : bool
        Whether remote rows win over local rows of the same observation.

    Returns
    -------
    table : IndexTable
        The merged table, with the local table's path (the remote's when
        `local` is None).
    stats : MergeStats

    Raises
    ------
    IndexTableError
        When a column holds strings on one side and numbers on the other,
        or otherwise incompatible types (the message names the column).
    ValueError
        When the two tables are not of the same kind.
    """
    if local is not None and local.kind != remote.kind:
        raise ValueError(f"cannot merge an {remote.kind} index into an {local.kind} index")
    kind = remote.kind
    base = local if local is not None else remote.select_rows(np.zeros(0, dtype=np.intp))
    local_keys, remote_keys = _row_keys(kind, base, remote)
    local_first = _first_occurrences(local_keys, base, "local")
    remote_first = _first_occurrences(remote_keys, remote, "remote")
    local_obs, remote_obs = base.obs_ids, remote.obs_ids
    if clobber:
        replaced = local_first & member(local_obs, remote_obs[remote_first])
        local_keep, remote_keep = local_first & ~replaced, remote_first
        removed, skipped = int(replaced.sum()), 0
    else:
        known = remote_first & member(remote_keys, local_keys[local_first])
        local_keep, remote_keep = local_first, remote_first & ~known
        removed, skipped = 0, int(known.sum())
    local_rows, remote_rows = np.flatnonzero(local_keep), np.flatnonzero(remote_keep)
    if local is None:
        table = remote.select_rows(remote_rows)
    else:
        order = _merged_order(local_obs, local_keys, local_rows, remote_obs, remote_keys,
                              remote_rows)
        if _same_layout(base, remote):
            table = _merged_records(base, remote, local_rows, remote_rows, order)
        else:
            table = _merged_columns(base, remote, local_rows, remote_rows, order)
    stats = MergeStats(remote_entries=len(remote),
                       local_entries=0 if local is None else len(local),
                       removed_local_rows=removed, skipped_remote_rows=skipped,
                       duplicate_rows=int((~local_first).sum() + (~remote_first).sum()),
                       rows=len(table))
    return table, stats


def merge_index_file(local: IndexFile | None, remote: IndexFile, *, clobber: bool
                     ) -> tuple[IndexFile, MergeStats]:
    """Merge each index table of *remote* into the local table it pairs with.

    An HDU index file may hold one table per event type, each merged on its
    own (:func:`merge_index`). Tables pair by their ``EV_TYPE`` keyword when
    every table of both files has one (a release that adds an event type in
    front must not pour its rows into another type's table), else by their
    place in the file. A remote table without a partner is added after the
    local ones; a local table without one is kept. The result has the local
    file's other HDUs, or the remote's without a local file. The counts are
    summed over the tables.
    """
    if local is None:
        merged = [merge_index(None, table, clobber=clobber) for table in remote.tables]
        return remote.with_tables([table for table, _ in merged]), _summed(merged)
    partners = _partners(local.tables, remote.tables)
    tables, merged = list(local.tables), []
    for theirs, place in zip(remote.tables, partners):
        result = merge_index(None if place is None else tables[place], theirs, clobber=clobber)
        merged.append(result)
        if place is None:
            tables.append(result[0])
        else:
            tables[place] = result[0]
    stats = _summed(merged)
    untouched = [table for number, table in enumerate(local.tables) if number not in partners]
    kept = sum(len(table) for table in untouched)
    return local.with_tables(tables), MergeStats(
        stats.remote_entries, stats.local_entries + kept, stats.removed_local_rows,
        stats.skipped_remote_rows, stats.duplicate_rows, stats.rows + kept)


def _partners(local: list[IndexTable], remote: list[IndexTable]) -> list[int | None]:
    """For each remote table, the number of the local table it merges into (None: added)."""
    local_types = [_ev_type(table) for table in local]
    remote_types = [_ev_type(table) for table in remote]
    if None in local_types or None in remote_types:
        return [number if number < len(local) else None for number in range(len(remote))]
    return [local_types.index(ev_type) if ev_type in local_types else None
            for ev_type in remote_types]


def _ev_type(table: IndexTable) -> Any:
    return next((record["value"] for record in table.header if record["name"] == "EV_TYPE"),
                None)


def _summed(merged: list[tuple[IndexTable, MergeStats]]) -> MergeStats:
    fields = ("remote_entries", "local_entries", "removed_local_rows", "skipped_remote_rows",
              "duplicate_rows", "rows")
    return MergeStats(*(sum(getattr(stats, name) for _, stats in merged) for name in fields))


def _merged_order(local_obs: np.ndarray, local_keys: np.ndarray, local_rows: np.ndarray,
                  remote_obs: np.ndarray, remote_keys: np.ndarray,
                  remote_rows: np.ndarray) -> np.ndarray:
    """The order of the kept local rows, then the kept remote rows, in the merged table.

    Stores whose both sides are in ascending OBS_ID order are sorted by it.
    Any other order is the store's own: local rows keep their places, a
    remote row that replaces a local one takes its place, other remote rows
    of a local observation follow its last local row, and new observations
    come at the end, in the remote order.
    """
    kept = np.concatenate([local_obs[local_rows], remote_obs[remote_rows]])
    if _ascending(local_obs[local_rows]) and _ascending(remote_obs[remote_rows]):
        return np.argsort(kept, kind="stable")
    added_obs, added_keys = remote_obs[remote_rows], remote_keys[remote_rows]
    place = 2 * len(local_obs) + _first_seen_rank(remote_obs, added_obs)
    for ids, values in ((local_obs, added_obs), (local_keys, added_keys)):
        # The key's own row wins over its observation's last row: applied last.
        distinct, last = np.unique(ids[::-1], return_index=True)
        found = member(values, distinct)
        place[found] = 2 * (len(ids) - 1 - last[np.searchsorted(distinct, values[found])]) + 1
    return np.argsort(np.concatenate([2 * local_rows, place]), kind="stable")


def _first_seen_rank(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each of *wanted* (all in *values*), the rank of its first appearance in *values*."""
    distinct, first = np.unique(values, return_index=True)
    rank = np.empty(len(distinct), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(distinct))
    return rank[np.searchsorted(distinct, wanted)]


def _ascending(values: np.ndarray) -> bool:
    return bool(np.all(values[1:] >= values[:-1]))


def _same_layout(local: IndexTable, remote: IndexTable) -> bool:
    """Whether the rows of both tables are records of one layout, held as the same dtype."""
    # Rows of a table with a heap point into it: two heaps cannot share one table.
    return (local.raw is not None and remote.raw is not None
            and local.raw.layout == remote.raw.layout and local.raw.fill == remote.raw.fill
            and not local.raw.heap and not remote.raw.heap
            and local.data.dtype == remote.data.dtype)


def _merged_records(local: IndexTable, remote: IndexTable, local_rows: np.ndarray,
                    remote_rows: np.ndarray, order: np.ndarray) -> IndexTable:
    """The merge of two tables of one layout: rows and records picked, the local header kept."""
    data = np.concatenate([local.data[local_rows], remote.data[remote_rows]])
    records = np.concatenate([local.raw.records[local_rows], remote.raw.records[remote_rows]])
    data, records = data[order], records[order]
    return IndexTable(local.kind, data, header=local.header,
                      column_keywords=local.column_keywords, path=local.path,
                      raw=local.raw.with_records(records))


def _merged_columns(base: IndexTable, remote: IndexTable, local_rows: np.ndarray,
                    remote_rows: np.ndarray, order: np.ndarray) -> IndexTable:
    """The merge of two tables whose columns differ: matched by name and converted."""
    count = len(local_rows) + len(remote_rows)
    position = np.empty(count, dtype=np.intp)
    position[order] = np.arange(count)
    local_position, remote_position = position[:len(local_rows)], position[len(local_rows):]
    schema = _merged_schema(base, remote, local_rows, remote_rows)
    merged = np.empty(count, dtype=np.dtype([(c.name, c.dtype) for c in schema]))
    for column in schema:
        # Scattering into a contiguous array, then one strided copy, beats
        # scattering straight into the wide structured array.
        target = np.empty(count, dtype=column.dtype)
        for table, rows, where in ((base, local_rows, local_position),
                                   (remote, remote_rows, remote_position)):
            if column.name in table.columns:
                source_null = table.column_keywords.get(column.name, {}).get("TNULL")
                target[where] = column.convert(table.data[column.name][rows], source_null)
            else:
                target[where] = column.fill
        merged[column.name] = target
    return IndexTable(base.kind, merged, header=_merged_header(base.header, remote.header),
                      column_keywords={c.name: c.keywords for c in schema}, path=base.path)


def _row_keys(kind: str, local_table: IndexTable, remote_table: IndexTable
              ) -> tuple[np.ndarray, np.ndarray]:
    """Give each row an int64 key, equal for rows with equal (normalised) key columns."""
    local, remote = local_table.data, remote_table.data
    obs = np.concatenate([local_table.obs_ids, remote_table.obs_ids])
    if kind == "OBS":
        return obs[:len(local)], obs[len(local):]
    codes = [np.unique(obs, return_inverse=True)[1].reshape(-1)]
    for name in KEY_COLUMNS[kind][1:]:
        distinct, inverse = _factorize(np.concatenate([local[name], remote[name]]))
        # Normalise the few distinct spellings, not every row.
        normal = np.char.lower(np.char.strip(distinct.astype(str)))
        code = np.unique(normal, return_inverse=True)[1].reshape(-1)
        codes.append(code[inverse] if len(code) else inverse)
    sizes = [int(code.max()) + 1 if len(code) else 1 for code in codes]
    if np.prod([float(size) for size in sizes]) < 2.0 ** 62:
        keys = np.zeros(len(obs), dtype=np.int64)
        for code, size in zip(codes, sizes):
            keys = keys * size + code
    else:
        keys = np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)[1].reshape(-1)
    return keys[:len(local)], keys[len(local):]


def _factorize(values: np.ndarray, limit: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct values and, per row, the number of its value."""
    # HDU_TYPE and HDU_CLASS hold a handful of values; comparing the column
    # with each is several times faster than sorting strings (np.unique).
    codes = np.full(len(values), -1, dtype=np.int64)
    distinct = []
    start = 0
    while len(distinct) <= limit:
        pending = np.flatnonzero(codes[start:] < 0)
        if not len(pending):
            return np.asarray(distinct, dtype=values.dtype), codes
        start += int(pending[0])
        codes[values == values[start]] = len(distinct)
        distinct.append(values[start])
    distinct, codes = np.unique(values, return_inverse=True)
    return distinct, codes.reshape(-1)


def _first_occurrences(keys: np.ndarray, table: IndexTable, side: str) -> np.ndarray:
    first = np.zeros(len(keys), dtype=bool)
    first[np.unique(keys, return_index=True)[1]] = True
    duplicates = len(keys) - int(first.sum())
    if duplicates:
        where = f'"{table.path}"' if table.path else "(in memory)"
        log.warning("%s %s index %s: %d row(s) repeat the key (%s) of an earlier row and are "
                    "dropped; the first row of each key is kept.", side.capitalize(), table.kind,
                    where, duplicates, ", ".join(KEY_COLUMNS[table.kind]))
    return first


@dataclass
class _MergedColumn:
    name: str
    dtype: np.dtype
    fill: Any
    keywords: dict[str, Any] = field(default_factory=dict)

    def convert(self, values: np.ndarray, source_null: int | None) -> np.ndarray:
        """Carry one side's undefined integers over as the merged column's null."""
        if source_null is None or values.dtype.base.kind not in "iu":
            return values
        target_null = np.nan if self.dtype.base.kind == "f" else self.keywords.get("TNULL")
        if target_null is None or target_null == source_null:
            return values
        converted = values.astype(self.dtype.base)
        converted[values == source_null] = target_null
        return converted


def _merged_schema(local: IndexTable, remote: IndexTable, local_rows: np.ndarray,
                   remote_rows: np.ndarray) -> list[_MergedColumn]:
    """The columns of the merge of the rows *local_rows* and *remote_rows* of two tables."""
    names = list(local.columns) + [name for name in remote.columns if name not in local.columns]
    schema = []
    for name in names:
        kept = [(table, rows) for table, rows in ((local, local_rows), (remote, remote_rows))
                if name in table.columns]
        sides = [table for table, _ in kept]
        dtypes = [table.data.dtype[name] for table in sides]
        dtype = _common_dtype(name, sides, dtypes)
        keywords: dict[str, Any] = {}
        for table in sides:
            keywords.update(table.column_keywords.get(name, {}))
        kind = dtype.base.kind
        # Rows of the other side are filled only where one side lacks the column.
        filled = any(name not in table.columns and len(rows)
                     for table, rows in ((local, local_rows), (remote, remote_rows)))
        fill: Any = 0  # an integer column with nothing to fill
        if kind == "U":
            fill = ""
        elif kind == "f":
            fill = np.nan
        elif kind == "b":
            fill = False
        elif filled or "TNULL" in keywords:
            keywords["TNULL"] = _free_null(name, kept, dtype.base)
            fill = keywords["TNULL"]
        if kind not in ("i", "u"):
            keywords.pop("TNULL", None)
        schema.append(_MergedColumn(name, dtype, fill, keywords))
    return schema


def _free_null(name: str, sides: list[tuple[IndexTable, np.ndarray]], dtype: np.dtype) -> int:
    """The TNULL of a merged integer column: one that no defined value of the rows kept takes.

    Preferred as before: the remote's TNULL, else the local's, else the
    smallest value of the type (the largest for unsigned types).  A side's
    TNULL that is a real value on the other side would turn that value into
    an undefined one, so such a candidate is passed over for the next, and
    at last for the first value next to the extreme that is free.
    """
    info = np.iinfo(dtype)
    extreme = int(info.max if dtype.kind == "u" else info.min)
    values = []
    for table, rows in sides:
        column = np.asarray(table.data[name][rows]).ravel()
        own = table.column_keywords.get(name, {}).get("TNULL")
        values.append(column if own is None else column[column != own])
    taken = np.concatenate(values) if values else np.zeros(0, dtype=dtype)
    preferred = [table.column_keywords.get(name, {}).get("TNULL")
                 for table, _ in reversed(sides)]
    for candidate in (*preferred, extreme):
        if (candidate is not None and info.min <= candidate <= info.max
                and not np.any(taken == candidate)):
            return int(candidate)
    used = set(taken.tolist())
    step = -1 if dtype.kind == "u" else 1
    return next(extreme + step * offset for offset in range(len(used) + 1)
                if extreme + step * offset not in used)


def _common_dtype(name: str, tables: list[IndexTable], dtypes: list[np.dtype]) -> np.dtype:
    if len(dtypes) == 1:
        base = dtypes[0].base
        return np.dtype((base.newbyteorder("=") if base.kind != "U" else base, dtypes[0].shape))
    (left, right), shape = dtypes, dtypes[0].shape
    kinds = {left.base.kind, right.base.kind}
    if left.shape != right.shape:
        base = None
    elif kinds == {"U"}:
        base = np.dtype(f"U{max(left.base.itemsize, right.base.itemsize, 4) // 4}")
    elif kinds == {"b"}:
        base = np.dtype(bool)
    elif kinds <= set("iu"):
        base = np.promote_types(left.base, right.base)
        if base.kind == "f":
            # uint64 with int64 promotes to float in numpy; observation data stays integer.
            base = np.dtype(np.int64)
    elif kinds == {"f"}:
        base = np.promote_types(left.base, right.base)
    elif kinds <= set("iuf"):
        base = np.dtype(np.float64)
    else:
        base = None
    if base is None:
        raise IndexTableError(
            f'Column "{name}" holds {_describe_dtype(left)} in the local '
            f"{tables[0]._describe()} but {_describe_dtype(right)} in the remote "
            f"{tables[1]._describe()}; the indexes cannot be "
            "merged. Rename or convert the column in one of the files.")
    return np.dtype((base.newbyteorder("=") if base.kind != "U" else base, shape))


def _merged_header(local: list[dict], remote: list[dict]) -> list[dict]:
    remote_names = {record["name"] for record in remote if record["name"] not in _COMMENTARY}
    remote_commentary = {(record["name"], record["value"]) for record in remote
                         if record["name"] in _COMMENTARY}
    kept = [record for record in local
            if (record["name"] in _COMMENTARY
                and (record["name"], record["value"]) not in remote_commentary)
            or (record["name"] not in _COMMENTARY and record["name"] not in remote_names)]
    return [dict(record) for record in remote] + [dict(record) for record in kept]
