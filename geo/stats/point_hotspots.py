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
   correction by default (:func:`geo.stats.getisord.local_gstar`).

Distances are in the points' CRS units, so points must be in a projected CRS
(EPSG:2264, US feet, for Charlotte).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.spatial import cKDTree

from geo.errors import CRSError, EmptyInputError, GeometryError, GeoWarning, ValueDomainError
from geo.layers.grid import HexGrid, boundary_geometry, hex_counts, hexagon_grid
from geo.stats.significance import MIN_UNITS_LOCAL, Correction, LocalResult, two_sided_normal_p
from geo.stats.warning_codes import NO_PEAK, POINTS_OUTSIDE, SMALL_SAMPLE
from geo.stats.weights import SpatialWeights, weights_from_matrix

if TYPE_CHECKING:
    import pyproj

__all__ = ["incremental_spatial_autocorrelation", "PointHotspotResult", "optimized_hotspots"]


#: Point events: a GeoDataFrame or GeoSeries of points, or ``(x, y)`` coordinate arrays.
PointsLike: TypeAlias = "gpd.GeoDataFrame | gpd.GeoSeries | tuple[np.ndarray, np.ndarray]"


#: Anything pyproj reads as a CRS (``"EPSG:2264"``, an EPSG code, a ``pyproj.CRS``).
CRSLike: TypeAlias = "str | int | pyproj.CRS | None"


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
    v = (n * ((n * n - 3 * n + 3) * s1 - n * s2 + 3 * s0 * s0) - k * ((n * n - n) * s1 - 2 * n * s2 + 6 * s0 * s0)) / (
        (n - 1) * (n - 2) * (n - 3) * s0 * s0
    ) - ei * ei
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
        The :class:`geo.stats.significance.LocalResult` of Gi*.
    n_points, n_outside
        Points read and points outside the boundary (not counted).
    warnings
        Warnings as data: ``points_outside``, ``small_sample`` (fewer than 30 cells),
        ``no_peak`` (the fallback distance was used), then Gi*'s
        (:mod:`geo.stats.warning_codes`).
    extra
        Free for callers; empty.
    """

    frame: gpd.GeoDataFrame
    grid: HexGrid
    distance: float
    distance_rule: str
    isa: pd.DataFrame
    gi: LocalResult
    n_points: int
    n_outside: int
    warnings: tuple[GeoWarning, ...] = ()
    extra: dict[str, object] = field(default_factory=dict)

    def summary(self) -> str:
        """A few lines for the command line: points, hexagons, distance band, counts, warnings."""
        lines = [
            f"{self.n_points:,} points ({self.n_outside:,} outside the boundary) in {len(self.frame):,} hexagons "
            f"{self.grid.spacing:,.0f} units apart",
            f"distance band {self.distance:,.0f} ({self.distance_rule})",
        ]
        lines += [f"  {k}: {v}" for k, v in self.gi.counts.items() if v]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _point_coordinates(points: PointsLike, crs: CRSLike) -> tuple[np.ndarray, np.ndarray, pyproj.CRS]:
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
    points: PointsLike,
    *,
    boundary: gpd.GeoDataFrame | gpd.GeoSeries,
    crs: CRSLike = None,
    cell_size: float | None = None,
    target_cells: int = 2500,
    distance: float | None = None,
    n_bands: int = 10,
    correction: Correction = "fdr",
    permutations: int = 0,
    seed: int | None = None,
    inference: Literal["normal", "permutation"] = "normal",
    alpha: float | None = None,
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
        Optional permutation inference for Gi* (:func:`geo.stats.getisord.local_gstar`).
    alpha
        Confidence levels binned (``None``: 90, 95 and 99 %; ``0.05``: 95 and 99 %;
        see :func:`geo.stats.getisord.local_gstar`).

    Returns
    -------
    PointHotspotResult
    """
    from geo.stats.getisord import local_gstar

    x, y, crs_obj = _point_coordinates(points, crs)
    n_points = int(x.size)
    if n_points == 0:
        raise EmptyInputError("no points to analyse")
    geom = boundary_geometry(boundary, crs_obj)
    if cell_size is None:
        if target_cells < 30:
            raise ValueDomainError(f"target_cells must be at least 30; got {target_cells}")
        cell_size = float(np.sqrt(geom.area / target_cells / (np.sqrt(3.0) / 2.0)))
    grid = hexagon_grid(geom, cell_size=float(cell_size), crs=crs_obj)
    counts, n_outside = hex_counts(x, y, grid)
    cells = grid.cells
    warnings: list[GeoWarning] = []
    if n_outside:
        text = f"{n_outside:,} of {n_points:,} points fall outside the boundary and were not counted"
        warnings.append(GeoWarning(POINTS_OUTSIDE, text))
    if counts.sum() == 0:
        raise EmptyInputError("no point falls inside the boundary")
    n = len(cells)
    if n < MIN_UNITS_LOCAL:
        text = f"only {n} cells: too few for local inference (ArcGIS asks for at least {MIN_UNITS_LOCAL})"
        warnings.append(GeoWarning(SMALL_SAMPLE, text))
    xy = cells[["x", "y"]].to_numpy()
    if distance is None:
        distance, rule, isa = _scan_distance(xy, counts, spacing=grid.spacing, n_bands=n_bands)
        if rule != "first peak":
            warnings.append(GeoWarning(NO_PEAK, f"no peak of clustering found over {n_bands} distance bands; {rule}"))
    else:
        if not (np.isfinite(distance) and distance > 0):
            raise ValueDomainError(f"distance must be a positive number of CRS units; got {distance!r}")
        rule = "given"
        isa = pd.DataFrame(columns=["distance", "moran_i", "z", "p", "mean_neighbours", "islands"])
    gi = local_gstar(
        cells.assign(count=counts),
        "count",
        weights=_band_weights(xy, float(distance)),
        permutations=permutations,
        seed=seed,
        inference=inference,
        correction=correction,
        alpha=alpha,
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
        warnings=(*warnings, *gi.warnings),
    )


def _scan_distance(
    xy: np.ndarray, counts: np.ndarray, *, spacing: float, n_bands: int
) -> tuple[float, str, pd.DataFrame]:
    """The Gi* distance band: the first peak of Moran's z over ``n_bands`` bands, or the fallback.

    Returns the distance, the rule that chose it and the incremental spatial
    autocorrelation table.
    """
    bands = spacing * (1.0 + np.arange(n_bands)) * (1 + 1e-9)
    isa = incremental_spatial_autocorrelation(xy, counts, distances=bands)
    k = _first_peak(isa["z"].to_numpy())
    if k is not None:
        return float(isa["distance"].iloc[k]), "first peak", isa
    n = len(xy)
    kk = int(np.clip(round(0.05 * n), 3, 30))
    kk = min(kk, n - 1)
    d, _ = cKDTree(xy).query(xy, k=kk + 1)
    distance = float(d[:, -1].mean()) * (1 + 1e-9)
    return distance, f"fallback: average distance to the {kk} nearest cells (no significant peak in Moran's z)", isa


def _band_weights(xy: np.ndarray, distance: float) -> SpatialWeights:
    """Binary distance-band weights between the cell centres."""
    i, j, _ = _band_pairs(xy, distance)
    n = len(xy)
    m = sparse.csr_array((np.ones(2 * i.size), (np.r_[i, j], np.r_[j, i])), shape=(n, n))
    return weights_from_matrix(m, method="distance")
