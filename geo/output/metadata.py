"""What an export says about itself: the layer's names and provenance, as JSON and in a GeoPackage.

- :class:`LayerInfo` and :func:`layer_info`: a layer's name, title, description, id
  column, data sets and analysis parameters (from :data:`geo.layers.catalog.CATALOG`
  for the built-in layers; :mod:`geo.output.results` builds one for a hot-spot result).
- :func:`export_metadata`: the metadata of one export: software version
  (:data:`geo.__version__`), creation time, the stop filter behind the values, every
  data set with its file, address and fetch date (from the data folder's
  ``manifest.json``), the CRS and the parameters.
- :func:`add_gpkg_metadata`: that metadata as a row of the standard ``gpkg_metadata``
  table (``md_scope`` ``dataset``, ``mime_type`` ``application/json``,
  ``md_standard_uri`` :data:`METADATA_STANDARD_URI`), referenced from the whole file
  and from each table through ``gpkg_metadata_reference``, with the metadata extension
  registered in ``gpkg_extensions`` (OGC GeoPackage 1.2, F.8). GDAL reports it as
  ``GPKG_METADATA_ITEM_1``.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geo
from geo.ingest.sources import DATASETS, read_manifest
from geo.layers.build import INPUTS
from geo.layers.catalog import CATALOG
from geo.layers.filters import StopFilter
from geo.output.dictionary import ColumnInfo
from geo.settings import Settings, get_settings

__all__ = [
    "METADATA_STANDARD_URI",
    "LayerInfo",
    "layer_info",
    "table_name",
    "export_metadata",
    "metadata_path",
    "add_gpkg_metadata",
]


#: ``md_standard_uri`` of the JSON metadata rows in ``gpkg_metadata``: the keys of :func:`export_metadata`.
METADATA_STANDARD_URI = "urn:cmpd-hotspots:export-metadata:1"


@dataclass(frozen=True)
class LayerInfo:
    """What an export says about its layer, beyond the rows: names, descriptions, provenance.

    Attributes
    ----------
    name
        Layer name in the file (GeoPackage table) and in the metadata.
    title, description
        Plain words for the metadata (and the GeoPackage's ``identifier`` / ``description``).
    describe_as
        Catalogue layer whose column meanings apply (``npa`` for an NPA result layer).
    id_column
        Column naming each unit (links a CSV to its separate geometry file).
    sources
        Keys of :data:`geo.ingest.sources.DATASETS` behind the layer.
    stop_filters
        Whether the stop filter changes the values (divisions' stop counts).
    parameters
        Options of the analysis behind a result layer (JSON-serialisable).
    columns
        Descriptions that win over the dictionary's registry.
    """

    name: str
    title: str = ""
    description: str = ""
    describe_as: str | None = None
    id_column: str | None = None
    sources: tuple[str, ...] = ()
    stop_filters: bool = False
    parameters: Mapping[str, Any] = field(default_factory=dict)
    columns: Mapping[str, ColumnInfo] = field(default_factory=dict)


def _dataset_keys(inputs: tuple[str, ...]) -> tuple[str, ...]:
    keys = [k for entry in inputs for k in INPUTS.get(entry, (entry,)) if k in DATASETS]
    return tuple(dict.fromkeys(keys))


def layer_info(name: str) -> LayerInfo:
    """The :class:`LayerInfo` of a catalogue layer (title, description, id, sources); a bare one otherwise."""
    spec = CATALOG.get(name)
    if spec is None:
        return LayerInfo(table_name(name))
    return LayerInfo(
        name,
        title=spec.label,
        description=spec.description,
        describe_as=name,
        id_column=spec.id_column,
        sources=_dataset_keys(spec.inputs),
        stop_filters=spec.stop_filters,
    )


def table_name(name: str) -> str:
    """A safe layer (table) name: letters, digits and underscores, not starting with a digit or ``gpkg_``."""
    out = re.sub(r"[^0-9a-z_]+", "_", str(name).lower()).strip("_") or "layer"
    return f"layer_{out}" if out[0].isdigit() or out.startswith("gpkg_") else out


def _sources(keys: tuple[str, ...], settings: Settings) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Each data set behind the layer with its file and fetch record, and the fetch itself."""
    manifest = read_manifest(settings.data_dir)
    files = manifest.get("files", {})
    out = []
    for key in keys:
        entry = files.get(key)
        if entry is None:
            continue
        ds = DATASETS[key]
        out.append(
            {
                "key": key,
                "description": ds.description,
                "file": entry.get("path", ds.path),
                "url": ds.portal_url,
                "copied_from": entry.get("source"),
                "retrieved": entry.get("retrieved"),
                "rows": entry.get("rows"),
                "sha256": entry.get("sha256"),
            }
        )
    fetch = {k: manifest.get(k) for k in ("created", "mode", "source")}
    return out, fetch


def _stop_filter(info: LayerInfo, filters: StopFilter | str | None) -> dict[str, Any]:
    if not info.stop_filters and filters is None:
        return {"applies": False, "description": "not applicable: the layer has no stop counts"}
    if isinstance(filters, StopFilter):
        return {"applies": True, "description": filters.describe(), "start": filters.start, "end": filters.end}
    if isinstance(filters, str):
        return {"applies": True, "description": filters, "start": None, "end": None}
    return {"applies": True, "description": "all stops (every month in the stops file)", "start": None, "end": None}


def export_metadata(
    info: LayerInfo,
    *,
    fmt: str,
    crs: str,
    features: int,
    filters: StopFilter | str | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """The metadata of an export, as written to ``<name>.metadata.json`` and ``gpkg_metadata``.

    Returns
    -------
    dict
        ``title``, ``layer``, ``description``, ``format``, ``crs``, ``features``,
        ``software`` (name and :data:`geo.__version__`), ``created`` (UTC, ISO 8601),
        ``stop_filter`` (whether it applies, its description, first and last month),
        ``sources`` (each data set: key, description, file, URL, when it was retrieved,
        rows, sha256), ``fetch`` (the manifest's mode, source and time) and
        ``parameters`` (a result layer's options). The export adds ``geometry``,
        ``files``, ``dictionary`` and ``undescribed_columns``.
    """
    s = settings if settings is not None else get_settings()
    sources, fetch = _sources(info.sources, s)
    return {
        "title": info.title or info.name,
        "layer": info.name,
        "description": info.description,
        "format": fmt,
        "crs": crs,
        "features": int(features),
        "software": {"name": "cmpd-hotspots", "version": geo.__version__},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "stop_filter": _stop_filter(info, filters),
        "sources": sources,
        "fetch": fetch,
        "parameters": dict(info.parameters),
    }


def metadata_path(path: Path) -> Path:
    """The metadata file beside an export: ``<stem>.metadata.json``."""
    return path.with_name(f"{path.with_suffix('').name}.metadata.json")


_GPKG_METADATA_SQL = """
CREATE TABLE IF NOT EXISTS gpkg_metadata (
  id INTEGER CONSTRAINT m_pk PRIMARY KEY ASC NOT NULL,
  md_scope TEXT NOT NULL DEFAULT 'dataset',
  md_standard_uri TEXT NOT NULL,
  mime_type TEXT NOT NULL DEFAULT 'text/xml',
  metadata TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS gpkg_metadata_reference (
  reference_scope TEXT NOT NULL,
  table_name TEXT,
  column_name TEXT,
  row_id_value INTEGER,
  timestamp DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  md_file_id INTEGER NOT NULL,
  md_parent_id INTEGER,
  CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) REFERENCES gpkg_metadata(id),
  CONSTRAINT crmr_mpi_fk FOREIGN KEY (md_parent_id) REFERENCES gpkg_metadata(id)
);
CREATE TABLE IF NOT EXISTS gpkg_extensions (
  table_name TEXT,
  column_name TEXT,
  extension_name TEXT NOT NULL,
  definition TEXT NOT NULL,
  scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name)
);
INSERT OR IGNORE INTO gpkg_extensions VALUES
  ('gpkg_metadata', NULL, 'gpkg_metadata', 'http://www.geopackage.org/spec120/#extension_metadata', 'read-write'),
  ('gpkg_metadata_reference', NULL, 'gpkg_metadata', 'http://www.geopackage.org/spec120/#extension_metadata',
   'read-write');
"""


def add_gpkg_metadata(path: Path, metadata: Mapping[str, Any], tables: tuple[str, ...]) -> None:
    """One JSON row in ``gpkg_metadata``, referenced from the whole file and from each table."""
    con = sqlite3.connect(path)
    try:
        con.executescript(_GPKG_METADATA_SQL)
        cur = con.execute(
            "INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, metadata) VALUES (?, ?, ?, ?)",
            ("dataset", METADATA_STANDARD_URI, "application/json", json.dumps(metadata, ensure_ascii=False)),
        )
        refs = [("geopackage", None, cur.lastrowid)] + [("table", t, cur.lastrowid) for t in tables]
        con.executemany(
            "INSERT INTO gpkg_metadata_reference (reference_scope, table_name, md_file_id) VALUES (?, ?, ?)", refs
        )
        con.commit()
    finally:
        con.close()
