"""Accountability beyond stops: juvenile diversion outcomes, who stops against who serves, a crime benchmark.

Three questions the stops table alone cannot answer:

- :func:`diversion_outcomes`: how juvenile diversion referrals (2013-2016) ended, by race, gender and
  both: rates with 95 % Wilson intervals, ratios to a reference group with 95 % Koopman score intervals,
  and a logistic model of success on race, gender and intake year (:mod:`geo.analysis._logit`: maximum
  likelihood via statsmodels ``Logit``, or Firth's when a level's referrals all share one outcome).
- :func:`officer_workforce`: the officers' race and gender on the stops (2020-2021) against the sworn
  workforce (:data:`geo.vocab.OFFICER_TITLE`) of the 2017 employee table: shares of stops and of officers
  with Wilson intervals, their ratio with a Koopman score interval. The stops carry no officer id.
- :func:`crime_benchmark`: stops per 1,000 reported incidents in each division over the months
  both the stops and the incident timeline cover (exact Poisson intervals, incidents as the
  exposure), beside stops per 1,000 residents (:func:`geo.analysis.benchmark.stop_benchmark`).

Each returns its tables with plain-language ``lines`` (every figure with its interval), ``notes``
(what was left out or folded, with counts) and the ``caveat`` to show beside the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from geo.analysis._logit import PROFILE, WALD, Indicators, fit_outcome
from geo.analysis.benchmark import stop_benchmark
from geo.analysis.disparity import NO_RATIO_REFERENCE, NO_RATIO_ZERO, RATIO_METHOD, filtered
from geo.caveats import (
    CRIME_BENCHMARK_ASSUMES,
    DIVERSION_CAVEAT,
    MODEL_CAVEAT_DIVERSION,
    RESIDENTIAL_BENCHMARK_ASSUMES,
    WORKFORCE_CAVEAT,
)
from geo.errors import EmptyInputError, SchemaError, ValueDomainError
from geo.layers.filters import StopFilter, require_stop_columns
from geo.stats.proportions import per_population, ratio_interval, wilson
from geo.stats.significance import Z95
from geo.vocab import DIVERSION_OUTCOMES, DIVISIONS, INCIDENT_CATEGORIES, MIN_CELL, NO_DIVISION, OFFICER_TITLE

__all__ = [
    "FINAL_OUTCOMES",
    "DIMENSIONS",
    "WORKFORCE_RACE_FOLDS",
    "BENCHMARK_ASSUMPTIONS",
    "DiversionResult",
    "SuccessModel",
    "Finding",
    "diversion_outcomes",
    "officer_workforce",
    "crime_benchmark",
]


#: The diversion outcomes that end a referral (``other``: still active or pending, no outcome yet).
FINAL_OUTCOMES: tuple[str, ...] = tuple(o for o in dict.fromkeys(DIVERSION_OUTCOMES.values()) if o != "other")

#: Breakdowns of the diversion and workforce tables: name -> the columns combined.
DIMENSIONS: dict[str, tuple[str, ...]] = {"race": ("race",), "gender": ("gender",), "race_gender": ("race", "gender")}

#: Employee race values the stops never record -> the stops' category that contains them
#: (a blank race is folded onto "Not Specified"). Should move to :mod:`geo.vocab`.
WORKFORCE_RACE_FOLDS: dict[str, str] = {"Native Hawaiian/Oth Pac Island": "Asian / Pacific Islander"}

#: What each benchmark assumes, by its name on the page.
BENCHMARK_ASSUMPTIONS: dict[str, str] = {
    "Stops per 1,000 residents": RESIDENTIAL_BENCHMARK_ASSUMES,
    "Stops per 1,000 reported incidents": CRIME_BENCHMARK_ASSUMES,
}

_NOT_SPECIFIED = "Not Specified"
_ALL_DIVISIONS = "All divisions"


@dataclass
class Finding:
    """A table with its plain-language lines, notes and caveat.

    Attributes
    ----------
    table
        The numbers (columns described by the function that made it).
    lines
        Plain sentences, each figure with its 95 % interval.
    notes
        What was left out, folded or flagged, with counts.
    caveat
        What the numbers cannot say; shown beside them.
    """

    table: pd.DataFrame
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    caveat: str = ""


@dataclass
class SuccessModel:
    """The logistic model of diversion success (successful against unsuccessful or rejected at screening).

    ``table``: one row per non-reference level, ``term, level, reference, odds_ratio, lo, hi, coef, se, z,
    p_value, n, events, name, interval`` (Wald, or profile penalised likelihood); ``method``: maximum
    likelihood or Firth's; ``formula``: patsy's (``statsmodels.formula.api.logit`` on the rows used fits
    it); ``n_used``, ``events``; ``separated``: levels whose referrals share one outcome (why Firth).
    """

    table: pd.DataFrame
    method: str
    formula: str
    n_used: int
    events: int
    separated: list[str]
    notes: list[str]
    caveat: str = MODEL_CAVEAT_DIVERSION


@dataclass
class DiversionResult(Finding):
    """:func:`diversion_outcomes`: ``counts`` (race, gender by every outcome, each row of the frame) and ``model``."""

    counts: pd.DataFrame = field(default_factory=pd.DataFrame)
    model: SuccessModel | None = None


# --------------------------------------------------------------------------- shared


def _labels(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """One group label per row: the columns' values joined by a space (``"Black Female"``)."""
    out = frame[columns[0]].astype(str)
    for c in columns[1:]:
        out = out + " " + frame[c].astype(str)
    return out


def _ratio_columns(
    count: np.ndarray, den: np.ndarray, ref_count: float, ref_den: float, is_ref: np.ndarray
) -> dict[str, np.ndarray]:
    """Ratio of each proportion to the reference one, its Koopman score interval and ``ratio_method``."""
    ratio, lo, hi = ratio_interval(count, den, np.full(len(count), ref_count), np.full(len(count), ref_den))
    method = np.where(np.isfinite(ratio), RATIO_METHOD, NO_RATIO_ZERO).astype(object)
    method[is_ref] = NO_RATIO_REFERENCE
    lo[is_ref] = np.nan
    hi[is_ref] = np.nan
    return {"ratio": ratio, "ratio_lo": lo, "ratio_hi": hi, "ratio_method": method}


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str, loader: str) -> None:
    """Raise unless ``frame`` is a DataFrame with rows and every column of ``columns``."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, not {type(frame).__name__}.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"The {what} is missing column(s) {', '.join(missing)}; expected the frame of {loader}.")
    if len(frame) == 0:
        raise EmptyInputError(f"The {what} has no rows.")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _with_ci(value: float, lo: float, hi: float, *, pct: bool = False, fmt: str = ".2f") -> str:
    if pct:
        return f"{_pct(value)} (95% interval {_pct(lo)} to {_pct(hi)})"
    return f"{value:{fmt}} (95% interval {lo:{fmt}} to {hi:{fmt}})"


# --------------------------------------------------------------------------- diversion


def _diversion_rates(resolved: pd.DataFrame, references: dict[str, str], min_cell: int) -> pd.DataFrame:
    """Rate of each final outcome per group of each dimension, with Wilson intervals and ratios to the reference."""
    parts = []
    for dim, cols in DIMENSIONS.items():
        label = _labels(resolved, cols)
        groups = list(dict.fromkeys(sorted(label, key=lambda g: (-int((label == g).sum()), g))))
        ref = references[dim]
        if ref not in groups:
            raise ValueDomainError(
                f"Reference group {ref!r} has no referrals with a final outcome ({dim}); present: {', '.join(groups)}."
            )
        groups = [ref, *[g for g in groups if g != ref]]
        table = pd.crosstab(label, resolved["outcome"].astype(str)).reindex(
            index=groups, columns=list(FINAL_OUTCOMES), fill_value=0
        )
        den = table.sum(axis=1).to_numpy(dtype=np.int64)
        is_ref = np.asarray(groups, dtype=object) == ref
        for outcome in FINAL_OUTCOMES:
            cnt = table[outcome].to_numpy(dtype=np.int64)
            lo, hi = wilson(cnt, den)
            t = pd.DataFrame({"dimension": dim, "group": groups, "outcome": outcome, "count": cnt, "denominator": den})
            t["rate"], t["lo"], t["hi"], t["small_cell"] = cnt / den, lo, hi, den < min_cell
            t["reference"], t["is_reference"] = ref, is_ref
            parts.append(t.assign(**_ratio_columns(cnt, den, float(cnt[0]), float(den[0]), is_ref)))
    return pd.concat(parts, ignore_index=True)


def _success_model(resolved: pd.DataFrame, references: dict[str, str]) -> SuccessModel:
    """Logistic regression of success on race, gender and intake year (treatment coding, one fit)."""
    y = (resolved["outcome"].astype(str) == "successful").to_numpy()
    terms = {"race": resolved["race"].astype(str), "gender": resolved["gender"].astype(str)}
    terms["year"] = resolved["year"].astype(str)
    refs = {"race": references["race"], "gender": references["gender"], "year": min(terms["year"])}
    names, col_term, separated = ["Intercept"], [], []
    cols = np.zeros((len(resolved), len(terms) + 1), dtype=np.int64)
    levels_of: dict[str, list[str]] = {}
    for term, values in terms.items():
        levels = [refs[term], *sorted(set(values) - {refs[term]})]
        levels_of[term] = levels
        for lv in levels:
            at = (values == lv).to_numpy()
            if y[at].all() or not y[at].any():
                what = "every one successful" if y[at].all() else "none successful"
                separated.append((term, lv, f"{term} = '{lv}': {what} among its {int(at.sum()):,} referrals"))
        for lv in levels[1:]:
            col_term.append((term, lv))
            names.append(f"C({term}, Treatment({refs[term]!r}))[T.{lv}]")
    k = len(names)
    col = 1
    for j, (term, values) in enumerate(terms.items(), start=1):
        lookup = {lv: (k if i == 0 else col + i - 1) for i, lv in enumerate(levels_of[term])}
        cols[:, j] = values.map(lookup).to_numpy(dtype=np.int64)
        col += len(levels_of[term]) - 1
    hit = {(t, lv) for t, lv, _ in separated}
    bad_ref = {t for t, lv, _ in separated if lv == refs[t]}
    profile = [j for j, ct in enumerate(col_term, start=1) if ct in hit or ct[0] in bad_ref]
    fit = fit_outcome(y.astype(float), Indicators(cols, k), firth=bool(separated), profile=profile, maxiter=100)
    if fit is None:
        raise ValueDomainError("The diversion success model cannot be fitted: the design is singular.")
    b, se = fit.params, fit.bse
    z = b / se
    p = 2 * stats.norm.sf(np.abs(z))
    lo, hi = b - Z95 * se, b + Z95 * se
    for jj, (plo, phi, pp) in fit.profiled.items():
        lo[jj], hi[jj], p[jj] = plo, phi, pp
    at_level = [(terms[t] == lv).to_numpy() for t, lv in col_term]
    table = pd.DataFrame(col_term, columns=["term", "level"])
    table["reference"] = table["term"].map(refs)
    table["odds_ratio"], table["lo"], table["hi"] = np.exp(b[1:]), np.exp(lo[1:]), np.exp(hi[1:])
    table["coef"], table["se"], table["z"], table["p_value"] = b[1:], se[1:], z[1:], p[1:]
    table["n"] = [int(m.sum()) for m in at_level]
    table["events"] = [int(y[m].sum()) for m in at_level]
    table["name"] = names[1:]
    table["interval"] = [PROFILE if j in fit.profiled else WALD for j in range(1, k)]
    formula = "y ~ " + " + ".join(f"C({t}, Treatment({refs[t]!r}))" for t in terms)
    return SuccessModel(table, fit.method, formula, len(y), int(y.sum()), [d for _, _, d in separated], fit.notes)


def diversion_outcomes(
    frame: pd.DataFrame,
    *,
    reference_race: str = "White",
    reference_gender: str = "Male",
    min_cell: int = MIN_CELL,
) -> DiversionResult:
    """Juvenile diversion outcomes by race, gender and both, with intervals, ratios and a model of success.

    Parameters
    ----------
    frame
        The diversion referrals of :func:`geo.ingest.records.load_diversion` (``race``, ``gender``,
        ``outcome``, ``year``).
    reference_race, reference_gender
        Reference groups of the ratios and the model (``race_gender``: both, e.g. ``"White Male"``).
    min_cell
        Groups with fewer referrals with a final outcome are flagged ``small_cell``.

    Returns
    -------
    DiversionResult
        ``table``: one row per (dimension, group, outcome) among the referrals with a final outcome
        (:data:`FINAL_OUTCOMES`): ``dimension, group, outcome, count, denominator, rate, lo, hi``
        (95 % Wilson), ``small_cell, reference, is_reference, ratio, ratio_lo, ratio_hi`` (95 % Koopman
        score), ``ratio_method``; ``counts``; the success ``model`` (success against unsuccessful or
        rejected at screening, on race, gender and intake year); ``lines``, ``notes``, ``caveat``.

    Raises
    ------
    SchemaError
        A column is missing.
    EmptyInputError
        No referral, or none with a final outcome.
    ValueDomainError
        A reference group absent.
    """
    _require(frame, ("race", "gender", "outcome", "year"), "diversion frame", "geo.ingest.records.load_diversion")
    outcome = frame["outcome"].astype(object).where(frame["outcome"].notna(), "no outcome recorded")
    counts = pd.crosstab([frame["race"], frame["gender"]], outcome)
    resolved = frame[frame["outcome"].isin(FINAL_OUTCOMES)]
    if len(resolved) == 0:
        raise EmptyInputError("No diversion referral has a final outcome (successful, unsuccessful, rejected).")
    refs = {"race": reference_race, "gender": reference_gender, "race_gender": f"{reference_race} {reference_gender}"}
    table = _diversion_rates(resolved, refs, min_cell)
    model = _success_model(resolved, refs)
    open_ = len(frame) - len(resolved)
    notes = [
        f"{open_:,} of {len(frame):,} referrals have no final outcome yet (active or pending, or an unknown status) "
        "and are left out of the rates and the model"
    ]
    unknown = int((frame["race"] == "Unknown").sum())
    if unknown:
        notes.append(f"{unknown:,} referral(s) with a blank or unrecognised race are kept as the group 'Unknown'")
    notes += [f"model: {n}" for n in model.notes]
    if model.separated:
        notes.append("model fitted by Firth's penalised likelihood because " + "; ".join(model.separated))
    years = f"{int(frame['year'].min())}-{int(frame['year'].max())}"
    return DiversionResult(
        table=table,
        lines=_diversion_lines(table, model, n_all=len(frame), years=years, min_cell=min_cell),
        notes=notes,
        caveat=DIVERSION_CAVEAT,
        counts=counts,
        model=model,
    )


def _diversion_lines(table: pd.DataFrame, model: SuccessModel, *, n_all: int, years: str, min_cell: int) -> list[str]:
    """Plain sentences: the share of each outcome, success by race and gender, the model's odds ratios."""
    race = table[table["dimension"] == "race"]
    n = int(race.groupby("group")["denominator"].first().sum())
    overall = race.groupby("outcome", sort=False)["count"].sum()
    shares = []
    for o in FINAL_OUTCOMES:
        lo, hi = wilson(np.array([overall[o]]), np.array([n]))
        shares.append(f"{o} {_with_ci(overall[o] / n, float(lo[0]), float(hi[0]), pct=True)}")
    lines = [f"{n:,} of {n_all:,} referrals (intake {years}) have a final outcome: " + "; ".join(shares) + "."]
    for dim, noun in (("race", "juveniles"), ("gender", "juveniles")):
        s = table[(table["dimension"] == dim) & (table["outcome"] == "successful")]
        ref = s[s["is_reference"]].iloc[0]
        for _, r in s[~s["is_reference"] & ~s["small_cell"]].iterrows():
            lines.append(
                f"Successful: {r['group']} {noun} {_with_ci(r['rate'], r['lo'], r['hi'], pct=True)} against "
                f"{_pct(ref['rate'])} of {ref['group']} {noun}; ratio {_with_ci(r['ratio'], r['ratio_lo'], r['ratio_hi'])}."
            )
    m = model.table
    for _, r in m[(m["term"] != "year") & (m["n"] >= min_cell)].iterrows():
        others = "gender and intake year" if r["term"] == "race" else "race and intake year"
        lines.append(
            f"Model ({model.method}): holding {others} fixed, the odds of success of {r['level']} juveniles are "
            f"{_with_ci(r['odds_ratio'], r['lo'], r['hi'])} times those of {r['reference']} juveniles "
            f"({r['interval']} interval)."
        )
    return lines


# --------------------------------------------------------------------------- workforce


def _workforce_groups(employees: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Sworn officers (``is_officer``) with race folded onto the stops' categories; folds noted."""
    _require(employees, ("race", "gender", "is_officer"), "employee frame", "geo.ingest.records.load_employees")
    off = employees[employees["is_officer"].astype(bool)]
    if len(off) == 0:
        raise EmptyInputError(f"The employee table has no {OFFICER_TITLE!r} rows.")
    race = off["race"].astype(object)
    blank = int(race.isna().sum())
    if blank:
        notes.append(f"{blank:,} officer(s) with a blank race are counted as {_NOT_SPECIFIED!r}")
    for raw, to in WORKFORCE_RACE_FOLDS.items():
        k = int((race == raw).sum())
        if k:
            notes.append(f"{k:,} officer(s) recorded as {raw!r} are counted as {to!r}, the stops' category")
    race = race.fillna(_NOT_SPECIFIED).replace(WORKFORCE_RACE_FOLDS)
    gender = off["gender"].astype(object).fillna("Not recorded")
    return pd.DataFrame({"race": race.astype(str).to_numpy(), "gender": gender.astype(str).to_numpy()})


def officer_workforce(stops: pd.DataFrame, employees: pd.DataFrame, *, filters: StopFilter | None = None) -> Finding:
    """The officers' race and gender on the stops against the 2017 sworn workforce.

    Parameters
    ----------
    stops
        The clean stops frame (``officer_race``, ``officer_gender``, ``month``).
    employees
        The employee table of :func:`geo.ingest.records.load_employees` (``is_officer`` marks
        :data:`~geo.vocab.OFFICER_TITLE`).
    filters
        Which stops to count.

    Returns
    -------
    Finding
        ``table``: one row per (dimension, group) present in either source: ``dimension`` (race, gender,
        race_gender), ``group``, ``stops``, ``stops_total``, ``stop_share`` with its 95 % Wilson interval
        (``stop_lo``, ``stop_hi``), ``officers``, ``officers_total``, ``workforce_share`` (``workforce_lo``,
        ``workforce_hi``), ``ratio`` (stop share / workforce share) with its 95 % Koopman score interval
        (``ratio_lo``, ``ratio_hi``), ``ratio_method``. ``caveat``: :data:`geo.caveats.WORKFORCE_CAVEAT`.
    """
    data, where = filtered(stops, filters)
    require_stop_columns(data, ["officer_race", "officer_gender", "month"])
    notes: list[str] = [f"stops: {where}"]
    staff = _workforce_groups(employees, notes)
    sworn = pd.DataFrame({"race": data["officer_race"].astype(str), "gender": data["officer_gender"].astype(str)})
    parts = []
    for dim, cols in DIMENSIONS.items():
        s_counts = _labels(sworn, cols).value_counts()
        w_counts = _labels(staff, cols).value_counts()
        groups = list(dict.fromkeys([*w_counts.index, *s_counts.index]))
        a = s_counts.reindex(groups, fill_value=0).to_numpy(dtype=np.int64)
        c = w_counts.reindex(groups, fill_value=0).to_numpy(dtype=np.int64)
        n1, n2 = int(a.sum()), int(c.sum())
        t = pd.DataFrame({"dimension": dim, "group": groups, "stops": a, "stops_total": n1})
        t["stop_share"], (t["stop_lo"], t["stop_hi"]) = a / n1, wilson(a, np.full(len(a), n1))
        t["officers"], t["officers_total"] = c, n2
        t["workforce_share"], (t["workforce_lo"], t["workforce_hi"]) = c / n2, wilson(c, np.full(len(c), n2))
        t["ratio"], t["ratio_lo"], t["ratio_hi"] = ratio_interval(a, n1, c, n2)
        t["ratio_method"] = np.where(t["ratio"].notna(), RATIO_METHOD, "no ratio: no officer of this group in 2017")
        parts.append(t)
    table = pd.concat(parts, ignore_index=True)
    span = f"{data['month'].min():%Y-%m} to {data['month'].max():%Y-%m}"
    return Finding(table=table, lines=_workforce_lines(table, span=span), notes=notes, caveat=WORKFORCE_CAVEAT)


def _workforce_lines(table: pd.DataFrame, *, span: str) -> list[str]:
    """Plain sentences: each race and gender group's share of stops against its share of 2017 officers."""
    first = table.iloc[0]
    lines = [
        f"{int(first['stops_total']):,} stops ({span}) against {int(first['officers_total']):,} sworn officers "
        f"(job title {OFFICER_TITLE!r}) in the 2017 employee table."
    ]
    for dim in ("race", "gender"):
        for _, r in table[(table["dimension"] == dim) & (table["officers"] >= MIN_CELL)].iterrows():
            lines.append(
                f"{r['group']} officers: {_with_ci(r['stop_share'], r['stop_lo'], r['stop_hi'], pct=True)} of stops, "
                f"{_with_ci(r['workforce_share'], r['workforce_lo'], r['workforce_hi'], pct=True)} of 2017 officers; "
                f"ratio {_with_ci(r['ratio'], r['ratio_lo'], r['ratio_hi'])}."
            )
    return lines


# --------------------------------------------------------------------------- crime benchmark


def _months_text(months: Sequence[pd.Timestamp]) -> str:
    return f"{min(months):%Y-%m} to {max(months):%Y-%m} ({len(months)} months)"


def _incidents(
    timeline: pd.DataFrame, months: list[pd.Timestamp], categories: Sequence[str], notes: list[str]
) -> pd.Series:
    """Incidents per division over ``months`` in ``categories`` (rows with no division noted)."""
    t = timeline[timeline["month"].isin(months) & timeline["category"].astype(str).isin(categories)]
    no_div = t["division"].isna()
    if no_div.any():
        notes.append(
            f"{int(t.loc[no_div, 'count'].sum()):,} incidents in a division the polygons do not name are left out"
        )
    return t[~no_div].groupby(t.loc[~no_div, "division"].astype(str))["count"].sum()


def _check_benchmark(timeline: pd.DataFrame, categories: Sequence[str]) -> None:
    columns = ("division", "month", "category", "count")
    _require(timeline, columns, "incident timeline", "geo.ingest.incidents.load_incident_timeline")
    bad = [c for c in categories if c not in INCIDENT_CATEGORIES]
    if bad or not categories:
        raise ValueDomainError(
            f"Unknown incident category {', '.join(map(repr, bad)) or '(none chosen)'}; "
            f"allowed: {', '.join(INCIDENT_CATEGORIES)}."
        )


def crime_benchmark(
    stops: pd.DataFrame,
    timeline: pd.DataFrame,
    population: pd.DataFrame | None = None,
    *,
    categories: Sequence[str] = INCIDENT_CATEGORIES,
    filters: StopFilter | None = None,
    min_cell: int = MIN_CELL,
) -> Finding:
    """Stops per 1,000 reported incidents per division over the months both data sets cover, beside stops per resident.

    Parameters
    ----------
    stops
        The clean stops frame.
    timeline
        Incidents by division, month and category (:func:`geo.ingest.incidents.load_incident_timeline`).
    population
        Residents per division (:func:`geo.layers.build.division_population`), for the residential
        benchmark; without it those columns are missing.
    categories
        Incident categories counted (:data:`geo.vocab.INCIDENT_CATEGORIES`).
    filters
        Which stops to count (a period filter narrows the months).
    min_cell
        Fewer stops than this are flagged ``small_cell``.

    Returns
    -------
    Finding
        ``table``: one row per division (the 14, or those of a division filter) and ``"All divisions"``:
        ``division, stops, incidents, per_1000_incidents`` with its 95 % exact Poisson interval
        (``incidents_lo``, ``incidents_hi``; incidents as the exposure), ``residents, per_1000_residents``
        (``residents_lo``, ``residents_hi``), ``small_cell``, ``rank_incidents``, ``rank_residents``
        (1 = most stops per unit; divisions without stops are not ranked). Stops with no division recorded, and stops and incidents outside the
        shared months, are not counted (``notes`` say how many). ``caveat``: both benchmarks' assumptions.

    Raises
    ------
    EmptyInputError
        No month in both data sets.
    ValueDomainError
        Unknown incident category.
    """
    data, where = filtered(stops, filters)
    require_stop_columns(data, ["division", "month"])
    _check_benchmark(timeline, categories)
    months = sorted(set(data["month"].dropna().unique()) & set(pd.to_datetime(timeline["month"]).unique()))
    if not months:
        raise EmptyInputError(f"No month has both stops ({where}) and incident counts.")
    months = [pd.Timestamp(m) for m in months]
    tl = timeline.assign(month=pd.to_datetime(timeline["month"]))
    notes = [f"stops: {where}", f"months both data sets cover: {_months_text(months)}; these are not yearly rates"]
    in_months = data[data["month"].isin(months)]
    if len(in_months) < len(data):
        notes.append(f"{len(data) - len(in_months):,} stops outside those months are not counted")
    recorded = in_months[in_months["division"].astype(str) != NO_DIVISION]
    if len(recorded) < len(in_months):
        notes.append(f"{len(in_months) - len(recorded):,} stops with no division recorded are not in any division")
    chosen = [d for d in (filters.divisions if filters else ()) if d != NO_DIVISION]
    divs = chosen or list(DIVISIONS.values())
    n_stops = recorded["division"].astype(str).value_counts().reindex(divs, fill_value=0)
    n_inc = _incidents(tl, months, categories, notes).reindex(divs, fill_value=0)
    out = pd.DataFrame({"division": [*divs, _ALL_DIVISIONS]})
    out["stops"] = [*n_stops.to_numpy(dtype=np.int64), int(n_stops.sum())]
    out["incidents"] = [*n_inc.to_numpy(dtype=np.int64), int(n_inc.sum())]
    out["per_1000_incidents"], out["incidents_lo"], out["incidents_hi"] = per_population(
        out["stops"], out["incidents"], per=1000
    )
    out["residents"] = _residents(recorded, population, divs, notes)
    out["per_1000_residents"], out["residents_lo"], out["residents_hi"] = per_population(
        out["stops"], out["residents"], per=1000
    )
    out["small_cell"] = out["stops"] < min_cell
    ranked = (out["division"] != _ALL_DIVISIONS) & (out["stops"] > 0)
    for col, rank in (("per_1000_incidents", "rank_incidents"), ("per_1000_residents", "rank_residents")):
        out[rank] = out[col].where(ranked).rank(ascending=False, method="min").astype("Int64")
    for d in out.loc[(out["division"] != _ALL_DIVISIONS) & (out["stops"] == 0), "division"]:
        notes.append(f"{d} has no stops in the stops table over these months: its rates are 0 and it is not ranked")
    caveat = " ".join(f"{name}: {text}" for name, text in BENCHMARK_ASSUMPTIONS.items())
    return Finding(table=out, lines=_benchmark_lines(out, months=months), notes=notes, caveat=caveat)


def _residents(
    recorded: pd.DataFrame, population: pd.DataFrame | None, divs: list[str], notes: list[str]
) -> list[float]:
    """Residents per division from :func:`stop_benchmark` (its 'All drivers' rows), and their sum for the shown ones."""
    if population is None:
        notes.append("no population given: no stops per 1,000 residents")
        return [np.nan] * (len(divs) + 1)
    if len(recorded):
        res = stop_benchmark(recorded, population)
        per_div = res[res["group"] == "All drivers"].set_index("unit")["residents"].reindex(divs)
    else:
        per_div = population["pop_2020"].astype(float).reindex(divs)
    return [*per_div.to_numpy(dtype=float), float(per_div.sum(skipna=False))]


def _benchmark_lines(out: pd.DataFrame, *, months: list[pd.Timestamp]) -> list[str]:
    """Plain sentences: the citywide figures, the highest and lowest division by each benchmark."""
    city = out[out["division"] == _ALL_DIVISIONS].iloc[0]
    lines = [
        f"Over {_months_text(months)}: {int(city['stops']):,} stops with a division and {int(city['incidents']):,} "
        f"reported incidents, {_with_ci(city['per_1000_incidents'], city['incidents_lo'], city['incidents_hi'], fmt=',.1f')} "
        "stops per 1,000 incidents."
    ]
    if np.isfinite(city["per_1000_residents"]):
        lines.append(
            f"Per resident: {_with_ci(city['per_1000_residents'], city['residents_lo'], city['residents_hi'], fmt=',.1f')} "
            f"stops per 1,000 residents over the same months."
        )
    divs = out[(out["division"] != _ALL_DIVISIONS) & (out["stops"] > 0)]
    for col, lo, hi, unit in (
        ("per_1000_incidents", "incidents_lo", "incidents_hi", "incidents"),
        ("per_1000_residents", "residents_lo", "residents_hi", "residents"),
    ):
        d = divs[divs[col].notna()]
        if len(d) < 2:
            continue
        top, low = d.loc[d[col].idxmax()], d.loc[d[col].idxmin()]
        lines.append(
            f"Per 1,000 {unit}: highest {top['division']} {_with_ci(top[col], top[lo], top[hi], fmt=',.1f')}; "
            f"lowest {low['division']} {_with_ci(low[col], low[lo], low[hi], fmt=',.1f')}."
        )
    both = divs[divs["rank_incidents"].notna() & divs["rank_residents"].notna()]
    if len(both) >= 3:
        top_i = set(both.nsmallest(3, "rank_incidents")["division"])
        top_r = set(both.nsmallest(3, "rank_residents")["division"])
        lines.append(
            f"{len(top_i & top_r)} of the 3 divisions with the most stops per incident are also among the 3 with the "
            "most stops per resident: the two benchmarks can rank divisions differently."
        )
    return lines
