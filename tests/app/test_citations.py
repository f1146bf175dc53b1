"""Every citation in the repository points to something the repository holds.

A maintainer follows a comment's reference to read the reason behind the
code, so a comment may cite only files of ``docs/`` that exist, and entries
of docs/differences.rst by the name they have there (its bold names, its
``diff-`` labels and its section titles).  Documents outside the repository
(the behaviour specifications the project started from, with their weakness
numbers and section signs) are never cited.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIFFERENCES = ROOT / "docs" / "differences.rst"
SOURCE_FOLDERS = ("iactcopy", "tests", "benchmarks", "examples", "docs")
SOURCE_SUFFIXES = {".py", ".rst", ".md", ".par", ".cfg", ".toml", ".txt", ".yaml"}

#: What a citation of a document outside the repository looks like.
FORBIDDEN = {
    "a weakness number": re.compile(r"\bW-\d"),
    "a section sign": re.compile("\u00a7"),
    "a specification file": re.compile(r"\b(?:tools|application|parameters)\.md\b"),
    "the shared folder": re.compile(r"\.\./shared"),
    "the contract": re.compile(r"\bcontract\b", re.IGNORECASE),
    "an issue of the tracker": re.compile(r"\bissue \d", re.IGNORECASE),
}
#: ``docs/<file>`` with a file suffix; a folder (``docs/_build/html``) is not a citation.
DOCS_FILE = re.compile(r"\bdocs/([\w./-]+\.(?:rst|md|py|css|png))")
#: ``docs/differences.rst, "Name"`` (a comment may break the name over lines).
DIFFERENCES_NAME = re.compile(r'docs/differences\.rst,?[\s#]*[(]?"([^"]+)"')
#: Further names of the same citation: ``, "Name"`` and `` and "Name"``.
MORE_NAMES = re.compile(r'\s*(?:,|and|,\s*and)\s*(?:#\s*)?"([^"]+)"')
LABEL = re.compile(r"\bdiff-[a-z0-9]+(?:-[a-z0-9]+)*")


def _source_files() -> list[Path]:
    files = []
    for folder in SOURCE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if "_build" in path.parts or "__pycache__" in path.parts:
                continue
            if path.is_file() and path.suffix in SOURCE_SUFFIXES and path != Path(__file__):
                files.append(path)
    return files


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _normal(name: str) -> str:
    # A name broken over comment lines: drop the comment signs, one blank between words.
    return " ".join(name.replace("#", " ").split())


@functools.cache
def _differences() -> tuple[frozenset[str], frozenset[str]]:
    """The names (bold entry names and section titles) and the labels of docs/differences.rst."""
    lines = DIFFERENCES.read_text(encoding="utf-8").splitlines()
    names: set[str] = set()
    labels: set[str] = set()
    for number, line in enumerate(lines):
        label = re.match(r"\.\. _(diff-[\w-]+):$", line)
        if label:
            labels.add(label.group(1))
            following = next(text for text in lines[number + 1:] if text.strip())
            bold = re.match(r"(?:\* )?\*\*(.+?)\.\*\*", following)
            assert bold, f"docs/differences.rst:{number + 1}: {label.group(1)} names no entry"
            assert "diff-" + _slug(bold.group(1)) == label.group(1), (
                f"docs/differences.rst:{number + 1}: label {label.group(1)} for "
                f'"{bold.group(1)}"')
        bold = re.match(r"(?:\* )?\*\*(.+?)\.\*\*", line)
        if bold:
            names.add(bold.group(1))
        if number and re.fullmatch(r"([=~^-])\1+", line) and lines[number - 1].strip():
            names.add(lines[number - 1].strip())
    return frozenset(names), frozenset(labels)


SOURCES = _source_files()


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_every_entry_of_the_differences_has_a_label_and_a_name() -> None:
    names, labels = _differences()
    bold_entries = [line for line in DIFFERENCES.read_text(encoding="utf-8").splitlines()
                    if re.match(r"(?:\* )?\*\*(.+?)\.\*\*", line)]
    assert len(labels) == len(bold_entries) > 40
    assert {"diff-" + _slug(name) for name in names} >= labels


def _forbidden(text: str) -> list[str]:
    """Each citation of a document outside the repository: ``<line>: <what> (<text>)``."""
    return [f"{text.count(chr(10), 0, match.start()) + 1}: {what} ({match.group(0)!r})"
            for what, pattern in FORBIDDEN.items() for match in pattern.finditer(text)]


def _missing(text: str) -> list[str]:
    """Each citation of a docs file, differences name or label the repository lacks."""
    names, labels = _differences()
    missing = [f"docs/{match.group(1)}" for match in DOCS_FILE.finditer(text)
               if not (ROOT / "docs" / match.group(1)).exists()]
    for match in DIFFERENCES_NAME.finditer(text):
        cited = [match.group(1)]
        rest = text[match.end():]
        more = MORE_NAMES.match(rest)
        while more:
            cited.append(more.group(1))
            rest = rest[more.end():]
            more = MORE_NAMES.match(rest)
        missing += [f'docs/differences.rst, "{_normal(name)}"' for name in cited
                    if _normal(name) not in names]
    return missing + [label for label in LABEL.findall(text) if label not in labels]


def test_the_checks_find_what_they_look_for() -> None:
    assert _forbidden("# ctools lost it (tools.md W-29, \u00a75.3)\n") == [
        "1: a weakness number ('W-2')", "1: a section sign ('\u00a7')",
        "1: a specification file ('tools.md')"]
    assert _missing('# docs/differences.rst, "Index merge" and\n# "Local master".') == []
    assert _missing('# (docs/differences.rst, "Index\n# merge"; docs/log.rst)') == []
    assert _missing('# docs/differences.rst, "Index merge", "No such entry"; '
                    ':ref:`diff-no-such`; docs/nowhere.rst') == [
        "docs/nowhere.rst", 'docs/differences.rst, "No such entry"', "diff-no-such"]


@pytest.mark.parametrize("path", SOURCES, ids=_rel)
def test_no_citation_of_documents_outside_the_repository(path: Path) -> None:
    found = _forbidden(path.read_text(encoding="utf-8", errors="replace"))
    assert not found, "\n".join(f"{_rel(path)}:{line}" for line in found)


@pytest.mark.parametrize("path", SOURCES, ids=_rel)
def test_cited_documentation_exists(path: Path) -> None:
    missing = _missing(path.read_text(encoding="utf-8", errors="replace"))
    assert not missing, f"{_rel(path)} cites what the repository does not hold: {missing}"
