"""Sphinx configuration of the iactcopy documentation.

Built by ``make docs`` (``sphinx-build -W``: a warning fails the build).
No intersphinx and nothing else that needs the network: builds run offline.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "_ext"))
# The package itself, for a build from a checkout without an installed iactcopy.
sys.path.insert(0, os.path.dirname(HERE))

import iactcopy  # noqa: E402

project = "iactcopy"
author = "the iactcopy authors"
copyright = "the iactcopy authors; H.E.S.S. DL3 DR1 data CC BY 4.0"
version = release = iactcopy.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "numpydoc",
    "partable",
    "optional_include",
]

root_doc = "index"
source_suffix = {".rst": "restructuredtext"}
# README.md and benchmarks.md are for people reading the folder (Sphinx reads
# no Markdown); benchmarks_table.rst is a fragment included by benchmarks.rst.
exclude_patterns = ["_build", "_ext", "README.md", "benchmarks.md", "benchmarks_table.rst"]
templates_path = []
default_role = "literal"
highlight_language = "none"
pygments_style = "sphinx"
nitpicky = False

# -- autodoc and numpydoc ---------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {"show-inheritance": True}
# numpydoc would list every member in an autosummary table that needs stub
# pages; the API page lists the members it documents instead.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False

# The partable extension reads the .par files the tools read.
partable_folder = os.path.join(os.pardir, "par")

# -- HTML -------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"iactcopy {release}"
html_static_path = ["_static"]
html_css_files = ["iactcopy.css"]
html_theme_options = {
    "description": "Copy IACT DL3 data stores the ctools way",
    "page_width": "1100px",
    "sidebar_width": "220px",
}
html_sidebars = {"**": ["about.html", "navigation.html", "searchbox.html"]}
