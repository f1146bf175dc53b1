"""The synthetic store generator: layout, validity, determinism, sizes, command line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from iactcopy.store.index.tables import IndexTable, has_index_table, resolve_file_paths
from iactcopy.store.master import MasterIndex
from iactcopy.testing.storegen import CRAB, HDU_ENTRIES, generate_store, main


def test_layout_and_indexes(sim_store):
    folder = sim_store.parent
    master = MasterIndex.read(sim_store)
    production = master.production("iactcopy-sim")
    assert production.extras["Total observations"] == 60
    assert {"Total time", "Total events", "Disk usage", "Date created"} <= set(production.extras)
    assert has_index_table(production.hdu_index_path, "HDU")
    assert has_index_table(production.obs_index_path, "OBS")
    hdu = IndexTable.read(production.hdu_index_path, "HDU")
    obs = IndexTable.read(production.obs_index_path, "OBS")
    assert len(obs) == 60 and len(hdu) == 360
    assert list(obs.obs_ids) == list(range(5000, 5060))
    assert list(np.unique(hdu.obs_ids)) == list(obs.obs_ids)
    first = hdu.data[hdu.obs_ids == 5000]
    assert [tuple(row) for row in first[["HDU_TYPE", "HDU_CLASS", "HDU_NAME"]]] == \
        [tuple(entry) for entry in HDU_ENTRIES]
    paths, unsafe = resolve_file_paths(hdu)
    assert not unsafe.any() and paths[0] == "data/iactcopy-sim_obs_005000.fits.gz"
    distinct = np.unique(paths)
    assert len(distinct) == 60
    assert sorted(os.listdir(folder / "data")) == [p.split("/")[1] for p in distinct]
    sizes = {p: s for p, s in zip(paths, hdu.data["SIZE"])}
    assert all(os.path.getsize(folder / p) == sizes[p] for p in distinct)
    for name in ("OBS_ID", "RA_PNT", "DEC_PNT", "GLON_PNT", "GLAT_PNT", "ZEN_PNT", "ALT_PNT",
                 "AZ_PNT", "ONTIME", "LIVETIME", "DEADC", "TSTART", "TSTOP", "N_TELS",
                 "TELLIST", "QUALITY", "OBJECT"):
        assert name in obs.columns
    keywords = {record["name"]: record["value"] for record in obs.header}
    assert {"MJDREFI", "MJDREFF", "TIMEUNIT", "TIMESYS"} <= set(keywords)
    assert obs.units["RA_PNT"] == "deg" and obs.units["LIVETIME"] == "s"


def test_pointings_cluster_around_the_crab(sim_store):
    obs = IndexTable.read(sim_store.parent / "obs-index.fits.gz", "OBS").data
    ra, dec = np.radians(obs["RA_PNT"]), np.radians(obs["DEC_PNT"])
    crab_ra, crab_dec = np.radians(CRAB)
    cos_sep = (np.sin(dec) * np.sin(crab_dec)
               + np.cos(dec) * np.cos(crab_dec) * np.cos(ra - crab_ra))
    near = np.degrees(np.arccos(np.clip(cos_sep, -1, 1))) <= 2.5
    assert 5 <= near.sum() <= 25
    assert set(obs["OBJECT"][near]) == {"Crab Nebula"}
    assert np.all(obs["ZEN_PNT"] + obs["ALT_PNT"] == pytest.approx(90.0))
    assert np.all(obs["LIVETIME"] <= obs["ONTIME"]) and np.all(obs["TSTOP"] > obs["TSTART"])
    # A Galactic-plane check on known points: the Crab is at l=184.56, b=-5.78.
    crab = obs[near][0]
    assert abs(crab["GLAT_PNT"] + 5.8) < 2 and abs(crab["GLON_PNT"] - 184.6) < 2


def test_data_files_read_with_astropy(sim_store):
    fits = pytest.importorskip("astropy.io.fits")
    path = sim_store.parent / "data" / "iactcopy-sim_obs_005007.fits.gz"
    with fits.open(path) as hdus:
        hdus.verify("exception")
        assert [hdu.name for hdu in hdus] == ["PRIMARY", "EVENTS", "GTI", "AEFF", "EDISP",
                                              "PSF", "BKG"]
        events = hdus["EVENTS"]
        assert events.header["OBS_ID"] == 5007 and events.header["HDUCLAS1"] == "EVENTS"
        assert events.columns.names == ["EVENT_ID", "TIME", "RA", "DEC", "ENERGY"]
        assert len(events.data) == 100
        start, stop = hdus["GTI"].data[0]
        assert np.all((events.data["TIME"] >= start) & (events.data["TIME"] <= stop))
        assert hdus["AEFF"].header["HDUCLAS4"] == "AEFF_2D"
        assert hdus["BKG"].data["BKG"].shape[1:] == (6, 6, 8)
    with fits.open(sim_store.parent / "hdu-index.fits.gz") as hdus:
        hdus.verify("exception")
        assert len(hdus["HDU_INDEX"].data) == 360


def test_same_seed_same_store(tmp_path):
    one = generate_store(tmp_path / "one", 4, seed=7, index_only=True)
    two = generate_store(tmp_path / "two", 4, seed=7, index_only=True)
    three = generate_store(tmp_path / "three", 4, seed=8, index_only=True)
    tables = [IndexTable.read(os.path.join(os.path.dirname(m), "obs-index.fits.gz"), "OBS")
              for m in (one, two, three)]
    assert tables[0].data.tobytes() == tables[1].data.tobytes()
    assert tables[0].data.tobytes() != tables[2].data.tobytes()


def test_data_files_do_not_depend_on_jobs(tmp_path):
    serial = generate_store(tmp_path / "serial", 3, compress=False)
    parallel = generate_store(tmp_path / "parallel", 3, compress=False, jobs=2)
    for name in sorted(os.listdir(tmp_path / "serial" / "data")):
        assert (tmp_path / "serial" / "data" / name).read_bytes() == \
            (tmp_path / "parallel" / "data" / name).read_bytes()
    assert os.path.basename(serial) == os.path.basename(parallel) == "master.json"


@pytest.mark.parametrize("compress", [True, False])
def test_file_size_is_approximate(tmp_path, compress):
    generate_store(tmp_path, 2, file_size=400_000, compress=compress, name="big")
    names = os.listdir(tmp_path / "data")
    assert all(name.endswith(".fits.gz" if compress else ".fits") for name in names)
    for name in names:
        assert 0.8 * 400_000 < os.path.getsize(tmp_path / "data" / name) < 1.2 * 400_000


def test_index_only_with_many_observations(tmp_path):
    master = generate_store(tmp_path, 5000, index_only=True, first_id=1)
    assert not (tmp_path / "data").exists()
    hdu = IndexTable.read(tmp_path / "hdu-index.fits.gz", "HDU")
    assert len(hdu) == 30_000 and hdu.obs_ids[-1] == 5000
    entry = json.loads(Path(master).read_text())["datasets"][0]
    assert entry["Disk usage"] == "none (index only)"


def test_regenerating_replaces_only_its_own_entry(tmp_path):
    master = generate_store(tmp_path, 2, name="a", index_only=True)
    other = {"name": "other", "hduindx": "o/hdu.fits", "obsindx": "o/obs.fits"}
    MasterIndex.read(master).with_production(other).write()
    generate_store(tmp_path, 3, name="a", index_only=True, seed=1)
    again = MasterIndex.read(master)
    assert again.names() == ["a", "other"]
    assert again.production("a").extras["Total observations"] == 3


@pytest.mark.parametrize("kwargs, message", [
    ({"nobs": 0}, "nobs must be at least 1"),
    ({"nobs": 1, "file_size": -1}, "file_size"),
    ({"nobs": 1, "first_id": -5}, "first_id"),
    ({"nobs": 1, "jobs": 0}, "jobs"),
])
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_store(tmp_path, **kwargs)


def test_command_line(tmp_path, capsys):
    assert main([str(tmp_path / "s"), "--nobs", "3", "--name", "cli", "--no-compress",
                 "--first-id", "42", "--seed", "2", "--jobs", "1"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "s" / "master.json")
    assert sorted(os.listdir(tmp_path / "s" / "data")) == [
        "cli_obs_000042.fits", "cli_obs_000043.fits", "cli_obs_000044.fits"]
    assert main([str(tmp_path / "i"), "--nobs", "10", "--index-only"]) == 0
    assert sorted(os.listdir(tmp_path / "i")) == ["hdu-index.fits.gz", "master.json",
                                                  "obs-index.fits.gz"]
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "x"), "--nobs", "0"])
    assert exit_info.value.code == 2
