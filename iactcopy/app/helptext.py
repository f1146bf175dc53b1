"""``--help`` text of a tool, built from its ``.par`` file.

ctools printed a help file found through ``$CTOOLS`` (application.md §6.5,
W-9); here the text is made from the shipped parameter file, so it needs no
environment and cannot disagree with the parameters.
"""

from __future__ import annotations

import textwrap

from iactcopy.params.parameters import ParameterSet
from iactcopy.params.parfile import read_par
from iactcopy.params.pfiles import SearchPath, parameters_from_text

__all__ = ["help_text"]

_MODES = {"h": "hidden", "q": "prompted", "a": "prompted (automatic)"}


def help_text(tool: str, description: str, version: str) -> str:
    """The ``--help`` text of *tool*: usage, description, and one entry per parameter."""
    search = SearchPath(user=(), system=SearchPath.from_environment({}).system)
    path = search.system_file(tool)
    pset = ParameterSet(tool, parameters_from_text(read_par(path)) if path else [])
    lines = [f"usage: {tool} [name=value ...] [name+|name- ...] [@values.yaml]",
             f"       {tool} --help | --version", ""]
    lines += [*textwrap.wrap(description, 79), "",
              f"{tool} {version} (iactcopy); parameters from {path}:", ""]
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
