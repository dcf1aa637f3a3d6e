"""On-disk cache of cleaned layers as (Geo)Parquet, so that a warm start is fast.

A cache entry is keyed by its declared input files (path, size, modification time),
the entry's name, :data:`geo.__version__` and :data:`CACHE_VERSION`; any change to an
input, a new release of the code or a bumped cache version rebuilds the entry.
The entry's :class:`~geo.ingest.report.LoadReport` is stored beside it as JSON so the row
accounting survives the cache.

Entries are checked on read: the JSON must be an object with the key, the report and the
SHA-256 of the Parquet file written with it; the Parquet file must hash to that value and read
back. An entry that fails any check (``null``, ``[]``, a truncated or foreign file) is rebuilt,
with one line on standard error saying which and why. ``python -m geo cache clear`` removes them all.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import geopandas as gpd
import pandas as pd

import geo
from geo.ingest.report import LoadReport, report_from_dict, report_to_cache_dict

__all__ = ["CACHE_VERSION", "cached", "clear_cache", "file_sha256", "note_rebuild"]


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
    if data_file.exists() or meta_file.exists():
        hit = _read_entry(data_file, meta_file, key)
        if isinstance(hit, tuple):
            return hit
        if hit:
            note_rebuild(meta_file if "JSON" in hit else data_file, hit)
    frame, report = build()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = data_file.with_suffix(".parquet.tmp")
        frame.to_parquet(tmp)
        digest = file_sha256(tmp)
        os.replace(tmp, data_file)
        meta = {
            "key": key,
            "geo": isinstance(frame, gpd.GeoDataFrame),
            "sha256": digest,
            "report": report_to_cache_dict(report),
        }
        tmp_meta = meta_file.with_suffix(".json.tmp")
        tmp_meta.write_text(json.dumps(meta))
        os.replace(tmp_meta, meta_file)
    except OSError:
        pass
    return frame, report


def _read_entry(data_file: Path, meta_file: Path, key: str) -> tuple[pd.DataFrame, LoadReport] | str:
    """The cached frame and report, or why the entry cannot be used ("" when it is merely out of date)."""
    if not (data_file.exists() and meta_file.exists()):
        return f"half an entry ({data_file.name if data_file.exists() else meta_file.name} alone)"
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"its JSON cannot be read ({type(exc).__name__})"
    if not isinstance(meta, dict) or not isinstance(meta.get("report"), dict) or "key" not in meta:
        return f"its JSON is not a cache entry (a {type(meta).__name__})"
    if meta["key"] != key:
        return ""  # inputs or code changed: an ordinary rebuild, nothing to report
    try:
        if meta.get("sha256") != file_sha256(data_file):
            return "its Parquet file does not match the hash recorded when it was written"
        frame = gpd.read_parquet(data_file) if meta.get("geo") else pd.read_parquet(data_file)
        return frame, report_from_dict(meta["report"])
    except Exception as exc:  # a damaged file may fail in pyarrow, geopandas or the report
        return f"it cannot be read back ({type(exc).__name__})"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, as hex."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def note_rebuild(path: Path, why: str) -> None:
    """Say on standard error, in one line, that a damaged cache entry is being rebuilt."""
    print(f"cache: rebuilding {path} because {why}", file=sys.stderr)


def clear_cache(cache_dir: Path) -> int:
    """Delete every cache entry in ``cache_dir`` (layers, weights, choropleth breaks); return how many were removed."""
    n = 0
    root = Path(cache_dir)
    for pattern in ("*.parquet", "*.json", "*.tmp", "weights/*.npz", "classes/*.json", "display/*.npz", "index/*.npz"):
        for p in root.glob(pattern):
            p.unlink()
            n += 1
    return n
