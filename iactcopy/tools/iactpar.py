"""iactpar: list, read, set and reset the parameters of any tool, like HEASoft's pset.

::

    iactpar list                            # the installed tools and their files
    iactpar list csiactcopy                 # every parameter: name, type, mode, value, prompt
    iactpar get csiactcopy outpath          # the value alone
    iactpar set csiactcopy chatter=3 nthreads=8
    iactpar unlearn csiactcopy              # remove the user copy: defaults again
    iactpar path csiactcopy                 # the files used

A tool that a package registers in the entry-point group ``iactcopy.tools``
(iactcopy's own, and those of other packages) is found exactly where the
tool itself finds its file: ``PFILES``, then the folders beside its code,
then iactcopy's ``par/``.  Any other ``<tool>.par`` that ``PFILES`` (or
``~/pfiles``) holds works too, HEASoft's included.  ``set`` validates each
value and writes it into the user copy whatever the parameter's mode, as
``pset`` does, with the same locked, atomic save as the tools.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from iactcopy import __version__
from iactcopy.app.cli import guarded
from iactcopy.app.toolfinder import installed_tools, load_tool
from iactcopy.errors import IactcopyError, UsageError
from iactcopy.params.cmdline import resolve_name
from iactcopy.params.parameters import ParameterSet, ValueSource
from iactcopy.params.pfiles import SearchPath, load_parameters, write_values

__all__ = ["main", "run"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iactpar",
        description="List, read, set and reset tool parameters (like HEASoft's plist, "
                    "pget, pset and punlearn). Files are found through PFILES "
                    "(user;system folders), else ~/pfiles, then beside the code of a tool "
                    "registered in the entry-point group iactcopy.tools, then iactcopy's "
                    "own par/ folder.")
    parser.add_argument("--version", action="version", version=f"iactpar (iactcopy) {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", help="every parameter: name, type, mode, value, "
                                               "prompt; without a tool, the installed tools")
    listing.add_argument("tool", nargs="?")
    getting = commands.add_parser("get", help="the value of one parameter")
    getting.add_argument("tool")
    getting.add_argument("name")
    setting = commands.add_parser("set", help="set values in the user copy: NAME=VALUE ...")
    setting.add_argument("tool")
    setting.add_argument("assignments", nargs="+", metavar="NAME=VALUE")
    unlearn = commands.add_parser("unlearn", help="remove the user copy (back to the defaults)")
    unlearn.add_argument("tool")
    path = commands.add_parser("path", help="the user and system files of a tool")
    path.add_argument("tool")
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Run iactpar with *argv* (without the program name); return the exit status."""
    args = _parser().parse_args(argv)
    return guarded(lambda: _COMMANDS[args.command](args), debug=False)


def main() -> None:
    """The console script."""
    sys.exit(run())


def _warn(message: str) -> None:
    sys.stderr.write(f"WARNING: {message}\n")


def _load(tool: str) -> ParameterSet:
    cls = load_tool(tool)
    if cls is not None:
        return cls.load_parameter_set(warn=_warn)
    return load_parameters(tool, warn=_warn)


def _search(tool: str) -> SearchPath:
    cls = load_tool(tool)
    return cls.search_path() if cls is not None else SearchPath.from_environment()


def _list(args: argparse.Namespace) -> int:
    if args.tool is None:
        return _list_tools()
    pset = _load(args.tool)
    rows = [(par.name, par.type, par.mode, par.text, par.prompt) for par in pset]
    widths = [max(len(row[i]) for row in rows) for i in range(4)] if rows else [0] * 4
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths)]
        print("  ".join([*cells, row[4]]).rstrip())
    return 0


def _list_tools() -> int:
    """One line per registered tool: name, package and version, defining file.

    A tool that cannot be loaded or has no parameter file is listed all the
    same, with a warning that says why; the status is 1 then.
    """
    status, rows = 0, []
    for name, entry in installed_tools().items():
        try:
            cls = load_tool(name, entry)
            rows.append((name, f"{cls.package} {cls.version}",
                         cls.definition().layout.source))
        except IactcopyError as err:
            _warn(str(err))
            rows.append((name, entry.value, "(not usable: see the warning)"))
            status = 1
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(2)]
    for row in rows:
        print(f"{row[0].ljust(widths[0])}  {row[1].ljust(widths[1])}  {row[2]}")
    return status


def _get(args: argparse.Namespace) -> int:
    pset = _load(args.tool)
    print(pset[resolve_name(args.name, pset)].text)
    return 0


def _set(args: argparse.Namespace) -> int:
    pset = _load(args.tool)
    values: dict[str, str] = {}
    for assignment in args.assignments:
        name, equals, value = assignment.partition("=")
        if not equals or not name:
            raise UsageError(f'"{assignment}" is not of the form NAME=VALUE')
        name = resolve_name(name, pset)
        pset.set(name, value, ValueSource.COMMAND_LINE)
        values[name] = pset[name].text
    pinned = {name for name in values if "l" not in pset.mode_letters(pset[name])}
    written = write_values(pset, values, pinned=pinned)
    return 0 if written else 1


def _unlearn(args: argparse.Namespace) -> int:
    search = _search(args.tool)
    user = search.user_file(args.tool)
    if user is None:
        print(f"{args.tool}: no user copy to remove")
        return 0
    if search.system_file(args.tool) is None:
        raise UsageError(f"{user} is the only {args.tool}.par (there is no system file): "
                         f"not removed")
    os.remove(user)
    print(f"removed {user}")
    return 0


def _path(args: argparse.Namespace) -> int:
    search = _search(args.tool)
    print(f"user:   {search.user_file(args.tool) or '(none)'}")
    print(f"system: {search.system_file(args.tool) or '(none)'}")
    return 0


_COMMANDS = {"list": _list, "get": _get, "set": _set, "unlearn": _unlearn, "path": _path}

if __name__ == "__main__":
    main()
