"""Where ``datapath`` and ``master_indx`` point: shared by csiactdata and csfindobs.

ctools wrote this chain three times with three messages; it
lives here once.  ``datapath`` is a folder, or an ``http(s)://``,
``sftp://`` or ``file://`` URL of one (:mod:`iactcopy.store.access.urls`); a
folder is read exactly as before, at the paths the master file gives.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

from iactcopy.errors import DataStoreError
from iactcopy.params.envexpand import expand
from iactcopy.store.access.sources import Source
from iactcopy.store.access.urls import join_url, local_path, read_remote_master
from iactcopy.store.indexfetch import fits_file, has_index
from iactcopy.store.master import MasterIndex, Production

__all__ = ["DataPath", "resolve_datapath", "locate_master"]

log = logging.getLogger(__name__)

_HINT = (' Check datapath, or use the hidden parameter "master_indx" to specify a different '
         "filename.")


def resolve_datapath(text: str) -> str:
    """The folder a ``datapath`` value names.

    ``NONE`` (any case) means the ``VHEFITS`` environment variable; when that
    is unset or empty the current folder is used and a warning says so
    (docs/differences.rst, "csiactdata input").  Environment references and ``~`` are expanded.
    """
    text = text.strip()
    if text.upper() == "NONE":
        text = os.environ.get("VHEFITS", "").strip()
        if not text:
            log.warning("datapath is NONE and VHEFITS is not set: using the current folder")
            return os.curdir
    return expand(text) or os.curdir


def locate_master(datapath: str, master_indx: str) -> str:
    """The path of the master index file, which must exist.

    Raises
    ------
    DataStoreError
        When it is not a file.
    """
    path = os.path.join(datapath, expand(master_indx.strip()))
    if not os.path.isfile(path):
        raise DataStoreError(f'Master index file "{path}" not found.{_HINT}')
    return path



@dataclass(frozen=True)
class DataPath:
    """The master index that ``datapath`` names, and how its index files are read.

    Attributes
    ----------
    master : MasterIndex
    source : Source or None
        Reads the files of a store named by URL; None for a folder, whose
        index files are read at the paths the master file gives.
    """

    master: MasterIndex
    source: Source | None = None

    @classmethod
    def open(cls, datapath: str, master_indx: str, *,
             timeout: float | None = None) -> DataPath:
        """Read the master file *master_indx* of the folder or URL *datapath*.

        *timeout* is the seconds a remote read may go without progress
        (default: :data:`iactcopy.store.access.urls.TIMEOUT`).

        Raises
        ------
        DataStoreError
            When the master file is missing, cannot be fetched or is invalid.
        """
        folder = local_path(datapath)
        if folder is not None:
            return cls(MasterIndex.read(locate_master(folder, master_indx)))
        master, source = read_remote_master(join_url(datapath, expand(master_indx.strip())),
                                            hint=_HINT, timeout=timeout)
        return cls(master, source)

    def has_index(self, production: Production, kind: str) -> bool:
        """Whether the index file of *kind* ("HDU" or "OBS") of *production* is usable."""
        if self.source is None:
            from iactcopy.store.index.tablefinder import has_index_table

            return has_index_table(_index_path(production, kind), kind)
        return has_index(self.source, _index_name(production, kind), kind)

    @contextlib.contextmanager
    def index_file(self, production: Production, kind: str) -> Iterator[str]:
        """A local path holding the index file of *kind* of *production*, for fitsio."""
        if self.source is None:
            yield _index_path(production, kind)
            return
        with fits_file(self.source, _index_name(production, kind)) as path:
            yield path


def _index_name(production: Production, kind: str) -> str:
    return production.hduindx if kind == "HDU" else production.obsindx


def _index_path(production: Production, kind: str) -> str:
    return production.hdu_index_path if kind == "HDU" else production.obs_index_path
