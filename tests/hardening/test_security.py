"""Hostile stores and links: nothing is written outside outpath, nothing to the remote store.

docs/differences.rst, "Missing and unsafe files" and "Folders stay inside
outpath": a path in an index that resolves outside the folder of the remote
master, or is absolute, is refused; a run writes nothing outside
``outpath`` except its log, its report and the user parameter file, and
nothing at all to the remote store.  Every run here is watched by
:func:`guard`: a snapshot (bytes, times, modes) of the whole temporary
folder of the test (sentinel files beside the stores, the parent of
``outpath``) except ``outpath``, the log and the user parameter folder, and
a snapshot of the remote store, both compared after the run.  The local
store is then checked as in the catalogue (:func:`hardchecks.check_store`).

Covered beyond ``tests/tools/test_csiactcopy.py`` (hostile FILE_DIR and
FILE_NAME, a remote file linked outside): index paths in master.json with
``..`` or absolute, GADF ``BASE_DIR`` pointing elsewhere, data files named
like the local master, index, lock or temporaries, links inside the local
store that lead outside it, names with newlines, and a remote master given
through a symbolic link.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from copychecks import SIM_IDS, SIM_NAME
from hardchecks import (
    HDU_INDEX,
    LOCAL_IDS,
    LOCK_NAME,
    OBS_INDEX,
    Outcome,
    assert_error,
    assert_finished,
    assert_unchanged,
    check_store,
    run_tool,
    tree_state,
)

from iactcopy.store.index.tables import IndexTable

#: What a run may write outside outpath: its log and the user parameter files.
ALLOWED = ("out", "csiactcopy.log", "pfiles", LOCK_NAME)
NAME = f"{SIM_NAME}_obs_{{:06d}}.fits.gz"


class Guard:
    """Snapshots of everything but outpath, and of the remote store, before a run."""

    def __init__(self, root: Path, remote: Path):
        self.root, self.remote = root, remote
        self.outside = tree_state(root, skip=ALLOWED)
        self.remote_before = tree_state(remote)

    def check(self) -> None:
        assert_unchanged(self.root, self.outside, skip=ALLOWED)
        assert_unchanged(self.remote, self.remote_before)


@pytest.fixture
def store(sim_copy) -> Path:
    """A private copy of the generated store; returns its master file."""
    return sim_copy()


@pytest.fixture
def sentinels(tmp_path) -> Path:
    """Files a hostile store points at: ``<tmp>/outside/`` with data-file names and a master."""
    folder = tmp_path / "outside"
    folder.mkdir()
    for obs_id in SIM_IDS:
        (folder / NAME.format(obs_id)).write_bytes(b"sentinel, not for copying")
    (folder / "master.json").write_text('{"datasets": []}', encoding="utf-8")
    return folder


def copy(master: Path, out: Path, *extra: str, guard_root: Path,
         remote: Path | None = None) -> Outcome:
    """Run csiactcopy under a :class:`Guard`; check it after the run."""
    guard = Guard(guard_root, remote or master.parent)
    outcome = run_tool("csiactcopy", f"remote_master={master}", f"prodname={SIM_NAME}",
                       f"outpath={out}", "mode=h", *extra)
    guard.check()
    return outcome


def rewrite_hdu(path: Path, change) -> None:
    """Rewrite an HDU index after ``change(data)``; FILE_DIR and FILE_NAME widened first."""
    table = IndexTable.read(path, "HDU")
    dtype = [(name, "U300" if name in ("FILE_DIR", "FILE_NAME") else table.data.dtype[name])
             for name in table.columns]
    data = table.data.astype(dtype)
    header = list(table.header)
    change(data, header)
    IndexTable("HDU", data, header=header, column_keywords=table.column_keywords).write(path)


def set_rows(obs_id: int, file_dir: str | None = None, file_name: str | None = None):
    def change(data, header):
        rows = data["OBS_ID"] == obs_id
        if file_dir is not None:
            data["FILE_DIR"][rows] = file_dir
        if file_name is not None:
            data["FILE_NAME"][rows] = file_name
    return change


# -- index paths in master.json --------------------------------------------------------------
@pytest.mark.parametrize("key", ["hduindx", "obsindx"])
@pytest.mark.parametrize("where", ["parent", "absolute", "dotdot-inside"])
def test_index_path_outside_the_store(store, sentinels, isolated, tmp_path, key, where):
    """An index named outside the store is refused before anything is read or written,
    though a real index lies there."""
    remote = store.parent
    name = HDU_INDEX if key == "hduindx" else OBS_INDEX
    shutil.copyfile(remote / name, sentinels / name)
    value = {"parent": f"../../outside/{name}", "absolute": str(sentinels / name),
             "dotdot-inside": f"data/../../../outside/{name}"}[where]
    document = json.loads(store.read_text(encoding="utf-8"))
    document["datasets"][0][key] = value
    store.write_text(json.dumps(document), encoding="utf-8")
    out = isolated.work / "out"
    outcome = copy(store, out, guard_root=tmp_path)
    assert_error(outcome, 1, f'{key} "{value}"', "lies outside the store")
    assert not out.exists()


# -- hostile rows of the HDU index -----------------------------------------------------------
HOSTILE_ROWS = {
    "absolute-file-name": lambda s: set_rows(1003, "", str(s / NAME.format(1003))),
    "absolute-file-dir": lambda s: set_rows(1003, str(s)),
    "dotdot-in-file-dir": lambda s: set_rows(1003, "data/../../../outside"),
    "dotdot-in-file-name": lambda s: set_rows(1003, "data",
                                              f"../../../outside/{NAME.format(1003)}"),
    "names-the-local-master": lambda s: set_rows(1003, "", "master.json"),
    "names-the-hdu-index": lambda s: set_rows(1003, ".", HDU_INDEX),
    "names-the-obs-index": lambda s: set_rows(1003, "data/..", OBS_INDEX),
    "names-the-lock": lambda s: set_rows(1003, "", LOCK_NAME),
    "names-a-temporary": lambda s: set_rows(1003, "data", NAME.format(1003) + ".part"),
    "names-a-folder": lambda s: set_rows(1003, "", "data"),
    "names-the-root": lambda s: set_rows(1003, "data", ".."),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_ROWS))
def test_hostile_file_path_is_refused(store, sentinels, isolated, tmp_path, case):
    """The observation is left out (exit 3); the others are copied; the user's local
    master with another production survives."""
    remote = store.parent
    rewrite_hdu(remote / HDU_INDEX, HOSTILE_ROWS[case](sentinels))
    out = isolated.work / "out"
    out.mkdir()
    mine = {"name": "mine", "hduindx": "mine/hdu.fits", "obsindx": "mine/obs.fits"}
    (out / "master.json").write_text(json.dumps({"owner": "me", "datasets": [mine]}),
                                     encoding="utf-8")
    outcome = copy(store, out, guard_root=tmp_path)
    assert_finished(outcome, 3)
    assert "could not be copied" in outcome.stderr
    assert check_store(out, remote) == set(SIM_IDS) - {1003}
    document = json.loads((out / "master.json").read_text(encoding="utf-8"))
    assert document["owner"] == "me" and document["datasets"][0] == mine


def test_base_dir_outside_the_store(store, sentinels, isolated, tmp_path):
    """GADF BASE_DIR (absolute, outside the store) makes every row refused."""
    def change(data, header):
        header.append({"name": "BASE_DIR", "value": str(sentinels), "comment": ""})
        data["FILE_DIR"] = ""

    rewrite_hdu(store.parent / HDU_INDEX, change)
    out = isolated.work / "out"
    outcome = copy(store, out, guard_root=tmp_path)
    assert_finished(outcome, 3)
    assert check_store(out, store.parent) == set()


def test_empty_file_name_points_to_no_file(store, isolated, tmp_path):
    """Rows whose FILE_NAME is empty name no file: left out of the local index (every
    local row points to a whole file), with a warning; their observation is copied."""
    def change(data, header):
        data["FILE_NAME"][(data["OBS_ID"] == 1003) & (data["HDU_TYPE"] == "bkg")] = ""

    rewrite_hdu(store.parent / HDU_INDEX, change)
    out = isolated.work / "out"
    outcome = copy(store, out, guard_root=tmp_path)
    assert_finished(outcome, 0)
    assert check_store(out, store.parent) == set(SIM_IDS)
    hdu = IndexTable.read(out / HDU_INDEX, "HDU")
    assert len(hdu) == 6 * len(SIM_IDS) - 1
    assert "name no file" in Path("csiactcopy.log").read_text(encoding="utf-8")


# -- links inside the local store -----------------------------------------------------------
@pytest.mark.parametrize("clobber", ["yes", "no"])
def test_data_folder_linked_outside(store, sentinels, isolated, tmp_path, clobber):
    """outpath/data -> <tmp>/outside: every data file is refused, the sentinels stay."""
    out = isolated.work / "out"
    out.mkdir()
    (out / "data").symlink_to(sentinels)
    outcome = copy(store, out, f"clobber={clobber}", guard_root=tmp_path)
    assert_finished(outcome, 3)
    assert "refused" in outcome.stderr and "outside" in outcome.stderr
    assert check_store(out, store.parent) == set()


@pytest.mark.parametrize("clobber", ["yes", "no"])
def test_data_file_linked_outside(store, sentinels, isolated, tmp_path, local_template,
                                  clobber):
    """A local data file that is a link to a file outside: replaced by a real copy
    (clobber=yes) or kept (clobber=no); the file outside is never written."""
    out = isolated.work / "out"
    shutil.copytree(local_template, out)
    name = NAME.format(1002)
    (out / "data" / name).unlink()
    (out / "data" / name).symlink_to(sentinels / name)
    outcome = copy(store, out, f"clobber={clobber}", guard_root=tmp_path)
    assert_finished(outcome, 0)
    link = out / "data" / name
    if clobber == "yes":
        assert not link.is_symlink()
        assert check_store(out, store.parent) == set(SIM_IDS)
    else:
        assert link.is_symlink()
        assert "clobber=yes" in outcome.stderr


@pytest.mark.parametrize("what", ["master.json", HDU_INDEX, OBS_INDEX])
def test_index_or_master_linked_outside(store, isolated, tmp_path, local_template, what):
    """A local master or index that is a link to a file outside is read, then replaced by a
    regular file: the file outside is never written."""
    out = isolated.work / "out"
    shutil.copytree(local_template, out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / what).rename(elsewhere / what)
    (out / what).symlink_to(elsewhere / what)
    # A changed entry, so that the master is written too.
    document = json.loads(store.read_text(encoding="utf-8"))
    document["datasets"][0]["note"] = "reprocessed"
    store.write_text(json.dumps(document), encoding="utf-8")
    outcome = copy(store, out, guard_root=tmp_path)
    assert_finished(outcome, 0)
    assert not (out / what).is_symlink()
    assert check_store(out, store.parent) == set(SIM_IDS)


def test_part_file_linked_outside(store, sentinels, isolated, tmp_path):
    """A ``.part`` name that is a link to a file outside is neither followed nor removed."""
    out = isolated.work / "out"
    (out / "data").mkdir(parents=True)
    name = NAME.format(1004)
    (out / "data" / f"{name}.part").symlink_to(sentinels / name)
    outcome = copy(store, out, guard_root=tmp_path)
    assert outcome.status == 3 and "Traceback" not in outcome.stderr
    assert f"data/{name}" in outcome.stderr
    assert (out / "data" / f"{name}.part").is_symlink()
    assert check_store(out, store.parent, clean=False) == set(SIM_IDS) - {1004}


def test_lock_linked_outside(store, sentinels, isolated, tmp_path):
    """The lock file as a link to a file outside: refused, the file outside kept (exit 1)."""
    out = isolated.work / "out"
    out.mkdir()
    (out / LOCK_NAME).symlink_to(sentinels / "master.json")
    guard = Guard(tmp_path, store.parent)
    outcome = run_tool("csiactcopy", f"remote_master={store}", f"prodname={SIM_NAME}",
                       f"outpath={out}", "mode=h")
    guard.check()
    assert (sentinels / "master.json").read_text(encoding="utf-8") == '{"datasets": []}'
    assert_error(outcome, 1, "Cannot lock the local store", LOCK_NAME)
    assert check_store(out, store.parent) == set()


# -- names with newlines ----------------------------------------------------------------------
@pytest.mark.parametrize("where", ["file-name", "file-dir"])
def test_names_with_newlines(store, isolated, tmp_path, where):
    """Remote files and folders whose names hold a newline are copied like others; every
    log line keeps its time stamp."""
    import re

    remote = store.parent
    name = NAME.format(1006)
    if where == "file-name":
        odd = "run\n1006.fits.gz"
        (remote / "data" / name).rename(remote / "data" / odd)
        change = set_rows(1006, "data", odd)
        relpath = f"data/{odd}"
    else:
        (remote / "new\nline").mkdir()
        (remote / "data" / name).rename(remote / "new\nline" / name)
        change = set_rows(1006, "new\nline", name)
        relpath = f"new\nline/{name}"
    rewrite_hdu(remote / HDU_INDEX, change)
    out = isolated.work / "out"
    outcome = copy(store, out, "chatter=4", guard_root=tmp_path)
    assert_finished(outcome, 0)
    assert (out / relpath).read_bytes() == (remote / relpath).read_bytes()
    assert check_store(out, remote) == set(SIM_IDS)
    stamp = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}: ")
    lines = Path("csiactcopy.log").read_text(encoding="utf-8").splitlines()
    assert all(stamp.match(line) for line in lines)


@pytest.mark.parametrize("value", ["remote_master", "outpath", "prodname"])
def test_parameter_values_with_newlines_are_refused(store, isolated, tmp_path, value):
    """A path with a newline cannot be given: the parameter refuses it (exit 2)."""
    args = {"remote_master": str(store), "prodname": SIM_NAME, "outpath": "out"}
    args[value] = args[value] + "\nx"
    guard = Guard(tmp_path, store.parent)
    outcome = run_tool("csiactcopy", *[f"{k}={v}" for k, v in args.items()], "mode=h")
    guard.check()
    assert_error(outcome, 2, f'"{value}"', "newline")
    assert not (isolated.work / "out").exists()


# -- the remote master given through a link ----------------------------------------------------
def test_master_linked_within_its_store(store, isolated, tmp_path):
    """master.json -> master-2024.json in the same folder: the store is read as usual."""
    remote = store.parent
    store.rename(remote / "master-2024.json")
    store.symlink_to("master-2024.json")
    out = isolated.work / "out"
    assert_finished(copy(store, out, guard_root=tmp_path), 0)
    assert check_store(out, remote) == set(SIM_IDS)


def test_master_linked_from_another_folder(store, isolated, tmp_path):
    """<tmp>/links/master.json -> the store's master: index paths are relative to the link's
    folder (as gammapy reads them), so the indexes are not found there (exit 1)."""
    links = tmp_path / "links"
    links.mkdir()
    (links / "master.json").symlink_to(store)
    out = isolated.work / "out"
    outcome = copy(links / "master.json", out, guard_root=tmp_path, remote=store.parent)
    assert_error(outcome, 1, str(links / HDU_INDEX), "not found")
    assert not out.exists()


def test_link_farm_leading_into_the_store_is_refused(store, isolated, tmp_path):
    """A folder of links to the store's files is no store: the links lead outside it."""
    links = tmp_path / "links"
    links.mkdir()
    for name in ("master.json", HDU_INDEX, OBS_INDEX, "data"):
        (links / name).symlink_to(store.parent / name)
    out = isolated.work / "out"
    outcome = copy(links / "master.json", out, guard_root=tmp_path, remote=store.parent)
    assert_error(outcome, 1, "outside")
    assert not out.exists()


@pytest.mark.parametrize("through", ["linked-folder", "linked-master"])
def test_outpath_in_the_real_store_behind_a_link_is_refused(store, isolated, tmp_path,
                                                            through):
    """The store named through a link, outpath inside the real store: refused (exit 1),
    nothing is written into it."""
    remote = store.parent
    if through == "linked-folder":
        (tmp_path / "mnt").symlink_to(remote)
        master = tmp_path / "mnt" / "master.json"
    else:
        master = remote / "current.json"
        master.symlink_to("master.json")
    runlist = isolated.work / "r.lis"
    runlist.write_text("".join(f"{obs_id}\n" for obs_id in LOCAL_IDS), encoding="utf-8")
    guard = Guard(tmp_path, remote)
    outcome = run_tool("csiactcopy", f"remote_master={master}", f"prodname={SIM_NAME}",
                       f"outpath={remote / 'copy'}", f"runlist={runlist}", "mode=h")
    guard.check()
    assert_error(outcome, 1, "lies in the remote store")
    assert not (remote / "copy").exists()


def test_copy_onto_itself_through_a_link(store, isolated, tmp_path):
    """outpath is a link to the remote store folder: refused, the remote indexes untouched."""
    remote = store.parent
    (isolated.work / "out").symlink_to(remote)
    guard = Guard(tmp_path, remote)
    outcome = run_tool("csiactcopy", f"remote_master={store}", f"prodname={SIM_NAME}",
                       f"outpath={isolated.work / 'out'}", "mode=h")
    guard.check()
    assert_error(outcome, 1, "lies in the remote store")
