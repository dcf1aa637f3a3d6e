"""Multivariable logistic regressions of stop outcomes (search, arrest).

Each model regresses one outcome on driver race, driver ethnicity, driver gender, age
band, reason for stop, division, month, officer race, officer gender and officer
years-of-service band, all as categorical terms (treatment coding), with
:class:`statsmodels.discrete.discrete_model.Logit` (Newton's method). Results are
odds ratios with 95 % (Wald) intervals, the number of stops used and every dropped
row with its reason.

Modelling choices
-----------------
- **Month** is a categorical term with one level per calendar month (``"2020-01"`` ...),
  reference the first month in the data: it absorbs any month-to-month change (the
  2020 pandemic months included) without assuming a trend or a seasonal shape.
- **Officer years of service** enters as its band (0-4, 5-9, 10-14, 15-19, 20+;
  reference 0-4), so the effect need not be linear.
- **Race and ethnicity** enter as recorded: ``driver_race`` (reference: ``reference``,
  White by default) and ``driver_ethnicity`` (reference Non-Hispanic). Other terms use
  their most common level as reference; the reference of every term is reported.
- **Rows left out, with reasons** (each row counted once, under the first reason that
  applies): unknown outcome (search flag not Yes/No; result outside the known
  categories), driver age outside 15-100 or missing, officer years of service missing,
  and rows in a level with no variation in the outcome (e.g. a reason with no arrests):
  such a level's odds ratio is not estimable (its maximum-likelihood estimate is
  infinite), so its rows are set aside and named.
- A term with a single level in the rows used (e.g. ``driver_gender`` when the filter
  keeps only female drivers) is left out of the model and reported.

Fitting
-------
Every column of the design is an indicator, so the design is kept as one column index
per term and row; the terms are coded once (:func:`build_design`) and shared by both
models. A NumPy Newton-Raphson (``X'WX`` from weighted 2-D histograms of blocks of
terms, see :class:`_Indicators`; step halving) finds the estimates; statsmodels
``Logit`` then starts from them with its own Newton iterations, confirms convergence
and supplies standard errors, z and p values. If the warm start fails, statsmodels
starts from zero (then BFGS). Parameter names follow patsy's, so the result equals
``statsmodels.formula.api.logit(result.formula, data=result.model_frame())``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from geo.analysis._logit import Indicators, fit_logit
from geo.errors import EmptyInputError, SchemaError, ValueDomainError
from geo.layers.filters import StopFilter
from geo.stats.significance import Z95
from geo.vocab import AGE_FLAGGED, AGE_MAX, AGE_MIN, AGE_MISSING, OTHER

__all__ = ["TERMS", "Design", "build_design", "ModelResult", "fit_model", "fit_models"]


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


#: Preferred reference level per term (the most common level is used when absent).
_PREFERRED_REFERENCE = {"driver_ethnicity": "Non-Hispanic", "officer_years_band": "0-4", "officer_race": "White"}


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
    if len(stops) == 0:
        raise EmptyInputError("The stops frame has no rows.")
    data = filters.apply(stops) if filters is not None else stops
    codes: dict[str, np.ndarray] = {}
    levels: dict[str, list[str]] = {}
    for term in TERMS:
        if term == "month":
            m = data["month"].to_numpy().astype("datetime64[M]")
            uniq, inv = np.unique(m, return_inverse=True)
            codes[term] = inv.astype(np.int64)
            levels[term] = [str(x) for x in np.datetime_as_string(uniq, unit="M")]
        else:
            col = data[term]
            if not isinstance(col.dtype, pd.CategoricalDtype):
                col = col.astype("category")
            c = col.cat.codes.to_numpy().astype(np.int64)
            lv = [str(x) for x in col.cat.categories]
            if (c < 0).any():
                c = np.where(c < 0, len(lv), c)
                lv = [*lv, "Missing"]
            codes[term] = c
            levels[term] = lv
    age = np.isin(np.asarray(levels["age_band"], dtype=object)[codes["age_band"]], (AGE_FLAGGED, AGE_MISSING))
    yrs = np.asarray(levels["officer_years_band"], dtype=object)[codes["officer_years_band"]] == "Unknown"
    if "officer_years" in data:
        yrs = yrs | data["officer_years"].isna().to_numpy(dtype=bool)
    base_drop = [
        (f"driver age outside {AGE_MIN}-{AGE_MAX} or missing (flagged by the loader)", age),
        ("officer years of service missing", yrs),
    ]
    return Design(
        stops=data,
        codes=codes,
        levels=levels,
        base_drop=base_drop,
        where=filters.describe() if filters is not None else "all stops",
    )


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
        coef, se, z, p_value, n`` (stops at that level), ``events``.
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
        Whether Newton's method converged.
    llf, llnull, pseudo_r2, aic
        Log-likelihood, null log-likelihood, McFadden's pseudo R², AIC.
    seconds
        Time to build the matrix and fit.
    """

    outcome: str
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
        y, _ = _outcome(self._design.stops, self.outcome)
        return y[self._rows]

    def to_dict(self) -> dict:
        """JSON-ready summary (odds ratios, counts, drops, notes)."""
        return {
            "outcome": self.outcome,
            "formula": self.formula,
            "n_input": self.n_input,
            "n_used": self.n_used,
            "events": self.events,
            "converged": self.converged,
            "pseudo_r2": self.pseudo_r2,
            "dropped": self.dropped.to_dict(orient="records"),
            "terms_left_out": self.terms_left_out,
            "references": self.references,
            "notes": self.notes,
            "odds_ratios": self.odds_ratios.to_dict(orient="records"),
        }


def _outcome(stops: pd.DataFrame, outcome: str) -> tuple[np.ndarray, np.ndarray]:
    if outcome == "search":
        valid = stops["searched"].notna().to_numpy()
        y = stops["searched"].fillna(False).to_numpy(dtype=bool)
    elif outcome == "arrest":
        valid = (stops["result"] != OTHER).to_numpy()
        y = (stops["result"] == "Arrest").to_numpy()
    else:
        raise ValueDomainError(f"Unknown model outcome {outcome!r}; allowed: 'search', 'arrest'.")
    return y & valid, valid


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
    plural, verb = _EVENT_WORDS[outcome]
    data = design.stops
    n_input = len(data)
    y_all, valid = _outcome(data, outcome)

    keep = np.ones(n_input, dtype=bool)
    drops: list[tuple[str, int]] = []

    def drop(reason: str, mask: np.ndarray) -> None:
        hit = keep & mask
        k = int(hit.sum())
        if k:
            drops.append((reason, k))
            keep[hit] = False

    drop(
        "search flag not Yes/No (outcome unknown)" if outcome == "search" else f"result '{OTHER}' (outcome unknown)",
        ~valid,
    )
    for reason, mask in design.base_drop:
        drop(reason, mask)

    def no_variation(n_rows: int, n_events: int) -> None:
        if n_rows == 0:
            raise EmptyInputError(
                f"No stops left for the {outcome} model ({design.where}): "
                + "; ".join(f"{r}: {k:,}" for r, k in drops)
                + ". Widen the filter."
            )
        if n_events == 0 or n_events == n_rows:
            raise ValueDomainError(
                f"The {outcome} model cannot be fitted: {'none' if n_events == 0 else 'every one'} of the {n_rows:,} "
                f"usable stops ({design.where}) was {verb}, so there is nothing to compare. "
                "Widen the filter."
            )

    no_variation(int(keep.sum()), int((keep & y_all).sum()))

    # levels with no variation in the outcome: odds ratio infinite -> set aside, named
    for _ in range(5):
        changed = False
        for term in TERMS:
            c = design.codes[term]
            nlev = len(design.levels[term])
            n_at = np.bincount(c[keep], minlength=nlev)
            e_at = np.bincount(c[keep & y_all], minlength=nlev)
            present = n_at > 0
            if present.sum() < 2:
                continue
            for i in np.flatnonzero(present & ((e_at == 0) | (e_at == n_at))):
                what = f"no {plural}" if e_at[i] == 0 else f"every stop {verb}"
                drop(
                    f"{term} = '{design.levels[term][i]}': {what} among its {n_at[i]:,} stops (odds ratio not estimable)",
                    c == i,
                )
                changed = True
        if not changed:
            break

    rows = np.flatnonzero(keep)
    n_used = len(rows)
    y = y_all[rows]
    events = int(y.sum())
    no_variation(n_used, events)

    # terms, references, columns
    terms: list[str] = []
    left_out: dict[str, str] = {}
    refs: dict[str, str] = {}
    colmaps: dict[str, np.ndarray] = {}
    names = ["Intercept"]
    col_term: list[tuple[str, str]] = []
    for term in TERMS:
        lv = design.levels[term]
        c = design.codes[term][rows]
        n_at = np.bincount(c, minlength=len(lv))
        present = np.flatnonzero(n_at > 0)
        if len(present) < 2:
            only = lv[present[0]] if len(present) else "none"
            left_out[term] = f"a single level ('{only}') in the rows used"
            continue
        if term == "driver_race":
            if reference not in lv:
                raise ValueDomainError(f"Reference {reference!r} is not a driver_race level; allowed: {', '.join(lv)}.")
            ref = lv.index(reference)
            if n_at[ref] == 0:
                raise ValueDomainError(
                    f"Reference driver race {reference!r} has no stops among the rows used for the {outcome} model "
                    f"({design.where}); levels present: {', '.join(lv[i] for i in present)}. Choose another reference."
                )
        elif term == "month":
            ref = int(present[0])
        elif _PREFERRED_REFERENCE.get(term) in lv and n_at[lv.index(_PREFERRED_REFERENCE[term])] > 0:
            ref = lv.index(_PREFERRED_REFERENCE[term])
        else:
            ref = int(np.argmax(n_at))
        refs[term] = lv[ref]
        cmap = np.full(len(lv), -1, dtype=np.int64)
        label = f"C({term}, Treatment({lv[ref]!r}))"
        for i in present:
            if i != ref:
                cmap[i] = len(names)
                names.append(f"{label}[T.{lv[i]}]")
                col_term.append((term, lv[i]))
        colmaps[term] = cmap
        terms.append(term)
    k = len(names)
    if n_used < max(min_rows, k + 1):
        raise EmptyInputError(
            f"Too few stops for the {outcome} model ({design.where}): {n_used:,} usable rows for {k} parameters "
            f"(at least {max(min_rows, k + 1):,} needed). Widen the filter."
        )

    cols = np.empty((n_used, len(terms) + 1), dtype=np.int64)
    cols[:, 0] = 0
    for j, term in enumerate(terms, start=1):
        c = colmaps[term][design.codes[term][rows]]
        cols[:, j] = np.where(c >= 0, c, k)  # the reference level -> the dummy column k
    cached = design._indicators
    if cached is not None and cached.k == k and cached.cols.shape == cols.shape and np.array_equal(cached.cols, cols):
        indicators = cached  # the other model used the same rows and columns: reuse its index arrays
    else:
        indicators = Indicators(cols, k)
        design._indicators = indicators

    notes: list[str] = [f"filter: {design.where}"]
    if events < 10 * k:
        notes.append(f"only {events:,} {plural} for {k} parameters (fewer than 10 per parameter): estimates are unstable")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fit_logit(y.astype(float), indicators, maxiter=maxiter)
    if res is None:
        raise ValueDomainError(
            f"The {outcome} model cannot be fitted ({design.where}): the design is singular or the fit diverges "
            "(some categories coincide or separate the outcome, e.g. one officer group only in one division). "
            "Widen the filter."
        )
    for w in caught:
        notes.append(f"statsmodels: {str(w.message).splitlines()[0]}")
    converged = bool(res.mle_retvals.get("converged", False))
    if not converged:
        notes.append(f"Newton's method did not converge in {maxiter} iterations; treat the estimates with caution")
    params = pd.Series(np.asarray(res.params), index=names)
    bse = pd.Series(np.asarray(res.bse), index=names)
    if not np.all(np.isfinite(bse.to_numpy())):
        notes.append("some standard errors are not finite (near-collinear categories)")
    zval = params / bse
    pval = pd.Series(2 * stats.norm.sf(np.abs(zval.to_numpy())), index=names)

    n_level = {}
    e_level = {}
    for term in terms:
        lv = design.levels[term]
        c = design.codes[term][rows]
        n_at = np.bincount(c, minlength=len(lv))
        e_at = np.bincount(c[y], minlength=len(lv))
        for i, name in enumerate(lv):
            n_level[(term, name)] = int(n_at[i])
            e_level[(term, name)] = int(e_at[i])
    b = params.to_numpy()[1:]
    s = bse.to_numpy()[1:]
    table = pd.DataFrame(
        {
            "term": [t for t, _ in col_term],
            "level": [lv for _, lv in col_term],
            "reference": [refs[t] for t, _ in col_term],
            "odds_ratio": np.exp(b),
            "lo": np.exp(b - Z95 * s),
            "hi": np.exp(b + Z95 * s),
            "coef": b,
            "se": s,
            "z": zval.to_numpy()[1:],
            "p_value": pval.to_numpy()[1:],
            "n": [n_level[ct] for ct in col_term],
            "events": [e_level[ct] for ct in col_term],
            "name": names[1:],
        }
    )
    formula = "y ~ " + " + ".join(f"C({t}, Treatment({refs[t]!r}))" for t in terms)
    llnull = float(events * np.log(events / n_used) + (n_used - events) * np.log(1 - events / n_used))  # intercept-only MLE
    return ModelResult(
        outcome=outcome,
        formula=formula,
        odds_ratios=table,
        params=params,
        bse=bse,
        n_input=n_input,
        n_used=n_used,
        events=events,
        dropped=pd.DataFrame(drops, columns=["reason", "rows"]),
        terms_left_out=left_out,
        references=refs,
        notes=notes,
        converged=converged,
        llf=float(res.llf),
        llnull=llnull,
        pseudo_r2=float(1 - res.llf / llnull) if llnull else float("nan"),
        aic=float(res.aic),
        seconds=time.perf_counter() - t0,
        _design=design,
        _rows=rows,
        _terms=terms,
    )


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
