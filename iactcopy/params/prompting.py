"""Asking the user for parameter values, at a terminal or from a pipe.

At a terminal the answer is read with line editing and history (readline)
and file names complete with the tab key; an invalid answer is shown and
asked again.  From a pipe the prompt is written, the answer echoed after it,
and an invalid answer is an error (nobody is there to correct it).
"""

from __future__ import annotations

import glob
import os
import sys
from typing import TextIO

__all__ = ["StreamPrompter"]


class StreamPrompter:
    """A :class:`~iactcopy.params.parameters.Prompter` on standard streams.

    Parameters
    ----------
    stdin, stdout, stderr : file, optional
        Default: the ``sys`` streams at the time of each call.
    """

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None,
                 stderr: TextIO | None = None):
        self._stdin, self._stdout, self._stderr = stdin, stdout, stderr

    @property
    def stdin(self) -> TextIO:
        return self._stdin or sys.stdin

    @property
    def stdout(self) -> TextIO:
        return self._stdout or sys.stdout

    @property
    def stderr(self) -> TextIO:
        return self._stderr or sys.stderr

    @property
    def interactive(self) -> bool:
        """True when answers come from a terminal."""
        try:
            return self.stdin.isatty() and self.stdout.isatty()
        except (AttributeError, ValueError):
            return False

    def ask(self, text: str, *, complete_paths: bool = False) -> str | None:
        """Show *text* and return the answer line, or None at end of input."""
        if self.interactive:
            return self._ask_terminal(text, complete_paths)
        self.stdout.write(text)
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            self.stdout.write("\n")
            return None
        answer = line.rstrip("\r\n")
        # Echo the answer so that a transcript of a piped session reads like one
        # typed at a terminal.
        self.stdout.write(answer + "\n")
        return answer

    def show_error(self, message: str) -> None:
        """Say why an answer was refused."""
        self.stderr.write(f"{message}; please try again\n")
        self.stderr.flush()

    def _ask_terminal(self, text: str, complete_paths: bool) -> str | None:
        readline = _readline()
        if readline is not None:
            readline.set_completer(_complete_path if complete_paths else None)
        try:
            return input(text)
        except EOFError:
            self.stdout.write("\n")
            return None


def _readline():
    """The readline module, set up once for tab completion; None where it is missing."""
    try:
        import readline
    except ImportError:
        return None
    if not getattr(_readline, "configured", False):
        readline.set_completer_delims(" \t\n")
        readline.parse_and_bind("tab: complete")
        _readline.configured = True
    return readline


def _complete_path(text: str, state: int) -> str | None:
    matches = sorted(glob.glob(os.path.expanduser(text) + "*"))
    matches = [m + os.sep if os.path.isdir(m) else m for m in matches]
    return matches[state] if state < len(matches) else None
