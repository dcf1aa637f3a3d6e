"""Speed of the space-time analyses: cube + emerging hot spots, and the Knox test.

Run:  .venv/bin/python bench/bench_spacetime.py [--repeat N] [--points N]

Measures (wall-clock, best of ``--repeat`` runs):

1. Cube + emerging hot spots (999 permutations, FDR per step) on 1,000,000 SYNTHETIC
   points x 40 quarterly steps (2016-Q1 .. 2025-Q4) x about 5,000 hexagons: the real
   sample's locations resampled with 1,000 ft of noise, months uniform.
2. The same on the real 2017-2026 point sample (11,400 points, 2,000 ft and 5,000 ft cells).
3. Knox on 10,000 points of the real sample, 5 distance bands (400 ft) x 4 month bands,
   999 permutations.

Targets (issue 13): (1) <= 10 s; (2) <= 2 s; (3) <= 5 s.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.analysis.spacetime import cell_counts, emerging_cube  # noqa: E402
from geo.stats.near_repeat import knox_table  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def sample_points() -> gpd.GeoDataFrame:
    df = pd.read_csv(SHARED / "points" / "cmpd_incidents_point_sample_2017-2026.csv")
    geom = gpd.points_from_xy(df["lon"], df["lat"], crs="EPSG:4326")
    pts = gpd.GeoDataFrame({"month": pd.to_datetime(df["month"] + "-01"), "category": df["category"]}, geometry=geom)
    return pts.to_crs("EPSG:2264")


def synthetic_points(sample: gpd.GeoDataFrame, n: int, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(sample), n)
    x = sample.geometry.x.to_numpy()[pick] + rng.normal(0, 1000, n)
    y = sample.geometry.y.to_numpy()[pick] + rng.normal(0, 1000, n)
    months = pd.DatetimeIndex(pd.period_range("2016-01", "2025-12", freq="M").to_timestamp()[rng.integers(0, 120, n)])
    cats = np.array(["persons", "property", "society", "other"])[rng.integers(0, 4, n)]
    return gpd.GeoDataFrame({"month": months, "category": cats}, geometry=gpd.points_from_xy(x, y), crs="EPSG:2264")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()
    county = gpd.read_file(SHARED / "npa" / "npa_geography.geojson").to_crs("EPSG:2264")
    sample = sample_points()

    synth = synthetic_points(sample, args.points)
    t, res = best(lambda: emerging_cube(synth, boundary=county, cell_size=1900.0, seed=1), args.repeat)
    cube = res.cube
    print(
        f"1. cube + EHSA, {args.points:,} synthetic points: {t:.2f} s "
        f"({cube.counts.shape[0]:,} hexagons x {cube.n_steps} {cube.step}s, 999 permutations)"
    )
    t_c, counts = best(lambda: cell_counts(synth, boundary=county, cell_size=1900.0), args.repeat)
    print(f"   of which counting the points in hexagons x months: {t_c:.2f} s")

    for size in (2000.0, 5000.0):
        t, res = best(lambda s=size: emerging_cube(sample, boundary=county, cell_size=s, seed=1), args.repeat)
        print(
            f"2. cube + EHSA, real sample ({len(sample):,} points), {size:,.0f} ft cells: {t:.2f} s "
            f"({res.cube.counts.shape[0]:,} hexagons x {res.cube.n_steps} {res.cube.step}s)"
        )

    sub = sample.iloc[np.random.default_rng(0).choice(len(sample), 10_000, replace=False)]
    xy = np.column_stack([sub.geometry.x, sub.geometry.y])
    months = (sub["month"].dt.year * 12 + sub["month"].dt.month).to_numpy()
    t, knox = best(
        lambda: knox_table(
            xy, months - months.min(), distance_bands=(400, 800, 1200, 1600, 2000), time_bands=(0, 1, 2, 3),
            permutations=999, seed=1,
        ),
        args.repeat,
    )  # fmt: skip
    print(f"3. Knox, 10,000 points, 5 x 4 bands, 999 permutations: {t:.2f} s ({knox.observed[:-1].sum():,} pairs)")


if __name__ == "__main__":
    main()
