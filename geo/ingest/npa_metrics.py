"""Quality of Life Explorer metric files: one tidy table of NPA measures by year."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from geo.errors import DataFileError, SchemaError, quote_values
from geo.ingest.files import read_table, require_columns, settings_or_default
from geo.ingest.report import LoadReport
from geo.ingest.sources import DATASETS, resolve
from geo.settings import Settings

__all__ = ["load_npa_metrics"]


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
        (float; missing values stay missing), ``source`` (metric code). The
        ``*_per_1000_denominator`` measures are population / 1,000 for the crime year.
    report : LoadReport
    """
    s = settings_or_default(settings)
    frames = []
    report = LoadReport("npa_metrics", str(s.data_dir / "npa" / "metric"))
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
        long = vals.assign(npa=ids[~bad].astype(int).to_numpy()).melt(
            id_vars="npa", var_name="year", value_name="value"
        )
        long["year"] = long["year"].str[2:].astype(int)
        long["measure"] = measure
        long["source"] = code
        frames.append(long)
    out = pd.concat(frames, ignore_index=True)[["npa", "year", "measure", "value", "source"]]
    out["measure"] = out["measure"].astype("category")
    return out, report
