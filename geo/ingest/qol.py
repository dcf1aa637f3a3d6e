"""Every Quality of Life Explorer metric: the catalogue (what each metric is) and one tidy table of values.

How the explorer makes a metric (its ``build/build.cjs`` and ``data/README.md``, at the
commit the mirror was copied from): metric ``mNN`` of ``qol_metric_config.json`` is made of
``rNN.csv`` (the raw numerator) and, when it exists, ``dNN.csv`` (the denominator); the
years are the ``y_YYYY`` columns of ``rNN``. With both files the value of an NPA is
``round(r / d, 4)`` when both cells are numbers; with ``rNN`` alone the value is ``r``
(a ``sum`` metric). A value file ``mNN.csv``, where one exists, is used as is.
``mNN-accuracy.csv`` holds margins of error (listed in the catalogue, not loaded here).

There is no multiplier in the configuration: the denominators carry the scale. A
``format: "percent"`` metric has a denominator of base / 100 (``d13`` is the population
÷ 100), so its value is already a percentage (0-100); the explorer divides by 100 only to
print it with a % sign. "Per 1,000 residents" metrics have the population ÷ 1,000 as
denominator (``d58``). ``sum: true`` (or ``type: "sum"``) marks metrics whose NPA values
are added when NPAs are combined; the others are combined as sum(r) / sum(d).

A blank cell (the explorer suppresses small NPAs) stays missing and is counted in the
report, as is a zero denominator (value missing: the explorer would show infinity).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo.errors import DataFileError, SchemaError, ValueDomainError, quote_values
from geo.ingest.files import read_table, settings_or_default
from geo.ingest.report import LoadReport
from geo.ingest.sources import DATASETS, QOL_META_FILES, read_manifest, resolve
from geo.settings import Settings

__all__ = ["DECIMALS", "META_SECTIONS", "load_qol_catalogue", "load_qol_metrics", "metric_files", "plain_text"]


#: The explorer rounds r / d to this many decimals.
DECIMALS = 4

#: Headings of the explorer's metric descriptions (``npa/meta/mNN.md``) -> catalogue column.
META_SECTIONS: dict[str, str] = {
    "why is this important?": "why_it_matters",
    "how are we doing?": "how_are_we_doing",
    "did you know?": "did_you_know",
    "about the data": "about_the_data",
}

_CATALOGUE_TEXT = ("what_it_measures", *META_SECTIONS.values(), "source")


def _file(code: str, s: Settings, manifest: dict[str, Any]) -> Path | None:
    """The metric file ``code`` (``r58``, ``m2-accuracy``), or None when it is not registered or not present."""
    key = f"npa_metric_{code}"
    if key not in DATASETS:
        return None
    try:
        return resolve(key, s.data_dir, manifest=manifest)
    except DataFileError:
        return None


def metric_files(
    metric: str, *, settings: Settings | None = None, manifest: dict[str, Any] | None = None
) -> dict[str, Path]:
    """The files that make ``metric`` (``"m58"``): roles ``value``, ``numerator``, ``denominator``, ``margin``.

    Only the files present are returned (see the module notes for the rule). ``manifest``
    (:func:`geo.ingest.sources.read_manifest` of the data folder) saves reading it again.
    """
    s = settings_or_default(settings)
    m = manifest if manifest is not None else read_manifest(s.data_dir)
    n = metric.removeprefix("m")
    roles = {"value": f"m{n}", "numerator": f"r{n}", "denominator": f"d{n}", "margin": f"m{n}-accuracy"}
    return {role: p for role, code in roles.items() if (p := _file(code, s, m)) is not None}


def _read_config(s: Settings) -> tuple[Path, list[dict[str, Any]]]:
    path = resolve("qol_config", s.data_dir)
    try:
        config = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: is not valid JSON ({exc}); expected the explorer's list of metrics.") from None
    if not isinstance(config, list) or not all(isinstance(c, dict) for c in config):
        raise SchemaError(f"{path}: expected a JSON list of metric objects (each with a 'metric' id).")
    return path, config


def _years(path: Path) -> list[int]:
    """The ``y_YYYY`` columns of a metric file (its header only)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh), [])
    return [int(c.strip()[2:]) for c in header if re.fullmatch(r"y_\d{4}", c.strip())]


def plain_text(markdown: str) -> str:
    """Markdown of a description as plain text: no tags, links as their text, no emphasis marks or tables."""
    text = re.sub(r"[\u200B-\u200D\uFEFF]", "", markdown.replace("\r", ""))
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(\*\*|__|\*)", "", text)
    text = re.sub(r"(?m)^_(.*)_\s*$", r"\1", text)
    text = re.sub(r"(?m)^\|.*$", "", text)
    text = re.sub(r"(?m)^#+\s*(.*?)\s*$", r"\n\1\n", text)
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p)


def _describe(markdown: str) -> dict[str, str]:
    """Split a description into :data:`META_SECTIONS`, the subtitle and the source line, as plain text."""
    out = dict.fromkeys(_CATALOGUE_TEXT, "")
    body = markdown.replace("\r", "")
    m = re.search(r"(?im)^\s*_?\*\*source\*\*:\s*(.+?)\s*$", body)
    if m:
        out["source"] = plain_text(m.group(1).rstrip("_"))
        body = body[: m.start()] + body[m.end() :]
    parts = re.split(r"(?m)^(#{2,4})\s*(.+?)\s*$", body)
    # parts: [before, level, heading, text, level, heading, text, ...]
    for level, heading, text in zip(parts[1::3], parts[2::3], parts[3::3], strict=True):
        key = heading.strip().lower()
        if level == "##":
            out["what_it_measures"] = plain_text(text)
        elif key in META_SECTIONS:
            out[META_SECTIONS[key]] = plain_text(text)
    return out


def _catalogue_row(
    entry: dict[str, Any], s: Settings, manifest: dict[str, Any], report: LoadReport, row: int
) -> dict[str, Any]:
    metric = str(entry["metric"]).strip()
    files = metric_files(metric, settings=s, manifest=manifest)
    years_from = files.get("value") or files.get("numerator")
    years = _years(years_from) if years_from else []
    if not years_from:
        report.add("flagged", "metric", f"{metric}: no metric file (m/r) in the data folder; no years", [row])
    computation = "m" if "value" in files else ("r/d" if "denominator" in files else "r")
    try:
        meta = resolve(f"npa_meta_{metric}", s.data_dir, manifest=manifest).read_text(encoding="utf-8-sig")
    except (KeyError, DataFileError):
        meta = ""
        report.add("flagged", "description", f"{metric}: no description file npa/meta/{metric}.md", [row])
    return {
        "metric": metric,
        "title": str(entry.get("title", "")).strip(),
        "subtitle": str(entry.get("subtitle", "")).strip(),
        "category": str(entry.get("category", "")).strip(),
        "label": plain_text(str(entry.get("label", ""))),
        "raw_label": plain_text(str(entry.get("raw_label", ""))),
        "format": str(entry.get("format", "")),
        "decimals": int(entry.get("decimals", 0)),
        "years": ",".join(map(str, years)),
        "first_year": min(years) if years else pd.NA,
        "last_year": max(years) if years else pd.NA,
        "computation": computation,
        "files": ",".join(p.name for p in files.values()),
        "sums": bool(entry.get("sum", False)) or entry.get("type") == "sum",
        "description": plain_text(meta),
        **_describe(meta),
    }


def load_qol_catalogue(*, settings: Settings | None = None) -> tuple[pd.DataFrame, LoadReport]:
    """One row per metric of the explorer's configuration (``qol_metric_config.json``, 83 metrics).

    Returns
    -------
    catalogue : pandas.DataFrame
        ``metric`` (``m2`` ...), ``title``, ``subtitle``, ``category``, ``label`` (units),
        ``raw_label`` (units of the numerator), ``format`` (``percent``, ``money`` or ``""``),
        ``decimals``, ``years`` (comma-separated ``y_YYYY`` years of the metric file),
        ``first_year``, ``last_year``, ``computation`` (``r/d``, ``r`` or ``m``, see the module
        notes), ``files`` (comma-separated file names, margins included), ``sums``,
        ``description`` (the whole ``npa/meta/mNN.md`` as plain text) and its parts
        ``what_it_measures``, ``why_it_matters``, ``how_are_we_doing``, ``did_you_know``,
        ``about_the_data`` (technical notes), ``source`` (empty where a file lacks the heading).
    report : LoadReport
        Entries set aside (no ``metric`` id, repeated id), flagged (no metric file, no
        description); a note on description files that no metric uses.
    """
    s = settings_or_default(settings)
    path, config = _read_config(s)
    manifest = read_manifest(s.data_dir)
    report = LoadReport("qol_catalogue", str(path), rows_read=len(config))
    rows = []
    seen: set[str] = set()
    for i, entry in enumerate(config, start=1):
        metric = str(entry.get("metric", "")).strip()
        if not re.fullmatch(r"m\d+", metric):
            report.add("set_aside", "metric", f"no metric id of the form mNN ({metric!r})", [i])
            continue
        if metric in seen:
            report.add("set_aside", "metric", f"{metric} listed again; the first entry is kept", [i])
            continue
        seen.add(metric)
        rows.append(_catalogue_row(entry, s, manifest, report, i))
    unused = [m for m in QOL_META_FILES if m not in seen]
    if unused:
        report.notes.append(f"description files with no metric in the configuration: {', '.join(unused)}")
    out = pd.DataFrame(rows)
    for c in ("first_year", "last_year"):
        out[c] = out[c].astype("Int64")
    return out, report


def _read_metric_file(path: Path, npa_ids: Sequence[int] | None, report: LoadReport) -> tuple[pd.DataFrame, pd.Series]:
    """One metric file as NPA x year floats (blanks missing), and each NPA's data row; problems reported."""
    df = read_table(path)
    if "id" not in df.columns:
        raise SchemaError(f"{path}: the metric file has no 'id' column; columns are {', '.join(df.columns)}.")
    ycols = [c for c in df.columns if re.fullmatch(r"y_\d{4}", c)]
    if not ycols:
        raise SchemaError(f"{path}: no year columns (y_YYYY) found; columns are {', '.join(df.columns)}.")
    report.rows_read += len(df)
    rows = np.arange(1, len(df) + 1)
    ids = pd.to_numeric(df["id"].str.strip(), errors="coerce")
    bad = ids.isna().to_numpy() | (ids != ids.round()).to_numpy()
    report.add("set_aside", "id", "id is not a whole number", rows[bad], file=path.name)
    if npa_ids is not None:
        extra = ~bad & ~ids.isin(list(npa_ids)).to_numpy()
        if extra.any():
            report.add(
                "set_aside",
                "id",
                f"NPA id(s) {quote_values(ids[extra].astype(int).tolist())} not in the NPA geography",
                rows[extra],
                file=path.name,
            )
        bad |= extra
    # one flat column for speed (166 files): strip, mark blanks, parse, fold back to NPA x year
    flat = np.char.strip(df.loc[~bad, ycols].to_numpy(dtype=str).ravel())
    flat_blank = (flat == "") | (flat == "NA")
    flat_vals = pd.to_numeric(pd.Series(np.where(flat_blank, "nan", flat), dtype=object), errors="coerce")
    shape = (int((~bad).sum()), len(ycols))
    vals = pd.DataFrame(flat_vals.to_numpy(dtype="float64").reshape(shape), columns=ycols)
    blank = pd.DataFrame(flat_blank.reshape(shape), columns=ycols)
    nonnum = vals.isna() & ~blank
    kept_rows = rows[~bad]
    if nonnum.to_numpy().any():
        report.add(
            "repaired",
            "y_*",
            "non-numeric value(s) read as missing",
            kept_rows[nonnum.any(axis=1).to_numpy()],
            file=path.name,
        )
    per_col = blank.sum()
    if per_col.any():
        cols = ", ".join(f"{c}: {int(n):,}" for c, n in per_col.items() if n)
        report.add(
            "flagged",
            "y_*",
            f"blank value(s) (suppressed) kept missing ({cols})",
            kept_rows[blank.any(axis=1).to_numpy()],
            file=path.name,
        )
    npa = ids[~bad].astype("int64").to_numpy()
    vals.index = pd.Index(npa, name="npa")
    vals.columns = pd.Index([int(c[2:]) for c in ycols], name="year")
    return vals, pd.Series(kept_rows, index=npa)


def _metric_long(
    metric: str, files: dict[str, Path], npa_ids: Sequence[int] | None, report: LoadReport
) -> pd.DataFrame:
    """One metric as long rows ``npa, metric, year, value, numerator, denominator``."""
    if "value" in files:
        m, _ = _read_metric_file(files["value"], npa_ids, report)
        wide = {"value": m}
    else:
        r, _ = _read_metric_file(files["numerator"], npa_ids, report)
        wide = {"numerator": r}
        if "denominator" in files:
            d, drow = _read_metric_file(files["denominator"], npa_ids, report)
            wide["denominator"] = d.reindex(columns=r.columns)
            missing_years = sorted(set(r.columns) - set(d.columns))
            if missing_years:
                report.notes.append(f"{metric}: {files['denominator'].name} has no column for year(s) {missing_years}")
    cols = {k: v.stack(future_stack=True) for k, v in wide.items()}
    long = pd.DataFrame(cols)
    long.index = long.index.set_names(["npa", "year"])
    long = long.reset_index()
    if "value" not in long:
        if "denominator" in long:
            zero = long["denominator"] == 0
            long["value"] = (long["numerator"] / long["denominator"].where(~zero)).round(DECIMALS)
            if zero.any():
                where = long.loc[zero, ["npa", "year"]]
                rows = drow.reindex(where["npa"]).dropna().astype(int).unique()
                report.add(
                    "flagged",
                    "y_*",
                    f"zero denominator; value missing ({len(where)} NPA-years: "
                    + ", ".join(f"NPA {n} {y}" for n, y in where.head(5).itertuples(index=False))
                    + (" ..." if len(where) > 5 else "")
                    + ")",
                    rows,
                    file=files["denominator"].name,
                )
        else:
            long["value"] = long["numerator"]
    for c in ("numerator", "denominator"):
        if c not in long:
            long[c] = np.nan
    long.insert(1, "metric", metric)
    return long[["npa", "metric", "year", "value", "numerator", "denominator"]]


def load_qol_metrics(
    *,
    settings: Settings | None = None,
    metrics: Sequence[str] | None = None,
    npa_ids: Sequence[int] | None = None,
) -> tuple[pd.DataFrame, LoadReport]:
    """Every explorer metric as one tidy long table, computed as the explorer does (see the module notes).

    Parameters
    ----------
    settings
        Settings (data folder).
    metrics
        Metric ids (``["m58", "m37"]``) to load; all the configuration's metrics by default.
    npa_ids
        The NPA ids of the geography; rows of other ids are set aside and reported.

    Returns
    -------
    metrics : pandas.DataFrame
        ``npa`` (int), ``metric`` (``mNN``), ``year`` (int), ``value`` (float: r / d rounded
        to :data:`DECIMALS`, r, or the value file; missing where a cell is blank or the
        denominator is zero), ``numerator``, ``denominator`` (float; missing when the metric
        has no such file). One row per NPA and year of the metric's files.
    report : LoadReport
        Per file (rows are data rows of that file): ids set aside, non-numeric cells read as
        missing, blank (suppressed) cells kept missing with their count per year, zero
        denominators; metrics with no file are noted.

    Raises
    ------
    ValueDomainError
        If ``metrics`` names a metric the configuration does not have.
    """
    s = settings_or_default(settings)
    path, config = _read_config(s)
    known = [
        str(c.get("metric", "")).strip() for c in config if re.fullmatch(r"m\d+", str(c.get("metric", "")).strip())
    ]
    wanted = list(dict.fromkeys(known)) if metrics is None else list(metrics)
    unknown = [m for m in wanted if m not in known]
    if unknown:
        raise ValueDomainError(
            f"{path}: no metric {quote_values(unknown)} in the configuration; known: {quote_values(known, limit=100)}."
        )
    report = LoadReport("qol_metrics", str(path.parent / "metric"))
    frames = []
    manifest = read_manifest(s.data_dir)
    for metric in wanted:
        files = metric_files(metric, settings=s, manifest=manifest)
        if "value" not in files and "numerator" not in files:
            report.notes.append(f"{metric}: no metric file (m{metric[1:]}.csv or r{metric[1:]}.csv) present")
            continue
        frames.append(_metric_long(metric, files, npa_ids, report))
    cols = ["npa", "metric", "year", "value", "numerator", "denominator"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    out = out.astype(
        {"npa": "int64", "year": "int64", "value": "float64", "numerator": "float64", "denominator": "float64"}
    )
    report.notes.append(
        f"{out['metric'].nunique()} metrics, {len(out):,} NPA-years, {int(out['value'].isna().sum()):,} without a value"
    )
    return out, report
