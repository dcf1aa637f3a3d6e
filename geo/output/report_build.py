"""Build the one-page reports from the layers: a neighborhood (NPA) and a police division.

The content of :class:`geo.output.report.Report`, written out by
:func:`geo.output.report.report_html` and :func:`geo.output.pdf.report_pdf`:

- :func:`neighborhood_report`: the lines of :func:`geo.output.narrative.neighborhood_card`,
  the NPA's residents, its violent-crime rate with an exact (Garwood) 95 % Poisson
  interval next to the rate of all NPAs with data, its local Moran hot-spot result with
  the pseudo p and the false-discovery-rate cutoff, and its division's stops; a map of
  the NPA among its neighbours.
- :func:`division_report`: a division's stops, searches and arrests, overall and by
  driver group (shares with 95 % Wilson intervals, ratios to the reference group with
  Koopman intervals, from :func:`geo.analysis.disparity.rates`), and stops per 1,000
  residents (a rough benchmark: residents are not drivers); a map of the division
  among the others.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.analysis.disparity import Outcome, rates
from geo.caveats import (
    BENCHMARK_CAVEAT,
    CENSUS_DRIVER_GROUPS,
    RATE_CAVEAT,
    RATIO_CAVEAT,
    SMALL_CELL_CAVEAT,
    SMALL_CELL_NOTE,
    STOPS_NO_COORDINATES,
)
from geo.errors import ValueDomainError, quote_values
from geo.ingest.boundaries import DIVISION_VINTAGES
from geo.ingest.sources import CORE_NPA_METRICS
from geo.layers.filters import StopFilter
from geo.output import _report_map
from geo.output.narrative import HOTSPOT_WORDS, neighborhood_card
from geo.output.report import NumberRow, NumberTable, Report, ReportMap, check_link, data_dates, plain_text
from geo.settings import Settings, get_settings
from geo.stats.proportions import poisson_interval, wilson
from geo.text import escape_md
from geo.vocab import GROUP_POPULATION, OTHER

__all__ = ["neighborhood_report", "division_report"]


_QOL_METRICS = tuple(f"npa_metric_{m}" for m in CORE_NPA_METRICS)
_DIVISION_FILES = tuple(DIVISION_VINTAGES)


def _fmt(x: float, spec: str) -> str:
    return format(x, spec) if np.isfinite(x) else "not available"


def _between(lo: float, hi: float, spec: str) -> str:
    return f"{format(lo, spec)} to {format(hi, spec)}" if np.isfinite(lo) and np.isfinite(hi) else ""


def _number(value: object) -> float:
    """A cell as a float (missing or not a number: NaN)."""
    x = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return float(x) if pd.notna(x) else np.nan


def _per_1000(count: float, base: float) -> tuple[float, float, float]:
    """``count`` per 1,000 of ``base`` with its exact (Garwood) 95 % Poisson interval; NaN without a base."""
    if not (np.isfinite(count) and np.isfinite(base) and base > 0):
        return np.nan, np.nan, np.nan
    lo, hi = poisson_interval(count)
    return count / base * 1000, float(lo) / base * 1000, float(hi) / base * 1000


def _rate_row(label: str, count: float, base: float, note: str, *, spec: str = ",.1f") -> NumberRow:
    rate, lo, hi = _per_1000(count, base)
    return NumberRow(label, _fmt(rate, spec), _between(lo, hi, spec), note, lo, hi)


def _share_row(label: str, count: int, nobs: int, note: str) -> NumberRow:
    """A share with its 95 % Wilson interval (``"no stops"`` when ``nobs`` is 0)."""
    if nobs <= 0:
        return NumberRow(label, "no stops", "", note)
    lo, hi = (float(v[0]) for v in wilson(np.array([count]), np.array([nobs])))
    return NumberRow(
        label, f"{count / nobs:.1%}", _between(lo, hi, ".1%"), f"{count:,} of {nobs:,} stops; {note}", lo, hi
    )


def _geometries(layer: gpd.GeoDataFrame, crs: str) -> gpd.GeoSeries:
    geoms = layer.geometry
    return geoms if geoms.crs is None or geoms.crs.equals(crs) else geoms.to_crs(crs)


def _npa_rows(
    layer: gpd.GeoDataFrame, r: pd.Series, year: int, h: pd.Series | None, hotspots: pd.DataFrame
) -> list[NumberRow]:
    """Residents, the violent-crime rate and the city's, the hot-spot result of one NPA."""
    crimes, base = _number(r.get(f"violent_crimes_{year}")), _number(r.get(f"rate_pop_{year}"))
    all_crimes = pd.to_numeric(layer[f"violent_crimes_{year}"], errors="coerce")
    all_base = pd.to_numeric(layer[f"rate_pop_{year}"], errors="coerce")
    used = all_crimes.notna() & (all_base > 0)
    rows = [
        NumberRow("Residents (2020)", _fmt(_number(r.get("pop_2020")), ",.0f"), "", "2020 census count"),
        _rate_row(
            f"Violent crimes per 1,000 residents ({year})", crimes, base,
            f"{_fmt(crimes, ',.0f')} violent crimes; {_fmt(base, ',.0f')} residents that year; exact Poisson interval",
        ),
        _rate_row(
            f"All NPAs with data and residents ({year})", float(all_crimes[used].sum()), float(all_base[used].sum()),
            f"{int(used.sum())} NPAs together",
        ),
    ]  # fmt: skip
    if h is not None:
        cluster, p, cut = str(h["cluster"]), float(h["p"]), float(h["cutoff"])
        words = plain_text(HOTSPOT_WORDS.get(cluster, cluster))
        tested = cluster not in ("Isolated", "Undefined") and np.isfinite(p)
        n = int(np.isfinite(pd.to_numeric(hotspots["p"], errors="coerce")).sum())
        rule = (
            f"significant when p ≤ {cut:.4f}, the false-discovery-rate cutoff over {n} areas"
            if cut > 0
            else f"no area of {n} passes the false-discovery-rate correction"
        )
        rows.append(
            NumberRow(
                f"Hot spot ({year}, local Moran's I)", cluster, f"pseudo p = {p:.3f}" if tested else "not tested",
                f"This area is {words}" + (f"; {rule}" if tested else ""),
            )
        )  # fmt: skip
    return rows


def _npa_division_rows(r: pd.Series, divisions: gpd.GeoDataFrame, where: str) -> list[NumberRow]:
    """The stops of the NPA's division (figures per division only: stops have no locations)."""
    div = r.get("division")
    if not (isinstance(div, str) and div):
        return [NumberRow("Police division", "none", "", "outside CMPD's divisions (a town with its own police)")]
    rows = [NumberRow("Police division", div, "", "the division covering most of this area")]
    d = divisions.loc[divisions["division"] == div]
    if d.empty:
        return rows
    d0 = d.iloc[0]
    stops, searches = int(d0["stops"]), int(d0["searches"])
    rows.append(NumberRow("Traffic stops in the division", f"{stops:,}", "", where))
    rows.append(_share_row("Division search rate", searches, stops, "95% Wilson interval"))
    rows.append(
        _rate_row(
            "Division stops per 1,000 residents", stops, _number(d0.get("pop_2020")),
            "a rough benchmark: residents are not drivers", spec=",.0f",
        )
    )  # fmt: skip
    return rows


def _describe(filters: StopFilter | None) -> str:
    return filters.describe() if filters is not None else "all stops"


def neighborhood_report(
    npa_layer: gpd.GeoDataFrame,
    hotspots: pd.DataFrame,
    divisions: gpd.GeoDataFrame,
    *,
    npa_id: int,
    year: int,
    link: str | None = None,
    filters: StopFilter | None = None,
    roads: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    settings: Settings | None = None,
) -> Report:
    """The one-page report of NPA ``npa_id``: the neighborhood card, its numbers, a map.

    Parameters
    ----------
    npa_layer
        :func:`geo.layers.build.npa_layer` (catalogue layer ``npa``).
    hotspots
        :func:`geo.analysis.neighborhood.npa_hotspots` of ``year``.
    divisions
        The division layer counting the stops of ``filters`` (catalogue layer ``divisions``).
    npa_id, year
        The NPA and the crime year.
    link
        The same view in the app (``http(s)://``), printed at the foot.
    filters
        The stop filter behind ``divisions`` (described on the page only).
    roads
        Road lines for the map (any CRS), e.g. the state-maintained roads; none by default.
    settings
        Where the data folder (and its fetch manifest) is, and the analysis CRS.

    Raises
    ------
    ValueDomainError
        Unknown NPA (the message gives the range), or a link that is not an http(s) address.
    """
    s = settings if settings is not None else get_settings()
    link = check_link(link)
    card = neighborhood_card(npa_layer, hotspots, divisions, npa_id=npa_id, year=year)
    pos = int(np.flatnonzero((npa_layer["npa"] == npa_id).to_numpy())[0])
    r = npa_layer.iloc[pos]
    hs = hotspots.loc[hotspots["npa"] == npa_id]
    where = _describe(filters)
    tables = [
        NumberTable(
            f"NPA {int(npa_id)}", tuple(_npa_rows(npa_layer, r, year, hs.iloc[0] if len(hs) else None, hotspots))
        )
    ]
    tables.append(
        NumberTable(f"Its police division (traffic stops: {where})", tuple(_npa_division_rows(r, divisions, where)))
    )
    years = sorted(int(c.rsplit("_", 1)[1]) for c in npa_layer.columns if c.startswith("violent_crimes_"))
    dates = data_dates(
        [
            ("Neighborhood boundaries (Quality of Life Explorer NPAs)", ("npa_geography",), ""),
            ("Crime counts and population (Quality of Life Explorer)", _QOL_METRICS,
             f"fiscal years {years[0]}-{years[-1]}" if years else ""),
            ("CMPD police divisions", _DIVISION_FILES, ""),
            ("CMPD traffic stops (division figures)", ("stops",), ""),
        ],
        settings=s,
    )  # fmt: skip
    geoms = _geometries(npa_layer, s.analysis_crs)
    area = geoms.iloc[pos]
    frame = _report_map.frame_around(area, grow=0.9, pad=1500.0)
    near = np.sort(geoms.sindex.query(shapely.box(*frame), predicate="intersects"))
    div = r.get("division")
    place = div if isinstance(div, str) and div else "outside CMPD's divisions"
    return Report(
        kind="npa", ident=str(int(npa_id)), title=card.title,
        subtitle=f"Violent-crime year {year} · {place} · traffic stops: {where}",
        summary=tuple(card.lines), tables=tuple(tables), caveats=tuple(card.caveats), data_dates=dates, link=link,
        map=ReportMap(
            area=area, context=tuple(geoms.iloc[i] for i in near if i != pos),
            roads=_report_map.road_lines(roads, frame, s.analysis_crs), frame=frame, label=f"NPA {int(npa_id)}",
            crs=s.analysis_crs,
        ),
    )  # fmt: skip


def _unit_rows(table: pd.DataFrame, unit: str) -> pd.DataFrame:
    return table.loc[table["unit"].astype(str) == unit]


def _group_table(title: str, groups: pd.DataFrame, base: str) -> NumberTable:
    """Rates of one outcome by driver group in one division, with ratios to the reference group."""
    rows = []
    for g in groups.itertuples(index=False):
        note = f"{int(g.count):,} of {int(g.denominator):,} {base}"
        if g.is_reference:
            note += "; reference group"
        elif np.isfinite(g.ratio):
            note += f"; {g.ratio:.2f} × {g.reference} ({_between(g.ratio_lo, g.ratio_hi, '.2f')})"
        if g.small_cell:
            note += f"; {SMALL_CELL_NOTE}"
        rows.append(NumberRow(f"{g.group} drivers", f"{g.rate:.1%}", _between(g.lo, g.hi, ".1%"), note, g.lo, g.hi))
    if not rows:
        rows.append(NumberRow("All drivers", "no stops", "", "the filter leaves no stops in this division"))
    return NumberTable(title, tuple(rows))


def _ratio_line(groups: pd.DataFrame) -> str | None:
    """Search rates of the larger groups against the reference group's, in words (Markdown)."""
    others = groups.loc[~groups["is_reference"] & ~groups["small_cell"] & np.isfinite(groups["ratio"])]
    others = others.loc[others["group"].astype(str) != OTHER]
    if others.empty or groups["reference"].isna().all():
        return None
    parts = [
        f"{escape_md(g.group)} {g.ratio:.1f} times (95% interval {_between(g.ratio_lo, g.ratio_hi, '.1f')})"
        for g in others.itertuples(index=False)
    ]
    ref = escape_md(groups["reference"].iloc[0])
    return f"**Search rates by driver group,** against {ref} drivers' rate: " + "; ".join(parts) + "."


def _division_summary(
    division: str, n: int, where: str, period: str, totals: dict[str, pd.DataFrame], per: tuple[float, float]
) -> list[str]:
    lines = [f"**Traffic stops ({period}):** {n:,} in {escape_md(division)} ({escape_md(where)})."]
    for outcome, word in (("search", "Searches"), ("arrest", "Arrests")):
        t = totals[outcome]
        mine = t.loc[t["group"].astype(str) == division]
        city = t["count"].sum() / t["denominator"].sum()
        if mine.empty:
            lines.append(f"**{word}:** none (no stops); all stops: {city:.1%}.")
            continue
        m = mine.iloc[0]
        lines.append(
            f"**{word}:** {int(m['count']):,} ({m['rate']:.1%} of stops, 95% interval "
            f"{_between(m['lo'], m['hi'], '.1%')}); all stops: {city:.1%}."
        )
    rate, city_rate_ = per
    lines.append(
        f"**Stops per 1,000 residents:** {_fmt(rate, ',.0f')} (all divisions: {_fmt(city_rate_, ',.0f')}), a rough "
        "benchmark only: residents are not drivers."
    )
    return lines


def _benchmark_table(mine: pd.DataFrame, d: pd.Series) -> NumberTable:
    """Stops per 1,000 residents of each census group (residents are not drivers)."""
    rows = [_rate_row("All residents", len(mine), _number(d.get("pop_2020")), f"{len(mine):,} stops", spec=",.0f")]
    groups = mine["driver_group"].astype(str)
    for group, col in GROUP_POPULATION.items():
        n = int((groups == group).sum())
        pop = _number(d.get(col))
        rows.append(
            _rate_row(
                f"{group} residents",
                n,
                pop,
                f"{n:,} stops of {group} drivers; {_fmt(pop, ',.0f')} residents",
                spec=",.0f",
            )
        )
    return NumberTable("Stops per 1,000 residents (2020), a rough benchmark", tuple(rows))


def division_report(
    division_layer: gpd.GeoDataFrame,
    stops: pd.DataFrame,
    *,
    division: str,
    filters: StopFilter | None = None,
    link: str | None = None,
    roads: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    settings: Settings | None = None,
) -> Report:
    """The one-page report of one police division: its stops, searches and arrests by driver group.

    Rates are shares of stops with 95 % Wilson intervals and ratios to White drivers'
    rate with Koopman intervals (:func:`geo.analysis.disparity.rates`); stops per 1,000
    residents with exact Poisson intervals, a rough benchmark (residents are not drivers).

    Parameters
    ----------
    division_layer
        :func:`geo.layers.build.division_layer` (its geometry and 2020 population are used).
    stops
        The clean stops frame (:func:`geo.layers.build.stops`), unfiltered.
    division
        The division's name (``DNAME``), e.g. ``"Central Division"``.
    filters
        Which stops count (period, reason ...); all by default.
    link, roads, settings
        As for :func:`neighborhood_report`.

    Raises
    ------
    ValueDomainError
        Unknown division (the message lists them), or a bad link.
    EmptyInputError
        The filter leaves no stops.
    """
    s = settings if settings is not None else get_settings()
    link = check_link(link)
    names = division_layer["division"].astype(str)
    if not (names == division).any():
        raise ValueDomainError(f"There is no division {division!r}; choose one of {quote_values(sorted(names))}.")
    pos = int(np.flatnonzero((names == division).to_numpy())[0])
    d = division_layer.iloc[pos]
    data = filters.apply(stops) if filters is not None else stops
    where = _describe(filters)
    mine = data.loc[data["division"].astype(str) == division]
    period = f"{data['month'].min():%Y-%m} to {data['month'].max():%Y-%m}"
    outcomes: tuple[Outcome, ...] = ("search", "arrest")
    totals: dict[str, pd.DataFrame] = {o: rates(data, outcome=o, by="division", reference=None) for o in outcomes}
    groups = {o: _unit_rows(rates(data, outcome=o, by="driver_group", per="division"), division) for o in outcomes}
    in_divs = data["division"].astype(str).isin(names)
    city_per = _per_1000(float(in_divs.sum()), float(pd.to_numeric(division_layer["pop_2020"]).sum()))[0]
    per = (_per_1000(len(mine), _number(d.get("pop_2020")))[0], city_per)
    summary = _division_summary(division, len(mine), where, period, totals, per)
    ratio = _ratio_line(groups["search"])
    if ratio:
        summary.insert(3, ratio)
    stops_rows = (
        NumberRow("Traffic stops", f"{len(mine):,}", "", f"{period}; {where}"),
        *(_totals_row(totals[o], division, w) for o, w in (("search", "Searched"), ("arrest", "Arrested"))),
        NumberRow("Residents (2020)", _fmt(_number(d.get("pop_2020")), ",.0f"), "", "census counts of NPAs, by area"),
    )
    tables = (
        NumberTable(f"{division}: stops ({where})", stops_rows),
        _group_table("Search rate by driver group (95% Wilson interval)", groups["search"], "stops"),
        _group_table("Arrest rate by driver group (95% Wilson interval)", groups["arrest"], "stops"),
        _benchmark_table(mine, d),
    )
    small = any(g["small_cell"].any() for g in groups.values())
    caveats = (BENCHMARK_CAVEAT, STOPS_NO_COORDINATES, CENSUS_DRIVER_GROUPS, RATE_CAVEAT, RATIO_CAVEAT)
    dates = data_dates(
        [
            ("CMPD traffic stops", ("stops",), ""),
            ("CMPD police divisions", _DIVISION_FILES, ""),
            ("Population (2020 census, Quality of Life Explorer NPAs)", ("npa_geography", *_QOL_METRICS), "2020"),
        ],
        settings=s,
    )
    geoms = _geometries(division_layer, s.analysis_crs)
    frame = _report_map.frame_around(geoms.iloc[pos], grow=0.6, pad=3000.0)
    label = d.get("short_name")
    return Report(
        kind="division", ident=division, title=f"{division}: traffic stops",
        subtitle=f"CMPD traffic stops {period} · {where}", summary=tuple(summary), tables=tables,
        caveats=caveats + ((SMALL_CELL_CAVEAT,) if small else ()), data_dates=dates, link=link,
        map=ReportMap(
            area=geoms.iloc[pos], context=tuple(g for i, g in enumerate(geoms) if i != pos),
            roads=_report_map.road_lines(roads, frame, s.analysis_crs), frame=frame,
            label=str(label) if isinstance(label, str) and label else division, crs=s.analysis_crs,
        ),
    )  # fmt: skip


def _totals_row(table: pd.DataFrame, division: str, word: str) -> NumberRow:
    """The division's share of stops with the outcome, against all stops."""
    mine = table.loc[table["group"].astype(str) == division]
    city = f"all stops: {table['count'].sum() / table['denominator'].sum():.1%}"
    if mine.empty:
        return NumberRow(word, "no stops", "", city)
    m = mine.iloc[0]
    return _share_row(word, int(m["count"]), int(m["denominator"]), city)
