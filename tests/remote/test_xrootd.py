"""csiactcopy, csiactdata and csfindobs on stores named by root:// URLs.

Each test module run starts real XRootD servers (Debian's xrootd-server,
``make sysdeps`` installs it) on 127.0.0.1: an open one, and one that
demands a shared-secret (sss) login.  Run as root, the servers drop to the
user ``nobody`` (``-R nobody``), so the served store, the log folder and
the keytab are made readable or writable by that user, in a folder of
their own under the system's temporary folder.  Without ``/usr/bin/xrootd``,
or the Python packages of the ``remote`` extra (fsspec-xrootd, xrootd), the
tests are skipped with the reason.
"""

from __future__ import annotations

import filecmp
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from iactcopy.errors import DataStoreError
from iactcopy.store.remotestore import RemoteStore
from iactcopy.tools.csfindobs import csfindobs
from iactcopy.tools.csiactcopy import csiactcopy
from iactcopy.tools.csiactdata import csiactdata

from .conftest import GENERATED_NOBS, GENERATED_PROD

XROOTD = "/usr/bin/xrootd"
SSSADMIN = "/usr/bin/xrdsssadmin"
FIRST_ID = 100000
CONFIG = """\
xrd.port {port}
xrd.network nodnr
all.export {export}
all.adminpath {folder}/admin
all.pidpath {folder}/admin
"""
SSS = """\
xrootd.seclib libXrdSec.so
sec.protocol sss -s {keytab}
sec.protbind * only sss
"""

pytest.importorskip("fsspec_xrootd", reason="fsspec-xrootd (pip install iactcopy[remote])")
pytest.importorskip("XRootD", reason="the xrootd wheel (pip install iactcopy[remote])")


@dataclass(frozen=True)
class XRootD:
    """A running server: its port, the folder it exports, and a keytab that logs in."""

    port: int
    export: Path
    keytab: Path | None = None

    def url(self, relpath: str = "") -> str:
        return f"root://127.0.0.1:{self.port}/{self.export}/{relpath}".rstrip("/")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(path, nobody.pw_uid, nobody.pw_gid)


def _start(folder: Path, export: Path, *, keytab: Path | None = None):
    """Start xrootd; return the process and its port, or skip with the reason."""
    port = _free_port()
    folder.chmod(0o755)
    logs = folder / "logs"
    logs.mkdir()
    _as_server_user(logs)
    config = folder / "xrootd.cfg"
    text = CONFIG.format(port=port, export=export, folder=folder)
    if keytab is not None:
        text += SSS.format(keytab=keytab)
    config.write_text(text)
    (folder / "admin").mkdir()
    _as_server_user(folder / "admin")
    command = [XROOTD, "-c", str(config), "-l", str(logs / "xrootd.log"), "-n", "iactcopy"]
    if os.geteuid() == 0:
        command[1:1] = ["-R", "nobody"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            pytest.skip(f"xrootd cannot start: {process.stderr.read().strip()[-500:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                pytest.skip(f"xrootd did not listen on port {port} within 15 s")
            time.sleep(0.05)


@pytest.fixture(scope="module")
def served(generated_template):
    """A folder the server user can read, holding a copy of the generated store."""
    if not os.path.isfile(XROOTD):
        pytest.skip(f"{XROOTD} is missing (Debian: xrootd-server; run make sysdeps)")
    folder = Path(tempfile.mkdtemp(prefix="iactcopy-xrootd-"))
    folder.chmod(0o755)
    store = folder / "store"
    shutil.copytree(generated_template, store)
    for path in [store, *store.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def xrootd(served):
    """An open XRootD server exporting the served store."""
    process, port = _start(Path(tempfile.mkdtemp(dir=served)), served / "store")
    yield XRootD(port, served / "store")
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def xrootd_sss(served):
    """An XRootD server that demands a shared-secret login; its keytab logs in."""
    if not os.path.isfile(SSSADMIN):
        pytest.skip(f"{SSSADMIN} is missing (Debian: xrootd-server)")
    folder = Path(tempfile.mkdtemp(dir=served))
    keytab = folder / "sss.keytab"
    made = subprocess.run([SSSADMIN, "-k", "iactcopy", "-u", "nobody", "-g", "nogroup", "add",
                           str(keytab)], input="y\n", capture_output=True, text=True, timeout=30)
    if made.returncode or not keytab.is_file():
        pytest.skip(f"no sss keytab: {made.stderr.strip()}")
    client_keytab = folder / "client.keytab"
    shutil.copyfile(keytab, client_keytab)
    client_keytab.chmod(0o600)
    keytab.chmod(0o600)
    _as_server_user(keytab)
    process, port = _start(folder, served / "store", keytab=keytab)
    yield XRootD(port, served / "store", client_keytab)
    process.terminate()
    process.wait(10)


def data_files(store: Path) -> list[str]:
    return sorted(str(p.relative_to(store)) for p in (store / "data").iterdir())


def command(tool: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"iactcopy.tools.{tool}", *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_copy_over_root_is_byte_identical(xrootd, tmp_path):
    local = tmp_path / "local"
    app = csiactcopy(remote_master=xrootd.url("master.json"), prodname=GENERATED_PROD,
                     outpath=str(local))
    app.execute()
    assert app.report.complete and app.exit_status == 0
    files = data_files(xrootd.export)
    assert sorted(app.report.copied) == files
    for relpath in files:
        assert filecmp.cmp(xrootd.export / relpath, local / relpath, shallow=False)
        remote_time = int((xrootd.export / relpath).stat().st_mtime)
        assert int((local / relpath).stat().st_mtime) == remote_time


def test_a_file_of_many_blocks_arrives_whole_over_root(xrootd, tmp_path):
    # 20 MB of random bytes: three block requests, the last one short.
    readme = xrootd.export / "README.txt"
    readme.write_bytes(os.urandom(20_000_003))
    readme.chmod(0o644)
    try:
        for nthreads in (1, 4):
            local = tmp_path / f"local-{nthreads}"
            app = csiactcopy(remote_master=xrootd.url("master.json"), prodname=GENERATED_PROD,
                             outpath=str(local), nthreads=nthreads)
            app.execute()
            assert app.report.complete
            for relpath in ["README.txt", *data_files(xrootd.export)]:
                assert filecmp.cmp(xrootd.export / relpath, local / relpath, shallow=False)
    finally:
        readme.unlink()


def test_csiactdata_and_csfindobs_over_root(xrootd):
    data = csiactdata(datapath=xrootd.url())
    data.run()
    assert data.names() == [GENERATED_PROD]
    find = csfindobs(datapath=xrootd.url(), prodname=GENERATED_PROD, ra="NONE", min_qual=2)
    find.run()
    assert find.runs() == list(range(FIRST_ID, FIRST_ID + GENERATED_NOBS))


def test_missing_file_over_root_is_exit_3(xrootd, tmp_path):
    relpath = data_files(xrootd.export)[1]
    hidden = xrootd.export / (relpath + ".away")
    os.rename(xrootd.export / relpath, hidden)
    try:
        result = command("csiactcopy", f"remote_master={xrootd.url('master.json')}",
                         f"prodname={GENERATED_PROD}", f"outpath={tmp_path / 'local'}",
                         f"logfile={tmp_path / 'c.log'}")
    finally:
        os.rename(hidden, xrootd.export / relpath)
    assert result.returncode == 3, result.stderr
    assert relpath in (tmp_path / "c.log").read_text()
    assert not (tmp_path / "local" / relpath).exists()
    assert "Warning" not in result.stderr


def test_missing_master_over_root_is_a_clear_error(xrootd):
    with pytest.raises(DataStoreError, match="not found"):
        RemoteStore.open(xrootd.url("nothere.json"))


def test_shared_secret_login(xrootd_sss, tmp_path):
    result = command("csiactcopy", f"remote_master={xrootd_sss.url('master.json')}",
                     f"prodname={GENERATED_PROD}", f"outpath={tmp_path / 'local'}",
                     f"logfile={tmp_path / 'c.log'}",
                     env={"XrdSecSSSKT": str(xrootd_sss.keytab)})
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert data_files(tmp_path / "local") == data_files(xrootd_sss.export)


def test_refused_login_is_one_clear_line(xrootd_sss, tmp_path):
    result = command("csiactdata", f"datapath={xrootd_sss.url()}",
                     f"logfile={tmp_path / 'd.log'}",
                     env={"XrdSecSSSKT": str(tmp_path / "no.keytab")})
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("*** ERROR: ")
    assert xrootd_sss.url("master.json") in lines[0] and "login refused" in lines[0]
