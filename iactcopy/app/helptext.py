"""``--help`` text of a tool, built from its ``.par`` file.

ctools printed a help file found through ``$CTOOLS`` (docs/differences.rst,
"Help and version"); here the text is made from the tool's defining parameter file, found
as the tool itself finds it (``PFILES``, then the folders the tool ships it
in, then iactcopy's ``par/``), so it needs no environment and cannot
disagree with the parameters.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iactcopy.app.application import Application

__all__ = ["help_text"]

_MODES = {"h": "hidden", "q": "prompted", "a": "prompted (automatic)"}


def help_text(cls: type[Application]) -> str:
    """The ``--help`` text of the tool class *cls*: usage, description, one entry per parameter.

    Raises
    ------
    InstallationError
        When the tool's ``.par`` file is missing or broken.
    """
    tool = cls.name
    pset = cls.definition()
    path = pset.layout.source if pset.layout is not None else ""
    lines = [f"usage: {tool} [name=value ...] [name+|name- ...] [@values.yaml]",
             f"       {tool} --help | --version", ""]
    lines += [*textwrap.wrap(cls.description, 79), "",
              f"{tool} {cls.version} ({cls.package}); parameters from {path}:", ""]
    for par in pset:
        limits = _limits(par.minimum, par.maximum)
        mode = _MODES.get(par.mode.replace("l", "") or "a", par.mode)
        learned = ", learned" if "l" in pset.mode_letters(par) else ""
        default = par.text or '""'
        lines.append(f"  {par.name} ({par.ptype.name}, {mode}{learned}) "
                     f"default: {default}{limits}")
        lines += textwrap.wrap(par.prompt, 75, initial_indent="      ",
                               subsequent_indent="      ")
    lines += ["", "Prompted parameters not given on the command line are asked for; "
                  "mode=h asks nothing.", "Exit status: 0 done, 1 error, 2 invalid "
                  "parameters, 3 done but files missing or refused, 130 interrupted."]
    return "\n".join(lines) + "\n"


def _limits(minimum: str, maximum: str) -> str:
    if minimum and maximum:
        return f", range {minimum} to {maximum}"
    if minimum:
        return f", one of {minimum}"
    return f", at most {maximum}" if maximum else ""
