"""Tools running at once with one PFILES folder lose no learned value.

docs/differences.rst, "Atomic parameter save".

Eight processes load the same parameter file, wait for each other, and then
each learns a different parameter at the same moment.  Every value must be
in the user copy afterwards, and the copy must parse.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

from iactcopy.params.parfile import read_par
from iactcopy.params.pfiles import load_parameters, save_learned

WORKERS = 8

SYSTEM = "".join(
    f'p{i}, s, a, default{i},,, "Parameter {i}"\n' for i in range(WORKERS)
) + 'seed, i, h, 1,,, "Hidden"\nmode, s, h, ql,,, "Mode"\n'


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _learn_one(index: int, value: str, barrier, results) -> None:
    pset = load_parameters("busy")
    pset.set(f"p{index}", value)
    # Everybody has read the same old file before anybody writes: the worst
    # case for an update lost by a read-modify-write race.
    barrier.wait(timeout=60)
    results.put((index, save_learned(pset), pset.warnings))


def _run_round(values: list[str]) -> list[tuple[int, str | None, list[str]]]:
    context = _context()
    barrier = context.Barrier(WORKERS)
    results = context.Queue()
    workers = [context.Process(target=_learn_one, args=(i, values[i], barrier, results))
               for i in range(WORKERS)]
    for worker in workers:
        worker.start()
    outcome = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    return sorted(outcome)


def test_eight_processes_learn_eight_parameters(write_par, folders):
    write_par(folders.system, "busy", SYSTEM, dedent=False)
    expected = {f"p{i}": f"default{i}" for i in range(WORKERS)}
    for round_ in range(3):
        values = [f'round {round_}, "worker" {i}\t' for i in range(WORKERS)]
        outcome = _run_round(values)
        target = str(folders.user / "busy.par")
        assert outcome == [(i, target, []) for i in range(WORKERS)]
        expected.update({f"p{i}": values[i] for i in range(WORKERS)})
        read_par(target)                                   # the file parses
        pset = load_parameters("busy")
        assert pset.warnings == []
        assert {par.name: par.text for par in pset if par.name.startswith("p")} == expected


def test_eight_iactpar_commands_at_once(write_par, folders):
    write_par(folders.system, "busy", SYSTEM, dedent=False)
    script = Path(sys.executable).with_name("iactpar")
    command = [str(script)] if script.exists() else [sys.executable, "-m",
                                                     "iactcopy.tools.iactpar"]
    processes = [subprocess.Popen([*command, "set", "busy", f"p{i}=set by {i}, at once"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=os.environ.copy())
                 for i in range(WORKERS)]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    pset = load_parameters("busy")
    assert pset.warnings == []
    assert {par.name: par.text for par in pset if par.name.startswith("p")} == {
        f"p{i}": f"set by {i}, at once" for i in range(WORKERS)}
