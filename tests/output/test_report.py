"""Printable reports: NPA 380 and Central Division on the real data, as PDF and HTML.

The PDF is one US-letter page whose text (``pdftotext``) holds the NPA, its residents, its
rate with the interval, the hot-spot wording, each caveat, the data dates and the link;
the HTML holds the same text, an inline SVG map and no address but the link; text from
the data (a ``<script>`` division name) stays text in both. Expected figures are computed
here from the layers and the stops with plain pandas and scipy, not by the report code.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import stats

from geo.analysis.neighborhood import npa_hotspots
from geo.caveats import BENCHMARK_CAVEAT, CENSUS_DRIVER_GROUPS, RATE_CAVEAT, RATIO_CAVEAT, STOPS_NO_COORDINATES
from geo.errors import EmptyInputError, ValueDomainError
from geo.ingest.sources import read_manifest
from geo.layers.filters import StopFilter
from geo.maps import palettes
from geo.output.pdf import report_pdf
from geo.output.report import ReportStyle, check_link, data_dates, markdown_runs, plain_text, report_html, report_slug
from geo.output.report_build import division_report, neighborhood_report
from geo.text import escape_md

NPA, YEAR, DIVISION = 380, 2022, "Central Division"
LINK = "http://localhost:8501/neighborhood?npa=380&f_period=2020-01~2021-12"
EVIL = "<script>alert(1)</script> Division"
STYLE = ReportStyle(
    area_fill=palettes.SELECTED_ROW_FILL,
    area_outline=palettes.SELECTED_OUTLINE_COLOR,
    context_outline=palettes.NEUTRAL_COLOR,
    road=palettes.REFERENCE_COLORS["road"],
    text=palettes.LABEL_COLOR,
    muted=palettes.NEUTRAL_COLOR,
)


def pdftotext(pdf: bytes, tmp_path) -> str:
    """The PDF's text, whitespace collapsed; skipped (failed under REQUIRE_BROWSER_TESTS=1) without poppler."""
    exe = shutil.which("pdftotext")
    if exe is None:
        reason = "pdftotext (Debian's poppler-utils) is not installed: `make browser` installs it"
        if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
            pytest.fail(f"{reason} (REQUIRE_BROWSER_TESTS=1)")
        pytest.skip(reason)
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    out = subprocess.run([exe, "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, timeout=60, check=True)
    return " ".join(out.stdout.split())


def pages(pdf: bytes) -> int:
    """Page objects in a PDF (``/Type /Page``, not ``/Pages``)."""
    return len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", pdf))


def html_text(page: str) -> str:
    """The visible text of an HTML page: tags dropped, entities decoded, whitespace collapsed."""
    body = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def first_words(text: str, n: int = 8) -> str:
    return " ".join(text.split()[:n])


def retrieved(settings, key: str) -> str:
    return read_manifest(settings.data_dir)["files"][key]["retrieved"][:10]


@pytest.fixture(scope="module")
def hotspots(npa_layer, settings):
    return npa_hotspots(npa_layer, year=YEAR, cache_dir=settings.cache_dir / "weights")


@pytest.fixture(scope="module")
def stops(stops_and_report):
    return stops_and_report[0]


@pytest.fixture(scope="module")
def npa_report(npa_layer, hotspots, division_layer, settings):
    return neighborhood_report(npa_layer, hotspots, division_layer, npa_id=NPA, year=YEAR, link=LINK, settings=settings)


@pytest.fixture(scope="module")
def division(division_layer, stops, settings):
    return division_report(division_layer, stops, division=DIVISION, link=LINK, settings=settings)


@pytest.fixture(scope="module")
def npa_expected(npa_layer, hotspots):
    """NPA 380's figures, from the layer: residents, rate, exact Poisson interval, LISA label."""
    r = npa_layer.loc[npa_layer["npa"] == NPA].iloc[0]
    crimes, base = float(r[f"violent_crimes_{YEAR}"]), float(r[f"rate_pop_{YEAR}"])
    lo = stats.chi2.ppf(0.025, 2 * crimes) / 2 if crimes > 0 else 0.0
    hi = stats.chi2.ppf(0.975, 2 * crimes + 2) / 2
    h = hotspots.loc[hotspots["npa"] == NPA].iloc[0]
    return {
        "residents": f"{r['pop_2020']:,.0f}",
        "rate": f"{crimes / base * 1000:,.1f}",
        "interval": f"{lo / base * 1000:,.1f} to {hi / base * 1000:,.1f}",
        "cluster": str(h["cluster"]),
        "p": f"pseudo p = {h['p']:.3f}",
        "division": str(r["division"]),
    }


def central_expected(stops: pd.DataFrame, filters: StopFilter | None = None) -> dict[str, str]:
    data = filters.apply(stops) if filters is not None else stops
    mine = data.loc[data["division"].astype(str) == DIVISION]
    known = mine["searched"].dropna().astype(bool)
    black = mine.loc[mine["driver_group"].astype(str) == "Black", "searched"].dropna().astype(bool)
    return {
        "stops": f"{len(mine):,}",
        "search_rate": f"{known.mean():.1%}",
        "black_search": f"{int(black.sum()):,} of {len(black):,} stops",
        "period": f"{data['month'].min():%Y-%m} to {data['month'].max():%Y-%m}",
    }


# --------------------------------------------------------------------------- the neighborhood report


def test_npa_pdf_is_one_letter_page_with_the_numbers_caveats_dates_and_link(
    npa_report, npa_expected, settings, tmp_path
):
    pdf = report_pdf(npa_report, style=STYLE)
    assert pdf.startswith(b"%PDF") and pages(pdf) == 1
    assert re.search(rb"/MediaBox\s*\[\s*0 0 612 792\s*\]", pdf)  # US letter
    text = pdftotext(pdf, tmp_path)
    assert "Neighborhood profile area 380" in text and "NPA 380" in text
    assert f"Residents (2020): {npa_expected['residents']}" in text
    assert npa_expected["rate"] in text and npa_expected["interval"] in text
    assert npa_expected["cluster"] in text and npa_expected["p"] in text
    assert "not in a hot or cold spot" in text  # the card's hot-spot wording for "Not significant"
    assert npa_expected["division"] in text
    for caveat in npa_report.caveats:
        assert first_words(caveat) in text
    assert f"retrieved {retrieved(settings, 'stops')}" in text
    assert f"fiscal years 2011-{YEAR}" in text and "2020-01 to 2021-12" in text
    assert LINK in text


def test_npa_html_has_the_same_text_an_svg_map_and_no_other_address(npa_report, npa_expected):
    page = report_html(npa_report, style=STYLE)
    text = html_text(page)
    for needle in ("Neighborhood profile area 380", npa_expected["residents"], npa_expected["rate"],
                   npa_expected["interval"], npa_expected["p"], "not in a hot or cold spot", LINK):  # fmt: skip
        assert needle in text
    for caveat in npa_report.caveats:
        assert first_words(caveat) in text
    for d in npa_report.data_dates:
        assert str(d) in text
    assert "<svg" in page and "<path" in page
    assert f'href="{html.escape(LINK)}"' in page
    assert "http" not in page.replace(html.escape(LINK), "")  # no external file, font, script or namespace
    assert "<script" not in page and "@media print" in page and "size: letter" in page


def test_npa_map_shows_the_area_among_its_neighbours_inside_the_box(npa_report, npa_layer):
    m = npa_report.map
    assert m.area.equals(npa_layer.loc[npa_layer["npa"] == NPA].geometry.iloc[0])
    assert len(m.context) >= 4 and all(g.intersects(shapely.box(*m.frame)) for g in m.context)
    p = m.projected(width=300, height=225)
    every = np.vstack([*p.area, *(r for rs in p.context for r in rs)])
    assert every[:, 0].min() >= -0.1 and every[:, 0].max() <= 300.1
    assert every[:, 1].min() >= -0.1 and every[:, 1].max() <= 225.1
    assert p.label is not None and 0 < p.label[0] < 300 and 0 < p.label[1] < 225


def test_roads_in_any_crs_are_reprojected_and_cut_to_the_frame(npa_layer, hotspots, division_layer, settings):
    area = npa_layer.loc[npa_layer["npa"] == NPA].geometry.iloc[0]
    c = area.centroid
    across = shapely.LineString([(c.x - 50_000, c.y), (c.x + 50_000, c.y)])  # 19 miles: far beyond the frame
    far = shapely.LineString([(c.x + 200_000, c.y), (c.x + 210_000, c.y)])
    roads = gpd.GeoDataFrame(geometry=[across, far], crs=settings.analysis_crs).to_crs("EPSG:4326")
    report = neighborhood_report(npa_layer, hotspots, division_layer, npa_id=NPA, year=YEAR, roads=roads,
                                 settings=settings)  # fmt: skip
    assert len(report.map.roads) == 1  # the far road is left out
    np.testing.assert_allclose(report.map.roads[0].coords[0], across.coords[0], atol=0.01)  # back in EPSG:2264
    p = report.map.projected(width=300, height=225)
    xy = np.vstack(p.roads)
    assert xy[:, 0].min() >= -0.1 and xy[:, 0].max() <= 300.1  # cut at the map's edge
    assert "grey lines: main roads" in report.map_caption


# --------------------------------------------------------------------------- the division report


def test_division_pdf_is_one_page_with_its_stops_rates_caveats_and_link(division, stops, settings, tmp_path):
    pdf = report_pdf(division, style=STYLE)
    assert pages(pdf) == 1
    text = pdftotext(pdf, tmp_path)
    want = central_expected(stops)
    assert "Central Division: traffic stops" in text
    assert want["stops"] in text and want["search_rate"] in text and want["black_search"] in text
    assert "Search rate by driver group" in text and "Stops per 1,000 residents" in text
    for caveat in (BENCHMARK_CAVEAT, STOPS_NO_COORDINATES, CENSUS_DRIVER_GROUPS, RATE_CAVEAT, RATIO_CAVEAT):
        assert caveat in division.caveats and first_words(caveat) in text
    assert "Residential population is not the driving population" in text  # residents are not drivers
    assert f"CMPD traffic stops: 2020-01 to 2021-12; retrieved {retrieved(settings, 'stops')}" in text
    assert LINK in text


def test_division_html_has_the_same_figures(division, stops):
    page = report_html(division, style=STYLE)
    text = html_text(page)
    want = central_expected(stops)
    for needle in (want["stops"], want["search_rate"], want["black_search"], LINK):
        assert needle in text
    assert "<svg" in page and "http" not in page.replace(html.escape(LINK), "")


def test_division_report_follows_the_stop_filter(division_layer, stops, settings):
    f = StopFilter(start="2021-01")
    report = division_report(division_layer, stops, division=DIVISION, filters=f, settings=settings)
    want = central_expected(stops, f)
    text = html_text(report_html(report, style=STYLE))
    assert want["period"] == "2021-01 to 2021-12" and want["period"] in report.subtitle
    assert "month from 2021-01" in text and want["stops"] in text and want["search_rate"] in text


def test_a_division_without_stops_says_so(division_layer, stops, settings):
    report = division_report(division_layer, stops, division="Airport Division", settings=settings)
    rows = {r.label: r for t in report.tables for r in t.rows}
    assert rows["Traffic stops"].value == "0" and rows["Searched"].value == "no stops"
    assert pages(report_pdf(report, style=STYLE)) == 1


def test_an_empty_filter_and_unknown_areas_raise_with_what_is_allowed(npa_layer, hotspots, division_layer, stops):
    with pytest.raises(EmptyInputError):
        division_report(division_layer, stops, division=DIVISION, filters=StopFilter(reasons=("Speeding",),
                        start="2021-12", end="2021-12", age_bands=("Outside 15-100",), driver_genders=("Female",)))  # fmt: skip
    with pytest.raises(ValueDomainError, match=r"There is no division 'Nowhere'; choose one of 'Airport Division'"):
        division_report(division_layer, stops, division="Nowhere")
    with pytest.raises(ValueDomainError, match=r"There is no NPA 9999"):
        neighborhood_report(npa_layer, hotspots, division_layer, npa_id=9999, year=YEAR)
    with pytest.raises(ValueDomainError, match=r"http\(s\):// address"):
        neighborhood_report(npa_layer, hotspots, division_layer, npa_id=NPA, year=YEAR, link="javascript:alert(1)")


# --------------------------------------------------------------------------- text from the data


def _evil_layers(npa_layer, division_layer, stops):
    """The layers and stops with Central Division renamed to a script tag."""
    npa = npa_layer.copy()
    npa["division"] = npa["division"].replace({DIVISION: EVIL})
    npa.loc[npa["npa"] == NPA, "division"] = EVIL
    divs = division_layer.copy()
    divs["division"] = divs["division"].replace({DIVISION: EVIL})
    st = stops.copy()
    st["division"] = st["division"].cat.rename_categories({DIVISION: EVIL})
    return npa, divs, st


def test_script_text_from_the_data_is_shown_not_run(npa_layer, hotspots, division_layer, stops, tmp_path):
    npa, divs, st = _evil_layers(npa_layer, division_layer, stops)
    reports = [
        neighborhood_report(npa, hotspots, divs, npa_id=NPA, year=YEAR, link=LINK),
        division_report(divs, st, division=EVIL, link=LINK),
    ]
    for report in reports:
        page = report_html(report, style=STYLE)
        assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert EVIL in html_text(page)
        assert EVIL in pdftotext(report_pdf(report, style=STYLE), tmp_path)


def test_card_markdown_becomes_plain_runs():
    line = f"**Police division:** {escape_md('A*B_[x](y) <b>&')} (the division)"
    assert markdown_runs(line) == [("Police division:", True), (" A*B_[x](y) <b>& (the division)", False)]
    assert (
        plain_text("**Hot spot (2022):** this area is **not tested**: x")
        == "Hot spot (2022): this area is not tested: x"
    )


def test_links_and_file_names():
    assert check_link(None) is None and check_link(LINK) == LINK
    for bad in ("javascript:alert(1)", "http://a b", 'http://x/"onmouseover="y'):
        with pytest.raises(ValueDomainError):
            check_link(bad)
    assert report_slug("npa", 380) == "npa-380-report"
    assert report_slug("division", EVIL) == "script-alert-1-script-division-report"


def test_data_dates_say_when_a_data_set_was_not_recorded(settings, tmp_path):
    dates = data_dates([("Stops", ("stops",), ""), ("Nothing", ("no_such_set",), "2020")], settings=settings)
    assert dates[0].retrieved == retrieved(settings, "stops") and dates[0].period == "2020-01 to 2021-12"
    assert str(dates[1]) == "Nothing: 2020; retrieved not recorded"
    empty = data_dates([("Stops", ("stops",), "")], settings=settings.replace(data_dir=tmp_path))
    assert empty[0].retrieved == "not recorded"
