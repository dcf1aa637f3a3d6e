"""The one polygon repair: polygonal parts of a geometry, and invalid boundaries repaired and reported."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import GeometryError, first_rows, quote_values
from geo.ingest.report import LoadReport

__all__ = ["polygonal", "repair_polygons"]


def polygonal(geom: shapely.Geometry | None) -> shapely.Geometry | None:
    """Keep only the polygonal parts of a geometry (``make_valid`` may return a collection)."""
    if geom is None or geom.is_empty:
        return geom
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    if geom.geom_type == "GeometryCollection":
        parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        if not parts:
            return shapely.Polygon()
        return shapely.union_all(parts) if len(parts) > 1 else parts[0]
    return shapely.Polygon()


def repair_polygons(gdf: gpd.GeoDataFrame, report: LoadReport, path: Path, label: pd.Series) -> gpd.GeoDataFrame:
    """Check that every feature is a polygon and repair the invalid ones, reporting each.

    Parameters
    ----------
    gdf
        The layer as read.
    report
        Where the repairs are recorded (one ``repaired`` issue naming each feature and
        GEOS's reason).
    path
        The file, named in messages.
    label
        A name per feature (e.g. ``"NPA 138"``), aligned to ``gdf``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``gdf`` itself when every polygon is valid, else a copy with the invalid ones
        replaced by the polygonal parts of ``make_valid``.

    Raises
    ------
    GeometryError
        A feature without geometry, or not a (multi)polygon, or that cannot be repaired
        (the rows are named).
    """
    rownum = np.arange(1, len(gdf) + 1)
    geom = gdf.geometry
    missing = (geom.isna() | geom.is_empty).to_numpy()
    if missing.any():
        raise GeometryError(
            f"{path}: column geometry: {missing.sum()} feature(s) have no geometry "
            f"({quote_values(label[missing].tolist())}) at {first_rows(rownum[missing])}."
        )
    types = geom.geom_type.to_numpy()
    bad_type = ~np.isin(types, ["Polygon", "MultiPolygon"])
    if bad_type.any():
        raise GeometryError(
            f"{path}: column geometry: {bad_type.sum()} feature(s) are not polygons "
            f"({quote_values(pd.unique(types[bad_type]).tolist())}) at {first_rows(rownum[bad_type])}; expected Polygon or MultiPolygon."
        )
    invalid = ~geom.is_valid.to_numpy()
    if invalid.any():
        reasons = [shapely.is_valid_reason(g) for g in geom[invalid]]
        fixed = [polygonal(shapely.make_valid(g)) for g in geom[invalid]]
        still_bad = [i for i, g in enumerate(fixed) if g is None or g.is_empty or not g.is_valid]
        if still_bad:
            rows = rownum[invalid][still_bad]
            raise GeometryError(f"{path}: column geometry: cannot repair feature(s) at {first_rows(rows)}.")
        gdf = gdf.copy()
        gdf.loc[invalid, gdf.geometry.name] = gpd.GeoSeries(fixed, index=gdf.index[invalid], crs=gdf.crs)
        names = ", ".join(f"{label.iloc[i]} ({r})" for i, r in zip(np.flatnonzero(invalid), reasons, strict=True))
        report.add(
            "repaired",
            "geometry",
            f"invalid polygon repaired with make_valid (polygonal parts kept): {names}",
            rownum[invalid],
        )
    return gdf
