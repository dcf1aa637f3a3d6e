"""Joins: points to polygons, and area-weighted overlays of polygons onto polygons.

All joins run in a projected CRS (EPSG:2264 by default); layers in different CRSs, or
in a geographic CRS, are refused with a message rather than silently reprojected.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import CRSError, SchemaError
from geo.ingest.report import LoadReport

__all__ = ["check_projected", "assign_points", "area_weighted_sum", "majority_overlap", "assign_to_units"]


def check_projected(*layers: tuple[str, gpd.GeoDataFrame]) -> None:
    """Raise :class:`CRSError` unless every layer has the same projected CRS."""
    crs = None
    for name, gdf in layers:
        if gdf.crs is None:
            raise CRSError(f"{name} has no CRS; set it before joining.")
        if not gdf.crs.is_projected:
            raise CRSError(
                f"{name} is in a geographic CRS ({gdf.crs.to_string()}); project it (e.g. to EPSG:2264) before joining."
            )
        if crs is None:
            crs = gdf.crs
        elif gdf.crs != crs:
            raise CRSError(
                f"{name} is in {gdf.crs.to_string()} but the other layer is in {crs.to_string()}; reproject one of them."
            )


def assign_points(
    points: gpd.GeoDataFrame,
    polygons: gpd.GeoDataFrame,
    *,
    id_column: str,
    out_column: str | None = None,
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Assign each point to the polygon that contains it, exactly once.

    A point on a boundary shared by several polygons (or in an overlap) goes to the
    polygon with the smallest ``id_column`` value, so the result is deterministic and
    every point is counted once. Points outside every polygon get a missing id and
    are reported.

    Parameters
    ----------
    points
        Point layer.
    polygons
        Polygon layer with a unique ``id_column``; same projected CRS as ``points``.
    id_column
        Polygon identifier to copy onto the points.
    out_column
        Name of the new column (default ``id_column``); refused if already present.

    Returns
    -------
    assigned : geopandas.GeoDataFrame
        A copy of ``points`` with ``out_column`` added.
    report : LoadReport
        Points outside every polygon, points on shared boundaries.
    """
    out_column = out_column or id_column
    if out_column in points.columns:
        raise SchemaError(f"Column {out_column!r} already present in the points; choose another out_column.")
    if id_column not in polygons.columns:
        raise SchemaError(f"Expected column {id_column!r} is missing from the polygon layer.")
    check_projected(("points", points), ("polygons", polygons))
    if polygons[id_column].duplicated().any():
        raise SchemaError(f"Polygon column {id_column!r} has duplicate values; ids must be unique.")
    report = LoadReport(f"assign to {id_column}", "", rows_read=len(points))
    pts = points.geometry.reset_index(drop=True)
    poly = polygons[[id_column, polygons.geometry.name]].reset_index(drop=True)
    left, right = poly.sindex.query(pts.values, predicate="intersects")
    ids = poly[id_column].to_numpy()
    pairs = pd.DataFrame({"pt": left, "poly": right, "id": ids[right]})
    multi = pairs["pt"].duplicated(keep=False).to_numpy()
    pairs = pairs.sort_values(["pt", "id"], kind="stable").drop_duplicates("pt", keep="first")
    idx = np.full(len(pts), -1)
    idx[pairs["pt"].to_numpy()] = pairs["poly"].to_numpy()
    values = (
        pd.Series(ids).take(np.where(idx < 0, 0, idx)).reset_index(drop=True)
        if len(ids)
        else pd.Series([None] * len(pts))
    )
    if np.issubdtype(np.asarray(ids).dtype, np.integer):
        values = values.astype("Int64")
    values = values.where(idx >= 0)
    rows = points["row"].to_numpy() if "row" in points.columns else np.arange(1, len(points) + 1)
    outside = values.isna().to_numpy() & ~pts.isna().to_numpy()
    report.add("flagged", "geometry", f"point outside every polygon ({id_column} missing)", rows[outside])
    shared = np.unique(left[multi])
    report.add("flagged", "geometry", f"point on a shared boundary; assigned to the smallest {id_column}", rows[shared])
    nogeom = pts.isna().to_numpy() | pts.is_empty.to_numpy()
    report.add("flagged", "geometry", "no geometry; not assigned", rows[nogeom])
    out = points.copy()
    out[out_column] = values.array
    return out, report


def area_weighted_sum(
    source: gpd.GeoDataFrame,
    target: gpd.GeoDataFrame,
    *,
    columns: Sequence[str],
    target_id: str,
) -> tuple[pd.DataFrame, pd.Series]:
    """Apportion extensive counts from source polygons to target polygons by area.

    Each source polygon's counts are split among the targets in proportion to the
    share of its area that falls in each (the areal-weighting assumption: people are
    spread evenly within a source polygon).

    Parameters
    ----------
    source
        Polygons carrying the counts (e.g. NPAs with population).
    target
        Polygons to sum into (e.g. divisions), with a unique ``target_id``.
    columns
        Extensive (count) columns of ``source``.
    target_id
        Identifier column of ``target``.

    Returns
    -------
    sums : pandas.DataFrame
        Indexed by ``target_id``, one column per entry of ``columns``; every target
        appears (with zeros when nothing falls in it). A missing count is not zero:
        a target that any source with a missing value overlaps gets a missing sum for
        that column.
    outside : pandas.Series
        Per column, the amount that falls outside every target (missing when a source
        with a missing value lies partly outside).
    """
    missing = [c for c in columns if c not in source.columns]
    if missing:
        raise SchemaError(f"Expected column(s) {', '.join(missing)} missing from the source layer.")
    check_projected(("source", source), ("target", target))
    src = source[list(columns) + [source.geometry.name]].reset_index(drop=True)
    src["_src"] = np.arange(len(src))
    src["_area"] = src.geometry.area
    tgt = target[[target_id, target.geometry.name]]
    pieces = gpd.overlay(src, tgt, how="intersection", keep_geom_type=True)
    weight = (pieces.geometry.area / pieces["_area"]).to_numpy()
    weighted = pieces[list(columns)].astype(float).mul(weight, axis=0)
    weighted[target_id] = pieces[target_id].to_numpy()
    values = weighted[list(columns)]
    unknown = values.isna().groupby(weighted[target_id]).any()
    sums = values.groupby(weighted[target_id]).sum(min_count=0).mask(unknown)
    sums = sums.reindex(target[target_id], fill_value=0.0)
    # what each source leaves outside every target: missing only for sources with a missing value
    # that are not wholly inside the targets
    share_out = 1.0 - pd.Series(weight).groupby(pieces["_src"].to_numpy()).sum().reindex(src["_src"]).fillna(0.0)
    share_out = share_out.where(share_out.abs() > 1e-9, 0.0).to_numpy()
    per_source = src[list(columns)].astype(float).mul(share_out, axis=0)
    per_source = per_source.mask(per_source.isna() & (share_out == 0.0)[:, None], 0.0)
    outside = per_source.sum(skipna=False)
    return sums, outside


def majority_overlap(
    source: gpd.GeoDataFrame, target: gpd.GeoDataFrame, *, target_id: str, outside: Hashable | None = None
) -> pd.Series:
    """For each source polygon, the target it overlaps most, or ``outside`` when it lies mostly outside them all.

    The area outside every target is a candidate like any target: a source polygon gets
    a target only when its overlap with that target is larger than its area outside all
    of them (a town NPA touching a division by a sliver lies outside). Ties go to the
    target. The outside area is the source's area minus its overlaps with the targets,
    so the targets should not overlap each other (a coverage, like CMPD's divisions).

    Parameters
    ----------
    source
        Polygons to label (e.g. NPAs).
    target
        Polygons to label them with, with ``target_id``; same projected CRS as ``source``.
    target_id
        Identifier column of ``target``.
    outside
        Label for source polygons mostly (or wholly) outside every target; ``None``
        leaves them missing.

    Returns
    -------
    pandas.Series
        Aligned to ``source``'s index, named ``target_id``.

    Examples
    --------
    A square one third inside a target lies outside; two thirds inside, it is in it:

    >>> import shapely
    >>> t = gpd.GeoDataFrame({"d": ["A"]}, geometry=[shapely.box(0, 0, 1, 3)], crs="EPSG:2264")
    >>> s = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 3, 3), shapely.box(-0.5, 0, 1, 3)], crs="EPSG:2264")
    >>> majority_overlap(s, t, target_id="d").tolist()
    [nan, 'A']
    """
    check_projected(("source", source), ("target", target))
    src = source[[source.geometry.name]].reset_index(drop=True)
    src["_src"] = np.arange(len(src))
    pieces = gpd.overlay(src, target[[target_id, target.geometry.name]], how="intersection", keep_geom_type=True)
    pieces["_a"] = pieces.geometry.area
    ordered = pieces.sort_values(["_src", "_a"], ascending=[True, False]).drop_duplicates("_src").set_index("_src")
    best_area = ordered["_a"].reindex(range(len(src))).fillna(0.0).to_numpy()
    inside = pieces.groupby("_src")["_a"].sum().reindex(range(len(src))).fillna(0.0).to_numpy()
    outside_area = np.clip(src.geometry.area.to_numpy() - inside, 0.0, None)
    best = ordered[target_id].reindex(range(len(src)))
    mostly_outside = outside_area > best_area
    values = best.astype(object).where(~mostly_outside, outside)
    if outside is None:
        values = values.where(~mostly_outside, np.nan)
    return pd.Series(values.to_numpy(), index=source.index, name=target_id)


def assign_to_units(
    points: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, *, id_column: str
) -> tuple[pd.Series, LoadReport]:
    """Assign each point to the polygon containing it (the one swappable spatial step).

    Uses :func:`geo.layers.join.assign_points` (a point on a shared boundary goes to the
    smallest id; points outside every polygon get a missing id and are reported).

    Returns
    -------
    unit : pandas.Series
        Aligned to ``points``; missing outside every polygon.
    report : LoadReport
    """
    pts = points[[points.geometry.name]].copy()
    if "row" in points.columns:
        pts["row"] = points["row"].to_numpy()
    assigned, report = assign_points(
        pts, polygons[[id_column, polygons.geometry.name]], id_column=id_column, out_column="_unit"
    )
    return pd.Series(assigned["_unit"].to_numpy(), index=points.index, name=id_column), report
