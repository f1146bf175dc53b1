"""csiactcopy: copy a production of an IACT data store, or a run list of it.

The tool page is docs/tools/csiactcopy.rst.

The steps are those of the tutorial: find the remote production, choose the
observations (all, or those of a run list), copy their files, update the
local indexes and master file, and report.  Where ctools was weak,
docs/differences.rst ("Data stores and copying") decides: files arrive
through ``.part`` temporaries, only files that differ are copied, missing
or refused files are reported (exit status 3) and left out of the local
indexes, the indexes are merged by
column name under a lock, and nothing is written outside ``outpath``.  A
rerun with nothing to do is taken from the stamp the run before left
(:mod:`iactcopy.store.local.stamp`), without reading any index table.

The store layer runs the steps (:mod:`iactcopy.store.copyrun`); this tool
reads the parameters and writes the log, from the one result it gets back
and in the calls made between the steps, the same for a stamped run.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator

from iactcopy.app.application import Application
from iactcopy.app.cli import main_for
from iactcopy.app.escaping import printable
from iactcopy.app.logger import EXPLICIT, NORMAL, TERSE, VERBOSE
from iactcopy.errors import LocalDiskError
from iactcopy.store.copyrun import STAMP_FILE, CopyRequest, CopyRun, RunSteps, Stop, copy_production
from iactcopy.store.runlist import id_list
from iactcopy.tools.progress import progress_for

__all__ = ["csiactcopy", "main"]

#: What the log says of a run that ends before copying.
_STOPPED = {Stop.EMPTY_RUNLIST: "The run list is empty: nothing is copied.",
            Stop.NO_OBSERVATION: "No observation to copy."}


class csiactcopy(Application, RunSteps):
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
        #: All the last run found and did (:class:`~iactcopy.store.copyrun.CopyRun`).
        self.run_result = CopyRun()
        super().__init__(*args, **kwargs)

    @property
    def report(self):
        """What the copy of the last run did (a CopyReport)."""
        return self.run_result.report

    @property
    def update(self):
        """What the last run's update of the local store did (a LocalUpdate, or None)."""
        return self.run_result.update

    @property
    def timings(self) -> dict[str, float]:
        """Seconds spent in each phase of the last run: select, plan, copy, index_update."""
        return self.run_result.timings

    @property
    def from_stamp(self) -> bool:
        """Whether the last run was taken from the stamp of the one before (nothing to do)."""
        return self.run_result.from_stamp

    @property
    def exit_status(self) -> int:
        return 0 if self.run_result.complete else 3

    def process(self) -> None:
        """The tutorial's steps: find the production, select, copy, update, report.

        The store layer runs them (:func:`copy_production`) and calls the
        ``on_*`` methods between them, so that the log is written as they
        happen; a rerun taken from the stamp makes the same calls.
        """
        run = copy_production(self._request(), self)
        self.run_result = run
        if run.stopped in _STOPPED:
            self.log.string(TERSE, _STOPPED[run.stopped])
        if run.stopped:
            return
        self._log_update(run)
        self._log_summary(run)
        if run.report.local_error:
            # The local side failed, not the remote one: status 1, not 3.
            raise LocalDiskError(f"the copy stopped: {run.report.local_error}; "
                                 f"{len(run.report.failed)} file(s) not copied (those copied "
                                 "are indexed); free space on the local disk and rerun")

    def execute(self) -> None:
        """As :meth:`Application.execute`; a dry run writes no report and learns nothing."""
        if self["dryrun"].boolean():
            self.read_ahead = True
            self.run()
        else:
            super().execute()

    def report_content(self) -> dict:
        run = self.run_result
        return {"files": {outcome: len(files) for outcome, files in run.outcomes().items()},
                "bytes_copied": run.report.bytes_copied,
                "from_stamp": run.from_stamp,
                "observations_indexed": run.indexed,
                "problems": [f"{path}: {problem}" for path, problem in run.report.problems],
                "timings": {phase: round(seconds, 4) for phase, seconds in run.timings.items()}}

    def _request(self) -> CopyRequest:
        """The parameters of the run, read once, in the order ctools prompts for them."""
        remote_master = self["remote_master"].filename()
        prodname = self["prodname"].string()
        outpath = self.expand_path(self["outpath"].string())
        runlist = self["runlist"].filename() if self["runlist"].is_valid() else None
        return CopyRequest(remote_master=remote_master, prodname=prodname, runlist=runlist,
                           outpath=outpath, nthreads=self["nthreads"].integer(),
                           clobber=self["clobber"].boolean(), timeout=self["timeout"].real(),
                           dryrun=self["dryrun"].boolean(), verify=self["verify"].boolean())

    # -- between the steps (RunSteps) ---------------------------------------
    def on_start(self, run: CopyRun) -> None:
        self.log_parameters(TERSE)
        self._log_runlist(run.wanted)

    def on_selection(self, run: CopyRun) -> None:
        self._log_selection(run)
        if run.from_stamp:
            self.log.string(EXPLICIT, "Nothing changed since the last run: the selection and "
                                      f"the index updates are those it recorded in {STAMP_FILE}")

    def on_dry_run(self, run: CopyRun) -> None:
        """The plan of a dry run, in the log and on stdout; the space check follows."""
        self._log_plan(run)
        planned = run.planned
        lines = [f"Dry run: nothing is copied or written into {run.outpath}",
                 f"Observations: {run.observations}",
                 f"Files to copy: {planned['copy']} ({_megabytes(run.plan.bytes_to_copy)})",
                 f"Files up to date: {planned['up_to_date']}",
                 f"Differing files kept: {planned['kept']}",
                 f"Files missing: {planned['missing']}",
                 f"Files refused: {planned['refused']}"]
        self.log.header1(TERSE, "Dry run")
        for line in lines:
            self.log.string(TERSE, printable(line))
        sys.stdout.write("".join(printable(line) + "\n" for line in lines))
        sys.stdout.flush()
        free, folder = run.free_space()
        self.log.value(NORMAL, "Free space", f"{_megabytes(free)} on {folder}")

    @contextlib.contextmanager
    def on_copy(self, run: CopyRun) -> Iterator:
        self._log_plan(run)
        self.log.header1(NORMAL, "Copying files")
        progress = progress_for(self.log, self.name)
        try:
            yield progress
        finally:
            progress.finish()

    def on_index_update(self, run: CopyRun) -> None:
        self.log.header1(TERSE, "Updating index files")

    # -- the log ----------------------------------------------------------
    def _log_runlist(self, wanted: list[int] | None) -> None:
        self.log.header1(TERSE, "Set runlist")
        if wanted is None:
            self.log.string(NORMAL, "Copy all available data")
            return
        for number, obs_id in enumerate(wanted, start=1):
            self.log.value(EXPLICIT, f"Run {number}", obs_id)
        self.log.value(NORMAL, "Number of observations", len(wanted))

    def _log_selection(self, run: CopyRun) -> None:
        self.log.header2(TERSE, "Loop over remote configs")
        self.log.header3(NORMAL, f'Remote config "{run.production.name}"')
        self.log.value(NORMAL, "HDU index", run.index_files.hdu)
        self.log.value(NORMAL, "Observation index", run.index_files.obs)
        for number, obs_id in enumerate(run.absent):
            self.warn(f'Skip observation "{obs_id}": ID not available remotely',
                       stderr=number < _MAX_ON_STDERR)
        if len(run.absent) > _MAX_ON_STDERR:
            sys.stderr.write(f"WARNING: {len(run.absent) - _MAX_ON_STDERR} more IDs are "
                             "not available remotely (see the log)\n")
        self.log.value(NORMAL, "Observations", run.observations)

    def _log_plan(self, run: CopyRun) -> None:
        plan = run.plan
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

    def _log_update(self, run: CopyRun) -> None:
        update, clobber = run.update, run.request.clobber
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

    def _log_summary(self, run: CopyRun) -> None:
        report = run.report
        self._log_files(run)
        self.log.header1(NORMAL, "Summary")
        outcomes = run.outcomes()
        self.log.value(NORMAL, "Data files found", len(run.data_entries))
        self.log.value(NORMAL, "Data files copied", len(outcomes["copied"]))
        self.log.value(NORMAL, "Files up to date", len(outcomes["up_to_date"]))
        self.log.value(NORMAL, "Differing files kept", len(outcomes["kept"]))
        self.log.value(NORMAL, "Files missing", len(outcomes["missing"]))
        self.log.value(NORMAL, "Files refused", len(outcomes["refused"]))
        self.log.value(NORMAL, "Files failed", len(outcomes["failed"]))
        self.log.value(NORMAL, "Size", _megabytes(report.bytes_copied))
        if run.documentation:
            self.log.value(NORMAL, "Documentation files", ", ".join(run.documentation))
        self.log.value(NORMAL, "Observations indexed", run.indexed)
        if run.absent:
            self.log.value(NORMAL, "IDs not available", id_list(run.absent))
        entries = run.update.master_entries
        self.log.value(NORMAL, "Local configs", len(entries))
        for relpath, why in run.dropped_docs.items():
            self.log.value(NORMAL, f"{relpath} not kept", why)
        self._warn_problems(report.problems)
        self._warn_dropped(run.update.dropped)
        if report.kept:
            self.warn(f"{len(report.kept)} local file(s) differ from the remote ones and "
                       "were kept (clobber=no); use clobber=yes to replace them")
        self.log.header3(TERSE, "Content of master index")
        for name, _ in entries:
            self.log.string(TERSE, printable(name))
        if sys.stdout.isatty():
            self._say_summary(run, outcomes)

    def _say_summary(self, run: CopyRun, outcomes: dict[str, dict[str, str]]) -> None:
        """One line on the terminal, under the progress bar, for a user who reads no log."""
        problems = len(outcomes["missing"]) + len(outcomes["refused"]) + len(outcomes["failed"])
        where = f"; log: {os.path.abspath(self.log.path)}" if self.log.path else ""
        line = (f"{len(outcomes['copied'])} files copied, {len(outcomes['up_to_date'])} up to "
                f"date, {problems} missing or failed, {_megabytes(run.report.bytes_copied)} in "
                f"{time.monotonic() - self._wall_start:.1f} s{where}")
        sys.stdout.write(printable(line) + "\n")
        sys.stdout.flush()

    def _warn_problems(self, problems: list[tuple[str, str]]) -> None:
        """List every missing or refused file in the log, and the first ones on stderr.

        Exit status 3 alone does not say which files to look at, and at a
        terminal nobody reads the log; stderr gets at most a screenful.
        """
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

    def _log_files(self, run: CopyRun) -> None:
        for entry, outcome, reason in run.file_outcomes():
            self.log.header3(VERBOSE, "Copy file")
            self.log.value(VERBOSE, "Source", entry.relpath)
            self.log.value(VERBOSE, "Destination", entry.target)
            self.log.value(VERBOSE, "Copying", f"{outcome} ({reason})")


#: Problems (files, IDs) listed on stderr; the log lists them all.
_MAX_ON_STDERR = 20


def _megabytes(nbytes: int) -> str:
    return f"{nbytes * 1e-6:.2f} MB"


main = main_for(csiactcopy)

if __name__ == "__main__":
    main()
