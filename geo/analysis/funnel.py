"""Funnel plots: each division's rate or disparity ratio against the city's, with control limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.analysis.disparity import Outcome, PreparedStops, data_notes, filtered, prepared_rates
from geo.caveats import FUNNEL_CAVEAT
from geo.errors import EmptyInputError, ValueDomainError
from geo.layers.filters import StopFilter
from geo.stats.proportions import ratio_interval
from geo.stats.significance import Z95, Z998
from geo.vocab import MIN_CELL, NO_DIVISION

__all__ = ["funnel", "rate_funnel", "funnel_curve"]


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
    data, where = filtered(stops, filters)
    prep = PreparedStops(data)
    notes = data_notes(data)
    if measure == "rate":
        t, target = _unit_rates(prep, outcome=outcome, unit=unit, where=where)
        out = rate_funnel(
            t["group"],
            t["count"],
            t["denominator"],
            target=target,
            measure=f"{outcome} rate",
            overdispersion=overdispersion,
        )
    else:
        points = _ratio_points(
            prep, outcome=outcome, group=group, reference=reference, dimension=dimension, unit=unit, where=where
        )
        out = _funnel_table(points, overdispersion=overdispersion, ratio=True)
    notes += out.attrs["notes"]
    n_nodiv = int((data["division"] == NO_DIVISION).sum()) if unit == "division" else 0
    if n_nodiv:
        notes.append(f"{n_nodiv:,} stops with no division recorded are in the citywide target but not plotted")
    out.attrs["notes"] = notes
    out.attrs["caveat"] = FUNNEL_CAVEAT
    return out


@dataclass
class _Points:
    """One funnel's units before the limits: their table, values and standard errors.

    ``value`` is on the plotted scale; ``tval`` and ``ttarget`` on the scale the
    limits are symmetric on (the log scale for ratios).
    """

    frame: pd.DataFrame
    value: np.ndarray
    target: float
    x: np.ndarray
    se: np.ndarray
    estimable: np.ndarray
    tval: np.ndarray
    ttarget: float
    notes: list[str] = field(default_factory=list)


def rate_funnel(
    units: Sequence[object] | pd.Series | np.ndarray,
    counts: npt.ArrayLike,
    denominators: npt.ArrayLike,
    *,
    target: float,
    measure: str,
    overdispersion: bool = False,
) -> pd.DataFrame:
    """Funnel-plot table of rates ``count / denominator`` against a target rate ``p0``.

    ``se = sqrt(p0 (1 - p0) / n)``, limits ``p0 ± z se`` (normal approximation, clipped to
    [0, 1]) with ``z`` = 1.960 (95 %) and 3.090 (99.8 %); the x axis is ``n``. The same
    table as ``funnel(measure="rate")`` (which calls this), so it draws with :func:`funnel_curve`.

    Parameters
    ----------
    units
        The units' names.
    counts, denominators
        Each unit's events and the number they are counted among.
    target
        The target rate ``p0`` in [0, 1] (usually the citywide rate).
    measure
        Text of the ``measure`` column (e.g. ``"search rate"``).
    overdispersion
        Widen the limits by Spiegelhalter's additive random effect (see :func:`funnel`).

    Returns
    -------
    pandas.DataFrame
        ``unit, measure, count, denominator, value, target, x, se, lo95, hi95, lo998, hi998,
        z, estimable, outside95, outside998, tau2``; ``attrs["notes"]`` says when the
        overdispersion adjustment could not be made. A unit with no denominator is not estimable.
    """
    names = pd.Series(units).reset_index(drop=True)
    k, n = np.asarray(counts), np.asarray(denominators)
    if not (names.size == k.size == n.size) or k.ndim != 1 or n.ndim != 1:
        raise ValueDomainError(
            f"rate funnel: units, counts and denominators differ in length ({names.size}, {k.size}, {n.size})"
        )
    if not 0.0 <= target <= 1.0:
        raise ValueDomainError(f"rate funnel: the target rate must be in [0, 1]; got {target}")
    nf = n.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = k.astype(float) / nf
        se = np.sqrt(target * (1 - target) / nf)
    frame = pd.DataFrame({"unit": names, "measure": measure, "count": k, "denominator": n})
    points = _Points(
        frame, value=value, target=target, x=nf, se=se, estimable=(nf > 0) & (se > 0), tval=value, ttarget=target
    )
    return _funnel_table(points, overdispersion=overdispersion, ratio=False)


def _unit_rates(prep: PreparedStops, *, outcome: Outcome, unit: str, where: str) -> tuple[pd.DataFrame, float]:
    """Each unit's events and stops (all drivers, no-division left out) and the citywide rate."""
    event, valid = prep.flags(outcome, "all")
    city_den = int(valid.sum())
    if city_den == 0:
        raise EmptyInputError(f"No stops with a known {outcome} outcome in the filtered data ({where}).")
    target = float(event.sum() / city_den)
    t = _rates(prep, outcome=outcome, by=unit, per=None, reference=None, where=where)
    return t[t["group"] != NO_DIVISION].reset_index(drop=True), target


def _city_rates(
    prep: PreparedStops, *, outcome: Outcome, group: str, reference: str, dimension: str, where: str
) -> tuple[float, float]:
    """The citywide rates of ``group`` and ``reference``; both must be known groups with events."""
    levels = prep.codes(dimension)[1]
    if group not in levels:
        raise ValueDomainError(f"Funnel group {group!r} is not a {dimension} group; allowed: {', '.join(levels)}.")
    if group == reference:
        raise ValueDomainError(f"Funnel group and reference are both {group!r}; choose two different groups.")
    city = _rates(prep, outcome=outcome, by=dimension, per=None, reference=reference, where=where).set_index("group")
    if group not in city.index:
        raise ValueDomainError(f"Funnel group {group!r} has no stops in the filtered data ({where}).")
    p1 = city.loc[group, "count"] / city.loc[group, "denominator"]
    p2 = city.loc[reference, "count"] / city.loc[reference, "denominator"]
    if p1 <= 0 or p2 <= 0:
        raise ValueDomainError(
            f"The citywide {outcome} rate of {group if p1 <= 0 else reference} drivers is zero in the filtered data "
            f"({where}); a ratio funnel needs events in both groups."
        )
    return p1, p2


def _ratio_points(
    prep: PreparedStops, *, outcome: Outcome, group: str, reference: str, dimension: str, unit: str, where: str
) -> _Points:
    """Each unit's ratio ``rate(group) / rate(reference)`` against the citywide ratio, on the log scale."""
    t = _rates(prep, outcome=outcome, by=dimension, per=unit, reference=reference, where=where)
    p1, p2 = _city_rates(prep, outcome=outcome, group=group, reference=reference, dimension=dimension, where=where)
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
    frame = pd.DataFrame(
        {
            "unit": units,
            "measure": f"{outcome} rate ratio, {group} / {reference}",
            "count": a.astype(np.int64),
            "denominator": n1.astype(np.int64),
            "ref_count": c.astype(np.int64),
            "ref_denominator": n2.astype(np.int64),
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        tval = np.where(estimable, np.log(np.where(estimable, value, 1.0)), np.nan)
    notes = []
    if (~estimable).any():
        notes.append(
            f"{int((~estimable).sum())} unit(s) with no {outcome} events for {group} or {reference} drivers have no "
            "ratio: " + ", ".join(np.asarray(units, dtype=object)[~estimable])
        )
    return _Points(
        frame,
        value=value,
        target=target,
        x=1 / se**2,
        se=se,
        estimable=estimable,
        tval=tval,
        ttarget=np.log(target),
        notes=notes,
    )


def _rates(
    prep: PreparedStops, *, outcome: Outcome, by: str, per: str | None, reference: str | None, where: str
) -> pd.DataFrame:
    return prepared_rates(
        prep, outcome=outcome, by=by, per=per, reference=reference, among="all", min_cell=MIN_CELL, where=where
    )


def _overdispersion(points: _Points) -> tuple[float, str | None]:
    """Spiegelhalter's additive random effect ``tau2`` (10 % winsorised ``z``), or a note if it cannot be had."""
    est = points.estimable
    k = int(est.sum())
    if k < 3:
        return 0.0, "fewer than 3 units: no overdispersion adjustment"
    w = 1 / points.se[est] ** 2
    zs = (points.tval[est] - points.ttarget) / points.se[est]
    zs = np.clip(zs, *np.quantile(zs, [0.1, 0.9]))  # 10 % winsorised, as Spiegelhalter recommends
    phi = float(np.mean(zs**2))
    return max(0.0, (k * phi - (k - 1)) / (w.sum() - (w**2).sum() / w.sum())), None


def _limits(target: float, se: np.ndarray, *, ratio: bool) -> dict[str, np.ndarray]:
    """95 % and 99.8 % control limits around ``target``: ``target exp(± z se)`` for ratios, else clipped ``± z se``."""
    out = {}
    for name, z in (("95", Z95), ("998", Z998)):
        if ratio:
            out[f"lo{name}"] = target * np.exp(-z * se)
            out[f"hi{name}"] = target * np.exp(z * se)
        else:
            out[f"lo{name}"] = np.clip(target - z * se, 0, 1)
            out[f"hi{name}"] = np.clip(target + z * se, 0, 1)
    return out


def _with_limits(points: _Points, *, tau2: float, ratio: bool) -> pd.DataFrame:
    """The funnel table: the units' frame with value, target, x, se (widened by ``tau2``), limits, z and flags."""
    se_used = np.sqrt(points.se**2 + tau2)
    out = points.frame.copy()
    out["value"] = points.value
    out["target"] = points.target
    out["x"] = points.x
    out["se"] = se_used
    for name, limit in _limits(points.target, se_used, ratio=ratio).items():
        out[name] = limit
    est = points.estimable
    with np.errstate(divide="ignore", invalid="ignore"):
        out["z"] = np.where(est, (points.tval - points.ttarget) / se_used, np.nan)
    out["estimable"] = est
    out["outside95"] = est & ((out["value"] < out["lo95"]) | (out["value"] > out["hi95"])).to_numpy()
    out["outside998"] = est & ((out["value"] < out["lo998"]) | (out["value"] > out["hi998"])).to_numpy()
    out["tau2"] = tau2
    return out


def _funnel_table(points: _Points, *, overdispersion: bool, ratio: bool) -> pd.DataFrame:
    """The funnel table of ``points``, widened for overdispersion if asked; notes in ``attrs["notes"]``."""
    notes = list(points.notes)
    tau2 = 0.0
    if overdispersion:
        tau2, note = _overdispersion(points)
        if note:
            notes.append(note)
    out = _with_limits(points, tau2=tau2, ratio=ratio)
    out.attrs["notes"] = notes
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
    for name, limit in _limits(target, se, ratio=is_ratio).items():
        out[name] = limit
    return out
