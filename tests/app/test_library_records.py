"""The library's log records: all of them in the tool's log, only what it asked for to the host."""

from __future__ import annotations

import logging
import re

import pytest

_PREFIX = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d: ")


def texts(path) -> list[str]:
    """The lines of a log file without their time prefix."""
    return [_PREFIX.sub("", line, count=1) for line in path.read_text().splitlines()]


class Kept(logging.Handler):
    """A host's handler that keeps the messages it receives."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.levelname} {record.getMessage()}")


def chatty(app) -> None:
    below = logging.getLogger("iactcopy.store.somewhere")
    below.debug("a debug record")
    below.info("an info record")


@pytest.fixture
def host_root():
    """A host that configured ``basicConfig(level=INFO)``: a handler on the root logger."""
    root = logging.getLogger()
    kept, level = Kept(), root.level
    root.addHandler(kept)
    root.setLevel(logging.INFO)
    yield kept
    root.removeHandler(kept)
    root.setLevel(level)


def library_state() -> tuple:
    library = logging.getLogger("iactcopy")
    return list(library.handlers), library.level, library.propagate


def test_a_host_at_info_gets_no_debug_record(toy, isolated, host_root):
    toy.during = staticmethod(chatty)
    before = library_state()
    app = toy(["toytool", "infile=a", "count=1", "chatter=4"])
    app.run()
    app.logFileClose()

    body = texts(isolated.work / "toytool.log")
    assert "a debug record" in body and "an info record" in body
    assert host_root.messages == ["WARNING a warning from below", "INFO an info record"]
    assert library_state() == before


def test_a_host_handler_on_the_library_logger_keeps_its_level(toy, isolated):
    library = logging.getLogger("iactcopy")
    kept = Kept()
    library.addHandler(kept)
    library.setLevel(logging.WARNING)
    try:
        toy.during = staticmethod(chatty)
        app = toy(infile="a", count=1)
        app.run()
        assert library_state() == ([kept], logging.WARNING, True)
    finally:
        library.removeHandler(kept)
        library.setLevel(logging.NOTSET)
    assert kept.messages == ["WARNING a warning from below"]


def test_a_host_handler_with_its_own_level(toy, isolated):
    root = logging.getLogger()
    kept = Kept(logging.WARNING)
    root.addHandler(kept)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        toy.during = staticmethod(chatty)
        toy(infile="a", count=1).run()
    finally:
        root.removeHandler(kept)
        root.setLevel(level)
    assert kept.messages == ["WARNING a warning from below"]


def test_overlapping_runs_each_get_the_records_and_the_logger_is_given_back(toy, isolated):
    before = library_state()
    inner_tool = type("toytool", (toy,), {"during": None})

    def nested(outer) -> None:
        inner = inner_tool(["toytool", "infile=b", "count=2", "logfile=inner.log"])
        inner.run()
        inner.logFileClose()
        logging.getLogger("iactcopy.store").warning("after the inner run")

    toy.during = staticmethod(nested)
    outer = toy(["toytool", "infile=a", "count=1", "logfile=outer.log"])
    outer.run()
    outer.logFileClose()

    outer_log = texts(isolated.work / "outer.log")
    inner_log = texts(isolated.work / "inner.log")
    assert "WARNING: after the inner run" in outer_log
    assert "WARNING: after the inner run" not in inner_log
    assert "WARNING: a warning from below" in inner_log
    assert library_state() == before
