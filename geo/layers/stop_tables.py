"""Stop tables: outcomes per division and category, and stops per 1,000 residents.

Counts keep every category, including empty ones (Airport Division has zero stops,
not a missing row), and rates are missing rather than infinite where a denominator
is zero.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from geo.errors import SchemaError
from geo.vocab import GROUP_POPULATION, STOP_COUNTS

__all__ = ["slug", "safe_rate", "stop_counts", "division_stop_summary", "stops_per_1000"]


def slug(text: str) -> str:
    """``"Other/Unknown"`` -> ``"other_unknown"``."""
    return re.sub(r"[^0-9a-z]+", "_", str(text).lower()).strip("_")


def safe_rate(num: pd.Series | np.ndarray, den: pd.Series | np.ndarray, *, per: float = 1.0) -> np.ndarray:
    """``num / den * per``, missing (NaN) where ``den`` is zero or missing."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    ok = np.isfinite(den) & (den > 0) & np.isfinite(num)
    np.divide(num * per, den, out=out, where=ok)
    return out


def stop_counts(stops: pd.DataFrame, *, by: str | Sequence[str]) -> pd.DataFrame:
    """Count stops, searches, arrests and citations by one or more columns.

    Parameters
    ----------
    stops
        The clean stops frame from :func:`geo.ingest.stops.load_stops`.
    by
        Column(s) to group by. Categorical columns keep every category (zeros
        included).

    Returns
    -------
    pandas.DataFrame
        One row per group with ``stops``, ``searches``, ``arrests``, ``citations``.
    """
    by = [by] if isinstance(by, str) else list(by)
    missing = [c for c in by if c not in stops.columns]
    if missing:
        raise SchemaError(
            f"Cannot group stops by {', '.join(missing)}: no such column. Columns: {', '.join(stops.columns)}."
        )
    flags = pd.DataFrame(
        {
            "stops": 1,
            "searches": stops["searched"].fillna(False).astype(int).to_numpy(),
            "arrests": (stops["result"] == "Arrest").astype(int).to_numpy(),
            "citations": (stops["result"] == "Citation Issued").astype(int).to_numpy(),
        },
        index=stops.index,
    )
    keys = [stops[c] for c in by]
    out = flags.groupby(keys, observed=False).sum()
    return out.astype("int64").reset_index()


def division_stop_summary(stops: pd.DataFrame) -> pd.DataFrame:
    """Wide per-division stop table.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``division`` (every division, plus ``No division recorded``):
        ``stops, searches, arrests, citations`` and, for each driver group,
        ``stops_<group>``, ``searches_<group>``, ``arrests_<group>``, ``citations_<group>``
        (e.g. ``searches_black``); the same for gender (``stops_gender_female``) and
        ethnicity (``stops_ethnicity_hispanic``); plus ``search_rate`` and ``arrest_rate`` (per stop),
        overall and per driver group (``search_rate_black``), missing where there are no stops.
    """
    total = stop_counts(stops, by="division").set_index("division")
    parts = [total]
    for col, prefix in (("driver_group", ""), ("driver_gender", "gender_"), ("driver_ethnicity", "ethnicity_")):
        c = stop_counts(stops, by=["division", col])
        wide = c.pivot(index="division", columns=col, values=list(STOP_COUNTS))
        wide.columns = [f"{o}_{prefix}{slug(v)}" for o, v in wide.columns]
        parts.append(wide)
    out = pd.concat(parts, axis=1)
    out.index = out.index.astype(str)
    out.index.name = "division"
    out["search_rate"] = safe_rate(out["searches"], out["stops"])
    out["arrest_rate"] = safe_rate(out["arrests"], out["stops"])
    for group in stops["driver_group"].cat.categories:
        g = slug(group)
        out[f"search_rate_{g}"] = safe_rate(out[f"searches_{g}"], out[f"stops_{g}"])
        out[f"arrest_rate_{g}"] = safe_rate(out[f"arrests_{g}"], out[f"stops_{g}"])
    return out


def stops_per_1000(summary: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """Stops per 1,000 residents, overall and by driver group.

    Residential population is not the driving population: people drive through
    divisions they do not live in, so these rates are a rough benchmark only.

    Parameters
    ----------
    summary
        :func:`division_stop_summary` output.
    population
        Indexed like ``summary``, with ``pop_2020`` and the columns of
        :data:`GROUP_POPULATION`.

    Returns
    -------
    pandas.DataFrame
        ``stops_per_1000`` and ``stops_per_1000_<group>`` (missing where the
        population is zero or unknown).
    """
    pop = population.reindex(summary.index)
    out = pd.DataFrame(index=summary.index)
    out["stops_per_1000"] = safe_rate(summary["stops"], pop["pop_2020"], per=1000)
    for group, col in GROUP_POPULATION.items():
        out[f"stops_per_1000_{slug(group)}"] = safe_rate(summary[f"stops_{slug(group)}"], pop[col], per=1000)
    return out
