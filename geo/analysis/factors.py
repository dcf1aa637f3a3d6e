"""Which factors play a role: a crime measure and neighbourhood conditions on one NPA layer, and their regression in words.

:func:`factor_layer` joins Quality of Life metrics (the tidy table of
:func:`geo.layers.records.qol_metrics`) for a year onto the NPA layer next to a crime
measure (a rate per 1,000 residents of :func:`geo.layers.build.npa_layer`, or a metric
too), so the bivariate statistics of :mod:`geo.stats.bivariate` and
:func:`geo.analysis.regression.spatial_regression` run on the same columns. A metric
without values in the chosen year is taken at its nearest year (the latest earlier one,
else the earliest later one), and the layer says so. Missing values are counted, never
filled.

:func:`coefficient_sentences` says each coefficient of a
:class:`~geo.analysis.regression.RegressionResult` in plain words, always with its
interval: "in neighbourhoods where X is 10 points higher, Y is b higher (95 % interval
lo to hi), holding Z fixed"; for a spatial lag model it uses the total impact and says
how much of it the model attributes to the neighbours (the indirect impact).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

if TYPE_CHECKING:  # the regression (spreg, scipy.stats) is not needed to name the crime measures
    from geo.analysis.regression import RegressionResult
from geo.errors import SchemaError, ValueDomainError, quote_values

__all__ = [
    "CRIME_MEASURES",
    "FactorLayer",
    "FactorVariable",
    "TermText",
    "coefficient_sentences",
    "crime_years",
    "factor_layer",
    "metric_column",
    "nearest_year",
    "round_step",
]

#: The crime measures of the NPA layer: key -> column stem (``violent_rate_2022``: per 1,000 residents).
CRIME_MEASURES: dict[str, str] = {"violent": "violent_rate", "property": "property_rate", "disorder": "disorder_rate"}


@dataclass(frozen=True)
class FactorVariable:
    """One variable of a :class:`FactorLayer`.

    Attributes
    ----------
    key
        ``violent``, ``property``, ``disorder`` (a crime measure) or a metric id (``m80``).
    column
        Its column in the layer.
    year
        The year of the values used (a metric's nearest year to the one asked for).
    n_missing
        NPAs of the layer without a value.
    """

    key: str
    column: str
    year: int
    n_missing: int


@dataclass(frozen=True)
class FactorLayer:
    """The NPA layer with the outcome and the conditions as columns.

    Attributes
    ----------
    frame
        Copy of the NPA layer with one column added per metric used.
    outcome
        The crime measure (or metric) explained.
    conditions
        The conditions, in the order asked for.
    year
        The year asked for.
    notes
        Plain sentences: years substituted, values missing.
    """

    frame: gpd.GeoDataFrame
    outcome: FactorVariable
    conditions: tuple[FactorVariable, ...]
    year: int
    notes: tuple[str, ...]

    @property
    def condition_columns(self) -> list[str]:
        """The conditions' column names."""
        return [c.column for c in self.conditions]


def metric_column(metric: str, year: int) -> str:
    """The layer column of ``metric`` in ``year`` (``m80_2022``)."""
    return f"{metric}_{year}"


def crime_years(layer: pd.DataFrame, measure: str) -> list[int]:
    """The years with a rate column for ``measure`` (a key of :data:`CRIME_MEASURES`), newest first."""
    if measure not in CRIME_MEASURES:
        raise ValueDomainError(f"crime measure must be one of {', '.join(CRIME_MEASURES)}; got {measure!r}")
    stem = CRIME_MEASURES[measure]
    found = {int(m.group(1)) for c in layer.columns if (m := re.fullmatch(rf"{stem}_(\d{{4}})", str(c)))}
    return sorted(found, reverse=True)


def nearest_year(years: Sequence[int], year: int) -> int | None:
    """``year`` if in ``years``, else the latest earlier year, else the earliest later one (None if no years)."""
    ys = sorted(set(int(y) for y in years))
    if not ys:
        return None
    if year in ys:
        return year
    earlier = [y for y in ys if y < year]
    return earlier[-1] if earlier else ys[0]


def _metric_values(metrics: pd.DataFrame, metric: str, year: int) -> tuple[pd.Series, int]:
    """Values of ``metric`` by NPA at its nearest year with any value, and that year."""
    rows = metrics[metrics["metric"] == metric]
    if rows.empty:
        known = sorted(metrics["metric"].unique(), key=lambda m: int(m[1:]) if m[1:].isdigit() else 0)
        raise ValueDomainError(f"no metric {metric!r} in the metrics table; known: {quote_values(known, limit=100)}")
    with_value = rows.loc[rows["value"].notna(), "year"].unique().tolist()
    used = nearest_year(with_value, year)
    if used is None:
        raise ValueDomainError(f"metric {metric!r} has no value in any year")
    at = rows[rows["year"] == used]
    return pd.Series(at["value"].to_numpy(dtype=float), index=at["npa"].to_numpy()), used


def factor_layer(
    layer: gpd.GeoDataFrame,
    metrics: pd.DataFrame,
    *,
    outcome: str,
    conditions: Sequence[str],
    year: int,
) -> FactorLayer:
    """The NPA layer with the outcome and each condition of ``year`` as columns.

    Parameters
    ----------
    layer
        The NPA layer (:func:`geo.layers.build.npa_layer`: ``npa`` and the crime rates).
    metrics
        The tidy metrics (:func:`geo.layers.records.qol_metrics`: ``npa``, ``metric``, ``year``, ``value``).
    outcome
        A key of :data:`CRIME_MEASURES` or a metric id.
    conditions
        Metric ids (one or more, none equal to ``outcome``).
    year
        The year; a metric without values that year is taken at its nearest year (see :func:`nearest_year`).

    Returns
    -------
    FactorLayer

    Raises
    ------
    SchemaError
        The layer has no ``npa`` column.
    ValueDomainError
        No conditions, a variable given twice, an unknown metric, a crime measure without that year.
    """
    if "npa" not in layer.columns:
        raise SchemaError("the NPA layer has no 'npa' column")
    if isinstance(conditions, str) or not conditions:
        raise ValueDomainError("choose at least one condition (a metric id such as 'm80')")
    keys = [outcome, *conditions]
    if len(set(keys)) != len(keys):
        raise ValueDomainError(f"each variable may be used once; got {', '.join(map(repr, keys))}")
    frame = layer.copy()
    notes: list[str] = []

    def add(key: str) -> FactorVariable:
        if key in CRIME_MEASURES:
            column = f"{CRIME_MEASURES[key]}_{year}"
            if column not in frame.columns:
                years = ", ".join(map(str, crime_years(frame, key)))
                raise ValueDomainError(f"no {key} crime rate for {year} in the NPA layer; years: {years}")
            used = year
        else:
            values, used = _metric_values(metrics, key, year)
            column = metric_column(key, used)
            if column in frame.columns:
                raise ValueDomainError(f"the NPA layer already has a column {column!r}")
            frame[column] = frame["npa"].map(values).astype(float)
            if used != year:
                notes.append(f"{key} has no values for {year}; its {used} values are used")
        n_missing = int(frame[column].isna().sum())
        if n_missing:
            notes.append(f"{key}: {n_missing} of {len(frame)} NPAs have no value")
        return FactorVariable(key, column, used, n_missing)

    out = add(outcome)
    conds = tuple(add(c) for c in conditions)
    return FactorLayer(frame, out, conds, int(year), tuple(notes))


def round_step(values: Sequence[float] | np.ndarray, *, percent: bool = False) -> float:
    """A round change to describe a coefficient by: 10 points for a percentage, else the power of 10 below the SD."""
    if percent:
        return 10.0
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    sd = float(v.std(ddof=1)) if v.size > 1 else 0.0
    if not sd > 0:
        return 1.0
    return float(10 ** math.floor(math.log10(sd)))


@dataclass(frozen=True)
class TermText:
    """How a variable is said: its plain label, its units, and the change a coefficient is described for.

    Attributes
    ----------
    label
        Plain words (``"households on food assistance"``).
    units
        Its units (``"percent"``, ``"per 1,000 residents"``).
    step
        The change described (10 for 10 points); 1 SD when the fit is standardised.
    """

    label: str
    units: str
    step: float = 1.0


def _num(x: float) -> str:
    return f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def _change(t: TermText) -> str:
    if t.units == "percent":
        return f"{_num(t.step)} percentage points higher"
    return f"{_num(t.step)} {t.units} higher".replace("  ", " ")


def _holding(term: str, labels: Mapping[str, TermText], covariates: Sequence[str]) -> str:
    others = [labels[c].label for c in covariates if c != term]
    return f", holding {', '.join(others)} fixed" if others else ""


def _direction(lo: float, hi: float) -> str:
    if lo > 0 or hi < 0:
        return ""
    return " The interval includes zero: the data are consistent with no association."


def coefficient_sentences(result: RegressionResult, texts: Mapping[str, TermText]) -> list[str]:
    """One plain sentence per covariate of ``result``, with its interval, then one on the spatial term.

    Parameters
    ----------
    result
        A fit of :func:`geo.analysis.regression.spatial_regression`.
    texts
        Column -> :class:`TermText` for the dependent variable and every covariate.

    Returns
    -------
    list of str
        For OLS and the error model the coefficient times the step; for the lag model the
        total impact times the step with the share the model attributes to the neighbours.
        Standardised fits are said in standard deviations.
    """
    missing = [c for c in (result.dependent, *result.covariates) if c not in texts]
    if missing:
        raise ValueDomainError(f"no text for {', '.join(map(repr, missing))}")
    y = texts[result.dependent]
    pct = f"{result.confidence:.0%}"
    coefs = result.coefficients.set_index("term")
    impacts = result.impacts.set_index(["term", "impact"]) if result.impacts is not None else None
    lines = []
    for term in result.covariates:
        x = texts[term]
        step = 1.0 if result.standardised else x.step
        change = "1 standard deviation higher" if result.standardised else _change(TermText(x.label, x.units, step))
        unit = "standard deviations" if result.standardised else y.units
        if impacts is not None:
            tot, ind = impacts.loc[(term, "total")], impacts.loc[(term, "indirect")]
            est, lo, hi = (step * float(tot[c]) for c in ("estimate", "ci_low", "ci_high"))
            spill = (
                f"; the model says {_num(step * float(ind['estimate']))} of it spills over from neighbouring areas "
                f"({pct} interval {_num(step * float(ind['ci_low']))} to {_num(step * float(ind['ci_high']))})"
            )
        else:
            row = coefs.loc[term]
            est, lo, hi = (step * float(row[c]) for c in ("estimate", "ci_low", "ci_high"))
            spill = ""
        word = "higher" if est >= 0 else "lower"
        lines.append(
            f"In neighbourhoods where {x.label} is {change}, {y.label} is {_num(abs(est))} {unit} {word} on average "
            f"({pct} interval {_num(lo)} to {_num(hi)}){_holding(term, texts, result.covariates)}{spill}."
            + _direction(lo, hi)
        )
    lines += _spatial_sentence(result, coefs, pct)
    return lines


def _spatial_sentence(result: RegressionResult, coefs: pd.DataFrame, pct: str) -> list[str]:
    if result.model == "lag":
        r = coefs.loc[f"W_{result.dependent}"]
        return [
            f"Spatial lag (rho) {_num(float(r['estimate']))} ({pct} interval {_num(float(r['ci_low']))} to "
            f"{_num(float(r['ci_high']))}): an area's value moves with its neighbours' values, so a change in one "
            "area's conditions also shows in its neighbours (the indirect part above)."
        ]
    if result.model == "error":
        r = coefs.loc["lambda"]
        return [
            f"Spatial error (lambda) {_num(float(r['estimate']))} ({pct} interval {_num(float(r['ci_low']))} to "
            f"{_num(float(r['ci_high']))}): what the conditions leave unexplained is alike in neighbouring areas "
            "(something not in the model is clustered); the coefficients above are not spill-overs."
        ]
    return []
