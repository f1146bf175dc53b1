"""XRootD stores (``root://host[:port]//path``) through fsspec-xrootd and the ``xrootd`` wheel.

:class:`XRootDClient` offers :class:`~iactcopy.store.access.urls.FsspecSource`
the same three calls as :class:`~iactcopy.store.access.sftp.SftpClient`:
:meth:`~XRootDClient.info`, :meth:`~XRootDClient.cat_file` and
:meth:`~XRootDClient.open`.

Decisions (measurements in docs/benchmarks.rst):

* **Look-ups.** The first look-up in a folder lists it, with the file
  details, in one request (``dirlist`` with ``stat``); later look-ups in
  that folder are answered from the listing.
* **Reads.** A file is read in blocks of :data:`BLOCK` bytes, :data:`DEPTH`
  of them in flight (the server streams each block in pieces); a file of a
  few MB is one request after its open.  Files stay open in fsspec-xrootd's
  handle cache, so closing them costs no round trip.
* **Errors.** The XRootD status in fsspec-xrootd's message decides:
  ``[3011]`` (not found) is ``FileNotFoundError``, a failed authentication
  ("login refused") and ``[3010]`` (not authorised) are ``PermissionError``, a
  connection or socket error is ``ConnectionError`` (tried again), an
  operation that expired is ``TimeoutError``.
* **Connections.** The client tries a connection once per attempt (the
  retries of :mod:`iactcopy.store.access.urls` do the rest), for at most the
  ``timeout``; credentials are the XRootD client's own (``X509_USER_PROXY``
  and the others of the grid set-up, ``XrdSecSSSKT`` for a shared secret).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import math
import re
import stat
from typing import Any

from iactcopy.store.access.pipelinedread import PipelinedReader, ReadAhead

__all__ = ["BLOCK", "DEPTH", "FILES_AHEAD", "XRootDClient"]

BLOCK = 8 << 20
"""Bytes per read request (8 MiB)."""

DEPTH = 4
"""Read requests kept outstanding per file."""

FILES_AHEAD = 16
"""Files whose first blocks are asked for before the copy gets to them."""

_CODE = re.compile(r"\[(\d{4})\]")
_NOT_FOUND, _NOT_AUTHORIZED = "3011", "3010"
_REFUSED_WORDS = ("not authorized", "permission denied")
_CONNECTION_WORDS = ("connection error", "socket error", "socket timeout", "connection refused",
                     "stream", "invalid address")


class XRootDClient:
    """The files of one XRootD server, read by absolute path.

    Parameters
    ----------
    hostid : str
        ``[user@]host[:port]``, as in the URL.
    timeout : float
        Seconds a request may take (the XRootD client's timeout, whole seconds).
    """

    def __init__(self, hostid: str, *, timeout: float = 60.0):
        from fsspec_xrootd import XRootDFileSystem
        from XRootD import client

        seconds = max(1, math.ceil(timeout))
        # One connection attempt of at most `timeout` (the client's own default
        # is 5 attempts of 120 s each): retries are iactcopy's business.
        client.EnvPutInt("ConnectionRetry", 1)
        client.EnvPutInt("ConnectionWindow", seconds)
        self.timeout = timeout
        self._fs = XRootDFileSystem(hostid=hostid, timeout=seconds, skip_instance_cache=True)
        self._listings: dict[str, Any] = {}
        self._ahead = ReadAhead(self._start, FILES_AHEAD)

    def info(self, path: str) -> dict:
        """``{"type", "size", "mtime", "permissions"}`` of *path*."""
        folder, _, name = path.rpartition("/")
        listing = self._listings.get(folder)
        if listing is None:
            try:
                entries = self._call(self._fs._ls(folder or "/", detail=True), folder)
            except FileNotFoundError:
                entries = []
            listing = self._listings[folder] = {
                entry["name"].rpartition("/")[2]: entry for entry in entries}
        entry = listing.get(name)
        if entry is None:
            raise FileNotFoundError(errno.ENOENT, "no such file", path)
        mode = entry.get("mode")
        return {"type": entry["type"], "size": entry["size"], "mtime": entry.get("mtime"),
                "permissions": stat.S_IMODE(mode) if mode is not None else None}

    def cat_file(self, path: str) -> bytes:
        """The whole content of *path*, in one request."""
        return self._call(self._fs._cat_file(path, start=0, end=None), path)

    def open(self, path: str, size: int | None = None) -> PipelinedReader:
        """A reader of *path* with :data:`DEPTH` requests of :data:`BLOCK` bytes in flight."""
        return self._ahead.take(path) or self._start(path, size)

    def expect(self, files: list[tuple[str, int | None]]) -> None:
        """Announce the files (path, size) to be opened next: some are opened ahead."""
        self._ahead.expect(files)

    def _start(self, path: str, size: int | None) -> PipelinedReader:
        def request(offset: int, length: int):
            return asyncio.run_coroutine_threadsafe(
                _translated(self._fs._cat_file(path, start=offset, end=offset + length), path),
                self._fs.loop)

        return PipelinedReader(request, path, block=BLOCK, depth=DEPTH, timeout=self.timeout,
                               size=size)

    def _call(self, coroutine, path: str) -> Any:
        future = asyncio.run_coroutine_threadsafe(_translated(coroutine, path), self._fs.loop)
        try:
            return future.result(self.timeout + 5)
        except concurrent.futures.TimeoutError:
            # Not cancelled: fsspec-xrootd would complain when its answer comes.
            raise TimeoutError(errno.ETIMEDOUT, f"no answer in {self.timeout:g} s",
                               path) from None


async def _translated(coroutine, path: str):
    """Await *coroutine*; fsspec-xrootd's OSError becomes the matching built-in one."""
    try:
        return await coroutine
    except OSError as err:
        if type(err) is not OSError:
            raise
        raise translate(err, path) from err


def translate(err: OSError, path: str) -> OSError:
    """The built-in OSError for an XRootD failure message (module notes)."""
    text = " ".join(str(err).split())
    lowered = text.lower()
    reason = text.split("] ", 1)[-1] if "] " in text else text
    code = _CODE.search(text)
    if (code and code.group(1) == _NOT_FOUND) or "no such file" in lowered:
        return FileNotFoundError(errno.ENOENT, "no such file", path)
    if "auth" in lowered and "failed" in lowered:
        return PermissionError(errno.EACCES, f"login refused ({reason})", path)
    if (code and code.group(1) == _NOT_AUTHORIZED) or any(w in lowered for w in _REFUSED_WORDS):
        return PermissionError(errno.EACCES, f"access refused ({reason})", path)
    if "expired" in lowered or ("timeout" in lowered and "socket" not in lowered):
        return TimeoutError(errno.ETIMEDOUT, f"timed out ({reason})", path)
    if any(word in lowered for word in _CONNECTION_WORDS):
        return ConnectionError(errno.ECONNABORTED, f"connection failed ({reason})", path)
    return OSError(errno.EIO, reason, path)
