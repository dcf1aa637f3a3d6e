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

from geo.errors import DataFileError, ValueDomainError

if TYPE_CHECKING:
    from geo.analysis.hotspots import HotspotRun
    from geo.analysis.robustness import RobustnessResult
    from geo.settings import Settings

__all__ = ["add_parser", "run"]


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
        required=True,
        metavar="NAME",
        help="numeric column (e.g. violent_rate_2022); for ehsa a column prefix (violent_crimes); for incidents: count",
    )
    p.add_argument("--per-capita", action="store_true", help="divide a count by population (per 1,000 residents)")
    p.add_argument(
        "--smoothing",
        choices=("none", "eb"),
        default="none",
        help="with --per-capita: eb = empirical-Bayes smoothed rate (default none)",
    )
    p.add_argument("--method", required=True, choices=METHODS, help="statistic")
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
    p.add_argument("--time-lag", type=int, default=1, metavar="N", help="ehsa: previous years in each neighbourhood")
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="FILE",
        help="output .geojson, .gpkg or .csv, with a data dictionary and metadata beside it",
    )
    return p


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
    from geo.layers.catalog import get_layer
    from geo.settings import get_settings

    settings = get_settings()
    if args.out.suffix.lower() not in (".geojson", ".json", ".gpkg", ".csv"):
        raise DataFileError(f"{args.out}: write the result as .geojson, .gpkg or .csv")
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
    from geo.output.results import write_result

    written = write_result(run, args.out, layer=layer)
    lines += written.summary().splitlines()
    print("\n".join(lines))
    sys.stdout.flush()
    return 0
