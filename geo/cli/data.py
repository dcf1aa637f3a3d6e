"""``python -m geo fetch``, ``report`` and ``export``: get the data, check it, write layers out."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_fetch_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``fetch`` (quick to import: ``python -m geo fetch`` builds only this parser)."""
    p = sub.add_parser(
        "fetch",
        help="download the data sets (or copy them from a mirror folder)",
        description="Download the official data sets from the City of Charlotte open data portal into the data "
        "folder (default data/raw, or $CMPD_DATA_DIR), writing manifest.json with source URL, time, rows and "
        "sha256 of each file. With --mirror, copy from a local folder laid out like ../shared/data instead.",
    )
    p.add_argument("--mirror", type=Path, metavar="DIR", help="copy from this folder instead of downloading")
    p.add_argument("--data-dir", type=Path, metavar="DIR", help="where to put the data (default: settings data_dir)")
    p.add_argument("--quiet", action="store_true", help="print only the summary (no step lines, no progress bar)")
    p.add_argument(
        "--layers",
        metavar="NAME[,NAME]",
        help="only these groups: stops, incidents, ois, employees, divisions, qol, reference (or data-set keys); "
        "default: every data set with a portal address",
    )
    p.add_argument(
        "--since",
        metavar="YYYY-MM-DD|last",
        help="ArcGIS layers: ask only for records dated on or after this day (last: since each layer's previous "
        "download, from the manifest) and merge them into the earlier file, de-duplicated by OBJECTID",
    )
    p.add_argument(
        "--portal-url",
        metavar="URL",
        help="send every ArcGIS request to this base address (a proxy, a mirror, a local imitation), "
        "keeping each layer's path",
    )
    p.add_argument(
        "--progress",
        choices=("auto", "bar", "none"),
        default="auto",
        help="progress bar for ArcGIS pages: auto (on a terminal, not in CI; default), bar, none",
    )


def add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``report``."""
    p = sub.add_parser(
        "report",
        help="validate data files and print the row reports",
        description="Validate the given files (by default the fetched data) and print, for each, rows read, "
        "kept, repaired, flagged and set aside, with reasons and the first row numbers. Exit code 2 if a file "
        "cannot be used.",
    )
    p.add_argument("--stops", type=Path, metavar="FILE", help="a stops CSV (.csv or .csv.gz)")
    p.add_argument("--divisions", type=Path, metavar="FILE", help="a division boundary layer (GeoJSON or shapefile)")
    p.add_argument("--npa", type=Path, metavar="FILE", help="an NPA boundary layer (GeoJSON or shapefile)")
    p.add_argument("--json", action="store_true", help="print the reports as JSON")


def add_export_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``export`` (its choices come from the layer catalogue, which imports geopandas)."""
    from geo.layers.catalog import layer_names
    from geo.output.export import CSV_GEOMETRY, FORMATS

    p = sub.add_parser(
        "export",
        help="write a layer with all its attributes, its data dictionary and its metadata",
        description="Write a layer with all its attributes. GeoJSON is RFC 7946 (EPSG:4326, counter-clockwise "
        "exteriors, 6-decimal coordinates); GeoPackage keeps EPSG:2264 (NC State Plane, US feet), names the layer "
        "for what it is, and holds the data dictionary as a table and the metadata in gpkg_metadata; CSV has the "
        "attributes and WKT geometry in EPSG:4326 when every WKT fits an Excel cell (32,767 characters), else the "
        "geometry goes to NAME.geometry.geojson (or is simplified, with --csv-geometry simplify), and text cells "
        "that could start a spreadsheet formula get a leading apostrophe. Beside every file: NAME.dictionary.csv, "
        "NAME.dictionary.json (each column's meaning, units, source and year) and NAME.metadata.json (software "
        "version, time, stop filter, sources with their fetch dates, CRS).",
    )
    p.add_argument("--layer", required=True, choices=layer_names("export"), help="which layer")
    p.add_argument("--format", choices=FORMATS, help="output format (default: from the --out extension)")
    p.add_argument("--out", required=True, type=Path, metavar="PATH", help="output file")
    p.add_argument(
        "--csv-geometry",
        choices=CSV_GEOMETRY,
        default="auto",
        help="CSV: auto (WKT if it fits an Excel cell, else a separate GeoJSON file; default), separate, simplify",
    )
    p.add_argument("--start", metavar="YYYY-MM", help="divisions: count stops from this month")
    p.add_argument("--end", metavar="YYYY-MM", help="divisions: count stops up to this month")
    p.add_argument(
        "--reason", action="append", metavar="REASON", help="divisions: only this reason for stop (repeatable)"
    )


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``fetch``, ``report`` and ``export``."""
    add_fetch_parser(sub)
    add_report_parser(sub)
    add_export_parser(sub)


def _since(text: str | None) -> date | str | None:
    """``--since``: a day (YYYY-MM-DD) or ``last``."""
    from geo.errors import FetchError

    if text is None or text == "last":
        return text
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FetchError(f"--since {text!r}: expected a day as YYYY-MM-DD (e.g. 2024-01-31) or 'last'.") from None


def _run_fetch(args: argparse.Namespace) -> int:
    from geo.ingest.fetch import fetch, make_meter
    from geo.settings import get_settings

    s = get_settings()
    data_dir = args.data_dir or s.data_dir
    progress = None if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    portal = {}
    if args.mirror is not None and (args.layers or args.since or args.portal_url):
        print("note: --layers, --since and --portal-url apply to portal downloads; ignored with --mirror")
    if args.mirror is None:
        layers = [n.strip() for n in (args.layers or "").split(",") if n.strip()]
        portal = {
            "layers": layers or None,
            "since": _since(args.since),
            "portal_url": args.portal_url,
            "meter": make_meter("none" if args.quiet else args.progress),
        }
    manifest = fetch(Path(data_dir), mirror=args.mirror, progress=progress, **portal)
    files = manifest.get("files", {})
    print(f"{len(files)} files in {data_dir} ({manifest.get('mode')}: {manifest.get('source')})")
    for key, reason in manifest.get("skipped", {}).items():
        print(f"skipped {key}: {reason}")
    return 0


def _run_report(args: argparse.Namespace) -> int:
    from geo.ingest.boundaries import load_divisions, load_npa
    from geo.ingest.stops import load_stops
    from geo.layers import build

    reports = []
    if args.stops or args.divisions or args.npa:
        if args.stops:
            reports.append(load_stops(args.stops)[1])
        if args.divisions:
            reports.append(load_divisions(args.divisions)[1])
        if args.npa:
            reports.append(load_npa(args.npa)[1])
    else:
        reports = build.reports()
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=2))
    else:
        print("\n\n".join(r.summary() for r in reports))
    missing = [r.name for r in reports if r.source == "missing"]
    if missing:  # as the help says: exit code 2 if a file cannot be used
        print(
            f"error: {len(missing)} data set(s) cannot be used: {', '.join(missing)} (the reasons are above); "
            "run `python -m geo fetch` to get them.",
            file=sys.stderr,
        )
        return 2
    return 0


def _run_export(args: argparse.Namespace) -> int:
    from geo.layers.catalog import get_layer, layer_spec
    from geo.layers.filters import StopFilter
    from geo.output.export import export_layer

    filters = StopFilter(start=args.start, end=args.end, reasons=tuple(args.reason or ()))
    if filters.steps() and not layer_spec(args.layer).stop_filters:
        print(f"note: --start, --end and --reason count stops; layer {args.layer} has none, so they are ignored")
        filters = StopFilter()
    gdf = get_layer(args.layer, filters=filters)
    res = export_layer(
        gdf, args.out, fmt=args.format, layer_name=args.layer, filters=filters, csv_geometry=args.csv_geometry
    )
    print(res.summary())
    if res.undescribed:
        print(f"note: no description for {len(res.undescribed)} column(s): {', '.join(res.undescribed)}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run ``fetch``, ``report`` or ``export``; return the exit code."""
    return {"fetch": _run_fetch, "report": _run_report, "export": _run_export}[args.command](args)
