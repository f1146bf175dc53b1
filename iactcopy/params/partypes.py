"""The parameter types of ``.par`` files, one converter each.

A converter turns what a user gives (text from a file, the command line, a
prompt or YAML, or a Python value) into the text that is stored and saved,
and that text back into a Python value.  Every refusal goes through
:meth:`ParType.fail`, which raises :class:`~iactcopy.errors.ParameterError`
naming the parameter, the value and what is allowed.  Range and option
checks are a separate step, :meth:`ParType.check_limits`.

Deliberate differences from GammaLib (docs/differences.rst, "Number
validation" and "Other parameter details"): numbers are validated (``abc``
is not an integer), numeric options are compared as numbers, every filename
type knows undefined values and checks what its letter promises when it is
read, times are validated when set, and text is accepted for every type
from Python as on the command line.
"""

from __future__ import annotations

import datetime
import enum
import math
import os
import re
from types import MappingProxyType
from typing import Any, NoReturn

from iactcopy.errors import ParameterError
from iactcopy.params.envexpand import expand
from iactcopy.params.parfile import unsafe_value_reason

__all__ = [
    "Status",
    "ParType",
    "BooleanType",
    "IntegerType",
    "RealType",
    "StringType",
    "FilenameType",
    "TimeType",
    "TYPES",
    "UNDEFINED_WORDS",
    "NAN_WORDS",
    "get_type",
]

#: Values that mark a number, a file name or a time as undefined (any case).
UNDEFINED_WORDS = frozenset({"indef", "none", "undef", "undefined"})
#: Values that mark a number as not-a-number (any case).
NAN_WORDS = frozenset({"inf", "infinity", "nan"})


class Status(enum.Enum):
    """What a stored value amounts to."""

    VALID = "valid"
    UNDEFINED = "undefined"
    NAN = "nan"


class ParType:
    """Base class of the converters: a ``code`` (the ``.par`` letter) and a ``name``."""

    code = ""
    name = ""

    def fail(self, message: str, param: str | None = None) -> NoReturn:
        """Raise the one error of every converter."""
        where = f'parameter "{param}"' if param else f"{self.name} value"
        raise ParameterError(f"{where}: {message}")

    def convert(self, value: Any, param: str | None = None) -> str:
        """Return the text to store for *value* (text or a Python value).

        Raises
        ------
        ParameterError
            When *value* is not of this type.
        """
        if isinstance(value, str):
            reason = unsafe_value_reason(value)
            if reason:
                self.fail(f"{value!r}: {reason}", param)
            return self.convert_text(value, param)
        return self.convert_object(value, param)

    def convert_text(self, text: str, param: str | None) -> str:
        """Validate text; the default keeps it as it is."""
        return text

    def convert_object(self, value: Any, param: str | None) -> str:
        """Convert a Python value that is not text; the default refuses it."""
        self.fail(f"{value!r} is a {type(value).__name__}, not a {self.name}", param)

    def status(self, text: str) -> Status:
        """The status of stored text; the default: always valid."""
        return Status.VALID

    def to_python(self, text: str, param: str | None = None) -> Any:
        """The Python value of stored text whose status is valid."""
        return text

    def check_limits(self, text: str, minimum: str, maximum: str,
                     param: str | None = None) -> None:
        """Check stored text against the ``min`` and ``max`` fields.

        A ``min`` without ``max`` lists the allowed values, separated by
        ``|``; both together are a range (numbers only).
        """
        if minimum and not maximum:
            options = [option.strip() for option in minimum.split("|")]
            if not self.matches_option(text, options):
                self.fail(f"{text!r} is not one of {minimum}", param)

    def matches_option(self, text: str, options: list[str]) -> bool:
        """Whether *text* is one of *options*; the default compares exactly."""
        return text in options


def _word(text: str) -> str:
    return text.strip().lower()


class BooleanType(ParType):
    """``b``: yes or no.  Options and ranges do not apply."""

    code, name = "b", "boolean"
    #: The accepted words (any case) and what they mean.
    WORDS = MappingProxyType({"y": True, "yes": True, "t": True, "true": True,
                              "n": False, "no": False, "f": False, "false": False})

    def convert_text(self, text: str, param: str | None) -> str:
        if _word(text) not in self.WORDS:
            self.fail(f"{text!r} is not a boolean (use {'/'.join(self.WORDS)})", param)
        return text.strip()

    def convert_object(self, value: Any, param: str | None) -> str:
        # ctools accepts an int for a boolean (non-zero is yes); kept so that
        # scripts written for ctools run unchanged.
        if isinstance(value, (bool, int)):
            return "yes" if value else "no"
        return super().convert_object(value, param)

    def to_python(self, text: str, param: str | None = None) -> bool:
        return self.WORDS[_word(text)]

    def check_limits(self, text: str, minimum: str, maximum: str,
                     param: str | None = None) -> None:
        return None


class _NumberType(ParType):
    """Shared by ``i`` and ``r``: special words, options compared as numbers, ranges."""

    def status(self, text: str) -> Status:
        word = _word(text)
        if word in UNDEFINED_WORDS:
            return Status.UNDEFINED
        if word in NAN_WORDS:
            return Status.NAN
        return Status.VALID

    def convert_text(self, text: str, param: str | None) -> str:
        if self.status(text) is Status.VALID:
            self.parse(text.strip(), param)
        return text.strip()

    def parse(self, text: str, param: str | None) -> int | float:
        raise NotImplementedError

    def to_python(self, text: str, param: str | None = None) -> int | float:
        return self.parse(text.strip(), param)

    def matches_option(self, text: str, options: list[str]) -> bool:
        if text in options:
            return True
        if self.status(text) is not Status.VALID:
            return False
        value = self.to_python(text)
        return any(_as_number(option) == value for option in options)

    def check_limits(self, text: str, minimum: str, maximum: str,
                     param: str | None = None) -> None:
        status = self.status(text)
        if status is Status.UNDEFINED:
            return
        if minimum and not maximum:
            super().check_limits(text, minimum, maximum, param)
            return
        low, high = _as_number(minimum), _as_number(maximum)
        if low is None and high is None:
            return
        if status is Status.NAN:
            self.fail(f"{text!r} is not a number; allowed: {_describe(minimum, maximum)}", param)
        value = self.to_python(text)
        if (low is not None and value < low) or (high is not None and value > high):
            self.fail(f"{text} is outside the range {_describe(minimum, maximum)}", param)


def _as_number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return None if math.isnan(number) else number


def _describe(minimum: str, maximum: str) -> str:
    if minimum and maximum:
        return f"{minimum} to {maximum}"
    return f"at least {minimum}" if minimum else f"at most {maximum}"


_INTEGER = re.compile(r"[+-]?[0-9]+")


class IntegerType(_NumberType):
    """``i``: an optional sign and decimal digits, or a special word."""

    code, name = "i", "integer"

    def parse(self, text: str, param: str | None) -> int:
        if not _INTEGER.fullmatch(text):
            self.fail(f"{text!r} is not an integer (optional sign, then digits)", param)
        try:
            return int(text)
        except ValueError:
            # Python converts at most sys.get_int_max_str_digits() digits.
            self.fail(f"{text[:20]!r}... has {len(text)} digits, too many for an integer", param)

    def convert_object(self, value: Any, param: str | None) -> str:
        if isinstance(value, bool):
            return super().convert_object(value, param)
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return super().convert_object(value, param)


class RealType(_NumberType):
    """``r``: anything Python's ``float()`` reads, or a special word."""

    code, name = "r", "real"

    def parse(self, text: str, param: str | None) -> float:
        try:
            return float(text)
        except ValueError:
            self.fail(f"{text!r} is not a real number", param)

    def convert_object(self, value: Any, param: str | None) -> str:
        if isinstance(value, bool):
            return super().convert_object(value, param)
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            return repr(value)
        return super().convert_object(value, param)


class StringType(ParType):
    """``s``: any text; options are compared without regard to case."""

    code, name = "s", "string"

    def matches_option(self, text: str, options: list[str]) -> bool:
        return text.upper() in (option.upper() for option in options)


class FilenameType(ParType):
    """``f``, ``fr``, ``fw``, ``fe``, ``fn``: a file name.

    The stored text is kept as written (``$CALDB/x.fits`` is saved as such);
    environment references are expanded when the name is read.  Empty text
    and the undefined words mean no file.  When read, ``fr`` must be
    readable, ``fe`` must exist, ``fn`` must not exist and ``fw`` must be
    writable or creatable.
    """

    name = "filename"

    def __init__(self, code: str):
        self.code = code

    def status(self, text: str) -> Status:
        word = _word(text)
        return Status.UNDEFINED if not word or word in UNDEFINED_WORDS else Status.VALID

    def convert_object(self, value: Any, param: str | None) -> str:
        if isinstance(value, os.PathLike):
            return self.convert(os.fspath(value), param)
        return super().convert_object(value, param)

    def to_python(self, text: str, param: str | None = None) -> str:
        path = expand(text.strip())
        problem = self._access_problem(path)
        if problem:
            self.fail(f"{path!r} {problem}", param)
        return path

    def _access_problem(self, path: str) -> str | None:
        if self.code == "fe" and not os.path.exists(path):
            return "does not exist"
        if self.code == "fr" and not os.access(path, os.R_OK):
            return "is not a readable file"
        if self.code == "fn" and os.path.exists(path):
            return "exists already"
        if self.code == "fw":
            target = path if os.path.exists(path) else (os.path.dirname(path) or ".")
            if not os.access(target, os.W_OK):
                return "cannot be written"
        return None


_TIME = re.compile(
    r"""\s*(?:
        (?P<iso>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d*)?)?)  # ISO date[-time] (UTC)
      | (?:MJD|JD)\s+[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?  # MJD 51544.5, JD 2451943.09
      | [+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?              # seconds in the reference
    )\s*(?:\((?:UTC|TAI|TT)\))?\s*""",
    re.VERBOSE | re.IGNORECASE,
)


def _is_calendar_time(iso: str) -> bool:
    """Whether ``YYYY-MM-DD[Thh:mm:ss[.s]]`` names a real day and time of day."""
    date, _, clock = iso.partition("T")
    try:
        datetime.date.fromisoformat(date)
    except ValueError:
        return False
    if not clock:
        return True
    hours, minutes, seconds = clock.split(":")
    # Second 60 exists in UTC: the leap seconds.
    return int(hours) < 24 and int(minutes) < 60 and float(seconds) < 61


class TimeType(ParType):
    """``t``: an ISO date, ``MJD x``, ``JD x`` or seconds, optionally ``(UTC|TAI|TT)``."""

    code, name = "t", "time"

    def status(self, text: str) -> Status:
        return Status.UNDEFINED if _word(text) in UNDEFINED_WORDS else Status.VALID

    def convert_text(self, text: str, param: str | None) -> str:
        if self.status(text) is not Status.VALID:
            return text
        match = _TIME.fullmatch(text)
        if not match:
            self.fail(f"{text!r} is not a time (YYYY-MM-DD[Thh:mm:ss], MJD x, JD x or "
                      "seconds, optionally followed by (UTC), (TAI) or (TT))", param)
        if match.group("iso") and not _is_calendar_time(match.group("iso")):
            self.fail(f"{text!r} is not a date and time of the calendar (month 01-12, a day "
                      "the month has, hours 00-23, minutes 00-59, seconds 00-60)", param)
        return text

    def convert_object(self, value: Any, param: str | None) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return repr(value)
        return super().convert_object(value, param)


#: Every type of a ``.par`` file by its letter code.
TYPES: dict[str, ParType] = {
    t.code: t
    for t in (BooleanType(), IntegerType(), RealType(), StringType(), TimeType(),
              *(FilenameType(code) for code in ("f", "fr", "fw", "fe", "fn")))
}


def get_type(code: str) -> ParType:
    """The converter for a type letter; ValueError names the allowed codes."""
    try:
        return TYPES[code]
    except KeyError:
        raise ValueError(f"unknown parameter type {code!r} "
                         f"(allowed: {' '.join(TYPES)})") from None
