"""Reference layers and NPA groups: the real files accounted for, and every kind of bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from geo.errors import DataFileError, SchemaError
from geo.ingest import reference, sources
from geo.ingest.reference import (
    LANDMARK_KINDS,
    LAYER_COLUMNS,
    load_council_districts,
    load_greenways,
    load_historic_districts,
    load_landmarks,
    load_npa_groups,
    load_railroads,
    load_reference_layers,
    load_state_roads,
    load_zipcodes,
    title_case,
)

NEW_KEYS = [*sources.REFERENCE_FILES, "ref_state_roads", "npa_groups"]


def _raw_roads(settings) -> list[dict[str, str]]:
    path = sources.resolve("ref_state_roads", settings.data_dir)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _raw_features(settings, key: str) -> list[dict]:
    return json.loads(sources.resolve(key, settings.data_dir).read_text())["features"]


# ----------------------------------------------------------------------- data sets


def test_new_data_sets_are_registered_optional_and_fetched(settings):
    paths = {sources.DATASETS[k].path for k in NEW_KEYS}
    assert len(NEW_KEYS) == 14 and len(paths) == 14
    assert sum(p.startswith("reference/meck_") and p.endswith(".geojson") for p in paths) == 12
    for key in NEW_KEYS:
        ds = sources.DATASETS[key]
        assert not ds.required
        assert ds.portal_url is None or ds.portal_url.startswith("https://raw.githubusercontent.com/")
        assert sources.resolve(key, settings.data_dir) == settings.data_dir / ds.path


# ----------------------------------------------------------------------- real layers


def test_real_polygon_layers(settings):
    zips, zrep = load_zipcodes(settings=settings)
    assert len(zips) == zrep.rows_read == 34 and zrep.rows_set_aside == 0
    assert zips.crs.to_epsg() == 2264
    raw = {f["properties"]["zipcode"] for f in _raw_features(settings, "ref_zipcodes")}
    assert set(zips["zipcode"]) == raw and "28205" in raw
    assert zips.loc[zips["zipcode"] == "28205", "post_office_city"].item() == "Charlotte"
    assert zips["zipcode"].is_monotonic_increasing

    hist, _ = load_historic_districts(settings=settings)
    assert sorted(hist["name"]) == sorted(
        ["Wesley Heights", "4th Ward", "Wilmore", "Plaza-Midwood", "Hermitage Court", "Dilworth"]
    )
    council, crep = load_council_districts(settings=settings)
    assert council["district"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert council["name"].iloc[0] == "Council district 1"
    assert council.geometry.is_valid.all()
    # two self-intersecting districts in the file, repaired and named by their row
    invalid_rows = [i + 1 for i, f in enumerate(_raw_features(settings, "ref_council_districts"))
                    if not shapely.geometry.shape(f["geometry"]).is_valid]  # fmt: skip
    repaired = [i for i in crep.issues if i.action == "repaired" and i.column == "geometry"]
    assert len(repaired) == 1 and repaired[0].rows == invalid_rows == [3, 7]


def test_real_landmarks_every_file_and_kind(settings):
    marks, report = load_landmarks(settings=settings)
    expected = {"school": 46, "park": 190, "library": 24, "police station": 15, "hospital": 7, "college": 26}
    expected["town hall"] = 7
    assert marks["kind"].value_counts().to_dict() == expected
    assert report.rows_read == len(marks) == 315 and report.rows_set_aside == 0
    assert (marks.geom_type == "Point").all() and marks.crs.to_epsg() == 2264
    # parks and police stations are published in capitals: title case, reported per file
    assert "Abbott Neighborhood Park" in set(marks["name"]) and "South Division" in set(marks["name"])
    caps = {i.file: i.count for i in report.issues if i.action == "repaired"}
    assert caps == {"meck_parks.geojson": 190, "meck_police_stations.geojson": 15}
    assert "UNCC" in set(marks["name"])  # an acronym is not touched
    assert set(marks["name"]) >= {"Albemarle Road Elementary", "Plaza Midwood Branch", "Presbyterian Hospital"}


def test_real_landmark_coordinates_are_the_files(settings):
    marks, _ = load_landmarks(kinds=("ref_schools",), settings=settings)
    raw = _raw_features(settings, "ref_schools")
    lon, lat = raw[0]["geometry"]["coordinates"]
    x, y = pyproj.Transformer.from_crs(4326, 2264, always_xy=True).transform(lon, lat)
    first = marks.loc[marks["row"] == 1].geometry.item()
    assert first.x == pytest.approx(x, abs=0.01) and first.y == pytest.approx(y, abs=0.01)
    assert marks.loc[marks["row"] == 1, "name"].item() == raw[0]["properties"]["name"]


def test_real_lines(settings):
    rail, rrep = load_railroads(settings=settings)
    green, grep = load_greenways(settings=settings)
    assert len(rail) == rrep.rows_read == 364 and len(green) == grep.rows_read == 307
    assert set(rail.geom_type) == {"LineString"}
    assert green.geom_type.value_counts().to_dict() == {"LineString": 296, "MultiLineString": 11}
    assert (green["name"] == "Little Sugar Creek Greenway").sum() == 47


def test_real_roads_every_row_accounted(settings):
    roads, report = load_state_roads(settings=settings)
    raw = _raw_roads(settings)
    assert report.rows_read == len(raw) == 3_403
    assert len(roads) == 3_403 and report.rows_set_aside == 0
    assert roads["row"].tolist() == list(range(1, 3_404))
    assert roads.crs.to_epsg() == 2264
    assert roads.geom_type.value_counts().to_dict() == {"LineString": 3_398, "MultiLineString": 5}
    # every segment is as long as the file says (ShapeSTLength, feet), the split MultiLineStrings too
    published = np.array([float(r["ShapeSTLength"]) for r in raw])
    ratio = roads.length.to_numpy() / published
    assert np.abs(ratio - 1).max() < 0.06
    multi = roads.geom_type == "MultiLineString"
    assert np.abs(ratio[multi] - 1).max() < 0.02
    assert [r for r, g in zip(roads["row"], multi, strict=True) if g] == [
        i + 1 for i, r in enumerate(raw) if r["geometry"] == "MultiLineString"
    ]
    # the first vertex is the first lon,lat pair of the file
    lon, lat = (float(v) for v in raw[0]["coordinates"].split(",")[:2])
    x, y = pyproj.Transformer.from_crs(4326, 2264, always_xy=True).transform(lon, lat)
    assert shapely.get_coordinates(roads.geometry.iloc[0])[0] == pytest.approx([x, y], abs=0.01)


def test_real_road_names(settings):
    roads, report = load_state_roads(settings=settings)
    raw = _raw_roads(settings)
    blank = [i + 1 for i, r in enumerate(raw) if not r["WHOLESTNAME"].strip()]
    rebuilt = [i for i in report.issues if "rebuilt" in i.reason]
    assert len(blank) == 31 and rebuilt[0].rows == blank
    assert (roads["name"] != "").all()
    assert roads.loc[roads["row"] == blank[0], "name"].item() == "Providence Rd"
    assert {"Monroe Rd", "S Tryon St", "Providence Rd", "I-485 Hy"} <= set(roads["name"])
    assert roads.loc[roads["name"] == "N I-77 Hy", "road_class"].eq("interstate").all()
    assert roads.loc[roads["name"] == "Monroe Rd", "road_class"].eq("road").all()
    assert set(roads["road_class"]) == {"interstate", "highway", "ramp", "road"}


# ----------------------------------------------------------------------- bad road rows


ROAD_HEADER = ["geometry", "coordinates", "OBJECTID", "WHOLESTNAME", "PREFIXDIRECTION", "STREETNAME", "STREETTYPE",
               "SUFFIX", "ShapeSTLength"]  # fmt: skip


def _write_roads(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    p = tmp_path / "roads.csv"
    with open(p, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, ROAD_HEADER)
        w.writeheader()
        for i, r in enumerate(rows, start=1):
            w.writerow({"geometry": "LineString", "OBJECTID": str(i), "WHOLESTNAME": "Test Rd", **r})
    return p


def test_bad_road_rows_set_aside_with_reasons(tmp_path, settings):
    good = "-80.84,35.22,-80.83,35.23"
    p = _write_roads(
        tmp_path,
        [
            {"coordinates": good},
            {"coordinates": ""},
            {"coordinates": "-80.84,35.22,abc,35.23"},
            {"coordinates": "-80.84,35.22,-80.83"},
            {"coordinates": "-80.84,35.22,-80.84,35.22"},
            {"coordinates": "-380.84,35.22,-80.83,35.23"},
            {"coordinates": good, "geometry": "Point"},
            {"coordinates": good, "WHOLESTNAME": "", "PREFIXDIRECTION": "S", "STREETNAME": "TRYON", "STREETTYPE": "ST"},
            {"coordinates": good, "WHOLESTNAME": "E 3RD ST"},
            {"coordinates": "nan,35.22,-80.83,35.23"},
        ],
    )
    roads, report = load_state_roads(p, settings=settings)
    reasons = {i.reason: i.rows for i in report.issues if i.action == "set_aside"}
    assert reasons == {
        "type 'Point', expected LineString or MultiLineString": [7],
        "no coordinates": [2],
        "coordinates are not all numbers": [3],
        "an odd number of values (3), not longitude,latitude pairs": [4],
        "fewer than 2 distinct points": [5],
        "coordinates outside longitude/latitude ranges": [6],
        "coordinates are not all finite numbers": [10],
    }
    assert report.rows_read == 10 and report.rows_kept == len(roads) == 3
    assert roads["row"].tolist() == [1, 8, 9]
    assert roads["name"].tolist() == ["Test Rd", "S Tryon St", "E 3rd St"]
    assert roads["objectid"].tolist() == [1, 8, 9]


def _flat(parts: list[list[tuple[float, float]]]) -> str:
    return ",".join(f"{x},{y}" for part in parts for x, y in part)


def test_multilinestring_parts_found_again(tmp_path, settings):
    a = [(-80.85, 35.20), (-80.849, 35.20), (-80.848, 35.20)]
    b = [(-80.80, 35.25), (-80.799, 35.25)]
    truth = gpd.GeoSeries([shapely.MultiLineString([a, b])], crs=4326).to_crs(2264)
    length = float(truth.length.iloc[0])
    p = _write_roads(
        tmp_path,
        [
            {"geometry": "MultiLineString", "coordinates": _flat([a, b]), "ShapeSTLength": f"{length}"},
            {"geometry": "MultiLineString", "coordinates": _flat([a, b]), "ShapeSTLength": ""},
            {"geometry": "MultiLineString", "coordinates": _flat([a]), "ShapeSTLength": f"{length}"},
        ],
    )
    roads, report = load_state_roads(p, settings=settings)
    first = roads.geometry.iloc[0]
    assert first.geom_type == "MultiLineString" and len(first.geoms) == 2
    assert first.equals(truth.iloc[0]) or first.length == pytest.approx(length, rel=1e-9)
    assert first.length == pytest.approx(length, rel=1e-6)
    # without ShapeSTLength the parts cannot be told apart: one line, flagged
    assert roads.geometry.iloc[1].geom_type == "LineString"
    flagged = [i for i in report.issues if i.action == "flagged"]
    assert flagged[0].rows == [2]
    # no longer than published: one part, kept as it is and not reported
    repaired = [i for i in report.issues if i.column == "coordinates" and i.action == "repaired"]
    assert repaired[0].rows == [1]
    assert len(shapely.get_parts(roads.geometry.iloc[2])) == 1


@hsettings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789.,-eE naif+ ", max_size=60))
def test_coordinate_parser_never_raises(text):
    out = reference._parse_coordinates(text)
    assert isinstance(out, str) or (out.ndim == 2 and out.shape[1] == 2 and len(out) >= 2)


@hsettings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-81.2, -80.5, allow_nan=False), st.floats(34.9, 35.6, allow_nan=False)),
        min_size=2,
        max_size=30,
        unique=True,
    )
)
def test_coordinate_parser_reads_what_was_written(points):
    out = reference._parse_coordinates(",".join(f"{x!r},{y!r}" for x, y in points))
    assert not isinstance(out, str)
    np.testing.assert_array_equal(out, np.array(points))


# ----------------------------------------------------------------------- bad GeoJSON features


def _write_geojson(tmp_path: Path, features: list[dict], name: str = "layer.geojson") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return p


def _feature(props: dict, geom: dict | None) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geom}


def test_point_layer_bad_features(tmp_path, settings):
    pt = {"type": "Point", "coordinates": [-80.84, 35.22]}
    line = {"type": "LineString", "coordinates": [[-80.84, 35.22], [-80.83, 35.23]]}
    p = _write_geojson(
        tmp_path,
        [
            _feature({"name": "ELM  STREET   PARK", "type": "PARK"}, pt),
            _feature({"name": "No geometry"}, None),
            _feature({"name": "A line"}, line),
            _feature({"name": "  "}, pt),
        ],
    )
    marks, report = load_landmarks({"ref_parks": p}, kinds=("ref_parks",), settings=settings)
    assert marks["name"].tolist() == ["Elm Street Park", "Unnamed park"]
    assert marks["row"].tolist() == [1, 4] and marks["category"].tolist() == ["PARK", ""]
    by = {(i.action, i.reason): i.rows for i in report.issues}
    assert by[("set_aside", "no geometry")] == [2]
    assert by[("set_aside", "a LineString, expected Point")] == [3]
    assert by[("flagged", "no name (kept as 'Unnamed park')")] == [4]
    assert by[("repaired", "name in capitals, written in title case for display")] == [1]
    assert all(i.file == "layer.geojson" for i in report.issues)
    assert report.rows_read == 4 and report.rows_kept == 2


def test_council_district_not_a_number_is_set_aside(tmp_path, settings):
    sq = {"type": "Polygon", "coordinates": [[[-80.9, 35.2], [-80.8, 35.2], [-80.8, 35.3], [-80.9, 35.2]]]}
    p = _write_geojson(tmp_path, [_feature({"district": "2"}, sq), _feature({"district": "x"}, sq)])
    council, report = load_council_districts(p, settings=settings)
    assert council["district"].tolist() == [2]
    assert report.issues[0].rows == [2] and report.issues[0].action == "set_aside"


def test_missing_column_names_file_and_column(tmp_path, settings):
    p = _write_geojson(tmp_path, [_feature({"zip": "28205"}, {"type": "Point", "coordinates": [-80.8, 35.2]})])
    with pytest.raises(SchemaError, match=r"layer\.geojson.*zipcode"):
        load_zipcodes(p, settings=settings)


def test_title_case():
    assert title_case("E 3RD ST") == "E 3rd St"
    assert title_case("MATTHEWS-MINT HILL RD") == "Matthews-Mint Hill Rd"
    assert title_case("I-485 NB RAMP") == "I-485 NB Ramp"
    assert title_case("KING'S COLLEGE") == "King's College"


# ----------------------------------------------------------------------- NPA groups


def test_real_npa_groups(settings):
    groups, report = load_npa_groups(settings=settings)
    raw = json.loads(sources.resolve("npa_groups", settings.data_dir).read_text())
    assert report.rows_read == sum(len(v) for g in raw.values() for v in g.values()) == len(groups) == 1_346
    assert list(groups.columns) == ["npa", "group_type", "group"] and groups["npa"].dtype.kind == "i"
    towns = groups[groups["group_type"] == "jurisdiction"].groupby("group").size().to_dict()
    assert towns == {"Charlotte": 377, "Cornelius": 16, "Huntersville": 24, "Pineville": 8, "Mint Hill": 17,
                     "Matthews": 18, "Davidson": 5}  # fmt: skip
    council = groups[groups["group_type"] == "city_council"]
    assert sorted(council["group"].unique()) == [str(i) for i in range(1, 8)]
    assert set(council.loc[council["group"] == "1", "npa"]) == {int(i) for i in raw["City Council"]["1"]}
    assert groups[groups["group_type"] == "county_commission"]["group"].nunique() == 6
    assert {397} <= set(groups.loc[groups["group"] == "Cornelius", "npa"]) & set(
        groups.loc[groups["group"] == "Huntersville", "npa"]
    )


def test_npa_groups_bad_entries(tmp_path, settings):
    p = tmp_path / "groups.json"
    p.write_text(json.dumps({"Jurisdiction": {"Davidson": ["1", "x", "2.5", "1", 3]}, "Other Thing": {"A": ["4"]}}))
    groups, report = load_npa_groups(p, settings=settings)
    assert groups.to_dict("list") == {
        "npa": [1, 3, 4],
        "group_type": ["jurisdiction", "jurisdiction", "other_thing"],
        "group": ["Davidson", "Davidson", "A"],
    }
    by = {i.reason: i.rows for i in report.issues}
    assert by == {"NPA id is not a whole number": [2, 3], "NPA listed twice in the same group (kept once)": [4]}
    assert "city_council" in report.notes[0]


def test_npa_groups_unreadable(tmp_path, settings):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DataFileError, match="bad.json"):
        load_npa_groups(bad, settings=settings)
    bad.write_text(json.dumps({"Jurisdiction": ["1", "2"]}))
    with pytest.raises(SchemaError, match="group type"):
        load_npa_groups(bad, settings=settings)


# ----------------------------------------------------------------------- all layers


def test_load_reference_layers_real_and_missing(settings, tmp_path):
    layers, reports = load_reference_layers(settings=settings)
    sizes = {name: len(frame) for name, frame in layers.items()}
    assert sizes == {"zipcodes": 34, "historic_districts": 6, "council_districts": 7, "landmarks": 315,
                     "railroads": 364, "greenways": 307, "roads": 3_403}  # fmt: skip
    assert set(reports) == set(sizes)
    for name, frame in layers.items():
        assert list(frame.columns) == [*LAYER_COLUMNS[name], "geometry"], name
        assert frame.crs.to_epsg() == 2264
    empty = settings.replace(data_dir=tmp_path)
    with pytest.raises(DataFileError, match="fetch"):
        load_reference_layers(settings=empty)
    skipped, notes = load_reference_layers(settings=empty, missing="skip")
    for name, frame in skipped.items():
        assert len(frame) == 0 and list(frame.columns) == [*LAYER_COLUMNS[name], "geometry"]
    assert all(notes[n].notes for n in notes) and len(notes["landmarks"].notes) == len(LANDMARK_KINDS)


def test_landmark_kinds_unknown_raises(settings):
    with pytest.raises(KeyError, match="ref_parks"):
        load_landmarks(kinds=("ref_castles",), settings=settings)


def test_landmark_names_keep_order_within_kind(settings):
    marks, _ = load_landmarks(kinds=("ref_town_halls",), settings=settings)
    raw = [f["properties"]["name"] for f in _raw_features(settings, "ref_town_halls")]
    assert marks["name"].tolist() == raw
    assert pd.Series(marks["row"]).is_monotonic_increasing
