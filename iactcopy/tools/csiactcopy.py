"""csiactcopy: copy a production of an IACT data store, or a run list of it.

The tool page is docs/tools/csiactcopy.rst.

The steps are those of the tutorial: find the remote production, choose the
observations (all, or those of a run list), copy their files, update the
local indexes and master file, and report.  Where ctools was weak (tools.md
§6) the contract decides: files arrive through ``.part`` temporaries, only
files that differ are copied, missing or refused files are reported (exit
status 3) and left out of the local indexes, the indexes are merged by
column name under a lock, and nothing is written outside ``outpath``.  A
rerun with nothing to do is taken from the stamp the run before left
(:mod:`iactcopy.store.rerunstamp`), without reading any index table.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from iactcopy.app.application import Application
from iactcopy.app.cli import main_for
from iactcopy.app.escaping import printable
from iactcopy.app.logger import EXPLICIT, NORMAL, TERSE, VERBOSE
from iactcopy.errors import DataStoreError, LocalDiskError
from iactcopy.store.checkedcopy import CheckedCopy
from iactcopy.store.freespace import check_free_space, free_bytes
from iactcopy.store.layout import (
    DOC_FILES,
    LOCK_NAME,
    check_outpath,
    local_paths,
    local_store_files,
    master_entries,
)
from iactcopy.store.localupdate import LocalUpdate
from iactcopy.store.master import MasterIndex, Production
from iactcopy.store.masterahead import MasterAhead
from iactcopy.store.remote import local_path
from iactcopy.store.rerunstamp import Stamp, counting_warnings, digest, remote_index_digest
from iactcopy.store.runlist import id_list, read_runlist
from iactcopy.store.sources import LocalSource, Source
from iactcopy.store.transfer import (
    COPY,
    KEPT,
    MISSING,
    REFUSED,
    UP_TO_DATE,
    CopyPlan,
    CopyReport,
    plan_copy,
)
from iactcopy.tools.progress import progress_for

if TYPE_CHECKING:
    import numpy as np

    from iactcopy.store.datastore import Selection

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
    timeout: float = 60.0
    dryrun: bool = False
    verify: bool = False


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
        self._checked = CheckedCopy(verify=False, doc_files=DOC_FILES)
        #: Whether the last run was taken from the stamp of the one before (nothing to do).
        self.from_stamp = False
        super().__init__(*args, **kwargs)

    @property
    def exit_status(self) -> int:
        dropped = self.update is not None and self.update.dropped
        return 0 if self.report.complete and not dropped else 3

    def process(self) -> None:
        settings = self._settings()
        self._checked = CheckedCopy(verify=settings.verify, doc_files=DOC_FILES)
        wanted = read_runlist(settings.runlist) if settings.runlist else None
        inputs = _stamp_inputs(settings, wanted)
        self.from_stamp = inputs is not None and self._rerun_from_stamp(settings, wanted, inputs)
        if not self.from_stamp:
            self._full_run(settings, wanted, inputs)

    def _full_run(self, settings: Settings, wanted: list[int] | None,
                  inputs: dict | None) -> None:
        """Read the indexes, copy, merge; stamp the run if it found nothing to do."""
        # A remote master file is fetched while numpy and fitsio are imported.
        ahead = MasterAhead(settings.remote_master, timeout=settings.timeout)
        # Imported here, not above: numpy and fitsio take longer to import than
        # a rerun with nothing to do takes in all (see _rerun_from_stamp).
        from iactcopy.store.datastore import RemoteStore
        from iactcopy.store.localstore import (
            check_local_store,
            create_local_store,
            update_local_store,
        )

        # The remote master and index files are digested before they are read,
        # and again at the end (_save_stamp).
        digests = {"master": digest([inputs["remote_master"]]) if inputs else None}
        store = RemoteStore.open(settings.remote_master, timeout=settings.timeout,
                                 ahead=ahead)
        production = store.production(settings.prodname)
        check_local_store(settings.outpath, production, remote_root=store.local_root)
        self.log_parameters(TERSE)
        self._log_runlist(wanted)
        if wanted == []:
            self.log.string(TERSE, "The run list is empty: nothing is copied.")
            return
        with counting_warnings() as warnings:
            digests["indexes"] = (remote_index_digest(store.source, production.hduindx,
                                                      production.obsindx) if inputs else None)
            with self._timed("select"):
                selection = store.select(production, wanted)
            self._log_selection(production, (store.index_path(production.hduindx),
                                             store.index_path(production.obsindx)),
                                selection.absent, len(selection.obs_ids))
            if not len(selection.obs_ids):
                self.log.string(TERSE, "No observation to copy.")
                return
            with self._timed("plan"):
                plan = self._plan(store.source, selection.relpaths, production, settings)
            if settings.dryrun:
                self._show_plan(plan, len(selection.obs_ids), settings.outpath)
                return
            check_free_space(settings.outpath, plan.bytes_to_copy)
            create_local_store(settings.outpath)
            self.report = self._copy(plan, store.source, settings)
            self.log.header1(TERSE, "Updating index files")
            complete = self._complete(selection)
            self._indexed = len(set().union(*(ids.tolist() for ids in complete)))
            with self._timed("index_update"):
                self.update = update_local_store(settings.outpath, selection, complete,
                                                 clobber=settings.clobber,
                                                 remote_master=store.master)
        self._log_results(selection.absent, plan, settings.clobber)
        if self.report.local_error:
            # The local side failed, not the remote one: status 1, not 3.
            raise LocalDiskError(f"the copy stopped: {self.report.local_error}; "
                                 f"{len(self.report.failed)} file(s) not copied (those copied "
                                 "are indexed); free space on the local disk and rerun")
        if inputs and not warnings.count and self._nothing_done(plan):
            self._save_stamp(settings, inputs, digests, store.source, production, selection)

    def execute(self) -> None:
        """As :meth:`Application.execute`; a dry run writes no report and learns nothing."""
        if self["dryrun"].boolean():
            self.read_ahead = True
            self.run()
        else:
            super().execute()

    def _show_plan(self, plan: CopyPlan, observations: int, outpath: str) -> None:
        """The plan of a dry run, in the log and on stdout; then the space check."""
        self._log_plan(plan)
        counts = plan.counts
        lines = [f"Dry run: nothing is copied or written into {outpath}",
                 f"Observations: {observations}",
                 f"Files to copy: {counts[COPY]} ({_megabytes(plan.bytes_to_copy)})",
                 f"Files up to date: {counts[UP_TO_DATE]}",
                 f"Differing files kept: {counts[KEPT]}",
                 f"Files missing: {counts[MISSING]}",
                 f"Files refused: {counts[REFUSED]}"]
        self.log.header1(TERSE, "Dry run")
        for line in lines:
            self.log.string(TERSE, printable(line))
        sys.stdout.write("".join(printable(line) + "\n" for line in lines))
        sys.stdout.flush()
        free, folder = free_bytes(outpath)
        self.log.value(NORMAL, "Free space", f"{_megabytes(free)} on {folder}")
        check_free_space(outpath, plan.bytes_to_copy)

    def _nothing_done(self, plan: CopyPlan) -> bool:
        """Whether the run found every file up to date and rewrote no local file."""
        unchanged = self.update.unchanged if self.update else None
        return (unchanged is not None and unchanged.digest is not None
                and len(self.report.up_to_date) == len(plan))

    def _save_stamp(self, settings: Settings, inputs: dict, digests: dict[str, str | None],
                    source: Source, production: Production, selection: Selection) -> None:
        """Stamp the run, unless a remote file changed while it ran."""
        now = {"master": digest([inputs["remote_master"]]),
               "indexes": remote_index_digest(source, production.hduindx, production.obsindx)}
        if None in now.values() or now != digests:
            return
        Stamp(inputs, digests, self.update.unchanged, production.hduindx, production.obsindx,
              observations=len(selection.obs_ids), absent=selection.absent,
              files=selection.relpaths,
              merges={"hdu": self.update.hdu_stats,
                      "obs": self.update.obs_stats}).save(settings.outpath)

    def _rerun_from_stamp(self, settings: Settings, wanted: list[int] | None,
                          inputs: dict) -> bool:
        """Rerun from the stamp of the last run when it proves there is nothing to do.

        The selection and the merge counts come from the stamp; the files are
        planned and "copied" as in a full run, so that each is compared with
        its remote file and the log is the same.  Returns False, having
        logged nothing (debug lines aside), when a full run is needed.
        """
        with self._timed("select"):
            source = LocalSource.of_master(inputs["remote_master"])
            try:
                check_outpath(settings.outpath, source.root)
            except DataStoreError:
                return False  # the full run says so, after the errors it finds first
            stamp = Stamp.find(inputs, source)
            if stamp is None:
                return False
            production = stamp.production
            paths = local_paths(settings.outpath, production)
        with self._timed("plan"):
            plan = self._plan(source, stamp.files, production, settings)
        if any(entry.action != UP_TO_DATE for entry in plan.entries):
            return False
        self.log_parameters(TERSE)
        self._log_runlist(wanted)
        self._log_selection(production, (source.local_path(stamp.hduindx),
                                         source.local_path(stamp.obsindx)),
                            stamp.absent, stamp.observations)
        self.log.string(EXPLICIT, "Nothing changed since the last run: the selection and the "
                                  f"index updates are those it recorded in {LOCK_NAME}")
        self.report = self._copy(plan, source, settings)
        self.log.header1(TERSE, "Updating index files")
        self._indexed = stamp.observations
        with self._timed("index_update"):
            entries = master_entries(MasterIndex.read(paths[0]), production.name, "Available")
            self.update = LocalUpdate(paths[1], paths[2], stamp.merges["hdu"],
                                      stamp.merges["obs"], entries)
        self._log_results(stamp.absent, plan, settings.clobber)
        return True

    def report_content(self) -> dict:
        counts = {outcome: len(files) for outcome, files in self._outcomes().items()}
        return {"files": counts, "bytes_copied": self.report.bytes_copied,
                "from_stamp": self.from_stamp,
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

    def _complete(self, selection: Selection) -> list[np.ndarray]:
        """Per HDU table, the observations to index: none of their files missing, refused,
        failed or kept.

        A differing local file kept with clobber=no may be a truncated one, so
        an observation not indexed yet is not indexed on its strength; one
        already indexed keeps its local rows (docs/differences.rst).
        """
        bad = [path for path, _ in self.report.problems] + list(self.report.kept)
        return selection.complete(bad)

    def _plan(self, source: Source, relpaths: list[str], production: Production,
              settings: Settings) -> CopyPlan:
        """The data files, and the documentation files the store has (looked up in parallel).

        With verify=yes, local files found up to date whose content is
        damaged are planned again (:class:`CheckedCopy`).
        """
        plan = plan_copy(source, [*relpaths, *DOC_FILES], settings.outpath,
                         clobber=settings.clobber, nthreads=settings.nthreads,
                         reserved=local_store_files(production))
        plan.entries = [entry for entry in plan.entries
                        if not (entry.relpath in DOC_FILES and entry.action == MISSING)]
        return self._checked.replan(plan)

    def _settings(self) -> Settings:
        remote_master = self["remote_master"].filename()
        prodname = self["prodname"].string()
        outpath = self.expand_path(self["outpath"].string())
        runlist = self["runlist"].filename() if self["runlist"].is_valid() else None
        return Settings(remote_master=remote_master, prodname=prodname, runlist=runlist,
                        outpath=outpath, nthreads=self["nthreads"].integer(),
                        clobber=self["clobber"].boolean(), timeout=self["timeout"].real(),
                        dryrun=self["dryrun"].boolean(), verify=self["verify"].boolean())

    def _copy(self, plan: CopyPlan, source: Source, settings: Settings) -> CopyReport:
        """Log the plan and copy what it says."""
        self._log_plan(plan)
        self.log.header1(NORMAL, "Copying files")
        progress = progress_for(self.log, self.name)
        with self._timed("copy"):
            try:
                return self._checked.copy(plan, source, nthreads=settings.nthreads,
                                          callback=progress)
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

    def _log_selection(self, production: Production, index_paths: tuple[str, str],
                       absent: list[int], observations: int) -> None:
        self.log.header2(TERSE, "Loop over remote configs")
        self.log.header3(NORMAL, f'Remote config "{production.name}"')
        self.log.value(NORMAL, "HDU index", index_paths[0])
        self.log.value(NORMAL, "Observation index", index_paths[1])
        for number, obs_id in enumerate(absent):
            self.warn(f'Skip observation "{obs_id}": ID not available remotely',
                       stderr=number < _MAX_ON_STDERR)
        if len(absent) > _MAX_ON_STDERR:
            sys.stderr.write(f"WARNING: {len(absent) - _MAX_ON_STDERR} more IDs are "
                             "not available remotely (see the log)\n")
        self.log.value(NORMAL, "Observations", observations)

    def _log_plan(self, plan: CopyPlan) -> None:
        actions = ", ".join(f"{n} {action}" for action, n in plan.counts.items() if n)
        self.log.string(EXPLICIT, f"Copy plan for {printable(plan.outpath)}: "
                                  f"{actions or 'no file'}; {plan.bytes_to_copy} bytes to copy")
        self.log.header2(NORMAL, "File information")
        self.log.value(NORMAL, "Number of files", len(plan))
        known = sum(entry.size or 0 for entry in plan.entries)
        self.log.value(NORMAL, "Size", _megabytes(known))
        self.log.value(NORMAL, "Size to copy", _megabytes(plan.bytes_to_copy))
        self.log.header3(VERBOSE, "File names")
        for entry in plan.entries:
            self.log.string(VERBOSE, printable(entry.relpath))

    def _log_results(self, absent: list[int], plan: CopyPlan, clobber: bool) -> None:
        self._log_update(self.update, clobber)
        self._log_summary(absent, plan)

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
                self.log.string(TERSE, f'{status} "{printable(name)}"')
            else:
                self.log.value(NORMAL, f'Keeping "{name}"', status)

    def _log_summary(self, absent: list[int], plan: CopyPlan) -> None:
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
        docs = [entry.relpath for entry in plan.entries
                if entry.relpath in DOC_FILES and entry.relpath not in self._checked.dropped_docs]
        if docs:
            self.log.value(NORMAL, "Documentation files", ", ".join(docs))
        self.log.value(NORMAL, "Observations indexed", self._indexed)
        if absent:
            self.log.value(NORMAL, "IDs not available", id_list(absent))
        entries = self.update.master_entries if self.update else []
        self.log.value(NORMAL, "Local configs", len(entries))
        for relpath, why in self._checked.dropped_docs.items():
            self.log.value(NORMAL, f"{relpath} not kept", why)
        self._warn_problems(report)
        self._warn_dropped(self.update.dropped if self.update else [])
        if report.kept:
            self.warn(f"{len(report.kept)} local file(s) differ from the remote ones and "
                       "were kept (clobber=no); use clobber=yes to replace them")
        self.log.header3(TERSE, "Content of master index")
        for name, _ in entries:
            self.log.string(TERSE, printable(name))
        if sys.stdout.isatty():
            self._say_summary(outcomes)

    def _say_summary(self, outcomes: dict[str, dict[str, str]]) -> None:
        """One line on the terminal, under the progress bar, for a user who reads no log."""
        problems = len(outcomes["missing"]) + len(outcomes["refused"]) + len(outcomes["failed"])
        where = f"; log: {os.path.abspath(self.log.path)}" if self.log.path else ""
        line = (f"{len(outcomes['copied'])} files copied, {len(outcomes['up_to_date'])} up to "
                f"date, {problems} missing or failed, {_megabytes(self.report.bytes_copied)} in "
                f"{time.monotonic() - self._wall_start:.1f} s{where}")
        sys.stdout.write(printable(line) + "\n")
        sys.stdout.flush()

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
            self.log.string(TERSE, f"WARNING: {printable(path)}: {printable(problem)}")
        if not problems:
            return
        lines = [f"WARNING: {len(problems)} file(s) could not be copied; their observations "
                 "are left out of the local indexes:"]
        lines += [f"  {printable(path)}: {printable(problem)}"
                  for path, problem in problems[:_MAX_ON_STDERR]]
        if len(problems) > _MAX_ON_STDERR:
            lines.append(f"  and {len(problems) - _MAX_ON_STDERR} more (see the log)")
        sys.stderr.write("".join(line + "\n" for line in lines))

    def _warn_dropped(self, dropped: list[str]) -> None:
        """Name every row that left a local index: nothing leaves one without a word."""
        for number, text in enumerate(dropped):
            self.warn(text, stderr=number < _MAX_ON_STDERR)
        if len(dropped) > _MAX_ON_STDERR:
            sys.stderr.write(f"WARNING: {len(dropped) - _MAX_ON_STDERR} more rows were left out "
                             "of the local indexes (see the log)\n")

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


def _stamp_inputs(settings: Settings, wanted: list[int] | None) -> dict | None:
    """The parameters a stamp holds, with the run list's IDs; None for a store read by URL.

    A store read over the network is not stamped: checking its index files
    would mean fetching them, which is most of what a full run does.  A
    ``file://`` URL names a local path, and is stamped as that path.
    """
    path = local_path(settings.remote_master)
    if path is None or settings.dryrun or settings.verify:
        # A dry run must not clean .part files as a rerun does; verify=yes
        # reads every file, which a stamp exists to avoid.
        return None
    return {"remote_master": os.path.abspath(path),
            "prodname": settings.prodname, "outpath": os.path.abspath(settings.outpath),
            "clobber": settings.clobber, "runlist": wanted}


def _megabytes(nbytes: int) -> str:
    return f"{nbytes * 1e-6:.2f} MB"


main = main_for(csiactcopy)

if __name__ == "__main__":
    main()
