"""Building the grid of :class:`geo.scale.polygon_index.PolygonIndex`. Private.

The build, one step a function:

1. :func:`ring_edges`: every ring edge of every polygon;
2. :func:`layout`: the grid over the edges (origin, cell size, margin ``eps``, exactness);
3. :func:`cell_labels`: boundary cells (within ``eps`` of an edge, :func:`mark_cells`),
   the polygons covering each cell centre (:func:`scanline_cover`), and from both the
   label of every cell and the candidate polygons of every boundary cell;
4. :func:`row_edges`: for each candidate, its edges in the cell's row;
5. :func:`fine_labels`: labels of the sub-cells of boundary cells.

Every step works on whole arrays; :func:`expand` turns ranges into their elements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from geo.errors import GeometryError

#: Most sub-cells to label (4 bytes each).
FINE_BUDGET = 8_000_000


#: Most cells in a grid (padding included).
MAX_CELLS = 200_000_000


@dataclass(frozen=True)
class Grid:
    """A regular grid: origin, cell side, size, edge margin, and whether differences in it are exact."""

    x0: float
    y0: float
    cell_size: float
    nx: int
    ny: int
    eps: float
    exact: bool


@dataclass(frozen=True)
class Cells:
    """Cell labels (unpadded, ``iy * nx + ix``) and the candidate polygons of boundary cells.

    ``cell[cand_ptr[b]:cand_ptr[b + 1]]`` is boundary cell ``b`` (repeated) and
    ``poly[...]`` its candidates by position, in rank order.
    """

    labels: np.ndarray
    cell: np.ndarray
    poly: np.ndarray
    cand_ptr: np.ndarray


def sterbenz_ok(lo: float, hi: float) -> bool:
    """True when ``a - b`` is exact for every pair of doubles in ``[lo, hi]``."""
    return (lo > 0 and hi <= 2 * lo) or (hi < 0 and lo >= 2 * hi)


def expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges ``[starts[i], starts[i] + counts[i])``: (owner i, value) of every element."""
    counts = counts.astype(np.int64, copy=False)
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(counts)), counts)
    if total == 0:
        return owner, np.zeros(0, dtype=np.int64)
    first = np.cumsum(counts) - counts
    values = np.arange(total, dtype=np.int64) - np.repeat(first - starts.astype(np.int64), counts)
    return owner, values


def ring_edges(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ring edge of every polygon: (owner position, (n, 4) array ax, ay, bx, by)."""
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    same = coord_ring[1:] == coord_ring[:-1]
    a = coords[:-1][same]
    b = coords[1:][same]
    owner = part_owner[ring_part[coord_ring[:-1][same]]]
    keep = ~((a[:, 0] == b[:, 0]) & (a[:, 1] == b[:, 1]))  # zero-length edges decide nothing
    return owner[keep], np.column_stack([a[keep], b[keep]])


def _margin(cs: float, *coords: float) -> float:
    """Distance within which a cell counts as near an edge: far above the rounding of cell arithmetic."""
    eps: float = max(cs * 1e-6, 64 * np.spacing(max(*(abs(c) for c in coords), 1.0)))
    return eps


def layout(edges: np.ndarray, cell_size: float | None, *, cells: int = 2_000_000) -> Grid:
    """The grid over the edges' extent (about ``cells`` cells unless ``cell_size`` is given), padded by ``4 * eps``.

    Raises
    ------
    ValueError
        ``cell_size`` not a positive number, or giving more than :data:`MAX_CELLS` cells.
    """
    xmin = float(min(edges[:, 0].min(), edges[:, 2].min()))
    xmax = float(max(edges[:, 0].max(), edges[:, 2].max()))
    ymin = float(min(edges[:, 1].min(), edges[:, 3].min()))
    ymax = float(max(edges[:, 1].max(), edges[:, 3].max()))
    span = max(xmax - xmin, ymax - ymin, 1e-9)
    if cell_size is None:
        cell_size = math.sqrt(max((xmax - xmin) * (ymax - ymin), span * span * 1e-4) / cells)
    cs = float(cell_size)
    if not (cs > 0 and math.isfinite(cs)):
        raise ValueError(f"cell_size must be a positive number, not {cell_size!r}.")
    eps = _margin(cs, xmin, xmax, ymin, ymax)
    x0 = xmin - 4 * eps
    y0 = ymin - 4 * eps
    nx = int(math.floor((xmax + 4 * eps - x0) / cs)) + 1
    ny = int(math.floor((ymax + 4 * eps - y0) / cs)) + 1
    if (nx + 2) * (ny + 2) > MAX_CELLS:
        raise ValueError(f"cell_size {cs} gives a {nx} x {ny} grid; choose a larger cell_size.")
    exact = sterbenz_ok(x0, x0 + nx * cs) and sterbenz_ok(y0, y0 + ny * cs)
    return Grid(x0=x0, y0=y0, cell_size=cs, nx=nx, ny=ny, eps=eps, exact=exact)


def mark_cells(
    owner: np.ndarray | None, edges: np.ndarray, x0: float, y0: float, cs: float, nx: int, ny: int, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Cells (``iy * nx + ix``) within ``eps`` of an edge, with the edge's polygon.

    Edges are cut in pieces no longer than ``cs / 2``; each piece's box, grown by
    ``eps``, covers at most 3 x 3 cells. Returns (cell, polygon) pairs, with repeats
    (polygon ``0`` for all when ``owner`` is None), computed in batches to bound memory.
    """
    ax, ay, bx, by = edges.T
    pieces = np.maximum(1, np.ceil(np.hypot(bx - ax, by - ay) / (0.5 * cs))).astype(np.int64)
    ends = np.cumsum(pieces)
    out: list[np.ndarray] = []
    npoly = int(owner.max()) + 1 if owner is not None and len(owner) else 1
    batch = 1 << 20
    e_start = 0
    while e_start < len(edges):
        base = ends[e_start - 1] if e_start else 0
        e_stop = max(int(np.searchsorted(ends, base + batch, side="right")), e_start + 1)
        e_of_piece, k = expand(np.zeros(e_stop - e_start, dtype=np.int64), pieces[e_start:e_stop])
        e = e_of_piece + e_start
        poly = owner[e] if owner is not None else np.zeros(len(e), dtype=np.int64)
        out += _piece_cells(edges[e], k / pieces[e], (k + 1) / pieces[e], poly, x0, y0, cs, nx, ny, eps, npoly)
        e_start = e_stop
    key = np.concatenate(out) if out else np.zeros(0, dtype=np.int64)
    return key // npoly, key % npoly


def _piece_cells(
    edges: np.ndarray,
    t0: np.ndarray,
    t1: np.ndarray,
    poly: np.ndarray,
    x0: float,
    y0: float,
    cs: float,
    nx: int,
    ny: int,
    eps: float,
    npoly: int,
) -> list[np.ndarray]:
    """Keys ``cell * npoly + poly`` of the cells the pieces ``[t0, t1]`` of ``edges`` come within ``eps`` of."""
    ax, ay, bx, by = edges.T
    dx = bx - ax
    dy = by - ay
    px0 = ax + t0 * dx
    px1 = ax + t1 * dx
    py0 = ay + t0 * dy
    py1 = ay + t1 * dy
    ix_lo = np.floor((np.minimum(px0, px1) - eps - x0) / cs).astype(np.int64)
    ix_hi = np.floor((np.maximum(px0, px1) + eps - x0) / cs).astype(np.int64)
    iy_lo = np.floor((np.minimum(py0, py1) - eps - y0) / cs).astype(np.int64)
    iy_hi = np.floor((np.maximum(py0, py1) + eps - y0) / cs).astype(np.int64)
    if int((ix_hi - ix_lo).max()) > 2 or int((iy_hi - iy_lo).max()) > 2:  # pragma: no cover - by construction
        raise RuntimeError("edge pieces span more than three cells")
    out = []
    for di in range(3):
        for dj in range(3):
            ok = (ix_lo + di <= ix_hi) & (iy_lo + dj <= iy_hi)
            ix = ix_lo[ok] + di
            iy = iy_lo[ok] + dj
            inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
            out.append(((iy * nx + ix) * npoly + poly[ok])[inside])
    return out


def scanline_intervals(
    owner: np.ndarray, edges: np.ndarray, x0: float, y0: float, cs: float, nx: int, ny: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Even-odd scanline fill along each row's centre line.

    Returns ``(polygon, row, first column, last column)`` of every run of cells whose
    centres lie inside a polygon (runs may be empty: last < first). Answers for
    centres within rounding of an edge may be off; callers only trust cells away
    from every edge.
    """
    ax, ay, bx, by = edges.T
    lo = np.minimum(ay, by)
    hi = np.maximum(ay, by)
    r_lo = np.clip(np.floor((lo - y0) / cs - 0.5) - 1, 0, ny - 1).astype(np.int64)
    r_hi = np.clip(np.ceil((hi - y0) / cs - 0.5) + 1, 0, ny - 1).astype(np.int64)
    e, row = expand(r_lo, r_hi - r_lo + 1)
    yc = y0 + (row + 0.5) * cs
    keep = (ay[e] <= yc) != (by[e] <= yc)  # half-open: each vertex counted once
    e, row, yc = e[keep], row[keep], yc[keep]
    xc = ax[e] + (yc - ay[e]) * (bx[e] - ax[e]) / (by[e] - ay[e])
    poly = owner[e]
    order = np.lexsort((xc, row, poly))
    poly, row, xc = poly[order], row[order], xc[order]
    # Consecutive crossings of one (polygon, row) pair up as [in, out] intervals.
    grp = poly * ny + row
    _, gstart, gcount = np.unique(grp, return_index=True, return_counts=True)
    if np.any(gcount % 2):  # pragma: no cover - a closed ring crosses a line an even number of times
        raise GeometryError("A polygon ring is not closed; cannot index it.")
    rank_in = np.arange(len(xc)) - np.repeat(gstart, gcount)
    a = np.flatnonzero(rank_in % 2 == 0)
    c_lo = np.clip(np.ceil((xc[a] - x0) / cs - 0.5), 0, nx).astype(np.int64)
    c_hi = np.clip(np.floor((xc[a + 1] - x0) / cs - 0.5), -1, nx - 1).astype(np.int64)
    return poly[a], row[a], c_lo, c_hi


def scanline_cover(
    owner: np.ndarray, edges: np.ndarray, x0: float, y0: float, cs: float, nx: int, ny: int
) -> tuple[np.ndarray, np.ndarray]:
    """(cell, polygon) pairs: the polygons whose interior holds each cell centre."""
    poly, row, c_lo, c_hi = scanline_intervals(owner, edges, x0, y0, cs, nx, ny)
    iv, col = expand(c_lo, np.maximum(c_hi - c_lo + 1, 0))
    return row[iv] * nx + col, poly[iv]


def cell_labels(owner: np.ndarray, edges: np.ndarray, rank: np.ndarray, grid: Grid) -> Cells:
    """Label every cell; list the candidate polygons (by rank) of every boundary cell.

    A cell wholly inside one polygon gets its position, a cell outside every polygon
    ``-1``. Cells within ``eps`` of an edge, and cells covered by several polygons (so
    that a point in an overlap counts as in several), are boundary cells ``b``, labelled
    ``-2 - b`` in order of their cell id; their candidates are the polygons with an edge
    in the cell or covering its centre.
    """
    g = grid
    ncell = g.nx * g.ny
    npoly = len(rank)
    bcell, bpoly = mark_cells(owner, edges, g.x0, g.y0, g.cell_size, g.nx, g.ny, g.eps)
    is_boundary = np.zeros(ncell, dtype=bool)
    is_boundary[bcell] = True
    cpair_cell, cpair_poly = scanline_cover(owner, edges, g.x0, g.y0, g.cell_size, g.nx, g.ny)
    cover_count = np.bincount(cpair_cell, minlength=ncell)
    special = is_boundary | (cover_count > 1)
    labels = np.full(ncell, -1, dtype=np.int32)
    single = (cover_count == 1) & ~special
    sel = single[cpair_cell]
    labels[cpair_cell[sel]] = cpair_poly[sel]
    sel = special[cpair_cell]
    cell_all = np.concatenate([bcell, cpair_cell[sel]])
    poly_all = np.concatenate([bpoly, cpair_poly[sel]])
    key = np.unique(cell_all * npoly + rank[poly_all])
    inv_rank = np.empty(npoly, dtype=np.int64)
    inv_rank[rank] = np.arange(npoly)
    c_cell = key // npoly
    c_poly = inv_rank[key % npoly]
    bcells_sorted, first = np.unique(c_cell, return_index=True)
    labels[bcells_sorted] = -2 - np.arange(len(bcells_sorted), dtype=np.int32)
    cand_ptr = np.append(first, len(c_cell)).astype(np.int64)
    return Cells(labels=labels, cell=c_cell, poly=c_poly, cand_ptr=cand_ptr)


def row_edges(
    owner: np.ndarray, edges: np.ndarray, npoly: int, grid: Grid, cells: Cells
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges grouped by (row, polygon), and each candidate's range of edges in its cell's row.

    An edge belongs to every row its y-range comes within ``eps`` of. Returns the
    ``(m, 4)`` edges and, per candidate, the start and count of its range.
    """
    g = grid
    ay, by = edges[:, 1], edges[:, 3]
    r_lo = np.clip(np.floor((np.minimum(ay, by) - g.eps - g.y0) / g.cell_size), 0, g.ny - 1).astype(np.int64)
    r_hi = np.clip(np.floor((np.maximum(ay, by) + g.eps - g.y0) / g.cell_size), 0, g.ny - 1).astype(np.int64)
    e_idx, row = expand(r_lo, r_hi - r_lo + 1)
    rp_key = row * npoly + owner[e_idx]
    order = np.argsort(rp_key, kind="stable")
    rp_key = rp_key[order]
    grouped = np.ascontiguousarray(edges[e_idx[order]])
    uniq_key, key_start, key_count = np.unique(rp_key, return_index=True, return_counts=True)
    want = (cells.cell // g.nx) * npoly + cells.poly
    pos = np.searchsorted(uniq_key, want)
    pos_c = np.minimum(pos, len(uniq_key) - 1)
    found = uniq_key[pos_c] == want
    estart = np.where(found, key_start[pos_c], 0).astype(np.int64)
    ecount = np.where(found, key_count[pos_c], 0).astype(np.int64)
    return grouped, estart, ecount


def pad(labels: np.ndarray, grid: Grid) -> np.ndarray:
    """Cell labels with a ring of ``-1`` (outside) cells around the grid, flattened."""
    padded = np.full((grid.ny + 2, grid.nx + 2), -1, dtype=np.int32)
    padded[1:-1, 1:-1] = labels.reshape(grid.ny, grid.nx)
    return padded.ravel()


def fine_labels(
    sub: int, owner: np.ndarray, edges: np.ndarray, grid: Grid, labels: np.ndarray
) -> tuple[int, np.ndarray | None]:
    """Split every boundary cell in ``sub`` x ``sub`` sub-cells and label them.

    ``sub`` is halved until the labels fit :data:`FINE_BUDGET`. Sub-cells within
    ``eps`` of an edge keep ``-2`` (exact test); the others are labelled by an even-odd
    scanline fill at their centres, which lie at least half a sub-cell from every edge,
    so rounding cannot flip them. Sub-cells covered by several polygons keep ``-2``.

    Parameters
    ----------
    labels
        The padded cell labels (boundary cell ``b`` is ``-2 - b``).

    Returns
    -------
    sub : int
        The split used (1: none).
    fine : numpy.ndarray or None
        ``fine[b * sub**2 + k]`` labels sub-cell ``k`` of boundary cell ``b`` (``int16`` when
        every polygon position fits, else ``int32``).
    """
    padded = np.flatnonzero(labels <= -2)
    nb = len(padded)
    while sub > 1 and nb * sub * sub > FINE_BUDGET:
        sub //= 2
    if nb == 0 or sub == 1:
        return 1, None
    if not np.array_equal(-2 - labels[padded], np.arange(nb)):  # pragma: no cover - by construction
        raise RuntimeError("boundary cells out of order")
    width = grid.nx + 2
    bcell = ((padded // width) - 1) * grid.nx + (padded % width) - 1  # unpadded, in order of b
    flagged = _near_edges(edges, grid, sub, labels, nb)
    k, p = _fill_sub_cells(owner, edges, grid, sub, labels, bcell)
    cover = np.bincount(k, minlength=nb * sub * sub)
    # int16 when every polygon position fits: half the table, so fewer cache misses in the query
    fine = np.full(nb * sub * sub, -1, dtype=np.int16 if int(owner.max()) < 2**15 - 1 else np.int32)
    fine[k] = p
    fine[(cover > 1) | flagged] = -2
    return sub, fine


def _fine_index(
    labels: np.ndarray, grid: Grid, sub: int, fiy: np.ndarray, fix: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For sub-cells at (row, column): whether each is in a boundary cell, and its index into the fine labels."""
    lab = labels[(fiy // sub + 1) * (grid.nx + 2) + fix // sub + 1].astype(np.int64)
    return lab <= -2, (-2 - lab) * (sub * sub) + (fiy % sub) * sub + fix % sub


def _near_edges(edges: np.ndarray, grid: Grid, sub: int, labels: np.ndarray, nb: int) -> np.ndarray:
    """Mask of the sub-cells of boundary cells that an edge comes within ``eps`` of."""
    g = grid
    cs = g.cell_size
    nxf, nyf = g.nx * sub, g.ny * sub
    eps = _margin(cs, g.x0, g.y0, g.x0 + g.nx * cs, g.y0 + g.ny * cs)
    fcell, _ = mark_cells(None, edges, g.x0, g.y0, cs / sub, nxf, nyf, eps)
    ok, k = _fine_index(labels, grid, sub, fcell // nxf, fcell % nxf)
    flagged = np.zeros(nb * sub * sub, dtype=bool)
    flagged[k[ok]] = True
    return flagged


def _fill_sub_cells(
    owner: np.ndarray, edges: np.ndarray, grid: Grid, sub: int, labels: np.ndarray, bcell: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(fine index, polygon) pairs from a scanline at sub-cell centres, only over boundary cells."""
    g = grid
    poly, row, c_lo, c_hi = scanline_intervals(owner, edges, g.x0, g.y0, g.cell_size / sub, g.nx * sub, g.ny * sub)
    r = row // sub
    lo = np.searchsorted(bcell, r * g.nx + c_lo // sub, side="left")
    hi = np.searchsorted(bcell, r * g.nx + c_hi // sub, side="right")
    iv, j = expand(lo, np.maximum(hi - lo, 0))
    col0 = (bcell[j] % g.nx) * sub
    iv2, off = expand(np.zeros(len(j), dtype=np.int64), np.full(len(j), sub, dtype=np.int64))
    fcol = col0[iv2] + off
    iv = iv[iv2]
    keep = (fcol >= c_lo[iv]) & (fcol <= c_hi[iv])
    ok, k = _fine_index(labels, grid, sub, row[iv[keep]], fcol[keep])
    return k[ok], poly[iv[keep]][ok]
