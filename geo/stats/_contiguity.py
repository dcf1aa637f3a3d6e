"""Contiguity by hashing shared vertices and edges in numpy: libpysal's rule, without a spatial index.

Two polygons are queen neighbours when they share a vertex (bit-identical coordinates) and
rook neighbours when they share an edge (two consecutive vertices of a ring, in either
order) -- the vertex-based rule of libpysal's ``Graph.build_contiguity`` (``strict=False``).
Each polygon's vertices (or edges) become columns of a sparse incidence matrix ``A``; the
neighbours are the off-diagonal non-zeros of ``A @ A.T``. The cost is a sort of all vertices,
so 100,000 hexagons take a fraction of a second where a per-polygon spatial query takes seconds.
Vertices are compared exactly: a shared boundary digitised with different vertices is not a
neighbour link here, nor in libpysal.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy import sparse

__all__ = ["contiguity_matrix"]


def _ring_coordinates(
    geoms: npt.NDArray[np.object_],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Every ring vertex: coordinates, the row (polygon) it belongs to and the ring it belongs to."""
    types = shapely.get_type_id(geoms)
    if (types == 3).all() and not shapely.get_num_interior_rings(geoms).any():
        coords, row = shapely.get_coordinates(geoms, return_index=True)  # one ring per row: the fast path
        return coords, row.astype(np.intp), row.astype(np.intp)
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    polys = shapely.get_type_id(parts) == 3
    parts, part_of = parts[polys], part_of[polys]
    n_int = shapely.get_num_interior_rings(parts)
    rings = [shapely.get_exterior_ring(parts)]
    ring_of = [part_of]
    if n_int.any():
        holes_of = np.repeat(np.arange(len(parts)), n_int)
        k = np.concatenate([np.arange(m) for m in n_int[n_int > 0]])
        rings.append(shapely.get_interior_ring(parts[holes_of], k))
        ring_of.append(part_of[holes_of])
    owner = np.concatenate(ring_of)
    coords, ring_idx = shapely.get_coordinates(np.concatenate(rings), return_index=True)
    return coords, owner[ring_idx].astype(np.intp), ring_idx.astype(np.intp)


def _vertex_ids(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
    """One integer per distinct (x, y), compared exactly (hash tables, no sort)."""
    fx, ux = pd.factorize(coords[:, 0] + 0.0)  # + 0.0 makes -0.0 equal to 0.0
    fy, uy = pd.factorize(coords[:, 1] + 0.0)
    ids, _ = pd.factorize(fx.astype(np.int64) * len(uy) + fy)
    out: npt.NDArray[np.intp] = np.asarray(ids, dtype=np.intp)
    return out


def contiguity_matrix(geoms: npt.NDArray[np.object_], *, rook: bool) -> sparse.csr_array:
    """Binary contiguity matrix (n x n, float64, symmetric, zero diagonal) of polygon geometries.

    Rows without a polygon (empty, missing, points) have no neighbours.
    """
    n = len(geoms)
    coords, poly, ring = _ring_coordinates(np.asarray(geoms, dtype=object))
    if len(coords) == 0:
        return sparse.csr_array((n, n), dtype=np.float64)
    vid = _vertex_ids(coords)
    if rook:
        same_ring = ring[1:] == ring[:-1]  # consecutive vertices of one ring make an edge
        a, b = vid[:-1][same_ring], vid[1:][same_ring]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        keep = lo != hi
        key = lo[keep].astype(np.int64) * (int(vid.max()) + 1) + hi[keep]
        _, col = np.unique(key, return_inverse=True)
        row = poly[:-1][same_ring][keep]
    else:
        col, row = vid, poly
    inc = sparse.csr_array(
        (np.ones(len(row), dtype=np.float64), (row, col)), shape=(n, int(col.max()) + 1 if len(col) else 0)
    )
    co = (inc @ inc.T).tocoo()
    off = co.row != co.col
    r, c = co.row[off], co.col[off]
    return sparse.csr_array((np.ones(len(r), dtype=np.float64), (r, c)), shape=(n, n))
