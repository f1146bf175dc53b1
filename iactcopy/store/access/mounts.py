"""Which file system a local folder is on, and whether that file system is a network one.

A folder that looks local may be an NFS, SMB or sshfs mount, where every
``stat`` waits for a round trip to a server; the plan of a copy then looks
its files up in parallel (:mod:`iactcopy.store.transfer.plan`).
``os.statvfs`` cannot tell such a mount from a local disk; the kernel's
table of mounts, ``/proc/self/mountinfo``, names each mount's file-system
type.  Where that table cannot be read (not Linux), every folder counts as
local: the plan is then sequential, which costs a network mount time but
never breaks it.
"""

from __future__ import annotations

import logging
import os
import re

from iactcopy.store.access.sources import is_inside

__all__ = ["MOUNTINFO", "is_network_type", "mount_type", "on_network_file_system",
           "parse_mountinfo"]

log = logging.getLogger(__name__)

MOUNTINFO = "/proc/self/mountinfo"
"""The kernel's table of the mounts this process sees (Linux)."""

# File systems whose files live on another machine.  Every FUSE file system
# ("fuse.sshfs", "fuse.rclone", "fuse.s3fs", CVMFS's plain "fuse") counts too:
# each call goes to a user-space daemon, and most of them are network clients.
# "fuseblk" is FUSE on a local disk (NTFS, exFAT): local.
_NETWORK_TYPES = frozenset({
    "9p", "afs", "beegfs", "ceph", "cifs", "coda", "fuse", "gfs2", "glusterfs", "gpfs",
    "lustre", "ncpfs", "nfs", "nfs4", "ocfs2", "orangefs", "pvfs2", "smb3", "smbfs",
})
_NETWORK_PREFIXES = ("fuse.", "nfs", "smb")
_ESCAPE = re.compile(r"\\([0-7]{3})")


def is_network_type(fstype: str) -> bool:
    """Tell whether the file-system type *fstype* (as in mountinfo) is a network or FUSE one."""
    return fstype in _NETWORK_TYPES or fstype.startswith(_NETWORK_PREFIXES)


def parse_mountinfo(text: str) -> list[tuple[str, str]]:
    """The ``(mount point, file-system type)`` of each line of a mountinfo table, in order.

    Parameters
    ----------
    text : str
        The content of ``/proc/<pid>/mountinfo``: per line, the mount ID,
        parent ID, device, root, mount point, options, optional fields, a
        ``-``, then the type, the source and the super-block options.  The
        kernel writes a space, tab, newline or backslash in a path as an
        octal escape (``\\040``).

    Returns
    -------
    list of tuple of (str, str)
        Malformed lines are left out.
    """
    mounts = []
    for line in text.splitlines():
        fields = line.split(" ")
        try:
            dash = fields.index("-", 6)
            point, fstype = fields[4], fields[dash + 1]
        except (ValueError, IndexError):
            continue
        mounts.append((_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), point), fstype))
    return mounts


def mount_type(path: str | os.PathLike, mountinfo: str | None = None) -> str | None:
    """The file-system type of the mount that holds *path*; None when it cannot be told.

    Parameters
    ----------
    path : str or path-like
        A folder or file; it need not exist (its real path is taken as far
        as it goes).
    mountinfo : str, optional
        The mount table's text; default: :data:`MOUNTINFO` read now.

    Returns
    -------
    str or None
    """
    if mountinfo is None:
        try:
            with open(MOUNTINFO, "rb") as stream:
                mountinfo = os.fsdecode(stream.read())
        except OSError as err:
            log.debug("cannot read %s: %s", MOUNTINFO, err)
            return None
    real = os.path.realpath(os.fspath(path))
    found, length = None, -1
    # The longest mount point that holds the path; of mounts on one point,
    # the last one in the table hides the others.
    for point, fstype in parse_mountinfo(mountinfo):
        if is_inside(real, point) and len(point) >= length:
            found, length = fstype, len(point)
    return found


def on_network_file_system(path: str | os.PathLike) -> bool:
    """Tell whether *path* is on a network or FUSE mount (False when it cannot be told)."""
    fstype = mount_type(path)
    return fstype is not None and is_network_type(fstype)
