"""Synthetic points for benchmarks and tests — SYNTHETIC, never to be shown as data.

Points are drawn uniformly over the county (the union of the NPAs) or clustered
around NPA centroids, from a seeded generator, and written as partitioned
GeoParquet (GeoParquet 1.1, native ``point`` encoding, EPSG:2264). Every file
carries a ``synthetic`` column that is always ``True`` and file-level metadata
``cmpd_hotspots`` = ``{"synthetic": true, ...}``; :func:`is_synthetic` checks
either, so the app can refuse such files.

Examples
--------
>>> from geo import layers, synthetic
>>> paths = synthetic.write_points("data/synthetic/u1m", layers.npa(), n=1_000_000, kind="uniform")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pyproj import CRS

from geo.errors import DataFileError, EmptyInputError
from geo.scale.polygon_index import PolygonIndex
from geo.settings import PROJECT_ROOT

if TYPE_CHECKING:  # geopandas only where polygons are handled: reading points needs SYNTHETIC_METADATA_KEY alone
    import geopandas as gpd

__all__ = [
    "SYNTHETIC_DIR",
    "SYNTHETIC_METADATA_KEY",
    "CATEGORIES",
    "uniform_points",
    "clustered_points",
    "write_points",
    "is_synthetic",
]


#: Default folder for synthetic data (git-ignored).
SYNTHETIC_DIR = PROJECT_ROOT / "data" / "synthetic"


#: Key of the file-level Parquet metadata that marks a file as synthetic.
SYNTHETIC_METADATA_KEY = b"cmpd_hotspots"


#: Values of the optional ``category`` column and their probabilities.
CATEGORIES: dict[str, float] = {"property": 0.5, "violent": 0.2, "traffic": 0.2, "other": 0.1}


_WARNING = "SYNTHETIC points generated for benchmarks and tests; not CMPD data; never show them as data."


def _county(polygons: gpd.GeoDataFrame) -> PolygonIndex:
    import geopandas as gpd

    area = gpd.GeoDataFrame({"_id": [0]}, geometry=[shapely.union_all(polygons.geometry.values)], crs=polygons.crs)
    return PolygonIndex.build(area, id_column="_id")


def uniform_points(
    n: int, polygons: gpd.GeoDataFrame, *, seed: int = 0, index: PolygonIndex | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform over the union of ``polygons`` (rejection sampling).

    Parameters
    ----------
    n
        Number of points.
    polygons
        The area to fill (e.g. the NPAs: their union is the county).
    seed
        Seed of the random generator.
    index
        A :class:`PolygonIndex` of the union, to reuse across calls.

    Returns
    -------
    x, y : numpy.ndarray
        Coordinates in the polygons' CRS.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, not {n}.")
    index = index or _county(polygons)
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = polygons.total_bounds
    xs, ys, have = [], [], 0
    while have < n:
        m = max(1024, int((n - have) * 1.7))
        x = rng.uniform(xmin, xmax, m)
        y = rng.uniform(ymin, ymax, m)
        ok = index.query(x, y) >= 0
        xs.append(x[ok])
        ys.append(y[ok])
        have += int(ok.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def clustered_points(
    n: int, polygons: gpd.GeoDataFrame, *, seed: int = 0, spread: float = 1500.0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points in Gaussian clusters around the polygons' centroids.

    Each point picks a polygon at random (equal weights) and is drawn around its
    centroid with standard deviation ``spread`` (CRS units, feet for EPSG:2264).
    Some points fall outside every polygon, as real geocoded points do.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, not {n}.")
    rng = np.random.default_rng(seed)
    centres = shapely.get_coordinates(shapely.centroid(polygons.geometry.values))
    which = rng.integers(0, len(centres), n)
    x = centres[which, 0] + rng.normal(0.0, spread, n)
    y = centres[which, 1] + rng.normal(0.0, spread, n)
    return x, y


def _geo_metadata(crs: CRS, bbox: list[float]) -> dict[str, Any]:
    """GeoParquet 1.1 metadata of a native ``point`` geometry column."""
    return {
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {
            "geometry": {
                "encoding": "point",
                "geometry_types": ["Point"],
                "crs": crs.to_json_dict(),
                "bbox": bbox,
            }
        },
    }


def _table(x: np.ndarray, y: np.ndarray, crs: CRS, category: np.ndarray | None, meta: dict[str, Any]) -> pa.Table:
    """One file's table: GeoArrow points, the ``synthetic`` flag, the category; metadata that says SYNTHETIC."""
    geom = pa.StructArray.from_arrays(
        [pa.array(x), pa.array(y)],
        fields=[pa.field("x", pa.float64(), nullable=False), pa.field("y", pa.float64(), nullable=False)],
    )
    ext = {
        b"ARROW:extension:name": b"geoarrow.point",
        b"ARROW:extension:metadata": json.dumps({"crs": crs.to_json_dict()}).encode(),
    }
    fields = [pa.field("geometry", geom.type, metadata=ext), pa.field("synthetic", pa.bool_())]
    arrays = [geom, pa.array(np.ones(len(x), dtype=bool))]
    if category is not None:
        fields.append(pa.field("category", pa.dictionary(pa.int8(), pa.string())))
        arrays.append(pa.DictionaryArray.from_arrays(pa.array(category, type=pa.int8()), pa.array(list(CATEGORIES))))
    bbox = [float(x.min()), float(y.min()), float(x.max()), float(y.max())] if len(x) else [0.0, 0.0, 0.0, 0.0]
    metadata = {
        b"geo": json.dumps(_geo_metadata(crs, bbox)).encode(),
        SYNTHETIC_METADATA_KEY: json.dumps(meta).encode(),
    }
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=metadata))


def write_points(
    folder: str | Path,
    polygons: gpd.GeoDataFrame,
    *,
    n: int,
    kind: Literal["uniform", "clustered"] = "uniform",
    seed: int = 0,
    rows_per_file: int = 1_000_000,
    category: bool = True,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``n`` synthetic points as partitioned GeoParquet under ``folder``.

    Parameters
    ----------
    folder
        Output folder (created); by convention under :data:`SYNTHETIC_DIR`
        (``data/synthetic/``, git-ignored).
    polygons
        The area (uniform: their union; clustered: around their centroids).
    n
        Total number of points.
    kind
        ``uniform`` over the county, or ``clustered`` around NPA centroids.
    seed
        Base seed; file ``i`` uses ``seed + i`` so any file can be regenerated alone.
    rows_per_file
        Points per file (one Parquet row group each).
    category
        Add a ``category`` column (:data:`CATEGORIES`), for ``--by``.
    overwrite
        Replace existing ``part-*.parquet`` files in ``folder`` (else refuse).

    Returns
    -------
    list of pathlib.Path
        The files written, ``part-00000.parquet``, ``part-00001.parquet``, ...

    Notes
    -----
    Each file has ``synthetic`` (always ``True``), ``geometry`` (GeoParquet
    ``point`` encoding, the polygons' CRS) and optionally ``category``; its
    metadata ``cmpd_hotspots`` says SYNTHETIC, with the kind, seed and size.
    """
    if n <= 0:
        raise EmptyInputError(f"n must be positive, not {n}.")
    if rows_per_file <= 0:
        raise ValueError(f"rows_per_file must be positive, not {rows_per_file}.")
    if kind not in ("uniform", "clustered"):
        raise ValueError(f"Unknown kind {kind!r}; choose 'uniform' or 'clustered'.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    old = sorted(folder.glob("part-*.parquet"))
    if old and not overwrite:
        raise DataFileError(
            f"{folder} already holds {len(old)} part-*.parquet files; pass overwrite=True or choose another folder."
        )
    for p in old:
        p.unlink()
    index = _county(polygons) if kind == "uniform" else None
    probs = np.array(list(CATEGORIES.values()))
    paths = []
    nfiles = math.ceil(n / rows_per_file)
    for i in range(nfiles):
        m = min(rows_per_file, n - i * rows_per_file)
        if kind == "uniform":
            x, y = uniform_points(m, polygons, seed=seed + i, index=index)
        else:
            x, y = clustered_points(m, polygons, seed=seed + i)
        cat = (
            np.random.default_rng([seed + i, 1]).choice(len(probs), size=m, p=probs).astype(np.int8)
            if category
            else None
        )
        meta = {
            "synthetic": True,
            "warning": _WARNING,
            "kind": kind,
            "seed": seed + i,
            "rows": m,
            "total_rows": n,
            "part": i,
        }
        path = folder / f"part-{i:05d}.parquet"
        pq.write_table(_table(x, y, polygons.crs, cat, meta), path, row_group_size=rows_per_file, compression="snappy")
        paths.append(path)
    return paths


def is_synthetic(path: str | Path) -> bool:
    """True when a Parquet file is marked synthetic (metadata, or a ``synthetic`` column)."""
    schema = pq.read_schema(path)
    meta = schema.metadata or {}
    if SYNTHETIC_METADATA_KEY in meta:
        try:
            return bool(json.loads(meta[SYNTHETIC_METADATA_KEY]).get("synthetic", False))
        except (ValueError, AttributeError):
            return True
    return "synthetic" in schema.names


def main(argv: list[str] | None = None) -> int:
    """``python -m geo.scale.synthetic --n N --out FOLDER``: write synthetic points over the NPAs."""
    import argparse

    from geo.layers.build import npa

    p = argparse.ArgumentParser(
        prog="python -m geo.scale.synthetic",
        description="Write SYNTHETIC points (benchmarks and tests only) as partitioned GeoParquet.",
    )
    p.add_argument("--n", type=int, required=True, help="number of points")
    p.add_argument("--kind", choices=("uniform", "clustered"), default="uniform")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rows-per-file", type=int, default=1_000_000)
    p.add_argument("--out", type=Path, help=f"folder (default {SYNTHETIC_DIR}/<kind>_<n>)")
    p.add_argument("--overwrite", action="store_true")
    args = p.parse_args(argv)
    out = args.out or SYNTHETIC_DIR / f"{args.kind}_{args.n}"
    paths = write_points(
        out, npa(), n=args.n, kind=args.kind, seed=args.seed, rows_per_file=args.rows_per_file, overwrite=args.overwrite
    )
    print(f"wrote {args.n:,} SYNTHETIC points in {len(paths)} file(s) under {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
