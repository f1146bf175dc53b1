"""A fresh virtual environment with the example package ``examples/runtools`` installed.

The environment is made once per session.  It sees the packages of the
environment that runs the tests (iactcopy among them) below its own, through
a ``.pth`` file, and the example is installed into it with ``pip install
--no-deps --no-build-isolation --no-index``: as a user installs a package,
but offline, and in a second or two.  The example is built from a copy, so
that the build leaves nothing in the repository.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLE = REPOSITORY / "examples" / "runtools"

#: What the tests run outside their own control: nothing of the caller's Python setup.
_DROPPED = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV", "PFILES",
            "VHEFITS", "CTOOLS")


@dataclass(frozen=True)
class Installed:
    """The virtual environment with the example installed."""

    venv: Path
    source: Path
    site_packages: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    @property
    def par_file(self) -> Path:
        """Where pip put ``csrunselect.par``: beside the module."""
        return self.site_packages / "runtools" / "csrunselect.par"


def _checked(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Installed:
    """Make the environment and install the example into it."""
    try:
        import setuptools.command.bdist_wheel  # noqa: F401  (setuptools 70.1 and later)
    except ImportError:
        # An older setuptools builds wheels only with the wheel package, which the
        # environment of the lowest versions (make test-oldest) does not hold.
        pytest.importorskip("wheel", reason="building the example offline needs wheel "
                            "(pip install iactcopy[test])")
    root = tmp_path_factory.mktemp("runtools")
    source = root / "runtools"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    venv = root / "venv"
    env = {key: value for key, value in os.environ.items() if key not in _DROPPED}
    _checked([sys.executable, "-m", "venv", "--without-pip", str(venv)], env=env)
    purelib = _checked([str(venv / "bin" / "python"), "-c",
                        "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       env=env).stdout.strip()
    # The running environment's folders, processed as site folders (so that
    # the editable install's own .pth file works), after the venv's own.
    host = [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    lines = "".join(f"import site; site.addsitedir({folder!r})\n"
                    for folder in dict.fromkeys(host))
    Path(purelib, "zz_test_host.pth").write_text(lines, encoding="utf-8")
    _checked([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps",
              "--no-build-isolation", "--no-index", str(source)], env=env, cwd=root)
    return Installed(venv=venv, source=source, site_packages=Path(purelib))


@dataclass(frozen=True)
class User:
    """One test's user: ``HOME``, a working folder, and how to run commands as them."""

    installed: Installed
    home: Path
    work: Path
    env: dict

    def run(self, program: str, *args: str, answers: str = "",
            **env: str | None) -> subprocess.CompletedProcess:
        """Run *program* (``csrunselect``, ``iactpar``, ``python``) in the working folder.

        Keyword arguments set (or, given None, remove) environment variables.
        """
        environment = dict(self.env)
        for key, value in env.items():
            if value is None:
                environment.pop(key, None)
            else:
                environment[key] = value
        if program == "iactpar":
            # iactcopy's own scripts live in the environment that runs the
            # tests; its module is the same command.
            command = [str(self.installed.python), "-m", "iactcopy.tools.iactpar"]
        else:
            command = [str(self.installed.bin / program)]
        return subprocess.run([*command, *args], input=answers, capture_output=True,
                              text=True, cwd=self.work, env=environment, timeout=120)


@pytest.fixture
def user(installed, tmp_path) -> User:
    """A user of the installed example: ``HOME`` in *tmp_path*, ``PFILES`` unset."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in _DROPPED}
    env.update(HOME=str(home), PATH=f"{installed.bin}{os.pathsep}{env.get('PATH', '')}")
    return User(installed, home, work, env)
