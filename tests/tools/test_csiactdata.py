"""csiactdata from the command line and from Python (docs/tools/csiactdata.rst).

The golden tests compare the log of a run on the H.E.S.S. DL3 DR1 store,
line for line, with the log ctools' csiactdata writes for that store.  The
command-line tests run the installed console script in a subprocess, so that
exit statuses, stderr and signals are the real ones.
"""

from __future__ import annotations

import calendar
import json
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from iactcopy import __version__
from iactcopy.errors import DataStoreError, ParameterError
from iactcopy.tools.csiactdata import csiactdata

PROMPT = "Path were data are located (NONE uses $VHEFITS environment variable) [NONE] "

#: Every log line: ``YYYY-MM-DDThh:mm:ss: `` then the text (blank lines keep the space).
LOG_LINE = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}): (.*)")
_NUMBER = r"[0-9]+(?:\.[0-9]+)?(?:e[+-][0-9]+)?"
TRAILER = re.compile(
    rf'Application "csiactdata" terminated after ({_NUMBER}) wall clock seconds, '
    rf"consuming ({_NUMBER}) seconds of CPU time and generating a carbon footprint of "
    rf"({_NUMBER}) g eCO2\.( Please watch your carbon footprint\.)?"
    rf"( This was rather quick and economic!)?( Hope it was worth waiting \.\.\.)?")


# -- reading a log ---------------------------------------------------------------
def log_texts(text: str) -> list[str]:
    """The lines of a log without their prefix, checking that every line has one."""
    assert text.endswith("\n"), "the log must end with a finished line"
    texts = []
    for line in text[:-1].split("\n"):
        match = LOG_LINE.fullmatch(line)
        assert match, f"line without the YYYY-MM-DDThh:mm:ss: prefix: {line!r}"
        texts.append(match.group(2))
    return texts


def log_times(text: str) -> list[float]:
    """The UTC times of the log lines, as seconds since the epoch."""
    return [calendar.timegm(time.strptime(LOG_LINE.fullmatch(line).group(1),
                                          "%Y-%m-%dT%H:%M:%S"))
            for line in text[:-1].split("\n")]


def split_log(text: str) -> tuple[list[str], list[str], str]:
    """Cut a log into (banner lines, body lines, trailer line), checking banner and trailer.

    The banner is a box of 80-wide lines between two lines of 80 stars that
    names the tool, the version and iactcopy (docs/differences.rst, "Log
    format"). The log ends with a blank line and the trailer.
    """
    texts = log_texts(text)
    stars = "*" * 80
    assert texts[0] == stars
    end = texts.index(stars, 1)
    banner = texts[: end + 1]
    assert all(len(line) == 80 for line in banner), banner
    assert all(line.startswith("*") and line.endswith("*") for line in banner)
    assert re.fullmatch(r"\* {34}csiactdata {34}\*", banner[1])
    assert any(re.fullmatch(rf"\* Version: {re.escape(__version__)} +\*", line)
               for line in banner), banner
    assert any(re.search(r"\biactcopy\b", line) for line in banner), banner
    assert texts[-2] == "", "a blank line comes before the trailer"
    assert TRAILER.fullmatch(texts[-1]), texts[-1]
    return banner, texts[end + 1: -2], texts[-1]


def expected_body(store: Path, chatter: int, *, debug: bool = False,
                  logfile: str = "csiactdata_cmd1.log") -> list[str]:
    """The log of ctools between banner and trailer, for the H.E.S.S. store.

    At chatter 0 nothing at all (docs/differences.rst, "Honest figures and widths").
    """
    if chatter == 0:
        return []
    return [
        "+============+",
        "| Parameters |",
        "+============+",
        f" datapath ..................: {store}",
        " master_indx ...............: master.json",
        " timeout ...................: 60",
        f" chatter ...................: {chatter}",
        " clobber ...................: yes",
        f" debug .....................: {'yes' if debug else 'no'}",
        " mode ......................: ql",
        f" logfile ...................: {logfile}",
        "",
        "+======================+",
        "| Data storage entries |",
        "+======================+",
        f" Master index file .........: {store}/master.json",
        "",
        "+------------------------+",
        "| Available data configs |",
        "+------------------------+",
        "=== hess_dl3_dr1 ===",
        " Name ......................: hess_dl3_dr1",
        " Observation index .........: obs-index.fits.gz",
        " HDU index .................: hdu-index.fits.gz",
        " Total observations ........: 106",
        " Total time ................: 48.6 hours",
        " Total events ..............: 662826",
        " Disk usage ................: 43 MB",
        " Date created ..............: 2018-09-10",
    ]


def body_of(path: Path) -> list[str]:
    return split_log(path.read_text(encoding="utf-8"))[1]


# -- command-line results ------------------------------------------------------------
def error_line(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """Check that stderr is one ``*** ERROR: ...`` line holding *fragments*; return it."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("*** ERROR: ") and not line.startswith("*** ERROR: *** ERROR")
    for fragment in fragments:
        assert fragment in line, line
    return line


def learned(par_file: Path) -> dict[str, str]:
    """The name -> value fields of a user parameter file (a plain reading, for checks)."""
    values = {}
    for line in par_file.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            fields = [field.strip() for field in line.split(",")]
            values[fields[0]] = fields[3]
    return values


# -- Golden logs ---------------------------------------------------------------------
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
@pytest.mark.parametrize("chatter", [0, 1, 2, 3, 4])
def test_golden_log(hess_store, isolated, csiactdata_cmd, chatter, debug):
    args = [f"datapath={hess_store}", "logfile=csiactdata_cmd1.log", f"chatter={chatter}"]
    before = time.time()
    result = csiactdata_cmd(*args, *(["debug=yes"] if debug else []))
    after = time.time()

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    log = (isolated.work / "csiactdata_cmd1.log").read_text(encoding="utf-8")
    _, body, _ = split_log(log)
    assert body == expected_body(hess_store, chatter, debug=debug)
    # At chatter 0 the frame alone: banner, blank line, trailer (ctools wrote
    # its frame at every chatter level).
    assert ("Available data configs" in log) == (chatter > 0)
    # The prefix is UTC time: between the start and the end of the run.
    assert all(int(before) <= t <= after + 1 for t in log_times(log))
    # debug=yes echoes exactly the log to stdout; otherwise stdout stays empty.
    assert result.stdout == (log if debug else "")


def test_golden_log_extra_keys_in_file_order_and_unavailable_entry(
        isolated, csiactdata_cmd, make_store):
    index_folder = make_store("indexes", master={"datasets": []})
    master = {"comment": "top-level keys are ignored", "datasets": [
        {"name": "gone", "hduindx": "missing-hdu.fits.gz", "obsindx": "missing-obs.fits.gz",
         "Total observations": 3},
        {"note": [1, 2], "name": "unit", "flag": True,
         "obsindx": "../indexes/obs-index.fits.gz", "nothing": None,
         "hduindx": "../indexes/hdu-index.fits.gz",
         "a very long key name exceeding width": 3.5, "Total time": "48.6 hours"},
    ]}
    store = make_store("store", master=master, index_files=False)
    assert index_folder.is_dir()

    result = csiactdata_cmd(f"datapath={store}", "chatter=2")

    assert result.returncode == 0, result.stderr
    body = body_of(isolated.work / "csiactdata.log")
    assert body[body.index("| Available data configs |") + 2:] == [
        "=== gone ===",
        " Not available",
        "=== unit ===",
        " Name ......................: unit",
        " Observation index .........: ../indexes/obs-index.fits.gz",
        " HDU index .................: ../indexes/hdu-index.fits.gz",
        " note ......................: [1, 2]",
        " flag ......................: True",
        " nothing ...................: None",
        " a very long key name exceeding width : 3.5",
        " Total time ................: 48.6 hours",
    ]


def test_datapath_with_trailing_slash_names_the_same_master(hess_store, isolated,
                                                            csiactdata_cmd):
    result = csiactdata_cmd(f"datapath={hess_store}/", "chatter=1")

    assert result.returncode == 0, result.stderr
    body = body_of(isolated.work / "csiactdata.log")
    assert f" Master index file .........: {hess_store}/master.json" in body


# -- Error paths and exit statuses (command line) ------------------------------------
def test_missing_master_file_is_one_error_line_exit_1(isolated, csiactdata_cmd, tmp_path):
    nowhere = tmp_path / "nowhere"

    result = csiactdata_cmd(f"datapath={nowhere}", "logfile=x.log")

    assert result.returncode == 1
    line = error_line(result, f'"{nowhere}/master.json"', "not found", "master_indx")
    log = (isolated.work / "x.log").read_text(encoding="utf-8")
    _, body, _ = split_log(log)
    # The failure is in the log (docs/differences.rst, "Errors and exit status"),
    # and nothing else: the check comes before the Parameters block, as in ctools.
    assert body == [line]
    assert not isolated.user_par.exists(), "a failed run learns nothing"


def test_user_error_with_debug_shows_no_traceback(isolated, csiactdata_cmd, tmp_path):
    result = csiactdata_cmd(f"datapath={tmp_path / 'nowhere'}", "logfile=x.log", "debug=yes")

    assert result.returncode == 1
    line = error_line(result, "not found")
    log = (isolated.work / "x.log").read_text(encoding="utf-8")
    assert result.stdout == log
    assert line in log_texts(log)


def test_internal_error_shows_a_traceback_only_with_debug(hess_store, isolated):
    # No input makes csiactdata fail by a bug, so one is planted: process()
    # raises a RuntimeError, in a process started like the console script.
    code = textwrap.dedent("""
        import sys
        from iactcopy.tools import csiactdata as tool
        def broken(self):
            raise RuntimeError("planted bug")
        tool.csiactdata.process = broken
        sys.argv[0] = "csiactdata"
        tool.main()
    """)

    def run(*args):
        return subprocess.run([sys.executable, "-c", code, f"datapath={hess_store}", *args],
                              capture_output=True, text=True, timeout=60, input="")

    quiet = run()
    assert quiet.returncode == 1
    error_line(quiet, "RuntimeError: planted bug", "debug=yes")

    loud = run("debug=yes", "logfile=x.log")
    assert loud.returncode == 1
    assert "Traceback (most recent call last):" in loud.stderr
    assert ", in broken\nRuntimeError: planted bug\n" in loud.stderr
    assert loud.stderr.splitlines()[-1] == "*** ERROR: RuntimeError: planted bug"
    log = (isolated.work / "x.log").read_text(encoding="utf-8")
    assert "*** ERROR: RuntimeError: planted bug" in log_texts(log)


@pytest.mark.parametrize("args, fragments", [
    (["datapath=/x", "nosuch=1"], ['"nosuch"', "datapath"]),
    (["datapath=/x", "chatte=1", "nosuch=2"], ['"nosuch"']),
    (["d=/x"], ['"d" is ambiguous', "datapath", "debug"]),
], ids=["unknown", "unknown-after-prefix", "ambiguous-prefix"])
def test_unknown_parameter_exit_2(isolated, csiactdata_cmd, args, fragments):
    result = csiactdata_cmd(*args)

    assert result.returncode == 2
    error_line(result, *fragments)
    assert not isolated.user_par.exists()
    assert result.stdout == ""


@pytest.mark.parametrize("value, fragments", [
    ("9", ["chatter", "9", "0", "4"]),
    ("-1", ["chatter", "-1"]),
    ("abc", ["chatter", "abc", "integer"]),
    ("1.5", ["chatter", "1.5"]),
])
def test_bad_chatter_value_exit_2(isolated, csiactdata_cmd, hess_store, value, fragments):
    result = csiactdata_cmd(f"datapath={hess_store}", f"chatter={value}")

    assert result.returncode == 2
    error_line(result, *fragments)
    assert not isolated.user_par.exists()


def test_bad_boolean_value_exit_2(csiactdata_cmd, hess_store):
    result = csiactdata_cmd(f"datapath={hess_store}", "debug=maybe")

    assert result.returncode == 2
    error_line(result, "debug", "maybe")


@pytest.mark.parametrize("args", [
    ["datapath=/x", "bogus"],
    ["datapath=/x", "=value"],
    ["datapath=/x", "--verbose"],
    ["datapath=/x", "chatter+"],
    ["datapath"],
], ids=["word", "no-name", "option", "plus-on-integer", "name-alone"])
def test_bad_argument_form_exit_2(isolated, csiactdata_cmd, args):
    result = csiactdata_cmd(*args)

    assert result.returncode == 2
    error_line(result)
    assert not isolated.user_par.exists()


def test_parameter_given_twice_exit_2(csiactdata_cmd, hess_store):
    result = csiactdata_cmd(f"datapath={hess_store}", "chatter=1", "chatter=2")

    assert result.returncode == 2
    error_line(result, "chatter", "twice")


@pytest.mark.parametrize("master, text, fragments", [
    (None, '{"datasets": [ {"name": "x",', ["not valid JSON", "line"]),
    (None, "", ["not valid JSON"]),
    ({"productions": []}, None, ['Key "datasets"']),
    ({"datasets": {"name": "x"}}, None, ['"datasets"', "array"]),
    ({"datasets": [{"name": "x", "obsindx": "obs-index.fits.gz"}]}, None,
     ['no key "hduindx"']),
    ({"datasets": [{"hduindx": "h.fits", "obsindx": "o.fits"}]}, None, ['no key "name"']),
    ({"datasets": ["x"]}, None, ["entry 1", "object"]),
    ([1, 2], None, ["JSON object"]),
], ids=["truncated-json", "empty-file", "no-datasets", "datasets-not-list",
        "no-hduindx", "no-name", "entry-not-object", "not-an-object"])
def test_malformed_master_exit_1_naming_the_file(isolated, csiactdata_cmd, make_store,
                                                 master, text, fragments):
    store = make_store(master=master, text=text, index_files=False)

    result = csiactdata_cmd(f"datapath={store}", "logfile=x.log")

    assert result.returncode == 1
    line = error_line(result, f"{store}/master.json", *fragments)
    assert line in log_texts((isolated.work / "x.log").read_text(encoding="utf-8"))
    assert not isolated.user_par.exists()


def test_master_indx_names_another_master_file(isolated, csiactdata_cmd, make_store):
    store = make_store()
    (store / "master.json").rename(store / "other.json")

    missing = csiactdata_cmd(f"datapath={store}")
    found = csiactdata_cmd(f"datapath={store}", "master_indx=other.json", "chatter=1")

    assert missing.returncode == 1
    error_line(missing, "master_indx")
    assert found.returncode == 0, found.stderr
    body = body_of(isolated.work / "csiactdata.log")
    assert f" Master index file .........: {store}/other.json" in body
    assert "=== hess_dl3_dr1 ===" in body


@pytest.mark.parametrize("problem", ["missing-obs", "missing-both", "not-fits", "wrong-table"])
def test_production_with_unusable_index_is_not_available(isolated, csiactdata_cmd,
                                                         make_store, problem):
    store = make_store()
    master = json.loads((store / "master.json").read_text(encoding="utf-8"))
    broken = {"name": "broken", "hduindx": "hdu-index.fits.gz", "obsindx": "obs-index.fits.gz"}
    if problem == "missing-obs":
        broken["obsindx"] = "nothing/obs-index.fits.gz"
    elif problem == "missing-both":
        broken.update(hduindx="none-hdu.fits", obsindx="none-obs.fits")
    elif problem == "not-fits":
        (store / "garbage.fits.gz").write_text("not a FITS file\n")
        broken["hduindx"] = "garbage.fits.gz"
    else:
        broken.update(hduindx="obs-index.fits.gz", obsindx="hdu-index.fits.gz")
    master["datasets"].insert(0, broken)
    (store / "master.json").write_text(json.dumps(master), encoding="utf-8")

    result = csiactdata_cmd(f"datapath={store}", "chatter=1")

    assert result.returncode == 0, result.stderr
    body = body_of(isolated.work / "csiactdata.log")
    configs = body[body.index("| Available data configs |") + 2:]
    assert configs[:3] == ["=== broken ===", " Not available", "=== hess_dl3_dr1 ==="]

    app = csiactdata(datapath=str(store))
    app.run()
    assert app.names() == ["hess_dl3_dr1"]


def test_unopenable_log_file_exit_1(isolated, csiactdata_cmd, hess_store):
    result = csiactdata_cmd(f"datapath={hess_store}", "logfile=/nonexistent/dir/x.log")

    assert result.returncode == 1
    error_line(result, "/nonexistent/dir/x.log", "log file")
    assert not isolated.user_par.exists()
    assert list(isolated.work.iterdir()) == []


def _read_until(stream, text: bytes, timeout: float = 30) -> bytes:
    """Read *stream* (a pipe) until *text* has come, or fail after *timeout* seconds."""
    seen = b""
    deadline = time.monotonic() + timeout
    while text not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{text!r} did not come; got {seen!r}"
        ready, _, _ = select.select([stream], [], [], remaining)
        if ready:
            chunk = os.read(stream.fileno(), 4096)
            assert chunk, f"end of output before {text!r}; got {seen!r}"
            seen += chunk
    return seen


def test_ctrl_c_at_the_prompt_exit_130(isolated, csiactdata_cmd):
    process = subprocess.Popen([*csiactdata_cmd.command, "logfile=x.log"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        # stdin stays open: the tool waits at the prompt until the signal.
        _read_until(process.stdout, PROMPT.encode())
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 130
    lines = stderr.decode().splitlines()
    assert lines == ["*** ERROR: interrupted by the user (Ctrl-C)"]
    _, body, _ = split_log((isolated.work / "x.log").read_text(encoding="utf-8"))
    assert body == ["*** ERROR: interrupted by the user (Ctrl-C)"]
    assert not isolated.user_par.exists(), "Ctrl-C learns nothing"


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("head") is None,
                    reason="needs bash and head")
def test_debug_echo_into_head_exit_0(hess_store, isolated, csiactdata_cmd):
    command = shlex.join([*csiactdata_cmd.command, f"datapath={hess_store}", "debug=yes"])
    script = f'{command} 2>stderr.txt | head -1; echo "status=${{PIPESTATUS[0]}}"'

    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                            timeout=60, stdin=subprocess.DEVNULL)

    lines = result.stdout.splitlines()
    assert LOG_LINE.fullmatch(lines[0]) and lines[0].endswith("*" * 80)
    assert lines[-1] == "status=0"
    assert (isolated.work / "stderr.txt").read_text() == ""
    split_log((isolated.work / "csiactdata.log").read_text(encoding="utf-8"))


@pytest.mark.parametrize("args", [["debug=yes"], ["--help"], ["--version"]],
                         ids=["debug-echo", "help", "version"])
def test_closed_stdout_pipe_exit_0_without_traceback(hess_store, isolated, csiactdata_cmd,
                                                     args):
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to stdout now fails with EPIPE
    try:
        result = csiactdata_cmd(f"datapath={hess_store}", *args, stdout=write_end)
    finally:
        os.close(write_end)

    assert result.returncode == 0
    assert result.stderr == ""
    if args == ["debug=yes"]:
        # The echo stopped, the log did not.
        _, body, _ = split_log((isolated.work / "csiactdata.log").read_text(encoding="utf-8"))
        assert body == expected_body(hess_store, 2, debug=True, logfile="csiactdata.log")


# -- --help and --version ------------------------------------------------------------
def _par_definitions() -> list[tuple[str, str]]:
    """(name, prompt) of each parameter of the shipped csiactdata.par, read plainly."""
    par = Path(__file__).resolve().parents[2] / "par" / "csiactdata.par"
    found = []
    for line in par.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            found.append((line.split(",")[0].strip(), line.rsplit('"', 2)[-2]))
    return found


def _bare_environment(home: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}


@pytest.mark.parametrize("args", [
    ["--help"],
    ["datapath=/x", "chatter=1", "--help"],
    ["chatter=1", "--help", "datapath=/x"],
    ["nosuch=1", "--help"],
    [" --help "],
], ids=["first", "last", "middle", "with-bad-argument", "blanks"])
def test_help_anywhere_without_environment(isolated, csiactdata_cmd, args):
    result = csiactdata_cmd(*args, env=_bare_environment(isolated.home), input=None,
                            stdin=subprocess.DEVNULL)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    text = " ".join(result.stdout.split())
    assert text.startswith("usage: csiactdata")
    definitions = _par_definitions()
    assert [name for name, _ in definitions] == [
        "datapath", "master_indx", "timeout", "chatter", "clobber", "debug", "mode", "logfile"]
    for name, prompt in definitions:
        assert re.search(rf"\b{name}\b", text), name
        assert " ".join(prompt.split()) in text, prompt
    # Nothing run: no log, nothing learned, no prompt.
    assert list(isolated.work.iterdir()) == []
    assert not isolated.pfiles.exists()


def test_version(isolated, csiactdata_cmd):
    result = csiactdata_cmd("--version", env=_bare_environment(isolated.home))

    assert result.returncode == 0
    assert result.stderr == ""
    assert __version__ in result.stdout
    assert "csiactdata" in result.stdout
    assert list(isolated.work.iterdir()) == []


# -- Prompting -----------------------------------------------------------------------
def test_datapath_is_prompted_when_not_given(hess_store, isolated, csiactdata_cmd):
    result = csiactdata_cmd("chatter=1", input=f"{hess_store}\n")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(PROMPT)
    body = body_of(isolated.work / "csiactdata.log")
    assert f" datapath ..................: {hess_store}" in body
    assert "=== hess_dl3_dr1 ===" in body


def test_mode_h_suppresses_the_prompt(hess_store, isolated, csiactdata_cmd):
    env = {**os.environ, "VHEFITS": str(hess_store)}

    result = csiactdata_cmd("mode=h", "chatter=1", input="/not/this/one\n", env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    body = body_of(isolated.work / "csiactdata.log")
    assert " datapath ..................: NONE" in body
    assert f" Master index file .........: {hess_store}/master.json" in body


@pytest.mark.parametrize("word", ["NONE", "none", "None"])
def test_datapath_none_uses_vhefits(hess_store, isolated, csiactdata_cmd, word):
    env = {**os.environ, "VHEFITS": str(hess_store)}

    result = csiactdata_cmd(f"datapath={word}", "chatter=1", env=env)

    assert result.returncode == 0, result.stderr
    body = body_of(isolated.work / "csiactdata.log")
    assert f" Master index file .........: {hess_store}/master.json" in body


def test_datapath_none_without_vhefits_uses_the_current_folder(isolated, csiactdata_cmd,
                                                               make_store):
    store = make_store()
    for item in store.iterdir():
        shutil.copyfile(item, isolated.work / item.name)

    result = csiactdata_cmd("datapath=NONE", "chatter=1")

    assert result.returncode == 0, result.stderr
    log = (isolated.work / "csiactdata.log").read_text(encoding="utf-8")
    assert any("VHEFITS is not set" in line for line in log_texts(log))
    assert "=== hess_dl3_dr1 ===" in log


def test_end_of_input_at_the_prompt_keeps_the_value_and_warns(hess_store, isolated,
                                                              csiactdata_cmd):
    env = {**os.environ, "VHEFITS": str(hess_store)}

    result = csiactdata_cmd(input="", env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(PROMPT)
    assert result.stderr.splitlines() == ['WARNING: no answer for "datapath", using "NONE"']
    log = (isolated.work / "csiactdata.log").read_text(encoding="utf-8")
    assert 'WARNING: no answer for "datapath", using "NONE"' in log_texts(log)
    assert "=== hess_dl3_dr1 ===" in log


# -- Learning ------------------------------------------------------------------------
def test_prompt_answer_is_learned_and_offered_next_time(hess_store, isolated, csiactdata_cmd):
    first = csiactdata_cmd(input=f"{hess_store}\n")
    assert first.returncode == 0, first.stderr
    assert learned(isolated.user_par)["datapath"] == str(hess_store)

    second = csiactdata_cmd(input="\n")

    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith(
        f"Path were data are located (NONE uses $VHEFITS environment variable) "
        f"[{hess_store}] ")
    assert "=== hess_dl3_dr1 ===" in (isolated.work / "csiactdata.log").read_text()


def test_command_line_value_is_learned_hidden_ones_are_not(hess_store, isolated,
                                                           csiactdata_cmd):
    result = csiactdata_cmd(f"datapath={hess_store}", "chatter=4", "debug=no",
                            "master_indx=master.json", "logfile=other.log")

    assert result.returncode == 0, result.stderr
    values = learned(isolated.user_par)
    assert values["datapath"] == str(hess_store)
    assert values["chatter"] == "2"
    assert values["logfile"] == "csiactdata.log"


def test_failed_run_learns_nothing(hess_store, isolated, csiactdata_cmd, tmp_path):
    assert csiactdata_cmd(f"datapath={hess_store}").returncode == 0
    before = isolated.user_par.read_text(encoding="utf-8")

    failed = csiactdata_cmd(f"datapath={tmp_path / 'nowhere'}")
    answered = csiactdata_cmd(input=f"{tmp_path / 'nowhere'}\n")

    assert failed.returncode == answered.returncode == 1
    assert isolated.user_par.read_text(encoding="utf-8") == before


# -- Python forms ---------------------------------------------------------------------
def test_python_run_lists_names_and_writes_no_file(hess_store, isolated):
    app = csiactdata()
    app["datapath"] = str(hess_store)
    assert app.names() == []

    app.run()

    assert app.names() == ["hess_dl3_dr1"]
    assert app.names() is not app.names()
    del app
    assert list(isolated.work.iterdir()) == []
    assert not isolated.pfiles.exists(), "run() alone learns nothing"


def test_python_execute_learns(hess_store, isolated):
    app = csiactdata()
    app["datapath"] = str(hess_store)

    app.execute()

    assert app.names() == ["hess_dl3_dr1"]
    assert learned(isolated.user_par)["datapath"] == str(hess_store)
    assert not list(isolated.work.glob("*.log")), "execute() opens no log file"


def test_python_argv_form_with_logfileopen_and_execute(hess_store, isolated):
    app = csiactdata([f"datapath={hess_store}", "logfile=x.log"])
    app.logFileOpen()
    app.execute()
    app.logFileClose()

    assert app.names() == ["hess_dl3_dr1"]
    _, body, _ = split_log((isolated.work / "x.log").read_text(encoding="utf-8"))
    assert body == expected_body(hess_store, 2, logfile="x.log")
    assert sorted(path.name for path in isolated.work.iterdir()) == ["x.log"]


def test_python_argv_form_with_program_name(hess_store, isolated):
    app = csiactdata(["csiactdata", f"datapath={hess_store}", "chatter=3"])
    app.run()

    assert app.names() == ["hess_dl3_dr1"]
    assert app["chatter"].integer() == 3
    # The command-line form opens the log in the constructor, as in ctools.
    app.logFileClose()
    assert body_of(isolated.work / "csiactdata.log") == expected_body(
        hess_store, 3, logfile="csiactdata.log")
    text = str(app)
    assert " Command ...................: csiactdata" in text
    assert f" Arguments .................: datapath={hess_store}" in text
    assert " " * 29 + ": chatter=3" in text


def test_python_keyword_form(hess_store, isolated):
    app = csiactdata(datapath=str(hess_store), chatter=0)
    app.run()

    assert app.names() == ["hess_dl3_dr1"]
    assert app["chatter"].integer() == 0
    assert list(isolated.work.iterdir()) == []


def test_python_prompt_reads_stdin(hess_store, isolated, monkeypatch, capsys):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{hess_store}\n"))
    app = csiactdata()
    app.run()

    assert app.names() == ["hess_dl3_dr1"]
    assert capsys.readouterr().out.startswith(PROMPT)


def test_python_missing_master_raises(isolated, tmp_path):
    app = csiactdata(datapath=str(tmp_path / "nowhere"))

    with pytest.raises(DataStoreError, match="not found") as caught:
        app.run()

    assert isinstance(caught.value, OSError)
    assert app.names() == []


def test_python_debug_echoes_to_stdout(hess_store, isolated, capsys):
    app = csiactdata(datapath=str(hess_store), debug=True, chatter=1)
    app.run()

    out = capsys.readouterr().out
    assert "=== hess_dl3_dr1 ===" in out
    assert all(LOG_LINE.fullmatch(line) for line in out.splitlines())


@pytest.mark.parametrize("value", [9, -1, "abc", 2.5, "9"])
def test_python_bad_chatter_raises_parameter_error(isolated, value):
    app = csiactdata()

    with pytest.raises(ParameterError, match="chatter") as caught:
        app["chatter"] = value

    assert isinstance(caught.value, ValueError)
    assert app["chatter"].integer() == 2


def test_python_unknown_parameter_raises(isolated):
    app = csiactdata()

    with pytest.raises(ParameterError, match="nosuch"):
        app["nosuch"]
    with pytest.raises(ValueError, match="nosuch"):
        app["nosuch"] = 1
    with pytest.raises(ParameterError, match="nosuch"):
        csiactdata(nosuch=1)


def test_python_str(isolated):
    app = csiactdata()
    app["chatter"] = 3

    assert str(app) == "\n".join([
        "=== GApplication ===",
        " Name ......................: csiactdata",
        f" Version ...................: {__version__}",
        " Running instances .........: 0",
        " datapath ..................: NONE",
        " master_indx ...............: master.json",
        " timeout ...................: 60",
        " chatter ...................: 3",
        " clobber ...................: yes",
        " debug .....................: no",
        " mode ......................: ql",
        " logfile ...................: csiactdata.log",
    ])


def test_python_pardict(isolated, monkeypatch):
    # Nothing is prompted: reading stdin would fail.
    monkeypatch.setattr(sys, "stdin", None)
    app = csiactdata()

    assert app.pardict() == {"datapath": "NONE", "master_indx": "master.json", "timeout": 60.0,
                             "chatter": 2,
                             "clobber": True, "debug": False, "mode": "ql",
                             "logfile": "csiactdata.log"}

    assert app.pardict({"chatter": 4, "debug": True, "datapath": "/d"}) is None
    assert app.pardict()["chatter"] == 4
    assert app.pardict()["debug"] is True
    assert app.pardict()["datapath"] == "/d"


def test_running_the_tool_never_imports_astropy(hess_store, isolated):
    # astropy costs 0.3 s at start-up; csiactdata must not load it.
    code = textwrap.dedent(f"""
        import sys
        from iactcopy.app.cli import run_application
        from iactcopy.tools.csiactdata import csiactdata
        status = run_application(csiactdata, ["datapath={hess_store}", "chatter=4"])
        app = csiactdata(datapath="{hess_store}")
        app.run()
        print(status, app.names(), sorted(m for m in sys.modules if m.startswith("astropy")))
    """)

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, stdin=subprocess.DEVNULL)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0 ['hess_dl3_dr1'] []"
