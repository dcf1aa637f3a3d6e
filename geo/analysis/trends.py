"""Division trends: the monthly incident timeline per division and category, its trend and its yearly change.

From the timeline frame (``division, month, category, count``; :func:`geo.ingest.incidents.load_incident_timeline`):

- :func:`monthly_series`: one complete monthly series per division and category, with the totals
  ``All categories`` per division and ``Citywide`` per category (months with no row count 0, reported).
- :func:`division_trends`: for every series, the STL decomposition (trend, seasonal, remainder; for a
  small-multiples chart), the seasonal Mann-Kendall test with the seasonal Sen slope (incidents per
  month, change per year), and the change of the latest months against the same months a year earlier
  (ratio of the two counts with its exact conditional Poisson interval), each with a plain-language line.

The Mann-Kendall p-values are corrected for the many series tested (Benjamini-Hochberg by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from geo.caveats import TRENDS_CAVEAT
from geo.errors import EmptyInputError, SchemaError, ValueDomainError
from geo.stats.significance import Correction, check_alpha, significance_cutoff
from geo.stats.trends import RatioInterval, mk_trend, rate_ratio, seasonal_mk_trend, stl_decompose
from geo.vocab import NO_DIVISION

__all__ = [
    "ALL_CATEGORIES",
    "CITYWIDE",
    "TRENDS_CAVEAT",
    "TrendsResult",
    "monthly_series",
    "division_trends",
    "trend_line",
    "change_line",
]


#: The category label of a division's total over all categories.
ALL_CATEGORIES = "All categories"

#: The division label of the sum over all divisions.
CITYWIDE = "Citywide"


_KEYS = ["division", "category", "month"]


def _clean_timeline(timeline: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``division, category, month, count`` with text labels; missing divisions become :data:`NO_DIVISION`."""
    missing = [c for c in ("division", "month", "category", "count") if c not in timeline.columns]
    if missing:
        raise SchemaError(f"the timeline frame lacks column(s) {', '.join(missing)}")
    if timeline.empty:
        raise EmptyInputError("the timeline frame has no rows")
    notes = []
    df = pd.DataFrame(
        {
            "division": timeline["division"].astype(object),
            "category": timeline["category"].astype(str),
            "month": pd.to_datetime(timeline["month"]).dt.to_period("M").dt.to_timestamp(),
            "count": pd.to_numeric(timeline["count"], errors="coerce"),
        }
    )
    bad = df["count"].isna() | (df["count"] < 0)
    if bad.any():
        raise ValueDomainError(f"the timeline's count column has {int(bad.sum())} missing or negative value(s)")
    nodiv = df["division"].isna()
    if nodiv.any():
        notes.append(
            f"{int(df.loc[nodiv, 'count'].sum()):,} incidents with no matching division kept as {NO_DIVISION!r}"
        )
        df.loc[nodiv, "division"] = NO_DIVISION
    return df, notes


def monthly_series(timeline: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Complete monthly counts per division and category, with division and citywide totals.

    Returns
    -------
    series : pandas.DataFrame
        ``division, category, month, count`` for every month from the first to the
        last of the timeline; categories as in the data plus :data:`ALL_CATEGORIES`,
        divisions plus :data:`CITYWIDE`.
    notes : list of str
        Months filled with 0, incidents without a division.
    """
    df, notes = _clean_timeline(timeline)
    df = df.groupby(_KEYS, as_index=False, observed=True)["count"].sum()
    months = pd.date_range(df["month"].min(), df["month"].max(), freq="MS")
    full = pd.MultiIndex.from_product(
        [sorted(df["division"].unique()), sorted(df["category"].unique()), months], names=_KEYS
    )
    s = df.set_index(_KEYS)["count"].reindex(full)
    if s.isna().any():
        notes.append(f"{int(s.isna().sum())} division-category-month cell(s) absent from the timeline counted as 0")
    base = s.fillna(0).astype(np.int64).reset_index()
    by_div = base.groupby(["division", "month"], as_index=False)["count"].sum().assign(category=ALL_CATEGORIES)
    parts = pd.concat([base, by_div], ignore_index=True)
    city = parts.groupby(["category", "month"], as_index=False)["count"].sum().assign(division=CITYWIDE)
    out = pd.concat([parts, city], ignore_index=True)[_KEYS + ["count"]]
    return out.sort_values(_KEYS, kind="stable").reset_index(drop=True), notes


@dataclass(frozen=True)
class TrendsResult:
    """Division trends of :func:`division_trends`.

    Attributes
    ----------
    series
        ``division, category, month, count, trend, seasonal, resid`` (STL components): one
        panel per division for a small-multiples chart.
    tests
        One row per division and category: ``months, first_month, last_month, mean_per_month,
        s, z, p, tau, slope_per_year`` (Sen: change in monthly incidents per year),
        ``slope_pct_per_year`` (of the mean), ``trend_strength, seasonal_strength,
        significant`` (after the correction), ``direction``, ``line``.
    change
        One row per division and category: ``period, earlier_period, count, earlier_count,
        ratio, lo, hi, pct_change, pct_lo, pct_hi, p, line``.
    test, correction, alpha, cutoff
        The Mann-Kendall variant (``seasonal`` or ``original``), the multiple-testing
        correction, the significance level and the resulting p cutoff.
    lines
        The plain-language lines: one per division (all categories), trend and change.
    notes
        How the data were shaped (filled months, missing divisions).
    caveat
        :data:`TRENDS_CAVEAT`.
    """

    series: pd.DataFrame
    tests: pd.DataFrame
    change: pd.DataFrame
    test: str
    correction: str
    alpha: float
    cutoff: float
    lines: tuple[str, ...]
    notes: tuple[str, ...] = ()
    caveat: str = TRENDS_CAVEAT
    extra: dict[str, object] = field(default_factory=dict)

    def summary(self) -> str:
        """The plain-language lines, the notes and the caveat."""
        head = (
            f"{self.test} Mann-Kendall trend of monthly incidents, {len(self.tests)} series, alpha {self.alpha:g} "
            f"({self.correction} correction)"
        )
        return "\n".join([head, *self.lines, *(f"note: {n}" for n in self.notes)])


def _pct(x: float) -> str:
    return f"{abs(x) * 100:.0f} %"


def trend_line(row: pd.Series, *, alpha: float) -> str:
    """A plain-language line for one row of :attr:`TrendsResult.tests`."""
    who = f"{row['division']}, {str(row['category']).lower()}"
    span = f"{row['first_month']:%b %Y}–{row['last_month']:%b %Y}"
    if not row["significant"]:
        return (
            f"{who}: no clear upward or downward trend in monthly reports over {span} "
            f"(about {row['mean_per_month']:,.0f} a month)."
        )
    way = "rising" if row["direction"] == "increasing" else "falling"
    return (
        f"{who}: reports have been {way} over {span}, by about {abs(row['slope_per_year']):,.1f} a month each year "
        f"({_pct(row['slope_pct_per_year'])} of the average {row['mean_per_month']:,.0f} a month); "
        f"a trend this steady is unlikely to be chance (p = {row['p']:.2g}, significant at {alpha:g} after allowing "
        "for the many series tested)."
    )


def change_line(row: pd.Series) -> str:
    """A plain-language line for one row of :attr:`TrendsResult.change`."""
    who = f"{row['division']}, {str(row['category']).lower()}"
    if not np.isfinite(row["ratio"]) or row["earlier_count"] == 0:
        return f"{who}: {row['count']:,} incidents in {row['period']}; none in the same months a year earlier."
    way = "more" if row["ratio"] > 1 else "fewer"
    lo, hi = sorted((row["pct_lo"], row["pct_hi"]))
    rng = f"between {lo * 100:+.0f} % and {hi * 100:+.0f} %"
    chance = (
        "more than chance alone would explain"
        if (row["lo"] > 1 or row["hi"] < 1)
        else "within what chance alone could give"
    )
    return (
        f"{who}: {row['count']:,} incidents in {row['period']}, {_pct(row['pct_change'])} {way} than the "
        f"{row['earlier_count']:,} in the same months a year earlier (95 % interval {rng}); {chance}."
    )


def _series_tests(
    series: pd.DataFrame, *, test: Literal["seasonal", "original"], period: int, robust: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """STL components and the Mann-Kendall test of every division x category series."""
    parts, rows = [], []
    for (division, category), g in series.groupby(["division", "category"], sort=True):
        g = g.sort_values("month")
        y = g.set_index("month")["count"].astype(float)
        stl = stl_decompose(y, period=period, robust=robust)
        parts.append(g.assign(**{c: stl.frame[c].to_numpy() for c in ("trend", "seasonal", "resid")}))
        if test == "seasonal":
            mk = seasonal_mk_trend(y.to_numpy(), period=period)
            per_year = mk.slope
        else:
            mk = mk_trend(y.to_numpy())
            per_year = mk.slope * period
        mean = float(y.mean())
        rows.append(
            {
                "division": division,
                "category": category,
                "months": len(y),
                "first_month": y.index.min(),
                "last_month": y.index.max(),
                "mean_per_month": mean,
                "s": mk.s,
                "z": mk.z,
                "p": mk.p,
                "tau": mk.tau,
                "slope_per_year": per_year,
                "slope_pct_per_year": per_year / mean if mean > 0 else np.nan,
                "trend_strength": stl.trend_strength,
                "seasonal_strength": stl.seasonal_strength,
            }
        )
    return pd.concat(parts, ignore_index=True), pd.DataFrame(rows)


def _window(months: pd.DatetimeIndex, n: int, end: pd.Timestamp | None) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    last = months.max() if end is None else pd.Timestamp(end).to_period("M").to_timestamp()
    now = pd.date_range(end=last, periods=n, freq="MS")
    before = now - pd.DateOffset(years=1)
    if before.min() < months.min() or last > months.max():
        raise ValueDomainError(
            f"the timeline ({months.min():%Y-%m} .. {months.max():%Y-%m}) does not cover {n} months to {last:%Y-%m} "
            "and the same months a year earlier"
        )
    return now, pd.DatetimeIndex(before)


def _label(months: pd.DatetimeIndex) -> str:
    return f"{months.min():%b %Y}–{months.max():%b %Y}" if len(months) > 1 else f"{months.min():%b %Y}"


def _changes(
    series: pd.DataFrame, *, months: int, end: pd.Timestamp | None, method: RatioInterval, alpha: float
) -> pd.DataFrame:
    """Counts of the latest ``months`` months against the same months a year earlier, per series."""
    now, before = _window(pd.DatetimeIndex(series["month"].unique()), months, end)
    keys = ["division", "category"]
    a = series[series["month"].isin(now)].groupby(keys)["count"].sum()
    b = series[series["month"].isin(before)].groupby(keys)["count"].sum().reindex(a.index, fill_value=0)
    ratio, lo, hi, p = rate_ratio(a.to_numpy(), b.to_numpy(), alpha=alpha, method=method)
    out = a.rename("count").reset_index()
    out.insert(2, "period", _label(now))
    out.insert(3, "earlier_period", _label(before))
    out["earlier_count"] = b.to_numpy()
    out["ratio"], out["lo"], out["hi"], out["p"] = ratio, lo, hi, p
    out["pct_change"], out["pct_lo"], out["pct_hi"] = ratio - 1, lo - 1, hi - 1
    out["line"] = [change_line(r) for _, r in out.iterrows()]
    return out


def division_trends(
    timeline: pd.DataFrame,
    *,
    divisions: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    test: Literal["seasonal", "original"] = "seasonal",
    period: int = 12,
    robust: bool = True,
    alpha: float = 0.05,
    correction: Correction = "fdr",
    months: int = 12,
    end: pd.Timestamp | str | None = None,
    interval: RatioInterval = "exact",
) -> TrendsResult:
    """Trend and yearly change of the monthly incidents of each division and category.

    Parameters
    ----------
    timeline
        The timeline frame: ``division, month, category, count``.
    divisions, categories
        Keep only these (labels as in :func:`monthly_series`, e.g. ``"Central Division"``,
        :data:`ALL_CATEGORIES`, :data:`CITYWIDE`); default all.
    test
        ``seasonal`` (default: Hirsch-Slack, each calendar month against itself) or ``original``.
    period, robust
        STL cycle length and robust fitting.
    alpha, correction
        Significance level and the multiple-testing correction over the series tested.
    months, end
        The change compares the ``months`` months ending at ``end`` (default the last month)
        with the same months a year earlier.
    interval
        ``exact`` (Clopper-Pearson, conditional) or ``wilson`` limits of the ratio.

    Returns
    -------
    TrendsResult
    """
    alpha = check_alpha(alpha)
    if test not in ("seasonal", "original"):
        raise ValueDomainError(f"Unknown trend test {test!r}; allowed: 'seasonal', 'original'.")
    series, notes = monthly_series(timeline)
    series = _select(series, "division", divisions)
    series = _select(series, "category", categories)
    comp, tests = _series_tests(series, test=test, period=period, robust=robust)
    cutoff = significance_cutoff(tests["p"].to_numpy(), alpha, correction)
    tests["significant"] = tests["p"] <= cutoff
    tests["direction"] = np.where(
        tests["significant"], np.where(tests["s"] > 0, "increasing", "decreasing"), "no trend"
    )
    tests["line"] = [trend_line(r, alpha=alpha) for _, r in tests.iterrows()]
    change = _changes(
        series, months=months, end=None if end is None else pd.Timestamp(end), method=interval, alpha=0.05
    )
    lines = _headline(tests, change)
    return TrendsResult(
        series=comp, tests=tests, change=change, test=test, correction=correction, alpha=alpha, cutoff=cutoff,
        lines=tuple(lines), notes=tuple(notes), extra={"period": period, "robust": robust, "months": months},
    )  # fmt: skip


def _select(series: pd.DataFrame, column: str, keep: Sequence[str] | None) -> pd.DataFrame:
    if keep is None:
        return series
    have = set(series[column])
    unknown = [k for k in keep if k not in have]
    if unknown:
        raise ValueDomainError(
            f"unknown {column} {', '.join(map(repr, unknown))}; allowed: {', '.join(sorted(map(str, have)))}"
        )
    return series[series[column].isin(list(keep))]


def _headline(tests: pd.DataFrame, change: pd.DataFrame) -> list[str]:
    """One trend and one change line per division, for all categories (or every row if that total is absent)."""
    t = tests[tests["category"] == ALL_CATEGORIES]
    c = change[change["category"] == ALL_CATEGORIES]
    t = t if len(t) else tests
    c = c if len(c) else change
    return [*t["line"], *c["line"]]
