"""Methods and data: provenance, definitions, caveats."""

from __future__ import annotations

import streamlit as st

from app_pages import common
from geo.caveats import DATA_PREPARATION
from geo.ingest import sources


def page() -> None:
    """Draw the methods page: the sources, how the data is prepared, and the caveats."""
    st.title("Methods and data")
    st.subheader("Sources")
    for ds in sources.DATASETS.values():
        where = ds.portal_url or "available from a mirror of the public data only"
        st.markdown(f"- **{ds.description}** — `{ds.path}` — {where}")
    st.subheader("How the data is prepared")
    st.markdown(DATA_PREPARATION)
    st.subheader("Caveats")
    common.caveats()


if __name__ == "__main__":
    common.guarded(page)()
