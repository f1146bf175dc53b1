"""Merging index tables: keys, the clobber rule, columns, types, duplicates, order."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iactcopy.errors import IndexTableError
from iactcopy.store.index.merge import merge_index
from iactcopy.store.index.tables import IndexTable


def rows_of(table, obs_id):
    return table.data[table.obs_ids == obs_id]


def test_first_merge_without_local(make_hdu):
    remote = make_hdu([3, 1, 2], path="remote.fits")
    merged, stats = merge_index(None, remote, clobber=True)
    assert list(np.unique(merged.obs_ids)) == [1, 2, 3]
    assert len(merged) == 18 and merged.columns == remote.columns
    assert (stats.remote_entries, stats.local_entries, stats.rows) == (18, 0, 18)
    assert merged.path == "remote.fits"


def test_five_then_four_more_then_the_same_four(make_hdu, make_obs):
    for build, per_obs in ((make_hdu, 6), (make_obs, 1)):
        first, _ = merge_index(None, build([1, 2, 3, 4, 5]), clobber=True)
        second, stats = merge_index(first, build([6, 7, 8, 9]), clobber=True)
        assert len(np.unique(second.obs_ids)) == 9 and len(second) == 9 * per_obs
        assert stats.removed_local_rows == 0
        for clobber in (True, False):
            third, stats = merge_index(second, build([6, 7, 8, 9]), clobber=clobber)
            assert len(third) == 9 * per_obs
            assert third.data.tobytes() == second.data.tobytes()
            if clobber:
                assert (stats.removed_local_rows, stats.skipped_remote_rows) == (4 * per_obs, 0)
            else:
                assert (stats.removed_local_rows, stats.skipped_remote_rows) == (0, 4 * per_obs)


def test_clobber_yes_replaces_all_rows_of_an_observation(make_hdu):
    local = make_hdu([1, 2])
    remote = make_hdu([2], rows=(("events", "events", "EVENTS"), ("bkg", "bkg_3d", "BKG")))
    remote.data["SIZE"] = 99
    merged, stats = merge_index(local, remote, clobber=True)
    two = rows_of(merged, 2)
    assert list(two["HDU_TYPE"]) == ["events", "bkg"], "the 4 other local rows are gone"
    assert list(two["SIZE"]) == [99, 99]
    assert len(rows_of(merged, 1)) == 6
    assert stats.removed_local_rows == 6 and stats.rows == 8


def test_clobber_no_keeps_local_rows_and_adds_new_keys(make_hdu):
    local = make_hdu([1, 2], rows=(("events", "events", "EVENTS"), ("gti", "gti", "GTI")))
    remote = make_hdu([2, 3], rows=(("events", "events", "EVENTS"), ("bkg", "bkg_3d", "BKG")))
    remote.data["SIZE"] = 99
    merged, stats = merge_index(local, remote, clobber=False)
    two = rows_of(merged, 2)
    assert list(two["HDU_TYPE"]) == ["events", "gti", "bkg"], "the new bkg row is added"
    assert list(two["SIZE"]) == [1002, 1002, 99], "the local events row is kept"
    assert len(rows_of(merged, 3)) == 2
    assert stats.skipped_remote_rows == 1 and stats.removed_local_rows == 0


def test_string_keys_compare_stripped_and_lower_case(make_hdu):
    local = make_hdu([1], rows=(("events", "events", "EVENTS"),))
    remote = make_hdu([1], rows=((" Events", "EVENTS ", "events"),))
    merged, stats = merge_index(local, remote, clobber=False)
    assert len(merged) == 1 and stats.skipped_remote_rows == 1
    assert merged.data["HDU_TYPE"][0] == "events"


def test_sorted_stores_stay_sorted(make_obs):
    local = make_obs([2, 4, 7])
    remote = make_obs([1, 5, 8])
    merged, _ = merge_index(local, remote, clobber=True)
    assert list(merged.obs_ids) == [1, 2, 4, 5, 7, 8]


def test_an_order_of_the_store_is_kept(make_obs):
    """A store not in OBS_ID order keeps its order: an observation keeps its place, new ones
    follow in the remote order."""
    local = make_obs([9, 4, 7])
    remote = make_obs([5, 4, 1, 8])
    merged, _ = merge_index(local, remote, clobber=True)
    assert list(merged.obs_ids) == [9, 4, 7, 5, 1, 8]
    alone, _ = merge_index(None, remote, clobber=True)
    assert list(alone.obs_ids) == [5, 4, 1, 8], "without a local table, the remote order"


def test_local_rows_precede_remote_rows_of_one_observation(make_hdu):
    local = make_hdu([1], rows=(("psf", "psf_table", "PSF"), ("aeff", "aeff_2d", "AEFF")))
    remote = make_hdu([1], rows=(("bkg", "bkg_3d", "BKG"),))
    merged, _ = merge_index(local, remote, clobber=False)
    assert list(merged.data["HDU_TYPE"]) == ["psf", "aeff", "bkg"]


def test_swapped_column_order_lands_values_right(make_obs):
    local = make_obs([1, 2], columns=("OBS_ID", "DEC_PNT", "RA_PNT", "OBJECT"))
    remote = make_obs([3], columns=("OBS_ID", "RA_PNT", "DEC_PNT", "OBJECT"))
    merged, _ = merge_index(local, remote, clobber=True)
    assert merged.columns == ("OBS_ID", "DEC_PNT", "RA_PNT", "OBJECT"), "local order"
    row = rows_of(merged, 3)[0]
    assert row["RA_PNT"] == pytest.approx(0.003) and row["DEC_PNT"] == pytest.approx(-0.003)
    assert merged.units == {"RA_PNT": "deg", "DEC_PNT": "deg"}


def test_column_only_one_side_has(make_obs):
    local = make_obs([1], columns=("OBS_ID", "RA_PNT", "QUALITY"))
    remote = make_obs([2], columns=("OBS_ID", "DEC_PNT", "OBJECT", "RA_PNT"))
    merged, _ = merge_index(local, remote, clobber=True)
    assert merged.columns == ("OBS_ID", "RA_PNT", "QUALITY", "DEC_PNT", "OBJECT")
    one, two = merged.data
    assert np.isnan(one["DEC_PNT"]) and one["OBJECT"] == ""
    null = np.iinfo(np.int32).min
    assert two["QUALITY"] == null, "integers without TNULL get the smallest value"
    assert merged.column_keywords["QUALITY"]["TNULL"] == null, "recorded as TNULL"
    assert two["RA_PNT"] == pytest.approx(0.002)


def test_integer_fill_uses_an_existing_tnull(make_obs):
    local = make_obs([1], columns=("OBS_ID", "QUALITY"))
    local.column_keywords["QUALITY"] = {"TNULL": -1}
    merged, _ = merge_index(local, make_obs([2], columns=("OBS_ID",)), clobber=True)
    assert list(merged.data["QUALITY"]) == [1, -1]
    assert merged.column_keywords["QUALITY"] == {"TNULL": -1}


def test_integer_nulls_survive_a_write(tmp_path, make_obs):
    local = make_obs([1], columns=("OBS_ID", "QUALITY"))
    merged, _ = merge_index(local, make_obs([2], columns=("OBS_ID",)), clobber=True)
    merged.write(tmp_path / "obs.fits")
    fits = pytest.importorskip("astropy.io.fits")
    with fits.open(tmp_path / "obs.fits") as hdus:
        assert hdus[1].header["TNULL2"] == np.iinfo(np.int32).min
    from astropy.table import Table
    quality = Table.read(tmp_path / "obs.fits", hdu=1)["QUALITY"]
    assert list(quality.mask) == [False, True]


def test_integer_meets_float_gives_float_with_nan_for_nulls(make_obs):
    local = make_obs([1, 2], columns=("OBS_ID", "QUALITY"))
    local.column_keywords["QUALITY"] = {"TNULL": 2}
    remote_data = np.zeros(1, dtype=[("OBS_ID", "i8"), ("QUALITY", "f4")])
    remote_data["OBS_ID"], remote_data["QUALITY"] = 3, 0.5
    merged, _ = merge_index(local, IndexTable("OBS", remote_data), clobber=True)
    assert merged.data.dtype["QUALITY"] == np.float64
    values = merged.data["QUALITY"]
    assert values[0] == 1 and np.isnan(values[1]) and values[2] == 0.5
    assert "TNULL" not in merged.column_keywords.get("QUALITY", {})


def test_integer_widths_promote(make_obs):
    local = make_obs([1], columns=("OBS_ID", "QUALITY"))
    remote_data = np.zeros(1, dtype=[("OBS_ID", "i4"), ("QUALITY", "i8")])
    remote_data["OBS_ID"], remote_data["QUALITY"] = 2, 2**40
    merged, _ = merge_index(local, IndexTable("OBS", remote_data), clobber=True)
    assert merged.data.dtype["QUALITY"] == np.int64
    assert list(merged.data["QUALITY"]) == [1, 2**40]


def test_strings_are_widened(make_obs):
    local = make_obs([1], columns=("OBS_ID", "OBJECT"))
    remote_data = np.zeros(1, dtype=[("OBS_ID", "i8"), ("OBJECT", "U40")])
    remote_data["OBS_ID"], remote_data["OBJECT"] = 2, "a much longer object name than ten"
    merged, _ = merge_index(local, IndexTable("OBS", remote_data), clobber=True)
    assert merged.data["OBJECT"][1] == "a much longer object name than ten"
    assert merged.data.dtype["OBJECT"] == np.dtype("U40")


def test_string_number_clash_is_an_error(make_obs):
    local = make_obs([1], columns=("OBS_ID", "OBJECT"), path="local.fits")
    remote_data = np.zeros(1, dtype=[("OBS_ID", "i8"), ("OBJECT", "f8")])
    remote = IndexTable("OBS", remote_data, path="remote.fits")
    with pytest.raises(IndexTableError) as err:
        merge_index(local, remote, clobber=True)
    message = str(err.value)
    assert 'Column "OBJECT"' in message and "local.fits" in message and "remote.fits" in message
    assert "strings" in message and "floats" in message


def test_vector_shape_clash_is_an_error():
    left = np.zeros(1, dtype=[("OBS_ID", "i8"), ("V", "f4", (2,))])
    right = np.zeros(1, dtype=[("OBS_ID", "i8"), ("V", "f4", (3,))])
    with pytest.raises(IndexTableError, match='Column "V"'):
        merge_index(IndexTable("OBS", left), IndexTable("OBS", right), clobber=True)


def test_kinds_must_match(make_obs, make_hdu):
    with pytest.raises(ValueError, match="cannot merge"):
        merge_index(make_obs([1]), make_hdu([1]), clobber=True)


def test_duplicates_are_removed_with_a_warning(make_obs, make_hdu, caplog):
    local = make_obs([1, 2, 1], path="local.fits")
    local.data["OBJECT"] = ["first", "two", "second"]
    remote = make_hdu([5, 5], path="remote.fits")
    with caplog.at_level(logging.WARNING):
        merged, stats = merge_index(local, make_obs([3, 3]), clobber=True)
        assert list(merged.obs_ids) == [1, 2, 3]
        assert merged.data["OBJECT"][0] == "first", "the first row of a key is kept"
        assert stats.duplicate_rows == 2
        hdu, stats = merge_index(None, remote, clobber=False)
    assert len(hdu) == 6 and stats.duplicate_rows == 6
    assert "local.fits" in caplog.text and "remote.fits" in caplog.text


def test_header_from_remote_and_local_only_keywords_kept(make_obs):
    local = make_obs([1], header=[{"name": "MJDREFI", "value": 1}, {"name": "OWN", "value": 2},
                                  {"name": "COMMENT", "value": "local note"},
                                  {"name": "COMMENT", "value": "shared"}])
    remote = make_obs([2], header=[{"name": "MJDREFI", "value": 51910},
                                   {"name": "COMMENT", "value": "shared"}])
    remote.column_keywords["RA_PNT"] = {"TUNIT": "rad"}
    merged, _ = merge_index(local, remote, clobber=True)
    assert merged.header == [{"name": "MJDREFI", "value": 51910},
                             {"name": "COMMENT", "value": "shared"},
                             {"name": "OWN", "value": 2},
                             {"name": "COMMENT", "value": "local note"}]
    assert merged.units["RA_PNT"] == "rad"
    again, _ = merge_index(merged, remote, clobber=True)
    assert again.header == merged.header


def test_fifty_id_run_list_gives_fifty_observations(sim_store):
    """The reference appended the whole remote table for a multiple of 50 IDs."""
    folder = sim_store.parent
    hdu = IndexTable.read(folder / "hdu-index.fits.gz", "HDU")
    obs = IndexTable.read(folder / "obs-index.fits.gz", "OBS")
    wanted = obs.obs_ids[5:55]
    assert len(wanted) == 50
    local_hdu, _ = merge_index(None, hdu.select(wanted), clobber=True)
    local_obs, _ = merge_index(None, obs.select(wanted), clobber=True)
    assert len(local_obs) == 50 and len(np.unique(local_hdu.obs_ids)) == 50
    assert len(local_hdu) == 300


def test_hess_subsets_merge_back_to_the_whole(hess_dir):
    hdu = IndexTable.read(hess_dir / "hdu-index.fits.gz", "HDU")
    ids = np.unique(hdu.obs_ids)
    merged, _ = merge_index(hdu.select(ids[::2]), hdu.select(ids[1::2]), clobber=False)
    assert len(merged) == 630
    order = np.lexsort((hdu.data["HDU_TYPE"], hdu.obs_ids))
    assert merged.data.tobytes() == hdu.data[order].astype(merged.data.dtype).tobytes()


def test_large_merge_is_fast(make_obs):
    import time

    local = make_obs(np.arange(0, 60_000))
    remote = make_obs(np.arange(50_000, 100_000))
    start = time.perf_counter()
    merged, stats = merge_index(local, remote, clobber=True)
    assert time.perf_counter() - start < 2.0
    assert len(merged) == 100_000 and stats.removed_local_rows == 10_000


TYPES = [("events", "events"), ("Events ", "EVENTS"), ("aeff", "aeff_2d"), ("bkg", "bkg_3d"),
         ("bkg", "bkg_2d")]
row = st.tuples(st.integers(1, 6), st.sampled_from(TYPES), st.integers(0, 99))


def table_from(rows):
    data = np.array([(obs_id, hdu_type, hdu_class, "data", f"f{obs_id}", "x", size)
                     for obs_id, (hdu_type, hdu_class), size in rows],
                    dtype=[("OBS_ID", ">i8"), ("HDU_TYPE", "U8"), ("HDU_CLASS", "U10"),
                           ("FILE_DIR", "U4"), ("FILE_NAME", "U4"), ("HDU_NAME", "U2"),
                           ("SIZE", ">i4")])
    return IndexTable("HDU", data)


def normal_keys(table):
    return [(int(o), str(t).strip().lower(), str(c).strip().lower())
            for o, t, c in zip(table.obs_ids, table.data["HDU_TYPE"], table.data["HDU_CLASS"])]


@settings(max_examples=150, deadline=None)
@given(local=st.lists(row, max_size=12), remote=st.lists(row, max_size=12),
       clobber=st.booleans(), has_local=st.booleans())
def test_merge_is_idempotent_without_duplicate_keys(local, remote, clobber, has_local):
    local_table = table_from(local) if has_local else None
    remote_table = table_from(remote)
    once, _ = merge_index(local_table, remote_table, clobber=clobber)
    twice, _ = merge_index(once, remote_table, clobber=clobber)
    assert twice.data.tobytes() == once.data.tobytes()
    assert twice.data.dtype == once.data.dtype
    keys = normal_keys(once)
    assert len(keys) == len(set(keys))
    ascending = [list(t.obs_ids) == sorted(t.obs_ids) for t in (local_table, remote_table) if t]
    if all(ascending) and has_local:
        assert list(once.obs_ids) == sorted(once.obs_ids), "sorted stores stay sorted"
    remote_keys = set(normal_keys(remote_table))
    assert remote_keys <= set(keys), "every remote key ends up in the result"
    if clobber:
        remote_obs = {key[0] for key in remote_keys}
        assert {key for key in keys if key[0] in remote_obs} == remote_keys
    elif local_table is not None:
        assert set(normal_keys(local_table)) <= set(keys)
