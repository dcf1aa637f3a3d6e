"""The report's small map, as page coordinates: shared by the HTML (SVG) and the PDF (reportlab) drawings.

Geometries come in the analysis CRS (EPSG:2264, US feet); :func:`project` fits the
frame into a box of the page, clips every shape to it and simplifies it to about a
third of a point (the map is a locator, not an analysis), so both drawings are small.
Coordinates come out with ``y`` pointing down (SVG's convention); the PDF flips them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

__all__ = ["Projected", "project", "svg_path", "road_lines", "frame_around"]


#: Simplification tolerance, in points of the page.
_TOLERANCE_PT = 0.35


@dataclass(frozen=True)
class Projected:
    """Shapes in page coordinates (points, ``y`` down), ready to draw.

    Attributes
    ----------
    width, height
        The box drawn in.
    area
        Rings of the chosen area (exterior and holes; fill with the even-odd rule).
    context
        Rings of each context polygon, one list per polygon.
    roads
        Road lines, as ``(n, 2)`` arrays.
    label
        Where the area's label goes (a point inside it), or None.
    """

    width: float
    height: float
    area: list[np.ndarray] = field(default_factory=list)
    context: list[list[np.ndarray]] = field(default_factory=list)
    roads: list[np.ndarray] = field(default_factory=list)
    label: tuple[float, float] | None = None


def _fit(frame: Sequence[float], width: float, height: float, margin: float) -> tuple[float, float, float]:
    """Scale and offsets that fit ``frame`` (minx, miny, maxx, maxy) in the box, aspect kept."""
    minx, miny, maxx, maxy = (float(v) for v in frame)
    w, h = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
    scale = min((width - 2 * margin) / w, (height - 2 * margin) / h)
    offx = (width - w * scale) / 2 - minx * scale
    offy = (height - h * scale) / 2 + maxy * scale
    return scale, offx, offy


def _xy(coords: np.ndarray, scale: float, offx: float, offy: float) -> np.ndarray:
    out = np.empty((len(coords), 2))
    out[:, 0] = coords[:, 0] * scale + offx
    out[:, 1] = offy - coords[:, 1] * scale
    return np.round(out, 1)


def _polygon_rings(geom: shapely.Geometry) -> list[np.ndarray]:
    """Exterior and interior rings of every polygon part of ``geom`` (lines and points dropped)."""
    rings = []
    for part in shapely.get_parts(geom):
        if isinstance(part, shapely.Polygon) and not part.is_empty:
            rings.append(shapely.get_coordinates(part.exterior))
            rings.extend(shapely.get_coordinates(r) for r in part.interiors)
        elif isinstance(part, shapely.MultiPolygon | shapely.GeometryCollection):
            rings.extend(_polygon_rings(part))
    return [r for r in rings if len(r) >= 4]


def _line_parts(geom: shapely.Geometry) -> list[np.ndarray]:
    parts = []
    for part in shapely.get_parts(geom):
        if isinstance(part, shapely.LineString) and not part.is_empty:
            parts.append(shapely.get_coordinates(part))
        elif isinstance(part, shapely.MultiLineString | shapely.GeometryCollection):
            parts.extend(_line_parts(part))
    return [p for p in parts if len(p) >= 2]


def _prepare(geoms: Iterable[shapely.Geometry], box: Sequence[float], tolerance: float) -> list[shapely.Geometry]:
    """Clip to the box and simplify; empty results dropped."""
    arr = np.asarray([g for g in geoms if g is not None and not g.is_empty], dtype=object)
    if arr.size == 0:
        return []
    clipped = shapely.clip_by_rect(arr, *box)
    simple = shapely.simplify(clipped, tolerance, preserve_topology=True)
    return [g for g in simple if not g.is_empty]


def project(
    *,
    area: shapely.Geometry,
    context: Sequence[shapely.Geometry],
    roads: Sequence[shapely.Geometry],
    frame: Sequence[float],
    width: float,
    height: float,
    margin: float = 4.0,
) -> Projected:
    """Fit the shapes of a report map into a ``width`` by ``height`` box (points).

    Parameters
    ----------
    area
        The chosen area.
    context
        Polygons drawn as outlines around it (neighbours, other divisions).
    roads
        Lines drawn thin under the outlines.
    frame
        The extent shown, ``(minx, miny, maxx, maxy)`` in the shapes' CRS.
    width, height, margin
        The box, and the blank border inside it.
    """
    scale, offx, offy = _fit(frame, width, height, margin)
    tol = _TOLERANCE_PT / scale
    # the whole box in map units: shapes are cut at its edges (drawings do not clip)
    box = (-offx / scale, (offy - height) / scale, (width - offx) / scale, offy / scale)

    def rings(g: shapely.Geometry) -> list[np.ndarray]:
        return [_xy(r, scale, offx, offy) for r in _polygon_rings(g)]

    area_geoms = _prepare([area], box, tol)
    label = None
    if area_geoms:
        pt = shapely.get_coordinates(shapely.point_on_surface(area_geoms[0]))
        label = (float(pt[0, 0] * scale + offx), float(offy - pt[0, 1] * scale))
    return Projected(
        width=width,
        height=height,
        area=[r for g in area_geoms for r in rings(g)],
        context=[rs for g in _prepare(context, box, tol) if (rs := rings(g))],
        roads=[_xy(p, scale, offx, offy) for g in _prepare(roads, box, tol) for p in _line_parts(g)],
        label=label,
    )


def svg_path(rings: Iterable[np.ndarray], *, closed: bool) -> str:
    """An SVG path ``d`` attribute for rings (``closed``) or lines."""
    out = []
    for r in rings:
        pts = " ".join(f"{x:g} {y:g}" for x, y in r)
        out.append(f"M{pts}{'Z' if closed else ''}")
    return "".join(out)


def road_lines(
    roads: gpd.GeoDataFrame | gpd.GeoSeries | None, frame: Sequence[float], crs: str
) -> tuple[shapely.Geometry, ...]:
    """The road lines (any CRS, reprojected to ``crs``) that cross ``frame``; none without roads."""
    if roads is None or len(roads) == 0:
        return ()
    geoms = roads.geometry if isinstance(roads, gpd.GeoDataFrame) else roads
    if geoms.crs is not None and not geoms.crs.equals(crs):
        geoms = geoms.to_crs(crs)
    hit = geoms.sindex.query(shapely.box(*frame), predicate="intersects")
    return tuple(g for g in geoms.iloc[np.sort(hit)] if g is not None and not g.is_empty)


def frame_around(geom: shapely.Geometry, *, grow: float, pad: float) -> tuple[float, float, float, float]:
    """A 4:3 frame centred on ``geom``: its larger side grown by ``grow`` (a share), plus ``pad`` each side."""
    minx, miny, maxx, maxy = geom.bounds
    half = max(maxx - minx, (maxy - miny) * 4 / 3) * (1 + grow) / 2 + pad
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    return (cx - half, cy - half * 0.75, cx + half, cy + half * 0.75)
