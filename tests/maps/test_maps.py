"""Maps: classification, display geometry, offline assets, escaping, and a real offline browser."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import tarfile
import time

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Polygon, box

from geo.errors import CRSError, EmptyInputError, SchemaError, ValueDomainError
from geo.ingest import sources
from geo.maps import assets, geometry
from geo.maps.classify import classify, ramp
from geo.maps.draw import categorical_map, choropleth
from geo.maps.legend import Legend, check_color
from geo.maps.palettes import LISA_COLORS, MISSING_COLOR
from geo.stats.moran import LISA_LABELS
from tests.helpers.browser import ROOT, component_frame, ensure_vendored, new_offline_page, screenshot

# the browser fixtures (browser, offline_page, streamlit_app) come from conftest.py

HOSTILE = "<img src=x onerror=alert(1)>"
DEMO = ROOT / "tests" / "maps" / "apps" / "map_demo.py"
CDN_PATTERN = re.compile(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


def decode_polyline(s: str, precision: int = 5) -> list[tuple[float, float]]:
    """Google's polyline algorithm, written from its description (not from the code under test); (lat, lon) pairs.

    Shared by the maps' tests (the compact areas layer, the reference layers' lines).
    """
    values, i = [], 0
    while i < len(s):
        shift = result = 0
        while True:
            b = ord(s[i]) - 63
            i += 1
            result |= (b & 0x1F) << shift
            shift += 5
            if b < 0x20:
                break
        values.append(~(result >> 1) if result & 1 else result >> 1)
    lat, lon = np.cumsum(values[0::2]), np.cumsum(values[1::2])
    return [(la / 10**precision, lo / 10**precision) for la, lo in zip(lat, lon, strict=True)]


def ylorrd(n: int) -> list[str]:
    # ColorBrewer YlOrRd, copied from colorbrewer2.org (independent of branca)
    return {3: ["#ffeda0", "#feb24c", "#f03b20"], 5: ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]}[n]


def six_squares() -> gpd.GeoDataFrame:
    """Six 2 km squares in NC State Plane feet (Charlotte), one hostile name, one missing value (shared by the maps' tests)."""
    x0, y0, s = 1_440_000.0, 540_000.0, 6_560.0
    cells = [box(x0 + i * s, y0 + j * s, x0 + (i + 1) * s, y0 + (j + 1) * s) for j in range(2) for i in range(3)]
    return gpd.GeoDataFrame(
        {
            "name": ["Alpha", HOSTILE, "Gamma", "Delta", "Eps & <b>", "Zeta"],
            "rate": [1.0, 5.0, 10.0, np.nan, 20.0, 50.0],
            "cluster": ["High-High", "Low-Low", "Not significant", None, "High-Low", "Low-High"],
        },
        index=[f"npa-{i}" for i in range(1, 7)],
        geometry=cells,
        crs="EPSG:2264",
    )


@pytest.fixture
def grid() -> gpd.GeoDataFrame:
    """:func:`six_squares`."""
    return six_squares()


def features(layer: folium.GeoJson) -> list[dict]:
    """The features of a data layer (a compact layer keeps them in ``full_data``)."""
    return getattr(layer, "full_data", layer.data)["features"]


def styles_by_id(m: folium.Map) -> dict[str, dict]:
    layer = next(el for el in m._children.values() if isinstance(el, folium.GeoJson))
    return {f["id"]: layer.style_function(f) for f in features(layer)}


def legends(m: folium.Map) -> list[Legend]:
    return [el for el in m._children.values() if isinstance(el, Legend)]


# --------------------------------------------------------------------------- classify


def test_quantiles_hand_computed():
    c = classify(np.arange(1, 11, dtype=float), scheme="quantiles", k=2)
    assert c.bins == (5.5, 10.0)  # median of 1..10
    assert c.counts == (5, 5)
    assert c.labels == ("1 – 5", "6 – 10")  # smallest and largest value in each class
    assert c.classes.tolist() == [0] * 5 + [1] * 5


def test_equal_interval_upper_bound_is_inclusive_and_missing_is_minus_one():
    c = classify(pd.Series([0.0, 5.0, 10.0, None]), scheme="equal_interval", k=2)
    assert c.bins == (5.0, 10.0)
    assert c.classes.tolist() == [0, 0, 1, -1]
    assert (c.counts, c.n_missing) == ((2, 1), 1)


@pytest.mark.parametrize("scheme", ["fisher_jenks", "natural_breaks"])
def test_breaks_find_obvious_clusters(scheme):
    y = [1.0, 1.1, 1.2, 10.0, 10.1, 20.0, 20.5]
    c = classify(y, scheme=scheme, k=3, seed=1)
    assert c.bins == (1.2, 10.1, 20.5)
    assert c.counts == (3, 2, 2)


def test_natural_breaks_is_reproducible_with_a_seed():
    y = np.random.default_rng(0).lognormal(2, 1, 500)
    a = classify(y, scheme="natural_breaks", k=5, seed=7)
    b = classify(y, scheme="natural_breaks", k=5, seed=7)
    assert a.bins == b.bins


@pytest.mark.slow
def test_fisher_jenks_on_many_values_uses_a_seeded_sample_and_stays_fast():
    y = np.random.default_rng(0).lognormal(2, 1, 20_000)
    t = time.perf_counter()
    a = classify(y, scheme="fisher_jenks", k=5, seed=3)
    assert time.perf_counter() - t < 10
    assert "sample of 1,000 of 20,000" in a.note
    assert a.bins == classify(y, scheme="fisher_jenks", k=5, seed=3).bins
    assert a.bins[-1] == y.max() and sum(a.counts) == y.size


def test_box_plot_fences_hand_computed():
    c = classify(np.arange(100, dtype=float), scheme="box_plot")
    # q1 24.75, median 49.5, q3 74.25, IQR 49.5, fences q1 - 1.5 IQR and q3 + 1.5 IQR; no high outliers
    np.testing.assert_allclose(c.bins, [-49.5, 24.75, 49.5, 74.25, 148.5])
    assert c.counts == (0, 25, 25, 25, 25)
    assert c.labels[0].startswith("Low outlier")


def test_fewer_distinct_values_than_classes_gives_fewer_classes_and_a_note():
    c = classify([1.0, 1.0, 2.0, 2.0, 2.0], scheme="fisher_jenks", k=5)
    assert c.bins == (1.0, 2.0) and c.counts == (2, 3)
    assert c.note == "2 classes instead of 5: only 2 distinct values."


def test_quantile_ties_reduce_classes_with_a_note():
    c = classify([0.0] * 50 + list(range(1, 10)), scheme="quantiles", k=5)
    assert c.k < 5 and "ties in the data" in c.note
    assert sum(c.counts) == 59


def test_one_value_and_no_value():
    one = classify([7.0, 7.0, None], scheme="equal_interval")
    assert (one.bins, one.counts, one.n_missing) == ((7.0,), (2,), 1)
    assert "All values equal 7" in one.note
    none = classify([None, np.nan])
    assert none.k == 0 and none.n_missing == 2 and none.note == "No values to classify."


def test_classify_errors():
    with pytest.raises(ValueError, match="scheme must be one of quantiles, fisher_jenks"):
        classify([1.0, 2.0], scheme="jenks")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k must be an integer from 2 to 12; got 1"):
        classify([1.0, 2.0], k=1)
    with pytest.raises(ValueDomainError, match="row 2 hold infinity"):
        classify([1.0, np.inf, 3.0])
    with pytest.raises(SchemaError, match="must be numeric.*'a'"):
        classify(["a", "b"])


def test_ramp_takes_one_and_two_colours_from_the_three_colour_ramp():
    assert ramp("YlOrRd", 3) == ylorrd(3) and ramp("YlOrRd", 5) == ylorrd(5)
    assert ramp("YlOrRd_r", 3) == ylorrd(3)[::-1]
    assert ramp("YlOrRd", 1) == [ylorrd(3)[1]] and ramp("YlOrRd", 2) == [ylorrd(3)[0], ylorrd(3)[2]]
    assert ramp("YlOrRd", 0) == []
    with pytest.raises(ValueError, match="cmap must be one of .*; got 'jet'"):
        ramp("jet", 3)


# --------------------------------------------------------------------------- display geometry


def test_simplify_keeps_shared_borders_rounds_and_does_not_mutate():
    # wiggle the shared border identically in both polygons: it must stay shared after simplifying
    wiggle = [(-80.8 + 0.0004 * np.sin(i), 35.2 + i * 0.001) for i in range(101)]
    left = Polygon([(-80.9, 35.2), *wiggle, (-80.9, 35.3)])
    right = Polygon([*wiggle, (-80.7, 35.3), (-80.7, 35.2)])
    gdf = gpd.GeoDataFrame({"v": [1, 2]}, geometry=[left, right], crs="EPSG:4326")
    before = gdf.copy()
    out = geometry.simplify_for_display(gdf, tolerance_m=100)
    pd.testing.assert_frame_equal(gdf, before)
    assert (
        shapely.get_num_coordinates(out.geometry.values).sum() < shapely.get_num_coordinates(gdf.geometry.values).sum()
    )
    assert shapely.coverage_is_valid(out.geometry.values)  # no gap, no overlap
    a, b = out.geometry
    assert a.intersection(b).area == 0 and a.intersection(b).length > 0.09
    coords = shapely.get_coordinates(out.geometry.values)
    np.testing.assert_allclose(coords * 1e5, np.round(coords * 1e5), atol=1e-6)


def test_simplify_reprojects_repairs_and_keeps_null_rows():
    bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    gdf = gpd.GeoDataFrame(geometry=[bowtie, None], crs="EPSG:3857")
    out = geometry.simplify_for_display(gdf, tolerance_m=0)
    assert out.crs.to_epsg() == 4326 and len(out) == 2
    assert out.geometry.iloc[0].is_valid and out.geometry.iloc[1] is None
    with pytest.raises(CRSError, match="no CRS"):
        geometry.simplify_for_display(gpd.GeoDataFrame(geometry=[bowtie]))


def test_without_empty_keeps_drawable_rows_and_counts_the_rest():
    gdf = gpd.GeoDataFrame({"v": [1, 2, 3]}, geometry=[box(0, 0, 1, 1), None, Polygon()], crs=4326)
    before = gdf.copy()
    kept, n_out = geometry.without_empty(gdf)
    assert kept["v"].tolist() == [1] and n_out == 2
    pd.testing.assert_frame_equal(gdf, before)


def test_has_points_finds_points_and_multipoints_only():
    from shapely.geometry import LineString, MultiPoint, Point

    def layer(*geoms):
        return gpd.GeoDataFrame(geometry=list(geoms), crs=4326)

    assert geometry.has_points(layer(box(0, 0, 1, 1), Point(0, 0)))
    assert geometry.has_points(layer(MultiPoint([(0, 0), (1, 1)])))
    assert not geometry.has_points(layer(box(0, 0, 1, 1), LineString([(0, 0), (1, 1)]), None))


# --------------------------------------------------------------------------- assets


def test_offline_map_fits_bounds_at_once_on_a_plain_background():
    m = assets.offline_map((-81.0, 35.0, -80.0, 36.0), background="#fafafa")
    script = m.get_root().render()
    assert ".fitBounds([[35.0, -81.0], [36.0, -80.0]], {animate: false, padding: [8, 8]});" in script
    assert '.getContainer().style.background = "#fafafa";' in script
    assert m.location == [35.5, -80.5]
    assert assets.offline_problems(m) == []
    with_tiles = assets.offline_map((-81.0, 35.0, -80.0, 36.0), tiles="OpenStreetMap").get_root().render()
    assert "style.background" not in with_tiles  # the tiles are the background
    with pytest.raises(ValueError, match=r"background colour 'url\(x\)' is not a hex colour"):
        assets.offline_map((0, 0, 1, 1), background="url(x)")


def test_check_color_accepts_hex_and_css_names_only():
    assert check_color("#abc", what="x") == "#abc" and check_color("SteelBlue", what="x") == "SteelBlue"
    with pytest.raises(ValueError, match="fill '#12' is not a hex colour"):
        check_color("#12", what="fill")
    with pytest.raises(ValueError, match="fill 3 is not a hex colour"):
        check_color(3, what="fill")


def test_use_local_assets_is_per_instance():
    cdn_js = list(folium.Map.default_js)
    m = assets.use_local_assets(folium.Map(tiles=None), "/base/")
    assert m.default_js == [("leaflet", "/base/leaflet/leaflet.js")]
    assert m.default_css == [("leaflet_css", "/base/leaflet/leaflet.css")]
    assert folium.Map.default_js == cdn_js and folium.Map().default_js == cdn_js
    with pytest.raises(ValueError, match="asset_base"):
        assets.use_local_assets(folium.Map(), '/x"><script>')


def test_offline_problems_finds_cdn_links_colormaps_and_tiles():
    import branca.colormap

    m = folium.Map()  # folium's defaults: OpenStreetMap tiles and CDN scripts
    branca.colormap.StepColormap(["#ffffff", "#000000"], vmin=0, vmax=1).add_to(m)
    problems = "\n".join(assets.offline_problems(m))
    assert "cdn.jsdelivr.net/npm/leaflet@1.9.3" in problems
    assert "StepColormap" in problems and "d3" in problems
    assert "tile.openstreetmap.org" in problems


# --------------------------------------------------------------------------- choropleth


def test_choropleth_colours_legend_bounds_and_offline(grid):
    before = grid.copy()
    m = choropleth(grid, "rate", k=3, tooltip_fields=["rate"], name_field="name", legend_title="Rate")
    pd.testing.assert_frame_equal(grid, before)

    # colours: quantile classes of [1, 5, 10, 20, 50] into 3 -> {1, 5}, {10}, {20, 50}; the NaN is grey
    ramp = ylorrd(3)
    fills = {fid: st["fillColor"] for fid, st in styles_by_id(m).items()}
    assert fills == {
        "npa-1": ramp[0], "npa-2": ramp[0], "npa-3": ramp[1],
        "npa-4": MISSING_COLOR, "npa-5": ramp[2], "npa-6": ramp[2],
    }  # fmt: skip

    (legend,) = legends(m)
    assert legend.entries == [
        ("1 – 5", ramp[0], 2), ("10", ramp[1], 1), ("20 – 50", ramp[2], 2), ("No data", MISSING_COLOR, 1)
    ]  # fmt: skip

    minx, miny, maxx, maxy = grid.to_crs(4326).total_bounds
    np.testing.assert_allclose(np.array(m.get_bounds()), [[miny, minx], [maxy, maxx]], atol=1e-5)

    assert assets.offline_problems(m) == []
    assert not any(isinstance(el, folium.TileLayer) for el in m._children.values())
    page = m.get_root().render()
    assert not CDN_PATTERN.search(page), CDN_PATTERN.findall(page)
    assert sorted(set(re.findall(r'(?:src|href)="([^"]+)"', page))) == [
        "/app/static/vendor/leaflet/leaflet.css",
        "/app/static/vendor/leaflet/leaflet.js",
    ]


def test_choropleth_escapes_every_text_from_the_data(grid):
    title = "Rate <script>window.__xss=1</script>"
    m = choropleth(
        grid, "rate", tooltip_fields=["rate"], tooltip_aliases=["Rate <i>per</i> 1,000"], name_field="name",
        legend_title=title, popup=True,
    )  # fmt: skip
    page = m.get_root().render()
    for raw in (HOSTILE, "<script>window.__xss", "<b>", "<i>per"):
        assert raw not in page
    layer = next(el for el in m._children.values() if isinstance(el, folium.GeoJson))
    props = {f["id"]: f["properties"] for f in features(layer)}
    assert props["npa-2"]["t0"] == "&lt;img src=x onerror=alert(1)&gt;"
    assert props["npa-5"]["t0"] == "Eps &amp; &lt;b&gt;"
    assert props["npa-4"]["t1"] == "No data"
    assert layer.layer_name == html.escape(title)
    (legend,) = legends(m)
    assert "Rate &lt;script&gt;window.__xss=1&lt;/script&gt;" in legend.html
    assert "<script" not in legend.html
    assert "Rate &lt;i&gt;per&lt;/i&gt; 1,000" in page.replace("\\u0026", "&").replace("\\u003c", "<")


def test_choropleth_with_too_few_values_falls_back_with_a_note(grid):
    gdf = grid.assign(rate=[1.0, 1.0, 2.0, 2.0, 1.0, 2.0])
    (legend,) = legends(choropleth(gdf, "rate", scheme="fisher_jenks", k=5))
    assert [e[2] for e in legend.entries] == [3, 3]
    assert legend.note == "2 classes instead of 5: only 2 distinct values."


def test_choropleth_all_missing_draws_grey():
    gdf = gpd.GeoDataFrame({"rate": [np.nan, np.nan]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326)
    m = choropleth(gdf, "rate")
    assert {s["fillColor"] for s in styles_by_id(m).values()} == {MISSING_COLOR}
    assert legends(m)[0].entries == [("No data", MISSING_COLOR, 2)]


def test_choropleth_reports_rows_without_geometry(grid):
    gdf = grid.copy()
    gdf.loc["npa-6", "geometry"] = None
    m = choropleth(gdf, "rate")
    assert len(styles_by_id(m)) == 5
    assert "1 row(s) without geometry not drawn." in legends(m)[0].note


def test_choropleth_handles_collections_and_nullable_integers():
    from shapely.geometry import GeometryCollection, LineString

    gc = GeometryCollection([box(0, 0, 1, 1), LineString([(1, 1), (2, 2)])])
    gdf = gpd.GeoDataFrame(
        {"v": pd.array([1, None, 3], dtype="Int64")}, geometry=[gc, box(1, 0, 2, 1), box(2, 0, 3, 1)], crs=4326
    )
    m = choropleth(gdf, "v", k=2)  # folium would warn about the collection (an error under pytest)
    layer = next(el for el in m._children.values() if isinstance(el, folium.GeoJson))
    assert [f["geometry"]["type"] for f in features(layer)] == ["Polygon"] * 3
    assert [e[2] for e in legends(m)[0].entries] == [1, 1, 1]  # two classes and one "No data"
    m.get_root().render()


def test_choropleth_points_use_circle_markers():
    pts = gpd.GeoDataFrame({"v": [1.0, 2.0, 3.0]}, geometry=gpd.points_from_xy([0, 1, 2], [0, 1, 2]), crs=4326)
    m = choropleth(pts, "v", k=3)
    layer = next(el for el in m._children.values() if isinstance(el, folium.GeoJson))
    assert isinstance(layer.marker, folium.CircleMarker)
    assert "L.CircleMarker" in m.get_root().render()


def test_choropleth_errors(grid):
    with pytest.raises(SchemaError, match=r"column\(s\) 'nope' not in the layer; available: 'name', 'rate'"):
        choropleth(grid, "nope")
    with pytest.raises(SchemaError, match="column 'name' must be numeric"):
        choropleth(grid, "name")
    with pytest.raises(CRSError, match="no CRS"):
        choropleth(grid.set_crs(None, allow_override=True), "rate")
    with pytest.raises(EmptyInputError, match="no rows"):
        choropleth(grid.iloc[:0], "rate")
    with pytest.raises(EmptyInputError, match="none of the 6 rows has a geometry"):
        choropleth(grid.assign(geometry=None), "rate")
    with pytest.raises(
        ValueDomainError, match=r"column 'rate' holds infinity in rows 2, 6 \(a rate divided by zero\?\)"
    ):
        choropleth(grid.assign(rate=[1.0, np.inf, 2.0, 3.0, 4.0, -np.inf]), "rate")
    with pytest.raises(ValueError, match="cmap must be one of .*YlOrRd"):
        choropleth(grid, "rate", cmap="jet")
    with pytest.raises(ValueError, match="tooltip_aliases has 2 entries but tooltip_fields has 1"):
        choropleth(grid, "rate", tooltip_fields=["rate"], tooltip_aliases=["a", "b"])


def test_choropleth_with_web_tiles_is_reported_as_needing_internet(grid):
    m = choropleth(grid, "rate", tiles="OpenStreetMap")
    assert [p for p in assets.offline_problems(m) if "tile" in p]
    assert assets.offline_problems(m, include_tiles=False) == []


def test_both_maps_draw_the_same_elements_in_the_same_order(grid):
    # streamlit-folium names a map's elements by position: one drawing path keeps them in step
    def kinds(m: folium.Map) -> list[str]:
        return [type(el).__name__ for el in m._children.values()]

    expected = ["_Background", "_FitBounds", "_TooltipFit", "GeoJson", "CompactGeoJson", "Legend", "LayerControl"]
    assert kinds(choropleth(grid, "rate", outline=grid)) == expected
    assert kinds(categorical_map(grid, "cluster", colors=LISA_COLORS, outline=grid)) == expected
    plain = categorical_map(grid, "cluster", colors=LISA_COLORS, layer_control=False, tiles="OpenStreetMap")
    assert kinds(plain) == ["TileLayer", "_FitBounds", "_TooltipFit", "CompactGeoJson", "Legend"]


def test_missing_rows_are_drawn_at_each_maps_missing_opacity(grid):
    c = styles_by_id(choropleth(grid, "rate", fill_opacity=0.9))
    assert (c["npa-4"]["fillOpacity"], c["npa-1"]["fillOpacity"]) == (0.6, 0.9)
    k = styles_by_id(categorical_map(grid, "cluster", colors=LISA_COLORS, fill_opacity=0.9))
    assert (k["npa-4"]["fillOpacity"], k["npa-4"]["fillColor"], k["npa-1"]["fillOpacity"]) == (0.9, MISSING_COLOR, 0.9)


# --------------------------------------------------------------------------- categorical


def test_categorical_map_colours_legend_and_missing(grid):
    m = categorical_map(grid, "cluster", colors=LISA_COLORS, name_field="name", legend_title="LISA")
    fills = {fid: st["fillColor"] for fid, st in styles_by_id(m).items()}
    assert fills == {
        "npa-1": "#d7191c", "npa-2": "#2c7bb6", "npa-3": "#f0f0f0",
        "npa-4": MISSING_COLOR, "npa-5": "#fdae61", "npa-6": "#abd9e9",
    }  # fmt: skip
    (legend,) = legends(m)
    assert [(label, n) for label, _, n in legend.entries] == [
        ("High-High", 1), ("Low-Low", 1), ("Low-High", 1), ("High-Low", 1), ("Not significant", 1),
        ("Isolated", 0), ("Undefined", 0), ("No data", 1),
    ]  # fmt: skip
    hidden = legends(categorical_map(grid, "cluster", colors=LISA_COLORS, hide_empty=True))[0]
    assert [label for label, _, _ in hidden.entries][-2:] == ["Not significant", "No data"]
    assert HOSTILE not in m.get_root().render()
    assert assets.offline_problems(m) == []


def test_lisa_colours_cover_every_lisa_label():
    assert tuple(LISA_COLORS) == LISA_LABELS
    assert len(set(LISA_COLORS.values()) | {MISSING_COLOR}) == len(LISA_COLORS) + 1


def test_categorical_map_unknown_values(grid):
    colors = {"High-High": "#d7191c", "Low-Low": "#2c7bb6"}
    with pytest.raises(
        ValueDomainError, match=r"no colour: 'Not significant', 'High-Low', 'Low-High' \(rows 3, 5, 6\)"
    ):
        categorical_map(grid, "cluster", colors=colors)
    m = categorical_map(grid, "cluster", colors=colors, unknown="missing")
    assert legends(m)[0].entries[-1] == ("No data", MISSING_COLOR, 4)
    assert "3 area(s) with other values" in legends(m)[0].note
    with pytest.raises(ValueError, match="not a hex colour"):
        categorical_map(grid, "cluster", colors={"High-High": "red;background:url(x)"})


# --------------------------------------------------------------------------- the real NPA map


@pytest.fixture(scope="module")
def npa_rates(settings) -> gpd.GeoDataFrame:
    geo = gpd.read_file(sources.resolve("npa_geography", settings.data_dir))
    crimes = pd.read_csv(sources.resolve("npa_metric_r58", settings.data_dir), dtype={"id": str})
    pop = pd.read_csv(sources.resolve("npa_metric_r47", settings.data_dir), dtype={"id": str})
    df = (
        crimes[["id", "y_2022"]]
        .rename(columns={"y_2022": "violent"})
        .merge(pop[["id", "y_2020"]].rename(columns={"y_2020": "pop"}), on="id", how="outer")
    )
    out = geo.merge(df, on="id", how="left")
    out["rate"] = (out["violent"] / out["pop"] * 1000).where(out["pop"] > 0)
    out["name"] = "NPA " + out["id"]
    return out


def test_npa_map_is_small_and_offline(npa_rates):
    assert len(npa_rates) == 459
    m = choropleth(
        npa_rates, "rate", scheme="fisher_jenks", tooltip_fields=["rate", "violent", "pop"],
        tooltip_aliases=["Violent crimes per 1,000", "Violent crimes 2022", "Population 2020"], name_field="name",
        legend_title="Violent crime rate, 2022",
    )  # fmt: skip
    size = assets.map_html_size(m)
    print(f"NPA choropleth HTML: {size:,} bytes")
    assert size <= 500_000
    assert len(styles_by_id(m)) == 459
    assert assets.offline_problems(m) == [] and not CDN_PATTERN.search(m.get_root().render())


def test_standalone_html_inlines_leaflet(grid):
    ensure_vendored()
    page = assets.standalone_html(choropleth(grid, "rate"), ROOT / "static" / "vendor")
    assert "/leaflet/leaflet.js" not in page and "/leaflet/leaflet.css" not in page
    assert "data:image/png;base64," in page and not CDN_PATTERN.search(page)


# --------------------------------------------------------------------------- vendoring script


def _vendor_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "vendor_assets.py"), *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_vendor_check_reports_missing_files(tmp_path):
    r = _vendor_cli("--check", "--dest", str(tmp_path / "vendor"))
    assert r.returncode == 1 and "MANIFEST.json is missing" in r.stderr


def test_vendor_rejects_a_tarball_that_does_not_match_its_pinned_checksum(tmp_path):
    fake = tmp_path / "tarballs" / "leaflet-1.9.4.tgz"
    fake.parent.mkdir()
    src = tmp_path / "leaflet.js"
    src.write_text("evil()")
    with tarfile.open(fake, "w:gz") as tar:
        tar.add(src, arcname="package/dist/leaflet.js")
    r = _vendor_cli("--dest", str(tmp_path / "vendor"), "--tarball-dir", str(fake.parent))
    assert r.returncode == 2 and "does not match the pinned integrity of leaflet@1.9.4" in r.stderr
    assert not (tmp_path / "vendor" / "leaflet").exists()


def test_vendored_files_match_the_manifest():
    ensure_vendored()
    r = _vendor_cli("--check")
    assert r.returncode == 0, r.stderr
    manifest = json.loads((ROOT / "static" / "vendor" / "MANIFEST.json").read_text())
    assert manifest["packages"]["leaflet"]["version"] == assets.LEAFLET_VERSION


# --------------------------------------------------------------------------- real browser, no internet


def _wait_for_paths(frame, n: int, timeout_s: float = 60) -> int:
    deadline = time.monotonic() + timeout_s
    count = 0
    while time.monotonic() < deadline:
        count = frame.locator("path.leaflet-interactive").count()
        if count >= n:
            return count
        time.sleep(0.2)
    return count


@pytest.mark.browser
def test_demo_map_draws_offline_and_never_runs_hostile_names(streamlit_app, offline_page):
    page = offline_page
    page.add_init_script("window.__xss = 0;")
    responses: dict[str, int] = {}
    page.on("response", lambda r: responses.__setitem__(r.url, r.status))
    base = streamlit_app(DEMO)
    page.goto(base)
    frame = component_frame(page)

    assert _wait_for_paths(frame, 6) == 6, f"Leaflet drew no polygons; blocked: {page.blocked}"
    box_ = page.locator('iframe[title*="st_folium"]').first.bounding_box()
    assert box_ and box_["height"] > 400  # the offline failure mode is a zero-height frame
    legend = frame.locator(".cmpd-legend")
    assert "No data (1)" in legend.inner_text()
    assert "Rate <script>window.__xss=1</script>" in legend.inner_text()  # shown as text
    assert frame.locator(".leaflet-control-layers-toggle").count() == 1
    assert responses.get(f"{base}/app/static/vendor/leaflet/leaflet.js") == 200
    deadline = time.monotonic() + 15  # a CSS background image: fetched once laid out
    while time.monotonic() < deadline and not any(u.endswith("/leaflet/images/layers.png") for u in responses):
        page.wait_for_timeout(100)
    assert any(u.endswith("/leaflet/images/layers.png") and s == 200 for u, s in responses.items())

    # hover every polygon: tooltips are built on hover, which is where a payload would run
    tooltips = []
    for i in range(6):
        bb = frame.locator("path.leaflet-interactive").nth(i).bounding_box()
        page.mouse.move(bb["x"] + bb["width"] / 2, bb["y"] + bb["height"] / 2)
        tip = frame.locator(".leaflet-tooltip")
        tip.first.wait_for(timeout=5000)
        tooltips.append(tip.first.inner_text())
        if HOSTILE in tooltips[-1]:
            screenshot(page, "map_demo_hostile_tooltip")
    assert any(HOSTILE in t for t in tooltips), tooltips
    assert any("Rate <per 1,000>" in t for t in tooltips)
    assert frame.locator(".leaflet-tooltip img").count() == 0

    # a click reaches the app through returned_objects and reruns it
    bb = frame.locator("path.leaflet-interactive").nth(0).bounding_box()
    page.mouse.click(bb["x"] + bb["width"] / 2, bb["y"] + bb["height"] / 2)
    page.get_by_text(re.compile(r"Clicked feature: npa-\d")).wait_for(timeout=20_000)
    frame = component_frame(page)
    assert _wait_for_paths(frame, 6) == 6

    page.wait_for_timeout(800)  # let the scale bar settle for the picture
    shot = screenshot(page, "map_demo_offline")
    assert shot.stat().st_size > 10_000
    assert page.dialogs == []
    assert frame.evaluate("window.__xss") in (0, None) and page.evaluate("window.__xss") == 0
    assert not any(u.rstrip("/").endswith("/x") for u in responses), "the <img> payload was parsed as HTML"
    assert not [u for f, u in page.blocked_from if "streamlit_folium" in f], page.blocked_from
    assert page.blocked == []  # neither the map nor Streamlit itself tried to reach the internet


@pytest.mark.browser
def test_demo_categorical_map_draws_offline(streamlit_app, offline_page):
    base = streamlit_app(DEMO)
    offline_page.goto(f"{base}/?map=categorical")
    frame = component_frame(offline_page)
    assert _wait_for_paths(frame, 6) == 6
    text = frame.locator(".cmpd-legend").inner_text()
    assert "High-High (1)" in text and "No data (1)" in text
    offline_page.wait_for_timeout(800)
    screenshot(offline_page, "map_demo_categorical_offline")


@pytest.mark.browser
def test_plain_folium_map_is_blank_offline(streamlit_app, offline_page):
    """The control: folium's own CDN links are blocked here, so the blocking is real."""
    base = streamlit_app(DEMO)
    offline_page.goto(f"{base}/?map=cdn")
    frame = component_frame(offline_page)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any("cdn.jsdelivr.net" in u for u in offline_page.blocked):
        offline_page.wait_for_timeout(200)  # lets Playwright run the route handlers
    assert any("cdn.jsdelivr.net/npm/leaflet" in u for u in offline_page.blocked)
    assert any("streamlit_folium" in f for f, _ in offline_page.blocked_from)  # attributed to the component
    offline_page.wait_for_timeout(1500)
    assert frame.locator("path.leaflet-interactive").count() == 0


@pytest.mark.browser
def test_standalone_npa_page_draws_offline(browser, npa_rates):
    ensure_vendored()
    m = choropleth(npa_rates, "rate", name_field="name", legend_title="Violent crime rate, 2022")
    page = new_offline_page(browser)
    try:
        page.set_content(assets.standalone_html(m, ROOT / "static" / "vendor"))
        assert _wait_for_paths(page.main_frame, 459, timeout_s=30) == 459
        assert "No data" in page.locator(".cmpd-legend").inner_text()
        assert page.blocked == []
        screenshot(page, "npa_standalone_offline")
    finally:
        page.context.close()


def test_outline_drawn_under_points_not_interactive(grid):
    pts = grid.copy()
    pts["geometry"] = grid.geometry.centroid
    pts["cat"] = "a"
    m = categorical_map(pts, "cat", colors={"a": "#0072b2"}, outline=grid)
    html_text = m.get_root().render()
    assert '"interactive": false' in html_text.replace("'", '"') or '"interactive":false' in html_text
    assert assets.offline_problems(m) == []
    with pytest.raises(CRSError, match="outline"):
        categorical_map(pts, "cat", colors={"a": "#0072b2"}, outline=grid.set_crs(None, allow_override=True))
