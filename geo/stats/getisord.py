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
permutations, GeoDa's folded conditional-permutation pseudo p-value.
The bin is +3 / +2 / +1 for a hot spot significant at 99 / 95 / 90 % confidence,
negative for cold spots, 0 otherwise. With ``correction="fdr"`` each confidence
level uses its own Benjamini-Hochberg cutoff (ArcGIS's FDR option); with
``bonferroni`` the level divided by the number of units tested.
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
from scipy import sparse

from geo.errors import GeoWarning, ValueDomainError
from geo.stats._permutation import Alternative, NeighbourTable, permutation_counts, pseudo_p_value
from geo.stats.significance import (
    Correction,
    LocalResult,
    add_columns,
    check_permutations,
    count_labels,
    numeric_values,
    resolve_weights,
    settings_defaults,
    significance_cutoff,
    small_sample_warning,
    spread,
    two_sided_normal_p,
)
from geo.stats.warning_codes import NEGATIVE_VALUES, UNDEFINED_UNITS
from geo.stats.weights import SpatialWeights, WeightsMethod

__all__ = ["CONFIDENCE_LEVELS", "GI_LABELS", "self_weight", "gstar_arrays", "confidence_bins", "local_gstar"]


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


def confidence_bins(
    z: np.ndarray, p: np.ndarray, *, correction: Correction = "none"
) -> tuple[np.ndarray, dict[int, float]]:
    """ArcGIS Gi_Bin: +-3 / +-2 / +-1 for 99 / 95 / 90 % confidence, 0 otherwise.

    Returns the bins and the p cutoff used for each level (after correction).
    """
    bins = np.zeros(z.shape, dtype=np.int64)
    cutoffs: dict[int, float] = {}
    for level, a in sorted(CONFIDENCE_LEVELS):  # 1, 2, 3: stricter overwrite
        cut = significance_cutoff(p, a, correction)
        cutoffs[level] = cut
        hit = np.isfinite(p) & (p <= cut) & np.isfinite(z) & (z != 0)
        bins[hit] = level * np.sign(z[hit]).astype(np.int64)
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
        Which p-value drives the bins: ``normal`` (ArcGIS) or ``permutation``
        (GeoDa; needs permutations).
    correction
        ``none``, ``fdr`` or ``bonferroni``.
    alternative
        Folding of the permutation p-value.
    prefix
        Prefix of the added columns: ``z``, ``g`` (GeoDa's G*), ``p_norm``,
        ``p_sim`` (when permuted), ``p`` (the one used), ``bin``, ``label``.

    Returns
    -------
    LocalResult
        ``cutoff`` is the 95 % cutoff; ``extra["cutoffs"]`` has all three.
    """
    permutations, seed, _ = settings_defaults(permutations, seed, 0.05)
    permutations = check_permutations(permutations)
    if inference not in ("normal", "permutation"):
        raise ValueDomainError(f"inference must be 'normal' or 'permutation'; got {inference!r}")
    if inference == "permutation" and permutations == 0:
        raise ValueDomainError("inference='permutation' needs permutations (99 to 99,999)")
    x_all = numeric_values(gdf, column)
    weights = resolve_weights(gdf, weights)
    defined = np.isfinite(x_all)
    sw = weights if defined.all() else weights.subset(defined)
    x = x_all[defined]
    sweight = self_weight(weights)
    z, g, table = gstar_arrays(x, sw.base, self_weight=sweight)
    isolated = table.cardinality == 0
    p_norm = two_sided_normal_p(z)
    p_sim = None
    if permutations:
        n_ge, n_le = permutation_counts(x, table, permutations=permutations, seed=seed)
        p_sim = pseudo_p_value(n_ge, n_le, permutations, alternative=alternative)
        p_sim[isolated] = np.nan
    p = p_sim if inference == "permutation" and p_sim is not None else p_norm
    bins, cutoffs = confidence_bins(z, p, correction=correction)
    labels = np.array([_BIN_LABEL[b] for b in bins], dtype=object)
    labels[isolated] = "Isolated"
    cols = {
        f"{prefix}z": spread(z, defined, np.nan),
        f"{prefix}g": spread(g, defined, np.nan),
        f"{prefix}p_norm": spread(p_norm, defined, np.nan),
        **({f"{prefix}p_sim": spread(p_sim, defined, np.nan)} if p_sim is not None else {}),
        f"{prefix}p": spread(p, defined, np.nan),
        f"{prefix}bin": spread(bins, defined, 0),
        f"{prefix}label": spread(labels, defined, "Undefined"),
    }
    n_tested = int((~isolated).sum())
    return LocalResult(
        frame=add_columns(gdf, cols),
        statistic="gi_star",
        variable=column,
        columns=tuple(cols),
        n_units=len(gdf),
        n_tested=n_tested,
        permutations=permutations,
        seed=seed,
        alpha=0.05,
        correction=correction,
        cutoff=cutoffs[2],
        counts=count_labels(cols[f"{prefix}label"], GI_LABELS),
        undefined=tuple(weights.ids[~defined]),
        islands=sw.islands,
        warnings=_gstar_warnings(sw, defined, x, n_tested),
        extra={"cutoffs": cutoffs, "inference": inference, "self_weight": sweight, "weights": sw.summary()},
    )


def _gstar_warnings(
    weights: SpatialWeights, defined: np.ndarray, x: np.ndarray, n_tested: int
) -> tuple[GeoWarning, ...]:
    """Undefined units first, then the weights' warnings, negative values and a small sample."""
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
    small = small_sample_warning(n_tested)
    if small:
        warnings.append(small)
    return tuple(warnings)
