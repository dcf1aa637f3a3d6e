"""The "Accountability beyond stops" page through Streamlit's AppTest.

Each tab renders without an error, shows the library's plain lines and the caveat of its
section, and its tables hold the library's numbers (computed here with
:mod:`geo.analysis.accountability` on the same data); every chart has a text alternative;
the choices are written to the address and a link's choices are restored.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from geo.caveats import CRIME_BENCHMARK_ASSUMES, DIVERSION_CAVEAT, MODEL_CAVEAT_DIVERSION, WORKFORCE_CAVEAT
from geo.settings import PROJECT_ROOT

#: AppTest runs the whole page script for every check, as the other page tests.
pytestmark = pytest.mark.slow

PAGE = str(PROJECT_ROOT / "app_pages" / "accountability.py")


def _harness(page_file: str) -> None:  # runs as a Streamlit script: imports inside
    import runpy

    from app_pages import common

    common.sidebar_filters()
    runpy.run_path(page_file, run_name="__main__")


@pytest.fixture
def open_page(settings, monkeypatch):
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))

    def open_(tab: str | None = None, query: dict[str, str] | None = None) -> AppTest:
        at = AppTest.from_function(_harness, args=(PAGE,), default_timeout=180)
        for k, v in (query or {}).items():
            at.query_params[k] = v
        at.run()
        if tab is not None:
            at.session_state["ac_tab"] = tab
            at.run()
        problems = [e.value for e in at.error] + [str(x.value) for x in at.exception]
        assert not problems, problems
        return at

    return open_


def _text(at: AppTest) -> str:
    """Everything the page wrote as text, with Markdown escapes removed."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [x.value for x in (*at.info, *at.warning)]
    return re.sub(r"\\(.)", r"\1", "\n".join(parts))


def _table(at: AppTest, column: str):
    """The first table with ``column`` (a chart's numbers in its expander are the same table)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


@pytest.fixture(scope="module")
def library(settings):
    from geo.analysis import accountability
    from geo.layers import build, records

    stops = build.stops(settings)
    return {
        "diversion": accountability.diversion_outcomes(records.diversion(settings)),
        "workforce": accountability.officer_workforce(stops, records.employees(settings)),
        "benchmark": accountability.crime_benchmark(
            stops, records.incident_timeline(settings), build.division_population(settings)[0]
        ),
    }


def test_diversion_tab_shows_lines_caveats_and_the_librarys_numbers(open_page, library):
    at = open_page()
    text = _text(at)
    r = library["diversion"]
    for line in r.lines:
        assert line in text
    assert DIVERSION_CAVEAT in text and MODEL_CAVEAT_DIVERSION in text
    t = _table(at, "Juveniles")
    want = r.table[(r.table["dimension"] == "race") & (r.table["outcome"] == "successful")]
    assert list(t["Juveniles"]) == list(want["group"])
    np.testing.assert_allclose(t["Rate"], want["rate"])
    np.testing.assert_allclose(t["95% low"], want["lo"])
    m = _table(at, "Odds ratio")
    np.testing.assert_allclose(m["Odds ratio"], r.model.table["odds_ratio"])
    np.testing.assert_allclose(m["95% high"], r.model.table["hi"])
    charts = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert len(charts) == 2 and all(ch["description"] in text for ch in charts)


def test_workforce_and_benchmark_tabs(open_page, library):
    at = open_page("Who stops, who serves")
    text = _text(at)
    w = library["workforce"]
    assert all(line in text for line in w.lines) and WORKFORCE_CAVEAT in text
    t = _table(at, "Share of stops")
    want = w.table[w.table["dimension"] == "race"]
    np.testing.assert_allclose(t["Share of stops"], want["stop_share"])
    np.testing.assert_allclose(t["Ratio 95% high"], want["ratio_hi"])
    at.session_state["ac_tab"] = "Crime-based benchmark"
    at.run()
    text = _text(at)
    b = library["benchmark"]
    assert all(line in text for line in b.lines) and CRIME_BENCHMARK_ASSUMES in text
    t = _table(at, "Stops per 1,000 incidents")
    np.testing.assert_allclose(t["Stops per 1,000 incidents"], b.table["per_1000_incidents"])
    np.testing.assert_allclose(t["Stops per 1,000 residents"], b.table["per_1000_residents"])
    top = b.table.iloc[:-1].loc[b.table["stops"].iloc[:-1].idxmax()]
    assert f"{int(top['stops']):,} stops / {int(top['incidents']):,} incidents" in text


def test_choices_live_in_the_url(open_page, library):
    at = open_page(query={"tab": "diversion", "by": "gender", "outcome": "rejected at screening"})
    assert at.session_state["ac_div_by"] == "Gender"
    t = _table(at, "Juveniles")
    r = library["diversion"].table
    want = r[(r["dimension"] == "gender") & (r["outcome"] == "rejected at screening")]
    np.testing.assert_allclose(t["Rate"], want["rate"])
    at.radio(key="ac_div_by").set_value("Race and gender").run()
    assert at.query_params["by"] in ("race_gender", ["race_gender"])
