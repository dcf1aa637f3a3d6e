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

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.caveats import HIT_RATE_CAVEAT, RECONCILIATION_NOTE
from geo.errors import EmptyInputError, SchemaError, ValueDomainError, quote_values
from geo.ingest.odp import OdpWorkbook
from geo.ingest.report import LoadReport
from geo.layers.join import assign_to_units
from geo.stats.proportions import eb_smooth, per_population, ratio_interval, wilson
from geo.stats.significance import Z95
from geo.vocab import DRIVER_GROUP_TO_ODP, MIN_CELL, ODP_RACES, OTHER

__all__ = ["OisSummary", "ois_summary", "ois_people", "odp_yearly", "hit_rates", "reconcile_counts"]


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
        :func:`geo.ingest.points.load_ois` points (``year``; ``individuals`` and ``officers``
        counts are summed when present).
    polygons
        Divisions (``id_column="division"``) or NPAs (``id_column="npa"``), same CRS.
    id_column
        Polygon identifier.
    population
        Residents per unit: a frame indexed by unit with ``pop_column`` (e.g.
        :func:`geo.layers.build.division_population`, or :func:`geo.layers.npa_table.npa_wide`), or
        a Series. ``None``: counts only.
    pop_column
        Column of ``population`` to use.

    Returns
    -------
    OisSummary
    """
    if "year" not in ois.columns:
        raise SchemaError("The shootings layer has no 'year' column; expected geo.ingest.points.load_ois output.")
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
    res, note = _residents(totals["unit"], units, population, pop_column=pop_column)
    if note:
        notes.append(note)
    totals["residents"] = res
    totals["per_100k"], totals["lo"], totals["hi"] = per_population(totals["incidents"], res, per=1e5)
    totals["per_100k_per_year"] = totals["per_100k"] / n_years
    totals["first_year"] = y0
    totals["last_year"] = y1
    by_year, note = _by_year(df, all_units, years)
    if note:
        notes.append(note)
    by_year["residents"] = by_year["unit"].map(dict(zip(totals["unit"], res, strict=True))).astype(float)
    by_year["per_100k"] = np.where(by_year["residents"] > 0, by_year["incidents"] / by_year["residents"] * 1e5, np.nan)
    outside = int((df["unit"] == OUTSIDE).sum())
    if outside:
        notes.append(f"{outside} shooting(s) fall outside every {id_column} polygon ('{OUTSIDE}')")
    notes.append(f"shootings {y0}-{y1}; residents from the 2020 census ({pop_column})")
    return OisSummary(totals=totals, by_year=by_year, report=report, notes=notes)


def _residents(
    unit: pd.Series, units: list[str], population: pd.DataFrame | pd.Series | None, *, pop_column: str
) -> tuple[np.ndarray, str | None]:
    """Residents of each ``unit`` (missing without a population), and a note on the polygons without one."""
    if population is None:
        return np.full(len(unit), np.nan), None
    if isinstance(population, pd.DataFrame):
        if pop_column not in population.columns:
            raise SchemaError(
                f"The population table has no column {pop_column!r}; "
                f"columns: {', '.join(map(str, population.columns))}."
            )
        pop = population[pop_column]
    else:
        pop = population
    res = unit.map(pop).astype(float).to_numpy()
    missing = [u for u in units if u not in pop.index]
    return res, f"no population for {len(missing)} unit(s): {quote_values(missing)}" if missing else None


def _by_year(df: pd.DataFrame, all_units: list[str], years: pd.Series) -> tuple[pd.DataFrame, str | None]:
    """``unit, year, incidents`` for every unit and year from the first to the last; a note on years with none."""
    if not len(years):
        return pd.DataFrame(columns=["unit", "year", "incidents"]), None
    y0, y1 = int(years.min()), int(years.max())
    grid = pd.MultiIndex.from_product([all_units, range(y0, y1 + 1)], names=["unit", "year"])
    counts = df.dropna(subset=["year"]).assign(year=lambda d: d["year"].astype(int)).groupby(["unit", "year"]).size()
    by_year = counts.reindex(grid, fill_value=0).rename("incidents").reset_index()
    empty_years = sorted(set(range(y0, y1 + 1)) - set(years))
    if not empty_years:
        return by_year, None
    return by_year, f"no shootings recorded in {', '.join(map(str, empty_years))} (zeros in the yearly table)"


def ois_people(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Counts from the shootings' individual and officer tables (:func:`geo.ingest.points.load_ois_tables`).

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
            raise SchemaError(f"No {name!r} table; expected the output of geo.ingest.points.load_ois_tables.")
        t = tables[name]
        missing = [c for c in (a, b) if c not in t.columns]
        if missing:
            raise SchemaError(f"The shootings {name} table is missing column(s) {', '.join(missing)}.")
        x = t[[a, b]].astype(str).apply(lambda c: c.str.strip()).replace({"": "Not recorded", "nan": "Not recorded"})
        out[name] = x.groupby([a, b]).size().rename("count").reset_index().rename(columns={a: la, b: lb})
    return out


def _share(part: pd.Series, whole: pd.Series, *, per: float | None = None) -> np.ndarray:
    """``part / whole`` (times ``per``), missing where ``whole`` is 0."""
    share = part / whole.where(whole > 0, 1)
    return np.where(whole > 0, share if per is None else share * per, np.nan)


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
    t["search_rate"] = _share(t["searches"], t["stops"])
    t["search_lo"], t["search_hi"] = wilson(t["searches"].to_numpy(), t["stops"].to_numpy())
    t["hit_rate"] = _share(t["hits"], t["searches"])
    t["hit_lo"], t["hit_hi"] = wilson(t["hits"].to_numpy(), t["searches"].to_numpy())
    t["uof_per_10k_stops"] = _share(t["use_of_force"], t["stops"], per=1e4)
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

    Same columns as :func:`geo.analysis.disparity.rates`: ``unit`` is the year (or
    ``"YYYY-YYYY pooled"``), ``group`` the race; ``count`` hits, ``denominator``
    searches, Wilson interval, ``small_cell`` (fewer than ``min_cell`` searches),
    ``eb_rate`` (each race's yearly rates pulled toward its pooled rate),
    ``ratio`` against ``reference`` in the same year (Koopman score interval,
    :func:`geo.stats.proportions.ratio_interval`).
    Read :data:`HIT_RATE_CAVEAT` beside it.
    """
    if reference not in ODP_RACES:
        raise ValueDomainError(
            f"Hit-rate reference {reference!r} is not a race of the state data; allowed: {', '.join(ODP_RACES)}."
        )
    c = workbook.contraband.copy()
    if not include_partial:
        c = c[~c["year"].isin(workbook.partial_years)]
    if years is not None:
        y0, y1 = years
        c = c[(c["year"] >= y0) & (c["year"] <= y1)]
    if c.empty:
        raise EmptyInputError(
            f"No contraband rows for years {years}; the workbook covers {workbook.contraband['year'].min()}-{workbook.contraband['year'].max()}."
        )
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
    prior = pooled.set_index("race")
    for g in pd.unique(t["group"]):
        m = is_year & (t["group"] == g).to_numpy()
        p0 = prior.loc[g, "hits"] / max(prior.loc[g, "searches"], 1)
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
    unknown = DRIVER_GROUP_TO_ODP[OTHER]  # the state's race for a driver group it has no name for
    cmpd = stops.assign(race=stops["driver_group"].astype(str).map(DRIVER_GROUP_TO_ODP).fillna(unknown))
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
    out["ratio"] = _share(out["cmpd_stops"], out["state_stops"])
    out.attrs["note"] = RECONCILIATION_NOTE
    return out
