"""Text from a data store made safe to print: no control character reaches a log or terminal.

Index files, file names and server answers are written by others.  A
``FILE_NAME`` holding a line feed would start a line of its own in the log,
with a forged time stamp and ``*** ERROR``; a carriage return or an escape
sequence would rewrite what a terminal shows.  :func:`printable` writes
such characters as the backslash escapes Python uses (``\\n``, ``\\x1b``,
``\\u202e``), so the text stays readable and cannot pass for anything else.
The logger applies it to every text it writes, the warning and error paths
to every message (docs/differences.rst, "Store content in the log").
"""

from __future__ import annotations

__all__ = ["printable"]


def _escape_table(keep_newline: bool) -> dict[int, str]:
    table = {}
    for code in (*range(0x00, 0x20), *range(0x7F, 0xA0)):
        table[code] = repr(chr(code))[1:-1]
    # Format characters (bidirectional overrides, zero-width joiners) and
    # the Unicode line and paragraph separators reorder or break lines.
    for code in (0x2028, 0x2029, *range(0x200B, 0x2010), *range(0x202A, 0x202F),
                 *range(0x2066, 0x206A), 0xFEFF):
        table[code] = f"\\u{code:04x}"
    table[ord("\t")] = "\\t"
    if keep_newline:
        del table[ord("\n")]
    return table


_ONE_LINE = _escape_table(keep_newline=False)
_LINES = _escape_table(keep_newline=True)


def printable(text: object, *, newlines: bool = False) -> str:
    """*text* as a string with every control character written as an escape.

    Parameters
    ----------
    text : object
        What to print; converted with ``str``.
    newlines : bool
        Keep line feeds (text that is meant to span lines, such as a log
        frame); carriage returns are escaped all the same. Default is
        False: the result is one line.

    Examples
    --------
    >>> printable("run\\n2026-01-01T00:00:00: *** ERROR: forged\\x1b[2J")
    'run\\\\n2026-01-01T00:00:00: *** ERROR: forged\\\\x1b[2J'
    """
    text = str(text)
    if text.isprintable():
        return text
    return text.translate(_LINES if newlines else _ONE_LINE)

