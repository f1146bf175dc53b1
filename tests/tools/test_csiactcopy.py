"""csiactcopy from the command line and from Python (docs/tools/csiactcopy.rst).

Most tests run the installed console script in a subprocess, so that exit
statuses, prompts and stderr are the real ones, and look at what a user
would look at: the files in ``outpath``, the local index tables (read with
astropy, as gammapy reads them), the local ``master.json`` and the log.
The generated store (20 tiny observations, IDs 1000-1019) is the work
horse; the H.E.S.S. DL3 DR1 tests skip where that store is absent.
Process-level behaviour (SIGKILL, two runs at once) is in
``test_csiactcopy_concurrency.py``.
"""

from __future__ import annotations

import fcntl
import filecmp
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from copychecks import (
    SIM_IDS,
    SIM_NAME,
    SIM_NOBS,
    assert_clean,
    assert_consistent,
    copy_args,
    obs_set,
    ok,
    production_entry,
    write_runlist,
)

from iactcopy.store.index.tables import IndexTable
from iactcopy.tools.csiactcopy import csiactcopy

HESS_NAME = "hess_dl3_dr1"
R1 = SIM_IDS[:5]
R2 = SIM_IDS[5:9]
HDU_COLUMNS = ("OBS_ID", "HDU_TYPE", "HDU_CLASS", "FILE_DIR", "FILE_NAME", "HDU_NAME")
PROMPTS = ("Location of remote master file [{}] ",
           "Name of FITS production to download [{}] ",
           "Destination path of FITS data [{}] ")

_LOG_LINE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}: (.*)")
_VALUE_LINE = re.compile(r" (\S.*?) \.*: (.*)")


# -- helpers ---------------------------------------------------------------------------
def log_lines(path: str | Path = "csiactcopy.log") -> list[str]:
    """The lines of a log without their time-stamp prefix."""
    lines = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        match = _LOG_LINE.fullmatch(line)
        assert match, f"log line without prefix: {line!r}"
        lines.append(match.group(1))
    return lines


def values(lines: list[str], label: str) -> list[str]:
    """The values of the ``value`` lines with *label*, in log order."""
    found = []
    for line in lines:
        match = _VALUE_LINE.fullmatch(line)
        if match and match.group(1) == label:
            found.append(match.group(2))
    return found


def value(lines: list[str], label: str) -> str:
    """The value of the one ``value`` line with *label*."""
    found = values(lines, label)
    assert len(found) == 1, f"{label!r}: {found} in\n" + "\n".join(lines)
    return found[0]


def section(lines: list[str], start: str, end: str | None = None) -> list[str]:
    """The lines after the line *start* up to the line *end* (or the next ``===`` line)."""
    first = lines.index(start) + 1
    for number in range(first, len(lines)):
        if lines[number] == end or (end is None and lines[number].startswith("=== ")):
            return lines[first:number]
    return lines[first:]


def merge_log(lines: list[str], title: str) -> dict[str, int]:
    """The counts of the ``=== HDU index ===`` or ``=== OBS index ===`` merge section."""
    part = section(lines, f"=== {title} ===")
    labels = ("Remote entries", "Local entries", "Removed local rows", "Skipped remote rows")
    return {label: int(found[0]) for label in labels if (found := values(part, label))}


def summary(lines: list[str]) -> dict[str, str]:
    """The value lines of the Summary section."""
    part = lines[lines.index("| Summary |"):]
    return {match.group(1): match.group(2) for line in part
            if (match := _VALUE_LINE.fullmatch(line))}


def assert_in_order(lines: list[str], expected: list[str]) -> None:
    """Each of *expected* occurs as a whole line, in that order."""
    position = 0
    for item in expected:
        assert item in lines[position:], f"{item!r} missing (after line {position}) in\n" + \
            "\n".join(lines)
        position = lines.index(item, position) + 1


def data_files(folder: Path) -> list[str]:
    return sorted(path.name for path in (folder / "data").iterdir()) \
        if (folder / "data").is_dir() else []


def error_line(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """stderr is one ``*** ERROR: ...`` line holding *fragments*; return it."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("*** ERROR")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def rewrite_hdu_index(path: Path, change) -> None:
    """Rewrite an HDU index file after ``change(data)`` edits its rows in place.

    FILE_DIR and FILE_NAME are widened first, so that long hostile values fit.
    """
    table = IndexTable.read(path, "HDU")
    dtype = [(name, "U200" if name in ("FILE_DIR", "FILE_NAME") else table.data.dtype[name])
             for name in table.columns]
    data = table.data.astype(dtype)
    change(data)
    IndexTable("HDU", data, header=table.header, column_keywords=table.column_keywords
               ).write(path)


def snapshot(root: Path, *, skip: tuple[Path, ...]) -> dict[str, tuple[int, int] | None]:
    """(size, mtime_ns) of every file below *root* (None for a folder), except *skip*."""
    found: dict[str, tuple[int, int] | None] = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if Path(folder, d) not in skip]
        found[folder] = None
        for name in names:
            path = Path(folder, name)
            if path not in skip:
                st = path.lstat()
                found[str(path)] = (st.st_size, st.st_mtime_ns)
    return found


# -- the H.E.S.S. DL3 DR1 store ----------------------------------------------------------
def test_full_copy_of_hess_dl3_dr1(hess_store, isolated, csiactcopy_cmd):
    out = isolated.work / "hess"
    ok(csiactcopy_cmd(*copy_args(hess_store / "master.json", out, prodname=HESS_NAME)))

    remote_files = sorted(path.name for path in (hess_store / "data").iterdir())
    assert len(remote_files) == 105
    assert data_files(out) == remote_files
    match, mismatch, errors = filecmp.cmpfiles(hess_store / "data", out / "data",
                                               remote_files, shallow=False)
    assert (len(match), mismatch, errors) == (105, [], [])
    assert filecmp.cmp(hess_store / "README.txt", out / "README.txt", shallow=False)

    # Read as gammapy does: astropy, the extension by name, then a data HDU by HDU_NAME.
    from astropy.io import fits
    from astropy.table import Table

    with fits.open(out / "hdu-index.fits.gz") as hdul:
        assert hdul[1].header["EXTNAME"] == "HDU_INDEX"
        assert hdul[1].header["HDUCLAS2"] == "HDU"
    with fits.open(out / "obs-index.fits.gz") as hdul:
        header = hdul[1].header
        assert header["EXTNAME"] == "OBS_INDEX"
        assert (header["MJDREFI"], header["TIMESYS"], header["TIMEUNIT"]) == (51910, "TT", "s")
    hdu, obs = assert_consistent(out, hess_store, prodname=HESS_NAME)
    remote_hdu = Table.read(hess_store / "hdu-index.fits.gz", hdu="HDU_INDEX")
    remote_obs = Table.read(hess_store / "obs-index.fits.gz", hdu="OBS_INDEX")
    assert (len(hdu), len(obs)) == (630, 105)
    assert set(HDU_COLUMNS) <= set(hdu.colnames)
    assert hdu.colnames == remote_hdu.colnames and obs.colnames == remote_obs.colnames
    for local, remote, keys in ((hdu, remote_hdu, ["OBS_ID", "HDU_TYPE"]),
                                (obs, remote_obs, ["OBS_ID"])):
        local.sort(keys)
        remote.sort(keys)
        for name in remote.colnames:
            mine, theirs = np.asarray(local[name]), np.asarray(remote[name])
            assert np.array_equal(mine, theirs, equal_nan=mine.dtype.kind == "f"), name
    assert obs["RA_PNT"].unit == remote_obs["RA_PNT"].unit
    first = hdu[hdu["HDU_TYPE"] == "events"][0]
    with fits.open(out / first["FILE_DIR"] / first["FILE_NAME"]) as hdul:
        assert len(hdul[first["HDU_NAME"]].data) > 0

    entry = production_entry(out / "master.json", HESS_NAME)
    remote_entry = production_entry(hess_store / "master.json", HESS_NAME)
    # The totals describe the copy (recomputed from its indexes and files); the rest is the
    # remote's.
    totals = {"Total observations": 105, "Total time": "48.6 hours",
              "Total events": 1046156, "Disk usage": "62 MB"}
    assert entry == {**remote_entry, **totals}

    lines = log_lines()
    counts = summary(lines)
    assert counts["Data files copied"] == counts["Data files found"] == "105"
    assert counts["Documentation files"] == "README.txt"
    assert (counts["Files missing"], counts["Files refused"]) == ("0", "0")

    # A second run finds everything up to date and copies nothing.
    index_times = [(out / name).stat().st_mtime_ns for name in
                   ("hdu-index.fits.gz", "obs-index.fits.gz", "master.json")]
    ok(csiactcopy_cmd(*copy_args(hess_store / "master.json", out, prodname=HESS_NAME)))
    counts = summary(log_lines())
    assert (counts["Data files copied"], counts["Files up to date"]) == ("0", "105")
    assert index_times == [(out / name).stat().st_mtime_ns for name in
                           ("hdu-index.fits.gz", "obs-index.fits.gz", "master.json")]


def test_tutorial_replayed_with_answers_on_stdin(hess_store, isolated, csiactcopy_cmd):
    master = hess_store / "master.json"
    result = ok(csiactcopy_cmd(input=f"{master}\n{HESS_NAME}\ndata\n"))
    defaults = ("/path/to/mountpoint/master.json", "iact-fits", "/path/to/local/fits/data/")
    prompts = [prompt.format(default) for prompt, default in zip(PROMPTS, defaults)]
    positions = [result.stdout.find(prompt) for prompt in prompts]
    assert -1 not in positions and positions == sorted(positions), result.stdout
    assert len(data_files(isolated.work / "data")) == 105
    assert_consistent(isolated.work / "data", prodname=HESS_NAME)

    # The subset of the tutorial, into the learned outpath made fresh again.
    write_runlist(isolated.work / "runlist.txt", [20136, 20137, 20151], header="")
    learned = [prompt.format(default) for prompt, default in
               zip(PROMPTS, (master, HESS_NAME, "data"))]
    for stdin in ({"input": "\n\n\n"}, {"input": None, "stdin": subprocess.DEVNULL}):
        shutil.rmtree(isolated.work / "data")
        result = ok(csiactcopy_cmd("runlist=runlist.txt", **stdin))
        positions = [result.stdout.find(prompt) for prompt in learned]
        assert -1 not in positions and positions == sorted(positions), result.stdout
        out = isolated.work / "data"
        assert data_files(out) == [f"hess_dl3_dr1_obs_id_0{obs_id}.fits.gz"
                                   for obs_id in (20136, 20137, 20151)]
        hdu, obs = assert_consistent(out, hess_store, prodname=HESS_NAME)
        assert (len(hdu), obs_set(obs)) == (18, {20136, 20137, 20151})
        assert summary(log_lines())["Data files copied"] == "3"  # README.txt apart


def test_run_list_of_50_hess_ids_gives_300_hdu_rows(hess_store, isolated, csiactcopy_cmd):
    """In ctools 50 IDs pulled in the whole index (docs/differences.rst, "Index merge")."""
    from astropy.table import Table

    ids = sorted(int(i) for i in Table.read(hess_store / "obs-index.fits.gz")["OBS_ID"])[:50]
    write_runlist(isolated.work / "fifty.txt", ids)
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(hess_store / "master.json", out, "runlist=fifty.txt",
                                 prodname=HESS_NAME)))
    hdu, obs = assert_consistent(out, hess_store, prodname=HESS_NAME)
    assert (len(hdu), len(obs)) == (300, 50)
    assert obs_set(obs) == set(ids)
    assert len(data_files(out)) == 50


# -- run lists on the generated store --------------------------------------------------
def test_run_lists_merge_as_tools_md_5_3(sim_master, isolated, csiactcopy_cmd):
    """R1, then R2, then R2 again with clobber=yes and clobber=no.

    docs/differences.rst, "Index merge".
    """
    out = isolated.work / "out"
    write_runlist(isolated.work / "r1.txt", R1)
    write_runlist(isolated.work / "r2.txt", R2)

    ok(csiactcopy_cmd(*copy_args(sim_master, out, "runlist=r1.txt")))
    lines = log_lines()
    assert merge_log(lines, "HDU index") == {"Remote entries": 30, "Local entries": 0,
                                             "Removed local rows": 0}
    assert merge_log(lines, "OBS index") == {"Remote entries": 5, "Local entries": 0,
                                             "Removed local rows": 0}
    hdu, obs = assert_consistent(out, sim_master.parent)
    assert (len(hdu), obs_set(hdu), obs_set(obs)) == (30, set(R1), set(R1))
    assert len(data_files(out)) == 5

    ok(csiactcopy_cmd(*copy_args(sim_master, out, "runlist=r2.txt")))
    lines = log_lines()
    assert merge_log(lines, "HDU index") == {"Remote entries": 24, "Local entries": 30,
                                             "Removed local rows": 0}
    assert merge_log(lines, "OBS index") == {"Remote entries": 4, "Local entries": 5,
                                             "Removed local rows": 0}
    assert summary(lines)["Data files copied"] == "4"
    hdu, obs = assert_consistent(out, sim_master.parent)
    assert (len(hdu), obs_set(obs)) == (54, set(R1 + R2))

    ok(csiactcopy_cmd(*copy_args(sim_master, out, "runlist=r2.txt", "clobber=yes")))
    lines = log_lines()
    assert merge_log(lines, "HDU index") == {"Remote entries": 24, "Local entries": 54,
                                             "Removed local rows": 24}
    assert merge_log(lines, "OBS index") == {"Remote entries": 4, "Local entries": 9,
                                             "Removed local rows": 4}
    assert summary(lines)["Data files copied"] == "0"
    hdu, obs = assert_consistent(out, sim_master.parent)
    assert (len(hdu), obs_set(obs)) == (54, set(R1 + R2))

    before = [(out / name).read_bytes() for name in ("hdu-index.fits.gz", "obs-index.fits.gz")]
    ok(csiactcopy_cmd(*copy_args(sim_master, out, "runlist=r2.txt", "clobber=no")))
    lines = log_lines()
    assert merge_log(lines, "HDU index") == {"Remote entries": 24, "Local entries": 54,
                                             "Skipped remote rows": 24}
    assert merge_log(lines, "OBS index") == {"Remote entries": 4, "Local entries": 9,
                                             "Skipped remote rows": 4}
    assert before == [(out / name).read_bytes()
                      for name in ("hdu-index.fits.gz", "obs-index.fits.gz")]
    assert len(data_files(out)) == 9


def test_rerun_copies_nothing_and_damaged_file_handling(sim_master, isolated, csiactcopy_cmd):
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(sim_master, out)))
    assert_consistent(out, sim_master.parent)
    ok(csiactcopy_cmd(*copy_args(sim_master, out)))
    lines = log_lines()
    counts = summary(lines)
    assert (counts["Data files copied"], counts["Files up to date"]) == ("0", str(SIM_NOBS))
    assert values(lines, f'Keeping "{SIM_NAME}"') == ["Available"]

    damaged = out / "data" / data_files(out)[3]
    original = sim_master.parent / "data" / damaged.name
    with open(damaged, "r+b") as stream:
        stream.truncate(damaged.stat().st_size // 2)
    result = ok(csiactcopy_cmd(*copy_args(sim_master, out, "clobber=no")))
    lines = log_lines()
    counts = summary(lines)
    assert (counts["Data files copied"], counts["Differing files kept"]) == ("0", "1")
    warnings = [line for line in lines if line.startswith("WARNING") and "clobber=yes" in line]
    assert warnings, "\n".join(lines)
    assert "clobber=yes" in result.stderr
    assert damaged.stat().st_size == original.stat().st_size // 2

    ok(csiactcopy_cmd(*copy_args(sim_master, out, "clobber=yes")))
    counts = summary(log_lines())
    assert (counts["Data files copied"], counts["Files up to date"],
            counts["Differing files kept"]) == ("1", str(SIM_NOBS - 1), "0")
    assert filecmp.cmp(damaged, original, shallow=False)
    assert_consistent(out, sim_master.parent)


def test_log_has_the_sections_of_tools_md_3_5(sim_master, isolated, csiactcopy_cmd):
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(sim_master, out)))
    lines = log_lines()
    assert_in_order(lines, [
        "| Parameters |",
        "| Set runlist |", "Copy all available data",
        "| Loop over remote configs |", f'=== Remote config "{SIM_NAME}" ===',
        "| File information |",
        "| Copying files |",
        "| Updating index files |", "=== HDU index ===", "=== OBS index ===",
        "=== Master index file ===",
        "| Summary |", "=== Content of master index ===", SIM_NAME,
    ])
    assert value(lines, "HDU index") == str(sim_master.parent / "hdu-index.fits.gz")
    assert value(lines, "Number of files") == str(SIM_NOBS)
    status = values(lines, "Status")
    assert status[0] == "0 %" and status[-2:] == ["100 %", "Finished"], status
    counts = summary(lines)
    for label, expected in (("Data files found", SIM_NOBS), ("Data files copied", SIM_NOBS),
                            ("Files up to date", 0), ("Differing files kept", 0),
                            ("Files missing", 0), ("Files refused", 0),
                            ("Local configs", 1)):
        assert counts[label] == str(expected), (label, counts)
    assert re.fullmatch(r"\d+\.\d\d MB", counts["Size"])


def test_full_copy_after_run_list_with_clobber_no_indexes_everything(
        sim_master, isolated, csiactcopy_cmd):
    """In ctools this left the index stale (docs/differences.rst, "Index merge")."""
    out = isolated.work / "out"
    write_runlist(isolated.work / "r1.txt", R1)
    ok(csiactcopy_cmd(*copy_args(sim_master, out, "runlist=r1.txt")))
    ok(csiactcopy_cmd(*copy_args(sim_master, out, "clobber=no")))
    hdu, obs = assert_consistent(out, sim_master.parent)
    assert obs_set(hdu) == obs_set(obs) == set(SIM_IDS)
    assert len(hdu) == 6 * SIM_NOBS


def test_hdu_rows_added_remotely_reach_a_local_observation_with_clobber_no(
        sim_copy, isolated, csiactcopy_cmd):
    """A background HDU added to the remote index later (as in H.E.S.S. DR1).

    ctools never added it with clobber=no (docs/differences.rst, "Index merge").
    """
    master = sim_copy()
    path = master.parent / "hdu-index.fits.gz"
    full = path.read_bytes()
    table = IndexTable.read(path, "HDU")
    table.select_rows(table.data["HDU_TYPE"] != "bkg").write(path)
    out = isolated.work / "out"
    write_runlist(isolated.work / "r1.txt", R1)
    ok(csiactcopy_cmd(*copy_args(master, out, "runlist=r1.txt")))
    hdu, _ = assert_consistent(out, master.parent)
    assert len(hdu) == 25 and "bkg" not in set(hdu["HDU_TYPE"])

    path.write_bytes(full)
    ok(csiactcopy_cmd(*copy_args(master, out, "runlist=r1.txt", "clobber=no")))
    assert merge_log(log_lines(), "HDU index")["Skipped remote rows"] == 25
    hdu, obs = assert_consistent(out, master.parent)
    assert (len(hdu), obs_set(obs)) == (30, set(R1))
    assert sum(hdu["HDU_TYPE"] == "bkg") == 5


def test_local_obs_index_that_lost_rows_is_made_consistent(sim_master, isolated,
                                                           csiactcopy_cmd):
    """An observation the local OBS index lacks leaves the HDU index too, named on stderr,
    exit status 3."""
    out = isolated.work / "out"
    write_runlist(isolated.work / "r1.txt", R1)
    write_runlist(isolated.work / "r2.txt", R2)
    ok(csiactcopy_cmd(*copy_args(sim_master, out, "runlist=r1.txt")))
    table = IndexTable.read(out / "obs-index.fits.gz", "OBS")
    table.select_rows(table.obs_ids != R1[0]).write(out / "obs-index.fits.gz")
    result = ok(csiactcopy_cmd(*copy_args(sim_master, out, "runlist=r2.txt")), 3)
    assert f"HDU index rows of observation(s) {R1[0]} have no row in the OBS index" in \
        result.stderr, "no row leaves a local index without a word"
    assert any(line.startswith("WARNING") and str(R1[0]) in line for line in log_lines())
    _, obs = assert_consistent(out, sim_master.parent)
    assert obs_set(obs) == set(R1[1:] + R2)


def test_swapped_local_columns_are_merged_by_name(sim_master, isolated, csiactcopy_cmd):
    """RA_PNT and DEC_PNT swapped in the local OBS index (docs/differences.rst, "Index merge")."""
    from astropy.io import fits
    from astropy.table import Table

    out = isolated.work / "out"
    write_runlist(isolated.work / "r1.txt", R1)
    write_runlist(isolated.work / "r2.txt", R2)
    ok(csiactcopy_cmd(*copy_args(sim_master, out, "runlist=r1.txt")))
    local = Table.read(out / "obs-index.fits.gz", hdu="OBS_INDEX")
    names = local.colnames
    ra, dec = names.index("RA_PNT"), names.index("DEC_PNT")
    names[ra], names[dec] = names[dec], names[ra]
    swapped = fits.table_to_hdu(local[names])
    swapped.name = "OBS_INDEX"
    fits.HDUList([fits.PrimaryHDU(), swapped]).writeto(out / "obs-index.fits.gz",
                                                       overwrite=True)

    ok(csiactcopy_cmd(*copy_args(sim_master, out, "runlist=r2.txt")))
    _, obs = assert_consistent(out, sim_master.parent)
    remote = Table.read(sim_master.parent / "obs-index.fits.gz", hdu="OBS_INDEX")
    assert obs_set(obs) == set(R1 + R2)
    by_id = {int(row["OBS_ID"]): row for row in remote}
    for row in obs:
        expected = by_id[int(row["OBS_ID"])]
        assert (row["RA_PNT"], row["DEC_PNT"]) == (expected["RA_PNT"], expected["DEC_PNT"])


def test_empty_run_list_copies_nothing_and_leaves_the_indexes(sim_master, isolated,
                                                              csiactcopy_cmd):
    """ctools copied the whole production (docs/differences.rst, "Run-list parsing")."""
    empty = write_runlist(isolated.work / "empty.txt", [], header="# no match\n  # none\n\n")
    fresh = isolated.work / "fresh"
    ok(csiactcopy_cmd(*copy_args(sim_master, fresh, f"runlist={empty}")))
    assert not fresh.exists()
    assert any("nothing is copied" in line for line in log_lines())

    out = isolated.work / "out"
    write_runlist(isolated.work / "r1.txt", R1)
    ok(csiactcopy_cmd(*copy_args(sim_master, out, "runlist=r1.txt")))
    before = snapshot(out, skip=())
    ok(csiactcopy_cmd(*copy_args(sim_master, out, f"runlist={empty}")))
    assert snapshot(out, skip=()) == before
    assert value(log_lines(), "Number of observations") == "0"


def test_run_list_id_absent_remotely_only_warns(sim_master, isolated, csiactcopy_cmd):
    """ctools crashed with a TypeError (docs/differences.rst, "Run-list parsing")."""
    write_runlist(isolated.work / "runs.txt", [1001, 99999, 1002])
    out = isolated.work / "out"
    result = ok(csiactcopy_cmd(*copy_args(sim_master, out, "runlist=runs.txt")))
    lines = log_lines()
    assert 'WARNING: Skip observation "99999": ID not available remotely' in lines
    assert summary(lines)["IDs not available"] == "99999"
    assert "99999" in result.stderr
    _, obs = assert_consistent(out, sim_master.parent)
    assert obs_set(obs) == {1001, 1002}


def test_remote_master_with_another_name_gives_local_master_json(sim_copy, isolated,
                                                                 csiactcopy_cmd):
    """ctools copied the remote master under its own name (docs/differences.rst, "Local master")."""
    master = sim_copy()
    renamed = master.with_name("hess.json")
    master.rename(renamed)
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(renamed, out)))
    assert not (out / "hess.json").exists()
    assert_consistent(out, renamed.parent)
    assert production_entry(out / "master.json", SIM_NAME)["Total observations"] == SIM_NOBS


# -- broken and hostile stores ---------------------------------------------------------
def test_hostile_index_writes_nothing_outside_outpath(sim_copy, isolated, csiactcopy_cmd,
                                                      tmp_path):
    master = sim_copy()
    store = master.parent
    sentinel = tmp_path / "sentinel"
    sentinel.mkdir()
    name_of = {obs_id: f"{SIM_NAME}_obs_{obs_id:06d}.fits.gz" for obs_id in SIM_IDS}
    hostile = {
        1001: ("../../x", name_of[1001], tmp_path / "x"),
        1002: (str(sentinel), name_of[1002], sentinel),
        1003: ("data", f"../../y/{name_of[1003]}", tmp_path / "y"),
    }
    # Real files where the hostile paths point: a naive copy would find and copy them.
    for obs_id, (_, _, folder) in hostile.items():
        folder.mkdir(exist_ok=True)
        shutil.copyfile(store / "data" / name_of[obs_id], folder / name_of[obs_id])

    def change(data):
        for obs_id, (file_dir, file_name, _) in hostile.items():
            rows = data["OBS_ID"] == obs_id
            data["FILE_DIR"][rows] = file_dir
            data["FILE_NAME"][rows] = file_name

    rewrite_hdu_index(master.parent / "hdu-index.fits.gz", change)
    out = isolated.work / "deep" / "er" / "out"
    out.parent.mkdir(parents=True)  # the parent of outpath exists and must stay unchanged
    skip = (out, isolated.work / "csiactcopy.log", isolated.pfiles)
    before = snapshot(tmp_path, skip=skip)
    result = ok(csiactcopy_cmd(*copy_args(master, out)), status=3)
    assert snapshot(tmp_path, skip=skip) == before
    assert "refused" in result.stderr

    lines = log_lines()
    assert summary(lines)["Files refused"] == "3"
    refused = [line for line in lines if line.startswith("WARNING") and "refused" in line]
    assert len(refused) == 3, "\n".join(lines)
    _, obs = assert_consistent(out, store)
    assert obs_set(obs) == set(SIM_IDS) - set(hostile)


def test_missing_remote_file_exit_3_and_consistent_store(sim_copy, isolated, csiactcopy_cmd):
    """ctools aborted on the first missing file.

    docs/differences.rst, "Missing and unsafe files".
    """
    master = sim_copy()
    missing = f"data/{SIM_NAME}_obs_001004.fits.gz"
    (master.parent / missing).unlink()
    out = isolated.work / "out"
    result = ok(csiactcopy_cmd(*copy_args(master, out)), status=3)
    assert missing in result.stderr
    lines = log_lines()
    assert summary(lines)["Files missing"] == "1"
    assert any(missing in line for line in lines[lines.index("| Summary |"):])
    hdu, obs = assert_consistent(out, master.parent)
    assert obs_set(obs) == obs_set(hdu) == set(SIM_IDS) - {1004}


def test_unnamed_extensions_and_file_dir_variants(sim_copy, isolated, csiactcopy_cmd):
    """Index tables without EXTNAME or HDUCLAS keywords; FILE_DIR "", "./", "data/"."""
    from astropy.io import fits
    from astropy.table import Table

    master = sim_copy()
    store = master.parent
    in_root = {1000: "", 1001: "./", 1002: "data/", 1003: "./data/", 1004: "data//"}
    for obs_id, file_dir in in_root.items():
        if file_dir in ("", "./"):
            name = f"{SIM_NAME}_obs_{obs_id:06d}.fits.gz"
            (store / "data" / name).rename(store / name)

    def change(data):
        for obs_id, file_dir in in_root.items():
            data["FILE_DIR"][data["OBS_ID"] == obs_id] = file_dir

    rewrite_hdu_index(master.parent / "hdu-index.fits.gz", change)
    for name in ("hdu-index.fits.gz", "obs-index.fits.gz"):
        table = Table.read(store / name, hdu=1)
        for key in ("EXTNAME", "HDUCLASS", "HDUCLAS1", "HDUCLAS2"):
            table.meta.pop(key, None)
        unnamed = fits.table_to_hdu(table)
        assert "EXTNAME" not in unnamed.header
        fits.HDUList([fits.PrimaryHDU(), unnamed]).writeto(store / name, overwrite=True)

    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(master, out)))
    _, obs = assert_consistent(out, store)
    assert obs_set(obs) == set(SIM_IDS)
    assert (out / f"{SIM_NAME}_obs_001000.fits.gz").is_file()
    assert (out / f"{SIM_NAME}_obs_001001.fits.gz").is_file()


def test_remote_file_linked_outside_the_store_is_refused(sim_copy, isolated, csiactcopy_cmd,
                                                         tmp_path):
    master = sim_copy()
    secret = tmp_path / "secret.fits.gz"
    secret.write_bytes(b"not for copying")
    linked = master.parent / "data" / f"{SIM_NAME}_obs_001007.fits.gz"
    linked.unlink()
    linked.symlink_to(secret)
    out = isolated.work / "out"
    result = ok(csiactcopy_cmd(*copy_args(master, out)), status=3)
    assert linked.name in result.stderr and "refused" in result.stderr
    assert not (out / "data" / linked.name).exists()
    _, obs = assert_consistent(out)
    assert obs_set(obs) == set(SIM_IDS) - {1007}


def test_readme_linked_outside_the_store_is_refused_not_fatal(sim_copy, isolated,
                                                              csiactcopy_cmd, tmp_path):
    master = sim_copy()
    secret = tmp_path / "secret.txt"
    secret.write_text("not for copying", encoding="utf-8")
    (master.parent / "README.txt").symlink_to(secret)
    out = isolated.work / "out"
    result = ok(csiactcopy_cmd(*copy_args(master, out)), status=3)
    assert "README.txt: refused" in result.stderr
    assert not (out / "README.txt").exists()
    _, obs = assert_consistent(out, master.parent)
    assert obs_set(obs) == set(SIM_IDS)


def test_indexes_in_a_subfolder_with_parent_file_dir(sim_copy, isolated, csiactcopy_cmd):
    """hduindx "index/..." and FILE_DIR "../data": the layout is mirrored, paths stay valid."""
    master = sim_copy()
    store = master.parent
    (store / "index").mkdir()
    for name in ("hdu-index.fits.gz", "obs-index.fits.gz"):
        (store / name).rename(store / "index" / name)
    document = json.loads(master.read_text(encoding="utf-8"))
    document["datasets"][0].update(hduindx="index/hdu-index.fits.gz",
                                   obsindx="index/obs-index.fits.gz")
    master.write_text(json.dumps(document), encoding="utf-8")

    def change(data):
        data["FILE_DIR"][:] = "../data"

    rewrite_hdu_index(store / "index" / "hdu-index.fits.gz", change)
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(master, out)))
    hdu, obs = assert_consistent(out, store / "index")
    assert obs_set(obs) == set(SIM_IDS)
    assert set(hdu["FILE_DIR"]) == {"../data"}
    assert len(data_files(out)) == SIM_NOBS
    assert not (out / "hdu-index.fits.gz").exists()


def test_other_productions_and_keys_of_the_local_master_are_kept(sim_master, isolated,
                                                                 csiactcopy_cmd):
    """An entry whose indexes cannot be read now is kept, with a warning.

    docs/differences.rst, "Local master".
    """
    out = isolated.work / "out"
    out.mkdir()
    other = {"name": "unmounted", "hduindx": "/mnt/gone/hdu.fits", "obsindx": "obs.fits",
             "note": [1, 2]}
    (out / "master.json").write_text(json.dumps({"owner": "me", "datasets": [other]}),
                                     encoding="utf-8")
    ok(csiactcopy_cmd(*copy_args(sim_master, out)))
    document = json.loads((out / "master.json").read_text(encoding="utf-8"))
    assert document["owner"] == "me"
    assert document["datasets"][0] == other
    assert [entry["name"] for entry in document["datasets"]] == ["unmounted", SIM_NAME]
    assert any(line.startswith("WARNING") and "unmounted" in line for line in log_lines())
    assert_consistent(out, sim_master.parent)


# -- errors ----------------------------------------------------------------------------
def test_unknown_prodname_exit_1_lists_productions_creates_nothing(sim_master, isolated,
                                                                   csiactcopy_cmd):
    """ctools created outpath before the checks (docs/differences.rst, "Consistent local store")."""
    out = isolated.work / "out"
    result = ok(csiactcopy_cmd(*copy_args(sim_master, out, prodname="nosuch")), status=1)
    error_line(result, '"nosuch"', SIM_NAME)
    assert not out.exists()


def test_bad_run_list_line_exit_1_with_file_and_line(sim_master, isolated, csiactcopy_cmd):
    runlist = isolated.work / "bad.txt"
    runlist.write_text("1000\n  # fine\nrun1\n", encoding="utf-8")
    out = isolated.work / "out"
    result = ok(csiactcopy_cmd(*copy_args(sim_master, out, f"runlist={runlist}")), status=1)
    error_line(result, f"{runlist}:3:", "run1")
    assert not out.exists()


def test_missing_run_list_exit_1(sim_master, isolated, csiactcopy_cmd):
    out = isolated.work / "out"
    result = ok(csiactcopy_cmd(*copy_args(sim_master, out, "runlist=nofile.txt")), status=1)
    error_line(result, "nofile.txt")
    assert not out.exists()


def test_malformed_remote_master_exit_1_naming_the_file(isolated, csiactcopy_cmd, make_store):
    store = make_store(text='{"datasets": [', index_files=False)
    out = isolated.work / "out"
    result = ok(csiactcopy_cmd(*copy_args(store / "master.json", out)), status=1)
    error_line(result, str(store / "master.json"))
    assert not out.exists()


def test_missing_remote_master_exit_1(isolated, csiactcopy_cmd, tmp_path):
    out = isolated.work / "out"
    result = ok(csiactcopy_cmd(*copy_args(tmp_path / "nowhere" / "master.json", out)),
                status=1)
    error_line(result, "No master index file found", "mounted")
    assert not out.exists()


@pytest.mark.parametrize("where", [".", "sub/out"])
def test_outpath_in_the_remote_store_is_refused(sim_copy, isolated, csiactcopy_cmd, where):
    """ctools rewrote the remote index; nothing is written to the remote.

    docs/differences.rst, "Missing and unsafe files".
    """
    master = sim_copy()
    write_runlist(isolated.work / "r1.txt", R1)
    before = snapshot(master.parent, skip=())
    result = ok(csiactcopy_cmd(*copy_args(master, master.parent / where, "runlist=r1.txt")),
                status=1)
    error_line(result, "lies in the remote store")
    assert snapshot(master.parent, skip=()) == before


def test_unreadable_local_index_stops_before_copying(sim_master, isolated, csiactcopy_cmd):
    """A corrupt local index is found before any file is copied.

    docs/differences.rst, "Consistent local store".
    """
    out = isolated.work / "out"
    out.mkdir()
    (out / "hdu-index.fits.gz").write_bytes(b"this is no FITS file")
    result = ok(csiactcopy_cmd(*copy_args(sim_master, out)), status=1)
    error_line(result, str(out / "hdu-index.fits.gz"))
    assert sorted(os.listdir(out)) == ["hdu-index.fits.gz"]


def test_outpath_that_cannot_be_created_exit_1(sim_master, isolated, csiactcopy_cmd):
    blocker = isolated.work / "a-file"
    blocker.write_text("x", encoding="utf-8")
    result = ok(csiactcopy_cmd(*copy_args(sim_master, blocker / "out")), status=1)
    error_line(result, f'outpath "{blocker / "out"}" cannot be created', "Not a directory")


def test_local_file_in_the_way_of_a_folder_exit_3(sim_master, isolated, csiactcopy_cmd):
    out = isolated.work / "out"
    out.mkdir()
    (out / "data").write_text("a file where the data folder goes", encoding="utf-8")
    result = ok(csiactcopy_cmd(*copy_args(sim_master, out)), status=3)
    assert f"{SIM_NOBS} file(s) could not be copied" in result.stderr
    assert summary(log_lines())["Files failed"] == str(SIM_NOBS)
    assert not (out / "hdu-index.fits.gz").exists()
    assert_clean(out)


# -- from Python -----------------------------------------------------------------------
def test_python_execute_copies_and_learns(sim_master, isolated):
    app = csiactcopy()
    app["remote_master"] = str(sim_master)
    app["prodname"] = SIM_NAME
    app["outpath"] = "pyout"
    app.execute()
    assert app.exit_status == 0
    assert app.report.counts["copied"] == SIM_NOBS
    assert_consistent(isolated.work / "pyout", sim_master.parent)
    assert not (isolated.work / "csiactcopy.log").exists()  # no log unless opened
    learned = (isolated.pfiles / "csiactcopy.par").read_text(encoding="utf-8")
    for name, kind, text in (("remote_master", "f", str(sim_master)),
                             ("prodname", "s", SIM_NAME), ("outpath", "s", "pyout")):
        assert re.search(rf"^{name}, *{kind}, *a, *{re.escape(text)},", learned, re.M), learned


def test_python_run_with_missing_file_reports_status_3(sim_copy, isolated):
    master = sim_copy()
    (master.parent / "data" / f"{SIM_NAME}_obs_001000.fits.gz").unlink()
    app = csiactcopy(remote_master=str(master), prodname=SIM_NAME, outpath="pyout")
    app.run()
    assert app.exit_status == 3
    assert list(app.report.missing) == [f"data/{SIM_NAME}_obs_001000.fits.gz"]
    _, obs = assert_consistent(isolated.work / "pyout", master.parent)
    assert 1000 not in obs_set(obs)


def test_execute_with_missing_file_still_learns(sim_copy, isolated):
    """A run that ends with status 3 learns its parameters, like one with 0.

    docs/differences.rst, "Learning".
    """
    master = sim_copy()
    (master.parent / "data" / f"{SIM_NAME}_obs_001000.fits.gz").unlink()
    app = csiactcopy(remote_master=str(master), prodname=SIM_NAME, outpath="pyout3")
    app.execute()
    assert app.exit_status == 3
    learned = (isolated.pfiles / "csiactcopy.par").read_text(encoding="utf-8")
    assert re.search(r"^outpath, *s, *a, *pyout3,", learned, re.M), learned


def test_python_lock_held_too_long_is_a_clear_error(sim_master, isolated, monkeypatch):
    """The lock waits for another run's index update; past the limit, an error says so."""
    from iactcopy.errors import DataStoreError
    from iactcopy.store.local import lock as storelock

    monkeypatch.setattr(storelock, "LOCK_TIMEOUT", 0.2)
    out = isolated.work / "pyout"
    out.mkdir()
    app = csiactcopy(remote_master=str(sim_master), prodname=SIM_NAME, outpath=str(out))
    fd = os.open(out / ".iactcopy.lock", os.O_RDWR | os.O_CREAT)   # another run's lock
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(DataStoreError, match="Another run"):
            app.run()
    finally:
        os.close(fd)
    assert not (out / "hdu-index.fits.gz").exists()


def test_index_and_master_files_are_fsynced_data_files_are_not(sim_master, isolated,
                                                               monkeypatch):
    """Data files are not fsync'ed one by one; index and master files are.

    docs/differences.rst, "Part files".
    """
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    out = isolated.work / "pyout"
    app = csiactcopy(remote_master=str(sim_master), prodname=SIM_NAME, outpath=str(out))
    app.run()
    assert app.exit_status == 0
    names = {os.path.basename(path) for path in synced}
    for written in ("master.json", "hdu-index.fits.gz", "obs-index.fits.gz"):
        # Each is fsync'ed as its temporary ".<name>.<random>.part", before the rename.
        assert any(name.startswith(f".{written}.") for name in names), (written, names)
    data = {path.name for path in (out / "data").iterdir()}
    assert not {name for name in names if name.removesuffix(".part") in data}, names
