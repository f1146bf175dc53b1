"""Parallel transfers hide the latency of a remote store: csiactcopy over HTTP, 8 threads vs 1.

A loopback HTTP server adds 30 ms to every request (a distant server) and
serves a generated store of 40 observations; ``csiactcopy`` copies it into a
fresh folder with ``nthreads=8`` and with ``nthreads=1``.  Each time is the
median wall time of the command over ``--repeat`` runs, interpreter start-up
included.  Goal: 8 threads take at most 0.4 times as long as 1.

Run: ``.venv/bin/python -m benchmarks.remote_latency [--latency 0.03] [--nobs 40]
[--repeat 3]``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from iactcopy.testing.storegen import generate_store

GOAL = 0.4
PROD = "latency"
BIN = Path(sys.executable).parent


class SlowHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files after a fixed pause per request, and logs nothing."""

    latency = 0.03

    def log_message(self, format, *args):
        pass

    def send_head(self):
        time.sleep(self.latency)
        return super().send_head()


def serve(folder: Path, latency: float) -> http.server.ThreadingHTTPServer:
    """Start a threaded server on 127.0.0.1 (a free port) in a daemon thread."""
    handler = type("Handler", (SlowHandler,), {"latency": latency})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    return httpd


def time_copy(url: str, work: Path, nthreads: int, repeat: int) -> float:
    """Median wall time of ``csiactcopy`` into a fresh folder, over *repeat* runs."""
    command = [*_csiactcopy(), f"remote_master={url}", f"prodname={PROD}",
               f"outpath={work / 'local'}", f"nthreads={nthreads}"]
    env = {**os.environ, "PFILES": f"{work / 'pfiles'};"}
    times = []
    for _ in range(repeat):
        shutil.rmtree(work / "local", ignore_errors=True)
        start = time.perf_counter()
        subprocess.run(command, check=True, env=env, cwd=work, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _csiactcopy() -> list[str]:
    script = BIN / "csiactcopy"
    return [str(script)] if script.is_file() else [sys.executable, "-m",
                                                   "iactcopy.tools.csiactcopy"]


def measure(latency: float = 0.03, nobs: int = 40, repeat: int = 3) -> tuple[float, float]:
    """Median times of the copy with ``nthreads=1`` and with ``nthreads=8``."""
    with tempfile.TemporaryDirectory(prefix="iactcopy-latency-") as folder:
        work = Path(folder)
        generate_store(work / "store", nobs, name=PROD)
        httpd = serve(work / "store", latency)
        try:
            url = f"http://127.0.0.1:{httpd.server_address[1]}/master.json"
            many = time_copy(url, work, 8, repeat)
            one = time_copy(url, work, 1, repeat)
        finally:
            httpd.shutdown()
            httpd.server_close()
    return one, many


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.03,
                        help="seconds added to every request (default 0.03)")
    parser.add_argument("--nobs", type=int, default=40, help="observations (default 40)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per setting (default 3)")
    args = parser.parse_args(argv)
    one, many = measure(args.latency, args.nobs, args.repeat)
    ratio = many / one
    print(f"csiactcopy over HTTP, {args.nobs} observations, {args.latency * 1e3:.0f} ms "
          f"per request (median of {args.repeat})")
    print(f"  nthreads=8: {many:.3f} s")
    print(f"  nthreads=1: {one:.3f} s")
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(f"  ratio: {ratio:.2f}x (goal: at most {GOAL}x): {verdict}")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
