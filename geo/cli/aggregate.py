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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from geo.errors import DataFileError, SchemaError

if TYPE_CHECKING:  # a warm CSV count imports neither (the polygon index comes from the cache)
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from geo.scale.polygon_index import PolygonIndex

__all__ = ["add_parser", "write_counts", "write_totals_csv", "run"]


OUTPUTS = {".csv": "csv", ".parquet": "parquet", ".geojson": "geojson", ".json": "geojson"}


class _LayerChoices:
    """The catalogue's layers to count in, looked up only when needed.

    The catalogue imports geopandas (about a second). A layer whose polygon index is
    cached was a catalogue layer when it was written, so argparse accepts it without
    the catalogue; listing the layers (``--help``, an unknown name) asks the catalogue.
    """

    def _names(self) -> tuple[str, ...]:
        from geo.layers.catalog import layer_names

        return layer_names("aggregate")

    def __contains__(self, name: object) -> bool:
        from geo.settings import get_settings

        try:
            folder = Path(get_settings().cache_dir) / "index"
        except ValueError:  # a bad CMPD_* variable: the catalogue decides here, run() reports it
            return name in self._names()
        if isinstance(name, str) and name.isidentifier() and any(folder.glob(f"{name}-*.npz")):
            return True
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())


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
    p.add_argument(
        "--layer",
        required=True,
        choices=_LayerChoices(),  # a lazy container: argparse only iterates it and tests membership
        metavar="LAYER",
        help="polygons to count in: %(choices)s",
    )
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


def write_totals_csv(totals: np.ndarray, index: PolygonIndex, path: Path, *, synthetic: bool = False) -> Path:
    """Write points per polygon (:func:`geo.scale.distributed.aggregate_totals`) as CSV, without pandas.

    The same bytes as :func:`write_counts` writes for the same counts: ``id_column``,
    ``synthetic`` (when the points are SYNTHETIC) and ``count``, one row per polygon in
    layer order.
    """
    import csv
    import io

    if not path.parent.exists():
        raise DataFileError(f"{path}: the folder {path.parent} does not exist.")
    header = [index.id_column, *(["synthetic"] if synthetic else []), "count"]
    flag = ["True"] if synthetic else []
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")  # as pandas' to_csv: minimal quoting, "\n"
    w.writerow(header)
    w.writerows([str(i), *flag, str(c)] for i, c in zip(index.ids.tolist(), totals.tolist(), strict=True))
    from geo.ingest.files import atomic_path  # no pandas or geopandas: they load only where a table is read

    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue().encode("utf-8"))
    return path


def write_counts(counts: pd.DataFrame, polygons: gpd.GeoDataFrame | None, id_column: str, path: Path) -> Path:
    """Write counts by extension: CSV or Parquet (the table), GeoJSON (polygons with counts; ``polygons`` needed)."""
    import geopandas as gpd

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

        if polygons is None:
            raise TypeError("GeoJSON output needs the polygons.")
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
    from geo.scale.index_cache import layer_index

    if args.scheduler and args.engine != "dask":
        raise SchemaError("--scheduler needs --engine dask.")
    kind = OUTPUTS.get(args.out.suffix.lower())
    if kind is None:
        raise DataFileError(f"{args.out}: cannot tell the format from the extension; use {', '.join(OUTPUTS)}.")
    if not args.out.parent.exists():
        raise DataFileError(f"{args.out}: the folder {args.out.parent} does not exist.")
    from geo.scale.memory import keep_freed_memory

    keep_freed_memory()  # this process only counts: reuse freed memory (reading and counting 1.6-2 times faster)
    # The index (boundary cells split: the kernel's speed doubles) comes from the cache after the first run.
    index = layer_index(args.layer, cell_size=args.hex_size)

    def say(msg: str) -> None:
        print(msg, file=sys.stderr)

    if args.engine == "local" and args.by is None and kind == "csv":  # the common case: numpy only
        from geo.scale.distributed import aggregate_totals

        totals, report = aggregate_totals(args.points, index=index, crs=args.crs, progress=say)
        write_totals_csv(totals, index, args.out, synthetic=report.synthetic)
        print(report.summary())
        print(f"wrote {len(totals):,} {args.layer} units ({int((totals > 0).sum()):,} with points) to {args.out}")
        return 0
    return _run_frames(args, index, say)


def _run_frames(args: argparse.Namespace, index: PolygonIndex, say: Callable[[str], None]) -> int:
    """Count by category, on Dask, or into Parquet / GeoJSON (pandas frames)."""
    from geo.layers.catalog import get_units
    from geo.scale.distributed import aggregate_parquet

    counts, report = aggregate_parquet(
        args.points,
        index=index,
        id_column=index.id_column,
        by=args.by,
        engine=args.engine,
        scheduler=args.scheduler,
        crs=args.crs,
        timeout=args.timeout,
        progress=say,
    )
    if report.synthetic:  # the label travels with the numbers
        counts.insert(1, "synthetic", True)
    polygons = get_units(args.layer, cell_size=args.hex_size) if OUTPUTS[args.out.suffix.lower()] == "geojson" else None
    write_counts(counts, polygons, index.id_column, args.out)
    print(report.summary())
    print(f"wrote {len(counts):,} {args.layer} units ({int((counts['count'] > 0).sum()):,} with points) to {args.out}")
    return 0
