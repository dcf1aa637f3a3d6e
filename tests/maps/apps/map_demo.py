"""A tiny Streamlit page that shows one offline map, for the browser tests.

Run by tests/test_maps.py through tests/browser_utils.py, which starts Streamlit with
``--server.enableStaticServing true`` from a temporary folder holding a link to this
file and a link ``static`` -> the repository's ``static/`` (Streamlit serves the
``static`` folder next to the main script), with the repository root on PYTHONPATH.

Query parameters:
  ``?map=choropleth`` (default) | ``categorical`` | ``cdn`` — the last is a plain folium map
  with folium's default CDN links, to prove that a blocked network really blanks a map.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import streamlit as st
from shapely.geometry import box
from streamlit_folium import st_folium

from geo.maps.draw import categorical_map, choropleth
from geo.maps.palettes import LISA_COLORS

HOSTILE = "<img src=x onerror=alert(1)>"

st.set_page_config(page_title="map demo", layout="wide")


@st.cache_data
def demo_frame() -> gpd.GeoDataFrame:
    """Six 2 km squares in NC State Plane (feet), one with a hostile name, one with no value."""
    x0, y0, size = 1_440_000.0, 540_000.0, 6_560.0
    cells = [
        box(x0 + i * size, y0 + j * size, x0 + (i + 1) * size, y0 + (j + 1) * size) for j in range(2) for i in range(3)
    ]
    return gpd.GeoDataFrame(
        {
            "name": ["Alpha", HOSTILE, "Gamma", "Delta", "Epsilon <b>bold</b>", "Zeta"],
            "rate": [1.0, 5.0, 10.0, None, 20.0, 50.0],
            "cluster": ["High-High", "Low-Low", "Not significant", None, "High-Low", "Low-High"],
        },
        index=["npa-1", "npa-2", "npa-3", "npa-4", "npa-5", "npa-6"],
        geometry=cells,
        crs="EPSG:2264",
    )


which = st.query_params.get("map", "choropleth")
gdf = demo_frame()
if which == "categorical":
    m = categorical_map(
        gdf, "cluster", colors=LISA_COLORS, hide_empty=True, name_field="name", legend_title="LISA cluster"
    )
elif which == "cdn":
    m = folium.Map(location=[35.2, -80.8], zoom_start=11, tiles=None)  # folium's default CDN links
    folium.GeoJson(gdf.to_crs("EPSG:4326")[["geometry"]]).add_to(m)
else:
    m = choropleth(
        gdf, "rate", k=3, tooltip_fields=["rate"], tooltip_aliases=["Rate <per 1,000>"], name_field="name",
        legend_title="Rate <script>window.__xss=1</script>",
    )  # fmt: skip

st.title("Offline map demo")
out = st_folium(m, key=f"demo_{which}", height=480, width=720, returned_objects=["last_active_drawing"])
clicked = (out or {}).get("last_active_drawing") or {}
st.text(f"Clicked feature: {clicked.get('id', 'none')}")
