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

Inputs: see :mod:`geo.scale.parquet` (GeoParquet points, or x/y or lon/lat columns;
a path, a folder or a glob).

Scripts that start a ``LocalCluster`` need an ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from geo.errors import GeoDataError
from geo.scale.counting import AggregateReport, count_totals, count_units, counts_frame, index_for
from geo.scale.parquet import PointsSpec, in_target_crs, inspect_points, read_piece
from geo.scale.polygon_index import PolygonIndex, points_xy

if TYPE_CHECKING:  # pandas and geopandas load with the frames; aggregate_totals needs neither
    import geopandas as gpd
    import pandas as pd
    from distributed import Client, LocalCluster

__all__ = [
    "SchedulerError",
    "count_piece",
    "count_piece_totals",
    "local_cluster",
    "connect",
    "aggregate_parquet",
    "aggregate_totals",
]


Engine = Literal["local", "dask"]


Reader = Literal["arrow", "dask-geopandas"]


class SchedulerError(GeoDataError):
    """The Dask scheduler cannot be reached (or the cluster cannot start)."""


def count_piece(piece: tuple[str, int], spec: PointsSpec, index: PolygonIndex) -> tuple[pd.Series, AggregateReport]:
    """Read, assign and count one piece: partial counts and report (see :func:`geo.scale.counting.count_units`)."""
    x, y, cats = read_piece(piece, spec)
    return count_units(x, y, index, categories=cats)


def count_piece_totals(
    piece: tuple[str, int], spec: PointsSpec, index: PolygonIndex
) -> tuple[np.ndarray, AggregateReport]:
    """Read, assign and count one piece: points per polygon position and report (see :func:`count_totals`)."""
    x, y, _ = read_piece(piece, spec)
    return count_totals(x, y, index)


def aggregate_totals(
    points: str | Path | Sequence[str | Path],
    *,
    index: PolygonIndex,
    crs: Any = None,
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, AggregateReport]:
    """Count the points of (partitioned) Parquet files per polygon, in this process, without pandas.

    The same counts as :func:`aggregate_parquet` with ``engine="local"`` and no ``by``,
    as an array: ``totals[i]`` points fell in polygon position ``i`` (``index.ids[i]``).
    Pieces are counted on ``threads`` threads (default: one per core, at most one per
    piece); reading and the kernel's array work release the GIL (two threads count
    nearly twice as fast once :func:`geo.scale.memory.keep_freed_memory` stops the page
    faults of fresh arrays serialising them), and partial counts add up, so the result
    does not depend on the number of threads.

    Returns
    -------
    totals : numpy.ndarray
        ``int64`` points per polygon position (zeros included).
    report : AggregateReport
        As :func:`aggregate_parquet`.
    """
    say = progress or (lambda msg: None)
    spec = inspect_points(points, target_crs=index.crs, crs=crs)
    say(f"{len(spec.files)} file(s), {len(spec.pieces)} piece(s), {spec.rows:,} rows")
    start = time.perf_counter()
    n = max(1, min(threads if threads is not None else _cores(), len(spec.pieces)))
    if n == 1:
        parts = [count_piece_totals(p, spec, index) for p in spec.pieces]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=n) as pool:
            parts = list(pool.map(lambda p: count_piece_totals(p, spec, index), spec.pieces))
    totals = np.zeros(len(index), dtype=np.int64)
    report = AggregateReport()
    for c, r in parts:
        totals += c
        report = report.merge(r)
    report.files = len(spec.files)
    report.synthetic = spec.synthetic
    where = "in process" + (f", {n} threads" if n > 1 else "")
    elapsed = time.perf_counter() - start
    report.notes = list(spec.notes) + report.notes + [f"engine: local ({where}); {elapsed:.2f} s"]
    if report.points_read != spec.rows:  # pragma: no cover - a reader bug, never an input problem
        raise RuntimeError(f"read {report.points_read} points but the files hold {spec.rows}")
    return totals, report


def _cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _frame_counts(df: pd.DataFrame, spec: PointsSpec, index: PolygonIndex) -> tuple[pd.Series, AggregateReport]:
    """Count one dask-geopandas partition (GeoDataFrame or x/y frame)."""
    if spec.encoding == "xy":
        x = df[spec.columns[0]].to_numpy(dtype=np.float64, na_value=np.nan)
        y = df[spec.columns[1]].to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        x, y, _ = points_xy(df[spec.columns[0]].values)
    x, y = in_target_crs(x, y, spec)
    return count_units(x, y, index, categories=df[spec.by] if spec.by else None)


def _combine(parts: Sequence[tuple[pd.Series, AggregateReport]]) -> tuple[pd.Series, AggregateReport]:
    import pandas as pd

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


def local_cluster(*, n_workers: int = 2, memory_limit: str = "4GB") -> LocalCluster:
    """A ``LocalCluster`` of single-threaded worker processes bound to 127.0.0.1.

    The caller closes it (use it as a context manager). Scripts need an
    ``if __name__ == "__main__":`` guard.
    """
    import logging

    from distributed import LocalCluster

    try:
        return LocalCluster(  # type: ignore[no-untyped-call]  # distributed leaves __init__ unannotated
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


def connect(address: str, *, timeout: float = 10.0) -> Client:
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
        return Client(address, timeout=timeout, set_as_default=False)  # type: ignore[no-untyped-call]  # as above
    except (OSError, TimeoutError) as exc:
        raise SchedulerError(
            f"no Dask scheduler answered at {address} within {timeout:g} s ({type(exc).__name__}). Start one with "
            "`dask scheduler` (and workers with `dask worker ADDRESS`), or omit --scheduler to use a local cluster."
        ) from None


def _run_dask(
    spec: PointsSpec, index: PolygonIndex, client: Client, reader: Reader
) -> list[tuple[pd.Series, AggregateReport]]:
    """Count the pieces on the cluster (the index scattered once to every worker).

    ``distributed.Client`` leaves ``scatter``, ``gather`` and ``compute`` unannotated;
    hence the narrow ignores.
    """
    index_f = client.scatter(index, broadcast=True, hash=False)  # type: ignore[no-untyped-call]
    counted: list[tuple[pd.Series, AggregateReport]]
    if reader == "arrow":
        futures = client.map(count_piece, list(spec.pieces), spec=spec, index=index_f, pure=False)
        counted = client.gather(futures)  # type: ignore[no-untyped-call]
        return counted
    import dask.dataframe as dd
    import dask_geopandas
    from dask.delayed import delayed

    cols = spec.read_columns
    if spec.encoding == "xy":
        ddf = dd.read_parquet(list(spec.files), columns=cols)
    else:
        ddf = dask_geopandas.read_parquet(list(spec.files), columns=cols)
    parts = [delayed(_frame_counts)(p, spec, index_f) for p in ddf.to_delayed()]
    counted = client.gather(client.compute(parts))  # type: ignore[no-untyped-call]
    return counted


def aggregate_parquet(
    points: str | Path | Sequence[str | Path],
    polygons: gpd.GeoDataFrame | None = None,
    *,
    id_column: str,
    by: str | None = None,
    index: PolygonIndex | None = None,
    engine: Engine = "local",
    scheduler: str | None = None,
    client: Client | None = None,
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
    _check_engine(engine, reader, scheduler=scheduler, client=client)
    say = progress or (lambda msg: None)
    index = index_for(polygons, index, id_column=id_column)
    spec = inspect_points(points, target_crs=index.crs, by=by, crs=crs)
    say(f"{len(spec.files)} file(s), {len(spec.pieces)} piece(s), {spec.rows:,} rows")
    start = time.perf_counter()
    if engine == "local":
        parts = [count_piece(p, spec, index) for p in spec.pieces]
        where = "in process"
    else:
        parts, where = _count_on_dask(
            spec, index, client=client, scheduler=scheduler, reader=reader, timeout=timeout, say=say
        )
    counts, report = _combine(parts)
    report.files = len(spec.files)
    report.synthetic = spec.synthetic
    elapsed = time.perf_counter() - start
    report.notes = list(spec.notes) + report.notes + [f"engine: {engine} ({where}); {elapsed:.2f} s"]
    if report.points_read != spec.rows:  # pragma: no cover - a reader bug, never an input problem
        raise RuntimeError(f"read {report.points_read} points but the files hold {spec.rows}")
    return counts_frame(counts, index, by=by), report


def _check_engine(engine: str, reader: str, *, scheduler: str | None, client: Client | None) -> None:
    """Refuse an unknown engine or reader, and Dask options without ``engine="dask"``."""
    if engine not in ("local", "dask"):
        raise ValueError(f"Unknown engine {engine!r}; choose 'local' or 'dask'.")
    if reader not in ("arrow", "dask-geopandas"):
        raise ValueError(f"Unknown reader {reader!r}; choose 'arrow' or 'dask-geopandas'.")
    if engine == "local" and (scheduler or client is not None or reader != "arrow"):
        raise ValueError("scheduler, client and reader='dask-geopandas' need engine='dask'.")


def _count_on_dask(
    spec: PointsSpec,
    index: PolygonIndex,
    *,
    client: Client | None,
    scheduler: str | None,
    reader: Reader,
    timeout: float,
    say: Callable[[str], None],
) -> tuple[list[tuple[pd.Series, AggregateReport]], str]:
    """Count every piece on a Dask cluster: the partial counts, and where they ran.

    Uses ``client`` if given, else connects to ``scheduler``, else starts a local
    cluster; a client or cluster started here is closed before returning.
    """
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
            where = f"Dask cluster at {client.scheduler.address}"  # type: ignore[union-attr]  # set once connected
        nworkers = len(client.scheduler_info().get("workers", {}))
        if nworkers == 0:
            raise SchedulerError(f"the Dask cluster ({where}) has no workers.")
        parts = _run_dask(spec, index, client, reader)
        return parts, where + f", {nworkers} worker(s), reader {reader}"
    finally:
        if own_client is not None:
            own_client.close()  # type: ignore[no-untyped-call]  # distributed leaves it unannotated
        if own_cluster is not None:
            own_cluster.close()
