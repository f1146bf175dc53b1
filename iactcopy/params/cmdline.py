"""Command-line arguments of a tool: ``name=value``, ``name+``, ``name-``, ``@file.yaml``.

This module matches arguments to parameters and hands the values to the
parameter set, which converts and checks them; it converts nothing itself.
Deliberate differences from GammaLib (docs/parameters.rst; docs/differences.rst,
"Command line"): an exact name beats a prefix, a unique prefix is accepted, an ambiguous or unknown
name is an error that lists the candidates, a parameter named twice is an
error, ``name+``/``name-`` set a boolean, and ``@file.yaml`` reads a YAML
mapping of values (arguments after it win).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from iactcopy.errors import ParameterError, UsageError
from iactcopy.params.parameters import ParameterSet, ValueSource

__all__ = ["resolve_name", "apply_arguments", "read_yaml_values"]

_FORMS = "name=value, name+, name- or @file.yaml"


def resolve_name(name: str, pset: ParameterSet) -> str:
    """The parameter *name* stands for: the exact name, else a unique prefix.

    Raises
    ------
    UsageError
        For an ambiguous prefix (listing the candidates) or an unknown name
        (suggesting the closest ones).
    """
    if name in pset:
        return name
    candidates = [known for known in pset.names if known.startswith(name)] if name else []
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise UsageError(f'"{name}" is ambiguous: it could be {", ".join(candidates)}')
    raise UsageError(pset.unknown_name_message(name))


def apply_arguments(pset: ParameterSet, args: Sequence[str]) -> None:
    """Apply command-line *args* (without the program name) to *pset*, left to right.

    Raises
    ------
    UsageError
        For an argument of no known form, or a parameter named twice.
    ParameterError
        For a value the parameter does not allow.
    """
    named: dict[str, str] = {}
    for raw in args:
        arg = raw.strip()
        if arg.startswith("@"):
            for name, value in read_yaml_values(arg[1:]).items():
                _assign(pset, resolve_name(str(name), pset), value, arg)
            continue
        name, value = _split(arg, pset)
        target = resolve_name(name, pset)
        if target in named:
            raise UsageError(f'parameter "{target}" is given twice: '
                             f'"{named[target]}" and "{arg}"')
        named[target] = arg
        _assign(pset, target, value, arg)


def _split(arg: str, pset: ParameterSet) -> tuple[str, Any]:
    name, equals, value = arg.partition("=")
    if equals:
        if not name:
            raise UsageError(f'argument "{arg}" has no parameter name before "="; '
                             f"arguments are {_FORMS}")
        return name, value
    if arg[-1:] in "+-" and len(arg) > 1:
        name = resolve_name(arg[:-1], pset)
        if pset[name].type != "b":
            raise UsageError(f'"{arg}": {arg[-1]} sets a boolean, but "{name}" is of type '
                             f"{pset[name].ptype.name}; use {name}=value")
        return name, arg[-1] == "+"
    raise UsageError(f'argument "{arg}" is not of the form {_FORMS}')


def _assign(pset: ParameterSet, name: str, value: Any, arg: str) -> None:
    try:
        pset.assign(pset[name], value, ValueSource.COMMAND_LINE)
    except ParameterError as err:
        raise ParameterError(f'in argument "{arg}": {err}') from err


def read_yaml_values(path: str) -> dict[str, Any]:
    """Read a YAML mapping of parameter values, each value as its text, from *path*.

    Raises
    ------
    UsageError
        When the file cannot be read, is not UTF-8 YAML, is not a mapping, or
        a value is not a single text, number or boolean.
    """
    import yaml

    try:
        with open(path, encoding="utf-8") as stream:
            # Scalars are read as the text written, as on the command line, so
            # that the parameter's own converter judges them: `prodname: 2024`
            # is a name, not a number refused by a string parameter, and
            # `emin: 0.50` keeps its spelling.
            data = yaml.load(stream, Loader=yaml.BaseLoader)
    except OSError as err:
        raise UsageError(f"cannot read parameter file @{path}: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise UsageError(f"@{path} is not UTF-8 text: {err.reason} at byte {err.start}") \
            from err
    except yaml.YAMLError as err:
        raise UsageError(f"@{path} is not valid YAML: {_first_line(err)}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"@{path} must hold a mapping of name: value, "
                         f"not a {type(data).__name__}")
    for name, value in data.items():
        if not isinstance(value, (str, int, float, bool)):
            raise UsageError(f'@{path}: the value of "{name}" must be a text, a number or '
                             f"a boolean, not {value!r}")
    return data


def _first_line(err: Exception) -> str:
    return " ".join(str(err).split())
