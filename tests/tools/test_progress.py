"""The progress of a copy: Status lines in the log always, a bar only at a terminal."""

from __future__ import annotations

import io
import re

from iactcopy.app.logger import Logger
from iactcopy.tools import progress
from iactcopy.tools.progress import ProgressBar, StatusLines, progress_for


class _Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def _log(chatter: int) -> tuple[Logger, io.StringIO]:
    echo = io.StringIO()
    return Logger(chatter=chatter, echo=echo), echo


def test_bar_only_when_stderr_is_a_terminal(monkeypatch):
    log, _ = _log(2)
    for tty, with_bar in ((False, False), (True, True)):
        monkeypatch.setattr(progress.sys, "stderr", _Stream(tty))
        callbacks = progress_for(log, "csiactcopy").callbacks
        assert any(isinstance(c, ProgressBar) for c in callbacks) is with_bar
        assert any(isinstance(c, StatusLines) for c in callbacks)
        progress_for(log, "x").finish()


def test_status_lines_are_byte_weighted_and_end_with_100_percent():
    log, echo = _log(2)
    lines = StatusLines(log)
    lines.set_size(1000)
    lines.relative_update(250)
    lines.relative_update(750)
    lines.finish()
    shown = re.findall(r"Status \.+: (.*)", echo.getvalue())
    assert shown == [f"{p} %" for p in range(0, 101, 10)] + ["Finished"]


def test_nothing_to_copy_gives_one_100_percent_line():
    log, echo = _log(3)
    lines = StatusLines(log)
    lines.set_size(0)
    lines.finish()
    assert re.findall(r"Status \.+: (.*)", echo.getvalue()) == ["100 %", "Finished"]


def test_no_status_lines_below_chatter_2():
    log, echo = _log(1)
    lines = StatusLines(log)
    lines.set_size(10)
    lines.relative_update(10)
    lines.finish()
    assert "Status" not in echo.getvalue()
