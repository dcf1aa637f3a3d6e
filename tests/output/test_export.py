"""Exports on hand-made layers: RFC 7946 GeoJSON, GeoPackage in the analysis CRS, CSV with WKT; clear errors."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo.errors import DataFileError, SchemaError
from geo.output.export import MEDIA_TYPES, layer_bytes, to_geojson_bytes, write_layer


@pytest.fixture
def squares() -> gpd.GeoDataFrame:
    """Two squares near Charlotte in EPSG:2264, the first drawn clockwise."""
    cw = shapely.Polygon([(1_440_000, 540_000), (1_440_000, 541_000), (1_441_000, 541_000), (1_441_000, 540_000)])
    ccw = shapely.box(1_442_000, 540_000, 1_443_000, 541_000)
    when = pd.to_datetime(["2021-03-01", "2021-04-01"])
    return gpd.GeoDataFrame(
        {"unit": ["a", "b"], "value": [1.5, None], "when": when}, geometry=[cw, ccw], crs="EPSG:2264"
    )


def test_geojson_is_rfc_7946(squares):
    doc = json.loads(to_geojson_bytes(squares))
    assert "crs" not in doc and [f["properties"]["unit"] for f in doc["features"]] == ["a", "b"]
    assert doc["features"][1]["properties"]["value"] is None
    assert doc["features"][0]["properties"]["when"] == "2021-03-01T00:00:00"
    for f in doc["features"]:
        ring = shapely.from_geojson(json.dumps(f["geometry"])).exterior
        assert shapely.is_ccw(ring)
        lon, lat = ring.coords[0]
        assert -81.5 < lon < -80.5 and 34.5 < lat < 35.8


def test_geopackage_keeps_the_analysis_crs_and_csv_has_wkt(squares, tmp_path):
    gpkg = write_layer(squares, tmp_path / "out.gpkg", layer_name="units")
    back = gpd.read_file(gpkg, layer="units")
    assert back.crs.to_epsg() == 2264 and len(back) == 2
    csv = write_layer(squares, tmp_path / "out.csv")
    table = pd.read_csv(csv)
    assert list(table.columns) == ["unit", "value", "when", "geometry_wkt"]
    assert table["geometry_wkt"].str.startswith("POLYGON ((-80").all()


def test_bytes_for_downloads(squares):
    for fmt in MEDIA_TYPES:
        data = layer_bytes(squares, fmt)
        assert len(data) > 100
    assert layer_bytes(squares, "gpkg")[:16] == b"SQLite format 3\x00"


def test_bad_targets_and_layers(squares, tmp_path):
    with pytest.raises(DataFileError, match="cannot tell the format from the extension"):
        write_layer(squares, tmp_path / "out.shp")
    with pytest.raises(DataFileError, match="does not exist"):
        write_layer(squares, tmp_path / "nowhere" / "out.geojson")
    with pytest.raises(SchemaError, match="has no CRS"):
        to_geojson_bytes(squares.set_crs(None, allow_override=True))
