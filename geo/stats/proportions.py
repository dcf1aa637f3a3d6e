"""Proportions, ratios and counts with their uncertainty: the interval statistics of the stop analyses.

- :func:`wilson`: the Wilson score interval of a proportion (statsmodels' ``proportion_confint``,
  the same arithmetic in the same order, so the same bits).
- :func:`ratio_interval`: the ratio of two proportions with its score (Koopman) interval, valid for
  small counts (or the log-method interval on request).
- :func:`eb_smooth`: empirical-Bayes (beta-binomial) rates pulled toward a prior rate.
- :func:`poisson_interval`, :func:`per_population`: exact (Garwood) intervals of counts, and
  rates per N people with them.

Each is checked against statsmodels or a hand computation in ``tests/stats/test_proportions.py``
and ``tests/analysis``. Only ``scipy.special`` is imported: ``scipy.stats`` and statsmodels take
seconds to import, and the landing page's headline figure waits for this module.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.special import gammaincinv, ndtri

from geo.errors import ValueDomainError
from geo.stats.significance import Z95

__all__ = ["wilson", "ratio_interval", "ratio_score", "eb_smooth", "poisson_interval", "per_population"]


def wilson(count: np.ndarray, nobs: np.ndarray, *, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval (``statsmodels`` ``proportion_confint(method="wilson")``); NaN where ``nobs`` is 0.

    The arithmetic is statsmodels', step by step (``norm.isf(alpha / 2)`` is ``-ndtri(alpha / 2)``,
    limits clipped to [0, 1]), so the limits are the same to the last bit.
    """
    count = np.asarray(count, dtype=float)
    nobs = np.asarray(nobs, dtype=float)
    lo = np.full(count.shape, np.nan)
    hi = np.full(count.shape, np.nan)
    ok = nobs > 0
    if ok.any():
        c, n = count[ok], nobs[ok]
        q = c / n
        crit = -ndtri(alpha / 2.0)
        crit2 = crit**2
        denom = 1 + crit2 / n
        center = (q + crit2 / (2 * n)) / denom
        dist = crit * np.sqrt(q * (1.0 - q) / n + crit2 / (4.0 * n**2))
        dist /= denom
        lo[ok] = np.clip(center - dist, 0, 1)
        hi[ok] = np.clip(center + dist, 0, 1)
    return lo, hi


RatioMethod = Literal["score", "log"]


def ratio_interval(
    a: npt.ArrayLike,
    n1: npt.ArrayLike,
    c: npt.ArrayLike,
    n2: npt.ArrayLike,
    *,
    z: float = Z95,
    method: RatioMethod = "score",
    correction: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ratio of two proportions ``(a/n1) / (c/n2)`` with its confidence interval.

    Parameters
    ----------
    a, n1
        Events and trials of the group compared (the numerator).
    c, n2
        Events and trials of the reference group (the denominator).
    z
        Normal quantile of the interval (1.96 for 95 %).
    method
        ``"score"`` (default): the asymptotic score interval of Koopman (1984), the
        set of ratios ``phi`` not rejected by the score test of ``p1 = phi p2``, with
        the constrained maximum-likelihood proportions of Miettinen and Nurminen
        (1985). It stays valid for small counts (Fagerland, Lydersen and Laake 2015
        recommend it), is defined when ``a`` is 0 (lower limit 0) and never extends
        below 0. ``"log"``: the log-method (Katz) interval
        ``exp(log RR +- z sqrt(1/a - 1/n1 + 1/c - 1/n2))``, which is too narrow for
        small counts and undefined when ``a`` is 0.
    correction
        With ``method="score"``, multiply the variance by ``N / (N - 1)``
        (``N = n1 + n2``): the Miettinen-Nurminen interval instead of Koopman's.

    Returns
    -------
    ratio, lo, hi : numpy.ndarray
        ``ratio`` is 0 where ``a`` is 0, and missing (with its interval) where ``c``
        or a denominator is 0 (the reference rate is 0: no finite ratio). The log
        interval is also missing where ``a`` is 0.

    Notes
    -----
    Equals ``statsmodels.stats.proportion.confint_proportions_2indep(a, n1, c, n2,
    compare="ratio", method="score", correction=correction)``; note that statsmodels'
    default there is ``correction=True`` (Miettinen-Nurminen), ours is Koopman's.
    The limits are found by bisection on ``log phi`` (the score statistic decreases
    in ``phi``), for every cell at once.
    """
    a, n1, c, n2 = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (a, n1, c, n2)))
    ratio = np.full(a.shape, np.nan)
    lo = ratio.copy()
    hi = ratio.copy()
    ok = (n1 > 0) & (n2 > 0) & (c > 0)
    ratio[ok] = (a[ok] / n1[ok]) / (c[ok] / n2[ok])
    if method == "log":
        ci = ok & (a > 0)
        se = np.sqrt(1 / a[ci] - 1 / n1[ci] + 1 / c[ci] - 1 / n2[ci])
        lo[ci] = ratio[ci] * np.exp(-z * se)
        hi[ci] = ratio[ci] * np.exp(z * se)
    elif method == "score":
        lo[ok], hi[ok] = _score_limits(a[ok], n1[ok], c[ok], n2[ok], z=z, correction=correction)
    else:
        raise ValueDomainError(f"Unknown ratio interval method {method!r}; allowed: 'score', 'log'.")
    return ratio, lo, hi


def ratio_score(
    a: np.ndarray, n1: np.ndarray, c: np.ndarray, n2: np.ndarray, phi: np.ndarray, *, correction: bool = False
) -> np.ndarray:
    """Score statistic of ``p1 / p2 = phi`` (Miettinen-Nurminen; Koopman without ``correction``).

    ``(a/n1 - phi c/n2) / sqrt(p1 (1 - p1) / n1 + phi^2 p2 (1 - p2) / n2)`` with ``p1 = phi p2``
    the maximum-likelihood proportions under the hypothesis: ``p2`` is the smaller root of
    ``phi N p^2 - (phi n1 + a + n2 + phi c) p + (a + c) = 0``. Decreasing in ``phi``.
    """
    big_n = n1 + n2
    b = phi * n1 + a + n2 + phi * c
    disc = np.sqrt(np.maximum(b * b - 4 * phi * big_n * (a + c), 0.0))
    p2 = np.divide(2 * (a + c), b + disc, out=np.zeros_like(b), where=(b + disc) > 0)  # the smaller root, stably
    p1 = np.clip(phi * p2, 0.0, 1.0)
    var = p1 * (1 - p1) / n1 + phi**2 * p2 * (1 - p2) / n2
    if correction:
        var = var * big_n / (big_n - 1)
    num = a / n1 - phi * c / n2
    safe = np.where(var > 0, var, 1.0)
    degenerate = np.where(num == 0, 0.0, np.copysign(np.inf, num))  # no variance left under the hypothesis
    return np.where(var > 0, num / np.sqrt(safe), degenerate)


def _score_limits(
    a: np.ndarray, n1: np.ndarray, c: np.ndarray, n2: np.ndarray, *, z: float, correction: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Limits of the score interval (``c > 0``): where the score statistic crosses ``+z`` and ``-z``."""
    # bracket in log phi around a ratio that is always positive (0.5 added to every count)
    centre = np.log(((a + 0.5) / (n1 + 0.5)) / ((c + 0.5) / (n2 + 0.5)))

    def crossing(target: float) -> np.ndarray:
        left, right = centre - 40.0, centre + 40.0
        for _ in range(80):
            mid = (left + right) / 2
            above = ratio_score(a, n1, c, n2, np.exp(mid), correction=correction) > target
            left = np.where(above, mid, left)
            right = np.where(above, right, mid)
        return np.exp((left + right) / 2)

    lo = crossing(z)
    lo = np.where(ratio_score(a, n1, c, n2, np.exp(centre - 40.0), correction=correction) > z, lo, 0.0)
    return lo, crossing(-z)


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
    """Exact (Garwood) interval for a Poisson count: ``chi2`` quantiles, lower bound 0 at a count of 0.

    ``chi2.ppf(p, 2 k) / 2`` is ``gammaincinv(k, p)`` (scipy computes it as ``2 gammaincinv(df / 2, p)``),
    called directly: the same values, without importing ``scipy.stats``.
    """
    k = np.asarray(count, dtype=float)
    with np.errstate(invalid="ignore"):
        lo = np.where(k > 0, gammaincinv(np.where(k > 0, k, np.nan), alpha / 2), 0.0)
        hi = gammaincinv(np.where(k >= 0, k + 1, np.nan), 1 - alpha / 2)
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
