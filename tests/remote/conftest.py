"""Fixtures of the remote-store tests: a loopback HTTP server, data stores, a clean environment.

Every test runs with ``HOME``, ``PFILES`` and the current folder inside its
own temporary folder and no ``VHEFITS``, as the tool tests do.  Retries
wait 10 ms instead of seconds, for tools run in this process.

:func:`http_server` serves a folder on 127.0.0.1 (a free port) with
:class:`http.server.SimpleHTTPRequestHandler`, which sends ``Content-Length``
and ``Last-Modified``; ``faults`` makes chosen requests fail (module
:class:`FaultyHandler`), and every request is recorded.  With ``tls`` (from
:func:`tls_files`) it serves https, and ``login`` demands a bearer token or
basic credentials; ``tls.client_ca`` demands a client certificate.
:func:`sshd` runs an OpenSSH server for a test module, and :func:`ssh_home`
lets the test's HOME log in to it (tests/remote/sshserver.py).

The credential variables of the grid (``BEARER_TOKEN``, ``X509_USER_PROXY``
and the others) are removed from every test's environment, and
``XDG_RUNTIME_DIR`` points into the test's folder, so that nothing of the
machine's own set-up is sent.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import os
import select
import shutil
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from iactcopy.store.access import urls as remote
from iactcopy.testing.storegen import generate_store

# The folder "shared" beside the repository's own folder (CI clones both anywhere).
HESS_STORE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hess_dl3_dr1"
GENERATED_PROD = "sim"
GENERATED_NOBS = 6
CREDENTIAL_VARIABLES = ("BEARER_TOKEN", "BEARER_TOKEN_FILE", "NETRC", "X509_USER_PROXY",
                        "X509_USER_CERT", "X509_USER_KEY", "X509_CERT_DIR", "SSL_CERT_FILE",
                        "SSL_CERT_DIR")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch) -> Path:
    """``PFILES="<tmp>/pfiles;"``, ``HOME=<tmp>/home``, cwd ``<tmp>/work``, fast retries."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("PFILES", f"{tmp_path / 'pfiles'};")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("VHEFITS", raising=False)
    monkeypatch.chdir(work)
    monkeypatch.setattr(remote, "RETRY_DELAYS", (0.01, 0.02))
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "runtime").mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "runtime"))
    return tmp_path


@pytest.fixture
def hess_store() -> Path:
    """The H.E.S.S. DL3 DR1 store; the test skips when it is absent."""
    if not (HESS_STORE / "master.json").is_file():
        pytest.skip(f"the H.E.S.S. DL3 DR1 store is not available at {HESS_STORE}")
    return HESS_STORE


@pytest.fixture(scope="session")
def generated_template(tmp_path_factory) -> Path:
    """A generated store of a few observations, written once per session (read-only)."""
    folder = tmp_path_factory.mktemp("generated") / "store"
    generate_store(folder, GENERATED_NOBS, name=GENERATED_PROD, seed=3)
    return folder


@pytest.fixture
def generated_store(generated_template, tmp_path) -> Path:
    """A copy of the generated store that the test may change."""
    folder = tmp_path / "served"
    shutil.copytree(generated_template, folder)  # copy2: times kept
    return folder


@dataclass
class Server:
    """A running loopback HTTP server and what it was asked."""

    url: str
    port: int
    faults: dict = field(default_factory=dict)
    delay: float = 0.0
    stall: float = 3.0
    """Seconds a ``"stall"`` request waits, silent, before the connection is closed."""
    requests: list = field(default_factory=list)
    """(method, path, action taken) for each request, in order of arrival."""
    login: tuple | None = None
    """None, ("bearer", token) or ("basic", "user:password"): what a request must carry."""
    authorizations: list = field(default_factory=list)
    """The Authorization header of each request (None when absent)."""
    in_flight: int = 0
    peak: int = 0
    """The most requests that were being answered at one time."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def paths(self, method: str | None = None) -> list[str]:
        """The paths requested (with *method*, if given)."""
        return [path for verb, path, _ in self.requests if method in (None, verb)]


class FaultyHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files, except that it fails the requests listed in ``server.faults``.

    ``faults`` maps a URL path to a list of actions taken by the requests of
    that path one after the other (any method); once the list is used up,
    the file is served.  Actions: ``"ok"`` serves, ``"503"`` answers 503,
    ``"405"`` answers 405 (as a server without HEAD would),
    ``"drop"`` closes the connection without an answer, ``"stall"`` says
    nothing for ``server.stall`` seconds, then closes it, ``"cut"`` sends the
    headers and half the body, then closes, ``"always503"`` answers 503 to
    every request.  ``server.delay`` is added before every answer.
    """

    state: Server

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self._serve("GET")

    def do_HEAD(self):
        self._serve("HEAD")

    def _serve(self, method: str) -> None:
        state = self.state
        path = self.path.split("?", 1)[0]
        with state.lock:
            state.authorizations.append(self.headers.get("Authorization"))
        if state.login is not None and not self._logged_in(state.login):
            self.send_error(401, "Unauthorized (test)")
            return
        with state.lock:
            plan = state.faults.get(path)
            action = "ok"
            if plan:
                action = plan[0] if plan[0] == "always503" else plan.pop(0)
            state.requests.append((method, path, action))
            state.in_flight += 1
            state.peak = max(state.peak, state.in_flight)
        try:
            if state.delay:
                time.sleep(state.delay)
            self._act(method, action)
        finally:
            with state.lock:
                state.in_flight -= 1

    def _logged_in(self, login: tuple) -> bool:
        kind, secret = login
        if kind == "bearer":
            return self.headers.get("Authorization") == f"Bearer {secret}"
        expected = "Basic " + base64.b64encode(secret.encode()).decode()
        return self.headers.get("Authorization") == expected

    def _act(self, method: str, action: str) -> None:
        if action in ("503", "always503"):
            self.send_error(503, "Service Unavailable (test)")
        elif action == "405":
            self.send_error(405, "Method Not Allowed (test)")
        elif action == "stall":
            time.sleep(self.state.stall)
            self.close_connection = True
        elif action == "drop":
            self.close_connection = True
        elif action == "cut" and method == "GET":
            self._send_cut()
        elif method == "GET":
            super().do_GET()
        else:
            super().do_HEAD()

    def _send_cut(self) -> None:
        source = self.send_head()
        if source is None:
            return
        with source:
            data = source.read()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture
def http_server() -> Iterator:
    """``http_server(folder, faults=None, delay=0.0)`` starts a server; all stop at the end."""
    running = []

    def start(folder: Path | str, faults: Mapping[str, Sequence[str]] | None = None,
              delay: float = 0.0, *, tls: TlsFiles | None = None, client_cert: bool = False,
              login: tuple | None = None) -> Server:
        state = Server("", 0, {path: list(actions) for path, actions in (faults or {}).items()},
                       delay, login=login)
        handler = type("Handler", (FaultyHandler,), {"state": state})
        server_class = http.server.ThreadingHTTPServer if tls is None else _TlsServer
        httpd = server_class(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
        if tls is not None:
            httpd.context = tls.server_context(client_cert=client_cert)
        httpd.daemon_threads = True
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True)
        thread.start()
        running.append((httpd, thread))
        state.port = httpd.server_address[1]
        state.url = f"{'http' if tls is None else 'https'}://127.0.0.1:{state.port}"
        return state

    yield start
    for httpd, thread in running:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """An sshd on loopback for this module (tests/remote/sshserver.py); skips when none starts."""
    from .sshserver import start_sshd

    with start_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture
def ssh_home(sshd, isolated) -> Path:
    """``~/.ssh`` of the test's HOME with the client key and the server's host key."""
    from .sshserver import install_client

    return install_client(sshd)


@pytest.fixture
def closed_port() -> int:
    """A loopback port with no server behind it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _TlsServer(http.server.ThreadingHTTPServer):
    """Serves https: the TLS handshake runs in the request's thread, not the accept loop."""

    context: ssl.SSLContext

    def finish_request(self, request, client_address):
        request = self.context.wrap_socket(request, server_side=True,
                                           do_handshake_on_connect=False)
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError):
            # A refused client certificate. The alert is sent; what the client
            # sent meanwhile is read (raw), so that closing does not reset the
            # connection, and the alert with it, before the client reads it.
            with contextlib.suppress(OSError):
                while select.select([request], [], [], 2)[0] and os.read(request.fileno(),
                                                                         65536):
                    pass
            request.close()
            return
        try:
            super().finish_request(request, client_address)
        finally:
            request.close()


@dataclass(frozen=True)
class TlsFiles:
    """A test CA, a server certificate for 127.0.0.1, and a client certificate and proxy."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    proxy: Path
    """The client certificate and its key in one file, as X509_USER_PROXY names them."""

    def server_context(self, *, client_cert: bool = False) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server_cert, self.server_key)
        if client_cert:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cafile=str(self.ca))
        return context


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> TlsFiles:
    """Certificates made with the ``cryptography`` package (asyncssh needs it too)."""
    crypto = pytest.importorskip("cryptography", reason="cryptography makes the test certificates")
    del crypto
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.timezone.utc)

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    def issue(subject: str, key, issuer: str, issuer_key, *, ca: bool = False, extensions=()):
        builder = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        for extension in extensions:
            builder = builder.add_extension(extension, critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    def write(path: Path, *items) -> Path:
        data = b""
        for item in items:
            if isinstance(item, x509.Certificate):
                data += item.public_bytes(serialization.Encoding.PEM)
            else:
                data += item.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())
        path.write_bytes(data)
        path.chmod(0o600)
        return path

    ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = issue("iactcopy test CA", ca_key, "iactcopy test CA", ca_key, ca=True)
    server = issue("127.0.0.1", server_key, "iactcopy test CA", ca_key, extensions=[
        x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])])
    client = issue("iactcopy test user", client_key, "iactcopy test CA", ca_key, extensions=[
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])])
    return TlsFiles(ca=write(folder / "ca.pem", ca),
                    server_cert=write(folder / "server.pem", server),
                    server_key=write(folder / "server.key", server_key),
                    client_cert=write(folder / "usercert.pem", client),
                    client_key=write(folder / "userkey.pem", client_key),
                    proxy=write(folder / "x509up", client, client_key))
