"""The vectorised conditional-permutation kernel against exact enumeration and esda."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import sparse

from geo.stats._permutation import (
    NeighbourTable,
    permutation_counts,
    pseudo_p_value,
    sample_without_replacement,
    simulated_lags,
)
from tests.helpers.lattices import lattice_matrix


@pytest.mark.parametrize("n,size", [(5, 3), (6, 6), (40, 3)])
def test_samples_are_uniform_ordered_draws(n, size):
    rng = np.random.default_rng(7)
    reps = 60_000
    s = sample_without_replacement(n, size, reps, rng)
    assert s.shape == (reps, size)
    # distinct within rows
    srt = np.sort(s, axis=1)
    assert (np.diff(srt, axis=1) > 0).all()
    # every value equally likely at every position
    for m in range(size):
        counts = np.bincount(s[:, m], minlength=n)
        expected = reps / n
        chi2 = ((counts - expected) ** 2 / expected).sum()
        assert chi2 < n - 1 + 6 * math.sqrt(2 * (n - 1))  # far beyond chi2's 99.9th percentile
    if math.perm(n, size) <= 400:
        # every ordered tuple equally likely
        keys = np.ravel_multi_index(s.T, (n,) * size)
        counts = np.unique(keys, return_counts=True)[1]
        k = math.perm(n, size)
        assert counts.size == k
        expected = reps / k
        chi2 = ((counts - expected) ** 2 / expected).sum()
        assert chi2 < k - 1 + 6 * math.sqrt(2 * (k - 1))


def _exact_p(x, i, weights_i, observed):
    """Exact folded p over all ordered draws of len(weights_i) values from the others."""
    others = np.delete(x, i)
    ge = le = total = 0
    for combo in itertools.permutations(others, len(weights_i)):
        lag = float(np.dot(weights_i, combo))
        ge += lag >= observed - 1e-12
        le += lag <= observed + 1e-12
        total += 1
    return ge / total, le / total


def test_counts_match_exact_enumeration_equal_weights():
    # 3x3 rook lattice, row-standardised: the fast (shared sums) path
    x = np.array([3.0, 9.0, 1.0, 7.0, 2.0, 8.0, 4.0, 6.0, 5.0])
    w = lattice_matrix(3, 3, queen=False)
    w = sparse.csr_array(sparse.diags_array(1 / np.asarray(w.sum(axis=1)).ravel()) @ w)
    table = NeighbourTable.from_sparse(w)
    assert np.isfinite(table.common_weight).all()
    R = 99_999
    n_ge, n_le = permutation_counts(x, table, permutations=R, seed=3)
    observed = table.lag(x)
    for i in range(9):
        wi = table.weights[i, : table.cardinality[i]]
        p_ge, p_le = _exact_p(x, i, wi, observed[i])
        se = math.sqrt(0.25 / R)
        assert abs(n_ge[i] / R - p_ge) < 5 * se
        assert abs(n_le[i] / R - p_le) < 5 * se


def test_counts_match_exact_enumeration_unequal_weights():
    # kernel-like weights: the matrix-product path, including the self-draw correction
    x = np.array([3.0, 9.0, 1.0, 7.0, 2.0, 8.0, 4.0, 6.0])
    rows = [0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7]
    cols = [1, 2, 3, 0, 4, 5, 6, 7, 6, 5, 0]
    vals = [0.5, 0.3, 0.2, 0.9, 0.1, 1.0, 1.0, 1.0, 0.6, 0.7, 0.25]
    w = sparse.csr_array((vals, (rows, cols)), shape=(8, 8))
    table = NeighbourTable.from_sparse(w)
    assert np.isnan(table.common_weight[[0, 1]]).all()
    R = 50_000
    n_ge, n_le = permutation_counts(x, table, permutations=R, seed=11)
    observed = table.lag(x)
    for i in range(8):
        wi = table.weights[i, : table.cardinality[i]]
        p_ge, p_le = _exact_p(x, i, wi, observed[i])
        se = math.sqrt(0.25 / R)
        assert abs(n_ge[i] / R - p_ge) < 5 * se, i
        assert abs(n_le[i] / R - p_le) < 5 * se, i


def test_counts_agree_with_simulated_lags_and_seed_reproducible():
    rng = np.random.default_rng(0)
    x = rng.normal(size=25)
    w = lattice_matrix(5, 5)
    table = NeighbourTable.from_sparse(w)
    sims = simulated_lags(x, table, permutations=999, seed=5)
    n_ge, n_le = permutation_counts(x, table, permutations=999, seed=5)
    obs = table.lag(x)
    np.testing.assert_array_equal(n_ge, (sims >= obs - 1e-9).sum(axis=0))
    np.testing.assert_array_equal(n_le, (sims <= obs + 1e-9).sum(axis=0))
    again = permutation_counts(x, table, permutations=999, seed=5)
    np.testing.assert_array_equal(again[0], n_ge)
    other = permutation_counts(x, table, permutations=999, seed=6)
    assert not np.array_equal(other[0], n_ge)


def test_simulated_lag_moments_match_sampling_theory():
    # Sum of k draws without replacement from the N = n - 1 other values:
    # mean k * mu, variance k * sigma^2 * (N - k) / (N - 1).
    rng = np.random.default_rng(1)
    x = rng.gamma(2.0, size=49)
    w = lattice_matrix(7, 7)
    table = NeighbourTable.from_sparse(w)
    R = 40_000
    sims = simulated_lags(x, table, permutations=R, seed=2)
    for i in (0, 3, 24):
        k = table.cardinality[i]
        others = np.delete(x, i)
        N = others.size
        mean = k * others.mean()
        var = k * others.var() * (N - k) / (N - 1)
        assert sims[:, i].mean() == pytest.approx(mean, abs=5 * math.sqrt(var / R))
        assert sims[:, i].var() == pytest.approx(var, rel=0.05)


def test_islands_count_as_all_ties():
    w = sparse.csr_array((np.ones(2), ([0, 1], [1, 0])), shape=(3, 3))
    table = NeighbourTable.from_sparse(w)
    n_ge, n_le = permutation_counts(np.array([1.0, 2.0, 3.0]), table, permutations=99, seed=0)
    assert n_ge[2] == 99 and n_le[2] == 99
    assert pseudo_p_value(n_ge, n_le, 99)[2] == 1.0


def test_pseudo_p_conventions():
    p = pseudo_p_value(np.array([0, 500, 999]), np.array([999, 500, 0]), 999)
    np.testing.assert_allclose(p, [0.001, 0.501, 0.001])
    p2 = pseudo_p_value(np.array([0, 500]), np.array([999, 500]), 999, alternative="two-sided")
    np.testing.assert_allclose(p2, [0.002, 1.0])
    with pytest.raises(ValueError, match="folded"):
        pseudo_p_value(np.array([0]), np.array([0]), 9, alternative="greater")


_ESDA_LOCAL_MORAN = """
import sys
sys.modules["numba"] = None  # esda's pure-numpy permutations (with numba's JIT off its numba path breaks)
import numpy as np
from scipy import sparse
import esda
from libpysal.graph import Graph
d = np.load(sys.argv[1])
m = sparse.csr_array((d["data"], d["indices"], d["indptr"]), shape=tuple(d["shape"]))
r = esda.Moran_Local(d["y"], Graph.from_sparse(m), permutations=int(d["R"]), seed=1, n_jobs=1)
np.savez(sys.argv[2], Is=r.Is, q=r.q, p_sim=r.p_sim)
"""


def test_local_moran_p_values_agree_with_esda(npa_2022, tmp_path):
    """The reference runs in its own process without numba, as esda does where numba is not installed."""
    import subprocess
    import sys

    pytest.importorskip("esda")
    from geo.stats.moran import local_moran
    from geo.stats.weights import build_weights

    g = npa_2022
    w = build_weights(g, method="queen")
    m = w.graph.sparse.tocsr()
    R = 9999
    ours = local_moran(g, "violent_rate_2022", weights=w, permutations=R, seed=1, alternative="folded")
    y = g["violent_rate_2022"].to_numpy(dtype=float)
    inp, out = tmp_path / "in.npz", tmp_path / "out.npz"
    np.savez(inp, y=y, data=m.data, indices=m.indices, indptr=m.indptr, shape=np.array(m.shape), R=R)
    subprocess.run([sys.executable, "-c", _ESDA_LOCAL_MORAN, str(inp), str(out)], check=True, timeout=300)
    theirs = np.load(out)
    np.testing.assert_allclose(ours.frame["lisa_i"], theirs["Is"], atol=1e-12)
    np.testing.assert_array_equal(ours.frame["lisa_quadrant"], theirs["q"])
    p1 = ours.frame["lisa_p"].to_numpy()
    p2 = np.asarray(theirs["p_sim"])
    se = np.sqrt(np.maximum(p1 * (1 - p1), 1e-4) / R)
    assert (np.abs(p1 - p2) < 5 * np.sqrt(2) * se + 2 / (R + 1)).all()


# ---------------------------------------------------------------------- tail and floor (issue 10, items 2 and 12)


def test_tail_is_the_side_whose_count_gives_the_pseudo_p():
    from geo.stats._permutation import permutation_tail

    n_ge = np.array([0, 999, 500, 3, 999])
    n_le = np.array([999, 0, 500, 997, 999])
    assert permutation_tail(n_ge, n_le).tolist() == [1, -1, 0, 1, 0]
    # the tail agrees with the observed lag's place in the simulated lags
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, size=36)
    table = NeighbourTable.from_sparse(lattice_matrix(6, 6))
    sims = simulated_lags(x, table, permutations=499, seed=8)
    ge, le = permutation_counts(x, table, permutations=499, seed=8)
    median_side = np.sign(table.lag(x) - np.median(sims, axis=0))
    tail = permutation_tail(ge, le)
    clear = np.minimum(ge, le) < 100  # well inside one tail
    np.testing.assert_array_equal(tail[clear], median_side[clear])


def test_permutation_floor_and_min_permutations():
    from geo.errors import ValueDomainError
    from geo.stats.significance import min_permutations, permutation_floor

    assert permutation_floor(999) == pytest.approx(2 / 1000)
    assert permutation_floor(999, "folded") == pytest.approx(1 / 1000)
    # the floor is what pseudo_p_value gives for an extreme unit
    assert pseudo_p_value(np.array([0]), np.array([999]), 999, alternative="two-sided")[0] == permutation_floor(999)
    assert pseudo_p_value(np.array([0]), np.array([999]), 999)[0] == permutation_floor(999, "folded")
    assert min_permutations(0.05) == 39  # 2 / 40 = 0.05
    assert min_permutations(0.05, "folded") == 19
    assert min_permutations(0.001) == 1999
    for cut in (0.05, 0.0123, 0.001, 3.7e-4):
        for alt in ("two-sided", "folded"):
            r = min_permutations(cut, alt)
            k = 2 if alt == "two-sided" else 1
            assert k / (r + 1) <= cut < k / r  # r is the smallest
    with pytest.raises(ValueDomainError, match="positive"):
        min_permutations(-1.0)
    with pytest.raises(ValueDomainError, match="permutations must be 99 to 99,999"):
        permutation_floor(0)
