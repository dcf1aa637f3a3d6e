r"""``python -m geo hotspots``: spatial autocorrelation and hot spots from the command line.

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
import re
import sys
from pathlib import Path

import geopandas as gpd

from geo._errors import DataFileError, SchemaError, ValueDomainError

__all__ = ["add_parser", "run", "LAYER_CHOICES", "METHOD_CHOICES", "WEIGHT_CHOICES"]

LAYER_CHOICES = ("npa", "divisions", "incidents")
METHOD_CHOICES = ("moran", "lisa", "gi", "ehsa")
WEIGHT_CHOICES = ("queen", "rook", "knn", "distance", "kernel")
_ID = {"npa": "npa", "divisions": "division"}
_YEAR = re.compile(r"^(?P<stem>.+)_(?P<year>\d{4})$")


def _description() -> str:
    """The module docstring without its title line and the raw examples block."""
    doc = __doc__ or ""
    head, _, rest = doc.partition("Examples")
    body = rest.split("\n\n", 2)[-1] if rest else ""
    examples = [ln.strip() for ln in rest.splitlines() if ln.strip().startswith("python -m geo")]
    return (head.strip().splitlines()[0].strip("`").replace("``", "") + "\n\n" + body.replace("``", "")
            + "\n\nexamples:\n  " + "\n  ".join(examples))


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
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
    p.add_argument("--layer", required=True, choices=LAYER_CHOICES, help="units to analyse")
    p.add_argument(
        "--variable",
        required=True,
        metavar="NAME",
        help="numeric column (e.g. violent_rate_2022); for ehsa a column prefix (violent_crimes); "
        "for incidents: count",
    )
    p.add_argument("--per-capita", action="store_true", help="divide by population (per 1,000 residents)")
    p.add_argument("--method", required=True, choices=METHOD_CHOICES, help="statistic")
    p.add_argument("--weights", choices=WEIGHT_CHOICES, default="queen", help="spatial weights (default queen)")
    p.add_argument("--k", type=int, metavar="N", help="neighbours for knn (default 6) and kernel weights")
    p.add_argument("--permutations", type=int, metavar="N", help="permutations, 99 to 99,999 (default from settings)")
    p.add_argument("--seed", type=int, metavar="N", help="random seed (default from settings)")
    p.add_argument("--alpha", type=float, metavar="A", help="significance level (default from settings)")
    p.add_argument(
        "--correction", choices=("none", "fdr", "bonferroni"), default="none", help="multiple-testing correction"
    )
    p.add_argument("--time-lag", type=int, default=1, metavar="N", help="ehsa: previous years in each neighbourhood")
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="output .geojson or .gpkg")
    return p


def _load(layer: str) -> gpd.GeoDataFrame:
    from geo import layers

    if layer == "npa":
        return layers.npa_layer()
    if layer == "divisions":
        return layers.division_layer()
    return layers.incidents()


def _population_column(gdf: gpd.GeoDataFrame, layer: str, variable: str) -> str:
    m = _YEAR.match(variable)
    if layer == "npa" and m and f"rate_pop_{m['year']}" in gdf.columns:
        return f"rate_pop_{m['year']}"
    if "pop_2020" in gdf.columns:
        return "pop_2020"
    raise SchemaError(f"no population column to divide {variable!r} by (looked for rate_pop_YYYY and pop_2020)")


def _per_capita(gdf: gpd.GeoDataFrame, layer: str, variable: str) -> tuple[gpd.GeoDataFrame, str]:
    from geo.rates import add_rate

    base = _population_column(gdf, layer, variable)
    name = f"{variable}_per_1000_pop"
    res = add_rate(gdf, events=variable, base=base, method="raw", multiplier=1000.0, column=name)
    return res.frame, name


def _ehsa_columns(gdf: gpd.GeoDataFrame, prefix: str) -> list[str]:
    cols = sorted(c for c in gdf.columns if isinstance(c, str) and _YEAR.match(c) and _YEAR.match(c)["stem"] == prefix)
    if not cols:
        stems = sorted({_YEAR.match(c)["stem"] for c in gdf.columns if isinstance(c, str) and _YEAR.match(c)})
        raise SchemaError(
            f"ehsa needs one column per year named {prefix}_YYYY; none found. Prefixes available: " + ", ".join(stems)
        )
    return cols


def _write(frame: gpd.GeoDataFrame, out: Path, layer: str) -> Path:
    from geo.export import write_layer

    ext = out.suffix.lower()
    if ext not in (".geojson", ".json", ".gpkg"):
        raise DataFileError(f"{out}: write the result as .geojson or .gpkg")
    return write_layer(frame, out, layer_name=f"hotspots_{layer}")


def run(args: argparse.Namespace) -> int:
    """Run ``python -m geo hotspots``; returns the exit code."""
    from geo.weights import build_weights

    if args.out.suffix.lower() not in (".geojson", ".json", ".gpkg"):
        raise DataFileError(f"{args.out}: write the result as .geojson or .gpkg")
    gdf = _load(args.layer)
    lines: list[str] = []

    if args.layer == "incidents":
        if args.method != "gi":
            raise ValueDomainError("points (--layer incidents) are analysed with --method gi (optimized hot spots)")
        if args.variable != "count":
            raise ValueDomainError("for --layer incidents the variable is the number of points: use --variable count")
        from geo import layers
        from geo.point_hotspots import optimized_hotspots

        res = optimized_hotspots(
            gdf,
            boundary=layers.npa_layer(),
            correction=args.correction if args.correction != "none" else "fdr",
            permutations=args.permutations or 0,
            seed=args.seed,
        )
        frame = res.frame
        lines.append(res.summary())
    else:
        variable = args.variable
        if args.method == "ehsa":
            columns = _ehsa_columns(gdf, variable)
            if args.per_capita:
                new = []
                for c in columns:
                    gdf, name = _per_capita(gdf, args.layer, c)
                    new.append(name)
                columns = new
        elif args.per_capita:
            gdf, variable = _per_capita(gdf, args.layer, variable)
        k = args.k if args.k is not None else (6 if args.weights in ("knn", "kernel") else None)
        w = build_weights(gdf, method=args.weights, k=k)
        if args.method == "moran":
            from geo.autocorrelation import moran

            res = moran(gdf, variable, weights=w, permutations=args.permutations, seed=args.seed)
            s = res.statistic
            lines.append(
                f"global Moran's I of {variable} ({args.weights} weights, {s.n} units) = {s.I:.4f}; "
                + (f"pseudo p = {s.p_sim:.4g} ({s.permutations} permutations); " if s.p_sim is not None else "")
                + f"z = {s.z_rand:.2f}, p = {s.p_rand:.4g} under randomisation"
            )
            lines += [f"warning: {m}" for m in res.warnings]
        elif args.method == "lisa":
            from geo.autocorrelation import local_moran

            res = local_moran(
                gdf, variable, weights=w, permutations=args.permutations, seed=args.seed,
                alpha=args.alpha, correction=args.correction,
            )
            lines.append(res.summary())
        elif args.method == "gi":
            from geo.getisord import local_gstar

            perms = args.permutations or 0
            res = local_gstar(
                gdf, variable, weights=w, permutations=perms, seed=args.seed, correction=args.correction,
                inference="permutation" if perms else "normal",
            )
            lines.append(res.summary())
        else:
            from geo.emerging import emerging_hotspots

            years = [(_YEAR.match(c) or _YEAR.match(c.removesuffix("_per_1000_pop")))["year"] for c in columns]
            res = emerging_hotspots(
                gdf, columns=columns, times=years, weights=w, time_lag=args.time_lag,
                permutations=args.permutations, seed=args.seed, alpha=args.alpha,
            )
            lines.append(res.summary())
        frame = res.frame
    path = _write(frame, args.out, args.layer)
    lines.append(f"wrote {len(frame)} features to {path}")
    print("\n".join(lines))
    sys.stdout.flush()
    return 0

