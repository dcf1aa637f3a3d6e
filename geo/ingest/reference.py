"""Reference layers for finding one's way: ZIP codes, districts, landmarks, rail, greenways, main roads, NPA groups.

The Mecklenburg County GIS layers are from 2013 (:data:`geo.caveats.REFERENCE_LAYERS_2013`): for orientation
and labels, not analysis. The main roads are the City's state-maintained road inventory (:func:`load_state_roads`);
the NPA groups list the NPAs of each town and district (:func:`load_npa_groups`). Every loader returns a clean
frame (layers in EPSG:2264 with ``row``, the feature's 1-based position in its file) and a
:class:`~geo.ingest.report.LoadReport`: features without a usable geometry are set aside with the reason, names
in capitals are written in title case (repaired), blank names are kept and flagged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import DataFileError, SchemaError
from geo.ingest.files import data_path, read_layer, read_table, require_columns, settings_or_default
from geo.ingest.geometry import polygonal
from geo.ingest.report import LoadReport
from geo.settings import Settings

__all__ = [
    "LANDMARK_KINDS",
    "GROUP_TYPES",
    "LAYER_COLUMNS",
    "LAYER_LOADERS",
    "ReferenceLayers",
    "load_zipcodes",
    "load_historic_districts",
    "load_council_districts",
    "load_landmarks",
    "load_railroads",
    "load_greenways",
    "load_state_roads",
    "load_npa_groups",
    "load_reference_layers",
    "title_case",
]


#: Landmark data set -> the ``kind`` its points get.
LANDMARK_KINDS: dict[str, str] = {
    "ref_schools": "school",
    "ref_parks": "park",
    "ref_libraries": "library",
    "ref_police_stations": "police station",
    "ref_hospitals": "hospital",
    "ref_colleges": "college",
    "ref_town_halls": "town hall",
}


#: Group types of the NPA groups file -> the ``group_type`` code of :func:`load_npa_groups`.
GROUP_TYPES = {"Jurisdiction": "jurisdiction", "City Council": "city_council", "County Commission": "county_commission"}


_POLYGONS = ("Polygon", "MultiPolygon")
_LINES = ("LineString", "MultiLineString")
_POINTS = ("Point",)

#: Words that stay in capitals when a name in capitals is written in title case.
_KEEP_UPPER = {"NE", "NW", "SE", "SW", "NB", "SB", "II", "III", "IV", "US", "NC", "UNCC", "CMPD", "YMCA", "CPCC"}

#: Street types of ramps and of limited-access roads in the roads inventory (``STREETTYPE``).
_RAMP_TYPES = {"RA", "RP"}
_HIGHWAY_TYPES = {"HY", "FR", "PY", "EX"}


def title_case(text: str) -> str:
    """Write a name in capitals in title case: ``"E 3RD ST"`` -> ``"E 3rd St"``, ``"I-485"`` unchanged.

    Direction and route abbreviations (``NE``, ``SB``, ``US``, ``UNCC`` ...) stay in capitals.
    """

    def word(m: re.Match[str]) -> str:
        w = m.group(0)
        return w if w in _KEEP_UPPER else w.capitalize()

    return re.sub(r"[A-Za-z0-9][A-Za-z0-9']*", word, text)


def _is_capitals(text: str) -> bool:
    """Whether ``text`` has letters and all of them are capitals (``"I-485"`` has too few to tell)."""
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 3 and all(c.isupper() for c in letters)


def _clean_text(values: pd.Series) -> pd.Series:
    """Strip and collapse whitespace; missing values become ``""``."""
    return values.astype("string").fillna("").astype(str).str.replace(r"\s+", " ", regex=True).str.strip()


def _clean_names(
    values: pd.Series, rows: np.ndarray, report: LoadReport, *, column: str, blank: str, file: str = ""
) -> pd.Series:
    """Names for display: whitespace collapsed, capitals in title case (repaired), blanks as ``blank`` (flagged)."""
    names = _clean_text(values)
    caps = names.map(_is_capitals).to_numpy(dtype=bool)
    titled = names.where(~caps, names.map(title_case))
    changed = (titled != names).to_numpy()
    report.add("repaired", column, "name in capitals, written in title case for display", rows[changed], file=file)
    empty = (titled == "").to_numpy()
    report.add("flagged", column, f"no name (kept as {blank!r})", rows[empty], file=file)
    return titled.where(~empty, blank)


def _check_geometry(
    gdf: gpd.GeoDataFrame, allowed: tuple[str, ...], report: LoadReport, *, file: str = ""
) -> gpd.GeoDataFrame:
    """Set aside features without a geometry or of the wrong type; repair invalid polygons (each reported)."""
    rows = gdf["row"].to_numpy()
    geom = gdf.geometry
    missing = (geom.isna() | geom.is_empty).to_numpy()
    report.add("set_aside", "geometry", "no geometry", rows[missing], file=file)
    types = geom.geom_type.fillna("").to_numpy()
    wrong = ~missing & ~np.isin(types, allowed)
    for t in pd.unique(types[wrong]):
        why = f"a {t}, expected {' or '.join(allowed)}"
        report.add("set_aside", "geometry", why, rows[wrong & (types == t)], file=file)
    out = gdf.loc[~(missing | wrong)].copy()
    invalid = ~out.geometry.is_valid.to_numpy() if allowed == _POLYGONS else np.zeros(len(out), bool)
    if invalid.any():
        why = "invalid polygon repaired with make_valid (polygonal parts kept): "
        why += "; ".join(shapely.is_valid_reason(g) for g in out.geometry[invalid])
        fixed = [polygonal(shapely.make_valid(g)) for g in out.geometry[invalid]]
        out.loc[invalid, "geometry"] = gpd.GeoSeries(fixed, index=out.index[invalid], crs=out.crs)
        report.add("repaired", "geometry", why, out["row"].to_numpy()[invalid], file=file)
    return out


def _read_geojson(
    key: str,
    path: str | Path | None,
    settings: Settings | None,
    *,
    what: str,
    allowed: tuple[str, ...],
    columns: tuple[str, ...] = ("name",),
    report: LoadReport | None = None,
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Read one reference layer: rows numbered, geometry checked, in the analysis CRS.

    With ``report`` given (several files in one report), rows are counted into it under the
    file's name; otherwise a new report named ``key`` is made.
    """
    s = settings_or_default(settings)
    p = data_path(path, key, settings)
    gdf = read_layer(p, what)
    require_columns(gdf, list(columns), p, f"the {what} layer")
    file = p.name if report is not None else ""
    if report is None:
        report = LoadReport(key.removeprefix("ref_"), str(p))
    report.rows_read += len(gdf)
    gdf = gdf.reset_index(drop=True)
    gdf.insert(0, "row", np.arange(1, len(gdf) + 1))
    gdf = _check_geometry(gdf, allowed, report, file=file)
    return gdf.to_crs(s.analysis_crs), report


def _frame(gdf: gpd.GeoDataFrame, data: dict[str, object]) -> gpd.GeoDataFrame:
    """A new frame: ``row``, the given columns, then the geometry; a fresh index."""
    return gpd.GeoDataFrame({"row": gdf["row"].to_numpy(), **data}, geometry=gdf.geometry.to_numpy(), crs=gdf.crs)


def _text_col(df: pd.DataFrame, name: str) -> pd.Series:
    """Column ``name`` as clean text, or ``""`` everywhere when the file has no such column."""
    return _clean_text(df[name]) if name in df else pd.Series("", index=df.index)


def load_zipcodes(
    path: str | Path | None = None, *, settings: Settings | None = None
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load the ZIP code areas (2013).

    Returns
    -------
    zipcodes : geopandas.GeoDataFrame
        ``row``, ``zipcode`` (5-digit string), ``post_office_city`` (title case), geometry
        (EPSG:2264), sorted by ``zipcode``. A code that is not 5 digits is kept and flagged.
    report : LoadReport
    """
    gdf, report = _read_geojson(
        "ref_zipcodes", path, settings, what="ZIP code", allowed=_POLYGONS, columns=("zipcode",)
    )
    rows = gdf["row"].to_numpy()
    code = _clean_text(gdf["zipcode"]).str.replace(r"\.0$", "", regex=True)
    bad = ~code.str.fullmatch(r"\d{5}").to_numpy(dtype=bool)
    report.add("flagged", "zipcode", "not a 5-digit ZIP code (kept as written)", rows[bad])
    city = _text_col(gdf, "post_office_city").map(title_case)
    out = _frame(gdf, {"zipcode": code.to_numpy(), "post_office_city": city.to_numpy()})
    return out.sort_values("zipcode", kind="stable").reset_index(drop=True), report


def load_historic_districts(
    path: str | Path | None = None, *, settings: Settings | None = None
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load Charlotte's local historic districts (2013; 6 polygons).

    Returns
    -------
    districts : geopandas.GeoDataFrame
        ``row``, ``name`` (as published: ``4th Ward``, ``Plaza-Midwood`` ...), ``designation``
        (the layer's ``type``), geometry (EPSG:2264).
    report : LoadReport
    """
    gdf, report = _read_geojson("ref_historic_districts", path, settings, what="historic district", allowed=_POLYGONS)
    rows = gdf["row"].to_numpy()
    names = _clean_names(gdf["name"], rows, report, column="name", blank="Unnamed historic district")
    return _frame(gdf, {"name": names.to_numpy(), "designation": _text_col(gdf, "type").to_numpy()}), report


def load_council_districts(
    path: str | Path | None = None, *, settings: Settings | None = None
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load the Charlotte City Council districts as drawn in 2013 (7 polygons).

    Returns
    -------
    districts : geopandas.GeoDataFrame
        ``row``, ``district`` (int), ``name`` (``"Council district 1"``), geometry (EPSG:2264),
        sorted by ``district``. A feature whose ``district`` is not a whole number is set aside.
    report : LoadReport
    """
    what = "council district"
    gdf, report = _read_geojson(
        "ref_council_districts", path, settings, what=what, allowed=_POLYGONS, columns=("district",)
    )
    number = pd.to_numeric(_clean_text(gdf["district"]), errors="coerce")
    bad = (number.isna() | (number % 1 != 0)).to_numpy()
    report.add("set_aside", "district", "district is not a whole number", gdf["row"].to_numpy()[bad])
    gdf, number = gdf.loc[~bad], number[~bad].astype(int)
    out = _frame(gdf, {"district": number.to_numpy(), "name": ("Council district " + number.astype(str)).to_numpy()})
    return out.sort_values("district", kind="stable").reset_index(drop=True), report


def load_landmarks(
    paths: Mapping[str, str | Path] | None = None,
    *,
    kinds: tuple[str, ...] | None = None,
    settings: Settings | None = None,
    missing: Literal["raise", "skip"] = "raise",
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load the landmark points (schools, parks, libraries, police stations, hospitals, colleges, town halls).

    Parameters
    ----------
    paths, kinds
        Data set key (of :data:`LANDMARK_KINDS`) -> file instead of the fetched one; the keys to load (all).
    settings
        Settings (data folder, analysis CRS).
    missing
        ``"skip"`` leaves out a layer whose file is not fetched (noted in the report).

    Returns
    -------
    landmarks : geopandas.GeoDataFrame
        ``row`` (in its file), ``kind`` (``school``, ``park``, ...), ``name`` (title case when
        published in capitals), ``category`` (the layer's ``type``, e.g. ``Elementary``),
        ``address``, geometry (EPSG:2264 points). Issues name their file.
    report : LoadReport
        One report for all files (``rows_read`` is their total).
    """
    keys = list(kinds) if kinds is not None else list(LANDMARK_KINDS)
    unknown = [k for k in keys if k not in LANDMARK_KINDS]
    if unknown:
        raise KeyError(f"Unknown landmark layer(s) {unknown}; known: {', '.join(LANDMARK_KINDS)}")
    s = settings_or_default(settings)
    report = LoadReport("landmarks", str(s.data_dir / "reference"))
    parts = []
    for key in keys:
        kind = LANDMARK_KINDS[key]
        try:
            gdf, _ = _read_geojson(key, (paths or {}).get(key), s, what=kind, allowed=_POINTS, report=report)
        except DataFileError as exc:
            if missing == "raise":
                raise
            report.notes.append(f"{kind} layer not loaded: {exc}")
            continue
        file = Path(data_path((paths or {}).get(key), key, s)).name
        rows = gdf["row"].to_numpy()
        names = _clean_names(gdf["name"], rows, report, column="name", blank=f"Unnamed {kind}", file=file)
        category, address = _text_col(gdf, "type").to_numpy(), _text_col(gdf, "address").to_numpy()
        parts.append(_frame(gdf, {"kind": kind, "name": names.to_numpy(), "category": category, "address": address}))
    if not parts:
        return _empty("landmarks", s.analysis_crs), report
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=s.analysis_crs), report


def load_railroads(
    path: str | Path | None = None, *, settings: Settings | None = None
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load the railroads (2013; 364 lines).

    Returns
    -------
    railroads : geopandas.GeoDataFrame
        ``row``, ``name`` (``Southern Railway`` ...), geometry (EPSG:2264 lines).
    report : LoadReport
    """
    gdf, report = _read_geojson("ref_railroads", path, settings, what="railroad", allowed=_LINES, columns=())
    names = _clean_names(_text_col(gdf, "name"), gdf["row"].to_numpy(), report, column="name", blank="Railroad")
    return _frame(gdf, {"name": names.to_numpy()}), report


def load_greenways(
    path: str | Path | None = None, *, settings: Settings | None = None
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load the greenways (2013; 307 lines).

    Returns
    -------
    greenways : geopandas.GeoDataFrame
        ``row``, ``name`` (``Little Sugar Creek Greenway`` ...), ``surface``, geometry (EPSG:2264 lines).
    report : LoadReport
    """
    gdf, report = _read_geojson("ref_greenways", path, settings, what="greenway", allowed=_LINES, columns=())
    names = _clean_names(_text_col(gdf, "name"), gdf["row"].to_numpy(), report, column="name", blank="Greenway")
    return _frame(gdf, {"name": names.to_numpy(), "surface": _text_col(gdf, "surface").to_numpy()}), report


def _parse_coordinates(text: str) -> np.ndarray | str:
    """A flat ``lon,lat,lon,lat,...`` list as an (n, 2) array, or the reason it cannot be read."""
    text = text.strip()
    if not text:
        return "no coordinates"
    try:
        values = np.array(text.split(","), dtype=float)
    except ValueError:
        return "coordinates are not all numbers"
    if len(values) % 2:
        return f"an odd number of values ({len(values)}), not longitude,latitude pairs"
    xy = values.reshape(-1, 2)
    if not np.isfinite(xy).all():
        return "coordinates are not all finite numbers"
    if not (xy != xy[0]).any():
        return "fewer than 2 distinct points"
    if not ((np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all()):
        return "coordinates outside longitude/latitude ranges"
    return xy


def _split_flat_path(xy: np.ndarray, target: float) -> list[np.ndarray] | None:
    """Split a MultiLineString written as one flat path back into parts; None if it cannot be matched.

    The file keeps the points of every part in order but not where one part ends: the path then
    jumps (a straight step that is not on the road) to the next part. Steps are cut, longest
    first, while the path stays longer than ``target`` (the published ``ShapeSTLength``, in the
    same units as ``xy``) by more than 2 %; a cut that would leave the path shorter than that is
    skipped. Parts left with one point are dropped.
    """
    steps = np.hypot(*np.diff(xy, axis=0).T)
    excess = steps.sum() - target
    slack = 0.02 * target
    if excess <= slack:
        return [xy]
    cuts = []
    for i in np.argsort(-steps, kind="stable"):
        if excess <= slack:
            break
        if steps[i] <= excess + slack:
            cuts.append(int(i))
            excess -= steps[i]
    if excess > slack:
        return None
    parts = np.split(xy, np.sort(np.asarray(cuts)) + 1)
    return [p for p in parts if len(p) >= 2 and (p != p[0]).any()]


def _road_names(df: pd.DataFrame, rows: np.ndarray, report: LoadReport) -> pd.Series:
    """``WHOLESTNAME`` for display; a blank one rebuilt from the name parts (repaired)."""
    names = _clean_text(df["WHOLESTNAME"])
    part_cols = [c for c in ("PREFIXDIRECTION", "STREETNAME", "STREETTYPE", "SUFFIX") if c in df]
    blank = (names == "").to_numpy()
    if part_cols and blank.any():
        rebuilt = _clean_text(df.loc[blank, part_cols].apply(lambda r: " ".join(r.astype(str)), axis=1))
        ok = (rebuilt != "").to_numpy()
        names.loc[rebuilt.index[ok]] = rebuilt[ok]
        report.add(
            "repaired", "WHOLESTNAME", f"blank; rebuilt from {', '.join(part_cols)}", rows[np.flatnonzero(blank)[ok]]
        )
    return _clean_names(names, rows, report, column="WHOLESTNAME", blank="")


def _road_class(name: pd.Series, street_type: pd.Series) -> np.ndarray:
    """``ramp``, ``interstate``, ``highway`` (freeway, parkway) or ``road``."""
    ramp = street_type.isin(_RAMP_TYPES) | name.str.contains(r"\b(?:Ramp|Ra|Rp)\b", case=False, regex=True)
    highway = street_type.isin(_HIGHWAY_TYPES)
    interstate = highway & name.str.contains(r"\bI-?\d", regex=True)
    out: np.ndarray = np.select([ramp, interstate, highway], ["ramp", "interstate", "highway"], default="road")
    return out


def _multiline_parts(
    lines: gpd.GeoSeries, multi: np.ndarray, target: pd.Series, rows: np.ndarray, report: LoadReport
) -> gpd.GeoSeries:
    """Rebuild the MultiLineStrings (rows ``multi``) from their flat paths, in the projected CRS."""
    lines = lines.copy()
    split_rows, unmatched = [], []
    for i in np.flatnonzero(multi):
        xy = shapely.get_coordinates(lines.iloc[i])
        parts = _split_flat_path(xy, float(target.iloc[i])) if np.isfinite(target.iloc[i]) else None
        if parts is None:
            unmatched.append(rows[i])
        elif len(parts) > 1 or len(parts[0]) < len(xy):  # else no jump: the line is kept as it is
            lines.iloc[i] = shapely.MultiLineString([shapely.LineString(p) for p in parts])
            split_rows.append(rows[i])
    flat = "MultiLineString stored as one flat list"
    report.add("repaired", "coordinates", f"{flat}: split where the path jumps, to match ShapeSTLength", split_rows)
    report.add("flagged", "coordinates", f"{flat}; parts not found (no usable ShapeSTLength): one line", unmatched)
    return lines


def load_state_roads(
    path: str | Path | None = None, *, settings: Settings | None = None
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load the City of Charlotte's state-maintained roads (interstates, US and NC routes) as lines.

    The CSV stores each geometry in ``coordinates`` as a flat ``lon,lat,lon,lat,...`` list (WGS 84);
    ``geometry`` names the type only. A ``MultiLineString`` loses the ends of its parts in that list;
    they are found again where the path jumps, using the published length ``ShapeSTLength`` (feet).

    Returns
    -------
    roads : geopandas.GeoDataFrame
        One row per segment: ``row``, ``objectid``, ``name`` (``WHOLESTNAME``; title case when in
        capitals; rebuilt from the name parts when blank; ``""`` when there is none), ``street_type``
        (``STREETTYPE``: ``RD``, ``HY`` ...), ``road_class`` (``interstate``, ``highway``, ``ramp`` or
        ``road``), geometry (EPSG:2264 lines).
    report : LoadReport
        Rows whose coordinates cannot be read, or whose type is not a line, are set aside (with why).
    """
    s = settings_or_default(settings)
    p = data_path(path, "ref_state_roads", settings)
    df = read_table(p)
    require_columns(df, ["coordinates", "geometry", "WHOLESTNAME"], p, "the roads table")
    report = LoadReport("state_roads", str(p), rows_read=len(df))
    rows = np.arange(1, len(df) + 1)
    gtype = _clean_text(df["geometry"])
    wrong = ~gtype.isin(_LINES).to_numpy()
    for t in pd.unique(gtype[wrong]):
        why = f"type {t or '(blank)'!r}, expected LineString or MultiLineString"
        report.add("set_aside", "geometry", why, rows[wrong & (gtype == t).to_numpy()])
    parsed = [_parse_coordinates(c) if ok else "" for c, ok in zip(df["coordinates"], ~wrong, strict=True)]
    reasons = pd.Series([r if isinstance(r, str) else "" for r in parsed])
    for reason in pd.unique(reasons[(reasons != "").to_numpy() & ~wrong]):
        report.add("set_aside", "coordinates", reason, rows[(reasons == reason).to_numpy() & ~wrong])
    keep = (reasons == "").to_numpy() & ~wrong
    lines = gpd.GeoSeries(
        [shapely.LineString(xy) for xy, k in zip(parsed, keep, strict=True) if k], crs="EPSG:4326"
    ).to_crs(s.analysis_crs)
    kept = df.loc[keep].reset_index(drop=True)
    target = pd.to_numeric(kept.get("ShapeSTLength", pd.Series(np.nan, index=kept.index)), errors="coerce")
    lines = _multiline_parts(lines, (gtype[keep] == "MultiLineString").to_numpy(), target, rows[keep], report)
    names = _road_names(kept, rows[keep], report)
    street_type = _text_col(kept, "STREETTYPE").str.upper()
    objectid = pd.to_numeric(_text_col(kept, "OBJECTID"), errors="coerce").astype("Int64").to_numpy()
    data = {"row": rows[keep], "objectid": objectid, "name": names.to_numpy(), "street_type": street_type.to_numpy()}
    data["road_class"] = _road_class(names, street_type)
    return gpd.GeoDataFrame(data, geometry=lines.to_numpy(), crs=s.analysis_crs), report


def load_npa_groups(
    path: str | Path | None = None, *, settings: Settings | None = None
) -> tuple[pd.DataFrame, LoadReport]:
    """Load the NPA groups: the NPAs of each town, City Council district and County Commission district.

    Returns
    -------
    groups : pandas.DataFrame
        Tidy, one row per NPA and group: ``npa`` (int), ``group_type`` (``jurisdiction``,
        ``city_council``, ``county_commission``; another key of the file is kept in lower case with
        ``_`` for spaces), ``group`` (``"Charlotte"``, ``"1"`` ...). An NPA may be in several groups of
        one type (NPA 397 is listed in Cornelius and in Huntersville).
    report : LoadReport
        Rows are the file's NPA entries in order (1-based); an id that is not a whole number, or
        listed twice in one group, is set aside. A file that is not JSON laid out as
        ``{group type: {group: [NPA id, ...]}}`` raises :class:`DataFileError` or :class:`SchemaError`.
    """
    p = data_path(path, "npa_groups", settings)
    try:
        data = json.loads(p.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{p}: is not a readable JSON file ({exc}).") from None
    if not isinstance(data, dict) or not all(
        isinstance(g, dict) and all(isinstance(ids, list) for ids in g.values()) for g in data.values()
    ):
        raise SchemaError(
            f"{p}: expected {{group type: {{group name: [NPA id, ...]}}}} (e.g. 'Jurisdiction' -> 'Charlotte' -> ids)."
        )
    records = [
        (GROUP_TYPES.get(gt, re.sub(r"\W+", "_", str(gt).strip().lower())), str(name).strip(), raw)
        for gt, groups in data.items()
        for name, ids in groups.items()
        for raw in ids
    ]
    report = LoadReport("npa_groups", str(p), rows_read=len(records))
    rows = np.arange(1, len(records) + 1)
    df = pd.DataFrame(records, columns=["group_type", "group", "raw"])
    npa = pd.to_numeric(df["raw"].astype(str).str.strip(), errors="coerce")
    bad = (npa.isna() | (npa % 1 != 0)).to_numpy()
    report.add("set_aside", "npa", "NPA id is not a whole number", rows[bad])
    df["npa"] = npa
    dup = df.duplicated(["group_type", "group", "npa"]).to_numpy() & ~bad
    report.add("set_aside", "npa", "NPA listed twice in the same group (kept once)", rows[dup])
    missing = [gt for gt in GROUP_TYPES.values() if gt not in set(df["group_type"])]
    if missing:
        report.notes.append(f"group type(s) absent from the file: {', '.join(missing)}")
    out = df.loc[~(bad | dup), ["npa", "group_type", "group"]].astype({"npa": int})
    return out.sort_values(["group_type", "group", "npa"], kind="stable").reset_index(drop=True), report


@dataclass(frozen=True)
class ReferenceLayers:
    """The reference layers, each a clean GeoDataFrame in the analysis CRS (see the loaders for columns).

    A layer that was not loaded (``missing="skip"``) is an empty frame.
    """

    zipcodes: gpd.GeoDataFrame
    historic_districts: gpd.GeoDataFrame
    council_districts: gpd.GeoDataFrame
    landmarks: gpd.GeoDataFrame
    railroads: gpd.GeoDataFrame
    greenways: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame

    def items(self) -> list[tuple[str, gpd.GeoDataFrame]]:
        """``(name, frame)`` of every layer, in field order."""
        return [(f.name, getattr(self, f.name)) for f in fields(self)]


#: The columns of each layer (besides ``geometry``), for an empty layer of the same shape.
LAYER_COLUMNS: dict[str, tuple[str, ...]] = {
    "zipcodes": ("row", "zipcode", "post_office_city"),
    "historic_districts": ("row", "name", "designation"),
    "council_districts": ("row", "district", "name"),
    "landmarks": ("row", "kind", "name", "category", "address"),
    "railroads": ("row", "name"),
    "greenways": ("row", "name", "surface"),
    "roads": ("row", "objectid", "name", "street_type", "road_class"),
}


def _empty(name: str, crs: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: [] for c in LAYER_COLUMNS[name]}, geometry=[], crs=crs)


#: Each reference line and polygon layer -> its loader (landmarks have their own kinds).
LAYER_LOADERS: dict[str, Callable[..., tuple[gpd.GeoDataFrame, LoadReport]]] = {
    "zipcodes": load_zipcodes,
    "historic_districts": load_historic_districts,
    "council_districts": load_council_districts,
    "railroads": load_railroads,
    "greenways": load_greenways,
    "roads": load_state_roads,
}


def load_reference_layers(
    *, settings: Settings | None = None, missing: Literal["raise", "skip"] = "raise"
) -> tuple[ReferenceLayers, dict[str, LoadReport]]:
    """Load every reference layer from the data folder.

    Parameters
    ----------
    settings
        Settings (data folder, analysis CRS).
    missing
        ``"skip"``: a layer whose file is not fetched comes out empty, and its report says why
        (the files are optional: ``python -m geo fetch --mirror ../shared/data`` copies them).

    Returns
    -------
    layers : ReferenceLayers
    reports : dict
        Layer name -> its :class:`LoadReport`.
    """
    s = settings_or_default(settings)
    frames: dict[str, gpd.GeoDataFrame] = {}
    reports: dict[str, LoadReport] = {}
    for name, loader in LAYER_LOADERS.items():
        try:
            frames[name], reports[name] = loader(settings=s)
        except DataFileError as exc:
            if missing == "raise":
                raise
            frames[name] = _empty(name, s.analysis_crs)
            reports[name] = LoadReport(name, "", notes=[f"not loaded: {exc}"])
    frames["landmarks"], reports["landmarks"] = load_landmarks(settings=s, missing=missing)
    return ReferenceLayers(**frames), reports
