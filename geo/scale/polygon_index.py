"""Exact point-in-polygon assignment at tens of millions of points a second.

:class:`PolygonIndex` lays a regular grid over the polygons. A cell that no polygon
boundary comes near lies wholly inside one polygon (or outside them all) and answers
a point by a table lookup. Only points in the few cells a boundary crosses get an
exact test: a vectorised ray-crossing count over the edges of the candidate polygons
in that cell's row, with the same predicates GEOS uses (so the same answer as
``geopandas.sjoin(predicate="intersects")``, which counts a point on a boundary as
inside). A point inside several polygons (on a shared boundary, or in an overlap)
goes to the polygon with the smallest id, the rule of :func:`geo.layers.join.assign_points`.

Exactness. Coordinate differences inside the grid are exact in floating point when
the grid's extent does not straddle a power of two by more than a factor of two on
each axis (Sterbenz's lemma; true for any State Plane or UTM layer). The orientation
sign is then computed with a forward error bound (Shewchuk's ``ccwerrboundA``); the
rare point so close to an edge that the sign is uncertain is handed to GEOS
(``shapely.intersects_xy``), which decides it exactly. Where the lemma does not hold,
every boundary-cell point goes to GEOS.

This module holds the index and its query kernel; the grid is built, step by step,
in the private :mod:`geo.scale._grid`.

Examples
--------
>>> from geo.layers import build
>>> from geo.scale.polygon_index import PolygonIndex, assign
>>> index = PolygonIndex.build(build.npa(), id_column="npa")  # doctest: +SKIP
>>> positions = assign(xy, index)  # doctest: +SKIP
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
import shapely

from geo.errors import CRSError, GeometryError, SchemaError
from geo.scale import _grid
from geo.scale._grid import expand

if TYPE_CHECKING:  # geopandas (and pandas) are imported only where a frame is handled: a cached index needs neither
    import geopandas as gpd

__all__ = ["PolygonIndex", "points_xy", "assign", "check_crs"]


#: Shewchuk's ccwerrboundA for binary64, doubled for margin: if |det| exceeds this
#: times (|a*b| + |c*d|), the computed sign of a*b - c*d is the true sign.
_ERRBOUND = 2.0 * (3.0 + 16.0 * 2.0**-53) * 2.0**-53


#: Points per chunk in :meth:`PolygonIndex.query` (keeps temporaries in cache).
_CHUNK = 1 << 17


#: Points near edges gathered before one exact test (amortises numpy call overhead).
BATCH = 1 << 16


#: Held around every use of the prepared geometries: threads may share an index
#: (:func:`geo.scale.distributed.aggregate_totals`), GEOS's prepared geometries may not.
_GEOS_LOCK = threading.Lock()


def _check_layer(polygons: gpd.GeoDataFrame, id_column: str) -> np.ndarray:
    """The layer's geometries, once its ids, CRS and geometry types are checked (see :meth:`PolygonIndex.build`)."""
    import geopandas as gpd

    if not isinstance(polygons, gpd.GeoDataFrame):
        raise TypeError(f"polygons must be a GeoDataFrame, not {type(polygons).__name__}.")
    if id_column not in polygons.columns:
        raise SchemaError(
            f"Expected column {id_column!r} is missing from the polygon layer; "
            f"columns: {', '.join(map(str, polygons.columns))}."
        )
    ids = polygons[id_column]
    if ids.isna().any():
        rows = np.flatnonzero(ids.isna().to_numpy())[:5] + 1
        raise SchemaError(f"Polygon column {id_column!r} has missing values (rows {', '.join(map(str, rows))}).")
    if ids.duplicated().any():
        dup = ids[ids.duplicated()].unique()[:5]
        raise SchemaError(
            f"Polygon column {id_column!r} has duplicate values ({', '.join(map(repr, dup))}); ids must be unique."
        )
    if polygons.crs is None:
        raise CRSError("The polygon layer has no CRS; set it (e.g. EPSG:2264) before indexing.")
    if not polygons.crs.is_projected:
        raise CRSError(
            f"The polygon layer is in a geographic CRS ({polygons.crs.to_string()}); project it (e.g. to EPSG:2264) first."
        )
    geoms = np.asarray(polygons.geometry.values, dtype=object)
    bad = ~np.isin(shapely.get_type_id(geoms), (-1, 3, 6))
    if bad.any():
        rows = np.flatnonzero(bad)[:5] + 1
        kinds = ", ".join(sorted(set(shapely.get_type_id(geoms[bad]).astype(str))))
        raise GeometryError(
            f"The polygon layer has non-polygon geometries ({kinds} type ids) at rows {', '.join(map(str, rows))}; "
            "only Polygon and MultiPolygon can hold points."
        )
    return geoms


@dataclass
class PolygonIndex:
    """A grid index over polygons for exact, fast point assignment.

    Build it with :meth:`PolygonIndex.build`; it is reusable across calls and
    picklable (Dask ships it to workers once).

    Attributes
    ----------
    ids
        The polygons' ids, by position.
    rank
        Position -> rank of its id (0 = smallest); ties go to the smallest rank.
    crs
        The polygons' CRS (points must be in it).
    cell_size
        Grid cell side, in CRS units.
    x0, y0, nx, ny
        Grid origin and size (the label table is padded by one cell on each side).
    labels
        Per padded cell: a polygon position (cell wholly inside it), ``-1`` (outside
        every polygon) or ``-2 - b`` (boundary cell ``b``: exact test).
    cand_ptr, cand_poly, cand_estart, cand_ecount
        Per boundary cell, its candidate polygons (by rank) and, for each, the range
        of edges of that polygon in the cell's row.
    edges
        ``(m, 4)`` edge coordinates ``ax, ay, bx, by`` grouped by (row, polygon).
    exact
        Whether coordinate differences in the grid are exact (else GEOS decides
        every boundary-cell point).
    sub, fine
        Each boundary cell is split in ``sub`` x ``sub`` sub-cells; ``fine[b * sub**2
        + k]`` labels sub-cell ``k`` of boundary cell ``b`` like ``labels`` does
        (``-2``: exact test), so only points near an edge get the exact test.
    """

    ids: np.ndarray
    rank: np.ndarray
    geometries: np.ndarray
    crs: Any
    id_column: str
    cell_size: float
    x0: float
    y0: float
    nx: int
    ny: int
    labels: np.ndarray
    cand_ptr: np.ndarray
    cand_poly: np.ndarray
    cand_estart: np.ndarray
    cand_ecount: np.ndarray
    edges: np.ndarray
    exact: bool
    sub: int = 1
    fine: np.ndarray | None = None
    _prepared: bool = field(default=False, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        polygons: gpd.GeoDataFrame,
        *,
        id_column: str,
        cell_size: float | None = None,
        subdivide: int = 4,
        cells: int = 2_000_000,
    ) -> PolygonIndex:
        """Index ``polygons`` for :meth:`query`.

        Parameters
        ----------
        polygons
            Polygon or MultiPolygon layer in a projected CRS, with a unique,
            non-missing ``id_column``. Missing or empty geometries never match.
        id_column
            The polygons' identifier; a point inside several polygons goes to the
            smallest.
        cell_size
            Grid cell side in CRS units. By default about ``cells`` cells over the
            layer's extent (2 million: roughly 120 ft for Mecklenburg County).
        subdivide
            Split each boundary cell in ``subdivide`` x ``subdivide`` sub-cells (a power
            of two; 1 to disable), so that only points near an edge get the exact test.
        cells
            The number of grid cells aimed at when ``cell_size`` is not given. Fewer,
            larger cells with more sub-cells (250,000 and 16) give a smaller table that
            stays in the processor's cache: a faster query (about 1.6 times for the NPAs),
            a slower build.

        Raises
        ------
        SchemaError
            ``id_column`` missing, with missing values or duplicates.
        GeometryError
            A geometry is neither a Polygon nor a MultiPolygon, or all are empty.
        CRSError
            The layer has no CRS or a geographic one.
        """
        import pandas as pd

        geoms = _check_layer(polygons, id_column)
        ids = polygons[id_column].to_numpy()
        order = np.asarray(pd.Series(ids).argsort(kind="stable"))
        rank = np.empty(len(ids), dtype=np.int64)
        rank[order] = np.arange(len(ids))
        owner, edges = _grid.ring_edges(geoms)
        if len(edges) == 0:
            raise GeometryError("The polygon layer has no non-empty polygons.")
        if subdivide not in (1, 2, 4, 8, 16):
            raise ValueError(f"subdivide must be 1, 2, 4, 8 or 16, not {subdivide!r}.")
        if not (isinstance(cells, int) and cells >= 1):
            raise ValueError(f"cells must be a positive whole number, not {cells!r}.")
        grid = _grid.layout(edges, cell_size, cells=cells)
        labelled = _grid.cell_labels(owner, edges, rank, grid)
        row_edges, cand_estart, cand_ecount = _grid.row_edges(owner, edges, len(ids), grid, labelled)
        labels = _grid.pad(labelled.labels, grid)
        sub, fine = _grid.fine_labels(subdivide, owner, edges, grid, labels) if subdivide > 1 else (1, None)
        return cls(
            ids=ids,
            rank=rank,
            geometries=geoms,
            crs=polygons.crs,
            id_column=id_column,
            cell_size=grid.cell_size,
            x0=grid.x0,
            y0=grid.y0,
            nx=grid.nx,
            ny=grid.ny,
            labels=labels,
            cand_ptr=labelled.cand_ptr,
            cand_poly=labelled.poly.astype(np.int32),
            cand_estart=cand_estart,
            cand_ecount=cand_ecount,
            edges=row_edges,
            exact=grid.exact,
            sub=sub,
            fine=fine,
        )

    def __len__(self) -> int:
        return len(self.ids)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_prepared"] = False
        return state

    @property
    def nbytes(self) -> int:
        """Memory held by the index arrays (geometries excluded)."""
        arrays = (self.labels, self.cand_ptr, self.cand_poly, self.cand_estart, self.cand_ecount, self.edges, self.rank)
        return int(sum(a.nbytes for a in arrays)) + (self.fine.nbytes if self.fine is not None else 0)

    @property
    def boundary_cell_share(self) -> float:
        """Share of the grid's area where points get the exact test."""
        nb = len(self.cand_ptr) - 1
        if self.fine is not None:
            return float((self.fine <= -2).sum()) / (self.sub * self.sub * self.nx * self.ny)
        return nb / (self.nx * self.ny)

    @overload
    def query(self, x: np.ndarray, y: np.ndarray, *, return_shared: Literal[False] = ...) -> np.ndarray: ...

    @overload
    def query(self, x: np.ndarray, y: np.ndarray, *, return_shared: Literal[True]) -> tuple[np.ndarray, np.ndarray]: ...

    @overload
    def query(
        self, x: np.ndarray, y: np.ndarray, *, return_shared: bool
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]: ...

    def query(
        self, x: np.ndarray, y: np.ndarray, *, return_shared: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Polygon position of each point (``-1`` outside every polygon or NaN).

        Parameters
        ----------
        x, y
            Coordinates in the index's CRS (float64; NaN for missing).
        return_shared
            Also return a boolean mask of points inside more than one polygon (on a
            shared boundary or in an overlap).
        """
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        if x.shape != y.shape or x.ndim != 1:
            raise ValueError(f"x and y must be 1-d arrays of the same length, got shapes {x.shape} and {y.shape}.")
        n = len(x)
        out = np.empty(n, dtype=np.int32)
        shared = np.zeros(n if return_shared else 0, dtype=bool)
        inv = 1.0 / self.cell_size
        cx = 1.0 - self.x0 * inv
        cy = 1.0 - self.y0 * inv
        width = self.nx + 2
        sub = self.sub
        m = min(n, _CHUNK)
        # Buffers reused by every chunk: no large temporaries (their page faults serialise threads).
        fx, fy = np.empty(m), np.empty(m)
        ci, cj = np.empty(m, dtype=np.intp), np.empty(m, dtype=np.intp)
        hm = np.empty(m, dtype=bool)
        pending: list[tuple[np.ndarray, np.ndarray]] = []
        npending = 0
        for start in range(0, n, _CHUNK):
            stop = min(start + _CHUNK, n)
            k = stop - start
            bx, by, cell, col = fx[:k], fy[:k], ci[:k], cj[:k]
            # Cell coordinates + 1, clamped to the padding ring (NaN -> 0: padding, outside).
            np.multiply(x[start:stop], inv, out=bx)
            bx += cx
            np.fmax(bx, 0.0, out=bx)
            np.fmin(bx, self.nx + 1, out=bx)
            np.multiply(y[start:stop], inv, out=by)
            by += cy
            np.fmax(by, 0.0, out=by)
            np.fmin(by, self.ny + 1, out=by)
            np.copyto(cell, by, casting="unsafe")  # truncation, as astype: the values are >= 0
            cell *= width
            np.copyto(col, bx, casting="unsafe")
            cell += col
            lab = out[start:stop]
            np.take(self.labels, cell, out=lab, mode="clip")  # every cell is in range: "clip" skips a buffer
            np.less_equal(lab, -2, out=hm[:k])
            hard = np.flatnonzero(hm[:k])
            if len(hard):
                b = -2 - lab[hard]
                if self.fine is not None:
                    hx = bx[hard]
                    hy = by[hard]
                    kx = np.minimum(((hx - np.floor(hx)) * sub).astype(np.int32), sub - 1)
                    ky = np.minimum(((hy - np.floor(hy)) * sub).astype(np.int32), sub - 1)
                    f = self.fine[b.astype(np.int64) * (sub * sub) + ky * sub + kx]
                    lab[hard] = f
                    still = f <= -2
                    hard, b = hard[still], b[still]
                if len(hard):
                    pending.append((hard + start, b))
                    npending += len(hard)
            if npending >= BATCH or (stop == n and npending):
                idx = np.concatenate([p[0] for p in pending])
                pos, multi = self._exact(x[idx], y[idx], np.concatenate([p[1] for p in pending]))
                out[idx] = pos
                if return_shared:
                    shared[idx] = multi
                pending, npending = [], 0
        return (out, shared) if return_shared else out

    def _exact(self, px: np.ndarray, py: np.ndarray, bcell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact assignment of points in boundary cells (see the module notes)."""
        npt = len(px)
        c0 = self.cand_ptr[bcell]
        pair_pt, j = expand(c0, self.cand_ptr[bcell + 1] - c0)
        pair_poly = self.cand_poly[j]
        if self.exact:
            pair_edge, e = expand(self.cand_estart[j], self.cand_ecount[j])
            ax, ay, bx, by = self.edges[e].T
            qx = px[pair_pt][pair_edge]
            qy = py[pair_pt][pair_edge]
            # GEOS RayCrossingCounter: vertex hit, horizontal edge hit, or a crossing.
            on = ((qx == bx) & (qy == by)) | ((qx == ax) & (qy == ay))
            on |= (ay == by) & (qy == ay) & (qx >= np.minimum(ax, bx)) & (qx <= np.maximum(ax, bx))
            straddle = (ay > qy) != (by > qy)
            s = np.flatnonzero(straddle)
            ax, ay, bx, by, qx, qy = ax[s], ay[s], bx[s], by[s], qx[s], qy[s]
            left = (bx - ax) * (qy - ay)
            right = (by - ay) * (qx - ax)
            det = left - right
            bound = _ERRBOUND * (np.abs(left) + np.abs(right))
            positive = det > bound
            negative = det < -bound
            zero = bound == 0.0  # both products exactly zero: the point is on the edge's line
            unsure = ~(positive | negative | zero)
            up = by > ay
            cross = np.where(up, positive, negative)
            on[s[zero]] = True
            owner = pair_edge[s]
            ncross = np.bincount(owner[cross], minlength=len(pair_pt))
            on_pair = np.bincount(pair_edge[on], minlength=len(pair_pt)) > 0
            inside = on_pair | (ncross % 2 == 1)
            undecided = (np.bincount(owner[unsure], minlength=len(pair_pt)) > 0) & ~on_pair
        else:
            inside = np.zeros(len(pair_pt), dtype=bool)
            undecided = np.ones(len(pair_pt), dtype=bool)
        if undecided.any():
            u = np.flatnonzero(undecided)
            with _GEOS_LOCK:  # rare; and GEOS's prepared geometries are not thread-safe (libgeos/geos#825)
                self._prepare()
                inside[u] = shapely.intersects_xy(self.geometries[pair_poly[u]], px[pair_pt[u]], py[pair_pt[u]])
        hit = np.flatnonzero(inside)
        hit_pt = pair_pt[hit]
        first = np.ones(len(hit), dtype=bool)
        first[1:] = hit_pt[1:] != hit_pt[:-1]  # candidates are in rank order within a point
        pos = np.full(npt, -1, dtype=np.int32)
        pos[hit_pt[first]] = pair_poly[hit[first]]
        multi = np.bincount(hit_pt, minlength=npt) > 1
        return pos, multi

    def _prepare(self) -> None:
        if not self._prepared:
            shapely.prepare(self.geometries)
            self._prepared = True


def points_xy(points: gpd.GeoSeries | gpd.GeoDataFrame | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates of point geometries: ``x``, ``y`` and a mask of missing points.

    Missing (``None``) and empty points get NaN coordinates and ``True`` in the mask.

    Raises
    ------
    GeometryError
        If a geometry is not a point (the first rows are named).
    """
    if _is_frame(points):
        points = points.geometry  # type: ignore[union-attr]  # a GeoDataFrame
    if isinstance(points, np.ndarray) and points.dtype != object:
        arr = np.asarray(points, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError(f"Coordinate arrays must have shape (n, 2), not {arr.shape}.")
        x, y = arr[:, 0].copy(), arr[:, 1].copy()
        return x, y, np.isnan(x) | np.isnan(y)
    geoms = np.asarray(points, dtype=object)
    types = shapely.get_type_id(geoms)
    bad = (types != 0) & (types != -1)
    if bad.any():
        rows = np.flatnonzero(bad)[:5] + 1
        kinds = sorted({shapely.get_type_id(g).item() for g in geoms[np.flatnonzero(bad)[:50]]})
        names = {
            1: "LineString",
            2: "LinearRing",
            3: "Polygon",
            4: "MultiPoint",
            5: "MultiLineString",
            6: "MultiPolygon",
            7: "GeometryCollection",
        }
        raise GeometryError(
            f"{int(bad.sum()):,} geometries are not points ({', '.join(names.get(k, str(k)) for k in kinds)}; "
            f"rows {', '.join(map(str, rows))}); only Point geometries can be assigned."
        )
    valid = types == 0
    valid[valid] = ~shapely.is_empty(geoms[valid])
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    if valid.all():
        xy = shapely.get_coordinates(geoms)
        x, y = xy[:, 0].copy(), xy[:, 1].copy()
    elif valid.any():
        xy = shapely.get_coordinates(geoms[valid])
        x[valid], y[valid] = xy[:, 0], xy[:, 1]
    return x, y, ~valid | np.isnan(x) | np.isnan(y)


def assign(points: np.ndarray | gpd.GeoSeries | gpd.GeoDataFrame, index: PolygonIndex) -> np.ndarray:
    """Polygon position of every point (``-1``: outside every polygon, or missing).

    Parameters
    ----------
    points
        An ``(n, 2)`` float array of x, y in the index's CRS, or point geometries
        (a GeoSeries or GeoDataFrame, whose CRS must match the index's).
    index
        From :meth:`PolygonIndex.build`.

    Returns
    -------
    numpy.ndarray
        ``int32`` positions into the polygon layer the index was built from; map
        them to ids with ``index.ids[pos]`` where ``pos >= 0``.
    """
    if _is_frame(points) or _is_frame(points, series=True):
        check_crs(points.crs, index)  # type: ignore[union-attr]  # a GeoSeries or GeoDataFrame
    x, y, _ = points_xy(points)
    return index.query(x, y)


def _is_frame(obj: object, *, series: bool = False) -> bool:
    """Whether ``obj`` is a GeoDataFrame (a GeoSeries with ``series``), without importing geopandas for arrays."""
    if "geopandas" not in sys.modules:  # no GeoDataFrame can exist yet
        return False
    import geopandas as gpd

    return isinstance(obj, gpd.GeoSeries if series else gpd.GeoDataFrame)


def check_crs(crs: Any, index: PolygonIndex) -> None:
    """Raise :class:`CRSError` unless points in ``crs`` can be assigned with ``index`` (same CRS)."""
    if crs is None:
        raise CRSError(f"The points have no CRS; set it (the polygons are in {index.crs.to_string()}).")
    if crs != index.crs:
        raise CRSError(
            f"The points are in {crs.to_string()} but the polygons are in {index.crs.to_string()}; reproject the points first."
        )
