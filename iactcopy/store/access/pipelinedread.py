"""A remote file read with many block requests in flight, handed over in order.

:class:`PipelinedReader` is the file object that
:class:`~iactcopy.store.access.opensshsftp.OpenSshSftpClient`,
:class:`~iactcopy.store.access.sftp.SftpClient` and
:class:`~iactcopy.store.access.xrootd.XRootDClient` return: it keeps *depth*
block requests outstanding (each a :class:`concurrent.futures.Future` that
the client completes when the answer arrives) and gives the blocks back in file order, so that a
copy writes sequentially while the link stays busy: a transfer is bound by
bandwidth, not by one round trip per block.
"""

from __future__ import annotations

import collections
import concurrent.futures
import errno
import threading
from collections.abc import Callable

__all__ = ["PipelinedReader", "ReadAhead"]


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
    first : int, optional
        Requests sent at first, fewer than *depth* for a file read ahead of
        the copy (:meth:`deepen` lifts the limit). Default: *depth*.
    """

    def __init__(self, request: Callable[[int, int], concurrent.futures.Future], path: str, *,
                 block: int, depth: int, timeout: float, size: int | None = None,
                 on_close: Callable[[], None] | None = None, first: int | None = None):
        self._request = request
        self._path = path
        self._block = block
        self._full_depth = depth
        self._depth = depth if first is None else max(1, min(first, depth))
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

    def deepen(self) -> None:
        """Keep *depth* requests outstanding from now on (for a reader started with fewer)."""
        self._depth = self._full_depth
        if not self._done:
            self._fill()

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
        # Requests in flight are left to finish, not cancelled: a client
        # library that answers a cancelled request complains on stderr.
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


class ReadAhead:
    """Readers started before they are asked for: the next files a copy will open.

    A copy of many small files spends its time waiting for each open and its
    first blocks; with the files announced (:meth:`expect`), the next
    *files* of them are opened and their first blocks asked for while
    earlier ones are still being read, so even one copy thread keeps the
    link busy.

    Parameters
    ----------
    start : callable
        ``start(path, size, first)`` returns a :class:`PipelinedReader`
        without waiting for the server (its requests in flight), *first*
        of them at first.
    files : int
        Files read ahead at most.
    first : int
        Requests each file read ahead sends before the copy takes it: with
        many files ahead, a few blocks of each keep the link busy without
        holding whole large files in memory.
    """

    def __init__(self, start: Callable[[str, int | None, int], PipelinedReader], files: int,
                 first: int):
        self._start = start
        self._files = files
        self._first = first
        self._lock = threading.Lock()
        self._expected: collections.deque = collections.deque()
        self._ahead: dict[str, tuple[int, PipelinedReader]] = {}
        self._started = 0

    def expect(self, files: list[tuple[str, int | None]]) -> None:
        """Announce the files (path, size) that will be opened next, in order."""
        with self._lock:
            self._expected = collections.deque(files)
            stale, self._ahead = list(self._ahead.values()), {}
        for _, reader in stale:
            reader.close()
        self._fill()

    def take(self, path: str) -> PipelinedReader | None:
        """The reader started for *path*, or None; readers skipped over are closed."""
        skipped = []
        with self._lock:
            found = self._ahead.pop(path, None)
            if found is not None:
                # Started before this one and not taken: the copy went past
                # them (the file was written meanwhile by another process).
                skipped = [self._ahead.pop(other) for other, (rank, _) in
                           list(self._ahead.items()) if rank < found[0]]
        for _, reader in skipped:
            reader.close()
        self._fill()
        if found is None or found[1] is _PLACEHOLDER:
            return None
        found[1].deepen()
        return found[1]

    def _fill(self) -> None:
        while True:
            with self._lock:
                if not self._expected or len(self._ahead) >= self._files:
                    return
                path, size = self._expected.popleft()
                self._started += 1
                rank = self._started
                # Reserved before it is started: other threads count it.
                self._ahead[path] = (rank, _PLACEHOLDER)
            reader = self._start(path, size, self._first)
            with self._lock:
                if self._ahead.get(path, (None,))[0] == rank:
                    self._ahead[path] = (rank, reader)
                    continue
            reader.close()  # taken or dropped while it started


class _Placeholder:
    """Stands for a reader being started: taking it gives nothing, closing it nothing."""

    def close(self) -> None:
        pass

    def deepen(self) -> None:
        pass


_PLACEHOLDER = _Placeholder()
