"""Cold and warm load of every layer.

Cold: raw files -> clean frames -> joined layers (empty cache).
Warm: the same calls with the (Geo)Parquet cache filled, in a fresh process.
Targets on the 2-core machine: warm <= 1 s, cold <= 10 s.

Run: .venv/bin/python bench/bench_load.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from geo.layers import build as layers
from geo.settings import get_settings
t1 = time.perf_counter()
s = get_settings().replace(cache_dir=__import__("pathlib").Path(sys.argv[1]))
times = {}
for name, fn in [("stops", layers.stops), ("divisions", layers.divisions), ("npa", layers.npa),
                 ("npa_metrics", layers.npa_metrics), ("ois", layers.ois), ("incidents", layers.incidents),
                 ("npa_layer", layers.npa_layer), ("division_layer", layers.division_layer),
                 ("reports", layers.reports)]:
    t = time.perf_counter(); fn(s); times[name] = time.perf_counter() - t
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "parts": times}))
"""


def run_once(cache: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(cache)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def main(repeats: int = 3) -> None:
    cold, warm = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            cold.append(run_once(Path(tmp)))
            warm.append(run_once(Path(tmp)))
    for label, runs in (("cold", cold), ("warm", warm)):
        load = statistics.median(r["load"] for r in runs)
        imp = statistics.median(r["import"] for r in runs)
        print(f"{label}: load {load:.2f} s (median of {repeats}; + import {imp:.2f} s)")
        parts = {k: statistics.median(r["parts"][k] for r in runs) for k in runs[0]["parts"]}
        print("   " + ", ".join(f"{k} {v:.2f}" for k, v in parts.items()))


if __name__ == "__main__":
    main()
