"""Index files read through a source: in place, or fetched into memory.

From a :class:`~iactcopy.store.access.sources.LocalSource` the file is read where
it is.  From a remote source the file is fetched (with the retries of
:class:`~iactcopy.store.access.urls.FsspecSource`) into memory; fitsio, which
opens files only by name, then reads an anonymous in-memory file
(:mod:`iactcopy.store.fits.memoryfile`), removed as soon as the table is read:
nothing is written beside the store or the local copy.  Messages name the
URL, not the temporary.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from iactcopy.errors import IactcopyError, IndexTableError
from iactcopy.store.access.sources import LocalSource, Source, UnsafePath, check_relpath
from iactcopy.store.access.urls import FsspecSource, error_reason
from iactcopy.store.fits.memoryfile import memory_file

if TYPE_CHECKING:
    from iactcopy.store.index.files import IndexFile

__all__ = ["fits_file", "has_index", "read_index"]

log = logging.getLogger(__name__)


@contextlib.contextmanager
def fits_file(source: Source, relpath: str) -> Iterator[str]:
    """A local path fitsio can open, holding the file *relpath* of *source*.

    For a :class:`LocalSource` this is the file itself (after the checks of
    :meth:`LocalSource.local_path`); otherwise the file is fetched into
    memory (module notes) for the time of the ``with`` block.  An
    :class:`~iactcopy.errors.IactcopyError` raised in the block that names the
    temporary is raised again naming the URL.

    Raises
    ------
    UnsafePath
        When *relpath* could leave the store.
    IndexTableError
        When the file is missing or cannot be fetched.
    """
    if isinstance(source, LocalSource):
        yield source.local_path(relpath)
        return
    url, data = _fetch(source, relpath)
    with memory_file(data, relpath.rpartition("/")[2]) as path:
        try:
            yield path
        except IactcopyError as err:
            renamed = _renamed(err, path, url)
            if renamed is err:
                raise
            raise renamed from err


def read_index(source: Source, relpath: str, kind: str) -> IndexFile:
    """Read the index file *relpath* of *source*, with its index tables of *kind*.

    A remote file is fetched into memory; its bytes are kept, so that a copy
    of it can be the very file the store serves.

    Returns
    -------
    IndexFile
        With ``path`` the file's path, or its URL for a remote source.

    Raises
    ------
    UnsafePath, IndexTableError
        As :func:`fits_file` and :meth:`IndexFile.read`.
    """
    from iactcopy.store.index.files import IndexFile

    if isinstance(source, LocalSource):
        return IndexFile.read(source.local_path(relpath), kind)
    url, data = _fetch(source, relpath)
    return IndexFile.from_bytes(data, kind, url)


def has_index(source: Source, relpath: str, kind: str) -> bool:
    """Tell whether *relpath* of *source* holds a usable index table of *kind*.

    Only headers are parsed (a remote file is fetched whole).  The reason for
    a False is logged: at debug level for a missing or unusable file, as a
    warning when the file could not be fetched or leaves the store.
    """
    from iactcopy.store.index.tablefinder import check_index_table

    try:
        with fits_file(source, relpath) as path:
            check_index_table(path, kind)
    except IndexTableError as err:
        fetch_failed = (isinstance(err.__cause__, OSError)
                        and not isinstance(err.__cause__, FileNotFoundError))
        log.log(logging.WARNING if fetch_failed else logging.DEBUG, "%s", err)
        return False
    except UnsafePath as err:
        log.warning("%s index %r: %s", kind, relpath, err)
        return False
    return True


def _fetch(source: Source, relpath: str) -> tuple[str, bytes]:
    """The URL of the remote file *relpath* and its bytes; IndexTableError when it cannot be had."""
    url = _where(source, relpath)
    try:
        data = source.read_bytes(relpath)
    except FileNotFoundError as err:
        raise IndexTableError(f'Index file "{url}" not found.') from err
    except OSError as err:
        raise IndexTableError(f'Index file "{url}" cannot be read: {error_reason(err)}.') from err
    return url, data


def _where(source: Source, relpath: str) -> str:
    """The URL of *relpath*, for messages (checked before it is built)."""
    if isinstance(source, FsspecSource):
        return source.url(relpath)
    return f"{source.root}/{check_relpath(relpath)}"


def _renamed(err: IactcopyError, old: str, new: str) -> IactcopyError:
    """*err* again with *old* replaced by *new* in its message, when it names *old*."""
    text = str(err)
    if old not in text:
        return err
    try:
        return type(err)(text.replace(old, new))
    except TypeError:  # an error class with other constructor arguments
        return err
