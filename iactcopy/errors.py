"""The error hierarchy of iactcopy.

Every problem a user can fix is an :class:`IactcopyError`; its class attribute
``exit_status`` is the status the command line exits with.  Any other
exception is a bug.  Where ctools raised a built-in exception, the matching
class here also inherits it, so that embedding code which catches
``ValueError`` or ``OSError`` keeps working.  No message contains
``*** ERROR``: the command-line entry point adds that prefix, once.
"""

from __future__ import annotations

__all__ = [
    "IactcopyError",
    "ParameterError",
    "ParFileError",
    "ParFileNotFound",
    "UsageError",
    "InstallationError",
    "DataStoreError",
    "RunListError",
    "IndexTableError",
    "LogFileError",
    "LocalDiskError",
]


class IactcopyError(Exception):
    """A problem the user can fix; any other exception is a bug."""

    exit_status = 1


class ParameterError(IactcopyError, ValueError):
    """A parameter value, name or prompt answer that is not allowed."""

    exit_status = 2


class ParFileError(IactcopyError, ValueError):
    """A ``.par`` file that cannot be read.

    Parameters
    ----------
    source : str
        The file name (or ``<string>``) the text came from.
    problems : list of (int, str, str)
        For each bad line: its number (from 1), the line itself and what is
        wrong with it.
    """

    exit_status = 2

    def __init__(self, source: str, problems: list[tuple[int, str, str]]):
        self.source = source
        self.problems = list(problems)
        lines = [f"[line {n}] {why}: {excerpt(line)}" for n, line, why in self.problems]
        super().__init__(f"While reading {source!r}: " + "; ".join(lines))


def excerpt(line: str, width: int = 60) -> str:
    """The start of a bad *line* as a quoted, escaped excerpt for a message.

    A line may come from any file (a user ``.par`` linked to another file,
    100 MB without a line feed): a message quotes at most *width* characters.

    >>> excerpt("x" * 100, width=5)
    "'xxxxx'... (100 characters)"
    """
    if len(line) <= width:
        return repr(line)
    return f"{line[:width]!r}... ({len(line)} characters)"


class ParFileNotFound(ParameterError):
    """No ``<tool>.par`` in any folder searched.

    Typed as a tool name (``iactpar list nosuch``), it is the user's mistake
    (status 2); a tool that cannot find its own file turns it into an
    :class:`InstallationError`.

    Parameters
    ----------
    tool : str
        The tool name.
    folders : list of str
        The folders searched, in order.
    """

    def __init__(self, tool: str, folders: list[str]):
        self.tool = tool
        self.folders = list(folders)
        super().__init__(f'parameter file "{tool}.par" not found '
                         f"(searched: {', '.join(self.folders) or 'no folder'})")


class UsageError(IactcopyError, ValueError):
    """An invalid command line."""

    exit_status = 2


class InstallationError(IactcopyError):
    """A tool whose own files (its defining ``.par`` file, its code) are missing or broken.

    Not the user's typing but the tool's installation: exit status 1, and a
    message that says which file was looked for where.
    """

    exit_status = 1


class DataStoreError(IactcopyError, OSError):
    """A data store, master file or index that cannot be used."""

    exit_status = 1


class IndexTableError(DataStoreError):
    """An index table that is missing, unreadable or cannot be merged."""


class RunListError(IactcopyError, ValueError):
    """A run list file that cannot be read, with its file and line."""

    exit_status = 1


class LogFileError(IactcopyError, OSError):
    """A log file that cannot be written any more (a full disk): the run stops."""

    exit_status = 1


class LocalDiskError(DataStoreError):
    """The local disk takes no more files (full, over quota, read-only): the copy stops."""
