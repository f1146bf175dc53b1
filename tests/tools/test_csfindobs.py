"""csfindobs from the command line and from Python (docs/tools/csfindobs.rst).

Expected selections are computed independently of iactcopy: the OBS index is
read with astropy.io.fits and the pointings are compared with
``SkyCoord.separation``.  Stores with unusual index files (no QUALITY column,
odd QUALITY values, unnamed or misnamed extensions) are copies of the
H.E.S.S. DL3 DR1 index files edited with astropy; their data files are never
copied, except in the csiactcopy test, which copies four observations.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits

from iactcopy.errors import DataStoreError, ParameterError
from iactcopy.store.index.obsselect import Cone, select_observations
from iactcopy.testing.storegen import generate_store
from iactcopy.tools.csfindobs import csfindobs

PROD = "hess_dl3_dr1"
CRAB = (83.63, 22.51, 2.5)
CRAB_RUNS = [23523, 23526, 23559, 23592]
MSH_15_52 = (228.53, -59.16, 2.0)
PKS_2155 = (329.71, -30.2339, 2.0)
#: ctools' selection for ``ra=NONE expression="ZEN_PNT < 30 && LIVETIME > 1600"``.
LOW_ZENITH_LONG_RUNS = [25443, 26850, 28967, 29024, 29118]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# -- fixtures and helpers --------------------------------------------------------
@pytest.fixture(scope="session")
def mpl_config(tmp_path_factory) -> Path:
    """One matplotlib configuration folder for the session: its font cache is built once."""
    return tmp_path_factory.mktemp("mplconfig")


@pytest.fixture(autouse=True)
def _matplotlib_config(monkeypatch, mpl_config):
    # HOME is a fresh folder in every test; without this, matplotlib would
    # rebuild its font cache each time and say so on stderr.
    monkeypatch.setenv("MPLCONFIGDIR", str(mpl_config))


def hess_args(store: Path, *region: Any, outfile: str = "runlist.lis", **extra: Any) -> list[str]:
    """Command-line arguments for csfindobs on *store*: every prompted parameter is given.

    *region* is (ra, dec, rad), or empty for ``ra=NONE``.
    """
    args = [f"datapath={store}", f"prodname={PROD}", f"outfile={outfile}"]
    if region:
        args += [f"{name}={value}" for name, value in zip(("ra", "dec", "rad"), region)]
    else:
        args.append("ra=NONE")
    return args + [f"{name}={value}" for name, value in extra.items()]


def read_list(path: Path) -> tuple[list[str], list[int]]:
    """The ``#`` header lines and the IDs of a run list, checking its layout on the way."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = [line for line in lines if line.startswith("#")]
    assert lines[: len(header)] == header, "the header comes first"
    body = lines[len(header):]
    assert all(re.fullmatch(r"[0-9]+", line) for line in body), body
    return header, [int(line) for line in body]


def obs_table(path: Path) -> fits.FITS_rec:
    """The rows of the (first) binary table of an OBS index file, read with astropy."""
    with fits.open(path) as hdul:
        table = next(hdu for hdu in hdul if isinstance(hdu, fits.BinTableHDU))
        return table.data.copy()


def in_cone(table: fits.FITS_rec, ra: float, dec: float, rad: float) -> np.ndarray:
    """Per row, whether the pointing lies within *rad* degrees of (ra, dec)."""
    pointings = SkyCoord(table["RA_PNT"] * u.deg, table["DEC_PNT"] * u.deg)
    return pointings.separation(SkyCoord(ra * u.deg, dec * u.deg)).deg <= rad


def expected_ids(table: fits.FITS_rec, mask: np.ndarray) -> list[int]:
    return sorted(int(obs_id) for obs_id in table["OBS_ID"][mask])


def edit_obs_index(store: Path, edit) -> None:
    """Rewrite ``<store>/obs-index.fits.gz`` with ``edit(hdul)`` applied (through a new file)."""
    path = store / "obs-index.fits.gz"
    with fits.open(path) as hdul:
        for hdu in hdul:
            hdu.data  # noqa: B018 - loads the data before the file is replaced
        edit(hdul)
        hdul.writeto(store / "edited.fits.gz")
    os.replace(store / "edited.fits.gz", path)


def assert_one_error_line(result: subprocess.CompletedProcess, status: int, *words: str) -> str:
    """The run failed with *status* and one ``*** ERROR:`` line holding *words*; return it."""
    assert result.returncode == status, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("*** ERROR: ") and lines[0].count("*** ERROR") == 1
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]
    return lines[0]


def log_value(log: str, label: str) -> str:
    """The value of the log line ``<label> ....: <value>`` (the last one)."""
    values = re.findall(rf"^\S+: +{re.escape(label)} \.*: (.*)$", log, flags=re.MULTILINE)
    assert values, f"no {label!r} line in the log"
    return values[-1]


# -- sky regions on the H.E.S.S. store -------------------------------------------
def test_crab_command_line_writes_sorted_run_list_with_header(hess_store, isolated,
                                                              csfindobs_cmd):
    result = csfindobs_cmd(*hess_args(hess_store, *CRAB, outfile="crab.lis"))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    header, ids = read_list(isolated.work / "crab.lis")
    assert ids == CRAB_RUNS
    assert header == ["# csfindobs: ANGSEP(83.63,22.51,RA_PNT,DEC_PNT)<=2.5&&QUALITY<=0"]
    log = (isolated.work / "csfindobs.log").read_text(encoding="utf-8")
    assert log_value(log, "Expression") == "ANGSEP(83.63,22.51,RA_PNT,DEC_PNT)<=2.5&&QUALITY<=0"
    assert log_value(log, "Observations") == "4"
    assert [log_value(log, f"Observation {n}") for n in range(1, 5)] == \
        [str(obs_id) for obs_id in CRAB_RUNS]
    assert log_value(log, "Runlist file") == "crab.lis"


@pytest.mark.parametrize("region, count", [(CRAB, 4), (MSH_15_52, None), (PKS_2155, 21)],
                         ids=["Crab", "MSH 15-52", "PKS 2155-304"])
def test_region_selects_exactly_the_pointings_within_the_radius(hess_store, region, count):
    table = obs_table(hess_store / "obs-index.fits.gz")
    expected = expected_ids(table, in_cone(table, *region) & (table["QUALITY"] <= 0))
    assert expected, "the region must hold pointings for the test to mean something"
    if count is not None:
        assert len(expected) == count
    ra, dec, rad = region
    app = csfindobs(datapath=str(hess_store), prodname=PROD, ra=ra, dec=dec, rad=rad)
    app.run()
    assert app.runs() == expected
    # Nothing outside the radius, whatever its quality.
    assert not set(app.runs()) - set(expected_ids(table, in_cone(table, *region)))


def test_crab_runs_are_the_reference_ones(hess_store):
    app = csfindobs(datapath=str(hess_store), prodname=PROD)
    app["ra"], app["dec"], app["rad"] = CRAB
    app.run()
    assert app.runs() == CRAB_RUNS


def test_generated_store_selection_matches_astropy(tmp_path):
    master = Path(generate_store(tmp_path / "sim", 400, name="sim", seed=11, index_only=True))
    table = obs_table(master.parent / "obs-index.fits.gz")
    region = (83.63, 22.01, 6.0)
    separation = SkyCoord(table["RA_PNT"] * u.deg, table["DEC_PNT"] * u.deg).separation(
        SkyCoord(region[0] * u.deg, region[1] * u.deg)).deg
    assert np.abs(separation - region[2]).min() > 1e-6, "no pointing on the edge"
    expected = expected_ids(table, (separation <= region[2]) & (table["QUALITY"] <= 1))
    assert len(expected) > 5
    app = csfindobs(datapath=str(master.parent), prodname="sim", min_qual=1)
    app["ra"], app["dec"], app["rad"] = region
    app.run()
    assert app.runs() == expected


# -- quality ---------------------------------------------------------------------
@pytest.fixture
def graded_store(make_store) -> Path:
    """A copy of the H.E.S.S. indexes whose Crab runs have QUALITY 0, 1, 2 and -1 (unknown)."""
    store = make_store("graded")
    grades = {23523: 0, 23526: 1, 23559: 2, 23592: -1}

    def grade(hdul):
        data = hdul["OBS_INDEX"].data
        for obs_id, quality in grades.items():
            data["QUALITY"][data["OBS_ID"] == obs_id] = quality

    edit_obs_index(store, grade)
    return store


@pytest.mark.parametrize("min_qual, runs", [(0, [23523, 23592]), (1, [23523, 23526, 23592]),
                                            (2, CRAB_RUNS)])
def test_min_qual_keeps_quality_up_to_the_limit_and_unknown(graded_store, isolated,
                                                            csfindobs_cmd, min_qual, runs):
    table = obs_table(graded_store / "obs-index.fits.gz")
    assert expected_ids(table, in_cone(table, *CRAB) & (table["QUALITY"] <= min_qual)) == runs
    result = csfindobs_cmd(*hess_args(graded_store, *CRAB, min_qual=min_qual))
    assert result.returncode == 0, result.stderr
    header, ids = read_list(isolated.work / "runlist.lis")
    assert ids == runs
    assert header[0].endswith(f"QUALITY<={min_qual}")


def test_min_qual_outside_0_1_2_is_a_parameter_error(hess_store, isolated, csfindobs_cmd):
    result = csfindobs_cmd(*hess_args(hess_store, *CRAB, min_qual=3))
    assert_one_error_line(result, 2, "min_qual", "0|1|2")
    assert not (isolated.work / "runlist.lis").exists()


@pytest.fixture
def store_without_quality(make_store) -> Path:
    """A copy of the H.E.S.S. indexes whose OBS index has no QUALITY column."""
    store = make_store("noquality")

    def drop(hdul):
        table = hdul["OBS_INDEX"]
        columns = [column for column in table.columns if column.name != "QUALITY"]
        hdul["OBS_INDEX"] = fits.BinTableHDU.from_columns(columns, header=_without_columns(
            table.header), name="OBS_INDEX")

    edit_obs_index(store, drop)
    return store


def _without_columns(header: fits.Header) -> fits.Header:
    """The header with its column keywords left out (from_columns writes them afresh)."""
    kept = fits.Header()
    for card in header.cards:
        if not re.fullmatch(r"T[A-Z]+[0-9]+|NAXIS[0-9]*|TFIELDS|XTENSION|BITPIX|PCOUNT|GCOUNT",
                            card.keyword):
            kept.append(card)
    return kept


def test_store_without_quality_warns_and_still_selects(store_without_quality, isolated,
                                                       csfindobs_cmd):
    with fits.open(store_without_quality / "obs-index.fits.gz") as hdul:
        assert "QUALITY" not in hdul["OBS_INDEX"].columns.names
    result = csfindobs_cmd(*hess_args(store_without_quality, *CRAB))
    assert result.returncode == 0, result.stderr
    header, ids = read_list(isolated.work / "runlist.lis")
    assert ids == CRAB_RUNS
    assert "QUALITY" not in header[0]
    log = (isolated.work / "csfindobs.log").read_text(encoding="utf-8")
    warnings = [line for line in log.splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and "QUALITY" in warnings[0], warnings


def test_store_without_quality_warns_from_python(store_without_quality, caplog):
    app = csfindobs(datapath=str(store_without_quality), prodname=PROD, ra=CRAB[0],
                    dec=CRAB[1], rad=CRAB[2])
    with caplog.at_level("WARNING", logger="iactcopy"):
        app.run()
    assert app.runs() == CRAB_RUNS
    assert any("QUALITY" in record.getMessage() and record.levelname == "WARNING"
               for record in caplog.records)


# -- the expression --------------------------------------------------------------
def test_expression_with_or_does_not_escape_the_cone(hess_store, isolated, csfindobs_cmd):
    expression = "ZEN_PNT<10||ZEN_PNT>50"
    table = obs_table(hess_store / "obs-index.fits.gz")
    anywhere = (table["ZEN_PNT"] < 10) | (table["ZEN_PNT"] > 50)
    assert anywhere.sum() > 0, "the expression alone selects runs elsewhere on the sky"
    assert not (anywhere & in_cone(table, *CRAB)).any()
    result = csfindobs_cmd(*hess_args(hess_store, *CRAB, expression=expression))
    assert result.returncode == 0, result.stderr
    header, ids = read_list(isolated.work / "runlist.lis")
    assert ids == []
    assert header == [f"# csfindobs: ANGSEP(83.63,22.51,RA_PNT,DEC_PNT)<=2.5&&QUALITY<=0"
                      f"&&({expression})"]


def test_expression_without_sky_region(hess_store, isolated, csfindobs_cmd):
    result = csfindobs_cmd(*hess_args(hess_store, expression="ZEN_PNT < 30 && LIVETIME > 1600"))
    assert result.returncode == 0, result.stderr
    header, ids = read_list(isolated.work / "runlist.lis")
    assert ids == LOW_ZENITH_LONG_RUNS
    assert header == ["# csfindobs: QUALITY<=0&&(ZEN_PNT < 30 && LIVETIME > 1600)"]
    table = obs_table(hess_store / "obs-index.fits.gz")
    assert expected_ids(table, (table["ZEN_PNT"] < 30) & (table["LIVETIME"] > 1600)
                        & (table["QUALITY"] <= 0)) == LOW_ZENITH_LONG_RUNS


def test_expression_with_quoted_string_and_dashed_column(hess_store):
    app = csfindobs(datapath=str(hess_store), prodname=PROD, ra="NONE",
                    expression='OBJECT == "Crab Nebula" && $DATE-OBS$ < "2005-01-01"')
    app.run()
    table = obs_table(hess_store / "obs-index.fits.gz")
    assert app.runs() == expected_ids(table, (table["OBJECT"] == "Crab Nebula")
                                      & (table["DATE-OBS"] < "2005-01-01")
                                      & (table["QUALITY"] <= 0))
    assert app.runs()


@pytest.mark.parametrize("expression, reason", [
    ("ZEN_PNT <<< 30", "syntax error"),
    ("NO_SUCH_COLUMN > 3", "NO_SUCH_COLUMN"),
    # Balanced only once bracketed: refused, as it would be on its own.
    ("T) || (T", "syntax error"),
])
def test_bad_expression_is_one_error_line_exit_2(hess_store, isolated, csfindobs_cmd,
                                                 expression, reason):
    result = csfindobs_cmd(*hess_args(hess_store, *CRAB, expression=expression))
    line = assert_one_error_line(result, 2, reason, repr(expression))
    assert not (isolated.work / "runlist.lis").exists()
    log = (isolated.work / "csfindobs.log").read_text(encoding="utf-8")
    assert any(entry.endswith(f": {line}") for entry in log.splitlines()), log


def test_bad_expression_from_python_raises_value_error(hess_store):
    app = csfindobs(datapath=str(hess_store), prodname=PROD, ra="NONE", expression="ZEN_PNT >")
    with pytest.raises(ValueError, match="syntax error") as info:
        app.run()
    assert isinstance(info.value, ParameterError)
    assert "\n" not in str(info.value)


# -- the run list ----------------------------------------------------------------
def test_no_match_writes_an_empty_list_and_exits_0(hess_store, isolated, csfindobs_cmd):
    result = csfindobs_cmd(*hess_args(hess_store, 0.0, 89.0, 1.0))
    assert result.returncode == 0, result.stderr
    header, ids = read_list(isolated.work / "runlist.lis")
    assert (len(header), ids) == (1, [])
    log = (isolated.work / "csfindobs.log").read_text(encoding="utf-8")
    assert log_value(log, "Observations") == "0"


def test_clobber_no_keeps_an_existing_run_list_and_exits_1(hess_store, isolated,
                                                           csfindobs_cmd):
    existing = isolated.work / "runlist.lis"
    existing.write_text("# kept\n15000\n", encoding="utf-8")
    os.utime(existing, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = existing.stat()
    result = csfindobs_cmd(*hess_args(hess_store, *CRAB, clobber="no"))
    assert_one_error_line(result, 1, '"runlist.lis" exists already', "clobber=yes")
    assert existing.read_text(encoding="utf-8") == "# kept\n15000\n"
    assert existing.stat().st_mtime_ns == before.st_mtime_ns
    assert not (isolated.pfiles / "csfindobs.par").exists(), "a failed run learns nothing"


def test_clobber_yes_replaces_an_existing_run_list(hess_store, isolated, csfindobs_cmd):
    existing = isolated.work / "runlist.lis"
    existing.write_text("15000\n", encoding="utf-8")
    result = csfindobs_cmd(*hess_args(hess_store, *CRAB))
    assert result.returncode == 0, result.stderr
    assert read_list(existing)[1] == CRAB_RUNS


def test_run_list_feeds_csiactcopy(hess_store, isolated, csfindobs_cmd, tmp_path):
    runlist = tmp_path / "crab.lis"
    result = csfindobs_cmd(*hess_args(hess_store, *CRAB, outfile=str(runlist)))
    assert result.returncode == 0, result.stderr
    local = tmp_path / "local"
    copy = subprocess.run(
        [str(Path(sys.executable).parent / "csiactcopy"), f"remote_master={hess_store}/master.json",
         f"prodname={PROD}", f"outpath={local}", f"runlist={runlist}"],
        input="", text=True, capture_output=True, timeout=300)
    assert copy.returncode == 0, copy.stderr
    with fits.open(local / "obs-index.fits.gz") as hdul:
        obs_ids = sorted(int(i) for i in hdul["OBS_INDEX"].data["OBS_ID"])
    with fits.open(local / "hdu-index.fits.gz") as hdul:
        hdu_ids = {int(i) for i in hdul["HDU_INDEX"].data["OBS_ID"]}
    assert obs_ids == CRAB_RUNS
    assert hdu_ids == set(CRAB_RUNS)


# -- the sky region parameters ---------------------------------------------------
@pytest.mark.parametrize("region", [(83.63, "NONE", 2.5), (83.63, 22.51, "NONE")],
                         ids=["dec=NONE", "rad=NONE"])
def test_partial_sky_region_is_an_error(hess_store, isolated, csfindobs_cmd, region):
    result = csfindobs_cmd(*hess_args(hess_store, *region))
    assert_one_error_line(result, 2, "ra", "dec", "rad")
    assert not (isolated.work / "runlist.lis").exists()


def test_partial_sky_region_from_python_raises(hess_store):
    app = csfindobs(datapath=str(hess_store), prodname=PROD, ra=83.63, dec="NONE", rad=2.5)
    with pytest.raises(ParameterError, match="ra, dec and rad"):
        app.run()
    assert app.runs() == []


def test_ra_none_asks_for_no_dec_or_rad(hess_store, isolated, csfindobs_cmd):
    # mode stays "ql": dec and rad would be prompted (and meet end of input)
    # if ra=NONE did not end the sky-region questions, as it does in ctools.
    result = csfindobs_cmd(f"datapath={hess_store}", f"prodname={PROD}", "outfile=all.lis",
                           "ra=NONE")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    table = obs_table(hess_store / "obs-index.fits.gz")
    assert read_list(isolated.work / "all.lis")[1] == expected_ids(table,
                                                                  table["QUALITY"] <= 0)


def test_zero_radius_means_no_sky_cut(hess_store):
    app = csfindobs(datapath=str(hess_store), prodname=PROD, ra=83.63, dec=22.51, rad=0)
    app.run()
    assert len(app.runs()) == 105


# -- finding the store -----------------------------------------------------------
def test_unknown_production_lists_the_available_ones(hess_store, isolated, csfindobs_cmd):
    args = hess_args(hess_store, *CRAB)
    args[1] = "prodname=no_such_production"
    assert_one_error_line(csfindobs_cmd(*args), 1, '"no_such_production"', PROD)


def test_unknown_production_from_python(hess_store):
    app = csfindobs(datapath=str(hess_store), prodname="nope", ra="NONE")
    with pytest.raises(DataStoreError, match=PROD):
        app.run()


def test_datapath_none_uses_vhefits(hess_store, isolated, csfindobs_cmd, monkeypatch):
    monkeypatch.setenv("VHEFITS", str(hess_store))
    args = hess_args(hess_store, *CRAB)
    args[0] = "datapath=NONE"
    result = csfindobs_cmd(*args)
    assert result.returncode == 0, result.stderr
    assert read_list(isolated.work / "runlist.lis")[1] == CRAB_RUNS
    app = csfindobs(datapath="none", prodname=PROD, ra=CRAB[0], dec=CRAB[1], rad=CRAB[2])
    app.run()
    assert app.runs() == CRAB_RUNS


def test_missing_datapath_is_an_error(isolated, csfindobs_cmd, tmp_path):
    result = csfindobs_cmd(*hess_args(tmp_path / "nowhere", *CRAB))
    assert_one_error_line(result, 1, "master.json")


@pytest.mark.parametrize("change", ["no EXTNAME", "wrong EXTNAME", "no EXTNAME, no HDUCLAS"])
def test_unnamed_or_misnamed_obs_index_extension(make_store, isolated, csfindobs_cmd, change):
    store = make_store("renamed")

    def rename(hdul):
        header = hdul[1].header
        if change == "wrong EXTNAME":
            header["EXTNAME"] = "EVENTS"
        else:
            del header["EXTNAME"]
        if "HDUCLAS" in change:
            for keyword in ("HDUCLASS", "HDUCLAS1", "HDUCLAS2"):
                del header[keyword]

    edit_obs_index(store, rename)
    with fits.open(store / "obs-index.fits.gz") as hdul:
        assert hdul[1].name != "OBS_INDEX"
    result = csfindobs_cmd(*hess_args(store, *CRAB, expression="ZEN_PNT < 50"))
    assert result.returncode == 0, result.stderr
    assert read_list(isolated.work / "runlist.lis")[1] == CRAB_RUNS


# -- the Python API --------------------------------------------------------------
def test_python_run_returns_ints_and_writes_nothing_execute_writes(hess_store, isolated):
    app = csfindobs()
    assert app.runs() == []
    app["datapath"] = str(hess_store)
    app["prodname"] = PROD
    app["ra"], app["dec"], app["rad"] = CRAB
    app["outfile"] = "api.lis"
    app.run()
    runs = app.runs()
    assert runs == CRAB_RUNS
    assert all(type(obs_id) is int for obs_id in runs)
    assert sorted(os.listdir(isolated.work)) == [], "run() writes no file, not even a log"
    app.execute()
    assert read_list(isolated.work / "api.lis")[1] == CRAB_RUNS
    assert app.runs() == CRAB_RUNS


# -- the sky map -----------------------------------------------------------------
def test_plotfile_png_is_a_readable_image(hess_store, isolated, csfindobs_cmd):
    image = pytest.importorskip("matplotlib.image")
    result = csfindobs_cmd(*hess_args(hess_store, *CRAB, plotfile="map.png"))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    path = isolated.work / "map.png"
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 400
    assert pixels.std() > 0.05, "not a blank image"
    assert read_list(isolated.work / "runlist.lis")[1] == CRAB_RUNS


def test_plotfile_pdf_by_file_name(hess_store, isolated, csfindobs_cmd):
    pytest.importorskip("matplotlib")
    result = csfindobs_cmd(*hess_args(hess_store, expression="ZEN_PNT < 30",
                                      plotfile="map.pdf"))
    assert result.returncode == 0, result.stderr
    assert (isolated.work / "map.pdf").read_bytes()[:4] == b"%PDF"


def test_plotfile_with_unknown_format_is_a_parameter_error(hess_store, isolated,
                                                           csfindobs_cmd):
    pytest.importorskip("matplotlib")
    result = csfindobs_cmd(*hess_args(hess_store, *CRAB, plotfile="map.nosuchformat"))
    assert_one_error_line(result, 2, "plotfile", "map.nosuchformat")


def _aitoff_fraction(ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where (ra, dec) falls on a full-sky Aitoff map centred on RA 180, RA increasing to
    the left, as fractions (0..1) of the map's width and height (the textbook formulas)."""
    lon, lat = np.radians(180.0 - np.asarray(ra)), np.radians(np.asarray(dec))
    alpha = np.arccos(np.cos(lat) * np.cos(lon / 2))
    sinc = np.sinc(alpha / np.pi)
    x, y = 2 * np.cos(lat) * np.sin(lon / 2) / sinc, np.sin(lat) / sinc
    return 0.5 + x / (2 * np.pi), 0.5 + y / np.pi


def _sky_map(selected, cone):
    pytest.importorskip("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from iactcopy.tools.skymap import draw_pointings

    figure = draw_pointings(selected, cone, title="test")
    FigureCanvasAgg(figure).draw()
    sky = next(axes for axes in figure.axes if axes.name == "aitoff")
    return sky, [axes for axes in figure.axes if axes is not sky]


def test_sky_map_puts_the_crab_where_it_is(hess_store):
    cone = Cone(*CRAB)
    selected = select_observations(str(hess_store / "obs-index.fits.gz"), cone=cone,
                                   max_quality=0, expression=None)
    sky, (zoom,) = _sky_map(selected, cone)
    red = next(c for c in sky.collections if c.get_label().startswith("selected"))
    display = sky.transData.transform(red.get_offsets())
    # Where matplotlib draws the Crab runs, as fractions of the map, against the
    # textbook Aitoff projection of their pointings read with astropy.
    table = obs_table(hess_store / "obs-index.fits.gz")
    crab = np.isin(table["OBS_ID"], CRAB_RUNS)
    fraction = sky.transAxes.inverted().transform(display)
    expected_x, expected_y = _aitoff_fraction(table["RA_PNT"][crab], table["DEC_PNT"][crab])
    np.testing.assert_allclose(fraction[:, 0], expected_x, atol=1e-4)
    np.testing.assert_allclose(fraction[:, 1], expected_y, atol=1e-4)
    # Read back as a user would, from the RA tick labels and the latitude
    # (matplotlib does not invert the Aitoff projection: from the data coordinates).
    lon, lat = np.degrees(np.asarray(red.get_offsets()).T)
    ticks = np.degrees(sky.get_xticks())
    labels = [float(label.get_text().rstrip("°")) for label in sky.get_xticklabels()]
    ra = np.interp(lon, ticks, labels)
    np.testing.assert_allclose(ra.mean(), 83.6, atol=0.5)
    np.testing.assert_allclose(lat.mean(), 22.0, atol=0.5)
    # RA increases to the left: the labels fall from left to right, and PKS 2155-304
    # (RA 330) is drawn left of the Crab.
    assert np.all(np.diff(labels) < 0)
    grey = next(c for c in sky.collections if c.get_label().startswith("other"))
    others = sky.transData.transform(grey.get_offsets())
    pks = np.isin(table["OBS_ID"][~selected.chosen], [33787, 33788])
    assert others[pks, 0].max() < display[:, 0].min()
    # The zoomed panel shows the circle large, with RA increasing to the left.
    left, right = zoom.get_xlim()
    assert left > right
    circle = next(line for line in zoom.get_lines() if len(line.get_xdata()) > 10)
    points = SkyCoord(circle.get_xdata() * u.deg, circle.get_ydata() * u.deg)
    np.testing.assert_allclose(points.separation(SkyCoord(CRAB[0] * u.deg, CRAB[1] * u.deg)).deg,
                               CRAB[2], atol=1e-9)
    box = circle.get_window_extent()
    assert box.width > 0.4 * zoom.get_window_extent().width


def test_sky_map_circle_across_ra_0_is_not_drawn_across_the_map(hess_store):
    cone = Cone(1.0, -30.0, 10.0)
    selected = select_observations(str(hess_store / "obs-index.fits.gz"), cone=cone,
                                   max_quality=0, expression=None)
    sky, _ = _sky_map(selected, cone)
    (circle,) = sky.get_lines()
    lon = np.asarray(circle.get_xdata(), float)
    assert np.isnan(lon).any()
    steps = np.abs(np.diff(lon))
    assert np.nanmax(steps) < 0.1


def test_sky_map_without_a_cone_has_one_panel(hess_store):
    selected = select_observations(str(hess_store / "obs-index.fits.gz"), cone=None,
                                   max_quality=0, expression="ZEN_PNT < 30")
    sky, others = _sky_map(selected, None)
    assert others == []
    assert not sky.get_lines()
