"""``make demo``: generate a small data store and run the tools on it, as a user would.

``python -m iactcopy.demo FOLDER`` writes a store of a few observations
(real FITS files) into ``FOLDER/store``, then runs ``csiactdata``,
``csfindobs`` (with a sky map) and ``csiactcopy`` (with ``debug=yes``) as
commands, with their parameter files kept in ``FOLDER/pfiles`` so that the
user's own ``~/pfiles`` is left alone, and says where everything is.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

from iactcopy.testing.storegen import generate_store

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the demonstration; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m iactcopy.demo", description=__doc__)
    parser.add_argument("folder", nargs="?", default="demo", help="where to work (default: demo)")
    parser.add_argument("--nobs", type=int, default=12, help="observations in the store")
    args = parser.parse_args(argv)
    folder = os.path.abspath(args.folder)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(os.path.join(folder, "pfiles"))
    master = generate_store(os.path.join(folder, "store"), args.nobs, name="demo-prod", seed=1,
                            file_size=1_000_000)
    env = {**os.environ, "PFILES": os.path.join(folder, "pfiles") + ";"}
    bindir = os.path.dirname(sys.executable)
    steps = [
        ["csiactdata", f"datapath={os.path.dirname(master)}"],
        ["csfindobs", f"datapath={os.path.dirname(master)}", "prodname=demo-prod",
         "ra=83.63", "dec=22.01", "rad=5", "outfile=runlist.txt", "plotfile=skymap.png"],
        ["csiactcopy", f"remote_master={master}", "prodname=demo-prod", "outpath=copy",
         "runlist=runlist.txt", "debug=yes"],
        ["csiactcopy", f"remote_master={master}", "prodname=demo-prod", "outpath=copy"],
    ]
    for step in steps:
        # mode=h: everything is on the command line, so nothing is prompted for.
        command = [*step, "mode=h"]
        print(f"\n$ {' '.join(command)}", flush=True)
        status = subprocess.run([os.path.join(bindir, step[0]), *command[1:]],
                                cwd=folder, env=env).returncode
        if status != 0:
            print(f"{step[0]} exited with status {status}", file=sys.stderr)
            return status
    print(f"""
The demo ran in {folder}:
  the generated store ...... {os.path.dirname(master)}
  the logs ................. {folder}/csiactdata.log, csfindobs.log, csiactcopy.log
  the run list ............. {folder}/runlist.txt
  the sky map .............. {folder}/skymap.png
  the copy ................. {folder}/copy (the run list first, then the rest)
  learned parameters ....... {folder}/pfiles (PFILES for the demo only)

The tools are installed in {os.path.dirname(bindir)}: run `source {bindir}/activate`,
then `csiactdata --help`, `csiactcopy --help`, `csfindobs --help`, `iactpar --help`.""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
