"""Parameters and parameter sets: modes, typed access, prompting and what to learn.

A :class:`ParameterSet` holds the parameters of one tool in file order.  A
value comes from one :class:`ValueSource`; whatever the source, it goes
through the parameter's converter and its limits, and is committed only once
it has passed both: GammaLib changed the status before it checked the
value, so a refused value left value and status disagreeing.

Modes are read as HEASoft does (docs/differences.rst, "Automatic mode"):
``h`` hidden,
``q`` query, ``l`` learn, ``a`` automatic.  ``a`` takes its query and learn
letters from the current value of the ``mode`` parameter *when the parameter
is read*, so ``mode=h`` on the command line suppresses every automatic
prompt.  ``l`` alone means ``al``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from iactcopy.errors import ParameterError
from iactcopy.params.parfile import ParText
from iactcopy.params.partypes import FilenameType, ParType, Status

__all__ = [
    "MODES",
    "MODE_VALUES",
    "ValueSource",
    "Parameter",
    "ParameterSet",
    "Prompter",
    "prompt_text",
]

#: The mode field spellings that are read: GammaLib's and HEASoft's.
MODES = frozenset({"a", "h", "q", "l", "al", "la", "hl", "lh", "ql", "lq"})
#: The values the ``mode`` parameter itself may take.
MODE_VALUES = frozenset({"h", "q", "hl", "lh", "ql", "lq"})


class ValueSource(enum.Enum):
    """Where the current value of a parameter came from."""

    DEFAULT = "parameter file"
    LEARNED = "learned"
    COMMAND_LINE = "command line"
    PYTHON = "Python"
    PROMPT = "prompt"


#: Sources that settle a value, so that it is no longer prompted for.
_SETTLING = frozenset({ValueSource.COMMAND_LINE, ValueSource.PYTHON, ValueSource.PROMPT})


class Prompter(Protocol):
    """What a parameter set needs to ask the user for a value."""

    interactive: bool

    def ask(self, text: str, *, complete_paths: bool = False) -> str | None:
        """Show *text* and return the answer, or None at end of input."""

    def show_error(self, message: str) -> None:
        """Tell the user why an answer was refused, before asking again."""


@dataclass
class Parameter:
    """One parameter: its definition, its current value and where that came from.

    The typed accessors (``boolean()``, ``integer()``...) prompt first when
    the parameter is in a query mode and not yet settled, as in ctools.
    """

    name: str
    ptype: ParType
    mode: str
    text: str
    minimum: str = ""
    maximum: str = ""
    prompt: str = ""
    source: ValueSource = ValueSource.DEFAULT
    queried: bool = False
    #: Learned even if its mode is not a learn mode (set with ``iactpar set``).
    pinned: bool = False
    initial: str = ""
    owner: ParameterSet | None = field(default=None, repr=False, compare=False)

    @property
    def type(self) -> str:
        """The type letter(s), e.g. ``"i"``."""
        return self.ptype.code

    @property
    def status(self) -> Status:
        """Whether the current text is valid, undefined or not a number."""
        return self.ptype.status(self.text)

    @property
    def changed(self) -> bool:
        """True when the value differs from the one loaded."""
        return self.text != self.initial

    def _set(self) -> ParameterSet:
        if self.owner is None:
            raise RuntimeError(f"parameter {self.name!r} belongs to no parameter set")
        return self.owner

    def value(self) -> str:
        """The stored text, after prompting if needed."""
        return self._set().value(self.name)

    def current_value(self) -> str:
        """The stored text, never prompting."""
        return self.text

    def boolean(self) -> bool:
        """The value of a ``b`` parameter."""
        return self._set().boolean(self.name)

    def integer(self) -> int:
        """The value of an ``i`` parameter."""
        return self._set().integer(self.name)

    def real(self) -> float:
        """The value of an ``r`` parameter."""
        return self._set().real(self.name)

    def string(self) -> str:
        """The value of an ``s`` parameter."""
        return self._set().string(self.name)

    def filename(self) -> str:
        """The value of a filename parameter, environment references expanded."""
        return self._set().filename(self.name)

    def time(self) -> str:
        """The value of a ``t`` parameter, as text."""
        return self._set().time(self.name)

    def is_valid(self) -> bool:
        """True when the value is defined and a number where one is needed."""
        return self._set().is_valid(self.name)

    def is_undefined(self) -> bool:
        """True for INDEF, NONE, UNDEF, UNDEFINED (and empty file names)."""
        return self._set().status(self.name) is Status.UNDEFINED

    def is_notanumber(self) -> bool:
        """True for INF, INFINITY, NAN in a number."""
        return self._set().status(self.name) is Status.NAN

    def __str__(self) -> str:
        return self.text


class ParameterSet:
    """The parameters of one tool, in file order.

    Parameters
    ----------
    tool : str
        The tool name (the ``.par`` file is ``<tool>.par``).
    parameters : list of Parameter
        In file order; their ``owner`` is set to this set.
    layout : ParText, optional
        The parsed file that defines them, kept to write learned values back
        in place.
    prompter : Prompter, optional
        Asks for query parameters; without one, nothing is prompted and the
        current value is used.
    warn : callable, optional
        Receives each warning (a dropped learned value, an unanswered
        prompt).  Default: collected in :attr:`warnings`.
    """

    def __init__(self, tool: str, parameters: list[Parameter], layout: ParText | None = None,
                 *, prompter: Prompter | None = None,
                 warn: Callable[[str], None] | None = None):
        self.tool = tool
        self.layout = layout
        #: The :class:`~iactcopy.params.pfiles.SearchPath` it was loaded through, if any.
        self.search: Any = None
        self.prompter = prompter
        self.warnings: list[str] = []
        self._warn = warn
        self._pars: dict[str, Parameter] = {}
        for par in parameters:
            par.owner = self
            self._pars[par.name] = par

    # -- the container ----------------------------------------------------
    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._pars.values())

    def __len__(self) -> int:
        return len(self._pars)

    def __contains__(self, name: object) -> bool:
        return name in self._pars

    def __getitem__(self, key: str | int) -> Parameter:
        if isinstance(key, int):
            return list(self._pars.values())[key]
        try:
            return self._pars[key]
        except KeyError:
            raise ParameterError(self.unknown_name_message(key)) from None

    @property
    def names(self) -> list[str]:
        """The parameter names, in file order."""
        return list(self._pars)

    def unknown_name_message(self, name: str) -> str:
        """The message for a name this tool does not have, with the closest names."""
        from difflib import get_close_matches

        close = get_close_matches(name, self.names, n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        return f'{self.tool} has no parameter "{name}"{hint} (parameters: {", ".join(self.names)})'

    def warn(self, message: str) -> None:
        """Record a warning and pass it to the caller's handler."""
        self.warnings.append(message)
        if self._warn is not None:
            self._warn(message)

    # -- modes ------------------------------------------------------------
    def mode_letters(self, par: Parameter) -> str:
        """The letters of *par*'s mode with ``a`` resolved through the ``mode`` parameter."""
        letters = par.mode
        if "a" in letters or letters == "l":
            mode_par = self._pars.get("mode")
            automatic = mode_par.text.strip() if mode_par is not None else "h"
            letters = letters.replace("a", "") + automatic
        return letters

    def is_query(self, par: Parameter) -> bool:
        """True when *par* is prompted for unless settled."""
        return "q" in self.mode_letters(par)

    def is_learn(self, par: Parameter) -> bool:
        """True when *par*'s value is remembered in the user's parameter file."""
        return "l" in self.mode_letters(par) or par.pinned

    def is_settled(self, par: Parameter) -> bool:
        """True when *par* will not be prompted for any more."""
        return par.queried or par.source in _SETTLING or not self.is_query(par)

    # -- reading ----------------------------------------------------------
    def value(self, name: str) -> str:
        """The stored text of *name*, after prompting if needed."""
        par = self[name]
        self._query(par)
        return par.text

    def status(self, name: str) -> Status:
        """The status of *name*, after prompting if needed."""
        par = self[name]
        self._query(par)
        return par.status

    def is_valid(self, name: str) -> bool:
        """True when *name* is neither undefined nor not-a-number."""
        return self.status(name) is Status.VALID

    def boolean(self, name: str) -> bool:
        """The value of a ``b`` parameter."""
        return self._typed(name, "boolean", ("b",))

    def integer(self, name: str) -> int:
        """The value of an ``i`` parameter."""
        return self._typed(name, "integer", ("i",))

    def real(self, name: str) -> float:
        """The value of an ``r`` parameter."""
        return self._typed(name, "real", ("r",))

    def string(self, name: str) -> str:
        """The value of an ``s`` parameter."""
        return self._typed(name, "string", ("s",))

    def filename(self, name: str) -> str:
        """The value of a filename parameter, environment references expanded."""
        return self._typed(name, "filename", ("f", "fr", "fw", "fe", "fn"))

    def time(self, name: str) -> str:
        """The value of a ``t`` parameter, as text."""
        return self._typed(name, "time", ("t",))

    def _typed(self, name: str, what: str, codes: tuple[str, ...]) -> Any:
        par = self[name]
        if par.type not in codes:
            raise ParameterError(
                f'parameter "{name}" is of type {par.ptype.name}, it cannot be read as '
                f"type {what}")
        self._query(par)
        status = par.status
        if status is Status.UNDEFINED:
            raise ParameterError(f'parameter "{name}" is undefined ({par.text!r}); '
                                 f"please give it a value")
        if status is Status.NAN:
            raise ParameterError(f'parameter "{name}" is not a number ({par.text!r}); '
                                 f"please give it a value")
        return par.ptype.to_python(par.text, name)

    # -- writing ----------------------------------------------------------
    def set(self, name: str, value: Any, source: ValueSource = ValueSource.PYTHON) -> None:
        """Set *name* from text or a Python value, validated before it is stored.

        Raises
        ------
        ParameterError
            For an unknown name or a value the parameter does not allow; the
            parameter keeps its old value then.
        """
        self.assign(self[name], value, source)

    def assign(self, par: Parameter, value: Any, source: ValueSource) -> None:
        """Validate *value* for *par* and store it, with its source."""
        text = par.ptype.convert(value, par.name)
        par.ptype.check_limits(text, par.minimum, par.maximum, par.name)
        if par.name == "mode" and text.strip() not in MODE_VALUES:
            raise ParameterError(f'parameter "mode": {text!r} is not a mode '
                                 f"(allowed: {' '.join(sorted(MODE_VALUES))})")
        par.text = text
        par.source = source
        if source in _SETTLING:
            par.queried = True

    # -- prompting --------------------------------------------------------
    def _query(self, par: Parameter) -> None:
        if self.is_settled(par):
            return
        if self.prompter is None:
            par.queried = True
            return
        question = prompt_text(par)
        while True:
            answer = self.prompter.ask(question, complete_paths=isinstance(par.ptype, FilenameType))
            if answer is None:
                par.queried = True
                self.warn(f'no answer for "{par.name}", using "{par.text}"')
                return
            answer = _unquote(answer.strip())
            if not answer:
                par.queried = True
                return
            try:
                self.assign(par, answer, ValueSource.PROMPT)
                return
            except ParameterError as err:
                if not self.prompter.interactive:
                    raise
                self.prompter.show_error(str(err))

    # -- learning ---------------------------------------------------------
    def learned_values(self) -> dict[str, str]:
        """The values to write into the user's parameter file after a good run.

        Those of learn-mode parameters whose value changed in this run.
        """
        return {par.name: par.text for par in self if self.is_learn(par) and par.changed}

    def mark_loaded(self) -> None:
        """Take the current values as the loaded ones (what ``changed`` compares with)."""
        for par in self:
            par.initial = par.text


def prompt_text(par: Parameter) -> str:
    """The prompt for *par*: ``<prompt> (<min>-<max>) [<value>]``, a blank (docs/parameters.rst)."""
    if par.minimum and par.maximum:
        limits = f" ({par.minimum}-{par.maximum})"
    elif par.minimum or par.maximum:
        limits = f" ({par.minimum or par.maximum})"
    else:
        limits = ""
    return f"{par.prompt}{limits} [{par.text}] "


def _unquote(answer: str) -> str:
    # A user who types "my file.fits" at a prompt means the name, not the
    # quotes (docs/differences.rst, "Prompting").
    if len(answer) >= 2 and answer[0] == answer[-1] == '"':
        return answer[1:-1]
    return answer
