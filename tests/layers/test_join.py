"""Spatial joins on hand-made geometry, and the overlay checked against tobler."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import CRSError, SchemaError
from geo.layers.join import area_weighted_sum, assign_points, majority_overlap

CRS = "EPSG:2264"


@pytest.fixture
def two_squares():
    # id 2 on the left, id 1 on the right: the shared edge is x = 10
    return gpd.GeoDataFrame({"pid": [2, 1]}, geometry=[shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)], crs=CRS)


def test_boundary_points_assigned_once_to_smallest_id(two_squares):
    pts = gpd.GeoDataFrame(
        {"row": [1, 2, 3, 4, 5]},
        geometry=shapely.points([(5, 5), (15, 5), (10, 5), (10, 10), (30, 30)]),
        crs=CRS,
    )
    out, report = assign_points(pts, two_squares, id_column="pid")
    assert out["pid"].tolist()[:4] == [2, 1, 1, 1]
    assert pd.isna(out["pid"].iloc[4])
    assert len(out) == len(pts)  # never duplicated
    by_reason = {i.reason.split(";")[0]: i.rows for i in report.issues}
    assert by_reason["point on a shared boundary"] == [3, 4]
    assert by_reason["point outside every polygon (pid missing)"] == [5]
    assert "pid" not in pts.columns  # input untouched


def test_assign_refuses_existing_column_and_geographic(two_squares):
    pts = gpd.GeoDataFrame({"pid": [0]}, geometry=[shapely.Point(1, 1)], crs=CRS)
    with pytest.raises(SchemaError, match="already present"):
        assign_points(pts, two_squares, id_column="pid")
    geo = gpd.GeoDataFrame(geometry=[shapely.Point(1, 1)], crs="EPSG:4326")
    with pytest.raises(CRSError, match="geographic CRS"):
        assign_points(geo, two_squares, id_column="pid")
    other = gpd.GeoDataFrame(geometry=[shapely.Point(1, 1)], crs="EPSG:32617")
    with pytest.raises(CRSError, match="reproject"):
        assign_points(other, two_squares, id_column="pid")


def test_area_weighted_sum_by_hand(two_squares):
    # a source rectangle half in each square, and one fully outside
    src = gpd.GeoDataFrame(
        {"pop": [100.0, 40.0]}, geometry=[shapely.box(5, 0, 15, 10), shapely.box(100, 100, 110, 110)], crs=CRS
    )
    sums, outside = area_weighted_sum(src, two_squares, columns=["pop"], target_id="pid")
    assert sums.loc[2, "pop"] == pytest.approx(50.0)
    assert sums.loc[1, "pop"] == pytest.approx(50.0)
    assert outside["pop"] == pytest.approx(40.0)


def test_majority_overlap(two_squares):
    src = gpd.GeoDataFrame(geometry=[shapely.box(1, 0, 12, 10), shapely.box(50, 50, 60, 60)], crs=CRS)
    m = majority_overlap(src, two_squares, target_id="pid")
    assert m.iloc[0] == 2 and pd.isna(m.iloc[1])


def test_majority_overlap_counts_the_outside_as_a_candidate(two_squares):
    # the squares cover x = 0..20, y = 0..10; areas by hand (each source is 10 high):
    src = gpd.GeoDataFrame(
        {"name": ["sliver", "mostly in 1", "plurality", "tie", "outside"]},
        geometry=[
            shapely.box(19.9, 0, 40, 10),  # 1 in square 1, 200 outside: outside
            shapely.box(12, 0, 26, 10),  # 80 in square 1, 60 outside: square 1
            shapely.box(5, 0, 28, 10),  # 50 in 2, 100 in 1, 80 outside: square 1 (a plurality, 43 %)
            shapely.box(15, 0, 25, 10),  # 50 in square 1, 50 outside: a tie goes to the target
            shapely.box(50, 50, 60, 60),
        ],
        crs=CRS,
    )
    m = majority_overlap(src, two_squares, target_id="pid")
    assert m.index.equals(src.index)
    assert pd.isna(m.iloc[0]) and m.iloc[1] == 1 and m.iloc[2] == 1 and m.iloc[3] == 1 and pd.isna(m.iloc[4])
    labelled = majority_overlap(src, two_squares, target_id="pid", outside="outside every division")
    assert labelled.tolist() == ["outside every division", 1, 1, 1, "outside every division"]
    assert list(src.columns) == ["name", "geometry"]  # input untouched


def test_area_weighted_sum_missing_is_not_zero(two_squares):
    # NPA-like sources: a blank count straddling both squares, one wholly in square 1, one known
    src = gpd.GeoDataFrame(
        {"pop": [100.0, 40.0, 10.0], "white": [np.nan, 30.0, 4.0], "black": [20.0, np.nan, 6.0]},
        geometry=[shapely.box(5, 0, 15, 10), shapely.box(12, 0, 14, 10), shapely.box(15, 0, 25, 10)],
        crs=CRS,
    )
    sums, outside = area_weighted_sum(src, two_squares, columns=["pop", "white", "black"], target_id="pid")
    assert sums.loc[2, "pop"] == pytest.approx(50.0) and sums.loc[1, "pop"] == pytest.approx(50 + 40 + 5)
    assert np.isnan(sums.loc[2, "white"]) and np.isnan(sums.loc[1, "white"])  # not 0 + 30 + 2
    assert sums.loc[2, "black"] == pytest.approx(10.0) and np.isnan(sums.loc[1, "black"])
    # half of the third source lies outside: 5 people, 2 white, 3 black; the blank black count
    # of the second source is wholly inside, so it leaves the outside black count known
    assert outside["pop"] == pytest.approx(5.0)
    assert outside["white"] == pytest.approx(2.0) and outside["black"] == pytest.approx(3.0)


def test_npa_population_into_divisions_matches_tobler(settings, npa_layer):
    from tobler.area_weighted import area_interpolate

    from geo.layers import build

    divs = build.divisions(settings)
    cols = ["pop_2020", "black_nh_2020"]
    src = npa_layer[[*cols, "geometry"]].fillna(0)
    ours, outside = area_weighted_sum(src, divs, columns=cols, target_id="division")
    theirs = area_interpolate(src, divs, extensive_variables=cols, allocate_total=False)
    np.testing.assert_allclose(ours[cols].to_numpy(), theirs[cols].to_numpy(), rtol=1e-6)
    # everything is either in a division or outside all of them
    assert ours["pop_2020"].sum() + outside["pop_2020"] == pytest.approx(1_115_476)
    assert 0 < outside["pop_2020"] < 0.25 * 1_115_476
