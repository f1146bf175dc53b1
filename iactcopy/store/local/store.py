"""The local store that csiactcopy builds: its indexes and master file, kept consistent.

After the files were copied, :func:`update_local_store` merges the remote
rows of the observations that arrived complete into the local indexes and
writes the production's entry into the local ``master.json``, all under the
lock ``outpath/.iactcopy.lock`` and each file replaced atomically, so that
runs into one ``outpath`` at the same time lose nothing.  The three files are
written to temporaries first and renamed only when all are complete
(:class:`~iactcopy.atomicfile.ReplaceTogether`): a
full disk leaves the old ones, which agree with each other, and the
temporaries of a run killed meanwhile are removed by the next one.  The
result is always consistent (docs/differences.rst, "Consistent local
store"): every row of the local HDU index
points to a file present locally, the OBS index lists exactly the
observations of the HDU index, and other productions of the local master
are kept untouched (docs/differences.rst, "Local master").
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
from iactcopy.store.index.files import IndexFile
from iactcopy.store.index.keysets import difference, intersection, member, unique
from iactcopy.store.index.merge import merge_index_file
from iactcopy.store.index.tables import IndexTable, resolve_file_paths
from iactcopy.store.layout import (
    check_outpath,
    local_paths,
    master_entries,
)
from iactcopy.store.local.folders import open_folder, open_root
from iactcopy.store.local.lock import store_lock
from iactcopy.store.local.productionstats import local_statistics
from iactcopy.store.local.records import LocalUpdate
from iactcopy.store.local.stamp import local_state
from iactcopy.store.master import MasterIndex, Production
from iactcopy.store.remotestore import Selection
from iactcopy.store.runlist import id_list

__all__ = ["check_local_store", "create_local_store", "update_local_store"]

log = logging.getLogger(__name__)

def check_local_store(outpath: str, production: Production, *,
                      remote_root: str | None = None) -> None:
    """Check, before anything is copied, that the local master and indexes can be read.

    A corrupt local store found only after copying gigabytes is a waste
    (ctools found it only then).  Missing files are fine: they are created.

    Parameters
    ----------
    outpath : str
        The local store folder (it need not exist).
    production : Production
        The production to copy, whose index paths are mirrored locally.
    remote_root : str, optional
        The folder of the remote master when it is on a local disk or a
        mount. ``outpath`` must not lie in it: ctools then rewrote the
        remote index files, and a run writes nothing to the remote store
        (docs/differences.rst, "Missing and unsafe files"). Default: not checked (a URL store).

    Raises
    ------
    DataStoreError
        When ``outpath`` is not a folder, lies in the remote store, a local
        master or index exists but cannot be read, or another production
        of the local master has an index file of the same name (its rows
        would be merged with this one's: docs/differences.rst, "Faithful
        indexes").
    """
    check_outpath(outpath, remote_root)
    master, hdu, obs = local_paths(outpath, production)
    if os.path.exists(master):
        _check_no_shared_index(MasterIndex.read(master), production)
    for path, kind in ((hdu, "HDU"), (obs, "OBS")):
        if os.path.exists(path):
            IndexFile.read(path, kind)


def update_local_store(outpath: str, selection: Selection, complete: list[np.ndarray], *,
                       clobber: bool, remote_master: MasterIndex) -> LocalUpdate:
    """Merge the complete observations into the local indexes and master file.

    Parameters
    ----------
    outpath : str
        The local store folder.
    selection : Selection
        The remote rows that were to be copied.
    complete : list of numpy.ndarray of int
        Per remote HDU table, the observations whose files in it all arrived
        (:meth:`Selection.complete`).
    clobber : bool
        Whether remote rows replace the local rows of their observation.
    remote_master : MasterIndex
        The remote master, whose other top-level keys a new local master takes.

    Returns
    -------
    LocalUpdate
        With, in ``dropped``, every row that was in the local indexes and is
        not any more because the file it names is gone (or it had no partner
        in the other index).

    Raises
    ------
    DataStoreError
        When the lock cannot be had, or a local file cannot be read or written
        (a file that cannot be written is left as it was).
    """
    production = selection.production
    master_path, hdu_path, obs_path = local_paths(outpath, production)
    update = LocalUpdate(hdu_path, obs_path)
    indexed = unique(np.concatenate([np.zeros(0, dtype=np.int64), *complete]))
    with store_lock(outpath), _as_store_error(outpath):
        update.leftovers = _remove_stale_temporaries((master_path, hdu_path, obs_path))
        local_hdu = _read_if_present(hdu_path, "HDU")
        local_obs = _read_if_present(obs_path, "OBS")
        if local_hdu is None and not len(indexed):
            return update
        hdu, update.hdu_stats = merge_index_file(local_hdu, selection.hdu.select_each(complete),
                                                 clobber=clobber)
        obs, update.obs_stats = merge_index_file(local_obs, selection.obs.select(indexed),
                                                 clobber=clobber)
        listed = hdu.obs_ids
        hdu, files, update.dropped, update.nameless = _present_rows(hdu, outpath, production)
        hdu, obs = _in_both(hdu, obs, update.dropped, before=listed)
        written = 0
        # The HDU and OBS index must list the same observations: an error
        # while writing one of them must leave the other unchanged too.
        with ReplaceTogether() as together:
            # An unchanged index is not rewritten: a no-op rerun writes nothing.
            for table, local, path in ((hdu, local_hdu, hdu_path), (obs, local_obs, obs_path)):
                if not table.same_content(local, path):
                    _make_folder(outpath, path)
                    table.write(path, together=together)
                    written += 1
            statistics = local_statistics(production.extras, obs, outpath, files)
            update.master_entries = _update_master(master_path, production, statistics,
                                                   remote_master, together)
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


def _make_folder(outpath: str, path: str) -> None:
    """Create the folder of *path*, a file below *outpath*, never through a link out of it.

    Raises
    ------
    UnsafePath
        When a folder on the way is a symbolic link that leads out of *outpath*.
    """
    folder = os.path.relpath(os.path.dirname(path), outpath)
    root = open_root(outpath, create=False)
    try:
        os.close(open_folder(root, os.path.realpath(outpath),
                             "" if folder == "." else folder.replace(os.sep, "/"),
                             os.path.relpath(path, outpath), create=True))
    finally:
        os.close(root)


def _check_no_shared_index(master: MasterIndex, production: Production) -> None:
    """Refuse a production whose index files are those of another production of *master*."""
    mine = {posixpath.normpath(production.hduindx), posixpath.normpath(production.obsindx)}
    for other in master.productions:
        if other.name == production.name:
            continue
        shared = mine & {posixpath.normpath(other.hduindx), posixpath.normpath(other.obsindx)}
        if shared:
            raise DataStoreError(
                f'Production "{production.name}" cannot be copied into "{master.path}": its '
                f'index file "{sorted(shared)[0]}" is that of production "{other.name}" '
                "there, whose rows it would change. Copy it into another outpath.")


def _in_both(hdu: IndexFile, obs: IndexFile, dropped: list[str], *, before: np.ndarray
             ) -> tuple[IndexFile, IndexFile]:
    """Keep only the observations that both indexes list; name each dropped one in *dropped*.

    An observation of *before* (the HDU index before its missing files were
    left out) has been named already, and leaves the OBS index without
    another line.

    The OBS index must list exactly the observations of the HDU index
    (docs/differences.rst, "Consistent local store"), also when a local OBS
    index had lost rows; the HDU index
    may hold several tables, and the OBS index lists the observations that
    any of them holds.
    """
    hdu_ids, obs_ids = unique(hdu.obs_ids), unique(obs.obs_ids)
    both = intersection(hdu_ids, obs_ids)
    for ids, what in ((difference(hdu_ids, both), "HDU index rows of observation(s) {} "
                       "have no row in the OBS index"),
                      (difference(obs_ids, unique(np.concatenate([both, before]))),
                       "OBS index rows of observation(s) {} have "
                       "no row in the HDU index")):
        if len(ids):
            dropped.append(what.format(id_list(ids)) + " and are left out")
            log.warning("%s", dropped[-1])
    return hdu.select(both), obs.select(both)


def _read_if_present(path: str, kind: str) -> IndexFile | None:
    return IndexFile.read(path, kind) if os.path.exists(path) else None


def _present_rows(hdu: IndexFile, outpath: str, production: Production
                  ) -> tuple[IndexFile, list[str], list[str], int]:
    """The rows of *hdu* whose file is present locally, those files, the rows dropped, and
    the number of rows that name no file.

    A row with an empty FILE_NAME names no file at all: it goes, with a
    warning, since every row of the local index must point to a complete
    file (docs/differences.rst, "Consistent local store") and a reader such
    as gammapy fails on it.  A row
    whose file is not present (it was removed, or the row was in a local
    index whose files are gone) goes too, and is named in the list of rows
    dropped: no row leaves a local index without a word.
    """
    index_dir = posixpath.dirname(production.hduindx)
    tables, present_files, dropped, nameless_rows = [], set(), [], 0
    for table in hdu.tables:
        files, unsafe = resolve_file_paths(table, index_dir=index_dir)
        distinct = unique(files[(files != "") & ~unsafe])
        present = np.asarray([os.path.isfile(os.path.join(outpath, f))
                              for f in distinct.tolist()], dtype=bool)
        keep = ~unsafe & member(files, distinct[present])
        nameless = files == ""
        if nameless.any():
            nameless_rows += int(nameless.sum())
            log.warning("%d local HDU index row(s) name no file (an empty FILE_NAME); they are "
                        "left out of the local index", int(nameless.sum()))
        gone = np.flatnonzero(~keep & ~nameless)
        if len(gone):
            dropped.extend(_gone_rows(table, files, gone))
            log.warning("%d local HDU index row(s) name a file that is not present locally; "
                        "they are left out of the local index", len(gone))
        tables.append(table if keep.all() else table.select_rows(keep))
        present_files.update(distinct[present].tolist())
    return hdu.with_tables(tables), sorted(present_files), dropped, nameless_rows


def _gone_rows(table: IndexTable, files: np.ndarray, rows: np.ndarray) -> list[str]:
    """One line per observation and file of the *rows* left out, naming their HDU types."""
    types: dict[tuple[int | str, str], list[str]] = {}
    # As the table spells them: a text OBS_ID is named by its text.
    obs_ids = [str(obs_id).strip() for obs_id in table.data["OBS_ID"][rows].tolist()]
    hdu_types = np.char.strip(table.data["HDU_TYPE"][rows].astype(str)).tolist()
    for obs_id, path, hdu_type in zip(obs_ids, files[rows].tolist(), hdu_types):
        types.setdefault((obs_id, path), []).append(hdu_type)
    return [f'HDU index rows of observation {obs_id} ({", ".join(names)}) are left out: '
            f'their file "{path}" is not present locally'
            for (obs_id, path), names in types.items()]


def _remove_stale_temporaries(paths: tuple[str, ...]) -> list[str]:
    """Remove the temporaries of *paths* that a killed run left (the lock is held).

    Returns those that could not be removed.

    These files are written only under the lock (:mod:`iactcopy.atomicfile`,
    :func:`~iactcopy.store.fits.tablewrite.write_fits_tables`), so a temporary of
    theirs found by the holder has no living writer.
    """
    left = []
    for temporary in (found for path in paths for found in leftover_temporaries(path)):
        try:
            os.unlink(temporary)
            log.info("removed %s, left by an interrupted run", temporary)
        except OSError as err:
            # A leftover is no reason to fail the update.
            log.warning("cannot remove %s, left by an interrupted run: %s", temporary,
                        err.strerror or err)
            left.append(temporary)
    return left


def _update_master(path: str, production: Production, statistics: dict,
                   remote: MasterIndex, together: ReplaceTogether) -> list[tuple[str, str]]:
    entry = {"name": production.name, "hduindx": production.hduindx,
             "obsindx": production.obsindx, **statistics}
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
