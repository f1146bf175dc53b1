"""Property tests: a saved ``.par`` file reads back to the same values.

docs/differences.rst, "Parameter file syntax".

Any value without newline, carriage return or NUL survives: commas, double
and single quotes, blanks and tabs at the ends, ``#``, unicode.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iactcopy.params.parfile import parse_par, render_value
from iactcopy.params.pfiles import SearchPath, load_parameters, save_learned, write_values

#: Characters a value may not hold.
FORBIDDEN = "\n\r\0"

#: The characters that matter to the syntax, often enough to meet each other.
_TRICKY = st.sampled_from([",", '"', "'", " ", "\t", "#", "|", "=", "é", "€", "𝄞", "\x0c",
                           "\x1c", "\x85", "\u2028", "a", "Z", "0", "\\", "$", "~", "[", "]"])

values = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=FORBIDDEN)),
    st.text(_TRICKY, max_size=12),
    st.builds(lambda core, left, right: left + core + right,
              st.text(_TRICKY, max_size=6),
              st.text(st.sampled_from(" \t"), max_size=3),
              st.text(st.sampled_from(" \t"), max_size=3)),
)

blanks = st.text(st.sampled_from(" \t"), max_size=3)
line_ends = st.sampled_from(["\n", "\r\n", "\r"])


@settings(max_examples=1500, deadline=None)
@given(value=values, before=blanks, after=blanks, end=line_ends, last=st.booleans())
def test_render_then_parse_gives_the_value(value, before, after, end, last):
    line = f"name,{before}s{after},h,{before}{render_value(value)}{after},,,{before}\"p\""
    # With `last`, the value's line ends the file without a line end.
    text = f"# head{end}other, s, h, x,,, q{end}{line}{'' if last else end}"
    fields = [line.fields for line in parse_par(text).parameter_lines]
    assert fields == [("other", "s", "h", "x", "", "", "q"),
                      ("name", "s", "h", value, "", "", "p")]


@settings(max_examples=1000, deadline=None)
@given(old=values, new=values, indent=blanks, end=line_ends)
def test_rewriting_a_value_in_place_keeps_the_line(old, new, indent, end):
    raw = f'{indent}name, s, ql, {render_value(old)} ,lo,hi, "A, prompt"{end}'
    line = parse_par(raw).parameter_lines[0]
    rewritten = line.with_field(3, new)
    assert rewritten.raw.startswith(indent + "name, s, ql, ")
    assert rewritten.raw.endswith(f' ,lo,hi, "A, prompt"{end}')
    assert parse_par(rewritten.raw).parameter_lines[0].fields == (
        "name", "s", "ql", new, "lo", "hi", "A, prompt")


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_any_text_keeps_its_lines(text):
    # Whatever a file holds, the reader keeps every line as it was, so that
    # a save rewrites only value fields.
    assert parse_par(text, problems=[]).text() == text


SYSTEM = """\
# a tool to learn values
text,   s, a, default,,, "A string"
quoted, s, ql, "a, b",,, "A quoted string"
  count, i, a, 0,,, "An indented integer"
ratio,  r, a, 1.0,,, "A real"
flag,   b, a, no,,, "A boolean"
infile, f, a, NONE,,, "A file"
when,   t, a, 2020-01-01,,, "A time"
mode,   s, h, ql,,, "Mode"
"""


def _folders(root: str) -> tuple[Path, Path]:
    user, system = Path(root, "pfiles"), Path(root, "syspfiles")
    system.mkdir()
    (system / "learn.par").write_text(SYSTEM)
    return user, system


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(text=values, quoted=values,
       count=st.integers(-2**70, 2**70),
       ratio=st.floats(allow_nan=False, allow_infinity=False),
       flag=st.booleans(),
       infile=values)
def test_saved_values_load_back(text, quoted, count, ratio, flag, infile):
    with tempfile.TemporaryDirectory() as root:
        user, system = _folders(root)
        with mock.patch.dict(os.environ, {"PFILES": f"{user};{system}"}):
            pset = load_parameters("learn")
            for name, value in (("text", text), ("quoted", quoted), ("count", count),
                                ("ratio", ratio), ("flag", flag), ("infile", infile)):
                pset.set(name, value)
            expected = {par.name: par.text for par in pset}
            save_learned(pset)
            again = load_parameters("learn")
        assert again.warnings == []
        assert {par.name: par.text for par in again} == expected
        assert again.string("text") == text
        assert again.string("quoted") == quoted
        assert again.integer("count") == count
        assert again.real("ratio") == ratio
        assert again.boolean("flag") is flag
        assert (system / "learn.par").read_text() == SYSTEM


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(first=st.dictionaries(st.sampled_from(["text", "quoted", "infile"]), values),
       second=st.dictionaries(st.sampled_from(["text", "quoted", "infile"]), values))
def test_merged_writes_load_back(first, second):
    # Two saves with write_values, the second merging into the first: each
    # name ends with its latest value.
    with tempfile.TemporaryDirectory() as root:
        user, system = _folders(root)
        with mock.patch.dict(os.environ, {"PFILES": f"{user};{system}"}):
            pset = load_parameters("learn")
            write_values(pset, first)
            write_values(load_parameters("learn"), second)
            again = load_parameters("learn")
        defaults = load_parameters("learn", search=SearchPath((), (str(system),)))
        expected = {par.name: par.text for par in defaults}
        expected.update(first)
        expected.update(second)
        assert {par.name: par.text for par in again} == expected
