"""The community view through app.py with Streamlit's AppTest: find a neighbourhood by name, the landing page, the Data page.

A search for a historic district, a ZIP code, a road or a school lists the places that
:meth:`geo.layers.places.PlaceIndex.search` finds, outlines the NPAs of the best one and zooms
to them, and the card shows the chosen NPA; a link (``?npa=380``) reopens an NPA; the landing
page shows the hot-spot map, the headline disparity with its interval and no coverage table,
and its search opens the neighborhood page; the Data page holds the coverage and row report.
"""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from streamlit_folium import generate_js_hash

from geo.analysis import disparity
from geo.caveats import REFERENCE_LAYERS_2013
from geo.ingest.reference import load_landmarks
from geo.layers.places import build_place_index
from geo.settings import PROJECT_ROOT
from geo.text import escape_md

#: AppTest runs the whole page script for every check: part of `make test`, not of `make test-fast`.
pytestmark = pytest.mark.slow

APP = str(PROJECT_ROOT / "app.py")
NEIGHBORHOOD = "app_pages/neighborhood.py"
OVERVIEW = "app_pages/overview.py"
DATA = "app_pages/data.py"


@pytest.fixture(scope="module")
def index(settings):
    return build_place_index(settings)


@pytest.fixture(scope="module")
def school(settings, index) -> str:
    """A school whose name finds the school itself first."""
    landmarks, _ = load_landmarks(settings=settings)
    names = sorted(landmarks.loc[landmarks["kind"] == "school", "name"])
    return next(n for n in names if index.search(n)[0].kind == "school" and index.search(n)[0].npa_ids)


@pytest.fixture
def open_page(settings, monkeypatch):
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))

    def run(page: str | None = None, **query: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=180)
        for name, value in query.items():
            at.query_params[name] = value
        at.run()
        if page is not None:
            at.switch_page(page).run()
        assert not _problems(at)
        return at

    return run


def _problems(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(x.value) for x in at.exception]


def _map_args(at: AppTest, index: int = 0) -> dict:
    maps = [json.loads(el.proto.json_args) for el in at.get("component_instance") if "L.map(" in el.proto.json_args]
    assert maps, "no folium map on the page"
    return maps[index]


def _card_title(at: AppTest) -> str:
    return next(s.value for s in at.subheader if s.value.startswith("Neighborhood profile area"))


def _text(at: AppTest) -> str:
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def _fit_bounds(group: str) -> list[list[float]]:
    """The bounds the search zooms the map to (the ``fitBounds`` of the search's feature group)."""
    found = re.search(r"fitBounds\((\[\[.*?\]\])", group)
    assert found, "the search does not zoom the map"
    return json.loads(found.group(1))


def _first_geojson(script: str) -> dict:
    """The data of the first GeoJSON layer in a map script."""
    start = script.index("_add({") + len("_add(")
    return json.JSONDecoder().raw_decode(script, start)[0]


def _npa_bounds(npa: gpd.GeoDataFrame, ids) -> list[list[float]]:
    """The bounds of some NPAs as Leaflet takes them: [[south, west], [north, east]]."""
    minx, miny, maxx, maxy = npa.loc[npa["npa"].isin(ids)].to_crs("EPSG:4326").total_bounds
    return [[miny, minx], [maxy, maxx]]


# --------------------------------------------------------------------------- neighborhood page


@pytest.mark.parametrize("query", ["Plaza Midwood", "28205", "Monroe Rd", "<school>"])
def test_a_search_lists_the_places_outlines_and_zooms_to_their_npas(open_page, index, school, npa_layer, query):
    query = school if query == "<school>" else query
    best = index.search(query)[0]
    at = open_page(NEIGHBORHOOD)
    script = _map_args(at)["script"]
    at.text_input(key="nb_q").input(query).run()
    assert not _problems(at)
    radio = at.radio(key="nb_match")
    assert radio.value == best.place.key
    assert escape_md(best.name) in radio.options[0]
    picker = at.selectbox(key="nb_npa")
    assert len(picker.options) == len(best.npa_ids) and picker.value == best.npa_ids[0]
    assert _card_title(at) == f"Neighborhood profile area {best.npa_ids[0]}"
    args = _map_args(at)
    assert args["script"] == script  # the map itself is not sent again: the outline and the zoom come over it
    group = args["feature_group"]
    assert group.count("nb-match") == 1 and "map_div.addLayer" in group
    assert [int(f["id"]) for f in _first_geojson(group)["features"]] == list(best.npa_ids)
    np.testing.assert_allclose(_fit_bounds(group), _npa_bounds(npa_layer, best.npa_ids), atol=2e-3)
    assert at.query_params["npa"] in (str(best.npa_ids[0]), [str(best.npa_ids[0])])


def test_the_list_shows_names_and_the_card_says_what_an_npa_is(open_page, index):
    at = open_page(NEIGHBORHOOD)
    at.text_input(key="nb_q").input("Plaza Midwood").run()
    picker = at.selectbox(key="nb_npa")
    assert picker.options == ["NPA 378 — Plaza-Midwood, 28205"]
    text = _text(at)
    assert "statistical areas drawn for the Quality of Life study, not neighbourhood boundaries" in text
    assert "**Where it is:** NPA 378 overlaps ZIP 28205" in text and "Plaza\\-Midwood" in text
    assert "Dashed: the NPA of Plaza\\-Midwood" in text
    at.text_input(key="nb_q").input("").run()
    assert at.selectbox(key="nb_npa").value == 378 and len(at.selectbox(key="nb_npa").options) == 459
    group = _map_args(at)["feature_group"]
    assert "nb-match" not in group and "map._fitOnceKey = null" in group  # the same search again zooms again


def test_a_new_search_keeps_the_chosen_npa_when_the_place_covers_it(open_page, index):
    zip_ids = index.search("28205")[0].npa_ids
    district_ids = index.search("council district 1")[0].npa_ids
    kept = next(n for n in zip_ids[1:] if n in district_ids[1:])  # in both, first of neither
    at = open_page(NEIGHBORHOOD)
    at.text_input(key="nb_q").input("28205").run()
    at.selectbox(key="nb_npa").set_value(kept).run()
    assert _card_title(at) == f"Neighborhood profile area {kept}"
    at.text_input(key="nb_q").input("council district 1").run()
    assert at.selectbox(key="nb_npa").value == kept  # kept: the district covers it
    at.text_input(key="nb_q").input("Monroe Rd").run()
    assert kept not in index.search("Monroe Rd")[0].npa_ids
    assert at.selectbox(key="nb_npa").value == index.search("Monroe Rd")[0].npa_ids[0]


def test_choosing_another_match_moves_to_its_npas(open_page, index):
    at = open_page(NEIGHBORHOOD)
    at.text_input(key="nb_q").input("Davidson").run()
    matches = [m for m in index.search("Davidson", limit=8) if m.npa_ids]
    other = next(m for m in matches[1:] if m.npa_ids[0] != matches[0].npa_ids[0] or len(m.npa_ids) == 1)
    at.radio(key="nb_match").set_value(other.place.key).run()
    assert at.selectbox(key="nb_npa").value in other.npa_ids
    assert at.query_params["place"] in (other.place.key, [other.place.key])


def test_no_match_says_what_to_try_with_the_text_escaped(open_page):
    at = open_page(NEIGHBORHOOD)
    at.text_input(key="nb_q").input("<b>zzqx</b>*").run()
    assert not _problems(at)
    (info,) = [i.value for i in at.info]
    assert info.startswith("No place matches '&lt;b&gt;zzqx&lt;/b&gt;\\*'")
    assert "try a ZIP code, a road, a school or an NPA number" in info
    assert not at.radio


def test_a_link_reopens_the_npa_and_the_search(open_page, index):
    at = open_page(NEIGHBORHOOD, npa="380")
    assert _card_title(at) == "Neighborhood profile area 380"
    assert "NPA 380 overlaps ZIP 28270" in _text(at)
    best = index.search("28270")[0]
    at = open_page(NEIGHBORHOOD, npa=str(best.npa_ids[2]), q="28270", place=best.place.key)
    assert at.text_input(key="nb_q").value == "28270"
    assert at.radio(key="nb_match").value == best.place.key
    assert _card_title(at) == f"Neighborhood profile area {best.npa_ids[2]}"


def test_a_link_to_an_unknown_npa_falls_back_with_a_note(open_page):
    at = open_page(NEIGHBORHOOD, npa="99999")
    assert _card_title(at) == "Neighborhood profile area 2"
    assert any("npa=99999" in c.value for c in at.caption)


def test_a_click_on_the_map_chooses_the_npa_and_a_landmark_click_does_not(open_page):
    at = open_page(NEIGHBORHOOD)
    at.session_state["nb_map"] = {
        "last_active_drawing": {"id": "30"},
        "last_object_clicked": {"lat": 35.1, "lng": -80.9},
    }
    at.run()
    assert _card_title(at) == "Neighborhood profile area 30"
    assert "L.geoJson(" in _map_args(at)["feature_group"]  # outlined
    at.selectbox(key="nb_npa").set_value(12).run()
    at.run()  # the component still reports the old click: it is not taken again
    assert _card_title(at) == "Neighborhood profile area 12"
    landmark = {"type": "Feature", "properties": {"reference": "landmark"}, "geometry": None}
    at.session_state["nb_map"] = {"last_active_drawing": landmark, "last_object_clicked": {"lat": 35.2, "lng": -80.8}}
    at.run()
    assert not _problems(at)
    assert _card_title(at) == "Neighborhood profile area 12"


# --------------------------------------------------------------------------- landing page


def test_the_landing_page_answers_first(open_page, stops_and_report):
    at = open_page()
    assert at.title[0].value == "CMPD hot spots: overview"
    assert at.text_input(key="ov_q").label == "Find a place"
    assert "L.map(" in _map_args(at)["script"] and "Violent-crime hot spots" in _map_args(at)["script"]
    (metric,) = [m for m in at.metric if m.label.startswith("Searches:")]
    ratio = disparity.rates(stops_and_report[0], outcome="search", by="driver_group").set_index("group").loc["Black"]
    assert metric.value == f"{ratio['ratio']:.2f}×" == "3.30×"
    assert f"95% interval {ratio['ratio_lo']:.2f}× to {ratio['ratio_hi']:.2f}×" in _text(at)
    assert not at.dataframe  # coverage and the row report are on the Data page


def test_the_landing_figure_follows_the_sidebar_filters(open_page):
    at = open_page()
    before = next(m.value for m in at.metric if m.label.startswith("Searches:"))
    at.sidebar.multiselect(key="f_genders").set_value(["Female"]).run()
    assert not _problems(at)
    assert next(m.value for m in at.metric if m.label.startswith("Searches:")) != before
    assert "driver gender: Female" in _text(at)


def test_a_landing_search_opens_the_neighborhood_page(open_page):
    at = open_page()
    at.text_input(key="ov_q").input("Plaza Midwood").run()
    assert [b.label for b in at.button if b.key and b.key.startswith("ov_match")][0].startswith("Historic district")
    at.button(key="ov_match_0").click().run()
    assert not _problems(at)
    assert at.title[0].value == "Your neighborhood"
    assert _card_title(at) == "Neighborhood profile area 378"
    assert at.text_input(key="nb_q").value == "Plaza Midwood"


def test_a_landing_search_without_a_match_says_so(open_page):
    at = open_page()
    at.text_input(key="ov_q").input("qqqzzz").run()
    assert [i.value for i in at.info] == [
        "No place matches 'qqqzzz'; try a ZIP code, a road, a school or an NPA number."
    ]


def test_a_click_on_the_landing_map_opens_that_npa(open_page):
    at = open_page()
    state_key = generate_js_hash(_map_args(at)["script"], "ov_map", False)
    at.session_state[state_key] = {"last_active_drawing": {"type": "Feature", "id": "30", "properties": {}}}
    at.run()
    assert not _problems(at)
    assert _card_title(at) == "Neighborhood profile area 30"


# --------------------------------------------------------------------------- data page


def test_the_data_page_has_the_coverage_and_the_row_report(open_page):
    at = open_page(DATA)
    frames = [df.value for df in at.dataframe]
    coverage = next(f for f in frames if "data set" in f.columns)
    assert {"file", "rows", "period", "retrieved", "source"} <= set(coverage.columns) and len(coverage) > 5
    report = next(f for f in frames if "set aside" in f.columns)
    assert report.set_index("data").loc["stops", "read"] == 139_524
    assert report.set_index("data").loc["roads", "read"] == 3_403
    assert report.set_index("data").loc["roads", "what"] == "Main roads (state-maintained, 2019)"
    assert any(REFERENCE_LAYERS_2013 in c.value for c in at.caption)
    assert [m.value for m in at.metric][:2] == ["139,524", "7,892"]
    assert [s.value for s in at.subheader][:2] == ["Data coverage", "What happened to every row"]
