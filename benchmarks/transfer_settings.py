"""The settings behind the sftp and root defaults: threads, requests in flight, files ahead.

For each round trip (1, 20, 100 ms, through :mod:`benchmarks.latency_relay`)
and each setting, a fresh process plans and copies the data files of the
H.E.S.S. DL3 DR1 store (105 files, 60 MB) into an empty folder with
:func:`~iactcopy.store.transfer.plan_copy` and
:func:`~iactcopy.store.transfer.copyfiles.copy_files`, as csiactcopy does; the time
is the plan and the copy, without start-up and login (those do not depend
on the settings).  The module constants (``READ_DEPTH``, ``FILES_AHEAD``,
``FIRST_BLOCKS``, ``CHANNELS`` and the pipe size ``_PIPE_SIZE`` of
:mod:`iactcopy.store.access.opensshsftp`; ``DEPTH``, ``FILES_AHEAD`` of
:mod:`iactcopy.store.access.xrootd`) are set in that process only;
``"client": "asyncssh"`` measures the asyncssh client with its defaults.

Run: ``.venv/bin/python -m benchmarks.transfer_settings [--rtt 1 20 100] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.latency_relay import start_relay
from benchmarks.latency_series import HESS, WORK, _check_identical, _env
from benchmarks.servers import Unavailable, sshd, trust_port, xrootd

RTTS = (1, 20, 100)
SFTP = [{"nthreads": 4}, {"nthreads": 1}, {"nthreads": 8},
        {"nthreads": 4, "READ_DEPTH": 8}, {"nthreads": 4, "READ_DEPTH": 64},
        {"nthreads": 4, "FILES_AHEAD": 16}, {"nthreads": 4, "FILES_AHEAD": 64},
        {"nthreads": 4, "CHANNELS": 1}, {"nthreads": 4, "CHANNELS": 2},
        {"nthreads": 4, "CHANNELS": 4}, {"nthreads": 4, "CHANNELS": 12},
        {"nthreads": 4, "_PIPE_SIZE": 65536}, {"nthreads": 4, "client": "asyncssh"}]
ROOT = [{"nthreads": 4}, {"nthreads": 1}, {"nthreads": 8},
        {"nthreads": 4, "DEPTH": 1}, {"nthreads": 4, "FILES_AHEAD": 4},
        {"nthreads": 4, "FILES_AHEAD": 16}, {"nthreads": 4, "FILES_AHEAD": 64}]

_CHILD = """
import json, sys, time
from iactcopy.store.access import opensshsftp as sftpclient
from iactcopy.store.access import xrootd as xrootdclient
from iactcopy.store.access.urls import FsspecSource
from iactcopy.store.transfer.copyfiles import copy_files
from iactcopy.store.transfer.plan import plan_copy
url, out, setting = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
nthreads = setting.pop("nthreads")
if setting.pop("client", None) == "asyncssh":
    sftpclient.ssh_program = lambda: None
for name, value in setting.items():
    setattr(sftpclient if url.startswith("sftp") else xrootdclient, name, value)
source = FsspecSource(url)
names = [line for line in sys.stdin.read().split()]
source.info(names[0])  # logs in: not part of the time
start = time.perf_counter()
plan = plan_copy(source, names, out, nthreads=nthreads)
report = copy_files(plan, source, nthreads=nthreads)
print(time.perf_counter() - start, len(report.copied))
"""


def _one(url: str, setting: dict, env: dict) -> float:
    out = WORK / "settings-out"
    shutil.rmtree(out, ignore_errors=True)
    names = "\n".join(f"data/{name}" for name in sorted(os.listdir(HESS / "data")))
    # -W ignore: asyncssh's deprecation warnings (the tools hide them too).
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", _CHILD, url, str(out),
                           json.dumps(setting)], input=names, capture_output=True, text=True,
                          env=env, check=True)
    seconds, copied = done.stdout.split()
    if done.stderr.strip() or int(copied) != names.count("\n") + 1:
        raise RuntimeError(f"{url} {setting}: {done.stderr or copied + ' copied'}")
    _check_identical(HESS, out)
    return float(seconds)


def measure(rtts: Sequence[int] = RTTS, repeat: int = 3) -> list[tuple[int, str, dict, float]]:
    """(round trip, scheme, setting, median seconds) for every point."""
    rows = []
    WORK.mkdir(exist_ok=True)
    with contextlib.ExitStack() as stack:
        ssh = stack.enter_context(sshd(WORK / "sshd"))
        try:
            root_port = stack.enter_context(xrootd(WORK / "xrootd", HESS.parent))
        except Unavailable as err:
            print(f"root not measured: {err}", file=sys.stderr)
            root_port = None
        env = {**_env(ssh.home), "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        for rtt in rtts:
            with contextlib.ExitStack() as relays:
                port = relays.enter_context(start_relay(f"127.0.0.1:{ssh.port}", rtt / 2))
                trust_port(ssh, port)
                points = [("sftp", f"sftp://{ssh.user}@127.0.0.1:{port}{HESS}", SFTP)]
                if root_port is not None:
                    port = relays.enter_context(start_relay(f"127.0.0.1:{root_port}", rtt / 2))
                    points.append(("root", f"root://127.0.0.1:{port}/{HESS}", ROOT))
                for scheme, url, settings in points:
                    for setting in settings:
                        seconds = statistics.median(_one(url, dict(setting), env)
                                                    for _ in range(repeat))
                        rows.append((rtt, scheme, setting, seconds))
                        print(f"{rtt:4d} ms  {scheme}  {json.dumps(setting):45s} "
                              f"{seconds:6.3f} s", flush=True)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtt", type=int, nargs="*", default=list(RTTS),
                        help="round trips in ms (default 1 20 100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per point (median)")
    args = parser.parse_args(argv)
    measure(args.rtt, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
