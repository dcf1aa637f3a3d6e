"""Command line: ``python -m geo COMMAND``.

Commands
--------
fetch      get the data from the City of Charlotte portal, or copy it from a mirror folder
report     validate data files and print what was read, kept, repaired and set aside
export     write a layer (divisions, npa, ois, incidents) as GeoJSON, GeoPackage or CSV
hotspots   spatial autocorrelation and hot spots (see ``python -m geo hotspots --help``)
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
import sys
from collections.abc import Sequence

from geo.errors import GeoDataError

__all__ = ["build_parser", "main"]


EXIT_INPUT_ERROR = 2


EXIT_INTERNAL_ERROR = 3


#: Sub-command -> the module that registers it (``add_parser``) and runs it (``run``).
_PLUGINS = {
    "fetch": "geo.cli.data",
    "report": "geo.cli.data",
    "export": "geo.cli.data",
    "hotspots": "geo.cli.hotspots",
    "disparity": "geo.cli.disparity",
    "aggregate": "geo.cli.aggregate",
    "cache": "geo.cli.cache",
}


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m geo`` argument parser with every sub-command."""
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
    for module in dict.fromkeys(_PLUGINS.values()):
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
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
