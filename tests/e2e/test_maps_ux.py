"""What a reader sees on the maps, in a real headless Chromium with every request off this machine blocked.

Road names at street zoom from the reference layers (no tiles), the legend (at most a quarter
of the map, long labels whole, a keyboard-usable show/hide button), tooltips inside the map
near its edge, and the app on a phone-sized screen (sidebar collapsed, heading in view).
"""

from __future__ import annotations

import pytest

from geo.maps.legend import MAX_SHARE
from tests.helpers.browser import PHONE, offline, page_in, screenshot, wait_for_map

pytestmark = pytest.mark.browser


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box, "element not laid out"
    return box


def _inside(inner: dict, outer: dict, slack: float = 0.5) -> bool:
    return (
        inner["x"] >= outer["x"] - slack
        and inner["y"] >= outer["y"] - slack
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack
    )


# --------------------------------------------------------------------------- reference layers


def test_road_names_show_at_street_zoom_with_no_internet(app_url, page):
    page.goto(f"{app_url}/map")
    frame = wait_for_map(page, min_paths=14)
    assert frame.locator(".leaflet-tile").count() == 0  # no tiles: the reference layers carry the map
    assert frame.locator(".geo-ref-road").count() == 0  # names wait for street zoom
    assert frame.locator(".geo-ref-divisions").count() == 14  # division names at city zoom
    frame.evaluate("window.map.setView([35.205, -80.815], 14, {animate: false})")  # Monroe Rd near Elizabeth
    frame.wait_for_function("document.querySelectorAll('.geo-ref-road').length > 0", polling=100)
    label = frame.locator(".geo-ref-road span", has_text="Monroe Rd").first
    label.wait_for(state="visible")
    assert _inside(_box(label), _box(frame.locator(".leaflet-container")))
    screenshot(page, "ux-road-names-street-zoom")
    offline(page)


# --------------------------------------------------------------------------- legend


def _legend_share(frame) -> float:
    legend, mapbox = _box(frame.locator(".cmpd-legend")), _box(frame.locator(".leaflet-container"))
    return (legend["width"] * legend["height"]) / (mapbox["width"] * mapbox["height"])


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize(("path", "min_paths"), [("map", 14), ("emerging", 459), ("use-of-force", 70)])
def test_legend_never_covers_more_than_a_quarter_of_the_map(app_url, browser, path, min_paths, viewport):
    with page_in(browser, viewport) as p:
        p.goto(f"{app_url}/{path}")
        frame = wait_for_map(p, min_paths=min_paths, timeout=90)
        frame.locator(".cmpd-legend").wait_for(state="visible")
        share = _legend_share(frame)
        assert share <= MAX_SHARE**2 + 1e-3, f"legend covers {share:.0%} of the map"
        legend = _box(frame.locator(".cmpd-legend"))
        mapbox = _box(frame.locator(".leaflet-container"))
        assert (
            legend["width"] <= MAX_SHARE * mapbox["width"] + 1 and legend["height"] <= MAX_SHARE * mapbox["height"] + 1
        )
        # entries that do not fit scroll inside the box, never out of it
        body = frame.locator(".cmpd-legend-body")
        assert body.evaluate("b => b.scrollWidth <= b.clientWidth + 1")
        screenshot(p, f"ux-legend-{path}-{'phone' if viewport else 'desktop'}")
        offline(p)


def test_long_legend_labels_wrap_instead_of_being_cut_off(app_url, page):
    page.goto(f"{app_url}/use-of-force")
    frame = wait_for_map(page, min_paths=70, timeout=90)
    item = frame.locator(".cmpd-legend-item", has_text="Not Legally Justified").first
    item.wait_for(state="visible")
    text = item.locator(".cmpd-legend-label")
    assert "Not Legally Justified as determined by NC AG Office" in text.inner_text()
    assert text.evaluate("t => t.scrollWidth <= t.clientWidth + 1")  # nothing hidden to the right
    assert _inside(_box(text), _box(frame.locator(".cmpd-legend")))
    assert _box(text)["height"] > 20  # on two lines or more: it wrapped
    offline(page)


def test_the_legend_hides_and_shows_from_the_keyboard(app_url, page):
    page.goto(f"{app_url}/map")
    frame = wait_for_map(page, min_paths=14)
    button = frame.locator(".cmpd-legend-toggle")
    assert button.get_attribute("aria-expanded") == "true" and frame.locator(".cmpd-legend-body").is_visible()
    button.focus()
    page.keyboard.press("Enter")
    assert button.get_attribute("aria-expanded") == "false"
    assert not frame.locator(".cmpd-legend-body").is_visible()
    assert frame.locator(".cmpd-legend-body").get_attribute("id") == button.get_attribute("aria-controls")
    page.keyboard.press("Space")
    assert button.get_attribute("aria-expanded") == "true" and frame.locator(".cmpd-legend-body").is_visible()
    offline(page)


# --------------------------------------------------------------------------- tooltips


_EDGE_POINT = """
(edge) => {
    // a point just inside an area, as near the map's right (or bottom) edge as the areas reach
    var map = window.map, size = map.getSize(), best = null;
    map.eachLayer(function (layer) {
        if (!layer.feature || !layer.getLatLngs) { return; }
        layer.getLatLngs().flat(3).forEach(function (ll) {
            var p = map.latLngToContainerPoint(ll), score = edge === "right" ? p.x : p.y;
            if (p.x < size.x - 4 && p.y < size.y - 4 && (!best || score > best.score)) { best = {score: score, p: p}; }
        });
    });
    var r = map.getContainer().getBoundingClientRect();
    for (var step = 2; step < 40; step += 2) {
        var x = best.p.x - (edge === "right" ? step : 0), y = best.p.y - (edge === "right" ? 0 : step);
        var hit = document.elementFromPoint(r.left + x, r.top + y);
        if (hit && hit.classList.contains("leaflet-interactive")) { return {x: r.left + x, y: r.top + y}; }
    }
    return null;
}
"""


@pytest.mark.parametrize("edge", ["right", "bottom"])
def test_a_tooltip_near_the_edge_stays_inside_the_map(app_url, page, edge):
    page.goto(f"{app_url}/map")
    page.get_by_text("Neighborhoods (NPA)").click()
    frame = wait_for_map(page, min_paths=400)
    # the county is taller than the map is wide: move it so that areas run off the edge under test
    frame.evaluate("(e) => window.map.panBy(e === 'right' ? [-150, 0] : [0, -60], {animate: false})", edge)
    at = frame.evaluate(_EDGE_POINT, edge)
    assert at, "no area reaches the edge"
    mapbox = _box(frame.locator(".leaflet-container"))
    near = at["x"] > 0.9 * mapbox["width"] if edge == "right" else at["y"] > 0.9 * mapbox["height"]
    assert near, (at, mapbox)
    iframe = _box(page.locator('iframe[title*="st_folium"]').first)
    page.mouse.move(iframe["x"] + at["x"] - 3, iframe["y"] + at["y"] - 3)
    page.mouse.move(iframe["x"] + at["x"], iframe["y"] + at["y"])
    tip = frame.locator(".leaflet-tooltip").first
    tip.wait_for(state="visible", timeout=5000)
    assert "NPA" in tip.inner_text()
    assert _inside(_box(tip), mapbox), (_box(tip), mapbox)  # whole: not clipped by the map's frame
    screenshot(page, f"ux-tooltip-{edge}-edge")
    offline(page)


# --------------------------------------------------------------------------- phone


def test_on_a_phone_the_sidebar_starts_collapsed_and_the_heading_is_in_view(app_url, phone):
    phone.goto(f"{app_url}/hotspots")
    heading = phone.get_by_role("heading", name="Hot spots").first
    heading.wait_for(timeout=60_000)
    sidebar = phone.locator('[data-testid="stSidebar"]')
    assert sidebar.evaluate("s => s.getBoundingClientRect().right") <= 1  # collapsed: off the screen
    assert phone.locator('[data-testid="stExpandSidebarButton"]').is_visible()  # and one tap opens it
    box = _box(heading)
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["y"] < PHONE["height"]
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    frame = wait_for_map(phone, min_paths=459, timeout=90)
    assert _box(frame.locator(".leaflet-container"))["width"] <= PHONE["width"]
    screenshot(phone, "ux-phone-hotspots")
    offline(phone)
