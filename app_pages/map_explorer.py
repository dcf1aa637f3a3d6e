"""Map explorer: a classed choropleth of divisions or neighborhoods."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

import app_pages
from app_pages import common, url_state
from app_pages.url_state import Param
from geo.caveats import REFERENCE_LAYERS_2013, RESIDENTS_NOT_DRIVERS, STOPS_NO_COORDINATES
from geo.layers.filters import StopFilter
from geo.maps import draw
from geo.maps.palettes import CHOROPLETH_CMAPS
from geo.output.dictionary import describe_column
from geo.output.variables import Variable, variables_for

SCHEMES = {
    "Quantiles": "quantiles",
    "Fisher-Jenks": "fisher_jenks",
    "Natural breaks": "natural_breaks",
    "Equal interval": "equal_interval",
    "Box map": "box_plot",
}
LAYERS = {"Divisions": "divisions", "Neighborhoods (NPA)": "npa"}
CLASSES = list(range(3, 10))
#: The page's choices in the URL (the topic and the variable are added once the layer is known).
PARAMS = (
    Param("mx_layer", "layer", codes=LAYERS),
    Param("mx_scheme", "scheme", codes=SCHEMES),
    Param("mx_k", "classes", options=CLASSES),
    Param("mx_cmap", "colours", options=list(CHOROPLETH_CMAPS)),
)
#: Table headings of the name and context columns (the variables bring their own labels).
NAME_LABELS = {"division": "Division", "npa": "NPA", "pop_2020": "Residents (2020)", "stops": "Stops"}


def page() -> None:
    """Draw the map explorer: a layer, a variable and a classification drive one choropleth and its table."""
    app_pages.heading("app_pages/map_explorer.py")
    with url_state.bound(PARAMS):
        _page_body()


def _variable(key: str, variables: list[Variable]) -> Variable:
    """The topic and the variable, each in the URL."""
    groups = list(dict.fromkeys(v.group for v in variables))
    gp = Param(f"mx_group_{key}", "topic", options=groups)
    url_state.restore([gp])
    group = st.selectbox("Topic", groups, key=f"mx_group_{key}")
    url_state.store([gp])
    options = [v for v in variables if v.group == group]
    vp = Param(f"mx_var_{key}_{group}", "variable", codes={v: v.column for v in options})
    url_state.restore([vp])
    var: Variable = st.selectbox("Variable", options, format_func=lambda v: v.label, key=f"mx_var_{key}_{group}")
    url_state.store([vp])
    return var


def _page_body() -> None:
    left, right = st.columns([1, 3])
    with left:
        key = LAYERS[st.radio("Layer", list(LAYERS), key="mx_layer", horizontal=False)]
        filters = common.current_filters()
        frame = common.division_layer(filters) if key == "divisions" else common.npa_layer()
        name_field = "division" if key == "divisions" else "npa"
        variables = variables_for(key, frame)
        var = _variable(key, variables)
        scheme_label = st.selectbox("Classification", list(SCHEMES), key="mx_scheme")
        k = st.slider(
            "Classes",
            CLASSES[0],
            CLASSES[-1],
            key="mx_k",
            disabled=SCHEMES[scheme_label] == "box_plot",
            **url_state.default("mx_k", 5),
        )
        cmap = st.selectbox(
            "Colours", list(CHOROPLETH_CMAPS), key="mx_cmap", help="All are readable by colour-blind users."
        )
    with right:
        if key == "divisions":
            st.caption(STOPS_NO_COORDINATES)
            if var.stop_based:
                st.caption(f"Stops counted: {common.describe_filters(filters)}.")
            if "per_1000" in var.column:
                st.info(RESIDENTS_NOT_DRIVERS)
        if var.column == "incidents":
            common.incident_caption()
        tips = _tips(key, var, frame, name_field)
        labels = _labels(key, variables, [name_field, *tips])
        stop_filters = filters if key == "divisions" else None  # the NPA layer does not depend on them
        m = common.copy_map(_drawn_map(key, stop_filters, var.column, SCHEMES[scheme_label], int(k), cmap))
        common.show_map(m, key=f"mx_map_{key}")
        st.caption(REFERENCE_LAYERS_2013)
        table = pd.DataFrame(frame[[name_field, *tips]]).sort_values(var.column, ascending=False, na_position="last")
        st.dataframe(table.rename(columns=labels), hide_index=True, width="stretch", height=260)


def _tips(key: str, var: Variable, frame: pd.DataFrame, name_field: str) -> list[str]:
    """The tooltip's columns: the variable, the population, and the stops and division where they apply."""
    tips = list(
        dict.fromkeys([var.column, "pop_2020", *(["stops", "division"] if key == "divisions" else ["division"])])
    )
    return [t for t in tips if t in frame.columns and t != name_field]


@common.data_cache(resource=True, show_spinner="Drawing the map ...", max_entries=16, ttl=3600)
def _drawn_map(key: str, filters: StopFilter | None, column: str, scheme: str, k: int, cmap: str) -> Any:
    """The choropleth for these choices, drawn once for every session (issue 15: shared work); copy it to show it.

    ``filters`` is ``None`` for the NPA layer, whose values do not depend on the stop filters.
    """
    frame = common.division_layer(filters) if filters is not None else common.npa_layer()
    name_field = "division" if key == "divisions" else "npa"
    variables = variables_for(key, frame)
    var = next(v for v in variables if v.column == column)
    tips = _tips(key, var, frame, name_field)
    labels = _labels(key, variables, [name_field, *tips])
    return draw.choropleth(
        frame,
        column,
        scheme=scheme,
        k=k,
        cmap=cmap,
        tooltip_fields=tips,
        tooltip_aliases=[labels[t] for t in tips],
        tooltip_formats={v.column: v.fmt for v in variables if v.column in tips},
        name_field=name_field,
        name_alias=labels[name_field],
        legend_title=var.label,
        value_format=var.fmt,
        reference=common.reference_layers(),
    )


def _labels(key: str, variables: list[Variable], columns: list[str]) -> dict[str, str]:
    """A heading for each column: the variable's label, else the data dictionary's, else the column in words."""
    by_variable = {v.column: v.label for v in variables}
    out: dict[str, str] = {}
    for c in columns:
        info = describe_column(c, layer=key)
        label = by_variable.get(c) or NAME_LABELS.get(c) or (info.label if info else c.replace("_", " ").capitalize())
        out[c] = label if label not in out.values() else f"{label} ({c})"
    return out


if __name__ == "__main__":
    common.guarded(page)()
