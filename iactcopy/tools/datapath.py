"""Where ``datapath`` and ``master_indx`` point: shared by csiactdata and csfindobs.

ctools wrote this chain three times with three messages (style.md §1); it
lives here once.
"""

from __future__ import annotations

import logging
import os

from iactcopy.errors import DataStoreError
from iactcopy.params.envexpand import expand

__all__ = ["resolve_datapath", "locate_master"]

log = logging.getLogger(__name__)


def resolve_datapath(text: str) -> str:
    """The folder a ``datapath`` value names.

    ``NONE`` (any case) means the ``VHEFITS`` environment variable; when that
    is unset or empty the current folder is used and a warning says so
    (tools.md W-41).  Environment references and ``~`` are expanded.
    """
    text = text.strip()
    if text.upper() == "NONE":
        text = os.environ.get("VHEFITS", "").strip()
        if not text:
            log.warning("datapath is NONE and VHEFITS is not set: using the current folder")
            return os.curdir
    return expand(text) or os.curdir


def locate_master(datapath: str, master_indx: str) -> str:
    """The path of the master index file, which must exist.

    Raises
    ------
    DataStoreError
        When it is not a file.
    """
    path = os.path.join(datapath, expand(master_indx.strip()))
    if not os.path.isfile(path):
        raise DataStoreError(
            f'Master index file "{path}" not found. Check datapath, or use the hidden '
            f'parameter "master_indx" to specify a different filename.')
    return path
