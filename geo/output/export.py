"""Export layers for planners and analysts: GeoJSON (RFC 7946), GeoPackage, CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import geopandas as gpd
import pandas as pd
import shapely

from geo.errors import DataFileError, SchemaError

__all__ = ["FORMATS", "MEDIA_TYPES", "write_layer", "to_geojson_bytes", "layer_bytes"]


Format = Literal["geojson", "gpkg", "csv"]


FORMATS: tuple[str, ...] = ("geojson", "gpkg", "csv")


MEDIA_TYPES = {"geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3", "csv": "text/csv"}


def _for_web(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """EPSG:4326 with exterior rings counter-clockwise (RFC 7946 right-hand rule)."""
    if gdf.crs is None:
        raise SchemaError("The layer has no CRS; cannot export it as GeoJSON.")
    out = gdf.to_crs("EPSG:4326")
    out = out.set_geometry(shapely.orient_polygons(out.geometry.values, exterior_cw=False))
    for col in out.columns:
        if col != out.geometry.name and pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%dT%H:%M:%S")
    return out


def write_layer(
    gdf: gpd.GeoDataFrame, path: str | Path, *, fmt: Format | None = None, layer_name: str = "layer"
) -> Path:
    """Write ``gdf`` to ``path`` as GeoJSON, GeoPackage or CSV.

    Parameters
    ----------
    gdf
        The layer (any CRS).
    path
        Output file; its folder must exist.
    fmt
        Format; by default from the extension (``.geojson``/``.json``, ``.gpkg``,
        ``.csv``).
    layer_name
        Layer name inside a GeoPackage.

    Notes
    -----
    GeoJSON follows RFC 7946: coordinates in EPSG:4326 (longitude, latitude), polygon
    exteriors counter-clockwise. GeoPackage keeps the analysis CRS (EPSG:2264). CSV
    has every attribute plus ``geometry_wkt`` in EPSG:4326 (and ``longitude`` /
    ``latitude`` for point layers).
    """
    path = Path(path)
    if fmt is None:
        ext = path.suffix.lower().lstrip(".")
        fmt = {"geojson": "geojson", "json": "geojson", "gpkg": "gpkg", "csv": "csv"}.get(ext)  # type: ignore[assignment]
        if fmt is None:
            raise DataFileError(f"{path}: cannot tell the format from the extension; use .geojson, .gpkg or .csv.")
    if not path.parent.exists():
        raise DataFileError(f"{path}: the folder {path.parent} does not exist.")
    if fmt == "geojson":
        path.write_bytes(to_geojson_bytes(gdf))
    elif fmt == "gpkg":
        if path.exists():
            path.unlink()
        gdf.to_file(path, driver="GPKG", layer=layer_name, engine="pyogrio")
    elif fmt == "csv":
        web = _for_web(gdf)
        table = pd.DataFrame(web.drop(columns=web.geometry.name))
        if (web.geom_type == "Point").all():
            table["longitude"] = web.geometry.x.round(6)
            table["latitude"] = web.geometry.y.round(6)
        table["geometry_wkt"] = shapely.to_wkt(web.geometry.values, rounding_precision=6)
        table.to_csv(path, index=False)
    else:
        raise ValueError(f"Unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    return path


def to_geojson_bytes(gdf: gpd.GeoDataFrame) -> bytes:
    """The layer as RFC 7946 GeoJSON text (for downloads)."""
    web = _for_web(gdf)
    text: str = web.to_json(na="null", show_bbox=False, drop_id=True, to_wgs84=False)
    return text.encode("utf-8")


def layer_bytes(gdf: gpd.GeoDataFrame, fmt: Format) -> bytes:
    """The layer written in ``fmt``, as bytes (for a download button)."""
    import tempfile

    if fmt == "geojson":
        return to_geojson_bytes(gdf)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"layer.{fmt}"
        write_layer(gdf, path, fmt=fmt)
        return path.read_bytes()
