"""Loaders: raw files in, clean frames and a :class:`~geo.report.LoadReport` out.

Each ``load_*`` function reads one data set, checks it up front (reporting every
problem in one message that names the file, the column, the bad values and the first
row numbers), repairs what can be repaired, and accounts for every row.

Row numbers in messages are 1-based data rows (the header is not counted), so row 1
is the first line after the header, as a spreadsheet user would count them minus one.
"""

from __future__ import annotations

import gzip
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import sources
from geo._errors import (
    CRSError,
    DataFileError,
    EmptyInputError,
    GeometryError,
    SchemaError,
    ValueDomainError,
    first_rows,
    quote_values,
)
from geo.report import LoadReport
from geo.settings import Settings, get_settings

__all__ = [
    "DIVISIONS",
    "NO_DIVISION",
    "STOP_COLUMNS",
    "load_stops",
    "load_divisions",
    "load_npa",
    "load_npa_metrics",
    "load_ois",
    "load_ois_tables",
    "load_incidents",
    "read_table",
    "polygonal",
]

#: CMPD patrol divisions: code -> ``DNAME``.
DIVISIONS: dict[str, str] = {
    "01": "Central Division",
    "02": "Metro Division",
    "06": "Eastway Division",
    "07": "North Tryon Division",
    "11": "North Division",
    "12": "Hickory Grove Division",
    "14": "University City Division",
    "16": "Providence Division",
    "17": "Independence Division",
    "21": "Steele Creek Division",
    "22": "South Division",
    "26": "Westover Division",
    "27": "Freedom Division",
    "28": "Airport Division",
}

#: The bucket for stops whose ``CMPD_Division`` is blank.
NO_DIVISION = "No division recorded"

#: Columns a stops file must have (``OBJECTID`` and ``GlobalID`` are optional).
STOP_COLUMNS = (
    "Month_of_Stop",
    "Reason_for_Stop",
    "Officer_Race",
    "Officer_Gender",
    "Officer_Years_of_Service",
    "Driver_Race",
    "Driver_Ethnicity",
    "Driver_Gender",
    "Driver_Age",
    "Was_a_Search_Conducted",
    "Result_of_Stop",
    "CMPD_Division",
)

OTHER = "Other/Unknown"

#: Known categories; values outside them are kept as ``Other/Unknown`` and reported.
STOP_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Reason_for_Stop": (
        "Speeding",
        "Vehicle Regulatory",
        "Vehicle Equipment",
        "Stop Light/Sign",
        "Safe Movement",
        "Investigation",
        "Other",
        "SeatBelt",
        "Driving While Impaired",
        "CheckPoint",
    ),
    "Officer_Race": (
        "White",
        "Black/African American",
        "Hispanic/Latino",
        "Asian / Pacific Islander",
        "2 or More",
        "American Indian/Alaska Native",
        "Not Specified",
    ),
    "Officer_Gender": ("Male", "Female"),
    "Driver_Race": ("White", "Black", "Asian", "Native American", OTHER),
    "Driver_Ethnicity": ("Non-Hispanic", "Hispanic"),
    "Driver_Gender": ("Male", "Female"),
    "Result_of_Stop": ("Verbal Warning", "Citation Issued", "Written Warning", "Arrest", "No Action Taken"),
}

AGE_BANDS = ("15-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65-100")
AGE_FLAGGED = "Outside 15-100"
AGE_MISSING = "Unknown"
YEARS_BANDS = ("0-4", "5-9", "10-14", "15-19", "20+")

#: ``driver_group`` combines race and ethnicity the way the census does: Hispanic
#: drivers of any race form one group; the race groups are non-Hispanic.
DRIVER_GROUPS = ("White", "Black", "Hispanic", "Asian", "Native American", OTHER)


# --------------------------------------------------------------------------- files


def _settings(settings: Settings | None) -> Settings:
    return settings if settings is not None else get_settings()


def _path(path: str | Path | None, key: str, settings: Settings | None) -> Path:
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise DataFileError(f"{p}: file not found.")
        if p.is_dir():
            raise DataFileError(f"{p}: is a folder, expected a file.")
        return p
    return sources.resolve(key, _settings(settings).data_dir)


def read_table(path: Path, *, encoding: str = "utf-8-sig", skiprows: Sequence[int] | None = None) -> pd.DataFrame:
    """Read a CSV (optionally gzipped) as strings, with clear errors.

    Parameters
    ----------
    path
        The file. ``.gz`` files are decompressed.
    encoding
        Text encoding; the default strips a UTF-8 byte-order mark.
    skiprows
        Data rows to skip (e.g. a second header line).

    Raises
    ------
    DataFileError
        If the file is empty, binary, compressed wrongly, or not a CSV.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise DataFileError(f"{path}: the file is empty (0 bytes); expected a CSV with a header row.")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            head = fh.read(4096)
    except (OSError, EOFError) as exc:
        raise DataFileError(f"{path}: cannot be read as {'gzip' if opener is gzip.open else 'a file'} ({exc}).") from None
    if b"\x00" in head:
        raise DataFileError(f"{path}: is a binary file, not a CSV (found NUL bytes). Expected comma-separated text.")
    if head.lstrip()[:1] in (b"{", b"[", b"<"):
        raise DataFileError(f"{path}: looks like JSON or HTML/XML, not a CSV. Expected comma-separated text with a header row.")
    try:
        df = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[],
            encoding=encoding,
            skiprows=skiprows,
            compression="gzip" if path.suffix == ".gz" else None,
        )
    except pd.errors.EmptyDataError:
        raise DataFileError(f"{path}: the file has no header row or no columns.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: is not a readable CSV ({str(exc).splitlines()[0]}).") from None
    if df.shape[1] < 2:
        raise DataFileError(
            f"{path}: has {df.shape[1]} column(s) ({', '.join(map(str, df.columns))}); "
            "expected a comma-separated file with several columns."
        )
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _require_columns(df: pd.DataFrame, required: Sequence[str], path: Path, what: str) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{path}: {what} is missing column(s) {', '.join(missing)}. "
            f"Found: {', '.join(map(str, df.columns))}. Required: {', '.join(required)}."
        )


# --------------------------------------------------------------------------- stops


def _age_band(age: pd.Series, flagged: pd.Series) -> pd.Categorical:
    edges = [15, 18, 25, 35, 45, 55, 65, 101]
    band = pd.cut(age.astype("float"), bins=edges, right=False, labels=list(AGE_BANDS))
    out = band.astype(object)
    out[flagged.to_numpy()] = AGE_FLAGGED
    out[age.isna().to_numpy()] = AGE_MISSING
    return pd.Categorical(out, categories=[*AGE_BANDS, AGE_FLAGGED, AGE_MISSING])


def _years_band(years: pd.Series) -> pd.Categorical:
    band = pd.cut(years.astype("float"), bins=[0, 5, 10, 15, 20, np.inf], right=False, labels=list(YEARS_BANDS))
    out = band.astype(object)
    out[years.isna().to_numpy()] = AGE_MISSING
    return pd.Categorical(out, categories=[*YEARS_BANDS, AGE_MISSING])


def load_stops(
    path: str | Path | None = None,
    *,
    settings: Settings | None = None,
    on_error: Literal["raise", "set_aside"] = "raise",
) -> tuple[pd.DataFrame, LoadReport]:
    """Load and clean the CMPD Officer Traffic Stops table.

    Cleaning: strips the UTF-8 BOM and padded strings; parses ``YYYY/MM`` months (also
    ``YYYY-MM``); makes categorical columns; flags (does not drop) driver ages outside
    15-100; keeps stops with a blank division under ``"No division recorded"``; maps
    unknown race, gender, reason and result values to ``"Other/Unknown"`` and reports them.

    Parameters
    ----------
    path
        The stops CSV (``.csv`` or ``.csv.gz``); by default the fetched file.
    settings
        Settings (data folder, age limits).
    on_error
        ``"raise"`` (default): an unparseable month, a non-numeric age or years of
        service, or an unknown division raises one :class:`ValueDomainError` listing
        every problem. ``"set_aside"``: such rows are left out of the frame and
        reported with their reason.

    Returns
    -------
    stops : pandas.DataFrame
        One row per kept stop: ``row`` (1-based source row), ``objectid``, ``month``
        (first day of the month), ``year``, ``reason``, ``officer_race``,
        ``officer_gender``, ``officer_years``, ``officer_years_band``, ``driver_race``,
        ``driver_ethnicity``, ``driver_group``, ``driver_gender``, ``driver_age``,
        ``age_flagged``, ``age_band``, ``searched``, ``result``, ``division``,
        ``division_recorded``.
    report : LoadReport

    Raises
    ------
    DataFileError, SchemaError, ValueDomainError, EmptyInputError
    """
    s = _settings(settings)
    path = _path(path, "stops", settings)
    raw = read_table(path)
    _require_columns(raw, STOP_COLUMNS, path, "the stops table")
    report = LoadReport("stops", str(path), rows_read=len(raw))
    if raw.empty:
        raise EmptyInputError(f"{path}: the stops table has a header but no data rows.")
    rownum = np.arange(1, len(raw) + 1)
    df = raw.apply(lambda c: c.str.strip())
    errors: list[str] = []
    bad_rows: dict[str, np.ndarray] = {}

    def domain_problem(column: str, mask: np.ndarray, what: str) -> None:
        if mask.any():
            vals = pd.unique(raw.loc[mask, column])
            errors.append(f"column {column}: {mask.sum():,} {what} ({quote_values(vals)}) at {first_rows(rownum[mask])}")
            bad_rows[f"{column}: {what}"] = mask

    # months
    m = df["Month_of_Stop"].str.extract(r"^(\d{4})[/-](\d{1,2})$")
    year = pd.to_numeric(m[0], errors="coerce")
    mon = pd.to_numeric(m[1], errors="coerce")
    bad_month = (year.isna() | mon.isna() | (mon < 1) | (mon > 12) | (year < 1990) | (year > 2100)).to_numpy()
    domain_problem("Month_of_Stop", bad_month, "value(s) not a month in YYYY/MM form")

    # numbers
    age = pd.to_numeric(df["Driver_Age"].replace("", np.nan), errors="coerce")
    bad_age = ((age.isna() & (df["Driver_Age"] != "")) | (age.notna() & ((age % 1) != 0))).to_numpy()
    domain_problem("Driver_Age", bad_age, "non-numeric age(s)")
    yrs = pd.to_numeric(df["Officer_Years_of_Service"].replace("", np.nan), errors="coerce")
    bad_yrs = ((yrs.isna() & (df["Officer_Years_of_Service"] != "")) | (yrs.notna() & ((yrs < 0) | ((yrs % 1) != 0)))).to_numpy()
    domain_problem("Officer_Years_of_Service", bad_yrs, "non-numeric or negative years of service")

    # divisions
    div = df["CMPD_Division"]
    blank_div = (div == "").to_numpy()
    unknown_div = (~div.isin(list(DIVISIONS.values())) & ~pd.Series(blank_div, index=div.index)).to_numpy()
    if unknown_div.any():
        vals = pd.unique(raw.loc[unknown_div, "CMPD_Division"])
        errors.append(
            f"column CMPD_Division: {unknown_div.sum():,} unknown division name(s) ({quote_values(vals)}) at "
            f"{first_rows(rownum[unknown_div])}; allowed: {', '.join(DIVISIONS.values())} or blank"
        )
        bad_rows["CMPD_Division: unknown division name"] = unknown_div

    if errors and on_error == "raise":
        raise ValueDomainError(f"{path}: {len(errors)} problem(s) in the stops table:\n  - " + "\n  - ".join(errors))
    keep = np.ones(len(df), dtype=bool)
    for reason, mask in bad_rows.items():
        col, what = reason.split(": ", 1)
        report.add("set_aside", col, what, rownum[mask])
        keep &= ~mask
    if not keep.any():
        raise EmptyInputError(f"{path}: no stop rows are left after setting aside the rows with problems.")

    out = pd.DataFrame({"row": rownum})
    out["objectid"] = pd.to_numeric(df["OBJECTID"], errors="coerce").astype("Int64") if "OBJECTID" in df else out["row"]
    out["month"] = pd.to_datetime(
        {"year": year.fillna(2000), "month": mon.clip(1, 12).fillna(1), "day": 1}, errors="coerce"
    ).astype("datetime64[ns]")
    out["year"] = year.astype("Int64")

    def categorical(column: str, new: str) -> None:
        cats = STOP_CATEGORIES[column]
        vals = df[column]
        unknown = (~vals.isin(cats)).to_numpy()
        if unknown.any():
            shown = pd.unique(raw.loc[unknown, column])
            report.add(
                "repaired",
                column,
                f"value(s) outside the known categories ({quote_values(shown)}) kept as '{OTHER}'",
                rownum[unknown],
            )
        allowed = list(cats) if OTHER in cats else [*cats, OTHER]
        out[new] = pd.Categorical(vals.where(~unknown, OTHER), categories=allowed)

    categorical("Reason_for_Stop", "reason")
    categorical("Officer_Race", "officer_race")
    categorical("Officer_Gender", "officer_gender")
    out["officer_years"] = yrs.where(~bad_yrs).astype("Int64")
    missing_yrs = out["officer_years"].isna().to_numpy() & ~bad_yrs
    report.add("flagged", "Officer_Years_of_Service", "years of service missing (kept; band 'Unknown')", rownum[missing_yrs])
    out["officer_years_band"] = _years_band(out["officer_years"])
    categorical("Driver_Race", "driver_race")
    categorical("Driver_Ethnicity", "driver_ethnicity")
    hisp = (out["driver_ethnicity"] == "Hispanic").to_numpy()
    out["driver_group"] = pd.Categorical(
        np.where(hisp, "Hispanic", out["driver_race"].astype(str)), categories=list(DRIVER_GROUPS)
    )
    categorical("Driver_Gender", "driver_gender")
    out["driver_age"] = age.where(~bad_age).astype("Int64")
    flagged = ((out["driver_age"] < s.min_age) | (out["driver_age"] > s.max_age)).fillna(False).to_numpy(dtype=bool)
    report.add("flagged", "Driver_Age", f"age outside {s.min_age}-{s.max_age} (kept; age_flagged=True)", rownum[flagged])
    missing_age = out["driver_age"].isna().to_numpy() & ~bad_age
    report.add("flagged", "Driver_Age", "age missing (kept; band 'Unknown')", rownum[missing_age])
    out["age_flagged"] = flagged
    out["age_band"] = _age_band(out["driver_age"], pd.Series(flagged))

    srch = df["Was_a_Search_Conducted"].str.lower()
    bad_search = ~srch.isin(["yes", "no"]).to_numpy()
    report.add(
        "flagged",
        "Was_a_Search_Conducted",
        "not Yes/No (kept; searched unknown, left out of search rates)",
        rownum[bad_search],
    )
    out["searched"] = pd.array(np.where(bad_search, None, srch == "yes"), dtype="boolean")
    categorical("Result_of_Stop", "result")

    out["division"] = pd.Categorical(
        div.where(~(blank_div | unknown_div), NO_DIVISION), categories=[*DIVISIONS.values(), NO_DIVISION]
    )
    out["division_recorded"] = ~blank_div
    report.add("kept", "CMPD_Division", f"division blank (kept under '{NO_DIVISION}')", rownum[blank_div & keep])

    out = out.loc[keep].reset_index(drop=True)
    if out["month"].notna().any():
        report.notes.append(
            f"months {out['month'].min():%Y-%m} to {out['month'].max():%Y-%m}; "
            f"{int(out['division_recorded'].sum()):,} stops with a division, "
            f"{int((~out['division_recorded']).sum()):,} without"
        )
    return out, report


# --------------------------------------------------------------------------- geometry


def polygonal(geom: shapely.Geometry | None) -> shapely.Geometry | None:
    """Keep only the polygonal parts of a geometry (``make_valid`` may return a collection)."""
    if geom is None or geom.is_empty:
        return geom
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    if geom.geom_type == "GeometryCollection":
        parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        if not parts:
            return shapely.Polygon()
        return shapely.union_all(parts) if len(parts) > 1 else parts[0]
    return shapely.Polygon()


def _read_layer(path: Path, what: str) -> gpd.GeoDataFrame:
    if path.stat().st_size == 0:
        raise DataFileError(f"{path}: the file is empty (0 bytes); expected a {what} layer (GeoJSON or shapefile).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises its own DataSourceError and friends
        raise DataFileError(f"{path}: cannot be read as a {what} layer ({str(exc).splitlines()[0]}).") from None
    if len(gdf) == 0:
        raise EmptyInputError(f"{path}: the {what} layer has no features.")
    if gdf.crs is None:
        raise CRSError(
            f"{path}: the {what} layer has no CRS. Set one (e.g. EPSG:4326 for longitude/latitude, "
            "EPSG:2264 for NC State Plane feet) in the file (.prj for shapefiles) and try again."
        )
    return gdf


def _repair_polygons(gdf: gpd.GeoDataFrame, report: LoadReport, path: Path, label: pd.Series) -> gpd.GeoDataFrame:
    rownum = np.arange(1, len(gdf) + 1)
    geom = gdf.geometry
    missing = (geom.isna() | geom.is_empty).to_numpy()
    if missing.any():
        raise GeometryError(
            f"{path}: column geometry: {missing.sum()} feature(s) have no geometry "
            f"({quote_values(label[missing].tolist())}) at {first_rows(rownum[missing])}."
        )
    types = geom.geom_type.to_numpy()
    bad_type = ~np.isin(types, ["Polygon", "MultiPolygon"])
    if bad_type.any():
        raise GeometryError(
            f"{path}: column geometry: {bad_type.sum()} feature(s) are not polygons "
            f"({quote_values(pd.unique(types[bad_type]).tolist())}) at {first_rows(rownum[bad_type])}; expected Polygon or MultiPolygon."
        )
    invalid = ~geom.is_valid.to_numpy()
    if invalid.any():
        reasons = [shapely.is_valid_reason(g) for g in geom[invalid]]
        fixed = [polygonal(shapely.make_valid(g)) for g in geom[invalid]]
        still_bad = [i for i, g in enumerate(fixed) if g is None or g.is_empty or not g.is_valid]
        if still_bad:
            rows = rownum[invalid][still_bad]
            raise GeometryError(f"{path}: column geometry: cannot repair feature(s) at {first_rows(rows)}.")
        gdf = gdf.copy()
        gdf.loc[invalid, gdf.geometry.name] = gpd.GeoSeries(fixed, index=gdf.index[invalid], crs=gdf.crs)
        names = ", ".join(f"{label.iloc[i]} ({r})" for i, r in zip(np.flatnonzero(invalid), reasons, strict=True))
        report.add("repaired", "geometry", f"invalid polygon repaired with make_valid (polygonal parts kept): {names}", rownum[invalid])
    return gdf


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
    s = _settings(settings)
    notes: list[str] = []
    if path is None:
        available = {}
        for key, year in DIVISION_VINTAGES.items():
            try:
                available[year] = sources.resolve(key, s.data_dir)
            except DataFileError:
                pass
        if not available:
            sources.resolve("divisions_2025", s.data_dir)  # raises with the fetch hint
        if vintage == "auto":
            year = min(available, key=lambda y: (abs(y - STOPS_MIDYEAR), -y))
            notes.append(f"using the {year} division layer, the one nearest in time to the 2020-2021 stops")
        else:
            if vintage not in available:
                raise DataFileError(f"The {vintage} division layer is not in {s.data_dir}; available: {sorted(available)}.")
            year = vintage
        path = available[year]
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"{path}: file not found.")
    gdf = _read_layer(path, "division boundary")
    report = LoadReport("divisions", str(path), rows_read=len(gdf), notes=notes)
    _require_columns(gdf, ["DNAME"], path, "the division layer")
    names = gdf["DNAME"].astype(str).str.strip()
    unknown = ~names.isin(list(DIVISIONS.values()))
    if unknown.any():
        rows = np.flatnonzero(unknown.to_numpy()) + 1
        raise ValueDomainError(
            f"{path}: column DNAME: unknown division name(s) {quote_values(pd.unique(names[unknown]).tolist())} at "
            f"{first_rows(rows)}; allowed: {', '.join(DIVISIONS.values())}."
        )
    gdf = _repair_polygons(gdf, report, path, names)
    gdf = gdf.assign(division=names).to_crs(s.analysis_crs)
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
    out = out.sort_values("code").reset_index(drop=True)
    missing = sorted(set(DIVISIONS.values()) - set(out["division"]))
    if missing:
        report.notes.append(f"division(s) absent from the layer: {', '.join(missing)}")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=s.analysis_crs), report


def load_npa(path: str | Path | None = None, *, settings: Settings | None = None) -> tuple[gpd.GeoDataFrame, LoadReport]:
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
    s = _settings(settings)
    path = _path(path, "npa_geography", settings)
    gdf = _read_layer(path, "neighborhood (NPA)")
    report = LoadReport("npa", str(path), rows_read=len(gdf))
    _require_columns(gdf, ["id"], path, "the NPA layer")
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
    gdf = _repair_polygons(gdf, report, path, "NPA " + gdf["id"].astype(str))
    out = gpd.GeoDataFrame({"npa": ids.astype(int).to_numpy()}, geometry=gdf.geometry.values, crs=gdf.crs)
    out = out.to_crs(s.analysis_crs).sort_values("npa").reset_index(drop=True)
    return out, report


#: Quality of Life metric files: file -> measure name.
NPA_MEASURES: dict[str, str] = {
    "r1": "land_acres",
    "r47": "population",
    "r14": "white_nh",
    "r15": "black_nh",
    "r16": "asian_nh",
    "r17": "other_nh",
    "r18": "hispanic",
    "r58": "violent_crimes",
    "d58": "violent_per_1000_denominator",
    "r59": "property_crimes",
    "d59": "property_per_1000_denominator",
    "r60": "disorder_calls",
    "d60": "disorder_per_1000_denominator",
    "r37": "household_income_aggregate",
    "d37": "households",
}


def load_npa_metrics(
    *,
    npa_ids: Sequence[int] | None = None,
    settings: Settings | None = None,
    files: dict[str, Path] | None = None,
) -> tuple[pd.DataFrame, LoadReport]:
    """Load the Quality of Life metric files as one tidy table.

    Parameters
    ----------
    npa_ids
        The NPA ids of the geography; rows for other ids are set aside and reported
        (``r14``, ``r60`` and ``d60`` carry an id 384 that has no polygon).
    settings
        Settings (data folder).
    files
        Metric code -> file, instead of the fetched ones (for tests).

    Returns
    -------
    metrics : pandas.DataFrame
        Columns ``npa``, ``year``, ``measure`` (see :data:`NPA_MEASURES`), ``value``
        (float; missing values stay missing), ``source`` (metric code). The
        ``*_per_1000_denominator`` measures are population / 1,000 for the crime year.
    report : LoadReport
    """
    s = _settings(settings)
    frames = []
    report = LoadReport("npa_metrics", str(s.data_dir / "npa" / "metric"))
    for code, measure in NPA_MEASURES.items():
        if files is not None:
            if code not in files:
                continue
            path = Path(files[code])
        else:
            try:
                path = sources.resolve(f"npa_metric_{code}", s.data_dir)
            except DataFileError:
                if sources.DATASETS[f"npa_metric_{code}"].required:
                    raise
                report.notes.append(f"optional metric file {code} ({measure}) not present")
                continue
        df = read_table(path)
        _require_columns(df, ["id"], path, f"the metric file {code}")
        ycols = [c for c in df.columns if re.fullmatch(r"y_\d{4}", c)]
        if not ycols:
            raise SchemaError(f"{path}: no year columns (y_YYYY) found; columns are {', '.join(df.columns)}.")
        ids = pd.to_numeric(df["id"], errors="coerce")
        rows = np.arange(1, len(df) + 1)
        bad = ids.isna().to_numpy()
        report.add("set_aside", "id", "id is not a number", rows[bad], file=path.name)
        if npa_ids is not None:
            extra = (~ids.isin(list(npa_ids)) & ~ids.isna()).to_numpy()
            if extra.any():
                report.add(
                    "set_aside",
                    "id",
                    f"NPA id(s) {quote_values(ids[extra].astype(int).tolist())} not in the NPA geography",
                    rows[extra],
                    file=path.name,
                )
            bad = bad | extra
        report.rows_read += len(df)
        vals = df.loc[~bad, ycols].apply(lambda c: pd.to_numeric(c.str.strip().replace({"": np.nan, "NA": np.nan}), errors="coerce"))
        nonnum = df.loc[~bad, ycols].apply(lambda c: c.str.strip().ne("") & c.str.strip().ne("NA")) & vals.isna()
        if nonnum.to_numpy().any():
            r = rows[~bad][nonnum.any(axis=1).to_numpy()]
            report.add("repaired", "y_*", "non-numeric value(s) read as missing", r, file=path.name)
        long = vals.assign(npa=ids[~bad].astype(int).to_numpy()).melt(id_vars="npa", var_name="year", value_name="value")
        long["year"] = long["year"].str[2:].astype(int)
        long["measure"] = measure
        long["source"] = code
        frames.append(long)
    out = pd.concat(frames, ignore_index=True)[["npa", "year", "measure", "value", "source"]]
    out["measure"] = out["measure"].astype("category")
    return out, report


# --------------------------------------------------------------------------- points


def _points_from_lonlat(
    df: pd.DataFrame,
    lon: str,
    lat: str,
    *,
    path: Path,
    report: LoadReport,
    settings: Settings,
    county: shapely.Geometry | None,
) -> gpd.GeoDataFrame:
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
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(x[keep], y[keep]), crs="EPSG:4326").to_crs(settings.analysis_crs)
    if county is not None:
        inside = gdf.geometry.intersects(county).to_numpy()
        gdf["in_county"] = inside
        report.add("flagged", "geometry", "point outside Mecklenburg County (kept; in_county=False)", gdf["row"].to_numpy()[~inside])
    return gdf.reset_index(drop=True)


def _county(settings: Settings) -> shapely.Geometry | None:
    try:
        npa, _ = load_npa(settings=settings)
    except DataFileError:
        return None
    return shapely.union_all(npa.geometry.values).buffer(1.0)


def load_ois(*, settings: Settings | None = None, path: str | Path | None = None) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load officer-involved shooting incidents as points.

    Returns
    -------
    ois : geopandas.GeoDataFrame
        One row per incident in EPSG:2264: ``incident_id``, ``year``, ``month``
        (``YYYY-MM``), ``location``, ``da_legal_review``, ``narrative``, ``in_county``,
        plus ``individuals`` and ``officers`` counts from the companion tables.
    report : LoadReport
    """
    s = _settings(settings)
    path = _path(path, "ois_incidents", settings)
    df = read_table(path)
    _require_columns(df, ["INCIDENT_ID", "YEAR_MONTH", "Latitude", "Longitude"], path, "the shootings table")
    report = LoadReport("ois", str(path), rows_read=len(df))
    gdf = _points_from_lonlat(df, "Longitude", "Latitude", path=path, report=report, settings=s, county=_county(s))
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
    s = _settings(settings)
    out = {}
    report = LoadReport("ois_tables", str(s.data_dir / "points"))
    for key, name in (("ois_individuals", "individuals"), ("ois_officers", "officers")):
        path = sources.resolve(key, s.data_dir)
        df = read_table(path)
        _require_columns(df, ["INCIDENT_ID"], path, f"the shootings {name} table")
        report.rows_read += len(df)
        df = df.apply(lambda c: c.str.strip())
        df.columns = [c.lower() for c in df.columns]
        out[name] = df
    return out, report


def load_incidents(*, settings: Settings | None = None, path: str | Path | None = None) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load the CMPD incident-report sample as points.

    Returns
    -------
    incidents : geopandas.GeoDataFrame
        EPSG:2264 points with ``incident_id``, ``year``, ``date_reported``, ``nibrs_code``,
        ``nibrs_description``, ``non_criminal`` (800-series codes), ``clearance_status``,
        ``place_type``, ``division_reported`` (the source's division, as ``DNAME``),
        ``npa_reported`` (the source's NPA, an older vintage: re-derive spatially),
        ``in_county``.
    report : LoadReport
    """
    s = _settings(settings)
    path = _path(path, "incidents_sample", settings)
    df = read_table(path)
    _require_columns(df, ["LATITUDE_PUBLIC", "LONGITUDE_PUBLIC", "HIGHEST_NIBRS_CODE"], path, "the incidents table")
    report = LoadReport("incidents", str(path), rows_read=len(df))
    gdf = _points_from_lonlat(df, "LONGITUDE_PUBLIC", "LATITUDE_PUBLIC", path=path, report=report, settings=s, county=_county(s))

    def col(name: str) -> pd.Series:
        return gdf[name].str.strip() if name in gdf else pd.Series("", index=gdf.index)

    div = col("CMPD_PATROL_DIVISION")
    code = col("HIGHEST_NIBRS_CODE")
    out = gpd.GeoDataFrame(
        {
            "row": gdf["row"],
            "incident_id": col("INCIDENT_REPORT_ID"),
            "year": pd.to_numeric(col("YEAR"), errors="coerce").astype("Int64"),
            "date_reported": pd.to_datetime(pd.to_numeric(col("DATE_REPORTED"), errors="coerce"), unit="ms"),
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
