"""Loopback servers for the latency series: OpenSSH (sftp, sshfs), XRootD, https.

Each is a context manager that starts the server on 127.0.0.1 (a free port),
yields what a client needs, and stops it.  :func:`sshd` also makes a client
key and a ``HOME`` whose ``~/.ssh`` logs in with it; :func:`trust_port` adds
the host key for another port (a relay's) to its known_hosts.  A server that
cannot start raises :class:`Unavailable` with the reason.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import http.server
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Unavailable", "https", "sshd", "sshfs_mount", "trust_port", "xrootd"]

SSHD = "/usr/sbin/sshd"
XROOTD = "/usr/bin/xrootd"


class Unavailable(RuntimeError):
    """A server or mount that cannot be had on this machine (the reason is the message)."""


@dataclass(frozen=True)
class Ssh:
    """A running sshd and the client side that logs in to it."""

    port: int
    home: Path
    key: Path
    host_key: str
    user: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            raise Unavailable(f"{what} cannot start: {(process.stderr.read() or '').strip()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise Unavailable(f"{what} did not listen on port {port} within 15 s") from None
            time.sleep(0.05)


@contextlib.contextmanager
def _running(command: list, port: int, what: str) -> Iterator[None]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    try:
        _wait_for(port, process, what)
        yield
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def sshd(folder: Path) -> Iterator[Ssh]:
    """An sshd with internal-sftp, and a HOME whose ~/.ssh logs in to it."""
    if not os.path.isfile(SSHD) or shutil.which("ssh-keygen") is None:
        raise Unavailable(f"{SSHD} or ssh-keygen is missing (make sysdeps)")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("host", "client"):
        if not (folder / name).exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                            str(folder / name)], check=True)
    shutil.copyfile(folder / "client.pub", folder / "authorized_keys")
    port = free_port()
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder}/host\n"
        f"AuthorizedKeysFile {folder}/authorized_keys\nPidFile none\nStrictModes no\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "PermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\nLogLevel ERROR\n")
    home = folder / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / "client", home / ".ssh" / "id_ed25519")
    (home / ".ssh" / "id_ed25519").chmod(0o600)
    host_key = " ".join((folder / "host.pub").read_text().split()[:2])
    ssh = Ssh(port, home, folder / "client", host_key, getpass.getuser())
    (home / ".ssh" / "known_hosts").write_text("")
    trust_port(ssh, port)
    with _running([SSHD, "-D", "-e", "-f", str(folder / "sshd_config")], port, "sshd"):
        yield ssh


def trust_port(ssh: Ssh, port: int) -> None:
    """Add the sshd's host key for 127.0.0.1:*port* to the client's known_hosts."""
    with open(ssh.home / ".ssh" / "known_hosts", "a") as stream:
        stream.write(f"[127.0.0.1]:{port} {ssh.host_key}\n")


@contextlib.contextmanager
def sshfs_mount(ssh: Ssh, port: int, remote: Path, mountpoint: Path) -> Iterator[Path]:
    """*remote* mounted with sshfs through 127.0.0.1:*port* (a relay to the sshd)."""
    if shutil.which("sshfs") is None:
        raise Unavailable("sshfs is missing (make sysdeps)")
    mountpoint.mkdir(parents=True, exist_ok=True)
    known = ssh.home / ".ssh" / "known_hosts"
    mounted = subprocess.run(
        ["sshfs", "-p", str(port), f"{ssh.user}@127.0.0.1:{remote}", str(mountpoint),
         "-o", f"IdentityFile={ssh.key},UserKnownHostsFile={known},StrictHostKeyChecking=yes"],
        capture_output=True, text=True, timeout=60)
    if mounted.returncode:
        raise Unavailable(f"sshfs cannot mount (FUSE): {mounted.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        unmount = shutil.which("fusermount3") or shutil.which("fusermount") or "umount"
        subprocess.run([unmount, "-u", str(mountpoint)] if "fuser" in unmount
                       else [unmount, str(mountpoint)], check=False, capture_output=True)


@contextlib.contextmanager
def xrootd(folder: Path, export: Path) -> Iterator[int]:
    """An XRootD server exporting *export* (run as ``nobody`` when we are root); its port."""
    if not os.path.isfile(XROOTD):
        raise Unavailable(f"{XROOTD} is missing (Debian: xrootd-server; make sysdeps)")
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="xrootd-", dir=folder))
    work.chmod(0o755)
    for sub in ("logs", "admin"):
        (work / sub).mkdir()
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(work / sub, nobody.pw_uid, nobody.pw_gid)
    port = free_port()
    (work / "xrootd.cfg").write_text(
        f"xrd.port {port}\nxrd.network nodnr\nall.export {export}\n"
        f"all.adminpath {work}/admin\nall.pidpath {work}/admin\n")
    command = [XROOTD, "-c", str(work / "xrootd.cfg"), "-l", str(work / "logs" / "xrootd.log"),
               "-n", "bench"]
    if os.geteuid() == 0:
        command[1:1] = ["-R", "nobody"]
    try:
        with _running(command, port, "xrootd"):
            yield port
    finally:
        shutil.rmtree(work, ignore_errors=True)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class _TlsServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    context: ssl.SSLContext

    def finish_request(self, request, client_address):
        with contextlib.suppress(ssl.SSLError, OSError):
            request = self.context.wrap_socket(request, server_side=True)
            try:
                super().finish_request(request, client_address)
            finally:
                request.close()


@contextlib.contextmanager
def https(folder: Path, served: Path) -> Iterator[tuple[int, Path]]:
    """An https server of *served* with a self-signed certificate; its port and the certificate."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise Unavailable("openssl is missing: no certificate for the https server")
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "https.pem", folder / "https.key"
    if not cert.exists():
        subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                        str(cert), "-days", "30", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    httpd = _TlsServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(served)))
    httpd.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    httpd.context.load_cert_chain(cert, key)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], cert
    finally:
        httpd.shutdown()
        httpd.server_close()
