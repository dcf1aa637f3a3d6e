"""Transition counting of geo.stats.markov against hand counts of tiny series and against giddy."""

from __future__ import annotations

import numpy as np
import pytest

from geo.errors import ValueDomainError
from geo.stats.markov import (
    conditional_transition_counts,
    lisa_markov,
    quantile_classes,
    spatial_markov,
    transition_counts,
    transition_probabilities,
)
from geo.stats.moran import local_moran
from geo.stats.weights import weights_from_matrix
from tests.helpers.lattices import lattice_gdf, lattice_matrix

# three units, four years, classes 0..2; -1 is a missing year
TINY = np.array(
    [
        [0, 0, 1, 2],  # 0->0, 0->1, 1->2
        [1, 1, 1, 0],  # 1->1, 1->1, 1->0
        [2, -1, 2, 2],  # (2->-1 and -1->2 skipped), 2->2
    ]
)


def test_transition_counts_by_hand():
    expected = np.array(
        [
            [1, 1, 0],
            [1, 2, 1],
            [0, 0, 1],
        ],
        dtype=float,
    )
    np.testing.assert_array_equal(transition_counts(TINY, k=3), expected)
    np.testing.assert_allclose(transition_probabilities(expected), [[0.5, 0.5, 0], [0.25, 0.5, 0.25], [0, 0, 1]])
    assert transition_probabilities(np.zeros((2, 2))).sum() == 0  # a row with no moves stays 0, as giddy


def test_conditional_counts_by_hand():
    cond = np.array([[0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 1, 1]])  # the condition of the starting year applies
    out = conditional_transition_counts(TINY, cond, k=3, m=2)
    hand = np.zeros((2, 3, 3))
    hand[0, 0, 0] = 1  # unit 0, 0->0, cond 0
    hand[1, 0, 1] = 1  # unit 0, 0->1, cond 1
    hand[1, 1, 2] = 1  # unit 0, 1->2, cond 1
    hand[1, 1, 1] = 2  # unit 1, 1->1 twice, cond 1
    hand[0, 1, 0] = 1  # unit 1, 1->0, cond 0
    hand[1, 2, 2] = 1  # unit 2, 2->2 starting in year 2 (cond 1)
    np.testing.assert_array_equal(out, hand)
    np.testing.assert_array_equal(out.sum(axis=0), transition_counts(TINY, k=3))


def test_counts_refuse_bad_codes():
    with pytest.raises(ValueDomainError, match="codes >= 3"):
        transition_counts(np.array([[0, 3]]), k=3)
    with pytest.raises(ValueDomainError, match="integer"):
        transition_counts(np.array([[0.5, 1.0]]), k=3)


@pytest.mark.slow  # giddy / mapclassify import compiles with numba (10-30 s once per process)
def test_quantile_classes_equal_mapclassify():
    import mapclassify

    y = np.random.default_rng(2).gamma(2.0, 1.0, (20, 5))
    cls, cut = quantile_classes(y, 4)
    q = mapclassify.Quantiles(y.ravel(), k=4)
    np.testing.assert_array_equal(cls.ravel(), q.yb)
    np.testing.assert_allclose(cut, q.bins[:-1])


@pytest.fixture(scope="module")
def panel():
    """A 5 x 5 queen lattice over 5 years: a gradient plus noise, so units cross quadrants."""
    rng = np.random.default_rng(7)
    w = weights_from_matrix(lattice_matrix(5, 5))
    y = rng.gamma(2.0, 1.0, (25, 5)) + np.linspace(0, 2.5, 25)[:, None]
    return w, y


def _hand_quadrants(y: np.ndarray, m) -> np.ndarray:
    """Quadrants by hand: sign of the centred value and of its row-standardised neighbour mean."""
    out = []
    rs = m / m.sum(axis=1, keepdims=True)
    for t in range(y.shape[1]):
        z = y[:, t] - y[:, t].mean()
        lag = rs @ z
        out.append(np.where(z > 0, np.where(lag > 0, 1, 4), np.where(lag > 0, 2, 3)))
    return np.column_stack(out)


@pytest.mark.slow  # giddy / mapclassify import compiles with numba (10-30 s once per process)
def test_lisa_markov_counts_equal_giddy_and_hand_counts(panel):
    import libpysal
    from giddy.markov import LISA_Markov

    w, y = panel
    quads = []
    for t in range(y.shape[1]):
        res = local_moran(lattice_gdf(5, 5, y[:, t]), "v", weights=w, permutations=99, seed=1)
        quads.append(res.frame["lisa_quadrant"].to_numpy())
    q = np.column_stack(quads)
    dense = lattice_matrix(5, 5).toarray()
    np.testing.assert_array_equal(q, _hand_quadrants(y, dense))
    res = lisa_markov(y, w, q)
    hand = np.zeros((4, 4))
    for i in range(25):
        for t in range(4):
            hand[q[i, t] - 1, q[i, t + 1] - 1] += 1
    np.testing.assert_array_equal(res.transitions, hand)
    gw = libpysal.weights.full2W(dense)
    gw.transform = "r"
    ref = LISA_Markov(y, gw)
    np.testing.assert_array_equal(res.giddy_transitions, ref.transitions)
    assert res.agrees
    assert res.chi2 == pytest.approx(ref.chi_2[0]) and res.chi2_dof == ref.chi_2[2]
    np.testing.assert_allclose(res.probabilities, ref.p)


@pytest.mark.slow  # giddy / mapclassify import compiles with numba (10-30 s once per process)
def test_spatial_markov_equals_giddy(panel):
    import libpysal
    from giddy.markov import Spatial_Markov

    w, y = panel
    rel = y / y.mean(axis=0)
    res = spatial_markov(rel, w, k=3, m=3)
    gw = libpysal.weights.full2W(lattice_matrix(5, 5).toarray())
    gw.transform = "r"
    ref = Spatial_Markov(rel, gw, k=3, m=3, fixed=True)
    np.testing.assert_array_equal(res.conditional, ref.T)
    np.testing.assert_array_equal(res.transitions, ref.transitions)
    np.testing.assert_allclose(res.conditional_probabilities, ref.P)
    assert res.agrees
    np.testing.assert_allclose([res.q, res.lr, res.x2], [ref.Q, ref.LR, ref.x2])
    np.testing.assert_allclose([res.q_p, res.lr_p, res.x2_p], [ref.Q_p_value, ref.LR_p_value, ref.x2_pvalue])
    # our lag classes by hand: pooled terciles of the neighbour means
    rs = lattice_matrix(5, 5).toarray()
    lag = (rs / rs.sum(axis=1, keepdims=True)) @ rel
    np.testing.assert_array_equal(np.searchsorted(np.percentile(lag, [100 / 3, 200 / 3]), lag), ref.lclass_ids)


@pytest.mark.slow  # giddy / mapclassify import compiles with numba (10-30 s once per process)
def test_markov_refuses_gaps_and_islands(panel):
    w, y = panel
    gap = y.copy()
    gap[0, 2] = np.nan
    with pytest.raises(ValueDomainError, match="every unit in every year"):
        spatial_markov(gap, w)
    with pytest.raises(ValueDomainError, match="quadrants and y differ"):
        lisa_markov(y, w, np.ones((25, 4), dtype=int))
