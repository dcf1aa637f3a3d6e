"""Fetch throughput against the local ArcGIS imitation: rows/s, and the share of time parsing vs waiting.

Serves N synthetic incident records (default 200,000, shaped like the CMPDIncidents layer, 2,000 a
page) on 127.0.0.1 and runs the portal fetch of ``incidents`` into a temporary folder (Parquet).
"wait" is the time from sending a request to having its whole body (the server's JSON encoding
included, as with a real server); "parse" is ``json.loads`` of the bodies; the rest is turning
records into rows, staging pages and writing the file.

Run: .venv/bin/python bench/bench_fetch.py [N]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.ingest.fetch import fetch_portal  # noqa: E402
from tests.helpers.arcgis_server import ArcGISImitation, incidents_layer  # noqa: E402


def main(n: int = 200_000) -> None:
    with ArcGISImitation() as srv, tempfile.TemporaryDirectory() as tmp:
        srv.add_layer(incidents_layer(n, max_record_count=2000))
        timing: dict[str, float] = {}
        t0 = time.perf_counter()
        manifest = fetch_portal(Path(tmp), layers=["incidents"], portal_url=srv.base, backoff=0, timing=timing)
        total = time.perf_counter() - t0
        entry = manifest["files"]["incidents_full"]
    out = {
        "rows": entry["rows"],
        "seconds": round(total, 2),
        "rows_per_s": round(entry["rows"] / total),
        "requests": timing["requests"],
        "mb_received": round(timing["bytes"] / 1e6, 1),
        "parquet_mb": round(entry["bytes"] / 1e6, 1),
        "wait_share": round(timing["wait"] / total, 3),
        "parse_share": round(timing["parse"] / total, 3),
        "other_share": round(1 - (timing["wait"] + timing["parse"]) / total, 3),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
