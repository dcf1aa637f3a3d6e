"""Bivariate and conditional local statistics: crime here against a condition nearby.

* :func:`local_moran_bv` -- the bivariate local Moran's I (GeoDa's bivariate LISA,
  esda's ``Moran_Local_BV``): the variable at a unit against the spatial lag of a
  second variable in its neighbours.
* :func:`local_moran_partial` and :func:`local_moran_conditional` -- local Moran's
  I with covariates held fixed (Wolf, Knaap and Rey 2024; esda's
  ``MoranLocalPartial`` and ``MoranLocalConditional``): does a hot spot remain once
  population, income or disorder are accounted for?
* :func:`local_geary_mv` -- the local multivariate Geary (Anselin 2019; GeoDa's
  ``local_multigeary``, esda's ``Geary_Local_MV``).

Conventions, shared with :mod:`geo.stats.moran` (whose results these have the shape of):

* A unit with a missing value in *any* of the variables is ``Undefined`` and left
  out: links to it are dropped and the remaining weights row-standardised again. A
  unit left without neighbours is ``Isolated`` (no statistic, no p-value).
* Values are standardised over the defined units with the population standard
  deviation (esda, and GeoDa's Moran values); the multivariate Geary uses the sample
  standard deviation, as GeoDa does (esda's values are ``n / (n - 1)`` times ours).
* ``I_i = (n - 1) / n * zx_i * sum_j w_ij zy_j`` (bivariate). The partial statistic
  is ``(n - 1) e_i / (e'e) * sum_j w_ij zy_j`` and the conditional one
  ``(n - 1) e_i / (e'e) * sum_j w_ij e_j``, where ``e`` are the residuals of the
  standardised variable on the standardised covariates (with an intercept).
* Inference by seeded conditional permutation (:mod:`geo.stats._permutation`):
  the value (or residual) at ``i`` and its covariates are held fixed and the
  permuted variable is redrawn among the other units. The pseudo p-value is
  two-sided by default (twice the smaller tail, capped at 1) or ``folded`` (GeoDa).
  For the conditional statistic the permuted values are the residuals ``e``;
  esda 2.9's ``MoranLocalConditional._crand`` permutes the lag ``W e`` instead, so
  its p-values differ from these (its statistic agrees).
* Cluster labels (Moran family): the quadrant of the unit's own value (bivariate:
  ``zx``; partial and conditional: the residual, i.e. higher or lower than the
  covariates predict) against the neighbours' lag, for significant units only.
  Multivariate Geary: ``Positive`` (the unit is more like its neighbours than the
  permutations, the lower tail) or ``Negative`` (less alike, the upper tail).

These describe areas, not people: see :mod:`geo.analysis.regression` for the
ecological-fallacy caveat that goes with any association between area measures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np

from geo.errors import GeoWarning, ValueDomainError
from geo.stats._geary import geary_counts, local_geary_values
from geo.stats._permutation import (
    Alternative,
    NeighbourTable,
    permutation_tail,
    pseudo_p_value,
    signed_pseudo_p,
)
from geo.stats.moran import LISA_LABELS, lisa_quadrants
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
)
from geo.stats.warning_codes import UNDEFINED_UNITS
from geo.stats.weights import SpatialWeights, WeightsMethod

__all__ = [
    "GEARY_LABELS",
    "local_moran_bv",
    "local_moran_partial",
    "local_moran_conditional",
    "local_geary_mv",
]


#: Labels of :func:`local_geary_mv`, in legend order (GeoDa's).
GEARY_LABELS: tuple[str, ...] = ("Positive", "Negative", "Not significant", "Isolated", "Undefined")


@dataclass(frozen=True)
class _Options:
    """The checked inference options."""

    permutations: int
    seed: int
    alpha: float
    correction: Correction
    alternative: Alternative
    prefix: str


def _options(
    permutations: int | None,
    seed: int | None,
    alpha: float | None,
    correction: Correction,
    alternative: Alternative,
    prefix: str,
) -> _Options:
    permutations, seed, alpha = settings_defaults(permutations, seed, alpha)
    permutations = check_permutations(permutations, allow_zero=False)
    if alternative not in ("folded", "two-sided"):
        raise ValueDomainError(f"alternative must be 'folded' or 'two-sided'; got {alternative!r}")
    return _Options(permutations, seed, check_alpha(alpha), correction, alternative, prefix)


@dataclass(frozen=True)
class _Inputs:
    """Values of the defined units, their weights and what was left out."""

    values: np.ndarray  # (n_defined, m), in the order of `columns`
    defined: np.ndarray  # (n_units,) bool
    weights: SpatialWeights  # for all units
    sub: SpatialWeights  # among the defined units
    table: NeighbourTable  # row-standardised, among the defined units
    warnings: tuple[GeoWarning, ...]


def _inputs(gdf: gpd.GeoDataFrame, columns: Sequence[str], weights: SpatialWeights | WeightsMethod) -> _Inputs:
    """Read the columns, mark units missing any of them Undefined, and subset the weights."""
    if len(set(columns)) != len(columns):
        raise ValueDomainError(f"each variable may be used once; got {', '.join(map(repr, columns))}")
    values = np.column_stack([numeric_values(gdf, c) for c in columns])
    w = resolve_weights(gdf, weights)
    defined = np.isfinite(values).all(axis=1)
    sub = w if defined.all() else w.subset(defined)
    warnings = list(sub.warnings)
    if (~defined).any():
        missing = ", ".join(f"{c}: {int(np.isnan(values[:, j]).sum())}" for j, c in enumerate(columns))
        text = (
            f"{int((~defined).sum())} unit(s) lack a value in at least one variable ({missing}) and are labelled "
            "Undefined; links to them were dropped"
        )
        warnings.insert(0, GeoWarning(UNDEFINED_UNITS, text))
    if defined.sum() < 3:
        raise ValueDomainError(
            f"only {int(defined.sum())} unit(s) have a value in every one of {', '.join(columns)}; at least 3 are needed"
        )
    table = NeighbourTable.from_sparse(sub.matrix("R"))
    return _Inputs(values[defined], defined, w, sub, table, tuple(warnings))


def _standardise(y: np.ndarray, what: str, *, ddof: int = 0) -> np.ndarray:
    check_variation(y, what)
    z: np.ndarray = (y - y.mean()) / y.std(ddof=ddof)
    return z


def _linear_p(coef: np.ndarray, permuted: np.ndarray, table: NeighbourTable, opt: _Options) -> np.ndarray:
    """Pseudo p of statistics ``coef_i * lag_i(permuted)`` (NaN for islands)."""
    return signed_pseudo_p(
        coef, permuted, table, permutations=opt.permutations, seed=opt.seed, alternative=opt.alternative
    )


def _moran_result(
    gdf: gpd.GeoDataFrame,
    inp: _Inputs,
    opt: _Options,
    parts: dict[str, np.ndarray],
    *,
    statistic: str,
    variable: str,
    extra: dict[str, object],
) -> LocalResult:
    """Assemble a Moran-family result from ``parts``: ``i``, ``own`` (quadrant's x), ``lag``, ``p`` and extras."""
    isolated = inp.table.cardinality == 0
    p = parts.pop("p")
    cutoff = significance_cutoff(p, opt.alpha, opt.correction)
    sig = np.isfinite(p) & (p <= cutoff)
    quad, labels = lisa_quadrants(parts.pop("own"), parts["lag"], sig, isolated)
    parts["i"][isolated] = np.nan
    parts["lag"][isolated] = np.nan
    parts |= {"quadrant": quad.astype(np.int64), "p": p, "significant": sig, "cluster": labels}
    fill: dict[str, float | str | bool] = {"quadrant": 0, "significant": False, "cluster": "Undefined"}
    cols = {f"{opt.prefix}{k}": spread(v, inp.defined, fill.get(k, np.nan)) for k, v in parts.items()}
    return _result(gdf, inp, opt, cols, cutoff, statistic=statistic, variable=variable, extra=extra)


def _result(
    gdf: gpd.GeoDataFrame,
    inp: _Inputs,
    opt: _Options,
    cols: dict[str, np.ndarray],
    cutoff: float,
    *,
    statistic: str,
    variable: str,
    extra: dict[str, object],
) -> LocalResult:
    n_tested = int((inp.table.cardinality > 0).sum())
    small = small_sample_warning(n_tested)
    order = GEARY_LABELS if statistic == "local_geary_mv" else LISA_LABELS
    return LocalResult(
        frame=add_columns(gdf, cols),
        statistic=statistic,
        variable=variable,
        columns=tuple(cols),
        n_units=len(gdf),
        n_tested=n_tested,
        permutations=opt.permutations,
        seed=opt.seed,
        alpha=opt.alpha,
        correction=opt.correction,
        cutoff=cutoff,
        counts=count_labels(cols[f"{opt.prefix}cluster"], order),
        undefined=tuple(inp.weights.ids[~inp.defined]),
        islands=inp.sub.islands,
        warnings=(*inp.warnings, small) if small else inp.warnings,
        extra={"alternative": opt.alternative, "weights": inp.sub.summary(), **extra},
    )


def local_moran_bv(
    gdf: gpd.GeoDataFrame,
    x: str,
    y: str,
    *,
    weights: SpatialWeights | WeightsMethod = "queen",
    permutations: int | None = None,
    seed: int | None = None,
    alpha: float | None = None,
    correction: Correction = "none",
    alternative: Alternative = "two-sided",
    prefix: str = "bv_",
) -> LocalResult:
    """Bivariate local Moran's I: ``x`` at each unit against ``y`` in its neighbours.

    Parameters
    ----------
    gdf
        Layer, one row per unit.
    x
        Numeric column taken at the unit (e.g. a crime rate).
    y
        Numeric column whose spatial lag is used (e.g. a condition in the neighbours).
    weights
        Weights for ``gdf`` or a method name. Row-standardised internally.
    permutations
        Conditional permutations of ``y``, 99 to 99,999 (default from settings).
    seed
        Random seed (default from settings).
    alpha
        Significance level (default from settings).
    correction
        ``none``, ``fdr`` (Benjamini-Hochberg) or ``bonferroni``.
    alternative
        ``two-sided`` (default) or ``folded`` (GeoDa's).
    prefix
        Prefix of the added columns: ``i``, ``z`` (standardised ``x``), ``lag``
        (spatial lag of standardised ``y``), ``quadrant``, ``p``, ``significant``,
        ``cluster`` (``High-High``: high ``x`` among high ``y``, and so on).

    Returns
    -------
    LocalResult
        ``extra["global_bv"]`` is the global bivariate Moran's I
        ``zx' W zy / n`` (the slope of the bivariate Moran scatterplot).

    Notes
    -----
    A significant unit says that ``x`` here and ``y`` nearby go together more than
    chance would arrange; it says nothing about the people in the unit, and the
    statistic also reflects the correlation of ``x`` and ``y`` within units.

    Examples
    --------
    >>> res = local_moran_bv(layer, "violent_rate_2022", "disorder_rate_2022", seed=1)  # doctest: +SKIP
    >>> res.counts["High-High"]  # doctest: +SKIP
    """
    opt = _options(permutations, seed, alpha, correction, alternative, prefix)
    inp = _inputs(gdf, [x, y], weights)
    zx = _standardise(inp.values[:, 0], x)
    zy = _standardise(inp.values[:, 1], y)
    n = zx.size
    lag = inp.table.lag(zy)
    parts = {"i": (n - 1) / n * zx * lag, "z": zx, "lag": lag, "own": zx, "p": _linear_p(zx, zy, inp.table, opt)}
    extra: dict[str, object] = {"global_bv": float(zx @ lag / n), "x": x, "y": y}
    return _moran_result(gdf, inp, opt, parts, statistic="local_moran_bv", variable=f"{x} vs lag of {y}", extra=extra)


def _residuals(zy: np.ndarray, covariates: np.ndarray, names: Sequence[str], column: str) -> tuple[np.ndarray, float]:
    """Residuals of ``zy`` on the covariates with an intercept, and the R-squared."""
    design = np.column_stack([np.ones(zy.size), covariates])
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise ValueDomainError(
            f"the covariates {', '.join(names)} are collinear (one is a linear combination of the others) "
            "among the units with every value; drop one"
        )
    beta, *_ = np.linalg.lstsq(design, zy, rcond=None)
    e: np.ndarray = zy - design @ beta
    ee = float(e @ e)
    if ee <= 1e-12 * zy.size:
        raise ValueDomainError(f"{column} is fully explained by {', '.join(names)}: nothing is left to test")
    return e, 1.0 - ee / float(zy @ zy)


def _covariate_inputs(
    gdf: gpd.GeoDataFrame,
    column: str,
    covariates: Sequence[str],
    weights: SpatialWeights | WeightsMethod,
) -> tuple[_Inputs, np.ndarray, np.ndarray, float]:
    if isinstance(covariates, str) or not covariates:
        raise ValueDomainError("covariates must be a non-empty list of column names, e.g. ['rate_pop_2022']")
    names = list(covariates)
    if column in names:
        raise ValueDomainError(f"{column!r} cannot be its own covariate")
    inp = _inputs(gdf, [column, *names], weights)
    if inp.values.shape[0] <= len(names) + 2:
        raise ValueDomainError(
            f"{inp.values.shape[0]} units have every value: too few for {len(names)} covariate(s) and an intercept"
        )
    zy = _standardise(inp.values[:, 0], column)
    zx = np.column_stack([_standardise(inp.values[:, j + 1], c) for j, c in enumerate(names)])
    e, r2 = _residuals(zy, zx, names, column)
    return inp, zy, e, r2


def local_moran_partial(
    gdf: gpd.GeoDataFrame,
    column: str,
    *,
    covariates: Sequence[str],
    weights: SpatialWeights | WeightsMethod = "queen",
    permutations: int | None = None,
    seed: int | None = None,
    alpha: float | None = None,
    correction: Correction = "none",
    alternative: Alternative = "two-sided",
    prefix: str = "plisa_",
) -> LocalResult:
    """Partial local Moran's I: the link of a unit to its neighbours with covariates held fixed.

    The unit's standardised value is replaced by its residual on the covariates
    (``e_i``: higher or lower than population, income, ... predict) and set against
    the neighbours' standardised values: ``(n - 1) e_i / (e'e) * sum_j w_ij zy_j``
    (esda's ``MoranLocalPartial.association_``). The neighbours' values are
    permuted, the unit's value and covariates held fixed.

    Parameters
    ----------
    gdf
        Layer, one row per unit.
    column
        Numeric column tested.
    covariates
        Numeric columns held fixed (at least one).
    weights, permutations, seed, alpha, correction, alternative
        As in :func:`local_moran_bv`.
    prefix
        Prefix of the added columns: ``i``, ``z`` (standardised value), ``resid``
        (its residual on the covariates), ``lag`` (lag of the standardised value),
        ``quadrant``, ``p``, ``significant``, ``cluster`` (``High-High``: higher
        than the covariates predict, among high neighbours).

    Returns
    -------
    LocalResult
        ``extra["r2"]`` is the share of the variable's variance the covariates explain.
    """
    opt = _options(permutations, seed, alpha, correction, alternative, prefix)
    inp, zy, e, r2 = _covariate_inputs(gdf, column, covariates, weights)
    n = zy.size
    coef = (n - 1) * e / float(e @ e)
    lag = inp.table.lag(zy)
    parts = {"i": coef * lag, "z": zy, "resid": e, "lag": lag, "own": e, "p": _linear_p(coef, zy, inp.table, opt)}
    extra: dict[str, object] = {"covariates": tuple(covariates), "r2": r2}
    variable = f"{column} given {', '.join(covariates)}"
    return _moran_result(gdf, inp, opt, parts, statistic="local_moran_partial", variable=variable, extra=extra)


def local_moran_conditional(
    gdf: gpd.GeoDataFrame,
    column: str,
    *,
    covariates: Sequence[str],
    weights: SpatialWeights | WeightsMethod = "queen",
    permutations: int | None = None,
    seed: int | None = None,
    alpha: float | None = None,
    correction: Correction = "none",
    alternative: Alternative = "two-sided",
    prefix: str = "clisa_",
) -> LocalResult:
    """Conditional local Moran's I: the local Moran's I of the residuals on covariates.

    ``(n - 1) e_i / (e'e) * sum_j w_ij e_j`` with ``e`` the residuals of the
    standardised variable on the standardised covariates (esda's
    ``MoranLocalConditional.association_``): is what the covariates do not explain
    still clustered? The residuals are permuted (esda 2.9 permutes their lag,
    a slip; its p-values are not comparable).

    Parameters
    ----------
    gdf, column, covariates, weights, permutations, seed, alpha, correction, alternative
        As in :func:`local_moran_partial`.
    prefix
        Prefix of the added columns: ``i``, ``z``, ``resid``, ``lag`` (lag of the
        residuals), ``quadrant``, ``p``, ``significant``, ``cluster``.

    Returns
    -------
    LocalResult
        ``extra["r2"]`` as in :func:`local_moran_partial`.
    """
    opt = _options(permutations, seed, alpha, correction, alternative, prefix)
    inp, zy, e, r2 = _covariate_inputs(gdf, column, covariates, weights)
    n = zy.size
    lag = inp.table.lag(e)
    local = (n - 1) * e * lag / float(e @ e)
    parts = {"i": local, "z": zy, "resid": e, "lag": lag, "own": e, "p": _linear_p(e, e, inp.table, opt)}
    extra: dict[str, object] = {"covariates": tuple(covariates), "r2": r2}
    variable = f"{column} given {', '.join(covariates)}"
    return _moran_result(gdf, inp, opt, parts, statistic="local_moran_conditional", variable=variable, extra=extra)


def local_geary_mv(
    gdf: gpd.GeoDataFrame,
    columns: Sequence[str],
    *,
    weights: SpatialWeights | WeightsMethod = "queen",
    permutations: int | None = None,
    seed: int | None = None,
    alpha: float | None = None,
    correction: Correction = "none",
    alternative: Alternative = "two-sided",
    prefix: str = "mgeary_",
) -> LocalResult:
    """Local multivariate Geary: how unlike its neighbours a unit is, over several variables.

    ``c_i = (1/m) sum_v sum_j w_ij (z_vi - z_vj)**2`` with row-standardised weights
    and each variable standardised with the sample standard deviation (GeoDa's
    ``local_multigeary``). Small ``c_i`` means the unit resembles its neighbours.

    Parameters
    ----------
    gdf
        Layer, one row per unit.
    columns
        Numeric columns (one or more; one gives the univariate local Geary).
    weights, permutations, seed, alpha, correction, alternative
        As in :func:`local_moran_bv`; the neighbours are permuted as whole units
        (all variables together).
    prefix
        Prefix of the added columns: ``c`` (the statistic), ``p``, ``significant``,
        ``cluster`` (:data:`GEARY_LABELS`).

    Returns
    -------
    LocalResult
    """
    if isinstance(columns, str) or not columns:
        raise ValueDomainError("columns must be a non-empty list of column names")
    opt = _options(permutations, seed, alpha, correction, alternative, prefix)
    inp = _inputs(gdf, list(columns), weights)
    z = np.column_stack([_standardise(inp.values[:, j], c, ddof=1) for j, c in enumerate(columns)])
    table = inp.table
    isolated = table.cardinality == 0
    c = local_geary_values(z, table)
    n_ge, n_le = geary_counts(z, table, permutations=opt.permutations, seed=opt.seed)
    p = pseudo_p_value(n_ge, n_le, opt.permutations, alternative=opt.alternative)
    p[isolated] = np.nan
    c[isolated] = np.nan
    cutoff = significance_cutoff(p, opt.alpha, opt.correction)
    sig = np.isfinite(p) & (p <= cutoff)
    tail = permutation_tail(n_ge, n_le)
    labels = np.full(c.size, "Not significant", dtype=object)
    labels[sig & (tail < 0)] = "Positive"
    labels[sig & (tail > 0)] = "Negative"
    labels[isolated] = "Isolated"
    d = inp.defined
    cols = {
        f"{prefix}c": spread(c, d, np.nan),
        f"{prefix}p": spread(p, d, np.nan),
        f"{prefix}significant": spread(sig, d, False),
        f"{prefix}cluster": spread(labels, d, "Undefined"),
    }
    extra: dict[str, object] = {"columns": tuple(columns)}
    return _result(gdf, inp, opt, cols, cutoff, statistic="local_geary_mv", variable=", ".join(columns), extra=extra)
