"""The fast k-d tree paths (fast-built tree, leaf-order components, tie repair) against libpysal and brute force.

References: ``libpysal.graph.Graph.build_knn`` / ``build_distance_band`` for the links
and weights, scipy's ``connected_components`` on libpysal's matrix for the component
count, and a brute-force distance matrix for the largest nearest-neighbour distance.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import cdist

from geo.stats.weights import build_weights, min_threshold_distance


def _layer(xy: np.ndarray) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:2264")


def _without_diagonal(m) -> sparse.csr_array:
    out = sparse.csr_array(m, dtype=np.float64)
    out.setdiag(0)
    out.eliminate_zeros()
    return out


def _differing_links(a, b) -> int:
    return int((sparse.csr_array(a, dtype=bool) != sparse.csr_array(b, dtype=bool)).nnz)


def _knn_reference(layer: gpd.GeoDataFrame, k: int) -> sparse.csr_array:
    from libpysal.graph import Graph

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _without_diagonal(Graph.build_knn(layer.geometry, k=k, coplanar="clique").sparse)


def _weak_components(m) -> int:
    return int(connected_components(m, directed=True, connection="weak")[0])


def _clustered(n: int, seed: int) -> np.ndarray:
    """Tight clusters far apart plus uniform background: the local-order bound is poor here."""
    rng = np.random.default_rng(seed)
    centres = rng.random((8, 2)) * 1e5
    xy = centres[rng.integers(0, 8, n // 2)] + rng.normal(scale=30.0, size=(n // 2, 2))
    return np.vstack([xy, rng.random((n - n // 2, 2)) * 1e5]) + [1.4e6, 5.2e5]


@pytest.mark.parametrize("k", [1, 6, 10])
def test_knn_on_4000_random_points_equals_libpysal_links_weights_and_components(k):
    xy = np.random.default_rng(100 + k).random((4000, 2)) * 40_000.0 + [1.4e6, 5.2e5]
    layer = _layer(xy)
    w = build_weights(layer, method="knn", k=k)
    ref = _knn_reference(layer, k)
    assert _differing_links(w.base, ref) == 0
    assert abs(w.base - ref).max() == 0  # equal weights too (binary 1s on both sides)
    assert w.n_components == _weak_components(ref)
    assert w.base.has_sorted_indices and (np.diff(w.base.indptr) == k).all()


@pytest.mark.parametrize("k", [2, 3, 4, 5, 7])
def test_knn_ties_on_a_lattice_resolved_like_libpysal(k):
    """Square lattice, shuffled: a unit's 4 edge neighbours and 4 diagonal ones tie, so k=2,3,5,7 cut through a tie."""
    xs, ys = np.meshgrid(np.arange(40.0), np.arange(30.0))
    xy = np.column_stack([xs.ravel(), ys.ravel()]) * 500.0 + [1.4e6, 5.2e5]
    xy = xy[np.random.default_rng(k).permutation(len(xy))]
    layer = _layer(xy)
    w = build_weights(layer, method="knn", k=k)
    ref = _knn_reference(layer, k)
    assert _differing_links(w.base, ref) == 0
    assert w.n_components == _weak_components(ref)


def test_knn_ties_on_a_hexagonal_lattice_with_k_4_like_libpysal():
    rows, cols = 25, 30
    x = np.arange(cols, dtype=float)[None, :] + 0.5 * (np.arange(rows)[:, None] % 2)
    y = np.repeat(np.arange(rows)[:, None] * np.sqrt(3) / 2, cols, axis=1)
    xy = np.column_stack([x.ravel(), y.ravel()]) * 1000.0
    layer = _layer(xy)
    w = build_weights(layer, method="knn", k=4)
    assert _differing_links(w.base, _knn_reference(layer, 4)) == 0


def test_knn_components_of_two_far_clusters():
    rng = np.random.default_rng(5)
    xy = np.vstack([rng.random((300, 2)) * 1000.0, rng.random((300, 2)) * 1000.0 + 1e6])
    w = build_weights(_layer(xy), method="knn", k=3)
    assert w.n_components == _weak_components(_knn_reference(_layer(xy), 3)) >= 2
    assert "components" in [m.code for m in w.warnings]


def test_distance_band_on_4000_points_with_duplicates_equals_libpysal():
    from libpysal.graph import Graph

    rng = np.random.default_rng(21)
    xy = rng.random((4000, 2)) * 40_000.0 + [1.4e6, 5.2e5]
    xy[rng.choice(4000, 60, replace=False)] = xy[rng.choice(4000, 60, replace=False)]  # coincident points
    layer = _layer(xy)
    default = build_weights(layer, method="distance")
    for threshold in (default.params["threshold"], 1.7 * default.params["threshold"], 150.0):
        w = build_weights(layer, method="distance", threshold=threshold)
        ref = _without_diagonal(Graph.build_distance_band(layer.geometry, threshold=threshold, binary=True).sparse)
        ref.data[:] = 1.0  # coincident pairs are links of distance 0
        assert _differing_links(w.base, ref) == 0
        assert abs(w.base - ref).max() == 0
        assert w.n_components == _weak_components(ref)
        assert len(w.islands) == int((np.diff(ref.indptr) == 0).sum())


@pytest.mark.parametrize("points", ["clustered", "duplicates", "two", "three"])
def test_largest_nearest_distance_equals_brute_force(points):
    xy = {
        "clustered": _clustered(3000, seed=2),
        "duplicates": np.vstack([_clustered(1000, seed=3), _clustered(1000, seed=3)[:10]]),
        "two": np.array([[0.0, 0.0], [3.0, 4.0]]),
        "three": np.array([[0.0, 0.0], [3.0, 4.0], [100.0, 0.0]]),
    }[points]
    d = cdist(xy, xy)
    np.fill_diagonal(d, np.inf)
    assert min_threshold_distance(_layer(xy)) == pytest.approx(d.min(axis=1).max(), rel=1e-12)
    w = build_weights(_layer(xy), method="distance")
    assert w.islands == ()
