"""The reference layers and the place index, kept in the on-disk cache so that a server start reads them.

Reading the 12 reference files (GeoJSON and a CSV of flat coordinate lists) takes seconds, and building
the :class:`~geo.layers.places.PlaceIndex` from them seconds more; every map page and the search need
them. Both are stored in ``Settings.cache_dir`` and read back in a fraction of that:

- :func:`reference_layers`: each layer as a GeoParquet entry of :func:`geo.ingest.cache.cached`
  (``ref_<layer>.parquet`` with its report), keyed by its own files;
- :func:`place_index`: ``place_index.json``, keyed by every file the index is built from (the NPAs,
  the reference files present, the NPA groups, the divisions: path, size, modification time), the code
  version and :data:`PLACE_INDEX_VERSION`, with the SHA-256 of its content.

A changed input rebuilds the entry; an entry that cannot be read, or whose content does not match its
hash, is rebuilt with one line on standard error (:func:`geo.ingest.cache.note_rebuild`). An unwritable
cache folder is tolerated (the result is built and returned uncached). ``python -m geo cache clear``
removes the entries with the others.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import geopandas as gpd

import geo
from geo.errors import DataFileError
from geo.ingest.cache import cached, note_rebuild
from geo.ingest.files import atomic_path
from geo.ingest.reference import (
    LANDMARK_KINDS,
    LAYER_COLUMNS,
    LAYER_LOADERS,
    ReferenceLayers,
    load_landmarks,
)
from geo.ingest.report import LoadReport
from geo.ingest.sources import read_manifest, resolve
from geo.layers import build
from geo.layers.places import PlaceIndex, build_place_index
from geo.settings import Settings, get_settings

__all__ = ["PLACE_INDEX_VERSION", "REFERENCE_DATASETS", "place_index", "place_index_inputs", "reference_layers"]

#: Bump when :meth:`PlaceIndex.build` changes which places it lists or the NPAs they cover.
PLACE_INDEX_VERSION = "1"

#: Each reference layer -> the data sets (keys of :data:`geo.ingest.sources.DATASETS`) it is read from.
REFERENCE_DATASETS: dict[str, tuple[str, ...]] = {
    "zipcodes": ("ref_zipcodes",),
    "historic_districts": ("ref_historic_districts",),
    "council_districts": ("ref_council_districts",),
    "landmarks": tuple(LANDMARK_KINDS),
    "railroads": ("ref_railroads",),
    "greenways": ("ref_greenways",),
    "roads": ("ref_state_roads",),
}

_PLACE_FILE = "place_index.json"


def _s(settings: Settings | None) -> Settings:
    return settings if settings is not None else get_settings()


def _present(s: Settings, keys: tuple[str, ...]) -> list[Path]:
    """The files of the data sets ``keys`` that are fetched (the others are left out)."""
    manifest = read_manifest(s.data_dir)
    out = []
    for k in keys:
        try:
            out.append(resolve(k, s.data_dir, manifest=manifest))
        except DataFileError:
            continue
    return out


def _load(name: str, s: Settings) -> tuple[gpd.GeoDataFrame, LoadReport]:
    if name == "landmarks":
        return load_landmarks(settings=s, missing="skip")
    return LAYER_LOADERS[name](settings=s)


def reference_layers(settings: Settings | None = None) -> tuple[ReferenceLayers, dict[str, LoadReport]]:
    """The reference layers (as :func:`geo.ingest.reference.load_reference_layers` with ``missing="skip"``), cached.

    Each layer is read from its cache entry when its files are unchanged. A layer whose files are not
    fetched, or cannot be read, comes out empty and its report says why (it is not cached).
    """
    s = _s(settings)
    frames: dict[str, gpd.GeoDataFrame] = {}
    reports: dict[str, LoadReport] = {}
    for name, keys in REFERENCE_DATASETS.items():
        files = _present(s, keys)
        try:
            if not files:
                raise DataFileError(f"none of {', '.join(keys)} is fetched (python -m geo fetch)")
            frames[name], reports[name] = cached(
                f"ref_{name}",
                functools.partial(_load, name, s),
                inputs=files,
                cache_dir=s.cache_dir,
                extra=str(s.analysis_crs),
            )
        except DataFileError as exc:
            frames[name] = gpd.GeoDataFrame({c: [] for c in LAYER_COLUMNS[name]}, geometry=[], crs=s.analysis_crs)
            reports[name] = LoadReport(name, "", notes=[f"not loaded: {exc}"])
    return ReferenceLayers(**frames), reports


def place_index_inputs(settings: Settings | None = None) -> list[Path]:
    """The files the place index is built from: the NPAs, the reference files and NPA groups present, the divisions."""
    s = _s(settings)
    ref_keys = tuple(k for keys in REFERENCE_DATASETS.values() for k in keys)
    return [
        *build.input_files(s, "npa"),
        *_present(s, (*ref_keys, "npa_groups")),
        *build.input_files(s, "divisions", optional=True),
    ]


def _key(s: Settings, inputs: list[Path]) -> str:
    h = hashlib.sha256(f"{geo.__version__}|{PLACE_INDEX_VERSION}|{s.analysis_crs}".encode())
    for p in inputs:
        st = os.stat(p)
        h.update(f"|{Path(p).resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:20]


def _digest(payload: dict[str, Any]) -> str:
    text = json.dumps([payload["places"], payload["aliases"]], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _read_index(path: Path, key: str) -> PlaceIndex | str:
    """The stored index, or why it cannot be used (``""`` when it is merely out of date)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"it cannot be read as JSON ({type(exc).__name__})"
    if not isinstance(data, dict) or not {"key", "sha256", "places", "aliases"} <= data.keys():
        return f"it is not a place index entry (a {type(data).__name__})"
    if data["key"] != key:
        return ""
    try:
        if data["sha256"] != _digest(data):
            return "its content does not match the hash recorded when it was written"
        return PlaceIndex.from_dict(data)
    except (TypeError, ValueError, KeyError) as exc:
        return f"its places cannot be read back ({type(exc).__name__})"


def place_index(settings: Settings | None = None) -> PlaceIndex:
    """The :class:`PlaceIndex` of the fetched data (see :func:`geo.layers.places.build_place_index`), cached on disk.

    Read from ``place_index.json`` in the cache folder when none of :func:`place_index_inputs` changed;
    built (from the cached reference layers) and stored otherwise. Equal to a fresh build.
    """
    s = _s(settings)
    key = _key(s, place_index_inputs(s))
    path = Path(s.cache_dir) / _PLACE_FILE
    if path.exists():
        hit = _read_index(path, key)
        if isinstance(hit, PlaceIndex):
            return hit
        if hit:
            note_rebuild(path, hit)
    index = build_place_index(s, layers=reference_layers(s)[0])
    payload: dict[str, Any] = {"key": key, **index.to_dict()}
    payload["sha256"] = _digest(payload)
    try:
        with atomic_path(path, durable=False) as tmp:
            tmp.write_text(json.dumps(payload, separators=(",", ":"), ensure_ascii=False), encoding="utf-8")
    except OSError:
        pass
    return index
