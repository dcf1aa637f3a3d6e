r"""``python -m geo aggregate``: count points per NPA, division or hexagon, in process or on Dask.

Examples
--------
::

    python -m geo aggregate --points data/synthetic/u10m --layer npa --out npa_counts.csv
    python -m geo aggregate --points 'stops/*.parquet' --layer divisions --by category \\
        --engine dask --scheduler tcp://10.0.0.5:8786 --out divisions.parquet
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.errors import DataFileError, GeometryError, SchemaError

__all__ = ["add_parser", "write_counts", "run"]


OUTPUTS = {".csv": "csv", ".parquet": "parquet", ".geojson": "geojson", ".json": "geojson"}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``aggregate`` sub-command."""
    p = sub.add_parser(
        "aggregate",
        help="count points per NPA, division or hexagon (in process or on a Dask cluster)",
        description="Assign every point of a (partitioned) Parquet input to the polygon that holds it -- exactly "
        "as geopandas.sjoin(predicate='intersects') would, a point on a shared boundary going to the smallest id -- "
        "and count points per polygon (every polygon listed, zeros included). Points: GeoParquet with a point "
        "geometry, or Parquet with x/y (EPSG:2264 unless --crs) or lon/lat columns; a path, a folder or a glob. "
        "Points outside every polygon and points without coordinates are counted and reported, not silently dropped.",
    )
    p.add_argument("--points", required=True, metavar="PATH_OR_GLOB", help="Parquet file, folder or glob (quote it)")
    from geo.layers.catalog import layer_names

    p.add_argument("--layer", required=True, choices=layer_names("aggregate"), help="polygons to count in")
    p.add_argument(
        "--by", metavar="COLUMN", help="also count by this column of the points (one output column per value)"
    )
    p.add_argument(
        "--engine",
        choices=("local", "dask"),
        default="local",
        help="local: in this process (default); dask: on a Dask cluster",
    )
    p.add_argument(
        "--scheduler", metavar="tcp://HOST:PORT", help="Dask scheduler to use (default: start 2 local workers)"
    )
    p.add_argument(
        "--timeout", type=float, default=10.0, metavar="SECONDS", help="wait this long for the scheduler (default 10)"
    )
    p.add_argument(
        "--crs", metavar="CRS", help="CRS of x/y columns when the file does not record one (default EPSG:2264)"
    )
    p.add_argument(
        "--hex-size",
        type=float,
        default=1000.0,
        metavar="FEET",
        help="hexagon spacing for --layer hex (default 1000 ft)",
    )
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="FILE",
        help="output: .csv, .parquet (counts) or .geojson (polygons with counts)",
    )


def write_counts(counts: pd.DataFrame, polygons: gpd.GeoDataFrame, id_column: str, path: Path) -> Path:
    """Write counts by extension: CSV or Parquet (the table), GeoJSON (polygons with counts)."""
    kind = OUTPUTS.get(path.suffix.lower())
    if kind is None:
        raise DataFileError(f"{path}: cannot tell the format from the extension; use {', '.join(OUTPUTS)}.")
    if not path.parent.exists():
        raise DataFileError(f"{path}: the folder {path.parent} does not exist.")
    if kind in ("csv", "parquet"):
        from geo.ingest.files import atomic_path

        with atomic_path(path) as tmp:  # a failed write leaves any previous file intact
            if kind == "csv":
                counts.to_csv(tmp, index=False)
            else:
                counts.to_parquet(tmp, index=False)
    else:
        from geo.output.export import write_layer

        extra = [
            c for c in polygons.columns if c not in (id_column, polygons.geometry.name) and c not in counts.columns
        ]
        layer = polygons[[id_column, *extra, polygons.geometry.name]].merge(
            counts, on=id_column, how="left", validate="1:1"
        )
        write_layer(gpd.GeoDataFrame(layer, geometry=polygons.geometry.name, crs=polygons.crs), path, fmt="geojson")
    return path


def run(args: argparse.Namespace) -> int:
    """Run ``aggregate``; return the exit code (errors raise :class:`geo.errors.GeoDataError`)."""
    from geo.scale.distributed import aggregate_parquet
    from geo.scale.parquet import inspect_points
    from geo.scale.polygon_index import PolygonIndex

    if args.scheduler and args.engine != "dask":
        raise SchemaError("--scheduler needs --engine dask.")
    if OUTPUTS.get(args.out.suffix.lower()) is None:
        raise DataFileError(f"{args.out}: cannot tell the format from the extension; use {', '.join(OUTPUTS)}.")
    if not args.out.parent.exists():
        raise DataFileError(f"{args.out}: the folder {args.out.parent} does not exist.")
    from geo.layers.catalog import get_units, layer_spec

    polygons, id_column = get_units(args.layer, cell_size=args.hex_size), layer_spec(args.layer).id_column
    # Splitting boundary cells doubles the kernel's speed but costs 0.3-3 s to build:
    # worth it from about ten million points.
    rows = inspect_points(args.points, target_crs=polygons.crs, by=args.by, crs=args.crs).rows
    try:
        index = PolygonIndex.build(polygons, id_column=id_column, subdivide=4 if rows >= 10_000_000 else 1)
    except GeometryError as exc:
        raise GeometryError(f"layer {args.layer}: {exc}") from None

    def say(msg: str) -> None:
        print(msg, file=sys.stderr)

    counts, report = aggregate_parquet(
        args.points,
        index=index,
        id_column=id_column,
        by=args.by,
        engine=args.engine,
        scheduler=args.scheduler,
        crs=args.crs,
        timeout=args.timeout,
        progress=say,
    )
    if report.synthetic:  # the label travels with the numbers
        counts.insert(1, "synthetic", True)
    write_counts(counts, polygons, id_column, args.out)
    print(report.summary())
    print(f"wrote {len(counts):,} {args.layer} units ({int((counts['count'] > 0).sum()):,} with points) to {args.out}")
    return 0
