"""Check a stops file: validate a newer export of the CMPD traffic-stops table with the app's own loader.

The file is checked with :func:`geo.load.load_stops` and summarised; it never replaces the
app's data. :func:`check_stops_upload` holds the logic (and is tested without a browser).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import streamlit as st

from app_pages import common
from geo._errors import GeoDataError
from geo.aggregate import stop_counts
from geo.load import STOP_COLUMNS, load_stops

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_name(name: str) -> str:
    """A file name that is safe to write (keeps the .csv / .csv.gz ending the loader looks at)."""
    base = Path(str(name).replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).lstrip(".") or "upload.csv"
    return base[-120:]


def check_stops_upload(data: bytes, name: str, *, on_error: Literal["raise", "set_aside"] = "raise") -> dict[str, Any]:
    """Validate an uploaded stops file with :func:`geo.load.load_stops` and summarise it.

    Parameters
    ----------
    data
        The file's bytes (CSV, or gzip-compressed CSV when ``name`` ends in ``.gz``).
    name
        The file name as uploaded; messages name the file by it.
    on_error
        Passed to :func:`geo.load.load_stops`: ``"raise"`` rejects a file with bad rows,
        ``"set_aside"`` loads what can be loaded and reports the rest.

    Returns
    -------
    dict
        ``ok`` (bool), ``name``; when not ok, ``error`` (the loader's message, with the
        temporary folder removed so that it names the uploaded file) and ``kind`` (the
        error class); when ok, ``report`` (:meth:`geo.report.LoadReport.to_dict`),
        ``stops``, ``searches``, ``arrests``, ``citations``, ``first_month``,
        ``last_month``, ``months`` (months with stops), ``missing_months``,
        ``by_division`` and ``by_month`` (:func:`geo.aggregate.stop_counts`).
    """
    safe = _safe_name(name)
    with tempfile.TemporaryDirectory(prefix="cmpd-upload-") as tmp:
        path = Path(tmp) / safe
        path.write_bytes(data)

        def clean(message: str) -> str:
            return message.replace(str(path), safe).replace(tmp + "/", "")

        try:
            frame, report = load_stops(path, on_error=on_error)
        except GeoDataError as exc:
            return {"ok": False, "name": safe, "error": clean(str(exc)), "kind": type(exc).__name__}
        except Exception as exc:  # an odd file must give a message, never a traceback
            return {
                "ok": False,
                "name": safe,
                "error": f"{safe}: could not be read as a stops table ({type(exc).__name__}: {clean(str(exc))}).",
                "kind": type(exc).__name__,
            }
    rep = report.to_dict()
    rep["source"] = safe
    rep["notes"] = [clean(n) for n in rep["notes"]]
    totals = stop_counts(frame, by="year")[["stops", "searches", "arrests", "citations"]].sum()
    months = stop_counts(frame, by="month")
    months = months[months["stops"] > 0]
    first, last = months["month"].min(), months["month"].max()
    expected = pd.period_range(first, last, freq="M") if len(months) else pd.PeriodIndex([], freq="M")
    present = set(months["month"].dt.to_period("M"))
    by_division = stop_counts(frame, by="division")
    by_division["division"] = by_division["division"].astype(str)
    return {
        "ok": True,
        "name": safe,
        "report": rep,
        **{k: int(v) for k, v in totals.items()},
        "first_month": f"{first:%Y-%m}" if len(months) else None,
        "last_month": f"{last:%Y-%m}" if len(months) else None,
        "months": len(months),
        "missing_months": [str(p) for p in expected if p not in present],
        "by_division": by_division,
        "by_month": months.assign(month=months["month"].dt.strftime("%Y-%m")).reset_index(drop=True),
    }


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
        st.bar_chart(result["by_month"], x="month", y="stops", x_label="Month", y_label="Stops", color="#0072B2")


def page() -> None:
    st.title("Check a stops file")
    st.write(
        "Have a newer export of CMPD's Officer Traffic Stops table? Check it here with the same loader the app uses: "
        "it reports every problem (file, column, row numbers), every repair and every row set aside. "
        "The file is only checked and summarised; it does not replace the app's data."
    )
    st.caption(f"Required columns: {common.text(', '.join(STOP_COLUMNS))}. OBJECTID and GlobalID are optional.")
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
