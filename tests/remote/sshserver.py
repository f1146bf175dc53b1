"""A real OpenSSH server on loopback for the sftp tests, and what they share.

:func:`start_sshd` runs ``/usr/sbin/sshd`` on 127.0.0.1 (a free port) with
a host key and a client key made for it, logging in as the current user
(root on the project's machines); its configuration can be changed (no
``Subsystem sftp``, say) to make a server that misbehaves.
:func:`install_client` puts the client key and the host key in ``~/.ssh``
of the test's own ``HOME``.  The fixtures ``sshd`` and ``ssh_home`` of
tests/remote/conftest.py are built on these.  Without ``/usr/sbin/sshd``
(Debian: openssh-server; ``make sysdeps`` installs it), or where it cannot
start, the tests are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from iactcopy.tools.csiactcopy import csiactcopy

from .conftest import GENERATED_PROD

SSHD = "/usr/sbin/sshd"
FIRST_ID = 100000
"""The first observation id of the generated store."""
CONFIG = """\
Port {port}
ListenAddress 127.0.0.1
HostKey {folder}/host_ed25519
AuthorizedKeysFile {folder}/authorized_keys
PidFile none
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
LogLevel ERROR
"""
SFTP_SUBSYSTEM = "Subsystem sftp internal-sftp\n"


@dataclass(frozen=True)
class Sshd:
    """A running sshd: its port, its host key line, and the client key that logs in."""

    port: int
    host_key: str
    client_key: Path
    user: str

    def url(self, path: Path | str) -> str:
        return f"sftp://{self.user}@127.0.0.1:{self.port}{path}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                   check=True, capture_output=True, timeout=30)


@contextlib.contextmanager
def start_sshd(folder: Path, extra: str = SFTP_SUBSYSTEM) -> Iterator[Sshd]:
    """An sshd whose files are in *folder*, *extra* added to its configuration.

    Skips the test, with the reason, when sshd cannot start here.
    """
    if not os.path.isfile(SSHD) or shutil.which("ssh-keygen") is None:
        pytest.skip(f"{SSHD} or ssh-keygen is missing (Debian: openssh-server; run make sysdeps)")
    if not os.path.isdir("/run/sshd"):
        # sshd's privilege-separation folder, made by the service scripts at boot.
        try:
            os.makedirs("/run/sshd", mode=0o755)
        except OSError as err:
            pytest.skip(f"sshd cannot start: /run/sshd is missing and cannot be made ({err})")
    keygen(folder / "host_ed25519")
    keygen(folder / "client_ed25519")
    shutil.copyfile(folder / "client_ed25519.pub", folder / "authorized_keys")
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(CONFIG.format(port=port, folder=folder) + extra)
    check = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True,
                           timeout=30)
    if check.returncode:
        pytest.skip(f"sshd cannot start: {check.stderr.strip() or check.stdout.strip()}")
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                pytest.skip(f"sshd cannot start: {process.stderr.read().strip()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.skip(f"sshd did not listen on port {port} within 10 s")
                time.sleep(0.05)
        host_key = (folder / "host_ed25519.pub").read_text().split()
        yield Sshd(port, " ".join(host_key[:2]), folder / "client_ed25519", getpass.getuser())
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def install_client(sshd: Sshd) -> Path:
    """``~/.ssh`` of ``$HOME`` with the client key and the server's host key."""
    folder = Path(os.environ["HOME"]) / ".ssh"
    folder.mkdir(mode=0o700, exist_ok=True)
    shutil.copyfile(sshd.client_key, folder / "id_ed25519")
    os.chmod(folder / "id_ed25519", 0o600)
    with open(folder / "known_hosts", "a") as known:
        known.write(f"[127.0.0.1]:{sshd.port} {sshd.host_key}\n")
    return folder


def run_copy(remote_master: str, outpath: Path, **values) -> csiactcopy:
    values.setdefault("nthreads", 4)
    app = csiactcopy(remote_master=remote_master, prodname=GENERATED_PROD,
                     outpath=str(outpath), **values)
    app.execute()
    return app


def data_files(store: Path) -> list[str]:
    return sorted(str(path.relative_to(store)) for path in (store / "data").iterdir())
