"""geo.stats.weights: contiguity, distance and kernel weights on hand-made lattices; islands and components."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import CRSError, EmptyInputError, GeometryError, SchemaError, ValueDomainError
from geo.stats.weights import build_weights, min_threshold_distance, weights_from_matrix
from tests.helpers.lattices import lattice_gdf, lattice_matrix


@pytest.fixture
def grid_with_island():
    g = lattice_gdf(3, 3, np.arange(9))
    island = gpd.GeoDataFrame({"v": [9.0]}, geometry=[shapely.box(10, 10, 11, 11)], crs=g.crs)
    return gpd.GeoDataFrame(pd.concat([g, island], ignore_index=True), geometry="geometry", crs=g.crs)


def test_queen_and_rook_cardinalities_on_lattice():
    g = lattice_gdf(3, 3)
    assert build_weights(g, method="queen").cardinality.tolist() == [3, 5, 3, 5, 8, 5, 3, 5, 3]
    assert build_weights(g, method="rook").cardinality.tolist() == [2, 3, 2, 3, 4, 3, 2, 3, 2]


def test_queen_matches_independent_lattice_construction():
    g = lattice_gdf(5, 7)
    w = build_weights(g, method="queen")
    assert (w.base != lattice_matrix(5, 7, queen=True)).nnz == 0
    r = build_weights(g, method="rook")
    assert (r.base != lattice_matrix(5, 7, queen=False)).nnz == 0


def test_islands_and_components_reported(grid_with_island):
    w = build_weights(grid_with_island, method="queen")
    assert w.islands == (9,)
    assert w.n_components == 2
    assert w.component_labels.tolist() == [0] * 9 + [1]
    assert [m.code for m in w.warnings] == ["islands"]
    assert "1 unit(s) have no neighbours under queen weights (ids 9)" in str(w.warnings[0])


def test_disconnected_groups_warned():
    g = lattice_gdf(2, 2)
    far = g.copy()
    far["geometry"] = far.translate(100, 100)
    both = gpd.GeoDataFrame(pd.concat([g, far], ignore_index=True), crs=g.crs)
    w = build_weights(both, method="rook")
    assert w.n_components == 2 and w.islands == ()
    assert [m.code for m in w.warnings] == ["components"]
    assert "2 disconnected groups" in str(w.warnings[0])


def test_knn_distance_kernel(grid_with_island):
    knn = build_weights(grid_with_island, method="knn", k=3)
    assert set(knn.cardinality) == {3}
    # default band: the largest nearest-neighbour distance (island to its nearest centroid)
    thr = min_threshold_distance(grid_with_island)
    assert thr == pytest.approx(np.hypot(8, 8))
    band = build_weights(grid_with_island, method="distance")
    assert band.islands == ()
    unit = build_weights(grid_with_island.iloc[:9], method="distance", threshold=1.0)
    assert unit.cardinality.tolist() == [2, 3, 2, 3, 4, 3, 2, 3, 2]  # rook-like
    ker = build_weights(grid_with_island.iloc[:9], method="kernel", kernel="triangular", bandwidth=2.0)
    row = ker.matrix().toarray()[0]
    # triangular kernel 1 - d / h for the neighbours within h = 2 of cell (0, 0)
    expected = {1: 0.5, 3: 0.5, 4: 1 - np.sqrt(2) / 2, 2: 0.0, 6: 0.0}
    for j, v in expected.items():
        assert row[j] == pytest.approx(v)


def test_row_standardise_returns_new_matrix_and_keeps_original(grid_with_island):
    w = build_weights(grid_with_island, method="queen")
    before = w.base.copy()
    r = w.matrix("R")
    np.testing.assert_allclose(np.asarray(r.sum(axis=1)).ravel(), [1] * 9 + [0])
    r.data[:] = 99
    assert (w.base != before).nnz == 0
    assert w.matrix("B").max() == 1


def test_subset_drops_links_and_creates_islands():
    g = lattice_gdf(1, 3)
    w = build_weights(g, method="rook")
    sub = w.subset(np.array([True, False, True]))
    assert sub.islands == (0, 2)
    assert sub.ids.tolist() == [0, 2]


def test_refuses_geographic_crs_for_distance_methods():
    g = lattice_gdf(3, 3).set_crs("EPSG:4326", allow_override=True)
    for method, kw in [("distance", {"threshold": 1.0}), ("knn", {"k": 2}), ("kernel", {})]:
        with pytest.raises(CRSError, match="geographic"):
            build_weights(g, method=method, **kw)
    # contiguity does not measure distances
    assert build_weights(g, method="queen").n == 9


def test_refuses_layer_without_crs():
    g = lattice_gdf(3, 3, crs=None)
    with pytest.raises(CRSError, match="no CRS"):
        build_weights(g, method="queen")


@pytest.mark.parametrize("k", [9, 10, 0])
def test_k_must_be_below_n(k):
    with pytest.raises(ValueDomainError, match="k must be between 1 and n - 1 = 8"):
        build_weights(lattice_gdf(3, 3), method="knn", k=k)


def test_knn_needs_k_and_integer_k():
    with pytest.raises(ValueDomainError, match="need k"):
        build_weights(lattice_gdf(3, 3), method="knn")
    with pytest.raises(TypeError, match="integer"):
        build_weights(lattice_gdf(3, 3), method="knn", k=2.5)


def test_bad_method_threshold_geometry_ids():
    g = lattice_gdf(3, 3)
    with pytest.raises(ValueDomainError, match="unknown weights method 'hex'.*queen, rook"):
        build_weights(g, method="hex")
    with pytest.raises(ValueDomainError, match="positive"):
        build_weights(g, method="distance", threshold=-1)
    bad = g.copy()
    bad.loc[[2, 5], "geometry"] = None
    with pytest.raises(GeometryError, match="2 feature.*rows 3, 6"):
        build_weights(bad, method="queen")
    dup = g.assign(npa=[1, 2, 3, 4, 5, 6, 7, 7, 8])
    with pytest.raises(ValueDomainError, match="unique.*7"):
        build_weights(dup, method="queen", id_column="npa")
    with pytest.raises(SchemaError, match="id column 'nope'"):
        build_weights(g, method="queen", id_column="nope")
    with pytest.raises(EmptyInputError):
        build_weights(g.iloc[:0], method="queen")
    with pytest.raises(TypeError, match="GeoDataFrame"):
        build_weights(g.drop(columns="geometry"), method="queen")


def test_weights_from_matrix_and_graph_roundtrip():
    m = lattice_matrix(2, 2, queen=False)
    w = weights_from_matrix(m, ids=["a", "b", "c", "d"])
    assert w.graph.n == 4
    assert sorted(w.graph.neighbors["a"]) == ["b", "c"]
    assert w.is_symmetric
    with pytest.raises(ValueDomainError, match="non-negative"):
        weights_from_matrix(-m)
