"""Sphinx extension: the parameter table of a tool, generated from its ``.par`` file.

Usage in a page::

    .. par-table:: csiactcopy

reads ``par/csiactcopy.par`` (the folder is the configuration value
``partable_folder``, by default ``../par`` next to ``docs/``) with
iactcopy's own reader, :func:`iactcopy.params.pfiles.read_definition` (the
syntax of :mod:`iactcopy.params.parfile`, every field checked by
:func:`~iactcopy.params.pfiles.parameters_from_text`), and renders one row
per parameter: name, type, mode, default, range or options, and prompt.
The table is therefore the file the tools read, never a copy that could
drift: a parameter added to a ``.par`` file appears in the documentation
at the next build, and a ``.par`` file that does not parse fails the build
(an error that names the file and every bad line).
"""

from __future__ import annotations

import os

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from iactcopy.params.parameters import ParameterSet
from iactcopy.params.pfiles import read_definition

__all__ = ["ParTableDirective", "mode_text", "limits_text", "setup"]

HEADINGS = ("Name", "Type", "Mode", "Default", "Range or options", "Prompt")
#: Relative column widths, in the order of :data:`HEADINGS`.
WIDTHS = (14, 10, 16, 16, 12, 32)


def mode_text(mode: str, resolved: str) -> str:
    """Describe a mode field, e.g. ``a = ql: prompted, learned`` or ``h: hidden``.

    Parameters
    ----------
    mode : str
        The mode field as written in the file.
    resolved : str
        The mode letters with ``a`` resolved through the ``mode`` parameter.
    """
    words = ["prompted" if "q" in resolved else "hidden"]
    if "l" in resolved:
        words.append("learned")
    shown = mode if mode == resolved else f"{mode} = {resolved}"
    return f"{shown}: {', '.join(words)}"


def limits_text(minimum: str, maximum: str) -> str:
    """Describe the ``min`` and ``max`` fields: a range, the options, or nothing."""
    if minimum and maximum:
        return f"{minimum} to {maximum}"
    if minimum:
        return "one of " + ", ".join(option.strip() for option in minimum.split("|"))
    return f"at most {maximum}" if maximum else ""


class ParTableDirective(SphinxDirective):
    """``.. par-table:: TOOL``: the parameters of ``<partable_folder>/TOOL.par``."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        tool = self.arguments[0]
        folder = os.path.join(self.env.app.confdir, self.config.partable_folder)
        path = os.path.normpath(os.path.join(folder, f"{tool}.par"))
        self.env.note_dependency(path)
        try:
            # The reader of iactcopy.params: every bad line is reported at once.
            layout, parameters = read_definition(path)
        except (OSError, ValueError) as err:
            # ParFileError is a ValueError; both name the file.
            raise self.error(f"par-table: cannot read {path}: {err}") from err
        pset = ParameterSet(tool, parameters, layout)
        rows = [self._row(pset, par) for par in pset]
        table = _table(rows)
        table["classes"].append("par-table")
        return [table]

    @staticmethod
    def _row(pset: ParameterSet, par) -> list[nodes.Node]:
        default = par.text if par.text else '""'
        return [
            nodes.literal(text=par.name),
            nodes.Text(f"{par.type} ({par.ptype.name})"),
            nodes.Text(mode_text(par.mode, pset.mode_letters(par))),
            nodes.literal(text=default),
            nodes.Text(limits_text(par.minimum, par.maximum)),
            nodes.Text(par.prompt),
        ]


def _table(rows: list[list[nodes.Node]]) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(HEADINGS))
    table += group
    for width in WIDTHS:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    head += _row_node([nodes.Text(heading) for heading in HEADINGS])
    group += head
    body = nodes.tbody()
    for cells in rows:
        body += _row_node(cells)
    group += body
    return table


def _row_node(cells: list[nodes.Node]) -> nodes.row:
    row = nodes.row()
    for content in cells:
        entry = nodes.entry()
        entry += nodes.paragraph("", "", content)
        row += entry
    return row


def setup(app: Sphinx) -> dict:
    """Register the directive and the ``partable_folder`` setting."""
    app.add_config_value("partable_folder", os.path.join(os.pardir, "par"), "env")
    app.add_directive("par-table", ParTableDirective)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
