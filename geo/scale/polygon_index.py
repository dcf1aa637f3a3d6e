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

Examples
--------
>>> from geo import layers
>>> from geo.scale.polygon_index import PolygonIndex, assign
>>> index = PolygonIndex.build(layers.npa(), id_column="npa")   # doctest: +SKIP
>>> positions = assign(points_xy, index)                      # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import CRSError, GeometryError, SchemaError

__all__ = ["PolygonIndex", "points_xy", "assign"]


#: Shewchuk's ccwerrboundA for binary64, doubled for margin: if |det| exceeds this
#: times (|a*b| + |c*d|), the computed sign of a*b - c*d is the true sign.
_ERRBOUND = 2.0 * (3.0 + 16.0 * 2.0**-53) * 2.0**-53


#: Points per chunk in :meth:`PolygonIndex.query` (keeps temporaries in cache).
_CHUNK = 1 << 17


#: Most sub-cells to label (4 bytes each).
_FINE_BUDGET = 8_000_000


#: Points near edges gathered before one exact test (amortises numpy call overhead).
BATCH = 1 << 16


def _sterbenz_ok(lo: float, hi: float) -> bool:
    """True when ``a - b`` is exact for every pair of doubles in ``[lo, hi]``."""
    return (lo > 0 and hi <= 2 * lo) or (hi < 0 and lo >= 2 * hi)


def _expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges ``[starts[i], starts[i] + counts[i])``: (owner i, value) of every element."""
    counts = counts.astype(np.int64, copy=False)
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(counts)), counts)
    if total == 0:
        return owner, np.zeros(0, dtype=np.int64)
    first = np.cumsum(counts) - counts
    values = np.arange(total, dtype=np.int64) - np.repeat(first - starts.astype(np.int64), counts)
    return owner, values


def _edges(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ring edge of every polygon: (owner position, (n, 4) array ax, ay, bx, by)."""
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    same = coord_ring[1:] == coord_ring[:-1]
    a = coords[:-1][same]
    b = coords[1:][same]
    owner = part_owner[ring_part[coord_ring[:-1][same]]]
    keep = ~((a[:, 0] == b[:, 0]) & (a[:, 1] == b[:, 1]))  # zero-length edges decide nothing
    return owner[keep], np.column_stack([a[keep], b[keep]])


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

    # ------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        polygons: gpd.GeoDataFrame,
        *,
        id_column: str,
        cell_size: float | None = None,
        subdivide: int = 4,
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
            Grid cell side in CRS units. By default about 2 million cells over the
            layer's extent (roughly 120 ft for Mecklenburg County).
        subdivide
            Split each boundary cell in ``subdivide`` x ``subdivide`` sub-cells (a power
            of two; 1 to disable), so that only points near an edge get the exact test.

        Raises
        ------
        SchemaError
            ``id_column`` missing, with missing values or duplicates.
        GeometryError
            A geometry is neither a Polygon nor a MultiPolygon, or all are empty.
        CRSError
            The layer has no CRS or a geographic one.
        """
        if not isinstance(polygons, gpd.GeoDataFrame):
            raise TypeError(f"polygons must be a GeoDataFrame, not {type(polygons).__name__}.")
        if id_column not in polygons.columns:
            raise SchemaError(f"Expected column {id_column!r} is missing from the polygon layer; columns: {', '.join(map(str, polygons.columns))}.")
        ids = polygons[id_column]
        if ids.isna().any():
            rows = np.flatnonzero(ids.isna().to_numpy())[:5] + 1
            raise SchemaError(f"Polygon column {id_column!r} has missing values (rows {', '.join(map(str, rows))}).")
        if ids.duplicated().any():
            dup = ids[ids.duplicated()].unique()[:5]
            raise SchemaError(f"Polygon column {id_column!r} has duplicate values ({', '.join(map(repr, dup))}); ids must be unique.")
        if polygons.crs is None:
            raise CRSError("The polygon layer has no CRS; set it (e.g. EPSG:2264) before indexing.")
        if not polygons.crs.is_projected:
            raise CRSError(f"The polygon layer is in a geographic CRS ({polygons.crs.to_string()}); project it (e.g. to EPSG:2264) first.")
        geoms = np.asarray(polygons.geometry.values, dtype=object)
        types = shapely.get_type_id(geoms)
        bad = ~np.isin(types, (-1, 3, 6))
        if bad.any():
            rows = np.flatnonzero(bad)[:5] + 1
            raise GeometryError(
                f"The polygon layer has non-polygon geometries ({', '.join(sorted(set(shapely.get_type_id(geoms[bad]).astype(str))))} "
                f"type ids) at rows {', '.join(map(str, rows))}; only Polygon and MultiPolygon can hold points."
            )
        ids_arr = ids.to_numpy()
        order = np.asarray(pd.Series(ids_arr).argsort(kind="stable"))
        rank = np.empty(len(ids_arr), dtype=np.int64)
        rank[order] = np.arange(len(ids_arr))
        owner, edges = _edges(geoms)
        if len(edges) == 0:
            raise GeometryError("The polygon layer has no non-empty polygons.")
        if subdivide not in (1, 2, 4, 8, 16):
            raise ValueError(f"subdivide must be 1, 2, 4, 8 or 16, not {subdivide!r}.")
        index = cls._from_edges(ids_arr, rank, geoms, polygons.crs, id_column, owner, edges, cell_size)
        if subdivide > 1:
            index._subdivide(subdivide, owner, edges)
        return index

    @classmethod
    def _from_edges(
        cls,
        ids: np.ndarray,
        rank: np.ndarray,
        geoms: np.ndarray,
        crs: Any,
        id_column: str,
        owner: np.ndarray,
        edges: np.ndarray,
        cell_size: float | None,
    ) -> PolygonIndex:
        npoly = len(ids)
        xmin = float(min(edges[:, 0].min(), edges[:, 2].min()))
        xmax = float(max(edges[:, 0].max(), edges[:, 2].max()))
        ymin = float(min(edges[:, 1].min(), edges[:, 3].min()))
        ymax = float(max(edges[:, 1].max(), edges[:, 3].max()))
        span = max(xmax - xmin, ymax - ymin, 1e-9)
        if cell_size is None:
            cell_size = math.sqrt(max((xmax - xmin) * (ymax - ymin), span * span * 1e-4) / 2e6)
        cs = float(cell_size)
        if not (cs > 0 and math.isfinite(cs)):
            raise ValueError(f"cell_size must be a positive number, not {cell_size!r}.")
        # Margin: cells within eps of an edge count as boundary cells, which absorbs the
        # rounding of cell arithmetic (orders of magnitude smaller than eps).
        eps = max(cs * 1e-6, 64 * np.spacing(max(abs(xmin), abs(xmax), abs(ymin), abs(ymax), 1.0)))
        x0 = xmin - 4 * eps
        y0 = ymin - 4 * eps
        nx = int(math.floor((xmax + 4 * eps - x0) / cs)) + 1
        ny = int(math.floor((ymax + 4 * eps - y0) / cs)) + 1
        if (nx + 2) * (ny + 2) > 200_000_000:
            raise ValueError(f"cell_size {cs} gives a {nx} x {ny} grid; choose a larger cell_size.")
        exact = _sterbenz_ok(x0, x0 + nx * cs) and _sterbenz_ok(y0, y0 + ny * cs)

        ax, ay, bx, by = edges.T
        # 1. Boundary cells: every cell within eps of an edge.
        bcell, bpoly = _mark_cells(owner, edges, x0, y0, cs, nx, ny, eps)
        is_boundary = np.zeros(nx * ny, dtype=bool)
        is_boundary[bcell] = True

        # 2. Scanline fill at cell centres: which polygons cover each cell's centre.
        cpair_cell, cpair_poly = _scanline_cover(owner, edges, x0, y0, cs, nx, ny)
        cover_count = np.bincount(cpair_cell, minlength=nx * ny)

        # 3. Cell labels. Cells covered by several polygons go through the exact test
        #    too, so that a point in an overlap is counted as "in several polygons".
        special = is_boundary | (cover_count > 1)
        labels = np.full(nx * ny, -1, dtype=np.int32)
        single = (cover_count == 1) & ~special
        sel = single[cpair_cell]
        labels[cpair_cell[sel]] = cpair_poly[sel]
        # Candidates of special cells: polygons with an edge in the cell, or covering its centre.
        sel = special[cpair_cell]
        cell_all = np.concatenate([bcell, cpair_cell[sel]])
        poly_all = np.concatenate([bpoly, cpair_poly[sel]])
        key = np.unique(cell_all * npoly + rank[poly_all])
        inv_rank = np.empty(npoly, dtype=np.int64)
        inv_rank[rank] = np.arange(npoly)
        c_cell = key // npoly
        c_poly = inv_rank[key % npoly]
        bcells_sorted, first = np.unique(c_cell, return_index=True)
        nb = len(bcells_sorted)
        labels[bcells_sorted] = -2 - np.arange(nb, dtype=np.int32)
        cand_ptr = np.append(first, len(c_cell)).astype(np.int64)

        # 4. Edges by (row, polygon): every edge whose y-range comes within eps of the row.
        r_lo = np.clip(np.floor((np.minimum(ay, by) - eps - y0) / cs), 0, ny - 1).astype(np.int64)
        r_hi = np.clip(np.floor((np.maximum(ay, by) + eps - y0) / cs), 0, ny - 1).astype(np.int64)
        e_idx, row = _expand(r_lo, r_hi - r_lo + 1)
        rp_key = row * npoly + owner[e_idx]
        order = np.argsort(rp_key, kind="stable")
        rp_key = rp_key[order]
        row_edges = np.ascontiguousarray(edges[e_idx[order]])
        uniq_key, key_start, key_count = np.unique(rp_key, return_index=True, return_counts=True)
        want = (c_cell // nx) * npoly + c_poly
        pos = np.searchsorted(uniq_key, want)
        pos_c = np.minimum(pos, len(uniq_key) - 1)
        found = uniq_key[pos_c] == want
        cand_estart = np.where(found, key_start[pos_c], 0).astype(np.int64)
        cand_ecount = np.where(found, key_count[pos_c], 0).astype(np.int64)

        padded = np.full((ny + 2, nx + 2), -1, dtype=np.int32)
        padded[1:-1, 1:-1] = labels.reshape(ny, nx)
        return cls(
            ids=ids,
            rank=rank,
            geometries=geoms,
            crs=crs,
            id_column=id_column,
            cell_size=cs,
            x0=x0,
            y0=y0,
            nx=nx,
            ny=ny,
            labels=padded.ravel(),
            cand_ptr=cand_ptr,
            cand_poly=c_poly.astype(np.int32),
            cand_estart=cand_estart,
            cand_ecount=cand_ecount,
            edges=row_edges,
            exact=exact,
        )

    def _subdivide(self, sub: int, owner: np.ndarray, edges: np.ndarray) -> None:
        """Label the sub-cells of every boundary cell (see the class notes).

        Sub-cells within ``eps`` of an edge keep ``-2`` (exact test); the others are
        labelled by an even-odd scanline fill at their centres, which lie at least
        half a sub-cell from every edge, so rounding cannot flip them.
        """
        nb = len(self.cand_ptr) - 1
        while sub > 1 and nb * sub * sub > _FINE_BUDGET:
            sub //= 2
        s2 = sub * sub
        if nb == 0 or sub == 1:
            return
        cs = self.cell_size
        fcs = cs / sub
        nxf, nyf = self.nx * sub, self.ny * sub
        eps = max(cs * 1e-6, 64 * np.spacing(max(abs(self.x0), abs(self.y0), abs(self.x0 + self.nx * cs), abs(self.y0 + self.ny * cs), 1.0)))
        width = self.nx + 2
        # Boundary cells b = 0..nb-1 in order of their (unpadded) cell id.
        padded = np.flatnonzero(self.labels <= -2)
        bcell = ((padded // width) - 1) * self.nx + (padded % width) - 1
        if not np.array_equal(-2 - self.labels[padded], np.arange(nb)):  # pragma: no cover - by construction
            raise RuntimeError("boundary cells out of order")

        def fine_index(fiy: np.ndarray, fix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            lab = self.labels[(fiy // sub + 1) * width + fix // sub + 1].astype(np.int64)
            return lab <= -2, (-2 - lab) * s2 + (fiy % sub) * sub + fix % sub

        fcell, _ = _mark_cells(None, edges, self.x0, self.y0, fcs, nxf, nyf, eps)
        ok, k = fine_index(fcell // nxf, fcell % nxf)
        flagged = np.zeros(nb * s2, dtype=bool)
        flagged[k[ok]] = True
        # Scanline at sub-cell centres, expanded only over sub-cells of boundary cells.
        poly, row, c_lo, c_hi = _scanline_intervals(owner, edges, self.x0, self.y0, fcs, nxf, nyf)
        r = row // sub
        lo = np.searchsorted(bcell, r * self.nx + c_lo // sub, side="left")
        hi = np.searchsorted(bcell, r * self.nx + c_hi // sub, side="right")
        iv, j = _expand(lo, np.maximum(hi - lo, 0))
        col0 = (bcell[j] % self.nx) * sub
        iv2, off = _expand(np.zeros(len(j), dtype=np.int64), np.full(len(j), sub, dtype=np.int64))
        fcol = col0[iv2] + off
        iv = iv[iv2]
        keep = (fcol >= c_lo[iv]) & (fcol <= c_hi[iv])
        ok, k = fine_index(row[iv[keep]], fcol[keep])
        k, p = k[ok], poly[iv[keep]][ok]
        cover = np.bincount(k, minlength=nb * s2)
        fine = np.full(nb * s2, -1, dtype=np.int32)
        fine[k] = p
        fine[(cover > 1) | flagged] = -2
        self.sub = sub
        self.fine = fine

    # ------------------------------------------------------------------ query
    def __len__(self) -> int:
        return len(self.ids)

    def __getstate__(self) -> dict:
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

    def query(self, x: np.ndarray, y: np.ndarray, *, return_shared: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
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
        shared = np.zeros(n, dtype=bool) if return_shared else None
        inv = 1.0 / self.cell_size
        cx = 1.0 - self.x0 * inv
        cy = 1.0 - self.y0 * inv
        width = self.nx + 2
        sub = self.sub
        m = min(n, _CHUNK)
        fx = np.empty(m)
        fy = np.empty(m)
        pending: list[tuple[np.ndarray, np.ndarray]] = []
        npending = 0
        for start in range(0, n, _CHUNK):
            stop = min(start + _CHUNK, n)
            k = stop - start
            bx, by = fx[:k], fy[:k]
            # Cell coordinates + 1, clamped to the padding ring (NaN -> 0: padding, outside).
            np.multiply(x[start:stop], inv, out=bx)
            bx += cx
            np.fmax(bx, 0.0, out=bx)
            np.fmin(bx, self.nx + 1, out=bx)
            np.multiply(y[start:stop], inv, out=by)
            by += cy
            np.fmax(by, 0.0, out=by)
            np.fmin(by, self.ny + 1, out=by)
            cell = by.astype(np.int32)
            cell *= width
            cell += bx.astype(np.int32)
            lab = self.labels[cell]
            hard = np.flatnonzero(lab <= -2)
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
            out[start:stop] = lab
            if npending >= BATCH or (stop == n and npending):
                idx = np.concatenate([p[0] for p in pending])
                pos, multi = self._exact(x[idx], y[idx], np.concatenate([p[1] for p in pending]))
                out[idx] = pos
                if shared is not None:
                    shared[idx] = multi
                pending, npending = [], 0
        return (out, shared) if return_shared else out

    def _exact(self, px: np.ndarray, py: np.ndarray, bcell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact assignment of points in boundary cells (see the module notes)."""
        npt = len(px)
        c0 = self.cand_ptr[bcell]
        pair_pt, j = _expand(c0, self.cand_ptr[bcell + 1] - c0)
        pair_poly = self.cand_poly[j]
        if self.exact:
            pair_edge, e = _expand(self.cand_estart[j], self.cand_ecount[j])
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
            self._prepare()
            u = np.flatnonzero(undecided)
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


def _mark_cells(
    owner: np.ndarray | None, edges: np.ndarray, x0: float, y0: float, cs: float, nx: int, ny: int, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Cells (``iy * nx + ix``) within ``eps`` of an edge, with the edge's polygon.

    Edges are cut in pieces no longer than ``cs / 2``; each piece's box, grown by
    ``eps``, covers at most 3 x 3 cells. Returns (cell, polygon) pairs, with repeats
    (polygon ``0`` for all when ``owner`` is None), computed in batches to bound memory.
    """
    ax, ay, bx, by = edges.T
    pieces = np.maximum(1, np.ceil(np.hypot(bx - ax, by - ay) / (0.5 * cs))).astype(np.int64)
    ends = np.cumsum(pieces)
    out: list[np.ndarray] = []
    npoly = int(owner.max()) + 1 if owner is not None and len(owner) else 1
    batch = 1 << 20
    e_start = 0
    while e_start < len(edges):
        base = ends[e_start - 1] if e_start else 0
        e_stop = max(int(np.searchsorted(ends, base + batch, side="right")), e_start + 1)
        sl = slice(e_start, e_stop)
        e_of_piece, k = _expand(np.zeros(e_stop - e_start, dtype=np.int64), pieces[sl])
        e = e_of_piece + e_start
        n_e = pieces[e]
        t0 = k / n_e
        t1 = (k + 1) / n_e
        dx = bx[e] - ax[e]
        dy = by[e] - ay[e]
        px0 = ax[e] + t0 * dx
        px1 = ax[e] + t1 * dx
        py0 = ay[e] + t0 * dy
        py1 = ay[e] + t1 * dy
        ix_lo = np.floor((np.minimum(px0, px1) - eps - x0) / cs).astype(np.int64)
        ix_hi = np.floor((np.maximum(px0, px1) + eps - x0) / cs).astype(np.int64)
        iy_lo = np.floor((np.minimum(py0, py1) - eps - y0) / cs).astype(np.int64)
        iy_hi = np.floor((np.maximum(py0, py1) + eps - y0) / cs).astype(np.int64)
        if int((ix_hi - ix_lo).max()) > 2 or int((iy_hi - iy_lo).max()) > 2:  # pragma: no cover - by construction
            raise RuntimeError("edge pieces span more than three cells")
        poly = owner[e] if owner is not None else np.zeros(len(e), dtype=np.int64)
        for di in range(3):
            for dj in range(3):
                ok = (ix_lo + di <= ix_hi) & (iy_lo + dj <= iy_hi)
                ix = ix_lo[ok] + di
                iy = iy_lo[ok] + dj
                inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
                out.append(((iy * nx + ix) * npoly + poly[ok])[inside])
        e_start = e_stop
    key = np.concatenate(out) if out else np.zeros(0, dtype=np.int64)
    return key // npoly, key % npoly


def _scanline_intervals(
    owner: np.ndarray, edges: np.ndarray, x0: float, y0: float, cs: float, nx: int, ny: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Even-odd scanline fill along each row's centre line.

    Returns ``(polygon, row, first column, last column)`` of every run of cells whose
    centres lie inside a polygon (runs may be empty: last < first). Answers for
    centres within rounding of an edge may be off; callers only trust cells away
    from every edge.
    """
    ax, ay, bx, by = edges.T
    lo = np.minimum(ay, by)
    hi = np.maximum(ay, by)
    r_lo = np.clip(np.floor((lo - y0) / cs - 0.5) - 1, 0, ny - 1).astype(np.int64)
    r_hi = np.clip(np.ceil((hi - y0) / cs - 0.5) + 1, 0, ny - 1).astype(np.int64)
    e, row = _expand(r_lo, r_hi - r_lo + 1)
    yc = y0 + (row + 0.5) * cs
    keep = (ay[e] <= yc) != (by[e] <= yc)  # half-open: each vertex counted once
    e, row, yc = e[keep], row[keep], yc[keep]
    xc = ax[e] + (yc - ay[e]) * (bx[e] - ax[e]) / (by[e] - ay[e])
    poly = owner[e]
    order = np.lexsort((xc, row, poly))
    poly, row, xc = poly[order], row[order], xc[order]
    # Consecutive crossings of one (polygon, row) pair up as [in, out] intervals.
    grp = poly * ny + row
    _, gstart, gcount = np.unique(grp, return_index=True, return_counts=True)
    if np.any(gcount % 2):  # pragma: no cover - a closed ring crosses a line an even number of times
        raise GeometryError("A polygon ring is not closed; cannot index it.")
    rank_in = np.arange(len(xc)) - np.repeat(gstart, gcount)
    a = np.flatnonzero(rank_in % 2 == 0)
    c_lo = np.clip(np.ceil((xc[a] - x0) / cs - 0.5), 0, nx).astype(np.int64)
    c_hi = np.clip(np.floor((xc[a + 1] - x0) / cs - 0.5), -1, nx - 1).astype(np.int64)
    return poly[a], row[a], c_lo, c_hi


def _scanline_cover(
    owner: np.ndarray, edges: np.ndarray, x0: float, y0: float, cs: float, nx: int, ny: int
) -> tuple[np.ndarray, np.ndarray]:
    """(cell, polygon) pairs: the polygons whose interior holds each cell centre."""
    poly, row, c_lo, c_hi = _scanline_intervals(owner, edges, x0, y0, cs, nx, ny)
    iv, col = _expand(c_lo, np.maximum(c_hi - c_lo + 1, 0))
    return row[iv] * nx + col, poly[iv]


def points_xy(points: gpd.GeoSeries | gpd.GeoDataFrame | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates of point geometries: ``x``, ``y`` and a mask of missing points.

    Missing (``None``) and empty points get NaN coordinates and ``True`` in the mask.

    Raises
    ------
    GeometryError
        If a geometry is not a point (the first rows are named).
    """
    if isinstance(points, gpd.GeoDataFrame):
        points = points.geometry
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
        names = {1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}
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
    if isinstance(points, gpd.GeoSeries | gpd.GeoDataFrame):
        check_crs(points.crs, index)
    x, y, _ = points_xy(points)
    return index.query(x, y)


def check_crs(crs: Any, index: PolygonIndex) -> None:
    if crs is None:
        raise CRSError(f"The points have no CRS; set it (the polygons are in {index.crs.to_string()}).")
    if crs != index.crs:
        raise CRSError(f"The points are in {crs.to_string()} but the polygons are in {index.crs.to_string()}; reproject the points first.")
