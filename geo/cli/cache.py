"""``python -m geo cache``: look at or clear the on-disk cache (clean layers and weights).

A damaged entry is rebuilt by itself on the next read (see :mod:`geo.ingest.cache`);
``cache clear`` is for starting afresh, e.g. after copying a data folder by hand.
"""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``cache {clear,info}``."""
    p = sub.add_parser("cache", help="clear or describe the cache of clean layers and weights")
    p.add_argument("action", choices=("clear", "info"), help="clear: delete every entry; info: list them")


def run(args: argparse.Namespace) -> int:
    """Clear the cache folder or list what is in it; return the exit code."""
    from geo.ingest.cache import clear_cache
    from geo.ingest.files import human_size
    from geo.settings import get_settings

    folder = get_settings().cache_dir
    if args.action == "clear":
        n = clear_cache(folder) if folder.exists() else 0
        print(f"removed {n} files from {folder}")
        return 0
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
    for p in files:
        print(f"{human_size(p.stat().st_size):>10}  {p.relative_to(folder)}")
    print(f"{len(files)} files in {folder}")
    return 0
