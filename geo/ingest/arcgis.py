"""Download an ArcGIS REST layer completely, verified, resumably: the portal half of ``python -m geo fetch``.

For a table (or a layer read as one) the steps are:

1. read the layer (``?f=json``): ``maxRecordCount``, the object-id field, the field list, and check
   that every column the project needs is there (before anything is downloaded);
2. ask for the number of records (``returnCountOnly=true``) for the ``where`` clause;
3. page with ``resultOffset``/``resultRecordCount`` ordered by the object id, each page kept in a
   staging folder (:mod:`geo.ingest._staging`) so that a stopped fetch goes on where it stopped;
   a page repeating an object id already received is asked for again;
4. stop at the announced count: a service still answering ``exceededTransferLimit: true`` with
   more rows after that is an error, not an endless loop;
5. verify the rows received equal the count, with no object id twice, and only then write the
   file (Parquet or gzipped CSV) atomically; the caller writes the manifest entry.

With ``since`` only records dated on or after that day are asked for (by the data set's date
field) and merged into the earlier file, de-duplicated by object id.

Examples
--------
>>> from geo.ingest.arcgis import since_where
>>> from geo.ingest.sources import DATASETS
>>> since_where(DATASETS["stops"], __import__("datetime").date(2021, 3, 15))
"Month_of_Stop >= '2021/03'"
"""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from geo.errors import FetchError, quote_values
from geo.ingest._http import HttpOptions, Retryable, full_url, get_json, get_json_once, with_retries
from geo.ingest._progress import Meter
from geo.ingest._staging import Staging
from geo.ingest.files import atomic_path, gzip_text
from geo.ingest.sources import Dataset

__all__ = ["LayerInfo", "Table", "layer_info", "count_rows", "since_where", "download_table", "write_table"]


#: Extra pages asked for after the announced count when the service still says ``exceededTransferLimit``.
_CHECK_PAGES = 1


@dataclass(frozen=True)
class LayerInfo:
    """What an ArcGIS layer says about itself (``<layer>?f=json``).

    Attributes
    ----------
    url
        The layer's address.
    max_record_count
        Most records the service sends per page.
    object_id_field
        The unique id field (``OBJECTID``, ``ObjectID`` ...).
    fields
        Field names, in the layer's order.
    types
        Field name -> esri field type (``esriFieldTypeString`` ...).
    """

    url: str
    max_record_count: int
    object_id_field: str
    fields: tuple[str, ...]
    types: dict[str, str]


@dataclass
class Table:
    """The rows of a layer, verified: ``columns`` (the layer's fields), ``rows`` in object-id order."""

    columns: list[str]
    rows: list[list[Any]]
    types: dict[str, str]
    object_id_field: str
    where: str
    count: int


def layer_info(opts: HttpOptions, url: str) -> LayerInfo:
    """Read a layer's description.

    Raises
    ------
    FetchError
        If the answer has no field list or no object-id field.
    """
    doc = get_json(opts, url, {"f": "json"})
    fields = [f for f in doc.get("fields") or [] if isinstance(f, dict) and f.get("name")]
    if not fields:
        raise FetchError(f"{full_url(url, {'f': 'json'})}: the layer description has no field list.")
    names = tuple(str(f["name"]) for f in fields)
    types = {str(f["name"]): str(f.get("type", "")) for f in fields}
    oid = doc.get("objectIdField") or next((n for n, t in types.items() if t == "esriFieldTypeOID"), None)
    if oid is None or oid not in names:
        raise FetchError(f"{url}: the layer has no object-id field (objectIdField); cannot page it reliably.")
    try:
        mrc = int(doc.get("maxRecordCount") or 1000)
    except (TypeError, ValueError):
        mrc = 1000
    return LayerInfo(url, max(mrc, 1), str(oid), names, types)


def count_rows(opts: HttpOptions, url: str, where: str) -> int:
    """The number of records matching ``where`` (``returnCountOnly=true``)."""
    query = url.rstrip("/") + "/query"
    params = {"where": where, "returnCountOnly": "true", "f": "json"}
    doc = get_json(opts, query, params)
    n = doc.get("count")
    if not isinstance(n, int) or n < 0:
        raise FetchError(f"{full_url(query, params)}: the answer has no record count ('count': {n!r}).")
    return n


def since_where(ds: Dataset, since: date) -> str:
    """The ``where`` clause asking for ``ds``'s records dated on or after ``since``.

    Raises
    ------
    FetchError
        If the data set has no date field.
    """
    field, fmt = ds.date_field, ds.date_format
    if field is None or fmt is None:
        raise FetchError(f"Data set {ds.key!r} has no date field; --since cannot select its newer records.")
    if fmt == "epoch_ms":
        return f"{field} >= DATE '{since.isoformat()}'"
    if fmt == "year":
        return f"{field} >= {since.year}"
    sep = "/" if fmt == "YYYY/MM" else "-"
    return f"{field} >= '{since.year:04d}{sep}{since.month:02d}'"


def check_schema(info: LayerInfo, required: tuple[str, ...], what: str) -> None:
    """Raise naming the required columns the layer lacks (before anything is downloaded)."""
    missing = [c for c in required if c not in info.fields]
    if missing:
        raise FetchError(
            f"{info.url}: {what} lacks required column(s) {quote_values(missing)}; it has "
            f"{', '.join(info.fields)}. Nothing was replaced."
        )


def _parse_page(
    payload: dict[str, Any], columns: list[str], oid_index: int, seen: set[Any], where: str
) -> tuple[list[list[Any]], bool, list[Any]]:
    """Rows, the ``exceededTransferLimit`` flag and the ids of one page; a repeated id is :class:`Retryable`."""
    records = payload.get("features")
    if not isinstance(records, list):
        raise Retryable("the answer has no 'features' list")
    known = set(columns)
    rows = []
    for rec in records:
        attrs = rec.get("attributes") if isinstance(rec, dict) else None
        if not isinstance(attrs, dict):
            raise Retryable("a record has no 'attributes'")
        if not known.issuperset(attrs):
            extra = [k for k in attrs if k not in known]
            raise FetchError(f"{where}: a record has field(s) {quote_values(extra)} not in the layer's field list.")
        rows.append([attrs.get(c) for c in columns])
    ids = [r[oid_index] for r in rows]
    if any(i is None for i in ids):
        raise FetchError(f"{where}: a record has no {columns[oid_index]} (object id).")
    if len(set(ids)) != len(ids) or not seen.isdisjoint(ids):
        again = sorted({i for i in ids if i in seen} or ids, key=str)[:3]
        raise Retryable(f"the page repeats {columns[oid_index]} {', '.join(map(str, again))} already received")
    return rows, bool(payload.get("exceededTransferLimit")), ids


def download_table(
    opts: HttpOptions,
    info: LayerInfo,
    *,
    key: str,
    data_dir: Path,
    where: str = "1=1",
    page_size: int = 2000,
    meter: Meter | None = None,
) -> Table:
    """Page every record matching ``where`` into a verified :class:`Table` (see the module's steps 2-5).

    Pages are kept in ``data_dir/.staging/key/`` until :meth:`Staging.clear` (the caller calls
    it once the file is written), so calling this again after an interruption asks only for
    the pages not yet received.

    Raises
    ------
    FetchError
        If a request keeps failing, the service sends fewer or more rows than it announced,
        or keeps saying ``exceededTransferLimit`` past the announced count.
    """
    meter = meter or Meter()
    total = count_rows(opts, info.url, where)
    size = max(1, min(page_size, info.max_record_count))
    columns = list(info.fields)
    oid_i = columns.index(info.object_id_field)
    stage = Staging(
        data_dir, key, {"url": info.url, "where": where, "count": total, "page_size": size, "fields": columns}
    )
    query = info.url.rstrip("/") + "/query"
    base = {
        "where": where,
        "outFields": "*",
        "f": "json",
        "returnGeometry": "false",
        "orderByFields": info.object_id_field,
        "resultRecordCount": size,
    }
    rows: list[list[Any]] = []
    seen: set[Any] = set()
    exceeded = False
    meter.start(key, total)

    def fetch_page(offset: int) -> tuple[list[list[Any]], bool, list[Any]]:
        params = {**base, "resultOffset": offset}
        url = full_url(query, params)
        got: tuple[list[list[Any]], bool, list[Any]] = with_retries(
            opts, url, lambda: _parse_page(get_json_once(opts, query, params), columns, oid_i, seen, url)
        )
        return got

    while len(rows) < total:
        offset = len(rows)
        staged = stage.load(offset)
        if staged is not None:
            page, exceeded = staged
            ids = [r[oid_i] for r in page]
            if len(set(ids)) != len(ids) or not seen.isdisjoint(ids):
                stage.clear()
                raise FetchError(f"{query}: the pages kept from an earlier run disagree; they were removed. Run again.")
        else:
            page, exceeded, ids = fetch_page(offset)
            stage.save(offset, page, exceeded)
        if not page:
            raise FetchError(
                f"{query}: the service sent no rows at offset {offset:,}, but announced {total:,} "
                f"(returnCountOnly, where {where}); the layer may be changing. Nothing was replaced; run again."
            )
        seen.update(ids)
        rows.extend(page)
        meter.advance(len(page))
    meter.finish()
    _check_end(fetch_page, rows, total, exceeded, query)
    return Table(columns, rows, dict(info.types), info.object_id_field, where, total)


def _check_end(fetch_page: Any, rows: list[list[Any]], total: int, exceeded: bool, query: str) -> None:
    """Refuse more rows than announced, and a service still saying ``exceededTransferLimit`` past the count."""
    if len(rows) > total:
        raise FetchError(
            f"{query}: the service sent {len(rows):,} rows but announced {total:,}; the layer may be changing. "
            "Nothing was replaced; run again."
        )
    for _ in range(_CHECK_PAGES if exceeded else 0):
        more, exceeded, _ids = fetch_page(len(rows))
        if more:
            raise FetchError(
                f"{query}: the service keeps answering exceededTransferLimit: true with new records past the "
                f"{total:,} it announced (returnCountOnly); stopped instead of paging on. Nothing was replaced; "
                "run again later."
            )


# --------------------------------------------------------------------------- files

_ARROW_TYPES = {
    "esriFieldTypeOID": "int64",
    "esriFieldTypeInteger": "int64",
    "esriFieldTypeSmallInteger": "int64",
    "esriFieldTypeBigInteger": "int64",
    "esriFieldTypeDouble": "float64",
    "esriFieldTypeSingle": "float64",
    "esriFieldTypeDate": "int64",  # epoch milliseconds, as the service sends them
}


def write_table(table: Table, dest: Path) -> None:
    """Write ``table`` atomically: Parquet (zstd, typed by the esri field types) or gzipped CSV, by suffix."""
    if dest.suffix.lower() == ".parquet":
        _write_parquet(table, dest)
        return
    with atomic_path(dest) as tmp, gzip_text(tmp) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(table.columns)
        writer.writerows(["" if v is None else v for v in row] for row in table.rows)


def _write_parquet(table: Table, dest: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = list(zip(*table.rows, strict=True)) if table.rows else [() for _ in table.columns]
    arrays = []
    for name, values in zip(table.columns, cols, strict=True):
        kind = _ARROW_TYPES.get(table.types.get(name, ""), "string")
        try:
            arrays.append(pa.array(values, type=pa.string() if kind == "string" else getattr(pa, kind)()))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
            arrays.append(pa.array([None if v is None else str(v) for v in values], type=pa.string()))
    out = pa.Table.from_arrays(arrays, names=table.columns)
    with atomic_path(dest) as tmp:
        pq.write_table(out, tmp, compression="zstd")


def read_rows(path: Path) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of an earlier download (Parquet or CSV, gzipped or not); blanks as ``None``."""
    try:
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            t = pq.read_table(path)
            cols = [c.to_pylist() for c in t.columns]
            return list(t.column_names), [list(r) for r in zip(*cols, strict=True)]
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            return header, [[v if v != "" else None for v in r] for r in reader]
    except Exception as exc:  # csv.Error, OSError, pyarrow's errors
        raise FetchError(f"{path}: cannot read the earlier download to merge into it ({exc}).") from None


def _id_key(value: Any) -> tuple[int, Any]:
    text = str(value)
    return (0, int(text)) if text.lstrip("-").isdigit() else (1, text)


def merge(old_columns: list[str], old_rows: list[list[Any]], new: Table, *, path: Path) -> Table:
    """The earlier rows with ``new``'s added or replacing them (same object id), in object-id order."""
    if old_columns != new.columns:
        raise FetchError(
            f"{path}: the earlier file's columns ({', '.join(old_columns)}) differ from the layer's "
            f"({', '.join(new.columns)}); fetch without --since to replace it."
        )
    oid_i = new.columns.index(new.object_id_field)
    by_id = {_id_key(r[oid_i]): r for r in old_rows}
    by_id.update({_id_key(r[oid_i]): r for r in new.rows})
    rows = [by_id[k] for k in sorted(by_id)]
    return Table(new.columns, rows, new.types, new.object_id_field, new.where, new.count)


def features_to_geojson(opts: HttpOptions, url: str, dest: Path, *, page_size: int, meter: Meter) -> int:
    """Page a (small) feature layer as GeoJSON in EPSG:4326, verified against its count, into ``dest``."""
    total = count_rows(opts, url, "1=1")
    query = url.rstrip("/") + "/query"
    feats: list[dict[str, Any]] = []
    seen: set[Any] = set()
    meter.start(dest.stem, total)
    while len(feats) < total + _CHECK_PAGES * page_size:
        params = {
            "where": "1=1",
            "outFields": "*",
            "f": "geojson",
            "resultOffset": len(feats),
            "resultRecordCount": page_size,
            "orderByFields": "OBJECTID",
            "returnGeometry": "true",
            "outSR": 4326,
        }
        doc = get_json(opts, query, params)
        page = doc.get("features")
        if not isinstance(page, list):
            raise FetchError(f"Unexpected answer from {full_url(query, params)}: no 'features' member.")
        ids = [(f.get("properties") or {}).get("OBJECTID", f.get("id")) for f in page]
        if not seen.isdisjoint(i for i in ids if i is not None):
            raise FetchError(f"{query}: an OBJECTID came twice while paging (offset {len(feats)}); run again.")
        seen.update(ids)
        feats.extend(page)
        meter.advance(len(page))
        props = doc.get("properties")
        props = props if isinstance(props, dict) else {}
        if not page or not (doc.get("exceededTransferLimit") or props.get("exceededTransferLimit")):
            break
    meter.finish()
    if len(feats) != total:
        raise FetchError(f"{query}: received {len(feats):,} features, the service announced {total:,}; run again.")
    collection = {
        "type": "FeatureCollection",
        "name": dest.stem,
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": feats,
    }
    with atomic_path(dest) as tmp:
        tmp.write_text(json.dumps(collection, separators=(",", ":")), encoding="utf-8")
    return len(feats)
