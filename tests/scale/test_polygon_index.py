"""The exact point-in-polygon kernel against geopandas.sjoin / assign_points, by hand and at scale."""

from __future__ import annotations

import pickle

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from geo.errors import CRSError, GeometryError, SchemaError
from geo.layers.join import assign_points
from geo.scale.counting import MISSING_CATEGORY, aggregate, count_units, counts_frame, index_for
from geo.scale.polygon_index import PolygonIndex, assign

CRS = "EPSG:2264"


def sjoin_smallest(
    x: np.ndarray, y: np.ndarray, polygons: gpd.GeoDataFrame, id_column: str
) -> tuple[np.ndarray, np.ndarray]:
    """Independent reference: geopandas.sjoin(intersects), smallest id on ties; also the match count."""
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=polygons.crs)
    j = gpd.sjoin(pts, polygons[[id_column, "geometry"]].reset_index(drop=True), predicate="intersects", how="inner")
    j = j.reset_index(names="pt")
    matches = np.bincount(j["pt"].to_numpy(), minlength=len(x))
    first = j.sort_values(["pt", id_column], kind="stable").drop_duplicates("pt")
    out = np.full(len(x), None, dtype=object)
    out[first["pt"].to_numpy()] = first[id_column].to_numpy()
    return out, matches


def ids_of(pos: np.ndarray, index: PolygonIndex) -> np.ndarray:
    out = np.full(len(pos), None, dtype=object)
    out[pos >= 0] = index.ids[pos[pos >= 0]]
    return out


# ---------------------------------------------------------------- by hand


@pytest.fixture(params=[0.0, 1_000_000.0], ids=["near-origin(GEOS path)", "state-plane(exact path)"])
def shapes(request):
    """Four hand-made polygons with a shared edge, a hole and an overlap.

    Two squares share x = off+10 (ids 2 left, 1 right), a square has a hole (id 5), and a
    square (id 7) overlaps id 5's corner.
    """
    o = request.param
    holed = shapely.Polygon(
        [(o + 30, o), (o + 40, o), (o + 40, o + 10), (o + 30, o + 10)],
        holes=[[(o + 33, o + 3), (o + 37, o + 3), (o + 37, o + 7), (o + 33, o + 7)]],
    )
    gdf = gpd.GeoDataFrame(
        {"pid": [2, 1, 5, 7]},
        geometry=[
            shapely.box(o, o, o + 10, o + 10),
            shapely.box(o + 10, o, o + 20, o + 10),
            holed,
            shapely.box(o + 38, o + 8, o + 45, o + 15),
        ],
        crs=CRS,
    )
    return o, gdf


def test_hand_made_points_follow_the_rules(shapes):
    o, gdf = shapes
    index = PolygonIndex.build(gdf, id_column="pid", cell_size=1.5)
    assert index.exact == (o > 0)
    pts = np.array(
        [
            (5, 5),  # inside id 2 -> position 0
            (15, 5),  # inside id 1 -> position 1
            (10, 5),  # on the shared edge: ids 2 and 1 -> smallest id 1 (position 1)
            (10, 10),  # shared vertex -> id 1
            (0, 0),  # outer corner of id 2
            (35, 5),  # in the hole -> outside
            (33, 5),  # on the hole's edge -> id 5 (boundary counts)
            (39, 9),  # overlap of 5 and 7 -> 5
            (44, 14),  # only 7
            (25, 5),  # between the shapes -> outside
            (-1e6, 3e6),  # far away
            (np.nan, 5),  # missing
        ],
        dtype=float,
    )
    pts[:, 0] += o
    pts[:, 1] += o
    pos, shared = index.query(pts[:, 0], pts[:, 1], return_shared=True)
    assert pos.tolist() == [0, 1, 1, 1, 0, -1, 2, 2, 3, -1, -1, -1]
    assert shared.tolist() == [False, False, True, True, False, False, False, True, False, False, False, False]
    ref, matches = sjoin_smallest(pts[:11, 0], pts[:11, 1], gdf, "pid")
    assert ids_of(pos[:11], index).tolist() == ref.tolist()
    assert (matches > 1).tolist() == shared[:11].tolist()


def test_string_ids_use_string_order():
    gdf = gpd.GeoDataFrame(
        {"name": ["b", "a"]}, geometry=[shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)], crs=CRS
    )
    gdf = gdf.set_geometry(gdf.translate(2e6, 5e5))
    index = PolygonIndex.build(gdf, id_column="name")
    pos = index.query(np.array([2e6 + 10.0, 2e6 + 5]), np.array([5e5 + 5.0, 5e5 + 5]))
    assert index.ids[pos].tolist() == ["a", "b"]


def test_index_pickles_and_gives_the_same_answers(settings):
    from geo.layers import build

    npa = build.npa(settings)
    index = PolygonIndex.build(npa, id_column="npa")
    rng = np.random.default_rng(3)
    xmin, ymin, xmax, ymax = npa.total_bounds
    x, y = rng.uniform(xmin, xmax, 50_000), rng.uniform(ymin, ymax, 50_000)
    clone = pickle.loads(pickle.dumps(index))
    np.testing.assert_array_equal(clone.query(x, y), index.query(x, y))
    assert clone.nbytes == index.nbytes


# ---------------------------------------------------------------- real data


@pytest.mark.slow
def test_real_incidents_equal_assign_points_and_sjoin(settings):
    from geo.layers import build

    incidents = build.incidents(settings)
    for polys, col in ((build.npa(settings), "npa"), (build.divisions(settings), "division")):
        index = PolygonIndex.build(polys, id_column=col)
        pos = assign(incidents, index)
        got = ids_of(pos, index)
        assigned, _ = assign_points(incidents, polys, id_column=col)
        expected = np.array([None if pd.isna(v) else v for v in assigned[col]], dtype=object)
        assert got.tolist() == expected.tolist()
        x, y = incidents.geometry.x.to_numpy(), incidents.geometry.y.to_numpy()
        ref, _ = sjoin_smallest(x, y, polys, col)
        assert got.tolist() == ref.tolist()
        assert (pos >= 0).sum() > 4500  # the sample is mostly inside the county


def boundary_and_random_points(
    polys: gpd.GeoDataFrame, n: int, seed: int, *, max_edges: int | None = None
) -> np.ndarray:
    """Points where assignment is hard, and points where it is easy.

    Vertices (exactly on shared boundaries), edge midpoints and points along edges (on the
    segment or within rounding of it), uniform points over the county and beyond, clustered points.
    """
    from geo.scale.synthetic import clustered_points, uniform_points

    rng = np.random.default_rng(seed)
    coords = shapely.get_coordinates(polys.geometry.values)
    a, b = coords[:-1], coords[1:]
    if max_edges is not None and len(a) > max_edges:
        keep = np.sort(rng.choice(len(a), max_edges, replace=False))
        coords, a, b = a[keep], a[keep], b[keep]
    mid = (a + b) / 2
    along = a + rng.uniform(0, 1, (len(a), 1)) * (b - a)
    near = coords + rng.normal(0, 1e-7, coords.shape)
    base = np.vstack([coords, mid, along, near])
    xmin, ymin, xmax, ymax = polys.total_bounds
    k = (n - len(base)) // 3
    beyond = np.column_stack(
        [rng.uniform(xmin - 20_000, xmax + 20_000, k), rng.uniform(ymin - 20_000, ymax + 20_000, k)]
    )
    ux, uy = uniform_points(k, polys, seed=seed)
    cx, cy = clustered_points(n - len(base) - 2 * k, polys, seed=seed, spread=4000.0)
    return np.vstack([base, beyond, np.column_stack([ux, uy]), np.column_stack([cx, cy])])


@pytest.mark.slow
def test_one_million_points_with_boundaries_equal_sjoin(settings):
    from geo.layers import build

    npa = build.npa(settings)
    pts = boundary_and_random_points(npa, 1_000_000, seed=11)
    assert len(pts) == 1_000_000
    index = PolygonIndex.build(npa, id_column="npa")
    pos, shared = index.query(pts[:, 0], pts[:, 1], return_shared=True)
    ref, matches = sjoin_smallest(pts[:, 0], pts[:, 1], npa, "npa")
    got = ids_of(pos, index)
    mismatch = np.flatnonzero(got != ref)
    assert len(mismatch) == 0, f"{len(mismatch)} points differ, first {pts[mismatch[:3]].tolist()}"
    np.testing.assert_array_equal(shared, matches > 1)
    # the test exercises what it claims to: many points on shared boundaries, many outside
    assert shared.sum() > 10_000
    assert (pos < 0).sum() > 50_000
    # every vertex is in some polygon, thousands in several
    coords = shapely.get_coordinates(npa.geometry.values)
    nv = len(coords)
    assert (matches[:nv] >= 1).all() and (matches[:nv] > 1).sum() > 5000
    # float midpoints: GEOS puts about a quarter exactly on their segment and the rest just off it;
    # both kinds are in the test (and the kernel agreed on all of them above)
    segs = shapely.linestrings(np.stack([coords[:-1], coords[1:]], axis=1))
    on = shapely.intersects_xy(segs, pts[nv : 2 * nv - 1, 0], pts[nv : 2 * nv - 1, 1])
    assert on.sum() > 1000 and (~on).sum() > 1000


@pytest.mark.slow
def test_hex_and_divisions_boundaries_equal_sjoin(settings):
    from geo.layers import build
    from geo.layers.grid import hexagon_grid

    hexes = hexagon_grid(build.npa(settings), cell_size=4000.0).cells[["cell_id", "geometry"]]
    for polys, col in ((hexes, "cell_id"), (build.divisions(settings), "division")):
        # GEOS is slow on points on the divisions' long boundaries: a sample of 8,000 edges
        pts = boundary_and_random_points(polys, 60_000, seed=5, max_edges=8_000)
        index = PolygonIndex.build(polys, id_column=col)
        ref, _ = sjoin_smallest(pts[:, 0], pts[:, 1], polys, col)
        assert (ids_of(index.query(pts[:, 0], pts[:, 1]), index) == ref).all()


@hyp_settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_sites=st.integers(3, 30), offset=st.sampled_from([0.0, 1.5e6]))
def test_random_voronoi_coverages_equal_sjoin(seed, n_sites, offset):
    rng = np.random.default_rng(seed)
    sites = shapely.multipoints(rng.uniform(0, 1000, (n_sites, 2)) + offset)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(sites, extend_to=shapely.box(offset, offset, offset + 1000, offset + 1000))
    )
    cells = shapely.intersection(cells, shapely.box(offset, offset, offset + 1000, offset + 1000))
    ids = rng.permutation(len(cells))
    polys = gpd.GeoDataFrame({"cid": ids}, geometry=cells, crs=CRS)
    coords = shapely.get_coordinates(cells)
    a, b = coords[:-1], coords[1:]
    pts = np.vstack(
        [coords, (a + b) / 2, a + rng.uniform(0, 1, (len(a), 1)) * (b - a), rng.uniform(-100, 1100, (500, 2)) + offset]
    )
    index = PolygonIndex.build(
        polys, id_column="cid", cell_size=float(rng.choice([7.0, 50.0, 333.0])), subdivide=int(rng.choice([1, 4]))
    )
    pos, shared = index.query(pts[:, 0], pts[:, 1], return_shared=True)
    ref, matches = sjoin_smallest(pts[:, 0], pts[:, 1], polys, "cid")
    assert ids_of(pos, index).tolist() == ref.tolist()
    np.testing.assert_array_equal(shared, matches > 1)


# ---------------------------------------------------------------- counting


def test_aggregate_counts_every_unit_and_reports(shapes):
    o, gdf = shapes
    geoms = shapely.points(np.array([(5, 5), (6, 6), (10, 5), (35, 5), (44, 14)]) + o).tolist() + [
        None,
        shapely.Point(),
    ]
    pts = gpd.GeoDataFrame({"kind": ["a", "b", "a", "a", None, "b", "a"]}, geometry=geoms, crs=CRS)
    before = pts.copy()
    counts, report = aggregate(pts, gdf, id_column="pid")
    assert counts.to_dict("list") == {"pid": [2, 1, 5, 7], "count": [2, 1, 0, 1]}
    assert (report.points_read, report.assigned, report.outside, report.null_geometry, report.shared_boundary) == (
        7,
        4,
        1,
        2,
        1,
    )
    counts, report = aggregate(pts, gdf, id_column="pid", by="kind")
    assert counts.columns.tolist() == ["pid", "count", f"kind={MISSING_CATEGORY}", "kind=a", "kind=b"]
    assert counts["kind=a"].tolist() == [1, 1, 0, 0]
    assert counts["kind=b"].tolist() == [1, 0, 0, 0]
    assert counts[f"kind={MISSING_CATEGORY}"].tolist() == [0, 0, 0, 1]
    assert report.by_missing == 1
    pd.testing.assert_frame_equal(pts, before)  # input untouched


def test_partial_counts_add_up(settings):
    from geo.layers import build

    npa = build.npa(settings)
    index = PolygonIndex.build(npa, id_column="npa")
    pts = boundary_and_random_points(npa, 200_000, seed=2)
    cats = pd.Series(np.random.default_rng(0).choice(["x", "y", None], len(pts)))
    whole, rep = count_units(pts[:, 0], pts[:, 1], index, categories=cats)
    parts = [
        count_units(pts[i : i + 70_000, 0], pts[i : i + 70_000, 1], index, categories=cats[i : i + 70_000])
        for i in range(0, len(pts), 70_000)
    ]
    summed = pd.concat([p[0] for p in parts]).groupby(level=[0, 1]).sum()
    pd.testing.assert_frame_equal(counts_frame(summed, index, by="c"), counts_frame(whole, index, by="c"))
    assert sum(p[1].outside for p in parts) == rep.outside
    total = counts_frame(whole, index, by="c")
    assert total["count"].sum() == rep.assigned == rep.points_read - rep.outside - rep.null_geometry
    assert len(total) == len(npa)


# ---------------------------------------------------------------- bad input


def test_build_refuses_bad_polygon_layers():
    sq = shapely.box(0, 0, 1, 1)
    with pytest.raises(SchemaError, match="duplicate values"):
        PolygonIndex.build(gpd.GeoDataFrame({"k": [1, 1]}, geometry=[sq, sq], crs=CRS), id_column="k")
    with pytest.raises(SchemaError, match="'zz' is missing"):
        PolygonIndex.build(gpd.GeoDataFrame({"k": [1]}, geometry=[sq], crs=CRS), id_column="zz")
    with pytest.raises(SchemaError, match="missing values"):
        PolygonIndex.build(gpd.GeoDataFrame({"k": [1.0, None]}, geometry=[sq, sq], crs=CRS), id_column="k")
    with pytest.raises(CRSError, match="geographic CRS"):
        PolygonIndex.build(gpd.GeoDataFrame({"k": [1]}, geometry=[sq], crs="EPSG:4326"), id_column="k")
    with pytest.raises(CRSError, match="no CRS"):
        PolygonIndex.build(gpd.GeoDataFrame({"k": [1]}, geometry=[sq]), id_column="k")
    with pytest.raises(GeometryError, match="only Polygon and MultiPolygon"):
        PolygonIndex.build(gpd.GeoDataFrame({"k": [1, 2]}, geometry=[sq, shapely.Point(0, 0)], crs=CRS), id_column="k")
    one = gpd.GeoDataFrame({"k": [1]}, geometry=[sq], crs=CRS)
    with pytest.raises(GeometryError, match="no non-empty polygons"):
        PolygonIndex.build(gpd.GeoDataFrame({"k": [1]}, geometry=[shapely.Polygon()], crs=CRS), id_column="k")
    with pytest.raises(ValueError, match="subdivide must be 1, 2, 4, 8 or 16, not 3"):
        PolygonIndex.build(one, id_column="k", subdivide=3)
    with pytest.raises(ValueError, match="cell_size must be a positive number, not -1.0"):
        PolygonIndex.build(one, id_column="k", cell_size=-1.0)
    with pytest.raises(ValueError, match="choose a larger cell_size"):
        PolygonIndex.build(one, id_column="k", cell_size=1e-5)


def test_index_must_match_the_id_column(shapes):
    _, gdf = shapes
    index = PolygonIndex.build(gdf, id_column="pid")
    pts = gpd.GeoDataFrame(geometry=[shapely.Point(1, 1)], crs=CRS)
    assert index_for(None, index, id_column="pid") is index
    with pytest.raises(SchemaError, match="The index was built on 'pid', not 'other'"):
        aggregate(pts, index=index, id_column="other")
    with pytest.raises(TypeError, match="Pass polygons or a prebuilt index"):
        aggregate(pts, id_column="pid")


def test_points_must_be_points_in_the_same_crs(shapes):
    _, gdf = shapes
    index = PolygonIndex.build(gdf, id_column="pid")
    lines = gpd.GeoDataFrame(geometry=[shapely.Point(1, 1), shapely.LineString([(0, 0), (1, 1)])], crs=CRS)
    with pytest.raises(GeometryError, match=r"1 geometries are not points \(LineString; rows 2\)"):
        assign(lines, index)
    with pytest.raises(CRSError, match="reproject the points"):
        assign(gpd.GeoDataFrame(geometry=[shapely.Point(1, 1)], crs="EPSG:4326"), index)
    with pytest.raises(SchemaError, match="no such column"):
        aggregate(gpd.GeoDataFrame(geometry=[shapely.Point(1, 1)], crs=CRS), index=index, id_column="pid", by="nope")
