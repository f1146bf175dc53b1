"""csiactcopy, csiactdata and csfindobs on stores named by sftp:// URLs.

Each test module run starts its own OpenSSH server on 127.0.0.1 (a free
port) with a host key and a client key made for it, logging in as the
current user (root on the project's machines; tests/remote/sshserver.py).
The client finds its key and the host key the way ``ssh`` does, in
``~/.ssh`` of the test's own ``HOME`` (iactcopy.store.access.urls, "sftp").
The tests that log in run twice: with OpenSSH's ``ssh`` (the client used
where it is installed; it needs no extra package) and with asyncssh (used
where it is not; skipped without the ``remote`` extra).  Without
``/usr/sbin/sshd`` (Debian: openssh-server; ``make sysdeps`` installs it),
or where it cannot start, the tests are skipped with the reason.
"""

from __future__ import annotations

import errno
import filecmp
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iactcopy.errors import DataStoreError
from iactcopy.store.access.urls import FsspecSource, _sftp_client_class
from iactcopy.store.index.tables import IndexTable
from iactcopy.store.remotestore import RemoteStore
from iactcopy.tools.csfindobs import csfindobs
from iactcopy.tools.csiactdata import csiactdata

from .conftest import GENERATED_NOBS, GENERATED_PROD
from .sshserver import FIRST_ID, data_files, run_copy


@pytest.fixture(params=["openssh", "asyncssh"])
def sftp_client(request, monkeypatch) -> str:
    """Each test runs with both SFTP clients: OpenSSH's ``ssh`` (the default where it is
    installed) and asyncssh (where it is not), the latter by hiding ``ssh`` from PATH."""
    if request.param == "asyncssh":
        pytest.importorskip("asyncssh", reason="asyncssh (pip install iactcopy[remote])")
        monkeypatch.setenv("PATH", os.pathsep.join(
            folder for folder in os.environ.get("PATH", "").split(os.pathsep)
            if not os.path.exists(os.path.join(folder, "ssh"))))
    elif shutil.which("ssh") is None:
        pytest.skip("OpenSSH's ssh is not on PATH (Debian: openssh-client)")
    return request.param


@pytest.fixture
def ssh_home(sshd, isolated, sftp_client) -> Path:
    """``~/.ssh`` of the test's HOME with the client key and the server's host key."""
    from .sshserver import install_client

    return install_client(sshd)



def test_copy_over_sftp(sshd, ssh_home, generated_store, tmp_path):
    outpath = tmp_path / "local"
    url = sshd.url(generated_store / "master.json")
    app = run_copy(url, outpath)

    assert app.exit_status == 0, app.report.problems
    files = data_files(generated_store)
    assert sorted(app.report.copied) == files
    for relpath in files:
        source, target = generated_store / relpath, outpath / relpath
        assert filecmp.cmp(source, target, shallow=False)
        # sftp (version 3) gives whole seconds, and the permission bits.
        assert target.stat().st_mtime == int(source.stat().st_mtime)
        assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(source.stat().st_mode)
    obs = IndexTable.read(outpath / "obs-index.fits.gz", "OBS")
    assert sorted(obs.obs_ids.tolist()) == list(range(FIRST_ID, FIRST_ID + GENERATED_NOBS))

    again = run_copy(url, outpath)
    assert again.exit_status == 0
    assert again.report.copied == {}
    assert len(again.report.up_to_date) == GENERATED_NOBS


def test_a_file_of_many_blocks_arrives_whole_over_sftp(sshd, ssh_home, generated_store,
                                                       tmp_path):
    # 9 MB of random bytes: dozens of block requests, more than one round of
    # those in flight, a last block shorter than the others.
    (generated_store / "README.txt").write_bytes(os.urandom(9_000_001))
    url = sshd.url(generated_store / "master.json")
    for nthreads in (1, 4):
        outpath = tmp_path / f"local-{nthreads}"
        app = run_copy(url, outpath, nthreads=nthreads)
        assert app.exit_status == 0, app.report.problems
        for relpath in ["README.txt", *data_files(generated_store)]:
            assert filecmp.cmp(generated_store / relpath, outpath / relpath, shallow=False)


def test_missing_file_over_sftp(sshd, ssh_home, generated_store, tmp_path):
    missing = f"data/{GENERATED_PROD}_obs_{FIRST_ID + 2:06d}.fits.gz"
    (generated_store / missing).unlink()
    outpath = tmp_path / "local"
    app = run_copy(sshd.url(generated_store / "master.json"), outpath)

    assert app.exit_status == 3
    assert list(app.report.missing) == [missing]
    hdu = IndexTable.read(outpath / "hdu-index.fits.gz", "HDU")
    assert FIRST_ID + 2 not in hdu.obs_ids.tolist()


def test_csiactdata_and_csfindobs_over_sftp(sshd, ssh_home, generated_store):
    datapath = sshd.url(generated_store)
    data = csiactdata(datapath=datapath)
    data.run()
    assert data.names() == [GENERATED_PROD]
    find = csfindobs(datapath=datapath, prodname=GENERATED_PROD, ra="NONE", min_qual=2)
    find.run()
    assert find.runs() == list(range(FIRST_ID, FIRST_ID + GENERATED_NOBS))


def test_command_line_over_sftp(sshd, ssh_home, generated_store, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "iactcopy.tools.csiactcopy",
         f"remote_master={sshd.url(generated_store / 'master.json')}",
         f"prodname={GENERATED_PROD}", f"outpath={tmp_path / 'local'}"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no library warning (asyncssh's about DSA keys, say)
    assert sorted(os.listdir(tmp_path / "local" / "data")) == [
        Path(f).name for f in data_files(generated_store)]
    for relpath in data_files(generated_store):
        assert filecmp.cmp(generated_store / relpath, tmp_path / "local" / relpath,
                           shallow=False)


def test_unknown_host_key_is_refused_at_once(sshd, ssh_home, generated_store):
    (ssh_home / "known_hosts").write_text("")
    started = time.monotonic()
    with pytest.raises(DataStoreError) as caught:
        RemoteStore.open(sshd.url(generated_store / "master.json"))
    message = str(caught.value)
    assert sshd.url(generated_store / "master.json") in message
    assert "not trusted" in message.lower() or "host key" in message.lower()
    assert "attempts" not in message
    assert time.monotonic() - started < 5


def test_index_outside_the_store_is_refused_over_sftp(sshd, ssh_home, generated_store):
    master = json.loads((generated_store / "master.json").read_text())
    master["datasets"][0]["obsindx"] = "../../etc/obs-index.fits.gz"
    (generated_store / "master.json").write_text(json.dumps(master))
    store = RemoteStore.open(sshd.url(generated_store / "master.json"))
    with pytest.raises(DataStoreError, match="outside the store"):
        store.production(GENERATED_PROD)


def test_a_broken_sftp_connection_is_made_again(sshd, ssh_home, generated_store):
    relpath = f"data/{GENERATED_PROD}_obs_{FIRST_ID:06d}.fits.gz"
    source = FsspecSource(sshd.url(generated_store))
    size = (generated_store / relpath).stat().st_size
    assert source.info(relpath).size == size

    class Broken:
        def info(self, path):
            raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")

    source._fs = Broken()  # as a connection looks once the server has dropped it
    assert source.info(relpath).size == size
    assert not isinstance(source._fs, Broken)


def test_the_client_is_openssh_where_ssh_is_and_asyncssh_elsewhere(sshd, ssh_home,
                                                                  sftp_client):
    from iactcopy.store.access.opensshsftp import OpenSshSftpClient

    source = FsspecSource(sshd.url("/"))
    source.info("etc/hostname")
    if sftp_client == "openssh":
        assert type(source._fs) is OpenSshSftpClient
    else:
        assert type(source._fs).__name__ == "SftpClient"
    # ssh takes a password only from a terminal: a URL with one goes to asyncssh.
    if importlib.util.find_spec("asyncssh") is not None:
        assert _sftp_client_class(f"sftp://{sshd.user}:pw@127.0.0.1/").__name__ == "SftpClient"


def test_unreachable_sftp_server_after_three_attempts(closed_port):
    source = FsspecSource(f"sftp://127.0.0.1:{closed_port}/store")
    with pytest.raises(ConnectionError, match=r"\(3 attempts\)"):
        source.info("master.json")


def test_an_sshfs_mount_is_looked_up_in_parallel(sshd, ssh_home, generated_store, tmp_path,
                                                 sftp_client):
    """A store on an sshfs mount of the loopback sshd: a network mount, whose files the
    plan looks up in parallel; the copy from it is whole."""
    from iactcopy.store.access.mounts import mount_type
    from iactcopy.store.access.sources import LocalSource

    if sftp_client != "openssh":
        pytest.skip("sshfs runs ssh itself; the SFTP client does not matter here")

    unmount = shutil.which("fusermount3") or shutil.which("fusermount")
    if shutil.which("sshfs") is None or unmount is None or not os.path.exists("/dev/fuse"):
        pytest.skip("sshfs, fusermount or /dev/fuse is missing (make sysdeps)")
    mountpoint = tmp_path / "mounted"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["sshfs", "-p", str(sshd.port), f"{sshd.user}@127.0.0.1:{generated_store}",
         str(mountpoint), "-o", f"IdentityFile={ssh_home / 'id_ed25519'},"
         f"UserKnownHostsFile={ssh_home / 'known_hosts'},StrictHostKeyChecking=yes"],
        capture_output=True, text=True, timeout=60)
    if mounted.returncode:
        pytest.skip(f"sshfs cannot mount here: {mounted.stderr.strip()}")
    try:
        assert mount_type(mountpoint) == "fuse.sshfs"
        assert LocalSource(mountpoint).network_lookups is True
        assert LocalSource(tmp_path).network_lookups is False
        outpath = tmp_path / "local"
        app = run_copy(str(mountpoint / "master.json"), outpath)
        assert app.exit_status == 0, app.report.problems
        for relpath in data_files(generated_store):
            assert filecmp.cmp(generated_store / relpath, outpath / relpath, shallow=False)
    finally:
        subprocess.run([unmount, "-u", str(mountpoint)], capture_output=True, timeout=60)
