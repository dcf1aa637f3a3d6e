"""KNN and distance-band weights from the k-d tree: the same links as libpysal's Graph builders.

The reference is the real library (``libpysal.graph.Graph.build_knn`` / ``build_distance_band``),
on the NPAs' centroids, on a random point set and on a lattice (exact ties at the band's edge).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
from scipy import sparse

from geo.stats.weights import build_weights, min_threshold_distance


def _libpysal_links(graph) -> sparse.csr_array:
    m = sparse.csr_array(graph.sparse)
    m.setdiag(0)
    m.eliminate_zeros()
    m.data[:] = 1.0
    return m


def _differing_links(a: sparse.csr_array, b: sparse.csr_array) -> int:
    return int((sparse.csr_array(a, dtype=bool) != sparse.csr_array(b, dtype=bool)).nnz)


def _points(n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2)) * 50_000.0 + [1.4e6, 5.2e5]
    return gpd.GeoDataFrame({"v": rng.random(n)}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:2264")


@pytest.fixture(scope="module")
def npa_centroids(npa_layer):
    layer = npa_layer[["npa", "geometry"]].reset_index(drop=True)
    return layer


@pytest.mark.parametrize("k", [1, 4, 6, 12])
def test_knn_equals_libpysal_on_npas_and_random_points(npa_centroids, k):
    from libpysal.graph import Graph

    for layer in (npa_centroids, _points(3000, seed=k)):
        w = build_weights(layer, method="knn", k=k)
        pts = layer.geometry.centroid if (layer.geom_type != "Point").any() else layer.geometry
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = Graph.build_knn(pts.reset_index(drop=True), k=k, coplanar="clique")
        assert _differing_links(w.base, _libpysal_links(ref)) == 0
        assert set(w.cardinality) == {k}
        assert w.base.has_sorted_indices and (w.base.diagonal() == 0).all()


def test_distance_band_equals_libpysal_default_and_fixed_threshold(npa_centroids):
    from libpysal.graph import Graph

    for layer in (npa_centroids, _points(3000, seed=7)):
        pts = (layer.geometry.centroid if (layer.geom_type != "Point").any() else layer.geometry).reset_index(drop=True)
        default = build_weights(layer, method="distance")
        assert default.params["threshold"] == pytest.approx(min_threshold_distance(layer) * (1 + 1e-9), rel=1e-15)
        assert default.islands == ()
        for threshold in (default.params["threshold"], 2.5 * default.params["threshold"]):
            w = build_weights(layer, method="distance", threshold=threshold)
            ref = Graph.build_distance_band(pts, threshold=threshold, binary=True)
            assert _differing_links(w.base, _libpysal_links(ref)) == 0
            assert w.is_symmetric


def test_distance_band_ties_and_coincident_points_like_libpysal():
    from libpysal.graph import Graph

    xs, ys = np.meshgrid(np.arange(6.0), np.arange(5.0))
    xy = np.column_stack([xs.ravel(), ys.ravel()])
    xy = np.vstack([xy, xy[[3, 7, 7]]])  # three coincident points
    layer = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:2264")
    for threshold in (1.0, 2**0.5, 2.0):  # pairs at exactly the threshold are linked
        w = build_weights(layer, method="distance", threshold=threshold)
        ref = Graph.build_distance_band(layer.geometry, threshold=threshold, binary=True)
        assert _differing_links(w.base, _libpysal_links(ref)) == 0
    assert build_weights(layer, method="distance", threshold=1.0).cardinality.iloc[7] == 6  # 4 + 2 twins


def test_knn_with_coincident_points_falls_back_to_libpysal_cliques():
    from libpysal.graph import Graph

    layer = _points(200, seed=3)
    layer = gpd.GeoDataFrame(geometry=list(layer.geometry) + [layer.geometry.iloc[5]], crs=layer.crs)  # one point twice
    w = build_weights(layer, method="knn", k=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = Graph.build_knn(layer.geometry, k=4, coplanar="clique")
    m = sparse.csr_array(ref.sparse)
    m.setdiag(0)
    m.eliminate_zeros()
    assert _differing_links(w.base, m) == 0


def test_components_of_a_distance_band_counted_without_transposing():
    layer = _points(400, seed=11)
    far = layer.copy()
    far["geometry"] = far.translate(1e6, 0)
    both = gpd.GeoDataFrame(
        {"v": np.r_[layer["v"], far["v"]]}, geometry=list(layer.geometry) + list(far.geometry), crs=layer.crs
    )
    w = build_weights(both, method="distance", threshold=5_000.0)
    assert w.n_components == 2
    assert [m.code for m in w.warnings] == ["components"]
