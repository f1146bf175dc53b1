"""What rsync users expect of csiactcopy: a dry run, a space check, verify=yes, a summary.

Each test starts from a feature of docs/differences.rst ("Dry run", "Free
space", "Content check", "Terminal summary") or from an attack on it, and
looks at what a user sees: stdout, stderr, the log, the files in
``outpath`` and the exit status.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

from copychecks import SIM_NAME, SIM_NOBS, assert_consistent, copy_args, ok

from iactcopy.app.cli import run_application
from iactcopy.store.transfer import freespace
from iactcopy.tools.csiactcopy import csiactcopy


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


# -- dryrun=yes -----------------------------------------------------------------------
def test_dry_run_shows_the_plan_and_writes_nothing(sim_master, isolated, csiactcopy_cmd):
    out = isolated.work / "out"
    result = ok(csiactcopy_cmd(*copy_args(sim_master, out, "dryrun=yes", "report=r.yaml")))
    assert not out.exists(), "a dry run created outpath"
    assert not (isolated.work / "r.yaml").exists()
    assert not isolated.pfiles.exists(), "a dry run learned parameters"
    assert f"Observations: {SIM_NOBS}" in result.stdout
    assert "Files to copy: " in result.stdout and "Files up to date: 0" in result.stdout
    assert "MB" in result.stdout
    log = (isolated.work / "csiactcopy.log").read_text(encoding="utf-8")
    assert "Dry run: nothing is copied or written" in log
    assert "Copying files" not in log


def test_dry_run_of_a_local_store_changes_no_byte_of_it(sim_master, isolated, csiactcopy_cmd):
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(sim_master, out)))
    victim = next((out / "data").iterdir())
    victim.unlink()
    (out / "data" / "stale.fits.part").write_bytes(b"x")
    before = _tree(out)
    result = ok(csiactcopy_cmd(*copy_args(sim_master, out, "dryrun=yes")))
    assert _tree(out) == before
    assert "Files to copy: 1 " in result.stdout
    assert f"Files up to date: {SIM_NOBS - 1}" in result.stdout


# -- free space -----------------------------------------------------------------------
def _little_space(monkeypatch, free: int) -> None:
    real = os.statvfs

    class Figures:
        def __init__(self, path):
            self.f_frsize = 1000
            self.f_bavail = free // 1000
            self.path = real(path)

    monkeypatch.setattr(freespace.os, "statvfs", Figures)


def test_too_little_free_space_is_one_line_before_the_first_byte(sim_master, isolated,
                                                                  monkeypatch, capsys):
    _little_space(monkeypatch, 4_000_000)
    out = isolated.work / "out"
    status = run_application(csiactcopy, list(copy_args(sim_master, out)))
    error = capsys.readouterr().err
    assert status == 1
    lines = [line for line in error.splitlines() if line.startswith("*** ERROR")]
    assert len(lines) == 1, error
    assert "needs 10 MB, 4.0 MB free on" in lines[0], lines[0]
    assert str(isolated.work) in lines[0]
    assert not out.exists()


def test_enough_free_space_copies(sim_master, isolated, monkeypatch):
    _little_space(monkeypatch, 50_000_000)
    out = isolated.work / "out"
    assert run_application(csiactcopy, list(copy_args(sim_master, out))) == 0
    assert_consistent(out, sim_master.parent)


# -- content checks -------------------------------------------------------------------
_HTML = b"<!DOCTYPE html>\n<html><body>Please log in</body></html>\n"


def _data_file(master: Path, number: int = 3) -> Path:
    return sorted((master.parent / "data").iterdir())[number]


def test_html_page_for_a_data_file_is_a_failed_file(sim_copy, isolated, csiactcopy_cmd):
    master = sim_copy()
    page = _data_file(master)
    page.write_bytes(_HTML)
    out = isolated.work / "out"
    result = ok(csiactcopy_cmd(*copy_args(master, out)), 3)
    local = out / "data" / page.name
    assert not local.exists(), "the HTML page was stored under the data file's name"
    assert "neither FITS nor gzip" in result.stderr
    _, obs = assert_consistent(out)
    assert int(page.name.split("_")[-1].split(".")[0]) not in {int(i) for i in obs["OBS_ID"]}


def test_empty_or_html_documentation_files_are_not_kept(sim_copy, isolated, csiactcopy_cmd):
    master = sim_copy()
    (master.parent / "README").write_bytes(_HTML)
    (master.parent / "LICENSE").write_bytes(b"")
    (master.parent / "README.md").write_text("# A real README\n", encoding="utf-8")
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(master, out)))
    assert not (out / "README").exists() and not (out / "LICENSE").exists()
    assert (out / "README.md").read_text(encoding="utf-8") == "# A real README\n"
    log = (isolated.work / "csiactcopy.log").read_text(encoding="utf-8")
    assert "README not kept" in log and "LICENSE not kept" in log


def _damage_keeping_size_and_time(path: Path) -> None:
    times = path.stat()
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))
    os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))


def test_verify_finds_a_damaged_remote_gzip_and_reports_it(sim_copy, isolated,
                                                           csiactcopy_cmd):
    master = sim_copy()
    damaged = _data_file(master)
    _damage_keeping_size_and_time(damaged)
    ok(csiactcopy_cmd(*copy_args(master, isolated.work / "plain")))  # size and time: fine
    out = isolated.work / "out"
    result = ok(csiactcopy_cmd(*copy_args(master, out, "verify=yes")), 3)
    assert not (out / "data" / damaged.name).exists()
    assert "gzip data is damaged" in result.stderr and "fetched twice" in result.stderr
    assert_consistent(out)


def test_verify_copies_a_damaged_local_file_again(sim_master, isolated, csiactcopy_cmd):
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(sim_master, out)))
    local = out / "data" / _data_file(sim_master).name
    _damage_keeping_size_and_time(local)
    ok(csiactcopy_cmd(*copy_args(sim_master, out)))
    assert local.read_bytes() != _data_file(sim_master).read_bytes()  # size and time agree
    ok(csiactcopy_cmd(*copy_args(sim_master, out, "verify=yes")))
    assert local.read_bytes() == _data_file(sim_master).read_bytes()
    assert_consistent(out, sim_master.parent)


def test_verify_checks_fits_blocks_and_checksums(tmp_path):
    from astropy.io import fits

    from iactcopy.store.transfer.contentcheck import check_stream

    path = tmp_path / "events.fits"
    fits.HDUList([fits.PrimaryHDU(),
                  fits.BinTableHDU.from_columns([fits.Column("E", "D", array=range(500))])]
                 ).writeto(path, checksum=True)
    good = path.read_bytes()
    with open(path, "rb") as stream:
        assert check_stream(stream, verify=True) is None
    data = bytearray(good)
    data[-2880 - 8] ^= 1
    path.write_bytes(bytes(data))
    with open(path, "rb") as stream:
        assert "DATASUM" in check_stream(stream, verify=True)
    path.write_bytes(good[:-2880])
    with open(path, "rb") as stream:
        assert "cut short" in check_stream(stream, verify=True)
    path.write_bytes(good + b"x" * 100)
    with open(path, "rb") as stream:
        assert "whole number of 2880-byte blocks" in check_stream(stream, verify=True)
    path.write_bytes(gzip.compress(good))
    with open(path, "rb") as stream:
        assert check_stream(stream, verify=True) is None


def test_a_file_that_fails_once_is_fetched_again(sim_master, isolated, monkeypatch):
    from iactcopy.store.access.sources import LocalSource

    real = LocalSource.copy_to
    spoiled: list[str] = []

    def flaky(self, relpath, dest, callback=None):
        if relpath.endswith("001003.fits.gz") and not spoiled:
            spoiled.append(relpath)
            size = self.info(relpath).size
            dest.write(b"<html>" + b" " * (size - 6))
            callback.relative_update(size)
            return size
        return real(self, relpath, dest, callback)

    monkeypatch.setattr(LocalSource, "copy_to", flaky)
    app = csiactcopy(remote_master=str(sim_master), prodname=SIM_NAME,
                     outpath=str(isolated.work / "out"))
    app.run()
    assert spoiled and app.exit_status == 0
    assert_consistent(isolated.work / "out", sim_master.parent)
    shutil.rmtree(isolated.work / "out")


# -- at a terminal --------------------------------------------------------------------
def _run_at_terminal(command: list[str], cwd: Path) -> str:
    """Run *command* with stdout and stderr on a pseudo-terminal; return what it showed."""
    import fcntl
    import pty
    import struct
    import subprocess
    import termios

    master, slave = pty.openpty()
    # A new pseudo-terminal is 0 columns wide, and tqdm draws nothing there.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                               cwd=cwd)
    os.close(slave)
    shown = bytearray()
    while True:
        try:
            piece = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other side closed
            break
        if not piece:
            break
        shown += piece
    os.close(master)
    assert process.wait(timeout=120) == 0, shown.decode(errors="replace")
    return shown.decode("utf-8", errors="replace")


def test_at_a_terminal_the_bar_stays_at_100_and_a_summary_follows(sim_master, isolated,
                                                                    csiactcopy_cmd):
    shown = _run_at_terminal([*csiactcopy_cmd.command, *copy_args(sim_master, "out")],
                             isolated.work)
    last = shown.replace("\r\n", "\n").split("\n")
    bars = [line.rsplit("\r", 1)[-1] for line in last if "csiactcopy" in line and "%" in line]
    assert bars and "100%" in bars[-1], shown
    summary = [line for line in last if "files copied" in line]
    assert summary == [f"{SIM_NOBS} files copied, 0 up to date, 0 missing or failed, "
                       + summary[0].split("failed, ", 1)[1]], shown
    assert str(isolated.work / "csiactcopy.log") in summary[0]


def test_into_a_pipe_stdout_stays_empty(sim_master, isolated, csiactcopy_cmd):
    result = ok(csiactcopy_cmd(*copy_args(sim_master, "out")))
    assert result.stdout == ""
