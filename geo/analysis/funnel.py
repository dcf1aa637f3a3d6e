"""Funnel plots: each division's rate or disparity ratio against the city's, with control limits."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from geo.analysis.disparity import Outcome, PreparedStops, data_notes, filtered, prepared_rates, ratio_interval
from geo.caveats import FUNNEL_CAVEAT
from geo.errors import EmptyInputError, ValueDomainError
from geo.layers.filters import StopFilter
from geo.stats.significance import Z95, Z998
from geo.vocab import MIN_CELL, NO_DIVISION

__all__ = ["funnel", "funnel_curve"]


def funnel(
    stops: pd.DataFrame,
    *,
    outcome: Outcome = "search",
    measure: Literal["ratio", "rate"] = "ratio",
    group: str = "Black",
    reference: str = "White",
    dimension: Literal["driver_group", "driver_race", "driver_ethnicity", "driver_gender"] = "driver_group",
    unit: Literal["division", "officer_race", "officer_years_band"] = "division",
    overdispersion: bool = False,
    filters: StopFilter | None = None,
) -> pd.DataFrame:
    """Funnel-plot data: each division's value against the citywide value, with control limits.

    ``measure="ratio"`` (default): the division's disparity ratio ``rate(group) /
    rate(reference)`` against the citywide ratio ``R``. On the log scale, with the
    division's denominators ``n1`` (group) and ``n2`` (reference) and the citywide
    rates ``p1``, ``p2``, the standard error under the hypothesis that the division
    matches the city is ``se = sqrt((1-p1)/(n1 p1) + (1-p2)/(n2 p2))``; the limits
    are ``R exp(± z se)`` with ``z`` = 1.960 (95 %) and 3.090 (99.8 %), and the x axis
    is the precision ``1 / se**2``.

    ``measure="rate"``: the division's rate (all drivers) against the citywide rate
    ``p0``; ``se = sqrt(p0 (1-p0) / n)``, limits ``p0 ± z se`` (normal approximation,
    clipped to [0, 1]); the x axis is ``n``.

    ``overdispersion=True`` widens the limits by an additive random effect
    (Spiegelhalter 2005): with ``z_i`` the standardised distances of the ``k`` units,
    winsorised at their 10th and 90th percentiles (``numpy.quantile``, linear),
    ``phi = mean(z_i^2)`` and weights ``w_i = 1/se_i^2``,
    ``tau2 = max(0, (k phi - (k - 1)) / (sum w - sum w^2 / sum w))`` and every ``se``
    becomes ``sqrt(se^2 + tau2)``. With ten thousand stops per division almost every
    division falls outside plain limits; the widened limits ask which stand out from
    the ordinary spread between divisions.

    Returns
    -------
    pandas.DataFrame
        ``unit, measure, count, denominator`` (for ratios also ``ref_count,
        ref_denominator``), ``value, target, x, se, lo95, hi95, lo998, hi998, z``
        (standardised distance from the target), ``estimable`` (false when a count is
        zero), ``outside95, outside998``, ``tau2``. ``"No division recorded"`` is left
        out of the plotted units (see ``attrs["notes"]``).
    """
    if measure not in ("ratio", "rate"):
        raise ValueDomainError(f"Unknown funnel measure {measure!r}; allowed: 'ratio', 'rate'.")
    data = filtered(stops, filters)
    prep = PreparedStops(data)
    where = filters.describe() if filters is not None else "all stops"
    event, valid = prep.flags(outcome, "all")
    notes = data_notes(data)
    if measure == "rate":
        city_den = int(valid.sum())
        if city_den == 0:
            raise EmptyInputError(f"No stops with a known {outcome} outcome in the filtered data ({where}).")
        target = float(event.sum() / city_den)
        t = prepared_rates(prep, outcome=outcome, by=unit, per=None, reference=None, among="all", min_cell=MIN_CELL, where=where)
        t = t[t["group"] != NO_DIVISION].reset_index(drop=True)
        n = t["denominator"].to_numpy(dtype=float)
        se = np.sqrt(target * (1 - target) / n)
        value = t["rate"].to_numpy(dtype=float)
        estimable = se > 0
        out = pd.DataFrame(
            {"unit": t["group"], "measure": f"{outcome} rate", "count": t["count"], "denominator": t["denominator"]}
        )
        x = n
        tval, ttarget = value, target
    else:
        t = prepared_rates(prep, outcome=outcome, by=dimension, per=unit, reference=reference, among="all", min_cell=MIN_CELL, where=where)
        levels = prep.codes(dimension)[1]
        if group not in levels:
            raise ValueDomainError(f"Funnel group {group!r} is not a {dimension} group; allowed: {', '.join(levels)}.")
        if group == reference:
            raise ValueDomainError(f"Funnel group and reference are both {group!r}; choose two different groups.")
        city = prepared_rates(prep, outcome=outcome, by=dimension, per=None, reference=reference, among="all", min_cell=MIN_CELL, where=where)
        city = city.set_index("group")
        if group not in city.index:
            raise ValueDomainError(f"Funnel group {group!r} has no stops in the filtered data ({where}).")
        p1 = city.loc[group, "count"] / city.loc[group, "denominator"]
        p2 = city.loc[reference, "count"] / city.loc[reference, "denominator"]
        if p1 <= 0 or p2 <= 0:
            raise ValueDomainError(
                f"The citywide {outcome} rate of {group if p1 <= 0 else reference} drivers is zero in the filtered data ({where}); "
                "a ratio funnel needs events in both groups."
            )
        target = float(p1 / p2)
        units = [u for u in pd.unique(t["unit"]) if u != NO_DIVISION]
        g = t[t["group"] == group].set_index("unit").reindex(units)
        r = t[t["group"] == reference].set_index("unit").reindex(units)
        a, n1 = g["count"].fillna(0).to_numpy(float), g["denominator"].fillna(0).to_numpy(float)
        c, n2 = r["count"].fillna(0).to_numpy(float), r["denominator"].fillna(0).to_numpy(float)
        has_n = (n1 > 0) & (n2 > 0)
        se = np.full(len(units), np.nan)
        se[has_n] = np.sqrt((1 - p1) / (n1[has_n] * p1) + (1 - p2) / (n2[has_n] * p2))
        value, _, _ = ratio_interval(a, n1, c, n2)
        estimable = has_n & (a > 0) & (c > 0)
        out = pd.DataFrame(
            {
                "unit": units,
                "measure": f"{outcome} rate ratio, {group} / {reference}",
                "count": a.astype(np.int64),
                "denominator": n1.astype(np.int64),
                "ref_count": c.astype(np.int64),
                "ref_denominator": n2.astype(np.int64),
            }
        )
        x = 1 / se**2
        with np.errstate(divide="ignore", invalid="ignore"):
            tval = np.where(estimable, np.log(np.where(estimable, value, 1.0)), np.nan)
        ttarget = np.log(target)
        if (~estimable).any():
            notes.append(
                f"{int((~estimable).sum())} unit(s) with no {outcome} events for {group} or {reference} drivers have no ratio: "
                + ", ".join(np.asarray(units, dtype=object)[~estimable])
            )
    tau2 = 0.0
    if overdispersion:
        k = int(estimable.sum())
        if k >= 3:
            w = 1 / se[estimable] ** 2
            zs = (tval[estimable] - ttarget) / se[estimable]
            zs = np.clip(zs, *np.quantile(zs, [0.1, 0.9]))  # 10 % winsorised, as Spiegelhalter recommends
            phi = float(np.mean(zs**2))
            tau2 = max(0.0, (k * phi - (k - 1)) / (w.sum() - (w**2).sum() / w.sum()))
        else:
            notes.append("fewer than 3 units: no overdispersion adjustment")
    se_used = np.sqrt(se**2 + tau2)
    out["value"] = value
    out["target"] = target
    out["x"] = x
    out["se"] = se_used
    for name, zc in (("95", Z95), ("998", Z998)):
        if measure == "ratio":
            out[f"lo{name}"] = target * np.exp(-zc * se_used)
            out[f"hi{name}"] = target * np.exp(zc * se_used)
        else:
            out[f"lo{name}"] = np.clip(target - zc * se_used, 0, 1)
            out[f"hi{name}"] = np.clip(target + zc * se_used, 0, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["z"] = np.where(estimable, (tval - ttarget) / se_used, np.nan)
    out["estimable"] = estimable
    out["outside95"] = estimable & ((out["value"] < out["lo95"]) | (out["value"] > out["hi95"])).to_numpy()
    out["outside998"] = estimable & ((out["value"] < out["lo998"]) | (out["value"] > out["hi998"])).to_numpy()
    out["tau2"] = tau2
    n_nodiv = int((data["division"] == NO_DIVISION).sum()) if unit == "division" else 0
    if n_nodiv:
        notes.append(f"{n_nodiv:,} stops with no division recorded are in the citywide target but not plotted")
    out.attrs["notes"] = notes
    out.attrs["caveat"] = FUNNEL_CAVEAT
    return out


def funnel_curve(table: pd.DataFrame, *, points: int = 100) -> pd.DataFrame:
    """Control-limit curves for drawing a funnel from :func:`funnel` output.

    Returns
    -------
    pandas.DataFrame
        ``x`` (log-spaced from half the smallest to 1.2 × the largest ``x`` of the
        table) and ``lo95, hi95, lo998, hi998``, including the table's ``tau2``.
    """
    if table.empty:
        raise EmptyInputError("The funnel table has no rows; nothing to draw.")
    xs = table["x"].to_numpy(dtype=float)
    xs = xs[np.isfinite(xs) & (xs > 0)]
    if xs.size == 0:
        raise EmptyInputError("The funnel table has no unit with a usable x value.")
    target = float(table["target"].iloc[0])
    tau2 = float(table["tau2"].iloc[0]) if "tau2" in table else 0.0
    x = np.geomspace(xs.min() / 2, xs.max() * 1.2, points)
    is_ratio = "ratio" in str(table["measure"].iloc[0])
    out = pd.DataFrame({"x": x})
    se = np.sqrt((1 / x if is_ratio else target * (1 - target) / x) + tau2)
    for name, z in (("95", Z95), ("998", Z998)):
        if is_ratio:
            out[f"lo{name}"] = target * np.exp(-z * se)
            out[f"hi{name}"] = target * np.exp(z * se)
        else:
            out[f"lo{name}"] = np.clip(target - z * se, 0, 1)
            out[f"hi{name}"] = np.clip(target + z * se, 0, 1)
    return out
