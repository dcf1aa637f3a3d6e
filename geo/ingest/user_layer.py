"""A polygon layer of the user's own (``python -m geo hotspots --layer PATH --id-column COL``).

The file is checked as the built-in layers are: it must be readable, have a CRS, hold
polygons only (invalid ones are repaired, keeping the polygonal parts, and reported),
and have an id column without blanks or repeats. It is projected to the analysis CRS
(EPSG:2264, US feet) so that distance bands and areas are in feet.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np

from geo.errors import CRSError, DataFileError, EmptyInputError, SchemaError, first_rows, quote_values
from geo.ingest.files import check_file, check_parquet_size, read_layer, settings_or_default
from geo.ingest.geometry import repair_polygons
from geo.ingest.report import LoadReport
from geo.settings import Settings

__all__ = ["USER_LAYER_SUFFIXES", "load_user_layer", "report_lines"]


#: File types read (GeoParquet with geopandas' reader, the rest with pyogrio).
USER_LAYER_SUFFIXES: tuple[str, ...] = (".geojson", ".json", ".gpkg", ".shp", ".parquet", ".geoparquet")


def _read(path: Path, settings: Settings) -> gpd.GeoDataFrame:
    if path.suffix.lower() not in (".parquet", ".geoparquet"):
        return read_layer(path, "polygon", settings=settings)
    if check_file(path).st_size == 0:
        raise DataFileError(f"{path}: the file is empty (0 bytes); expected a GeoParquet polygon layer.")
    check_parquet_size(path, settings)
    try:
        gdf = gpd.read_parquet(path)
    except Exception as exc:  # pyarrow and geopandas raise several kinds
        raise DataFileError(f"{path}: cannot be read as a GeoParquet layer ({str(exc).splitlines()[0]}).") from None
    if len(gdf) == 0:
        raise EmptyInputError(f"{path}: the polygon layer has no features.")
    if gdf.crs is None:
        raise CRSError(f"{path}: the polygon layer has no CRS; write the file with one (e.g. EPSG:4326).")
    return gdf


def load_user_layer(
    path: str | Path, *, id_column: str, crs: str = "EPSG:2264", settings: Settings | None = None
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Read a user's polygon layer for a hot-spot analysis.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage (first layer), Shapefile or GeoParquet.
    id_column
        Column naming each area: no blanks, no repeats.
    crs
        Analysis CRS (projected) the layer is returned in.
    settings
        Settings (``max_decompressed_bytes``, ``max_rows``: the limits on the file's size
        and features); by default from the environment.

    Returns
    -------
    layer : geopandas.GeoDataFrame
        Every column of the file, geometry repaired where invalid, in ``crs``; the
        index is 0..n-1 (row ``i`` is the file's feature ``i + 1``).
    report : LoadReport

    Raises
    ------
    DataFileError, CRSError, EmptyInputError
        The file is not a regular file, cannot be read, passes the size or feature limits,
        has no CRS or no features.
    SchemaError
        ``id_column`` missing, blank or repeated (the rows are named).
    GeometryError
        A feature without geometry or not a polygon (the rows are named).
    """
    path = Path(path)
    if path.suffix.lower() not in USER_LAYER_SUFFIXES:
        raise DataFileError(f"{path}: read polygon layers as {', '.join(USER_LAYER_SUFFIXES)}")
    gdf = _read(path, settings_or_default(settings)).reset_index(drop=True)
    report = LoadReport("custom", str(path), rows_read=len(gdf))
    if id_column not in gdf.columns:
        cols = [str(c) for c in gdf.columns if c != gdf.geometry.name]
        raise SchemaError(f"{path}: no column {id_column!r} to name the areas; columns: {quote_values(cols)}")
    ids = gdf[id_column]
    blank = (ids.isna() | (ids.astype(str).str.strip() == "")).to_numpy()
    if blank.any():
        raise SchemaError(f"{path}: column {id_column}: blank id at {first_rows(np.flatnonzero(blank) + 1)}")
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        raise SchemaError(
            f"{path}: column {id_column}: repeated id(s) {quote_values(ids[dup].unique().tolist())} at "
            f"{first_rows(np.flatnonzero(dup) + 1)}; each area needs its own id"
        )
    gdf = repair_polygons(gdf, report, path, f"{id_column} " + ids.astype(str))
    if not gdf.crs.equals(crs):
        report.notes.append(f"projected from {gdf.crs.to_string()} to {crs}")
    return gdf.to_crs(crs), report


def report_lines(report: LoadReport) -> list[str]:
    """The report in a few lines for the command line."""
    lines = [f"{report.source}: {report.rows_read:,} areas read, {report.rows_kept:,} kept"]
    lines += [f"  {i.action} {i.count} ({i.column}): {i.reason}" for i in report.issues]
    lines += [f"  {n}" for n in report.notes]
    return lines
