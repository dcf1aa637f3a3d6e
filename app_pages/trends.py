"""Problem areas over time: division trends, whether hot spots last, whether they predict, near repeats, clearance.

Each view wires a few widgets to one :mod:`geo.analysis` call and draws its result; every number comes
from ``geo``. The views are:

- division trends (:func:`geo.analysis.trends.division_trends`): monthly incidents per division with
  the STL trend, the seasonal Mann-Kendall test in plain words, the last twelve months against the
  twelve before with their intervals;
- persistence (:func:`geo.analysis.persistence.persistence`): the LISA Markov chain of the NPAs'
  yearly crime as a table of shares;
- accuracy (:func:`geo.analysis.spacetime.accuracy_by_year`): PAI, PEI and RRI of each year's hot
  spots for the next year's incidents;
- near repeats (:func:`geo.analysis.spacetime.near_repeat`): the Knox table as a heat table;
- clearance (:func:`geo.analysis.clearance.clearance`): rates with Wilson intervals and a funnel.

Only the chosen view is computed (each cached on its choices), so the page paints quickly. The
choices are in the address (:mod:`app_pages.url_state`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import altair as alt
import pandas as pd
import streamlit as st

import app_pages
from app_pages import common, url_state
from app_pages.charts import color_scale, show_chart, year_axis
from app_pages.url_state import Param
from geo.analysis.clearance import OUTCOMES
from geo.analysis.trends import ALL_CATEGORIES, CITYWIDE
from geo.caveats import CLEARANCE_CAVEAT, NEAR_REPEAT_CAVEAT, SAMPLE_NOTE, TIMELINE_NOTE, TRENDS_CAVEAT
from geo.errors import EmptyInputError
from geo.maps import palettes
from geo.settings import get_settings
from geo.vocab import INCIDENT_CATEGORIES

if TYPE_CHECKING:
    from geo.analysis.clearance import ClearanceResult
    from geo.analysis.persistence import PersistenceResult
    from geo.analysis.spacetime import AccuracyResult, NearRepeatResult
    from geo.analysis.trends import TrendsResult

__all__ = ["CATEGORIES", "CELL_SIZES", "EXPORTS", "export_table", "page"]

#: The views of the page (one computed at a time), with their URL codes.
VIEWS = {
    "Division trends": "trends",
    "Do hot spots stay hot?": "persistence",
    "Would last year's hot spots have found this year's?": "accuracy",
    "Near repeats": "near-repeat",
    "Clearance of assault reports": "clearance",
}
_CATEGORY_WORDS = {
    "persons": "Crimes against persons",
    "property": "Crimes against property",
    "society": "Crimes against society",
    "other": "Other incidents",
}
#: Incident categories of the timeline and the point sample (``"all"``: every category), with their labels.
CATEGORIES: dict[str, str] = {
    "all": "All categories",
    **{c: _CATEGORY_WORDS.get(c, c.capitalize()) for c in INCIDENT_CATEGORIES},
}
CRIMES = {"Violent crime": "violent_crimes", "Property crime": "property_crimes"}
PERMUTATIONS = [99, 199, 499, 999]
CELL_SIZES = [3000, 4000, 5000, 6000, 8000]
OUTCOME_LABELS = {
    "arrest": "Cleared by arrest",
    "exceptional": "Exceptionally cleared",
    "open": "Still open",
    "cleared": "Cleared (by arrest or exceptionally)",
}
QUADRANT_LABELS = {
    "High-High": "High, neighbours high (hot spot)",
    "Low-High": "Low, neighbours high",
    "Low-Low": "Low, neighbours low (cold spot)",
    "High-Low": "High, neighbours low",
}
METHOD_LABELS = {
    "LISA High-High": "LISA High-High cells",
    "Gi* hot spot": "Gi* hot spots",
    "top-k": "Top 5 % of cells by count",
}
METHOD_COLORS = {
    "LISA High-High cells": palettes.OKABE_ITO["vermillion"],
    "Gi* hot spots": palettes.OKABE_ITO["blue"],
    "Top 5 % of cells by count": palettes.OKABE_ITO["bluish green"],
}
#: Knox ratios: cold (fewer pairs than expected) to hot, from the Gi* ramp; 1 (as expected) is white.
RATIO_RANGE = [
    palettes.GI_COLORS["Cold Spot with 99% Confidence"],
    palettes.GI_COLORS["Not Significant"],
    palettes.GI_COLORS["Hot Spot with 99% Confidence"],
]
YEAR = st.column_config.NumberColumn(format="%d")
PCT = st.column_config.NumberColumn(format="percent")
NUM2 = st.column_config.NumberColumn(format="%.2f")
PVAL = st.column_config.NumberColumn(format="%.3g")
COUNT = st.column_config.NumberColumn(format="localized")

PAI_TEXT = (
    "**How to read this.** Each year's hot spots are scored on the *next* year's incidents. "
    "**PAI** (predictive accuracy index) is the share of next year's incidents inside the flagged cells divided "
    "by the share of the county's area they cover: a PAI of 1 is no better than picking cells at random, "
    "a PAI of 5 means the flagged cells hold five times their share of incidents. **PEI** compares the "
    "incidents captured with the most any set of cells of the same size could have captured (1 = the best "
    "cells possible). **RRI** (recapture rate index) compares next year's concentration in the cells with "
    "this year's (near 1: the pattern held). A method that flags no cell has no score that year."
)

PARAMS = (
    Param("tr_view", "view", codes=VIEWS),
    Param("tr_category", "category", options=list(CATEGORIES)),
    Param("tr_perms", "perms", options=PERMUTATIONS),
)

# --------------------------------------------------------------------------- data and cached results


@common.data_cache(show_spinner="Computing the trend of every division ...", max_entries=8)
def _trends(category: str) -> TrendsResult:
    from geo.analysis.trends import division_trends
    from geo.layers import records

    return division_trends(records.incident_timeline(get_settings()), categories=[category])


@common.data_cache(show_spinner="Following every NPA from year to year ...", max_entries=8)
def _persistence(variable: str, permutations: int, seed: int) -> PersistenceResult:
    from geo.analysis.persistence import persistence

    return persistence(common.npa_layer(), variable=variable, permutations=permutations, seed=seed)


@common.data_cache(show_spinner="Scoring each year's hot spots on the next year ...", max_entries=16)
def _accuracy(category: str | None, cell_size: float, permutations: int, seed: int) -> AccuracyResult:
    from geo.analysis.spacetime import accuracy_by_year

    return accuracy_by_year(
        common.incident_points(),
        boundary=common.county(),
        cell_size=cell_size,
        category=category,
        permutations=permutations,
        seed=seed,
    )


@common.data_cache(show_spinner="Counting pairs of incidents close in space and time ...", max_entries=8)
def _near_repeat(category: str | None, permutations: int, seed: int) -> NearRepeatResult:
    from geo.analysis.spacetime import near_repeat

    return near_repeat(common.incident_points(), category=category, permutations=permutations, seed=seed)


@common.data_cache(show_spinner="Loading the clearance reports ...")
def _clearance_frame() -> pd.DataFrame:
    from geo.layers import records

    return records.clearance(get_settings())


@common.data_cache(show_spinner="Computing clearance rates ...", max_entries=32)
def _clearance(outcome: str, year: int | None, overdispersion: bool) -> ClearanceResult:
    from geo.analysis.clearance import clearance

    return clearance(_clearance_frame(), outcome=outcome, year=year, overdispersion=overdispersion)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- downloads

#: The downloads of the views: name (the file's and the data dictionary's table, as ``python -m geo <command>
#: --out``) -> the result's table written. Every column is described by :mod:`geo.output.dictionary`.
EXPORTS: dict[str, Any] = {
    "trends": lambda r: r.tests.drop(columns=["line"]),
    "accuracy": lambda r: r.table,
    "near_repeat": lambda r: r.table,
    "clearance": lambda r: r.rates,
}


def export_table(name: str, result: Any) -> pd.DataFrame:
    """The table the view's CSV download holds (``name``: one of :data:`EXPORTS`)."""
    return pd.DataFrame(EXPORTS[name](result))


def _downloads(name: str, result: Any) -> None:
    """Two buttons: the view's table as CSV and its data dictionary (what each column holds)."""
    from geo.output.dictionary import data_dictionary

    table = export_table(name, result)
    c = st.columns(2)
    c[0].download_button(
        "Download the table (CSV)", table.to_csv(index=False).encode("utf-8"), file_name=f"{name}.csv",
        mime="text/csv", key=f"tr_dl_{name}",
    )  # fmt: skip
    c[1].download_button(
        "Download its data dictionary (CSV)", data_dictionary(table, name).to_csv(index=False).encode("utf-8"),
        file_name=f"{name}.dictionary.csv", mime="text/csv", key=f"tr_dl_{name}_dictionary",
    )  # fmt: skip


# --------------------------------------------------------------------------- page


def page() -> None:
    """The page: a view choice, the shared choices, then the chosen view."""
    app_pages.heading("app_pages/trends.py")
    st.write(
        "Are problems in a part of the city growing or fading, do hot spots last, would last year's hot spots "
        "have pointed to this year's, do incidents follow each other nearby, and how often are reports cleared?"
    )
    settings = get_settings()
    with url_state.bound(PARAMS):
        c = st.columns([3, 2, 1])
        view = c[0].radio("Show", list(VIEWS), key="tr_view", horizontal=True)
        category = c[1].selectbox(
            "Incident category",
            list(CATEGORIES),
            format_func=CATEGORIES.get,
            key="tr_category",
            help="Used by the division trends, the accuracy and the near-repeat views.",
        )
        perms = c[2].select_slider(
            "Permutations",
            PERMUTATIONS,
            key="tr_perms",
            help="For the pseudo p-values of LISA, Gi* and the Knox test; more is steadier but slower.",
            **url_state.default("tr_perms", settings.permutations if settings.permutations in PERMUTATIONS else 999),
        )
    seed = int(settings.seed)
    points = None if category == "all" else str(category)
    sections = {
        "trends": lambda: _trends_section(str(category)),
        "persistence": lambda: _persistence_section(int(perms), seed),
        "accuracy": lambda: _accuracy_section(points, int(perms), seed),
        "near-repeat": lambda: _near_repeat_section(points, int(perms), seed),
        "clearance": _clearance_section,
    }
    st.subheader(view)
    common.section(sections[VIEWS[view]])


# --------------------------------------------------------------------------- division trends


def _trend_chart(series: pd.DataFrame) -> alt.FacetChart:
    d = series.assign(month=pd.to_datetime(series["month"]))
    base = alt.Chart().encode(x=alt.X("month:T", title=None, axis=alt.Axis(format="%Y", labelAngle=0)))
    tips = [
        alt.Tooltip("division:N", title="Division"),
        alt.Tooltip("month:T", title="Month", format="%b %Y"),
        alt.Tooltip("count:Q", title="Incidents", format=","),
        alt.Tooltip("trend:Q", title="Trend (STL)", format=",.1f"),
    ]
    counts = base.mark_line(color=palettes.SERIES_BAR_COLOR, strokeWidth=1).encode(
        y=alt.Y("count:Q", title="Incidents a month"), tooltip=tips
    )
    trend = base.mark_line(color=palettes.SERIES_LINE_COLOR, strokeWidth=2.5).encode(y="trend:Q", tooltip=tips)
    order = [CITYWIDE, *sorted(x for x in d["division"].unique() if x != CITYWIDE)]
    return (
        alt.layer(counts, trend, data=d)
        .properties(width=170, height=110)
        .facet(facet=alt.Facet("division:N", title=None, sort=order), columns=4)
        .resolve_scale(y="independent")
    )


def _trend_summary(tests: pd.DataFrame, what: str) -> str:
    up = tests.loc[tests["direction"] == "increasing", "division"].tolist()
    down = tests.loc[tests["direction"] == "decreasing", "division"].tolist()
    return (
        f"Small multiples, one panel per division and the city: monthly {what.lower()} (thin line) and the STL "
        f"trend (thick line). Rising clearly: {', '.join(up) or 'none'}. Falling clearly: {', '.join(down) or 'none'}."
    )


def trend_table(tests: pd.DataFrame) -> pd.DataFrame:
    """The Mann-Kendall results under human headings (one row per division)."""
    return pd.DataFrame(
        {
            "Division": tests["division"].astype(str),
            "Trend": tests["direction"].map(
                {"increasing": "rising", "decreasing": "falling", "no trend": "no clear trend"}
            ),
            "Average a month": tests["mean_per_month"],
            "Change a month, each year (Sen slope)": tests["slope_per_year"],
            "Change each year, % of the average": tests["slope_pct_per_year"],
            "p (seasonal Mann-Kendall)": tests["p"],
        }
    )


def change_table(change: pd.DataFrame) -> pd.DataFrame:
    """The year-on-year change under human headings, with its 95 % interval."""
    return pd.DataFrame(
        {
            "Division": change["division"].astype(str),
            "Months": change["period"],
            "Incidents": change["count"],
            "Same months a year earlier": change["earlier_count"],
            "Change": change["pct_change"],
            "Change, 95 % low": change["pct_lo"],
            "Change, 95 % high": change["pct_hi"],
            "p": change["p"],
        }
    )


def _trends_section(category: str) -> None:
    res = _trends(ALL_CATEGORIES if category == "all" else category)
    what = CATEGORIES[category]
    st.caption(f"{TIMELINE_NOTE} {TRENDS_CAVEAT}")
    show_chart(_trend_chart(res.series), summary=_trend_summary(res.tests, what), key="tr_trend_chart")
    st.markdown("**Is there a steady trend?** (seasonal Mann-Kendall test, each calendar month against itself)")
    for line in res.tests["line"]:
        st.markdown(f"- {common.text(line)}")
    st.caption(
        f"{len(res.tests)} series tested; a trend counts at p ≤ {res.cutoff:.3g} after the "
        f"{res.correction.upper() if res.correction == 'fdr' else res.correction} correction (α = {res.alpha:g})."
    )
    st.dataframe(
        trend_table(res.tests),
        hide_index=True,
        width="stretch",
        key="tr_trend_table",
        column_config={
            "Average a month": st.column_config.NumberColumn(format="%.1f"),
            "Change a month, each year (Sen slope)": st.column_config.NumberColumn(format="%+.2f"),
            "Change each year, % of the average": PCT,
            "p (seasonal Mann-Kendall)": PVAL,
        },
    )
    st.markdown("**The last twelve months against the same months a year earlier** (95 % exact Poisson interval)")
    st.dataframe(
        change_table(res.change),
        hide_index=True,
        width="stretch",
        key="tr_change_table",
        column_config={
            "Incidents": COUNT,
            "Same months a year earlier": COUNT,
            "Change": PCT,
            "Change, 95 % low": PCT,
            "Change, 95 % high": PCT,
            "p": PVAL,
        },
    )
    with st.expander("The change of each division in words"):
        for line in res.change["line"]:
            st.markdown(f"- {common.text(line)}")
    _downloads("trends", res)
    common.notes(list(res.notes))


# --------------------------------------------------------------------------- persistence


def markov_table(result: PersistenceResult) -> pd.DataFrame:
    """The LISA Markov chain: one row per starting state, the share moving to each state, and the cases."""
    t = result.quadrant_table
    share = t.pivot(index="from", columns="to", values="share")
    order = [q for q in QUADRANT_LABELS if q in share.index]
    share = share.loc[order, order]
    out = pd.DataFrame({"This year": [QUADRANT_LABELS[q] for q in order]})
    for q in order:
        out[f"Next year: {QUADRANT_LABELS[q]}"] = share[q].to_numpy()
    out["Cases"] = t.groupby("from")["count"].sum().reindex(order).to_numpy()
    return out


def _persistence_section(permutations: int, seed: int) -> None:
    with url_state.bound([Param("tr_crime", "crime", codes=CRIMES)]):
        crime = st.selectbox("Crime (yearly NPA counts)", list(CRIMES), key="tr_crime")
    res = _persistence(CRIMES[crime], permutations, seed)
    for line in res.lines:
        st.markdown(f"- {common.text(line)}")
    st.markdown(
        "**From one year to the next.** Each NPA each year is placed by its own count against the city's average "
        "and its neighbours' (the quadrants of the Moran scatterplot); the table shows where NPAs in each "
        "position were the following year."
    )
    t = markov_table(res)
    cfg: dict[str, Any] = {c: PCT for c in t.columns if c.startswith("Next year")}
    st.dataframe(t, hide_index=True, width="stretch", key="tr_markov_table", column_config={**cfg, "Cases": COUNT})
    st.caption(
        f"{crime}, {res.years[0]}–{res.years[-1]} ({len(res.years) - 1} one-year steps, {len(res.values)} NPAs); "
        f"LISA with {permutations:,} permutations, seed {seed}. Each row adds up to 100 %."
    )
    common.notes(list(res.notes))


# --------------------------------------------------------------------------- accuracy


def accuracy_table(result: AccuracyResult) -> pd.DataFrame:
    """PAI, PEI and RRI per year and method under human headings."""
    t = result.table
    return pd.DataFrame(
        {
            "Hot spots of": t["year"].astype(int),
            "Scored on": t["next_year"].astype(int),
            "Method": t["method"].map(METHOD_LABELS),
            "Cells flagged": t["cells"],
            "Share of the area": t["area_share"],
            "Share of next year's incidents": t["hit_rate"],
            "PAI": t["pai"],
            "PEI": t["pei"],
            "RRI": t["rri"],
        }
    )


def _accuracy_chart(t: pd.DataFrame) -> alt.Chart:
    d = t[t["PAI"].notna()]
    return (
        alt.Chart(d)
        .mark_line(point=True)
        .encode(
            x=year_axis("Hot spots of", title="Hot spots of (scored on the next year)"),
            y=alt.Y("PAI:Q", title="PAI (1 = no better than chance)"),
            color=alt.Color("Method:N", scale=color_scale(METHOD_COLORS)),
            tooltip=[
                alt.Tooltip("Hot spots of:O"),
                alt.Tooltip("Method:N"),
                alt.Tooltip("PAI:Q", format=".2f"),
                alt.Tooltip("PEI:Q", format=".2f"),
                alt.Tooltip("RRI:Q", format=".2f"),
            ],
        )
        .properties(height=300)
    )


def _accuracy_summary(t: pd.DataFrame) -> str:
    d = t[t["PAI"].notna()]
    if d.empty:
        return "No method flagged any cell in any year: there is no PAI to chart."
    parts = [
        f"{m}: PAI {g['PAI'].min():.2f} to {g['PAI'].max():.2f} over {len(g)} years" for m, g in d.groupby("Method")
    ]
    return "Line chart of PAI by year and method. " + "; ".join(parts) + "."


def _accuracy_section(category: str | None, permutations: int, seed: int) -> None:
    with url_state.bound([Param("tr_cell", "cell", options=CELL_SIZES)]):
        cell = st.select_slider(
            "Hexagon size (feet between centres)",
            CELL_SIZES,
            key="tr_cell",
            format_func=lambda v: f"{v:,} ft",
            **url_state.default("tr_cell", 5000),
        )
    res = _accuracy(category, float(cell), permutations, seed)
    st.markdown(PAI_TEXT)
    st.caption(SAMPLE_NOTE)
    t = accuracy_table(res)
    show_chart(_accuracy_chart(t), summary=_accuracy_summary(t), key="tr_accuracy_chart")
    st.dataframe(
        t,
        hide_index=True,
        width="stretch",
        key="tr_accuracy_table",
        column_config={
            "Hot spots of": YEAR,
            "Scored on": YEAR,
            "Share of the area": PCT,
            "Share of next year's incidents": PCT,
            "PAI": NUM2,
            "PEI": NUM2,
            "RRI": NUM2,
        },
    )
    with st.expander("Each year and method in words"):
        for line in res.lines:
            st.markdown(f"- {common.text(line)}")
    _downloads("accuracy", res)
    p = res.parameters
    st.caption(
        f"{CATEGORIES[category or 'all']}; hexagons {float(str(p['cell_size_ft'])):,.0f} ft apart; top {p['top_k']} cells; "
        f"LISA and Gi* with {p['permutations']} permutations, seed {p['seed']}, two-sided, "
        f"{str(p['correction']).upper()} correction at α = {p['alpha']}."
    )


# --------------------------------------------------------------------------- near repeat


def knox_table(result: NearRepeatResult) -> pd.DataFrame:
    """The Knox table, one row per distance and time band, under human headings."""
    t = result.table
    return pd.DataFrame(
        {
            "Distance apart": t["distance_band"].astype(str),
            "Time apart": t["time_band"].astype(str),  # "same month", "1 month", ... (KnoxResult.time_labels)
            "Pairs seen": t["observed"],
            "Pairs expected": t["expected"],
            "Seen / expected": t["ratio"],
            "p": t["p"],
        }
    )


def _knox_chart(t: pd.DataFrame) -> alt.LayerChart:
    d = t.assign(label=[f"{r:.2f}\np {p:.2g}" for r, p in zip(t["Seen / expected"], t["p"], strict=True)])
    rows, cols = list(dict.fromkeys(d["Distance apart"])), list(dict.fromkeys(d["Time apart"]))
    lo = float(min(d["Seen / expected"].min(), 0.8))
    hi = float(max(d["Seen / expected"].max(), 1.2))
    base = alt.Chart(d).encode(
        x=alt.X("Time apart:N", sort=cols, title="Time apart", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("Distance apart:N", sort=rows, title="Distance apart"),
    )
    rect = base.mark_rect().encode(
        color=alt.Color(
            "Seen / expected:Q", scale=alt.Scale(domain=[lo, 1.0, hi], range=RATIO_RANGE), title="Seen / expected"
        ),
        tooltip=[
            alt.Tooltip("Distance apart:N"),
            alt.Tooltip("Time apart:N"),
            alt.Tooltip("Pairs seen:Q", format=","),
            alt.Tooltip("Pairs expected:Q", format=",.1f"),
            alt.Tooltip("Seen / expected:Q", format=".2f"),
            alt.Tooltip("p:Q", format=".3g"),
        ],
    )
    text = base.mark_text(fontSize=11, lineBreak="\n", color=palettes.LABEL_COLOR).encode(text="label:N")
    return alt.layer(rect, text).properties(height=alt.Step(44))


def _knox_summary(t: pd.DataFrame, alpha: float) -> str:
    sig = t[(t["p"] <= alpha) & (t["Seen / expected"] > 1)]
    head = "Heat table of the Knox ratios (pairs seen / pairs expected if place and time were unrelated)"
    if sig.empty:
        return f"{head}: no band has clearly more pairs than expected (p ≤ {alpha:g})."
    cells = "; ".join(
        f"{r['Distance apart']} and {r['Time apart']} apart ({r['Seen / expected']:.2f}, p {r['p']:.2g})"
        for _, r in sig.iterrows()
    )
    return f"{head}. More pairs than expected at p ≤ {alpha:g}: {cells}."


def _near_repeat_section(category: str | None, permutations: int, seed: int) -> None:
    res = _near_repeat(category, permutations, seed)
    st.info(NEAR_REPEAT_CAVEAT)
    for line in res.lines:
        if line != NEAR_REPEAT_CAVEAT:
            st.markdown(f"- {common.text(line)}")
    st.markdown(
        "**Near repeats.** Does one incident make another nearby, soon after, more likely? The Knox test counts "
        "pairs of incidents by how far apart they are in space and in time and compares each count with what "
        "shuffling the months would give. A ratio above 1 means more close pairs than chance would explain."
    )
    t = knox_table(res)
    alpha = float(get_settings().alpha)
    show_chart(_knox_chart(t), summary=_knox_summary(t, alpha), key="tr_knox_chart")
    st.dataframe(
        t,
        hide_index=True,
        width="stretch",
        key="tr_knox_table",
        column_config={
            "Pairs seen": COUNT,
            "Pairs expected": st.column_config.NumberColumn(format="%.1f"),
            "Seen / expected": NUM2,
            "p": PVAL,
        },
    )
    st.caption(f"{SAMPLE_NOTE} The p-values are not corrected for the {len(t)} bands tested.")
    _downloads("near_repeat", res)


# --------------------------------------------------------------------------- clearance


def rates_table(rates: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Clearance rates of ``outcome`` by division and year, with the Wilson interval."""
    r = rates[rates["outcome"] == outcome]
    return pd.DataFrame(
        {
            "Division": r["division"].astype(str),
            "Year": r["year"].astype(int),
            "Reports (founded)": r["denominator"],
            OUTCOME_LABELS[outcome]: r["count"],
            "Rate": r["rate"],
            "95 % low": r["lo"],
            "95 % high": r["hi"],
        }
    )


def _rates_chart(t: pd.DataFrame) -> alt.FacetChart:
    d = t[t["Rate"].notna()]
    base = alt.Chart().encode(x=year_axis("Year", title=None))
    tips = [
        alt.Tooltip("Division:N"),
        alt.Tooltip("Year:O"),
        alt.Tooltip("Rate:Q", format=".1%"),
        alt.Tooltip("95 % low:Q", format=".1%"),
        alt.Tooltip("95 % high:Q", format=".1%"),
        alt.Tooltip("Reports (founded):Q", format=","),
    ]
    rule = base.mark_rule(color=palettes.ESTIMATE_COLOR).encode(
        y=alt.Y("95 % low:Q", title="Rate", axis=alt.Axis(format="%")), y2="95 % high:Q"
    )
    dot = base.mark_point(filled=True, color=palettes.ESTIMATE_COLOR).encode(y="Rate:Q", tooltip=tips)
    return (
        alt.layer(rule, dot, data=d)
        .properties(width=170, height=110)
        .facet(facet=alt.Facet("Division:N", title=None), columns=4)
    )


def _funnel_chart(fun: pd.DataFrame, curve: pd.DataFrame) -> alt.LayerChart:
    long = curve.melt(id_vars="x", var_name="limit", value_name="y")
    long["level"] = long["limit"].map(lambda s: "99.8% limits" if "998" in s else "95% limits")
    limits = (
        alt.Chart(long)
        .mark_line(color=palettes.NEUTRAL_COLOR)
        .encode(
            x=alt.X("x:Q", scale=alt.Scale(type="log", nice=False), title="Founded reports in the division"),
            y=alt.Y("y:Q", scale=alt.Scale(zero=False, nice=False), title="Rate", axis=alt.Axis(format="%")),
            detail="limit:N",
            strokeDash=alt.StrokeDash(
                "level:N",
                title="Control limits",
                scale=alt.Scale(domain=["95% limits", "99.8% limits"], range=[[5, 4], [1, 0]]),
            ),
        )
    )
    target = (
        alt.Chart(pd.DataFrame({"y": [float(fun["target"].iloc[0])]}))
        .mark_rule(color=palettes.REFERENCE_LINE_COLOR)
        .encode(y="y:Q")
    )
    within, out95, out998 = palettes.FUNNEL_COLORS
    d = fun.assign(status=within)
    d.loc[d["outside95"], "status"] = out95
    d.loc[d["outside998"], "status"] = out998
    pts = (
        alt.Chart(d)
        .mark_point(filled=True, size=90)
        .encode(
            x="x:Q",
            y="value:Q",
            color=alt.Color("status:N", title="Division", scale=color_scale(palettes.FUNNEL_COLORS)),
            shape=alt.Shape(
                "status:N",
                scale=alt.Scale(domain=list(palettes.FUNNEL_COLORS), range=["circle", "square", "triangle-up"]),
            ),
            tooltip=[
                alt.Tooltip("unit:N", title="Division"),
                alt.Tooltip("value:Q", title="Rate", format=".1%"),
                alt.Tooltip("lo:Q", title="95 % low", format=".1%"),
                alt.Tooltip("hi:Q", title="95 % high", format=".1%"),
                alt.Tooltip("denominator:Q", title="Founded reports", format=","),
                alt.Tooltip("status:N", title="Against the city"),
            ],
        )
    )
    return alt.layer(limits, target, pts).properties(height=380)


def funnel_table(fun: pd.DataFrame) -> pd.DataFrame:
    """The funnel's divisions under human headings: rate with its Wilson interval, the city, the limits."""
    return pd.DataFrame(
        {
            "Division": fun["unit"].astype(str),
            "Founded reports": fun["denominator"],
            "Rate": fun["value"],
            "95 % low": fun["lo"],
            "95 % high": fun["hi"],
            "City": fun["target"],
            "z-score": fun["z"],
            "Outside the 95 % limits": fun["outside95"].astype(bool),
            "Outside the 99.8 % limits": fun["outside998"].astype(bool),
        }
    )


def _clearance_controls() -> tuple[str, int | None, bool]:
    years = sorted(int(y) for y in pd.unique(_clearance_frame()["year"]))
    params = [
        Param("tr_outcome", "outcome", options=list(OUTCOMES)),
        Param("tr_cl_year", "year", options=[0, *years], omit=0),
        Param("tr_over", "over", kind=bool, omit=False),
    ]
    with url_state.bound(params):
        c = st.columns([2, 1, 2])
        outcome = c[0].selectbox("Outcome", list(OUTCOMES), format_func=OUTCOME_LABELS.get, key="tr_outcome")
        year = c[1].selectbox(
            "Funnel year", [0, *years], format_func=lambda y: "All years" if y == 0 else str(y), key="tr_cl_year"
        )
        over = c[2].checkbox("Widen the funnel's limits for the ordinary spread between divisions", key="tr_over")
    return str(outcome), (int(year) or None), bool(over)


def _clearance_section() -> None:
    from geo.analysis.funnel import funnel_curve

    outcome, year, over = _clearance_controls()
    res = _clearance(outcome, year, over)
    st.caption(CLEARANCE_CAVEAT)
    for line in res.lines[:2]:
        st.markdown(f"- {common.text(line)}")
    label = OUTCOME_LABELS[outcome]
    t = rates_table(res.rates, outcome)
    pct = {c: PCT for c in ("Rate", "95 % low", "95 % high")}
    show_chart(
        _rates_chart(t),
        summary=f"Small multiples, one panel per division: the share {label.lower()} each year, a dot with its 95 % "
        f"Wilson interval as a line. {res.lines[0]}",
        key="tr_rates_chart",
    )
    with st.expander("Rates by division and year"):
        st.dataframe(
            t, hide_index=True, width="stretch", key="tr_rates_table",
            column_config={**pct, "Year": YEAR, "Reports (founded)": COUNT, label: COUNT},
        )  # fmt: skip
        _downloads("clearance", res)
    fun = res.funnel
    st.markdown(f"**Each division against the city** ({'all years' if year is None else year})")
    try:
        curve = funnel_curve(fun)
    except EmptyInputError:
        st.info("No division has reports to place on a funnel plot.")
        return
    out = fun[fun["outside95"].astype(bool)]
    show_chart(
        _funnel_chart(fun, curve),
        summary=f"Funnel plot of {len(fun)} divisions against the citywide rate of {float(fun['target'].iloc[0]):.1%}: "
        f"{len(out)} outside the 95 % limits, {int(fun['outside998'].sum())} outside the 99.8 % limits.",
        key="tr_funnel_chart",
    )
    for line in res.lines[2:]:
        st.markdown(f"- {common.text(line)}")
    st.dataframe(
        funnel_table(fun), hide_index=True, width="stretch", key="tr_funnel_table",
        column_config={**pct, "City": PCT, "Founded reports": COUNT, "z-score": NUM2},
    )  # fmt: skip
    common.notes(list(res.notes))


if __name__ == "__main__":
    common.guarded(page)()
