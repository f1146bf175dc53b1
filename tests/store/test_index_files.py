"""Index files as read: header cards, rows and other HDUs kept; several HDU tables; checksums."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from astropy.io import fits

from iactcopy.errors import IndexTableError
from iactcopy.store.fits.rawhdus import RawRows, split_hdus
from iactcopy.store.index.files import IndexFile
from iactcopy.store.index.merge import merge_index_file


def hdu_table(obs_ids, *, ev_type=None, extname=None, checksum=False):
    rows = len(obs_ids)
    table = fits.BinTableHDU.from_columns([
        fits.Column("OBS_ID", "1J", array=np.asarray(obs_ids)),
        fits.Column("HDU_TYPE", "6A", array=["events"] * rows),
        fits.Column("HDU_CLASS", "6A", array=["events"] * rows),
        fits.Column("FILE_DIR", "4A", array=["data"] * rows),
        fits.Column("FILE_NAME", "12A", array=[f"obs{n}.fits" for n in obs_ids]),
        fits.Column("HDU_NAME", "6A", array=["EVENTS"] * rows),
    ])
    table.header["ORIGIN"] = ("somewhere", "a comment the writer chose")
    table.header.add_comment("kept as written")
    if extname:
        table.header["EXTNAME"] = extname
    if ev_type is not None:
        table.header["EV_TYPE"] = (ev_type, "event type")
    if checksum:
        table.add_checksum()
    return table


def write(path, *hdus):
    primary = fits.PrimaryHDU()
    primary.header["TELESCOP"] = ("HESS", "kept")
    fits.HDUList([primary, *hdus]).writeto(path)
    return path


def test_unchanged_file_is_written_as_read(tmp_path):
    path = write(tmp_path / "hdu-index.fits.gz", hdu_table([3, 1, 2], extname="HDU_INDEX"))
    index = IndexFile.read(path, "HDU")
    index.select([1, 2, 3]).write(tmp_path / "copy.fits.gz")
    assert (tmp_path / "copy.fits.gz").read_bytes() == path.read_bytes()


def test_selected_rows_keep_cards_formats_and_primary(tmp_path):
    path = write(tmp_path / "hdu-index.fits", hdu_table([3, 1, 2], extname="HDU_INDEX"))
    IndexFile.read(path, "HDU").select([3, 2]).write(tmp_path / "copy.fits")
    with fits.open(tmp_path / "copy.fits") as copy, fits.open(path) as remote:
        assert copy[0].header == remote[0].header
        cards = [card.image for card in copy[1].header.cards if card.keyword != "NAXIS2"]
        assert cards == [card.image for card in remote[1].header.cards
                         if card.keyword != "NAXIS2"]
        assert copy[1].header["TFORM1"] == "1J" and "TNULL1" not in copy[1].header
        assert list(copy[1].data["OBS_ID"]) == [3, 2], "the remote order"


def test_checksums_are_made_true(tmp_path):
    path = write(tmp_path / "hdu-index.fits", hdu_table([1, 2, 3], checksum=True))
    IndexFile.read(path, "HDU").select([2]).write(tmp_path / "copy.fits")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # astropy warns about a checksum that fails
        with fits.open(tmp_path / "copy.fits", checksum=True) as copy:
            assert len(copy[1].data) == 1 and copy[1].header["CHECKSUM"]


def test_several_hdu_tables_each_selected_and_written_in_order(tmp_path):
    image = fits.ImageHDU(np.zeros((2, 2), dtype=np.float32), name="EXTRA")
    path = write(tmp_path / "hdu-index.fits", hdu_table([1, 2], ev_type=0), image,
                 hdu_table([1, 2, 3], ev_type=1))
    index = IndexFile.read(path, "HDU")
    assert len(index.tables) == 2 and sorted(set(index.obs_ids)) == [1, 2, 3]
    index.select_each([np.array([1]), np.array([2, 3])]).write(tmp_path / "copy.fits")
    with fits.open(tmp_path / "copy.fits") as copy:
        assert [hdu.name for hdu in copy] == ["PRIMARY", "", "EXTRA", ""]
        assert list(copy[1].data["OBS_ID"]) == [1] and copy[1].header["EV_TYPE"] == 0
        assert list(copy[3].data["OBS_ID"]) == [2, 3] and copy[3].header["EV_TYPE"] == 1


def test_merge_of_files_merges_table_by_table(tmp_path):
    local = IndexFile.read(write(tmp_path / "local.fits", hdu_table([1], ev_type=0),
                                 hdu_table([1], ev_type=1)), "HDU")
    remote = IndexFile.read(write(tmp_path / "remote.fits", hdu_table([2], ev_type=0),
                                  hdu_table([2, 3], ev_type=1)), "HDU")
    merged, stats = merge_index_file(local, remote, clobber=True)
    assert [list(table.obs_ids) for table in merged.tables] == [[1, 2], [1, 2, 3]]
    assert (stats.local_entries, stats.remote_entries, stats.rows) == (2, 3, 5)
    merged.write(tmp_path / "merged.fits")
    with fits.open(tmp_path / "merged.fits") as result:
        assert [result[n].header["EV_TYPE"] for n in (1, 2)] == [0, 1], "the local headers"


def test_hdu_tables_pair_by_event_type(tmp_path):
    local = IndexFile.read(write(tmp_path / "local.fits", hdu_table([1], ev_type=0)), "HDU")
    remote = IndexFile.read(write(tmp_path / "remote.fits", hdu_table([2], ev_type=9),
                                  hdu_table([3], ev_type=0)), "HDU")
    merged, _ = merge_index_file(local, remote, clobber=True)
    assert [list(table.obs_ids) for table in merged.tables] == [[1, 3], [2]]


def test_merge_of_other_formats_converts_by_column(tmp_path):
    """A remote with another format of a column merges by name, without a TNULL it lacks."""
    local = IndexFile.read(write(tmp_path / "local.fits", hdu_table([1])), "HDU")
    wide = hdu_table([2])
    wide = fits.BinTableHDU.from_columns(
        [fits.Column("OBS_ID", "K", array=[2]), *wide.columns[1:]], header=wide.header)
    remote = IndexFile.read(write(tmp_path / "remote.fits", wide), "HDU")
    merged, _ = merge_index_file(local, remote, clobber=True)
    assert merged.tables[0].raw is None
    merged.write(tmp_path / "merged.fits")
    with fits.open(tmp_path / "merged.fits") as result:
        assert list(result[1].data["OBS_ID"]) == [1, 2]
        assert not any(key.startswith("TNULL") for key in result[1].header)


def test_split_hdus_refuses_what_is_not_fits():
    with pytest.raises(ValueError, match="SIMPLE"):
        split_hdus(b"hello")
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu_table([1])]).writeto(buffer)
    with pytest.raises(ValueError, match="cut short"):
        split_hdus(buffer.getvalue()[:-2880])


def test_a_truncated_index_is_one_clear_error(tmp_path):
    path = write(tmp_path / "hdu-index.fits", hdu_table([1, 2]))
    path.write_bytes(path.read_bytes()[:-2880])
    with pytest.raises(IndexTableError, match="cannot be opened as FITS"):
        IndexFile.read(path, "HDU")


def test_rows_of_a_table_with_a_heap_keep_their_arrays(tmp_path):
    column = fits.Column("V", "PJ()", array=np.array([np.array([1, 2]), np.array([3]),
                                                      np.array([4, 5, 6])], dtype=object))
    path = tmp_path / "heap.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns([column])]).writeto(path)
    raw = RawRows.of(split_hdus(path.read_bytes())[1])
    (tmp_path / "picked.fits").write_bytes(split_hdus(path.read_bytes())[0].to_bytes()
                                           + raw.select(np.array([2, 0])).render())
    with fits.open(tmp_path / "picked.fits") as picked:
        assert [list(v) for v in picked[1].data["V"]] == [[4, 5, 6], [1, 2]]
