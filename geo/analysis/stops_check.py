"""Check a stops file: validate a newer export of the CMPD stops table with the project's loader.

The file is checked with :func:`geo.ingest.stops.load_stops` and summarised; it never
replaces the app's data.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from geo.errors import GeoDataError
from geo.ingest.stops import load_stops
from geo.layers.stop_tables import stop_counts

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A file name that is safe to write (keeps the .csv / .csv.gz ending the loader looks at)."""
    base = Path(str(name).replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).lstrip(".") or "upload.csv"
    return base[-120:]


def check_stops_upload(data: bytes, name: str, *, on_error: Literal["raise", "set_aside"] = "raise") -> dict[str, Any]:
    """Validate an uploaded stops file with :func:`geo.ingest.stops.load_stops` and summarise it.

    Parameters
    ----------
    data
        The file's bytes (CSV, or gzip-compressed CSV when ``name`` ends in ``.gz``).
    name
        The file name as uploaded; messages name the file by it.
    on_error
        Passed to :func:`geo.ingest.stops.load_stops`: ``"raise"`` rejects a file with bad rows,
        ``"set_aside"`` loads what can be loaded and reports the rest.

    Returns
    -------
    dict
        ``ok`` (bool), ``name``; when not ok, ``error`` (the loader's message, with the
        temporary folder removed so that it names the uploaded file) and ``kind`` (the
        error class); when ok, ``report`` (:meth:`geo.ingest.report.LoadReport.to_dict`),
        ``stops``, ``searches``, ``arrests``, ``citations``, ``first_month``,
        ``last_month``, ``months`` (months with stops), ``missing_months``,
        ``by_division`` and ``by_month`` (:func:`geo.layers.stop_tables.stop_counts`).
    """
    safe = safe_name(name)
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
