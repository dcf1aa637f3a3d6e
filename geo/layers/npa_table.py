"""The NPA metrics as one row per NPA: population, crime counts and rates by year."""

from __future__ import annotations

import pandas as pd

from geo.layers.stop_tables import safe_rate

__all__ = ["npa_wide"]


#: NPA measure -> wide column prefix.
_WIDE = {
    "population": "pop",
    "white_nh": "white_nh",
    "black_nh": "black_nh",
    "asian_nh": "asian_nh",
    "other_nh": "other_nh",
    "hispanic": "hispanic",
    "violent_crimes": "violent_crimes",
    "property_crimes": "property_crimes",
    "disorder_calls": "disorder_calls",
    "land_acres": "land_acres",
    "households": "households",
    "household_income_aggregate": "household_income_aggregate",
}


_RATES = {
    "violent": ("violent_crimes", "violent_per_1000_denominator"),
    "property": ("property_crimes", "property_per_1000_denominator"),
    "disorder": ("disorder_calls", "disorder_per_1000_denominator"),
}


def npa_wide(metrics: pd.DataFrame) -> pd.DataFrame:
    """Turn the tidy NPA metric table into one row per NPA.

    Columns: ``pop_YYYY``, ``white_nh_YYYY`` (and the other race groups),
    ``violent_crimes_YYYY``, ``property_crimes_YYYY``, ``disorder_calls_YYYY``,
    ``land_acres_2020``; the rates ``violent_rate_YYYY``, ``property_rate_YYYY`` and
    ``disorder_rate_YYYY`` per 1,000 residents (the Quality of Life Explorer's own
    definition: count / denominator, with denominator = population / 1,000 for that
    crime year; missing where the denominator is zero or missing); and
    ``rate_pop_YYYY``, the population behind the violent-crime rate of that year.
    Missing years stay missing.
    """
    m = metrics.copy()
    m["measure"] = m["measure"].astype(str)
    table = m.pivot_table(index="npa", columns=["measure", "year"], values="value", aggfunc="first", dropna=False)
    cols: dict[str, pd.Series] = {}
    for measure, prefix in _WIDE.items():
        if measure in table.columns.get_level_values(0):
            for year in sorted(table[measure].columns):
                s = table[(measure, year)]
                if s.notna().any():
                    cols[f"{prefix}_{year}"] = s
    for name, (num, den) in _RATES.items():
        if num in table.columns.get_level_values(0) and den in table.columns.get_level_values(0):
            for year in sorted(table[num].columns):
                if (num, year) in table and (den, year) in table and table[(num, year)].notna().any():
                    cols[f"{name}_rate_{year}"] = pd.Series(
                        safe_rate(table[(num, year)], table[(den, year)]), index=table.index
                    )
                    if name == "violent":
                        cols[f"rate_pop_{year}"] = table[(den, year)] * 1000.0
    out = pd.DataFrame(cols, index=table.index)
    out.index.name = "npa"
    return out
