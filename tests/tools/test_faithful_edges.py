"""Edge cases of the faithful local store: each test is a reproduced problem.

docs/differences.rst, "Faithful indexes": each test reproduces a way in which
a local index once differed from the remote one, or a local store was
damaged, and checks that it no longer does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from copychecks import SIM_IDS, copy_args, ok, with_text_obs_ids, write_runlist

fits = pytest.importorskip("astropy.io.fits")

HDU_INDEX, OBS_INDEX = "hdu-index.fits.gz", "obs-index.fits.gz"


def rows(path: Path, hdu) -> np.ndarray:
    with fits.open(path) as hdul:
        return np.asarray(hdul[hdu].data)


def runlist(out: Path, name: str, ids) -> str:
    return f"runlist={write_runlist(out.parent / name, ids)}"


def set_master(master: Path, **entry) -> None:
    document = json.loads(master.read_text(encoding="utf-8"))
    document["datasets"][0].update(entry)
    master.write_text(json.dumps(document), encoding="utf-8")


# 1 -- hduindx and obsindx are one file -------------------------------------------------------
def combined_index_store(master: Path) -> None:
    """The HDU and OBS index tables in one file, named by both hduindx and obsindx."""
    folder = master.parent
    with fits.open(folder / HDU_INDEX) as hdu, fits.open(folder / OBS_INDEX) as obs:
        fits.HDUList([hdu[0].copy(), hdu[1].copy(), obs[1].copy()]).writeto(
            folder / "index.fits.gz")
    (folder / HDU_INDEX).unlink()
    (folder / OBS_INDEX).unlink()
    set_master(master, hduindx="index.fits.gz", obsindx="index.fits.gz")


def test_one_file_for_both_indexes_is_refused(sim_copy, isolated, csiactcopy_cmd):
    """Each index is merged and written on its own: one file cannot take both (exit 1)."""
    master = sim_copy()
    combined_index_store(master)
    out = isolated.work / "out"
    result = csiactcopy_cmd(*copy_args(master, out))
    assert result.returncode == 1 and "names one file" in result.stderr
    assert not out.exists()


# 2 -- a free-format NAXIS2 card ------------------------------------------------------------
def rewrite_card(path: Path, keyword: str, image: str, hdu_number: int = 1) -> None:
    """Replace the card *keyword* of HDU *hdu_number* by the 80-character *image*, in bytes."""
    import gzip

    from iactcopy.store.fits.rawhdus import split_hdus

    content = gzip.decompress(path.read_bytes())
    hdus = split_hdus(content)
    start = sum(len(hdu.to_bytes()) for hdu in hdus[:hdu_number])
    header = hdus[hdu_number].header_bytes
    cards = [header[i:i + 80] for i in range(0, len(header), 80)]
    cards = [image.ljust(80).encode() if card[:8].rstrip() == keyword.encode() else card
             for card in cards]
    content = content[:start] + b"".join(cards) + content[start + len(header):]
    path.write_bytes(gzip.compress(content))


def test_free_format_naxis2_is_written_readable(sim_copy, isolated, csiactcopy_cmd):
    master = sim_copy()
    path = master.parent / HDU_INDEX
    count = len(rows(path, 1))
    rewrite_card(path, "NAXIS2", f"NAXIS2  = {count} / number of rows in the table (free)")
    assert len(rows(path, 1)) == count, "astropy reads the remote"
    out = isolated.work / "out"
    runlist = write_runlist(isolated.work / "r.txt", SIM_IDS[:2])
    ok(csiactcopy_cmd(*copy_args(master, out, f"runlist={runlist}")))
    with fits.open(out / HDU_INDEX) as hdul:
        # Was: the new value is written over columns 11-30 and what follows is kept,
        # so the card reads "12n the table (free)": not a number.
        assert hdul[1].header["NAXIS2"] == 12


# 3 -- bytes after the last HDU ---------------------------------------------------------------
def test_trailing_bytes_after_the_last_hdu_are_ignored(sim_copy, isolated,
                                                            csiactcopy_cmd):
    """gammapy (astropy, with a warning) and fitsio read such a file; so did iactcopy before."""
    import gzip

    master = sim_copy()
    path = master.parent / HDU_INDEX
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()) + b"written by a tool\n"))
    import fitsio

    assert len(fitsio.read(str(path), ext=1)) == 6 * len(SIM_IDS)
    out = isolated.work / "out"
    # Was: exit 1, 'cannot be opened as FITS: a header block is cut short'.
    ok(csiactcopy_cmd(*copy_args(master, out)))


# 4 -- an ASCII TABLE index -------------------------------------------------------------------
def test_full_copy_of_an_ascii_table_index_is_the_remote(sim_copy, isolated, csiactcopy_cmd):
    master = sim_copy()
    path = master.parent / OBS_INDEX
    with fits.open(path) as hdul:
        primary, table = hdul[0].copy(), hdul[1]
        columns = [fits.Column(name, "I10" if table.data[name].dtype.kind in "iu" else "E15.7",
                               array=table.data[name], unit=table.columns[name].unit)
                   for name in ("OBS_ID", "RA_PNT", "DEC_PNT", "ONTIME", "LIVETIME")]
        ascii_table = fits.TableHDU.from_columns(columns)
        ascii_table.header["EXTNAME"] = "OBS_INDEX"
        fits.HDUList([primary, ascii_table]).writeto(path, overwrite=True)
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(master, out)))
    difference = fits.FITSDiff(str(out / OBS_INDEX), str(path))
    # Was: the copy is a BINTABLE with HDUCLASS/HDUCLAS1/HDUCLAS2 added and the
    # comments of fitsio; RawRows.of takes BINTABLEs only, so the table is re-rendered.
    assert difference.identical, difference.report()


# 5 -- text OBS_IDs in the messages -----------------------------------------------------------
def test_dropped_rows_of_text_obs_ids_are_named_by_their_text(sim_copy, isolated,
                                                             csiactcopy_cmd):
    master = sim_copy()
    with_text_obs_ids(master, lambda n: f"run{n}")
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(master, out)))
    name = f"data/iactcopy-sim_obs_{SIM_IDS[2]:06d}.fits.gz"
    (out / name).unlink()
    (master.parent / name).unlink()
    result = ok(csiactcopy_cmd(*copy_args(master, out)), 3)
    # Was: the line says 'observation -2281483018313734032', the internal hash number.
    assert f"observation run{SIM_IDS[2]} " in result.stderr, result.stderr


# 6 -- clobber=yes on a store kept in its own (non-ascending) order --------------------------
def reverse_rows(path: Path) -> None:
    """The rows of the index table of *path* in reverse order, the header cards as they are."""
    import gzip

    from iactcopy.store.fits.rawhdus import RawRows, split_hdus

    hdus = split_hdus(gzip.decompress(path.read_bytes()))
    raw = RawRows.of(hdus[1])
    path.write_bytes(gzip.compress(hdus[0].to_bytes()
                                   + raw.with_records(raw.records[::-1]).render()))


def test_clobber_run_list_keeps_the_remote_order(sim_copy, isolated, csiactcopy_cmd):
    master = sim_copy()
    for name in (HDU_INDEX, OBS_INDEX):
        reverse_rows(master.parent / name)
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(master, out)))
    runlist = write_runlist(isolated.work / "r.txt", [SIM_IDS[5]])
    ok(csiactcopy_cmd(*copy_args(master, out, f"runlist={runlist}", "clobber=yes")))
    # Was: the replaced observation's rows move to the end of both local indexes.
    assert rows(out / OBS_INDEX, 1)["OBS_ID"].tolist() == SIM_IDS[::-1]


# 7 -- a merge by column re-renders the header -----------------------------------------------
# 8 -- HDU tables paired by position, not by event type ---------------------------------------
def event_type_store(master: Path, ev_types) -> None:
    """One unnamed HDU table per event type, in the order *ev_types*; HDU_NAME marks it."""
    path = master.parent / HDU_INDEX
    with fits.open(path) as hdul:
        primary, base = hdul[0].copy(), hdul[1].copy()
    tables = []
    for ev_type in ev_types:
        table = fits.BinTableHDU(data=base.data.copy(), header=base.header.copy())
        del table.header["EXTNAME"]
        table.header["EV_TYPE"] = (ev_type, "event type of this table")
        table.data["HDU_NAME"] = f"EV{ev_type}"
        tables.append(table)
    fits.HDUList([primary, *tables]).writeto(path, overwrite=True)


def test_a_new_event_type_table_is_not_merged_into_another(sim_copy, isolated, csiactcopy_cmd):
    """A later release adds an event type in front: rows must join the table of their type."""
    first, second = sim_copy("first"), sim_copy("second")
    event_type_store(first, [0, 1, 2])
    event_type_store(second, [9, 0, 1, 2])
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(first, out, runlist(out, "a", SIM_IDS[:2]))))
    ok(csiactcopy_cmd(*copy_args(second, out, runlist(out, "b", SIM_IDS[2:3]))))
    with fits.open(out / HDU_INDEX) as hdul:
        for table in hdul[1:]:
            names = set(np.char.strip(table.data["HDU_NAME"]).tolist())
            # Was: the table of EV_TYPE 0 gets the rows of event type 9, and so on.
            assert names == {f"EV{table.header['EV_TYPE']}"}, (table.header["EV_TYPE"], names)


# 9 -- a DATASUM of fewer than 8 digits (every zero-row table) -------------------------------
def test_full_copy_with_a_zero_row_checksummed_table_is_the_remote(sim_copy, isolated,
                                                                   csiactcopy_cmd):
    master = sim_copy()
    path = master.parent / HDU_INDEX
    with fits.open(path) as hdul:
        primary, base = hdul[0].copy(), hdul[1].copy()
    empty = fits.BinTableHDU(data=base.data[:0].copy(), header=base.header.copy())
    del empty.header["EXTNAME"]
    fits.HDUList([primary, base, empty]).writeto(path, overwrite=True, checksum=True)
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(master, out)))
    difference = fits.FITSDiff(str(out / HDU_INDEX), str(path))
    # Was: DATASUM '0       ' is written again as '0' (fitsraw._with_string does not pad
    # to 8 characters), so CHECKSUM differs and the file is not the remote's.
    assert difference.identical, difference.report()


# 10 -- local rows with an absolute FILE_DIR inside the store --------------------------------
# 11 -- text OBS_IDs that spell the same integer ----------------------------------------------
def test_text_obs_ids_spelling_one_integer_are_two_observations(sim_copy, isolated,
                                                               csiactcopy_cmd):
    """gammapy tells "1000" from "01000"; the copy keeps only one of them."""
    gammapy_data = pytest.importorskip("gammapy.data", reason="gammapy is in the test extra")
    master = sim_copy()
    with_text_obs_ids(master, lambda n: "0" + str(SIM_IDS[0]) if n == SIM_IDS[1] else str(n))

    assert len(gammapy_data.DataStore.from_dir(master.parent).obs_table) == len(SIM_IDS)
    out = isolated.work / "out"
    csiactcopy_cmd(*copy_args(master, out))
    # Was: "01000" is taken as observation 1000, a duplicate of "1000": one is dropped.
    assert len(rows(out / OBS_INDEX, 1)) == len(SIM_IDS)


# 12 -- a variable-length column (a heap) -----------------------------------------------------
def test_full_copy_of_an_index_with_a_heap_is_the_remote(sim_copy, isolated, csiactcopy_cmd):
    master = sim_copy()
    path = master.parent / HDU_INDEX
    with fits.open(path) as hdul:
        primary, table = hdul[0].copy(), hdul[1].copy()
    arrays = np.array([np.arange(n % 3 + 1, dtype=np.int32) for n in range(len(table.data))],
                      dtype=object)
    columns = [*table.columns, fits.Column("VLA", "PJ()", array=arrays)]
    fits.HDUList([primary, fits.BinTableHDU.from_columns(columns, header=table.header)]
                 ).writeto(path, overwrite=True)
    out = isolated.work / "out"
    ok(csiactcopy_cmd(*copy_args(master, out)))
    # Was: PJ(3) becomes 3J (values padded with zeros, lengths lost), comments and
    # HDUCLAS* of fitsio: RawRows.of refuses PCOUNT > 0 and fitsio re-renders the table.
    difference = fits.FITSDiff(str(out / HDU_INDEX), str(path))
    assert difference.identical, difference.report()
