"""An SFTP client that keeps many read requests in flight: asyncssh, driven from threads.

The SFTP client of the machines without OpenSSH's ``ssh``, and of URLs that
hold a password (``ssh`` takes a password only from a terminal);
:mod:`iactcopy.store.access.opensshsftp` is the faster one used otherwise,
with the same reads in flight (its :data:`~iactcopy.store.access.opensshsftp.READ_DEPTH`,
:data:`~iactcopy.store.access.opensshsftp.FILES_AHEAD`,
:data:`~iactcopy.store.access.opensshsftp.FIRST_BLOCKS` and
:data:`~iactcopy.store.access.opensshsftp.LIST_AHEAD`).

:class:`SftpClient` holds one SSH connection and its SFTP session(s), run by
an asyncio loop in a thread of its own; the copy threads of
:mod:`iactcopy.store.transfer.copyfiles` call its blocking methods.  It offers what
:class:`~iactcopy.store.access.urls.FsspecSource` needs: :meth:`~SftpClient.info`,
:meth:`~SftpClient.cat_file` and :meth:`~SftpClient.open`.

Decisions (measurements in docs/benchmarks.rst, "Remote stores over links
with latency"):

* **Pipelined reads.** A file is read in blocks of the server's largest read
  (``limits@openssh.com``; 255 KiB from OpenSSH), with :data:`READ_DEPTH`
  requests outstanding, as OpenSSH's ``sftp`` does: a file of a few MB
  arrives in one round trip after its open, not one per block.  The blocks
  are handed over in order, so a copy writes sequentially.
* **Fewer round trips per file.** The first look-up in a folder, or the
  first file opened in it, lists it (:data:`LIST_AHEAD` batches of ~100
  names asked for at once) and later look-ups in that folder are answered
  from the listing: a store's data folder is looked at once, not once per
  file.  A file of unknown size gets its size (from the listing, else
  ``fstat``) with its first block, so a master or index file takes one round
  trip after its open.  Files and folders are closed without waiting for
  the answer.
* **Cipher.** AES-GCM first (hardware AES makes it twice as fast as
  asyncssh's default ChaCha20-Poly1305 here), then asyncssh's own list.
* Errors are built-in ``OSError`` subclasses (``FileNotFoundError``,
  ``PermissionError``, ``ConnectionError``, ``TimeoutError``); SSH errors of
  the connection itself (host key, login) are passed on for
  :mod:`iactcopy.store.access.urls` to describe.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import logging
import posixpath
import stat
import threading
from typing import Any

from iactcopy.store.access.listings import Listings
from iactcopy.store.access.opensshsftp import FILES_AHEAD, FIRST_BLOCKS, LIST_AHEAD, READ_DEPTH
from iactcopy.store.access.pipelinedread import PipelinedReader, ReadAhead

__all__ = ["CHANNELS", "WINDOW", "SftpClient"]

log = logging.getLogger(__name__)

CHANNELS = 4
"""SFTP sessions opened on the connection (files are spread over them)."""

WINDOW = 32 << 20
"""Bytes a session may have on the way (SSH window): 32 MiB, 320 MB/s at 100 ms."""

_PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


class SftpClient:
    """One SSH connection to a server, for reading files by absolute path.

    Parameters
    ----------
    host : str
    port : int or None
        None: the port of ``~/.ssh/config`` for *host*, else 22.
    username, password : str or None
        As in the URL; None lets asyncssh use the user's SSH set-up.
    timeout : float
        Seconds a connection may take to open, or a read may wait for data.
    depth : int, optional
        Read requests in flight per file. Default: :data:`READ_DEPTH`.
    channels : int, optional
        SFTP sessions to spread the files over. Default: :data:`CHANNELS`.
    """

    def __init__(self, host: str, port: int | None, *, username: str | None = None,
                 password: str | None = None, timeout: float = 60.0,
                 depth: int | None = None, channels: int | None = None):
        import asyncssh

        self.timeout = timeout
        self.depth = READ_DEPTH if depth is None else depth
        channels = CHANNELS if channels is None else channels
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="iactcopy-sftp",
                                        daemon=True)
        self._thread.start()
        self._listings = Listings(self._list)
        self._ahead = ReadAhead(self._start, FILES_AHEAD, FIRST_BLOCKS)
        ciphers = [name for name in _PREFERRED_CIPHERS]
        ciphers += [alg.decode() for alg in asyncssh.encryption.get_default_encryption_algs()
                    if alg.decode() not in ciphers]
        options: dict[str, Any] = {
            # () is asyncssh's "the Port of ~/.ssh/config, else 22".
            "port": () if port is None else port, "connect_timeout": timeout,
            # () is asyncssh's "~/.ssh/known_hosts": an unknown host key is refused.
            "known_hosts": (), "encryption_algs": ciphers,
            # asyncssh's 2 MiB window would cap a session at 2 MiB per round trip.
            "window": WINDOW, "max_pktsize": 1 << 18,
            # A silent server is noticed within about `timeout`.
            "keepalive_interval": timeout / 4, "keepalive_count_max": 3}
        if username:
            options["username"] = username
        if password:
            options["password"] = password
        self._turn = 0
        try:
            self._conn, self._channels = self._run(self._connect(host, options, channels),
                                                   timeout * 2)
        except BaseException:
            self._stop_loop()
            raise

    async def _connect(self, host: str, options: dict, channels: int):
        import asyncssh

        conn = await asyncssh.connect(host, **options)
        try:
            return conn, await asyncio.gather(*(conn.start_sftp_client()
                                                for _ in range(channels)))
        except BaseException:
            conn.close()
            raise

    def _channel(self):
        # Round robin: each SFTP session is served by its own sftp-server
        # process, which answers its requests one after the other.
        self._turn = (self._turn + 1) % len(self._channels)
        return self._channels[self._turn]

    def info(self, path: str) -> dict:
        """``{"type", "size", "mtime", "permissions"}`` of *path* (links followed).

        The first look-up in a folder lists the folder; a name the listing
        does not have is looked up on its own, in case it was made since.
        """
        return self._run(self._info(path))

    async def _info(self, path: str) -> dict:
        folder, name = posixpath.split(path)
        names = await self._listed(folder)
        attrs = None if names is None else names.get(name)
        if names is not None and attrs is None:
            raise FileNotFoundError(errno.ENOENT, "no such file", path)
        if attrs is None or stat.S_ISLNK(attrs.permissions or 0):
            attrs = await _translated(self._channel().stat(path), path)
        return _attrs_dict(attrs)

    async def _listed(self, folder: str) -> dict | None:
        """The attributes of the entries of *folder* by name; None when it cannot be listed."""
        try:
            return await self._listings.get(folder)
        except (OSError, _sftp_errors()) as err:
            log.debug("cannot list %s (%s); looking files up one by one", folder, err)
            return None

    async def _list(self, folder: str) -> dict:
        """List *folder* with :data:`LIST_AHEAD` requests in flight, and close it unawaited."""
        path = folder or "/"
        channel = self._channel()
        handler = channel._handler  # asyncssh's readdir() waits for each batch and the close
        handle = await _translated(handler.opendir(path.encode()), path)
        found: dict = {}
        try:
            at_end = False
            while not at_end:
                # Each request gets the next batch (about 100 names), whatever
                # order the answers come in: asking for several at once costs
                # one round trip, not one per batch.
                batches = await asyncio.gather(
                    *(_translated(handler.readdir(handle), path) for _ in range(LIST_AHEAD)))
                for batch in batches:
                    names, end = batch if isinstance(batch, tuple) else (batch, not batch)
                    at_end = at_end or bool(end) or not names
                    for entry in names:
                        name = entry.filename
                        found[name.decode("utf-8", "surrogateescape")
                              if isinstance(name, bytes) else name] = entry.attrs
        finally:
            self._later(_quiet_close_handle, handler, handle, path)
        return found

    def cat_file(self, path: str) -> bytes:
        """The whole content of *path*."""
        with self.open(path) as reader:
            return reader.read()

    def open(self, path: str, size: int | None = None) -> PipelinedReader:
        """A reader of *path* with :attr:`depth` block requests in flight.

        Parameters
        ----------
        path : str
        size : int, optional
            The size, when known: no block is asked for past it. Default:
            read until the server says end of file.
        """
        return self._ahead.take(path) or self._start(path, size)

    def expect(self, files: list[tuple[str, int | None]]) -> None:
        """Announce the files (path, size) to be opened next: some are opened ahead."""
        self._ahead.expect(files)

    def _start(self, path: str, size: int | None, first: int | None = None) -> PipelinedReader:
        """A reader whose open and first reads are sent, without waiting for them.

        An error of the open is raised by the first read.  Without a *size*,
        the file's size is asked for with its first reads (from the folder
        listing, or by ``fstat``): a file that is shorter than one block
        then takes one round trip after its open, not two.
        """
        channel = self._channel()
        # block_size=0: each read is one request, answered as it comes;
        # asyncssh's own parallel reader would copy each block twice.
        opened = self._submit(_translated(channel.open(path, "rb", block_size=0), path))
        end = self._submit(self._size_of(path, opened)) if size is None else None

        async def read(offset: int, length: int) -> bytes:
            handle = await asyncio.wrap_future(opened)
            if end is not None and offset > 0:
                # Only the blocks past the first wait for the size: it comes
                # back with the first block.
                known = await asyncio.wrap_future(end)
                if known is not None and offset >= known:
                    return b""
            return await _translated(handle.read(length, offset), path)

        def close() -> None:
            def closed(future: concurrent.futures.Future) -> None:
                if not future.cancelled() and future.exception() is None:
                    self._later(_quiet_close, future.result(), path)

            opened.add_done_callback(closed)

        return PipelinedReader(lambda offset, length: self._submit(read(offset, length)), path,
                               block=max(channel.limits.max_read_len, 16 << 10),
                               depth=self.depth, timeout=self.timeout, size=size,
                               on_close=close, first=first)

    async def _size_of(self, path: str, opened: concurrent.futures.Future) -> int | None:
        """The size of the file *path* being *opened*: from its folder's listing, else fstat."""
        folder, name = posixpath.split(path)
        # Started now if it is not under way, for the look-ups that follow
        # (the index files beside a master file, the files a plan looks up).
        listing = self._listings.start(folder)
        try:
            handle = await asyncio.wrap_future(opened)
        except (OSError, _sftp_errors()):
            return None
        if listing.done() and not listing.cancelled() and listing.exception() is None:
            attrs = listing.result().get(name)
            if attrs is not None and not stat.S_ISLNK(attrs.permissions or 0):
                return attrs.size
        try:
            return (await handle.stat()).size
        except (OSError, _sftp_errors()) as err:
            log.debug("no size for %s: %s", path, err)
            return None

    def _submit(self, coroutine) -> concurrent.futures.Future:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def _later(self, function, *args) -> None:
        """Start ``function(*args)`` in the loop, and do not wait for it."""
        # The coroutine is made in the loop: one that a stopped loop never
        # started would be reported as "never awaited".
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(lambda: asyncio.ensure_future(function(*args)))

    def _run(self, coroutine, timeout: float | None = None) -> Any:
        future = self._submit(coroutine)
        try:
            return future.result(self.timeout if timeout is None else timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(errno.ETIMEDOUT, f"no answer in {self.timeout:g} s") from None

    def close(self) -> None:
        """Close the connection, let the closes under way finish, and stop the loop."""
        if self._loop.is_closed():
            return
        self._stop_loop(getattr(self, "_conn", None))

    def _stop_loop(self, conn=None) -> None:
        self._loop.call_soon_threadsafe(lambda: asyncio.ensure_future(_shutdown(conn)))
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    def __del__(self):
        # A client dropped without close() (a connection that broke and was
        # replaced): its connection is closed and its thread ends.
        loop = getattr(self, "_loop", None)
        if loop is not None and not loop.is_closed() and loop.is_running():
            conn = getattr(self, "_conn", None)
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(_shutdown(conn)))


async def _shutdown(conn) -> None:
    """Close *conn*, give the other tasks a second to end, and stop the loop."""
    if conn is not None:
        conn.close()
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    if others:
        await asyncio.wait(others, timeout=1)
    asyncio.get_running_loop().stop()


async def _quiet_close_handle(handler, handle: bytes, path: str) -> None:
    try:
        await handler.close(handle)
    except (OSError, _sftp_errors()) as err:
        log.debug("closing %s: %s", path, err)


async def _quiet_close(handle, path: str) -> None:
    try:
        await handle.close()
    except (OSError, _sftp_errors()) as err:
        log.debug("closing %s: %s", path, err)


async def _translated(awaitable, path: str):
    """Await *awaitable*; an SFTP error becomes the matching built-in OSError."""
    import asyncssh

    try:
        return await awaitable
    except asyncssh.SFTPEOFError:
        return b""
    except (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath) as err:
        raise FileNotFoundError(errno.ENOENT, err.reason or "no such file", path) from err
    except asyncssh.SFTPPermissionDenied as err:
        raise PermissionError(errno.EACCES, err.reason or "permission denied", path) from err
    except (asyncssh.SFTPConnectionLost, asyncssh.SFTPNoConnection) as err:
        raise ConnectionError(errno.ECONNABORTED, err.reason or "connection lost",
                              path) from err
    except asyncssh.SFTPError as err:
        raise OSError(errno.EIO, err.reason or type(err).__name__, path) from err


def _sftp_errors() -> type:
    import asyncssh

    return asyncssh.Error


def _attrs_dict(attrs) -> dict:
    mode = attrs.permissions
    if mode is not None and stat.S_ISDIR(mode):
        kind = "directory"
    elif mode is None or stat.S_ISREG(mode):
        kind = "file"
    else:
        kind = "other"
    mtime = attrs.mtime
    if mtime is not None and attrs.mtime_ns:
        mtime = mtime + attrs.mtime_ns / 1e9
    return {"type": kind, "size": attrs.size, "mtime": mtime, "permissions": mode}
