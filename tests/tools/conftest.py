"""Shared fixtures of the tool tests: an isolated environment and small data stores.

Every test runs with ``HOME``, ``PFILES`` and the current folder inside its
own temporary folder, so that no test reads or writes a real ``~/pfiles`` or
leaves a log file behind, and ``VHEFITS`` is unset.  Subprocesses inherit
this environment.

The real H.E.S.S. DL3 DR1 store is read where it is (it is read-only); tests
that need it skip when it is absent.  Broken stores are built in the
temporary folder from a copy of its ``master.json`` and two index files
only (15 kB), never its data files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

#: The real store of the shared data folder: H.E.S.S. DL3 DR1.
# The folder "shared" beside the repository's own folder (CI clones both anywhere).
HESS_STORE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hess_dl3_dr1"
HESS_INDEX_FILES = ("hdu-index.fits.gz", "obs-index.fits.gz")


@dataclass(frozen=True)
class Isolated:
    """The folders of one test's environment."""

    root: Path
    home: Path
    pfiles: Path
    work: Path

    @property
    def user_par(self) -> Path:
        """Where a tool learns: ``<user folder>/csiactdata.par``."""
        return self.pfiles / "csiactdata.par"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch) -> Isolated:
    """``PFILES="<tmp>/pfiles;"``, ``HOME=<tmp>/home``, cwd ``<tmp>/work``, no ``VHEFITS``.

    The user parameter folder does not exist yet: a run that learns creates it.
    """
    folders = Isolated(root=tmp_path, home=tmp_path / "home", pfiles=tmp_path / "pfiles",
                       work=tmp_path / "work")
    folders.home.mkdir()
    folders.work.mkdir()
    monkeypatch.setenv("PFILES", f"{folders.pfiles};")
    monkeypatch.setenv("HOME", str(folders.home))
    monkeypatch.delenv("VHEFITS", raising=False)
    monkeypatch.delenv("CTOOLS", raising=False)
    monkeypatch.chdir(folders.work)
    return folders


def _require_hess() -> None:
    needed = [HESS_STORE / "master.json", *(HESS_STORE / name for name in HESS_INDEX_FILES)]
    if not all(path.is_file() for path in needed):
        pytest.skip(f"the H.E.S.S. DL3 DR1 store is not available at {HESS_STORE}")


@pytest.fixture
def hess_store() -> Path:
    """The H.E.S.S. DL3 DR1 store with its master.json; the test skips when it is absent."""
    _require_hess()
    return HESS_STORE


def _hess_master() -> dict[str, Any]:
    """The parsed master.json of the H.E.S.S. store."""
    with open(HESS_STORE / "master.json", encoding="utf-8") as stream:
        return json.load(stream)


@pytest.fixture
def make_store(tmp_path):
    """Build a small store in ``<tmp>/stores/<name>`` and return its folder.

    ``make_store(name="store", master=None, text=None, index_files=True)``:
    the master file holds ``text`` when given (malformed JSON, say), else
    ``master`` (a mapping) as JSON, else a copy of the H.E.S.S. master.json.
    ``index_files`` copies the two H.E.S.S. index files beside it.  Only
    what is taken from the H.E.S.S. store makes the test skip when it is
    absent.
    """
    def build(name: str = "store", master: Mapping[str, Any] | None = None,
              text: str | None = None, index_files: bool = True) -> Path:
        if index_files or (text is None and master is None):
            _require_hess()
        folder = tmp_path / "stores" / name
        folder.mkdir(parents=True)
        if text is None:
            text = json.dumps(_hess_master() if master is None else master, indent=2)
        (folder / "master.json").write_text(text, encoding="utf-8")
        if index_files:
            for index in HESS_INDEX_FILES:
                shutil.copyfile(HESS_STORE / index, folder / index)
        return folder

    return build


def tool_command(tool: str) -> list[str]:
    """The command that runs *tool*: its console script, else ``python -m``."""
    script = Path(sys.executable).parent / tool
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", f"iactcopy.tools.{tool}"]


def _runner(tool: str, timeout: float):
    """``run(*args, input="", timeout=..., **subprocess_kwargs)``: *tool* as a command.

    It returns the :class:`subprocess.CompletedProcess`, with text output
    captured unless redirected. By default stdin is an empty pipe, so that a
    prompt meets end of input instead of waiting. Its ``command`` attribute
    is the command itself, for :class:`subprocess.Popen`.
    """
    default_timeout = timeout

    def run(*args: str, input: str | None = "", timeout: float = default_timeout,
            **kwargs: Any) -> subprocess.CompletedProcess:
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        return subprocess.run([*run.command, *args], input=input, text=True,
                              timeout=timeout, **kwargs)

    run.command = tool_command(tool)
    return run


@pytest.fixture
def csiactdata_cmd():
    """Run ``csiactdata`` as a command (see :func:`_runner`; timeout 60 s)."""
    return _runner("csiactdata", 60)


@pytest.fixture
def csiactcopy_cmd():
    """Run ``csiactcopy`` as a command (see :func:`_runner`; timeout 120 s)."""
    return _runner("csiactcopy", 120)


@pytest.fixture
def csfindobs_cmd():
    """Run ``csfindobs`` as a command (see :func:`_runner`; timeout 120 s)."""
    return _runner("csfindobs", 120)


#: The generated store shared by the csiactcopy tests: 20 observations of tiny files.
SIM_NAME = "iactcopy-sim"
SIM_NOBS = 20
SIM_FIRST_ID = 1000


@pytest.fixture(scope="session")
def sim_master(tmp_path_factory) -> Path:
    """The master.json of a generated store of 20 tiny observations (IDs 1000-1019).

    Shared by the whole session: tests only read it.  A test that damages a
    store works on a copy (:func:`sim_copy`).
    """
    from iactcopy.testing.storegen import generate_store

    folder = tmp_path_factory.mktemp("sim") / "store"
    return Path(generate_store(folder, SIM_NOBS, name=SIM_NAME, seed=7,
                               first_id=SIM_FIRST_ID))


@pytest.fixture
def sim_copy(sim_master, tmp_path):
    """``sim_copy(name="remote")``: a private copy of the generated store; returns its master."""
    def build(name: str = "remote") -> Path:
        target = tmp_path / "stores" / name
        shutil.copytree(sim_master.parent, target)
        return target / "master.json"

    return build
