"""Quality of Life Explorer metric files: one tidy table of NPA measures by year.

A blank cell is not zero. Blanks stay missing and are reported, file by file. A blank
count of one race group (``r14``-``r18``) is derived when it is determined by the
others: the five groups partition the population (``r47``; in 2010 and 2020 they sum to
it exactly in every complete NPA, in 2000 to within 2), so a single blank group is the
population minus the other four, clipped at 0, and several blank groups are all 0 when
the known groups already reach the population. Every derived value is marked
(``derived``) and reported as repaired; any other blank is reported as kept missing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from geo.errors import DataFileError, SchemaError, quote_values
from geo.ingest.files import read_table, require_columns, settings_or_default
from geo.ingest.report import Action, LoadReport
from geo.ingest.sources import DATASETS, resolve
from geo.settings import Settings

__all__ = ["load_npa_metrics", "NPA_MEASURES", "RACE_MEASURES"]


#: Quality of Life metric files: file -> measure name.
NPA_MEASURES: dict[str, str] = {
    "r1": "land_acres",
    "r47": "population",
    "r14": "white_nh",
    "r15": "black_nh",
    "r16": "asian_nh",
    "r17": "other_nh",
    "r18": "hispanic",
    "r58": "violent_crimes",
    "d58": "violent_per_1000_denominator",
    "r59": "property_crimes",
    "d59": "property_per_1000_denominator",
    "r60": "disorder_calls",
    "d60": "disorder_per_1000_denominator",
    "r37": "household_income_aggregate",
    "d37": "households",
}


#: The race groups, which partition the population (``r47``): Hispanic of any race and
#: the non-Hispanic race groups.
RACE_MEASURES = ("white_nh", "black_nh", "asian_nh", "other_nh", "hispanic")


def load_npa_metrics(
    *,
    npa_ids: Sequence[int] | None = None,
    settings: Settings | None = None,
    files: dict[str, Path] | None = None,
) -> tuple[pd.DataFrame, LoadReport]:
    """Load the Quality of Life metric files as one tidy table.

    Parameters
    ----------
    npa_ids
        The NPA ids of the geography; rows for other ids are set aside and reported
        (``r14``, ``r60`` and ``d60`` carry an id 384 that has no polygon).
    settings
        Settings (data folder).
    files
        Metric code -> file, instead of the fetched ones (for tests).

    Returns
    -------
    metrics : pandas.DataFrame
        Columns ``npa``, ``year``, ``measure`` (see :data:`NPA_MEASURES`), ``value``
        (float; blank cells stay missing, never zero), ``source`` (metric code),
        ``derived`` (True where a blank race count was derived from the population
        and the other groups, see the module notes). The ``*_per_1000_denominator``
        measures are population / 1,000 for the crime year.
    report : LoadReport
        Rows set aside (ids not in the geography), non-numeric values, every blank
        race count (file, year column, NPA: derived and its value, or kept missing
        and why) and, per other file, the blank cells kept missing.
    """
    s = settings_or_default(settings)
    frames = []
    report = LoadReport("npa_metrics", str(s.data_dir / "npa" / "metric"))
    row_of: dict[str, pd.Series] = {}
    for code, measure in NPA_MEASURES.items():
        if files is not None:
            if code not in files:
                continue
            path = Path(files[code])
        else:
            try:
                path = resolve(f"npa_metric_{code}", s.data_dir)
            except DataFileError:
                if DATASETS[f"npa_metric_{code}"].required:
                    raise
                report.notes.append(f"optional metric file {code} ({measure}) not present")
                continue
        df = read_table(path)
        require_columns(df, ["id"], path, f"the metric file {code}")
        ycols = [c for c in df.columns if re.fullmatch(r"y_\d{4}", c)]
        if not ycols:
            raise SchemaError(f"{path}: no year columns (y_YYYY) found; columns are {', '.join(df.columns)}.")
        ids = pd.to_numeric(df["id"], errors="coerce")
        rows = np.arange(1, len(df) + 1)
        bad = ids.isna().to_numpy()
        report.add("set_aside", "id", "id is not a number", rows[bad], file=path.name)
        if npa_ids is not None:
            extra = (~ids.isin(list(npa_ids)) & ~ids.isna()).to_numpy()
            if extra.any():
                report.add(
                    "set_aside",
                    "id",
                    f"NPA id(s) {quote_values(ids[extra].astype(int).tolist())} not in the NPA geography",
                    rows[extra],
                    file=path.name,
                )
            bad = bad | extra
        report.rows_read += len(df)
        vals = df.loc[~bad, ycols].apply(
            lambda c: pd.to_numeric(c.str.strip().replace({"": np.nan, "NA": np.nan}), errors="coerce")
        )
        nonnum = df.loc[~bad, ycols].apply(lambda c: c.str.strip().ne("") & c.str.strip().ne("NA")) & vals.isna()
        if nonnum.to_numpy().any():
            r = rows[~bad][nonnum.any(axis=1).to_numpy()]
            report.add("repaired", "y_*", "non-numeric value(s) read as missing", r, file=path.name)
        row_of[code] = pd.Series(rows[~bad], index=ids[~bad].astype(int).to_numpy())
        if measure not in RACE_MEASURES:
            _report_blanks(report, vals.isna() & ~nonnum, rows[~bad], file=path.name)
        long = vals.assign(npa=ids[~bad].astype(int).to_numpy()).melt(
            id_vars="npa", var_name="year", value_name="value"
        )
        long["year"] = long["year"].str[2:].astype(int)
        long["measure"] = measure
        long["source"] = code
        frames.append(long)
    out = pd.concat(frames, ignore_index=True)[["npa", "year", "measure", "value", "source"]]
    out = _derive_race_blanks(out, report, row_of)
    out["measure"] = out["measure"].astype("category")
    return out, report


def _report_blanks(report: LoadReport, blank: pd.DataFrame, rows: np.ndarray, *, file: str) -> None:
    """One issue per file: the rows with blank cells, kept missing, with the count per year column."""
    per_col = blank.sum()
    if not per_col.any():
        return
    cols = ", ".join(f"{c}: {int(n):,}" for c, n in per_col.items() if n)
    report.add(
        "flagged",
        "y_*",
        f"blank value(s) kept missing, not zero ({cols})",
        rows[blank.any(axis=1).to_numpy()],
        file=file,
    )


def _derive_race_blanks(out: pd.DataFrame, report: LoadReport, row_of: dict[str, pd.Series]) -> pd.DataFrame:
    """Derive the blank race counts the population and the other groups determine; report every blank.

    See the module notes for the rule. Returns a copy of ``out`` with the ``derived``
    column; each blank is reported on its own file and year column (``repaired`` when
    derived, ``flagged`` when kept missing), naming the NPA.
    """
    out = out.assign(derived=False)
    race = out[out["measure"].isin(RACE_MEASURES)]
    blanks = race[race["value"].isna()]
    if blanks.empty:
        return out
    key = ["npa", "year", "measure"]
    cells = out[out["measure"].isin(("population", *RACE_MEASURES))].groupby(key)["value"]
    table = pd.DataFrame({"value": cells.first(), "present": cells.size() > 0}).unstack("measure")
    found: dict[tuple[str, str, Action], list[tuple[int, str]]] = {}
    new_values: dict[tuple[int, int, str], float] = {}
    for (npa, year), group in blanks.groupby(["npa", "year"]):
        derived, why = _derive_one(table, int(npa), int(year), list(group["measure"]))
        for _, b in group.iterrows():
            action: Action = "repaired" if b["measure"] in derived else "flagged"
            detail = f"NPA {int(npa)} = {derived[b['measure']]:,.0f}" if action == "repaired" else f"NPA {int(npa)}"
            found.setdefault((b["source"], f"y_{int(year)}", action), []).append((int(npa), f"{detail} ({why})"))
            if action == "repaired":
                new_values[(int(npa), int(year), b["measure"])] = derived[b["measure"]]
    for (code, col, action), items in found.items():
        rows = row_of[code].reindex([n for n, _ in items]).dropna().astype(int).to_numpy()
        head = (
            "blank count derived from the population (r47) and the other race groups, not zero-filled"
            if action == "repaired"
            else "blank count kept missing (not zero)"
        )
        report.add(action, col, f"{head}: {'; '.join(d for _, d in items)}", rows, file=f"{code}.csv")
    if new_values:
        idx = pd.MultiIndex.from_frame(out[key].astype({"measure": str}))
        hit = idx.isin(list(new_values))
        out.loc[hit, "value"] = [new_values[k] for k in idx[hit]]
        out.loc[hit, "derived"] = True
    return out


def _derive_one(table: pd.DataFrame, npa: int, year: int, blank: list[str]) -> tuple[dict[str, float], str]:
    """The derived values of one NPA-year's blank race groups (empty when they stay missing), and why."""
    value = table["value"].loc[(npa, year)]
    present = table["present"].loc[(npa, year)].astype("boolean").fillna(False)
    total = float(value.get("population", np.nan))
    absent = [g for g in RACE_MEASURES if not bool(present.get(g, False))]
    if absent:
        return {}, f"no {', '.join(absent)} row in its file, so the other groups do not determine it"
    if not np.isfinite(total):
        return {}, "its population is blank too"
    known = float(value[[g for g in RACE_MEASURES if g not in blank]].sum())
    rest = max(total - known, 0.0)
    if len(blank) == 1:
        return {blank[0]: rest}, f"population {total:,.0f} minus the other groups {known:,.0f}, clipped at 0"
    if rest == 0:
        why = f"{len(blank)} groups blank; the known groups ({known:,.0f}) already reach the population ({total:,.0f})"
        return dict.fromkeys(blank, 0.0), why
    return {}, f"{len(blank)} groups blank share {rest:,.0f} resident(s) of {total:,.0f}; they cannot be split"
