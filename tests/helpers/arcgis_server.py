"""A local imitation of the ArcGIS REST API (MapServer layers and their /query), with switchable faults.

It listens on 127.0.0.1 (an ephemeral port) and serves, for each layer added at
``/arcgis/rest/services/<service>/MapServer/0``:

- ``<layer>?f=json``: the layer description (``maxRecordCount``, ``objectIdField``, ``fields``);
- ``<layer>/query?returnCountOnly=true&where=...``: ``{"count": n}``;
- ``<layer>/query?where=...&resultOffset=&resultRecordCount=&orderByFields=``: one page of esri JSON,
  at most ``maxRecordCount`` records, with ``exceededTransferLimit`` while more remain.

``where`` understands ``1=1`` and one comparison ``FIELD >= DATE 'YYYY-MM-DD'`` (epoch-ms fields),
``FIELD >= 'text'`` or ``FIELD >= number``. Faults (:meth:`ArcGISImitation.fault`) hit page queries
(at one offset or any): ``500``, ``429`` (with ``Retry-After``), ``truncated`` JSON, ``html200`` (an
HTML error page with status 200), ``drop`` (the connection closed mid-body), ``repeat`` (the page
before served again), ``trickle`` (one byte at a time, slowly), ``exceeded_forever`` (past the
count, new records and ``exceededTransferLimit: true``, for ever).
"""

from __future__ import annotations

import json
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SERVICES = "/arcgis/rest/services"


@dataclass
class Layer:
    """One served layer: its path under the services root, field list (name, esri type) and rows."""

    service: str
    fields: list[tuple[str, str]]
    rows: list[dict[str, Any]]
    oid: str = "OBJECTID"
    max_record_count: int = 2000

    @property
    def path(self) -> str:
        return f"{SERVICES}/{self.service}/MapServer/0"


@dataclass
class Fault:
    kind: str
    offset: int | None = None
    times: int | None = 1  # None: for ever
    retry_after: float = 1.0
    layer: str | None = None
    hits: int = field(default=0)


_WHERE = [
    (re.compile(r"^(\w+) >= DATE '(\d{4}-\d{2}-\d{2})'$"), "date"),
    (re.compile(r"^(\w+) >= '([^']*)'$"), "text"),
    (re.compile(r"^(\w+) >= (-?\d+(?:\.\d+)?)$"), "number"),
]


def _matcher(where: str) -> Any:
    """A row predicate for the ``where`` clauses the imitation understands; ``None`` for others."""
    if where.strip() == "1=1":
        return lambda row: True
    for rx, kind in _WHERE:
        m = rx.match(where.strip())
        if not m:
            continue
        name, value = m.group(1), m.group(2)
        if kind == "date":
            ms = int(datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp() * 1000)
            return lambda row: row.get(name) is not None and row[name] >= ms
        if kind == "number":
            num = float(value)
            return lambda row: row.get(name) is not None and float(row[name]) >= num
        return lambda row: row.get(name) is not None and str(row[name]) >= value
    return None


class ArcGISImitation:
    """The server: add layers, switch faults on, read ``log`` (path, params) of every request."""

    def __init__(self, *, trickle_interval: float = 0.05) -> None:
        self.layers: dict[str, Layer] = {}
        self.faults: list[Fault] = []
        self.log: list[tuple[str, dict[str, str]]] = []
        self.trickle_interval = trickle_interval
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self._cache: dict[tuple[Any, ...], list[dict[str, Any]]] = {}

    # ----------------------------------------------------------------- set-up

    def add_layer(self, layer: Layer) -> Layer:
        self.layers[layer.path] = layer
        return layer

    def fault(self, kind: str, **kw: Any) -> Fault:
        f = Fault(kind, **kw)
        self.faults.append(f)
        return f

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, layer: Layer) -> str:
        return self.base + layer.path

    def start(self) -> ArcGISImitation:
        imitation = self

        class Handler(_Handler):
            app = imitation

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)
            self.server = None

    def __enter__(self) -> ArcGISImitation:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ----------------------------------------------------------------- answers

    def page_requests(self, layer: Layer | None = None) -> list[dict[str, str]]:
        """Params of the page queries (not counts, not descriptions), in order."""
        return [
            p
            for path, p in self.log
            if path.endswith("/query") and "resultOffset" in p and (layer is None or path == layer.path + "/query")
        ]

    def _take_fault(self, layer: Layer, offset: int) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.layer not in (None, layer.service) or (f.offset is not None and f.offset != offset):
                    continue
                if f.times is not None and f.hits >= f.times:
                    continue
                f.hits += 1
                return f
        return None

    def answer(self, path: str, params: dict[str, str]) -> tuple[Any, Fault | None]:
        """The JSON document for a request, and the fault to apply (if any)."""
        if path in self.layers:
            layer = self.layers[path]
            return {
                "currentVersion": 10.91,
                "name": layer.service.split("/")[-1],
                "type": "Table",
                "maxRecordCount": layer.max_record_count,
                "objectIdField": layer.oid,
                "advancedQueryCapabilities": {"supportsPagination": True, "supportsOrderBy": True},
                "fields": [{"name": n, "type": t, "alias": n} for n, t in layer.fields],
            }, None
        layer = self.layers.get(path.removesuffix("/query")) if path.endswith("/query") else None
        if layer is None:
            return {"error": {"code": 404, "message": "Service not found", "details": []}}, None
        match = _matcher(params.get("where", "1=1"))
        if match is None:
            return {"error": {"code": 400, "message": "Unable to complete operation.", "details": ["where"]}}, None
        key = (id(layer), params.get("where", "1=1"), params.get("orderByFields") or layer.oid, len(layer.rows))
        with self.lock:
            rows = self._cache.get(key)
        if rows is None:  # filter and sort once per query, not once per page
            order = key[2].split()[0]
            rows = sorted((r for r in layer.rows if match(r)), key=lambda r: r[order])
            with self.lock:
                self._cache = {key: rows}
        if params.get("returnCountOnly") == "true":
            return {"count": len(rows)}, None
        return self._page(layer, rows, params)

    def _page(self, layer: Layer, rows: list[dict[str, Any]], params: dict[str, str]) -> tuple[Any, Fault | None]:
        offset = int(params.get("resultOffset", 0))
        size = min(int(params.get("resultRecordCount", layer.max_record_count)), layer.max_record_count)
        fault = self._take_fault(layer, offset)
        start = offset
        if fault is not None and fault.kind == "repeat":
            start = max(0, offset - size)
        page = rows[start : start + size]
        more = start + len(page) < len(rows)
        if fault is not None and fault.kind == "exceeded_forever":
            more = True
            if offset >= len(rows):
                top = max((r[layer.oid] for r in layer.rows), default=0)
                page = [{**layer.rows[-1], layer.oid: top + offset + i + 1} for i in range(size)]
        return {
            "objectIdFieldName": layer.oid,
            "fields": [{"name": n, "type": t} for n, t in layer.fields],
            "features": [{"attributes": r} for r in page],
            "exceededTransferLimit": more,
        }, fault


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (deadline, drop) is not an error here


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    app: ArcGISImitation

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        with self.app.lock:
            self.app.log.append((parts.path, params))
        doc, fault = self.app.answer(parts.path, params)
        body = json.dumps(doc, separators=(",", ":")).encode()
        status = 404 if "error" in doc and doc["error"]["code"] == 404 else 200
        if fault is None or fault.kind in ("repeat", "exceeded_forever"):
            self._send(status, body)
        elif fault.kind == "500":
            self._send(500, b"<html><body>Internal Server Error</body></html>", "text/html")
        elif fault.kind == "429":
            self._send(429, b'{"error":"too many requests"}', headers={"Retry-After": f"{fault.retry_after:g}"})
        elif fault.kind == "truncated":
            self._send(200, body[: len(body) // 2])
        elif fault.kind == "html200":
            self._send(200, b"<!DOCTYPE html><html><body><h1>Proxy error</h1></body></html>", "text/html")
        elif fault.kind == "drop":
            self._headers(200, len(body))
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif fault.kind == "trickle":
            self._headers(200, len(body))
            self.close_connection = True
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                time.sleep(self.app.trickle_interval)

    def _headers(self, status: int, length: int, ctype: str = "application/json", headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def _send(self, status: int, body: bytes, ctype: str = "application/json", headers: dict | None = None) -> None:
        self._headers(status, len(body), ctype, headers)
        self.wfile.write(body)


# --------------------------------------------------------------------------- synthetic layers

#: The incidents layer's fields (as in the mirror's points/CMPD_Incidents_sample5000.csv), with esri types.
INCIDENT_FIELDS = [
    ("OBJECTID", "esriFieldTypeOID"),
    ("INCIDENT_REPORT_ID", "esriFieldTypeString"),
    ("LOCATION", "esriFieldTypeString"),
    ("CITY", "esriFieldTypeString"),
    ("STATE", "esriFieldTypeString"),
    ("ZIP", "esriFieldTypeString"),
    ("X_COORD_PUBLIC", "esriFieldTypeDouble"),
    ("Y_COORD_PUBLIC", "esriFieldTypeDouble"),
    ("LATITUDE_PUBLIC", "esriFieldTypeDouble"),
    ("LONGITUDE_PUBLIC", "esriFieldTypeDouble"),
    ("DIVISION_ID", "esriFieldTypeString"),
    ("CMPD_PATROL_DIVISION", "esriFieldTypeString"),
    ("NPA", "esriFieldTypeInteger"),
    ("DATE_REPORTED", "esriFieldTypeDate"),
    ("DATE_INCIDENT_BEGAN", "esriFieldTypeDate"),
    ("DATE_INCIDENT_END", "esriFieldTypeDate"),
    ("ADDRESS_DESCRIPTION", "esriFieldTypeString"),
    ("LOCATION_TYPE_DESCRIPTION", "esriFieldTypeString"),
    ("PLACE_TYPE_DESCRIPTION", "esriFieldTypeString"),
    ("PLACE_DETAIL_DESCRIPTION", "esriFieldTypeString"),
    ("CLEARANCE_STATUS", "esriFieldTypeString"),
    ("CLEARANCE_DETAIL_STATUS", "esriFieldTypeString"),
    ("CLEARANCE_DATE", "esriFieldTypeDate"),
    ("HIGHEST_NIBRS_CODE", "esriFieldTypeString"),
    ("HIGHEST_NIBRS_DESCRIPTION", "esriFieldTypeString"),
    ("YEAR", "esriFieldTypeSmallInteger"),
    ("GlobalID", "esriFieldTypeGlobalID"),
]

_DIVS = [("01", "Central"), ("02", "Metro"), ("11", "North"), ("22", "South"), ("33", "Steele Creek")]
_NIBRS = [("13B", "Simple Assault"), ("23F", "Theft From Motor Vehicle"), ("290", "Vandalism/Damage/Destruction")]
_T0 = int(datetime(2017, 1, 1, tzinfo=UTC).timestamp() * 1000)
_DAY = 86_400_000


def synthetic_incidents(n: int, *, first_id: int = 1, seed: int = 1, day0: int = 0) -> list[dict[str, Any]]:
    """``n`` incident records shaped like the layer's (ids from ``first_id``, dates from 2017-01-01 + ``day0``)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        oid = first_id + i
        code, div = _DIVS[rng.randrange(len(_DIVS))]
        nibrs = _NIBRS[rng.randrange(len(_NIBRS))]
        reported = _T0 + (day0 + i * 3000 // max(n, 1)) * _DAY + rng.randrange(_DAY)
        lat, lon = 35.05 + rng.random() * 0.4, -81.0 + rng.random() * 0.4
        rows.append(
            {
                "OBJECTID": oid,
                "INCIDENT_REPORT_ID": f"2017{oid:08d}",
                "LOCATION": f"{rng.randrange(100, 9999)} N TRYON ST",
                "CITY": "CHARLOTTE",
                "STATE": "NC",
                "ZIP": None if oid % 53 == 0 else f"282{rng.randrange(10, 99)}",
                "X_COORD_PUBLIC": 1_400_000 + rng.random() * 100_000,
                "Y_COORD_PUBLIC": 500_000 + rng.random() * 100_000,
                "LATITUDE_PUBLIC": lat,
                "LONGITUDE_PUBLIC": lon,
                "DIVISION_ID": code,
                "CMPD_PATROL_DIVISION": div,
                "NPA": rng.randrange(1, 460),
                "DATE_REPORTED": reported,
                "DATE_INCIDENT_BEGAN": reported - rng.randrange(_DAY),
                "DATE_INCIDENT_END": None,
                "ADDRESS_DESCRIPTION": "Location of occurrence",
                "LOCATION_TYPE_DESCRIPTION": "Residential",
                "PLACE_TYPE_DESCRIPTION": "Residential",
                "PLACE_DETAIL_DESCRIPTION": 'Apartment, "A"' if oid % 17 == 0 else "Private Residence",
                "CLEARANCE_STATUS": "Open",
                "CLEARANCE_DETAIL_STATUS": "Open",
                "CLEARANCE_DATE": None,
                "HIGHEST_NIBRS_CODE": nibrs[0],
                "HIGHEST_NIBRS_DESCRIPTION": nibrs[1],
                "YEAR": 2017 + (reported - _T0) // (365 * _DAY),
                "GlobalID": f"{{{oid:08X}-0000-4000-8000-000000000000}}",
            }
        )
    return rows


def incidents_layer(n: int, **kw: Any) -> Layer:
    """The CMPD incidents layer with ``n`` synthetic records."""
    return Layer("CMPD/CMPDIncidents", INCIDENT_FIELDS, synthetic_incidents(n), **kw)


STOP_FIELDS = [
    ("OBJECTID", "esriFieldTypeOID"),
    ("Month_of_Stop", "esriFieldTypeString"),
    ("Reason_for_Stop", "esriFieldTypeString"),
    ("Officer_Race", "esriFieldTypeString"),
    ("Officer_Gender", "esriFieldTypeString"),
    ("Officer_Years_of_Service", "esriFieldTypeInteger"),
    ("Driver_Race", "esriFieldTypeString"),
    ("Driver_Ethnicity", "esriFieldTypeString"),
    ("Driver_Gender", "esriFieldTypeString"),
    ("Driver_Age", "esriFieldTypeInteger"),
    ("Was_a_Search_Conducted", "esriFieldTypeString"),
    ("Result_of_Stop", "esriFieldTypeString"),
    ("CMPD_Division", "esriFieldTypeString"),
]


def synthetic_stops(n: int, *, first_id: int = 1, month0: int = 0) -> list[dict[str, Any]]:
    """``n`` stop records shaped like the Officer_Traffic_Stop table (months from 2020/01 + ``month0``)."""
    rows = []
    for i in range(n):
        oid = first_id + i
        m = month0 + i * 24 // max(n, 1)
        rows.append(
            {
                "OBJECTID": oid,
                "Month_of_Stop": f"{2020 + m // 12}/{m % 12 + 1:02d}",
                "Reason_for_Stop": "Speeding" if oid % 2 else "Vehicle Regulatory",
                "Officer_Race": "White",
                "Officer_Gender": "Male",
                "Officer_Years_of_Service": oid % 30,
                "Driver_Race": "Black" if oid % 3 else "White",
                "Driver_Ethnicity": "Non-Hispanic",
                "Driver_Gender": "Female" if oid % 5 else "Male",
                "Driver_Age": None if oid % 97 == 0 else 16 + oid % 70,
                "Was_a_Search_Conducted": "No",
                "Result_of_Stop": "Verbal Warning",
                "CMPD_Division": 'North, "Tryon" Division' if oid == 7 else "Central Division",
            }
        )
    return rows


def stops_layer(n: int, **kw: Any) -> Layer:
    """The Officer_Traffic_Stop table with ``n`` synthetic records."""
    return Layer("CMPD/Officer_Traffic_Stop", STOP_FIELDS, synthetic_stops(n), **kw)
