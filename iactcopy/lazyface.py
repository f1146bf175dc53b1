"""Package faces whose names are imported when first used.

A package's ``__init__`` lists its public names and the modules that define
them; importing the package then costs nothing, and ``from iactcopy.store
import RemoteStore`` loads numpy and fitsio only because RemoteStore needs
them.  The fast paths (a rerun with nothing to do, ``--help``) import the
modules they need by their full names and never pay for the rest.
"""

from __future__ import annotations

import importlib

# Not typing's TYPE_CHECKING: ``import iactcopy`` would import typing for it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["lazy_face"]


def lazy_face(package: str, namespace: dict[str, Any],
              public: dict[str, tuple[str, str | None]]
              ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of a package with lazy public names.

    Parameters
    ----------
    package : str
        The package's name, for the message of an unknown attribute.
    namespace : dict
        The package's ``globals()``: a name, once imported, is kept there,
        so that later uses are plain attribute look-ups.
    public : dict
        Each public name: the module that defines it and its attribute there
        (None: the module itself).

    Returns
    -------
    (callable, callable)
        ``__getattr__`` and ``__dir__`` for the package.
    """

    def getattr_(name: str) -> Any:
        try:
            module_name, attribute = public[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        module = importlib.import_module(module_name)
        value = module if attribute is None else getattr(module, attribute)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *public})

    return getattr_, dir_
