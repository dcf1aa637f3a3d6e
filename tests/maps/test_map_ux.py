"""The maps' UX (issue 11, items 2, 7 and 8) through the folium objects and their HTML.

The legend (a keyboard-usable show/hide button, at most half the map's width and height,
labels that wrap, swatches at the fill opacity), tooltips kept inside the map, the compact
areas layer (decoded here independently and compared with the geometry), the reference
layers on every kind of map the pages draw, the selected area's outline, and the size of
each map with its reference layers (at most 800 KB).
"""

from __future__ import annotations

import json
import re

import folium
import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import MultiPolygon, Polygon, box

from geo.ingest.reference import load_reference_layers
from geo.layers import build
from geo.layers.grid import hexagon_grid
from geo.maps import assets
from geo.maps._compact import CompactGeoJson
from geo.maps.draw import MapReference, categorical_map, choropleth, selection_outline
from geo.maps.geometry import simplify_for_display
from geo.maps.legend import MAX_SHARE, Legend
from geo.maps.palettes import DA_REVIEW_COLORS, GI_COLORS, LISA_COLORS, MISSING_COLOR
from geo.maps.reference import REFERENCE_LAYER_NAMES
from tests.maps.test_maps import HOSTILE, decode_polyline, six_squares

LIMIT = 800 * 1024
LONG_LABEL = "Not Legally Justified as determined by NC AG Office"


@pytest.fixture
def grid() -> gpd.GeoDataFrame:
    """:func:`tests.maps.test_maps.six_squares`."""
    return six_squares()


def _legend(m: folium.Map) -> Legend:
    (legend,) = [el for el in m._children.values() if isinstance(el, Legend)]
    return legend


def _layer(m: folium.Map) -> folium.GeoJson:
    return next(el for el in m._children.values() if isinstance(el, CompactGeoJson))


# --------------------------------------------------------------------------- legend


def test_legend_is_a_collapsible_control_with_a_keyboard_button(grid):
    m = choropleth(grid, "rate", k=3, legend_title="Rate")
    legend = _legend(m)
    assert legend.html.startswith('<button type="button" class="cmpd-legend-toggle" aria-expanded="true">')
    page = m.get_root().render()
    assert 'button.setAttribute("aria-controls", body.id)' in page
    assert 'button.setAttribute("aria-expanded", open ? "true" : "false")' in page and "body.hidden = !open" in page
    assert ".cmpd-legend-toggle:focus-visible" in page  # a visible focus ring
    assert "Hide the legend" in page and "Show the legend" in page
    shut = assets.offline_map([-80.9, 35.1, -80.8, 35.2])
    Legend([("a", "#000000", 1)], collapsed=True).add_to(shut)
    assert "show(false)" in shut.get_root().render() and "show(true)" in page


def test_legend_takes_at_most_half_the_width_and_half_the_height(grid):
    legend = _legend(choropleth(grid, "rate"))
    assert MAX_SHARE == 0.5  # half by half: a quarter of the map at most
    assert "max-width: 50vw; max-height: 50vh" in legend.css  # before the script sizes it to the map
    script = legend._template.module.script(legend)
    assert "size.x * 0.5" in script and "size.y * 0.5" in script and 'map.on("resize", fit)' in script
    assert ".cmpd-legend-body { padding: 0 8px 6px; overflow: auto;" in legend.css  # scrolls inside


def test_long_labels_wrap_and_nothing_is_cut_off():
    legend = Legend([(label, color, 1) for label, color in DA_REVIEW_COLORS.items()], title="DA review " * 8)
    assert LONG_LABEL in legend.html  # the whole label
    assert "nowrap" not in legend.css.replace(".cmpd-legend-count { color: #595959; white-space: nowrap; }", "")
    assert "max-width:280px" not in legend.html and "text-overflow" not in legend.css
    assert "white-space: normal; overflow-wrap: anywhere" in legend.css


def test_swatches_are_drawn_at_the_fill_opacity_of_the_areas(grid):
    legend = _legend(choropleth(grid, "rate", k=3))  # fills at 0.75, "No data" at 0.6
    assert legend.opacities == [0.75, 0.75, 0.75, 0.6]
    assert legend.html.count("opacity:0.75") == 3 and legend.html.count('opacity:0.6"') == 1
    cat = _legend(categorical_map(grid, "cluster", colors=LISA_COLORS, fill_opacity=0.8))
    assert set(cat.opacities) == {0.8}
    # the swatch sits on the map's own background, so it blends as the areas do
    dark = _legend(choropleth(grid, "rate", background="#202020"))
    assert "background:#202020" in dark.html
    with pytest.raises(ValueError, match="between 0 and 1"):
        Legend([("a", "#000000", 1)], opacity=1.5)
    with pytest.raises(ValueError, match="2 values for 1 legend entries"):
        Legend([("a", "#000000", 1)], opacity=[0.5, 0.5])


def test_legend_text_is_escaped(grid):
    legend = Legend([(HOSTILE, "#000000", 1)], title="<script>x</script>", note="a & b")
    assert HOSTILE not in legend.html and "<script>" not in legend.html
    assert "&lt;img src=x onerror=alert(1)&gt;" in legend.html and "a &amp; b" in legend.html


# --------------------------------------------------------------------------- tooltips


def test_tooltips_follow_the_pointer_and_stay_inside_the_map(grid):
    for m in (choropleth(grid, "rate"), categorical_map(grid, "cluster", colors=LISA_COLORS)):
        page = m.get_root().render()
        assert '"sticky": true' in page and '"direction": "auto"' in page
        assert "proto._setPosition = function (pos)" in page  # the tooltip is moved back inside
        assert "size.x - margin - (corner.x + w)" in page and "size.y - margin - (corner.y + h)" in page
    assert "proto._setPosition" in assets.offline_map([-80.9, 35.1, -80.8, 35.2]).get_root().render()


# --------------------------------------------------------------------------- the compact areas layer


def _decode(s: str) -> list[tuple[float, float]]:
    """A compact ring as (lon, lat), the order of the geometry's coordinates."""
    return [(lon, lat) for lat, lon in decode_polyline(s)]


def _rows(m: folium.Map) -> list[list]:
    rows_el = next(c for c in _layer(m)._children.values() if type(c).__name__ == "_Rows")
    return json.loads(rows_el.rows_json)


def test_compact_rows_decode_to_the_drawn_geometry_with_holes_and_parts():
    ring = [(0, 0), (3000, 0), (3000, 3000), (0, 3000)]
    hole = [(1000, 1000), (2000, 1000), (2000, 2000), (1000, 2000)]
    shapes = [
        Polygon(ring, [hole]),
        MultiPolygon([box(5000, 0, 6000, 1000), box(7000, 0, 8000, 1000)]),
    ]
    x0, y0 = 1_440_000.0, 540_000.0
    gdf = gpd.GeoDataFrame(
        {"v": [1.0, 2.0]}, geometry=gpd.GeoSeries(shapes).translate(x0, y0).values, crs=2264, index=["a", "b"]
    )
    m = choropleth(gdf, "v", k=2, simplify_m=0)
    rows = _rows(m)
    drawn = simplify_for_display(gdf, tolerance_m=0)
    assert [r[0] for r in rows] == ["a", "b"] and [r[2] for r in rows] == [1, 2]  # Polygon, MultiPolygon
    outer, inner = rows[0][3]
    np.testing.assert_allclose(_decode(outer), np.asarray(drawn.geometry.iloc[0].exterior.coords), atol=1e-9)
    np.testing.assert_allclose(_decode(inner), np.asarray(drawn.geometry.iloc[0].interiors[0].coords), atol=1e-9)
    parts = [_decode(p[0]) for p in rows[1][3]]
    for got, want in zip(parts, drawn.geometry.iloc[1].geoms, strict=True):
        np.testing.assert_allclose(got, np.asarray(want.exterior.coords), atol=1e-9)
    # the bounds are the areas', not the placeholder's
    minx, miny, maxx, maxy = drawn.total_bounds
    np.testing.assert_allclose(np.array(m.get_bounds()), [[miny, minx], [maxy, maxx]], atol=1e-5)


def test_compact_rows_carry_each_areas_style_and_escaped_tooltip(grid):
    m = choropleth(grid, "rate", k=3, tooltip_fields=["rate"], name_field="name")
    rows = {r[0]: r for r in _rows(m)}
    rows_el = next(c for c in _layer(m)._children.values() if type(c).__name__ == "_Rows")
    styles = json.loads(rows_el.styles_json)
    assert styles[rows["npa-4"][1]]["fillColor"] == MISSING_COLOR and styles[rows["npa-1"][1]]["fillOpacity"] == 0.75
    assert rows["npa-2"][4] == "&lt;img src=x onerror=alert(1)&gt;" and rows["npa-4"][5] == "No data"
    page = m.get_root().render()
    assert HOSTILE not in page and "<b>" not in page and page.count("Alpha") == 1  # each area written once
    assert '"geometry": null' in page  # folium's own copy holds one placeholder, which Leaflet skips


def test_points_stay_plain_geojson(grid):
    pts = grid.assign(geometry=grid.geometry.centroid)
    m = categorical_map(pts, "cluster", colors=LISA_COLORS, unknown="missing")
    kinds = [type(el).__name__ for el in m._children.values()]
    assert "GeoJson" in kinds and "CompactGeoJson" not in kinds


# --------------------------------------------------------------------------- selection


def test_selected_area_is_outlined_over_everything(grid):
    m = categorical_map(grid, "cluster", colors=LISA_COLORS, selected=["npa-3"])
    kinds = [type(el).__name__ for el in m._children.values()]
    assert kinds.index("FeatureGroup") > kinds.index("CompactGeoJson")
    (group,) = [el for el in m._children.values() if isinstance(el, folium.FeatureGroup)]
    lines = [c for c in group._children.values() if isinstance(c, folium.GeoJson)]
    assert len(lines) == 2 and not group.control  # a white casing under a black line, not in the layer control
    styles = [ln.style_function(None) for ln in lines]
    assert [s["weight"] for s in styles] == [6.0, 3.0] and all(s["fill"] is False for s in styles)
    assert all(ln.options.get("interactive") is False for ln in lines)  # clicks go through to the area
    with pytest.raises(KeyError, match="npa-9"):
        categorical_map(grid, "cluster", colors=LISA_COLORS, selected=["npa-9"])
    with pytest.raises(TypeError, match="sequence of index labels"):
        categorical_map(grid, "cluster", colors=LISA_COLORS, selected="npa-3")
    assert not selection_outline(grid, [])._children


# --------------------------------------------------------------------------- reference layers and size


@pytest.fixture(scope="module")
def real(settings):
    layers, _ = load_reference_layers(settings=settings, missing="skip")
    return {
        "reference": MapReference(layers, divisions=build.division_base(settings)),
        "npa": build.npa_layer(settings),
        "divisions": build.division_layer(settings),
    }


def test_reference_layers_are_drawn_once_and_copied_onto_each_map(real, grid):
    ref = real["reference"]
    first = choropleth(grid, "rate", reference=ref)
    second = categorical_map(grid, "cluster", colors=LISA_COLORS, reference=ref)
    assert len(ref._drawn) == 1  # drawn for the first map, copied for the second
    for m in (first, second):
        groups = [c for c in m._children.values() if isinstance(c, folium.FeatureGroup)]
        assert {g.layer_name for g in groups} == set(REFERENCE_LAYER_NAMES.values())
        assert all(g._parent is m for g in groups)
        kinds = [type(el).__name__ for el in m._children.values()]
        assert kinds[-2:] == ["Legend", "LayerControl"]  # the control lists every layer
        assert kinds.index("CompactGeoJson") < kinds.index("FeatureGroup")  # roads over the fills
        tiles = [c for c in m._children.values() if isinstance(c, folium.TileLayer)]
        assert len(tiles) == 1 and tiles[0].show is False  # tiles offered, never needed
        assert assets.offline_problems(m, include_tiles=False) == []
    ones = [c for m in (first, second) for c in m._children.values() if getattr(c, "layer_name", "") == "Main roads"]
    assert len(ones) == 2 and ones[0] is not ones[1]  # a copy each, not one group shared by two maps


def _hexagons(npa: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """About 3,000 hexagons over the county (more than the incident hot spot map's 2,652), with its tooltip."""
    cells = hexagon_grid(npa, cell_size=2500).cells
    rng = np.random.default_rng(0)
    n = len(cells)
    return gpd.GeoDataFrame(
        {
            "cell_id": np.arange(n),
            "count": rng.integers(0, 40, n),
            "lisa_cluster": rng.choice(list(LISA_COLORS), n),
            "lisa_p": rng.random(n),
            "gi_label": rng.choice(list(GI_COLORS), n),
            "gi_z": rng.normal(0, 2, n),
        },
        geometry=cells.geometry.values,
        crs=cells.crs,
    )


TIPS = ["count", "lisa_cluster", "lisa_p", "gi_label", "gi_z"]


@pytest.mark.parametrize("kind", ["division choropleth", "NPA clusters", "hexagon hot spots"])
def test_every_kind_of_page_map_with_reference_layers_stays_under_800_kb(real, kind):
    ref = real["reference"]
    if kind == "division choropleth":
        m = choropleth(real["divisions"], "stops", tooltip_fields=["stops", "pop_2020"], name_field="division",
                       reference=ref)  # fmt: skip
    elif kind == "NPA clusters":
        npa = real["npa"].assign(cluster="Not significant", lisa_p=0.5, gi_z=0.1, gi_label="Not Significant")
        m = categorical_map(npa, "cluster", colors=LISA_COLORS, name_field="npa", reference=ref,
                            tooltip_fields=["rate_pop_2022", "cluster", "lisa_p", "gi_label", "gi_z"])  # fmt: skip
    else:
        hexes = _hexagons(real["npa"])
        assert len(hexes) > 2652
        m = categorical_map(hexes, "gi_label", colors=GI_COLORS, name_field="cell_id", tooltip_fields=TIPS,
                            tooltip_formats={"lisa_p": "{:.3f}", "gi_z": "{:+.2f}"}, reference=ref)  # fmt: skip
    page = m.get_root().render()
    for name in REFERENCE_LAYER_NAMES.values():
        assert name in page
    size = assets.map_html_size(m)
    print(f"{kind} with reference layers: {size:,} bytes")
    assert size <= LIMIT, size
    assert not re.search(r"""<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
