"""The pure layout functions of the log (docs/log.rst)."""

from __future__ import annotations

import calendar
import re

import pytest

from iactcopy.app.formatting import (
    banner_lines,
    centre,
    fill,
    format_value,
    header_lines,
    left,
    number,
    parformat,
    right,
    timestamp,
    trailer_line,
    value_line,
)

# --- parformat -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Name", " Name ......................: "),
        ("Master index file", " Master index file .........: "),
        ("a" * 25, " aaaaaaaaaaaaaaaaaaaaaaaaa .: "),
        ("a" * 26, " aaaaaaaaaaaaaaaaaaaaaaaaaa : "),
        ("a" * 27, " aaaaaaaaaaaaaaaaaaaaaaaaaaa : "),
    ],
)
def test_parformat_examples(name, expected):
    assert parformat(name) == expected


@pytest.mark.parametrize("length", range(27))
def test_parformat_puts_colon_in_column_29(length):
    label = parformat("x" * length)
    assert len(label) == 30
    assert label.index(":") == 28


def test_parformat_longer_names_are_not_cut():
    assert len(parformat("a" * 27)) == 31
    assert parformat("a" * 40) == " " + "a" * 40 + " : "


def test_parformat_indent_shortens_the_dots():
    assert parformat("Name", indent=2) == " Name ....................: "
    assert len(parformat("Name", indent=2)) == 28
    assert parformat("a" * 26, indent=3) == " " + "a" * 26 + " : "


def test_parformat_counts_characters_not_bytes():
    # 'Énergie' is 7 characters but 8 UTF-8 bytes: the dots follow the
    # characters, so the colon stays in column 29 (ctools counted bytes).
    assert parformat("Énergie").index(":") == 28
    assert parformat("Énergie") == " Énergie ...................: "


# --- padding helpers ---------------------------------------------------------


def test_fill():
    assert fill("ab", 3) == "ababab"
    assert fill("-", 0) == ""
    assert fill("-", -2) == ""


def test_left_and_right():
    assert left("ab", 5) == "ab   "
    assert right("ab", 5) == "   ab"
    assert left("ab", 5, ".") == "ab..."
    assert right("ab", 5, ".") == "...ab"
    assert left("abcdef", 3) == "abcdef"
    assert right("abcdef", 3) == "abcdef"


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("ab", 6, "  ab  "),  # even padding splits evenly
        ("ab", 5, "  ab "),  # the odd blank goes to the left
        ("abc", 4, " abc"),
        ("abc", 3, "abc"),
        ("abcdef", 3, "abcdef"),  # never cut
        ("", 3, "   "),
    ],
)
def test_centre(text, width, expected):
    assert centre(text, width) == expected


def test_centre_with_fill_character():
    assert centre("x", 4, "*") == "**x*"


def test_centre_reference_widths():
    ten = centre("csiactdata", 78)
    assert ten == " " * 34 + "csiactdata" + " " * 34
    nine = centre("csobsinfo", 78)
    assert nine == " " * 35 + "csobsinfo" + " " * 34


def test_number():
    assert number("Observation", 1) == "Observation"
    assert number("Observation", 0) == "Observations"
    assert number("Observation", 2) == "Observations"


# --- values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "True"),
        (False, "False"),
        (9, "9"),
        (0.1, "0.1"),
        (1e-05, "1e-05"),
        (100.0, "100.0"),
        (None, "None"),
        ([1, "a"], "[1, 'a']"),
        ({"a": 1}, "{'a': 1}"),
        ("text", "text"),
    ],
)
def test_format_value_is_python_str(value, text):
    assert format_value(value) == text


def test_value_line_without_unit_has_no_trailing_blank():
    assert value_line("Number of files", 27) == " Number of files ...........: 27"


def test_value_line_with_unit():
    assert value_line("Size", 0.41, "MB") == " Size ......................: 0.41 MB"


def test_value_line_with_empty_unit_keeps_the_blank():
    assert value_line("Size", 1, "") == " Size ......................: 1 "


# --- timestamp --------------------------------------------------------------


def test_timestamp_of_a_fixed_time():
    t = calendar.timegm((2019, 4, 5, 13, 10, 35, 0, 0, 0))
    assert timestamp(t) == "2019-04-05T13:10:35"


def test_timestamp_drops_fractions():
    t = calendar.timegm((2019, 4, 5, 13, 10, 35, 0, 0, 0)) + 0.999
    assert timestamp(t) == "2019-04-05T13:10:35"


def test_timestamp_now_has_the_format():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", timestamp())


# --- headers ----------------------------------------------------------------


def test_header1_frame():
    assert header_lines("Data storage entries", 1) == [
        "+======================+",
        "| Data storage entries |",
        "+======================+",
    ]


def test_header2_frame():
    assert header_lines("Available data configs", 2) == [
        "+------------------------+",
        "| Available data configs |",
        "+------------------------+",
    ]


def test_header3_line():
    assert header_lines("hess_dl3_dr1", 3) == ["=== hess_dl3_dr1 ==="]


@pytest.mark.parametrize("style", [1, 2])
def test_header_frame_width_is_text_plus_four(style):
    for text in ("", "x", "Parameters", "Énergie ≥ 1 TeV"):
        lines = header_lines(text, style)
        assert [len(line) for line in lines] == [len(text) + 4] * 3


@pytest.mark.parametrize("style", [0, 4, "header1"])
def test_header_unknown_style(style):
    with pytest.raises(ValueError, match="header style"):
        header_lines("x", style)


# --- banner -----------------------------------------------------------------


def test_banner_lines():
    assert banner_lines("csiactdata", "0.1.0") == [
        "*" * 80,
        "*                                  csiactdata                                  *",
        "* ---------------------------------------------------------------------------- *",
        "* Version: 0.1.0                                                               *",
        "* Package: iactcopy                                                            *",
        "*" * 80,
    ]


@pytest.mark.parametrize("name", ["csiactdata", "csiactcopy", "csfindobs", "x", "é" * 78])
def test_banner_lines_are_80_wide(name):
    lines = banner_lines(name, "2.1.0.dev", product="something else")
    assert len(lines) == 6
    assert all(len(line) == 80 for line in lines)


def test_banner_odd_name_gets_the_extra_blank_on_the_left():
    line = banner_lines("csfindobs", "0.1.0")[1]
    assert line == "*" + " " * 35 + "csfindobs" + " " * 34 + "*"


def test_banner_names_package_and_version():
    lines = banner_lines("csiactcopy", "1.2.3", product="iactcopy")
    assert lines[3].startswith("* Version: 1.2.3 ")
    assert lines[4].startswith("* Package: iactcopy ")


# --- trailer ----------------------------------------------------------------


def test_trailer_reference_example():
    assert trailer_line("csiactdata", 0, 0.01234) == (
        'Application "csiactdata" terminated after 0 wall clock seconds, consuming '
        "0.01234 seconds of CPU time and generating a carbon footprint of 1.6042e-05 "
        "g eCO2. This was rather quick and economic!"
    )


def test_trailer_worked_example_figures():
    line = trailer_line("csiactdata", 0, 0.021)
    assert "consuming 0.021 seconds of CPU time" in line
    assert "carbon footprint of 2.73e-05 g eCO2." in line


@pytest.mark.parametrize(
    ("wall", "shown"),
    [
        (0, "0"),
        (0.0004, "0"),
        (0.0421, "0.042"),
        (11, "11"),
        (11.5, "11.5"),
        (3910.2504, "3910.25"),
        (1234567, "1.23457e+06"),
        (-2.0, "0"),
    ],
)
def test_trailer_wall_time_is_g_of_milliseconds(wall, shown):
    assert f" terminated after {shown} wall clock seconds," in trailer_line("t", wall, 0)


@pytest.mark.parametrize(
    ("cpu", "shown"),
    [(0, "0"), (0.169556, "0.169556"), (0.1695564, "0.169556"), (100.0, "100"), (1e-05, "1e-05")],
)
def test_trailer_cpu_time_is_g(cpu, shown):
    assert f"consuming {shown} seconds of CPU time" in trailer_line("t", 1, cpu)


def test_trailer_no_suffix_for_an_ordinary_run():
    assert trailer_line("t", 11, 0.2).endswith(" g eCO2.")


@pytest.mark.parametrize(
    ("wall", "quick"),
    [(0, True), (0.099, True), (0.0999, False), (0.1, False), (1, False)],
)
def test_trailer_quick_suffix_below_a_tenth_of_a_second(wall, quick):
    # 0.0999 prints as 0.1 after rounding to milliseconds: the suffix follows
    # the figure shown, so the line never says 0.1 s and "quick" together.
    line = trailer_line("t", wall, 0)
    assert line.endswith(" This was rather quick and economic!") is quick


def test_trailer_carbon_suffix():
    line = trailer_line("t", 1, 770000)  # 1001 g
    assert "carbon footprint of 1001 g eCO2. Please watch your carbon footprint." in line
    assert trailer_line("t", 1, 769000).endswith(" g eCO2.")  # 999.7 g


def test_trailer_long_run_suffix():
    assert trailer_line("t", 86401, 1).endswith(" g eCO2. Hope it was worth waiting ...")
    assert trailer_line("t", 86400, 1).endswith(" g eCO2.")


def test_trailer_suffix_order():
    line = trailer_line("t", 0, 1e7)
    assert line.endswith(" Please watch your carbon footprint. This was rather quick and economic!")
    line = trailer_line("t", 90000, 1e7)
    assert line.endswith(" Please watch your carbon footprint. Hope it was worth waiting ...")
