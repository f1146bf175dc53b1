"""Tests of iactcopy.store.access.mounts: which local folders are on network or FUSE mounts.

A real sshfs mount is tested with the sftp tests (tests/remote/test_sftp.py).
"""

from __future__ import annotations

import os

import pytest

from iactcopy.store.access import mounts
from iactcopy.store.access.mounts import (
    is_network_type,
    mount_type,
    on_network_file_system,
    parse_mountinfo,
)
from iactcopy.store.access.sources import LocalSource

# Lines as the kernel writes them (proc(5)), with optional fields, escapes and a stacked mount.
MOUNTINFO = """\
22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
25 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
40 22 0:35 / /data rw,relatime shared:20 master:3 - nfs4 server:/export rw,vers=4.2
41 40 0:36 / /data/scratch rw,relatime - tmpfs tmpfs rw
42 22 0:37 / /mnt/my\\040store rw,nosuid,nodev,relatime - fuse.sshfs me@host:/store rw
43 22 0:38 / /mnt/cvmfs rw - fuse cvmfs2 rw
44 22 0:39 / /mnt/usb rw - fuseblk /dev/sdb1 rw
45 22 0:40 / /srv rw - cifs //host/share rw
46 45 0:41 / /srv rw - xfs /dev/vdb rw
this line is not one of the table
"""


def test_parse_mountinfo_reads_points_and_types():
    table = parse_mountinfo(MOUNTINFO)
    assert table[:3] == [("/", "ext4"), ("/proc", "proc"), ("/data", "nfs4")]
    assert ("/mnt/my store", "fuse.sshfs") in table
    assert len(table) == 9, "a malformed line is left out"


@pytest.mark.parametrize("path, fstype", [
    ("/home/me/store", "ext4"),
    ("/data", "nfs4"),
    ("/data/hess/master.json", "nfs4"),
    ("/data/scratch/x", "tmpfs"),
    ("/datascratch", "ext4"),  # a prefix of a name is not a folder above it
    ("/mnt/my store/hess", "fuse.sshfs"),
    ("/mnt/cvmfs/repo", "fuse"),
    ("/mnt/usb/data", "fuseblk"),
    ("/srv/data", "xfs"),  # mounted later on the same point: it hides the cifs one
])
def test_mount_type_is_that_of_the_deepest_mount(path, fstype):
    assert mount_type(path, MOUNTINFO) == fstype


@pytest.mark.parametrize("fstype, network", [
    ("ext4", False), ("xfs", False), ("tmpfs", False), ("overlay", False), ("fuseblk", False),
    ("nfs", True), ("nfs4", True), ("cifs", True), ("smb3", True), ("9p", True),
    ("fuse", True), ("fuse.sshfs", True), ("fuse.rclone", True), ("ceph", True),
    ("lustre", True), ("gpfs", True),
])
def test_network_types(fstype, network):
    assert is_network_type(fstype) is network


def test_a_real_local_folder(tmp_path):
    fstype = mount_type(tmp_path)
    if fstype is None:
        pytest.skip(f"{mounts.MOUNTINFO} cannot be read here")
    # The test folder is on a local disk or in memory, not on a network mount.
    if is_network_type(fstype):
        pytest.skip(f"the test folder {tmp_path} is on a {fstype} mount")
    assert not on_network_file_system(tmp_path)
    assert not on_network_file_system(tmp_path / "not" / "made" / "yet")
    assert LocalSource(tmp_path).network_lookups is False


def test_a_real_mount_of_memory():
    if not os.path.isdir("/proc/self"):
        pytest.skip("no /proc here")
    assert mount_type("/proc/self") == "proc"
    assert not on_network_file_system("/proc")


def test_without_a_mount_table_a_folder_counts_as_local(tmp_path, monkeypatch):
    monkeypatch.setattr(mounts, "MOUNTINFO", str(tmp_path / "no-such-table"))
    assert mount_type(tmp_path) is None
    assert not on_network_file_system(tmp_path)
