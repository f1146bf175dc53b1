"""A remote file read with many block requests in flight, handed over in order.

:class:`PipelinedReader` is the file object that
:class:`~iactcopy.store.sftpclient.SftpClient` and
:class:`~iactcopy.store.xrootdclient.XRootDClient` return: it keeps *depth*
block requests outstanding (each a :class:`concurrent.futures.Future` run by
the client's event loop) and gives the blocks back in file order, so that a
copy writes sequentially while the link stays busy: a transfer is bound by
bandwidth, not by one round trip per block.
"""

from __future__ import annotations

import collections
import concurrent.futures
import errno
from collections.abc import Callable

__all__ = ["PipelinedReader"]


class PipelinedReader:
    """Read a remote file in blocks, *depth* of them requested ahead.

    Parameters
    ----------
    request : callable
        ``request(offset, length)`` sends one read and returns a future of
        its bytes (fewer than *length* at the end of the file, ``b""`` past
        it).
    path : str
        Named in errors.
    block : int
        Bytes per request.
    depth : int
        Requests kept outstanding.
    timeout : float
        Seconds to wait for a block before the read fails with TimeoutError.
    size : int, optional
        The file size when known: nothing is asked for past it. Default: read
        until a request comes back empty.
    on_close : callable, optional
        Called once by :meth:`close` (to close the remote file). Default: none.
    """

    def __init__(self, request: Callable[[int, int], concurrent.futures.Future], path: str, *,
                 block: int, depth: int, timeout: float, size: int | None = None,
                 on_close: Callable[[], None] | None = None):
        self._request = request
        self._path = path
        self._block = block
        self._depth = depth
        self._timeout = timeout
        self._size = size
        self._on_close = on_close
        self._next = 0  # the offset of the next block to ask for
        self._done = False
        self._left = b""
        self._pending: collections.deque = collections.deque()
        self._fill()

    def _fill(self) -> None:
        while len(self._pending) < self._depth and (self._size is None
                                                     or self._next < self._size):
            length = self._block if self._size is None else min(self._block,
                                                                 self._size - self._next)
            self._pending.append((self._next, length, self._request(self._next, length)))
            self._next += length

    def read(self, size: int = -1) -> bytes:
        """At most *size* bytes (all that is left when negative); ``b""`` at the end.

        A positive *size* gets at most one block: what has arrived, without
        waiting for the blocks behind it.
        """
        if size is None or size < 0:
            return b"".join([self._left, *iter(self._next_block, b"")])
        if not self._left:
            self._left = self._next_block()
        data, self._left = self._left[:size], self._left[size:]
        return data

    def _next_block(self) -> bytes:
        if self._done or not self._pending:
            return b""
        offset, length, future = self._pending.popleft()
        try:
            data = future.result(self._timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(errno.ETIMEDOUT, f"no data in {self._timeout:g} s",
                               self._path) from None
        if not data:
            self._done = True
            return b""
        if len(data) < length:
            # A short read (the server's choice, or the end of a file that
            # shrank): the rest is asked for before what follows, to keep order.
            rest = offset + len(data)
            self._pending.appendleft((rest, length - len(data),
                                      self._request(rest, length - len(data))))
        self._fill()
        return data

    def close(self) -> None:
        """Forget the blocks not read yet and close the remote file (without waiting)."""
        for _, _, future in self._pending:
            future.cancel()
        self._pending.clear()
        self._done = True
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    def readable(self) -> bool:
        return True

    def __enter__(self) -> PipelinedReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
