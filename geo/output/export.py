"""Export layers for planners and analysts: GeoJSON (RFC 7946), GeoPackage, CSV, each with its dictionary.

:func:`export_layer` writes one layer and says what it wrote (:class:`ExportResult`):

- **GeoJSON** follows RFC 7946: EPSG:4326 (longitude, latitude), exterior rings
  counter-clockwise, coordinates on a 1e-6 degree grid (6 decimals, about 0.1 m; snapped
  with :func:`shapely.set_precision`, so polygons stay valid). The 14 divisions shrink
  from 2,150,770 bytes (up to 19 decimals) to 1,330,275.
- **GeoPackage** keeps the analysis CRS (EPSG:2264, US feet). The layer is named for
  what it is (``npa``, ``divisions``, ``hotspots_npa_lisa``), the data dictionary is
  the table ``<layer>_dictionary`` in the same file, and the metadata (software
  version, time, stop filter, sources and their fetch dates, CRS) is a JSON row of the
  standard ``gpkg_metadata`` table, referenced from the file and the layer through
  ``gpkg_metadata_reference`` (OGC GeoPackage 1.2, metadata extension). GDAL shows it
  as ``GPKG_METADATA_ITEM_1``.
- **CSV** has every attribute, ``longitude`` / ``latitude`` for points and
  ``geometry_wkt`` (EPSG:4326, 6 decimals) only when no WKT is longer than Excel's
  32,767-character cell limit; otherwise the geometry goes to ``<name>.geometry.geojson``
  (default) or, with ``csv_geometry="simplify"``, is simplified until it fits. The
  metadata and :attr:`ExportResult.notes` say which. Text cells beginning with ``=``,
  ``+``, ``-``, ``@``, a tab or a carriage return get a leading apostrophe
  (:func:`neutralise_formulas`, OWASP's advice against CSV injection); numeric
  columns are left alone. ``<name>.csvt`` gives GDAL and QGIS the column types.

Every export also writes ``<name>.dictionary.csv``, ``<name>.dictionary.json``
(:mod:`geo.output.dictionary`) and ``<name>.metadata.json`` (:mod:`geo.output.metadata`)
beside the file.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo.errors import DataFileError, SchemaError, ValueDomainError
from geo.layers.filters import StopFilter
from geo.output._atomic import publish, staged
from geo.output.dictionary import data_dictionary, dictionary_paths, undescribed
from geo.output.metadata import LayerInfo, add_gpkg_metadata, export_metadata, layer_info, metadata_path, table_name
from geo.settings import Settings

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "CSV_GEOMETRY",
    "EXCEL_CELL_LIMIT",
    "ExportResult",
    "neutralise_formulas",
    "write_csv_table",
    "web_frame",
    "to_geojson_bytes",
    "write_dictionary",
    "export_layer",
    "write_layer",
    "layer_bytes",
    "export_zip",
]


Format = Literal["geojson", "gpkg", "csv"]


CsvGeometry = Literal["auto", "separate", "simplify"]


FORMATS: tuple[str, ...] = ("geojson", "gpkg", "csv")


#: ``auto``: WKT when every cell fits, else a separate file; ``separate``: always a separate file;
#: ``simplify``: WKT simplified until every cell fits.
CSV_GEOMETRY: tuple[str, ...] = ("auto", "separate", "simplify")


MEDIA_TYPES = {"geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3", "csv": "text/csv"}


#: The most characters an Excel cell holds.
EXCEL_CELL_LIMIT = 32_767


#: Decimals of longitude and latitude in GeoJSON and CSV (1e-6 degree is about 0.1 m).
DECIMALS = 6


#: Text a spreadsheet may read as the start of a formula (OWASP, CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: Simplification tolerances tried for ``csv_geometry="simplify"``, in CRS units (feet or metres).
_TOLERANCES = (10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0)


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_layer` wrote.

    Attributes
    ----------
    path
        The layer file.
    fmt
        ``geojson``, ``gpkg`` or ``csv``.
    layer_name
        The layer's name (the GeoPackage table).
    features
        Rows written.
    files
        Every file written: the layer, its sidecars, a separate geometry file.
    geometry
        How the geometry was written: ``geojson``, ``gpkg``, ``wkt``, ``separate`` or
        ``simplified``.
    geometry_file
        The separate geometry file of a CSV, if any.
    notes
        What was done and why, in plain words (e.g. geometry written separately).
    undescribed
        Columns the dictionary could not describe.
    dictionary
        The data dictionary (one row per written column).
    metadata
        The metadata written (:func:`export_metadata`).
    """

    path: Path
    fmt: str
    layer_name: str
    features: int
    files: tuple[Path, ...]
    geometry: str
    geometry_file: Path | None
    notes: tuple[str, ...]
    undescribed: tuple[str, ...]
    dictionary: pd.DataFrame
    metadata: Mapping[str, Any]

    def summary(self) -> str:
        """Lines for the command line: the files written and the notes."""
        lines = [f"wrote {self.features:,} features of layer {self.layer_name} to {self.path}"]
        lines += [f"  and {p}" for p in self.files if p != self.path]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def neutralise_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` whose text cells cannot start a spreadsheet formula.

    A text cell (in a column of strings or objects) beginning with ``=``, ``+``, ``-``,
    ``@``, a tab or a carriage return gets a leading apostrophe, as OWASP advises; so
    do such column names. Numeric, boolean and date columns are not text and are left
    as they are (``-3.5`` in a numeric column stays a number).

    Examples
    --------
    >>> neutralise_formulas(pd.DataFrame({"a": ["=1+1", "ok"], "b": [-1, 2]}))["a"].tolist()
    ["'=1+1", 'ok']
    """
    out = table.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_string_dtype(s.dtype) or s.dtype == object or isinstance(s.dtype, pd.CategoricalDtype):
            text = s.astype(object)
            risky = text.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START)).astype(bool)
            if risky.any():
                out[col] = text.where(~risky, "'" + text[risky].astype(str))
    out.columns = ["'" + c if isinstance(c, str) and c.startswith(_FORMULA_START) else c for c in out.columns]
    return out


def write_csv_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as UTF-8 CSV for spreadsheets: formulas neutralised (:func:`neutralise_formulas`).

    Lines end in CRLF (RFC 4180), so a cell holding a carriage return or a line feed is quoted.
    """
    path = Path(path)
    neutralise_formulas(table).to_csv(path, index=False, lineterminator="\r\n")
    return path


def web_frame(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The layer for the web: EPSG:4326 on a 1e-6 degree grid, exteriors counter-clockwise, dates as text."""
    if gdf.crs is None:
        raise SchemaError("The layer has no CRS; cannot export it as GeoJSON or CSV.")
    out = gdf.to_crs("EPSG:4326")
    geoms = shapely.set_precision(out.geometry.values, 10.0**-DECIMALS)
    out = out.set_geometry(shapely.orient_polygons(geoms, exterior_cw=False))
    for col in out.columns:
        if col != out.geometry.name and pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%dT%H:%M:%S")
    return out


def _geojson_text(web: gpd.GeoDataFrame, *, name: str | None = None) -> str:
    """GeoJSON text; ``name`` becomes the collection's ``name`` member (GDAL reads it as the layer name)."""
    text: str = web.to_json(na="null", show_bbox=False, drop_id=True, to_wgs84=False)
    head = '{"type": "FeatureCollection", '
    if name is not None and text.startswith(head):
        text = f'{head}"name": {json.dumps(name)}, {text[len(head) :]}'
    return text


def to_geojson_bytes(gdf: gpd.GeoDataFrame, *, name: str | None = None) -> bytes:
    """The layer as RFC 7946 GeoJSON text with 6-decimal coordinates (for downloads); ``name``: its layer name."""
    return _geojson_text(web_frame(gdf), name=name).encode("utf-8")


#: Dictionary type -> GDAL's CSVT type (the ``.csvt`` file GDAL and QGIS read beside a CSV).
_CSVT = {"integer": "Integer64", "real": "Real", "boolean": "Integer(Boolean)", "date-time": "DateTime"}


def _write_csvt(path: Path, dictionary: pd.DataFrame) -> Path:
    """``<name>.csvt``: the column types, so GDAL and QGIS read numbers as numbers and WKT as geometry."""
    types = ["WKT" if n == "geometry_wkt" else _CSVT.get(t, "String") for n, t in zip(dictionary["name"], dictionary["type"], strict=True)]  # fmt: skip
    out = path.with_suffix(".csvt")
    out.write_text(",".join(f'"{t}"' for t in types) + "\n", encoding="utf-8")
    return out


def write_dictionary(dictionary: pd.DataFrame, path: str | Path, *, layer_name: str) -> tuple[Path, Path]:
    """Write ``dictionary`` beside the export ``path`` (``<stem>.dictionary.csv`` and ``.json``).

    The CSV is written for spreadsheets (:func:`write_csv_table`); the JSON holds
    ``layer`` and ``columns`` (one object per row, ``null`` for a missing year).
    """
    csv_path, json_path = dictionary_paths(path)
    write_csv_table(dictionary, csv_path)
    records = json.loads(dictionary.to_json(orient="records"))
    doc = {"layer": layer_name, "columns": records}
    json_path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return csv_path, json_path


def _geometry_path(path: Path) -> Path:
    return path.with_name(f"{path.with_suffix('').name}.geometry.geojson")


def _write_gpkg(gdf: gpd.GeoDataFrame, path: Path, info: LayerInfo, dictionary: pd.DataFrame) -> str:
    """The layer and its dictionary table; returns the dictionary table's name."""
    if path.exists():
        path.unlink()
    options = {"IDENTIFIER": info.title or info.name, "DESCRIPTION": info.description, "GEOMETRY_NAME": "geometry"}
    frame = gdf.rename_geometry("geometry") if gdf.geometry.name != "geometry" else gdf
    pyogrio.write_dataframe(
        frame, path, layer=info.name, driver="GPKG", dataset_options={"VERSION": "1.2"}, layer_options=options
    )
    table = f"{info.name}_dictionary"
    pyogrio.write_dataframe(pd.DataFrame(dictionary), path, layer=table, driver="GPKG")
    return table


def _key_column(table: pd.DataFrame, info: LayerInfo) -> tuple[pd.DataFrame, str]:
    """The column linking CSV rows to a separate geometry file (``row_number`` when no unique id)."""
    key = info.id_column
    if key is not None and key in table.columns and table[key].notna().all() and table[key].is_unique:
        return table, key
    out = table.copy()
    out.insert(0, "row_number", np.arange(1, len(out) + 1))
    return out, "row_number"


def _longest(values: np.ndarray) -> int:
    return int(max((len(v) for v in values if isinstance(v, str)), default=0))


def _simplified_wkt(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, float, str] | None:
    """WKT simplified with the smallest tolerance that fits every cell, or None if none does.

    Polygon coverages use :func:`shapely.coverage_simplify` (neighbours keep a shared border).
    """
    work = gdf if not gdf.crs.is_geographic else gdf.to_crs(gdf.estimate_utm_crs())
    unit = work.crs.axis_info[0].unit_name if work.crs.axis_info else "CRS units"
    polygonal = work.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    for tol in _TOLERANCES:
        if polygonal:
            geoms = shapely.coverage_simplify(work.geometry.values, tol)
        else:
            geoms = shapely.simplify(work.geometry.values, tol, preserve_topology=True)
        web = web_frame(gpd.GeoDataFrame(geometry=geoms, crs=work.crs))
        wkt = shapely.to_wkt(web.geometry.values, rounding_precision=DECIMALS)
        if _longest(wkt) <= EXCEL_CELL_LIMIT:
            return wkt, tol, unit
    return None


def _csv_geometry(
    gdf: gpd.GeoDataFrame, web: gpd.GeoDataFrame, mode: str, path: Path, info: LayerInfo, table: pd.DataFrame
) -> tuple[pd.DataFrame, str, Path | None, list[str]]:
    """Add the geometry to the CSV table as WKT, simplified WKT, or a separate GeoJSON file."""
    wkt = shapely.to_wkt(web.geometry.values, rounding_precision=DECIMALS)
    longest = _longest(wkt)
    if mode == "auto" and longest <= EXCEL_CELL_LIMIT:
        return table.assign(geometry_wkt=wkt), "wkt", None, []
    if mode == "simplify":
        found = _simplified_wkt(gdf) if longest > EXCEL_CELL_LIMIT else (wkt, 0.0, "")
        if found is not None:
            simple, tol, unit = found
            notes = (
                [f"geometry_wkt simplified with a tolerance of {tol:g} (unit: {unit}) so that every cell fits Excel's "
                 f"{EXCEL_CELL_LIMIT:,}-character limit (the longest was {longest:,}); shapes are approximate"]
                if tol else []
            )  # fmt: skip
            return table.assign(geometry_wkt=simple), "simplified" if tol else "wkt", None, notes
    keyed, key = _key_column(table, info)
    geo_path = _geometry_path(path)
    shapes = gpd.GeoDataFrame({key: keyed[key].to_numpy()}, geometry=web.geometry.values, crs=web.crs)
    geo_path.write_text(_geojson_text(shapes, name=f"{info.name}_geometry"), encoding="utf-8")
    reason = (
        f"the longest WKT has {longest:,} characters, over Excel's {EXCEL_CELL_LIMIT:,}-character cell limit"
        if longest > EXCEL_CELL_LIMIT
        else "as asked"
    )
    note = f"geometry written to {geo_path.name} (GeoJSON, joined on {key}), not as WKT: {reason}"
    return keyed, "separate", geo_path, [note]


def _write_csv(
    gdf: gpd.GeoDataFrame, path: Path, info: LayerInfo, mode: str
) -> tuple[pd.DataFrame, str, Path | None, list[str]]:
    """The CSV table with its geometry; returns the table written, the geometry mode, file and notes."""
    web = web_frame(gdf)
    table = pd.DataFrame(web.drop(columns=web.geometry.name))
    if len(web) and (web.geom_type == "Point").all():
        table["longitude"] = web.geometry.x.round(DECIMALS)
        table["latitude"] = web.geometry.y.round(DECIMALS)
    table, geometry, geo_path, notes = _csv_geometry(gdf, web, mode, path, info, table)
    for col in table.columns:
        if table[col].dtype == object or pd.api.types.is_string_dtype(table[col].dtype):
            n = int(table[col].map(lambda v: isinstance(v, str) and len(v) > EXCEL_CELL_LIMIT).sum())
            if n:
                notes.append(f"column {col}: {n} cell(s) longer than {EXCEL_CELL_LIMIT:,} characters (Excel cuts them)")
    write_csv_table(table, path)
    return table, geometry, geo_path, notes


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt is None:
        ext = path.suffix.lower().lstrip(".")
        fmt = {"geojson": "geojson", "json": "geojson", "gpkg": "gpkg", "csv": "csv"}.get(ext)
        if fmt is None:
            raise DataFileError(f"{path}: cannot tell the format from the extension; use .geojson, .gpkg or .csv.")
    if fmt not in FORMATS:
        raise ValueDomainError(f"Unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    return fmt


def _info_for(path: Path, layer_name: str | None, about: LayerInfo | None) -> LayerInfo:
    if about is not None:
        return replace(about, name=table_name(layer_name or about.name))
    name = layer_name if layer_name is not None else path.with_suffix("").name
    return replace(layer_info(name), name=table_name(name))


def export_layer(
    gdf: gpd.GeoDataFrame,
    path: str | Path,
    *,
    fmt: Format | None = None,
    layer_name: str | None = None,
    filters: StopFilter | str | None = None,
    about: LayerInfo | None = None,
    csv_geometry: CsvGeometry = "auto",
    sidecars: bool = True,
    settings: Settings | None = None,
) -> ExportResult:
    """Write ``gdf`` as GeoJSON, GeoPackage or CSV with its dictionary and metadata.

    Parameters
    ----------
    gdf
        The layer (any CRS). Not changed.
    path
        Output file; its folder must exist. Sidecars are written beside it.
    fmt
        Format; by default from the extension (``.geojson``/``.json``, ``.gpkg``, ``.csv``).
    layer_name
        The layer's name (GeoPackage table, metadata); a catalogue name (``npa``) also
        brings its title, description, id column and sources. Default: ``about.name``,
        else the file's stem.
    filters
        The stop filter behind the values (a :class:`~geo.layers.filters.StopFilter` or
        its description), for the metadata.
    about
        Names, descriptions and provenance of a layer outside the catalogue (a result).
    csv_geometry
        CSV only: ``auto``, ``separate`` or ``simplify`` (:data:`CSV_GEOMETRY`).
    sidecars
        Write ``<name>.dictionary.csv``, ``<name>.dictionary.json`` and ``<name>.metadata.json``.
    settings
        Settings (the data folder, whose manifest dates the sources).

    Returns
    -------
    ExportResult

    Raises
    ------
    DataFileError
        Unknown extension, or the folder does not exist.
    SchemaError
        The layer has no CRS (GeoJSON, CSV).
    ValueDomainError
        Unknown format or ``csv_geometry``.
    """
    path = Path(path)
    fmt_ = _format_of(path, fmt)
    if csv_geometry not in CSV_GEOMETRY:
        raise ValueDomainError(f"csv_geometry must be one of {', '.join(CSV_GEOMETRY)}; got {csv_geometry!r}")
    if not path.parent.exists():
        raise DataFileError(f"{path}: the folder {path.parent} does not exist.")
    info = _info_for(path, layer_name, about)
    with staged(path) as tmp:  # all files or none: a failed write leaves the previous ones intact
        res = _write_export(gdf, tmp, fmt_, info, filters=filters, csv_geometry=csv_geometry, sidecars=sidecars,
                            settings=settings)  # fmt: skip
        final = {p.name: p for p in publish(list(res.files), path.parent)}
    return replace(
        res,
        path=final[path.name],
        files=tuple(final.values()),
        geometry_file=final[res.geometry_file.name] if res.geometry_file else None,
    )


def _write_export(
    gdf: gpd.GeoDataFrame,
    path: Path,
    fmt_: str,
    info: LayerInfo,
    *,
    filters: StopFilter | str | None,
    csv_geometry: CsvGeometry,
    sidecars: bool,
    settings: Settings | None,
) -> ExportResult:
    """Write the layer and its sidecars at ``path`` (a staging path); see :func:`export_layer`."""
    notes: list[str] = []
    geo_path: Path | None = None
    if fmt_ == "csv":
        table, geometry, geo_path, notes = _write_csv(gdf, path, info, csv_geometry)
    elif fmt_ == "geojson":
        table, geometry = web_frame(gdf), "geojson"
        path.write_text(_geojson_text(table, name=info.name), encoding="utf-8")
    else:
        table, geometry = gdf, "gpkg"
    dictionary = data_dictionary(table, info.describe_as, extra=info.columns)
    crs = "EPSG:4326" if fmt_ != "gpkg" or gdf.crs is None else (gdf.crs.to_string())
    metadata = export_metadata(info, fmt=fmt_, crs=crs, features=len(gdf), filters=filters, settings=settings)
    missing = undescribed(dictionary)
    metadata.update(geometry={"written_as": geometry, "file": geo_path.name if geo_path else None}, notes=notes)
    metadata["undescribed_columns"] = missing
    files = [path] + ([geo_path] if geo_path else []) + ([_write_csvt(path, dictionary)] if fmt_ == "csv" else [])
    if fmt_ == "gpkg":
        dict_table = _write_gpkg(gdf, path, info, dictionary)
        metadata["dictionary"] = {"table": dict_table}
        add_gpkg_metadata(path, metadata, (info.name, dict_table))
    if sidecars:
        dict_csv, dict_json = dictionary_paths(path)
        metadata["dictionary"] = {**metadata.get("dictionary", {}), "csv": dict_csv.name, "json": dict_json.name}
        metadata["files"] = [p.name for p in files]
        files += [*write_dictionary(dictionary, path, layer_name=info.name), metadata_path(path)]
        text = json.dumps(metadata, indent=2, ensure_ascii=False, default=str) + "\n"
        metadata_path(path).write_text(text, encoding="utf-8")
    return ExportResult(
        path, fmt_, info.name, len(gdf), tuple(files), geometry, geo_path, tuple(notes), tuple(missing), dictionary,
        metadata,
    )  # fmt: skip


def write_layer(
    gdf: gpd.GeoDataFrame,
    path: str | Path,
    *,
    fmt: Format | None = None,
    layer_name: str | None = None,
    filters: StopFilter | str | None = None,
    csv_geometry: CsvGeometry = "auto",
    settings: Settings | None = None,
) -> Path:
    """Write ``gdf`` with its dictionary and metadata (:func:`export_layer`); return the layer file's path."""
    return export_layer(
        gdf, path, fmt=fmt, layer_name=layer_name, filters=filters, csv_geometry=csv_geometry, settings=settings
    ).path


def layer_bytes(gdf: gpd.GeoDataFrame, fmt: Format, *, layer_name: str = "layer") -> bytes:
    """The layer file alone, written in ``fmt``, as bytes (for a download button)."""
    if fmt == "geojson":
        return to_geojson_bytes(gdf, name=table_name(layer_name))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{table_name(layer_name)}.{fmt}"
        return export_layer(gdf, path, fmt=fmt, layer_name=layer_name, sidecars=False).path.read_bytes()


def export_zip(
    gdf: gpd.GeoDataFrame,
    fmt: Format,
    *,
    layer_name: str,
    filters: StopFilter | str | None = None,
    about: LayerInfo | None = None,
    settings: Settings | None = None,
) -> tuple[bytes, ExportResult]:
    """A zip of the layer file, its dictionary (CSV and JSON), metadata and any separate geometry file.

    Returns
    -------
    data, result
        The zip's bytes, and what :func:`export_layer` wrote (its paths were in a
        temporary folder and no longer exist; the notes, dictionary and metadata hold).
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{table_name(layer_name)}.{fmt}"
        res = export_layer(gdf, path, fmt=fmt, layer_name=layer_name, filters=filters, about=about, settings=settings)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for p in res.files:
                zf.write(p, arcname=p.name)
        return buf.getvalue(), res
