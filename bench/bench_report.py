"""Time the printable reports: NPA 380 and two division reports, built and written as PDF and HTML, warm.

Run: ``.venv/bin/python bench/bench_report.py [--repeat 5]``. Loading the layers, the stops,
the hot spots and the roads is not timed (the app has them cached); the first run (font
registration, imports) is a warm-up and not counted. What a click on a download button
costs is "build + PDF" (or "build + HTML"). Target: PDF report <= 3 s.

The division reports are built as the Disparities page builds them: from the division base
layer (:func:`geo.layers.build.division_base`), the stops and the sidebar's stop filter, once
with every stop and once with a filter (women drivers, 2021), which the report applies itself.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app_pages.report_section import STYLE
from geo.analysis.neighborhood import npa_hotspots
from geo.ingest.reference import load_state_roads
from geo.layers import build
from geo.layers.filters import StopFilter
from geo.output.pdf import report_pdf
from geo.output.report import report_html
from geo.output.report_build import division_report, neighborhood_report
from geo.settings import get_settings


def median_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    s = get_settings()
    npa, divisions, stops = build.npa_layer(s), build.division_layer(s), build.stops(s)
    base = build.division_base(s)
    women_2021 = StopFilter(start="2021-01", end="2021-12", driver_genders=("Female",))
    year = max(int(c.rsplit("_", 1)[1]) for c in npa.columns if c.startswith("violent_rate_"))
    hotspots = npa_hotspots(npa, year=year, cache_dir=s.cache_dir / "weights")
    roads, _ = load_state_roads(settings=s)
    link = "http://localhost:8501/neighborhood?npa=380"
    disparities = "http://localhost:8501/disparities"
    builders = {
        "NPA 380": lambda: neighborhood_report(npa, hotspots, divisions, npa_id=380, year=year, link=link, roads=roads),
        "Central Division": lambda: division_report(
            base,
            stops,
            division="Central Division",
            link=f"{disparities}?div=Central+Division",
            roads=roads,
            settings=s,
        ),
        "North Division, women drivers 2021": lambda: division_report(
            base,
            stops,
            division="North Division",
            filters=women_2021,
            link=f"{disparities}?div=North+Division&gender=Female&period=2021-01~2021-12",
            roads=roads,
            settings=s,
        ),
    }
    print(f"stops: {len(stops):,}; NPAs: {len(npa)}; roads: {len(roads):,} segments; year {year}; {args.repeat} runs")
    for name, make in builders.items():
        report = make()
        t_build = median_time(make, args.repeat)
        t_pdf = median_time(lambda r=report: report_pdf(r, style=STYLE), args.repeat)
        t_html = median_time(lambda r=report: report_html(r, style=STYLE), args.repeat)
        pdf, page = report_pdf(report, style=STYLE), report_html(report, style=STYLE)
        print(
            f"{name}: build {t_build:.3f} s, PDF {t_pdf:.3f} s ({len(pdf) / 1024:,.0f} KiB), HTML {t_html:.3f} s "
            f"({len(page) / 1024:,.0f} KiB); build + PDF {t_build + t_pdf:.3f} s (target <= 3 s)"
        )
    try:
        load = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        load = ["?"]
    print(f"machine load average while measuring: {' '.join(load)} (2 cores; other jobs slow the wall time)")


if __name__ == "__main__":
    main()
