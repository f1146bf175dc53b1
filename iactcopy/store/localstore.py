"""The local store that csiactcopy builds: its indexes and master file, kept consistent.

After the files were copied, :func:`update_local_store` merges the remote
rows of the observations that arrived complete into the local indexes and
writes the production's entry into the local ``master.json``, all under the
lock ``outpath/.iactcopy.lock`` and each file replaced atomically, so that
runs into one ``outpath`` at the same time lose nothing (tools.md W-29,
W-30).  The three files are written to temporaries first and renamed only
when all are complete (:class:`~iactcopy.atomicfile.ReplaceTogether`): a
full disk leaves the old ones, which agree with each other, and the
temporaries of a run killed meanwhile are removed by the next one.  The
result is always consistent (contract §2): every row of the local HDU index
points to a file present locally, the OBS index lists exactly the
observations of the HDU index, and other productions of the local master
are kept untouched (W-45).
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
from collections.abc import Iterator

import numpy as np

from iactcopy.atomicfile import ReplaceTogether, leftover_temporaries
from iactcopy.errors import DataStoreError
from iactcopy.store.datastore import Selection
from iactcopy.store.indexmerge import merge_index
from iactcopy.store.indextables import IndexTable, resolve_file_paths
from iactcopy.store.keysets import difference, intersection, member, unique
from iactcopy.store.layout import (
    check_outpath,
    local_paths,
    master_entries,
)
from iactcopy.store.localupdate import LocalUpdate
from iactcopy.store.master import MasterIndex, Production
from iactcopy.store.rerunstamp import local_state
from iactcopy.store.runlist import id_list
from iactcopy.store.storelock import store_lock

__all__ = ["check_local_store", "create_local_store", "update_local_store"]

log = logging.getLogger(__name__)

def check_local_store(outpath: str, production: Production, *,
                      remote_root: str | None = None) -> None:
    """Check, before anything is copied, that the local master and indexes can be read.

    A corrupt local store found only after copying gigabytes is a waste
    (tools.md W-28).  Missing files are fine: they are created.

    Parameters
    ----------
    outpath : str
        The local store folder (it need not exist).
    production : Production
        The production to copy, whose index paths are mirrored locally.
    remote_root : str, optional
        The folder of the remote master when it is on a local disk or a
        mount. ``outpath`` must not lie in it: ctools then rewrote the
        remote index files (tools.md W-27), and a run writes nothing to the
        remote store (contract §2). Default: not checked (a URL store).

    Raises
    ------
    DataStoreError
        When ``outpath`` is not a folder, lies in the remote store, or a
        local master or index exists but cannot be read.
    """
    check_outpath(outpath, remote_root)
    master, hdu, obs = local_paths(outpath, production)
    if os.path.exists(master):
        MasterIndex.read(master)
    for path, kind in ((hdu, "HDU"), (obs, "OBS")):
        if os.path.exists(path):
            IndexTable.read(path, kind)


def update_local_store(outpath: str, selection: Selection, complete: np.ndarray, *,
                       clobber: bool, remote_master: MasterIndex) -> LocalUpdate:
    """Merge the complete observations into the local indexes and master file.

    Parameters
    ----------
    outpath : str
        The local store folder.
    selection : Selection
        The remote rows that were to be copied.
    complete : numpy.ndarray of int
        The observations whose files all arrived.
    clobber : bool
        Whether remote rows replace the local rows of their observation.
    remote_master : MasterIndex
        The remote master, whose other top-level keys a new local master takes.

    Returns
    -------
    LocalUpdate

    Raises
    ------
    DataStoreError
        When the lock cannot be had, or a local file cannot be read or written
        (a file that cannot be written is left as it was).
    """
    production = selection.production
    master_path, hdu_path, obs_path = local_paths(outpath, production)
    update = LocalUpdate(hdu_path, obs_path)
    with store_lock(outpath), _as_store_error(outpath):
        _remove_stale_temporaries((master_path, hdu_path, obs_path))
        local_hdu = _read_if_present(hdu_path, "HDU")
        local_obs = _read_if_present(obs_path, "OBS")
        if local_hdu is None and not len(complete):
            return update
        hdu, update.hdu_stats = merge_index(local_hdu, selection.hdu.select(complete),
                                            clobber=clobber)
        obs, update.obs_stats = merge_index(local_obs, selection.obs.select(complete),
                                            clobber=clobber)
        hdu, files = _present_rows(hdu, outpath, production)
        hdu, obs = _in_both(hdu, obs)
        written = 0
        # The HDU and OBS index must list the same observations: an error
        # while writing one of them must leave the other unchanged too.
        with ReplaceTogether() as together:
            # An unchanged index is not rewritten: a no-op rerun writes nothing.
            for table, local, path in ((hdu, local_hdu, hdu_path), (obs, local_obs, obs_path)):
                if not table.same_content(local):
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    table.write(path, together=together)
                    written += 1
            update.master_entries = _update_master(master_path, production, remote_master,
                                                   together)
        if not written and dict(update.master_entries)[production.name] == "Available":
            # Still under the lock: these are the bytes that were merged.
            update.unchanged = local_state((master_path, hdu_path, obs_path), files)
    return update


def create_local_store(outpath: str) -> None:
    """Create the local store folder, with its parents, unless it exists.

    Raises
    ------
    DataStoreError
        When it cannot be created (a parent is a file, or not writable).
    """
    with _as_store_error(outpath, f'outpath "{outpath}" cannot be created'):
        os.makedirs(outpath, exist_ok=True)


@contextlib.contextmanager
def _as_store_error(outpath: str, what: str | None = None) -> Iterator[None]:
    """Turn a raw OSError (full disk, no permission) into a DataStoreError naming the file."""
    try:
        yield
    except DataStoreError:
        raise
    except OSError as err:
        what = what or f'The local store "{outpath}" cannot be updated'
        where = f': "{err.filename}"' if err.filename and str(err.filename) not in what else ""
        raise DataStoreError(f"{what}{where}: {err.strerror or err}.") from err


def _in_both(hdu: IndexTable, obs: IndexTable) -> tuple[IndexTable, IndexTable]:
    """Keep only the observations that both tables list.

    The OBS index must list exactly the observations of the HDU index
    (contract §2), also when a local OBS index had lost rows.
    """
    both = intersection(hdu.obs_ids, obs.obs_ids)
    orphans = difference(hdu.obs_ids, both)
    if len(orphans):
        log.warning("%d observation(s) of the local HDU index have no row in the local OBS "
                    "index and are left out of the local indexes: %s", len(orphans),
                    id_list(orphans))
        hdu = hdu.select(both)
    return hdu, obs.select(both)


def _read_if_present(path: str, kind: str) -> IndexTable | None:
    return IndexTable.read(path, kind) if os.path.exists(path) else None


def _present_rows(hdu: IndexTable, outpath: str, production: Production
                  ) -> tuple[IndexTable, list[str]]:
    """The rows of *hdu* whose file is present locally, and those files.

    The other rows are dropped, with a warning.  A row with an empty
    FILE_NAME names no file at all: it goes too, since every row of the
    local index must point to a complete file (contract §2) and a reader
    such as gammapy fails on it.
    """
    index_dir = posixpath.dirname(production.hduindx)
    files, unsafe = resolve_file_paths(hdu, index_dir=index_dir)
    distinct = unique(files[(files != "") & ~unsafe])
    present = np.asarray([os.path.isfile(os.path.join(outpath, f)) for f in distinct.tolist()],
                         dtype=bool)
    keep = ~unsafe & member(files, distinct[present])
    dropped = int((~keep).sum())
    if dropped:
        log.warning("%d local HDU index row(s) name no file or a file that is not present "
                    "locally; they are left out of the local index", dropped)
        hdu = hdu.select_rows(keep)
    return hdu, distinct[present].tolist()


def _remove_stale_temporaries(paths: tuple[str, ...]) -> None:
    """Remove the temporaries of *paths* that a killed run left (the lock is held).

    These files are written only under the lock (:mod:`iactcopy.atomicfile`,
    :func:`~iactcopy.store.fitswrite.write_fits_tables`), so a temporary of
    theirs found by the holder has no living writer.
    """
    for temporary in (found for path in paths for found in leftover_temporaries(path)):
        try:
            os.unlink(temporary)
            log.info("removed %s, left by an interrupted run", temporary)
        except OSError as err:
            # A leftover is no reason to fail the update.
            log.warning("cannot remove %s, left by an interrupted run: %s", temporary,
                        err.strerror or err)


def _update_master(path: str, production: Production, remote: MasterIndex,
                   together: ReplaceTogether) -> list[tuple[str, str]]:
    entry = {"name": production.name, "hduindx": production.hduindx,
             "obsindx": production.obsindx, **production.extras}
    if os.path.exists(path):
        master = MasterIndex.read(path)
        status = "Updated" if production.name in master else "Added"
    else:
        document = {key: value for key, value in remote.document.items() if key != "datasets"}
        master = MasterIndex({**document, "datasets": []}, path)
        status = "Added"
    updated = master.with_production(entry)
    if status == "Added" or updated.document != master.document:
        updated.write(path, together=together)
    else:
        # Nothing changed: say so as ctools does (`Keeping "<name>" ...: Available`).
        status = "Available"
    return master_entries(updated, production.name, status)
