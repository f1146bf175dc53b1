"""Replace a file atomically: write a temporary file beside it, fsync, rename.

A reader sees either the old content or the new one, never a part; a crash
or a full disk leaves the old file as it was.  Files that must agree with
each other (the two indexes of a store and its master) are written within
one :class:`ReplaceTogether`: each is written to its temporary first, and
only once all of them are written are they renamed, one right after the
other.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import IO

from iactcopy.interrupts import deferred_signals

__all__ = ["ReplaceTogether", "atomic_write", "leftover_temporaries", "write_atomically"]


class ReplaceTogether:
    """Renames the files written with ``atomic_write(..., together=this)`` at the end.

    A full disk or any other error while one of them is written leaves every
    old file as it was, so files that must agree never disagree because of
    it.  Only a crash between the renames, a window of a few system calls,
    leaves some files new and others old: Ctrl-C, SIGTERM and SIGHUP are
    held back over them and take effect once all are done
    (:func:`~iactcopy.interrupts.deferred_signals`).

    Used as a context manager: :meth:`commit` when the block ends normally,
    :meth:`discard` when it raises.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[str, str]] = []

    def __enter__(self) -> ReplaceTogether:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()

    def add(self, tmp: str, path: str) -> None:
        """Rename the complete temporary *tmp* onto *path* at :meth:`commit`."""
        self._pending.append((tmp, path))

    def commit(self) -> None:
        """Rename every temporary into place, in the order they were written."""
        pending, self._pending = self._pending, []
        with deferred_signals():
            done = 0
            try:
                for tmp, path in pending:
                    os.replace(tmp, path)
                    done += 1
            finally:
                for tmp, _ in pending[done:]:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(tmp)
            for folder in dict.fromkeys(os.path.dirname(path) or "." for _, path in pending):
                _fsync_folder(folder)

    def discard(self) -> None:
        """Remove the temporaries: every file stays as it was."""
        pending, self._pending = self._pending, []
        for tmp, _ in pending:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", *, encoding: str | None = "utf-8",
                 newline: str | None = None, fsync: bool = True,
                 permissions: int | None = None,
                 together: ReplaceTogether | None = None) -> Iterator[IO]:
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
    together : ReplaceTogether, optional
        Leave the complete temporary for *together* to rename with the files
        written with it. Default: rename it at once.

    Raises
    ------
    OSError
        When the temporary file cannot be written or renamed; *path* is then
        unchanged and the temporary file removed. An error that names no
        file (a failed write) is raised again naming *path*.
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
    # Imported here: 4 ms of start-up that runs which only read do without.
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part",
                                   dir=folder)
    except OSError as err:
        # The temporary's random name would mean nothing to a user.
        raise OSError(err.errno, err.strerror, path) from err
    try:
        kwargs = {} if mode == "wb" else {"encoding": encoding, "newline": newline}
        with os.fdopen(fd, mode, **kwargs) as stream:
            yield stream
            stream.flush()
            if fsync:
                os.fsync(stream.fileno())
        os.chmod(tmp, permissions)
        if together is not None:
            together.add(tmp, path)
            return
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.filename is None and err.errno is not None:
            # A failed write (a full disk) names no file; the caller's message should.
            raise OSError(err.errno, err.strerror, path) from err
        raise
    if fsync:
        _fsync_folder(folder)


def write_atomically(path: str | os.PathLike, data: str | bytes, **kwargs) -> None:
    """Write *data* (text or bytes) to *path* through :func:`atomic_write`."""
    mode = "wb" if isinstance(data, bytes) else "w"
    with atomic_write(path, mode, **kwargs) as stream:
        stream.write(data)


def leftover_temporaries(path: str | os.PathLike) -> list[str]:
    """The temporaries of *path* that :func:`atomic_write` made and nobody renamed yet.

    They are named ``.<name>.<random>.part``.  Found while every writer of
    *path* is excluded (a lock), they are leftovers of a killed run.

    Parameters
    ----------
    path : str or path-like
        The file the temporaries were for.

    Returns
    -------
    list of str
        Their paths (none when the folder does not exist).
    """
    folder, name = os.path.split(os.fspath(path))
    try:
        with os.scandir(folder or ".") as entries:
            return [entry.path for entry in entries
                    if entry.name.startswith(f".{name}.") and entry.name.endswith(".part")
                    and entry.is_file(follow_symlinks=False)]
    except (FileNotFoundError, NotADirectoryError):
        return []


def _fsync_folder(folder: str) -> None:
    # The rename is durable only once the folder entry is on disk too.
    # Some file systems cannot open or fsync a folder; the data itself is safe then.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
