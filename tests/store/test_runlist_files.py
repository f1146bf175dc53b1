"""Run list files: every line rule, the errors with their line numbers, writing."""

from __future__ import annotations

import os

import numpy as np
import pytest

from iactcopy.errors import RunListError
from iactcopy.store.runlist import read_runlist, write_runlist


def runlist(tmp_path, text, name="runs.lis"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize("text, ids", [
    ("15000\n15001\n", [15000, 15001]),
    ("15000 \n", [15000]),                        # csfindobs' trailing blank
    ("15000 # a note\n", [15000]),
    ("15000\tcomment\n", [15000]),
    ("15000,15001\n", [15000]),                   # a comma ends the ID
    ("15000,\n", [15000]),                        # ctools aborted here
    ("   15002\n", [15002]),                      # leading blanks
    ("# header\n#15000\n   # indented comment\n\t#tab\n15003", [15003]),
    ("\n  \n\t\n15004\n\n", [15004]),              # blank lines
    ("15005\r\n15006\r\n", [15005, 15006]),       # CRLF
    ("15007\r15008", [15007, 15008]),             # old Mac line ends, no final newline
    ("+15009\n", [15009]),
    ("3\n1\n3\n2\n1\n", [3, 1, 2]),               # duplicates dropped, first kept
    ("", []),
    ("# only a comment\n", []),
])
def test_line_rules(tmp_path, text, ids):
    assert read_runlist(runlist(tmp_path, text)) == ids


def test_byte_order_mark_and_latin1_comment(tmp_path):
    assert read_runlist(runlist(tmp_path, "\ufeff15000\n")) == [15000]
    assert read_runlist(runlist(tmp_path, b"# caf\xe9\n15001\n")) == [15001]


def test_bad_line_names_file_and_line(tmp_path):
    path = runlist(tmp_path, "15000\n# fine\nrun1 x\n15001\n")
    with pytest.raises(RunListError) as err:
        read_runlist(path)
    message = str(err.value)
    assert message.startswith(f"{path}:3: 'run1' is not an observation ID")
    assert message.endswith(": 'run1 x'")
    assert err.value.problems == [(3, "run1 x", err.value.problems[0][2])]
    assert err.value.source == str(path)


@pytest.mark.parametrize("line", ["15000.0", "1e5", "15000#note", "id:15000",
                                  "0x10", "- 5", "15000;15001"])
def test_things_that_are_not_ids(tmp_path, line):
    with pytest.raises(RunListError, match=":2: "):
        read_runlist(runlist(tmp_path, f"1\n{line}\n"))


def test_all_bad_lines_are_reported(tmp_path):
    lines = ["1", "a", "2", "b", "c", "d", "e", "f", "g"]
    with pytest.raises(RunListError) as err:
        read_runlist(runlist(tmp_path, "\n".join(lines)))
    assert [number for number, _, _ in err.value.problems] == [2, 4, 5, 6, 7, 8, 9]
    message = str(err.value)
    assert ":2: " in message and ":7: " in message and "and bad lines 8, 9" in message


def test_missing_or_unreadable_file(tmp_path):
    with pytest.raises(RunListError, match=r'Run list file ".*nothere.lis" cannot be read'):
        read_runlist(tmp_path / "nothere.lis")
    with pytest.raises(RunListError, match="is a folder"):
        read_runlist(tmp_path)


def test_write_sorted_unique_with_header(tmp_path):
    path = tmp_path / "out.lis"
    write_runlist(path, [23559, 23523, np.int64(23526), 23523], header="csfindobs\nQUALITY<=0")
    assert path.read_text() == "# csfindobs\n# QUALITY<=0\n23523\n23526\n23559\n"
    assert read_runlist(path) == [23523, 23526, 23559]
    write_runlist(path, [])
    assert path.read_text() == ""
    assert os.listdir(tmp_path) == ["out.lis"]


def test_write_refuses_non_integers(tmp_path):
    for bad in ([1.5], ["12"], [True]):
        with pytest.raises(TypeError, match="must be integers"):
            write_runlist(tmp_path / "x.lis", bad)
    assert not (tmp_path / "x.lis").exists()
