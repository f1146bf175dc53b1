"""A remote data store and the observations selected from one of its productions.

:class:`RemoteStore` is the one place that goes from a master file (a path,
or a URL through :mod:`iactcopy.store.access.urls`) to a production with
its two index tables.  :class:`Selection` holds the rows of the observations
to copy and the files they need, and tells which observations arrived
complete once the files were copied.
"""

from __future__ import annotations

import logging
import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from iactcopy.errors import DataStoreError
from iactcopy.store.access.sources import LocalSource, Source, UnsafePath, check_relpath
from iactcopy.store.access.urls import local_path, read_remote_master
from iactcopy.store.index.files import IndexFile
from iactcopy.store.index.keysets import (
    difference,
    intersection,
    member,
    symmetric_difference,
    unique,
)
from iactcopy.store.index.tables import resolve_file_paths
from iactcopy.store.indexfetch import read_index
from iactcopy.store.master import MasterIndex, Production
from iactcopy.store.runlist import id_list

if TYPE_CHECKING:
    from iactcopy.store.access.masterahead import MasterAhead

__all__ = ["RemoteStore", "Selection"]

log = logging.getLogger(__name__)


class RemoteStore:
    """A data store to copy from: its master index and where its files are read.

    Parameters
    ----------
    master : MasterIndex
        The parsed master file.
    source : Source
        Reads the files below the folder of the master file.
    """

    def __init__(self, master: MasterIndex, source: Source):
        self.master = master
        self.source = source

    @classmethod
    def open(cls, remote_master: str, *, timeout: float | None = None,
             ahead: MasterAhead | None = None) -> RemoteStore:
        """Open the store whose master file is *remote_master*.

        *remote_master* is a path, or an ``http(s)://``, ``sftp://``,
        ``root://`` or ``file://`` URL (:mod:`iactcopy.store.access.urls`);
        *timeout* is the seconds a remote read may go without progress
        (default: :data:`iactcopy.store.access.urls.TIMEOUT`).  *ahead*, the
        read of that master file started earlier
        (:class:`~iactcopy.store.access.masterahead.MasterAhead`), is waited
        for instead of reading it again.

        Raises
        ------
        DataStoreError
            When the master file is missing, cannot be fetched, or is not a
            valid master index.
        """
        path = local_path(remote_master)
        if path is None:
            if (ahead is not None and ahead.started and ahead.url == remote_master
                    and ahead.timeout == timeout):
                return cls(*ahead.result())
            return cls(*read_remote_master(remote_master, timeout=timeout))
        remote_master = path
        if not os.path.isfile(remote_master):
            raise DataStoreError(
                f'FITS data not available. No master index file found in "{remote_master}". '
                "Make sure the remote file system is properly mounted.")
        master = MasterIndex.read(remote_master)
        return cls(master, LocalSource.of_master(remote_master))

    def production(self, name: str) -> Production:
        """The production *name*; DataStoreError lists the available ones."""
        production = self.master.production(name)
        for key in ("hduindx", "obsindx"):
            try:
                check_relpath(getattr(production, key))
            except UnsafePath as err:
                raise DataStoreError(
                    f'{key} "{getattr(production, key)}" of production "{name}" in '
                    f"{self.master.path} lies outside the store: {err}") from err
        if posixpath.normpath(production.hduindx) == posixpath.normpath(production.obsindx):
            # Each index is merged and written on its own: one file cannot take both.
            raise DataStoreError(
                f'Production "{name}" in {self.master.path} names one file, '
                f'"{production.hduindx}", for its HDU and its OBS index; iactcopy copies '
                "productions whose two indexes are files of their own.")
        return production

    @property
    def local_root(self) -> str | None:
        """The folder of the master file when it is on a local disk or a mount, else None."""
        return self.source.root if self.source.is_local else None

    def index_path(self, relpath: str) -> str:
        """Where an index file named in the master file is read from: a path, or a URL."""
        if isinstance(self.source, LocalSource):
            return self.source.local_path(relpath)
        return self.source.url(relpath)

    def select(self, production: Production, obs_ids: Iterable[int] | None = None) -> Selection:
        """The observations of *production* to copy: those of *obs_ids*, or all.

        An observation is selected when both index tables list it; the
        requested IDs that either table lacks are in ``Selection.absent``.

        Raises
        ------
        IndexTableError
            When an index table cannot be read.
        """
        # Both fetched at once from a remote store: one wait for the server, not two.
        self.source.expect([production.hduindx, production.obsindx])
        hdu = read_index(self.source, production.hduindx, "HDU")
        obs = read_index(self.source, production.obsindx, "OBS")
        both = intersection(hdu.obs_ids, obs.obs_ids)
        lonely: list[int] = []
        if obs_ids is None:
            wanted, absent = both, []
            lonely = symmetric_difference(hdu.obs_ids, obs.obs_ids).tolist()
            if len(lonely):
                log.warning("%d observation(s) are listed in only one of the two index "
                            "tables and are not copied: %s", len(lonely),
                            id_list(lonely))
        else:
            requested = np.asarray(list(obs_ids), dtype=np.int64)
            found = member(requested, both)
            wanted, absent = requested[found], [int(i) for i in requested[~found]]
        hdu, obs = hdu.select(wanted), obs.select(wanted)
        index_dir = posixpath.dirname(check_relpath(production.hduindx))
        resolved = [resolve_file_paths(table, index_dir=index_dir) for table in hdu.tables]
        return Selection(production, hdu, obs, absent, [files for files, _ in resolved],
                         [unsafe for _, unsafe in resolved], lonely=lonely)


@dataclass(frozen=True)
class Selection:
    """The remote rows of the observations to copy, and their files.

    Attributes
    ----------
    production : Production
    hdu, obs : IndexFile
        The remote HDU and OBS index files, with the rows of the selected
        observations only.
    absent : list of int
        Requested IDs that the remote indexes lack.
    files : list of numpy.ndarray of str
        Per HDU table, per row, its file relative to the store root ("" for none).
    unsafe : list of numpy.ndarray of bool
        Per HDU table, per row, whether that path leaves the store (it is refused).
    lonely : list
        Observations that only one of the two index tables lists (with no run
        list): not selected, and warned about.
    """

    production: Production
    hdu: IndexFile
    obs: IndexFile
    absent: list[int]
    files: list[np.ndarray]
    unsafe: list[np.ndarray]
    lonely: list = field(default_factory=list)

    @property
    def obs_ids(self) -> np.ndarray:
        """The selected observation IDs, ascending."""
        return unique(self.obs.obs_ids)

    @property
    def relpaths(self) -> list[str]:
        """The distinct files to copy, sorted (unsafe ones too: they are refused and reported)."""
        return sorted({path for files in self.files for path in files[files != ""].tolist()})

    def complete(self, failed: Iterable[str]) -> list[np.ndarray]:
        """Per HDU table, the observations none of whose files in it is in *failed* nor unsafe.

        A file missing in one table (one event type) removes the observation
        from that table only.
        """
        failed = np.asarray(list(failed), dtype=str)
        result = []
        for table, files, unsafe in zip(self.hdu.tables, self.files, self.unsafe):
            bad_obs = unique(table.obs_ids[unsafe | member(files, failed)])
            result.append(difference(intersection(unique(table.obs_ids), self.obs_ids),
                                     bad_obs))
        return result
