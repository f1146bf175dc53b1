"""Shared fixtures of the application tests: an isolated environment and a toy tool.

Every test runs with ``HOME``, ``PFILES`` and the current folder inside its
own temporary folder, so that no test reads or writes a real ``~/pfiles`` or
leaves a log file behind.  ``PFILES`` is ``<user>;<system>``: the system
folder holds ``toytool.par``, the parameter file of :class:`ToyTool`, a small
tool defined here to exercise the base class without a data store.
"""

from __future__ import annotations

import io
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from iactcopy.app.application import Application
from iactcopy.app.logger import NORMAL, TERSE

TOY_PAR = """\
#
# toytool: a tool for the tests of the application base class
#
infile,  f, a, NONE,,, "Input file"
count,   i, a, 3,1,10, "Number of things"
ratio,   r, h, 0.5,,, "A ratio"
flag,    b, h, no,,, "A flag"
where,   s, h, $HOME/x,,, "A text with a variable"
chatter, i, h, 2,0,4, "Chattiness of output"
clobber, b, h, yes,,, "Overwrite existing output files with new output files?"
debug,   b, h, no,,, "Activate debugging mode?"
mode,    s, h, ql,,, "Mode of automatic parameters"
logfile, f, h, toytool.log,,, "Log filename"
"""


class ToyTool(Application):
    """A tool that reads its parameters, logs a little and does what the test asks.

    ``failure`` is raised by ``process()`` when set; ``status`` is its exit
    status; ``during`` is called inside ``process()`` with the tool.
    """

    name = "toytool"
    description = "A tool for the tests of the application base class."

    failure: BaseException | None = None
    status = 0
    during = None

    def process(self) -> None:
        self.infile = self["infile"].value()
        self.count = self["count"].integer()
        self.log_parameters(TERSE)
        self.log.header1(TERSE, "Work")
        self.log.value(NORMAL, "Count", self.count)
        logging.getLogger("iactcopy.toy").warning("a warning from below")
        if self.during is not None:
            self.during(self)
        if self.failure is not None:
            raise self.failure

    def save(self) -> None:
        self.saved = True

    @property
    def exit_status(self) -> int:
        return self.status


@dataclass(frozen=True)
class Isolated:
    """The folders of one test's environment."""

    root: Path
    home: Path
    pfiles: Path
    syspfiles: Path
    work: Path

    @property
    def user_par(self) -> Path:
        """Where the toy tool learns."""
        return self.pfiles / "toytool.par"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch) -> Isolated:
    """``PFILES="<tmp>/pfiles;<tmp>/syspfiles"``, ``HOME=<tmp>/home``, cwd ``<tmp>/work``.

    Standard input is empty.
    The user folder does not exist yet (a run that learns creates it); the
    system folder holds ``toytool.par``.
    """
    folders = Isolated(root=tmp_path, home=tmp_path / "home", pfiles=tmp_path / "pfiles",
                       syspfiles=tmp_path / "syspfiles", work=tmp_path / "work")
    for folder in (folders.home, folders.syspfiles, folders.work):
        folder.mkdir()
    (folders.syspfiles / "toytool.par").write_text(TOY_PAR, encoding="utf-8")
    monkeypatch.setenv("PFILES", f"{folders.pfiles};{folders.syspfiles}")
    monkeypatch.setenv("HOME", str(folders.home))
    monkeypatch.delenv("VHEFITS", raising=False)
    monkeypatch.delenv("CTOOLS", raising=False)
    monkeypatch.chdir(folders.work)
    # An unexpected prompt meets end of input instead of pytest's stdin guard.
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    return folders


@pytest.fixture
def toy():
    """The :class:`ToyTool` class (a fresh subclass, so tests may set its attributes)."""
    return type("toytool", (ToyTool,), {})
