"""The disparity, use-of-force and upload pages through Streamlit's AppTest.

Every tab runs without an exception; widgets change what they drive (checked against
plain pandas on the clean stops, not against the page's own code); an empty filter gives
a warning; the upload page shows the loader's exact message for a bad file and the row
report for a good one; text from the data is escaped.

Pages registered in ``app.py`` are opened through it (``switch_page``); a page not yet
registered runs under a small harness that draws the same sidebar filters first.
"""

from __future__ import annotations

import gzip
import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo import caveats, vocab
from geo.analysis import disparity
from geo.ingest.stops import load_stops
from geo.layers import filters
from geo.maps import palettes
from geo.settings import PROJECT_ROOT

#: AppTest runs the whole page script for every check: part of `make test`, not of `make test-fast`.
pytestmark = pytest.mark.slow

APP = PROJECT_ROOT / "app.py"
DISPARITIES = "app_pages/disparities.py"
USE_OF_FORCE = "app_pages/use_of_force.py"
UPLOAD = "app_pages/upload.py"
#: The label of the expander holding the numbers behind a chart (app_pages.charts.show_chart's default).
CHART_NUMBERS = "The numbers behind this chart"
DP_TABS = ["Rates and ratios", "Benchmark", "Models", "Officers", "Funnel plot"]
UF_TABS = [
    "Shootings map",
    "Shootings by area and year",
    "People involved",
    "State tables (citywide)",
    "Two sources, two counts",
]

HEADER = (
    "OBJECTID,Month_of_Stop,Reason_for_Stop,Officer_Race,Officer_Gender,Officer_Years_of_Service,Driver_Race,"
    "Driver_Ethnicity,Driver_Gender,Driver_Age,Was_a_Search_Conducted,Result_of_Stop,CMPD_Division,GlobalID"
)
GOOD_ROWS = [
    "1,2022/01,Speeding,White,Male,5,Black,Non-Hispanic,Male,30,No,Verbal Warning,Central Division,a",
    "2,2022/01,Speeding,White,Female,12,White,Non-Hispanic,Female,41,Yes,Arrest,Metro Division,b",
    "3,2022/03,Investigation,Black/African American,Male,2,Black,Hispanic,Male,22,Yes,Citation Issued,Metro Division,c",
    "4,2022/03,SeatBelt,White,Male,,White,Non-Hispanic,Male,130,No,Verbal Warning,,d",
]
BAD_ROWS = [
    "1,2022/01,Speeding,White,Male,5,Black,Non-Hispanic,Male,30,No,Verbal Warning,Central Division,a",
    "2,March,Speeding,White,Male,5,White,Non-Hispanic,Female,44,Yes,Arrest,,b",
    "3,2022/03,Speeding,White,Male,5,White,Non-Hispanic,Female,44,No,Arrest,<img src=x onerror=alert(1)>,c",
]


def _csv(rows: list[str]) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def _harness(page_file: str) -> None:  # runs as a Streamlit script: imports inside
    import runpy

    from app_pages import common

    common.sidebar_filters()
    runpy.run_path(page_file, run_name="__main__")


def _hostile_harness(page_file: str) -> None:  # the use-of-force page with hostile shooting text
    import runpy

    from app_pages import common

    real = common.ois

    def hostile():
        frame = real().copy()
        frame["location"] = frame["location"].astype(object)
        frame["narrative"] = frame["narrative"].astype(object)
        frame.loc[frame.index[0], "location"] = "<script>alert('x')</script> MAIN ST"
        frame.loc[frame.index[0], "narrative"] = "<img src=x onerror=alert(1)> [link](http://example.com) **bold**"
        return frame

    common.ois = hostile
    try:
        common.sidebar_filters()
        runpy.run_path(page_file, run_name="__main__")
    finally:
        common.ois = real


def _registered(page: str) -> bool:
    return f'"{page}"' in APP.read_text(encoding="utf-8")


@pytest.fixture
def open_page(settings, monkeypatch):
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))

    def open_(page: str, *, harness=None, **query: str) -> AppTest:
        if harness is None and _registered(page):
            at = AppTest.from_file(str(APP), default_timeout=300)
            for name, value in query.items():
                at.query_params[name] = value
            return at.run().switch_page(page).run()
        at = AppTest.from_function(harness or _harness, args=(str(PROJECT_ROOT / page),), default_timeout=300)
        for name, value in query.items():
            at.query_params[name] = value
        return at.run()

    return open_


@pytest.fixture
def downloads(monkeypatch):
    """The files the download buttons would hand out: file name -> the callable that makes them (not yet run)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    made: dict[str, object] = {}
    real = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        made[file_name] = data_callable
        return real(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return made


@pytest.fixture(scope="module")
def stops(stops_and_report):
    return stops_and_report[0]


def _problems(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(x.value) for x in at.exception]


def _tab(at: AppTest, key: str, tab: str) -> AppTest:
    at.session_state[key] = tab
    return at.run()


def _chart_tables(at: AppTest) -> list:
    """The tables that give a chart's numbers (:func:`app_pages.charts.show_chart`'s expanders)."""
    return [d for e in at.expander if e.label.startswith(CHART_NUMBERS) for d in e.dataframe]


def _frame(at: AppTest, column: str) -> pd.DataFrame:
    """The first table on the page with ``column`` (not counting the numbers behind a chart)."""
    behind = {id(d) for d in _chart_tables(at)}
    tables = [d for d in at.dataframe if id(d) not in behind]
    for df in tables:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with column {column!r}; tables: {[list(d.value.columns) for d in tables]}")


def _query(at: AppTest) -> dict[str, str]:
    return {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def _specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def _assert_charts_described(at: AppTest, where: str) -> list[str]:
    """Every chart has a description that is also its caption, and its numbers in an expander; the descriptions."""
    specs = _specs(at)
    assert specs, where
    captions = {_unescape(c.value) for c in at.caption}
    described = [spec.get("description", "") for spec in specs]
    for text in described:
        assert len(text) > 40 and text.endswith("."), (where, text)
        assert text in captions, (where, text)
    numbers = [e for e in at.expander if e.label.startswith(CHART_NUMBERS)]
    assert len(numbers) == len(specs), where
    assert all(len(e.dataframe) == 1 and len(e.dataframe[0].value) >= 1 for e in numbers), where
    return described


def _pdf_text(pdf: bytes, tmp_path) -> str:
    from tests.output.test_report import pdftotext

    return pdftotext(pdf, tmp_path)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


#: A column name as the data has it: lower case with underscores (``pop_2020``), or one lower-case word (``z``).
RAW_NAME = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)+$|^[a-z]+$")


def _color_scales(at: AppTest) -> list[dict]:
    """The colour scales (with a domain) of every chart on the page."""
    scales = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        for layer in spec.get("layer", [spec]):
            scale = layer.get("encoding", {}).get("color", {}).get("scale", {})
            if "domain" in scale:
                scales.append(scale)
    return scales


# --------------------------------------------------------------------------- disparities


def test_disparity_tabs_run(open_page):
    at = open_page(DISPARITIES)
    assert not _problems(at)
    assert at.title[0].value == "Disparities and accountability"
    for tab in DP_TABS:
        _tab(at, "dp_tab", tab)
        assert not _problems(at), tab
        assert len(at.dataframe) >= 1, tab
        assert len(at.get("vega_lite_chart")) >= 1, tab


def test_reference_group_changes_ratios(open_page, stops):
    at = open_page(DISPARITIES)
    t = _frame(at, "Ratio vs White").set_index("Group")
    known = stops[stops["searched"].notna()]
    rate = known.groupby(known["driver_group"].astype(str))["searched"].mean().astype(float)
    np.testing.assert_allclose(t.loc["Black", "Rate"], rate["Black"], rtol=1e-12)
    np.testing.assert_allclose(t.loc["Black", "Ratio vs White"], rate["Black"] / rate["White"], rtol=1e-12)
    at.selectbox(key="dp_ref_driver_group").set_value("Black").run()
    assert not _problems(at)
    t2 = _frame(at, "Ratio vs Black").set_index("Group")
    np.testing.assert_allclose(t2.loc["White", "Ratio vs Black"], rate["White"] / rate["Black"], rtol=1e-12)
    assert t2.loc["Black", "Ratio vs Black"] == 1.0


def test_outcome_and_dimension_change_rates(open_page, stops):
    at = open_page(DISPARITIES)
    at.selectbox(key="dp_outcome").set_value("arrest").run()
    t = _frame(at, "Rate").set_index("Group")
    known = stops[stops["result"].astype(str) != "Other/Unknown"]
    arrests = (known["result"].astype(str) == "Arrest").groupby(known["driver_group"].astype(str)).agg(["sum", "size"])
    assert t.loc["White", "With outcome"] == arrests.loc["White", "sum"]
    assert t.loc["White", "Stops"] == arrests.loc["White", "size"]
    at.selectbox(key="dp_dim").set_value("driver_gender").run()
    t = _frame(at, "Rate").set_index("Group")
    assert set(t.index) == {"Male", "Female"} and "Ratio vs Male" in t.columns
    at.checkbox(key="dp_among").check().run()  # arrests among searched stops
    t = _frame(at, "Searched stops").set_index("Group")
    searched = known[known["searched"].fillna(False).astype(bool)]
    assert t["Searched stops"].sum() == len(searched)
    assert not _problems(at)


def test_sidebar_filter_changes_counts(open_page, stops):
    at = open_page(DISPARITIES)
    before = _frame(at, "Stops")["Stops"].sum()
    at.sidebar.multiselect(key="f_genders").set_value(["Female"]).run()
    after = _frame(at, "Stops")["Stops"].sum()
    female = stops[(stops["driver_gender"] == "Female") & stops["searched"].notna()]
    assert after == len(female) < before
    assert any("driver gender: Female" in c.value for c in at.caption)


def test_small_cells_are_flagged_per_division(open_page):
    at = open_page(DISPARITIES)
    at.selectbox(key="dp_scope").set_value("Per division").run()
    t = _frame(at, "Division")
    small = t["Stops"] < vocab.MIN_CELL
    assert small.any()
    assert t.loc[small, "Cell"].str.startswith("⚠").all() and (t.loc[~small, "Cell"] == "").all()
    assert any("too uncertain to headline" in w.value for w in at.warning)
    # the headline names the highest rate among groups with enough stops, never a small cell
    at.selectbox(key="dp_scope").set_value("Citywide").run()
    head = next(m.value for m in at.markdown if m.value.startswith("Highest"))
    t = _frame(at, "Group")
    best = t[t["Cell"] == ""].sort_values("Rate").iloc[-1]["Group"]
    assert f"**{best}**" in head


def test_small_cell_warning_counts_the_small_cells(open_page):
    at = open_page(DISPARITIES)
    at.selectbox(key="dp_scope").set_value("Per division").run()
    t = _frame(at, "Division")
    n_small = int((t["Stops"] < vocab.MIN_CELL).sum())
    assert [w.value for w in at.warning] == [caveats.small_cells_warning(n_small, len(t), base="Stops")]
    assert (t.loc[t["Stops"] < vocab.MIN_CELL, "Cell"] == caveats.SMALL_CELL_NOTE).all()


def test_chart_colours_come_from_the_palette(open_page):
    at = open_page(DISPARITIES)
    cells = {"domain": [caveats.RELIABLE_CELL_LABEL, caveats.SMALL_CELL_LABEL]}
    cells["range"] = [palettes.ESTIMATE_COLOR, palettes.SMALL_CELL_COLOR]
    assert cells in _color_scales(at)
    _tab(at, "dp_tab", "Funnel plot")
    funnel = {"domain": list(palettes.FUNNEL_COLORS), "range": list(palettes.FUNNEL_COLORS.values())}
    assert funnel in _color_scales(at)
    _tab(at, "dp_tab", "Models")
    odds = {"domain": list(palettes.ODDS_RATIO_COLORS), "range": list(palettes.ODDS_RATIO_COLORS.values())}
    assert odds in _color_scales(at)


def test_empty_filter_shows_warning(open_page):
    at = open_page(DISPARITIES)
    at.sidebar.multiselect(key="f_reasons").set_value(["CheckPoint"]).run()
    at.sidebar.multiselect(key="f_divisions").set_value(["Airport Division"]).run()
    assert not _problems(at)
    assert any("No stops" in w.value for w in at.warning)
    assert not at.dataframe


def test_benchmark_without_division_stops_says_so(open_page):
    at = open_page(DISPARITIES)
    at.sidebar.multiselect(key="f_divisions").set_value(["No division recorded"]).run()
    _tab(at, "dp_tab", "Benchmark")
    assert not _problems(at)
    assert any("not benchmarked" in i.value for i in at.info)
    _tab(at, "dp_tab", "Funnel plot")
    assert not _problems(at) and any("funnel" in w.value for w in at.warning)


def test_models_tab_reports_rows_and_odds_ratios(open_page, stops):
    at = _tab(open_page(DISPARITIES), "dp_tab", "Models")
    metrics = {m.label: m.value for m in at.metric}
    flagged = int((stops["age_band"].astype(str).isin(["Outside 15-100", "Unknown"])).sum())
    assert metrics["Stops after the filters"] == f"{len(stops):,}"
    assert metrics["Stops used in the model"] == f"{len(stops) - flagged:,}"
    dropped = _frame(at, "Reason")
    assert dropped["Rows"].sum() == flagged and dropped["Reason"].str.contains("age").any()
    ors = _frame(at, "Odds ratio")
    black = ors[(ors["Term"] == "Driver race") & (ors["Level"] == "Black")].iloc[0]
    assert black["95% low"] < black["Odds ratio"] < black["95% high"]
    assert "Month" not in set(ors["Term"])  # hidden by default
    at.radio(key="dp_model_outcome").set_value("arrest").run()
    ors2 = _frame(at, "Odds ratio")
    assert not _problems(at)
    assert not np.isclose(ors2["Odds ratio"].iloc[0], ors["Odds ratio"].iloc[0])


def test_models_tab_says_how_the_model_was_fitted(open_page, stops):
    at = _tab(open_page(DISPARITIES), "dp_tab", "Models")
    assert any(c.value == caveats.model_fit_note("maximum likelihood", []) for c in at.caption)
    # Central Division: no driver aged 65-100 was arrested; they stay in the model, fitted by Firth's method
    at.sidebar.multiselect(key="f_divisions").set_value(["Central Division"]).run()
    at.radio(key="dp_model_outcome").set_value("arrest").run()
    assert not _problems(at)
    note = _unescape(next(i.value for i in at.info if "Firth" in i.value))
    assert "65-100" in note and "no arrests among its 143 stops" in note
    central = stops[stops["division"] == "Central Division"]
    flagged = int(central["age_band"].astype(str).isin(["Outside 15-100", "Unknown"]).sum())
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Stops used in the model"] == f"{len(central) - flagged:,}"
    assert metrics["Rows left out"] == f"{flagged:,}"
    ors = _frame(at, "Odds ratio")
    old = ors[(ors["Term"] == "Driver age") & (ors["Level"] == "65-100")].iloc[0]
    assert old["Stops at level"] == 143 and old["Events"] == 0 and old["Interval"] == "profile penalised likelihood"


def test_ratio_table_states_the_interval_method(open_page):
    at = open_page(DISPARITIES)
    at.selectbox(key="dp_scope").set_value("Per division").run()
    t = _frame(at, "Ratio interval").set_index(["Division", "Group"])
    row = t.loc[("Central Division", "Native American")]
    assert row["Ratio interval"] == "Koopman score" and row["Cell"] == caveats.SMALL_CELL_NOTE
    assert (round(row["Ratio 95% low"], 1), round(row["Ratio 95% high"], 1)) == (10.9, 61.2)
    assert (t.xs("White", level="Group")["Ratio interval"] == disparity.NO_RATIO_REFERENCE).all()
    assert any("Koopman score" in c.value for c in at.caption)


def test_models_with_too_few_rows_warn(open_page):
    at = open_page(DISPARITIES)
    at.sidebar.multiselect(key="f_reasons").set_value(["CheckPoint"]).run()
    _tab(at, "dp_tab", "Models")
    assert not _problems(at)
    assert any("cannot be fitted" in w.value or "No stops" in w.value for w in at.warning)


def test_benchmark_and_officers_follow_their_widgets(open_page, stops):
    at = _tab(open_page(DISPARITIES), "dp_tab", "Benchmark")
    t = _frame(at, "Stops per 1,000 residents")
    central = t[(t["Division"] == "Central Division") & (t["Drivers"] == "Black")].iloc[0]
    assert central["Stops"] == int(
        ((stops["division"] == "Central Division") & (stops["driver_group"] == "Black")).sum()
    )
    assert any("not the driving population" in i.value for i in at.info)
    at.selectbox(key="dp_bench_ref").set_value("Hispanic").run()
    assert "Ratio vs Hispanic" in _frame(at, "Stops per 1,000 residents").columns

    _tab(at, "dp_tab", "Officers")
    m = _frame(at, "Officer race")
    cell = m[(m["Officer race"] == "White") & (m["Group"] == "Black")].iloc[0]
    sub = stops[(stops["officer_race"] == "White") & (stops["driver_group"] == "Black") & stops["searched"].notna()]
    assert cell["Stops"] == len(sub) and cell["With outcome"] == int(sub["searched"].astype(bool).sum())
    at.selectbox(key="dp_off_outcome").set_value("citation").run()
    m2 = _frame(at, "Officer race")
    assert not np.isclose(m2["Rate"].iloc[0], m["Rate"].iloc[0])


def test_funnel_overdispersion_widens_limits(open_page):
    at = _tab(open_page(DISPARITIES), "dp_tab", "Funnel plot")
    t = _frame(at, "Outside 99.8%")
    assert len(t) == 13 and "No division recorded" not in set(t["Division"])
    plain = int(t["Outside 99.8%"].sum())
    at.checkbox(key="dp_fun_over").check().run()
    wide = int(_frame(at, "Outside 99.8%")["Outside 99.8%"].sum())
    assert wide < plain
    at.radio(key="dp_fun_measure").set_value("rate").run()
    assert not _problems(at)


def test_groups_present_matches_pandas(stops):
    for dim in ("driver_group", "reason", "age_band"):
        expected = [str(c) for c in stops[dim].cat.categories if (stops[dim] == c).any()]
        assert disparity.groups_present(stops, dim) == expected
    only = disparity.groups_present(stops, "driver_gender", filters=filters.StopFilter(driver_genders=("Female",)))
    assert only == ["Female"]


def test_every_disparity_chart_has_a_text_alternative(open_page, stops):
    at = open_page(DISPARITIES)
    described = _assert_charts_described(at, "Rates and ratios")
    # the citywide search-rate chart names the highest group's rate, as plain pandas computes it
    known = stops[stops["searched"].notna()]
    rate = known.groupby(known["driver_group"].astype(str), observed=True)["searched"].mean().astype(float)
    top = rate.idxmax()
    assert any(f"highest {top} {rate[top]:.1%} (95% interval" in d for d in described), described
    assert any(d.startswith("Disparity ratios against White drivers") for d in described), described
    for tab in DP_TABS[1:]:
        _tab(at, "dp_tab", tab)
        assert not _problems(at), tab
        _assert_charts_described(at, tab)


def test_disparity_tables_have_human_headings(open_page):
    at = open_page(DISPARITIES)
    for tab in DP_TABS:
        _tab(at, "dp_tab", tab)
        for table in at.dataframe:
            raw = [c for c in table.value.columns if RAW_NAME.match(str(c))]
            assert not raw, (tab, list(table.value.columns))
    _tab(at, "dp_tab", "Models")
    assert {"Term", "Level", "Reference level", "p-value"} <= set(_frame(at, "Odds ratio").columns)


def test_division_report_picker_and_downloads(open_page, downloads, division_layer, stops, tmp_path):
    at = open_page(DISPARITIES)
    assert not _problems(at)
    picker = at.selectbox(key="dp_division")
    names = [str(n) for n in division_layer["division"]]
    assert sorted(picker.options) == sorted(names) and picker.value == picker.options[0]
    picker.set_value("North Division").run()
    assert not _problems(at)
    assert _query(at)["div"] == "North Division"
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download the report (PDF)", "Download the report (HTML)"]
    n = int((stops["division"] == "North Division").sum())
    shown = next(m.value for m in at.markdown if m.value.startswith("**North Division:**"))
    assert f"{n:,} traffic stops" in shown
    assert "north-division-report.pdf" in downloads and "north-division-report.html" in downloads
    pdf = downloads["north-division-report.pdf"]()
    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf, tmp_path)
    assert "North Division: traffic stops" in text and f"{n:,}" in text
    assert "95% Wilson interval" in text and "Residential population is not the driving population" in text


def test_division_report_counts_the_filtered_stops(open_page, downloads, stops, tmp_path):
    at = open_page(DISPARITIES)
    at.sidebar.multiselect(key="f_genders").set_value(["Female"]).run()
    at.selectbox(key="dp_division").set_value("Eastway Division").run()
    assert not _problems(at)
    n = int(((stops["division"] == "Eastway Division") & (stops["driver_gender"] == "Female")).sum())
    assert any(m.value.startswith("**Eastway Division:**") and f"{n:,} traffic" in m.value for m in at.markdown)
    text = _pdf_text(downloads["eastway-division-report.pdf"](), tmp_path)
    assert f"{n:,} in Eastway Division" in text and "Female" in text


def test_a_division_link_restores_the_choice(open_page):
    at = open_page(DISPARITIES, div="Steele Creek Division")
    assert not _problems(at)
    assert at.selectbox(key="dp_division").value == "Steele Creek Division"
    assert not at.sidebar.multiselect(key="f_divisions").value  # the report's division is not a stop filter
    bad = open_page(DISPARITIES, div="Gotham Division")
    assert not _problems(bad)
    assert any("div=Gotham Division is not available" in _unescape(c.value) for c in bad.caption)
    assert bad.selectbox(key="dp_division").value == bad.selectbox(key="dp_division").options[0]


# --------------------------------------------------------------------------- use of force


def test_use_of_force_tabs_run(open_page):
    at = open_page(USE_OF_FORCE)
    assert at.title[0].value == "Use of force"
    for tab in UF_TABS:
        _tab(at, "uf_tab", tab)
        assert not _problems(at), tab
        assert at.dataframe, tab


def test_use_of_force_colours_come_from_the_palette(open_page):
    at = open_page(USE_OF_FORCE)
    _tab(at, "uf_tab", "People involved")
    injury = {"domain": list(palettes.INJURY_COLORS), "range": list(palettes.INJURY_COLORS.values())}
    assert injury in _color_scales(at)
    assert not _problems(at)


def test_shooting_counts_per_division_match_a_spatial_join(open_page, settings):
    from geo.layers import build

    at = _tab(open_page(USE_OF_FORCE), "uf_tab", "Shootings by area and year")
    t = _frame(at, "Division").set_index("Division")
    pts, divs = build.ois(settings), build.divisions(settings)
    joined = gpd.sjoin(pts[["geometry"]], divs[["division", "geometry"]], predicate="intersects", how="left")
    expected = joined.groupby("division").size()
    for name, n in expected.items():
        assert t.loc[name, "Shootings"] == n
    assert t["Shootings"].sum() == len(pts)
    at.radio(key="uf_level").set_value("Neighborhoods (NPA)").run()
    npa = _frame(at, "NPA")
    assert npa["Shootings"].sum() == len(pts) and (npa["Shootings"] > 0).all()


def test_state_tables_and_reconciliation(open_page):
    at = _tab(open_page(USE_OF_FORCE), "uf_tab", "State tables (citywide)")
    hits = _frame(at, "Hit rate")
    assert "Ratio vs White" in hits.columns
    assert any("infra-marginality" in w.value for w in at.warning)
    at.selectbox(key="uf_hit_ref").set_value("Black").run()
    assert "Ratio vs Black" in _frame(at, "Hit rate").columns
    at.select_slider(key="uf_hit_years").set_value((2020, 2021)).run()
    assert set(_frame(at, "Hit rate")["Years"]) == {"2020", "2021", "2020-2021 pooled"}

    _tab(at, "uf_tab", "Two sources, two counts")
    r = _frame(at, "CMPD stops table")
    row = r[(r["Year"] == "2020") & (r["Drivers"] == "All")].iloc[0]
    assert row["CMPD stops table"] == 62_422 and row["State (Open Data Policing NC)"] == 56_044
    assert any("count differently" in m.value for m in at.markdown)


def test_use_of_force_escapes_shooting_text(open_page):
    at = open_page(USE_OF_FORCE, harness=_hostile_harness)
    assert not _problems(at)
    shown = " ".join(m.value for m in at.markdown)
    assert "<script>" not in shown and "<img" not in shown and "](http" not in shown
    assert "&lt;script&gt;" in shown and "&lt;img src=x onerror=alert\\(1\\)&gt;" in shown
    maps = [
        json.loads(el.proto.json_args)["script"]
        for el in at.get("component_instance")
        if "L.map(" in el.proto.json_args
    ]
    assert maps and "onerror=alert" in maps[0]  # the text is there ...
    assert "<img src=x onerror" not in maps[0] and "<script>alert" not in maps[0]  # ... but only escaped


# --------------------------------------------------------------------------- upload


def test_upload_bad_file_shows_the_loader_message(open_page, tmp_path):
    at = open_page(UPLOAD)
    assert not _problems(at) and at.info  # asks for a file
    at.file_uploader(key="up_file").set_value(("newer_export.csv", _csv(BAD_ROWS), "text/csv")).run()
    assert not at.exception and len(at.error) == 1
    shown = _unescape(at.error[0].value)
    # the same message the loader gives for the same file, naming the uploaded file
    path = tmp_path / "newer_export.csv"
    path.write_bytes(_csv(BAD_ROWS))
    with pytest.raises(ValueError) as exc:
        load_stops(path)
    expected = str(exc.value).replace(str(path), "newer_export.csv")
    assert shown.replace("  \n", "\n") == expected.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert "column Month_of_Stop" in shown and "at row 2" in shown and "CMPD_Division" in shown
    assert "<img" not in at.error[0].value  # the hostile division name is escaped

    at.checkbox(key="up_set_aside").check().run()
    assert not _problems(at)
    rep = _frame(at, "set aside").iloc[0]
    assert (rep["read"], rep["kept"], rep["set aside"]) == (3, 1, 2)
    issues = _frame(at, "first rows")
    assert set(issues.loc[issues["action"] == "set aside", "column"]) == {"Month_of_Stop", "CMPD_Division"}


def test_upload_good_file_shows_report_and_counts(open_page):
    at = open_page(UPLOAD)
    at.file_uploader(key="up_file").set_value(
        ("stops_2022.csv.gz", gzip.compress(_csv(GOOD_ROWS)), "application/gzip")
    ).run()
    assert not _problems(at)
    assert "all 4 rows" in at.success[0].value
    metrics = {m.label: m.value for m in at.metric}
    assert (
        metrics["Stops kept"] == "4"
        and metrics["Searches"] == "2"
        and metrics["Arrests"] == "1"
        and metrics["Months covered"] == "2"
    )
    assert any("2022\\-02" in w.value for w in at.warning)  # a month with no stops inside the span
    rep = _frame(at, "set aside").iloc[0]
    assert (rep["read"], rep["kept"], rep["set aside"], rep["flagged"]) == (4, 4, 0, 1)
    divs = _frame(at, "division").set_index("division")
    assert divs.loc["Metro Division", "stops"] == 2 and divs.loc["No division recorded", "stops"] == 1
    assert divs["stops"].sum() == 4


def test_check_stops_upload_without_a_browser():
    from geo.analysis.stops_check import check_stops_upload

    out = check_stops_upload(b"\x00\x01\x02binary", "x.csv")
    assert not out["ok"] and out["error"].startswith("x.csv: is a binary file")
    out = check_stops_upload(b"a,b\n1,2\n", "../../etc/passwd.csv")
    assert not out["ok"] and out["error"].startswith("passwd.csv: the stops table is missing column(s) Month_of_Stop")
    out = check_stops_upload(b"not gzip at all", "y.csv.gz")
    assert not out["ok"] and "y.csv.gz" in out["error"] and "cmpd-upload-" not in out["error"]
    out = check_stops_upload(_csv(GOOD_ROWS), "ok.csv")
    assert out["ok"] and out["stops"] == 4 and out["first_month"] == "2022-01" and out["missing_months"] == ["2022-02"]
    assert out["report"]["source"] == "ok.csv"


def test_shootings_caveat_counts_the_table_shown(open_page):
    at = open_page(USE_OF_FORCE)
    points = _frame(at, "Narrative")
    years = pd.to_numeric(points["Month"].astype(str).str[:4])
    expected = caveats.ois_caveat(len(points), int(years.min()), int(years.max()))
    assert expected in [c.value for c in at.caption]
    assert f"({len(points)} incidents in" in expected
    _tab(at, "uf_tab", "Shootings by area and year")
    shown = int(_frame(at, "Division")["Shootings"].sum())
    assert any(f"({shown} incidents in" in c.value for c in at.caption)
