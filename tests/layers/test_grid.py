"""Hexagon grids: contiguous cells (queen and rook see all 6 neighbours), exact areas, polygons only.

The other grid tests (tiling a square, binning against a spatial join, the county with
missing coordinates) are in ``tests/stats/test_point_hotspots.py``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.sparse.csgraph import connected_components

from geo.layers.grid import boundary_geometry, hex_counts, hexagon_grid
from geo.stats.weights import build_weights

CRS = "EPSG:2264"
RECT = shapely.box(0.0, 0.0, 20_000.0, 15_000.0)
#: the same rectangle turned 17 degrees, so that its sides cut the cells' edges anywhere
TILTED = shapely.affinity.rotate(shapely.box(1_234_567.0, 456_789.0, 1_254_567.0, 471_789.0), 17.0)
#: axial offsets of the 6 neighbours of a cell
NEIGHBOURS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1))


def _hex_area(spacing: float) -> float:
    """Area of a regular hexagon whose flat-to-flat width is ``spacing``."""
    return np.sqrt(3.0) / 2.0 * spacing**2


def _lattice_pairs(cells: gpd.GeoDataFrame) -> np.ndarray:
    """Row pairs ``(i, j)``, ``i < j``, of cells that are neighbours on the lattice and both in the grid."""
    row = {(q, r): i for i, (q, r) in enumerate(zip(cells["q"], cells["r"], strict=True))}
    pairs = [
        (i, row[(q + dq, r + dr)])
        for i, (q, r) in enumerate(zip(cells["q"], cells["r"], strict=True))
        for dq, dr in NEIGHBOURS
        if row.get((q + dq, r + dr), -1) > i
    ]
    return np.array(pairs)


def _geometric_neighbours(cells: gpd.GeoDataFrame, *, rook: bool) -> np.ndarray:
    """``(n, n)`` boolean matrix: lattice neighbours whose clipped cells meet (rook: along a line)."""
    pairs = _lattice_pairs(cells)
    geoms = cells.geometry.to_numpy()
    common = shapely.intersection(geoms[pairs[:, 0]], geoms[pairs[:, 1]])
    meet = shapely.length(common) > 0 if rook else ~shapely.is_empty(common)
    out = np.zeros((len(cells), len(cells)), dtype=bool)
    out[pairs[meet, 0], pairs[meet, 1]] = True
    return out | out.T


def _libpysal(cells: gpd.GeoDataFrame, *, rook: bool) -> np.ndarray:
    """Contiguity from libpysal's older ``weights`` API, independent of ``build_weights``."""
    from libpysal.weights import Queen, Rook

    w = (Rook if rook else Queen).from_dataframe(cells, use_index=False, silence_warnings=True)
    return w.sparse.toarray() != 0


@pytest.fixture(scope="module")
def rect_grid():
    return hexagon_grid(gpd.GeoSeries([RECT], crs=CRS), cell_size=1_000.0)


@pytest.fixture(scope="module")
def county_grid(settings):
    from geo.layers import build

    return hexagon_grid(build.npa(settings), cell_size=2_000.0)


@pytest.mark.parametrize("method", ["queen", "rook"])
def test_interior_cells_have_six_neighbours(rect_grid, method):
    cells = rect_grid.cells
    # by hand: rows r = 0..17 (centres 866 ft apart, the top one at 14,722 ft); an even row
    # has centres x = 0, 1,000, ..., 20,000 (21 cells), an odd row x = 500, ..., 19,500 (20)
    assert len(cells) == 9 * 21 + 9 * 20
    # unclipped: rows 1..16, x = 1,000..19,000 (even rows, 19) or 1,500..18,500 (odd rows, 18)
    interior = ~cells["edge"].to_numpy()
    assert interior.sum() == 8 * 19 + 8 * 18
    w = build_weights(cells, method=method)
    card = np.diff(w.base.indptr)
    assert (card[interior] == 6).all()
    assert connected_components(w.base, directed=False)[0] == 1
    assert w.warnings == ()
    # libpysal's other engine agrees, and so does the geometry, pair by pair
    mine = w.base.toarray() != 0
    np.testing.assert_array_equal(mine, _libpysal(cells, rook=method == "rook"))
    np.testing.assert_array_equal(mine, _geometric_neighbours(cells, rook=method == "rook"))


@pytest.mark.parametrize(
    "boundary", [TILTED, TILTED.difference(TILTED.centroid.buffer(1_700.0))], ids=["tilted", "hole"]
)
def test_cells_cut_across_a_shared_edge_stay_neighbours(boundary):
    # the boundary crosses shared edges at arbitrary points: both cells must get the same cut point
    cells = hexagon_grid(gpd.GeoSeries([boundary], crs=CRS), cell_size=700.0).cells
    for rook in (False, True):
        w = build_weights(cells, method="rook" if rook else "queen")
        np.testing.assert_array_equal(w.base.toarray() != 0, _geometric_neighbours(cells, rook=rook))
        assert connected_components(w.base, directed=False)[0] == 1
        assert (np.diff(w.base.indptr)[~cells["edge"].to_numpy()] == 6).all()


@pytest.mark.slow
def test_county_grid_is_one_component(county_grid):
    cells = county_grid.cells
    assert len(cells) == 4_600
    queen = build_weights(cells, method="queen")
    rook = build_weights(cells, method="rook")
    for w in (queen, rook):
        assert connected_components(w.base, directed=False)[0] == 1
        assert w.warnings == ()
    card = np.diff(queen.base.indptr)
    np.testing.assert_array_equal(card, np.diff(rook.base.indptr))
    assert (card[~cells["edge"].to_numpy()] == 6).all()
    # 6 queen neighbours <=> the 6 lattice neighbours are in the grid and touch the cell
    geometric = _geometric_neighbours(cells, rook=False)
    np.testing.assert_array_equal(queen.base.toarray() != 0, geometric)
    assert (card == 6).sum() == (geometric.sum(axis=1) == 6).sum() == 4_254
    # 5 more cells have all 6 lattice neighbours, but the county line (a river bend)
    # keeps one of them more than 100 ft away
    pairs = _lattice_pairs(cells)
    n_lattice = np.bincount(pairs.ravel(), minlength=len(cells))
    apart = (n_lattice == 6) & (card < 6)
    assert apart.sum() == 4_259 - 4_254
    assert cells["edge"].to_numpy()[apart].all()
    geoms = cells.geometry.to_numpy()
    for i in np.flatnonzero(apart):
        far = [j for j in pairs[(pairs == i).any(axis=1)].ravel() if j != i and not geometric[i, j]]
        assert min(shapely.distance(geoms[i], geoms[far])) > 100.0


def test_unclipped_cells_are_regular_and_the_cells_tile_the_boundary(rect_grid, county_grid):
    for grid, area in ((rect_grid, RECT.area), (county_grid, county_grid.boundary.area)):
        cells = grid.cells
        inner = cells[~cells["edge"]]
        np.testing.assert_allclose(inner.area, _hex_area(grid.spacing), rtol=1e-12)
        assert cells.area.sum() == pytest.approx(area, rel=1e-9)
        assert shapely.union_all(cells.geometry.to_numpy()).area == pytest.approx(area, rel=1e-9)
        assert set(cells.geom_type) <= {"Polygon", "MultiPolygon"}
    # the county's grid: 4,600 cells, 1.522e10 sq ft (546 sq mi)
    assert county_grid.boundary.area == pytest.approx(15_219_990_200.0, rel=1e-9)


def test_corners_come_from_one_lattice(rect_grid):
    # every corner of an unclipped cell is x0 + i * spacing / 2, y0 + j * radius / 2 exactly,
    # and a corner shared by three cells appears three times with the same floats
    cells = rect_grid.cells
    xy = shapely.get_coordinates(cells[~cells["edge"]].geometry.to_numpy())
    i = np.rint((xy[:, 0] - rect_grid.origin[0]) / (rect_grid.spacing / 2))
    j = np.rint((xy[:, 1] - rect_grid.origin[1]) / (rect_grid.radius / 2))
    np.testing.assert_array_equal(xy[:, 0], rect_grid.origin[0] + i * (rect_grid.spacing / 2))
    np.testing.assert_array_equal(xy[:, 1], rect_grid.origin[1] + j * (rect_grid.spacing / (2 * np.sqrt(3.0))))
    distinct_xy = len(np.unique(xy, axis=0))
    distinct_ij = len(np.unique(np.c_[i, j], axis=0))
    assert distinct_xy == distinct_ij
    # centres are the lattice points (2q + r, 3r)
    np.testing.assert_array_equal(cells["x"], rect_grid.origin[0] + (2 * cells["q"] + cells["r"]) * 500.0)


def test_each_centre_is_counted_in_its_own_cell(rect_grid):
    cells = rect_grid.cells
    inside = shapely.intersects_xy(RECT, cells["x"], cells["y"])
    counts, outside = hex_counts(cells["x"].to_numpy()[inside], cells["y"].to_numpy()[inside], rect_grid)
    np.testing.assert_array_equal(counts, inside.astype(np.int64))
    assert outside == 0


def _spiked(x0: float, y0: float) -> shapely.Polygon:
    """A 10 x 10 square with a zero-width spike on top: invalid; make_valid gives a polygon and a line."""
    return shapely.Polygon(
        [
            (x0, y0),
            (x0 + 10, y0),
            (x0 + 10, y0 + 10),
            (x0 + 5, y0 + 10),
            (x0 + 5, y0 + 15),
            (x0 + 5, y0 + 10),
            (x0, y0 + 10),
        ]
    )


@pytest.mark.parametrize("kind", ["geometry", "layer"])
def test_a_repaired_boundary_is_polygonal(kind):
    spiked = _spiked(0.0, 0.0)
    assert shapely.make_valid(spiked).geom_type == "GeometryCollection"
    boundary = spiked if kind == "geometry" else gpd.GeoSeries([spiked], crs=CRS)
    geom = boundary_geometry(boundary, None)
    assert geom.geom_type == "Polygon"
    assert geom.is_valid
    assert geom.area == pytest.approx(100.0)


def test_a_layer_with_a_spiked_polygon_unites_to_a_polygon():
    layer = gpd.GeoSeries([_spiked(0.0, 0.0), shapely.box(10.0, 0.0, 20.0, 10.0)], crs=CRS)
    geom = boundary_geometry(layer, None)
    assert geom.geom_type == "Polygon"
    assert geom.area == pytest.approx(200.0)


def test_clipped_cells_keep_only_their_polygons():
    # a boundary that touches cell (6, 4) along its left edge (a line) and covers a
    # separate piece of it: the intersection is a polygon and a line
    spacing = 1_000.0
    radius = spacing / np.sqrt(3.0)
    cy = 3 * 4 * radius / 2  # row r = 4
    parts = [
        shapely.box(0.0, 0.0, 10.0, 10.0),  # sets the origin (0, 0)
        shapely.box(7_000.0, cy - 100.0, 7_500.0, cy + 100.0),  # ends on x = 7,500, the edge of cells (5, 4) | (6, 4)
        shapely.box(7_700.0, cy + 200.0, 8_200.0, cy + 1_000.0),
    ]
    boundary = shapely.MultiPolygon(parts)
    grid = hexagon_grid(gpd.GeoSeries([boundary], crs=CRS), cell_size=spacing)
    cells = grid.cells
    assert set(cells.geom_type) <= {"Polygon", "MultiPolygon"}
    cell = cells[(cells["q"] == 6) & (cells["r"] == 4)]
    assert len(cell) == 1
    angles = np.deg2rad(30.0 + 60.0 * np.arange(6))
    hexagon = shapely.Polygon(np.c_[8_000.0 + radius * np.cos(angles), cy + radius * np.sin(angles)])
    assert shapely.intersection(hexagon, boundary).geom_type == "GeometryCollection"
    assert cell.geometry.iloc[0].geom_type == "Polygon"
    assert cells.area.sum() == pytest.approx(boundary.area, rel=1e-9)
