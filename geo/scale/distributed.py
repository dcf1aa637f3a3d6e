"""Assign and count points stored in partitioned (Geo)Parquet, in process or on Dask.

The work is split into *pieces* (one Parquet row group each). A piece is read
straight into coordinate arrays, reprojected if needed, assigned with the exact
kernel of :mod:`geo.scale.polygon_index`, and reduced to partial counts per unit (and category);
partial counts add up. The same :func:`count_piece` runs in both engines, so the
results are identical:

- ``engine="local"``: pieces one after the other in this process (memory stays at
  one piece).
- ``engine="dask"``: pieces on a ``dask.distributed`` cluster. The polygon index is
  scattered once to every worker; each worker reads its pieces from the shared path.
  Without a scheduler address a ``LocalCluster`` of two single-threaded worker
  processes bound to 127.0.0.1 is started (and stopped afterwards).

``reader="dask-geopandas"`` reads the partitions with :func:`dask_geopandas.read_parquet`
instead (one shapely Point per row, about ten times slower than reading the
coordinates directly; kept for comparison and for inputs only GeoPandas can read).

Inputs: a GeoParquet file with a point geometry column (WKB or native ``point``
encoding), or a Parquet file with ``x``/``y`` (assumed in the analysis CRS unless
``crs`` says otherwise) or ``lon``/``lat`` (``longitude``/``latitude``; EPSG:4326)
columns. A path, a folder (every ``*.parquet`` below it) or a glob.

Scripts that start a ``LocalCluster`` need an ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import glob as _glob
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pyproj import CRS, Transformer

from geo.errors import CRSError, DataFileError, GeoDataError, GeometryError, SchemaError, quote_values
from geo.scale.counting import AggregateReport, count_units, counts_frame
from geo.scale.polygon_index import PolygonIndex, points_xy
from geo.scale.synthetic import SYNTHETIC_METADATA_KEY

__all__ = ["SchedulerError", "PointsSpec", "inspect_points", "read_piece", "count_piece", "local_cluster", "connect", "aggregate_parquet"]


Engine = Literal["local", "dask"]


Reader = Literal["arrow", "dask-geopandas"]


#: Coordinate column pairs recognised (lower case), with the CRS they imply (None: ask/assume).
XY_COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("x", "y", None),
    ("lon", "lat", "EPSG:4326"),
    ("longitude", "latitude", "EPSG:4326"),
    ("lng", "lat", "EPSG:4326"),
)


class SchedulerError(GeoDataError):
    """The Dask scheduler cannot be reached (or the cluster cannot start)."""


@dataclass(frozen=True)
class PointsSpec:
    """How to read points from a set of Parquet files (picklable; shipped to workers).

    Attributes
    ----------
    files
        The files, in order.
    pieces
        ``(file, row group)`` pairs, the unit of work.
    encoding
        ``point`` (GeoParquet native struct), ``WKB`` or ``xy`` (two columns).
    columns
        The geometry column, or the x and y columns.
    source_crs
        The points' CRS (as WKT), or ``None`` when it equals the target.
    target_crs
        The polygons' CRS (as WKT).
    by
        Category column, or ``None``.
    rows
        Rows in all files.
    synthetic
        Some file is marked SYNTHETIC (:func:`geo.scale.synthetic.is_synthetic`).
    notes
        What was assumed or changed (reprojection, assumed CRS).
    """

    files: tuple[str, ...]
    pieces: tuple[tuple[str, int], ...]
    encoding: Literal["point", "WKB", "xy"]
    columns: tuple[str, ...]
    source_crs: str | None
    target_crs: str
    by: str | None = None
    rows: int = 0
    synthetic: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def read_columns(self) -> list[str]:
        return list(self.columns) + ([self.by] if self.by and self.by not in self.columns else [])


def _files(points: str | Path | Sequence[str | Path]) -> list[str]:
    if isinstance(points, str | Path):
        p = Path(points)
        if p.is_dir():
            found = sorted(str(f) for f in p.rglob("*.parquet"))
            if not found:
                raise DataFileError(f"{p}: the folder holds no *.parquet files.")
            return found
        if p.is_file():
            return [str(p)]
        found = sorted(_glob.glob(str(points), recursive=True))
        found = [f for f in found if Path(f).is_file()]
        if not found:
            raise DataFileError(f"{points}: no such file, and no file matches it as a pattern.")
        return found
    files = [str(f) for f in points]
    if not files:
        raise DataFileError("No points files given.")
    for f in files:
        if not Path(f).is_file():
            raise DataFileError(f"{f}: no such file.")
    return files


def _schema(path: str) -> pa.Schema:
    try:
        return pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFileError(f"{path}: not a readable Parquet file ({exc}).") from None


def _geo_column(schema: pa.Schema, path: str) -> tuple[str, str, CRS | None, bool] | None:
    """(column, encoding, crs, crs_declared) from GeoParquet metadata, or None."""
    meta = (schema.metadata or {}).get(b"geo")
    if meta is None:
        return None
    try:
        geo = json.loads(meta)
        col = geo["primary_column"]
        info = geo["columns"][col]
    except (ValueError, KeyError, TypeError):
        raise DataFileError(f"{path}: the GeoParquet metadata ('geo') cannot be read.") from None
    encoding = info.get("encoding", "WKB")
    if encoding not in ("WKB", "point"):
        raise GeometryError(
            f"{path}: the geometry column {col!r} has encoding {encoding!r}; only points can be assigned "
            "(GeoParquet encodings 'point' or 'WKB')."
        )
    types = [t for t in info.get("geometry_types", []) if t.removesuffix(" Z") != "Point"]
    if types:
        raise GeometryError(f"{path}: the geometry column {col!r} holds {', '.join(types)}; only points can be assigned.")
    if "crs" not in info:
        return col, encoding, CRS.from_user_input("OGC:CRS84"), True  # the GeoParquet default
    if info["crs"] is None:
        return col, encoding, None, False
    return col, encoding, CRS.from_user_input(info["crs"]), True


def inspect_points(
    points: str | Path | Sequence[str | Path],
    *,
    target_crs: Any,
    by: str | None = None,
    crs: Any = None,
) -> PointsSpec:
    """Find the files, the coordinates and the CRS of a points input; check every file.

    Parameters
    ----------
    points
        A Parquet file, a folder of them, a glob (``data/synthetic/u10m/*.parquet``)
        or a list of files.
    target_crs
        The CRS to assign in (the polygons').
    by
        Optional category column, which every file must have.
    crs
        The points' CRS when the files do not say (``x``/``y`` columns, or GeoParquet
        with an unknown CRS). Default: ``target_crs`` (noted in the report).

    Raises
    ------
    DataFileError
        No file, or a file that is not Parquet.
    SchemaError
        No coordinates (no GeoParquet geometry, no x/y or lon/lat columns), a file
        differing from the first, or no ``by`` column.
    CRSError
        ``crs`` contradicts the CRS a file declares.
    """
    files = _files(points)
    target = CRS.from_user_input(target_crs)
    first = _schema(files[0])
    notes: list[str] = []
    geo = _geo_column(first, files[0])
    names_lower = {n.lower(): n for n in first.names}
    if geo is not None:
        col, encoding, declared, has_crs = geo
        columns: tuple[str, ...] = (col,)
        src = declared
        if crs is not None:
            user = CRS.from_user_input(crs)
            if has_crs and declared is not None and user != declared:
                raise CRSError(f"{files[0]}: the file says its CRS is {declared.to_string()}, not {user.to_string()}; drop the crs option.")
            src = user
        elif src is None:
            src = target
            notes.append(f"the points' CRS is not recorded; assumed {target.to_string()}")
    else:
        pair = next(((names_lower[a], names_lower[b], implied) for a, b, implied in XY_COLUMNS if a in names_lower and b in names_lower), None)
        if pair is None:
            raise SchemaError(
                f"{files[0]}: no point coordinates: no GeoParquet geometry column and no x/y, lon/lat or "
                f"longitude/latitude columns. Columns: {quote_values(first.names, limit=12)}."
            )
        xcol, ycol, implied = pair
        columns = (xcol, ycol)
        encoding = "xy"
        if crs is not None:
            src = CRS.from_user_input(crs)
        elif implied is not None:
            src = CRS.from_user_input(implied)
        else:
            src = target
            notes.append(f"columns {xcol!r}/{ycol!r} carry no CRS; assumed {target.to_string()} (pass crs= / --crs otherwise)")
    if by is not None and by not in first.names:
        raise SchemaError(f"{files[0]}: cannot break counts down by {by!r}: no such column. Columns: {quote_values(first.names, limit=12)}.")
    pieces: list[tuple[str, int]] = []
    rows = 0
    synthetic = False
    for f in files:
        schema = first if f == files[0] else _schema(f)
        synthetic = synthetic or SYNTHETIC_METADATA_KEY in (schema.metadata or {}) or "synthetic" in schema.names
        need = list(columns) + ([by] if by else [])
        missing = [c for c in need if c not in schema.names]
        if missing:
            raise SchemaError(f"{f}: column(s) {quote_values(missing)} missing (present in {files[0]}); all files must share the columns.")
        if f != files[0] and encoding != "xy":
            other = _geo_column(schema, f)
            if other is None or other[1] != encoding or (other[2] != (geo[2] if geo else None)):
                raise SchemaError(f"{f}: geometry encoding or CRS differs from {files[0]}; all files must match.")
        md = pq.ParquetFile(f).metadata
        rows += md.num_rows
        pieces += [(f, i) for i in range(md.num_row_groups)]
    source_crs = None
    if src != target:
        source_crs = src.to_wkt()
        notes.append(f"points reprojected from {src.to_string()} to {target.to_string()}")
    return PointsSpec(
        files=tuple(files),
        pieces=tuple(pieces),
        encoding=encoding,  # type: ignore[arg-type]
        columns=columns,
        source_crs=source_crs,
        target_crs=target.to_wkt(),
        by=by,
        rows=rows,
        synthetic=synthetic,
        notes=tuple(notes),
    )


def _to_float(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type) or pa.types.is_decimal(arr.type)):
        raise SchemaError(f"coordinate column has type {arr.type}; numbers expected.")
    return np.asarray(arr.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _reproject(x: np.ndarray, y: np.ndarray, spec: PointsSpec) -> tuple[np.ndarray, np.ndarray]:
    if spec.source_crs is None:
        return x, y
    tr = Transformer.from_crs(CRS.from_wkt(spec.source_crs), CRS.from_wkt(spec.target_crs), always_xy=True)
    with np.errstate(invalid="ignore"):
        x, y = tr.transform(x, y)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _finite(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NaN for both coordinates wherever either is missing or infinite (a failed reprojection)."""
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        x = np.where(bad, np.nan, x)
        y = np.where(bad, np.nan, y)
    return x, y


def read_piece(piece: tuple[str, int], spec: PointsSpec) -> tuple[np.ndarray, np.ndarray, pd.Series | None]:
    """Read one row group: x, y in the target CRS (NaN where missing) and the categories."""
    path, rg = piece
    try:
        table = pq.ParquetFile(path).read_row_group(rg, columns=spec.read_columns)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFileError(f"{path}: cannot read row group {rg} ({exc}).") from None
    if spec.encoding == "point":
        g = table.column(spec.columns[0]).combine_chunks()
        x = g.field("x").to_numpy(zero_copy_only=False).astype(np.float64, copy=True)
        y = g.field("y").to_numpy(zero_copy_only=False).astype(np.float64, copy=True)
        if g.null_count:
            null = g.is_null().to_numpy(zero_copy_only=False)
            x[null] = np.nan
            y[null] = np.nan
    elif spec.encoding == "WKB":
        wkb = table.column(spec.columns[0]).to_numpy(zero_copy_only=False)
        try:
            geoms = shapely.from_wkb(wkb)
        except shapely.errors.GEOSException as exc:
            raise GeometryError(f"{path}: unreadable WKB geometry in row group {rg} ({exc}).") from None
        try:
            x, y, _ = points_xy(geoms)
        except GeometryError as exc:
            raise GeometryError(f"{path} (row group {rg}): {exc}") from None
    else:
        try:
            x = _to_float(table.column(spec.columns[0]))
            y = _to_float(table.column(spec.columns[1]))
        except SchemaError as exc:
            raise SchemaError(f"{path}: {exc}") from None
    x, y = _finite(*_reproject(x, y, spec))
    cats = table.column(spec.by).to_pandas() if spec.by else None
    return x, y, cats


def count_piece(piece: tuple[str, int], spec: PointsSpec, index: PolygonIndex) -> tuple[pd.Series, AggregateReport]:
    """Read, assign and count one piece: partial counts and report (see :func:`geo.scale.counting.count_units`)."""
    x, y, cats = read_piece(piece, spec)
    return count_units(x, y, index, categories=cats)


def _frame_counts(df: pd.DataFrame, spec: PointsSpec, index: PolygonIndex) -> tuple[pd.Series, AggregateReport]:
    """Count one dask-geopandas partition (GeoDataFrame or x/y frame)."""
    if spec.encoding == "xy":
        x = df[spec.columns[0]].to_numpy(dtype=np.float64, na_value=np.nan)
        y = df[spec.columns[1]].to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        x, y, _ = points_xy(df[spec.columns[0]].values)
    x, y = _finite(*_reproject(x, y, spec))
    return count_units(x, y, index, categories=df[spec.by] if spec.by else None)


def _combine(parts: Sequence[tuple[pd.Series, AggregateReport]]) -> tuple[pd.Series, AggregateReport]:
    report = AggregateReport()
    series = []
    for s, r in parts:
        report = report.merge(r)
        if len(s):
            series.append(s)
    if not series:
        return (parts[0][0] if parts else pd.Series(dtype="int64")), report
    total = pd.concat(series)
    levels = list(range(total.index.nlevels))
    return total.groupby(level=levels if len(levels) > 1 else 0, sort=True).sum(), report


def local_cluster(*, n_workers: int = 2, memory_limit: str = "4GB") -> Any:
    """A ``LocalCluster`` of single-threaded worker processes bound to 127.0.0.1.

    The caller closes it (use it as a context manager). Scripts need an
    ``if __name__ == "__main__":`` guard.
    """
    import logging

    from distributed import LocalCluster

    try:
        return LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            memory_limit=memory_limit,
            dashboard_address=None,  # no dashboard; its HTTP server still starts: a free port on 127.0.0.1
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
        )
    except Exception as exc:  # distributed raises plain Exception / RuntimeError here
        raise SchedulerError(
            f"could not start a local Dask cluster ({type(exc).__name__}: {exc}). In a script, start it under "
            "`if __name__ == '__main__':`."
        ) from None


def connect(address: str, *, timeout: float = 10.0) -> Any:
    """A ``distributed.Client`` connected to ``address`` (``tcp://HOST:PORT``).

    Raises
    ------
    SchedulerError
        No scheduler answered within ``timeout`` seconds.
    """
    from distributed import Client

    if "://" not in address:
        raise SchedulerError(f"scheduler address {address!r} should look like tcp://HOST:PORT.")
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise SchedulerError(
            f"no Dask scheduler answered at {address} within {timeout:g} s ({type(exc).__name__}). Start one with "
            "`dask scheduler` (and workers with `dask worker ADDRESS`), or omit --scheduler to use a local cluster."
        ) from None


def _run_dask(spec: PointsSpec, index: PolygonIndex, client: Any, reader: Reader) -> list[tuple[pd.Series, AggregateReport]]:
    index_f = client.scatter(index, broadcast=True, hash=False)
    if reader == "arrow":
        futures = client.map(count_piece, list(spec.pieces), spec=spec, index=index_f, pure=False)
        return client.gather(futures)
    import dask
    import dask.dataframe as dd
    import dask_geopandas

    cols = spec.read_columns
    if spec.encoding == "xy":
        ddf = dd.read_parquet(list(spec.files), columns=cols)
    else:
        ddf = dask_geopandas.read_parquet(list(spec.files), columns=cols)
    parts = [dask.delayed(_frame_counts)(p, spec, index_f) for p in ddf.to_delayed()]
    futures = client.compute(parts)
    return client.gather(futures)


def aggregate_parquet(
    points: str | Path | Sequence[str | Path],
    polygons: gpd.GeoDataFrame | None = None,
    *,
    id_column: str,
    by: str | None = None,
    index: PolygonIndex | None = None,
    engine: Engine = "local",
    scheduler: str | None = None,
    client: Any = None,
    crs: Any = None,
    reader: Reader = "arrow",
    timeout: float = 10.0,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, AggregateReport]:
    """Count the points of (partitioned) Parquet files per polygon, every polygon present.

    Parameters
    ----------
    points
        File, folder or glob of (Geo)Parquet points (see the module notes).
    polygons
        Polygon layer (projected CRS) with a unique ``id_column``; or pass ``index``.
    id_column
        Polygon identifier; a point inside several polygons goes to the smallest.
    by
        Optional category column of the points.
    index
        A prebuilt :class:`geo.scale.polygon_index.PolygonIndex`.
    engine
        ``local`` (in this process) or ``dask`` (on a dask.distributed cluster).
    scheduler
        ``tcp://HOST:PORT`` of a running scheduler (``engine="dask"`` only); by
        default a two-worker ``LocalCluster`` on 127.0.0.1.
    client
        An existing ``distributed.Client`` to use instead.
    crs
        The points' CRS when the files do not record one.
    reader
        ``arrow`` (read coordinates directly; default) or ``dask-geopandas``
        (``engine="dask"`` only).
    timeout
        Seconds to wait for the scheduler.
    progress
        Called with short status lines.

    Returns
    -------
    counts : pandas.DataFrame
        As :func:`geo.scale.counting.counts_frame`: ``id_column``, ``count``, and one
        ``"{by}={value}"`` column per category.
    report : AggregateReport
        Points read, assigned, outside, null, on shared boundaries; notes say what
        was assumed or reprojected and which engine ran.

    Raises
    ------
    SchedulerError
        The scheduler cannot be reached, or the local cluster cannot start.
    """
    if engine not in ("local", "dask"):
        raise ValueError(f"Unknown engine {engine!r}; choose 'local' or 'dask'.")
    if reader not in ("arrow", "dask-geopandas"):
        raise ValueError(f"Unknown reader {reader!r}; choose 'arrow' or 'dask-geopandas'.")
    if engine == "local" and (scheduler or client is not None or reader != "arrow"):
        raise ValueError("scheduler, client and reader='dask-geopandas' need engine='dask'.")
    say = progress or (lambda msg: None)
    if index is None:
        if polygons is None:
            raise TypeError("Pass polygons or a prebuilt index.")
        index = PolygonIndex.build(polygons, id_column=id_column)
    elif index.id_column != id_column:
        raise SchemaError(f"The index was built on {index.id_column!r}, not {id_column!r}.")
    spec = inspect_points(points, target_crs=index.crs, by=by, crs=crs)
    say(f"{len(spec.files)} file(s), {len(spec.pieces)} piece(s), {spec.rows:,} rows")
    start = time.perf_counter()
    if engine == "local":
        parts = [count_piece(p, spec, index) for p in spec.pieces]
        where = "in process"
    else:
        own_cluster = None
        own_client = None
        try:
            if client is None:
                if scheduler:
                    own_client = connect(scheduler, timeout=timeout)
                    where = f"Dask cluster at {scheduler}"
                else:
                    say("starting a local Dask cluster (2 workers)")
                    own_cluster = local_cluster()
                    own_client = connect(own_cluster.scheduler_address, timeout=timeout)
                    where = "local Dask cluster (2 workers)"
                client = own_client
            else:
                where = f"Dask cluster at {client.scheduler.address}"
            nworkers = len(client.scheduler_info().get("workers", {}))
            if nworkers == 0:
                raise SchedulerError(f"the Dask cluster ({where}) has no workers.")
            parts = _run_dask(spec, index, client, reader)
            where += f", {nworkers} worker(s), reader {reader}"
        finally:
            if own_client is not None:
                own_client.close()
            if own_cluster is not None:
                own_cluster.close()
    counts, report = _combine(parts)
    report.files = len(spec.files)
    report.synthetic = spec.synthetic
    elapsed = time.perf_counter() - start
    report.notes = list(spec.notes) + report.notes + [f"engine: {engine} ({where}); {elapsed:.2f} s"]
    if report.points_read != spec.rows:  # pragma: no cover - a reader bug, never an input problem
        raise RuntimeError(f"read {report.points_read} points but the files hold {spec.rows}")
    return counts_frame(counts, index, by=by), report
