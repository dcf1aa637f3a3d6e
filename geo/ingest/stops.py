"""The CMPD Officer Traffic Stops table: raw CSV in, clean frame and row report out.

Row numbers in messages are 1-based data rows (the header is not counted).

:func:`load_stops` reads in three steps: *check* (read the file, require the columns,
parse months and numbers and find the values outside their domain), *set aside* (raise
one error listing every problem, or leave those rows out and report them) and
*assemble* (build the clean columns, each builder reporting what it repaired or flagged).

Each column is factorized first (:class:`_Column`): its distinct values, about a hundred in a
million rows, are stripped, parsed and classified once and mapped back to the rows by their codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo.errors import EmptyInputError, ValueDomainError, first_rows, quote_values
from geo.ingest.files import data_path, read_table, require_columns
from geo.ingest.report import LoadReport
from geo.settings import Settings
from geo.vocab import (
    AGE_BANDS,
    AGE_EDGES,
    AGE_FLAGGED,
    AGE_MAX,
    AGE_MIN,
    AGE_MISSING,
    DIVISIONS,
    DRIVER_GROUPS,
    NO_DIVISION,
    OTHER,
    STOP_CATEGORIES,
    STOP_COLUMNS,
    YEARS_BANDS,
)

__all__ = ["load_stops"]


@dataclass(frozen=True)
class _Column:
    """One column factorized: a code per row into its distinct values, as written and stripped.

    Every stops column but ``OBJECTID`` has few distinct values (a million rows hold about a
    hundred months, ages or division names), so each value is parsed once and mapped back to
    the rows by its code (:meth:`rows`): the same result as parsing every row, far faster.
    """

    codes: np.ndarray
    raw: pd.Series
    text: pd.Series

    @classmethod
    def of(cls, values: pd.Series) -> _Column:
        """Factorize ``values`` (a missing value, from a short row, is a distinct value of its own)."""
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        raw = pd.Series(uniques, dtype=values.dtype)
        return cls(codes=np.asarray(codes, dtype=np.intp), raw=raw, text=raw.str.strip())

    def rows(self, values: np.ndarray) -> np.ndarray:
        """Per-distinct-value ``values`` (an array aligned to :attr:`raw`) expanded to one per row."""
        return np.asarray(values[self.codes])

    def series(self, values: pd.Series) -> pd.Series:
        """Per-distinct-value ``values`` expanded to a Series of the rows (same dtype, index 0..n-1)."""
        return pd.Series(values.array.take(self.codes), name=values.name)

    def categorical(self, values: pd.Categorical) -> pd.Categorical:
        """Per-distinct-value categories expanded to the rows (same categories)."""
        return pd.Categorical.from_codes(values.codes[self.codes], dtype=values.dtype)

    def shown(self, mask: np.ndarray) -> list[object]:
        """The values as written at the rows of ``mask``, each once, in the order they first appear."""
        return list(pd.unique(self.raw.iloc[pd.unique(self.codes[mask])]))


@dataclass(frozen=True)
class _Fields:
    """The stops table parsed: each column's distinct values, the months and numbers, and the bad rows.

    Values parsed from a column (``year``, ``age`` ...) are per distinct value of that column; the
    masks (``bad_month`` ...) are per row.
    """

    columns: dict[str, _Column]
    objectid: pd.Series | None
    rownum: np.ndarray
    year: pd.Series
    month: pd.Series
    bad_month: np.ndarray
    age: pd.Series
    bad_age_u: np.ndarray
    bad_age: np.ndarray
    years: pd.Series
    bad_years_u: np.ndarray
    bad_years: np.ndarray
    blank_division_u: np.ndarray
    unknown_division_u: np.ndarray
    blank_division: np.ndarray
    unknown_division: np.ndarray


@dataclass(frozen=True)
class _Problem:
    """Rows of one column with values outside its domain: the error line and the report entry."""

    column: str
    reason: str
    message: str
    mask: np.ndarray


def _read(path: Path, settings: Settings | None) -> pd.DataFrame:
    """The stops CSV as strings, with every required column (each named once) and at least one row."""
    raw = read_table(path, settings=settings)
    require_columns(raw, STOP_COLUMNS, path, "the stops table")
    if raw.empty:
        raise EmptyInputError(f"{path}: the stops table has a header but no data rows.")
    return raw


def _months(text: pd.Series) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """Year and month numbers of ``YYYY/MM`` (or ``YYYY-MM``) values, and where they are not a month."""
    m = text.str.extract(r"^(\d{4})[/-](\d{1,2})$")
    year = pd.to_numeric(m[0], errors="coerce")
    mon = pd.to_numeric(m[1], errors="coerce")
    bad = (year.isna() | mon.isna() | (mon < 1) | (mon > 12) | (year < 1990) | (year > 2100)).to_numpy()
    return year, mon, bad


def _whole_numbers(text: pd.Series, *, nonnegative: bool) -> tuple[pd.Series, np.ndarray]:
    """Numbers of a column (blank: missing), and where a value is not a whole (non-negative) number."""
    num = pd.to_numeric(text.replace("", np.nan), errors="coerce")
    bad = (num.isna() & (text != "")) | (num.notna() & ((num % 1) != 0))
    if nonnegative:
        bad |= num.notna() & (num < 0)
    return num, bad.to_numpy()


def _objectids(values: pd.Series) -> pd.Series:
    """``OBJECTID`` as whole numbers (not numbers: missing): one cast when every value is an integer."""
    stripped = values.str.strip()
    try:
        ints = pc.cast(pa.array(stripped), pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
        ints = None
    if ints is None or ints.null_count:
        return pd.to_numeric(stripped, errors="coerce").astype("Int64")
    return pd.Series(pd.array(ints.to_numpy(), dtype="Int64"))


def _parse(raw: pd.DataFrame) -> _Fields:
    """Factorize the columns, strip every value, parse months and numbers, and classify the division names."""
    cols = {c: _Column.of(raw[c]) for c in STOP_COLUMNS}
    m = cols["Month_of_Stop"]
    year, month, bad_month = _months(m.text)
    a, y, d = cols["Driver_Age"], cols["Officer_Years_of_Service"], cols["CMPD_Division"]
    age, bad_age = _whole_numbers(a.text, nonnegative=False)
    years, bad_years = _whole_numbers(y.text, nonnegative=True)
    blank = (d.text == "").to_numpy()
    unknown = (~d.text.isin(list(DIVISIONS.values())) & ~pd.Series(blank, index=d.text.index)).to_numpy()
    return _Fields(
        columns=cols,
        objectid=_objectids(raw["OBJECTID"]) if "OBJECTID" in raw else None,
        rownum=np.arange(1, len(raw) + 1),
        year=year,
        month=month,
        bad_month=m.rows(bad_month),
        age=age,
        bad_age_u=bad_age,
        bad_age=a.rows(bad_age),
        years=years,
        bad_years_u=bad_years,
        bad_years=y.rows(bad_years),
        blank_division_u=blank,
        unknown_division_u=unknown,
        blank_division=d.rows(blank),
        unknown_division=d.rows(unknown),
    )


def _problem(
    f: _Fields, column: str, mask: np.ndarray, what: str, *, reason: str | None = None, allowed: str = ""
) -> _Problem | None:
    """The problem of ``column`` at ``mask`` (``None`` when no row has it), naming values and rows."""
    if not mask.any():
        return None
    values = quote_values(f.columns[column].shown(mask))
    message = f"column {column}: {mask.sum():,} {what} ({values}) at {first_rows(f.rownum[mask])}{allowed}"
    return _Problem(column, reason or what, message, mask)


def _domain_problems(f: _Fields) -> list[_Problem]:
    """Every column with values outside its domain, in column order."""
    found = [
        _problem(f, "Month_of_Stop", f.bad_month, "value(s) not a month in YYYY/MM form"),
        _problem(f, "Driver_Age", f.bad_age, "non-numeric age(s)"),
        _problem(f, "Officer_Years_of_Service", f.bad_years, "non-numeric or negative years of service"),
        _problem(
            f,
            "CMPD_Division",
            f.unknown_division,
            "unknown division name(s)",
            reason="unknown division name",
            allowed=f"; allowed: {', '.join(DIVISIONS.values())} or blank",
        ),
    ]
    return [p for p in found if p is not None]


def _set_aside(
    problems: list[_Problem], f: _Fields, report: LoadReport, *, path: Path, on_error: Literal["raise", "set_aside"]
) -> np.ndarray:
    """Raise one error listing every problem, or report the rows set aside; the rows kept."""
    if problems and on_error == "raise":
        lines = "\n  - ".join(p.message for p in problems)
        raise ValueDomainError(f"{path}: {len(problems)} problem(s) in the stops table:\n  - {lines}")
    keep = np.ones(len(f.rownum), dtype=bool)
    for p in problems:
        report.add("set_aside", p.column, p.reason, f.rownum[p.mask])
        keep &= ~p.mask
    if not keep.any():
        raise EmptyInputError(f"{path}: no stop rows are left after setting aside the rows with problems.")
    return keep


def _age_band(age: pd.Series, flagged: pd.Series) -> pd.Categorical:
    edges = [*AGE_EDGES, AGE_MAX + 1]
    band = pd.cut(age.astype("float"), bins=edges, right=False, labels=list(AGE_BANDS))
    out = band.astype(object)
    out[flagged.to_numpy()] = AGE_FLAGGED
    out[age.isna().to_numpy()] = AGE_MISSING
    return pd.Categorical(out, categories=[*AGE_BANDS, AGE_FLAGGED, AGE_MISSING])


def _years_band(years: pd.Series) -> pd.Categorical:
    band = pd.cut(years.astype("float"), bins=[0, 5, 10, 15, 20, np.inf], right=False, labels=list(YEARS_BANDS))
    out = band.astype(object)
    out[years.isna().to_numpy()] = AGE_MISSING
    return pd.Categorical(out, categories=[*YEARS_BANDS, AGE_MISSING])


def _month_columns(f: _Fields) -> dict[str, pd.Series]:
    """``month`` (first day of the month) and ``year``."""
    parts = {"year": f.year.fillna(2000), "month": f.month.clip(1, 12).fillna(1), "day": 1}
    month = pd.to_datetime(parts, errors="coerce").astype("datetime64[ns]")
    col = f.columns["Month_of_Stop"]
    return {"month": col.series(month), "year": col.series(f.year.astype("Int64"))}


def _categorical(f: _Fields, column: str, report: LoadReport) -> pd.Categorical:
    """``column`` as its known categories; other values become ``OTHER`` and are reported."""
    cats = STOP_CATEGORIES[column]
    col = f.columns[column]
    unknown_u = (~col.text.isin(cats)).to_numpy()
    unknown = col.rows(unknown_u)
    if unknown.any():
        report.add(
            "repaired",
            column,
            f"value(s) outside the known categories ({quote_values(col.shown(unknown))}) kept as '{OTHER}'",
            f.rownum[unknown],
        )
    allowed = list(cats) if OTHER in cats else [*cats, OTHER]
    return col.categorical(pd.Categorical(col.text.where(~unknown_u, OTHER), categories=allowed))


def _officer_years_columns(f: _Fields, report: LoadReport) -> dict[str, object]:
    """``officer_years`` and its band; missing years are flagged."""
    col = f.columns["Officer_Years_of_Service"]
    years = f.years.where(~f.bad_years_u).astype("Int64")
    missing = col.rows(years.isna().to_numpy() & ~f.bad_years_u)
    report.add(
        "flagged", "Officer_Years_of_Service", "years of service missing (kept; band 'Unknown')", f.rownum[missing]
    )
    return {"officer_years": col.series(years), "officer_years_band": col.categorical(_years_band(years))}


def _driver_group_of(race: pd.Series, ethnicity: pd.Series) -> pd.Categorical:
    """Hispanic drivers of any race, else the driver's race."""
    hispanic = (ethnicity == "Hispanic").to_numpy()
    return pd.Categorical(np.where(hispanic, "Hispanic", race.astype(str)), categories=list(DRIVER_GROUPS))


def _driver_group(race: pd.Series, ethnicity: pd.Series) -> pd.Categorical:
    """:func:`_driver_group_of` of every (race, ethnicity) pair once, mapped to the rows by their codes."""
    r, e = race.cat, ethnicity.cat
    pair_r, pair_e = np.meshgrid(np.arange(-1, len(r.categories)), np.arange(-1, len(e.categories)), indexing="ij")
    groups = _driver_group_of(
        pd.Series(pd.Categorical.from_codes(pair_r.ravel(), dtype=race.dtype)),
        pd.Series(pd.Categorical.from_codes(pair_e.ravel(), dtype=ethnicity.dtype)),
    )
    table = groups.codes.reshape(pair_r.shape)  # row 0 / column 0: a missing race / ethnicity (code -1)
    codes = table[r.codes.to_numpy().astype(np.intp) + 1, e.codes.to_numpy().astype(np.intp) + 1]
    return pd.Categorical.from_codes(codes, dtype=groups.dtype)


def _driver_age_columns(f: _Fields, report: LoadReport) -> dict[str, object]:
    """``driver_age``, ``age_flagged`` (outside the age limits) and ``age_band``; both flags reported."""
    col = f.columns["Driver_Age"]
    age = f.age.where(~f.bad_age_u).astype("Int64")
    flagged_u = ((age < AGE_MIN) | (age > AGE_MAX)).fillna(False).to_numpy(dtype=bool)
    flagged = col.rows(flagged_u)
    report.add("flagged", "Driver_Age", f"age outside {AGE_MIN}-{AGE_MAX} (kept; age_flagged=True)", f.rownum[flagged])
    missing = col.rows(age.isna().to_numpy() & ~f.bad_age_u)
    report.add("flagged", "Driver_Age", "age missing (kept; band 'Unknown')", f.rownum[missing])
    band = col.categorical(_age_band(age, pd.Series(flagged_u)))
    return {"driver_age": col.series(age), "age_flagged": flagged, "age_band": band}


def _searched(f: _Fields, report: LoadReport) -> pd.api.extensions.ExtensionArray:
    """``Yes``/``No`` as a nullable boolean; other values are flagged and left missing."""
    col = f.columns["Was_a_Search_Conducted"]
    answer = col.text.str.lower()
    unclear_u = ~answer.isin(["yes", "no"]).to_numpy()
    report.add(
        "flagged",
        "Was_a_Search_Conducted",
        "not Yes/No (kept; searched unknown, left out of search rates)",
        f.rownum[col.rows(unclear_u)],
    )
    return pd.array(np.where(unclear_u, None, answer == "yes"), dtype="boolean").take(col.codes)


def _division_columns(f: _Fields, keep: np.ndarray, report: LoadReport) -> dict[str, object]:
    """``division`` (blank and set-aside names under ``NO_DIVISION``) and ``division_recorded``."""
    col = f.columns["CMPD_Division"]
    blank_u, unknown_u = f.blank_division_u, f.unknown_division_u
    division = pd.Categorical(
        col.text.where(~(blank_u | unknown_u), NO_DIVISION), categories=[*DIVISIONS.values(), NO_DIVISION]
    )
    report.add(
        "kept", "CMPD_Division", f"division blank (kept under '{NO_DIVISION}')", f.rownum[f.blank_division & keep]
    )
    return {"division": col.categorical(division), "division_recorded": ~f.blank_division}


def _clean_frame(f: _Fields, keep: np.ndarray, report: LoadReport) -> pd.DataFrame:
    """The clean stops (kept rows only), columns in the documented order."""
    out = pd.DataFrame({"row": f.rownum})
    out["objectid"] = f.objectid if f.objectid is not None else out["row"]
    out = out.assign(**_month_columns(f))
    out["reason"] = _categorical(f, "Reason_for_Stop", report)
    out["officer_race"] = _categorical(f, "Officer_Race", report)
    out["officer_gender"] = _categorical(f, "Officer_Gender", report)
    out = out.assign(**_officer_years_columns(f, report))
    out["driver_race"] = _categorical(f, "Driver_Race", report)
    out["driver_ethnicity"] = _categorical(f, "Driver_Ethnicity", report)
    out["driver_group"] = _driver_group(out["driver_race"], out["driver_ethnicity"])
    out["driver_gender"] = _categorical(f, "Driver_Gender", report)
    out = out.assign(**_driver_age_columns(f, report))
    out["searched"] = _searched(f, report)
    out["result"] = _categorical(f, "Result_of_Stop", report)
    out = out.assign(**_division_columns(f, keep, report))
    return out.loc[keep].reset_index(drop=True)


def _note_period(stops: pd.DataFrame, report: LoadReport) -> None:
    """Add the months covered and the stops with and without a division to the report's notes."""
    if stops["month"].notna().any():
        report.notes.append(
            f"months {stops['month'].min():%Y-%m} to {stops['month'].max():%Y-%m}; "
            f"{int(stops['division_recorded'].sum()):,} stops with a division, "
            f"{int((~stops['division_recorded']).sum()):,} without"
        )


def load_stops(
    path: str | Path | None = None,
    *,
    settings: Settings | None = None,
    on_error: Literal["raise", "set_aside"] = "raise",
) -> tuple[pd.DataFrame, LoadReport]:
    """Load and clean the CMPD Officer Traffic Stops table.

    Cleaning: strips the UTF-8 BOM and padded strings; parses ``YYYY/MM`` months (also
    ``YYYY-MM``); makes categorical columns; flags (does not drop) driver ages outside
    15-100; keeps stops with a blank division under ``"No division recorded"``; maps
    unknown race, gender, reason and result values to ``"Other/Unknown"`` and reports them.

    Parameters
    ----------
    path
        The stops CSV (``.csv`` or ``.csv.gz``); by default the fetched file.
    settings
        Settings (data folder; ``max_decompressed_bytes`` and ``max_rows``, the limits on
        the file).
    on_error
        ``"raise"`` (default): an unparseable month, a non-numeric age or years of
        service, or an unknown division raises one :class:`ValueDomainError` listing
        every problem. ``"set_aside"``: such rows are left out of the frame and
        reported with their reason.

    Returns
    -------
    stops : pandas.DataFrame
        One row per kept stop: ``row`` (1-based source row), ``objectid``, ``month``
        (first day of the month), ``year``, ``reason``, ``officer_race``,
        ``officer_gender``, ``officer_years``, ``officer_years_band``, ``driver_race``,
        ``driver_ethnicity``, ``driver_group``, ``driver_gender``, ``driver_age``,
        ``age_flagged``, ``age_band``, ``searched``, ``result``, ``division``,
        ``division_recorded``.
    report : LoadReport

    Raises
    ------
    DataFileError
        Not a regular file, empty, truncated, beyond the limits, not UTF-8 text, not a CSV.
    SchemaError
        A required column missing, or two columns with the same name.
    ValueDomainError, EmptyInputError
    """
    path = data_path(path, "stops", settings)
    raw = _read(path, settings)
    report = LoadReport("stops", str(path), rows_read=len(raw))
    fields = _parse(raw)
    keep = _set_aside(_domain_problems(fields), fields, report, path=path, on_error=on_error)
    stops = _clean_frame(fields, keep, report)
    _note_period(stops, report)
    return stops, report
