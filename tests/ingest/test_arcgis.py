"""Tests for the ArcGIS half of ``python -m geo fetch`` against a local imitation of the REST API.

The imitation (tests/helpers/arcgis_server.py) listens on 127.0.0.1 and serves synthetic rows
shaped like the real layers, with small ``maxRecordCount`` so that a few thousand rows make
several pages. Every data folder is under ``tmp_path``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from geo.cli import main
from geo.errors import FetchError
from geo.ingest._progress import Meter
from geo.ingest.fetch import fetch_portal, rebase_url
from geo.ingest.files import read_table
from geo.ingest.sources import DATASETS, LAYER_GROUPS, read_manifest, resolve, select_layers
from geo.settings import PROJECT_ROOT
from tests.helpers.arcgis_server import (
    STOP_FIELDS,
    ArcGISImitation,
    Layer,
    incidents_layer,
    stops_layer,
    synthetic_stops,
)

STOPS_OUT = DATASETS["stops"].portal_path


@pytest.fixture
def server() -> Iterator[ArcGISImitation]:
    with ArcGISImitation() as srv:
        yield srv


def _stops_csv(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _expected_csv(rows: list[dict[str, Any]]) -> list[list[str]]:
    """The CSV a full fetch must write, built from the served rows independently of the code under test."""
    names = [n for n, _t in STOP_FIELDS]
    return [names] + [
        ["" if r[n] is None else str(r[n]) for n in names] for r in sorted(rows, key=lambda r: r["OBJECTID"])
    ]


def _fetch(srv: ArcGISImitation, tmp: Path, layers: tuple[str, ...] = ("stops",), **kw: Any) -> dict[str, Any]:
    kw.setdefault("backoff", 0)
    return fetch_portal(tmp, layers=list(layers), portal_url=srv.base, **kw)


def _offsets(srv: ArcGISImitation) -> list[int]:
    return [int(p["resultOffset"]) for p in srv.page_requests()]


def test_full_fetch_equals_served_rows(server: ArcGISImitation, tmp_path: Path) -> None:
    layer = server.add_layer(stops_layer(5000, max_record_count=1000))
    manifest = _fetch(server, tmp_path, page_size=2000)
    out = tmp_path / STOPS_OUT
    assert _stops_csv(out) == _expected_csv(layer.rows)
    assert _offsets(server) == [0, 1000, 2000, 3000, 4000]  # the layer's maxRecordCount wins over page_size
    first = [p for _path, p in server.log]
    assert first[0] == {"f": "json"} and first[1]["returnCountOnly"] == "true"  # description, count, then pages
    assert all(p["orderByFields"] == "OBJECTID" and p["resultRecordCount"] == "1000" for p in server.page_requests())
    entry = manifest["files"]["stops"]
    assert entry["rows"] == 5000
    assert entry["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert entry["source"] == server.url(layer)
    assert entry["query"] == {"where": "1=1", "outFields": "*", "orderByFields": "OBJECTID", "count": 5000}
    assert entry["vintage"] == "2020/01..2021/12"
    assert not (tmp_path / ".staging").exists()
    assert resolve("stops", tmp_path) == out


def test_large_layer_is_parquet_and_reads_as_text(server: ArcGISImitation, tmp_path: Path) -> None:
    layer = server.add_layer(incidents_layer(4500, max_record_count=2000))
    manifest = _fetch(server, tmp_path, layers=("incidents",))
    out = tmp_path / DATASETS["incidents_full"].portal_path
    assert out.suffix == ".parquet" and resolve("incidents_full", tmp_path) == out
    got = pq.read_table(out).to_pylist()
    assert got == layer.rows  # typed columns: ints, floats, epoch-ms dates, None kept
    assert pq.ParquetFile(out).metadata.row_group(0).column(0).compression == "ZSTD"
    text = read_table(out)
    assert text.loc[0, "OBJECTID"] == "1" and text.loc[52, "ZIP"] == ""  # id 53 has no ZIP
    assert text.loc[0, "LATITUDE_PUBLIC"] == str(layer.rows[0]["LATITUDE_PUBLIC"])
    assert manifest["files"]["incidents_full"]["rows"] == 4500


class _Interrupt(Meter):
    """Stops the fetch (as Ctrl-C would) after ``n`` pages."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def advance(self, rows: int) -> None:
        super().advance(rows)
        if self.pages >= self.n:
            raise KeyboardInterrupt


def test_interrupted_fetch_resumes_where_it_stopped(server: ArcGISImitation, tmp_path: Path) -> None:
    layer = server.add_layer(stops_layer(6000, max_record_count=1000))
    with pytest.raises(KeyboardInterrupt):
        _fetch(server, tmp_path, meter=_Interrupt(3))
    assert not (tmp_path / STOPS_OUT).exists()
    assert len(list((tmp_path / ".staging" / "stops").glob("0*.json"))) == 3
    server.log.clear()
    _fetch(server, tmp_path)
    assert _offsets(server) == [3000, 4000, 5000]  # the three kept pages are not asked for again
    assert _stops_csv(tmp_path / STOPS_OUT) == _expected_csv(layer.rows)
    assert not (tmp_path / ".staging").exists()


def test_staging_of_another_query_is_discarded(server: ArcGISImitation, tmp_path: Path) -> None:
    layer = server.add_layer(stops_layer(3000, max_record_count=1000))
    with pytest.raises(KeyboardInterrupt):
        _fetch(server, tmp_path, meter=_Interrupt(1))
    layer.rows.extend(synthetic_stops(10, first_id=3001))  # the layer grew: the count differs
    server.log.clear()
    _fetch(server, tmp_path)
    assert _offsets(server) == [0, 1000, 2000, 3000]
    assert _stops_csv(tmp_path / STOPS_OUT) == _expected_csv(layer.rows)


def test_since_adds_only_new_rows(server: ArcGISImitation, tmp_path: Path) -> None:
    layer = server.add_layer(stops_layer(3000, max_record_count=1000))
    _fetch(server, tmp_path)
    new = synthetic_stops(700, first_id=3001, month0=24)  # 2022/01 on
    layer.rows.extend(new)
    layer.rows[5]["Result_of_Stop"] = "edited, but older than --since"
    server.log.clear()
    manifest = _fetch(server, tmp_path, since=date(2022, 1, 15))
    pages = server.page_requests()
    assert {p["where"] for p in pages} == {"Month_of_Stop >= '2022/01'"}
    assert _offsets(server) == [0]
    entry = manifest["files"]["stops"]
    assert entry["received"] == 700 and entry["rows"] == 3700 and entry["since"] == "2022-01-15"
    body = _stops_csv(tmp_path / STOPS_OUT)
    assert [int(r[0]) for r in body[1:]] == list(range(1, 3701))
    assert body[6][11] == "Verbal Warning"  # rows before --since were not asked for again
    assert body[1:] == _expected_csv(synthetic_stops(3000) + new)[1:]


def test_since_on_a_date_field_and_since_last(server: ArcGISImitation, tmp_path: Path) -> None:
    layer = server.add_layer(incidents_layer(3000))
    _fetch(server, tmp_path, layers=("incidents",))
    cut = date(2024, 1, 1)
    expected_new = sum(1 for r in layer.rows if r["DATE_REPORTED"] >= 1704067200000)
    server.log.clear()
    manifest = _fetch(server, tmp_path, layers=("incidents",), since=cut)
    assert server.page_requests()[0]["where"] == "DATE_REPORTED >= DATE '2024-01-01'"
    assert manifest["files"]["incidents_full"]["received"] == expected_new > 0
    assert pq.read_table(tmp_path / DATASETS["incidents_full"].path).to_pylist() == layer.rows
    server.log.clear()
    manifest = _fetch(server, tmp_path, layers=("incidents",), since="last")  # today: nothing newer
    assert manifest["files"]["incidents_full"]["received"] == 0
    assert manifest["files"]["incidents_full"]["rows"] == 3000
    assert server.page_requests() == []


FAULTS = ["500", "429", "truncated", "html200", "drop", "repeat"]


@pytest.mark.parametrize("kind", FAULTS)
def test_a_passing_fault_ends_in_success(server: ArcGISImitation, tmp_path: Path, kind: str) -> None:
    layer = server.add_layer(stops_layer(3000, max_record_count=1000))
    server.fault(kind, offset=1000, retry_after=1)
    t0 = time.perf_counter()
    _fetch(server, tmp_path)
    assert _stops_csv(tmp_path / STOPS_OUT) == _expected_csv(layer.rows)
    assert _offsets(server) == [0, 1000, 1000, 2000]  # the faulty page asked for once more
    if kind == "429":
        assert time.perf_counter() - t0 >= 1.0  # Retry-After honoured although backoff is 0


@pytest.mark.parametrize("kind", FAULTS)
def test_a_lasting_fault_exits_2_and_keeps_the_good_file(server: ArcGISImitation, tmp_path: Path, kind: str) -> None:
    server.add_layer(stops_layer(3000, max_record_count=1000))
    _fetch(server, tmp_path)
    good = (tmp_path / STOPS_OUT).read_bytes()
    entry = read_manifest(tmp_path)["files"]["stops"]
    server.fault(kind, offset=2000, times=None, retry_after=0)
    server.log.clear()
    with pytest.raises(FetchError, match=r"Gave up after 3 attempt\(s\).*resultOffset=2000") as info:
        _fetch(server, tmp_path, retries=3)
    assert "\n" not in str(info.value)
    assert _offsets(server) == [0, 1000, 2000, 2000, 2000]
    assert (tmp_path / STOPS_OUT).read_bytes() == good
    after = read_manifest(tmp_path)
    assert after["files"]["stops"] == entry and "stops" in after["failed"]
    assert not list(tmp_path.rglob("*.part"))


def test_exceeded_transfer_limit_for_ever_is_an_error_not_a_loop(server: ArcGISImitation, tmp_path: Path) -> None:
    server.add_layer(stops_layer(2500, max_record_count=1000))
    server.fault("exceeded_forever", times=None)
    with pytest.raises(FetchError, match="keeps answering exceededTransferLimit: true.*2,500"):
        _fetch(server, tmp_path)
    assert len(server.page_requests()) == 4  # three pages and one check past the count
    assert not (tmp_path / STOPS_OUT).exists()


def test_a_trickle_hits_the_request_deadline(tmp_path: Path) -> None:
    with ArcGISImitation(trickle_interval=0.02) as srv:
        srv.add_layer(stops_layer(50))
        srv.fault("trickle", times=None)
        t0 = time.perf_counter()
        with pytest.raises(FetchError, match=r"Gave up after 2 .*longer than the 0.5 s allowed"):
            _fetch(srv, tmp_path, retries=2, deadline=0.5, timeout=5)
        assert time.perf_counter() - t0 < 4


def test_retry_after_longer_than_allowed_is_a_clear_error(server: ArcGISImitation, tmp_path: Path) -> None:
    server.add_layer(stops_layer(10))
    server.fault("429", retry_after=3600)
    with pytest.raises(FetchError, match=r"asks to wait 3600 s \(Retry-After\)"):
        _fetch(server, tmp_path)


def test_missing_required_column_replaces_nothing(server: ArcGISImitation, tmp_path: Path) -> None:
    layer = server.add_layer(stops_layer(1500, max_record_count=1000))
    _fetch(server, tmp_path)
    good = (tmp_path / STOPS_OUT).read_bytes()
    layer.fields = [f for f in layer.fields if f[0] != "Driver_Race"]
    for r in layer.rows:
        del r["Driver_Race"]
    server.log.clear()
    with pytest.raises(FetchError, match=r"lacks required column\(s\) 'Driver_Race'.*Nothing was replaced"):
        _fetch(server, tmp_path)
    assert server.page_requests() == []
    assert (tmp_path / STOPS_OUT).read_bytes() == good
    assert "Driver_Race" in read_manifest(tmp_path)["failed"]["stops"]


def test_cli_portal_url_and_layers_select(server: ArcGISImitation, tmp_path: Path, capsys) -> None:
    server.add_layer(stops_layer(1200, max_record_count=500))
    ois = [("ObjectID", "esriFieldTypeOID")] + [(c, "esriFieldTypeString") for c in DATASETS["ois_incidents"].columns]
    for name in ("Incidents", "Individuals", "Officers"):
        cols = [("ObjectID", "esriFieldTypeOID")] + [
            (c, "esriFieldTypeString") for c in DATASETS[f"ois_{name.lower()}"].columns
        ]
        rows = [{c: (i if c == "ObjectID" else f"{c}{i}") for c, _t in cols} for i in range(1, 8)]
        server.add_layer(Layer(f"CMPD/CMPDOfficerInvolvedShootings_{name}", cols, rows, oid="ObjectID"))
    assert ois  # the incidents layer's columns as in the mirror CSV
    code = main(["fetch", "--data-dir", str(tmp_path), "--layers", "stops,ois", "--portal-url", server.base, "--quiet"])
    assert code == 0
    asked = {path.split("/MapServer")[0].removeprefix("/arcgis/rest/services/") for path, _p in server.log}
    assert asked == {
        "CMPD/Officer_Traffic_Stop",
        "CMPD/CMPDOfficerInvolvedShootings_Incidents",
        "CMPD/CMPDOfficerInvolvedShootings_Individuals",
        "CMPD/CMPDOfficerInvolvedShootings_Officers",
    }
    files = read_manifest(tmp_path)["files"]
    assert set(files) == {"stops", "ois_incidents", "ois_individuals", "ois_officers"}
    df = read_table(resolve("ois_officers", tmp_path))
    assert len(df) == 7 and df.loc[6, "OFFICER_RACE"] == "OFFICER_RACE7"
    assert "4 files in" in capsys.readouterr().out


def test_cli_unknown_layer_and_bad_since_exit_2(tmp_path: Path, capsys) -> None:
    assert main(["fetch", "--data-dir", str(tmp_path), "--layers", "stopz"]) == 2
    err = capsys.readouterr().err
    assert "Unknown layer(s) 'stopz'" in err and "stops, incidents, ois" in err
    assert main(["fetch", "--data-dir", str(tmp_path), "--since", "2024-13-01"]) == 2
    assert "expected a day as YYYY-MM-DD" in capsys.readouterr().err


def test_cli_exit_code_2_in_a_subprocess(server: ArcGISImitation, tmp_path: Path) -> None:
    # no layer served: the layer description answers 404, which is not retried
    cmd = [sys.executable, "-m", "geo", "fetch", "--data-dir", str(tmp_path), "--layers", "stops"]
    res = subprocess.run(
        [*cmd, "--portal-url", server.base, "--quiet"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Could not download 1 data set(s)") and "HTTP 404" in lines[0]


def test_layer_groups_and_rebase() -> None:
    assert select_layers(["ois", "stops", "ois"]) == ["ois_incidents", "ois_individuals", "ois_officers", "stops"]
    assert len([k for k in LAYER_GROUPS["qol"] if k.startswith("npa_metric_")]) == 179
    assert all(DATASETS[k].portal_url for g in LAYER_GROUPS.values() for k in g)
    assert rebase_url(DATASETS["incidents_full"].portal_url, "http://h:1/prefix/") == (
        "http://h:1/prefix/arcgis/rest/services/CMPD/CMPDIncidents/MapServer/0"
    )
    with pytest.raises(FetchError, match="scheme and host"):
        rebase_url("https://x/y", "localhost:8000")


def test_read_table_parquet_skiprows_like_csv(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1, 2, None], "b": ["x", None, "z"]})
    df.astype({"a": "Int64"}).to_parquet(tmp_path / "t.parquet")
    df.to_csv(tmp_path / "t.csv", index=False)
    got = read_table(tmp_path / "t.parquet", skiprows=[1])
    assert got.to_dict("list") == {"a": ["2", ""], "b": ["", "z"]}
    want = read_table(tmp_path / "t.csv", skiprows=[1])
    assert list(want["b"]) == list(got["b"])
