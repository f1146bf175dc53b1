"""Shared fixtures of the parameter-engine tests.

Every test runs with ``HOME`` and ``PFILES`` pointing into its own temporary
folder, so that no test reads or writes a real ``~/pfiles``.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from iactcopy.params.parameters import ParameterSet
from iactcopy.params.parfile import parse_par
from iactcopy.params.pfiles import parameters_from_text


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: builds or installs something (tens of seconds)")


@dataclass(frozen=True)
class Folders:
    """The isolated folders of one test."""

    home: Path
    user: Path
    system: Path


@pytest.fixture(autouse=True)
def folders(tmp_path, monkeypatch) -> Folders:
    """``HOME`` and ``PFILES="<user>;<system>"`` inside *tmp_path*.

    The user folder does not exist yet (the engine creates it when it
    learns); the system folder does.
    """
    home = tmp_path / "home"
    home.mkdir()
    user = tmp_path / "pfiles"
    system = tmp_path / "syspfiles"
    system.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PFILES", f"{user};{system}")
    for name in ("VHEFITS", "PYTHONPATH"):
        monkeypatch.delenv(name, raising=False)
    return Folders(home, user, system)


@pytest.fixture
def write_par():
    """Write ``<folder>/<tool>.par`` from dedented text; return its path."""

    def write(folder: Path, tool: str, text: str, *, dedent: bool = True) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{tool}.par"
        path.write_bytes((textwrap.dedent(text) if dedent else text).encode("utf-8"))
        return path

    return write


@pytest.fixture
def make_set():
    """Build a ParameterSet straight from ``.par`` text (no files, no prompter)."""

    def make(text: str, tool: str = "tool", **kwargs) -> ParameterSet:
        layout = parse_par(textwrap.dedent(text), source=f"{tool}.par")
        pset = ParameterSet(tool, parameters_from_text(layout), layout, **kwargs)
        pset.mark_loaded()
        return pset

    return make
