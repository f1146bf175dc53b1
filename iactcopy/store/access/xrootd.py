"""XRootD stores (``root://host[:port]//path``) through fsspec-xrootd and the ``xrootd`` wheel.

:class:`XRootDClient` offers :class:`~iactcopy.store.access.urls.FsspecSource`
the same three calls as :class:`~iactcopy.store.access.opensshsftp.OpenSshSftpClient`:
:meth:`~XRootDClient.info`, :meth:`~XRootDClient.cat_file` and
:meth:`~XRootDClient.open`.

Decisions (measurements in docs/benchmarks.rst):

* **Look-ups.** The first look-up in a folder, or the first file of unknown
  size read from it, lists it, with the file details, in one request
  (``dirlist`` with ``stat``); later look-ups in that folder are answered
  from the listing, and a file's size from it ends its reads without a
  request that finds the end.
* **Reads.** A file is read in blocks of :data:`BLOCK` bytes, :data:`DEPTH`
  of them in flight (the server streams each block in pieces); a file of a
  few MB is one request after its open.  A file read to its end is closed
  in fsspec-xrootd's cache of open files without waiting for the answer:
  left open, all of them would be closed, and waited for, at exit.
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
import logging
import math
import re
import stat
from typing import Any

from iactcopy.store.access.listings import Listings
from iactcopy.store.access.pipelinedread import PipelinedReader, ReadAhead

__all__ = ["BLOCK", "DEPTH", "FILES_AHEAD", "XRootDClient"]

log = logging.getLogger(__name__)

BLOCK = 8 << 20
"""Bytes per read request (8 MiB)."""

DEPTH = 4
"""Read requests kept outstanding per file."""

FILES_AHEAD = 32
"""Files whose first block is asked for before the copy gets to them."""

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
        self._listings = Listings(self._list)
        self._ahead = ReadAhead(self._start, FILES_AHEAD, 1)

    def info(self, path: str) -> dict:
        """``{"type", "size", "mtime", "permissions"}`` of *path*."""
        folder, _, name = path.rpartition("/")
        entry = self._call(self._listings.get(folder), path).get(name)
        if entry is None:
            raise FileNotFoundError(errno.ENOENT, "no such file", path)
        mode = entry.get("mode")
        return {"type": entry["type"], "size": entry["size"], "mtime": entry.get("mtime"),
                "permissions": stat.S_IMODE(mode) if mode is not None else None}

    async def _list(self, folder: str) -> dict:
        try:
            entries = await _translated(self._fs._ls(folder or "/", detail=True), folder)
        except FileNotFoundError:
            entries = []
        return {entry["name"].rpartition("/")[2]: entry for entry in entries}

    def cat_file(self, path: str) -> bytes:
        """The whole content of *path*."""
        with self.open(path) as reader:
            return reader.read()

    def open(self, path: str, size: int | None = None) -> PipelinedReader:
        """A reader of *path* with :data:`DEPTH` requests of :data:`BLOCK` bytes in flight."""
        return self._ahead.take(path) or self._start(path, size)

    def expect(self, files: list[tuple[str, int | None]]) -> None:
        """Announce the files (path, size) to be opened next: some are opened ahead."""
        self._ahead.expect(files)

    def _start(self, path: str, size: int | None, first: int | None = None) -> PipelinedReader:
        """A reader whose first requests are sent, without waiting for them.

        Without a *size*, the size is asked for beside the first block (from
        the folder listing, started now if need be): a file shorter than a
        block is one read, not a read and a second one that finds its end.
        """
        loop = self._fs.loop
        end = (asyncio.run_coroutine_threadsafe(self._size_of(path), loop) if size is None
               else None)

        async def read(offset: int, length: int) -> bytes:
            if end is not None and offset > 0:
                known = await asyncio.wrap_future(end)
                if known is not None and offset >= known:
                    return b""
            return await _translated(
                self._fs._cat_file(path, start=offset, end=offset + length), path)

        def request(offset: int, length: int):
            return asyncio.run_coroutine_threadsafe(read(offset, length), loop)

        def close() -> None:
            asyncio.run_coroutine_threadsafe(self._close(path), loop)

        return PipelinedReader(request, path, block=BLOCK, depth=DEPTH, timeout=self.timeout,
                               size=size, on_close=close, first=first)

    async def _close(self, path: str) -> None:
        """Close *path* in fsspec-xrootd's cache of open files, once its reads are answered.

        Otherwise every file stays open until the program ends, and then
        waits for all their closes.
        """
        cache = getattr(self._fs, "_readonly_filehandle_cache", None)
        if cache is None or not hasattr(cache, "_close"):
            return
        # Reads still on the way (a reader closed early) are left to finish.
        await asyncio.sleep(0)
        try:
            await cache._close(self._fs.unstrip_protocol(path), self._fs.timeout)
        except OSError as err:
            log.debug("closing %s: %s", path, err)

    async def _size_of(self, path: str) -> int | None:
        """The size of *path* from its folder's listing; None when the listing lacks it."""
        folder, _, name = path.rpartition("/")
        try:
            entry = (await self._listings.get(folder)).get(name)
        except OSError:
            return None
        return None if entry is None or entry.get("type") != "file" else entry.get("size")

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
