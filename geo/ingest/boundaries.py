"""Boundary layers: CMPD police divisions (2019 and 2025 vintages) and the Quality of Life NPAs."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import DataFileError, ValueDomainError, first_rows, quote_values
from geo.ingest.files import data_path, read_layer, require_columns, settings_or_default
from geo.ingest.geometry import polygonal, repair_polygons
from geo.ingest.report import LoadReport
from geo.ingest.sources import resolve
from geo.settings import Settings
from geo.vocab import DIVISIONS

__all__ = ["load_divisions", "load_npa"]


#: Vintage of each division file (year the boundaries were published).
DIVISION_VINTAGES = {"divisions_2019": 2019, "divisions_2025": 2025}


#: Middle of the stops table's period (2020-01 .. 2021-12).
STOPS_MIDYEAR = 2021.0


def load_divisions(
    path: str | Path | None = None,
    *,
    vintage: Literal["auto", 2019, 2025] = "auto",
    settings: Settings | None = None,
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load CMPD police division polygons in the analysis CRS.

    Parameters
    ----------
    path
        A division layer (GeoJSON or shapefile) with a ``DNAME`` column. If given,
        ``vintage`` is ignored.
    vintage
        Which fetched layer: ``2019``, ``2025`` or ``"auto"`` — the available layer nearest
        in time to the stops (2020-2021), which is the 2019 layer when both are present.
    settings
        Settings (data folder, analysis CRS).

    Returns
    -------
    divisions : geopandas.GeoDataFrame
        One row per division (14), columns ``division`` (``DNAME``), ``code``
        (``DIVISION``), ``short_name``, ``area_sqmi``, geometry in EPSG:2264.
        Multi-part divisions (Airport in 2019) are dissolved; invalid polygons
        (Steele Creek) are repaired.
    report : LoadReport
    """
    s = settings_or_default(settings)
    notes: list[str] = []
    if path is None:
        path = _division_file(vintage, s, notes)
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"{path}: file not found.")
    gdf = read_layer(path, "division boundary")
    report = LoadReport("divisions", str(path), rows_read=len(gdf), notes=notes)
    require_columns(gdf, ["DNAME"], path, "the division layer")
    names = _division_names(gdf, path)
    gdf = repair_polygons(gdf, report, path, names)
    out = _dissolve_divisions(gdf.assign(division=names).to_crs(s.analysis_crs), names, report)
    missing = sorted(set(DIVISIONS.values()) - set(out["division"]))
    if missing:
        report.notes.append(f"division(s) absent from the layer: {', '.join(missing)}")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=s.analysis_crs), report


def _division_file(vintage: Literal["auto", 2019, 2025], settings: Settings, notes: list[str]) -> Path:
    """The fetched division layer of ``vintage`` (``"auto"``: nearest in time to the stops, noted)."""
    available: dict[int, Path] = {}
    for key, year in DIVISION_VINTAGES.items():
        try:
            available[year] = resolve(key, settings.data_dir)
        except DataFileError:
            pass
    if not available:
        resolve("divisions_2025", settings.data_dir)  # raises with the fetch hint
    if vintage == "auto":
        year = min(available, key=lambda y: (abs(y - STOPS_MIDYEAR), -y))
        notes.append(f"using the {year} division layer, the one nearest in time to the 2020-2021 stops")
        return available[year]
    if vintage not in available:
        raise DataFileError(
            f"The {vintage} division layer is not in {settings.data_dir}; available: {sorted(available)}."
        )
    return available[vintage]


def _division_names(gdf: gpd.GeoDataFrame, path: Path) -> pd.Series:
    """The ``DNAME`` of every feature, stripped; an unknown name raises, naming the rows."""
    names = gdf["DNAME"].astype(str).str.strip()
    unknown = ~names.isin(list(DIVISIONS.values()))
    if unknown.any():
        rows = np.flatnonzero(unknown.to_numpy()) + 1
        raise ValueDomainError(
            f"{path}: column DNAME: unknown division name(s) {quote_values(pd.unique(names[unknown]).tolist())} at "
            f"{first_rows(rows)}; allowed: {', '.join(DIVISIONS.values())}."
        )
    return names


def _dissolve_divisions(gdf: gpd.GeoDataFrame, names: pd.Series, report: LoadReport) -> gpd.GeoDataFrame:
    """One row per division, sorted by code: multi-feature divisions dissolved (and reported)."""
    dup = names.duplicated(keep=False).to_numpy()
    if dup.any():
        report.add(
            "repaired",
            "DNAME",
            "division in several features, dissolved into one: "
            + ", ".join(f"{n} ({c} parts)" for n, c in names[dup].value_counts().items()),
            np.flatnonzero(dup) + 1,
        )
    code_of = {v: k for k, v in DIVISIONS.items()}
    out = gdf[["division", "geometry"]].dissolve(by="division", sort=False).reset_index()
    out["geometry"] = out.geometry.make_valid().apply(polygonal)
    out.insert(1, "code", out["division"].map(code_of))
    out.insert(2, "short_name", out["division"].str.removesuffix(" Division"))
    out["area_sqmi"] = out.geometry.area / 5280.0**2
    return out.sort_values("code").reset_index(drop=True)


def load_npa(
    path: str | Path | None = None, *, settings: Settings | None = None
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load the Quality of Life Explorer neighborhood profile areas (NPAs).

    Parameters
    ----------
    path
        A polygon layer with an ``id`` column (the NPA number); by default the fetched one.
    settings
        Settings (data folder, analysis CRS).

    Returns
    -------
    npa : geopandas.GeoDataFrame
        Columns ``npa`` (int) and geometry in EPSG:2264, sorted by ``npa``. Invalid
        polygons (NPA 138) are repaired keeping only polygonal parts.
    report : LoadReport
    """
    s = settings_or_default(settings)
    path = data_path(path, "npa_geography", settings)
    gdf = read_layer(path, "neighborhood (NPA)")
    report = LoadReport("npa", str(path), rows_read=len(gdf))
    require_columns(gdf, ["id"], path, "the NPA layer")
    ids = pd.to_numeric(gdf["id"], errors="coerce")
    bad = ids.isna().to_numpy() | ((ids % 1) != 0).fillna(False).to_numpy()
    if bad.any():
        raise ValueDomainError(
            f"{path}: column id: non-integer NPA id(s) {quote_values(gdf.loc[bad, 'id'].tolist())} at {first_rows(np.flatnonzero(bad) + 1)}."
        )
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        raise ValueDomainError(
            f"{path}: column id: duplicate NPA id(s) {quote_values(pd.unique(ids[dup]).astype(int).tolist())} at "
            f"{first_rows(np.flatnonzero(dup) + 1)}."
        )
    gdf = repair_polygons(gdf, report, path, "NPA " + gdf["id"].astype(str))
    out = gpd.GeoDataFrame({"npa": ids.astype(int).to_numpy()}, geometry=gdf.geometry.values, crs=gdf.crs)
    out = out.to_crs(s.analysis_crs).sort_values("npa").reset_index(drop=True)
    return out, report
