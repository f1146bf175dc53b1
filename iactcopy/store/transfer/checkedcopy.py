"""A copy whose files are checked for content, and fetched again once when they fail.

:func:`iactcopy.store.transfer.copyfiles.copy_files` copies what a plan says;
here its files pass through a :class:`~iactcopy.store.transfer.contentcheck.ContentCheck`
before they take their names.  A data file that fails is fetched a second
time (a transfer that went wrong once rarely does so twice); if it fails
again it stays a failed file, and the caller reports it.  A documentation
file that fails (an empty or HTML ``README``) is not kept and not counted
as a problem: a store need not have one.  With ``verify``, the local files
the plan found up to date are checked too, and a damaged one is copied
again (kept, with ``clobber=no``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Iterable

from iactcopy.store.access.sources import Source
from iactcopy.store.transfer.contentcheck import ContentCheck
from iactcopy.store.transfer.copyfiles import NO_CALLBACK, Callback, CopyReport, copy_files
from iactcopy.store.transfer.plan import CopyPlan, Outcome

__all__ = ["CheckedCopy"]

log = logging.getLogger(__name__)


class CheckedCopy:
    """The checks of one run: plan the local files again, then copy.

    Parameters
    ----------
    verify : bool
        Check whole contents, local files found up to date included.
    doc_files : iterable of str
        Relative paths of the documentation files.

    Attributes
    ----------
    dropped_docs : dict of str to str
        Documentation files not kept, with the reason.
    """

    def __init__(self, *, verify: bool, doc_files: Iterable[str]):
        self.check = ContentCheck(verify=verify, doc_files=doc_files)
        self.dropped_docs: dict[str, str] = {}
        self._damaged: list[str] = []

    def replan(self, plan: CopyPlan) -> CopyPlan:
        """With ``verify``: the plan with damaged local files up to date copied again."""
        if not self.check.verify:
            return plan
        entries = []
        for entry in plan.entries:
            problem = (self.check.verify_local(entry.relpath, entry.target)
                       if entry.action == Outcome.UP_TO_DATE else None)
            if problem is None:
                entries.append(entry)
            elif plan.clobber:
                self._damaged.append(entry.target)
                entries.append(dataclasses.replace(entry, action=Outcome.COPY,
                                                   reason=f"local copy damaged: {problem}"))
            else:
                entries.append(dataclasses.replace(
                    entry, action=Outcome.KEPT,
                    reason=f"local copy damaged: {problem}; kept because clobber=no"))
        return CopyPlan(plan.outpath, plan.clobber, entries)

    def copy(self, plan: CopyPlan, source: Source, *, nthreads: int = 1,
             callback: Callback = NO_CALLBACK) -> CopyReport:
        """Copy *plan* with checks; fetch failing data files once more; drop failing docs."""
        for target in self._damaged:
            # Same size and time as the remote: the copy would take it for
            # up to date, written meanwhile by another run.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target)
        report = copy_files(plan, source, nthreads=nthreads, callback=callback,
                            check=self.check)
        rejected = set(self.check.rejected) & set(report.failed)
        docs = rejected & self.check.doc_files
        for relpath in sorted(docs):
            self.dropped_docs[relpath] = report.failed.pop(relpath)
            log.info("%s not kept: %s", relpath, self.dropped_docs[relpath])
        again = [entry for entry in plan.entries if entry.relpath in rejected - docs]
        if not again:
            return report
        log.info("%d file(s) failed the content check; fetching them again", len(again))
        second = copy_files(CopyPlan(plan.outpath, plan.clobber, again), source,
                            nthreads=nthreads, check=self.check)
        for relpath in second.failed:
            second.failed[relpath] = f"{second.failed[relpath]} (fetched twice)"
        for outcome, files in second.by_outcome().items():
            for relpath, reason in files.items():
                report.failed.pop(relpath, None)
                report.add(relpath, outcome, reason)
        report.bytes_copied += second.bytes_copied
        report.sort()
        return report
