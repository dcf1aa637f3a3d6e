"""Hot spots: LISA clusters, significance, Getis-Ord Gi* and Moran's I for NPAs, divisions or incident hexagons.

Widgets are wired to :func:`geo.analysis.hotspots.run_hotspots`; every number comes from ``geo``.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

import app_pages
from app_pages import common, robustness, url_state
from app_pages.charts import show_chart
from app_pages.methods import words_used_here
from app_pages.url_state import Param
from geo.analysis import hotspots
from geo.analysis.hotspot_advice import choice_advice, significance_level
from geo.caveats import REFERENCE_LAYERS_2013, STOPS_NO_COORDINATES
from geo.errors import GeoDataError
from geo.layers.filters import StopFilter
from geo.maps import draw, palettes
from geo.output import glossary, narrative
from geo.output.variables import variables_for
from geo.settings import get_settings
from geo.stats.warning_codes import COMPONENTS, ISLANDS, SMALL_SAMPLE, UNDEFINED_UNITS

LAYERS = {"Neighborhoods (NPA)": "npa", "Divisions": "divisions", "Incident points (hexagons)": "incidents"}
CRIMES = {
    "Violent crime": ("violent_crimes", "violent_rate"),
    "Property crime": ("property_crimes", "property_rate"),
    "Disorder calls": ("disorder_calls", "disorder_rate"),
}
RATE, EB_RATE, COUNT = (
    "Rate per 1,000 residents",
    "Rate per 1,000 residents, smoothed (empirical Bayes)",
    "Count",
)
WEIGHTS = {
    "Queen contiguity (shared border or corner)": "queen",
    "Rook contiguity (shared border)": "rook",
    "K nearest neighbours": "knn",
    "Distance band": "distance",
    "Kernel (weights fall with distance)": "kernel",
}
KERNELS = ["triangular", "uniform", "quadratic", "quartic", "gaussian"]
PERMUTATIONS = [99, 199, 499, 999, 4999, 9999, 99999]
ALPHAS = [0.1, 0.05, 0.01, 0.001]
#: The default is FDR: with hundreds of areas tested at once, no correction flags about 1 in 20 by chance.
CORRECTIONS = {"False discovery rate (FDR)": "fdr", "None": "none", "Bonferroni": "bonferroni"}
#: The p-value behind the Gi* bins (the first is geo's default).
GI_INFERENCES = {
    "Permutation p (as LISA; robust for skewed rates)": "permutation",
    "Normal-theory p (ArcGIS)": "normal",
}
PERMUTATIONS_HELP = (
    "More permutations give steadier p-values but take longer. The smallest possible two-sided p is "
    "2 / (permutations + 1): 0.02 with 99, 0.002 with 999."
)
VIEWS = ["LISA clusters", "Significance (p-values)", "Gi* hot and cold spots"]
NAMES = {"npa": ("npa", "NPA"), "divisions": ("division", "Division"), "incidents": ("cell_id", "Hexagon")}
NOUNS = {"NPA": "NPA", "Division": "division", "Hexagon": "hexagon"}
FEET_PER_MILE = 5280.0
#: The page's choices in the URL (the year, the variable and the selected area are added where they are chosen).
PARAMS = (
    Param("hs_layer", "layer", codes={label: code for label, code in LAYERS.items()}),
    Param("hs_crime", "crime", codes={label: stems[0] for label, stems in CRIMES.items()}),
    Param("hs_measure", "measure", codes={RATE: "rate", EB_RATE: "eb", COUNT: "count"}),
    Param("hs_weights", "weights", codes=WEIGHTS),
    Param("hs_perms", "perms", options=PERMUTATIONS),
    Param("hs_alpha", "alpha", options=ALPHAS),
    Param("hs_correction", "correction", codes=CORRECTIONS),
    Param("hs_gi_inference", "gi", codes=GI_INFERENCES),
    Param("hs_seed", "seed", kind=int),
    Param("hs_view", "view", codes={VIEWS[0]: "lisa", VIEWS[1]: "p", VIEWS[2]: "gi"}),
)
#: Warnings both runs give about the same areas: said once, by the LISA run.
SAID_BY_LISA = frozenset({UNDEFINED_UNITS, SMALL_SAMPLE, ISLANDS, COMPONENTS})

EXPLANATION = """
A **hot spot** is a place where high values cluster: the area *and its neighbours* are higher than chance
alone would make them if the values were shuffled at random over the map. A **cold spot** is the same for low
values. Two statistics answer this a little differently:

- **LISA** (local Moran's I) compares each area with the average of its neighbours. *High-High* and *Low-Low* are
  clusters (hot and cold spots); *High-Low* and *Low-High* are outliers (a high area among low neighbours, or the
  reverse).
- **Gi\\*** (Getis-Ord) adds up each area together with its neighbours and asks whether that local total is
  unusually high (hot) or low (cold). Its bins say how confident: 99%, 95% or 90%.

**How sure are we?** Each area is compared with many random rearrangements of the other areas' values (a
permutation test). The **p-value** is the share of rearrangements that look at least as clustered:
p = 0.01 means about 1 in 100. Testing hundreds of areas at once produces false alarms: at p ≤ 0.05 about
1 area in 20 with no real pattern still looks significant. The **false discovery rate (FDR)** correction lowers
the cutoff so that, among the areas called significant, only about that share (5% at α = 0.05) are expected to
be false alarms; **Bonferroni** is stricter still and keeps the chance of even one false alarm at α.
A significant cluster is evidence that values are grouped in space, not an explanation of why. Rates over small
populations jump around: the *smoothed (empirical Bayes)* rate pulls them towards the county rate.
"""


# --------------------------------------------------------------------------- data


def _frame(layer: str, filters: StopFilter):
    return common.layer(layer, filters)


@common.data_cache(show_spinner=False, max_entries=32)
def _run(
    layer: str,
    filters: StopFilter,
    method: str,
    variable: str,
    per_capita: bool,
    smoothing: str,
    weights: str,
    k: int | None,
    threshold: float | None,
    kernel: str,
    permutations: int,
    seed: int,
    alpha: float,
    correction: str,
    gi_inference: str,
) -> hotspots.HotspotRun:
    """One cached analysis, keyed on the options (the layer frame comes from its own cache)."""
    return hotspots.run_hotspots(
        _frame(layer, filters),
        layer=layer,
        variable=variable,
        method=method,
        per_capita=per_capita,
        smoothing=smoothing,
        weights=weights,
        k=k,
        threshold=threshold,
        kernel=kernel,
        permutations=permutations,
        seed=seed,
        alpha=alpha,
        correction=correction,
        gi_inference=gi_inference if method == "gi" else None,
        boundary=common.npa_layer() if layer == "incidents" else None,
        cache_dir=get_settings().cache_dir / "weights",
    )


# --------------------------------------------------------------------------- widgets


def _variable_widgets(layer: str, frame) -> tuple[str, bool, str, str]:
    """Return (variable, per_capita, smoothing, label) chosen for the layer."""
    if layer == "incidents":
        st.caption("Variable: incident points per hexagon.")
        return "count", False, "none", "Incident points per hexagon"
    if layer == "divisions":
        variables = [v for v in variables_for("divisions", frame)]
        default = next((i for i, v in enumerate(variables) if v.column == "stops_per_1000"), 0)
        vp = Param("hs_div_var", "variable", codes={v: v.column for v in variables})
        url_state.restore([vp])
        var = st.selectbox(
            "Variable", variables, key="hs_div_var", format_func=lambda v: f"{v.group}: {v.label}",
            **url_state.default("hs_div_var", default, "index"),
        )  # fmt: skip
        url_state.store([vp])
        return var.column, False, "none", var.label
    crime = st.selectbox("Crime", list(CRIMES), key="hs_crime")
    count_stem, rate_stem = CRIMES[crime]
    years = sorted({int(c[-4:]) for c in frame.columns if c.startswith(count_stem + "_")}, reverse=True)
    yp = Param(f"hs_year_{count_stem}", "year", options=years)
    url_state.restore([yp])
    year = st.selectbox("Year", years, key=f"hs_year_{count_stem}")
    url_state.store([yp])
    measure = st.radio("Measure", [RATE, EB_RATE, COUNT], key="hs_measure")
    if measure == COUNT:
        return f"{count_stem}_{year}", False, "none", f"{crime}, count ({year})"
    if measure == EB_RATE:
        return f"{count_stem}_{year}", True, "eb", f"{crime} per 1,000 residents, EB-smoothed ({year})"
    return f"{rate_stem}_{year}", False, "none", f"{crime} per 1,000 residents ({year})"


def _weights_widgets(layer: str, n_units: int) -> tuple[str, int | None, float | None, str]:
    label = st.selectbox("Neighbours (spatial weights)", list(WEIGHTS), key="hs_weights")
    weights = WEIGHTS[label]
    k = threshold = None
    kernel = "triangular"
    if weights in ("knn", "kernel"):
        k = st.slider("Number of neighbours (k)", 1, min(20, n_units - 1), min(6, n_units - 1), key=f"hs_k_{layer}")
    if weights == "distance":
        miles = st.number_input(
            "Distance band (miles)",
            min_value=0.1,
            max_value=30.0,
            value=None,
            step=0.5,
            key=f"hs_band_{layer}",
            placeholder="Automatic",
            help="Areas whose centres lie within this distance are neighbours. Empty: the smallest band that gives "
            "every area at least one neighbour.",
        )
        threshold = None if miles is None else float(miles) * FEET_PER_MILE
    if weights == "kernel":
        kernel = st.selectbox("Kernel", KERNELS, key="hs_kernel")
    return weights, k, threshold, kernel


# --------------------------------------------------------------------------- page


def page() -> None:
    """The Hot spots page: options on the left, results on the right."""
    app_pages.heading("app_pages/hotspots.py")
    st.write(
        "Where do high (or low) values cluster more than chance would explain? Choose the areas, the variable, "
        "who counts as a neighbour and how strict the test is; the maps, the scatterplot and the table update."
    )
    with st.expander("What a hot spot means, and how sure we are", expanded=False):
        st.markdown(EXPLANATION)
    words_used_here(glossary.HOTSPOT_TERMS)
    with url_state.bound(PARAMS):
        _page_body()


def _page_body() -> None:
    settings = get_settings()
    left, right = st.columns([1, 3])
    with left:
        layer = LAYERS[st.radio("Areas", list(LAYERS), key="hs_layer")]
        filters = common.current_filters() if layer == "divisions" else StopFilter()
        try:
            frame = _frame(layer, filters)
        except GeoDataError as exc:  # e.g. a stop filter that leaves no stops
            right.warning(str(exc))
            return
        variable, per_capita, smoothing, var_label = _variable_widgets(layer, frame)
        n_units = len(frame) if layer != "incidents" else 2500
        weights, k, threshold, kernel = _weights_widgets(layer, n_units)
        permutations = st.select_slider(
            "Permutations",
            PERMUTATIONS,
            key="hs_perms",
            **url_state.default(
                "hs_perms", 999 if settings.permutations not in PERMUTATIONS else settings.permutations
            ),
            help=PERMUTATIONS_HELP,
        )
        alpha = st.select_slider(
            "Significance level (α)",
            ALPHAS,
            key="hs_alpha",
            **url_state.default("hs_alpha", settings.alpha if settings.alpha in ALPHAS else 0.05),
        )
        correction = CORRECTIONS[
            st.radio(
                "Correction for testing many areas",
                list(CORRECTIONS),
                key="hs_correction",
                help="FDR: among areas called significant, about α are expected to be false alarms. "
                "Bonferroni: the chance of any false alarm is at most α.",
            )
        ]
        gi_inference = GI_INFERENCES[
            st.radio(
                "Gi* p-values",
                list(GI_INFERENCES),
                key="hs_gi_inference",
                help="Which p-value decides the Gi* bins. Permutation p compares each area with random "
                "rearrangements, as LISA does; the normal p assumes the values are roughly normal, which small-area "
                "rates are not.",
            )
        ]
        seed = int(
            st.number_input(
                "Random seed", min_value=0, step=1, key="hs_seed", **url_state.default("hs_seed", int(settings.seed))
            )
        )
        n_tests = len(frame) if layer != "incidents" else n_units
        for w in choice_advice(
            method="lisa", permutations=int(permutations), alpha=float(alpha), correction=correction, n_tests=n_tests
        ):
            st.warning(common.text(w.text))
    with right:
        _results(
            layer=layer,
            filters=filters,
            variable=variable,
            per_capita=per_capita,
            smoothing=smoothing,
            var_label=var_label,
            weights=weights,
            k=k,
            threshold=threshold,
            kernel=kernel,
            permutations=int(permutations),
            seed=seed,
            alpha=float(alpha),
            correction=correction,
            gi_inference=gi_inference,
        )


def _results(*, layer: str, filters: StopFilter, var_label: str, **options) -> None:
    """The results column: captions, messages, summary, the map with its selection, scatterplot and table."""
    _layer_captions(layer, filters)
    try:
        with st.spinner(f"Testing every area against {options['permutations']:,} random rearrangements ..."):
            lisa = _run(layer, filters, "lisa", **options)
            gi = _run(layer, filters, "gi", **options)
    except GeoDataError as exc:
        st.warning(f"These choices cannot be analysed: {exc}")
        return
    name_col, name_alias = NAMES[layer]
    _messages(lisa, gi, name_col)
    _summary(lisa, gi, var_label)
    view = _view_frame(lisa, gi, name_col)
    selected = _map(view, layer=layer, var_label=var_label, filters=filters, options=tuple(sorted(options.items())))
    if selected is not None:
        st.markdown(
            f"**{common.text(name_alias)} {common.text(view.loc[selected, name_col])}.** "
            + common.text(narrative.explain_unit(lisa, gi, selected))
        )
    st.subheader("Moran scatterplot")
    _scatter(view, lisa.variable, name_col, name_alias, lisa.local.global_moran, selected)
    st.subheader("Local statistics")
    _table(view, lisa.variable, var_label, name_col, name_alias, selected)
    robustness.section(
        layer=layer, filters=filters, var_label=var_label, name_col=name_col, name_alias=name_alias, **options
    )


def _layer_captions(layer: str, filters: StopFilter) -> None:
    """What the layer's data can and cannot say (stops without coordinates, a point sample)."""
    if layer == "divisions":
        st.caption(STOPS_NO_COORDINATES)
        st.caption(f"Stops counted: {common.describe_filters(filters)}.")
    elif layer == "incidents":
        common.incident_caption()


def _messages(lisa: hotspots.HotspotRun, gi: hotspots.HotspotRun, name_col: str) -> None:
    """The runs' notes, their warnings (each said once) and the isolated areas."""
    for note in dict.fromkeys([*lisa.notes, *gi.notes]):
        st.caption(note[0].upper() + note[1:] + ".")
    gi_own = [w for w in gi.warnings if w.code not in SAID_BY_LISA]
    warnings = list(dict.fromkeys([*lisa.warnings, *gi_own]))
    if lisa.too_few_for_local_inference:
        st.warning(
            "**Too few areas for local inference: read these maps as a description, not as evidence of "
            "clusters.**\n\n" + "\n".join(f"- {common.text(w.text)}" for w in warnings)
        )
    elif warnings:
        st.warning("\n".join(f"- {common.text(w.text)}" for w in warnings))
    if lisa.islands:
        names = lisa.frame.loc[list(lisa.islands), name_col].astype(str).tolist() if name_col in lisa.frame else []
        shown = ", ".join(common.text(n) for n in names[:20]) + (" ..." if len(names) > 20 else "")
        st.info(
            f"{len(lisa.islands)} area(s) have no neighbours under these weights and are shown as Isolated: {shown}"
        )


def _summary(lisa: hotspots.HotspotRun, gi: hotspots.HotspotRun, var_label: str) -> None:
    """Global Moran's I, areas tested, clusters and hot spots counted, and the options in one caption."""
    res, g = lisa.local, lisa.local.global_moran
    gres = gi.local
    c = st.columns(3)
    c[0].metric("Global Moran's I", f"{g.I:.3f}", help="Above 0: similar values sit next to each other.")
    if g.p_sim is not None:
        c[1].metric(
            "Pseudo p (global)",
            f"{g.p_sim:.3g}",
            help=f"Share of {g.permutations:,} random rearrangements with a Moran's I at least as extreme.",
        )
    else:
        c[1].metric(
            "p (global, normal approximation)",
            f"{g.p_rand:.3g}",
            help="No permutations were run: the p-value of Moran's I under randomisation (normal approximation).",
        )
    c[2].metric(
        "Areas tested",
        f"{res.n_tested:,}",
        help=f"Of {res.n_units:,}: areas with a value and at least one neighbour.",
    )
    hot = sum(v for lab, v in gres.counts.items() if lab.startswith("Hot"))
    cold = sum(v for lab, v in gres.counts.items() if lab.startswith("Cold"))
    confidence = f"{100 * (1 - significance_level('gi', gres.alpha)):.0f}%"
    gi_p = "permutation" if gres.extra.get("inference") == "permutation" else "normal-theory"
    cut = f"{res.cutoff:.3g}" if res.cutoff > 0 else "none (no area passes)"
    st.markdown(
        f"**LISA:** {res.counts['High-High']:,} hot-spot (High-High) and {res.counts['Low-Low']:,} cold-spot "
        f"(Low-Low) areas, {res.counts['High-Low'] + res.counts['Low-High']:,} outliers. "
        f"**Gi\\*:** {hot:,} hot and {cold:,} cold spots at {confidence} confidence or more ({gi_p} p-values)."
    )
    st.caption(
        f"{var_label}; weights: {lisa.extra.get('weights')}; {res.permutations:,} permutations, seed {res.seed}; "
        f"α = {res.alpha:g}, correction: {res.correction} → LISA p-value cutoff {cut}."
    )


def _map(view, *, layer: str, var_label: str, filters: StopFilter, options: tuple[tuple[str, object], ...]):
    """The chosen map (LISA clusters, significance or Gi*); returns the selected row label."""
    name_col, name_alias = NAMES[layer]
    choice = st.radio("Map", VIEWS, key="hs_view", horizontal=True)
    m = common.copy_map(_drawn_map(layer, filters, options, choice, var_label))
    map_key = f"hs_map_{layer}_{VIEWS.index(choice)}"
    return _selection(view, m, name_col, name_alias, layer, map_key)


@common.data_cache(resource=True, show_spinner="Drawing the map ...", max_entries=16, ttl=3600)
def _drawn_map(layer: str, filters: StopFilter, options: tuple[tuple[str, object], ...], choice: str, var_label: str):
    """The map of these results, drawn once for every session (issue 15: shared work); copy it to show it.

    ``options`` are the analysis options of :func:`_run` (sorted name-value pairs): the runs come from its cache.
    """
    opts = dict(options)
    lisa, gi = _run(layer, filters, "lisa", **opts), _run(layer, filters, "gi", **opts)
    name_col, name_alias = NAMES[layer]
    view = _view_frame(lisa, gi, name_col)
    tips = [lisa.variable, "lisa_cluster", "lisa_p", "gi_label", "gi_z"]
    aliases = [var_label, "LISA cluster", "LISA pseudo p", "Gi*", "Gi* z-score"]
    fmts = {"lisa_p": "{:.3f}", "gi_z": "{:+.2f}"}
    common_kw = dict(
        tooltip_fields=tips,
        tooltip_aliases=aliases,
        tooltip_formats=fmts,
        name_field=name_col,
        name_alias=name_alias,
        reference=common.reference_layers(),
    )
    if choice == VIEWS[0]:
        return draw.categorical_map(
            view, "lisa_cluster", colors=palettes.LISA_COLORS, legend_title=f"LISA clusters: {var_label}", **common_kw
        )
    if choice == VIEWS[1]:
        return draw.categorical_map(
            view,
            "lisa_significance",
            colors=palettes.SIGNIFICANCE_COLORS,
            hide_empty=True,
            legend_title=f"LISA significance: {var_label}",
            **common_kw,
        )
    return draw.categorical_map(
        view, "gi_label", colors=palettes.GI_COLORS, legend_title=f"Gi* hot and cold spots: {var_label}", **common_kw
    )


def _view_frame(lisa: hotspots.HotspotRun, gi: hotspots.HotspotRun, name_col: str):
    """The LISA layer with the Gi* columns alongside (same rows, same order)."""
    lisa_cols = [name_col, lisa.variable, "lisa_i", "lisa_z", "lisa_lag", "lisa_p", "lisa_cluster", "lisa_significance"]
    lisa_cols = list(dict.fromkeys(c for c in lisa_cols if c in lisa.frame.columns))
    gi_cols = ["gi_z", "gi_p", "gi_label"]
    return lisa.frame[[*lisa_cols, lisa.frame.geometry.name]].join(gi.frame[gi_cols])


def _selection(view, m, name_col: str, name_alias: str, layer: str, map_key: str):
    """Show the map with the selected area outlined; return the selected row label.

    The selection is a link's ``unit``, a click on the map, or the list below it. A click
    reruns the page with the component's value already in session state (under ``map_key``),
    so the new outline is drawn in that same run; the outline goes in a feature group that
    streamlit-folium swaps without redrawing the map, so the view stays where it was.
    """
    sel_key = f"hs_unit_{layer}"
    options = [None, *view.index.tolist()]
    names = view[name_col].astype(str).to_dict() if name_col in view else {}
    unit_param = Param(sel_key, "unit", codes={i: str(names.get(i, i)) for i in options if i is not None})
    url_state.restore([unit_param])
    _take_click(view, sel_key, map_key, st.session_state.get(map_key))
    if st.session_state.get(sel_key) not in options:
        st.session_state.pop(sel_key, None)
    selected = st.session_state.get(sel_key)
    outline = draw.selection_outline(view, [selected]) if selected is not None else None
    out = common.show_map(m, key=map_key, returned_objects=["last_active_drawing"], feature_group_to_add=outline)
    st.caption(REFERENCE_LAYERS_2013)
    if _take_click(view, sel_key, map_key, out):  # reported only now (no callback ran): draw again with its outline
        st.rerun()
    chosen = st.selectbox(
        f"Selected {NOUNS[name_alias]} (click the map, or choose here)",
        options,
        key=sel_key,
        format_func=lambda i: "None" if i is None else f"{name_alias} {names.get(i, i)}",
    )
    url_state.store([unit_param])
    return chosen


def _take_click(view, sel_key: str, map_key: str, value: dict | None) -> bool:
    """Select the area of a new click in the map component's ``value``; whether the selection changed.

    A click is taken once (the component keeps reporting it on every run); a click on a
    reference layer (a landmark: no ``id``) selects nothing.
    """
    clicked = ((value or {}).get("last_active_drawing") or {}).get("id")
    seen_key = f"{map_key}_seen"
    if clicked is None or clicked == st.session_state.get(seen_key):
        return False
    st.session_state[seen_key] = clicked
    by_id = {str(i): i for i in view.index}
    if clicked not in by_id or st.session_state.get(sel_key) == by_id[clicked]:
        return False
    st.session_state[sel_key] = by_id[clicked]
    return True


def _scatter(view, value_col: str, name_col: str, name_alias: str, g, selected) -> None:
    pts = view[[name_col, value_col, "lisa_z", "lisa_lag", "lisa_cluster"]].dropna(subset=["lisa_z", "lisa_lag"])
    pts = pd.DataFrame(pts).rename(columns={name_col: "name", value_col: "value"})
    pts["name"] = pts["name"].astype(str)
    if pts.empty:
        st.info("No area has both a value and neighbours: nothing to plot.")
        return
    lo, hi = float(pts["lisa_z"].min()), float(pts["lisa_z"].max())
    line = pd.DataFrame({"lisa_z": [lo, hi], "lisa_lag": [g.I * lo, g.I * hi]})
    domain = list(palettes.LISA_COLORS)
    x = alt.X("lisa_z:Q", title="Value of the area (standard deviations from the mean)")
    y = alt.Y("lisa_lag:Q", title="Average of its neighbours (standard deviations)")
    dots = (
        alt.Chart(pts)
        .mark_circle(size=45, opacity=0.85, stroke=palettes.POINT_STROKE_COLOR, strokeWidth=0.4)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "lisa_cluster:N",
                title="LISA cluster",
                scale=alt.Scale(domain=domain, range=[palettes.LISA_COLORS[d] for d in domain]),
            ),
            tooltip=[
                alt.Tooltip("name:N", title=name_alias),
                alt.Tooltip("value:Q", title="Value", format=",.2f"),
                alt.Tooltip("lisa_cluster:N", title="LISA cluster"),
            ],
        )
    )
    layers = [
        alt.Chart(pd.DataFrame({"v": [0.0]})).mark_rule(color=palettes.GUIDE_LINE_COLOR).encode(x="v:Q"),
        alt.Chart(pd.DataFrame({"v": [0.0]})).mark_rule(color=palettes.GUIDE_LINE_COLOR).encode(y="v:Q"),
        dots,
        alt.Chart(line).mark_line(color=palettes.FIT_LINE_COLOR).encode(x="lisa_z:Q", y="lisa_lag:Q"),
    ]
    if selected is not None and selected in pts.index:
        layers.append(
            alt.Chart(pts.loc[[selected]])
            .mark_point(size=220, shape="circle", filled=False, color=palettes.SELECTED_OUTLINE_COLOR, strokeWidth=2.5)
            .encode(x="lisa_z:Q", y="lisa_lag:Q")
        )
    p = "" if g.p_sim is None else f", pseudo p = {g.p_sim:.3g} ({g.permutations:,} permutations)"
    chart = alt.layer(*layers).properties(title=f"Moran's I = {g.I:.3f}{p}; the line's slope is I", height=380)
    counts = pts["lisa_cluster"].value_counts()
    summary = (
        f"Scatterplot of {len(pts):,} areas: each area's value (across) against its neighbours' average (up), "
        f"in standard deviations. Moran's I = {g.I:.3f}{p}. High-High {counts.get('High-High', 0):,}, Low-Low "
        f"{counts.get('Low-Low', 0):,}, High-Low {counts.get('High-Low', 0):,}, Low-High {counts.get('Low-High', 0):,}. "
        "The table below lists every area."
    )
    show_chart(chart, summary=summary)
    st.caption(
        "Each dot is an area. Right of the vertical line: above-average value; above the horizontal line: neighbours "
        "above average. Top right are High-High, bottom left Low-Low; the other two corners are outliers."
    )


def _table(view, value_col: str, var_label: str, name_col: str, name_alias: str, selected) -> None:
    cols = [name_col, value_col, "lisa_cluster", "lisa_i", "lisa_p", "lisa_significance", "gi_label", "gi_z", "gi_p"]
    table = pd.DataFrame(view[list(dict.fromkeys(cols))]).sort_values("gi_z", ascending=False, na_position="last")
    if selected is not None and selected in table.index:  # the selected row first, then the hottest
        table = pd.concat([table.loc[[selected]], table.drop(index=selected)])
    labels = {
        name_col: name_alias,
        value_col: var_label,
        "lisa_cluster": "LISA cluster",
        "lisa_i": "Local Moran's I",
        "lisa_p": "LISA pseudo p",
        "lisa_significance": "LISA significance",
        "gi_label": "Gi* result",
        "gi_z": "Gi* z-score",
        "gi_p": "Gi* p",
    }
    table = table.rename(columns=labels)
    styler = table.style.format(
        {var_label: "{:,.2f}", "Local Moran's I": "{:.3f}", "LISA pseudo p": "{:.4f}", "Gi* z-score": "{:+.2f}",
         "Gi* p": "{:.4f}"},
        na_rep="",
    )  # fmt: skip
    if selected is not None and selected in table.index:
        styler = styler.set_properties(
            subset=pd.IndexSlice[[selected], :], **{"background-color": palettes.SELECTED_ROW_FILL}
        )
        st.caption(f"The selected {NOUNS[name_alias]} is highlighted, first. Click a column heading to sort.")
    else:
        st.caption("Click a column heading to sort; click an area on the map to highlight its row.")
    st.dataframe(styler, hide_index=True, width="stretch", height=320, key="hs_table")


if __name__ == "__main__":
    common.guarded(page)()
