"""The use-of-force page through Streamlit's AppTest: headings, years, chart descriptions, reference layers.

The yearly state table names every column in words and shows its years as plain years
(2011, not 2,011); every chart on every tab has a text alternative (a sentence that is
both its accessible description and its caption, and its numbers in an expander); the
shootings map carries the offline reference layers with their 2013 caveat. Counts in the
descriptions are checked against the spatial join done here, not against the page's code.
"""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pytest
from streamlit.testing.v1 import AppTest

from geo.caveats import REFERENCE_LAYERS_2013
from geo.settings import PROJECT_ROOT

#: AppTest runs the whole page script for every check: part of `make test`, not of `make test-fast`.
pytestmark = pytest.mark.slow

PAGE = str(PROJECT_ROOT / "app_pages" / "use_of_force.py")
TABS = [
    "Shootings map",
    "Shootings by area and year",
    "People involved",
    "State tables (citywide)",
    "Two sources, two counts",
]
#: The label of the expander holding the numbers behind a chart (app_pages.charts.show_chart's default).
CHART_NUMBERS = "The numbers behind this chart"
#: A column name as the data has it: lower case with underscores (``pop_2020``), or one lower-case word (``race``).
RAW_NAME = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)+$|^[a-z]+$")


def _harness(page_file: str) -> None:  # runs as a Streamlit script: imports inside
    import runpy

    from app_pages import common

    common.sidebar_filters()
    runpy.run_path(page_file, run_name="__main__")


@pytest.fixture
def open_page(settings, monkeypatch):
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))

    def open_(tab: str | None = None) -> AppTest:
        at = AppTest.from_function(_harness, args=(PAGE,), default_timeout=120).run()
        if tab is not None:
            at.session_state["uf_tab"] = tab
            at.run()
        assert not _problems(at), tab
        return at

    return open_


def _problems(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(x.value) for x in at.exception]


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _config(table) -> dict:
    """The column configuration Streamlit sends with a table (labels, formats), by column."""
    return json.loads(table.proto.columns or "{}")


def _headings(table) -> list[str]:
    """The headings a reader sees: each column's label if it has one, else its name."""
    cfg = _config(table)
    return [str(cfg.get(str(c), {}).get("label") or c) for c in table.value.columns]


def _described(at: AppTest, where: str) -> list[str]:
    """Every chart's description (checked to be its caption too, with its numbers in an expander)."""
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert specs, where
    captions = {_unescape(c.value) for c in at.caption}
    out = [spec.get("description", "") for spec in specs]
    for text in out:
        assert len(text) > 40 and text.endswith("."), (where, text)
        assert text in captions, (where, text)
    numbers = [e for e in at.expander if e.label.startswith(CHART_NUMBERS)]
    assert len(numbers) == len(specs), where
    for e in numbers:
        assert len(e.dataframe) == 1 and len(e.dataframe[0].value) >= 1, where
        assert not [h for h in _headings(e.dataframe[0]) if RAW_NAME.match(h)], (where, e.label)
    return out


def test_yearly_table_has_human_headings_and_plain_years(open_page):
    at = open_page("State tables (citywide)")
    yearly = next(t for t in at.dataframe if "uof_per_10k_stops" in t.value.columns)
    cfg = _config(yearly)
    for column in yearly.value.columns:
        label = cfg.get(str(column), {}).get("label")
        assert label and label != column and not RAW_NAME.match(label), (column, label)
    assert cfg["year"]["label"] == "Year" and cfg["year"]["type_config"]["format"] == "%d"
    assert cfg["uof_per_10k_stops"]["label"] == "Use of force per 10,000 stops"
    assert yearly.value["year"].dtype.kind in "iu"  # whole numbers, so "%d" shows 2011
    for table in at.dataframe:  # no table on the tab shows a raw column name
        assert not [h for h in _headings(table) if RAW_NAME.match(h)], _headings(table)


def test_every_chart_has_a_text_alternative(open_page, settings):
    from geo.layers import build

    pts, divs = build.ois(settings), build.divisions(settings)
    joined = gpd.sjoin(pts[["geometry"]], divs[["division", "geometry"]], predicate="intersects", how="left")
    per_division = joined.groupby("division").size().sort_values(ascending=False, kind="stable")
    for tab in TABS:
        at = open_page(tab)
        if tab == "Shootings map":
            assert not at.get("vega_lite_chart")  # a map and a table, no chart
            continue
        described = _described(at, tab)
        if tab == "Shootings by area and year":
            (heat,) = described
            assert f"{len(pts)} shootings in " in heat
            assert f"most in {per_division.index[0]} ({int(per_division.iloc[0])})" in heat
        if tab == "State tables (citywide)":
            assert any(d.startswith("Contraband hit rates,") and "95% interval" in d for d in described)


def test_the_map_draws_the_reference_layers_with_their_caveat(open_page):
    at = open_page()
    maps = [json.loads(el.proto.json_args) for el in at.get("component_instance") if "L.map(" in el.proto.json_args]
    (args,) = maps
    script = args["script"]
    for name in ("Main roads", "Police divisions", "ZIP codes (2013)"):
        assert name in script, name
    assert script.index("L.control.layers(") > script.index("Main roads")  # in the layer control
    size = sum(len((args.get(k) or "").encode()) for k in ("script", "header", "html"))
    assert size <= 800 * 1024, f"the shootings map with its reference layers is {size:,} bytes"
    assert any(REFERENCE_LAYERS_2013 in c.value for c in at.caption)
