"""Cached record frames: incident points joined to NPAs and divisions, the cache round trip."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from geo.layers import build, records


@pytest.fixture(scope="module")
def points(settings):
    return records.incident_points_with_report(settings)


def test_incident_points_get_npa_and_division(points, settings):
    pts, report = points
    assert len(pts) == 11_400 and {"npa", "division"} <= set(pts.columns)
    # independent join with geopandas (within); the builder breaks boundary ties by the smallest id
    for polys, col in ((build.npa(settings), "npa"), (build.divisions(settings), "division")):
        joined = gpd.sjoin(pts[["row", "geometry"]], polys[[col, "geometry"]], predicate="within", how="left")
        first = joined.sort_values(["row", col]).drop_duplicates("row").set_index("row")[col]
        mine = pts.set_index("row")[col]
        both = first.notna() & mine.notna()
        if col == "npa":
            assert (first[both].astype("int64") == mine[both].astype("int64")).all()
        else:
            assert (first[both] == mine[both]).all()
        assert mine.notna().sum() >= first.notna().sum()
    outside_div = pts.loc[pts["division"].isna(), "row"].tolist()
    issue = next(i for i in report.issues if i.column == "division" and "outside every polygon" in i.reason)
    assert issue.rows == outside_div and issue.action == "flagged"
    assert report.rows_kept == 11_400


def test_cache_round_trip_keeps_frames_and_reports(points, settings):
    again, report = records.incident_points_with_report(settings)
    pd.testing.assert_frame_equal(
        pd.DataFrame(again.drop(columns="geometry")), pd.DataFrame(points[0].drop(columns="geometry"))
    )
    assert report.to_dict() == points[1].to_dict()
    t1 = records.incident_timeline(settings)
    t2, rep = records.incident_timeline_with_report(settings)
    pd.testing.assert_frame_equal(t1, t2)
    assert t2["count"].sum() == 697_504 and rep.rows_read == 6_384


@pytest.mark.parametrize(
    ("fn", "rows"),
    [
        (records.clearance, 83_037),
        (records.diversion, 2_555),
        (records.employees, 2_403),
        (records.qol_catalogue, 83),
    ],
)
def test_record_frames(fn, rows, settings):
    assert len(fn(settings)) == rows


def test_qol_metrics_drop_ids_outside_the_geography(settings):
    df, report = records.qol_metrics_with_report(settings)
    assert set(df["npa"]) <= set(build.npa(settings)["npa"])
    assert any("384" in i.reason and i.action == "set_aside" for i in report.issues)
    assert report.rows_read == report.rows_kept + report.rows_set_aside
