"""Disparities and accountability: outcome rates with intervals, ratios, benchmark, models, officers, funnel.

Every figure counts the stops left by the sidebar filters. The numbers come from
:mod:`geo.analysis.disparity` and :mod:`geo.analysis.models`; this page only wires widgets to them and draws.
Every chart has a text alternative (:func:`app_pages.charts.show_chart`: a sentence computed from its
numbers, and the numbers in an expander). Above the tabs, a division picker (``?div=`` in the address)
offers the printable report of one division (:func:`geo.output.report_build.division_report`) for the
same stops, built only when a download button is clicked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import app_pages
from app_pages import common, report_section, url_state
from app_pages.charts import color_scale, group_scale, interval_chart, interval_summary, show_chart
from app_pages.url_state import Param
from geo import caveats
from geo.analysis import benchmark, disparity, funnel, models
from geo.analysis.disparity import DEFAULT_REFERENCE
from geo.caveats import RELIABLE_CELL_LABEL, SMALL_CELL_LABEL, SMALL_CELL_NOTE
from geo.errors import EmptyInputError, GeoDataError, ValueDomainError
from geo.layers import catalog
from geo.layers.filters import StopFilter
from geo.maps.palettes import (
    FUNNEL_COLORS,
    LABEL_COLOR,
    NEUTRAL_COLOR,
    ODDS_RATIO_COLORS,
    RATE_SCHEME,
    REFERENCE_LINE_COLOR,
    SMALL_CELL_FILL,
    TEXT_ON_DARK,
    TEXT_ON_LIGHT,
)
from geo.output.report_build import division_report
from geo.settings import get_settings
from geo.vocab import GROUP_POPULATION, MIN_CELL

Filters = StopFilter

OUTCOME_LABELS = {
    "search": "Search",
    "arrest": "Arrest",
    "citation": "Citation",
    "written_warning": "Written warning",
    "verbal_warning": "Verbal warning",
    "no_action": "No action taken",
}
DIMENSION_LABELS = {
    "driver_group": "Driver group (race and ethnicity, census style)",
    "driver_race": "Driver race (as recorded)",
    "driver_ethnicity": "Driver ethnicity",
    "driver_gender": "Driver gender",
    "age_band": "Driver age band",
    "reason": "Reason for stop",
}
OFFICER_LABELS = {
    "officer_years_band": "Officer years of service",
    "officer_race": "Officer race",
    "officer_gender": "Officer gender",
}
TERM_LABELS = {
    "driver_race": "Driver race",
    "driver_ethnicity": "Driver ethnicity",
    "driver_gender": "Driver gender",
    "age_band": "Driver age",
    "reason": "Reason",
    "division": "Division",
    "month": "Month",
    "officer_race": "Officer race",
    "officer_gender": "Officer gender",
    "officer_years_band": "Officer years",
}
SCOPES = {"Citywide": None, "Per division": "division", "Per month": "month"}
TABS = ["Rates and ratios", "Benchmark", "Models", "Officers", "Funnel plot"]

# --------------------------------------------------------------------------- cached results


@common.data_cache(show_spinner=False, max_entries=64)
def _groups(filters: Filters, dimension: str) -> list[str]:
    return disparity.groups_present(common.stops(), dimension, filters=filters)


@common.data_cache(show_spinner=False, max_entries=64)
def _rates(filters: Filters, outcome: str, by: str, per: str | None, reference: str | None, among: str) -> pd.DataFrame:
    return disparity.rates(
        common.stops(), outcome=outcome, by=by, per=per, reference=reference, among=among, filters=filters
    )


@common.data_cache(show_spinner=False, max_entries=64)
def _benchmark(filters: Filters, reference: str) -> pd.DataFrame:
    return benchmark.stop_benchmark(common.stops(), common.division_population(), reference=reference, filters=filters)


@common.data_cache(show_spinner=False, max_entries=64)
def _models(filters: Filters, reference: str) -> dict[str, dict[str, Any]]:
    """Both models on one design; each outcome's result, or the message saying why it cannot be fitted."""
    design = models.build_design(common.stops(), filters=filters)
    out: dict[str, dict[str, Any]] = {}
    for outcome in ("search", "arrest"):
        try:
            r = models.fit_model(outcome=outcome, reference=reference, design=design)
        except GeoDataError as exc:
            out[outcome] = {"error": str(exc)}
            continue
        out[outcome] = {
            "odds_ratios": r.odds_ratios,
            "dropped": r.dropped,
            "n_input": r.n_input,
            "n_used": r.n_used,
            "events": r.events,
            "terms_left_out": r.terms_left_out,
            "references": r.references,
            "notes": r.notes,
            "converged": r.converged,
            "method": r.method,
            "separated": r.separated,
            "pseudo_r2": r.pseudo_r2,
            "seconds": r.seconds,
        }
    return out


@common.data_cache(show_spinner=False, max_entries=64)
def _officer(filters: Filters, by: str, outcome: str) -> pd.DataFrame:
    return disparity.officer_rates(common.stops(), by=by, outcomes=(outcome,), filters=filters)


@common.data_cache(show_spinner=False, max_entries=64)
def _matrix_rates(filters: Filters, outcome: str, reference: str) -> pd.DataFrame:
    return disparity.officer_driver_matrix(common.stops(), outcome=outcome, reference=reference, filters=filters)


@common.data_cache(show_spinner=False, max_entries=64)
def _funnel(
    filters: Filters, outcome: str, measure: str, group: str, reference: str, overdispersion: bool
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    table = funnel.funnel(
        common.stops(),
        outcome=outcome,
        measure=measure,
        group=group,
        reference=reference,
        overdispersion=overdispersion,
        filters=filters,
    )
    try:
        curve = funnel.funnel_curve(table)
    except EmptyInputError:
        curve = None
    return table, curve


# --------------------------------------------------------------------------- display helpers


def _pct(x: float) -> str:
    return "no data" if pd.isna(x) else f"{x:.1%}"


def _chart_numbers(t: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """The numbers behind a chart, under human headings: ``columns`` maps a column of ``t`` to its heading."""
    return pd.DataFrame({label: t[c].astype(str) if t[c].dtype == "category" else t[c] for c, label in columns.items()})


def _rate_view(t: pd.DataFrame, *, unit_label: str | None, base: str) -> pd.DataFrame:
    """Rename and order a rates table for display (numbers stay numbers, so columns sort)."""
    ref = t["reference"].dropna()
    ref_name = str(ref.iloc[0]) if len(ref) else None
    out = pd.DataFrame(
        {
            **({unit_label: t["unit"].astype(str)} if unit_label else {}),
            "Group": t["group"].astype(str),
            "With outcome": t["count"],
            base: t["denominator"],
            "Cell": t["small_cell"].map({True: SMALL_CELL_NOTE, False: ""}),
            "Rate": t["rate"],
            "95% low": t["lo"],
            "95% high": t["hi"],
            "Smoothed rate (EB)": t["eb_rate"],
        }
    )
    if ref_name is not None:
        out[f"Ratio vs {ref_name}"] = t["ratio"]
        out["Ratio 95% low"] = t["ratio_lo"]
        out["Ratio 95% high"] = t["ratio_hi"]
        out["Ratio interval"] = t["ratio_method"]
    return out


def _rate_columns(base: str) -> dict[str, Any]:
    pct = st.column_config.NumberColumn(format="percent")
    ratio = st.column_config.NumberColumn(format="%.2f")
    return {
        "Rate": pct,
        "95% low": pct,
        "95% high": pct,
        "Smoothed rate (EB)": pct,
        base: st.column_config.NumberColumn(format="localized"),
        "With outcome": st.column_config.NumberColumn(format="localized"),
        "Cell": st.column_config.TextColumn(width="medium"),
        "Ratio interval": st.column_config.TextColumn(width="medium"),
        **{c: ratio for c in ("Ratio 95% low", "Ratio 95% high")},
    }


def _show_table(
    df: pd.DataFrame, *, key: str, column_config: dict[str, Any] | None = None, height: int | str = "auto"
) -> None:
    cfg = dict(column_config or {})
    for c in df.columns:
        if str(c).startswith("Ratio vs "):
            cfg.setdefault(c, st.column_config.NumberColumn(format="%.2f"))
    st.dataframe(df, hide_index=True, width="stretch", column_config=cfg, key=key, height=height)


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class _RateChoice:
    """What the rates section shows: one outcome, compared across one dimension, in one scope."""

    outcome: str
    dimension: str
    scope: str
    reference: str
    among: str

    @property
    def per(self) -> str | None:
        return SCOPES[self.scope]

    @property
    def base(self) -> str:
        return "Searched stops" if self.among == "searched" else "Stops"

    @property
    def what(self) -> str:
        among = " among searched stops" if self.among == "searched" else ""
        return OUTCOME_LABELS[self.outcome].lower() + " rate" + among


def _rate_controls(groups_of: Callable[[str], list[str]]) -> tuple[_RateChoice, list[str]]:
    """The rates section's widgets; also returns the groups of the chosen dimension."""
    c = st.columns(4)
    outcome = c[0].selectbox("Outcome", list(OUTCOME_LABELS), format_func=OUTCOME_LABELS.get, key="dp_outcome")
    dim = c[1].selectbox("Compare", list(DIMENSION_LABELS), format_func=DIMENSION_LABELS.get, key="dp_dim")
    scope = c[2].selectbox("Where", list(SCOPES), key="dp_scope")
    groups = groups_of(dim)
    default = DEFAULT_REFERENCE.get(dim)
    ref = c[3].selectbox(
        "Reference group",
        groups,
        index=groups.index(default) if default in groups else 0,
        key=f"dp_ref_{dim}",
        help="Disparity ratios compare every group's rate with this group's rate in the same place.",
    )
    among = "all"
    if outcome != "search":
        if st.checkbox(
            "Only searched stops (e.g. the arrest rate of drivers who were searched)",
            key="dp_among",
            help=f"A search-based outcome: its small-cell threshold is {MIN_CELL} searches.",
        ):
            among = "searched"
    return _RateChoice(outcome, dim, scope, ref, among), groups


def _rate_chart_rows(t: pd.DataFrame, choice: _RateChoice, groups: list[str]) -> tuple[pd.DataFrame, str, str, str]:
    """The rows to chart, their axis column and title, and the chart title.

    Citywide, every group is a row; per division or month, one chosen group is charted across the units.
    """
    if choice.per is None:
        return t, "group", DIMENSION_LABELS[choice.dimension], f"Citywide {choice.what}"
    units = list(dict.fromkeys(t["unit"].astype(str)))
    others = [g for g in groups if g != choice.reference]
    pick = st.selectbox(
        "Group to chart",
        groups,
        index=groups.index(others[0]) if others else 0,
        key=f"dp_chart_group_{choice.dimension}",
    )
    y_title = choice.scope.removeprefix("Per ").capitalize()
    return (
        t[t["group"].astype(str) == pick],
        "unit",
        y_title,
        f"{pick}: {choice.what} by {y_title.lower()} ({len(units)} units)",
    )


def _rate_headline(t: pd.DataFrame, choice: _RateChoice) -> None:
    """The highest reliable citywide rate in one sentence, and a warning when cells are small."""
    reliable = t[~t["small_cell"]]
    if choice.per is None and len(reliable):
        top = reliable.loc[reliable["rate"].idxmax()]
        st.markdown(
            f"Highest {common.text(choice.what)} among groups with at least {MIN_CELL} {choice.base.lower()}: "
            f"**{common.text(top['group'])}**, {_pct(top['rate'])} (95% interval {_pct(top['lo'])} to {_pct(top['hi'])}), "
            f"{int(top['count']):,} of {int(top['denominator']):,}."
        )
    n_small = int(t["small_cell"].sum())
    if n_small:
        st.warning(caveats.small_cells_warning(n_small, len(t), base=choice.base))


def _rate_charts(rows: pd.DataFrame, *, y: str, y_title: str, title: str, reference: str) -> None:
    """Rates (left) and disparity ratios against the reference group (right), side by side."""
    left, right = st.columns(2)
    base = {y: y_title, "count": "With outcome", "denominator": "Denominator"}
    with left:
        st.markdown(f"**{common.text(title)}**")
        show_chart(
            interval_chart(
                rows, y=y, y_title=y_title, value="rate", lo="lo", hi="hi", x_title="Rate", fmt=".1%", eb="eb_rate"
            ),
            summary=interval_summary(rows, label=y, value="rate", lo="lo", hi="hi", fmt=".1%", what=title),
            data=_chart_numbers(
                rows, {**base, "rate": "Rate", "lo": "95% low", "hi": "95% high", "eb_rate": "Smoothed rate (EB)"}
            ),
            container=left,
        )
        st.caption(
            "Dot: the recorded rate with its 95 % Wilson interval. Black tick: the smoothed (empirical-Bayes) rate."
        )
    with right:
        st.markdown(f"**Disparity ratio against {common.text(reference)} drivers**")
        ratio_t = rows[~rows["is_reference"].astype(bool)]
        zero = ratio_t[ratio_t["ratio"] == 0]
        ratio_t = ratio_t[ratio_t["ratio"] > 0]  # a log axis cannot show 0: those are named below
        if not len(ratio_t):
            st.info("No ratio to chart here: the reference group has no events (or this is the reference group).")
            return
        show_chart(
            interval_chart(
                ratio_t,
                y=y,
                y_title=y_title,
                value="ratio",
                lo="ratio_lo",
                hi="ratio_hi",
                x_title=f"Rate ratio vs {reference}",
                fmt=".2f",
                rule_at=1.0,
                log=True,
            ),
            summary=interval_summary(
                ratio_t,
                label=y,
                value="ratio",
                lo="ratio_lo",
                hi="ratio_hi",
                fmt=".2f",
                what=f"Disparity ratios against {reference} drivers (1 is parity)",
            ),
            data=_chart_numbers(
                ratio_t, {**base, "ratio": f"Ratio vs {reference}", "ratio_lo": "95% low", "ratio_hi": "95% high"}
            ),
            container=right,
        )
        st.caption(
            "Log scale; the dashed line is parity (ratio 1). Intervals: 95 %, Koopman score method (valid for small "
            "counts)."
            + "".join(
                f" {common.text(r[y])}: ratio 0 (no events), up to {r['ratio_hi']:.2f}." for _, r in zero.iterrows()
            )
        )


def _rates_section(filters: Filters) -> None:
    st.markdown(caveats.RATE_CAVEAT)
    choice, groups = _rate_controls(lambda dim: _groups(filters, dim))
    t = _rates(filters, choice.outcome, choice.dimension, choice.per, choice.reference, choice.among)
    rows, y, y_title, title = _rate_chart_rows(t, choice, groups)
    _rate_headline(t, choice)
    _rate_charts(rows, y=y, y_title=y_title, title=title, reference=choice.reference)
    unit_label = None if choice.per is None else y_title
    _show_table(
        _rate_view(t, unit_label=unit_label, base=choice.base),
        key="dp_rates_table",
        column_config=_rate_columns(choice.base),
    )
    st.caption(caveats.RATIO_CAVEAT + " " + caveats.EB_CAVEAT)
    common.notes(t.attrs.get("notes", []))


def _benchmark_section(filters: Filters) -> None:
    st.info(caveats.BENCHMARK_CAVEAT)
    groups = list(GROUP_POPULATION)
    ref = st.selectbox("Reference group", groups, index=groups.index("White"), key="dp_bench_ref")
    t = _benchmark(filters, ref)
    d = t[t["per_1000"] > 0].copy()  # log scale: units with no stops are in the table only
    d["_cell"] = d["small_cell"].map({True: SMALL_CELL_LABEL, False: RELIABLE_CELL_LABEL})
    if d.empty:
        st.info(
            "No division has stops to set against its residents with these filters (stops with no division recorded are not benchmarked)."
        )
        common.notes(t.attrs.get("notes", []))
        return
    top = d.iloc[int(np.argmax(d["per_1000"].to_numpy(dtype=float)))]
    show_chart(
        _benchmark_chart(d, groups=groups, reference=ref),
        summary=(
            f"Stops per 1,000 residents (log scale) in {d['unit'].nunique()} places for {d['group'].nunique()} driver "
            f"groups: highest {top['group']} drivers in {top['unit']}, {top['per_1000']:,.1f} (95% interval "
            f"{top['lo']:,.1f} to {top['hi']:,.1f})."
        ),
        data=_chart_numbers(
            d,
            {
                "unit": "Division",
                "group": "Drivers",
                "count": "Stops",
                "per_1000": "Stops per 1,000 residents",
                "lo": "95% low",
                "hi": "95% high",
            },
        ),
    )
    _benchmark_table(t, reference=ref)
    common.notes(t.attrs.get("notes", []))


def _benchmark_chart(d: pd.DataFrame, *, groups: list[str], reference: str) -> alt.LayerChart:
    """Stops per 1,000 residents with their intervals, per division and driver group, on a log axis."""
    ref = reference
    order = [u for u in dict.fromkeys(d["unit"]) if u != "All divisions"] + ["All divisions"]
    dom = [*groups, "All drivers"]
    color = alt.Color("group:N", title="Drivers", scale=group_scale(dom))
    tips = [
        alt.Tooltip("unit:N", title="Division"),
        alt.Tooltip("group:N", title="Drivers"),
        alt.Tooltip("count:Q", title="Stops", format=","),
        alt.Tooltip("residents:Q", title="Residents (2020)", format=",.0f"),
        alt.Tooltip("per_1000:Q", title="Stops per 1,000 residents", format=",.1f"),
        alt.Tooltip("lo:Q", title="95% low", format=",.1f"),
        alt.Tooltip("hi:Q", title="95% high", format=",.1f"),
        alt.Tooltip("ratio:Q", title=f"Ratio vs {ref}", format=".2f"),
    ]
    base = alt.Chart(d).encode(
        y=alt.Y("unit:N", sort=order, title=None, axis=alt.Axis(labelLimit=200)),
        yOffset=alt.YOffset("group:N", sort=dom),
        color=color,
    )
    return alt.layer(
        base.mark_rule().encode(
            x=alt.X("lo:Q", scale=alt.Scale(type="log", nice=False), title="Stops per 1,000 residents (log scale)"),
            x2="hi:Q",
        ),
        base.mark_point(filled=True, size=45).encode(
            x="per_1000:Q",
            shape=alt.Shape(
                "_cell:N",
                title="Stops",
                scale=alt.Scale(domain=[RELIABLE_CELL_LABEL, SMALL_CELL_LABEL], range=["circle", "triangle"]),
            ),
            tooltip=tips,
        ),
    ).properties(height=max(300, 22 * len(order) * 2))


def _benchmark_table(t: pd.DataFrame, *, reference: str) -> None:
    """Every division and driver group of the benchmark, with the intervals and the ratios to ``reference``."""
    ref = reference
    view = pd.DataFrame(
        {
            "Division": t["unit"],
            "Drivers": t["group"],
            "Stops": t["count"],
            "Residents (2020)": t["residents"].round(0),
            "Stops per 1,000 residents": t["per_1000"],
            "95% low": t["lo"],
            "95% high": t["hi"],
            "Cell": t["small_cell"].map({True: SMALL_CELL_NOTE, False: ""}),
            f"Ratio vs {ref}": t["ratio"],
            "Ratio 95% low": t["ratio_lo"],
            "Ratio 95% high": t["ratio_hi"],
        }
    )
    num = st.column_config.NumberColumn(format="%.1f")
    _show_table(
        view,
        key="dp_bench_table",
        column_config={
            "Stops per 1,000 residents": num,
            "95% low": num,
            "95% high": num,
            "Residents (2020)": st.column_config.NumberColumn(format="localized"),
            "Stops": st.column_config.NumberColumn(format="localized"),
            "Ratio 95% low": st.column_config.NumberColumn(format="%.2f"),
            "Ratio 95% high": st.column_config.NumberColumn(format="%.2f"),
        },
    )


def _forest_rows(ors: pd.DataFrame, terms: list[str]) -> pd.DataFrame:
    """The odds ratios of ``terms``, each with its label ("Driver race: Black (vs White)")."""
    d = ors[ors["term"].isin(terms)].copy()
    d["label"] = (
        d["term"].map(TERM_LABELS).fillna(d["term"])
        + ": "
        + d["level"].astype(str)
        + " (vs "
        + d["reference"].astype(str)
        + ")"
    )
    return d


def _forest_summary(d: pd.DataFrame, outcome: str) -> str:
    """The forest plot in one sentence: how many intervals lie above and below 1, and the largest odds ratio."""
    above, below = int((d["lo"] > 1).sum()), int((d["hi"] < 1).sum())
    top = d.iloc[int(np.argmax(d["odds_ratio"].to_numpy(dtype=float)))]
    return (
        f"Odds ratios of a {outcome.lower()} for {len(d)} levels, each against its reference level: {above} with a 95% "
        f"interval above 1, {below} below 1, {len(d) - above - below} including 1; largest {top['label']}, "
        f"{top['odds_ratio']:.2f} (95% interval {top['lo']:.2f} to {top['hi']:.2f})."
    )


def _forest(d: pd.DataFrame) -> alt.LayerChart:
    """Forest plot of the odds ratios of :func:`_forest_rows`."""
    d = d.copy()
    higher, includes_1, lower = ODDS_RATIO_COLORS
    d["side"] = includes_1
    d.loc[d["hi"] < 1, "side"] = lower
    d.loc[d["lo"] > 1, "side"] = higher
    tips = [
        alt.Tooltip("label:N", title="Level"),
        alt.Tooltip("odds_ratio:Q", title="Odds ratio", format=".2f"),
        alt.Tooltip("lo:Q", title="95% low", format=".2f"),
        alt.Tooltip("hi:Q", title="95% high", format=".2f"),
        alt.Tooltip("n:Q", title="Stops at this level", format=","),
        alt.Tooltip("events:Q", title="Events", format=","),
        alt.Tooltip("p_value:Q", title="p", format=".2g"),
    ]
    y = alt.Y("label:N", sort=list(d["label"]), title=None, axis=alt.Axis(labelLimit=360))
    color = alt.Color("side:N", title=None, scale=color_scale(ODDS_RATIO_COLORS))
    base = alt.Chart(d).encode(y=y, color=color)
    return alt.layer(
        base.mark_rule(strokeWidth=2).encode(
            x=alt.X("lo:Q", scale=alt.Scale(type="log"), title="Odds ratio (log scale), 95% interval"), x2="hi:Q"
        ),
        base.mark_point(filled=True, size=60, shape="diamond").encode(x="odds_ratio:Q", tooltip=tips),
        alt.Chart(pd.DataFrame({"v": [1.0]})).mark_rule(color=REFERENCE_LINE_COLOR, strokeDash=[4, 4]).encode(x="v:Q"),
    ).properties(height=alt.Step(20))


def _models_section(filters: Filters) -> None:
    st.markdown(caveats.MODEL_CAVEAT)
    c = st.columns(2)
    outcome = c[0].radio(
        "Model of", ["search", "arrest"], format_func=OUTCOME_LABELS.get, key="dp_model_outcome", horizontal=True
    )
    races = _groups(filters, "driver_race")
    ref = c[1].selectbox(
        "Reference driver race", races, index=races.index("White") if "White" in races else 0, key="dp_model_ref"
    )
    with st.spinner("Fitting the search and arrest models ..."):
        fits = _models(filters, ref)
    r = fits[outcome]
    if "error" in r:
        st.warning(f"The {outcome} model cannot be fitted on these stops: {common.text(r['error'])}")
        return
    m = st.columns(4)
    m[0].metric("Stops after the filters", f"{r['n_input']:,}")
    m[1].metric("Stops used in the model", f"{r['n_used']:,}")
    m[2].metric("Rows left out", f"{r['n_input'] - r['n_used']:,}")
    m[3].metric(f"{OUTCOME_LABELS[outcome]}es" if outcome == "search" else "Arrests", f"{r['events']:,}")
    if not r["converged"]:
        st.warning(caveats.NOT_CONVERGED)
    note = caveats.model_fit_note(r["method"], [common.text(x) for x in r["separated"]])
    (st.caption if r["method"] == models.MAXIMUM_LIKELIHOOD else st.info)(note)
    ors = r["odds_ratios"]
    present = [t for t in models.TERMS if t in set(ors["term"])]
    default = [t for t in present if t not in ("month", "division")]
    terms = st.multiselect(
        "Terms to show",
        present,
        default=default,
        format_func=lambda t: TERM_LABELS.get(t, t),
        key="dp_model_terms",
        help="Month and division are in every model; they are hidden here by default to keep the chart short.",
    )
    if terms:
        d = _forest_rows(ors, terms)
        show_chart(
            _forest(d),
            summary=_forest_summary(d, OUTCOME_LABELS[outcome]),
            data=_chart_numbers(
                d, {"label": "Level (vs reference)", "odds_ratio": "Odds ratio", "lo": "95% low", "hi": "95% high"}
            ),
        )
        st.caption(
            "Each level against its reference level, with every other term held fixed. Dashed line: odds ratio 1."
        )
    _odds_ratio_table(ors[ors["term"].isin(terms or present)])
    st.markdown("**Rows left out of the model, with reasons**")
    if len(r["dropped"]):
        _show_table(r["dropped"].rename(columns={"reason": "Reason", "rows": "Rows"}), key="dp_model_dropped")
    else:
        st.caption("None: every stop after the filters is in the model.")
    if r["terms_left_out"]:
        for term, why in r["terms_left_out"].items():
            st.markdown(f"- {common.text(TERM_LABELS.get(term, term))} left out: {common.text(why)}")
    refs = ", ".join(f"{TERM_LABELS.get(k, k)}: {v}" for k, v in r["references"].items())
    st.caption(f"Reference levels: {common.text(refs)}. Pseudo R² (McFadden) {r['pseudo_r2']:.3f}.")
    common.notes(r["notes"], label="Model notes")


def _odds_ratio_table(ors: pd.DataFrame) -> None:
    """The odds ratios shown, under human headings (terms named in words)."""
    view = ors[["term", "level", "reference", "odds_ratio", "lo", "hi", "p_value", "n", "events", "interval"]]
    view = view.assign(term=view["term"].map(lambda t: TERM_LABELS.get(t, t))).rename(
        columns={
            "term": "Term",
            "level": "Level",
            "reference": "Reference level",
            "odds_ratio": "Odds ratio",
            "lo": "95% low",
            "hi": "95% high",
            "p_value": "p-value",
            "n": "Stops at level",
            "events": "Events",
            "interval": "Interval",
        }
    )
    ratio = st.column_config.NumberColumn(format="%.2f")
    _show_table(
        view,
        key="dp_model_table",
        column_config={
            "Odds ratio": ratio,
            "95% low": ratio,
            "95% high": ratio,
            "p-value": st.column_config.NumberColumn(format="%.2e"),
        },
    )


def _officer_rates(filters: Filters, outcome: str) -> list[str]:
    """One rates chart per officer attribute, side by side, then one table of them all; returns the data notes."""
    cols = st.columns(len(OFFICER_LABELS))
    notes: list[str] = []
    for col, (by, label) in zip(cols, OFFICER_LABELS.items(), strict=True):
        t = _officer(filters, by, outcome)
        notes = t.attrs.get("notes", notes)
        with col:
            st.markdown(f"**{label}**")
            show_chart(
                interval_chart(
                    t,
                    y="group",
                    y_title=label,
                    value="rate",
                    lo="lo",
                    hi="hi",
                    x_title=f"{OUTCOME_LABELS[outcome]} rate",
                    fmt=".1%",
                    eb="eb_rate",
                    legend=False,
                    label_limit=130,
                ),
                summary=interval_summary(
                    t,
                    label="group",
                    value="rate",
                    lo="lo",
                    hi="hi",
                    fmt=".1%",
                    what=f"{OUTCOME_LABELS[outcome]} rate by {label.lower()}",
                ),  # fmt: skip
                data=_chart_numbers(
                    t,
                    {
                        "group": label,
                        "count": "With outcome",
                        "denominator": "Stops",
                        "rate": "Rate",
                        "lo": "95% low",
                        "hi": "95% high",
                    },
                ),
                container=col,
            )
    st.caption(
        f"Dots: recorded rates with 95 % intervals; orange triangles: fewer than {MIN_CELL} stops; black ticks: smoothed rates."
    )
    tables = pd.concat(
        [_officer(filters, by, outcome).assign(_by=label) for by, label in OFFICER_LABELS.items()], ignore_index=True
    )
    view = _rate_view(tables, unit_label=None, base="Stops")
    view.insert(0, "Officer attribute", tables["_by"])
    view = view.drop(columns=[c for c in view.columns if c.startswith("Ratio")])
    view["Ratio vs reference"] = tables["ratio"]
    view["Reference"] = tables["reference"]
    _show_table(view, key="dp_officer_table", column_config=_rate_columns("Stops"))
    return notes


def _matrix_chart(m: pd.DataFrame, *, reference: str) -> alt.LayerChart:
    """Heat map of rates, officer race (rows) by driver group (columns); small cells grey, outside the colour scale."""
    reliable = m[~m["small_cell"]]
    mid = float(reliable["rate"].quantile(0.6)) if len(reliable) else 0.0
    d = m.assign(
        _label=m["rate"].map(lambda v: f"{v:.1%}") + m["small_cell"].map({True: " (small)", False: ""}),
        _dark_text=m["small_cell"] | (m["rate"] > mid),
    )
    base = alt.Chart(d).encode(
        x=alt.X(
            "group:N",
            sort=list(dict.fromkeys(d["group"])),
            title="Driver group",
            axis=alt.Axis(labelAngle=0, orient="top"),
        ),
        y=alt.Y("unit:N", sort=list(dict.fromkeys(d["unit"])), title=None, axis=alt.Axis(labelLimit=220)),
    )
    tips = [
        alt.Tooltip("unit:N", title="Officer race"),
        alt.Tooltip("group:N", title="Driver group"),
        alt.Tooltip("rate:Q", title="Rate", format=".1%"),
        alt.Tooltip("lo:Q", title="95% low", format=".1%"),
        alt.Tooltip("hi:Q", title="95% high", format=".1%"),
        alt.Tooltip("count:Q", title="With outcome", format=","),
        alt.Tooltip("denominator:Q", title="Stops", format=","),
        alt.Tooltip("ratio:Q", title=f"Ratio vs {reference}", format=".2f"),
    ]
    # small cells are grey, outside the colour scale: a 40 % rate from 5 stops must not set the colours
    rate_color = alt.Color(
        "rate:Q", title="Rate", scale=alt.Scale(scheme=RATE_SCHEME, zero=True), legend=alt.Legend(format=".0%")
    )
    return alt.layer(
        base.transform_filter("!datum.small_cell").mark_rect().encode(color=rate_color, tooltip=tips),
        base.transform_filter("datum.small_cell").mark_rect(color=SMALL_CELL_FILL).encode(tooltip=tips),
        base.mark_text(fontSize=12).encode(
            text="_label:N",
            color=alt.condition("datum._dark_text", alt.value(TEXT_ON_LIGHT), alt.value(TEXT_ON_DARK)),
            tooltip=tips,
        ),
    ).properties(height=alt.Step(30))


def _matrix_summary(m: pd.DataFrame, outcome: str) -> str:
    """The heat map in one sentence: its cells, the highest reliable rate, how many cells are small."""
    reliable = m[~m["small_cell"]]
    n_small = len(m) - len(reliable)
    head = (
        f"{outcome} rate by officer race ({m['unit'].nunique()} rows) and driver group ({m['group'].nunique()} "
        f"columns), {len(m)} cells"
    )
    if reliable.empty:
        return f"{head}, all on fewer than {MIN_CELL} stops."
    top = reliable.iloc[int(np.argmax(reliable["rate"].to_numpy(dtype=float)))]
    return (
        f"{head}: highest among cells with at least {MIN_CELL} stops, {top['unit']} officers with {top['group']} "
        f"drivers, {top['rate']:.1%} (95% interval {top['lo']:.1%} to {top['hi']:.1%}); {n_small} small cells in grey."
    )


def _matrix(filters: Filters, outcome: str) -> list[str]:
    """Officer race by driver group: the reference widget, the heat map and its table; returns the data notes."""
    st.subheader("Officer race × driver group")
    groups = _groups(filters, "driver_group")
    ref = st.selectbox(
        "Reference driver group (ratios within each officer group)",
        groups,
        index=groups.index("White") if "White" in groups else 0,
        key="dp_matrix_ref",
    )
    m = _matrix_rates(filters, outcome, ref)
    show_chart(
        _matrix_chart(m, reference=ref),
        summary=_matrix_summary(m, OUTCOME_LABELS[outcome]),
        data=_chart_numbers(
            m,
            {
                "unit": "Officer race",
                "group": "Driver group",
                "count": "With outcome",
                "denominator": "Stops",
                "rate": "Rate",
                "lo": "95% low",
                "hi": "95% high",
            },
        ),
    )
    st.caption(
        f"{OUTCOME_LABELS[outcome]} rate of the stops each officer group made (rows: officer race). Grey cells marked (small) rest on fewer than {MIN_CELL} stops and are left out of the colour scale."
    )
    mview = _rate_view(m, unit_label="Officer race", base="Stops")
    _show_table(mview, key="dp_matrix_table", column_config=_rate_columns("Stops"))
    return list(m.attrs.get("notes", []))


def _officers_section(filters: Filters) -> None:
    st.info(caveats.ACCOUNTABILITY_CAVEAT)
    outcome = st.selectbox("Outcome", list(OUTCOME_LABELS), format_func=OUTCOME_LABELS.get, key="dp_off_outcome")
    notes = _officer_rates(filters, outcome)
    matrix_notes = _matrix(filters, outcome)
    common.notes(list(dict.fromkeys([*notes, *matrix_notes])))


def _funnel_controls(filters: Filters) -> tuple[str, str, str, str, bool]:
    """The funnel section's widgets: outcome, measure, reference group, group, and overdispersion."""
    c = st.columns(4)
    outcome = c[0].selectbox("Outcome", list(OUTCOME_LABELS), format_func=OUTCOME_LABELS.get, key="dp_fun_outcome")
    measure = c[1].radio(
        "Measure",
        ["ratio", "rate"],
        format_func={"ratio": "Disparity ratio", "rate": "Rate (all drivers)"}.get,
        key="dp_fun_measure",
    )
    groups = _groups(filters, "driver_group")
    ref = c[2].selectbox(
        "Reference group",
        groups,
        index=groups.index("White") if "White" in groups else 0,
        key="dp_fun_ref",
        disabled=measure == "rate",
    )
    others = [g for g in groups if g != ref] or groups
    group = c[3].selectbox(
        "Group",
        others,
        index=others.index("Black") if "Black" in others else 0,
        key="dp_fun_group",
        disabled=measure == "rate",
    )
    over = st.checkbox("Widen the limits for overdispersion (ordinary spread between divisions)", key="dp_fun_over")
    return outcome, measure, ref, group, over


def _funnel_status(table: pd.DataFrame) -> pd.DataFrame:
    """The divisions that can be plotted, each with where it lies against the limits (a key of ``FUNNEL_COLORS``)."""
    within, outside95, outside998 = FUNNEL_COLORS
    d = table[table["estimable"]].copy()
    d["status"] = within
    d.loc[d["outside95"], "status"] = outside95
    d.loc[d["outside998"], "status"] = outside998
    return d


def _funnel_limits(curve: pd.DataFrame, *, is_ratio: bool, x_title: str, y_title: str, fmt: str) -> alt.Chart:
    """The 95 % (dashed) and 99.8 % (solid) control limits, on a log precision axis."""
    yscale = (
        alt.Scale(type="log", nice=False, padding=12) if is_ratio else alt.Scale(zero=False, nice=False, padding=12)
    )
    long = curve.melt(id_vars="x", var_name="limit", value_name="y")
    long["level"] = long["limit"].map(lambda s: "99.8% limits" if "998" in s else "95% limits")
    return (
        alt.Chart(long)
        .mark_line(color=NEUTRAL_COLOR)
        .encode(
            x=alt.X("x:Q", scale=alt.Scale(type="log", nice=False), title=x_title),
            y=alt.Y("y:Q", scale=yscale, title=y_title, axis=alt.Axis(format=fmt)),
            detail="limit:N",
            strokeDash=alt.StrokeDash(
                "level:N",
                title="Control limits",
                scale=alt.Scale(domain=["95% limits", "99.8% limits"], range=[[5, 4], [1, 0]]),
            ),
        )
    )


def _funnel_format(*, is_ratio: bool) -> str:
    """Number format of the funnel's values: ratios to two decimals, rates as percentages."""
    return ".2f" if is_ratio else ".1%"


def _funnel_chart(table: pd.DataFrame, curve: pd.DataFrame, d: pd.DataFrame, *, is_ratio: bool) -> alt.LayerChart:
    """Funnel plot: the limits, the citywide line, every division, and the names of those outside 99.8 %."""
    fmt = _funnel_format(is_ratio=is_ratio)
    x_title = "Precision (1 / SE² of the log ratio)" if is_ratio else "Stops in the division"
    y_title = str(table["measure"].iloc[0]).capitalize()
    lines = _funnel_limits(curve, is_ratio=is_ratio, x_title=x_title, y_title=y_title, fmt=fmt)
    target = (
        alt.Chart(pd.DataFrame({"y": [float(table["target"].iloc[0])]}))
        .mark_rule(color=REFERENCE_LINE_COLOR)
        .encode(y="y:Q")
    )
    tips = [
        alt.Tooltip("unit:N", title="Division"),
        alt.Tooltip("value:Q", title=y_title, format=fmt),
        alt.Tooltip("count:Q", title="Events", format=","),
        alt.Tooltip("denominator:Q", title="Stops", format=","),
        alt.Tooltip("z:Q", title="z", format=".2f"),
        alt.Tooltip("status:N", title="Against the city"),
    ]
    dom = list(FUNNEL_COLORS)
    pts = (
        alt.Chart(d)
        .mark_point(filled=True, size=90)
        .encode(
            x="x:Q",
            y="value:Q",
            color=alt.Color("status:N", title="Division", scale=color_scale(FUNNEL_COLORS)),
            shape=alt.Shape("status:N", scale=alt.Scale(domain=dom, range=["circle", "square", "triangle-up"])),
            tooltip=tips,
        )
    )
    labels = (
        alt.Chart(d[d["outside998"]])
        .mark_text(align="left", dx=7, fontSize=10, color=LABEL_COLOR)
        .encode(x="x:Q", y="value:Q", text="unit:N")
    )
    return alt.layer(lines, target, pts, labels).properties(height=460)


def _funnel_summary(table: pd.DataFrame, d: pd.DataFrame, *, fmt: str) -> str:
    """The funnel plot in one sentence: how many divisions lie outside each pair of limits, naming the farthest."""
    out95, out998 = d[d["outside95"].astype(bool)], d[d["outside998"].astype(bool)]
    names = ", ".join(str(u) for u in out998["unit"])
    return (
        f"{len(d)} divisions against the citywide value of {float(table['target'].iloc[0]):{fmt}}: {len(out95)} "
        f"outside the 95% limits, {len(out998)} outside the 99.8% limits" + (f" ({names})." if names else ".")
    )


def _funnel_table(table: pd.DataFrame) -> None:
    view = pd.DataFrame(
        {
            "Division": table["unit"],
            "Value": table["value"],
            "City": table["target"],
            "z-score": table["z"],
            "Events": table["count"],
            "Denominator": table["denominator"],
            "Outside 95%": table["outside95"],
            "Outside 99.8%": table["outside998"],
        }
    )
    _show_table(
        view,
        key="dp_funnel_table",
        column_config={
            "Value": st.column_config.NumberColumn(format="%.3f"),
            "City": st.column_config.NumberColumn(format="%.3f"),
            "z-score": st.column_config.NumberColumn(format="%.2f"),
        },
    )


def _funnel_section(filters: Filters) -> None:
    st.markdown(caveats.FUNNEL_CAVEAT)
    outcome, measure, ref, group, over = _funnel_controls(filters)
    if measure == "ratio" and group == ref:
        st.warning("Choose two different groups for a disparity ratio.")
        return
    table, curve = _funnel(filters, outcome, measure, group, ref, over)
    d = _funnel_status(table)
    if d.empty or curve is None:
        st.warning("No division has enough events for a funnel plot with these filters.")
        common.notes(table.attrs.get("notes", []))
        return
    is_ratio = measure == "ratio"
    fmt = _funnel_format(is_ratio=is_ratio)
    show_chart(
        _funnel_chart(table, curve, d, is_ratio=is_ratio),
        summary=_funnel_summary(table, d, fmt=fmt),
        data=_chart_numbers(
            d,
            {
                "unit": "Division",
                "value": "Value",
                "count": "Events",
                "denominator": "Stops",
                "status": "Against the city",
            },
        ),
    )
    st.caption(
        f"Solid black line: the citywide value ({float(table['target'].iloc[0]):{fmt}}). "
        "Grey curves: 95 % (dashed) and 99.8 % (solid) control limits. Divisions outside the 99.8 % limits are named; hover for the others."
    )
    _funnel_table(table)
    common.notes(table.attrs.get("notes", []))


# --------------------------------------------------------------------------- division report

#: The division picker's widget key; its choice is ``?div=`` in the address (``?division=`` is the sidebar filter's).
DIVISION_KEY = "dp_division"
DIVISION_PARAM = "div"


@common.data_cache(ttl=30, show_spinner=False)
def _version() -> str:
    """The data version behind the division reports (checked every 30 s): a new fetch gives new reports."""
    s = get_settings()
    return f"{s.data_dir}|{catalog.cache_key('divisions', settings=s)}"


def _division_names(filters: Filters) -> list[str]:
    """CMPD's divisions, in the layer's order; only those the division filter keeps, when it is set."""
    names = [str(n) for n in common.division_base()["division"]]
    return [n for n in names if n in filters.divisions] if filters.divisions else names


def _report_section(filters: Filters, stops: pd.DataFrame) -> None:
    """Pick a division (kept in the address), see its stop count, and download its one-page report.

    The report (:func:`geo.output.report_build.division_report`) counts the same stops as the
    page (``stops``, the stops left by ``filters``) and is built only when a button is clicked.
    """
    names = _division_names(filters)
    if not names:
        st.caption("No division report: the division filter keeps none of CMPD's divisions.")
        return
    params = (Param(DIVISION_KEY, DIVISION_PARAM, options=names),)
    url_state.restore(params)
    for bad in url_state.bad_values():
        st.caption(f"The link's choice {common.text(bad)} is not available here; the default is shown instead.")
    if st.session_state.get(DIVISION_KEY) not in names:
        st.session_state[DIVISION_KEY] = names[0]
    pick, info = st.columns([2, 3], vertical_alignment="bottom")
    division = str(
        pick.selectbox(
            "Division report",
            names,
            key=DIVISION_KEY,
            help="A printable page for one police division: its stops, searches and arrests by driver group with "
            "95 % intervals, the caveats and the data dates, counting the stops of the sidebar filters.",
        )
    )
    url_state.store(params)
    n = int((stops["division"].astype(str) == division).sum())
    info.markdown(f"**{common.text(division)}:** {n:,} traffic stops with these filters.")
    link = url_state.page_url()
    layer = common.division_base()
    roads = common.reference_layers().layers.roads
    settings = get_settings()
    report_section.downloads(
        lambda: division_report(
            layer, stops, division=division, filters=filters, link=link, roads=roads, settings=settings
        ),
        key=report_section.report_key("division", division, filters=filters, link=link, data=_version()),
    )


# --------------------------------------------------------------------------- page


def page() -> None:
    """Draw the disparities page: the stops left by the sidebar filters, one tab per view (only the open one runs)."""
    app_pages.heading("app_pages/disparities.py")
    st.write(
        "Do race, gender, age and other factors play a role in what officers do at a traffic stop? Rates with 95 % "
        "intervals, disparity ratios against a reference group, a population benchmark, multivariable models, "
        "officer-level views and a funnel plot of divisions. Small cells are flagged, and every figure counts the "
        "stops left by the sidebar filters."
    )
    filters = common.current_filters()
    try:
        stops = common.filtered_stops(filters)
    except (EmptyInputError, ValueDomainError) as exc:
        st.warning(f"No stops to analyse with these filters. {common.text(exc)}")
        return
    st.caption(f"Stops counted: {len(stops):,} ({common.text(common.describe_filters(filters))}).")
    common.section(_report_section, filters, stops)
    tabs = st.tabs(TABS, key="dp_tab", on_change="rerun")
    sections = [_rates_section, _benchmark_section, _models_section, _officers_section, _funnel_section]
    for tab, section in zip(tabs, sections, strict=True):
        with tab:
            if tab.open is not False:  # lazy: only the open tab runs (None when tabs do not track state)
                common.section(section, filters)


if __name__ == "__main__":
    common.guarded(page)()
