"""Map explorer: a classed choropleth of divisions or neighborhoods."""

from __future__ import annotations

import streamlit as st

from app_pages import common
from geo.caveats import RESIDENTS_NOT_DRIVERS, STOPS_NO_COORDINATES
from geo.maps import draw
from geo.maps.palettes import CHOROPLETH_CMAPS
from geo.output.variables import variables_for

SCHEMES = {
    "Quantiles": "quantiles",
    "Fisher-Jenks": "fisher_jenks",
    "Natural breaks": "natural_breaks",
    "Equal interval": "equal_interval",
    "Box map": "box_plot",
}


def page() -> None:
    """Draw the map explorer: a layer, a variable and a classification drive one choropleth and its table."""
    st.title("Map explorer")
    left, right = st.columns([1, 3])
    with left:
        layer = st.radio("Layer", ["Divisions", "Neighborhoods (NPA)"], key="mx_layer", horizontal=False)
        filters = common.current_filters()
        if layer == "Divisions":
            frame = common.division_layer(filters)
            key = "divisions"
            name_field = "division"
        else:
            frame = common.npa_layer()
            key = "npa"
            name_field = "npa"
        variables = variables_for(key, frame)
        groups = list(dict.fromkeys(v.group for v in variables))
        group = st.selectbox("Topic", groups, key=f"mx_group_{key}")
        options = [v for v in variables if v.group == group]
        var = st.selectbox("Variable", options, format_func=lambda v: v.label, key=f"mx_var_{key}_{group}")
        scheme_label = st.selectbox("Classification", list(SCHEMES), key="mx_scheme")
        k = st.slider("Classes", 3, 9, 5, key="mx_k", disabled=SCHEMES[scheme_label] == "box_plot")
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
        tips = list(
            dict.fromkeys([var.column, "pop_2020", *(["stops", "division"] if key == "divisions" else ["division"])])
        )
        tips = [t for t in tips if t in frame.columns and t != name_field]
        fmts = {v.column: v.fmt for v in variables if v.column in tips}
        labels = {v.column: v.label for v in variables}
        m = draw.choropleth(
            frame,
            var.column,
            scheme=SCHEMES[scheme_label],
            k=k,
            cmap=cmap,
            tooltip_fields=tips,
            tooltip_aliases=[labels.get(t, t.replace("_", " ").capitalize()) for t in tips],
            tooltip_formats=fmts,
            name_field=name_field,
            name_alias="Division" if key == "divisions" else "NPA",
            legend_title=var.label,
            value_format=var.fmt,
        )
        common.show_map(m, key=f"mx_map_{key}")
        table = frame[[name_field, *tips]].sort_values(var.column, ascending=False, na_position="last")
        st.dataframe(table, hide_index=True, width="stretch", height=260)


if __name__ == "__main__":
    common.guarded(page)()
