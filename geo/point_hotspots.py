r"""Hot spots of point events, in the spirit of ArcGIS *Optimized Hot Spot Analysis*.

1. **Aggregate.** Points are counted in a hexagon grid laid over a boundary
   (the county, or any polygon layer); every cell that touches the boundary is
   kept -- including cells with no point -- and clipped to it for display.
   Binning is plain vectorised arithmetic (axial hexagon coordinates), so
   millions of points take well under a second; only points in cells that cross
   the boundary are tested against the boundary polygon.
2. **Scale.** Incremental spatial autocorrelation (:func:`incremental_spatial_autocorrelation`):
   global Moran's I of the cell counts over increasing distance bands (binary,
   row-standardised), z-scores under randomisation. The analysis distance is the
   **first peak** of z: the first band whose z exceeds both neighbours' and is
   significant (z > 1.96). **Fallback** when there is no such peak (as ArcGIS
   describes it): the average distance from each cell to its ``K``-th nearest
   cell, ``K = round(0.05 * N)`` clipped to 3 .. 30.
3. **Gi\*** of the counts with that distance band, with the false discovery rate
   correction by default (:func:`geo.getisord.local_gstar`).

Distances are in the points' CRS units, so points must be in a projected CRS
(EPSG:2264, US feet, for Charlotte).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.spatial import cKDTree

from geo._errors import CRSError, EmptyInputError, GeometryError, ValueDomainError
from geo._stats import Correction, LocalResult, two_sided_normal_p
from geo.weights import weights_from_matrix

__all__ = [
    "HexGrid",
    "PointHotspotResult",
    "hexagon_grid",
    "hex_counts",
    "incremental_spatial_autocorrelation",
    "optimized_hotspots",
]

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
        return self.spacing / _SQRT3


def _boundary_geometry(boundary, crs) -> Any:
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
    geom = _boundary_geometry(boundary, crs)
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
    qq, rr = np.meshgrid(np.arange(q_lo, q_hi + 1), r_vals)
    qq, rr = qq.ravel(), rr.ravel()
    cx, cy = _centres(qq, rr, radius, origin)
    inside_bbox = (cx >= minx - cell_size) & (cx <= maxx + cell_size) & (cy >= miny - cell_size) & (cy <= maxy + cell_size)
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


def _band_pairs(xy: np.ndarray, max_distance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pairs = cKDTree(xy).query_pairs(max_distance, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    d = np.hypot(*(xy[i] - xy[j]).T)
    order = np.argsort(d, kind="stable")
    return i[order], j[order], d[order]


def _moran_pairs(z: np.ndarray, i: np.ndarray, j: np.ndarray) -> tuple[float, float]:
    """Moran's I and its z under randomisation for binary symmetric links (i, j), row-standardised."""
    n = z.size
    c = np.bincount(i, minlength=n) + np.bincount(j, minlength=n)
    if i.size == 0:
        return float("nan"), float("nan")
    inv = np.divide(1.0, c, out=np.zeros(n), where=c > 0)
    wij = inv[i] + inv[j]  # w_ij + w_ji of each undirected pair
    s0 = float((c > 0).sum())
    zz = float(z @ z)
    num = float((z[i] * z[j] * wij).sum())
    i_stat = n / s0 * num / zz
    s1 = float((wij**2).sum())
    col = np.bincount(i, weights=inv[j], minlength=n) + np.bincount(j, weights=inv[i], minlength=n)
    s2 = float((((c > 0).astype(float) + col) ** 2).sum())
    ei = -1.0 / (n - 1)
    k = (np.sum(z**4) / n) / (zz / n) ** 2
    v = (
        n * ((n * n - 3 * n + 3) * s1 - n * s2 + 3 * s0 * s0) - k * ((n * n - n) * s1 - 2 * n * s2 + 6 * s0 * s0)
    ) / ((n - 1) * (n - 2) * (n - 3) * s0 * s0) - ei * ei
    return i_stat, (i_stat - ei) / np.sqrt(v) if v > 0 else float("nan")


def incremental_spatial_autocorrelation(
    xy: np.ndarray,
    values: np.ndarray,
    *,
    distances: np.ndarray,
) -> pd.DataFrame:
    """Global Moran's I of ``values`` for each distance band.

    Parameters
    ----------
    xy
        ``(n, 2)`` coordinates.
    values
        ``(n,)`` values (e.g. counts per cell).
    distances
        Increasing distance bands (binary weights within each band, row-standardised).

    Returns
    -------
    pandas.DataFrame
        ``distance``, ``moran_i``, ``z`` (randomisation), ``p``, ``mean_neighbours``,
        ``islands``.
    """
    xy = np.asarray(xy, dtype=float)
    y = np.asarray(values, dtype=float)
    distances = np.asarray(distances, dtype=float)
    if y.size < 4:
        raise ValueDomainError(f"incremental spatial autocorrelation needs at least 4 units; got {y.size}")
    if np.any(np.diff(distances) <= 0) or distances[0] <= 0:
        raise ValueDomainError("distances must be positive and increasing")
    z = y - y.mean()
    if not np.any(z):
        raise ValueDomainError("all cells hold the same count; spatial autocorrelation is undefined")
    i_all, j_all, d_all = _band_pairs(xy, float(distances[-1]))
    rows = []
    for dist in distances:
        m = int(np.searchsorted(d_all, dist, side="right"))
        i, j = i_all[:m], j_all[:m]
        i_stat, z_stat = _moran_pairs(z, i, j)
        card = np.bincount(i, minlength=y.size) + np.bincount(j, minlength=y.size)
        rows.append(
            {
                "distance": float(dist),
                "moran_i": i_stat,
                "z": z_stat,
                "p": float(two_sided_normal_p(z_stat)) if np.isfinite(z_stat) else float("nan"),
                "mean_neighbours": float(card.mean()),
                "islands": int((card == 0).sum()),
            }
        )
    return pd.DataFrame(rows)


def _first_peak(z: np.ndarray) -> int | None:
    for k in range(1, z.size - 1):
        if np.isfinite(z[k]) and z[k] > 1.96 and z[k] > z[k - 1] and z[k] > z[k + 1]:
            return k
    return None


@dataclass(frozen=True)
class PointHotspotResult:
    """Optimized hot spots of points.

    Attributes
    ----------
    frame
        The hexagon cells (clipped) with ``count`` and the Gi* columns.
    grid
        The :class:`HexGrid`.
    distance
        Distance band used for Gi* (CRS units).
    distance_rule
        ``"first peak"``, ``"fallback: average distance to K nearest"`` or ``"given"``.
    isa
        Incremental spatial autocorrelation table (empty when ``distance`` was given).
    gi
        The :class:`geo._stats.LocalResult` of Gi*.
    n_points, n_outside
        Points read and points outside the boundary (not counted).
    """

    frame: gpd.GeoDataFrame
    grid: HexGrid
    distance: float
    distance_rule: str
    isa: pd.DataFrame
    gi: LocalResult
    n_points: int
    n_outside: int
    warnings: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [
            f"{self.n_points:,} points ({self.n_outside:,} outside the boundary) in {len(self.frame):,} hexagons "
            f"{self.grid.spacing:,.0f} units apart",
            f"distance band {self.distance:,.0f} ({self.distance_rule})",
        ]
        lines += [f"  {k}: {v}" for k, v in self.gi.counts.items() if v]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _point_coordinates(points, crs) -> tuple[np.ndarray, np.ndarray, Any]:
    if isinstance(points, (gpd.GeoDataFrame, gpd.GeoSeries)):
        crs = points.crs
        if crs is None:
            raise CRSError("the points have no CRS; set one (EPSG:2264 for Charlotte) first")
        geom = points.geometry
        kinds = set(geom.geom_type.dropna().unique())
        if kinds - {"Point"}:
            raise GeometryError(f"point hot spots need point geometries; found {', '.join(sorted(kinds))}")
        x, y = shapely.get_x(geom.values), shapely.get_y(geom.values)
    elif isinstance(points, tuple) and len(points) == 2:
        x, y = (np.asarray(a, dtype=float) for a in points)
        if x.shape != y.shape or x.ndim != 1:
            raise ValueDomainError("x and y coordinate arrays must be 1-D and of equal length")
        if crs is None:
            raise CRSError("give the CRS of the coordinate arrays (crs=...)")
    else:
        raise TypeError(f"points must be a GeoDataFrame, a GeoSeries or an (x, y) tuple, got {type(points).__name__}")
    crs_obj = gpd.GeoSeries([], crs=crs).crs
    if crs_obj.is_geographic:
        raise CRSError(
            f"the points are in a geographic CRS ({crs_obj.to_string()}); "
            "reproject them (e.g. to EPSG:2264) so that distances are in feet"
        )
    return x, y, crs_obj


def optimized_hotspots(
    points: gpd.GeoDataFrame | gpd.GeoSeries | tuple[np.ndarray, np.ndarray],
    *,
    boundary: gpd.GeoDataFrame | gpd.GeoSeries,
    crs: Any = None,
    cell_size: float | None = None,
    target_cells: int = 2500,
    distance: float | None = None,
    n_bands: int = 10,
    correction: Correction = "fdr",
    permutations: int = 0,
    seed: int | None = None,
    inference: Literal["normal", "permutation"] = "normal",
) -> PointHotspotResult:
    """Hot spots of point events on a hexagon grid (ArcGIS Optimized Hot Spot style).

    Parameters
    ----------
    points
        Point events in a projected CRS, or an ``(x, y)`` tuple of coordinate
        arrays (then give ``crs``) -- for millions of points, skip building
        geometries.
    boundary
        Polygons delimiting the study area (e.g. NPAs or divisions; dissolved).
    crs
        CRS of ``(x, y)`` arrays (ignored for GeoDataFrames).
    cell_size
        Distance between neighbouring hexagon centres; default: the size giving
        about ``target_cells`` cells over the boundary.
    target_cells
        See ``cell_size``.
    distance
        Gi* distance band; default chosen by incremental spatial autocorrelation.
    n_bands
        Distance bands tried (one cell spacing apart, starting at one spacing).
    correction
        Multiple-testing correction of the Gi* bins (default ``fdr``, as ArcGIS).
    permutations, seed, inference
        Optional permutation inference for Gi* (:func:`geo.getisord.local_gstar`).

    Returns
    -------
    PointHotspotResult
    """
    from geo.getisord import local_gstar

    x, y, crs = _point_coordinates(points, crs)
    n_points = int(x.size)
    if n_points == 0:
        raise EmptyInputError("no points to analyse")
    geom = _boundary_geometry(boundary, crs)
    if cell_size is None:
        if target_cells < 30:
            raise ValueDomainError(f"target_cells must be at least 30; got {target_cells}")
        cell_size = float(np.sqrt(geom.area / target_cells / (_SQRT3 / 2.0)))
    grid = hexagon_grid(geom, cell_size=float(cell_size), crs=crs)
    counts, n_outside = hex_counts(x, y, grid)
    cells = grid.cells
    warnings: list[str] = []
    if n_outside:
        warnings.append(f"{n_outside:,} of {n_points:,} points fall outside the boundary and were not counted")
    if counts.sum() == 0:
        raise EmptyInputError("no point falls inside the boundary")
    n = len(cells)
    if n < 30:
        warnings.append(f"only {n} cells: too few for local inference (ArcGIS asks for at least 30)")
    xy = cells[["x", "y"]].to_numpy()
    isa = pd.DataFrame(columns=["distance", "moran_i", "z", "p", "mean_neighbours", "islands"])
    if distance is None:
        bands = grid.spacing * (1.0 + np.arange(n_bands)) * (1 + 1e-9)
        isa = incremental_spatial_autocorrelation(xy, counts, distances=bands)
        k = _first_peak(isa["z"].to_numpy())
        if k is not None:
            distance, rule = float(isa["distance"].iloc[k]), "first peak"
        else:
            kk = int(np.clip(round(0.05 * n), 3, 30))
            kk = min(kk, n - 1)
            d, _ = cKDTree(xy).query(xy, k=kk + 1)
            distance = float(d[:, -1].mean()) * (1 + 1e-9)
            rule = f"fallback: average distance to the {kk} nearest cells (no significant peak in Moran's z)"
            warnings.append(f"no peak of clustering found over {n_bands} distance bands; {rule}")
    else:
        if not (np.isfinite(distance) and distance > 0):
            raise ValueDomainError(f"distance must be a positive number of CRS units; got {distance!r}")
        rule = "given"
    i, j, _ = _band_pairs(xy, float(distance))
    m = sparse.csr_array((np.ones(2 * i.size), (np.r_[i, j], np.r_[j, i])), shape=(n, n))
    w = weights_from_matrix(m, method="distance")
    layer = cells.assign(count=counts)
    gi = local_gstar(
        layer,
        "count",
        weights=w,
        permutations=permutations,
        seed=seed,
        inference=inference,
        correction=correction,
    )
    return PointHotspotResult(
        frame=gi.frame,
        grid=grid,
        distance=float(distance),
        distance_rule=rule,
        isa=isa,
        gi=gi,
        n_points=n_points,
        n_outside=n_outside,
        warnings=tuple(warnings + list(gi.warnings)),
    )

