"""The shipped ``.par`` files and how the package finds them.

docs/differences.rst, "Tools and parameters".
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import iactcopy
from iactcopy.params.parfile import parse_par
from iactcopy.params.pfiles import load_parameters, read_definition, system_folder

REPOSITORY = Path(__file__).resolve().parents[2]

#: The lines of ctools' own .par files, with the two defaults csiactcopy takes
#: from the ctools tutorial (docs/differences.rst, "Tools and parameters").
CTOOLS_LINES = {
    "csiactdata": """\
datapath,    s, a, NONE,,, "Path were data are located (NONE uses $VHEFITS environment variable)"
master_indx, s, h, master.json,,, "Name of master index file"
""",
    "csiactcopy": """\
remote_master, f, a, /path/to/mountpoint/master.json,,, "Location of remote master file"
prodname,      s, a, iact-fits,,, "Name of FITS production to download"
runlist,       f, h, NONE,,, "Input list of observation IDs"
outpath,       s, a, /path/to/local/fits/data/,,, "Destination path of FITS data"
""",
    "csfindobs": """\
datapath, s, a, NONE,,, "Path were data are located (NONE uses $VHEFITS environment variable)"
prodname, s, a, prod-name,,, "Name of FITS production (Run csiactdata to view your options)"
outfile,  f, a, runlist.lis,,, "Output runlist file"
ra,          r, a, 83.63,,, "Right ascension of selection region centre (deg)"
dec,         r, a, 22.51,,, "Declination of selection region centre (deg)"
rad,         r, a, 2.5,,, "Search radius of selection region (deg)"
min_qual,    i, h, 0,0|1|2,, "Minimum data quality (0=perfect, 1=ok, 2=bad)"
expression,  s, h, NONE,,, "Additional expression"
master_indx, s, h, master.json,,, "Name of master index file"
""",
}

#: The standard lines every ctools file ends with.
STANDARD = """\
chatter,  i, h, 2,0,4, "Chattiness of output"
clobber,  b, h, yes,,, "Overwrite existing output files with new output files?"
debug,    b, h, no,,, "Activate debugging mode?"
mode,     s, h, ql,,, "Mode of automatic parameters"
logfile,  f, h, {tool}.log,,, "Log filename"
"""

TOOLS = sorted(CTOOLS_LINES)


def fields(text: str) -> list[tuple[str, ...]]:
    return [line.fields for line in parse_par(text).parameter_lines]


@pytest.mark.parametrize("tool", TOOLS)
def test_shipped_par_file_has_the_ctools_lines(tool):
    path = Path(system_folder(), f"{tool}.par")
    layout, parameters = read_definition(str(path))
    shipped = [line.fields for line in layout.parameter_lines]
    ctools, standard = fields(CTOOLS_LINES[tool]), fields(STANDARD.format(tool=tool))
    assert shipped[:len(ctools)] == ctools
    assert shipped[-len(standard):] == standard
    # Parameters iactcopy adds are hidden and stand just before chatter (docs/differences.rst,
    # "Tools and parameters").
    added = shipped[len(ctools):-len(standard)]
    assert all(mode == "h" for _, _, mode, *_ in added)
    assert [par.name for par in parameters] == [f[0] for f in shipped]


def test_csiactcopy_added_parameters_stand_just_before_chatter():
    pset = load_parameters("csiactcopy")
    names = pset.names
    start = names.index("chatter") - 4
    assert names[start:start + 5] == ["nthreads", "verify", "dryrun", "timeout", "chatter"]
    for name in ("verify", "dryrun"):
        assert (pset[name].type, pset[name].mode, pset[name].text) == ("b", "h", "no")
    nthreads = pset["nthreads"]
    assert (nthreads.type, nthreads.mode, nthreads.text, nthreads.minimum, nthreads.maximum,
            nthreads.prompt) == ("i", "h", "4", "1", "64", "Number of parallel transfers")
    assert pset.names[:4] == ["remote_master", "prodname", "runlist", "outpath"]
    assert not pset.is_query(nthreads) and not pset.is_learn(nthreads)


@pytest.mark.parametrize("tool", TOOLS)
def test_timeout_is_hidden_just_before_chatter_with_60_seconds(tool):
    pset = load_parameters(tool)
    assert pset.names.index("timeout") == pset.names.index("chatter") - 1
    timeout = pset["timeout"]
    assert (timeout.type, timeout.mode, timeout.text, timeout.minimum, timeout.maximum) == (
        "r", "h", "60", "1", "86400")
    assert pset.real("timeout") == 60.0


@pytest.mark.parametrize("tool", TOOLS)
def test_shipped_defaults_are_valid(tool):
    pset = load_parameters(tool)
    assert pset.warnings == []
    for par in pset:
        par.ptype.check_limits(par.text, par.minimum, par.maximum, par.name)
    assert pset.integer("chatter") == 2
    assert pset.string("mode") == "ql"


def test_system_folder_of_the_installed_package():
    folder = Path(system_folder()).resolve()
    assert folder.is_dir()
    assert {path.name for path in folder.glob("*.par")} == {f"{tool}.par" for tool in TOOLS}
    # A wheel holds iactcopy/par; an editable install maps iactcopy.par to the
    # par/ folder of the checkout it was made from, which need not be the one
    # whose iactcopy is imported (a git worktree run with PYTHONPATH).
    checkout = Path(iactcopy.__file__).resolve().parent.parent
    if folder.parent != checkout and (folder.parent / "iactcopy").is_dir():
        pytest.skip(f"the installed iactcopy.par is the par/ of another checkout ({folder}) "
                    f"than the iactcopy imported ({checkout})")
    assert folder in (checkout / "par", checkout / "iactcopy" / "par")


_SKIP = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__",
                               ".pytest_cache", ".hypothesis", ".ruff_cache", "demo",
                               "bench-work", "_build")


def _run(*command: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV")}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_wheel_installs_the_par_files(tmp_path):
    # Build from a copy so that the build leaves nothing in the working tree.
    source = tmp_path / "source"
    shutil.copytree(REPOSITORY, source, ignore=_SKIP)
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist),
         str(source), cwd=tmp_path)
    wheel, = dist.glob("iactcopy-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--system-site-packages", str(venv), cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel),
         cwd=tmp_path)
    found = _run(str(python), "-c",
                 "import os; from iactcopy.params.pfiles import system_folder; "
                 "folder = system_folder(); print(folder); "
                 "print(' '.join(sorted(n for n in os.listdir(folder) if n.endswith('.par'))))",
                 cwd=tmp_path).stdout.splitlines()
    folder, names = found
    assert Path(folder).resolve().is_relative_to(venv.resolve())
    assert names.split() == ["csfindobs.par", "csiactcopy.par", "csiactdata.par"]
