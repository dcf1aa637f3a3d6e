"""The faster paths of issue 16 give exactly the numbers of the slower ones they replaced.

Each reference below is the former code, kept here: the chained mapping of
sequential draws, the global Moran's permutation test on ``rng.permuted`` of a
broadcast vector, and the global test inside local_moran equal to running it alone.
"""

from __future__ import annotations

import numpy as np
import pytest

from geo.stats._permutation import pseudo_p_value, sample_without_replacement
from geo.stats.moran import local_moran, moran_statistic
from geo.stats.weights import build_weights, weights_from_matrix
from tests.helpers.lattices import lattice_matrix


def _chained_samples(n: int, size: int, reps: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((reps, size), dtype=np.int64)
    taken = np.empty((reps, 0), dtype=np.int64)
    for m in range(size):
        u = rng.integers(0, n - m, size=reps, dtype=np.int64)
        for j in range(m):
            u += u >= taken[:, j]
        out[:, m] = u
        taken = np.sort(out[:, : m + 1], axis=1)
    return out


@pytest.mark.parametrize(("n", "size"), [(3, 3), (10, 5), (459, 16), (100_000, 40)])
def test_sequential_draws_equal_the_chained_mapping(n, size):
    new = sample_without_replacement(n, size, 3000, np.random.default_rng(n))
    old = _chained_samples(n, size, 3000, np.random.default_rng(n))
    np.testing.assert_array_equal(new, old)
    assert all(len(set(row)) == size for row in new[:300])


def _global_p_reference(z, w, permutations, seed):
    """The global test as it was: rng.permuted of the broadcast vector, block by block."""
    z = z - z.mean()
    n = z.size
    s0 = float(w.sum())
    zz = float(z @ z)
    i_obs = n / s0 * float(z @ (w @ z)) / zz
    rng = np.random.default_rng(seed)
    tol = 1e-10 * abs(i_obs) + 1e-14
    n_ge = n_le = done = 0
    block = max(1, 2_000_000 // n)
    while done < permutations:
        b = min(block, permutations - done)
        zp = rng.permuted(np.broadcast_to(z, (b, n)), axis=1)
        sims = n / s0 * np.einsum("ij,ij->i", zp, (w @ zp.T).T) / zz
        n_ge += int((sims >= i_obs - tol).sum())
        n_le += int((sims <= i_obs + tol).sum())
        done += b
    return float(pseudo_p_value(np.array(n_ge), np.array(n_le), permutations, alternative="two-sided"))


def test_global_moran_in_place_shuffle_equals_permuted_of_broadcast():
    w = weights_from_matrix(lattice_matrix(30, 30)).matrix("R")
    rng = np.random.default_rng(4)
    gradient = np.repeat(np.arange(30.0), 30) * 0.05
    for z in (rng.normal(size=900), rng.normal(size=900) + gradient, np.round(rng.normal(size=900) * 2)):
        for seed in (1, 12345):
            got = moran_statistic(z, w, permutations=5000, seed=seed).p_sim
            assert got == _global_p_reference(z, w, 5000, seed)


def test_local_moran_global_test_equals_running_it_alone(npa_2022):
    w = build_weights(npa_2022, method="queen")
    res = local_moran(npa_2022, "violent_rate_2022", weights=w, permutations=999, seed=7)
    z = res.frame["lisa_z"].dropna().to_numpy()
    alone = moran_statistic(z, w.subset(npa_2022["violent_rate_2022"].notna().to_numpy()).matrix("R"),
                            permutations=999, seed=7)  # fmt: skip
    assert res.global_moran == alone
    again = local_moran(npa_2022, "violent_rate_2022", weights=w, permutations=999, seed=7)
    assert again.frame.equals(res.frame) and again.global_moran == res.global_moran
