"""The community view in a real headless Chromium, with every request off this machine blocked.

Typing a historic district, a ZIP code, a road or a school on the neighborhood page outlines
the NPAs it covers, zooms the map to them and shows the chosen NPA's card; a click on the map
still chooses an NPA without moving the view; a copied address reopens the same NPA, search and
filters in a new browser context; the landing page answers at ``/`` and ``/overview``, its
search opens the neighborhood page; on a phone the main content is in view with the sidebar
left as it opens.

The times a reader waits (search to outlined map, landing page after the server starts) are
written to ``artifacts/community-timings.json``; they are measured here, not asserted.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlsplit

import pytest

from geo.ingest.reference import load_landmarks
from geo.layers import build
from geo.layers.places import build_place_index
from tests.helpers.browser import (
    APP,
    ARTIFACTS,
    PHONE,
    app_env,
    no_problems,
    page_in,
    run_streamlit,
    screenshot,
    wait_for_map,
)

pytestmark = pytest.mark.browser

TIMINGS = ARTIFACTS / "community-timings.json"
#: The map's view, as plain numbers: [south, west, north, east].
BOUNDS_JS = "() => { const b = window.map.getBounds(); return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]; }"
#: The chosen NPA's outline: a black line 3 px wide over a white casing (geo.maps.overlays.selection_outline).
CHOSEN = 'path[stroke="#000000"][stroke-width="3"]'


@pytest.fixture(scope="module")
def index(settings):
    return build_place_index(settings)


@pytest.fixture(scope="module")
def school(settings, index) -> str:
    """A school whose name finds the school itself first."""
    landmarks, _ = load_landmarks(settings=settings)
    names = sorted(landmarks.loc[landmarks["kind"] == "school", "name"])
    return next(n for n in names if index.search(n)[0].kind == "school" and index.search(n)[0].npa_ids)


@pytest.fixture(scope="module")
def npa_4326(settings):
    return build.npa(settings).to_crs("EPSG:4326").set_index("npa")


@pytest.fixture(scope="module")
def timings():
    record: dict[str, object] = {}
    yield record
    if record:
        ARTIFACTS.mkdir(exist_ok=True)
        old = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
        TIMINGS.write_text(json.dumps({**old, **record}, indent=2) + "\n")


def _card(page, npa_id: int):
    return page.get_by_role("heading", name=f"Neighborhood profile area {npa_id}", exact=True)


def _page_done(page) -> None:
    """Wait until the neighborhood page has finished: its last element is there and none is left from a rerun."""
    page.get_by_role("button", name="Download the report (PDF)").wait_for(timeout=90_000)
    page.wait_for_function("document.querySelectorAll('[data-stale=\"true\"]').length === 0", timeout=90_000)


def _search(page, query: str) -> float:
    """Type ``query`` in the neighborhood page's search box and press Enter; the time it was pressed."""
    box = page.get_by_role("textbox", name="Find a place")
    box.fill(query)
    pressed = time.monotonic()
    box.press("Enter")
    return pressed


def _outlined(frame, n: int, *, timeout: float = 30.0) -> None:
    """Wait until the map outlines ``n`` NPAs of the search (dashed)."""
    frame.wait_for_function(f"document.querySelectorAll('path.nb-match').length === {n}", timeout=timeout * 1000)


def _zoomed_to(frame, target: list[float], *, timeout: float = 30.0) -> list[float]:
    """Wait until the map's view holds ``target`` ([south, west, north, east]) and has stopped moving."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        now = frame.evaluate(BOUNDS_JS)
        s, w, n, e = now
        holds = s <= target[0] + 1e-4 and w <= target[1] + 1e-4 and n >= target[2] - 1e-4 and e >= target[3] - 1e-4
        if holds and now == last:
            return now
        last = now
        frame.wait_for_timeout(100)
    raise AssertionError(f"the map's view {last} never held {target}")


def _target(npa_4326, ids) -> list[float]:
    minx, miny, maxx, maxy = npa_4326.loc[list(ids)].total_bounds
    return [miny, minx, maxy, maxx]


def _area(b: list[float]) -> float:
    return (b[2] - b[0]) * (b[3] - b[1])


def test_each_search_outlines_zooms_and_shows_the_card(app_url, page, index, school, npa_4326, timings):
    page.goto(f"{app_url}/neighborhood")
    frame = wait_for_map(page, min_paths=459, timeout=90)
    _page_done(page)
    county = frame.evaluate(BOUNDS_JS)
    frame.evaluate("() => { window.__sameMap = true; }")
    chosen = int(
        re.search(
            r"\d+", page.get_by_role("heading", name=re.compile("^Neighborhood profile area")).first.inner_text()
        ).group()
    )
    waited = {}
    for query in ("Plaza Midwood", "28205", "Monroe Rd", school):
        best = index.search(query)[0]
        chosen = chosen if chosen in best.npa_ids else best.npa_ids[0]  # a new place keeps the NPA it covers
        before = frame.evaluate(BOUNDS_JS)
        pressed = _search(page, query)
        _outlined(frame, len(best.npa_ids))
        waited[query] = round(time.monotonic() - pressed, 3)
        view = _zoomed_to(frame, _target(npa_4326, best.npa_ids))
        assert view != before and _area(view) < _area(county), query
        _card(page, chosen).wait_for(timeout=30_000)
        _page_done(page)
        assert frame.locator(CHOSEN).count() == 1, query
        assert frame.evaluate("() => window.__sameMap === true"), "the search loaded a new map"
        screenshot(page, f"community-search-{best.kind.replace(' ', '-')}")
    no_problems(page)
    timings["search_to_outlined_map_s"] = waited


def test_a_click_on_the_map_chooses_an_npa_and_keeps_the_view(app_url, page, index, npa_4326):
    ids = index.search("28205")[0].npa_ids
    page.goto(f"{app_url}/neighborhood?q=28205")
    frame = wait_for_map(page, min_paths=459, timeout=90)
    _outlined(frame, len(ids))
    _card(page, ids[0]).wait_for(timeout=30_000)
    view = _zoomed_to(frame, _target(npa_4326, ids))
    target = ids[len(ids) // 2]
    point = npa_4326.loc[target].geometry.representative_point()
    xy = frame.evaluate(
        f"() => {{ const p = window.map.latLngToContainerPoint([{point.y}, {point.x}]); return [p.x, p.y]; }}"
    )
    box = page.locator('iframe[title*="st_folium"]').first.bounding_box()
    page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
    _card(page, target).wait_for(timeout=30_000)
    frame.wait_for_function(
        f"(() => {{ const p = document.querySelector('{CHOSEN}'); if (!p) return false;"
        f" const b = p.getBoundingClientRect(), x = {xy[0]}, y = {xy[1]};"
        " return b.left <= x && x <= b.right && b.top <= y && y <= b.bottom; })()",
        timeout=30_000,
    )  # the solid outline moved to the NPA clicked
    assert frame.evaluate(BOUNDS_JS) == view  # the view stays where it was
    assert page.get_by_role("textbox", name="Find a place").input_value() == "28205"
    no_problems(page)


def test_a_copied_link_reopens_the_same_view_in_a_new_context(app_url, browser, page, index):
    ids = index.search("28205")[0].npa_ids
    page.goto(f"{app_url}/neighborhood?gender=Female")
    wait_for_map(page, min_paths=459, timeout=90)
    _search(page, "28205")
    _card(page, ids[0]).wait_for(timeout=30_000)
    page.get_by_role("combobox", name=re.compile("Neighborhood profile area")).click()
    page.get_by_role("option", name=re.compile(rf"^NPA {ids[2]}\b")).click()
    _card(page, ids[2]).wait_for(timeout=30_000)
    page.wait_for_function(f"() => window.location.search.includes('npa={ids[2]}')", timeout=30_000)
    url = page.url
    assert "q=28205" in url and "gender=Female" in url
    with page_in(browser) as other:
        other.goto(url)
        _card(other, ids[2]).wait_for(timeout=90_000)
        frame = wait_for_map(other, min_paths=459, timeout=90)
        _outlined(frame, len(ids))
        assert other.get_by_role("textbox", name="Find a place").input_value() == "28205"
        assert other.locator('[data-testid="stSidebar"]').get_by_text("Female", exact=True).count() >= 1
        screenshot(other, "community-link-reopened")
        no_problems(other)


def test_the_landing_search_opens_the_neighborhood_page(app_url, page):
    page.goto(f"{app_url}/")
    page.get_by_role("heading", name="CMPD hot spots: overview").wait_for(timeout=90_000)
    wait_for_map(page, min_paths=459, timeout=90)
    page.locator('[data-testid="stMetricValue"]').filter(has_text="×").first.wait_for(timeout=60_000)
    assert "95% interval" in page.inner_text("body")
    box = page.get_by_role("textbox", name="Find a place")
    box.fill("Plaza Midwood")
    box.press("Enter")
    page.get_by_role("button", name=re.compile("^Historic district: Plaza-Midwood")).click()
    _card(page, 378).wait_for(timeout=60_000)
    # the address is written when the page's run ends (url_state.one_entry): one history entry per view
    page.wait_for_function("() => window.location.search.includes('npa=378')", timeout=60_000)
    assert urlsplit(page.url).path == "/neighborhood"
    _outlined(wait_for_map(page, min_paths=459, timeout=90), 1)
    no_problems(page)


@pytest.mark.parametrize("path", ["", "overview"])
def test_the_landing_page_answers_at_both_addresses(app_url, page, path):
    page.goto(f"{app_url}/{path}")
    page.get_by_role("heading", name="CMPD hot spots: overview").wait_for(timeout=90_000)
    wait_for_map(page, min_paths=459, timeout=90)  # drawn after the navigation: a "Page not found" would be up
    assert "page not found" not in page.inner_text("body").lower()
    assert urlsplit(page.url).path == f"/{path}"  # not sent elsewhere
    screenshot(page, f"community-landing-{path or 'root'}")
    no_problems(page)


@pytest.mark.parametrize("path", ["", "neighborhood"])
def test_on_a_phone_the_main_content_is_in_view(app_url, phone, path):
    phone.goto(f"{app_url}/{path}")
    heading = phone.locator('[data-testid="stMain"] h1').first
    heading.wait_for(timeout=90_000)
    box = heading.bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"] and box["y"] + box["height"] <= PHONE["height"]
    x, y = box["x"] + min(box["width"], 80) / 2, box["y"] + box["height"] / 2
    on_top = phone.evaluate(f"() => document.elementFromPoint({x}, {y})?.closest('[data-testid=\"stMain\"]') !== null")
    assert on_top, "something (the sidebar?) covers the page's heading"
    phone.get_by_role("textbox", name="Find a place").wait_for(timeout=60_000)
    screenshot(phone, f"community-phone-{path or 'landing'}")
    no_problems(phone)


def test_first_paint_after_the_server_starts(settings, browser, timings):
    """The landing page's heading, search box, headline figure and map, timed from the server's start."""
    with page_in(browser, {"width": 1100, "height": 900}) as page:
        started = time.monotonic()
        with run_streamlit(APP, env=app_env(settings)) as base:
            healthy = time.monotonic()
            page.goto(f"{base}/")
            page.get_by_role("heading", name="CMPD hot spots: overview").wait_for(timeout=90_000)
            heading = time.monotonic()
            page.get_by_role("textbox", name="Find a place").wait_for(timeout=90_000)
            search = time.monotonic()
            page.locator('[data-testid="stMetricValue"]').filter(has_text="×").first.wait_for(timeout=90_000)
            metric = time.monotonic()
            wait_for_map(page, min_paths=459, timeout=90)
            drawn = time.monotonic()
        timings["landing_after_server_start_s"] = {
            "server_answers": round(healthy - started, 3),
            "heading": round(heading - started, 3),
            "search_box": round(search - started, 3),
            "headline_figure": round(metric - started, 3),
            "map_drawn": round(drawn - started, 3),
        }
        assert started < healthy < heading <= search
