"""Test helpers for the statistics engine: lattices and the real NPA layer.

``npa_layer`` builds the NPA layer straight from the shared data until
``geo.layers.build.npa_layer`` lands; switch the tests to that fixture then.
"""

from __future__ import annotations

import functools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

SHARED = Path("/work/shared/data")
NPA_DIR = SHARED / "npa"


def lattice_gdf(nrows: int, ncols: int, values=None, *, crs: str | None = "EPSG:2264", column: str = "v") -> gpd.GeoDataFrame:
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


def _polygonal(geom):
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts)


@functools.cache
def _npa_layer_cached() -> gpd.GeoDataFrame:
    g = gpd.read_file(NPA_DIR / "npa_geography.geojson")
    # NPA 138 is invalid; make_valid gives a GeometryCollection: keep its polygons
    g["geometry"] = [_polygonal(x) for x in g.geometry.make_valid()]
    g = g.to_crs("EPSG:2264")
    g["npa"] = g["id"].astype(int)
    g = g.drop(columns="id")
    r = pd.read_csv(NPA_DIR / "metric" / "r58.csv").set_index("id")
    d = pd.read_csv(NPA_DIR / "metric" / "d58.csv").set_index("id")
    cols = {}
    for y in r.columns:
        year = y[2:]
        count = g["npa"].map(r[y])
        per1000 = g["npa"].map(d[y])
        cols[f"violent_crimes_{year}"] = count
        cols[f"rate_pop_{year}"] = per1000 * 1000
        cols[f"violent_rate_{year}"] = count / per1000.where(per1000 > 0)
    g = pd.concat([g, pd.DataFrame(cols, index=g.index)], axis=1)
    return gpd.GeoDataFrame(g, geometry="geometry", crs="EPSG:2264")


def npa_layer() -> gpd.GeoDataFrame:
    """The 459 NPAs (EPSG:2264) with violent crime counts, populations and rates per 1,000."""
    return _npa_layer_cached().copy()


def npa_2022_subset() -> gpd.GeoDataFrame:
    """NPAs with a 2022 violent-crime count and a non-zero population (371 units)."""
    g = npa_layer()
    keep = g["violent_crimes_2022"].notna() & (g["rate_pop_2022"] > 0)
    return g[keep].reset_index(drop=True)
