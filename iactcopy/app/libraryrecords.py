"""How the records of the library's Python loggers reach a tool's log, and no further.

The data-store and transfer layers log through ``logging.getLogger(__name__)``
under the ``iactcopy`` logger.  While a tool runs, its ctools-style log must
see every record down to ``DEBUG`` (its chatter decides what is written), so
the ``iactcopy`` logger is opened to ``DEBUG`` for the run.  Opening it must
not change what a program that embeds the tool receives: a host that
configured ``logging.basicConfig(level=INFO)`` asked for INFO records and
above, and a per-file ``DEBUG`` record of a copy is not one of them.

So, for as long as at least one tool runs, one :class:`_Router` stands in
for the ``iactcopy`` logger's own handlers and its propagation: it passes
each record to every running tool's handler, and to the host's handlers
only when the record reaches the level the host had set (the logger's
effective level before the first run began).  When the last run ends, the
logger is given back exactly as it was.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

__all__ = ["LIBRARY_LOGGER", "records_to"]

#: The Python logger of the layers below the application (data store, transfer).
LIBRARY_LOGGER = "iactcopy"

_lock = threading.Lock()
_router: _Router | None = None


class _Router(logging.Handler):
    """The one handler of the ``iactcopy`` logger while tools run.

    Parameters
    ----------
    library : logging.Logger
        The ``iactcopy`` logger, whose host settings are kept here to be
        given back.
    """

    def __init__(self, library: logging.Logger) -> None:
        super().__init__()
        self.library = library
        self.host_level = library.getEffectiveLevel()
        self.host_handlers = list(library.handlers)
        self.host_propagate = library.propagate
        self.host_own_level = library.level
        self.tools: list[logging.Handler] = []

    def install(self) -> None:
        for handler in self.host_handlers:
            self.library.removeHandler(handler)
        self.library.addHandler(self)
        self.library.propagate = False
        self.library.setLevel(logging.DEBUG)

    def uninstall(self) -> None:
        self.library.removeHandler(self)
        for handler in self.host_handlers:
            self.library.addHandler(handler)
        self.library.propagate = self.host_propagate
        self.library.setLevel(self.host_own_level)

    def emit(self, record: logging.LogRecord) -> None:
        for handler in list(self.tools):
            if record.levelno >= handler.level:
                handler.handle(record)
        if record.levelno >= self.host_level:
            self._to_host(record)

    def _to_host(self, record: logging.LogRecord) -> None:
        """Hand *record* to the handlers the host would have reached, as logging itself does."""
        for handler in self.host_handlers:
            if record.levelno >= handler.level:
                handler.handle(record)
        logger: logging.Logger | None = self.library.parent if self.host_propagate else None
        while logger is not None:
            for handler in logger.handlers:
                if record.levelno >= handler.level:
                    handler.handle(record)
            logger = logger.parent if logger.propagate else None


@contextlib.contextmanager
def records_to(handler: logging.Handler) -> Iterator[None]:
    """Within the block, every ``iactcopy`` record reaches *handler*; the host gets what it asked.

    Parameters
    ----------
    handler : logging.Handler
        A running tool's handler (a :class:`~iactcopy.app.logger.LogHandler`);
        it gates the records by the tool's chatter.

    Notes
    -----
    Blocks may overlap (tools run in threads, or one inside another): the
    host's settings are taken when the first begins and given back when the
    last ends.
    """
    global _router
    with _lock:
        if _router is None:
            _router = _Router(logging.getLogger(LIBRARY_LOGGER))
            _router.install()
        _router.tools.append(handler)
    try:
        yield
    finally:
        with _lock:
            _router.tools.remove(handler)
            if not _router.tools:
                _router.uninstall()
                _router = None
