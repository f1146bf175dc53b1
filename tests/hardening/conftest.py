"""Fixtures of the hardening tests: those of ``tests/tools``, and a local store to start from.

The isolation fixtures (``isolated`` is autouse: ``HOME``, ``PFILES`` and the
current folder inside the test's temporary folder) and the generated stores
(``sim_master``, ``sim_copy``) are those of ``tests/tools/conftest.py``,
loaded here under another module name so that this folder runs on its own
too.  ``copychecks`` (from ``tests/tools``) and ``hardchecks`` (here) are
importable by the test modules.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
_TOOLS = _HERE.parent / "tools"
for _folder in (_TOOLS, _HERE):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

_spec = importlib.util.spec_from_file_location("_tools_conftest", _TOOLS / "conftest.py")
_tools = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _tools  # dataclasses look their module up there
_spec.loader.exec_module(_tools)

isolated = _tools.isolated
sim_master = _tools.sim_master
sim_copy = _tools.sim_copy
csiactcopy_cmd = _tools.csiactcopy_cmd
tool_command = _tools.tool_command

from copychecks import copy_args  # noqa: E402
from hardchecks import LOCAL_IDS  # noqa: E402


@pytest.fixture(scope="session")
def local_template(sim_master, tmp_path_factory) -> Path:
    """A local store of 5 observations (1000-1004) copied from the generated store, once.

    Built by the console script in an environment of its own, so that no
    real ``~/pfiles`` is touched; copies keep the times of its files.
    """
    root = tmp_path_factory.mktemp("local-template")
    (root / "r.lis").write_text("".join(f"{obs_id}\n" for obs_id in LOCAL_IDS), encoding="utf-8")
    env = {**os.environ, "PFILES": f"{root / 'pfiles'};", "HOME": str(root)}
    result = subprocess.run([*tool_command("csiactcopy"), *copy_args(sim_master, "out"),
                             "runlist=r.lis", "mode=h", "logfile=NONE"],
                            cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return root / "out"


@pytest.fixture
def local_store(local_template, isolated) -> Path:
    """``<work>/out``: a private copy of :func:`local_template` (times kept)."""
    out = isolated.work / "out"
    shutil.copytree(local_template, out, symlinks=True)
    return out

