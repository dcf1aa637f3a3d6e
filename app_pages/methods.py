"""Methods and data: provenance, definitions, caveats."""

from __future__ import annotations

import streamlit as st

from app_pages import common
from geo.caveats import CAVEATS
from geo.ingest import sources


def page() -> None:
    st.title("Methods and data")
    st.subheader("Sources")
    for ds in sources.DATASETS.values():
        where = ds.portal_url or "available from a mirror of the public data only"
        st.markdown(f"- **{ds.description}** — `{ds.path}` — {where}")
    st.subheader("How the data is prepared")
    st.markdown(
        """
- **Every row is accounted for.** Each loader reports rows read, kept, repaired, flagged and set aside, with
  reasons and row numbers (see the Overview page, or `python -m geo report`).
- **Stops** are joined to divisions by name (all 13 names in the table match the division layer; Airport
  Division has no stops and shows zero). Stops with a blank division are kept as "No division recorded".
  Driver ages outside 15-100 are flagged, not dropped.
- **Divisions**: the 2019 layer is used by default (nearest in time to the 2020-2021 stops); Airport's two parts
  are dissolved and Steele Creek's self-intersecting polygon is repaired.
- **Neighborhoods (NPAs)**: 459 Quality of Life Explorer areas covering the county; NPA 138 is repaired.
  Population by race (2020) is apportioned to divisions by area (the share of each NPA's area inside each
  division), which assumes people are spread evenly within an NPA.
- **Points** (shootings, incidents) are assigned to divisions and NPAs by a spatial join in NC State Plane
  (EPSG:2264, US feet); a point on a shared boundary goes to exactly one area (the smallest id).
- **Rates** are missing, not infinite, where the population is zero.
- Analysis uses EPSG:2264; maps and GeoJSON use WGS 84 (EPSG:4326). Map shapes are simplified for display
  only; every statistic uses the full geometry.
"""
    )
    st.subheader("Caveats")
    for title, body in CAVEATS.items():
        st.markdown(f"**{title}.** {body}")


if __name__ == "__main__":
    common.guarded(page)()
