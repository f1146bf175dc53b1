"""Environment expansion in file names, as ctools users write them.

``$NAME``, ``${NAME}``, ``$(NAME)``, ``$ENV{NAME}`` and ``$ENV(NAME)`` are
replaced by the variable's value; ``~`` and ``~user`` at the start of the
name by the home folder.  Unknown variables are left as written, and nothing
between single quotes is expanded.  Unlike GammaLib, which leaves
``$NAME.fits`` alone and expands ``~`` anywhere, a bare ``$NAME`` ends at the
first character that cannot be part of a name, so ``$DATA.fits`` expands
``DATA``, and ``~`` counts only at the start.
"""

from __future__ import annotations

import os
import re

__all__ = ["expand"]

_REFERENCE = re.compile(
    r"""\$(?:ENV\{(?P<env_brace>[^}]*)\}
          |ENV\((?P<env_paren>[^)]*)\)
          |\{(?P<brace>[^}]*)\}
          |\((?P<paren>[^)]*)\)
          |(?P<bare>[A-Za-z_][A-Za-z0-9_]*))
      |'[^']*'""",
    re.VERBOSE,
)


def expand(text: str) -> str:
    """Return *text* with environment references and a leading ``~`` expanded.

    >>> os.environ["IACT_EXAMPLE"] = "/data"
    >>> expand("$IACT_EXAMPLE/hess.fits"), expand("${IACT_EXAMPLE}x"), expand("'$IACT_EXAMPLE'")
    ('/data/hess.fits', '/datax', "'$IACT_EXAMPLE'")
    """
    if text.startswith("~"):
        text = os.path.expanduser(text)
    return _REFERENCE.sub(_replacement, text)


def _replacement(match: re.Match) -> str:
    if match.group(0).startswith("'"):
        return match.group(0)
    name = next(group for group in match.groups() if group is not None)
    return os.environ.get(name, match.group(0))
