"""Conditional permutation of the local multivariate Geary statistic.

The local Geary ``c_i = (1/m) sum_v sum_j w_ij (z_vi - z_vj)**2`` is not a linear
function of one spatial lag, so the sorted-search counting of
:func:`geo.stats._permutation.permutation_counts` does not apply. Expanding the
square gives, for the values ``z_pi(j)`` of the permuted neighbours,

``c_i^perm = (1/m) [S_i sum_v z_vi**2 - 2 sum_v z_vi L_v + L_q]``

with ``S_i = sum_j w_ij``, ``L_v`` the permuted lag of variable ``v`` and ``L_q``
the permuted lag of ``q = sum_v z_v**2``. Every variable is permuted with the same
unit draws (the neighbours move as whole units, as in GeoDa and esda), drawn once
as in :mod:`geo.stats._permutation` (one ordered sample of ``k_max + 1`` units per
permutation serves every unit; a unit drawn among its own neighbours takes the
value drawn at position ``k_i`` instead), and the permuted statistics are formed
block by block of units, so memory stays bounded whatever the layer's size.
"""

from __future__ import annotations

import numpy as np

from geo.stats._permutation import NeighbourTable, sample_without_replacement

__all__ = ["local_geary_values", "geary_counts"]


#: Largest number of floats held at once per (permutations x units) block and variable.
_BLOCK_ELEMENTS = 2_000_000


def local_geary_values(z: np.ndarray, table: NeighbourTable) -> np.ndarray:
    """The local multivariate Geary ``c_i`` of standardised values ``z`` (``(n, m)``); 0 for islands."""
    z = np.asarray(z, dtype=np.float64)
    if table.k_max == 0:
        return np.zeros(table.n)
    diff = z[:, None, :] - z[table.indices]  # (n, k_max, m); padding has weight 0
    c: np.ndarray = (table.weights[:, :, None] * diff**2).sum(axis=(1, 2)) / z.shape[1]
    return c


def geary_counts(
    z: np.ndarray, table: NeighbourTable, *, permutations: int, seed: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Count permuted local Geary statistics at or above, and at or below, the observed ones.

    Parameters
    ----------
    z
        ``(n, m)`` standardised values, no NaN.
    table
        Neighbour layout (self-links excluded).
    permutations
        Number of conditional permutations ``R``.
    seed
        Seed of the random generator.

    Returns
    -------
    n_ge, n_le
        ``(n,)`` counts of permutations whose ``c_i`` is ``>=`` (``<=``) the
        observed one, with a relative tolerance of ``1e-10`` for ties. Islands get
        ``R`` in both.
    """
    z = np.asarray(z, dtype=np.float64)
    n, m = z.shape
    card = table.cardinality
    n_ge = np.full(n, permutations, dtype=np.int64)
    n_le = np.full(n, permutations, dtype=np.int64)
    if n == 0 or table.k_max == 0 or permutations == 0:
        return n_ge, n_le
    rng = np.random.default_rng(seed)
    size = min(table.k_max + 1, n)
    ids = sample_without_replacement(n, size, permutations, rng)
    # (r, slot) pairs where the unit drawn at `slot` is among its own first k draws.
    r_idx, m_idx = np.nonzero(np.arange(size)[None, :] < card[ids])
    units = ids[r_idx, m_idx]
    order = np.argsort(units, kind="stable")
    r_idx, m_idx, units = r_idx[order], m_idx[order], units[order]
    columns = np.column_stack([z, (z**2).sum(axis=1)])  # (n, m + 1): the variables, then q
    observed = local_geary_values(z, table)
    s = table.weights.sum(axis=1)
    own = (z**2).sum(axis=1) * s
    tol = 1e-10 * (np.abs(observed) + own + 1e-300)
    tested = np.nonzero(card > 0)[0]
    drawn = columns[ids[:, : table.k_max]]  # (R, k_max, m + 1)
    block = max(1, _BLOCK_ELEMENTS // (permutations * (m + 1)))
    for start in range(0, tested.size, block):
        members = tested[start : start + block]
        lags = _block_lags(columns, drawn, table, ids, (r_idx, m_idx, units), members)  # (m + 1, R, b)
        cross = np.einsum("vrb,bv->rb", lags[:m], z[members])
        sims = (own[members] - 2.0 * cross + lags[m]) / m
        n_ge[members] = (sims >= observed[members] - tol[members]).sum(axis=0)
        n_le[members] = (sims <= observed[members] + tol[members]).sum(axis=0)
    return n_ge, n_le


def _block_lags(
    columns: np.ndarray,
    drawn: np.ndarray,
    table: NeighbourTable,
    ids: np.ndarray,
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
    members: np.ndarray,
) -> np.ndarray:
    """Permuted lags of every column for the units ``members`` (sorted): ``(columns, R, members)``."""
    r_idx, m_idx, units = pairs
    lags: np.ndarray = np.einsum("bk,rkv->vrb", table.weights[members], drawn, optimize=True)
    a, b = np.searchsorted(units, [members[0], members[-1] + 1])
    uu, rr, mm = units[a:b], r_idx[a:b], m_idx[a:b]
    col = np.searchsorted(members, uu)
    hit = members[np.minimum(col, members.size - 1)] == uu
    uu, rr, mm, col = uu[hit], rr[hit], mm[hit], col[hit]
    swap = columns[ids[rr, table.cardinality[uu]]] - columns[uu]  # (pairs, columns)
    # a unit occurs at most once per row of draws, so each (r, unit) pair is hit once
    lags[:, rr, col] += (table.weights[uu, mm][:, None] * swap).T
    return lags
