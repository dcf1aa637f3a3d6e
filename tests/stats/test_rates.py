"""Rates and smoothing: hand-computed values, esda, never negative, undefined denominators."""

from __future__ import annotations

import numpy as np
import pytest

from geo.errors import SchemaError, ValueDomainError
from geo.stats.rates import add_rate, eb_standardize, empirical_bayes, excess_risk, raw_rate, spatial_empirical_bayes
from geo.stats.weights import build_weights
from tests.helpers.lattices import lattice_gdf, lattice_matrix


def test_raw_and_excess_risk_by_hand():
    e = np.array([1.0, 4.0, 0.0, 5.0])
    b = np.array([10.0, 20.0, 0.0, 70.0])
    np.testing.assert_allclose(raw_rate(e, b), [0.1, 0.2, np.nan, 5 / 70])
    # overall rate 10 / 100: expected counts 1, 2, -, 7
    np.testing.assert_allclose(excess_risk(e, b), [1.0, 2.0, np.nan, 5 / 7])


def test_empirical_bayes_by_hand():
    # rates .1, .6, 2/70; m = 15/100 = .15
    # s2 = (10 * .05^2 + 20 * .45^2 + 70 * (.15 - 2/70)^2) / 100 = 0.0510714...
    # a = s2 - m / mean(b) = s2 - .15 / (100/3) = 0.0465714...
    e = np.array([1.0, 12.0, 2.0])
    b = np.array([10.0, 20.0, 70.0])
    r = e / b
    m = 0.15
    s2 = (10 * 0.05**2 + 20 * 0.45**2 + 70 * (0.15 - 2 / 70) ** 2) / 100
    a = s2 - m / (100 / 3)
    assert a == pytest.approx(0.0465714, abs=1e-7)
    expected = a / (a + m / b) * r + (1 - a / (a + m / b)) * m
    np.testing.assert_allclose(empirical_bayes(e, b), expected)


def test_eb_never_negative_where_esda_is():
    esda = pytest.importorskip("esda.smoothing")
    # near-homogeneous Poisson rates: the between-area variance estimate is negative,
    # and esda's aspatial EB turns one rate negative
    e = np.array([15.0, 22.0, 7.0, 24.0, 7.0, 7.0])
    b = np.array([1307.0, 2234.0, 892.0, 2556.0, 602.0, 421.0])
    theirs = esda.Empirical_Bayes(e, b).r.ravel()
    assert (theirs < 0).any()  # the problem the brief warns about
    ours = empirical_bayes(e, b)
    assert (ours >= 0).all()
    np.testing.assert_allclose(ours, e.sum() / b.sum())  # a clamped to 0: all shrink to the mean


def test_eb_matches_esda_when_variance_positive(npa_2022):
    esda = pytest.importorskip("esda.smoothing")
    g = npa_2022
    e = g["violent_crimes_2022"].to_numpy()
    b = g["rate_pop_2022"].to_numpy()
    np.testing.assert_allclose(empirical_bayes(e, b), esda.Empirical_Bayes(e, b).r.ravel(), rtol=1e-10)
    np.testing.assert_allclose(eb_standardize(e, b), esda.assuncao_rate(e, b), rtol=1e-10)


def test_spatial_eb_matches_esda_and_is_non_negative(npa_2022):
    esda = pytest.importorskip("esda.smoothing")
    g = npa_2022
    w = build_weights(g, method="queen")
    e = g["violent_crimes_2022"].to_numpy()
    b = g["rate_pop_2022"].to_numpy()
    ours = spatial_empirical_bayes(e, b, w.base)
    wl = w.graph.to_W()
    theirs = esda.Spatial_Empirical_Bayes(e, b, wl).r.ravel()
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    assert (ours >= 0).all()


def test_spatial_eb_by_hand_on_a_path():
    # path 0 - 1 - 2; neighbourhood of 0 is {0, 1}
    e = np.array([1.0, 3.0, 10.0])
    b = np.array([10.0, 30.0, 20.0])
    w = lattice_matrix(1, 3, queen=False)
    out = spatial_empirical_bayes(e, b, w)
    r = e / b
    m0 = 4 / 40
    s2 = (10 * (r[0] - m0) ** 2 + 30 * (r[1] - m0) ** 2) / 40
    a0 = max(0.0, s2 - m0 / 20)
    w0 = a0 / (a0 + m0 / 10) if a0 > 0 else 0.0
    assert out[0] == pytest.approx(w0 * r[0] + (1 - w0) * m0)


def test_add_rate_layer_and_undefined():
    g = lattice_gdf(3, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9], column="crimes")
    g["pop"] = [100, 200, 0, 400, np.nan, 600, 700, 800, 900]
    res = add_rate(g, events="crimes", base="pop", method="raw", multiplier=1000)
    assert res.frame.loc[0, "crimes_raw"] == pytest.approx(10.0)
    assert res.undefined == (2, 4)
    assert "crimes_raw" not in g
    for method in ("eb", "spatial_eb", "excess_risk"):
        r = add_rate(g, events="crimes", base="pop", method=method, weights="queen")
        vals = r.frame[r.column]
        assert vals[[2, 4]].isna().all() and (vals.dropna() >= 0).all()
    with pytest.raises(SchemaError, match="already present"):
        add_rate(res.frame, events="crimes", base="pop", method="raw")
    with pytest.raises(ValueDomainError, match="rate method"):
        add_rate(g, events="crimes", base="pop", method="smooth")
    with pytest.raises(SchemaError, match="must be numeric"):
        add_rate(g.assign(pop="x"), events="crimes", base="pop")


def test_eb_standardize_esda_and_geoda_conventions_when_the_prior_variance_is_negative():
    esda = pytest.importorskip("esda.smoothing")
    # near-homogeneous rates: the method-of-moments prior variance a comes out negative
    e = np.array([15.0, 22.0, 7.0, 24.0, 7.0, 7.0])
    b = np.array([1307.0, 2234.0, 892.0, 2556.0, 602.0, 421.0])
    r, m = e / b, e.sum() / b.sum()
    a = (b * (r - m) ** 2).sum() / b.sum() - m / b.mean()
    assert a < 0
    geoda_by_hand = (r - m) / np.sqrt(m / b)  # GeoDa sets a to 0 for every unit
    esda_by_hand = (r - m) / np.sqrt(np.where(a + m / b < 0, m / b, a + m / b))
    np.testing.assert_allclose(eb_standardize(e, b), esda.assuncao_rate(e, b), rtol=1e-12)
    np.testing.assert_allclose(eb_standardize(e, b), esda_by_hand, rtol=1e-12)
    np.testing.assert_allclose(eb_standardize(e, b, variance="geoda"), geoda_by_hand, rtol=1e-12)
    # they agree only where a + m / b_i < 0 (there esda falls back to m / b_i too)
    same = np.isclose(eb_standardize(e, b), eb_standardize(e, b, variance="geoda"), rtol=1e-12)
    np.testing.assert_array_equal(same, a + m / b < 0)
    assert same.sum() == 1
    lib = pytest.importorskip("pygeoda.libgeoda")
    out, undefined = lib.VecDouble([0.0] * len(e)), lib.VecBool([False] * len(e))
    lib.gda_rateStandardizeEB(lib.VecDouble(b.tolist()), lib.VecDouble(e.tolist()), out, undefined)
    np.testing.assert_allclose(eb_standardize(e, b, variance="geoda"), list(out), rtol=1e-12)
    with pytest.raises(ValueDomainError, match="variance must be 'esda' or 'geoda'"):
        eb_standardize(e, b, variance="R")


def test_eb_standardize_conventions_agree_when_the_prior_variance_is_positive(npa_2022):
    e = npa_2022["violent_crimes_2022"].to_numpy()
    b = npa_2022["rate_pop_2022"].to_numpy()
    m = e.sum() / b.sum()
    assert (b * (e / b - m) ** 2).sum() / b.sum() - m / b.mean() > 0
    np.testing.assert_allclose(eb_standardize(e, b), eb_standardize(e, b, variance="geoda"), rtol=1e-12)
