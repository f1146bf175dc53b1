"""A hostile local side, and runs stopped from outside.

docs/differences.rst ("Folders stay inside outpath", "Part file ownership",
"Orderly stop", "Full local disk", "Log file errors") and
docs/tools/csiactcopy.rst: a folder of outpath swapped for a link while a run
copies, ``.part`` names taken by hard links, FIFOs or the user's own files,
SIGTERM and SIGHUP from a batch system, Ctrl-C between the renames of the two
indexes, a disk or a log that fills up.  Signals are sent by the process to
itself at a chosen point (a monkeypatched call), never after a length of time.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from copychecks import SIM_IDS, SIM_NAME, copy_args
from hardchecks import (
    HDU_INDEX,
    LOCAL_IDS,
    OBS_INDEX,
    assert_error,
    assert_finished,
    check_store,
    run_tool,
    tree_state,
)

from iactcopy.store.access import sources
from iactcopy.store.index.tables import IndexTable

NAME = f"{SIM_NAME}_obs_{{:06d}}.fits.gz"
#: A guard against a hung process, not a timed assertion.
PATIENCE = 120


@pytest.fixture
def remote(sim_copy) -> Path:
    """A private copy of the generated store; returns its master file."""
    return sim_copy()


def index_ids(out: Path) -> tuple[set, set]:
    return (set(IndexTable.read(out / HDU_INDEX, "HDU").obs_ids.tolist()),
            set(IndexTable.read(out / OBS_INDEX, "OBS").obs_ids.tolist()))


# -- writing where it must not ---------------------------------------------------------------
def test_data_folder_swapped_for_a_link_during_a_run(remote, isolated, tmp_path, monkeypatch):
    """outpath/data replaced by a link to a folder outside after the first data file: not
    one file is written into that folder; the files after the swap are refused."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "mine.txt").write_text("the user's", encoding="utf-8")
    before = tree_state(outside)
    out = isolated.work / "out"
    real = sources.LocalSource.copy_to
    calls = []

    def copy_to(self, relpath, dest, callback=None):
        calls.append(relpath)
        if len(calls) == 2:
            (out / "data").rename(out / "data-moved")
            (out / "data").symlink_to(outside, target_is_directory=True)
        return real(self, relpath, dest, callback)

    monkeypatch.setattr(sources.LocalSource, "copy_to", copy_to)
    outcome = run_tool("csiactcopy", *copy_args(remote, out), "mode=h")
    assert_finished(outcome, 3)
    assert tree_state(outside) == before
    assert "outside" in outcome.stderr


def test_part_names_taken_by_links_fifos_and_the_users_files(remote, isolated, tmp_path):
    """A stale .part that is a hard link to a file elsewhere, one that is a FIFO, and the
    user's own files ending in .part: none is written, truncated, re-moded or removed; the
    run does not hang, and names what was in the way (exit 3)."""
    out = isolated.work / "out"
    (out / "data").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"0600, not to be truncated")
    secret.chmod(0o600)
    os.link(secret, out / "data" / (NAME.format(1001) + ".part"))
    os.mkfifo(out / "data" / (NAME.format(1002) + ".part"))
    mine = {out / "download.iso.part": b"half a download",
            out / "data" / "notes.part": b"my notes"}
    for path, data in mine.items():
        path.write_bytes(data)
    outcome = run_tool("csiactcopy", *copy_args(remote, out), "mode=h", "nthreads=2")
    assert_finished(outcome, 3)
    assert secret.read_bytes() == b"0600, not to be truncated"
    assert secret.stat().st_mode & 0o777 == 0o600 and secret.stat().st_nlink == 2
    assert (out / "data" / (NAME.format(1002) + ".part")).is_fifo()
    assert all(path.read_bytes() == data for path, data in mine.items())
    assert "hard link" in outcome.stderr and "a FIFO" in outcome.stderr
    assert check_store(out, remote.parent, clean=False) == set(SIM_IDS) - {1001, 1002}


# -- stopping --------------------------------------------------------------------------------
# The run sends itself the signal while it copies its third data file.
SIGNAL_SCRIPT = """
import os, signal, sys
from iactcopy.store.access import sources
real = sources.LocalSource.copy_to
calls = []
SIGNAL = getattr(signal, sys.argv[1])
def copy_to(self, relpath, dest, callback=None):
    calls.append(relpath)
    if len(calls) == 3:
        os.kill(os.getpid(), SIGNAL)
    return real(self, relpath, dest, callback)
sources.LocalSource.copy_to = copy_to
from iactcopy.tools.csiactcopy import main
sys.argv = ["csiactcopy", *sys.argv[2:]]
main()
"""


def _run_script(script: str, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PFILES": f"{cwd / 'pfiles'};", "HOME": str(cwd)}
    return subprocess.run([sys.executable, "-c", script, *args, "mode=h"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=PATIENCE,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("nthreads", [1, 2])
@pytest.mark.parametrize("name, status", [("SIGTERM", 143), ("SIGHUP", 129), ("SIGINT", 130)])
def test_signal_stops_a_run_in_order(remote, isolated, name, status, nthreads):
    """SIGTERM and SIGHUP stop a run as Ctrl-C does: no .part left, one error line on
    stderr and in the log, the trailer, exit status 128 + the signal number."""
    out = isolated.work / "out"
    result = _run_script(SIGNAL_SCRIPT, isolated.work, name, *copy_args(remote, out),
                         f"nthreads={nthreads}", "logfile=run.log")
    assert result.returncode == status, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("*** ERROR")]
    word = "Ctrl-C" if name == "SIGINT" else name
    assert len(errors) == 1 and word in errors[0], result.stderr
    log = (isolated.work / "run.log").read_text(encoding="utf-8").splitlines()
    assert any(line.endswith(errors[0]) for line in log)
    assert "Application" in log[-1] or "csiactcopy" in log[-1]
    assert log[-1].split(": ", 1)[1].startswith(("Application", "csiactcopy")), log[-1]
    assert not list(out.rglob("*.part"))
    check_store(out, remote.parent)


CTRL_C_BETWEEN_RENAMES = """
import os, signal, sys
from iactcopy import atomicfile
real = os.replace
class Proxy:
    def __getattr__(self, name):
        return getattr(os, name)
    @staticmethod
    def replace(src, dst, **kwargs):
        real(src, dst, **kwargs)
        if os.path.basename(dst) == "hdu-index.fits.gz":
            os.kill(os.getpid(), signal.SIGINT)
atomicfile.os = Proxy()
from iactcopy.tools.csiactcopy import main
sys.argv = ["csiactcopy", *sys.argv[1:]]
main()
"""


def test_ctrl_c_between_the_two_index_renames(remote, isolated, local_store):
    """Ctrl-C just after the HDU index is renamed into place: the OBS index follows before
    the run stops (exit 130), so the two agree."""
    result = _run_script(CTRL_C_BETWEEN_RENAMES, isolated.work,
                         *copy_args(remote, local_store), "logfile=NONE")
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr
    hdu, obs = index_ids(local_store)
    assert hdu == obs == set(SIM_IDS)
    assert check_store(local_store, remote.parent) == set(SIM_IDS)


# -- a disk that fills up --------------------------------------------------------------------
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
def test_log_on_a_full_disk(remote, isolated):
    outcome = run_tool("csiactcopy", *copy_args(remote, isolated.work / "out"), "mode=h",
                       "logfile=/dev/full")
    assert_error(outcome, 1, '"/dev/full"', "log file", os.strerror(errno.ENOSPC))


def test_log_that_fills_mid_run(remote, isolated, local_store, monkeypatch):
    """The log's disk fills while the run copies: one error line naming the log, no
    traceback, exit 1; the store is sound."""
    from iactcopy.app import logger

    class Filling:
        def __init__(self, stream):
            self.stream, self.room = stream, 3000

        def write(self, text):
            self.room -= len(text)
            if self.room < 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.stream.write(text)

        def __getattr__(self, name):
            return getattr(self.stream, name)

    monkeypatch.setattr(logger, "open", lambda *args, **kwargs: Filling(open(*args, **kwargs)),  # noqa: SIM115
                        raising=False)
    outcome = run_tool("csiactcopy", *copy_args(remote, local_store), "mode=h",
                       "logfile=run.log", "chatter=4")
    line = assert_error(outcome, 1, '"run.log"', "log file", os.strerror(errno.ENOSPC))
    assert len(outcome.stderr.splitlines()) < 5, outcome.stderr
    assert line
    assert check_store(local_store, remote.parent, clean=False) >= set(LOCAL_IDS)


def test_index_folder_linked_outside(remote, isolated, tmp_path):
    """hduindx "index/hdu-index.fits.gz" with the local "index" a link to a folder outside:
    no index is written there (exit 1, one error naming the folder)."""
    import json

    store = remote.parent
    (store / "index").mkdir()
    for name in (HDU_INDEX, OBS_INDEX):
        (store / name).rename(store / "index" / name)
    document = json.loads(remote.read_text(encoding="utf-8"))
    for dataset in document["datasets"]:
        dataset.update(hduindx=f"index/{HDU_INDEX}", obsindx=f"index/{OBS_INDEX}")
    remote.write_text(json.dumps(document), encoding="utf-8")
    hdu = IndexTable.read(store / "index" / HDU_INDEX, "HDU")
    data = hdu.data.astype([(name, "U20" if name == "FILE_DIR" else hdu.data.dtype[name])
                            for name in hdu.columns])
    data["FILE_DIR"] = "../data"
    IndexTable("HDU", data, header=hdu.header).write(store / "index" / HDU_INDEX)
    outside = tmp_path / "outside"
    outside.mkdir()
    out = isolated.work / "out"
    out.mkdir()
    (out / "index").symlink_to(outside, target_is_directory=True)
    outcome = run_tool("csiactcopy", *copy_args(remote, out), "mode=h")
    assert_error(outcome, 1, "'index'", "outside")
    assert list(outside.iterdir()) == []
