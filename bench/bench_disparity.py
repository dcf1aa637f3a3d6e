"""Time every table of the Disparities page (and both models) on the full stops table, warm.

Run: ``.venv/bin/python bench/bench_disparity.py [--repeat 5]``. Loading the data is not
timed; the first run (imports, caches) is a warm-up and not counted. Target: <= 2 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo.analysis import benchmark, disparity, funnel, models, use_of_force
from geo.ingest import odp
from geo.ingest.stops import load_stops
from geo.layers import build


def tables(stops, population) -> dict[str, object]:
    """The tables the Disparities page computes for its default choices, all stops."""
    out: dict[str, object] = {}
    for outcome in ("search", "arrest", "citation"):
        for dim in disparity.DRIVER_DIMENSIONS:
            for per in (None, "division", "month"):
                out[f"rates/{outcome}/{dim}/{per}"] = disparity.rates(stops, outcome=outcome, by=dim, per=per)
    for dim in disparity.OFFICER_DIMENSIONS:
        out[f"officer/{dim}"] = disparity.officer_rates(stops, by=dim)
    out["matrix"] = disparity.officer_driver_matrix(stops)
    out["funnel_ratio"] = funnel.funnel(stops)
    out["funnel_rate"] = funnel.funnel(stops, measure="rate")
    out["benchmark"] = benchmark.stop_benchmark(stops, population)
    return out


def suite(stops, population):
    return tables(stops, population), models.fit_models(stops)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    stops, _ = load_stops()
    population, _ = build.division_population()
    print(f"stops: {len(stops):,}")
    suite(stops, population)  # warm-up
    times, cpu, parts = [], [], {"tables": [], "models": []}
    for _ in range(args.repeat):
        c0 = time.process_time()
        t0 = time.perf_counter()
        tabs = tables(stops, population)
        t1 = time.perf_counter()
        fits = models.fit_models(stops)
        t2 = time.perf_counter()
        cpu.append(time.process_time() - c0)
        times.append(t2 - t0)
        parts["tables"].append(t1 - t0)
        parts["models"].append(t2 - t1)
    rows = sum(len(t) for t in tabs.values())
    print(
        f"tables: {rows:,} rows in {len(tabs)} tables; models: "
        + ", ".join(f"{k} n={v.n_used:,}" for k, v in fits.items())
    )
    print(
        f"whole suite: median {statistics.median(times):.3f} s, min {min(times):.3f} s over {args.repeat} runs "
        f"(tables median {statistics.median(parts['tables']):.3f} s, models median {statistics.median(parts['models']):.3f} s; "
        f"CPU time median {statistics.median(cpu):.3f} s)"
    )
    try:
        load = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        load = ["?"]
    print(f"machine load average while measuring: {' '.join(load)} (2 cores; other jobs slow the wall time)")
    t0 = time.perf_counter()
    wb, _ = odp.load_odp_workbook()
    use_of_force.odp_yearly(wb)
    use_of_force.hit_rates(wb)
    use_of_force.reconcile_counts(stops, wb)
    print(
        f"state workbook load + yearly/hit-rate/reconciliation tables: {time.perf_counter() - t0:.3f} s (not in the suite)"
    )


if __name__ == "__main__":
    main()
