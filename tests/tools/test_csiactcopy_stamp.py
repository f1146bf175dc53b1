"""A rerun with nothing to do, taken from the stamp of the run before (iactcopy.store.local.stamp).

The promise: a rerun taken from the stamp does and says exactly what a full
run would (same files, same indexes, same log but for the debug lines), and
anything that could change the outcome makes it a full run again.  Each test
reaches a stamped store (a copy, then a full no-op rerun that stamps it),
changes one thing and looks at what the next run did.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from copychecks import (
    SIM_IDS,
    SIM_NAME,
    assert_consistent,
    copy_args,
    ok,
    production_entry,
    write_runlist,
)
from test_csiactcopy import data_files, log_lines, rewrite_hdu_index, summary, values

from iactcopy.store.layout import LOCK_NAME


@pytest.fixture
def stamped(sim_copy, isolated, csiactcopy_cmd):
    """``stamped(*extra)``: a copy of a private remote, rerun once so that it is stamped.

    Returns ``(master, out, run)``; ``run(*more)`` reruns with the same
    parameters (and *more*) and returns its YAML report.
    """
    def build(*extra: str):
        master = sim_copy()
        out = isolated.work / "out"

        def run(*more: str, status: int = 0) -> dict | None:
            report = isolated.work / "report.yaml"
            report.unlink(missing_ok=True)
            run.result = ok(csiactcopy_cmd(*copy_args(master, out, *extra, *more,
                                                      f"report={report}")), status)
            return yaml.safe_load(report.read_text(encoding="utf-8")) if report.exists() else None

        first = run()
        assert not first["from_stamp"] and not stamp_text(out)  # it copied: no stamp
        second = run()
        assert not second["from_stamp"] and stamp_text(out)     # it checked all: a stamp
        return master, out, run

    return build


def stamp_text(out: Path) -> str:
    """The stamp: the content of the store's lock file (the only file of iactcopy's there)."""
    return (out / LOCK_NAME).read_text(encoding="utf-8")


def write_stamp(out: Path, text: str) -> None:
    (out / LOCK_NAME).write_text(text, encoding="utf-8")


def comparable(lines: list[str]) -> list[str]:
    """A log without its closing line, whose times differ from run to run, and without
    the line (chatter 3 and up) that says the rerun was taken from the stamp."""
    return [line for line in lines
            if "wall clock" not in line and not line.startswith("Nothing changed since")]


@pytest.mark.parametrize("chatter", ["1", "2", "3", "4"])
def test_stamped_rerun_logs_what_a_full_rerun_logs(stamped, isolated, chatter):
    master, out, run = stamped(f"chatter={chatter}")
    full = comparable(log_lines())          # the full rerun that found nothing to do
    before = {path: path.stat().st_mtime_ns for path in out.rglob("*") if path.is_file()}
    assert run()["from_stamp"]
    assert comparable(log_lines()) == full
    after = {path: path.stat().st_mtime_ns for path in out.rglob("*") if path.is_file()}
    assert after == before  # it wrote nothing at all, the stamp included
    assert_consistent(out, master.parent)


def test_stamped_rerun_imports_neither_numpy_nor_fitsio(stamped, isolated):
    master, out, _ = stamped()
    probe = ("import sys\n"
             "from iactcopy.tools.csiactcopy import csiactcopy\n"
             f"app = csiactcopy({list(copy_args(master, out, 'mode=h'))!r})\n"
             "app.execute()\n"
             "print(app.from_stamp, sorted({'numpy', 'fitsio', 'astropy'} & set(sys.modules)))\n")
    result = ok(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                               timeout=60))
    assert result.stdout.split("\n")[0] == "True []"


def test_the_log_says_the_selection_came_from_the_stamp(stamped):
    _, _, run = stamped()
    assert run("chatter=3")["from_stamp"]
    lines = log_lines()
    assert any(line.startswith("Nothing changed since the last run") and LOCK_NAME in line
               for line in lines), "\n".join(lines)
    assert run("chatter=2")["from_stamp"]
    assert not any(line.startswith("Nothing changed") for line in log_lines())


@pytest.mark.parametrize("change", [
    "remote-index", "remote-master", "remote-file", "local-index", "local-master",
    "local-file", "clobber", "stale-temporary", "stamp-damaged", "stamp-foreign",
])
def test_any_change_means_a_full_run(stamped, change):
    master, out, run = stamped()
    remote = master.parent
    extra = ()
    first_file = out / "data" / data_files(out)[0]
    if change == "remote-index":
        rewrite_hdu_index(remote / "hdu-index.fits.gz", lambda data: None)  # same rows, new bytes
    elif change == "remote-master":
        document = json.loads(master.read_text(encoding="utf-8"))
        document["datasets"][0]["note"] = "revised"
        master.write_text(json.dumps(document), encoding="utf-8")
    elif change == "remote-file":
        target = remote / "data" / first_file.name
        target.write_bytes(target.read_bytes() + b"more")
    elif change == "local-index":
        rewrite_hdu_index(out / "hdu-index.fits.gz", lambda data: None)
    elif change == "local-master":
        document = json.loads((out / "master.json").read_text(encoding="utf-8"))
        document["comment"] = "mine"
        (out / "master.json").write_text(json.dumps(document), encoding="utf-8")
    elif change == "local-file":
        first_file.unlink()
    elif change == "clobber":
        extra = ("clobber=no",)
    elif change == "stale-temporary":
        (out / ".hdu-index.fits.gz.x1y2z3.part").write_bytes(b"half")
    elif change == "stamp-damaged":
        write_stamp(out, stamp_text(out)[:100])
    elif change == "stamp-foreign":
        document = json.loads(stamp_text(out))
        document["version"] = 999
        write_stamp(out, json.dumps(document))
    assert not run(*extra)["from_stamp"], change
    assert_consistent(out, remote)
    if change == "remote-file":
        assert summary(log_lines())["Data files copied"] == "1"


@pytest.mark.parametrize("mutate", [
    lambda d: d.update(files=7),
    lambda d: d.update(absent=["x"]),
    lambda d: d["local"].update(files=[None]),
    lambda d: d["merges"]["hdu"].pop("rows"),
    lambda d: d.update(hduindx=["hdu-index.fits.gz"]),
    lambda d: d.update(observations=True),
    lambda d: d.pop("remote"),
    lambda d: d.clear(),
    lambda d: d.update(iactcopy="0.0.1"),
    lambda d: d.update(remote={}),
    lambda d: d.update(hduindx="hdu-index.fits.gz\0"),
    lambda d: d["merges"]["obs"].update(rows="105"),
    lambda d: d.update(observations=-1),
    lambda d: d["local"].update(digest=None),
], ids=["files", "absent", "local-files", "merge-counts", "hduindx", "observations",
        "no-remote", "empty", "other-version", "remote-empty", "nul", "count-text",
        "negative", "null-digest"])
def test_a_malformed_stamp_is_ignored(stamped, mutate):
    master, out, run = stamped()
    document = json.loads(stamp_text(out))
    mutate(document)
    write_stamp(out, json.dumps(document))
    assert not run()["from_stamp"]
    assert run()["from_stamp"]   # the full run wrote a good one
    assert_consistent(out, master.parent)


@pytest.mark.parametrize("kind", ["deep", "huge-line", "binary"])
def test_a_stamp_that_is_no_stamp_is_ignored(stamped, kind):
    master, out, run = stamped()
    if kind == "deep":
        write_stamp(out, "[" * 200_000 + "]" * 200_000)
    elif kind == "huge-line":
        write_stamp(out, '{"version": 1, "x": "' + "y" * 5_000_000 + '"}')
    else:
        (out / LOCK_NAME).write_bytes(bytes(range(256)) * 10)
    assert not run()["from_stamp"]
    assert json.loads(stamp_text(out))["version"] == 1   # the full run wrote a good one
    assert_consistent(out, master.parent)


@pytest.mark.parametrize("kind", ["fifo", "link-to-device"])
def test_a_lock_that_is_no_file_never_hangs_the_rerun(stamped, csiactcopy_cmd, kind):
    """What the full run does with such a lock is its business; the stamp check only steps aside."""
    master, out, _ = stamped()
    (out / LOCK_NAME).unlink()
    if kind == "fifo":
        os.mkfifo(out / LOCK_NAME)
    else:
        (out / LOCK_NAME).symlink_to("/dev/zero")
    result = csiactcopy_cmd(*copy_args(master, out, "report=report.yaml"), timeout=60)
    assert "Traceback" not in result.stderr
    if result.returncode == 0:
        assert not yaml.safe_load(Path("report.yaml").read_text())["from_stamp"]


def test_index_paths_that_pass_through_a_missing_folder(sim_copy, isolated, csiactcopy_cmd):
    """The digest is taken of the very files the full run reads ("v1/../x" is "x")."""
    master = sim_copy()
    document = json.loads(master.read_text(encoding="utf-8"))
    for key in ("hduindx", "obsindx"):
        document["datasets"][0][key] = "v1/../" + document["datasets"][0][key]
    master.write_text(json.dumps(document), encoding="utf-8")
    out = isolated.work / "out"
    args = copy_args(master, out, "report=report.yaml")
    for _ in range(3):
        ok(csiactcopy_cmd(*args))
    assert yaml.safe_load(Path("report.yaml").read_text())["from_stamp"]
    # The remote store gains observations: new index files, same master.
    bigger = isolated.work / "bigger"
    from iactcopy.testing.storegen import generate_store
    generate_store(bigger, len(SIM_IDS) + 3, name="iactcopy-sim", seed=7, first_id=SIM_IDS[0])
    for name in ("hdu-index.fits.gz", "obs-index.fits.gz"):
        shutil.copy2(bigger / name, master.parent / name)
    for path in (bigger / "data").iterdir():
        if not (master.parent / "data" / path.name).exists():
            shutil.copy2(path, master.parent / "data" / path.name)
    ok(csiactcopy_cmd(*args))
    assert not yaml.safe_load(Path("report.yaml").read_text())["from_stamp"]
    assert summary(log_lines())["Data files copied"] == "3"


def test_an_unusable_lock_is_reported_as_by_a_full_run(stamped):
    _, out, run = stamped()
    (out / LOCK_NAME).unlink()
    (out / LOCK_NAME).mkdir()
    run(status=1)
    assert "Cannot lock the local store" in run.result.stderr


def test_a_run_waits_for_an_index_update_under_way(stamped):
    _, out, run = stamped()
    fd = os.open(out / LOCK_NAME, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    timer = threading.Timer(1.0, os.close, [fd])   # closing releases the lock
    timer.start()
    try:
        report = run()
    finally:
        timer.join()
    assert not report["from_stamp"]    # it could not look at the local files: a full run
    assert report["exit_status"] == 0


def test_a_store_named_by_a_file_url_is_stamped_as_its_path(sim_copy, isolated,
                                                           csiactcopy_cmd):
    master = sim_copy()
    out = isolated.work / "out"
    args = copy_args(master.as_uri(), out, "report=report.yaml")
    for expected in (False, False, True):
        ok(csiactcopy_cmd(*args))
        assert yaml.safe_load(Path("report.yaml").read_text())["from_stamp"] is expected
    ok(csiactcopy_cmd(*copy_args(master, out, "report=report.yaml")))   # the same store
    assert yaml.safe_load(Path("report.yaml").read_text())["from_stamp"]


def test_a_copy_of_the_store_elsewhere_is_checked_in_full(stamped, isolated, csiactcopy_cmd):
    master, out, _ = stamped()
    moved = isolated.work / "moved"
    shutil.copytree(out, moved)
    ok(csiactcopy_cmd(*copy_args(master, moved, "report=report.yaml")))
    assert not yaml.safe_load(Path("report.yaml").read_text())["from_stamp"]
    assert_consistent(moved, master.parent)


def test_a_deleted_file_of_another_observation_is_dropped_from_the_index(
        sim_copy, isolated, csiactcopy_cmd):
    """A stamp for one run list must notice files that only other observations need."""
    master = sim_copy()
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(master, out)))
    runlist = write_runlist(isolated.work / "runlist.txt", SIM_IDS[:3])
    args = copy_args(master, out, f"runlist={runlist}", "report=report.yaml")
    for _ in range(2):
        ok(csiactcopy_cmd(*args))
    assert stamp_text(out)
    other = out / "data" / data_files(out)[-1]
    other.unlink()
    result = ok(csiactcopy_cmd(*args), 3)
    assert f'"data/{other.name}" is not present locally' in result.stderr
    assert not yaml.safe_load(Path("report.yaml").read_text())["from_stamp"]
    hdu, _ = assert_consistent(out, master.parent)
    assert len({int(obs_id) for obs_id in hdu["OBS_ID"]}) == len(SIM_IDS) - 1


def test_stamped_rerun_with_a_run_list_keeps_its_warnings(sim_copy, isolated, csiactcopy_cmd):
    master = sim_copy()
    out = isolated.work / "out"
    runlist = write_runlist(isolated.work / "runlist.txt", [*SIM_IDS[:3], 99999])
    args = copy_args(master, out, f"runlist={runlist}", "report=report.yaml")
    for _ in range(3):
        result = ok(csiactcopy_cmd(*args))
        assert 'Skip observation "99999"' in result.stderr
    assert yaml.safe_load(Path("report.yaml").read_text())["from_stamp"]
    lines = log_lines()
    assert summary(lines)["IDs not available"] == "99999"
    assert summary(lines)["Observations indexed"] == "3"

    write_runlist(runlist, SIM_IDS[:4])
    ok(csiactcopy_cmd(*args))
    assert not yaml.safe_load(Path("report.yaml").read_text())["from_stamp"]
    hdu, _ = assert_consistent(out, master.parent)
    assert {int(obs_id) for obs_id in hdu["OBS_ID"]} == set(SIM_IDS[:4])


def test_other_productions_are_looked_at_again(stamped):
    """The status of the local master's other productions is read live, not from the stamp."""
    master, out, run = stamped()
    document = json.loads((out / "master.json").read_text(encoding="utf-8"))
    document["datasets"].append({"name": "other", "hduindx": "other/hdu-index.fits.gz",
                                 "obsindx": "other/obs-index.fits.gz"})
    (out / "master.json").write_text(json.dumps(document), encoding="utf-8")
    assert not run()["from_stamp"]     # the local master changed; a warning: no stamp
    assert values(log_lines(), 'Keeping "other"') == ["Not available"]
    (out / "other").mkdir()
    for name in ("hdu-index.fits.gz", "obs-index.fits.gz"):
        shutil.copyfile(master.parent / name, out / "other" / name)
    assert not run()["from_stamp"]
    assert run()["from_stamp"]
    assert values(log_lines(), 'Keeping "other"') == ["Available"]
    shutil.rmtree(out / "other")
    assert run()["from_stamp"]
    assert values(log_lines(), 'Keeping "other"') == ["Not available"]


def test_a_new_documentation_file_means_a_full_run(stamped):
    master, out, run = stamped()
    (master.parent / "LICENSE").write_text("terms of use\n", encoding="utf-8")
    assert not run()["from_stamp"]
    assert (out / "LICENSE").read_text(encoding="utf-8") == "terms of use\n"


def test_the_stamp_holds_for_three_reruns_in_a_row_and_the_lock_keeps_it(stamped):
    """Also at the lowest versions setup.cfg allows (make test-oldest)."""
    master, out, run = stamped("chatter=3")
    stamp = stamp_text(out)
    for rerun in (1, 2, 3):
        assert run()["from_stamp"], f"rerun {rerun} after the stamp did the full work"
        assert any(line.startswith("Nothing changed since the last run")
                   for line in log_lines()), f"rerun {rerun}: the log does not say so"
        assert stamp_text(out) == stamp     # taking and releasing the lock leaves it
    (master.parent / "README").write_text("a new file\n", encoding="utf-8")
    assert not run()["from_stamp"]          # a full run, whose lock leaves the file too
    assert (out / LOCK_NAME).is_file()
    assert run()["from_stamp"]


def test_a_run_that_warns_of_observations_in_one_index_only_is_never_stamped(
        sim_copy, isolated, csiactcopy_cmd):
    """A stamped rerun could not give that warning again: every run is a full one."""
    master = sim_copy()
    hduindx = master.parent / production_entry(master, SIM_NAME)["hduindx"]

    def renumber(data) -> None:
        data["OBS_ID"][data["OBS_ID"] == SIM_IDS[-1]] = 99999

    rewrite_hdu_index(hduindx, renumber)
    out = isolated.work / "out"
    args = copy_args(master, out, "report=report.yaml")
    for _ in range(3):
        ok(csiactcopy_cmd(*args))
        assert not yaml.safe_load(Path("report.yaml").read_text())["from_stamp"]
        assert any("listed in only one of the two index tables" in line
                   for line in log_lines())
