"""The variable of a hot-spot analysis: yearly columns, per-capita rates and their population.

What :func:`geo.analysis.hotspots.run_hotspots` analyses is a column of the layer; these
functions find the columns behind it:

- :func:`step_columns`: the yearly columns ``<prefix>_YYYY`` of an emerging hot spot
  analysis, in year order;
- :func:`population_column` and :func:`add_per_capita`: a count per 1,000 residents
  (raw, or empirical-Bayes smoothed), dividing by the population behind that year for
  NPAs (``rate_pop_YYYY``), otherwise ``pop_2020``;
- :func:`rate_note`: how the rate was made, in plain words;
- :func:`prepare_variable`: the column a run analyses, with its notes.

``custom`` is a user's own polygon layer (``python -m geo hotspots --layer PATH``): its
rates divide by the population column the user names.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

import geopandas as gpd
import pandas as pd

from geo.errors import SchemaError, ValueDomainError
from geo.stats.rates import add_rate

__all__ = [
    "Layer",
    "Smoothing",
    "LAYERS",
    "SMOOTHINGS",
    "year_of",
    "population_column",
    "add_per_capita",
    "step_columns",
    "rate_note",
    "is_rate",
    "prepare_variable",
]


Layer = Literal["npa", "divisions", "incidents", "custom"]


Smoothing = Literal["none", "eb"]


LAYERS: tuple[str, ...] = get_args(Layer)


SMOOTHINGS: tuple[str, ...] = get_args(Smoothing)


_YEAR = re.compile(r"^(?P<stem>.+)_(?P<year>\d{4})$")


#: Words in a column name that mark it as a rate, share or average already (not a count).
_RATE_WORDS = frozenset({"rate", "rates", "per", "pct", "percent", "share", "ratio", "avg", "mean", "median"})


def year_of(column: str) -> int | None:
    """The year a column name ends with (``violent_crimes_2022`` -> 2022), or None."""
    m = _YEAR.match(column)
    return int(m["year"]) if m else None


def is_rate(column: str) -> bool:
    """Whether a column's name says it is already a rate or share (``violent_rate_2022``, ``stops_per_1000``).

    Such a column must not be divided by the population again.
    """
    words = set(re.split(r"[^a-z0-9]+", column.lower()))
    return bool(words & _RATE_WORDS)


def population_column(gdf: pd.DataFrame, *, layer: str, variable: str) -> str:
    """The population column a per-capita rate of ``variable`` divides by.

    NPAs: ``rate_pop_YYYY`` when ``variable`` ends in a year YYYY and that column
    exists, else ``pop_2020``. Divisions: ``pop_2020``.

    Raises
    ------
    SchemaError
        No population column in the layer.
    """
    year = year_of(variable)
    if layer == "npa" and year is not None and f"rate_pop_{year}" in gdf.columns:
        return f"rate_pop_{year}"
    if "pop_2020" in gdf.columns:
        return "pop_2020"
    raise SchemaError(f"no population column to divide {variable!r} by (looked for rate_pop_YYYY and pop_2020)")


def add_per_capita(
    gdf: gpd.GeoDataFrame,
    *,
    layer: str,
    variable: str,
    smoothing: Smoothing = "none",
    multiplier: float = 1000.0,
    population: str | None = None,
) -> tuple[gpd.GeoDataFrame, str, str]:
    """Add ``variable`` per 1,000 residents (raw or EB-smoothed) as a new column.

    Parameters
    ----------
    gdf
        Layer with ``variable`` (a count) and a population column
        (:func:`population_column`).
    layer
        ``npa`` or ``divisions``.
    variable
        Count column.
    smoothing
        ``none`` (raw rate) or ``eb`` (global empirical Bayes, Marshall 1991).
    multiplier
        Residents the rate is expressed per.
    population
        Population column to divide by (default: :func:`population_column`; required
        for a ``custom`` layer).

    Returns
    -------
    frame, column, base
        A new layer with the rate column, the rate column's name
        (``<variable>_per_1000_pop`` or ``<variable>_per_1000_pop_eb``) and the
        population column used.

    Raises
    ------
    ValueDomainError
        ``variable`` is already a rate (:func:`is_rate`), or a custom layer without
        ``population``.
    SchemaError
        No population column.
    """
    if smoothing not in SMOOTHINGS:
        raise ValueDomainError(f"smoothing must be one of {', '.join(SMOOTHINGS)}; got {smoothing!r}")
    if is_rate(variable):
        raise ValueDomainError(
            f"{variable!r} is already a rate or share: a per-capita rate divides a count by the population. "
            "Analyse the column as it is, or choose the count (e.g. violent_crimes_2022)."
        )
    if population is not None:
        if population not in gdf.columns:
            raise SchemaError(f"population column {population!r} not in the layer")
        base = population
    elif layer == "custom":
        raise ValueDomainError("a per-capita rate on your own layer needs the population column (--population COL)")
    else:
        base = population_column(gdf, layer=layer, variable=variable)
    name = f"{variable}_per_{int(multiplier):d}_pop" + ("_eb" if smoothing == "eb" else "")
    res = add_rate(
        gdf, events=variable, base=base, method="eb" if smoothing == "eb" else "raw", multiplier=multiplier, column=name
    )
    return res.frame, name, base


def prepare_variable(
    gdf: gpd.GeoDataFrame, *, layer: str, variable: str, per_capita: bool, smoothing: Smoothing = "none",
    population: str | None = None,
) -> tuple[gpd.GeoDataFrame, str, tuple[str, str] | None, list[str]]:  # fmt: skip
    """The column a run analyses: ``variable`` itself, or its rate per 1,000 residents.

    Returns ``(frame, column, rate, notes)``: ``rate`` is ``(events, base)`` for an EB
    rate (Moran's I and LISA then use the EB standardisation), else ``None``.
    """
    if smoothing == "eb" and not per_capita:
        raise ValueDomainError("empirical Bayes smoothing applies to a rate: set per_capita=True")
    if not per_capita:
        return gdf, variable, None, []
    eb = smoothing == "eb"
    frame, column, base = add_per_capita(
        gdf, layer=layer, variable=variable, smoothing=smoothing, population=population
    )
    return frame, column, (variable, base) if eb else None, [rate_note(layer, eb=eb, base=base)]


def step_columns(gdf: pd.DataFrame, prefix: str) -> list[str]:
    """The columns ``<prefix>_YYYY`` of a layer, in year order (one per time step).

    Raises
    ------
    SchemaError
        No such column; the message lists the prefixes that have yearly columns.
    """
    cols = sorted(
        (c for c in gdf.columns if isinstance(c, str) and (m := _YEAR.match(c)) and m["stem"] == prefix),
        key=lambda c: int(c[-4:]),
    )
    if not cols:
        stems = sorted({m["stem"] for c in gdf.columns if isinstance(c, str) and (m := _YEAR.match(c))})
        raise SchemaError(
            f"ehsa needs one column per year named {prefix}_YYYY; none found. Prefixes available: "
            + (", ".join(stems) or "none")
        )
    return cols


def rate_note(layer: str, *, eb: bool, base: str | None = None) -> str:
    """How a per-capita rate was made, in plain words (``base``: the population column, if one)."""
    pop = base or ("each year's population (rate_pop_YYYY)" if layer == "npa" else "pop_2020")
    how = "empirical-Bayes smoothed rate" if eb else "rate"
    return f"{how} per 1,000 residents, population from {pop}; units with no population are Undefined"
