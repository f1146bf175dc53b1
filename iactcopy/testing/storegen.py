"""Write synthetic GADF data stores for tests and benchmarks.

A generated store looks like the H.E.S.S. DL3 DR1 release (docs/tutorial.rst):
``master.json`` with one production, ``hdu-index.fits.gz``,
``obs-index.fits.gz`` and one FITS file per observation in ``data/`` holding
EVENTS, GTI, AEFF, EDISP, PSF and BKG extensions, listed by six HDU index
rows.  Everything follows from the seed, so two runs give the same tables.

Pointings are spread over the sky, with a fifth of them around the Crab
(RA 83.63, Dec 22.01) and a tenth around PKS 2155-304, so that csfindobs has
something to find.  ``file_size`` scales the number of events, so a 1 GB
store of 40 files of 25 MB takes seconds; ``index_only`` writes no data
files, for index benchmarks with 10^5 observations.

Command line::

    python -m iactcopy.testing.storegen OUTDIR --nobs 100 [--name PROD]
        [--file-size BYTES] [--seed S] [--first-id ID] [--no-compress] [--index-only]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import logging
import os
import sys
import tempfile
from collections.abc import Sequence

import fitsio
import numpy as np

from iactcopy.store.fits.tablewrite import FitsTable, write_fits_tables
from iactcopy.store.index.tables import IndexTable
from iactcopy.store.master import MasterIndex

__all__ = ["CRAB", "HDU_ENTRIES", "generate_store", "main", "simulate_observations"]

log = logging.getLogger(__name__)

CRAB = (83.63, 22.01)
"""RA and Dec (deg) of the Crab nebula, around which many pointings cluster."""

PKS2155 = (329.72, -30.23)

HDU_ENTRIES = (
    ("aeff", "aeff_2d", "AEFF"),
    ("bkg", "bkg_3d", "BKG"),
    ("edisp", "edisp_2d", "EDISP"),
    ("events", "events", "EVENTS"),
    ("gti", "gti", "GTI"),
    ("psf", "psf_table", "PSF"),
)
"""(HDU_TYPE, HDU_CLASS, HDU_NAME) of the six HDU index rows of an observation."""

DEFAULT_NAME = "iactcopy-sim"
DEFAULT_FIRST_ID = 100000
TINY_EVENTS = 100
MJDREFI, MJDREFF = 51910, 0.000742870370370241
# The H.E.S.S. site; zenith angles are derived from it.
SITE_LATITUDE = -23.2717777777778

_EVENT_DTYPE = np.dtype([("EVENT_ID", ">i8"), ("TIME", ">f8"), ("RA", ">f4"), ("DEC", ">f4"),
                         ("ENERGY", ">f4")])
# Measured on generated files: the fixed part (headers, GTI, IRFs) and the
# bytes one event adds, as written and after gzip level 1.
_FIXED_BYTES = {False: 43200, True: 3500}
_EVENT_BYTES = {False: _EVENT_DTYPE.itemsize, True: 17.6}
_DATA_COMPRESSLEVEL = 1

# ICRS to Galactic rotation (Hipparcos values, as tabulated in the literature).
_ICRS_TO_GALACTIC = np.array([
    [-0.0548755604162154, -0.8734370902348850, -0.4838350155487132],
    [+0.4941094278755837, -0.4448296299600112, +0.7469822444972189],
    [-0.8676661490190047, -0.1980763734312015, +0.4559837761750669],
])


def generate_store(outdir: str | os.PathLike, nobs: int, *, name: str = DEFAULT_NAME,
                   file_size: int = 0, seed: int = 0, first_id: int = DEFAULT_FIRST_ID,
                   compress: bool = True, index_only: bool = False, jobs: int = 1) -> str:
    """Write a synthetic data store and return the path of its ``master.json``.

    Parameters
    ----------
    outdir : str or path-like
        The store folder; created if needed. The index files are always
        ``hdu-index.fits.gz`` and ``obs-index.fits.gz``, so a folder holds
        one generated production; other entries of an existing
        ``master.json`` are kept.
    nobs : int
        Number of observations (at least 1).
    name : str
        The production name, also the prefix of the data file names.
        Default is ``"iactcopy-sim"``.
    file_size : int
        Approximate size in bytes of each data file on disk; the number of
        events is scaled to reach it. Default is 0: tiny files of a few kB
        with 100 events.
    seed : int
        Seed of the random generator; the same seed gives the same store.
        Default is 0.
    first_id : int
        ``OBS_ID`` of the first observation; the others follow one by one.
        Default is 100000.
    compress : bool
        Write data files as ``.fits.gz`` (gzip level 1) instead of ``.fits``.
        Default is True. The index files are always ``.fits.gz``.
    index_only : bool
        Write only ``master.json`` and the two index files; ``SIZE`` then
        holds the estimated file size. Default is False.
    jobs : int
        Number of processes writing data files; the files do not depend on
        it. Default is 1.

    Returns
    -------
    str
        The path of the ``master.json`` written.

    Raises
    ------
    ValueError
        When `nobs` or `jobs` is below 1, or `file_size` or `first_id` negative.
    """
    if nobs < 1:
        raise ValueError(f"nobs must be at least 1, not {nobs!r}")
    if file_size < 0:
        raise ValueError(f"file_size must be 0 (tiny files) or a positive byte count, "
                         f"not {file_size!r}")
    if first_id < 0:
        raise ValueError(f"first_id must not be negative, not {first_id!r}")
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs!r}")
    outdir = os.fspath(outdir)
    data_dir = os.path.join(outdir, "data")
    os.makedirs(data_dir if not index_only else outdir, exist_ok=True)

    n_events = _events_per_file(file_size, compress)
    obs = simulate_observations(nobs, seed=seed, first_id=first_id, n_events=n_events)
    suffix = ".fits.gz" if compress else ".fits"
    file_names = np.char.add(np.char.add(f"{name}_obs_", np.char.zfill(
        obs["OBS_ID"].astype(str), 6)), suffix)
    if index_only:
        sizes = np.full(nobs, int(_FIXED_BYTES[compress] + n_events * _EVENT_BYTES[compress]))
    else:
        paths = [os.path.join(data_dir, str(file_name)) for file_name in file_names]
        sizes = _write_data_files(paths, obs, n_events, seed, _render_irfs(data_dir), jobs)
        log.info("Wrote %d data files, %.1f MB, in %s", nobs, sizes.sum() / 1e6, data_dir)

    hdu = _hdu_index(obs["OBS_ID"], file_names, sizes)
    hdu.write(os.path.join(outdir, "hdu-index.fits.gz"))
    _obs_index(obs).write(os.path.join(outdir, "obs-index.fits.gz"))
    master_path = os.path.join(outdir, "master.json")
    disk = "none (index only)" if index_only else f"{sizes.sum() / 1e6:.2f} MB"
    entry = {"name": name, "hduindx": "hdu-index.fits.gz", "obsindx": "obs-index.fits.gz",
             "Total observations": nobs,
             "Total time": f"{obs['ONTIME'].sum() / 3600:.2f} hours",
             "Total events": int(obs["EVENT_COUNT"].sum()),
             "Disk usage": disk,
             "Date created": datetime.date.today().isoformat(),
             "comment": f"Synthetic store written by iactcopy.testing.storegen (seed {seed})"}
    if os.path.isfile(master_path):
        master = MasterIndex.read(master_path).with_production(entry)
    else:
        master = MasterIndex({"datasets": [entry]}, master_path)
    master.write()
    return master_path


def simulate_observations(nobs: int, *, seed: int = 0, first_id: int = DEFAULT_FIRST_ID,
                          n_events: int = TINY_EVENTS) -> np.ndarray:
    """Return the OBS index rows of `nobs` simulated observations.

    Parameters
    ----------
    nobs : int
        Number of observations.
    seed : int
        Seed of the random generator. Default is 0.
    first_id : int
        ``OBS_ID`` of the first row; IDs then count up by one. Default is 100000.
    n_events : int
        The ``EVENT_COUNT`` of every observation. Default is 100.

    Returns
    -------
    numpy.ndarray
        A structured array with the GADF OBS index columns, one row per
        observation in ``OBS_ID`` order.
    """
    rng = np.random.default_rng(seed)
    target = rng.choice(3, size=nobs, p=[0.7, 0.2, 0.1])
    ra = rng.uniform(0.0, 360.0, nobs)
    dec = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, nobs)))
    # Wobble pointings 0.3-1.5 deg from the source, in a random direction.
    offset = rng.uniform(0.3, 1.5, nobs)
    angle = rng.uniform(0.0, 2 * np.pi, nobs)
    for code, (src_ra, src_dec) in ((1, CRAB), (2, PKS2155)):
        near = target == code
        dec[near] = src_dec + offset[near] * np.sin(angle[near])
        ra[near] = (src_ra + offset[near] * np.cos(angle[near])
                    / np.cos(np.radians(src_dec))) % 360.0
    glon, glat = _galactic(ra, dec)
    zenith = np.clip(np.abs(dec - SITE_LATITUDE) + rng.uniform(0.0, 25.0, nobs), 0.5, 70.0)
    ontime = rng.uniform(1200.0, 1800.0, nobs)
    deadc = rng.uniform(0.88, 0.97, nobs)
    gaps = rng.uniform(60.0, 3600.0, nobs)
    tstart = 1.0e8 + np.concatenate([[0.0], np.cumsum(ontime + gaps)[:-1]])
    n_tels = rng.choice([3, 4], size=nobs, p=[0.3, 0.7])
    missing = rng.integers(0, 4, nobs)
    tellists = np.array(["2,3,4", "1,3,4", "1,2,4", "1,2,3"])
    ids = np.arange(first_id, first_id + nobs, dtype=np.int64)

    obs = np.zeros(nobs, dtype=[
        ("OBS_ID", "i8"), ("RA_PNT", "f4"), ("DEC_PNT", "f4"), ("GLON_PNT", "f4"),
        ("GLAT_PNT", "f4"), ("ZEN_PNT", "f4"), ("ALT_PNT", "f4"), ("AZ_PNT", "f4"),
        ("ONTIME", "f4"), ("LIVETIME", "f4"), ("DEADC", "f4"), ("TSTART", "f8"),
        ("TSTOP", "f8"), ("N_TELS", "i8"), ("TELLIST", "U7"), ("QUALITY", "i8"),
        ("OBJECT", "U24"), ("EVENT_COUNT", "i8")])
    obs["OBS_ID"] = ids
    obs["RA_PNT"], obs["DEC_PNT"] = ra, dec
    obs["GLON_PNT"], obs["GLAT_PNT"] = glon, glat
    obs["ZEN_PNT"], obs["ALT_PNT"] = zenith, 90.0 - zenith
    obs["AZ_PNT"] = rng.uniform(0.0, 360.0, nobs)
    obs["ONTIME"], obs["DEADC"], obs["LIVETIME"] = ontime, deadc, ontime * deadc
    obs["TSTART"], obs["TSTOP"] = tstart, tstart + ontime
    obs["N_TELS"] = n_tels
    obs["TELLIST"] = np.where(n_tels == 4, "1,2,3,4", tellists[missing])
    obs["QUALITY"] = rng.choice([0, 1, 2], size=nobs, p=[0.85, 0.1, 0.05])
    obs["OBJECT"] = np.where(target == 1, "Crab Nebula", np.where(
        target == 2, "PKS 2155-304", np.char.add("Field ", ids.astype(str))))
    obs["EVENT_COUNT"] = n_events
    return obs


def _galactic(ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ra_rad, dec_rad = np.radians(ra), np.radians(dec)
    vector = np.stack([np.cos(dec_rad) * np.cos(ra_rad), np.cos(dec_rad) * np.sin(ra_rad),
                       np.sin(dec_rad)])
    x, y, z = _ICRS_TO_GALACTIC @ vector
    return np.degrees(np.arctan2(y, x)) % 360.0, np.degrees(np.arcsin(np.clip(z, -1, 1)))


def _events_per_file(file_size: int, compress: bool) -> int:
    if file_size == 0:
        return TINY_EVENTS
    return max(1, int((file_size - _FIXED_BYTES[compress]) / _EVENT_BYTES[compress]))


def _time_keywords() -> list[dict]:
    return [{"name": "MJDREFI", "value": MJDREFI, "comment": "reference time, integer MJD"},
            {"name": "MJDREFF", "value": MJDREFF, "comment": "reference time, MJD fraction"},
            {"name": "TIMEUNIT", "value": "s", "comment": "unit of time columns"},
            {"name": "TIMESYS", "value": "TT", "comment": "time system"},
            {"name": "TIMEREF", "value": "local", "comment": "time reference frame"}]


def _gadf(*classes: str) -> list[dict]:
    records = [{"name": "HDUCLASS", "value": "GADF"},
               {"name": "HDUDOC",
                "value": "https://github.com/open-gamma-ray-astro/gamma-astro-data-formats"},
               {"name": "HDUVERS", "value": "0.2"}]
    records += [{"name": f"HDUCLAS{number}", "value": value}
                for number, value in enumerate(classes, start=1)]
    return records


def _hdu_index(obs_ids: np.ndarray, file_names: np.ndarray, sizes: np.ndarray) -> IndexTable:
    per_obs = len(HDU_ENTRIES)
    entries = np.array(HDU_ENTRIES)
    width = max(int(file_names.dtype.itemsize // 4), 1)
    data = np.zeros(len(obs_ids) * per_obs, dtype=[
        ("OBS_ID", "i8"), ("HDU_TYPE", "U6"), ("HDU_CLASS", "U9"), ("FILE_DIR", "U4"),
        ("FILE_NAME", f"U{width}"), ("HDU_NAME", "U6"), ("SIZE", "i8")])
    data["OBS_ID"] = np.repeat(obs_ids, per_obs)
    data["HDU_TYPE"] = np.tile(entries[:, 0], len(obs_ids))
    data["HDU_CLASS"] = np.tile(entries[:, 1], len(obs_ids))
    data["FILE_DIR"] = "data"
    data["FILE_NAME"] = np.repeat(file_names, per_obs)
    data["HDU_NAME"] = np.tile(entries[:, 2], len(obs_ids))
    # GADF calls SIZE the file size; H.E.S.S. DR1 put HDU sizes there instead.
    data["SIZE"] = np.repeat(sizes, per_obs)
    header = [{"name": "HDUDOC",
               "value": "https://github.com/open-gamma-ray-astro/gamma-astro-data-formats"},
              {"name": "HDUVERS", "value": "0.2"}]
    return IndexTable("HDU", data, header=header, column_keywords={"SIZE": {"TUNIT": "byte"}})


def _obs_index(obs: np.ndarray) -> IndexTable:
    units = {name: "deg" for name in ("RA_PNT", "DEC_PNT", "GLON_PNT", "GLAT_PNT", "ZEN_PNT",
                                      "ALT_PNT", "AZ_PNT")}
    units.update({name: "s" for name in ("ONTIME", "LIVETIME", "TSTART", "TSTOP")})
    header = [{"name": "HDUDOC",
               "value": "https://github.com/open-gamma-ray-astro/gamma-astro-data-formats"},
              {"name": "HDUVERS", "value": "0.2"}, *_time_keywords(),
              {"name": "TELESCOP", "value": "SIM", "comment": "simulated by iactcopy"},
              {"name": "GEOLON", "value": 16.5002222222222, "comment": "site longitude (deg)"},
              {"name": "GEOLAT", "value": SITE_LATITUDE, "comment": "site latitude (deg)"},
              {"name": "ALTITUDE", "value": 1835.0, "comment": "site altitude (m)"}]
    return IndexTable("OBS", obs, header=header,
                      column_keywords={name: {"TUNIT": unit} for name, unit in units.items()})


def _irf_tables() -> list[FitsTable]:
    """Small, plausible IRFs, the same for every observation."""
    energy = np.logspace(-1, 2, 9)
    theta = np.linspace(0.0, 2.5, 5)
    migra = np.linspace(0.2, 5.0, 11)
    rad = np.linspace(0.0, 0.5, 11)
    detx = np.linspace(-3.0, 3.0, 7)
    centre_e = np.sqrt(energy[:-1] * energy[1:])
    centre_t = 0.5 * (theta[:-1] + theta[1:])

    def grid(**columns: np.ndarray) -> np.ndarray:
        table = np.zeros(1, dtype=[(key, ">f4", value.shape) for key, value in columns.items()])
        for key, value in columns.items():
            table[key][0] = value
        return table

    edges = {"ENERG_LO": energy[:-1], "ENERG_HI": energy[1:]}
    thetas = {"THETA_LO": theta[:-1], "THETA_HI": theta[1:]}
    area = 1e5 * (1 - np.exp(-centre_e))[np.newaxis, :] * np.exp(-centre_t[:, np.newaxis] / 3)
    matrix = np.exp(-0.5 * ((0.5 * (migra[:-1] + migra[1:]) - 1.0) / 0.15) ** 2)
    rpsf = np.exp(-0.5 * (0.5 * (rad[:-1] + rad[1:]) / 0.08) ** 2)
    # numpy axes run opposite to FITS ones: BKG_3D is (ENERG, DETX, DETY) in FITS.
    background = np.full((len(detx) - 1, len(detx) - 1, len(energy) - 1), 1e-4, dtype="f4")
    background *= (centre_e ** -2.7)[np.newaxis, np.newaxis, :]
    response = [
        ("AEFF", ("RESPONSE", "EFF_AREA", "FULL-ENCLOSURE", "AEFF_2D"),
         grid(**edges, **thetas, EFFAREA=area), {"EFFAREA": "m2"}),
        ("EDISP", ("RESPONSE", "EDISP", "FULL-ENCLOSURE", "EDISP_2D"),
         grid(**edges, MIGRA_LO=migra[:-1], MIGRA_HI=migra[1:], **thetas,
              MATRIX=np.broadcast_to(matrix[np.newaxis, :, np.newaxis],
                                     (len(theta) - 1, len(migra) - 1, len(energy) - 1))), {}),
        ("PSF", ("RESPONSE", "RPSF", "FULL-ENCLOSURE", "PSF_TABLE"),
         grid(**edges, **thetas, RAD_LO=rad[:-1], RAD_HI=rad[1:],
              RPSF=np.broadcast_to(rpsf[:, np.newaxis, np.newaxis],
                                   (len(rad) - 1, len(theta) - 1, len(energy) - 1))),
         {"RAD_LO": "deg", "RAD_HI": "deg", "RPSF": "sr-1"}),
        ("BKG", ("RESPONSE", "BKG", "FULL-ENCLOSURE", "BKG_3D"),
         grid(**edges, DETX_LO=detx[:-1], DETX_HI=detx[1:], DETY_LO=detx[:-1],
              DETY_HI=detx[1:], BKG=background), {"BKG": "s-1 MeV-1 sr-1"}),
    ]
    tables = []
    for extname, classes, data, extra_units in response:
        units = {"ENERG_LO": "TeV", "ENERG_HI": "TeV", "THETA_LO": "deg", "THETA_HI": "deg",
                 "MIGRA_LO": "", "MIGRA_HI": "", "DETX_LO": "deg", "DETX_HI": "deg",
                 "DETY_LO": "deg", "DETY_HI": "deg", **extra_units}
        tables.append(FitsTable(data, extname, _gadf(*classes),
                                [units.get(column, "") for column in data.dtype.names]))
    return tables


def _render_irfs(folder: str) -> bytes:
    """Return the four IRF extensions as FITS bytes, written once for all files."""
    # Six extensions per file cost fitsio about 4 ms; the four that never
    # change are rendered here once and appended to every file as bytes.
    handle, scratch = tempfile.mkstemp(prefix=".irf-template.", suffix=".fits.part", dir=folder)
    os.close(handle)
    try:
        with fitsio.FITS(scratch, "rw", clobber=True) as fits:
            for table in _irf_tables():
                fits.write(table.data, extname=table.extname, header=list(table.header),
                           units=list(table.units))
            first_extension = fits[1].get_offsets()["header_start"]
        with open(scratch, "rb") as stream:
            return stream.read()[first_extension:]
    finally:
        os.unlink(scratch)


def _write_data_files(paths: list[str], obs: np.ndarray, n_events: int, seed: int,
                      irfs: bytes, jobs: int) -> np.ndarray:
    if jobs == 1 or len(paths) == 1:
        return _write_chunk(paths, obs, n_events, seed, irfs)
    chunk = max(1, min(len(paths) // (4 * jobs), 500))
    starts = range(0, len(paths), chunk)
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
        parts = pool.map(_write_chunk, [paths[i:i + chunk] for i in starts],
                         [obs[i:i + chunk] for i in starts], [n_events] * len(starts),
                         [seed] * len(starts), [irfs] * len(starts))
        return np.concatenate(list(parts))


def _write_chunk(paths: list[str], obs: np.ndarray, n_events: int, seed: int,
                 irfs: bytes) -> np.ndarray:
    sizes = np.empty(len(paths), dtype=np.int64)
    for row, path in enumerate(paths):
        _write_data_file(path, obs[row], n_events, seed, irfs)
        sizes[row] = os.path.getsize(path)
    return sizes


def _write_data_file(path: str, obs: np.void, n_events: int, seed: int, irfs: bytes) -> None:
    # One generator per observation, so a file does not depend on the others.
    rng = np.random.default_rng([seed, int(obs["OBS_ID"])])
    tstart, tstop = float(obs["TSTART"]), float(obs["TSTOP"])
    events = np.empty(n_events, dtype=_EVENT_DTYPE)
    events["EVENT_ID"] = np.arange(1, n_events + 1)
    steps = rng.exponential(1.0, n_events)
    events["TIME"] = tstart + np.cumsum(steps) * ((tstop - tstart) / (steps.sum() * 1.000001))
    cos_dec = max(np.cos(np.radians(float(obs["DEC_PNT"]))), 0.05)
    offsets = rng.normal(0.0, 1.0, (2, n_events))
    events["RA"] = (float(obs["RA_PNT"]) + offsets[0] / cos_dec) % 360.0
    events["DEC"] = np.clip(float(obs["DEC_PNT"]) + offsets[1], -90.0, 90.0)
    # A power law of index 2.7 above 0.2 TeV, by inverting its distribution.
    events["ENERGY"] = 0.2 * (1.0 - rng.random(n_events)) ** (-1.0 / 1.7)
    pointing = [{"name": "OBS_ID", "value": int(obs["OBS_ID"]), "comment": "observation ID"},
                {"name": "TSTART", "value": tstart}, {"name": "TSTOP", "value": tstop},
                {"name": "ONTIME", "value": float(obs["ONTIME"])},
                {"name": "LIVETIME", "value": float(obs["LIVETIME"])},
                {"name": "DEADC", "value": float(obs["DEADC"])},
                {"name": "RA_PNT", "value": float(obs["RA_PNT"])},
                {"name": "DEC_PNT", "value": float(obs["DEC_PNT"])},
                {"name": "ALT_PNT", "value": float(obs["ALT_PNT"])},
                {"name": "AZ_PNT", "value": float(obs["AZ_PNT"])},
                {"name": "OBS_MODE", "value": "POINTING"},
                {"name": "TELESCOP", "value": "SIM"}, {"name": "RADECSYS", "value": "ICRS"},
                {"name": "EQUINOX", "value": 2000.0}, *_time_keywords()]
    gti = np.array([(tstart, tstop)], dtype=[("START", ">f8"), ("STOP", ">f8")])
    tables = [FitsTable(events, "EVENTS", _gadf("EVENTS") + pointing,
                        ["", "s", "deg", "deg", "TeV"]),
              FitsTable(gti, "GTI", _gadf("GTI") + _time_keywords(), ["s", "s"])]
    write_fits_tables(path, tables, append=irfs, compresslevel=_DATA_COMPRESSLEVEL, fsync=False)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0, or 2 for a bad command line)."""
    parser = argparse.ArgumentParser(
        prog="python -m iactcopy.testing.storegen",
        description="Write a synthetic GADF data store (master.json, HDU and OBS index, "
                    "data files) for tests and benchmarks.")
    parser.add_argument("outdir", help="folder of the store (created if needed)")
    parser.add_argument("--nobs", type=int, required=True, help="number of observations")
    parser.add_argument("--name", default=DEFAULT_NAME,
                        help=f"production name (default: {DEFAULT_NAME})")
    parser.add_argument("--file-size", type=_positive_int, default=0, metavar="BYTES",
                        help="approximate size of each data file; 0 (default) for tiny files")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--first-id", type=_positive_int, default=DEFAULT_FIRST_ID,
                        metavar="ID", help=f"first OBS_ID (default: {DEFAULT_FIRST_ID})")
    parser.add_argument("--compress", action=argparse.BooleanOptionalAction, default=True,
                        help="write data files as .fits.gz (default) or .fits")
    parser.add_argument("--index-only", action="store_true",
                        help="write only master.json and the index files")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes writing data files (default: one per CPU)")
    args = parser.parse_args(argv)
    if args.nobs < 1:
        parser.error(f"--nobs must be at least 1, not {args.nobs}")
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, not {args.jobs}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    master = generate_store(args.outdir, args.nobs, name=args.name, file_size=args.file_size,
                            seed=args.seed, first_id=args.first_id, compress=args.compress,
                            index_only=args.index_only, jobs=args.jobs)
    print(master)
    return 0


if __name__ == "__main__":
    sys.exit(main())
