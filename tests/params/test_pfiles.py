"""Finding, synchronising and saving ``.par`` files (docs/parameters.rst).

PFILES is ``user;system`` with ``:``-separated folders; without ``;`` every
folder is a user folder; without PFILES the user folder is ``$HOME/pfiles``;
the package's ``par/`` is always the last system folder.  A stale or broken
user copy never stops a tool, and learning writes only changed learn-mode
values, merged by name into a user folder, keeping the system file's layout.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iactcopy.errors import ParameterError
from iactcopy.params.cmdline import apply_arguments
from iactcopy.params.pfiles import (
    SearchPath,
    load_parameters,
    save_learned,
    system_folder,
    write_values,
)

SYSTEM = """\
    #
    # tool: a test tool
    #
    infile,  f, a, events.fits,,, "Input file"
    emin,    r, a, 0.1,0,100, "Lower energy (TeV)"
    nbins,   i, a, 20,1,200, "Number of bins"
    coordsys, s, a, CEL,CEL|GAL,, "Coordinate system"
    seed,    i, h, 1,,, "Random seed"
    title,   s, ql, "hello, world",,, "Title"

    # Standard parameters
    chatter, i, h, 2,0,4, "Chattiness of output"
    mode,    s, h, ql,,, "Mode of automatic parameters"
"""


@pytest.fixture
def system_par(write_par, folders):
    return write_par(folders.system, "tool", SYSTEM)


def user_file(folders, tool="tool"):
    return folders.user / f"{tool}.par"


def values(pset) -> dict[str, str]:
    return {par.name: par.text for par in pset}


# -- the search path ------------------------------------------------------------------

def test_pfiles_user_and_system_parts(monkeypatch, tmp_path):
    monkeypatch.setenv("PFILES", f"{tmp_path}/u1:{tmp_path}/u2;{tmp_path}/s1:{tmp_path}/s2")
    search = SearchPath.from_environment()
    assert search.user == (f"{tmp_path}/u1", f"{tmp_path}/u2")
    assert search.system == (f"{tmp_path}/s1", f"{tmp_path}/s2", system_folder())


def test_pfiles_without_semicolon_is_all_user_folders(monkeypatch, tmp_path):
    monkeypatch.setenv("PFILES", f"{tmp_path}/a:{tmp_path}/b")
    search = SearchPath.from_environment()
    assert search.user == (f"{tmp_path}/a", f"{tmp_path}/b")
    assert search.system == (system_folder(),)


def test_pfiles_unset_uses_home(monkeypatch, tmp_path):
    monkeypatch.delenv("PFILES")
    monkeypatch.setenv("HOME", str(tmp_path / "someone"))
    search = SearchPath.from_environment()
    assert search.user == (str(tmp_path / "someone" / "pfiles"),)
    assert search.system == (system_folder(),)


def test_package_folder_is_always_the_last_system_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("PFILES", f"{tmp_path}/u;{system_folder()}:{tmp_path}/s")
    assert SearchPath.from_environment().system == (f"{tmp_path}/s", system_folder())


def test_empty_pfiles_pieces_are_skipped(monkeypatch, tmp_path):
    # An empty piece is not "/" (as it was in ctools).
    monkeypatch.setenv("PFILES", f"::{tmp_path}/u:;")
    search = SearchPath.from_environment()
    assert search.user == (f"{tmp_path}/u",)
    assert search.system == (system_folder(),)


def test_tilde_in_pfiles_is_home(monkeypatch, folders):
    monkeypatch.setenv("PFILES", "~/mine;~/sys")
    search = SearchPath.from_environment()
    assert search.user == (str(folders.home / "mine"),)
    assert search.system[0] == str(folders.home / "sys")


def test_shipped_tools_load_with_nothing_in_pfiles():
    for tool in ("csiactdata", "csiactcopy", "csfindobs"):
        pset = load_parameters(tool)
        assert pset.layout.source == os.path.join(system_folder(), f"{tool}.par")
        assert "chatter" in pset


def test_system_folder_of_pfiles_comes_before_the_package(write_par, folders):
    write_par(folders.system, "csiactdata",
              'datapath, s, a, /site/data,,, "Path"\nmode, s, h, ql,,, "m"\n')
    pset = load_parameters("csiactdata")
    assert pset["datapath"].text == "/site/data"
    assert pset.names == ["datapath", "mode"]


def test_first_folder_holding_the_file_wins(monkeypatch, write_par, tmp_path):
    write_par(tmp_path / "s2", "t", 'x, s, h, second,,, "p"\n')
    write_par(tmp_path / "s3", "t", 'x, s, h, third,,, "p"\n')
    (tmp_path / "s1").mkdir()
    monkeypatch.setenv("PFILES", f"{tmp_path}/u;{tmp_path}/s1:{tmp_path}/s2:{tmp_path}/s3")
    assert load_parameters("t")["x"].text == "second"


def test_missing_tool_is_an_error_naming_the_file_and_folders(folders):
    with pytest.raises(ParameterError) as info:
        load_parameters("nosuchtool")
    message = str(info.value)
    assert '"nosuchtool.par"' in message
    assert str(folders.user) in message and str(folders.system) in message
    assert info.value.exit_status == 2


# -- learning -----------------------------------------------------------------------

def test_learning_writes_changed_learn_values_into_the_user_folder(system_par, folders):
    before = system_par.read_bytes()
    pset = load_parameters("tool")
    apply_arguments(pset, ["emin=0.5", "seed=42", "chatter=4"])
    written = save_learned(pset)
    assert written == str(user_file(folders))
    assert system_par.read_bytes() == before           # the system file is never written
    again = load_parameters("tool")
    assert again["emin"].text == "0.5"
    # Hidden parameters are not learned.
    assert again["seed"].text == "1" and again["chatter"].text == "2"
    # Only the changed value differs from the system file.
    expected = before.decode().replace("0.1,0,100", "0.5,0,100")
    assert user_file(folders).read_text() == expected


def test_nothing_changed_writes_nothing(system_par, folders):
    pset = load_parameters("tool")
    pset.set("seed", 5)           # hidden: not learned
    pset.set("emin", "0.1")       # the same value
    assert save_learned(pset) is None
    assert not user_file(folders).exists()


def test_the_user_folder_is_created(system_par, folders):
    assert not folders.user.exists()
    pset = load_parameters("tool")
    pset.set("nbins", 10)
    save_learned(pset)
    assert folders.user.is_dir()
    assert load_parameters("tool")["nbins"].text == "10"


def test_learned_value_set_back_to_the_default(system_par, folders):
    pset = load_parameters("tool")
    pset.set("nbins", 10)
    save_learned(pset)
    pset = load_parameters("tool")
    assert pset["nbins"].text == "10"
    pset.set("nbins", 20)
    save_learned(pset)
    assert load_parameters("tool")["nbins"].text == "20"
    assert user_file(folders).read_text() == system_par.read_text()


def test_pfiles_unset_learns_into_home_pfiles(monkeypatch, system_par, folders, write_par):
    monkeypatch.delenv("PFILES")
    write_par(folders.home / "pfiles", "solo", 'x, s, ql, old,,, "p"\n')
    pset = load_parameters("solo")
    assert pset["x"].text == "old"
    pset.set("x", "new")
    assert save_learned(pset) == str(folders.home / "pfiles" / "solo.par")
    assert load_parameters("solo")["x"].text == "new"


def test_first_learning_from_the_package_file(monkeypatch, folders):
    # The shipped file is read; the user copy appears in HOME/pfiles.
    monkeypatch.delenv("PFILES")
    assert not (folders.home / "pfiles").exists()
    pset = load_parameters("csfindobs")
    apply_arguments(pset, ["ra=10.5", "min_qual=1"])
    path = save_learned(pset)
    assert path == str(folders.home / "pfiles" / "csfindobs.par")
    again = load_parameters("csfindobs")
    assert again["ra"].text == "10.5"
    assert again["min_qual"].text == "0"        # hidden: not learned
    assert "csfindobs: select" in Path(path).read_text()    # the system file's banner


_USER_COPY = """\
# my own notes: emin as the paper uses it
mode,    s, h, ql,,, "Mode of automatic parameters"
infile,  f, a,   mine.fits  ,,, "Input file"
emin,    r, a, 0.3,0,100, "Lower energy (TeV)"

nbins,   i, a, 20,1,200, "Number of bins"
coordsys, s, a, GAL,CEL|GAL,, "Coordinate system"
seed,    i, h, 1,,, "Random seed"
title,   s, ql, "hello, world",,, "Title"
chatter, i, h, 2,0,4, "Chattiness of output"
"""


def test_learning_keeps_the_comments_and_spacing_of_the_user_copy(system_par, folders):
    folders.user.mkdir()
    user_file(folders).write_text(_USER_COPY)
    pset = load_parameters("tool")
    assert (pset["infile"].text, pset["coordsys"].text) == ("mine.fits", "GAL")
    pset.set("emin", "0.5")
    save_learned(pset)
    assert user_file(folders).read_text() == _USER_COPY.replace("0.3,0,100", "0.5,0,100")


def test_a_user_copy_that_no_longer_fits_is_rebuilt_from_the_definition(system_par,
                                                                        folders):
    folders.user.mkdir()
    user_file(folders).write_text(_USER_COPY.replace('title,   s, ql, "hello, world",,, '
                                                     '"Title"\n', ""))
    pset = load_parameters("tool")
    pset.set("emin", "0.5")
    save_learned(pset)
    saved = user_file(folders).read_text()
    assert "my own notes" not in saved and "# tool: a test tool" in saved
    assert load_parameters("tool")["coordsys"].text == "GAL"


def test_layout_comments_indentation_and_quotes_survive(write_par, folders):
    # Quoted values stay quoted, indented lines stay well-formed,
    # CRLF line ends and the spacing around the value are kept.
    text = ('# banner\r\n'
            '  lead, s, a, leadval,,, "Leading spaces"\r\n'
            'name2, s, a, "quoted, value",,, "Prompt two"\r\n'
            '\tname4, i, h, "  7  ",,, "inner spaces"\r\n'
            'spaced, s, a,    wide   ,,, "p"\r\n'
            '\r\n'
            'mode, s, h, ql,,, "m"')
    sysfile = write_par(folders.system, "lay", text, dedent=False)
    pset = load_parameters("lay")
    pset.set("lead", "new, lead")
    pset.set("spaced", '"x"')
    save_learned(pset)
    saved = user_file(folders, "lay").read_bytes().decode()
    assert saved == ('# banner\r\n'
                     '  lead, s, a, "new, lead",,, "Leading spaces"\r\n'
                     'name2, s, a, "quoted, value",,, "Prompt two"\r\n'
                     '\tname4, i, h, "  7  ",,, "inner spaces"\r\n'
                     'spaced, s, a,    """x"""   ,,, "p"\r\n'
                     '\r\n'
                     'mode, s, h, ql,,, "m"\n')
    again = load_parameters("lay")
    assert values(again) == {"lead": "new, lead", "name2": "quoted, value", "name4": "7",
                             "spaced": '"x"', "mode": "ql"}
    assert sysfile.read_bytes().decode() == text


def test_bytes_that_are_not_utf8_survive_saving(write_par, folders):
    path = folders.system / "latin.par"
    path.write_bytes(b'# caf\xe9\na, s, a, v,,, "p\xe9"\nmode, s, h, ql,,, "m"\n')
    pset = load_parameters("latin")
    pset.set("a", "w")
    save_learned(pset)
    assert user_file(folders, "latin").read_bytes() == (
        b'# caf\xe9\na, s, a, w,,, "p\xe9"\nmode, s, h, ql,,, "m"\n')


def test_saving_leaves_no_temporary_files(system_par, folders):
    pset = load_parameters("tool")
    pset.set("title", "x")
    save_learned(pset)
    leftovers = [name for name in os.listdir(folders.user)
                 if name != "tool.par" and not name.endswith(".lock")]
    assert leftovers == []


def test_saves_of_two_runs_merge_by_name(system_par, folders):
    first = load_parameters("tool")
    second = load_parameters("tool")
    first.set("emin", 1.5)
    second.set("nbins", 7)
    save_learned(first)
    save_learned(second)
    again = load_parameters("tool")
    assert again["emin"].text == "1.5" and again["nbins"].text == "7"


def test_no_writable_user_folder_warns_and_writes_nothing(monkeypatch, system_par, folders,
                                                          tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("PFILES", f"{blocker}/pfiles;{folders.system}")
    before = sorted(os.listdir(folders.system)), system_par.read_bytes()
    warnings = []
    pset = load_parameters("tool", warn=warnings.append)
    pset.set("emin", 3)
    assert save_learned(pset) is None
    assert len(warnings) == 1
    assert "tool.par" in warnings[0] and "not learned" in warnings[0]
    assert str(blocker) in warnings[0]
    assert (sorted(os.listdir(folders.system)), system_par.read_bytes()) == before


def test_no_user_folder_at_all_warns(monkeypatch, system_par, folders):
    monkeypatch.setenv("PFILES", f";{folders.system}")
    pset = load_parameters("tool")
    pset.set("emin", 3)
    assert save_learned(pset) is None
    assert any("not learned" in warning for warning in pset.warnings)
    assert os.listdir(folders.system) == ["tool.par"]


def test_foreign_par_file_in_a_user_only_pfiles(monkeypatch, write_par, tmp_path):
    # Without `;` the folder is a user folder: the file found there is both the
    # definition and the user copy, and learning rewrites it in place.
    folder = tmp_path / "heasoft"
    text = '# fdump parameters\ninfile,f,a,"in.fits",,,"Input file"\nmode,s,h,"ql",,,""\n'
    write_par(folder, "fdump", text, dedent=False)
    monkeypatch.setenv("PFILES", str(folder))
    pset = load_parameters("fdump")
    assert pset["infile"].text == "in.fits"
    pset.set("infile", "other.fits")
    assert save_learned(pset) == str(folder / "fdump.par")
    assert (folder / "fdump.par").read_text() == text.replace('"in.fits"', "other.fits")
    assert load_parameters("fdump")["infile"].text == "other.fits"


# -- synchronising a stale user copy --------------------------------------------------

STALE_USER = """\
    # an old release
    infile,  f, a, old.fits,,, "Input file (old prompt)"
    removed, s, a, gone,,, "A parameter that no longer exists"
    emin,    r, a, 500,0,1000, "Lower energy (TeV)"
    nbins,   r, a, 9.5,,, "Number of bins"
    coordsys, s, a, ICRS,,, "Coordinate system"
    seed,    i, h, 99,,, "Random seed"
    mode,    s, h, ql,,, "Mode of automatic parameters"
"""


def test_stale_user_copy_is_synchronised(system_par, write_par, folders):
    stale = write_par(folders.user, "tool", STALE_USER)
    warnings = []
    pset = load_parameters("tool", warn=warnings.append)
    assert values(pset) == {
        "infile": "old.fits",     # still valid: kept
        "emin": "0.1",            # 500 is outside 0..100 now: dropped
        "nbins": "20",            # the type changed from r to i: dropped
        "coordsys": "CEL",        # ICRS is not an option any more: dropped
        "seed": "1",              # hidden in the user copy: not a learned value
        "title": "hello, world",  # new parameter: the system default
        "chatter": "2",
        "mode": "ql",
    }
    # The definition is the system one.
    assert pset["infile"].prompt == "Input file"
    assert (pset["emin"].minimum, pset["emin"].maximum) == ("0", "100")
    by_name = {name: [w for w in warnings if f'"{name}"' in w]
               for name in ("removed", "emin", "nbins", "coordsys")}
    lines = {"removed": 3, "emin": 4, "nbins": 5, "coordsys": 6}
    for name, found in by_name.items():
        assert len(found) == 1, (name, warnings)
        assert f"{stale}:{lines[name]}" in found[0]
    assert "500" in by_name["emin"][0] and "0 to 100" in by_name["emin"][0]
    assert "integer" in by_name["nbins"][0]
    assert len(warnings) == 4


def test_saving_after_a_stale_copy_writes_the_new_layout(system_par, write_par, folders):
    write_par(folders.user, "tool", STALE_USER)
    pset = load_parameters("tool")
    pset.set("nbins", 30)
    save_learned(pset)
    saved = user_file(folders).read_text()
    assert "removed" not in saved and "old release" not in saved
    assert "# Standard parameters" in saved
    again = load_parameters("tool")
    assert again.warnings == []
    assert again["nbins"].text == "30"
    assert again["infile"].text == "old.fits"     # kept through the merge


@pytest.mark.parametrize("content", [
    b'infile, f, a, x.fits\nnbins, i, a, "7,,, "p"\n',
    b"\x00\xff\xfe garbage \x80\n",
    b"",
])
def test_unparsable_user_copy_never_stops_the_tool(system_par, folders, content,
                                                    make_set):
    folders.user.mkdir()
    user_file(folders).write_bytes(content)
    pset = load_parameters("tool")
    assert values(pset) == values(make_set(SYSTEM))
    for warning in pset.warnings:
        assert str(user_file(folders)) in warning
    if content:
        assert pset.warnings and all(":1:" in w or ":2:" in w for w in pset.warnings)
    # The next save replaces the broken copy with a good one.
    pset.set("emin", 2)
    save_learned(pset)
    assert values(load_parameters("tool"))["emin"] == "2"


def test_damaged_user_copy_keeps_its_good_lines(system_par, write_par, folders):
    write_par(folders.user, "tool", """\
        infile, f, a, mine.fits,,, "Input file"
        emin, r, a, 7.5,0,100
        nbins, i, a, twelve,1,200, "Number of bins"
        title, s, ql, "my title",,, "Title"
        mode, s, h, ql,,, "m"
        """)
    warnings = []
    pset = load_parameters("tool", warn=warnings.append)
    assert pset["infile"].text == "mine.fits"
    assert pset["title"].text == "my title"
    assert pset["emin"].text == "0.1" and pset["nbins"].text == "20"
    assert [w.split(": ")[0] for w in warnings] == [f"{user_file(folders)}:2",
                                                   f"{user_file(folders)}:3"]


# -- values written for iactpar set ---------------------------------------------------

def test_pinned_hidden_value_is_written_with_mode_hl(system_par, folders):
    pset = load_parameters("tool")
    pset.set("seed", 42)
    write_values(pset, {"seed": "42"}, pinned={"seed"})
    saved = user_file(folders).read_text()
    assert "seed,    i, hl, 42,,," in saved
    again = load_parameters("tool")
    assert again["seed"].text == "42"
    # A later run that learns something else keeps the pinned value.
    again.set("emin", 9)
    save_learned(again)
    final = load_parameters("tool")
    assert (final["seed"].text, final["emin"].text) == ("42", "9")
    assert "seed,    i, hl, 42,,," in user_file(folders).read_text()


def test_command_line_may_name_a_parameter_the_stale_copy_lacks(system_par, write_par, folders):
    # The command line applies to the synchronised set, not the stale copy.
    write_par(folders.user, "tool", STALE_USER)
    pset = load_parameters("tool")
    apply_arguments(pset, ["title=new title", "infile=cmd.fits"])
    assert pset["title"].text == "new title"
    save_learned(pset)
    again = load_parameters("tool")
    assert (again["title"].text, again["infile"].text) == ("new title", "cmd.fits")


def test_a_new_first_user_folder_starts_from_the_copy_in_use(monkeypatch, system_par, write_par,
                                                              folders, tmp_path):
    # A folder put in front of PFILES receives the user copy with the values
    # learned so far, not only this run's: nothing learned earlier is lost.
    old = write_par(folders.user, "tool", SYSTEM.replace("0.1,0,100", "5,0,100"))
    project = tmp_path / "project-pfiles"
    monkeypatch.setenv("PFILES", f"{project}:{folders.user};{folders.system}")
    pset = load_parameters("tool")
    assert pset["emin"].text == "5"
    pset.set("nbins", 12)
    assert save_learned(pset) == str(project / "tool.par")
    again = load_parameters("tool")
    assert (again["emin"].text, again["nbins"].text) == ("5", "12")
    assert "5,0,100" in old.read_text()        # the old copy is left as it was


def test_mode_h_learned_with_iactpar_style_pin(system_par, folders):
    pset = load_parameters("tool")
    pset.set("mode", "h")
    write_values(pset, {"mode": "h"}, pinned={"mode"})
    again = load_parameters("tool")
    assert again["mode"].text == "h"
    assert not again.is_query(again["emin"])
