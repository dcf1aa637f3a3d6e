"""Clearance: what happened after a simple-assault or intimidation report, by division and year.

From the clearance frame (:func:`geo.ingest.records.load_clearance`: ``offense, clearance`` (the raw
``CLEARANCE_STATUS``), ``date, year, division, division_raw``):

- :func:`clearance_counts`: reports by division and year and how each was cleared;
- :func:`clearance_rates`: the share cleared by arrest, exceptionally cleared, still open, and cleared
  at all, with Wilson intervals (:func:`geo.stats.proportions.wilson`);
- :func:`clearance_funnel`: each division's rate against the citywide rate, with the control limits of
  :mod:`geo.analysis.funnel` (so it draws with :func:`geo.analysis.funnel.funnel_curve`);
- :func:`clearance`: all three with plain-language lines.

How the statuses are counted (stated in every result's ``notes``):

- **Unfounded** (926 reports): the police found no offence took place. As in the FBI's UCR
  clearance rates, these are *not* in the denominator; they are counted and shown separately
  (``unfounded`` and its share of all reports), never dropped silently.
- **Cleared by Arrest by Another Agency** (816): an arrest was made, by another police agency.
  It counts as cleared by arrest (``arrest``), and is also shown on its own (``arrest_other_agency``).
- Reports whose division is not a CMPD patrol division (Huntersville, Davidson; and any without a
  division) are in the citywide figures, shown as their own rows, and left out of the funnel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import pandas as pd

from geo.analysis.funnel import rate_funnel
from geo.caveats import CLEARANCE_CAVEAT
from geo.errors import EmptyInputError, SchemaError, ValueDomainError
from geo.ingest.records import CLEARANCE
from geo.stats.proportions import wilson
from geo.vocab import NO_DIVISION

__all__ = [
    "CLEARANCE_CAVEAT",
    "OUTCOMES",
    "Outcome",
    "ClearanceResult",
    "clearance_counts",
    "clearance_rates",
    "clearance_funnel",
    "clearance",
]


Outcome = Literal["arrest", "exceptional", "open", "cleared"]

#: The rates reported, each over the founded reports (all reports minus Unfounded).
OUTCOMES: tuple[str, ...] = get_args(Outcome)

_WORDS = {
    "arrest": "cleared by arrest",
    "exceptional": "exceptionally cleared",
    "open": "still open",
    "cleared": "cleared (by arrest or exceptionally)",
}


_COUNT_COLUMNS = ["reports", "unfounded", "founded", "arrest", "arrest_other_agency", "exceptional", "open", "unknown"]


def _labels(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Division labels (non-CMPD areas named after their raw value) and outcome labels, with notes."""
    missing = [c for c in ("clearance", "year", "division") if c not in frame.columns]
    if missing:
        raise SchemaError(f"the clearance frame lacks column(s) {', '.join(missing)}")
    if frame.empty:
        raise EmptyInputError("the clearance frame has no rows")
    status = frame["clearance"].astype(str).str.strip()
    label = status.map(CLEARANCE).fillna("unknown")
    raw = frame["division_raw"] if "division_raw" in frame else pd.Series(np.nan, index=frame.index)
    outside = frame["division"].isna()
    other = raw.where(raw.notna() & (raw.astype(str).str.strip() != ""), None)
    div = frame["division"].astype(object).copy()
    div[outside] = [f"{r} (not a CMPD division)" if r is not None else NO_DIVISION for r in other[outside]]
    notes = [
        f"{int((label == 'unfounded').sum()):,} Unfounded reports (no offence found) are left out of every rate's "
        "denominator and counted on their own",
        f"{int((label == 'arrest by another agency').sum()):,} reports cleared by arrest by another agency count as "
        "cleared by arrest (and are shown on their own)",
    ]
    if outside.any():
        names = ", ".join(sorted(set(div[outside])))
        notes.append(f"{int(outside.sum()):,} reports outside the CMPD patrol divisions ({names}) count citywide only")
    if (label == "unknown").any():
        notes.append(
            f"{int((label == 'unknown').sum()):,} reports with an unknown status are left out of the rates: "
            + ", ".join(sorted(set(status[label == "unknown"])))
        )
    out = pd.DataFrame({"division": div, "year": frame["year"].astype("int64"), "status": label})
    return out, notes


def clearance_counts(frame: pd.DataFrame, *, by: tuple[str, ...] = ("division", "year")) -> pd.DataFrame:
    """Reports by ``by`` (``division``, ``year``, both or neither) and how they were cleared.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``reports, unfounded, founded`` (reports minus unfounded and unknown),
        ``arrest`` (including by another agency), ``arrest_other_agency, exceptional, open, unknown``.
        With ``by=()`` one row, the citywide total.
    """
    lab, _ = _labels(frame)
    keys = list(by)
    bad = [k for k in keys if k not in ("division", "year")]
    if bad:
        raise ValueDomainError(f"clearance counts group by 'division' and/or 'year'; got {bad}")
    d = pd.get_dummies(lab["status"]).reindex(columns=[*CLEARANCE.values(), "unknown"], fill_value=False)
    d = d.astype(np.int64)
    if keys:
        g = pd.concat([lab[keys], d], axis=1).groupby(keys, sort=True).sum()
    else:
        g = d.sum().to_frame().T
    out = pd.DataFrame(index=g.index)
    out["reports"] = g.sum(axis=1)
    out["unfounded"] = g["unfounded"]
    out["founded"] = out["reports"] - g["unfounded"] - g["unknown"]
    out["arrest"] = g["arrest"] + g["arrest by another agency"]
    out["arrest_other_agency"] = g["arrest by another agency"]
    out["exceptional"] = g["exceptional"]
    out["open"] = g["open"]
    out["unknown"] = g["unknown"]
    return out.reset_index(drop=not keys)[[*keys, *_COUNT_COLUMNS]]


def clearance_rates(
    frame: pd.DataFrame, *, by: tuple[str, ...] = ("division", "year"), alpha: float = 0.05
) -> pd.DataFrame:
    """Clearance rates with Wilson intervals, one row per group and outcome.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``outcome`` (:data:`OUTCOMES`, plus ``unfounded`` over all reports),
        ``count, denominator, rate, lo, hi``.
    """
    counts = clearance_counts(frame, by=by)
    counts = counts.assign(cleared=counts["arrest"] + counts["exceptional"])
    parts = []
    for outcome in (*OUTCOMES, "unfounded"):
        den = counts["reports"] if outcome == "unfounded" else counts["founded"]
        lo, hi = wilson(counts[outcome].to_numpy(), den.to_numpy(), alpha=alpha)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(den > 0, counts[outcome] / den.where(den > 0, 1), np.nan)
        part = counts[list(by)].copy()
        part["outcome"] = outcome
        part["count"] = counts[outcome].to_numpy()
        part["denominator"] = den.to_numpy()
        part["rate"], part["lo"], part["hi"] = rate, lo, hi
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def clearance_funnel(
    frame: pd.DataFrame, *, outcome: Outcome = "arrest", year: int | None = None, overdispersion: bool = False
) -> pd.DataFrame:
    """Funnel-plot table of each CMPD division's clearance rate against the citywide rate.

    The target is the citywide rate ``p0`` (over all founded reports, including areas outside
    the divisions); ``se = sqrt(p0 (1 - p0) / n)``; the 95 % and 99.8 % limits are
    ``p0 +- z se`` (clipped to [0, 1]) and ``x`` is ``n``, exactly as ``measure="rate"`` of
    :func:`geo.analysis.funnel.funnel` (both call :func:`geo.analysis.funnel.rate_funnel`), optionally widened for overdispersion.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`geo.analysis.funnel.funnel` (``unit, measure, count,
        denominator, value, target, x, se, lo95, hi95, lo998, hi998, z, estimable,
        outside95, outside998, tau2``), plus ``lo, hi`` (the division's Wilson interval).
    """
    if outcome not in OUTCOMES:
        raise ValueDomainError(f"Unknown clearance outcome {outcome!r}; allowed: {', '.join(OUTCOMES)}.")
    data = frame if year is None else frame[frame["year"] == year]
    if data.empty:
        years = sorted(pd.unique(frame["year"]))
        raise EmptyInputError(f"no clearance reports in {year}; years: {years}")
    rates = clearance_rates(data, by=("division",))
    rates = rates[rates["outcome"] == outcome]
    city = clearance_rates(data, by=())
    target = float(city.loc[city["outcome"] == outcome, "rate"].iloc[0])
    units = rates[~rates["division"].astype(str).str.contains("not a CMPD division|" + NO_DIVISION)]
    when = "all years" if year is None else str(year)
    out = rate_funnel(
        units["division"].to_numpy(),
        units["count"].to_numpy(),
        units["denominator"].to_numpy(),
        target=target,
        measure=f"{_WORDS[outcome]} rate, {when}",
        overdispersion=overdispersion,
    )
    out["lo"], out["hi"] = units["lo"].to_numpy(), units["hi"].to_numpy()
    out.attrs["caveat"] = CLEARANCE_CAVEAT
    return out


@dataclass(frozen=True)
class ClearanceResult:
    """Clearance of :func:`clearance`.

    Attributes
    ----------
    counts
        :func:`clearance_counts` by division and year.
    rates
        :func:`clearance_rates` by division and year.
    citywide
        :func:`clearance_rates` by year (and ``year`` missing for all years).
    funnel
        :func:`clearance_funnel` of ``outcome``.
    outcome
        The outcome in the funnel.
    lines, notes, caveat
        Plain-language lines, how statuses were counted, and :data:`CLEARANCE_CAVEAT`.
    """

    counts: pd.DataFrame
    rates: pd.DataFrame
    citywide: pd.DataFrame
    funnel: pd.DataFrame
    outcome: str
    lines: tuple[str, ...]
    notes: tuple[str, ...] = ()
    caveat: str = CLEARANCE_CAVEAT
    extra: dict[str, object] = field(default_factory=dict)

    def summary(self) -> str:
        """The lines and notes."""
        return "\n".join([*self.lines, *(f"note: {n}" for n in self.notes)])


def _pc(x: float) -> str:
    return f"{x * 100:.0f} %"


def _funnel_line(row: pd.Series, outcome: str) -> str:
    what = _WORDS[outcome]
    head = (
        f"{row['unit']}: {_pc(row['value'])} of {int(row['denominator']):,} reports {what} "
        f"(95 % interval {_pc(row['lo'])} to {_pc(row['hi'])}), city {_pc(row['target'])}"
    )
    if row["outside998"]:
        way = "higher" if row["value"] > row["target"] else "lower"
        return f"{head}: clearly {way} than the city, beyond what chance would explain."
    if row["outside95"]:
        way = "higher" if row["value"] > row["target"] else "lower"
        return f"{head}: {way} than the city, more than chance would usually give."
    return f"{head}: in line with the city."


def clearance(
    frame: pd.DataFrame,
    *,
    outcome: Outcome = "arrest",
    year: int | None = None,
    overdispersion: bool = False,
    alpha: float = 0.05,
) -> ClearanceResult:
    """Clearance counts, rates with Wilson intervals, and a funnel against the citywide rate.

    Parameters
    ----------
    frame
        The clearance frame.
    outcome
        The rate in the funnel: ``arrest`` (default), ``exceptional``, ``open`` or ``cleared``.
    year
        The funnel's year (default all years together).
    overdispersion
        Widen the funnel's limits for the ordinary spread between divisions (Spiegelhalter).
    alpha
        1 - confidence of the Wilson intervals.
    """
    _, notes = _labels(frame)
    city_year = clearance_rates(frame, by=("year",), alpha=alpha)
    city_all = clearance_rates(frame, by=(), alpha=alpha).assign(year=pd.NA)
    citywide = pd.concat([city_year, city_all[city_year.columns]], ignore_index=True)
    fun = clearance_funnel(frame, outcome=outcome, year=year, overdispersion=overdispersion)
    rows = city_all.set_index("outcome")
    y0, y1 = int(frame["year"].min()), int(frame["year"].max())
    lines = [
        f"Of {int(rows.loc['arrest', 'denominator']):,} founded reports {y0}–{y1}, "
        f"{_pc(rows.loc['arrest', 'rate'])} were cleared by arrest, {_pc(rows.loc['exceptional', 'rate'])} "
        f"exceptionally cleared, and {_pc(rows.loc['open', 'rate'])} are still open.",
        f"{int(rows.loc['unfounded', 'count']):,} further reports ({_pc(rows.loc['unfounded', 'rate'])} of all) "
        "were found to be unfounded.",
        *(_funnel_line(r, outcome) for _, r in fun.iterrows()),
    ]
    return ClearanceResult(
        counts=clearance_counts(frame),
        rates=clearance_rates(frame, alpha=alpha),
        citywide=citywide,
        funnel=fun,
        outcome=outcome,
        lines=tuple(lines),
        notes=tuple(notes),
        extra={"year": year, "overdispersion": overdispersion},
    )
