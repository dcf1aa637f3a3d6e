"""Use of force: officer-involved shootings (map, counts by area and year, people) and the state's citywide tables.

Numbers come from :mod:`geo.analysis.use_of_force`; this page only wires widgets to it and draws.
The map carries the offline reference layers (roads, ZIP codes, divisions, landmarks); every chart
has a text alternative (:func:`app_pages.charts.show_chart`: a sentence computed from its numbers,
and the numbers in an expander); every table has human headings.
"""

from __future__ import annotations

import textwrap
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import app_pages
from app_pages import common
from app_pages.charts import color_scale, group_scale, interval_chart, interval_summary, show_chart, year_axis
from geo import caveats, vocab
from geo.analysis import use_of_force
from geo.caveats import REFERENCE_LAYERS_2013, SMALL_SEARCH_CELL_NOTE
from geo.ingest import odp
from geo.ingest.points import load_ois_tables
from geo.maps import draw
from geo.maps.palettes import (
    CELL_BORDER_COLOR,
    COUNT_RAMP,
    DA_REVIEW_COLORS,
    INJURY_COLORS,
    OFFICER_GENDER_RANGE,
    SOURCE_COLORS,
)
from geo.settings import get_settings

TABS = [
    "Shootings map",
    "Shootings by area and year",
    "People involved",
    "State tables (citywide)",
    "Two sources, two counts",
]
LEVELS = {"Divisions": "division", "Neighborhoods (NPA)": "npa"}
MEASURES: dict[str, tuple[str, str]] = {
    "Stops": ("stops", ",.0f"),
    "Searches": ("searches", ",.0f"),
    "Search rate": ("search_rate", ".1%"),
    "Contraband hit rate (share of searches finding contraband)": ("hit_rate", ".1%"),
    "Use of force (stops with force used)": ("use_of_force", ",.0f"),
    "Use of force per 10,000 stops": ("uof_per_10k_stops", ",.1f"),
}
INTERVALS = {"search_rate": ("search_lo", "search_hi"), "hit_rate": ("hit_lo", "hit_hi")}
#: Headings of the yearly state table (:func:`geo.analysis.use_of_force.odp_yearly`), in its column order.
YEARLY_LABELS = {
    "year": "Year",
    "race": "Drivers",
    "stops": "Stops",
    "searches": "Searches",
    "hits": "Searches finding contraband",
    "use_of_force": "Stops with force used",
    "search_rate": "Search rate",
    "search_lo": "Search rate 95% low",
    "search_hi": "Search rate 95% high",
    "hit_rate": "Hit rate",
    "hit_lo": "Hit rate 95% low",
    "hit_hi": "Hit rate 95% high",
    "uof_per_10k_stops": "Use of force per 10,000 stops",
    "small_cell": "Few searches (small cell)",
    "partial_year": "Partial year",
}


# --------------------------------------------------------------------------- cached data


@common.data_cache(show_spinner="Counting shootings per area ...")
def _summary(level: str) -> use_of_force.OisSummary:
    if level == "division":
        polygons, population = common.division_base(), common.division_population()
    else:
        polygons = common.npa_layer()
        population = polygons.set_index("npa")[["pop_2020"]]
    return use_of_force.ois_summary(
        common.ois(), polygons[[level, polygons.geometry.name]], id_column=level, population=population
    )


@common.data_cache(show_spinner=False)
def _people() -> dict[str, pd.DataFrame]:
    tables, _ = load_ois_tables(settings=get_settings())
    return use_of_force.ois_people(tables)


@common.data_cache(show_spinner="Reading the state workbook ...")
def _workbook() -> odp.OdpWorkbook:
    return odp.load_odp_workbook(settings=get_settings())[0]


@common.data_cache(show_spinner=False)
def _yearly() -> pd.DataFrame:
    return use_of_force.odp_yearly(_workbook())


@common.data_cache(show_spinner=False)
def _hit_rates(reference: str, years: tuple[int, int]) -> pd.DataFrame:
    return use_of_force.hit_rates(_workbook(), reference=reference, years=years)


@common.data_cache(show_spinner=False)
def _reconcile() -> pd.DataFrame:
    return use_of_force.reconcile_counts(common.stops(), _workbook())


# --------------------------------------------------------------------------- helpers


def _table(df: pd.DataFrame, *, key: str, config: dict[str, Any] | None = None, height: int | str = "auto") -> None:
    st.dataframe(df, hide_index=True, width="stretch", column_config=config or {}, key=key, height=height)


def _largest(counts: pd.Series) -> tuple[str, int]:
    """The label with the largest count (first in order on ties) and the count."""
    i = int(np.argmax(counts.to_numpy(dtype=float)))
    return str(counts.index[i]), int(counts.iloc[i])


# --------------------------------------------------------------------------- sections


def _map_section() -> None:
    ois = common.ois().reset_index(drop=True)
    frame = ois.assign(
        summary=ois["narrative"].map(lambda s: textwrap.shorten(str(s), 110, placeholder=" ...")),
        npa_label=ois["npa"].map(lambda v: "outside every NPA" if pd.isna(v) else f"NPA {int(v)}"),
        division_label=ois["division"].fillna("outside every division"),
    )
    left, right = st.columns([3, 2])
    with left:
        m = draw.categorical_map(
            frame,
            "da_legal_review",
            colors=DA_REVIEW_COLORS,
            unknown="missing",
            missing_label="Other review status",
            name_field="month",
            name_alias="Month",
            tooltip_fields=["location", "da_legal_review", "division_label", "npa_label", "summary"],
            tooltip_aliases=["Location", "DA review", "Division", "Neighborhood", "What happened (click for more)"],
            legend_title=f"Officer-involved shootings {int(frame['year'].min())}-{int(frame['year'].max())}: DA review",
            popup=True,
            reference=common.reference_layers(),
        )
        out = common.show_map(m, key="uf_map", height=540, returned_objects=["last_active_drawing"])
        st.caption(
            "Roads, ZIP codes, police divisions and landmarks can be switched on and off in the layer control. "
            + REFERENCE_LAYERS_2013
        )
    clicked = (out.get("last_active_drawing") or {}).get("id")
    if clicked is not None and clicked != st.session_state.get("uf_map_seen"):
        st.session_state["uf_map_seen"] = clicked
        if str(clicked).isdigit() and int(clicked) in frame.index:
            st.session_state["uf_shooting"] = int(clicked)
    with right:
        labels = (frame["month"].astype(str) + " · " + frame["location"].astype(str)).to_dict()
        i = st.selectbox(
            "Shooting (click a point, or choose here)",
            list(frame.index),
            format_func=lambda k: labels.get(k, str(k)),
            key="uf_shooting",
        )
        row = frame.loc[i]
        st.markdown(f"**{common.text(row['month'])} · {common.text(row['location'])}**")
        st.markdown(
            f"DA review: **{common.text(row['da_legal_review'] or 'not recorded')}**  \n"
            f"Division: {common.text(row['division_label'])} · {common.text(row['npa_label'])}  \n"
            f"People shot at: {int(row.get('individuals', 0)):,} · officers who fired: {int(row.get('officers', 0)):,}"
        )
        st.markdown(common.text(row["narrative"]))
    st.caption(caveats.ois_caveat(len(frame), int(frame["year"].min()), int(frame["year"].max())))
    view = frame[
        ["month", "location", "da_legal_review", "division_label", "npa_label", "individuals", "officers", "narrative"]
    ]
    view = view.rename(
        columns={
            "month": "Month",
            "location": "Location",
            "da_legal_review": "DA review",
            "division_label": "Division",
            "npa_label": "Neighborhood",
            "individuals": "People",
            "officers": "Officers",
            "narrative": "Narrative",
        }
    )
    _table(view, key="uf_points_table", height=300)


def _areas_section() -> None:
    level_label = st.radio("Count by", list(LEVELS), key="uf_level", horizontal=True)
    level = LEVELS[level_label]
    s = _summary(level)
    noun = "Division" if level == "division" else "NPA"
    tot = s.totals
    if level == "npa":
        tot = tot[tot["incidents"] > 0]
        st.caption(
            f"{len(tot)} of {len(s.totals)} NPAs had at least one shooting; NPAs with none are left out of this table."
        )
    view = pd.DataFrame(
        {
            noun: tot["unit"].astype(str),
            "Shootings": tot["incidents"],
            "People": tot["individuals"],
            "Officers": tot["officers"],
            "Residents (2020)": tot["residents"].round(0),
            "Per 100,000 residents": tot["per_100k"],
            "95% low": tot["lo"],
            "95% high": tot["hi"],
            "Per 100,000 per year": tot["per_100k_per_year"],
        }
    ).sort_values("Shootings", ascending=False, kind="stable")
    num = st.column_config.NumberColumn(format="%.1f")
    _table(
        view,
        key="uf_area_table",
        config={
            "Per 100,000 residents": num,
            "95% low": num,
            "95% high": num,
            "Per 100,000 per year": st.column_config.NumberColumn(format="%.2f"),
            "Residents (2020)": st.column_config.NumberColumn(format="localized"),
        },
        height=min(40 + 35 * len(view), 530),
    )
    by = s.by_year
    if level == "npa":
        by = by[by["unit"].isin(set(tot["unit"]))]
    order = list(view[noun]) if level == "division" else [u for u in view[noun] if u in set(by["unit"].astype(str))]
    d = by.assign(unit=by["unit"].astype(str))
    st.markdown(f"**Shootings by {noun.lower()} and year**")
    _area_heat(d, order=order, noun=noun, plural="divisions" if level == "division" else "NPAs")
    st.caption(
        caveats.ois_caveat(
            int(s.totals["incidents"].sum()), int(s.totals["first_year"].iloc[0]), int(s.totals["last_year"].iloc[0])
        )
    )
    common.notes(s.notes + [f"{i.count} shooting(s): {i.reason}" for i in s.report.issues], label="Notes on the data")


def _area_heat(d: pd.DataFrame, *, order: list[str], noun: str, plural: str) -> None:
    """Shootings per area (rows, in ``order``) and year (columns), with its text alternative."""
    heat = (
        alt.Chart(d)
        .mark_rect(stroke=CELL_BORDER_COLOR, strokeWidth=0.5)
        .encode(
            x=alt.X("year:O", title="Year"),
            y=alt.Y("unit:N", sort=order, title=None, axis=alt.Axis(labelLimit=220)),
            color=alt.Color(
                "incidents:Q",
                title="Shootings",
                scale=alt.Scale(range=COUNT_RAMP, domainMin=0, interpolate="rgb"),
            ),
            tooltip=[
                alt.Tooltip("unit:N", title=noun),
                alt.Tooltip("year:O", title="Year"),
                alt.Tooltip("incidents:Q", title="Shootings"),
                alt.Tooltip("per_100k:Q", title="Per 100,000 residents", format=".2f"),
            ],
        )
        .properties(height=alt.Step(22))
    )
    per_unit = d.groupby("unit", sort=False)["incidents"].sum()
    per_year = d.groupby("year")["incidents"].sum()
    unit, n_unit = _largest(per_unit)
    year, n_year = _largest(per_year)
    show_chart(
        heat,
        summary=(
            f"Shootings by {noun.lower()} and year, {int(per_year.index.min())}-{int(per_year.index.max())}: "
            f"{int(per_unit.sum())} shootings in {len(per_unit)} {plural}; "
            f"most in {unit} ({n_unit}) and in {year} ({n_year})."
        ),
        data=pd.DataFrame(
            {
                noun: d["unit"],
                "Year": d["year"].astype(str),
                "Shootings": d["incidents"],
                "Per 100,000 residents": d["per_100k"],
            }
        ),
    )


def _people_section() -> None:
    p = _people()
    c = st.columns(2)
    with c[0]:
        st.markdown("**People shot at, by race and injury**")
        d = p["individuals"]
        race, n_race = _largest(d.groupby("race", sort=False)["count"].sum())
        injury, n_injury = _largest(d.groupby("injury", sort=False)["count"].sum())
        show_chart(
            alt.Chart(d)
            .mark_bar()
            .encode(
                y=alt.Y("race:N", title=None, sort="-x", axis=alt.Axis(labelLimit=200)),
                x=alt.X("sum(count):Q", title="People"),
                color=alt.Color(
                    "injury:N",
                    title="Injury",
                    scale=color_scale(INJURY_COLORS),
                ),
                tooltip=[
                    alt.Tooltip("race:N", title="Race"),
                    alt.Tooltip("injury:N", title="Injury"),
                    alt.Tooltip("count:Q", title="People"),
                ],
            )
            .properties(height=alt.Step(24)),
            summary=(
                f"{int(d['count'].sum())} people shot at by officers: most were {race} ({n_race}); the most common "
                f"injury was {injury} ({n_injury})."
            ),
            data=d.rename(columns={"race": "Race", "injury": "Injury", "count": "People"}),
            data_label="The numbers behind this chart (people by race and injury)",
            container=c[0],
        )
    with c[1]:
        st.markdown("**Officers who fired, by race and gender**")
        d = p["officers"]
        race, n_race = _largest(d.groupby("race", sort=False)["count"].sum())
        gender, n_gender = _largest(d.groupby("gender", sort=False)["count"].sum())
        show_chart(
            alt.Chart(d)
            .mark_bar()
            .encode(
                y=alt.Y("race:N", title=None, sort="-x", axis=alt.Axis(labelLimit=200)),
                x=alt.X("sum(count):Q", title="Officers"),
                color=alt.Color("gender:N", title="Gender", scale=alt.Scale(range=OFFICER_GENDER_RANGE)),
                tooltip=[
                    alt.Tooltip("race:N", title="Race"),
                    alt.Tooltip("gender:N", title="Gender"),
                    alt.Tooltip("count:Q", title="Officers"),
                ],
            )
            .properties(height=alt.Step(24)),
            summary=(f"{int(d['count'].sum())} officers fired: most were {race} ({n_race}) and {gender} ({n_gender})."),
            data=d.rename(columns={"race": "Race", "gender": "Gender", "count": "Officers"}),
            data_label="The numbers behind this chart (officers by race and gender)",
            container=c[1],
        )
    st.caption(caveats.OIS_PEOPLE_NOTE)


def _yearly_chart(y: pd.DataFrame, races: list[str]) -> None:
    """One yearly measure of the state tables, a line per driver race (with its 95 % band for rates)."""
    c = st.columns([2, 3, 1.4])
    label = c[0].selectbox("Measure", list(MEASURES), key="uf_measure")
    chosen = c[1].multiselect("Drivers", [*races, "All"], default=["Black", "White", "Latinx", "All"], key="uf_races")
    partial = c[2].checkbox(
        "Include partial years",
        key="uf_partial",
        help=f"Years with few stops: {', '.join(map(str, sorted(set(y.loc[y['partial_year'], 'year'])))) or 'none'}",
    )
    col, fmt = MEASURES[label]
    d = y[y["race"].isin(chosen or [*races, "All"])]
    if not partial:
        d = d[~d["partial_year"]]
    domain = [r for r in [*races, "All"] if r in set(d["race"])]
    tips = [
        alt.Tooltip("year:O", title="Year"),
        alt.Tooltip("race:N", title="Drivers"),
        alt.Tooltip(f"{col}:Q", title=label, format=fmt),
    ]
    if col in INTERVALS:
        lo, hi = INTERVALS[col]
        tips += [
            alt.Tooltip(f"{lo}:Q", title="95% low", format=fmt),
            alt.Tooltip(f"{hi}:Q", title="95% high", format=fmt),
        ]
    tips += [alt.Tooltip("stops:Q", title="Stops", format=","), alt.Tooltip("searches:Q", title="Searches", format=",")]
    base = alt.Chart(d).encode(
        x=year_axis(),
        color=alt.Color("race:N", title="Drivers", scale=group_scale(domain)),
    )
    parts = [
        base.mark_line(point=True).encode(y=alt.Y(f"{col}:Q", title=label, axis=alt.Axis(format=fmt)), tooltip=tips)
    ]
    if col in INTERVALS:
        lo, hi = INTERVALS[col]
        parts.insert(0, base.mark_area(opacity=0.15).encode(y=f"{lo}:Q", y2=f"{hi}:Q"))
    shown = {"year": "Year", "race": "Drivers", col: label}
    if col in INTERVALS:
        lo, hi = INTERVALS[col]
        shown.update({lo: "95% low", hi: "95% high"})
    show_chart(
        alt.layer(*parts).properties(height=360),
        summary=_yearly_summary(d, col=col, fmt=fmt, label=label, order=domain),
        data=d[list(shown)].rename(columns=shown).assign(Year=d["year"].astype(str)),
    )
    if col == "hit_rate":
        st.warning(caveats.HIT_RATE_CAVEAT)
    if col.startswith("u"):
        st.info(caveats.UOF_CAVEAT)


def _yearly_summary(d: pd.DataFrame, *, col: str, fmt: str, label: str, order: list[str]) -> str:
    """The yearly chart in one sentence: each line's first and last year."""
    if d.empty:
        return f"{label} by year: no year to chart."
    parts = []
    for race in order:
        r = d[d["race"] == race].sort_values("year")
        first, last = r.iloc[0], r.iloc[-1]
        parts.append(
            f"{race} drivers {first[col]:{fmt}} in {int(first['year'])}, {last[col]:{fmt}} in {int(last['year'])}"
        )
    return f"{label} by year, {int(d['year'].min())}-{int(d['year'].max())}: " + "; ".join(parts) + "."


def _hit_rate_charts(pooled: pd.DataFrame, *, span: str, reference: str) -> None:
    """Pooled hit rates (left) and their ratios to the reference race (right), side by side."""
    left, right = st.columns(2)
    counts = {"group": "Drivers", "count": "Searches finding contraband", "denominator": "Searches"}
    with left:
        st.markdown(f"**Hit rate, {span}**")
        show_chart(
            interval_chart(
                pooled,
                y="group",
                y_title="Drivers",
                value="rate",
                lo="lo",
                hi="hi",
                x_title="Hit rate",
                fmt=".1%",
                count_title="Searches finding contraband",
                denominator_title="Searches",
            ),
            summary=interval_summary(
                pooled, label="group", value="rate", lo="lo", hi="hi", fmt=".1%", what=f"Contraband hit rates, {span}"
            ),
            data=pooled[[*counts, "rate", "lo", "hi"]].rename(
                columns={**counts, "rate": "Hit rate", "lo": "95% low", "hi": "95% high"}
            ),
            container=left,
        )
    ratios = pooled[~pooled["is_reference"] & (pooled["ratio"] > 0)]  # a log axis cannot show a ratio of 0
    with right:
        st.markdown(f"**Ratio to {common.text(reference)} drivers' hit rate**")
        show_chart(
            interval_chart(
                ratios,
                y="group",
                y_title="Drivers",
                value="ratio",
                lo="ratio_lo",
                hi="ratio_hi",
                x_title=f"Hit-rate ratio vs {reference}",
                fmt=".2f",
                rule_at=1.0,
                log=True,
                count_title="Searches finding contraband",
                denominator_title="Searches",
            ),
            summary=interval_summary(
                ratios,
                label="group",
                value="ratio",
                lo="ratio_lo",
                hi="ratio_hi",
                fmt=".2f",
                what=f"Hit-rate ratios against {reference} drivers (1 is parity), {span}",
            ),  # fmt: skip
            data=ratios[[*counts, "ratio", "ratio_lo", "ratio_hi"]].rename(
                columns={**counts, "ratio": f"Ratio vs {reference}", "ratio_lo": "95% low", "ratio_hi": "95% high"}
            ),
            container=right,
        )


def _hit_rate_table(h: pd.DataFrame, *, reference: str) -> None:
    """Every hit rate (each year and the pooled years), newest first, with intervals and ratios."""
    pct = st.column_config.NumberColumn(format="percent")
    two = st.column_config.NumberColumn(format="%.2f")
    ratio = f"Ratio vs {reference}"
    view = pd.DataFrame(
        {
            "Years": h["unit"],
            "Drivers": h["group"],
            "Searches finding contraband": h["count"],
            "Searches": h["denominator"],
            "Hit rate": h["rate"],
            "95% low": h["lo"],
            "95% high": h["hi"],
            "Smoothed (EB)": h["eb_rate"],
            "Cell": h["small_cell"].map({True: SMALL_SEARCH_CELL_NOTE, False: ""}),
            ratio: h["ratio"],
            "Ratio 95% low": h["ratio_lo"],
            "Ratio 95% high": h["ratio_hi"],
        }
    ).iloc[::-1]
    st.caption("Ratio intervals: 95 %, Koopman score method (valid for small counts).")
    _table(
        view,
        key="uf_hit_table",
        config={
            "Hit rate": pct,
            "95% low": pct,
            "95% high": pct,
            "Smoothed (EB)": pct,
            ratio: two,
            "Ratio 95% low": two,
            "Ratio 95% high": two,
            "Searches": st.column_config.NumberColumn(format="localized"),
            "Searches finding contraband": st.column_config.NumberColumn(format="localized"),
            "Cell": st.column_config.TextColumn(width="medium"),
        },
        height=320,
    )


def _hit_rates_part(y: pd.DataFrame) -> None:
    """The outcome test: choose the pooled years and the reference race; charts and table of the hit rates."""
    st.subheader("Outcome test: contraband hit rates by driver race")
    st.warning(caveats.HIT_RATE_CAVEAT)
    full = sorted(int(v) for v in y.loc[~y["partial_year"], "year"].unique())
    c = st.columns([3, 1])
    years = c[0].select_slider("Years pooled", options=full, value=(full[0], full[-1]), key="uf_hit_years")
    ref = c[1].selectbox(
        "Reference", list(vocab.ODP_RACES), index=list(vocab.ODP_RACES).index("White"), key="uf_hit_ref"
    )
    h = _hit_rates(ref, (int(years[0]), int(years[1])))
    span = f"{int(years[0])}-{int(years[1])} pooled"
    _hit_rate_charts(h[h["unit"] == span], span=span, reference=ref)
    _hit_rate_table(h, reference=ref)


def _use_of_force_part(y: pd.DataFrame, races: list[str]) -> None:
    """Stops with force used, by year and driver race, then every yearly figure."""
    st.subheader("Use of force by year and driver race")
    st.info(caveats.UOF_CAVEAT)
    u = y.pivot(index="year", columns="race", values="use_of_force").reindex(columns=[*races, "All"])
    u.index = u.index.astype(str)
    u = u.reset_index().rename(columns={"year": "Year"})
    _table(u, key="uf_uof_table", height=320)
    with st.expander("Every yearly figure (stops, searches, hit rates, use of force)"):
        _table(y[[c for c in YEARLY_LABELS if c in y.columns]], key="uf_yearly_table", config=_yearly_columns())


def _yearly_columns() -> dict[str, Any]:
    """Headings and formats of the yearly state table: every column labelled, years as plain years (2011)."""
    formats = {
        "year": "%d",
        **dict.fromkeys(("stops", "searches", "hits", "use_of_force"), "localized"),
        **dict.fromkeys(("search_rate", "search_lo", "search_hi", "hit_rate", "hit_lo", "hit_hi"), "percent"),
        "uof_per_10k_stops": "%.1f",
    }
    cfg: dict[str, Any] = {}
    for col, label in YEARLY_LABELS.items():
        if col in formats:
            cfg[col] = st.column_config.NumberColumn(label, format=formats[col])
        elif col in ("small_cell", "partial_year"):
            cfg[col] = st.column_config.CheckboxColumn(label)
        else:
            cfg[col] = st.column_config.TextColumn(label)
    return cfg


def _state_section() -> None:
    st.caption(caveats.STATE_TABLES_NOTE)
    y = _yearly()
    races = [r for r in dict.fromkeys(y["race"]) if r != "All"]
    _yearly_chart(y, races)
    _hit_rates_part(y)
    _use_of_force_part(y, races)


def _reconcile_section() -> None:
    r = _reconcile()
    st.markdown(caveats.RECONCILIATION_NOTE)
    view = pd.DataFrame(
        {
            "Year": r["year"].astype(str),
            "Drivers": r["group"],
            "CMPD stops table": r["cmpd_stops"],
            "State (Open Data Policing NC)": r["state_stops"],
            "Difference (CMPD - state)": r["difference"],
            "CMPD / state": r["ratio"],
        }
    )
    loc = st.column_config.NumberColumn(format="localized")
    _table(
        view,
        key="uf_reconcile_table",
        config={
            "CMPD / state": st.column_config.NumberColumn(format="%.3f"),
            "CMPD stops table": loc,
            "State (Open Data Policing NC)": loc,
            "Difference (CMPD - state)": loc,
        },
        height=min(40 + 35 * len(view), 530),
    )
    d = r[r["group"] == "All"].melt(
        id_vars="year", value_vars=["cmpd_stops", "state_stops"], var_name="source", value_name="stops"
    )
    d["source"] = d["source"].map({"cmpd_stops": "CMPD stops table", "state_stops": "State (Open Data Policing NC)"})
    show_chart(
        alt.Chart(d)
        .mark_bar()
        .encode(
            x=year_axis(),
            xOffset=alt.XOffset("source:N", sort=list(SOURCE_COLORS)),
            y=alt.Y("stops:Q", title="Stops", axis=alt.Axis(format=",")),
            color=alt.Color(
                "source:N",
                title="Source",
                scale=alt.Scale(domain=list(SOURCE_COLORS), range=list(SOURCE_COLORS.values())),
                legend=alt.Legend(labelLimit=300, orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("year:O", title="Year"),
                alt.Tooltip("source:N", title="Source"),
                alt.Tooltip("stops:Q", title="Stops", format=","),
            ],
        )
        .properties(height=260),
        summary=_reconcile_summary(r[r["group"] == "All"]),
        data=d.assign(year=d["year"].astype(str)).rename(
            columns={"year": "Year", "source": "Source", "stops": "Stops"}
        ),
    )
    st.caption(caveats.STATE_COUNTS_UNFILTERED)


def _reconcile_summary(all_drivers: pd.DataFrame) -> str:
    """The two sources' yearly stop counts in one sentence: the years, and the last year's two counts."""
    if all_drivers.empty:
        return "Stops per year in the two sources: no year in both."
    a = all_drivers.sort_values("year")
    last = a.iloc[-1]
    return (
        f"Stops of all drivers per year in the two sources, {int(a['year'].iloc[0])}-{int(last['year'])}: in "
        f"{int(last['year'])} the CMPD stops table has {int(last['cmpd_stops']):,} and the state's tables "
        f"{int(last['state_stops']):,} ({int(last['difference']):+,})."
    )


def page() -> None:
    """Draw the use-of-force page: one tab per view of the shootings and the state tables (only the open one runs)."""
    app_pages.heading("app_pages/use_of_force.py")
    st.write(
        "Officer-involved shootings recorded by CMPD (2005-2018) on a map and counted per division and neighborhood, "
        "per 100,000 residents and by year; and the state's citywide yearly tables of stops, searches, contraband "
        "hit rates and use of force by driver race."
    )
    tabs = st.tabs(TABS, key="uf_tab", on_change="rerun")
    sections = [_map_section, _areas_section, _people_section, _state_section, _reconcile_section]
    for tab, section in zip(tabs, sections, strict=True):
        with tab:
            if tab.open is not False:  # lazy: only the open tab runs
                common.section(section)


if __name__ == "__main__":
    common.guarded(page)()
