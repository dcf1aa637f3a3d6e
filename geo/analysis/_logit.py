"""Fast logistic fits for all-indicator designs (the engine behind :mod:`geo.analysis.models`). Private.

Every column of the design is an indicator, so the design is kept as one column index
per term and row. A NumPy Newton-Raphson (``X'WX`` from weighted 2-D histograms of
blocks of terms; step halving) finds the estimates; statsmodels ``Logit`` then starts
from them, confirms convergence and supplies standard errors, z and p values.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeGuard

import numpy as np
import statsmodels.api as sm


class Indicators:
    """An indicator (one-hot) design stored as one column index per term and row.

    ``cols[:, j]`` is the design column of term ``j`` for each row (0 is the
    intercept; ``k`` is a dummy column standing for the reference level, whose
    coefficient is fixed at 0).

    Terms are packed into a few *blocks* whose level combinations number at most
    ``cap`` (e.g. month × reason: 24 × 10), and each row gets one code per block.
    With ``E_b`` the 0/1 matrix mapping a block's level combinations to design
    columns, ``X b`` is a sum of gathers of ``E_b b``, ``X' v`` a sum of
    ``E_b' bincount(code_b, v)``, and ``X' W X`` a sum over block pairs of
    ``E_a' H_ab E_b``, where ``H_ab`` is the weighted 2-D histogram of the two
    blocks' codes (``numpy.bincount``). On the full stops table that is about ten
    histograms per Hessian instead of a 139,000 × 69 matrix product: a few
    milliseconds, single-threaded.
    """

    def __init__(self, cols: np.ndarray, k: int, *, cap: int = 256) -> None:
        self.cols = cols
        self.k = k
        self.K = k + 1
        n, m = cols.shape
        # local level codes per column, and the design column of each local level
        local, values = [], []
        for j in range(m):
            present = np.flatnonzero(np.bincount(cols[:, j], minlength=self.K))
            lookup = np.full(self.K, -1, dtype=np.int64)
            lookup[present] = np.arange(len(present))
            local.append(lookup[cols[:, j]])
            values.append(present)
        # first-fit decreasing: pack columns into blocks of at most `cap` combinations
        blocks: list[list[int]] = []
        sizes: list[int] = []
        for j in sorted(range(m), key=lambda j: -len(values[j])):
            for b, size in enumerate(sizes):
                if size * len(values[j]) <= cap:
                    blocks[b].append(j)
                    sizes[b] = size * len(values[j])
                    break
            else:
                blocks.append([j])
                sizes.append(len(values[j]))
        self.codes: list[np.ndarray] = []
        self.maps: list[np.ndarray] = []
        for members, size in zip(blocks, sizes, strict=True):
            code = np.zeros(n, dtype=np.int64)
            E = np.zeros((size, self.K))
            radix = 1
            combos = np.arange(size)
            for j in members:
                L = len(values[j])
                code += local[j] * radix
                E[combos, values[j][(combos // radix) % L]] = 1.0
                radix *= L
            self.codes.append(code)
            self.maps.append(E)
        self.sizes = sizes
        self.pairs = [
            (a, b, self.codes[a] * sizes[b] + self.codes[b])
            for a in range(len(sizes))
            for b in range(a + 1, len(sizes))
        ]
        self._dense: np.ndarray | None = None

    def linpred(self, beta: np.ndarray) -> np.ndarray:
        """``X b`` (``beta`` without the dummy reference column)."""
        ext = np.append(beta, 0.0)
        eta = np.zeros(len(self.cols))
        for code, E in zip(self.codes, self.maps, strict=True):
            eta += (E @ ext)[code]
        return eta

    def xtv(self, v: np.ndarray) -> np.ndarray:
        """``X' v``."""
        g = np.zeros(self.K)
        for code, E, size in zip(self.codes, self.maps, self.sizes, strict=True):
            g += E.T @ np.bincount(code, weights=v, minlength=size)
        return g[: self.k]

    def xtwx(self, w: np.ndarray) -> np.ndarray:
        """``X' diag(w) X``."""
        H = np.zeros((self.K, self.K))
        for code, E, size in zip(self.codes, self.maps, self.sizes, strict=True):
            h = np.bincount(code, weights=w, minlength=size)
            H += (E.T * h) @ E
        for a, b, idx in self.pairs:
            h = np.bincount(idx, weights=w, minlength=self.sizes[a] * self.sizes[b]).reshape(
                self.sizes[a], self.sizes[b]
            )
            block = self.maps[a].T @ h @ self.maps[b]
            H += block + block.T
        return H[: self.k, : self.k]

    def dense(self) -> np.ndarray:
        """The design as a dense (read-only, cached) matrix, for statsmodels' bookkeeping."""
        if self._dense is not None:
            return self._dense
        X = np.zeros((len(self.cols), self.K))
        rows = np.arange(len(self.cols))
        for j in range(self.cols.shape[1]):
            X[rows, self.cols[:, j]] = 1.0
        self._dense = X[:, : self.k]
        self._dense.flags.writeable = False
        return self._dense


def _newton(y: np.ndarray, design: Indicators, *, maxiter: int, tol: float = 1e-6) -> np.ndarray | None:
    """Newton-Raphson for the logistic likelihood on an indicator design, with step halving.

    Starts from zero (the first step is then a least-squares fit with equal weights,
    which lands near the optimum; starting from the intercept-only estimate can
    overshoot badly on rare levels). Returns the estimates, or ``None`` if the Hessian
    is singular or it does not converge.
    """
    beta = np.zeros(design.k)

    def loglike(eta: np.ndarray) -> float:
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)))

    eta = design.linpred(beta)
    ll = loglike(eta)
    for _ in range(maxiter):
        mu = 1.0 / (1.0 + np.exp(-eta))
        try:
            step = np.linalg.solve(design.xtwx(mu * (1.0 - mu)), design.xtv(y - mu))
        except np.linalg.LinAlgError:
            return None
        t = 1.0
        for _ in range(30):
            new = beta + t * step
            eta_new = design.linpred(new)
            ll_new = loglike(eta_new)
            if np.isfinite(ll_new) and ll_new >= ll - 1e-12 * abs(ll):
                break
            t /= 2
        else:
            return None
        beta, eta, ll = new, eta_new, ll_new
        if np.max(np.abs(t * step)) < tol:
            return beta
    return None


class LogitFit(Protocol):
    """What :mod:`geo.analysis.models` reads of a statsmodels ``LogitResults``."""

    params: np.ndarray
    bse: np.ndarray
    llf: float
    aic: float
    mle_retvals: dict[str, Any]


class _IndicatorLogit(sm.Logit):  # type: ignore[misc]  # statsmodels has no type hints: its Logit is Any here
    """statsmodels ``Logit`` that computes ``X b``, ``X' v`` and ``X' W X`` from the indicator structure.

    The overrides return exactly what statsmodels' dense products return (see
    :class:`Indicators`); the likelihood, Newton iterations, convergence check and
    covariance are statsmodels' own.
    """

    def __init__(
        self, endog: np.ndarray, exog: np.ndarray, *, indicators: Indicators | None = None, **kwargs: Any
    ) -> None:
        super().__init__(endog, exog, check_rank=False, **kwargs)  # the rank check (an SVD) costs more than the fit
        self._ind = indicators

    def _own(self) -> Indicators | None:
        """The indicator structure when this model's design is the one it describes (not a null model)."""
        ind = self._ind
        return ind if ind is not None and np.ndim(self.exog) == 2 and self.exog.shape[1] == ind.k else None

    def predict(
        self,
        params: np.ndarray,
        exog: np.ndarray | None = None,
        which: str = "mean",
        offset: np.ndarray | None = None,
    ) -> np.ndarray:
        """Mean or linear prediction; from the indicator structure for this model's own design."""
        plain = exog is None and offset is None and getattr(self, "offset", None) is None
        ind = self._own() if plain else None
        if ind is None or which not in ("mean", "linear"):
            out: np.ndarray = super().predict(params, exog=exog, which=which, offset=offset)
            return out
        linpred = ind.linpred(np.asarray(params, dtype=float))
        if which == "linear":
            return linpred
        mean: np.ndarray = self.cdf(linpred)
        return mean

    def score(self, params: np.ndarray) -> np.ndarray:
        """Gradient of the log-likelihood, ``X' (y - mu)``."""
        ind = self._own()
        if ind is None:
            out: np.ndarray = super().score(params)
            return out
        return ind.xtv(self.endog - self.predict(params))

    def hessian(self, params: np.ndarray) -> np.ndarray:
        """Hessian of the log-likelihood, ``-X' W X``."""
        ind = self._own()
        if ind is None:
            out: np.ndarray = super().hessian(params)  # statsmodels also builds a 1-column null model
            return out
        L = self.predict(params)
        return -ind.xtwx(L * (1 - L))


def _usable(result: LogitFit | None) -> TypeGuard[LogitFit]:
    """A fit with finite estimates and standard errors."""
    return result is not None and bool(np.all(np.isfinite(result.params))) and bool(np.all(np.isfinite(result.bse)))


def _converged(result: LogitFit | None) -> TypeGuard[LogitFit]:
    """A usable fit whose Newton iterations converged."""
    return _usable(result) and bool(result.mle_retvals.get("converged", False))


def fit_logit(y: np.ndarray, design: Indicators, *, maxiter: int) -> LogitFit | None:
    """Fit with statsmodels, started from a fast NumPy Newton solution.

    The NumPy solver (:func:`_newton`) does the iterations cheaply; statsmodels'
    Newton then starts at that solution, confirms convergence (usually in one
    iteration) and supplies the standard errors. If the warm start fails, statsmodels
    starts from zero; if that fails too, BFGS then Newton. Returns ``None`` when
    nothing gives finite estimates.
    """
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        start = _newton(y, design, maxiter=maxiter)
    model = _IndicatorLogit(y, design.dense(), indicators=design)
    res: LogitFit | None = None
    try:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            res = model.fit(method="newton", disp=0, maxiter=maxiter, start_params=start)
    except np.linalg.LinAlgError:
        res = None
    if _converged(res):
        return res
    try:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            if start is not None:  # warm start was bad: try statsmodels' own start
                res = model.fit(method="newton", disp=0, maxiter=maxiter)
                if _converged(res):
                    return res
            start = model.fit(method="bfgs", disp=0, maxiter=500).params
            res = model.fit(method="newton", disp=0, maxiter=maxiter, start_params=start)
    except np.linalg.LinAlgError:
        return None
    return res if _usable(res) else None
