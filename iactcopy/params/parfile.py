"""The syntax of ``.par`` files: reading lines into fields, writing values back.

A ``.par`` file holds one parameter per line as seven comma-separated fields,
``name, type, mode, value, min, max, prompt``, among blank lines and ``#``
comments.  This module knows only the syntax; what the fields mean is the
business of :mod:`iactcopy.params.partypes` and
:mod:`iactcopy.params.parameters`.

Compared with GammaLib (docs/parameters.rst) the reader is deliberate where
the reference was accidental (docs/differences.rst, "Parameter file syntax"):

* blanks are spaces and tabs, and ``\\r\\n`` line ends are accepted
  (GammaLib took only U+0020 for a blank);
* lines have no length limit (GammaLib split them at 999 bytes) and the
  last line needs no newline (GammaLib dropped its last character);
* a field wholly in double quotes is a quoted string in which ``""`` stands
  for one ``"``; only double quotes protect commas, as in GammaLib;
* every field keeps its span in the raw line, so a value is rewritten in
  place with the spacing around it kept, quoted when it must be (GammaLib
  wrote values bare, at offsets measured without the indentation).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import IO

from iactcopy.errors import ParFileError

__all__ = [
    "FIELD_NAMES",
    "ParLine",
    "ParText",
    "parse_par",
    "read_par",
    "render_value",
    "unsafe_value_reason",
]

#: The seven fields of a parameter line, in order.
FIELD_NAMES = ("name", "type", "mode", "value", "min", "max", "prompt")

_BLANKS = " \t"
_LINE_ENDS = ("\r\n", "\n", "\r")


@dataclass
class ParLine:
    """One line of a ``.par`` file.

    Attributes
    ----------
    raw : str
        The line as read, with its line end.
    lineno : int
        The line number, from 1.
    fields : tuple of str, or None
        The seven cleaned fields of a parameter line; None for blank and
        comment lines.
    spans : tuple of (int, int)
        For each field, the start and stop offsets of its text in ``raw``
        (surrounding blanks excluded, quotes included).
    """

    raw: str
    lineno: int
    fields: tuple[str, ...] | None = None
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def is_parameter(self) -> bool:
        """True for a parameter line."""
        return self.fields is not None

    def with_field(self, index: int, text: str) -> ParLine:
        """Return this line with field *index* replaced by *text*, rendered as needed.

        The blanks around the field and all other text of the line are kept.
        """
        start, stop = self.spans[index]
        rendered = render_value(text) if index == 3 else text
        raw = self.raw[:start] + rendered + self.raw[stop:]
        shift = len(rendered) - (stop - start)
        spans = list(self.spans)
        spans[index] = (start, start + len(rendered))
        for i in range(index + 1, len(spans)):
            a, b = spans[i]
            spans[i] = (a + shift, b + shift)
        fields = list(self.fields or ())
        fields[index] = text
        return ParLine(raw, self.lineno, tuple(fields), tuple(spans))


@dataclass
class ParText:
    """A parsed ``.par`` file: its lines, in order, and where it came from."""

    source: str
    lines: list[ParLine] = field(default_factory=list)

    @property
    def parameter_lines(self) -> list[ParLine]:
        """The parameter lines, in file order."""
        return [line for line in self.lines if line.is_parameter]

    def text(self) -> str:
        """The whole file as text."""
        return "".join(line.raw for line in self.lines)


def read_par(path: str | os.PathLike, *,
             problems: list[tuple[int, str, str]] | None = None) -> ParText:
    """Read and parse the ``.par`` file at *path*.

    *problems* is as for :func:`parse_par`.

    Raises
    ------
    OSError
        When the file cannot be read.
    ParFileError
        When lines cannot be split into seven fields (all bad lines are
        listed in one error).
    """
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as stream:
        return parse_par(stream, source=os.fspath(path), problems=problems)


def parse_par(text: str | IO[str], source: str = "<string>", *,
              problems: list[tuple[int, str, str]] | None = None) -> ParText:
    """Parse ``.par`` text (a string or an open text file).

    Parameters
    ----------
    text : str or file
        The content; line ends ``\\n``, ``\\r\\n`` or ``\\r``.
    source : str
        A name for the content, used in error messages only.
    problems : list, optional
        When given, each bad line is appended to it as ``(lineno, line,
        why)`` and kept as a line without fields instead of raising, so that
        a caller which also checks the fields can report every bad line of
        a file in one error, or use the good lines of a damaged user copy.

    Returns
    -------
    ParText
        Every line, parameter lines split into fields.

    Raises
    ------
    ParFileError
        Without *problems*: listing every line that is not blank, a comment
        or seven fields.
    """
    content = text if isinstance(text, str) else text.read()
    parsed = ParText(source)
    found: list[tuple[int, str, str]] = [] if problems is None else problems
    for lineno, raw in enumerate(_split_lines(content), start=1):
        try:
            parsed.lines.append(_parse_line(raw, lineno))
        except ValueError as err:
            found.append((lineno, _strip_line_end(raw), str(err)))
            parsed.lines.append(ParLine(raw, lineno))
    if problems is None and found:
        raise ParFileError(source, found)
    return parsed


def render_value(text: str) -> str:
    """Return *text* as it must stand in the value field of a line.

    A value is double-quoted when it holds a comma or a double quote, has
    blanks at either end, or is empty; inside quotes ``"`` is doubled.

    >>> render_value("events.fits"), render_value("a, b"), render_value(" x")
    ('events.fits', '"a, b"', '" x"')
    """
    reason = unsafe_value_reason(text)
    if reason:
        raise ValueError(reason)
    needs_quotes = (
        text == ""
        or "," in text
        or '"' in text
        or text[0] in _BLANKS
        or text[-1] in _BLANKS
    )
    if not needs_quotes:
        return text
    return '"' + text.replace('"', '""') + '"'


def unsafe_value_reason(text: str) -> str | None:
    """Why *text* cannot be stored in a ``.par`` file, or None when it can."""
    for char, name in (("\n", "a newline"), ("\r", "a carriage return"), ("\0", "a NUL byte")):
        if char in text:
            return f"a value may not contain {name}"
    return None


def _split_lines(content: str) -> list[str]:
    lines = content.splitlines(keepends=True)
    # str.splitlines also splits at form feeds and other separators that a
    # .par file treats as ordinary text; glue those pieces back.
    merged: list[str] = []
    for piece in lines:
        if merged and not merged[-1].endswith(_LINE_ENDS):
            merged[-1] += piece
        else:
            merged.append(piece)
    return merged


def _strip_line_end(raw: str) -> str:
    for end in _LINE_ENDS:
        if raw.endswith(end):
            return raw[: -len(end)]
    return raw


def _parse_line(raw: str, lineno: int) -> ParLine:
    body = _strip_line_end(raw)
    stripped = body.strip(_BLANKS)
    if not stripped or stripped.startswith("#"):
        return ParLine(raw, lineno)
    pieces = _split_fields(body)
    if len(pieces) != 7:
        raise ValueError(f"expected 7 comma-separated fields, found {len(pieces)}")
    fields = tuple(_clean_field(body[a:b]) for a, b in pieces)
    return ParLine(raw, lineno, fields, tuple(pieces))


def _split_fields(body: str) -> list[tuple[int, int]]:
    """Return the (start, stop) span of each field, blanks around it excluded."""
    spans = []
    inside = False
    start = 0
    for pos, char in enumerate(body):
        if char == '"':
            inside = not inside
        elif char == "," and not inside:
            spans.append(_trim_span(body, start, pos))
            start = pos + 1
    if inside:
        raise ValueError("double quotes are not balanced")
    spans.append(_trim_span(body, start, len(body)))
    return spans


def _trim_span(body: str, start: int, stop: int) -> tuple[int, int]:
    while start < stop and body[start] in _BLANKS:
        start += 1
    while stop > start and body[stop - 1] in _BLANKS:
        stop -= 1
    return start, stop


def _clean_field(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1].replace('""', '"')
    # A field with a stray quote at one end is cleaned as GammaLib does, so
    # that old files read the same (docs/parameters.rst: `"p" # x` -> `p" # x`).
    return text.strip('"')
