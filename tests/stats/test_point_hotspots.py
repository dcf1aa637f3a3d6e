"""Point hot spots: hexagon binning against a spatial join, ISA, Gi* with FDR, bad input."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import CRSError, GeometryError, ValueDomainError
from geo.layers.grid import hex_counts, hexagon_grid
from geo.stats.point_hotspots import _first_peak, incremental_spatial_autocorrelation, optimized_hotspots
from tests.helpers.data import SHARED

SQUARE = shapely.box(0, 0, 10_000, 8_000)


@pytest.fixture(scope="module")
def square_grid():
    return hexagon_grid(gpd.GeoSeries([SQUARE], crs="EPSG:2264"), cell_size=500.0)


def test_grid_tiles_the_boundary(square_grid):
    cells = square_grid.cells
    # clipped cells cover the boundary exactly, without overlap
    assert cells.area.sum() == pytest.approx(SQUARE.area, rel=1e-9)
    assert shapely.union_all(cells.geometry.values).area == pytest.approx(SQUARE.area, rel=1e-9)
    interior = cells[~cells["edge"]]
    # a regular hexagon with flat-to-flat width w has area (sqrt(3) / 2) w^2
    np.testing.assert_allclose(interior.area, np.sqrt(3) / 2 * 500.0**2, rtol=1e-9)
    # centres of adjacent cells are one spacing apart
    xy = cells[["x", "y"]].to_numpy()
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    assert d.min() == pytest.approx(500.0)


def test_binning_matches_a_spatial_join(square_grid):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1_000, 11_000, 50_000)
    y = rng.uniform(-1_000, 9_000, 50_000)
    counts, outside = hex_counts(x, y, square_grid)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs="EPSG:2264")
    joined = gpd.sjoin(pts, square_grid.cells[["cell_id", "geometry"]], predicate="intersects", how="inner")
    joined = joined[~joined.index.duplicated()]  # a point on a shared edge counts once
    expected = np.bincount(joined["cell_id"], minlength=len(square_grid.cells))
    assert np.abs(counts - expected).sum() <= 2  # points exactly on an edge may go either way
    assert counts.sum() + outside == 50_000
    assert outside == 50_000 - len(joined)


def test_binning_on_the_county_with_missing_coordinates(npa_layer):
    npa = npa_layer
    grid = hexagon_grid(npa, cell_size=3_000.0)
    minx, miny, maxx, maxy = grid.boundary.bounds
    rng = np.random.default_rng(1)
    x = rng.uniform(minx, maxx, 200_000)
    y = rng.uniform(miny, maxy, 200_000)
    x[:10] = np.nan
    counts, outside = hex_counts(x, y, grid)
    inside = shapely.intersects_xy(grid.boundary, x[10:], y[10:])
    assert counts.sum() == inside.sum()
    assert outside == 10 + (~inside).sum()


def test_first_peak_rule():
    assert _first_peak(np.array([3.0, 5.0, 4.0, 6.0])) == 1
    assert _first_peak(np.array([3.0, 4.0, 5.0, 6.0])) is None  # monotone: fallback
    assert _first_peak(np.array([0.5, 1.0, 0.7, 0.2])) is None  # peak not significant


def test_isa_matches_esda_moran_at_each_band(square_grid):
    esda = pytest.importorskip("esda")
    from libpysal.graph import Graph

    rng = np.random.default_rng(2)
    xy = square_grid.cells[["x", "y"]].to_numpy()
    vals = rng.poisson(3, size=len(xy)) + (xy[:, 0] < 3000) * 4
    bands = np.array([500.0, 1000.0, 1500.0]) * (1 + 1e-9)
    isa = incremental_spatial_autocorrelation(xy, vals, distances=bands)
    for _, row in isa.iterrows():
        g = Graph.build_distance_band(xy, row["distance"]).transform("r")
        m = esda.Moran(vals.astype(float), g, permutations=0)
        assert row["moran_i"] == pytest.approx(m.I, rel=1e-9)
        assert row["z"] == pytest.approx(m.z_rand, rel=1e-9)


def test_optimized_hotspots_finds_planted_clusters():
    rng = np.random.default_rng(3)
    n_bg = 20_000
    x = rng.uniform(0, 10_000, n_bg)
    y = rng.uniform(0, 8_000, n_bg)
    # a dense cluster around (2500, 2500) and an empty zone around (8000, 6000)
    cx = rng.normal(2_500, 600, 4_000)
    cy = rng.normal(2_500, 600, 4_000)
    x = np.r_[x, cx]
    y = np.r_[y, cy]
    keep = ~(np.hypot(x - 8_000, y - 6_000) < 1_500)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x[keep], y[keep]), crs="EPSG:2264")
    res = optimized_hotspots(pts, boundary=gpd.GeoSeries([SQUARE], crs="EPSG:2264"), cell_size=500.0)
    f = res.frame
    at = lambda px, py: f.geometry.contains(shapely.Point(px, py)).to_numpy().nonzero()[0][0]  # noqa: E731
    assert f.loc[at(2_500, 2_500), "gi_bin"] == 3
    assert f.loc[at(8_000, 6_000), "gi_bin"] == -3
    assert res.gi.correction == "fdr"
    assert res.distance_rule in ("first peak",) or res.distance_rule.startswith("fallback")
    assert f["count"].sum() == keep.sum() - res.n_outside
    assert len(res.isa) == 10


def test_optimized_hotspots_on_the_incident_sample(npa_layer):
    df = pd.read_csv(SHARED / "points" / "CMPD_Incidents_sample5000.csv", usecols=["X_COORD_PUBLIC", "Y_COORD_PUBLIC"])
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(df["X_COORD_PUBLIC"], df["Y_COORD_PUBLIC"]), crs="EPSG:2264")
    res = optimized_hotspots(pts, boundary=npa_layer)
    assert res.n_points == 5000
    assert res.frame["count"].sum() == 5000 - res.n_outside
    assert res.n_outside < 10
    assert (res.frame["gi_bin"] == 3).sum() > 0
    assert res.frame.crs.to_epsg() == 2264


def test_coordinate_arrays_give_the_same_result_as_geometries():
    rng = np.random.default_rng(4)
    x = np.r_[rng.uniform(0, 10_000, 3_000), rng.normal(7_000, 500, 1_000)]
    y = np.r_[rng.uniform(0, 8_000, 3_000), rng.normal(3_000, 500, 1_000)]
    box = gpd.GeoSeries([SQUARE], crs="EPSG:2264")
    a = optimized_hotspots((x, y), crs="EPSG:2264", boundary=box, cell_size=800.0)
    b = optimized_hotspots(gpd.GeoSeries(gpd.points_from_xy(x, y), crs="EPSG:2264"), boundary=box, cell_size=800.0)
    np.testing.assert_array_equal(a.frame["count"], b.frame["count"])
    np.testing.assert_allclose(a.frame["gi_z"], b.frame["gi_z"])
    assert a.distance == b.distance
    with pytest.raises(CRSError, match="crs="):
        optimized_hotspots((x, y), boundary=box)


def test_point_hotspots_bad_input():
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([1, 2], [1, 2]), crs="EPSG:4326")
    with pytest.raises(CRSError, match="geographic"):
        optimized_hotspots(pts, boundary=gpd.GeoSeries([SQUARE], crs="EPSG:2264"))
    with pytest.raises(CRSError, match="no CRS"):
        optimized_hotspots(pts.set_crs(None, allow_override=True), boundary=gpd.GeoSeries([SQUARE], crs="EPSG:2264"))
    poly = gpd.GeoDataFrame(geometry=[SQUARE], crs="EPSG:2264")
    with pytest.raises(GeometryError, match="point geometries"):
        optimized_hotspots(poly, boundary=poly)
    with pytest.raises(ValueDomainError, match="cell_size"):
        hexagon_grid(poly, cell_size=0)
    with pytest.raises(ValueDomainError, match="larger cell"):
        hexagon_grid(poly, cell_size=1.0)
