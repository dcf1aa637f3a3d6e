"""The Hot spots and Emerging hot spots pages through app.py with Streamlit's AppTest.

Every page runs without an error, each widget changes what it drives (map script, metrics
or table), the division layer carries the small-sample warning, and a click on the map
(simulated through the map component's state) selects the unit.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from streamlit_folium import generate_js_hash

from geo.settings import PROJECT_ROOT
from geo.text import escape_md

#: AppTest runs the whole page script for every check: part of `make test`, not of `make test-fast`.
pytestmark = pytest.mark.slow

APP = str(PROJECT_ROOT / "app.py")
HOTSPOTS = "app_pages/hotspots.py"
EMERGING = "app_pages/emerging.py"


@pytest.fixture
def open_page(settings, monkeypatch):
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))

    def run(page: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120)
        at.switch_page(page).run()
        assert not _problems(at)
        return at

    return run


def _problems(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(x.value) for x in at.exception]


def _map(at: AppTest) -> str:
    maps = [el.proto.json_args for el in at.get("component_instance") if "L.map(" in el.proto.json_args]
    assert len(maps) == 1, "expected exactly one folium map on the page"
    return json.loads(maps[0])["script"]


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _click(at: AppTest, map_key: str, feature_id: str) -> None:
    """Simulate a click on a map feature: set st_folium's component state, as the browser would."""
    state_key = generate_js_hash(_map(at), map_key, False)
    at.session_state[state_key] = {"last_active_drawing": {"type": "Feature", "id": feature_id, "properties": {}}}
    at.run()
    assert not _problems(at)


# --------------------------------------------------------------------------- hot spots


def test_hotspots_default_npa_page(open_page):
    at = open_page(HOTSPOTS)
    assert at.title[0].value == "Hot spots"
    m = _metrics(at)
    # 2022 violent-crime rate, queen weights: the global I the statistics tests check against GeoDa
    assert m["Global Moran's I"] == "0.420"
    assert m["Areas tested"] == "371"
    script = _map(at)
    for label in ("High-High", "Low-Low", "Low-High", "High-Low", "Not significant", "Isolated", "Undefined"):
        assert label in script  # legend lists every LISA label, with the Undefined NPAs
    table = at.dataframe[0].value
    assert len(table) == 459
    assert list(table.columns[:3]) == ["NPA", "Violent crime per 1,000 residents (2022)", "LISA cluster"]
    assert table["Gi* z-score"].dropna().is_monotonic_decreasing  # sorted hottest first
    assert at.get("vega_lite_chart"), "Moran scatterplot missing"
    assert any("88 unit" in w.value for w in at.warning)  # NPAs without a 2022 rate
    # said once, by the LISA run: Gi*'s own "undefined_units" warning is filtered out by its code
    warnings = " ".join(w.value for w in at.warning)
    assert "and are labelled Undefined; links to them were dropped" in warnings  # the LISA run's
    assert "have no value and are labelled Undefined" not in warnings


def test_hotspots_variable_weights_and_correction_change_results(open_page):
    at = open_page(HOTSPOTS)
    script0, table0, m0 = _map(at), at.dataframe[0].value, _metrics(at)

    at.radio(key="hs_measure").set_value("Count").run()
    assert not _problems(at)
    table1 = at.dataframe[0].value
    assert "Violent crime, count (2022)" in table1.columns
    assert _map(at) != script0 and _metrics(at)["Global Moran's I"] != m0["Global Moran's I"]

    at.radio(key="hs_measure").set_value("Rate per 1,000 residents, smoothed (empirical Bayes)").run()
    assert not _problems(at)
    assert "Violent crime per 1,000 residents, EB-smoothed (2022)" in at.dataframe[0].value.columns

    at.radio(key="hs_measure").set_value("Rate per 1,000 residents").run()
    assert at.dataframe[0].value.equals(table0)  # back to the same result (cached)
    at.selectbox(key="hs_weights").set_value("K nearest neighbours").run()
    assert not _problems(at)
    knn = at.dataframe[0].value
    assert not knn["Local Moran's I"].equals(table0["Local Moran's I"])
    assert "knn (k=6)" in " ".join(c.value for c in at.caption)

    assert "correction: fdr" in " ".join(c.value for c in at.caption)  # FDR is the default
    after = at.dataframe[0].value["LISA cluster"].value_counts()
    at.radio(key="hs_correction").set_value("None").run()
    assert not _problems(at)
    before = at.dataframe[0].value["LISA cluster"].value_counts()
    assert after["Not significant"] > before["Not significant"]  # the FDR cutoff keeps fewer clusters
    assert after["Undefined"] == before["Undefined"] == 88
    assert "correction: none" in " ".join(c.value for c in at.caption)

    at.radio(key="hs_correction").set_value("Bonferroni").run()
    assert any("no unit can be significant" in w.value for w in at.warning)  # 999 permutations: p >= 0.001


def test_hotspots_map_views(open_page):
    at = open_page(HOTSPOTS)
    lisa = _map(at)
    at.radio(key="hs_view").set_value("Gi* hot and cold spots").run()
    gi = _map(at)
    assert gi != lisa and "Hot Spot with 99% Confidence" in gi and "Cold Spot with 90% Confidence" in gi
    at.radio(key="hs_view").set_value("Significance (p-values)").run()
    at.radio(key="hs_correction").set_value("None").run()  # the uncorrected cutoff 0.05 keeps the p <= 0.05 class
    sig = _map(at)
    assert "p ≤ 0.05" in sig or "p \\u2264 0.05" in sig
    assert not _problems(at)


def test_each_results_map_is_drawn_once_for_every_session(open_page, monkeypatch):
    """A second session with the same choices gets the shared drawn map (issue 15 item 7); new options redraw it."""
    from geo.maps import draw

    calls = []
    real = draw.categorical_map
    monkeypatch.setattr(draw, "categorical_map", lambda *a, **kw: calls.append(a[1]) or real(*a, **kw))
    first = open_page(HOTSPOTS)
    drawn = len(calls)  # 0 if an earlier test drew this map in this process
    other = open_page(HOTSPOTS)
    assert len(calls) == drawn and _map(other) == _map(first)
    other.radio(key="hs_correction").set_value("Bonferroni").run()  # new results: a new map, drawn once
    assert calls[drawn:] == ["lisa_cluster"] and _map(other) != _map(first)
    assert not _problems(other)


def test_division_layer_shows_small_sample_warning(open_page):
    at = open_page(HOTSPOTS)
    at.radio(key="hs_layer").set_value("Divisions").run()
    assert not _problems(at)
    warnings = " ".join(w.value for w in at.warning)
    assert "Too few areas for local inference" in warnings
    assert "only 14 units were tested" in warnings
    assert len(at.dataframe[0].value) == 14
    assert _metrics(at)["Areas tested"] == "14"
    # a stop filter changes the division counts and so the result
    before = at.dataframe[0].value
    at.sidebar.multiselect(key="f_genders").set_value(["Female"]).run()
    assert not _problems(at)
    assert not at.dataframe[0].value.equals(before)


def test_division_filter_without_stops_gives_message_not_exception(open_page):
    at = open_page(HOTSPOTS)
    at.radio(key="hs_layer").set_value("Divisions").run()
    options = at.selectbox(key="hs_div_var").options
    at.selectbox(key="hs_div_var").select_index(options.index("Stops (counts): Stops"))
    at.sidebar.multiselect(key="f_divisions").set_value(["Airport Division"]).run()
    assert not _problems(at)
    assert any("No stops left" in w.value for w in at.warning)


def test_incident_hexagons(open_page, settings):
    from geo.layers import catalog

    at = open_page(HOTSPOTS)
    at.radio(key="hs_layer").set_value("Incident points (hexagons)").run()
    assert not _problems(at)
    captions = " ".join(c.value for c in at.caption)
    points = catalog.get_layer("incidents", settings=settings)
    inside = int(points["in_county"].sum()) if "in_county" in points else len(points)
    assert f"{inside:,} points counted in" in captions or f"{len(points):,} points counted in" in captions
    assert "hexagons" in captions and escape_md(points.attrs["source_label"]) in captions
    table = at.dataframe[0].value
    assert len(table) > 1000 and table.columns[0] == "Hexagon"
    assert "Hexagon" in _map(at)


def test_click_on_map_selects_and_highlights_the_row(open_page):
    at = open_page(HOTSPOTS)
    assert at.selectbox(key="hs_unit_npa").value is None
    _click(at, "hs_map_npa_0", "12")  # feature ids are the frame's index labels
    assert at.selectbox(key="hs_unit_npa").value == 12
    npa = at.dataframe[0].value.loc[12, "NPA"]
    text = " ".join(m.value for m in at.markdown)
    assert f"NPA {npa}" in text and "LISA:" in text and "Pseudo p" in text
    assert at.dataframe[0].value.index[0] == 12  # the row comes first,
    assert "#ffe08a" in str(at.dataframe[0].proto.arrow_data.styler.styles)  # highlighted
    assert '"size":220' in at.get("vega_lite_chart")[0].proto.spec.replace(" ", "")  # and ringed in the scatterplot
    # choosing from the list afterwards wins over the earlier click
    at.selectbox(key="hs_unit_npa").set_value(3).run()
    assert at.selectbox(key="hs_unit_npa").value == 3


# --------------------------------------------------------------------------- emerging hot spots


def test_emerging_page(open_page):
    at = open_page(EMERGING)
    assert at.title[0].value == "Emerging hot spots"
    script = _map(at)
    assert "Persistent Hot Spot" in script and "Undefined" in script
    assert any("88 of 459 NPAs miss a value" in i.value for i in at.info)
    assert not any("miss a value" in w.value for w in at.warning)  # said by the note above, not repeated
    patterns = at.dataframe[0].value
    assert {"Pattern", "NPAs", "How it is decided"} <= set(patterns.columns)
    assert patterns.set_index("Pattern").loc["Undefined", "NPAs"] == 88

    at.selectbox(key="eh_crime").set_value("Property crime").run()
    assert not _problems(at)
    assert _map(at) != script
    at.radio(key="eh_measure").set_value("Count").run()
    at.slider(key="eh_lag").set_value(2).run()
    assert not _problems(at)
    assert "time lag 2" in " ".join(c.value for c in at.caption)


def test_emerging_click_shows_series_and_rule(open_page):
    at = open_page(EMERGING)
    _click(at, "eh_map", "0")
    assert at.selectbox(key="eh_unit").value == 0
    text = " ".join(m.value for m in at.markdown)
    assert "NPA 2" in text and "Over 10 years it was a significant hot spot in" in text
    assert len(at.get("vega_lite_chart")) == 2  # yearly values and z-scores
    series = at.dataframe[0].value
    assert list(series["Year"]) == [2011, 2013, 2015, 2016, 2017, 2018, 2019, 2020, 2021, 2022]
    assert set(series["Status"]) <= {"Hot spot", "Cold spot", "Not significant", "No value"}


def _cli_bins(tmp_path, method: str, *extra: str) -> pd.Series:
    """The command line's labels per NPA for the same choices."""
    import geopandas as gpd

    from geo.cli import main

    out = tmp_path / f"{method}.geojson"
    argv = ["hotspots", "--layer", "npa", "--variable", "violent_rate_2022", "--method", method, *extra]
    assert main([*argv, "--out", str(out)]) == 0
    g = gpd.read_file(out)
    column = "gi_label" if method == "gi" else "lisa_cluster"
    return g.set_index("npa")[column].sort_index()


@pytest.mark.parametrize(
    "widgets, cli_lisa, cli_gi",
    [
        ({}, [], []),  # every default: 999 permutations, alpha 0.05, FDR, permutation p for Gi*
        (
            {
                "hs_weights": "Rook contiguity (shared border)",
                "hs_perms": 499,
                "hs_alpha": 0.1,
                "hs_correction": "None",
                "hs_gi_inference": "Normal-theory p (ArcGIS)",
                "hs_seed": 7,
            },
            ["--weights", "rook", "--permutations", "499", "--alpha", "0.1", "--correction", "none", "--seed", "7"],
            ["--gi-inference", "normal"],
        ),
    ],
)
def test_cli_and_app_give_identical_bins(open_page, tmp_path, monkeypatch, widgets, cli_lisa, cli_gi):
    at = open_page(HOTSPOTS)
    for key, value in widgets.items():
        if key == "hs_seed":
            at.number_input(key=key).set_value(value)
        elif key == "hs_weights":
            at.selectbox(key=key).set_value(value)
        elif key in ("hs_perms", "hs_alpha"):
            at.select_slider(key=key).set_value(value)
        elif key in ("hs_correction", "hs_gi_inference"):
            at.radio(key=key).set_value(value)
    at.run()
    assert not _problems(at)
    table = at.dataframe[0].value.set_index("NPA").sort_index()
    lisa = _cli_bins(tmp_path, "lisa", *cli_lisa)
    gi = _cli_bins(tmp_path, "gi", *cli_lisa, *cli_gi)
    assert list(table.index) == list(lisa.index)
    assert table["LISA cluster"].tolist() == lisa.tolist()
    assert table["Gi* result"].tolist() == gi.tolist()
    assert table["Gi* result"].str.startswith("Hot").any()  # something to compare


def test_robustness_section_counts_runs_per_npa(open_page):
    at = open_page(HOTSPOTS)
    assert len(at.dataframe) == 1  # the local statistics only: the check runs when asked for
    at.toggle(key="hs_robust").set_value(True).run()
    assert not _problems(at)
    per_weights, table = at.dataframe[1].value, at.dataframe[2].value
    assert len(table) == 459
    assert per_weights["Neighbours"].tolist() == ["queen", "rook", "knn-6", "knn-10", "distance band", "kernel"]
    m = _metrics(at)
    assert int(m["Hot in all runs"]) == (table["Robustness"] == "Hot in all runs").sum()
    tested = table["Runs tested"] > 0
    assert (table.loc[tested, "Runs hot"] + table.loc[tested, "Runs cold"] <= 18).all()


def test_a_link_restores_the_choices_and_the_url_follows_them(settings, monkeypatch):
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))
    at = AppTest.from_file(APP, default_timeout=120)
    link = {"weights": "rook", "perms": "499", "alpha": "0.1", "correction": "none", "gi": "normal", "year": "2021"}
    link |= {"unit": "380", "view": "gi", "seed": "7"}
    for name, value in link.items():
        at.query_params[name] = value
    at.switch_page(HOTSPOTS).run()
    assert not _problems(at)
    assert at.selectbox(key="hs_weights").value == "Rook contiguity (shared border)"
    assert at.select_slider(key="hs_perms").value == 499 and at.number_input(key="hs_seed").value == 7
    assert at.radio(key="hs_gi_inference").value == "Normal-theory p (ArcGIS)"
    assert at.selectbox(key="hs_year_violent_crimes").value == 2021
    assert at.radio(key="hs_view").value == "Gi* hot and cold spots"
    unit = at.selectbox(key="hs_unit_npa").value
    assert at.dataframe[0].value.iloc[0]["NPA"] == 380 and unit is not None  # the linked NPA, first in the table
    # choosing again writes the URL; an unknown value in a link is dropped with a note, not an error
    at.selectbox(key="hs_weights").set_value("K nearest neighbours").run()
    assert at.query_params["weights"] == ["knn"] or at.query_params["weights"] == "knn"
    bad = AppTest.from_file(APP, default_timeout=120)
    bad.query_params["weights"] = "delaunay"
    bad.switch_page(HOTSPOTS).run()
    assert not _problems(bad)
    assert any("weights=delaunay" in c.value for c in bad.caption)


def test_choices_survive_switching_pages(open_page):
    at = open_page(HOTSPOTS)
    at.selectbox(key="hs_weights").set_value("Rook contiguity (shared border)").run()
    at.switch_page(EMERGING).run()
    at.switch_page(HOTSPOTS).run()
    assert not _problems(at)
    assert at.selectbox(key="hs_weights").value == "Rook contiguity (shared border)"
