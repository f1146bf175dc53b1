"""The tests of csrunselect, run where the package is installed (``pip install .``).

Each test has its own ``HOME``, user parameter folder and working folder, so
that no test reads or writes a real ``~/pfiles``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from runtools.csrunselect import csrunselect, read_ids

RUNS = "# a run list\n23523\n23526  # comment\n\n23559\n23592\n18000\n"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch) -> Path:
    """``HOME`` and ``PFILES`` (a user folder only) in *tmp_path*; cwd ``<tmp>/work``."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PFILES", str(tmp_path / "pfiles"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "runs.txt").write_text(RUNS)
    return tmp_path


def command(*args: str, answers: str = "") -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("csrunselect")
    return subprocess.run([str(script), *args], input=answers, capture_output=True, text=True,
                          env=os.environ.copy(), timeout=60)


def test_read_ids_skips_comments_and_blank_lines(isolated):
    assert read_ids("runs.txt") == [23523, 23526, 23559, 23592, 18000]


def test_from_python(isolated):
    app = csrunselect(inlist="runs.txt", minid=23500, maxid=23560, outlist="out.txt")
    app.execute()
    assert app.ids() == [23523, 23526, 23559]
    assert Path("out.txt").read_text() == "23523\n23526\n23559\n"


def test_command_prompts_learns_and_logs(isolated):
    result = command(answers="runs.txt\n23500\n23590\nout.txt\n")
    assert result.returncode == 0, result.stderr
    assert "Smallest observation ID to keep (0-999999999) [0] " in result.stdout
    assert Path("out.txt").read_text() == "23523\n23526\n23559\n"
    learned = (isolated / "pfiles" / "csrunselect.par").read_text()
    assert "minid,   i, a, 23500," in learned
    log = Path("csrunselect.log").read_text()
    assert "Version: 1.2.0" in log and "Package: runtools" in log
    # Enter keeps each learned value.
    again = command(answers="\n\n\n\n")
    assert again.returncode == 0, again.stderr
    assert "[23500]" in again.stdout


def test_bad_value_is_one_error_line_with_status_2(isolated):
    result = command("minid=abc")
    assert result.returncode == 2
    assert result.stderr.startswith("*** ERROR: ") and "'abc'" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_bad_run_list_names_the_line(isolated):
    Path("bad.txt").write_text("23523\nrun 5\n")
    result = command("inlist=bad.txt", "mode=h")
    assert result.returncode == 1
    assert "bad.txt:2: 'run' is not an observation ID" in result.stderr


def test_version():
    assert command("--version").stdout == "csrunselect (runtools) 1.2.0\n"
