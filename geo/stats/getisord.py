r"""Getis-Ord Gi* hot and cold spots, with ArcGIS-style confidence bins.

For unit ``i`` with weights ``w_ij`` that include ``i`` itself (``w_ii = 1`` for
binary weights, ``K(0)`` for kernels), Getis and Ord (1995) define the z-score

.. math::

    z_i = \frac{\sum_j w_{ij} x_j - \bar{x} W_i}
               {S \sqrt{(n S_{1i} - W_i^2) / (n - 1)}},
    \quad W_i = \sum_j w_{ij},\ S_{1i} = \sum_j w_{ij}^2,\
    S = \sqrt{\overline{x^2} - \bar{x}^2}

(sums over all ``n`` units with a value). This is ArcGIS's ``GiZScore``; it does
not change when a unit's weights are rescaled, so binary and row-standardised
weights give the same z. The G* ratio reported next to it is GeoDa's:
``G*_i = sum_j w*_ij x_j / sum_j x_j`` with the self-inclusive weights
row-standardised (GeoDa's ``local_gstar`` values).

The p-value is two-sided from the normal distribution (ArcGIS) or, with
permutations, the conditional-permutation pseudo p-value (two-sided by default,
GeoDa's folded one on request). The bin is +3 / +2 / +1 for a hot spot significant
at 99 / 95 / 90 % confidence, negative for cold spots, 0 otherwise; ``alpha`` keeps
only the levels at or below it (``alpha=0.05``: the 95 and 99 % bins). With
``correction="fdr"`` each confidence level uses its own Benjamini-Hochberg cutoff
(ArcGIS's FDR option); with ``bonferroni`` the level divided by the number of
units tested.

Direction. With normal inference a significant unit is hot when ``z > 0``. With
permutation inference it is hot when its neighbourhood lies in the *upper* tail of
the permutation distribution (more permuted lags at or below the observed one
than at or above it), cold in the lower tail: the tail that made the pseudo p
small. The two can disagree -- a value of 150 among eight neighbours of 0 has
``z > 0`` (its own value dominates the Gi* sum) but its neighbours are lower than
almost every permutation draws -- and then the bin follows the tail and the
result says so (warning ``direction_conflict``).
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
from scipy import sparse

from geo.errors import GeoWarning, ValueDomainError
from geo.stats._permutation import (
    Alternative,
    NeighbourTable,
    permutation_counts,
    permutation_tail,
    pseudo_p_value,
)
from geo.stats.significance import (
    Correction,
    LocalResult,
    add_columns,
    check_alpha,
    check_permutations,
    check_variation,
    count_labels,
    numeric_values,
    resolve_weights,
    settings_defaults,
    significance_cutoff,
    small_sample_warning,
    spread,
    two_sided_normal_p,
)
from geo.stats.warning_codes import DIRECTION_CONFLICT, NEGATIVE_VALUES, UNDEFINED_UNITS
from geo.stats.weights import SpatialWeights, WeightsMethod

__all__ = [
    "CONFIDENCE_LEVELS",
    "GI_LABELS",
    "self_weight",
    "gstar_arrays",
    "confidence_levels",
    "confidence_bins",
    "local_gstar",
    "direction_conflict_warning",
]


#: (bin, p-value level) from the strictest down.
CONFIDENCE_LEVELS: tuple[tuple[int, float], ...] = ((3, 0.01), (2, 0.05), (1, 0.10))


GI_LABELS: tuple[str, ...] = (
    "Hot Spot with 99% Confidence",
    "Hot Spot with 95% Confidence",
    "Hot Spot with 90% Confidence",
    "Not Significant",
    "Cold Spot with 90% Confidence",
    "Cold Spot with 95% Confidence",
    "Cold Spot with 99% Confidence",
    "Isolated",
    "Undefined",
)


_BIN_LABEL = {
    3: GI_LABELS[0],
    2: GI_LABELS[1],
    1: GI_LABELS[2],
    0: GI_LABELS[3],
    -1: GI_LABELS[4],
    -2: GI_LABELS[5],
    -3: GI_LABELS[6],
}


def self_weight(weights: SpatialWeights) -> float:
    """Weight of a unit on itself in Gi*: 1, or the kernel's value at distance 0."""
    kernel = weights.params.get("kernel")
    if weights.method != "kernel" or not isinstance(kernel, str):
        return 1.0
    from libpysal.kernels import kernel as lps_kernel

    from geo.stats.weights import KERNELS

    return float(lps_kernel(np.array([0.0]), 1.0, kernel=KERNELS[kernel])[0])


def gstar_arrays(
    x: np.ndarray, w: sparse.csr_array, *, self_weight: float = 1.0
) -> tuple[np.ndarray, np.ndarray, NeighbourTable]:
    """z-scores and GeoDa G* ratios for values ``x`` (no NaN) and weights ``w`` (no self-links).

    Returns ``(z, g, table)``; units without neighbours get NaN.
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    table = NeighbourTable.from_sparse(w)
    lag = table.lag(x)
    wi = table.weights.sum(axis=1) + self_weight
    s1 = (table.weights**2).sum(axis=1) + self_weight**2
    xbar = x.mean()
    s = np.sqrt(max((x * x).mean() - xbar * xbar, 0.0))
    num = lag + self_weight * x - xbar * wi
    den = s * np.sqrt(np.maximum(n * s1 - wi * wi, 0.0) / (n - 1)) if n > 1 else np.zeros(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = num / den
        total = x.sum()
        g = ((lag + self_weight * x) / wi) / total if total != 0 else np.full(n, np.nan)
    isolated = table.cardinality == 0
    z[isolated | ~np.isfinite(z)] = np.nan
    g = np.where(isolated, np.nan, g)
    return z, g, table


def confidence_levels(alpha: float | None = None) -> tuple[tuple[int, float], ...]:
    """The (bin, p-value level) pairs binned for ``alpha``, strictest first.

    ``None``: all three ArcGIS levels (99, 95, 90 %). A value: the levels whose
    p-value level is at or below it (``0.05``: 99 and 95 %; ``0.02`` or ``0.01``: 99 %).

    Raises
    ------
    ValueDomainError
        ``alpha`` not between 0 and 1, or below 0.01 (no Gi* confidence level left).

    Examples
    --------
    >>> confidence_levels(0.05)
    ((3, 0.01), (2, 0.05))
    """
    if alpha is None:
        return CONFIDENCE_LEVELS
    alpha = check_alpha(alpha)
    kept = tuple((b, a) for b, a in CONFIDENCE_LEVELS if a <= alpha * (1 + 1e-9))
    if not kept:
        strictest = min(a for _, a in CONFIDENCE_LEVELS)
        raise ValueDomainError(
            f"Gi* bins at 90, 95 and 99 % confidence (p levels 0.1, 0.05, 0.01): alpha must be at least "
            f"{strictest:g}; got {alpha:g}"
        )
    return kept


def confidence_bins(
    z: np.ndarray,
    p: np.ndarray,
    *,
    correction: Correction = "none",
    alpha: float | None = None,
    direction: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[int, float]]:
    """ArcGIS Gi_Bin: +-3 / +-2 / +-1 for 99 / 95 / 90 % confidence, 0 otherwise.

    Parameters
    ----------
    z, p
        z-scores and p-values (NaN for untested units).
    correction
        Multiple-testing correction, applied at each confidence level.
    alpha
        Keep only the levels at or below it (:func:`confidence_levels`).
    direction
        +1 (hot), -1 (cold) or 0 (no direction) per unit; default the sign of ``z``.
        Permutation inference passes the significant tail
        (:func:`geo.stats._permutation.permutation_tail`).

    Returns
    -------
    bins, cutoffs
        The bins and the p cutoff used for each kept level (after correction).
    """
    z = np.asarray(z, dtype=float)
    sign = np.where(np.isfinite(z), np.sign(z), 0.0) if direction is None else np.asarray(direction, dtype=float)
    if sign.shape != z.shape:
        raise ValueDomainError(f"{sign.shape[0]} directions for {z.shape[0]} z-scores")
    bins = np.zeros(z.shape, dtype=np.int64)
    cutoffs: dict[int, float] = {}
    for level, a in sorted(confidence_levels(alpha)):  # weakest first: stricter overwrite
        cut = significance_cutoff(p, a, correction)
        cutoffs[level] = cut
        hit = np.isfinite(p) & (p <= cut) & (sign != 0)
        bins[hit] = level * sign[hit].astype(np.int64)
    return bins, cutoffs


def local_gstar(
    gdf: gpd.GeoDataFrame,
    column: str,
    *,
    weights: SpatialWeights | WeightsMethod = "queen",
    permutations: int | None = 0,
    seed: int | None = None,
    inference: Literal["normal", "permutation"] = "normal",
    correction: Correction = "none",
    alpha: float | None = None,
    alternative: Alternative = "two-sided",
    prefix: str = "gi_",
) -> LocalResult:
    """Getis-Ord Gi* z-scores, p-values and confidence bins for a column.

    Parameters
    ----------
    gdf
        Layer, one row per unit.
    column
        Numeric column (counts or rates). Missing values are ``Undefined``.
    weights
        Weights for ``gdf`` or a method name; each unit is added as its own
        neighbour.
    permutations
        Conditional permutations (0 for none, else 99 to 99,999; ``None``: settings).
    seed
        Random seed (default from settings).
    inference
        Which p-value drives the bins: ``normal`` (ArcGIS; direction from the sign
        of z) or ``permutation`` (needs permutations; direction from the tail of
        the permutation distribution, see the module docstring).
    correction
        ``none``, ``fdr`` or ``bonferroni``.
    alpha
        ``None``: bins at 90, 95 and 99 % confidence (ArcGIS). A value keeps only
        the levels at or below it: ``0.05`` bins 95 and 99 % only (90 % ones are
        ``Not Significant``), ``0.01`` or ``0.02`` 99 % only.
    alternative
        Folding of the permutation p-value.
    prefix
        Prefix of the added columns: ``z``, ``g`` (GeoDa's G*), ``p_norm``,
        ``p_sim`` and ``tail`` (+1 upper, -1 lower, 0 tie; when permuted), ``p``
        (the one used), ``bin``, ``label``.

    Returns
    -------
    LocalResult
        ``alpha`` is 0.10 when ``alpha=None``, else ``alpha``; ``cutoff`` the
        corrected cutoff at the weakest level kept; ``extra["cutoffs"]`` has one
        per kept level (bin -> cutoff), ``extra["direction_conflicts"]`` the ids of
        significant units whose z sign disagrees with the permutation tail.

    Raises
    ------
    ValueDomainError
        Bad options, or the column has one value in every unit (nothing to test).
    """
    permutations, seed, _ = settings_defaults(permutations, seed, 0.05)
    permutations = check_permutations(permutations)
    levels = confidence_levels(alpha)
    if inference not in ("normal", "permutation"):
        raise ValueDomainError(f"inference must be 'normal' or 'permutation'; got {inference!r}")
    if inference == "permutation" and permutations == 0:
        raise ValueDomainError("inference='permutation' needs permutations (99 to 99,999)")
    x_all = numeric_values(gdf, column)
    weights = resolve_weights(gdf, weights)
    defined = np.isfinite(x_all)
    sw = weights if defined.all() else weights.subset(defined)
    x = x_all[defined]
    check_variation(x, column)
    sweight = self_weight(weights)
    z, g, table = gstar_arrays(x, sw.base, self_weight=sweight)
    isolated = table.cardinality == 0
    p_norm = two_sided_normal_p(z)
    p_sim = tail = None
    if permutations:
        n_ge, n_le = permutation_counts(x, table, permutations=permutations, seed=seed)
        p_sim = pseudo_p_value(n_ge, n_le, permutations, alternative=alternative)
        p_sim[isolated] = np.nan
        tail = np.where(isolated, 0, permutation_tail(n_ge, n_le))
    by_tail = inference == "permutation" and tail is not None
    p = p_sim if by_tail and p_sim is not None else p_norm
    bins, cutoffs = confidence_bins(z, p, correction=correction, alpha=alpha, direction=tail if by_tail else None)
    conflicts = (bins != 0) & (np.sign(z) != tail) if by_tail else np.zeros(z.shape, dtype=bool)
    labels = np.array([_BIN_LABEL[b] for b in bins], dtype=object)
    labels[isolated] = "Isolated"
    cols = {
        f"{prefix}z": spread(z, defined, np.nan),
        f"{prefix}g": spread(g, defined, np.nan),
        f"{prefix}p_norm": spread(p_norm, defined, np.nan),
        **({f"{prefix}p_sim": spread(p_sim, defined, np.nan)} if p_sim is not None else {}),
        **({f"{prefix}tail": spread(tail, defined, 0)} if tail is not None else {}),
        f"{prefix}p": spread(p, defined, np.nan),
        f"{prefix}bin": spread(bins, defined, 0),
        f"{prefix}label": spread(labels, defined, "Undefined"),
    }
    n_tested = int((~isolated).sum())
    conflict_ids = tuple(weights.ids[defined][conflicts])
    weakest = min(b for b, _ in levels)
    return LocalResult(
        frame=add_columns(gdf, cols),
        statistic="gi_star",
        variable=column,
        columns=tuple(cols),
        n_units=len(gdf),
        n_tested=n_tested,
        permutations=permutations,
        seed=seed,
        alpha=max(a for _, a in CONFIDENCE_LEVELS) if alpha is None else float(alpha),
        correction=correction,
        cutoff=cutoffs[weakest],
        counts=count_labels(cols[f"{prefix}label"], GI_LABELS),
        undefined=tuple(weights.ids[~defined]),
        islands=sw.islands,
        warnings=_gstar_warnings(sw, defined, x, n_tested, conflict_ids),
        extra={
            "cutoffs": cutoffs,
            "inference": inference,
            "alternative": alternative,
            "direction_conflicts": conflict_ids,
            "self_weight": sweight,
            "weights": sw.summary(),
        },
    )


def direction_conflict_warning(ids: tuple[object, ...], *, what: str = "unit(s)") -> GeoWarning | None:
    """The ``direction_conflict`` warning for the ids of units (or bins) whose z and tail disagree."""
    if not ids:
        return None
    return GeoWarning(
        DIRECTION_CONFLICT,
        f"{len(ids)} significant {what} have a Gi* z-score whose sign disagrees with the permutation tail "
        f"that made p small (ids {', '.join(map(str, ids[:8]))}{' ...' if len(ids) > 8 else ''}); "
        "their bin follows the permutation tail, "
        "not the sign of z",
    )


def _gstar_warnings(
    weights: SpatialWeights, defined: np.ndarray, x: np.ndarray, n_tested: int, conflicts: tuple[object, ...]
) -> tuple[GeoWarning, ...]:
    """Undefined units first, then the weights' warnings, negative values, direction conflicts, a small sample."""
    warnings = list(weights.warnings)
    if (~defined).any():
        warnings.insert(
            0, GeoWarning(UNDEFINED_UNITS, f"{int((~defined).sum())} unit(s) have no value and are labelled Undefined")
        )
    if (x < 0).any():
        warnings.append(
            GeoWarning(
                NEGATIVE_VALUES, "the variable has negative values: the G* ratio is not meaningful (z-scores are)"
            )
        )
    conflict = direction_conflict_warning(conflicts)
    if conflict:
        warnings.append(conflict)
    small = small_sample_warning(n_tested)
    if small:
        warnings.append(small)
    return tuple(warnings)
