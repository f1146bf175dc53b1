"""The folders of a local store, opened one component at a time from a descriptor.

A copy writes into ``outpath/<folder>`` through a descriptor of that folder,
opened afresh for each file from a descriptor of ``outpath`` with
``O_DIRECTORY | O_NOFOLLOW`` on every component (:func:`open_folder`).  A
folder swapped for a symbolic link while a run copies is then never followed
blindly: a link is resolved and allowed only when its real location is inside
the real ``outpath``, and the walk starts again from ``outpath`` along that
real location, with the same checks.  Once a file's folder is open, its
``.part``, its rename and its clean-up all happen in that very folder,
wherever a swap moves names meanwhile (docs/differences.rst, "Folders stay
inside outpath").
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat

from iactcopy.store.access.sources import UnsafePath, is_inside

__all__ = ["open_folder", "open_root"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_MAX_LINKS = 40  # as the kernel's limit on links followed in one path


def open_root(outpath: str, *, create: bool = True) -> int:
    """Open *outpath* (creating it unless *create* is False) and return a descriptor of it.

    Links in *outpath* itself are the user's choice and followed; below it,
    :func:`open_folder` follows none blindly.
    """
    if create:
        os.makedirs(outpath, exist_ok=True)
    return os.open(outpath, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def open_folder(root_fd: int, real_root: str, folder: str, relpath: str, *,
                create: bool) -> int:
    """Open the folder *folder* (POSIX, relative; ``""`` is the root) below *root_fd*.

    Parameters
    ----------
    root_fd : int
        A descriptor of the local store folder (:func:`open_root`).
    real_root : str
        Its real path, which no link may lead out of.
    folder : str
        The folder, relative to the root.
    relpath : str
        The file the folder is opened for, named in errors.
    create : bool
        Create missing folders.

    Returns
    -------
    int
        A descriptor of the folder; the caller closes it.

    Raises
    ------
    UnsafePath
        When a component is a symbolic link whose real location is outside
        *real_root*.
    OSError
        When a component is missing (and *create* is False), is not a folder,
        or cannot be opened.
    """
    parts = [part for part in folder.split("/") if part] if folder else []
    return _walk(root_fd, real_root, parts, relpath, create, 0)


def _walk(root_fd: int, real_root: str, parts: list[str], relpath: str, create: bool,
          links: int) -> int:
    fd = os.dup(root_fd)
    try:
        for depth, name in enumerate(parts):
            try:
                child = _open_child(fd, name, create)
            except OSError as err:
                if err.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                here = "/".join(parts[:depth + 1])
                if not stat.S_ISLNK(os.lstat(name, dir_fd=fd).st_mode):
                    raise NotADirectoryError(errno.ENOTDIR, "is not a folder",
                                             os.path.join(real_root, here)) from err
                if links >= _MAX_LINKS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP),
                                  os.path.join(real_root, here)) from err
                real = os.path.realpath(os.path.join(real_root, here))
                if not is_inside(real, real_root):
                    raise UnsafePath(relpath, f"the local folder {here!r} is a symbolic link "
                                              f"to {real!r}, outside {real_root!r}") from err
                inside = os.path.relpath(real, real_root)
                rest = ([] if inside == "." else inside.split(os.sep)) + parts[depth + 1:]
                os.close(fd)
                fd = -1
                return _walk(root_fd, real_root, rest, relpath, create, links + 1)
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        if fd >= 0:
            os.close(fd)
        raise


def _open_child(fd: int, name: str, create: bool) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=fd)
    except FileNotFoundError:
        if not create:
            raise
    # Made by another run meanwhile is as good as made here.
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, 0o777, dir_fd=fd)
    return os.open(name, _DIR_FLAGS, dir_fd=fd)
