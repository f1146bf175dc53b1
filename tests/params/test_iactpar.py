"""The ``iactpar`` command (HEASoft's plist/pget/pset/punlearn), run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import iactcopy
from iactcopy.params.pfiles import load_parameters, system_folder

_SCRIPT = Path(sys.executable).with_name("iactpar")
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m",
                                                     "iactcopy.tools.iactpar"]


def iactpar(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, cwd=cwd,
                          env=os.environ.copy(), timeout=120)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("*** ERROR: ")
    assert "*** ERROR" not in lines[0][len("*** ERROR: "):]
    return lines[0]


def test_list(folders):
    result = iactpar("list", "csiactcopy")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert list(rows) == ["remote_master", "prodname", "runlist", "outpath", "report",
                          "nthreads", "verify", "dryrun", "timeout", "chatter", "clobber",
                          "debug", "mode", "logfile"]
    assert "/path/to/mountpoint/master.json" in rows["remote_master"]
    assert rows["nthreads"].split()[:4] == ["nthreads", "i", "h", "4"]
    assert rows["nthreads"].endswith("Number of parallel transfers")
    assert not folders.user.exists()           # listing writes nothing


def test_list_without_a_tool_lists_the_registered_tools(folders):
    result = iactpar("list")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    ours = [row for row in rows if row[0] in ("csfindobs", "csiactcopy", "csiactdata")]
    assert ours == [[tool, "iactcopy", iactcopy.__version__, str(Path(system_folder(),
                                                                     f"{tool}.par"))]
                    for tool in ("csfindobs", "csiactcopy", "csiactdata")]


def test_get_exact_and_prefix():
    assert iactpar("get", "csiactcopy", "outpath").stdout == "/path/to/local/fits/data/\n"
    assert iactpar("get", "csiactcopy", "nth").stdout == "4\n"


def test_set_then_get_and_load(folders):
    result = iactpar("set", "csiactcopy", "outpath=/data/local", "nthreads=8", "clob=no")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    user = folders.user / "csiactcopy.par"
    assert user.is_file()
    assert iactpar("get", "csiactcopy", "outpath").stdout == "/data/local\n"
    # Hidden parameters set with iactpar take effect for the tools too.
    pset = load_parameters("csiactcopy")
    assert pset.integer("nthreads") == 8
    assert pset.boolean("clobber") is False
    assert pset.string("outpath") == "/data/local"
    text = user.read_text()
    assert "nthreads,      i, hl, 8, 1, 64," in text
    assert "clobber,       b, hl, no,,," in text
    # The system file is untouched.
    shipped = Path(system_folder(), "csiactcopy.par").read_text()
    assert "nthreads,      i, h, 4, 1, 64," in shipped


def test_set_a_value_with_commas_and_quotes():
    value = 'a "quoted", value '
    assert iactpar("set", "csiactcopy", f"prodname={value}").returncode == 0
    assert iactpar("get", "csiactcopy", "prodname").stdout == value + "\n"


@pytest.mark.parametrize(("args", "words"), [
    (["set", "csiactcopy", "nthreads=0"], ['"nthreads"', "0", "1 to 64"]),
    (["set", "csiactcopy", "nthreads=abc"], ['"nthreads"', "'abc'", "integer"]),
    (["set", "csiactcopy", "clobber=maybe"], ['"clobber"', "'maybe'", "yes"]),
    (["set", "csiactcopy", "nosuch=1"], ['"nosuch"', "remote_master"]),
    (["set", "csiactcopy", "c=1"], ['"c"', "ambiguous", "chatter", "clobber"]),
    (["set", "csiactcopy", "chatter"], ['"chatter"', "NAME=VALUE"]),
    (["set", "csiactcopy", "chatter=3", "chatter=5"], ['"chatter"', "0 to 4"]),
    (["get", "csiactcopy", "nosuch"], ['"nosuch"']),
    (["get", "nosuchtool", "x"], ['"nosuchtool.par"', "not found"]),
    (["list", "nosuchtool"], ['"nosuchtool.par"']),
])
def test_errors_are_one_line_with_status_2(folders, args, words):
    result = iactpar(*args)
    assert result.returncode == 2
    line = one_error_line(result)
    for word in words:
        assert word in line
    assert not (folders.user / "csiactcopy.par").exists()   # nothing half-set


def test_failed_set_keeps_earlier_values(folders):
    assert iactpar("set", "csiactcopy", "chatter=3").returncode == 0
    result = iactpar("set", "csiactcopy", "nthreads=2", "chatter=9")
    assert result.returncode == 2
    assert iactpar("get", "csiactcopy", "chatter").stdout == "3\n"
    assert iactpar("get", "csiactcopy", "nthreads").stdout == "4\n"


def test_unlearn_removes_the_user_copy(folders):
    assert iactpar("set", "csfindobs", "ra=10").returncode == 0
    user = folders.user / "csfindobs.par"
    assert user.exists()
    result = iactpar("unlearn", "csfindobs")
    assert result.returncode == 0
    assert str(user) in result.stdout
    assert not user.exists()
    assert iactpar("get", "csfindobs", "ra").stdout == "83.63\n"
    again = iactpar("unlearn", "csfindobs")
    assert again.returncode == 0 and "no user copy" in again.stdout


def test_path(folders):
    result = iactpar("path", "csiactdata")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "user:   (none)", f"system: {Path(system_folder(), 'csiactdata.par')}"]
    iactpar("set", "csiactdata", "datapath=/x")
    assert iactpar("path", "csiactdata").stdout.splitlines()[0] == (
        f"user:   {folders.user / 'csiactdata.par'}")


def test_help_and_version():
    result = iactpar("--help")
    assert result.returncode == 0
    for command in ("list", "get", "set", "unlearn", "path", "PFILES"):
        assert command in result.stdout
    sub = iactpar("set", "--help")
    assert sub.returncode == 0 and "NAME=VALUE" in sub.stdout
    version = iactpar("--version")
    assert version.returncode == 0 and version.stdout.startswith("iactpar (iactcopy) ")


def test_unknown_command_is_a_usage_error():
    result = iactpar("frobnicate", "csiactcopy")
    assert result.returncode == 2
    assert "frobnicate" in result.stderr


FOREIGN = """\
# fdump: a HEASoft tool, not ours
infile,f,a,"in.fits",,,"Name of FITS file and [ext#]"
outfile,f,a,"STDOUT",,,"Name of output file"
columns,s,a,"-",,,"Names of columns"
rows,s,a,"-",,,"Lists of rows"
prhead,b,h,yes,,,"Print header keywords?"
pagewidth,i,h,80,40,256,"Page width"
mode,s,h,"ql",,,""
"""


def test_foreign_par_file_found_through_pfiles(folders, write_par):
    sysfile = write_par(folders.system, "fdump", FOREIGN, dedent=False)
    listed = iactpar("list", "fdump")
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "infile", "outfile", "columns", "rows", "prhead", "pagewidth", "mode"]
    assert iactpar("set", "fdump", "infile=events.fits[1]", "page=132").returncode == 0
    assert iactpar("get", "fdump", "infile").stdout == "events.fits[1]\n"
    assert iactpar("get", "fdump", "pagewidth").stdout == "132\n"
    assert sysfile.read_text() == FOREIGN
    user_text = (folders.user / "fdump.par").read_text()
    assert user_text.startswith("# fdump: a HEASoft tool, not ours\n")
    assert 'infile,f,a,events.fits[1],,,"Name of FITS file and [ext#]"' in user_text
    assert 'pagewidth,i,hl,132,40,256,"Page width"' in user_text
    bad = iactpar("set", "fdump", "pagewidth=20")
    assert bad.returncode == 2
    assert "40 to 256" in one_error_line(bad)


def test_foreign_par_file_in_a_user_only_pfiles(monkeypatch, tmp_path, write_par):
    folder = tmp_path / "mine"
    path = write_par(folder, "fdump", FOREIGN, dedent=False)
    monkeypatch.setenv("PFILES", str(folder))
    assert iactpar("set", "fdump", "columns=TIME,ENERGY").returncode == 0
    assert iactpar("get", "fdump", "columns").stdout == "TIME,ENERGY\n"
    assert 'columns,s,a,"TIME,ENERGY",,,"Names of columns"' in path.read_text()
    # It is the only copy: unlearn refuses to delete it.
    result = iactpar("unlearn", "fdump")
    assert result.returncode == 2
    assert "only" in one_error_line(result)
    assert path.exists()


def test_home_pfiles_when_pfiles_is_unset(monkeypatch, folders):
    monkeypatch.delenv("PFILES")
    assert iactpar("set", "csiactdata", "datapath=/somewhere").returncode == 0
    assert (folders.home / "pfiles" / "csiactdata.par").is_file()
    assert iactpar("get", "csiactdata", "datapath").stdout == "/somewhere\n"


def test_no_writable_user_folder(monkeypatch, folders, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("PFILES", f"{blocker}/pfiles;{folders.system}")
    result = iactpar("set", "csiactdata", "datapath=/x")
    assert result.returncode == 1
    assert "not learned" in result.stderr
    assert os.listdir(folders.system) == []
