"""csiactcopy: copy a production of an IACT data store, or a run list of it (tools.md §3).

The steps are those of the tutorial: find the remote production, choose the
observations (all, or those of a run list), copy their files, update the
local indexes and master file, and report.  Where ctools was weak (tools.md
§6) the contract decides: files arrive through ``.part`` temporaries, only
files that differ are copied, missing or refused files are reported (exit
status 3) and left out of the local indexes, the indexes are merged by
column name under a lock, and nothing is written outside ``outpath``.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from iactcopy.app.application import Application
from iactcopy.app.cli import main_for
from iactcopy.app.logger import EXPLICIT, NORMAL, TERSE, VERBOSE
from iactcopy.store.datastore import DOC_FILES, RemoteStore, Selection, id_list
from iactcopy.store.localstore import (
    LocalUpdate,
    check_local_store,
    create_local_store,
    local_store_files,
    update_local_store,
)
from iactcopy.store.runlist import read_runlist
from iactcopy.store.transfer import MISSING, CopyPlan, CopyReport, copy_files, plan_copy
from iactcopy.tools.progress import progress_for

__all__ = ["csiactcopy", "main"]


@dataclass(frozen=True)
class Settings:
    """The parameters of one run, read once, in the order ctools prompts for them."""

    remote_master: str
    prodname: str
    runlist: str | None
    outpath: str
    nthreads: int
    clobber: bool


class csiactcopy(Application):
    """Copy a production (or the observations of a run list) from a data store.

    >>> app = csiactcopy()                                    # doctest: +SKIP
    >>> app['remote_master'] = '/project-data/hess/hess_dl3_dr1/master.json'
    >>> app['prodname'] = 'hess_dl3_dr1'; app['outpath'] = 'data'
    >>> app.execute(); app.report.counts                      # doctest: +SKIP
    """

    name = "csiactcopy"
    description = (
        "Copy a production of an IACT data store (for example an sshfs mount) to a local "
        "folder, all of it or the observations of a run list, and keep the local index "
        "files and master.json consistent. Files arrive through .part temporaries; files "
        "already up to date (same size and time) are not copied again; clobber=no never "
        "replaces a local file. Missing or refused remote files are reported and give "
        "exit status 3."
    )

    def __init__(self, *args, **kwargs):
        self.report = CopyReport()
        self.update: LocalUpdate | None = None
        #: Seconds spent in each phase of the last run: select, plan, copy, index_update.
        self.timings: dict[str, float] = {}
        self._indexed = 0
        super().__init__(*args, **kwargs)

    @property
    def exit_status(self) -> int:
        return 0 if self.report.complete else 3

    def process(self) -> None:
        settings = self._settings()
        store = RemoteStore.open(settings.remote_master)
        production = store.production(settings.prodname)
        wanted = read_runlist(settings.runlist) if settings.runlist else None
        check_local_store(settings.outpath, production, remote_root=store.local_root)
        self.log_parameters(TERSE)
        self._log_runlist(wanted)
        if wanted == []:
            self.log.string(TERSE, "The run list is empty: nothing is copied.")
            return
        with self._timed("select"):
            selection = store.select(production, wanted)
        self._log_selection(store, selection)
        if not len(selection.obs_ids):
            self.log.string(TERSE, "No observation to copy.")
            return
        create_local_store(settings.outpath)
        with self._timed("plan"):
            plan = self._plan(store, selection, settings)
        self._log_plan(plan)
        with self._timed("copy"):
            self.report = self._copy(plan, store, settings)
        self.log.header1(TERSE, "Updating index files")
        complete = self._complete(selection)
        self._indexed = len(complete)
        with self._timed("index_update"):
            self.update = update_local_store(settings.outpath, selection, complete,
                                             clobber=settings.clobber,
                                             remote_master=store.master)
        self._log_update(self.update, settings.clobber)
        self._log_summary(selection, plan)

    def report_content(self) -> dict:
        counts = {outcome: len(files) for outcome, files in self._outcomes().items()}
        return {"files": counts, "bytes_copied": self.report.bytes_copied,
                "observations_indexed": self._indexed,
                "problems": [f"{path}: {problem}" for path, problem in self.report.problems],
                "timings": {phase: round(seconds, 4) for phase, seconds in self.timings.items()}}

    @contextlib.contextmanager
    def _timed(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[phase] = time.perf_counter() - start

    def _complete(self, selection: Selection) -> np.ndarray:
        """The observations to index: none of their files missing, refused, failed or kept.

        A differing local file kept with clobber=no may be a truncated one, so
        an observation not indexed yet is not indexed on its strength; one
        already indexed keeps its local rows (contract §2).
        """
        bad = [path for path, _ in self.report.problems] + list(self.report.kept)
        return selection.complete(bad)

    @staticmethod
    def _plan(store: RemoteStore, selection: Selection, settings: Settings) -> CopyPlan:
        """The data files, and the documentation files the store has (looked up in parallel)."""
        plan = plan_copy(store.source, [*selection.relpaths, *DOC_FILES], settings.outpath,
                         clobber=settings.clobber, nthreads=settings.nthreads,
                         reserved=local_store_files(selection.production))
        plan.entries = [entry for entry in plan.entries
                        if not (entry.relpath in DOC_FILES and entry.action == MISSING)]
        return plan

    def _settings(self) -> Settings:
        remote_master = self["remote_master"].filename()
        prodname = self["prodname"].string()
        outpath = self.expand_path(self["outpath"].string())
        runlist = self["runlist"].filename() if self["runlist"].is_valid() else None
        return Settings(remote_master=remote_master, prodname=prodname, runlist=runlist,
                        outpath=outpath, nthreads=self["nthreads"].integer(),
                        clobber=self["clobber"].boolean())

    def _copy(self, plan: CopyPlan, store: RemoteStore, settings: Settings) -> CopyReport:
        self.log.header1(NORMAL, "Copying files")
        progress = progress_for(self.log, self.name)
        try:
            return copy_files(plan, store.source, nthreads=settings.nthreads, callback=progress)
        finally:
            progress.finish()

    # -- the log ----------------------------------------------------------
    def _log_runlist(self, wanted: list[int] | None) -> None:
        self.log.header1(TERSE, "Set runlist")
        if wanted is None:
            self.log.string(NORMAL, "Copy all available data")
            return
        for number, obs_id in enumerate(wanted, start=1):
            self.log.value(EXPLICIT, f"Run {number}", obs_id)
        self.log.value(NORMAL, "Number of observations", len(wanted))

    def _log_selection(self, store: RemoteStore, selection: Selection) -> None:
        production = selection.production
        self.log.header2(TERSE, "Loop over remote configs")
        self.log.header3(NORMAL, f'Remote config "{production.name}"')
        self.log.value(NORMAL, "HDU index", store.index_path(production.hduindx))
        self.log.value(NORMAL, "Observation index", store.index_path(production.obsindx))
        for number, obs_id in enumerate(selection.absent):
            self.warn(f'Skip observation "{obs_id}": ID not available remotely',
                       stderr=number < _MAX_ON_STDERR)
        if len(selection.absent) > _MAX_ON_STDERR:
            sys.stderr.write(f"WARNING: {len(selection.absent) - _MAX_ON_STDERR} more IDs are "
                             "not available remotely (see the log)\n")
        self.log.value(NORMAL, "Observations", len(selection.obs_ids))

    def _log_plan(self, plan: CopyPlan) -> None:
        self.log.header2(NORMAL, "File information")
        self.log.value(NORMAL, "Number of files", len(plan))
        known = sum(entry.size or 0 for entry in plan.entries)
        self.log.value(NORMAL, "Size", _megabytes(known))
        self.log.value(NORMAL, "Size to copy", _megabytes(plan.bytes_to_copy))
        self.log.header3(VERBOSE, "File names")
        for entry in plan.entries:
            self.log.string(VERBOSE, entry.relpath)

    def _log_update(self, update: LocalUpdate, clobber: bool) -> None:
        for title, path, stats in (("HDU index", update.hdu_path, update.hdu_stats),
                                   ("OBS index", update.obs_path, update.obs_stats)):
            self.log.header3(TERSE, title)
            self.log.value(NORMAL, "Local file", path)
            if stats is None:
                self.log.value(NORMAL, "Not written", "no observation to index")
                continue
            self.log.value(NORMAL, "Conflict preference", "Remote" if clobber else "Local")
            self.log.value(NORMAL, "Remote entries", stats.remote_entries)
            self.log.value(NORMAL, "Local entries", stats.local_entries)
            if clobber:
                self.log.value(NORMAL, "Removed local rows", stats.removed_local_rows)
            else:
                self.log.value(NORMAL, "Skipped remote rows", stats.skipped_remote_rows)
            self.log.value(NORMAL, "Rows written", stats.rows)
        self.log.header3(TERSE, "Master index file")
        for name, status in update.master_entries:
            if status in ("Added", "Updated"):
                self.log.string(TERSE, f'{status} "{name}"')
            else:
                self.log.value(NORMAL, f'Keeping "{name}"', status)

    def _log_summary(self, selection: Selection, plan: CopyPlan) -> None:
        report = self.report
        self._log_files(plan)
        self.log.header1(NORMAL, "Summary")
        outcomes = self._outcomes()
        data_files = [entry for entry in plan.entries if entry.relpath not in DOC_FILES]
        self.log.value(NORMAL, "Data files found", len(data_files))
        self.log.value(NORMAL, "Data files copied", len(outcomes["copied"]))
        self.log.value(NORMAL, "Files up to date", len(outcomes["up_to_date"]))
        self.log.value(NORMAL, "Differing files kept", len(outcomes["kept"]))
        self.log.value(NORMAL, "Files missing", len(outcomes["missing"]))
        self.log.value(NORMAL, "Files refused", len(outcomes["refused"]))
        self.log.value(NORMAL, "Files failed", len(outcomes["failed"]))
        self.log.value(NORMAL, "Size", _megabytes(report.bytes_copied))
        docs = [entry.relpath for entry in plan.entries if entry.relpath in DOC_FILES]
        if docs:
            self.log.value(NORMAL, "Documentation files", ", ".join(docs))
        self.log.value(NORMAL, "Observations indexed", self._indexed)
        if selection.absent:
            self.log.value(NORMAL, "IDs not available", id_list(selection.absent))
        entries = self.update.master_entries if self.update else []
        self.log.value(NORMAL, "Local configs", len(entries))
        self._warn_problems(report)
        if report.kept:
            self.warn(f"{len(report.kept)} local file(s) differ from the remote ones and "
                       "were kept (clobber=no); use clobber=yes to replace them")
        self.log.header3(TERSE, "Content of master index")
        for name, _ in entries:
            self.log.string(TERSE, name)

    def _outcomes(self) -> dict[str, dict[str, str]]:
        """The data files (documentation files aside) of each outcome of the copy."""
        return {name: {path: why for path, why in getattr(self.report, name).items()
                       if path not in DOC_FILES}
                for name in ("copied", "up_to_date", "kept", "missing", "refused", "failed")}

    def _warn_problems(self, report: CopyReport) -> None:
        """List every missing or refused file in the log, and the first ones on stderr.

        Exit status 3 alone does not say which files to look at, and at a
        terminal nobody reads the log; stderr gets at most a screenful.
        """
        problems = report.problems
        for path, problem in problems:
            self.log.string(TERSE, f"WARNING: {path}: {problem}")
        if not problems:
            return
        lines = [f"WARNING: {len(problems)} file(s) could not be copied; their observations "
                 "are left out of the local indexes:"]
        lines += [f"  {path}: {problem}" for path, problem in problems[:_MAX_ON_STDERR]]
        if len(problems) > _MAX_ON_STDERR:
            lines.append(f"  and {len(problems) - _MAX_ON_STDERR} more (see the log)")
        sys.stderr.write("".join(line + "\n" for line in lines))

    def _log_files(self, plan: CopyPlan) -> None:
        outcomes = {path: (outcome, reason)
                    for outcome in ("copied", "up_to_date", "kept", "missing", "refused",
                                    "failed")
                    for path, reason in getattr(self.report, outcome).items()}
        for entry in plan.entries:
            outcome, reason = outcomes.get(entry.relpath, (entry.action, entry.reason))
            self.log.header3(VERBOSE, "Copy file")
            self.log.value(VERBOSE, "Source", entry.relpath)
            self.log.value(VERBOSE, "Destination", entry.target)
            self.log.value(VERBOSE, "Copying", f"{outcome.replace('_', ' ')} ({reason})")


#: Problems (files, IDs) listed on stderr; the log lists them all.
_MAX_ON_STDERR = 20


def _megabytes(nbytes: int) -> str:
    return f"{nbytes * 1e-6:.2f} MB"


main = main_for(csiactcopy)

if __name__ == "__main__":
    main()
