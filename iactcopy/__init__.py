"""iactcopy: copy IACT DL3 data stores the ctools way, in plain Python.

The public names are imported when first used, so that ``import iactcopy``
costs nothing (no numpy, fitsio or astropy) and a tool starts as fast as
before::

    from iactcopy import csiactcopy          # the tool class, as cscripts.csiactcopy
    from iactcopy import Application, main_for   # to write a tool of your own

``iactpar`` is the module of the ``iactpar`` command; ``iactpar.run(["list",
"csiactcopy"])`` runs it and returns its exit status.
"""

from __future__ import annotations

from iactcopy.lazyface import lazy_face

# Not typing's TYPE_CHECKING: typing itself would be imported for it.
TYPE_CHECKING = False

__version__ = "0.1.0"

#: Each public name: the module that defines it, and its attribute there (None: the module).
_PUBLIC = {
    "Application": ("iactcopy.app.application", "Application"),
    "main_for": ("iactcopy.app.cli", "main_for"),
    "csiactdata": ("iactcopy.tools.csiactdata", "csiactdata"),
    "csiactcopy": ("iactcopy.tools.csiactcopy", "csiactcopy"),
    "csfindobs": ("iactcopy.tools.csfindobs", "csfindobs"),
    "iactpar": ("iactcopy.tools.iactpar", None),
}

__all__ = ["Application", "__version__", "csfindobs", "csiactcopy", "csiactdata", "iactpar",
           "main_for"]

if TYPE_CHECKING:
    from iactcopy.app.application import Application
    from iactcopy.app.cli import main_for
    from iactcopy.tools import iactpar
    from iactcopy.tools.csfindobs import csfindobs
    from iactcopy.tools.csiactcopy import csiactcopy
    from iactcopy.tools.csiactdata import csiactdata


__getattr__, __dir__ = lazy_face(__name__, globals(), _PUBLIC)
