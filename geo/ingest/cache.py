"""On-disk cache of cleaned layers as (Geo)Parquet, so that a warm start is fast.

A cache entry is keyed by its declared input files (path, size, modification time),
the entry's name, :data:`geo.__version__` and :data:`CACHE_VERSION`; any change to an
input, a new release of the code or a bumped cache version rebuilds the entry.
The entry's :class:`~geo.ingest.report.LoadReport` is stored beside it as JSON so the row
accounting survives the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import geopandas as gpd
import pandas as pd

import geo
from geo.ingest.report import LoadReport, report_from_dict, report_to_cache_dict

__all__ = ["CACHE_VERSION", "cached", "clear_cache"]


#: Bump when a loader's output changes shape, to invalidate old entries.
CACHE_VERSION = "2"


F = TypeVar("F", pd.DataFrame, gpd.GeoDataFrame)


def _key(name: str, inputs: Sequence[Path], extra: str) -> str:
    h = hashlib.sha256(f"{geo.__version__}|{CACHE_VERSION}|{name}|{extra}".encode())
    for p in inputs:
        st = os.stat(p)
        h.update(f"|{Path(p).resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:20]


def cached(
    name: str,
    build: Callable[[], tuple[F, LoadReport]],
    *,
    inputs: Sequence[Path],
    cache_dir: Path,
    extra: str = "",
) -> tuple[F, LoadReport]:
    """Return ``build()``'s result, from the cache when the inputs are unchanged.

    Parameters
    ----------
    name
        Entry name (file stem in ``cache_dir``).
    build
        Builds the frame and its report from the raw files.
    inputs
        Files the result depends on.
    cache_dir
        Where entries live; created when missing. Unwritable folders are tolerated
        (the result is built and returned uncached).
    extra
        Anything else the result depends on (e.g. a chosen vintage).
    """
    cache_dir = Path(cache_dir)
    key = _key(name, inputs, extra)
    data_file = cache_dir / f"{name}.parquet"
    meta_file = cache_dir / f"{name}.json"
    if data_file.exists() and meta_file.exists():
        try:
            meta = json.loads(meta_file.read_text())
            if meta.get("key") == key:
                frame = gpd.read_parquet(data_file) if meta.get("geo") else pd.read_parquet(data_file)
                return frame, report_from_dict(meta["report"])
        except (OSError, ValueError, KeyError):
            pass  # a damaged entry is rebuilt below
    frame, report = build()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = data_file.with_suffix(".parquet.tmp")
        frame.to_parquet(tmp)
        os.replace(tmp, data_file)
        meta = {"key": key, "geo": isinstance(frame, gpd.GeoDataFrame), "report": report_to_cache_dict(report)}
        meta_file.write_text(json.dumps(meta))
    except OSError:
        pass
    return frame, report


def clear_cache(cache_dir: Path) -> int:
    """Delete every cache entry in ``cache_dir``; return how many files were removed."""
    n = 0
    for p in Path(cache_dir).glob("*.parquet"):
        p.unlink()
        n += 1
    for p in Path(cache_dir).glob("*.json"):
        p.unlink()
        n += 1
    return n
