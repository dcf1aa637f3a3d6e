"""Small hand-made lattices whose statistics can be computed by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from scipy import sparse


def lattice_gdf(
    nrows: int, ncols: int, values=None, *, crs: str | None = "EPSG:2264", column: str = "v"
) -> gpd.GeoDataFrame:
    """Unit squares in row-major order (id = row * ncols + col)."""
    cells = [shapely.box(c, r, c + 1, r + 1) for r in range(nrows) for c in range(ncols)]
    data = {} if values is None else {column: np.asarray(values, dtype=float)}
    return gpd.GeoDataFrame(data, geometry=cells, crs=crs)


def lattice_matrix(nrows: int, ncols: int, *, queen: bool = True) -> sparse.csr_array:
    """Binary contiguity matrix of an ``nrows x ncols`` lattice, built with numpy."""
    idx = np.arange(nrows * ncols).reshape(nrows, ncols)
    offsets = [(0, 1), (1, 0)] + ([(1, 1), (1, -1)] if queen else [])
    rows, cols = [], []
    for dr, dc in offsets:
        a = idx[max(0, -dr) : nrows - max(0, dr), max(0, -dc) : ncols - max(0, dc)]
        b = idx[max(0, dr) : nrows + min(0, dr), max(0, dc) : ncols + min(0, dc)]
        rows.append(a.ravel())
        cols.append(b.ravel())
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    n = nrows * ncols
    return sparse.csr_array((np.ones(2 * r.size), (np.r_[r, c], np.r_[c, r])), shape=(n, n))
