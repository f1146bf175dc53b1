"""Replace a file atomically: write a temporary file beside it, fsync, rename.

A reader sees either the old content or the new one, never a part; a crash
or a full disk leaves the old file as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import IO

__all__ = ["atomic_write", "write_atomically"]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", *, encoding: str | None = "utf-8",
                 newline: str | None = None, fsync: bool = True,
                 permissions: int | None = None) -> Iterator[IO]:
    """Open a temporary file next to *path*; on success it replaces *path*.

    Parameters
    ----------
    path : path-like
        The file to replace (or create).
    mode : {"w", "wb"}
        Text or binary mode. Default is "w".
    encoding, newline : str, optional
        As for :func:`open`, in text mode only.
    fsync : bool
        Flush the data to disk before the rename. Default is True.
    permissions : int, optional
        Mode bits of the new file. Default: those of the file replaced, or
        0o666 less the umask for a new file.

    Raises
    ------
    OSError
        When the temporary file cannot be written or renamed; *path* is then
        unchanged and the temporary file removed.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', not {mode!r}")
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    if permissions is None:
        try:
            permissions = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            permissions = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part", dir=folder)
    try:
        kwargs = {} if mode == "wb" else {"encoding": encoding, "newline": newline}
        with os.fdopen(fd, mode, **kwargs) as stream:
            yield stream
            stream.flush()
            if fsync:
                os.fsync(stream.fileno())
        os.chmod(tmp, permissions)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if fsync:
        _fsync_folder(folder)


def write_atomically(path: str | os.PathLike, data: str | bytes, **kwargs) -> None:
    """Write *data* (text or bytes) to *path* through :func:`atomic_write`."""
    mode = "wb" if isinstance(data, bytes) else "w"
    with atomic_write(path, mode, **kwargs) as stream:
        stream.write(data)


def _fsync_folder(folder: str) -> None:
    # The rename is durable only once the folder entry is on disk too.
    # Some file systems cannot open or fsync a folder; the data itself is safe then.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
