"""Geometry for display only (never for analysis): EPSG:4326, simplified with shared borders kept, rounded.

Simplifying a layer's polygons together (``coverage_simplify``) takes a few tenths of a second for the 459
NPAs, and every map drew it again. :func:`simplify_for_display` remembers its answer per input geometry,
tolerance and precision: in the process (the last :data:`_MEMO_SIZE`) and on disk
(``Settings.cache_dir / "display"``, WKB in a NumPy archive with the SHA-256 of its content, checked on
read; a damaged entry is rebuilt with one line on standard error), so the same outlines are simplified once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geo.errors import CRSError
from geo.ingest.cache import note_rebuild
from geo.ingest.files import atomic_path
from geo.maps._recent import Recent
from geo.settings import get_settings

__all__ = ["simplify_for_display", "without_empty", "has_points"]


#: Metres per degree of latitude; display tolerances are converted with it.
_M_PER_DEGREE = 111_320.0


_POLYGONAL = {"Polygon", "MultiPolygon"}


_LINEAR = {"LineString", "MultiLineString", "LinearRing"}

#: Bump when the display simplification changes (older entries are then not reused).
DISPLAY_VERSION = "1"

#: Simplified layers kept in the process.
_MEMO_SIZE = 32
_memo: Recent[np.ndarray] = Recent(_MEMO_SIZE)


def simplify_for_display(gdf: gpd.GeoDataFrame, *, tolerance_m: float = 10.0, precision: int = 5) -> gpd.GeoDataFrame:
    """Return a copy in EPSG:4326, repaired, simplified and rounded for a web map.

    Invalid geometries are repaired (``make_valid``, structure method). Polygons are
    simplified together with ``shapely.coverage_simplify`` so neighbours keep a
    common border (no slivers or gaps appear between them); a polygon that would come
    out empty or invalid is simplified on its own instead. Lines are simplified one by
    one; points are kept. Coordinates are then rounded to ``precision`` decimals.
    For display only: never use the result for analysis.

    Parameters
    ----------
    gdf
        Any CRS; rows and columns are kept, null geometries stay null.
    tolerance_m
        Simplification tolerance in metres (converted at 111,320 m per degree);
        0 turns simplification off.
    precision
        Decimals kept in longitude/latitude (5 ≈ 1 m).

    Raises
    ------
    CRSError
        If ``gdf`` has no CRS.
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"expected a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is None:
        raise CRSError("The layer has no CRS; set one (e.g. gdf.set_crs('EPSG:2264')) before mapping it.")
    if tolerance_m < 0 or not 0 <= precision <= 15:
        raise ValueError(f"tolerance_m must be >= 0 and precision 0..15; got {tolerance_m!r}, {precision!r}")
    key = _display_key(gdf, tolerance_m, precision)
    known = _memo.get(key)
    if known is None:
        known = _stored_geoms(key)
    if known is not None:
        _memo.put(key, known)
        return gdf.set_geometry(gpd.GeoSeries(known.copy(), index=gdf.index, crs="EPSG:4326"), crs="EPSG:4326")
    out = gdf.to_crs("EPSG:4326") if not gdf.crs.equals("EPSG:4326") else gdf.copy()
    geoms = _simplified(np.asarray(out.geometry.values, dtype=object), tolerance_m, precision)
    _memo.put(key, geoms)
    _store_geoms(key, geoms)
    return out.set_geometry(gpd.GeoSeries(geoms.copy(), index=out.index, crs="EPSG:4326"), crs="EPSG:4326")


def _simplified(geoms: np.ndarray, tolerance_m: float, precision: int) -> np.ndarray:
    """Repaired, simplified and rounded EPSG:4326 geometries (see :func:`simplify_for_display`)."""
    present = _present(geoms)
    bad = present & ~shapely.is_valid(geoms)
    if bad.any():
        geoms[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
    collections = present & (shapely.get_type_id(geoms) == 7)
    if collections.any():  # Leaflet tooltips skip GeometryCollections; keep their polygons
        geoms[collections] = [_polygonal_part(g) for g in geoms[collections]]
    if tolerance_m > 0:
        tol = tolerance_m / _M_PER_DEGREE
        types = shapely.get_type_id(geoms)
        poly = present & np.isin(types, [3, 6])
        line = present & np.isin(types, [1, 2, 5])
        if poly.any():
            simple = shapely.coverage_simplify(geoms[poly], tol)
            broken = shapely.is_empty(simple) | ~shapely.is_valid(simple)
            if broken.any():
                simple[broken] = shapely.simplify(geoms[poly][broken], tol, preserve_topology=True)
            geoms[poly] = simple
        if line.any():
            geoms[line] = shapely.simplify(geoms[line], tol, preserve_topology=True)
    if present.any():
        geoms[present] = shapely.transform(geoms[present], lambda xy: np.round(xy, precision))
    return geoms


def _display_key(gdf: gpd.GeoDataFrame, tolerance_m: float, precision: int) -> str:
    h = hashlib.sha256(f"{DISPLAY_VERSION}|{gdf.crs.to_wkt()}|{tolerance_m!r}|{precision}|{len(gdf)}|".encode())
    for wkb in shapely.to_wkb(np.asarray(gdf.geometry.values, dtype=object)):
        h.update(b"-" if wkb is None else len(wkb).to_bytes(8, "little") + wkb)
    return h.hexdigest()[:32]


def _path(key: str) -> Path:
    return get_settings().cache_dir / "display" / f"{key}.npz"


def _stored_geoms(key: str) -> np.ndarray | None:
    """The geometries stored for ``key``, or ``None`` (not stored, or damaged: then said and rebuilt)."""
    path = _path(key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            blob, ends, digest = z["wkb"].tobytes(), z["ends"], str(z["digest"])
        if hashlib.sha256(blob + ends.tobytes()).hexdigest() != digest:
            raise ValueError("its content does not match its digest")
        starts = np.concatenate([[0], ends[:-1]])
        parts = [blob[a:b] for a, b in zip(starts, ends, strict=True)]
        return np.array([shapely.from_wkb(p) if p else None for p in parts], dtype=object)
    except Exception as exc:  # a truncated archive, a tampered entry, bad WKB: draw it again
        note_rebuild(path, f"it cannot be used ({type(exc).__name__}: {exc})")
        return None


def _store_geoms(key: str, geoms: np.ndarray) -> None:
    wkbs = [b"" if g is None else shapely.to_wkb(g) for g in geoms]
    blob = b"".join(wkbs)
    ends = np.cumsum([len(w) for w in wkbs], dtype=np.int64)
    digest = hashlib.sha256(blob + ends.tobytes()).hexdigest()
    try:
        with atomic_path(_path(key), durable=False) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, wkb=np.frombuffer(blob, dtype=np.uint8), ends=ends, digest=np.array(digest))
    except OSError:  # a read-only cache folder: simplified again by the next process
        pass


def without_empty(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Return the rows that have a geometry (not missing, not empty) and how many rows do not.

    Parameters
    ----------
    gdf
        Any layer; not changed.

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, int)
        A new frame with the rows that can be drawn, and the number left out.
    """
    keep = _present(np.asarray(gdf.geometry.values, dtype=object))
    return gdf.loc[keep], int((~keep).sum())


def has_points(gdf: gpd.GeoDataFrame) -> bool:
    """Whether any geometry of ``gdf`` is a Point or MultiPoint (drawn as circle markers)."""
    return bool(np.isin(shapely.get_type_id(np.asarray(gdf.geometry.values, dtype=object)), [0, 4]).any())


def _present(geoms: np.ndarray) -> np.ndarray:
    """Mask of the geometries that are neither missing nor empty."""
    present: np.ndarray = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    return present


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    """Return the polygons of a GeometryCollection (or the collection itself if it has none)."""
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if shapely.get_type_id(p) in (3, 6)]
    if not polys:
        return geom
    return polys[0] if len(polys) == 1 else shapely.union_all(polys)
