"""The cached reference layers and place index: equal to a fresh build, rebuilt when an input changes or is damaged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from geopandas.testing import assert_geodataframe_equal

from geo.ingest.reference import load_reference_layers
from geo.layers import prepared
from geo.layers.places import PlaceIndex, build_place_index

QUERIES = ("Plaza Midwood", "28205", "Monroe Rd", "Dilworth", "council district 1", "380")


@pytest.fixture
def copy(settings, tmp_path: Path):
    """Settings on a copy of the NPA, division and reference files (which a test may change), with an empty cache."""
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy2(Path(settings.data_dir) / "manifest.json", raw / "manifest.json")
    for folder in ("npa", "divisions", "reference"):
        shutil.copytree(Path(settings.data_dir) / folder, raw / folder)
    return settings.replace(data_dir=raw, cache_dir=tmp_path / "cache")


def _same(a: PlaceIndex, b: PlaceIndex) -> None:
    assert a.to_dict() == b.to_dict()
    for q in QUERIES:
        assert a.search(q) == b.search(q), q


def _no_build(monkeypatch) -> None:
    """Make any rebuild fail, so a call that returns must have read the cache."""

    def refuse(*args, **kwargs):
        raise AssertionError("built again instead of read from the cache")

    monkeypatch.setattr(prepared, "build_place_index", refuse)
    monkeypatch.setattr(prepared, "_load", refuse)


def test_reference_layers_cached_equal_to_a_fresh_load(copy, monkeypatch):
    fresh, fresh_reports = load_reference_layers(settings=copy, missing="skip")
    first, _ = prepared.reference_layers(copy)
    assert sorted(p.name for p in Path(copy.cache_dir).glob("ref_*.parquet")) == sorted(
        f"ref_{name}.parquet" for name in prepared.REFERENCE_DATASETS
    )
    _no_build(monkeypatch)
    again, reports = prepared.reference_layers(copy)
    for (name, a), (_, b), (_, c) in zip(fresh.items(), first.items(), again.items(), strict=True):
        assert len(a) > 0, name
        assert_geodataframe_equal(a, b)
        assert_geodataframe_equal(a, c)
        assert list(a.dtypes) == list(c.dtypes), name
        assert reports[name].to_dict() == fresh_reports[name].to_dict(), name


def test_place_index_round_trip_equals_a_fresh_build(copy, monkeypatch):
    stored = prepared.place_index(copy)
    assert (Path(copy.cache_dir) / "place_index.json").exists()
    fresh = build_place_index(copy)
    _same(stored, fresh)
    _no_build(monkeypatch)
    again = prepared.place_index(copy)
    _same(again, fresh)
    assert [m.place.key for m in again.search("Plaza Midwood")][:1] == ["historic district:Plaza-Midwood"]
    assert again.overlap_text(380) == fresh.overlap_text(380)


def test_place_index_rebuilt_when_an_input_changes(copy):
    before = prepared.place_index(copy)
    assert any(p.name == "Dilworth" for p in before.places)
    path = Path(copy.data_dir) / "reference" / "meck_historic_districts.geojson"
    data = json.loads(path.read_text())
    data["features"] = [f for f in data["features"] if f["properties"]["name"] != "Dilworth"]
    path.write_text(json.dumps(data))
    after = prepared.place_index(copy)
    assert not any(p.name == "Dilworth" for p in after.places)
    assert len(after) == len(before) - 1
    assert "Dilworth" not in set(prepared.reference_layers(copy)[0].historic_districts["name"])
    _same(after, build_place_index(copy))


def test_missing_reference_file_leaves_its_places_out(copy):
    (Path(copy.data_dir) / "reference" / "meck_historic_districts.geojson").unlink()
    layers, reports = prepared.reference_layers(copy)
    assert len(layers.historic_districts) == 0
    assert list(layers.historic_districts.columns) == ["row", "name", "designation", "geometry"]
    assert "not loaded" in reports["historic_districts"].notes[0]
    index = prepared.place_index(copy)
    assert not [p for p in index.places if p.kind == "historic district"]
    assert any(p.kind == "zip" for p in index.places)


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # truncated
        lambda text: "null",
        lambda text: "[]",
        lambda text: text.replace('"Plaza-Midwood"', '"Plaza-Midtown"'),  # content changed, hash not
    ],
    ids=["truncated", "null", "list", "tampered"],
)
def test_damaged_place_index_is_rebuilt(copy, damage, capsys):
    good = prepared.place_index(copy)
    path = Path(copy.cache_dir) / "place_index.json"
    text = path.read_text()
    damaged = damage(text)
    assert damaged != text
    path.write_text(damaged)
    again = prepared.place_index(copy)
    assert "cache: rebuilding" in capsys.readouterr().err
    _same(again, good)
    assert json.loads(path.read_text())["sha256"] == json.loads(text)["sha256"]  # the mended entry was written


def test_damaged_reference_layer_is_rebuilt(copy, capsys):
    first, _ = prepared.reference_layers(copy)
    (Path(copy.cache_dir) / "ref_roads.parquet").write_bytes(b"not parquet")
    again, _ = prepared.reference_layers(copy)
    assert "ref_roads.parquet" in capsys.readouterr().err
    assert_geodataframe_equal(again.roads, first.roads)


def test_place_index_entry_with_a_valid_hash_but_bad_rows_is_rebuilt(copy, capsys):
    good = prepared.place_index(copy)
    path = Path(copy.cache_dir) / "place_index.json"
    data = json.loads(path.read_text())
    data["places"][0] = data["places"][0][:3]  # a row missing fields, hashed again as if written so
    data["sha256"] = prepared._digest(data)
    path.write_text(json.dumps(data))
    again = prepared.place_index(copy)
    assert "places cannot be read back" in capsys.readouterr().err
    _same(again, good)
