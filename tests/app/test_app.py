"""The app through Streamlit's AppTest: every page runs, widgets change what they drive."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

import app_pages
from geo.settings import PROJECT_ROOT

#: AppTest runs the whole page script for every check: part of `make test`, not of `make test-fast`.
pytestmark = pytest.mark.slow

APP = str(PROJECT_ROOT / "app.py")
PAGES = [p.path for p in app_pages.PAGES]


@pytest.fixture
def app(settings, monkeypatch):
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))
    return AppTest.from_file(APP, default_timeout=120).run()


def _problems(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(x.value) for x in at.exception]


def _map_script(at: AppTest) -> str:
    maps = [el.proto.json_args for el in at.get("component_instance") if "L.map(" in el.proto.json_args]
    assert maps, "no folium map on the page"
    return json.loads(maps[-1])["script"]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs(app, page):
    app.switch_page(page).run()
    assert not _problems(app)
    # one heading, the page's own: app.py draws it before the sidebar, and the page does not draw it again
    spec = next(p for p in app_pages.PAGES if p.path == page)
    assert [t.value for t in app.title] == [spec.heading or spec.title]
    assert [type(e).__name__ for e in app.main if type(e).__name__ != "SpecialBlock"][0] == "Title"


def test_data_page_headline_and_filters(app):
    app.switch_page("app_pages/data.py").run()
    assert [m.value for m in app.metric][:2] == ["139,524", "7,892"]
    app.sidebar.multiselect(key="f_reasons").set_value(["Speeding"]).run()
    assert app.metric[0].value == "50,968"
    assert not _problems(app)


def test_data_page_shows_row_report(app):
    app.switch_page("app_pages/data.py").run()
    frames = [df.value for df in app.dataframe]
    report = next(f for f in frames if "set aside" in f.columns)
    stops = report.set_index("data").loc["stops"]
    assert stops["read"] == 139_524 and stops["kept"] == 139_524


def test_map_explorer_variable_changes_map(app):
    app.switch_page("app_pages/map_explorer.py").run()
    before = _map_script(app)
    assert "Stops" in before
    app.selectbox(key="mx_group_divisions").set_value("Population").run()
    after = _map_script(app)
    assert after != before and "Residents (2020)" in after
    app.radio(key="mx_layer").set_value("Neighborhoods (NPA)").run()
    assert not _problems(app)
    npa_script = _map_script(app)
    assert npa_script != after and npa_script.count('"npa"') + npa_script.count("NPA") > 0


def test_map_explorer_filter_changes_counts(app):
    app.switch_page("app_pages/map_explorer.py").run()
    table = app.dataframe[0].value
    total = table["Stops"].sum()
    app.sidebar.multiselect(key="f_genders").set_value(["Female"]).run()
    assert app.dataframe[0].value["Stops"].sum() < total
    assert not _problems(app)


def test_map_explorer_draws_each_map_once_for_every_session(app, settings, monkeypatch):
    """A second session with the same choices gets the shared drawn map (issue 15 item 7); other filters redraw it."""
    from geo.maps import draw

    calls = []
    real = draw.choropleth
    monkeypatch.setattr(draw, "choropleth", lambda *a, **kw: calls.append(a[1]) or real(*a, **kw))
    app.switch_page("app_pages/map_explorer.py").run()
    first, drawn = _map_script(app), len(calls)  # 0 if an earlier test drew this map in this process
    other = AppTest.from_file(APP, default_timeout=120).run()
    other.switch_page("app_pages/map_explorer.py").run()
    assert len(calls) == drawn and _map_script(other) == first  # not drawn again, the same map
    ages = other.sidebar.multiselect(key="f_ages")
    ages.set_value([ages.options[0]]).run()  # 15-17: a filter no other test uses, so this map is not drawn yet
    assert len(calls) == drawn + 1 and _map_script(other) != first  # the stop counts changed: a new map
    assert not _problems(app) and not _problems(other)


def test_empty_filter_shows_message_not_exception(app):
    app.sidebar.multiselect(key="f_reasons").set_value(["CheckPoint"]).run()
    app.sidebar.multiselect(key="f_divisions").set_value(["Airport Division"]).run()
    app.switch_page("app_pages/map_explorer.py").run()
    assert not [str(x.value) for x in app.exception]
    assert any(
        "no stops" in e.value.lower() or "zero" in e.value.lower() or "no rows" in e.value.lower()
        for e in [*app.error, *app.warning, *app.info]
    )


def test_neighborhood_card_follows_the_list(app):
    app.switch_page("app_pages/neighborhood.py").run()
    assert not _problems(app)
    first = app.subheader[0].value
    app.selectbox(key="nb_npa").set_value(30).run()
    assert app.subheader[0].value == "Neighborhood profile area 30" != first
    text = " ".join(m.value for m in app.markdown)
    assert "Residents (2020)" in text and "Hot spot" in text and "Westover Division" in text


def _bound_page() -> None:
    """A page with two choices bound to the URL (run by AppTest from its source)."""
    import streamlit as st

    from app_pages import url_state
    from app_pages.url_state import Param

    params = (Param("t_colour", "colour", options=["red", "green", "blue"]), Param("t_n", "n", options=[1, 2, 3]))
    with url_state.bound(params):
        st.selectbox("Colour", ["red", "green", "blue"], key="t_colour")
        st.selectbox("N", [1, 2, 3], key="t_n")


def test_bound_captions_a_bad_link_value_and_restores_a_good_one():
    at = AppTest.from_function(_bound_page, default_timeout=30)
    at.query_params["colour"] = "mauve"
    at.query_params["n"] = "3"
    at.run()
    assert not _problems(at)
    captions = [c.value for c in at.caption]
    assert captions == ["The link's choice colour=mauve is not available here; the default is shown instead."]
    assert at.selectbox(key="t_n").value == 3  # the good value restored
    assert at.selectbox(key="t_colour").value == "red"  # the bad one fell back to the default
    at.selectbox(key="t_colour").set_value("blue").run()
    assert at.query_params["colour"] in ("blue", ["blue"])  # stored after the widgets
    assert [c.value for c in at.caption] == []  # the note is shown once


def test_after_a_run_the_other_pages_modules_are_imported_in_the_background(app):
    """app.py starts one background import of every page's modules per process (the next page opens sooner)."""
    import threading
    import time

    assert app_pages._IMPORTING.is_set()
    deadline = time.monotonic() + 120
    while any(t.name == "import-pages" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.1)
    import sys

    assert {p.path.removesuffix(".py").replace("/", ".") for p in app_pages.PAGES} <= set(sys.modules)
    assert "mapclassify" in sys.modules
    app.switch_page("app_pages/hotspots.py").run()
    assert not _problems(app) and sum(t.name == "import-pages" for t in threading.enumerate()) == 0
