"""The cache-sized global Moran permutation loop and the CSR fast path of NeighbourTable give the former numbers.

The references are the former code, kept here: the global test one whole block at a time
(``np.tile`` then ``rng.permuted``), and ``NeighbourTable.from_sparse`` through COO.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

import geo.stats._permutation as permutation_module
from geo.stats._permutation import NeighbourTable
from geo.stats.moran import moran_statistic
from geo.stats.weights import weights_from_matrix
from tests.helpers.lattices import lattice_matrix


def _former_counts(z: np.ndarray, w: sparse.csr_array, permutations: int, seed: int, block_floats: int):
    """The former loop of moran_statistic: one block of permuted columns at a time."""
    z = z - z.mean()
    n = z.size
    s0 = float(w.sum())
    zz = float(z @ z)
    i_obs = n / s0 * float(z @ (w @ z)) / zz
    rng = np.random.default_rng(seed)
    tol = 1e-10 * abs(i_obs) + 1e-14
    n_ge = n_le = done = 0
    block = max(1, block_floats // n)
    sims_all = []
    while done < permutations:
        b = min(block, permutations - done)
        zt = np.tile(z[:, None], (1, b))
        rng.permuted(zt, axis=0, out=zt)
        sims = n / s0 * np.einsum("ij,ij->j", zt, w @ zt) / zz
        sims_all.append(sims)
        n_ge += int((sims >= i_obs - tol).sum())
        n_le += int((sims <= i_obs + tol).sum())
        done += b
    return n_ge, n_le, np.concatenate(sims_all)


def _values(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    side = int(np.sqrt(n))
    gradient = np.repeat(np.arange(side, dtype=float), n // side) * 0.05
    return [rng.normal(size=n), rng.normal(size=n) + gradient, np.round(rng.normal(size=n) * 2)]


@pytest.mark.parametrize(
    ("block_floats", "run_floats", "permutations"),
    [
        (2_000_000, 65_536, 999),  # the defaults: one block, cut into runs
        (2_000_000, 65_536, 4_999),  # more than one block of 2,222 columns
        (9_000, 3_000, 21),  # blocks of 10 columns, runs of 3: the last block is 1 column wide
        (9_000, 3_000, 32),  # ... and 2 columns wide
        (9_000, 1_000, 40),  # runs narrower than 3 columns are widened to 3
    ],
)
def test_global_counts_equal_the_former_block_loop(monkeypatch, block_floats, run_floats, permutations):
    monkeypatch.setattr(permutation_module, "_PERM_BLOCK", block_floats)
    monkeypatch.setattr(permutation_module, "_PERM_RUN", run_floats)
    w = weights_from_matrix(lattice_matrix(30, 30)).matrix("R")
    for z in _values(900, np.random.default_rng(4)):
        for seed in (1, 12345):
            n_ge, n_le, _ = _former_counts(z, w, permutations, seed, block_floats)
            zc = z - z.mean()
            s0, zz = float(w.sum()), float(zc @ zc)
            i_obs = zc.size / s0 * float(zc @ (w @ zc)) / zz
            got = permutation_module.global_permutation_counts(
                zc, w, i_obs, s0, zz, permutations=permutations, seed=seed
            )
            assert got == (n_ge, n_le)


def test_moran_statistic_p_sim_equals_the_former_loop():
    w = weights_from_matrix(lattice_matrix(21, 22)).matrix("R")
    for z in _values(462, np.random.default_rng(9)):
        n_ge, n_le, _ = _former_counts(z, w, 999, 3, 2_000_000)
        expected = min(1.0, 2 * (min(n_ge, n_le) + 1) / 1000)
        assert moran_statistic(z, w, permutations=999, seed=3).p_sim == expected


@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 7, 64, 255, 256, 257, 999, 4357])
def test_sub_blocks_cover_the_block_and_none_is_narrower_than_three(width):
    parts = permutation_module._sub_blocks(width, 142)
    assert sum(parts) == width
    assert all(p <= 142 for p in parts)
    if width >= 3:
        assert min(parts) >= 3
    else:
        assert parts == [width]


def test_einsum_of_column_runs_equals_the_whole_block_bit_for_bit():
    # The loop relies on it: a run of 3 or more columns sums each column in the same order as the whole block.
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(459, 999)), rng.normal(size=(459, 999))
    whole = np.einsum("ij,ij->j", a, b)
    start = 0
    for width in permutation_module._sub_blocks(999, 142):
        run = np.einsum("ij,ij->j", np.ascontiguousarray(a[:, start : start + width]), b[:, start : start + width])
        np.testing.assert_array_equal(run, whole[start : start + width])
        start += width


def _former_table(matrix) -> NeighbourTable:
    """NeighbourTable.from_sparse as it was: COO round trip, padded min/max with infinities."""
    coo = sparse.coo_array(matrix, dtype=np.float64)
    keep = (coo.row != coo.col) & (coo.data != 0)
    csr = sparse.csr_array((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=matrix.shape)
    csr.sum_duplicates()
    csr.sort_indices()
    n = csr.shape[0]
    card = np.diff(csr.indptr).astype(np.int64)
    k_max = int(card.max()) if n else 0
    rows = np.repeat(np.arange(n), card)
    slots = np.arange(csr.nnz) - np.repeat(csr.indptr[:-1], card)
    indices = np.zeros((n, k_max), dtype=np.int64)
    weights = np.zeros((n, k_max), dtype=np.float64)
    indices[rows, slots] = csr.indices
    weights[rows, slots] = csr.data
    common = np.full(n, np.nan)
    inside = np.arange(k_max) < card[:, None]
    wmax = np.where(inside, weights, -np.inf).max(axis=1)
    wmin = np.where(inside, weights, np.inf).min(axis=1)
    equal = (card > 0) & (wmax - wmin <= 1e-12 * np.abs(wmax))
    common[equal] = wmax[equal]
    return NeighbourTable(indices=indices, weights=weights, cardinality=card, common_weight=common)


def _matrices() -> list:
    lattice = sparse.csr_array(lattice_matrix(12, 10), dtype=float)
    rng = np.random.default_rng(0)
    kernel = lattice.copy()
    kernel.data = rng.uniform(0.1, 1.0, kernel.nnz)  # unequal weights
    islands = lattice.tolil()
    islands[3, :] = 0
    islands[:, 3] = 0
    islands[50, :] = 0
    with_diagonal = lattice + sparse.eye_array(120, format="csr")
    unsorted = sparse.csr_array((lattice.data[::-1], lattice.indices[::-1], lattice.indptr), shape=lattice.shape)
    return [
        lattice,
        weights_from_matrix(lattice).matrix("R"),
        kernel,
        sparse.csr_array(islands),
        with_diagonal,
        sparse.csr_matrix(lattice),
        lattice.tocoo(),
        lattice.astype(np.float32),
        unsorted,
    ]


@pytest.mark.parametrize("case", range(9))
def test_neighbour_table_fast_path_equals_the_coo_round_trip(case):
    matrix = _matrices()[case]
    got, want = NeighbourTable.from_sparse(matrix), _former_table(matrix)
    np.testing.assert_array_equal(got.indices, want.indices)
    np.testing.assert_array_equal(got.weights, want.weights)
    np.testing.assert_array_equal(got.cardinality, want.cardinality)
    np.testing.assert_array_equal(got.common_weight, want.common_weight)
