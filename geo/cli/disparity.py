"""``python -m geo disparity``: stop-outcome rates and disparity ratios by driver group.

Examples
--------
::

    python -m geo disparity --by division --outcome search
    python -m geo disparity --by officer_years --outcome arrest --reference Black --json
    python -m geo disparity --by month --outcome citation --start 2021-01 --reason Speeding

Each row is one driver group within one unit of ``--by``: the count of stops with the
outcome, the stops with a known outcome, the rate with its 95 % Wilson interval, the
empirical-Bayes-smoothed rate (each group's unit rates pulled toward that group's own
rate), the ratio to the reference group in the same unit (95 % Koopman score interval,
valid for small counts; ``ratio_method`` says which, or why there is none), and the
small-cell flag (fewer than 50 stops). Errors in the
input (unknown reference, a filter that leaves no stops) are raised as
:class:`geo.errors.GeoDataError`; :func:`geo.cli.main` prints them with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import pandas as pd

from geo.analysis.disparity import Dimension, describe_filter, rates
from geo.caveats import EB_CAVEAT, RATE_CAVEAT, RATIO_CAVEAT, SMALL_CELL_CAVEAT
from geo.layers.filters import StopFilter
from geo.vocab import MIN_CELL

__all__ = ["BY_CHOICES", "OUTCOME_CHOICES", "add_parser", "run"]


#: ``--by`` choice -> stops column.
BY_CHOICES: dict[str, Dimension] = {
    "division": "division",
    "month": "month",
    "reason": "reason",
    "officer_race": "officer_race",
    "officer_years": "officer_years_band",
}


OUTCOME_CHOICES = ("search", "arrest", "citation")


_COLUMNS = (
    "unit",
    "group",
    "count",
    "denominator",
    "rate",
    "lo",
    "hi",
    "small_cell",
    "eb_rate",
    "ratio",
    "ratio_lo",
    "ratio_hi",
    "ratio_method",
)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add the ``disparity`` sub-command to ``python -m geo``."""
    p = subparsers.add_parser(
        "disparity",
        help="stop-outcome rates and disparity ratios by driver group",
        description="Rates of an outcome (search, arrest, citation) for each driver group within each division, "
        "month, reason for stop, officer race or officer years-of-service band, with 95% Wilson intervals, "
        "empirical-Bayes-smoothed rates (each group toward its own rate), disparity ratios against a reference "
        "group (95% Koopman score intervals, valid for small counts) "
        f"and a flag on small cells (fewer than {MIN_CELL} stops). "
        "Driver groups: Hispanic drivers of any race, and non-Hispanic White, Black, Asian, Native American and "
        "Other/Unknown.",
        epilog=RATIO_CAVEAT,  # argparse %-formats argument help and usage, never description or epilog
    )
    p.add_argument("--by", choices=list(BY_CHOICES), default="division", help="the unit (default: division)")
    p.add_argument("--outcome", choices=OUTCOME_CHOICES, default="search", help="the outcome (default: search)")
    p.add_argument("--reference", default="White", metavar="GROUP", help="reference driver group (default: White)")
    p.add_argument(
        "--groups",
        choices=("driver_group", "driver_race"),
        default="driver_group",
        help="driver_group (Hispanic of any race as one group; default) or driver_race (race as recorded)",
    )
    p.add_argument("--start", metavar="YYYY-MM", help="first month to include")
    p.add_argument("--end", metavar="YYYY-MM", help="last month to include")
    p.add_argument("--reason", action="append", metavar="REASON", help="keep only this reason for stop (repeatable)")
    p.add_argument("--division", action="append", metavar="DNAME", help="keep only this division (repeatable)")
    p.add_argument(
        "--driver-gender", action="append", metavar="GENDER", help="keep only this driver gender (repeatable)"
    )
    p.add_argument(
        "--age-band", action="append", metavar="BAND", help="keep only this age band, e.g. 18-24 (repeatable)"
    )
    p.add_argument(
        "--min-cell", type=int, default=MIN_CELL, metavar="N", help=f"small-cell threshold (default {MIN_CELL})"
    )
    p.add_argument("--json", action="store_true", help="print machine-readable rows")
    return p


def _filters(args: argparse.Namespace) -> StopFilter | None:
    f = StopFilter(
        start=getattr(args, "start", None),
        end=getattr(args, "end", None),
        reasons=tuple(getattr(args, "reason", None) or ()),
        divisions=tuple(getattr(args, "division", None) or ()),
        driver_genders=tuple(getattr(args, "driver_gender", None) or ()),
        age_bands=tuple(getattr(args, "age_band", None) or ()),
    )
    return f if f.steps() else None


def table(args: argparse.Namespace, stops: pd.DataFrame) -> pd.DataFrame:
    """The table ``run`` prints, from parsed arguments and a stops frame."""
    return rates(
        stops,
        outcome=args.outcome,
        by=getattr(args, "groups", "driver_group"),
        per=BY_CHOICES[args.by],
        reference=args.reference,
        filters=_filters(args),
        min_cell=getattr(args, "min_cell", MIN_CELL),
    )


def _clean(v: Any) -> Any:
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if hasattr(v, "item"):
        v = v.item()
        return None if isinstance(v, float) and (math.isnan(v) or math.isinf(v)) else v
    return v


def _fmt_pct(x: float) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _fmt_ratio(r: float, lo: float, hi: float) -> str:
    if r is None or math.isnan(r):
        return "-"
    ci = "" if math.isnan(lo) else f" [{lo:.2f}-{hi:.2f}]"
    return f"{r:.2f}{ci}"


def run(args: argparse.Namespace) -> int:
    """Print the disparity table; return the exit code (0)."""
    from geo.layers.build import stops

    stops = stops()
    t = table(args, stops)
    notes = t.attrs.get("notes", [])
    where = describe_filter(_filters(args))
    if args.json:
        rows = [{k: _clean(v) for k, v in r.items()} for r in t[list(_COLUMNS)].to_dict(orient="records")]
        print(
            json.dumps(
                {
                    "outcome": args.outcome,
                    "by": args.by,
                    "groups": getattr(args, "groups", "driver_group"),
                    "reference": args.reference,
                    "filter": where,
                    "min_cell": getattr(args, "min_cell", MIN_CELL),
                    "rows": rows,
                    "notes": notes,
                    "caveats": {
                        "rates": RATE_CAVEAT,
                        "ratio": RATIO_CAVEAT,
                        "small_cell": SMALL_CELL_CAVEAT,
                        "eb": EB_CAVEAT,
                    },
                },
                indent=2,
            )
        )
        return 0
    print(
        f"{args.outcome} rate by {getattr(args, 'groups', 'driver_group')} within each {args.by} ({where}); reference: {args.reference}"
    )
    out = pd.DataFrame(
        {
            args.by: t["unit"],
            "group": t["group"],
            "events/stops": [f"{c:,}/{d:,}" for c, d in zip(t["count"], t["denominator"], strict=True)],
            "rate [95% CI]": [
                f"{_fmt_pct(r)} [{_fmt_pct(lo)}-{_fmt_pct(hi)}]"
                for r, lo, hi in zip(t["rate"], t["lo"], t["hi"], strict=True)
            ],
            "smoothed": [_fmt_pct(x) for x in t["eb_rate"]],
            "ratio [95% CI]": [
                _fmt_ratio(r, lo, hi) for r, lo, hi in zip(t["ratio"], t["ratio_lo"], t["ratio_hi"], strict=True)
            ],
            "small": ["*" if s else "" for s in t["small_cell"]],
        }
    )
    print(out.to_string(index=False))
    print(f"\n* small cell: {SMALL_CELL_CAVEAT}")
    for n in notes:
        print(f"note: {n}")
    print(f"\n{RATIO_CAVEAT}")
    return 0
