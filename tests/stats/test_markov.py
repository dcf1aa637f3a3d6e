"""geo.stats.markov against hand counts of tiny series and, number by number, against giddy.

giddy is the reference only here (the library never imports it): every statistic of
``LISA_Markov`` and ``Spatial_Markov`` is compared to 1e-9.
"""

from __future__ import annotations

import numpy as np
import pytest

from geo.errors import ValueDomainError
from geo.stats.markov import (
    chi2_test,
    conditional_transition_counts,
    homogeneity_test,
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


@pytest.fixture(scope="module", autouse=True)
def _jit_for_giddy():
    """The giddy reference (through quantecon) compiles numba gufuncs: it needs the JIT on (see tests/helpers)."""
    from tests.helpers.references import numba_jit_on

    with numba_jit_on():
        yield


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


TOL = {"rtol": 1e-9, "atol": 1e-12}


def _giddy_w(dense: np.ndarray):
    import libpysal

    gw = libpysal.weights.full2W(dense)
    gw.transform = "r"
    return gw


def assert_lisa_equals_giddy(res, ref) -> None:
    """Every number of our LisaMarkovResult against giddy's LISA_Markov."""
    np.testing.assert_array_equal(res.transitions, ref.transitions)
    np.testing.assert_allclose(res.probabilities, ref.p, **TOL)
    np.testing.assert_allclose(res.expected, ref.expected_t, **TOL)
    np.testing.assert_allclose([res.chi2, res.chi2_p], ref.chi_2[:2], **TOL)
    assert res.chi2_dof == ref.chi_2[2]


def assert_spatial_equals_giddy(res, ref) -> None:
    """Every number of our SpatialMarkovResult against giddy's Spatial_Markov."""
    np.testing.assert_array_equal(res.classes, ref.class_ids)
    np.testing.assert_array_equal(res.lag_classes, ref.lclass_ids)
    np.testing.assert_allclose(res.cutoffs, ref.cutoffs, **TOL)
    np.testing.assert_allclose(res.lag_cutoffs, ref.lag_cutoffs, **TOL)
    np.testing.assert_array_equal(res.transitions, ref.transitions)
    np.testing.assert_array_equal(res.conditional, ref.T)
    np.testing.assert_allclose(res.probabilities, ref.p, **TOL)
    np.testing.assert_allclose(res.conditional_probabilities, ref.P, **TOL)
    np.testing.assert_allclose(
        [res.q, res.q_p, res.lr, res.lr_p], [ref.Q, ref.Q_p_value, ref.LR, ref.LR_p_value], **TOL
    )
    assert res.dof == ref.dof_hom
    np.testing.assert_allclose(res.chi2_by_lag, np.array(ref.chi2, dtype=float), **TOL)
    np.testing.assert_allclose([res.x2, res.x2_p], [ref.x2, ref.x2_pvalue], **TOL)
    assert res.x2_dof == ref.x2_dof


@pytest.mark.slow  # giddy / mapclassify import compiles with numba (10-30 s once per process)
def test_lisa_markov_equals_giddy_and_hand_counts(panel):
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
    assert_lisa_equals_giddy(res, LISA_Markov(y, _giddy_w(dense)))


@pytest.mark.slow  # giddy / mapclassify import compiles with numba (10-30 s once per process)
def test_lisa_markov_with_an_all_zero_unit_equals_giddy(panel):
    """A unit at 0 every year: giddy divides by its mean (0/0) and counts it as not low."""
    from giddy.markov import LISA_Markov

    w, y = panel
    y = y.copy()
    y[12] = 0.0
    dense = lattice_matrix(5, 5).toarray()
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = LISA_Markov(y, _giddy_w(dense))
    assert_lisa_equals_giddy(lisa_markov(y, w, ref.q), ref)


@pytest.mark.slow  # giddy / mapclassify import compiles with numba (10-30 s once per process)
@pytest.mark.parametrize("k", [3, 4])
def test_spatial_markov_equals_giddy(panel, k):
    from giddy.markov import Spatial_Markov

    w, y = panel
    rel = y / y.mean(axis=0)
    res = spatial_markov(rel, w, k=k, m=k)
    dense = lattice_matrix(5, 5).toarray()
    ref = Spatial_Markov(rel, _giddy_w(dense), k=k, m=k, fixed=True)
    assert_spatial_equals_giddy(res, ref)
    if k == 4:  # 25 units x 4 moves in 4 x 16 cells: empty cells, which the LR and the dof leave out
        assert (res.conditional == 0).any()
    # our lag classes by hand: pooled quantiles of the neighbour means
    lag = (dense / dense.sum(axis=1, keepdims=True)) @ rel
    np.testing.assert_array_equal(
        np.searchsorted(np.percentile(lag, np.linspace(0, 100, k + 1)[1:-1]), lag), res.lag_classes
    )


@pytest.mark.slow  # giddy / mapclassify import compiles with numba (10-30 s once per process)
def test_chi2_and_homogeneity_equal_giddy_on_sparse_counts():
    """Random count stacks with empty rows and cells: the degrees-of-freedom corrections."""
    from giddy.markov import chi2, homogeneity

    rng = np.random.default_rng(11)
    for _ in range(20):
        stack = rng.poisson(rng.uniform(0.2, 6.0), (3, 4, 4)) * (rng.random((3, 4, 4)) < 0.7)
        stack[rng.integers(3), rng.integers(4)] = 0  # an empty row in one regime
        ours = homogeneity_test(stack)
        ref = homogeneity(stack.astype(float))
        np.testing.assert_allclose(
            [ours.q, ours.q_p, ours.lr, ours.lr_p], [ref.Q, ref.Q_p_value, ref.LR, ref.LR_p_value], **TOL
        )
        assert ours.dof == ref.dof
        for a, b in ((stack[0], stack.sum(axis=0)), (stack[1], stack[2])):
            stat, p, dof = chi2_test(a, b)
            ref_c = chi2(a.astype(float), b.astype(float))
            np.testing.assert_allclose([stat, p], ref_c[:2], **TOL)
            assert dof == ref_c[2]


def test_chi2_and_homogeneity_by_hand():
    # one regime against itself: no difference at all
    t = np.array([[3.0, 1.0], [2.0, 2.0]])
    assert chi2_test(t, t)[0] == 0.0 and chi2_test(t, t)[2] == 1
    # observed [[2, 0], [0, 2]] against p = [[.5, .5], [.5, .5]]: E = 1 everywhere, chi2 = 4
    stat, p, dof = chi2_test(np.diag([2.0, 2.0]), np.ones((2, 2)))
    assert (stat, dof) == (4.0, 1) and p == pytest.approx(0.0455002638963584)
    # two regimes [[2, 0], [0, 2]] and [[0, 2], [2, 0]]: pooled p = 1/2, p_ijm in {0, 1}
    # Q = sum n_im (p_ijm - 1/2)^2 / (1/2) = 8 cells x 2 x 1/4 x 2 = 8; LR = 2 sum n log 2 = 16 log 2
    h = homogeneity_test(np.array([np.diag([2.0, 2.0]), 2 - np.diag([2.0, 2.0])]))
    assert h.q == pytest.approx(8.0) and h.lr == pytest.approx(16 * np.log(2)) and h.dof == 2
    with pytest.raises(ValueDomainError, match=r"\(m, k, k\)"):
        homogeneity_test(np.ones((2, 3)))


def test_markov_refuses_gaps_and_islands(panel):
    w, y = panel
    gap = y.copy()
    gap[0, 2] = np.nan
    with pytest.raises(ValueDomainError, match="every unit in every year"):
        spatial_markov(gap, w)
    with pytest.raises(ValueDomainError, match="quadrants and y differ"):
        lisa_markov(y, w, np.ones((25, 4), dtype=int))
