"""Persistence of hot spots: whether a hot NPA stays hot, and whether a hot spot's neighbour becomes one.

From the yearly NPA series (``<variable>_YYYY`` columns of :func:`geo.layers.build.npa_layer`, as
:func:`geo.analysis.hotspots.run_hotspots` uses for emerging hot spots):

1. each year's LISA with our :func:`geo.stats.moran.local_moran` (same weights, seed and
   correction every year): the scatterplot quadrant and the significant cluster of every NPA;
2. the LISA Markov chain of the quadrants (:func:`geo.stats.markov.lisa_markov`: the counts and
   giddy's chi-square test of ``LISA_Markov``, computed by its formulas);
3. Rey's spatial Markov chain of the NPAs' values relative to the city's mean that year, in pooled
   quartiles, conditioned on the neighbours' quartile (:func:`geo.stats.markov.spatial_markov`:
   the homogeneity tests of giddy's ``Spatial_Markov``, computed by its formulas);
4. our own counts: how often a unit that was not hot became hot the next year, with and without a
   hot neighbour; and the moves between significant clusters.

Only the longest run of consecutive years ending at the last year is used by default (the NPA
metrics skip 2012 and 2014: a two-year step is not a one-year transition), and only NPAs with a
value in every year used (the others are listed in ``notes``).
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.analysis.hotspot_variables import Smoothing, add_per_capita, step_columns, year_of
from geo.errors import EmptyInputError, ValueDomainError
from geo.stats.markov import (
    QUADRANT_NAMES,
    LisaMarkovResult,
    SpatialMarkovResult,
    conditional_transition_counts,
    lisa_markov,
    spatial_markov,
    transition_counts,
    transition_probabilities,
)
from geo.stats.moran import local_moran
from geo.stats.significance import Correction, resolve_weights
from geo.stats.weights import SpatialWeights, WeightsMethod

__all__ = [
    "CLUSTER_STATES",
    "PersistenceResult",
    "persistence",
    "persistence_lines",
    "consecutive_years",
    "unit_history",
]


#: States of the significant-cluster chain, in order.
CLUSTER_STATES: tuple[str, ...] = ("High-High", "Low-Low", "Low-High", "High-Low", "Not significant")


@dataclass(frozen=True)
class PersistenceResult:
    """Hot-spot persistence over the years of :func:`persistence`.

    Attributes
    ----------
    years
        The years used, in order.
    values
        NPAs x years values analysed (the NPAs kept).
    quadrants, clusters
        NPAs x years LISA quadrant (1 HH, 2 LH, 3 LL, 4 HL) and significant cluster label.
    lisa
        The LISA Markov chain and its chi-square test.
    spatial
        The spatial Markov chain of the relative values (quartiles).
    quadrant_table, cluster_table, neighbour_table
        Tidy transition tables ``from, to, count, share`` (share of the row): quadrants,
        significant clusters, and hot (HH quadrant) / not hot by whether any neighbour
        was hot (column ``hot_neighbour``).
    lines
        Plain-language lines.
    notes
        Years and NPAs left out, and why.
    seconds
        Wall time of the run.
    """

    years: tuple[int, ...]
    values: pd.DataFrame
    quadrants: pd.DataFrame
    clusters: pd.DataFrame
    lisa: LisaMarkovResult
    spatial: SpatialMarkovResult
    quadrant_table: pd.DataFrame
    cluster_table: pd.DataFrame
    neighbour_table: pd.DataFrame
    lines: tuple[str, ...]
    notes: tuple[str, ...] = ()
    seconds: float = float("nan")
    extra: dict[str, object] = field(default_factory=dict)

    def summary(self) -> str:
        """Plain-language lines and notes."""
        return "\n".join([*self.lines, *(f"note: {n}" for n in self.notes)])


def consecutive_years(years: Sequence[int]) -> list[int]:
    """The longest run of consecutive years ending at the last year (``[2011, 2013, 2015, 2016, 2017]`` -> 2015..)."""
    ys = sorted(int(y) for y in years)
    if not ys:
        return []
    run = [ys[-1]]
    for y in reversed(ys[:-1]):
        if y != run[0] - 1:
            break
        run.insert(0, y)
    return run


def _columns(
    layer: gpd.GeoDataFrame, variable: str, years: Sequence[int] | None, per_capita: bool, smoothing: Smoothing
) -> tuple[gpd.GeoDataFrame, list[str], list[int], list[str]]:
    """The yearly columns analysed (rates added when per capita), their years, and notes."""
    cols = step_columns(layer, variable)
    have = {int(year_of(c) or 0): c for c in cols}
    chosen = consecutive_years(list(have)) if years is None else [int(y) for y in years]
    unknown = [y for y in chosen if y not in have]
    if unknown:
        raise ValueDomainError(f"no column {variable}_YYYY for year(s) {unknown}; years available: {sorted(have)}")
    if len(chosen) < 3:
        raise ValueDomainError(f"persistence needs at least 3 years; got {chosen}")
    notes = []
    skipped = sorted(set(have) - set(chosen))
    if skipped:
        notes.append(f"years {', '.join(map(str, skipped))} left out: only consecutive years make one-year transitions")
    frame, out = layer, []
    for y in chosen:
        if per_capita:
            frame, name, _ = add_per_capita(frame, layer="npa", variable=have[y], smoothing=smoothing)
            out.append(name)
        else:
            out.append(have[y])
    return frame, out, chosen, notes


def _complete_units(
    frame: gpd.GeoDataFrame, columns: list[str], weights: SpatialWeights | WeightsMethod, id_column: str
) -> tuple[gpd.GeoDataFrame, SpatialWeights, list[str]]:
    """NPAs with a value in every year and at least one neighbour among them, their weights, and notes."""
    values = frame[columns].apply(pd.to_numeric, errors="coerce")
    complete = np.isfinite(values.to_numpy(dtype=float)).all(axis=1)
    notes = []
    if (~complete).any():
        notes.append(f"{int((~complete).sum())} NPA(s) without a value in every year left out")
    sub = frame[complete]
    if len(sub) < 3:
        raise EmptyInputError("fewer than 3 NPAs have a value in every year")
    w = resolve_weights(sub, weights) if isinstance(weights, str) else resolve_weights(frame, weights).subset(complete)
    if w.islands:
        keep = ~np.asarray(w.ids.isin(list(w.islands)))
        ids = sub[id_column][~keep].tolist() if id_column in sub else list(w.islands)
        notes.append(f"{len(w.islands)} NPA(s) with no neighbour among the rest left out: {', '.join(map(str, ids))}")
        sub, w = sub[keep], w.subset(keep)
    return sub, w, notes


def _table(counts: np.ndarray, names: Sequence[str]) -> pd.DataFrame:
    share = transition_probabilities(counts)
    rows = [
        {"from": a, "to": b, "count": int(counts[i, j]), "share": float(share[i, j])}
        for i, a in enumerate(names)
        for j, b in enumerate(names)
    ]
    return pd.DataFrame(rows)


def _neighbour_table(hot: np.ndarray, weights: SpatialWeights) -> pd.DataFrame:
    """Hot / not hot moves split by whether any neighbour was hot in the starting year."""
    binary = weights.matrix("B")
    nb = np.column_stack([(binary @ hot[:, t].astype(float)) > 0 for t in range(hot.shape[1])])
    counts = conditional_transition_counts(hot.astype(np.int64), nb.astype(np.int64), k=2, m=2)
    parts = []
    for c, label in ((0, False), (1, True)):
        parts.append(_table(counts[c], ("not hot", "hot")).assign(hot_neighbour=label))
    return pd.concat(parts, ignore_index=True)


def persistence(
    npa_layer: gpd.GeoDataFrame,
    *,
    variable: str = "violent_crimes",
    years: Sequence[int] | None = None,
    per_capita: bool = False,
    smoothing: Smoothing = "none",
    weights: SpatialWeights | WeightsMethod = "queen",
    permutations: int | None = None,
    seed: int | None = None,
    alpha: float | None = None,
    correction: Correction = "fdr",
    k: int = 4,
    id_column: str = "npa",
) -> PersistenceResult:
    """LISA Markov, spatial Markov and hot-neighbour transitions of a yearly NPA series.

    Parameters
    ----------
    npa_layer
        The NPA layer with ``<variable>_YYYY`` columns.
    variable
        Column prefix (``violent_crimes``, ``property_crimes``).
    years
        Years to use (consecutive); default the longest consecutive run ending at the last year.
    per_capita, smoothing
        Analyse the rate per 1,000 residents (raw or EB-smoothed) instead of the count.
    weights
        Weights method, or weights built for ``npa_layer``.
    permutations, seed, alpha, correction
        Each year's LISA inference (defaults from settings; FDR over the NPAs of each year).
    k
        Quantile classes of the spatial Markov chain (and of the lag).
    id_column
        Column naming the NPAs (index of the result frames).
    """
    start = time.perf_counter()
    frame, columns, chosen, notes = _columns(npa_layer, variable, years, per_capita, smoothing)
    sub, w, more = _complete_units(frame, columns, weights, id_column)
    notes += more
    ids = pd.Index(sub[id_column] if id_column in sub else sub.index, name=id_column)
    quads, clusters = [], []
    for c in columns:
        res = local_moran(sub, c, weights=w, permutations=permutations, seed=seed, alpha=alpha, correction=correction)
        quads.append(res.frame["lisa_quadrant"].to_numpy(dtype=np.int64))
        clusters.append(res.frame["lisa_cluster"].to_numpy(dtype=object))
    q = np.column_stack(quads)
    cl = np.column_stack(clusters)
    y = sub[columns].to_numpy(dtype=float)
    lm = lisa_markov(y, w, q)
    sm = spatial_markov(y / y.mean(axis=0), w, k=k, m=k)
    cl_codes = np.vectorize(CLUSTER_STATES.index)(cl).astype(np.int64)
    result = PersistenceResult(
        years=tuple(chosen),
        values=pd.DataFrame(y, index=ids, columns=chosen),
        quadrants=pd.DataFrame(q, index=ids, columns=chosen),
        clusters=pd.DataFrame(cl, index=ids, columns=chosen),
        lisa=lm,
        spatial=sm,
        quadrant_table=_table(lm.transitions, QUADRANT_NAMES),
        cluster_table=_table(transition_counts(cl_codes, k=len(CLUSTER_STATES)), CLUSTER_STATES),
        neighbour_table=_neighbour_table(q == 1, w),
        lines=(),
        notes=tuple(notes),
        extra={"variable": variable, "per_capita": per_capita, "units": len(ids), "weights": w.summary()},
    )
    lines = persistence_lines(result)
    return replace(result, lines=tuple(lines), seconds=time.perf_counter() - start)


def _share(table: pd.DataFrame, a: str, b: str, **where: object) -> tuple[float, int]:
    t = table
    for col, val in where.items():
        t = t[t[col] == val]
    row = t[(t["from"] == a) & (t["to"] == b)]
    total = int(t.loc[t["from"] == a, "count"].sum())
    return (float(row["share"].iloc[0]) if total else float("nan")), total


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def persistence_lines(result: PersistenceResult) -> list[str]:
    """Plain-language lines of a :class:`PersistenceResult`."""
    y0, y1 = result.years[0], result.years[-1]
    n = len(result.values)
    stay, n_hot = _share(result.quadrant_table, "High-High", "High-High")
    sig, n_sig = _share(result.cluster_table, "High-High", "High-High")
    new_nb, n_nb = _share(result.neighbour_table, "not hot", "hot", hot_neighbour=True)
    new_far, n_far = _share(result.neighbour_table, "not hot", "hot", hot_neighbour=False)
    lm, sm = result.lisa, result.spatial
    lines = [
        f"{n} NPAs followed from {y0} to {y1} ({len(result.years) - 1} one-year steps).",
        f"A hot spot (high, with high neighbours) stayed hot the next year in {stay:.0%} of {n_hot:,} cases.",
        f"A statistically significant hot-spot cluster stayed one the next year in {sig:.0%} of {n_sig:,} cases."
        if n_sig
        else "No NPA was a statistically significant hot-spot cluster in the years before the last.",
        f"An NPA next to a hot spot became one the next year in {new_nb:.0%} of {n_nb:,} cases; "
        f"an NPA with no hot neighbour did in {new_far:.0%} of {n_far:,} cases.",
        f"Within a year, an NPA's level (above or below the county's mean) goes with its neighbours' level more "
        f"often than chance would give (giddy's LISA Markov chi-square {lm.chi2:.1f}, {lm.chi2_dof} df, "
        f"{_p(lm.chi2_p)}; it pools the years and does not follow each NPA over time)."
        if lm.chi2_p <= 0.05
        else f"Within a year, an NPA's level looks independent of its neighbours' (LISA Markov chi-square "
        f"{lm.chi2:.1f}, p = {lm.chi2_p:.2g}).",
        f"Neighbours matter for where an NPA goes next: the year-to-year moves differ with the neighbours' level "
        f"(likelihood ratio {sm.lr:.1f}, {sm.dof} df, {_p(sm.lr_p)})."
        if sm.lr_p <= 0.05
        else f"The year-to-year moves do not clearly differ with the neighbours' level (likelihood ratio {_p(sm.lr_p)}).",
    ]
    return lines


def unit_history(result: PersistenceResult, unit: Hashable) -> pd.DataFrame:
    """One NPA's yearly value, quadrant and cluster (for a detail panel)."""
    if unit not in result.values.index:
        raise ValueDomainError(f"NPA {unit!r} is not among the {len(result.values)} followed")
    return pd.DataFrame(
        {
            "year": list(result.years),
            "value": result.values.loc[unit].to_numpy(),
            "quadrant": [QUADRANT_NAMES[int(v) - 1] for v in result.quadrants.loc[unit]],
            "cluster": result.clusters.loc[unit].to_numpy(),
        }
    )
