"""Exact point-in-polygon at scale: the kernel against geopandas.sjoin, and Dask from 1M to 50M points.

1. Kernel (:mod:`geo.scale.polygon_index`) vs ``geopandas.sjoin(predicate="intersects")`` into the 459 NPAs,
   at 1M and 10M synthetic points uniform over the county; both single-threaded (points/s
   per core). Results are checked equal (smallest NPA id on shared boundaries).
   Targets: >= 10M points/s per core, >= 5x sjoin.
2. Dask (:mod:`geo.scale.distributed`): 1M, 5M, 10M, 25M, 50M synthetic points (GeoParquet, 1M per
   file, under data/synthetic/bench, deleted afterwards unless --keep) through a 2-worker
   LocalCluster (1 thread each, 4 GB memory limit): wall time and peak RSS per worker
   (psutil, sampled every 50 ms); median of 3 runs. Target: <= 4 GB per worker, time linear in points. The
   in-process engine runs on the same files for comparison, and the dask-geopandas reader
   at the small sizes.

All points are SYNTHETIC. Run: .venv/bin/python bench/bench_pip.py [--sizes 1,5,10,25,50] [--keep]
Results: printed, and written to artifacts/bench_pip.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the project root is not on sys.path

from geo.layers import build  # noqa: E402 (after the sys.path line)
from geo.scale.distributed import aggregate_parquet, connect, local_cluster  # noqa: E402
from geo.scale.polygon_index import PolygonIndex, points_xy  # noqa: E402
from geo.scale.synthetic import SYNTHETIC_DIR, uniform_points, write_points  # noqa: E402


def median_time(fn, *args, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_kernel(npa: gpd.GeoDataFrame, sizes: list[int]) -> list[dict]:
    t = time.perf_counter()
    index = PolygonIndex.build(npa, id_column="npa")
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    index1 = PolygonIndex.build(npa, id_column="npa", subdivide=1)
    build1 = time.perf_counter() - t
    print(f"index: build {build_s:.2f} s (sub-cells) / {build1:.2f} s (none); {index.nbytes / 1e6:.0f} MB; "
          f"cell {index.cell_size:.0f} ft; exact test for {index.boundary_cell_share:.2%} of the area")  # fmt: skip
    rows = []
    for n in sizes:
        x, y = uniform_points(n, npa, seed=n)
        pts = gpd.GeoDataFrame({"i": np.arange(n)}, geometry=gpd.points_from_xy(x, y), crs=npa.crs)
        k = median_time(index.query, x, y)
        k1 = median_time(index1.query, x, y)
        c0 = time.process_time()
        pos = index.query(x, y)
        cpu = time.process_time() - c0
        kg = median_time(lambda g: index.query(*points_xy(g)[:2]), pts.geometry)
        t = time.perf_counter()
        j = gpd.sjoin(pts, npa[["npa", "geometry"]], predicate="intersects", how="left")
        sj = time.perf_counter() - t
        j = j.sort_values(["i", "npa"]).drop_duplicates("i")
        same = bool((j["npa"].to_numpy() == index.ids[pos]).all() and (pos >= 0).all())
        row = {
            "points": n,
            "kernel_s": k,
            "kernel_cpu_s": cpu,
            "kernel_no_subcells_s": k1,
            "kernel_from_geoseries_s": kg,
            "sjoin_s": sj,
            "kernel_mpts_per_s": n / k / 1e6,
            "kernel_no_subcells_mpts_per_s": n / k1 / 1e6,
            "kernel_from_geoseries_mpts_per_s": n / kg / 1e6,
            "sjoin_mpts_per_s": n / sj / 1e6,
            "speedup_vs_sjoin": sj / k,
            "equal_to_sjoin": same,
        }
        rows.append(row)
        print(f"{n / 1e6:>5.0f}M points: kernel {row['kernel_mpts_per_s']:.1f} M/s (cpu {cpu:.2f} s for {k:.2f} s wall; "
              f"no sub-cells {row['kernel_no_subcells_mpts_per_s']:.1f} M/s; from a GeoSeries "
              f"{row['kernel_from_geoseries_mpts_per_s']:.1f} M/s) | sjoin {row['sjoin_mpts_per_s']:.2f} M/s | "
              f"{row['speedup_vs_sjoin']:.0f}x | equal: {same}")  # fmt: skip
        del pts, j
    return rows


class PeakRSS:
    """Sample the RSS of some processes every ``interval`` seconds; keep each one's peak."""

    def __init__(self, pids: list[int], interval: float = 0.05) -> None:
        self.procs = [psutil.Process(p) for p in pids]
        self.peak = dict.fromkeys(pids, 0)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for p in self.procs:
                try:
                    self.peak[p.pid] = max(self.peak[p.pid], p.memory_info().rss)
                except psutil.Error:
                    pass
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def synthetic_files(npa: gpd.GeoDataFrame, n_files: int) -> tuple[Path, list[Path]]:
    """The benchmark's SYNTHETIC GeoParquet files (1M points each), written unless already there."""
    folder = SYNTHETIC_DIR / "bench"
    existing = sorted(folder.glob("part-*.parquet"))
    t = time.perf_counter()
    if len(existing) != n_files:
        write_points(
            folder, npa, n=n_files * 1_000_000, kind="uniform", seed=2024, rows_per_file=1_000_000, overwrite=True
        )
    files = sorted(folder.glob("part-*.parquet"))
    size_gb = sum(f.stat().st_size for f in files) / 1e9
    print(f"synthetic points: {n_files}M in {len(files)} files, {size_gb:.2f} GB ({time.perf_counter() - t:.1f} s)")
    return folder, files


def bench_size(chunk: list[Path], index: PolygonIndex, client, pids: list[int], *, repeat: int, dgpd: bool) -> dict:
    """One size: Dask wall time and peak RSS per worker, the in-process engine, optionally the dask-geopandas reader."""
    m = len(chunk)
    walls, peaks = [], []
    for _ in range(repeat):
        with PeakRSS(pids) as rss:
            t = time.perf_counter()
            counts, report = aggregate_parquet(
                chunk, index=index, id_column="npa", by="category", engine="dask", client=client
            )
            walls.append(time.perf_counter() - t)
        peaks.append(list(rss.peak.values()))
    assert report.points_read == m * 1_000_000 and counts["count"].sum() == report.assigned
    wall = statistics.median(walls)
    local_walls = []
    c0 = time.process_time()
    for _ in range(repeat):
        t = time.perf_counter()
        local, _ = aggregate_parquet(chunk, index=index, id_column="npa", by="category")
        local_walls.append(time.perf_counter() - t)
    local_wall = statistics.median(local_walls)
    run = {
        "points": m * 1_000_000,
        "dask_s": wall,
        "dask_s_all": walls,
        "dask_mpts_per_s": m / wall,
        "peak_rss_per_worker_gb": [max(p[i] for p in peaks) / 1e9 for i in range(len(pids))],
        "local_s": local_wall,
        "local_cpu_s": (time.process_time() - c0) / repeat,
        "local_mpts_per_s": m / local_wall,
        "dask_equals_local": bool(local.equals(counts)),
    }
    if dgpd:
        with PeakRSS(pids) as rss2:
            t = time.perf_counter()
            dg, _ = aggregate_parquet(
                chunk,
                index=index,
                id_column="npa",
                by="category",
                engine="dask",
                client=client,
                reader="dask-geopandas",
            )
            run["dask_geopandas_reader_s"] = time.perf_counter() - t
        run["dask_geopandas_peak_rss_per_worker_gb"] = [v / 1e9 for v in rss2.peak.values()]
        run["dask_geopandas_equals_local"] = bool(dg.equals(local))
    return run


def print_run(run: dict) -> None:
    m = run["points"] // 1_000_000
    extra = (
        f" | dask-geopandas reader {run['dask_geopandas_reader_s']:.1f} s" if "dask_geopandas_reader_s" in run else ""
    )
    print(f"{m:>3}M points: dask {run['dask_s']:6.2f} s ({run['dask_mpts_per_s']:.1f} M/s), peak RSS/worker "
          f"{', '.join(f'{v:.2f} GB' for v in run['peak_rss_per_worker_gb'])} | in process {run['local_s']:6.2f} s "
          f"({run['local_mpts_per_s']:.1f} M/s, cpu {run['local_cpu_s']:.2f} s) | equal: {run['dask_equals_local']}{extra}")  # fmt: skip


def linear_fit(runs: list[dict]) -> dict | None:
    """Dask time against points: seconds per million, intercept, R^2 (needs two sizes)."""
    pts = np.array([r["points"] for r in runs], dtype=float)
    secs = np.array([r["dask_s"] for r in runs])
    if len(pts) < 2:
        return None
    slope, intercept = np.polyfit(pts / 1e6, secs, 1)
    resid = secs - (slope * pts / 1e6 + intercept)
    r2 = 1 - (resid**2).sum() / ((secs - secs.mean()) ** 2).sum()
    print(f"dask time ~ {intercept:.2f} s + {slope:.3f} s per million points (R^2 = {r2:.4f})")
    return {"s_per_million": slope, "intercept_s": intercept, "r2": r2}


def bench_dask(npa: gpd.GeoDataFrame, sizes_m: list[int], keep: bool, dgpd_max: int, repeat: int) -> dict:
    folder, files = synthetic_files(npa, max(sizes_m))
    index = PolygonIndex.build(npa, id_column="npa")
    out: dict = {"files_gb": sum(f.stat().st_size for f in files) / 1e9, "runs": []}
    t = time.perf_counter()
    with local_cluster() as cluster, connect(cluster.scheduler_address) as client:
        out["cluster_start_s"] = time.perf_counter() - t
        pids = list(client.run(os.getpid).values())
        rest = {p: psutil.Process(p).memory_info().rss for p in pids}
        print(f"LocalCluster: 2 workers x 1 thread, 4 GB limit, started in {out['cluster_start_s']:.1f} s; "
              f"worker RSS at rest {', '.join(f'{v / 1e6:.0f} MB' for v in rest.values())}")  # fmt: skip
        # warm-up: the workers import geopandas & co and receive the index once
        aggregate_parquet(files[:1], index=index, id_column="npa", engine="dask", client=client)
        for m in sizes_m:
            run = bench_size(files[:m], index, client, pids, repeat=repeat, dgpd=m <= dgpd_max)
            out["runs"].append(run)
            print_run(run)
    fit = linear_fit(out["runs"])
    if fit is not None:
        out["linear_fit"] = fit
    if not keep:
        shutil.rmtree(folder)
        print(f"removed {folder}")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kernel-sizes", default="1,10", help="millions of points for kernel vs sjoin (default 1,10)")
    p.add_argument("--sizes", default="1,5,10,25,50", help="millions of points for Dask (default 1,5,10,25,50)")
    p.add_argument(
        "--dask-geopandas-max", type=int, default=5, help="also run the dask-geopandas reader up to this many millions"
    )
    p.add_argument("--keep", action="store_true", help="keep data/synthetic/bench afterwards")
    p.add_argument("--repeat", type=int, default=3, help="runs per Dask size (median reported)")
    args = p.parse_args()
    npa = build.npa()
    print(f"machine: {os.cpu_count()} cores, load average {', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    result = {"load_average_start": os.getloadavg()}
    result["kernel"] = bench_kernel(npa, [int(s) * 1_000_000 for s in args.kernel_sizes.split(",") if s])
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if sizes:
        result["dask"] = bench_dask(npa, sizes, args.keep, args.dask_geopandas_max, args.repeat)
    result["load_average_end"] = os.getloadavg()
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "bench_pip.json").write_text(json.dumps(result, indent=2))
    print(f"written {ROOT / 'artifacts' / 'bench_pip.json'}")


if __name__ == "__main__":
    main()
