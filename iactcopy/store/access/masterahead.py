"""The master file of a remote store, read in a thread while the tool imports the rest.

A copy from a URL needs the master file first, and before that the tool
imports numpy and fitsio, which takes about as long as an SSH or XRootD
login over a distant link.  :class:`MasterAhead` imports the client of the
URL and starts
:func:`~iactcopy.store.access.urls.read_remote_master` in a thread at once;
:meth:`MasterAhead.result` waits for it and returns what it returned, or
raises what it raised: the run sees the same store, errors and log lines as
when it reads the master file itself, only sooner.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
from typing import TYPE_CHECKING

from iactcopy.errors import DataStoreError
from iactcopy.store.access.urls import import_client, local_path

if TYPE_CHECKING:
    from iactcopy.store.access.urls import FsspecSource
    from iactcopy.store.master import MasterIndex

__all__ = ["MasterAhead"]


class MasterAhead:
    """The master file at *url* being read; nothing is started for a path.

    Parameters
    ----------
    url : str
        The ``remote_master`` of a tool: a path or a URL.
    timeout : float, optional
        As for :func:`~iactcopy.store.access.urls.read_remote_master`.
    """

    def __init__(self, url: str, *, timeout: float | None = None):
        self.url = url
        self.timeout = timeout
        self._future: concurrent.futures.Future | None = None
        try:
            remote = local_path(url) is None
        except DataStoreError:
            remote = False  # refused again, with the same message, when the store is opened
        if remote:
            # Here, not in the thread: imports take turns on the interpreter,
            # so the login's waits on the network are what overlaps the
            # imports that follow.  A missing package is reported by the read.
            with contextlib.suppress(ImportError):
                import_client(url)
            self._future = concurrent.futures.Future()
            threading.Thread(target=self._read, name="iactcopy-master", daemon=True).start()

    @property
    def started(self) -> bool:
        """Whether a read is under way or done (the location is a URL)."""
        return self._future is not None

    def _read(self) -> None:
        from iactcopy.store.access.urls import read_remote_master

        try:
            self._future.set_result(read_remote_master(self.url, timeout=self.timeout))
        except BaseException as err:  # raised again by result(), in the caller's thread
            self._future.set_exception(err)

    def result(self) -> tuple[MasterIndex, FsspecSource]:
        """The master index and the source of its folder, as ``read_remote_master`` gives them.

        Raises
        ------
        DataStoreError
            As :func:`~iactcopy.store.access.urls.read_remote_master`.
        ValueError
            When no read was started (*url* is a path).
        """
        if self._future is None:
            raise ValueError(f"{self.url!r} is not a URL: no master file is read ahead")
        return self._future.result()
