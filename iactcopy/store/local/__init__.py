"""The local store csiactcopy keeps: its folders opened safely, its lock, the stamp of a
run with nothing to do, and the update of its indexes and master file.

The names below are imported when first used: importing the package costs nothing.
"""

from __future__ import annotations

from iactcopy.lazyface import lazy_face

TYPE_CHECKING = False

_PUBLIC = {
    "LocalState": ("iactcopy.store.local.records", "LocalState"),
    "LocalUpdate": ("iactcopy.store.local.records", "LocalUpdate"),
    "Stamp": ("iactcopy.store.local.stamp", "Stamp"),
    "check_local_store": ("iactcopy.store.local.store", "check_local_store"),
    "create_local_store": ("iactcopy.store.local.store", "create_local_store"),
    "store_lock": ("iactcopy.store.local.lock", "store_lock"),
    "update_local_store": ("iactcopy.store.local.store", "update_local_store"),
}

__all__ = ["LocalState", "LocalUpdate", "Stamp", "check_local_store", "create_local_store",
           "store_lock", "update_local_store"]

if TYPE_CHECKING:
    from iactcopy.store.local.lock import store_lock
    from iactcopy.store.local.records import LocalState, LocalUpdate
    from iactcopy.store.local.stamp import Stamp
    from iactcopy.store.local.store import check_local_store, create_local_store, update_local_store

__getattr__, __dir__ = lazy_face(__name__, globals(), _PUBLIC)
