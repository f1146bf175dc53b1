"""The command-line entry point of every tool: the one place that sets exit statuses.

Exit status (docs/differences.rst, "Errors and exit status"): 0 success; 2 an invalid command
line, prompt answer, ``@file.yaml`` or parameter value; 3 finished, but some
files were missing or refused; 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (each stops
a run as Ctrl-C does: :mod:`iactcopy.interrupts`); 1 anything else.  An error is one
line ``*** ERROR: <message>`` on stderr, and the same line in the log when it
is open.  A traceback is shown only for an internal error (a bug), and only
with ``debug=yes``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence

from iactcopy.app.escaping import printable
from iactcopy.errors import IactcopyError
from iactcopy.interrupts import Stopped, stopping_on_signals

__all__ = ["run_application", "main_for", "guarded", "wants_debug"]

_TRUE_WORDS = ("y", "yes", "t", "true")


def wants_debug(argv: Sequence[str]) -> bool:
    """Whether the arguments ask for ``debug=yes`` (read before any parameter is loaded)."""
    for item in argv:
        name, _, value = item.strip().partition("=")
        if (name == "debug" and value.strip().lower() in _TRUE_WORDS) or item.strip() == "debug+":
            return True
    return False


def report_error(message: str) -> None:
    """Write ``*** ERROR: <message>`` on stderr, on one line."""
    # After SIGHUP the terminal may be gone: the log still gets the line.
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"*** ERROR: {printable(' '.join(str(message).splitlines()))}\n")
        sys.stderr.flush()


def guarded(work: Callable[[], int], *, debug: bool | Callable[[], bool],
            on_error: Callable[[str], None] | None = None) -> int:
    """Run *work* and turn whatever it raises into an exit status.

    Parameters
    ----------
    work : callable
        Returns the exit status of a run that finished.
    debug : bool or callable
        Show a traceback for internal errors; a callable is asked when one
        happens (the tool's own ``debug`` value, from a prefix, ``@file.yaml``
        or ``iactpar``, is known only once its parameters are loaded).
    on_error : callable, optional
        Also receives each error message (to write it into the log).
    """
    def fail(message: str, status: int, *, internal: bool = False) -> int:
        # The traceback is for bugs only: a user's mistake or
        # Ctrl-C is fully described by its one line, with debug=yes too.
        if internal and show_traceback():
            traceback.print_exc()
        report_error(message)
        if on_error is not None:
            on_error(message)
        return status

    def show_traceback() -> bool:
        return debug() if callable(debug) else debug

    try:
        return work()
    except Stopped as err:
        return fail(f"stopped by {err.signame}", err.exit_status)
    except KeyboardInterrupt:
        return fail("interrupted by the user (Ctrl-C)", 130)
    except BrokenPipeError:
        # A reader that went away (`| head`) is not an error; keep Python
        # from complaining again when it flushes stdout at exit.
        _silence_stdout()
        return 0
    except IactcopyError as err:
        return fail(str(err), err.exit_status)
    except Exception as err:
        hint = "" if show_traceback() else (" (an internal error; run with debug=yes for "
                                            "the traceback)")
        return fail(f"{type(err).__name__}: {err}{hint}", 1, internal=True)


def run_application(cls: type, argv: Sequence[str] | None = None) -> int:
    """Run the tool class *cls* as a command; return its exit status.

    Parameters
    ----------
    cls : type
        An :class:`~iactcopy.app.application.Application` subclass.
    argv : list of str, optional
        The arguments without the program name. Default: ``sys.argv[1:]``.
    """
    from iactcopy.app.helptext import help_text

    args = list(sys.argv[1:] if argv is None else argv)
    stripped = [item.strip() for item in args]
    # Guarded like a run: `csiactdata --help | head -1` must not end in a
    # BrokenPipeError traceback.
    if "--help" in stripped or "-h" in stripped:
        return guarded(lambda: _print(help_text(cls)), debug=False)
    if "--version" in stripped:
        return guarded(lambda: _print(f"{cls.name} ({cls.package}) {cls.version}\n"),
                       debug=False)
    state: dict = {}

    def work() -> int:
        app = cls([cls.name, *args])
        state["app"] = app
        app.execute()
        return app.exit_status

    def log_error(message: str) -> None:
        if "app" in state:
            state["app"].log_error(message)

    def debug() -> bool:
        return state["app"].debug if "app" in state else wants_debug(args)

    with stopping_on_signals():
        status = guarded(work, debug=debug, on_error=log_error)
    if "app" in state:
        try:
            state["app"].logFileClose()
        except IactcopyError as err:  # the trailer, the first line a full log refused
            report_error(str(err))
            status = err.exit_status if status in (0, 3) else status
    return status


def main_for(cls: type) -> Callable[[], None]:
    """A console-script function for the tool class *cls*."""
    def main() -> None:
        sys.exit(run_application(cls))
    main.__doc__ = f"Run {cls.name} from the command line."
    return main


def _print(text: str) -> int:
    """Write *text* on stdout and flush it, so that a closed pipe shows here; return 0."""
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
