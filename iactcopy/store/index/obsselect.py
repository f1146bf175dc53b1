"""Selecting observations from an OBS index: a sky cone, a quality cut, an expression.

The cone and the quality cut work on whole columns with numpy; the user's
expression goes to cfitsio's row filter (through fitsio), the same engine
ctools used, but evaluated on its own instead of inside a file name (where
``[`` and long expressions break), and its rows are ANDed with the other
cuts, so that it can only narrow them (ctools appended it unbracketed, so an
``||`` escaped the sky cut; docs/differences.rst, "User expression"); the
selection recorded for the log and the run list
shows it bracketed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np

from iactcopy.errors import IndexTableError, ParameterError
from iactcopy.store.index.keysets import unique
from iactcopy.store.index.tables import find_table, open_fits

__all__ = ["Cone", "Selected", "select_observations", "angular_separation"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cone:
    """A circle on the sky: centre (ra, dec) and radius, all in degrees."""

    ra: float
    dec: float
    radius: float


@dataclass(frozen=True)
class Selected:
    """The outcome of a selection.

    Attributes
    ----------
    obs_ids : numpy.ndarray of int
        The selected observations, ascending.
    ra, dec : numpy.ndarray of float
        The pointings of every observation of the table (for a sky map).
    chosen : numpy.ndarray of bool
        Per row of the table, whether it was selected.
    expression : str
        The whole selection in cfitsio syntax, for the log and the run list header.
    quality_cut : bool
        False when the table has no QUALITY column and the cut was skipped.
    """

    obs_ids: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    chosen: np.ndarray
    expression: str
    quality_cut: bool


def angular_separation(ra1: float, dec1: float, ra2: np.ndarray, dec2: np.ndarray) -> np.ndarray:
    """Great-circle distance in degrees (the Vincenty form: exact at all distances)."""
    lon1, lat1, lon2, lat2 = map(np.radians, (ra1, dec1, ra2, dec2))
    dlon = lon2 - lon1
    numerator = np.hypot(np.cos(lat2) * np.sin(dlon),
                         np.cos(lat1) * np.sin(lat2) - np.sin(lat1) * np.cos(lat2) * np.cos(dlon))
    denominator = np.sin(lat1) * np.sin(lat2) + np.cos(lat1) * np.cos(lat2) * np.cos(dlon)
    return np.degrees(np.arctan2(numerator, denominator))


def select_observations(path: str, *, cone: Cone | None, max_quality: int | None,
                        expression: str | None) -> Selected:
    """Select the observations of the OBS index in *path*.

    Parameters
    ----------
    path : str
        The OBS index file.
    cone : Cone or None
        Keep pointings (RA_PNT, DEC_PNT) within the cone; None for no sky cut.
    max_quality : int or None
        Keep rows with QUALITY at most this; skipped with a warning when the
        table has no QUALITY column.
    expression : str or None
        A cfitsio row filter that further narrows the selection.

    Raises
    ------
    IndexTableError
        When the file or its OBS table cannot be read, the table lacks
        ``OBS_ID``, or a column the cuts use holds no numbers.
    ParameterError
        When cfitsio refuses the expression (its reason in one line).
    """
    with open_fits(path) as fits:
        table = find_table(fits, "OBS", path)
        present = {name.upper(): name for name in table.get_colnames()}
        wanted = [present[name] for name in ("OBS_ID", "RA_PNT", "DEC_PNT", "QUALITY")
                  if name in present]
        data = table.read(columns=wanted)
        _check_numbers(path, data)
        rows = np.ones(len(data), dtype=bool)
        if expression:
            rows[:] = False
            rows[_where(table, expression)] = True
    parts = []
    columns = {name.upper(): data[name] for name in data.dtype.names}
    ra = columns.get("RA_PNT", np.full(len(data), np.nan))
    dec = columns.get("DEC_PNT", np.full(len(data), np.nan))
    chosen = rows
    if cone is not None:
        if "RA_PNT" not in columns or "DEC_PNT" not in columns:
            raise ParameterError(f'"{path}" has no RA_PNT/DEC_PNT columns: a sky region '
                                 "cannot be selected (set ra=NONE for no sky cut)")
        chosen &= angular_separation(cone.ra, cone.dec, ra, dec) <= cone.radius
        parts.append(f"ANGSEP({cone.ra!r},{cone.dec!r},RA_PNT,DEC_PNT)<={cone.radius!r}")
    quality_cut = max_quality is not None and "QUALITY" in columns
    if max_quality is not None and not quality_cut:
        log.warning('"%s" has no QUALITY column: the quality cut is skipped', path)
    if quality_cut:
        chosen &= columns["QUALITY"] <= max_quality
        parts.append(f"QUALITY<={max_quality}")
    if expression:
        parts.append(f"({expression})")
    obs_ids = unique(columns["OBS_ID"][chosen]).astype(np.int64)
    return Selected(obs_ids, np.asarray(ra, float), np.asarray(dec, float), chosen,
                    "&&".join(parts) or "(all)", quality_cut)


def _check_numbers(path: str, data: np.ndarray) -> None:
    """OBS_ID must be there, and the columns the cuts use must hold one number per row.

    A table found by its extension name alone may lack them; the cuts below
    would then fail with a raw KeyError or TypeError.
    """
    kinds = {name.upper(): data.dtype[name] for name in data.dtype.names}
    if "OBS_ID" not in kinds:
        raise IndexTableError(f'The OBS index table of "{path}" lacks the required column '
                              "OBS_ID.")
    for name, dtype in kinds.items():
        allowed = "iu" if name == "OBS_ID" else "iuf"
        if dtype.kind not in allowed or dtype.shape:
            what = "integer" if name == "OBS_ID" else "number"
            raise IndexTableError(f'Column {name} of the OBS index table of "{path}" holds '
                                  f"{dtype.base.name} values, not one {what} per row.")


def _where(table, expression: str) -> np.ndarray:
    # Evaluated as the user wrote it, not bracketed: the other cuts are applied
    # apart, so brackets add no safety here, and "T) || (T" would become valid
    # and be recorded as "...&&(T) || (T)", which reads as a wider selection.
    try:
        return table.where(expression)
    except (OSError, ValueError) as err:
        reason = _cfitsio_reason(str(err))
        raise ParameterError(f"expression {expression!r} is not a valid cfitsio row filter: "
                             f"{reason}") from err


def _cfitsio_reason(message: str) -> str:
    """cfitsio's own words on one line: each message once, "; " between them.

    fitsio hands over the whole error stack, status lines first; the status
    numbers and the "move past end of file" left by the scan over the HDUs
    (find_table) are noise to a user.
    """
    lines = (re.sub(r"^FITSIO status = \d+:", "", line).strip() for line in message.splitlines())
    kept = [line for line in dict.fromkeys(lines) if line and "move past end of file" not in line]
    return "; ".join(kept) or " ".join(message.split())
