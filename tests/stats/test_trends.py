"""Mann-Kendall, Sen's slope, STL and the Poisson rate ratio of geo.stats.trends against pymannkendall, statsmodels, scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymannkendall as pmk
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.tsa.seasonal import STL

from geo.errors import ValueDomainError
from geo.stats.trends import mk_trend, rate_ratio, seasonal_mk_trend, sens_slope, stl_decompose


def _series(n: int, seed: int, slope: float = 0.2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    month = np.arange(n) % 12
    return rng.poisson(40 + 10 * np.sin(month / 12 * 2 * np.pi) + slope * np.arange(n)).astype(float)


@pytest.mark.parametrize(("n", "seed", "slope"), [(114, 1, 0.2), (60, 2, 0.0), (30, 3, -0.5)])
def test_mk_trend_equals_pymannkendall_original_test(n, seed, slope):
    x = _series(n, seed, slope)  # Poisson counts: many ties
    ours, ref = mk_trend(x), pmk.original_test(x)
    np.testing.assert_allclose(
        [ours.s, ours.var_s, ours.z, ours.tau, ours.slope, ours.intercept],
        [ref.s, ref.var_s, ref.z, ref.Tau, ref.slope, ref.intercept],
        rtol=1e-10,
    )
    assert ours.p == pytest.approx(ref.p, rel=1e-8, abs=1e-12)
    assert ours.direction() == ref.trend


def test_mk_trend_skips_missing_values_as_pymannkendall():
    x = _series(48, 4)
    x[[3, 17, 30]] = np.nan
    ours, ref = mk_trend(x), pmk.original_test(x)
    np.testing.assert_allclose([ours.s, ours.var_s, ours.p, ours.slope], [ref.s, ref.var_s, ref.p, ref.slope])
    assert ours.n == 45


@pytest.mark.parametrize(("n", "seed"), [(114, 5), (120, 6), (36, 7)])
def test_seasonal_mk_equals_pymannkendall_seasonal_test(n, seed):
    x = _series(n, seed)  # 114 months: the last year is half a cycle
    ours, ref = seasonal_mk_trend(x, period=12), pmk.seasonal_test(x, period=12)
    np.testing.assert_allclose(
        [ours.s, ours.var_s, ours.z, ours.tau, ours.slope], [ref.s, ref.var_s, ref.z, ref.Tau, ref.slope], rtol=1e-10
    )
    # pymannkendall's 2 * (1 - cdf) loses digits below 1e-12; ours keeps them
    assert ours.p == pytest.approx(ref.p, rel=1e-8, abs=1e-12)


def test_sens_slope_equals_pymannkendall_and_a_hand_count():
    x = np.array([1.0, 3.0, 2.0, 6.0])
    # pairwise slopes: 2, 0.5, 5/3, -1, 1.5, 4 -> median of six = (1.5 + 5/3) / 2
    slope, intercept = sens_slope(x)
    assert slope == pytest.approx((1.5 + 5 / 3) / 2)
    assert intercept == pytest.approx(np.median(x) - 1.5 * slope)
    ref = pmk.sens_slope(_series(50, 8))
    np.testing.assert_allclose(sens_slope(_series(50, 8)), [ref.slope, ref.intercept])


def test_mk_trend_refuses_a_short_series():
    with pytest.raises(ValueDomainError, match="at least 4 values"):
        mk_trend([1.0, 2.0, np.nan, 3.0])
    with pytest.raises(ValueDomainError, match="2 cycles"):
        seasonal_mk_trend(np.arange(20.0), period=12)


def test_stl_equals_statsmodels_and_strengths_by_hand():
    x = _series(114, 9)
    idx = pd.date_range("2017-01-01", periods=114, freq="MS")
    res = stl_decompose(pd.Series(x, index=idx), period=12, robust=True)
    ref = STL(x, period=12, robust=True).fit()
    np.testing.assert_allclose(res.frame["trend"], ref.trend)
    np.testing.assert_allclose(res.frame["seasonal"], ref.seasonal)
    np.testing.assert_allclose(res.frame["resid"], ref.resid)
    assert res.frame.index.equals(idx)
    r = np.asarray(ref.resid)
    assert res.trend_strength == pytest.approx(max(0, 1 - r.var() / (np.asarray(ref.trend) + r).var()))
    assert res.seasonal_strength == pytest.approx(max(0, 1 - r.var() / (np.asarray(ref.seasonal) + r).var()))
    with pytest.raises(ValueDomainError, match="missing"):
        stl_decompose(pd.Series(np.r_[x[:-1], np.nan]))


def test_rate_ratio_exact_interval_is_clopper_pearson_of_the_conditional_binomial():
    a, b = np.array([120, 7, 0, 40]), np.array([100, 15, 4, 0])
    ratio, lo, hi, p = rate_ratio(a, b)
    for i in range(3):
        ci = stats.binomtest(int(a[i]), int(a[i] + b[i])).proportion_ci(confidence_level=0.95, method="exact")
        assert lo[i] == pytest.approx(ci.low / (1 - ci.low))
        assert hi[i] == pytest.approx(ci.high / (1 - ci.high))
        assert p[i] == pytest.approx(stats.binomtest(int(a[i]), int(a[i] + b[i]), 0.5).pvalue)
    np.testing.assert_allclose(ratio[:3], a[:3] / b[:3])
    assert lo[2] == 0 and np.isinf(ratio[3]) and np.isinf(hi[3])


def test_rate_ratio_wilson_uses_the_wilson_interval():
    a, b = np.array([30, 12]), np.array([20, 25])
    _, lo, hi, _ = rate_ratio(a, b, method="wilson")
    plo, phi = proportion_confint(a, a + b, method="wilson")
    np.testing.assert_allclose(lo, plo / (1 - plo))
    np.testing.assert_allclose(hi, phi / (1 - phi))
    with pytest.raises(ValueDomainError, match="non-negative"):
        rate_ratio([-1], [3])
