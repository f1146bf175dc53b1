"""The data store layer: what csiactdata, csfindobs and csiactcopy ask of a data store.

Its rooms, each a sub-package (docs/architecture.rst):

``access``
    Reading remote files: local folders and mounts, ``https://``, ``sftp://``
    and ``root://`` stores, their credentials and their errors.
``fits``
    FITS files at the level of bytes and headers, with no table semantics.
``index``
    HDU and OBS index tables and files: reading, selecting, merging.
``transfer``
    Copying files: the plan, the ``.part`` files, the content checks.
``local``
    The local store csiactcopy keeps: its folders, lock, stamp and update.

At this level: :mod:`~iactcopy.store.master` (master.json),
:mod:`~iactcopy.store.runlist`, :mod:`~iactcopy.store.layout` (where things
are in a store), :mod:`~iactcopy.store.indexfetch` and
:mod:`~iactcopy.store.remotestore` (a remote store and its selections).

The names below are imported when first used, so ``import iactcopy.store``
loads no numpy or fitsio.
"""

from __future__ import annotations

from iactcopy.lazyface import lazy_face

TYPE_CHECKING = False

_PUBLIC = {
    "MasterIndex": ("iactcopy.store.master", "MasterIndex"),
    "Production": ("iactcopy.store.master", "Production"),
    "RemoteStore": ("iactcopy.store.remotestore", "RemoteStore"),
    "Selection": ("iactcopy.store.remotestore", "Selection"),
    "read_runlist": ("iactcopy.store.runlist", "read_runlist"),
    "write_runlist": ("iactcopy.store.runlist", "write_runlist"),
}

__all__ = ["MasterIndex", "Production", "RemoteStore", "Selection", "read_runlist",
           "write_runlist"]

if TYPE_CHECKING:
    from iactcopy.store.master import MasterIndex, Production
    from iactcopy.store.remotestore import RemoteStore, Selection
    from iactcopy.store.runlist import read_runlist, write_runlist

__getattr__, __dir__ = lazy_face(__name__, globals(), _PUBLIC)
