"""The ctools-style log: timestamped lines, header frames and chatter gating.

A :class:`Logger` writes every line as ``<UTC time>: <text>`` to a log file
and, when asked, to an echo stream (the console with ``debug=yes``). It
follows GammaLib's ``GLog`` and the cscript logging calls (docs/log.rst),
with these differences, all deliberate (docs/differences.rst, "Log lines
written whole", "Log file errors" and "Honest figures and widths"):

* Each finished line reaches the file at once (GammaLib wrote 8 KB chunks):
  ``tail -f`` follows the run, and a crash loses at most the line being
  written.
* A file that cannot be opened raises :class:`OSError` instead of being
  ignored; the application turns it into a clear error.  A file that
  cannot be written any more (a full disk) is closed and raises one
  :class:`~iactcopy.errors.LogFileError` naming it, which stops the run;
  later lines go only to the echo stream.
* Widths count characters, not UTF-8 bytes, and text that cannot be
  encoded is written with backslash escapes instead of raising.
* A broken or closed echo stream stops the echo quietly.
* ``value`` adds a unit only when one is given.

The logger knows nothing of parameters or data stores: the application reads
``chatter`` and ``debug`` and sets them here. Records that lower layers send
through :mod:`logging` reach the log through :class:`LogHandler`.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import IO

from iactcopy.app import formatting
from iactcopy.app.escaping import printable
from iactcopy.errors import LogFileError

__all__ = [
    "EXPLICIT",
    "NORMAL",
    "SILENT",
    "TERSE",
    "VERBOSE",
    "LogHandler",
    "Logger",
]

SILENT = 0
"""Chatter level of output written even at ``chatter=0``."""
TERSE = 1
"""Chatter level of essential information."""
NORMAL = 2
"""Chatter level of standard information (the default chatter)."""
EXPLICIT = 3
"""Chatter level of detailed information."""
VERBOSE = 4
"""Chatter level of everything."""


class Logger:
    """A log file with ctools' line prefix, headers and chatter gating.

    Parameters
    ----------
    chatter : int, optional
        The chattiness; see :attr:`chatter`. Default is ``NORMAL`` (2).
    echo : text stream, optional
        See :attr:`echo`. Default is ``None``.
    clock : callable, optional
        Returns the current time in seconds since the epoch; the line prefix
        is its UTC time. Default is :func:`time.time`; tests pass a fixed one.

    Notes
    -----
    Output follows docs/log.rst: the prefix ``<UTC time>:`` and a blank go
    in front of every line, blank lines included. Text without a final line
    feed leaves its line open, so ``string(L, "a", linefeed=False)`` followed
    by ``raw("b\\n")`` makes the one line ``ab``. A final line feed does not
    prefix the next line yet: its time is taken when its first text comes.

    Text written before :meth:`open` or after :meth:`close` goes only to the
    echo stream, as in ctools. The calls are thread-safe: worker threads may
    log while the main thread does.

    Examples
    --------
    >>> import io
    >>> log = Logger(chatter=TERSE, echo=io.StringIO(), clock=lambda: 0)
    >>> log.value(TERSE, "Number of files", 27)
    >>> log.value(NORMAL, "Size", 0.41, "MB")
    >>> log.echo.getvalue()
    '1970-01-01T00:00:00:  Number of files ...........: 27\\n'
    """

    def __init__(
        self,
        chatter: int = NORMAL,
        *,
        echo: IO[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.chatter = chatter
        self.echo = echo
        self._clock = clock
        self._file: IO[str] | None = None
        self._path: str | None = None
        self._line_start = True
        self._written = 0
        # Re-entrant because a LogHandler may be fed from code that already
        # holds the lock (a warning logged while formatting, say).
        self._lock = threading.RLock()

    @property
    def chatter(self) -> int:
        """int: Calls with a level above this write nothing.

        Set it at any time; values are clamped to 0..4, so a gated call of
        level ``L`` writes exactly when ``chatter >= L``.
        """
        return self._chatter

    @chatter.setter
    def chatter(self, value: int) -> None:
        self._chatter = min(VERBOSE, max(SILENT, int(value)))

    @property
    def echo(self) -> IO[str] | None:
        """text stream or None: Where every written text is copied as well.

        The application sets it to ``sys.stdout`` for ``debug=yes``. If the
        stream breaks (``BrokenPipeError`` when the output is piped into
        ``head``) or is closed, the logger sets this back to ``None`` and
        goes on writing the file.
        """
        return self._echo

    @echo.setter
    def echo(self, stream: IO[str] | None) -> None:
        self._echo = stream

    @property
    def is_open(self) -> bool:
        """bool: Whether a log file is open."""
        return self._file is not None

    @property
    def path(self) -> str | None:
        """str or None: The name of the open log file."""
        return self._path

    @property
    def at_line_start(self) -> bool:
        """bool: Whether the last line written is finished."""
        return self._line_start

    @property
    def written(self) -> int:
        """int: Characters written since construction, prefixes included.

        Counted whether or not a file is open; ctools closes a log with a
        trailer only when this is above zero (docs/log.rst).
        """
        return self._written

    def open(self, path: str | os.PathLike[str], *, append: bool = False) -> None:
        """Open the log file; an open one is closed first.

        The file is written in UTF-8. Characters UTF-8 cannot hold, such as
        the surrogate escapes of undecodable file names, are written as
        backslash escapes (``\\udcff``): the log stays valid UTF-8 and a
        logging call never fails over a file name. ``surrogateescape`` would
        restore the original bytes but raises on other lone surrogates.

        Parameters
        ----------
        path : str or path-like
            The file name, used as it is (the caller expands variables).
        append : bool, optional
            Append to an existing file instead of truncating it. Default is
            ``False``.

        Raises
        ------
        OSError
            If the file cannot be opened (missing folder, no permission). The
            logger then has no file. ctools ignores this silently.
        """
        with self._lock:
            self.close()
            # newline="" keeps each "\n" as it is on every platform, so the
            # file holds exactly the text that was logged.
            self._file = open(  # noqa: SIM115 -- kept open until close()
                path,
                "a" if append else "w",
                encoding="utf-8",
                errors="backslashreplace",
                newline="",
            )
            self._path = os.fspath(path)

    def close(self) -> None:
        """Flush and close the log file; harmless when none is open.

        The echo stream is left as it is. An unfinished last line is written
        as it is, without a line feed.
        """
        with self._lock:
            file, self._file, self._path = self._file, None, None
            if file is not None:
                # Finished lines are on disk already; what fails here is at
                # most an unfinished last line.
                with contextlib.suppress(OSError):
                    file.close()

    def flush(self) -> None:
        """Write out any unfinished line to the file and the echo stream."""
        with self._lock:
            if self._file is not None:
                self._file.flush()
            self._echo_flush()

    def __enter__(self) -> Logger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def raw(self, text: str) -> None:
        """Write text, whatever the chatter (like ``self._log(text)``).

        Parameters
        ----------
        text : str
            Any text; add ``"\\n"`` to end the line. Each line gets the
            prefix. Writing ``""`` at the start of a line writes the prefix
            alone and so fixes that line's time. Control characters other
            than line feeds are escaped and passwords in URLs masked
            (:func:`~iactcopy.app.escaping.printable`).
        """
        text = printable(text, newlines=True)
        with self._lock:
            # A final line feed gets no prefix yet: the next line's time is
            # the time its first text arrives (docs/log.rst).
            body, tail = (text[:-1], "\n") if text.endswith("\n") else (text, "")
            out = body + tail
            if self._line_start or "\n" in body:
                prefix = formatting.timestamp(self._clock()) + ": "
                out = body.replace("\n", "\n" + prefix) + tail
                if self._line_start:
                    out = prefix + out
            if not out:
                return
            self._line_start = out.endswith("\n")
            self._written += len(out)
            finished = "\n" in out
            if self._file is not None:
                try:
                    self._file.write(out)
                    if finished:
                        self._file.flush()
                except OSError as err:
                    self._give_up_file(err)
            self._echo_write(out, flush=finished)

    def _give_up_file(self, err: OSError) -> None:
        """Close a log file that fails to take more text, and raise the one error that says so."""
        file, path = self._file, self._path
        self._file, self._path = None, None
        # Closing flushes the text that failed once more; it fails again.
        with contextlib.suppress(OSError):
            file.close()
        raise LogFileError(f'cannot write the log file "{path}": {err.strerror or err}') from err

    def _lines(self, lines: list[str]) -> None:
        # Frames and boxes are whole lines: end an unfinished line first, so
        # that each of their lines carries the prefix (docs/log.rst).
        text = "\n".join(lines) + "\n"
        with self._lock:
            self.raw(text if self._line_start else "\n" + text)

    def _echo_write(self, text: str, *, flush: bool) -> None:
        stream = self._echo
        if stream is None:
            return
        try:
            try:
                stream.write(text)
            except UnicodeEncodeError:
                # A console with a narrower encoding than the file (an ASCII
                # locale, or surrogates on a strict UTF-8 stdout) gets the
                # same backslash escapes as the file.
                encoding = getattr(stream, "encoding", None) or "utf-8"
                stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
            if flush:
                # Per line, so that the echo and a traceback on stderr come
                # out in the order they happened (ctools' echo went through C's
                # stdio buffer and could come out of order).
                stream.flush()
        except (OSError, ValueError):
            # BrokenPipeError when stdout is piped into `head`, ValueError
            # when the stream was closed: a closed console is not an error.
            self._echo = None

    def _echo_flush(self) -> None:
        if self._echo is not None:
            try:
                self._echo.flush()
            except (OSError, ValueError):
                self._echo = None

    def string(self, level: int, text: str, linefeed: bool = True) -> None:
        """Write text when ``chatter >= level`` (``_log_string``).

        Parameters
        ----------
        level : int
            The lowest chatter at which the text is written.
        text : str
            The text; each line is prefixed.
        linefeed : bool, optional
            Add ``"\\n"`` at the end, even when ``text`` already ends with
            one (giving a blank line, as in ctools). Default is ``True``.
        """
        if self._chatter >= level:
            self.raw(text + "\n" if linefeed else text)

    def value(self, level: int, name: str, value: object, unit: object = None) -> None:
        """Write a dotted value line when ``chatter >= level`` (``_log_value``).

        Parameters
        ----------
        level : int
            The lowest chatter at which the line is written.
        name : str
            The label, padded with dots so that values line up.
        value : object
            The value, written as ``str(value)`` (``True``, ``0.1``, ``None``).
        unit : object, optional
            Written after the value and a blank, unless ``None``. Default is
            ``None``.
        """
        if self._chatter >= level:
            self.raw(formatting.value_line(printable(name), printable(value), unit) + "\n")

    def values(self, level: int, items: Iterable[tuple[str, object]]) -> None:
        """Write many dotted value lines at once when ``chatter >= level``.

        The same lines as :meth:`value` called for each ``(name, value)``,
        written and flushed once: a list of 100,000 observations is logged in
        a fraction of the time.
        """
        if self._chatter >= level:
            text = "".join(formatting.value_line(printable(name), printable(value)) + "\n"
                           for name, value in items)
            if text:
                self.raw(text)

    def header1(self, level: int, text: str) -> None:
        """Write a blank line and a ``=`` frame when ``chatter >= level``.

        As in ctools' ``_log_header1``, a line feed comes first: after a
        finished line it makes a blank (prefixed) line; after an unfinished
        one it only ends that line.

        Parameters
        ----------
        level : int
            The lowest chatter at which the header is written.
        text : str
            The header text.
        """
        if self._chatter >= level:
            with self._lock:
                self.raw("\n")
                self._lines(formatting.header_lines(text, 1))

    def header2(self, level: int, text: str) -> None:
        """Write a ``-`` frame when ``chatter >= level`` (no blank line).

        Parameters
        ----------
        level : int
            The lowest chatter at which the header is written.
        text : str
            The header text.
        """
        if self._chatter >= level:
            self._lines(formatting.header_lines(text, 2))

    def header3(self, level: int, text: str) -> None:
        """Write ``=== text ===`` when ``chatter >= level``.

        Parameters
        ----------
        level : int
            The lowest chatter at which the header is written.
        text : str
            The header text.
        """
        if self._chatter >= level:
            self._lines(formatting.header_lines(text, 3))

    def banner(self, name: str, version: str, package: str = "iactcopy") -> None:
        """Write the box that opens a log file, whatever the chatter.

        Parameters
        ----------
        name : str
            The tool name.
        version : str
            The version of its package.
        package : str, optional
            The package the tool belongs to. Default is ``"iactcopy"``.
        """
        self._lines(formatting.banner_lines(name, version, package))

    def trailer(self, name: str, wall: float, cpu: float) -> None:
        """Write a line feed and the closing line, whatever the chatter.

        The line feed gives a blank line after a finished line, or ends an
        unfinished one, as ctools' ``logFileClose`` does. The file stays
        open; whether a trailer is due (a file is open and something was
        written) is the caller's decision.

        Parameters
        ----------
        name : str
            The tool name.
        wall : float
            Wall-clock seconds since the application started.
        cpu : float
            CPU seconds used.
        """
        with self._lock:
            self.raw("\n")
            self.raw(formatting.trailer_line(name, wall, cpu) + "\n")


_DEFAULT_LEVEL_MAP: Mapping[int, int] = {
    logging.DEBUG: VERBOSE,
    logging.INFO: EXPLICIT,
    logging.WARNING: TERSE,
}


class LogHandler(logging.Handler):
    """Forward :mod:`logging` records into a :class:`Logger`.

    The data-store and transfer layers log through
    ``logging.getLogger(__name__)``; the application attaches this handler
    so their records appear in the ctools-style log.

    Parameters
    ----------
    logger : Logger
        Where the records go.
    level_map : mapping of int to int, optional
        From a :mod:`logging` level to the chatter level a record needs. A
        record takes the entry of the highest key not above its own level;
        records below every key are dropped. Default: ``DEBUG`` records at
        ``VERBOSE``, ``INFO`` at ``EXPLICIT``, ``WARNING`` and above at
        ``TERSE``. Information goes to ``EXPLICIT`` so that at the default
        chatter the log has the lines of the ctools tools and no more; the
        tool decides what its ``NORMAL`` log shows.

    Notes
    -----
    Records of level ``WARNING`` and above are written as
    ``<LEVELNAME>: <message>`` (``WARNING: ...``, ``ERROR: ...``), with the
    continuation lines of a long message indented under its first word, as
    ctools lays out its warnings. Other records are written as the message
    alone. A traceback attached to the record follows it.

    The Python logger must let the records through; a running tool does it
    with :func:`iactcopy.app.libraryrecords.records_to`, which opens the
    ``iactcopy`` logger to ``DEBUG`` without passing more to the host
    program's own handlers than it asked for.
    """

    def __init__(self, logger: Logger, level_map: Mapping[int, int] | None = None) -> None:
        super().__init__()
        self.logger = logger
        self.level_map = dict(_DEFAULT_LEVEL_MAP if level_map is None else level_map)

    def chatter_level(self, levelno: int) -> int | None:
        """Give the chatter level a record of ``levelno`` needs.

        Parameters
        ----------
        levelno : int
            A :mod:`logging` level.

        Returns
        -------
        int or None
            ``None`` when the record is not forwarded at all.
        """
        keys = [key for key in self.level_map if key <= levelno]
        return self.level_map[max(keys)] if keys else None

    def emit(self, record: logging.LogRecord) -> None:
        """Write one record to the log, when its chatter level allows."""
        try:
            level = self.chatter_level(record.levelno)
            if level is None or self.logger.chatter < level:
                return
            if record.args:
                # The arguments are store content (file names, server
                # answers): a line feed in them must not start a log line.
                record = copy.copy(record)
                args = record.args if isinstance(record.args, tuple) else (record.args,)
                record.args = tuple(printable(arg) if isinstance(arg, str) else arg
                                    for arg in args)
            message = self.format(record)
            if record.levelno >= logging.WARNING:
                head = f"{record.levelname}: "
                message = head + message.replace("\n", "\n" + " " * len(head))
            self.logger.string(level, message)
        except LogFileError:
            raise  # stops the run, from whichever thread logged
        except Exception:
            # Logging must never break the run; logging.Handler reports it
            # on stderr (when logging.raiseExceptions is set).
            self.handleError(record)
