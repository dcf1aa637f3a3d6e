"""End to end: `streamlit run app.py` on 127.0.0.1, driven by headless Debian Chromium.

Every request off this machine is blocked. Visits every page, checks that Leaflet drew
the polygons and the legend, clicks a unit, downloads an export, and screenshots each page
into artifacts/.
"""

from __future__ import annotations

import json
import shutil
import time

import pytest

import app_pages
from tests.helpers.browser import APP, no_exception_shown, run_streamlit, screenshot, wait_for_map

pytestmark = pytest.mark.browser

#: url path -> (heading text, minimum polygons drawn on the page's first map, or 0 for no map)
PAGES = {
    "overview": ("overview", 0),
    "map": ("Map explorer", 14),
    "hotspots": ("Hot spots", 459),
    "emerging": ("Emerging hot spots", 459),
    "trends": ("Problem areas over time", 0),
    "factors": ("Which factors play a role", 400),
    "disparities": ("Disparities", 0),
    "use-of-force": ("Use of force", 70),
    "accountability": ("Accountability beyond stops", 0),
    "neighborhood": ("Your neighborhood", 459),
    "export": ("Export layers", 0),
    "check-file": ("Check a stops file", 0),
    "methods": ("Methods and data", 0),
    "data": ("Data coverage", 0),
}


def test_every_page_is_visited():
    assert set(PAGES) == {p.url_path for p in app_pages.PAGES}


@pytest.mark.parametrize("path", list(PAGES))
def test_page_renders_offline(app_url, page, path):
    heading, min_paths = PAGES[path]
    page.goto(f"{app_url}/{path}")
    page.get_by_role("heading").filter(has_text=heading).first.wait_for(timeout=60_000)
    if min_paths:
        frame = wait_for_map(page, min_paths=min_paths)
        assert frame.locator(".cmpd-legend").count() == 1
        assert frame.locator(".cmpd-legend").inner_text().strip()
    page.wait_for_timeout(300)
    no_exception_shown(page)
    assert page.dialogs == []
    screenshot(page, f"e2e-{path}")


def test_clicking_a_neighborhood_selects_it(app_url, page):
    page.goto(f"{app_url}/neighborhood")
    frame = wait_for_map(page, min_paths=459)
    first = page.get_by_role("heading").filter(has_text="Neighborhood profile area").first.inner_text()
    # click the polygon of a different NPA: pick one near the centre of the map
    paths = frame.locator("path.leaflet-interactive")
    target = paths.nth(200)
    box = target.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    deadline = time.monotonic() + 30
    now = first
    while time.monotonic() < deadline and now == first:
        page.wait_for_timeout(200)
        now = page.get_by_role("heading").filter(has_text="Neighborhood profile area").first.inner_text()
    assert now != first, "clicking the map did not select another neighborhood"
    no_exception_shown(page)
    screenshot(page, "e2e-neighborhood-clicked")


def test_download_divisions_geojson(app_url, page, tmp_path):
    page.goto(f"{app_url}/export")
    page.get_by_role("heading").filter(has_text="Export layers").first.wait_for(timeout=60_000)
    button = page.get_by_role("button", name="Download divisions.geojson")
    button.wait_for(timeout=60_000)
    with page.expect_download(timeout=60_000) as dl:
        button.click()
    out = tmp_path / "divisions.geojson"
    dl.value.save_as(out)
    data = json.loads(out.read_text())
    assert len(data["features"]) == 14
    assert sum(f["properties"]["stops"] for f in data["features"]) == 135_512
    lon, lat = (
        data["features"][0]["geometry"]["coordinates"][0][0][:2]
        if data["features"][0]["geometry"]["type"] == "Polygon"
        else data["features"][0]["geometry"]["coordinates"][0][0][0][:2]
    )
    assert -81.2 < lon < -80.4 and 34.9 < lat < 35.6


def test_map_widget_change_repaints(app_url, page):
    page.goto(f"{app_url}/map")
    frame = wait_for_map(page, min_paths=14)
    before = frame.locator(".cmpd-legend").inner_text()
    page.get_by_text("Neighborhoods (NPA)").click()
    frame = wait_for_map(page, min_paths=400)
    assert frame.locator(".cmpd-legend").inner_text() != before
    no_exception_shown(page)


@pytest.fixture(scope="module")
def hostile_data(settings, tmp_path_factory):
    """A copy of the data whose shooting records carry script and image-onerror payloads."""
    import pandas as pd

    from geo.ingest import sources

    root = tmp_path_factory.mktemp("hostile")
    data = root / "raw"
    shutil.copytree(settings.data_dir, data)
    path = sources.resolve("ois_incidents", data)
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.loc[0, "LOCATION"] = "<img src=x onerror=\"window.__xss=1;alert('xss')\">"
    df.loc[0, "NARRATIVE"] = "<script>window.__xss=2;alert('xss')</script> **bold** [link](javascript:alert(1))"
    df.to_csv(path, index=False)
    return data, root / "cache"


def test_hostile_text_never_runs(hostile_data, page):
    data, cache = hostile_data
    env = {"CMPD_DATA_DIR": str(data), "CMPD_CACHE_DIR": str(cache)}  # the hostile copy, not the tests' data
    page.add_init_script("window.__xss = 0;")
    with run_streamlit(APP, env=env) as base:
        for path in ("use-of-force", "export"):
            page.goto(f"{base}/{path}")
            page.wait_for_timeout(500)
            page.get_by_role("heading").first.wait_for(timeout=60_000)
            try:
                frame = wait_for_map(page, min_paths=1, timeout=20)
            except AssertionError:
                frame = None
            if frame is not None:
                # hover every marker: tooltips are built on hover, where a payload would run
                shapes = frame.locator("path.leaflet-interactive")
                for i in range(min(shapes.count(), 80)):
                    b = shapes.nth(i).bounding_box()
                    if b:
                        page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2)
                for f in page.frames:
                    assert f.evaluate("window.__xss || 0") == 0
            page.wait_for_timeout(500)
            assert page.evaluate("window.__xss") == 0
            assert page.dialogs == [], page.dialogs
            no_exception_shown(page)
            screenshot(page, f"e2e-hostile-{path}")
