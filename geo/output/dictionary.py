"""The data dictionary of an export: one row per column with its meaning, units, source and year.

Every column a layer of :data:`geo.layers.catalog.CATALOG` or a hot-spot result can hold
is described here, in one registry (:data:`_EXACT` for fixed names, :data:`_RULES` for
families of names such as ``violent_crimes_YYYY`` or ``searches_<group>``). A column
the registry does not know gets the meaning :data:`NO_DESCRIPTION` and is listed by
:func:`undescribed`, so an export says which columns it cannot explain.

The dictionary is written beside a GeoJSON or CSV export as ``<name>.dictionary.csv``
and ``<name>.dictionary.json`` (:func:`dictionary_paths`), and into a GeoPackage as the
table ``<layer>_dictionary``, by :mod:`geo.output.export`.

Examples
--------
>>> describe_column("violent_rate_2022", layer="npa").units
'crimes per 1,000 residents'
>>> describe_column("searches_black", layer="divisions").label
'Searches, Black drivers'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from geo.ingest.sources import DATASETS
from geo.vocab import DRIVER_GROUPS, OTHER, STOP_CATEGORIES

__all__ = [
    "ColumnInfo",
    "DICTIONARY_COLUMNS",
    "RESULT_TABLES",
    "NO_DESCRIPTION",
    "describe_column",
    "data_dictionary",
    "undescribed",
    "dictionary_paths",
]


#: The columns of a dictionary, in order.
DICTIONARY_COLUMNS = ("name", "label", "meaning", "units", "source", "source_file", "year", "type")


#: The meaning of a column the registry does not know.
NO_DESCRIPTION = "no description"


@dataclass(frozen=True)
class ColumnInfo:
    """What one column holds.

    Attributes
    ----------
    label
        A short title (for a legend or a table header).
    meaning
        What a value is, in plain words.
    units
        Units of the values (``people``, ``share of stops (0-1)``); empty for names and labels.
    sources
        Keys of :data:`geo.ingest.sources.DATASETS` the values come from; ``analysis``
        for values this software computes from other columns.
    """

    label: str
    meaning: str
    units: str = ""
    sources: tuple[str, ...] = ()


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


#: Slugs of the stop data's groups (``native_american``) -> their words (``Native American``).
_WORDS: dict[str, str] = {
    _slug(v): v
    for v in (*DRIVER_GROUPS, *STOP_CATEGORIES["Driver_Gender"], *STOP_CATEGORIES["Driver_Ethnicity"], OTHER)
}

_STOPS = ("stops", "divisions_2025")
_DIVISION_APPORTIONED = " Apportioned from the NPAs to the division by area (areal weighting)."
_GROUPS = "Hispanic drivers of any race form one group; the race groups are non-Hispanic"
_PERIOD = "in the stop-filter period (see the metadata)"

#: NPA measures (the stem of ``<stem>_YYYY``): stem | label | meaning | units | Quality of Life metric files.
_NPA_MEASURE_FIELDS = """
pop | Population | Residents (Quality of Life Explorer population) | people | npa_metric_r47
white_nh | White residents | Residents identifying as White, non-Hispanic | people | npa_metric_r14
black_nh | Black residents | Residents identifying as Black, non-Hispanic | people | npa_metric_r15
asian_nh | Asian residents | Residents identifying as Asian, non-Hispanic | people | npa_metric_r16
other_nh | Residents of other races | Residents of other or several races, non-Hispanic | people | npa_metric_r17
hispanic | Hispanic residents | Residents identifying as Hispanic or Latino (any race) | people | npa_metric_r18
violent_crimes | Violent crimes | Violent crimes reported in the area in the year (Quality of Life Explorer, from CMPD) \
| crimes | npa_metric_r58
property_crimes | Property crimes | Property crimes reported in the area in the year (Quality of Life Explorer, from \
CMPD) | crimes | npa_metric_r59
disorder_calls | Disorder-related calls | Disorder-related calls for service (e.g. fighting, disturbing the peace) in \
the year | calls | npa_metric_r60
land_acres | Land area | Land area of the NPA (Quality of Life Explorer) | acres | npa_metric_r1
households | Households | Households in the NPA | households | npa_metric_d37
household_income_aggregate | Aggregate household income | Sum of the incomes of all households in the NPA (divide by \
households for a mean) | US dollars per year | npa_metric_r37
rate_pop | Population behind the crime rates | Residents the Quality of Life Explorer divides that year's crimes by \
(its denominator x 1,000) | people | npa_metric_d58
"""

#: ``<kind>_rate_YYYY`` of the NPAs -> (words, count column stem, units, metric files).
_NPA_RATES: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "violent": ("violent crimes", "violent_crimes", "crimes", ("npa_metric_r58", "npa_metric_d58")),
    "property": ("property crimes", "property_crimes", "crimes", ("npa_metric_r59", "npa_metric_d59")),
    "disorder": ("disorder-related calls", "disorder_calls", "calls", ("npa_metric_r60", "npa_metric_d60")),
}

_STOP_WORDS = {"stops": "Stops", "searches": "Searches", "arrests": "Arrests", "citations": "Citations"}
_STOP_MEANING = {
    "stops": "Traffic stops of {drivers}",
    "searches": "Traffic stops of {drivers} in which a search was conducted",
    "arrests": "Traffic stops of {drivers} ending in an arrest",
    "citations": "Traffic stops of {drivers} ending in a citation",
}

_LISA = ("analysis",)

#: Layer -> the data set its geometry comes from.
_GEOMETRY_SOURCES: dict[str, tuple[str, ...]] = {
    "divisions": ("divisions_2025",),
    "npa": ("npa_geography",),
    "ois": ("ois_incidents",),
    "incidents": ("incidents_points",),
    "hex": ("analysis",),
    "": (),
}

#: Columns of the point layers, the hexagons and the export itself: name | label | meaning | units | sources.
_POINT_FIELDS = """
ois.npa | NPA | Id of the NPA the point falls in (spatial join) | | npa_geography
incidents.npa | NPA | Id of the NPA the point falls in (spatial join) | | npa_geography
ois.division | Division | CMPD division the point falls in (spatial join) | | divisions_2025
incidents.division | Division | CMPD division the point falls in (spatial join) | | divisions_2025
shootings | Officer-involved shootings | Officer-involved shooting incidents 2005-2018 that fall in the unit | incidents \
| ois_incidents
cell_id | Hexagon | Id of the hexagon cell | | analysis
x | Hexagon centre x | Easting of the hexagon centre, EPSG:2264 | US survey feet | analysis
y | Hexagon centre y | Northing of the hexagon centre, EPSG:2264 | US survey feet | analysis
count | Points in the hexagon | Incident points counted in the hexagon | incidents | incidents_points
category | Category | Incident category: persons, property, society or other | | incidents_points
row | Source row | Row number of the record in the source file (1 = first data row) | |
incident_id | Incident id | The source's incident id | |
month | Month | Month of the incident (YYYY-MM) | | ois_incidents
year | Year | Calendar year of the incident | year |
location | Location | Location as given by the source | | ois_incidents
da_legal_review | DA legal review | The district attorney's legal review finding | | ois_incidents
narrative | Narrative | The source's description of the incident | | ois_incidents
in_county | In Mecklenburg County | Whether the point lies inside the county (points outside are kept) | |
individuals | Individuals | People shot at or involved, from the individuals table | people | ois_individuals
officers | Officers | Officers involved, from the officers table | officers | ois_officers
date_reported | Date reported | When the incident was reported (UTC) | date-time | incidents_sample
nibrs_code | NIBRS code | Highest NIBRS offence code of the report | | incidents_sample
nibrs_description | NIBRS description | Highest NIBRS offence of the report, in words | | incidents_sample
non_criminal | Non-criminal | NIBRS code in the 800 series (non-criminal report) | | incidents_sample
clearance_status | Clearance status | The report's clearance status | | incidents_sample
place_type | Place type | Type of place of the incident | | incidents_sample
division_reported | Division (as reported) | The source's patrol division, as DNAME | | incidents_sample
npa_reported | NPA (as reported) | The source's NPA (an older vintage; npa is re-derived spatially) | | incidents_sample
geometry_wkt | Geometry (WKT) | The unit's shape as well-known text, EPSG:4326, 6 decimals (~0.1 m) | degrees |
longitude | Longitude | Longitude of the point, EPSG:4326, 6 decimals | degrees |
latitude | Latitude | Latitude of the point, EPSG:4326, 6 decimals | degrees |
row_number | Row number | Feature number in this export (links the CSV to its geometry file) | |
"""

#: Columns added by the statistics (geo.stats.moran, getisord, emerging; geo.analysis.robustness) and
#: the parameter columns of a result layer (geo.output.results): name | label | meaning | units.
_STATISTIC_FIELDS = """
lisa_i | Local Moran's I | Local Moran's I of the unit (Anselin 1995) | index
lisa_z | Standardised value | The analysed value standardised (mean 0, standard deviation 1) | standard deviations
lisa_lag | Spatial lag | Weighted mean of the neighbours' standardised values | standard deviations
lisa_quadrant | Moran quadrant | 1 High-High, 2 Low-High, 3 Low-Low, 4 High-Low, 0 none | code
lisa_p | Pseudo p-value | Conditional-permutation p-value of the local I (two-sided) | probability
lisa_significant | Significant | Whether lisa_p is at or below the corrected cutoff (p_cutoff) |
lisa_cluster | LISA cluster | High-High, Low-Low, High-Low, Low-High, Not significant, Isolated or Undefined |
lisa_significance | Significance class | p-value class of the significant units, for a significance map |
gi_z | Gi* z-score | Getis-Ord Gi* z-score: positive where high values cluster | standard deviations
gi_g | G* | Getis-Ord G* (GeoDa's): share of the total in the unit's neighbourhood | share
gi_p_norm | Normal p-value | Two-sided p-value of gi_z under the normal approximation | probability
gi_p_sim | Pseudo p-value | Conditional-permutation p-value of Gi* | probability
gi_tail | Permutation tail | +1 upper, -1 lower, 0 tie: the tail of the permutation test | code
gi_p | p-value used | The p-value behind the bins (permutation or normal: see the metadata) | probability
gi_bin | Gi* bin | +3/+2/+1 hot spot at 99/95/90 % confidence, -3/-2/-1 cold spot, 0 not significant | code
gi_label | Gi* label | Hot or cold spot with its confidence, Not Significant, Isolated or Undefined |
moran_z | Standardised value | The analysed value standardised, for the Moran scatterplot | standard deviations
moran_lag | Spatial lag | Weighted mean of the neighbours' standardised values | standard deviations
ehsa_category | Emerging hot spot category | Emerging Hot Spot Analysis category (ArcGIS's 17, plus Isolated and Undefined) |
ehsa_trend_tau | Trend tau | Mann-Kendall tau of the unit's Gi* z-scores over the years | index (-1 to 1)
ehsa_trend_p | Trend p-value | Mann-Kendall p-value of the trend | probability
ehsa_hot_steps | Years hot | Years in which the unit was a significant hot spot | years
ehsa_cold_steps | Years cold | Years in which the unit was a significant cold spot | years
ehsa_final_z | Last year's z | Gi* z-score in the last year | standard deviations
ehsa_final_p | Last year's p | Gi* p-value in the last year | probability
robust_runs | Runs tested | Runs (weights x seeds) in which the unit was tested | runs
robust_hot | Runs hot | Runs in which the unit was a hot spot | runs
robust_cold | Runs cold | Runs in which the unit was a cold spot | runs
robust_hot_share | Share of runs hot | robust_hot / robust_runs; missing when never tested | share (0-1)
robust_cold_share | Share of runs cold | robust_cold / robust_runs; missing when never tested | share (0-1)
robust_class | Robustness class | Hot (cold) in all, most or some runs, mixed, never significant, or not tested |
method | Method | The statistic: lisa, gi, ehsa, moran or robustness (see the metadata for every option) |
weights | Spatial weights | The spatial weights, in words |
permutations | Permutations | Conditional permutations behind the pseudo p-values | permutations
seed | Seed | Random seed of the permutations |
alpha | Significance level | Significance level before the multiple-testing correction | probability
correction | Correction | Multiple-testing correction: none, fdr (Benjamini-Hochberg) or bonferroni |
cell_size_ft | Hexagon spacing | Distance between hexagon centres | feet
top_k | Top k | Cells flagged by the top-k method (the k cells with the most incidents) | cells
alternative | Alternative | The alternative hypothesis of the p-values: two-sided, greater or less |
p_cutoff | p cutoff | p-value at or below which a unit is significant, after the correction; -1: none can be | probability
"""


#: Columns of the tables of the space-time commands (``python -m geo trends | accuracy | near-repeat |
#: clearance``, :mod:`geo.cli.spacetime`) and of the Trends page's downloads: ``table.name | label | meaning
#: | units``. Generic names (``p``, ``count``, ``year``, ``method``) mean something else in each table, so
#: they are described per table (pass the table's name as ``layer``); ``param_<option>`` columns are
#: described by :func:`describe_column` from ``<option>``.
_RESULT_FIELDS = """
trends.division | Division | CMPD patrol division (DNAME), or Citywide for all incidents |
trends.category | Category | Incident category (persons, property, society, other), or All categories |
trends.months | Months | Months in the series | months
trends.first_month | First month | First month of the series | date
trends.last_month | Last month | Last month of the series | date
trends.mean_per_month | Average a month | Mean incidents a month over the series | incidents a month
trends.s | Mann-Kendall S | Mann-Kendall S statistic (seasonal test: summed over the calendar months) | index
trends.z | Mann-Kendall z | Standard normal score of S | standard deviations
trends.p | Trend p-value | Two-sided p-value of the Mann-Kendall test, before the correction | probability
trends.tau | Kendall's tau | Mann-Kendall tau of the monthly counts | index (-1 to 1)
trends.slope_per_year | Sen slope | Change in monthly incidents per year (Sen's slope) | incidents a month per year
trends.slope_pct_per_year | Sen slope, share | slope_per_year / mean_per_month | share of the average a year
trends.trend_strength | Trend strength | STL: max(0, 1 - var(remainder) / var(trend + remainder)) | index (0-1)
trends.seasonal_strength | Seasonal strength | STL: max(0, 1 - var(remainder) / var(seasonal + remainder)) | index (0-1)
trends.significant | Significant | Whether p is at or below the cutoff of the correction for the series tested |
trends.direction | Direction | increasing, decreasing or no trend (a trend only when significant) |
accuracy.year | Hot spots of | Year whose hot spots (or top cells) are scored | year
accuracy.next_year | Scored on | The next year, whose incidents are counted in the flagged cells | year
accuracy.method | Method | How cells are flagged: LISA High-High, Gi* hot spot, or top-k (most incidents) |
accuracy.cells | Cells flagged | Hexagons flagged in year | cells
accuracy.area_share | Share of the area | Area of the flagged cells / area of all cells | share (0-1)
accuracy.hit_rate | Share of next year's incidents | Incidents of next_year in the flagged cells / all | share (0-1)
accuracy.pai | PAI | Predictive accuracy index: hit_rate / area_share (1 = no better than chance) | index
accuracy.pei | PEI | Predictive efficiency index: captured / the most as many cells could capture | index (0-1)
accuracy.rri | RRI | Recapture rate index: next year's concentration in the cells over this year's | index
accuracy.captured | Incidents captured | Incidents of next_year in the flagged cells | incidents
accuracy.total | Incidents in all | Incidents of next_year in all cells | incidents
near_repeat.distance_band | Distance apart | Band of the distance between the two incidents of a pair | feet
near_repeat.time_band | Time apart | Band of the months between the two incidents of a pair | months
near_repeat.observed | Pairs seen | Pairs of incidents in the distance and time bands | pairs
near_repeat.expected | Pairs expected | Pairs expected if place and time were unrelated (Knox) | pairs
near_repeat.expected_mc | Pairs expected (permutations) | Mean pair count over the permutations | pairs
near_repeat.ratio | Seen / expected | observed / expected (above 1: more close pairs than chance) | ratio
near_repeat.p | Monte Carlo p-value | p-value from the permutations, not corrected for the bands tested | probability
near_repeat.permutations | Permutations | Permutations of the months among the points | permutations
clearance.division | Division | CMPD patrol division (DNAME) of the report, or the source's other value |
clearance.year | Year | Year the report was made | year
clearance.outcome | Outcome | arrest, exceptional, open, cleared, unfounded or arrest_other_agency |
clearance.count | Reports with the outcome | Reports with the outcome in the division and year | reports
clearance.denominator | Reports | Founded reports in the division and year (all reports for unfounded) | reports
clearance.rate | Rate | count / denominator | share (0-1)
clearance.lo | Rate, 95 % low | Lower limit of the 95 % Wilson interval of rate | share (0-1)
clearance.hi | Rate, 95 % high | Upper limit of the 95 % Wilson interval of rate | share (0-1)
"""
_RESULT_SOURCES: dict[str, tuple[str, ...]] = {
    "trends": ("incidents_timeline", "analysis"),
    "accuracy": ("incidents_points", "analysis"),
    "near_repeat": ("incidents_points", "analysis"),
    "clearance": ("clearance", "analysis"),
}
#: The tables described per table (pass one as ``layer``).
RESULT_TABLES: tuple[str, ...] = tuple(_RESULT_SOURCES)


def _table(text: str, *, sources: tuple[str, ...] | None = None) -> dict[str | tuple[str, str], ColumnInfo]:
    """Parse ``name | label | meaning | units [| sources]`` lines."""
    out: dict[str | tuple[str, str], ColumnInfo] = {}
    for line in text.strip().splitlines():
        name, label, meaning, units, *rest = (part.strip() for part in line.split("|"))
        keys = tuple(k.strip() for k in rest[0].split(",") if k.strip()) if rest else ()
        layer, _, column = name.rpartition(".")  # "layer.column": the column of that layer only
        out[(layer, column) if layer else name] = ColumnInfo(
            label, meaning, units, keys if sources is None else sources
        )
    return out


_NPA_MEASURES = {str(k): (i.label, i.meaning, i.units, i.sources) for k, i in _table(_NPA_MEASURE_FIELDS).items()}


#: Fixed names -> description; ``(layer, name)`` keys win over ``name`` keys.
_EXACT: dict[str | tuple[str, str], ColumnInfo] = {
    **{k: ColumnInfo(i.label, i.meaning, i.units, _RESULT_SOURCES[k[0]]) for k, i in _table(_RESULT_FIELDS).items()},
    "npa": ColumnInfo("NPA", "Quality of Life neighborhood profile area id", "", ("npa_geography",)),
    "division": ColumnInfo("Division", "CMPD patrol division name (DNAME)", "", ("divisions_2025",)),
    ("npa", "division"): ColumnInfo(
        "Division",
        "CMPD division covering most of the NPA's area; missing outside CMPD's jurisdiction (the county's towns)",
        "",
        ("divisions_2025", "npa_geography"),
    ),
    "code": ColumnInfo("Division code", "CMPD division number (DIVISION)", "", ("divisions_2025",)),
    "short_name": ColumnInfo("Division short name", "Division name without 'Division'", "", ("divisions_2025",)),
    "area_sqmi": ColumnInfo("Area", "Area of the polygon, computed in EPSG:2264", "square miles", ("analysis",)),
    "incidents": ColumnInfo(
        "Incident points",
        "CMPD incident points that fall in the unit, all years: the whole portal layer when fetched, else the "
        "2017-2026 even 1-in-61 sample (the layer's metadata names which)",
        "incidents",
        ("incidents_points",),
    ),
    "shootings_per_100k": ColumnInfo(
        "Shootings per 100,000 residents",
        "shootings / pop_2020 x 100,000; missing where the population is zero",
        "incidents per 100,000 residents",
        ("ois_incidents", "npa_metric_r47"),
    ),
    **{
        outcome: ColumnInfo(
            _STOP_WORDS[outcome], _STOP_MEANING[outcome].format(drivers="all drivers") + f" {_PERIOD}", "stops", _STOPS
        )
        for outcome in _STOP_WORDS
    },
    "search_rate": ColumnInfo("Search rate", f"searches / stops {_PERIOD}", "share of stops (0-1)", _STOPS),
    "arrest_rate": ColumnInfo("Arrest rate", f"arrests / stops {_PERIOD}", "share of stops (0-1)", _STOPS),
    "stops_per_1000": ColumnInfo(
        "Stops per 1,000 residents",
        "stops / pop_2020 x 1,000; residents are not the drivers stopped there, so a rough benchmark only",
        "stops per 1,000 residents",
        (*_STOPS, "npa_metric_r47"),
    ),
    **_table(_POINT_FIELDS),
    **{
        ((layer, "geometry") if layer else "geometry"): ColumnInfo(
            "Geometry", "The unit's shape or point (the metadata names the CRS)", "", src
        )
        for layer, src in _GEOMETRY_SOURCES.items()
    },
}


@dataclass(frozen=True)
class _Rule:
    """A family of column names: ``pattern`` with named groups, formatted into the description."""

    pattern: re.Pattern[str]
    label: str
    meaning: str
    units: str
    sources: tuple[str, ...]


def _rule(pattern: str, label: str, meaning: str, units: str = "", sources: tuple[str, ...] = _LISA) -> _Rule:
    return _Rule(re.compile(pattern), label, meaning, units, sources)


_OUTCOME = r"(?P<outcome>stops|searches|arrests|citations)"

#: Families of names; the first match wins. ``{who}`` is the group's words, the other fields the groups.
_RULES: tuple[_Rule, ...] = (
    _rule(
        rf"^{_OUTCOME}_gender_(?P<group>[a-z_]+)$",
        "{Outcome}, {who} drivers",
        "{gender} {period}",
        "stops",
        _STOPS,
    ),
    _rule(
        rf"^{_OUTCOME}_ethnicity_(?P<group>[a-z_]+)$",
        "{Outcome}, {who} drivers",
        "{ethnicity} {period}",
        "stops",
        _STOPS,
    ),
    _rule(
        r"^stops_per_1000_(?P<group>[a-z_]+)$",
        "Stops per 1,000 {who} residents",
        "stops of {who} drivers / {who} residents (2020) x 1,000; a rough benchmark only",
        "stops per 1,000 residents",
        (*_STOPS, "npa_metric_r47"),
    ),
    _rule(
        r"^(?P<kind>search|arrest)_rate_(?P<group>[a-z_]+)$",
        "{Kind} rate, {who} drivers",
        "{kind}s of {who} drivers / their stops {period} ({groups})",
        "share of stops (0-1)",
        _STOPS,
    ),
    _rule(
        rf"^{_OUTCOME}_(?P<group>[a-z_]+)$",
        "{Outcome}, {who} drivers",
        "{group_meaning} {period} ({groups})",
        "stops",
        _STOPS,
    ),
    _rule(
        r"^(?P<var>.+)_per_(?P<per>\d+)_pop_eb$",
        "{var_label} per {per:,} residents (EB smoothed)",
        "{var} per {per:,} residents, empirical-Bayes smoothed towards the overall rate (Marshall 1991)",
        "per {per:,} residents",
    ),
    _rule(
        r"^(?P<var>.+)_per_(?P<per>\d+)_pop$",
        "{var_label} per {per:,} residents",
        "{var} / population x {per:,}; missing (Undefined) where the population is zero or unknown",
        "per {per:,} residents",
    ),
)

_STATISTICS = _table(_STATISTIC_FIELDS, sources=_LISA)

_YEAR = re.compile(r"(?:^|_)((?:19|20)\d\d)(?=_|$)")
_EHSA_STEP = re.compile(r"^ehsa_(?P<what>z|p)_(?P<year>\d{4})$")


def _words(slug: str) -> str:
    return _WORDS.get(slug, slug.replace("_", " "))


def _year(name: str) -> int | None:
    m = _YEAR.search(name)
    return int(m.group(1)) if m else None


def _from_rules(name: str, layer: str | None) -> ColumnInfo | None:
    for rule in _RULES:
        m = rule.pattern.match(name)
        if m is None:
            continue
        g = m.groupdict()
        group = g.get("group")
        if group is not None and group not in _WORDS:
            continue
        who = _words(group) if group else ""
        stop = _STOP_MEANING.get(g.get("outcome") or "", "")
        fields: dict[str, object] = {
            "who": who,
            "Outcome": _STOP_WORDS.get(g.get("outcome") or "", ""),
            "gender": stop.format(drivers=f"drivers recorded as {who}"),
            "ethnicity": stop.format(drivers=f"drivers of {who} ethnicity"),
            "group_meaning": stop.format(drivers=f"{who} drivers"),
            "kind": g.get("kind") or "",
            "Kind": (g.get("kind") or "").capitalize(),
            "var": g.get("var") or "",
            "per": int(g["per"]) if g.get("per") else 0,
            "period": _PERIOD,
            "groups": _GROUPS,
        }
        var = g.get("var") or ""
        base = describe_column(var, layer=layer) if var else None
        fields["var_label"] = base.label if base is not None else var
        sources = rule.sources if base is None else (*base.sources, "analysis")
        return ColumnInfo(
            rule.label.format(**fields), rule.meaning.format(**fields), rule.units.format(**fields), sources
        )
    return None


def _yearly(name: str, layer: str | None) -> ColumnInfo | None:
    m = re.match(r"^(?P<stem>.+)_(?P<year>\d{4})$", name)
    if m is None:
        return None
    stem, year = m["stem"], m["year"]
    if stem in _NPA_MEASURES:
        label, meaning, units, sources = _NPA_MEASURES[stem]
        if layer == "divisions":
            return ColumnInfo(
                f"{label} {year}", meaning + "." + _DIVISION_APPORTIONED, units, (*sources, "divisions_2025")
            )
        return ColumnInfo(f"{label} {year}", meaning + ".", units, sources)
    rate = re.match(r"^(?P<kind>violent|property|disorder)_rate$", stem)
    if rate is not None:
        words, count, units, sources = _NPA_RATES[rate["kind"]]
        return ColumnInfo(
            f"{words.capitalize()} per 1,000 residents {year}",
            f"{count}_{year} / (rate_pop_{year} / 1,000), the Quality of Life Explorer's definition; "
            "missing where the population is zero or unknown",
            f"{units} per 1,000 residents",
            sources,
        )
    step = _EHSA_STEP.match(name)
    if step is not None:
        what = "z-score" if step["what"] == "z" else "p-value"
        return ColumnInfo(f"Gi* {what} {year}", f"Emerging hot spots: the unit's Gi* {what} in {year}", "", _LISA)
    return None


def describe_column(name: str, *, layer: str | None = None) -> ColumnInfo | None:
    """The description of column ``name`` of a layer, or None if the registry does not know it.

    Parameters
    ----------
    name
        The column's name.
    layer
        The catalogue layer it belongs to (``npa``, ``divisions``, ``ois``, ``incidents``,
        ``hex``): some names mean different things in different layers (``division``
        of an NPA is the division covering most of it).
    """
    if layer is not None and (layer, name) in _EXACT:
        return _EXACT[(layer, name)]
    if name in _EXACT:
        return _EXACT[name]
    if name in _STATISTICS:
        return _STATISTICS[name]
    found = _yearly(name, layer) or _from_rules(name, layer)
    option = describe_column(name.removeprefix("param_"), layer=layer) if name.startswith("param_") else None
    if found is None and option is not None:  # param_<option>: an option of the analysis, repeated on every row
        return ColumnInfo(option.label, f"Option of the analysis (the same on every row): {option.meaning}",
                          option.units, option.sources)  # fmt: skip
    return found


def _type(series: pd.Series) -> str:
    dtype = series.dtype
    if dtype.name == "geometry":
        kinds = sorted(set(series.dropna().geom_type)) if len(series) else []
        return f"geometry ({', '.join(kinds)})" if kinds else "geometry"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "real"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date-time"
    return "text"


def _source_files(sources: tuple[str, ...]) -> str:
    return "; ".join(DATASETS[k].path for k in sources if k in DATASETS)


def data_dictionary(
    frame: pd.DataFrame, layer: str | None = None, *, extra: Mapping[str, ColumnInfo] | None = None
) -> pd.DataFrame:
    """One row per column of ``frame``: :data:`DICTIONARY_COLUMNS`.

    Parameters
    ----------
    frame
        The table as written (its columns, in order).
    layer
        The catalogue layer whose meanings apply (see :func:`describe_column`).
    extra
        Descriptions that win over the registry's (e.g. a result's value column).

    Returns
    -------
    pandas.DataFrame
        ``name``, ``label``, ``meaning`` (:data:`NO_DESCRIPTION` when unknown), ``units``,
        ``source`` (data set keys, ``;``-separated; ``analysis`` for computed values),
        ``source_file`` (their files in the data folder), ``year`` (from a ``_YYYY`` in
        the name; missing otherwise) and ``type`` (``integer``, ``real``, ``text``,
        ``boolean``, ``date-time`` or ``geometry (...)``).
    """
    rows = []
    extra = dict(extra or {})
    for name in frame.columns:
        key = str(name)
        info = extra.get(key) or describe_column(key, layer=layer)
        if info is None:
            info = ColumnInfo("", NO_DESCRIPTION)
        rows.append(
            {
                "name": key,
                "label": info.label,
                "meaning": info.meaning,
                "units": info.units,
                "source": "; ".join(info.sources),
                "source_file": _source_files(info.sources),
                "year": _year(key),
                "type": _type(frame[name]),
            }
        )
    out = pd.DataFrame(rows, columns=list(DICTIONARY_COLUMNS))
    out["year"] = out["year"].astype("Int64")
    return out


def undescribed(dictionary: pd.DataFrame) -> list[str]:
    """The columns of a dictionary the registry could not describe."""
    return [str(n) for n in dictionary.loc[dictionary["meaning"] == NO_DESCRIPTION, "name"]]


def dictionary_paths(path: str | Path) -> tuple[Path, Path]:
    """The dictionary files beside an export: ``<stem>.dictionary.csv`` and ``<stem>.dictionary.json``."""
    path = Path(path)
    stem = path.with_suffix("").name
    return path.with_name(f"{stem}.dictionary.csv"), path.with_name(f"{stem}.dictionary.json")
