"""The locks of iactcopy (iactcopy.filelocks): an flock that leaves its file and content alone.

The store lock keeps the stamp of a rerun with nothing to do in its file, so
taking and releasing a lock must never empty or delete it; a lock held
elsewhere is waited for up to a timeout, and a lock file that is no regular
file is refused, never followed or waited on.
"""

from __future__ import annotations

import fcntl
import os

import pytest

from iactcopy.errors import DataStoreError
from iactcopy.filelocks import LockTimeout, locked_file
from iactcopy.store.layout import LOCK_NAME
from iactcopy.store.local.lock import shared_note, store_lock, write_note


@pytest.fixture
def held_elsewhere(tmp_path):
    """``held_elsewhere(path, operation)``: hold an flock on *path* through another open file."""
    opened: list[int] = []

    def hold(path, operation=fcntl.LOCK_EX):
        fd = os.open(path, os.O_RDWR | os.O_CREAT)
        opened.append(fd)
        fcntl.flock(fd, operation)
        return fd

    yield hold
    for fd in opened:
        os.close(fd)


def test_taking_and_releasing_a_lock_keeps_the_file_and_its_content(tmp_path):
    path = tmp_path / "some.lock"
    path.write_text("kept", encoding="utf-8")
    for shared in (False, True, False):
        with locked_file(str(path), timeout=0, shared=shared):
            pass
    assert path.read_text(encoding="utf-8") == "kept"


def test_a_missing_lock_file_is_created_empty_unless_told_not_to(tmp_path):
    with pytest.raises(FileNotFoundError), locked_file(str(tmp_path / "absent.lock"),
                                                       create=False):
        pass
    assert not (tmp_path / "absent.lock").exists()
    with locked_file(str(tmp_path / "new.lock")):
        pass
    assert (tmp_path / "new.lock").read_bytes() == b""


def test_a_lock_held_elsewhere_is_waited_for_until_the_timeout(tmp_path, held_elsewhere):
    path = tmp_path / "busy.lock"
    held_elsewhere(path)
    for timeout in (0, 0.05):
        with pytest.raises(LockTimeout), locked_file(str(path), timeout=timeout):
            pass


def test_shared_locks_go_together_and_keep_an_exclusive_one_out(tmp_path, held_elsewhere):
    path = tmp_path / "shared.lock"
    held_elsewhere(path, fcntl.LOCK_SH)
    with locked_file(str(path), timeout=0, shared=True):
        pass
    with pytest.raises(LockTimeout), locked_file(str(path), timeout=0):
        pass


@pytest.mark.parametrize("kind", ["folder", "link", "fifo"])
def test_a_lock_file_that_is_no_regular_file_is_refused(tmp_path, kind):
    path = tmp_path / "odd.lock"
    if kind == "folder":
        path.mkdir()
    elif kind == "link":
        target = tmp_path / "elsewhere"
        target.write_text("theirs", encoding="utf-8")
        path.symlink_to(target)
    else:
        os.mkfifo(path)
    with pytest.raises(OSError) as caught, locked_file(str(path), timeout=0):
        pass
    assert not isinstance(caught.value, LockTimeout)
    if kind == "link":
        assert (tmp_path / "elsewhere").read_text(encoding="utf-8") == "theirs"


def test_the_store_lock_keeps_its_note_and_a_busy_one_is_a_clear_error(tmp_path,
                                                                     held_elsewhere):
    with store_lock(str(tmp_path), timeout=0) as lock:
        write_note(lock, "a longer note first")
    with store_lock(str(tmp_path), timeout=0) as lock:
        write_note(lock, "the note")
    with store_lock(str(tmp_path), timeout=0):
        pass                                   # an update that writes no note keeps it
    with shared_note(str(tmp_path), max_bytes=100) as note:
        assert note == b"the note"
    with shared_note(str(tmp_path), max_bytes=3) as note:
        assert note is None                    # too large to be read
    held_elsewhere(tmp_path / LOCK_NAME)
    with shared_note(str(tmp_path), max_bytes=100) as note:
        assert note is None                    # a run holds the lock: not waited for
    with pytest.raises(DataStoreError, match="Another run has held the lock"), \
            store_lock(str(tmp_path), timeout=0):
        pass
    assert (tmp_path / LOCK_NAME).read_text(encoding="utf-8") == "the note"
