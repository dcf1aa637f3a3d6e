"""Printable reports on the pages: the PDF and HTML download buttons, and the print rules of the app.

- :func:`downloads` shows two buttons (PDF, HTML) for one report. The files are made only
  when a button is clicked (Streamlit runs the download's callable then) and are cached per
  :func:`report_key` (kind, id, year, stop filter, link), so a second click is instant.
- :func:`print_css` is the CSS that makes a page print cleanly (no sidebar, header,
  toolbar, buttons or input widgets; the map and the text kept). ``app.py`` injects it once::

      st.html(f"<style>{report_section.print_css()}</style>")
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import NamedTuple

import streamlit as st

from geo.layers.filters import StopFilter
from geo.maps import palettes
from geo.output.report import Report, ReportStyle, report_html, report_slug

__all__ = ["STYLE", "ReportKey", "report_key", "downloads", "report_files", "print_css"]


#: The reports' colours: the selected area as the app highlights it, neighbours and roads in quiet greys.
STYLE = ReportStyle(
    area_fill=palettes.SELECTED_ROW_FILL,
    area_outline=palettes.SELECTED_OUTLINE_COLOR,
    context_outline=palettes.NEUTRAL_COLOR,
    road=palettes.REFERENCE_COLORS["road"],
    text=palettes.LABEL_COLOR,
    muted=palettes.NEUTRAL_COLOR,
)


class ReportKey(NamedTuple):
    """What a report depends on besides the data files: it keys the cache and the buttons."""

    kind: str
    ident: str
    year: str
    filters: str
    link: str
    data: str


def report_key(
    kind: str,
    ident: object,
    *,
    year: int | None = None,
    filters: StopFilter | None = None,
    link: str | None = None,
    data: str = "",
) -> ReportKey:
    """The key of one report, e.g. ``report_key("npa", 380, year=2022, filters=f, link=url, data=version)``.

    ``data`` names the version of the input files, e.g. ``geo.layers.catalog.cache_key("npa")``,
    so that a report made before the data were fetched again is not handed out after.
    """
    return ReportKey(
        kind,
        str(ident),
        "" if year is None else str(year),
        filters.describe() if filters else "all stops",
        link or "",
        data,
    )


@st.cache_data(show_spinner=False, max_entries=64)
def _files(key: ReportKey, _build: Callable[[], Report]) -> tuple[bytes, str]:
    """The PDF and the HTML of the report ``_build`` makes (built once per key)."""
    report = _build()
    from geo.output.pdf import report_pdf  # reportlab takes 0.7-5 s to import: only when a report is built

    return report_pdf(report, style=STYLE), report_html(report, style=STYLE)


def report_files(report: Report | Callable[[], Report], *, key: ReportKey) -> tuple[bytes, str]:
    """The report's PDF (bytes) and HTML (text), cached per ``key``."""
    return _files(key, report if callable(report) else lambda: report)


def downloads(report: Report | Callable[[], Report], *, key: ReportKey) -> None:
    """Two download buttons, PDF and HTML, for one report.

    Parameters
    ----------
    report
        The report, or a function without arguments that builds it: then nothing is
        built until a button is clicked, e.g.
        ``lambda: neighborhood_report(npa, hs, divisions, npa_id=380, year=2022, link=url)``.
    key
        :func:`report_key` of the report: keys the cache and names the files
        (``npa-380-report.pdf``) and the buttons' widget keys.
    """
    stem = report_slug(key.kind, key.ident)
    widget = hashlib.sha256("|".join(key).encode()).hexdigest()[:16]
    left, right = st.columns(2)
    with left:
        st.download_button(
            "Download the report (PDF)",
            lambda: report_files(report, key=key)[0],
            file_name=f"{stem}.pdf",
            mime="application/pdf",
            key=f"report-pdf-{widget}",
            on_click="ignore",
            icon=":material/picture_as_pdf:",
            help="One printable page: the map, the summary, the numbers with their intervals, the caveats and the "
            "data dates, with a link back to this view.",
        )
    with right:
        st.download_button(
            "Download the report (HTML)",
            lambda: report_files(report, key=key)[1].encode("utf-8"),
            file_name=f"{stem}.html",
            mime="text/html",
            key=f"report-html-{widget}",
            on_click="ignore",
            icon=":material/description:",
            help="The same page as a self-contained web page (no external files); prints on one letter page.",
        )


#: Streamlit elements that make no sense on paper (by their ``data-testid``).
_HIDDEN_ON_PAPER = (
    # the app's frame: sidebar, its toggles, header, toolbar, status, menus
    "stSidebar", "stSidebarCollapseButton", "stExpandSidebarButton", "stHeader", "stToolbar", "stStatusWidget",
    "stAppDeployButton", "stMainMenu", "stDecoration", "stBottom", "stSkipToContent", "stToastContainer",
    "stElementToolbar", "stTopNav",
    # buttons and input widgets (what a widget chose is in the page's text and title)
    "stButton", "stDownloadButton", "stLinkButton", "stFormSubmitButton", "stPopover", "stButtonGroup", "stPageLink",
    "stSelectbox", "stMultiSelect", "stSlider", "stTextInput", "stTextArea", "stNumberInput", "stDateInput",
    "stDateTimeInput", "stTimeInput", "stRadio", "stCheckbox", "stFileUploader", "stColorPicker", "stChatInput",
)  # fmt: skip


def print_css() -> str:
    """CSS for printing a page of the app: only the content, the map and the text, on US-letter pages.

    Hides the sidebar, the header and toolbar, every button and input widget; lets the
    main area use the whole width and flow onto as many pages as it needs (Streamlit's
    scrolling containers otherwise print one screenful); keeps the map's frame and the
    charts whole on a page; prints colours as shown (map fills, highlights); opens the
    expanders where the browser can (Chrome's ``::details-content``).

    Returns
    -------
    str
        CSS text, without the ``<style>`` tags.
    """
    hidden = ",\n  ".join(f'[data-testid="{t}"]' for t in _HIDDEN_ON_PAPER)
    css = f"""
@page {{ size: letter; margin: 0.5in; }}
@media print {{
  {hidden} {{ display: none !important; }}
  html, body {{ -webkit-print-color-adjust: exact; print-color-adjust: exact; background: white !important; }}
  [data-testid="stApp"], [data-testid="stAppViewContainer"], [data-testid="stMain"],
  [data-testid="stMainBlockContainer"] {{
    position: static !important; overflow: visible !important; height: auto !important;
    min-height: 0 !important; margin: 0 !important; inset: auto !important;
  }}
  [data-testid="stMain"] {{ width: 100% !important; max-width: none !important; }}
  [data-testid="stMainBlockContainer"] {{ padding: 0 !important; max-width: none !important; }}
  iframe, [data-testid="stIFrame"], [data-testid="stVegaLiteChart"], [data-testid="stImage"],
  [data-testid="stTable"], [data-testid="stDataFrame"] {{ break-inside: avoid; max-width: 100% !important; }}
  [data-testid="stElementContainer"]:has(iframe) {{ break-inside: avoid; }}
  [data-testid="stExpander"] details {{ border: none !important; }}
  a {{ color: inherit !important; text-decoration: none !important; }}
}}
@media print {{
  [data-testid="stExpander"] details::details-content {{ content-visibility: visible !important; display: block; }}
}}
"""
    return re.sub(r"\n\s*\n", "\n", css).strip() + "\n"
