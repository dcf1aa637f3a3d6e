"""cmpd-hotspots: the Streamlit app. A thin front end over the ``geo`` library.

Run with ``make run`` (it fetches the data and the map assets first), or
``streamlit run app.py --server.enableStaticServing true``.
"""

from __future__ import annotations

import streamlit as st

from app_pages import common

st.set_page_config(page_title="CMPD hot spots", layout="wide", initial_sidebar_state="expanded")

PAGES = [
    st.Page("app_pages/overview.py", title="Overview", url_path="overview", default=True),
    st.Page("app_pages/map_explorer.py", title="Map explorer", url_path="map"),
    st.Page("app_pages/hotspots.py", title="Hot spots", url_path="hotspots"),
    st.Page("app_pages/emerging.py", title="Emerging hot spots", url_path="emerging"),
    st.Page("app_pages/disparities.py", title="Disparities and accountability", url_path="disparities"),
    st.Page("app_pages/use_of_force.py", title="Use of force", url_path="use-of-force"),
    st.Page("app_pages/neighborhood.py", title="Your neighborhood", url_path="neighborhood"),
    st.Page("app_pages/export.py", title="Export", url_path="export"),
    st.Page("app_pages/upload.py", title="Check a stops file", url_path="check-file"),
    st.Page("app_pages/methods.py", title="Methods and data", url_path="methods"),
]

nav = st.navigation(PAGES)
try:
    common.sidebar_filters()
except Exception as exc:  # the data may be missing: say so instead of a traceback
    st.error(f"The data could not be loaded: {exc}. Run `make run` (or `python -m geo fetch`) first.")
    st.stop()
nav.run()
