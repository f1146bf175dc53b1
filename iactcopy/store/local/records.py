"""What an update of a local store did: plain records for the log, the run report and the stamp.

This module imports neither numpy nor fitsio: a rerun with nothing to do
rebuilds these records from its stamp (:mod:`iactcopy.store.local.stamp`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from iactcopy.store.index.mergestats import MergeStats

__all__ = ["LocalState", "LocalUpdate"]


@dataclass(frozen=True)
class LocalState:
    """The local master and index files as an update read them, and the files they name.

    Attributes
    ----------
    digest : str or None
        :func:`~iactcopy.store.local.stamp.digest` of the local master, HDU
        index and OBS index (None: one of them could not be read, and there
        is no stamp).
    files : list of str
        The files the local HDU index names, relative to ``outpath``.
    """

    digest: str | None
    files: list[str]


@dataclass
class LocalUpdate:
    """What :func:`update_local_store` did, for the log.

    Attributes
    ----------
    hdu_path, obs_path : str
        The local index files.
    hdu_stats, obs_stats : MergeStats or None
        The merges, None when there was nothing to merge (no local index and
        no observation to index).
    master_entries : list of (str, str)
        Each production of the local master and what became of it:
        ``Added``, ``Updated``, ``Available`` or ``Not available``.
    unchanged : LocalState or None
        When nothing was written, the local files as they were read (for
        the stamp of a run with nothing to do); else None.
    dropped : list of str
        Each row (or group of rows) that was in a local index and was left
        out, and why; a run that drops any ends with exit status 3.
    nameless : int
        Rows left out because they name no file (an empty FILE_NAME).
    leftovers : list of str
        Temporaries of an interrupted run that could not be removed.
    """

    hdu_path: str
    obs_path: str
    hdu_stats: MergeStats | None = None
    obs_stats: MergeStats | None = None
    master_entries: list[tuple[str, str]] = field(default_factory=list)
    unchanged: LocalState | None = None
    dropped: list[str] = field(default_factory=list)
    nameless: int = 0
    leftovers: list[str] = field(default_factory=list)

    @property
    def warned(self) -> bool:
        """Whether the update warned: rows left out or repeating a key, temporaries left,
        or a production of the local master not available."""
        repeated = any(stats is not None and stats.duplicate_rows
                       for stats in (self.hdu_stats, self.obs_stats))
        return bool(self.dropped or self.nameless or self.leftovers or repeated
                    or any(status == "Not available" for _, status in self.master_entries))
