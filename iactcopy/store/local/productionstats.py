"""The statistics of a production entry in a local ``master.json``: what the local store holds.

A remote entry may carry totals ("Total observations": 106, "Total time":
"48.6 hours", "Disk usage": "43 MB").  Copied as they are, they would
describe the remote store, not a copy of four observations of it; so the
totals that the local indexes and files tell are computed again, in the
remote's own units and number of decimals, and the totals they cannot tell
are left out.  Every other key of the entry stays as the remote has it
(docs/differences.rst, "Faithful indexes").
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from iactcopy.store.index.keysets import unique

if TYPE_CHECKING:
    from iactcopy.store.index.files import IndexFile

__all__ = ["is_statistic", "local_statistics"]

#: Keys of an entry that state a total of the store (any key starting so is one).
_STATISTIC_PREFIXES = ("total ", "number of ", "disk usage")
_QUANTITY = re.compile(r"\s*([0-9]+(?:\.([0-9]*))?)\s*([A-Za-z]*)\s*")
_BYTE_UNITS = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
               "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}
_HOUR_UNITS = {"h": 1.0, "hr": 1.0, "hrs": 1.0, "hour": 1.0, "hours": 1.0, "s": 1 / 3600,
               "min": 1 / 60, "d": 24.0, "days": 24.0}  # hours in each unit


def is_statistic(key: str) -> bool:
    """Whether an entry key states a total of the store."""
    return key.strip().lower().startswith(_STATISTIC_PREFIXES)


def local_statistics(extras: Mapping[str, Any], obs: IndexFile, outpath: str,
                     files: Iterable[str]) -> dict[str, Any]:
    """The keys of a production entry beyond the required ones, for the local master.

    Parameters
    ----------
    extras : mapping
        The remote entry's other keys, in order.
    obs : IndexFile
        The local OBS index as written.
    outpath : str
        The local store folder.
    files : iterable of str
        The files the local HDU index names, relative to `outpath`.

    Returns
    -------
    dict
        The keys in the remote's order: statistics recomputed (observations,
        time from ``ONTIME``, events from ``EVENT_COUNT``, disk usage of the
        files) or left out, the other keys unchanged.
    """
    result = {}
    for key, value in extras.items():
        if not is_statistic(key):
            result[key] = value
            continue
        computed = _compute(key.strip().lower(), value, obs, outpath, files)
        if computed is not None:
            result[key] = computed
    return result


def _compute(key: str, remote: Any, obs: IndexFile, outpath: str,
             files: Iterable[str]) -> Any:
    if key == "total observations":
        return len(unique(obs.obs_ids))
    if key == "total time":
        seconds = _column_sum(obs, "ONTIME")
        return None if seconds is None else _like(remote, seconds / 3600, _HOUR_UNITS, "hours")
    if key == "total events":
        events = _column_sum(obs, "EVENT_COUNT")
        return None if events is None else int(events)
    if key == "disk usage":
        size = sum(os.path.getsize(os.path.join(outpath, name)) for name in files)
        return _like(remote, float(size), _BYTE_UNITS, "MB")
    return None


def _column_sum(obs: IndexFile, name: str) -> float | None:
    tables = [table for table in obs.tables if name in table.columns]
    if not tables or any(table.data.dtype[name].kind not in "iuf" for table in tables):
        return None
    return float(sum(np.nansum(table.data[name]) for table in tables))


def _like(remote: Any, value: float, units: Mapping[str, float], default_unit: str) -> Any:
    """*value* written as the remote wrote its figure: number or text, unit, decimals.

    *value* is in the base unit of *units* (hours, or bytes), which give the
    size of each unit in it.
    """
    if isinstance(remote, (int, float)) and not isinstance(remote, bool):
        return round(value, 1) if isinstance(remote, float) else round(value)
    match = _QUANTITY.fullmatch(str(remote))
    unit = match.group(3) if match and match.group(3).lower() in units else default_unit
    decimals = len(match.group(2) or "") if match else 1
    scale = units.get(unit.lower(), 1.0)
    return f"{value / scale:.{decimals}f} {unit}"
