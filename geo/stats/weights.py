"""Spatial weights: who is whose neighbour, with the links of libpysal's ``Graph`` builders.

Every builder returns a :class:`SpatialWeights`: the libpysal ``Graph`` (binary or
kernel weights, never transformed in place), the unit ids in row order, the units
without neighbours (islands) and the connected components. Statistics ask it for
a fresh sparse matrix in the transformation they need (:meth:`SpatialWeights.matrix`),
so a caller's weights are never changed by an analysis.

Contiguity (:mod:`geo.stats._contiguity`), k-nearest neighbours and distance bands
(:mod:`geo.stats._neighbours`, scipy's k-d tree) are built here, with the same links as
libpysal's builders at a fraction of their time; kernels still use libpysal.
Distance-based weights (k-nearest neighbours, distance band, kernel) measure
distances between unit centroids in the layer's CRS units, so they refuse a layer
without a CRS or with a geographic (degrees) CRS. Contiguity needs no distances but
still refuses a layer without a CRS, since nothing else about such a layer can be
trusted.

Examples
--------
>>> import geopandas as gpd, shapely
>>> cells = [shapely.box(i, j, i + 1, j + 1) for j in range(3) for i in range(3)]
>>> grid = gpd.GeoDataFrame(geometry=cells, crs="EPSG:2264")
>>> w = build_weights(grid, method="queen")
>>> w.cardinality.tolist()
[3, 5, 3, 5, 8, 5, 3, 5, 3]
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from geo.errors import CRSError, EmptyInputError, GeometryError, GeoWarning, SchemaError, ValueDomainError, first_rows
from geo.stats._contiguity import contiguity_matrix
from geo.stats._neighbours import Links, distance_band_matrix, knn_matrix, largest_nearest_distance, point_coordinates
from geo.stats.warning_codes import COMPONENTS, ISLANDS

__all__ = [
    "WeightsMethod",
    "KernelName",
    "Transform",
    "ParamValue",
    "SpatialWeights",
    "weights_from_matrix",
    "min_threshold_distance",
    "build_weights",
]


if TYPE_CHECKING:
    from libpysal.graph import Graph


WeightsMethod = Literal["queen", "rook", "knn", "distance", "kernel"]


KernelName = Literal["triangular", "uniform", "quadratic", "quartic", "gaussian"]


Transform = Literal["B", "R", "O"]


#: A parameter of the weights (``k``, ``threshold``, ``bandwidth``, ``kernel``, ``crs``, ``units``).
ParamValue: TypeAlias = str | int | float


#: Any square matrix the weights can be read from.
MatrixLike: TypeAlias = "sparse.sparray | sparse.spmatrix | np.ndarray"


#: Our kernel names -> libpysal's.
KERNELS: dict[str, str] = {
    "triangular": "triangular",
    "uniform": "boxcar",
    "quadratic": "parabolic",  # Epanechnikov
    "quartic": "bisquare",
    "gaussian": "gaussian",
}


METHODS: tuple[str, ...] = ("queen", "rook", "knn", "distance", "kernel")


@dataclass(frozen=True, eq=False)
class SpatialWeights:
    """Spatial weights for the rows of one layer, with islands and components reported.

    Attributes
    ----------
    method
        How the weights were built (``queen``, ``rook``, ``knn``, ``distance``,
        ``kernel``, or ``custom``).
    ids
        Unit ids in row order (the layer's index unless an id column was given).
    id_column
        The column the ids came from, or ``None`` for the index.
    params
        Parameters used (``k``, ``threshold``, ``bandwidth``, ``kernel``, CRS).
    base
        ``(n, n)`` CSR matrix of the untransformed weights, no self-links, no
        explicit zeros. Treat as read-only; :meth:`matrix` returns copies.
    warnings
        Warnings as data: code ``islands`` (units without neighbours) and
        ``components`` (several disconnected groups); see :mod:`geo.stats.warning_codes`.
    """

    method: str
    ids: pd.Index
    id_column: str | None
    params: Mapping[str, ParamValue]
    base: sparse.csr_array
    warnings: tuple[GeoWarning, ...] = ()
    _graph: list[Graph] = field(default_factory=list, repr=False)
    _components: list[int] = field(default_factory=list, repr=False)

    @property
    def n(self) -> int:
        """Number of units."""
        return int(self.base.shape[0])

    @property
    def cardinality(self) -> pd.Series:
        """Number of neighbours of each unit."""
        return pd.Series(np.diff(self.base.indptr), index=self.ids, name="cardinality")

    @property
    def islands(self) -> tuple[Hashable, ...]:
        """Ids of units with no neighbour."""
        return tuple(self.ids[np.diff(self.base.indptr) == 0])

    @property
    def component_labels(self) -> np.ndarray:
        """Connected-component label of each unit (islands are their own component)."""
        labels = connected_components(self.base, directed=True, connection="weak")[1]
        return np.asarray(labels, dtype=np.int64)

    @property
    def n_components(self) -> int:
        """Number of connected components (each island counts as one; counted once, then kept)."""
        if not self._components:
            self._components.append(int(connected_components(self.base, directed=True, connection="weak")[0]))
        return self._components[0]

    @property
    def is_symmetric(self) -> bool:
        """Whether ``w_ij == w_ji`` for every pair (up to rounding)."""
        diff = self.base - self.base.T
        return bool(abs(diff).max() <= 1e-12) if diff.nnz else True

    @property
    def graph(self) -> Graph:
        """The weights as a libpysal ``Graph`` (immutable; islands kept as isolates)."""
        if not self._graph:
            from libpysal.graph import Graph

            self._graph.append(Graph.from_sparse(self.base, ids=self.ids))
        return self._graph[0]

    def matrix(self, transform: Transform = "O") -> sparse.csr_array:
        """Return a new CSR matrix of the weights.

        Parameters
        ----------
        transform
            ``"O"`` original weights, ``"B"`` binary (1 for every neighbour),
            ``"R"`` row-standardised (each unit's weights sum to 1; islands stay 0).
        """
        m = self.base.copy()
        if transform == "B":
            m.data[:] = 1.0
        elif transform == "R":
            rs = np.asarray(m.sum(axis=1)).ravel()
            scale = np.divide(1.0, rs, out=np.zeros_like(rs), where=rs != 0)
            m = sparse.csr_array(sparse.diags_array(scale) @ m)
        elif transform != "O":
            raise ValueDomainError(f"transform must be one of 'O', 'B', 'R'; got {transform!r}")
        return m

    def subset(self, keep: np.ndarray | Sequence[bool]) -> SpatialWeights:
        """Weights among the kept units only (links to dropped units removed).

        Units whose every neighbour was dropped become islands.
        """
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != (self.n,):
            raise ValueDomainError(f"subset mask has {keep.shape[0]} entries, weights have {self.n} units")
        pos = np.nonzero(keep)[0]
        sub = sparse.csr_array(self.base[pos][:, pos])
        return _make(self.method, self.ids[pos], self.id_column, self.params, sub)

    def summary(self) -> dict[str, ParamValue]:
        """Numbers worth showing next to a map."""
        card = np.diff(self.base.indptr)
        return {
            "method": self.method,
            "units": self.n,
            "links": int(self.base.nnz),
            "mean_neighbours": float(card.mean()) if self.n else 0.0,
            "min_neighbours": int(card.min()) if self.n else 0,
            "max_neighbours": int(card.max()) if self.n else 0,
            "islands": len(self.islands),
            "components": self.n_components,
            **{k: v for k, v in self.params.items() if v is not None},
        }

    def aligned_with(self, gdf: pd.DataFrame) -> bool:
        """Whether these weights were built for the rows of ``gdf`` (same ids, same order)."""
        if len(gdf) != self.n:
            return False
        ids = gdf.index if self.id_column is None else gdf.get(self.id_column)
        return ids is not None and bool(pd.Index(ids).equals(self.ids))


def drop_self_links(m: MatrixLike) -> sparse.csr_array:
    """A new CSR array without diagonal entries or explicit zeros (duplicates summed)."""
    coo = sparse.coo_array(m, dtype=np.float64)
    keep = (coo.row != coo.col) & (coo.data != 0)
    out = sparse.csr_array((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=coo.shape)
    out.sum_duplicates()
    out.eliminate_zeros()
    out.sort_indices()
    return out


def _weights_warnings(
    method: str, ids: pd.Index, m: sparse.csr_array, *, n_components: int | None = None
) -> tuple[tuple[GeoWarning, ...], int]:
    """The ``islands`` and ``components`` warnings of a weights matrix (no self-links), and the component count.

    ``n_components``: the weak component count when the builder already has it
    (:class:`geo.stats._neighbours.Links`, counted in a faster order); else counted here.
    """
    card = np.diff(m.indptr)
    warnings: list[GeoWarning] = []
    islands = ids[card == 0]
    if len(islands):
        warnings.append(
            GeoWarning(
                ISLANDS,
                f"{len(islands)} unit(s) have no neighbours under {method} weights "
                f"(ids {', '.join(map(str, islands[:8]))}{' ...' if len(islands) > 8 else ''}); "
                "they are reported as Isolated and take no part in local tests.",
            )
        )
    n_comp = n_components
    if n_comp is None:
        n_comp = int(connected_components(m, directed=True, connection="weak")[0]) if m.shape[0] else 0
    if n_comp - len(islands) > 1:
        warnings.append(
            GeoWarning(
                COMPONENTS,
                f"the weights split the units into {n_comp - len(islands)} disconnected groups "
                f"(plus {len(islands)} island(s)); spatial lags never cross between groups.",
            )
        )
    return tuple(warnings), n_comp


def _make(
    method: str,
    ids: pd.Index,
    id_column: str | None,
    params: Mapping[str, ParamValue],
    m: MatrixLike,
    *,
    canonical: bool = False,
    n_components: int | None = None,
) -> SpatialWeights:
    """Wrap a matrix; ``canonical=True``: ``m`` is already a sorted CSR array without self-links or zeros."""
    base = m if canonical and isinstance(m, sparse.csr_array) else drop_self_links(m)
    warnings, n_comp = _weights_warnings(method, ids, base, n_components=n_components)
    return SpatialWeights(method, ids, id_column, dict(params), base, warnings, _components=[n_comp])


def weights_from_matrix(
    matrix: MatrixLike,
    *,
    ids: Sequence[Hashable] | pd.Index | None = None,
    id_column: str | None = None,
    method: str = "custom",
) -> SpatialWeights:
    """Wrap a square weights matrix (diagonal ignored) as :class:`SpatialWeights`."""
    m = sparse.csr_array(matrix, dtype=np.float64)
    if m.shape[0] != m.shape[1]:
        raise ValueDomainError(f"weights matrix must be square, got shape {m.shape}")
    if (m.data < 0).any() or not np.isfinite(m.data).all():
        raise ValueDomainError("weights must be finite and non-negative")
    idx = pd.RangeIndex(m.shape[0]) if ids is None else pd.Index(ids)
    if len(idx) != m.shape[0]:
        raise ValueDomainError(f"{len(idx)} ids for a {m.shape[0]}x{m.shape[0]} weights matrix")
    return _make(method, idx, id_column, {}, m)


def _contiguity(geom: gpd.GeoSeries, *, rook: bool, cache_dir: Path | None) -> sparse.csr_array:
    """Contiguity matrix by shared vertices/edges (:mod:`geo.stats._contiguity`), cached on disk in ``cache_dir``.

    The same links as libpysal's ``Graph.build_contiguity`` (checked in the tests on the NPAs,
    divisions and hexagons) at 20-40x its speed, without importing libpysal (0.6 s). The
    matrix of a layer seen before is read back (a few milliseconds), keyed by the exact
    geometry (WKB) and the rule. The file holds that key and the matrix's
    shape and checksum: a truncated or garbled file, a matrix of the wrong shape or one
    written for other geometry is rebuilt (one line on standard error says so), never
    used. ``cache_dir=None`` means no disk cache; an unwritable folder only means no caching.
    """
    key = _contiguity_key(geom, rook=rook)
    path = None if cache_dir is None else Path(cache_dir) / f"{key[: key.rindex('-') + 25]}.npz"
    if path is not None and path.exists():
        matrix, why = _read_weights(path, key, len(geom))
        if matrix is not None:
            return matrix
        print(f"cache: rebuilding {path} because {why}", file=sys.stderr)
    matrix = contiguity_matrix(geom.values, rook=rook)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            m = sparse.csr_matrix(matrix)
            np.savez(
                tmp,
                key=np.array(key),
                shape=np.array(m.shape, dtype=np.int64),
                data=m.data,
                indices=m.indices,
                indptr=m.indptr,
                checksum=np.array(_checksum(m.data, m.indices, m.indptr)),
            )
            tmp.replace(path)
        except OSError:
            pass
    return matrix


def _checksum(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _read_weights(path: Path, key: str, n: int) -> tuple[sparse.csr_array | None, str]:
    """The cached matrix, or ``None`` and why it cannot be used."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if "key" not in z.files or str(z["key"]) != key:
                return None, "it was not written for this geometry and rule"
            shape = tuple(int(v) for v in z["shape"])
            data, indices, indptr = z["data"], z["indices"], z["indptr"]
            if shape != (n, n) or len(indptr) != n + 1:
                return None, f"it holds a {shape[0]}x{shape[1]} matrix for {n} units"
            if str(z["checksum"]) != _checksum(data, indices, indptr):
                return None, "its contents do not match the checksum written with it"
            return sparse.csr_array((data, indices, indptr), shape=(n, n)), ""
    except Exception as exc:  # zipfile.BadZipFile, EOFError, ValueError, KeyError, OSError
        return None, f"it cannot be read ({type(exc).__name__})"


def _contiguity_key(geom: gpd.GeoSeries, *, rook: bool) -> str:
    """Cache key of a contiguity matrix: the rule, the unit count and a hash of the geometry (WKB)."""
    import shapely

    rule = "rook" if rook else "queen"
    h = hashlib.sha256(rule.encode())
    for wkb in shapely.to_wkb(geom.values, hex=False, include_srid=False):
        h.update(wkb if wkb is not None else b"-")
    return f"{rule}-{len(geom)}-{h.hexdigest()}"


def _from_graph(
    graph: Graph, method: str, ids: pd.Index, id_column: str | None, params: Mapping[str, ParamValue]
) -> SpatialWeights:
    return _make(method, ids, id_column, params, graph.sparse)


def _check_layer(gdf: gpd.GeoDataFrame, *, method: str, id_column: str | None) -> pd.Index:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"weights need a GeoDataFrame, got {type(gdf).__name__}")
    if len(gdf) == 0:
        raise EmptyInputError(f"cannot build {method} weights for an empty layer")
    if gdf.crs is None:
        raise CRSError(
            f"the layer has no CRS; set one (e.g. gdf.set_crs('EPSG:2264')) before building {method} weights"
        )
    geom = gdf.geometry
    bad = np.nonzero((geom.isna() | geom.is_empty).to_numpy())[0]
    if bad.size:
        raise GeometryError(
            f"{bad.size} feature(s) have missing or empty geometry ({first_rows(bad + 1)}); "
            "drop or repair them before building weights"
        )
    if id_column is None:
        ids = pd.Index(gdf.index)
    else:
        if id_column not in gdf.columns:
            raise SchemaError(
                f"id column {id_column!r} is not in the layer; columns: {', '.join(map(str, gdf.columns))}"
            )
        ids = pd.Index(gdf[id_column])
    if ids.has_duplicates:
        dup = ids[ids.duplicated(keep=False)]
        rows = np.nonzero(ids.duplicated(keep=False))[0] + 1
        raise ValueDomainError(
            f"unit ids must be unique; {dup.nunique()} id(s) repeat "
            f"({', '.join(map(str, dup.unique()[:5]))}) at {first_rows(rows)}"
        )
    if ids.hasnans:
        raise ValueDomainError(f"unit ids must not be missing ({first_rows(np.nonzero(ids.isna())[0] + 1)})")
    return ids


def _projected_points(gdf: gpd.GeoDataFrame, method: str) -> gpd.GeoSeries:
    if gdf.crs.is_geographic:
        raise CRSError(
            f"{method} weights measure distances, but the layer's CRS ({gdf.crs.to_string()}) is geographic "
            "(degrees); reproject first, e.g. gdf.to_crs('EPSG:2264') for Charlotte (US feet)"
        )
    import shapely

    geom = gdf.geometry
    if (shapely.get_type_id(geom.values) == 0).all():
        return geom
    return geom.centroid


def min_threshold_distance(gdf: gpd.GeoDataFrame) -> float:
    """Smallest distance band in which every unit has at least one neighbour (CRS units)."""
    _check_layer(gdf, method="distance", id_column=None)
    xy = point_coordinates(_projected_points(gdf, "distance"))
    if len(xy) < 2:
        raise ValueDomainError("a distance band needs at least 2 units")
    return largest_nearest_distance(xy)


def build_weights(
    gdf: gpd.GeoDataFrame,
    *,
    method: WeightsMethod = "queen",
    k: int | None = None,
    threshold: float | None = None,
    kernel: KernelName = "triangular",
    bandwidth: float | None = None,
    id_column: str | None = None,
    cache_dir: Path | None = None,
) -> SpatialWeights:
    """Build spatial weights for the rows of a layer.

    Parameters
    ----------
    gdf
        Layer of polygons or points, in a projected CRS for distance-based methods.
    method
        ``queen`` / ``rook`` contiguity, ``knn`` (``k`` nearest centroids),
        ``distance`` (centroids within ``threshold``), or ``kernel``.
    k
        Neighbours for ``knn`` (required) and ``kernel`` (default 6 when no
        ``bandwidth``). Must be smaller than the number of units.
    threshold
        Distance band in CRS units; default: the smallest band giving every unit a
        neighbour.
    kernel
        Kernel function for ``kernel`` weights.
    bandwidth
        Fixed kernel bandwidth in CRS units (alternative to ``k``).
    id_column
        Column holding unique unit ids; default the index.
    cache_dir
        Folder where contiguity matrices are kept between processes (keyed by the
        geometry), e.g. ``get_settings().cache_dir / "weights"``; ``None``: no disk
        cache. Distance-based weights are not cached.

    Returns
    -------
    SpatialWeights
        Untransformed weights with islands, components and warnings.

    Raises
    ------
    CRSError
        No CRS, or a geographic CRS with a distance-based method.
    ValueDomainError
        Unknown method, ``k`` not in ``1 .. n-1``, non-positive distances,
        duplicate ids.
    GeometryError
        Missing or empty geometries.
    """
    if method not in METHODS:
        raise ValueDomainError(f"unknown weights method {method!r}; allowed: {', '.join(METHODS)}")
    ids = _check_layer(gdf, method=method, id_column=id_column)
    params: dict[str, ParamValue] = {"crs": gdf.crs.to_string()}
    if method in ("queen", "rook"):
        geom = gdf.geometry.reset_index(drop=True)
        matrix = _contiguity(geom, rook=method == "rook", cache_dir=cache_dir)
        return _make(method, ids, id_column, params, matrix)
    points = _projected_points(gdf, method).reset_index(drop=True)
    if method == "knn":
        knn = _knn(points, _neighbour_count(k, len(gdf), required=True), params)
        if isinstance(knn, Links):
            return _make(method, ids, id_column, params, knn.matrix, canonical=True, n_components=knn.n_components)
        return _from_graph(knn, method, ids, id_column, params)
    if method == "distance":
        band = _distance_band(gdf, points, threshold, params)
        params["units"] = _unit_name(gdf)
        return _make(method, ids, id_column, params, band.matrix, canonical=True, n_components=band.n_components)
    graph = _kernel_graph(points, kernel=kernel, k=k, bandwidth=bandwidth, params=params)
    params["units"] = _unit_name(gdf)
    return _from_graph(graph, method, ids, id_column, params)


def _neighbour_count(k: int | None, n: int, *, required: bool) -> int:
    """Check ``k`` (knn: required; kernel: default 6) against the number of units."""
    if required and k is None:
        raise ValueDomainError("knn weights need k (the number of neighbours), e.g. k=6")
    k = 6 if k is None else k
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise TypeError(f"k must be an integer, got {type(k).__name__}")
    if not 1 <= k < n:
        raise ValueDomainError(f"k must be between 1 and n - 1 = {n - 1} for {n} units; got k={k}")
    return int(k)


def _knn(points: gpd.GeoSeries, k: int, params: dict[str, ParamValue]) -> Links | Graph:
    """The k nearest neighbours from the k-d tree (:mod:`geo.stats._neighbours`); libpysal's cliques for coincident points."""
    params["k"] = k
    links = knn_matrix(point_coordinates(points), k)
    if links is not None:
        return links
    from libpysal.graph import Graph

    return Graph.build_knn(points, k=k, coplanar="clique")


def _distance_band(
    gdf: gpd.GeoDataFrame, points: gpd.GeoSeries, threshold: float | None, params: dict[str, ParamValue]
) -> Links:
    """Binary distance band from the k-d tree: the links of libpysal's ``Graph.build_distance_band``."""
    xy = point_coordinates(points)
    if threshold is None:
        if len(xy) < 2:
            raise ValueDomainError("a distance band needs at least 2 units")
        # a hair beyond the largest nearest-neighbour distance, so that the
        # farthest pair is kept despite rounding (min_threshold_distance * (1 + 1e-9))
        links = distance_band_matrix(xy, None, margin=1e-9)
    elif not np.isfinite(threshold) or threshold <= 0:
        raise ValueDomainError(f"distance threshold must be a positive number of CRS units; got {threshold}")
    else:
        links = distance_band_matrix(xy, float(threshold))
    params["threshold"] = links.threshold
    return links


def _kernel_graph(
    points: gpd.GeoSeries,
    *,
    kernel: KernelName,
    k: int | None,
    bandwidth: float | None,
    params: dict[str, ParamValue],
) -> Graph:
    from libpysal.graph import Graph

    if bandwidth is None:
        n_neighbours = _neighbour_count(k, len(points), required=False)
        params["k"] = n_neighbours
    if kernel not in KERNELS:
        raise ValueDomainError(f"unknown kernel {kernel!r}; allowed: {', '.join(KERNELS)}")
    params["kernel"] = kernel
    if bandwidth is not None:
        if not np.isfinite(bandwidth) or bandwidth <= 0:
            raise ValueDomainError(f"kernel bandwidth must be a positive number of CRS units; got {bandwidth}")
        params["bandwidth"] = float(bandwidth)
        return Graph.build_distance_band(
            points, threshold=float(bandwidth), binary=False, kernel=KERNELS[kernel], bandwidth=float(bandwidth)
        )
    from scipy.spatial import cKDTree

    xy = point_coordinates(points)
    d, _ = cKDTree(xy).query(xy, k=n_neighbours + 1)
    # slightly beyond the farthest k-th neighbour so that it keeps a weight > 0
    h = float(d[:, -1].max()) * (1 + 1e-9)
    params["bandwidth"] = h
    return Graph.build_kernel(points, kernel=KERNELS[kernel], k=n_neighbours, bandwidth=h, coplanar="clique")


def _unit_name(gdf: gpd.GeoDataFrame) -> str:
    try:
        return str(gdf.crs.axis_info[0].unit_name)
    except (AttributeError, IndexError):
        return "CRS units"
