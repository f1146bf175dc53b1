"""Checks of a local store that csiactcopy built, shared by the csiactcopy tests."""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
from pathlib import Path

from iactcopy.store.layout import RESERVED_NAMES

# The generated store of conftest.sim_master.
SIM_NAME, SIM_FIRST_ID, SIM_NOBS = "iactcopy-sim", 1000, 20
SIM_IDS = list(range(SIM_FIRST_ID, SIM_FIRST_ID + SIM_NOBS))


def read_tables(outpath: Path, master_name: str = "master.json", prodname: str = SIM_NAME):
    """The local HDU and OBS index of *prodname*, read with astropy by extension name."""
    from astropy.table import Table

    entry = production_entry(outpath / master_name, prodname)
    # mask_invalid=False: astropy would mask the empty FILE_DIR of "the index folder".
    hdu = Table.read(outpath / entry["hduindx"], hdu="HDU_INDEX", mask_invalid=False)
    obs = Table.read(outpath / entry["obsindx"], hdu="OBS_INDEX", mask_invalid=False)
    return hdu, obs


def production_entry(master: Path, prodname: str) -> dict:
    """The ``datasets`` entry of *prodname* in a master file (which must parse)."""
    with open(master, encoding="utf-8") as stream:
        document = json.load(stream)
    entries = [entry for entry in document["datasets"] if entry["name"] == prodname]
    assert len(entries) == 1, document
    return entries[0]


def obs_set(table) -> set[int]:
    return {int(obs_id) for obs_id in table["OBS_ID"]}


def assert_consistent(outpath: Path, remote: Path | None = None, *,
                      prodname: str = SIM_NAME):
    """Check that a local store is consistent; return its (HDU, OBS) tables.

    The master parses; every HDU row points to a file present locally (equal
    to the remote one when *remote* is given); the OBS index lists exactly
    the observations of the HDU index; no key appears twice; and the store
    holds no temporaries (``.part``) and no hidden file but the lock.
    """
    hdu, obs = read_tables(outpath, prodname=prodname)
    entry = production_entry(outpath / "master.json", prodname)
    index_dir = outpath / os.path.dirname(entry["hduindx"])
    for row in hdu:
        relpath = os.path.join(row["FILE_DIR"].strip(), row["FILE_NAME"].strip())
        local = index_dir / relpath
        assert local.is_file(), f"HDU row of {row['OBS_ID']} points to missing {local}"
        if remote is not None:
            assert filecmp.cmp(local, remote / relpath, shallow=False), local
    assert obs_set(hdu) == obs_set(obs)
    assert len(obs) == len(obs_set(obs)), "an OBS_ID appears twice"
    keys = {(int(r["OBS_ID"]), r["HDU_TYPE"].strip(), r["HDU_CLASS"].strip()) for r in hdu}
    assert len(keys) == len(hdu), "an HDU key appears twice"
    assert_clean(outpath)
    return hdu, obs


def assert_clean(outpath: Path) -> None:
    """No ``.part`` file and no hidden file but the lock and the stamp anywhere in *outpath*."""
    for folder, _, names in os.walk(outpath):
        for name in names:
            assert not name.endswith(".part"), f"temporary left: {folder}/{name}"
            assert not name.startswith(".") or name in RESERVED_NAMES, f"{folder}/{name}"


def write_runlist(path: Path, ids, header: str = "# run list\n") -> Path:
    path.write_text(header + "".join(f"{obs_id}\n" for obs_id in ids), encoding="utf-8")
    return path


def copy_args(master: Path, outpath: Path | str, *extra: str, prodname: str = SIM_NAME):
    return (f"remote_master={master}", f"prodname={prodname}", f"outpath={outpath}", *extra)


def ok(result: subprocess.CompletedProcess, status: int = 0) -> subprocess.CompletedProcess:
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def with_text_obs_ids(master: Path, spell) -> None:
    """Rewrite both index files of *master* with OBS_ID as text: ``spell(obs_id)`` of each row."""
    from astropy.io import fits

    for name in ("hdu-index.fits.gz", "obs-index.fits.gz"):
        path = master.parent / name
        with fits.open(path) as hdul:
            primary, table = hdul[0].copy(), hdul[1].copy()
        text = [spell(int(n)) for n in table.data["OBS_ID"]]
        columns = [fits.Column("OBS_ID", "12A", array=text)]
        columns += [column for column in table.columns if column.name != "OBS_ID"]
        fits.HDUList([primary, fits.BinTableHDU.from_columns(columns, header=table.header)]
                     ).writeto(path, overwrite=True)
