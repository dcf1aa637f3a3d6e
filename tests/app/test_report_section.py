"""The report downloads and the print rules (app_pages/report_section.py).

The two buttons are drawn with the report's file names and build nothing until clicked;
the files they hand out are the report's PDF and HTML, made once per key; the print CSS
hides the sidebar, header and widgets and keeps the map's frame.
"""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from app_pages import report_section
from geo.layers.filters import StopFilter
from geo.output.report_build import division_report

pytestmark = pytest.mark.slow


def _page(division: str) -> None:
    import streamlit as st

    from app_pages import report_section as rs

    calls = st.session_state.setdefault("built", [])
    key = rs.report_key("division", division, link="http://localhost:8501/disparities")
    rs.downloads(lambda: calls.append(division), key=key)  # would fail if called: it is not a report


def test_two_buttons_named_for_the_report_and_nothing_built_before_a_click():
    at = AppTest.from_function(_page, args=("Central Division",), default_timeout=60).run()
    assert not at.exception
    buttons = at.get("download_button")
    assert [b.proto.label for b in buttons] == ["Download the report (PDF)", "Download the report (HTML)"]
    assert at.session_state["built"] == []


def test_the_files_are_the_reports_pdf_and_html_made_once_per_key(division_layer, stops_and_report, settings):
    stops = stops_and_report[0]
    built = []

    def build():
        built.append(1)
        return division_report(division_layer, stops, division="Central Division", settings=settings)

    key = report_section.report_key("division", "Central Division", filters=StopFilter())
    pdf, page = report_section.report_files(build, key=key)
    again = report_section.report_files(build, key=key)
    assert pdf.startswith(b"%PDF") and "<svg" in page and "Central Division: traffic stops" in page
    assert again == (pdf, page) and built == [1]
    assert key == ("division", "Central Division", "", "all stops", "", "")
    other = report_section.report_key("division", "Central Division", filters=StopFilter(start="2021-01"))
    assert other.filters == "month from 2021-01" and other != key


def test_print_css_hides_the_app_frame_and_widgets_and_keeps_the_map():
    css = report_section.print_css()
    hidden = re.search(r"@media print \{\s*(.*?)\{ display: none !important; \}", css, re.S)
    assert hidden is not None
    for testid in ("stSidebar", "stHeader", "stToolbar", "stDownloadButton", "stButton", "stSelectbox", "stSlider"):
        assert f'[data-testid="{testid}"]' in hidden.group(1)
    assert "iframe" not in hidden.group(1) and "stMarkdown" not in hidden.group(1)
    assert "break-inside: avoid" in css and "print-color-adjust: exact" in css and "size: letter" in css
    assert "<style" not in css
