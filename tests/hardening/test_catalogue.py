"""A catalogue of bad inputs and faults: each gets a clear one-line error, and nothing is lost.

Bad input gets a clear one-line error and a non-zero exit status, and
nothing is lost: no file a user had is damaged by a failed run
(docs/differences.rst, "Errors and exit status" and "Broken files"), with
exit status 1 for a bad store or file, 2 for a bad
command line, parameter value, prompt answer or ``@file.yaml``, 3 for a run
that finished with missing or refused files.  Each case below runs the
command-line entry point (:func:`iactcopy.app.cli.run_application`) in this
process, where faults can be injected with monkeypatch, and checks:

* the exit status, and for an error exactly one ``*** ERROR`` line on
  stderr, without a traceback, holding the file, line or value at fault;
* the local store the run started from: unchanged (bytes, times and modes
  of every file) when the run stopped before writing, else every file it
  had kept and the store sound (:func:`hardchecks.check_store`: what is
  indexed is whole, the two indexes agree, no temporary left);
* the remote store: unchanged.

Every run starts from a local store of 5 observations (1000-1004) copied
from the generated store of 20 (1000-1019), and a private copy of that
store as the remote.  A handful of cases also run as real commands
(:func:`test_cases_as_commands`) to show that a process exits the same way.

Permissions: the tests may run as root, which reads and writes every file
whatever its mode.  The ``chmod`` cases then skip; the same situations are
covered for root by a folder where a file is expected (every file kind),
a file where a folder is expected (outpath, its index folder, its data
folder), and by injected ``EACCES``/``EROFS`` errors on writes.
"""

from __future__ import annotations

import copy
import errno
import gzip
import json
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from copychecks import SIM_IDS, SIM_NAME
from hardchecks import (
    HDU_INDEX,
    LOCAL_IDS,
    OBS_INDEX,
    TOY_PAR,
    HardToy,
    Outcome,
    assert_error,
    assert_finished,
    assert_kept,
    assert_unchanged,
    check_store,
    run_tool,
    tree_state,
)

from iactcopy.store.access import sources


def _modes_are_ignored() -> bool:
    """True for root (CAP_DAC_OVERRIDE): a file of mode 000 can still be read."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "x")
        path.write_text("x", encoding="utf-8")
        path.chmod(0)
        try:
            path.read_text(encoding="utf-8")
        except PermissionError:
            return False
        return True


AS_ROOT = _modes_are_ignored()
ROOT_REASON = ("root reads and writes files whatever their mode; covered by folders where "
               "files are expected and by injected EACCES/EROFS")


# -- the scene ---------------------------------------------------------------------------
@dataclass
class Scene:
    """A private remote store, the local store copied from it, and their snapshots."""

    master: Path
    out: Path
    work: Path
    before_out: dict = field(default_factory=dict)
    before_remote: dict = field(default_factory=dict)

    @property
    def remote(self) -> Path:
        return self.master.parent

    def args(self, *extra: str, prodname: str = SIM_NAME) -> list[str]:
        """The command line of a full copy; *extra* items replace those of their name."""
        given = {item.partition("=")[0] for item in extra}
        defaults = [f"remote_master={self.master}", f"prodname={prodname}",
                    f"outpath={self.out}", "mode=h"]
        return [item for item in defaults if item.partition("=")[0] not in given] + list(extra)

    def freeze(self) -> None:
        """Take the snapshots the run is compared with (after the test damaged things)."""
        self.before_out = tree_state(self.out)
        self.before_remote = tree_state(self.remote)

    def run(self, *extra: str, tool: str = "csiactcopy", **kwargs) -> Outcome:
        self.freeze()
        return run_tool(tool, *self.args(*extra), **kwargs)

    def assert_untouched(self) -> None:
        """The run wrote nothing: local and remote stores as they were."""
        assert_unchanged(self.out, self.before_out)
        assert_unchanged(self.remote, self.before_remote)

    def assert_sound(self, remote: Path | None = None) -> set[int]:
        """Every file the local store had is kept, and the store is sound; return its IDs."""
        assert_kept(self.out, self.before_out)
        assert_unchanged(remote or self.remote, self.before_remote)
        return check_store(self.out, remote or self.remote, before=self.before_out)


@pytest.fixture
def scene(sim_copy, local_store, isolated) -> Scene:
    return Scene(master=sim_copy(), out=local_store, work=isolated.work)


def rewrite_master(master: Path, change: Callable[[dict], object]) -> None:
    document = json.loads(master.read_text(encoding="utf-8"))
    changed = change(copy.deepcopy(document))
    master.write_text(json.dumps(changed if changed is not None else document),
                      encoding="utf-8")


def entry(change: Callable[[dict], None]) -> Callable[[dict], dict]:
    """A change of the one production entry of a master document."""
    def apply(document: dict) -> dict:
        change(document["datasets"][0])
        return document
    return apply


def write_index(path: Path, data: np.ndarray, extname: str) -> None:
    """Write *data* as the one table of an index file, whatever its columns."""
    from iactcopy.store.fits.tablewrite import FitsTable, write_fits_tables

    write_fits_tables(path, [FitsTable(data, extname)])


def table_without(path: Path, kind: str, column: str) -> np.ndarray:
    from numpy.lib import recfunctions

    from iactcopy.store.index.tables import IndexTable

    return recfunctions.drop_fields(IndexTable.read(path, kind).data, column, usemask=False)


def table_with_text_obs_id(path: Path, kind: str) -> np.ndarray:
    from iactcopy.store.index.tables import IndexTable

    data = IndexTable.read(path, kind).data
    dtype = [(name, "U12" if name == "OBS_ID" else data.dtype[name]) for name in data.dtype.names]
    converted = data.astype(dtype)
    converted["OBS_ID"] = np.char.add("run", data["OBS_ID"].astype(str))
    return converted


def primary_only(path: Path) -> None:
    import fitsio

    plain = path.with_suffix("")
    fitsio.write(str(plain), np.zeros((2, 2), dtype=np.int16), clobber=True)
    path.write_bytes(gzip.compress(plain.read_bytes()))
    plain.unlink()


# -- A. the remote master file -------------------------------------------------------------
MASTER_CASES = {
    "not-json": (b"this is not JSON\n", ["is not valid JSON", "line 1, column 1"]),
    "truncated-json": (b'{"datasets": [{"name": "iactcopy-sim", "hdu', ["is not valid JSON"]),
    "empty-file": (b"", ["is not valid JSON"]),
    "not-utf8": (b'{"datasets": ["caf\xe9"]}', ["is not UTF-8 text", "byte 18"]),
    "utf16": ('{"datasets": []}'.encode("utf-16"), ["is not UTF-8 text"]),
    "array": (b"[]", ["must hold a JSON object", "an array"]),
    "number": (b"42", ["must hold a JSON object", "a number"]),
    "no-datasets": (lambda d: {"name": "x"}, ['Key "datasets" not available']),
    "datasets-object": (lambda d: {"datasets": {}}, ['"datasets"', "must be a JSON array"]),
    "datasets-null": (lambda d: {"datasets": None}, ["must be a JSON array", "null"]),
    "entry-not-object": (lambda d: {"datasets": ["x"]}, ["entry 1", "must be a JSON object"]),
    "entry-without-hduindx": (entry(lambda e: e.pop("hduindx")), ['no key "hduindx"']),
    "entry-without-obsindx": (entry(lambda e: e.pop("obsindx")), ['no key "obsindx"']),
    "entry-without-name": (entry(lambda e: e.pop("name")), ['no key "name"']),
    "hduindx-number": (entry(lambda e: e.update(hduindx=5)), ['"hduindx"', "non-empty string"]),
    "obsindx-blank": (entry(lambda e: e.update(obsindx="  ")), ['"obsindx"', "non-empty"]),
    "name-twice": (lambda d: {"datasets": d["datasets"] * 2}, ["twice", "entries 1 and 2"]),
}


@pytest.mark.parametrize("case", sorted(MASTER_CASES))
def test_bad_remote_master(scene, case):
    content, fragments = MASTER_CASES[case]
    if callable(content):
        rewrite_master(scene.master, content)
    else:
        scene.master.write_bytes(content)
    outcome = scene.run()
    assert_error(outcome, 1, str(scene.master), *fragments)
    scene.assert_untouched()


@pytest.mark.parametrize("setup, fragments", [
    ("folder", ["No master index file found", "mounted"]),
    ("dangling-link", ["No master index file found"]),
    ("fifo", ["No master index file found"]),
])
def test_remote_master_that_is_no_file(scene, setup, fragments):
    scene.master.unlink()
    if setup == "folder":
        scene.master.mkdir()
    elif setup == "dangling-link":
        scene.master.symlink_to(scene.remote / "nowhere.json")
    else:
        os.mkfifo(scene.master)
    assert_error(scene.run(), 1, str(scene.master), *fragments)
    scene.assert_untouched()


@pytest.mark.parametrize("prodname, fragments", [
    ("", ['production ""', SIM_NAME]),
    ("iactcopy-SIM", ['"iactcopy-SIM" not available', SIM_NAME]),
    (" iactcopy-sim", [SIM_NAME]),
])
def test_production_not_in_the_master(scene, prodname, fragments):
    scene.freeze()
    outcome = run_tool("csiactcopy", *scene.args(prodname=prodname))
    assert_error(outcome, 1, *fragments)
    scene.assert_untouched()


# -- B. the remote index files -----------------------------------------------------------
def _damage(path: Path, how: str, kind: str) -> None:
    extname = f"{kind}_INDEX"
    if how == "not-fits":
        path.write_bytes(b"SIMPLE? no, this is text\n" * 200)
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "truncated-gzip":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "truncated-fits":
        path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:4000]))
    elif how == "gzip-of-text":
        path.write_bytes(gzip.compress(b"hello world\n" * 500))
    elif how == "folder":
        path.unlink()
        path.mkdir()
    elif how == "missing":
        path.unlink()
    elif how == "dangling-link":
        path.unlink()
        path.symlink_to(path.parent / "gone.fits.gz")
    elif how == "primary-only":
        primary_only(path)
    elif how == "text-obs-id":
        write_index(path, table_with_text_obs_id(path, kind), extname)
    else:
        column = how.removeprefix("no-").upper()
        write_index(path, table_without(path, kind, column), extname)


INDEX_CASES = [
    ("HDU", "not-fits", ["cannot be opened as FITS"]),
    ("HDU", "empty", ["cannot be opened as FITS"]),
    ("HDU", "truncated-gzip", []),
    ("HDU", "truncated-fits", []),
    ("HDU", "gzip-of-text", ["cannot be opened as FITS"]),
    ("HDU", "folder", ["is a folder"]),
    ("HDU", "missing", ["not found"]),
    ("HDU", "dangling-link", ["gone.fits.gz", "not found"]),
    ("HDU", "primary-only", ["No HDU index table", "Tables in the file: none"]),
    ("HDU", "no-obs_id", ["lacks the required column(s) OBS_ID"]),
    ("HDU", "no-file_name", ["lacks the required column", "FILE_NAME"]),
    ("HDU", "no-hdu_class", ["lacks the required column", "HDU_CLASS"]),
    ("OBS", "not-fits", ["cannot be opened as FITS"]),
    ("OBS", "missing", ["not found"]),
    ("OBS", "no-obs_id", ["lacks the required column(s) OBS_ID"]),
]


@pytest.mark.parametrize("kind, how, fragments", INDEX_CASES,
                         ids=[f"{kind}-{how}" for kind, how, _ in INDEX_CASES])
def test_bad_remote_index(scene, kind, how, fragments):
    path = scene.remote / (HDU_INDEX if kind == "HDU" else OBS_INDEX)
    _damage(path, how, kind)
    named = str(scene.remote) if how == "dangling-link" else str(path)
    assert_error(scene.run(), 1, named, *fragments)
    scene.assert_untouched()


@pytest.mark.parametrize("tool", ["csfindobs", "csiactdata"])
@pytest.mark.parametrize("how", ["not-fits", "missing", "no-obs_id", "text-obs-id"])
def test_bad_remote_index_for_the_other_tools(scene, tool, how):
    """csiactdata lists the production as not available; csfindobs stops (exit 1)."""
    path = scene.remote / OBS_INDEX
    _damage(path, how, "OBS")
    scene.freeze()
    if tool == "csiactdata":
        outcome = run_tool(tool, f"datapath={scene.remote}", "mode=h")
        assert_finished(outcome, 0)
        # Only headers are read (docs/differences.rst, "Index table lookup"): a text
        # OBS_ID is found when the table is.
        listed = "Not available" not in Path("csiactdata.log").read_text(encoding="utf-8")
        assert listed == (how == "text-obs-id")
    else:
        outcome = run_tool(tool, f"datapath={scene.remote}", f"prodname={SIM_NAME}",
                           "ra=NONE", "outfile=runs.lis", "mode=h")
        assert_error(outcome, 1, str(path))
        assert not Path("runs.lis").exists()
    assert_unchanged(scene.remote, scene.before_remote)


# -- C. run lists ------------------------------------------------------------------------
RUNLIST_CASES = {
    "decimal": ("1000\n1000.5\n", 2, ["'1000.5' is not an observation ID"]),
    "hex": ("0x3E8\n", 1, ["'0x3E8'"]),
    "exponent": ("1000\n\n1e3\n", 3, ["'1e3'"]),
    "semicolon": ("1000;1001\n", 1, ["'1000;1001'"]),
    "above-int64": ("1000\n9223372036854775808\n", 2, ["outside the range", "64-bit"]),
    "below-int64": ("-9223372036854775809\n", 1, ["outside the range"]),
    "5000-digits": ("1" * 5000 + "\n", 1, ["outside the range", "..."]),
    "nul": ("1000\x00\n", 1, ["is not an observation ID"]),
    "utf16": ("1000\n1001\n".encode("utf-16"), 1, ["is not an observation ID"]),
    "binary": (bytes(range(1, 256)) * 3, 1, ["is not an observation ID"]),
    "partial-bom": (b"\xef\xbb", 1, ["is not an observation ID"]),
    "leading-comma": ("1000\n,1001\n", 2, ["nothing before the comma"]),
    "seven-bad-lines": ("\n".join(["a", "1000", "b", "c", "d", "e", "f", "g"]), 1,
                        ["and bad lines 7, 8"]),
}


@pytest.mark.parametrize("case", sorted(RUNLIST_CASES))
def test_bad_run_list(scene, case):
    content, line, fragments = RUNLIST_CASES[case]
    runlist = scene.work / "runs.lis"
    runlist.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    assert_error(scene.run(f"runlist={runlist}"), 1, f"{runlist}:{line}:", *fragments)
    scene.assert_untouched()


def test_run_list_that_is_a_folder(scene):
    runlist = scene.work / "runs.lis"
    runlist.mkdir()
    assert_error(scene.run(f"runlist={runlist}"), 1, str(runlist), "is a folder")
    scene.assert_untouched()


@pytest.mark.parametrize("content", ["-1\n0\n", "99999\n", "9223372036854775807\n"])
def test_run_list_of_ids_not_in_the_store_copies_nothing(scene, content):
    """Not an error: run-list IDs absent remotely only warn.

    docs/differences.rst, "Errors and exit status".
    """
    runlist = scene.work / "runs.lis"
    runlist.write_text(content, encoding="utf-8")
    outcome = scene.run(f"runlist={runlist}")
    assert_finished(outcome, 0)
    assert "not available remotely" in outcome.stderr
    scene.assert_untouched()


# -- D. parameter values of the three tools ------------------------------------------------
COPY_VALUES = [
    ("nthreads=abc", ['"nthreads"', "'abc' is not an integer"]),
    ("nthreads=2.5", ["'2.5' is not an integer"]),
    ("nthreads=1e2", ["'1e2' is not an integer"]),
    ("nthreads=0", ["outside the range 1 to 64"]),
    ("nthreads=65", ["outside the range 1 to 64"]),
    ("nthreads=-3", ["outside the range"]),
    ("nthreads=INDEF", ['"nthreads" is undefined']),
    ("nthreads=NaN", ["is not a number"]),
    ("nthreads=", ["'' is not an integer"]),
    ("nthreads=" + "9" * 5000, ["5000 digits"]),
    ("chatter=5", ['"chatter"', "outside the range 0 to 4"]),
    ("chatter=loud", ["'loud' is not an integer"]),
    ("clobber=maybe", ['"clobber"', "'maybe' is not a boolean"]),
    ("clobber=2", ["'2' is not a boolean"]),
    ("clobber=", ["'' is not a boolean"]),
    ("debug=perhaps", ['"debug"', "not a boolean"]),
    ("mode=x", ['"mode"', "not a mode"]),
    ("mode=a", ["not a mode"]),
    ("prodname=iact\nsim", ['"prodname"', "newline"]),
    ("outpath=out\rx", ['"outpath"', "carriage return"]),
]


@pytest.mark.parametrize("arg, fragments", COPY_VALUES, ids=[a[:24] for a, _ in COPY_VALUES])
def test_bad_csiactcopy_value(scene, arg, fragments):
    outcome = scene.run(arg)
    assert_error(outcome, 2, *fragments)
    scene.assert_untouched()


@pytest.mark.parametrize("value", ["NONE", "", "INDEF"])
def test_undefined_remote_master(scene, value):
    scene.freeze()
    outcome = run_tool("csiactcopy", f"remote_master={value}", f"prodname={SIM_NAME}",
                       f"outpath={scene.out}", "mode=h")
    assert_error(outcome, 2, '"remote_master" is undefined')
    scene.assert_untouched()


@pytest.mark.parametrize("where", ["folder", "missing-folder"])
def test_log_file_that_cannot_be_opened(scene, where):
    logfile = scene.work if where == "folder" else scene.work / "no" / "x.log"
    outcome = scene.run(f"logfile={logfile}")
    assert_error(outcome, 1, f'cannot open the log file "{logfile}"')
    scene.assert_untouched()


def test_report_that_cannot_be_written_after_a_complete_copy(scene):
    """The report comes last: exit 1 naming it, and the store the copy made is sound."""
    report = scene.work / "no" / "report.yaml"
    outcome = scene.run(f"report={report}")
    assert_error(outcome, 1, f'cannot write the report "{report}"')
    assert check_store(scene.out, scene.remote) == set(SIM_IDS)


FINDOBS_VALUES = [
    (("ra=east",), 2, ['"ra"', "'east' is not a real number"]),
    (("dec=north",), 2, ['"dec"', "not a real number"]),
    (("rad=wide",), 2, ['"rad"', "not a real number"]),
    (("ra=", ), 2, ["'' is not a real number"]),
    (("min_qual=3",), 2, ['"min_qual"', "'3' is not one of 0|1|2"]),
    (("min_qual=1.5",), 2, ["'1.5' is not an integer"]),
    (("min_qual=-1",), 2, ["not one of 0|1|2"]),
    (("dec=NONE",), 2, ["needs ra, dec and rad"]),
    (("outfile=NONE",), 2, ['"outfile" is undefined']),
    (("expression=(((",), 2, ["'((('", "not a valid cfitsio row filter"]),
    (("expression=NO_SUCH_COLUMN > 3",), 2, ["NO_SUCH_COLUMN"]),
    (("plotfile=sky.xyz",), 2, ['"sky.xyz"', "not supported"]),
    (("outfile=no/such/folder/runs.lis",), 1, ['cannot write the run list "no/such/folder'
                                                '/runs.lis"', "No such file"]),
    (("outfile=.",), 1, ['cannot write the run list "."']),
    (("plotfile=no/such/folder/sky.png",), 1, ["cannot write the sky map"]),
]


@pytest.mark.parametrize("args, status, fragments", FINDOBS_VALUES,
                         ids=[" ".join(a)[:28] for a, _, _ in FINDOBS_VALUES])
def test_bad_csfindobs_value(scene, args, status, fragments):
    if any(arg.startswith("plotfile=") for arg in args):
        pytest.importorskip("matplotlib", reason="plotfile needs matplotlib (iactcopy[plot])")
    defaults = {"datapath": str(scene.remote), "prodname": SIM_NAME, "outfile": "runs.lis",
                "ra": "83.63", "dec": "22.01", "rad": "5", "mode": "h"}
    given = {arg.partition("=")[0] for arg in args}
    scene.freeze()
    outcome = run_tool("csfindobs", *[f"{k}={v}" for k, v in defaults.items() if k not in given],
                       *args)
    assert_error(outcome, status, *fragments)
    assert not Path("runs.lis").exists()
    assert_unchanged(scene.remote, scene.before_remote)


@pytest.mark.parametrize("args, fragments", [
    (("master_indx=",), ["not found", "master_indx"]),
    (("master_indx=hdu-index.fits.gz",), ["is not UTF-8 text"]),
    (("master_indx=nothere.json",), ["nothere.json", "not found"]),
    (("datapath=no/such/store",), ["no/such/store", "not found"]),
])
def test_bad_csiactdata_value(scene, args, fragments):
    scene.freeze()
    defaults = [f"datapath={scene.remote}"] if not args[0].startswith("datapath") else []
    outcome = run_tool("csiactdata", *defaults, *args, "mode=h")
    assert_error(outcome, 1, *fragments)
    assert_unchanged(scene.remote, scene.before_remote)


def test_prompt_answer_from_a_pipe_is_checked(scene):
    """csfindobs asks for ra (mode ql); an answer that is no number ends the run (exit 2)."""
    scene.freeze()
    outcome = run_tool("csfindobs", f"datapath={scene.remote}", f"prodname={SIM_NAME}",
                       "outfile=runs.lis", stdin="east\n")
    assert_error(outcome, 2, '"ra"', "'east' is not a real number")
    assert not Path("runs.lis").exists()


# -- E. the command line: unknown, ambiguous, repeated, @file.yaml ---------------------------
YAML_FILES = {
    "bad.yaml": b"nthreads: [1\n",
    "list.yaml": b"- nthreads\n- 2\n",
    "nested.yaml": b"nthreads: {a: 1}\n",
    "unknown.yaml": b"nosuch: 1\n",
    "value.yaml": b"nthreads: many\n",
    "latin1.yaml": b"prodname: caf\xe9\n",
    "key.yaml": b"? [1, 2]\n: 3\n",
}

COMMAND_LINES = [
    (("nosuch=1",), ['has no parameter "nosuch"']),
    (("nthred=2",), ['"nthred"', "did you mean nthreads"]),
    (("c=1",), ['"c" is ambiguous', "chatter", "clobber"]),
    (("nthreads=1", "nthreads=2"), ['"nthreads" is given twice']),
    (("nthreads=1", "nthr=2"), ['"nthreads" is given twice']),
    (("clobber+", "clobber=no"), ['"clobber" is given twice']),
    (("=5",), ["no parameter name"]),
    (("hello",), ['"hello" is not of the form']),
    (("nthreads+",), ["sets a boolean", "integer"]),
    (("@missing.yaml",), ["cannot read parameter file @missing.yaml"]),
    (("@.",), ["cannot read parameter file @."]),
    (("@bad.yaml",), ["@bad.yaml is not valid YAML"]),
    (("@list.yaml",), ["must hold a mapping"]),
    (("@nested.yaml",), ['"nthreads" must be a text']),
    (("@unknown.yaml",), ['has no parameter "nosuch"']),
    (("@value.yaml",), ['"@value.yaml"', "'many' is not an integer"]),
    (("@latin1.yaml",), ["@latin1.yaml is not UTF-8 text"]),
    (("@key.yaml",), ["@key.yaml is not valid YAML"]),
]


@pytest.mark.parametrize("args, fragments", COMMAND_LINES,
                         ids=[" ".join(a) for a, _ in COMMAND_LINES])
def test_bad_command_line(scene, args, fragments):
    for name, content in YAML_FILES.items():
        (scene.work / name).write_bytes(content)
    scene.freeze()
    outcome = run_tool("csiactcopy", *scene.args(), *args)
    assert_error(outcome, 2, *fragments)
    scene.assert_untouched()


# -- F. every parameter type, on a toy tool -------------------------------------------------
@pytest.fixture
def toy(isolated, monkeypatch):
    system = isolated.root / "syspfiles"
    system.mkdir()
    (system / "hardtoy.par").write_text(TOY_PAR, encoding="utf-8")
    monkeypatch.setenv("PFILES", f"{isolated.pfiles};{system}")
    (isolated.work / "exists.txt").write_text("x", encoding="utf-8")
    return HardToy


TOY_VALUES = [
    ("infile=no/such.fits", ['"infile"', "'no/such.fits' is not a readable file"]),
    ("present=no/such.fits", ['"present"', "does not exist"]),
    ("newfile=exists.txt", ['"newfile"', "'exists.txt' exists already"]),
    ("outfile=no/such/folder/x.fits", ['"outfile"', "cannot be written"]),
    ("anyfile=a\nb", ['"anyfile"', "newline"]),
    ("start=yesterday", ['"start"', "'yesterday' is not a time"]),
    ("start=2021-02-29", ["'2021-02-29' is not a date and time of the calendar"]),
    ("start=2020-13-01T00:00:00", ["not a date and time of the calendar"]),
    ("start=2020-01-01T24:00:00", ["not a date and time of the calendar"]),
    ("start=2020-01-01T12:61:00", ["not a date and time of the calendar"]),
    ("start=MJD x", ["'MJD x' is not a time"]),
    ("start=5 (GPS)", ["is not a time"]),
    ("start=", ["'' is not a time"]),
    ("count=abc", ['"count"', "'abc' is not an integer"]),
    ("count=0", ["outside the range 1 to 10"]),
    ("count=11", ["outside the range 1 to 10"]),
    ("count=3.0", ["'3.0' is not an integer"]),
    ("count=inf", ["is not a number; allowed: 1 to 10"]),
    ("count=" + "1" * 4400, ["4400 digits"]),
    ("level=3", ["'3' is not one of 0|1|2"]),
    ("level=1.0", ["'1.0' is not an integer"]),
    ("ratio=abc", ['"ratio"', "'abc' is not a real number"]),
    ("ratio=1.5", ["outside the range 0 to 1"]),
    ("ratio=-0.0001", ["outside the range 0 to 1"]),
    ("ratio=nan", ["is not a number; allowed: 0 to 1"]),
    ("scale=1,5", ["'1,5' is not a real number"]),
    ("scale=0x10", ["is not a real number"]),
    ("flag=maybe", ['"flag"', "'maybe' is not a boolean"]),
    ("flag=1", ["'1' is not a boolean"]),
    ("flag=", ["'' is not a boolean"]),
    ("label=a\x00b", ['"label"', "NUL"]),
    ("choice=d", ['"choice"', "'d' is not one of a|b|c"]),
    ("mode=ask", ['"mode"', "not a mode"]),
    ("chatter=-1", ['"chatter"', "outside the range 0 to 4"]),
]


@pytest.mark.parametrize("arg, fragments", TOY_VALUES, ids=[a[:30] for a, _ in TOY_VALUES])
def test_bad_value_of_each_type(toy, isolated, arg, fragments):
    before = tree_state(isolated.work, skip=["hardtoy.log"])
    outcome = run_tool(toy, "mode=h", arg) if not arg.startswith("mode=") else run_tool(toy, arg)
    assert_error(outcome, 2, *fragments)
    assert_unchanged(isolated.work, before, skip=["hardtoy.log"])
    assert not isolated.pfiles.exists(), "a failed run learns nothing"


def test_good_value_of_each_type(toy, isolated):
    outcome = run_tool(toy, "mode=h", "infile=exists.txt", "present=exists.txt",
                       "newfile=new.txt", "outfile=out.txt", "anyfile=$HOME/x",
                       "start=2020-02-29T23:59:60.5", "count=10", "level=2", "ratio=1",
                       "scale=1e-3", "flag=yes", "label=a, \"b\"", "choice=B")
    assert_finished(outcome, 0)


# -- G. a local store that cannot be used as it is -------------------------------------------
def _local_problem(out: Path, case: str) -> tuple[Path, list[str]]:
    master, hdu, obs = out / "master.json", out / HDU_INDEX, out / OBS_INDEX
    if case == "outpath-is-a-file":
        shutil.rmtree(out)
        out.write_text("not a folder", encoding="utf-8")
        return out, ["exists and is not a folder"]
    if case == "outpath-is-a-dangling-link":
        shutil.rmtree(out)
        out.symlink_to(out.parent / "gone")
        return out, ["cannot be created", "File exists"]
    if case == "master-not-json":
        master.write_text('{"datasets": [', encoding="utf-8")
        return master, ["is not valid JSON"]
    if case == "master-empty":
        master.write_bytes(b"")
        return master, ["is not valid JSON"]
    if case == "master-folder":
        master.unlink()
        master.mkdir()
        return master, ["is a folder"]
    if case == "master-without-datasets":
        master.write_text('{"owner": "me"}', encoding="utf-8")
        return master, ['Key "datasets"']
    if case == "master-production-twice":
        rewrite_master(master, lambda d: {"datasets": d["datasets"] * 2})
        return master, ["twice"]
    if case == "hdu-index-folder":
        hdu.unlink()
        hdu.mkdir()
        return hdu, ["is a folder"]
    if case == "obs-index-not-fits":
        obs.write_bytes(b"garbage" * 100)
        return obs, ["cannot be opened as FITS"]
    if case == "obs-index-without-obs_id":
        write_index(obs, table_without(obs, "OBS", "OBS_ID"), "OBS_INDEX")
        return obs, ["lacks the required column(s) OBS_ID"]
    if case == "hdu-index-truncated":
        hdu.write_bytes(hdu.read_bytes()[:600])
        return hdu, []
    if case == "lock-is-a-folder":
        lock = out / ".iactcopy.lock"
        lock.unlink(missing_ok=True)
        lock.mkdir()
        return lock, ["Cannot lock the local store"]
    raise AssertionError(case)


LOCAL_CASES = ["outpath-is-a-file", "outpath-is-a-dangling-link", "master-not-json",
               "master-empty", "master-folder", "master-without-datasets",
               "master-production-twice", "hdu-index-folder", "obs-index-not-fits",
               "obs-index-without-obs_id", "hdu-index-truncated", "lock-is-a-folder"]


@pytest.mark.parametrize("case", LOCAL_CASES)
def test_local_store_that_cannot_be_used(scene, case):
    where, fragments = _local_problem(scene.out, case)
    outcome = scene.run()
    assert_error(outcome, 1, str(where), *fragments)
    if case == "lock-is-a-folder":
        # Found when the indexes are updated: the files copied by then are
        # whole and unindexed, the old ones kept.
        scene.assert_sound()
    else:
        scene.assert_untouched()


def test_local_column_that_clashes_with_the_remote_one(scene):
    """A merge that cannot be done (string against number) stops before any index is written."""
    from numpy.lib import recfunctions

    from iactcopy.store.index.tables import IndexTable

    obs = scene.out / OBS_INDEX
    table = IndexTable.read(obs, "OBS")
    data = recfunctions.drop_fields(table.data, "OBJECT", usemask=False)
    data = recfunctions.append_fields(data, "OBJECT", np.ones(len(data)), usemask=False)
    IndexTable("OBS", data, header=table.header).write(obs)
    outcome = scene.run()
    assert_error(outcome, 1, 'Column "OBJECT"', str(obs))
    assert scene.assert_sound() == set(LOCAL_IDS)


@pytest.mark.parametrize("where", ["data-folder", "index-folder"])
def test_file_where_a_local_folder_is_expected(scene, where):
    """As root a read-only folder cannot be made: a file in the way of a folder fails alike."""
    if where == "data-folder":
        shutil.rmtree(scene.out)
        scene.out.mkdir()
        (scene.out / "data").write_text("in the way", encoding="utf-8")
        outcome = scene.run()
        assert_finished(outcome, 3)
        assert "could not be copied" in outcome.stderr
        assert scene.assert_sound() == set()
        return
    # hduindx "index/hdu-index.fits.gz": the local "index" is a file.
    for name in (HDU_INDEX, OBS_INDEX):
        (scene.remote / "index").mkdir(exist_ok=True)
        (scene.remote / name).rename(scene.remote / "index" / name)
    rewrite_master(scene.master, entry(lambda e: e.update(hduindx=f"index/{HDU_INDEX}",
                                                          obsindx=f"index/{OBS_INDEX}")))
    from iactcopy.store.index.tables import IndexTable

    hdu = IndexTable.read(scene.remote / "index" / HDU_INDEX, "HDU")
    data = hdu.data.astype([(name, "U20" if name == "FILE_DIR" else hdu.data.dtype[name])
                            for name in hdu.columns])
    data["FILE_DIR"] = "../data"
    IndexTable("HDU", data, header=hdu.header).write(scene.remote / "index" / HDU_INDEX)
    shutil.rmtree(scene.out)
    scene.out.mkdir()
    (scene.out / "index").write_text("in the way", encoding="utf-8")
    outcome = scene.run()
    assert_error(outcome, 1, "cannot be updated", str(scene.out / "index"))
    check_store(scene.out, scene.remote, hduindx=f"index/{HDU_INDEX}",
                obsindx=f"index/{OBS_INDEX}")
    assert (scene.out / "index").read_text(encoding="utf-8") == "in the way"


# -- H. a disk that fills up, a file system that turns read-only ------------------------------
WRITE_ERRORS = [errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EIO]
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


class _Faulty:
    """Counts calls (from any thread) and tells when one should fail."""

    def __init__(self, first: int, last: float = float("inf")):
        self.first, self.last = first, last
        self.calls = 0
        self.failed = 0
        self.lock = threading.Lock()

    def strike(self) -> bool:
        with self.lock:
            self.calls += 1
            hit = self.first <= self.calls <= self.last
            self.failed += hit
            return hit


@pytest.mark.parametrize("code", WRITE_ERRORS, ids=errno.errorcode.get)
@pytest.mark.parametrize("start", ["fresh", "replacing"])
def test_data_copy_fails_midway(scene, monkeypatch, code, start):
    """From the 4th kernel copy on, every write fails: the copies done are indexed, the
    failed ones reported, the local files they would replace kept.  A disk that takes no
    more files (full, over quota, read-only) stops the copy with one error (exit 1: the
    local side failed); another write error fails its file only (exit 3)."""
    if start == "fresh":
        shutil.rmtree(scene.out)
    else:
        # The remote files of the 5 local observations were reprocessed since.
        for path in sorted((scene.remote / "data").iterdir())[:5]:
            with open(path, "ab") as stream:
                stream.write(b"reprocessed" * 300)
    fault = _Faulty(first=4)
    real = os.copy_file_range

    def copy_file_range(src, dst, count, *args):
        if fault.strike():
            real(src, dst, min(count, 100), *args)  # a few bytes reach the disk, then no more
            raise OSError(code, os.strerror(code))
        return real(src, dst, count, *args)

    monkeypatch.setattr(os, "copy_file_range", copy_file_range)
    outcome = scene.run("nthreads=2")
    assert fault.failed, "no copy was made"
    if code in DISK_FULL:
        assert_error(outcome, 1, "the copy stopped", os.strerror(code), "free space")
    else:
        assert_finished(outcome, 3)
    assert "could not be copied" in outcome.stderr and os.strerror(code) in outcome.stderr
    # A file replaced is whole (the old or the new version), none is lost.
    assert set(scene.before_out) <= set(tree_state(scene.out))
    assert_unchanged(scene.remote, scene.before_remote)
    ids = check_store(scene.out, scene.remote, before=scene.before_out)
    assert len(ids) < len(SIM_IDS)


def _failing_atomic_write(monkeypatch, target: str, code: int) -> _Faulty:
    """Make the write of the file named *target* fail after a few bytes, as a full disk does."""
    import contextlib

    from iactcopy import atomicfile
    from iactcopy.store.fits import tablewrite as fitswrite
    from iactcopy.store.index import files as indexfile

    fault = _Faulty(first=1, last=1)
    real = atomicfile.atomic_write

    class Full:
        def __init__(self, stream):
            self.stream = stream

        def write(self, data):
            if fault.strike():
                self.stream.write(data[:10])
                raise OSError(code, os.strerror(code))
            return self.stream.write(data)

        def __getattr__(self, name):
            return getattr(self.stream, name)

    @contextlib.contextmanager
    def atomic_write(path, mode="w", **kwargs):
        with real(path, mode, **kwargs) as stream:
            yield Full(stream) if os.path.basename(path) == target else stream

    monkeypatch.setattr(atomicfile, "atomic_write", atomic_write)
    monkeypatch.setattr(fitswrite, "atomic_write", atomic_write)
    monkeypatch.setattr(indexfile, "atomic_write", atomic_write)
    return fault


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES],
                         ids=errno.errorcode.get)
@pytest.mark.parametrize("target", [HDU_INDEX, OBS_INDEX, "master.json"])
def test_index_update_fails(scene, target, code):
    """Any of the three files failing leaves all three as they were (they must agree),
    with one error naming the file; a rerun then completes the store."""
    if target == "master.json":
        # The master changes only when its entry does.
        rewrite_master(scene.master, entry(lambda e: e.update(note="new")))
    # A monkeypatch of its own: undoing it keeps the isolation of the test.
    with pytest.MonkeyPatch.context() as patch:
        fault = _failing_atomic_write(patch, target, code)
        outcome = scene.run()
    assert fault.failed == 1
    assert_error(outcome, 1, "cannot be updated", str(scene.out / target), os.strerror(code))
    assert scene.assert_sound() == set(LOCAL_IDS)
    for name in ("master.json", HDU_INDEX, OBS_INDEX):
        assert tree_state(scene.out)[name] == scene.before_out[name], name
    assert_finished(run_tool("csiactcopy", *scene.args()), 0)
    assert check_store(scene.out, scene.remote) == set(SIM_IDS)


def test_index_update_fails_on_a_fresh_store(scene, monkeypatch):
    shutil.rmtree(scene.out)
    _failing_atomic_write(monkeypatch, OBS_INDEX, errno.ENOSPC)
    outcome = scene.run()
    assert_error(outcome, 1, str(scene.out / OBS_INDEX), "No space left on device")
    assert check_store(scene.out, scene.remote) == set()
    assert not (scene.out / HDU_INDEX).exists() and not (scene.out / "master.json").exists()


@pytest.mark.parametrize("when", ["write", "rename"])
def test_second_index_rename_or_fitsio_fails(scene, when):
    """Rendering the second index file fails: nothing changes.  The rename of
    the OBS index fails after that of the HDU index: the pair disagrees until a rerun."""
    from iactcopy import atomicfile
    from iactcopy.store.index import files as indexfile

    patch = pytest.MonkeyPatch()
    if when == "write":
        real = indexfile.IndexFile.write
        calls = []

        def write(self, path, **kwargs):
            calls.append(path)
            if len(calls) == 2:
                raise OSError(errno.ENOSPC, "error writing to file")
            return real(self, path, **kwargs)

        patch.setattr(indexfile.IndexFile, "write", write)
        fragment = "error writing"
    else:
        real_replace = os.replace

        def replace(src, dst, **kwargs):
            if os.path.basename(dst) == OBS_INDEX:
                raise OSError(errno.EIO, os.strerror(errno.EIO), src)
            return real_replace(src, dst, **kwargs)

        patch.setattr(atomicfile.os, "replace", replace)
        fragment = os.strerror(errno.EIO)
    try:
        outcome = scene.run()
    finally:
        patch.undo()
    assert_error(outcome, 1, "cannot be updated", fragment)
    if when == "write":
        for name in ("master.json", HDU_INDEX, OBS_INDEX):
            assert tree_state(scene.out)[name] == scene.before_out[name], name
        assert scene.assert_sound() == set(LOCAL_IDS)
    else:
        # The window left by design (atomicfile.ReplaceTogether): the HDU index was
        # renamed already, the OBS index is the old one; every file is whole, no
        # temporary is left, and a rerun makes the pair agree again.
        from iactcopy.store.index.tables import IndexTable

        hdu = set(IndexTable.read(scene.out / HDU_INDEX, "HDU").obs_ids.tolist())
        obs = set(IndexTable.read(scene.out / OBS_INDEX, "OBS").obs_ids.tolist())
        assert obs == set(LOCAL_IDS) and hdu == set(SIM_IDS)
        assert tree_state(scene.out)[OBS_INDEX] == scene.before_out[OBS_INDEX]
        assert not [name for name in os.listdir(scene.out) if name.endswith(".part")]
        assert_finished(run_tool("csiactcopy", *scene.args()), 0)
        assert check_store(scene.out, scene.remote) == set(SIM_IDS)


# -- I. a remote store that disappears in the middle of a run ---------------------------------
@pytest.mark.parametrize("how", ["renamed", "unmounted"])
@pytest.mark.parametrize("moment", ["planning", "copying"])
def test_remote_disappears(scene, monkeypatch, how, moment):
    """The remote folder goes away (renamed, or an empty mount point left) after a few
    files were looked up or copied: the files still to come are reported, what arrived
    is indexed (exit 3)."""
    gone = scene.remote.with_name("gone")
    fault = _Faulty(first=10, last=10)  # the 6 documentation files come first

    def vanish():
        os.rename(scene.remote, gone)
        if how == "unmounted":
            scene.remote.mkdir()

    name = "info" if moment == "planning" else "copy_to"
    real = getattr(sources.LocalSource, name)

    def hooked(self, relpath, *args, **kwargs):
        if fault.strike():
            vanish()
        return real(self, relpath, *args, **kwargs)

    monkeypatch.setattr(sources.LocalSource, name, hooked)
    shutil.rmtree(scene.out)
    outcome = scene.run("nthreads=1")
    assert fault.failed == 1
    assert_finished(outcome, 3)
    problems = "missing" if moment == "planning" else "failed"
    assert f"{problems}: " in outcome.stderr
    ids = scene.assert_sound(remote=gone)
    if moment == "copying":
        assert 0 < len(ids) < len(SIM_IDS)
    else:
        assert ids == set(), "a file planned before the remote went cannot arrive"
    if how == "unmounted":
        assert not any(scene.remote.iterdir()), "something was written into the mount point"


def test_remote_disappears_before_its_indexes_are_read(scene, monkeypatch):
    from iactcopy.store import remotestore as datastore

    gone = scene.remote.with_name("gone")
    real = datastore.read_index

    def read_index(source, relpath, kind):
        if scene.remote.exists():
            os.rename(scene.remote, gone)
        return real(source, relpath, kind)

    monkeypatch.setattr(datastore, "read_index", read_index)
    scene.freeze()
    outcome = run_tool("csiactcopy", *scene.args())
    assert_error(outcome, 1, str(scene.remote / HDU_INDEX), "not found")
    assert_unchanged(scene.out, scene.before_out)
    assert_unchanged(gone, scene.before_remote)


# -- J. unreadable and read-only files (not as root) -----------------------------------------
@pytest.mark.skipif(AS_ROOT, reason=ROOT_REASON)
@pytest.mark.parametrize("what", ["remote-master", "run-list", "local-master", "remote-data"])
def test_unreadable_file(scene, what):
    runlist = scene.work / "runs.lis"
    runlist.write_text("1000\n1010\n", encoding="utf-8")
    target = {"remote-master": scene.master, "run-list": runlist,
              "local-master": scene.out / "master.json",
              "remote-data": scene.remote / "data" / f"{SIM_NAME}_obs_001010.fits.gz"}[what]
    scene.freeze()
    target.chmod(0)
    try:
        outcome = run_tool("csiactcopy", *scene.args(f"runlist={runlist}"))
    finally:
        target.chmod(0o644)
    if what == "remote-data":
        assert_finished(outcome, 3)
        assert target.name in outcome.stderr
        assert scene.assert_sound() == set(LOCAL_IDS)
    else:
        assert_error(outcome, 1, str(target))
        scene.assert_untouched()


@pytest.mark.parametrize("code", [errno.EACCES, errno.EIO], ids=errno.errorcode.get)
@pytest.mark.parametrize("moment", ["planning", "copying"])
def test_unreadable_remote_data_file_is_not_missing(scene, monkeypatch, code, moment):
    """A remote data file that exists but cannot be read (injected: as root, mode 000 is
    readable): looked up, it is refused; opened for the copy, it failed; never "missing".
    Its observation is left out, the others are indexed (exit 3)."""
    name = f"{SIM_NAME}_obs_001010.fits.gz"
    method = "info" if moment == "planning" else "_open_fd"
    real = getattr(sources.LocalSource, method)

    def unreadable(self, relpath):
        if relpath.endswith(name):
            raise OSError(code, os.strerror(code), str(scene.remote / relpath))
        return real(self, relpath)

    monkeypatch.setattr(sources.LocalSource, method, unreadable)
    shutil.rmtree(scene.out)
    outcome = scene.run("nthreads=1")
    assert_finished(outcome, 3)
    problem = "refused: cannot be read" if moment == "planning" else "failed"
    line, = [line for line in outcome.stderr.splitlines() if name in line]
    assert f"{problem}: {os.strerror(code)}" in line and "missing" not in line
    assert scene.assert_sound() == set(SIM_IDS) - {1010}


@pytest.mark.skipif(AS_ROOT, reason=ROOT_REASON)
def test_read_only_outpath(scene):
    scene.freeze()
    for folder in (scene.out, scene.out / "data"):
        folder.chmod(0o555)
    try:
        outcome = run_tool("csiactcopy", *scene.args())
    finally:
        for folder in (scene.out, scene.out / "data"):
            folder.chmod(0o755)
    assert outcome.status in (1, 3)
    assert "Traceback" not in outcome.stderr and len(outcome.error_lines) <= 1
    assert scene.assert_sound() == set(LOCAL_IDS)


# -- K. the same, as real commands ------------------------------------------------------------
@pytest.mark.parametrize("case", ["not-json", "runlist-above-int64", "nthreads-digits",
                                  "ambiguous", "outpath-is-a-file", "yaml-latin1"])
def test_cases_as_commands(scene, csiactcopy_cmd, case):
    """A few cases run as a process: its exit status and stderr are those seen in-process."""
    extra: list[str] = []
    if case == "not-json":
        scene.master.write_text("not JSON", encoding="utf-8")
        status = 1
    elif case == "runlist-above-int64":
        (scene.work / "r.lis").write_text("1" * 30 + "\n", encoding="utf-8")
        extra, status = ["runlist=r.lis"], 1
    elif case == "nthreads-digits":
        extra, status = ["nthreads=" + "7" * 5000], 2
    elif case == "ambiguous":
        extra, status = ["c=1"], 2
    elif case == "outpath-is-a-file":
        _local_problem(scene.out, "outpath-is-a-file")
        status = 1
    else:
        (scene.work / "p.yaml").write_bytes(b"prodname: caf\xe9\n")
        extra, status = ["@p.yaml"], 2
    scene.freeze()
    result = csiactcopy_cmd(*scene.args(), *extra)
    assert_error(Outcome(result.returncode, result.stdout, result.stderr), status)
    scene.assert_untouched()
    in_process = run_tool("csiactcopy", *scene.args(), *extra)
    assert in_process.status == status
    assert in_process.error_lines == [line for line in result.stderr.splitlines()
                                      if line.startswith("*** ERROR")]

