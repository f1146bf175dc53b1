"""The master index: reading, errors, the updated document, writing."""

from __future__ import annotations

import json
import os

import pytest

from iactcopy.errors import DataStoreError
from iactcopy.store.master import MasterIndex, Production

ENTRY_A = {"name": "a", "hduindx": "a/hdu.fits.gz", "obsindx": "a/obs.fits.gz", "Total": 3}
ENTRY_B = {"name": "b", "obsindx": "obs.fits", "note": [1, 2], "hduindx": "hdu.fits"}


def write_json(tmp_path, content, name="master.json"):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_read_keeps_entries_in_order(tmp_path):
    path = write_json(tmp_path, {"datasets": [ENTRY_A, ENTRY_B], "comment": "top"})
    master = MasterIndex.read(path)
    assert master.names() == ["a", "b"]
    assert len(master) == 2 and "b" in master and "c" not in master
    a, b = master.productions
    assert a == Production("a", "a/hdu.fits.gz", "a/obs.fits.gz", {"Total": 3}, str(tmp_path))
    assert list(b.extras) == ["note"]
    assert a.hdu_index_path == os.path.join(str(tmp_path), "a/hdu.fits.gz")
    assert b.obs_index_path == os.path.join(str(tmp_path), "obs.fits")
    assert master.folder == str(tmp_path)


def test_hess_master(hess_dir):
    master = MasterIndex.read(hess_dir / "master.json")
    production = master.production("hess_dl3_dr1")
    assert production.hduindx == "hdu-index.fits.gz"
    assert list(production.extras) == ["Total observations", "Total time", "Total events",
                                       "Disk usage", "Date created"]
    assert os.path.isfile(production.hdu_index_path)


def test_unknown_production_lists_the_available_ones(tmp_path):
    master = MasterIndex.read(write_json(tmp_path, {"datasets": [ENTRY_A, ENTRY_B]}))
    with pytest.raises(DataStoreError) as err:
        master.production("A")
    assert str(err.value) == ('FITS production "A" not available. '
                              "Available productions are: a, b")


def test_missing_file(tmp_path):
    with pytest.raises(DataStoreError, match=r'master.json" not found'):
        MasterIndex.read(tmp_path / "master.json")
    with pytest.raises(DataStoreError, match="is a folder"):
        MasterIndex.read(tmp_path)


def test_invalid_json_gives_line_and_column(tmp_path):
    path = write_json(tmp_path, '{\n  "datasets": [\n    {"name": "a",}\n  ]\n}\n')
    with pytest.raises(DataStoreError) as err:
        MasterIndex.read(path)
    assert str(path) in str(err.value)
    assert "not valid JSON" in str(err.value) and "line 3, column" in str(err.value)


def test_not_utf8(tmp_path):
    path = tmp_path / "master.json"
    path.write_bytes(b'{"datasets": [], "x": "\xff"}')
    with pytest.raises(DataStoreError, match="not UTF-8"):
        MasterIndex.read(path)


@pytest.mark.parametrize("document, message", [
    ([1, 2], "must hold a JSON object"),
    ({"sets": []}, 'Key "datasets" not available in master index file "{path}".'),
    ({"datasets": {"name": "a"}}, '"datasets" in master index file "{path}" must be a JSON array'),
    ({"datasets": [ENTRY_A, "b"]}, 'entry 2 of "datasets" must be a JSON object'),
    ({"datasets": [{"name": "a", "hduindx": "h"}]}, 'entry 1 of "datasets" has no key "obsindx"'),
    ({"datasets": [{"hduindx": "h", "obsindx": "o"}]}, 'has no key "name"'),
    ({"datasets": [{"name": 3, "hduindx": "h", "obsindx": "o"}]},
     'key "name" of entry 1 of "datasets" must be a non-empty string, not 3'),
    ({"datasets": [ENTRY_A, ENTRY_B, dict(ENTRY_A)]},
     'lists production "a" twice (entries 1 and 3)'),
])
def test_structure_errors_name_the_file(tmp_path, document, message):
    path = write_json(tmp_path, document)
    with pytest.raises(DataStoreError) as err:
        MasterIndex.read(path)
    assert message.format(path=path) in str(err.value)
    assert str(path) in str(err.value)


def test_with_production_replaces_in_place(tmp_path):
    path = write_json(tmp_path, {"top": 1, "datasets": [ENTRY_A, ENTRY_B], "end": True})
    master = MasterIndex.read(path)
    new = master.with_production({"name": "a", "hduindx": "x.fits", "obsindx": "y.fits",
                                  "Total": 9})
    assert new.names() == ["a", "b"]
    assert new.production("a").hduindx == "x.fits"
    assert new.document["datasets"][1] == ENTRY_B
    assert list(new.document) == ["top", "datasets", "end"]
    assert master.production("a").hduindx == "a/hdu.fits.gz", "the original is unchanged"
    assert new.path == master.path


def test_with_production_appends_a_new_name(tmp_path):
    master = MasterIndex.read(write_json(tmp_path, {"datasets": [ENTRY_A]}))
    new = master.with_production(Production("c", "c/h.fits", "c/o.fits", {"k": "v"}))
    assert new.names() == ["a", "c"]
    assert new.document["datasets"][1] == {"name": "c", "hduindx": "c/h.fits",
                                           "obsindx": "c/o.fits", "k": "v"}
    with pytest.raises(DataStoreError, match='has no key "obsindx"'):
        master.with_production({"name": "d", "hduindx": "h"})


def test_write_round_trip(tmp_path):
    path = write_json(tmp_path, {"datasets": [ENTRY_A, ENTRY_B], "über": "ö"})
    master = MasterIndex.read(path).with_production({**ENTRY_B, "hduindx": "new.fits"})
    master.write()
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.startswith('{\n  "datasets": [\n    {\n')
    assert json.loads(text) == master.document
    assert MasterIndex.read(path).production("b").hduindx == "new.fits"
    assert [p.name for p in tmp_path.iterdir()] == ["master.json"], "no temporary left"
    other = tmp_path / "sub.json"
    master.write(other)
    assert other.read_text(encoding="utf-8") == text


def test_write_needs_a_path():
    master = MasterIndex({"datasets": []})
    assert master.names() == [] and master.folder == ""
    with pytest.raises(ValueError, match="needs a path"):
        master.write()
