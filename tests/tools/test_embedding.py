"""The embedding forms of the documentation, with the short import, in a host with its own logging.

Each host is a script run in its own interpreter, so that its logging
configuration is its own, as in a real program.  The library's records reach
the tool's log in full, and the host's handlers only at the level the host
asked for.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from copychecks import SIM_NAME


def run_host(work: Path, body: str, *, logging_setup: str) -> subprocess.CompletedProcess:
    script = work / "host.py"
    script.write_text("import json, logging, sys\n" + logging_setup + "\n"
                      + textwrap.dedent(body), encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            cwd=work, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


BASIC_INFO = ("logging.basicConfig(level=logging.INFO, stream=sys.stderr, "
              "format='HOST %(levelname)s %(name)s: %(message)s')")

TUTORIAL = """\
from iactcopy import csfindobs, csiactcopy, csiactdata

data = csiactdata(datapath=STORE)
data.run()
print(json.dumps(data.names()))

find = csfindobs(datapath=STORE, prodname=PROD, ra="NONE")
find.run()
print(json.dumps(find.runs()))
find["outfile"] = "runs.txt"
find.save()

copy = csiactcopy(remote_master=STORE + "/master.json", prodname=PROD, outpath="data",
                  runlist="runs.txt", chatter=4, logfile="copy.log")
copy.logFileOpen()
copy.execute()
copy.logFileClose()
print(json.dumps([copy.report.complete, copy.exit_status]))
"""


def tutorial(sim_master: Path) -> str:
    return f"STORE = {str(sim_master.parent)!r}\nPROD = {SIM_NAME!r}\n" + TUTORIAL


def test_the_tools_from_a_host_with_basic_config_at_info(sim_master, isolated):
    result = run_host(isolated.work, tutorial(sim_master), logging_setup=BASIC_INFO)

    names, runs, (complete, status) = (json.loads(line) for line in result.stdout.splitlines())
    assert names == [SIM_NAME]
    assert runs and runs == sorted(runs)
    assert (complete, status) == (True, 0)
    copied = sorted(path.name for path in (isolated.work / "data" / "data").iterdir())
    assert len(copied) == len(runs)
    # The tool's log has the per-file DEBUG records (chatter 4) ...
    log = (isolated.work / "copy.log").read_text(encoding="utf-8")
    per_file = [line for line in log.splitlines() if ": copied (no local copy)" in line
                and ".fits" in line.split(": ", 1)[1].split(":")[0]]
    assert len(per_file) == len(runs)
    # ... and the host only the INFO records and above it asked for.
    host_lines = result.stderr.splitlines()
    assert not any(line.startswith("HOST DEBUG") for line in host_lines), result.stderr
    assert any(line.startswith("HOST INFO iactcopy.store.transfer.copyfiles: Copied ")
               for line in host_lines), result.stderr
    # Learned as from the command line.
    assert (isolated.pfiles / "csiactcopy.par").is_file()


def test_a_host_without_logging_setup_hears_nothing(sim_master, isolated):
    result = run_host(isolated.work, tutorial(sim_master), logging_setup="")

    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 3


def test_a_host_handler_on_the_iactcopy_logger_keeps_its_level(sim_master, isolated):
    setup = textwrap.dedent("""\
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("MINE %(levelname)s %(message)s"))
        mine = logging.getLogger("iactcopy")
        mine.addHandler(handler)
        mine.setLevel(logging.WARNING)
        """)
    body = tutorial(sim_master) + textwrap.dedent("""\
        assert mine.handlers == [handler] and mine.level == logging.WARNING
        assert mine.propagate
        logging.getLogger("iactcopy.store").warning("after the runs")
        """)

    result = run_host(isolated.work, body, logging_setup=setup)

    assert result.stderr.splitlines() == ["MINE WARNING after the runs"]
