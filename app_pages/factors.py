"""Which factors play a role: a crime measure against neighbourhood conditions, mapped, tested and regressed.

Widgets are wired to :func:`geo.analysis.factors.factor_layer` (the variables on the NPA layer),
:mod:`geo.stats.bivariate` (bivariate, partial and conditional LISA), :func:`geo.stats.moran.local_moran`
and :func:`geo.analysis.regression.spatial_regression`; names for people come from
:func:`geo.output.variables.metric_catalogue`. Every number comes from ``geo``.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

import app_pages
from app_pages import common, url_state
from app_pages.charts import show_chart
from app_pages.url_state import Param
from geo.analysis import factors
from geo.analysis.regression import RegressionResult, spatial_regression
from geo.caveats import (
    ECOLOGICAL_FALLACY_CAVEAT,
    REFERENCE_LAYERS_2013,
    RESIDENTS_NOT_DRIVERS,
    RESIDENTS_NOT_PEOPLE_INVOLVED,
)
from geo.errors import GeoDataError
from geo.maps import draw, palettes
from geo.output.variables import MetricInfo, metric_catalogue
from geo.settings import get_settings
from geo.stats.bivariate import local_moran_bv, local_moran_conditional, local_moran_partial
from geo.stats.moran import local_moran
from geo.stats.significance import LocalResult

#: The page's path, for links from the other pages.
PATH = "app_pages/factors.py"
DEFAULT_OUTCOME = "violent"
DEFAULT_CONDITIONS = ["m80"]
DEFAULT_YEAR = 2022
PERMUTATIONS = 999
MODELS = {
    "Automatic (the tests choose)": "auto",
    "Plain regression (OLS, no spatial term)": "ols",
    "Spatial lag (neighbours' crime feeds in)": "lag",
    "Spatial error (unmeasured causes cluster)": "error",
}
MODEL_NAMES = {
    "ols": "a plain regression (ordinary least squares)",
    "lag": "a spatial lag model (an area's value depends on its neighbours' values too)",
    "error": "a spatial error model (what the conditions leave unexplained clusters in space)",
}
LOCAL = {
    "Bivariate: crime here against the condition in the neighbours": "bv",
    "Partial: does the hot spot remain once the conditions are held fixed?": "partial",
    "Conditional: clusters of what the conditions do not explain": "conditional",
}
#: Residents are not the people involved: the crime-rate form of the residents-not-drivers caveat.
#: (Wording belongs in geo.caveats; kept here until it moves.)
EXPLANATION = """
**What this page does.** It puts a crime measure next to the conditions of each neighbourhood (NPA) from the
Quality of Life Explorer and asks three questions:

- Do high-crime areas sit next to areas with high (or low) values of a condition? (*bivariate LISA*)
- Does a crime hot spot remain once the conditions are held fixed? (*partial* and *conditional LISA*)
- How much does the crime measure differ between areas that differ in a condition, holding the others fixed?
  (*regression*, with a spatial term when the tests call for one)

Every test is a permutation test (999 random rearrangements, fixed seed) with the false discovery rate (FDR)
correction for testing hundreds of areas at once. An association between areas is not a cause, and it says
nothing about the people in them.
"""


# --------------------------------------------------------------------------- data (cached)


@common.data_cache(show_spinner="Loading the neighbourhood measures ...")
def catalogue() -> dict[str, MetricInfo]:
    """Every metric and crime measure for people (the NPA layer's crime years, the explorer's catalogue)."""
    from geo.layers import records

    layer = common.npa_layer()
    years = {k: factors.crime_years(layer, k) for k in factors.CRIME_MEASURES}
    return metric_catalogue(records.qol_catalogue(get_settings()), crime_years=years)


@common.data_cache(show_spinner="Loading the Quality of Life metrics ...")
def metrics() -> pd.DataFrame:
    """The tidy metric values (npa, metric, year, value)."""
    from geo.layers import records

    return records.qol_metrics(get_settings())[["npa", "metric", "year", "value"]]


@common.data_cache(show_spinner=False, max_entries=32)
def factor_layer(outcome: str, conditions: tuple[str, ...], year: int) -> factors.FactorLayer:
    """The NPA layer with the outcome and the conditions as columns."""
    return factors.factor_layer(common.npa_layer(), metrics(), outcome=outcome, conditions=conditions, year=year)


@common.data_cache(show_spinner="Fitting the regression ...", max_entries=32)
def regression(outcome: str, conditions: tuple[str, ...], year: int, model: str, standardise: bool) -> RegressionResult:
    """The spatial regression of the outcome on the conditions (queen weights)."""
    fl = factor_layer(outcome, conditions, year)
    return spatial_regression(
        fl.frame, fl.outcome.column, fl.condition_columns, weights="queen", model=model, standardise=standardise
    )


@common.data_cache(show_spinner="Testing every area against 999 random rearrangements ...", max_entries=32)
def local(kind: str, outcome: str, conditions: tuple[str, ...], year: int, condition: str) -> LocalResult:
    """A bivariate (``bv``, with ``condition``), partial or conditional LISA, or the plain LISA (``plain``).

    ``plain`` is the outcome's own LISA over the NPAs with every value, so it compares with the others.
    """
    fl = factor_layer(outcome, conditions, year)
    s = get_settings()
    opts: dict[str, Any] = {"weights": "queen", "permutations": PERMUTATIONS, "seed": s.seed, "correction": "fdr"}
    cols = fl.condition_columns
    if kind == "bv":
        column = next(c.column for c in fl.conditions if c.key == condition)
        return local_moran_bv(fl.frame, fl.outcome.column, column, **opts)
    if kind == "partial":
        return local_moran_partial(fl.frame, fl.outcome.column, covariates=cols, **opts)
    if kind == "conditional":
        return local_moran_conditional(fl.frame, fl.outcome.column, covariates=cols, **opts)
    frame = fl.frame.copy()
    frame.loc[frame[cols].isna().any(axis=1), fl.outcome.column] = float("nan")
    return local_moran(frame, fl.outcome.column, **opts)


# --------------------------------------------------------------------------- page


def page() -> None:
    """Draw the Factors page: choices, scatterplots, the local map, the regression, each with its caveats."""
    app_pages.heading("app_pages/factors.py")
    st.write(
        "Choose a crime measure, one or more neighbourhood conditions and a year: the scatterplots, the cluster map "
        "and the regression update. Every number comes with its interval and the caveats beside it."
    )
    with st.expander("What this page does, and what it cannot say"):
        st.markdown(EXPLANATION)
    _caveats()
    cat = catalogue()
    body_params = (
        Param("fa_outcome", "outcome", options=list(cat)),
        Param("fa_conditions", "conditions", options=[k for k in cat if k not in factors.CRIME_MEASURES], multi=True),
        Param("fa_model", "model", codes=MODELS),
        Param("fa_std", "std", kind=bool),
        Param("fa_local", "local", codes={label: code for label, code in LOCAL.items()}),
    )
    with url_state.bound(body_params):
        choice = _choices(cat)
        if choice is None:
            return
        outcome, conditions, year = choice
        try:
            fl = factor_layer(outcome, tuple(conditions), year)
        except GeoDataError as exc:
            st.warning(f"These choices cannot be analysed: {common.text(exc)}")
            return
        for note in fl.notes:
            st.caption(_sentence(_words(note, cat)))
        names = {v.column: cat[v.key] for v in (fl.outcome, *fl.conditions)}
        common.section(_scatters, fl, names)
        common.section(_local_section, fl, names, outcome, conditions, year)
        common.section(_regression_section, fl, names, outcome, conditions, year)


def _caveats() -> None:
    st.warning(f"**Areas, not people.** {common.text(ECOLOGICAL_FALLACY_CAVEAT)}")


def _sentence(text: str) -> str:
    return common.text(text[0].upper() + text[1:] + ("" if text.endswith(".") else "."))


def _words(text: str, cat: dict[str, MetricInfo]) -> str:
    """A library note with each metric id replaced by its title."""
    key, sep, rest = text.partition(" ")
    bare = key.rstrip(":")
    return f"{cat[bare].title}{key[len(bare) :]} {rest}" if sep and bare in cat else text


def _choices(cat: dict[str, MetricInfo]) -> tuple[str, list[str], int] | None:
    """The outcome, the conditions and the year chosen (None when no condition is chosen)."""
    keys = list(cat)
    outcome = st.selectbox(
        "Crime measure (or any neighbourhood measure) to explain",
        keys,
        key="fa_outcome",
        format_func=lambda k: cat[k].option,
        help="Type to search by title. Listed by category, with units and years.",
        **url_state.default("fa_outcome", keys.index(DEFAULT_OUTCOME), "index"),
    )
    options = [k for k in keys if k not in factors.CRIME_MEASURES and k != outcome]
    conditions = st.multiselect(
        "Conditions (neighbourhood measures)",
        options,
        key="fa_conditions",
        format_func=lambda k: cat[k].option,
        help="Type to search by title. Each condition is taken in the chosen year, or its nearest year with data.",
        **url_state.default("fa_conditions", [c for c in DEFAULT_CONDITIONS if c in options], "default"),
    )
    years = sorted(cat[outcome].years, reverse=True)
    if not years:
        st.warning(f"{common.text(cat[outcome].title)} has no years with data.")
        return None
    yp = Param(f"fa_year_{outcome}", "year", options=years)
    url_state.restore([yp])
    year = st.selectbox(
        "Year",
        years,
        key=f"fa_year_{outcome}",
        **url_state.default(f"fa_year_{outcome}", years.index(DEFAULT_YEAR) if DEFAULT_YEAR in years else 0, "index"),
    )
    url_state.store([yp])
    with st.expander("About these measures"):
        for k in [outcome, *conditions]:
            st.markdown(f"**{common.text(cat[k].label)}** — {common.text(cat[k].details)}")
    if not conditions:
        st.info("Choose at least one condition.")
        return None
    return outcome, list(conditions), int(year)


# --------------------------------------------------------------------------- scatterplots


def _scatters(fl: factors.FactorLayer, names: dict[str, MetricInfo]) -> None:
    st.subheader("Crime and its neighbours, crime and each condition")
    y = names[fl.outcome.column]
    plain = local("plain", fl.outcome.key, tuple(c.key for c in fl.conditions), fl.year, "")
    pts = pd.DataFrame(plain.frame[["npa", "lisa_z", "lisa_lag", "lisa_cluster"]]).dropna(subset=["lisa_z", "lisa_lag"])
    g = plain.global_moran
    moran = f"Moran's I = {g.I:.3f}" if g is not None else "Moran's I not computed"
    chart = (
        alt.Chart(pts)
        .mark_circle(size=40, opacity=0.85)
        .encode(
            x=alt.X("lisa_z:Q", title=f"{y.title}, this area (standard deviations)"),
            y=alt.Y("lisa_lag:Q", title="Average of its neighbours (standard deviations)"),
            color=alt.Color("lisa_cluster:N", title="LISA cluster", scale=_lisa_scale()),
            tooltip=[alt.Tooltip("npa:N", title="NPA"), alt.Tooltip("lisa_cluster:N", title="LISA cluster")],
        )
        .properties(height=320, title=f"{y.title} against its spatial lag ({moran})")
    )
    show_chart(
        chart,
        summary=f"Scatterplot of {len(pts):,} NPAs with every value: {y.label} in each area (across) against the "
        f"average of its neighbours (up), in standard deviations; {moran}.",
    )
    for c in fl.conditions:
        x = names[c.column]
        data = pd.DataFrame(fl.frame[["npa", c.column, fl.outcome.column]]).dropna()
        data.columns = ["NPA", x.label, y.label]
        chart = (
            alt.Chart(data)
            .mark_circle(size=35, opacity=0.7, color=palettes.ESTIMATE_COLOR)
            .encode(
                x=alt.X(f"{x.label}:Q", title=f"{x.label}, {c.year}"),
                y=alt.Y(f"{y.label}:Q", title=f"{y.label}, {fl.outcome.year}"),
                tooltip=["NPA:N", f"{x.label}:Q", f"{y.label}:Q"],
            )
            .properties(height=300)
        )
        show_chart(
            chart,
            summary=f"Scatterplot of {len(data):,} NPAs: {x.label} ({c.year}, across) against {y.label} "
            f"({fl.outcome.year}, up); {len(fl.frame) - len(data):,} NPAs without both values are left out.",
            data=data,
        )


def _lisa_scale() -> alt.Scale:
    return alt.Scale(domain=list(palettes.LISA_COLORS), range=list(palettes.LISA_COLORS.values()))


# --------------------------------------------------------------------------- local statistics


def _local_section(
    fl: factors.FactorLayer, names: dict[str, MetricInfo], outcome: str, conditions: list[str], year: int
) -> None:
    st.subheader("Where: the cluster map")
    kind = LOCAL[st.radio("Which local statistic", list(LOCAL), key="fa_local")]
    y = names[fl.outcome.column]
    condition = ""
    if kind == "bv":
        bp = Param("fa_bv_condition", "bvx", options=conditions)
        url_state.restore([bp])
        condition = st.selectbox(
            "Condition in the neighbours", conditions, key="fa_bv_condition",
            format_func=lambda k: names[next(c.column for c in fl.conditions if c.key == k)].label,
        )  # fmt: skip
        url_state.store([bp])
    res = local(kind, outcome, tuple(conditions), year, condition)
    prefix = {"bv": "bv_", "partial": "plisa_", "conditional": "clisa_"}[kind]
    cluster = f"{prefix}cluster"
    if kind == "bv":
        x = names[next(c.column for c in fl.conditions if c.key == condition)]
        title = f"{y.title} here against {x.title} in the neighbours"
        st.caption(
            "High-High: high crime measure in an area whose neighbours have high values of the condition; Low-High: "
            "low here among high neighbours; and so on. Significant at the FDR-corrected cutoff only."
        )
    else:
        held = ", ".join(names[c].title for c in fl.condition_columns)
        title = f"{y.title} with {held} held fixed"
        _remains(res, fl, cluster, held)
    counts = ", ".join(f"{lab} {n:,}" for lab, n in res.counts.items())
    cut = f"{res.cutoff:.3g}" if res.cutoff > 0 else "none (no area passes)"
    st.markdown(f"**{common.text(title)}.** {common.text(counts)}.")
    st.caption(
        f"{res.permutations:,} permutations, seed {res.seed}; α = {res.alpha:g} with the false discovery rate "
        f"correction → p-value cutoff {cut}; queen contiguity (shared border or corner)."
    )
    _listed(res, fl)
    view = res.frame[["npa", fl.outcome.column, cluster, f"{prefix}p", res.frame.geometry.name]]
    m = draw.categorical_map(
        view, cluster, colors=palettes.LISA_COLORS, legend_title=title, name_field="npa", name_alias="NPA",
        tooltip_fields=[fl.outcome.column, cluster, f"{prefix}p"], tooltip_aliases=[y.label, "Cluster", "Pseudo p"],
        tooltip_formats={f"{prefix}p": "{:.3f}"}, reference=common.reference_layers(),
    )  # fmt: skip
    common.show_map(m, key=f"fa_map_{kind}")
    st.caption(REFERENCE_LAYERS_2013)


def _remains(res: LocalResult, fl: factors.FactorLayer, cluster: str, held: str) -> None:
    """How many of the outcome's own hot spots (over the same NPAs) remain once the conditions are held fixed."""
    plain = local("plain", fl.outcome.key, tuple(c.key for c in fl.conditions), fl.year, "")
    before = set(plain.frame.loc[plain.frame["lisa_cluster"] == "High-High", "npa"])
    after = set(res.frame.loc[res.frame[cluster] == "High-High", "npa"])
    st.markdown(
        f"**Does the hot spot remain?** Without the conditions, {len(before):,} NPAs are hot spots (High-High); "
        f"with {common.text(held)} held fixed, {len(after):,} are, and {len(before & after):,} of the first "
        "remain. A hot spot that remains is not explained by these conditions alone (it may be by others)."
    )


def _listed(res: LocalResult, fl: factors.FactorLayer) -> None:
    """The NPAs left out: no value (Undefined) and no neighbour (Isolated), by number."""
    npa = fl.frame["npa"]
    for ids, what in ((res.undefined, "lack a value and are Undefined"), (res.islands, "have no neighbour with "
                      "every value and are Isolated")):  # fmt: skip
        if ids:
            nums = ", ".join(str(npa.loc[i]) for i in list(ids)[:40]) + (" ..." if len(ids) > 40 else "")
            st.caption(f"{len(ids):,} NPAs {what}: {nums}.")
    for w in res.warnings:
        st.caption(common.text(w.text))


# --------------------------------------------------------------------------- regression


def _regression_section(
    fl: factors.FactorLayer, names: dict[str, MetricInfo], outcome: str, conditions: list[str], year: int
) -> None:
    st.subheader("How much: the regression")
    left, right = st.columns(2)
    model = MODELS[left.radio("Model", list(MODELS), key="fa_model")]
    standardise = right.checkbox(
        "Standardised coefficients (in standard deviations)",
        key="fa_std",
        help="Compare conditions measured in different units: each coefficient is then the change, in standard "
        "deviations of the crime measure, for one standard deviation of the condition.",
    )
    res = regression(outcome, tuple(conditions), year, model, bool(standardise))
    st.markdown(f"**Model: {MODEL_NAMES[res.model]}.** Why: {common.text(res.decision)}.")
    dropped = res.n_units - res.n_used
    missing = "; ".join(f"{names[c].title if c in names else c}: {k:,}" for c, k in res.missing.items() if k)
    st.markdown(
        f"**{res.n_used:,} of {res.n_units:,} NPAs used**; {dropped:,} left out for a missing value"
        + (f" (missing — {common.text(missing)})." if missing else ".")
    )
    st.dataframe(coefficient_table(res, names), hide_index=True, width="stretch", key="fa_coefficients")
    texts = _term_texts(fl, names, res)
    for line in factors.coefficient_sentences(res, texts):
        st.markdown(f"- {common.text(line)}")
    st.warning(f"**Areas, not people.** {common.text(ECOLOGICAL_FALLACY_CAVEAT)}")
    st.caption(f"{RESIDENTS_NOT_PEOPLE_INVOLVED}{RESIDENTS_NOT_DRIVERS}")
    if res.impacts is not None:
        st.markdown("**Impacts** (a change in every area at once; indirect: through the neighbours)")
        st.dataframe(_impacts_table(res, names), hide_index=True, width="stretch", key="fa_impacts")
    _multicollinearity(res, names)
    with st.expander("The tests behind the choice of model"):
        st.dataframe(res.diagnostics.drop(columns=["value"]), hide_index=True, width="stretch")
        st.caption(common.text(res.extra.get("rule", "")))
    for w in res.warnings:
        st.caption(common.text(w.text))


def _label(term: str, names: dict[str, MetricInfo], res: RegressionResult) -> str:
    if term == "CONSTANT":
        return "Constant"
    if term == f"W_{res.dependent}":
        return "Spatial lag of the crime measure (rho)"
    if term == "lambda":
        return "Spatial error (lambda)"
    return names[term].label if term in names else term


def coefficient_table(res: RegressionResult, names: dict[str, MetricInfo]) -> pd.DataFrame:
    """The coefficients as shown: plain term, estimate, its interval, standard error and p-value."""
    pct = f"{res.confidence:.0%}"
    t = res.coefficients
    return pd.DataFrame(
        {
            "Term": [_label(x, names, res) for x in t["term"]],
            "Estimate": t["estimate"].to_numpy(),
            f"{pct} interval, low": t["ci_low"].to_numpy(),
            f"{pct} interval, high": t["ci_high"].to_numpy(),
            "Standard error": t["std_error"].to_numpy(),
            "p-value": t["p_value"].to_numpy(),
        }
    )


def _impacts_table(res: RegressionResult, names: dict[str, MetricInfo]) -> pd.DataFrame:
    pct = f"{res.confidence:.0%}"
    t = res.impacts if res.impacts is not None else pd.DataFrame()
    return pd.DataFrame(
        {
            "Term": [_label(x, names, res) for x in t["term"]],
            "Impact": t["impact"].to_numpy(),
            "Estimate": t["estimate"].to_numpy(),
            f"{pct} interval, low": t["ci_low"].to_numpy(),
            f"{pct} interval, high": t["ci_high"].to_numpy(),
        }
    )


def _term_texts(
    fl: factors.FactorLayer, names: dict[str, MetricInfo], res: RegressionResult
) -> dict[str, factors.TermText]:
    out = {}
    for v in (fl.outcome, *fl.conditions):
        info = names[v.column]
        step = factors.round_step(fl.frame[v.column].to_numpy(), percent=info.units == "percent")
        out[v.column] = factors.TermText(info.phrase, info.units or "units", step)
    return out


def _multicollinearity(res: RegressionResult, names: dict[str, MetricInfo]) -> None:
    vif = res.vif.rename(columns={"term": "Term", "vif": "Variance inflation factor"})
    if "Term" in vif:
        vif["Term"] = [_label(x, names, res) for x in vif["Term"]]
    st.markdown(
        f"**Do the conditions overlap?** Condition number {res.condition_number:.1f} (above 30: the conditions "
        "are close to one another and their separate coefficients are unstable). Variance inflation factors "
        "(above 5 to 10: a condition is largely predicted by the others):"
    )
    st.dataframe(vif, hide_index=True, width="stretch", key="fa_vif")


if __name__ == "__main__":
    common.guarded(page)()
