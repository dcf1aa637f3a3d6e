"""Loading 1.3 million stops, cold and warm, and the disparity suite on them (issue 12, item 3).

SYNTHETIC DATA: the stops file this writes is made of real rows of the 2020-2021 stops file
drawn at random (with replacement), with fresh ``OBJECTID``s and months spread evenly over
2016-01..2023-12, so every value is one the portal writes and the file reads like a newer,
longer portal download. It is written to a temporary data folder (its name says SYNTHETIC),
never to ``data/``, and is deleted afterwards; nothing it produces is data to show.

- cold: ``geo.layers.build.stops`` with an empty cache (read the CSV, clean, write the Parquet cache);
- warm: the same call in a fresh process with the cache filled (read the Parquet cache);
- suite: every table ``python -m geo disparity`` prints (:func:`geo.analysis.disparity.rates` for each
  outcome and each ``--by``), on the loaded frame, warm (the first pass is not timed).

Targets (issue 12): cold <= 15 s, warm <= 1 s, the suite <= 3 s. Each figure is the median of
``--repeat`` runs, each in its own process (imports not counted).

``--baseline DIR`` also times the ``geo`` package of another copy of the project (e.g. an older
checkout, or ``/tmp/x`` holding a copy of ``geo/``), run for run alternating with this one on the same
file, so a loaded machine slows both alike; each run also prints a digest of the loaded frame, its
report and the suite's tables, which must be equal between the two.

Run: ``.venv/bin/python bench/bench_stops_scale.py [--rows 1300000] [--repeat 3] [--profile] [--baseline DIR]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Shown with every figure: the rows are not CMPD data.
LABEL = "SYNTHETIC stops (real 2020-2021 rows resampled, months 2016-2023): a benchmark, not data"

CHILD = r"""
import json, sys, time
from pathlib import Path
from geo.settings import get_settings
from geo.layers import build
s = get_settings({}).replace(data_dir=Path(sys.argv[1]), cache_dir=Path(sys.argv[2]))
t = time.perf_counter()
stops = build.stops(s)
load = time.perf_counter() - t
out = {"load": load, "rows": len(stops), "first": f"{stops['month'].min():%Y-%m}", "last": f"{stops['month'].max():%Y-%m}"}
import hashlib
import pandas as pd
def digest(*frames):
    h = hashlib.sha256()
    for f in frames:
        h.update(pd.util.hash_pandas_object(f, index=True).to_numpy().tobytes())
        h.update(repr((list(f.columns), [str(t) for t in f.dtypes], f.attrs)).encode())
    return h.hexdigest()[:16]
out["frame"] = digest(stops) + "/" + hashlib.sha256(repr(build.stops_with_report(s)[1]).encode()).hexdigest()[:16]
if sys.argv[3] == "suite":
    from geo.analysis.disparity import rates
    from geo.cli.disparity import BY_CHOICES, OUTCOME_CHOICES
    def suite():
        return [rates(stops, outcome=outcome, by="driver_group", per=per) for outcome in OUTCOME_CHOICES for per in BY_CHOICES.values()]
    suite()  # warm-up: imports and first-call costs
    t = time.perf_counter(); tables = suite(); out["suite"] = time.perf_counter() - t
    out["tables"] = len(tables)
    out["suite_digest"] = digest(*tables)
print(json.dumps(out))
"""


def write_synthetic_stops(data_dir: Path, *, rows: int, seed: int = 12) -> Path:
    """Write ``rows`` SYNTHETIC stops shaped like the portal's rows as ``stops/<portal name>`` in ``data_dir``."""
    from geo.ingest.files import read_table
    from geo.ingest.sources import DATASETS, resolve
    from geo.settings import get_settings

    real = read_table(resolve("stops", get_settings({}).data_dir))
    rng = np.random.default_rng(seed)
    out = real.iloc[rng.integers(0, len(real), rows)].reset_index(drop=True)
    out["OBJECTID"] = np.arange(1, rows + 1).astype(str)
    years = rng.integers(2016, 2024, rows)
    months = rng.integers(1, 13, rows)
    out["Month_of_Stop"] = pd.Series(years).astype(str) + "/" + pd.Series(months).map("{:02d}".format)
    rel = DATASETS["stops"].portal_path or "stops/Officer_Traffic_Stops_portal.csv.gz"
    path = data_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False, compression={"method": "gzip", "compresslevel": 1})
    return path


def _child(data_dir: Path, cache: Path, mode: str, code: Path = ROOT) -> dict:
    """One timed run in a fresh process, importing ``geo`` from the folder ``code``."""
    res = subprocess.run(
        [sys.executable, "-c", CHILD, str(data_dir), str(cache), mode],
        cwd=code,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def _profile(data_dir: Path, cache: Path) -> None:
    """Where a cold load spends its time (cProfile, the 15 largest cumulative entries)."""
    code = (
        "import cProfile, pstats, sys; from pathlib import Path; from geo.settings import get_settings; "
        "from geo.layers import build; "
        f"s = get_settings({{}}).replace(data_dir=Path({str(data_dir)!r}), cache_dir=Path({str(cache)!r})); "
        "cProfile.run('build.stops(s)', '/tmp/stops_cold.prof'); "
        "pstats.Stats('/tmp/stops_cold.prof').sort_stats('cumulative').print_stats(25)"
    )
    print(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True).stdout[-6000:])


def _time(data: Path, caches: Path, *, repeat: int, codes: dict[str, Path]) -> dict[str, tuple[list, list]]:
    """Cold and warm(+suite) runs of each code folder, ``repeat`` times, alternating between the folders."""
    runs: dict[str, tuple[list, list]] = {name: ([], []) for name in codes}
    for i in range(repeat):
        for name, code in codes.items():
            cache = caches / f"cache_{name}_{i}"
            runs[name][0].append(_child(data, cache, "load", code))
            runs[name][1].append(_child(data, cache, "suite", code))
    return runs


def _print(name: str, cold: list, warm: list) -> None:
    first = cold[0]
    print(f"[{name}] loaded {first['rows']:,} stops, {first['first']}..{first['last']}")
    for label, runs, key, target in (
        ("cold load", cold, "load", 15.0),
        ("warm load", warm, "load", 1.0),
        (f"disparity suite ({warm[0]['tables']} tables)", warm, "suite", 3.0),
    ):
        t = statistics.median(r[key] for r in runs)
        times = ", ".join(f"{r[key]:.2f}" for r in runs)
        print(
            f"[{name}] {label}: {t:.2f} s (median of {len(runs)}: {times}; target <= {target:g} s) "
            f"{'ok' if t <= target else 'SLOW'}"
        )
    digests = {(r["frame"], r.get("suite_digest", "")) for r in [*cold, *warm] if "suite_digest" in r}
    print(f"[{name}] digests (frame/report, suite): {sorted(digests)}")


def main() -> None:
    """Write the synthetic file, time cold and warm loads and the suite, print the medians."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_300_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="also profile one cold load")
    ap.add_argument("--baseline", type=Path, help="also time the geo package of this project copy, alternating")
    args = ap.parse_args()
    print(LABEL)
    tmp = Path(tempfile.mkdtemp(prefix="SYNTHETIC_stops_"))
    try:
        data = tmp / "data"
        path = write_synthetic_stops(data, rows=args.rows)
        print(f"wrote {args.rows:,} SYNTHETIC stops to {path} ({path.stat().st_size / 1e6:.0f} MB)")
        codes = {"current": ROOT, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
        for name, (cold, warm) in _time(data, tmp, repeat=args.repeat, codes=codes).items():
            _print(name, cold, warm)
        if args.profile:
            _profile(data, tmp / "cache_profile")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
