"""The CMPD Officer Traffic Stops table: raw CSV in, clean frame and row report out.

Row numbers in messages are 1-based data rows (the header is not counted).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from geo.errors import EmptyInputError, ValueDomainError, first_rows, quote_values
from geo.ingest.files import data_path, read_table, require_columns, settings_or_default
from geo.ingest.report import LoadReport
from geo.settings import Settings
from geo.vocab import (
    AGE_BANDS,
    AGE_EDGES,
    AGE_MAX,
    AGE_MIN,
    AGE_FLAGGED,
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
        Settings (data folder, age limits).
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
    DataFileError, SchemaError, ValueDomainError, EmptyInputError
    """
    path = data_path(path, "stops", settings)
    raw = read_table(path)
    require_columns(raw, STOP_COLUMNS, path, "the stops table")
    report = LoadReport("stops", str(path), rows_read=len(raw))
    if raw.empty:
        raise EmptyInputError(f"{path}: the stops table has a header but no data rows.")
    rownum = np.arange(1, len(raw) + 1)
    df = raw.apply(lambda c: c.str.strip())
    errors: list[str] = []
    bad_rows: dict[str, np.ndarray] = {}

    def domain_problem(column: str, mask: np.ndarray, what: str) -> None:
        if mask.any():
            vals = pd.unique(raw.loc[mask, column])
            errors.append(f"column {column}: {mask.sum():,} {what} ({quote_values(vals)}) at {first_rows(rownum[mask])}")
            bad_rows[f"{column}: {what}"] = mask

    # months
    m = df["Month_of_Stop"].str.extract(r"^(\d{4})[/-](\d{1,2})$")
    year = pd.to_numeric(m[0], errors="coerce")
    mon = pd.to_numeric(m[1], errors="coerce")
    bad_month = (year.isna() | mon.isna() | (mon < 1) | (mon > 12) | (year < 1990) | (year > 2100)).to_numpy()
    domain_problem("Month_of_Stop", bad_month, "value(s) not a month in YYYY/MM form")

    # numbers
    age = pd.to_numeric(df["Driver_Age"].replace("", np.nan), errors="coerce")
    bad_age = ((age.isna() & (df["Driver_Age"] != "")) | (age.notna() & ((age % 1) != 0))).to_numpy()
    domain_problem("Driver_Age", bad_age, "non-numeric age(s)")
    yrs = pd.to_numeric(df["Officer_Years_of_Service"].replace("", np.nan), errors="coerce")
    bad_yrs = ((yrs.isna() & (df["Officer_Years_of_Service"] != "")) | (yrs.notna() & ((yrs < 0) | ((yrs % 1) != 0)))).to_numpy()
    domain_problem("Officer_Years_of_Service", bad_yrs, "non-numeric or negative years of service")

    # divisions
    div = df["CMPD_Division"]
    blank_div = (div == "").to_numpy()
    unknown_div = (~div.isin(list(DIVISIONS.values())) & ~pd.Series(blank_div, index=div.index)).to_numpy()
    if unknown_div.any():
        vals = pd.unique(raw.loc[unknown_div, "CMPD_Division"])
        errors.append(
            f"column CMPD_Division: {unknown_div.sum():,} unknown division name(s) ({quote_values(vals)}) at "
            f"{first_rows(rownum[unknown_div])}; allowed: {', '.join(DIVISIONS.values())} or blank"
        )
        bad_rows["CMPD_Division: unknown division name"] = unknown_div

    if errors and on_error == "raise":
        raise ValueDomainError(f"{path}: {len(errors)} problem(s) in the stops table:\n  - " + "\n  - ".join(errors))
    keep = np.ones(len(df), dtype=bool)
    for reason, mask in bad_rows.items():
        col, what = reason.split(": ", 1)
        report.add("set_aside", col, what, rownum[mask])
        keep &= ~mask
    if not keep.any():
        raise EmptyInputError(f"{path}: no stop rows are left after setting aside the rows with problems.")

    out = pd.DataFrame({"row": rownum})
    out["objectid"] = pd.to_numeric(df["OBJECTID"], errors="coerce").astype("Int64") if "OBJECTID" in df else out["row"]
    out["month"] = pd.to_datetime(
        {"year": year.fillna(2000), "month": mon.clip(1, 12).fillna(1), "day": 1}, errors="coerce"
    ).astype("datetime64[ns]")
    out["year"] = year.astype("Int64")

    def categorical(column: str, new: str) -> None:
        cats = STOP_CATEGORIES[column]
        vals = df[column]
        unknown = (~vals.isin(cats)).to_numpy()
        if unknown.any():
            shown = pd.unique(raw.loc[unknown, column])
            report.add(
                "repaired",
                column,
                f"value(s) outside the known categories ({quote_values(shown)}) kept as '{OTHER}'",
                rownum[unknown],
            )
        allowed = list(cats) if OTHER in cats else [*cats, OTHER]
        out[new] = pd.Categorical(vals.where(~unknown, OTHER), categories=allowed)

    categorical("Reason_for_Stop", "reason")
    categorical("Officer_Race", "officer_race")
    categorical("Officer_Gender", "officer_gender")
    out["officer_years"] = yrs.where(~bad_yrs).astype("Int64")
    missing_yrs = out["officer_years"].isna().to_numpy() & ~bad_yrs
    report.add("flagged", "Officer_Years_of_Service", "years of service missing (kept; band 'Unknown')", rownum[missing_yrs])
    out["officer_years_band"] = _years_band(out["officer_years"])
    categorical("Driver_Race", "driver_race")
    categorical("Driver_Ethnicity", "driver_ethnicity")
    hisp = (out["driver_ethnicity"] == "Hispanic").to_numpy()
    out["driver_group"] = pd.Categorical(
        np.where(hisp, "Hispanic", out["driver_race"].astype(str)), categories=list(DRIVER_GROUPS)
    )
    categorical("Driver_Gender", "driver_gender")
    out["driver_age"] = age.where(~bad_age).astype("Int64")
    flagged = ((out["driver_age"] < AGE_MIN) | (out["driver_age"] > AGE_MAX)).fillna(False).to_numpy(dtype=bool)
    report.add("flagged", "Driver_Age", f"age outside {AGE_MIN}-{AGE_MAX} (kept; age_flagged=True)", rownum[flagged])
    missing_age = out["driver_age"].isna().to_numpy() & ~bad_age
    report.add("flagged", "Driver_Age", "age missing (kept; band 'Unknown')", rownum[missing_age])
    out["age_flagged"] = flagged
    out["age_band"] = _age_band(out["driver_age"], pd.Series(flagged))

    srch = df["Was_a_Search_Conducted"].str.lower()
    bad_search = ~srch.isin(["yes", "no"]).to_numpy()
    report.add(
        "flagged",
        "Was_a_Search_Conducted",
        "not Yes/No (kept; searched unknown, left out of search rates)",
        rownum[bad_search],
    )
    out["searched"] = pd.array(np.where(bad_search, None, srch == "yes"), dtype="boolean")
    categorical("Result_of_Stop", "result")

    out["division"] = pd.Categorical(
        div.where(~(blank_div | unknown_div), NO_DIVISION), categories=[*DIVISIONS.values(), NO_DIVISION]
    )
    out["division_recorded"] = ~blank_div
    report.add("kept", "CMPD_Division", f"division blank (kept under '{NO_DIVISION}')", rownum[blank_div & keep])

    out = out.loc[keep].reset_index(drop=True)
    if out["month"].notna().any():
        report.notes.append(
            f"months {out['month'].min():%Y-%m} to {out['month'].max():%Y-%m}; "
            f"{int(out['division_recorded'].sum()):,} stops with a division, "
            f"{int((~out['division_recorded']).sum()):,} without"
        )
    return out, report
