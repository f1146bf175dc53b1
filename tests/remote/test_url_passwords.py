"""A password in a URL is used for the run and never stored or printed.

docs/differences.rst, "Passwords in URLs":
``http://user:password@host/...``: the log's parameter block, its index
lines, the YAML report, error messages and the learned ``.par`` hold no
password; the log and the report show ``***`` in its place, and the URL is
learned without it.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from iactcopy.app.cli import run_application
from iactcopy.tools.csiactcopy import csiactcopy

from .conftest import GENERATED_PROD

pytest.importorskip("fsspec", reason="fsspec (pip install iactcopy[remote])")
pytest.importorskip("aiohttp", reason="aiohttp (pip install iactcopy[remote])")

SECRET = "s3cr3t-pw"


def _run(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = run_application(csiactcopy, list(args))
    return status, err.getvalue()


def _with_password(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://alice:{SECRET}@{rest}"


def test_password_in_url_is_masked_and_not_learned(generated_store, http_server, tmp_path,
                                                  isolated):
    server = http_server(generated_store)
    url = _with_password(f"{server.url}/master.json")
    status, stderr = _run(f"remote_master={url}", f"prodname={GENERATED_PROD}",
                          f"outpath={tmp_path / 'out'}", "report=run.yaml", "chatter=4")
    assert status == 0, stderr
    texts = {"stderr": stderr}
    for name in ("csiactcopy.log", "run.yaml"):
        texts[name] = Path(name).read_text(encoding="utf-8")
    learned = next(Path(isolated).rglob("csiactcopy.par"))
    texts["learned"] = learned.read_text(encoding="utf-8")
    for where, text in texts.items():
        assert SECRET not in text, where
    assert "alice:***@127.0.0.1" in texts["csiactcopy.log"]
    assert "alice:***@127.0.0.1" in texts["run.yaml"]
    assert f"alice@127.0.0.1:{server.port}/master.json" in texts["learned"]


def test_password_in_url_is_masked_in_error_messages(http_server, tmp_path, closed_port):
    url = f"http://alice:{SECRET}@127.0.0.1:{closed_port}/master.json"
    status, stderr = _run(f"remote_master={url}", "prodname=x", f"outpath={tmp_path / 'o'}")
    assert status == 1
    assert "*** ERROR" in stderr and SECRET not in stderr
    assert SECRET not in Path("csiactcopy.log").read_text(encoding="utf-8")
