"""One run of csiactcopy as the store layer does it: select, plan, copy, update, stamp.

:func:`copy_production` is the one call csiactcopy makes.  It returns a
:class:`CopyRun` that holds all the run found and did: the selection, the
plan, the copy report, the index update, and whether it came from the stamp
of the run before.  A tool logs as the run goes, from that object, in the
:class:`RunSteps` calls made between the phases.

There are two ways to a result, and they make the same calls in the same
order with the same kind of object, so that a log cannot tell them apart:

* A rerun whose stamp (:mod:`iactcopy.store.local.stamp`) still holds, and
  whose files are all up to date, takes the selection and the merge counts
  from the stamp and reads no index table: it imports neither numpy nor
  fitsio.  It is tried first, before anything is said, and given up silently.
* Otherwise the remote indexes are read and the local ones merged; a run
  that finds nothing to do and nothing to warn about saves a stamp.

Documentation files (:data:`~iactcopy.store.layout.DOC_FILES`) travel with
any copy but are no data: they are planned when the store has them, and
left out of the counts of data files, here only.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple

from iactcopy.errors import DataStoreError
from iactcopy.store.access.sources import LocalSource, Source
from iactcopy.store.access.urls import local_path
from iactcopy.store.layout import DOC_FILES, LOCK_NAME, check_outpath, local_store_files
from iactcopy.store.local.records import LocalUpdate
from iactcopy.store.local.stamp import Stamp, digest, remote_index_digest
from iactcopy.store.master import Production
from iactcopy.store.runlist import read_runlist
from iactcopy.store.transfer.checkedcopy import CheckedCopy
from iactcopy.store.transfer.copyfiles import Callback, CopyReport
from iactcopy.store.transfer.freespace import check_free_space, free_bytes
from iactcopy.store.transfer.plan import CopyPlan, Outcome, PlanEntry, plan_copy

if TYPE_CHECKING:
    from iactcopy.store.remotestore import RemoteStore, Selection

__all__ = ["STAMP_FILE", "CopyRequest", "CopyRun", "IndexFiles", "RunSteps", "Stop",
           "copy_production"]

#: The file of the local store that keeps the stamp (its lock file).
STAMP_FILE = LOCK_NAME

@dataclass(frozen=True)
class CopyRequest:
    """What to copy, where, and how: the parameters of one run.

    Attributes
    ----------
    remote_master : str
        The remote master file: a path or a URL.
    prodname : str
        The production to copy.
    runlist : str or None
        A run list file; None copies every observation.
    outpath : str
        The local store folder.
    nthreads : int
        Files copied at once.
    clobber : bool
        Whether remote files and rows replace differing local ones.
    timeout : float
        Seconds a remote read may go without progress.
    dryrun : bool
        Plan only: nothing is copied or written.
    verify : bool
        Check the whole content of every file, up-to-date local ones too.
    """

    remote_master: str
    prodname: str
    runlist: str | None
    outpath: str
    nthreads: int = 1
    clobber: bool = False
    timeout: float = 60.0
    dryrun: bool = False
    verify: bool = False

    @property
    def stampable(self) -> bool:
        """Whether a stamp may stand for this run, or be left by it.

        A store read over the network is not stamped: checking its index
        files would mean fetching them, which is most of what a full run
        does (a ``file://`` URL names a local path, and is stamped as that
        path).  A dry run must not clean ``.part`` files as a rerun does;
        verify=yes reads every file, which a stamp exists to avoid.
        """
        return (local_path(self.remote_master) is not None and not self.dryrun
                and not self.verify)

    def stamp_inputs(self, wanted: list[int] | None) -> dict[str, Any]:
        """The parameters a stamp records, with the run list's IDs (*wanted*)."""
        return {"remote_master": os.path.abspath(local_path(self.remote_master)),
                "prodname": self.prodname, "outpath": os.path.abspath(self.outpath),
                "clobber": self.clobber, "runlist": wanted}


class Stop(Enum):
    """Why a run ended before copying."""

    EMPTY_RUNLIST = "the run list names no observation"
    NO_OBSERVATION = "no observation is selected"
    DRY_RUN = "a dry run stops after its plan"


class IndexFiles(NamedTuple):
    """Where the remote HDU and OBS index files are read from (paths or URLs)."""

    hdu: str
    obs: str


@dataclass
class CopyRun:
    """All that a run found and did, filled in phase by phase.

    Attributes
    ----------
    request : CopyRequest or None
        What the run was asked (None before a run).
    wanted : list of int or None
        The run list's IDs; None: all observations.
    from_stamp : bool
        Whether the selection and the index update came from the stamp.
    production : Production or None
        The production copied (None before it is known).
    index_files : IndexFiles or None
        The remote index files.
    absent : list of int
        IDs of the run list that the remote indexes lack.
    observations : int
        The observations selected.
    plan : CopyPlan or None
        What the copy does, file by file.
    report : CopyReport
        What the copy did.
    update : LocalUpdate or None
        What the update of the local indexes and master did.
    indexed : int
        The observations whose files all arrived, so indexed.
    stopped : Stop or None
        Why the run ended before copying; None when it copied.
    dropped_docs : dict of str to str
        Documentation files not kept, with the reason.
    timings : dict of str to float
        Seconds spent in each phase: select, plan, copy, index_update.
    """

    request: CopyRequest | None = None
    wanted: list[int] | None = None
    from_stamp: bool = False
    production: Production | None = None
    index_files: IndexFiles | None = None
    absent: list[int] = field(default_factory=list)
    observations: int = 0
    plan: CopyPlan | None = None
    report: CopyReport = field(default_factory=CopyReport)
    update: LocalUpdate | None = None
    indexed: int = 0
    stopped: Stop | None = None
    dropped_docs: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def outpath(self) -> str:
        """The local store folder."""
        return self.request.outpath

    @property
    def complete(self) -> bool:
        """Whether no file was missing, refused or failed, and no local row left out."""
        return self.report.complete and not (self.update is not None and self.update.dropped)

    @property
    def data_entries(self) -> list[PlanEntry]:
        """The plan's entries of data files (documentation files aside)."""
        return [entry for entry in self._entries if not _is_doc(entry.relpath)]

    @property
    def documentation(self) -> list[str]:
        """The documentation files planned and kept."""
        return [entry.relpath for entry in self._entries
                if _is_doc(entry.relpath) and entry.relpath not in self.dropped_docs]

    @property
    def planned(self) -> dict[str, int]:
        """Files per action of the plan: ``copy``, ``up_to_date``, ``kept``, ``missing``,
        ``refused``."""
        counts = self.plan.counts if self.plan is not None else {}
        return {name: counts.get(action, 0) for name, action in
                (("copy", Outcome.COPY), ("up_to_date", Outcome.UP_TO_DATE),
                 ("kept", Outcome.KEPT), ("missing", Outcome.MISSING),
                 ("refused", Outcome.REFUSED))}

    def outcomes(self) -> dict[str, dict[str, str]]:
        """The data files (documentation files aside) of each outcome of the copy, with why.

        Keyed by ``copied``, ``up_to_date``, ``kept``, ``missing``,
        ``refused`` and ``failed``.
        """
        return {outcome.name.lower(): {path: why for path, why in files.items()
                                       if not _is_doc(path)}
                for outcome, files in self.report.by_outcome().items()}

    def file_outcomes(self) -> Iterator[tuple[PlanEntry, str, str]]:
        """Each entry of the plan, with what became of it (in words) and why."""
        settled = {path: (outcome.value, reason)
                   for outcome, files in self.report.by_outcome().items()
                   for path, reason in files.items()}
        for entry in self._entries:
            outcome, reason = settled.get(entry.relpath, (entry.action, entry.reason))
            yield entry, outcome, reason

    def free_space(self) -> tuple[int, str]:
        """Free bytes on the disk of ``outpath``, and the folder measured."""
        return free_bytes(self.outpath)

    @property
    def _entries(self) -> list[PlanEntry]:
        return self.plan.entries if self.plan is not None else []


class RunSteps:
    """What the caller does between the phases of :func:`copy_production`.

    Called in this order, with the run filled so far; every method here does
    nothing.  A stamped run and a full run make the same calls.
    """

    def on_start(self, run: CopyRun) -> None:
        """The store and the production were found; nothing is selected yet."""

    def on_selection(self, run: CopyRun) -> None:
        """The observations are selected (``absent``, ``observations``, ``index_files``)."""

    def on_dry_run(self, run: CopyRun) -> None:
        """A dry run is planned (``plan``); the space check follows."""

    def on_copy(self, run: CopyRun) -> contextlib.AbstractContextManager[Callback]:
        """The copy of ``plan`` starts; the block entered is the copy, its value the
        progress callback."""
        return contextlib.nullcontext(Callback())

    def on_index_update(self, run: CopyRun) -> None:
        """The files are copied (``report``); the local indexes are updated next."""


def copy_production(request: CopyRequest, steps: RunSteps | None = None) -> CopyRun:
    """Run the copy *request* asks for, calling *steps* between its phases.

    The local store is left consistent whatever happens; a local disk that
    took no more files is in ``run.report.local_error`` (the caller reports
    it after the results).

    Raises
    ------
    DataStoreError
        When the remote store, the production, the local store or the run
        list cannot be used, or the disk lacks space (a dry run raises it
        after :meth:`RunSteps.on_dry_run`).
    """
    steps = steps or RunSteps()
    run = CopyRun(request=request,
                  wanted=read_runlist(request.runlist) if request.runlist else None)
    checked = CheckedCopy(verify=request.verify, doc_files=DOC_FILES)
    basis = _StampedRun.find(request, run, checked) if request.stampable else None
    if basis is None:
        basis = _FullRun.open(request, run)
    steps.on_start(run)
    if run.wanted == []:
        run.stopped = Stop.EMPTY_RUNLIST
        return run
    basis.select(run)
    steps.on_selection(run)
    if not run.observations:
        run.stopped = Stop.NO_OBSERVATION
        return run
    basis.plan(run, checked)
    if request.dryrun:
        steps.on_dry_run(run)
        check_free_space(request.outpath, run.plan.bytes_to_copy)
        run.stopped = Stop.DRY_RUN
        return run
    check_free_space(request.outpath, run.plan.bytes_to_copy)
    basis.prepare()
    with steps.on_copy(run) as progress, _timed(run, "copy"):
        run.report = checked.copy(run.plan, basis.source, nthreads=request.nthreads,
                                  callback=progress)
    run.dropped_docs = checked.dropped_docs
    steps.on_index_update(run)
    with _timed(run, "index_update"):
        basis.update(run, checked)
    if not run.report.local_error:
        basis.save_stamp(run)
    return run


class _StampedRun:
    """A rerun taken from the stamp of the run before: nothing to do, and it is proven."""

    def __init__(self, request: CopyRequest, source: LocalSource, stamp: Stamp):
        self.request = request
        self.source = source
        self.stamp = stamp

    @classmethod
    def find(cls, request: CopyRequest, run: CopyRun, checked: CheckedCopy
             ) -> _StampedRun | None:
        """The stamped run, when the stamp holds and every file is up to date; else None.

        Nothing is said either way (debug lines aside): a full run that
        follows says what it finds.
        """
        inputs = request.stamp_inputs(run.wanted)
        with _timed(run, "select"):
            source = LocalSource.of_master(inputs["remote_master"])
            try:
                check_outpath(request.outpath, source.root)
            except DataStoreError:
                return None  # the full run says so, after the errors it finds first
            stamp = Stamp.find(inputs, source)
            if stamp is None:
                return None
        with _timed(run, "plan"):
            plan = _plan(source, stamp.files, stamp.production, request, checked)
        if any(entry.action != Outcome.UP_TO_DATE for entry in plan.entries):
            return None
        run.from_stamp, run.production, run.plan = True, stamp.production, plan
        return cls(request, source, stamp)

    def select(self, run: CopyRun) -> None:
        stamp = self.stamp
        run.index_files = IndexFiles(self.source.local_path(stamp.hduindx),
                                     self.source.local_path(stamp.obsindx))
        run.absent, run.observations = list(stamp.absent), stamp.observations

    def plan(self, run: CopyRun, checked: CheckedCopy) -> None:
        """Planned already, by :meth:`find`."""

    def prepare(self) -> None:
        """The local store is there: the stamp is in it."""

    def update(self, run: CopyRun, checked: CheckedCopy) -> None:
        run.indexed = self.stamp.observations
        run.update = self.stamp.replayed_update(self.request.outpath)

    def save_stamp(self, run: CopyRun) -> None:
        """The stamp stands as it is."""


class _FullRun:
    """A run that reads the remote indexes and merges them into the local ones."""

    def __init__(self, request: CopyRequest, store: RemoteStore, production: Production,
                 inputs: dict[str, Any] | None):
        self.request = request
        self.store = store
        self.source: Source = store.source
        self.production = production
        self.inputs = inputs
        self.selection: Selection | None = None
        # The remote master and index files are digested before they are
        # read, and again at the end: a stamp is for the very files read.
        self.digests: dict[str, str | None] = {}

    @classmethod
    def open(cls, request: CopyRequest, run: CopyRun) -> _FullRun:
        """Open the remote store and check the local one, before anything is copied."""
        from iactcopy.store.access.masterahead import MasterAhead

        # A remote master file is fetched while numpy and fitsio are imported.
        ahead = MasterAhead(request.remote_master, timeout=request.timeout)
        # Imported here, not above: numpy and fitsio take longer to import
        # than a rerun from the stamp takes in all.
        from iactcopy.store.local.store import check_local_store
        from iactcopy.store.remotestore import RemoteStore

        inputs = request.stamp_inputs(run.wanted) if request.stampable else None
        master_digest = digest([inputs["remote_master"]]) if inputs else None
        store = RemoteStore.open(request.remote_master, timeout=request.timeout, ahead=ahead)
        production = store.production(request.prodname)
        check_local_store(request.outpath, production, remote_root=store.local_root)
        full = cls(request, store, production, inputs)
        full.digests["master"] = master_digest
        run.production = production
        return full

    def select(self, run: CopyRun) -> None:
        production = self.production
        if self.inputs:
            self.digests["indexes"] = remote_index_digest(self.source, production.hduindx,
                                                          production.obsindx)
        with _timed(run, "select"):
            self.selection = self.store.select(production, run.wanted)
        run.index_files = IndexFiles(self.store.index_path(production.hduindx),
                                     self.store.index_path(production.obsindx))
        run.absent, run.observations = self.selection.absent, len(self.selection.obs_ids)

    def plan(self, run: CopyRun, checked: CheckedCopy) -> None:
        with _timed(run, "plan"):
            run.plan = _plan(self.source, self.selection.relpaths, self.production,
                             self.request, checked)

    def prepare(self) -> None:
        from iactcopy.store.local.store import create_local_store

        create_local_store(self.request.outpath)

    def update(self, run: CopyRun, checked: CheckedCopy) -> None:
        from iactcopy.store.local.store import update_local_store

        # A differing local file kept with clobber=no may be a truncated one,
        # so an observation not indexed yet is not indexed on its strength;
        # one already indexed keeps its local rows (docs/differences.rst, "Up to date").
        bad = [path for path, _ in run.report.problems] + list(run.report.kept)
        complete = self.selection.complete(bad)
        run.indexed = len(set().union(*(ids.tolist() for ids in complete)))
        run.update = update_local_store(self.request.outpath, self.selection, complete,
                                        clobber=self.request.clobber,
                                        remote_master=self.store.master)

    def save_stamp(self, run: CopyRun) -> None:
        """Stamp a run that did nothing and said nothing a stamped rerun would not say again,
        unless a remote file changed while it ran."""
        if not self.inputs or not self._nothing_to_tell(run):
            return
        production = self.production
        now = {"master": digest([self.inputs["remote_master"]]),
               "indexes": remote_index_digest(self.source, production.hduindx,
                                              production.obsindx)}
        if None in now.values() or now != self.digests:
            return
        selection, update = self.selection, run.update
        Stamp(self.inputs, self.digests, update.unchanged, production.hduindx,
              production.obsindx, observations=len(selection.obs_ids),
              absent=selection.absent, files=selection.relpaths,
              merges={"hdu": update.hdu_stats, "obs": update.obs_stats}
              ).save(self.request.outpath)

    def _nothing_to_tell(self, run: CopyRun) -> bool:
        """Whether every file was up to date, no local file was rewritten, and nothing was
        warned about but the IDs not available (which the stamp repeats)."""
        update = run.update
        return (update is not None and update.unchanged is not None
                and update.unchanged.digest is not None and not update.warned
                and not self.selection.lonely
                and len(run.report.up_to_date) == len(run.plan))


def _plan(source: Source, relpaths: list[str], production: Production,
          request: CopyRequest, checked: CheckedCopy) -> CopyPlan:
    """The data files, and the documentation files the store has (looked up in parallel).

    With verify=yes, local files found up to date whose content is damaged
    are planned again (:class:`CheckedCopy`).
    """
    plan = plan_copy(source, [*relpaths, *DOC_FILES], request.outpath,
                     clobber=request.clobber, nthreads=request.nthreads,
                     reserved=local_store_files(production))
    plan.entries = [entry for entry in plan.entries
                    if not (_is_doc(entry.relpath) and entry.action == Outcome.MISSING)]
    return checked.replan(plan)


def _is_doc(relpath: str) -> bool:
    return relpath in DOC_FILES


@contextlib.contextmanager
def _timed(run: CopyRun, phase: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        run.timings[phase] = time.perf_counter() - start
