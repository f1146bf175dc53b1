"""Copying the files of a store into a local folder: plan, then copy through ``.part``
files, then report; content checks and the free-space check.

The names below are imported when first used: importing the package costs nothing.
"""

from __future__ import annotations

from iactcopy.lazyface import lazy_face

TYPE_CHECKING = False

_PUBLIC = {
    "Callback": ("iactcopy.store.transfer.copyfiles", "Callback"),
    "CheckedCopy": ("iactcopy.store.transfer.checkedcopy", "CheckedCopy"),
    "CopyPlan": ("iactcopy.store.transfer.copyfiles", "CopyPlan"),
    "CopyReport": ("iactcopy.store.transfer.copyfiles", "CopyReport"),
    "PlanEntry": ("iactcopy.store.transfer.copyfiles", "PlanEntry"),
    "check_free_space": ("iactcopy.store.transfer.freespace", "check_free_space"),
    "copy_files": ("iactcopy.store.transfer.copyfiles", "copy_files"),
    "plan_copy": ("iactcopy.store.transfer.copyfiles", "plan_copy"),
}

__all__ = ["Callback", "CheckedCopy", "CopyPlan", "CopyReport", "PlanEntry", "check_free_space",
           "copy_files", "plan_copy"]

if TYPE_CHECKING:
    from iactcopy.store.transfer.checkedcopy import CheckedCopy
    from iactcopy.store.transfer.copyfiles import (
        Callback,
        CopyPlan,
        CopyReport,
        PlanEntry,
        copy_files,
        plan_copy,
    )
    from iactcopy.store.transfer.freespace import check_free_space

__getattr__, __dir__ = lazy_face(__name__, globals(), _PUBLIC)
