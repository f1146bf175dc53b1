"""The stamp of a run that had nothing to do, so that the same rerun need not read any index.

A csiactcopy rerun that finds every file up to date still reads both remote
index tables (to learn which files to look at) and merges them with the
local ones (to learn that nothing changes): numpy, fitsio and the merge
then cost several times what ``rsync -a`` needs to find nothing to do.

A full run that finds exactly nothing to do (every file up to date, no
index or master rewritten, no warning) leaves ``outpath/.iactcopy.stamp``:
what it worked from and what it found.  What it worked from is its
parameters, the iactcopy version, SHA-256 digests of the remote master and
index files (of the very files it read, each taken before the file was
read and again at the end of the run, and equal) and of the local master
and index files (taken under the store lock, when the update had read
them), and the files the local HDU index names.  What it found is the
selection (observations, files, IDs not available) and the merge counts.

A rerun whose parameters, version, digests and files all match would read
the same tables and reach the same result, so it takes the selection and
the counts from the stamp; it still plans and "copies" as a full run does,
so every file is compared with its remote one.  It looks at the local files
under a shared lock of the store, and only if it gets it at once: a run
updating the indexes, or a lock that cannot be taken at all, means a full
run, which waits or says why.  A missing, foreign, malformed or stale
stamp, or any file that differs, means a full run too.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from iactcopy import __version__
from iactcopy.atomicfile import leftover_temporaries, write_atomically
from iactcopy.store.layout import LOCK_NAME, STAMP_NAME
from iactcopy.store.localupdate import LocalState, MergeStats
from iactcopy.store.sources import LocalSource, UnsafePath

__all__ = ["Stamp", "counting_warnings", "digest", "local_state", "remote_index_digest"]

log = logging.getLogger(__name__)

_VERSION = 1
_CHUNK = 1 << 20
#: A stamp larger than this is not read (a store of 100,000 observations makes 30 MB).
_MAX_STAMP_BYTES = 1 << 30


def digest(paths: Iterable[str]) -> str | None:
    """SHA-256 of the contents of *paths*, in order; a missing file counts as absent.

    None when one of them is not a regular file (a folder, a pipe) or cannot
    be read: such a state is never stamped, and no stamp matches it.
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

    None when one of them is missing or lies outside the store: the full run
    then fails, and no stamp may stand for it.
    """
    try:
        paths = [source.local_path(hduindx), source.local_path(obsindx)]
    except (UnsafePath, OSError, ValueError):
        return None
    if not all(os.path.isfile(path) for path in paths):
        return None
    return digest(paths)


def local_state(paths: Iterable[str], files: Iterable[str]) -> LocalState:
    """The state of the local master and index files *paths*, whose HDU index names *files*."""
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

    @classmethod
    def load(cls, outpath: str) -> Stamp | None:
        """The stamp in *outpath*, or None when there is none that this version can read.

        A stamp only saves time: a damaged or foreign one means a full run,
        which replaces it.
        """
        path = os.path.join(outpath, STAMP_NAME)
        try:
            # Not through a link, not a pipe that would block, not a device without end.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        except OSError:
            return None
        with open(fd, "rb") as stream:
            try:
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_STAMP_BYTES:
                    return None
                return cls._from_document(json.loads(stream.read()))
            except (OSError, ValueError, TypeError, KeyError, AttributeError,
                    RecursionError) as err:
                log.debug("ignoring the stamp %s: %s", path, err)
                return None

    @classmethod
    def _from_document(cls, document: dict) -> Stamp | None:
        """The stamp a JSON document holds; TypeError (and the like) when it is malformed."""
        if document["version"] != _VERSION or document["iactcopy"] != __version__:
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

    def save(self, outpath: str) -> None:
        """Write the stamp into *outpath*; a stamp that cannot be written is no error."""
        path = os.path.join(outpath, STAMP_NAME)
        document = {"version": _VERSION, "iactcopy": __version__, **asdict(self)}
        try:
            write_atomically(path, json.dumps(document), fsync=False)
        except OSError as err:
            log.debug("cannot write the stamp %s: %s", path, err.strerror or err)

    def holds(self, inputs: Mapping[str, Any], source: LocalSource,
              local_paths: tuple[str, str, str]) -> bool:
        """Tell whether a run from *inputs* would find what this stamp says.

        *source* reads the remote store; *local_paths* are the local master,
        HDU index and OBS index.  The local files are looked at under a
        shared lock of the store, so that no full run changes them meanwhile.
        """
        if dict(inputs) != self.inputs:
            return False
        outpath = inputs["outpath"]
        stamp = os.path.join(outpath, STAMP_NAME)
        try:
            with _no_update_under_way(outpath) as free:
                return (free
                        and _same(digest([inputs["remote_master"]]), self.remote["master"])
                        and _same(remote_index_digest(source, self.hduindx, self.obsindx),
                                  self.remote["indexes"])
                        and _same(digest(local_paths), self.local.digest)
                        and not any(leftover_temporaries(path)
                                    for path in (*local_paths, stamp))
                        and all(os.path.isfile(os.path.join(outpath, name))
                                for name in self.local.files))
        except (OSError, ValueError) as err:
            log.debug("the stamp %s does not hold: %s", stamp, err)
            return False


@contextlib.contextmanager
def _no_update_under_way(outpath: str) -> Iterator[bool]:
    """Hold a shared lock on the store's lock file while the block runs; False if not had.

    A full run holds the same file exclusively (filelock's ``flock``) while
    it changes the indexes.  A lock file that cannot be opened for writing
    (a folder, a read-only disk) gives False too: the full run then says why.
    """
    try:
        fd = os.open(os.path.join(outpath, LOCK_NAME), os.O_RDWR | os.O_CREAT | os.O_NONBLOCK,
                     0o644)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


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


@contextlib.contextmanager
def counting_warnings() -> Iterator[_WarningCounter]:
    """Count the warnings iactcopy logs within the block (``.count``).

    A run that logged a warning is not stamped: its rerun would have to give
    that warning again, and only a full run can.
    """
    counter = _WarningCounter()
    logger = logging.getLogger("iactcopy")
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)


class _WarningCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
