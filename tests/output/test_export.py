"""Exports read back with pyogrio and GDAL's ``ogrinfo``: GeoJSON, GeoPackage and CSV with their dictionaries.

RFC 7946 GeoJSON with 6 decimals; named GeoPackage layers with the dictionary table and
``gpkg_metadata``; CSV that fits Excel's cells, with formula cells neutralised.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import zipfile

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

import geo
from geo.errors import DataFileError, SchemaError, ValueDomainError
from geo.layers.filters import StopFilter
from geo.output.export import (
    EXCEL_CELL_LIMIT,
    MEDIA_TYPES,
    export_layer,
    export_zip,
    layer_bytes,
    neutralise_formulas,
    to_geojson_bytes,
    write_layer,
)
from geo.output.metadata import METADATA_STANDARD_URI

#: Divisions GeoJSON before this change: 2,150,770 bytes (coordinates with up to 19 decimals).
DIVISIONS_GEOJSON_BYTES_BEFORE = 2_150_770


@pytest.fixture
def squares() -> gpd.GeoDataFrame:
    """Two squares near Charlotte in EPSG:2264, the first drawn clockwise."""
    cw = shapely.Polygon([(1_440_000, 540_000), (1_440_000, 541_000), (1_441_000, 541_000), (1_441_000, 540_000)])
    ccw = shapely.box(1_442_000, 540_000, 1_443_000, 541_000)
    when = pd.to_datetime(["2021-03-01", "2021-04-01"])
    return gpd.GeoDataFrame(
        {"unit": ["a", "b"], "value": [1.5, None], "when": when}, geometry=[cw, ccw], crs="EPSG:2264"
    )


def ogrinfo(*args: str) -> str:
    """``ogrinfo`` output; skipped (failed under REQUIRE_BROWSER_TESTS=1) when GDAL's tools are missing."""
    exe = shutil.which("ogrinfo")
    if exe is None:
        reason = "ogrinfo (Debian's gdal-bin) is not installed: `make browser` installs it"
        if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
            pytest.fail(f"{reason} (REQUIRE_BROWSER_TESTS=1)")
        pytest.skip(reason)
    out = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120, check=True)
    return out.stdout


def max_decimals(text: str) -> int:
    """The most decimals of any number in the ``coordinates`` of a GeoJSON text."""
    coords = re.findall(r'"coordinates": (\[[^"]*\])', text)
    return max(len(d) for c in coords for d in re.findall(r"\.(\d+)", c))


def longest_cell(path) -> int:
    csv.field_size_limit(sys.maxsize)
    with open(path, newline="", encoding="utf-8") as f:
        return max(len(cell) for row in csv.reader(f) for cell in row)


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
    csv_path = write_layer(squares, tmp_path / "out.csv")
    table = pd.read_csv(csv_path)
    assert list(table.columns) == ["unit", "value", "when", "geometry_wkt"]
    assert table["geometry_wkt"].str.startswith("POLYGON ((-80").all()


def test_bytes_for_downloads(squares):
    for fmt in MEDIA_TYPES:
        data = layer_bytes(squares, fmt, layer_name="squares")
        assert len(data) > 100
    assert layer_bytes(squares, "gpkg")[:16] == b"SQLite format 3\x00"
    assert json.loads(layer_bytes(squares, "geojson", layer_name="squares"))["name"] == "squares"


def test_bad_targets_and_layers(squares, tmp_path):
    with pytest.raises(DataFileError, match="cannot tell the format from the extension"):
        write_layer(squares, tmp_path / "out.shp")
    with pytest.raises(DataFileError, match="does not exist"):
        write_layer(squares, tmp_path / "nowhere" / "out.geojson")
    with pytest.raises(SchemaError, match="has no CRS"):
        to_geojson_bytes(squares.set_crs(None, allow_override=True))
    with pytest.raises(ValueDomainError, match="csv_geometry must be one of auto, separate, simplify"):
        export_layer(squares, tmp_path / "out.csv", csv_geometry="wkt")  # type: ignore[arg-type]


def test_formula_cells_are_neutralised_numbers_untouched(tmp_path):
    risky = ['=HYPERLINK("http://evil.example","click")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx", "plain"]
    gdf = gpd.GeoDataFrame(
        {"note": risky, "delta": [-1.5, -2, 3, 4, 5, 6, 7]},
        geometry=[shapely.Point(1_440_000 + i, 540_000) for i in range(7)],
        crs="EPSG:2264",
    )
    path = export_layer(gdf, tmp_path / "risky.csv").path
    back = pd.read_csv(path, dtype={"note": str}, keep_default_na=False)
    assert back["note"].tolist()[0] == "'" + risky[0]
    assert all(v.startswith("'") for v in back["note"].tolist()[:6]) and back["note"].iloc[6] == "plain"
    assert back["delta"].tolist() == [-1.5, -2, 3, 4, 5, 6, 7]  # numbers are not text
    assert neutralise_formulas(pd.DataFrame({"=x": [1]})).columns.tolist() == ["'=x"]
    # the GeoJSON and GeoPackage keep the text as it is (no spreadsheet reads them)
    doc = json.loads(export_layer(gdf, tmp_path / "risky.geojson").path.read_text())
    assert doc["features"][0]["properties"]["note"] == risky[0]


def test_geojson_six_decimals_valid_polygons_named_with_sidecars(division_layer, settings, tmp_path):
    res = export_layer(division_layer, tmp_path / "divisions.geojson", layer_name="divisions", settings=settings)
    text = res.path.read_text()
    size = res.path.stat().st_size
    assert max_decimals(text) <= 6
    assert size < 0.65 * DIVISIONS_GEOJSON_BYTES_BEFORE, size
    back = pyogrio.read_dataframe(res.path)
    assert len(back) == 14 and back.geometry.is_valid.all() and back.crs.to_epsg() == 4326
    assert pyogrio.list_layers(res.path)[0][0] == "divisions"  # from the collection's "name"
    assert "Layer name: divisions" in ogrinfo("-so", "-al", str(res.path))
    names = {p.name for p in res.files}
    assert {"divisions.dictionary.csv", "divisions.dictionary.json", "divisions.metadata.json"} <= names
    dictionary = json.loads((tmp_path / "divisions.dictionary.json").read_text())
    assert [c["name"] for c in dictionary["columns"]] == list(back.columns)
    meta = json.loads((tmp_path / "divisions.metadata.json").read_text())
    assert meta["software"]["version"] == geo.__version__ and meta["crs"] == "EPSG:4326"
    assert meta["stop_filter"]["applies"] and meta["stop_filter"]["description"].startswith("all stops")
    stops = next(s for s in meta["sources"] if s["key"] == "stops")
    assert stops["retrieved"] and stops["sha256"]


def test_geopackage_named_layers_dictionary_and_metadata(npa_layer, settings, tmp_path):
    res = export_layer(npa_layer, tmp_path / "npa.gpkg", layer_name="npa", settings=settings)
    layers = pyogrio.list_layers(res.path).tolist()
    assert layers == [["npa", "Polygon"], ["npa_dictionary", None]]
    dictionary = pyogrio.read_dataframe(res.path, layer="npa_dictionary")
    back = pyogrio.read_dataframe(res.path, layer="npa")
    assert sorted(dictionary["name"]) == sorted(back.columns) and back.crs.to_epsg() == 2264
    assert (dictionary["meaning"] != "no description").all()
    info = pyogrio.read_info(res.path, layer="npa")
    meta = json.loads(info["dataset_metadata"]["GPKG_METADATA_ITEM_1"])
    assert meta["software"]["version"] == geo.__version__ and meta["layer"] == "npa"
    assert meta["dictionary"]["table"] == "npa_dictionary"
    with sqlite3.connect(res.path) as con:
        rows = con.execute("SELECT md_scope, md_standard_uri, mime_type, metadata FROM gpkg_metadata").fetchall()
        refs = con.execute("SELECT reference_scope, table_name FROM gpkg_metadata_reference").fetchall()
        ext = con.execute("SELECT extension_name FROM gpkg_extensions WHERE table_name='gpkg_metadata'").fetchall()
    assert [r[:3] for r in rows] == [("dataset", METADATA_STANDARD_URI, "application/json")]
    assert json.loads(rows[0][3])["software"]["version"] == geo.__version__
    assert sorted(refs, key=str) == sorted(
        [("geopackage", None), ("table", "npa"), ("table", "npa_dictionary")], key=str
    )
    assert ext == [("gpkg_metadata",)]
    out = ogrinfo(str(res.path))
    assert "1: npa (Polygon)" in out and "2: npa_dictionary (None)" in out
    assert f'"version": "{geo.__version__}"' in out
    assert "may only be partially supported" not in ogrinfo("-so", str(res.path), "npa")


def test_npa_csv_round_trips_with_wkt_under_the_excel_limit(npa_layer, settings, tmp_path):
    res = export_layer(npa_layer, tmp_path / "npa.csv", layer_name="npa", settings=settings)
    assert res.geometry == "wkt" and longest_cell(res.path) <= EXCEL_CELL_LIMIT
    back = pyogrio.read_dataframe(res.path)  # npa.csvt names the types and the WKT column
    assert len(back) == 459 and back.geometry.is_valid.all()
    assert back["pop_2020"].dtype.kind == "f" and back["npa"].dtype.kind == "i"
    wkt = pd.read_csv(res.path)["geometry_wkt"]
    assert wkt.str.findall(r"\.(\d+)").map(lambda ds: max(len(d) for d in ds)).max() <= 6
    assert "Feature Count: 459" in ogrinfo("-so", "-al", str(res.path))


def test_divisions_csv_geometry_goes_to_a_separate_file(division_layer, settings, tmp_path):
    res = export_layer(division_layer, tmp_path / "divisions.csv", layer_name="divisions", settings=settings)
    assert res.geometry == "separate" and res.geometry_file == tmp_path / "divisions.geometry.geojson"
    assert "over Excel's 32,767-character cell limit" in res.notes[0]
    assert longest_cell(res.path) <= EXCEL_CELL_LIMIT
    table = pd.read_csv(res.path)
    assert "geometry_wkt" not in table and table["stops"].sum() == 135_512
    shapes = pyogrio.read_dataframe(res.geometry_file)
    assert shapes["division"].tolist() == table["division"].tolist() and shapes.geometry.is_valid.all()
    assert max_decimals(res.geometry_file.read_text()) <= 6
    meta = json.loads((tmp_path / "divisions.metadata.json").read_text())
    assert meta["geometry"] == {"written_as": "separate", "file": "divisions.geometry.geojson"}
    assert "Feature Count: 14" in ogrinfo("-so", "-al", str(res.geometry_file))


def test_divisions_csv_simplified_to_fit(division_layer, settings, tmp_path):
    res = export_layer(
        division_layer, tmp_path / "d.csv", layer_name="divisions", csv_geometry="simplify", settings=settings
    )
    assert res.geometry == "simplified" and res.geometry_file is None
    assert "simplified with a tolerance of" in res.notes[0] and "US survey foot" in res.notes[0]
    assert longest_cell(res.path) <= EXCEL_CELL_LIMIT
    back = pyogrio.read_dataframe(res.path)
    assert len(back) == 14 and back.geometry.is_valid.all()


def test_stop_filter_and_zip_package(division_layer, settings):
    data, res = export_zip(
        division_layer, "csv", layer_name="divisions", filters=StopFilter(start="2021-01"), settings=settings
    )
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        meta = json.loads(zf.read("divisions.metadata.json"))
    assert names == {
        "divisions.csv",
        "divisions.csvt",
        "divisions.geometry.geojson",
        "divisions.dictionary.csv",
        "divisions.dictionary.json",
        "divisions.metadata.json",
    }
    assert meta["stop_filter"] == {
        "applies": True,
        "description": "month from 2021-01",
        "start": "2021-01",
        "end": None,
    }
    assert res.geometry == "separate"


def test_layer_names_are_safe_and_default_to_the_file(squares, tmp_path):
    res = export_layer(squares, tmp_path / "My squares.gpkg")
    assert res.layer_name == "my_squares"
    assert pyogrio.list_layers(res.path)[:, 0].tolist() == ["my_squares", "my_squares_dictionary"]
    assert export_layer(squares, tmp_path / "x.gpkg", layer_name="2020 stops").layer_name == "layer_2020_stops"
    assert res.undescribed == ("unit", "value", "when")  # named, not silently passed
