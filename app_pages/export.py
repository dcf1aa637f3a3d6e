"""Export: download any layer with its attributes as GeoJSON, GeoPackage or CSV."""

from __future__ import annotations

import streamlit as st

from app_pages import common
from geo.output.export import MEDIA_TYPES, layer_bytes

LAYERS = {
    "Divisions (stops, population, shootings)": "divisions",
    "Neighborhoods / NPAs (population, crime by year)": "npa",
    "Officer-involved shootings (points)": "ois",
    "Incident sample (points)": "incidents",
}
FORMATS = {"GeoJSON (RFC 7946, WGS 84)": "geojson", "GeoPackage (NC State Plane feet)": "gpkg", "CSV (WKT geometry)": "csv"}


@st.cache_data(show_spinner="Preparing the file ...")
def _bytes(layer: str, fmt: str, filters: tuple) -> bytes:
    return layer_bytes(_frame(layer, filters), fmt)


def _frame(layer: str, filters: tuple):
    if layer == "divisions":
        return common.division_layer(filters)
    if layer == "npa":
        return common.npa_layer()
    return common.ois() if layer == "ois" else common.incidents()


def page() -> None:
    st.title("Export layers")
    st.write(
        "Download a layer with all its attributes. GeoJSON follows RFC 7946 (longitude/latitude, WGS 84); "
        "the GeoPackage keeps NC State Plane (EPSG:2264, US feet), the CRS used for analysis."
    )
    label = st.selectbox("Layer", list(LAYERS), key="ex_layer")
    fmt_label = st.radio("Format", list(FORMATS), key="ex_fmt", horizontal=True)
    layer, fmt = LAYERS[label], FORMATS[fmt_label]
    filters = common.current_filters() if layer == "divisions" else ()
    if layer == "divisions":
        st.caption(f"Stop figures count: {common.describe_filters(filters)}.")
    frame = _frame(layer, filters)
    st.write(f"{len(frame):,} features, {len(frame.columns) - 1} attributes.")
    st.dataframe(frame.drop(columns=frame.geometry.name).head(20), width="stretch", hide_index=True)
    st.download_button(
        f"Download {layer}.{fmt}",
        data=_bytes(layer, fmt, filters),
        file_name=f"cmpd_{layer}.{fmt}",
        mime=MEDIA_TYPES[fmt],
        key="ex_download",
    )


if __name__ == "__main__":
    common.guarded(page)()
