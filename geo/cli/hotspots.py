"""``python -m geo hotspots``: spatial autocorrelation and hot spots from the command line.

Examples
--------
::

    python -m geo hotspots --layer npa --variable violent_rate_2022 --method lisa --out lisa.geojson
    python -m geo hotspots --layer npa --variable violent_crimes_2022 --per-capita --method gi --correction fdr --out gi.gpkg
    python -m geo hotspots --layer npa --variable violent_crimes --method ehsa --out ehsa.geojson
    python -m geo hotspots --layer incidents --variable count --method gi --out hex.geojson

``--method moran`` writes the Moran scatterplot columns (standardised value and its
lag); ``lisa`` the local Moran's I with cluster labels; ``gi`` the Getis-Ord Gi*
z-scores and confidence bins; ``ehsa`` the emerging hot spot category of each unit
over every year of ``--variable`` (a prefix such as ``violent_crimes``: the
columns ``violent_crimes_YYYY``). With ``--layer incidents`` the points are counted
in a hexagon grid over the county and analysed with ``gi`` (optimized hot spots).

``--per-capita`` divides by the population (per 1,000 residents): for NPAs the
population behind that crime year (``rate_pop_YYYY``) when the variable ends in a
year, otherwise ``pop_2020``; for divisions ``pop_2020``. Units with no population
are reported as Undefined.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd

from geo.errors import DataFileError, ValueDomainError

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
    from geo.analysis.hotspots import LAYERS, METHODS, WEIGHTS

    p.add_argument("--layer", required=True, choices=LAYERS, help="units to analyse")
    p.add_argument(
        "--variable",
        required=True,
        metavar="NAME",
        help="numeric column (e.g. violent_rate_2022); for ehsa a column prefix (violent_crimes); for incidents: count",
    )
    p.add_argument("--per-capita", action="store_true", help="divide by population (per 1,000 residents)")
    p.add_argument("--method", required=True, choices=METHODS, help="statistic")
    p.add_argument("--weights", choices=WEIGHTS, default="queen", help="spatial weights (default queen)")
    p.add_argument("--k", type=int, metavar="N", help="neighbours for knn (default 6) and kernel weights")
    p.add_argument("--permutations", type=int, metavar="N", help="permutations, 99 to 99,999 (default from settings)")
    p.add_argument("--seed", type=int, metavar="N", help="random seed (default from settings)")
    p.add_argument("--alpha", type=float, metavar="A", help="significance level (default from settings)")
    p.add_argument(
        "--correction",
        choices=("none", "fdr", "bonferroni"),
        default="fdr",
        help="multiple-testing correction (default: fdr, Benjamini-Hochberg)",
    )
    p.add_argument("--time-lag", type=int, default=1, metavar="N", help="ehsa: previous years in each neighbourhood")
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="output .geojson or .gpkg")
    return p


def _write(frame: gpd.GeoDataFrame, out: Path, layer: str) -> Path:
    from geo.output.export import write_layer

    ext = out.suffix.lower()
    if ext not in (".geojson", ".json", ".gpkg"):
        raise DataFileError(f"{out}: write the result as .geojson or .gpkg")
    return write_layer(frame, out, layer_name=f"hotspots_{layer}")


def run(args: argparse.Namespace) -> int:
    """Run ``python -m geo hotspots``; returns the exit code."""
    from geo.analysis.hotspots import run_hotspots
    from geo.layers.catalog import get_layer
    from geo.settings import get_settings

    settings = get_settings()

    if args.out.suffix.lower() not in (".geojson", ".json", ".gpkg"):
        raise DataFileError(f"{args.out}: write the result as .geojson or .gpkg")
    boundary = None
    correction = args.correction
    permutations = args.permutations
    if args.layer == "incidents":
        if args.method != "gi":
            raise ValueDomainError("points (--layer incidents) are analysed with --method gi (optimized hot spots)")
        if args.variable != "count":
            raise ValueDomainError("for --layer incidents the variable is the number of points: use --variable count")
        boundary = get_layer("npa", settings=settings)
        correction = correction if correction != "none" else "fdr"  # ArcGIS's optimized hot spots always use FDR
    if args.method == "gi":
        permutations = permutations or 0  # normal p-values unless permutations are asked for (ArcGIS)
    res = run_hotspots(
        get_layer(args.layer, settings=settings),
        layer=args.layer,
        variable=args.variable,
        method=args.method,
        per_capita=args.per_capita,
        weights=args.weights,
        k=args.k,
        permutations=permutations,
        seed=args.seed,
        alpha=args.alpha,
        correction=correction,
        time_lag=args.time_lag,
        boundary=boundary,
        cache_dir=settings.cache_dir / "weights",
    )
    lines = list(res.lines)
    path = _write(res.frame, args.out, args.layer)
    lines.append(f"wrote {len(res.frame)} features to {path}")
    print("\n".join(lines))
    sys.stdout.flush()
    return 0
