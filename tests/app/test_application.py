"""The application base class: construction forms, parameters, log and life cycle.

The log file, the life cycle and Python embedding of docs/log.rst and
docs/writing_tools.rst, with the changes of docs/differences.rst ("Errors
and exit status", "Log file errors", "Learning", "Honest figures and
widths"). The tool is the ``toytool`` of ``conftest.py``, so nothing here
needs a data store.
"""

from __future__ import annotations

import gc
import io
import logging
import re
import sys

import pytest

from iactcopy import __version__
from iactcopy.app.application import Application, is_argument
from iactcopy.errors import IactcopyError, ParameterError, UsageError

LOG_LINE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}: (.*)")
BANNER_END = "*" * 80
TRAILER = re.compile(r'Application "toytool" terminated after \S+ wall clock seconds, '
                     r"consuming \S+ seconds of CPU time and generating a carbon footprint "
                     r"of \S+ g eCO2\..*")

#: The values of toytool.par, in file order.
DEFAULTS = {"infile": "NONE", "count": 3, "ratio": 0.5, "flag": False, "where": "$HOME/x",
            "chatter": 2, "clobber": True, "debug": False, "mode": "ql",
            "logfile": "toytool.log"}


def texts(path) -> list[str]:
    """The lines of a log file without their prefix, checking that each has one."""
    result = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = LOG_LINE.fullmatch(line)
        assert match, line
        result.append(match.group(1))
    return result


def after_banner(lines: list[str]) -> list[str]:
    """The lines after the (first) banner box."""
    assert lines[0] == BANNER_END
    return lines[lines.index(BANNER_END, 1) + 1:]


def learned(path) -> dict[str, str]:
    """The name -> value fields of a user parameter file."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            fields = [field.strip() for field in line.split(",")]
            values[fields[0]] = fields[3]
    return values


# -- is_argument ---------------------------------------------------------------------
@pytest.mark.parametrize("item, expected", [
    ("csiactdata", False),
    ("/usr/bin/csiactdata", False),
    ("datapath=/x", True),
    ("  chatter=1 ", True),
    ("=x", True),
    ("@values.yaml", True),
    ("debug+", True),
    ("debug-", True),
    ("-", False),
    ("+", False),
])
def test_is_argument(item, expected):
    assert is_argument(item) is expected


# -- construction forms ------------------------------------------------------------------
def test_name_form_reads_the_par_file_and_opens_no_log(toy, isolated):
    app = toy()

    assert app.pardict() == DEFAULTS
    assert app.log.is_open is False
    app.logFileClose()
    del app
    gc.collect()
    assert list(isolated.work.iterdir()) == []


def test_keyword_form_sets_values_as_from_python(toy, isolated):
    app = toy(infile="a.fits", count=7, flag=True)

    assert app.pardict()["count"] == 7
    assert app.pardict()["flag"] is True
    app.run()  # settled values: nothing is prompted
    assert (app.infile, app.count) == ("a.fits", 7)
    assert list(isolated.work.iterdir()) == []


@pytest.mark.parametrize("argv", [
    ["toytool", "infile=a.fits", "count=4"],
    ["/usr/local/bin/toytool", "infile=a.fits", "count=4"],
    ["infile=a.fits", "count=4"],
    ("infile=a.fits", " count=4 "),
], ids=["program-name", "program-path", "no-program-name", "tuple-with-blanks"])
def test_argv_form_applies_arguments_and_opens_the_log(toy, isolated, argv):
    app = toy(argv)

    assert app["infile"].value() == "a.fits"
    assert app["count"].integer() == 4
    assert app.log.is_open
    lines = texts(isolated.work / "toytool.log")
    assert lines[0] == BANNER_END and lines[-1] == BANNER_END
    assert f"* Version: {__version__}" in " ".join(lines)
    app.logFileClose()


def test_argv_form_truncates_an_old_log(toy, isolated):
    (isolated.work / "toytool.log").write_text("old content\n")

    app = toy(["toytool"])
    app.logFileClose()

    assert "old content" not in (isolated.work / "toytool.log").read_text()


@pytest.mark.parametrize("argv, error, status", [
    (["toytool", "nosuch=1"], UsageError, 2),
    (["toytool", "count=11"], ParameterError, 2),
    (["toytool", "count=abc"], ParameterError, 2),
    (["toytool", "bogus"], UsageError, 2),
    (["toytool", "--help"], UsageError, 2),
    (["toytool", "count=1", "count=2"], UsageError, 2),
    (["toytool", "c=1"], UsageError, 2),
])
def test_argv_form_errors_open_no_log(toy, isolated, argv, error, status):
    with pytest.raises(error) as caught:
        toy(argv)

    assert isinstance(caught.value, ValueError)
    assert caught.value.exit_status == status
    assert "*** ERROR" not in str(caught.value)
    gc.collect()
    assert list(isolated.work.iterdir()) == []


# -- parameters -----------------------------------------------------------------------------
def test_item_access(toy):
    app = toy()

    assert app["count"].integer() == 3
    assert app[0].name == "infile"
    assert app[-1].name == "logfile"
    assert app.pars() is app.pars()
    with pytest.raises(IndexError):
        app[99]
    with pytest.raises(ParameterError, match='"nosuch"'):
        app["nosuch"]
    with pytest.raises(ParameterError, match='"nosuch"'):
        app["nosuch"] = 1


@pytest.mark.parametrize("name, value", [
    ("chatter", 9), ("chatter", -1), ("chatter", "abc"), ("chatter", 1.5),
    ("count", 0), ("count", 11), ("flag", "maybe"), ("mode", "x"),
])
def test_bad_assignment_raises_and_keeps_the_value(toy, name, value):
    app = toy()
    before = app.pardict()[name]

    with pytest.raises(ParameterError) as caught:
        app[name] = value

    assert isinstance(caught.value, ValueError)
    assert name in str(caught.value)
    assert app.pardict()[name] == before


def test_pardict_types_and_assignment(toy):
    app = toy()

    values = app.pardict()
    assert values == DEFAULTS
    assert [type(values[name]) for name in ("count", "ratio", "flag", "where")] == [
        int, float, bool, str]

    assert app.pardict({"count": 5, "ratio": 2.5, "flag": "yes", "infile": "b"}) is None
    assert app.pardict() == {**DEFAULTS, "count": 5, "ratio": 2.5, "flag": True,
                             "infile": "b"}
    app["count"] = "INDEF"
    assert app.pardict()["count"] == "INDEF"
    with pytest.raises(ParameterError):
        app.pardict({"count": 99})


def test_str_of_the_name_form(toy):
    app = toy(count=4)

    assert str(app) == "\n".join([
        "=== GApplication ===",
        " Name ......................: toytool",
        f" Version ...................: {__version__}",
        " Running instances .........: 0",
        " infile ....................: NONE",
        " count .....................: 4",
        " ratio .....................: 0.5",
        " flag ......................: no",
        " where .....................: $HOME/x",
        " chatter ...................: 2",
        " clobber ...................: yes",
        " debug .....................: no",
        " mode ......................: ql",
        " logfile ...................: toytool.log",
    ])


def test_str_of_the_argv_form_lists_command_and_arguments(toy):
    app = toy(["toytool", "infile=a.fits", "count=4", "flag+"])
    app.logFileClose()

    lines = str(app).splitlines()
    assert lines[4:8] == [
        " Command ...................: toytool",
        " Arguments .................: infile=a.fits",
        " " * 29 + ": count=4",
        " " * 29 + ": flag+",
    ]
    assert lines[8] == " infile ....................: a.fits"
    assert not str(app).endswith("\n")


def test_str_without_program_name_names_the_tool(toy):
    app = toy(["count=4"])
    app.logFileClose()

    assert " Command ...................: toytool" in str(app).splitlines()


def test_running_instances_counts_runs_in_progress(toy):
    seen = []
    app = toy(infile="a", count=1)
    app.during = lambda self: seen.append(str(self).splitlines()[3])

    app.run()
    app.failure = RuntimeError("boom")
    with pytest.raises(RuntimeError):
        app.run()

    assert seen == [" Running instances .........: 1"] * 2
    # Restored after a failure too (ctools left it raised).
    assert str(app).splitlines()[3] == " Running instances .........: 0"


# -- the log file ----------------------------------------------------------------------------
@pytest.mark.parametrize("logfile", ["NONE", "none", "INDEF", "", "UNDEFINED"])
def test_undefined_logfile_opens_nothing(toy, isolated, logfile):
    app = toy(logfile=logfile, infile="a", count=1)

    app.logFileOpen()
    app.run()
    app.logFileClose()

    assert app.log.is_open is False
    assert list(isolated.work.iterdir()) == []


def test_logfileopen_writes_the_banner_and_close_the_trailer(toy, isolated):
    app = toy(infile="a", count=2, chatter=1, logfile="run.log")
    app.logFileOpen()
    app.execute()
    app.logFileClose()
    app.logFileClose()  # the second close writes nothing more
    del app
    gc.collect()

    lines = texts(isolated.work / "run.log")
    assert lines.count(BANNER_END) == 2
    assert after_banner(lines)[:3] == ["+============+", "| Parameters |", "+============+"]
    assert lines[-2] == ""
    assert TRAILER.fullmatch(lines[-1])
    assert sum(bool(TRAILER.fullmatch(line)) for line in lines) == 1


def test_logfileopen_expands_variables(toy, isolated, monkeypatch):
    monkeypatch.setenv("LOGDIR", str(isolated.root))

    app = toy(logfile="$LOGDIR/expanded.log")
    app.logFileOpen()
    app.logFileClose()

    assert (isolated.root / "expanded.log").is_file()


def test_logfileopen_append_keeps_old_content(toy, isolated):
    first = toy(logfile="run.log")
    first.logFileOpen()
    first.logFileClose()

    second = toy(logfile="run.log")
    second.logFileOpen(False)
    second.logFileClose()

    lines = texts(isolated.work / "run.log")
    assert lines.count(BANNER_END) == 4
    assert sum(bool(TRAILER.fullmatch(line)) for line in lines) == 2


def test_logfileopen_again_restarts_the_file_without_trailer(toy, isolated):
    app = toy(["toytool", "logfile=run.log"])
    app.logFileOpen()

    lines = texts(isolated.work / "run.log")
    assert lines.count(BANNER_END) == 2
    assert not any(TRAILER.fullmatch(line) for line in lines)
    app.logFileClose()


def test_logfileopen_failure_is_a_clear_error(toy, isolated):
    app = toy(logfile=str(isolated.root / "no" / "such" / "x.log"))

    with pytest.raises(IactcopyError, match=r'cannot open the log file ".*x\.log"') as caught:
        app.logFileOpen()

    assert caught.value.exit_status == 1
    assert not app.log.is_open


def test_trailer_is_written_when_the_object_goes(toy, isolated):
    app = toy(["toytool", "infile=a", "count=1"])
    app.run()
    del app
    gc.collect()

    lines = texts(isolated.work / "toytool.log")
    assert TRAILER.fullmatch(lines[-1])


def test_no_log_output_before_logfileopen_reaches_the_file(toy, isolated):
    app = toy(infile="a", count=1, logfile="late.log")
    app.run()
    app.logFileOpen()
    app.logFileClose()

    assert after_banner(texts(isolated.work / "late.log")) == [
        "", TRAILER.fullmatch(texts(isolated.work / "late.log")[-1]).group(0)]


# -- chatter and debug ------------------------------------------------------------------------
@pytest.mark.parametrize("chatter", [0, 1, 2, 3, 4])
def test_chatter_gates_the_log(toy, isolated, chatter):
    app = toy(["toytool", "infile=a", "count=5", f"chatter={chatter}"])
    app.run()
    app.logFileClose()

    body = after_banner(texts(isolated.work / "toytool.log"))[:-2]
    assert ("| Parameters |" in body) == (chatter >= 1)
    assert ("| Work |" in body) == (chatter >= 1)
    assert (" Count .....................: 5" in body) == (chatter >= 2)
    assert ("WARNING: a warning from below" in body) == (chatter >= 1)
    if chatter == 0:
        assert body == []


def test_chatter_is_read_again_on_every_run(toy, isolated):
    app = toy(["toytool", "infile=a", "count=5", "chatter=0"])
    app.run()
    app["chatter"] = 2
    app.run()
    app.logFileClose()

    body = after_banner(texts(isolated.work / "toytool.log"))
    assert body.count("| Parameters |") == 1


def test_parameter_dump_shows_raw_text_and_not_queried(toy, isolated):
    app = toy(["toytool", "infile=a", "flag=YES"])

    app.log_parameters()
    app.logFileClose()

    body = after_banner(texts(isolated.work / "toytool.log"))
    # Straight after the banner, with no blank line before it, as in ctools.
    assert body[:3] == ["+============+", "| Parameters |", "+============+"]
    assert " count .....................: [not queried]" in body
    assert " flag ......................: YES" in body
    assert " where .....................: $HOME/x" in body


def test_debug_set_before_logfileopen_echoes_the_banner(toy, isolated, capsys):
    app = toy(debug=True, logfile="run.log")
    app.logFileOpen()
    app.logFileClose()

    assert capsys.readouterr().out == (isolated.work / "run.log").read_text()


def test_debug_set_before_run_echoes_from_there(toy, isolated, capsys):
    app = toy(["toytool", "infile=a", "count=1"])
    app["debug"] = True
    app.run()
    app.logFileClose()

    out = capsys.readouterr().out
    log = (isolated.work / "toytool.log").read_text()
    assert BANNER_END not in out
    assert out and log.endswith(out)


def test_debug_echo_without_log_file(toy, isolated, capsys):
    app = toy(infile="a", count=1, debug=True)
    app.run()

    out = capsys.readouterr().out
    assert " Count .....................: 1" in out
    assert list(isolated.work.iterdir()) == []


def test_log_error_writes_one_line_when_open(toy, isolated):
    app = toy(["toytool"])
    app.log.string(1, "unfinished", linefeed=False)
    app.log_error("it broke")
    app.logFileClose()

    body = after_banner(texts(isolated.work / "toytool.log"))
    assert body[:2] == ["unfinished", "*** ERROR: it broke"]

    closed = toy()
    closed.log_error("nowhere to go")  # no log: nothing happens


def test_library_records_reach_the_log_only_during_run(toy, isolated):
    library = logging.getLogger("iactcopy")
    handlers, level = list(library.handlers), library.level
    app = toy(["toytool", "infile=a", "count=1"])
    logging.getLogger("iactcopy.toy").warning("before the run")
    app.run()
    logging.getLogger("iactcopy.toy").warning("after the run")
    app.logFileClose()

    body = texts(isolated.work / "toytool.log")
    assert "WARNING: a warning from below" in body
    assert not any("before the run" in line or "after the run" in line for line in body)
    assert (library.handlers, library.level) == (handlers, level)


# -- warnings from the parameter engine -----------------------------------------------------------
def test_parameter_warnings_go_to_stderr_and_into_the_log(toy, isolated, capsys):
    isolated.pfiles.mkdir()
    user_text = (isolated.syspfiles / "toytool.par").read_text().replace(
        "count,   i, a, 3,1,10", "count,   i, a, 99,1,10")
    isolated.user_par.write_text(user_text)

    app = toy(infile="a", logfile="run.log")
    err = capsys.readouterr().err
    assert "WARNING: " in err and "toytool.par" in err and "count" in err
    assert app["count"].integer() == 3, "the stale value is dropped"

    app.logFileOpen()  # the warning given before the log opened is written now
    app.logFileClose()
    body = after_banner(texts(isolated.work / "run.log"))
    assert body[0].startswith("WARNING: ") and "count" in body[0]


def test_unanswered_prompt_warns_and_keeps_the_value(toy, isolated, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    app = toy(["toytool", "count=2"])
    app.run()
    app.logFileClose()

    captured = capsys.readouterr()
    assert captured.out.startswith("Input file [NONE] ")
    assert 'WARNING: no answer for "infile", using "NONE"' in captured.err
    assert 'WARNING: no answer for "infile", using "NONE"' in texts(
        isolated.work / "toytool.log")
    assert app.infile == "NONE"


# -- run, save, execute, learning ------------------------------------------------------------------
def test_run_does_not_save_or_learn(toy, isolated):
    app = toy(infile="a.fits", count=4)
    app.run()

    assert not hasattr(app, "saved")
    assert not isolated.pfiles.exists()


def test_execute_saves_and_learns_changed_learn_mode_values(toy, isolated):
    app = toy(infile="a.fits", count=4, chatter=4, flag=True)
    app.execute()

    assert app.saved is True
    values = learned(isolated.user_par)
    assert values["infile"] == "a.fits"
    assert values["count"] == "4"
    assert values["chatter"] == "2", "hidden parameters are not learned"
    assert values["flag"] == "no"

    again = toy()
    assert again.pardict()["infile"] == "a.fits"
    assert again.pardict()["count"] == 4


def test_prompt_answers_are_learned_by_execute(toy, isolated, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("b.fits\n6\n"))
    app = toy()
    app.execute()

    assert capsys.readouterr().out.startswith("Input file [NONE] b.fits\n")
    assert (learned(isolated.user_par)["infile"], learned(isolated.user_par)["count"]) == (
        "b.fits", "6")


def test_failed_execute_raises_and_learns_nothing(toy, isolated):
    app = toy(infile="a.fits", count=4)
    app.failure = IactcopyError("cannot go on")

    with pytest.raises(IactcopyError, match="cannot go on"):
        app.execute()

    assert not isolated.pfiles.exists()


def test_interrupted_execute_learns_nothing(toy, isolated):
    app = toy(infile="a.fits", count=4)
    app.failure = KeyboardInterrupt()

    with pytest.raises(KeyboardInterrupt):
        app.execute()

    assert not isolated.pfiles.exists()


def test_exit_status_of_a_finished_run_is_0(toy):
    class Plain(Application):
        name = "toytool"

    assert Plain().exit_status == 0
    with pytest.raises(NotImplementedError):
        Plain(infile="a", count=1).run()


@pytest.mark.parametrize("text, expected", [
    ("", ""),
    ("  ", ""),
    ("a/b/../c/", "a/c"),
    ("$HOME/data", "{home}/data"),
    ("~/data", "{home}/data"),
])
def test_expand_path(isolated, text, expected):
    assert Application.expand_path(text) == expected.format(home=isolated.home)


def _library_warning(app) -> None:
    import warnings

    warnings.warn("DSA is deprecated (a library's own business)", UserWarning, stacklevel=1)


@pytest.mark.parametrize("debug", [False, True])
def test_library_warnings_only_with_debug(toy, isolated, debug):
    import warnings

    app = toy(["toytool", "infile=a.fits", f"debug={'yes' if debug else 'no'}"])
    app.during = _library_warning
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("default")
        app.run()
    assert any("DSA is deprecated" in str(w.message) for w in shown) is debug
