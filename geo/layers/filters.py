"""Which stops to analyse: :class:`StopFilter` (period, reason, driver gender, age band, division).

One hashable object, applied the same way by every stop analysis, the command line and
the app (where it keys the caches).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.errors import EmptyInputError, SchemaError, ValueDomainError, quote_values

__all__ = ["StopFilter", "filter_stops"]


def _as_tuple(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _month(value: object, what: str) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    bad = ValueDomainError(f"Filter {what}={value!r} is not a month; use YYYY-MM (e.g. 2020-06).")
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d{4})[-/](\d{1,2})\s*", value)
        if m is None or not 1 <= int(m[2]) <= 12:
            raise bad
        return pd.Timestamp(year=int(m[1]), month=int(m[2]), day=1)
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise bad from None
    return ts.to_period("M").to_timestamp()


@dataclass(frozen=True)
class StopFilter:
    """Which stops to analyse; every field empty means all stops.

    Hashable (tuples only), so the app can use it as a cache key.

    Attributes
    ----------
    start, end
        First and last month, inclusive, as ``"YYYY-MM"``.
    reasons
        Reasons for stop to keep (e.g. ``("Speeding",)``).
    driver_genders
        Driver genders to keep.
    age_bands
        Driver age bands to keep (``"18-24"`` ...).
    divisions
        Divisions to keep (``DNAME``, or ``"No division recorded"``).

    Examples
    --------
    >>> f = StopFilter(start="2021-01", reasons=("Speeding",))
    >>> f.describe()
    'month from 2021-01; reason in Speeding'
    """

    start: str | None = None
    end: str | None = None
    reasons: tuple[str, ...] = ()
    driver_genders: tuple[str, ...] = ()
    age_bands: tuple[str, ...] = ()
    divisions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("reasons", "driver_genders", "age_bands", "divisions"):
            object.__setattr__(self, name, _as_tuple(getattr(self, name)))
        start, end = _month(self.start, "start"), _month(self.end, "end")
        if start is not None and end is not None and start > end:
            raise ValueDomainError(f"Filter start {self.start} is after end {self.end}.")

    def steps(self) -> list[tuple[str, str, tuple[str, ...] | pd.Timestamp]]:
        """The active filter steps: ``(label, column, values)``."""
        out: list[tuple[str, str, tuple[str, ...] | pd.Timestamp]] = []
        start, end = _month(self.start, "start"), _month(self.end, "end")
        if start is not None:
            out.append((f"month from {start:%Y-%m}", "month>=", start))
        if end is not None:
            out.append((f"month to {end:%Y-%m}", "month<=", end))
        for label, column, values in (
            ("reason", "reason", self.reasons),
            ("driver gender", "driver_gender", self.driver_genders),
            ("age band", "age_band", self.age_bands),
            ("division", "division", self.divisions),
        ):
            if values:
                out.append((f"{label} in {', '.join(values)}", column, values))
        return out

    def describe(self) -> str:
        """Plain words, e.g. ``"month from 2021-01; reason in Speeding"``; ``"all stops"`` if empty."""
        steps = self.steps()
        return "; ".join(s[0] for s in steps) if steps else "all stops"

    def apply(self, stops: pd.DataFrame) -> pd.DataFrame:
        """Return the stops that pass the filter (a new frame).

        Raises
        ------
        ValueDomainError
            A value that is not a category of its column (the message lists the allowed ones).
        EmptyInputError
            If a step leaves no stops; the message names that step.
        """
        steps = self.steps()
        if not steps:
            return stops
        mask = np.ones(len(stops), dtype=bool)
        applied: list[str] = []
        for label, column, values in steps:
            step = _step_mask(stops, label, column, values)
            mask &= step
            applied.append(label)
            if not mask.any():
                before = f" (after {'; '.join(applied[:-1])})" if len(applied) > 1 else ""
                raise EmptyInputError(
                    f"No stops left after the filter '{label}'{before}: {int(step.sum()):,} of {len(stops):,} stops "
                    "match it on its own. Widen the filter."
                )
        return stops.loc[mask].reset_index(drop=True)


def filter_stops(
    stops: pd.DataFrame,
    *,
    start: str | None = None,
    end: str | None = None,
    reasons: str | Sequence[str] | None = None,
    driver_genders: str | Sequence[str] | None = None,
    age_bands: str | Sequence[str] | None = None,
    divisions: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Keyword form of :class:`StopFilter`: ``filter_stops(stops, reasons="Speeding")``."""
    return StopFilter(
        start=start,
        end=end,
        reasons=_as_tuple(reasons),
        driver_genders=_as_tuple(driver_genders),
        age_bands=_as_tuple(age_bands),
        divisions=_as_tuple(divisions),
    ).apply(stops)


def require_stop_columns(stops: pd.DataFrame, columns: Iterable[str]) -> None:
    missing = [c for c in columns if c not in stops.columns]
    if missing:
        raise SchemaError(
            f"The stops frame is missing column(s) {', '.join(missing)}; expected the clean frame of geo.ingest.stops.load_stops "
            f"(found: {', '.join(map(str, stops.columns))})."
        )


def _step_mask(stops: pd.DataFrame, label: str, column: str, values: tuple[str, ...] | pd.Timestamp) -> np.ndarray:
    """The stops one filter step keeps: a month bound, or values of a category column (checked)."""
    if isinstance(values, pd.Timestamp):  # the "month>=" and "month<=" steps
        require_stop_columns(stops, ["month"])
        month = stops["month"].to_numpy()
        bound = np.datetime64(values)
        return np.asarray(month >= bound if column == "month>=" else month <= bound, dtype=bool)
    require_stop_columns(stops, [column])
    col = stops[column]
    allowed = (
        [str(c) for c in col.cat.categories]
        if isinstance(col.dtype, pd.CategoricalDtype)
        else sorted(map(str, pd.unique(col)))
    )
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValueDomainError(
            f"Filter {label.split(' in ')[0]}: unknown value(s) {quote_values(unknown)}; allowed: {', '.join(allowed)}."
        )
    return np.asarray(col.isin(list(values)).to_numpy(), dtype=bool)
