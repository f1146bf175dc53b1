"""The command-line entry point: exit statuses, error lines, --help and --version.

docs/differences.rst, "Errors and exit status": ``*** ERROR: <message>``
once on stderr and in the log; exit status 0, 1, 2, 3 or 130; a traceback only for an internal
error and only with ``debug=yes``. The tool is the ``toytool`` of
``conftest.py``; ``--help`` is shown for csiactdata, whose ``.par`` ships
with the package. The console scripts themselves are run in
``tests/tools/test_csiactdata.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from iactcopy import __version__
from iactcopy.app import cli
from iactcopy.app.cli import guarded, main_for, report_error, run_application, wants_debug
from iactcopy.app.helptext import help_text
from iactcopy.errors import (
    DataStoreError,
    IactcopyError,
    IndexTableError,
    ParameterError,
    RunListError,
    UsageError,
)
from iactcopy.tools.csiactdata import csiactdata

LOG_LINE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}: (.*)")
TRAILER = re.compile(r'Application "toytool" terminated after .* g eCO2\..*')
CSIACTDATA_PAR = Path(__file__).resolve().parents[2] / "par" / "csiactdata.par"


def texts(path) -> list[str]:
    """The lines of a log file without their prefix, checking that each has one."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert all(LOG_LINE.fullmatch(line) for line in lines), lines
    return [LOG_LINE.fullmatch(line).group(1) for line in lines]


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("*** ERROR: ")
    assert not lines[0].startswith("*** ERROR: *** ERROR")
    return lines[0]


# -- report_error and wants_debug ------------------------------------------------------------
def test_report_error_is_one_line(capsys):
    report_error("first line\nsecond line")

    assert capsys.readouterr().err == "*** ERROR: first line second line\n"


@pytest.mark.parametrize("argv, expected", [
    ([], False),
    (["debug=yes"], True),
    (["debug=YES"], True),
    (["debug=y"], True),
    (["debug=true"], True),
    (["debug=t"], True),
    ([" debug = yes "], False),
    (["debug=no"], False),
    (["debug+"], True),
    (["debug-"], False),
    (["datapath=debug=yes"], False),
    (["chatter=4", "debug=yes", "x=1"], True),
])
def test_wants_debug(argv, expected):
    assert wants_debug(argv) is expected


# -- guarded: exit statuses ------------------------------------------------------------------
@pytest.mark.parametrize("error, status", [
    (IactcopyError("plain"), 1),
    (ParameterError("bad value"), 2),
    (UsageError("bad line"), 2),
    (DataStoreError("no store"), 1),
    (IndexTableError("no index"), 1),
    (RunListError("list.txt:3: bad"), 1),
])
@pytest.mark.parametrize("debug", [False, True])
def test_user_errors_give_their_status_and_one_line(capsys, error, status, debug):
    messages = []

    def work():
        raise error

    assert guarded(work, debug=debug, on_error=messages.append) == status

    captured = capsys.readouterr()
    assert one_error_line(captured.err) == f"*** ERROR: {error}"
    assert "Traceback" not in captured.err, "a user error needs no traceback, even in debug"
    assert messages == [str(error)]
    assert captured.out == ""


def test_finished_work_gives_its_own_status(capsys):
    assert guarded(lambda: 0, debug=False) == 0
    assert guarded(lambda: 3, debug=False) == 3
    assert capsys.readouterr().err == ""


def test_ctrl_c_gives_130(capsys):
    messages = []

    def work():
        raise KeyboardInterrupt

    assert guarded(work, debug=True, on_error=messages.append) == 130

    err = capsys.readouterr().err
    assert one_error_line(err) == "*** ERROR: interrupted by the user (Ctrl-C)"
    assert messages == ["interrupted by the user (Ctrl-C)"]


def test_internal_error_without_debug_gives_1_and_a_hint(capsys):
    def work():
        raise ZeroDivisionError("division by zero")

    assert guarded(work, debug=False) == 1

    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("*** ERROR: ZeroDivisionError: division by zero")
    assert "debug=yes" in line


def test_internal_error_with_debug_shows_the_traceback(capsys):
    def work():
        raise ZeroDivisionError("division by zero")

    assert guarded(work, debug=True) == 1

    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert "in work" in err
    assert err.splitlines()[-1] == "*** ERROR: ZeroDivisionError: division by zero"


def test_broken_pipe_gives_0_and_silences_stdout(capsys, monkeypatch):
    silenced = []
    monkeypatch.setattr(cli, "_silence_stdout", lambda: silenced.append(True))

    def work():
        raise BrokenPipeError(32, "Broken pipe")

    assert guarded(work, debug=True) == 0

    assert silenced == [True]
    assert capsys.readouterr().err == ""


# -- run_application --------------------------------------------------------------------------
def test_success_returns_0_learns_and_closes_the_log(toy, isolated, capsys):
    status = run_application(toy, ["infile=a.fits", "count=4", "chatter=1"])

    assert status == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")
    lines = texts(isolated.work / "toytool.log")
    assert lines[-2] == "" and TRAILER.fullmatch(lines[-1])
    assert "infile,  f, a, a.fits" in isolated.user_par.read_text()


def test_status_3_is_returned_and_learns(toy, isolated):
    toy.status = 3

    assert run_application(toy, ["infile=a.fits", "count=4"]) == 3
    assert isolated.user_par.is_file()


def test_user_error_is_logged_and_learns_nothing(toy, isolated, capsys):
    toy.failure = DataStoreError('Master index file "x/master.json" not found.')

    status = run_application(toy, ["infile=a.fits", "count=4", "debug=yes"])

    assert status == 1
    captured = capsys.readouterr()
    line = one_error_line(captured.err)
    assert line == '*** ERROR: Master index file "x/master.json" not found.'
    lines = texts(isolated.work / "toytool.log")
    assert lines[-3:-1] == [line, ""]
    assert TRAILER.fullmatch(lines[-1])
    # debug=yes: the log, error line and trailer included, is echoed to stdout.
    assert captured.out == (isolated.work / "toytool.log").read_text()
    assert not isolated.pfiles.exists()


def test_invalid_command_line_gives_2_without_log(toy, isolated, capsys):
    status = run_application(toy, ["count=11"])

    assert status == 2
    line = one_error_line(capsys.readouterr().err)
    assert "count" in line and "11" in line
    assert list(isolated.work.iterdir()) == []


def test_internal_error_in_the_tool_with_debug(toy, isolated, capsys):
    toy.failure = KeyError("oops")

    status = run_application(toy, ["infile=a", "count=1", "debug+"])

    assert status == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last):" in err
    assert err.splitlines()[-1] == "*** ERROR: KeyError: 'oops'"
    assert "*** ERROR: KeyError: 'oops'" in texts(isolated.work / "toytool.log")


def test_ctrl_c_in_the_tool_is_logged(toy, isolated, capsys):
    toy.failure = KeyboardInterrupt()

    assert run_application(toy, ["infile=a", "count=1"]) == 130
    assert "*** ERROR: interrupted by the user (Ctrl-C)" in texts(
        isolated.work / "toytool.log")
    assert not isolated.pfiles.exists()


@pytest.mark.parametrize("argv", [
    ["--help"], ["-h"], ["datapath=/x", "--help"], ["--help", "nosuch=1"],
    ["chatter=9", " --help", "debug=yes"], ["--version", "--help"],
])
def test_help_anywhere(isolated, capsys, monkeypatch, argv):
    monkeypatch.delenv("PFILES")
    monkeypatch.delenv("HOME")

    assert run_application(csiactdata, argv) == 0

    captured = capsys.readouterr()
    assert captured.out == help_text(csiactdata)
    assert captured.err == ""
    assert list(isolated.work.iterdir()) == []


@pytest.mark.parametrize("argv", [["--version"], ["datapath=/x", "--version"]])
def test_version(isolated, capsys, argv):
    assert run_application(csiactdata, argv) == 0

    assert capsys.readouterr().out == f"csiactdata (iactcopy) {__version__}\n"
    assert list(isolated.work.iterdir()) == []


def test_help_into_a_closed_pipe_gives_0(isolated, capsys, monkeypatch):
    silenced = []
    monkeypatch.setattr(cli, "_silence_stdout", lambda: silenced.append(True))

    def closed(text):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli.sys.stdout, "write", closed)

    assert run_application(csiactdata, ["--help"]) == 0
    assert silenced == [True]


# -- help_text ------------------------------------------------------------------------------
def test_help_text_is_built_from_the_shipped_par_file(isolated):
    # A learned value in the user's copy is not what --help shows as default.
    isolated.pfiles.mkdir()
    (isolated.pfiles / "csiactdata.par").write_text(
        CSIACTDATA_PAR.read_text().replace("datapath,    s, a, NONE", "datapath, s, a, /mine"))

    text = help_text(csiactdata)

    assert text.startswith("usage: csiactdata ")
    assert str(CSIACTDATA_PAR.name) in text
    assert "/mine" not in text
    assert "datapath (string, prompted (automatic), learned) default: NONE" in text
    assert "chatter (integer, hidden) default: 2, range 0 to 4" in text
    flat = " ".join(text.split())
    for line in CSIACTDATA_PAR.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, prompt = line.split(",")[0].strip(), line.rsplit('"', 2)[-2]
            assert f"  {name} (" in text
            assert " ".join(prompt.split()) in flat
    assert "130" in text and text.endswith("\n")


def test_main_for_exits_with_the_status(toy, isolated, monkeypatch):
    monkeypatch.setattr(cli.sys, "argv", ["toytool", "count=11"])
    main = main_for(toy)

    with pytest.raises(SystemExit) as caught:
        main()

    assert caught.value.code == 2
    assert "toytool" in main.__doc__
