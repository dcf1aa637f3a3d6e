"""Contiguity by hashing shared vertices and edges: the same links as libpysal, on real and awkward shapes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from libpysal.graph import Graph

from geo.layers.grid import hexagon_grid
from geo.stats._contiguity import contiguity_matrix


def _libpysal(geom: gpd.GeoSeries, rook: bool) -> np.ndarray:
    return (Graph.build_contiguity(geom.reset_index(drop=True), rook=rook).sparse.toarray() > 0).astype(int)


@pytest.mark.parametrize("rook", [False, True])
def test_npas_and_divisions_equal_libpysal(npa_layer, division_layer, rook):
    for layer in (npa_layer, division_layer):
        mine = contiguity_matrix(layer.geometry.values, rook=rook).toarray().astype(int)
        np.testing.assert_array_equal(mine, _libpysal(layer.geometry, rook))


@pytest.mark.parametrize("rook", [False, True])
def test_a_clipped_hexagon_grid_equals_libpysal(npa_layer, rook):
    county = npa_layer.geometry.union_all()
    cells = hexagon_grid(county, cell_size=3000.0, crs=npa_layer.crs).cells.geometry
    mine = contiguity_matrix(cells.values, rook=rook)
    np.testing.assert_array_equal(mine.toarray().astype(int), _libpysal(cells, rook))
    assert mine.nnz > 5 * len(cells)  # most cells have six neighbours


def test_corner_touch_holes_multiparts_and_empties():
    sq = shapely.box
    geoms = np.array(
        [
            sq(0, 0, 1, 1),  # 0
            sq(1, 0, 2, 1),  # 1: shares an edge with 0
            sq(2, 1, 3, 2),  # 2: touches 1 at the corner (2, 1) only
            shapely.Polygon(sq(10, 10, 14, 14).exterior.coords, [sq(11, 11, 13, 13).exterior.coords[::-1]]),  # 3
            sq(11, 11, 13, 13),  # 4: fills 3's hole (shares four edges)
            shapely.MultiPolygon([sq(20, 0, 21, 1), sq(2, 0, 3, 1)]),  # 5: its second part shares edges with 1 and 2
            shapely.Polygon(),  # 6: empty
            None,  # 7: missing
        ],
        dtype=object,
    )
    queen = contiguity_matrix(geoms, rook=False).toarray().astype(int)
    rook = contiguity_matrix(geoms, rook=True).toarray().astype(int)
    links = lambda m: {(i, j) for i, j in zip(*np.nonzero(m), strict=True) if i < j}  # noqa: E731
    assert links(rook) == {(0, 1), (1, 5), (2, 5), (3, 4)}
    assert links(queen) == {(0, 1), (1, 2), (1, 5), (2, 5), (3, 4)}
    assert (queen == queen.T).all() and np.trace(queen) == 0
