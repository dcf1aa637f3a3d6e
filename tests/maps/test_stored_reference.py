"""The drawn reference layers kept on disk: the same elements as a fresh drawing, reused by a new process, healed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import folium
import pytest

from geo.layers import build, prepared
from geo.maps import _stored, reference
from geo.maps.overlays import MapReference


@pytest.fixture(scope="module")
def frames(settings):
    layers, _ = prepared.reference_layers(settings)
    return layers, build.division_base(settings)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CMPD_CACHE_DIR", str(tmp_path))
    return tmp_path


def _html(m: folium.Map) -> str:
    """The rendered page with folium's random element names replaced, so two drawings can be compared."""
    return re.sub(r"_[0-9a-f]{32}", "_ID", m.get_root().render())


def _map_with(ref: MapReference) -> folium.Map:
    return ref.add_to(folium.Map(location=[35.2, -80.8], zoom_start=11, tiles=None))


def test_a_new_process_rebuilds_the_same_map_from_the_disk_without_drawing(cache, frames, monkeypatch):
    layers, divisions = frames
    fresh = _html(_map_with(MapReference(layers, divisions=divisions)))
    (entry,) = cache.glob("map_reference_*.json")

    def no_drawing(*a, **kw):
        raise AssertionError("the reference layers were prepared again")

    monkeypatch.setattr("geo.maps.overlays.add_reference_layers", no_drawing)
    again = _html(_map_with(MapReference(layers, divisions=divisions)))  # a new MapReference: as in a new process
    assert again == fresh
    assert entry.stat().st_size > 50_000  # roads, outlines, labels and landmarks are in it


def test_other_layers_or_options_are_drawn_again(cache, frames):
    layers, divisions = frames
    _map_with(MapReference(layers, divisions=divisions))
    _map_with(MapReference(layers, divisions=divisions, show=("roads",)))
    _map_with(MapReference(layers, divisions=divisions.iloc[:3]))
    assert len(list(cache.glob("map_reference_*.json"))) == 3


@pytest.mark.parametrize("damage", ["truncated", "tampered", "unknown element", "null"])
def test_a_damaged_entry_is_drawn_again_with_one_line(cache, frames, damage, capsys):
    layers, divisions = frames
    want = _html(_map_with(MapReference(layers, divisions=divisions)))
    (entry,) = cache.glob("map_reference_*.json")
    doc = json.loads(entry.read_text())
    if damage == "truncated":
        entry.write_text(entry.read_text()[:1000])
    elif damage == "tampered":
        doc["recipe"][1]["children"][0]["data_json"] = "[]"
        entry.write_text(json.dumps(doc))
    elif damage == "unknown element":
        doc["recipe"].append({"kind": "script", "code": "alert(1)"})
        doc["digest"] = _stored._digest(doc["recipe"])
        entry.write_text(json.dumps(doc))
    else:
        entry.write_text("null")
    assert _html(_map_with(MapReference(layers, divisions=divisions))) == want
    err = capsys.readouterr().err
    assert err.count("cache: rebuilding") == 1 and entry.name in err
    assert json.loads(entry.read_text())["digest"] == _stored._digest(json.loads(entry.read_text())["recipe"])


def test_the_recipe_holds_every_layer_in_drawing_order(cache, frames):
    layers, divisions = frames
    drawn = reference.add_reference_layers(folium.Map(tiles=None), layers, divisions=divisions)
    recipe = _stored.to_recipe(drawn)
    groups = [r["name"] for r in recipe if r["kind"] == "group"]
    assert groups == [reference.REFERENCE_LAYER_NAMES[k] for k in reference.REFERENCE_LAYER_NAMES]
    assert _stored.to_recipe(_stored.from_recipe(recipe)) == recipe
