"""Moran's I and LISA: hand-computed lattice values, GeoDa (pygeoda) on the real NPAs, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.errors import CRSError, EmptyInputError, SchemaError, ValueDomainError
from geo.stats.moran import LISA_LABELS, local_moran, local_moran_rate, moran, moran_rate
from geo.stats.weights import build_weights
from tests.helpers.lattices import lattice_gdf

# 3x3 lattice, x = 1..9 row-major, rook contiguity. By hand (z = x - 5):
#   row-standardised lags of z: [-2, -2, -1, -2/3, 0, 2/3, 1, 2, 2]
#   z * lag: [8, 6, 2, 2/3, 0, 2/3, 2, 6, 8], sum 100/3; z'z = 60
#   I = (n / S0) z'Wz / z'z = (9/9) (100/3) / 60 = 5/9
#   I_i = (n-1)/n * (z_i/sd) * lag_i/sd = (8/9)(9/60) z_i lag_i = (2/15) z_i lag_i
HAND_LAG = np.array([-2, -2, -1, -2 / 3, 0, 2 / 3, 1, 2, 2])
HAND_II = 2 / 15 * np.array([8, 6, 2, 2 / 3, 0, 2 / 3, 2, 6, 8])


@pytest.fixture
def lattice():
    return lattice_gdf(3, 3, np.arange(1, 10))


def test_global_moran_by_hand(lattice):
    res = moran(lattice, "v", weights="rook", permutations=999, seed=1)
    assert res.I == pytest.approx(5 / 9)
    assert res.statistic.expected == pytest.approx(-1 / 8)
    sd = np.sqrt(60 / 9)
    np.testing.assert_allclose(res.frame["moran_z"], (np.arange(1, 10) - 5) / sd)
    np.testing.assert_allclose(res.frame["moran_lag"], HAND_LAG / sd)
    # binary weights: z'Wz = 2 * 40 over 12 rook links, S0 = 24: I = (9/24)(80/60) = 1/2
    assert moran(lattice, "v", weights="rook", permutations=0, transform="B").I == pytest.approx(0.5)
    assert 0 < res.p_sim < 0.05
    assert "v" in lattice.columns and "moran_z" not in lattice.columns  # input untouched


def test_global_moran_analytic_moments_match_esda(lattice):
    esda = pytest.importorskip("esda")
    w = build_weights(lattice, method="rook")
    ours = moran(lattice, "v", weights=w, permutations=0).statistic
    theirs = esda.Moran(lattice["v"].to_numpy(), w.graph.transform("r"), permutations=0)
    assert ours.I == pytest.approx(theirs.I)
    assert ours.z_norm == pytest.approx(theirs.z_norm)
    assert ours.z_rand == pytest.approx(theirs.z_rand)
    assert ours.p_rand == pytest.approx(theirs.p_rand)


def test_local_moran_by_hand(lattice):
    res = local_moran(lattice, "v", weights="rook", permutations=999, seed=1)
    f = res.frame
    np.testing.assert_allclose(f["lisa_i"], HAND_II, atol=1e-12)
    assert f["lisa_i"].sum() == pytest.approx(8 * 5 / 9)  # sum I_i = (n - 1) I
    assert f["lisa_quadrant"].tolist() == [3, 3, 3, 3, 3, 1, 1, 1, 1]  # z = 0 counts as low
    assert res.global_moran.I == pytest.approx(5 / 9)
    # 9 units: warned as too few for local inference, but computed
    assert res.too_few_for_local_inference
    small = [w for w in res.warnings if w.code == "small_sample"]
    assert len(small) == 1 and "too few for local inference" in str(small[0])


def test_local_moran_pseudo_p_exact_on_small_lattice(lattice):
    # Corner unit 0 (x = 1) has rook neighbours x = 2 and 4 (sum 6). Under
    # conditional permutation its 2 neighbours are any 2 of {2..9}: 28 pairs. As
    # z_0 < 0, a permuted I_0 is at least the observed one when the pair sums to
    # 6 or less: {2,3}, {2,4} -> 2 of 28. Folded p ~ 1/14.
    R = 99_999
    res = local_moran(lattice, "v", weights="rook", permutations=R, seed=4, alternative="folded")
    assert res.frame["lisa_p"].iloc[0] == pytest.approx(1 / 14, abs=5 * np.sqrt(1 / 14 / R))


def test_labels_isolated_undefined_and_significance():
    rng = np.random.default_rng(3)
    v = rng.normal(size=36)
    v[:9] += 4  # a high corner
    g = lattice_gdf(6, 6, v)
    g.loc[[20, 29, 34, 35], "v"] = np.nan  # undefined
    res = local_moran(g, "v", weights="rook", permutations=999, seed=2)
    labels = res.frame["lisa_cluster"]
    assert set(labels) <= set(LISA_LABELS)
    assert (labels[[20, 29, 34, 35]] == "Undefined").all()
    assert res.undefined == (20, 29, 34, 35)
    assert res.counts["Undefined"] == 4
    assert res.frame.loc[[20, 29], "lisa_p"].isna().all()
    hh = res.frame.loc[labels == "High-High"]
    assert (hh["lisa_z"] > 0).all() and (hh["lisa_lag"] > 0).all() and (hh["lisa_p"] <= 0.05).all()
    assert (res.frame.loc[labels == "Not significant", "lisa_p"] > 0.05).all()
    # isolate: unit 28 keeps only undefined / absent rook neighbours
    g2 = g.copy()
    g2.loc[[22, 27], "v"] = np.nan  # 28's rook neighbours: 22, 27, 29, 34
    res2 = local_moran(g2, "v", weights="rook", permutations=99, seed=1)
    assert res2.frame.loc[28, "lisa_cluster"] == "Isolated"
    assert np.isnan(res2.frame.loc[28, "lisa_p"]) and np.isnan(res2.frame.loc[28, "lisa_i"])
    assert 28 in res2.islands


def test_corrections_shrink_significance():
    rng = np.random.default_rng(5)
    v = rng.normal(size=100)
    v[:30] += 2.5
    g = lattice_gdf(10, 10, v)
    base = local_moran(g, "v", weights="queen", permutations=999, seed=1, alpha=0.05)
    fdr = local_moran(g, "v", weights="queen", permutations=999, seed=1, alpha=0.05, correction="fdr")
    bon = local_moran(g, "v", weights="queen", permutations=999, seed=1, alpha=0.05, correction="bonferroni")
    n_sig = [r.frame["lisa_significant"].sum() for r in (base, fdr, bon)]
    assert n_sig[0] >= n_sig[1] >= n_sig[2]
    assert bon.cutoff == pytest.approx(0.05 / 100)
    # Benjamini-Hochberg by hand
    p = np.sort(base.frame["lisa_p"].to_numpy())
    k = np.nonzero(p <= 0.05 * np.arange(1, 101) / 100)[0]
    assert fdr.cutoff == (p[k[-1]] if k.size else -1.0)


def test_never_mutates_weights_or_layer(lattice):
    w = build_weights(lattice, method="queen")
    before = w.base.copy()
    snapshot = lattice.copy()
    local_moran(lattice, "v", weights=w, permutations=99, seed=0)
    moran(lattice, "v", weights=w, permutations=99, seed=0)
    assert (w.base != before).nnz == 0
    pd.testing.assert_frame_equal(lattice, snapshot)


def test_accepts_a_libpysal_graph(lattice):
    from libpysal.graph import Graph

    graph = Graph.build_contiguity(lattice, rook=True)
    res = local_moran(lattice, "v", weights=graph, permutations=99, seed=0)
    np.testing.assert_allclose(res.frame["lisa_i"], HAND_II, atol=1e-12)
    with pytest.raises(ValueDomainError, match="another layer"):
        local_moran(lattice.iloc[:8], "v", weights=graph, permutations=99)


def test_refuses_to_overwrite_columns(lattice):
    g = lattice.assign(lisa_p=1.0)
    with pytest.raises(SchemaError, match="'lisa_p' already present"):
        local_moran(g, "v", weights="rook", permutations=99)
    assert "x_p" in local_moran(g, "v", weights="rook", permutations=99, prefix="x_").frame


# ---------------------------------------------------------------------- bad input


def test_bad_variables(lattice):
    with pytest.raises(SchemaError, match="'nope' is not a column.*v"):
        local_moran(lattice, "nope", weights="rook")
    with pytest.raises(SchemaError, match="must be numeric.*'a'"):
        local_moran(lattice.assign(s=list("abcabcabc")), "s", weights="rook")
    with pytest.raises(EmptyInputError, match="all 9 are missing"):
        local_moran(lattice.assign(e=np.nan), "e", weights="rook")
    with pytest.raises(ValueDomainError, match="same value"):
        local_moran(lattice.assign(c=2.0), "c", weights="rook")
    with pytest.raises(ValueDomainError, match="only 2 unit"):
        local_moran(lattice.assign(c=[1.0, 2.0] + [np.nan] * 7), "c", weights="rook")
    with pytest.raises(ValueDomainError, match="permutations must be 99 to 99,999"):
        local_moran(lattice, "v", weights="rook", permutations=10)
    with pytest.raises(ValueDomainError, match="alpha"):
        local_moran(lattice, "v", weights="rook", alpha=5)
    with pytest.raises(ValueDomainError, match="correction"):
        local_moran(lattice, "v", weights="rook", correction="holm")


def test_bad_layers(lattice):
    with pytest.raises(CRSError, match="no CRS"):
        local_moran(lattice.set_crs(None, allow_override=True), "v", weights="queen")
    with pytest.raises(CRSError, match="geographic"):
        local_moran(lattice.set_crs("EPSG:4326", allow_override=True), "v", weights="distance")
    w = build_weights(lattice, method="queen")
    with pytest.raises(ValueDomainError, match="another layer"):
        local_moran(lattice.iloc[::-1], "v", weights=w)
    with pytest.raises(ValueDomainError, match="unique"):
        build_weights(lattice.assign(id=[1] * 9), method="queen", id_column="id")


def test_zero_and_missing_denominators_are_undefined():
    g = lattice_gdf(5, 5, np.arange(25.0), column="crimes")
    g["pop"] = 100.0 + np.arange(25)
    g.loc[3, "pop"] = 0.0
    g.loc[7, "pop"] = np.nan
    g.loc[11, "crimes"] = np.nan
    res = local_moran_rate(g, events="crimes", base="pop", weights="queen", permutations=99, seed=1)
    assert res.frame.loc[[3, 7, 11], "lisa_cluster"].eq("Undefined").all()
    assert res.undefined == (3, 7, 11)
    with pytest.raises(ValueDomainError, match="negative"):
        local_moran_rate(g.assign(pop=-1.0), events="crimes", base="pop", weights="queen")
    with pytest.raises(EmptyInputError, match="positive base"):
        local_moran_rate(g.assign(pop=0.0), events="crimes", base="pop", weights="queen")


# ---------------------------------------------------------------------- GeoDa on the real NPA layer


@pytest.fixture(scope="module")
def npa(npa_2022):
    return npa_2022


@pytest.fixture(scope="module")
def geoda(npa):
    pygeoda = pytest.importorskip("pygeoda")
    # pygeoda segfaults on GeometryCollections: the helper keeps polygons only
    assert npa.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    gd = pygeoda.open(npa[["npa", "violent_rate_2022", "geometry"]])
    return pygeoda, pygeoda.queen_weights(gd)


def test_npa_subset_is_the_documented_one(npa):
    assert len(npa) == 371
    rate = npa["violent_crimes_2022"] / (npa["rate_pop_2022"] / 1000)
    np.testing.assert_allclose(npa["violent_rate_2022"], rate)


def test_lisa_matches_geoda_on_npas(npa, geoda):
    pygeoda, gw = geoda
    R = 9999
    y = npa["violent_rate_2022"].tolist()
    gl = pygeoda.local_moran(gw, y, permutations=R, seed=123, cpu_threads=1)
    res = local_moran(npa, "violent_rate_2022", weights="queen", permutations=R, seed=1, alternative="folded")
    f = res.frame
    np.testing.assert_allclose(f["lisa_i"], gl.lisa_values(), atol=1e-6)
    np.testing.assert_allclose(f["lisa_i"], gl.lisa_values(), atol=1e-12)  # in fact to rounding
    # global I: GeoDa's Moran scatterplot slope, from its own spatial lag of the standardised values
    yv = np.asarray(y)
    z = (yv - yv.mean()) / yv.std()
    lag = np.asarray(gw.spatial_lag(z.tolist()))
    assert res.global_moran.I == pytest.approx(float(z @ lag / (z @ z)), abs=1e-6)
    assert res.global_moran.I == pytest.approx(sum(gl.lisa_values()) / (len(yv) - 1), abs=1e-9)
    # pseudo p-values within Monte Carlo error (independent random streams)
    p_ours = f["lisa_p"].to_numpy()
    p_geoda = np.asarray(gl.lisa_pvalues())
    se = np.sqrt(np.maximum(p_ours * (1 - p_ours), 1e-4) / R)
    assert (np.abs(p_ours - p_geoda) <= 5 * np.sqrt(2) * se + 2 / (R + 1)).all()
    # cluster labels agree wherever both p-values are clearly away from the cutoff
    names = gl.lisa_labels()
    theirs = np.array([names[c] for c in gl.lisa_clusters()])
    far = np.minimum(np.abs(p_ours - 0.05), np.abs(p_geoda - 0.05)) > 4 * np.sqrt(0.05 * 0.95 / R)
    assert far.sum() > 300
    np.testing.assert_array_equal(f["lisa_cluster"].to_numpy()[far], theirs[far])


def test_lisa_with_undefined_units_matches_geoda_on_defined_subset(npa, geoda, npa_layer):
    # The full 459-NPA layer with 88 units lacking a 2022 rate gives, for the 371
    # others, exactly what GeoDa computes on the 371 alone.
    pygeoda, gw = geoda
    full = npa_layer
    res = local_moran(full, "violent_rate_2022", weights="queen", permutations=99, seed=1)
    defined = full["violent_rate_2022"].notna()
    assert res.counts["Undefined"] == (~defined).sum() == 88
    gl = pygeoda.local_moran(gw, npa["violent_rate_2022"].tolist(), permutations=99)
    np.testing.assert_allclose(res.frame.loc[defined, "lisa_i"], gl.lisa_values(), atol=1e-9)


def test_lisa_eb_rate_matches_geoda(npa, geoda):
    pygeoda, gw = geoda
    res = local_moran_rate(
        npa, events="violent_crimes_2022", base="rate_pop_2022", weights="queen", permutations=999, seed=1
    )
    gl = pygeoda.sa.moran.local_moran_eb(
        gw, npa["violent_crimes_2022"].tolist(), npa["rate_pop_2022"].tolist(), permutations=999
    )
    np.testing.assert_allclose(res.frame["lisa_i"], gl.lisa_values(), atol=1e-6)


def test_moran_rate_matches_esda(npa):
    esda = pytest.importorskip("esda")
    w = build_weights(npa, method="queen")
    ours = moran_rate(npa, events="violent_crimes_2022", base="rate_pop_2022", weights=w, permutations=0)
    theirs = esda.Moran_Rate(
        npa["violent_crimes_2022"].to_numpy(), npa["rate_pop_2022"].to_numpy(), w.graph.transform("r"), permutations=0
    )
    assert ours.I == pytest.approx(theirs.I, abs=1e-9)
    assert ours.statistic.z_rand == pytest.approx(theirs.z_rand, abs=1e-6)


# ---------------------------------------------------------------------- one error for a constant variable (issue 10, item 6)

CONSTANT = r"has the same value \(0\) in every unit tested: there is no spatial pattern to test"


def test_a_constant_variable_gives_the_same_error_everywhere(lattice):
    g = lattice.assign(violent_crimes_2022=0.0, pop=1000.0)
    for run in (
        lambda: moran(g, "violent_crimes_2022", weights="rook", permutations=0),
        lambda: local_moran(g, "violent_crimes_2022", weights="rook", permutations=99),
    ):
        with pytest.raises(ValueDomainError, match="^violent_crimes_2022 " + CONSTANT):
            run()
    # all-zero counts: the rate is 0 everywhere (old code: "a value in only 0 unit(s)")
    for run in (
        lambda: moran_rate(g, events="violent_crimes_2022", base="pop", weights="rook", permutations=0),
        lambda: local_moran_rate(g, events="violent_crimes_2022", base="pop", weights="rook", permutations=99),
    ):
        with pytest.raises(ValueDomainError, match="^the rate violent_crimes_2022/pop " + CONSTANT):
            run()
