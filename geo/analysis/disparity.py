"""Stop outcomes by driver and officer group: rates, disparity ratios, benchmarks, funnels.

Every table is tidy: one row per (unit, group) with the event ``count``, the
``denominator``, the ``rate`` with its 95 % Wilson interval (``lo``, ``hi``), a
``small_cell`` flag, an empirical-Bayes-smoothed rate (``eb_rate``) and the disparity
``ratio`` against a reference group with its 95 % interval (``ratio_lo``, ``ratio_hi``,
Koopman score method) and ``ratio_method`` (the interval's method, or why there is none).

Definitions
-----------
Outcomes
    ``search`` (a search was conducted), ``arrest``, ``citation``, ``written_warning``,
    ``verbal_warning``, ``no_action`` (the result of the stop). The denominator is every
    stop whose outcome is known: stops with an unreadable search flag are left out of
    search rates, stops with an unknown result out of result rates (both reported by
    :func:`data_notes`). With ``among="searched"`` the denominator is the searched stops
    (e.g. the arrest rate of searched drivers), a *search-based* outcome.
Small cells
    ``small_cell`` is true when the denominator is below ``min_cell`` (50): fewer than
    50 stops, or fewer than 50 searches for search-based outcomes. A 40 % search rate
    from 5 stops must not headline a table.
Disparity ratio
    ``rate(group) / rate(reference)`` within the same unit, with the 95 % asymptotic
    score interval of Koopman (1984) (:func:`geo.stats.proportions.ratio_interval`),
    which stays valid for small counts: small cells keep their interval, which is
    wide, and are flagged by ``small_cell``. Zero counts: a group with no events has
    ratio 0 and an interval from 0 to a finite upper limit; where the reference group
    has no events (or no stops) in the unit there is no finite ratio, so ``ratio``,
    ``ratio_lo`` and ``ratio_hi`` are missing, ``ratio_method`` says why and the notes
    name the units. The reference group's own row has ratio 1 (missing when it has
    no events) and no interval.
Empirical Bayes
    See :func:`geo.stats.proportions.eb_smooth`: a rate is pulled toward a prior rate
    by a beta prior whose strength is estimated from the spread of the rates (method of
    moments). Groups are never pooled with each other (they are not exchangeable: a
    small group with a high rate would be pulled toward the other groups' rate, erasing
    the disparity the table is for). With a unit (``per="division"``) each group's unit
    rates are pulled toward that group's own rate over all units, with a prior strength
    estimated from that group's spread across units. Without a unit (``per=None``) each
    group is a single cell with nothing of its own to borrow from, so ``eb_rate``
    equals ``rate``.
Filters
    :class:`StopFilter` (period, reason, driver gender, age band, division) applies to
    every analysis here and in :mod:`geo.analysis.models`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, cast, get_args

import numpy as np
import pandas as pd

from geo.errors import EmptyInputError, ValueDomainError
from geo.layers.filters import StopFilter, require_stop_columns
from geo.stats.proportions import eb_smooth, ratio_interval, wilson
from geo.vocab import AGE_FLAGGED, AGE_MAX, AGE_MIN, AGE_MISSING, MIN_CELL, NO_DIVISION, OTHER, OUTCOMES

__all__ = [
    "DRIVER_DIMENSIONS",
    "OFFICER_DIMENSIONS",
    "DEFAULT_REFERENCE",
    "describe_filter",
    "groups_present",
    "data_notes",
    "outcome_flags",
    "rates",
    "officer_rates",
    "officer_driver_matrix",
]


Outcome = Literal["search", "arrest", "citation", "written_warning", "verbal_warning", "no_action"]


#: Driver characteristics the rate tables break down by.
DriverDimension = Literal["driver_group", "driver_race", "driver_ethnicity", "driver_gender", "age_band", "reason"]

#: Officer characteristics for the accountability tables.
OfficerDimension = Literal["officer_years_band", "officer_race", "officer_gender"]

Dimension = Literal[DriverDimension, OfficerDimension, "division", "month", "year"]

Among = Literal["all", "searched"]

DRIVER_DIMENSIONS: tuple[str, ...] = get_args(DriverDimension)

OFFICER_DIMENSIONS: tuple[str, ...] = get_args(OfficerDimension)

ALL_DIMENSIONS: tuple[str, ...] = (*DRIVER_DIMENSIONS, *OFFICER_DIMENSIONS, "division", "month", "year")


#: Reference group of each dimension for disparity ratios (``None``: no ratio).
DEFAULT_REFERENCE: dict[str, str | None] = {
    "driver_group": "White",
    "driver_race": "White",
    "driver_ethnicity": "Non-Hispanic",
    "driver_gender": "Male",
    "age_band": "25-34",
    "reason": "Speeding",
    "officer_race": "White",
    "officer_gender": "Male",
    "officer_years_band": "0-4",
    "division": None,
    "month": None,
    "year": None,
}


CITY = "All stops"


#: Every outcome, in the vocabulary's order (the names :data:`Outcome` lists).
_ALL_OUTCOMES = cast("tuple[Outcome, ...]", tuple(OUTCOMES))


#: Missing values of a category column become this level of their own (never dropped).
MISSING_LEVEL = "Missing"


def describe_filter(filters: StopFilter | None) -> str:
    """The filter in words, as notes and errors name it: ``"all stops"`` without one."""
    return filters.describe() if filters is not None else "all stops"


def filtered(stops: pd.DataFrame, filters: StopFilter | None) -> tuple[pd.DataFrame, str]:
    """The stops ``filters`` keeps (all without one) and the filter in words; raise on no stops."""
    if not isinstance(stops, pd.DataFrame):
        raise TypeError(f"stops must be a pandas DataFrame, not {type(stops).__name__}.")
    if len(stops) == 0:
        raise EmptyInputError("The stops frame has no rows.")
    data = filters.apply(stops) if filters is not None else stops
    return data, describe_filter(filters)


def groups_present(stops: pd.DataFrame, dimension: Dimension, *, filters: StopFilter | None = None) -> list[str]:
    """Groups of ``dimension`` that have at least one stop (after ``filters``), in category order.

    The choices a reference-group selector can offer: a group absent from the filtered
    stops cannot be a reference.

    Raises
    ------
    ValueDomainError
        Unknown dimension.
    EmptyInputError
        The filter leaves no stops.

    Examples
    --------
    >>> groups_present(stops, "driver_gender")  # doctest: +SKIP
    ['Male', 'Female']
    """
    prep = PreparedStops(filtered(stops, filters)[0])
    codes, levels = prep.codes(dimension)
    counts = np.bincount(codes, minlength=len(levels))
    return [lv for lv, c in zip(levels, counts.tolist(), strict=True) if c > 0]


def data_notes(stops: pd.DataFrame) -> list[str]:
    """Plain-language notes on what in ``stops`` is unknown, flagged or bucketed.

    Nothing is dropped silently: unknown categories stay as ``Other/Unknown`` groups,
    stops without a division stay as ``No division recorded``; this lists them.
    """
    notes: list[str] = []
    n = len(stops)
    for column, label in (
        ("driver_race", "driver race"),
        ("driver_ethnicity", "driver ethnicity"),
        ("driver_gender", "driver gender"),
        ("reason", "reason for stop"),
        ("result", "result of stop"),
        ("officer_race", "officer race"),
        ("officer_gender", "officer gender"),
    ):
        if column in stops:
            k = int((stops[column] == OTHER).sum())
            if k:
                extra = " (kept as their own group)"
                if column == "result":
                    extra = " (left out of result rates and the arrest model)"
                notes.append(f"{label} '{OTHER}': {k:,} of {n:,} stops{extra}")
    if "searched" in stops:
        k = int(stops["searched"].isna().sum())
        if k:
            notes.append(f"search flag not Yes/No: {k:,} stops (left out of search rates and the search model)")
    if "officer_years" in stops:
        k = int(stops["officer_years"].isna().sum())
        if k:
            notes.append(
                f"officer years of service missing: {k:,} stops (band '{AGE_MISSING}'; left out of the models)"
            )
    if "age_flagged" in stops:
        k = int(stops["age_flagged"].sum())
        if k:
            notes.append(
                f"driver age outside {AGE_MIN}-{AGE_MAX}: {k:,} stops (band '{AGE_FLAGGED}'; left out of the models)"
            )
    if "division" in stops:
        k = int((stops["division"] == NO_DIVISION).sum())
        if k:
            notes.append(f"no division recorded: {k:,} stops (kept as '{NO_DIVISION}'; not in benchmarks or funnels)")
    return notes


def outcome_flags(stops: pd.DataFrame, outcome: Outcome, *, among: Among = "all") -> tuple[np.ndarray, np.ndarray]:
    """Boolean arrays ``(event, valid)`` for ``outcome``.

    ``valid`` marks the stops in the denominator: a known search flag (search), a known
    result (other outcomes), and with ``among="searched"`` also a search conducted.
    """
    if outcome not in OUTCOMES:
        raise ValueDomainError(f"Unknown outcome {outcome!r}; allowed: {', '.join(OUTCOMES)}.")
    if among not in ("all", "searched"):
        raise ValueDomainError(f"Unknown among={among!r}; allowed: 'all', 'searched'.")
    require_stop_columns(stops, ["searched"])
    searched = stops["searched"]
    if outcome == "search":
        valid = searched.notna().to_numpy()
        event = searched.fillna(False).to_numpy(dtype=bool)
    else:
        require_stop_columns(stops, ["result"])
        result = stops["result"]
        valid = (result != OTHER).to_numpy()
        event = (result == OUTCOMES[outcome]).to_numpy()
    if among == "searched":
        if outcome == "search":
            raise ValueDomainError("The search rate among searched stops is always 1; use among='all'.")
        valid = valid & searched.fillna(False).to_numpy(dtype=bool)
    return event & valid, valid


class PreparedStops:
    """Category codes and outcome flags of one (filtered) stops frame, computed once."""

    def __init__(self, stops: pd.DataFrame) -> None:
        self.stops = stops
        self.n = len(stops)
        self._codes: dict[str, tuple[np.ndarray, list[str]]] = {}
        self._flags: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self.notes: list[str] = []

    def codes(self, dim: str) -> tuple[np.ndarray, list[str]]:
        """Code per stop and level names of ``dim``: months in time order, missing values a last level."""
        if dim not in self._codes:
            if dim not in ALL_DIMENSIONS:
                raise ValueDomainError(f"Unknown dimension {dim!r}; allowed: {', '.join(ALL_DIMENSIONS)}.")
            if dim in ("month", "year"):
                require_stop_columns(self.stops, ["month"])
                unit: Literal["M", "Y"] = "M" if dim == "month" else "Y"
                codes, uniq = _period_codes(self.stops["month"].to_numpy(), unit)
                levels = [str(x) for x in np.datetime_as_string(uniq, unit=unit)]
            else:
                require_stop_columns(self.stops, [dim])
                col = self.stops[dim]
                if not isinstance(col.dtype, pd.CategoricalDtype):
                    col = col.astype("category")
                codes = col.cat.codes.to_numpy().astype(np.int64)
                levels = [str(c) for c in col.cat.categories]
                if (codes < 0).any():  # never drop silently: missing values become their own level
                    codes = np.where(codes < 0, len(levels), codes)
                    levels = [*levels, MISSING_LEVEL]
            self._codes[dim] = (codes.astype(np.int64, copy=False), levels)
        return self._codes[dim]

    def flags(self, outcome: Outcome, among: Among) -> tuple[np.ndarray, np.ndarray]:
        """``(event, valid)`` of :func:`outcome_flags`, computed once per ``(outcome, among)``."""
        key = (outcome, among)
        if key not in self._flags:
            self._flags[key] = outcome_flags(self.stops, outcome, among=among)
        return self._flags[key]


def _sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` reversed, by hashing: a code per value into the sorted distinct values.

    A million stops hold about a hundred months: hashing them and sorting the distinct values is
    several times faster than sorting every value, with the same codes (``NaT`` sorts last in both).
    """
    codes, uniq = pd.factorize(values, use_na_sentinel=False)
    uniq = np.asarray(uniq, dtype=values.dtype)
    order = np.argsort(uniq, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], uniq[order]


def _period_codes(months: np.ndarray, unit: Literal["M", "Y"]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_sorted_codes` of ``months`` in ``unit``, converting only the distinct values to the unit."""
    codes, uniq = pd.factorize(months, use_na_sentinel=False)
    sub, levels = _sorted_codes(np.asarray(uniq, dtype=months.dtype).astype(f"datetime64[{unit}]"))
    return sub[codes], levels


def _resolve_reference(
    dim: str, levels: list[str], present: np.ndarray, reference: str | None, where: str
) -> int | None:
    if reference == "auto":
        reference = DEFAULT_REFERENCE.get(dim)
    if reference is None:
        return None
    if reference not in levels:
        raise ValueDomainError(
            f"Reference group {reference!r} is not a {dim} group; allowed: {', '.join(lv for lv, p in zip(levels, present, strict=True) if p)}."
        )
    i = levels.index(reference)
    if not present[i]:
        raise ValueDomainError(
            f"Reference group {reference!r} has no stops in the filtered data ({where}); "
            f"{dim} groups present: {', '.join(lv for lv, p in zip(levels, present, strict=True) if p)}. Choose another reference."
        )
    return i


def _cell_counts(
    prep: PreparedStops, *, outcome: Outcome, by: str, per: str | None, among: Among
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Events and denominators per (unit, group) cell, with the unit and group level names."""
    event, valid = prep.flags(outcome, among)
    gcodes, glevels = prep.codes(by)
    ng = len(glevels)
    if per is None:
        ucodes, ulevels = np.zeros(prep.n, dtype=np.int64), [CITY]
    else:
        if per == by:
            raise ValueDomainError(f"per and by are both {by!r}; choose two different dimensions.")
        ucodes, ulevels = prep.codes(per)
    nu = len(ulevels)
    # one pass over the stops: each cell's stops counted as outside the denominator, valid without the
    # event, and with it (``event`` implies ``valid``)
    state = valid.astype(np.int64) + event
    counts = np.bincount((ucodes * ng + gcodes) * 3 + state, minlength=nu * ng * 3).reshape(nu, ng, 3)
    den = counts[:, :, 1] + counts[:, :, 2]
    cnt = np.ascontiguousarray(counts[:, :, 2])
    return cnt, den, ulevels, glevels


def _smoothed(cnt: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Empirical-Bayes rates: each group (column) across units toward its own rate, never across groups.

    A single unit (the citywide table) leaves every rate as recorded (:func:`eb_smooth` needs 3 units).
    """
    eb = np.full(den.shape, np.nan)
    for g in range(den.shape[1]):
        if den[:, g].sum() > 0:
            eb[:, g], _ = eb_smooth(cnt[:, g], den[:, g], prior_rate=cnt[:, g].sum() / den[:, g].sum())
    return eb


#: ``ratio_method`` of a row: the interval's method, or why there is no interval.
RATIO_METHOD = "Koopman score"
NO_RATIO_REFERENCE = "reference group"
NO_RATIO_ZERO = "no ratio: the reference group has no events here"
NO_RATIO_NONE = "no reference group chosen"


def _ratios(cnt: np.ndarray, den: np.ndarray, ref: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each cell's ratio to the reference group of its unit, its score interval and ``ratio_method``."""
    if ref is None:
        none = np.full(den.shape, np.nan)
        return none, none, none, np.full(den.shape, NO_RATIO_NONE, dtype=object)
    ratio, rlo, rhi = ratio_interval(cnt, den, cnt[:, [ref]], den[:, [ref]], method="score")
    method = np.where(np.isfinite(rlo), RATIO_METHOD, NO_RATIO_ZERO).astype(object)
    ratio[:, ref] = np.where(cnt[:, ref] > 0, 1.0, np.nan)
    rlo[:, ref] = np.nan
    rhi[:, ref] = np.nan
    method[:, ref] = NO_RATIO_REFERENCE
    return ratio, rlo, rhi, method


def prepared_rates(
    prep: PreparedStops,
    *,
    outcome: Outcome,
    by: str,
    per: str | None,
    reference: str | None,
    among: Among,
    min_cell: int,
    where: str,
) -> pd.DataFrame:
    """The table of :func:`rates` from prepared stops (``where``: the filter, for messages); notes to ``prep``."""
    cnt, den, ulevels, glevels = _cell_counts(prep, outcome=outcome, by=by, per=per, among=among)
    if den.sum() == 0:
        raise EmptyInputError(f"No stops with a known {outcome} outcome in the filtered data ({where}).")
    ref = _resolve_reference(by, glevels, den.sum(axis=0) > 0, reference, where)
    eb = _smoothed(cnt, den)
    ratio, rlo, rhi, rmethod = _ratios(cnt, den, ref)
    if ref is not None and per is not None:
        lacking = [ulevels[u] for u in range(len(ulevels)) if den[u].sum() > 0 and cnt[u, ref] == 0]
        if lacking:
            prep.notes.append(
                f"{outcome}: reference group '{glevels[ref]}' has no {outcome} events (or no stops) in "
                f"{len(lacking)} {per} unit(s), so no ratio there: {', '.join(lacking[:8])}"
                f"{' ...' if len(lacking) > 8 else ''}"
            )
    ui, gi = np.nonzero(den > 0)
    d = den[ui, gi]
    c = cnt[ui, gi]
    lo, hi = wilson(c, d)
    return pd.DataFrame(
        {
            "outcome": outcome,
            "base": "stops" if among == "all" else "searched stops",
            "scope": "city" if per is None else per,
            "unit": np.asarray(ulevels, dtype=object)[ui],
            "dimension": by,
            "group": np.asarray(glevels, dtype=object)[gi],
            "count": c.astype(np.int64),
            "denominator": d.astype(np.int64),
            "rate": c / d,
            "lo": lo,
            "hi": hi,
            "small_cell": d < min_cell,
            "eb_rate": eb[ui, gi],
            "reference": glevels[ref] if ref is not None else None,
            "is_reference": gi == ref if ref is not None else False,
            "ratio": ratio[ui, gi],
            "ratio_lo": rlo[ui, gi],
            "ratio_hi": rhi[ui, gi],
            "ratio_method": rmethod[ui, gi],
        }
    )


def rates(
    stops: pd.DataFrame,
    *,
    outcome: Outcome = "search",
    by: Dimension = "driver_group",
    per: Dimension | None = None,
    reference: str | None = "auto",
    among: Among = "all",
    filters: StopFilter | None = None,
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """Outcome rates by group, optionally within each unit (division, month, ...).

    Parameters
    ----------
    stops
        The clean stops frame of :func:`geo.ingest.stops.load_stops`.
    outcome
        ``search``, ``arrest``, ``citation``, ``written_warning``, ``verbal_warning``, ``no_action``.
    by
        The groups compared (rows within a unit), e.g. ``driver_group``.
    per
        The unit: ``None`` (citywide), ``division``, ``month``, ``officer_race`` ...
    reference
        Reference group of ``by`` for the disparity ratio; ``"auto"`` uses
        :data:`DEFAULT_REFERENCE` (White for race), ``None`` gives no ratio.
    among
        ``"all"`` stops or ``"searched"`` stops only (search-based outcomes).
    filters
        Which stops to use.
    min_cell
        Denominators below this are flagged ``small_cell``.

    Returns
    -------
    pandas.DataFrame
        One row per (unit, group) with at least one stop: ``outcome, base, scope, unit,
        dimension, group, count, denominator, rate, lo, hi, small_cell, eb_rate,
        reference, is_reference, ratio, ratio_lo, ratio_hi, ratio_method``. ``attrs["notes"]`` holds
        :func:`data_notes` of the filtered stops.

    Raises
    ------
    ValueDomainError
        Unknown outcome, dimension or reference group; a reference group absent from
        the filtered data.
    EmptyInputError
        A filter leaves no stops.

    Examples
    --------
    >>> from geo.ingest.stops import load_stops  # doctest: +SKIP
    >>> stops, _ = load_stops()  # doctest: +SKIP
    >>> rates(stops, outcome="search", by="driver_group").set_index("group")["ratio"]["Black"]  # doctest: +SKIP
    3.30...
    """
    data, where = filtered(stops, filters)
    prep = PreparedStops(data)
    out = prepared_rates(
        prep, outcome=outcome, by=by, per=per, reference=reference, among=among, min_cell=min_cell, where=where
    )
    out.attrs["notes"] = data_notes(data) + prep.notes
    return out


def officer_rates(
    stops: pd.DataFrame,
    *,
    by: OfficerDimension = "officer_years_band",
    outcomes: Sequence[Outcome] = _ALL_OUTCOMES,
    filters: StopFilter | None = None,
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """Outcome rates by officer years-of-service band, race or gender (stacked over outcomes)."""
    if by not in OFFICER_DIMENSIONS:
        raise ValueDomainError(f"Unknown officer dimension {by!r}; allowed: {', '.join(OFFICER_DIMENSIONS)}.")
    data, where = filtered(stops, filters)
    prep = PreparedStops(data)
    out = pd.concat(
        [
            prepared_rates(
                prep, outcome=o, by=by, per=None, reference="auto", among="all", min_cell=min_cell, where=where
            )
            for o in outcomes
        ],
        ignore_index=True,
    )
    out.attrs["notes"] = data_notes(data) + prep.notes
    return out


def officer_driver_matrix(
    stops: pd.DataFrame,
    *,
    outcome: Outcome = "search",
    officer: OfficerDimension = "officer_race",
    driver: Literal["driver_group", "driver_race"] = "driver_group",
    reference: str = "White",
    filters: StopFilter | None = None,
    min_cell: int = MIN_CELL,
    wide: bool = False,
) -> pd.DataFrame:
    """Officer-race × driver-race outcome rates (default: search rates).

    Returns the long table of :func:`rates` with ``per=officer`` (``unit`` is the
    officer group, ``group`` the driver group, ``ratio`` against ``reference`` drivers
    stopped by the same officer group); with ``wide=True``, a matrix of rates (officer
    rows × driver columns) instead.
    """
    out = rates(stops, outcome=outcome, by=driver, per=officer, reference=reference, filters=filters, min_cell=min_cell)
    if wide:
        notes = out.attrs.get("notes", [])
        rows, cols = list(pd.unique(out["unit"])), list(pd.unique(out["group"]))
        out = out.pivot(index="unit", columns="group", values="rate").reindex(index=rows, columns=cols)
        out.index.name = officer
        out.columns.name = driver
        out.attrs["notes"] = notes
    return out
