"""The ctools-style logger (docs/log.rst; docs/differences.rst, "Log lines written whole")."""

from __future__ import annotations

import calendar
import io
import logging
import re
import threading

import pytest

from iactcopy.app.logger import (
    EXPLICIT,
    NORMAL,
    SILENT,
    TERSE,
    VERBOSE,
    Logger,
    LogHandler,
)

T0 = calendar.timegm((2019, 4, 5, 13, 10, 35, 0, 0, 0))
TS = "2019-04-05T13:10:35"
P = TS + ": "


def fixed_clock():
    return T0


class TickingClock:
    """A clock that moves one second each time it is read."""

    def __init__(self):
        self.now = T0

    def __call__(self):
        self.now += 1
        return self.now


class BrokenStream(io.StringIO):
    """A console whose reader went away, as stdout piped into `head`."""

    def __init__(self, fail_on="write"):
        super().__init__()
        self.fail_on = fail_on

    def write(self, text):
        if self.fail_on == "write":
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)

    def flush(self):
        if self.fail_on == "flush":
            raise BrokenPipeError(32, "Broken pipe")


@pytest.fixture
def echo():
    return io.StringIO()


@pytest.fixture
def log(echo):
    """A logger at VERBOSE with a fixed clock that echoes into a StringIO."""
    return Logger(chatter=VERBOSE, echo=echo, clock=fixed_clock)


def lines(stream):
    return stream.getvalue().split("\n")


def test_chatter_constants():
    assert (SILENT, TERSE, NORMAL, EXPLICIT, VERBOSE) == (0, 1, 2, 3, 4)


# --- the append algorithm --------------------------------------------------


def test_line_prefix(log, echo):
    log.raw("hello\n")
    assert echo.getvalue() == "2019-04-05T13:10:35: hello\n"


def test_real_clock_prefix_format():
    stream = io.StringIO()
    Logger(echo=stream).raw("x\n")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d: x\n", stream.getvalue())


def test_blank_line_keeps_prefix_and_trailing_space(log, echo):
    log.raw("\n")
    assert echo.getvalue() == P + "\n"
    assert echo.getvalue().endswith(": \n")


def test_multi_line_string_prefixes_every_line(log, echo):
    log.raw("a\nb\n")
    assert echo.getvalue() == f"{P}a\n{P}b\n"


def test_inner_blank_lines_are_prefixed(log, echo):
    log.raw("a\n\nb\n\n")
    assert echo.getvalue() == f"{P}a\n{P}\n{P}b\n{P}\n"


def test_fragments_join_into_one_line(log, echo):
    log.raw("a")
    log.raw("b")
    log.raw("c\n")
    assert echo.getvalue() == f"{P}abc\n"


def test_newline_at_end_defers_the_next_prefix():
    clock = TickingClock()
    stream = io.StringIO()
    log = Logger(echo=stream, clock=clock)
    log.raw("first\n")  # stamped 13:10:36
    log.raw("second\n")  # stamped 13:10:37, when it arrives
    assert stream.getvalue() == ("2019-04-05T13:10:36: first\n2019-04-05T13:10:37: second\n")


def test_line_time_is_taken_at_its_first_fragment():
    clock = TickingClock()
    stream = io.StringIO()
    log = Logger(echo=stream, clock=clock)
    log.raw("")  # fixes this line's time at 13:10:36
    log.raw("late\n")
    assert stream.getvalue() == "2019-04-05T13:10:36: late\n"


def test_empty_fragment_at_line_start_writes_the_prefix(log, echo):
    log.raw("")
    assert echo.getvalue() == P
    assert not log.at_line_start


def test_empty_fragment_inside_a_line_writes_nothing(log, echo):
    log.raw("a")
    log.raw("")
    assert echo.getvalue() == P + "a"
    assert not log.at_line_start


def test_newline_ends_an_unfinished_line_without_a_blank_line(log, echo):
    log.raw("a")
    log.raw("\n")
    log.raw("b\n")
    assert echo.getvalue() == f"{P}a\n{P}b\n"


def test_carriage_return_and_escapes_are_written_escaped(log, echo):
    """A carriage return or an escape sequence would rewrite what a terminal shows."""
    log.raw("a\rb\x1b[2J\r\n")
    assert echo.getvalue() == f"{P}a\\rb\\x1b[2J\\r\n"


def test_value_lines_stay_one_line(log, echo):
    log.value(TERSE, "File", "x\n2026-01-01T00:00:00: *** ERROR: forged")
    assert echo.getvalue().count("\n") == 1


def test_line_start_state(log):
    assert log.at_line_start
    log.raw("a")
    assert not log.at_line_start
    log.raw("\n")
    assert log.at_line_start


def test_written_counts_characters_with_prefixes(log):
    assert log.written == 0
    log.raw("é\n")
    assert log.written == len(P) + 2


# --- gated calls -------------------------------------------------------------


def test_string_adds_a_linefeed(log, echo):
    log.string(NORMAL, "Copy all available data")
    assert echo.getvalue() == f"{P}Copy all available data\n"


def test_string_without_linefeed(log, echo):
    log.string(NORMAL, "Status", linefeed=False)
    log.string(NORMAL, " done")
    assert echo.getvalue() == f"{P}Status done\n"


def test_string_ending_in_newline_gives_a_blank_line(log, echo):
    log.string(VERBOSE, "unit-test\n")
    assert echo.getvalue() == f"{P}unit-test\n{P}\n"


def test_value_line(log, echo):
    log.value(TERSE, "Master index file", "/data/iactdata/master.json")
    assert echo.getvalue() == f"{P} Master index file .........: /data/iactdata/master.json\n"


def test_value_uses_python_str(log, echo):
    log.value(TERSE, "a", True)
    log.value(TERSE, "b", 1e-05)
    log.value(TERSE, "c", 100.0)
    log.value(TERSE, "d", None)
    assert [line.rsplit(": ", 1)[1] for line in lines(echo)[:-1]] == [
        "True",
        "1e-05",
        "100.0",
        "None",
    ]


def test_value_unit(log, echo):
    log.value(TERSE, "Size", 0.41, "MB")
    log.value(TERSE, "Count", 3)
    log.value(TERSE, "Empty", 3, "")
    assert lines(echo)[:-1] == [
        f"{P} Size ......................: 0.41 MB",
        f"{P} Count .....................: 3",
        f"{P} Empty .....................: 3 ",
    ]


def test_header1_after_a_finished_line_adds_a_blank_line(log, echo):
    log.value(TERSE, "datapath", "/data")
    log.header1(TERSE, "Data storage entries")
    assert lines(echo)[:-1] == [
        f"{P} datapath ..................: /data",
        P,
        f"{P}+======================+",
        f"{P}| Data storage entries |",
        f"{P}+======================+",
    ]


def test_header1_at_the_start_adds_a_blank_line(log, echo):
    log.header1(TERSE, "Set runlist")
    assert lines(echo)[:2] == [P, f"{P}+=============+"]


def test_header1_after_an_unfinished_line_only_ends_it(log, echo):
    log.string(TERSE, "Status", linefeed=False)
    log.header1(TERSE, "Summary")
    assert lines(echo)[:-1] == [
        f"{P}Status",
        f"{P}+=========+",
        f"{P}| Summary |",
        f"{P}+=========+",
    ]


def test_header2_and_header3_add_no_blank_line(log, echo):
    log.string(TERSE, "Copy all available data")
    log.header2(TERSE, "Loop over remote configs")
    log.header3(TERSE, 'Remote config "unit-test"')
    assert lines(echo)[:-1] == [
        f"{P}Copy all available data",
        f"{P}+--------------------------+",
        f"{P}| Loop over remote configs |",
        f"{P}+--------------------------+",
        f'{P}=== Remote config "unit-test" ===',
    ]


def test_header2_and_header3_start_on_a_new_line(log, echo):
    log.raw("half")
    log.header2(TERSE, "x")
    log.raw("half")
    log.header3(TERSE, "y")
    assert lines(echo)[:-1] == [
        f"{P}half",
        f"{P}+---+",
        f"{P}| x |",
        f"{P}+---+",
        f"{P}half",
        f"{P}=== y ===",
    ]


def test_header_frames_count_characters(log, echo):
    log.header2(TERSE, "Énergie")
    frame, text, _ = (line[len(P) :] for line in lines(echo)[:3])
    assert len(frame) == len(text) == 11


GATED_CALLS = {
    "string": lambda log, level: log.string(level, "text"),
    "string_no_linefeed": lambda log, level: log.string(level, "text", linefeed=False),
    "value": lambda log, level: log.value(level, "name", 1),
    "value_unit": lambda log, level: log.value(level, "name", 1, "s"),
    "header1": lambda log, level: log.header1(level, "text"),
    "header2": lambda log, level: log.header2(level, "text"),
    "header3": lambda log, level: log.header3(level, "text"),
}


@pytest.mark.parametrize("call", sorted(GATED_CALLS))
@pytest.mark.parametrize("chatter", range(5))
@pytest.mark.parametrize("level", range(5))
def test_chatter_gating(call, chatter, level):
    stream = io.StringIO()
    log = Logger(chatter=chatter, echo=stream, clock=fixed_clock)
    GATED_CALLS[call](log, level)
    assert bool(stream.getvalue()) is (chatter >= level)


UNGATED_CALLS = {
    "raw": lambda log: log.raw("text\n"),
    "banner": lambda log: log.banner("csiactdata", "0.1.0"),
    "trailer": lambda log: log.trailer("csiactdata", 0, 0.0),
}


@pytest.mark.parametrize("call", sorted(UNGATED_CALLS))
def test_ungated_calls_write_at_chatter_0(call):
    stream = io.StringIO()
    UNGATED_CALLS[call](Logger(chatter=SILENT, echo=stream, clock=fixed_clock))
    assert stream.getvalue()


@pytest.mark.parametrize(("given", "kept"), [(-3, 0), (0, 0), (2, 2), (4, 4), (9, 4), ("3", 3)])
def test_chatter_is_clamped(given, kept):
    assert Logger(chatter=given).chatter == kept
    log = Logger()
    log.chatter = given
    assert log.chatter == kept


def test_chatter_change_takes_effect_at_once(log, echo):
    log.chatter = TERSE
    log.string(NORMAL, "hidden")
    log.chatter = NORMAL
    log.string(NORMAL, "shown")
    assert echo.getvalue() == f"{P}shown\n"


def test_default_chatter_is_normal():
    assert Logger().chatter == NORMAL


# --- banner and trailer ------------------------------------------------------


def test_banner(log, echo):
    log.banner("csiactdata", "0.1.0")
    got = lines(echo)[:-1]
    assert len(got) == 6
    assert all(line.startswith(P) and len(line) == len(P) + 80 for line in got)
    assert got[1] == P + "*" + " " * 34 + "csiactdata" + " " * 34 + "*"
    assert got[3].startswith(P + "* Version: 0.1.0 ")
    assert "iactcopy" in got[4]


def test_banner_starts_on_a_new_line(log, echo):
    log.raw("half")
    log.banner("t", "1")
    assert lines(echo)[1] == P + "*" * 80


def test_trailer_after_a_finished_line(log, echo):
    log.string(TERSE, "unit-test")
    log.trailer("csiactdata", 0, 0.021)
    assert lines(echo)[:-1] == [
        f"{P}unit-test",
        P,
        P + 'Application "csiactdata" terminated after 0 wall clock seconds, consuming '
        "0.021 seconds of CPU time and generating a carbon footprint of 2.73e-05 g eCO2. "
        "This was rather quick and economic!",
    ]


def test_trailer_after_an_unfinished_line(log, echo):
    log.raw("half")
    log.trailer("t", 11, 0.5)
    got = lines(echo)[:-1]
    assert got[0] == f"{P}half"
    assert got[1].startswith(P + 'Application "t" terminated after 11 wall clock seconds')


def test_trailer_leaves_the_file_open(tmp_path):
    log = Logger(clock=fixed_clock)
    log.open(tmp_path / "t.log")
    log.trailer("t", 1, 1)
    assert log.is_open
    log.close()


def test_worked_example_csiactdata_chatter_1(tmp_path):
    """The log of ctools' csiactdata at chatter 1, with iactcopy's banner."""
    path = tmp_path / "csiactdata_cmd1.log"
    log = Logger(chatter=TERSE, clock=fixed_clock)
    log.open(path)
    log.banner("csiactdata", "2.1.0")
    log.header1(TERSE, "Parameters")
    for name, value in [("datapath", "/data/iactdata"), ("chatter", "1")]:
        log.value(TERSE, name, value)
    log.header1(TERSE, "Data storage entries")
    log.value(TERSE, "Master index file", "/data/iactdata/master.json")
    log.header1(SILENT, "Available data configs")  # the reference's SILENT frame
    log.header3(TERSE, "unit-test")
    log.value(TERSE, "Total observations", 9)
    log.value(NORMAL, "hidden at chatter 1", 0)
    log.trailer("csiactdata", 0, 0.021)
    log.close()
    text = path.read_text(encoding="utf-8")
    assert text == "".join(
        f"{TS}: {line}\n"
        for line in [
            "*" * 80,
            "*                                  csiactdata                                  *",
            "* ---------------------------------------------------------------------------- *",
            "* Version: 2.1.0                                                               *",
            "* Package: iactcopy                                                            *",
            "*" * 80,
            "",
            "+============+",
            "| Parameters |",
            "+============+",
            " datapath ..................: /data/iactdata",
            " chatter ...................: 1",
            "",
            "+======================+",
            "| Data storage entries |",
            "+======================+",
            " Master index file .........: /data/iactdata/master.json",
            "",
            "+========================+",
            "| Available data configs |",
            "+========================+",
            "=== unit-test ===",
            " Total observations ........: 9",
            "",
            'Application "csiactdata" terminated after 0 wall clock seconds, consuming 0.021 '
            "seconds of CPU time and generating a carbon footprint of 2.73e-05 g eCO2. This "
            "was rather quick and economic!",
        ]
    )


# --- file handling -----------------------------------------------------------


def test_file_receives_the_same_text_as_the_echo(tmp_path, log, echo):
    path = tmp_path / "a.log"
    log.open(path)
    log.header1(TERSE, "Parameters")
    log.value(TERSE, "x", 1)
    log.close()
    assert path.read_text(encoding="utf-8") == echo.getvalue()


def test_each_finished_line_reaches_the_file_at_once(tmp_path, log):
    path = tmp_path / "a.log"
    log.open(path)
    log.string(TERSE, "one")
    assert path.read_text(encoding="utf-8") == f"{P}one\n"
    log.value(TERSE, "two", 2)
    assert path.read_text(encoding="utf-8").endswith(" two .......................: 2\n")
    log.header2(TERSE, "x")
    assert path.read_text(encoding="utf-8").count("\n") == 5
    log.close()


def test_flush_writes_an_unfinished_line(tmp_path, log):
    path = tmp_path / "a.log"
    log.open(path)
    log.raw("half")
    log.flush()
    assert path.read_text(encoding="utf-8") == f"{P}half"
    log.close()


def test_open_truncates_by_default(tmp_path, log):
    path = tmp_path / "a.log"
    path.write_text("old\n", encoding="utf-8")
    log.open(path)
    log.raw("new\n")
    log.close()
    assert path.read_text(encoding="utf-8") == f"{P}new\n"


def test_open_append(tmp_path, log):
    path = tmp_path / "a.log"
    path.write_text("old\n", encoding="utf-8")
    log.open(path, append=True)
    log.raw("new\n")
    log.close()
    assert path.read_text(encoding="utf-8") == f"old\n{P}new\n"


def test_open_failure_raises_and_leaves_no_file(tmp_path, log):
    with pytest.raises(OSError):
        log.open(tmp_path / "missing" / "a.log")
    assert not log.is_open
    assert log.path is None
    log.raw("still echoed\n")  # no file: the text goes to the echo only


def test_reopen_closes_the_previous_file(tmp_path, log):
    first, second = tmp_path / "1.log", tmp_path / "2.log"
    log.open(first)
    log.raw("a\n")
    log.open(second)
    log.raw("b\n")
    log.close()
    assert first.read_text(encoding="utf-8") == f"{P}a\n"
    assert second.read_text(encoding="utf-8") == f"{P}b\n"


def test_text_outside_an_open_file_is_not_in_it(tmp_path, log, echo):
    path = tmp_path / "a.log"
    log.raw("before\n")
    log.open(path)
    log.raw("during\n")
    log.close()
    log.raw("after\n")
    assert path.read_text(encoding="utf-8") == f"{P}during\n"
    assert echo.getvalue() == f"{P}before\n{P}during\n{P}after\n"


def test_state_and_close_twice(tmp_path):
    log = Logger()
    assert not log.is_open
    assert log.path is None
    log.open(str(tmp_path / "a.log"))
    assert log.is_open
    assert log.path == str(tmp_path / "a.log")
    log.close()
    log.close()
    assert not log.is_open


def test_context_manager_closes(tmp_path):
    with Logger(clock=fixed_clock) as log:
        log.open(tmp_path / "a.log")
        log.raw("x\n")
    assert not log.is_open
    assert (tmp_path / "a.log").read_text(encoding="utf-8") == f"{P}x\n"


def test_close_keeps_the_echo(log, echo, tmp_path):
    log.open(tmp_path / "a.log")
    log.close()
    assert log.echo is echo


def test_no_file_no_echo_is_quiet():
    log = Logger(chatter=VERBOSE)
    log.header1(TERSE, "nowhere")
    log.trailer("t", 0, 0)
    assert log.written > 0


# --- echo -------------------------------------------------------------------


def test_echo_can_be_switched_on_and_off(echo):
    log = Logger(clock=fixed_clock)
    log.raw("a\n")
    log.echo = echo
    log.raw("b\n")
    log.echo = None
    log.raw("c\n")
    assert echo.getvalue() == f"{P}b\n"


@pytest.mark.parametrize("fail_on", ["write", "flush"])
def test_broken_echo_stops_quietly(tmp_path, fail_on):
    log = Logger(echo=BrokenStream(fail_on), clock=fixed_clock)
    log.open(tmp_path / "a.log")
    log.raw("one\n")
    assert log.echo is None
    log.raw("two\n")
    log.close()
    assert (tmp_path / "a.log").read_text(encoding="utf-8") == f"{P}one\n{P}two\n"


def test_closed_echo_stops_quietly(log, echo):
    echo.close()
    log.raw("x\n")
    assert log.echo is None


def test_flush_with_broken_echo(log):
    log.echo = BrokenStream("flush")
    log.flush()
    assert log.echo is None


# --- text that UTF-8 cannot hold --------------------------------------------


def test_surrogate_escapes_are_written_to_the_file(tmp_path, log):
    path = tmp_path / "a.log"
    name = b"run\xff.fits".decode("utf-8", "surrogateescape")
    log.open(path)
    log.value(TERSE, "File", name)
    log.raw("lone \ud800 surrogate\n")
    log.close()
    data = path.read_bytes()
    assert b" File ......................: run\\udcff.fits\n" in data
    assert b"lone \\ud800 surrogate\n" in data
    data.decode("utf-8")  # the log stays valid UTF-8


def test_non_ascii_is_utf8_in_the_file(tmp_path, log):
    path = tmp_path / "a.log"
    log.open(path)
    log.raw("Énergie ≥ 1 TeV\n")
    log.close()
    assert path.read_bytes() == (P + "Énergie ≥ 1 TeV\n").encode("utf-8")


@pytest.mark.parametrize("encoding", ["utf-8", "ascii"])
def test_echo_with_a_strict_encoding_does_not_raise(encoding):
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, errors="strict")
    log = Logger(echo=stream, clock=fixed_clock)
    log.raw("run\udcff é\n")
    assert log.echo is stream
    stream.flush()
    expected = "run\\udcff \\xe9" if encoding == "ascii" else "run\\udcff é"
    assert raw.getvalue().decode(encoding) == f"{P}{expected}\n"


# --- threads -------------------------------------------------------------------


def test_lines_from_threads_stay_whole(tmp_path):
    path = tmp_path / "a.log"
    log = Logger(clock=fixed_clock)
    log.open(path)

    def work(n):
        for i in range(200):
            log.value(NORMAL, f"thread {n}", i)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    got = path.read_text(encoding="utf-8").splitlines()
    assert len(got) == 800
    assert all(re.fullmatch(re.escape(P) + r" thread \d \.+: \d+", line) for line in got)


# --- forwarding logging records ------------------------------------------------


@pytest.fixture
def pylog(request):
    """A Python logger of its own, connected to nothing else."""
    logger = logging.getLogger(f"iactcopy.test.{request.node.name}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger
    for handler in list(logger.handlers):
        logger.removeHandler(handler)


@pytest.mark.parametrize("chatter", range(5))
def test_handler_default_levels(pylog, chatter):
    stream = io.StringIO()
    pylog.addHandler(LogHandler(Logger(chatter=chatter, echo=stream, clock=fixed_clock)))
    pylog.debug("debug %d", 1)
    pylog.info("info %d", 2)
    pylog.warning("warning %d", 3)
    pylog.error("error %d", 4)
    expected = {
        0: [],
        1: ["WARNING: warning 3", "ERROR: error 4"],
        2: ["WARNING: warning 3", "ERROR: error 4"],
        3: ["info 2", "WARNING: warning 3", "ERROR: error 4"],
        4: ["debug 1", "info 2", "WARNING: warning 3", "ERROR: error 4"],
    }[chatter]
    assert stream.getvalue() == "".join(f"{P}{line}\n" for line in expected)


def test_handler_follows_chatter_changes(pylog):
    stream = io.StringIO()
    log = Logger(chatter=NORMAL, echo=stream, clock=fixed_clock)
    pylog.addHandler(LogHandler(log))
    pylog.info("hidden")
    log.chatter = EXPLICIT
    pylog.info("shown")
    assert stream.getvalue() == f"{P}shown\n"


def test_handler_custom_level_map(pylog):
    stream = io.StringIO()
    handler = LogHandler(
        Logger(chatter=NORMAL, echo=stream, clock=fixed_clock),
        level_map={logging.INFO: NORMAL, logging.ERROR: SILENT},
    )
    pylog.addHandler(handler)
    pylog.debug("dropped: below every key")
    pylog.info("info")
    pylog.warning("warning")  # takes the INFO entry
    assert handler.chatter_level(logging.DEBUG) is None
    assert handler.chatter_level(logging.WARNING) == NORMAL
    assert handler.chatter_level(logging.CRITICAL) == SILENT
    assert stream.getvalue() == f"{P}info\n{P}WARNING: warning\n"


def test_handler_indents_continuation_lines(pylog):
    stream = io.StringIO()
    pylog.addHandler(LogHandler(Logger(chatter=TERSE, echo=stream, clock=fixed_clock)))
    pylog.warning("first line\nsecond line")
    assert lines(stream)[:-1] == [f"{P}WARNING: first line", f"{P}         second line"]


def test_handler_writes_the_traceback(pylog):
    stream = io.StringIO()
    pylog.addHandler(LogHandler(Logger(chatter=TERSE, echo=stream, clock=fixed_clock)))
    try:
        raise KeyError("boom")
    except KeyError:
        pylog.exception("copy failed")
    got = lines(stream)
    assert got[0] == f"{P}ERROR: copy failed"
    assert got[1] == f"{P}       Traceback (most recent call last):"
    assert any("KeyError: 'boom'" in line for line in got)


def test_handler_reports_its_own_failures(pylog, monkeypatch):
    class Exploding(Logger):
        def string(self, level, text, linefeed=True):
            raise OSError("disk full")

    handled = []
    handler = LogHandler(Exploding(chatter=VERBOSE))
    monkeypatch.setattr(handler, "handleError", handled.append)
    pylog.addHandler(handler)
    pylog.warning("x")
    assert [record.getMessage() for record in handled] == ["x"]
