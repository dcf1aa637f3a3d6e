"""Export: download any layer with its attributes as GeoJSON, GeoPackage or CSV."""

from __future__ import annotations

import streamlit as st

from app_pages import common
from geo.layers.catalog import CATALOG, cache_key, layer_names
from geo.layers.filters import StopFilter
from geo.output.export import MEDIA_TYPES, layer_bytes
from geo.settings import get_settings

LAYERS = {CATALOG[name].label: name for name in layer_names("export")}
FORMATS = {
    "GeoJSON (RFC 7946, WGS 84)": "geojson",
    "GeoPackage (NC State Plane feet)": "gpkg",
    "CSV (WKT geometry)": "csv",
}


@st.cache_data(show_spinner="Preparing the file ...")
def _bytes(layer: str, fmt: str, filters: StopFilter, key: str) -> bytes:
    return layer_bytes(common.layer(layer, filters), fmt)


def page() -> None:
    """Draw the export page: choose a layer and a format, preview it, download it."""
    st.title("Export layers")
    st.write(
        "Download a layer with all its attributes. GeoJSON follows RFC 7946 (longitude/latitude, WGS 84); "
        "the GeoPackage keeps NC State Plane (EPSG:2264, US feet), the CRS used for analysis."
    )
    label = st.selectbox("Layer", list(LAYERS), key="ex_layer")
    fmt_label = st.radio("Format", list(FORMATS), key="ex_fmt", horizontal=True)
    layer, fmt = LAYERS[label], FORMATS[fmt_label]
    filters = common.current_filters() if layer == "divisions" else StopFilter()
    if layer == "divisions":
        st.caption(f"Stop figures count: {common.describe_filters(filters)}.")
    frame = common.layer(layer, filters)
    st.write(f"{len(frame):,} features, {len(frame.columns) - 1} attributes.")
    st.dataframe(frame.drop(columns=frame.geometry.name).head(20), width="stretch", hide_index=True)
    st.download_button(
        f"Download {layer}.{fmt}",
        data=_bytes(layer, fmt, filters, cache_key(layer, settings=get_settings(), filters=filters)),
        file_name=f"cmpd_{layer}.{fmt}",
        mime=MEDIA_TYPES[fmt],
        key="ex_download",
    )


if __name__ == "__main__":
    common.guarded(page)()
