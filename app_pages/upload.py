"""Check a stops file: validate a newer export of the CMPD traffic-stops table with the app's own loader.

The check itself is :func:`geo.analysis.stops_check.check_stops_upload`; this page uploads and shows.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

import app_pages
from app_pages import common
from geo.analysis.stops_check import check_stops_upload
from geo.maps.palettes import ESTIMATE_COLOR
from geo.settings import get_settings
from geo.vocab import STOP_COLUMNS


@st.cache_data(show_spinner="Checking the file ...", max_entries=8)
def _check(data: bytes, name: str, on_error: str) -> dict[str, Any]:
    return check_stops_upload(data, name, on_error=on_error)  # type: ignore[arg-type]


def _message(text: str) -> str:
    """The loader's message for st.error: escaped, one line per problem."""
    return "  \n".join(common.text(line) for line in str(text).splitlines())


def show_check(result: dict[str, Any], *, on_error: str) -> None:
    """Show the result of :func:`check_stops_upload`."""
    if not result["ok"]:
        st.error(_message(result["error"]))
        if on_error == "raise" and result.get("kind") == "ValueDomainError":
            st.info(
                "Tick **Set aside the rows with problems** above to load the rows that can be loaded and see the report."
            )
        return
    rep = result["report"]
    if rep["rows_set_aside"]:
        st.warning(
            f"{common.text(result['name'])}: {rep['rows_kept']:,} of {rep['rows_read']:,} rows loaded; "
            f"{rep['rows_set_aside']:,} set aside (the reasons are below)."
        )
    else:
        st.success(f"{common.text(result['name'])} is a valid stops table: all {rep['rows_read']:,} rows can be used.")
    c = st.columns(5)
    c[0].metric("Stops kept", f"{result['stops']:,}")
    c[1].metric("Searches", f"{result['searches']:,}")
    c[2].metric("Arrests", f"{result['arrests']:,}")
    c[3].metric("Citations", f"{result['citations']:,}")
    span = f"{result['first_month']} to {result['last_month']}" if result["first_month"] else "none"
    c[4].metric("Months covered", f"{result['months']}", help=f"Months with stops: {span}")
    st.markdown(f"Months covered: **{common.text(span)}** ({result['months']} months with stops).")
    if result["missing_months"]:
        st.warning(
            f"No stops at all in {len(result['missing_months'])} month(s) inside that span: {common.text(', '.join(result['missing_months']))}."
        )

    st.subheader("What happened to every row")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "file": rep["source"],
                    "read": rep["rows_read"],
                    "kept": rep["rows_kept"],
                    "repaired": rep["rows_repaired"],
                    "flagged": rep["rows_flagged"],
                    "set aside": rep["rows_set_aside"],
                }
            ]
        ),
        hide_index=True,
        width="stretch",
        key="up_report",
    )
    issues = pd.DataFrame(
        [
            {
                "action": i["action"].replace("_", " "),
                "column": i["column"],
                "rows": i["count"],
                "reason": i["reason"],
                "first rows": ", ".join(map(str, i["first_rows"][:10])),
            }
            for i in rep["issues"]
        ],
        columns=["action", "column", "rows", "reason", "first rows"],
    )
    if len(issues):
        st.markdown("**Reasons, with the first row numbers** (row 1 is the first line after the header)")
        st.dataframe(issues, hide_index=True, width="stretch", key="up_issues")
    else:
        st.caption("Every row was read as it is: nothing repaired, flagged or set aside.")
    for n in rep["notes"]:
        st.caption(common.text(n))

    left, right = st.columns(2)
    with left:
        st.markdown("**Stops per division in this file**")
        st.dataframe(
            result["by_division"],
            hide_index=True,
            width="stretch",
            key="up_divisions",
            height=40 + 35 * len(result["by_division"]),
        )
    with right:
        st.markdown("**Stops per month in this file**")
        st.bar_chart(result["by_month"], x="month", y="stops", x_label="Month", y_label="Stops", color=ESTIMATE_COLOR)


def page() -> None:
    """Draw the upload page: check an uploaded stops file with the app's own loader and show the result."""
    app_pages.heading("app_pages/upload.py")
    st.write(
        "Have a newer export of CMPD's Officer Traffic Stops table? Check it here with the same loader the app uses: "
        "it reports every problem (file, column, row numbers), every repair and every row set aside. "
        "The file is only checked and summarised; it does not replace the app's data."
    )
    st.caption(f"Required columns: {common.text(', '.join(STOP_COLUMNS))}. OBJECTID and GlobalID are optional.")
    limits = get_settings()
    st.caption(
        f"Limits: {limits.max_decompressed_bytes / 2**20:,.0f} MiB of text (a .gz file counted as it expands) "
        f"and {limits.max_rows:,} rows; each column named once. UTF-8 text (UTF-16 with a byte-order mark is read too)."
    )
    uploaded = st.file_uploader("Stops file (.csv or .csv.gz)", type=["csv", "gz"], key="up_file")
    set_aside = st.checkbox(
        "Set aside the rows with problems (load what can be loaded)",
        key="up_set_aside",
        help="Without this, a file with any unreadable month, age, years of service or division is rejected with a list of the problems.",
    )
    if uploaded is None:
        st.info("Choose a file to check.")
        return
    on_error = "set_aside" if set_aside else "raise"
    result = _check(uploaded.getvalue(), uploaded.name, on_error)
    show_check(result, on_error=on_error)


if __name__ == "__main__":
    common.guarded(page)()
