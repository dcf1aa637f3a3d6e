"""Reference layers on a map: names in the layer control, labels by zoom, escaping, size, offline."""

from __future__ import annotations

import re

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from geo.errors import CRSError
from geo.ingest.reference import LAYER_COLUMNS, ReferenceLayers, load_reference_layers
from geo.layers import build
from geo.maps import assets, reference
from geo.maps.draw import choropleth
from geo.maps.reference import OSM_TILES, REFERENCE_LAYER_NAMES, add_reference_layers
from tests.helpers.browser import ROOT, ensure_vendored, new_offline_page, screenshot
from tests.maps.test_maps import HOSTILE, decode_polyline

URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.\-]+\.[A-Za-z]{2,}[^\s"'<>)]*""")


@pytest.fixture(scope="module")
def real(settings):
    layers, _ = load_reference_layers(settings=settings)
    npa = build.npa_layer(settings)
    return {"layers": layers, "npa": npa, "divisions": build.divisions(settings)}


@pytest.fixture(scope="module")
def full_map(real):
    m = choropleth(real["npa"], "rate_pop_2022", name_field="npa", legend_title="Violent crime rate, 2022")
    add_reference_layers(m, real["layers"], divisions=real["divisions"])
    return m


def test_polyline_encoding_matches_the_published_example():
    # Google's documented example: (38.5, -120.2), (40.7, -120.95), (43.252, -126.453)
    xy = np.array([[-120.2, 38.5], [-120.95, 40.7], [-126.453, 43.252]])
    assert reference.encode(xy, 5) == "_p~iF~ps|U_ulLnnqC_mqNvxq`@"
    assert decode_polyline(reference.encode(xy, 5)) == [(38.5, -120.2), (40.7, -120.95), (43.252, -126.453)]


def test_full_map_has_every_layer_and_stays_small(full_map):
    page = full_map.get_root().render()
    for name in REFERENCE_LAYER_NAMES.values():
        assert name in page
    assert "OpenStreetMap tiles (needs internet)" in page
    size = assets.map_html_size(full_map)
    assert size <= 800 * 1024, size
    # the only web address on the page is the optional tile layer's template
    assert set(URL.findall(page)) == {OSM_TILES}
    assert assets.offline_problems(full_map, include_tiles=False) == []


def test_labels_are_in_the_page(full_map):
    page = full_map.get_root().render()
    for text in ('"Monroe Rd"', '"S Tryon St"', '"28205"', '"Central"', '"Plaza-Midwood"', '"District 1"'):
        assert text in page, text
    assert page.count("geo-ref-label") >= 6 and "map.getZoom() >= 13" in page


def test_layer_control_comes_after_the_layers(full_map):
    page = full_map.get_root().render()
    control = page.index("L.control.layers(")
    groups = [m.start() for m in re.finditer(r"var feature_group_\w+ = L\.featureGroup", page)]
    assert len(groups) == len(REFERENCE_LAYER_NAMES) and max(groups) < control
    assert sum(isinstance(c, folium.LayerControl) for c in full_map._children.values()) == 1


def test_only_roads_and_divisions_show_at_first(full_map):
    groups = {c.layer_name: c.show for c in full_map._children.values() if isinstance(c, folium.FeatureGroup)}
    assert groups == {name: key in ("roads", "divisions") for key, name in REFERENCE_LAYER_NAMES.items()}
    tiles = [c for c in full_map._children.values() if isinstance(c, folium.TileLayer)]
    assert len(tiles) == 1 and tiles[0].show is False and tiles[0].overlay


def test_roads_are_drawn_where_they_are(real):
    m = assets.offline_map([-81.06, 35.0, -80.55, 35.52])
    add_reference_layers(m, real["layers"], include=["roads"], osm_tiles=False)
    page = m.get_root().render()
    encoded = re.findall(r'\[\d,"((?:[^"\\]|\\.)*)"\]', page)
    lines = [decode_polyline(e.encode().decode("unicode_escape")) for e in encoded]
    assert len(lines) > 300
    roads = real["layers"].roads.to_crs(4326)
    lat = np.concatenate([[p[0] for p in ln] for ln in lines])
    lon = np.concatenate([[p[1] for p in ln] for ln in lines])
    b = roads.total_bounds
    assert (
        b[0] - 1e-4 <= lon.min() and lon.max() <= b[2] + 1e-4 and b[1] - 1e-4 <= lat.min() and lat.max() <= b[3] + 1e-4
    )
    # every drawn vertex lies within 15 m of a real road (10 m simplification, 5-decimal rounding)
    pts = gpd.GeoSeries(gpd.points_from_xy(lon[::50], lat[::50]), crs=4326).to_crs(2264)
    near = roads.to_crs(2264).sindex.nearest(pts, return_distance=True)[1]
    assert near.max() < 15 / 0.3048
    assert "Main roads" in page and assets.offline_problems(m) == []


# ----------------------------------------------------------------------- hand-made layers


def _layers(**frames: gpd.GeoDataFrame) -> ReferenceLayers:
    blank = {k: gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=2264) for k, cols in LAYER_COLUMNS.items()}
    return ReferenceLayers(**{**blank, **frames})


@pytest.fixture
def hostile_layers() -> ReferenceLayers:
    x0, y0 = 1_440_000.0, 540_000.0
    roads = gpd.GeoDataFrame(
        {"row": [1], "objectid": [1], "name": [HOSTILE], "street_type": ["RD"], "road_class": ["road"]},
        geometry=[LineString([(x0, y0), (x0 + 5_000, y0 + 100)])],
        crs=2264,
    )
    marks = gpd.GeoDataFrame(
        {"row": [1], "kind": ["park"], "name": ["{{ 7*7 }} {% if %} & </script>"], "category": [""], "address": [""]},
        geometry=[Point(x0 + 100, y0 + 100)],
        crs=2264,
    )
    zips = gpd.GeoDataFrame({"row": [1], "zipcode": ["{#x#}"], "post_office_city": [""]},
                            geometry=[box(x0, y0, x0 + 3_000, y0 + 3_000)], crs=2264)  # fmt: skip
    return _layers(roads=roads, landmarks=marks, zipcodes=zips)


def test_text_from_the_data_is_escaped(hostile_layers):
    m = assets.offline_map([-80.9, 35.1, -80.8, 35.2])
    add_reference_layers(m, hostile_layers, show=["roads", "landmarks", "zipcodes"])
    page = m.get_root().render()
    assert HOSTILE not in page and "<img" not in page
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in page  # still there, as escaped text
    assert "\\u0026lt;/script\\u0026gt;" in page
    # branca renders scripts through Jinja twice: template syntax from the data must come out as text
    assert "{\\u007b 7*7 }} {\\u0025 if %} \\u0026amp;" in page and "{\\u0023x#}" in page


def test_options_are_checked(hostile_layers, grid_divisions):
    m = assets.offline_map([-80.9, 35.1, -80.8, 35.2])
    with pytest.raises(ValueError, match="unknown layer"):
        add_reference_layers(m, hostile_layers, show=["motorways"])
    with pytest.raises(TypeError, match="not a str"):
        add_reference_layers(m, hostile_layers, include="roads")
    with pytest.raises(TypeError, match="folium.Map"):
        add_reference_layers("map", hostile_layers)  # type: ignore[arg-type]
    with pytest.raises(CRSError, match="divisions"):
        add_reference_layers(m, hostile_layers, divisions=grid_divisions.set_crs(None, allow_override=True))


@pytest.fixture
def grid_divisions() -> gpd.GeoDataFrame:
    x0, y0 = 1_440_000.0, 540_000.0
    return gpd.GeoDataFrame(
        {"division": ["West Division", "East Division"], "short_name": ["West", "East"]},
        geometry=[box(x0, y0, x0 + 2_000, y0 + 2_000), box(x0 + 2_000, y0, x0 + 4_000, y0 + 2_000)],
        crs=2264,
    )


def test_empty_layers_are_skipped_and_shared_borders_drawn_once(grid_divisions):
    m = assets.offline_map([-80.9, 35.1, -80.8, 35.2])
    add_reference_layers(m, _layers(), divisions=grid_divisions, osm_tiles=False)
    page = m.get_root().render()
    assert "Police divisions" in page and "Main roads" not in page and "Landmarks" not in page
    assert '"West"' in page and '"East"' in page
    assert not any(isinstance(c, folium.TileLayer) for c in m._children.values())
    encoded = re.findall(r'\[0,"((?:[^"\\]|\\.)*)"\]', page)
    drawn = shapely.union_all([LineString([(lo, la) for la, lo in decode_polyline(e)]) for e in encoded])
    edges = grid_divisions.to_crs(4326).boundary.union_all()
    assert drawn.length == pytest.approx(edges.length, rel=1e-3)
    # seven unit edges (the middle one shared): drawn once, not twice
    assert sum(LineString([(lo, la) for la, lo in decode_polyline(e)]).length for e in encoded) == pytest.approx(
        edges.length, rel=1e-3
    )


# ----------------------------------------------------------------------- real browser, no internet


def _map_var(m: folium.Map) -> str:
    return m.get_name()


@pytest.mark.browser
def test_road_names_show_only_at_street_zoom(browser, real):
    ensure_vendored()
    m = choropleth(real["npa"], "rate_pop_2022", name_field="npa")
    add_reference_layers(m, real["layers"], divisions=real["divisions"], show=("roads", "divisions", "landmarks"))
    page = new_offline_page(browser)
    try:
        page.set_content(assets.standalone_html(m, ROOT / "static" / "vendor"))
        page.wait_for_function(
            f"typeof {_map_var(m)} !== 'undefined' && document.querySelectorAll('path').length > 900", polling=100
        )
        assert page.evaluate(f"{_map_var(m)}.getZoom()") < 13
        assert page.locator(".geo-ref-road").count() == 0
        assert page.locator(".geo-ref-divisions").count() == 14  # division names show at city zoom
        page.evaluate(
            f"void {_map_var(m)}.setView([35.205, -80.815], 14, {{animate: false}})"
        )  # Monroe Rd near Elizabeth
        page.wait_for_function("document.querySelectorAll('.geo-ref-road').length > 0", polling=100)
        names = page.locator(".geo-ref-road").all_inner_texts()
        assert "Monroe Rd" in names
        screenshot(page, "reference_layers_street_zoom")
        page.evaluate(f"void {_map_var(m)}.setZoom(11, {{animate: false}})")
        page.wait_for_function("document.querySelectorAll('.geo-ref-road').length === 0", polling=100)
        assert page.blocked == [] and page.console_errors == [] and page.dialogs == []
        # switching the tiles on is the one thing that asks the web (and is blocked here)
        page.locator(".leaflet-control-layers").hover()
        page.get_by_text("OpenStreetMap tiles (needs internet)").click()
        page.wait_for_function("document.querySelectorAll('img.leaflet-tile').length > 0", polling=100)
        page.wait_for_timeout(300)
        assert page.blocked and all(u.startswith("https://tile.openstreetmap.org/") for u in page.blocked)
    finally:
        page.context.close()
