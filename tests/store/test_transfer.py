"""Tests of the file-transfer engine: iactcopy.store.access.sources,
iactcopy.store.transfer.plan and iactcopy.store.transfer.copyfiles."""

from __future__ import annotations

import errno
import fcntl
import functools
import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import iactcopy
from iactcopy.store.access import sources
from iactcopy.store.access.sources import FileInfo, LocalSource, Source, UnsafePath, check_relpath
from iactcopy.store.transfer import copyfiles as transfer
from iactcopy.store.transfer.copyfiles import NO_CALLBACK, Callback, copy_files
from iactcopy.store.transfer.partfiles import PART_MODE
from iactcopy.store.transfer.plan import ACTIONS, OUTCOMES, CopyPlan, Outcome, plan_copy

MIB = 1 << 20
BASE_NS = 1_600_000_000_123_456_789  # remote mtimes, with a nanosecond part

# Remote files of the small tree: relative path -> size in bytes.
SIZES = {
    "README.txt": 300,
    "data/empty.fits": 0,
    "data/run_020136.fits.gz": 3 * MIB + 17,
    "data/run_020137.fits.gz": 12 * MIB + 5,  # more than one kernel copy piece
    "data/sub/irf.fits.gz": 40_000,
    "index/hdu-index.fits.gz": 5_000,
}
PROJECT_ROOT = str(Path(iactcopy.__file__).resolve().parent.parent)


@functools.cache
def content(relpath: str, size: int) -> bytes:
    """Deterministic bytes, different for every file and every MiB."""
    seed = relpath.encode() + b"|"
    block = (seed * (MIB // len(seed) + 1))[:MIB]
    out = bytearray()
    n = 0
    while len(out) < size:
        out += n.to_bytes(8, "little") + block[8:]
        n += 1
    return bytes(out[:size])


def write_file(root: Path, relpath: str, data: bytes, mtime_ns: int | None = None) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A small remote store; file k has mtime BASE_NS + k seconds."""
    root = tmp_path / "remote"
    for k, (relpath, size) in enumerate(sorted(SIZES.items())):
        write_file(root, relpath, content(relpath, size), BASE_NS + k * 10**9)
    (root / "data/sub/irf.fits.gz").chmod(0o444)
    return root


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "local"


def tree(root: Path) -> dict:
    """relative path -> bytes, for every file (not link) below root."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def parts(root: Path) -> list:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.part"))


def marked_part(path: Path, data: bytes = b"") -> int:
    """Create *path* as iactcopy makes a ``.part`` (mode PART_MODE); return a descriptor."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PART_MODE)
    os.fchmod(fd, PART_MODE)
    os.write(fd, data)
    return fd


def copy(remote: Path, out: Path, relpaths=None, *, clobber=False, nthreads=1,
         callback=NO_CALLBACK, source=None):
    source = source or LocalSource(remote)
    plan = plan_copy(source, sorted(SIZES) if relpaths is None else relpaths, out,
                     clobber=clobber, nthreads=nthreads)
    return plan, copy_files(plan, source, nthreads=nthreads, callback=callback)


class Recorder(Callback):
    def __init__(self):
        self.size = None
        self.updates = []
        self.done = []

    def set_size(self, total_bytes):
        self.size = total_bytes

    def relative_update(self, nbytes):
        self.updates.append(nbytes)

    def file_done(self, entry, outcome):
        self.done.append((entry.relpath, outcome))


# ---------------------------------------------------------------- relative paths

@pytest.mark.parametrize("relpath, norm", [
    ("a/b.fits", "a/b.fits"),
    ("./a//b/./c.fits", "a/b/c.fits"),
    ("a/../b.fits", "b.fits"),
    ("a..b/c", "a..b/c"),
])
def test_check_relpath_normalises(relpath, norm):
    assert check_relpath(relpath) == norm


@pytest.mark.parametrize("relpath", ["", ".", "a/..", "..", "../x", "a/../../x", "/etc/passwd",
                                     "//x", "a\0b"])
def test_check_relpath_refuses(relpath):
    with pytest.raises(UnsafePath) as info:
        check_relpath(relpath)
    assert isinstance(info.value, ValueError)
    assert info.value.relpath == relpath


def test_local_source_info_and_primitives(remote: Path, tmp_path: Path):
    source = LocalSource(remote)
    st = os.stat(remote / "data/run_020136.fits.gz")
    info = source.info("data/run_020136.fits.gz")
    assert (info.size, info.mtime_ns, info.mode) == (st.st_size, st.st_mtime_ns, 0o644)
    assert info.mtime == st.st_mtime
    with source.open("README.txt") as stream:
        assert stream.read() == content("README.txt", 300)
    with pytest.raises(FileNotFoundError):
        source.info("data/none.fits")
    assert source.local_path("data/none.fits") == os.path.realpath(remote / "data/none.fits")
    assert source.local_path("new/none.fits") == os.path.realpath(remote / "new/none.fits")
    with pytest.raises(IsADirectoryError):
        source.info("data")
    with pytest.raises(UnsafePath):
        source.open("../remote/README.txt")
    # A path, and a buffered file object, as copy destinations.
    relpath = "data/run_020137.fits.gz"
    assert source.copy_to(relpath, tmp_path / "x.bin") == SIZES[relpath]
    assert (tmp_path / "x.bin").read_bytes() == (remote / relpath).read_bytes()
    buffer = io.BytesIO()
    assert source.copy_to(relpath, buffer) == SIZES[relpath]
    assert buffer.getvalue() == (remote / relpath).read_bytes()


@pytest.mark.parametrize("broken", [["copy_file_range"], ["copy_file_range", "sendfile"]])
def test_local_source_falls_back_to_slower_copies(remote, tmp_path, monkeypatch, broken):
    def refuse(*args):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    for name in broken:
        monkeypatch.setattr(sources.os, name, refuse, raising=False)
    relpath = "data/run_020137.fits.gz"
    updates = Recorder()
    assert LocalSource(remote).copy_to(relpath, tmp_path / "x", updates) == SIZES[relpath]
    assert (tmp_path / "x").read_bytes() == (remote / relpath).read_bytes()
    assert sum(updates.updates) == SIZES[relpath]


def test_local_source_refuses_a_fifo(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(OSError, match="not a regular file"):
        LocalSource(tmp_path).open("fifo")


# ---------------------------------------------------------------- copying

def test_full_copy_is_identical_and_keeps_times(remote: Path, out: Path):
    plan, report = copy(remote, out)
    assert [e.action for e in plan.entries] == ["copy"] * len(SIZES)
    assert plan.bytes_to_copy == sum(SIZES.values())
    assert tree(out) == tree(remote)
    assert report.complete and report.problems == []
    assert sorted(report.copied) == sorted(SIZES)
    assert report.bytes_copied == sum(SIZES.values())
    assert report.counts == {"copied": len(SIZES), "up to date": 0, "kept": 0, "missing": 0,
                             "refused": 0, "failed": 0}
    for relpath in SIZES:
        assert os.stat(out / relpath).st_mtime_ns == os.stat(remote / relpath).st_mtime_ns
    # Remote permission bits kept, owner write added, nothing forced (ctools
    # forced 0644).
    assert (out / "data/sub/irf.fits.gz").stat().st_mode & 0o777 == 0o644
    assert parts(out) == []


def test_rerun_copies_nothing(remote: Path, out: Path):
    copy(remote, out)
    plan, report = copy(remote, out, clobber=True)
    assert plan.counts["up to date"] == len(SIZES) and plan.bytes_to_copy == 0
    assert report.copied == {} and report.bytes_copied == 0
    assert sorted(report.up_to_date) == sorted(SIZES)
    assert report.complete


def test_clobber_yes_recopies_a_truncated_file(remote: Path, out: Path):
    copy(remote, out)
    damaged = out / "data/run_020136.fits.gz"
    os.truncate(damaged, 10)
    _, report = copy(remote, out, clobber=True)
    assert list(report.copied) == ["data/run_020136.fits.gz"]
    assert "size differs" in report.copied["data/run_020136.fits.gz"]
    assert len(report.up_to_date) == len(SIZES) - 1
    assert tree(out) == tree(remote)


def test_clobber_no_keeps_a_differing_file(remote: Path, out: Path):
    copy(remote, out)
    damaged = out / "data/run_020136.fits.gz"
    os.truncate(damaged, 10)
    _, report = copy(remote, out, clobber=False)
    assert list(report.kept) == ["data/run_020136.fits.gz"]
    assert "size differs (local 10," in report.kept["data/run_020136.fits.gz"]
    assert report.copied == {}
    assert damaged.stat().st_size == 10
    assert report.complete  # a kept file is not a problem, it is counted apart


@pytest.mark.parametrize("shift, clobber, action", [
    (0.4, False, "up to date"),  # within the 1 s tolerance
    (-1.0, True, "up to date"),
    (5.0, False, "kept"),  # differs in time only: clobber=no never replaces it
    (5.0, True, "copy"),
])
def test_modification_time_rules(remote, out, shift, clobber, action):
    copy(remote, out)
    local = out / "README.txt"
    mtime_ns = local.stat().st_mtime_ns + round(shift * 1e9)
    os.utime(local, ns=(mtime_ns, mtime_ns))
    plan = plan_copy(LocalSource(remote), ["README.txt"], out, clobber=clobber)
    assert [e.action for e in plan.entries] == [action]


def test_remote_without_times_compares_sizes(remote, out):
    class NoTimes(LocalSource):
        def info(self, relpath):
            return FileInfo(super().info(relpath).size, None)

    copy(remote, out)
    plan = plan_copy(NoTimes(remote), sorted(SIZES), out, clobber=True)
    assert plan.counts["up to date"] == len(SIZES)


def test_missing_remote_file_is_reported_and_others_copied(remote, out):
    relpaths = [*SIZES, "data/run_999999.fits.gz"]
    _, report = copy(remote, out, relpaths)
    assert report.missing == {"data/run_999999.fits.gz": "not found in the remote store"}
    assert len(report.copied) == len(SIZES)
    assert not report.complete
    assert report.problems == [("data/run_999999.fits.gz",
                                "missing: not found in the remote store")]
    assert not (out / "data/run_999999.fits.gz").exists()


class Unreadable(LocalSource):
    """A store whose README the server will not give: *code* on looking it up (as root,
    a mode-000 file is readable, so the error is injected)."""

    def __init__(self, root, code):
        super().__init__(root)
        self.code = code

    def info(self, relpath):
        if relpath == "README.txt":
            raise OSError(self.code, os.strerror(self.code), str(self.root / Path(relpath)))
        return super().info(relpath)


@pytest.mark.parametrize("code", [errno.EACCES, errno.EIO], ids=errno.errorcode.get)
def test_unreadable_remote_file_is_refused_not_missing(remote, out, code):
    _, report = copy(remote, out, source=Unreadable(remote, code))
    assert report.missing == {}
    why = f"cannot be read: {os.strerror(code)}: {remote / 'README.txt'}"
    assert report.refused == {"README.txt": why}
    assert report.problems == [("README.txt", f"refused: {why}")]
    assert len(report.copied) == len(SIZES) - 1 and not report.complete
    assert not (out / "README.txt").exists()


def test_outcomes_read_as_their_words():
    assert [str(o) for o in OUTCOMES] == ["copied", "up to date", "kept", "missing", "refused",
                                          "failed"]
    assert [f"{a}" for a in ACTIONS] == ["copy", "up to date", "kept", "missing", "refused"]
    assert json.dumps({Outcome.UP_TO_DATE: [Outcome.KEPT]}) == '{"up to date": ["kept"]}'
    assert {Outcome.MISSING: 1} == {"missing": 1} and Outcome("failed") is Outcome.FAILED
    plan = CopyPlan("/nowhere", False, [])
    assert repr(plan.counts) == ("{'copy': 0, 'up to date': 0, 'kept': 0, 'missing': 0, "
                                 "'refused': 0}")
    assert plan.counts[Outcome.KEPT] == 0


class Recording(LocalSource):
    """Notes the thread of each look-up; *network* stands for a URL or a network mount."""

    def __init__(self, root, network):
        super().__init__(root)
        self.network = network
        self.threads = set()

    @property
    def network_lookups(self):
        return self.network

    def info(self, relpath):
        self.threads.add(threading.current_thread().name)
        return super().info(relpath)


@pytest.mark.parametrize("network", [False, True])
def test_look_ups_run_in_parallel_only_over_a_network(remote, out, network):
    source = Recording(remote, network)
    plan = plan_copy(source, sorted(SIZES), out, nthreads=3)
    assert [e.relpath for e in plan.entries] == sorted(SIZES)
    assert plan.counts["copy"] == len(SIZES)
    if network:
        assert source.threads and all(re.fullmatch(r"iactcopy-plan-[0-2]", name)
                                      for name in source.threads)
    else:
        assert source.threads == {threading.current_thread().name}


def test_failing_parallel_look_up_stops_the_plan(remote, out):
    class Broken(Recording):
        def info(self, relpath):
            if relpath == "data/empty.fits":
                raise KeyboardInterrupt
            return super().info(relpath)

    with pytest.raises(KeyboardInterrupt):
        plan_copy(Broken(remote, True), sorted(SIZES), out, nthreads=2)


def test_remote_vanished_or_changed_after_planning(remote, out):
    source = LocalSource(remote)
    plan = plan_copy(source, sorted(SIZES), out)
    (remote / "README.txt").unlink()
    with open(remote / "data/sub/irf.fits.gz", "ab") as stream:
        stream.write(b"more")
    report = copy_files(plan, source)
    assert sorted(report.failed) == ["README.txt", "data/sub/irf.fits.gz"]
    assert "No such file" in report.failed["README.txt"]
    assert "40004 bytes copied, but the remote file has 40000" in \
        report.failed["data/sub/irf.fits.gz"]
    assert not (out / "README.txt").exists() and not (out / "data/sub/irf.fits.gz").exists()
    assert len(report.copied) == len(SIZES) - 2
    assert parts(out) == []


def test_duplicates_are_copied_once(remote, out):
    plan, report = copy(remote, out, ["README.txt", "./README.txt", "data/../README.txt"])
    assert [e.relpath for e in plan.entries] == ["README.txt"]
    assert list(report.copied) == ["README.txt"]


def test_unsafe_paths_are_refused_and_nothing_is_written_outside(remote, out, tmp_path):
    sentinel = tmp_path / "sentinel"
    write_file(sentinel, "secret.fits", b"secret")
    before = tree(sentinel)
    (remote / "data/escape.fits").symlink_to(sentinel / "secret.fits")
    (remote / "ext").symlink_to(sentinel, target_is_directory=True)
    (remote / "data/inside.fits").symlink_to(remote / "README.txt")
    write_file(remote, "linked/b.fits", b"remote b")
    write_file(remote, "data/x.fits.part", b"a clash with a temporary")
    out.mkdir()
    (out / "linked").symlink_to(sentinel, target_is_directory=True)

    relpaths = ["../x", "/etc/passwd", "data/escape.fits", "ext/secret.fits", "linked/b.fits",
                "data/x.fits.part", ".iactcopy.lock", "data/inside.fits", "README.txt"]
    plan, report = copy(remote, out, relpaths)

    assert sorted(report.refused) == sorted(relpaths[:7])
    assert "absolute" in report.refused["/etc/passwd"]
    assert "leads out" in report.refused["../x"]
    assert "symbolic link" in report.refused["data/escape.fits"]
    assert "symbolic link" in report.refused["ext/secret.fits"]
    assert "outside" in report.refused["linked/b.fits"]
    assert all(e.target is None for e in plan.entries if e.action == "refused")
    assert sorted(report.copied) == ["README.txt", "data/inside.fits"]
    assert not report.complete
    assert tree(sentinel) == before
    assert sorted(tree(out)) == ["README.txt", "data/inside.fits"]


def test_symlinked_folder_inside_outpath_is_allowed(remote, out):
    (out / "store/data").mkdir(parents=True)
    (out / "data").symlink_to(out / "store/data", target_is_directory=True)
    _, report = copy(remote, out, ["data/run_020136.fits.gz"])
    assert list(report.copied) == ["data/run_020136.fits.gz"]
    assert (out / "store/data/run_020136.fits.gz").is_file()


def test_outpath_equal_to_remote_is_up_to_date(remote):
    _, report = copy(remote, remote, clobber=True)
    assert sorted(report.up_to_date) == sorted(SIZES) and report.copied == {}


def test_local_folder_in_the_way_is_refused(remote, out):
    (out / "README.txt").mkdir(parents=True)
    _, report = copy(remote, out, ["README.txt"], clobber=True)
    assert report.refused == {"README.txt": "the local path is a folder"}


def test_four_threads_give_the_same_result(remote, tmp_path):
    _, one = copy(remote, tmp_path / "one")
    _, four = copy(remote, tmp_path / "four", nthreads=4)
    assert four.copied == one.copied and four.bytes_copied == one.bytes_copied
    assert tree(tmp_path / "four") == tree(remote)
    assert parts(tmp_path / "four") == []


@pytest.mark.parametrize("nthreads", [0, -1, 1.5, True])
def test_bad_nthreads_is_refused(remote, out, nthreads):
    with pytest.raises(ValueError, match="nthreads"):
        copy(remote, out, nthreads=nthreads)


def test_portable_source_copies_through_open(remote, out):
    """A source with only info() and open(), as a URL source will have."""

    class Portable(Source):
        def __init__(self, root):
            self.root = str(root)
            self.local = LocalSource(root)

        def info(self, relpath):
            return self.local.info(relpath)

        def open(self, relpath):
            return self.local.open(relpath)

    _, report = copy(remote, out, nthreads=2, source=Portable(remote))
    assert report.complete and tree(out) == tree(remote)


def test_progress_is_weighted_by_bytes(remote, out):
    copy(remote, out, ["README.txt"])
    recorder = Recorder()
    plan, _ = copy(remote, out, [*SIZES, "nope.fits"], callback=recorder, nthreads=2)
    assert recorder.size == plan.bytes_to_copy == sum(SIZES.values()) - SIZES["README.txt"]
    assert sum(recorder.updates) == recorder.size
    assert all(n > 0 for n in recorder.updates)
    nonempty = [e for e in plan.to_copy if e.size]
    assert len(recorder.updates) == len(nonempty) + 1  # the 12 MiB file moves the bar twice
    assert sorted(recorder.done) == sorted(
        [(p, "copied") for p in SIZES if p != "README.txt"]
        + [("README.txt", "up to date"), ("nope.fits", "missing")])
    assert {o for _, o in recorder.done} <= set(OUTCOMES)
    assert set(plan.counts) == set(ACTIONS)


def test_failed_progress_still_adds_up(remote, out):
    class Failing(LocalSource):
        def copy_to(self, relpath, dest, callback=None):
            raise OSError(errno.EIO, "Input/output error")

    recorder = Recorder()
    _, report = copy(remote, out, callback=recorder, source=Failing(remote))
    assert len(report.failed) == len(SIZES)
    assert sum(recorder.updates) == recorder.size


# ---------------------------------------------------------------- failures and interruptions

def test_full_disk_keeps_the_old_file_and_leaves_no_part(remote, out):
    copy(remote, out)
    target = out / "data/run_020137.fits.gz"
    old = b"an older version"
    write_file(out, "data/run_020137.fits.gz", old)

    class DiskFull(LocalSource):
        def copy_to(self, relpath, dest, callback=None):
            if relpath != "data/run_020137.fits.gz":
                return super().copy_to(relpath, dest, callback)
            dest.write(b"x" * 1000)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    _, report = copy(remote, out, clobber=True, source=DiskFull(remote))
    assert list(report.failed) == ["data/run_020137.fits.gz"]
    assert "No space left on device" in report.failed["data/run_020137.fits.gz"]
    assert target.read_bytes() == old
    assert parts(out) == []


@pytest.mark.skipif(not hasattr(os, "copy_file_range"), reason="no copy_file_range")
def test_full_disk_in_the_kernel_copy(remote, out, monkeypatch):
    real = os.copy_file_range
    calls = []

    def fill_up(src, dst, count, *args):
        calls.append(count)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(src, dst, count, *args)

    monkeypatch.setattr(sources.os, "copy_file_range", fill_up)
    _, report = copy(remote, out, ["data/run_020137.fits.gz"])
    assert "No space left on device" in report.failed["data/run_020137.fits.gz"]
    assert not (out / "data/run_020137.fits.gz").exists()
    assert parts(out) == []


def test_ctrl_c_in_one_thread_leaves_no_part(remote, out):
    class Interrupt(Callback):
        def relative_update(self, nbytes):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        copy(remote, out, ["data/run_020137.fits.gz"], callback=Interrupt())
    assert parts(out) == [] and not (out / "data/run_020137.fits.gz").exists()


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="SIGINT is handled by someone else")
def test_ctrl_c_with_threads_stops_promptly(tmp_path, out):
    remote = tmp_path / "many"
    for k in range(12):
        write_file(remote, f"f{k:02d}.bin", content(str(k), 9 * MIB))
    sent = []

    class SigInt(Callback):
        def relative_update(self, nbytes):
            if not sent:
                os.kill(os.getpid(), signal.SIGINT)
            sent.append(nbytes)
            time.sleep(0.05)

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        copy(remote, out, sorted(tree(remote)), nthreads=3, callback=SigInt())
    assert time.monotonic() - start < 3
    assert parts(out) == []
    assert len(tree(out)) < 12


def test_stale_parts_are_removed_by_a_completed_run(remote, out):
    copy(remote, out)
    stale = [out / "data/run_020136.fits.gz.part", out / "data/sub/other.fits.part"]
    for path in stale:
        os.close(marked_part(path, b"left by a killed run"))
    foreign = out / "data/.hdu-index.fits.gz.k3j2a9.part"  # an atomicfile temporary
    foreign.write_bytes(b"being written under the store lock")
    held = out / "data/run_000001.fits.part"
    untouched_folder = out / "elsewhere/x.part"
    os.close(marked_part(untouched_folder, b"not in a folder this run used"))
    fd = marked_part(held, b"being written by a live process")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _, report = copy(remote, out)
        assert report.copied == {}
        assert not any(path.exists() for path in stale)
        assert foreign.exists() and held.exists() and untouched_folder.exists()
    finally:
        os.close(fd)


def test_a_copy_waits_for_another_process_and_takes_its_result(remote, out):
    relpath = "data/run_020137.fits.gz"
    source = LocalSource(remote)
    plan = plan_copy(source, [relpath], out)
    part = out / (relpath + ".part")
    fd = marked_part(part)  # the "other process"
    fcntl.flock(fd, fcntl.LOCK_EX)
    result = {}
    worker = threading.Thread(target=lambda: result.update(report=copy_files(plan, source)))
    worker.start()
    try:
        time.sleep(0.3)
        assert worker.is_alive()  # waiting for the lock
        os.write(fd, (remote / relpath).read_bytes())
        mtime_ns = os.stat(remote / relpath).st_mtime_ns
        os.utime(fd, ns=(mtime_ns, mtime_ns))
        os.replace(part, out / relpath)
    finally:
        os.close(fd)
    worker.join(10)
    report = result["report"]
    assert list(report.up_to_date) == [relpath]
    assert "another process" in report.up_to_date[relpath]
    assert report.copied == {} and parts(out) == []
    assert tree(out) == {relpath: (remote / relpath).read_bytes()}


def test_a_copy_takes_over_the_part_of_a_process_that_died(remote, out):
    relpath = "data/run_020136.fits.gz"
    source = LocalSource(remote)
    plan = plan_copy(source, [relpath], out)
    part = out / (relpath + ".part")
    fd = marked_part(part, b"garbage" * 1000)
    fcntl.flock(fd, fcntl.LOCK_EX)
    result = {}
    worker = threading.Thread(target=lambda: result.update(report=copy_files(plan, source)))
    worker.start()
    time.sleep(0.2)
    os.close(fd)  # dies without finishing
    worker.join(10)
    assert list(result["report"].copied) == [relpath]
    assert tree(out) == {relpath: (remote / relpath).read_bytes()}


# ---------------------------------------------------------------- other processes

CHILD = textwrap.dedent("""
    import json, os, sys, time
    sys.path.insert(0, {root!r})
    from iactcopy.store.access.sources import LocalSource
    from iactcopy.store.transfer.copyfiles import Callback, copy_files
    from iactcopy.store.transfer.plan import plan_copy

    remote, out, relpaths, go, nthreads, pause = sys.argv[1:7]

    class Slow(Callback):
        def relative_update(self, nbytes):
            with open(go + ".started", "a"):
                pass
            time.sleep(float(pause))

    while not os.path.exists(go):
        time.sleep(0.005)
    source = LocalSource(remote)
    plan = plan_copy(source, json.loads(relpaths), out)
    report = copy_files(plan, source, nthreads=int(nthreads), callback=Slow())
    print(json.dumps({{"complete": report.complete, "copied": list(report.copied),
                      "up_to_date": list(report.up_to_date)}}))
""").format(root=PROJECT_ROOT)


def start_child(remote, out, relpaths, go, *, nthreads=1, pause=0.0):
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(remote), str(out), json.dumps(relpaths), str(go),
         str(nthreads), str(pause)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_leaves_no_truncated_file_and_a_rerun_completes(tmp_path, out):
    remote = tmp_path / "remote"
    relpath = "data/big.fits"
    data = content(relpath, 64 * MIB + 123)
    write_file(remote, relpath, data, BASE_NS)
    go = tmp_path / "go"
    go.touch()
    child = start_child(remote, out, [relpath], go, pause=0.2)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"{go}.started").exists():  # after the first piece is written
            assert time.monotonic() < deadline and child.poll() is None, child.stderr.read()
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert not (out / relpath).exists()
    assert 0 < (out / (relpath + ".part")).stat().st_size < len(data)

    plan, report = copy(remote, out, [relpath], clobber=False)
    assert [e.action for e in plan.entries] == ["copy"]
    assert list(report.copied) == [relpath]
    assert (out / relpath).read_bytes() == data
    assert os.stat(out / relpath).st_mtime_ns == BASE_NS
    assert parts(out) == []


def test_two_processes_copy_overlapping_files_into_one_folder(tmp_path, out):
    remote = tmp_path / "remote"
    names = [f"data/run_{k:03d}.fits" for k in range(24)]
    for k, name in enumerate(names):
        write_file(remote, name, content(name, MIB + 1000 * k), BASE_NS + k)
    write_file(remote, "irf/shared_irf.fits", content("irf", 3 * MIB), BASE_NS)
    first = [*names[:16], "irf/shared_irf.fits"]
    second = [*names[8:], "irf/shared_irf.fits"]
    go = tmp_path / "go"
    children = [start_child(remote, out, first, go, nthreads=2, pause=0.01),
                start_child(remote, out, second, go, nthreads=2, pause=0.01)]
    go.touch()
    reports = []
    for child in children:
        stdout, stderr = child.communicate(timeout=60)
        assert child.returncode == 0, stderr
        reports.append(json.loads(stdout))
    assert all(r["complete"] for r in reports)
    copied = [p for r in reports for p in r["copied"]]
    assert sorted(copied) == sorted(set(first) | set(second))  # each file copied once
    assert tree(out) == tree(remote)
    assert parts(out) == []


# ---------------------------------------------------------------- a hostile local side

def test_folder_swapped_for_a_link_while_copying(remote, out, tmp_path):
    """A folder of outpath replaced by a link to a folder outside, after the first file in
    it was copied: nothing is written through the link; the later files are refused."""
    victim = tmp_path / "victim"
    write_file(victim, "keep.txt", b"the user's")
    before = tree(victim)
    swapped = []

    class Swap(LocalSource):
        def copy_to(self, relpath, dest, callback=None):
            if relpath.startswith("data/") and not swapped and (out / "data").is_dir():
                (out / "data").rename(out / "moved")
                (out / "data").symlink_to(victim, target_is_directory=True)
                swapped.append(relpath)
            return super().copy_to(relpath, dest, callback)

    relpaths = ["data/empty.fits", "data/run_020136.fits.gz", "data/run_020137.fits.gz",
                "data/sub/irf.fits.gz"]
    _, report = copy(remote, out, relpaths, source=Swap(remote))
    assert swapped == ["data/empty.fits"]
    assert tree(victim) == before
    # The file being copied at the swap went into the folder it was begun in.
    assert (out / "moved/empty.fits").read_bytes() == b""
    assert sorted(report.refused) == relpaths[1:]
    assert all("outside" in why for why in report.refused.values())


def test_folder_swapped_for_a_link_inside_outpath_is_followed(remote, out):
    (out / "data").mkdir(parents=True)
    (out / "store").mkdir()
    (out / "data").rename(out / "store/data")
    (out / "data").symlink_to("store/data", target_is_directory=True)
    _, report = copy(remote, out, ["data/sub/irf.fits.gz"])
    assert list(report.copied) == ["data/sub/irf.fits.gz"]
    assert (out / "store/data/sub/irf.fits.gz").is_file()


def test_stale_part_that_is_a_hard_link_to_a_file_elsewhere(remote, out, tmp_path):
    """A ``.part`` that is another name of a file outside: that file keeps its bytes and
    mode, the name is left, and the copy fails naming it."""
    victim = write_file(tmp_path, "victim/secret.txt", b"not to be truncated")
    victim.chmod(0o600)
    (out / "data").mkdir(parents=True)
    os.link(victim, out / "data/run_020136.fits.gz.part")
    _, report = copy(remote, out, ["data/run_020136.fits.gz", "README.txt"])
    assert victim.read_bytes() == b"not to be truncated"
    assert victim.stat().st_mode & 0o777 == 0o600
    assert (out / "data/run_020136.fits.gz.part").exists()
    why = report.failed["data/run_020136.fits.gz"]
    assert "hard link" in why and "run_020136.fits.gz.part" in why
    assert list(report.copied) == ["README.txt"]


@pytest.mark.parametrize("nthreads", [1, 2])
def test_part_that_is_a_fifo_does_not_hang(remote, out, nthreads):
    (out / "data").mkdir(parents=True)
    os.mkfifo(out / "data/run_020136.fits.gz.part")
    _, report = copy(remote, out, nthreads=nthreads)
    assert "a FIFO" in report.failed["data/run_020136.fits.gz"]
    assert sorted(report.copied) == sorted(set(SIZES) - {"data/run_020136.fits.gz"})
    assert (out / "data/run_020136.fits.gz.part").is_fifo()


def test_users_own_part_files_are_never_removed(remote, out):
    """Only .part files with iactcopy's mark are cleaned up; a download or notes ending
    in .part, in folders the run uses, stay."""
    mine = {"firefox-download.iso.part": b"half a download",
            "data/notes.part": b"my notes",
            "data/sub/irf.fits.gz.part": b"the user's, though named like a temporary"}
    for relpath, data in mine.items():
        write_file(out, relpath, data)
    os.close(marked_part(out / "data/other.fits.part", b"left by a killed run"))
    _, report = copy(remote, out)
    for relpath, data in mine.items():
        assert (out / relpath).read_bytes() == data
    assert not (out / "data/other.fits.part").exists()
    assert "not a .part file of iactcopy" in report.failed["data/sub/irf.fits.gz"]


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="SIGINT is handled by someone else")
def test_first_ctrl_c_stops_threads_with_a_copy_stuck_in_a_read(remote, out, monkeypatch):
    """With nthreads > 1, Ctrl-C stops the run at once even while a copy waits on a read
    that does not return (a network that went silent); that copy cleans up when it wakes."""
    monkeypatch.setattr(transfer, "_STOP_GRACE", 0.0)
    release = threading.Event()
    main = threading.main_thread().ident

    class Stuck(LocalSource):
        def copy_to(self, relpath, dest, callback=None):
            if relpath == "data/run_020137.fits.gz":
                dest.write(b"the first bytes")
                signal.pthread_kill(main, signal.SIGINT)
                release.wait()  # does not look at the cancellation
            return super().copy_to(relpath, dest, callback)

    try:
        with pytest.raises(KeyboardInterrupt):
            copy(remote, out, ["data/run_020137.fits.gz", "data/run_020136.fits.gz"],
                 nthreads=2, source=Stuck(remote))
    finally:
        release.set()
        # The copy threads only: an sftp test leaves its client's event loop running.
        for thread in threading.enumerate():
            if re.fullmatch(r"iactcopy-\d+", thread.name):
                thread.join()
    assert parts(out) == []
    assert not (out / "data/run_020137.fits.gz").exists()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EROFS],
                         ids=errno.errorcode.get)
def test_full_disk_stops_the_copy(remote, out, code):
    """A disk that takes no more files: the copy stops, the rest fails with that reason,
    and the report says the local side failed."""
    class Full(LocalSource):
        def copy_to(self, relpath, dest, callback=None):
            if relpath == "data/run_020136.fits.gz":
                raise OSError(code, os.strerror(code))
            return super().copy_to(relpath, dest, callback)

    _, report = copy(remote, out, source=Full(remote))
    assert os.strerror(code) in report.local_error
    assert "run_020136.fits.gz" in report.local_error
    assert sorted(report.copied) == ["README.txt", "data/empty.fits"]
    assert sorted(report.failed) == ["data/run_020136.fits.gz", "data/run_020137.fits.gz",
                                     "data/sub/irf.fits.gz", "index/hdu-index.fits.gz"]
    assert report.failed["index/hdu-index.fits.gz"].startswith("not copied: ")
    assert parts(out) == []


def test_a_complete_part_left_before_its_rename_is_still_ours(remote, out):
    """Killed after the final mode and time were set, before the rename: the .part has the
    remote size and time, which mark it as iactcopy's; a rerun replaces it."""
    relpath = "data/run_020136.fits.gz"
    part = write_file(out, relpath + ".part", (remote / relpath).read_bytes(),
                      os.stat(remote / relpath).st_mtime_ns)
    part.chmod(0o644)
    _, report = copy(remote, out, [relpath])
    assert list(report.copied) == [relpath] and parts(out) == []
