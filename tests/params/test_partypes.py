"""The value converters of the ``.par`` types (docs/parameters.rst).

Deliberate differences from GammaLib checked here: integers match
``[+-]?[0-9]+`` and reals are what ``float()`` reads, numeric options
compare as numbers, every filename type knows undefined values, times are
checked when set (docs/differences.rst, "Number validation").
"""

from __future__ import annotations

import os
import pathlib

import pytest

from iactcopy.errors import ParameterError
from iactcopy.params.partypes import TYPES, Status, get_type


def convert(code: str, value, minimum: str = "", maximum: str = "", name: str = "p") -> str:
    ptype = get_type(code)
    text = ptype.convert(value, name)
    ptype.check_limits(text, minimum, maximum, name)
    return text


def refused(code: str, value, minimum: str = "", maximum: str = "", name: str = "p") -> str:
    with pytest.raises(ParameterError) as info:
        convert(code, value, minimum, maximum, name)
    assert info.value.exit_status == 2
    return str(info.value)


def test_every_type_letter_is_known():
    assert sorted(TYPES) == sorted(["b", "i", "r", "s", "f", "fr", "fw", "fe", "fn", "t"])
    with pytest.raises(ValueError, match="allowed: b i r s"):
        get_type("x")


# -- b ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("y", True), ("yes", True), ("t", True), ("true", True), ("Yes", True), ("TRUE", True),
    ("n", False), ("no", False), ("f", False), ("false", False), ("No", False),
])
def test_boolean_words(text, value):
    ptype = get_type("b")
    assert convert("b", text) == text
    assert ptype.to_python(text) is value


@pytest.mark.parametrize("text", ["1", "0", "on", "off", "", "INDEF", "none", "maybe"])
def test_boolean_refuses_other_words(text):
    message = refused("b", text, name="clobber")
    assert '"clobber"' in message
    assert repr(text) in message
    assert "y/yes/t/true/n/no/f/false" in message


def test_boolean_ignores_options():
    assert convert("b", "no", "yes|no") == "no"
    assert convert("b", "n", "yes") == "n"


def test_boolean_from_python():
    assert convert("b", True) == "yes"
    assert convert("b", False) == "no"
    # Kept from ctools: an int is accepted for a boolean.
    assert convert("b", 1) == "yes"
    assert convert("b", 0) == "no"
    assert "2.5" in refused("b", 2.5)


# -- i ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "stored", "value"), [
    ("5", "5", 5), (" 5", "5", 5), ("5 ", "5", 5), ("+5", "+5", 5), ("-12", "-12", -12),
    ("0", "0", 0), ("99999999999", "99999999999", 99999999999),
])
def test_integer_values(text, stored, value):
    assert convert("i", text) == stored
    assert get_type("i").to_python(stored) == value


@pytest.mark.parametrize("text", ["abc", "12abc", "1.9", "0x10", "", "1e3", "1,5", "- 5", "５"])
def test_integer_refuses_non_integers(text):
    message = refused("i", text, name="enumbins")
    assert '"enumbins"' in message
    assert repr(text.strip()) in message
    assert "digits" in message


@pytest.mark.parametrize(("text", "status"), [
    ("INDEF", Status.UNDEFINED), ("none", Status.UNDEFINED), ("Undef", Status.UNDEFINED),
    ("UNDEFINED", Status.UNDEFINED), ("inf", Status.NAN), ("INFINITY", Status.NAN),
    ("NaN", Status.NAN), ("7", Status.VALID),
])
def test_special_words_of_numbers(text, status):
    for code in ("i", "r"):
        assert convert(code, text) == text
        assert get_type(code).status(text) is status


def test_integer_range():
    assert convert("i", "1", "1", "200") == "1"
    assert convert("i", "200", "1", "200") == "200"
    message = refused("i", "201", "1", "200", name="enumbins")
    assert '"enumbins"' in message and "201" in message and "1 to 200" in message


def test_range_with_one_bound():
    # Only max: an upper bound.
    assert convert("i", "3", "", "5") == "3"
    assert "at most 5" in refused("i", "6", "", "5")
    # Only min: an enumeration, as in ctools.
    assert convert("i", "0", "0|1|2", "") == "0"
    assert "one of 0|1|2" in refused("i", "3", "0|1|2", "")


def test_undefined_numbers_skip_the_checks():
    assert convert("i", "INDEF", "0", "10") == "INDEF"
    assert convert("r", "undef", "0", "10") == "undef"
    assert convert("i", "NONE", "0|1|2", "") == "NONE"


def test_not_a_number_is_outside_every_range():
    message = refused("r", "nan", "0", "10", name="x")
    assert '"x"' in message and "'nan'" in message and "0 to 10" in message
    # Without a range NaN is stored; reading it is an error (test_parameters).
    assert convert("r", "inf") == "inf"


def test_integer_from_python():
    assert convert("i", 3) == "3"
    assert convert("i", -3) == "-3"
    assert convert("i", 3.0) == "3"  # an integral float is an integer
    assert "2.5" in refused("i", 2.5)
    assert "True" in refused("i", True)
    assert "'text'" in refused("i", "text")


# -- r ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("0.1", 0.1), ("1e3", 1000.0), (".5", 0.5), ("1.5e-3", 0.0015), ("-inf", float("-inf")),
    (" 2 ", 2.0), ("+3.25", 3.25),
])
def test_real_values(text, value):
    stored = convert("r", text)
    assert stored == text.strip()
    assert get_type("r").to_python(stored) == value


@pytest.mark.parametrize("text", ["abc", "1,5", "3.0abc", "", "0x10", "1.2.3"])
def test_real_refuses_non_numbers(text):
    message = refused("r", text, name="emin")
    assert '"emin"' in message and repr(text.strip()) in message and "real" in message


def test_real_range():
    assert convert("r", "1e1", "0", "10") == "1e1"
    assert "10.0000001" in refused("r", "10.0000001", "0", "10")
    assert convert("r", "-90", "-90", "90") == "-90"


def test_numeric_options_compare_as_numbers():
    # `1` is the option `1.0`; the user's spelling is stored.
    assert convert("r", "1", "1.0|2.0", "") == "1"
    assert convert("i", "+1", "0|1|2", "") == "+1"
    assert "one of 1.0|2.0" in refused("r", "3", "1.0|2.0", "")


def test_real_from_python():
    assert convert("r", 2.5) == "2.5"
    assert convert("r", 3) == "3"
    assert convert("r", 0.1) == "0.1"
    assert get_type("r").to_python(convert("r", 1 / 3)) == 1 / 3
    assert get_type("r").status(convert("r", float("nan"))) is Status.NAN
    assert "True" in refused("r", True)


# -- s ----------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "INDEF", "NONE", " spaced ", "a, b", 'q"uote', "é"])
def test_strings_are_kept_verbatim(text):
    assert convert("s", text) == text
    assert get_type("s").status(text) is Status.VALID


def test_string_options_ignore_case():
    assert convert("s", "gal", "CEL|GAL", "") == "gal"
    assert convert("s", "GAL", " CEL | GAL ", "") == "GAL"
    message = refused("s", "Gal ", "CEL|GAL", "", name="coordsys")
    assert '"coordsys"' in message and "'Gal '" in message and "CEL|GAL" in message
    # min and max together are no check for a string.
    assert convert("s", "zzz", "a", "b") == "zzz"


def test_empty_option_allows_the_empty_string():
    assert convert("s", "", "a||b", "") == ""


def test_string_from_python_int_is_refused():
    assert "int" in refused("s", 1, name="prodname")


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\0b"])
def test_values_with_line_breaks_or_nul_are_refused(value):
    for code in ("s", "f", "i"):
        message = refused(code, value)
        assert "may not contain" in message


# -- f fr fw fe fn ----------------------------------------------------------------

@pytest.mark.parametrize("code", ["f", "fr", "fw", "fe", "fn"])
@pytest.mark.parametrize("text", ["", "NONE", "indef", "Undef", "UNDEFINED", "  "])
def test_every_filename_type_knows_undefined(code, text):
    # NONE and the empty string mean "no file" for every filename type.
    assert get_type(code).status(convert(code, text)) is Status.UNDEFINED


def test_filename_is_stored_as_written_and_expanded_when_read(monkeypatch, tmp_path):
    monkeypatch.setenv("IACT_DATA", str(tmp_path))
    ptype = get_type("f")
    stored = convert("f", "$IACT_DATA/x.fits")
    assert stored == "$IACT_DATA/x.fits"
    assert ptype.to_python(stored) == f"{tmp_path}/x.fits"


def test_filename_from_a_path_object(tmp_path):
    assert convert("f", tmp_path / "x.fits") == str(tmp_path / "x.fits")
    assert convert("f", pathlib.PurePosixPath("a/b")) == "a/b"


def test_filename_options_are_exact():
    assert convert("f", "Obi", "Obi|Wan", "") == "Obi"
    refused("f", "obi", "Obi|Wan", "")
    refused("f", "NONE", "Obi|Wan", "")


def test_filename_access_checks(tmp_path):
    existing = tmp_path / "there.fits"
    existing.write_text("x")
    missing = tmp_path / "missing.fits"
    assert get_type("fe").to_python(str(existing)) == str(existing)
    assert "does not exist" in refused_read("fe", str(missing))
    assert get_type("fr").to_python(str(existing)) == str(existing)
    assert "readable" in refused_read("fr", str(missing))
    assert get_type("fn").to_python(str(missing)) == str(missing)
    assert "exists already" in refused_read("fn", str(existing))
    assert get_type("fw").to_python(str(missing)) == str(missing)
    assert "cannot be written" in refused_read("fw", str(tmp_path / "no" / "such" / "x"))
    # Plain `f` checks nothing.
    assert get_type("f").to_python(str(missing)) == str(missing)


def test_fr_refuses_an_unreadable_file(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    locked = tmp_path / "locked.fits"
    locked.write_text("x")
    locked.chmod(0o000)
    assert "readable" in refused_read("fr", str(locked))


def refused_read(code: str, text: str) -> str:
    with pytest.raises(ParameterError) as info:
        get_type(code).to_python(text, "infile")
    message = str(info.value)
    assert '"infile"' in message and repr(text) in message
    return message


# -- t ----------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "2020-01-01T00:00:00", "2020-01-01", "2020-01-01T00:00:00.5", "MJD 51544.5",
    "JD 2451943.09", "mjd 51544.5 (UTC)", "123.5", "-5 (TT)", "1e3(TAI)", "NONE", "INDEF",
])
def test_time_values(text):
    assert convert("t", text) == text


@pytest.mark.parametrize("text", ["garbage", "", "2020-1-1", "MJD", "MJD x", "5 (GPS)"])
def test_time_refuses_other_text(text):
    message = refused("t", text, name="tmin")
    assert '"tmin"' in message and repr(text) in message and "MJD" in message


def test_time_from_python_number():
    assert convert("t", 51544.5) == "51544.5"
    assert convert("t", 3) == "3"
