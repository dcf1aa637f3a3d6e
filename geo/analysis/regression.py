"""Spatial regression of an area measure on others (spreg): OLS, its spatial diagnostics, then lag or error.

:func:`spatial_regression` fits OLS (with White or spatial HAC standard errors),
reports Moran's I on its residuals and the Lagrange multiplier tests for a spatial
lag and a spatial error (and their robust forms), then fits the model the tests
point to by maximum likelihood (spreg ``ML_Lag`` / ``ML_Error``), chosen by
Anselin's rule (:data:`geo.analysis.regression_diagnostics.DECISION_RULE`) when
``model="auto"``. Every coefficient comes with its interval, and every result with
:data:`ECOLOGICAL_FALLACY_CAVEAT`: these are associations between areas.

spreg does the estimation (it is the field's library; nothing here re-implements
it); this module prepares the rows and the weights, counts what it drops, and
turns spreg's objects into tidy tables.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.analysis.regression_diagnostics import (
    DECISION_RULE,
    choose_model,
    condition_number,
    lag_impacts,
    normal_interval,
    variance_inflation,
)
from geo.caveats import ECOLOGICAL_FALLACY_CAVEAT
from geo.errors import GeoWarning, ValueDomainError
from geo.stats.significance import check_alpha, check_variation, numeric_values, resolve_weights
from geo.stats.warning_codes import MISSING_ROWS, MODEL_WARNING, SAME_MEASURE
from geo.stats.weights import SpatialWeights, WeightsMethod

__all__ = [
    "ECOLOGICAL_FALLACY_CAVEAT",
    "MISSING_ROWS",
    "MODEL_WARNING",
    "RegressionResult",
    "spatial_regression",
]


Model = Literal["auto", "ols", "lag", "error"]
Robust = Literal["none", "white", "hac"]

#: Warnings from spreg and pandas that carry no information about the fit.
_NOISE = (
    "The inplace keyword",
    "does not support relative tolerance",
)


@dataclass(frozen=True)
class RegressionResult:
    """A fitted regression, tidy.

    Attributes
    ----------
    model
        The model reported: ``ols``, ``lag`` (spatial lag, ML) or ``error`` (spatial error, ML).
    decision
        Why this model (the rule applied, or "requested").
    dependent, covariates
        Column names.
    coefficients
        ``term``, ``estimate``, ``std_error``, ``statistic`` (t for OLS, z for ML),
        ``p_value``, ``ci_low``, ``ci_high``; the lag model's ``W_<dependent>`` row
        is rho, the error model's ``lambda`` row is lambda.
    ols_coefficients
        The OLS table (the same as ``coefficients`` when ``model == "ols"``).
    diagnostics
        ``test``, ``statistic``, ``df``, ``p_value``: Moran's I on the OLS residuals
        (z as statistic), LM-lag, LM-error, robust LM-lag, robust LM-error, LM-SARMA,
        and for a spatial model its likelihood-ratio test against OLS.
    fit
        ``n``, ``k``, ``r2`` (pseudo R-squared for ML), ``adj_r2`` (OLS),
        ``log_likelihood``, ``aic``, ``schwarz``, ``sigma2``.
    impacts
        Lag model only: ``term``, ``impact``, ``estimate``, ``ci_low``, ``ci_high``.
    vif, condition_number
        Multicollinearity: variance inflation factors and the Belsley condition number.
    n_units, n_used
        Rows in the layer, rows used.
    missing
        Column -> rows missing a value in it (a row may count in several).
    dropped
        Ids of the rows left out.
    islands
        Ids of used rows with no used neighbour.
    robust, standardised, confidence
        Options of the fit.
    warnings
        Warnings as data.
    caveat
        :data:`ECOLOGICAL_FALLACY_CAVEAT`.
    """

    model: str
    decision: str
    dependent: str
    covariates: tuple[str, ...]
    coefficients: pd.DataFrame
    ols_coefficients: pd.DataFrame
    diagnostics: pd.DataFrame
    fit: Mapping[str, float]
    impacts: pd.DataFrame | None
    vif: pd.DataFrame
    condition_number: float
    n_units: int
    n_used: int
    missing: Mapping[str, int]
    dropped: tuple[Hashable, ...]
    islands: tuple[Hashable, ...]
    robust: str
    standardised: bool
    confidence: float
    warnings: tuple[GeoWarning, ...] = ()
    caveat: str = ECOLOGICAL_FALLACY_CAVEAT
    extra: Mapping[str, object] = field(default_factory=dict)

    def summary(self) -> str:
        """Plain-language lines: model and why, rows used, every coefficient with its interval, tests, caveat."""
        names = {"ols": "OLS", "lag": "spatial lag (ML)", "error": "spatial error (ML)"}
        units = " (standardised: 1 SD change)" if self.standardised else ""
        lines = [
            f"{names[self.model]} regression of {self.dependent} on {', '.join(self.covariates)}{units}",
            f"why this model: {self.decision}",
            f"{self.n_used} of {self.n_units} units used; {self.n_units - self.n_used} dropped for missing values"
            + (f" ({', '.join(f'{c}: {k}' for c, k in self.missing.items() if k)})" if self.dropped else ""),
        ]
        pct = f"{self.confidence:.0%}"
        for r in self.coefficients.itertuples():
            lines.append(
                f"  {r.term}: {r.estimate:.4g} ({pct} interval {r.ci_low:.4g} to {r.ci_high:.4g}; p = {r.p_value:.3g})"
            )
        if self.impacts is not None:
            lines.append("impacts (a change in every unit; indirect = through the neighbours):")
            for r in self.impacts.itertuples():
                lines.append(
                    f"  {r.term} {r.impact}: {r.estimate:.4g} ({pct} interval {r.ci_low:.4g} to {r.ci_high:.4g})"
                )
        lines.append(f"fit: R-squared {self.fit['r2']:.3f}, AIC {self.fit['aic']:.1f}, n {int(self.fit['n'])}")
        for r in self.diagnostics.itertuples():
            lines.append(f"  {r.test}: {r.statistic:.4g} (p = {r.p_value:.3g})")
        worst = float(self.vif["vif"].max())
        lines.append(f"multicollinearity: largest VIF {worst:.2f}, condition number {self.condition_number:.1f}")
        lines += [f"warning: {w}" for w in self.warnings]
        lines.append(f"caveat: {self.caveat}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Rows:
    y: np.ndarray
    x: np.ndarray
    used: np.ndarray
    weights: SpatialWeights  # among used rows
    missing: dict[str, int]
    ids: pd.Index  # of every row


def _rows(
    gdf: gpd.GeoDataFrame,
    dependent: str,
    covariates: Sequence[str],
    weights: SpatialWeights | WeightsMethod,
    standardise: bool,
) -> _Rows:
    if isinstance(covariates, str) or not covariates:
        raise ValueDomainError("covariates must be a non-empty list of column names")
    names = [dependent, *covariates]
    if len(set(names)) != len(names):
        raise ValueDomainError(f"each variable may be used once; got {', '.join(map(repr, names))}")
    values = np.column_stack([numeric_values(gdf, c) for c in names])
    w = resolve_weights(gdf, weights)
    used = np.isfinite(values).all(axis=1)
    k = len(covariates) + 1
    if used.sum() <= k + 1:
        raise ValueDomainError(
            f"only {int(used.sum())} of {len(gdf)} units have a value in every one of {', '.join(names)}; "
            f"{k + 2} or more are needed"
        )
    data = values[used]
    for j, c in enumerate(names):
        check_variation(data[:, j], c, over="every unit used")
    if standardise:
        data = (data - data.mean(axis=0)) / data.std(axis=0, ddof=1)
    design = np.column_stack([np.ones(len(data)), data[:, 1:]])
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise ValueDomainError(
            f"the covariates {', '.join(covariates)} are collinear among the {len(data)} units used "
            "(one is a constant or a linear combination of the others); drop one"
        )
    missing = {c: int((~np.isfinite(values[:, j])).sum()) for j, c in enumerate(names)}
    sub = w if used.all() else w.subset(used)
    return _Rows(data[:, :1], data[:, 1:], used, sub, missing, w.ids)


def _same_measure(rows: _Rows, dependent: str, names: list[str]) -> list[GeoWarning]:
    """A warning per covariate that is (almost) the dependent variable itself (``|r| >= 0.999``)."""
    y = rows.y[:, 0]
    out = []
    for j, name in enumerate(names):
        r = float(np.corrcoef(y, rows.x[:, j])[0, 1])
        if abs(r) >= 0.999:
            out.append(
                GeoWarning(
                    SAME_MEASURE,
                    f"{name} and {dependent} measure the same thing (correlation {r:.4f} over the units used): "
                    f"the fit says nothing about the other factors; drop {name}",
                )
            )
    return out


def _spreg_call(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, list[GeoWarning]]:
    """Call spreg, keeping its informative warnings as data and dropping pandas noise."""
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)  # spreg prints the model's name
    kept = [
        GeoWarning(MODEL_WARNING, f"spreg: {c.message}")
        for c in caught
        if not issubclass(c.category, (FutureWarning, DeprecationWarning))
        and not any(s in str(c.message) for s in _NOISE)
    ]
    return out, kept


def _table(
    terms: Sequence[str], est: np.ndarray, se: np.ndarray, stat_p: Any, confidence: float, df: int | None
) -> pd.DataFrame:
    """Tidy coefficients table; ``stat_p`` is spreg's list of (statistic, p) pairs."""
    est = np.asarray(est, dtype=float).ravel()
    se = np.asarray(se, dtype=float).ravel()
    stat = np.array([float(s) for s, _ in stat_p])
    p = np.array([float(q) for _, q in stat_p])
    lo, hi = normal_interval(est, se, confidence, df)
    return pd.DataFrame(
        {
            "term": list(terms),
            "estimate": est,
            "std_error": se,
            "statistic": stat,
            "p_value": p,
            "ci_low": lo,
            "ci_high": hi,
        }
    )


def _libpysal_w(sub: SpatialWeights) -> Any:
    from libpysal.weights import WSP

    w = WSP(sub.matrix("O")).to_W(silence_warnings=True)
    w.transform = "r"
    return w


def _hac_kernel(gdf: gpd.GeoDataFrame, used: np.ndarray, k: int) -> Any:
    from libpysal.weights import Kernel

    pts = gdf.geometry[used].representative_point()
    coords = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
    return Kernel(coords, k=k, function="triangular", fixed=False, diagonal=True)


def _ols_diagnostics(ols: Any) -> pd.DataFrame:
    mi = ols.moran_res
    rows = [("Moran's I on residuals (z)", float(mi[1]), 1, float(mi[2]), float(mi[0]))]
    for attr, name, df in (
        ("lm_lag", "LM-lag", 1),
        ("lm_error", "LM-error", 1),
        ("rlm_lag", "robust LM-lag", 1),
        ("rlm_error", "robust LM-error", 1),
        ("lm_sarma", "LM-SARMA", 2),
    ):
        s, p = getattr(ols, attr)
        rows.append((name, float(s), df, float(p), float("nan")))
    return pd.DataFrame(rows, columns=["test", "statistic", "df", "p_value", "value"])


def spatial_regression(
    gdf: gpd.GeoDataFrame,
    dependent: str,
    covariates: Sequence[str],
    *,
    weights: SpatialWeights | WeightsMethod = "queen",
    model: Model = "auto",
    robust: Robust = "white",
    hac_k: int = 12,
    standardise: bool = False,
    alpha: float = 0.05,
    confidence: float = 0.95,
    impact_draws: int = 1000,
    seed: int = 12345,
) -> RegressionResult:
    """Regress an area measure on others: OLS with spatial diagnostics, then the spatial model they point to.

    Parameters
    ----------
    gdf
        Layer, one row per unit (projected CRS for ``robust="hac"``).
    dependent
        Numeric column explained (e.g. ``violent_rate_2022``).
    covariates
        Numeric columns explaining it (a constant is added).
    weights
        Weights for ``gdf`` or a method name; links to dropped rows are removed and
        the rest row-standardised.
    model
        ``auto`` (Anselin's rule), ``ols``, ``lag`` or ``error``.
    robust
        OLS standard errors: ``white`` (heteroskedasticity-robust, HC1: spreg scales by ``n / (n - k)``), ``hac``
        (Kelejian-Prucha spatial HAC, triangular kernel over ``hac_k`` nearest
        units) or ``none``. The ML models use their own asymptotic errors.
    hac_k
        Neighbours of the HAC kernel.
    standardise
        Standardise the dependent variable and the covariates (sample SD) first, so
        coefficients are in SD per SD.
    alpha
        Level of the LM tests in Anselin's rule.
    confidence
        Level of the intervals.
    impact_draws
        Simulation draws for the lag model's impact intervals.
    seed
        Seed of those draws.

    Returns
    -------
    RegressionResult

    Raises
    ------
    SchemaError
        A column missing or not numeric.
    ValueDomainError
        Unknown options, too few complete rows, a constant variable, collinear covariates.
    """
    if model not in ("auto", "ols", "lag", "error"):
        raise ValueDomainError(f"model must be one of auto, ols, lag, error; got {model!r}")
    if robust not in ("none", "white", "hac"):
        raise ValueDomainError(f"robust must be one of none, white, hac; got {robust!r}")
    alpha, confidence = check_alpha(alpha), check_alpha(confidence)
    rows = _rows(gdf, dependent, covariates, weights, standardise)
    w = _libpysal_w(rows.weights)
    names = list(covariates)
    import spreg

    # The LM tests use the OLS residuals (the same whatever the standard errors); spreg skips them with HAC.
    ols, found = _spreg_call(spreg.OLS, rows.y, rows.x, w=w, spat_diag=True, moran=True, name_y=dependent, name_x=names)
    se_fit = ols
    if robust != "none":
        gwk = _hac_kernel(gdf, rows.used, hac_k) if robust == "hac" else None
        se_fit, more = _spreg_call(spreg.OLS, rows.y, rows.x, robust=robust, gwk=gwk, name_y=dependent, name_x=names)
        found += more
    n = int(ols.n)
    terms = ["CONSTANT", *names]
    ols_table = _table(terms, se_fit.betas, se_fit.std_err, se_fit.t_stat, confidence, n - int(ols.k))
    diagnostics = _ols_diagnostics(ols)
    tests = {
        a: (float(getattr(ols, a)[0]), float(getattr(ols, a)[1]))
        for a in ("lm_lag", "lm_error", "rlm_lag", "rlm_error")
    }
    chosen, decision = choose_model(tests, alpha) if model == "auto" else (model, f"{model} requested")
    fit: dict[str, float] = {
        "n": n, "k": int(ols.k), "r2": float(ols.r2), "adj_r2": float(ols.ar2),
        "log_likelihood": float(ols.logll), "aic": float(ols.aic), "schwarz": float(ols.schwarz), "sigma2": float(ols.sig2),
    }  # fmt: skip
    table, impacts = ols_table, None
    if chosen in ("lag", "error"):
        spatial = _fit_spatial(chosen, rows, w, dependent, names, confidence, impact_draws, seed, found)
        table, impacts = spatial["table"], spatial["impacts"]
        fit = spatial["fit"]
        lr = 2.0 * (fit["log_likelihood"] - float(ols.logll))
        from scipy import stats

        lr_row = pd.DataFrame(
            [("likelihood ratio vs OLS", lr, 1, float(stats.chi2.sf(lr, 1)), float("nan"))], columns=diagnostics.columns
        )
        diagnostics = pd.concat([diagnostics, lr_row], ignore_index=True)
    return _assemble(gdf, rows, chosen, decision, dependent, names, table, ols_table, diagnostics, fit, impacts,
                     robust=robust, standardise=standardise, confidence=confidence, found=found)  # fmt: skip


def _fit_spatial(
    chosen: str,
    rows: _Rows,
    w: Any,
    dependent: str,
    names: list[str],
    confidence: float,
    draws: int,
    seed: int,
    found: list[GeoWarning],
) -> dict[str, Any]:
    """Fit ML_Lag or ML_Error; return its table, fit numbers and (lag) impacts."""
    import spreg

    if chosen == "lag":
        reg, more = _spreg_call(spreg.ML_Lag, rows.y, rows.x, w=w, name_y=dependent, name_x=names, spat_impacts=None)
        terms = ["CONSTANT", *names, f"W_{dependent}"]
    else:
        reg, more = _spreg_call(spreg.ML_Error, rows.y, rows.x, w=w, name_y=dependent, name_x=names)
        terms = ["CONSTANT", *names, "lambda"]
    found += more
    table = _table(terms, reg.betas, reg.std_err, reg.z_stat, confidence, None)
    fit = {
        "n": int(reg.n), "k": int(reg.k), "r2": float(reg.pr2), "adj_r2": float("nan"),
        "log_likelihood": float(reg.logll), "aic": float(reg.aic), "schwarz": float(reg.schwarz),
        "sigma2": float(np.asarray(reg.sig2).ravel()[0]),
    }  # fmt: skip
    impacts = None
    if chosen == "lag":
        betas = np.asarray(reg.betas, dtype=float).ravel()
        vm = np.asarray(reg.vm, dtype=float)  # (constant, covariates, rho)
        keep = [*range(1, len(names) + 1), len(names) + 1]
        impacts = lag_impacts(
            betas[1 : len(names) + 1], float(betas[-1]), vm[np.ix_(keep, keep)], rows.weights.matrix("R"), names,
            confidence=confidence, draws=draws, seed=seed,
        )  # fmt: skip
    return {"table": table, "fit": fit, "impacts": impacts}


def _assemble(
    gdf: gpd.GeoDataFrame,
    rows: _Rows,
    chosen: str,
    decision: str,
    dependent: str,
    names: list[str],
    table: pd.DataFrame,
    ols_table: pd.DataFrame,
    diagnostics: pd.DataFrame,
    fit: dict[str, float],
    impacts: pd.DataFrame | None,
    *,
    robust: str,
    standardise: bool,
    confidence: float,
    found: list[GeoWarning],
) -> RegressionResult:
    dropped = tuple(rows.ids[~rows.used])
    warns = list(rows.weights.warnings)
    if dropped:
        detail = ", ".join(f"{c}: {k}" for c, k in rows.missing.items() if k)
        warns.insert(
            0,
            GeoWarning(
                MISSING_ROWS,
                f"{len(dropped)} of {len(gdf)} units lack a value ({detail}) and were left out of the regression; "
                "links to them were dropped",
            ),
        )
    warns += _same_measure(rows, dependent, names)
    design = np.column_stack([np.ones(len(rows.x)), rows.x])
    return RegressionResult(
        model=chosen, decision=decision, dependent=dependent, covariates=tuple(names), coefficients=table,
        ols_coefficients=ols_table, diagnostics=diagnostics, fit=fit, impacts=impacts,
        vif=variance_inflation(rows.x, names), condition_number=condition_number(design), n_units=len(gdf),
        n_used=int(rows.used.sum()), missing=rows.missing, dropped=dropped, islands=rows.weights.islands,
        robust=robust, standardised=standardise, confidence=confidence, warnings=(*warns, *found),
        extra={"rule": DECISION_RULE},
    )  # fmt: skip
