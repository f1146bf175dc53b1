"""csiactcopy processes that are killed, or that run at the same moment.

docs/differences.rst, "Part files" and "Consistent local store": a data file
is copied to ``<name>.part``, so an interrupted run never leaves a truncated
file under a real name, and a rerun resumes; index and master files are
replaced atomically under the lock, so concurrent runs into one ``outpath``
are safe.  These tests start real processes; they wait for
states (a ``.part`` file, a process end), never for a length of time.
"""

from __future__ import annotations

import filecmp
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from copychecks import (
    SIM_NAME,
    assert_consistent,
    copy_args,
    obs_set,
    ok,
    write_runlist,
)

from iactcopy.testing.storegen import generate_store

#: A guard against a hung process, not a timed assertion.
PATIENCE = 60.0
BIG_FILES = 3
BIG_SIZE = 150_000_000


@pytest.fixture
def big_master(tmp_path) -> Path:
    """A store of 3 observations whose uncompressed data files are about 150 MB each.

    The generator writes small valid FITS files; they are padded with bytes
    after the last HDU (as good as events for a copy, and written in a
    fraction of the time the generator needs for 150 MB of events).
    """
    master = Path(generate_store(tmp_path / "stores" / "big", BIG_FILES, name="big",
                                 first_id=500, compress=False))
    block = bytes(range(256)) * 4096
    for number, path in enumerate(sorted((master.parent / "data").iterdir())):
        with open(path, "ab") as stream:
            stream.write(bytes([number]) * 2880)  # the files differ beyond their headers
            for _ in range(BIG_SIZE // len(block)):
                stream.write(block)
    return master


def wait_for_part(folder: Path, proc: subprocess.Popen) -> Path | None:
    """The first ``.part`` data file in *folder*, or None when *proc* ends first."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if folder.is_dir():
            with os.scandir(folder) as entries:
                parts = [entry.name for entry in entries if entry.name.endswith(".fits.part")]
            if parts:
                return folder / parts[0]
        if proc.poll() is not None:
            return None
        time.sleep(0.0005)
    proc.kill()
    pytest.fail(f"no .part file in {folder} within {PATIENCE} s")


def test_sigkill_mid_file_leaves_no_truncated_file_and_rerun_completes(
        big_master, isolated, csiactcopy_cmd):
    out = isolated.work / "out"
    remote_data = big_master.parent / "data"
    proc = subprocess.Popen(
        [*csiactcopy_cmd.command, *copy_args(big_master, out, "nthreads=1", prodname="big")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        part = wait_for_part(out / "data", proc)
        assert part is not None, "the copy ended before a .part file was seen"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(PATIENCE)
    assert proc.returncode == -signal.SIGKILL

    names = sorted(os.listdir(out / "data"))
    assert any(name.endswith(".part") for name in names), names  # killed inside a file
    for name in names:
        if not name.endswith(".part"):
            assert filecmp.cmp(out / "data" / name, remote_data / name, shallow=False), \
                f"{name} is under its real name but differs from the remote file"
    assert not (out / "hdu-index.fits.gz").exists()

    ok(csiactcopy_cmd(*copy_args(big_master, out, "clobber=no", prodname="big")))
    _, obs = assert_consistent(out, big_master.parent, prodname="big")
    assert len(obs) == BIG_FILES
    assert sorted(os.listdir(out / "data")) == sorted(os.listdir(remote_data))


@pytest.mark.parametrize("attempt", range(5))
def test_two_run_lists_at_once_leave_the_union(sim_master, isolated, csiactcopy_cmd, attempt):
    """Overlapping run lists (1000-1011 and 1008-1019), started together into one outpath."""
    first, second = list(range(1000, 1012)), list(range(1008, 1020))
    write_runlist(isolated.work / "a.txt", first)
    write_runlist(isolated.work / "b.txt", second)
    out = isolated.work / "out"
    procs = [subprocess.Popen([*csiactcopy_cmd.command,
                               *copy_args(sim_master, out, f"runlist={name}.txt",
                                          f"logfile={name}.log", "mode=h", "nthreads=2")],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for name in ("a", "b")]
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=PATIENCE)
        assert proc.returncode == 0, (stdout, stderr)

    hdu, obs = assert_consistent(out, sim_master.parent)
    assert obs_set(hdu) == obs_set(obs) == set(first) | set(second)
    assert len(hdu) == 6 * len(set(first) | set(second))
    with open(out / "master.json", encoding="utf-8") as stream:
        assert [entry["name"] for entry in json.load(stream)["datasets"]] == [SIM_NAME]


def test_ctrl_c_mid_file_exit_130_and_no_temporary_left(big_master, isolated, csiactcopy_cmd):
    out = isolated.work / "out"
    remote_data = big_master.parent / "data"
    proc = subprocess.Popen(
        [*csiactcopy_cmd.command, *copy_args(big_master, out, "nthreads=2", prodname="big")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        part = wait_for_part(out / "data", proc)
        assert part is not None, "the copy ended before a .part file was seen"
        os.kill(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=PATIENCE)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "*** ERROR: interrupted" in stderr and "Traceback" not in stderr
    names = sorted(os.listdir(out / "data"))
    assert not [name for name in names if name.endswith(".part")], names
    for name in names:
        assert filecmp.cmp(out / "data" / name, remote_data / name, shallow=False), name
    assert not (isolated.pfiles / "csiactcopy.par").exists()  # Ctrl-C learns nothing
