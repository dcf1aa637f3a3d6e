"""Other CMPD tables without locations: assault clearance, juvenile diversion, employee demographics.

See ``shared/data/PROVENANCE.md`` sections 5 and 6. Values are kept as the files give them
(``*_raw`` or the original columns), beside clean forms: division names as the polygons'
``DNAME``, one label per clearance status and per diversion outcome (the mappings are
:data:`CLEARANCE` and :data:`DIVERSION_OUTCOMES`), case variants folded. A row is set
aside only when its date cannot be read; every other problem keeps the row and is reported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from geo.errors import quote_values
from geo.ingest.files import data_path, read_table, require_columns
from geo.ingest.report import LoadReport
from geo.settings import Settings
from geo.vocab import CLEARANCE, DIVERSION_OUTCOMES, DIVERSION_RACES, DIVISIONS, OFFICER_TITLE

__all__ = [
    "CLEARANCE",
    "DIVERSION_OUTCOMES",
    "DIVERSION_RACES",
    "OFFICER_TITLE",
    "load_clearance",
    "load_diversion",
    "load_employees",
]


_UNKNOWN = "Unknown"


def _rows(df: pd.DataFrame) -> np.ndarray:
    return np.arange(1, len(df) + 1)


def _dates(
    raw: pd.Series, column: str, rows: np.ndarray, report: LoadReport, *, fmt: str | None = None
) -> tuple[pd.Series, np.ndarray]:
    """Parse dates (tz-naive, UTC where the file says so); unreadable ones are set aside and named."""
    text = raw.str.strip()
    if fmt is None:
        parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601").dt.tz_localize(None)
    else:
        parsed = pd.to_datetime(text, errors="coerce", format=fmt)
    bad = parsed.isna().to_numpy()
    if bad.any():
        report.add(
            "set_aside",
            column,
            f"not a date ({quote_values(sorted(set(text[bad]))[:5])}; expected {fmt or 'an ISO 8601 date'})",
            rows[bad],
        )
    return parsed.dt.floor("D"), bad


def _fold(raw: pd.Series, known: tuple[str, ...], column: str, rows: np.ndarray, report: LoadReport) -> pd.Series:
    """Fold case variants of ``known`` values onto them (reported as repaired); other values pass unchanged."""
    text = raw.str.strip()
    canon = {k.lower(): k for k in known}
    folded = text.str.lower().map(canon).fillna(text)
    report.add(
        "repaired", column, f"case or spaces differ from {', '.join(known)}; folded", rows[(folded != raw).to_numpy()]
    )
    return folded


def load_clearance(
    path: str | Path | None = None, *, settings: Settings | None = None
) -> tuple[pd.DataFrame, LoadReport]:
    """Load the simple-assault and intimidation reports 2017-2024 with their clearance status.

    Returns
    -------
    clearance : pandas.DataFrame
        ``row``, ``offense`` (``HIGHEST_NIBRS_DESCRIPTION``), ``clearance``
        (``CLEARANCE_STATUS`` as given), ``cleared`` (its label, :data:`CLEARANCE`;
        missing for an unknown status), ``date`` (``DATE_REPORTED``), ``year``,
        ``division`` (the polygons' ``DNAME``; missing for a name that is no CMPD
        division, such as the towns Huntersville and Davidson), ``division_raw``.
    report : LoadReport
        Rows set aside (unreadable date) and flagged (unknown status, no CMPD division).

    Raises
    ------
    SchemaError
        If a column is missing.
    """
    p = data_path(path, "clearance", settings)
    df = read_table(p)
    cols = ["HIGHEST_NIBRS_DESCRIPTION", "CLEARANCE_STATUS", "DATE_REPORTED", "CMPD_PATROL_DIVISION"]
    require_columns(df, cols, p, "the clearance table")
    report = LoadReport("clearance", str(p), rows_read=len(df))
    rows = _rows(df)
    date, bad = _dates(df["DATE_REPORTED"], "DATE_REPORTED", rows, report, fmt="%Y-%m-%d")
    status = df["CLEARANCE_STATUS"].str.strip()
    unknown = ~status.isin(list(CLEARANCE)).to_numpy()
    if unknown.any():
        report.add(
            "flagged",
            "CLEARANCE_STATUS",
            f"unknown status {quote_values(sorted(set(status[unknown])))}; cleared left missing "
            f"(known: {', '.join(CLEARANCE)})",
            rows[unknown],
        )
    raw_div = df["CMPD_PATROL_DIVISION"].str.strip()
    full = raw_div + " Division"
    is_div = full.isin(list(DIVISIONS.values())).to_numpy()
    for name in sorted(set(raw_div[~is_div])):
        which = (~is_div) & (raw_div == name).to_numpy()
        what = "no division recorded" if name == "" else f"{name!r} is not a CMPD patrol division"
        report.add("flagged", "CMPD_PATROL_DIVISION", f"{what}; kept with division missing", rows[which])
    keep = ~bad
    out = pd.DataFrame(
        {
            "row": rows[keep],
            "offense": df.loc[keep, "HIGHEST_NIBRS_DESCRIPTION"].str.strip().to_numpy(),
            "clearance": status[keep].to_numpy(),
            "cleared": pd.Categorical(status[keep].map(CLEARANCE), categories=list(dict.fromkeys(CLEARANCE.values()))),
            "date": date[keep].to_numpy(),
            "year": date[keep].dt.year.astype("int64").to_numpy(),
            "division": full.where(is_div)[keep].to_numpy(),
            "division_raw": raw_div[keep].to_numpy(),
        }
    )
    return out, report


def load_diversion(
    path: str | Path | None = None, *, settings: Settings | None = None
) -> tuple[pd.DataFrame, LoadReport]:
    """Load the CMPD juvenile diversion referrals, 2013-2016.

    Returns
    -------
    diversion : pandas.DataFrame
        ``row``, ``race`` (one of :data:`DIVERSION_RACES`, case folded, or ``"Unknown"``),
        ``race_raw``, ``gender`` (``Male``/``Female``, case folded), ``status`` (as given),
        ``outcome`` (:data:`DIVERSION_OUTCOMES`; missing for an unknown status),
        ``status_reason`` (as given; missing when blank), ``intake_date``, ``year``.
    report : LoadReport
        Rows set aside (unreadable intake date), repaired (case variants of race and
        gender) and flagged (race not a known value, unknown status); a note on the
        spellings of ``status`` that ``outcome`` folds.

    Raises
    ------
    SchemaError
        If a column is missing.
    """
    p = data_path(path, "diversion", settings)
    df = read_table(p)
    cols = ["Juvenile_race_ethnicity", "Juvenile_gender", "status", "status_reason", "intake_date"]
    require_columns(df, cols, p, "the diversion table")
    report = LoadReport("diversion", str(p), rows_read=len(df))
    rows = _rows(df)
    date, bad = _dates(df["intake_date"], "intake_date", rows, report)
    race = _fold(df["Juvenile_race_ethnicity"], DIVERSION_RACES, "Juvenile_race_ethnicity", rows, report)
    odd = ~race.isin(DIVERSION_RACES).to_numpy()
    if odd.any():
        report.add(
            "flagged",
            "Juvenile_race_ethnicity",
            f"race/ethnicity {quote_values(sorted(set(race[odd])))} is not one of {', '.join(DIVERSION_RACES)}; "
            f"kept as {_UNKNOWN!r}",
            rows[odd],
        )
    gender = _fold(df["Juvenile_gender"], ("Male", "Female"), "Juvenile_gender", rows, report)
    status = df["status"].str.strip()
    outcome = status.str.lower().map(DIVERSION_OUTCOMES)
    spellings = status.groupby(status.str.lower()).unique()
    several = {k: v for k, v in spellings.items() if len(v) > 1}
    if several:
        report.notes.append(
            "status is spelled in several cases; outcome folds them: "
            + "; ".join(" / ".join(sorted(v)) for v in several.values())
        )
    report.add("flagged", "status", "unknown status; outcome left missing", rows[outcome.isna().to_numpy()])
    reason = df["status_reason"].str.strip()
    keep = ~bad
    out = pd.DataFrame(
        {
            "row": rows[keep],
            "race": race.where(~odd, _UNKNOWN)[keep].to_numpy(),
            "race_raw": df.loc[keep, "Juvenile_race_ethnicity"].to_numpy(),
            "gender": gender[keep].to_numpy(),
            "status": status[keep].to_numpy(),
            "outcome": pd.Categorical(outcome[keep], categories=list(dict.fromkeys(DIVERSION_OUTCOMES.values()))),
            "status_reason": reason.where(reason != "")[keep].to_numpy(),
            "intake_date": date[keep].to_numpy(),
            "year": date[keep].dt.year.astype("int64").to_numpy(),
        }
    )
    return out, report


def _number(raw: pd.Series, column: str, rows: np.ndarray, report: LoadReport) -> pd.Series:
    """Numbers; a blank or non-numeric cell is kept missing and reported (blanks and others apart)."""
    text = raw.str.strip()
    value = pd.to_numeric(text, errors="coerce")
    blank = (text == "").to_numpy()
    report.add("flagged", column, "blank; kept missing", rows[blank])
    other = value.isna().to_numpy() & ~blank
    if other.any():
        report.add(
            "flagged", column, f"not a number ({quote_values(sorted(set(text[other])))}); kept missing", rows[other]
        )
    return value.astype("float64")


def load_employees(
    path: str | Path | None = None, *, settings: Settings | None = None
) -> tuple[pd.DataFrame, LoadReport]:
    """Load the CMPD employee demographics table (2017).

    Returns
    -------
    employees : pandas.DataFrame
        ``row``, ``job_title``, ``race`` (as given; missing when blank), ``gender``,
        ``age`` (float; missing when not a number), ``years_of_service`` (float, fractions
        of a year for new staff), ``is_officer`` (``job_title`` is :data:`OFFICER_TITLE`).
    report : LoadReport
        Rows flagged: blank race, blank or non-numeric age and years of service, a
        negative years of service. No row is set aside.

    Raises
    ------
    SchemaError
        If a column is missing.
    """
    p = data_path(path, "employees", settings)
    df = read_table(p)
    require_columns(df, ["JOB_TITLE", "Years_Of_Service", "Age", "Gender", "Race"], p, "the employee table")
    report = LoadReport("employees", str(p), rows_read=len(df))
    rows = _rows(df)
    race = df["Race"].str.strip()
    report.add("flagged", "Race", "blank race; kept missing", rows[(race == "").to_numpy()])
    gender = df["Gender"].str.strip()
    report.add("flagged", "Gender", "blank gender; kept missing", rows[(gender == "").to_numpy()])
    age = _number(df["Age"], "Age", rows, report)
    years = _number(df["Years_Of_Service"], "Years_Of_Service", rows, report)
    report.add("flagged", "Years_Of_Service", "negative years of service; kept as given", rows[(years < 0).to_numpy()])
    title = df["JOB_TITLE"].str.strip()
    out = pd.DataFrame(
        {
            "row": rows,
            "job_title": title.to_numpy(),
            "race": race.where(race != "").to_numpy(),
            "gender": gender.where(gender != "").to_numpy(),
            "age": age.to_numpy(),
            "years_of_service": years.to_numpy(),
            "is_officer": (title == OFFICER_TITLE).to_numpy(),
        }
    )
    return out, report
