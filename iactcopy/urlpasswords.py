"""Passwords in URLs: masked wherever a URL is printed, dropped where one is stored.

A store read over HTTP may be given as ``http://user:secret@host/master.json``.
The password must reach the connection and nothing else: not the log, an
error message, a YAML report or the user's ``.par`` file (often readable by
all).  :func:`mask` writes ``***`` for it; :func:`without_password` removes
it, for the value that is learned (docs/differences.rst, "Passwords in URLs").
"""

from __future__ import annotations

import re

__all__ = ["mask", "without_password"]

# scheme://user:password@ -- the password runs to the last "@" before the path.
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*):(?P<password>[^/\s]*)@")


def mask(text: str) -> str:
    """*text* with the password of every URL in it written as ``***``.

    >>> mask("cannot read http://alice:s3cret@example.org/master.json")
    'cannot read http://alice:***@example.org/master.json'
    """
    if "://" not in text:
        return text
    return _USERINFO.sub(r"\g<head>:***@", text)


def without_password(text: str) -> str:
    """*text* with the password of every URL in it removed (the user name kept).

    >>> without_password("https://alice:s3cret@example.org/dl3/master.json")
    'https://alice@example.org/dl3/master.json'
    """
    if "://" not in text:
        return text
    return _USERINFO.sub(r"\g<head>@", text)
