"""The Data page: what is in the data, every file of the fetch manifest, and what happened to every row."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import app_pages
from app_pages import common
from geo.caveats import REFERENCE_LAYERS_2013, SAMPLE_NOTE
from geo.ingest import sources
from geo.settings import get_settings

#: Report name -> a plain description, for the row-report table (the loaders' data sets).
_REPORT_LABELS = {
    "stops": "Traffic stops",
    "divisions": "CMPD division polygons",
    "npa": "Neighborhood (NPA) polygons",
    "npa_metrics": "NPA population, race and crime counts",
    "ois": "Officer-involved shootings",
    "incidents": "Incident points of the incidents layer (its source is named below the table)",
    "incident_points": "Incident points 2017-2026, a 1-in-61 sample",
    "incident_timeline": "Incidents by division and month 2017-2026",
    "qol_catalogue": "Quality of Life metric catalogue",
    "qol_metrics": "Quality of Life metrics, every NPA and year",
    "clearance": "Assault and intimidation clearance 2017-2024",
    "diversion": "Juvenile diversion referrals 2013-2016",
    "employees": "CMPD employee demographics 2017",
    "npa_groups": "NPAs of each town and council district",
    "zipcodes": "ZIP code areas (2013)",
    "historic_districts": "Local historic districts (2013)",
    "council_districts": "City Council districts (2013)",
    "landmarks": "Schools, parks, libraries, police stations and other landmarks (2013)",
    "railroads": "Railroads (2013)",
    "greenways": "Greenways (2013)",
    "roads": "Main roads (state-maintained, 2019)",
}


def _headline() -> None:
    """Headline figures: the stops left by the sidebar filters, their searches, the areas and residents."""
    stops = common.stops()
    npa = common.npa_layer()
    divs = common.division_base()
    filters = common.current_filters()
    fstops = common.filtered_stops(filters) if filters.steps() else stops
    c = st.columns(5)
    months = stops["month"].dropna() if "month" in stops else pd.Series(dtype=object)
    span = f"{months.min():%Y-%m} to {months.max():%Y-%m}; " if len(months) else ""
    c[0].metric("Traffic stops", f"{len(fstops):,}", help=f"{span}{common.describe_filters(filters)}")
    c[1].metric("Searches", f"{int(fstops['searched'].fillna(False).sum()):,}")
    c[2].metric("CMPD divisions", f"{len(divs)}")
    c[3].metric("Neighborhoods (NPAs)", f"{len(npa)}")
    c[4].metric("Residents (2020)", f"{npa['pop_2020'].sum():,.0f}", help="Mecklenburg County, from the NPA data")


def _coverage() -> None:
    """Every data set in the fetch manifest: file, rows, period, when and where it was retrieved."""
    st.subheader("Data coverage")
    manifest = sources.read_manifest(get_settings().data_dir)
    rows = []
    for key, ds in sources.DATASETS.items():
        entry = manifest.get("files", {}).get(key)
        if entry is None:
            continue
        rows.append(
            {
                "data set": ds.description,
                "file": entry.get("path"),
                "rows": entry.get("rows"),
                "period": entry.get("vintage", ""),
                "retrieved": entry.get("retrieved", ""),
                "source": entry.get("source", ""),
            }
        )
    st.caption(f"Fetched ({manifest.get('mode', 'unknown')}) from {manifest.get('source', 'unknown')}")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _row_report() -> None:
    """What each loader did with every row: counts per data set, then the reasons with the first row numbers."""
    st.subheader("What happened to every row")
    reps = common.reports()
    counts = [
        {
            "data": r["name"],
            "what": _REPORT_LABELS.get(r["name"], ""),
            "read": r["rows_read"],
            "kept": r["rows_kept"],
            "repaired": r["rows_repaired"],
            "flagged": r["rows_flagged"],
            "set aside": r["rows_set_aside"],
        }
        for r in reps
    ]
    st.dataframe(pd.DataFrame(counts), hide_index=True, width="stretch")
    if any(r["name"] == "incident_points" for r in reps):
        st.info(f"**Incident points 2017-2026.** {SAMPLE_NOTE}")
    common.incident_caption()
    if any(r["name"] == "roads" for r in reps):
        st.caption(REFERENCE_LAYERS_2013)
    details = pd.DataFrame(
        [
            {
                "data": r["name"],
                "action": i["action"].replace("_", " "),
                "column": i["column"],
                "rows": i["count"],
                "reason": i["reason"],
                "first rows": ", ".join(map(str, i["first_rows"][:5])),
                "file": i.get("file", ""),
            }
            for r in reps
            for i in r["issues"]
        ]
    )
    with st.expander("Reasons, with the first row numbers", expanded=False):
        st.dataframe(details, hide_index=True, width="stretch")
        for r in reps:
            for n in r["notes"]:
                st.caption(f"{r['name']}: {n}")


def page() -> None:
    """Draw the Data page: headline counts, data coverage, the row report and the caveats."""
    app_pages.heading("app_pages/data.py")
    st.write(
        "Every file the app reads, where and when it was fetched, and what the loaders did with every row: "
        "kept, repaired, flagged or set aside, and why. Nothing is dropped without being counted here."
    )
    _headline()
    _coverage()
    _row_report()
    st.subheader("What these numbers can and cannot say")
    common.caveats()


if __name__ == "__main__":
    common.guarded(page)()
