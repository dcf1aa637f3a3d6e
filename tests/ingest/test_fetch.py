"""Tests for geo.ingest.fetch: a local imitation of the ArcGIS REST services, and mirror copies.

Nothing here reaches the network or /work/main/data: every server listens on 127.0.0.1 with
an ephemeral port, and every data folder lives under ``tmp_path``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from geo.errors import FetchError, GeoDataError
from geo.ingest.fetch import copy_mirror, fetch, fetch_portal
from geo.ingest.sources import DATASETS, MANIFEST_NAME, read_manifest, resolve
from tests.helpers.data import SHARED

# --------------------------------------------------------------------------- local server

DROP = object()  # the server closes the socket without answering
Reply = tuple[int, bytes, dict[str, str]]
App = Callable[[str, dict[str, str]], Any]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.server.log.append((parts.path, params))
        result = self.server.app(parts.path, params)
        if result is DROP:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        status, body, headers = result
        self.send_response(status)
        headers = {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (time-out test) is not an error here


@pytest.fixture
def serve() -> Iterator[Callable[[App], tuple[_Server, str]]]:
    started: list[tuple[_Server, threading.Thread]] = []

    def start(app: App) -> tuple[_Server, str]:
        srv = _Server(("127.0.0.1", 0), _Handler)
        srv.app = app
        srv.log = []
        thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        started.append((srv, thread))
        return srv, f"http://127.0.0.1:{srv.server_address[1]}"

    yield start
    for srv, thread in started:
        srv.shutdown()
        srv.server_close()
        thread.join(5)


def _json(obj: Any, status: int = 200) -> Reply:
    return status, json.dumps(obj).encode(), {}


FIELDS = ["OBJECTID", "Month_of_Stop", "Reason_for_Stop", "Driver_Age", "CMPD_Division"]


def _stop_rows(n: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(1, n + 1):
        rows.append(
            {
                "OBJECTID": i,
                "Month_of_Stop": f"2021/{(i % 12) + 1:02d}",
                "Reason_for_Stop": "Speeding                 " if i % 2 == 0 else "Stop Light/Sign",
                "Driver_Age": None if i % 97 == 0 else 16 + i % 80,
                "CMPD_Division": None if i % 50 == 0 else ('North, "Tryon" Division' if i == 7 else "Central Division"),
            }
        )
    return rows


#: The layer's field list: FIELDS first, then the other columns a stops download must have.
LAYER_FIELDS = FIELDS + [c for c in DATASETS["stops"].columns if c not in FIELDS]


def arcgis_table(rows: list[dict[str, Any]], *, max_record_count: int = 2000, path: str = "/stops/query") -> App:
    """Imitate an ArcGIS Server table: its description, its count and /query with resultOffset paging (f=json)."""

    def app(req_path: str, params: dict[str, str]) -> Any:
        if req_path == path.removesuffix("/query"):
            fields = [{"name": f, "type": "esriFieldTypeString"} for f in LAYER_FIELDS]
            return _json({"maxRecordCount": max_record_count, "objectIdField": "OBJECTID", "fields": fields})
        if req_path != path:
            return _json({"error": {"code": 404, "message": "not found"}}, 404)
        if params.get("returnCountOnly") == "true":
            return _json({"count": len(rows)})
        offset = int(params["resultOffset"])
        count = min(int(params["resultRecordCount"]), max_record_count)
        page = rows[offset : offset + count]
        body = {
            "objectIdFieldName": "OBJECTID",
            "fields": [{"name": f, "type": "esriFieldTypeString"} for f in FIELDS],
            # attributes in another order than the field list: the CSV must follow the field list
            "features": [{"attributes": dict(reversed(list(r.items())))} for r in page],
        }
        if offset + count < len(rows):
            body["exceededTransferLimit"] = True
        else:
            body["exceededTransferLimit"] = False
        return _json(body)

    return app


def _read_csv_gz(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _offsets(srv: _Server) -> list[int]:
    return [int(p["resultOffset"]) for path, p in srv.log if path.endswith("/query") and "resultOffset" in p]


def _no_partial_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".part")]


# --------------------------------------------------------------------------- ArcGIS tables


def test_table_paging_writes_every_row_once_in_order(serve, tmp_path: Path) -> None:
    rows = _stop_rows(4500)
    srv, base = serve(arcgis_table(rows))
    messages: list[str] = []
    manifest = fetch_portal(
        tmp_path,
        datasets=["stops"],
        base_url_override={"stops": f"{base}/stops"},
        backoff=0,
        progress=messages.append,
    )

    assert _offsets(srv) == [0, 2000, 4000]
    for _path, params in srv.log:
        if "resultOffset" not in params:
            continue
        assert params["where"] == "1=1"
        assert params["outFields"] == "*"
        assert params["f"] == "json"
        assert params["resultRecordCount"] == "2000"
        assert params["orderByFields"] == "OBJECTID"

    out = tmp_path / DATASETS["stops"].portal_path
    table = _read_csv_gz(out)
    assert table[0] == LAYER_FIELDS  # field-list order, not the attributes' order
    body = table[1:]
    assert [int(r[0]) for r in body] == list(range(1, 4501))
    assert body[6][4] == 'North, "Tryon" Division'  # quoting survives
    assert body[1][2] == "Speeding                 "  # trailing spaces kept as published
    assert body[96][3] == ""  # None -> empty
    assert body[49][4] == ""
    assert body[0][:5] == ["1", "2021/02", "Stop Light/Sign", "17", "Central Division"]
    assert set(body[0][5:]) == {""}  # columns the records leave out are blank

    entry = manifest["files"]["stops"]
    assert entry["path"] == DATASETS["stops"].portal_path
    assert entry["rows"] == 4500
    assert entry["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert entry["bytes"] == out.stat().st_size
    assert entry["source"] == f"{base}/stops"
    assert entry["vintage"] == "2021/01..2021/12"
    assert manifest["mode"] == "portal"
    assert json.loads((tmp_path / MANIFEST_NAME).read_text()) == manifest
    assert resolve("stops", tmp_path) == out
    assert any("4,500 rows" in m for m in messages)
    assert _no_partial_files(tmp_path)


def test_table_paging_follows_a_smaller_server_limit(serve, tmp_path: Path) -> None:
    srv, base = serve(arcgis_table(_stop_rows(2500), max_record_count=1000))
    manifest = fetch_portal(tmp_path, datasets=["stops"], base_url_override={"stops": f"{base}/stops"}, backoff=0)
    assert _offsets(srv) == [0, 1000, 2000]
    assert manifest["files"]["stops"]["rows"] == 2500
    body = _read_csv_gz(tmp_path / DATASETS["stops"].portal_path)[1:]
    assert [int(r[0]) for r in body] == list(range(1, 2501))


def test_gzip_output_is_reproducible(serve, tmp_path: Path) -> None:
    _srv, base = serve(arcgis_table(_stop_rows(30)))
    kw = {"datasets": ["stops"], "base_url_override": {"stops": f"{base}/stops"}, "backoff": 0}
    first = fetch_portal(tmp_path / "a", **kw)["files"]["stops"]["sha256"]
    second = fetch_portal(tmp_path / "b", **kw)["files"]["stops"]["sha256"]
    assert first == second


def test_error_payload_raises_with_server_message_and_url(serve, tmp_path: Path) -> None:
    def app(path: str, params: dict[str, str]) -> Reply:
        return _json(
            {
                "error": {
                    "code": 400,
                    "message": "Invalid or missing input parameters.",
                    "details": ["'orderByFields' parameter is invalid"],
                }
            }
        )

    srv, base = serve(app)
    with pytest.raises(FetchError, match=r"Invalid or missing input parameters.*orderByFields") as info:
        fetch_portal(tmp_path, datasets=["stops"], base_url_override={"stops": f"{base}/stops"}, backoff=0)
    assert f"{base}/stops?f=json" in str(info.value)
    assert isinstance(info.value, GeoDataError)
    assert len(srv.log) == 1  # a 400 payload is not retried
    assert "Invalid or missing" in read_manifest(tmp_path)["failed"]["stops"]
    assert not (tmp_path / DATASETS["stops"].portal_path).exists()
    assert _no_partial_files(tmp_path)


def test_error_payload_with_5xx_code_is_retried(serve, tmp_path: Path) -> None:
    table = arcgis_table(_stop_rows(10))
    calls = {"n": 0}

    def app(path: str, params: dict[str, str]) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            return _json({"error": {"code": 500, "message": "Error performing query operation", "details": []}})
        return table(path, params)

    srv, base = serve(app)
    manifest = fetch_portal(tmp_path, datasets=["stops"], base_url_override={"stops": f"{base}/stops"}, backoff=0)
    assert len(srv.log) == 4  # the description twice, the count, one page
    assert _offsets(srv) == [0]
    assert manifest["files"]["stops"]["rows"] == 10


def test_dropped_connection_is_retried(serve, tmp_path: Path) -> None:
    table = arcgis_table(_stop_rows(4500))
    dropped: set[int] = set()

    def app(path: str, params: dict[str, str]) -> Any:
        offset = int(params.get("resultOffset", -1))
        if offset == 2000 and offset not in dropped:
            dropped.add(offset)
            return DROP
        return table(path, params)

    srv, base = serve(app)
    manifest = fetch_portal(tmp_path, datasets=["stops"], base_url_override={"stops": f"{base}/stops"}, backoff=0)
    assert _offsets(srv) == [0, 2000, 2000, 4000]
    assert manifest["files"]["stops"]["rows"] == 4500
    body = _read_csv_gz(tmp_path / DATASETS["stops"].portal_path)[1:]
    assert [int(r[0]) for r in body] == list(range(1, 4501))


def test_timeout_is_retried(serve, tmp_path: Path) -> None:
    table = arcgis_table(_stop_rows(5))
    calls = {"n": 0}

    def app(path: str, params: dict[str, str]) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            time.sleep(1.5)
        return table(path, params)

    srv, base = serve(app)
    manifest = fetch_portal(
        tmp_path, datasets=["stops"], base_url_override={"stops": f"{base}/stops"}, backoff=0, timeout=0.5
    )
    assert calls["n"] == 4  # the description timed out and was asked again; then the count and one page
    assert manifest["files"]["stops"]["rows"] == 5


def test_persistent_500_gives_up_after_the_retry_count(serve, tmp_path: Path) -> None:
    srv, base = serve(lambda path, params: (500, b"<html>Internal Server Error</html>", {"Content-Type": "text/html"}))
    with pytest.raises(FetchError, match=r"Gave up after 3 attempt\(s\).*HTTP 500") as info:
        fetch_portal(tmp_path, datasets=["stops"], base_url_override={"stops": f"{base}/stops"}, retries=3, backoff=0)
    assert "stops" in str(info.value)
    assert len(srv.log) == 3
    assert not (tmp_path / DATASETS["stops"].portal_path).exists()
    assert _no_partial_files(tmp_path)


def test_backoff_waits_between_attempts(serve, tmp_path: Path) -> None:
    _srv, base = serve(lambda path, params: (503, b"busy", {}))
    t0 = time.perf_counter()
    with pytest.raises(FetchError, match="HTTP 503"):
        fetch_portal(tmp_path, datasets=["stops"], base_url_override={"stops": f"{base}/stops"}, retries=3, backoff=0.1)
    assert time.perf_counter() - t0 >= 0.1 + 0.2  # 0.1 s, then 0.2 s


def test_server_ignoring_result_offset_is_caught(serve, tmp_path: Path) -> None:
    rows = _stop_rows(10)
    table = arcgis_table(rows)

    def app(path: str, params: dict[str, str]) -> Any:  # always the first page, always "more to come"
        if "resultOffset" not in params:
            return table(path, params)
        return _json({"features": [{"attributes": r} for r in rows[:5]], "exceededTransferLimit": True})

    srv, base = serve(app)
    with pytest.raises(FetchError, match="Gave up after 4 attempt.*repeats OBJECTID 1, 2, 3"):
        fetch_portal(tmp_path, datasets=["stops"], base_url_override={"stops": f"{base}/stops"}, page_size=5, backoff=0)
    assert _offsets(srv) == [0, 5, 5, 5, 5]


def test_unknown_dataset_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match=r"Unknown data set\(s\) 'stopz'.*known: stops"):
        fetch_portal(tmp_path, datasets=["stopz"])


# --------------------------------------------------------------------------- ArcGIS feature layers

DIVISIONS = [
    ("Central Division", "01", box(-80.86, 35.21, -80.83, 35.24)),
    ("Metro Division", "02", box(-80.86, 35.24, -80.83, 35.27)),
    ("North Division", "11", box(-80.83, 35.24, -80.80, 35.27)),
    ("South Division", "22", box(-80.83, 35.21, -80.80, 35.24)),
    ("Airport Division", "28", box(-80.96, 35.20, -80.93, 35.23)),
]


def arcgis_features(*, path: str = "/div/query") -> App:
    feats = [
        {
            "type": "Feature",
            "id": i,
            "geometry": json.loads(gpd.GeoSeries([geom]).to_json())["features"][0]["geometry"],
            "properties": {"OBJECTID": i, "DNAME": name, "DIVISION": code},
        }
        for i, (name, code, geom) in enumerate(DIVISIONS, start=1)
    ]

    def app(req_path: str, params: dict[str, str]) -> Reply:
        assert req_path == path
        if params.get("returnCountOnly") == "true":
            return _json({"count": len(feats)})
        offset, count = int(params["resultOffset"]), int(params["resultRecordCount"])
        body: dict[str, Any] = {"type": "FeatureCollection", "features": feats[offset : offset + count]}
        if offset + count < len(feats):
            body["properties"] = {"exceededTransferLimit": True}  # where ArcGIS puts it with f=geojson
        return _json(body)

    return app


def test_feature_layer_paging_to_geojson(serve, tmp_path: Path) -> None:
    srv, base = serve(arcgis_features())
    manifest = fetch_portal(
        tmp_path,
        datasets=["divisions_2025"],
        base_url_override={"divisions_2025": f"{base}/div"},
        page_size=2,
        backoff=0,
    )
    assert _offsets(srv) == [0, 2, 4]
    assert all(p["f"] == "geojson" and p["outSR"] == "4326" for _path, p in srv.log if "resultOffset" in p)

    out = tmp_path / DATASETS["divisions_2025"].portal_path
    gdf = gpd.read_file(out)
    assert gdf.crs is not None and gdf.crs.to_epsg() == 4326
    assert list(gdf["DNAME"]) == [d[0] for d in DIVISIONS]
    assert list(gdf["DIVISION"]) == [d[1] for d in DIVISIONS]
    for got, (_name, _code, want) in zip(gdf.geometry, DIVISIONS, strict=True):
        assert got.equals(want)
    entry = manifest["files"]["divisions_2025"]
    assert entry["rows"] == 5
    assert entry["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert resolve("divisions_2025", tmp_path) == out


# --------------------------------------------------------------------------- plain files

R1_CSV = b'"id","y_2020"\n2,410.5571\n3,"1156.1479"\n4,332.2235\n'


def _geography() -> bytes:
    gdf = gpd.GeoDataFrame({"id": ["1", "2", "3"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 1, 1, 2)])
    return gdf.set_crs(4326).to_json().encode()


def test_plain_files_are_downloaded_as_is_and_skips_are_noted(serve, tmp_path: Path) -> None:
    geography = _geography()
    files = {"/r1.csv": R1_CSV, "/geography.geojson.json": geography}
    srv, base = serve(lambda path, params: (200, files[path], {"Content-Type": "application/octet-stream"}))
    manifest = fetch_portal(
        tmp_path,
        datasets=["npa_metric_r1", "npa_geography", "division_offices"],
        base_url_override={"npa_metric_r1": f"{base}/r1.csv", "npa_geography": f"{base}/geography.geojson.json"},
        backoff=0,
    )
    r1 = tmp_path / DATASETS["npa_metric_r1"].path
    geo = tmp_path / DATASETS["npa_geography"].path
    assert r1.read_bytes() == R1_CSV
    assert geo.read_bytes() == geography
    assert manifest["files"]["npa_metric_r1"]["rows"] == 3
    assert manifest["files"]["npa_geography"]["rows"] == 3
    assert manifest["files"]["npa_metric_r1"]["sha256"] == hashlib.sha256(R1_CSV).hexdigest()
    assert manifest["files"]["npa_geography"]["bytes"] == len(geography)
    assert "division_offices" not in manifest["files"]
    assert "mirror" in manifest["skipped"]["division_offices"]
    assert "failed" not in manifest


def test_interrupted_download_keeps_the_old_file(serve, tmp_path: Path) -> None:
    # The server promises 1,000 bytes and sends 10: every attempt breaks off.
    srv, base = serve(lambda path, params: (200, b"id,y_2020\n", {"Content-Length": "1000"}))
    old = tmp_path / DATASETS["npa_metric_r1"].path
    old.parent.mkdir(parents=True)
    old.write_bytes(R1_CSV)
    with pytest.raises(FetchError, match=r"Gave up after 2 attempt"):
        fetch_portal(
            tmp_path,
            datasets=["npa_metric_r1"],
            base_url_override={"npa_metric_r1": f"{base}/r1.csv"},
            retries=2,
            backoff=0,
        )
    assert len(srv.log) == 2
    assert old.read_bytes() == R1_CSV
    assert _no_partial_files(tmp_path)


def test_http_404_is_not_retried(serve, tmp_path: Path) -> None:
    srv, base = serve(lambda path, params: (404, b"Not Found", {}))
    with pytest.raises(FetchError, match=r"HTTP 404.*r1\.csv"):
        fetch_portal(tmp_path, datasets=["npa_metric_r1"], base_url_override={"npa_metric_r1": f"{base}/r1.csv"})
    assert len(srv.log) == 1


def test_manifest_keeps_earlier_entries_whose_files_exist(serve, tmp_path: Path) -> None:
    table = arcgis_table(_stop_rows(3))

    def app(path: str, params: dict[str, str]) -> Any:
        return (200, R1_CSV, {}) if path == "/r1.csv" else table(path, params)

    _srv, base = serve(app)
    urls = {"stops": f"{base}/stops", "npa_metric_r1": f"{base}/r1.csv"}
    fetch_portal(tmp_path, datasets=["stops"], base_url_override=urls, backoff=0)
    manifest = fetch_portal(tmp_path, datasets=["npa_metric_r1"], base_url_override=urls, backoff=0)
    assert set(manifest["files"]) == {"stops", "npa_metric_r1"}
    (tmp_path / DATASETS["stops"].portal_path).unlink()
    manifest = fetch_portal(tmp_path, datasets=["npa_metric_r1"], base_url_override=urls, backoff=0)
    assert set(manifest["files"]) == {"npa_metric_r1"}


# --------------------------------------------------------------------------- mirror

STOPS_CSV = (
    '\ufeffOBJECTID,Month_of_Stop,CMPD_Division\n1,2020/03,Central Division\n2,2020/01,\n3,2021/12,"North, Division"\n'
)
METRIC_CSV = 'id,y_2020\n1,5\n2,"multi\nline"\n'


def _make_mirror(root: Path, *, stops_at_portal_path: bool = False) -> Path:
    """A tiny mirror: every required data set, a shapefile with its sidecars, and extras."""
    for ds in DATASETS.values():
        if not ds.required:
            continue
        rel = ds.portal_path if (ds.key == "stops" and stops_at_portal_path) else ds.path
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".csv.gz"):
            p.write_bytes(gzip.compress(STOPS_CSV.encode("utf-8")))
        elif rel.endswith(".csv"):
            p.write_text(METRIC_CSV, encoding="utf-8", newline="")
        else:
            gpd.GeoDataFrame({"DNAME": ["A", "B"]}, geometry=[Point(0, 0), Point(1, 1)], crs=4326).to_file(p)
    shp = root / DATASETS["divisions_2019"].path
    gpd.GeoDataFrame(
        {"DNAME": ["A", "B", "C"]}, geometry=[box(0, 0, 1, 1), box(1, 1, 2, 2), box(2, 2, 3, 3)], crs=4326
    ).to_file(shp)
    (root / "PROVENANCE.md").write_text("# where the files come from\n")
    (root / "other").mkdir(exist_ok=True)
    (root / "other" / "extra.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    (root / "divisions" / ".DS_Store").write_bytes(b"junk")
    return root


def test_copy_small_mirror(tmp_path: Path) -> None:
    mirror = _make_mirror(tmp_path / "mirror")
    data = tmp_path / "raw"
    manifest = copy_mirror(mirror, data)

    expected = sorted(
        p.relative_to(mirror).as_posix() for p in mirror.rglob("*") if p.is_file() and p.name != ".DS_Store"
    )
    copied = sorted(p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file() and p.name != MANIFEST_NAME)
    assert copied == expected
    for rel in expected:
        assert (data / rel).read_bytes() == (mirror / rel).read_bytes()
    assert sorted(e["path"] for e in manifest["files"].values()) == expected

    files = manifest["files"]
    assert manifest["mode"] == "mirror"
    assert manifest["source"] == str(mirror.resolve())
    assert files["stops"]["rows"] == 3
    assert files["stops"]["vintage"] == "2020/01..2021/12"
    assert files["npa_metric_r1"]["rows"] == 2  # the quoted line break is one record
    assert files["divisions_2025"]["rows"] == 2
    assert files["npa_geography"]["rows"] == 2
    assert files["divisions_2019"]["rows"] == 3
    for ext in (".shx", ".dbf", ".prj", ".cpg"):
        rel = DATASETS["divisions_2019"].path[:-4] + ext
        assert files[rel]["path"] == rel
        assert files[rel]["rows"] is None
    assert files["other/extra.xlsx"]["rows"] is None
    assert files["PROVENANCE.md"]["bytes"] == len("# where the files come from\n")
    for entry in files.values():
        assert entry["sha256"] == hashlib.sha256((data / entry["path"]).read_bytes()).hexdigest()
        assert entry["source"] == str((mirror / entry["path"]).resolve())
    for key in ("stops", "divisions_2019", "npa_geography"):
        assert resolve(key, data) == data / DATASETS[key].path


def test_copy_mirror_again_skips_unchanged_files(tmp_path: Path) -> None:
    mirror = _make_mirror(tmp_path / "mirror")
    data = tmp_path / "raw"
    copy_mirror(mirror, data)
    stamps = {p: p.stat().st_mtime_ns for p in data.rglob("*") if p.is_file() and p.name != MANIFEST_NAME}
    messages: list[str] = []
    (mirror / DATASETS["npa_metric_r1"].path).write_text("id,y_2020\n1,6\n")
    manifest = copy_mirror(mirror, data, progress=messages.append)
    changed = data / DATASETS["npa_metric_r1"].path
    for p, ns in stamps.items():
        if p != changed:
            assert p.stat().st_mtime_ns == ns, p
    assert changed.read_text() == "id,y_2020\n1,6\n"
    assert manifest["files"]["npa_metric_r1"]["rows"] == 1
    assert messages[-1].startswith("1 file(s) copied")
    assert sum(m.startswith("unchanged ") for m in messages) == len(stamps) - 1


def test_mirror_in_portal_layout_is_accepted(tmp_path: Path) -> None:
    mirror = _make_mirror(tmp_path / "mirror", stops_at_portal_path=True)
    manifest = copy_mirror(mirror, tmp_path / "raw")
    assert manifest["files"]["stops"]["path"] == DATASETS["stops"].portal_path


def test_missing_mirror_folder(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match=r"Mirror folder .*nowhere does not exist"):
        copy_mirror(tmp_path / "nowhere", tmp_path / "raw")


def test_mirror_lacking_required_files_names_them(tmp_path: Path) -> None:
    mirror = _make_mirror(tmp_path / "mirror")
    (mirror / DATASETS["stops"].path).unlink()
    (mirror / DATASETS["npa_geography"].path).unlink()
    (mirror / DATASETS["divisions_2019"].path.replace(".shp", ".dbf")).unlink()
    with pytest.raises(FetchError, match="lacks 3 required file") as info:
        copy_mirror(mirror, tmp_path / "raw")
    for rel in (DATASETS["stops"].path, DATASETS["npa_geography"].path, "divisions/CMPD_Police_Divisions_2019.dbf"):
        assert rel in str(info.value)
    assert not (tmp_path / "raw").exists()


def test_fetch_dispatches_to_the_mirror(tmp_path: Path) -> None:
    mirror = _make_mirror(tmp_path / "mirror")
    manifest = fetch(tmp_path / "raw", mirror=mirror)
    assert manifest["mode"] == "mirror"
    assert (tmp_path / "raw" / MANIFEST_NAME).is_file()


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared data mirror is not on this machine")
def test_copy_real_shared_mirror(tmp_path: Path) -> None:
    data = tmp_path / "raw"
    manifest = copy_mirror(SHARED, data)
    files = manifest["files"]
    stops = files["stops"]
    assert stops["rows"] == 139524
    assert stops["vintage"] == "2020/01..2021/12"
    assert stops["path"] == DATASETS["stops"].path
    assert stops["sha256"] == hashlib.sha256((SHARED / stops["path"]).read_bytes()).hexdigest()
    assert files["divisions_2019"]["rows"] == 15
    assert files["division_offices"]["rows"] == 16
    assert files["divisions_2025"]["rows"] == 14
    assert files["npa_geography"]["rows"] == 459
    for stem in ("divisions/CMPD_Police_Divisions_2019", "divisions/CMPD_Police_Division_Offices"):
        for ext in (".shx", ".dbf", ".prj", ".cpg"):
            rel = stem + ext
            assert (data / rel).read_bytes() == (SHARED / rel).read_bytes()
            assert files[rel]["sha256"] == hashlib.sha256((SHARED / rel).read_bytes()).hexdigest()
    n_mirror = sum(1 for p in SHARED.rglob("*") if p.is_file())
    assert len(files) == n_mirror
    assert gpd.read_file(resolve("divisions_2019", data)).shape[0] == 15


def test_mirror_never_writes_into_itself(tmp_path: Path) -> None:
    mirror = _make_mirror(tmp_path / "mirror")
    with pytest.raises(FetchError, match="same folder"):
        copy_mirror(mirror, mirror)
    # a data folder inside the mirror is not copied into itself
    manifest = copy_mirror(mirror, mirror / "raw")
    assert not any(e["path"].startswith("raw/") for e in manifest["files"].values())
    assert not (mirror / "raw" / "raw").exists()
