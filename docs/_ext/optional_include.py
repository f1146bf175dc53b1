"""Sphinx extension: ``.. optional-include::``, an include whose file may be missing.

Usage in a page::

    .. optional-include:: benchmarks_table.rst

       Text shown when the file does not exist.

It takes the options of the standard ``include`` directive (``:literal:``,
``:code:``...).  When the file exists it is included exactly as ``include``
would; when it does not, the directive's content is shown instead (nothing
if there is none), and the build goes on without a warning.  The page is
rebuilt as soon as the file appears or changes.  The benchmark page uses it
for the files that ``make bench`` writes after the documentation was set
up (docs/README.md).
"""

from __future__ import annotations

import os

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.directives.other import Include

__all__ = ["OptionalInclude", "setup"]


class OptionalInclude(Include):
    """``include`` that falls back to its content when the file is missing."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        _, path = self.env.relfn2path(self.arguments[0])
        # A dependency on a missing file makes Sphinx re-read the page at
        # every build, so the file is picked up as soon as it exists.
        self.env.note_dependency(path)
        if os.path.isfile(path):
            return super().run()
        if not self.content:
            return []
        container = nodes.container(classes=["optional-include-missing"])
        self.state.nested_parse(self.content, self.content_offset, container)
        return [container]


def setup(app: Sphinx) -> dict:
    """Register the directive."""
    app.add_directive("optional-include", OptionalInclude)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
