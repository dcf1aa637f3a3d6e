"""Command line: ``python -m geo COMMAND``.

Commands
--------
fetch      get the data from the City of Charlotte portal, or copy it from a mirror folder
report     validate data files and print what was read, kept, repaired and set aside
export     write a layer (divisions, npa, ois, incidents) as GeoJSON, GeoPackage or CSV
hotspots   spatial autocorrelation and hot spots, emerging hot spots of the incident points (``--layer incidents
           --method ehsa``), bivariate, partial and conditional LISA, multivariate Geary (see ``hotspots --help``)
regress    spatial regression of one NPA measure on others (OLS, spatial lag, spatial error), with intervals
trends     trend and yearly change of monthly incidents per division (STL, seasonal Mann-Kendall)
persistence  whether hot-spot NPAs stay hot from year to year (LISA Markov, spatial Markov)
accuracy   how well each year's hot spots would have targeted the next year's incidents (PAI, PEI, RRI)
near-repeat  Knox test: do incidents follow others close by in space and time?
clearance  clearance of assault and intimidation reports by division and year, with a funnel
disparity  stop-outcome rates and disparity ratios (see ``python -m geo disparity --help``)
aggregate  assign points to polygons and count them, in-process or on Dask
cache      clear or list the cache of clean layers and weights (damaged entries heal by themselves)

Errors in the input are printed as one message naming the file, column and rows,
with exit code 2 and no traceback; an internal error gives exit code 3. ``--debug``
(before the command) shows the full traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from geo.errors import GeoDataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["build_parser", "main", "plain", "print_json", "table_text"]


EXIT_INPUT_ERROR = 2


EXIT_INTERNAL_ERROR = 3


#: Sub-command -> the module that registers it (``add_parser``) and runs it (``run``).
_PLUGINS = {
    "fetch": "geo.cli.data",
    "report": "geo.cli.data",
    "export": "geo.cli.data",
    "hotspots": "geo.cli.hotspots",
    "regress": "geo.cli.regress",
    "trends": "geo.cli.spacetime",
    "persistence": "geo.cli.spacetime",
    "accuracy": "geo.cli.spacetime",
    "near-repeat": "geo.cli.spacetime",
    "clearance": "geo.cli.spacetime",
    "disparity": "geo.cli.disparity",
    "aggregate": "geo.cli.aggregate",
    "cache": "geo.cli.cache",
}
#: Commands whose module registers several: the function that registers this one alone.
_PARSERS = {"fetch": "add_fetch_parser", "report": "add_report_parser", "export": "add_export_parser"}


def plain(value: object) -> Any:
    """A JSON-ready copy of ``value``: frames as lists of records, NaN as null, numpy numbers as Python numbers."""
    import pandas as pd  # not at import time: ``python -m geo --help`` stays quick

    if isinstance(value, pd.DataFrame):
        return plain(value.to_dict(orient="records"))
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def print_json(payload: Mapping[str, object]) -> None:
    """Print ``payload`` as strict JSON (no NaN) on standard output."""
    print(json.dumps(plain(payload), indent=2, ensure_ascii=False, allow_nan=False))


def table_text(frame: pd.DataFrame, *, digits: int = 3, max_rows: int = 40) -> str:
    """A frame as an aligned text table (numbers to ``digits`` significant digits), cut at ``max_rows`` rows."""
    shown = frame.head(max_rows)

    def number(x: float) -> str:
        return format(x, ",.0f") if abs(x) >= 10**digits else format(x, f".{digits}g")

    text = str(shown.to_string(index=False, float_format=number, na_rep="-"))
    if len(frame) > max_rows:
        text += f"\n... {len(frame) - max_rows:,} more rows (use --json or --out for all)"
    return text


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``python -m geo`` argument parser: every sub-command, or only ``command``'s.

    Building one sub-command's parser imports only its module, so ``python -m geo fetch``
    does not import the statistics and the models (seconds) to parse its arguments.
    """
    parser = argparse.ArgumentParser(
        prog="python -m geo",
        description="cmpd-hotspots: load, join, analyse and export CMPD open data.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Settings can be overridden with CMPD_* environment variables (e.g. CMPD_DATA_DIR, "
        "CMPD_CACHE_DIR, CMPD_SEED, CMPD_PERMUTATIONS). Run `python -m geo COMMAND --help` for details.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="on an error, show the full traceback instead of the one-line message"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    if command in _PLUGINS:
        module = importlib.import_module(_PLUGINS[command])
        getattr(module, _PARSERS.get(command, "add_parser"))(sub)
        return parser
    for name in dict.fromkeys(_PLUGINS.values()):
        importlib.import_module(name).add_parser(sub)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv`` (its first word that is not an option), if any."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command(argv))
    args = parser.parse_args(argv)
    try:
        return int(importlib.import_module(_PLUGINS[args.command]).run(args))
    except (GeoDataError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `python -m geo report | head`: the reader left, not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # last resort: a message, never a traceback (unless --debug)
        if args.debug:
            raise
        print(
            f"internal error ({type(exc).__name__}): {exc}. Please report this with the command you ran.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL_ERROR
