"""CMPD incidents 2017-2026: the even point sample and the division-by-month counts.

Both files were derived by the ``hadi-nayebi/crime-cartography`` repository from CMPD's
incident layer (``shared/data/PROVENANCE.md`` section 4). It dropped non-criminal 800-series
reports and "Unfounded" reports, kept an even 1-in-61 sample of real (block-anonymized)
locations, at most 100 a month, and counted every placed record by division, month and
category. The category names are the repository's (``persons``, ``property``, ``society``,
``other``: Group B and local codes).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.caveats import SAMPLE_NOTE, TIMELINE_NOTE
from geo.errors import quote_values
from geo.ingest.files import data_path, read_table, require_columns, settings_or_default
from geo.ingest.points import county_outline, points_from_lonlat
from geo.ingest.report import LoadReport
from geo.settings import Settings
from geo.vocab import DIVISIONS, INCIDENT_CATEGORIES

__all__ = [
    "INCIDENT_CATEGORIES",
    "SAMPLE_NOTE",
    "TIMELINE_NOTE",
    "TIMELINE_TOTAL",
    "load_incident_points",
    "load_incident_timeline",
]


#: Incidents the timeline counts in all (the source repository's "placed" records).
TIMELINE_TOTAL = 697_504


def _months(raw: pd.Series) -> pd.Series:
    """``YYYY-MM`` strings as the first day of the month (NaT when not a month)."""
    return pd.to_datetime(raw.str.strip(), format="%Y-%m", errors="coerce")


def _categories(raw: pd.Series, rows: np.ndarray, report: LoadReport) -> tuple[pd.Series, np.ndarray]:
    """Categories in lower case; rows whose category is none of :data:`INCIDENT_CATEGORIES` are set aside."""
    clean = raw.str.strip().str.lower()
    unknown = ~clean.isin(INCIDENT_CATEGORIES).to_numpy()
    changed = (clean != raw).to_numpy() & ~unknown
    report.add("repaired", "category", "category in another case or with spaces; lower-cased", rows[changed])
    if unknown.any():
        report.add(
            "set_aside",
            "category",
            f"unknown category {quote_values(sorted(set(raw[unknown])))}; allowed: {', '.join(INCIDENT_CATEGORIES)}",
            rows[unknown],
        )
    return clean, unknown


def load_incident_points(
    path: str | Path | None = None, *, settings: Settings | None = None
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load the even sample of CMPD incident locations, 2017-2026 (see :data:`SAMPLE_NOTE`).

    Parameters
    ----------
    path
        The CSV (``month, lon, lat, category``); the fetched ``incidents_points`` by default.
    settings
        Settings (data folder, analysis CRS).

    Returns
    -------
    points : geopandas.GeoDataFrame
        EPSG:2264 points: ``row`` (data row in the file), ``month`` (first day of the month),
        ``year``, ``category`` (one of :data:`INCIDENT_CATEGORIES`), ``in_county``
        (False for points outside Mecklenburg County, kept and reported).
    report : LoadReport
        Rows set aside (no or impossible coordinates, no month, unknown category) and
        flagged (outside the county); the note :data:`SAMPLE_NOTE`.

    Raises
    ------
    SchemaError
        If a column is missing.
    """
    s = settings_or_default(settings)
    p = data_path(path, "incidents_points", settings)
    df = read_table(p)
    require_columns(df, ["month", "lon", "lat", "category"], p, "the incident point sample")
    report = LoadReport("incident_points", str(p), rows_read=len(df), notes=[SAMPLE_NOTE])
    rows = np.arange(1, len(df) + 1)
    month = _months(df["month"])
    bad_month = month.isna().to_numpy()
    report.add("set_aside", "month", "month is not YYYY-MM", rows[bad_month])
    category, unknown = _categories(df["category"], rows, report)
    ok = ~(bad_month | unknown)
    base = pd.DataFrame({"month": month, "category": category, "lon": df["lon"], "lat": df["lat"]})
    # coordinates are checked on every row, so a row with several problems is named under each
    all_pts = points_from_lonlat(base, "lon", "lat", path=p, report=report, settings=s, county=county_outline(s))
    gdf = all_pts[ok[all_pts["row"].to_numpy() - 1]].reset_index(drop=True)
    out = gpd.GeoDataFrame(
        {
            "row": gdf["row"].astype("int64"),
            "month": gdf["month"],
            "year": gdf["month"].dt.year.astype("int64"),
            "category": pd.Categorical(gdf["category"], categories=list(INCIDENT_CATEGORIES)),
            "in_county": gdf["in_county"].astype(bool) if "in_county" in gdf else True,
        },
        geometry=gdf.geometry,
        crs=gdf.crs,
    )
    if len(out):
        per_month = out.groupby("month").size()
        report.notes.append(
            f"{len(out):,} points in {len(per_month)} months ({per_month.index.min():%Y-%m}..{per_month.index.max():%Y-%m}),"
            f" {per_month.min()}-{per_month.max()} a month"
        )
    return out, report


def _divisions(raw: pd.Series, rows: np.ndarray, report: LoadReport) -> pd.Series:
    """Short division names as the polygons' ``DNAME`` (``"Central"`` -> ``"Central Division"``).

    A name that matches no division is kept with a missing ``division`` and flagged.
    """
    short = raw.str.strip()
    full = short.where(short.str.endswith(" Division"), short + " Division")
    known = full.isin(list(DIVISIONS.values())).to_numpy()
    if (~known).any():
        report.add(
            "flagged",
            "division",
            f"division {quote_values(sorted(set(raw[~known])))} matches no CMPD division; kept with division missing",
            rows[~known],
        )
    return full.where(known)


def load_incident_timeline(
    path: str | Path | None = None, *, settings: Settings | None = None
) -> tuple[pd.DataFrame, LoadReport]:
    """Load the CMPD incident counts by division, month and category, 2017-2026.

    Parameters
    ----------
    path
        The CSV (``division, month, category, count``); the fetched ``incidents_timeline`` by default.
    settings
        Settings (data folder).

    Returns
    -------
    timeline : pandas.DataFrame
        ``division`` (the polygons' ``DNAME``, e.g. ``"Central Division"``; missing for a
        name that matches no division, reported), ``division_raw`` (as in the file),
        ``month`` (first day of the month), ``year``, ``category`` (one of
        :data:`INCIDENT_CATEGORIES`), ``count`` (int).
    report : LoadReport
        Rows set aside (no month, unknown category, a count that is not a whole number
        of zero or more) and flagged (unmatched division, a repeated division-month-category);
        the note :data:`TIMELINE_NOTE` and the total counted.

    Raises
    ------
    SchemaError
        If a column is missing.
    """
    p = data_path(path, "incidents_timeline", settings)
    df = read_table(p)
    require_columns(df, ["division", "month", "category", "count"], p, "the incident timeline")
    report = LoadReport("incident_timeline", str(p), rows_read=len(df), notes=[TIMELINE_NOTE])
    rows = np.arange(1, len(df) + 1)
    month = _months(df["month"])
    bad_month = month.isna().to_numpy()
    report.add("set_aside", "month", "month is not YYYY-MM", rows[bad_month])
    category, unknown = _categories(df["category"], rows, report)
    count = pd.to_numeric(df["count"].str.strip(), errors="coerce")
    bad_count = ~(count.notna() & (count >= 0) & (count == count.round())).to_numpy()
    report.add("set_aside", "count", "count is not a whole number of zero or more", rows[bad_count])
    division = _divisions(df["division"], rows, report)
    keep = ~(bad_month | unknown | bad_count)
    out = pd.DataFrame(
        {
            "row": rows[keep],
            "division": division[keep].to_numpy(),
            "division_raw": df.loc[keep, "division"].str.strip().to_numpy(),
            "month": month[keep].to_numpy(),
            "year": month[keep].dt.year.astype("int64").to_numpy(),
            "category": pd.Categorical(category[keep], categories=list(INCIDENT_CATEGORIES)),
            "count": count[keep].astype("int64").to_numpy(),
        }
    )
    dup = out.duplicated(["division_raw", "month", "category"], keep=False).to_numpy()
    report.add(
        "flagged", "division/month/category", "the same division, month and category more than once", out["row"][dup]
    )
    total = int(out["count"].sum())
    report.notes.append(
        f"{total:,} incidents counted"
        + ("" if total == TIMELINE_TOTAL or path is not None else f" (the mirror's file counts {TIMELINE_TOTAL:,})")
    )
    return out, report
