"""Remote stores over links with latency: sftp, root and https against ``cp -a`` from sshfs.

The store is served on loopback by OpenSSH, XRootD and an https server, each
behind a :mod:`benchmarks.latency_relay` that adds half the round trip each
way.  For each round trip (1, 20, 100 ms) the reference is ``cp -a`` of the
store from an sshfs mount through the same relay (mounted afresh for each
run, so no cache helps; the mount itself is not timed), and the contenders
are ``csiactcopy`` runs into an empty folder, interpreter start-up included:
sftp with the defaults and with ``nthreads=1``, root with the defaults and
with ``nthreads=1``, https with the defaults.  Every copy is checked to be
byte-identical.

The store is the H.E.S.S. DL3 DR1 store (105 observations, 60 MB); at 100 ms
its first :data:`SUBSET` observations (copied once into ``bench-work/``),
which keeps that point to a minute.

Run: ``.venv/bin/python -m benchmarks.latency_series [--rtt 20 ...] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.latency_relay import start_relay
from benchmarks.servers import Unavailable, https, sshd, sshfs_mount, trust_port, xrootd

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench-work"
BIN = Path(sys.executable).parent
HESS = ROOT.parent / "shared" / "data" / "hess_dl3_dr1"
PROD = "hess_dl3_dr1"
SUBSET = 30
RTTS = (1, 20, 100)
GOALS = {("sftp", "defaults"): 0.15, ("sftp", "nthreads=1"): 0.5, ("root", "defaults"): 0.15}
"""Goals at 20 ms, as fractions of the cp -a time."""


@dataclass
class Row:
    """One measurement of the series."""

    rtt: int
    label: str
    seconds: float
    reference: float | None
    goal: float | None

    @property
    def met(self) -> bool:
        return self.goal is None or (self.reference is not None
                                     and self.seconds <= self.goal * self.reference)


def subset_store(count: int) -> Path:
    """The first *count* observations of the H.E.S.S. store, as a store of their own."""
    folder = WORK / f"hess-subset-{count}"
    if not (folder / "master.json").exists():
        import fitsio

        with fitsio.FITS(str(HESS / "obs-index.fits.gz")) as fits:
            ids = sorted(int(i) for i in fits["OBS_INDEX"].read(columns=["OBS_ID"])["OBS_ID"])
        runlist = WORK / f"hess-subset-{count}.txt"
        runlist.write_text("\n".join(map(str, ids[:count])) + "\n")
        subprocess.run([str(BIN / "csiactcopy"), f"remote_master={HESS / 'master.json'}",
                        f"prodname={PROD}", f"outpath={folder}", f"runlist={runlist}",
                        "mode=h", "logfile=NONE"], check=True, env=_env(WORK / "home"),
                       stdout=subprocess.DEVNULL)
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


def _env(home: Path, **extra: str) -> dict:
    (WORK / "pfiles").mkdir(parents=True, exist_ok=True)
    return {**os.environ, "HOME": str(home), "PFILES": f"{WORK / 'pfiles'};", **extra}


def _timed(command: Sequence[str], out: Path, env: dict, store: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    start = time.perf_counter()
    result = subprocess.run(list(map(str, command)), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode:
        raise RuntimeError(f"{command[0]} failed ({result.returncode}): {result.stderr}")
    if result.stderr.strip():
        raise RuntimeError(f"{command[0]} wrote to stderr: {result.stderr}")
    _check_identical(store, out)
    return elapsed


def _check_identical(store: Path, out: Path) -> None:
    names = sorted(p.name for p in (store / "data").iterdir())
    if sorted(p.name for p in (out / "data").iterdir()) != names or not all(
            filecmp.cmp(store / "data" / n, out / "data" / n, shallow=False) for n in names):
        raise RuntimeError(f"the copy in {out} differs from {store}")


def _csiactcopy(url: str, out: Path, *args: str) -> list[str]:
    return [str(BIN / "csiactcopy"), f"remote_master={url}", f"prodname={PROD}",
            f"outpath={out}", "mode=h", f"logfile={WORK / 'series.log'}", *args]


@contextlib.contextmanager
def _servers(store_roots: list[Path]) -> Iterator[dict]:
    """sshd, xrootd (exporting every store root) and an https server per store."""
    found: dict = {"unavailable": []}
    with contextlib.ExitStack() as stack:
        found["ssh"] = stack.enter_context(sshd(WORK / "sshd"))
        try:
            export = Path(os.path.commonpath([str(p) for p in store_roots]))
            found["root"] = stack.enter_context(xrootd(WORK / "xrootd", export))
            found["export"] = export
        except Unavailable as err:
            found["unavailable"].append(f"root: {err}")
        try:
            found["https"] = {store: stack.enter_context(https(WORK / "https", store))
                              for store in store_roots}
        except Unavailable as err:
            found["unavailable"].append(f"https: {err}")
        yield found


def measure(rtts: Sequence[int] = RTTS, repeat: int = 3) -> tuple[list[Row], list[str]]:
    """The rows of the series, and what could not be measured (with the reason)."""
    if not (HESS / "master.json").is_file():
        return [], [f"the H.E.S.S. DL3 DR1 store is not at {HESS}"]
    WORK.mkdir(exist_ok=True)
    stores = {rtt: (HESS if rtt < 100 else subset_store(SUBSET)) for rtt in rtts}
    rows: list[Row] = []
    with _servers(sorted(set(stores.values()))) as servers:
        notes = list(servers["unavailable"])
        ssh = servers["ssh"]
        for rtt in rtts:
            store = stores[rtt]
            runs = repeat if rtt < 100 else 1
            rows += _one_rtt(rtt, store, runs, servers, ssh, notes)
    return rows, notes


def _one_rtt(rtt: int, store: Path, runs: int, servers: dict, ssh, notes: list) -> list[Row]:
    delay = rtt / 2
    out = WORK / "series-out"
    env = _env(ssh.home)
    rows = []
    with contextlib.ExitStack() as stack:
        sftp_port = stack.enter_context(start_relay(f"127.0.0.1:{ssh.port}", delay))
        trust_port(ssh, sftp_port)
        reference = None
        try:
            times = []
            for _ in range(runs):
                with sshfs_mount(ssh, sftp_port, store, WORK / "sshfs-mount") as mount:
                    times.append(_timed(["cp", "-a", f"{mount}/.", out], out, env, store))
            reference = statistics.median(times)
            rows.append(Row(rtt, "cp -a from an sshfs mount", reference, None, None))
        except Unavailable as err:
            notes.append(f"{rtt} ms: no cp -a reference: {err}")
        what = f" ({SUBSET} observations)" if store != HESS else ""
        url = f"sftp://{ssh.user}@127.0.0.1:{sftp_port}{store}"
        contenders = [("sftp", "defaults", url, env), ("sftp", "nthreads=1", url, env)]
        if "root" in servers:
            root_port = stack.enter_context(start_relay(f"127.0.0.1:{servers['root']}", delay))
            url = f"root://127.0.0.1:{root_port}/{store}"
            contenders += [("root", "defaults", url, env), ("root", "nthreads=1", url, env)]
        if "https" in servers:
            port, cert = servers["https"][store]
            https_port = stack.enter_context(start_relay(f"127.0.0.1:{port}", delay))
            contenders.append(("https", "defaults", f"https://127.0.0.1:{https_port}",
                               _env(ssh.home, SSL_CERT_FILE=str(cert))))
        for scheme, setting, url, run_env in contenders:
            extra = ["nthreads=1"] if setting == "nthreads=1" else []
            seconds = statistics.median(
                _timed(_csiactcopy(f"{url}/master.json", out, *extra), out, run_env, store)
                for _ in range(runs))
            goal = GOALS.get((scheme, setting)) if rtt == 20 else None
            rows.append(Row(rtt, f"csiactcopy {scheme}://, {setting}{what}", seconds,
                            reference, goal))
    shutil.rmtree(out, ignore_errors=True)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtt", type=int, nargs="*", default=list(RTTS),
                        help="round trips in ms (default 1 20 100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per point below 100 ms")
    args = parser.parse_args(argv)
    rows, notes = measure(args.rtt, args.repeat)
    for row in rows:
        ratio = f"{row.seconds / row.reference:.2f}x" if row.reference else ""
        goal = f"goal <= {row.goal}x: {'met' if row.met else 'NOT met'}" if row.goal else ""
        print(f"{row.rtt:4d} ms  {row.label:55s} {row.seconds:7.2f} s  {ratio:7s} {goal}")
    for note in notes:
        print(f"not measured: {note}")
    return 0 if all(row.met for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
