"""Getis-Ord Gi*: hand-computed lattice values, esda and GeoDa on the real NPAs, bins and FDR."""

from __future__ import annotations

import numpy as np
import pytest

from geo.errors import ValueDomainError
from geo.stats.getisord import GI_LABELS, confidence_bins, local_gstar
from geo.stats.weights import build_weights
from tests.helpers.lattices import lattice_gdf

# 3x3 lattice, x = 1..9, rook neighbours plus self (binary). n = 9, mean 5,
# S = sqrt(mean(x^2) - 25) = sqrt(285/9 - 25) = sqrt(20/3).
#   corner 0: 1 + 2 + 4 = 7, W = 3, S1 = 3: z = (7 - 15) / (S sqrt((27 - 9)/8)) = -8 / sqrt(15)
#   edge 1:   2 + 1 + 3 + 5 = 11, W = 4:    z = (11 - 20) / (S sqrt((36 - 16)/8)) = -9 / sqrt(50/3)
#   centre 4: 5 + 2 + 4 + 6 + 8 = 25, W = 5: z = 0
#   corner 8: 9 + 6 + 8 = 23:                z = +8 / sqrt(15)
# GeoDa's G*: row-standardised self-inclusive lag over sum(x) = 45: corner 0 -> (7/3)/45.


@pytest.fixture
def lattice():
    return lattice_gdf(3, 3, np.arange(1, 10))


def test_gstar_by_hand(lattice):
    res = local_gstar(lattice, "v", weights="rook")
    z = res.frame["gi_z"].to_numpy()
    assert z[0] == pytest.approx(-8 / np.sqrt(15))
    assert z[1] == pytest.approx(-9 / np.sqrt(50 / 3))
    assert z[4] == pytest.approx(0.0, abs=1e-12)
    assert z[8] == pytest.approx(8 / np.sqrt(15))
    assert res.frame["gi_g"].iloc[0] == pytest.approx(7 / 3 / 45)
    # two-sided normal p of z = 8/sqrt(15) = 2.066 is 0.0389: 95 % hot spot
    assert res.frame["gi_p"].iloc[8] == pytest.approx(0.03886, abs=1e-4)
    assert res.frame["gi_bin"].iloc[8] == 2
    assert res.frame["gi_label"].iloc[8] == "Hot Spot with 95% Confidence"
    assert res.frame["gi_bin"].iloc[0] == -2
    assert res.frame["gi_bin"].iloc[4] == 0
    assert res.too_few_for_local_inference


def test_z_scores_match_esda_binary_gstar():
    esda = pytest.importorskip("esda")
    rng = np.random.default_rng(0)
    g = lattice_gdf(8, 8, rng.gamma(2.0, size=64))
    w = build_weights(g, method="queen")
    ours = local_gstar(g, "v", weights=w)
    theirs = esda.G_Local(g["v"].to_numpy(), w.graph, star=1.0, transform="B", permutations=0)
    np.testing.assert_allclose(ours.frame["gi_z"], theirs.Zs, atol=1e-10)


def test_kernel_gstar_uses_kernel_self_weight():
    rng = np.random.default_rng(2)
    g = lattice_gdf(6, 6, rng.gamma(2.0, size=36))
    w = build_weights(g, method="kernel", kernel="triangular", bandwidth=2.5)
    res = local_gstar(g, "v", weights=w, permutations=999, seed=1)
    assert res.extra["self_weight"] == 1.0
    # independent dense computation
    a = w.matrix().toarray()
    np.fill_diagonal(a, 1.0)
    x = g["v"].to_numpy()
    n = x.size
    s = np.sqrt((x**2).mean() - x.mean() ** 2)
    wi, s1 = a.sum(1), (a**2).sum(1)
    z = (a @ x - x.mean() * wi) / (s * np.sqrt((n * s1 - wi**2) / (n - 1)))
    np.testing.assert_allclose(res.frame["gi_z"], z, atol=1e-10)
    assert np.isfinite(res.frame["gi_p_sim"]).all()


def test_confidence_bins_and_fdr():
    z = np.array([3.0, -2.7, 2.0, 1.7, 1.0, -1.7, np.nan])
    p = np.array([0.001, 0.007, 0.045, 0.09, 0.3, 0.09, np.nan])
    bins, _ = confidence_bins(z, p)
    assert bins.tolist() == [3, -3, 2, 1, 0, -1, 0]
    fbins, cut = confidence_bins(z, p, correction="fdr")
    # Benjamini-Hochberg over the 6 finite p-values (sorted .001 .007 .045 .09 .09 .3):
    #   99 %: i * .01/6  -> .001 <= .0017, .007 > .0033          -> cutoff .001
    #   95 %: i * .05/6  -> .007 <= .0167, .045 > .025 ...       -> cutoff .007
    #   90 %: i * .10/6  -> .045 <= .05, .09 > .0667, .09 > .083 -> cutoff .045
    assert cut == {3: 0.001, 2: 0.007, 1: 0.045}
    assert fbins.tolist() == [3, -2, 1, 0, 0, 0, 0]


def test_gstar_on_npas_matches_geoda_and_p_within_mc_error(npa_2022):
    pygeoda = pytest.importorskip("pygeoda")
    g = npa_2022
    gd = pygeoda.open(g[["npa", "violent_rate_2022", "geometry"]])
    gw = pygeoda.queen_weights(gd)
    R = 9999
    res = local_gstar(
        g, "violent_rate_2022", weights="queen", permutations=R, seed=1, inference="permutation", alternative="folded"
    )
    gg = pygeoda.local_gstar(gw, g["violent_rate_2022"].tolist(), permutations=R, cpu_threads=1)
    gval = np.asarray(gg.lisa_values())
    np.testing.assert_allclose(res.frame["gi_g"], gval, atol=1e-6, rtol=0)
    np.testing.assert_allclose(res.frame["gi_g"], gval, rtol=1e-12)
    # GeoDa reports G*, not z: turn its G* into the Getis-Ord z (binary weights plus self)
    x = g["violent_rate_2022"].to_numpy()
    n = x.size
    card = np.array([len(gw.get_neighbors(i)) for i in range(n)]) + 1
    lagstar = gval * x.sum() * card
    s = np.sqrt((x**2).mean() - x.mean() ** 2)
    z_geoda = (lagstar - x.mean() * card) / (s * np.sqrt((n * card - card**2) / (n - 1)))
    np.testing.assert_allclose(res.frame["gi_z"], z_geoda, atol=1e-6)
    p1 = res.frame["gi_p_sim"].to_numpy()
    p2 = np.asarray(gg.lisa_pvalues())
    se = np.sqrt(np.maximum(p1 * (1 - p1), 1e-4) / R)
    assert (np.abs(p1 - p2) <= 5 * np.sqrt(2) * se + 2 / (R + 1)).all()
    # GeoDa's clusters: High-High / Low-Low where p <= 0.05; our 95 % bins where p clearly away
    names = gg.lisa_labels()
    theirs = np.array([names[c] for c in gg.lisa_clusters()])
    far = np.minimum(np.abs(p1 - 0.05), np.abs(p2 - 0.05)) > 4 * np.sqrt(0.05 * 0.95 / R)
    ours_hot = (res.frame["gi_bin"] >= 2).to_numpy()
    ours_cold = (res.frame["gi_bin"] <= -2).to_numpy()
    np.testing.assert_array_equal(ours_hot[far], (theirs == "High-High")[far])
    np.testing.assert_array_equal(ours_cold[far], (theirs == "Low-Low")[far])


def test_undefined_isolated_and_bad_arguments():
    g = lattice_gdf(4, 4, np.arange(16.0))
    g.loc[[1, 4], "v"] = np.nan  # unit 0's rook neighbours are 1 and 4 -> isolated
    res = local_gstar(g, "v", weights="rook")
    assert res.frame.loc[[1, 4], "gi_label"].eq("Undefined").all()
    assert res.frame.loc[0, "gi_label"] == "Isolated" and np.isnan(res.frame.loc[0, "gi_z"])
    assert set(res.frame["gi_label"]) <= set(GI_LABELS)
    with pytest.raises(ValueDomainError, match="needs permutations"):
        local_gstar(g, "v", weights="rook", inference="permutation", permutations=0)


# ---------------------------------------------------------------------- issue 10: direction, alpha, constants

CENTRE, RING = 44, [33, 34, 35, 43, 45, 53, 54, 55]  # unit 44 of a 10x10 lattice and its queen neighbours


def _high_among_zeros():
    """A 150 among eight 0s on a Poisson(8) background: z > 0, but the neighbours are lower than any draw."""
    v = np.random.default_rng(0).poisson(8, 100).astype(float)
    v[CENTRE], v[RING] = 150.0, 0.0
    return lattice_gdf(10, 10, v)


def test_permutation_bin_follows_the_significant_tail_not_the_sign_of_z():
    g = _high_among_zeros()
    res = local_gstar(g, "v", weights="queen", permutations=999, seed=1, inference="permutation")
    row = res.frame.loc[CENTRE]
    assert row["gi_z"] > 1.5 and row["gi_p_sim"] == pytest.approx(2 / 1000)  # the numbers
    # old code: "Hot Spot with 99% Confidence" from the sign of z
    assert row["gi_bin"] == -3 and row["gi_label"] == "Cold Spot with 99% Confidence"
    assert row["gi_tail"] == -1
    assert res.extra["direction_conflicts"] == (CENTRE,)
    conflict = [w for w in res.warnings if w.code == "direction_conflict"]
    assert len(conflict) == 1
    assert conflict[0].text.startswith("1 significant unit(s) have a Gi* z-score whose sign disagrees")
    assert "(ids 44)" in conflict[0].text and "follows the permutation tail" in conflict[0].text
    # every other significant unit: tail and z agree, and the bin has their sign
    sig = res.frame["gi_bin"] != 0
    assert (np.sign(res.frame.loc[sig, "gi_bin"]) == res.frame.loc[sig, "gi_tail"]).all()


def test_normal_inference_keeps_the_sign_of_z():
    g = _high_among_zeros()
    res = local_gstar(g, "v", weights="queen", permutations=999, seed=1, inference="normal")
    assert "gi_tail" in res.frame  # reported whenever permuted
    sig = res.frame["gi_bin"] != 0
    assert sig.any()
    assert (np.sign(res.frame.loc[sig, "gi_bin"]) == np.sign(res.frame.loc[sig, "gi_z"])).all()
    assert res.extra["direction_conflicts"] == ()
    assert "direction_conflict" not in {w.code for w in res.warnings}
    assert "gi_tail" not in local_gstar(g, "v", weights="queen").frame


def test_alpha_keeps_only_the_levels_at_or_below_it(lattice):
    z = np.array([3.0, -2.7, 2.0, 1.7, 1.0, -1.7, np.nan])
    p = np.array([0.001, 0.007, 0.045, 0.09, 0.3, 0.09, np.nan])
    assert confidence_bins(z, p, alpha=0.05)[0].tolist() == [3, -3, 2, 0, 0, 0, 0]
    for a in (0.01, 0.02):
        bins, cut = confidence_bins(z, p, alpha=a)
        assert bins.tolist() == [3, -3, 0, 0, 0, 0, 0] and cut == {3: 0.01}
    assert confidence_bins(z, p, alpha=0.05, correction="fdr")[1] == {3: 0.001, 2: 0.007}
    # unit 8 of the 1..9 lattice: p = 0.0389, a 95 % hot spot
    default = local_gstar(lattice, "v", weights="rook")
    assert default.alpha == 0.10 and default.cutoff == 0.10 and default.frame["gi_bin"].iloc[8] == 2
    at05 = local_gstar(lattice, "v", weights="rook", alpha=0.05)
    assert at05.alpha == 0.05 and at05.cutoff == 0.05 and at05.frame["gi_bin"].iloc[8] == 2
    at01 = local_gstar(lattice, "v", weights="rook", alpha=0.01)
    assert at01.alpha == 0.01 and at01.cutoff == 0.01
    assert at01.frame["gi_label"].iloc[8] == "Not Significant"
    assert at01.extra["cutoffs"] == {3: 0.01}
    assert "alpha 0.01, correction none, p cutoff 0.01" in at01.summary()
    with pytest.raises(ValueDomainError, match="alpha must be at least 0.01; got 0.005"):
        local_gstar(lattice, "v", weights="rook", alpha=0.005)
    with pytest.raises(ValueDomainError, match="alpha must be between 0 and 1"):
        local_gstar(lattice, "v", weights="rook", alpha=1.5)


def test_fdr_cutoff_is_reported_at_the_weakest_level_kept():
    rng = np.random.default_rng(5)
    v = rng.gamma(2.0, size=100)
    v[[0, 1, 10, 11]] += 12.0  # a hot corner
    g = lattice_gdf(10, 10, v)
    res = local_gstar(g, "v", weights="queen", correction="fdr", alpha=0.05)
    assert set(res.extra["cutoffs"]) == {2, 3}
    assert res.cutoff == res.extra["cutoffs"][2]
    p = res.frame["gi_p"].to_numpy()
    np.testing.assert_array_equal(res.frame["gi_bin"].abs() >= 2, p <= res.cutoff)


@pytest.mark.parametrize("value", [0.0, 4.0])
def test_a_constant_variable_is_refused(value):
    g = lattice_gdf(4, 4, np.full(16, value), column="violent_crimes_2022")
    with pytest.raises(
        ValueDomainError,
        match=rf"violent_crimes_2022 has the same value \({value:g}\) in every unit tested: there is no spatial pattern",
    ):
        local_gstar(g, "violent_crimes_2022", weights="rook")
