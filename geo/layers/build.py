"""Analysis layers, built from the cached clean frames.

This is the module the app, the command line and the statistics call: each function
returns a new frame (callers may change it freely) in the analysis CRS (EPSG:2264).

- :func:`stops`, :func:`divisions`, :func:`npa`, :func:`npa_metrics`, :func:`ois`,
  :func:`incidents`: the clean frames of :mod:`geo.ingest.stops`, cached as (Geo)Parquet.
  The incident points are the best source there is (:data:`INCIDENT_SOURCES`): the whole
  portal layer when fetched, else the 2017-2026 point sample, else the layer's first page;
  :func:`incident_source` says which, and the frames carry it in ``attrs``.
- :func:`npa_layer`: one row per NPA with population, crime counts and rates by year,
  incident and shooting counts, and the division it mostly lies in.
- :func:`division_layer`: one row per division with stop outcomes by driver group,
  population by race (NPA overlay), stops per 1,000 residents, shooting counts.
- :func:`reports`: every loader's row report, those of :mod:`geo.layers.records` (the
  incident point sample and timeline, every Quality of Life metric, clearance, diversion,
  employees) included.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.caveats import POINT_SAMPLE, REFERENCE_LAYERS_2013, SAMPLE_NOTE
from geo.errors import DataFileError
from geo.ingest.boundaries import DIVISION_VINTAGES, load_divisions, load_npa
from geo.ingest.cache import cached
from geo.ingest.incidents import load_incident_points
from geo.ingest.npa_metrics import RACE_MEASURES, load_npa_metrics
from geo.ingest.points import load_incidents, load_ois
from geo.ingest.reference import load_npa_groups
from geo.ingest.report import LoadReport
from geo.ingest.sources import CORE_NPA_METRICS, DATASETS, QOL_META_FILES, QOL_METRIC_FILES, read_manifest, resolve
from geo.ingest.stops import load_stops
from geo.layers.join import area_weighted_sum, assign_points, majority_overlap
from geo.layers.npa_table import npa_wide
from geo.layers.stop_tables import division_stop_summary, stops_per_1000
from geo.settings import Settings, get_settings

__all__ = [
    "POPULATION_COLUMNS",
    "stops_with_report",
    "stops",
    "divisions_with_report",
    "divisions",
    "npa_with_report",
    "npa",
    "npa_metrics_with_report",
    "npa_metrics",
    "ois_with_report",
    "ois",
    "INCIDENT_SOURCES",
    "IncidentSource",
    "incident_source",
    "incidents_with_report",
    "incidents",
    "points_with_units",
    "npa_layer",
    "division_population",
    "division_base",
    "division_layer",
    "reports",
]


#: 2020 population columns carried from NPAs into divisions.
POPULATION_COLUMNS = ("pop_2020", "white_nh_2020", "black_nh_2020", "asian_nh_2020", "other_nh_2020", "hispanic_2020")


F = TypeVar("F", pd.DataFrame, gpd.GeoDataFrame)

_NPA_METRICS = tuple(f"npa_metric_{m}" for m in CORE_NPA_METRICS)
_INCIDENT_FILES = ("incidents_full", "incidents_points", "incidents_sample")
_QOL_METRICS = tuple(f"npa_metric_{m}" for m in QOL_METRIC_FILES)

#: The data sets (keys of :data:`geo.ingest.sources.DATASETS`) each cached frame or layer is
#: built from: its cache entry is rebuilt when one of these files changes.
INPUTS: dict[str, tuple[str, ...]] = {
    "stops": ("stops",),
    "divisions": tuple(DIVISION_VINTAGES),
    "npa": ("npa_geography",),
    "npa_metrics": ("npa_geography", *_NPA_METRICS),
    "ois": ("ois_incidents", "ois_individuals", "ois_officers", "npa_geography"),
    "incidents": (*_INCIDENT_FILES, "npa_geography"),
    "npa_layer": ("npa_geography", *_NPA_METRICS, "ois_incidents", *_INCIDENT_FILES, *DIVISION_VINTAGES),
    "division_base": ("npa_geography", *_NPA_METRICS, "ois_incidents", *_INCIDENT_FILES, *DIVISION_VINTAGES),
    # the frames of geo.layers.records
    "incident_points": ("incidents_points", "npa_geography", *DIVISION_VINTAGES),
    "incident_timeline": ("incidents_timeline",),
    "qol_catalogue": ("qol_config", *_QOL_METRICS, *(f"npa_meta_{m}" for m in QOL_META_FILES)),
    "qol_metrics": ("qol_config", "npa_geography", *_QOL_METRICS),
    "clearance": ("clearance",),
    "diversion": ("diversion",),
    "employees": ("employees",),
}


def _s(settings: Settings | None) -> Settings:
    return settings if settings is not None else get_settings()


def input_files(s: Settings, name: str, *, optional: bool = False) -> list[Path]:
    """The files behind the cached entry ``name`` of :data:`INPUTS` (a shapefile with its .dbf and .prj).

    A data set that is not there is skipped when it is optional (or when ``optional``);
    a missing required one raises :class:`~geo.errors.DataFileError` with the fetch hint.
    """
    out = []
    manifest = read_manifest(s.data_dir)
    for k in INPUTS[name]:
        try:
            p = resolve(k, s.data_dir, manifest=manifest)
        except DataFileError:
            if DATASETS[k].required and not optional:
                raise
            continue
        out += [p] + [
            p.with_suffix(ext) for ext in (".dbf", ".prj") if p.suffix == ".shp" and p.with_suffix(ext).exists()
        ]
    return out


def stops_with_report(settings: Settings | None = None) -> tuple[pd.DataFrame, LoadReport]:
    """The clean stops frame and its report (cached)."""
    s = _s(settings)
    return cached("stops", lambda: load_stops(settings=s), inputs=input_files(s, "stops"), cache_dir=s.cache_dir)


def stops(settings: Settings | None = None) -> pd.DataFrame:
    """The clean stops frame (see :func:`geo.ingest.stops.load_stops`)."""
    return stops_with_report(settings)[0]


def divisions_with_report(
    settings: Settings | None = None, *, vintage: Literal["auto", 2019, 2025] = "auto"
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Division polygons and their report (cached)."""
    s = _s(settings)
    return cached(
        f"divisions_{vintage}",
        lambda: load_divisions(vintage=vintage, settings=s),
        inputs=input_files(s, "divisions", optional=True),
        cache_dir=s.cache_dir,
        extra=s.analysis_crs,
    )


def divisions(settings: Settings | None = None, *, vintage: Literal["auto", 2019, 2025] = "auto") -> gpd.GeoDataFrame:
    """Division polygons (see :func:`geo.ingest.boundaries.load_divisions`)."""
    return divisions_with_report(settings, vintage=vintage)[0]


def npa_with_report(settings: Settings | None = None) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """NPA polygons and their report (cached)."""
    s = _s(settings)
    return cached(
        "npa", lambda: load_npa(settings=s), inputs=input_files(s, "npa"), cache_dir=s.cache_dir, extra=s.analysis_crs
    )


def npa(settings: Settings | None = None) -> gpd.GeoDataFrame:
    """NPA polygons (see :func:`geo.ingest.boundaries.load_npa`)."""
    return npa_with_report(settings)[0]


def npa_metrics_with_report(settings: Settings | None = None) -> tuple[pd.DataFrame, LoadReport]:
    """The tidy NPA metric table and its report (cached)."""
    s = _s(settings)

    def build() -> tuple[pd.DataFrame, LoadReport]:
        return load_npa_metrics(npa_ids=npa(s)["npa"].tolist(), settings=s)

    return cached("npa_metrics", build, inputs=input_files(s, "npa_metrics"), cache_dir=s.cache_dir)


def npa_metrics(settings: Settings | None = None) -> pd.DataFrame:
    """The tidy NPA metric table (see :func:`geo.ingest.npa_metrics.load_npa_metrics`)."""
    return npa_metrics_with_report(settings)[0]


def ois_with_report(settings: Settings | None = None) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Officer-involved shootings (points) and their report (cached)."""
    s = _s(settings)
    return cached(
        "ois",
        lambda: load_ois(settings=s),
        inputs=input_files(s, "ois"),
        cache_dir=s.cache_dir,
        extra=s.analysis_crs,
    )


def ois(settings: Settings | None = None) -> gpd.GeoDataFrame:
    """Officer-involved shootings as points (see :func:`geo.ingest.points.load_ois`)."""
    return ois_with_report(settings)[0]


@dataclass(frozen=True)
class IncidentSource:
    """Where the incident points come from.

    Attributes
    ----------
    key
        The data set (:data:`geo.ingest.sources.DATASETS`): ``incidents_full``, ``incidents_points``
        or ``incidents_sample``.
    label
        Plain words for the layer's pickers, captions and exports.
    caveat
        What the points can and cannot say (:data:`geo.caveats.SAMPLE_NOTE` for the 1-in-61
        sample, :data:`geo.caveats.POINT_SAMPLE` for the first page); ``None`` for the whole layer.
    """

    key: str
    label: str
    caveat: str | None


#: The incident sources, best first: the layer uses the first one present.
INCIDENT_SOURCES: tuple[IncidentSource, ...] = (
    IncidentSource("incidents_full", "CMPD incident reports (the whole portal layer)", None),
    IncidentSource("incidents_points", "CMPD incident points 2017-2026 (an even 1-in-61 sample)", SAMPLE_NOTE),
    IncidentSource("incidents_sample", "CMPD incident reports (the layer's first 5,000 records only)", POINT_SAMPLE),
)


def incident_source(settings: Settings | None = None) -> IncidentSource:
    """The incident source the ``incidents`` layer is built from: the first of :data:`INCIDENT_SOURCES` present.

    Raises
    ------
    DataFileError
        None of them is in the data folder; the message names them and the command that gets them.
    """
    s = _s(settings)
    manifest = read_manifest(s.data_dir)
    for src in INCIDENT_SOURCES:
        try:
            resolve(src.key, s.data_dir, manifest=manifest)
        except DataFileError:
            continue
        return src
    raise DataFileError(
        f"No incident points in {s.data_dir}: looked for "
        + ", ".join(f"{src.key} ({DATASETS[src.key].path})" for src in INCIDENT_SOURCES)
        + ". Get the whole layer with `python -m geo fetch --layers incidents`, or the samples with "
        "`python -m geo fetch --mirror ../shared/data`."
    )


def _label_incidents(frame: F, src: IncidentSource) -> F:
    """``frame`` with the source's key, label and caveat in ``attrs`` (what pages, exports and the CLI show)."""
    frame.attrs.update(source=src.key, source_label=src.label, caveat=src.caveat or "")
    return frame


def _load_incidents(s: Settings, src: IncidentSource) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load the source's points with one set of columns: ``row``, ``incident_id``, ``month``, ``year``, ...

    The record layers (the whole layer, its first page) keep their report columns
    (:func:`geo.ingest.points.load_incidents`) and gain ``month``; the 1-in-61 sample
    (:func:`geo.ingest.incidents.load_incident_points`) has no report ids, so ``incident_id``
    names its row (``sample-<row>``).
    """
    path = resolve(src.key, s.data_dir)
    if src.key == "incidents_points":
        pts, report = load_incident_points(path, settings=s)
        pts.insert(1, "incident_id", "sample-" + pts["row"].astype(str))
    else:
        pts, report = load_incidents(settings=s, path=path)
        pts.insert(3, "month", pts["date_reported"].dt.to_period("M").dt.to_timestamp())
    report.name = "incidents"
    report.notes.insert(0, f"incident points from {src.key}: {src.label}")
    return pts, report


def incidents_with_report(settings: Settings | None = None) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """The incident points (see :func:`incident_source`) and their report (cached).

    The frame's ``attrs`` hold ``source`` (the data set), ``source_label`` and ``caveat``
    (empty for the whole layer).
    """
    s = _s(settings)
    src = incident_source(s)
    pts, report = cached(
        "incidents",
        lambda: _load_incidents(s, src),
        inputs=input_files(s, "incidents"),
        cache_dir=s.cache_dir,
        extra=f"{s.analysis_crs}|{src.key}",
    )
    return _label_incidents(pts, src), report


def incidents(settings: Settings | None = None) -> gpd.GeoDataFrame:
    """The incident points (see :func:`incidents_with_report`)."""
    return incidents_with_report(settings)[0]


def _point_layer(s: Settings, name: str) -> gpd.GeoDataFrame | None:
    try:
        return ois(s) if name == "ois" else incidents(s)
    except DataFileError:
        return None


def points_with_units(
    settings: Settings | None = None, *, layer: Literal["ois", "incidents"] = "incidents"
) -> gpd.GeoDataFrame:
    """Points with the ``npa`` and ``division`` they fall in (spatial join in EPSG:2264)."""
    s = _s(settings)
    pts = ois(s) if layer == "ois" else incidents(s)
    attrs = dict(pts.attrs)
    pts, _ = assign_points(pts, npa(s), id_column="npa")
    pts, _ = assign_points(pts, divisions(s), id_column="division")
    pts.attrs.update(attrs)
    return pts


def npa_layer(settings: Settings | None = None) -> gpd.GeoDataFrame:
    """One row per NPA: geometry, metrics by year, counts of points, division.

    Returns
    -------
    geopandas.GeoDataFrame
        ``npa``, ``division`` (the division covering most of its area; missing for
        NPAs that lie mostly or wholly outside every division, i.e. in the county's
        towns with their own police: the area outside counts as a candidate, see
        :func:`geo.layers.join.majority_overlap`), the columns of
        :func:`geo.layers.npa_table.npa_wide`, ``incidents`` (incident-sample points in it,
        all years), ``shootings`` (officer-involved shootings 2005-2018) and
        ``shootings_per_100k`` (per 100,000 residents in 2020), ``area_sqmi``.
    """
    s = _s(settings)

    def build() -> tuple[gpd.GeoDataFrame, LoadReport]:
        base = npa(s)
        wide = npa_wide(npa_metrics(s))
        out = base.merge(wide, left_on="npa", right_index=True, how="left")
        out.insert(1, "division", majority_overlap(out, divisions(s), target_id="division"))
        for name, col in (("incidents", "incidents"), ("ois", "shootings")):
            pts = _point_layer(s, name)
            if pts is None:
                continue
            assigned, _ = assign_points(pts, base, id_column="npa")
            counts = assigned["npa"].value_counts()
            out[col] = out["npa"].map(counts).fillna(0).astype(int)
        if "shootings" in out:
            out["shootings_per_100k"] = np.where(out["pop_2020"] > 0, out["shootings"] / out["pop_2020"] * 1e5, np.nan)
        out["area_sqmi"] = out.geometry.area / 5280.0**2
        return gpd.GeoDataFrame(out, geometry="geometry", crs=base.crs), LoadReport("npa_layer", "derived")

    return cached("npa_layer", build, inputs=input_files(s, "npa_layer"), cache_dir=s.cache_dir, extra=s.analysis_crs)[
        0
    ]


def division_population(settings: Settings | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """2020 population by race apportioned from NPAs to divisions by area.

    A blank NPA count is never read as zero: race counts the loader derived from the
    population and the other groups (:func:`geo.ingest.npa_metrics.load_npa_metrics`)
    are used as derived, and a count still missing makes the sum of every division the
    NPA overlaps missing (:func:`geo.layers.join.area_weighted_sum`).

    Returns
    -------
    population : pandas.DataFrame
        Indexed by ``division`` (all 14), columns :data:`POPULATION_COLUMNS`;
        ``attrs["notes"]`` names the derived and the missing NPA counts.
    outside : pandas.Series
        Population that falls outside every division (the county's towns, which
        have their own police departments).
    """
    s = _s(settings)
    layer = npa_layer(s)
    cols = [c for c in POPULATION_COLUMNS if c in layer.columns]
    sums, outside = area_weighted_sum(layer, divisions(s), columns=cols, target_id="division")
    sums.attrs["notes"] = _population_notes(layer, sums, npa_metrics(s))
    return sums, outside


def _population_notes(layer: pd.DataFrame, sums: pd.DataFrame, metrics: pd.DataFrame) -> list[str]:
    """Which 2020 NPA counts behind ``sums`` were derived, and which are missing (and where that shows)."""
    notes = []
    if "derived" in metrics:
        d = metrics[metrics["derived"] & (metrics["year"] == 2020) & metrics["measure"].astype(str).isin(RACE_MEASURES)]
        d = d[d["value"] > 0]  # a derived 0 (NPAs with no residents) changes no sum
        for _, r in d.sort_values(["npa", "source"]).iterrows():
            notes.append(
                f"{r['measure']}_2020 of NPA {int(r['npa'])} is blank in {r['source']}.csv; derived as the population "
                f"minus the other groups: {r['value']:,.0f}"
            )
    for col in sums.columns:
        blank = layer.loc[layer[col].isna(), "npa"].astype(int).tolist() if col in layer else []
        if blank:
            where = [str(dv) for dv in sums.index[sums[col].isna()]]
            notes.append(
                f"{col} is blank for NPA {', '.join(map(str, blank))}: missing (not zero) for "
                + (", ".join(where) if where else "no division (outside them all)")
            )
    return notes


def division_base(settings: Settings | None = None) -> gpd.GeoDataFrame:
    """Divisions with everything that does not depend on which stops are counted.

    Returns
    -------
    geopandas.GeoDataFrame
        All 14 divisions: ``division``, ``code``, ``short_name``, ``area_sqmi``,
        :data:`POPULATION_COLUMNS` (areal-weighted from NPAs), ``shootings``,
        ``shootings_per_100k`` and ``incidents`` (points in the division).
    """
    s = _s(settings)

    def build() -> tuple[gpd.GeoDataFrame, LoadReport]:
        divs = divisions(s)
        pop, outside = division_population(s)
        out = divs.merge(pop.round(1), left_on="division", right_index=True, how="left")
        for name, col in (("incidents", "incidents"), ("ois", "shootings")):
            pts = _point_layer(s, name)
            if pts is None:
                continue
            assigned, _ = assign_points(pts, divs, id_column="division")
            out[col] = out["division"].map(assigned["division"].value_counts()).fillna(0).astype(int)
        if "shootings" in out:
            out["shootings_per_100k"] = np.where(out["pop_2020"] > 0, out["shootings"] / out["pop_2020"] * 1e5, np.nan)
        report = LoadReport("division_base", "derived", notes=list(pop.attrs.get("notes", [])))
        report.notes.append(f"2020 population outside every division (the county's towns): {outside['pop_2020']:,.0f}")
        return gpd.GeoDataFrame(out, geometry="geometry", crs=divs.crs), report

    return cached(
        "division_base", build, inputs=input_files(s, "division_base"), cache_dir=s.cache_dir, extra=s.analysis_crs
    )[0]


def division_layer(settings: Settings | None = None, *, stops_frame: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """One row per division with stops, population and per-capita figures.

    Parameters
    ----------
    settings
        Settings.
    stops_frame
        The stops to count (e.g. filtered by period or reason); all stops by default.

    Returns
    -------
    geopandas.GeoDataFrame
        All 14 divisions (Airport with zero stops): the columns of
        :func:`division_base`; the columns of
        :func:`geo.layers.stop_tables.division_stop_summary`; ``stops_per_1000`` overall and
        by driver group. Stops with no division recorded are not in any polygon: see
        :func:`geo.layers.stop_tables.division_stop_summary`.
    """
    s = _s(settings)
    base = division_base(s)
    summary = division_stop_summary(stops(s) if stops_frame is None else stops_frame)
    summary = summary.reindex(base["division"])
    count_cols = [c for c in summary.columns if "_rate" not in c]
    summary[count_cols] = summary[count_cols].fillna(0).astype("int64")
    pop = base.set_index("division")[[c for c in POPULATION_COLUMNS if c in base.columns]]
    per = stops_per_1000(summary, pop)
    out = base.merge(summary, left_on="division", right_index=True, how="left")
    out = out.merge(per, left_on="division", right_index=True, how="left")
    front = [c for c in base.columns if c != "geometry"]
    rest = [c for c in out.columns if c not in front and c != "geometry"]
    return gpd.GeoDataFrame(out[[*front, *rest, "geometry"]], geometry="geometry", crs=base.crs)


def reports(settings: Settings | None = None) -> list[LoadReport]:
    """Every loader's row report, loading (from cache) whatever is present.

    The layers of this module first, then those of :mod:`geo.layers.records` (incident
    points and timeline, Quality of Life catalogue and metrics, clearance, diversion,
    employees), then the NPA groups and the reference layers (ZIP codes, districts,
    landmarks, rail, greenways, roads; cached by :mod:`geo.layers.prepared`, each with the
    2013 caveat); a data set that is missing gives a report that says so.
    """
    from geo.layers.prepared import reference_layers  # both build on this module
    from geo.layers.records import RECORD_BUILDERS

    s = _s(settings)
    out = []
    for fn in (
        stops_with_report,
        divisions_with_report,
        npa_with_report,
        npa_metrics_with_report,
        ois_with_report,
        incidents_with_report,
        *RECORD_BUILDERS,
    ):
        try:
            out.append(fn(s)[1])
        except DataFileError as exc:
            out.append(LoadReport(fn.__name__.removesuffix("_with_report"), "missing", notes=[str(exc)]))
    try:
        out.append(load_npa_groups(settings=s)[1])
    except DataFileError as exc:
        out.append(LoadReport("npa_groups", "not loaded (optional)", notes=[str(exc)]))
    for name, rep in reference_layers(s)[1].items():
        rep = copy.copy(rep)
        rep.name = name
        rep.notes = [*rep.notes, REFERENCE_LAYERS_2013]
        out.append(rep if rep.source else LoadReport(name, "not loaded (optional)", notes=rep.notes))
    return out
