"""Checks shared by the hardening tests: runs in this process, tree snapshots, sound stores.

:func:`run_tool` runs a tool's command-line entry
(:func:`iactcopy.app.cli.run_application`) in this process, so that a test
can monkeypatch a fault into it, and captures what a user would see.
:func:`tree_state` records every file of a tree (content digest, time,
mode), so that "no file a user had is damaged" is one comparison.
:func:`check_store` is the promise of docs/differences.rst, "Consistent local
store", on a local store in any state
a failed or killed run may leave: what is indexed is complete, and what
lies under a real name is a whole file.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import posixpath
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from copychecks import SIM_IDS, SIM_NAME

from iactcopy.app.application import Application
from iactcopy.store.layout import LOCK_NAME, RESERVED_NAMES

#: The observations of the local store the catalogue starts from (conftest.local_template).
LOCAL_IDS = SIM_IDS[:5]
HDU_INDEX, OBS_INDEX = "hdu-index.fits.gz", "obs-index.fits.gz"


def soak() -> bool:
    """True when ``IACTCOPY_SOAK`` asks for the long runs (any value but ``""`` and ``0``)."""
    return os.environ.get("IACTCOPY_SOAK", "") not in ("", "0")


@dataclass(frozen=True)
class Outcome:
    """What a run showed: its exit status and its output."""

    status: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("*** ERROR")]


def tool_class(name: str) -> type:
    """The class of the tool *name* (``csiactcopy``, ``csiactdata``, ``csfindobs``)."""
    import importlib

    return getattr(importlib.import_module(f"iactcopy.tools.{name}"), name)


def run_tool(tool: str | type, *args: object, stdin: str = "") -> Outcome:
    """Run a tool as from the command line, in this process; stdin holds *stdin*."""
    from iactcopy.app.cli import run_application

    cls = tool_class(tool) if isinstance(tool, str) else tool
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = run_application(cls, [str(arg) for arg in args])
    finally:
        sys.stdin = saved
    return Outcome(status, out.getvalue(), err.getvalue())


def assert_no_traceback(outcome: Outcome) -> None:
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert "internal error" not in outcome.stderr, outcome.stderr


def assert_error(outcome: Outcome, status: int, *fragments: str) -> str:
    """The run failed with *status* and exactly one ``*** ERROR`` line holding *fragments*."""
    assert outcome.status == status, (outcome.status, outcome.stderr)
    assert_no_traceback(outcome)
    lines = outcome.error_lines
    assert len(lines) == 1, outcome.stderr
    assert "*** ERROR: *** ERROR" not in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def assert_finished(outcome: Outcome, status: int) -> None:
    """The run finished (0, or 3 with files missing or refused) without an error line."""
    assert outcome.status == status, (outcome.status, outcome.stderr)
    assert_no_traceback(outcome)
    assert not outcome.error_lines, outcome.stderr


# -- a toy tool with one parameter of each type ----------------------------------------------
TOY_PAR = """\
#
# hardtoy: one parameter of each type, for the catalogue of bad values
#
infile,  fr, a, NONE,,, "A readable file"
present, fe, h, NONE,,, "A file that exists"
newfile, fn, h, NONE,,, "A file that does not exist yet"
outfile, fw, h, NONE,,, "A file to write"
anyfile, f,  h, NONE,,, "Any file name"
start,   t,  h, NONE,,, "A time"
count,   i,  h, 3,1,10, "A count from 1 to 10"
level,   i,  h, 0,0|1|2,, "A level"
ratio,   r,  h, 0.5,0,1, "A ratio from 0 to 1"
scale,   r,  h, 1.0,,, "Any real"
flag,    b,  h, no,,, "A flag"
label,   s,  h, x,,, "Any text"
choice,  s,  h, a,a|b|c,, "A choice"
chatter, i,  h, 2,0,4, "Chattiness of output"
clobber, b,  h, yes,,, "Overwrite existing output files with new output files?"
debug,   b,  h, no,,, "Activate debugging mode?"
mode,    s,  h, ql,,, "Mode of automatic parameters"
logfile, f,  h, hardtoy.log,,, "Log filename"
"""


class HardToy(Application):
    """Reads each of its parameters with the accessor of its type."""

    name = "hardtoy"
    description = "A toy tool with one parameter of each type."

    def process(self) -> None:
        for par in self.pars():
            if not par.is_valid():
                continue
            reader = {"b": par.boolean, "i": par.integer, "r": par.real, "s": par.string,
                      "t": par.time}.get(par.type, par.filename)
            reader()


# -- snapshots ---------------------------------------------------------------------------
def digest(path: str | Path) -> str:
    with open(path, "rb") as stream:
        return hashlib.sha256(stream.read()).hexdigest()


def tree_state(root: str | Path, *, skip: Iterable[str] = (LOCK_NAME,)) -> dict[str, tuple]:
    """Every entry below *root*, by relative path: ``("dir", mode)``, ``("link", target)``
    or ``("file", sha256, mtime_ns, mode)``; names in *skip* are left out. ``{}`` when
    *root* does not exist."""
    root = str(root)
    skipped = set(skip)
    if not os.path.lexists(root):
        return {}
    found: dict[str, tuple] = {}
    for folder, dirs, names in os.walk(root):
        for name in sorted([*dirs, *names]):
            if name in skipped:
                continue
            path = os.path.join(folder, name)
            st = os.lstat(path)
            relpath = os.path.relpath(path, root)
            if stat.S_ISLNK(st.st_mode):
                found[relpath] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                found[relpath] = ("dir", stat.S_IMODE(st.st_mode))
            elif stat.S_ISREG(st.st_mode):
                found[relpath] = ("file", digest(path), st.st_mtime_ns, stat.S_IMODE(st.st_mode))
            else:
                found[relpath] = ("other", stat.S_IFMT(st.st_mode))
        dirs[:] = [d for d in dirs if d not in skipped]
    return found


def differences(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    """The paths added, removed or changed between two :func:`tree_state` results."""
    return sorted(path for path in before.keys() | after.keys()
                  if before.get(path) != after.get(path))


def assert_unchanged(root: str | Path, before: dict[str, tuple], **kwargs) -> None:
    """Nothing below *root* was added, removed or changed since *before* was taken."""
    changed = differences(before, tree_state(root, **kwargs))
    assert not changed, f"changed below {root}: {changed}"


def assert_kept(root: str | Path, before: dict[str, tuple]) -> None:
    """Every file of *before* is still there, byte for byte and with its time (others may
    have been added)."""
    after = tree_state(root)
    changed = [path for path, entry in before.items() if after.get(path) != entry]
    assert not changed, f"changed or lost below {root}: {changed}"


# -- the local store ---------------------------------------------------------------------
def check_store(out: str | Path, remote: str | Path, *, prodname: str = SIM_NAME,
                hduindx: str = HDU_INDEX, obsindx: str = OBS_INDEX,
                before: dict[str, tuple] | None = None, clean: bool = True) -> set[int]:
    """Check that the local store *out* is consistent; return the indexed IDs.

    Whatever a failed or killed run left: ``master.json``, when present,
    parses; the two indexes are both there or both absent, and present when
    the master lists *prodname*; every HDU row points to a whole file, equal
    to the remote one or to the file *before* held; the OBS index lists
    exactly the observations of the HDU index, no key twice; every file of
    the remote store found under its real name locally is whole in the same
    sense.  With *clean*, no temporary (``.part``) and no hidden file but the
    lock is left.
    """
    from iactcopy.store.index.tables import IndexTable, resolve_file_paths
    from iactcopy.store.master import MasterIndex

    out, remote = Path(out), Path(remote)
    before = before or {}

    def whole(relpath: str) -> bool:
        local = out / relpath
        if not local.is_file():
            return False
        found = digest(local)
        remote_file = remote / relpath
        old = before.get(relpath)
        return ((remote_file.is_file() and found == digest(remote_file))
                or (old is not None and old[0] == "file" and found == old[1]))

    listed = False
    if (out / "master.json").exists():
        listed = prodname in MasterIndex.read(out / "master.json")
    hdu_path, obs_path = out / hduindx, out / obsindx
    assert hdu_path.exists() == obs_path.exists(), "one local index without the other"
    assert hdu_path.exists() or not listed, "the master lists a production without indexes"
    ids: set[int] = set()
    if hdu_path.exists():
        hdu, obs = IndexTable.read(hdu_path, "HDU"), IndexTable.read(obs_path, "OBS")
        files, unsafe = resolve_file_paths(hdu, index_dir=posixpath.dirname(hduindx))
        assert not unsafe.any(), files[unsafe]
        for relpath in sorted(set(files.tolist())):
            assert relpath and whole(relpath), f"an HDU row points to {relpath!r}: not whole"
        ids = {int(obs_id) for obs_id in hdu.obs_ids}
        assert ids == {int(obs_id) for obs_id in obs.obs_ids}, "HDU and OBS index disagree"
        assert len(obs) == len(ids), "an OBS_ID appears twice"
        keys = {(int(row["OBS_ID"]), str(row["HDU_TYPE"]).strip().lower(),
                 str(row["HDU_CLASS"]).strip().lower()) for row in hdu.data}
        assert len(keys) == len(hdu), "an HDU key appears twice"
    for folder, _, names in os.walk(out):
        for name in names:
            relpath = os.path.relpath(os.path.join(folder, name), out)
            temporary = name.endswith(".part") or (name.startswith(".")
                                                   and name not in RESERVED_NAMES)
            if clean:
                assert not temporary, f"temporary left: {relpath}"
            if not temporary and relpath not in ("master.json", hduindx, obsindx) \
                    and (remote / relpath).is_file():
                assert whole(relpath), f"{relpath} is under its real name but not whole"
    return ids
