"""Export: download any layer with its attributes, data dictionary and metadata."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import app_pages
from app_pages import common
from geo.layers.catalog import CATALOG, cache_key, layer_names
from geo.layers.filters import StopFilter
from geo.output.export import MEDIA_TYPES, export_zip, layer_bytes
from geo.settings import get_settings

LAYERS = {CATALOG[name].label: name for name in layer_names("export")}
FORMATS = {
    "GeoJSON (RFC 7946, WGS 84)": "geojson",
    "GeoPackage (NC State Plane feet)": "gpkg",
    "CSV (WKT geometry)": "csv",
}
#: Headings of the data dictionary's columns (:data:`geo.output.dictionary.DICTIONARY_COLUMNS`).
DICTIONARY_LABELS = {
    "name": "Column in the file",
    "label": "Label",
    "meaning": "Meaning",
    "units": "Units",
    "source": "Source",
    "source_file": "Source file",
    "year": "Year",
    "type": "Type",
}


@st.cache_data(show_spinner="Preparing the file ...")
def _bytes(layer: str, fmt: str, filters: StopFilter, key: str) -> bytes:
    return layer_bytes(common.layer(layer, filters), fmt, layer_name=layer)


@st.cache_data(show_spinner="Preparing the package ...")
def _package(layer: str, fmt: str, filters: StopFilter, key: str) -> tuple[bytes, tuple[str, ...], pd.DataFrame]:
    data, res = export_zip(common.layer(layer, filters), fmt, layer_name=layer, filters=filters)
    return data, res.notes, res.dictionary


def page() -> None:
    """Draw the export page: choose a layer and a format, preview it, download it with its dictionary."""
    app_pages.heading("app_pages/export.py")
    st.write(
        "Download a layer with all its attributes. GeoJSON follows RFC 7946 (longitude/latitude, WGS 84, "
        "6 decimals); the GeoPackage keeps NC State Plane (EPSG:2264, US feet), the CRS used for analysis. "
        "The package (.zip) adds the data dictionary (what each column means, its units, source and year) "
        "and the metadata (software version, stop filter, data sources and when they were fetched)."
    )
    label = st.selectbox("Layer", list(LAYERS), key="ex_layer")
    fmt_label = st.radio("Format", list(FORMATS), key="ex_fmt", horizontal=True)
    layer, fmt = LAYERS[label], FORMATS[fmt_label]
    filters = common.current_filters() if layer == "divisions" else StopFilter()
    if layer == "divisions":
        st.caption(f"Stop figures count: {common.describe_filters(filters)}.")
    frame = common.layer(layer, filters)
    st.write(f"{len(frame):,} features, {len(frame.columns) - 1} attributes.")
    key = cache_key(layer, settings=get_settings(), filters=filters)
    data, notes, dictionary = _package(layer, fmt, filters, key)
    preview, config = _labelled(frame.drop(columns=frame.geometry.name).head(20), dictionary)
    st.caption("The first 20 rows. Headings are the columns' labels; hover over one for its name in the file.")
    st.dataframe(preview, width="stretch", hide_index=True, column_config=config)
    for note in notes:
        st.info(note)
    left, right = st.columns(2)
    left.download_button(
        f"Download {layer}.{fmt}",
        data=_bytes(layer, fmt, filters, key),
        file_name=f"cmpd_{layer}.{fmt}",
        mime=MEDIA_TYPES[fmt],
        key="ex_download",
    )
    right.download_button(
        f"Download {layer}.zip (with dictionary and metadata)",
        data=data,
        file_name=f"cmpd_{layer}_{fmt}.zip",
        mime="application/zip",
        key="ex_download_zip",
    )
    with st.expander("Data dictionary"):
        st.dataframe(
            dictionary.rename(columns=DICTIONARY_LABELS),
            width="stretch",
            hide_index=True,
            column_config={"Year": st.column_config.NumberColumn(format="%d")},  # 2011, not 2,011
        )


def _labelled(table: pd.DataFrame, dictionary: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, object]]:
    """The table with each column headed by its dictionary label, and a column config naming the file's column."""
    info = dictionary.set_index("name")
    names: dict[str, str] = {}
    config: dict[str, object] = {}
    for col in table.columns:
        label = str(info["label"].get(col) or "") if col in info.index else ""
        label = label or str(col)
        label = label if label not in names.values() else f"{label} ({col})"
        names[col] = label
        meaning = str(info["meaning"].get(col) or "") if col in info.index else ""
        is_year = str(col) == "year" or str(col).endswith("_year")
        help_text = f"In the file: {col}. {meaning}".strip()
        config[label] = (
            st.column_config.NumberColumn(label, help=help_text, format="%d")
            if is_year and pd.api.types.is_numeric_dtype(table[col])
            else st.column_config.Column(label, help=help_text)
        )
    return table.rename(columns=names), config


if __name__ == "__main__":
    common.guarded(page)()
