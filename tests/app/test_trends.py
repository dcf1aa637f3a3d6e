"""The Problem areas over time page through app.py with Streamlit's AppTest.

Every view renders without an error and shows its plain-language lines; the numbers in its tables are
those of the library called directly with the same choices (and, where cheap, of an independent
implementation: pymannkendall for the trend, statsmodels for the Wilson intervals); a link restores
the choices and an unknown value in it is dropped with a note. Permutations are kept at 99
(``CMPD_PERMUTATIONS``) so each run takes seconds.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pymannkendall as pmk
import pytest
from statsmodels.stats.proportion import proportion_confint
from streamlit.testing.v1 import AppTest

from geo.analysis.clearance import clearance
from geo.analysis.persistence import persistence
from geo.analysis.spacetime import accuracy_by_year, near_repeat
from geo.analysis.trends import ALL_CATEGORIES, division_trends
from geo.caveats import CLEARANCE_CAVEAT, NEAR_REPEAT_CAVEAT, TRENDS_CAVEAT
from geo.layers import build, records
from geo.settings import PROJECT_ROOT

#: AppTest runs the whole page script for every check: part of `make test`, not of `make test-fast`.
pytestmark = pytest.mark.slow

APP = str(PROJECT_ROOT / "app.py")
TRENDS = "app_pages/trends.py"
PERMS = 99


@pytest.fixture
def open_page(settings, monkeypatch):
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))
    monkeypatch.setenv("CMPD_PERMUTATIONS", str(PERMS))

    def run(**link: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=180)
        for name, value in link.items():
            at.query_params[name] = value
        at.switch_page(TRENDS).run()
        assert not _problems(at)
        return at

    return run


def _problems(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(x.value) for x in at.exception] + [w.value for w in at.warning]


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _plain(s: str) -> str:
    """Markdown as escaped by the page (geo.text.escape_md) back to plain text."""
    return html.unescape(s.replace("\\", ""))


def _has_line(at: AppTest, line: str) -> bool:
    return any(_plain(m.value).endswith(line) for m in at.markdown)


def _query(at: AppTest, name: str) -> str:
    v = at.query_params[name]
    return v[0] if isinstance(v, list) else v


@pytest.fixture(scope="module")
def timeline(settings):
    return records.incident_timeline(settings)


@pytest.fixture(scope="module")
def points(settings):
    return records.incident_points(settings)


def test_trends_view_shows_the_library_numbers_and_lines(open_page, settings, timeline):
    at = open_page()
    assert at.title[0].value == "Problem areas over time"
    assert at.radio(key="tr_view").value == "Division trends"
    res = division_trends(timeline, categories=[ALL_CATEGORIES])
    for line in res.tests["line"]:
        assert _has_line(at, line)
    assert TRENDS_CAVEAT in " ".join(c.value for c in at.caption)
    assert len(at.get("vega_lite_chart")) == 1  # the small multiples
    trend, change = at.dataframe[0].value, at.dataframe[1].value
    assert list(trend["Division"]) == list(res.tests["division"])
    np.testing.assert_allclose(trend["p (seasonal Mann-Kendall)"], res.tests["p"])
    np.testing.assert_allclose(trend["Change a month, each year (Sen slope)"], res.tests["slope_per_year"])
    np.testing.assert_array_equal(change["Incidents"], res.change["count"])
    np.testing.assert_allclose(change["Change, 95 % low"], res.change["pct_lo"])
    np.testing.assert_allclose(change["Change, 95 % high"], res.change["pct_hi"])
    # independently: Central Division's monthly total against pymannkendall's seasonal test
    y = timeline[timeline["division"] == "Central Division"].groupby("month")["count"].sum().sort_index()
    assert len(y) == 114  # every month present: no zero-filling needed for the reference
    mk = pmk.seasonal_test(y.to_numpy(), period=12)
    row = trend.set_index("Division").loc["Central Division"]
    assert row["p (seasonal Mann-Kendall)"] == pytest.approx(mk.p, rel=1e-8, abs=1e-12)
    assert row["Change a month, each year (Sen slope)"] == pytest.approx(mk.slope)


def test_category_choice_goes_to_the_url_and_a_link_restores_it(open_page, timeline):
    at = open_page()
    at.selectbox(key="tr_category").set_value("society").run()
    assert not _problems(at)
    assert _query(at, "category") == "society" and _query(at, "view") == "trends"
    res = division_trends(timeline, categories=["society"])
    np.testing.assert_allclose(at.dataframe[0].value["p (seasonal Mann-Kendall)"], res.tests["p"])
    again = open_page(category="property", view="trends")
    assert again.selectbox(key="tr_category").value == "property"
    prop = division_trends(timeline, categories=["property"])
    assert _has_line(again, prop.tests["line"].iloc[0])


def test_persistence_view(open_page, settings):
    at = open_page(view="persistence", crime="property_crimes")
    assert at.selectbox(key="tr_crime").value == "Property crime"
    res = persistence(build.npa_layer(settings), variable="property_crimes", permutations=PERMS, seed=settings.seed)
    for line in res.lines:
        assert _has_line(at, line)
    table = at.dataframe[0].value
    share = res.quadrant_table.pivot(index="from", columns="to", values="share")
    assert table.iloc[0, 0].startswith("High, neighbours high")
    assert table.iloc[0, 1] == pytest.approx(share.loc["High-High", "High-High"])
    np.testing.assert_allclose(table.filter(like="Next year").sum(axis=1), 1.0)
    assert table["Cases"].sum() == res.quadrant_table["count"].sum()


def test_accuracy_view(open_page, settings, points):
    at = open_page(view="accuracy", cell="6000", category="property")
    assert at.select_slider(key="tr_cell").value == 6000
    assert "PAI** (predictive accuracy index)" in _markdown(at)
    res = accuracy_by_year(
        points, boundary=build.npa(settings), cell_size=6000.0, category="property", permutations=PERMS,
        seed=settings.seed,
    )  # fmt: skip
    t = at.dataframe[0].value
    assert list(t["Hot spots of"]) == [int(y) for y in res.table["year"]]
    np.testing.assert_allclose(t["PAI"], res.table["pai"])  # NaN where a method flagged no cell
    np.testing.assert_allclose(t["Share of next year's incidents"], res.table["hit_rate"])
    top = res.table[res.table["method"] == "top-k"].iloc[0]  # by hand: hit rate / area share
    assert top["pai"] == pytest.approx(top["hit_rate"] / top["area_share"])
    assert len(at.get("vega_lite_chart")) == 1


def test_near_repeat_view(open_page, settings, points):
    at = open_page(view="near-repeat")
    assert any(i.value == NEAR_REPEAT_CAVEAT for i in at.info)
    res = near_repeat(points, permutations=PERMS, seed=settings.seed)
    assert _has_line(at, res.lines[1])
    t = at.dataframe[0].value
    np.testing.assert_array_equal(t["Pairs seen"], res.table["observed"])
    np.testing.assert_allclose(t["Seen / expected"], res.table["ratio"])
    np.testing.assert_allclose(t["p"], res.table["p"])
    assert t["Time apart"].iloc[0] == "same month" and "months" not in t["Time apart"].iloc[1]
    assert not any("0 - 0" in str(v) for v in t["Time apart"]) and "0 - 0" not in _markdown(at)
    np.testing.assert_allclose(t["Seen / expected"], t["Pairs seen"] / t["Pairs expected"])
    assert len(at.get("download_button")) == 2  # the table and its data dictionary


def test_clearance_view(open_page, settings):
    at = open_page(view="clearance", outcome="cleared", year="2020")
    assert at.selectbox(key="tr_outcome").value == "cleared" and at.selectbox(key="tr_cl_year").value == 2020
    assert CLEARANCE_CAVEAT in " ".join(c.value for c in at.caption)
    res = clearance(records.clearance(settings), outcome="cleared", year=2020)
    for line in res.lines:
        assert _has_line(at, line)
    rates, fun = at.dataframe[0].value, at.dataframe[1].value
    np.testing.assert_allclose(fun["Rate"], res.funnel["value"])
    np.testing.assert_allclose(fun["City"], res.funnel["target"])
    r = rates.iloc[0]
    lo, hi = proportion_confint(r["Cleared (by arrest or exceptionally)"], r["Reports (founded)"], method="wilson")
    assert (r["95 % low"], r["95 % high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert pd.api.types.is_integer_dtype(rates["Year"])
    assert len(at.get("vega_lite_chart")) == 2  # rates by division and year, and the funnel


def test_an_unknown_link_value_gives_a_note_not_an_error(open_page):
    at = open_page(view="everything", perms="7")
    assert at.radio(key="tr_view").value == "Division trends"
    captions = " ".join(c.value for c in at.caption)
    assert "view=everything" in captions and "perms=7" in captions


def test_every_column_of_the_downloads_is_described(settings, timeline, points):
    from app_pages.trends import EXPORTS, export_table
    from geo.output.dictionary import data_dictionary, undescribed

    boundary = build.npa(settings)
    results = {
        "trends": division_trends(timeline, categories=[ALL_CATEGORIES]),
        "accuracy": accuracy_by_year(points, boundary=boundary, cell_size=8000.0, permutations=PERMS, seed=1),
        "near_repeat": near_repeat(points, permutations=PERMS, seed=1),
        "clearance": clearance(records.clearance(settings), outcome="arrest"),
    }
    assert set(results) == set(EXPORTS)
    for name, res in results.items():
        table = export_table(name, res)
        assert len(table.columns) > 3 and len(table) > 0
        dictionary = data_dictionary(table, name)
        assert undescribed(dictionary) == [], f"{name}: columns without a description"
        assert (dictionary["label"] != "").all() and dictionary["name"].tolist() == [str(c) for c in table.columns]
