"""The short imports of ``iactcopy``: lazy, and the same objects as the long ones."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import iactcopy
from iactcopy.app.application import Application
from iactcopy.app.cli import main_for
from iactcopy.tools import iactpar
from iactcopy.tools.csfindobs import csfindobs
from iactcopy.tools.csiactcopy import csiactcopy
from iactcopy.tools.csiactdata import csiactdata

PUBLIC = {"Application": Application, "main_for": main_for, "csiactdata": csiactdata,
          "csiactcopy": csiactcopy, "csfindobs": csfindobs, "iactpar": iactpar}


def modules_after(statement: str) -> set[str]:
    """The modules a fresh interpreter has loaded after *statement*."""
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout)) - {"json", "json.decoder", "json.encoder",
                                             "json.scanner", "_json"}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_short_import_gives_the_same_object(name):
    assert getattr(iactcopy, name) is PUBLIC[name]


def test_the_public_names():
    assert set(iactcopy.__all__) == {*PUBLIC, "__version__"}
    assert set(PUBLIC) <= set(dir(iactcopy))
    with pytest.raises(AttributeError, match="'nosuch'"):
        iactcopy.nosuch  # noqa: B018


def test_import_iactcopy_loads_nothing_heavy():
    loaded = modules_after("import iactcopy")
    # The package and the helper that makes its names lazy; no tool, no store.
    assert {name for name in loaded if name.startswith("iactcopy")} == {"iactcopy",
                                                                         "iactcopy.lazyface"}
    assert not {name.split(".")[0] for name in loaded} & {"numpy", "fitsio", "astropy", "yaml"}


@pytest.mark.parametrize("tool", ["csiactdata", "csiactcopy", "csfindobs"])
def test_short_import_loads_what_the_long_one_does(tool):
    # What start-up costs is what is imported: the short form adds nothing.
    assert (modules_after(f"from iactcopy import {tool}")
            == modules_after(f"from iactcopy.tools.{tool} import {tool}"))


def test_a_tool_started_from_its_console_script_loads_no_numpy():
    loaded = modules_after("from iactcopy.tools.csiactdata import main")
    assert "numpy" not in loaded and "astropy" not in loaded


@pytest.mark.parametrize("package", ["iactcopy.store", "iactcopy.store.access",
                                     "iactcopy.store.index", "iactcopy.store.local",
                                     "iactcopy.store.transfer"])
def test_store_package_faces_load_nothing_heavy(package):
    loaded = modules_after(f"import {package}")
    assert not {name.split(".")[0] for name in loaded} & {"numpy", "fitsio", "astropy", "yaml"}
    assert not {name for name in loaded if name.startswith(package + ".")}


def test_store_package_face_gives_its_names():
    from iactcopy.store import RemoteStore
    from iactcopy.store.index import IndexTable
    from iactcopy.store.index.tables import IndexTable as table
    from iactcopy.store.remotestore import RemoteStore as defined

    assert RemoteStore is defined and IndexTable is table
