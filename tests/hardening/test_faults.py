"""Fault injection: csiactcopy killed (SIGKILL) at chosen moments; the store stays sound.

Each seed picks a scenario (an empty or a partly filled local store, a
remote whose files were reprocessed or not, a full copy or one of two run
lists, clobber yes or no, 1, 2 or 4 threads) and a kill point, half the
time in the copy and half the time in the index update.  The run goes
through ``killpoint.py``, a wrapper that monkeypatches functions of
iactcopy in its own process and sends itself SIGKILL at the N-th call of
the chosen one: before it, after it, or in the middle of the write it
makes.  N is drawn among the calls the same scenario makes when it is not
killed (counted once per scenario by the same wrapper), so that every kill
lands.  Nothing in iactcopy reads anything the harness sets.

After each kill (:func:`hardchecks.check_store`): ``master.json``, when
present, parses; what the indexes list is whole (compared byte for byte
with the remote, or with the file the store had before); the OBS index
lists exactly the observations of the HDU index; every file under a real
name is whole; nothing outside ``outpath`` and nothing in the remote store
changed.  Then a plain rerun ends with exit 0 and leaves the store
complete, clean (no ``.part``, no temporary) and sound.

One window is left by design (:class:`iactcopy.atomicfile.ReplaceTogether`):
between the renames of the HDU and the OBS index, a few system calls
apart.  :func:`test_kill_between_the_two_index_renames` shows what a kill
there leaves and that a rerun repairs it; the random kill points do not
aim there.

By default 30 seeds run (about 15 s); ``IACTCOPY_SOAK=1`` runs 300.
``IACTCOPY_SOAK=<n>`` with n > 1 runs n seeds.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from copychecks import SIM_IDS, SIM_NAME, copy_args
from hardchecks import HDU_INDEX, LOCAL_IDS, OBS_INDEX, assert_unchanged, check_store, tree_state

from iactcopy.store.index.tables import IndexTable
from iactcopy.testing.storegen import generate_store

KILLPOINT = Path(__file__).with_name("killpoint.py")
PATIENCE = 120


def _seeds() -> int:
    value = os.environ.get("IACTCOPY_SOAK", "")
    if value in ("", "0"):
        return 30
    return int(value) if value.isdigit() and int(value) > 1 else 300


#: Kill points and where they stop the run: (name, phase, ways).
POINTS = [
    ("plan.info", "copy", ("before",)),
    ("copy.data", "copy", ("before", "inside")),
    ("copy.finish", "copy", ("before", "after")),
    ("copy.rename", "copy", ("before", "after")),
    ("copy.cleanup", "copy", ("before",)),
    ("fits.open", "index", ("before",)),
    ("index.lock", "index", ("before",)),
    ("index.merge", "index", ("before",)),
    ("index.write", "index", ("before", "inside", "after")),
    ("master.write", "index", ("before", "inside", "after")),
    ("fsync", "index", ("before",)),
    ("index.commit", "index", ("before",)),
]
RUN_LISTS = {"half": list(range(1005, 1015)), "mixed": list(range(1002, 1012))}


@dataclass(frozen=True)
class Scenario:
    start: str         # "empty" or "partial" (observations 1000-1004 copied before)
    remote: str        # "plain" or "reprocessed" (files of 1000-1004 changed since)
    selection: str     # "full", or a name of RUN_LISTS
    clobber: str
    nthreads: int

    @property
    def expected(self) -> set[int]:
        """The observations the store holds once a rerun completed it."""
        start = set(LOCAL_IDS) if self.start == "partial" else set()
        return set(SIM_IDS) if self.selection == "full" else start | set(RUN_LISTS[self.selection])


def choose(seed: int) -> tuple[Scenario, random.Random]:
    """The scenario of seed *seed*, and the generator that then picks the kill point."""
    rng = random.Random(seed)
    start = rng.choice(["empty", "partial", "partial"])
    scenario = Scenario(start=start,
                        remote=rng.choice(["plain", "reprocessed"]) if start == "partial"
                        else "plain",
                        selection=rng.choice(["full", "full", "half", "mixed"]),
                        clobber=rng.choice(["yes", "yes", "no"]),
                        nthreads=rng.choice([1, 2, 4]))
    return scenario, rng


def kill_plan(rng: random.Random, counts: dict[str, int]) -> dict:
    """A point of the copy or of the index update (even odds), a way and a call number,
    among the calls a run of the scenario makes."""
    phase = rng.choice(["copy", "index"])
    name, _, ways = rng.choice([point for point in POINTS
                                if point[1] == phase and counts.get(point[0])])
    return {"point": name, "how": rng.choice(ways), "nth": rng.randint(1, counts[name])}


# -- the stores ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    """The two remote stores and the partial local store, built once for the module."""
    root = tmp_path_factory.mktemp("faults")
    plain = Path(generate_store(root / "plain", len(SIM_IDS), name=SIM_NAME, seed=11,
                                first_id=SIM_IDS[0]))
    shutil.copytree(plain.parent, root / "reprocessed")
    reprocessed = root / "reprocessed" / "master.json"
    for obs_id in LOCAL_IDS:
        with open(root / "reprocessed" / "data" / f"{SIM_NAME}_obs_{obs_id:06d}.fits.gz",
                  "ab") as stream:
            stream.write(b"reprocessed" * 400)
    partial = root / "partial"
    runlist = root / "local.lis"
    runlist.write_text("".join(f"{obs_id}\n" for obs_id in LOCAL_IDS), encoding="utf-8")
    result = _run(root, {}, *copy_args(plain, partial), f"runlist={runlist}")
    assert result.returncode == 0, result.stderr
    for name, ids in RUN_LISTS.items():
        (root / f"{name}.lis").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    return {"root": root, "plain": plain, "reprocessed": reprocessed, "partial": partial}


def _run(cwd: Path, plan: dict | None, *args: str) -> subprocess.CompletedProcess:
    """csiactcopy through the kill-point wrapper (or plainly without a plan)."""
    env = {**os.environ, "PFILES": f"{cwd / 'pfiles'};", "HOME": str(cwd)}
    command = [sys.executable, str(KILLPOINT), json.dumps(plan)] if plan is not None else \
        [sys.executable, "-m", "iactcopy.tools.csiactcopy"]
    return subprocess.run([*command, *args, "mode=h"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=PATIENCE, stdin=subprocess.DEVNULL)


_COUNTS: dict[Scenario, dict[str, int]] = {}


def _prepare(scenario: Scenario, stores: dict[str, Path], folder: Path) -> tuple[Path, list]:
    """A fresh local store for *scenario* in *folder*; return outpath and the arguments."""
    out = folder / "out"
    if scenario.start == "partial":
        shutil.copytree(stores["partial"], out)
    master = stores[scenario.remote]
    args = [*copy_args(master, out), f"clobber={scenario.clobber}",
            f"nthreads={scenario.nthreads}", "logfile=NONE"]
    if scenario.selection != "full":
        args.append(f"runlist={stores['root'] / (scenario.selection + '.lis')}")
    return out, args


def _counts(scenario: Scenario, stores: dict[str, Path], tmp_path: Path) -> dict[str, int]:
    """How often a run of *scenario* reaches each point, counted once per scenario."""
    if scenario not in _COUNTS:
        folder = tmp_path / "calibration"
        folder.mkdir()
        _, args = _prepare(scenario, stores, folder)
        result = _run(folder, {"count": str(folder / "counts.json")}, *args)
        assert result.returncode == 0, result.stderr
        _COUNTS[scenario] = json.loads((folder / "counts.json").read_text(encoding="utf-8"))
    return _COUNTS[scenario]


# -- the test ------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(_seeds()))
def test_kill_then_rerun(seed, stores, tmp_path):
    scenario, rng = choose(seed)
    plan = kill_plan(rng, _counts(scenario, stores, tmp_path))
    folder = tmp_path / "run"
    folder.mkdir()
    out, args = _prepare(scenario, stores, folder)
    remote = stores[scenario.remote].parent
    before = tree_state(out)
    outside = tree_state(stores["root"], skip=("calibration", "run", "out", "pfiles"))
    remote_before = tree_state(remote)

    killed = _run(folder, plan, *args)
    print(f"seed {seed}: {scenario} killed at {plan}")
    assert killed.returncode == -signal.SIGKILL, (plan, killed.returncode, killed.stderr)
    check_store(out, remote, before=before, clean=False)
    assert_unchanged(remote, remote_before)
    assert_unchanged(stores["root"], outside, skip=("calibration", "run", "out", "pfiles"))

    rerun = _run(folder, None, *args)
    assert rerun.returncode == 0, (plan, rerun.stderr)
    assert "Traceback" not in rerun.stderr
    # Files the rerun did not select may keep their old version (and must be whole).
    assert check_store(out, remote, before=before, clean=True) == scenario.expected
    if scenario.clobber == "yes" and scenario.selection == "full":
        assert check_store(out, remote) == scenario.expected
    assert_unchanged(remote, remote_before)


def test_kill_between_the_two_index_renames(stores, tmp_path):
    """The window left by design: after the HDU index is renamed into place, before the
    OBS index is.  The HDU index then lists observations the OBS index does not; data
    files and the master are whole, and a rerun repairs the pair."""
    scenario = Scenario("partial", "plain", "half", "yes", 1)
    folder = tmp_path / "run"
    folder.mkdir()
    out, args = _prepare(scenario, stores, folder)
    plan = {"point": "commit.rename", "nth": 1, "how": "after"}
    env_script = (
        "import json, os, signal, sys\n"
        f"sys.path.insert(0, {str(KILLPOINT.parent)!r})\n"
        "import killpoint\n"
        "from iactcopy import atomicfile\n"
        "real = os.replace\n"
        "def replace(src, dst):\n"
        "    real(src, dst)\n"
        "    if os.path.basename(dst) == 'hdu-index.fits.gz':\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "atomicfile.os = killpoint._ModuleProxy(os, replace=replace)\n"
        "from iactcopy.tools.csiactcopy import main\n"
        "sys.argv = ['csiactcopy', *sys.argv[1:]]\n"
        "main()\n")
    env = {**os.environ, "PFILES": f"{folder / 'pfiles'};", "HOME": str(folder)}
    killed = subprocess.run([sys.executable, "-c", env_script, *args, "mode=h"], cwd=folder,
                            env=env, capture_output=True, text=True, timeout=PATIENCE)
    assert killed.returncode == -signal.SIGKILL, (plan, killed.stderr)
    hdu = set(IndexTable.read(out / HDU_INDEX, "HDU").obs_ids.tolist())
    obs = set(IndexTable.read(out / OBS_INDEX, "OBS").obs_ids.tolist())
    assert obs == set(LOCAL_IDS) and hdu == scenario.expected
    rerun = _run(folder, None, *args)
    assert rerun.returncode == 0, rerun.stderr
    assert check_store(out, stores["plain"].parent) == scenario.expected
