"""Markov chains of spatial classes: how often a unit stays in, or moves between, classes from year to year.

- :func:`transition_counts` and :func:`conditional_transition_counts`: our own counting of the
  moves ``state(i, t) -> state(i, t + 1)`` of a units x years array of class codes, optionally split
  by a condition of the unit in year ``t`` (e.g. the class of its neighbours: Rey's spatial Markov).
- :func:`transition_probabilities`: the maximum-likelihood matrix, each row divided by its total.
- :func:`lisa_markov`: the LISA Markov chain (Rey 2001) of the scatterplot quadrants, with giddy's
  ``LISA_Markov`` beside it: its transition counts (which must equal ours) and its chi-square test
  that a unit's own moves and its neighbours' moves are independent.
- :func:`spatial_markov`: Rey's spatial Markov chain of quantile classes conditioned on the class of
  the spatial lag, with giddy's ``Spatial_Markov`` beside it and the homogeneity tests it reports
  (Bickenbach and Bode's Q and the likelihood ratio LR: do the transition matrices differ by the
  neighbours' class?) and the sum of the chi-squares of each conditional matrix against the overall one.

Why our own counting: it is a few lines, it works for any class coding (significant LISA clusters,
"has a hot neighbour"), and the library stays the oracle for the standard chains
(``tests/stats/test_markov.py`` counts a tiny series by hand too). giddy imports quantecon and
numba (seconds at import), so it is imported inside the functions only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geo.errors import ValueDomainError
from geo.stats.weights import SpatialWeights

__all__ = [
    "QUADRANT_NAMES",
    "transition_counts",
    "conditional_transition_counts",
    "transition_probabilities",
    "quantile_classes",
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


def _giddy_w(weights: SpatialWeights) -> object:
    """A row-standardised libpysal ``W`` of the weights (giddy's input)."""
    from libpysal.weights import WSP

    w = WSP(weights.matrix("R"), id_order=list(weights.ids)).to_W(silence_warnings=True)
    w.transform = "r"
    return w


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
        ``(4, 4)`` our counts, rows and columns in :data:`QUADRANT_NAMES` order.
    probabilities
        Row-normalised ``transitions``.
    giddy_transitions
        giddy's ``LISA_Markov.transitions`` of the same values and weights.
    expected
        giddy's ``expected_t``: the counts expected if own and neighbours' moves were independent.
    chi2, chi2_p, chi2_dof
        giddy's chi-square test of that independence.
    agrees
        Whether our counts equal giddy's.
    """

    transitions: np.ndarray
    probabilities: np.ndarray
    giddy_transitions: np.ndarray
    expected: np.ndarray
    chi2: float
    chi2_p: float
    chi2_dof: int
    agrees: bool


def lisa_markov(y: npt.ArrayLike, weights: SpatialWeights, quadrants: npt.ArrayLike) -> LisaMarkovResult:
    """LISA Markov chain: our counts of the quadrant moves, and giddy's ``LISA_Markov`` of the same values.

    Parameters
    ----------
    y
        ``(units, years)`` values, complete, in the order of ``weights``.
    weights
        Spatial weights of the units (row-standardised for giddy); no islands.
    quadrants
        ``(units, years)`` quadrants 1 HH, 2 LH, 3 LL, 4 HL (our ``lisa_quadrant`` of each year).
    """
    from giddy.markov import LISA_Markov

    v = _complete(y, weights)
    q = np.asarray(quadrants)
    if q.shape != v.shape:
        raise ValueDomainError(f"quadrants and y differ in shape: {q.shape} vs {v.shape}")
    ours = transition_counts(q.astype(np.int64) - 1, k=4)
    with np.errstate(divide="ignore", invalid="ignore"):  # giddy divides by each unit's mean: 0/0 for all-zero units
        lm = LISA_Markov(v, _giddy_w(weights))
    theirs = np.asarray(lm.transitions, dtype=float)
    stat, p, dof = lm.chi_2
    return LisaMarkovResult(
        transitions=ours,
        probabilities=transition_probabilities(ours),
        giddy_transitions=theirs,
        expected=np.asarray(lm.expected_t, dtype=float),
        chi2=float(stat),
        chi2_p=float(p),
        chi2_dof=int(dof),
        agrees=bool(np.array_equal(ours, theirs)),
    )


@dataclass(frozen=True)
class SpatialMarkovResult:
    """Rey's spatial Markov chain of pooled quantile classes conditioned on the neighbours' class.

    Attributes
    ----------
    k, m
        Classes of the value and of its spatial lag.
    cutoffs, lag_cutoffs
        Inner cutoffs of the pooled quantile classes (ours; giddy's are the same rule).
    transitions
        ``(k, k)`` overall counts (ours).
    conditional
        ``(m, k, k)`` our counts by the lag's class in the starting year.
    probabilities, conditional_probabilities
        Row-normalised ``transitions`` and ``conditional``.
    giddy_conditional
        giddy's ``Spatial_Markov.T``.
    q, q_p, lr, lr_p, dof
        giddy's homogeneity tests (Bickenbach and Bode's Q, the likelihood ratio) and their degrees of freedom.
    x2, x2_p, x2_dof
        giddy's summed chi-square of each conditional matrix against the overall one.
    agrees
        Whether our classes and conditional counts equal giddy's.
    """

    k: int
    m: int
    cutoffs: np.ndarray
    lag_cutoffs: np.ndarray
    transitions: np.ndarray
    conditional: np.ndarray
    probabilities: np.ndarray
    conditional_probabilities: np.ndarray
    giddy_conditional: np.ndarray
    q: float
    q_p: float
    lr: float
    lr_p: float
    dof: int
    x2: float
    x2_p: float
    x2_dof: int
    agrees: bool


def spatial_markov(y: npt.ArrayLike, weights: SpatialWeights, *, k: int = 4, m: int = 4) -> SpatialMarkovResult:
    """Spatial Markov chain of ``y`` (pooled quantile classes, conditioned on the lag's pooled classes).

    The lag is the row-standardised average of the neighbours' values in the same year.
    Pass relative values (each year divided by its mean) to follow units against the
    city rather than the city's overall rise or fall.

    Raises
    ------
    ValueDomainError
        Incomplete values, islands, or too many equal values for ``k`` (or ``m``) classes.
    """
    from giddy.markov import Spatial_Markov

    v = _complete(y, weights)
    cls, cut = quantile_classes(v, k)
    lag = np.column_stack([weights.matrix("R") @ v[:, t] for t in range(v.shape[1])])
    lcls, lcut = quantile_classes(lag, m)
    ours = conditional_transition_counts(cls, lcls, k=k, m=m)
    overall = transition_counts(cls, k=k)
    sm = Spatial_Markov(v, _giddy_w(weights), k=k, m=m, fixed=True)
    theirs = np.asarray(sm.T, dtype=float)
    agrees = bool(
        np.array_equal(cls, sm.class_ids) and np.array_equal(lcls, sm.lclass_ids) and np.array_equal(ours, theirs)
    )
    return SpatialMarkovResult(
        k=k,
        m=m,
        cutoffs=cut,
        lag_cutoffs=lcut,
        transitions=overall,
        conditional=ours,
        probabilities=transition_probabilities(overall),
        conditional_probabilities=transition_probabilities(ours),
        giddy_conditional=theirs,
        q=float(sm.Q),
        q_p=float(sm.Q_p_value),
        lr=float(sm.LR),
        lr_p=float(sm.LR_p_value),
        dof=int(sm.dof_hom),
        x2=float(sm.x2),
        x2_p=float(sm.x2_pvalue),
        x2_dof=int(sm.x2_dof),
        agrees=agrees,
    )
