"""HDU and OBS index tables and the files that hold them: read, selected, merged,
written, on whole columns.

The names below are imported when first used: importing the package costs nothing.
"""

from __future__ import annotations

from iactcopy.lazyface import lazy_face

TYPE_CHECKING = False

_PUBLIC = {
    "IndexFile": ("iactcopy.store.index.files", "IndexFile"),
    "IndexTable": ("iactcopy.store.index.tables", "IndexTable"),
    "MergeStats": ("iactcopy.store.index.mergestats", "MergeStats"),
    "merge_index": ("iactcopy.store.index.merge", "merge_index"),
    "merge_index_file": ("iactcopy.store.index.merge", "merge_index_file"),
    "select_observations": ("iactcopy.store.index.obsselect", "select_observations"),
}

__all__ = ["IndexFile", "IndexTable", "MergeStats", "merge_index", "merge_index_file",
           "select_observations"]

if TYPE_CHECKING:
    from iactcopy.store.index.files import IndexFile
    from iactcopy.store.index.merge import merge_index, merge_index_file
    from iactcopy.store.index.mergestats import MergeStats
    from iactcopy.store.index.obsselect import select_observations
    from iactcopy.store.index.tables import IndexTable

__getattr__, __dir__ = lazy_face(__name__, globals(), _PUBLIC)
