"""Rates and rate smoothing for counts over populations.

A raw rate ``events / base`` is unstable where the base (population) is small:
one incident in a neighbourhood of 40 people looks like an epidemic. The
smoothers here pull such rates towards a reference rate, by an amount that
shrinks as the population grows:

* :func:`raw_rate` -- ``events / base``.
* :func:`excess_risk` -- observed over expected events, with the expectation
  from the overall rate (a standardised morbidity ratio; 1 = average).
* :func:`empirical_bayes` -- global empirical Bayes (Marshall 1991): shrink towards
  the overall rate.
* :func:`spatial_empirical_bayes` -- the same with a local reference rate: the
  unit and its neighbours (Marshall's local smoother, as in GeoDa).
* :func:`eb_standardize` -- the Assuncao-Reis (1999) EB standardisation used by
  Moran's I for rates: ``(r_i - b) / sqrt(a + b / n_i)``; esda and GeoDa differ when the
  variance estimate ``a`` is negative (both conventions are offered).

Every smoothed rate is a weighted average of the raw rate and a reference rate
with weights in [0, 1], so it is never negative. Where the method-of-moments
estimate of the between-unit variance ``a`` comes out negative it is set to 0
(GeoDa, esda's spatial smoother); esda's aspatial ``Empirical_Bayes`` keeps the
negative value and can return negative rates.

A unit with a missing count, or a missing or zero base, has no rate (NaN) and is
left out of every reference rate.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from geo.errors import EmptyInputError, GeoWarning, ValueDomainError, first_rows
from geo.stats.significance import add_columns, numeric_values, resolve_weights
from geo.stats.warning_codes import UNDEFINED_UNITS
from geo.stats.weights import SpatialWeights, WeightsMethod

__all__ = [
    "RateMethod",
    "RateResult",
    "rate_inputs",
    "raw_rate",
    "excess_risk",
    "empirical_bayes",
    "spatial_empirical_bayes",
    "eb_standardize",
    "add_rate",
]


RateMethod = Literal["raw", "excess_risk", "eb", "spatial_eb"]


RATE_METHODS: tuple[str, ...] = ("raw", "excess_risk", "eb", "spatial_eb")


@dataclass(frozen=True)
class RateResult:
    """A layer with one rate column added.

    Attributes
    ----------
    frame
        Copy of the input with the rate column.
    column
        Name of the added column.
    method, multiplier
        How the rate was computed (rates are multiplied by ``multiplier``, e.g.
        1,000 for "per 1,000 residents"; excess risk is not).
    undefined
        Ids of units without a rate (missing count, missing or zero base).
    warnings
        Warnings as data: code ``undefined_units`` when some units have no rate.
    """

    frame: gpd.GeoDataFrame
    column: str
    method: str
    multiplier: float
    undefined: tuple[Hashable, ...]
    warnings: tuple[GeoWarning, ...]


def rate_inputs(gdf: pd.DataFrame, events: str, base: str) -> tuple[np.ndarray, np.ndarray]:
    """Read a count and a base column; NaN where the rate is undefined.

    Returns ``(e, b)`` as floats, both NaN for units with a missing count or a
    missing or zero base.

    Raises
    ------
    SchemaError
        A column is absent or not numeric.
    ValueDomainError
        Negative counts or bases.
    EmptyInputError
        No unit has both a count and a positive base.
    """
    e = numeric_values(gdf, events, what="count column")
    b = numeric_values(gdf, base, what="base (population) column")
    for arr, name in ((e, events), (b, base)):
        neg = np.nonzero(arr < 0)[0]
        if neg.size:
            raise ValueDomainError(
                f"{name!r} has {neg.size} negative value(s) ({first_rows(neg + 1)}); counts and populations cannot be negative"
            )
    ok = np.isfinite(e) & np.isfinite(b) & (b > 0)
    if not ok.any():
        raise EmptyInputError(f"no unit has both a count in {events!r} and a positive base in {base!r}")
    e = np.where(ok, e, np.nan)
    b = np.where(ok, b, np.nan)
    return e, b


def _check(e: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    e = np.asarray(e, dtype=float)
    b = np.asarray(b, dtype=float)
    if e.shape != b.shape:
        raise ValueDomainError(f"events and base differ in length ({e.size} vs {b.size})")
    ok = np.isfinite(e) & np.isfinite(b) & (b > 0)
    if (e[ok] < 0).any():
        raise ValueDomainError("event counts cannot be negative")
    if not ok.any():
        raise EmptyInputError("no unit has both a count and a positive base")
    return e, b, ok


def raw_rate(e: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``e / b``; NaN where the base is missing or zero."""
    e, b, ok = _check(e, b)
    out = np.full(e.shape, np.nan)
    out[ok] = e[ok] / b[ok]
    return out


def excess_risk(e: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Observed over expected counts, ``e_i / (b_i * sum(e) / sum(b))`` (1 = average)."""
    e, b, ok = _check(e, b)
    overall = e[ok].sum() / b[ok].sum()
    out = np.full(e.shape, np.nan)
    if overall > 0:
        out[ok] = e[ok] / (b[ok] * overall)
    else:
        out[ok] = 0.0
    return out


def _shrink(r: np.ndarray, ref: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # weight of the raw rate: a / (a + ref / b), in [0, 1]; 0 when both terms vanish
    denom = a + ref / b
    w = np.divide(a, denom, out=np.zeros_like(denom), where=denom > 0)
    smoothed: np.ndarray = w * r + (1.0 - w) * ref
    return smoothed


def empirical_bayes(e: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Global empirical Bayes smoothed rates (Marshall 1991), never negative.

    With ``m = sum(e) / sum(b)``, ``s2 = sum(b_i (r_i - m)^2) / sum(b)`` and
    ``a = max(0, s2 - m / mean(b))``, the smoothed rate is
    ``w_i r_i + (1 - w_i) m`` with ``w_i = a / (a + m / b_i)``.
    """
    e, b, ok = _check(e, b)
    ee, bb = e[ok], b[ok]
    r = ee / bb
    m = ee.sum() / bb.sum()
    s2 = (bb * (r - m) ** 2).sum() / bb.sum()
    a = max(0.0, s2 - m / bb.mean())
    out = np.full(e.shape, np.nan)
    out[ok] = _shrink(r, np.full_like(r, m), np.full_like(r, a), bb)
    return out


def spatial_empirical_bayes(e: np.ndarray, b: np.ndarray, weights: sparse.sparray | sparse.spmatrix) -> np.ndarray:
    """Spatial empirical Bayes: shrink towards the rate of the unit and its neighbours.

    For unit ``i`` with neighbourhood ``S_i`` (itself and its neighbours with a
    rate): ``m_i = sum_S e / sum_S b``,
    ``s2_i = sum_S b_j (r_j - m_i)^2 / sum_S b``, ``a_i = max(0, s2_i - m_i / mean_S(b))``
    and the smoothed rate is ``w_i r_i + (1 - w_i) m_i`` with
    ``w_i = a_i / (a_i + m_i / b_i)``. Weights are used as binary links.
    """
    e, b, ok = _check(e, b)
    n = e.size
    w = sparse.csr_array(weights, dtype=float)
    if w.shape != (n, n):
        raise ValueDomainError(f"weights are {w.shape[0]}x{w.shape[1]} for {n} units")
    pos = np.nonzero(ok)[0]
    a_mat = sparse.csr_array(w[pos][:, pos])
    a_mat.data[:] = 1.0
    a_mat = sparse.csr_array(a_mat + sparse.eye_array(pos.size, format="csr"))
    a_mat.data[:] = 1.0  # a unit linked to itself in w counts once
    ee, bb = e[pos], b[pos]
    r = ee / bb
    big_b = a_mat @ bb
    m = (a_mat @ ee) / big_b
    count = np.diff(a_mat.indptr)
    rows = np.repeat(np.arange(pos.size), count)
    cols = a_mat.indices
    s2 = np.bincount(rows, weights=bb[cols] * (r[cols] - m[rows]) ** 2, minlength=pos.size) / big_b
    a = np.maximum(0.0, s2 - m / (big_b / count))
    out = np.full(n, np.nan)
    out[pos] = _shrink(r, m, a, bb)
    return out


def eb_standardize(e: np.ndarray, b: np.ndarray, *, variance: Literal["esda", "geoda"] = "esda") -> np.ndarray:
    """Assuncao-Reis empirical-Bayes standardised rates, for Moran's I of rates.

    ``z_i = (r_i - m) / sqrt(v_i)`` with ``m = sum(e) / sum(b)``, the method-of-moments
    prior variance ``a = s2 - m / mean(b)`` (``s2`` as in :func:`empirical_bayes`) and
    ``v_i = a + m / b_i``. The estimate ``a`` can come out negative (rates closer
    together than Poisson noise allows); ``variance`` says what happens then:

    - ``"esda"`` (default; esda's ``assuncao_rate``): ``v_i = a + m / b_i``, replaced by
      ``m / b_i`` only where it is negative;
    - ``"geoda"`` (GeoDa's EB rate standardisation, ``GdaAlgs::RateStandardizeEB`` /
      libgeoda's ``gda_rateStandardizeEB``): ``a`` is set to 0 first, so
      ``v_i = max(a, 0) + m / b_i`` for every unit.

    The two agree exactly when ``a >= 0``; when ``a < 0`` they agree only at units with
    ``a + m / b_i < 0`` and elsewhere esda's ``|z_i|`` is larger. NaN where undefined (a
    missing count, a missing or zero base, or no events at all, where GeoDa gives 0).
    """
    if variance not in ("esda", "geoda"):
        raise ValueDomainError(f"variance must be 'esda' or 'geoda'; got {variance!r}")
    e, b, ok = _check(e, b)
    ee, bb = e[ok], b[ok]
    r = ee / bb
    m = ee.sum() / bb.sum()
    s2 = (bb * (r - m) ** 2).sum() / bb.sum()
    a = s2 - m / bb.mean()
    if variance == "geoda":
        v = max(a, 0.0) + m / bb
    else:
        v = a + m / bb
        v = np.where(v < 0, m / bb, v)
    out = np.full(e.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[ok] = (r - m) / np.sqrt(v)
    out[~np.isfinite(out)] = np.nan
    return out


def add_rate(
    gdf: gpd.GeoDataFrame,
    *,
    events: str,
    base: str,
    method: RateMethod = "raw",
    weights: SpatialWeights | WeightsMethod | None = None,
    multiplier: float = 1.0,
    column: str | None = None,
) -> RateResult:
    """Add a rate column computed from a count and a base column.

    Parameters
    ----------
    gdf
        Layer, one row per unit.
    events
        Count column (e.g. ``violent_crimes_2022``).
    base
        Population column, in the unit the rate is expressed per (e.g. residents,
        or residents / 1000).
    method
        ``raw``, ``excess_risk``, ``eb`` (global empirical Bayes) or ``spatial_eb``.
    weights
        Neighbours for ``spatial_eb`` (weights or a method name; default queen).
    multiplier
        Scale of the rate (e.g. 1000 for per 1,000 when ``base`` counts
        residents). Ignored for ``excess_risk``.
    column
        Name of the new column; default ``<events>_<method>``.

    Returns
    -------
    RateResult
    """
    if method not in RATE_METHODS:
        raise ValueDomainError(f"rate method must be one of {', '.join(RATE_METHODS)}; got {method!r}")
    if not (np.isfinite(multiplier) and multiplier > 0):
        raise ValueDomainError(f"multiplier must be a positive number; got {multiplier!r}")
    e, b = rate_inputs(gdf, events, base)
    if method == "raw":
        r = raw_rate(e, b) * multiplier
    elif method == "excess_risk":
        r = excess_risk(e, b)
    elif method == "eb":
        r = empirical_bayes(e, b) * multiplier
    else:
        w = resolve_weights(gdf, "queen" if weights is None else weights)
        r = spatial_empirical_bayes(e, b, w.base) * multiplier
    name = column or f"{events}_{method}"
    frame = add_columns(gdf, {name: r})
    undefined_mask = ~np.isfinite(r)
    ids = gdf.index
    warnings: list[GeoWarning] = []
    if undefined_mask.any():
        warnings.append(
            GeoWarning(
                UNDEFINED_UNITS,
                f"{int(undefined_mask.sum())} unit(s) have no rate (missing count, or missing or zero {base!r})",
            )
        )
    return RateResult(
        frame=frame,
        column=name,
        method=method,
        multiplier=1.0 if method == "excess_risk" else float(multiplier),
        undefined=tuple(ids[undefined_mask]),
        warnings=tuple(warnings),
    )
