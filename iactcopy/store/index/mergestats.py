"""The counts of a merge of index tables, as csiactcopy logs and stamps them.

Kept apart from :mod:`iactcopy.store.index.merge` because it needs no numpy:
a rerun with nothing to do rebuilds these counts from its stamp.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MergeStats"]


@dataclass(frozen=True)
class MergeStats:
    """What a merge did, in the counts csiactcopy logs (docs/tools/csiactcopy.rst).

    Attributes
    ----------
    remote_entries : int
        Rows of the remote table given to the merge.
    local_entries : int
        Rows of the local table before the merge (0 without one).
    removed_local_rows : int
        Local rows replaced by remote rows of their observation (clobber=True).
    skipped_remote_rows : int
        Remote rows whose key was already local (clobber=False).
    duplicate_rows : int
        Rows dropped because their key occurred earlier in the same input.
    rows : int
        Rows of the merged table.
    """

    remote_entries: int
    local_entries: int
    removed_local_rows: int
    skipped_remote_rows: int
    duplicate_rows: int
    rows: int
