r"""Emerging hot spot analysis: how hot and cold spots change over time.

In the spirit of ArcGIS's *Emerging Hot Spot Analysis*, for a cube of units x
time steps (for example NPA x year crime counts):

1. **Space-time Gi\*.** Every bin (unit ``i``, step ``t``) gets a Getis-Ord Gi*
   z-score whose neighbourhood is the bin itself, the spatial neighbours of ``i``
   in step ``t``, and ``i`` and its spatial neighbours in each of the previous
   ``time_lag`` steps (binary weights). As in ArcGIS, each bin is compared with
   the mean and spread of *all* bins of the cube. Significance comes from the
   conditional-permutation pseudo p-value (``permutations > 0``, the bin's
   neighbour values redrawn from the other bins of the cube) or the normal p.
   As in ArcGIS Pro, the p-values of each time step are corrected for multiple
   testing (``correction="fdr"``, Benjamini-Hochberg over the units of that step;
   ``"bonferroni"``; or ``"none"``). A significant bin is hot or cold by the sign of
   its z-score (normal p) or by the permutation tail that made its p small
   (permutations; see :mod:`geo.stats.getisord`), warning ``direction_conflict``
   where the two disagree.
2. **Trend.** The Mann-Kendall test of each unit's series of z-scores
   (:func:`mann_kendall`): is clustering intensifying or diminishing?
3. **Categories** (:func:`classify_emerging`), from the series of significant hot
   and cold bins of each unit (``p`` at or below the step's corrected cutoff).

Category rules
--------------
``T`` steps; *the 90 % rule*: a unit is a hot (cold) spot in at least 90 % of the
steps, i.e. ``10 * n_hot >= 9 * T``. "Trend up/down" means a Mann-Kendall trend
of the z-scores with ``p <= trend_alpha`` and ``tau > 0`` / ``tau < 0``.
When the final step is a significant hot spot:

* **Intensifying Hot Spot** -- 90 % rule met (final step included) and trend up.
* **Diminishing Hot Spot** -- 90 % rule met and trend down.
* **Persistent Hot Spot** -- 90 % rule met and no significant trend.
* **Oscillating Hot Spot** -- 90 % rule not met, and some earlier step was a
  significant *cold* spot.
* **New Hot Spot** -- the final step is the only significant step of the unit.
* **Consecutive Hot Spot** -- a single uninterrupted run of at least two hot steps
  ending at the final step, no significant step before the run, 90 % rule not met.
* **Sporadic Hot Spot** -- otherwise: hot now, hot on and off before (with gaps),
  never cold, 90 % rule not met.

When the final step is not significant:

* **Historical Hot Spot** -- hot in at least 90 % of the steps (so every step but
  the most recent, for 10 steps).

The cold-spot categories mirror these (for cold spots "intensifying" means the
z-scores trend *down*, i.e. colder). A unit with a significant cold final step
and a 90 % hot history is an **Oscillating Cold Spot**. Everything else is **No
Pattern Detected**. Units with a missing value in any step are **Undefined**
(ArcGIS needs a complete cube; fill or drop such units first if they matter).
Units without a spatial neighbour among the complete units are **Isolated**: they
are not tested (even with a time lag, where their own past would be their only
neighbourhood), their z and p are NaN, and they count in neither the correction
nor the categories.

Where ArcGIS's wording leaves the order open, the precedence is: the 90 % rule
categories, then Oscillating (a prior opposite spot), then New, Consecutive,
Sporadic. This follows the ArcGIS Pro documentation ("How Emerging Hot Spot
Analysis works"); sfdep's R implementation was consulted for comparison.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from geo.errors import EmptyInputError, GeoWarning, SchemaError, ValueDomainError
from geo.stats._permutation import Alternative, permutation_counts, permutation_tail, pseudo_p_value
from geo.stats.getisord import direction_conflict_warning, gstar_arrays
from geo.stats.significance import (
    Correction,
    add_columns,
    check_alpha,
    check_permutations,
    check_variation,
    numeric_values,
    resolve_weights,
    settings_defaults,
    significance_cutoff,
    small_sample_warning,
    spread,
    two_sided_normal_p,
)
from geo.stats.warning_codes import UNDEFINED_UNITS
from geo.stats.weights import SpatialWeights, WeightsMethod, drop_self_links

__all__ = [
    "EHSA_CATEGORIES",
    "MannKendall",
    "mann_kendall",
    "classify_emerging",
    "spacetime_weights",
    "EmergingResult",
    "emerging_hotspots",
]


EHSA_CATEGORIES: tuple[str, ...] = (
    "New Hot Spot",
    "Consecutive Hot Spot",
    "Intensifying Hot Spot",
    "Persistent Hot Spot",
    "Diminishing Hot Spot",
    "Sporadic Hot Spot",
    "Oscillating Hot Spot",
    "Historical Hot Spot",
    "New Cold Spot",
    "Consecutive Cold Spot",
    "Intensifying Cold Spot",
    "Persistent Cold Spot",
    "Diminishing Cold Spot",
    "Sporadic Cold Spot",
    "Oscillating Cold Spot",
    "Historical Cold Spot",
    "No Pattern Detected",
    "Isolated",
    "Undefined",
)


MIN_STEPS = 3


@dataclass(frozen=True)
class MannKendall:
    """Mann-Kendall trend test of each row of a ``(units, steps)`` array.

    Attributes
    ----------
    s
        Kendall's S, ``sum_{a<b} sign(x_b - x_a)``.
    var_s
        Variance of S under no trend, corrected for ties.
    z
        Normal score with continuity correction, ``(S - sign(S)) / sqrt(var_s)``.
    p
        Two-sided p-value.
    tau
        Kendall's tau-a, ``S / (T (T - 1) / 2)``.
    """

    s: np.ndarray
    var_s: np.ndarray
    z: np.ndarray
    p: np.ndarray
    tau: np.ndarray


def mann_kendall(series: np.ndarray) -> MannKendall:
    """Mann-Kendall test of a monotonic trend, vectorised over rows.

    Parameters
    ----------
    series
        ``(units, T)`` values in time order. A row with a NaN has NaN ``s``, ``z``, ``p`` and ``tau``
        (drop gaps first); its ``var_s`` counts the NaNs as one tie group when the row has other ties.
    """
    x = np.atleast_2d(np.asarray(series, dtype=float))
    n, t = x.shape
    s = np.zeros(n)
    for a in range(t - 1):
        s += np.sign(x[:, a + 1 :] - x[:, a : a + 1]).sum(axis=1)
    var_s = np.full(n, t * (t - 1) * (2 * t + 5) / 18.0)
    # ties: subtract sum over tie groups (as np.unique: equal values, NaNs one group) of g (g - 1) (2g + 5) / 18
    # in the rows with a zero step; the group sizes are integers, so the float sums are exact
    srt = np.sort(x, axis=1)
    tied = np.nonzero((np.diff(srt, axis=1) == 0).any(axis=1))[0]
    srt, new = srt[tied], np.ones((tied.size, t), dtype=bool)
    new[:, 1:] = ~((srt[:, 1:] == srt[:, :-1]) | (np.isnan(srt[:, 1:]) & np.isnan(srt[:, :-1])))
    g = np.bincount(np.cumsum(new.ravel()) - 1).astype(float)
    rows = np.repeat(np.arange(tied.size), new.sum(axis=1))
    var_s[tied] -= np.bincount(rows, weights=g * (g - 1) * (2 * g + 5), minlength=tied.size) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var_s > 0, (s - np.sign(s)) / np.sqrt(var_s), 0.0)
    return MannKendall(s=s, var_s=var_s, z=z, p=two_sided_normal_p(z), tau=s / (t * (t - 1) / 2))


def classify_emerging(
    z: np.ndarray,
    p: np.ndarray,
    *,
    alpha: float = 0.05,
    trend_alpha: float | None = None,
    cutoff: float | Sequence[float] | np.ndarray | None = None,
    direction: np.ndarray | None = None,
) -> np.ndarray:
    """Emerging hot spot category of each unit (rules in the module docstring).

    Parameters
    ----------
    z, p
        ``(units, T)`` Gi* z-scores and p-values in time order; a row with any NaN
        is ``Undefined``.
    alpha
        Significance of a hot or cold bin when ``cutoff`` is not given (``p <= alpha``).
    trend_alpha
        Significance of the Mann-Kendall trend (default ``alpha``).
    cutoff
        p cutoff of a significant bin after a multiple-testing correction: one
        number, or one per step (``T``); default ``alpha``.
    direction
        ``(units, T)`` +1 (hot), -1 (cold) or 0 per bin; default the sign of ``z``
        (permutation inference passes the significant tail).

    Returns
    -------
    numpy.ndarray
        ``(units,)`` object array of labels from :data:`EHSA_CATEGORIES` (never
        ``Isolated``: :func:`emerging_hotspots` sets that from the weights).
    """
    z = np.atleast_2d(np.asarray(z, dtype=float))
    p = np.atleast_2d(np.asarray(p, dtype=float))
    if z.shape != p.shape:
        raise ValueDomainError(f"z and p differ in shape: {z.shape} vs {p.shape}")
    n, t = z.shape
    if t < MIN_STEPS:
        raise ValueDomainError(f"emerging hot spots need at least {MIN_STEPS} time steps; got {t}")
    trend_alpha = alpha if trend_alpha is None else trend_alpha
    cut = np.broadcast_to(np.asarray(alpha if cutoff is None else cutoff, dtype=float), (t,))
    out = np.full(n, "No Pattern Detected", dtype=object)
    undefined = ~(np.isfinite(z) & np.isfinite(p)).all(axis=1)
    zz = np.where(undefined[:, None], 0.0, z)
    sign = np.sign(zz) if direction is None else np.atleast_2d(np.asarray(direction, dtype=float))
    if sign.shape != z.shape:
        raise ValueDomainError(f"direction and z differ in shape: {sign.shape} vs {z.shape}")
    sig = (p <= cut[None, :]) & ~undefined[:, None] & (sign != 0)
    hot = sig & (sign > 0)
    cold = sig & (sign < 0)
    mk = mann_kendall(zz)
    up = (mk.p <= trend_alpha) & (mk.tau > 0)
    down = (mk.p <= trend_alpha) & (mk.tau < 0)

    for kind, this, other, more, less in (("Hot", hot, cold, up, down), ("Cold", cold, hot, down, up)):
        n_this = this.sum(axis=1)
        ninety = 10 * n_this >= 9 * t
        final = this[:, -1]
        earlier_other = other[:, :-1].any(axis=1)
        n_sig_before_final = (sig[:, :-1]).sum(axis=1)
        # length of the run of `this` ending at the final step
        run = np.zeros(n, dtype=np.int64)
        alive = np.ones(n, dtype=bool)
        for step in range(t - 1, -1, -1):
            alive &= this[:, step]
            run += alive
        sig_before_run = (sig & (np.arange(t)[None, :] < (t - run)[:, None])).any(axis=1)
        lab = np.full(n, None, dtype=object)
        f9 = final & ninety
        lab[f9 & more] = f"Intensifying {kind} Spot"
        lab[f9 & less] = f"Diminishing {kind} Spot"
        lab[f9 & ~more & ~less] = f"Persistent {kind} Spot"
        rest = final & ~ninety
        lab[rest & earlier_other] = f"Oscillating {kind} Spot"
        rest &= ~earlier_other
        lab[rest & (n_sig_before_final == 0)] = f"New {kind} Spot"
        rest &= n_sig_before_final > 0
        lab[rest & (run >= 2) & ~sig_before_run] = f"Consecutive {kind} Spot"
        rest &= ~((run >= 2) & ~sig_before_run)
        lab[rest] = f"Sporadic {kind} Spot"
        lab[~sig[:, -1] & ninety] = f"Historical {kind} Spot"
        set_ = lab != None  # noqa: E711
        out[set_] = lab[set_]
    out[undefined] = "Undefined"
    return out


def spacetime_weights(
    spatial: sparse.sparray | sparse.spmatrix, n_steps: int, *, time_lag: int = 1
) -> sparse.csr_array:
    """Binary space-time weights for a cube laid out step by step (bin = t * n + i).

    The neighbours of bin ``(i, t)`` are ``(j, t)`` for the spatial neighbours ``j``
    of ``i``, and ``(i, t - l)`` and ``(j, t - l)`` for ``l = 1 .. time_lag``
    (when ``t - l >= 0``). The bin itself is not included (Gi* adds it).
    """
    a = drop_self_links(spatial)
    a.data[:] = 1.0
    n = a.shape[0]
    eye = sparse.eye_array(n, format="csr")
    same = sparse.kron(sparse.eye_array(n_steps), a, format="csr")
    blocks = [same]
    past = a + eye
    for lag in range(1, time_lag + 1):
        if lag >= n_steps:
            break
        shift = sparse.eye_array(n_steps, k=-lag, format="csr")  # row t picks step t - lag
        blocks.append(sparse.kron(shift, past, format="csr"))
    out = sparse.csr_array(sum(blocks[1:], blocks[0]))
    out.data[:] = 1.0
    return out


@dataclass(frozen=True)
class EmergingResult:
    """Emerging hot spots: a category per unit plus the cube of Gi* results.

    Attributes
    ----------
    frame
        Copy of the layer with ``<prefix>category``, ``<prefix>trend_tau``,
        ``<prefix>trend_p``, ``<prefix>hot_steps``, ``<prefix>cold_steps``,
        ``<prefix>final_z``, ``<prefix>final_p``.
    z, p
        Units x steps Gi* z-scores and p-values (index: unit ids; columns: steps);
        NaN for Undefined and Isolated units.
    hot, cold
        Units x steps booleans: the bin is a significant hot (cold) spot after the
        per-step correction, its direction from z or the permutation tail.
    times
        Step labels.
    counts
        Units per category (:data:`EHSA_CATEGORIES`).
    columns
        Names of the columns added to ``frame``.
    permutations, seed, alpha, trend_alpha, time_lag
        The options used.
    correction
        Multiple-testing correction applied to the p-values of each step
        (``fdr``, ``bonferroni`` or ``none``); ``extra["cutoffs"]`` has each step's cutoff.
    undefined
        Ids of units with a missing value in some step.
    islands
        Ids of units without a spatial neighbour among the complete units (``Isolated``).
    warnings
        Warnings as data, codes ``undefined_units`` (incomplete series), ``islands``,
        ``components``, ``direction_conflict``, ``small_sample``
        (:mod:`geo.stats.warning_codes`).
    extra
        ``bins`` (cells of the cube tested), ``cutoffs`` (step label -> p cutoff
        after correction; -1 when no bin of the step passes the FDR),
        ``direction_conflicts`` ((unit id, step) of significant permuted bins whose
        z sign disagrees with the tail), ``alternative`` and the ``weights`` summary.
    """

    frame: gpd.GeoDataFrame
    z: pd.DataFrame
    p: pd.DataFrame
    hot: pd.DataFrame
    cold: pd.DataFrame
    times: tuple[Hashable, ...]
    columns: tuple[str, ...]
    counts: Mapping[str, int]
    permutations: int
    seed: int | None
    alpha: float
    trend_alpha: float
    time_lag: int
    correction: str
    undefined: tuple[Hashable, ...] = ()
    islands: tuple[Hashable, ...] = ()
    warnings: tuple[GeoWarning, ...] = ()
    extra: Mapping[str, object] = field(default_factory=dict)

    def summary(self) -> str:
        """A few lines for the command line: the steps, the options, units per category, warnings."""
        correction = "no correction" if self.correction == "none" else f"{self.correction} correction per step"
        lines = [
            f"emerging hot spots over {len(self.times)} steps ({self.times[0]} .. {self.times[-1]}), "
            f"time lag {self.time_lag}, alpha {self.alpha:g} ({correction}), {self.permutations} permutations"
        ]
        lines += [f"  {k}: {v}" for k, v in self.counts.items() if v]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def emerging_hotspots(
    gdf: gpd.GeoDataFrame,
    *,
    columns: Sequence[str],
    times: Sequence[Hashable] | None = None,
    weights: SpatialWeights | WeightsMethod = "queen",
    time_lag: int = 1,
    permutations: int | None = None,
    seed: int | None = None,
    alpha: float | None = None,
    trend_alpha: float | None = None,
    correction: Correction = "fdr",
    alternative: Alternative = "two-sided",
    prefix: str = "ehsa_",
) -> EmergingResult:
    """Emerging hot spot analysis of a units x time cube held as one column per step.

    Parameters
    ----------
    gdf
        Layer, one row per unit.
    columns
        One numeric column per time step, in time order (e.g.
        ``violent_crimes_2011`` .. ``violent_crimes_2022``); at least 3.
    times
        Labels of the steps (default: the column names).
    weights
        Spatial weights for ``gdf`` or a method name.
    time_lag
        Previous steps in each bin's neighbourhood (0 = purely spatial).
    permutations
        Conditional permutations per bin (0: normal p-values); default settings.
        With permutations a bin's direction is the permutation tail.
    seed, alpha
        Random seed and significance level (defaults from settings).
    trend_alpha
        Significance of the Mann-Kendall trend (default ``alpha``).
    correction
        Multiple-testing correction of the bins, applied to each time step's units
        separately: ``fdr`` (Benjamini-Hochberg, as ArcGIS Pro), ``bonferroni`` or ``none``.
    alternative
        Folding of the permutation p-value.
    prefix
        Prefix of the added columns.

    Returns
    -------
    EmergingResult

    Raises
    ------
    ValueDomainError
        Bad options, or the cube has one value in every bin (nothing to test).
    """
    permutations, seed, alpha = settings_defaults(permutations, seed, alpha)
    permutations = check_permutations(permutations)
    alpha = check_alpha(alpha)
    trend_alpha = alpha if trend_alpha is None else check_alpha(trend_alpha)
    significance_cutoff(np.array([]), alpha, correction)  # refuses an unknown correction up front
    columns = list(columns)
    labels = _check_steps(columns, times, time_lag)
    weights = resolve_weights(gdf, weights)
    cube = _cube(gdf, columns)
    defined = np.isfinite(cube).all(axis=1)
    check_variation(cube[defined], f"{columns[0]} .. {columns[-1]}", over="every unit and time step tested")
    sw = weights if defined.all() else weights.subset(defined)
    cells = _spacetime_gi(
        cube[defined], sw, time_lag=time_lag, permutations=permutations, seed=seed, alternative=alternative
    )
    bins = _significant_bins(cells, alpha=alpha, correction=correction)
    categories = classify_emerging(
        cells.z, cells.p, alpha=alpha, trend_alpha=trend_alpha, cutoff=bins.cutoffs, direction=cells.direction
    )
    categories[cells.isolated] = "Isolated"
    cols = _emerging_columns(cells, bins, categories, defined, prefix=prefix)
    ids, steps = weights.ids[defined], list(labels)
    conflicts = tuple((ids[i], labels[t]) for i, t in zip(*np.nonzero(bins.conflict), strict=True))
    return EmergingResult(
        frame=add_columns(gdf, cols),
        z=pd.DataFrame(cells.z, index=ids, columns=steps).reindex(weights.ids),
        p=pd.DataFrame(cells.p, index=ids, columns=steps).reindex(weights.ids),
        hot=pd.DataFrame(bins.hot, index=ids, columns=steps).reindex(weights.ids, fill_value=False),
        cold=pd.DataFrame(bins.cold, index=ids, columns=steps).reindex(weights.ids, fill_value=False),
        times=labels,
        columns=tuple(cols),
        counts={c: int((cols[f"{prefix}category"] == c).sum()) for c in EHSA_CATEGORIES},
        permutations=permutations,
        seed=seed,
        alpha=alpha,
        trend_alpha=trend_alpha,
        time_lag=int(time_lag),
        correction=correction,
        undefined=tuple(weights.ids[~defined]),
        islands=sw.islands,
        warnings=_emerging_warnings(sw, defined, conflicts),
        extra={
            "bins": int(np.isfinite(cells.z).sum()),
            "cutoffs": dict(zip(labels, bins.cutoffs.tolist(), strict=True)),
            "direction_conflicts": conflicts,
            "alternative": alternative,
            "weights": sw.summary(),
        },
    )


def _check_steps(columns: list[str], times: Sequence[Hashable] | None, time_lag: int) -> tuple[Hashable, ...]:
    """Check the time-step columns, their labels and the time lag; return the labels."""
    if len(columns) < MIN_STEPS:
        raise ValueDomainError(
            f"emerging hot spots need at least {MIN_STEPS} time steps; got {len(columns)} ({', '.join(columns)})"
        )
    if len(set(columns)) != len(columns):
        raise ValueDomainError("each time step needs its own column; some columns repeat")
    labels = tuple(columns if times is None else times)
    if len(labels) != len(columns):
        raise ValueDomainError(f"{len(labels)} time labels for {len(columns)} columns")
    if isinstance(time_lag, bool) or not isinstance(time_lag, int | np.integer) or time_lag < 0:
        raise ValueDomainError(f"time_lag must be a non-negative integer; got {time_lag!r}")
    return labels


def _cube(gdf: gpd.GeoDataFrame, columns: list[str]) -> np.ndarray:
    """The ``(units, steps)`` values; refuses missing columns and a cube without a complete unit."""
    missing_cols = [c for c in columns if c not in gdf.columns]
    if missing_cols:
        raise SchemaError(f"time-step column(s) {', '.join(map(repr, missing_cols))} not in the layer")
    cube = np.column_stack([numeric_values(gdf, c, what="time-step column") for c in columns])
    if not np.isfinite(cube).all(axis=1).any():
        raise EmptyInputError("no unit has a value in every time step")
    return cube


@dataclass(frozen=True)
class _Cells:
    """Gi* of every bin of the complete units, as ``(units, steps)`` arrays."""

    z: np.ndarray  # NaN for isolated units
    p: np.ndarray  # NaN for isolated units
    direction: np.ndarray  # +1 / -1 / 0: the permutation tail, or the sign of z
    permuted: bool
    isolated: np.ndarray  # (units,) no spatial neighbour


@dataclass(frozen=True)
class _Bins:
    """Significant bins after the per-step correction."""

    cutoffs: np.ndarray  # (steps,)
    hot: np.ndarray
    cold: np.ndarray
    conflict: np.ndarray  # significant, permuted, and z's sign not the tail


def _spacetime_gi(
    cube: np.ndarray,
    weights: SpatialWeights,
    *,
    time_lag: int,
    permutations: int,
    seed: int,
    alternative: Alternative,
) -> _Cells:
    """Gi* z-scores, p-values and directions of every bin of a complete cube."""
    n, t = cube.shape
    x = cube.T.ravel()  # step-major: bin = t * n + i
    wst = spacetime_weights(weights.base, t, time_lag=time_lag)
    z, _, table = gstar_arrays(x, wst, self_weight=1.0)
    if permutations:
        n_ge, n_le = permutation_counts(x, table, permutations=permutations, seed=seed)
        p = pseudo_p_value(n_ge, n_le, permutations, alternative=alternative)
        direction = permutation_tail(n_ge, n_le)
    else:
        p = two_sided_normal_p(z)
        direction = np.where(np.isfinite(z), np.sign(z), 0.0).astype(np.int64)
    isolated = np.diff(weights.base.indptr) == 0
    untested = ~np.isfinite(z) | np.tile(isolated, t)
    z = np.where(untested, np.nan, z)
    p = np.where(untested, np.nan, p)
    direction = np.where(untested, 0, direction)
    return _Cells(
        z=z.reshape(t, n).T,
        p=p.reshape(t, n).T,
        direction=direction.reshape(t, n).T,
        permuted=bool(permutations),
        isolated=isolated,
    )


def _significant_bins(cells: _Cells, *, alpha: float, correction: Correction) -> _Bins:
    """Correct each step's p-values separately; hot and cold bins by direction."""
    cutoffs = np.array([significance_cutoff(cells.p[:, s], alpha, correction) for s in range(cells.p.shape[1])])
    sig = np.isfinite(cells.p) & (cells.p <= cutoffs[None, :]) & (cells.direction != 0)
    conflict = sig & (np.sign(cells.z) != cells.direction) if cells.permuted else np.zeros_like(sig)
    return _Bins(cutoffs=cutoffs, hot=sig & (cells.direction > 0), cold=sig & (cells.direction < 0), conflict=conflict)


def _emerging_columns(
    cells: _Cells, bins: _Bins, categories: np.ndarray, defined: np.ndarray, *, prefix: str
) -> dict[str, np.ndarray]:
    """The columns added to the layer: category, trend, hot and cold steps, final z and p."""
    mk = mann_kendall(np.where(np.isfinite(cells.z), cells.z, 0.0))
    tau = np.where(cells.isolated, np.nan, mk.tau)
    trend_p = np.where(cells.isolated, np.nan, mk.p)
    return {
        f"{prefix}category": spread(categories, defined, "Undefined"),
        f"{prefix}trend_tau": spread(tau, defined, np.nan),
        f"{prefix}trend_p": spread(trend_p, defined, np.nan),
        f"{prefix}hot_steps": spread(bins.hot.sum(axis=1), defined, 0),
        f"{prefix}cold_steps": spread(bins.cold.sum(axis=1), defined, 0),
        f"{prefix}final_z": spread(cells.z[:, -1], defined, np.nan),
        f"{prefix}final_p": spread(cells.p[:, -1], defined, np.nan),
    }


def _emerging_warnings(
    weights: SpatialWeights, defined: np.ndarray, conflicts: tuple[tuple[Hashable, Hashable], ...]
) -> tuple[GeoWarning, ...]:
    """Incomplete units first (``undefined_units``), the weights' warnings, direction conflicts, a small sample."""
    warnings = list(weights.warnings)
    if (~defined).any():
        text = f"{int((~defined).sum())} unit(s) miss a value in some time step and are labelled Undefined"
        warnings.insert(0, GeoWarning(UNDEFINED_UNITS, text))
    conflict = direction_conflict_warning(conflicts, what="bin(s) (unit, step)")
    if conflict:
        warnings.append(conflict)
    small = small_sample_warning(int(defined.sum()) - len(weights.islands))
    if small:
        warnings.append(small)
    return tuple(warnings)
