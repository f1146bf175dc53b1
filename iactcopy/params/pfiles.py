"""Finding, loading and saving a tool's ``.par`` files.

``PFILES`` is read as HEASoft reads it (docs/parameters.rst): ``user;system``,
each part a ``:``-separated list of folders; without ``;`` every folder is a
user folder.  When ``PFILES`` is unset the user folder is ``$HOME/pfiles``.
The package's own ``par/`` folder is always the last system folder; a tool
of another package adds the folders its own ``.par`` file ships in just
before it.

Loading takes the definition (layout, types, modes, limits, prompts,
defaults) from the system file and the values a user learned from the first
user copy (docs/parameters.rst).  A learned value that no longer fits, or
a user copy that cannot be read, never stops a tool: the value is dropped
with a warning that names the file and the line (docs/differences.rst,
"Stale user copy").

Saving merges by name under a lock held over read, merge and write, and
replaces the file atomically (docs/differences.rst, "Atomic parameter
save"): tools running at once with one
``PFILES`` folder lose no update.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Callable

from iactcopy.atomicfile import write_atomically
from iactcopy.errors import ParameterError, ParFileError, ParFileNotFound, excerpt
from iactcopy.filelocks import LockTimeout, locked_file
from iactcopy.params.parameters import (
    MODE_VALUES,
    MODES,
    Parameter,
    ParameterSet,
    Prompter,
    ValueSource,
)
from iactcopy.params.parfile import ParLine, ParText, parse_par, read_par
from iactcopy.params.partypes import get_type
from iactcopy.urlpasswords import without_password

__all__ = [
    "SearchPath",
    "system_folder",
    "parameters_from_text",
    "read_definition",
    "load_parameters",
    "save_learned",
    "write_values",
]

#: How long a save waits for another process's lock before giving up (seconds).
LOCK_TIMEOUT = 60.0


def system_folder() -> str:
    """The package's ``par/`` folder: the system parameter folder of iactcopy."""
    # The folder of the package iactcopy.par (the repository's par/ in an
    # editable install, iactcopy/par in a wheel); importlib.resources would
    # cost 10 ms of start-up for the same answer.
    import iactcopy.par

    return os.path.dirname(os.path.abspath(iactcopy.par.__file__))


@dataclass(frozen=True)
class SearchPath:
    """Where ``<tool>.par`` files are looked for.

    Attributes
    ----------
    user : tuple of str
        Folders of user copies, searched in order; learned values are saved
        into the first writable one.
    system : tuple of str
        Folders of system files, searched in order after the user folders.
    """

    user: tuple[str, ...]
    system: tuple[str, ...]

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, *,
                         tool_folders: Sequence[str] = ()) -> SearchPath:
        """Read ``PFILES`` (and ``HOME`` when it is unset).

        Parameters
        ----------
        environ : mapping, optional
            Default: ``os.environ``.
        tool_folders : sequence of str, optional
            The folders a tool ships its own ``.par`` file in (see
            :meth:`~iactcopy.app.application.Application.par_folders`): system
            folders after those of ``PFILES``, before iactcopy's ``par/``.
            Default: none.
        """
        env = os.environ if environ is None else environ
        pfiles = env.get("PFILES")
        if pfiles is None:
            home = env.get("HOME") or os.path.expanduser("~")
            user, system = [os.path.join(home, "pfiles")], []
        else:
            user_part, _, system_part = pfiles.partition(";")
            user, system = _folders(user_part), _folders(system_part)
        package = system_folder()
        system = list(dict.fromkeys([*system, *tool_folders]))
        system = [folder for folder in system if folder != package] + [package]
        return cls(tuple(user), tuple(system))

    def system_file(self, tool: str) -> str | None:
        """The first system file of *tool*, if there is one."""
        return _first_readable(tool, self.system)

    def defining_file(self, tool: str) -> str | None:
        """The file that defines *tool*: the system file, else the first user copy."""
        return self.system_file(tool) or self.user_file(tool)

    def user_file(self, tool: str) -> str | None:
        """The user copy of *tool*'s file, if there is one."""
        return _first_readable(tool, self.user)

    def save_folder(self) -> str | None:
        """The first user folder that is (or can be made) a writable folder, else None."""
        for folder in self.user:
            if not os.path.isdir(folder):
                try:
                    os.makedirs(folder, exist_ok=True)
                except OSError:
                    continue
            if os.access(folder, os.W_OK | os.X_OK):
                return folder
        return None


def _folders(part: str) -> list[str]:
    # Empty pieces are skipped: GammaLib read them as "/", a folder nobody means.
    return [os.path.expanduser(piece) for piece in part.split(":") if piece.strip()]


def _not_a_regular_file(path: str) -> str | None:
    """Why the user copy *path* is refused (a link, a device), or None (a file, or none).

    A user copy is the tool's own file: one that is a link may lead to any
    file (/etc/shadow, for root), whose lines would be quoted in warnings
    and which learning would rewrite.
    """
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as err:
        return f"it cannot be examined: {err.strerror or err}"
    if stat.S_ISLNK(found.st_mode):
        return "it is a symbolic link, not a file of its own; replace it by a copy"
    if not stat.S_ISREG(found.st_mode):
        return "it is not a regular file"
    return None


def _first_readable(tool: str, folders: tuple[str, ...]) -> str | None:
    for folder in folders:
        path = os.path.join(folder, f"{tool}.par")
        if os.path.isfile(path) and os.access(path, os.R_OK):
            return path
    return None


def parameters_from_text(text: ParText, *,
                         problems: list[tuple[int, str, str]] | None = None) -> list[Parameter]:
    """Build the parameters a parsed file defines, checking every field.

    Parameters
    ----------
    text : ParText
        The parsed file.
    problems : list, optional
        When given, each bad line is appended to it as ``(lineno, line,
        why)`` and left out, instead of raising.

    Raises
    ------
    ParFileError
        Without *problems*: listing every line with a bad type, mode or
        value, and duplicates.
    """
    parameters: list[Parameter] = []
    seen: set[str] = set()
    found: list[tuple[int, str, str]] = [] if problems is None else problems
    for line in text.parameter_lines:
        try:
            par = _parameter_from_line(line)
            if par.name in seen:
                raise ValueError(f'parameter "{par.name}" is defined twice')
            seen.add(par.name)
            parameters.append(par)
        except (ValueError, ParameterError) as err:
            found.append((line.lineno, line.raw.rstrip("\r\n"), str(err)))
    if problems is None and found:
        raise ParFileError(text.source, found)
    return parameters


def read_definition(path: str) -> tuple[ParText, list[Parameter]]:
    """Read the ``.par`` file at *path* and the parameters it defines.

    Raises
    ------
    OSError
        When the file cannot be read.
    ParFileError
        Listing every bad line of the file, syntax and fields alike, so
        that one look at the message is enough to repair it.
    """
    problems: list[tuple[int, str, str]] = []
    layout = read_par(path, problems=problems)
    parameters = parameters_from_text(layout, problems=problems)
    if problems:
        raise ParFileError(layout.source, sorted(problems, key=lambda problem: problem[0]))
    return layout, parameters


def _parameter_from_line(line: ParLine) -> Parameter:
    name, code, mode, value, minimum, maximum, prompt = line.fields or ()
    if not name:
        raise ValueError("the parameter has no name")
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is not one of {' '.join(sorted(MODES))}")
    ptype = get_type(code)
    text = ptype.convert(value, name)
    ptype.check_limits(text, minimum, maximum, name)
    if name == "mode" and text.strip() not in MODE_VALUES:
        raise ValueError(f"the mode parameter's value {text!r} is not one of "
                         f"{' '.join(sorted(MODE_VALUES))}")
    return Parameter(name, ptype, mode, text, minimum, maximum, prompt, initial=text)


def load_parameters(tool: str, *, search: SearchPath | None = None,
                    prompter: Prompter | None = None,
                    warn: Callable[[str], None] | None = None) -> ParameterSet:
    """Load *tool*'s parameters: the definition, then the values the user learned.

    Parameters
    ----------
    tool : str
        The tool name; its file is ``<tool>.par``.
    search : SearchPath, optional
        Default: from the environment.
    prompter : Prompter, optional
        Asks for query parameters when they are read.
    warn : callable, optional
        Receives each warning (also kept in ``ParameterSet.warnings``).

    Raises
    ------
    ParFileNotFound
        When no ``<tool>.par`` is found.
    ParFileError
        When the defining file cannot be parsed.
    """
    search = search or SearchPath.from_environment()
    defining = search.defining_file(tool)
    if defining is None:
        raise ParFileNotFound(tool, [*search.user, *search.system])
    layout, parameters = read_definition(defining)
    pset = ParameterSet(tool, parameters, layout, prompter=prompter, warn=warn)
    pset.search = search
    user = search.user_file(tool)
    if user is not None and not _same_file(user, defining):
        for name, text, pinned in _learned(user, pset):
            pset.assign(pset[name], text, ValueSource.LEARNED)
            pset[name].pinned = pinned
    pset.mark_loaded()
    return pset


def _learned(path: str, definition: ParameterSet) -> list[tuple[str, str, bool]]:
    """The values of the user copy at *path* that still fit *definition*.

    Returns (name, text, pinned) for each value to take.  Anything dropped
    is reported through ``definition.warn``, naming the file and line.
    """
    refused = _not_a_regular_file(path)
    if refused:
        definition.warn(f"ignoring the parameter file {path}: {refused}")
        return []
    try:
        problems: list[tuple[int, str, str]] = []
        user_text = read_par(path, problems=problems)
    except OSError as err:
        definition.warn(f"ignoring the parameter file {path}, it cannot be read: {err}")
        return []
    # A damaged line costs only its own value: the good lines of a user copy
    # are still learned values worth keeping (docs/differences.rst, "Stale user copy").
    user_pars = ParameterSet(definition.tool,
                             parameters_from_text(user_text, problems=problems))
    for lineno, line, why in sorted(problems, key=lambda problem: problem[0]):
        definition.warn(f"{path}:{lineno}: ignored the line {excerpt(line)}: {why}")
    lines = {line.fields[0]: line.lineno for line in user_text.parameter_lines if line.fields}
    taken = []
    for upar in user_pars:
        if not user_pars.is_learn(upar):
            continue
        where = f"{path}:{lines.get(upar.name, '?')}"
        if upar.name not in definition:
            definition.warn(f'{where}: dropped learned "{upar.name}": '
                            f"the tool has no such parameter any more")
            continue
        par = definition[upar.name]
        if par.type != upar.type:
            definition.warn(f'{where}: dropped learned "{upar.name}" = {excerpt(upar.text)}: '
                            f"its type is now {par.ptype.name}")
            continue
        try:
            par.ptype.check_limits(par.ptype.convert(upar.text, par.name),
                                   par.minimum, par.maximum, par.name)
        except ParameterError as err:
            definition.warn(f'{where}: dropped learned "{upar.name}": {err}')
            continue
        taken.append((par.name, upar.text, not definition.is_learn(par)))
    return taken


def save_learned(pset: ParameterSet) -> str | None:
    """Merge the values *pset* learned in this run into the user's copy.

    Returns the path written, or None when there was nothing to learn or no
    writable user folder (a warning says so then).
    """
    values = pset.learned_values()
    if not values:
        return None
    return write_values(pset, values, pinned=())


def write_values(pset: ParameterSet, values: Mapping[str, str], *,
                 pinned: tuple[str, ...] | set[str] = ()) -> str | None:
    """Write *values* into the user's copy of *pset*'s file, merging by name.

    Under a lock held over read, merge and write, the current user copy is
    read again (another process may have saved since this one loaded), the
    given values replace those of their names, and the file is replaced
    atomically.  Names in *pinned* are marked learned (mode letter ``l``)
    so that a hidden value set with ``iactpar set`` is used by the tool.
    A password in a URL is left out: it is for a run's connection, not for
    a file that is often readable by all (docs/differences.rst, "Passwords
    in URLs").
    """
    values = {name: without_password(text) for name, text in values.items()}
    search = pset.search or SearchPath.from_environment()
    folder = search.save_folder()
    if folder is None:
        pset.warn(f"no writable folder for {pset.tool}.par "
                  f"(tried: {', '.join(search.user) or 'none'}); parameters not learned")
        return None
    target = os.path.join(folder, f"{pset.tool}.par")
    refused = _not_a_regular_file(target)
    if refused:
        pset.warn(f"{target}: {refused}; parameters not learned")
        return None
    layout = pset.layout or parse_par("", source=pset.tool)
    try:
        with locked_file(target + ".lock", timeout=LOCK_TIMEOUT):
            current: dict[str, str] = {}
            marked = set(pinned)
            # Merge into the target; when the first writable folder has no
            # copy yet, into the copy in use further down PFILES, whose learned
            # values the new file would otherwise hide.
            merged = target if os.path.isfile(target) else search.user_file(pset.tool)
            if _same_file(target, layout.source):
                # The user copy is the definition itself: start from its
                # current text, which another process may have changed.
                layout = read_par(target)
            elif merged is not None:
                for name, text, was_pinned in _learned(merged, _fresh_copy(pset)):
                    current[name] = text
                    if was_pinned:
                        marked.add(name)
                layout = _user_layout(merged, layout)
            current.update(values)
            # Bytes that were not UTF-8 were read as surrogates (read_par);
            # they are written back unchanged, as the reference passes them.
            text = _render(layout, current, marked)
            write_atomically(target, text.encode("utf-8", "surrogateescape"))
    except LockTimeout:
        pset.warn(f"{target} is locked by another process; parameters not learned")
        return None
    except OSError as err:
        pset.warn(f"cannot write {target}: {err}; parameters not learned")
        return None
    return target


def _user_layout(path: str, definition: ParText) -> ParText:
    """The text of the user copy at *path*, to write learned values into, if it fits.

    The user's comments, spacing and order are kept (docs/parameters.rst)
    when the copy defines the parameters of *definition*, with the same
    types, and has no bad line.  Otherwise (the tool gained or lost a
    parameter, a line is damaged) the copy is rebuilt from *definition*.
    """
    problems: list[tuple[int, str, str]] = []
    try:
        user = read_par(path, problems=problems)
    except OSError:
        return definition
    if problems or _signature(user) != _signature(definition):
        return definition
    return user


def _signature(layout: ParText) -> list[tuple[str, str]]:
    return sorted((line.fields[0], line.fields[1]) for line in layout.parameter_lines
                  if line.fields)


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _fresh_copy(pset: ParameterSet) -> ParameterSet:
    """A set with *pset*'s definition and defaults, to read a user copy against."""
    fresh = parameters_from_text(pset.layout) if pset.layout is not None else []
    return ParameterSet(pset.tool, fresh, pset.layout, warn=pset.warn)


def _render(layout: ParText, values: Mapping[str, str], pinned: set[str]) -> str:
    """The text of *layout* with *values* written into their lines."""
    lines = []
    for line in layout.lines:
        if line.fields is not None:
            name, mode, default = line.fields[0], line.fields[2], line.fields[3]
            if name in values and values[name] != default:
                line = line.with_field(3, values[name])
            if name in pinned and "l" not in mode:
                line = line.with_field(2, mode + "l")
        lines.append(line.raw)
    text = "".join(lines)
    return text if not text or text.endswith(("\n", "\r")) else text + "\n"
