"""Cached frames of the incident files, the Quality of Life metrics and the other CMPD tables.

Each ``*_with_report`` builder returns a clean frame and its row report, cached as
(Geo)Parquet keyed by the files of its :data:`geo.layers.build.INPUTS` entry; the plain
functions return the frame alone. :func:`incident_points_with_report` adds the ``npa``
and ``division`` each point falls in (a spatial join in EPSG:2264, as
:func:`geo.layers.build.points_with_units` does for the 5,000-record sample).
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import pandas as pd

from geo.ingest.cache import cached
from geo.ingest.incidents import load_incident_points, load_incident_timeline
from geo.ingest.qol import load_qol_catalogue, load_qol_metrics
from geo.ingest.records import load_clearance, load_diversion, load_employees
from geo.ingest.report import LoadReport
from geo.layers import build
from geo.layers.join import assign_points
from geo.settings import Settings

__all__ = [
    "RECORD_BUILDERS",
    "incident_points_with_report",
    "incident_points",
    "incident_timeline_with_report",
    "incident_timeline",
    "qol_catalogue_with_report",
    "qol_catalogue",
    "qol_metrics_with_report",
    "qol_metrics",
    "clearance_with_report",
    "clearance",
    "diversion_with_report",
    "diversion",
    "employees_with_report",
    "employees",
]


def incident_points_with_report(settings: Settings | None = None) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """The 2017-2026 incident point sample with ``npa`` and ``division``, and its report (cached).

    Points outside every NPA or division keep a missing id; the spatial joins' findings
    (outside, on a shared boundary) are added to the loader's report as flags.
    """
    s = build._s(settings)

    def make() -> tuple[gpd.GeoDataFrame, LoadReport]:
        pts, report = load_incident_points(settings=s)
        for polygons, column in ((build.npa(s), "npa"), (build.divisions(s), "division")):
            pts, joined = assign_points(pts, polygons, id_column=column)
            for issue in joined.issues:
                report.add(issue.action, column, issue.reason, issue.rows)
        return pts, report

    return cached(
        "incident_points",
        make,
        inputs=build.input_files(s, "incident_points"),
        cache_dir=s.cache_dir,
        extra=s.analysis_crs,
    )


def incident_points(settings: Settings | None = None) -> gpd.GeoDataFrame:
    """The incident point sample with ``npa`` and ``division`` (see :data:`geo.ingest.incidents.SAMPLE_NOTE`)."""
    return incident_points_with_report(settings)[0]


def incident_timeline_with_report(settings: Settings | None = None) -> tuple[pd.DataFrame, LoadReport]:
    """Incidents by division, month and category 2017-2026, and the report (cached)."""
    s = build._s(settings)
    return cached(
        "incident_timeline",
        lambda: load_incident_timeline(settings=s),
        inputs=build.input_files(s, "incident_timeline"),
        cache_dir=s.cache_dir,
    )


def incident_timeline(settings: Settings | None = None) -> pd.DataFrame:
    """Incidents by division, month and category (see :func:`geo.ingest.incidents.load_incident_timeline`)."""
    return incident_timeline_with_report(settings)[0]


def qol_catalogue_with_report(settings: Settings | None = None) -> tuple[pd.DataFrame, LoadReport]:
    """The Quality of Life metric catalogue and its report (cached)."""
    s = build._s(settings)
    return cached(
        "qol_catalogue",
        lambda: load_qol_catalogue(settings=s),
        inputs=build.input_files(s, "qol_catalogue"),
        cache_dir=s.cache_dir,
    )


def qol_catalogue(settings: Settings | None = None) -> pd.DataFrame:
    """The Quality of Life metric catalogue (see :func:`geo.ingest.qol.load_qol_catalogue`)."""
    return qol_catalogue_with_report(settings)[0]


def qol_metrics_with_report(settings: Settings | None = None) -> tuple[pd.DataFrame, LoadReport]:
    """Every Quality of Life metric, NPA and year, and the report (cached); ids outside the geography set aside."""
    s = build._s(settings)

    def make() -> tuple[pd.DataFrame, LoadReport]:
        return load_qol_metrics(settings=s, npa_ids=build.npa(s)["npa"].tolist())

    return cached("qol_metrics", make, inputs=build.input_files(s, "qol_metrics"), cache_dir=s.cache_dir)


def qol_metrics(settings: Settings | None = None) -> pd.DataFrame:
    """Every Quality of Life metric as a tidy table (see :func:`geo.ingest.qol.load_qol_metrics`)."""
    return qol_metrics_with_report(settings)[0]


def clearance_with_report(settings: Settings | None = None) -> tuple[pd.DataFrame, LoadReport]:
    """Simple-assault and intimidation reports with clearance status, and the report (cached)."""
    s = build._s(settings)
    return cached(
        "clearance",
        lambda: load_clearance(settings=s),
        inputs=build.input_files(s, "clearance"),
        cache_dir=s.cache_dir,
    )


def clearance(settings: Settings | None = None) -> pd.DataFrame:
    """Assault and intimidation clearance (see :func:`geo.ingest.records.load_clearance`)."""
    return clearance_with_report(settings)[0]


def diversion_with_report(settings: Settings | None = None) -> tuple[pd.DataFrame, LoadReport]:
    """Juvenile diversion referrals 2013-2016 and the report (cached)."""
    s = build._s(settings)
    return cached(
        "diversion",
        lambda: load_diversion(settings=s),
        inputs=build.input_files(s, "diversion"),
        cache_dir=s.cache_dir,
    )


def diversion(settings: Settings | None = None) -> pd.DataFrame:
    """Juvenile diversion referrals (see :func:`geo.ingest.records.load_diversion`)."""
    return diversion_with_report(settings)[0]


def employees_with_report(settings: Settings | None = None) -> tuple[pd.DataFrame, LoadReport]:
    """CMPD employee demographics (2017) and the report (cached)."""
    s = build._s(settings)
    return cached(
        "employees",
        lambda: load_employees(settings=s),
        inputs=build.input_files(s, "employees"),
        cache_dir=s.cache_dir,
    )


def employees(settings: Settings | None = None) -> pd.DataFrame:
    """CMPD employee demographics (see :func:`geo.ingest.records.load_employees`)."""
    return employees_with_report(settings)[0]


#: The builders of this module, in the order :func:`geo.layers.build.reports` lists them.
RECORD_BUILDERS: tuple[Callable[[Settings | None], tuple[pd.DataFrame, LoadReport]], ...] = (
    incident_points_with_report,
    incident_timeline_with_report,
    qol_catalogue_with_report,
    qol_metrics_with_report,
    clearance_with_report,
    diversion_with_report,
    employees_with_report,
)
