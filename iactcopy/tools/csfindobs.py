"""csfindobs: select observations of a production and write a run list (docs/tools/csfindobs.rst).

Differences from ctools, all deliberate (docs/differences.rst, "csfindobs and
csiactdata"): the user expression
is bracketed so that it only narrows the sky and quality cuts; a store
without QUALITY skips that cut with a warning; a sky region given only in
part is an error; IDs are written in ascending order; ``clobber=no`` with an
existing run list is an error (exit 1); ``plotfile`` draws a sky map.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from iactcopy.app.application import Application
from iactcopy.app.cli import main_for
from iactcopy.app.logger import NORMAL, TERSE
from iactcopy.errors import IactcopyError, ParameterError
from iactcopy.store.index.obsselect import Cone, Selected, select_observations
from iactcopy.store.runlist import write_runlist
from iactcopy.tools.datapath import DataPath, resolve_datapath

__all__ = ["csfindobs", "main"]

_NO_EXPRESSION = ("", "NONE", "INDEF")


@dataclass(frozen=True)
class Settings:
    """The parameters of one run, read once, in the order ctools prompts for them."""

    datapath: str
    prodname: str
    cone: Cone | None
    min_qual: int
    expression: str | None
    master_indx: str
    plotfile: str | None
    timeout: float


class csfindobs(Application):
    """Select observations by sky region, quality and an expression; write their IDs.

    >>> app = csfindobs(datapath="/data/hess_dl3_dr1", prodname="hess_dl3_dr1")  # doctest: +SKIP
    >>> app["ra"], app["dec"], app["rad"] = 83.63, 22.51, 2.5                   # doctest: +SKIP
    >>> app.run(); app.runs()                                                    # doctest: +SKIP
    [23523, 23526, 23559, 23592]
    """

    name = "csfindobs"
    description = (
        "Select the observations of a production whose pointing lies within a circle on "
        "the sky (ra, dec, rad; ra=NONE for the whole sky), whose QUALITY is at most "
        "min_qual, and which pass an optional cfitsio row-filter expression; write their "
        "IDs, ascending, to a run list for csiactcopy. plotfile draws a sky map."
    )

    def __init__(self, *args, **kwargs):
        self.selected: Selected | None = None
        super().__init__(*args, **kwargs)

    def runs(self) -> list[int]:
        """The selected observation IDs (integers, ascending; empty before a run)."""
        return [] if self.selected is None else [int(i) for i in self.selected.obs_ids]

    def process(self) -> None:
        settings = self._settings()
        if self.read_ahead:
            self["outfile"].filename()
        store = DataPath.open(settings.datapath, settings.master_indx, timeout=settings.timeout)
        production = store.master.production(settings.prodname)
        self.log_parameters(TERSE)
        self.log.header1(TERSE, "Find observations")
        if settings.cone is None:
            self.log.string(NORMAL, "No sky region: the whole sky is searched")
        with store.index_file(production, "OBS") as path:
            self.selected = select_observations(
                path, cone=settings.cone, max_quality=settings.min_qual,
                expression=settings.expression)
        self.log.value(NORMAL, "Expression", self.selected.expression)
        self.log.value(TERSE, "Observations", len(self.selected.obs_ids))
        self.log.values(NORMAL, ((f"Observation {number}", obs_id)
                                 for number, obs_id in enumerate(self.runs(), start=1)))
        if settings.plotfile:
            from iactcopy.tools.skymap import plot_pointings

            plot_pointings(self.selected, settings.cone, settings.plotfile,
                           title=f"{production.name}: {len(self.selected.obs_ids)} selected")
            self.log.value(NORMAL, "Sky map", settings.plotfile)

    def report_content(self) -> dict:
        selected = self.selected
        if selected is None:
            return {}
        return {"selection": selected.expression, "observations": len(selected.obs_ids),
                "runs": self.runs(), "quality_cut": selected.quality_cut}

    def save(self) -> None:
        """Write the run list to ``outfile``."""
        if self.selected is None:
            return
        outfile = self["outfile"].filename()
        self.log.header1(TERSE, "Save runlist")
        if os.path.exists(outfile) and not self["clobber"].boolean():
            raise IactcopyError(f'File "{outfile}" exists already, runlist not saved. '
                                "Set clobber=yes to overwrite the file.")
        try:
            write_runlist(outfile, self.runs(), header=f"csfindobs: {self.selected.expression}")
        except OSError as err:
            # A missing folder, a folder by that name, a full disk: the user's
            # to fix, and the message names outfile rather than the temporary.
            raise IactcopyError(f'cannot write the run list "{outfile}": '
                                f"{err.strerror or err}") from err
        self.log.value(NORMAL, "Runlist file", outfile)

    def _settings(self) -> Settings:
        datapath = resolve_datapath(self["datapath"].string())
        prodname = self["prodname"].string()
        cone = self._cone()
        expression = self["expression"].string().strip()
        plotfile = self["plotfile"].filename() if self["plotfile"].is_valid() else None
        return Settings(datapath=datapath, prodname=prodname, cone=cone,
                        min_qual=self["min_qual"].integer(),
                        expression=None if expression.upper() in _NO_EXPRESSION else expression,
                        master_indx=self["master_indx"].string(), plotfile=plotfile,
                        timeout=self["timeout"].real())

    def _cone(self) -> Cone | None:
        # Queried in ctools' order, stopping at the first undefined value, so
        # that ra=NONE asks no more (docs/tools/csfindobs.rst); a region given in part
        # is an error rather than a silent all-sky search (docs/differences.rst,
        # "Partial sky region").
        values = []
        for name in ("ra", "dec", "rad"):
            if not self[name].is_valid():
                break
            values.append(self[name].real())
        if not values:
            return None
        if len(values) < 3:
            raise ParameterError("the sky region needs ra, dec and rad; give all three, or "
                                 "ra=NONE for no sky cut")
        ra, dec, rad = values
        if rad <= 0:
            self.log.string(NORMAL, f"rad={rad} is not positive: no sky cut")
            return None
        return Cone(ra, dec, rad)


main = main_for(csfindobs)

if __name__ == "__main__":
    main()
