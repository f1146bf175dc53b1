"""Reading the files of a remote store: folders and mounts, ``https://``, ``sftp://`` and
``root://``, with their credentials and what their errors mean.

The names below are imported when first used: importing the package costs nothing.
"""

from __future__ import annotations

from iactcopy.lazyface import lazy_face

TYPE_CHECKING = False

_PUBLIC = {
    "FileInfo": ("iactcopy.store.access.sources", "FileInfo"),
    "LocalSource": ("iactcopy.store.access.sources", "LocalSource"),
    "Source": ("iactcopy.store.access.sources", "Source"),
    "is_url": ("iactcopy.store.access.urls", "is_url"),
    "local_path": ("iactcopy.store.access.urls", "local_path"),
    "open_source": ("iactcopy.store.access.urls", "open_source"),
}

__all__ = ["FileInfo", "LocalSource", "Source", "is_url", "local_path", "open_source"]

if TYPE_CHECKING:
    from iactcopy.store.access.sources import FileInfo, LocalSource, Source
    from iactcopy.store.access.urls import is_url, local_path, open_source

__getattr__, __dir__ = lazy_face(__name__, globals(), _PUBLIC)
