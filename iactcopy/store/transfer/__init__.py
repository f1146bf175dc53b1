"""Copying the files of a store into a local folder: plan, then copy through ``.part``
files, then report; content checks and the free-space check.

:mod:`~iactcopy.store.transfer.plan` decides what to do with each file,
:mod:`~iactcopy.store.transfer.copyfiles` does it; both speak of
:class:`~iactcopy.store.transfer.plan.Outcome` values.

The names below are imported when first used: importing the package costs nothing.
"""

from __future__ import annotations

from iactcopy.lazyface import lazy_face

TYPE_CHECKING = False

_PUBLIC = {
    "Callback": ("iactcopy.store.transfer.copyfiles", "Callback"),
    "CheckedCopy": ("iactcopy.store.transfer.checkedcopy", "CheckedCopy"),
    "CopyPlan": ("iactcopy.store.transfer.plan", "CopyPlan"),
    "CopyReport": ("iactcopy.store.transfer.copyfiles", "CopyReport"),
    "Outcome": ("iactcopy.store.transfer.plan", "Outcome"),
    "PlanEntry": ("iactcopy.store.transfer.plan", "PlanEntry"),
    "check_free_space": ("iactcopy.store.transfer.freespace", "check_free_space"),
    "copy_files": ("iactcopy.store.transfer.copyfiles", "copy_files"),
    "plan_copy": ("iactcopy.store.transfer.plan", "plan_copy"),
}

__all__ = ["Callback", "CheckedCopy", "CopyPlan", "CopyReport", "Outcome", "PlanEntry",
           "check_free_space", "copy_files", "plan_copy"]

if TYPE_CHECKING:
    from iactcopy.store.transfer.checkedcopy import CheckedCopy
    from iactcopy.store.transfer.copyfiles import Callback, CopyReport, copy_files
    from iactcopy.store.transfer.freespace import check_free_space
    from iactcopy.store.transfer.plan import CopyPlan, Outcome, PlanEntry, plan_copy

__getattr__, __dir__ = lazy_face(__name__, globals(), _PUBLIC)
