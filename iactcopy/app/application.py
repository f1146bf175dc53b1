"""The application base class that every tool subclasses.

An :class:`Application` owns the tool's parameters (the ``.par`` engine) and
its ctools-style log.  A tool implements :meth:`Application.process`; the
base class gives the ctools life cycle (docs/api/application.rst): item access
to parameters, ``run()``, ``save()``, ``execute()``, ``logFileOpen()`` and
``logFileClose()``.

Construction forms, as in ctools:

* ``Tool()`` loads the parameters; no log file is opened.
* ``Tool(argv)`` is the command-line form: ``name=value`` items are applied
  and the log file is opened (and started afresh).  ctools ignores item 0
  (the program name); here an item 0 that is not an argument (no ``=``, no
  ``@``, no trailing ``+``/``-``) is taken for the program name and ignored,
  so both ``Tool(sys.argv)`` and ``Tool(['datapath=/x'])`` work.
* ``Tool(name=value, ...)`` sets parameters as from Python; no log file.

A tool of another package subclasses :class:`Application` as iactcopy's own
do: it sets ``name``, ``package`` and ``version``, ships ``<name>.par``
beside its module (:meth:`Application.par_folders`), and needs no
``PFILES`` setting (docs/writing_tools.rst).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Callable, ClassVar

from iactcopy import __version__
from iactcopy.app.escaping import printable
from iactcopy.app.formatting import header_lines, parformat
from iactcopy.app.libraryrecords import records_to
from iactcopy.app.logger import TERSE, Logger, LogHandler
from iactcopy.errors import (
    IactcopyError,
    InstallationError,
    LogFileError,
    ParFileError,
    ParFileNotFound,
)
from iactcopy.params.cmdline import apply_arguments
from iactcopy.params.envexpand import expand
from iactcopy.params.parameters import Parameter, ParameterSet, Prompter, ValueSource
from iactcopy.params.pfiles import SearchPath, load_parameters, read_definition, save_learned
from iactcopy.params.prompting import StreamPrompter
from iactcopy.urlpasswords import mask

__all__ = ["Application", "is_argument"]


def is_argument(item: str) -> bool:
    """True when *item* is a command-line argument rather than a program name."""
    item = item.strip()
    return "=" in item or item.startswith("@") or (len(item) > 1 and item[-1] in "+-")


class Application:
    """Base class of the tools: parameters, log and life cycle.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments; giving them opens the log file.
    **values
        Parameter values set as from Python (no log file is opened).

    Raises
    ------
    ParameterError, UsageError
        For an unknown name or a value a parameter does not allow.
    """

    #: The tool name; its parameter file is ``<name>.par``.
    name: ClassVar[str] = ""
    #: One paragraph for ``--help``.
    description: ClassVar[str] = ""
    #: The package the tool belongs to, named in the log banner, ``--version`` and ``--help``.
    package: ClassVar[str] = "iactcopy"
    #: The version of that package.
    version: ClassVar[str] = __version__
    #: How many run() calls are in progress in this process, for ``str(app)``.
    _running: ClassVar[int] = 0

    def __init__(self, argv: Sequence[str] | None = None, **values: Any):
        self._wall_start = time.monotonic()
        self._cpu_start = time.process_time()
        self._pending_warnings: list[str] = []
        #: True inside execute(): a tool then asks for its output files up front,
        #: together with its inputs, as ctools does (docs/parameters.rst).
        self.read_ahead = False
        self.log = Logger()
        #: The command-line form's program name and arguments, for ``str(app)``.
        self._argv: list[str] | None = None
        self._pars: ParameterSet = self.load_parameter_set(
            prompter=StreamPrompter(), warn=self.warn)
        for key, value in values.items():
            self[key] = value
        if argv is not None:
            items = list(argv)
            command = self.name
            if items and not is_argument(items[0]):
                command, items = items[0].strip(), items[1:]
            self._argv = [command, *(item.strip() for item in items)]
            apply_arguments(self._pars, items)
            self.logFileOpen()

    # -- where the parameter file is -------------------------------------------
    @classmethod
    def par_folders(cls) -> tuple[str, ...]:
        """The folders beside the tool's code where its ``.par`` file is looked for.

        The folder of the module that defines the class, its ``par/``
        subfolder, then the ``par/`` folder of each package that encloses the
        module, innermost first.  A package that ships ``<name>.par`` in one
        of them needs no ``PFILES`` setting; ``PFILES`` is searched first all
        the same, so a user can still put a definition of their own ahead.
        """
        module = sys.modules.get(cls.__module__)
        path = getattr(module, "__file__", None)
        if not path:
            return ()
        folder = os.path.dirname(os.path.abspath(path))
        folders = [folder, os.path.join(folder, "par")]
        parts = cls.__module__.split(".")
        for depth in range(len(parts) - 1, 0, -1):
            package = sys.modules.get(".".join(parts[:depth]))
            folders += [os.path.join(os.path.abspath(entry), "par")
                        for entry in getattr(package, "__path__", ())]
        return tuple(dict.fromkeys(folders))

    @classmethod
    def search_path(cls, environ: Mapping[str, str] | None = None) -> SearchPath:
        """Where the tool's ``.par`` files are looked for.

        ``PFILES`` (user, then system folders), then :meth:`par_folders`,
        then iactcopy's own ``par/``.  Learned values go to the first
        writable user folder, as for every tool.
        """
        return SearchPath.from_environment(environ, tool_folders=cls.par_folders())

    @classmethod
    def load_parameter_set(cls, *, prompter: Prompter | None = None,
                           warn: Callable[[str], None] | None = None) -> ParameterSet:
        """Load the tool's parameters through :meth:`search_path`, with the values it learned.

        Raises
        ------
        InstallationError
            When the defining ``.par`` file is missing, unreadable or broken.
        """
        with cls._installation():
            return load_parameters(cls.name, search=cls.search_path(), prompter=prompter,
                                   warn=warn)

    @classmethod
    def definition(cls) -> ParameterSet:
        """The parameters the tool's defining ``.par`` file gives, with its defaults.

        What ``--help`` shows: no learned value, no prompter.  The file is
        ``definition().layout.source``.

        Raises
        ------
        InstallationError
            When the defining ``.par`` file is missing, unreadable or broken.
        """
        search = cls.search_path()
        with cls._installation():
            path = search.defining_file(cls.name)
            if path is None:
                raise ParFileNotFound(cls.name, [*search.user, *search.system])
            layout, parameters = read_definition(path)
        return ParameterSet(cls.name, parameters, layout)

    @classmethod
    @contextlib.contextmanager
    def _installation(cls) -> Iterator[None]:
        # A tool that cannot find or read its own file is not the user's
        # mistake (status 2) but its installation's: status 1, with the
        # file and the folders searched.
        try:
            yield
        except (ParFileNotFound, ParFileError) as err:
            raise InstallationError(f"the tool {cls.name} ({cls.package} {cls.version}) is not "
                                    f"installed properly: {err}; reinstall {cls.package}") from err
        except OSError as err:
            raise InstallationError(f"the tool {cls.name} ({cls.package} {cls.version}) cannot "
                                    f"read its parameter file: {err}") from err

    # -- parameters -------------------------------------------------------
    def __getitem__(self, name: str | int) -> Parameter:
        return self._pars[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self._pars.set(name, value, ValueSource.PYTHON)

    def pars(self) -> ParameterSet:
        """The live parameter set (not a copy)."""
        return self._pars

    def pardict(self, values: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """Each parameter's current value, typed where it is valid; nothing is prompted.

        ``pardict(values)`` instead sets each item, as ``app[name] = value``
        does, and returns None (docs/api/application.rst).
        """
        if values is not None:
            for name, value in values.items():
                self[name] = value
            return None
        result: dict[str, Any] = {}
        for par in self._pars:
            valid = par.status.name == "VALID"
            result[par.name] = par.ptype.to_python(par.text) if valid and par.type in "bir" \
                else par.text
        return result

    @property
    def chatter(self) -> int:
        """The current ``chatter`` value, clamped to 0..4."""
        return self._pars.integer("chatter")

    @property
    def debug(self) -> bool:
        """The current ``debug`` value."""
        return "debug" in self._pars and self._pars.boolean("debug")

    def warn(self, message: str, *, stderr: bool = True) -> None:
        """A warning in the log and, unless *stderr* is False, on stderr.

        At a terminal nobody watches the log, so a warning a user must act on
        goes to both.  Warnings given before the log is open (the parameter
        engine's, while loading) are written into it once it opens.
        """
        message = printable(message)
        if stderr:
            sys.stderr.write(f"WARNING: {message}\n")
        if self.log.is_open:
            self.log.string(TERSE, f"WARNING: {message}")
        else:
            self._pending_warnings.append(message)

    # -- the log ----------------------------------------------------------
    def logFileOpen(self, clobber: bool = True) -> None:
        """Open the log file named by ``logfile`` and write the banner.

        The file is started afresh unless *clobber* is False.  An undefined
        ``logfile`` (``NONE``, empty) means no log file.

        Raises
        ------
        IactcopyError
            When the file cannot be opened (ctools ignored this; docs/differences.rst,
            "Log file errors").
        """
        self.log.chatter = self.chatter
        if "logfile" not in self._pars or not self._pars.is_valid("logfile"):
            return
        path = expand(self._pars.value("logfile").strip())
        try:
            self.log.open(path, append=not clobber)
        except OSError as err:
            raise IactcopyError(f'cannot open the log file "{path}": '
                                f"{err.strerror or err}") from err
        if self.debug:
            self.log.echo = sys.stdout
        self.log.banner(self.name, self.version, self.package)
        for message in self._pending_warnings:
            self.log.string(TERSE, f"WARNING: {message}")
        self._pending_warnings.clear()

    def logFileClose(self) -> None:
        """Write the trailer and close the log file (a no-op when none is open)."""
        if self.log.is_open and self.log.written:
            self.log.trailer(self.name, time.monotonic() - self._wall_start,
                             time.process_time() - self._cpu_start)
        self.log.close()

    def log_parameters(self, level: int = TERSE) -> None:
        """Write the Parameters block: every parameter in file order (docs/api/application.rst)."""
        if self.log.chatter < level:
            return
        self.log.raw("" if self.log.at_line_start else "\n")
        for line in header_lines("Parameters", 1):
            self.log.raw(line + "\n")
        for par in self._pars:
            shown = par.text if self._pars.is_settled(par) else "[not queried]"
            self.log.value(level, par.name, shown)

    def log_error(self, message: str) -> None:
        """Write ``*** ERROR: <message>`` into the log, when it is open."""
        if self.log.is_open:
            message = printable(" ".join(str(message).splitlines()))
            # A log that fails here loses this line only: the error is on stderr.
            with contextlib.suppress(LogFileError):
                self.log.raw(("" if self.log.at_line_start else "\n") + f"*** ERROR: {message}\n")

    # -- the life cycle ---------------------------------------------------
    def process(self) -> None:
        """The tool's work; subclasses implement it."""
        raise NotImplementedError

    def run(self) -> None:
        """Do the tool's work (``process()``); parameters are not saved."""
        self.log.chatter = self.chatter
        if self.debug:
            self.log.echo = sys.stdout
        Application._running += 1
        try:
            with records_to(LogHandler(self.log)), _library_warnings(shown=self.debug):
                self.process()
        finally:
            # Restored on failure too: ctools left it raised, and every later object
            # of the interpreter then counted as a child.
            Application._running -= 1

    def save(self) -> None:
        """Write the tool's results; the base class has none."""

    def execute(self) -> None:
        """``run()``, then ``save()``, then the report, then learn the parameters that changed."""
        self.read_ahead = True
        self.run()
        self.save()
        self.write_report()
        save_learned(self._pars)

    def report_content(self) -> dict[str, Any]:
        """What the tool adds to its YAML report (counts, sizes, timings); none by default."""
        return {}

    def write_report(self) -> str | None:
        """Write the YAML report named by a ``report`` parameter, if the tool has one.

        The report holds the tool, its version, the exit status, every
        parameter's value and what :meth:`report_content` adds, for pipelines
        that would otherwise parse the log.  It is replaced atomically.
        Returns the path written, or None.
        """
        if "report" not in self._pars or not self._pars.is_valid("report"):
            return None
        import yaml

        from iactcopy.atomicfile import write_atomically

        path = self._pars.filename("report")
        document = {"tool": self.name, "package": self.package, "version": self.version,
                    "exit_status": self.exit_status,
                    "elapsed_seconds": round(time.monotonic() - self._wall_start, 3),
                    "parameters": {name: mask(value) if isinstance(value, str) else value
                                   for name, value in self.pardict().items()},
                    **self.report_content()}
        try:
            write_atomically(path, yaml.safe_dump(document, sort_keys=False,
                                                  allow_unicode=True))
        except OSError as err:
            raise IactcopyError(f'cannot write the report "{path}": '
                                f"{err.strerror or err}") from err
        return path

    @property
    def exit_status(self) -> int:
        """The status of a run that finished: 0, or 3 when files were missing or refused."""
        return 0

    def __del__(self) -> None:
        # ctools writes the trailer when the object goes; a failure here
        # must not surface as "Exception ignored" at interpreter exit.
        with contextlib.suppress(Exception):
            self.logFileClose()

    def __str__(self) -> str:
        # The layout of ctools' GApplication printout (docs/api/application.rst).
        lines = ["=== GApplication ===",
                 parformat("Name") + self.name,
                 parformat("Version") + self.version,
                 parformat("Running instances") + str(Application._running)]
        if self._argv is not None:
            labels = ["Command", "Arguments"]
            lines += [parformat(labels[number] if number < len(labels) else " " * 27) + item
                      for number, item in enumerate(self._argv)]
        lines += [parformat(par.name) + mask(par.text) for par in self._pars]
        return "\n".join(lines)

    @staticmethod
    def expand_path(text: str) -> str:
        """Expand environment references and ``~`` in a folder name (docs/api/application.rst)."""
        return os.path.normpath(expand(text.strip())) if text.strip() else ""


@contextlib.contextmanager
def _library_warnings(*, shown: bool):
    """Python warnings raised while a tool runs: hidden, unless *shown* (``debug=yes``).

    iactcopy itself reports through its log and never through
    :mod:`warnings`; what arrives there is a library's business (asyncssh's
    deprecation warnings about DSA keys, for instance), not the user's.
    """
    if shown:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
