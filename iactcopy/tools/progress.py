"""Progress of a copy: ctools' ``Status`` log lines and a progress bar at a terminal.

Both are :class:`~iactcopy.store.transfer.copyfiles.Callback` objects that the copy
engine feeds with byte counts; :class:`FanOut` hands each call to several.
"""

from __future__ import annotations

import sys
import threading

from iactcopy.app.logger import EXPLICIT, NORMAL, Logger
from iactcopy.store.transfer.copyfiles import Callback

__all__ = ["FanOut", "ProgressBar", "StatusLines", "progress_for"]


class StatusLines(Callback):
    """``Status ....: N %`` lines in the log, weighted by bytes.

    ctools meant steps of 10 % at chatter 2 and 2 % above, but wrote 5 %
    at chatter 2 and never ``100 %`` (docs/differences.rst, "Progress"); here the steps are as
    meant, and the last line is ``100 %``.  Nothing is written below chatter 2.
    """

    def __init__(self, log: Logger):
        self.log = log
        self.step = 2 if log.chatter >= EXPLICIT else 10
        self._lock = threading.Lock()
        self._total = 0
        self._done = 0
        self._next = 0

    def set_size(self, total_bytes: int) -> None:
        with self._lock:
            self._total = total_bytes
            if total_bytes <= 0:
                # Nothing to copy (a no-op rerun): one "100 %" at the end says it.
                self._next = 100
            self._emit()

    def relative_update(self, nbytes: int) -> None:
        with self._lock:
            self._done += nbytes
            self._emit()

    def finish(self) -> None:
        """Write ``100 %`` (if not yet written), then ``Finished``."""
        with self._lock:
            self._done = self._total
            self._emit()
            self.log.value(NORMAL, "Status", "Finished")

    def _emit(self) -> None:
        percent = 100.0 if self._total <= 0 else 100.0 * self._done / self._total
        percent = min(percent, 100.0) if self._done >= self._total else min(percent, 99.999)
        while self._next <= 100 and self._next <= percent:
            self.log.value(NORMAL, "Status", f"{self._next} %")
            self._next += self.step


class ProgressBar(Callback):
    """A byte-weighted tqdm bar on standard error, left on screen at 100 % when done."""

    def __init__(self, description: str):
        from tqdm import tqdm

        self._bar = tqdm(total=0, unit="B", unit_scale=True, unit_divisor=1024,
                         desc=description, file=sys.stderr, leave=True)

    def set_size(self, total_bytes: int) -> None:
        self._bar.reset(total=total_bytes)

    def relative_update(self, nbytes: int) -> None:
        self._bar.update(nbytes)

    def finish(self) -> None:
        """Show the bar full (files that failed count as done), then close it."""
        self._bar.n = self._bar.total
        self._bar.refresh()
        self._bar.close()


class FanOut(Callback):
    """Hands every call to each of several callbacks."""

    def __init__(self, *callbacks: Callback):
        self.callbacks = callbacks

    def set_size(self, total_bytes: int) -> None:
        for callback in self.callbacks:
            callback.set_size(total_bytes)

    def relative_update(self, nbytes: int) -> None:
        for callback in self.callbacks:
            callback.relative_update(nbytes)

    def file_done(self, entry, outcome: str) -> None:
        for callback in self.callbacks:
            callback.file_done(entry, outcome)

    def finish(self) -> None:
        """Finish each callback that can."""
        for callback in self.callbacks:
            finish = getattr(callback, "finish", None)
            if finish is not None:
                finish()


def progress_for(log: Logger, description: str) -> FanOut:
    """The progress of a copy: ``Status`` lines, and a bar when stderr is a terminal."""
    callbacks: list[Callback] = [StatusLines(log)]
    if sys.stderr.isatty():
        callbacks.append(ProgressBar(description))
    return FanOut(*callbacks)
