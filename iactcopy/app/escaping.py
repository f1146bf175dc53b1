"""Text made safe to print: no control character and no password reaches a log or terminal.

Index files, file names and server answers are written by others.  A
``FILE_NAME`` holding a line feed would start a line of its own in the log,
with a forged time stamp and ``*** ERROR``; a carriage return or an escape
sequence would rewrite what a terminal shows.  :func:`printable` writes
such characters as the backslash escapes Python uses (``\\n``, ``\\x1b``,
``\\u202e``), so the text stays readable and cannot pass for anything else,
and masks the password of any URL (:func:`iactcopy.urlpasswords.mask`).
The logger applies it to every text it writes, the warning and error paths
to every message (docs/differences.rst, "Store content in the log").
"""

from __future__ import annotations

import re

from iactcopy.urlpasswords import mask

__all__ = ["printable"]

# C0 and C1 controls, DEL, and the format characters that reorder or break
# lines on a terminal (bidirectional overrides, zero-width marks, the
# Unicode line and paragraph separators, the byte-order mark).
_OTHERS = "\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff"
_UNSAFE_LINES = re.compile(f"[{_OTHERS}]")
_UNSAFE_ONE_LINE = re.compile(f"[\n{_OTHERS}]")


def _escape(match: re.Match) -> str:
    char = match.group()
    return repr(char)[1:-1] if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def printable(text: object, *, newlines: bool = False) -> str:
    """*text* as a string with every control character escaped and passwords masked.

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
    text = mask(str(text))
    return (_UNSAFE_LINES if newlines else _UNSAFE_ONE_LINE).sub(_escape, text)
