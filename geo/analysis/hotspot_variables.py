"""The variable of a hot-spot analysis: yearly columns, per-capita rates and their population.

What :func:`geo.analysis.hotspots.run_hotspots` analyses is a column of the layer; these
functions find the columns behind it:

- :func:`step_columns`: the yearly columns ``<prefix>_YYYY`` of an emerging hot spot
  analysis, in year order;
- :func:`population_column` and :func:`add_per_capita`: a count per 1,000 residents
  (raw, or empirical-Bayes smoothed), dividing by the population behind that year for
  NPAs (``rate_pop_YYYY``), otherwise ``pop_2020``;
- :func:`rate_note`: how the rate was made, in plain words.
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
]


Layer = Literal["npa", "divisions", "incidents"]


Smoothing = Literal["none", "eb"]


LAYERS: tuple[str, ...] = get_args(Layer)


SMOOTHINGS: tuple[str, ...] = get_args(Smoothing)


_YEAR = re.compile(r"^(?P<stem>.+)_(?P<year>\d{4})$")


def year_of(column: str) -> int | None:
    """The year a column name ends with (``violent_crimes_2022`` -> 2022), or None."""
    m = _YEAR.match(column)
    return int(m["year"]) if m else None


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

    Returns
    -------
    frame, column, base
        A new layer with the rate column, the rate column's name
        (``<variable>_per_1000_pop`` or ``<variable>_per_1000_pop_eb``) and the
        population column used.
    """
    if smoothing not in SMOOTHINGS:
        raise ValueDomainError(f"smoothing must be one of {', '.join(SMOOTHINGS)}; got {smoothing!r}")
    base = population_column(gdf, layer=layer, variable=variable)
    name = f"{variable}_per_{int(multiplier):d}_pop" + ("_eb" if smoothing == "eb" else "")
    res = add_rate(
        gdf, events=variable, base=base, method="eb" if smoothing == "eb" else "raw", multiplier=multiplier, column=name
    )
    return res.frame, name, base


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
