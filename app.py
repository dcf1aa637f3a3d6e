"""cmpd-hotspots: the Streamlit app. A thin front end over the ``geo`` library.

Run with ``make run`` (it fetches the data and the map assets first), or
``streamlit run app.py --server.enableStaticServing true``.

The sidebar starts collapsed on narrow screens (``initial_sidebar_state="auto"``) and
:data:`PHONE_CSS` keeps the main content readable on a phone (390 px wide): less padding,
smaller headings, tables and maps no wider than the screen. The print stylesheet
(:func:`app_pages.report_section.print_css`) is added once, here, for every page, after it.
"""

from __future__ import annotations

import streamlit as st

import app_pages

st.set_page_config(page_title="CMPD hot spots", layout="wide", initial_sidebar_state="auto")

#: Narrow screens: Streamlit stacks columns below 640 px; this trims what would still crowd or overflow.
PHONE_CSS = """
@media (max-width: 640px) {
  [data-testid="stMainBlockContainer"] { padding: 3.5rem 0.75rem 2rem 0.75rem; }
  [data-testid="stMain"] h1 { font-size: 1.75rem; line-height: 1.2; }
  [data-testid="stMain"] h2 { font-size: 1.35rem; }
  [data-testid="stMain"] h3 { font-size: 1.15rem; }
  [data-testid="stMetricValue"] { font-size: 1.6rem; }
  [data-testid="stElementContainer"], [data-testid="stDataFrame"], [data-testid="stVegaLiteChart"],
  [data-testid="stElementContainer"] iframe { max-width: 100%; }
  [data-testid="stMain"] { overflow-x: hidden; }
}
"""

st.html(f"<style>{PHONE_CSS}</style>")

PAGES = [
    st.Page(p.path, title=p.title, url_path=p.url_path, default=p.default, visibility=p.visibility)
    for p in (*app_pages.ALIASES, *app_pages.PAGES)
]

nav = st.navigation(PAGES)
# the page's heading first: it reaches the browser before the stops are read and the modules imported
app_pages.draw_heading(nav.url_path)

from app_pages import common, url_state  # noqa: E402  (geopandas and the layers: a second on a first visit)

url_state.keep_alive()  # choices made on other pages survive the switch; opens the run's address
try:
    common.sidebar_filters(applies=nav.url_path not in app_pages.UNFILTERED_PAGES)
except Exception as exc:  # the data may be missing: say so instead of a traceback
    st.error(common.data_problem(exc))
    st.stop()
try:
    with url_state.one_entry():  # the run's choices reach the URL at once: one history entry per view
        nav.run()
finally:
    # after the page: the report module imports reportlab (a second), needed only to print
    from app_pages import report_section

    st.html(f"<style>{report_section.print_css()}</style>")
    app_pages.import_pages_later()  # the other pages' modules, while this one is read
