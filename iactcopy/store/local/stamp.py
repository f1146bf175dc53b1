"""The stamp of a run that had nothing to do, so that the same rerun need not read any index.

A csiactcopy rerun that finds every file up to date still reads both remote
index tables (to learn which files to look at) and merges them with the
local ones (to learn that nothing changes): numpy, fitsio and the merge
then cost several times what ``rsync -a`` needs to find nothing to do.

A full run that finds exactly nothing to do (every file up to date, no
index or master rewritten, nothing left out or warned about but IDs not
available: :mod:`iactcopy.store.copyrun` decides) leaves a stamp in the
store's lock file (:mod:`iactcopy.store.local.lock`; the lock is the only
file of iactcopy's in a local store, docs/differences.rst, "Local store
layout"), which the lock never empties or deletes: what the run worked from
and what it found.  What it worked from is its
parameters, the iactcopy version, SHA-256 digests of the remote master and
index files (of the very files it read, each taken before the file was
read and again at the end of the run, and equal) and of the local master
and index files (taken under the store lock, when the update had read
them), and the files the local HDU index names.  What it found is the
selection (observations, files, IDs not available, whose warnings the
rerun gives again) and the merge counts.

A rerun whose parameters, version, digests and files all match would read
the same tables and reach the same result, so it takes the selection and
the counts from the stamp; it still plans and "copies" as a full run does,
so every file is compared with its remote one.  It reads the stamp and
looks at the local files under a shared lock of the store, and only if it
gets it at once: a run updating the indexes, or a lock that cannot be taken
at all, means a full run, which waits or says why.  A missing, foreign,
malformed or stale stamp, or any file that differs, means a full run too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from iactcopy import __version__
from iactcopy.atomicfile import leftover_temporaries
from iactcopy.errors import DataStoreError
from iactcopy.store.access.sources import LocalSource, UnsafePath
from iactcopy.store.index.mergestats import MergeStats
from iactcopy.store.layout import local_paths, master_entries
from iactcopy.store.local.lock import shared_note, store_lock, write_note
from iactcopy.store.local.records import LocalState, LocalUpdate
from iactcopy.store.master import MasterIndex, Production

__all__ = ["Stamp", "digest", "local_state", "remote_index_digest"]

log = logging.getLogger(__name__)

_FORMAT_VERSION = 1
_CHUNK = 1 << 20
#: A stamp larger than this is not read (a store of 100,000 observations makes 30 MB).
_MAX_STAMP_BYTES = 1 << 28


def digest(paths: Iterable[str]) -> str | None:
    """SHA-256 of the contents of *paths*, in order; a missing file counts as absent.

    Parameters
    ----------
    paths : iterable of str
        The files.

    Returns
    -------
    str or None
        The hexadecimal digest; None when one of them is not a regular file
        (a folder, a pipe) or cannot be read: such a state is never stamped,
        and no stamp matches it.
    """
    total = hashlib.sha256()
    for path in paths:
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                return None
            with open(path, "rb") as stream:
                part = hashlib.sha256()
                while chunk := stream.read(_CHUNK):
                    part.update(chunk)
        except FileNotFoundError:
            total.update(b"\0absent\0")
            continue
        except (OSError, ValueError) as err:
            log.debug("cannot read %s: %s", path, err)
            return None
        total.update(part.digest())
    return total.hexdigest()


def remote_index_digest(source: LocalSource, hduindx: str, obsindx: str) -> str | None:
    """:func:`digest` of the HDU and OBS index files of *source*, the files a full run reads.

    Parameters
    ----------
    source : LocalSource
        The remote store.
    hduindx, obsindx : str
        The index files as the master file names them.

    Returns
    -------
    str or None
        None when one of them is missing or lies outside the store: the full
        run then fails, and no stamp may stand for it.
    """
    try:
        paths = [source.local_path(hduindx), source.local_path(obsindx)]
    except (UnsafePath, OSError, ValueError):
        return None
    if not all(os.path.isfile(path) for path in paths):
        return None
    return digest(paths)


def local_state(paths: Iterable[str], files: Iterable[str]) -> LocalState:
    """The state of the local master and index files, for a stamp.

    Parameters
    ----------
    paths : iterable of str
        The local master, HDU index and OBS index.
    files : iterable of str
        The files the local HDU index names, relative to ``outpath``.

    Returns
    -------
    LocalState
    """
    return LocalState(digest(paths), sorted(files))


@dataclass
class Stamp:
    """What a run with nothing to do worked from, and what it found.

    Attributes
    ----------
    inputs : dict
        The parameters: absolute ``remote_master`` and ``outpath``,
        ``prodname``, ``clobber``, and the run list's IDs (None: all).
    remote : dict
        ``master`` and ``indexes``: :func:`digest` of the remote master, and
        of the remote HDU and OBS index files.
    local : LocalState
    hduindx, obsindx : str
        The production's index files, relative to the remote store.
    observations : int
        The observations selected (all of them indexed).
    absent : list of int
        IDs of the run list that the remote indexes lack.
    files : list of str
        The files of the selection, relative to the remote store.
    merges : dict of str to MergeStats
        ``hdu`` and ``obs``: the counts of each merge.
    """

    inputs: dict[str, Any]
    remote: dict[str, str]
    local: LocalState
    hduindx: str
    obsindx: str
    observations: int
    absent: list[int] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    merges: dict[str, MergeStats] = field(default_factory=dict)

    @property
    def production(self) -> Production:
        """The production the stamp is for (its name and index files)."""
        return Production(self.inputs["prodname"], self.hduindx, self.obsindx)

    @classmethod
    def find(cls, inputs: Mapping[str, Any], source: LocalSource) -> Stamp | None:
        """The stamp of the last run, when a run from *inputs* would find what it says.

        Parameters
        ----------
        inputs : mapping
            The parameters of the run, as :attr:`inputs` holds them.
        source : LocalSource
            Reads the remote store.

        Returns
        -------
        Stamp or None
            None when there is no stamp, or it is foreign, malformed or stale,
            or another run holds the store lock: a full run is needed.
        """
        with shared_note(inputs["outpath"], max_bytes=_MAX_STAMP_BYTES) as note:
            stamp = cls._parse(note) if note else None
            return stamp if stamp is not None and stamp._holds(inputs, source) else None

    def replayed_update(self, outpath: str) -> LocalUpdate:
        """What the update of the local store in *outpath* does again: nothing.

        The merge counts are those recorded; the other productions of the
        local master are looked at again, as a full run looks at them.
        """
        paths = local_paths(outpath, self.production)
        entries = master_entries(MasterIndex.read(paths.master), self.production.name,
                                 "Available")
        return LocalUpdate(paths.hdu, paths.obs, self.merges["hdu"], self.merges["obs"],
                           entries)

    def save(self, outpath: str) -> None:
        """Keep the stamp in the lock file of *outpath*, unless the local files changed.

        The local master and indexes are digested again under the lock: a
        run that changed them since this run's update read them makes this
        stamp wrong.  A busy lock or a write that fails means no stamp, and
        is no error.
        """
        document = {"version": _FORMAT_VERSION, "iactcopy": __version__, **asdict(self)}
        try:
            with store_lock(outpath, timeout=0) as lock:
                if _same(digest(local_paths(outpath, self.production)), self.local.digest):
                    write_note(lock, json.dumps(document))
        except (DataStoreError, OSError) as err:
            log.debug("no stamp written in %s: %s", outpath, err)

    @classmethod
    def _parse(cls, note: bytes) -> Stamp | None:
        try:
            return cls._from_document(json.loads(note))
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as err:
            log.debug("ignoring the stamp: %s", err)
            return None

    @classmethod
    def _from_document(cls, document: dict) -> Stamp | None:
        """The stamp a JSON document holds; TypeError (and the like) when it is malformed."""
        if document["version"] != _FORMAT_VERSION or document["iactcopy"] != __version__:
            return None
        local, remote, merges = document["local"], document["remote"], document["merges"]
        return cls(inputs=_typed(document["inputs"], dict),
                   remote={key: _typed(remote[key], str) for key in ("master", "indexes")},
                   local=LocalState(_typed(local["digest"], str),
                                    _list_of(str, local["files"])),
                   hduindx=_typed(document["hduindx"], str),
                   obsindx=_typed(document["obsindx"], str),
                   observations=_count(document["observations"]),
                   absent=_list_of(int, document["absent"]),
                   files=_list_of(str, document["files"]),
                   merges={kind: MergeStats(**{name: _count(value) for name, value
                                               in _typed(merges[kind], dict).items()})
                           for kind in ("hdu", "obs")})

    def _holds(self, inputs: Mapping[str, Any], source: LocalSource) -> bool:
        """Whether the parameters, digests and files are those the stamp records."""
        if dict(inputs) != self.inputs:
            return False
        outpath = inputs["outpath"]
        try:
            paths = local_paths(outpath, self.production)
            return (_same(digest([inputs["remote_master"]]), self.remote["master"])
                    and _same(remote_index_digest(source, self.hduindx, self.obsindx),
                              self.remote["indexes"])
                    and _same(digest(paths), self.local.digest)
                    and not any(leftover_temporaries(path) for path in paths)
                    and all(os.path.isfile(os.path.join(outpath, name))
                            for name in self.local.files))
        except (OSError, ValueError) as err:
            log.debug("the stamp does not hold: %s", err)
            return False


def _same(current: str | None, recorded: str) -> bool:
    return current is not None and current == recorded


def _typed(value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise TypeError(f"{value!r} is not a {kind.__name__}")
    return value


def _count(value: Any) -> int:
    if _typed(value, int) < 0:
        raise ValueError(f"{value!r} is not a count")
    return value


def _list_of(kind: type, values: Any) -> list:
    return [_typed(value, kind) for value in _typed(values, list)]
