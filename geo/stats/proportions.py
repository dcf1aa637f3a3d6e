"""Proportions, ratios and counts with their uncertainty: the interval statistics of the stop analyses.

- :func:`wilson`: the Wilson score interval of a proportion (statsmodels' ``proportion_confint``).
- :func:`ratio_interval`: the ratio of two proportions with its log-method (Katz) interval.
- :func:`eb_smooth`: empirical-Bayes (beta-binomial) rates pulled toward a prior rate.
- :func:`poisson_interval`, :func:`per_population`: exact (Garwood) intervals of counts, and
  rates per N people with them.

Each is checked against statsmodels or a hand computation in ``tests/analysis``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from geo.stats.significance import Z95

__all__ = ["wilson", "ratio_interval", "eb_smooth", "poisson_interval", "per_population"]


def wilson(count: np.ndarray, nobs: np.ndarray, *, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval (``statsmodels`` ``proportion_confint(method="wilson")``); NaN where ``nobs`` is 0."""
    count = np.asarray(count, dtype=float)
    nobs = np.asarray(nobs, dtype=float)
    lo = np.full(count.shape, np.nan)
    hi = np.full(count.shape, np.nan)
    ok = nobs > 0
    if ok.any():
        lo[ok], hi[ok] = proportion_confint(count[ok], nobs[ok], alpha=alpha, method="wilson")
    return lo, hi


def ratio_interval(
    a: np.ndarray, n1: np.ndarray, c: np.ndarray, n2: np.ndarray, *, z: float = Z95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ratio of two proportions ``(a/n1) / (c/n2)`` with its log-method (Katz) interval.

    Returns
    -------
    ratio, lo, hi : numpy.ndarray
        ``ratio`` is missing when ``c`` or a denominator is 0; the interval is missing
        when ``a`` or ``c`` is 0 (the log method is undefined there).
    """
    a, n1, c, n2 = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (a, n1, c, n2)))
    ratio = np.full(a.shape, np.nan)
    lo = ratio.copy()
    hi = ratio.copy()
    ok = (n1 > 0) & (n2 > 0) & (c > 0)
    ratio[ok] = (a[ok] / n1[ok]) / (c[ok] / n2[ok])
    ci = ok & (a > 0)
    se = np.sqrt(1 / a[ci] - 1 / n1[ci] + 1 / c[ci] - 1 / n2[ci])
    lo[ci] = ratio[ci] * np.exp(-z * se)
    hi[ci] = ratio[ci] * np.exp(z * se)
    return ratio, lo, hi


def eb_smooth(count: np.ndarray, denominator: np.ndarray, *, prior_rate: float) -> tuple[np.ndarray, float]:
    """Empirical-Bayes (beta-binomial) rates pulled toward ``prior_rate``.

    With ``p0 = prior_rate``, ``p_i = x_i / n_i``, ``N = sum n_i``, ``k`` units and
    ``nbar = N / k``:

    - between-unit variance ``s2 = sum n_i (p_i - p0)^2 / N``;
    - true-rate variance ``tau2 = max(s2 - p0 (1 - p0) / nbar, 0)``;
    - prior strength ``m = p0 (1 - p0) / tau2 - 1`` (a Beta prior with mean ``p0`` and
      variance ``tau2``; ``m = inf`` when ``tau2 = 0``: every rate becomes ``p0``);
    - smoothed rate ``(x_i + m p0) / (n_i + m)``.

    Fewer than 3 units, or ``p0`` of 0 or 1, give no smoothing (``m = 0``).

    Returns
    -------
    eb_rate : numpy.ndarray
    m : float
        The prior strength, in stops: a unit with ``n_i = m`` stops is pulled halfway.
    """
    x = np.asarray(count, dtype=float)
    n = np.asarray(denominator, dtype=float)
    ok = n > 0
    out = np.full(x.shape, np.nan)
    p0 = float(prior_rate)
    k = int(ok.sum())
    if k < 3 or not (0.0 < p0 < 1.0):
        out[ok] = x[ok] / n[ok]
        return out, 0.0
    N = n[ok].sum()
    p = x[ok] / n[ok]
    s2 = float(np.sum(n[ok] * (p - p0) ** 2) / N)
    tau2 = s2 - p0 * (1 - p0) / (N / k)
    if tau2 <= 0:
        out[ok] = p0
        return out, float("inf")
    m = max(p0 * (1 - p0) / tau2 - 1.0, 0.0)
    out[ok] = (x[ok] + m * p0) / (n[ok] + m)
    return out, m


def poisson_interval(count: npt.ArrayLike, *, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for a Poisson count: ``chi2`` quantiles, lower bound 0 at a count of 0."""
    k = np.asarray(count, dtype=float)
    lo = np.where(k > 0, stats.chi2.ppf(alpha / 2, 2 * k) / 2, 0.0)
    hi = stats.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2
    return lo, hi


def per_population(
    count: npt.ArrayLike, population: npt.ArrayLike, *, per: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts per ``per`` people with the exact Poisson interval (:func:`poisson_interval`).

    Returns
    -------
    rate, lo, hi : numpy.ndarray
        Missing where the population is missing or not positive.
    """
    k = np.asarray(count, dtype=float)
    pop = np.asarray(population, dtype=float)
    ok = np.isfinite(pop) & (pop > 0)
    safe = np.where(ok, pop, 1.0)
    lo, hi = poisson_interval(k)
    return (
        np.where(ok, k / safe * per, np.nan),
        np.where(ok, lo / safe * per, np.nan),
        np.where(ok, hi / safe * per, np.nan),
    )
