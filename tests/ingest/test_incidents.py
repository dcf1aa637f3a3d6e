"""The 2017-2026 incident point sample and division timeline: counts against a plain read, bad input reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from geo.errors import SchemaError
from geo.ingest.incidents import (
    INCIDENT_CATEGORIES,
    SAMPLE_NOTE,
    TIMELINE_NOTE,
    load_incident_points,
    load_incident_timeline,
)
from geo.ingest.sources import resolve
from geo.vocab import DIVISIONS


@pytest.fixture(scope="module")
def points(settings):
    return load_incident_points(settings=settings)


@pytest.fixture(scope="module")
def timeline(settings):
    return load_incident_timeline(settings=settings)


def test_points_match_a_plain_read(points, settings):
    gdf, report = points
    raw = pd.read_csv(resolve("incidents_points", settings.data_dir))
    assert len(gdf) == len(raw) == 11_400
    assert report.rows_read == report.rows_kept + report.rows_set_aside == 11_400
    assert gdf.crs.to_epsg() == 2264
    assert gdf["category"].value_counts().to_dict() == raw["category"].value_counts().to_dict()
    assert gdf["category"].value_counts()["property"] == 6_874
    assert set(gdf["category"].cat.categories) == set(INCIDENT_CATEGORIES)
    assert (gdf["month"].dt.day == 1).all() and gdf["month"].min() == pd.Timestamp("2017-01-01")
    assert (gdf["year"] == gdf["month"].dt.year).all()
    assert gdf.groupby("month").size().max() <= 100
    assert SAMPLE_NOTE in report.notes and "1-in-61" in SAMPLE_NOTE


def test_points_are_projected_correctly(points, settings):
    gdf, _ = points
    raw = pd.read_csv(resolve("incidents_points", settings.data_dir))
    x, y = Transformer.from_crs(4326, 2264, always_xy=True).transform(raw["lon"].to_numpy(), raw["lat"].to_numpy())
    np.testing.assert_allclose(gdf.geometry.x.to_numpy(), x, rtol=0, atol=0.01)
    np.testing.assert_allclose(gdf.geometry.y.to_numpy(), y, rtol=0, atol=0.01)


def test_point_outside_county_is_flagged_not_dropped(points):
    gdf, report = points
    outside = gdf.loc[~gdf["in_county"], "row"].tolist()
    assert outside  # the sample has a point beyond Mecklenburg
    issue = next(i for i in report.issues if "outside Mecklenburg" in i.reason)
    assert issue.action == "flagged" and issue.rows == outside


def test_bad_points_are_set_aside_with_reasons(tmp_path, settings):
    p = tmp_path / "points.csv"
    p.write_text(
        "month,lon,lat,category\n"
        "2020-01,-80.84,35.22,property\n"
        "2020-01,,35.22,persons\n"  # no longitude
        "2020-13,-80.84,35.22,persons\n"  # no such month
        "2020-02,-80.84,35.22,Weather\n"  # unknown category
        "2020-02,-80.84,35.22, Society\n"  # repaired
        "2020-02,-280.84,35.22,other\n"  # impossible longitude
    )
    gdf, report = load_incident_points(p, settings=settings)
    assert gdf["row"].tolist() == [1, 5]
    assert gdf["category"].tolist() == ["property", "society"]
    assert report.rows_read == 6 and report.rows_set_aside == 4 and report.rows_kept == 2
    by_reason = {i.reason.split(";")[0]: i.rows for i in report.issues}
    assert by_reason["month is not YYYY-MM"] == [3]
    assert by_reason["no usable coordinates"] == [2]
    assert by_reason["coordinates outside longitude/latitude ranges"] == [6]
    assert by_reason["unknown category 'Weather'"] == [4]
    assert report.rows_repaired == 1


def test_missing_column_names_file_and_column(tmp_path, settings):
    p = tmp_path / "points.csv"
    p.write_text("month,lon,latitude,category\n2020-01,-80.8,35.2,property\n")
    with pytest.raises(SchemaError, match=r"points\.csv.*missing column\(s\) lat\b"):
        load_incident_points(p, settings=settings)


def test_timeline_matches_a_plain_read(timeline, settings):
    df, report = timeline
    raw = pd.read_csv(resolve("incidents_timeline", settings.data_dir))
    assert len(df) == len(raw) == 6_384 == 14 * 114 * 4
    assert df["count"].sum() == raw["count"].sum() == 697_504
    assert report.rows_read == report.rows_kept == 6_384
    assert set(df["division"]) == set(DIVISIONS.values())
    assert (df["division"] == df["division_raw"] + " Division").all()
    by_div = df.groupby("division_raw")["count"].sum()
    pd.testing.assert_series_equal(by_div, raw.groupby("division")["count"].sum(), check_names=False)
    assert TIMELINE_NOTE in report.notes and "895" in TIMELINE_NOTE


def test_timeline_bad_rows(tmp_path, settings):
    p = tmp_path / "timeline.csv"
    p.write_text(
        "division,month,category,count\n"
        "Central,2020-01,persons,5\n"
        "Gotham,2020-01,persons,3\n"  # no such division: kept, flagged
        "Central,2020-01,property,2.5\n"  # not a whole number
        "Central,2020-01,society,-1\n"  # negative
        "Central,Jan 2020,other,4\n"  # bad month
    )
    df, report = load_incident_timeline(p, settings=settings)
    assert df["row"].tolist() == [1, 2]
    assert df["division"].isna().tolist() == [False, True]
    assert report.rows_set_aside == 3 and report.rows_flagged == 1
    gotham = next(i for i in report.issues if "Gotham" in i.reason)
    assert gotham.action == "flagged" and gotham.rows == [2]
    count_issue = next(i for i in report.issues if i.column == "count")
    assert count_issue.rows == [3, 4]
