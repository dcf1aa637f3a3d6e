"""Global and local Moran's I, for values and for rates.

* :func:`moran` -- global Moran's I with analytic (normality and randomisation)
  and seeded permutation p-values, plus the Moran scatterplot data (standardised
  value and its spatial lag) as columns.
* :func:`moran_rate` -- global Moran's I of rates standardised by empirical Bayes
  (Assuncao and Reis 1999), so that small populations do not dominate.
* :func:`local_moran` -- the local Moran's I (LISA) with a conditional-permutation
  pseudo p-value, multiple-testing correction and GeoDa's cluster labels.
* :func:`local_moran_rate` -- the same on EB-standardised rates (GeoDa's "LISA
  with EB rate").

Conventions (those of GeoDa and esda, whose values these functions reproduce):

* Values are standardised with the population standard deviation over the units
  that have a value; units with a missing value (or, for rates, a missing or zero
  denominator) are left out of the analysis entirely -- links to them are dropped,
  and the remaining weights are row-standardised again -- and are labelled
  ``Undefined``. A unit left without neighbours is labelled ``Isolated``. A
  variable (or rate) with one value in every unit raises
  :class:`geo.errors.ValueDomainError`, as every statistic does
  (:func:`geo.stats.significance.check_variation`).
* ``I_i = (n - 1) / n * z_i * sum_j w_ij z_j`` with row-standardised ``w``; these
  sum to ``(n - 1) * I``.
* The pseudo p-value folds the two tails: ``(min(#{I_i^perm >= I_i},
  #{I_i^perm <= I_i}) + 1) / (R + 1)`` (GeoDa; esda's ``Moran_Local.p_sim``).
  ``alternative="two-sided"`` doubles it.
* Clusters: High-High (``z > 0``, lag > 0), Low-Low, High-Low (``z > 0``, lag <= 0),
  Low-High; only significant units get a cluster label, the rest are ``Not
  significant``.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
from scipy import sparse

from geo.errors import GeoWarning, ValueDomainError
from geo.stats._permutation import (
    Alternative,
    NeighbourTable,
    global_permutation_counts,
    pseudo_p_value,
    signed_pseudo_p,
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
from geo.stats.warning_codes import UNDEFINED_UNITS
from geo.stats.weights import SpatialWeights, WeightsMethod

__all__ = [
    "LISA_LABELS",
    "MoranStatistic",
    "MoranResult",
    "moran_statistic",
    "moran",
    "moran_rate",
    "local_moran",
    "local_moran_rate",
]


#: Labels of :func:`local_moran`, in legend order.
LISA_LABELS: tuple[str, ...] = (
    "High-High",
    "Low-Low",
    "Low-High",
    "High-Low",
    "Not significant",
    "Isolated",
    "Undefined",
)


#: Quadrant numbers (Anselin's scatterplot quadrants, esda's ``q``) -> label.
QUADRANTS: dict[int, str] = {1: "High-High", 2: "Low-High", 3: "Low-Low", 4: "High-Low"}


_GLOBAL_PERM_BUDGET = 5_000_000  # n x permutations above which local_moran skips the global pseudo p


@dataclass(frozen=True)
class MoranStatistic:
    """Global Moran's I and its inference.

    Attributes
    ----------
    I
        Moran's I.
    expected
        ``-1 / (n - 1)``.
    z_norm, p_norm
        z and two-sided p under the normality assumption.
    z_rand, p_rand
        z and two-sided p under randomisation.
    p_sim
        Folded pseudo p-value from ``permutations`` random permutations (``None``
        when ``permutations == 0``).
    permutations
        Number of permutations.
    n
        Units used.
    """

    I: float  # noqa: E741
    expected: float
    z_norm: float
    p_norm: float
    z_rand: float
    p_rand: float
    p_sim: float | None
    permutations: int
    n: int

    def to_dict(self) -> dict[str, float | int | None]:
        """The numbers as a plain dict (field name -> value)."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class MoranResult:
    """Global Moran's I with the scatterplot data.

    Attributes
    ----------
    frame
        Copy of the layer with ``<prefix>z`` (standardised value) and ``<prefix>lag``
        (its row-standardised spatial lag); the slope of lag on z is ``I``.
        Undefined units have NaN in both.
    statistic
        The numbers.
    variable
        Column analysed.
    columns
        Names of the two columns added to ``frame``.
    seed
        Random seed of the permutations.
    undefined, islands
        As in :class:`geo.stats.significance.LocalResult`.
    warnings
        Warnings as data, codes ``undefined_units``, ``islands``, ``components``
        (:mod:`geo.stats.warning_codes`).
    """

    frame: gpd.GeoDataFrame
    statistic: MoranStatistic
    variable: str
    columns: tuple[str, ...]
    seed: int | None
    undefined: tuple[Hashable, ...] = ()
    islands: tuple[Hashable, ...] = ()
    warnings: tuple[GeoWarning, ...] = ()

    @property
    def I(self) -> float:  # noqa: E741, E743, N802
        """Moran's I."""
        return self.statistic.I

    @property
    def p_sim(self) -> float | None:
        """The pseudo p-value (``None`` without permutations)."""
        return self.statistic.p_sim


def _standardise(y: np.ndarray, what: str) -> np.ndarray:
    if y.size < 3:
        raise ValueDomainError(f"{what} has a value in only {y.size} unit(s); Moran's I needs at least 3")
    check_variation(y, what)
    z: np.ndarray = (y - y.mean()) / y.std()
    return z


def moran_statistic(
    z: np.ndarray,
    w: sparse.csr_array,
    *,
    permutations: int = 0,
    seed: int | None = None,
    alternative: Alternative = "two-sided",
) -> MoranStatistic:
    """Global Moran's I of values ``z`` under weights ``w`` (used as given).

    Parameters
    ----------
    z
        Values (centred inside; any scale).
    w
        ``(n, n)`` weights, usually row-standardised.
    permutations
        Random (total) permutations for the pseudo p-value; 0 for none.
    seed
        Random seed.
    alternative
        ``"folded"`` or ``"two-sided"`` (see :func:`geo.stats._permutation.pseudo_p_value`).
    """
    z = np.asarray(z, dtype=float)
    z = z - z.mean()
    n = z.size
    w = sparse.csr_array(w, dtype=float)
    s0 = float(w.sum())
    zz = float(z @ z)
    if n < 3 or s0 == 0 or zz == 0:
        nan = float("nan")
        return MoranStatistic(nan, -1 / max(n - 1, 1), nan, nan, nan, nan, None, permutations, n)
    i_obs = n / s0 * float(z @ (w @ z)) / zz
    ei = -1.0 / (n - 1)
    wt = w + w.T
    s1 = 0.5 * float((wt.multiply(wt)).sum())
    s2 = float(((np.asarray(w.sum(axis=1)).ravel() + np.asarray(w.sum(axis=0)).ravel()) ** 2).sum())
    v_norm = (n * n * s1 - n * s2 + 3 * s0 * s0) / ((n * n - 1) * s0 * s0) - ei * ei
    k = (np.sum(z**4) / n) / (zz / n) ** 2
    v_rand = (
        (n * ((n * n - 3 * n + 3) * s1 - n * s2 + 3 * s0 * s0) - k * ((n * n - n) * s1 - 2 * n * s2 + 6 * s0 * s0))
        / ((n - 1) * (n - 2) * (n - 3) * s0 * s0)
        - ei * ei
        if n > 3
        else float("nan")
    )
    z_norm = (i_obs - ei) / np.sqrt(v_norm)
    z_rand = (i_obs - ei) / np.sqrt(v_rand) if v_rand > 0 else float("nan")
    p_sim = None
    if permutations:
        n_ge, n_le = global_permutation_counts(z, w, i_obs, s0, zz, permutations=permutations, seed=seed)
        p_sim = float(pseudo_p_value(np.array(n_ge), np.array(n_le), permutations, alternative=alternative))
    return MoranStatistic(
        I=float(i_obs),
        expected=ei,
        z_norm=float(z_norm),
        p_norm=float(two_sided_normal_p(z_norm)),
        z_rand=float(z_rand),
        p_rand=float(two_sided_normal_p(z_rand)) if np.isfinite(z_rand) else float("nan"),
        p_sim=p_sim,
        permutations=permutations,
        n=n,
    )


@dataclass(frozen=True)
class _Prepared:
    y: np.ndarray  # all units, NaN when undefined
    defined: np.ndarray  # bool mask
    weights: SpatialWeights  # among defined units
    warnings: tuple[GeoWarning, ...]  # undefined units first, then the weights'


def _prepare(y: np.ndarray, weights: SpatialWeights) -> _Prepared:
    defined = np.isfinite(y)
    sub = weights if defined.all() else weights.subset(defined)
    warnings = list(sub.warnings)
    if (~defined).any():
        text = (
            f"{int((~defined).sum())} unit(s) have no value (missing, or zero population for a rate) "
            "and are labelled Undefined; links to them were dropped"
        )
        warnings.insert(0, GeoWarning(UNDEFINED_UNITS, text))
    return _Prepared(y, defined, sub, tuple(warnings))


def moran(
    gdf: gpd.GeoDataFrame,
    column: str,
    *,
    weights: SpatialWeights | WeightsMethod = "queen",
    permutations: int | None = None,
    seed: int | None = None,
    alternative: Alternative = "two-sided",
    transform: Literal["R", "B"] = "R",
    prefix: str = "moran_",
) -> MoranResult:
    """Global Moran's I of a column, with Moran scatterplot data.

    Parameters
    ----------
    gdf
        Layer, one row per unit.
    column
        Numeric column; missing values leave the unit out (``Undefined``).
    weights
        Weights built for ``gdf`` (:func:`geo.stats.weights.build_weights`) or a method
        name to build them (queen, rook, knn, distance, kernel).
    permutations
        Random permutations for the pseudo p-value (0 to skip); default from
        settings.
    seed
        Random seed; default from settings.
    alternative
        How the pseudo p-value folds the tails.
    transform
        ``"R"`` row-standardised (GeoDa, esda default) or ``"B"`` binary weights.
    prefix
        Prefix of the two added columns.

    Returns
    -------
    MoranResult

    Examples
    --------
    >>> res = moran(layer, "violent_rate_2022", weights="queen")  # doctest: +SKIP
    >>> res.I, res.p_sim  # doctest: +SKIP
    """
    permutations, seed, _ = settings_defaults(permutations, seed, 0.05)
    permutations = check_permutations(permutations)
    y = numeric_values(gdf, column)
    return _moran(
        gdf, y, column, weights, permutations=permutations, seed=seed, alternative=alternative,
        transform=transform, prefix=prefix,
    )  # fmt: skip


def _moran(
    gdf: gpd.GeoDataFrame,
    y: np.ndarray,
    label: str,
    weights: SpatialWeights | WeightsMethod,
    *,
    permutations: int,
    seed: int,
    alternative: Alternative,
    transform: Literal["R", "B"],
    prefix: str,
) -> MoranResult:
    weights = resolve_weights(gdf, weights)
    prep = _prepare(y, weights)
    z = _standardise(y[prep.defined], label)
    w = prep.weights.matrix(transform)
    stat = moran_statistic(z, w, permutations=permutations, seed=seed, alternative=alternative)
    z_all = np.full(len(gdf), np.nan)
    lag_all = np.full(len(gdf), np.nan)
    z_all[prep.defined] = z
    lag_all[prep.defined] = prep.weights.matrix("R") @ z
    cols = {f"{prefix}z": z_all, f"{prefix}lag": lag_all}
    frame = add_columns(gdf, cols)
    undefined = tuple(weights.ids[~prep.defined])
    return MoranResult(
        frame=frame,
        statistic=stat,
        variable=label,
        columns=tuple(cols),
        seed=seed,
        undefined=undefined,
        islands=prep.weights.islands,
        warnings=prep.warnings,
    )


def moran_rate(
    gdf: gpd.GeoDataFrame,
    *,
    events: str,
    base: str,
    weights: SpatialWeights | WeightsMethod = "queen",
    permutations: int | None = None,
    seed: int | None = None,
    alternative: Alternative = "two-sided",
    prefix: str = "moran_",
) -> MoranResult:
    """Global Moran's I of EB-standardised rates ``events / base`` (Assuncao-Reis).

    Units with a missing count or a missing or zero base are ``Undefined``.
    See :func:`geo.stats.rates.eb_standardize`.
    """
    from geo.stats.rates import eb_standardize, rate_inputs

    permutations, seed, _ = settings_defaults(permutations, seed, 0.05)
    permutations = check_permutations(permutations)
    e, b = rate_inputs(gdf, events, base)
    check_variation(e / b, f"the rate {events}/{base}")
    y = eb_standardize(e, b)
    return _moran(
        gdf, y, f"{events}/{base}", weights, permutations=permutations, seed=seed, alternative=alternative,
        transform="R", prefix=prefix,
    )  # fmt: skip


def local_moran(
    gdf: gpd.GeoDataFrame,
    column: str,
    *,
    weights: SpatialWeights | WeightsMethod = "queen",
    permutations: int | None = None,
    seed: int | None = None,
    alpha: float | None = None,
    correction: Correction = "none",
    alternative: Alternative = "two-sided",
    prefix: str = "lisa_",
) -> LocalResult:
    """Local Moran's I (LISA) with cluster labels.

    Parameters
    ----------
    gdf
        Layer, one row per unit.
    column
        Numeric column. Missing values are labelled ``Undefined``.
    weights
        Weights for ``gdf`` or a method name. Row-standardised internally.
    permutations
        Conditional permutations, 99 to 99,999 (default from settings).
    seed
        Random seed (default from settings).
    alpha
        Significance level (default from settings).
    correction
        ``none``, ``fdr`` (Benjamini-Hochberg) or ``bonferroni``.
    alternative
        ``two-sided`` (default: twice the folded p, capped at 1) or ``folded`` (GeoDa's own).
    prefix
        Prefix of the added columns: ``i`` (local I), ``z`` (standardised value),
        ``lag`` (spatial lag of z), ``quadrant`` (1 HH, 2 LH, 3 LL, 4 HL, 0 none),
        ``p`` (pseudo p), ``significant`` (bool), ``cluster`` (label).

    Returns
    -------
    LocalResult
        With ``global_moran`` set (same weights, same permutations and seed).
    """
    permutations, seed, alpha = settings_defaults(permutations, seed, alpha)
    permutations = check_permutations(permutations, allow_zero=False)
    alpha = check_alpha(alpha)
    y = numeric_values(gdf, column)
    options = _LisaOptions(permutations, seed, alpha, correction, alternative, prefix)
    return _local_moran(gdf, y, column, weights, options, statistic="local_moran")


def local_moran_rate(
    gdf: gpd.GeoDataFrame,
    *,
    events: str,
    base: str,
    weights: SpatialWeights | WeightsMethod = "queen",
    permutations: int | None = None,
    seed: int | None = None,
    alpha: float | None = None,
    correction: Correction = "none",
    alternative: Alternative = "two-sided",
    prefix: str = "lisa_",
) -> LocalResult:
    """Local Moran's I of EB-standardised rates (GeoDa's LISA with EB rate).

    The rate ``events / base`` is standardised as ``(r_i - b) / sqrt(a + b / n_i)``
    (Assuncao and Reis 1999; :func:`geo.stats.rates.eb_standardize` with GeoDa's
    convention, ``variance="geoda"``: a negative prior variance ``a`` is set to 0, so
    the values equal GeoDa's whatever ``a``) before the local Moran's I. Units with a
    missing count or a missing or zero base are ``Undefined``.
    """
    from geo.stats.rates import eb_standardize, rate_inputs

    permutations, seed, alpha = settings_defaults(permutations, seed, alpha)
    permutations = check_permutations(permutations, allow_zero=False)
    alpha = check_alpha(alpha)
    e, b = rate_inputs(gdf, events, base)
    check_variation(e / b, f"the rate {events}/{base}")
    y = eb_standardize(e, b, variance="geoda")
    options = _LisaOptions(permutations, seed, alpha, correction, alternative, prefix)
    return _local_moran(gdf, y, f"{events}/{base}", weights, options, statistic="local_moran_rate")


@dataclass(frozen=True)
class _LisaOptions:
    """The checked inference options of a local Moran's I."""

    permutations: int
    seed: int
    alpha: float
    correction: Correction
    alternative: Alternative
    prefix: str


def _local_moran(
    gdf: gpd.GeoDataFrame,
    y: np.ndarray,
    label: str,
    weights: SpatialWeights | WeightsMethod,
    options: _LisaOptions,
    *,
    statistic: str,
) -> LocalResult:
    weights = resolve_weights(gdf, weights)
    prep = _prepare(y, weights)
    sw = prep.weights
    z = _standardise(y[prep.defined], label)
    n = z.size
    wr = sw.matrix("R")
    # The global test shuffles whole vectors (n values per permutation); past
    # _GLOBAL_PERM_BUDGET values its analytic randomisation p-value is reported
    # instead (at that size the two agree closely). It runs before the local test, in this thread: run
    # beside it in a second thread, the golden outputs changed now and then under load (both read ``wr``).
    global_perms = options.permutations if n * options.permutations <= _GLOBAL_PERM_BUDGET else 0
    stat = moran_statistic(z, wr, permutations=global_perms, seed=options.seed, alternative=options.alternative)
    table = NeighbourTable.from_sparse(wr)
    lag = table.lag(z)
    isolated = table.cardinality == 0
    p = _lisa_p_values(z, table, options)
    cutoff = significance_cutoff(p, options.alpha, options.correction)
    sig = np.isfinite(p) & (p <= cutoff)
    quad, labels = lisa_quadrants(z, lag, sig, isolated)
    local_i = (n - 1) / n * z * lag
    local_i[isolated] = np.nan
    d, prefix = prep.defined, options.prefix
    cols = {
        f"{prefix}i": spread(local_i, d, np.nan),
        f"{prefix}z": spread(z, d, np.nan),
        f"{prefix}lag": spread(np.where(isolated, np.nan, lag), d, np.nan),
        f"{prefix}quadrant": spread(quad.astype(np.int64), d, 0),
        f"{prefix}p": spread(p, d, np.nan),
        f"{prefix}significant": spread(sig, d, False),
        f"{prefix}cluster": spread(labels, d, "Undefined"),
    }
    frame = add_columns(gdf, cols)
    counts = count_labels(cols[f"{prefix}cluster"], LISA_LABELS)
    n_tested = int((~isolated).sum())
    small = small_sample_warning(n_tested)
    summary = sw.summary()
    return LocalResult(
        frame=frame,
        statistic=statistic,
        variable=label,
        columns=tuple(cols),
        n_units=len(gdf),
        n_tested=n_tested,
        permutations=options.permutations,
        seed=options.seed,
        alpha=options.alpha,
        correction=options.correction,
        cutoff=cutoff,
        counts=counts,
        undefined=tuple(weights.ids[~d]),
        islands=sw.islands,
        warnings=(*prep.warnings, small) if small else prep.warnings,
        global_moran=stat,
        extra={"alternative": options.alternative, "weights": summary},
    )


def _lisa_p_values(z: np.ndarray, table: NeighbourTable, options: _LisaOptions) -> np.ndarray:
    """Conditional-permutation pseudo p-value of each local I (NaN for islands): I_i^perm = c z_i lag^perm."""
    return signed_pseudo_p(
        z, z, table, permutations=options.permutations, seed=options.seed, alternative=options.alternative
    )


def lisa_quadrants(
    z: np.ndarray, lag: np.ndarray, significant: np.ndarray, isolated: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Scatterplot quadrant (1 HH, 2 LH, 3 LL, 4 HL, 0 isolated) and cluster label of each unit.

    ``z`` is the unit's own (standardised) value, or the residual of the partial forms.
    """
    quad = np.where(z > 0, np.where(lag > 0, 1, 4), np.where(lag > 0, 2, 3))
    quad[isolated] = 0
    names = np.array(["Isolated", *(QUADRANTS[q] for q in (1, 2, 3, 4))], dtype=object)
    labels = np.where(significant, names[quad], "Not significant").astype(object)
    labels[isolated] = "Isolated"
    return quad, labels
