"""Stop outcomes by driver and officer group: rates, disparity ratios, benchmarks, funnels.

Every table is tidy: one row per (unit, group) with the event ``count``, the
``denominator``, the ``rate`` with its 95 % Wilson interval (``lo``, ``hi``), a
``small_cell`` flag, an empirical-Bayes-smoothed rate (``eb_rate``) and the disparity
``ratio`` against a reference group with its 95 % interval (``ratio_lo``, ``ratio_hi``,
log method).

Definitions
-----------
Outcomes
    ``search`` (a search was conducted), ``arrest``, ``citation``, ``written_warning``,
    ``verbal_warning``, ``no_action`` (the result of the stop). The denominator is every
    stop whose outcome is known: stops with an unreadable search flag are left out of
    search rates, stops with an unknown result out of result rates (both reported by
    :func:`data_notes`). With ``among="searched"`` the denominator is the searched stops
    (e.g. the arrest rate of searched drivers), a *search-based* outcome.
Small cells
    ``small_cell`` is true when the denominator is below ``min_cell`` (50): fewer than
    50 stops, or fewer than 50 searches for search-based outcomes. A 40 % search rate
    from 5 stops must not headline a table.
Disparity ratio
    ``rate(group) / rate(reference)`` within the same unit; 95 % interval by the log
    (Katz) method, ``exp(log RR ± 1.96 sqrt(1/a - 1/n1 + 1/c - 1/n2))``; missing when
    either count is zero.
Empirical Bayes
    See :func:`eb_smooth`: each rate is pulled toward the citywide rate by a beta prior
    whose strength is estimated from the spread of the rates (method of moments).
    Without a unit (``per=None``) the groups are pulled toward the citywide rate of all
    stops; with a unit (``per="division"``) each group's unit rates are pulled toward
    that group's citywide rate, so the smoothing does not erase the disparity itself.
Filters
    :class:`StopFilter` (period, reason, driver gender, age band, division) applies to
    every analysis here and in :mod:`geo.models`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from geo import caveats
from geo._errors import EmptyInputError, SchemaError, ValueDomainError, quote_values
from geo.aggregate import GROUP_POPULATION

__all__ = [
    "OUTCOMES",
    "DRIVER_DIMENSIONS",
    "OFFICER_DIMENSIONS",
    "DEFAULT_REFERENCE",
    "MIN_CELL",
    "StopFilter",
    "filter_stops",
    "data_notes",
    "groups_present",
    "outcome_flags",
    "rates",
    "rate_tables",
    "eb_smooth",
    "ratio_interval",
    "wilson",
    "officer_rates",
    "officer_driver_matrix",
    "stop_benchmark",
    "funnel",
    "funnel_curve",
    "disparity_suite",
    "RATE_CAVEAT",
    "RATIO_CAVEAT",
    "SMALL_CELL_CAVEAT",
    "EB_CAVEAT",
    "BENCHMARK_CAVEAT",
    "FUNNEL_CAVEAT",
    "ACCOUNTABILITY_CAVEAT",
]

Outcome = Literal["search", "arrest", "citation", "written_warning", "verbal_warning", "no_action"]
Dimension = Literal[
    "driver_group",
    "driver_race",
    "driver_ethnicity",
    "driver_gender",
    "age_band",
    "reason",
    "officer_race",
    "officer_gender",
    "officer_years_band",
    "division",
    "month",
    "year",
]
Among = Literal["all", "searched"]

#: Outcome name -> value of ``result`` (``None`` for the search flag).
OUTCOMES: dict[str, str | None] = {
    "search": None,
    "arrest": "Arrest",
    "citation": "Citation Issued",
    "written_warning": "Written Warning",
    "verbal_warning": "Verbal Warning",
    "no_action": "No Action Taken",
}

#: Driver characteristics the rate tables break down by.
DRIVER_DIMENSIONS: tuple[str, ...] = ("driver_group", "driver_race", "driver_ethnicity", "driver_gender", "age_band", "reason")
#: Officer characteristics for the accountability tables.
OFFICER_DIMENSIONS: tuple[str, ...] = ("officer_years_band", "officer_race", "officer_gender")
_ALL_DIMENSIONS: tuple[str, ...] = (*DRIVER_DIMENSIONS, *OFFICER_DIMENSIONS, "division", "month", "year")

#: Reference group of each dimension for disparity ratios (``None``: no ratio).
DEFAULT_REFERENCE: dict[str, str | None] = {
    "driver_group": "White",
    "driver_race": "White",
    "driver_ethnicity": "Non-Hispanic",
    "driver_gender": "Male",
    "age_band": "25-34",
    "reason": "Speeding",
    "officer_race": "White",
    "officer_gender": "Male",
    "officer_years_band": "0-4",
    "division": None,
    "month": None,
    "year": None,
}

#: Cells with a denominator below this are flagged ``small_cell``.
MIN_CELL = 50
Z95 = float(stats.norm.ppf(0.975))
Z998 = float(stats.norm.ppf(0.999))
CITY = "All stops"
NO_DIVISION = "No division recorded"
OTHER = "Other/Unknown"

RATE_CAVEAT = (
    "Rates are shares of stops (or of searched stops) with the outcome, with 95 % Wilson intervals. "
    "They describe what happened in the recorded stops; they do not by themselves show why."
)
RATIO_CAVEAT = (
    "A disparity ratio compares a group's rate with the reference group's rate in the same unit (95 % interval, "
    "log method). Groups differ in where, when and why they are stopped: a raw ratio is not adjusted for any of "
    "that (see the multivariable models), and the models cannot adjust for what the data do not record."
)
SMALL_CELL_CAVEAT = (
    f"Small cell: fewer than {MIN_CELL} stops (or {MIN_CELL} searches for search-based outcomes). "
    "Its rate is too uncertain to headline; read the interval and the smoothed rate."
)
EB_CAVEAT = (
    "Smoothed rates (empirical Bayes) pull each rate toward the citywide rate, more so the fewer stops it rests on; "
    "they are steadier for ranking small units but are estimates, not counts."
)
BENCHMARK_CAVEAT = (
    caveats.RESIDENTS_NOT_DRIVERS
    + " Division populations are the 2020 census counts of neighborhood profile areas apportioned to divisions by "
    "area, and exposure to police differs with where officers are deployed. A higher stop rate per resident is a "
    "prompt for questions, not proof of bias."
)
FUNNEL_CAVEAT = (
    "Funnel plot: each division's value against the citywide value, with 95 % and 99.8 % control limits that "
    "narrow as the division's stop counts grow. Points outside the 99.8 % limits differ from the city by more "
    "than chance alone would explain (about 1 in 500 expected by chance). With thousands of stops per division "
    "the plain limits are narrow and most divisions fall outside them (overdispersion): real differences in "
    "population, roads and deployment that the limits do not account for. The overdispersion option widens "
    "the limits by the ordinary spread between divisions and shows which stand out even from that."
)
ACCOUNTABILITY_CAVEAT = (
    "Officer-level rates describe the stops officers in each group made. Officers are not assigned at random: "
    "years of service, assignment, shift and division shape who and where they stop, so differences between "
    "officer groups are descriptive, not evidence about individual officers."
)


# --------------------------------------------------------------------------- filters


def _as_tuple(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _month(value: object, what: str) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    bad = ValueDomainError(f"Filter {what}={value!r} is not a month; use YYYY-MM (e.g. 2020-06).")
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d{4})[-/](\d{1,2})\s*", value)
        if m is None or not 1 <= int(m[2]) <= 12:
            raise bad
        return pd.Timestamp(year=int(m[1]), month=int(m[2]), day=1)
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise bad from None
    return ts.to_period("M").to_timestamp()


@dataclass(frozen=True)
class StopFilter:
    """Which stops to analyse; every field empty means all stops.

    Hashable (tuples only), so the app can use it as a cache key.

    Attributes
    ----------
    start, end
        First and last month, inclusive, as ``"YYYY-MM"``.
    reasons
        Reasons for stop to keep (e.g. ``("Speeding",)``).
    driver_genders
        Driver genders to keep.
    age_bands
        Driver age bands to keep (``"18-24"`` ...).
    divisions
        Divisions to keep (``DNAME``, or ``"No division recorded"``).

    Examples
    --------
    >>> f = StopFilter(start="2021-01", reasons=("Speeding",))
    >>> f.describe()
    'month from 2021-01; reason in Speeding'
    """

    start: str | None = None
    end: str | None = None
    reasons: tuple[str, ...] = ()
    driver_genders: tuple[str, ...] = ()
    age_bands: tuple[str, ...] = ()
    divisions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("reasons", "driver_genders", "age_bands", "divisions"):
            object.__setattr__(self, name, _as_tuple(getattr(self, name)))
        start, end = _month(self.start, "start"), _month(self.end, "end")
        if start is not None and end is not None and start > end:
            raise ValueDomainError(f"Filter start {self.start} is after end {self.end}.")

    def steps(self) -> list[tuple[str, str, tuple[str, ...] | pd.Timestamp]]:
        """The active filter steps: ``(label, column, values)``."""
        out: list[tuple[str, str, tuple[str, ...] | pd.Timestamp]] = []
        start, end = _month(self.start, "start"), _month(self.end, "end")
        if start is not None:
            out.append((f"month from {start:%Y-%m}", "month>=", start))
        if end is not None:
            out.append((f"month to {end:%Y-%m}", "month<=", end))
        for label, column, values in (
            ("reason", "reason", self.reasons),
            ("driver gender", "driver_gender", self.driver_genders),
            ("age band", "age_band", self.age_bands),
            ("division", "division", self.divisions),
        ):
            if values:
                out.append((f"{label} in {', '.join(values)}", column, values))
        return out

    def describe(self) -> str:
        """Plain words, e.g. ``"month from 2021-01; reason in Speeding"``; ``"all stops"`` if empty."""
        steps = self.steps()
        return "; ".join(s[0] for s in steps) if steps else "all stops"

    def apply(self, stops: pd.DataFrame) -> pd.DataFrame:
        """Return the stops that pass the filter (a new frame).

        Raises
        ------
        ValueDomainError
            A value that is not a category of its column (the message lists the allowed ones).
        EmptyInputError
            If a step leaves no stops; the message names that step.
        """
        steps = self.steps()
        if not steps:
            return stops
        mask = np.ones(len(stops), dtype=bool)
        applied: list[str] = []
        for label, column, values in steps:
            if column in ("month>=", "month<="):
                _require(stops, ["month"])
                month = stops["month"].to_numpy()
                step = month >= np.datetime64(values) if column == "month>=" else month <= np.datetime64(values)
            else:
                _require(stops, [column])
                col = stops[column]
                allowed = [str(c) for c in col.cat.categories] if isinstance(col.dtype, pd.CategoricalDtype) else sorted(map(str, pd.unique(col)))
                unknown = [v for v in values if v not in allowed]
                if unknown:
                    raise ValueDomainError(
                        f"Filter {label.split(' in ')[0]}: unknown value(s) {quote_values(unknown)}; allowed: {', '.join(allowed)}."
                    )
                step = col.isin(list(values)).to_numpy()
            mask &= step
            applied.append(label)
            if not mask.any():
                before = f" (after {'; '.join(applied[:-1])})" if len(applied) > 1 else ""
                raise EmptyInputError(
                    f"No stops left after the filter '{label}'{before}: {int(step.sum()):,} of {len(stops):,} stops "
                    "match it on its own. Widen the filter."
                )
        return stops.loc[mask].reset_index(drop=True)


def filter_stops(
    stops: pd.DataFrame,
    *,
    start: str | None = None,
    end: str | None = None,
    reasons: str | Sequence[str] | None = None,
    driver_genders: str | Sequence[str] | None = None,
    age_bands: str | Sequence[str] | None = None,
    divisions: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Keyword form of :class:`StopFilter`: ``filter_stops(stops, reasons="Speeding")``."""
    return StopFilter(
        start=start,
        end=end,
        reasons=_as_tuple(reasons),
        driver_genders=_as_tuple(driver_genders),
        age_bands=_as_tuple(age_bands),
        divisions=_as_tuple(divisions),
    ).apply(stops)


def _require(stops: pd.DataFrame, columns: Iterable[str]) -> None:
    missing = [c for c in columns if c not in stops.columns]
    if missing:
        raise SchemaError(
            f"The stops frame is missing column(s) {', '.join(missing)}; expected the clean frame of geo.load.load_stops "
            f"(found: {', '.join(map(str, stops.columns))})."
        )


def _filtered(stops: pd.DataFrame, filters: StopFilter | None) -> pd.DataFrame:
    if not isinstance(stops, pd.DataFrame):
        raise TypeError(f"stops must be a pandas DataFrame, not {type(stops).__name__}.")
    if len(stops) == 0:
        raise EmptyInputError("The stops frame has no rows.")
    return filters.apply(stops) if filters is not None else stops


def groups_present(stops: pd.DataFrame, dimension: Dimension, *, filters: StopFilter | None = None) -> list[str]:
    """Groups of ``dimension`` that have at least one stop (after ``filters``), in category order.

    The choices a reference-group selector can offer: a group absent from the filtered
    stops cannot be a reference.

    Raises
    ------
    ValueDomainError
        Unknown dimension.
    EmptyInputError
        The filter leaves no stops.

    Examples
    --------
    >>> groups_present(stops, "driver_gender")  # doctest: +SKIP
    ['Male', 'Female']
    """
    prep = _Prepared(_filtered(stops, filters))
    codes, levels = prep.codes(dimension)
    counts = np.bincount(codes, minlength=len(levels))
    return [lv for lv, c in zip(levels, counts.tolist(), strict=True) if c > 0]


def data_notes(stops: pd.DataFrame) -> list[str]:
    """Plain-language notes on what in ``stops`` is unknown, flagged or bucketed.

    Nothing is dropped silently: unknown categories stay as ``Other/Unknown`` groups,
    stops without a division stay as ``No division recorded``; this lists them.
    """
    notes: list[str] = []
    n = len(stops)
    for column, label in (
        ("driver_race", "driver race"),
        ("driver_ethnicity", "driver ethnicity"),
        ("driver_gender", "driver gender"),
        ("reason", "reason for stop"),
        ("result", "result of stop"),
        ("officer_race", "officer race"),
        ("officer_gender", "officer gender"),
    ):
        if column in stops:
            k = int((stops[column] == OTHER).sum())
            if k:
                extra = " (left out of result rates and the arrest model)" if column == "result" else " (kept as their own group)"
                notes.append(f"{label} '{OTHER}': {k:,} of {n:,} stops{extra}")
    if "searched" in stops:
        k = int(stops["searched"].isna().sum())
        if k:
            notes.append(f"search flag not Yes/No: {k:,} stops (left out of search rates and the search model)")
    if "officer_years" in stops:
        k = int(stops["officer_years"].isna().sum())
        if k:
            notes.append(f"officer years of service missing: {k:,} stops (band 'Unknown'; left out of the models)")
    if "age_flagged" in stops:
        k = int(stops["age_flagged"].sum())
        if k:
            notes.append(f"driver age outside 15-100: {k:,} stops (band 'Outside 15-100'; left out of the models)")
    if "division" in stops:
        k = int((stops["division"] == NO_DIVISION).sum())
        if k:
            notes.append(f"no division recorded: {k:,} stops (kept as '{NO_DIVISION}'; not in benchmarks or funnels)")
    return notes


# --------------------------------------------------------------------------- core


def outcome_flags(stops: pd.DataFrame, outcome: Outcome, *, among: Among = "all") -> tuple[np.ndarray, np.ndarray]:
    """Boolean arrays ``(event, valid)`` for ``outcome``.

    ``valid`` marks the stops in the denominator: a known search flag (search), a known
    result (other outcomes), and with ``among="searched"`` also a search conducted.
    """
    if outcome not in OUTCOMES:
        raise ValueDomainError(f"Unknown outcome {outcome!r}; allowed: {', '.join(OUTCOMES)}.")
    if among not in ("all", "searched"):
        raise ValueDomainError(f"Unknown among={among!r}; allowed: 'all', 'searched'.")
    _require(stops, ["searched"])
    searched = stops["searched"]
    if outcome == "search":
        valid = searched.notna().to_numpy()
        event = searched.fillna(False).to_numpy(dtype=bool)
    else:
        _require(stops, ["result"])
        result = stops["result"]
        valid = (result != OTHER).to_numpy()
        event = (result == OUTCOMES[outcome]).to_numpy()
    if among == "searched":
        if outcome == "search":
            raise ValueDomainError("The search rate among searched stops is always 1; use among='all'.")
        valid = valid & searched.fillna(False).to_numpy(dtype=bool)
    return event & valid, valid


class _Prepared:
    """Category codes and outcome flags of one (filtered) stops frame, computed once."""

    def __init__(self, stops: pd.DataFrame) -> None:
        self.stops = stops
        self.n = len(stops)
        self._codes: dict[str, tuple[np.ndarray, list[str]]] = {}
        self._flags: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self.notes: list[str] = []

    def codes(self, dim: str) -> tuple[np.ndarray, list[str]]:
        if dim not in self._codes:
            if dim not in _ALL_DIMENSIONS:
                raise ValueDomainError(f"Unknown dimension {dim!r}; allowed: {', '.join(_ALL_DIMENSIONS)}.")
            if dim in ("month", "year"):
                _require(self.stops, ["month"])
                m = self.stops["month"].to_numpy().astype(f"datetime64[{'M' if dim == 'month' else 'Y'}]")
                uniq, codes = np.unique(m, return_inverse=True)
                levels = [str(x) for x in np.datetime_as_string(uniq, unit="M" if dim == "month" else "Y")]
            else:
                _require(self.stops, [dim])
                col = self.stops[dim]
                if not isinstance(col.dtype, pd.CategoricalDtype):
                    col = col.astype("category")
                codes = col.cat.codes.to_numpy().astype(np.int64)
                levels = [str(c) for c in col.cat.categories]
                if (codes < 0).any():  # never drop silently: missing values become their own level
                    codes = np.where(codes < 0, len(levels), codes)
                    levels = [*levels, "Missing"]
            self._codes[dim] = (codes.astype(np.int64), levels)
        return self._codes[dim]

    def flags(self, outcome: Outcome, among: Among) -> tuple[np.ndarray, np.ndarray]:
        key = (outcome, among)
        if key not in self._flags:
            self._flags[key] = outcome_flags(self.stops, outcome, among=among)
        return self._flags[key]


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


def _resolve_reference(dim: str, levels: list[str], present: np.ndarray, reference: str | None, where: str) -> int | None:
    if reference == "auto":
        reference = DEFAULT_REFERENCE.get(dim)
    if reference is None:
        return None
    if reference not in levels:
        raise ValueDomainError(
            f"Reference group {reference!r} is not a {dim} group; allowed: {', '.join(lv for lv, p in zip(levels, present, strict=True) if p)}."
        )
    i = levels.index(reference)
    if not present[i]:
        raise ValueDomainError(
            f"Reference group {reference!r} has no stops in the filtered data ({where}); "
            f"{dim} groups present: {', '.join(lv for lv, p in zip(levels, present, strict=True) if p)}. Choose another reference."
        )
    return i


def _rates(
    prep: _Prepared,
    *,
    outcome: Outcome,
    by: str,
    per: str | None,
    reference: str | None,
    among: Among,
    min_cell: int,
    where: str,
) -> pd.DataFrame:
    event, valid = prep.flags(outcome, among)
    gcodes, glevels = prep.codes(by)
    ng = len(glevels)
    if per is None:
        ucodes, ulevels = np.zeros(prep.n, dtype=np.int64), [CITY]
    else:
        if per == by:
            raise ValueDomainError(f"per and by are both {by!r}; choose two different dimensions.")
        ucodes, ulevels = prep.codes(per)
    nu = len(ulevels)
    key = ucodes * ng + gcodes
    den = np.bincount(key[valid], minlength=nu * ng).reshape(nu, ng)
    cnt = np.bincount(key[event], minlength=nu * ng).reshape(nu, ng)
    if den.sum() == 0:
        raise EmptyInputError(f"No stops with a known {outcome} outcome in the filtered data ({where}).")
    ref = _resolve_reference(by, glevels, den.sum(axis=0) > 0, reference, where)

    # smoothing: per group across units toward the group's citywide rate, or across groups toward the city
    eb = np.full(den.shape, np.nan)
    if per is None:
        eb[0], _ = eb_smooth(cnt[0], den[0], prior_rate=cnt.sum() / den.sum())
    else:
        for g in range(ng):
            if den[:, g].sum() > 0:
                eb[:, g], _ = eb_smooth(cnt[:, g], den[:, g], prior_rate=cnt[:, g].sum() / den[:, g].sum())

    if ref is not None:
        ratio, rlo, rhi = ratio_interval(cnt, den, cnt[:, [ref]], den[:, [ref]])
        ratio[:, ref] = np.where(cnt[:, ref] > 0, 1.0, np.nan)
        rlo[:, ref] = np.nan
        rhi[:, ref] = np.nan
    else:
        ratio = rlo = rhi = np.full(den.shape, np.nan)

    ui, gi = np.nonzero(den > 0)
    if ref is not None and per is not None:
        lacking = [ulevels[u] for u in range(nu) if den[u].sum() > 0 and cnt[u, ref] == 0]
        if lacking:
            prep.notes.append(
                f"{outcome}: reference group '{glevels[ref]}' has no {outcome} events (or no stops) in {len(lacking)} "
                f"{per} unit(s), so no ratio there: {', '.join(lacking[:8])}{' ...' if len(lacking) > 8 else ''}"
            )
    d = den[ui, gi]
    c = cnt[ui, gi]
    lo, hi = wilson(c, d)
    out = pd.DataFrame(
        {
            "outcome": outcome,
            "base": "stops" if among == "all" else "searched stops",
            "scope": "city" if per is None else per,
            "unit": np.asarray(ulevels, dtype=object)[ui],
            "dimension": by,
            "group": np.asarray(glevels, dtype=object)[gi],
            "count": c.astype(np.int64),
            "denominator": d.astype(np.int64),
            "rate": c / d,
            "lo": lo,
            "hi": hi,
            "small_cell": d < min_cell,
            "eb_rate": eb[ui, gi],
            "reference": glevels[ref] if ref is not None else None,
            "is_reference": gi == ref if ref is not None else False,
            "ratio": ratio[ui, gi],
            "ratio_lo": rlo[ui, gi],
            "ratio_hi": rhi[ui, gi],
        }
    )
    return out


def rates(
    stops: pd.DataFrame,
    *,
    outcome: Outcome = "search",
    by: Dimension = "driver_group",
    per: Dimension | None = None,
    reference: str | None = "auto",
    among: Among = "all",
    filters: StopFilter | None = None,
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """Outcome rates by group, optionally within each unit (division, month, ...).

    Parameters
    ----------
    stops
        The clean stops frame of :func:`geo.load.load_stops`.
    outcome
        ``search``, ``arrest``, ``citation``, ``written_warning``, ``verbal_warning``, ``no_action``.
    by
        The groups compared (rows within a unit), e.g. ``driver_group``.
    per
        The unit: ``None`` (citywide), ``division``, ``month``, ``officer_race`` ...
    reference
        Reference group of ``by`` for the disparity ratio; ``"auto"`` uses
        :data:`DEFAULT_REFERENCE` (White for race), ``None`` gives no ratio.
    among
        ``"all"`` stops or ``"searched"`` stops only (search-based outcomes).
    filters
        Which stops to use.
    min_cell
        Denominators below this are flagged ``small_cell``.

    Returns
    -------
    pandas.DataFrame
        One row per (unit, group) with at least one stop: ``outcome, base, scope, unit,
        dimension, group, count, denominator, rate, lo, hi, small_cell, eb_rate,
        reference, is_reference, ratio, ratio_lo, ratio_hi``. ``attrs["notes"]`` holds
        :func:`data_notes` of the filtered stops.

    Raises
    ------
    ValueDomainError
        Unknown outcome, dimension or reference group; a reference group absent from
        the filtered data.
    EmptyInputError
        A filter leaves no stops.

    Examples
    --------
    >>> from geo.load import load_stops  # doctest: +SKIP
    >>> stops, _ = load_stops()  # doctest: +SKIP
    >>> rates(stops, outcome="search", by="driver_group").set_index("group")["ratio"]["Black"]  # doctest: +SKIP
    3.30...
    """
    data = _filtered(stops, filters)
    where = filters.describe() if filters is not None else "all stops"
    prep = _Prepared(data)
    out = _rates(prep, outcome=outcome, by=by, per=per, reference=reference, among=among, min_cell=min_cell, where=where)
    out.attrs["notes"] = data_notes(data) + prep.notes
    return out


def rate_tables(
    stops: pd.DataFrame,
    *,
    outcomes: Sequence[Outcome] = tuple(OUTCOMES),
    dimensions: Sequence[Dimension] = DRIVER_DIMENSIONS,
    scopes: Sequence[Dimension | None] = (None, "division", "month"),
    reference: str = "White",
    filters: StopFilter | None = None,
    min_cell: int = MIN_CELL,
    _prep: _Prepared | None = None,
) -> pd.DataFrame:
    """All outcome × dimension × scope rate tables stacked into one long frame.

    ``reference`` applies to the race dimensions (``driver_group``, ``driver_race``);
    the others use :data:`DEFAULT_REFERENCE`. A combination whose reference group is
    absent (e.g. ``reference="Hispanic"`` for ``driver_race``) gets no ratio.
    """
    if _prep is None:
        data = _filtered(stops, filters)
        _prep = _Prepared(data)
    where = filters.describe() if filters is not None else "all stops"
    frames = []
    for outcome in outcomes:
        for dim in dimensions:
            ref: str | None = reference if dim in ("driver_group", "driver_race") else "auto"
            if dim == "driver_race" and reference not in _prep.codes(dim)[1]:
                ref = None
                note = f"driver_race has no group '{reference}' (Hispanic is an ethnicity there): no ratios by driver_race"
                if note not in _prep.notes:
                    _prep.notes.append(note)
            for per in scopes:
                frames.append(
                    _rates(_prep, outcome=outcome, by=dim, per=per, reference=ref, among="all", min_cell=min_cell, where=where)
                )
    out = pd.concat(frames, ignore_index=True)
    out.attrs["notes"] = data_notes(_prep.stops) + _prep.notes
    return out


# --------------------------------------------------------------------------- accountability


def officer_rates(
    stops: pd.DataFrame,
    *,
    by: Literal["officer_years_band", "officer_race", "officer_gender"] = "officer_years_band",
    outcomes: Sequence[Outcome] = tuple(OUTCOMES),
    filters: StopFilter | None = None,
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """Outcome rates by officer years-of-service band, race or gender (stacked over outcomes)."""
    if by not in OFFICER_DIMENSIONS:
        raise ValueDomainError(f"Unknown officer dimension {by!r}; allowed: {', '.join(OFFICER_DIMENSIONS)}.")
    prep = _Prepared(_filtered(stops, filters))
    where = filters.describe() if filters is not None else "all stops"
    out = pd.concat(
        [_rates(prep, outcome=o, by=by, per=None, reference="auto", among="all", min_cell=min_cell, where=where) for o in outcomes],
        ignore_index=True,
    )
    out.attrs["notes"] = data_notes(prep.stops) + prep.notes
    return out


def officer_driver_matrix(
    stops: pd.DataFrame,
    *,
    outcome: Outcome = "search",
    officer: Literal["officer_race", "officer_gender", "officer_years_band"] = "officer_race",
    driver: Literal["driver_group", "driver_race"] = "driver_group",
    reference: str = "White",
    filters: StopFilter | None = None,
    min_cell: int = MIN_CELL,
    wide: bool = False,
) -> pd.DataFrame:
    """Officer-race × driver-race outcome rates (default: search rates).

    Returns the long table of :func:`rates` with ``per=officer`` (``unit`` is the
    officer group, ``group`` the driver group, ``ratio`` against ``reference`` drivers
    stopped by the same officer group); with ``wide=True``, a matrix of rates (officer
    rows × driver columns) instead.
    """
    out = rates(stops, outcome=outcome, by=driver, per=officer, reference=reference, filters=filters, min_cell=min_cell)
    if wide:
        notes = out.attrs.get("notes", [])
        rows, cols = list(pd.unique(out["unit"])), list(pd.unique(out["group"]))
        out = out.pivot(index="unit", columns="group", values="rate").reindex(index=rows, columns=cols)
        out.index.name = officer
        out.columns.name = driver
        out.attrs["notes"] = notes
    return out


# --------------------------------------------------------------------------- benchmark


def _poisson_interval(k: np.ndarray, *, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for a Poisson count."""
    k = np.asarray(k, dtype=float)
    lo = np.where(k > 0, stats.chi2.ppf(alpha / 2, 2 * k) / 2, 0.0)
    hi = stats.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2
    return lo, hi


def stop_benchmark(
    stops: pd.DataFrame,
    population: pd.DataFrame,
    *,
    reference: str = "White",
    filters: StopFilter | None = None,
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """Stops per 1,000 residents by driver group in each division (the benchmark test).

    Parameters
    ----------
    stops
        The clean stops frame.
    population
        Indexed by division name, with ``pop_2020`` and the columns of
        :data:`geo.aggregate.GROUP_POPULATION` (``white_nh_2020``, ``black_nh_2020``,
        ``hispanic_2020``, ``asian_nh_2020``), e.g. :func:`geo.layers.division_population`.
    reference
        Driver group the stop-rate ratio compares with.
    filters
        Which stops to use.
    min_cell
        Fewer stops than this are flagged ``small_cell``.

    Returns
    -------
    pandas.DataFrame
        ``unit`` (division, plus ``"All divisions"``), ``group`` (White, Black,
        Hispanic, Asian and ``"All drivers"``), ``count`` (stops), ``residents``,
        ``per_1000`` with a 95 % exact Poisson interval (``lo``, ``hi``), ``small_cell``,
        ``reference``, ``ratio`` (stops per resident against ``reference`` in the same
        division, 95 % log-method interval ``sqrt(1/a + 1/c)``). Stops with no division
        and drivers without a comparable population column (Native American,
        Other/Unknown) are not benchmarked; ``attrs["notes"]`` says how many. Read
        :data:`BENCHMARK_CAVEAT` beside it.
    """
    data = _filtered(stops, filters)
    _require(data, ["division", "driver_group"])
    needed = ["pop_2020", *GROUP_POPULATION.values()]
    if not isinstance(population, pd.DataFrame):
        raise TypeError(f"population must be a pandas DataFrame, not {type(population).__name__}.")
    missing = [c for c in needed if c not in population.columns]
    if missing:
        raise SchemaError(
            f"The population table is missing column(s) {', '.join(missing)}; expected {', '.join(needed)} indexed by division."
        )
    if reference not in GROUP_POPULATION:
        raise ValueDomainError(f"Benchmark reference {reference!r} has no population column; allowed: {', '.join(GROUP_POPULATION)}.")
    pop = population[needed].astype(float)
    pop.index = pop.index.astype(str)
    recorded = data[data["division"] != NO_DIVISION]
    notes = data_notes(data)
    seen = [str(d) for d in pd.unique(recorded["division"].astype(str))]
    unknown_pop = [d for d in seen if d not in pop.index]
    divs = [*pop.index, *unknown_pop]
    if unknown_pop:
        notes.append(f"no population for division(s) {', '.join(unknown_pop)}: their stops have no per-resident rate")
    counts = pd.crosstab(recorded["division"].astype(str), recorded["driver_group"].astype(str)).reindex(index=divs, fill_value=0)
    groups = list(GROUP_POPULATION)
    not_bench = int(len(recorded) - counts.reindex(columns=groups, fill_value=0).to_numpy().sum())
    if not_bench:
        notes.append(f"{not_bench:,} stops of drivers without a comparable population group (Native American, Other/Unknown) are counted only in 'All drivers'")
    rows = []
    for unit, sub_pop in [*((d, pop.reindex([d])) for d in divs), ("All divisions", pop.reindex(divs))]:
        if unit == "All divisions":
            row_counts = counts.loc[[d for d in divs if d not in unknown_pop]].sum()  # divisions with a population
        else:
            row_counts = counts.loc[unit]
        for g in [*groups, "All drivers"]:
            k = int(row_counts.get(g, 0)) if g != "All drivers" else int(row_counts.sum())
            col = "pop_2020" if g == "All drivers" else GROUP_POPULATION[g]
            res = float(sub_pop[col].sum(min_count=1)) if sub_pop[col].notna().any() else np.nan
            rows.append((unit, g, k, res))
    out = pd.DataFrame(rows, columns=["unit", "group", "count", "residents"])
    res = out["residents"].to_numpy()
    ok = np.isfinite(res) & (res > 0)
    k = out["count"].to_numpy(dtype=float)
    lo, hi = _poisson_interval(k)
    out["per_1000"] = np.where(ok, k / np.where(ok, res, 1) * 1000, np.nan)
    out["lo"] = np.where(ok, lo / np.where(ok, res, 1) * 1000, np.nan)
    out["hi"] = np.where(ok, hi / np.where(ok, res, 1) * 1000, np.nan)
    out["small_cell"] = out["count"] < min_cell
    out["reference"] = reference
    ref = out[out["group"] == reference].set_index("unit")
    a = k
    c = out["unit"].map(ref["count"]).to_numpy(dtype=float)
    ra = res
    rc = out["unit"].map(ref["residents"]).to_numpy(dtype=float)
    ratio = np.full(len(out), np.nan)
    rlo = ratio.copy()
    rhi = ratio.copy()
    is_group = (out["group"] != "All drivers").to_numpy()
    okr = is_group & ok & np.isfinite(rc) & (rc > 0) & (c > 0)
    ratio[okr] = (a[okr] / ra[okr]) / (c[okr] / rc[okr])
    ci = okr & (a > 0) & (out["group"] != reference).to_numpy()
    se = np.sqrt(1 / a[ci] + 1 / c[ci])
    rlo[ci] = ratio[ci] * np.exp(-Z95 * se)
    rhi[ci] = ratio[ci] * np.exp(Z95 * se)
    out["ratio"], out["ratio_lo"], out["ratio_hi"] = ratio, rlo, rhi
    n_nodiv = int((data["division"] == NO_DIVISION).sum())
    if n_nodiv:
        notes.append(f"{n_nodiv:,} stops with no division recorded are not in any division's rate")
    if "month" in data and len(data):
        m0, m1 = data["month"].min(), data["month"].max()
        months = (m1.year - m0.year) * 12 + m1.month - m0.month + 1
        notes.append(f"rates count the stops of {m0:%Y-%m} to {m1:%Y-%m} ({months} months) per 1,000 residents; they are not yearly rates")
    out.attrs["notes"] = notes
    out.attrs["caveat"] = BENCHMARK_CAVEAT
    return out


# --------------------------------------------------------------------------- funnel


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
    data = _filtered(stops, filters)
    prep = _Prepared(data)
    where = filters.describe() if filters is not None else "all stops"
    event, valid = prep.flags(outcome, "all")
    notes = data_notes(data)
    if measure == "rate":
        city_den = int(valid.sum())
        if city_den == 0:
            raise EmptyInputError(f"No stops with a known {outcome} outcome in the filtered data ({where}).")
        target = float(event.sum() / city_den)
        t = _rates(prep, outcome=outcome, by=unit, per=None, reference=None, among="all", min_cell=MIN_CELL, where=where)
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
        t = _rates(prep, outcome=outcome, by=dimension, per=unit, reference=reference, among="all", min_cell=MIN_CELL, where=where)
        levels = prep.codes(dimension)[1]
        if group not in levels:
            raise ValueDomainError(f"Funnel group {group!r} is not a {dimension} group; allowed: {', '.join(levels)}.")
        if group == reference:
            raise ValueDomainError(f"Funnel group and reference are both {group!r}; choose two different groups.")
        city = _rates(prep, outcome=outcome, by=dimension, per=None, reference=reference, among="all", min_cell=MIN_CELL, where=where)
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


# --------------------------------------------------------------------------- suite


@dataclass
class DisparitySuite:
    """Every disparity table for one filter (see :func:`disparity_suite`)."""

    rates: pd.DataFrame
    officer_rates: pd.DataFrame
    officer_driver_search: pd.DataFrame
    funnel_ratio: pd.DataFrame
    funnel_rate: pd.DataFrame
    benchmark: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)
    caveats: dict[str, str] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {
            "rates": self.rates,
            "officer_rates": self.officer_rates,
            "officer_driver_search": self.officer_driver_search,
            "funnel_ratio": self.funnel_ratio,
            "funnel_rate": self.funnel_rate,
        }
        if self.benchmark is not None:
            out["benchmark"] = self.benchmark
        return out


def disparity_suite(
    stops: pd.DataFrame,
    *,
    population: pd.DataFrame | None = None,
    reference: str = "White",
    funnel_group: str | None = None,
    overdispersion: bool = False,
    filters: StopFilter | None = None,
    min_cell: int = MIN_CELL,
) -> DisparitySuite:
    """Compute every table of the disparity page at once (rates, accountability, funnels, benchmark).

    The filter is applied once and category codes are computed once.

    Parameters
    ----------
    stops
        The clean stops frame.
    population
        Division population by race (see :func:`stop_benchmark`); ``None`` skips the benchmark.
    reference
        Reference driver group for the race tables, the funnel and the benchmark.
    funnel_group
        Group whose ratio to ``reference`` the division funnel plots (default Black,
        or White when the reference is Black).
    overdispersion
        Widen the funnel limits for overdispersion (see :func:`funnel`).
    filters
        Which stops to use.
    min_cell
        Small-cell threshold.

    Returns
    -------
    DisparitySuite
        ``rates`` (:func:`rate_tables`: every outcome × driver dimension, citywide, per
        division and per month), ``officer_rates`` (every outcome by officer years band,
        race and gender), ``officer_driver_search`` (search rates, officer race × driver
        group), ``funnel_ratio`` and ``funnel_rate`` (:func:`funnel`), ``benchmark``
        (:func:`stop_benchmark`), ``notes`` and ``caveats``.
    """
    data = _filtered(stops, filters)
    prep = _Prepared(data)
    where = filters.describe() if filters is not None else "all stops"
    rt = rate_tables(data, reference=reference, min_cell=min_cell, _prep=prep)
    officer = pd.concat(
        [
            _rates(prep, outcome=o, by=dim, per=None, reference="auto", among="all", min_cell=min_cell, where=where)
            for dim in OFFICER_DIMENSIONS
            for o in OUTCOMES
        ],
        ignore_index=True,
    )
    matrix = _rates(
        prep, outcome="search", by="driver_group", per="officer_race", reference=reference, among="all", min_cell=min_cell, where=where
    )
    if funnel_group is None:
        funnel_group = "Black" if reference != "Black" else "White"
    f_ratio = funnel(data, group=funnel_group, reference=reference, overdispersion=overdispersion)
    f_rate = funnel(data, measure="rate", overdispersion=overdispersion)
    bench = None
    if population is not None:
        bench_ref = reference if reference in GROUP_POPULATION else "White"
        if bench_ref != reference:
            prep.notes.append(f"benchmark: '{reference}' has no population column; stop-rate ratios are against White")
        bench = stop_benchmark(data, population, reference=bench_ref)
    return DisparitySuite(
        rates=rt,
        officer_rates=officer,
        officer_driver_search=matrix,
        funnel_ratio=f_ratio,
        funnel_rate=f_rate,
        benchmark=bench,
        notes=data_notes(data) + prep.notes,
        caveats={
            "rates": RATE_CAVEAT,
            "ratio": RATIO_CAVEAT,
            "small_cell": SMALL_CELL_CAVEAT,
            "eb": EB_CAVEAT,
            "benchmark": BENCHMARK_CAVEAT,
            "funnel": FUNNEL_CAVEAT,
            "accountability": ACCOUNTABILITY_CAVEAT,
        },
    )
