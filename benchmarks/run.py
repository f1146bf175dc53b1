"""``make bench``: every benchmark of iactcopy, with its reference measured in the same run.

Prints one table (benchmark, our time, reference, ratio, goal, met) and
writes it, with the machine it ran on, to ``docs/benchmarks.md`` and
``docs/benchmarks_table.rst``.  Stores are generated into ``bench-work/``
(kept between runs: generating the 10,000-file store takes a while).

Run: ``.venv/bin/python -m benchmarks.run [--only NAME ...] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench-work"
BIN = Path(sys.executable).parent
HESS = ROOT.parent / "shared" / "data" / "hess_dl3_dr1"


@dataclass
class Result:
    """One row of the table."""

    name: str
    ours: float
    unit: str
    reference: float | None
    reference_name: str
    goal: str
    met: bool

    @property
    def ratio(self) -> str:
        return "" if not self.reference else f"{self.ours / self.reference:.2f}x"


def seconds(value: float) -> str:
    return f"{value:.3f} s"


def timed(command: Sequence[str], *, repeat: int = 5, setup: Callable[[], None] | None = None,
          env: dict | None = None, cwd: Path | None = None) -> float:
    """Median wall time of *command* over *repeat* runs (each after *setup*)."""
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        subprocess.run(list(map(str, command)), check=True, env=env, cwd=cwd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_memory_mb(command: Sequence[str], *, env: dict | None = None,
                   cwd: Path | None = None) -> float:
    """Peak resident memory of *command* (and its children), in MB (10**6 bytes)."""
    probe = ("import resource, subprocess, sys; "
             "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *map(str, command)], check=True,
                         env=env, cwd=cwd, capture_output=True, text=True).stdout
    return int(out.split()[-1]) * 1024 / 1e6


def tool_env() -> dict:
    pfiles = WORK / "pfiles"
    pfiles.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "PFILES": f"{pfiles};"}


def tool(name: str, *args: str) -> list[str]:
    return [str(BIN / name), *args, "mode=h", f"logfile={WORK / (name + '.log')}"]


def generated(name: str, nobs: int, *extra: str) -> Path:
    """A generated store in bench-work, made once."""
    folder = WORK / name
    if not (folder / "master.json").exists():
        subprocess.run([sys.executable, "-m", "iactcopy.testing.storegen", str(folder),
                        "--nobs", str(nobs), "--name", name, *extra], check=True,
                       stdout=subprocess.DEVNULL)
    return folder


def reset(path: Path) -> Callable[[], None]:
    def clean() -> None:
        shutil.rmtree(path, ignore_errors=True)
    return clean


# -- the benchmarks ---------------------------------------------------------------------------
def bench_csiactdata_hess(quick: bool) -> list[Result]:
    if not HESS.exists():
        return []
    ours = timed(tool("csiactdata", f"datapath={HESS}"), env=tool_env())
    return [Result("csiactdata, H.E.S.S. DR1 store", ours, "s", None, "", "<= 0.25 s",
                   ours <= 0.25)]


def bench_copy_1gb(quick: bool) -> list[Result]:
    store = generated("sim-1gb", 40, "--file-size", str(25_000_000), "--no-compress")
    out, ref = WORK / "copy-1gb", WORK / "cp-1gb"
    ours_command = tool("csiactcopy", f"remote_master={store / 'master.json'}",
                        "prodname=sim-1gb", f"outpath={out}")
    ours_times, reference_times = [], []
    # Taken in turns, each into an empty folder: the write-back of the gigabytes
    # written before slows whichever run it falls into, so both sides share it.
    for _ in range(3 if quick else 7):
        for command, target, times in ((ours_command, out, ours_times),
                                       (["cp", "-a", f"{store}/.", ref], ref, reference_times)):
            reset(target)()
            target.mkdir()
            times.append(timed(command, repeat=1, env=tool_env()))
    ours, reference = statistics.median(ours_times), statistics.median(reference_times)
    reset(out)()
    memory = peak_memory_mb(ours_command, env=tool_env())
    reset(ref)()
    reset(out)()
    return [Result("csiactcopy, 1 GB store (40 x 25 MB)", ours, "s", reference, "cp -a",
                   "<= 1.3x", ours <= 1.3 * reference),
            Result("csiactcopy, 1 GB store: peak memory", memory, "MB", None, "",
                   "<= 150 MB", memory <= 150)]


def bench_noop_hess(quick: bool) -> list[Result]:
    """A rerun that finds nothing to do: taken from the stamp, and (for the record) without it."""
    if not HESS.exists():
        return []
    out, ref = WORK / "hess-copy", WORK / "hess-rsync"
    command = tool("csiactcopy", f"remote_master={HESS / 'master.json'}",
                   "prodname=hess_dl3_dr1", f"outpath={out}")
    subprocess.run(command, check=True, env=tool_env(), stdout=subprocess.DEVNULL)
    subprocess.run(["rsync", "-a", f"{HESS}/", f"{ref}/"], check=True)
    lock = out / ".iactcopy.lock"  # holds the stamp
    # Without the stamp: the full check (indexes read and merged), which writes the stamp.
    full = timed(command, repeat=7, env=tool_env(), setup=lambda: lock.write_bytes(b""))
    ours = timed(command, repeat=7, env=tool_env())
    reference = timed(["rsync", "-a", f"{HESS}/", f"{ref}/"], repeat=7)
    return [Result("csiactcopy no-op rerun, H.E.S.S. DR1", ours, "s", reference, "rsync -a",
                   "<= 4x", ours <= 4 * reference),
            Result("  the same without the stamp (full check)", full, "s", reference,
                   "rsync -a", "(for the record)", True)]


def bench_remote_latency(quick: bool) -> list[Result]:
    try:
        from benchmarks.remote_latency import measure
    except ImportError:
        return []
    serial, parallel = measure()
    return [Result("csiactcopy over HTTP +30 ms/request, 40 obs, nthreads=8", parallel, "s",
                   serial, "nthreads=1", "<= 0.4x", parallel <= 0.4 * serial)]


def bench_latency_series(quick: bool) -> list[Result]:
    """sftp, root and https at 1, 20 and 100 ms round trips, against cp -a from sshfs."""
    from benchmarks.latency_series import measure

    rows, notes = measure(repeat=1 if quick else 3)
    for note in notes:
        print(f"latency series: not measured: {note}", file=sys.stderr)
    results = []
    for row in rows:
        if row.reference is None or row.label.startswith("cp -a"):
            continue
        goal = f"<= {row.goal}x" if row.goal else "(for the record)"
        results.append(Result(f"{row.label}, {row.rtt} ms RTT", row.seconds, "s", row.reference,
                              f"cp -a from sshfs, {row.rtt} ms", goal, row.met))
    return results


def bench_scale_copy(quick: bool) -> list[Result]:
    """A 1,000-observation run list into a local store of 1,000, from a remote of 10,000."""
    remote = generated("sim-10k", 10_000)
    master = remote / "master.json"
    ids = _obs_ids(remote)
    first, second = WORK / "runlist-a.txt", WORK / "runlist-b.txt"
    first.write_text("\n".join(map(str, ids[:1000])) + "\n")
    second.write_text("\n".join(map(str, ids[1000:2000])) + "\n")
    out = WORK / "copy-10k"
    report = WORK / "scale-report.yaml"

    def setup() -> None:
        reset(out)()
        subprocess.run(tool("csiactcopy", f"remote_master={master}", "prodname=sim-10k",
                            f"outpath={out}", f"runlist={first}"), check=True,
                       env=tool_env(), stdout=subprocess.DEVNULL)

    command = tool("csiactcopy", f"remote_master={master}", "prodname=sim-10k",
                   f"outpath={out}", f"runlist={second}", f"report={report}")
    ours = timed(command, repeat=1 if quick else 3, setup=setup, env=tool_env())
    index_time = _report_seconds(report, "index_update")
    setup()
    memory = peak_memory_mb(command, env=tool_env())
    return [Result("csiactcopy, 1,000 runs into 1,000, remote of 10,000", ours, "s", None, "",
                   "<= 3 s", ours <= 3.0),
            Result("  of which index and master work", index_time, "s", None, "",
                   "<= 0.5 s", index_time <= 0.5),
            Result("  peak memory", memory, "MB", None, "", "<= 300 MB", memory <= 300)]


def bench_index_series(quick: bool) -> list[Result]:
    """Full index merges at 1k, 10k and 100k observations: the cost grows linearly."""
    results = []
    previous = None
    for nobs in (1_000, 10_000, 100_000):
        store = generated(f"sim-index-{nobs}", nobs, "--index-only")
        ours = _merge_seconds(store, repeat=1 if quick or nobs == 100_000 else 3)
        label = f"full index merge, {nobs:,} observations"
        if previous is None:
            results.append(Result(label, ours, "s", None, "", "(start of series)", True))
        else:
            results.append(Result(label, ours, "s", previous, f"{nobs // 10:,} obs",
                                  "<= 15x (linear: 10x)", ours <= 15 * previous))
        previous = ours
    results[-1].goal += "; <= 10 s"
    results[-1].met = results[-1].met and results[-1].ours <= 10
    return results


def bench_100k_tools(quick: bool) -> list[Result]:
    store = generated("sim-index-100000", 100_000, "--index-only")
    find = timed(tool("csfindobs", f"datapath={store}", "prodname=sim-index-100000",
                      f"outfile={WORK / 'found.txt'}", "ra=83.63", "dec=22.01", "rad=2.5"),
                 env=tool_env())
    data = timed(tool("csiactdata", f"datapath={store}"), env=tool_env())
    return [Result("csfindobs, 100,000-observation index", find, "s", 0.24,
                   "ctools 2.1 (0.24 s, quoted)", "<= 0.3 s", find <= 0.3),
            Result("csiactdata, 100,000-observation index", data, "s", None, "",
                   "<= 0.25 s", data <= 0.25)]


def _obs_ids(store: Path) -> list[int]:
    import fitsio

    with fitsio.FITS(str(store / "obs-index.fits.gz")) as fits:
        return sorted(int(i) for i in fits["OBS_INDEX"].read(columns=["OBS_ID"])["OBS_ID"])


def _report_seconds(path: Path, key: str) -> float:
    import yaml

    with open(path) as stream:
        return float(yaml.safe_load(stream)["timings"][key])


def _merge_seconds(store: Path, *, repeat: int) -> float:
    """Read a local and a remote index of *store*, merge them in full, write the result."""
    from iactcopy.store.index.merge import merge_index
    from iactcopy.store.index.tables import IndexTable

    times = []
    for _ in range(repeat):
        out = WORK / "merge-out"
        reset(out)()
        out.mkdir()
        start = time.perf_counter()
        for name, kind in (("hdu-index.fits.gz", "HDU"), ("obs-index.fits.gz", "OBS")):
            remote = IndexTable.read(store / name, kind)
            local = remote.select(remote.obs_ids[::2])
            merged, _ = merge_index(local, remote, clobber=True)
            merged.write(out / name)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


BENCHMARKS = {
    "csiactdata": bench_csiactdata_hess,
    "copy": bench_copy_1gb,
    "noop": bench_noop_hess,
    "remote": bench_remote_latency,
    "latency": bench_latency_series,
    "scale": bench_scale_copy,
    "series": bench_index_series,
    "tools100k": bench_100k_tools,
}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with open("/proc/cpuinfo") as stream:
        for line in stream:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, Linux {platform.release()}, "
            f"Python {platform.python_version()}")


def table(results: list[Result]) -> list[str]:
    rows = [("benchmark", "ours", "reference", "ratio", "goal", "met")]
    for r in results:
        ours = seconds(r.ours) if r.unit == "s" else f"{r.ours:.0f} {r.unit}"
        ref = "" if r.reference is None else f"{seconds(r.reference)} ({r.reference_name})"
        rows.append((r.name, ours, ref, r.ratio, r.goal, "yes" if r.met else "NO"))
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return lines


def write_docs(lines: list[str], when: str, host: str) -> None:
    md = ["# Benchmarks", "", f"Measured by `make bench` on {when}.", "", f"Machine: {host}.",
          "", *lines, "", "References are measured in the same run; see docs/benchmarks.rst "
          "for what each benchmark does.", ""]
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(md))
    rst = [f"Measured by ``make bench`` on {when}, on {host}.", "", *_rst_table(lines), ""]
    (ROOT / "docs" / "benchmarks_table.rst").write_text("\n".join(rst))


def _rst_table(lines: list[str]) -> list[str]:
    rows = [[cell.strip() for cell in line.strip("|").split("|")]
            for i, line in enumerate(lines) if i != 1]
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in rows:
        out.append(f"   * - {row[0] or ' '}")
        out += [f"     - {cell or ' '}" for cell in row[1:]]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), help="run only these")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks*")
    args = parser.parse_args(argv)
    WORK.mkdir(exist_ok=True)
    results: list[Result] = []
    for name in args.only or BENCHMARKS:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results += BENCHMARKS[name](args.quick)
    lines = table(results)
    print("\n".join(lines))
    if not args.no_docs and not args.only:
        write_docs(lines, time.strftime("%Y-%m-%d"), machine())
    return 0 if all(r.met for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
