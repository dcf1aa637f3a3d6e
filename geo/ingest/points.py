"""Point records: officer-involved shootings (with their people tables) and the incident sample.

Coordinates are longitude/latitude in the files; points come out in the analysis CRS
(EPSG:2264), with points outside Mecklenburg County flagged, never dropped.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import DataFileError
from geo.ingest.boundaries import load_npa
from geo.ingest.files import data_path, read_table, require_columns, settings_or_default
from geo.ingest.report import LoadReport
from geo.ingest.sources import resolve
from geo.settings import Settings

__all__ = ["load_ois", "load_ois_tables", "load_incidents", "points_from_lonlat", "county_outline"]


def points_from_lonlat(
    df: pd.DataFrame,
    lon: str,
    lat: str,
    *,
    path: Path,
    report: LoadReport,
    settings: Settings,
    county: shapely.Geometry | None,
) -> gpd.GeoDataFrame:
    """Points from longitude/latitude columns, in the analysis CRS, every row accounted for in ``report``.

    Rows without usable coordinates, or outside longitude/latitude ranges, are set aside (with
    their 1-based row numbers); points outside ``county`` are kept with ``in_county=False`` and
    flagged. A ``row`` column keeps each point's row in the file.
    """
    rows = np.arange(1, len(df) + 1)
    x = pd.to_numeric(df[lon].str.strip() if df[lon].dtype == object else df[lon], errors="coerce")
    y = pd.to_numeric(df[lat].str.strip() if df[lat].dtype == object else df[lat], errors="coerce")
    missing = (x.isna() | y.isna()).to_numpy()
    report.add("set_aside", f"{lon}/{lat}", "no usable coordinates", rows[missing])
    implausible = (~missing) & ~((x.between(-180, 180)) & (y.between(-90, 90))).to_numpy()
    report.add("set_aside", f"{lon}/{lat}", "coordinates outside longitude/latitude ranges", rows[implausible])
    keep = ~(missing | implausible)
    out = df.loc[keep].copy()
    out.insert(0, "row", rows[keep])
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(x[keep], y[keep]), crs="EPSG:4326").to_crs(
        settings.analysis_crs
    )
    if county is not None:
        inside = gdf.geometry.intersects(county).to_numpy()
        gdf["in_county"] = inside
        report.add(
            "flagged",
            "geometry",
            "point outside Mecklenburg County (kept; in_county=False)",
            gdf["row"].to_numpy()[~inside],
        )
    return gdf.reset_index(drop=True)


def county_outline(settings: Settings) -> shapely.Geometry | None:
    """Mecklenburg County as the union of the NPAs (buffered 1 ft), or ``None`` without the NPA file."""
    try:
        npa, _ = load_npa(settings=settings)
    except DataFileError:
        return None
    return shapely.union_all(npa.geometry.values).buffer(1.0)


def load_ois(
    *, settings: Settings | None = None, path: str | Path | None = None
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load officer-involved shooting incidents as points.

    Returns
    -------
    ois : geopandas.GeoDataFrame
        One row per incident in EPSG:2264: ``incident_id``, ``year``, ``month``
        (``YYYY-MM``), ``location``, ``da_legal_review``, ``narrative``, ``in_county``,
        plus ``individuals`` and ``officers`` counts from the companion tables.
    report : LoadReport
    """
    s = settings_or_default(settings)
    path = data_path(path, "ois_incidents", settings)
    df = read_table(path)
    require_columns(df, ["INCIDENT_ID", "YEAR_MONTH", "Latitude", "Longitude"], path, "the shootings table")
    report = LoadReport("ois", str(path), rows_read=len(df))
    gdf = points_from_lonlat(
        df, "Longitude", "Latitude", path=path, report=report, settings=s, county=county_outline(s)
    )
    out = gpd.GeoDataFrame(
        {
            "row": gdf["row"],
            "incident_id": gdf["INCIDENT_ID"].str.strip(),
            "month": gdf["YEAR_MONTH"].str.strip(),
            "year": pd.to_numeric(gdf["YEAR_MONTH"].str[:4], errors="coerce").astype("Int64"),
            "location": gdf.get("LOCATION", pd.Series("", index=gdf.index)).str.strip(),
            "da_legal_review": gdf.get("DA_LEGAL_REVIEW", pd.Series("", index=gdf.index)).str.strip(),
            "narrative": gdf.get("NARRATIVE", pd.Series("", index=gdf.index)).str.strip(),
            "in_county": gdf.get("in_county", True),
        },
        geometry=gdf.geometry,
        crs=gdf.crs,
    )
    try:
        tables, _ = load_ois_tables(settings=s)
        for name, t in tables.items():
            counts = t.groupby("incident_id").size()
            out[name] = out["incident_id"].map(counts).fillna(0).astype(int)
    except DataFileError as exc:
        report.notes.append(f"companion tables not loaded: {exc}")
    return out, report


def load_ois_tables(*, settings: Settings | None = None) -> tuple[dict[str, pd.DataFrame], LoadReport]:
    """Load the shootings' individuals and officers tables (joined on ``incident_id``).

    Returns
    -------
    tables : dict
        ``{"individuals": DataFrame, "officers": DataFrame}`` with lower-case columns.
    report : LoadReport
    """
    s = settings_or_default(settings)
    out = {}
    report = LoadReport("ois_tables", str(s.data_dir / "points"))
    for key, name in (("ois_individuals", "individuals"), ("ois_officers", "officers")):
        path = resolve(key, s.data_dir)
        df = read_table(path)
        require_columns(df, ["INCIDENT_ID"], path, f"the shootings {name} table")
        report.rows_read += len(df)
        df = df.apply(lambda c: c.str.strip())
        df.columns = [c.lower() for c in df.columns]
        out[name] = df
    return out, report


def load_incidents(
    *, settings: Settings | None = None, path: str | Path | None = None
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load CMPD incident reports as points: the layer's first 5,000 records, or the whole layer.

    Parameters
    ----------
    settings
        Settings (data folder, analysis CRS).
    path
        A file in the layer's format (:data:`geo.ingest.sources.INCIDENT_COLUMNS`), e.g. the
        whole layer ``incidents_full`` (Parquet); the first-page ``incidents_sample`` by default.

    Returns
    -------
    incidents : geopandas.GeoDataFrame
        EPSG:2264 points with ``incident_id``, ``year``, ``date_reported``, ``nibrs_code``,
        ``nibrs_description``, ``non_criminal`` (800-series codes), ``clearance_status``,
        ``place_type``, ``division_reported`` (the source's division, as ``DNAME``),
        ``npa_reported`` (the source's NPA, an older vintage: re-derive spatially),
        ``in_county``. ``year`` is the file's ``YEAR``, else the year reported.
    report : LoadReport
    """
    s = settings_or_default(settings)
    path = data_path(path, "incidents_sample", settings)
    df = read_table(path)
    require_columns(df, ["LATITUDE_PUBLIC", "LONGITUDE_PUBLIC", "HIGHEST_NIBRS_CODE"], path, "the incidents table")
    report = LoadReport("incidents", str(path), rows_read=len(df))
    gdf = points_from_lonlat(
        df, "LONGITUDE_PUBLIC", "LATITUDE_PUBLIC", path=path, report=report, settings=s, county=county_outline(s)
    )

    def col(name: str) -> pd.Series:
        return gdf[name].str.strip() if name in gdf else pd.Series("", index=gdf.index)

    div = col("CMPD_PATROL_DIVISION")
    code = col("HIGHEST_NIBRS_CODE")
    reported = pd.to_datetime(pd.to_numeric(col("DATE_REPORTED"), errors="coerce"), unit="ms")
    year = pd.to_numeric(col("YEAR"), errors="coerce").astype("Int64")
    year = year.fillna(reported.dt.year.astype("Int64"))
    out = gpd.GeoDataFrame(
        {
            "row": gdf["row"],
            "incident_id": col("INCIDENT_REPORT_ID"),
            "year": year,
            "date_reported": reported,
            "nibrs_code": code,
            "nibrs_description": col("HIGHEST_NIBRS_DESCRIPTION"),
            "non_criminal": code.str.startswith("8"),
            "clearance_status": col("CLEARANCE_STATUS"),
            "place_type": col("PLACE_TYPE_DESCRIPTION"),
            "division_reported": np.where(div != "", div + " Division", ""),
            "npa_reported": pd.to_numeric(col("NPA"), errors="coerce").astype("Int64"),
            "in_county": gdf.get("in_county", True),
        },
        geometry=gdf.geometry,
        crs=gdf.crs,
    )
    return out, report
