"""The :class:`~geo.scale.polygon_index.PolygonIndex` of a catalogue layer, cached on disk.

Building the grid index of the 459 NPAs takes about a second, the same every run;
reading it back takes a few milliseconds, and needs neither geopandas nor pandas (nor
the layer's polygons as a frame), so ``python -m geo aggregate`` starts counting at once.

One entry per layer (and hexagon size, and sub-cell split): ``index/{name}.npz`` in the
cache folder, an uncompressed ``.npz`` holding the index arrays, the polygons as WKB and a
JSON record of what the entry was built from:

- the entry's key: :data:`INDEX_VERSION`, :data:`geo.__version__`, the layer, the hexagon
  size, the split, the analysis CRS and the data folder;
- every input file of the layer (:func:`geo.layers.build.input_files` of its declared
  inputs, as :func:`geo.layers.catalog.cache_key` uses them) and the data manifest, each by
  path, size and modification time;
- the SHA-256 of the arrays, computed when written.

On read the key and every file's size and time are compared (a changed polygon file, a
new manifest or a new release rebuilds the entry silently: it is merely out of date), and
the arrays must hash to the recorded value. A damaged entry (truncated, not a ``.npz``,
tampered with) is rebuilt with one line on standard error
(:func:`geo.ingest.cache.note_rebuild`). Entries are written atomically
(:func:`geo.ingest.files.atomic_path`); an unwritable cache folder is tolerated.

Examples
--------
>>> from geo.scale.index_cache import layer_index
>>> index = layer_index("npa")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

import geo
from geo.ingest.sources import MANIFEST_NAME
from geo.scale.polygon_index import PolygonIndex
from geo.settings import Settings, get_settings

__all__ = ["INDEX_VERSION", "layer_index", "entry_path", "save_index", "load_index"]


#: Bump when the index's arrays change meaning, to invalidate old entries.
INDEX_VERSION = "1"


#: Grid cells of a cached index: fewer, larger cells than :meth:`PolygonIndex.build`'s default, each boundary
#: cell split 16 x 16 (``subdivide``): a table that stays in cache, a query 1.6 times faster, built once.
GRID_CELLS = 250_000


#: The index arrays stored as they are (``fine`` only when the boundary cells are split).
_ARRAYS = ("rank", "labels", "cand_ptr", "cand_poly", "cand_estart", "cand_ecount", "edges")


def entry_path(name: str, *, settings: Settings | None = None, cell_size: float = 1000.0, subdivide: int = 16) -> Path:
    """Where the cached index of layer ``name`` lives (the hexagon size only names ``hex`` entries)."""
    s = settings if settings is not None else get_settings()
    stem = f"{name}-{float(cell_size):g}" if name == "hex" else name
    return Path(s.cache_dir) / "index" / f"{stem}-sub{subdivide}.npz"


def _stat(path: Path) -> list[Any]:
    st = os.stat(path)
    return [str(Path(path).resolve()), st.st_size, st.st_mtime_ns]


def _key(name: str, s: Settings, cell_size: float, subdivide: int) -> dict[str, Any]:
    manifest = Path(s.data_dir) / MANIFEST_NAME
    return {
        "version": INDEX_VERSION,
        "geo": geo.__version__,
        "layer": name,
        "cell_size": float(cell_size) if name == "hex" else None,
        "subdivide": subdivide,
        "cells": GRID_CELLS,
        "crs": s.analysis_crs,
        "data_dir": str(Path(s.data_dir).resolve()),
        "manifest": _stat(manifest) if manifest.exists() else None,
    }


def _digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the arrays' names, dtypes, shapes and bytes, in name order."""
    h = hashlib.sha256()
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(f"{k}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.reshape(-1).view(np.uint8).data)
    return h.hexdigest()


def _to_arrays(index: PolygonIndex) -> dict[str, np.ndarray] | None:
    """The index as plain arrays (no pickles); ``None`` when its ids or CRS would not come back the same."""
    import shapely
    from pyproj import CRS

    ids = index.ids
    if ids.dtype == object:
        if not all(type(v) is str for v in ids):
            return None
        ids = np.asarray(ids, dtype=str)
    wkt = index.crs.to_wkt()
    if CRS.from_wkt(wkt) != index.crs:  # pragma: no cover - pyproj round-trips its own WKT
        return None
    wkb = shapely.to_wkb(index.geometries)
    size = np.array([-1 if b is None else len(b) for b in wkb], dtype=np.int64)
    arrays = {k: getattr(index, k) for k in _ARRAYS}
    arrays["ids"] = ids
    arrays["wkb"] = np.frombuffer(b"".join(b for b in wkb if b is not None), dtype=np.uint8)
    arrays["wkb_size"] = size
    if index.fine is not None:
        arrays["fine"] = index.fine
    scalars = {
        "id_column": index.id_column,
        "ids_str": bool(index.ids.dtype == object),
        "crs": wkt,
        "grid": [index.cell_size, index.x0, index.y0, index.nx, index.ny, index.exact, index.sub],
    }
    arrays["scalars"] = np.frombuffer(json.dumps(scalars).encode(), dtype=np.uint8)
    return arrays


def _from_arrays(arrays: dict[str, np.ndarray]) -> PolygonIndex:
    import shapely
    from pyproj import CRS

    sc = json.loads(arrays["scalars"].tobytes())
    size = arrays["wkb_size"]
    ends = np.cumsum(np.maximum(size, 0))
    raw = arrays["wkb"].tobytes()
    wkb = [None if n < 0 else raw[e - n : e] for n, e in zip(size.tolist(), ends.tolist(), strict=True)]
    geoms = np.asarray(shapely.from_wkb(wkb), dtype=object)
    ids = arrays["ids"]
    cell_size, x0, y0, nx, ny, exact, sub = sc["grid"]
    return PolygonIndex(
        ids=ids.astype(object) if sc["ids_str"] else ids,
        rank=arrays["rank"],
        geometries=geoms,
        crs=CRS.from_wkt(sc["crs"]),
        id_column=sc["id_column"],
        cell_size=float(cell_size),
        x0=float(x0),
        y0=float(y0),
        nx=int(nx),
        ny=int(ny),
        labels=arrays["labels"],
        cand_ptr=arrays["cand_ptr"],
        cand_poly=arrays["cand_poly"],
        cand_estart=arrays["cand_estart"],
        cand_ecount=arrays["cand_ecount"],
        edges=arrays["edges"],
        exact=bool(exact),
        sub=int(sub),
        fine=arrays.get("fine"),
    )


def save_index(index: PolygonIndex, path: Path, *, record: dict[str, Any]) -> bool:
    """Write ``index`` with ``record`` (the key and the input files) atomically; whether it was written."""
    from geo.ingest.files import atomic_path

    arrays = _to_arrays(index)
    if arrays is None:
        return False
    meta = {**record, "sha256": _digest(arrays)}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            # A file object: given a name, np.savez would add ".npz". (numpy's stub mistypes **kwds.)
            np.savez(f, **arrays)  # type: ignore[arg-type]
    except OSError:
        return False
    return True


def load_index(path: Path, *, key: dict[str, Any]) -> PolygonIndex | str:
    """The cached index at ``path``, or why it cannot be used (``""``: merely out of date).

    The entry must carry ``key``; its input files must have the sizes and times recorded;
    its arrays must hash to the recorded SHA-256.
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("meta").tobytes())
    except Exception as exc:  # a damaged file fails in zipfile, numpy or json
        return f"it cannot be read back ({type(exc).__name__})"
    if not isinstance(meta, dict) or not isinstance(meta.get("inputs"), list):
        return f"its record is not an index entry (a {type(meta).__name__})"
    if meta.get("key") != key:
        return ""
    try:
        if any(_stat(Path(p[0])) != p for p in meta["inputs"]):
            return ""
    except (OSError, TypeError, IndexError):
        return ""  # an input file gone or moved: out of date
    if meta.get("sha256") != _digest(arrays):
        return "its arrays do not match the hash recorded when it was written"
    try:
        return _from_arrays(arrays)
    except Exception as exc:  # consistent hash, inconsistent content: written by other code
        return f"its arrays do not make an index ({type(exc).__name__})"


def layer_index(
    name: str, *, settings: Settings | None = None, cell_size: float = 1000.0, subdivide: int = 16
) -> PolygonIndex:
    """The :class:`PolygonIndex` of the catalogue's polygon layer ``name``: from the cache, else built and cached.

    A warm call imports neither geopandas nor pandas. A cold one builds the units with
    :func:`geo.layers.catalog.get_units` and the index with :meth:`PolygonIndex.build`.

    Raises
    ------
    ValueDomainError
        Unknown layer, or a layer of points.
    GeometryError
        The layer's geometries cannot be indexed (the message names the layer).
    """
    s = settings if settings is not None else get_settings()
    path = entry_path(name, settings=s, cell_size=cell_size, subdivide=subdivide)
    key = _key(name, s, cell_size, subdivide)
    if path.exists():
        hit = load_index(path, key=key)
        if isinstance(hit, PolygonIndex):
            return hit
        if hit:
            from geo.ingest.cache import note_rebuild

            note_rebuild(path, hit)
    return _build_and_save(name, s, cell_size, subdivide, path, key)


def _build_and_save(
    name: str, s: Settings, cell_size: float, subdivide: int, path: Path, key: dict[str, Any]
) -> PolygonIndex:
    from geo.errors import GeometryError
    from geo.layers.catalog import get_units, layer_spec

    spec = layer_spec(name)
    polygons = get_units(name, settings=s, cell_size=cell_size)
    try:
        index = PolygonIndex.build(polygons, id_column=spec.id_column, subdivide=subdivide, cells=GRID_CELLS)
    except GeometryError as exc:
        raise GeometryError(f"layer {name}: {exc}") from None
    save_index(index, path, record={"key": key, "inputs": [_stat(p) for p in _inputs(name, s)]})
    return index


def _inputs(name: str, s: Settings) -> list[Path]:
    """The files layer ``name`` is built from: its declared inputs, as :func:`geo.layers.catalog.cache_key` has them."""
    from geo.layers import build
    from geo.layers.catalog import layer_spec

    return [p for entry in layer_spec(name).inputs for p in build.input_files(s, entry, optional=True)]
