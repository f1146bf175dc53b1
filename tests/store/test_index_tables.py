"""Index tables: finding and reading them, file paths, writing and reading back."""

from __future__ import annotations

import gzip
import os

import fitsio
import numpy as np
import pytest

from iactcopy.errors import IndexTableError
from iactcopy.store.fits.tablewrite import FitsTable, write_fits_tables
from iactcopy.store.index.tables import (
    IndexTable,
    check_index_table,
    has_index_table,
    resolve_file_paths,
)


def write_raw(path, *tables):
    """Write tables with fitsio as they are: (data, extname or None, header records)."""
    with fitsio.FITS(str(path), "rw", clobber=True) as fits:
        for data, extname, header in tables:
            fits.write(data, extname=extname, header=header)
    return path


def hdu_rows(n=2):
    data = np.zeros(n, dtype=[("OBS_ID", "i8"), ("HDU_TYPE", "U6"), ("HDU_CLASS", "U9"),
                              ("FILE_DIR", "U4"), ("FILE_NAME", "U10"), ("HDU_NAME", "U6")])
    data["OBS_ID"] = np.arange(1, n + 1)
    data["HDU_TYPE"] = data["HDU_CLASS"] = data["HDU_NAME"] = "events"
    data["FILE_DIR"], data["FILE_NAME"] = "data", "f.fits"
    return data


def obs_rows(n=3):
    data = np.zeros(n, dtype=[("OBS_ID", "i8"), ("RA_PNT", "f4")])
    data["OBS_ID"] = np.arange(1, n + 1)
    return data



def test_read_hess_indexes(hess_dir):
    hdu = IndexTable.read(hess_dir / "hdu-index.fits.gz", "HDU")
    obs = IndexTable.read(hess_dir / "obs-index.fits.gz", "obs")
    assert (len(hdu), len(obs)) == (630, 105)
    assert hdu.kind == "HDU" and obs.kind == "OBS"
    assert len(np.unique(hdu.obs_ids)) == 105
    assert set(np.unique(hdu.obs_ids)) == set(obs.obs_ids)
    assert obs.obs_ids.min() == 20136 and obs.obs_ids.max() == 47829
    assert hdu.columns == ("OBS_ID", "HDU_TYPE", "HDU_CLASS", "FILE_DIR", "FILE_NAME",
                           "HDU_NAME", "SIZE")
    assert hdu.data["FILE_NAME"].dtype.kind == "U"
    assert obs.units["RA_PNT"] == "deg" and obs.units["SAFE_ENERGY_LO"] == "TeV"
    keywords = {record["name"]: record["value"] for record in obs.header}
    assert keywords["MJDREFI"] == 51910 and keywords["TIMESYS"] == "TT"
    assert "EXTNAME" not in keywords and "TTYPE1" not in keywords and "NAXIS2" not in keywords


def test_has_index_table(hess_dir, tmp_path):
    assert has_index_table(hess_dir / "hdu-index.fits.gz", "HDU")
    assert has_index_table(hess_dir / "obs-index.fits.gz", "OBS")
    assert not has_index_table(hess_dir / "obs-index.fits.gz", "HDU")
    assert not has_index_table(hess_dir / "hdu-index.fits.gz", "OBS")
    assert not has_index_table(tmp_path / "missing.fits", "HDU")
    assert not has_index_table(hess_dir / "README.txt", "HDU")


def test_missing_and_not_fits(tmp_path):
    with pytest.raises(IndexTableError, match=r'Index file ".*hdu.fits" not found'):
        IndexTable.read(tmp_path / "hdu.fits", "HDU")
    with pytest.raises(IndexTableError, match="is a folder"):
        IndexTable.read(tmp_path, "HDU")
    text = tmp_path / "text.fits"
    text.write_text("not a FITS file\n" * 300)
    with pytest.raises(IndexTableError, match=r'text.fits" cannot be opened as FITS'):
        IndexTable.read(text, "HDU")


def test_no_gz_fallback(tmp_path):
    write_raw(tmp_path / "hdu.fits.gz", (hdu_rows(), "HDU_INDEX", []))
    with pytest.raises(IndexTableError, match="not found"):
        IndexTable.read(tmp_path / "hdu.fits", "HDU")


def test_unnamed_extensions_found_by_columns(tmp_path):
    path = write_raw(tmp_path / "both.fits", (hdu_rows(), None, []), (obs_rows(), None, []))
    assert len(IndexTable.read(path, "HDU")) == 2
    assert len(IndexTable.read(path, "OBS")) == 3, "the table without FILE_NAME"


def test_wrong_extname_found_by_hduclas(tmp_path):
    gadf = [{"name": "HDUCLAS1", "value": "index"}, {"name": "HDUCLAS2", "value": "OBS "}]
    path = write_raw(tmp_path / "obs.fits", (obs_rows(5), "EVENTS", gadf))
    table = IndexTable.read(path, "OBS")
    assert len(table) == 5
    assert {r["name"] for r in table.header}.isdisjoint({"HDUCLAS1", "HDUCLAS2", "EXTNAME"})


def test_extname_is_case_insensitive_and_wins(tmp_path):
    decoy = obs_rows(7)
    path = write_raw(tmp_path / "obs.fits", (decoy, "OTHER", []), (obs_rows(2), "obs_index", []))
    assert len(IndexTable.read(path, "OBS")) == 2


def test_no_matching_table_lists_what_is_there(tmp_path):
    events = np.zeros(3, dtype=[("TIME", "f8"), ("ENERGY", "f4")])
    path = write_raw(tmp_path / "events.fits", (events, "EVENTS", []))
    with pytest.raises(IndexTableError) as err:
        IndexTable.read(path, "HDU")
    message = str(err.value)
    assert str(path) in message and "no extension named HDU_INDEX" in message
    assert "1 (EVENTS)" in message
    with pytest.raises(IndexTableError):
        check_index_table(path, "OBS")


def test_required_columns_missing(tmp_path):
    data = hdu_rows()[["OBS_ID", "FILE_DIR", "FILE_NAME"]]
    path = write_raw(tmp_path / "hdu.fits", (np.array(data), "HDU_INDEX", []))
    with pytest.raises(IndexTableError) as err:
        IndexTable.read(path, "HDU")
    assert "HDU_TYPE, HDU_CLASS, HDU_NAME" in str(err.value) and str(path) in str(err.value)
    with pytest.raises(IndexTableError, match="lacks the required column"):
        check_index_table(path, "HDU")
    assert not has_index_table(path, "HDU")


def test_lower_case_column_names_are_accepted(tmp_path):
    data = obs_rows()
    data.dtype.names = ("obs_id", "ra_pnt")
    table = IndexTable.read(write_raw(tmp_path / "obs.fits", (data, "OBS_INDEX", [])), "OBS")
    assert table.columns == ("OBS_ID", "ra_pnt")


def test_obs_id_must_be_integer():
    data = np.zeros(2, dtype=[("OBS_ID", "f8")])
    with pytest.raises(IndexTableError, match=r"OBS_ID .* holds floats"):
        IndexTable("OBS", data)
    with pytest.raises(ValueError, match="kind must be one of HDU, OBS"):
        IndexTable("EVENTS", obs_rows())


def test_byte_strings_become_str():
    data = np.zeros(2, dtype=[("OBS_ID", "i8"), ("OBJECT", "S5")])
    data["OBJECT"] = [b"Crab", b""]
    table = IndexTable("OBS", data)
    assert table.data["OBJECT"].dtype == np.dtype("U5")
    assert list(table.data["OBJECT"]) == ["Crab", ""]


def test_select(make_obs, make_hdu):
    obs = make_obs([5, 3, 9, 1])
    assert list(obs.select([9, 1, 77]).obs_ids) == [9, 1], "table order kept"
    assert list(obs.select(np.array([3])).obs_ids) == [3]
    assert len(obs.select([])) == 0
    hdu = make_hdu([1, 2, 3])
    assert len(hdu.select({2, 3})) == 12
    assert list(hdu.select_rows(hdu.obs_ids == 2).obs_ids) == [2] * 6



def hdu_with_dirs(dirs, names, header=(), path=None):
    data = np.zeros(len(dirs), dtype=[("OBS_ID", "i8"), ("HDU_TYPE", "U6"),
                                      ("HDU_CLASS", "U9"), ("FILE_DIR", "U30"),
                                      ("FILE_NAME", "U30"), ("HDU_NAME", "U6")])
    data["FILE_DIR"], data["FILE_NAME"] = dirs, names
    return IndexTable("HDU", data, header=header, path=path)


def test_file_dir_forms():
    table = hdu_with_dirs(["", ".", "./", "data", "data/", " data/ ", "./data//sub/", "a/../b"],
                          ["f1", "f2", "f3", "f4", "f5", " f6 ", "f7", "f8"])
    paths, unsafe = resolve_file_paths(table)
    assert list(paths) == ["f1", "f2", "f3", "data/f4", "data/f5", "data/f6", "data/sub/f7",
                           "b/f8"]
    assert not unsafe.any()


def test_unsafe_paths_are_flagged():
    table = hdu_with_dirs(["../data", "/abs/data", "data", "data/../..", "data", "", "a"],
                          ["f", "f", "../../x", "f", "sub/f", "/etc/passwd", ".."])
    paths, unsafe = resolve_file_paths(table)
    assert list(paths) == ["../data/f", "/abs/data/f", "../x", "../f", "data/sub/f",
                           "/etc/passwd", "."]
    assert list(unsafe) == [True, True, True, True, False, True, False]


def test_index_dir_makes_paths_relative_to_the_root():
    table = hdu_with_dirs(["../../data/gps", "../x", "data"], ["f", "f", "f"])
    paths, unsafe = resolve_file_paths(table, index_dir="index/gps")
    assert list(paths) == ["data/gps/f", "index/x/f", "index/gps/data/f"]
    assert not unsafe.any()
    paths, unsafe = resolve_file_paths(table, index_dir="index")
    assert list(unsafe) == [True, False, False]


def test_empty_file_name_gives_empty_path():
    paths, unsafe = resolve_file_paths(hdu_with_dirs(["data", "data"], ["", "f"]))
    assert list(paths) == ["", "data/f"] and not unsafe.any()


def test_base_dir_is_ignored_as_gammapy_ignores_it(tmp_path):
    """gammapy writes the absolute folder of the store it wrote; paths are relative to the index."""
    for value in ("store/", str(tmp_path / "run"), "/elsewhere"):
        table = hdu_with_dirs(["data"], ["f"], path=str(tmp_path / "hdu.fits"),
                              header=[{"name": "BASE_DIR", "value": value}])
        paths, unsafe = resolve_file_paths(table)
        assert list(paths) == ["data/f"] and not unsafe.any(), value


def test_hess_paths(hess_dir):
    table = IndexTable.read(hess_dir / "hdu-index.fits.gz", "HDU")
    paths, unsafe = resolve_file_paths(table)
    assert len(np.unique(paths)) == 105 and not unsafe.any()
    assert all(os.path.isfile(hess_dir / p) for p in np.unique(paths))


def test_paths_need_an_hdu_index(make_obs):
    with pytest.raises(ValueError, match="HDU index"):
        resolve_file_paths(make_obs([1]))



@pytest.mark.parametrize("name", ["obs-index.fits", "obs-index.fits.gz"])
def test_write_read_round_trip(tmp_path, make_obs, name):
    header = [{"name": "MJDREFI", "value": 51910, "comment": "ref"},
              {"name": "TIMESYS", "value": "TT"}, {"name": "COMMENT", "value": "hello"},
              {"name": "FLAG", "value": True}]
    table = make_obs([3, 1, 2], columns=("OBS_ID", "RA_PNT", "DEC_PNT", "OBJECT", "QUALITY"),
                     header=header)
    table.column_keywords["QUALITY"] = {"TNULL": -1, "TDISP": "I3"}
    path = tmp_path / name
    table.write(path)
    with open(path, "rb") as stream:
        assert (stream.read(2) == b"\x1f\x8b") == name.endswith(".gz")
    back = IndexTable.read(path, "OBS")
    assert back.columns == table.columns
    for column in table.columns:
        np.testing.assert_array_equal(back.data[column], table.data[column])
    assert back.units == {"RA_PNT": "deg", "DEC_PNT": "deg"}
    assert back.column_keywords["QUALITY"] == {"TNULL": -1, "TDISP": "I3"}
    values = {record["name"]: record["value"] for record in back.header}
    assert values["MJDREFI"] == 51910 and values["TIMESYS"] == "TT" and values["FLAG"] is True
    assert {"name": "COMMENT", "value": "hello"} in back.header
    header = fitsio.read_header(str(path), 1)
    assert header["EXTNAME"] == "OBS_INDEX" and header["HDUCLASS"] == "GADF"
    assert header["HDUCLAS1"] == "INDEX" and header["HDUCLAS2"] == "OBS"
    assert sorted(os.listdir(tmp_path)) == [name], "no temporary left"


def test_written_file_reads_with_astropy(tmp_path, make_hdu):
    fits = pytest.importorskip("astropy.io.fits")
    table = make_hdu([7, 8], extra={"SIZE": {"TUNIT": "byte"}})
    path = tmp_path / "hdu-index.fits.gz"
    table.write(path)
    with fits.open(path) as hdus:
        hdus.verify("exception")
        assert hdus[0].header["NAXIS"] == 0 and hdus[0].data is None
        hdu = hdus["HDU_INDEX"]
        assert hdu.header["HDUCLAS2"] == "HDU"
        assert hdu.columns["SIZE"].unit == "byte"
        assert list(hdu.data["OBS_ID"]) == [7] * 6 + [8] * 6
        assert hdu.data["FILE_NAME"][0] == "obs_7.fits.gz"


def test_units_follow_their_column(tmp_path, make_obs):
    table = make_obs([1, 2], columns=("OBS_ID", "OBJECT", "DEC_PNT", "RA_PNT"))
    path = tmp_path / "obs.fits"
    table.write(path)
    header = fitsio.read_header(str(path), 1)
    assert header["TTYPE3"] == "DEC_PNT" and header["TUNIT3"] == "deg"
    assert "TUNIT2" not in header


def test_write_hess_round_trip(hess_dir, tmp_path):
    for name, kind in (("hdu-index.fits.gz", "HDU"), ("obs-index.fits.gz", "OBS")):
        table = IndexTable.read(hess_dir / name, kind)
        table.write(tmp_path / name)
        back = IndexTable.read(tmp_path / name, kind)
        assert back.data.tobytes() == table.data.tobytes()
        assert back.header == table.header and back.column_keywords == table.column_keywords


def test_write_keeps_the_old_file_on_error(tmp_path, make_obs):
    path = tmp_path / "obs.fits.gz"
    make_obs([1]).write(path)
    before = path.read_bytes()
    bad = make_obs([2])
    bad.data["OBJECT"] = "Orión"  # FITS strings are ASCII
    with pytest.raises(Exception):  # noqa: B017 - whatever fitsio raises
        bad.write(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["obs.fits.gz"]


def test_write_needs_a_path(make_obs):
    with pytest.raises(ValueError, match="needs a path"):
        make_obs([1]).write()


def test_empty_string_column_and_empty_table(tmp_path):
    data = np.zeros(2, dtype=[("OBS_ID", "i8"), ("NOTE", "U0")])
    IndexTable("OBS", data).write(tmp_path / "a.fits")
    assert list(IndexTable.read(tmp_path / "a.fits", "OBS").data["NOTE"]) == ["", ""]
    IndexTable("OBS", data[:0]).write(tmp_path / "b.fits")
    assert len(IndexTable.read(tmp_path / "b.fits", "OBS")) == 0


def test_write_fits_tables_appends_raw_extensions(tmp_path):
    one = np.zeros(2, dtype=[("A", "i4")])
    write_fits_tables(tmp_path / "extra.fits", [FitsTable(one, "EXTRA")])
    raw = (tmp_path / "extra.fits").read_bytes()[2880:]
    write_fits_tables(tmp_path / "two.fits.gz", [FitsTable(one, "FIRST", [], ["m"])], append=raw)
    with gzip.open(tmp_path / "two.fits.gz") as stream:
        assert len(stream.read()) % 2880 == 0
    with fitsio.FITS(str(tmp_path / "two.fits.gz")) as fits:
        assert [hdu.get_extname() for hdu in fits] == ["", "FIRST", "EXTRA"]
    with pytest.raises(ValueError, match="2880-byte"):
        write_fits_tables(tmp_path / "bad.fits", [FitsTable(one, "X")], append=b"x")


def test_gzip_file_is_read_like_the_plain_one_and_leaves_nothing(tmp_path):
    plain = write_raw(tmp_path / "hdu-index.fits", (hdu_rows(5), "HDU_INDEX", None))
    packed = tmp_path / "hdu-index.fits.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    named_fits = tmp_path / "packed-but-named.fits"     # compressed whatever the name says
    named_fits.write_bytes(packed.read_bytes())
    expected = IndexTable.read(plain, "HDU")
    for path in (packed, named_fits):
        table = IndexTable.read(path, "HDU")
        assert table.path == str(path)
        assert table.same_content(expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "hdu-index.fits", "hdu-index.fits.gz", "packed-but-named.fits"]
    assert not [name for name in os.listdir(f"/proc/{os.getpid()}/fd")
                if "hdu-index" in os.path.realpath(f"/proc/{os.getpid()}/fd/{name}")]


@pytest.mark.parametrize("damage", ["truncated", "bad-crc", "not-fits-inside"])
def test_damaged_gzip_file_is_a_clear_error(tmp_path, damage):
    plain = write_raw(tmp_path / "hdu-index.fits", (hdu_rows(5), "HDU_INDEX", None))
    packed = gzip.compress(plain.read_bytes())
    if damage == "truncated":
        packed = packed[: len(packed) // 2]
    elif damage == "bad-crc":
        packed = packed[:-8] + bytes(4) + packed[-4:]
    else:
        packed = gzip.compress(b"this is not FITS" * 100)
    path = tmp_path / "hdu-index.fits.gz"
    path.write_bytes(packed)
    with pytest.raises(IndexTableError, match=r'Index file ".*hdu-index.fits.gz"'):
        IndexTable.read(path, "HDU")
