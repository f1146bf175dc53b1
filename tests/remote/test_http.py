"""csiactcopy, csiactdata and csfindobs on stores named by http:// and file:// URLs.

The stores are served by a loopback HTTP server (conftest.py): the real
H.E.S.S. DL3 DR1 store where it is present, and a small generated one.
"""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from iactcopy.app.cli import run_application
from iactcopy.errors import DataStoreError
from iactcopy.store.access.sources import LocalSource
from iactcopy.store.access.urls import FsspecSource
from iactcopy.store.index.tables import IndexTable
from iactcopy.store.remotestore import RemoteStore
from iactcopy.tools.csfindobs import csfindobs
from iactcopy.tools.csiactcopy import csiactcopy
from iactcopy.tools.csiactdata import csiactdata

from .conftest import GENERATED_NOBS, GENERATED_PROD

pytest.importorskip("fsspec", reason="fsspec (pip install iactcopy[remote])")
pytest.importorskip("aiohttp", reason="aiohttp (pip install iactcopy[remote])")

FIRST_ID = 100000
DATA = "data/{prod}_obs_{obs_id:06d}.fits.gz"


def data_file(obs_id: int) -> str:
    return DATA.format(prod=GENERATED_PROD, obs_id=obs_id)


def run_copy(remote_master: str, outpath: Path, prodname: str = GENERATED_PROD,
             **values) -> csiactcopy:
    values.setdefault("nthreads", 4)
    app = csiactcopy(remote_master=remote_master, prodname=prodname, outpath=str(outpath),
                     **values)
    app.execute()
    return app


def data_files(store: Path) -> list[str]:
    """The files of a store other than its indexes and master file, relative."""
    return sorted(str(path.relative_to(store)) for path in store.rglob("*")
                  if path.is_file() and path.name not in (
                      "master.json", "hdu-index.fits.gz", "obs-index.fits.gz"))


def assert_copied(remote: Path, local: Path, files: list[str], *, http: bool = True) -> None:
    """Byte-identical, with the modification time of the remote file.

    Over HTTP that is ``Last-Modified``, in whole seconds; from a path or a
    file:// URL it is kept to the nanosecond.
    """
    for relpath in files:
        source, target = (remote / relpath).stat(), (local / relpath).stat()
        assert filecmp.cmp(remote / relpath, local / relpath, shallow=False), relpath
        if http:
            assert target.st_mtime == int(source.st_mtime), relpath
        else:
            assert target.st_mtime_ns == source.st_mtime_ns, relpath


def local_obs_ids(outpath: Path, kind: str) -> list[int]:
    name = "hdu-index.fits.gz" if kind == "HDU" else "obs-index.fits.gz"
    return sorted(set(IndexTable.read(outpath / name, kind).obs_ids.tolist()))


# -- csiactcopy -------------------------------------------------------------

def test_full_copy_of_the_hess_store(hess_store, http_server, tmp_path):
    server = http_server(hess_store)
    outpath = tmp_path / "local"
    app = run_copy(f"{server.url}/master.json", outpath, prodname="hess_dl3_dr1", nthreads=8)

    assert app.exit_status == 0
    files = data_files(hess_store)
    assert "README.txt" in files
    assert sorted(app.report.copied) == files
    assert_copied(hess_store, outpath, files)
    assert local_obs_ids(outpath, "OBS") == local_obs_ids(hess_store, "OBS")
    master = json.loads((outpath / "master.json").read_text())
    assert [entry["name"] for entry in master["datasets"]] == ["hess_dl3_dr1"]
    assert not list(outpath.rglob("*.part"))


def test_full_copy_of_a_generated_store(generated_store, http_server, tmp_path):
    server = http_server(generated_store)
    outpath = tmp_path / "local"
    app = run_copy(f"{server.url}/master.json", outpath)

    assert app.exit_status == 0
    files = data_files(generated_store)
    assert len(files) == GENERATED_NOBS
    assert_copied(generated_store, outpath, files)
    assert local_obs_ids(outpath, "HDU") == list(range(FIRST_ID, FIRST_ID + GENERATED_NOBS))
    # Nothing was written to the served store.
    assert sorted(p.name for p in generated_store.iterdir()) == [
        "data", "hdu-index.fits.gz", "master.json", "obs-index.fits.gz"]


def test_run_list_copies_only_its_observations(generated_store, http_server, tmp_path):
    server = http_server(generated_store)
    runlist = tmp_path / "runs.lis"
    runlist.write_text(f"{FIRST_ID + 1}\n{FIRST_ID + 4}\n999\n")
    outpath = tmp_path / "local"
    app = run_copy(f"{server.url}/master.json", outpath, runlist=str(runlist))

    assert app.exit_status == 0
    assert sorted(app.report.copied) == [data_file(FIRST_ID + 1), data_file(FIRST_ID + 4)]
    assert local_obs_ids(outpath, "OBS") == [FIRST_ID + 1, FIRST_ID + 4]
    assert not any(f"{FIRST_ID + 2}" in path for path in server.paths())


def test_rerun_copies_nothing(generated_store, http_server, tmp_path):
    server = http_server(generated_store)
    outpath = tmp_path / "local"
    run_copy(f"{server.url}/master.json", outpath)
    before = {p: p.stat().st_mtime_ns for p in outpath.rglob("*") if p.is_file()}
    server.requests.clear()

    app = run_copy(f"{server.url}/master.json", outpath)

    assert app.exit_status == 0
    assert app.report.copied == {}
    assert len(app.report.up_to_date) == GENERATED_NOBS
    data_gets = [path for path in server.paths("GET") if path.startswith("/data/")]
    assert data_gets == []
    after = {p: p.stat().st_mtime_ns for p in outpath.rglob("*") if p.is_file()
             if p.name != ".iactcopy.lock"}
    assert after == {p: t for p, t in before.items() if p.name != ".iactcopy.lock"}


def test_transient_failures_are_retried(generated_store, http_server, tmp_path):
    faults = {
        "/master.json": ["503"],
        "/hdu-index.fits.gz": ["drop"],
        # info(): the HEAD, then fsspec's HEAD and GET fail; the retry succeeds.
        "/" + data_file(FIRST_ID): ["503", "503", "503"],
        # info(): two attempts fail, the third succeeds.
        "/" + data_file(FIRST_ID + 1): ["drop", "drop"],
        # info() succeeds; the download fails once, then is started again.
        "/" + data_file(FIRST_ID + 2): ["ok", "503"],
        "/" + data_file(FIRST_ID + 3): ["ok", "drop"],
        "/" + data_file(FIRST_ID + 4): ["ok", "cut"],
    }
    server = http_server(generated_store, faults=faults)
    outpath = tmp_path / "local"
    app = run_copy(f"{server.url}/master.json", outpath)

    assert app.exit_status == 0, app.report.problems
    files = data_files(generated_store)
    assert sorted(app.report.copied) == files
    assert_copied(generated_store, outpath, files)
    assert app.report.bytes_copied == sum((generated_store / f).stat().st_size for f in files)
    assert local_obs_ids(outpath, "OBS") == list(range(FIRST_ID, FIRST_ID + GENERATED_NOBS))
    done = [action for _, path, action in server.requests if path in faults]
    assert done.count("503") == 5 and done.count("drop") == 4 and done.count("cut") == 1


def test_persistent_failure_is_that_files_failure(generated_store, http_server, tmp_path):
    broken = data_file(FIRST_ID + 2)
    cut = data_file(FIRST_ID + 3)
    server = http_server(generated_store, faults={
        "/" + broken: ["always503"], "/" + cut: ["ok", "cut", "cut", "cut"]})
    outpath = tmp_path / "local"
    app = run_copy(f"{server.url}/master.json", outpath)

    assert app.exit_status == 3
    problems = dict(app.report.problems)
    assert "HTTP 503" in problems[broken] and "(3 attempts)" in problems[broken]
    assert "(3 attempts)" in problems[cut]
    assert cut in app.report.failed
    expected = [i for i in range(FIRST_ID, FIRST_ID + GENERATED_NOBS)
                if i not in (FIRST_ID + 2, FIRST_ID + 3)]
    assert local_obs_ids(outpath, "HDU") == expected
    assert local_obs_ids(outpath, "OBS") == expected
    assert not (outpath / broken).exists() and not (outpath / cut).exists()
    assert not list(outpath.rglob("*.part"))


def test_a_silent_server_fails_the_file_after_timeout(generated_store, http_server, tmp_path):
    silent = f"/{data_file(FIRST_ID + 1)}"
    server = http_server(generated_store, faults={silent: ["stall"] * 3})
    app = run_copy(f"{server.url}/master.json", tmp_path / "local", timeout=1)
    assert app.exit_status == 3
    problems = dict(app.report.problems)
    assert list(problems) == [data_file(FIRST_ID + 1)]
    assert "timed out" in problems[data_file(FIRST_ID + 1)]
    assert "(3 attempts)" in problems[data_file(FIRST_ID + 1)]
    assert len(app.report.copied) == GENERATED_NOBS - 1


def test_missing_file_gives_exit_3_and_is_not_indexed(generated_store, http_server, tmp_path):
    missing = data_file(FIRST_ID + 1)
    (generated_store / missing).unlink()
    server = http_server(generated_store)
    outpath = tmp_path / "local"
    app = run_copy(f"{server.url}/master.json", outpath)

    assert app.exit_status == 3
    assert list(app.report.missing) == [missing]
    assert FIRST_ID + 1 not in local_obs_ids(outpath, "HDU")
    assert FIRST_ID + 1 not in local_obs_ids(outpath, "OBS")
    # A 404 is final: one HEAD, no retry.
    assert server.paths().count("/" + missing) == 1


def test_missing_file_from_the_command_line(generated_store, http_server, tmp_path):
    (generated_store / data_file(FIRST_ID)).unlink()
    server = http_server(generated_store)
    result = subprocess.run(
        [sys.executable, "-m", "iactcopy.tools.csiactcopy", f"remote_master={server.url}/"
         "master.json", f"prodname={GENERATED_PROD}", f"outpath={tmp_path / 'local'}"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stderr
    assert data_file(FIRST_ID) in result.stderr


def test_server_down_is_one_clear_error(closed_port, tmp_path, capsys):
    url = f"http://127.0.0.1:{closed_port}/store/master.json"
    outpath = tmp_path / "local"
    # In this process, so that the retries wait the short delays of the fixture.
    status = run_application(csiactcopy, [f"remote_master={url}", "prodname=any",
                                          f"outpath={outpath}"])
    stderr = capsys.readouterr().err

    assert status == 1
    errors = [line for line in stderr.splitlines() if line.startswith("*** ERROR:")]
    assert len(errors) == 1, stderr
    assert url in errors[0] and "Connection refused" in errors[0]
    assert "(3 attempts)" in errors[0]
    assert "Traceback" not in stderr
    assert not outpath.exists()


def test_missing_master_is_a_data_store_error(generated_store, http_server):
    server = http_server(generated_store)
    with pytest.raises(DataStoreError, match=r'"http://127\.0\.0\.1:\d+/nope/master\.json" '
                                             r"not found"):
        RemoteStore.open(f"{server.url}/nope/master.json")


def test_index_outside_the_store_is_refused_before_any_request(generated_store, http_server):
    master = json.loads((generated_store / "master.json").read_text())
    master["datasets"][0]["hduindx"] = "../secret/hdu-index.fits.gz"
    (generated_store / "master.json").write_text(json.dumps(master))
    server = http_server(generated_store)
    store = RemoteStore.open(f"{server.url}/master.json")
    with pytest.raises(DataStoreError, match="outside the store"):
        store.production(GENERATED_PROD)
    assert server.paths() == ["/master.json"]


def test_data_file_outside_the_store_is_refused(generated_store, http_server, tmp_path):
    import fitsio

    index = generated_store / "hdu-index.fits.gz"
    table = IndexTable.read(index, "HDU")
    rows = table.data["OBS_ID"] == FIRST_ID
    dtype = [(name, "U20" if name == "FILE_DIR" else table.data.dtype[name].base,
              table.data.dtype[name].shape) for name in table.columns]
    data = table.data.astype(dtype)
    data["FILE_DIR"][rows] = "../../outside"
    IndexTable("HDU", data, header=table.header, column_keywords=table.column_keywords
               ).write(index)
    assert "../../outside" in [v.strip() for v in fitsio.read(str(index))["FILE_DIR"]]
    server = http_server(generated_store)
    app = run_copy(f"{server.url}/master.json", tmp_path / "local")

    assert app.exit_status == 3
    assert len(app.report.refused) == 1
    assert not any("outside" in path for path in server.paths())
    assert FIRST_ID not in local_obs_ids(tmp_path / "local", "HDU")


def test_parallel_transfers_overlap(generated_store, http_server, tmp_path):
    server = http_server(generated_store, delay=0.1)
    app = run_copy(f"{server.url}/master.json", tmp_path / "local", nthreads=6)
    assert app.exit_status == 0
    heads = [path for path in server.paths("HEAD") if path.startswith("/data/")]
    assert len(heads) == GENERATED_NOBS
    assert server.peak >= 3
    # Six downloads of 0.1 s each: 0.6 s one after the other.
    assert app.report.elapsed < 0.4


def test_file_url_is_a_local_path(generated_store, tmp_path):
    store = RemoteStore.open((generated_store / "master.json").as_uri())
    assert isinstance(store.source, LocalSource)
    app = run_copy((generated_store / "master.json").as_uri(), tmp_path / "local")
    assert app.exit_status == 0
    assert_copied(generated_store, tmp_path / "local", data_files(generated_store), http=False)


def test_unsupported_scheme_is_an_error():
    with pytest.raises(DataStoreError, match='"s3://" are not supported'):
        RemoteStore.open("s3://bucket/store/master.json")


# -- the source itself ------------------------------------------------------------

def test_source_info_gives_size_and_last_modified(generated_store, http_server):
    server = http_server(generated_store)
    source = FsspecSource(server.url)
    info = source.info(data_file(FIRST_ID))
    stat = (generated_store / data_file(FIRST_ID)).stat()
    assert info.size == stat.st_size
    assert info.mtime == int(stat.st_mtime)
    with pytest.raises(FileNotFoundError):
        source.info("data/none.fits.gz")
    assert source.read_bytes("master.json") == (generated_store / "master.json").read_bytes()


def test_source_info_without_head_falls_back_to_get(generated_store, http_server):
    relpath = data_file(FIRST_ID)
    server = http_server(generated_store, faults={"/" + relpath: ["405", "405"]})
    info = FsspecSource(server.url).info(relpath)
    stat = (generated_store / relpath).stat()
    assert (info.size, info.mtime) == (stat.st_size, int(stat.st_mtime))
    assert [verb for verb, path, _ in server.requests] == ["HEAD", "HEAD", "GET"]


@pytest.mark.parametrize("details, expected", [
    ({"mtime": datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc)}, 1577934245.0),
    ({"mtime": 1577934245.5}, 1577934245.5),
    ({"LastModified": "2020-01-02T03:04:05Z"}, 1577934245.0),
    ({"Last-Modified": "Thu, 02 Jan 2020 03:04:05 GMT"}, 1577934245.0),
    ({"Last-Modified": "yesterday"}, None),
    ({"size": 3}, None),
])
def test_modification_time_as_the_file_system_gives_it(details, expected):
    from iactcopy.store.access.urls import _mtime

    assert _mtime(details) == expected


def test_source_counts_progress_once_across_retries(generated_store, http_server, tmp_path):
    relpath = data_file(FIRST_ID)
    server = http_server(generated_store, faults={"/" + relpath: ["cut", "cut"]})
    source = FsspecSource(server.url)

    class Count:
        total = 0

        def relative_update(self, nbytes):
            self.total += nbytes

    counter = Count()
    with open(tmp_path / "copy", "wb") as out:
        nbytes = source.copy_to(relpath, out, counter)
    size = (generated_store / relpath).stat().st_size
    assert nbytes == counter.total == size
    assert (tmp_path / "copy").read_bytes() == (generated_store / relpath).read_bytes()


def test_source_refuses_unsafe_paths_before_building_a_url(http_server, tmp_path):
    from iactcopy.store.access.sources import UnsafePath

    server = http_server(tmp_path)
    source = FsspecSource(server.url + "/store")
    for relpath in ("../etc/passwd", "/etc/passwd", "a/../../b"):
        with pytest.raises(UnsafePath):
            source.info(relpath)
        with pytest.raises(UnsafePath):
            source.url(relpath)
    assert server.requests == []


def test_missing_fsspec_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec.implementations.http", None)
    with pytest.raises(ImportError, match=r"pip install iactcopy\[remote\]") as caught:
        FsspecSource("http://127.0.0.1:1/store")
    assert isinstance(caught.value.__cause__, ImportError)


# -- csiactdata and csfindobs -------------------------------------------------------

def test_csiactdata_over_http(generated_store, http_server):
    server = http_server(generated_store)
    app = csiactdata(datapath=server.url)
    app.run()
    assert app.names() == [GENERATED_PROD]


def test_csiactdata_over_http_shows_unusable_productions(generated_store, http_server):
    master = json.loads((generated_store / "master.json").read_text())
    master["datasets"].append({"name": "gone", "hduindx": "gone/hdu.fits.gz",
                               "obsindx": "gone/obs.fits.gz"})
    (generated_store / "master.json").write_text(json.dumps(master))
    server = http_server(generated_store)
    app = csiactdata(datapath=server.url + "/")
    app.run()
    assert app.names() == [GENERATED_PROD]


def test_csiactdata_warns_when_an_index_cannot_be_fetched(generated_store, http_server,
                                                          caplog):
    server = http_server(generated_store, faults={"/obs-index.fits.gz": ["always503"]})
    app = csiactdata(datapath=server.url)
    app.run()
    assert app.names() == []
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("obs-index.fits.gz" in w and "HTTP 503" in w for w in warnings), warnings


def test_csiactdata_command_over_http(hess_store, http_server):
    server = http_server(hess_store)
    result = subprocess.run([sys.executable, "-m", "iactcopy.tools.csiactdata",
                             f"datapath={server.url}", "chatter=4", "logfile=data.log"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    log = Path("data.log").read_text()
    assert f"{server.url}/master.json" in log
    assert "=== hess_dl3_dr1 ===" in log and "Not available" not in log


def test_csiactdata_missing_master_over_http(generated_store, http_server):
    server = http_server(generated_store)
    app = csiactdata(datapath=server.url, master_indx="other.json")
    with pytest.raises(DataStoreError, match=r'other\.json" not found\. Check datapath'):
        app.run()


def test_csfindobs_over_http_finds_what_a_path_finds(hess_store, http_server):
    server = http_server(hess_store)
    cone = {"ra": 83.63, "dec": 22.01, "rad": 2.5}
    remote = csfindobs(datapath=server.url, prodname="hess_dl3_dr1", **cone)
    remote.run()
    local = csfindobs(datapath=str(hess_store), prodname="hess_dl3_dr1", **cone)
    local.run()
    assert remote.runs() == local.runs() and len(remote.runs()) > 0


def test_csfindobs_over_http_writes_a_run_list(generated_store, http_server, tmp_path):
    server = http_server(generated_store)
    outfile = tmp_path / "runs.lis"
    app = csfindobs(datapath=server.url, prodname=GENERATED_PROD, ra="NONE", min_qual=2,
                    outfile=str(outfile))
    app.execute()
    assert app.runs() == list(range(FIRST_ID, FIRST_ID + GENERATED_NOBS))
    ids = [line for line in outfile.read_text().splitlines() if not line.startswith("#")]
    assert ids == [str(i) for i in app.runs()]


def test_csfindobs_bad_expression_names_the_url_not_a_temporary(generated_store, http_server):
    from iactcopy.errors import ParameterError

    server = http_server(generated_store)
    app = csfindobs(datapath=server.url, prodname=GENERATED_PROD, ra="NONE", min_qual=2,
                    expression="NO_SUCH_COLUMN > 3")
    with pytest.raises(ParameterError) as caught:
        app.run()
    assert "/proc/self/fd" not in str(caught.value)


def test_csfindobs_over_a_file_url(generated_store):
    app = csfindobs(datapath=generated_store.as_uri(), prodname=GENERATED_PROD, ra="NONE",
                    min_qual=2)
    app.run()
    assert app.runs() == list(range(FIRST_ID, FIRST_ID + GENERATED_NOBS))


def test_csiactdata_over_a_file_url(generated_store):
    app = csiactdata(datapath=generated_store.as_uri())
    app.run()
    assert app.names() == [GENERATED_PROD]


def test_index_read_by_url_is_named_by_its_url(generated_store, http_server):
    server = http_server(generated_store)
    store = RemoteStore.open(f"{server.url}/master.json")
    selection = store.select(store.production(GENERATED_PROD))
    assert selection.hdu.path == f"{server.url}/hdu-index.fits.gz"
    assert store.index_path("obs-index.fits.gz") == f"{server.url}/obs-index.fits.gz"


def test_index_falls_back_to_a_private_temporary_folder(generated_store, http_server,
                                                        tmp_path, monkeypatch):
    from iactcopy.store.fits import memoryfile

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(memoryfile, "_memfd", lambda name: None)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    server = http_server(generated_store)
    store = RemoteStore.open(f"{server.url}/master.json")
    selection = store.select(store.production(GENERATED_PROD))
    assert len(selection.obs_ids) == GENERATED_NOBS
    assert list(temp.iterdir()) == []
