"""Fuzzing with hypothesis: random input never ends in an uncaught exception.

* Random ``.par`` text (system file and user copy): reading, loading, setting
  and reading every parameter back raise nothing but
  :class:`~iactcopy.errors.IactcopyError` subclasses (``ParFileError``,
  ``ParameterError``).
* Random command lines for the three tools' real parameters: only
  ``UsageError`` and ``ParameterError``; run in full (csiactdata and a toy
  tool with every type), exit status 0, 1 or 2, never an internal error,
  one ``*** ERROR`` line when not 0.
* Random index tables with random schemas (columns only one side has,
  integer widths, TNULLs, floats, strings of different widths, repeated
  keys): merges are idempotent (``merge(merge(L, R), R) == merge(L, R)``),
  never repeat a key, follow the clobber rule, and commute for disjoint
  observation sets (rows sorted by OBS_ID, columns compared by name); a
  merged table written to FITS and read back merges to itself.
* Random run-list files (any bytes): a list of distinct 64-bit IDs equal to
  a reference reading, or a ``RunListError`` naming the file and the first
  bad line.

``tests/params/test_properties.py`` and ``tests/store/test_index_merge.py``
already check that saved values load back and that a fixed-schema merge is
idempotent; these tests widen the input, not the same property again.

Example counts are kept small enough for the default run (a few seconds
each); ``IACTCOPY_SOAK=1`` multiplies them by 20.
"""

from __future__ import annotations

import contextlib
import os
import re
import string
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hardchecks import TOY_PAR, HardToy, run_tool, soak
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from iactcopy.errors import IactcopyError, IndexTableError, RunListError
from iactcopy.params.cmdline import apply_arguments
from iactcopy.params.parameters import MODES
from iactcopy.params.parfile import parse_par
from iactcopy.params.pfiles import SearchPath, load_parameters, parameters_from_text, save_learned
from iactcopy.store.index.merge import merge_index
from iactcopy.store.index.tables import IndexTable
from iactcopy.store.runlist import read_runlist

SCALE = 20 if soak() else 1


def examples(count: int):
    """Hypothesis settings: *count* examples (times 20 in a soak), no deadline."""
    return settings(max_examples=count * SCALE, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])


# -- .par files ----------------------------------------------------------------------------
#: Characters that matter to the syntax or to a converter, and a non-UTF-8 byte
#: as the reader sees it (surrogateescape).
_SYNTAX = st.sampled_from([",", '"', "'", " ", "\t", "#", "|", "=", "é", "a", "Z", "0", "1",
                           "9", "-", "+", ".", "e", "$", "~", "(", ")", "/", ":", "T", "\x0c",
                           "\x85", "\u2028", "\udcff", "\\", "{", "}"])
_TOKENS = st.sampled_from(["INDEF", "NONE", "undef", "nan", "INF", "inf", "-inf", "yes", "no",
                           "1", "-5", "0.5", "1e400", "1" * 4400, "2020-02-30",
                           "2020-01-01T00:00:60", "MJD 5", "JD x", "", "ql", "h", "a", "0|1|2",
                           "a|b", "1|x", "$HOME/x", "~/x", "${NOPE}", "\"q\"", '""'])
field = st.one_of(_TOKENS, st.text(_SYNTAX, max_size=8))
par_line = st.builds(
    lambda name, ptype, mode, value, low, high, prompt, blanks:
        blanks.join([name, ptype, mode, value, low, high, prompt]),
    st.one_of(st.sampled_from(["mode", "chatter", "infile", "n"]), field),
    st.one_of(st.sampled_from(["b", "i", "r", "s", "t", "f", "fr", "fw", "fe", "fn", "x", "I"]),
              field),
    st.one_of(st.sampled_from([*sorted(MODES), "", "z", "A", "hql"]), field),
    field, field, field, field,
    st.sampled_from([",", ", ", ",\t"]))
#: Values each type takes, mostly valid, sometimes not.
_VALID = {"b": st.sampled_from(["yes", "no", "y", "F", "true"]),
          "i": st.one_of(st.integers(-10, 10).map(str), st.sampled_from(["INDEF", "nan"])),
          "r": st.one_of(st.floats(allow_nan=False).map(repr), st.sampled_from(["INDEF", "1e3"])),
          "s": field, "t": st.sampled_from(["2020-01-01", "MJD 51544.5", "12.5", "NONE"]),
          "f": field, "fr": field, "fw": field, "fe": field, "fn": field}
_LIMITS = {"i": st.sampled_from([("", ""), ("0", "10"), ("0|1|2", ""), ("1", "")]),
           "r": st.sampled_from([("", ""), ("0", "1"), ("-1e3", "")]),
           "s": st.sampled_from([("", ""), ("a|b|c", "")])}


@st.composite
def good_lines(draw) -> tuple[str, str]:
    """(name, line): a parameter line a tool could have, with a random value and limits."""
    name = draw(st.sampled_from(["infile", "count", "ratio", "flag", "label", "start",
                                 "chatter", "logfile", "outfile", "extra"]))
    ptype = draw(st.sampled_from(sorted(_VALID)))
    value = draw(st.one_of(_VALID[ptype], _VALID[ptype], _VALID[ptype], field))
    limits = _LIMITS.get(ptype, st.just(("", "")))
    low, high = draw(st.one_of(limits, limits, limits, st.tuples(field, field)))
    mode = draw(st.sampled_from(["a", "h", "q", "l", "ql", "hl", "al"]))
    blank = draw(st.sampled_from([",", ", ", ",\t"]))
    return name, blank.join([name, ptype, mode, render(value), render(low), render(high),
                             '"A prompt"'])


def render(value: str) -> str:
    from iactcopy.params.parfile import render_value

    try:
        return render_value(value) if value else value
    except ValueError:
        return value


junk_line = st.one_of(par_line, st.text(_SYNTAX, max_size=30), st.just("# comment"),
                      st.just(""))
par_text = st.builds(
    lambda good, junk, mode, end, last: end.join(
        [mode, *(line for _, line in good), *junk]) + (end if last else ""),
    st.lists(good_lines(), max_size=8, unique_by=lambda item: item[0]),
    st.lists(junk_line, max_size=1),
    st.sampled_from(["mode, s, h, ql,,, \"Mode\"", "mode, s, h, h,,,", "", "mode, s, h, x,,,"]),
    st.sampled_from(["\n", "\r\n", "\r"]), st.booleans())


def _read_every_parameter(pset) -> None:
    """Read each parameter with the accessor of its type; only IactcopyError may come."""
    for par in pset:
        reader = {"b": pset.boolean, "i": pset.integer, "r": pset.real, "s": pset.string,
                  "t": pset.time}.get(par.type, pset.filename)
        with contextlib.suppress(IactcopyError):
            reader(par.name)


@examples(600)
@given(text=par_text)
def test_par_text_parses_or_raises_par_file_error(text):
    try:
        layout = parse_par(text, source="fuzz.par")
    except IactcopyError:
        layout = parse_par(text, source="fuzz.par", problems=[])
    problems: list = []
    parameters = parameters_from_text(layout, problems=problems)
    assert len(parameters) + len(problems) >= len(layout.parameter_lines)
    for lineno, _, why in problems:
        assert 1 <= lineno <= max(len(layout.lines), 1) and why


@examples(400)
@given(system=par_text, user=par_text, values=st.lists(st.tuples(field, field), max_size=4))
def test_random_par_files_load_or_fail_cleanly(system, user, values):
    """A random system file and a random user copy: the tool loads, or stops with a
    ParFileError/ParameterError; values set from Python and learned never raise else."""
    with tempfile.TemporaryDirectory() as root:
        user_dir, system_dir = Path(root, "pfiles"), Path(root, "syspfiles")
        user_dir.mkdir()
        system_dir.mkdir()
        (system_dir / "fuzz.par").write_bytes(system.encode("utf-8", "surrogateescape"))
        (user_dir / "fuzz.par").write_bytes(user.encode("utf-8", "surrogateescape"))
        search = SearchPath((str(user_dir),), (str(system_dir),))
        try:
            pset = load_parameters("fuzz", search=search, warn=lambda message: None)
        except IactcopyError:
            event("system file refused")
            return
        event(f"loaded {min(len(pset), 3)}+ parameters")
        _read_every_parameter(pset)
        for name, value in values:
            with contextlib.suppress(IactcopyError):
                pset.set(name, value)
        save_learned(pset)
        try:
            again = load_parameters("fuzz", search=search, warn=lambda message: None)
        except IactcopyError:
            return
        _read_every_parameter(again)


# -- command lines ---------------------------------------------------------------------------
_ARG_CHARS = st.sampled_from([*"abcnqtx019.-+=@, \t\"'|#é", "\udcff", "\x0c"])
_ARG_TOKENS = st.sampled_from(["yes", "no", "NONE", "INDEF", "nan", "1e3", "-1", "0", "65",
                               "4", "2.5", "7" * 4400, "", " ", "h", "ql", "a", "q", "hl",
                               "iactcopy-sim", "x,y", '"quoted"'])
_YAML = {"ok.yaml": "chatter: 3\n", "bad.yaml": "chatter: [1\n", "list.yaml": "- a\n",
         "nested.yaml": "chatter: {a: 1}\n", "unknown.yaml": "nosuch: 1\n",
         "null.yaml": "chatter: null\n", "empty.yaml": ""}
_FILES = st.sampled_from(["@" + name for name in sorted(_YAML)]
                         + ["@missing.yaml", "@.", "@latin1.yaml"])


_ARG_VALUES = st.one_of(_ARG_TOKENS, st.text(_ARG_CHARS, max_size=8))


def _arguments(names: list[str], values=_ARG_VALUES):
    name = st.one_of(st.sampled_from(names), st.sampled_from([n[:2] for n in names]),
                     st.text(_ARG_CHARS, max_size=6))
    argument = st.one_of(
        st.builds(lambda n, v: f"{n}={v}", name, values),
        st.builds(lambda n, v: f"{n}={v}", name, values),
        st.builds(lambda n, s: f"{n}{s}", name, st.sampled_from(["+", "-"])),
        _FILES,
        st.text(_ARG_CHARS, max_size=10),
    )
    return st.lists(argument, max_size=6)


@pytest.fixture
def yaml_files(isolated) -> Path:
    for name, text in _YAML.items():
        (isolated.work / name).write_text(text, encoding="utf-8")
    (isolated.work / "latin1.yaml").write_bytes(b"prodname: caf\xe9\n")
    return isolated.work


TOOL_NAMES = {
    "csiactcopy": ["remote_master", "prodname", "runlist", "outpath", "report", "nthreads",
                   "verify", "dryrun", "timeout", "chatter", "clobber", "debug", "mode",
                   "logfile"],
    "csiactdata": ["datapath", "master_indx", "timeout", "chatter", "clobber", "debug", "mode",
                   "logfile"],
    "csfindobs": ["datapath", "prodname", "outfile", "ra", "dec", "rad", "min_qual",
                  "expression", "master_indx", "plotfile", "report", "timeout", "chatter",
                  "clobber", "debug", "mode", "logfile"],
}


@pytest.mark.parametrize("tool", sorted(TOOL_NAMES))
def test_random_command_lines_give_usage_or_parameter_errors(tool, yaml_files):
    names = TOOL_NAMES[tool]
    assert load_parameters(tool).names == names, "the tool's parameters changed: update"

    @examples(300)
    @given(args=_arguments(names))
    def check(args):
        pset = load_parameters(tool)
        try:
            apply_arguments(pset, args)
        except IactcopyError as err:
            assert err.exit_status == 2, err
        _read_every_parameter(pset)

    check()


#: Values for full runs: no "/", "$" or "~", so that a random logfile or outfile
#: lands in the test's folder.
_SAFE_CHARS = st.sampled_from([*"abcnqx019.-+=, \t\"'|#é", "\udcff"])
_SAFE_TOKENS = st.sampled_from(["yes", "no", "NONE", "INDEF", "nan", "-1", "0", "4", "2.5",
                                "9" * 4400, "", "h", "ql", "q", "store", "master.json",
                                "2020-01-01", "2020-02-30"])


@pytest.mark.parametrize("tool", ["csiactdata", "hardtoy"])
def test_random_command_lines_run_to_a_clean_end(tool, yaml_files, sim_master, isolated,
                                                 monkeypatch):
    """Whole runs: exit 0, 1 or 2; an error is one line; never an internal error."""
    if tool == "hardtoy":
        system = isolated.root / "syspfiles"
        system.mkdir()
        (system / "hardtoy.par").write_text(TOY_PAR, encoding="utf-8")
        monkeypatch.setenv("PFILES", f"{isolated.pfiles};{system}")
        names, cls = [line.split(",")[0] for line in TOY_PAR.splitlines()
                      if line and not line.startswith("#")], HardToy
    else:
        names, cls = TOOL_NAMES[tool], tool
    monkeypatch.setenv("VHEFITS", str(sim_master.parent))
    (isolated.work / "store").symlink_to(sim_master.parent)

    @examples(100)
    @given(args=_arguments(names, st.one_of(_SAFE_TOKENS, st.text(_SAFE_CHARS, max_size=8))))
    def check(args):
        assume(not any("/" in arg or "$" in arg or "~" in arg for arg in args))
        outcome = run_tool(cls, *args)
        assert outcome.status in (0, 1, 2), outcome
        assert "internal error" not in outcome.stderr and "Traceback" not in outcome.stderr
        assert len(outcome.error_lines) == (outcome.status != 0), outcome.stderr

    check()


# -- index tables ----------------------------------------------------------------------------
#: Optional columns: name -> dtypes one side may give it (a number column may be an
#: integer on one side and a float on the other; that merges to float).
OPTIONAL = {"SIZE": [">i2", ">i4", ">i8", ">u2"], "LIVETIME": [">f4", ">f8", ">i4"],
            "OBJECT": ["U3", "U9"], "GOOD": ["?"]}
_TEXT = string.ascii_letters + string.digits + "_.-+"
_HDU_KEYS = [("events", "events"), ("EVENTS", "events"), ("gti", "gti"), ("aeff", "aeff_2d"),
             ("bkg", "bkg_3d"), ("bkg", "bkg_2d"), (" psf", "psf_table ")]


@st.composite
def index_tables(draw, kind: str, obs_ids=None, max_rows: int = 10):
    """An HDU or OBS index with a random subset of optional columns and random TNULLs."""
    obs_ids = obs_ids if obs_ids is not None else st.integers(1, 9)
    optional = draw(st.lists(st.sampled_from(sorted(OPTIONAL)), unique=True))
    dtypes = {name: draw(st.sampled_from(OPTIONAL[name])) for name in optional}
    required = ([("OBS_ID", draw(st.sampled_from([">i8", ">i4", "<i8"])))] if kind == "OBS" else
                [("OBS_ID", ">i8"), ("HDU_TYPE", "U8"), ("HDU_CLASS", "U10"), ("FILE_DIR", "U6"),
                 ("FILE_NAME", "U12"), ("HDU_NAME", "U6")])
    dtype = np.dtype(required + [(name, dtypes[name]) for name in optional])
    count = draw(st.integers(0, max_rows))
    data = np.zeros(count, dtype=dtype)
    keywords = {}
    for name in optional:
        base = np.dtype(dtypes[name])
        if base.kind in "iu":
            # Small values and small TNULLs meet: one side's TNULL is then a defined
            # value of the other side's.
            info = np.iinfo(base)
            low = max(info.min, -3)
            values = draw(st.lists(st.integers(low, 3) | st.integers(max(info.min, -1000),
                                                                     min(info.max, 1000)),
                                   min_size=count, max_size=count))
            null = draw(st.sampled_from([None, int(info.min if base.kind == "i" else info.max),
                                         low, 3]))
            if null is not None:
                keywords[name] = {"TNULL": null}
        elif base.kind == "f":
            values = draw(st.lists(st.floats(-1e6, 1e6, width=32) | st.just(float("nan")),
                                   min_size=count, max_size=count))
        elif base.kind == "U":
            values = draw(st.lists(st.text(_TEXT, max_size=base.itemsize // 4),
                                   min_size=count, max_size=count))
        else:
            values = draw(st.lists(st.booleans(), min_size=count, max_size=count))
        data[name] = values
    data["OBS_ID"] = draw(st.lists(obs_ids, min_size=count, max_size=count))
    if kind == "HDU":
        pairs = draw(st.lists(st.sampled_from(_HDU_KEYS), min_size=count, max_size=count))
        data["HDU_TYPE"] = [t for t, _ in pairs]
        data["HDU_CLASS"] = [c for _, c in pairs]
        data["FILE_DIR"] = draw(st.lists(st.sampled_from(["data", "", "./d"]),
                                         min_size=count, max_size=count))
        data["FILE_NAME"] = draw(st.lists(st.text(_TEXT, min_size=1, max_size=12),
                                          min_size=count, max_size=count))
        data["HDU_NAME"] = "x"
    header = [{"name": "ORIGIN", "value": draw(st.text(_TEXT, max_size=5)), "comment": ""}]
    return IndexTable(kind, data, header=header, column_keywords=keywords)


def keys_of(table: IndexTable) -> list[tuple]:
    if table.kind == "OBS":
        return [(int(obs_id),) for obs_id in table.obs_ids]
    return [(int(o), str(t).strip().lower(), str(c).strip().lower())
            for o, t, c in zip(table.obs_ids, table.data["HDU_TYPE"], table.data["HDU_CLASS"])]


def first_rows(table: IndexTable) -> dict[tuple, int]:
    """The row number of the first row of each key."""
    found: dict[tuple, int] = {}
    for number, key in enumerate(keys_of(table)):
        found.setdefault(key, number)
    return found


def cells(table: IndexTable) -> list[dict]:
    """Rows as {column: value}, nulls (NaN, TNULL) as None, whatever the column order."""
    rows = []
    nulls = {name: keys.get("TNULL") for name, keys in table.column_keywords.items()}
    for record in table.data:
        row = {}
        for name in table.columns:
            value = record[name].item() if hasattr(record[name], "item") else record[name]
            null = nulls.get(name)
            if (isinstance(value, float) and np.isnan(value)) or (null is not None
                                                                  and value == null):
                value = None
            row[name] = value
        rows.append(row)
    return rows


def same_value(got, expected) -> bool:
    """Equal, numbers compared as floats (an integer side may have become float)."""
    if got is None or expected is None or isinstance(got, (str, bool)):
        return got == expected
    return float(got) == float(expected)


def mergeable(local: IndexTable | None, remote: IndexTable) -> bool:
    """False when a column holds text on one side and numbers on the other (an error)."""
    if local is None:
        return True
    return all((local.data.dtype[name].kind == "U") == (remote.data.dtype[name].kind == "U")
               for name in set(local.columns) & set(remote.columns))


pairs = st.sampled_from(["HDU", "OBS"]).flatmap(
    lambda kind: st.tuples(st.one_of(st.none(), index_tables(kind)), index_tables(kind)))


@examples(800)
@given(tables=pairs, clobber=st.booleans())
def test_merge_is_idempotent_has_unique_keys_and_follows_clobber(tables, clobber):
    local, remote = tables
    if not mergeable(local, remote):
        event("type clash")
        with pytest.raises(IndexTableError, match="cannot be merged"):
            merge_index(local, remote, clobber=clobber)
        return
    once, _ = merge_index(local, remote, clobber=clobber)
    twice, _ = merge_index(once, remote, clobber=clobber)
    assert twice.same_content(once)
    keys = keys_of(once)
    assert len(keys) == len(set(keys)), "a key appears twice"
    if local is not None and all(list(t.obs_ids) == sorted(t.obs_ids) for t in tables):
        assert list(once.obs_ids) == sorted(once.obs_ids), "sorted stores stay sorted"
    remote_first, local_first = first_rows(remote), first_rows(local) if local else {}
    remote_obs = {key[0] for key in remote_first}
    if clobber:
        expected = {key for key in local_first if key[0] not in remote_obs} | set(remote_first)
    else:
        expected = set(local_first) | set(remote_first)
    assert set(keys) == expected
    # Each row holds the values of the side that won its key.
    merged = dict(zip(keys, cells(once)))
    remote_cells, local_cells = cells(remote), cells(local) if local else []
    for key, row in merged.items():
        from_remote = key[0] in remote_obs if clobber else key not in local_first
        source = remote_cells[remote_first[key]] if from_remote else local_cells[local_first[key]]
        for name, value in source.items():
            assert same_value(row[name], value), (key, name, row[name], value)


@examples(500)
@given(data=st.data(), kind=st.sampled_from(["HDU", "OBS"]))
def test_disjoint_observations_merge_in_either_order(data, kind):
    left = data.draw(index_tables(kind, obs_ids=st.integers(1, 5)))
    right = data.draw(index_tables(kind, obs_ids=st.integers(6, 9)))
    assume(mergeable(left, right))
    results = [merge_index(a, b, clobber=clobber)[0]
               for a, b in ((left, right), (right, left)) for clobber in (True, False)]
    first = results[0]
    assert sorted(first.columns) == sorted(set(left.columns) | set(right.columns))
    for other in results[1:]:
        assert sorted(other.columns) == sorted(first.columns)
        assert {name: other.data.dtype[name] for name in other.columns} == \
            {name: first.data.dtype[name] for name in first.columns}
        # Row order follows the inputs (local rows first); the rows are the same.
        assert sorted(repr(sorted(row.items())) for row in cells(other)) == \
            sorted(repr(sorted(row.items())) for row in cells(first))
    assert len(first) == len(first_rows(left)) + len(first_rows(right))


def unpadded(rows: list[dict]) -> list[dict]:
    """Rows with trailing blanks of text cut, as FITS does."""
    return [{name: value.rstrip(" ") if isinstance(value, str) else value
             for name, value in row.items()} for row in rows]


@examples(100)
@given(tables=pairs, clobber=st.booleans())
def test_merged_table_written_and_read_back_merges_to_itself(tables, clobber, tmp_path):
    local, remote = tables
    assume(mergeable(local, remote))
    once, _ = merge_index(local, remote, clobber=clobber)
    path = tmp_path / f"{once.kind.lower()}-index.fits.gz"
    once.write(path)
    back = IndexTable.read(path, once.kind)
    assert unpadded(cells(back)) == unpadded(cells(once))
    again, _ = merge_index(back, remote, clobber=clobber)
    assert unpadded(cells(again)) == unpadded(cells(back))
    assert keys_of(again) == keys_of(back)


# -- run lists ---------------------------------------------------------------------------------
_RUNLIST_CHARS = st.sampled_from([*"0123456789+-#, \t\n\r", "\r\n", "x", "é", "\x00", "\x0c",
                                  "\x1c", "\x85", "\xa0", "\u2028", "\u3000", "\ufeff", "٣",
                                  "99999999999999999999", "9223372036854775807"])
_BLANKS = st.text(st.sampled_from([" ", "\t", "\xa0", "\u3000", "\x0c"]), max_size=2)
runlist_line = st.one_of(
    st.builds(lambda before, sign, zeros, number, after, tail: f"{before}{sign}{zeros}{number}"
              f"{after}{tail}",
              _BLANKS, st.sampled_from(["", "", "+", "-"]), st.sampled_from(["", "", "00"]),
              st.one_of(st.integers(0, 99999), st.integers(0, 2**70)),
              st.sampled_from(["", " ", ",", "\t", " # note", ",1001", "x"]),
              st.sampled_from(["", "", "# c"])),
    st.builds(lambda blanks: f"{blanks}# a comment", _BLANKS),
    _BLANKS,
    st.lists(_RUNLIST_CHARS, max_size=12).map("".join),
)
runlist_text = st.builds(lambda lines, end: end.join(lines), st.lists(runlist_line, max_size=8),
                         st.sampled_from(["\n", "\r\n", "\r"]))
runlist_bytes = st.one_of(runlist_text.map(lambda text: text.encode("utf-8")),
                          runlist_text.map(lambda text: text.encode("utf-8")),
                          st.binary(max_size=60),
                          runlist_text.map(lambda text: text.encode("utf-16")))

_ID = re.compile(r"[+-]?[0-9]+")


def reference_reading(data: bytes) -> tuple[list[int], int | None]:
    """The rules of docs/differences.rst, "Run-list parsing", written out differently.

    Returns (IDs, first bad line).
    """
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    ids: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        content = line.strip()
        if not content or content.startswith("#"):
            continue
        words = content.split(",")[0].split()
        token = words[0] if words else ""
        if not (_ID.fullmatch(token) and len(token.lstrip("+-").lstrip("0")) <= 19
                and -2**63 <= int(token) < 2**63):
            return [], number
        if int(token) not in ids:
            ids.append(int(token))
    return ids, None


@examples(1500)
@given(data=runlist_bytes)
def test_run_list_parses_or_names_file_and_line(data):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "runs.lis")
        with open(path, "wb") as stream:
            stream.write(data)
        expected, bad_line = reference_reading(data)
        try:
            ids = read_runlist(path)
        except RunListError as err:
            event("refused")
            assert bad_line is not None, (data, str(err))
            assert str(err).startswith(f"{path}:{bad_line}: "), str(err)
            assert err.problems[0][0] == bad_line
            assert "\n" not in str(err)
            return
        assert bad_line is None, (data, ids)
        assert ids == expected
        event(f"{min(len(ids), 2)}+ IDs")
