"""Cached frames of the incident files, the Quality of Life metrics and the other CMPD tables.

Each ``*_with_report`` builder returns a clean frame and its row report, cached as
(Geo)Parquet keyed by the files of its :data:`geo.layers.build.INPUTS` entry; the plain
functions return the frame alone. :func:`incident_points_with_report` adds the ``npa``
and ``division`` each point falls in (a spatial join in EPSG:2264, as
:func:`geo.layers.build.points_with_units` does for the 5,000-record sample).
:func:`cube_points_with_report` gives the space-time cube its points: the whole incident
layer when it has been fetched (with the sample's categories derived from the NIBRS code),
else the 1-in-61 sample.
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
from geo.vocab import INCIDENT_CATEGORIES, NIBRS_CATEGORIES, UNFOUNDED

__all__ = [
    "RECORD_BUILDERS",
    "incident_points_with_report",
    "incident_points",
    "CUBE_COLUMNS",
    "nibrs_category",
    "cube_points_with_report",
    "cube_points",
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


#: The columns of :func:`cube_points`, whichever source it reads.
CUBE_COLUMNS = ("row", "incident_id", "month", "year", "category", "in_county", "geometry")


def nibrs_category(codes: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The incident category of each ``HIGHEST_NIBRS_CODE`` (:data:`geo.vocab.NIBRS_CATEGORIES`).

    Returns
    -------
    category : pandas.Series
        Categorical over :data:`geo.vocab.INCIDENT_CATEGORIES`; a code not in the table is ``other``.
    unmapped : pandas.Series
        True where the code was not in the table (counted as ``other``).
    """
    clean = codes.astype("string").str.strip().str.upper()
    mapped = clean.map(NIBRS_CATEGORIES)
    unmapped = mapped.isna()
    category = pd.Categorical(mapped.fillna("other"), categories=list(INCIDENT_CATEGORIES))
    return pd.Series(category, index=codes.index, name="category"), unmapped.astype(bool)


def _whole_layer_points(s: Settings) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """The whole incident layer as cube points: 800-series and unfounded reports left out, categories derived."""
    pts, loaded = build.incidents_with_report(s)
    report = LoadReport("cube_points", loaded.source, rows_read=len(pts))
    rows = pts["row"].to_numpy()
    non_criminal = pts["non_criminal"].to_numpy(dtype=bool)
    unfounded = (pts["clearance_status"].astype(str).str.strip() == UNFOUNDED).to_numpy() & ~non_criminal
    report.add("set_aside", "HIGHEST_NIBRS_CODE", "non-criminal 800-series report (as the sample)", rows[non_criminal])
    report.add("set_aside", "CLEARANCE_STATUS", f"{UNFOUNDED} report (as the sample)", rows[unfounded])
    keep = ~(non_criminal | unfounded)
    kept = pts[keep]
    category, unmapped = nibrs_category(kept["nibrs_code"])
    if unmapped.any():
        odd = kept.loc[unmapped.to_numpy(), "nibrs_code"].astype(str).value_counts()
        listed = ", ".join(f"{code!r} ({n:,})" for code, n in odd.items())
        report.add("kept", "HIGHEST_NIBRS_CODE", f"code not in the category table, counted as other: {listed}",
                   kept["row"].to_numpy()[unmapped.to_numpy()])  # fmt: skip
    out = gpd.GeoDataFrame(
        {
            "row": kept["row"].to_numpy(),
            "incident_id": kept["incident_id"].to_numpy(),
            "month": kept["month"].to_numpy(),
            "year": kept["year"].to_numpy(),
            "category": category.to_numpy(),
            "in_county": kept["in_county"].to_numpy(dtype=bool),
        },
        geometry=kept.geometry.to_numpy(),
        crs=pts.crs,
    )
    out["category"] = pd.Categorical(out["category"], categories=list(INCIDENT_CATEGORIES))
    counts = out["category"].value_counts().reindex(list(INCIDENT_CATEGORIES), fill_value=0)
    report.notes += [
        "month: the month the report was made (DATE_REPORTED); the sample used the month the incident began",
        "category from HIGHEST_NIBRS_CODE (geo.vocab.NIBRS_CATEGORY_CODES): "
        + ", ".join(f"{c} {int(n):,}" for c, n in counts.items())
        + f"; {int(unmapped.sum()):,} with a code not in the table counted as other",
    ]
    return out, report


def cube_points_with_report(settings: Settings | None = None) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Incident points for the space-time cube, and what was done to them.

    The whole incident layer (``incidents_full``) when it has been fetched: its non-criminal
    800-series and "Unfounded" reports are left out (as the sample's makers did), ``month``
    is the month reported, and ``category`` is derived from ``HIGHEST_NIBRS_CODE`` by
    :func:`nibrs_category` (codes not in the table count as ``other``, reported). Otherwise
    the 2017-2026 even 1-in-61 sample (:func:`incident_points`), whose file has the category.

    Returns
    -------
    points : geopandas.GeoDataFrame
        EPSG:2264 points with :data:`CUBE_COLUMNS`; ``attrs`` holds ``source`` (the data
        set), ``source_label`` and ``caveat`` (empty for the whole layer), as
        :func:`geo.layers.build.incidents` does.
    report : LoadReport
        Rows left out, codes counted as ``other``, and notes on the month and the categories.
    """
    s = build._s(settings)
    sources = {src.key: src for src in build.INCIDENT_SOURCES}
    if build.incident_source(s).key == "incidents_full":
        src = sources["incidents_full"]
        pts, report = _whole_layer_points(s)
    else:
        src = sources["incidents_points"]
        sample, loaded = incident_points_with_report(s)
        pts = sample[[c for c in CUBE_COLUMNS if c in sample.columns]].copy()
        if "incident_id" not in pts:
            pts.insert(1, "incident_id", "sample-" + pts["row"].astype(str))
        report = LoadReport("cube_points", loaded.source, rows_read=len(pts))
    report.notes.insert(0, f"cube points from {src.key}: {src.label}; {len(pts):,} points")
    pts.attrs.update(source=src.key, source_label=src.label, caveat=src.caveat or "")
    return pts, report


def cube_points(settings: Settings | None = None) -> gpd.GeoDataFrame:
    """Incident points for the space-time cube (see :func:`cube_points_with_report`)."""
    return cube_points_with_report(settings)[0]


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
