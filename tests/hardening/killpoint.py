"""Run csiactcopy with a kill point: the test harness of ``test_faults.py``, not part of iactcopy.

Usage::

    python killpoint.py PLAN [csiactcopy arguments...]

PLAN is a JSON object.  ``{"count": "<file>"}`` runs the tool to its end and
writes to ``<file>`` how many times each point below was reached.
``{"point": "<name>", "nth": N, "how": "before"|"after"|"inside"}`` sends
SIGKILL to the process itself at the N-th time the point is reached: before
the call, after it, or in the middle of the write it makes (part of the
bytes written, then the kill).  Nothing in iactcopy knows about this: the
points are functions monkeypatched here, before the tool starts.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import signal
import sys
import threading
import types


class _Points:
    """Counts the calls of every point; kills the process at the planned one.

    Each call gets a ticket (its number) when it starts, so that with
    several threads "after" and "inside" still refer to the planned call.
    """

    def __init__(self, plan: dict):
        self.plan = plan
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()

    def _planned(self, name: str, how: str, ticket: int) -> bool:
        plan = self.plan
        return plan.get("point") == name and plan.get("how") == how and plan.get("nth") == ticket

    def enter(self, name: str) -> int:
        """A call of *name* starts: count it, kill if planned "before"; return its ticket."""
        with self.lock:
            ticket = self.counts[name] = self.counts.get(name, 0) + 1
        if self._planned(name, "before", ticket):
            _die()
        return ticket

    def leave(self, name: str, ticket: int) -> None:
        """The call *ticket* of *name* returned: kill if planned "after"."""
        if self._planned(name, "after", ticket):
            _die()

    def inside(self, name: str, ticket: int) -> bool:
        """Whether the call *ticket* of *name* is to die in the middle of its write."""
        return self._planned(name, "inside", ticket)


POINTS: _Points


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _wrap(owner, attribute: str, name: str) -> None:
    """Replace ``owner.attribute`` by a function entering and leaving the point *name*."""
    real = getattr(owner, attribute)

    @functools.wraps(real)
    def hooked(*args, **kwargs):
        ticket = POINTS.enter(name)
        result = real(*args, **kwargs)
        POINTS.leave(name, ticket)
        return result

    setattr(owner, attribute, hooked)


class _ModuleProxy(types.ModuleType):
    """A stand-in for ``os`` in one module, with some functions replaced."""

    def __init__(self, module, **replaced):
        super().__init__(module.__name__)
        self._module = module
        self.__dict__.update(replaced)

    def __getattr__(self, name):
        return getattr(self._module, name)


def _half_then_kill(fd_in: int, fd_out: int, size: int) -> None:
    """Copy about half of a data file, then die: a .part holds a truncated copy."""
    data = os.read(fd_in, max(1, size // 2))
    os.write(fd_out, data)
    _die()


def install(plan: dict) -> None:
    """Put every point in place."""
    global POINTS
    POINTS = _Points(plan)

    from iactcopy import atomicfile
    from iactcopy.store.access import sources
    from iactcopy.store.fits import tablewrite as fitswrite
    from iactcopy.store.index import files as indexfile
    from iactcopy.store.index import tables as indextables
    from iactcopy.store.local import store as localstore
    from iactcopy.store.transfer import copyfiles as transfer
    from iactcopy.store.transfer import partfiles

    # -- copying ------------------------------------------------------------
    _wrap(sources.LocalSource, "info", "plan.info")
    real_copy = sources._copy_fds

    def copy_fds(fd_in, fd_out, size, callback):
        ticket = POINTS.enter("copy.data")
        if POINTS.inside("copy.data", ticket):
            _half_then_kill(fd_in, fd_out, size)
        return real_copy(fd_in, fd_out, size, callback)

    sources._copy_fds = copy_fds
    _wrap(transfer, "_finish_metadata", "copy.finish")
    real_replace = os.replace

    def data_replace(src, dst, **kwargs):
        ticket = POINTS.enter("copy.rename")
        real_replace(src, dst, **kwargs)
        POINTS.leave("copy.rename", ticket)

    transfer.os = _ModuleProxy(os, replace=data_replace)
    _wrap(partfiles, "_remove_if_unused", "copy.cleanup")

    # -- the index update -----------------------------------------------------
    real_lock = localstore.store_lock

    @contextlib.contextmanager
    def store_lock(outpath, **kwargs):
        with real_lock(outpath, **kwargs):
            POINTS.enter("index.lock")
            yield

    localstore.store_lock = store_lock
    _wrap(localstore, "merge_index_file", "index.merge")
    _wrap(indextables.fitsio, "FITS", "fits.open")
    real_atomic = atomicfile.atomic_write

    class _Stream:
        def __init__(self, stream, name, ticket):
            self.stream, self.name, self.ticket = stream, name, ticket

        def write(self, data):
            if POINTS.inside(self.name, self.ticket):
                self.stream.write(data[: len(data) // 2])
                self.stream.flush()
                _die()
            return self.stream.write(data)

        def __getattr__(self, attribute):
            return getattr(self.stream, attribute)

    @contextlib.contextmanager
    def atomic_write(path, mode="w", **kwargs):
        base = os.path.basename(path)
        name = ("master.write" if base == "master.json" else
                "index.write" if base.endswith((".fits", ".fits.gz")) else "other.write")
        ticket = POINTS.enter(name)
        with real_atomic(path, mode, **kwargs) as stream:
            yield _Stream(stream, name, ticket)
        POINTS.leave(name, ticket)

    atomicfile.atomic_write = atomic_write
    fitswrite.atomic_write = atomic_write
    indexfile.atomic_write = atomic_write
    atomicfile.os = _ModuleProxy(os, fsync=os.fsync)
    _wrap(atomicfile.os, "fsync", "fsync")
    _wrap(atomicfile.ReplaceTogether, "commit", "index.commit")


def main() -> None:
    plan = json.loads(sys.argv[1])
    install(plan)
    if "count" in plan:
        def save() -> None:
            with open(plan["count"], "w", encoding="utf-8") as stream:
                json.dump(POINTS.counts, stream)
        atexit.register(save)
    from iactcopy.tools.csiactcopy import main as csiactcopy

    sys.argv = ["csiactcopy", *sys.argv[2:]]
    csiactcopy()


if __name__ == "__main__":
    main()
