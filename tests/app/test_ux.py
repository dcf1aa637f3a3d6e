"""The UX fixes through Streamlit's AppTest (issue 11, items 2, 7 and 8).

Human column labels in the tables, years on chart axes that read as years, a text
alternative with every chart, the glossary (on the Methods page and under "Words used
here"), the reference layers on every map of these pages, the selected area outlined on
the Hot spots map, and the choices of the map explorer and emerging pages in the URL.
"""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest
from streamlit_folium import generate_js_hash

from geo.maps.reference import REFERENCE_LAYER_NAMES
from geo.output import glossary
from geo.settings import PROJECT_ROOT

#: AppTest runs the whole page script for every check: part of `make test`, not of `make test-fast`.
pytestmark = pytest.mark.slow

APP = str(PROJECT_ROOT / "app.py")
MAP_EXPLORER = "app_pages/map_explorer.py"
HOTSPOTS = "app_pages/hotspots.py"
EMERGING = "app_pages/emerging.py"
METHODS = "app_pages/methods.py"
EXPORT = "app_pages/export.py"
#: A column name as the data has it: lower case with underscores (``pop_2020``, ``ehsa_hot_steps``).
RAW_NAME = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)+$|^[a-z]+$")


@pytest.fixture
def open_page(settings, monkeypatch):
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))

    def run(page: str, **query: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=180)
        for name, value in query.items():
            at.query_params[name] = value
        at.run()
        at.switch_page(page).run()
        assert not _problems(at)
        return at

    return run


def _problems(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(x.value) for x in at.exception]


def _map_args(at: AppTest) -> dict:
    maps = [json.loads(el.proto.json_args) for el in at.get("component_instance") if "L.map(" in el.proto.json_args]
    assert maps, "no folium map on the page"
    return maps[0]


def _specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def _encodings(spec: dict) -> list[dict]:
    """Every encoding of a (layered, concatenated) Vega-Lite spec."""
    out = [spec["encoding"]] if "encoding" in spec else []
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for sub in spec.get(key, []):
            out += _encodings(sub)
    return out


def _captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


def _assert_reference_layers(script: str) -> None:
    for name in ("Main roads", "Police divisions", "ZIP codes (2013)"):
        assert name in script, name
    assert "OpenStreetMap tiles (needs internet)" in script  # offered, switched off
    assert script.index("L.control.layers(") > script.index("Main roads")


def _click(at: AppTest, map_key: str, feature_id: str) -> None:
    """Simulate a click on a map feature: set st_folium's component state, as the browser would."""
    state_key = generate_js_hash(_map_args(at)["script"], map_key, False)
    at.session_state[state_key] = {"last_active_drawing": {"type": "Feature", "id": feature_id, "properties": {}}}
    at.run()
    assert not _problems(at)


# --------------------------------------------------------------------------- map explorer


def test_map_explorer_table_has_human_labels_and_the_map_reference_layers(open_page):
    at = open_page(MAP_EXPLORER)
    table = at.dataframe[0].value
    assert list(table.columns[:2]) == ["Division", "Stops"]
    assert not [c for c in table.columns if RAW_NAME.match(str(c))], list(table.columns)
    _assert_reference_layers(_map_args(at)["script"])
    assert "2013" in _captions(at) and "not for analysis" in _captions(at)  # the reference layers' caveat
    at.radio(key="mx_layer").set_value("Neighborhoods (NPA)").run()
    table = at.dataframe[0].value
    assert table.columns[0] == "NPA" and not [c for c in table.columns if RAW_NAME.match(str(c))]


def test_map_explorer_choices_are_in_the_url_and_a_link_restores_them(open_page):
    at = open_page(MAP_EXPLORER)
    at.radio(key="mx_layer").set_value("Neighborhoods (NPA)").run()
    at.selectbox(key="mx_scheme").set_value("Fisher-Jenks").run()
    at.slider(key="mx_k").set_value(7).run()
    at.selectbox(key="mx_cmap").set_value("viridis").run()
    query = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert {"layer": "npa", "scheme": "fisher_jenks", "classes": "7", "colours": "viridis"}.items() <= query.items()
    assert "topic" in query and "variable" in query
    again = open_page(MAP_EXPLORER, **query)
    assert again.radio(key="mx_layer").value == "Neighborhoods (NPA)"
    assert again.selectbox(key="mx_scheme").value == "Fisher-Jenks" and again.slider(key="mx_k").value == 7
    assert again.selectbox(key="mx_cmap").value == "viridis"
    assert not [w.value for w in again.warning if "Session State" in w.value]
    bad = open_page(MAP_EXPLORER, scheme="jenks")
    assert any("scheme=jenks is not available" in c.value for c in bad.caption)
    assert bad.selectbox(key="mx_scheme").value == "Quantiles"


# --------------------------------------------------------------------------- hot spots


def test_hotspots_map_has_reference_layers_glossary_and_a_described_chart(open_page):
    at = open_page(HOTSPOTS)
    _assert_reference_layers(_map_args(at)["script"])
    words = next(e for e in at.expander if e.label == "Words used here")
    text = " ".join(m.value for m in words.markdown)
    for name in ("Pseudo p", "High\\-High", "Undefined", "False discovery rate", "Gi\\*", "z\\-score"):
        assert name in text, name
    (spec,) = [s for s in _specs(at) if "Moran" in json.dumps(s.get("title", ""))]
    assert spec["description"].startswith("Scatterplot of 371 areas") and "Moran's I = 0.420" in spec["description"]
    assert "Scatterplot of 371 areas" in _captions(at)  # the areas tested


def test_the_selected_area_is_outlined_on_the_map(open_page):
    at = open_page(HOTSPOTS)
    assert _map_args(at)["feature_group"] is None  # nothing selected, nothing outlined
    script = _map_args(at)["script"]
    _click(at, "hs_map_npa_0", "12")
    assert at.selectbox(key="hs_unit_npa").value == 12
    args = _map_args(at)
    assert args["script"] == script  # the map itself is not drawn again (the view stays) ...
    group = args["feature_group"]  # ... the outline comes as a feature group over it
    assert group.count("L.geoJson(") == 2 and '"weight": 3.0' in group and "map_div.addLayer" in group
    assert '"interactive": false' in group.replace("'", '"')
    at.selectbox(key="hs_unit_npa").set_value(3).run()
    assert _map_args(at)["feature_group"] != group
    at.selectbox(key="hs_unit_npa").set_value(None).run()
    assert _map_args(at)["feature_group"] is None


def test_the_largest_page_map_with_its_reference_layers_stays_under_800_kb(open_page):
    at = open_page(HOTSPOTS)
    at.radio(key="hs_layer").set_value("Incident points (hexagons)").run()
    assert not _problems(at)
    args = _map_args(at)
    size = sum(len((args.get(k) or "").encode()) for k in ("script", "header", "html"))
    print(f"incident hexagon map as sent to the browser: {size:,} bytes")
    assert size <= 800 * 1024
    _assert_reference_layers(args["script"])


def test_the_phone_and_print_stylesheets_are_on_every_page(open_page):
    at = open_page(METHODS)
    css = " ".join(h.proto.body for h in at.get("html"))
    assert "@media (max-width: 640px)" in css and "@media print" in css


def test_a_link_to_an_area_outlines_it(open_page):
    at = open_page(HOTSPOTS, unit="380")
    assert at.selectbox(key="hs_unit_npa").value is not None
    assert "L.geoJson(" in _map_args(at)["feature_group"]


# --------------------------------------------------------------------------- emerging hot spots


def test_emerging_charts_read_years_as_years_and_say_what_they_show(open_page):
    at = open_page(EMERGING)
    _assert_reference_layers(_map_args(at)["script"])
    patterns = at.dataframe[0].value
    assert list(patterns.columns) == ["Pattern", "NPAs", "How it is decided"]
    assert any(e.label == "Words used here" for e in at.expander)
    _click(at, "eh_map", "0")
    specs = _specs(at)
    assert len(specs) == 2
    for spec in specs:
        xs = [e["x"] for e in _encodings(spec) if "x" in e]
        assert xs and all(x["field"] == "year" for x in xs)
        # ordinal years are written as they are; a continuous axis would need format "d"
        assert all(x["type"] == "ordinal" or x.get("axis", {}).get("format") == "d" for x in xs), xs
        assert spec["description"]  # the text alternative ...
        assert spec["description"].split(":")[0] in _captions(at)  # ... also shown under the chart
    assert "lowest" in specs[0]["description"] and "Gi* z-scores from" in specs[1]["description"]
    series = next(d for d in at.dataframe if "Year" in d.value.columns)
    assert "%d" in str(series.proto.columns)  # the table's years read 2011, not 2,011


def test_emerging_choices_are_in_the_url_and_a_link_restores_them(open_page):
    at = open_page(EMERGING, crime="property_crimes", measure="count", lag="2", alpha="0.01", unit="2")
    assert at.selectbox(key="eh_crime").value == "Property crime"
    assert at.radio(key="eh_measure").value == "Count"
    assert at.slider(key="eh_lag").value == 2 and at.select_slider(key="eh_alpha").value == 0.01
    assert at.selectbox(key="eh_unit").value is not None
    assert not [w.value for w in at.warning if "Session State" in w.value]
    at.selectbox(key="eh_weights").set_value("Rook contiguity").run()
    query = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert {"weights": "rook", "crime": "property_crimes", "lag": "2", "unit": "2"}.items() <= query.items()


# --------------------------------------------------------------------------- methods and export


def test_methods_page_lists_every_glossary_term(open_page):
    at = open_page(METHODS)
    text = " ".join(m.value for m in at.markdown)
    for term in glossary.GLOSSARY.values():
        assert term.name.replace("-", "\\-").replace("*", "\\*").replace("(", "\\(").replace(")", "\\)") in text
    assert "Sporadic Hot Spot" in text and "REFERENCE" not in text
    assert any(h.value == "Glossary" for h in at.subheader)


def test_export_preview_and_dictionary_have_human_headings(open_page):
    at = open_page(EXPORT)
    preview, dictionary = at.dataframe[0], at.dataframe[-1]
    assert not [c for c in preview.value.columns if RAW_NAME.match(str(c))], list(preview.value.columns)
    assert "Stops" in preview.value.columns
    assert "In the file: stops" in str(preview.proto.columns)  # the file's name is one hover away
    assert list(dictionary.value.columns)[:3] == ["Column in the file", "Label", "Meaning"]
    assert "%d" in str(dictionary.proto.columns)


def test_every_reference_layer_name_is_known():
    # the maps' layer control lists these names; the tests above look for three of them
    assert {"Main roads", "Police divisions", "ZIP codes (2013)"} <= set(REFERENCE_LAYER_NAMES.values())


# --------------------------------------------------------------------------- whatever data is there (issue 12, item 3)


def _required_only(tmp_path, *, stops_file=None):
    """A data folder holding only the data sets the app requires (no incident, shooting or reference files).

    ``stops_file`` replaces the stops, written where a newer portal download goes.
    """
    import shutil

    from geo.ingest.sources import DATASETS
    from tests.helpers.data import SHARED

    data = tmp_path / "data"
    for key, ds in DATASETS.items():
        if ds.required and not (key == "stops" and stops_file is not None):
            (data / ds.path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(SHARED / ds.path, data / ds.path)
    if stops_file is not None:
        dest = data / DATASETS["stops"].portal_path
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(stops_file, dest)
    return data


def _app_on(data, tmp_path, monkeypatch, **query: str) -> AppTest:
    monkeypatch.setenv("CMPD_DATA_DIR", str(data))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(tmp_path / "cache"))
    at = AppTest.from_file(APP, default_timeout=180)
    for name, value in query.items():
        at.query_params[name] = value
    return at


def test_period_slider_follows_a_stops_file_of_any_span(stops_csv, tmp_path, monkeypatch):
    import gzip

    from geo.layers.filters import StopFilter

    months = ["2016/01", "2017/06", "2019/11", "2020/03", "2022/08", "2023/12"]
    plain = stops_csv([{"Month_of_Stop": m} for m in months])
    gz = tmp_path / "stops.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    at = _app_on(_required_only(tmp_path, stops_file=gz), tmp_path, monkeypatch)
    at.switch_page("app_pages/upload.py").run()
    assert not at.exception
    slider = at.select_slider(key="f_period")
    assert slider.options[0] == "2016-01" and slider.options[-1] == "2023-12"
    assert slider.options == [m.replace("/", "-") for m in months]  # only months with stops, in order
    assert tuple(slider.value) == ("2016-01", "2023-12")
    start, end = at.session_state["f_period"]
    f = StopFilter(start=start, end=end)
    from geo.ingest.stops import load_stops

    stops, _ = load_stops(plain)
    assert len(f.apply(stops)) == len(months)  # the default period keeps every stop of every year


@pytest.mark.parametrize(
    ("page", "query", "missing"),
    [
        (HOTSPOTS, {"layer": "incidents"}, "No incident points"),
        ("app_pages/trends.py", {}, "incidents_timeline"),
        ("app_pages/use_of_force.py", {}, "ois_incidents"),
        (METHODS, {}, "qol_config"),
    ],
)
def test_without_optional_files_the_pages_name_what_is_missing_and_the_command(
    tmp_path, monkeypatch, page, query, missing
):
    at = _app_on(_required_only(tmp_path), tmp_path, monkeypatch, **query)
    at.run()
    assert not at.exception  # the app starts
    assert at.select_slider(key="f_period").options  # with the stops it has
    at.switch_page(page).run()
    assert not at.exception
    said = [m.value for m in [*at.error, *at.warning]]
    named = [m for m in said if missing.replace("_", "\\_") in m or missing in m]
    assert named, said
    assert all("python \\-m geo fetch" in m or "python -m geo fetch" in m for m in named), named


@pytest.mark.parametrize("page", ["app_pages/overview.py", "app_pages/neighborhood.py"])
def test_the_community_pages_work_on_the_required_files_alone(tmp_path, monkeypatch, page):
    at = _app_on(_required_only(tmp_path), tmp_path, monkeypatch)
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    broken = [m.value for m in at.error if "Something went wrong" in m.value]
    assert not broken, broken


def test_the_start_up_error_names_its_own_fix(tmp_path, monkeypatch):
    """A bad setting says which setting; a missing required file says the fetch command (issue 15 item 3)."""
    monkeypatch.setenv("CMPD_NOT_A_SETTING", "1")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    said = " ".join(e.value for e in at.error)
    assert "CMPD\\_NOT\\_A\\_SETTING" in said and "make run" not in said
    monkeypatch.delenv("CMPD_NOT_A_SETTING")
    empty = tmp_path / "empty"
    empty.mkdir()
    at = _app_on(empty, tmp_path, monkeypatch)
    at.run()
    said = " ".join(e.value for e in at.error)
    assert "python \\-m geo fetch" in said and "make run" not in said
