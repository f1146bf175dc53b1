"""Fixtures of the remote-store tests: a loopback HTTP server, data stores, a clean environment.

Every test runs with ``HOME``, ``PFILES`` and the current folder inside its
own temporary folder and no ``VHEFITS``, as the tool tests do.  Retries
wait 10 ms instead of seconds, for tools run in this process.

:func:`http_server` serves a folder on 127.0.0.1 (a free port) with
:class:`http.server.SimpleHTTPRequestHandler`, which sends ``Content-Length``
and ``Last-Modified``; ``faults`` makes chosen requests fail (module
:class:`FaultyHandler`), and every request is recorded.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from iactcopy.store import remote
from iactcopy.store.generator import generate_store

# ../shared beside the repository (CI clones it anywhere): <repo>/../shared/data/...
HESS_STORE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hess_dl3_dr1"
GENERATED_PROD = "sim"
GENERATED_NOBS = 6


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
    requests: list = field(default_factory=list)
    """(method, path, action taken) for each request, in order of arrival."""
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
    ``"drop"`` closes the connection without an answer, ``"cut"`` sends the
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

    def _act(self, method: str, action: str) -> None:
        if action in ("503", "always503"):
            self.send_error(503, "Service Unavailable (test)")
        elif action == "405":
            self.send_error(405, "Method Not Allowed (test)")
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
              delay: float = 0.0) -> Server:
        state = Server("", 0, {path: list(actions) for path, actions in (faults or {}).items()},
                       delay)
        handler = type("Handler", (FaultyHandler,), {"state": state})
        httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
        httpd.daemon_threads = True
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True)
        thread.start()
        running.append((httpd, thread))
        state.port = httpd.server_address[1]
        state.url = f"http://127.0.0.1:{state.port}"
        return state

    yield start
    for httpd, thread in running:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def closed_port() -> int:
    """A loopback port with no server behind it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
