"""Multivariable logistic regressions of stop outcomes (search, arrest).

Each model regresses one outcome on driver race, driver ethnicity, driver gender, age
band, reason for stop, division, month, officer race, officer gender and officer
years-of-service band, all as categorical terms (treatment coding). Results are odds
ratios with 95 % intervals, the number of stops used and every row left out with its reason.

Modelling choices
-----------------
- **Month**: one level per calendar month, reference the first (with both outcomes): it absorbs any
  month-to-month change (the 2020 pandemic months included) without assuming a shape.
- **Officer years of service** enters as its band (reference 0-4), so the effect need not be linear.
- **Race and ethnicity** enter as recorded: ``driver_race`` (reference ``reference``,
  White by default) and ``driver_ethnicity`` (reference Non-Hispanic). Other terms use their
  most common level with both outcomes as reference; the reference of every term is reported.
- **Rows left out, with reasons** (each counted once, under its first reason): unknown
  outcome, driver age outside 15-100 or missing, officer years of service missing.
  ``n_input == n_used + dropped["rows"].sum()``. No other row is left out.
- **Levels whose stops all share one outcome** (e.g. drivers 65-100 with no arrest in
  one division) have an infinite maximum-likelihood odds ratio. They stay in the model:
  the model is then fitted by Firth's penalised likelihood (Firth 1993), which gives
  them finite, shrunken odds ratios; their intervals and p values are profile
  penalised-likelihood ones (Heinze and Schemper 2002). ``ModelResult.method`` and
  ``ModelResult.separated`` say so, and :func:`geo.caveats.model_fit_note` says it in words.
- A term with a single level in the rows used (e.g. ``driver_gender`` when the filter
  keeps only female drivers) is left out of the model and reported.

Fitting
-------
The terms are coded once (:func:`build_design`) and shared by both models; the fits are
those of :mod:`geo.analysis._logit` (a NumPy Newton-Raphson on the indicator design,
confirmed by statsmodels ``Logit``, which supplies Wald standard errors, z and p values;
or Firth's fit). Parameter names follow patsy's, so a maximum-likelihood result equals
``statsmodels.formula.api.logit(result.formula, data=result.model_frame())``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from geo.analysis._logit import FIRTH, MAXIMUM_LIKELIHOOD, PROFILE, WALD, Fit, Indicators, fit_outcome
from geo.analysis.disparity import DEFAULT_REFERENCE, PreparedStops, filtered, outcome_flags
from geo.errors import EmptyInputError, SchemaError, ValueDomainError
from geo.layers.filters import StopFilter
from geo.stats.significance import Z95
from geo.vocab import AGE_FLAGGED, AGE_MAX, AGE_MIN, AGE_MISSING, OTHER

__all__ = [
    "TERMS",
    "MAXIMUM_LIKELIHOOD",
    "FIRTH",
    "WALD",
    "PROFILE",
    "Design",
    "build_design",
    "ModelResult",
    "fit_model",
    "fit_models",
]


ModelOutcome = Literal["search", "arrest"]


#: Terms of every model, in order.
TERMS: tuple[str, ...] = (
    "driver_race",
    "driver_ethnicity",
    "driver_gender",
    "age_band",
    "reason",
    "division",
    "month",
    "officer_race",
    "officer_gender",
    "officer_years_band",
)


#: Preferred reference level per term, as in the rate tables (the most common level is used when absent).
_PREFERRED_REFERENCE = {t: DEFAULT_REFERENCE[t] for t in ("driver_ethnicity", "officer_years_band", "officer_race")}


@dataclass
class Design:
    """Category codes of the model terms for one filtered stops frame, built once.

    Attributes
    ----------
    stops
        The filtered stops.
    codes
        Term -> integer code per stop (index into ``levels[term]``).
    levels
        Term -> level names (category order; month as ``"YYYY-MM"``).
    base_drop
        ``(reason, mask)`` pairs for rows every model leaves out (age, officer years).
    where
        The filter in words.
    """

    stops: pd.DataFrame
    codes: dict[str, np.ndarray]
    levels: dict[str, list[str]]
    base_drop: list[tuple[str, np.ndarray]]
    where: str
    _indicators: Indicators | None = field(default=None, repr=False)


def build_design(stops: pd.DataFrame, *, filters: StopFilter | None = None) -> Design:
    """Prepare the model terms of ``stops`` (after ``filters``) once, for both models.

    Raises
    ------
    SchemaError
        A model column is missing.
    EmptyInputError
        The stops (or the filter) leave no rows.
    """
    if not isinstance(stops, pd.DataFrame):
        raise TypeError(f"stops must be a pandas DataFrame, not {type(stops).__name__}.")
    needed = [t for t in TERMS if t != "month"] + ["month", "searched", "result"]
    missing = [c for c in needed if c not in stops.columns]
    if missing:
        raise SchemaError(f"The stops frame is missing column(s) {', '.join(missing)} needed by the models.")
    data, where = filtered(stops, filters)
    prep = PreparedStops(data)
    codes: dict[str, np.ndarray] = {}
    levels: dict[str, list[str]] = {}
    for term in TERMS:
        codes[term], levels[term] = prep.codes(term)
    age = np.isin(np.asarray(levels["age_band"], dtype=object)[codes["age_band"]], (AGE_FLAGGED, AGE_MISSING))
    yrs = np.asarray(levels["officer_years_band"], dtype=object)[codes["officer_years_band"]] == AGE_MISSING
    if "officer_years" in data:
        yrs = yrs | data["officer_years"].isna().to_numpy(dtype=bool)
    base_drop = [
        (f"driver age outside {AGE_MIN}-{AGE_MAX} or missing (flagged by the loader)", age),
        ("officer years of service missing", yrs),
    ]
    return Design(stops=data, codes=codes, levels=levels, base_drop=base_drop, where=where)


@dataclass
class ModelResult:
    """A fitted outcome model.

    Attributes
    ----------
    outcome
        ``search`` or ``arrest``.
    formula
        The patsy formula of the same model (for ``statsmodels.formula.api.logit``).
    odds_ratios
        One row per non-reference level: ``term, level, reference, odds_ratio, lo, hi,
        coef, se, z, p_value, n`` (stops at that level), ``events``, ``name`` and
        ``interval`` (:data:`WALD`, or :data:`PROFILE` for the levels in ``separated``
        and the other levels of a term whose reference is in it: their ``lo``, ``hi``
        and ``p_value`` come from the profile penalised likelihood).
    params, bse
        Coefficients and standard errors (log odds), named as patsy names them.
    n_input
        Stops after the filter.
    n_used
        Stops in the fit.
    events
        Stops with the outcome among those used.
    dropped
        ``reason, rows``: every row left out, each under its first reason.
    terms_left_out
        Term -> why it is not in the model.
    references
        Term -> reference level.
    notes
        Convergence messages and warnings, events per parameter, filter.
    converged
        Whether the iterations converged.
    method
        :data:`MAXIMUM_LIKELIHOOD`, or :data:`FIRTH` when a level's stops all share one
        outcome (its maximum-likelihood odds ratio would be 0 or infinite) or maximum
        likelihood diverges.
    separated
        Those levels, each with its stops and why (e.g. ``"age_band = '65-100': no
        arrests among its 143 stops"``); they stay in the model.
    llf, llnull, pseudo_r2, aic
        Log-likelihood, null log-likelihood, McFadden's pseudo R², AIC.
    seconds
        Time to build the matrix and fit.
    """

    outcome: ModelOutcome
    formula: str
    odds_ratios: pd.DataFrame
    params: pd.Series
    bse: pd.Series
    n_input: int
    n_used: int
    events: int
    dropped: pd.DataFrame
    terms_left_out: dict[str, str]
    references: dict[str, str]
    notes: list[str]
    converged: bool
    method: str
    separated: list[str]
    llf: float
    llnull: float
    pseudo_r2: float
    aic: float
    seconds: float
    _design: Design = field(repr=False)
    _rows: np.ndarray = field(repr=False)
    _terms: list[str] = field(repr=False)

    def model_frame(self) -> pd.DataFrame:
        """The rows used, with ``y`` (0/1) and each term as a categorical of its used levels.

        ``statsmodels.formula.api.logit(self.formula, data=self.model_frame())`` fits
        the same model.
        """
        d = self._design
        out = {"y": self._y.astype(float)}
        for t in self._terms:
            lv = d.levels[t]
            codes = d.codes[t][self._rows]
            used = np.unique(codes)
            out[t] = pd.Categorical.from_codes(np.searchsorted(used, codes), categories=[lv[i] for i in used])
        return pd.DataFrame(out)

    @property
    def _y(self) -> np.ndarray:
        y, _ = outcome_flags(self._design.stops, self.outcome)
        used: np.ndarray = y[self._rows]
        return used

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (odds ratios, counts, drops, notes)."""
        return {
            "outcome": self.outcome,
            "formula": self.formula,
            "n_input": self.n_input,
            "n_used": self.n_used,
            "events": self.events,
            "converged": self.converged,
            "method": self.method,
            "separated": self.separated,
            "pseudo_r2": self.pseudo_r2,
            "dropped": self.dropped.to_dict(orient="records"),
            "terms_left_out": self.terms_left_out,
            "references": self.references,
            "notes": self.notes,
            "odds_ratios": self.odds_ratios.to_dict(orient="records"),
        }


#: Outcome -> the words its messages use: (events, "was ...").
_EVENT_WORDS = {"search": ("searches", "searched"), "arrest": ("arrests", "arrested")}


def fit_model(
    stops: pd.DataFrame | None = None,
    *,
    outcome: ModelOutcome = "search",
    reference: str = "White",
    filters: StopFilter | None = None,
    design: Design | None = None,
    min_rows: int = 100,
    maxiter: int = 50,
) -> ModelResult:
    """Fit the logistic regression of ``outcome`` on every term of :data:`TERMS`.

    Parameters
    ----------
    stops
        The clean stops frame (not needed when ``design`` is given).
    outcome
        ``"search"`` or ``"arrest"``.
    reference
        Reference level of ``driver_race``.
    filters
        Which stops to use (ignored when ``design`` is given: it is already filtered).
    design
        A :func:`build_design` result to reuse (both models share it).
    min_rows
        Fewer usable rows than this (or than the number of parameters) raise
        :class:`EmptyInputError`.
    maxiter
        Newton iterations allowed.

    Returns
    -------
    ModelResult

    Raises
    ------
    EmptyInputError
        The filter leaves too few rows to fit.
    ValueDomainError
        No events (or only events) in the rows used; ``reference`` absent; singular
        design (collinear categories).
    """
    t0 = time.perf_counter()
    if design is None:
        if stops is None:
            raise TypeError("fit_model needs stops or a design.")
        design = build_design(stops, filters=filters)
    if outcome not in _EVENT_WORDS:
        raise ValueDomainError(f"Unknown model outcome {outcome!r}; allowed: 'search', 'arrest'.")
    y_all, valid = outcome_flags(design.stops, outcome)
    kept = _usable_rows(design, y_all, valid, outcome=outcome)
    rows = np.flatnonzero(kept.keep)
    y = y_all[rows]
    events = int(y.sum())
    _require_variation(kept, len(rows), events, outcome=outcome, where=design.where)
    coding = _code_terms(design, rows, y, outcome=outcome, reference=reference)
    if len(rows) < max(min_rows, coding.k + 1):
        raise EmptyInputError(
            f"Too few stops for the {outcome} model ({design.where}): {len(rows):,} usable rows for {coding.k} "
            f"parameters (at least {max(min_rows, coding.k + 1):,} needed). Widen the filter."
        )
    separated = coding.separated
    fit = _fit(
        y, _indicators(design, rows, coding), coding, separated, outcome=outcome, where=design.where, maxiter=maxiter
    )
    notes = [f"filter: {design.where}"]
    if events < 10 * coding.k:
        notes.append(
            f"only {events:,} {_EVENT_WORDS[outcome][0]} for {coding.k} parameters (fewer than 10 per parameter): "
            "estimates are unstable"
        )
    notes += fit.notes
    llnull = _null_loglike(events, len(rows))
    return ModelResult(
        outcome=outcome,
        formula="y ~ " + " + ".join(f"C({t}, Treatment({coding.refs[t]!r}))" for t in coding.terms),
        odds_ratios=_odds_ratio_table(design, rows, y, coding, fit),
        params=pd.Series(fit.params, index=coding.names),
        bse=pd.Series(fit.bse, index=coding.names),
        n_input=len(design.stops),
        n_used=len(rows),
        events=events,
        dropped=pd.DataFrame(kept.drops, columns=["reason", "rows"]),
        terms_left_out=coding.left_out,
        references=coding.refs,
        notes=notes,
        converged=fit.converged,
        method=fit.method,
        separated=[d for _, _, d in separated],
        llf=fit.llf,
        llnull=llnull,
        pseudo_r2=float(1 - fit.llf / llnull) if llnull else float("nan"),
        aic=fit.aic,
        seconds=time.perf_counter() - t0,
        _design=design,
        _rows=rows,
        _terms=coding.terms,
    )


@dataclass
class _Kept:
    """The rows still in a model, and every reason (with its count) a row was left out."""

    keep: np.ndarray
    drops: list[tuple[str, int]] = field(default_factory=list)

    def drop(self, reason: str, mask: np.ndarray) -> None:
        """Leave out the kept rows in ``mask``, counted under ``reason`` (if there are any)."""
        hit = self.keep & mask
        k = int(hit.sum())
        if k:
            self.drops.append((reason, k))
            self.keep[hit] = False


def _usable_rows(design: Design, y_all: np.ndarray, valid: np.ndarray, *, outcome: ModelOutcome) -> _Kept:
    """Leave out rows with an unknown outcome and the design's base drops (each counted under its reason)."""
    kept = _Kept(np.ones(len(design.stops), dtype=bool))
    kept.drop(
        "search flag not Yes/No (outcome unknown)" if outcome == "search" else f"result '{OTHER}' (outcome unknown)",
        ~valid,
    )
    for reason, mask in design.base_drop:
        kept.drop(reason, mask)
    return kept


def _require_variation(kept: _Kept, n_rows: int, n_events: int, *, outcome: ModelOutcome, where: str) -> None:
    """Raise unless the rows left hold both stops with and stops without the outcome."""
    if n_rows == 0:
        raise EmptyInputError(
            f"No stops left for the {outcome} model ({where}): "
            + "; ".join(f"{r}: {k:,}" for r, k in kept.drops)
            + ". Widen the filter."
        )
    if n_events == 0 or n_events == n_rows:
        raise ValueDomainError(
            f"The {outcome} model cannot be fitted: {'none' if n_events == 0 else 'every one'} of the {n_rows:,} "
            f"usable stops ({where}) was {_EVENT_WORDS[outcome][1]}, so there is nothing to compare. "
            "Widen the filter."
        )


@dataclass
class _Coding:
    """The terms in a model, their reference levels and the design column of every other level.

    ``colmaps[term][level]`` is the design column of a level (-1 for the reference and
    levels absent from the rows); ``names`` are patsy's names of the columns
    (``Intercept`` first) and ``col_term`` the ``(term, level)`` of each after it;
    ``separated`` the ``(term, level, description)`` of levels whose stops share one outcome.
    """

    terms: list[str] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    colmaps: dict[str, np.ndarray] = field(default_factory=dict)
    names: list[str] = field(default_factory=lambda: ["Intercept"])
    col_term: list[tuple[str, str]] = field(default_factory=list)
    separated: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def k(self) -> int:
        """Number of parameters (columns of the design, the intercept included)."""
        return len(self.names)

    def add(self, term: str, levels: list[str], ref: int, present: np.ndarray) -> None:
        """Add ``term`` with reference level ``ref``: one column per other level ``present``."""
        self.refs[term] = levels[ref]
        cmap = np.full(len(levels), -1, dtype=np.int64)
        label = f"C({term}, Treatment({levels[ref]!r}))"
        for i in present:
            if i != ref:
                cmap[i] = len(self.names)
                self.names.append(f"{label}[T.{levels[i]}]")
                self.col_term.append((term, levels[i]))
        self.colmaps[term] = cmap
        self.terms.append(term)


def _code_terms(design: Design, rows: np.ndarray, y: np.ndarray, *, outcome: ModelOutcome, reference: str) -> _Coding:
    """Code every term of :data:`TERMS` on ``rows``; a term with a single level there is left out, named.

    Levels whose stops all share one outcome are recorded in ``coding.separated``; an
    automatic reference level avoids them where another level has both outcomes.
    """
    coding = _Coding()
    plural, verb = _EVENT_WORDS[outcome]
    for term in TERMS:
        lv = design.levels[term]
        c = design.codes[term][rows]
        n_at = np.bincount(c, minlength=len(lv))
        e_at = np.bincount(c[y], minlength=len(lv))
        present = np.flatnonzero(n_at > 0)
        if len(present) < 2:
            only = lv[present[0]] if len(present) else "none"
            coding.left_out[term] = f"a single level ('{only}') in the rows used"
            continue
        varied = (e_at > 0) & (e_at < n_at)
        for i in np.flatnonzero((n_at > 0) & ~varied):
            what = f"no {plural}" if e_at[i] == 0 else f"every stop {verb}"
            coding.separated.append((term, lv[i], f"{term} = '{lv[i]}': {what} among its {n_at[i]:,} stops"))
        ok = n_at * varied if varied.any() else n_at  # a reference with both outcomes where there is one
        ref = _reference_level(term, lv, n_at, ok, outcome=outcome, reference=reference, where=design.where)
        coding.add(term, lv, ref, present)
    return coding


def _reference_level(
    term: str, levels: list[str], n_at: np.ndarray, ok: np.ndarray, *, outcome: ModelOutcome, reference: str, where: str
) -> int:
    """The reference level of ``term``: ``reference`` for driver race, else the first month, or the preferred or commonest level.

    Months and levels are chosen among those with ``ok > 0`` (their stops; 0 for levels to avoid).
    """
    if term == "driver_race":
        if reference not in levels:
            raise ValueDomainError(f"Reference {reference!r} is not a driver_race level; allowed: {', '.join(levels)}.")
        ref = levels.index(reference)
        if n_at[ref] == 0:
            raise ValueDomainError(
                f"Reference driver race {reference!r} has no stops among the rows used for the {outcome} model "
                f"({where}); levels present: {', '.join(levels[i] for i in np.flatnonzero(n_at > 0))}. "
                "Choose another reference."
            )
        return ref
    if term == "month":
        return int(np.flatnonzero(ok > 0)[0])
    preferred = _PREFERRED_REFERENCE.get(term)
    if preferred in levels and ok[levels.index(preferred)] > 0:
        return levels.index(preferred)
    return int(np.argmax(ok))


def _indicators(design: Design, rows: np.ndarray, coding: _Coding) -> Indicators:
    """The indicator design of ``rows``; reused from the design's last model when it has the same columns."""
    k = coding.k
    cols = np.empty((len(rows), len(coding.terms) + 1), dtype=np.int64)
    cols[:, 0] = 0
    for j, term in enumerate(coding.terms, start=1):
        c = coding.colmaps[term][design.codes[term][rows]]
        cols[:, j] = np.where(c >= 0, c, k)  # the reference level -> the dummy column k
    cached = design._indicators
    if cached is not None and cached.k == k and cached.cols.shape == cols.shape and np.array_equal(cached.cols, cols):
        return cached  # the other model used the same rows and columns: reuse its index arrays
    design._indicators = Indicators(cols, k)
    return design._indicators


def _fit(
    y: np.ndarray,
    indicators: Indicators,
    coding: _Coding,
    separated: list[tuple[str, str, str]],
    *,
    outcome: ModelOutcome,
    where: str,
    maxiter: int,
) -> Fit:
    """Maximum likelihood, or Firth's fit (with profile intervals for the rescued levels) when a level is separated."""
    fit = fit_outcome(
        y.astype(float), indicators, firth=bool(separated), profile=_rescued_columns(coding, separated), maxiter=maxiter
    )
    if fit is None:
        raise ValueDomainError(
            f"The {outcome} model cannot be fitted ({where}): the design is singular "
            "(some categories coincide, e.g. one officer group only in one division). Widen the filter."
        )
    return fit


def _rescued_columns(coding: _Coding, separated: list[tuple[str, str, str]]) -> list[int]:
    """Design columns of the separated levels, and every column of a term whose reference level is separated."""
    hit = {(t, lv) for t, lv, _ in separated}
    bad_ref = {t for t, lv, _ in separated if coding.refs.get(t) == lv}
    return [j for j, ct in enumerate(coding.col_term, start=1) if ct in hit or ct[0] in bad_ref]


def _odds_ratio_table(design: Design, rows: np.ndarray, y: np.ndarray, coding: _Coding, fit: Fit) -> pd.DataFrame:
    """One row per non-reference level: odds ratio with its 95 % interval (Wald or profile), z, p and counts."""
    zval = fit.params / fit.bse
    pval = 2 * stats.norm.sf(np.abs(zval))
    n_level: dict[tuple[str, str], int] = {}  # stops and events at each (term, level) used
    e_level: dict[tuple[str, str], int] = {}
    for term in coding.terms:
        lv = design.levels[term]
        c = design.codes[term][rows]
        n_level |= {(term, name): int(v) for name, v in zip(lv, np.bincount(c, minlength=len(lv)), strict=True)}
        e_level |= {(term, name): int(v) for name, v in zip(lv, np.bincount(c[y], minlength=len(lv)), strict=True)}
    b = fit.params
    lo, hi = b - Z95 * fit.bse, b + Z95 * fit.bse
    for j, (plo, phi, p) in fit.profiled.items():
        lo[j], hi[j], pval[j] = plo, phi, p
    col_term = coding.col_term
    return pd.DataFrame(
        {
            "term": [t for t, _ in col_term],
            "level": [lv for _, lv in col_term],
            "reference": [coding.refs[t] for t, _ in col_term],
            "odds_ratio": np.exp(b[1:]),
            "lo": np.exp(lo[1:]),
            "hi": np.exp(hi[1:]),
            "coef": b[1:],
            "se": fit.bse[1:],
            "z": zval[1:],
            "p_value": pval[1:],
            "n": [n_level[ct] for ct in col_term],
            "events": [e_level[ct] for ct in col_term],
            "name": coding.names[1:],
            "interval": [PROFILE if j in fit.profiled else WALD for j in range(1, len(coding.names))],
        }
    )


def _null_loglike(events: int, n: int) -> float:
    """Log-likelihood of the intercept-only model (its maximum, in closed form)."""
    p = events / n
    return float(events * np.log(p) + (n - events) * np.log(1 - p))


def fit_models(
    stops: pd.DataFrame,
    *,
    reference: str = "White",
    filters: StopFilter | None = None,
    outcomes: tuple[ModelOutcome, ...] = ("search", "arrest"),
) -> dict[str, ModelResult]:
    """Fit the search and the arrest model on one shared design (filter applied once)."""
    design = build_design(stops, filters=filters)
    return {o: fit_model(outcome=o, reference=reference, design=design) for o in outcomes}
