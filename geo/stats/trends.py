"""Trends in time series of counts: Mann-Kendall with Sen's slope, STL, and year-over-year change.

- :func:`mk_trend`: the Mann-Kendall test of one series (Mann 1945, Kendall 1975), tie-corrected
  variance and continuity-corrected z, with the Theil-Sen slope and Conover's intercept. The test
  itself is :func:`geo.stats.emerging.mann_kendall` (one home for it); this adds the slope.
- :func:`seasonal_mk_trend`: the seasonal Mann-Kendall test (Hirsch and Slack 1984) for monthly
  series: one test per calendar month, their S and variances summed, and the seasonal Sen slope
  (median of the within-month slopes, per cycle, i.e. per year for monthly data). Crime counts have
  a strong yearly cycle; the seasonal test compares January with January, so the cycle cannot pose
  as a trend.
- :func:`stl_decompose`: statsmodels' STL (Cleveland et al. 1990) with its components in one frame,
  and the strength of trend and seasonality of Wang, Smith and Hyndman (2006).
- :func:`rate_ratio`: the ratio of two Poisson counts over equal exposure (this year's months over
  the same months a year earlier), with the exact conditional interval: given ``a + b`` events,
  ``a`` is binomial with ``p = r / (1 + r)``, so the Clopper-Pearson limits for ``p`` (or the Wilson
  limits, :func:`geo.stats.proportions.wilson`) map to limits for ``r = p / (1 - p)``.

The variants match pymannkendall's ``original_test``, ``sens_slope`` and ``seasonal_test``
(``tests/stats/test_trends.py``); STL is statsmodels' own. Neither MK variant corrects for serial
correlation (Hamed and Rao 1998): monthly crime counts are autocorrelated, so read the p-values as
a guide, not a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from geo.errors import ValueDomainError
from geo.stats.emerging import mann_kendall
from geo.stats.proportions import wilson
from geo.stats.significance import two_sided_normal_p

__all__ = [
    "MKTrend",
    "sens_slope",
    "mk_trend",
    "seasonal_mk_trend",
    "STLResult",
    "stl_decompose",
    "rate_ratio",
]


MIN_POINTS = 4


@dataclass(frozen=True)
class MKTrend:
    """A Mann-Kendall test of one series, with the Theil-Sen slope.

    Attributes
    ----------
    s, var_s, z, p, tau
        Kendall's S, its tie-corrected variance, the continuity-corrected z, the
        two-sided p-value and Kendall's tau (``S`` over the number of pairs compared).
    slope
        Theil-Sen slope per time step (per cycle for the seasonal test).
    intercept
        Conover's intercept ``median(x) - median(t) * slope`` (NaN for the seasonal test).
    n
        Values used (missing values are left out).
    seasonal
        Whether this is the seasonal test; ``period`` is then the cycle length.
    period
        Cycle length of the seasonal test (1 for the plain test).
    """

    s: float
    var_s: float
    z: float
    p: float
    tau: float
    slope: float
    intercept: float
    n: int
    seasonal: bool = False
    period: int = 1

    def direction(self, alpha: float = 0.05) -> Literal["increasing", "decreasing", "no trend"]:
        """``increasing`` / ``decreasing`` when ``p <= alpha``, else ``no trend``."""
        if self.p <= alpha and self.s > 0:
            return "increasing"
        if self.p <= alpha and self.s < 0:
            return "decreasing"
        return "no trend"


def _values(x: npt.ArrayLike, what: str = "series") -> np.ndarray:
    v = np.asarray(x, dtype=float).ravel()
    if v.size == 0:
        raise ValueDomainError(f"the {what} is empty")
    return v


def _pairwise_slopes(v: np.ndarray) -> np.ndarray:
    """``(x_j - x_i) / (j - i)`` for every pair ``i < j`` of positions (NaN where a value is missing)."""
    i, j = np.triu_indices(v.size, k=1)
    out: np.ndarray = (v[j] - v[i]) / (j - i)
    return out


def sens_slope(x: npt.ArrayLike) -> tuple[float, float]:
    """Theil-Sen slope per step and Conover's intercept (pymannkendall's ``sens_slope``).

    Missing values are skipped (their pairs dropped); positions keep their place in time.
    """
    v = _values(x)
    slopes = _pairwise_slopes(v)
    slopes = slopes[np.isfinite(slopes)]
    if slopes.size == 0:
        return float("nan"), float("nan")
    slope = float(np.median(slopes))
    ok = np.isfinite(v)
    return slope, float(np.median(v[ok]) - np.median(np.arange(v.size)[ok]) * slope)


def mk_trend(x: npt.ArrayLike) -> MKTrend:
    """Mann-Kendall trend test of one series with Sen's slope (missing values skipped).

    Raises
    ------
    ValueDomainError
        Fewer than 4 values.
    """
    v = _values(x)
    finite = v[np.isfinite(v)]
    if finite.size < MIN_POINTS:
        raise ValueDomainError(f"a Mann-Kendall test needs at least {MIN_POINTS} values; got {finite.size}")
    mk = mann_kendall(finite[None, :])
    slope, intercept = sens_slope(v)
    return MKTrend(
        s=float(mk.s[0]),
        var_s=float(mk.var_s[0]),
        z=float(mk.z[0]),
        p=float(mk.p[0]),
        tau=float(mk.tau[0]),
        slope=slope,
        intercept=intercept,
        n=int(finite.size),
    )


def seasonal_mk_trend(x: npt.ArrayLike, *, period: int = 12) -> MKTrend:
    """Seasonal Mann-Kendall test (Hirsch and Slack 1984; pymannkendall's ``seasonal_test``).

    Position ``i`` of ``x`` is season ``i % period`` (the series starts at season 0, e.g.
    January). Each season's S and tie-corrected variance are summed; ``z`` is
    continuity-corrected; ``tau = S / sum(n_s (n_s - 1) / 2)``; the slope is the median of
    the within-season pairwise slopes, in units of one cycle.

    Raises
    ------
    ValueDomainError
        ``period`` below 2, or fewer than 2 full cycles.
    """
    v = _values(x)
    if isinstance(period, bool) or not isinstance(period, int | np.integer) or period < 2:
        raise ValueDomainError(f"period must be an integer of at least 2; got {period!r}")
    if v.size < 2 * period:
        raise ValueDomainError(f"a seasonal Mann-Kendall test needs at least 2 cycles ({2 * period} values)")
    s = var_s = pairs = 0.0
    slopes = []
    for season in range(period):
        sv = v[season::period]
        sv = sv[np.isfinite(sv)]
        if sv.size < 2:
            continue
        mk = mann_kendall(sv[None, :])
        s += float(mk.s[0])
        var_s += float(mk.var_s[0])
        pairs += sv.size * (sv.size - 1) / 2
        slopes.append(_pairwise_slopes(v[season::period]))
    z = (s - np.sign(s)) / np.sqrt(var_s) if var_s > 0 else 0.0
    all_slopes = np.concatenate(slopes) if slopes else np.array([])
    all_slopes = all_slopes[np.isfinite(all_slopes)]
    return MKTrend(
        s=s,
        var_s=var_s,
        z=float(z),
        p=float(two_sided_normal_p(np.array([z]))[0]),
        tau=s / pairs if pairs else float("nan"),
        slope=float(np.median(all_slopes)) if all_slopes.size else float("nan"),
        intercept=float("nan"),
        n=int(np.isfinite(v).sum()),
        seasonal=True,
        period=int(period),
    )


@dataclass(frozen=True)
class STLResult:
    """An STL decomposition.

    Attributes
    ----------
    frame
        ``observed, trend, seasonal, resid`` indexed like the input series.
    trend_strength, seasonal_strength
        Wang, Smith and Hyndman's ``max(0, 1 - var(R) / var(T + R))`` and
        ``max(0, 1 - var(R) / var(S + R))``: 0 none, near 1 strong.
    period, robust
        The options used.
    """

    frame: pd.DataFrame
    trend_strength: float
    seasonal_strength: float
    period: int
    robust: bool


def _strength(component: np.ndarray, resid: np.ndarray) -> float:
    total = float(np.var(component + resid))
    return max(0.0, 1.0 - float(np.var(resid)) / total) if total > 0 else 0.0


def stl_decompose(
    series: pd.Series, *, period: int = 12, robust: bool = True, seasonal: int = 7, trend: int | None = None
) -> STLResult:
    """Seasonal-trend decomposition by Loess (statsmodels ``STL``) of a complete series.

    Parameters
    ----------
    series
        Values in time order (no missing value), at least two cycles long.
    period
        Cycle length (12 for monthly data).
    robust
        Down-weight outliers (statsmodels' robust fit): a month like April 2020 does not
        bend the trend.
    seasonal, trend
        Loess window lengths of the seasonal and trend smoothers (statsmodels' defaults).

    Raises
    ------
    ValueDomainError
        Missing values, or fewer than two cycles.
    """
    from statsmodels.tsa.seasonal import STL

    v = np.asarray(series, dtype=float)
    if not np.isfinite(v).all():
        raise ValueDomainError(f"STL needs a complete series; {int((~np.isfinite(v)).sum())} value(s) are missing")
    if v.size < 2 * period:
        raise ValueDomainError(f"STL needs at least two cycles ({2 * period} values); got {v.size}")
    fit = STL(v, period=period, robust=robust, seasonal=seasonal, trend=trend).fit()
    t, s, r = (np.asarray(a, dtype=float) for a in (fit.trend, fit.seasonal, fit.resid))
    frame = pd.DataFrame({"observed": v, "trend": t, "seasonal": s, "resid": r}, index=series.index)
    return STLResult(
        frame=frame,
        trend_strength=_strength(t, r),
        seasonal_strength=_strength(s, r),
        period=int(period),
        robust=bool(robust),
    )


RatioInterval = Literal["exact", "wilson"]


def rate_ratio(
    a: npt.ArrayLike, b: npt.ArrayLike, *, alpha: float = 0.05, method: RatioInterval = "exact"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ratio ``a / b`` of two Poisson counts over equal exposure, with its conditional interval and test.

    Parameters
    ----------
    a, b
        Counts now and in the comparison period (same length of time).
    alpha
        1 - confidence level.
    method
        ``exact`` (Clopper-Pearson limits of ``a / (a + b)``) or ``wilson`` (Wilson
        score limits, :func:`geo.stats.proportions.wilson`), mapped by ``p / (1 - p)``.

    Returns
    -------
    ratio, lo, hi, p : numpy.ndarray
        The ratio (infinite when ``b`` is 0), its limits, and the exact two-sided
        conditional binomial p-value of "no change" (``scipy.stats.binomtest``);
        all missing where ``a + b`` is 0.
    """
    av, bv = np.broadcast_arrays(np.atleast_1d(np.asarray(a, dtype=float)), np.atleast_1d(np.asarray(b, dtype=float)))
    if (av < 0).any() or (bv < 0).any() or not (np.isfinite(av).all() and np.isfinite(bv).all()):
        raise ValueDomainError("rate_ratio needs non-negative, finite counts")
    if method not in ("exact", "wilson"):
        raise ValueDomainError(f"Unknown interval method {method!r}; allowed: 'exact', 'wilson'.")
    n = av + bv
    ok = n > 0
    if method == "wilson":
        plo, phi = wilson(av, n, alpha=alpha)
    else:
        safe_n = np.where(ok, n, 1.0)
        plo = np.where(av > 0, stats.beta.ppf(alpha / 2, av, safe_n - av + 1), 0.0)
        phi = np.where(bv > 0, stats.beta.ppf(1 - alpha / 2, av + 1, safe_n - av), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ok, av / bv, np.nan)
        lo = np.where(ok, plo / (1 - plo), np.nan)
        hi = np.where(ok, np.where(phi >= 1, np.inf, phi / (1 - phi)), np.nan)
    p = np.full(av.shape, np.nan)
    for idx in zip(*np.nonzero(ok), strict=True):
        p[idx] = stats.binomtest(int(av[idx]), int(n[idx]), 0.5).pvalue
    return np.asarray(ratio, dtype=float), np.asarray(lo, dtype=float), np.asarray(hi, dtype=float), p
