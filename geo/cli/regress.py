"""``python -m geo regress``: spatial regression of one NPA measure on others.

Examples
--------
::

    python -m geo regress --layer npa --y m58 --x m80 --x m37 --x m29 --model auto --json
    python -m geo regress --layer npa --y violent_rate_2022 --x pop_2020 --model lag --out regression.gpkg

Variables are columns of the NPA layer (``violent_rate_2022``, ``pop_2020``, ...) or
Quality of Life Explorer metrics by id, ``mNN`` (its latest year) or ``mNN_YYYY``;
an unknown name is refused with the list of valid ones and the metrics' titles.
OLS comes first (White standard errors by default) with Moran's I on its residuals
and the Lagrange multiplier tests; ``--model auto`` then fits the spatial model the
tests point to. Every coefficient is printed with its interval; the NPAs left out
for a missing value are counted; the ecological-fallacy caveat always closes the
output. ``--out`` writes the fitted values and residuals per NPA, with the
coefficients, diagnostics and caveat in the metadata.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from geo.errors import DataFileError, ValueDomainError

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from geo.output.dictionary import ColumnInfo
    from geo.settings import Settings
    from geo.stats.weights import SpatialWeights

__all__ = ["add_parser", "run", "npa_variables", "npa_weights", "check_out"]


_QOL = re.compile(r"^(?P<metric>m\d+)(?:_(?P<year>\d{4}))?$")
_YEARLY = re.compile(r"^(?P<stem>.+)_(?P<year>\d{4})$")
_NOT_VARIABLES = ("npa", "division", "geometry")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add the ``regress`` sub-command to ``python -m geo``."""
    from geo.analysis.hotspots import WEIGHTS

    doc = __doc__ or ""
    p = subparsers.add_parser(
        "regress",
        help="spatial regression of an NPA measure on others (OLS, lag, error), every coefficient with its interval",
        description=doc.replace("``", "").replace("::\n\n", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--layer", choices=("npa",), default="npa", help="units (only npa: the Quality of Life areas)")
    p.add_argument("--y", required=True, metavar="VAR", help="the dependent variable (e.g. violent_rate_2022)")
    p.add_argument(
        "--x", required=True, action="append", metavar="VAR", help="a covariate; repeat for more (--x A --x B)"
    )
    p.add_argument("--model", choices=("auto", "ols", "lag", "error"), default="auto", help="model (default auto)")
    p.add_argument("--weights", choices=WEIGHTS, default="queen", help="spatial weights (default queen)")
    p.add_argument("--k", type=int, metavar="N", help="neighbours for knn and kernel weights")
    p.add_argument(
        "--robust", choices=("none", "white", "hac"), default="white", help="OLS standard errors (default white)"
    )
    p.add_argument("--standardise", action="store_true", help="coefficients in standard deviations per SD")
    p.add_argument("--confidence", type=float, default=0.95, metavar="C", help="interval level (default 0.95)")
    p.add_argument("--alpha", type=float, default=0.05, metavar="A", help="level of the LM tests in auto (0.05)")
    p.add_argument("--json", action="store_true", help="print the tables as JSON instead of text")
    p.add_argument("--out", type=Path, metavar="FILE", help="write fitted values and residuals (.geojson, .gpkg, .csv)")
    return p


def check_out(path: Path | None, suffixes: Sequence[str] = (".geojson", ".json", ".gpkg", ".csv")) -> None:
    """Refuse an ``--out`` file whose extension is not one of ``suffixes``, before any work is done."""
    if path is not None and path.suffix.lower() not in suffixes:
        kept = [s for s in suffixes if s != ".json"]
        shown = " or ".join([", ".join(kept[:-1]), kept[-1]] if len(kept) > 1 else kept)
        raise DataFileError(f"{path}: write the result as {shown}")


def _years(years: Sequence[int]) -> str:
    """``2011, 2013, 2015-2022``."""
    ys, parts, i = sorted(years), [], 0
    while i < len(ys):
        j = i
        while j + 1 < len(ys) and ys[j + 1] == ys[j] + 1:
            j += 1
        parts.append(str(ys[i]) if i == j else f"{ys[i]}-{ys[j]}")
        i = j + 1
    return ", ".join(parts)


def _valid(layer: gpd.GeoDataFrame, catalogue: pd.DataFrame) -> str:
    """The valid names: the NPA layer's numeric columns by stem and year, then the QoL metrics with their titles."""
    import pandas as pd

    stems: dict[str, list[int]] = {}
    for col in layer.columns:
        if col in _NOT_VARIABLES or not pd.api.types.is_numeric_dtype(layer[col]):
            continue
        m = _YEARLY.match(str(col))
        stems.setdefault(m["stem"] if m else str(col), []).extend([int(m["year"])] if m else [])
    npa = "; ".join(f"{s}_YYYY ({_years(y)})" if y else s for s, y in stems.items())
    qol = "; ".join(f"{r.metric} {r.title}" for r in catalogue.itertuples())
    return f"NPA columns: {npa}. Quality of Life metrics (mNN = latest year, or mNN_YYYY): {qol}"


def _qol_column(
    name: str, layer: gpd.GeoDataFrame, catalogue: pd.DataFrame, settings: Settings
) -> tuple[str, pd.Series, ColumnInfo]:
    """The column name, values per NPA row and description of Quality of Life metric ``mNN[_YYYY]``."""
    from geo.ingest.sources import DATASETS
    from geo.layers import records
    from geo.output.dictionary import ColumnInfo

    m = _QOL.match(name)
    if m is None or m["metric"] not in set(catalogue["metric"]):
        raise ValueDomainError(f"{name!r} is not a variable of the NPA layer. Valid: {_valid(layer, catalogue)}")
    metrics = records.qol_metrics(settings)
    rows = metrics[(metrics["metric"] == m["metric"]) & metrics["value"].notna()]
    years = sorted(int(y) for y in rows["year"].unique())
    entry = catalogue.set_index("metric").loc[m["metric"]]
    year = int(m["year"]) if m["year"] else (years[-1] if years else 0)
    if year not in years:
        raise ValueDomainError(
            f"{name!r}: Quality of Life metric {m['metric']} ({entry['title']}) has values for {_years(years)} only"
        )
    values = layer["npa"].map(rows[rows["year"] == year].set_index("npa")["value"])
    sources = tuple(k for k in ("qol_config", f"npa_metric_{m['metric']}") if k in DATASETS)
    units = str(entry["label"] or "")
    info = ColumnInfo(
        f"{entry['title']} {year}",
        f"Quality of Life Explorer metric {m['metric']}, {entry['title']}, {year}"
        + (f" ({units})" if units else "")
        + "; missing where the explorer has no value",
        units,
        sources,
    )
    return f"{m['metric']}_{year}", values, info


def npa_variables(
    names: Sequence[str], *, settings: Settings
) -> tuple[gpd.GeoDataFrame, list[str], dict[str, ColumnInfo]]:
    """The NPA layer with the variables ``names``, their column names, and descriptions of joined QoL metrics.

    Parameters
    ----------
    names
        NPA layer columns, or Quality of Life metric ids ``mNN`` (latest year) / ``mNN_YYYY``.
    settings
        Settings (data and cache folders).

    Raises
    ------
    ValueDomainError
        A name that is neither (the message lists the valid names, with the metrics' titles),
        or a metric year without values.
    """
    import pandas as pd

    from geo.layers import records
    from geo.layers.catalog import get_layer

    layer = get_layer("npa", settings=settings)
    columns, labels = [], {}
    catalogue = None
    for name in names:
        if name in layer.columns and name not in _NOT_VARIABLES:
            if not pd.api.types.is_numeric_dtype(layer[name]):
                raise ValueDomainError(f"{name!r} is not numeric")
            columns.append(name)
            continue
        catalogue = records.qol_catalogue(settings) if catalogue is None else catalogue
        column, values, info = _qol_column(name, layer, catalogue, settings)
        layer[column] = values.to_numpy(dtype=float)
        labels[column] = info
        columns.append(column)
    return layer, columns, labels


def npa_weights(
    layer: gpd.GeoDataFrame, method: str, *, k: int | None, settings: Settings, threshold: float | None = None
) -> SpatialWeights:
    """Spatial weights of the NPA layer (contiguity cached in the settings' cache folder)."""
    from geo.stats.weights import build_weights

    return build_weights(
        layer,
        method=method,  # type: ignore[arg-type]
        k=k,
        threshold=threshold,
        id_column="npa",
        cache_dir=settings.cache_dir / "weights",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``python -m geo regress``; returns the exit code."""
    from geo.analysis.regression import spatial_regression
    from geo.cli import print_json, table_text
    from geo.settings import get_settings

    check_out(args.out)
    settings = get_settings()
    layer, columns, labels = npa_variables([args.y, *args.x], settings=settings)
    w = npa_weights(layer, args.weights, k=args.k, settings=settings)
    res = spatial_regression(
        layer, columns[0], columns[1:], weights=w, model=args.model, robust=args.robust,
        standardise=args.standardise, alpha=args.alpha, confidence=args.confidence,
    )  # fmt: skip
    written = None
    if args.out is not None:
        from geo.output.results import regression_layer, write_result

        written = write_result(regression_layer(res, layer, weights=w, labels=labels), args.out, settings=settings)
    if args.json:
        print_json(
            {
                "model": res.model, "decision": res.decision, "dependent": res.dependent,
                "covariates": list(res.covariates), "n_units": res.n_units, "n_used": res.n_used,
                "dropped_for_missing": res.n_units - res.n_used, "missing": dict(res.missing),
                "confidence": res.confidence, "coefficients": res.coefficients, "impacts": res.impacts,
                "ols_coefficients": res.ols_coefficients, "diagnostics": res.diagnostics, "fit": dict(res.fit),
                "vif": res.vif, "condition_number": res.condition_number,
                "labels": {c: i.label for c, i in labels.items()},
                "warnings": [{"code": w.code, "text": w.text} for w in res.warnings],
                "caveat": res.caveat, "written": [str(p) for p in written.files] if written else [],
            }
        )  # fmt: skip
        return 0
    lines = [*(f"{c}: {i.label}" for c, i in labels.items()), *res.summary().splitlines()]
    table = res.coefficients[["term", "estimate", "ci_low", "ci_high", "std_error", "p_value"]]
    caveat = lines.pop()  # the caveat stays last, after the table
    lines += ["", f"coefficients with their {res.confidence:.0%} intervals:", table_text(table, digits=4), "", caveat]
    if written is not None:
        lines[-1:-1] = [*written.summary().splitlines(), ""]
    print("\n".join(lines))
    return 0
