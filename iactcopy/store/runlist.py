"""Run lists: plain text files of observation IDs, one a line.

csfindobs writes them, csiactcopy and csiactobs read them.  The reader
follows docs/differences.rst, "Run-list parsing": a line is blank,
a ``#`` comment after optional blanks, or an ID as its first token (a blank,
tab or comma ends the token) with anything after it ignored.  Every other
line is reported, all of them in one error, with file and line number.
:func:`id_list` shows a list of IDs in a message.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence

from iactcopy.atomicfile import write_atomically
from iactcopy.errors import RunListError

__all__ = ["id_list", "read_runlist", "write_runlist"]

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"[^\s,]+")
_INTEGER = re.compile(r"[+-]?[0-9]+")
# OBS_ID is a 64-bit integer in the index tables (and in every array the IDs
# go into): a number outside that range can name no observation.
_ID_BITS = 64
# Enough to fix a file; the full list would not fit on one error line.
_MAX_REPORTED = 5


def read_runlist(path: str | os.PathLike) -> list[int]:
    """Read the observation IDs of a run list file.

    Parameters
    ----------
    path : str or path-like
        The run list file (UTF-8 text; a byte-order mark is allowed).

    Returns
    -------
    list of int
        The IDs in file order, each once (a repeated ID keeps its first place).

    Raises
    ------
    RunListError
        When the file cannot be read, or when lines are neither blank, nor
        comments, nor start with an integer; the message reads
        ``<file>:<line>: <what is wrong>: '<line>'``. The exception's
        ``problems`` attribute lists every bad line as (number, line, reason).

    Examples
    --------
    A file holding ``# Crab``, ``23523 first``, an indented ``23526,23559`` and
    ``23523`` gives ``[23523, 23526]``.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError as err:
        reason = "is a folder, not a file" if os.path.isdir(path) else \
            f"cannot be read ({err.strerror or err})"
        raise RunListError(f'Run list file "{path}" {reason}.') from err
    # Decoded in one piece: the "utf-8-sig" stream decoder drops a last byte or
    # two that could start a byte-order mark, so a file of b"\xef" read as empty.
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    ids: list[int] = []
    problems: list[tuple[int, str, str]] = []
    # Line ends as open() reads them (\r\n, \r, \n); splitlines() would also split
    # on form feeds and the like and shift the line numbers editors show.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for number, line in enumerate(text.split("\n"), start=1):
        content = line.strip()
        if not content or content.startswith("#"):
            continue
        match = _TOKEN.match(content)
        token = match.group() if match else ""  # a line that starts with a comma
        if not _INTEGER.fullmatch(token):
            what = repr(token) if token else "nothing before the comma"
            problems.append((number, line, f"{what} is not an observation ID (an integer "
                                            "as first token, or a # comment)"))
        elif (obs_id := _observation_id(token)) is None:
            problems.append((number, line, f"{_shorten(token)!r} is outside the range of "
                                            f"observation IDs ({_ID_BITS}-bit integers)"))
        else:
            ids.append(obs_id)
    if problems:
        error = RunListError(_describe_problems(path, problems))
        error.source, error.problems = path, problems
        raise error
    unique = list(dict.fromkeys(ids))
    if len(unique) < len(ids):
        log.info('Run list "%s": %d repeated ID(s) ignored.', path, len(ids) - len(unique))
    return unique


def _observation_id(token: str) -> int | None:
    """The ID an integer *token* stands for, or None when it does not fit in 64 bits."""
    # Counting digits first also keeps int() clear of Python's limit on the
    # length of numbers it converts (4300 digits), which raises ValueError.
    if len(token.lstrip("+-").lstrip("0")) > len(str(1 << _ID_BITS)):
        return None
    value = int(token)
    return value if -(1 << (_ID_BITS - 1)) <= value < (1 << (_ID_BITS - 1)) else None


def _shorten(text: str, most: int = 40) -> str:
    return text if len(text) <= most else f"{text[:most]}..."


def _describe_problems(path: str, problems: list[tuple[int, str, str]]) -> str:
    # A binary file read by mistake has lines of any length: show their start.
    parts = [f"{path}:{number}: {why}: {_shorten(line, 80)!r}" for number, line, why in
             problems[:_MAX_REPORTED]]
    if len(problems) > _MAX_REPORTED:
        more = ", ".join(str(number) for number, _, _ in problems[_MAX_REPORTED:])
        parts.append(f"and bad lines {more}")
    return "; ".join(parts)


def write_runlist(path: str | os.PathLike, ids: Iterable[int], header: str | None = None) -> None:
    """Write a run list atomically: a ``#`` header, then one ID a line, ascending.

    Parameters
    ----------
    path : str or path-like
        The file to write; an existing file is replaced as a whole.
    ids : iterable of int
        The observation IDs; a repeated ID is written once.
    header : str, optional
        Text for the comment lines at the top; each of its lines gets a
        ``#`` and a blank in front. Default: no header.

    Raises
    ------
    TypeError
        When an ID is not an integer.
    OSError
        When the file cannot be written; an existing file is then unchanged.
    """
    values = []
    for value in ids:
        if isinstance(value, bool) or not hasattr(value, "__index__"):
            raise TypeError(f"observation IDs must be integers, not {value!r}")
        values.append(int(value))
    lines = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    lines.extend(str(value) for value in sorted(set(values)))
    write_atomically(path, "".join(line + "\n" for line in lines))


def id_list(ids: Sequence[int], most: int = 10) -> str:
    """Observation IDs for a message: the first *most*, then how many more."""
    shown = ", ".join(str(int(i)) for i in ids[:most])
    return shown + (f" and {len(ids) - most} more" if len(ids) > most else "")
