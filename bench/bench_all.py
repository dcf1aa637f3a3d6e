"""Every speed figure of issue 16, side by side with its peer, written to bench/RESULTS.md.

Run:  .venv/bin/python bench/bench_all.py [--quick] [--repeat 5]   (or ``make bench``)

The machine may be shared: each figure and its peer run in the same pass with their
repetitions interleaved (geo, peer, geo, peer, ...) and medians are reported, so the
ratio is fair even when the absolute times are not. CPU seconds are given for the
single-threaded kernels (less sensitive to other processes than wall time).

Peers: libpysal ``Graph`` builders (weights), esda with numba, warm (LISA, Gi*; in a
subprocess with ``NUMBA_DISABLE_JIT=0``, compiled before timing), ``geopandas.sjoin``
(point in polygon). All points are SYNTHETIC (uniform random).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROWS: list[tuple[str, str, str, str, str]] = []


def timed(fn) -> tuple[float, float]:
    t, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t, time.process_time() - c


def interleaved(fns: list, repeat: int) -> list[tuple[float, float]]:
    """Median (wall, cpu) of each function, repetitions interleaved."""
    runs: list[list[tuple[float, float]]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            runs[i].append(timed(fn))
    return [(statistics.median(w for w, _ in r), statistics.median(c for _, c in r)) for r in runs]


def add(figure: str, geo: float | None, peer: float | None, peer_name: str, target: str) -> None:
    g = "n/a" if geo is None else f"{geo:.3f} s"
    p = "n/a" if peer is None else f"{peer:.3f} s ({peer_name})"
    ratio = f"{peer / geo:.2f}x" if geo and peer else "-"
    ROWS.append((figure, g, p, ratio, target))
    print(f"{figure:<52s} geo {g:>10s} | peer {p:<34s} | {ratio:>7s} | {target}")


def random_points(n: int, seed: int = 0):
    import geopandas as gpd

    xy = np.random.default_rng(seed).random((n, 2)) * 150_000.0 + [1.38e6, 4.6e5]
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:2264")


def bench_weights(repeat: int, quick: bool) -> None:
    from libpysal.graph import Graph

    from geo.stats.weights import build_weights

    n_peer = 20_000 if quick else 100_000
    pts = random_points(n_peer)
    band = build_weights(pts, method="distance").params["threshold"]
    (gk, _), (pk, _) = interleaved(
        [lambda: build_weights(pts, method="knn", k=6), lambda: Graph.build_knn(pts.geometry, k=6)], repeat
    )
    add(f"KNN k=6, {n_peer:,} points", gk, pk, "libpysal", "-")
    (gd, _), (pd_, _) = interleaved(
        [
            lambda: build_weights(pts, method="distance", threshold=band),
            lambda: Graph.build_distance_band(pts.geometry, threshold=band, binary=True),
        ],
        max(1, repeat // 2),
    )
    add(f"distance band, {n_peer:,} points", gd, pd_, "libpysal", "-")
    if not quick:
        big = random_points(1_000_000, seed=1)
        (w1, c1), (w2, c2) = interleaved(
            [lambda: build_weights(big, method="knn", k=6), lambda: build_weights(big, method="distance")], 3
        )
        add(f"KNN k=6, 1M points (cpu {c1:.2f} s)", w1, None, "", "<= 2 s")
        add(f"distance band (no islands), 1M points (cpu {c2:.2f} s)", w2, None, "", "<= 2 s")


ESDA_WORKER = textwrap.dedent(
    """
    import os, sys, time, warnings
    warnings.simplefilter("ignore")
    import numpy as np, geopandas as gpd, numba, esda
    from libpysal.graph import Graph
    g = gpd.read_parquet(sys.argv[1])
    x = g["pop_2020"].to_numpy(float)
    w = Graph.build_contiguity(g, rook=False).to_W()
    calls = {
        "lisa": lambda r: esda.Moran_Local(x, w, permutations=r, seed=1, n_jobs=1, keep_simulations=False),
        "gi": lambda r: esda.G_Local(x, w, star=1.0, transform="B", permutations=r, seed=1, n_jobs=1,
                                     keep_simulations=False),
    }
    t = time.perf_counter(); calls["lisa"](99); calls["gi"](99)
    print("ready", time.perf_counter() - t, flush=True)
    for line in sys.stdin:
        name, r = line.split()
        t = time.perf_counter(); calls[name](int(r))
        print(time.perf_counter() - t, flush=True)
    """
)


def bench_local(repeat: int) -> None:
    from geo.layers import build
    from geo.stats.getisord import local_gstar
    from geo.stats.moran import local_moran
    from geo.stats.weights import build_weights

    g = build.npa_layer()[["npa", "pop_2020", "geometry"]].reset_index(drop=True)
    w = build_weights(g, method="queen")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "npa.parquet"
        g.to_parquet(path)
        env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"} | {"NUMBA_DISABLE_JIT": "0"}
        peer = subprocess.Popen(
            [sys.executable, "-c", ESDA_WORKER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, env=env,
        )  # fmt: skip
        assert peer.stdin is not None and peer.stdout is not None
        compile_s = float(peer.stdout.readline().split()[1])
        add("esda + numba: first calls (JIT compile)", None, compile_s, "esda", "geo: none")

        def esda_call(name: str, r: int):
            def run() -> None:
                peer.stdin.write(f"{name} {r}\n")
                peer.stdin.flush()
                peer.stdout.readline()

            return run

        geo = {
            "lisa": lambda r: local_moran(g, "pop_2020", weights=w, permutations=r, seed=1),
            "gi": lambda r: local_gstar(g, "pop_2020", weights=w, permutations=r, seed=1, inference="permutation"),
        }
        for r in (999, 9999):
            for name, label in (("lisa", "LISA"), ("gi", "Gi*")):
                geo[name](r)
                (gw, _), (pw, _) = interleaved([lambda n=name, r=r: geo[n](r), esda_call(name, r)], repeat)
                add(f"{label} 459 NPAs x {r:,} permutations", gw, pw, "esda+numba warm", ">= 1x")
        # diagnostic: esda's Moran_Local runs no global test; geo's local_moran also runs
        # the global Moran's I permutation test (in the same thread, before the local one)
        import geo.stats.moran as moran_mod

        budget = moran_mod._GLOBAL_PERM_BUDGET
        moran_mod._GLOBAL_PERM_BUDGET = 0
        try:
            for r in (999, 9999):
                (gw, _), (pw, _) = interleaved([lambda r=r: geo["lisa"](r), esda_call("lisa", r)], repeat)
                add(
                    f"  LISA x {r:,}, local test only (no global permutations)", gw, pw, "esda+numba warm", "diagnostic"
                )
        finally:
            moran_mod._GLOBAL_PERM_BUDGET = budget
        peer.stdin.close()
        peer.wait()


FIRST_LISA = textwrap.dedent(
    """
    from geo.layers import build
    from geo.settings import get_settings
    from geo.stats.moran import local_moran
    from geo.stats.weights import build_weights
    g = build.npa_layer()
    w = build_weights(g, method="queen", cache_dir=get_settings().cache_dir / "weights")
    local_moran(g, "pop_2020", weights=w, permutations=999, seed=1)
    """
)


def bench_first_call() -> None:
    walls = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", FIRST_LISA], cwd=ROOT, check=True, capture_output=True)
        walls.append(time.perf_counter() - t)
    add("fresh process: first LISA, whole process", statistics.median(walls), None, "", "<= 1 s")


BIG_LISA = textwrap.dedent(
    """
    import resource, sys, time
    import numpy as np, geopandas as gpd
    from geo.stats.moran import local_moran
    from geo.stats.getisord import local_gstar
    from geo.stats.weights import weights_from_matrix
    sys.path.insert(0, "tests")
    from tests.helpers.lattices import lattice_matrix
    n = 1000
    w = weights_from_matrix(lattice_matrix(n, n))
    v = np.random.default_rng(0).normal(size=n * n)
    pts = gpd.GeoDataFrame({"v": v}, geometry=gpd.points_from_xy(np.arange(n * n) % n, np.arange(n * n) // n),
                           crs="EPSG:2264")
    t = time.perf_counter(); local_moran(pts, "v", weights=w, permutations=999, seed=1); a = time.perf_counter() - t
    t = time.perf_counter()
    local_gstar(pts, "v", weights=w, permutations=999, seed=1, inference="permutation")
    b = time.perf_counter() - t
    print(a, b, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6)
    """
)


def bench_big_local() -> None:
    out = subprocess.run([sys.executable, "-c", BIG_LISA], cwd=ROOT, check=True, capture_output=True, text=True)
    lisa, gi, gb = (float(v) for v in out.stdout.split())
    add(f"LISA 1M units (queen lattice) x 999 (peak RSS {gb:.1f} GB)", lisa, None, "", "<= 3 s, <= 4 GB")
    add("Gi* 1M units (queen lattice) x 999", gi, None, "", "<= 3 s")


def bench_pip(repeat: int, quick: bool) -> None:
    import geopandas as gpd

    from geo.layers import build
    from geo.scale.index_cache import layer_index
    from geo.scale.memory import keep_freed_memory
    from geo.scale.synthetic import uniform_points

    npa = build.npa()
    keep_freed_memory()  # as python -m geo aggregate does
    index = layer_index("npa")  # the index the command line counts with (cached on disk)
    x, y = uniform_points(1_000_000, npa, seed=1)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=npa.crs)
    poly = npa[["npa", "geometry"]]
    (gw, gc), (sw, _) = interleaved(
        [lambda: index.query(x, y), lambda: gpd.sjoin(pts, poly, predicate="intersects", how="left")],
        max(1, repeat // 2),
    )
    add(f"point in polygon 1M points ({1 / gc:.1f} M pts/s/cpu-s)", gw, sw, "geopandas.sjoin", ">= 20 M/s/core")
    for m in (10,) if quick else (10, 50):
        need = m * 1_000_000 * 8 * 6
        if m > 10 and os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") < 3 * need:
            add(f"point in polygon {m}M points", None, None, "", "skipped: not enough free memory")
            continue
        xm, ym = uniform_points(m * 1_000_000, npa, seed=m)
        # the 1M run again beside it, so that the two rates are measured in the same conditions
        (w1, c1), (w, c) = interleaved(
            [lambda: index.query(x, y), lambda a=xm, b=ym: index.query(a, b)], max(1, repeat // 2)
        )
        add(
            f"point in polygon {m}M points ({m / c:.1f} M pts/s/cpu-s; 1M beside it {1 / c1:.1f})",
            w, w1 * m, f"{m} x the 1M time", "rate kept from 1M",
        )  # fmt: skip
        del xm, ym


def _aggregate_process(points: Path, out: Path, *extra: str) -> float:
    """Wall time of a whole ``python -m geo aggregate`` process (start, imports, reading, counting, writing)."""
    t = time.perf_counter()
    cmd = [sys.executable, "-m", "geo", "aggregate", "--points", str(points), "--layer", "npa", "--out", str(out)]
    subprocess.run([*cmd, *extra], cwd=ROOT, check=True, capture_output=True, text=True)
    return time.perf_counter() - t


def bench_aggregate(repeat: int, quick: bool) -> None:
    """``aggregate`` of 10M GeoParquet points, whole process: in process, and on 2 and 4 local Dask workers."""
    from distributed import LocalCluster

    from geo.layers import build
    from geo.scale.synthetic import write_points

    m = 2 if quick else 10
    with tempfile.TemporaryDirectory(dir=ROOT / "data") as tmp:
        folder = Path(tmp) / "points"
        write_points(folder, build.npa(), n=m * 1_000_000, seed=7)
        out = Path(tmp) / "counts.csv"
        local = statistics.median(_aggregate_process(folder, out) for _ in range(max(1, repeat // 2)))
        add(
            f"aggregate {m}M GeoParquet points, whole process ({m / local:.1f} M pts/s)",
            local, None, "", ">= 10 M pts/s",
        )  # fmt: skip
        for workers in (2, 4):
            with LocalCluster(n_workers=workers, threads_per_worker=1, memory_limit="3GB", processes=True) as cluster:
                address = cluster.scheduler_address
                dask = statistics.median(
                    _aggregate_process(folder, out, "--engine", "dask", "--scheduler", address)
                    for _ in range(max(1, repeat // 2))
                )
            add(
                f"aggregate {m}M points on Dask, {workers} local workers on {os.cpu_count()} cores",
                dask, local, "in process", "say when Dask helps",
            )  # fmt: skip


def write_results(path: Path, started: float) -> None:
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    lines = [
        "# Benchmark results (issue 16)",
        "",
        f"Written by `make bench` (bench/bench_all.py) on {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{os.cpu_count()} cores, load average at the end {load}, {time.time() - started:.0f} s in all. "
        "Medians of interleaved repetitions; ratio = peer time / geo time (above 1: geo is faster). "
        "All points are SYNTHETIC.",
        "",
        "| figure | geo | peer | ratio | target |",
        "|---|---|---|---|---|",
        *(f"| {' | '.join(r)} |" for r in ROWS),
        "",
    ]
    path.write_text("\n".join(lines))
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "bench_all.json").write_text(json.dumps(ROWS, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="smaller peer sizes; no 1M weights, 1M LISA or 50M points")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    ap.add_argument("--only", default="local,first,weights,pip,aggregate,big", help="comma-separated sections to run")
    args = ap.parse_args()
    only = set(args.only.split(","))
    warnings.simplefilter("ignore")
    started = time.time()
    if "local" in only:
        bench_local(args.repeat)
    if "first" in only:
        bench_first_call()
    if "weights" in only:
        bench_weights(args.repeat, args.quick)
    if "pip" in only:
        bench_pip(args.repeat, args.quick)
    if "aggregate" in only:
        bench_aggregate(args.repeat, args.quick)
    if "big" in only and not args.quick:
        bench_big_local()
    write_results(args.out, started)
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
