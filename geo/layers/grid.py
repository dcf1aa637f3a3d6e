"""Hexagon grids over a boundary: the cells that point records are counted in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from geo.errors import CRSError, EmptyInputError, GeometryError, ValueDomainError

__all__ = ["HexGrid", "boundary_geometry", "hexagon_grid", "hex_counts"]


_SQRT3 = np.sqrt(3.0)


@dataclass(frozen=True)
class HexGrid:
    """A pointy-top hexagon grid clipped to a boundary.

    Attributes
    ----------
    cells
        GeoDataFrame, one row per cell touching the boundary: ``cell_id``,
        axial ``q``, ``r``, centre ``x``, ``y``, ``edge`` (crosses the boundary)
        and the geometry clipped to the boundary.
    spacing
        Distance between the centres of adjacent cells (CRS units).
    origin
        Grid origin (x, y).
    boundary
        The boundary geometry (one polygon or multipolygon).
    """

    cells: gpd.GeoDataFrame
    spacing: float
    origin: tuple[float, float]
    boundary: Any

    @property
    def radius(self) -> float:
        """Centre-to-corner distance."""
        return float(self.spacing / _SQRT3)


def boundary_geometry(boundary: gpd.GeoDataFrame | gpd.GeoSeries | shapely.Geometry, crs: Any) -> shapely.Geometry:
    """One valid (multi)polygon from a boundary layer (dissolved, in ``crs``) or a geometry.

    Parameters
    ----------
    boundary
        A polygon layer (its non-empty geometries are united) or one geometry.
    crs
        CRS to reproject a layer to (``None``: keep the layer's).

    Raises
    ------
    CRSError
        The layer has no CRS.
    EmptyInputError
        The layer has no geometry.
    GeometryError
        The boundary is not a polygon or multipolygon.
    """
    if isinstance(boundary, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if boundary.crs is None:
            raise CRSError("the boundary layer has no CRS")
        geoms = boundary.to_crs(crs).geometry if crs is not None else boundary.geometry
        geoms = geoms[~(geoms.isna() | geoms.is_empty)]
        if len(geoms) == 0:
            raise EmptyInputError("the boundary layer has no geometry")
        geom = shapely.coverage_union_all(geoms.make_valid().buffer(0).values) if len(geoms) > 1 else geoms.iloc[0]
    else:
        geom = boundary
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise GeometryError("the boundary must be a polygon or multipolygon layer")
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    return geom


def _axial(x: np.ndarray, y: np.ndarray, radius: float, origin: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Axial (q, r) of the hexagon holding each point (cube rounding)."""
    q = np.empty(x.shape, dtype=np.int64)
    r = np.empty(x.shape, dtype=np.int64)
    step = 1 << 17  # chunks that stay in cache
    for a in range(0, x.size, step):
        px = (x[a : a + step] - origin[0]) / radius
        py = (y[a : a + step] - origin[1]) / radius
        rf = py * (2.0 / 3.0)
        qf = px * (_SQRT3 / 3.0)
        qf -= py / 3.0
        qi = np.rint(qf)
        ri = np.rint(rf)
        si = np.rint(-qf - rf)
        dq = np.abs(qi - qf)
        dr = np.abs(ri - rf)
        ds = np.abs(si + qf + rf)
        fix_q = (dq > dr) & (dq > ds)
        fix_r = ~fix_q & (dr > ds)
        qi[fix_q] = -ri[fix_q] - si[fix_q]
        ri[fix_r] = -qi[fix_r] - si[fix_r]
        q[a : a + step] = qi
        r[a : a + step] = ri
    return q, r


def _centres(q: np.ndarray, r: np.ndarray, radius: float, origin: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    x = origin[0] + radius * _SQRT3 * (q + r / 2.0)
    y = origin[1] + radius * 1.5 * r
    return x, y


def hexagon_grid(
    boundary: gpd.GeoDataFrame | gpd.GeoSeries | shapely.Geometry,
    *,
    cell_size: float,
    crs: Any = None,
) -> HexGrid:
    """Hexagon grid covering a boundary, cells clipped to it.

    Parameters
    ----------
    boundary
        Polygon layer (dissolved) or a single polygon geometry.
    cell_size
        Distance between centres of adjacent cells, in CRS units.
    crs
        CRS of the grid (default the boundary's); must be projected.
    """
    if not (np.isfinite(cell_size) and cell_size > 0):
        raise ValueDomainError(f"cell_size must be a positive distance; got {cell_size!r}")
    if crs is None and isinstance(boundary, (gpd.GeoDataFrame, gpd.GeoSeries)):
        crs = boundary.crs
    if crs is not None and gpd.GeoSeries([], crs=crs).crs.is_geographic:
        raise CRSError("hexagon grids need a projected CRS (distances in feet or metres), not degrees")
    geom = boundary_geometry(boundary, crs)
    minx, miny, maxx, maxy = geom.bounds
    radius = cell_size / _SQRT3
    origin = (minx, miny)
    n_cells = ((maxx - minx) / cell_size + 3) * ((maxy - miny) / (1.5 * radius) + 3)
    if n_cells > 5_000_000:
        raise ValueDomainError(
            f"cell_size {cell_size:g} would give about {n_cells:,.0f} cells over the boundary; choose a larger cell"
        )
    r_vals = np.arange(-1, int(np.ceil((maxy - miny) / (1.5 * radius))) + 2)
    q_lo = int(np.floor(-r_vals.max() / 2.0)) - 2
    q_hi = int(np.ceil((maxx - minx) / cell_size - r_vals.min() / 2.0)) + 2
    q_mesh, r_mesh = np.meshgrid(np.arange(q_lo, q_hi + 1), r_vals)
    qq, rr = q_mesh.ravel(), r_mesh.ravel()
    cx, cy = _centres(qq, rr, radius, origin)
    inside_bbox = (
        (cx >= minx - cell_size) & (cx <= maxx + cell_size) & (cy >= miny - cell_size) & (cy <= maxy + cell_size)
    )
    qq, rr, cx, cy = qq[inside_bbox], rr[inside_bbox], cx[inside_bbox], cy[inside_bbox]
    angles = np.deg2rad(30.0 + 60.0 * np.arange(7))
    ring = np.stack([cx[:, None] + radius * np.cos(angles), cy[:, None] + radius * np.sin(angles)], axis=-1)
    hexes = shapely.polygons(ring)
    shapely.prepare(geom)
    touch = shapely.intersects(geom, hexes)
    inner = shapely.contains_properly(geom, hexes)
    keep = touch
    hexes, inner = hexes[keep], inner[keep]
    clipped = hexes.copy()
    edge = ~inner
    if edge.any():
        clipped[edge] = shapely.intersection(hexes[edge], geom)
    cells = gpd.GeoDataFrame(
        {
            "cell_id": np.arange(int(keep.sum())),
            "q": qq[keep],
            "r": rr[keep],
            "x": cx[keep],
            "y": cy[keep],
            "edge": edge,
        },
        geometry=clipped,
        crs=crs,
    )
    # drop slivers that lost all area in the clip (touching at a point or a line)
    area = cells.geometry.area.to_numpy()
    cells = cells[area > 0].reset_index(drop=True)
    cells["cell_id"] = np.arange(len(cells))
    return HexGrid(cells=cells, spacing=float(cell_size), origin=origin, boundary=geom)


def hex_counts(x: np.ndarray, y: np.ndarray, grid: HexGrid) -> tuple[np.ndarray, int]:
    """Count points per cell of ``grid``.

    Points in no cell, or in a boundary cell but outside the boundary, are not
    counted.

    Returns
    -------
    counts, n_outside
        ``(n_cells,)`` int64 counts and the number of points not counted.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    cq = grid.cells["q"].to_numpy()
    cr = grid.cells["r"].to_numpy()
    q0, r0 = cq.min(), cr.min()
    nq, nr = cq.max() - q0 + 1, cr.max() - r0 + 1
    lookup = np.full(nr * nq + 1, -1, dtype=np.int64)  # last slot: "no cell"
    lookup[(cr - r0) * nq + (cq - q0)] = np.arange(cq.size)
    cell = np.empty(x.shape, dtype=np.int64)
    step = 1 << 17
    for a in range(0, x.size, step):
        xs, ys = x[a : a + step], y[a : a + step]
        finite = np.isfinite(xs) & np.isfinite(ys)
        if not finite.all():
            xs, ys = np.where(finite, xs, grid.origin[0]), np.where(finite, ys, grid.origin[1])
        q, r = _axial(xs, ys, grid.radius, grid.origin)
        q -= q0
        r -= r0
        ok = finite & (q >= 0) & (q < nq) & (r >= 0) & (r < nr)
        flat = r * nq + q
        flat[~ok] = nr * nq
        cell[a : a + step] = lookup[flat]
    edge_cells = grid.cells["edge"].to_numpy()
    on_edge = cell >= 0
    on_edge[on_edge] = edge_cells[cell[on_edge]]
    if on_edge.any():
        inside = shapely.contains_xy(grid.boundary, x[on_edge], y[on_edge]) | shapely.intersects_xy(
            grid.boundary, x[on_edge], y[on_edge]
        )
        idx = np.nonzero(on_edge)[0]
        cell[idx[~inside]] = -1
    counted = cell >= 0
    counts = np.bincount(cell[counted], minlength=cq.size).astype(np.int64)
    return counts, int((~counted).sum())
