"""The Open Data Policing NC workbook (NC SBI data, citywide): sheets in, tidy tables and a report out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from geo.errors import DataFileError, SchemaError, ValueDomainError
from geo.ingest.report import LoadReport
from geo.ingest.sources import resolve
from geo.settings import Settings, get_settings
from geo.vocab import ODP_RACES

if TYPE_CHECKING:
    from openpyxl import Workbook

__all__ = ["ODP_SHEETS", "parse_fraction", "OdpWorkbook", "load_odp_workbook"]


#: Sheet -> (second key column or ``None``, kind of cells: "count" or "fraction", extra columns).
ODP_SHEETS: dict[str, tuple[str | None, str]] = {
    "TRAFFIC_STOP_CNT": (None, "count"),
    "STOP_PURPOSE": ("Stop Purpose", "count"),
    "SEARCH_BY_STOP_TYPE": ("Stop Purpose", "count"),
    "SEARCH_CNT": (None, "count"),
    "SEARCH_RATE": (None, "fraction"),
    "STOP_CAUSE_RATE": ("Stop Purpose", "fraction"),
    "CONTRABAND_RATE": (None, "fraction"),
    "USE_OF_FORCE": ("Stop Purpose", "count"),
}


#: A year with fewer state-reported stops than this is flagged as partial (2024 has 51).
PARTIAL_YEAR_STOPS = 1000


_FRACTION = re.compile(r"^\s*(\d{1,3}(?:,\d{3})*|\d+)\s*/\s*(\d{1,3}(?:,\d{3})*|\d+)\s*$")


def parse_fraction(text: object) -> tuple[int, int]:
    """Parse ``"1,792 / 39,207"`` (or ``"477/10,327"``) into ``(1792, 39207)``.

    Raises
    ------
    ValueDomainError
        If the text is not two whole numbers separated by ``/`` (thousands separated by
        commas or not), or the numerator exceeds the denominator.
    """
    m = _FRACTION.match(str(text)) if isinstance(text, str) else None
    if m is None:
        raise ValueDomainError(f"{text!r} is not a count of the form 'searches / stops' (e.g. '1,792 / 39,207').")
    num, den = (int(g.replace(",", "")) for g in m.groups())
    if num > den:
        raise ValueDomainError(f"{text!r}: the numerator {num:,} exceeds the denominator {den:,}.")
    return num, den


@dataclass
class OdpWorkbook:
    """The Open Data Policing NC workbook as tidy tables (citywide, by year and driver race).

    Attributes
    ----------
    stops
        ``year, race, stops`` (TRAFFIC_STOP_CNT).
    stop_purpose
        ``year, purpose, race, stops`` (STOP_PURPOSE).
    searches
        ``year, race, searches`` (SEARCH_CNT).
    search_rate
        ``year, race, searches, stops`` (SEARCH_RATE; race includes the sheet's ``Total``).
    search_type
        ``year, search_type, race, searches`` (SEARCH_BY_STOP_TYPE: consent, probable cause ...).
    search_by_purpose
        ``year, purpose, race, searches, stops`` (STOP_CAUSE_RATE).
    contraband
        ``year, race, hits, searches`` (CONTRABAND_RATE).
    use_of_force
        ``year, purpose, race, count`` (USE_OF_FORCE).
    partial_years
        Years with fewer than :data:`PARTIAL_YEAR_STOPS` stops (2024).
    """

    stops: pd.DataFrame
    stop_purpose: pd.DataFrame
    searches: pd.DataFrame
    search_rate: pd.DataFrame
    search_type: pd.DataFrame
    search_by_purpose: pd.DataFrame
    contraband: pd.DataFrame
    use_of_force: pd.DataFrame
    partial_years: list[int] = field(default_factory=list)


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


class _Sheet(Protocol):
    """What :func:`_read_sheet` needs of an openpyxl worksheet (cells hold any Excel value)."""

    def iter_rows(self, *, values_only: bool) -> Iterator[tuple[Any, ...]]: ...


def _read_sheet(ws: _Sheet, sheet: str, path: Path, report: LoadReport, errors: list[str]) -> pd.DataFrame:
    key_col, kind = ODP_SHEETS[sheet]
    rows = list(ws.iter_rows(values_only=True))
    if not rows:
        errors.append(f"sheet {sheet}: empty")
        return pd.DataFrame()
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    expected = ["Year", *([key_col] if key_col else []), *ODP_RACES]
    missing = [c for c in expected if c not in header]
    if missing:
        errors.append(
            f"sheet {sheet}: missing column(s) {', '.join(missing)} in row 1 (found {', '.join(h for h in header if h)})"
        )
        return pd.DataFrame()
    value_cols = [*ODP_RACES, *(["Total"] if "Total" in header else [])]
    pos = {c: header.index(c) for c in header if c}
    records = []
    empty_rows = []
    bad: list[str] = []
    for r, values in enumerate(rows[1:], start=2):
        row = list(values) + [None] * (len(header) - len(values))
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            empty_rows.append(r)
            continue
        year = row[pos["Year"]]
        try:
            year = int(year)
            if not 1990 <= year <= 2100 or float(row[pos["Year"]]) != year:
                raise ValueError
        except (TypeError, ValueError):
            bad.append(f"{sheet}!{_col_letter(pos['Year'])}{r} = {row[pos['Year']]!r} (not a year)")
            continue
        key = str(row[pos[key_col]]).strip() if key_col else None
        for race in value_cols:
            cell = row[pos[race]]
            ref = f"{sheet}!{_col_letter(pos[race])}{r}"
            if kind == "count":
                if isinstance(cell, bool) or not isinstance(cell, (int, float)) or cell < 0 or float(cell) != int(cell):
                    if isinstance(cell, str) and cell.replace(",", "").strip().isdigit():
                        cell = int(cell.replace(",", "").strip())
                    else:
                        bad.append(f"{ref} = {cell!r} (not a count)")
                        continue
                records.append((year, key, race, int(cell), np.nan))
            else:
                try:
                    num, den = parse_fraction(cell)
                except ValueDomainError:
                    bad.append(f"{ref} = {cell!r} (not 'a / b' with a <= b)")
                    continue
                records.append((year, key, race, num, den))
    if bad:
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        errors.append(f"sheet {sheet}: {len(bad)} bad cell(s): " + "; ".join(bad[:5]) + more)
    report.rows_read += len(rows) - 1
    report.add("set_aside", sheet, "empty row", [r - 1 for r in empty_rows], file=sheet)
    return pd.DataFrame(records, columns=["year", "key", "race", "a", "b"])


def _open_workbook(path: Path) -> Workbook:
    """The workbook, opened read-only (the caller closes it); a clear error when it cannot be."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if not path.exists():
        raise DataFileError(f"{path}: file not found.")
    if path.stat().st_size == 0:
        raise DataFileError(
            f"{path}: the file is empty (0 bytes); expected the Open Data Policing NC workbook (.xlsx)."
        )
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise DataFileError(
            f"{path}: cannot be read as an Excel workbook ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})."
        ) from None
    except Exception as exc:  # zipfile.BadZipFile and friends
        raise DataFileError(f"{path}: cannot be read as an Excel workbook ({type(exc).__name__}: {exc}).") from None
    return wb


def _note_partial_years(wbk: OdpWorkbook, report: LoadReport) -> None:
    """Set ``wbk.partial_years`` (fewer than :data:`PARTIAL_YEAR_STOPS` stops) and note them."""
    per_year = wbk.stops.groupby("year")["stops"].sum()
    wbk.partial_years = [int(y) for y, v in per_year.items() if v < PARTIAL_YEAR_STOPS]
    if wbk.partial_years:
        report.notes.append(
            "partial year(s) "
            + ", ".join(f"{y} ({int(per_year[y]):,} stops)" for y in wbk.partial_years)
            + ": kept, flagged partial_year"
        )


def _note_inconsistencies(wbk: OdpWorkbook, report: LoadReport) -> None:
    """Note where the sheets disagree with each other (reported, not fixed)."""
    per_year = wbk.stops.groupby("year")["stops"].sum()
    total = wbk.search_rate[wbk.search_rate["race"] == "Total"].set_index("year")["stops"]
    by_race = per_year.reindex(total.index)
    diff = by_race - total
    if (diff != 0).any():
        d = diff[diff != 0]
        report.notes.append(
            f"SEARCH_RATE's Total column counts fewer stops than the race columns in {len(d)} year(s) "
            f"(e.g. {int(d.index[0])}: {int(total[d.index[0]]):,} vs {int(by_race[d.index[0]]):,}); the race columns are used"
        )
    srch = wbk.searches.set_index(["year", "race"])["searches"]
    sr = wbk.search_rate[wbk.search_rate["race"] != "Total"].set_index(["year", "race"])["searches"]
    if not srch.reindex(sr.index).eq(sr).all():
        report.notes.append("SEARCH_CNT and SEARCH_RATE numerators differ in some cells")


def load_odp_workbook(
    path: str | Path | None = None, *, settings: Settings | None = None
) -> tuple[OdpWorkbook, LoadReport]:
    """Read the Open Data Policing NC workbook for CMPD (citywide, 2002-2024).

    Parameters
    ----------
    path
        The ``.xlsx`` file; by default ``resolve("odp_workbook", data_dir)``.
    settings
        Settings (data folder).

    Returns
    -------
    workbook : OdpWorkbook
    report : LoadReport
        Empty rows set aside (per sheet; row numbers are data rows), partial years.

    Raises
    ------
    DataFileError
        The file is missing or not an xlsx workbook.
    SchemaError
        A sheet or a column is missing.
    ValueDomainError
        Cells that are not counts or not ``"a / b"`` fractions (every one listed by
        sheet and cell, e.g. ``SEARCH_RATE!B5``).
    """
    s = settings if settings is not None else get_settings()
    path = Path(path) if path is not None else resolve("odp_workbook", s.data_dir)
    wb = _open_workbook(path)
    try:
        missing = [sh for sh in ODP_SHEETS if sh not in wb.sheetnames]
        if missing:
            raise SchemaError(f"{path}: missing sheet(s) {', '.join(missing)}; found {', '.join(wb.sheetnames)}.")
        report = LoadReport("odp_workbook", str(path))
        errors: list[str] = []
        raw = {sh: _read_sheet(wb[sh], sh, path, report, errors) for sh in ODP_SHEETS}
    finally:
        wb.close()
    if errors:
        schema = [e for e in errors if "missing column" in e or ": empty" in e]
        cls = SchemaError if schema else ValueDomainError
        raise cls(f"{path}: {len(errors)} problem(s) in the workbook:\n  - " + "\n  - ".join(errors))

    def simple(sh: str, value: str) -> pd.DataFrame:
        d = raw[sh]
        return d.rename(columns={"a": value})[["year", "race", value]].reset_index(drop=True)

    def keyed(sh: str, key: str, value: str) -> pd.DataFrame:
        d = raw[sh]
        return d.rename(columns={"key": key, "a": value})[["year", key, "race", value]].reset_index(drop=True)

    def frac(sh: str, key: str | None, num: str, den: str) -> pd.DataFrame:
        d = raw[sh].rename(columns={"key": key or "key", "a": num, "b": den})
        cols = ["year", *([key] if key else []), "race", num, den]
        out = d[cols].reset_index(drop=True)
        out[den] = out[den].astype("int64")
        return out

    wbk = OdpWorkbook(
        stops=simple("TRAFFIC_STOP_CNT", "stops"),
        stop_purpose=keyed("STOP_PURPOSE", "purpose", "stops"),
        searches=simple("SEARCH_CNT", "searches"),
        search_rate=frac("SEARCH_RATE", None, "searches", "stops"),
        search_type=keyed("SEARCH_BY_STOP_TYPE", "search_type", "searches"),
        search_by_purpose=frac("STOP_CAUSE_RATE", "purpose", "searches", "stops"),
        contraband=frac("CONTRABAND_RATE", None, "hits", "searches"),
        use_of_force=keyed("USE_OF_FORCE", "purpose", "count"),
    )
    _note_partial_years(wbk, report)
    _note_inconsistencies(wbk, report)
    return wbk, report
