"""Command-line arguments (docs/parameters.rst; docs/differences.rst, "Command line").

ctools' own examples with iactcopy's changes: an exact name beats a prefix,
a unique prefix is accepted, an ambiguous one lists the candidates, a
repeated name is an error, ``name+``/``name-`` set a boolean, ``@file.yaml``
sets values and later arguments win, ``mode=h`` suppresses prompts, and
numbers are validated.
"""

from __future__ import annotations

import pytest

from iactcopy.errors import ParameterError, UsageError
from iactcopy.params.cmdline import apply_arguments, read_yaml_values, resolve_name
from iactcopy.params.parameters import ValueSource

PAR = """\
    a, s, a, v,,, "p"
    b, r, a, 1.0,0,10, "q"
    c, i, h, 2,0,4, "c"
    d, s, ql, dd,,, "d"
    ipar, i, h, 5,0,10, "i"
    clobber, b, h, yes,,, "Overwrite?"
    coordsys, s, a, CEL,CEL|GAL,, "Coordinate system"
    mode, s, h, ql,,, "m"
"""


class RecordingPrompter:
    """Answers every prompt with an empty line and records what was asked."""

    interactive = False

    def __init__(self):
        self.asked: list[str] = []

    def ask(self, text, *, complete_paths=False):
        self.asked.append(text)
        return ""

    def show_error(self, message):
        raise AssertionError(message)


@pytest.fixture
def prompter():
    return RecordingPrompter()


@pytest.fixture
def pset(make_set, prompter):
    return make_set(PAR, prompter=prompter)


def read_all(pset) -> dict[str, str]:
    """Read every parameter as a tool would (prompting where needed)."""
    return {name: pset.value(name) for name in pset.names}


def test_values_set_and_nothing_prompted(pset, prompter):
    apply_arguments(pset, ["a=new", "b=5", "c=3", "d="])
    values = read_all(pset)
    assert {k: values[k] for k in "abcd"} == {"a": "new", "b": "5", "c": "3", "d": ""}
    assert prompter.asked == ["Coordinate system (CEL|GAL) [CEL] "]
    assert pset["a"].source is ValueSource.COMMAND_LINE
    # a, b, d are learn-mode parameters and learned; c is hidden and not.
    assert pset.learned_values() == {"a": "new", "b": "5", "d": ""}


def test_mode_h_suppresses_automatic_prompts(pset, prompter):
    # Unlike ctools, `mode=h` on the command line means no prompts for `a`
    # parameters (docs/differences.rst, "Automatic mode"); `d` is explicitly
    # `ql` and still asked.
    apply_arguments(pset, ["mode=h"])
    read_all(pset)
    assert prompter.asked == ['d [dd] ']
    assert pset["mode"].text == "h"


def test_mode_h_also_means_not_learned(pset):
    apply_arguments(pset, ["mode=h", "a=x", "d=y"])
    assert pset.learned_values() == {"d": "y"}


def test_value_may_hold_equals_signs(pset):
    apply_arguments(pset, ["a=x=y"])
    assert pset["a"].text == "x=y"


def test_outer_blanks_of_an_argument_are_stripped(pset):
    apply_arguments(pset, [" a= spaced "])
    assert pset["a"].text == " spaced"


@pytest.mark.parametrize(("args", "words"), [
    (["a=x=y", "a=second"], ['"a"', "twice", "a=x=y", "a=second"]),
    (["coord=GAL", "coordsys=CEL"], ['"coordsys"', "twice"]),
])
def test_repeated_name_is_an_error(pset, args, words):
    with pytest.raises(UsageError) as info:
        apply_arguments(pset, args)
    assert info.value.exit_status == 2
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize(("arg", "words"), [
    ("b=20", ['"b=20"', '"b"', "20", "0 to 10"]),
    ("b=abc", ['"b=abc"', "'abc'", "real"]),           # ctools read 0 for it
    ("ipar=xx", ['"ipar=xx"', "'xx'", "integer"]),
    ("ipar=99", ['"ipar=99"', "99", "0 to 10"]),
    ("clobber=", ['"clobber="', "''", "y/yes"]),
    ("coordsys=ICRS", ["'ICRS'", "CEL|GAL"]),
    ("c=1.5", ["'1.5'", "integer"]),
])
def test_bad_values_name_the_argument_and_what_is_allowed(pset, arg, words):
    before = {par.name: par.text for par in pset}
    with pytest.raises(ParameterError) as info:
        apply_arguments(pset, [arg])
    assert info.value.exit_status == 2
    for word in words:
        assert word in str(info.value)
    assert {par.name: par.text for par in pset} == before


@pytest.mark.parametrize(("arg", "words"), [
    ("zz=1", ['"zz"', "parameters: a, b, c, d"]),
    ("A=x", ['"A"']),                                  # names are case-sensitive
    ("=1", ['"=1"', "no parameter name"]),
    ("a", ['"a"', "name=value"]),
    ("--debug", ['"--debug"', "name=value"]),
    ("-h", ['"-h"', "name=value"]),
    ("positional", ['"positional"', "name=value"]),
])
def test_bad_arguments_are_usage_errors(pset, arg, words):
    with pytest.raises(UsageError) as info:
        apply_arguments(pset, [arg])
    assert info.value.exit_status == 2
    assert isinstance(info.value, ValueError)
    for word in words:
        assert word in str(info.value)


def test_unknown_name_suggests_close_names(pset):
    with pytest.raises(UsageError, match="did you mean clobber"):
        apply_arguments(pset, ["clober=no"])


def test_coordsys_keeps_the_users_spelling(pset):
    apply_arguments(pset, ["coordsys=gal"])
    assert pset.string("coordsys") == "gal"


# -- names and prefixes -------------------------------------------------------------

@pytest.fixture
def prefixed(make_set):
    return make_set("""\
        emin, r, h, 0.1,,, "p"
        emax, r, h, 100,,, "p"
        e, r, h, 1,,, "p"
        nthreads, i, h, 4,1,64, "p"
        debug, b, h, no,,, "p"
        """)


def test_exact_name_beats_a_prefix(prefixed):
    assert resolve_name("e", prefixed) == "e"
    apply_arguments(prefixed, ["e=5"])
    assert prefixed["e"].text == "5"
    assert prefixed["emin"].text == "0.1"


def test_unique_prefix_is_accepted(prefixed):
    assert resolve_name("nth", prefixed) == "nthreads"
    apply_arguments(prefixed, ["nth=8", "emi=0.5"])
    assert prefixed.integer("nthreads") == 8
    assert prefixed.real("emin") == 0.5


def test_ambiguous_prefix_lists_the_candidates(prefixed):
    with pytest.raises(UsageError) as info:
        apply_arguments(prefixed, ["em=1"])
    message = str(info.value)
    assert '"em"' in message and "ambiguous" in message
    assert "emin" in message and "emax" in message
    assert info.value.exit_status == 2


def test_prefix_and_full_name_together_are_a_repetition(prefixed):
    with pytest.raises(UsageError, match="twice"):
        apply_arguments(prefixed, ["nth=2", "nthreads=3"])


# -- name+ and name- ------------------------------------------------------------------

def test_plus_and_minus_set_booleans(prefixed):
    apply_arguments(prefixed, ["debug+"])
    assert prefixed.boolean("debug") is True
    assert prefixed["debug"].text == "yes"


def test_minus_with_a_prefix(prefixed):
    prefixed.set("debug", True)
    apply_arguments(prefixed, ["deb-"])
    assert prefixed["debug"].text == "no"


def test_plus_on_a_non_boolean_is_an_error(prefixed):
    with pytest.raises(UsageError) as info:
        apply_arguments(prefixed, ["nthreads+"])
    message = str(info.value)
    assert '"nthreads+"' in message and "boolean" in message and "nthreads=value" in message


def test_plus_and_assignment_of_one_name_is_a_repetition(prefixed):
    with pytest.raises(UsageError, match="twice"):
        apply_arguments(prefixed, ["debug+", "debug=no"])


# -- @file.yaml -----------------------------------------------------------------------

def test_yaml_file_sets_values(pset, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("a: from yaml\nb: 2.5\nc: 1\nclobber: false\ncoordsys: GAL\n")
    apply_arguments(pset, [f"@{path}"])
    assert pset["a"].text == "from yaml"
    assert pset.real("b") == 2.5
    assert pset.integer("c") == 1
    assert pset.boolean("clobber") is False
    assert pset["coordsys"].source is ValueSource.COMMAND_LINE


def test_yaml_values_are_read_as_text(make_set, tmp_path):
    # Like `name=value`: the parameter's type decides, not YAML's guess.
    pset = make_set("""\
        prodname, s, a, iact-fits,,, "p"
        outfile, f, a, runlist.lis,,, "p"
        answer, s, h, no,,, "p"
        emin, r, h, 1,,, "p"
        empty, s, h, x,,, "p"
        """)
    path = tmp_path / "run.yaml"
    path.write_text("prodname: 2024\noutfile: 1.5\nanswer: yes\nemin: 0.50\nempty:\n")
    apply_arguments(pset, [f"@{path}"])
    assert {name: pset[name].text for name in pset.names} == {
        "prodname": "2024", "outfile": "1.5", "answer": "yes", "emin": "0.50", "empty": ""}


def test_arguments_after_the_yaml_file_win(pset, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("a: from yaml\nb: 2.5\n")
    apply_arguments(pset, [f"@{path}", "a=later", "b=7"])
    assert pset["a"].text == "later"
    assert pset["b"].text == "7"


def test_yaml_names_may_be_prefixes(pset, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("coord: gal\n")
    apply_arguments(pset, [f"@{path}"])
    assert pset["coordsys"].text == "gal"


@pytest.mark.parametrize(("content", "error", "words"), [
    ("- a\n- b\n", UsageError, ["mapping", "list"]),
    ("a: [1, 2]\n", UsageError, ['"a"', "must be a text"]),
    ("a: {x: 1}\n", UsageError, ['"a"']),
    ("a: 'unclosed\n", UsageError, ["not valid YAML"]),
    ("zz: 1\n", UsageError, ['"zz"']),
    ("b: 20\n", ParameterError, ['"b"', "20", "0 to 10"]),
    ("clobber: maybe\n", ParameterError, ['"clobber"', "'maybe'"]),
])
def test_bad_yaml_files(pset, tmp_path, content, error, words):
    path = tmp_path / "run.yaml"
    path.write_text(content)
    with pytest.raises(error) as info:
        apply_arguments(pset, [f"@{path}"])
    assert info.value.exit_status == 2
    for word in words:
        assert word in str(info.value)


def test_missing_yaml_file(pset, tmp_path):
    with pytest.raises(UsageError) as info:
        apply_arguments(pset, [f"@{tmp_path}/none.yaml"])
    assert "none.yaml" in str(info.value)
    assert info.value.exit_status == 2


def test_empty_yaml_file_sets_nothing(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing\n")
    assert read_yaml_values(str(path)) == {}
