"""How signals stop a run: SIGTERM and SIGHUP as Ctrl-C, and commits they cannot cut.

A batch system ends a job with SIGTERM, a closed terminal sends SIGHUP; both
stop a tool as Ctrl-C does (docs/tools/exit_status.inc): the copies under way
remove their ``.part`` files, the log gets its error line and trailer, and
the exit status is 128 plus the signal number (143 for SIGTERM, 129 for
SIGHUP; 130 for Ctrl-C).  :func:`stopping_on_signals` installs that for the
command line; a program that embeds a tool keeps its own handlers.

Files that must agree (the two indexes of a store and its master) are renamed
one right after the other; :func:`deferred_signals` holds a stop back over
those renames, so that it takes effect once all of them are done.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["STOP_SIGNALS", "Stopped", "deferred_signals", "stopping_on_signals"]

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))
"""The signals that stop a run."""


class Stopped(KeyboardInterrupt):
    """A run stopped by SIGTERM or SIGHUP: handled everywhere as Ctrl-C is.

    Parameters
    ----------
    signum : int
        The signal received.
    """

    def __init__(self, signum: int):
        self.signum = signum
        self.signame = signal.Signals(signum).name
        super().__init__(f"stopped by {self.signame}")

    @property
    def exit_status(self) -> int:
        """128 plus the signal number, the shell's convention."""
        return 128 + self.signum


def _in_main_thread() -> bool:
    # Python handlers can be installed, and run, only in the main thread.
    return threading.current_thread() is threading.main_thread()


def _raise_stopped(signum: int, frame: object) -> None:
    raise Stopped(signum)


@contextlib.contextmanager
def stopping_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Stopped` in the main thread.

    Outside the main thread the block changes nothing.
    """
    if not _in_main_thread():
        yield
        return
    saved = {signum: signal.signal(signum, _raise_stopped)
             for signum in STOP_SIGNALS if signum != signal.SIGINT}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold back the signals of :data:`STOP_SIGNALS` until the block ends, then act on the first.

    Whatever thread the system hands a signal to, its Python handler runs
    in the main thread; outside the main thread nothing can interrupt the
    block, and it changes nothing.  A signal whose handler was not set from
    Python is left alone.
    """
    if not _in_main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, frame: object) -> None:
        caught.append(signum)

    saved = {}
    for signum in STOP_SIGNALS:
        handler = signal.getsignal(signum)
        if handler is not None:
            saved[signum] = handler
            signal.signal(signum, hold)
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        if caught:
            handler = saved[caught[0]]
            if callable(handler):
                handler(caught[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(caught[0])
