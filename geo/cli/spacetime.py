"""``python -m geo trends | persistence | accuracy | near-repeat | clearance``: change over time, from the command line.

Five short commands rather than one ``spacetime`` command with actions: each answers
its own question, takes its own options and has its own ``--help``, and the names are
the words a reader would look for (clearance is not a space-time analysis at all).
Each prints its plain-language lines and a table; ``--json`` prints the tables as JSON;
``--out FILE`` writes the result (a CSV table; ``persistence`` also a GeoJSON or
GeoPackage of the NPAs) with its dictionary and metadata beside it.

Examples
--------
::

    python -m geo trends --division "Central Division" --months 12
    python -m geo persistence --variable violent_crimes --per-capita --permutations 999 --out persistence.gpkg
    python -m geo accuracy --cell-size 2000 --category persons --json
    python -m geo near-repeat --distance-bands 400,800,1200 --time-bands 0,1,2 --out knox.csv
    python -m geo clearance --outcome arrest --year 2022

The incident points behind ``accuracy`` and ``near-repeat`` are a 1-in-61 sample of CMPD's
reports: every output says so (``hotspots --layer incidents --method ehsa`` uses the whole
layer when it has been fetched, and names its points). A ``--out`` CSV has a data dictionary
beside it that describes every column (:data:`geo.output.dictionary.RESULT_TABLES`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import geopandas as gpd

    from geo.settings import Settings

__all__ = ["add_parser", "run"]


_CORRECTIONS = ("none", "fdr", "bonferroni")
_CATEGORIES = ("persons", "property", "society", "other")


@dataclass
class _Output:
    """What a command prints and writes: lines, named tables (the first is shown), an optional layer."""

    lines: list[str]
    tables: dict[str, Any]
    layer: gpd.GeoDataFrame | None = None
    about: dict[str, Any] = field(default_factory=dict)


def _common(p: argparse.ArgumentParser, *, out_help: str = "write the table as .csv") -> None:
    p.add_argument("--json", action="store_true", help="print the tables as JSON instead of text")
    p.add_argument("--out", type=Path, metavar="FILE", help=out_help + ", with a data dictionary and metadata")


def _inference(p: argparse.ArgumentParser, *, correction: bool = True) -> None:
    p.add_argument("--permutations", type=int, metavar="N", help="permutations, 99 to 99,999 (default from settings)")
    p.add_argument("--seed", type=int, metavar="N", help="random seed (default from settings)")
    p.add_argument("--alpha", type=float, metavar="A", help="significance level (default from settings)")
    if correction:
        p.add_argument("--correction", choices=_CORRECTIONS, default="fdr", help="multiple testing (default fdr)")


def _cells(p: argparse.ArgumentParser) -> None:
    p.add_argument("--category", choices=_CATEGORIES, help="one incident category (default all)")


def _numbers(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``trends``, ``persistence``, ``accuracy``, ``near-repeat`` and ``clearance`` to ``python -m geo``."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = subparsers.add_parser(
        "trends",
        help="trend and yearly change of monthly incidents per division (STL, seasonal Mann-Kendall)",
        description="Per division and incident category: the seasonal Mann-Kendall trend of the monthly counts "
        "(Sen slope, corrected for the many series tested) and the latest months against the same months a year "
        "earlier (ratio with its exact interval).",
        formatter_class=fmt,
    )
    p.add_argument("--division", action="append", metavar="NAME", help="keep this division (repeat; or Citywide)")
    p.add_argument("--category", action="append", metavar="NAME", help="keep this category (e.g. 'All categories')")
    p.add_argument("--test", choices=("seasonal", "original"), default="seasonal", help="Mann-Kendall variant")
    p.add_argument("--months", type=int, default=12, metavar="N", help="months compared with a year earlier (12)")
    p.add_argument("--alpha", type=float, default=0.05, metavar="A", help="significance level (0.05)")
    p.add_argument("--correction", choices=_CORRECTIONS, default="fdr", help="multiple testing (default fdr)")
    _common(p)
    p = subparsers.add_parser(
        "persistence",
        help="whether hot-spot NPAs stay hot from year to year (LISA Markov, spatial Markov)",
        description="Each year's LISA of a yearly NPA series, the LISA Markov chain of the quadrants, Rey's "
        "spatial Markov chain, and how often an NPA next to a hot spot becomes one the next year.",
        formatter_class=fmt,
    )
    p.add_argument("--variable", default="violent_crimes", metavar="PREFIX", help="yearly columns (violent_crimes)")
    p.add_argument("--per-capita", action="store_true", help="rate per 1,000 residents instead of the count")
    p.add_argument("--weights", choices=("queen", "rook", "knn"), default="queen", help="spatial weights")
    _inference(p)
    _common(p, out_help="write each NPA's yearly cluster as .geojson, .gpkg or .csv")
    p = subparsers.add_parser(
        "accuracy",
        help="how well each year's hot spots would have targeted the next year's incidents (PAI, PEI, RRI)",
        description="For each pair of whole years: the LISA High-High cells, the Gi* hot spots and the top cells "
        "of one year, scored on the next year's incidents (PAI, PEI, RRI), on hexagons over the county.",
        formatter_class=fmt,
    )
    p.add_argument("--cell-size", type=float, default=2000.0, metavar="FT", help="hexagon spacing, feet (2000)")
    p.add_argument("--top-share", type=float, default=0.05, metavar="S", help="share of cells in top-k (0.05)")
    _cells(p)
    _inference(p)
    _common(p)
    p = subparsers.add_parser(
        "near-repeat",
        help="Knox test: do incidents follow others close by in space and time?",
        description="The Knox table of the incident points: pairs within each distance band and months apart, "
        "observed against expected under permutation of the months.",
        formatter_class=fmt,
    )
    p.add_argument("--distance-bands", type=_numbers, default="400,800,1200,1600,2000", metavar="FT,FT,...")
    p.add_argument("--time-bands", type=_numbers, default="0,1,2,3", metavar="M,M,...", help="months apart")
    p.add_argument("--alternative", choices=("two-sided", "greater", "less"), default="two-sided")
    _cells(p)
    _inference(p, correction=False)
    _common(p)
    p = subparsers.add_parser(
        "clearance",
        help="clearance of assault and intimidation reports by division and year, with a funnel",
        description="Clearance rates (by arrest, exceptionally, still open) with Wilson intervals, by division and "
        "year, and each division against the citywide rate with funnel limits. Unfounded reports are counted "
        "apart, not in the denominator.",
        formatter_class=fmt,
    )
    p.add_argument("--outcome", choices=("arrest", "exceptional", "open", "cleared"), default="arrest")
    p.add_argument("--year", type=int, metavar="YYYY", help="the funnel's year (default all years)")
    p.add_argument("--overdispersion", action="store_true", help="widen the funnel for the spread between divisions")
    _common(p)


def _trends(args: argparse.Namespace, settings: Settings) -> _Output:
    from geo.analysis.trends import ALL_CATEGORIES, division_trends
    from geo.layers import records

    res = division_trends(
        records.incident_timeline(settings), divisions=args.division, categories=args.category, test=args.test,
        alpha=args.alpha, correction=args.correction, months=args.months,
    )  # fmt: skip
    tests = res.tests.drop(columns=["line"])
    shown = tests[tests["category"] == ALL_CATEGORIES] if (tests["category"] == ALL_CATEGORIES).any() else tests
    cols = ["division", "category", "direction", "slope_per_year", "p", "mean_per_month"]
    change = res.change.drop(columns=["line"])
    return _Output(
        [*res.summary().splitlines(), f"caveat: {res.caveat}"],
        {"trend tests": shown[cols], "tests": tests, "change": change},
        about={"name": "trends", "title": "Trends of monthly incidents by division", "table": tests},
    )


def _persistence(args: argparse.Namespace, settings: Settings) -> _Output:
    import geopandas as gpd

    from geo.analysis.persistence import persistence
    from geo.layers.catalog import get_layer

    npa = get_layer("npa", settings=settings)
    res = persistence(
        npa, variable=args.variable, per_capita=args.per_capita, weights=args.weights,
        permutations=args.permutations, seed=args.seed, alpha=args.alpha, correction=args.correction,
    )  # fmt: skip
    clusters = res.clusters.rename(columns=lambda y: f"cluster_{y}")
    values = res.values.rename(columns=lambda y: f"value_{y}")
    hot = (res.clusters == "High-High").sum(axis=1).rename("hot_years")
    per_npa = clusters.join(values).join(hot).reset_index()
    layer = gpd.GeoDataFrame(
        per_npa.merge(npa[["npa", "geometry"]], on="npa", how="left"), geometry="geometry", crs=npa.crs
    )
    tables = {
        "quadrant transitions": res.quadrant_table,
        "cluster transitions": res.cluster_table,
        "hot-neighbour transitions": res.neighbour_table,
    }
    about = {"name": "persistence_npa", "title": f"Hot-spot persistence of {args.variable} (NPAs)",
             "parameters": {"years": list(res.years), **res.extra}}  # fmt: skip
    return _Output(res.summary().splitlines(), tables, layer=layer, about=about)


def _points(settings: Settings) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    from geo.layers import records
    from geo.layers.catalog import get_layer

    return records.incident_points(settings), get_layer("npa", settings=settings)


def _accuracy(args: argparse.Namespace, settings: Settings) -> _Output:
    from geo.analysis.spacetime import accuracy_by_year
    from geo.caveats import SAMPLE_NOTE

    points, boundary = _points(settings)
    res = accuracy_by_year(
        points, boundary=boundary, cell_size=args.cell_size, category=args.category, top_share=args.top_share,
        permutations=args.permutations, seed=args.seed, alpha=args.alpha, correction=args.correction,
    )  # fmt: skip
    cols = ["year", "next_year", "method", "cells", "area_share", "hit_rate", "pai", "pei", "rri"]
    about = {"name": "accuracy", "title": "Hot-spot accuracy by year (PAI, PEI, RRI)", "table": res.table,
             "parameters": res.parameters}  # fmt: skip
    return _Output([*res.lines, f"note: {SAMPLE_NOTE}"], {"accuracy": res.table[cols], "table": res.table}, about=about)


def _near_repeat(args: argparse.Namespace, settings: Settings) -> _Output:
    from geo.analysis.spacetime import near_repeat
    from geo.caveats import SAMPLE_NOTE

    points, _ = _points(settings)
    res = near_repeat(
        points, distance_bands=args.distance_bands, time_bands=[int(t) for t in args.time_bands],
        category=args.category, permutations=args.permutations or 999, seed=args.seed, alternative=args.alternative,
    )  # fmt: skip
    cols = ["distance_band", "time_band", "observed", "expected", "ratio", "p"]
    about = {"name": "near_repeat", "title": "Knox test of the incident points", "table": res.table}
    return _Output([*res.lines, f"note: {SAMPLE_NOTE}"], {"knox": res.table[cols], "table": res.table}, about=about)


def _clearance(args: argparse.Namespace, settings: Settings) -> _Output:
    from geo.analysis.clearance import clearance
    from geo.layers import records

    res = clearance(
        records.clearance(settings), outcome=args.outcome, year=args.year, overdispersion=args.overdispersion
    )
    cols = ["unit", "count", "denominator", "value", "lo", "hi", "target", "outside95", "outside998"]
    tables = {"funnel": res.funnel[cols], "funnel_full": res.funnel, "citywide": res.citywide, "rates": res.rates}
    about = {"name": "clearance", "title": f"Clearance ({args.outcome}) by division", "table": res.rates,
             "parameters": {"outcome": res.outcome, **res.extra}}  # fmt: skip
    return _Output([*res.summary().splitlines(), f"caveat: {res.caveat}"], tables, about=about)


_RUNNERS: Mapping[str, Callable[[argparse.Namespace, Settings], _Output]] = {
    "trends": _trends,
    "persistence": _persistence,
    "accuracy": _accuracy,
    "near-repeat": _near_repeat,
    "clearance": _clearance,
}


def _write(out: _Output, path: Path, settings: Settings) -> list[str]:
    """Write the layer (persistence) or the command's table (a CSV with no geometry) with its sidecars."""
    import geopandas as gpd

    from geo.output.export import export_layer
    from geo.output.metadata import LayerInfo

    about = out.about
    if out.layer is not None:
        frame, describe_as = out.layer, "npa"
    else:
        table = about["table"]
        frame = gpd.GeoDataFrame(table, geometry=[None] * len(table), crs="EPSG:2264")
        describe_as = about["name"]  # the table's own column meanings (geo.output.dictionary.RESULT_TABLES)
    from geo.cli import plain

    info = LayerInfo(
        about["name"], title=about["title"], description=(out.lines or [""])[0], describe_as=describe_as,
        id_column="npa" if out.layer is not None else None,
        parameters=plain({**about.get("parameters", {}), "summary": out.lines}),
    )  # fmt: skip
    return export_layer(frame, path, about=info, settings=settings).summary().splitlines()


def run(args: argparse.Namespace) -> int:
    """Run one of the commands of this module; returns the exit code."""
    from geo.cli import print_json, table_text
    from geo.cli.regress import check_out
    from geo.settings import get_settings

    layer_command = args.command == "persistence"
    check_out(args.out, (".geojson", ".json", ".gpkg", ".csv") if layer_command else (".csv",))
    settings = get_settings()
    out = _RUNNERS[args.command](args, settings)
    written = _write(out, args.out, settings) if args.out is not None else []
    if args.json:
        print_json({"command": args.command, "lines": out.lines, "tables": out.tables, "written": written})
        return 0
    name, shown = next(iter(out.tables.items()))
    print("\n".join([*out.lines, "", f"{name}:", table_text(shown), *written]))
    return 0
