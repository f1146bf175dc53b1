"""Reading and writing ``.par`` lines (docs/parameters.rst).

The line forms GammaLib reads are checked with the deliberate differences
of docs/differences.rst, "Parameter file syntax": blanks are spaces and tabs, CRLF is a line end,
the last line needs no newline, ``l`` is a mode, and inside quotes ``""``
is one ``"``.
"""

from __future__ import annotations

import pytest

from iactcopy.errors import ParFileError
from iactcopy.params.parfile import parse_par, read_par, render_value, unsafe_value_reason
from iactcopy.params.pfiles import load_parameters, parameters_from_text


def fields_of(text: str) -> list[tuple[str, ...]]:
    """The fields of every parameter line of *text*."""
    return [line.fields for line in parse_par(text).parameter_lines]


def definition(text: str):
    """The parameters *text* defines, by name."""
    return {par.name: par for par in parameters_from_text(parse_par(text, source="t.par"))}


# -- lines that parse ----------------------------------------------------------------

PARSED = [
    pytest.param(
        'inobs,  f, a, events.fits,,, "Input event list or observation definition XML file"\n',
        ("inobs", "f", "a", "events.fits", "", "",
         "Input event list or observation definition XML file"),
        id="inobs"),
    pytest.param(
        'enumbins,  i, a, 20,1,200, "Number of energy bins"\n',
        ("enumbins", "i", "a", "20", "1", "200", "Number of energy bins"),
        id="enumbins"),
    pytest.param(
        'coordsys, s, a, CEL,CEL|GAL,,"Coordinate system (CEL - celestial, GAL - galactic)"\n',
        ("coordsys", "s", "a", "CEL", "CEL|GAL", "",
         "Coordinate system (CEL - celestial, GAL - galactic)"),
        id="options-and-comma-in-prompt"),
    pytest.param(
        'name2, s, a, "quoted, value",,, "Prompt two"\n',
        ("name2", "s", "a", "quoted, value", "", "", "Prompt two"),
        id="quoted-comma"),
    pytest.param(
        'n3 , s , h , "" , , , "p"\n',
        ("n3", "s", "h", "", "", "", "p"),
        id="empty-quoted-value"),
    pytest.param(
        'name4, i, h, "  7  ",,, "inner spaces"\n',
        ("name4", "i", "h", "  7  ", "", "", "inner spaces"),
        id="inner-spaces-kept"),
    pytest.param(
        "name6, b, a, Yes,,,\n",
        ("name6", "b", "a", "Yes", "", "", ""),
        id="empty-prompt"),
    pytest.param(
        'n5, s, h, v,,, "p" # trailing comment\n',
        ("n5", "s", "h", "v", "", "", 'p" # trailing comment'),
        id="no-inline-comments"),
    pytest.param(
        'my name, s, h, v w ,,, "x"\n',
        ("my name", "s", "h", "v w", "", "", "x"),
        id="blanks-inside-fields"),
    # The last line is read fully without its newline (GammaLib dropped its
    # last character).
    pytest.param(
        "a, s, h, v,,, Unquoted prompt",
        ("a", "s", "h", "v", "", "", "Unquoted prompt"),
        id="last-line-without-newline"),
    pytest.param(
        "a, s, h, v,,,",
        ("a", "s", "h", "v", "", "", ""),
        id="last-line-empty-prompt-without-newline"),
    # Tabs are blanks; the reference refused type "<TAB>s".
    pytest.param(
        'a,\ts, h, v,,, "p"\n',
        ("a", "s", "h", "v", "", "", "p"),
        id="tab-before-type"),
    pytest.param(
        'a\t,\ts\t,\th\t,\t"v"\t,\t,\t,\t"p"\t\n',
        ("a", "s", "h", "v", "", "", "p"),
        id="tabs-everywhere"),
    # CRLF is a line end; the reference left `p"\r` in the prompt.
    pytest.param(
        'a, s, h, v,,, "p"\r\n',
        ("a", "s", "h", "v", "", "", "p"),
        id="crlf"),
    # Inside quotes "" stands for one ".
    pytest.param(
        'x, s, h, "with ""x"" y",,, "p"\n',
        ("x", "s", "h", 'with "x" y', "", "", "p"),
        id="doubled-quote"),
    pytest.param(
        'x, s, h, """",,, "p"\n',
        ("x", "s", "h", '"', "", "", "p"),
        id="only-a-quote"),
    pytest.param(
        'x, s, h, "it\'s, mine",,, "p"\n',
        ("x", "s", "h", "it's, mine", "", "", "p"),
        id="single-quote-inside-double"),
]


@pytest.mark.parametrize(("line", "expected"), PARSED)
def test_parse_vector(line, expected):
    assert fields_of(line) == [expected]


def test_mode_field_keeps_a(make_set):
    # GammaLib resolves `a` to `ql` on loading; here the field keeps `a` and is
    # resolved through the current `mode` value whenever the parameter is read
    # (docs/differences.rst, "Automatic mode").
    pset = make_set('inobs, f, a, events.fits,,, "p"\nmode, s, h, ql,,, "m"\n')
    assert pset["inobs"].mode == "a"
    assert pset.mode_letters(pset["inobs"]) == "ql"


@pytest.mark.parametrize("mode", ["a", "h", "q", "l", "al", "la", "hl", "lh", "ql", "lq"])
def test_every_mode_spelling_is_accepted(mode):
    # `l`, `al`, `la` (HEASoft) are accepted besides GammaLib's modes.
    assert definition(f'a, s, {mode}, v,,, "p"\n')["a"].mode == mode


def test_blank_crlf_and_tab_lines_are_blank():
    text = '\r\n\t\n   \n  # indented comment\r\n#c\na, s, h, v,,, "p"\r\n\t \r\n'
    parsed = parse_par(text)
    assert [line.fields for line in parsed.parameter_lines] == [
        ("a", "s", "h", "v", "", "", "p")]
    assert len(parsed.lines) == 7


def test_long_line_is_read_whole():
    value = "x" * 5000
    assert fields_of(f'long, s, h, {value},,, "p"\n')[0][3] == value


def test_form_feed_and_unicode_separators_are_not_line_ends():
    value = "a\x0cb\x1cc\u2028d\x85e"
    text = f'x, s, h, {value},,, "p"\ny, s, h, w,,, "q"\n'
    assert [f[3] for f in fields_of(text)] == [value, "w"]


def test_lines_keep_their_text_and_numbers():
    text = "# head\n\n a, s, h, v,,, \"p\"\r\nb, i, h, 1,,, p"
    parsed = parse_par(text)
    assert parsed.text() == text
    assert [(line.lineno, line.is_parameter) for line in parsed.lines] == [
        (1, False), (2, False), (3, True), (4, True)]


def test_read_par_reads_a_file(tmp_path):
    path = tmp_path / "t.par"
    path.write_bytes(b'a, s, h, "caf\xc3\xa9, bar",,, "p"\r\nb, s, h, w,,, q')
    parsed = read_par(path)
    assert parsed.source == str(path)
    assert fields_of(parsed.text()) == [("a", "s", "h", "café, bar", "", "", "p"),
                                        ("b", "s", "h", "w", "", "", "q")]


# -- lines that are refused --------------------------------------------------------

SYNTAX_ERRORS = [
    pytest.param("name5, s, a, 'single, quoted',,, \"single\"\n", "found 8",
                 id="single-quotes-do-not-protect"),
    pytest.param('a, s, h, v,,, "p", extra\n', "found 8", id="eight-fields"),
    pytest.param("a, s, h\n", "found 3", id="three-fields"),
    pytest.param('a, s, h, "v,,, "p"\n', "quotes are not balanced", id="unbalanced"),
]


@pytest.mark.parametrize(("line", "why"), SYNTAX_ERRORS)
def test_syntax_error_vector(line, why):
    with pytest.raises(ParFileError) as info:
        parse_par(line, source="t.par")
    err = info.value
    assert err.exit_status == 2
    assert isinstance(err, ValueError)
    assert err.source == "t.par"
    assert [(n, text) for n, text, _ in err.problems] == [(1, line.rstrip("\n"))]
    assert why in err.problems[0][2]
    assert "[line 1]" in str(err) and "t.par" in str(err)


FIELD_ERRORS = [
    pytest.param('a, x, h, v,,, "p"\n', ["'x'", "f fr fw fe fn"], id="bad-type"),
    pytest.param('a, s, x, v,,, "p"\n', ["'x'", "hl"], id="bad-mode"),
    pytest.param('a, S, h, v,,, "p"\n', ["'S'"], id="upper-case-type"),
    pytest.param('a, s, Q, v,,, "p"\n', ["'Q'"], id="upper-case-mode"),
    pytest.param('mode, s, h, a,,, "m"\n', ["'a'", "ql"], id="mode-value-a"),
    pytest.param('i4, i, h, 11,0,10, "p"\n', ['"i4"', "11", "0 to 10"], id="out-of-range"),
    pytest.param('i5, i, h, abc,,, "p"\n', ['"i5"', "'abc'", "integer"], id="not-an-integer"),
    pytest.param('r5, r, h, 1,5,,, "p"\n', [], id="comma-in-real-is-eight-fields"),
    pytest.param('b5, b, h, maybe,,, "p"\n', ['"b5"', "'maybe'", "yes"], id="bad-boolean"),
    pytest.param(', s, h, v,,, "p"\n', ["no name"], id="no-name"),
]


@pytest.mark.parametrize(("line", "words"), FIELD_ERRORS)
def test_field_error_vector(line, words, write_par, folders):
    write_par(folders.system, "t", line, dedent=False)
    with pytest.raises(ParFileError) as info:
        load_parameters("t")
    (lineno, text, why), = info.value.problems
    assert (lineno, text) == (1, line.rstrip("\n"))
    for word in words:
        assert word in why


def test_redefinition_names_the_second_line():
    with pytest.raises(ParFileError) as info:
        definition('a, s, h, v,,, "p"\n# c\na, s, h, w,,, "q"\n')
    (lineno, _, why), = info.value.problems
    assert lineno == 3
    assert '"a"' in why and "twice" in why


def test_one_error_lists_every_bad_line(write_par, folders):
    # Syntax errors (lines 2, 5) and field errors (lines 3, 6, 7) are reported
    # together, in line order, so one edit fixes the file.
    write_par(folders.system, "bad", (
        'ok, s, h, v,,, "p"\n'
        'a, s, h\n'
        'b, x, h, v,,, "p"\n'
        '# comment\n'
        'c, s, h, "v,,, "p"\n'
        'd, i, h, 11,0,10, "p"\n'
        'ok, s, h, w,,, "p"\n'
    ), dedent=False)
    with pytest.raises(ParFileError) as info:
        load_parameters("bad")
    err = info.value
    assert [n for n, _, _ in err.problems] == [2, 3, 5, 6, 7]
    message = str(err)
    for n in (2, 3, 5, 6, 7):
        assert f"[line {n}]" in message
    assert str(folders.system / "bad.par") in message


def test_parse_par_lists_every_syntax_error():
    with pytest.raises(ParFileError) as info:
        parse_par('a, s\nb, s, h, v,,, "p"\nc\n"\n')
    assert [n for n, _, _ in info.value.problems] == [1, 3, 4]


# -- writing values back ------------------------------------------------------------

RENDERED = [
    ("events.fits", "events.fits"),
    ("", '""'),
    ("a, b", '"a, b"'),
    (" x", '" x"'),
    ("x\t", '"x\t"'),
    ('say "hi"', '"say ""hi"""'),
    ("it's", "it's"),
    ("in ner", "in ner"),
    ("é€𝄞", "é€𝄞"),
    ("#x", "#x"),
]


@pytest.mark.parametrize(("value", "rendered"), RENDERED)
def test_render_value(value, rendered):
    assert render_value(value) == rendered
    assert fields_of(f"a, s, h, {rendered},,, p\n")[0][3] == value


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\0b"])
def test_render_value_refuses_line_breaks_and_nul(bad):
    assert unsafe_value_reason(bad)
    with pytest.raises(ValueError):
        render_value(bad)


@pytest.mark.parametrize(("raw", "value", "expected"), [
    # An indented line keeps its indentation and stays well-formed.
    ('  lead, s, a, leadval,,, "Leading spaces"\n', "new",
     '  lead, s, a, new,,, "Leading spaces"\n'),
    # A value with a comma is quoted; a quoted value stays quoted.
    ('name2, s, a, "quoted, value",,, "Prompt two"\n', "other, value",
     'name2, s, a, "other, value",,, "Prompt two"\n'),
    ('name1, s, a, hello,,, "Prompt one"\n', "bye",
     'name1, s, a, bye,,, "Prompt one"\n'),
    ('d, s, ql, dd,,, "d"\r\n', "", 'd, s, ql, "",,, "d"\r\n'),
    ('\tt,\ts,\th,\tv\t,,,\t"p"', 'a "b"', '\tt,\ts,\th,\t"a ""b"""\t,,,\t"p"'),
])
def test_with_field_rewrites_only_the_value(raw, value, expected):
    line = parse_par(raw).parameter_lines[0]
    new = line.with_field(3, value)
    assert new.raw == expected
    assert new.fields[3] == value
    assert parse_par(new.raw).parameter_lines[0].fields == new.fields
    # The spans of the fields after the value moved with it.
    again = new.with_field(6, "q")
    assert parse_par(again.raw).parameter_lines[0].fields[6] == "q"
