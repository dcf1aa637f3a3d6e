"""The overlays drawn onto a live map: the dashed outline of a group of areas and the zoom to them once."""

from __future__ import annotations

import json
import re

import folium
import geopandas as gpd
import pytest
from shapely.geometry import box

from geo.maps import overlays
from geo.maps.palettes import SELECTED_OUTLINE_COLOR


@pytest.fixture
def squares() -> gpd.GeoDataFrame:
    """Two squares near Charlotte in EPSG:4326: together they span 80.9–80.7 W, 35.1–35.3 N."""
    return gpd.GeoDataFrame(
        {"npa": [1, 2]},
        geometry=[box(-80.9, 35.1, -80.8, 35.2), box(-80.8, 35.2, -80.7, 35.3)],
        crs="EPSG:4326",
    )


def _script(element) -> str:
    """The map script with ``element`` in a feature group, as streamlit-folium would add it."""
    m = folium.Map(tiles=None)
    group = folium.FeatureGroup(name="overlay", control=False)
    element.add_to(group)
    group.add_to(m)
    return m.get_root().render()


def test_fit_once_zooms_to_the_total_bounds_once_per_key(squares):
    html = _script(overlays.fit_once(squares, key="abc123"))
    calls = re.findall(r"map\.fitBounds\((\[\[.*?\]\])", html)
    assert len(calls) == 1
    assert json.loads(calls[0]) == [[35.1, -80.9], [35.3, -80.7]]  # [[south, west], [north, east]] by hand
    assert html.count('map._fitOnceKey !== "abc123"') == 1  # zoomed only when the key is new
    assert "maxZoom: 15" in html


def test_fit_once_without_areas_forgets_the_last_key(squares):
    for element in (overlays.fit_once(None), overlays.fit_once(squares.iloc[:0])):
        html = _script(element)
        assert "map._fitOnceKey = null" in html and "fitBounds" not in html


def test_fit_once_writes_the_key_as_json_not_as_script():
    html = _script(overlays.FitOnce([[0.0, 0.0], [1.0, 1.0]], key='"</script><b>'))
    assert "</script><b>" not in html


def test_dashed_outline_is_dashed_not_filled_and_not_interactive(squares):
    outline = overlays.dashed_outline(squares, class_name="nb-match")
    style = outline.style_function({"type": "Feature"})
    assert style["dashArray"] == "6 4" and style["fill"] is False
    assert style["color"] == SELECTED_OUTLINE_COLOR
    html = _script(outline)
    assert '"dashArray": "6 4"' in html or '"dashArray":"6 4"' in html
    assert html.count('"className": "nb-match"') + html.count('"className":"nb-match"') >= 1
    assert '"interactive": false' in html or '"interactive":false' in html
    assert len(outline.data["features"]) == 2


def test_dashed_outline_takes_a_style_without_changing_the_default(squares):
    outline = overlays.dashed_outline(squares, style={"color": "#123456", "dashArray": "2 2", "fill": False})
    assert outline.style_function({})["color"] == "#123456"
    assert overlays.DASHED_OUTLINE_STYLE["dashArray"] == "6 4"
