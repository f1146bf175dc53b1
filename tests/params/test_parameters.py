"""Parameter sets from Python: typed access, assignment, modes and what is learned.

docs/parameters.rst, with the differences of docs/differences.rst: ``a``
follows the current ``mode`` value ("Automatic mode"), a failed assignment
keeps value and status ("Number validation"), Python text works for every
type ("Other parameter details").
"""

from __future__ import annotations

import math

import pytest

from iactcopy.errors import ParameterError
from iactcopy.params.parameters import ValueSource
from iactcopy.params.partypes import Status

TYPED = """\
    bpar, b, h, yes,,, "A boolean"
    ipar, i, h, 3,0,10, "An integer"
    rpar, r, h, 1.5,0,10, "A real"
    rfree, r, h, 2.0,,, "A free real"
    spar, s, h, text,,, "A string"
    fpar, f, h, $IACT_DIR/x.fits,,, "A file"
    tpar, t, h, MJD 51544.5,,, "A time"
    coordsys, s, h, CEL,CEL|GAL,, "Coordinate system"
    mode, s, h, ql,,, "Mode"
"""


@pytest.fixture
def typed(make_set):
    return make_set(TYPED)


def test_typed_accessors(typed, monkeypatch):
    monkeypatch.setenv("IACT_DIR", "/data")
    assert typed.boolean("bpar") is True
    assert typed.integer("ipar") == 3
    assert typed.real("rpar") == 1.5
    assert typed.string("spar") == "text"
    assert typed.filename("fpar") == "/data/x.fits"
    assert typed.time("tpar") == "MJD 51544.5"
    # The same through the parameter object, as app['name'].integer() in ctools.
    assert typed["ipar"].integer() == 3
    assert typed["bpar"].boolean() is True
    assert typed["rpar"].real() == 1.5
    assert typed["spar"].string() == "text"
    assert typed["fpar"].filename() == "/data/x.fits"
    assert typed["ipar"].is_valid()
    assert typed["ipar"].value() == typed["ipar"].current_value() == "3"


@pytest.mark.parametrize(("name", "accessor"), [
    ("ipar", "real"), ("rpar", "integer"), ("spar", "filename"), ("fpar", "string"),
    ("bpar", "integer"), ("tpar", "string"),
])
def test_wrong_accessor_is_an_error(typed, name, accessor):
    with pytest.raises(ParameterError) as info:
        getattr(typed, accessor)(name)
    message = str(info.value)
    assert f'"{name}"' in message and accessor in message


@pytest.mark.parametrize(("value", "stored", "typed_value"), [
    (True, "yes", True), (False, "no", False), ("n", "n", False), ("Yes", "Yes", True),
])
def test_set_boolean(typed, value, stored, typed_value):
    typed.set("bpar", value)
    assert typed["bpar"].text == stored
    assert typed.boolean("bpar") is typed_value


@pytest.mark.parametrize(("name", "value", "stored", "read"), [
    ("ipar", 7, "7", 7),
    ("ipar", 3.0, "3", 3),          # an integral float is an integer
    ("ipar", "8", "8", 8),          # text works from Python as on the command line
    ("rpar", 2.5, "2.5", 2.5),
    ("rpar", 4, "4", 4.0),
    ("rpar", "1e0", "1e0", 1.0),
    ("spar", "a, \"b\"", "a, \"b\"", "a, \"b\""),
    ("coordsys", "gal", "gal", "gal"),
])
def test_set_from_python_values(typed, name, value, stored, read):
    typed.set(name, value)
    par = typed[name]
    assert par.text == stored
    assert par.source is ValueSource.PYTHON
    assert {"ipar": typed.integer, "rpar": typed.real, "spar": typed.string,
            "coordsys": typed.string}[name](name) == read


@pytest.mark.parametrize(("name", "value", "words"), [
    ("ipar", 2.5, ["ipar", "2.5", "integer"]),
    ("ipar", True, ["ipar", "True", "integer"]),
    ("ipar", "text", ["ipar", "'text'", "digits"]),
    ("ipar", 11, ["ipar", "11", "0 to 10"]),
    ("rpar", "abc", ["rpar", "'abc'", "real"]),
    ("rpar", "inf", ["rpar", "'inf'", "0 to 10"]),
    ("bpar", "maybe", ["bpar", "'maybe'", "y/yes"]),
    ("bpar", 2.5, ["bpar", "2.5"]),
    ("spar", 3, ["spar", "3", "string"]),
    ("coordsys", "ICRS", ["coordsys", "'ICRS'", "CEL|GAL"]),
    ("tpar", "soon", ["tpar", "'soon'", "MJD"]),
    ("spar", "two\nlines", ["spar", "newline"]),
])
def test_failed_assignment_keeps_value_and_status(typed, name, value, words):
    before = typed[name].text, typed[name].status, typed[name].source
    with pytest.raises(ParameterError) as info:
        typed.set(name, value)
    err = info.value
    assert err.exit_status == 2
    assert isinstance(err, ValueError)
    for word in words:
        assert word in str(err)
    assert (typed[name].text, typed[name].status, typed[name].source) == before


def test_w26_rejected_values_leave_status_alone(make_set):
    # In ctools a rejected `inf` left a NaN status on 1.0
    # and a rejected `20` made INDEF look valid.
    pset = make_set('r1, r, h, 1.0,0,10, "p"\nr2, r, h, INDEF,0,10, "p"\n')
    with pytest.raises(ParameterError):
        pset.set("r1", "inf")
    assert pset.real("r1") == 1.0
    with pytest.raises(ParameterError):
        pset.set("r2", 20)
    assert not pset.is_valid("r2")
    assert pset["r2"].is_undefined()


def test_unknown_name(typed):
    with pytest.raises(ParameterError) as info:
        typed.set("ipr", 1)
    message = str(info.value)
    assert '"ipr"' in message and "did you mean ipar" in message
    with pytest.raises(ParameterError):
        typed["nothere"]


# -- undefined and not-a-number -------------------------------------------------

@pytest.mark.parametrize(("line", "reader", "status"), [
    ('x, i, h, INDEF,,, "p"', "integer", Status.UNDEFINED),
    ('x, r, h, UNDEF,,, "p"', "real", Status.UNDEFINED),
    ('x, r, h, NaN,,, "p"', "real", Status.NAN),
    ('x, i, h, inf,,, "p"', "integer", Status.NAN),
    ('x, f, h, NONE,,, "p"', "filename", Status.UNDEFINED),
    ('x, f, h, "",,, "p"', "filename", Status.UNDEFINED),
    ('x, fe, h, none,,, "p"', "filename", Status.UNDEFINED),
    ('x, t, h, INDEF,,, "p"', "time", Status.UNDEFINED),
])
def test_reading_undefined_or_nan_is_an_error(make_set, line, reader, status):
    pset = make_set(line + "\n")
    assert pset.status("x") is status
    assert not pset.is_valid("x")
    assert pset["x"].is_undefined() is (status is Status.UNDEFINED)
    assert pset["x"].is_notanumber() is (status is Status.NAN)
    with pytest.raises(ParameterError) as info:
        getattr(pset, reader)("x")
    message = str(info.value)
    assert '"x"' in message
    assert ("undefined" if status is Status.UNDEFINED else "not a number") in message


@pytest.mark.parametrize("value", ["NONE", "INDEF", "", "undefined"])
def test_undefined_words_are_ordinary_strings(make_set, value):
    pset = make_set(f's, s, h, "{value}",,, "p"\n')
    assert pset.is_valid("s")
    assert pset.string("s") == value


def test_python_nan_and_infinities(make_set):
    pset = make_set('x, r, h, 1,,, "p"\n')
    pset.set("x", float("nan"))
    assert pset["x"].is_notanumber()
    pset.set("x", float("-inf"))
    assert pset.real("x") == -math.inf


# -- filenames --------------------------------------------------------------------

def test_filename_expansion_happens_when_read(make_set, monkeypatch, folders):
    pset = make_set('a, f, h, $IACT_A/x.fits,,, "p"\nb, f, h, ${IACT_B}y.fits,,, "p"\n'
                    'c, f, h, ~/z.fits,,, "p"\nd, f, h, $IACT_NONE/w,,, "p"\n'
                    "e, f, h, $IACT_A.fits,,, p\n")
    monkeypatch.setenv("IACT_A", "/first")
    monkeypatch.setenv("IACT_B", "/second/")
    assert pset.filename("a") == "/first/x.fits"
    assert pset.filename("b") == "/second/y.fits"
    assert pset.filename("c") == f"{folders.home}/z.fits"
    assert pset.filename("d") == "$IACT_NONE/w"   # unknown variables are left as written
    assert pset.filename("e") == "/first.fits"    # $NAME ends where a name ends
    # What is stored (and learned) is the text as written.
    assert pset["a"].text == "$IACT_A/x.fits"
    monkeypatch.setenv("IACT_A", "/later")
    assert pset.filename("a") == "/later/x.fits"


@pytest.mark.parametrize(("stored", "read"), [
    ("$ENV{IACT_A}/f", "/first/f"),
    ("$ENV(IACT_A)/f", "/first/f"),
    ("$(IACT_A)/f", "/first/f"),
    ("'$IACT_A'/f", "'$IACT_A'/f"),        # nothing is expanded inside single quotes
    ("a~/f", "a~/f"),                      # `~` counts only at the start
    ("  $IACT_A/f  ", "/first/f"),         # surrounding blanks are not part of the name
])
def test_filename_expansion_forms(make_set, monkeypatch, stored, read):
    monkeypatch.setenv("IACT_A", "/first")
    pset = make_set('a, f, h, NONE,,, "p"\n')
    pset.set("a", stored)
    assert pset.filename("a") == read


def test_filename_set_from_python_is_stored_unexpanded(make_set, monkeypatch):
    monkeypatch.setenv("IACT_A", "/first")
    pset = make_set('a, f, h, NONE,,, "p"\n')
    pset.set("a", "$IACT_A/f.fits")
    assert pset["a"].text == "$IACT_A/f.fits"
    assert pset.filename("a") == "/first/f.fits"


def test_filename_access_letters(make_set, tmp_path):
    existing = tmp_path / "in.fits"
    existing.write_text("x")
    missing = tmp_path / "out.fits"
    pset = make_set(f'inp, fe, h, {missing},,, "p"\nout, fn, h, {existing},,, "p"\n'
                    f'rd, fr, h, {existing},,, "p"\nwr, fw, h, {missing},,, "p"\n')
    with pytest.raises(ParameterError, match="does not exist"):
        pset.filename("inp")
    with pytest.raises(ParameterError, match="exists already"):
        pset.filename("out")
    assert pset.filename("rd") == str(existing)
    assert pset.filename("wr") == str(missing)
    pset.set("inp", str(existing))
    pset.set("out", str(missing))
    assert pset.filename("inp") == str(existing)
    assert pset.filename("out") == str(missing)


# -- modes ------------------------------------------------------------------------

MODES = """\
    auto, s, a, v,,, "p"
    hidden, s, h, v,,, "p"
    query, s, q, v,,, "p"
    hl, s, hl, v,,, "p"
    lh, s, lh, v,,, "p"
    ql, s, ql, v,,, "p"
    lq, s, lq, v,,, "p"
    l, s, l, v,,, "p"
    al, s, al, v,,, "p"
    la, s, la, v,,, "p"
    mode, s, h, {mode},,, "m"
"""


@pytest.mark.parametrize(("mode", "queried", "learned"), [
    ("ql", {"auto", "query", "ql", "lq", "l", "al", "la"},
     {"auto", "hl", "lh", "ql", "lq", "l", "al", "la"}),
    ("h", {"query", "ql", "lq"}, {"hl", "lh", "ql", "lq", "l", "al", "la"}),
    ("hl", {"query", "ql", "lq"}, {"auto", "hl", "lh", "ql", "lq", "l", "al", "la"}),
    ("q", {"auto", "query", "ql", "lq", "l", "al", "la"}, {"hl", "lh", "ql", "lq", "l",
                                                          "al", "la"}),
])
def test_modes_and_automatic_mode(make_set, mode, queried, learned):
    pset = make_set(MODES.format(mode=mode))
    names = set(pset.names) - {"mode"}
    assert {n for n in names if pset.is_query(pset[n])} == queried
    assert {n for n in names if pset.is_learn(pset[n])} == learned


def test_automatic_mode_follows_the_current_mode_value(make_set):
    # `a` is resolved when read, so setting `mode` later changes it.
    pset = make_set(MODES.format(mode="ql"))
    assert pset.is_query(pset["auto"]) and pset.is_learn(pset["auto"])
    pset.set("mode", "h")
    assert not pset.is_query(pset["auto"]) and not pset.is_learn(pset["auto"])
    pset.set("mode", "hl")
    assert not pset.is_query(pset["auto"]) and pset.is_learn(pset["auto"])


def test_without_mode_parameter_automatic_is_hidden(make_set):
    pset = make_set('a, s, a, v,,, "p"\n')
    assert not pset.is_query(pset["a"]) and not pset.is_learn(pset["a"])


@pytest.mark.parametrize("value", ["a", "x", "QL", "l"])
def test_mode_parameter_values_are_checked(make_set, value):
    pset = make_set(MODES.format(mode="ql"))
    with pytest.raises(ParameterError) as info:
        pset.set("mode", value)
    assert "mode" in str(info.value) and repr(value) in str(info.value)
    assert pset["mode"].text == "ql"


# -- learning -----------------------------------------------------------------------

def test_learned_values_are_changed_learn_mode_parameters(make_set):
    pset = make_set(MODES.format(mode="ql"))
    assert pset.learned_values() == {}
    for name in pset.names:
        if name != "mode":
            pset.set(name, "new")
    assert pset.learned_values() == {n: "new" for n in
                                     ("auto", "hl", "lh", "ql", "lq", "l", "al", "la")}


def test_a_value_set_back_is_not_changed(make_set):
    pset = make_set(MODES.format(mode="ql"))
    pset.set("ql", "other")
    pset.set("ql", "v")
    assert pset.learned_values() == {}
    assert not pset["ql"].changed


def test_parameter_set_container(typed):
    assert len(typed) == 9
    assert typed.names[0] == "bpar" and typed[0].name == "bpar"
    assert "ipar" in typed and "nope" not in typed
    assert [par.name for par in typed] == typed.names
    assert str(typed["spar"]) == "text"
