"""A sky map of a store's pointings for csfindobs: the selected ones highlighted.

matplotlib is an optional extra (``pip install iactcopy[plot]``); it is
imported only when a map is asked for.
"""

from __future__ import annotations

import numpy as np

from iactcopy.errors import IactcopyError
from iactcopy.store.obsselect import Cone, Selected

__all__ = ["plot_pointings"]


def plot_pointings(selected: Selected, cone: Cone | None, path: str, *, title: str = "") -> None:
    """Draw every pointing in an Aitoff map, the selected ones highlighted, and the cone.

    The format follows the file name (``.png``, ``.pdf``, ``.svg``...).

    Raises
    ------
    IactcopyError
        When matplotlib is not installed or the file cannot be written.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise IactcopyError("plotfile needs matplotlib: pip install iactcopy[plot]") from err
    figure = plt.figure(figsize=(10, 5.6))
    axes = figure.add_subplot(projection="aitoff")
    axes.grid(True, alpha=0.4)
    x, y = _aitoff_xy(selected.ra, selected.dec)
    axes.scatter(x[~selected.chosen], y[~selected.chosen], s=9, c="0.6",
                 label=f"other pointings ({int((~selected.chosen).sum())})")
    axes.scatter(x[selected.chosen], y[selected.chosen], s=16, c="tab:red",
                 label=f"selected ({int(selected.chosen.sum())})")
    if cone is not None:
        ra, dec = _circle(cone)
        cx, cy = _aitoff_xy(ra, dec)
        axes.plot(cx, cy, c="tab:blue", lw=1.2, label=f"search circle ({cone.radius:g} deg)")
    ticks = np.arange(-150, 151, 30)
    axes.set_xticks(np.radians(ticks))
    axes.set_xticklabels([f"{(180 - t) % 360}°" for t in ticks])
    axes.set_title(title or "Pointings", pad=18)
    axes.legend(loc="lower right", fontsize=8, framealpha=0.9)
    figure.text(0.01, 0.01, "RA increases to the left (astronomical convention)", fontsize=7)
    try:
        figure.savefig(path, dpi=110, bbox_inches="tight")
    except OSError as err:
        raise IactcopyError(f'cannot write the sky map "{path}": {err.strerror or err}') from err
    finally:
        plt.close(figure)


def _aitoff_xy(ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # matplotlib's aitoff axes take longitude in -pi..pi increasing to the
    # right; sky maps show RA increasing to the left, centred on RA 180.
    lon = np.radians(180.0 - np.mod(np.asarray(ra, float), 360.0))
    return lon, np.radians(np.asarray(dec, float))


def _circle(cone: Cone, points: int = 181) -> tuple[np.ndarray, np.ndarray]:
    """Points of the small circle of radius ``cone.radius`` around the centre."""
    ra0, dec0, rad = np.radians([cone.ra, cone.dec, cone.radius])
    bearing = np.linspace(0.0, 2.0 * np.pi, points)
    dec = np.arcsin(np.sin(dec0) * np.cos(rad) + np.cos(dec0) * np.sin(rad) * np.cos(bearing))
    ra = ra0 + np.arctan2(np.sin(bearing) * np.sin(rad) * np.cos(dec0),
                          np.cos(rad) - np.sin(dec0) * np.sin(dec))
    return np.degrees(ra), np.degrees(dec)
