"""csiactdata: show the productions of a local IACT data store (docs/tools/csiactdata.rst)."""

from __future__ import annotations

from dataclasses import dataclass

from iactcopy.app.application import Application
from iactcopy.app.cli import main_for
from iactcopy.app.logger import TERSE
from iactcopy.tools.datapath import DataPath, resolve_datapath

__all__ = ["csiactdata", "main"]


@dataclass(frozen=True)
class Settings:
    """The parameters of one run, read once."""

    datapath: str
    master_indx: str
    timeout: float


class csiactdata(Application):
    """List the productions (datasets) of a data store whose index files are usable.

    >>> app = csiactdata(datapath="/data/hess_dl3_dr1")  # doctest: +SKIP
    >>> app.run(); app.names()                            # doctest: +SKIP
    ['hess_dl3_dr1']
    """

    name = "csiactdata"
    description = (
        "Show the productions (datasets) listed in the master index file of an IACT data "
        "store, and which of them are usable: both index files present and readable. "
        "datapath=NONE uses the VHEFITS environment variable."
    )

    def __init__(self, *args, **kwargs):
        self._names: list[str] = []
        super().__init__(*args, **kwargs)

    def names(self) -> list[str]:
        """The names of the usable productions, in master-file order (empty before a run)."""
        return list(self._names)

    def process(self) -> None:
        settings = Settings(datapath=resolve_datapath(self["datapath"].string()),
                            master_indx=self["master_indx"].string(),
                            timeout=self["timeout"].real())
        store = DataPath.open(settings.datapath, settings.master_indx, timeout=settings.timeout)
        master = store.master
        self.log_parameters(TERSE)
        self.log.header1(TERSE, "Data storage entries")
        self.log.value(TERSE, "Master index file", master.path)
        self.log.string(TERSE, "")
        self.log.header2(TERSE, "Available data configs")
        self._names = [production.name for production in master.productions
                       if self._show(store, production)]

    def _show(self, store: DataPath, production) -> bool:
        """Log one production; True when both of its index files are usable."""
        self.log.header3(TERSE, production.name)
        usable = store.has_index(production, "HDU") and store.has_index(production, "OBS")
        if not usable:
            self.log.string(TERSE, " Not available")
            return False
        self.log.value(TERSE, "Name", production.name)
        self.log.value(TERSE, "Observation index", production.obsindx)
        self.log.value(TERSE, "HDU index", production.hduindx)
        for key, value in production.extras.items():
            self.log.value(TERSE, key, value)
        return True


main = main_for(csiactdata)

if __name__ == "__main__":
    main()
