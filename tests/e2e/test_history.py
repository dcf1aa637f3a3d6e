"""Back and forward restore the previous view (issue 11), in a real headless Chromium with no internet.

Streamlit (1.67) adds a browser history entry whenever the script changes ``st.query_params``
(``history.pushState``; ``replaceState`` only while it is answering a back or forward), and on
``popstate`` it reruns the page with the address's query string. :mod:`app_pages.url_state`
restores a value of the address that this session did not write itself.

Before the fix, every parameter written was an entry of its own (opening the Hot spots page made
ten, ``?weights=rook``, ``?weights=rook&year=2022``, ...) and a page switch pushed the bare path
first, so back stepped through half-written views. Now a run writes its choices at once
(:func:`app_pages.url_state.one_entry`) and the switch's entry is filled in, not followed
(:data:`app_pages.url_state.HISTORY_JS`): one entry per view, each holding one page's parameters.
Every ``pushState``/``replaceState`` call is logged by an init script to check that.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import pytest

from geo.layers.places import build_place_index
from tests.helpers.browser import no_problems, wait_for_map

pytestmark = pytest.mark.browser

#: Logs every history call of the page (``window.__history``: [kind, url]).
LOG_HISTORY = """
window.__history = [];
for (const kind of ["pushState", "replaceState"]) {
  const original = history[kind];
  history[kind] = function (state, title, url) {
    window.__history.push([kind, String(url)]);
    return original.apply(this, arguments);
  };
}
"""
#: Query names only one of the two pages writes (both write ``layer`` and ``variable``).
MAP_ONLY = {"topic", "scheme", "classes", "colours"}
HOTSPOTS_ONLY = {"crime", "measure", "weights", "perms", "alpha", "correction", "gi", "seed", "view"}


def _card(page, npa_id: int):
    return page.get_by_role("heading", name=f"Neighborhood profile area {npa_id}", exact=True)


def _in_url(page, text: str) -> None:
    page.wait_for_function(f"() => window.location.search.includes({text!r})", timeout=60_000)


def _choose_npa(page, npa_id: int) -> None:
    page.get_by_role("combobox", name=re.compile("Neighborhood profile area")).click()
    page.get_by_role("option", name=re.compile(rf"^NPA {npa_id}\b")).click()
    _card(page, npa_id).wait_for(timeout=60_000)
    _in_url(page, f"npa={npa_id}")


def test_back_and_forward_restore_the_chosen_npa(app_url, page, settings):
    ids = build_place_index(settings).search("28205")[0].npa_ids
    a, b = ids[1], ids[2]
    page.goto(f"{app_url}/neighborhood?q=28205")
    wait_for_map(page, min_paths=459, timeout=300)
    _card(page, ids[0]).wait_for(timeout=60_000)
    _choose_npa(page, a)
    _choose_npa(page, b)
    page.go_back()
    _card(page, a).wait_for(timeout=60_000)
    _in_url(page, f"npa={a}")
    assert f"npa={a}" in page.url and "q=28205" in page.url
    page.go_forward()
    _card(page, b).wait_for(timeout=60_000)
    _in_url(page, f"npa={b}")
    assert _card(page, a).count() == 0
    no_problems(page)


def _settled(page) -> None:
    """Wait until no script run is going (twice, a moment apart: a map's first value can start another)."""
    idle = '[data-testid="stApp"][data-test-script-state="notRunning"]'
    for _ in range(2):
        page.wait_for_selector(idle, timeout=180_000)
        page.wait_for_timeout(1_500)
    page.wait_for_selector(idle, timeout=180_000)


def _view(page) -> tuple[str, dict[str, str]]:
    parts = urlsplit(page.url)
    return parts.path, dict(parse_qsl(parts.query))


def _shows(page, label: str, value: str) -> None:
    """The select box ``label`` shows ``value`` (as its text or its input's value)."""
    shown = """([label, value]) => [...document.querySelectorAll('[data-testid="stSelectbox"]')].some(
        (box) => box.innerText.includes(label)
            && (box.innerText.replace(label, "").includes(value)
                || [...box.querySelectorAll("input")].some((i) => (i.value || "").includes(value))))"""
    try:
        page.wait_for_function(shown, arg=[label, value], timeout=60_000)
    except Exception as exc:
        boxes = page.locator('[data-testid="stSelectbox"]').all_inner_texts()
        raise AssertionError(f"{label!r} does not show {value!r}: {boxes}") from exc


def _choose(page, label: str, option: str) -> None:
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    _settled(page)


def test_back_and_forward_across_a_page_switch(app_url, page):
    page.add_init_script(LOG_HISTORY)
    page.goto(f"{app_url}/map")
    page.get_by_role("heading", name="Map explorer").wait_for(timeout=120_000)
    wait_for_map(page, timeout=300)
    _settled(page)
    start = page.evaluate("history.length")
    first = page.evaluate("window.__history.length")  # opening the page: one entry, or two if its run was quick
    _choose(page, "Classification", "Equal interval")
    map_view = _view(page)
    assert map_view[0] == "/map" and map_view[1]["scheme"] == "equal_interval", map_view

    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Hot spots", exact=True).click()
    page.get_by_role("heading", name="Hot spots").first.wait_for(timeout=120_000)
    _settled(page)
    hot_first = _view(page)
    assert hot_first[0] == "/hotspots" and hot_first[1]["weights"] == "queen", hot_first
    _choose(page, "Neighbours (spatial weights)", "Rook contiguity (shared border)")
    hot_rook = _view(page)
    assert hot_rook[1] == {**hot_first[1], "weights": "rook"}, hot_rook
    # one entry per view: the Map explorer's choice, the switch (filled in by the new page), the Hot spots choice
    assert page.evaluate("history.length") == start + 3

    page.go_back()
    _settled(page)
    assert _view(page) == hot_first
    _shows(page, "Neighbours (spatial weights)", "Queen contiguity")
    page.go_back()
    page.get_by_role("heading", name="Map explorer").wait_for(timeout=120_000)
    _settled(page)
    assert _view(page) == map_view
    _shows(page, "Classification", "Equal interval")
    page.go_forward()
    page.get_by_role("heading", name="Hot spots").first.wait_for(timeout=120_000)
    _settled(page)
    assert _view(page) == hot_first
    page.go_forward()
    _settled(page)
    assert _view(page) == hot_rook
    _shows(page, "Neighbours (spatial weights)", "Rook contiguity")
    assert page.evaluate("history.length") == start + 3  # back and forward added nothing

    calls = page.evaluate("window.__history")
    for kind, url in calls:  # no entry, even for a moment, mixes the two pages' parameters
        parts = urlsplit(url)
        names = {name for name, _ in parse_qsl(parts.query)}
        other = HOTSPOTS_ONLY if parts.path.endswith("/map") else MAP_ONLY
        assert not names & other, (kind, url)
    assert sum(kind == "pushState" for kind, _ in calls[first:]) == 3, calls
    no_problems(page)


def test_a_landing_search_opens_the_npa_in_one_entry_and_back_returns_to_the_landing_page(app_url, page):
    page.add_init_script(LOG_HISTORY)
    page.goto(f"{app_url}/")
    search = page.get_by_role("textbox", name="Find a place")
    search.wait_for(timeout=120_000)
    _settled(page)
    search.fill("Plaza Midwood")
    search.press("Enter")
    page.get_by_role("button", name=re.compile("^Historic district: Plaza")).first.click()
    _card(page, 378).wait_for(timeout=180_000)
    _settled(page)
    path, query = _view(page)
    assert path == "/neighborhood" and query["npa"] == "378" and query["q"] == "Plaza Midwood", page.url
    page.go_back()
    page.get_by_role("textbox", name="Find a place").wait_for(timeout=120_000)
    _settled(page)
    _, back_query = _view(page)
    assert not {"npa", "q", "place"} & set(back_query), page.url  # the landing page's entry, not a mixed one
    assert _card(page, 378).count() == 0
    for _kind, url in page.evaluate("window.__history"):  # the neighbourhood's choices never sat on the landing page
        parts = urlsplit(url)
        if not parts.path.endswith("/neighborhood"):
            assert not {"npa", "q", "place"} & {n for n, _ in parse_qsl(parts.query)}, url
    no_problems(page)
