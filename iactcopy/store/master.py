"""The master index of a data store: ``master.json`` and its productions.

The master index is a JSON object whose ``datasets`` key lists the
productions of the store; each names its HDU and OBS index files relative to
the folder of the master file (docs/tutorial.rst).  :class:`MasterIndex` keeps the
whole document, key order included, so that a rewrite changes only what it
means to change: other productions and other top-level keys stay untouched
(ctools deleted every entry whose disk was not mounted; docs/differences.rst,
"Local master").
"""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from iactcopy.atomicfile import ReplaceTogether, write_atomically
from iactcopy.errors import DataStoreError

__all__ = ["REQUIRED_KEYS", "MasterIndex", "Production"]

log = logging.getLogger(__name__)

REQUIRED_KEYS = ("name", "hduindx", "obsindx")
"""The keys every entry of ``datasets`` must have, each with a string value."""


@dataclass(frozen=True)
class Production:
    """One entry of ``datasets``: a production and where its indexes are.

    Parameters
    ----------
    name : str
        The production name, unique within the master index.
    hduindx, obsindx : str
        The HDU and OBS index file names as written in the master file,
        relative to `folder` unless absolute.
    extras : dict
        The other keys of the entry, in file order (descriptive text or
        numbers such as ``"Total observations"``).
    folder : str
        The folder of the master file. Default is the empty string (the
        current folder).
    """

    name: str
    hduindx: str
    obsindx: str
    extras: dict[str, Any] = field(default_factory=dict, hash=False)
    folder: str = ""

    @property
    def hdu_index_path(self) -> str:
        """The path of the HDU index file (plain join with `folder`)."""
        return os.path.join(self.folder, self.hduindx)

    @property
    def obs_index_path(self) -> str:
        """The path of the OBS index file (plain join with `folder`)."""
        return os.path.join(self.folder, self.obsindx)

    def to_dict(self) -> dict[str, Any]:
        """Return the entry as written in ``datasets``: required keys first, then extras."""
        entry = {"name": self.name, "hduindx": self.hduindx, "obsindx": self.obsindx}
        entry.update(copy.deepcopy(self.extras))
        return entry


class MasterIndex:
    """The whole master index document and the productions it lists.

    Parameters
    ----------
    document : dict
        The parsed JSON document. It is validated here: a top-level object
        with a list ``datasets`` of objects, each with string values for
        ``name``, ``hduindx`` and ``obsindx``, and no name twice.
    path : str or path-like, optional
        The file the document was read from or will be written to; it names
        the file in error messages and gives the folder that index paths are
        relative to. Default: none (messages say ``<document>``, and paths are
        relative to the current folder).

    Raises
    ------
    DataStoreError
        When the document does not have the structure described above.

    Examples
    --------
    >>> master = MasterIndex({"datasets": [
    ...     {"name": "a", "hduindx": "hdu.fits", "obsindx": "obs.fits"}]})
    >>> master.names()
    ['a']
    >>> master.production("a").hdu_index_path
    'hdu.fits'
    """

    def __init__(self, document: Mapping[str, Any], path: str | os.PathLike | None = None):
        self.path = None if path is None else os.fspath(path)
        self._source = self.path if self.path is not None else "<document>"
        if not isinstance(document, Mapping):
            raise DataStoreError(
                f'Master index file "{self._source}" must hold a JSON object '
                f'{{"datasets": [...]}}, not {_json_type(document)}.')
        self.document = dict(document)
        self._productions = self._parse_datasets()

    @classmethod
    def read(cls, path: str | os.PathLike) -> MasterIndex:
        """Read and validate a master index file.

        Parameters
        ----------
        path : str or path-like
            The master file, e.g. ``/data/hess/master.json``. Its exact name
            is used; no compressed variant is tried.

        Returns
        -------
        MasterIndex

        Raises
        ------
        DataStoreError
            When the file is missing, unreadable, not valid JSON (the message
            gives line and column) or not a valid master index.
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            what = "is a folder, not a file" if os.path.isdir(path) else "not found"
            raise DataStoreError(f'Master index file "{path}" {what}.')
        try:
            with open(path, "rb") as stream:
                data = stream.read()
        except OSError as err:
            raise DataStoreError(
                f'Master index file "{path}" cannot be read: {err.strerror or err}.') from err
        return cls.from_bytes(data, path)

    @classmethod
    def from_bytes(cls, data: bytes | str, path: str) -> MasterIndex:
        """Parse and validate the content of a master index file.

        :meth:`read` ends here, and so does a master file fetched by URL
        (:mod:`iactcopy.store.access.urls`).

        Parameters
        ----------
        data : bytes or str
            The file content, UTF-8 when bytes.
        path : str
            Where it came from, a path or URL: it names the file in messages
            and gives the folder that index paths are relative to.

        Returns
        -------
        MasterIndex

        Raises
        ------
        DataStoreError
            When the content is not UTF-8, not valid JSON (the message gives
            line and column) or not a valid master index.
        """
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            # As a file opened in text mode reads it, so line numbers match an editor's.
            document = json.loads(text.replace("\r\n", "\n").replace("\r", "\n"))
        except json.JSONDecodeError as err:
            raise DataStoreError(
                f'Master index file "{path}" is not valid JSON: {err.msg} '
                f"at line {err.lineno}, column {err.colno}.") from err
        except UnicodeDecodeError as err:
            raise DataStoreError(
                f'Master index file "{path}" is not UTF-8 text: {err.reason} '
                f"at byte {err.start}.") from err
        except RecursionError as err:
            raise DataStoreError(
                f'Master index file "{path}" is not a master index: its JSON nests arrays '
                "or objects too deeply to be read.") from err
        except ValueError as err:
            # Python refuses integers of more than a few thousand digits
            # (sys.get_int_max_str_digits): no master index needs one.
            raise DataStoreError(
                f'Master index file "{path}" is not a master index: it holds a number too '
                f"long to read ({str(err).split(';')[0]}).") from err
        return cls(document, path)

    @property
    def folder(self) -> str:
        """The folder of the master file, which index paths are relative to."""
        return os.path.dirname(self.path) if self.path is not None else ""

    @property
    def productions(self) -> list[Production]:
        """The productions in file order."""
        return list(self._productions)

    def names(self) -> list[str]:
        """Return the production names in file order."""
        return [production.name for production in self._productions]

    def __contains__(self, name: object) -> bool:
        return any(production.name == name for production in self._productions)

    def __len__(self) -> int:
        return len(self._productions)

    def __repr__(self) -> str:
        return f"MasterIndex({self._source!r}, productions={self.names()!r})"

    def production(self, name: str) -> Production:
        """Return the production called `name` (exact, case-sensitive match).

        Raises
        ------
        DataStoreError
            When there is no such production; the message lists those there are.
        """
        for production in self._productions:
            if production.name == name:
                return production
        available = ", ".join(self.names()) or "(none)"
        raise DataStoreError(
            f'FITS production "{name}" not available. Available productions are: {available}')

    def with_production(self, entry: Mapping[str, Any] | Production) -> MasterIndex:
        """Return a copy in which `entry` is the entry of its production name.

        An existing entry of the same name is replaced where it stands; a new
        name is appended. Other entries and other top-level keys are kept
        as they are.

        Parameters
        ----------
        entry : mapping or Production
            The complete new entry, with ``name``, ``hduindx`` and ``obsindx``.

        Returns
        -------
        MasterIndex
            A new object with the same `path`; this one is unchanged.

        Raises
        ------
        DataStoreError
            When `entry` lacks a required key or has a non-string value for one.
        """
        new_entry = entry.to_dict() if isinstance(entry, Production) else copy.deepcopy(
            dict(entry))
        _check_entry(new_entry, "the new entry", self._source)
        document = copy.deepcopy(self.document)
        datasets = document["datasets"]
        for number, old in enumerate(datasets):
            if old["name"] == new_entry["name"]:
                datasets[number] = new_entry
                break
        else:
            datasets.append(new_entry)
        return type(self)(document, self.path)

    def to_json(self) -> str:
        """Return the document as written to a file: 2-space indent, final newline."""
        return json.dumps(self.document, indent=2, ensure_ascii=False) + "\n"

    def write(self, path: str | os.PathLike | None = None, *,
              together: ReplaceTogether | None = None) -> None:
        """Write the document atomically (temporary file, fsync, rename).

        Parameters
        ----------
        path : str or path-like, optional
            Where to write. Default: the path the index was read from.
        together : ReplaceTogether, optional
            Rename the file into place with the others written with it.
            Default: at once.

        Raises
        ------
        ValueError
            When neither `path` nor the object's own path is set.
        OSError
            When the file cannot be written; an existing file is then unchanged.
        """
        target = self.path if path is None else os.fspath(path)
        if target is None:
            raise ValueError("MasterIndex.write() needs a path: this index was not read "
                             "from a file")
        write_atomically(target, self.to_json(), together=together)

    def _parse_datasets(self) -> list[Production]:
        source = self._source
        if "datasets" not in self.document:
            raise DataStoreError(
                f'Key "datasets" not available in master index file "{source}".')
        datasets = self.document["datasets"]
        if not isinstance(datasets, list):
            raise DataStoreError(
                f'Key "datasets" in master index file "{source}" must be a JSON array '
                f"of production entries, not {_json_type(datasets)}.")
        productions = []
        first_seen: dict[str, int] = {}
        for number, entry in enumerate(datasets, start=1):
            where = f"entry {number} of \"datasets\""
            _check_entry(entry, where, source)
            name = entry["name"]
            # ctools processed every entry of a repeated name (docs/differences.rst,
            # "Local master").
            if name in first_seen:
                raise DataStoreError(
                    f'Master index file "{source}" lists production "{name}" twice '
                    f"(entries {first_seen[name]} and {number}); names must be unique.")
            first_seen[name] = number
            extras = {key: value for key, value in entry.items() if key not in REQUIRED_KEYS}
            productions.append(Production(name, entry["hduindx"], entry["obsindx"], extras,
                                          self.folder))
        return productions


def _check_entry(entry: Any, where: str, source: str) -> None:
    if not isinstance(entry, Mapping):
        raise DataStoreError(
            f'Master index file "{source}": {where} must be a JSON object with keys '
            f'"name", "hduindx" and "obsindx", not {_json_type(entry)}.')
    for key in REQUIRED_KEYS:
        if key not in entry:
            raise DataStoreError(
                f'Master index file "{source}": {where} has no key "{key}" '
                f'(required: "name", "hduindx", "obsindx").')
        if not isinstance(entry[key], str) or not entry[key].strip():
            raise DataStoreError(
                f'Master index file "{source}": key "{key}" of {where} must be a non-empty '
                f"string, not {entry[key]!r}.")


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), f"a {type(value).__name__}")
