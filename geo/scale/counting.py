"""Counting points per polygon with the grid kernel of :mod:`geo.scale.polygon_index`, with a report of every point."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from geo.errors import SchemaError
from geo.scale.polygon_index import PolygonIndex, check_crs, points_xy

if TYPE_CHECKING:  # pandas and geopandas are imported where frames are made: count_totals needs neither
    import geopandas as gpd
    import pandas as pd

__all__ = ["AggregateReport", "count_totals", "count_units", "counts_frame", "aggregate", "index_for"]


#: Name of the category used for points whose ``by`` value is missing.
MISSING_CATEGORY = "(missing)"


@dataclass
class AggregateReport:
    """What happened to every point in an aggregation.

    Attributes
    ----------
    points_read
        Rows read.
    assigned
        Points counted in a polygon.
    outside
        Points with coordinates but outside every polygon (not counted).
    null_geometry
        Rows without a usable point (missing or empty geometry, missing coordinates).
    shared_boundary
        Points inside several polygons (on a shared boundary, or in an overlap),
        counted once, in the polygon with the smallest id.
    by_missing
        Points counted whose ``by`` value was missing (counted under ``(missing)``).
    files
        Files read (for file inputs).
    synthetic
        The input is marked SYNTHETIC (benchmark data, see :mod:`geo.scale.synthetic`).
    notes
        Facts worth showing (reprojection, assumed CRS, engine).
    """

    points_read: int = 0
    assigned: int = 0
    outside: int = 0
    null_geometry: int = 0
    shared_boundary: int = 0
    by_missing: int = 0
    files: int = 0
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)

    def merge(self, other: AggregateReport) -> AggregateReport:
        """Sum of two reports (notes kept once, in order)."""
        notes = list(self.notes) + [n for n in other.notes if n not in self.notes]
        return AggregateReport(
            self.points_read + other.points_read,
            self.assigned + other.assigned,
            self.outside + other.outside,
            self.null_geometry + other.null_geometry,
            self.shared_boundary + other.shared_boundary,
            self.by_missing + other.by_missing,
            self.files + other.files,
            self.synthetic or other.synthetic,
            notes,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every count, the flags and the notes."""
        return {
            "points_read": self.points_read,
            "assigned": self.assigned,
            "outside": self.outside,
            "null_geometry": self.null_geometry,
            "shared_boundary": self.shared_boundary,
            "by_missing": self.by_missing,
            "files": self.files,
            "synthetic": self.synthetic,
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """Plain text, one fact a line."""
        lines = ["SYNTHETIC points (benchmark data, not CMPD data)"] if self.synthetic else []
        lines += [
            f"points read: {self.points_read:,}" + (f" from {self.files:,} file(s)" if self.files else ""),
            f"  assigned to a unit: {self.assigned:,}",
            f"  outside every unit (not counted): {self.outside:,}",
            f"  no geometry / missing coordinates (not counted): {self.null_geometry:,}",
            f"  on a shared boundary or overlap (counted once, smallest id): {self.shared_boundary:,}",
        ]
        if self.by_missing:
            lines.append(f"  missing category (counted under {MISSING_CATEGORY!r}): {self.by_missing:,}")
        lines += [f"  * {n}" for n in self.notes]
        return "\n".join(lines)


def index_for(polygons: gpd.GeoDataFrame | None, index: PolygonIndex | None, *, id_column: str) -> PolygonIndex:
    """The prebuilt ``index`` (checked to be on ``id_column``), or one built from ``polygons``.

    Raises
    ------
    TypeError
        Neither is given.
    SchemaError
        ``index`` was built on another column.
    """
    if index is None:
        if polygons is None:
            raise TypeError("Pass polygons or a prebuilt index.")
        return PolygonIndex.build(polygons, id_column=id_column)
    if index.id_column != id_column:
        raise SchemaError(f"The index was built on {index.id_column!r}, not {id_column!r}.")
    return index


def _positions(x: np.ndarray, y: np.ndarray, index: PolygonIndex) -> tuple[np.ndarray, AggregateReport]:
    """Polygon position of every point (``-1``: none) and the report of the batch."""
    pos, shared = index.query(x, y, return_shared=True)
    npoint = len(x)
    null = int(np.count_nonzero(np.isnan(x) | np.isnan(y)))
    assigned = npoint - int(np.count_nonzero(pos < 0))
    rep = AggregateReport(
        points_read=npoint,
        assigned=assigned,
        outside=npoint - assigned - null,  # a point without coordinates is never assigned
        null_geometry=null,
        shared_boundary=int(np.count_nonzero(shared)),
    )
    return pos, rep


def count_totals(x: np.ndarray, y: np.ndarray, index: PolygonIndex) -> tuple[np.ndarray, AggregateReport]:
    """Assign and count one batch of points: points per polygon position (all, zeros included) and the report.

    The numeric core of :func:`count_units` without categories (no pandas): totals of
    batches add up.
    """
    pos, rep = _positions(x, y, index)
    counts = np.bincount(pos + 1, minlength=len(index) + 1)[1:]  # slot 0: outside (-1)
    return counts.astype(np.int64, copy=False), rep


def count_units(
    x: np.ndarray,
    y: np.ndarray,
    index: PolygonIndex,
    *,
    categories: pd.Series | np.ndarray | None = None,
) -> tuple[pd.Series, AggregateReport]:
    """Assign and count one batch of points: partial counts that add up across batches.

    Parameters
    ----------
    x, y
        Coordinates in the index's CRS; NaN marks a missing point.
    index
        The polygon index.
    categories
        Optional category of each point (missing values are counted under
        ``"(missing)"``).

    Returns
    -------
    counts : pandas.Series
        Point counts indexed by polygon position (and category, when given); only
        non-zero entries.
    report : AggregateReport
        Counts of points read, assigned, outside, missing and on shared boundaries.
    """
    import pandas as pd

    if categories is None:
        c, rep = count_totals(x, y, index)
        nz = np.flatnonzero(c)
        return pd.Series(c[nz], index=pd.Index(nz, name="unit"), name="count", dtype="int64"), rep
    pos, rep = _positions(x, y, index)
    inside = pos >= 0
    npoly = len(index)
    cat = categories if isinstance(categories, pd.Series) else pd.Series(np.asarray(categories, dtype=object))
    if len(cat) != len(x):
        raise ValueError(f"categories has {len(cat)} values for {len(x)} points.")
    if isinstance(cat.dtype, pd.CategoricalDtype):
        codes = cat.cat.codes.to_numpy().astype(np.int64)
        uniques = np.asarray(cat.cat.categories.astype(str), dtype=object)
    else:
        codes, uniq = pd.factorize(cat.reset_index(drop=True), use_na_sentinel=True)
        uniques = np.asarray(pd.Index(uniq).astype(str), dtype=object)
    missing = codes < 0
    rep.by_missing = int((missing & inside).sum())
    if missing.any():
        codes = np.where(missing, len(uniques), codes)
        uniques = np.append(uniques, MISSING_CATEGORY)
    k = max(len(uniques), 1)
    flat = np.bincount(pos[inside].astype(np.int64) * k + codes[inside], minlength=npoly * k)
    nz = np.flatnonzero(flat)
    mi = pd.MultiIndex.from_arrays([nz // k, uniques[nz % k]], names=["unit", "category"])
    out = pd.Series(flat[nz], index=mi, name="count", dtype="int64")
    if len(set(uniques)) < len(uniques):  # e.g. 1 and "1": the same label once written
        out = out.groupby(level=[0, 1]).sum()
    return out, rep


def counts_frame(counts: pd.Series, index: PolygonIndex, *, by: str | None = None) -> pd.DataFrame:
    """Turn (summed) partial counts into one row per polygon, zeros included.

    Parameters
    ----------
    counts
        Output of :func:`count_units` (possibly summed over batches with
        ``groupby(level=...).sum()``).
    index
        The polygon index the counts refer to.
    by
        Name of the category column, if counts are by category.

    Returns
    -------
    pandas.DataFrame
        ``index.id_column`` and ``count`` for every polygon in layer order; with
        ``by``, one more column ``"{by}={value}"`` per category, in sorted order.
    """
    import pandas as pd

    npoly = len(index)
    out = pd.DataFrame({index.id_column: index.ids})
    if counts.index.nlevels == 1:
        total = np.zeros(npoly, dtype=np.int64)
        if len(counts):
            total[counts.index.to_numpy(dtype=np.int64)] = counts.to_numpy()
        out["count"] = total
        return out
    wide = counts.unstack("category", fill_value=0).reindex(range(npoly), fill_value=0)
    wide = wide.reindex(sorted(wide.columns, key=str), axis=1).astype("int64")
    out["count"] = wide.sum(axis=1).to_numpy()
    for col in wide.columns:
        name = f"{by}={col}" if by else str(col)
        if name in out.columns:
            raise SchemaError(f"Category {col!r} of {by!r} would make a column {name!r} that already exists.")
        out[name] = wide[col].to_numpy()
    return out


def aggregate(
    points: gpd.GeoDataFrame,
    polygons: gpd.GeoDataFrame | None = None,
    *,
    id_column: str,
    by: str | None = None,
    index: PolygonIndex | None = None,
) -> tuple[pd.DataFrame, AggregateReport]:
    """Count points per polygon (and per category of ``by``), every polygon present.

    Parameters
    ----------
    points
        Point layer in the polygons' CRS. Missing and empty geometries are counted
        in the report, not in any polygon.
    polygons
        Polygon layer with a unique ``id_column`` (or pass ``index``).
    id_column
        Polygon identifier.
    by
        Optional column of ``points`` to break the counts down by.
    index
        A prebuilt :class:`PolygonIndex` (built from ``polygons`` when omitted).

    Returns
    -------
    counts : pandas.DataFrame
        One row per polygon in layer order: ``id_column``, ``count`` and, with
        ``by``, one ``"{by}={value}"`` column per category (zeros included).
    report : AggregateReport
        Points read, assigned, outside, without geometry, on shared boundaries.

    Examples
    --------
    >>> counts, report = aggregate(layers.incidents(), layers.npa(), id_column="npa")  # doctest: +SKIP
    """
    import geopandas as gpd

    if not isinstance(points, gpd.GeoDataFrame):
        raise TypeError(f"points must be a GeoDataFrame, not {type(points).__name__}.")
    index = index_for(polygons, index, id_column=id_column)
    if by is not None and by not in points.columns:
        raise SchemaError(
            f"Cannot break counts down by {by!r}: no such column in the points. Columns: {', '.join(map(str, points.columns))}."
        )
    check_crs(points.crs, index)
    x, y, _ = points_xy(points.geometry)
    counts, rep = count_units(x, y, index, categories=points[by] if by else None)
    return counts_frame(counts, index, by=by), rep
