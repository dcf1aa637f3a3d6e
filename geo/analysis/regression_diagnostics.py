"""Pieces of the spatial regression: multicollinearity, the model choice, and lag-model impacts.

Used by :func:`geo.analysis.regression.spatial_regression`; each is a small
function of arrays so that it can be checked against statsmodels and spreg.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import sparse

__all__ = [
    "DECISION_RULE",
    "variance_inflation",
    "condition_number",
    "choose_model",
    "lag_impacts",
    "normal_interval",
    "weights_eigenvalues",
]


#: Anselin's decision rule (Anselin 2005, *Exploring Spatial Data with GeoDa*, fig. 23.2), as applied.
DECISION_RULE = (
    "Anselin's rule on the OLS Lagrange multiplier tests: if neither LM-lag nor LM-error is significant, keep OLS; "
    "if one is, fit that model; if both are, look at their robust forms: if one robust test is significant, fit that "
    "model; if both (or neither) are, fit the model with the larger robust statistic."
)


def variance_inflation(x: np.ndarray, names: Sequence[str]) -> pd.DataFrame:
    """Variance inflation factor of each covariate: ``1 / (1 - R_k^2)``.

    Parameters
    ----------
    x
        ``(n, k)`` covariates, without the constant.
    names
        Their names.

    Returns
    -------
    pandas.DataFrame
        ``term``, ``vif`` (the diagonal of the inverse correlation matrix; 1 for a
        single covariate; infinite for perfectly collinear covariates).
    """
    x = np.asarray(x, dtype=float)
    if x.shape[1] == 1:
        return pd.DataFrame({"term": list(names), "vif": [1.0]})
    corr = np.corrcoef(x, rowvar=False)
    try:
        vif = np.diag(np.linalg.inv(corr))
    except np.linalg.LinAlgError:
        vif = np.full(x.shape[1], np.inf)
    return pd.DataFrame({"term": list(names), "vif": vif.astype(float)})


def condition_number(design: np.ndarray) -> float:
    """Belsley-Kuh-Welsch condition number of a design matrix (with its constant).

    The columns are scaled to unit length, and the number is the square root of
    the ratio of the largest to the smallest eigenvalue of ``X'X`` (spreg's
    ``mulColli``). Above 30 is commonly read as troubling multicollinearity.
    """
    x = np.asarray(design, dtype=float)
    xs = x / np.sqrt((x**2).sum(axis=0))
    eig = np.linalg.eigvalsh(xs.T @ xs)
    return float(np.sqrt(eig.max() / eig.min())) if eig.min() > 0 else float("inf")


def choose_model(tests: Mapping[str, tuple[float, float]], alpha: float) -> tuple[str, str]:
    """Apply :data:`DECISION_RULE` to the LM tests.

    Parameters
    ----------
    tests
        ``lm_lag``, ``lm_error``, ``rlm_lag``, ``rlm_error`` -> ``(statistic, p)``.
    alpha
        Significance level of the tests.

    Returns
    -------
    model, reason
        ``"ols"``, ``"lag"`` or ``"error"`` and one sentence saying why.

    Examples
    --------
    >>> choose_model({"lm_lag": (9.0, 0.003), "lm_error": (1.0, 0.3),
    ...               "rlm_lag": (8.5, 0.004), "rlm_error": (0.5, 0.5)}, 0.05)[0]
    'lag'
    """
    lag, err = tests["lm_lag"][1] <= alpha, tests["lm_error"][1] <= alpha
    if not lag and not err:
        return "ols", f"neither LM-lag nor LM-error is significant at {alpha:g}: OLS is kept"
    if lag != err:
        name = "lag" if lag else "error"
        return name, f"only LM-{name} is significant at {alpha:g}: the spatial {name} model"
    rlag, rerr = tests["rlm_lag"][1] <= alpha, tests["rlm_error"][1] <= alpha
    if rlag != rerr:
        name = "lag" if rlag else "error"
        return name, f"LM-lag and LM-error are both significant, only robust LM-{name} is: the spatial {name} model"
    name = "lag" if tests["rlm_lag"][0] >= tests["rlm_error"][0] else "error"
    both = "both" if rlag else "neither"
    return name, (
        f"LM-lag and LM-error are both significant and {both} of the robust forms is; robust LM-{name} is the "
        f"larger: the spatial {name} model (a spatial Durbin or SARMA model may fit better)"
    )


def weights_eigenvalues(w: sparse.csr_array) -> np.ndarray:
    """Eigenvalues of a row-standardised weights matrix.

    When ``W = D^-1 C`` with ``C`` symmetric (contiguity, distance bands), ``W`` is
    similar to the symmetric ``D^-1/2 C D^-1/2``, whose eigenvalues are real and
    much faster to find; otherwise the general (complex) eigenvalues are returned.
    """
    dense = w.toarray()
    rs = dense.sum(axis=1)
    c = dense * np.where(rs > 0, rs, 1.0)[:, None]  # undo the row standardisation (binary C when it was binary)
    if np.allclose(c, c.T, rtol=1e-10, atol=1e-12):
        s = np.sqrt(np.where(rs > 0, rs, 0.0))
        inv = np.divide(1.0, s, out=np.zeros_like(s), where=s > 0)
        eig: np.ndarray = np.linalg.eigvalsh(inv[:, None] * c * inv[None, :])
        return eig
    general: np.ndarray = np.linalg.eigvals(dense)
    return general


def _multiplier(rho: np.ndarray, eigenvalues: np.ndarray) -> np.ndarray:
    """Mean diagonal of ``(I - rho W)^-1`` for each ``rho`` (from the eigenvalues of ``W``)."""
    out: np.ndarray = (1.0 / (1.0 - np.outer(rho, eigenvalues))).real.mean(axis=1)
    return out


def lag_impacts(
    betas: np.ndarray,
    rho: float,
    vm: np.ndarray,
    w: sparse.csr_array,
    names: Sequence[str],
    *,
    confidence: float,
    draws: int,
    seed: int,
) -> pd.DataFrame:
    """Direct, indirect and total impacts of a spatial lag model, with simulated intervals.

    For covariate ``k``: total ``beta_k / (1 - rho)`` (row-standardised ``W``),
    direct ``beta_k * mean(diag((I - rho W)^-1))`` (LeSage and Pace 2009) and
    indirect = total - direct. Intervals: percentiles of the impacts computed from
    ``draws`` draws of ``(beta, rho)`` from their estimated normal distribution.

    Parameters
    ----------
    betas
        Coefficients of the covariates (no constant), in the order of ``names``.
    rho
        Spatial autoregressive coefficient.
    vm
        Covariance matrix of ``(*betas, rho)``.
    w
        Row-standardised weights used in the fit.
    names
        Covariate names.
    confidence
        Interval level, e.g. 0.95.
    draws
        Simulation draws.
    seed
        Random seed.

    Returns
    -------
    pandas.DataFrame
        ``term``, ``impact`` (``direct``, ``indirect``, ``total``), ``estimate``,
        ``ci_low``, ``ci_high``.
    """
    lam = weights_eigenvalues(w)
    betas = np.asarray(betas, dtype=float)
    rng = np.random.default_rng(seed)
    theta = np.append(betas, rho)
    sim = rng.multivariate_normal(theta, vm, size=draws, method="eigh")
    sim = sim[np.abs(sim[:, -1]) < 1]  # stay inside the stable range of rho
    m_hat = float(_multiplier(np.array([rho]), lam)[0])
    m_sim = _multiplier(sim[:, -1], lam)
    lo, hi = (1 - confidence) / 2 * 100, (1 + confidence) / 2 * 100
    rows = []
    for k, name in enumerate(names):
        point = {"direct": betas[k] * m_hat, "total": betas[k] / (1 - rho)}
        point["indirect"] = point["total"] - point["direct"]
        s_direct = sim[:, k] * m_sim
        s_total = sim[:, k] / (1 - sim[:, -1])
        spread_ = {"direct": s_direct, "indirect": s_total - s_direct, "total": s_total}
        for impact in ("direct", "indirect", "total"):
            low, high = np.percentile(spread_[impact], [lo, hi])
            rows.append((name, impact, float(point[impact]), float(low), float(high)))
    return pd.DataFrame(rows, columns=["term", "impact", "estimate", "ci_low", "ci_high"])


def normal_interval(
    estimate: np.ndarray, se: np.ndarray, confidence: float, df: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """``estimate -/+ q * se`` with ``q`` from Student's t (``df``) or the normal (``df=None``)."""
    from scipy import stats  # here: importing scipy.stats takes a second, and the Map explorer's variables need none

    q = stats.t.ppf((1 + confidence) / 2, df) if df else stats.norm.ppf((1 + confidence) / 2)
    return estimate - q * se, estimate + q * se
