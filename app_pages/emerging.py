"""Emerging hot spots: how hot and cold spots of crime changed over time, by neighborhood or by small area.

Two choices: the NPAs' yearly crime counts 2011-2022 (:func:`geo.analysis.hotspots.run_hotspots`,
method ``ehsa``), or the incident points counted in hexagons x months, quarters or years
(:func:`geo.analysis.spacetime.emerging_cube` on :func:`geo.layers.records.cube_points`: the whole
incident layer when fetched, else the 1-in-61 sample). Every number comes from ``geo``.
"""

from __future__ import annotations

import altair as alt
import geopandas as gpd
import pandas as pd
import streamlit as st

import app_pages
from app_pages import common, trends, url_state
from app_pages.charts import show_chart, year_axis
from app_pages.methods import words_used_here
from app_pages.url_state import Param
from geo.analysis import hotspots, spacetime
from geo.analysis.hotspot_advice import choice_advice
from geo.caveats import CRIME_FISCAL_YEARS, REFERENCE_LAYERS_2013
from geo.errors import GeoDataError
from geo.layers import records
from geo.maps import draw, palettes
from geo.output import glossary, narrative
from geo.settings import get_settings
from geo.stats.warning_codes import UNDEFINED_UNITS

CRIMES = {"Violent crime": "violent_crimes", "Property crime": "property_crimes"}
RATE, EB_RATE, COUNT = "Rate per 1,000 residents", "Rate per 1,000 residents, smoothed (empirical Bayes)", "Count"
MEASURES = {RATE: (True, "none"), EB_RATE: (True, "eb"), COUNT: (False, "none")}
WEIGHTS = {"Queen contiguity": "queen", "Rook contiguity": "rook", "6 nearest neighbours": "knn"}
PERMUTATIONS = [99, 199, 499, 999, 4999, 9999]
#: Corrections for testing every NPA in a year at once; FDR per year is ArcGIS Pro's default.
CORRECTIONS = {"False discovery rate (FDR), per year": "fdr", "None": "none", "Bonferroni, per year": "bonferroni"}
STATUS_COLORS = palettes.EMERGING_STATUS_COLORS
ALPHAS = [0.1, 0.05, 0.01]
LAGS = [1, 2, 3]
#: What is analysed: the NPAs' yearly crime counts, or the incident points counted in hexagons x time steps.
SOURCES = {"NPA yearly series": "npa", "Incident points (space-time cube)": "cube"}
#: The cube's time step ("auto": the rule of geo.stats.cube picks it from the data).
STEPS = {"Chosen from the data": "auto", "Month": "month", "Quarter": "quarter", "Year": "year"}
#: The page's choices in the URL (the selected NPA is added where it is chosen).
PARAMS = (
    Param("eh_crime", "crime", codes=CRIMES),  # the same codes as the Hot spots page
    Param("eh_measure", "measure", codes={RATE: "rate", EB_RATE: "eb", COUNT: "count"}),
    Param("eh_weights", "weights", codes=WEIGHTS),
    Param("eh_lag", "lag", options=LAGS),
    Param("eh_perms", "perms", options=PERMUTATIONS),
    Param("eh_alpha", "alpha", options=ALPHAS),
    Param("eh_correction", "correction", codes=CORRECTIONS),
    Param("eh_source", "source", codes=SOURCES),
    Param("eh_step", "step", codes=STEPS),
    Param("eh_category", "category", options=list(trends.CATEGORIES)),
    Param("eh_cell", "cell", options=trends.CELL_SIZES),
)

#: The page's opening words: what each choice of *Data* analyses, in plain words.
INTRO = (
    "Where are hot and cold spots of crime appearing, lasting or fading? Choose what to look at under **Data**. "
    "**NPA yearly series**: each neighborhood's crime count for every year from 2011 to 2022; each "
    "neighborhood's pattern over the years is named on the map, and you can click one to see why. "
    "**Incident points (space-time cube)**: the places of single incident reports from 2017 on, counted in "
    "small hexagons for each month, quarter or year; each hexagon's pattern over time is named on the map, "
    "showing problem spots smaller than a neighborhood."
)

EXPLANATION = """
Each neighborhood (NPA) gets a Getis-Ord **Gi\\*** z-score for every year: is it, together with its neighbours
*in that year and the year before*, unusually high (a hot spot) or low (a cold spot) compared with all NPAs in
all years? The yearly results are then read as a story: a **Mann-Kendall test** asks whether the z-scores trend
up or down, and the rules of ArcGIS's *Emerging Hot Spot Analysis* name the pattern — *new*, *consecutive*,
*intensifying*, *persistent*, *diminishing*, *sporadic*, *oscillating* or *historical* hot (or cold) spots.
Click an NPA to see its yearly values, its z-scores and the rule that gave its category.

**Undefined** NPAs miss a value in at least one year (the Quality of Life data leave some NPAs blank in some
years, and a rate needs a population). The analysis needs a complete series, so they are left out — not shown
as cold or "no pattern". The years are 2011, 2013 and 2015–2022 (no data for 2012 and 2014), so the first two
steps are two years apart.

With **Incident points (space-time cube)** the same analysis runs on small hexagons instead of NPAs: the incident
points are counted in each hexagon for every month, quarter or year (ArcGIS's *space-time cube*), and each
hexagon's Gi\\* includes its six neighbours in that step and the steps before. The points are the whole CMPD
incident layer when it has been fetched, else an even 1-in-61 sample; the caption above the map says which.
"""


@common.data_cache(show_spinner=False, max_entries=16)
def _run(
    crime: str,
    per_capita: bool,
    smoothing: str,
    weights: str,
    time_lag: int,
    permutations: int,
    seed: int,
    alpha: float,
    correction: str,
) -> hotspots.HotspotRun:
    """One cached emerging hot spot analysis, keyed on the options."""
    return hotspots.run_hotspots(
        common.npa_layer(),
        layer="npa",
        variable=crime,
        method="ehsa",
        per_capita=per_capita,
        smoothing=smoothing,
        weights=weights,
        time_lag=time_lag,
        permutations=permutations,
        seed=seed,
        alpha=alpha,
        correction=correction,
        cache_dir=get_settings().cache_dir / "weights",
    )


def page() -> None:
    """The Emerging hot spots page: options on the left, the map and one NPA's story on the right."""
    app_pages.heading("app_pages/emerging.py")
    st.write(INTRO)
    with st.expander("How this works", expanded=False):
        st.markdown(EXPLANATION)
    words_used_here(glossary.EMERGING_TERMS)
    with url_state.bound(PARAMS):
        _page_body()


def _page_body() -> None:
    settings = get_settings()
    left, right = st.columns([1, 3])
    with left:
        source = SOURCES[st.radio("Data", list(SOURCES), key="eh_source", help=CUBE_HELP)]
        if source == "cube":
            cube = _cube_choices()
        else:
            crime_label = st.selectbox("Crime", list(CRIMES), key="eh_crime")
            measure = st.radio("Measure", list(MEASURES), key="eh_measure")
            weights = WEIGHTS[st.selectbox("Neighbours", list(WEIGHTS), key="eh_weights")]
        time_lag = st.slider(
            "Time lag (earlier years in each neighbourhood)",
            LAGS[0],
            LAGS[-1],
            key="eh_lag",
            help="Each year's Gi* includes the NPA and its neighbours in this many earlier years.",
            **url_state.default("eh_lag", 1),
        )
        permutations = st.select_slider(
            "Permutations",
            PERMUTATIONS,
            key="eh_perms",
            help="The smallest possible two-sided p is 2 / (permutations + 1): 0.02 with 99, 0.002 with 999.",
            **url_state.default("eh_perms", settings.permutations if settings.permutations in PERMUTATIONS else 999),
        )
        alpha = st.select_slider(
            "Significance level (α)", ALPHAS, key="eh_alpha", **url_state.default("eh_alpha", 0.05)
        )
        correction = CORRECTIONS[
            st.radio(
                "Correction for testing every NPA each year",
                list(CORRECTIONS),
                key="eh_correction",
                help="Applied to each year's Gi* p-values separately, as ArcGIS Pro's Emerging Hot Spot Analysis.",
            )
        ]
        for w in choice_advice(
            method="ehsa", permutations=int(permutations), alpha=float(alpha), correction=correction,
            n_tests=len(common.npa_layer()) if source == "npa" else _cube_cells(*cube[1:]),
        ):  # fmt: skip
            st.warning(common.text(w.text))
    if source == "cube":
        with right:
            _cube_results(cube, int(time_lag), int(permutations), int(settings.seed), float(alpha), correction)
        return
    per_capita, smoothing = MEASURES[measure]
    with right:
        st.caption(CRIME_FISCAL_YEARS)
        try:
            with st.spinner("Computing Gi* for every NPA and year ..."):
                run = _run(
                    CRIMES[crime_label],
                    per_capita,
                    smoothing,
                    weights,
                    int(time_lag),
                    int(permutations),
                    int(settings.seed),
                    float(alpha),
                    correction,
                )
        except GeoDataError as exc:
            st.warning(f"These choices cannot be analysed: {exc}")
            return
        _results(run, f"{crime_label}, {measure.lower()}", "Crimes per 1,000 residents" if per_capita else "Crimes")


def _results(run: hotspots.HotspotRun, var_label: str, value_title: str) -> None:
    res = run.result
    for note in run.notes:
        st.caption(note[0].upper() + note[1:] + ".")
    n_undefined = len(res.undefined)
    if n_undefined:
        st.info(
            f"{n_undefined} of {len(run.frame)} NPAs miss a value in at least one year and are **Undefined**: "
            "the analysis needs a complete series (see *How this works*)."
        )
    other = [w for w in run.warnings if w.code != UNDEFINED_UNITS]  # the Undefined NPAs have their own note
    if other:
        st.warning("\n".join(f"- {common.text(w.text)}" for w in other))
    hot = sum(v for k, v in res.counts.items() if "Hot" in k)
    cold = sum(v for k, v in res.counts.items() if "Cold" in k)
    c = st.columns(4)
    c[0].metric(f"Years ({run.times[0]}–{run.times[-1]})", f"{len(run.times)}")
    c[1].metric("Hot-spot patterns", f"{hot}")
    c[2].metric("Cold-spot patterns", f"{cold}")
    c[3].metric("No pattern", f"{res.counts.get('No Pattern Detected', 0)}")
    st.caption(
        f"{var_label}; weights: {run.extra.get('weights')}, time lag {res.time_lag}; {res.permutations:,} "
        f"permutations, seed {res.seed}; a year counts as hot or cold at p ≤ {res.alpha:g}"
        + (
            f" after the {res.correction.upper() if res.correction == 'fdr' else res.correction} correction of "
            "that year's NPAs (the cutoff differs by year)."
            if res.correction != "none"
            else " (no correction for testing every NPA)."
        )
    )

    frame = run.frame
    m = draw.categorical_map(
        frame,
        "ehsa_category",
        colors=palettes.EHSA_COLORS,
        hide_empty=True,
        tooltip_fields=["ehsa_category", "ehsa_hot_steps", "ehsa_cold_steps", "ehsa_trend_tau"],
        tooltip_aliases=["Pattern", "Years as a hot spot", "Years as a cold spot", "Trend of z-scores (tau)"],
        tooltip_formats={"ehsa_trend_tau": "{:+.2f}"},
        name_field="npa",
        name_alias="NPA",
        legend_title=f"Emerging hot spots: {var_label}",
        reference=common.reference_layers(),
    )
    map_key = "eh_map"
    out = common.show_map(m, key=map_key, returned_objects=["last_active_drawing"])
    st.caption(REFERENCE_LAYERS_2013)
    selected = _selection(frame, map_key, out)
    if selected is not None:
        _unit(run, selected, var_label, value_title)

    st.subheader("Patterns")
    counts = pd.DataFrame(
        [
            {"Pattern": k, "NPAs": v, "How it is decided": narrative.EHSA_RULES.get(k, "")}
            for k, v in res.counts.items()
            if v or k in ("No Pattern Detected", "Undefined")
        ]
    )
    st.dataframe(counts, hide_index=True, width="stretch")


def _selection(frame, map_key: str, out: dict):
    sel_key = "eh_unit"
    options = [None, *frame.index.tolist()]
    names = frame["npa"].astype(str).to_dict()
    unit_param = Param(sel_key, "unit", codes={i: names.get(i, str(i)) for i in options if i is not None})
    url_state.restore([unit_param])
    clicked = (out.get("last_active_drawing") or {}).get("id")
    seen_key = f"{map_key}_seen"
    if clicked is not None and clicked != st.session_state.get(seen_key):
        st.session_state[seen_key] = clicked
        by_id = {str(i): i for i in frame.index}
        if clicked in by_id:
            st.session_state[sel_key] = by_id[clicked]
    if st.session_state.get(sel_key) not in options:
        st.session_state.pop(sel_key, None)
    chosen = st.selectbox(
        "Selected NPA (click the map, or choose here)",
        options,
        key=sel_key,
        format_func=lambda i: "None" if i is None else f"NPA {names.get(i, i)}",
    )
    url_state.store([unit_param])
    return chosen


def _unit(run: hotspots.HotspotRun, unit, var_label: str, value_title: str) -> None:
    name = run.frame.loc[unit, "npa"]
    st.markdown(f"**NPA {common.text(name)}** — " + common.text(narrative.explain_emerging(run, unit)))
    series = hotspots.emerging_series(run, unit)
    if series["value"].isna().all():
        st.info("This NPA has no values to plot.")
        return
    x = year_axis("year")
    values = (
        alt.Chart(series)
        .mark_bar(color=palettes.SERIES_BAR_COLOR)
        .encode(
            x=x,
            y=alt.Y("value:Q", title=value_title),
            tooltip=[alt.Tooltip("year:O", title="Year"), alt.Tooltip("value:Q", format=",.1f", title="Value")],
        )
        .properties(title=f"{var_label[0].upper()}{var_label[1:]}", height=240)
    )
    zs = series.dropna(subset=["z"])
    domain = list(STATUS_COLORS)
    z_line = alt.Chart(zs).mark_line(color=palettes.SERIES_LINE_COLOR).encode(x=x, y=alt.Y("z:Q", title="Gi* z-score"))
    z_pts = (
        alt.Chart(zs)
        .mark_circle(size=90, stroke=palettes.POINT_STROKE_DARK, strokeWidth=0.5)
        .encode(
            x=x,
            y="z:Q",
            color=alt.Color(
                "status:N", title="That year", scale=alt.Scale(domain=domain, range=[STATUS_COLORS[d] for d in domain])
            ),
            tooltip=[
                alt.Tooltip("year:O", title="Year"),
                alt.Tooltip("z:Q", format="+.2f", title="z"),
                alt.Tooltip("p:Q", format=".3f", title="p"),
                alt.Tooltip("status:N", title="Status"),
            ],
        )
    )
    zero = alt.Chart(pd.DataFrame({"z": [0.0]})).mark_rule(strokeDash=[4, 4], color=palettes.GUIDE_LINE_COLOR)
    # no ±1.96 lines: significance comes from the permutation p after the correction, shown by the colour
    z_chart = alt.layer(zero.encode(y="z:Q"), z_line, z_pts).properties(
        title="Gi* z-score each year (colour: hot or cold after the correction)", height=240
    )
    c1, c2 = st.columns(2)
    show_chart(values, summary=_values_summary(series, name, value_title), container=c1)
    show_chart(z_chart, summary=_z_summary(zs, name), container=c2)
    table = series.rename(columns={"year": "Year", "value": "Value", "z": "Gi* z", "p": "p", "status": "Status"})
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "Year": st.column_config.NumberColumn(format="%d"),  # a year, not a number: 2011, not 2,011
            "Value": st.column_config.NumberColumn(format="%.2f"),
            "Gi* z": st.column_config.NumberColumn(format="%.2f"),
            "p": st.column_config.NumberColumn(format="%.3f"),
        },
    )


def _values_summary(series: pd.DataFrame, name: object, value_title: str) -> str:
    """One sentence for the bars: the first and last year, the lowest and the highest value."""
    v = series.dropna(subset=["value"])
    lo, hi = v.loc[v["value"].idxmin()], v.loc[v["value"].idxmax()]
    return (
        f"Bar chart, NPA {name}: {value_title.lower()} each year from {int(v['year'].iloc[0])} to "
        f"{int(v['year'].iloc[-1])}; lowest {lo['value']:,.1f} ({int(lo['year'])}), highest {hi['value']:,.1f} "
        f"({int(hi['year'])}). The table below lists every year."
    )


def _z_summary(zs: pd.DataFrame, name: object) -> str:
    """One sentence for the z-score line: its range and the years hot or cold."""
    if zs.empty:
        return f"NPA {name} has no Gi* z-scores to plot."
    hot = [str(int(y)) for y in zs.loc[zs["status"] == "Hot spot", "year"]]
    cold = [str(int(y)) for y in zs.loc[zs["status"] == "Cold spot", "year"]]
    return (
        f"Line chart, NPA {name}: Gi* z-scores from {zs['z'].min():+.2f} to {zs['z'].max():+.2f} over "
        f"{len(zs)} years; a hot spot in {', '.join(hot) or 'no year'}; a cold spot in {', '.join(cold) or 'no year'}."
    )


# --------------------------------------------------------------------------- incident points: the space-time cube

CUBE_HELP = (
    "NPA yearly series: the Quality of Life crime counts of each neighborhood, 2011-2022. Incident points: the "
    "incident locations (the whole CMPD layer when it has been fetched, else the 2017-2026 1-in-61 sample) "
    "counted in hexagons and months, quarters or years (a space-time cube)."
)


@common.data_cache(show_spinner="Loading the incident points ...")
def _cube_points() -> tuple[gpd.GeoDataFrame, tuple[str, ...]]:
    """The cube's points (the whole layer when fetched, else the sample) and the notes on what was done to them."""
    pts, report = records.cube_points_with_report(get_settings())
    notes = [f"{i.action.replace('_', ' ').capitalize()} {i.count:,}: {i.reason}." for i in report.issues]
    notes += [n[0].upper() + n[1:] + "." for n in report.notes[1:]]
    return pts, tuple(notes)


def _cube_choices() -> tuple[str, str, int]:
    """The cube's widgets: time step, incident category and hexagon size."""
    step = STEPS[
        st.selectbox("Time step", list(STEPS), key="eh_step", help="Auto: the coarsest step with enough steps.")
    ]
    category = st.selectbox(
        "Incident category", list(trends.CATEGORIES), format_func=trends.CATEGORIES.get, key="eh_category"
    )
    cell = st.select_slider(
        "Hexagon size (feet between centres)",
        trends.CELL_SIZES,
        key="eh_cell",
        format_func=lambda v: f"{v:,} ft",
        help="With the 1-in-61 sample of incident points, small hexagons hold few points in each step.",
        **url_state.default("eh_cell", 5000),
    )
    return step, str(category), int(cell)


@common.data_cache(show_spinner="Counting the incident points in hexagons ...", max_entries=16)
def _cube_counts(category: str, cell_size: int) -> spacetime.CellCounts:
    points = _cube_points()[0]
    return spacetime.cell_counts(
        points,
        boundary=common.county(),
        cell_size=float(cell_size),
        category=None if category == "all" else category,
        source=str(points.attrs.get("source_label", "")),
    )


def _cube_cells(category: str, cell_size: int) -> int:
    """Hexagons over the county: the units tested in each time step (for the advice on the choices)."""
    return int(_cube_counts(category, cell_size).in_area.sum())


@common.data_cache(show_spinner="Computing space-time Gi* for every hexagon and step ...", max_entries=16)
def _run_cube(
    step: str, category: str, cell_size: int, time_lag: int, permutations: int, seed: int, alpha: float, correction: str
) -> spacetime.SpaceTimeResult:
    return spacetime.emerging_cube(
        _cube_points()[0],
        boundary=common.county(),
        step=None if step == "auto" else step,  # type: ignore[arg-type]
        time_lag=time_lag,
        permutations=permutations,
        seed=seed,
        alpha=alpha,
        correction=correction,  # type: ignore[arg-type]
        counts=_cube_counts(category, cell_size),
    )


def _cube_results(
    cube: tuple[str, str, int], time_lag: int, permutations: int, seed: int, alpha: float, correction: str
) -> None:
    step, category, cell = cube
    try:
        res = _run_cube(step, category, cell, time_lag, permutations, seed, alpha, correction)
    except GeoDataError as exc:
        st.warning(f"These choices cannot be analysed: {exc}")
        return
    points, notes = _cube_points()
    which = f" ({trends.CATEGORIES[category].lower()})" if category != "all" else ""
    source = f"Points: {res.parameters['points_source']}, {int(res.parameters['points']):,} incident points{which}."
    st.caption(common.text(" ".join(t for t in (source, str(points.attrs.get("caveat", ""))) if t)))
    for note in notes:
        st.caption(common.text(note))
    counts = res.emerging.counts
    c = st.columns(4)
    c[0].metric(f"{res.cube.step.capitalize()}s ({res.cube.labels[0]}–{res.cube.labels[-1]})", f"{res.cube.n_steps}")
    c[1].metric("Hot-spot patterns", f"{sum(v for k, v in counts.items() if 'Hot' in k)}")
    c[2].metric("Cold-spot patterns", f"{sum(v for k, v in counts.items() if 'Cold' in k)}")
    c[3].metric("No pattern", f"{counts.get('No Pattern Detected', 0)}")
    what = trends.CATEGORIES[category].lower()
    m = draw.categorical_map(
        res.frame,
        "ehsa_category",
        colors=palettes.EHSA_COLORS,
        hide_empty=True,
        tooltip_fields=["ehsa_category", "summary", "total"],
        tooltip_aliases=["Pattern", "In plain words", "Incident points"],
        name_field="cell_id",
        name_alias="Hexagon",
        legend_title=f"Emerging hot spots: incident points, {what}, by {res.cube.step}",
        reference=common.reference_layers(),
    )
    common.show_map(m, key="eh_cube_map")
    st.caption(REFERENCE_LAYERS_2013)
    for line in res.lines:
        st.markdown(f"- {common.text(line.strip())}")
    st.subheader("Patterns")
    table = pd.DataFrame(
        [
            {"Pattern": k, "Hexagons": v, "How it is decided": narrative.EHSA_RULES.get(k, "")}
            for k, v in counts.items()
            if v or k == "No Pattern Detected"
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch", key="eh_cube_patterns")
    f = res.frame[res.frame["ehsa_category"] != "No Pattern Detected"]
    with st.expander(f"Each hexagon with a pattern in words ({len(f)})"):
        st.dataframe(
            pd.DataFrame({"Hexagon": f["cell_id"], "Pattern": f["ehsa_category"], "In plain words": f["summary"]}),
            hide_index=True,
            width="stretch",
            key="eh_cube_cells",
        )


if __name__ == "__main__":
    common.guarded(page)()
