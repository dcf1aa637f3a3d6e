"""The printable reports in a real headless Chromium, with every request off this machine blocked.

A link to an NPA (``/neighborhood?npa=380``) or to a division (``/disparities?div=...``)
opens the page with its download buttons; a click on "Download the report (PDF)" hands
out a PDF whose text (``pdftotext``, Debian's poppler-utils) names the area, repeats a
number as the page shows it, carries the caveat that residents are not drivers, and links
back to the same view.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.helpers.browser import screenshot

pytestmark = pytest.mark.browser

PDF_BUTTON = "Download the report (PDF)"
#: The caveat every report carries (geo.caveats.BENCHMARK_CAVEAT and the neighborhood card's caveats).
NOT_DRIVERS = "Residential population is not the driving population"


def _pdftotext(path) -> str:
    """The PDF's text, whitespace collapsed."""
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.skip("pdftotext (Debian's poppler-utils) is not installed: `apt-get install -y poppler-utils`")
    out = subprocess.run([exe, "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, timeout=60, check=True)
    return " ".join(out.stdout.split())


def _settled(page) -> None:
    """Wait until the page has finished its run (nothing left stale from a rerun)."""
    page.get_by_role("button", name=PDF_BUTTON).wait_for(timeout=120_000)
    page.wait_for_function("document.querySelectorAll('[data-stale=\"true\"]').length === 0", timeout=120_000)


def _download_pdf(page, tmp_path, name: str) -> str:
    """Click the PDF button, save what it hands out, and return its text."""
    with page.expect_download(timeout=90_000) as dl:
        page.get_by_role("button", name=PDF_BUTTON).click()
    out = tmp_path / name
    dl.value.save_as(out)
    assert out.read_bytes().startswith(b"%PDF"), dl.value.suggested_filename
    return _pdftotext(out)


def _no_problems(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.inner_text("body")
    assert page.blocked == [], page.blocked[:5]
    assert page.dialogs == []


def test_the_neighborhood_report_pdf_matches_the_page(app_url, page, tmp_path):
    page.goto(f"{app_url}/neighborhood?npa=380")
    page.get_by_role("heading", name="Neighborhood profile area 380", exact=True).wait_for(timeout=120_000)
    _settled(page)
    body = page.inner_text("body")
    residents = re.search(r"Residents \(2020\):\s*([\d,]+)", body)
    assert residents, "the card shows no residents"
    text = _download_pdf(page, tmp_path, "npa-380-report.pdf")
    assert "NPA 380" in text and "Neighborhood profile area 380" in text
    assert residents.group(1) in text  # the number as the page shows it
    assert NOT_DRIVERS in text
    assert "npa=380" in text.replace(" ", "")  # the link back to this view
    screenshot(page, "share-neighborhood-380")
    _no_problems(page)


def test_the_division_report_pdf_matches_the_page(app_url, page, tmp_path):
    page.goto(f"{app_url}/disparities?div=North+Division")
    page.get_by_role("heading", name="Disparities and accountability").wait_for(timeout=120_000)
    _settled(page)
    shown = re.search(r"North Division:\s*([\d,]+) traffic stops with these filters", page.inner_text("body"))
    assert shown, "the page does not show the division's stops"
    text = _download_pdf(page, tmp_path, "north-division-report.pdf")
    assert "North Division: traffic stops" in text
    assert f"{shown.group(1)} in North Division" in text  # the count the page shows
    assert "95% Wilson interval" in text and NOT_DRIVERS in text
    assert "div=North+Division" in text.replace(" ", "")  # the link back to this view
    screenshot(page, "share-division-north")
    _no_problems(page)
