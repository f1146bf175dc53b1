"""https stores that demand a login: bearer tokens, ~/.netrc, X.509 client certificates.

A loopback https server (conftest.py) with a certificate of a test CA,
trusted through ``SSL_CERT_FILE`` (or a hashed ``X509_CERT_DIR``), demands a
bearer token, basic credentials or a client certificate.  The tools find
them as the grid sets them up (iactcopy.store.access.gridcredentials); a refusal is one
line naming the URL and the HTTP status, exit status 1, nothing written, and
no secret in any message or log.
"""

from __future__ import annotations

import filecmp
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from iactcopy.errors import DataStoreError
from iactcopy.store.access.gridcredentials import find_credentials
from iactcopy.tools.csfindobs import csfindobs
from iactcopy.tools.csiactcopy import csiactcopy
from iactcopy.tools.csiactdata import csiactdata

from .conftest import GENERATED_NOBS, GENERATED_PROD

#: For the tests that reach an https:// or http:// store.
needs_http = pytest.mark.skipif(
    not all(importlib.util.find_spec(name) for name in ("fsspec", "aiohttp")),
    reason="fsspec and aiohttp (pip install iactcopy[remote])")

TOKEN = "eyJ0ZXN0IjoidG9rZW4ifQ.c2VjcmV0LXRva2Vu"
FIRST_ID = 100000


@pytest.fixture
def trusted(tls_files, monkeypatch):
    """The test CA trusted through SSL_CERT_FILE."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files.ca))
    return tls_files


def copy(url: str, outpath: Path) -> csiactcopy:
    app = csiactcopy(remote_master=f"{url}/master.json", prodname=GENERATED_PROD,
                     outpath=str(outpath))
    app.execute()
    return app


def assert_same_data(store: Path, local: Path) -> None:
    names = sorted(p.name for p in (store / "data").iterdir())
    assert sorted(p.name for p in (local / "data").iterdir()) == names
    assert all(filecmp.cmp(store / "data" / n, local / "data" / n, shallow=False) for n in names)


def command(tool: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"iactcopy.tools.{tool}", *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_bearer_token_from_the_variable(generated_store, http_server, trusted, monkeypatch,
                                        tmp_path):
    server = http_server(generated_store, tls=trusted, login=("bearer", TOKEN))
    monkeypatch.setenv("BEARER_TOKEN", TOKEN + "\n")
    app = copy(server.url, tmp_path / "local")
    assert app.report.complete
    assert_same_data(generated_store, tmp_path / "local")
    assert set(server.authorizations) == {f"Bearer {TOKEN}"}


def test_bearer_token_from_the_named_file(generated_store, http_server, trusted, monkeypatch,
                                          tmp_path):
    server = http_server(generated_store, tls=trusted, login=("bearer", TOKEN))
    (tmp_path / "token").write_text(TOKEN + "\n")
    monkeypatch.setenv("BEARER_TOKEN_FILE", str(tmp_path / "token"))
    app = csiactdata(datapath=server.url)
    app.run()
    assert app.names() == [GENERATED_PROD]


def test_bearer_token_from_the_runtime_folder(generated_store, http_server, trusted, isolated):
    server = http_server(generated_store, tls=trusted, login=("bearer", TOKEN))
    (isolated / "runtime" / f"bt_u{os.getuid()}").write_text(TOKEN)
    app = csfindobs(datapath=server.url, prodname=GENERATED_PROD, ra="NONE", min_qual=2)
    app.run()
    assert app.runs() == list(range(FIRST_ID, FIRST_ID + GENERATED_NOBS))


def test_the_variable_wins_over_the_files(trusted, monkeypatch, isolated, tmp_path):
    (isolated / "runtime" / f"bt_u{os.getuid()}").write_text("runtime-token")
    (tmp_path / "token").write_text("file-token")
    monkeypatch.setenv("BEARER_TOKEN_FILE", str(tmp_path / "token"))
    assert find_credentials("https://host/store").token == "file-token"
    monkeypatch.setenv("BEARER_TOKEN", "variable-token")
    found = find_credentials("https://host/store")
    assert found.token == "variable-token"
    assert "variable-token" not in repr(found) and "variable-token" not in found.describe()


def test_a_refused_token_is_one_line_exit_1_nothing_written(generated_store, http_server,
                                                            trusted, tmp_path):
    server = http_server(generated_store, tls=trusted, login=("bearer", TOKEN))
    log = tmp_path / "copy.log"
    wrong = "wrong-" + TOKEN
    result = command("csiactcopy", f"remote_master={server.url}/master.json",
                     f"prodname={GENERATED_PROD}", f"outpath={tmp_path / 'local'}",
                     f"logfile={log}", env={"BEARER_TOKEN": wrong})
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("*** ERROR: ")
    assert f"{server.url}/master.json" in lines[0] and "401" in lines[0]
    assert "bearer token from BEARER_TOKEN" in lines[0]
    assert wrong not in result.stderr + result.stdout + log.read_text()
    assert not (tmp_path / "local").exists()


def test_no_credentials_found_is_said(generated_store, http_server, trusted):
    server = http_server(generated_store, tls=trusted, login=("bearer", TOKEN))
    with pytest.raises(DataStoreError, match=r"401.*no credentials were sent"):
        csiactdata(datapath=server.url).run()


def test_netrc_basic_credentials(generated_store, http_server, trusted, isolated, tmp_path):
    server = http_server(generated_store, tls=trusted, login=("basic", "analyst:s3cret pass"))
    netrc = isolated / "home" / ".netrc"
    netrc.write_text('machine 127.0.0.1 login analyst password "s3cret pass"\n')
    netrc.chmod(0o600)
    app = copy(server.url, tmp_path / "local")
    assert app.report.complete
    assert_same_data(generated_store, tmp_path / "local")


def test_a_refused_netrc_password_is_not_shown(generated_store, http_server, trusted, isolated,
                                               tmp_path):
    server = http_server(generated_store, tls=trusted, login=("basic", "analyst:right"))
    netrc = isolated / "home" / ".netrc"
    netrc.write_text("machine 127.0.0.1 login analyst password wrong-password\n")
    netrc.chmod(0o600)
    result = command("csiactdata", f"datapath={server.url}", f"logfile={tmp_path / 'd.log'}")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert "401" in result.stderr and "login 'analyst'" in result.stderr
    assert "wrong-password" not in result.stderr + (tmp_path / "d.log").read_text()


@needs_http
def test_no_token_or_password_over_plain_http(generated_store, http_server, isolated,
                                              monkeypatch, tmp_path):
    server = http_server(generated_store)
    monkeypatch.setenv("BEARER_TOKEN", TOKEN)
    (isolated / "home" / ".netrc").write_text("machine 127.0.0.1 login a password b\n")
    assert copy(server.url, tmp_path / "local").report.complete
    assert set(server.authorizations) == {None}


def test_client_certificate_and_key(generated_store, http_server, trusted, monkeypatch,
                                    tmp_path):
    server = http_server(generated_store, tls=trusted, client_cert=True)
    monkeypatch.setenv("X509_USER_CERT", str(trusted.client_cert))
    monkeypatch.setenv("X509_USER_KEY", str(trusted.client_key))
    assert copy(server.url, tmp_path / "local").report.complete
    assert_same_data(generated_store, tmp_path / "local")


def test_client_certificate_from_a_proxy_file(generated_store, http_server, trusted,
                                              monkeypatch):
    server = http_server(generated_store, tls=trusted, client_cert=True)
    monkeypatch.setenv("X509_USER_PROXY", str(trusted.proxy))
    app = csiactdata(datapath=server.url)
    app.run()
    assert app.names() == [GENERATED_PROD]


def test_without_a_client_certificate_the_refusal_is_one_line(generated_store, http_server,
                                                              trusted, tmp_path):
    server = http_server(generated_store, tls=trusted, client_cert=True)
    result = command("csiactcopy", f"remote_master={server.url}/master.json",
                     f"prodname={GENERATED_PROD}", f"outpath={tmp_path / 'local'}",
                     f"logfile={tmp_path / 'c.log'}")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{server.url}/master.json" in lines[0]
    assert "attempts" not in lines[0]
    assert not (tmp_path / "local").exists()


def test_an_untrusted_server_certificate_is_refused_at_once(generated_store, http_server,
                                                            tls_files):
    server = http_server(generated_store, tls=tls_files)
    with pytest.raises(DataStoreError, match="certificate") as caught:
        csiactdata(datapath=server.url).run()
    assert "attempts" not in str(caught.value)


def test_ca_folder_from_x509_cert_dir(generated_store, http_server, tls_files, monkeypatch,
                                      tmp_path):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to name the hashed CA folder's file")
    subject_hash = subprocess.run([openssl, "x509", "-hash", "-noout", "-in", str(tls_files.ca)],
                                  capture_output=True, text=True, check=True).stdout.strip()
    folder = tmp_path / "certificates"
    folder.mkdir()
    shutil.copyfile(tls_files.ca, folder / f"{subject_hash}.0")
    monkeypatch.setenv("X509_CERT_DIR", str(folder))
    server = http_server(generated_store, tls=tls_files)
    app = csiactdata(datapath=server.url)
    app.run()
    assert app.names() == [GENERATED_PROD]


@needs_http
@pytest.mark.parametrize("variable", ["BEARER_TOKEN_FILE", "X509_USER_PROXY", "SSL_CERT_FILE"])
def test_a_variable_naming_a_missing_file_is_one_clear_error(variable, tmp_path):
    missing = tmp_path / "nowhere"
    result = command("csiactdata", "datapath=https://127.0.0.1:9/store",
                     f"logfile={tmp_path / 'd.log'}", env={variable: str(missing)})
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f'*** ERROR: {variable} names "{missing}", which '
        + ("cannot be read: No such file or directory." if variable == "BEARER_TOKEN_FILE"
           else "is not a readable file.")]
