"""csrunselect: keep the observation IDs of a run list that lie in a range.

A tool of its own package on the iactcopy framework: its parameters are in
``csrunselect.par`` beside this module, where iactcopy finds them without
any ``PFILES`` setting; it prompts, learns and logs as iactcopy's tools do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from iactcopy import Application, main_for
from iactcopy.app.logger import NORMAL, TERSE
from iactcopy.errors import IactcopyError
from runtools import __version__

__all__ = ["csrunselect", "main"]


@dataclass(frozen=True)
class Settings:
    """The parameters of one run, read once."""

    inlist: str
    minid: int
    maxid: int
    outlist: str
    clobber: bool


class csrunselect(Application):
    """Keep the IDs of a run list that lie between ``minid`` and ``maxid``.

    >>> app = csrunselect(inlist="runs.txt", minid=23500, maxid=23600)  # doctest: +SKIP
    >>> app.run(); app.ids()                                            # doctest: +SKIP
    [23523, 23526, 23559, 23592]
    """

    name = "csrunselect"
    package = "runtools"
    version = __version__
    description = ("Keep the observation IDs of a run list that lie between minid and maxid "
                   "(both included), and write them to a new run list.")

    def __init__(self, *args, **kwargs):
        self._ids: list[int] = []
        self.settings: Settings | None = None
        super().__init__(*args, **kwargs)

    def ids(self) -> list[int]:
        """The IDs kept, in run-list order (empty before a run)."""
        return list(self._ids)

    def process(self) -> None:
        # Every parameter is read here, at the start: the prompts come
        # together, in .par order, before any work is done.
        self.settings = Settings(inlist=self["inlist"].filename(),
                                 minid=self["minid"].integer(),
                                 maxid=self["maxid"].integer(),
                                 outlist=self["outlist"].filename(),
                                 clobber=self["clobber"].boolean())
        if self.settings.minid > self.settings.maxid:
            raise IactcopyError(f"minid ({self.settings.minid}) is larger than maxid "
                                f"({self.settings.maxid}): no ID can be kept")
        ids = read_ids(self.settings.inlist)
        self._ids = [obs_id for obs_id in ids
                     if self.settings.minid <= obs_id <= self.settings.maxid]
        self.log_parameters(TERSE)
        self.log.header1(TERSE, "Selection")
        self.log.value(TERSE, "Input run list", self.settings.inlist)
        self.log.value(TERSE, "IDs read", len(ids))
        self.log.value(TERSE, "IDs kept", len(self._ids))
        self.log.value(NORMAL, "Kept", " ".join(map(str, self._ids)) or "none")

    def save(self) -> None:
        """Write the IDs kept, one a line; with ``clobber=no`` an existing file is kept."""
        settings = self.settings
        if settings is None:
            return
        if os.path.exists(settings.outlist) and not settings.clobber:
            raise IactcopyError(f'"{settings.outlist}" exists and clobber=no: not replaced')
        with open(settings.outlist, "w", encoding="utf-8") as stream:
            stream.writelines(f"{obs_id}\n" for obs_id in self._ids)
        self.log.value(TERSE, "Output run list", settings.outlist)


def read_ids(path: str) -> list[int]:
    """The IDs of the run list at *path*: the first word of each line; ``#`` starts a comment.

    Raises
    ------
    IactcopyError
        When the file cannot be read, or a line's first word is not an ID;
        the message names the file and the line.
    """
    try:
        with open(path, encoding="utf-8") as stream:
            lines = stream.read().splitlines()
    except OSError as err:
        raise IactcopyError(f'cannot read the run list "{path}": {err.strerror}') from err
    ids = []
    for number, line in enumerate(lines, start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if not words[0].isdigit():
            raise IactcopyError(f"{path}:{number}: {words[0]!r} is not an observation ID")
        ids.append(int(words[0]))
    return ids


main = main_for(csrunselect)

if __name__ == "__main__":
    main()
