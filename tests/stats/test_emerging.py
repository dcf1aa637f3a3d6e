"""Emerging hot spots: every category from constructed series and from constructed cubes."""

from __future__ import annotations

import numpy as np
import pytest

from geo.errors import SchemaError, ValueDomainError
from geo.stats.emerging import EHSA_CATEGORIES, classify_emerging, emerging_hotspots, mann_kendall, spacetime_weights
from tests.helpers.lattices import lattice_gdf, lattice_matrix

# ---------------------------------------------------------------------- Mann-Kendall


def test_mann_kendall_by_hand():
    # [1, 3, 2, 4]: 5 concordant pairs, 1 discordant: S = 4
    # var = 4 * 3 * 13 / 18; z = (S - 1) / sqrt(var); tau = 4 / 6
    mk = mann_kendall(np.array([[1, 3, 2, 4], [1, 1, 2, 2]], dtype=float))
    assert mk.s[0] == 4
    assert mk.var_s[0] == pytest.approx(4 * 3 * 13 / 18)
    assert mk.z[0] == pytest.approx(3 / np.sqrt(4 * 3 * 13 / 18))
    assert mk.tau[0] == pytest.approx(4 / 6)
    assert mk.p[0] == pytest.approx(0.3081, abs=1e-4)
    # [1, 1, 2, 2]: S = 4; two tie groups of 2: var = (4*3*13 - 2 * 2*1*9) / 18
    assert mk.s[1] == 4
    assert mk.var_s[1] == pytest.approx((156 - 36) / 18)


def test_mann_kendall_matches_scipy_kendalltau_without_ties():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 12))
    mk = mann_kendall(x)
    for row, tau in zip(x, mk.tau, strict=True):
        assert tau == pytest.approx(stats.kendalltau(np.arange(12), row).statistic)


def _mann_kendall_loop(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """The former row-by-row tie correction (np.unique per tied row), kept as the reference."""
    from geo.stats.significance import two_sided_normal_p

    x = np.atleast_2d(np.asarray(x, dtype=float))
    _, t = x.shape
    s = np.zeros(x.shape[0])
    for a in range(t - 1):
        s += np.sign(x[:, a + 1 :] - x[:, a : a + 1]).sum(axis=1)
    var_s = np.full(x.shape[0], t * (t - 1) * (2 * t + 5) / 18.0)
    srt = np.sort(x, axis=1)
    for r in np.nonzero((np.diff(srt, axis=1) == 0).any(axis=1))[0]:
        g = np.unique(srt[r], return_counts=True)[1]
        var_s[r] -= (g * (g - 1) * (2 * g + 5)).sum() / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var_s > 0, (s - np.sign(s)) / np.sqrt(var_s), 0.0)
    return s, var_s, z, two_sided_normal_p(z), s / (t * (t - 1) / 2)


def _tied_series(seed: int, n: int = 400, t: int = 12) -> np.ndarray:
    """Small integers (many ties, all-equal rows), some NaNs, infinities and signed zeros."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, rng.integers(1, 6, n)[:, None], (n, t)).astype(float)
    x[rng.random((n, t)) < 0.05] = np.nan
    x[rng.random((n, t)) < 0.02] = np.inf
    x[rng.random((n, t)) < 0.02] = -np.inf
    x[rng.random((n, t)) < 0.05] = -0.0
    x[:20] = rng.normal(size=(20, t))  # no ties at all
    return x


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mann_kendall_equals_the_former_loop(seed):
    x = _tied_series(seed)
    with np.errstate(invalid="ignore"):  # inf - inf, in both versions alike
        assert np.isnan(x).any(axis=1).sum() > 50 and (np.diff(np.sort(x), axis=1) == 0).any(axis=1).sum() > 200
        mk, ref_all = mann_kendall(x), _mann_kendall_loop(x)
    for ours, ref in zip((mk.s, mk.var_s, mk.z, mk.p, mk.tau), ref_all, strict=True):
        np.testing.assert_array_equal(ours, ref)  # bit for bit, NaN where the loop gives NaN
    for shape in ((0, 5), (1, 2), (3, 3)):
        for ours, ref in zip(
            vars(mann_kendall(np.zeros(shape))).values(), _mann_kendall_loop(np.zeros(shape)), strict=True
        ):
            np.testing.assert_array_equal(ours, ref)


def test_mann_kendall_equals_pymannkendall_with_ties():
    pmk = pytest.importorskip("pymannkendall")
    x = _tied_series(5, n=60)
    x = x[np.isfinite(x).all(axis=1) & (np.ptp(np.where(np.isfinite(x), x, 0), axis=1) > 0)]
    assert len(x) > 20
    mk = mann_kendall(x)
    for i, row in enumerate(x):
        ref = pmk.original_test(row)
        np.testing.assert_allclose([mk.s[i], mk.var_s[i], mk.tau[i]], [ref.s, ref.var_s, ref.Tau], rtol=1e-12)
        np.testing.assert_allclose([mk.z[i], mk.p[i]], [ref.z, ref.p], rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------- classification rules

H, C, N = 3.0, -3.0, 0.5  # hot, cold, not significant z-scores (p follows from |z|)


def _series(*rows):
    z = np.array(rows, dtype=float)
    p = np.where(np.abs(z) >= 2, 0.01, 0.5)
    return z, p


CASES = {
    "New Hot Spot": [N, N, N, N, N, N, N, N, N, H],
    "Consecutive Hot Spot": [N, N, N, N, N, N, N, H, H, H],
    "Intensifying Hot Spot": [2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7, 2.8, 2.9, 3.0],
    "Persistent Hot Spot": [3.0, 2.5, 3.1, 2.4, 3.0, 2.5, 3.1, 2.4, 3.0, 2.5],
    "Diminishing Hot Spot": [3.0, 2.9, 2.8, 2.7, 2.6, 2.5, 2.4, 2.3, 2.2, 2.1],
    "Sporadic Hot Spot": [N, H, N, N, H, H, N, N, N, H],
    "Oscillating Hot Spot": [N, C, N, N, N, N, N, N, H, H],
    "Historical Hot Spot": [H, H, H, H, H, H, H, H, H, N],
    "New Cold Spot": [N, N, N, N, N, N, N, N, N, C],
    "Consecutive Cold Spot": [N, N, N, N, N, N, C, C, C, C],
    "Intensifying Cold Spot": [-2.1, -2.2, -2.3, -2.4, -2.5, -2.6, -2.7, -2.8, -2.9, -3.0],
    "Persistent Cold Spot": [-3.0, -2.5, -3.1, -2.4, -3.0, -2.5, -3.1, -2.4, -3.0, -2.5],
    "Diminishing Cold Spot": [-3.0, -2.9, -2.8, -2.7, -2.6, -2.5, -2.4, -2.3, -2.2, -2.1],
    "Sporadic Cold Spot": [C, N, C, N, N, N, N, N, N, C],
    "Oscillating Cold Spot": [H, H, H, H, H, H, H, H, H, C],
    "Historical Cold Spot": [C, C, C, C, C, C, C, C, C, N],
    "No Pattern Detected": [N, H, H, N, C, N, N, N, N, N],
}


def test_every_category_from_constructed_series():
    names = list(CASES)
    z, p = _series(*CASES.values())
    labels = classify_emerging(z, p, alpha=0.05)
    assert dict(zip(names, labels, strict=True)) == {k: k for k in names}
    assert set(names) | {"Isolated", "Undefined"} == set(EHSA_CATEGORIES)


def test_ninety_percent_rule_and_precedence():
    # 10 steps: 9 hot steps meet the 90 % rule, 8 do not
    z9, p9 = _series([H, H, H, H, H, N, H, H, H, H])
    assert classify_emerging(z9, p9)[0] == "Persistent Hot Spot"
    z8, p8 = _series([H, H, H, N, H, N, H, H, H, H])
    assert classify_emerging(z8, p8)[0] == "Sporadic Hot Spot"
    # a single hot run preceded by an earlier hot step is sporadic, not consecutive
    z, p = _series([N, H, N, N, N, N, N, H, H, H])
    assert classify_emerging(z, p)[0] == "Sporadic Hot Spot"
    # 20 steps: 18 hot (90 %) but the final one not -> historical
    z, p = _series([H] * 18 + [N, N])
    assert classify_emerging(z, p)[0] == "Historical Hot Spot"
    # trend threshold decides between intensifying and persistent
    zt, pt = _series(CASES["Intensifying Hot Spot"])
    assert classify_emerging(zt, pt, trend_alpha=1e-9)[0] == "Persistent Hot Spot"


def test_undefined_rows_and_too_few_steps():
    z, p = _series([H, H, np.nan])
    assert classify_emerging(z, p)[0] == "Undefined"
    with pytest.raises(ValueDomainError, match="at least 3 time steps; got 2"):
        classify_emerging(np.zeros((1, 2)), np.ones((1, 2)))


# ---------------------------------------------------------------------- space-time weights


def test_spacetime_weights_by_hand():
    # two units side by side (0 - 1), three steps, lag 1; bin = t * 2 + i
    w = spacetime_weights(lattice_matrix(1, 2), 3, time_lag=1).toarray()
    # bin 2 = (unit 0, step 1): same-step neighbour bin 3; previous step bins 0 and 1
    assert np.nonzero(w[2])[0].tolist() == [0, 1, 3]
    # step 0 has no past
    assert np.nonzero(w[0])[0].tolist() == [1]
    # the whole matrix: same-step links plus links to the previous step, none to the future
    expected = np.array(
        [
            [0, 1, 0, 0, 0, 0],
            [1, 0, 0, 0, 0, 0],
            [1, 1, 0, 1, 0, 0],
            [1, 1, 1, 0, 0, 0],
            [0, 0, 1, 1, 0, 1],
            [0, 0, 1, 1, 1, 0],
        ]
    )
    np.testing.assert_array_equal(w, expected)
    w0 = spacetime_weights(lattice_matrix(1, 2), 3, time_lag=0).toarray()
    assert w0.sum() == 6  # 3 steps x 2 directed same-step links


# ---------------------------------------------------------------------- constructed cubes, end to end

T = 10
BLOCK = [30, 31, 32, 39, 40, 41, 48, 49, 50]  # the 3x3 queen neighbourhood of unit 40 in a 9x9 lattice
_ = None
CUBES = {
    "New Hot Spot": [_] * 9 + [16],
    "Consecutive Hot Spot": [_] * 7 + [16] * 3,
    "Intensifying Hot Spot": list(np.linspace(13, 22, T)),
    "Persistent Hot Spot": [16.3, 15.7] * 5,
    "Diminishing Hot Spot": list(np.linspace(22, 13, T)),
    "Sporadic Hot Spot": [_, _, 16, _, _, 16, _, _, _, 16],
    "Oscillating Hot Spot": [_, 4, 4, _, _, _, _, _, 16, 16],
    "Historical Hot Spot": [16] * 9 + [_],
    "New Cold Spot": [_] * 9 + [4],
    "Consecutive Cold Spot": [_] * 7 + [4] * 3,
    "Intensifying Cold Spot": list(np.linspace(7, 1, T)),
    "Persistent Cold Spot": [4.3, 3.7] * 5,
    "Diminishing Cold Spot": list(np.linspace(1, 7, T)),
    "Sporadic Cold Spot": [_, _, 4, _, _, 4, _, _, _, 4],
    "Oscillating Cold Spot": [_, 16, 16, _, _, _, _, _, 4, 4],
    "Historical Cold Spot": [4] * 9 + [_],
    "No Pattern Detected": [_] * 10,
}


def _cube(pattern):
    """9x9 lattice, values ~ 10 (sd 0.2); the block around unit 40 set by `pattern` (None: background)."""
    rng = np.random.default_rng(0)
    vals = rng.normal(10, 0.2, size=(81, T))
    for t, v in enumerate(pattern):
        if v is not None:
            vals[BLOCK, t] = v
    g = lattice_gdf(9, 9)
    for t in range(T):
        g[f"y{2013 + t}"] = vals[:, t]
    return g


@pytest.mark.parametrize("category", list(CUBES))
def test_every_category_from_a_constructed_cube(category):
    g = _cube(CUBES[category])
    res = emerging_hotspots(
        g,
        columns=[f"y{2013 + t}" for t in range(T)],
        weights="queen",
        time_lag=0,
        permutations=0,
        alpha=0.05,
        correction="none",  # the cubes are built for raw alpha; the FDR per step is tested below
    )
    assert res.frame.loc[40, "ehsa_category"] == category
    assert res.z.shape == (81, T)
    assert res.counts[category] >= 1


def test_cube_with_time_lag_and_permutations():
    g = _cube(CUBES["Persistent Hot Spot"])
    cols = [f"y{2013 + t}" for t in range(T)]
    res = emerging_hotspots(g, columns=cols, weights="queen", time_lag=1, permutations=999, seed=3, alpha=0.05)
    assert res.frame.loc[40, "ehsa_category"] == "Persistent Hot Spot"
    assert (res.p.loc[40] <= 2 / 1000).all()  # the smallest two-sided pseudo p with 999 permutations
    # with lag 1 the first step has fewer neighbours, but all z are finite
    assert np.isfinite(res.z.to_numpy()).all()
    again = emerging_hotspots(g, columns=cols, weights="queen", time_lag=1, permutations=999, seed=3, alpha=0.05)
    np.testing.assert_array_equal(res.p.to_numpy(), again.p.to_numpy())


def test_emerging_bad_input():
    g = _cube(CUBES["New Hot Spot"])
    cols = [f"y{2013 + t}" for t in range(T)]
    with pytest.raises(ValueDomainError, match="at least 3 time steps; got 2"):
        emerging_hotspots(g, columns=cols[:2], permutations=0)
    with pytest.raises(SchemaError, match="'y1999'"):
        emerging_hotspots(g, columns=[*cols[:3], "y1999"], permutations=0)
    with pytest.raises(SchemaError, match="must be numeric"):
        emerging_hotspots(g.assign(y2013="a"), columns=cols, permutations=0)
    dup = g.copy()
    dup.index = [0] * 2 + list(range(2, 81))
    with pytest.raises(ValueDomainError, match="unique"):
        emerging_hotspots(dup, columns=cols, permutations=0)
    g2 = g.copy()
    g2.loc[5, "y2015"] = np.nan
    res = emerging_hotspots(g2, columns=cols, permutations=0)
    assert res.frame.loc[5, "ehsa_category"] == "Undefined"
    assert res.undefined == (5,)
    assert np.isnan(res.z.loc[5]).all()


def test_spacetime_gstar_matches_a_dense_loop_implementation():
    rng = np.random.default_rng(9)
    n_side, steps, lag = 4, 5, 2
    g = lattice_gdf(n_side, n_side)
    values = rng.gamma(3.0, size=(n_side * n_side, steps))
    cols = [f"c{t}" for t in range(steps)]
    for t, c in enumerate(cols):
        g[c] = values[:, t]
    res = emerging_hotspots(g, columns=cols, weights="rook", time_lag=lag, permutations=0)
    # independent: explicit loops over bins, binary weights including the bin itself
    nb = {i: set() for i in range(16)}
    for i in range(16):
        r, c = divmod(i, 4)
        for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
            if 0 <= r + dr < 4 and 0 <= c + dc < 4:
                nb[i].add((r + dr) * 4 + c + dc)
    x = values.T.ravel()  # bin = t * 16 + i
    nbins = x.size
    xbar, s = x.mean(), x.std()
    for t in range(steps):
        for i in range(16):
            members = {t * 16 + i} | {t * 16 + j for j in nb[i]}
            for back in range(1, lag + 1):
                if t - back >= 0:
                    members |= {(t - back) * 16 + j for j in nb[i] | {i}}
            w = len(members)
            z = (sum(x[m] for m in members) - xbar * w) / (s * np.sqrt((nbins * w - w * w) / (nbins - 1)))
            assert res.z.iloc[i, t] == pytest.approx(z, rel=1e-10)


# ---------------------------------------------------------------------- issue 10: FDR per step, direction, islands


def _noisy_cube(seed=1, steps=6):
    """10x10 lattice with gamma noise and a hot corner block that fades in: a spread of p-values per step."""
    rng = np.random.default_rng(seed)
    g = lattice_gdf(10, 10)
    cols = [f"c{2015 + t}" for t in range(steps)]
    for t, c in enumerate(cols):
        v = rng.gamma(2.0, size=100)
        v[[0, 1, 2, 10, 11, 12, 20, 21, 22]] += 0.6 * t
        g[c] = v
    return g, cols


def test_fdr_is_applied_to_each_step_and_matches_statsmodels():
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests
    g, cols = _noisy_cube()
    res = emerging_hotspots(g, columns=cols, weights="queen", time_lag=1, permutations=0, alpha=0.05)
    assert res.correction == "fdr"
    assert set(res.extra["cutoffs"]) == set(cols)
    assert "alpha 0.05 (fdr correction per step)" in res.summary().splitlines()[0]
    sig = res.hot | res.cold
    for step in cols:
        expected = multipletests(res.p[step].to_numpy(), alpha=0.05, method="fdr_bh")[0]
        np.testing.assert_array_equal(sig[step].to_numpy(), expected, err_msg=step)
    np.testing.assert_array_equal(res.hot.to_numpy(), sig.to_numpy() & (res.z.to_numpy() > 0))
    np.testing.assert_array_equal(res.frame["ehsa_hot_steps"], res.hot.sum(axis=1))
    np.testing.assert_array_equal(res.frame["ehsa_cold_steps"], res.cold.sum(axis=1))
    # without correction: every p <= alpha is significant, more bins than with FDR
    raw = emerging_hotspots(g, columns=cols, weights="queen", time_lag=1, permutations=0, alpha=0.05, correction="none")
    assert raw.correction == "none" and set(raw.extra["cutoffs"].values()) == {0.05}
    np.testing.assert_array_equal((raw.hot | raw.cold).to_numpy(), raw.p.to_numpy() <= 0.05)
    assert sig.to_numpy().sum() < (raw.hot | raw.cold).to_numpy().sum()
    bon = emerging_hotspots(g, columns=cols, weights="queen", permutations=0, alpha=0.05, correction="bonferroni")
    assert set(bon.extra["cutoffs"].values()) == {0.05 / 100}
    with pytest.raises(ValueDomainError, match="correction must be one of"):
        emerging_hotspots(g, columns=cols, permutations=0, correction="holm")


def test_categories_use_the_significance_after_correction():
    g = _cube(CUBES["Diminishing Hot Spot"])  # the last step (13 against ~10) passes raw alpha only
    cols = [f"y{2013 + t}" for t in range(T)]
    kw = dict(weights="queen", time_lag=0, permutations=0, alpha=0.05)
    raw = emerging_hotspots(g, columns=cols, correction="none", **kw)
    fdr = emerging_hotspots(g, columns=cols, **kw)
    assert raw.frame.loc[40, "ehsa_category"] == "Diminishing Hot Spot"
    assert raw.hot.loc[40, "y2022"] and not fdr.hot.loc[40, "y2022"]
    assert fdr.extra["cutoffs"]["y2022"] < fdr.p.loc[40, "y2022"] <= 0.05
    assert fdr.frame.loc[40, "ehsa_category"] == "Historical Hot Spot"


def test_permuted_bins_take_the_direction_of_the_significant_tail():
    rng = np.random.default_rng(0)
    g = lattice_gdf(10, 10)
    cols = ["a2019", "a2020", "a2021", "a2022"]
    for c in cols:
        v = rng.poisson(8, 100).astype(float)
        v[44], v[[33, 34, 35, 43, 45, 53, 54, 55]] = 150.0, 0.0  # a 150 among eight 0s, every step
        g[c] = v
    res = emerging_hotspots(g, columns=cols, time_lag=0, permutations=999, seed=2, alpha=0.05, correction="none")
    assert (res.z.loc[44] > 0).all() and (res.p.loc[44] <= 2 / 1000).all()
    # old code: "Persistent Hot Spot" from the sign of z
    assert res.cold.loc[44].all() and not res.hot.loc[44].any()
    assert res.frame.loc[44, "ehsa_category"] == "Persistent Cold Spot"
    assert {(44, c) for c in cols} <= set(res.extra["direction_conflicts"])
    assert "direction_conflict" in {w.code for w in res.warnings}
    # normal p: the sign of z, and no conflict
    normal = emerging_hotspots(g, columns=cols, time_lag=0, permutations=0, alpha=0.05, correction="none")
    assert not normal.cold.loc[44].any() and normal.extra["direction_conflicts"] == ()


@pytest.mark.parametrize("lag", [0, 1])
def test_islands_are_isolated_and_counted(lag):
    import geopandas as gpd
    import pandas as pd
    import shapely

    g, cols = _noisy_cube(steps=4)
    far = gpd.GeoDataFrame({c: [5.0] for c in cols}, geometry=[shapely.box(50, 50, 51, 51)], crs=g.crs)
    g = gpd.GeoDataFrame(pd.concat([g, far], ignore_index=True), geometry="geometry", crs=g.crs)
    res = emerging_hotspots(g, columns=cols, weights="queen", time_lag=lag, permutations=0)
    # old code: "Undefined", and not counted as such
    assert res.frame.loc[100, "ehsa_category"] == "Isolated"
    assert res.counts["Isolated"] == 1 and res.counts["Undefined"] == 0
    assert res.islands == (100,) and res.undefined == ()
    assert "islands" in {w.code for w in res.warnings}
    assert res.z.loc[100].isna().all() and not res.hot.loc[100].any() and not res.cold.loc[100].any()
    assert sum(res.counts.values()) == len(g)


def test_a_constant_cube_is_refused():
    g = lattice_gdf(4, 4)
    cols = ["violent_crimes_2020", "violent_crimes_2021", "violent_crimes_2022"]
    for c in cols:
        g[c] = 0.0
    with pytest.raises(
        ValueDomainError,
        match=r"violent_crimes_2020 \.\. violent_crimes_2022 has the same value \(0\) in every unit and time step",
    ):
        emerging_hotspots(g, columns=cols, permutations=0)
