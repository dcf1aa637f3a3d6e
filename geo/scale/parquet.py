"""Points in (partitioned) Parquet: find the files, their coordinates and CRS; read one piece.

A *piece* is one Parquet row group, the unit of work of :mod:`geo.scale.distributed`.
:func:`inspect_points` checks every file once and describes how to read them in a
:class:`PointsSpec` (small and picklable: shipped to Dask workers); :func:`read_piece`
reads one piece straight into coordinate arrays in the polygons' CRS.

Inputs: a GeoParquet file with a point geometry column (WKB or native ``point``
encoding), or a Parquet file with ``x``/``y`` (assumed in the analysis CRS unless
``crs`` says otherwise) or ``lon``/``lat`` (``longitude``/``latitude``; EPSG:4326)
columns. A path, a folder (every ``*.parquet`` below it) or a glob.
"""

from __future__ import annotations

import glob as _glob
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pyproj import CRS, Transformer

from geo.errors import CRSError, DataFileError, GeometryError, SchemaError, quote_values
from geo.scale.polygon_index import points_xy
from geo.scale.synthetic import SYNTHETIC_METADATA_KEY

if TYPE_CHECKING:  # pandas only for categories (read_piece with ``by``)
    import pandas as pd

__all__ = ["XY_COLUMNS", "PointsSpec", "inspect_points", "read_piece", "in_target_crs"]


Encoding = Literal["point", "WKB", "xy"]


#: Coordinate column pairs recognised (lower case), with the CRS they imply (None: ask/assume).
XY_COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("x", "y", None),
    ("lon", "lat", "EPSG:4326"),
    ("longitude", "latitude", "EPSG:4326"),
    ("lng", "lat", "EPSG:4326"),
)


@dataclass(frozen=True)
class PointsSpec:
    """How to read points from a set of Parquet files (picklable; shipped to workers).

    Attributes
    ----------
    files
        The files, in order.
    pieces
        ``(file, row group)`` pairs, the unit of work.
    encoding
        ``point`` (GeoParquet native struct), ``WKB`` or ``xy`` (two columns).
    columns
        The geometry column, or the x and y columns.
    source_crs
        The points' CRS (as WKT), or ``None`` when it equals the target.
    target_crs
        The polygons' CRS (as WKT).
    by
        Category column, or ``None``.
    rows
        Rows in all files.
    synthetic
        Some file is marked SYNTHETIC (:func:`geo.scale.synthetic.is_synthetic`).
    notes
        What was assumed or changed (reprojection, assumed CRS).
    """

    files: tuple[str, ...]
    pieces: tuple[tuple[str, int], ...]
    encoding: Encoding
    columns: tuple[str, ...]
    source_crs: str | None
    target_crs: str
    by: str | None = None
    rows: int = 0
    synthetic: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def read_columns(self) -> list[str]:
        """The columns to read: the coordinates and the category."""
        return list(self.columns) + ([self.by] if self.by and self.by not in self.columns else [])


def _files(points: str | Path | Sequence[str | Path]) -> list[str]:
    if isinstance(points, str | Path):
        p = Path(points)
        if p.is_dir():
            found = sorted(str(f) for f in p.rglob("*.parquet"))
            if not found:
                raise DataFileError(f"{p}: the folder holds no *.parquet files.")
            return found
        if p.is_file():
            return [str(p)]
        found = sorted(_glob.glob(str(points), recursive=True))
        found = [f for f in found if Path(f).is_file()]
        if not found:
            raise DataFileError(f"{points}: no such file, and no file matches it as a pattern.")
        return found
    files = [str(f) for f in points]
    if not files:
        raise DataFileError("No points files given.")
    for f in files:
        if not Path(f).is_file():
            raise DataFileError(f"{f}: no such file.")
    return files


def _schema(path: str) -> pa.Schema:
    try:
        return pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFileError(f"{path}: not a readable Parquet file ({exc}).") from None


def _geo_column(schema: pa.Schema, path: str) -> tuple[str, Encoding, CRS | None, bool] | None:
    """(column, encoding, crs, crs_declared) from GeoParquet metadata, or None."""
    meta = (schema.metadata or {}).get(b"geo")
    if meta is None:
        return None
    try:
        geo = json.loads(meta)
        col = geo["primary_column"]
        info = geo["columns"][col]
    except (ValueError, KeyError, TypeError):
        raise DataFileError(f"{path}: the GeoParquet metadata ('geo') cannot be read.") from None
    encoding = info.get("encoding", "WKB")
    if encoding not in ("WKB", "point"):
        raise GeometryError(
            f"{path}: the geometry column {col!r} has encoding {encoding!r}; only points can be assigned "
            "(GeoParquet encodings 'point' or 'WKB')."
        )
    types = [t for t in info.get("geometry_types", []) if t.removesuffix(" Z") != "Point"]
    if types:
        raise GeometryError(
            f"{path}: the geometry column {col!r} holds {', '.join(types)}; only points can be assigned."
        )
    if "crs" not in info:
        return col, encoding, CRS.from_user_input("OGC:CRS84"), True  # the GeoParquet default
    if info["crs"] is None:
        return col, encoding, None, False
    return col, encoding, CRS.from_user_input(info["crs"]), True


def inspect_points(
    points: str | Path | Sequence[str | Path],
    *,
    target_crs: Any,
    by: str | None = None,
    crs: Any = None,
) -> PointsSpec:
    """Find the files, the coordinates and the CRS of a points input; check every file.

    Parameters
    ----------
    points
        A Parquet file, a folder of them, a glob (``data/synthetic/u10m/*.parquet``)
        or a list of files.
    target_crs
        The CRS to assign in (the polygons').
    by
        Optional category column, which every file must have.
    crs
        The points' CRS when the files do not say (``x``/``y`` columns, or GeoParquet
        with an unknown CRS). Default: ``target_crs`` (noted in the report).

    Raises
    ------
    DataFileError
        No file, or a file that is not Parquet.
    SchemaError
        No coordinates (no GeoParquet geometry, no x/y or lon/lat columns), a file
        differing from the first, or no ``by`` column.
    CRSError
        ``crs`` contradicts the CRS a file declares.
    """
    files = _files(points)
    target = CRS.from_user_input(target_crs)
    first = _schema(files[0])
    notes: list[str] = []
    coords = _coordinates(first, files[0], target=target, crs=crs, notes=notes)
    if by is not None and by not in first.names:
        raise SchemaError(
            f"{files[0]}: cannot break counts down by {by!r}: no such column. "
            f"Columns: {quote_values(first.names, limit=12)}."
        )
    pieces, rows, synthetic = _pieces(files, first, coords, by=by)
    source_crs = None
    if coords.crs != target:
        source_crs = coords.crs.to_wkt()
        notes.append(f"points reprojected from {coords.crs.to_string()} to {target.to_string()}")
    return PointsSpec(
        files=tuple(files),
        pieces=tuple(pieces),
        encoding=coords.encoding,
        columns=coords.columns,
        source_crs=source_crs,
        target_crs=target.to_wkt(),
        by=by,
        rows=rows,
        synthetic=synthetic,
        notes=tuple(notes),
    )


class _Coordinates(NamedTuple):
    """Where the first file keeps its points, and their CRS."""

    encoding: Encoding
    columns: tuple[str, ...]
    crs: CRS
    declared: CRS | None  # the CRS in the GeoParquet metadata (``None``: unknown, or x/y columns)


def _coordinates(schema: pa.Schema, path: str, *, target: CRS, crs: Any, notes: list[str]) -> _Coordinates:
    """The geometry column (GeoParquet) or else the x/y columns of a file, with the points' CRS."""
    geo = _geo_column(schema, path)
    if geo is not None:
        col, encoding, declared, has_crs = geo
        src = declared
        if crs is not None:
            user = CRS.from_user_input(crs)
            if has_crs and declared is not None and user != declared:
                raise CRSError(
                    f"{path}: the file says its CRS is {declared.to_string()}, not {user.to_string()}; "
                    "drop the crs option."
                )
            src = user
        elif src is None:
            src = target
            notes.append(f"the points' CRS is not recorded; assumed {target.to_string()}")
        return _Coordinates(encoding, (col,), src, declared)
    names_lower = {n.lower(): n for n in schema.names}
    pair = next(
        (
            (names_lower[a], names_lower[b], implied)
            for a, b, implied in XY_COLUMNS
            if a in names_lower and b in names_lower
        ),
        None,
    )
    if pair is None:
        raise SchemaError(
            f"{path}: no point coordinates: no GeoParquet geometry column and no x/y, lon/lat or "
            f"longitude/latitude columns. Columns: {quote_values(schema.names, limit=12)}."
        )
    xcol, ycol, implied = pair
    if crs is not None:
        src = CRS.from_user_input(crs)
    elif implied is not None:
        src = CRS.from_user_input(implied)
    else:
        src = target
        notes.append(
            f"columns {xcol!r}/{ycol!r} carry no CRS; assumed {target.to_string()} (pass crs= / --crs otherwise)"
        )
    return _Coordinates("xy", (xcol, ycol), src, None)


def _pieces(
    files: list[str], first: pa.Schema, coords: _Coordinates, *, by: str | None
) -> tuple[list[tuple[str, int]], int, bool]:
    """Check that every file matches the first; its ``(file, row group)`` pieces, the rows, and whether any is SYNTHETIC."""
    pieces: list[tuple[str, int]] = []
    rows = 0
    synthetic = False
    need = list(coords.columns) + ([by] if by else [])
    for f in files:
        schema = first if f == files[0] else _schema(f)
        synthetic = synthetic or SYNTHETIC_METADATA_KEY in (schema.metadata or {}) or "synthetic" in schema.names
        missing = [c for c in need if c not in schema.names]
        if missing:
            raise SchemaError(
                f"{f}: column(s) {quote_values(missing)} missing (present in {files[0]}); all files must share the columns."
            )
        if f != files[0] and coords.encoding != "xy":
            other = _geo_column(schema, f)
            if other is None or other[1] != coords.encoding or other[2] != coords.declared:
                raise SchemaError(f"{f}: geometry encoding or CRS differs from {files[0]}; all files must match.")
        md = pq.ParquetFile(f).metadata
        rows += md.num_rows
        pieces += [(f, i) for i in range(md.num_row_groups)]
    return pieces, rows, synthetic


def _to_float(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type) or pa.types.is_decimal(arr.type)):
        raise SchemaError(f"coordinate column has type {arr.type}; numbers expected.")
    return _numbers(arr.cast(pa.float64()))


def _numbers(arr: pa.Array, *, writable: bool = False) -> np.ndarray:
    """A float64 array as numpy, nulls as NaN: without a copy when it has no nulls (and pyarrow's pandas path)."""
    if arr.type != pa.float64():
        arr = arr.cast(pa.float64())
    if arr.null_count:
        arr = arr.fill_null(np.nan)
    # The data buffer itself: pyarrow's to_numpy would import pandas (a second).
    out = np.frombuffer(arr.buffers()[1], dtype=np.float64, count=len(arr), offset=arr.offset * 8)
    return out.copy() if writable else out


def _reproject(x: np.ndarray, y: np.ndarray, spec: PointsSpec) -> tuple[np.ndarray, np.ndarray]:
    if spec.source_crs is None:
        return x, y
    tr = Transformer.from_crs(CRS.from_wkt(spec.source_crs), CRS.from_wkt(spec.target_crs), always_xy=True)
    with np.errstate(invalid="ignore"):
        x, y = tr.transform(x, y)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _finite(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NaN for both coordinates wherever either is missing or infinite (a failed reprojection)."""
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        x = np.where(bad, np.nan, x)
        y = np.where(bad, np.nan, y)
    return x, y


def in_target_crs(x: np.ndarray, y: np.ndarray, spec: PointsSpec) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates reprojected to the spec's target CRS; NaN for both where either is missing or infinite."""
    return _finite(*_reproject(x, y, spec))


def read_piece(piece: tuple[str, int], spec: PointsSpec) -> tuple[np.ndarray, np.ndarray, pd.Series | None]:
    """Read one row group: x, y in the target CRS (NaN where missing) and the categories."""
    path, rg = piece
    try:
        table = pq.ParquetFile(path).read_row_group(rg, columns=spec.read_columns)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFileError(f"{path}: cannot read row group {rg} ({exc}).") from None
    if spec.encoding == "point":
        g = table.column(spec.columns[0]).combine_chunks()
        x = _numbers(g.field("x"), writable=bool(g.null_count))
        y = _numbers(g.field("y"), writable=bool(g.null_count))
        if g.null_count:
            null = np.asarray(g.is_null(), dtype=bool)
            x[null] = np.nan
            y[null] = np.nan
    elif spec.encoding == "WKB":
        wkb = table.column(spec.columns[0]).to_numpy(zero_copy_only=False)
        try:
            geoms = shapely.from_wkb(wkb)
        except shapely.errors.GEOSException as exc:
            raise GeometryError(f"{path}: unreadable WKB geometry in row group {rg} ({exc}).") from None
        try:
            x, y, _ = points_xy(geoms)
        except GeometryError as exc:
            raise GeometryError(f"{path} (row group {rg}): {exc}") from None
    else:
        try:
            x = _to_float(table.column(spec.columns[0]))
            y = _to_float(table.column(spec.columns[1]))
        except SchemaError as exc:
            raise SchemaError(f"{path}: {exc}") from None
    x, y = in_target_crs(x, y, spec)
    cats = table.column(spec.by).to_pandas() if spec.by else None
    return x, y, cats
