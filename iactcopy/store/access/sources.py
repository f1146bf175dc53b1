"""Where remote files are read from: a store root and a few primitives.

A :class:`Source` names files by POSIX paths relative to its root and offers
three primitives, :meth:`~Source.info`, :meth:`~Source.open` and
:meth:`~Source.copy_to` (and :meth:`~Source.read_bytes`, built on ``open``);
everything else (planning, locking, renaming) lives in
:mod:`iactcopy.store.transfer`, written once on top of them.
:class:`LocalSource` reads a folder on a local disk or a mount;
:class:`iactcopy.store.access.urls.FsspecSource` reads URLs (fsspec: http, sftp).

A relative path is checked before any I/O (:func:`check_relpath`): an absolute
path, an empty one, or one whose ``..`` leaves the root raises
:class:`UnsafePath`. :class:`LocalSource` also resolves symbolic links and
refuses a path whose real location is outside the real root.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import logging
import os
import posixpath
import stat
from dataclasses import dataclass
from typing import BinaryIO, Union

from iactcopy.errors import IactcopyError

__all__ = ["CHUNK_SIZE", "FileInfo", "LocalSource", "Source", "UnsafePath", "check_relpath",
           "is_inside"]

log = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20
"""Bytes per read in the portable copy loop (1 MiB)."""

FAST_CHUNK_SIZE = 8 << 20
"""Bytes per kernel copy call (8 MiB): large enough to cost nothing, small
enough that a progress bar moves and a cancellation is seen quickly."""

# errno values that mean "this kernel copy call is not possible here; use a
# slower one", as opposed to a genuine read or write error.
_NO_FAST_COPY = frozenset(
    code for code in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP,
                      getattr(errno, "ENOTSUP", None), errno.ENOTSOCK, errno.EBADF,
                      errno.EPERM)
    if code is not None
)

Destination = Union[str, "os.PathLike[str]", BinaryIO]


class UnsafePath(IactcopyError, ValueError):
    """A relative path that is absolute, empty, or leaves the store root.

    Parameters
    ----------
    relpath : str
        The path as given.
    why : str
        What is wrong with it.
    """

    def __init__(self, relpath: str, why: str):
        self.relpath = relpath
        self.why = why
        super().__init__(f"unsafe path {relpath!r}: {why}")


@dataclass(frozen=True)
class FileInfo:
    """What a copy needs to know about a remote file.

    Parameters
    ----------
    size : int
        Size in bytes.
    mtime : float or None
        Modification time (POSIX seconds), None when the source cannot tell.
    mtime_ns : int, optional
        The same in nanoseconds when the source knows it exactly; a copy then
        keeps it exactly.
    mode : int, optional
        Permission bits, when the source has them.
    """

    size: int
    mtime: float | None
    mtime_ns: int | None = None
    mode: int | None = None

    @property
    def mtime_as_ns(self) -> int | None:
        """The modification time in nanoseconds, or None."""
        if self.mtime_ns is not None:
            return self.mtime_ns
        if self.mtime is None:
            return None
        return round(self.mtime * 1e9)


def check_relpath(relpath: str | os.PathLike) -> str:
    """Return *relpath* normalised, or raise if it could leave the root.

    Parameters
    ----------
    relpath : str or path-like
        A POSIX path relative to a store root.

    Returns
    -------
    str
        The normalised path (``a/./b//c`` becomes ``a/b/c``).

    Raises
    ------
    UnsafePath
        When the path is empty, absolute, holds a NUL character, or its
        ``..`` components lead out of the root.

    Examples
    --------
    >>> check_relpath("data/../data/run_1.fits")
    'data/run_1.fits'
    """
    text = os.fspath(relpath)
    if not isinstance(text, str):
        raise TypeError(f"a relative path must be text, not {type(text).__name__}")
    if "\0" in text:
        raise UnsafePath(text, "it contains a NUL character")
    if text.startswith("/"):
        raise UnsafePath(text, "it is absolute")
    norm = posixpath.normpath(text)
    if norm in ("", "."):
        raise UnsafePath(text, "it names no file")
    if norm == ".." or norm.startswith("../"):
        raise UnsafePath(text, "it leads out of the store root")
    return norm


def is_inside(path: str, root: str) -> bool:
    """Tell whether the absolute *path* is *root* or lies below it (no I/O)."""
    if root == os.sep:
        return path.startswith(os.sep)
    return path == root or path.startswith(root + os.sep)


class Source:
    """A tree of files below a root, read by POSIX relative paths.

    Subclasses implement :meth:`info` and :meth:`open`; :meth:`copy_to` has a
    portable default that reads in :data:`CHUNK_SIZE` pieces.

    Attributes
    ----------
    root : str
        The store root, as a path or URL.
    is_local : bool
        True when the files are on a local file system (or a mount).
    network_lookups : bool
        True when each :meth:`info` waits for a network round trip, so that
        looking many files up in parallel pays: so for a URL; for a
        :class:`LocalSource`, when its folder is on a network or FUSE mount.
    """

    root: str = ""
    is_local: bool = False
    network_lookups: bool = True

    def info(self, relpath: str) -> FileInfo:
        """Return the size and modification time of a regular file.

        Raises
        ------
        UnsafePath
            When *relpath* could leave the root.
        FileNotFoundError, PermissionError, OSError
            When the file is missing, unreadable or not a regular file.
        """
        raise NotImplementedError

    def open(self, relpath: str) -> BinaryIO:
        """Open a file for reading in binary mode (same errors as :meth:`info`)."""
        raise NotImplementedError

    def expect(self, relpaths: list[str]) -> None:
        """A hint: these files will be copied next, in this order.

        A remote source may start reading some of them ahead; the default
        does nothing.
        """

    def read_bytes(self, relpath: str) -> bytes:
        """Return the whole content of a small file, such as an index (errors as :meth:`open`)."""
        with self.open(relpath) as src:
            return src.read()

    def copy_to(self, relpath: str, dest: Destination, callback=None) -> int:
        """Copy a file into *dest* and return the number of bytes copied.

        Parameters
        ----------
        relpath : str
            The file, relative to :attr:`root`.
        dest : path-like or binary file object
            A path (created or truncated) or a file open for binary writing,
            written from its current position.
        callback : object, optional
            Anything with a ``relative_update(nbytes)`` method, called after
            each piece is written (e.g. a :class:`iactcopy.store.transfer.copyfiles.Callback`).
            An exception it raises stops the copy. Default: none.

        Raises
        ------
        UnsafePath, OSError
            As :meth:`info`; also any error reading or writing.
        """
        with self.open(relpath) as src, _output(dest) as out:
            return _copy_stream(src, out, callback)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root!r})"


class LocalSource(Source):
    """The files below a folder on a local disk or a mounted file system.

    Copies go through the kernel (``copy_file_range``, else ``sendfile``),
    as ``cp`` does, in :data:`FAST_CHUNK_SIZE` pieces; the portable read
    loop is the last resort.

    Parameters
    ----------
    root : str or path-like
        The store folder. It need not exist yet: files are looked up lazily.
    """

    is_local = True

    def __init__(self, root: str | os.PathLike):
        self.root = os.path.abspath(os.fspath(root))
        self._real_root = os.path.realpath(self.root)
        # Real path of each folder already checked: resolving every component
        # of every file costs more than the copy of a small file.
        self._real_folders: dict = {"": self._real_root}

    @functools.cached_property
    def network_lookups(self) -> bool:
        """Whether the folder is on a network or FUSE mount (read from the mount table)."""
        from iactcopy.store.access.mounts import on_network_file_system

        return on_network_file_system(self._real_root)

    @classmethod
    def of_master(cls, master: str) -> LocalSource:
        """The source of the folder holding the master file *master* (a path)."""
        return cls(os.path.dirname(os.path.abspath(master)))

    def local_path(self, relpath: str) -> str:
        """Return the real path of *relpath*, after all safety checks.

        Each existing folder is resolved once per source; the file name
        itself is looked at every time. The file need not exist.

        Raises
        ------
        UnsafePath
            When *relpath* is unsafe, or a symbolic link takes it outside the
            real root.
        OSError
            When the path cannot be looked at (but not when it is missing).
        """
        return self._resolve(relpath, must_exist=False)[0]

    def info(self, relpath: str) -> FileInfo:
        path, st = self._resolve(relpath)
        if st is None:
            st = os.stat(path)
        _require_regular(st, path)
        return FileInfo(size=st.st_size, mtime=st.st_mtime, mtime_ns=st.st_mtime_ns,
                        mode=stat.S_IMODE(st.st_mode))

    def open(self, relpath: str) -> BinaryIO:
        fd, _ = self._open_fd(relpath)
        return os.fdopen(fd, "rb")

    def copy_to(self, relpath: str, dest: Destination, callback=None) -> int:
        fd_in, size = self._open_fd(relpath)
        with contextlib.ExitStack() as stack:
            stack.callback(os.close, fd_in)
            if isinstance(dest, (str, os.PathLike)):
                fd_out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                                 0o666)
                stack.callback(os.close, fd_out)
            elif isinstance(dest, io.FileIO):
                fd_out = dest.fileno()
            else:
                # A buffered or foreign file object keeps its own position and
                # buffer: only the portable loop writes into it correctly.
                src = stack.enter_context(os.fdopen(fd_in, "rb", closefd=False))
                return _copy_stream(src, dest, callback)
            return _copy_fds(fd_in, fd_out, size, callback)

    def _resolve(self, relpath: str, must_exist: bool = True) -> tuple:
        """Return (real path, its lstat result, or None when a link or missing)."""
        norm = check_relpath(relpath)
        folder, _, name = norm.rpartition("/")
        real_folder = self._real_folders.get(folder)
        if real_folder is None:
            real_folder = self._inside(relpath, os.path.join(self._real_root, folder))
            if os.path.isdir(real_folder):  # a missing one may yet become a link
                self._real_folders[folder] = real_folder
        path = os.path.join(real_folder, name)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            if must_exist:
                raise
            return path, None
        if stat.S_ISLNK(st.st_mode):
            return self._inside(relpath, path), None
        return path, st

    def _inside(self, relpath: str, path: str) -> str:
        real = os.path.realpath(path)
        if not is_inside(real, self._real_root):
            raise UnsafePath(relpath, f"a symbolic link takes it to {real!r}, outside "
                                      f"{self._real_root!r}")
        return real

    def _open_fd(self, relpath: str) -> tuple:
        """Open a checked file; return (descriptor, size)."""
        path, _ = self._resolve(relpath)
        # O_NOFOLLOW: a link put in place since the check is not followed.
        # O_NONBLOCK: a FIFO put in place of a data file must not hang the run.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOFOLLOW)
        try:
            st = os.fstat(fd)
            _require_regular(st, path)
        except BaseException:
            os.close(fd)
            raise
        return fd, st.st_size


def _require_regular(st: os.stat_result, path: str) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", path)
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EINVAL, "is not a regular file", path)


def _copy_fds(fd_in: int, fd_out: int, size: int, callback) -> int:
    """Copy from the current offset of *fd_in* to the end, through the kernel."""
    total = 0
    methods = ["sendfile", "read"]
    if hasattr(os, "copy_file_range"):
        methods.insert(0, "copy_file_range")
    method = methods.pop(0)
    while True:
        try:
            if method == "copy_file_range":
                n = os.copy_file_range(fd_in, fd_out, FAST_CHUNK_SIZE)
            elif method == "sendfile":
                n = os.sendfile(fd_out, fd_in, None, FAST_CHUNK_SIZE)
            else:
                data = os.read(fd_in, CHUNK_SIZE)
                n = len(data)
                _write_all_fd(fd_out, data)
        except OSError as err:
            if method == "read" or err.errno not in _NO_FAST_COPY:
                raise
            log.debug("%s not possible (%s), trying %s", method, err, methods[0])
            method = methods.pop(0)
            continue
        if n == 0 and total == 0 and size > 0 and method != "read":
            # Some file systems (procfs-like, some FUSE) answer 0 to kernel
            # copies of files that do have data.
            method = methods.pop(0)
            continue
        if n == 0:
            return total
        total += n
        if callback is not None:
            callback.relative_update(n)


def _copy_stream(src: BinaryIO, out: BinaryIO, callback) -> int:
    total = 0
    while True:
        data = src.read(CHUNK_SIZE)
        if not data:
            return total
        write_all(out, data)
        total += len(data)
        if callback is not None:
            callback.relative_update(len(data))


@contextlib.contextmanager
def _output(dest: Destination):
    if isinstance(dest, (str, os.PathLike)):
        with open(dest, "wb") as out:
            yield out
    else:
        yield dest


def write_all(out: BinaryIO, data: bytes) -> None:
    """Write all of *data*: a raw (unbuffered) file may write less than asked."""
    view = memoryview(data)
    while view:
        n = out.write(view)
        if n is None:
            raise BlockingIOError(errno.EAGAIN, "the output would block")
        view = view[n:]


def _write_all_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
