"""Use of force: officer-involved shootings by place and year, and the state's citywide tables.

Two sources, neither of which can be joined to the 2020-2021 stops row by row:

- **Officer-involved shootings** (CMPD, 2005-2018): incident points with companion
  individual and officer tables. :func:`ois_summary` counts incidents (and the people
  involved) per division or NPA, overall and by year, per 100,000 residents (2020
  census population) with exact Poisson intervals.
- **Open Data Policing NC** (NC SBI data, 2002-2024, citywide only):
  :func:`load_odp_workbook` reads the workbook into tidy tables; :func:`odp_yearly`
  gives stops, searches, contraband hit rates and use-of-force counts by driver race
  and year; :func:`hit_rates` is the outcome test at city level (read
  :data:`HIT_RATE_CAVEAT`); :func:`reconcile_counts` sets the CMPD stops table's yearly
  counts beside the state's for the years both cover (read :data:`RECONCILIATION_NOTE`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats

from geo import caveats, sources
from geo._errors import DataFileError, EmptyInputError, SchemaError, ValueDomainError, quote_values
from geo.disparity import MIN_CELL, Z95, eb_smooth, ratio_interval, wilson
from geo.join import assign_points
from geo.report import LoadReport
from geo.settings import Settings, get_settings

__all__ = [
    "ODP_RACES",
    "ODP_SHEETS",
    "DRIVER_GROUP_TO_ODP",
    "OIS_CAVEAT",
    "HIT_RATE_CAVEAT",
    "RECONCILIATION_NOTE",
    "UOF_CAVEAT",
    "OisSummary",
    "OdpWorkbook",
    "assign_to_units",
    "ois_summary",
    "ois_people",
    "parse_fraction",
    "load_odp_workbook",
    "odp_yearly",
    "hit_rates",
    "reconcile_counts",
]

OIS_CAVEAT = (
    "Officer-involved shootings are rare (76 incidents in 2005-2018), so rates per 100,000 residents rest on a "
    "handful of events and their intervals are wide. The population is the 2020 census, later than the "
    "shootings, and residents are not the only people police meet in a place. Counts are of incidents, "
    "not of people shot."
)
HIT_RATE_CAVEAT = (
    "Outcome (hit-rate) test: the share of searches that found contraband. If officers searched one group on "
    "less evidence, searches of that group would find contraband less often. But hit rates can differ between "
    "groups even without bias, and be equal despite it, because they average over every searched driver, not "
    "the marginal one an officer was unsure about (the infra-marginality problem). A lower hit rate for a group "
    "is a warning sign, not proof; an equal one is not an all-clear. These are citywide state figures: they "
    "cannot be broken down by division."
)
RECONCILIATION_NOTE = (
    caveats.SOURCES_COUNT_DIFFERENTLY
    + " The CMPD Officer Traffic Stops table (city open data) counts more stops in 2020 and 2021 than the state's "
    "traffic-stop database (NC SBI). Possible reasons, not verified here: which stops each treats as reportable, "
    "how each records race and ethnicity, and when each was extracted. Do not mix rates from one source with "
    "counts from the other."
)
UOF_CAVEAT = (
    "Use of force here is the state's count of stops in which force was used against the driver, by race; "
    "it is not CMPD's use-of-force report, which is not available."
)

#: Driver races of the state data, in its order ("Latinx" = Hispanic of any race).
ODP_RACES: tuple[str, ...] = ("Black", "White", "Latinx", "Asian", "Other", "Indigenous")

#: CMPD ``driver_group`` -> the state's race category.
DRIVER_GROUP_TO_ODP: dict[str, str] = {
    "White": "White",
    "Black": "Black",
    "Hispanic": "Latinx",
    "Asian": "Asian",
    "Native American": "Indigenous",
    "Other/Unknown": "Other",
}

#: Sheet -> (second key column or ``None``, kind of cells: "count" or "fraction", extra columns).
ODP_SHEETS: dict[str, tuple[str | None, str]] = {
    "TRAFFIC_STOP_CNT": (None, "count"),
    "STOP_PURPOSE": ("Stop Purpose", "count"),
    "SEARCH_BY_STOP_TYPE": ("Stop Purpose", "count"),
    "SEARCH_CNT": (None, "count"),
    "SEARCH_RATE": (None, "fraction"),
    "STOP_CAUSE_RATE": ("Stop Purpose", "fraction"),
    "CONTRABAND_RATE": (None, "fraction"),
    "USE_OF_FORCE": ("Stop Purpose", "count"),
}

#: A year with fewer state-reported stops than this is flagged as partial (2024 has 51).
PARTIAL_YEAR_STOPS = 1000


# --------------------------------------------------------------------------- shootings


def assign_to_units(points: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, *, id_column: str) -> tuple[pd.Series, LoadReport]:
    """Assign each point to the polygon containing it (the one swappable spatial step).

    Uses :func:`geo.join.assign_points` (a point on a shared boundary goes to the
    smallest id; points outside every polygon get a missing id and are reported).

    Returns
    -------
    unit : pandas.Series
        Aligned to ``points``; missing outside every polygon.
    report : LoadReport
    """
    pts = points[[points.geometry.name]].copy()
    if "row" in points.columns:
        pts["row"] = points["row"].to_numpy()
    assigned, report = assign_points(pts, polygons[[id_column, polygons.geometry.name]], id_column=id_column, out_column="_unit")
    return pd.Series(assigned["_unit"].to_numpy(), index=points.index, name=id_column), report


def _poisson(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = np.asarray(k, dtype=float)
    lo = np.where(k > 0, stats.chi2.ppf(0.025, 2 * k) / 2, 0.0)
    hi = stats.chi2.ppf(0.975, 2 * k + 2) / 2
    return lo, hi


@dataclass
class OisSummary:
    """Officer-involved shootings per unit.

    Attributes
    ----------
    totals
        One row per unit (every polygon, zeros included, plus ``"Outside every unit"``
        when points fall outside): ``unit, incidents, individuals, officers, residents,
        per_100k, lo, hi, per_100k_per_year, first_year, last_year``.
    by_year
        ``unit, year, incidents, residents, per_100k`` for every unit and every year from
        the first to the last (zeros included).
    report
        Points outside every polygon, on shared boundaries.
    notes
        Plain-language notes (years covered, population year).
    """

    totals: pd.DataFrame
    by_year: pd.DataFrame
    report: LoadReport
    notes: list[str] = field(default_factory=list)


OUTSIDE = "Outside every unit"


def ois_summary(
    ois: gpd.GeoDataFrame,
    polygons: gpd.GeoDataFrame,
    *,
    id_column: str,
    population: pd.DataFrame | pd.Series | None = None,
    pop_column: str = "pop_2020",
) -> OisSummary:
    """Count officer-involved shootings per polygon, overall and by year, per 100,000 residents.

    Parameters
    ----------
    ois
        :func:`geo.load.load_ois` points (``year``; ``individuals`` and ``officers``
        counts are summed when present).
    polygons
        Divisions (``id_column="division"``) or NPAs (``id_column="npa"``), same CRS.
    id_column
        Polygon identifier.
    population
        Residents per unit: a frame indexed by unit with ``pop_column`` (e.g.
        :func:`geo.layers.division_population`, or :func:`geo.aggregate.npa_wide`), or
        a Series. ``None``: counts only.
    pop_column
        Column of ``population`` to use.

    Returns
    -------
    OisSummary
    """
    if "year" not in ois.columns:
        raise SchemaError("The shootings layer has no 'year' column; expected geo.load.load_ois output.")
    if len(ois) == 0:
        raise EmptyInputError("The shootings layer has no points.")
    unit, report = assign_to_units(ois, polygons, id_column=id_column)
    units = list(polygons[id_column])
    df = pd.DataFrame(
        {
            "unit": unit.astype(object).where(unit.notna(), OUTSIDE).to_numpy(),
            "year": pd.to_numeric(ois["year"], errors="coerce").to_numpy(),
            "individuals": ois["individuals"].to_numpy() if "individuals" in ois else np.nan,
            "officers": ois["officers"].to_numpy() if "officers" in ois else np.nan,
        }
    )
    notes: list[str] = []
    no_year = int(np.isnan(df["year"].to_numpy(dtype=float)).sum())
    if no_year:
        notes.append(f"{no_year} shooting(s) without a year are in the totals but not in the yearly table")
    all_units = units + ([OUTSIDE] if (df["unit"] == OUTSIDE).any() else [])
    totals = df.groupby("unit", sort=False).agg(
        incidents=("unit", "size"), individuals=("individuals", "sum"), officers=("officers", "sum")
    )
    totals = totals.reindex(all_units).fillna(0).astype("int64")
    totals.index.name = "unit"
    totals = totals.reset_index()
    years = df["year"].dropna().astype(int)
    y0, y1 = (int(years.min()), int(years.max())) if len(years) else (np.nan, np.nan)
    n_years = (y1 - y0 + 1) if len(years) else np.nan
    if population is not None:
        pop = population[pop_column] if isinstance(population, pd.DataFrame) else population
        if isinstance(population, pd.DataFrame) and pop_column not in population.columns:
            raise SchemaError(f"The population table has no column {pop_column!r}; columns: {', '.join(map(str, population.columns))}.")
        res = totals["unit"].map(pop).astype(float).to_numpy()
        missing = [u for u in units if u not in pop.index]
        if missing:
            notes.append(f"no population for {len(missing)} unit(s): {quote_values(missing)}")
    else:
        res = np.full(len(totals), np.nan)
    ok = np.isfinite(res) & (res > 0)
    k = totals["incidents"].to_numpy(dtype=float)
    lo, hi = _poisson(k)
    safe = np.where(ok, res, 1.0)
    totals["residents"] = res
    totals["per_100k"] = np.where(ok, k / safe * 1e5, np.nan)
    totals["lo"] = np.where(ok, lo / safe * 1e5, np.nan)
    totals["hi"] = np.where(ok, hi / safe * 1e5, np.nan)
    totals["per_100k_per_year"] = totals["per_100k"] / n_years
    totals["first_year"] = y0
    totals["last_year"] = y1
    if len(years):
        grid = pd.MultiIndex.from_product([all_units, range(y0, y1 + 1)], names=["unit", "year"])
        by_year = df.dropna(subset=["year"]).assign(year=lambda d: d["year"].astype(int)).groupby(["unit", "year"]).size()
        by_year = by_year.reindex(grid, fill_value=0).rename("incidents").reset_index()
        empty_years = sorted(set(range(y0, y1 + 1)) - set(years))
        if empty_years:
            notes.append(f"no shootings recorded in {', '.join(map(str, empty_years))} (zeros in the yearly table)")
    else:
        by_year = pd.DataFrame(columns=["unit", "year", "incidents"])
    by_year["residents"] = by_year["unit"].map(dict(zip(totals["unit"], res, strict=True))).astype(float)
    by_year["per_100k"] = np.where(by_year["residents"] > 0, by_year["incidents"] / by_year["residents"] * 1e5, np.nan)
    outside = int((df["unit"] == OUTSIDE).sum())
    if outside:
        notes.append(f"{outside} shooting(s) fall outside every {id_column} polygon ('{OUTSIDE}')")
    notes.append(f"shootings {y0}-{y1}; residents from the 2020 census ({pop_column})")
    return OisSummary(totals=totals, by_year=by_year, report=report, notes=notes)


def ois_people(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Counts from the shootings' individual and officer tables (:func:`geo.load.load_ois_tables`).

    Returns
    -------
    dict
        ``individuals``: ``individual_race`` × ``individual_injury_type`` counts (long:
        ``race, injury, count``); ``officers``: ``officer_race`` × ``officer_gender``
        (``race, gender, count``). Blank values are counted as ``"Not recorded"``.
    """
    out = {}
    for name, (a, b, la, lb) in {
        "individuals": ("individual_race", "individual_injury_type", "race", "injury"),
        "officers": ("officer_race", "officer_gender", "race", "gender"),
    }.items():
        if name not in tables:
            raise SchemaError(f"No {name!r} table; expected the output of geo.load.load_ois_tables.")
        t = tables[name]
        missing = [c for c in (a, b) if c not in t.columns]
        if missing:
            raise SchemaError(f"The shootings {name} table is missing column(s) {', '.join(missing)}.")
        x = t[[a, b]].astype(str).apply(lambda c: c.str.strip()).replace({"": "Not recorded", "nan": "Not recorded"})
        out[name] = x.groupby([a, b]).size().rename("count").reset_index().rename(columns={a: la, b: lb})
    return out


# --------------------------------------------------------------------------- Open Data Policing workbook

_FRACTION = re.compile(r"^\s*(\d{1,3}(?:,\d{3})*|\d+)\s*/\s*(\d{1,3}(?:,\d{3})*|\d+)\s*$")


def parse_fraction(text: object) -> tuple[int, int]:
    """Parse ``"1,792 / 39,207"`` (or ``"477/10,327"``) into ``(1792, 39207)``.

    Raises
    ------
    ValueDomainError
        If the text is not two whole numbers separated by ``/`` (thousands separated by
        commas or not), or the numerator exceeds the denominator.
    """
    m = _FRACTION.match(str(text)) if isinstance(text, str) else None
    if m is None:
        raise ValueDomainError(f"{text!r} is not a count of the form 'searches / stops' (e.g. '1,792 / 39,207').")
    num, den = (int(g.replace(",", "")) for g in m.groups())
    if num > den:
        raise ValueDomainError(f"{text!r}: the numerator {num:,} exceeds the denominator {den:,}.")
    return num, den


@dataclass
class OdpWorkbook:
    """The Open Data Policing NC workbook as tidy tables (citywide, by year and driver race).

    Attributes
    ----------
    stops
        ``year, race, stops`` (TRAFFIC_STOP_CNT).
    stop_purpose
        ``year, purpose, race, stops`` (STOP_PURPOSE).
    searches
        ``year, race, searches`` (SEARCH_CNT).
    search_rate
        ``year, race, searches, stops`` (SEARCH_RATE; race includes the sheet's ``Total``).
    search_type
        ``year, search_type, race, searches`` (SEARCH_BY_STOP_TYPE: consent, probable cause ...).
    search_by_purpose
        ``year, purpose, race, searches, stops`` (STOP_CAUSE_RATE).
    contraband
        ``year, race, hits, searches`` (CONTRABAND_RATE).
    use_of_force
        ``year, purpose, race, count`` (USE_OF_FORCE).
    partial_years
        Years with fewer than :data:`PARTIAL_YEAR_STOPS` stops (2024).
    """

    stops: pd.DataFrame
    stop_purpose: pd.DataFrame
    searches: pd.DataFrame
    search_rate: pd.DataFrame
    search_type: pd.DataFrame
    search_by_purpose: pd.DataFrame
    contraband: pd.DataFrame
    use_of_force: pd.DataFrame
    partial_years: list[int] = field(default_factory=list)


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _read_sheet(ws, sheet: str, path: Path, report: LoadReport, errors: list[str]) -> pd.DataFrame:
    key_col, kind = ODP_SHEETS[sheet]
    rows = list(ws.iter_rows(values_only=True))
    if not rows:
        errors.append(f"sheet {sheet}: empty")
        return pd.DataFrame()
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    expected = ["Year", *([key_col] if key_col else []), *ODP_RACES]
    missing = [c for c in expected if c not in header]
    if missing:
        errors.append(f"sheet {sheet}: missing column(s) {', '.join(missing)} in row 1 (found {', '.join(h for h in header if h)})")
        return pd.DataFrame()
    value_cols = [*ODP_RACES, *(["Total"] if "Total" in header else [])]
    pos = {c: header.index(c) for c in header if c}
    records = []
    empty_rows = []
    bad: list[str] = []
    for r, row in enumerate(rows[1:], start=2):
        row = list(row) + [None] * (len(header) - len(row))
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            empty_rows.append(r)
            continue
        year = row[pos["Year"]]
        try:
            year = int(year)
            if not 1990 <= year <= 2100 or float(row[pos["Year"]]) != year:
                raise ValueError
        except (TypeError, ValueError):
            bad.append(f"{sheet}!{_col_letter(pos['Year'])}{r} = {row[pos['Year']]!r} (not a year)")
            continue
        key = str(row[pos[key_col]]).strip() if key_col else None
        for race in value_cols:
            cell = row[pos[race]]
            ref = f"{sheet}!{_col_letter(pos[race])}{r}"
            if kind == "count":
                if isinstance(cell, bool) or not isinstance(cell, (int, float)) or cell < 0 or float(cell) != int(cell):
                    if isinstance(cell, str) and cell.replace(",", "").strip().isdigit():
                        cell = int(cell.replace(",", "").strip())
                    else:
                        bad.append(f"{ref} = {cell!r} (not a count)")
                        continue
                records.append((year, key, race, int(cell), np.nan))
            else:
                try:
                    num, den = parse_fraction(cell)
                except ValueDomainError:
                    bad.append(f"{ref} = {cell!r} (not 'a / b' with a <= b)")
                    continue
                records.append((year, key, race, num, den))
    if bad:
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        errors.append(f"sheet {sheet}: {len(bad)} bad cell(s): " + "; ".join(bad[:5]) + more)
    report.rows_read += len(rows) - 1
    report.add("set_aside", sheet, "empty row", [r - 1 for r in empty_rows], file=sheet)
    return pd.DataFrame(records, columns=["year", "key", "race", "a", "b"])


def load_odp_workbook(path: str | Path | None = None, *, settings: Settings | None = None) -> tuple[OdpWorkbook, LoadReport]:
    """Read the Open Data Policing NC workbook for CMPD (citywide, 2002-2024).

    Parameters
    ----------
    path
        The ``.xlsx`` file; by default ``sources.resolve("odp_workbook", data_dir)``.
    settings
        Settings (data folder).

    Returns
    -------
    workbook : OdpWorkbook
    report : LoadReport
        Empty rows set aside (per sheet; row numbers are data rows), partial years.

    Raises
    ------
    DataFileError
        The file is missing or not an xlsx workbook.
    SchemaError
        A sheet or a column is missing.
    ValueDomainError
        Cells that are not counts or not ``"a / b"`` fractions (every one listed by
        sheet and cell, e.g. ``SEARCH_RATE!B5``).
    """
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    s = settings if settings is not None else get_settings()
    path = Path(path) if path is not None else sources.resolve("odp_workbook", s.data_dir)
    if not path.exists():
        raise DataFileError(f"{path}: file not found.")
    if path.stat().st_size == 0:
        raise DataFileError(f"{path}: the file is empty (0 bytes); expected the Open Data Policing NC workbook (.xlsx).")
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise DataFileError(f"{path}: cannot be read as an Excel workbook ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}).") from None
    except Exception as exc:  # zipfile.BadZipFile and friends
        raise DataFileError(f"{path}: cannot be read as an Excel workbook ({type(exc).__name__}: {exc}).") from None
    try:
        missing = [sh for sh in ODP_SHEETS if sh not in wb.sheetnames]
        if missing:
            raise SchemaError(f"{path}: missing sheet(s) {', '.join(missing)}; found {', '.join(wb.sheetnames)}.")
        report = LoadReport("odp_workbook", str(path))
        errors: list[str] = []
        raw = {sh: _read_sheet(wb[sh], sh, path, report, errors) for sh in ODP_SHEETS}
    finally:
        wb.close()
    if errors:
        schema = [e for e in errors if "missing column" in e or ": empty" in e]
        cls = SchemaError if schema else ValueDomainError
        raise cls(f"{path}: {len(errors)} problem(s) in the workbook:\n  - " + "\n  - ".join(errors))

    def simple(sh: str, value: str) -> pd.DataFrame:
        d = raw[sh]
        return d.rename(columns={"a": value})[["year", "race", value]].reset_index(drop=True)

    def keyed(sh: str, key: str, value: str) -> pd.DataFrame:
        d = raw[sh]
        return d.rename(columns={"key": key, "a": value})[["year", key, "race", value]].reset_index(drop=True)

    def frac(sh: str, key: str | None, num: str, den: str) -> pd.DataFrame:
        d = raw[sh].rename(columns={"key": key or "key", "a": num, "b": den})
        cols = ["year", *([key] if key else []), "race", num, den]
        out = d[cols].reset_index(drop=True)
        out[den] = out[den].astype("int64")
        return out

    wbk = OdpWorkbook(
        stops=simple("TRAFFIC_STOP_CNT", "stops"),
        stop_purpose=keyed("STOP_PURPOSE", "purpose", "stops"),
        searches=simple("SEARCH_CNT", "searches"),
        search_rate=frac("SEARCH_RATE", None, "searches", "stops"),
        search_type=keyed("SEARCH_BY_STOP_TYPE", "search_type", "searches"),
        search_by_purpose=frac("STOP_CAUSE_RATE", "purpose", "searches", "stops"),
        contraband=frac("CONTRABAND_RATE", None, "hits", "searches"),
        use_of_force=keyed("USE_OF_FORCE", "purpose", "count"),
    )
    per_year = wbk.stops.groupby("year")["stops"].sum()
    wbk.partial_years = [int(y) for y, v in per_year.items() if v < PARTIAL_YEAR_STOPS]
    if wbk.partial_years:
        report.notes.append(
            "partial year(s) "
            + ", ".join(f"{y} ({int(per_year[y]):,} stops)" for y in wbk.partial_years)
            + ": kept, flagged partial_year"
        )
    # internal consistency the workbook should have; differences are reported, not fixed
    total = wbk.search_rate[wbk.search_rate["race"] == "Total"].set_index("year")["stops"]
    by_race = per_year.reindex(total.index)
    diff = (by_race - total)
    if (diff != 0).any():
        d = diff[diff != 0]
        report.notes.append(
            f"SEARCH_RATE's Total column counts fewer stops than the race columns in {len(d)} year(s) "
            f"(e.g. {int(d.index[0])}: {int(total[d.index[0]]):,} vs {int(by_race[d.index[0]]):,}); the race columns are used"
        )
    srch = wbk.searches.set_index(["year", "race"])["searches"]
    sr = wbk.search_rate[wbk.search_rate["race"] != "Total"].set_index(["year", "race"])["searches"]
    if not srch.reindex(sr.index).eq(sr).all():
        report.notes.append("SEARCH_CNT and SEARCH_RATE numerators differ in some cells")
    return wbk, report


def odp_yearly(workbook: OdpWorkbook, *, min_cell: int = MIN_CELL) -> pd.DataFrame:
    """Citywide yearly stops, searches, contraband hit rates and use of force by driver race.

    Returns
    -------
    pandas.DataFrame
        One row per year and race (plus race ``"All"``): ``stops, searches,
        search_rate, search_lo, search_hi, hits, hit_rate, hit_lo, hit_hi``
        (95 % Wilson), ``use_of_force`` (stops with force, summed over stop purposes),
        ``uof_per_10k_stops``, ``small_cell`` (fewer than ``min_cell`` searches: the
        hit rate is a search-based outcome), ``partial_year``.
    """
    st = workbook.stops.set_index(["year", "race"])["stops"]
    se = workbook.searches.set_index(["year", "race"])["searches"]
    cb = workbook.contraband.set_index(["year", "race"])["hits"]
    uof = workbook.use_of_force.groupby(["year", "race"])["count"].sum()
    t = pd.concat({"stops": st, "searches": se, "hits": cb, "use_of_force": uof}, axis=1).fillna(0).astype("int64")
    allr = t.groupby(level="year").sum()
    allr["race"] = "All"
    allr = allr.set_index("race", append=True)
    t = pd.concat([t, allr]).reset_index()
    order = {r: i for i, r in enumerate([*ODP_RACES, "All"])}
    t = t.sort_values(["year", "race"], key=lambda c: c.map(order) if c.name == "race" else c).reset_index(drop=True)
    t["search_rate"] = np.where(t["stops"] > 0, t["searches"] / t["stops"].where(t["stops"] > 0, 1), np.nan)
    t["search_lo"], t["search_hi"] = wilson(t["searches"].to_numpy(), t["stops"].to_numpy())
    t["hit_rate"] = np.where(t["searches"] > 0, t["hits"] / t["searches"].where(t["searches"] > 0, 1), np.nan)
    t["hit_lo"], t["hit_hi"] = wilson(t["hits"].to_numpy(), t["searches"].to_numpy())
    t["uof_per_10k_stops"] = np.where(t["stops"] > 0, t["use_of_force"] / t["stops"].where(t["stops"] > 0, 1) * 1e4, np.nan)
    t["small_cell"] = t["searches"] < min_cell
    t["partial_year"] = t["year"].isin(workbook.partial_years)
    return t


def hit_rates(
    workbook: OdpWorkbook,
    *,
    reference: str = "White",
    years: tuple[int, int] | None = None,
    min_cell: int = MIN_CELL,
    include_partial: bool = False,
) -> pd.DataFrame:
    """Contraband hit rates by driver race: each year, and pooled over ``years``.

    Same columns as :func:`geo.disparity.rates`: ``unit`` is the year (or
    ``"YYYY-YYYY pooled"``), ``group`` the race; ``count`` hits, ``denominator``
    searches, Wilson interval, ``small_cell`` (fewer than ``min_cell`` searches),
    ``eb_rate`` (each race's yearly rates pulled toward its pooled rate),
    ``ratio`` against ``reference`` in the same year (log-method interval).
    Read :data:`HIT_RATE_CAVEAT` beside it.
    """
    if reference not in ODP_RACES:
        raise ValueDomainError(f"Hit-rate reference {reference!r} is not a race of the state data; allowed: {', '.join(ODP_RACES)}.")
    c = workbook.contraband.copy()
    if not include_partial:
        c = c[~c["year"].isin(workbook.partial_years)]
    if years is not None:
        y0, y1 = years
        c = c[(c["year"] >= y0) & (c["year"] <= y1)]
    if c.empty:
        raise EmptyInputError(f"No contraband rows for years {years}; the workbook covers {workbook.contraband['year'].min()}-{workbook.contraband['year'].max()}.")
    span = f"{int(c['year'].min())}-{int(c['year'].max())} pooled"
    pooled = c.groupby("race", sort=False)[["hits", "searches"]].sum().reset_index().assign(unit=span)
    yearly = c.assign(unit=c["year"].astype(str))[["unit", "race", "hits", "searches"]]
    t = pd.concat([yearly, pooled[["unit", "race", "hits", "searches"]]], ignore_index=True)
    t = t.rename(columns={"race": "group", "hits": "count", "searches": "denominator"})
    t = t[t["denominator"] > 0].reset_index(drop=True)
    if not (t["group"] == reference).any():
        raise ValueDomainError(f"Reference {reference!r} has no searches in the selected years.")
    k = t["count"].to_numpy(float)
    n = t["denominator"].to_numpy(float)
    t.insert(0, "outcome", "contraband found")
    t.insert(1, "base", "searched stops")
    t["rate"] = k / n
    t["lo"], t["hi"] = wilson(k, n)
    t["small_cell"] = n < min_cell
    eb = np.full(len(t), np.nan)
    is_year = (t["unit"] != span).to_numpy()
    for g in pd.unique(t["group"]):
        m = is_year & (t["group"] == g).to_numpy()
        p0 = pooled.set_index("race").loc[g, "hits"] / max(pooled.set_index("race").loc[g, "searches"], 1)
        eb[m], _ = eb_smooth(k[m], n[m], prior_rate=p0)
    eb[~is_year] = t.loc[~is_year, "rate"].to_numpy()
    t["eb_rate"] = eb
    ref = t[t["group"] == reference].set_index("unit")
    c_ref = t["unit"].map(ref["count"]).to_numpy(float)
    n_ref = t["unit"].map(ref["denominator"]).to_numpy(float)
    t["reference"] = reference
    t["is_reference"] = (t["group"] == reference).to_numpy()
    ratio, rlo, rhi = ratio_interval(k, n, np.nan_to_num(c_ref), np.nan_to_num(n_ref), z=Z95)
    rlo[t["is_reference"].to_numpy()] = np.nan
    rhi[t["is_reference"].to_numpy()] = np.nan
    t["ratio"], t["ratio_lo"], t["ratio_hi"] = ratio, rlo, rhi
    t.attrs["caveat"] = HIT_RATE_CAVEAT
    return t


def reconcile_counts(stops: pd.DataFrame, workbook: OdpWorkbook) -> pd.DataFrame:
    """CMPD stops-table yearly counts beside the state's, for the years both cover.

    Returns
    -------
    pandas.DataFrame
        One row per year and group (``All`` first, then the state's races, with CMPD's
        ``driver_group`` mapped by :data:`DRIVER_GROUP_TO_ODP`): ``cmpd_stops``,
        ``state_stops``, ``difference`` (CMPD minus state), ``ratio`` (CMPD / state).
        ``attrs["note"]`` is :data:`RECONCILIATION_NOTE`.
    """
    missing = [c for c in ("year", "driver_group") if c not in stops.columns]
    if missing:
        raise SchemaError(f"The stops frame is missing column(s) {', '.join(missing)}.")
    cmpd = stops.assign(race=stops["driver_group"].astype(str).map(DRIVER_GROUP_TO_ODP).fillna("Other"))
    cmpd = cmpd.groupby(["year", "race"]).size().rename("cmpd_stops")
    cmpd_years = sorted(int(y) for y in pd.unique(stops["year"].dropna()))
    state = workbook.stops.set_index(["year", "race"])["stops"].rename("state_stops")
    years = [y for y in cmpd_years if y in set(workbook.stops["year"])]
    if not years:
        raise EmptyInputError(
            f"No year in common: the stops cover {', '.join(map(str, cmpd_years))}; the workbook "
            f"{workbook.stops['year'].min()}-{workbook.stops['year'].max()}."
        )
    rows = []
    for y in years:
        for race in ("All", *ODP_RACES):
            if race == "All":
                a = int(cmpd.loc[y].sum()) if y in cmpd.index.get_level_values(0) else 0
                b = int(state.loc[y].sum())
            else:
                a = int(cmpd.get((y, race), 0))
                b = int(state.get((y, race), 0))
            rows.append((y, race, a, b))
    out = pd.DataFrame(rows, columns=["year", "group", "cmpd_stops", "state_stops"])
    out["difference"] = out["cmpd_stops"] - out["state_stops"]
    out["ratio"] = np.where(out["state_stops"] > 0, out["cmpd_stops"] / out["state_stops"].where(out["state_stops"] > 0, 1), np.nan)
    out.attrs["note"] = RECONCILIATION_NOTE
    return out
