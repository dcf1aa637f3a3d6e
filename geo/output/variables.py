"""The variables people see, with plain labels: the mappable columns per layer, and the metrics catalogue.

:func:`variables_for` lists a layer's mappable columns (the app's map explorer and the
command line name things the same way). :func:`metric_catalogue` is the one home of the
Quality of Life metrics' names for people: every metric's title, units, category, years,
description and source (from :func:`geo.layers.records.qol_catalogue`), plus the NPA
layer's crime rates, so pickers and the Methods page never show a raw ``m58`` id except
in a details line.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from geo.analysis.factors import CRIME_MEASURES
from geo.errors import ValueDomainError, quote_values
from geo.layers.stop_tables import slug
from geo.vocab import GROUP_POPULATION

__all__ = [
    "CRIME_CATEGORY",
    "MetricInfo",
    "Variable",
    "catalogue_table",
    "metric_catalogue",
    "metric_info",
    "search_metrics",
    "variables_for",
]


LayerName = Literal["divisions", "npa"]


@dataclass(frozen=True)
class Variable:
    """One mappable column.

    Attributes
    ----------
    column
        Column in the layer.
    label
        Plain words, with the unit.
    group
        Heading it is listed under.
    fmt
        ``str.format`` pattern for tooltips.
    stop_based
        Whether the sidebar's stop filters change it.
    """

    column: str
    label: str
    group: str
    fmt: str = "{:,.0f}"
    stop_based: bool = False


def variables_for(layer: LayerName, frame: pd.DataFrame) -> list[Variable]:
    """The variables available in ``frame`` for ``layer``, in display order."""
    out: list[Variable] = []
    cols = set(frame.columns)

    def add(column: str, label: str, group: str, fmt: str = "{:,.0f}", stop_based: bool = False) -> None:
        if column in cols:
            out.append(Variable(column, label, group, fmt, stop_based))

    if layer == "divisions":
        for c, lab in (
            ("stops", "Stops"),
            ("searches", "Searches"),
            ("arrests", "Arrests"),
            ("citations", "Citations"),
        ):
            add(c, lab, "Stops (counts)", stop_based=True)
        add("search_rate", "Search rate (share of stops)", "Stops (rates)", "{:.1%}", True)
        add("arrest_rate", "Arrest rate (share of stops)", "Stops (rates)", "{:.1%}", True)
        add("stops_per_1000", "Stops per 1,000 residents", "Stops (rates)", "{:,.1f}", True)
        for group in GROUP_POPULATION:
            g = slug(group)
            add(
                f"stops_per_1000_{g}",
                f"Stops of {group} drivers per 1,000 {group} residents",
                "Stops (rates)",
                "{:,.1f}",
                True,
            )
        for group in GROUP_POPULATION:
            g = slug(group)
            if f"searches_{g}" in cols and f"stops_{g}" in cols:
                out.append(
                    Variable(
                        f"search_rate_{g}", f"Search rate, {group} drivers", "Stops by driver group", "{:.1%}", True
                    )
                )
                out.append(
                    Variable(
                        f"arrest_rate_{g}", f"Arrest rate, {group} drivers", "Stops by driver group", "{:.1%}", True
                    )
                )
        add("pop_2020", "Residents (2020)", "Population")
        for c, lab in (
            ("white_nh_2020", "White"),
            ("black_nh_2020", "Black"),
            ("hispanic_2020", "Hispanic"),
            ("asian_nh_2020", "Asian"),
        ):
            add(c, f"{lab} residents (2020)", "Population")
        add("shootings", "Officer-involved shootings 2005-2018", "Use of force")
        add("shootings_per_100k", "Officer-involved shootings per 100,000 residents", "Use of force", "{:,.2f}")
        add("incidents", "Incident points", "Incidents")
        return out

    add("pop_2020", "Residents (2020)", "Population")
    for c, lab in (
        ("white_nh_2020", "White"),
        ("black_nh_2020", "Black"),
        ("hispanic_2020", "Hispanic"),
        ("asian_nh_2020", "Asian"),
    ):
        add(c, f"{lab} residents (2020)", "Population")
    years = sorted({int(m.group(1)) for c in cols if (m := re.fullmatch(r"violent_rate_(\d{4})", c))}, reverse=True)
    for y in years:
        add(f"violent_rate_{y}", f"Violent crimes per 1,000 residents ({y})", "Crime rates", "{:,.1f}")
        add(f"property_rate_{y}", f"Property crimes per 1,000 residents ({y})", "Crime rates", "{:,.1f}")
        add(f"disorder_rate_{y}", f"Disorder calls per 1,000 residents ({y})", "Crime rates", "{:,.1f}")
    for y in years:
        add(f"violent_crimes_{y}", f"Violent crimes ({y})", "Crime counts")
        add(f"property_crimes_{y}", f"Property crimes ({y})", "Crime counts")
    add("shootings", "Officer-involved shootings 2005-2018", "Use of force")
    add("shootings_per_100k", "Officer-involved shootings per 100,000 residents", "Use of force", "{:,.2f}")
    add("incidents", "Incident points", "Incidents")
    return out


# --------------------------------------------------------------------------- the metrics catalogue

#: The heading the NPA layer's crime rates are listed under.
CRIME_CATEGORY = "Crime rates (CMPD, per 1,000 residents)"

_CRIME_TEXT = {
    "violent": ("Violent crime rate", "Violent crime rate per 1,000 residents"),
    "property": ("Property crime rate", "Property crime rate per 1,000 residents"),
    "disorder": ("Disorder call rate", "Disorder-related call rate per 1,000 residents"),
}
_CRIME_SOURCE = (
    "Charlotte-Mecklenburg Police Department, via the Quality of Life Explorer (NPA layer: counts over the "
    "population of the same year)"
)


@dataclass(frozen=True)
class MetricInfo:
    """What a metric is, in words for people.

    Attributes
    ----------
    key
        The metric id (``m80``) or a crime measure (``violent``, ``property``, ``disorder``).
    title
        Its title (``Food and Nutrition Services``).
    subtitle
        One line on what it measures.
    category
        The heading it is listed under (``Economy``).
    units
        ``percent`` (0-100), ``dollars``, ``per 1,000 residents``, ... (empty when not known).
    years
        The years with data, oldest first.
    description
        The explorer's description (plain text), empty when it has none.
    source
        Where the data comes from.
    """

    key: str
    title: str
    subtitle: str
    category: str
    units: str
    years: tuple[int, ...]
    description: str = ""
    source: str = ""

    @property
    def label(self) -> str:
        """Title and units: ``Food and Nutrition Services (percent)``."""
        return f"{self.title} ({self.units})" if self.units else self.title

    @property
    def phrase(self) -> str:
        """The subtitle as words inside a sentence: ``the percentage of the population who ...``."""
        text = self.subtitle or self.title
        if len(text) > 1 and text[0].isupper() and text[1].islower():
            text = text[0].lower() + text[1:]
        return f"the {text}"

    @property
    def years_text(self) -> str:
        """``2011-2022, 10 years``, ``2021`` or ``no years``."""
        if not self.years:
            return "no years"
        if len(self.years) == 1:
            return str(self.years[0])
        return f"{self.years[0]}-{self.years[-1]}, {len(self.years)} years"

    @property
    def option(self) -> str:
        """The picker's text: category, title, units and years (searchable by title)."""
        units = f"{self.units}, " if self.units else ""
        return f"{self.category}: {self.title} ({units}{self.years_text})"

    @property
    def details(self) -> str:
        """One line with the subtitle, years, source and, last, the raw id."""
        source = f" Source: {self.source}." if self.source else ""
        return f"{self.subtitle or self.title}. Years: {', '.join(map(str, self.years)) or 'none'}.{source} Id: {self.key}."


def _units(row: pd.Series) -> str:
    """Units of a catalogue row: percent, dollars, the explorer's label, or the ``per ...`` of its subtitle."""
    fmt = str(row.get("format", ""))
    if fmt == "percent":
        return "percent"
    if fmt == "money":
        return "dollars"
    label = str(row.get("label", "")).strip()
    if label:
        return label
    m = re.search(r"\b(per [\d,]+ [\w ]+)$", html.unescape(str(row.get("subtitle", ""))).strip())
    return m.group(1) if m else ""


def _years(text: object) -> tuple[int, ...]:
    return tuple(sorted(int(y) for y in str(text).split(",") if y.strip().isdigit()))


def metric_catalogue(
    catalogue: pd.DataFrame, *, crime_years: dict[str, Iterable[int]] | None = None
) -> dict[str, MetricInfo]:
    """Every metric of ``catalogue`` (:func:`geo.layers.records.qol_catalogue`) as :class:`MetricInfo`, by id.

    ``crime_years`` (measure -> years, e.g. from :func:`geo.analysis.factors.crime_years`) adds
    the NPA layer's crime rates first, under :data:`CRIME_CATEGORY`. Metrics are ordered by
    category, then title.
    """
    out: dict[str, MetricInfo] = {}
    for key, years in (crime_years or {}).items():
        if key not in CRIME_MEASURES:
            raise ValueDomainError(f"crime measure must be one of {', '.join(CRIME_MEASURES)}; got {key!r}")
        title, subtitle = _CRIME_TEXT[key]
        out[key] = MetricInfo(key, title, subtitle, CRIME_CATEGORY, "per 1,000 residents", tuple(sorted(years)),
                              f"{subtitle}, from the NPA layer.", _CRIME_SOURCE)  # fmt: skip
    rows = catalogue.sort_values(["category", "title"], kind="stable")
    for _, r in rows.iterrows():
        key = str(r["metric"])
        out[key] = MetricInfo(
            key=key,
            title=html.unescape(str(r["title"])) or key,
            subtitle=html.unescape(str(r.get("subtitle", ""))),
            category=str(r.get("category", "")) or "Other",
            units=_units(r),
            years=_years(r.get("years", "")),
            description=str(r.get("description", "")),
            source=str(r.get("source", "")),
        )
    return out


def metric_info(key: str, catalogue: dict[str, MetricInfo]) -> MetricInfo:
    """The :class:`MetricInfo` of ``key``; :class:`~geo.errors.ValueDomainError` naming the known ids otherwise."""
    try:
        return catalogue[key]
    except KeyError:
        raise ValueDomainError(f"no metric {key!r}; known: {quote_values(list(catalogue), limit=100)}") from None


def search_metrics(catalogue: dict[str, MetricInfo], query: str) -> list[MetricInfo]:
    """Metrics whose title, subtitle, category or description hold every word of ``query`` (case-insensitive)."""
    words = query.lower().split()
    found = []
    for info in catalogue.values():
        text = " ".join((info.title, info.subtitle, info.category, info.description)).lower()
        if all(w in text for w in words):
            found.append(info)
    return found


def catalogue_table(infos: Iterable[MetricInfo]) -> pd.DataFrame:
    """A table for people: category, title, units, years, what it measures, description, source and id (last)."""
    rows = [
        {
            "Category": i.category,
            "Metric": i.title,
            "Units": i.units,
            "Years": i.years_text,
            "What it measures": i.subtitle,
            "Description": i.description,
            "Source": i.source,
            "Id": i.key,
        }
        for i in infos
    ]
    cols = ["Category", "Metric", "Units", "Years", "What it measures", "Description", "Source", "Id"]
    return pd.DataFrame(rows, columns=cols)
