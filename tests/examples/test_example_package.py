"""A tool of another package, installed with pip, used as a user uses it.

The package is ``examples/runtools`` (docs/writing_tools.rst): its
``csrunselect.par`` beside its module, its class, its ``console_scripts``
and ``iactcopy.tools`` entry points.  ``PFILES`` is unset, or names only a
user folder: the tool must find its own file all the same.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

RUNS = "# observations of the example\n23523\n23526\n23559\n23592\n18000\n"
ANSWERS = "runs.txt\n23500\n23560\nout.txt\n"


def one_error_line(result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("*** ERROR: ")
    return lines[0]


@contextlib.contextmanager
def par_file_replaced(installed, text: str | None):
    """The installed ``csrunselect.par`` removed (*text* None) or replaced, for the block."""
    path = installed.par_file
    kept = path.read_bytes()
    try:
        if text is None:
            path.unlink()
        else:
            path.write_text(text, encoding="utf-8")
        yield path
    finally:
        path.write_bytes(kept)


def test_pip_put_the_par_file_beside_the_module(installed):
    assert installed.par_file.is_file()
    assert (installed.bin / "csrunselect").is_file()


def test_prompts_learns_and_logs_with_pfiles_unset(user):
    (user.work / "runs.txt").write_text(RUNS)

    result = user.run("csrunselect", answers=ANSWERS)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Input run list [runlist.txt] ")
    assert "Smallest observation ID to keep (0-999999999) [0] " in result.stdout
    assert (user.work / "out.txt").read_text() == "23523\n23526\n23559\n"
    learned = (user.home / "pfiles" / "csrunselect.par").read_text()
    assert "minid,   i, a, 23500,0,999999999," in learned
    assert "outlist, f, a, out.txt,,," in learned
    log = (user.work / "csrunselect.log").read_text().splitlines()
    banner = [line.split(": ", 1)[1] for line in log[:6]]
    assert banner[1].strip("* ") == "csrunselect"
    assert banner[3].startswith("* Version: 1.2.0 ")
    assert banner[4].startswith("* Package: runtools ")
    assert any(line.endswith("IDs kept ..................: 3") for line in log)

    # The next run offers the learned values; Enter keeps each of them.
    again = user.run("csrunselect", answers="\n\n\n\n")
    assert again.returncode == 0, again.stderr
    assert "[runs.txt]" in again.stdout and "[23500]" in again.stdout
    assert "[out.txt]" in again.stdout


def test_pfiles_naming_only_a_user_folder(user, tmp_path):
    (user.work / "runs.txt").write_text(RUNS)
    mine = tmp_path / "mine"

    result = user.run("csrunselect", "inlist=runs.txt", "minid=23590", "maxid=23600",
                      "outlist=last.txt", PFILES=str(mine))

    assert result.returncode == 0, result.stderr
    assert (user.work / "last.txt").read_text() == "23592\n"
    assert "minid,   i, a, 23590," in (mine / "csrunselect.par").read_text()
    assert not (user.home / "pfiles").exists()


def test_help_and_version(user, installed):
    version = user.run("csrunselect", "--version")
    assert (version.returncode, version.stdout) == (0, "csrunselect (runtools) 1.2.0\n")

    for pfiles in (None, str(user.home / "mine")):
        result = user.run("csrunselect", "inlist=x", "--help", PFILES=pfiles)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("usage: csrunselect ")
        assert (f"csrunselect 1.2.0 (runtools); parameters from {installed.par_file}:"
                in result.stdout)
        assert ("  minid (integer, prompted (automatic), learned) default: 0, "
                "range 0 to 999999999" in result.stdout)
        assert "Largest observation ID to keep" in result.stdout


def test_iactpar_finds_the_tool(user, installed):
    listed = user.run("iactpar", "list")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()}
    assert rows["csrunselect"] == ["csrunselect", "runtools", "1.2.0", str(installed.par_file)]
    assert rows["csiactcopy"][1] == "iactcopy"

    parameters = user.run("iactpar", "list", "csrunselect")
    assert parameters.returncode == 0, parameters.stderr
    assert [line.split()[0] for line in parameters.stdout.splitlines()] == [
        "inlist", "minid", "maxid", "outlist", "chatter", "clobber", "debug", "mode", "logfile"]

    assert user.run("iactpar", "set", "csrunselect", "maxid=30000").returncode == 0
    assert user.run("iactpar", "get", "csrunselect", "maxid").stdout == "30000\n"
    assert user.run("iactpar", "path", "csrunselect").stdout.splitlines() == [
        f"user:   {user.home / 'pfiles' / 'csrunselect.par'}", f"system: {installed.par_file}"]


def test_a_bad_value_is_one_line_with_status_2(user):
    result = user.run("csrunselect", "minid=abc")
    assert result.returncode == 2
    line = one_error_line(result)
    assert '"minid"' in line and "'abc'" in line and "integer" in line

    piped = user.run("csrunselect", answers="runs.txt\n-5\n")
    assert piped.returncode == 2
    assert "-5" in one_error_line(piped)
    assert not (user.home / "pfiles").exists()


def test_a_missing_par_file_is_an_installation_error(user, installed):
    with par_file_replaced(installed, None) as path:
        for args in (["mode=h"], ["--help"]):
            result = user.run("csrunselect", *args)
            assert result.returncode == 1
            line = one_error_line(result)
            assert "csrunselect (runtools 1.2.0) is not installed properly" in line
            assert '"csrunselect.par" not found' in line
            assert str(path.parent) in line and "reinstall runtools" in line
        listed = user.run("iactpar", "list", "csrunselect")
        assert listed.returncode == 1
        assert str(path.parent) in one_error_line(listed)
        everything = user.run("iactpar", "list")
        assert everything.returncode == 1
        assert "csiactcopy" in everything.stdout and "not installed properly" in everything.stderr


def test_a_broken_par_file_is_an_installation_error(user, installed):
    with par_file_replaced(installed, "minid, i, x, 3\n") as path:
        result = user.run("csrunselect", "mode=h")
    assert result.returncode == 1
    line = one_error_line(result)
    assert repr(str(path)) in line and "[line 1]" in line and "reinstall runtools" in line


def test_the_example_passes_its_own_tests(user, installed):
    result = user.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                      str(installed.source / "tests"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


def test_embedded_in_a_host_with_its_own_logging(user):
    (user.work / "runs.txt").write_text(RUNS)
    host = user.work / "host.py"
    host.write_text(
        "import logging, sys\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stdout, "
        "format='HOST %(levelname)s %(name)s %(message)s')\n"
        "from runtools.csrunselect import csrunselect\n"
        "app = csrunselect(inlist='runs.txt', minid=23550, maxid=23600, outlist='o.txt')\n"
        "app.execute()\n"
        "print(app.ids())\n"
        "logging.getLogger('host').info('done')\n")
    result = user.run("python", str(host))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[23559, 23592]", "HOST INFO host done"]
    assert os.path.exists(Path(user.work, "o.txt"))
