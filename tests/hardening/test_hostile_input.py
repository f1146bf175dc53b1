"""Hostile input that must neither forge output, nor exhaust memory, nor pass for a bug.

docs/differences.rst ("Store content in the log", "Memory for index files",
"Broken files", "Passwords in URLs", "Stale user copy"): store content with
control characters, an index declaring
millions of rows, master files and index files that break their parsers, a
path the system refuses, passwords in URLs and user parameter files that are
links.  Each test reproduces the attack and looks at what a user sees.
"""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import pytest
from copychecks import SIM_IDS, SIM_NAME
from hardchecks import HDU_INDEX, assert_error, assert_finished, run_tool

from iactcopy.store.index.tables import IndexTable

_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}: ")


def rewrite_hdu(path: Path, obs_id: int, *, file_dir: str | None = None,
                file_name: str | None = None) -> None:
    """Rewrite the HDU rows of *obs_id* with a new FILE_DIR and/or FILE_NAME."""
    table = IndexTable.read(path, "HDU")
    dtype = [(name, "U400" if name in ("FILE_DIR", "FILE_NAME") else table.data.dtype[name])
             for name in table.columns]
    data = table.data.astype(dtype)
    rows = data["OBS_ID"] == obs_id
    if file_dir is not None:
        data["FILE_DIR"][rows] = file_dir
    if file_name is not None:
        data["FILE_NAME"][rows] = file_name
    IndexTable("HDU", data, header=list(table.header),
               column_keywords=table.column_keywords).write(path)


def copy(master: Path, out: Path | str, *extra: str):
    return run_tool("csiactcopy", f"remote_master={master}", f"prodname={SIM_NAME}",
                    f"outpath={out}", "mode=h", *extra)


def log_text() -> str:
    return Path("csiactcopy.log").read_text(encoding="utf-8")


# -- 5. store content escaped -----------------------------------------------------------
def test_control_characters_in_file_name_forge_no_line(sim_copy, isolated):
    master = sim_copy()
    forged = "x\n2026-01-01T00:00:00: *** ERROR: forged\r\x1b[2J\x1b]0;owned\x07.fits.gz"
    rewrite_hdu(master.parent / HDU_INDEX, SIM_IDS[2], file_name=forged)
    outcome = copy(master, isolated.work / "out", "chatter=4")
    assert_finished(outcome, 3)
    for text in (outcome.stderr, outcome.stdout, log_text()):
        assert "\x1b" not in text and "\r" not in text and "\x07" not in text
        assert not re.search(r"^(\S+: )?2026-01-01T00:00:00: \*\*\* ERROR", text, re.M), text
    assert "x\\n2026-01-01T00:00:00: *** ERROR: forged\\r\\x1b[2J" in outcome.stderr
    assert all(_STAMP.match(line) for line in log_text().splitlines())


# -- 6. memory for index files ----------------------------------------------------------
def _card(keyword: str, value: object) -> bytes:
    text = f"'{value}'" if isinstance(value, str) else ("T" if value is True else str(value))
    return f"{keyword:8}= {text:>20}".ljust(80).encode("ascii")


def _header(*cards: bytes) -> bytes:
    body = b"".join(cards) + b"END".ljust(80)
    return body + b" " * (-len(body) % 2880)


def test_index_declaring_4_million_rows_is_declined_before_it_is_read(sim_copy, isolated):
    master = sim_copy()
    primary = _header(_card("SIMPLE", True), _card("BITPIX", 8), _card("NAXIS", 0),
                      _card("EXTEND", True))
    table = _header(_card("XTENSION", "BINTABLE"), _card("BITPIX", 8), _card("NAXIS", 2),
                    _card("NAXIS1", 250), _card("NAXIS2", 4_000_000), _card("PCOUNT", 0),
                    _card("GCOUNT", 1), _card("TFIELDS", 1), _card("TTYPE1", "OBS_ID"),
                    _card("TFORM1", "250B"), _card("EXTNAME", "OBS_INDEX"))
    # The first 10 MB of zeros of the rows: the file is 10 kB, as hostile as 0.9 MB.
    with gzip.open(master.parent / "obs-index.fits.gz", "wb") as stream:
        stream.write(primary + table)
        for _ in range(10):
            stream.write(bytes(1_000_000))
    outcome = copy(master, isolated.work / "out")
    assert_error(outcome, 1, "obs-index.fits.gz", "declares 4000000 rows of 250 bytes",
                 "more than the 256 MiB")
    assert not (isolated.work / "out").exists()


def test_index_content_beyond_the_bound_is_not_decompressed(sim_copy, isolated, monkeypatch):
    from iactcopy.store.index import sizebound as indexbound

    monkeypatch.setattr(indexbound, "MAX_INDEX_BYTES", 5000)
    outcome = copy(sim_copy(), isolated.work / "out")
    assert_error(outcome, 1, "hdu-index.fits.gz", "more than the 0 MiB")


# -- 7. files that break their parsers --------------------------------------------------
@pytest.mark.parametrize("content, fragment", [
    ('{"datasets": ' + "[" * 100_000 + "]" * 100_000 + "}", "nests arrays or objects too deeply"),
    ('{"datasets": [{"name": "a", "hduindx": "h", "obsindx": "o", "n": ' + "9" * 100_000
     + "}]}", "holds a number too long to read"),
], ids=["deeply-nested", "100000-digits"])
@pytest.mark.parametrize("where", ["remote", "local"])
def test_master_that_breaks_the_json_parser_is_one_line(sim_copy, isolated, content,
                                                        fragment, where):
    master = sim_copy()
    out = isolated.work / "out"
    broken = master if where == "remote" else out / "master.json"
    out.mkdir()
    broken.write_text(content, encoding="utf-8")
    assert_error(copy(master, out), 1, f'"{broken}"', fragment)


def test_gzip_of_random_bytes_is_one_line(sim_copy, isolated):
    master = sim_copy()
    index = master.parent / HDU_INDEX
    index.write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)) * 20)
    # csiactdata lists a production whose index cannot be read as "Not available".
    outcome = run_tool("csiactdata", f"datapath={master.parent}", "mode=h", "logfile=data.log",
                       "chatter=4")
    assert_finished(outcome, 0)
    assert "cannot be opened as FITS" in Path("data.log").read_text(encoding="utf-8")
    assert_error(copy(master, isolated.work / "out"), 1, str(index), "gzip data is damaged")


# -- 8. a path the system refuses -------------------------------------------------------
def test_folder_name_too_long_fails_that_file_only(sim_copy, isolated):
    master = sim_copy()
    rewrite_hdu(master.parent / HDU_INDEX, SIM_IDS[4], file_dir="d" * 300)
    out = isolated.work / "out"
    outcome = copy(master, out)
    assert_finished(outcome, 3)
    assert "File name too long" in outcome.stderr
    from copychecks import read_tables

    _, obs = read_tables(out)
    assert {int(i) for i in obs["OBS_ID"]} == set(SIM_IDS) - {SIM_IDS[4]}


@pytest.mark.skipif(os.geteuid() == 0, reason="root lists every folder")
def test_local_folder_that_cannot_be_listed_aborts_nothing(sim_copy, isolated):
    master = sim_copy()
    (master.parent / "hidden").mkdir()
    name = sorted((master.parent / "data").iterdir())[4].name
    os.rename(master.parent / "data" / name, master.parent / "hidden" / name)
    rewrite_hdu(master.parent / HDU_INDEX, SIM_IDS[4], file_dir="hidden")
    out = isolated.work / "out"
    (out / "hidden").mkdir(parents=True)
    (out / "hidden").chmod(0o300)  # files may be made in it, but it cannot be listed
    try:
        outcome = copy(master, out)
    finally:
        (out / "hidden").chmod(0o755)
    assert_finished(outcome, 0)
    assert (out / "hidden" / name).is_file()


# -- 9. a user .par that is a link, or holds a huge line ---------------------------------
def test_user_par_linked_to_another_file_is_refused_unquoted(sim_master, isolated, tmp_path):
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$secret-hash:19000:0:99999:7:::\n" * 3, encoding="utf-8")
    isolated.pfiles.mkdir()
    (isolated.pfiles / "csiactcopy.par").symlink_to(secret)
    outcome = copy(sim_master, isolated.work / "out")
    assert_finished(outcome, 0)
    for text in (outcome.stderr, log_text()):
        assert "secret-hash" not in text
    warnings = [line for line in outcome.stderr.splitlines() if "csiactcopy.par" in line]
    assert len(warnings) == 1 and "symbolic link" in warnings[0], outcome.stderr
    learning = run_tool("csiactcopy", f"remote_master={sim_master}", f"prodname={SIM_NAME}",
                        f"outpath={isolated.work / 'out'}")
    assert_finished(learning, 0)
    assert "parameters not learned" in learning.stderr
    assert (isolated.pfiles / "csiactcopy.par").is_symlink()
    assert secret.read_text(encoding="utf-8").count("secret-hash") == 3


def test_huge_bad_line_of_a_user_par_is_quoted_as_a_short_excerpt(sim_master, isolated):
    isolated.pfiles.mkdir()
    (isolated.pfiles / "csiactcopy.par").write_text("x" * 100_000 + "\x1b[2J\n",
                                                     encoding="utf-8")
    outcome = copy(sim_master, isolated.work / "out")
    assert_finished(outcome, 0)
    warning = [line for line in outcome.stderr.splitlines() if "ignored the line" in line]
    assert len(warning) == 1 and len(warning[0]) < 400, outcome.stderr[:1000]
    assert "100004 characters" in warning[0]
    assert len(log_text()) < 20_000
