"""Shared pieces of the statistics: the local result, input checks, multiple-testing corrections.

The public statistics live in :mod:`geo.stats.moran`, :mod:`geo.stats.getisord`,
:mod:`geo.stats.rates`, :mod:`geo.stats.emerging` and :mod:`geo.stats.point_hotspots`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from geo.errors import EmptyInputError, GeoWarning, SchemaError, ValueDomainError
from geo.stats.warning_codes import SMALL_SAMPLE
from geo.stats.weights import SpatialWeights, WeightsMethod, build_weights, weights_from_matrix

if TYPE_CHECKING:
    from geo.stats.moran import MoranStatistic

__all__ = [
    "Correction",
    "MIN_UNITS_LOCAL",
    "LocalResult",
    "settings_defaults",
    "numeric_values",
    "resolve_weights",
    "add_columns",
    "spread",
    "significance_cutoff",
    "small_sample_warning",
    "two_sided_normal_p",
    "SIGNIFICANCE_LEVELS",
    "significance_classes",
    "check_alpha",
    "check_variation",
    "permutation_floor",
    "min_permutations",
]


Correction = Literal["none", "fdr", "bonferroni"]


CORRECTIONS: tuple[str, ...] = ("none", "fdr", "bonferroni")


#: ArcGIS warns below 30 features: too few for reliable local inference.
MIN_UNITS_LOCAL = 30


@dataclass(frozen=True)
class LocalResult:
    """Result of a local statistic: the tidy layer plus the numbers around it.

    Attributes
    ----------
    frame
        Copy of the input layer with the result columns appended.
    statistic
        ``"local_moran"``, ``"local_moran_rate"``, ``"gi_star"`` ...
    variable
        Column analysed (or ``events/base`` for rates).
    columns
        Names of the columns added to ``frame``.
    n_units
        Rows in the layer.
    n_tested
        Units with a value and at least one neighbour (those tested).
    permutations, seed
        Conditional-permutation settings (0 permutations: analytic p-values only).
    alpha, correction, cutoff
        Significance level, multiple-testing correction and the resulting p-value
        cutoff (a unit is significant when ``p <= cutoff``). For Gi* ``alpha`` is the
        weakest confidence level binned (0.10 by default) and ``cutoff`` its
        corrected cutoff; ``extra["cutoffs"]`` has one per level.
    counts
        Units per label.
    undefined
        Ids of units with a missing value (or zero denominator), labelled ``Undefined``.
    islands
        Ids of units with no neighbour among the defined units, labelled ``Isolated``.
    warnings
        Warnings as data (:class:`geo.errors.GeoWarning`), with the codes
        ``undefined_units``, ``islands``, ``components``, ``small_sample`` and, for
        Gi*, ``negative_values`` and ``direction_conflict`` (:mod:`geo.stats.warning_codes`).
    global_moran
        Global Moran's I of the same values and weights (local Moran only).
    extra
        Statistic-specific numbers (e.g. Gi*'s ``cutoffs`` per confidence level,
        ``inference``, ``alternative``, ``direction_conflicts``; the ``weights`` summary).
    """

    frame: gpd.GeoDataFrame
    statistic: str
    variable: str
    columns: tuple[str, ...]
    n_units: int
    n_tested: int
    permutations: int
    seed: int | None
    alpha: float
    correction: str
    cutoff: float
    counts: Mapping[str, int]
    undefined: tuple[Hashable, ...] = ()
    islands: tuple[Hashable, ...] = ()
    warnings: tuple[GeoWarning, ...] = ()
    global_moran: MoranStatistic | None = None
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def too_few_for_local_inference(self) -> bool:
        """Whether fewer than 30 units were tested (ArcGIS's minimum)."""
        return self.n_tested < MIN_UNITS_LOCAL

    def summary(self) -> str:
        """A few lines for the command line or a caption."""
        lines = [f"{self.statistic} of {self.variable}: {self.n_tested} of {self.n_units} units tested"]
        if self.global_moran is not None:
            g = self.global_moran
            if g.p_sim is not None:
                p = f"pseudo p = {g.p_sim:.4g}, {g.permutations} permutations"
            else:
                p = f"p = {g.p_rand:.4g} under randomisation"
            lines.append(f"global Moran's I = {g.I:.4f} ({p}; z = {g.z_rand:.2f})")
        lines.append(f"significance: alpha {self.alpha:g}, correction {self.correction}, p cutoff {self.cutoff:.4g}")
        lines += [f"  {label}: {count}" for label, count in self.counts.items()]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def settings_defaults(permutations: int | None, seed: int | None, alpha: float | None) -> tuple[int, int, float]:
    """Fill ``None`` arguments from :func:`geo.settings.get_settings`."""
    if permutations is None or seed is None or alpha is None:
        from geo.settings import get_settings

        s = get_settings()
        permutations = s.permutations if permutations is None else permutations
        seed = s.seed if seed is None else seed
        alpha = s.alpha if alpha is None else alpha
    return permutations, seed, alpha


def check_permutations(permutations: int, *, allow_zero: bool = True) -> int:
    """Return ``permutations`` as an int: 0 (when allowed) or 99 to 99,999."""
    if isinstance(permutations, bool) or not isinstance(permutations, (int, np.integer)):
        raise TypeError(f"permutations must be an integer, got {type(permutations).__name__}")
    low = 0 if allow_zero else 99
    if permutations != 0 and not 99 <= permutations <= 99_999 or permutations < low:
        allowed = "0 (analytic p-values only) or 99 to 99,999" if allow_zero else "99 to 99,999"
        raise ValueDomainError(f"permutations must be {allowed}; got {permutations}")
    return int(permutations)


def check_alpha(alpha: float) -> float:
    """Return ``alpha`` as a float strictly between 0 and 1."""
    if not (isinstance(alpha, (int, float, np.floating)) and 0 < alpha < 1):
        raise ValueDomainError(f"alpha must be between 0 and 1 (e.g. 0.05); got {alpha!r}")
    return float(alpha)


def check_variation(values: np.ndarray, what: str, *, over: str = "every unit tested") -> None:
    """Refuse a variable with one value only: no spatial pattern can be tested.

    Used by every statistic (Moran's I, LISA, their rate versions, Gi*, emerging hot
    spots) so that a constant or all-zero variable gives the same error everywhere.

    Parameters
    ----------
    values
        The values tested (NaN ignored).
    what
        The variable's name as the user knows it (a column, ``events/base``).
    over
        What the values are spread over, for the message.

    Raises
    ------
    ValueDomainError
        The finite values do not vary (standard deviation at most ``1e-12`` of
        their largest magnitude, or of 1).

    Examples
    --------
    >>> check_variation(np.zeros(4), "violent_crimes_2022")
    Traceback (most recent call last):
    ...
    geo.errors.ValueDomainError: violent_crimes_2022 has the same value (0) in every unit tested: there is no spatial pattern to test
    """
    y = np.asarray(values, dtype=float)
    y = y[np.isfinite(y)]
    if y.size == 0:
        return
    sd = float(y.std())
    if not np.isfinite(sd) or sd <= 1e-12 * max(1.0, float(np.abs(y).max())):
        raise ValueDomainError(f"{what} has the same value ({y[0]:g}) in {over}: there is no spatial pattern to test")


def permutation_floor(permutations: int, alternative: Literal["folded", "two-sided"] = "two-sided") -> float:
    """The smallest pseudo p-value ``permutations`` conditional permutations can give.

    ``2 / (R + 1)`` two-sided (twice the folded tail), ``1 / (R + 1)`` folded (GeoDa).
    A corrected cutoff below it leaves no unit significant.

    Examples
    --------
    >>> permutation_floor(999), permutation_floor(999, "folded")
    (0.002, 0.001)
    """
    r = check_permutations(permutations, allow_zero=False)
    return _floor(r, _tails(alternative))


def min_permutations(cutoff: float, alternative: Literal["folded", "two-sided"] = "two-sided") -> int:
    """The fewest permutations whose :func:`permutation_floor` is at or below ``cutoff``.

    This is the arithmetic minimum; :func:`check_permutations` still asks for 99 to 99,999.

    Raises
    ------
    ValueDomainError
        ``cutoff`` is not positive (e.g. -1: a FDR correction with nothing significant).

    Examples
    --------
    >>> min_permutations(0.05), min_permutations(0.05, "folded"), min_permutations(0.001)
    (39, 19, 1999)
    """
    if not (isinstance(cutoff, (int, float, np.floating)) and np.isfinite(cutoff) and cutoff > 0):
        raise ValueDomainError(f"cutoff must be a positive p-value; got {cutoff!r}")
    tails = _tails(alternative)
    r = max(1, int(np.ceil(tails / float(cutoff) - 1.0)))
    while _floor(r, tails) > cutoff:  # guard the rounding of the division
        r += 1
    while r > 1 and _floor(r - 1, tails) <= cutoff:
        r -= 1
    return r


def _tails(alternative: str) -> int:
    if alternative not in ("folded", "two-sided"):
        raise ValueDomainError(f"alternative must be 'folded' or 'two-sided'; got {alternative!r}")
    return 2 if alternative == "two-sided" else 1


def _floor(permutations: int, tails: int) -> float:
    return min(1.0, tails / (permutations + 1.0))


def numeric_values(gdf: pd.DataFrame, column: str, *, what: str = "variable") -> np.ndarray:
    """Return ``gdf[column]`` as float with NaN for missing or infinite values.

    Raises
    ------
    SchemaError
        Column absent or not numeric.
    EmptyInputError
        No finite value at all.
    """
    if not isinstance(column, str):
        raise TypeError(f"{what} must be a column name (str), got {type(column).__name__}")
    if column not in gdf.columns:
        raise SchemaError(
            f"{what} {column!r} is not a column of the layer; columns: "
            + ", ".join(str(c) for c in gdf.columns if c != getattr(gdf, "_geometry_column_name", None))
        )
    s = gdf[column]
    if s.dtype == bool or not (pd.api.types.is_numeric_dtype(s) or s.isna().all()):
        sample = s.dropna().astype(str).unique()[:3]
        raise SchemaError(
            f"{what} {column!r} must be numeric, but has dtype {s.dtype} (values such as "
            + ", ".join(repr(v) for v in sample)
            + ")"
        )
    y = np.array(pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan), copy=True)
    y[~np.isfinite(y)] = np.nan
    if not np.isfinite(y).any():
        raise EmptyInputError(f"{what} {column!r} has no values: all {len(y)} are missing")
    return y


def resolve_weights(
    gdf: gpd.GeoDataFrame,
    weights: SpatialWeights | WeightsMethod,
    *,
    k: int | None = None,
) -> SpatialWeights:
    """Use ``weights`` if it matches ``gdf``'s rows, or build it when given a method name.

    A libpysal ``Graph`` is accepted too; its ids must be the layer's index.
    """
    if isinstance(weights, str):
        return build_weights(gdf, method=weights, k=k)
    if hasattr(weights, "unique_ids") and hasattr(weights, "sparse"):  # a libpysal Graph
        weights = weights_from_matrix(weights.sparse, ids=weights.unique_ids, method="graph")
    if not isinstance(weights, SpatialWeights):
        raise TypeError(
            f"weights must be a SpatialWeights (geo.stats.weights.build_weights) or a method name, got {type(weights).__name__}"
        )
    if not weights.aligned_with(gdf):
        raise ValueDomainError(
            f"the weights were built for another layer ({weights.n} units) than this one ({len(gdf)} rows) "
            "or for rows in another order; rebuild them with geo.stats.weights.build_weights(layer)"
        )
    return weights


def add_columns(gdf: gpd.GeoDataFrame, columns: Mapping[str, np.ndarray | pd.Series]) -> gpd.GeoDataFrame:
    """Return a copy of ``gdf`` with ``columns`` appended; refuse to overwrite."""
    clash = [c for c in columns if c in gdf.columns]
    if clash:
        raise SchemaError(
            f"column(s) {', '.join(map(repr, clash))} already present in the layer; drop them or choose another prefix"
        )
    if gdf.index.is_unique and all(isinstance(v, np.ndarray) and v.ndim == 1 for v in columns.values()):
        # One concatenation instead of a block insertion per column (about half the time on the NPAs); the
        # columns go through the same dtype inference as ``out[name] = values``, and attrs are copied as
        # ``gdf.copy()`` copies them.
        added = pd.DataFrame(dict(columns), index=gdf.index)
        joined: gpd.GeoDataFrame = pd.concat([gdf, added], axis=1).__finalize__(gdf)
        return joined
    out = gdf.copy()
    for name, values in columns.items():
        out[name] = values
    return out


def significance_cutoff(p: np.ndarray, alpha: float, correction: Correction) -> float:
    """p-value cutoff for ``alpha`` after a multiple-testing correction.

    ``none``: ``alpha``. ``bonferroni``: ``alpha / m``. ``fdr``: Benjamini-Hochberg,
    the largest ``p_(i)`` with ``p_(i) <= i * alpha / m`` (GeoDa's FDR), or -1 when
    no p-value qualifies (nothing significant). ``m`` counts the finite p-values.
    """
    if correction not in CORRECTIONS:
        raise ValueDomainError(f"correction must be one of {', '.join(CORRECTIONS)}; got {correction!r}")
    p = np.asarray(p, dtype=float)
    p = np.sort(p[np.isfinite(p)])
    m = p.size
    if correction == "none":
        return float(alpha)
    if m == 0:
        return -1.0
    if correction == "bonferroni":
        return float(alpha) / m
    ok = np.nonzero(p <= alpha * np.arange(1, m + 1) / m)[0]
    return float(p[ok[-1]]) if ok.size else -1.0


def spread(values: np.ndarray, mask: np.ndarray, fill: float | str | bool) -> np.ndarray:
    """Put ``values`` (one per ``True`` in ``mask``) back at their rows; ``fill`` elsewhere.

    The result keeps the dtype of ``values`` (object for labels, bool, int or float).
    """
    values = np.asarray(values)
    out = np.full(mask.shape[0], fill, dtype=values.dtype)
    out[mask] = values
    return out


def small_sample_warning(n_tested: int) -> GeoWarning | None:
    """The ``small_sample`` warning when fewer than :data:`MIN_UNITS_LOCAL` units were tested."""
    if n_tested < MIN_UNITS_LOCAL:
        return GeoWarning(
            SMALL_SAMPLE,
            f"only {n_tested} units were tested: too few for local inference "
            f"(ArcGIS asks for at least {MIN_UNITS_LOCAL}); read the map as descriptive",
        )
    return None


def two_sided_normal_p(z: np.ndarray | float) -> np.ndarray:
    """Two-sided p-value of a standard normal z-score."""
    return np.asarray(2.0 * ndtr(-np.abs(z)), dtype=np.float64)


def count_labels(labels: np.ndarray, order: tuple[str, ...]) -> dict[str, int]:
    """Units per label, in the order of ``order`` (0 for labels that do not occur)."""
    values = np.asarray(labels, dtype=object)
    return {lab: int(np.count_nonzero(values == lab)) for lab in order}


Z95 = float(ndtri(0.975))


Z998 = float(ndtri(0.999))


#: p-value classes of the significance map, strictest first (GeoDa's, plus 0.1).
SIGNIFICANCE_LEVELS: tuple[float, ...] = (0.0001, 0.001, 0.01, 0.05, 0.1)


def _p_label(level: float) -> str:
    return f"p ≤ {level:g}"


def significance_classes(
    p: Sequence[float] | np.ndarray | pd.Series,
    *,
    cutoff: float,
    labels: Sequence[str] | np.ndarray | pd.Series | None = None,
) -> np.ndarray:
    """p-value class of each unit for a significance map (GeoDa's LISA significance map).

    Parameters
    ----------
    p
        Pseudo p-values (NaN for untested units).
    cutoff
        Significance cutoff after correction (:attr:`LocalResult.cutoff`); units
        with ``p > cutoff`` are ``Not significant``.
    labels
        Cluster labels; ``Isolated`` and ``Undefined`` units keep that label.

    Returns
    -------
    numpy.ndarray
        ``"p ≤ 0.0001"``, ``"p ≤ 0.001"``, ``"p ≤ 0.01"``, ``"p ≤ 0.05"``, ``"p ≤ 0.1"``
        (the smallest level at or above the unit's p), ``"Not significant"``,
        ``"Isolated"`` or ``"Undefined"``.

    Examples
    --------
    >>> significance_classes([0.0005, 0.03, 0.2, float("nan")], cutoff=0.05).tolist()
    ['p ≤ 0.001', 'p ≤ 0.05', 'Not significant', 'Undefined']
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, "Not significant", dtype=object)
    out[~np.isfinite(p)] = "Undefined"
    sig = np.isfinite(p) & (p <= cutoff)
    assigned = ~sig
    for level in SIGNIFICANCE_LEVELS:
        hit = sig & ~assigned & (p <= level)
        out[hit] = _p_label(level)
        assigned |= hit
    out[sig & ~assigned] = f"p ≤ {cutoff:.3g}"
    if labels is not None:
        lab = np.asarray(labels, dtype=object)
        if lab.shape != p.shape:
            raise ValueDomainError(f"{lab.shape[0]} labels for {p.shape[0]} p-values")
        special = np.isin(lab, ["Isolated", "Undefined"])
        out[special] = lab[special]
    return out
