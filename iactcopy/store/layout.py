"""Where things are in a data store: master, index, documentation and bookkeeping files.

Both the full update of a local store (:mod:`iactcopy.store.local.store`)
and the quick check of a rerun that has nothing to do
(:mod:`iactcopy.store.local.stamp`) need these names and checks.  This
module imports neither numpy nor fitsio, so that the quick check starts
fast.
"""

from __future__ import annotations

import logging
import os
import posixpath
from typing import NamedTuple

from iactcopy.errors import DataStoreError
from iactcopy.store.access.sources import is_inside
from iactcopy.store.master import MasterIndex, Production

__all__ = ["DOC_FILES", "LOCK_NAME", "MASTER_NAME", "RESERVED_NAMES", "LocalPaths",
           "availability",
           "check_outpath", "local_paths", "local_store_files", "master_entries"]

log = logging.getLogger(__name__)

#: Files beside the master file that travel with any copy: data releases carry
#: their terms of use there (H.E.S.S. DL3 DR1: "must be included in all copies").
DOC_FILES = ("README", "README.txt", "README.md", "README.rst", "LICENSE", "LICENSE.txt")

MASTER_NAME = "master.json"
#: The lock file of a local store, held while its indexes and master change; it
#: also keeps the stamp of the last run that had nothing to do (the lock never
#: empties or deletes it: :mod:`iactcopy.filelocks`).
LOCK_NAME = ".iactcopy.lock"
#: iactcopy's own files in a local store: no remote file may be copied onto them.
RESERVED_NAMES = frozenset({LOCK_NAME})


def local_store_files(production: Production) -> tuple[str, str, str]:
    """The master, HDU index and OBS index files of a local store, relative to ``outpath``.

    The remote layout is mirrored.  No data file may be copied onto them: the
    remote store would then replace the local master or index, and with it
    the entries of other productions or the rows of other observations.
    """
    return (MASTER_NAME, posixpath.normpath(production.hduindx),
            posixpath.normpath(production.obsindx))


class LocalPaths(NamedTuple):
    """The paths of the master, HDU index and OBS index files of a local store."""

    master: str
    hdu: str
    obs: str


def local_paths(outpath: str, production: Production) -> LocalPaths:
    """The local master, HDU index and OBS index paths (see :func:`local_store_files`)."""
    return LocalPaths(*(os.path.join(outpath, name) for name in local_store_files(production)))


def check_outpath(outpath: str, remote_root: str | None) -> None:
    """Check that *outpath* can be a local store of the store at *remote_root*.

    Parameters
    ----------
    outpath : str
        The local store folder (it need not exist).
    remote_root : str or None
        The folder of the remote master on a local disk or mount; None for a
        URL store.

    Raises
    ------
    DataStoreError
        When *outpath* exists and is not a folder, or lies in *remote_root*
        (the folder of a remote master on a local disk or mount; None for a
        URL store): ctools then rewrote the remote index files
        (docs/differences.rst, "Missing and unsafe files").
    """
    if os.path.exists(outpath) and not os.path.isdir(outpath):
        raise DataStoreError(f'outpath "{outpath}" exists and is not a folder')
    if remote_root is not None and is_inside(os.path.realpath(outpath),
                                             os.path.realpath(remote_root)):
        raise DataStoreError(
            f'outpath "{outpath}" lies in the remote store "{remote_root}": a copy never '
            "writes into the store it copies from. Choose a folder outside it.")


def master_entries(master: MasterIndex, name: str, status: str) -> list[tuple[str, str]]:
    """Each production of a local master and its status, as the log lists them.

    Parameters
    ----------
    master : MasterIndex
        The local master.
    name : str
        The production of the run.
    status : str
        Its status: ``Added``, ``Updated`` or ``Available``.

    Returns
    -------
    list of (str, str)
        Each production's name and status; the others are ``Available`` or
        ``Not available`` (their index files are looked at now).
    """
    return [(other.name, status if other.name == name else availability(other))
            for other in master.productions]


def availability(production: Production) -> str:
    """``Available`` when both index files of *production* can be read, else ``Not available``."""
    # Imported here: only a local master with other productions needs it.
    from iactcopy.store.index.tablefinder import has_index_table

    usable = (has_index_table(production.hdu_index_path, "HDU")
              and has_index_table(production.obs_index_path, "OBS"))
    if not usable:
        log.warning('production "%s" of the local master is not available (its index files '
                    "cannot be read); its entry is kept", production.name)
    return "Available" if usable else "Not available"
