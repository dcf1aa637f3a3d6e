"""Ratio intervals of two proportions: the Koopman score interval against statsmodels and a direct inversion.

statsmodels' ``confint_proportions_2indep(..., compare="ratio", method="score")`` is the
reference (``correction=False`` is Koopman's interval, its default ``True`` the
Miettinen-Nurminen one). Where a proportion is 0 or 1 its closed-form root selection
(Nam 1995) picks the wrong roots, so those cells are checked against an independent
inversion: the constrained maximum-likelihood proportions found by ``scipy.optimize``
and the limits by ``brentq``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats
from statsmodels.stats.proportion import confint_proportions_2indep

from geo.errors import ValueDomainError
from geo.stats import proportions

Z = 1.959963984540054


def _direct_score(a: int, n1: int, c: int, n2: int, phi: float) -> float:
    """The score statistic of ``p1 / p2 = phi``, the constrained MLE by bounded numerical maximisation."""

    def nll(p2: float) -> float:
        return -(stats.binom.logpmf(a, n1, phi * p2) + stats.binom.logpmf(c, n2, p2))

    top = min(1.0, 1.0 / phi)
    p2 = optimize.minimize_scalar(nll, bounds=(1e-12, top - 1e-12), method="bounded", options={"xatol": 1e-13}).x
    p1 = phi * p2
    return (a / n1 - phi * c / n2) / math.sqrt(p1 * (1 - p1) / n1 + phi**2 * p2 * (1 - p2) / n2)


def _direct_interval(a: int, n1: int, c: int, n2: int) -> tuple[float, float]:
    ratio = (a / n1) / (c / n2)
    centre = math.log(max(ratio, 1e-6))
    hi = math.exp(optimize.brentq(lambda x: _direct_score(a, n1, c, n2, math.exp(x)) + Z, centre + 1e-9, 20))
    if a == 0:
        return 0.0, hi
    lo = math.exp(optimize.brentq(lambda x: _direct_score(a, n1, c, n2, math.exp(x)) - Z, -20, centre - 1e-9))
    return lo, hi


def _interior_cases() -> list[tuple[int, int, int, int]]:
    rng = np.random.default_rng(13)
    cases = [(2, 3, 37, 2004), (6, 83, 910, 37880), (6157, 77655, 910, 37880), (1, 106, 37, 2004), (1, 2, 1, 3)]
    for _ in range(60):
        n1, n2 = (int(v) for v in rng.integers(2, 400, 2))
        cases.append((int(rng.integers(1, n1)), n1, int(rng.integers(1, n2)), n2))
    return cases


@pytest.mark.parametrize("correction", [False, True])
def test_score_interval_equals_statsmodels(correction):
    cases = np.array(_interior_cases(), dtype=float)
    ratio, lo, hi = proportions.ratio_interval(*cases.T, correction=correction)
    for (a, n1, c, n2), r, lo_i, hi_i in zip(cases, ratio, lo, hi, strict=True):
        ref_lo, ref_hi = confint_proportions_2indep(
            a, n1, c, n2, compare="ratio", method="score", correction=correction
        )
        assert r == pytest.approx((a / n1) / (c / n2), rel=1e-12)
        assert lo_i == pytest.approx(ref_lo, rel=1e-8)
        assert hi_i == pytest.approx(ref_hi, rel=1e-8)


@pytest.mark.parametrize(
    "cell",
    [(0, 10, 5, 20), (0, 6, 64, 225), (4, 4, 130, 187), (8, 288, 61, 61), (1, 1, 1, 1), (3, 3, 2, 2), (2, 3, 37, 2004)],
)
def test_score_interval_at_zero_and_full_cells_equals_direct_inversion(cell):
    ratio, lo, hi = proportions.ratio_interval(*cell)
    ref_lo, ref_hi = _direct_interval(*cell)
    assert float(lo) == pytest.approx(ref_lo, rel=1e-7, abs=1e-12)
    assert float(hi) == pytest.approx(ref_hi, rel=1e-7)
    assert float(lo) <= float(ratio) <= float(hi)


def test_small_cell_interval_central_native_american():
    # Central Division searches: Native American drivers 2 of 3, White drivers 37 of 2,004
    ratio, lo, hi = proportions.ratio_interval(2, 3, 37, 2004)
    assert float(ratio) == pytest.approx(36.108108, rel=1e-6)
    assert (float(lo), float(hi)) == pytest.approx((10.884555, 61.220976), rel=1e-6)
    # the log (Katz) interval the tables used before: too narrow at the bottom, too wide at the top
    _, log_lo, log_hi = proportions.ratio_interval(2, 3, 37, 2004, method="log")
    se = math.sqrt(1 / 2 - 1 / 3 + 1 / 37 - 1 / 2004)
    assert float(log_lo) == pytest.approx(36.108108 * math.exp(-Z * se), rel=1e-6)
    assert float(log_hi) == pytest.approx(36.108108 * math.exp(Z * se), rel=1e-6)
    assert (round(float(log_lo), 1), round(float(log_hi), 1)) == (15.3, 85.5)


def test_zero_counts():
    ratio, lo, hi = proportions.ratio_interval([0, 3, 3, 3], [10, 10, 0, 10], [5, 0, 5, 5], [20, 20, 20, 0])
    # no events in the group: ratio 0, interval from 0 to a finite limit
    assert ratio[0] == 0.0 and lo[0] == 0.0 and 0 < hi[0] < np.inf
    # the reference has no events, or a denominator is 0: no ratio and no interval
    assert np.isnan(ratio[1:]).all() and np.isnan(lo[1:]).all() and np.isnan(hi[1:]).all()
    # the log method has no interval at a zero count
    _, log_lo, log_hi = proportions.ratio_interval(0, 10, 5, 20, method="log")
    assert np.isnan(log_lo) and np.isnan(log_hi)


def test_score_statistic_decreases_and_crosses_at_the_limits():
    a, n1, c, n2 = 6.0, 83.0, 910.0, 37880.0
    phi = np.geomspace(0.2, 50, 400)
    zs = proportions.ratio_score(np.full_like(phi, a), n1, c, n2, phi)
    assert (np.diff(zs) < 0).all()
    _, lo, hi = proportions.ratio_interval(a, n1, c, n2)
    assert float(proportions.ratio_score(a, n1, c, n2, lo)) == pytest.approx(Z, abs=1e-8)
    assert float(proportions.ratio_score(a, n1, c, n2, hi)) == pytest.approx(-Z, abs=1e-8)


def test_unknown_method():
    with pytest.raises(ValueDomainError, match="Unknown ratio interval method 'exact'; allowed: 'score', 'log'"):
        proportions.ratio_interval(1, 2, 1, 2, method="exact")


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.01])
def test_wilson_and_poisson_equal_statsmodels_and_scipy_stats_to_the_bit(alpha):
    """The numpy Wilson and Garwood intervals against proportion_confint and chi2.ppf, compared exactly."""
    from statsmodels.stats.proportion import proportion_confint

    rng = np.random.default_rng(5)
    n = np.concatenate([[0, 1, 2, 7], rng.integers(0, 200_000, 5_000)]).astype(float)
    c = np.floor(rng.random(len(n)) * (n + 1))
    c[:4] = [0, 1, 0, 7]
    lo, hi = proportions.wilson(c, n, alpha=alpha)
    ok = n > 0
    want_lo, want_hi = proportion_confint(c[ok], n[ok], alpha=alpha, method="wilson")
    assert np.array_equal(lo[ok], want_lo) and np.array_equal(hi[ok], want_hi)
    assert np.isnan(lo[~ok]).all() and np.isnan(hi[~ok]).all()
    k = np.concatenate([np.arange(0.0, 3_000.0), rng.integers(0, 10**7, 2_000), [np.nan, -1.0, 0.5]])
    lo, hi = proportions.poisson_interval(k, alpha=alpha)
    want_lo = np.where(k > 0, stats.chi2.ppf(alpha / 2, 2 * k) / 2, 0.0)
    want_hi = stats.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2
    assert np.array_equal(lo, want_lo, equal_nan=True) and np.array_equal(hi, want_hi, equal_nan=True)


def test_the_headline_statistics_import_neither_scipy_stats_nor_statsmodels():
    """The landing page's headline waits for geo.analysis.disparity: scipy.stats and statsmodels take seconds."""
    from tests.helpers.imports import imported_by

    assert imported_by(["geo.analysis.disparity"], ["scipy.stats", "statsmodels"]) == []
