"""The copy is the remote: gammapy reads the same tables, column kinds and observations.

Each test reads the remote store and its local copy with gammapy (the library
most IACT analysts use) and compares what it gets: the index tables (columns,
their dtypes, units, whether gammapy sees them as masked, values, header
keywords) and the observations it loads.  Full copies are also compared FITS
card by card (astropy's FITSDiff).  Stores are the H.E.S.S. DL3 DR1 release
(skipped when absent), the generated store, a store that gammapy itself
wrote, a store with one HDU table per event type, one with text OBS_IDs, and
two productions in one folder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from copychecks import (
    SIM_IDS,
    SIM_NAME,
    copy_args,
    ok,
    production_entry,
    with_text_obs_ids,
    write_runlist,
)

gammapy_data = pytest.importorskip("gammapy.data", reason="gammapy is in the test extra")

HESS_NAME = "hess_dl3_dr1"
CRAB_RUNS = [23523, 23526, 23559, 23592]
HDU_INDEX, OBS_INDEX = "hdu-index.fits.gz", "obs-index.fits.gz"


# -- what gammapy sees ------------------------------------------------------------------------
def gammapy_store(folder: Path):
    return gammapy_data.DataStore.from_dir(folder, HDU_INDEX, OBS_INDEX)


def assert_same_table(mine, theirs, what: str) -> None:
    """Columns, their kind (masked or not), dtype, unit and values, and the header keywords."""
    assert mine.colnames == theirs.colnames, what
    for name in theirs.colnames:
        # astropy masks a float column that holds a NaN anywhere, so a subset's kind may
        # differ for floats; an integer column is masked only by a TNULL in the file.
        if theirs[name].dtype.kind in "iu":
            assert type(mine[name]) is type(theirs[name]), f"{what} {name}: masked in one only"
        np.testing.assert_array_equal(np.ma.getmaskarray(mine[name]),
                                      np.ma.getmaskarray(theirs[name]), err_msg=what)
        assert mine[name].dtype == theirs[name].dtype, f"{what} {name}"
        assert mine[name].unit == theirs[name].unit, f"{what} {name}"
        np.testing.assert_array_equal(np.asarray(mine[name]), np.asarray(theirs[name]),
                                      err_msg=f"{what} {name}")
    # gammapy puts the folder it read the table from into BASE_DIR, whatever the file says.
    assert without_base_dir(mine.meta) == without_base_dir(theirs.meta), what


def without_base_dir(meta) -> dict:
    return {key: value for key, value in meta.items() if key != "BASE_DIR"}


def rows_of(table, obs_ids):
    return table[np.isin(np.asarray(table["OBS_ID"]), obs_ids)]


def assert_same_observations(local: Path, remote: Path, obs_ids) -> None:
    """gammapy loads each observation alike: events, GTI and IRFs."""
    mine, theirs = gammapy_store(local), gammapy_store(remote)
    for ours, remote_obs in zip(mine.get_observations(obs_ids), theirs.get_observations(obs_ids)):
        assert len(ours.events.table) == len(remote_obs.events.table) > 0
        assert ours.gti.time_sum == remote_obs.gti.time_sum
        assert ours.aeff.data.shape == remote_obs.aeff.data.shape


def assert_fits_identical(local: Path, remote: Path) -> None:
    from astropy.io.fits import FITSDiff

    difference = FITSDiff(str(local), str(remote))
    assert difference.identical, difference.report()


# -- full and run-list copies -----------------------------------------------------------------
def test_full_copy_of_hess_is_the_remote(hess_store, isolated, csiactcopy_cmd):
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(hess_store / "master.json", out, prodname=HESS_NAME)))
    for name in (HDU_INDEX, OBS_INDEX):
        assert_fits_identical(out / name, hess_store / name)
    mine, theirs = gammapy_store(out), gammapy_store(hess_store)
    assert_same_table(mine.hdu_table, theirs.hdu_table, "HDU index")
    assert_same_table(mine.obs_table, theirs.obs_table, "OBS index")
    assert_same_observations(out, hess_store, CRAB_RUNS)


def test_run_list_copy_keeps_the_remote_rows_formats_and_keywords(hess_store, isolated,
                                                                  csiactcopy_cmd):
    from astropy.io import fits

    out = isolated.work / "out"
    runlist = write_runlist(isolated.work / "crab.txt", CRAB_RUNS)
    ok(csiactcopy_cmd(*copy_args(hess_store / "master.json", out, f"runlist={runlist}",
                                 prodname=HESS_NAME)))
    mine, theirs = gammapy_store(out), gammapy_store(hess_store)
    assert_same_table(mine.obs_table, rows_of(theirs.obs_table, CRAB_RUNS), "OBS index")
    assert_same_table(mine.hdu_table, rows_of(theirs.hdu_table, CRAB_RUNS), "HDU index")
    assert_same_observations(out, hess_store, CRAB_RUNS)
    for name in (HDU_INDEX, OBS_INDEX):
        with fits.open(out / name) as local, fits.open(hess_store / name) as remote:
            assert local[0].header == remote[0].header, "the primary HDU is the remote's"
            for card, remote_card in zip(local[1].header.cards, remote[1].header.cards,
                                         strict=True):
                if card.keyword != "NAXIS2":
                    assert card.image == remote_card.image, "cards kept as written"


def test_run_list_copy_master_describes_the_copy(hess_store, isolated, csiactcopy_cmd):
    import fitsio

    out = isolated.work / "out"
    runlist = write_runlist(isolated.work / "crab.txt", CRAB_RUNS)
    ok(csiactcopy_cmd(*copy_args(hess_store / "master.json", out, f"runlist={runlist}",
                                 prodname=HESS_NAME)))
    entry = production_entry(out / "master.json", HESS_NAME)
    remote = production_entry(hess_store / "master.json", HESS_NAME)
    obs = fitsio.read(str(out / OBS_INDEX))
    size = sum(path.stat().st_size for path in (out / "data").iterdir())
    assert entry == {**remote, "Total observations": 4,
                     "Total time": f"{obs['ONTIME'].sum() / 3600:.1f} hours",
                     "Total events": int(obs["EVENT_COUNT"].sum()),
                     "Disk usage": f"{size / 1e6:.0f} MB"}
    assert entry["Date created"] == remote["Date created"], "other keys stay"


# -- gammapy-written stores -------------------------------------------------------------------
@pytest.fixture
def gammapy_written(hess_store, tmp_path) -> Path:
    """Two Crab runs written by gammapy's DataStore.copy_obs (absolute BASE_DIR), with a master."""
    folder = tmp_path / "stores" / "by-gammapy"
    folder.mkdir(parents=True)
    gammapy_store(hess_store).copy_obs(CRAB_RUNS[:2], folder)
    master = json.loads((hess_store / "master.json").read_text(encoding="utf-8"))
    (folder / "master.json").write_text(json.dumps(master), encoding="utf-8")
    return folder


def test_copy_of_a_gammapy_written_store(gammapy_written, isolated, csiactcopy_cmd):
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(gammapy_written / "master.json", out, prodname=HESS_NAME)))
    for name in (HDU_INDEX, OBS_INDEX):
        assert_fits_identical(out / name, gammapy_written / name)
    mine, theirs = gammapy_store(out), gammapy_store(gammapy_written)
    assert_same_table(mine.hdu_table, theirs.hdu_table, "HDU index")
    assert_same_table(mine.obs_table, theirs.obs_table, "OBS index")
    assert_same_observations(out, gammapy_written, CRAB_RUNS[:2])


def test_copy_into_a_gammapy_written_store_keeps_its_rows(gammapy_written, hess_store,
                                                          isolated, csiactcopy_cmd):
    out = isolated.work / "out"
    shutil.copytree(gammapy_written, out)
    (out / "master.json").unlink()  # as gammapy leaves it
    before = gammapy_store(out)
    runlist = write_runlist(isolated.work / "more.txt", CRAB_RUNS[2:])
    result = ok(csiactcopy_cmd(*copy_args(hess_store / "master.json", out, f"runlist={runlist}",
                                          prodname=HESS_NAME)))
    assert "left out" not in result.stderr
    after = gammapy_store(out)
    assert sorted(after.obs_table["OBS_ID"]) == CRAB_RUNS
    assert_same_table(rows_of(after.hdu_table, CRAB_RUNS[:2]), before.hdu_table, "kept rows")
    assert_same_observations(out, hess_store, CRAB_RUNS)


# -- an HDU index with one table per event type -----------------------------------------------
def multi_table_store(master: Path, missing: int) -> None:
    """Three unnamed HDU tables (EV_TYPE 0, 1, 2); in the last, observation *missing* names
    a file the store lacks."""
    from astropy.io import fits

    path = master.parent / HDU_INDEX
    with fits.open(path) as hdul:
        primary, base = hdul[0].copy(), hdul[1].copy()
    tables = []
    for ev_type in range(3):
        table = fits.BinTableHDU(data=base.data.copy(), header=base.header.copy())
        del table.header["EXTNAME"]
        table.header["EV_TYPE"] = (ev_type, "event type of this table")
        tables.append(table)
    rows = tables[2].data["OBS_ID"] == missing
    tables[2].data["FILE_NAME"][rows] = "iactcopy-sim_obs_999999.fits.gz"
    fits.HDUList([primary, *tables]).writeto(path, overwrite=True)


def test_every_hdu_table_is_copied_and_merged_on_its_own(sim_copy, isolated, csiactcopy_cmd):
    from gammapy.data import HDUIndexTable

    master = sim_copy()
    missing = SIM_IDS[3]
    multi_table_store(master, missing)
    out = isolated.work / "out"
    result = ok(csiactcopy_cmd(*copy_args(master, out)), 3)
    assert "iactcopy-sim_obs_999999.fits.gz" in result.stderr
    for number in (1, 2, 3):
        mine = HDUIndexTable.read(out / HDU_INDEX, hdu=number)
        theirs = HDUIndexTable.read(master.parent / HDU_INDEX, hdu=number)
        if number == 3:
            theirs = theirs[theirs["OBS_ID"] != missing]
        assert_same_table(mine, theirs, f"HDU table {number}")
        assert mine.meta["EV_TYPE"] == number - 1
    obs = gammapy_store(out).obs_table
    assert missing in obs["OBS_ID"], "the OBS index lists what any table holds"
    # A second run list merges each table with its own rows.
    runlist = write_runlist(isolated.work / "again.txt", SIM_IDS[:5])
    ok(csiactcopy_cmd(*copy_args(master, out, f"runlist={runlist}")), 3)
    assert len(HDUIndexTable.read(out / HDU_INDEX, hdu=3)) == 6 * (len(SIM_IDS) - 1)


def test_text_obs_ids_are_copied(sim_copy, isolated, csiactcopy_cmd):
    """HAWC's stores have text OBS_IDs, which gammapy reads: the copy is the remote."""
    master = sim_copy()
    with_text_obs_ids(master, lambda n: f"run{n}")
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(master, out)))
    for name in (HDU_INDEX, OBS_INDEX):
        assert_fits_identical(out / name, master.parent / name)
    assert_same_table(gammapy_store(out).obs_table, gammapy_store(master.parent).obs_table,
                      "OBS index")


def test_misnamed_index_extension_is_kept(sim_copy, isolated, csiactcopy_cmd):
    """MAGIC's rad_max store names its HDU index OBS_INDEX: the copy does not correct it."""
    from astropy.io import fits

    master = sim_copy()
    path = master.parent / HDU_INDEX
    with fits.open(path) as hdul:
        hdul[1].header["EXTNAME"] = "OBS_INDEX"
        for keyword in ("HDUCLAS1", "HDUCLAS2"):
            hdul[1].header.remove(keyword, ignore_missing=True)
        hdul.writeto(isolated.work / "renamed.fits.gz")
    shutil.move(isolated.work / "renamed.fits.gz", path)
    out = isolated.work / "out"
    runlist = write_runlist(isolated.work / "some.txt", SIM_IDS[:3])
    ok(csiactcopy_cmd(*copy_args(master, out, f"runlist={runlist}")))
    with fits.open(out / HDU_INDEX) as hdul:
        assert hdul[1].header["EXTNAME"] == "OBS_INDEX" and "HDUCLAS1" not in hdul[1].header
    ok(csiactcopy_cmd(*copy_args(master, out)))
    assert_fits_identical(out / HDU_INDEX, path)


# -- two productions in one folder ------------------------------------------------------------
def test_a_second_production_with_the_same_index_files_is_refused(sim_copy, isolated,
                                                                  csiactcopy_cmd):
    first, second = sim_copy("first"), sim_copy("second")
    document = json.loads(second.read_text(encoding="utf-8"))
    document["datasets"][0]["name"] = "other-production"
    second.write_text(json.dumps(document), encoding="utf-8")
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(first, out)))
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    result = csiactcopy_cmd(*copy_args(second, out, prodname="other-production"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("*** ERROR: ")
    assert f'is that of production "{SIM_NAME}"' in lines[0]
    after = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    assert {path: data for path, data in after.items() if path.name != ".iactcopy.lock"} == \
        {path: data for path, data in before.items() if path.name != ".iactcopy.lock"}
