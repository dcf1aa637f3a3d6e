"""Fast logistic fits for all-indicator designs (the engine behind :mod:`geo.analysis.models`). Private.

Every column of the design is an indicator, so the design is kept as one column index
per term and row. A NumPy Newton-Raphson (``X'WX`` from weighted 2-D histograms of
blocks of terms; step halving) finds the estimates; statsmodels ``Logit`` then starts
from them, confirms convergence and supplies standard errors, z and p values.

:func:`fit_firth` fits Firth's (1993) penalised likelihood instead, for designs where a
level has no events (or only events) and the maximum-likelihood estimate is infinite;
:func:`profile_interval` gives its profile penalised-likelihood intervals (Heinze and
Schemper 2002). Neither exists in statsmodels: the tests check them against a direct
numerical maximisation with ``scipy.optimize`` and against the closed form of a 2 × 2
table (Firth = 0.5 added to every cell).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeGuard

import numpy as np
import statsmodels.api as sm
from scipy import optimize, stats
from scipy.special import expit


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


# --------------------------------------------------------------------------- Firth's penalised likelihood


@dataclass
class FirthFit:
    """Firth's penalised-likelihood fit (the attributes :class:`LogitFit` names, plus the penalty's).

    ``llf`` and ``aic`` are the ordinary log-likelihood and AIC at the penalised
    estimates; ``penalised_llf`` is ``llf + log|I(beta)| / 2``; ``bse`` are Wald standard
    errors from the inverse Fisher information at the estimates.
    """

    params: np.ndarray
    bse: np.ndarray
    llf: float
    aic: float
    penalised_llf: float
    mle_retvals: dict[str, Any]
    y: np.ndarray = field(repr=False)
    design: Indicators = field(repr=False)


@dataclass
class _State:
    """Everything the penalised likelihood needs at one ``beta``."""

    mu: np.ndarray
    w: np.ndarray
    info: np.ndarray
    llf: float
    pll: float


def _state(y: np.ndarray, design: Indicators, beta: np.ndarray) -> _State | None:
    """Fitted means, weights, Fisher information and (penalised) log-likelihood; ``None`` if singular.

    Firth's fit works on the dense design (BLAS products are faster than the histograms of
    :class:`Indicators` for the filtered designs it is mostly needed for).
    """
    X = design.dense()
    eta = X @ beta
    mu = expit(eta)
    w = mu * (1.0 - mu)
    info = X.T @ (X * w[:, None])
    sign, logdet = np.linalg.slogdet(info)
    if sign <= 0 or not np.isfinite(logdet):
        return None
    llf = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
    return _State(mu=mu, w=w, info=info, llf=llf, pll=llf + 0.5 * float(logdet))


def _modified_score(y: np.ndarray, X: np.ndarray, st: _State) -> np.ndarray:
    """Firth's modified score ``X'(y - mu + h (1/2 - mu))``, the gradient of the penalised log-likelihood.

    ``h`` is the hat diagonal of the full model, ``w_i x_i' I^-1 x_i``.
    """
    hat = st.w * np.einsum("ij,ij->i", X @ np.linalg.inv(st.info), X)
    score: np.ndarray = X.T @ (y - st.mu + hat * (0.5 - st.mu))
    return score


def _scoring(
    y: np.ndarray, design: Indicators, beta: np.ndarray, free: np.ndarray, *, steps: int
) -> tuple[np.ndarray, _State | None, bool]:
    """Up to ``steps`` Fisher-scoring steps on the parameters ``free``; whether they converged.

    Steps use the Fisher information as curvature, are capped at 5 (as R's ``logistf``)
    and halved until the penalised likelihood strictly rises (accepting ties lets the
    iteration cycle between two points). Converged when a step would move no estimate
    by 1e-9, or when no fraction of it raises the penalised likelihood (the maximum, to
    rounding).
    """
    st = _state(y, design, beta)
    if st is None:
        return beta, None, False
    X = design.dense()
    for _ in range(steps):
        try:
            grad = _modified_score(y, X, st)
            step = np.zeros_like(beta)
            step[free] = np.linalg.solve(st.info[np.ix_(free, free)], grad[free])
        except np.linalg.LinAlgError:
            return beta, None, False
        big = float(np.max(np.abs(step), initial=0.0))
        if big < 1e-9:
            return beta, st, True
        step *= min(1.0, 5.0 / big)
        t = 1.0
        for _ in range(30):
            st_new = _state(y, design, beta + t * step)
            if st_new is not None and st_new.pll > st.pll:
                break
            t /= 2
        else:
            return beta, st, big < 1e-4
        beta, st = beta + t * step, st_new
    return beta, st, False


def _maximise(
    y: np.ndarray, design: Indicators, beta: np.ndarray, free: np.ndarray, *, steps: int, gtol: float
) -> tuple[np.ndarray, _State | None, bool]:
    """Maximise the penalised log-likelihood over ``free`` (the other parameters stay as in ``beta``).

    A few Fisher-scoring steps (:func:`_scoring`) make the large moves; where they have
    not converged (scoring converges only linearly along a separated level, whose
    curvature comes from the penalty), BFGS finishes, started with the inverse Fisher
    information as its inverse Hessian, until the largest gradient is below ``gtol``.
    """
    beta, st, done = _scoring(y, design, beta, free, steps=steps)
    if st is None or done:
        return beta, st, done
    X = design.dense()

    def negative(r: np.ndarray) -> tuple[float, np.ndarray]:
        b = beta.copy()
        b[free] = r
        s = _state(y, design, b)
        if s is None:
            return np.inf, np.zeros_like(r)
        return -s.pll, -_modified_score(y, X, s)[free]

    h0 = np.linalg.inv(st.info[np.ix_(free, free)])
    res = optimize.minimize(
        negative,
        beta[free],
        jac=True,
        method="BFGS",
        options={"gtol": gtol, "maxiter": 500, "hess_inv0": (h0 + h0.T) / 2},
    )
    out = beta.copy()
    out[free] = res.x
    st = _state(y, design, out)
    if st is None:
        return out, None, False
    return out, st, float(np.max(np.abs(_modified_score(y, X, st)[free]), initial=0.0)) < 10 * gtol


def fit_firth(y: np.ndarray, design: Indicators, *, maxiter: int = 100) -> FirthFit | None:
    """Firth's penalised-likelihood logistic regression (maximises ``llf + log|X'WX| / 2``).

    The penalty is Jeffreys' prior: it removes the first-order bias of the estimates and
    keeps them finite when a level has no events (or only events), where maximum
    likelihood is infinite. ``maxiter`` Fisher-scoring steps at most, then BFGS
    (:func:`_maximise`). Returns ``None`` when the design is singular.
    """
    k = design.k
    beta, st, converged = _maximise(y, design, np.zeros(k), np.ones(k, dtype=bool), steps=maxiter, gtol=1e-8)
    if st is None:
        return None
    bse = np.sqrt(np.diag(np.linalg.inv(st.info)))
    return FirthFit(
        params=beta,
        bse=bse,
        llf=st.llf,
        aic=2.0 * k - 2.0 * st.llf,
        penalised_llf=st.pll,
        mle_retvals={"converged": converged},
        y=y,
        design=design,
    )


def profile_interval(fit: FirthFit, j: int, *, level: float = 0.95) -> tuple[float, float, float]:
    """Profile penalised-likelihood interval and p value of coefficient ``j`` of a Firth fit.

    The limits are the values ``b`` where ``2 (pll_max - pll_j(b)) = chi2_1(level)``,
    ``pll_j(b)`` being the penalised log-likelihood maximised with coefficient ``j`` fixed
    at ``b`` (the penalty of the full model, as R's ``logistf``); the p value is the
    penalised likelihood-ratio test of ``b = 0``. A limit not reached within 64 log-odds
    of the estimate is infinite.
    """
    free = np.ones(fit.design.k, dtype=bool)
    free[j] = False
    target = fit.penalised_llf - float(stats.chi2.ppf(level, 1)) / 2
    # warm start: the last solution, moved along the first-order path of the others as beta_j changes
    info = _state(fit.y, fit.design, fit.params).info  # type: ignore[union-attr]  # the fit's own estimates
    slope = np.zeros(fit.design.k)
    slope[free] = -np.linalg.solve(info[np.ix_(free, free)], info[free, j])
    last = fit.params.copy()

    def gap(b: float) -> float:
        beta = last + slope * (b - last[j])
        beta[j] = b
        beta, st, _ = _maximise(fit.y, fit.design, beta, free, steps=2, gtol=1e-5)
        if st is None:
            return -np.inf
        last[:] = beta
        return float(st.pll - target)

    bj = float(fit.params[j])
    limits = []
    for side in (-1.0, 1.0):
        last[:] = fit.params
        width = max(2.0 * float(fit.bse[j]), 0.1)  # the Wald limit is usually near
        while width <= 64 and gap(bj + side * width) > 0:
            width *= 2
        if width > 64:
            limits.append(side * np.inf)
            continue
        a, b = sorted((bj, bj + side * width))
        limits.append(float(optimize.brentq(gap, a, b, xtol=1e-4)))
    last[:] = fit.params
    stat = max(2.0 * (fit.penalised_llf - target - gap(0.0)), 0.0)
    return limits[0], limits[1], float(stats.chi2.sf(stat, 1))


# --------------------------------------------------------------------------- one entry point

#: How a model was fitted.
MAXIMUM_LIKELIHOOD = "maximum likelihood"
FIRTH = "Firth penalised likelihood"

#: How an odds ratio's interval was computed.
WALD = "Wald"
PROFILE = "profile penalised likelihood"

#: At most this many profile intervals per fit (about 25 penalised refits each).
MAX_PROFILED = 12


@dataclass
class Fit:
    """A fit as :mod:`geo.analysis.models` reports it: estimates, Wald standard errors, likelihood, notes.

    ``profiled`` maps a design column to its profile penalised-likelihood ``(lo, hi, p)``
    on the log-odds scale (Firth fits only).
    """

    params: np.ndarray
    bse: np.ndarray
    llf: float
    aic: float
    converged: bool
    method: str
    notes: list[str]
    profiled: dict[int, tuple[float, float, float]] = field(default_factory=dict)


def fit_outcome(y: np.ndarray, design: Indicators, *, firth: bool, profile: list[int], maxiter: int) -> Fit | None:
    """Maximum likelihood (:func:`fit_logit`), or Firth's fit with ``firth`` or when maximum likelihood diverges.

    ``profile``: design columns whose interval and p value come from
    :func:`profile_interval` when the fit is Firth's. statsmodels' warnings become notes.
    Returns ``None`` when the design is singular.
    """
    res: LogitFit | FirthFit | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if not firth:
            res = fit_logit(y, design, maxiter=maxiter)
    notes = [f"statsmodels: {str(w.message).splitlines()[0]}" for w in caught]
    if res is None and not firth:
        notes.append("maximum likelihood diverges (some categories together separate the outcome): Firth's fit used")
    if res is None:
        res = fit_firth(y, design, maxiter=max(maxiter, 100))
    if res is None:
        return None
    converged = bool(res.mle_retvals.get("converged", False))
    if not converged:
        notes.append(f"the fit did not converge in {maxiter} iterations; treat the estimates with caution")
    bse = np.asarray(res.bse, dtype=float)
    if not np.all(np.isfinite(bse)):
        notes.append("some standard errors are not finite (near-collinear categories)")
    out = Fit(
        params=np.asarray(res.params, dtype=float),
        bse=bse,
        llf=float(res.llf),
        aic=float(res.aic),
        converged=converged,
        method=MAXIMUM_LIKELIHOOD,
        notes=notes,
    )
    if isinstance(res, FirthFit):
        out.method = FIRTH
        out.profiled = {j: profile_interval(res, j) for j in profile[:MAX_PROFILED]}
        if len(profile) > MAX_PROFILED:
            notes.append(
                f"{len(profile)} levels have stops that all share one outcome: profile intervals for the first "
                f"{MAX_PROFILED} only (each costs dozens of refits); the others' Wald intervals are unreliable"
            )
    return out
