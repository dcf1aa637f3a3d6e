"""cmpd-hotspots: the Streamlit app. A thin front end over the ``geo`` library.

Run with ``make run`` (it fetches the data and the map assets first), or
``streamlit run app.py --server.enableStaticServing true``.
"""

from __future__ import annotations

import streamlit as st

import app_pages
from app_pages import common, url_state

st.set_page_config(page_title="CMPD hot spots", layout="wide", initial_sidebar_state="expanded")

PAGES = [st.Page(p.path, title=p.title, url_path=p.url_path, default=p.default) for p in app_pages.PAGES]

nav = st.navigation(PAGES)
url_state.keep_alive()  # choices made on other pages survive the switch
try:
    common.sidebar_filters(applies=nav.url_path not in app_pages.UNFILTERED_PAGES)
except Exception as exc:  # the data may be missing: say so instead of a traceback
    st.error(f"The data could not be loaded: {exc}. Run `make run` (or `python -m geo fetch`) first.")
    st.stop()
nav.run()
