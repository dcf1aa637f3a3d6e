"""Markov chains of spatial classes: how often a unit stays in, or moves between, classes from year to year.

- :func:`transition_counts` and :func:`conditional_transition_counts`: our own counting of the
  moves ``state(i, t) -> state(i, t + 1)`` of a units x years array of class codes, optionally split
  by a condition of the unit in year ``t`` (e.g. the class of its neighbours: Rey's spatial Markov).
- :func:`transition_probabilities`: the maximum-likelihood matrix, each row divided by its total.
- :func:`chi2_test`: the chi-square test of a count matrix against the row probabilities of another.
- :func:`homogeneity_test`: Bickenbach and Bode's Q and the likelihood ratio LR (do the transition
  matrices of several regimes differ?).
- :func:`lisa_markov`: the LISA Markov chain (Rey 2001) of the scatterplot quadrants and its
  chi-square test that a unit's own moves and its neighbours' moves are independent.
- :func:`spatial_markov`: Rey's spatial Markov chain of quantile classes conditioned on the class of
  the spatial lag, with the homogeneity tests and the chi-square of each conditional matrix against
  the overall one.

Every statistic is computed here with numpy and scipy, by the formulas of giddy 2.3
(``giddy.markov.LISA_Markov``, ``Spatial_Markov``, ``chi2``, ``Homogeneity_Results``);
``tests/stats/test_markov.py`` compares each number with giddy's. giddy itself is not imported:
it imports quantecon and numba (20-30 s per process). The p-values use ``scipy.stats.chi2.sf``
where giddy writes ``1 - cdf`` (the same to 1e-16, and not rounded to 0 for tiny p).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from geo.errors import ValueDomainError
from geo.stats.weights import SpatialWeights

__all__ = [
    "QUADRANT_NAMES",
    "transition_counts",
    "conditional_transition_counts",
    "transition_probabilities",
    "quantile_classes",
    "chi2_test",
    "HomogeneityTest",
    "homogeneity_test",
    "LisaMarkovResult",
    "lisa_markov",
    "SpatialMarkovResult",
    "spatial_markov",
]


#: PySAL's quadrant order (esda ``q`` and our ``lisa_quadrant``: 1 HH, 2 LH, 3 LL, 4 HL).
QUADRANT_NAMES: tuple[str, ...] = ("High-High", "Low-High", "Low-Low", "High-Low")


def _codes(states: npt.ArrayLike, k: int, what: str) -> np.ndarray:
    s = np.asarray(states)
    if s.ndim != 2 or s.shape[1] < 2:
        raise ValueDomainError(f"{what} must be a (units, years) array with at least 2 years; got shape {s.shape}")
    if not np.issubdtype(s.dtype, np.integer):
        raise ValueDomainError(f"{what} must hold integer class codes 0 .. {k - 1} (negative: missing)")
    if (s >= k).any():
        raise ValueDomainError(f"{what} has codes >= {k}; allowed 0 .. {k - 1} (negative: missing)")
    return s.astype(np.int64)


def transition_counts(states: npt.ArrayLike, *, k: int) -> np.ndarray:
    """Moves between classes from each year to the next, counted over units and years.

    Parameters
    ----------
    states
        ``(units, years)`` class codes ``0 .. k-1``; a negative code is missing and the
        moves into and out of it are not counted.
    k
        Number of classes.

    Returns
    -------
    numpy.ndarray
        ``(k, k)`` counts: row = class in year ``t``, column = class in year ``t + 1``.
    """
    s = _codes(states, k, "states")
    a, b = s[:, :-1].ravel(), s[:, 1:].ravel()
    ok = (a >= 0) & (b >= 0)
    out = np.zeros((k, k))
    np.add.at(out, (a[ok], b[ok]), 1.0)
    return out


def conditional_transition_counts(states: npt.ArrayLike, conditions: npt.ArrayLike, *, k: int, m: int) -> np.ndarray:
    """Moves between classes split by a condition of the unit in the starting year (Rey's spatial Markov).

    Parameters
    ----------
    states
        ``(units, years)`` class codes ``0 .. k-1`` (negative: missing).
    conditions
        ``(units, years)`` condition codes ``0 .. m-1`` (e.g. the class of the spatial lag);
        the condition in year ``t`` applies to the move ``t -> t + 1``.
    k, m
        Number of classes and of conditions.

    Returns
    -------
    numpy.ndarray
        ``(m, k, k)``: ``out[c, a, b]`` moves from ``a`` to ``b`` of units whose condition was ``c``.
    """
    s = _codes(states, k, "states")
    c = _codes(conditions, m, "conditions")
    if c.shape != s.shape:
        raise ValueDomainError(f"states and conditions differ in shape: {s.shape} vs {c.shape}")
    a, b, cc = s[:, :-1].ravel(), s[:, 1:].ravel(), c[:, :-1].ravel()
    ok = (a >= 0) & (b >= 0) & (cc >= 0)
    out = np.zeros((m, k, k))
    np.add.at(out, (cc[ok], a[ok], b[ok]), 1.0)
    return out


def transition_probabilities(counts: npt.ArrayLike) -> np.ndarray:
    """Each row of a ``(..., k, k)`` count array divided by its total (a row without moves stays 0, as giddy)."""
    t = np.asarray(counts, dtype=float)
    tot = t.sum(axis=-1, keepdims=True)
    out: np.ndarray = np.divide(t, tot, out=np.zeros_like(t), where=tot > 0)
    return out


def quantile_classes(values: npt.ArrayLike, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Pooled quantile classes ``0 .. k-1`` of an array (mapclassify ``Quantiles`` on the flattened values).

    A value equal to a cutoff goes to the lower class. Returns the classes (same shape) and
    the ``k - 1`` inner cutoffs.
    """
    v = np.asarray(values, dtype=float)
    if not np.isfinite(v).all():
        raise ValueDomainError("quantile classes need complete values")
    cut = np.percentile(v.ravel(), np.linspace(0, 100, k + 1)[1:-1])
    if np.unique(cut).size < cut.size:
        raise ValueDomainError(f"the {k} quantile classes collapse: too many equal values (cutoffs {cut.tolist()})")
    return np.searchsorted(cut, v, side="left").astype(np.int64), cut


def chi2_test(observed: npt.ArrayLike, reference: npt.ArrayLike) -> tuple[float, float, int]:
    """Chi-square test of a transition count matrix against the row probabilities of another (giddy ``chi2``).

    The expected counts are ``E[i, j] = n_i p[i, j]`` with ``n_i`` the row totals of ``observed`` and
    ``p`` the row-normalised ``reference``; the statistic is ``sum (O - E)^2 / E`` over the cells
    with ``E > 0`` and the degrees of freedom ``(r1 - 1)(r2 - 1)``, ``r1`` and ``r2`` the rows with
    moves in ``observed`` and ``reference``.

    Returns
    -------
    tuple
        ``(statistic, p-value, degrees of freedom)``.
    """
    t1 = np.asarray(observed, dtype=float)
    t2 = np.asarray(reference, dtype=float)
    rs1, rs2 = t1.sum(axis=1), t2.sum(axis=1)
    dof = int(((rs1 > 0).sum() - 1) * ((rs2 > 0).sum() - 1))
    expected = rs1[:, None] * (t2 / (rs2 + (rs2 == 0))[:, None])
    stat = float(((t1 - expected) ** 2 / (expected + (expected == 0))).sum())
    return stat, float(stats.chi2.sf(stat, dof)), dof


@dataclass(frozen=True)
class HomogeneityTest:
    """Bickenbach and Bode's tests that the transition matrices of ``m`` regimes are the same.

    Attributes
    ----------
    q, q_p
        The Q statistic ``sum_m sum_i n_im sum_j (p_ijm - p_ij)^2 / p_ij`` and its p-value.
    lr, lr_p
        The likelihood ratio ``2 sum n_ijm log(p_ijm / p_ij)`` (cells with ``n_ijm > 0`` and
        ``p_ij > 0``) and its p-value.
    dof
        ``sum_i (b_i - 1)(a_i - 1)``: ``b_i`` regimes with moves from class ``i``, ``a_i``
        classes reached from ``i`` in the pooled matrix.
    """

    q: float
    q_p: float
    lr: float
    lr_p: float
    dof: int


def homogeneity_test(counts: npt.ArrayLike) -> HomogeneityTest:
    """Q and LR tests of homogeneity of an ``(m, k, k)`` stack of transition counts (giddy ``homogeneity``).

    Parameters
    ----------
    counts
        ``counts[r]`` the transition counts of regime ``r`` (e.g. the neighbours' class).
    """
    m = np.asarray(counts, dtype=float)
    if m.ndim != 3 or m.shape[1] != m.shape[2]:
        raise ValueDomainError(f"homogeneity needs an (m, k, k) array of counts; got shape {m.shape}")
    pooled = m.sum(axis=0)
    p = transition_probabilities(pooled)
    p_m = transition_probabilities(m)
    n_im = m.sum(axis=2)
    q = float((n_im[:, :, None] * (p_m - p) ** 2 / (p + (p == 0))).sum())
    use = (m > 0) & (p > 0)[None]
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = float(2 * np.where(use, m * np.log(np.where(use, p_m, 1.0) / np.where(use, p, 1.0)), 0.0).sum())
    b = (n_im > 0).sum(axis=0)
    a = (pooled > 0).sum(axis=1)
    dof = int(((b - 1) * (a - 1)).sum())
    return HomogeneityTest(q=q, q_p=float(stats.chi2.sf(q, dof)), lr=lr, lr_p=float(stats.chi2.sf(lr, dof)), dof=dof)


def _lag(v: np.ndarray, weights: SpatialWeights) -> np.ndarray:
    """Row-standardised spatial lag of each year, summed before it is divided.

    ``(W @ y) / rowsum(W)`` rather than ``(W / rowsum(W)) @ y``: for binary weights and counts
    the sum is exact and a lag equal to another value (a class cutoff, the unit's own mean)
    compares as equal, not as 1e-16 below or above it.
    """
    base = weights.matrix("O")
    out: np.ndarray = np.asarray(base @ v) / np.asarray(base.sum(axis=1)).reshape(-1, 1)
    return out


def _complete(y: npt.ArrayLike, weights: SpatialWeights) -> np.ndarray:
    v = np.asarray(y, dtype=float)
    if v.ndim != 2 or v.shape[1] < 2:
        raise ValueDomainError(f"y must be a (units, years) array with at least 2 years; got shape {v.shape}")
    if v.shape[0] != weights.n:
        raise ValueDomainError(f"y has {v.shape[0]} units, the weights {weights.n}")
    if not np.isfinite(v).all():
        raise ValueDomainError("a Markov chain of the yearly values needs every unit in every year; drop gaps first")
    if weights.islands:
        raise ValueDomainError(f"{len(weights.islands)} unit(s) have no neighbour; drop them first")
    return v


@dataclass(frozen=True)
class LisaMarkovResult:
    """The LISA Markov chain of the scatterplot quadrants.

    Attributes
    ----------
    transitions
        ``(4, 4)`` counts, rows and columns in :data:`QUADRANT_NAMES` order.
    probabilities
        Row-normalised ``transitions``.
    expected
        giddy's ``expected_t``: the counts expected if own and neighbours' moves were independent.
    chi2, chi2_p, chi2_dof
        giddy's ``chi_2``: the chi-square test of that independence.
    """

    transitions: np.ndarray
    probabilities: np.ndarray
    expected: np.ndarray
    chi2: float
    chi2_p: float
    chi2_dof: int


#: giddy's ``A``: the (own, lag) low/high pairs of ``kron`` reordered as the quadrants HH, LH, LL, HL.
_QUADRANT_ORDER = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0]])


def _binary_p(low: np.ndarray) -> np.ndarray:
    """2 x 2 probabilities (index 0 = not low, 1 = low) of the moves along the columns of ``low``."""
    counts = transition_counts(low.astype(np.int64), k=2)
    return transition_probabilities(counts)


def _independence_expected(v: np.ndarray, weights: SpatialWeights, transitions: np.ndarray) -> np.ndarray:
    """The ``expected_t`` of giddy's ``LISA_Markov``: the quadrant moves if own and lag moves were independent.

    As giddy 2.3 does: each unit's value and its spatial lag are divided by the unit's mean over
    the years; "low" is a ratio below 1; two 2-state chains (own, lag) are counted on the
    ``years x units`` arrays, i.e. along the units of each year (giddy's axis, reproduced, not
    corrected); their probabilities are multiplied (``kron``) and spread over each row's total.
    """
    lag = _lag(v, weights)
    with np.errstate(divide="ignore", invalid="ignore"):  # an all-zero unit: 0/0, not low, as giddy
        mean = v.mean(axis=1, keepdims=True)
        low, lag_low = (v / mean < 1.0).T, (lag / mean < 1.0).T
    kp = _QUADRANT_ORDER @ np.kron(_binary_p(low), _binary_p(lag_low)) @ _QUADRANT_ORDER.T
    out: np.ndarray = transitions.sum(axis=1)[:, None] * kp
    return out


def lisa_markov(y: npt.ArrayLike, weights: SpatialWeights, quadrants: npt.ArrayLike) -> LisaMarkovResult:
    """LISA Markov chain: the counts of the quadrant moves and giddy's chi-square test of independence.

    Parameters
    ----------
    y
        ``(units, years)`` values, complete, in the order of ``weights``.
    weights
        Spatial weights of the units (row-standardised for the lag); no islands.
    quadrants
        ``(units, years)`` quadrants 1 HH, 2 LH, 3 LL, 4 HL (our ``lisa_quadrant`` of each year).

    Notes
    -----
    The test (giddy ``LISA_Markov.chi_2``) compares the quadrant moves with those expected if a
    unit's move between low and high (its value against its own mean over the years) were
    independent of its neighbours' move. giddy counts those two low/high chains along the
    units of each year rather than along the years of each unit; this function reproduces
    giddy's numbers exactly, so read the test as giddy's.
    """
    v = _complete(y, weights)
    q = np.asarray(quadrants)
    if q.shape != v.shape:
        raise ValueDomainError(f"quadrants and y differ in shape: {q.shape} vs {v.shape}")
    counts = transition_counts(q.astype(np.int64) - 1, k=4)
    expected = _independence_expected(v, weights, counts)
    stat, p, dof = chi2_test(counts, expected)
    return LisaMarkovResult(
        transitions=counts,
        probabilities=transition_probabilities(counts),
        expected=expected,
        chi2=stat,
        chi2_p=p,
        chi2_dof=dof,
    )


@dataclass(frozen=True)
class SpatialMarkovResult:
    """Rey's spatial Markov chain of pooled quantile classes conditioned on the neighbours' class.

    Attributes
    ----------
    k, m
        Classes of the value and of its spatial lag.
    cutoffs, lag_cutoffs
        Inner cutoffs of the pooled quantile classes.
    classes, lag_classes
        ``(units, years)`` class of each value and of its spatial lag (giddy ``class_ids``, ``lclass_ids``).
    transitions
        ``(k, k)`` overall counts.
    conditional
        ``(m, k, k)`` counts by the lag's class in the starting year (giddy ``T``).
    probabilities, conditional_probabilities
        Row-normalised ``transitions`` and ``conditional``.
    q, q_p, lr, lr_p, dof
        The homogeneity tests (:func:`homogeneity_test` of ``conditional``; giddy ``Q, Q_p_value,
        LR, LR_p_value, dof_hom``).
    chi2_by_lag
        ``(m, 3)``: :func:`chi2_test` of each conditional matrix against the overall one
        (statistic, p-value, degrees of freedom; giddy ``chi2``).
    x2, x2_p, x2_dof
        Their summed statistic, its p-value and giddy's degrees of freedom ``k (k - 1)^2``.
    """

    k: int
    m: int
    cutoffs: np.ndarray
    lag_cutoffs: np.ndarray
    classes: np.ndarray
    lag_classes: np.ndarray
    transitions: np.ndarray
    conditional: np.ndarray
    probabilities: np.ndarray
    conditional_probabilities: np.ndarray
    q: float
    q_p: float
    lr: float
    lr_p: float
    dof: int
    chi2_by_lag: np.ndarray
    x2: float
    x2_p: float
    x2_dof: int


def spatial_markov(y: npt.ArrayLike, weights: SpatialWeights, *, k: int = 4, m: int = 4) -> SpatialMarkovResult:
    """Spatial Markov chain of ``y`` (pooled quantile classes, conditioned on the lag's pooled classes).

    The lag is the row-standardised average of the neighbours' values in the same year.
    Pass relative values (each year divided by its mean) to follow units against the
    city rather than the city's overall rise or fall. The same as giddy's
    ``Spatial_Markov(y, w, k=k, m=m, fixed=True)``.

    Raises
    ------
    ValueDomainError
        Incomplete values, islands, or too many equal values for ``k`` (or ``m``) classes.
    """
    v = _complete(y, weights)
    cls, cut = quantile_classes(v, k)
    lag = _lag(v, weights)
    lcls, lcut = quantile_classes(lag, m)
    cond = conditional_transition_counts(cls, lcls, k=k, m=m)
    overall = transition_counts(cls, k=k)
    hom = homogeneity_test(cond)
    by_lag = np.array([chi2_test(cond[c], overall) for c in range(m)], dtype=float)
    x2 = float(by_lag[:, 0].sum())
    x2_dof = k * (k - 1) * (k - 1)
    return SpatialMarkovResult(
        k=k,
        m=m,
        cutoffs=cut,
        lag_cutoffs=lcut,
        classes=cls,
        lag_classes=lcls,
        transitions=overall,
        conditional=cond,
        probabilities=transition_probabilities(overall),
        conditional_probabilities=transition_probabilities(cond),
        q=hom.q,
        q_p=hom.q_p,
        lr=hom.lr,
        lr_p=hom.lr_p,
        dof=hom.dof,
        chi2_by_lag=by_lag,
        x2=x2,
        x2_p=float(stats.chi2.sf(x2, x2_dof)),
        x2_dof=x2_dof,
    )
