"""A sky map of a store's pointings for csfindobs: the selected ones highlighted.

matplotlib is an optional extra (``pip install iactcopy[plot]``); it is
imported only when a map is asked for.  The figure is built without pyplot,
so that drawing a map from Python neither switches the user's backend nor
leaves a figure open.
"""

from __future__ import annotations

import numpy as np

from iactcopy.errors import IactcopyError, ParameterError
from iactcopy.store.index.obsselect import Cone, Selected

__all__ = ["draw_pointings", "plot_pointings"]

_OTHER = {"s": 9, "c": "0.55", "zorder": 3}
_CHOSEN = {"s": 18, "c": "tab:red", "zorder": 4}
_CIRCLE = {"c": "tab:blue", "lw": 1.4, "zorder": 5}
# Margin around the search circle in the zoomed panel, as a fraction of the radius.
_ZOOM_MARGIN = 0.6


def plot_pointings(selected: Selected, cone: Cone | None, path: str, *, title: str = "") -> None:
    """Write the sky map of :func:`draw_pointings` to *path*.

    The format follows the file name (``.png``, ``.pdf``, ``.svg``...).

    Raises
    ------
    ParameterError
        When the file name asks for a format matplotlib cannot write.
    IactcopyError
        When matplotlib is not installed or the file cannot be written.
    """
    figure = draw_pointings(selected, cone, title=title)
    try:
        figure.savefig(path, dpi=110, bbox_inches="tight")
    except OSError as err:
        raise IactcopyError(f'cannot write the sky map "{path}": {err.strerror or err}') from err
    except ValueError as err:
        # matplotlib's "Format 'xyz' is not supported (supported formats: ...)":
        # the plotfile name is wrong, not the program.
        raise ParameterError(f'plotfile "{path}": {err}') from err


def draw_pointings(selected: Selected, cone: Cone | None, *, title: str = ""):
    """A figure with every pointing on an all-sky Aitoff map, the selected ones highlighted.

    With a search circle, a second panel shows its neighbourhood, where a
    circle of a few degrees is visible. On both panels RA increases to the
    left, as on the sky.

    Parameters
    ----------
    selected : Selected
        The selection, with the pointings of every row.
    cone : Cone or None
        The search circle, if any.
    title : str, optional
        The figure title. Default: "Pointings".

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    IactcopyError
        When matplotlib is not installed.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise IactcopyError("plotfile needs matplotlib: pip install iactcopy[plot]") from err
    figure = Figure(figsize=(13.5, 5.0) if cone is not None else (10, 5.0))
    grid = figure.add_gridspec(1, 2, width_ratios=(2.2, 1), wspace=0.12) if cone is not None \
        else figure.add_gridspec(1, 1)
    sky = figure.add_subplot(grid[0, 0], projection="aitoff")
    _draw_sky(sky, selected, cone)
    if cone is not None:
        _draw_zoom(figure.add_subplot(grid[0, 1]), selected, cone)
    figure.suptitle(title or "Pointings")
    handles, labels = sky.get_legend_handles_labels()
    # Below the map, where it hides no pointing.
    figure.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=9,
                  frameon=False, bbox_to_anchor=(0.5, 0.04))
    return figure


def _draw_sky(axes, selected: Selected, cone: Cone | None) -> None:
    axes.grid(True, alpha=0.35)
    chosen = selected.chosen
    x, y = _aitoff_xy(selected.ra, selected.dec)
    axes.scatter(x[~chosen], y[~chosen], label=f"other pointings ({int((~chosen).sum())})",
                 **_OTHER)
    axes.scatter(x[chosen], y[chosen], label=f"selected ({int(chosen.sum())})", **_CHOSEN)
    if cone is not None:
        cx, cy = _break_at_edge(*_aitoff_xy(*_circle(cone)))
        axes.plot(cx, cy, label=f"search circle ({cone.radius:g}°)", **_CIRCLE)
    ticks = np.arange(-150, 151, 30)
    axes.set_xticks(np.radians(ticks))
    axes.set_xticklabels([f"{(180 - t) % 360}°" for t in ticks], fontsize=8, color="0.25")
    # The RA labels sit on the equator, among the pointings: a light box keeps them legible.
    for label in axes.get_xticklabels():
        label.set_bbox({"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 0.5})
    axes.tick_params(axis="y", labelsize=8)
    axes.set_xlabel("RA (increasing to the left), Dec", fontsize=9, labelpad=22)


def _draw_zoom(axes, selected: Selected, cone: Cone) -> None:
    ra = _near(selected.ra, cone.ra)
    chosen = selected.chosen
    axes.scatter(ra[~chosen], selected.dec[~chosen], **_OTHER)
    axes.scatter(ra[chosen], selected.dec[chosen], **_CHOSEN)
    cra, cdec = _circle(cone)
    axes.plot(cra, cdec, **_CIRCLE)
    # Under the pointings: a run pointed at the centre stays visible.
    axes.plot([cone.ra], [cone.dec], marker="+", ms=12, c="tab:blue", zorder=2)
    margin = _ZOOM_MARGIN * cone.radius
    if abs(cone.dec) + cone.radius >= 90.0:
        # The circle holds a pole: it spans every RA.
        axes.set_xlim(cone.ra + 180.0, cone.ra - 180.0)
    else:
        axes.set_xlim(cra.max() + margin / np.cos(np.radians(cone.dec)),
                      cra.min() - margin / np.cos(np.radians(cone.dec)))
    axes.set_ylim(max(cdec.min() - margin, -90.0), min(cdec.max() + margin, 90.0))
    # Equal angles along both axes at the centre; capped so that a circle
    # near a pole still gives a usable panel.
    axes.set_aspect(1.0 / max(np.cos(np.radians(cone.dec)), 0.1), adjustable="box")
    axes.xaxis.set_major_formatter(_degrees_mod_360())
    axes.yaxis.set_major_formatter(_degrees_mod_360(wrap=False))
    axes.grid(True, alpha=0.35)
    axes.set_xlabel("RA (deg)", fontsize=9)
    axes.set_ylabel("Dec (deg)", fontsize=9)
    axes.tick_params(labelsize=8)
    axes.set_title(f"around RA {cone.ra:g}°, Dec {cone.dec:g}°", fontsize=10)


def _degrees_mod_360(wrap: bool = True):
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: f"{(value % 360.0 if wrap else value):g}°")


def _near(ra: np.ndarray, centre: float) -> np.ndarray:
    """RA values shifted by whole turns into centre ± 180 degrees."""
    return np.mod(np.asarray(ra, float) - centre + 180.0, 360.0) - 180.0 + centre


def _aitoff_xy(ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # matplotlib's aitoff axes take longitude in -pi..pi increasing to the
    # right; sky maps show RA increasing to the left, centred on RA 180.
    lon = np.radians(180.0 - np.mod(np.asarray(ra, float), 360.0))
    return lon, np.radians(np.asarray(dec, float))


def _break_at_edge(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A line's points with a NaN gap where it leaves one edge of the map for the other.

    Without the gap, a circle crossing RA 0 is drawn with a line across the
    whole map.
    """
    jumps = np.nonzero(np.abs(np.diff(lon)) > np.pi)[0] + 1
    return np.insert(np.asarray(lon, float), jumps, np.nan), \
        np.insert(np.asarray(lat, float), jumps, np.nan)


def _circle(cone: Cone, points: int = 181) -> tuple[np.ndarray, np.ndarray]:
    """Points of the small circle of radius ``cone.radius`` around the centre.

    The RA values stay within 180 degrees of the centre's (not reduced modulo 360).
    """
    ra0, dec0, rad = np.radians([cone.ra, cone.dec, cone.radius])
    bearing = np.linspace(0.0, 2.0 * np.pi, points)
    dec = np.arcsin(np.sin(dec0) * np.cos(rad) + np.cos(dec0) * np.sin(rad) * np.cos(bearing))
    ra = ra0 + np.arctan2(np.sin(bearing) * np.sin(rad) * np.cos(dec0),
                          np.cos(rad) - np.sin(dec0) * np.sin(dec))
    return np.degrees(ra), np.degrees(dec)
