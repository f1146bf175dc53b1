"""A tool of another package: its .par file beside its code, its name and version.

The tools here are written into a package in the test's temporary folder and
imported from there, as a package installed by pip is.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from iactcopy.app.cli import run_application
from iactcopy.errors import InstallationError
from iactcopy.params.pfiles import system_folder

PAR = """\
level,   i, a, 3,1,9, "Level"
chatter, i, h, 2,0,4, "Chattiness of output"
clobber, b, h, yes,,, "Overwrite existing output files with new output files?"
debug,   b, h, no,,, "Activate debugging mode?"
mode,    s, h, ql,,, "Mode of automatic parameters"
logfile, f, h, {tool}.log,,, "Log filename"
"""

MODULE = '''\
from iactcopy import Application, main_for


class {tool}(Application):
    """A tool of the package."""

    name = "{tool}"
    package = "kit"
    version = "2.5.1"
    description = "A tool of another package."

    def process(self):
        self.level = self["level"].integer()
        self.log.value(1, "Level", self.level)
'''


@pytest.fixture
def kit(tmp_path, monkeypatch):
    """``make(module, tool, par_in=None)``: a module ``kit.<module>`` defining *tool*.

    *par_in* is the folder, relative to the ``kit`` package folder, that
    receives ``<tool>.par`` (None: no file).  Returns the tool class.
    """
    root = tmp_path / "site"
    monkeypatch.syspath_prepend(str(root))

    def make(module: str, tool: str, par_in: str | None = None) -> type:
        *packages, stem = ["kit", *module.split(".")]
        folder = root
        for package in packages:
            folder = folder / package
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "__init__.py").touch()
        (folder / f"{stem}.py").write_text(MODULE.format(tool=tool), encoding="utf-8")
        if par_in is not None:
            target = root / "kit" / par_in
            target.mkdir(parents=True, exist_ok=True)
            (target / f"{tool}.par").write_text(PAR.format(tool=tool), encoding="utf-8")
        importlib.invalidate_caches()
        return getattr(importlib.import_module(f"kit.{module}"), tool)

    yield make
    for name in [name for name in sys.modules if name == "kit" or name.startswith("kit.")]:
        del sys.modules[name]


@pytest.mark.parametrize(("module", "par_in"), [
    ("alpha", "."),              # beside the module
    ("alpha", "par"),            # in par/ beside it
    ("sub.alpha", "sub"),        # beside a module deeper down
    ("sub.alpha", "par"),        # in the par/ of an enclosing package
])
def test_the_par_file_is_found_beside_the_code(kit, isolated, module, par_in):
    tool = kit(module, "kittool", par_in)
    expected = (isolated.root / "site" / "kit" / par_in / "kittool.par").resolve()

    app = tool(["kittool", "level=5"])
    app.execute()
    app.logFileClose()

    assert Path(app.pars().layout.source).resolve() == expected
    assert app.level == 5
    assert "level,   i, a, 5,1,9," in (isolated.pfiles / "kittool.par").read_text()


def test_the_folders_searched_after_pfiles(kit, isolated):
    tool = kit("sub.alpha", "kittool", ".")
    package = isolated.root / "site" / "kit"
    search = tool.search_path()

    assert search.user == (str(isolated.pfiles),)
    assert search.system == (str(isolated.syspfiles), str(package / "sub"),
                             str(package / "sub" / "par"), str(package / "par"),
                             system_folder())


def test_pfiles_comes_first(kit, isolated):
    tool = kit("alpha", "kittool", ".")
    (isolated.syspfiles / "kittool.par").write_text(
        PAR.format(tool="kittool").replace("3,1,9", "7,1,9"), encoding="utf-8")

    assert tool()["level"].integer() == 7


def test_with_pfiles_unset_or_a_user_folder_only(kit, isolated, monkeypatch):
    tool = kit("alpha", "kittool", ".")
    monkeypatch.delenv("PFILES")
    app = tool(level=4)
    app.execute()
    assert "level,   i, a, 4," in (isolated.home / "pfiles" / "kittool.par").read_text()

    mine = isolated.root / "mine"
    monkeypatch.setenv("PFILES", str(mine))
    app = tool(level=6)
    app.execute()
    assert "level,   i, a, 6," in (mine / "kittool.par").read_text()


def test_name_and_version_in_the_banner_the_report_and_str(kit, isolated):
    tool = kit("alpha", "kittool", ".")
    app = tool(["kittool", "level=2"])
    app.run()
    app.logFileClose()

    log = (isolated.work / "kittool.log").read_text()
    assert "* Version: 2.5.1 " in log and "* Package: kit " in log
    assert "Package: iactcopy" not in log
    assert "Version ...................: 2.5.1" in str(app)


def test_version_and_help_name_the_package(kit, isolated, capsys):
    tool = kit("alpha", "kittool", ".")

    assert run_application(tool, ["--version"]) == 0
    assert capsys.readouterr().out == "kittool (kit) 2.5.1\n"
    assert run_application(tool, ["--help"]) == 0
    text = capsys.readouterr().out
    assert "kittool 2.5.1 (kit); parameters from " in text
    assert "  level (integer, prompted (automatic), learned) default: 3, range 1 to 9" in text


@pytest.mark.parametrize("args", [["level=2"], ["--help"]])
def test_a_missing_par_file_is_status_1_naming_where_it_was_looked_for(kit, isolated, capsys,
                                                                        args):
    tool = kit("alpha", "kittool", None)

    assert run_application(tool, args) == 1

    line, = capsys.readouterr().err.splitlines()
    package = isolated.root / "site" / "kit"
    assert line.startswith("*** ERROR: the tool kittool (kit 2.5.1) is not installed properly: "
                           'parameter file "kittool.par" not found (searched: ')
    for folder in (isolated.pfiles, isolated.syspfiles, package, package / "par",
                   system_folder()):
        assert str(folder) in line
    assert line.endswith("; reinstall kit")
    assert not (isolated.work / "kittool.log").exists()


def test_a_broken_par_file_is_status_1_naming_the_file_and_line(kit, isolated, capsys):
    tool = kit("alpha", "kittool", ".")
    path = isolated.root / "site" / "kit" / "kittool.par"
    path.write_text(PAR.format(tool="kittool").replace("3,1,9", "x,1,9"), encoding="utf-8")

    with pytest.raises(InstallationError) as caught:
        tool()
    assert caught.value.exit_status == 1
    assert run_application(tool, ["level=2"]) == 1

    line, = capsys.readouterr().err.splitlines()
    assert f"While reading {str(path)!r}: [line 1]" in line and "'x'" in line


def test_a_tool_defined_in_a_script_finds_the_par_beside_it(isolated, tmp_path):
    script = tmp_path / "bin" / "scripted.py"
    script.parent.mkdir()
    script.write_text(MODULE.format(tool="scripted") + textwrap.dedent("""
        app = scripted(level=8)
        app.run()
        print(app.level, app.pars().layout.source)
        """), encoding="utf-8")
    (script.parent / "scripted.par").write_text(PAR.format(tool="scripted"), encoding="utf-8")

    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            cwd=isolated.work, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["8", str(script.parent / "scripted.par")]
