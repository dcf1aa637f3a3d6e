"""``python -m geo hotspots``: spatial autocorrelation and hot spots from the command line.

Examples
--------
::

    python -m geo hotspots --layer npa --variable violent_rate_2022 --method lisa --out lisa.geojson
    python -m geo hotspots --layer npa --variable violent_crimes_2022 --per-capita --method gi --correction fdr --out gi.gpkg
    python -m geo hotspots --layer npa --variable violent_crimes --method ehsa --out ehsa.geojson
    python -m geo hotspots --layer incidents --variable count --method gi --out hex.geojson
    python -m geo hotspots --layer npa --variable violent_crimes_2022 --per-capita --method lisa --robustness --out robust.geojson
    python -m geo hotspots --layer my_areas.gpkg --id-column tract --variable crimes --method gi --out mine.geojson
    python -m geo hotspots --layer incidents --method ehsa --time-step quarter --category persons --out cube.gpkg
    python -m geo hotspots --layer npa --method bilisa --variable violent_rate_2022 --covariate disorder_rate_2022
    python -m geo hotspots --layer npa --method partial --variable violent_rate_2022 --covariate m58 --json

``--method moran`` writes the Moran scatterplot columns (standardised value and its
lag); ``lisa`` the local Moran's I with cluster labels; ``gi`` the Getis-Ord Gi*
z-scores and confidence bins; ``ehsa`` the emerging hot spot category of each unit
over every year of ``--variable`` (a prefix such as ``violent_crimes``: the
columns ``violent_crimes_YYYY``). With ``--layer incidents`` the points are counted
in a hexagon grid over the county and analysed with ``gi`` (optimized hot spots).
``--layer`` also takes a polygon file of your own (GeoJSON, GeoPackage, Shapefile,
GeoParquet) with ``--id-column`` naming each area; it is checked like the built-in
layers (geometry repaired or refused, projected to EPSG:2264).

Gi* bins use permutation p-values unless ``--gi-inference normal`` (ArcGIS's normal
p); the bins kept are the confidence levels at or above 1 - ``--alpha``. The
correction (default fdr) applies to LISA and Gi*, and to each year of ``ehsa``.
``--robustness`` runs LISA (or Gi*) under six spatial weights and three seeds and
writes, per unit, in how many runs it is a hot or cold spot.

``--layer incidents --method ehsa`` counts the incident points in hexagons ``--cell-size``
feet apart by ``--time-step`` (month, quarter, year, or auto: the rule of geo.stats.cube)
and runs the emerging hot spot analysis on that space-time cube (space-time Gi*,
Mann-Kendall per cell). The points are the whole incident layer when it has been fetched
(``python -m geo fetch --layers incidents``; categories from the NIBRS code, see
geo.layers.records.cube_points), else the 2017-2026 even 1-in-61 sample; the summary names
which and how many points.

``bilisa`` (bivariate LISA: ``--variable`` here against ``--covariate`` nearby),
``partial`` and ``conditional`` (local Moran's I with the ``--covariate`` columns held
fixed) and ``geary_mv`` (multivariate local Geary of ``--variable`` and the
covariates) run on the NPAs; variables are NPA columns or Quality of Life metrics
(``mNN``, ``mNN_YYYY``). They describe areas, not the people in them.

``--json`` prints the result table (one row per unit, no geometry) as JSON; without
``--out`` nothing is written.

``--per-capita`` divides by the population (per 1,000 residents): for NPAs the
population behind that crime year (``rate_pop_YYYY``) when the variable ends in a
year, otherwise ``pop_2020``; for divisions ``pop_2020``. Units with no population
are reported as Undefined.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from geo.errors import DataFileError, ValueDomainError

#: The methods of geo.stats.bivariate, by their command-line name.
FACTOR_METHODS: tuple[str, ...] = ("bilisa", "partial", "conditional", "geary_mv")

if TYPE_CHECKING:
    from geo.analysis.hotspots import HotspotRun
    from geo.analysis.robustness import RobustnessResult
    from geo.output.dictionary import ColumnInfo
    from geo.output.results import ResultLayer
    from geo.settings import Settings
    from geo.stats.significance import LocalResult

__all__ = ["FACTOR_METHODS", "add_parser", "run"]


def _description() -> str:
    """The module docstring without its title line and the raw examples block."""
    doc = __doc__ or ""
    head, _, rest = doc.partition("Examples")
    body = rest.split("\n\n", 2)[-1] if rest else ""
    examples = [ln.strip() for ln in rest.splitlines() if ln.strip().startswith("python -m geo")]
    return (
        head.strip().splitlines()[0].strip("`").replace("``", "")
        + "\n\n"
        + body.replace("``", "")
        + "\n\nexamples:\n  "
        + "\n  ".join(examples)
    )


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add the ``hotspots`` sub-command to ``python -m geo``."""
    p = subparsers.add_parser(
        "hotspots",
        help="spatial autocorrelation and hot spots (Moran, LISA, Gi*, emerging hot spots)",
        description=_description(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Pseudo p-values are seeded (default seed and permutations from settings: CMPD_SEED, "
        "CMPD_PERMUTATIONS). Fewer than 30 units (the 14 divisions) are analysed but flagged as too few "
        "for local inference.",
    )
    from geo.analysis.hotspot_options import CORRECTIONS, GI_INFERENCES
    from geo.analysis.hotspots import LAYERS, METHODS, WEIGHTS

    built_in = [name for name in LAYERS if name != "custom"]
    p.add_argument(
        "--layer",
        required=True,
        metavar="LAYER",
        help=f"units to analyse: {', '.join(built_in)}, or a polygon file (.geojson, .gpkg, .shp, .parquet)",
    )
    p.add_argument("--id-column", metavar="COL", help="with a polygon file: the column naming each area")
    p.add_argument("--population", metavar="COL", help="with a polygon file: population column for --per-capita")
    p.add_argument(
        "--variable",
        metavar="NAME",
        help="numeric column (e.g. violent_rate_2022); for ehsa a column prefix (violent_crimes); for incidents: count "
        "(not needed for --layer incidents --method ehsa)",
    )
    p.add_argument(
        "--covariate",
        action="append",
        metavar="NAME",
        help="bilisa: the variable in the neighbours (one); partial, conditional: held fixed; geary_mv: the other "
        "variables (repeat --covariate for more)",
    )
    p.add_argument("--per-capita", action="store_true", help="divide a count by population (per 1,000 residents)")
    p.add_argument(
        "--smoothing",
        choices=("none", "eb"),
        default="none",
        help="with --per-capita: eb = empirical-Bayes smoothed rate (default none)",
    )
    p.add_argument("--method", required=True, choices=(*METHODS, *FACTOR_METHODS), help="statistic")
    p.add_argument("--weights", choices=WEIGHTS, help="spatial weights (default queen)")
    p.add_argument("--k", type=int, metavar="N", help="neighbours for knn (default 6) and kernel weights")
    p.add_argument("--threshold", type=float, metavar="FEET", help="distance band in feet (default: automatic)")
    p.add_argument("--kernel", help="kernel function for kernel weights (default triangular)")
    p.add_argument("--permutations", type=int, metavar="N", help="permutations, 99 to 99,999 (default from settings)")
    p.add_argument("--seed", type=int, metavar="N", help="random seed (default from settings)")
    p.add_argument("--alpha", type=float, metavar="A", help="significance level (default from settings)")
    p.add_argument(
        "--correction",
        choices=CORRECTIONS,
        help="multiple-testing correction for lisa, gi and ehsa (default: fdr, Benjamini-Hochberg; "
        "ehsa: per year); not for moran",
    )
    p.add_argument(
        "--gi-inference",
        choices=GI_INFERENCES,
        help="gi: the p-value behind the bins, permutation (default) or normal (ArcGIS)",
    )
    p.add_argument(
        "--robustness",
        action="store_true",
        help="lisa or gi under six weights x three seeds: per unit, how many runs call it hot or cold",
    )
    p.add_argument("--time-lag", type=int, default=1, metavar="N", help="ehsa: previous steps in each neighbourhood")
    _add_cube_and_output(p)
    return p


def _add_cube_and_output(p: argparse.ArgumentParser) -> None:
    """The options of the incident-point cube, ``--json`` and ``--out``."""
    p.add_argument(
        "--time-step",
        choices=("month", "quarter", "year", "auto"),
        default="auto",
        help="incidents ehsa: the cube's time step (default auto)",
    )
    p.add_argument(
        "--category", choices=("persons", "property", "society", "other"), help="incidents ehsa: one category"
    )
    p.add_argument(
        "--cell-size", type=float, default=2000.0, metavar="FT", help="incidents ehsa: hexagon spacing (2000 ft)"
    )
    p.add_argument("--json", action="store_true", help="print the result table as JSON instead of the summary")
    p.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="output .geojson, .gpkg or .csv, with a data dictionary and metadata beside it",
    )


def _layer(args: argparse.Namespace, settings: Settings) -> tuple[str, gpd.GeoDataFrame]:
    """The layer's name (a built-in one, or ``custom``) and its frame."""
    from geo.analysis.hotspots import LAYERS
    from geo.layers.catalog import get_layer

    if args.layer in LAYERS and args.layer != "custom":
        if args.id_column or args.population:
            raise ValueDomainError(
                f"--id-column and --population are for a polygon file of your own; the {args.layer} layer has its own"
            )
        return args.layer, get_layer(args.layer, settings=settings)
    from geo.ingest.user_layer import load_user_layer, report_lines

    path = Path(args.layer)
    if not path.exists():
        raise DataFileError(f"{path}: no such file, and not one of the layers {', '.join(LAYERS[:-1])}")
    if not args.id_column:
        raise ValueDomainError(f"{path}: name the column that identifies each area with --id-column")
    gdf, report = load_user_layer(path, id_column=args.id_column, crs=settings.analysis_crs)
    print("\n".join(report_lines(report)))
    return "custom", gdf


def run(args: argparse.Namespace) -> int:
    """Run ``python -m geo hotspots``; returns the exit code."""
    from geo.analysis.hotspots import run_hotspots
    from geo.cli.regress import check_out
    from geo.layers.catalog import get_layer
    from geo.settings import get_settings

    settings = get_settings()
    check_out(args.out)
    if args.method in FACTOR_METHODS:
        return _run_factors(args, settings)
    if args.layer == "incidents" and args.method == "ehsa":
        return _run_cube(args, settings)
    if not args.variable:
        raise ValueDomainError(f"--method {args.method} needs --variable (a column of the {args.layer} layer)")
    if args.covariate:
        raise ValueDomainError(f"--covariate is for {', '.join(FACTOR_METHODS)}, not --method {args.method}")
    layer, frame = _layer(args, settings)
    options = dict(
        layer=layer, variable=args.variable, method=args.method, per_capita=args.per_capita,
        smoothing=args.smoothing, weights=args.weights or "queen", k=args.k, threshold=args.threshold,
        kernel=args.kernel or "triangular",
        permutations=args.permutations, seed=args.seed, alpha=args.alpha, correction=args.correction,
        gi_inference=args.gi_inference, time_lag=args.time_lag,
        boundary=get_layer("npa", settings=settings) if layer == "incidents" else None,
        cache_dir=settings.cache_dir / "weights", id_column=args.id_column, population=args.population,
    )  # fmt: skip
    if args.robustness:
        from geo.analysis.hotspots import run_robustness

        fixed = {"weights": args.weights, "k": args.k, "threshold": args.threshold, "kernel": args.kernel}
        fixed |= {"gi_inference": args.gi_inference, "time_lag": None, "boundary": None}
        rob_options = {k: v for k, v in options.items() if k not in fixed} | fixed
        rob = run_robustness(frame, **rob_options)
        lines = rob.summary(unit="NPAs" if layer == "npa" else "units").splitlines()
        run: HotspotRun | RobustnessResult = rob
    else:
        run = run_hotspots(frame, **options)
        lines = list(run.lines)
    if layer == "incidents":  # which points: the whole layer, the 1-in-61 sample or the first page
        lines += [f"points: {frame.attrs.get('source_label', 'incident points')}"]
        lines += [f"note: {frame.attrs['caveat']}"] if frame.attrs.get("caveat") else []
    from geo.output.results import result_layer

    return _finish(args, result_layer(run, layer=layer), lines, settings)


def _finish(args: argparse.Namespace, result: ResultLayer, lines: list[str], settings: Settings) -> int:
    """Write the result layer (``--out``), then print the summary and a table, or the JSON."""
    from geo.cli import print_json, table_text
    from geo.output.results import write_result

    written = write_result(result, args.out, settings=settings).summary().splitlines() if args.out else []
    table = pd.DataFrame(result.frame.drop(columns=result.frame.geometry.name))
    if args.json:
        print_json({"name": result.name, "lines": lines, "parameters": result.parameters, "table": table,
                    "written": written})  # fmt: skip
        return 0
    label = next((c for c in table.columns if str(c).endswith(("_cluster", "_category", "_label", "_class"))), None)
    counts = table[label].value_counts().rename_axis(label).reset_index() if label else table.head(10)
    print("\n".join([*lines, "", table_text(counts), *written]))
    sys.stdout.flush()
    return 0


def _run_cube(args: argparse.Namespace, settings: Settings) -> int:
    """``--layer incidents --method ehsa``: emerging hot spots of the incident-point cube."""
    from geo.analysis.spacetime import emerging_cube
    from geo.layers import records
    from geo.layers.catalog import get_layer
    from geo.output.results import cube_layer

    if args.covariate or args.per_capita or args.robustness:
        raise ValueDomainError("--layer incidents --method ehsa takes no --covariate, --per-capita or --robustness")
    if args.variable not in (None, "count"):
        raise ValueDomainError(f"--layer incidents --method ehsa counts incidents; --variable {args.variable!r} "
                               "does not apply (leave it out, or give count)")  # fmt: skip
    points, report = records.cube_points_with_report(settings)
    res = emerging_cube(
        points, boundary=get_layer("npa", settings=settings), cell_size=args.cell_size,
        step=None if args.time_step == "auto" else args.time_step, category=args.category, time_lag=args.time_lag,
        permutations=args.permutations, seed=args.seed, alpha=args.alpha, correction=args.correction or "fdr",
    )  # fmt: skip
    notes = [f"note: {n}" for n in report.notes[1:]]  # the first note repeats the points line of the summary
    notes += [f"note: {i.action.replace('_', ' ')} {i.count:,}: {i.reason}" for i in report.issues]
    notes += [f"note: {points.attrs['caveat']}"] if points.attrs.get("caveat") else []
    return _finish(args, cube_layer(res), [*res.lines, *notes], settings)


def _run_factors(args: argparse.Namespace, settings: Settings) -> int:
    """``bilisa``, ``partial``, ``conditional``, ``geary_mv`` on the NPAs."""
    from geo.cli.regress import npa_variables, npa_weights
    from geo.output.results import local_layer
    from geo.stats import bivariate

    if args.layer != "npa":
        raise ValueDomainError(f"--method {args.method} runs on --layer npa, not {args.layer}")
    if not args.variable or not args.covariate:
        raise ValueDomainError(f"--method {args.method} needs --variable and at least one --covariate")
    if args.method == "bilisa" and len(args.covariate) != 1:
        raise ValueDomainError(
            f"--method bilisa takes one --covariate (the variable nearby); got {len(args.covariate)}"
        )
    if args.per_capita or args.robustness or args.gi_inference:
        raise ValueDomainError(f"--method {args.method} takes no --per-capita, --robustness or --gi-inference")
    layer, columns, labels = npa_variables([args.variable, *args.covariate], settings=settings)
    w = npa_weights(layer, args.weights or "queen", k=args.k, threshold=args.threshold, settings=settings)
    opts = dict(weights=w, permutations=args.permutations, seed=args.seed, alpha=args.alpha,
                correction=args.correction or "fdr")  # fmt: skip
    y, rest = columns[0], columns[1:]
    if args.method == "bilisa":
        res = bivariate.local_moran_bv(layer, y, rest[0], **opts)
    elif args.method == "geary_mv":
        res = bivariate.local_geary_mv(layer, columns, **opts)
    else:
        fn = bivariate.local_moran_partial if args.method == "partial" else bivariate.local_moran_conditional
        res = fn(layer, y, covariates=rest, **opts)
    result = local_layer(res, labels=labels)
    return _finish(args, result, _factor_lines(args.method, res, labels), settings)


def _factor_lines(method: str, res: LocalResult, labels: dict[str, ColumnInfo]) -> list[str]:
    """Plain-language lines of a bivariate / partial / conditional / multivariate Geary result."""
    from geo.analysis.regression import ECOLOGICAL_FALLACY_CAVEAT

    what = {
        "bilisa": "NPAs where the value here goes with the neighbours' value of the other variable",
        "partial": "NPAs higher or lower than the covariates predict, set against their neighbours",
        "conditional": "clusters of what the covariates leave unexplained",
        "geary_mv": "NPAs more (Positive) or less (Negative) like their neighbours over all the variables",
    }[method]
    counts = ", ".join(f"{k}: {v}" for k, v in res.counts.items() if v)
    lines = [
        *(f"{c}: {i.label}" for c, i in labels.items()),
        f"{res.variable}: {what}.",
        f"{res.n_tested} of {res.n_units} NPAs tested ({res.permutations} permutations, seed {res.seed}, "
        f"alpha {res.alpha:g}, {res.correction} correction, {res.extra.get('alternative')} p-values): {counts}.",
    ]
    if "r2" in res.extra:
        lines.append(f"the covariates explain {float(res.extra['r2']):.0%} of the variable's spread between NPAs.")  # type: ignore[arg-type]
    if "global_bv" in res.extra:
        lines.append(f"global bivariate Moran's I = {float(res.extra['global_bv']):.4f}.")  # type: ignore[arg-type]
    if res.undefined:
        lines.append(f"{len(res.undefined)} NPAs without a value in every variable were left out (Undefined).")
    lines += [f"warning: {w.text}" for w in res.warnings]
    lines.append(f"caveat: {ECOLOGICAL_FALLACY_CAVEAT}")
    return lines
