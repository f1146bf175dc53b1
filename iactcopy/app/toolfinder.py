"""The installed tools: the entry-point group ``iactcopy.tools``.

A package that ships a tool registers its class under this group, the entry
point's name being the tool name (``csrunselect = runtools.csrunselect:csrunselect``).
``iactpar`` looks tools up here, so that it finds a tool's ``.par`` file
exactly where the tool itself finds it, whichever package it came from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iactcopy.errors import InstallationError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from iactcopy.app.application import Application

__all__ = ["ENTRY_POINT_GROUP", "installed_tools", "load_tool"]

#: The entry-point group a package registers its tool classes under.
ENTRY_POINT_GROUP = "iactcopy.tools"


def installed_tools() -> dict[str, EntryPoint]:
    """Each registered tool name and its entry point, sorted by name.

    When two installed packages register one name, the first found is kept,
    as ``importlib.metadata`` lists them.
    """
    from importlib.metadata import entry_points

    found = entry_points()
    # Python 3.9 gives a dict of groups; 3.10 and later a selectable collection.
    group = found.select(group=ENTRY_POINT_GROUP) if hasattr(found, "select") \
        else found.get(ENTRY_POINT_GROUP, ())
    tools: dict[str, EntryPoint] = {}
    for entry in group:
        tools.setdefault(entry.name, entry)
    return dict(sorted(tools.items()))


def load_tool(name: str, entry: EntryPoint | None = None) -> type[Application] | None:
    """The tool class registered as *name*, or None when no package registers it.

    Parameters
    ----------
    name : str
        The tool name.
    entry : EntryPoint, optional
        Its entry point, when already known from :func:`installed_tools`.

    Raises
    ------
    InstallationError
        When the registered class cannot be imported, is not an
        :class:`~iactcopy.app.application.Application`, or has another name.
    """
    from iactcopy.app.application import Application

    entry = entry or installed_tools().get(name)
    if entry is None:
        return None
    where = f"the entry point {name} = {entry.value} of group {ENTRY_POINT_GROUP}"
    try:
        value = entry.load()
    except (ImportError, AttributeError) as err:
        raise InstallationError(f"{where} cannot be loaded: {err}") from err
    if not (isinstance(value, type) and issubclass(value, Application)):
        raise InstallationError(f"{where} is not a tool class (an iactcopy Application "
                                f"subclass)")
    if value.name != name:
        raise InstallationError(f'{where} names the tool "{value.name}"; the two names '
                                f"must agree")
    return value
