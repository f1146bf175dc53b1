"""Fixtures for the data-store tests: the H.E.S.S. DL3 DR1 store and small tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from iactcopy.store.index.tables import IndexTable
from iactcopy.testing.storegen import generate_store

# The folder "shared" beside the repository's own folder (CI clones both anywhere).
HESS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hess_dl3_dr1"

HDU_ROWS = (("aeff", "aeff_2d", "aeff"), ("bkg", "bkg_3d", "bkg"), ("edisp", "edisp_2d", "edisp"),
            ("events", "events", "events"), ("gti", "gti", "gti"), ("psf", "psf_table", "psf"))


@pytest.fixture(scope="session")
def hess_dir() -> Path:
    """The H.E.S.S. DL3 DR1 store; tests using it skip where it is absent."""
    if not (HESS_DIR / "hdu-index.fits.gz").is_file():
        pytest.skip(f"H.E.S.S. DL3 DR1 store not found in {HESS_DIR}")
    return HESS_DIR


@pytest.fixture(scope="session")
def sim_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated store of 60 observations with tiny data files; returns its master.json."""
    return Path(generate_store(tmp_path_factory.mktemp("sim"), 60, seed=3, first_id=5000))


def hdu_table(obs_ids, *, file_dir: str = "data", rows=HDU_ROWS, path=None,
              extra: dict | None = None) -> IndexTable:
    """An HDU index with one row per (observation, HDU) and H.E.S.S.-like columns."""
    obs_ids = np.asarray(obs_ids, dtype=np.int64)
    entries = np.array(rows)
    n = len(obs_ids) * len(entries)
    data = np.zeros(n, dtype=[("OBS_ID", ">i8"), ("HDU_TYPE", "U8"), ("HDU_CLASS", "U10"),
                              ("FILE_DIR", "U8"), ("FILE_NAME", "U40"), ("HDU_NAME", "U6"),
                              ("SIZE", ">i8")])
    data["OBS_ID"] = np.repeat(obs_ids, len(entries))
    data["HDU_TYPE"] = np.tile(entries[:, 0], len(obs_ids))
    data["HDU_CLASS"] = np.tile(entries[:, 1], len(obs_ids))
    data["HDU_NAME"] = np.tile(entries[:, 2], len(obs_ids))
    data["FILE_DIR"] = file_dir
    data["FILE_NAME"] = np.char.add(np.char.add("obs_", data["OBS_ID"].astype(str)), ".fits.gz")
    data["SIZE"] = 1000 + data["OBS_ID"]
    return IndexTable("HDU", data, path=path, column_keywords=extra)


def obs_table(obs_ids, *, columns=("OBS_ID", "RA_PNT", "DEC_PNT", "OBJECT"), path=None,
              header=()) -> IndexTable:
    """An OBS index whose RA_PNT is OBS_ID / 1000 and DEC_PNT is -OBS_ID / 1000."""
    obs_ids = np.asarray(obs_ids, dtype=np.int64)
    kinds = {"OBS_ID": ">i8", "RA_PNT": ">f4", "DEC_PNT": ">f8", "OBJECT": "U10",
             "QUALITY": ">i4"}
    data = np.zeros(len(obs_ids), dtype=[(name, kinds[name]) for name in columns])
    values = {"OBS_ID": obs_ids, "RA_PNT": obs_ids / 1000, "DEC_PNT": -obs_ids / 1000,
              "OBJECT": np.char.add("src", obs_ids.astype(str)), "QUALITY": obs_ids % 3}
    for name in columns:
        data[name] = values[name]
    return IndexTable("OBS", data, path=path, header=header,
                      column_keywords={"RA_PNT": {"TUNIT": "deg"}, "DEC_PNT": {"TUNIT": "deg"}})


@pytest.fixture
def make_hdu():
    """The :func:`hdu_table` builder."""
    return hdu_table


@pytest.fixture
def make_obs():
    """The :func:`obs_table` builder."""
    return obs_table
