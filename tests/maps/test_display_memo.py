"""Display simplification remembered in the process and on disk: the same frame as a fresh computation, healed."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.maps import geometry


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CMPD_CACHE_DIR", str(tmp_path))
    geometry._memo.clear()
    yield tmp_path / "display"
    geometry._memo.clear()


def _fresh(gdf, **kw):
    """The simplification computed, not remembered."""
    out = gdf.to_crs("EPSG:4326")
    return geometry._simplified(np.asarray(out.geometry.values, dtype=object), kw.get("tolerance_m", 10.0), 5)


def _same(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> bool:
    return (
        list(a.columns) == list(b.columns)
        and a.crs == b.crs
        and a.index.equals(b.index)
        and a.drop(columns=a.geometry.name).equals(b.drop(columns=b.geometry.name))
        and bool(shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=0).all())
    )


def test_remembered_in_process_and_on_disk_equal_a_fresh_simplification(cache, npa_layer, monkeypatch):
    frame = npa_layer[["npa", "pop_2020", "geometry"]]
    first = geometry.simplify_for_display(frame)
    assert bool(shapely.equals_exact(first.geometry.values, _fresh(frame), tolerance=0).all())
    assert first.crs.to_epsg() == 4326 and list(first.columns) == ["npa", "pop_2020", "geometry"]
    assert len(list(cache.glob("*.npz"))) == 1

    def no_simplifying(*a, **kw):
        raise AssertionError("simplified again")

    monkeypatch.setattr(geometry, "_simplified", no_simplifying)
    assert _same(geometry.simplify_for_display(frame), first)  # from the process
    geometry._memo.clear()
    assert _same(geometry.simplify_for_display(frame), first)  # from the disk, as a new process would
    other = frame.assign(pop_2020=0)  # other attributes, same outlines: the same entry
    assert _same(geometry.simplify_for_display(other), first.assign(pop_2020=0))


def test_other_outlines_or_options_are_simplified_again(cache, npa_layer):
    frame = npa_layer[["npa", "geometry"]]
    geometry.simplify_for_display(frame)
    geometry.simplify_for_display(frame, tolerance_m=50)
    geometry.simplify_for_display(frame.iloc[:20])
    assert len(list(cache.glob("*.npz"))) == 3


@pytest.mark.parametrize("damage", ["truncated", "tampered"])
def test_a_damaged_entry_is_simplified_again_with_one_line(cache, npa_layer, damage, capsys):
    frame = npa_layer[["npa", "geometry"]]
    want = geometry.simplify_for_display(frame)
    (entry,) = cache.glob("*.npz")
    data = entry.read_bytes()
    entry.write_bytes(data[: len(data) // 2] if damage == "truncated" else data[:-40] + bytes(40))
    geometry._memo.clear()
    assert _same(geometry.simplify_for_display(frame), want)
    err = capsys.readouterr().err
    assert err.count("cache: rebuilding") == 1 and entry.name in err


def test_parsed_outlines_are_shared_between_maps_and_equal_a_fresh_parse(npa_layer):
    """feature_collection parses each layer's geometry once; the properties stay each map's own."""
    import json

    from geo.maps import _tooltip

    frame = geometry.simplify_for_display(npa_layer[["npa", "pop_2020", "geometry"]]).set_index("npa")
    tip = _tooltip.tooltip_spec("pop_2020", ["pop_2020"], ["Residents"], {}, None, "")
    a, ids = _tooltip.feature_collection(frame, tip)
    b, _ = _tooltip.feature_collection(frame, tip)
    fresh = [json.loads(g) for g in shapely.to_geojson(np.asarray(frame.geometry.values, dtype=object))]
    assert [f["geometry"] for f in a["features"]] == fresh and ids == [str(i) for i in frame.index]
    assert all(x["geometry"] is y["geometry"] for x, y in zip(a["features"], b["features"], strict=True))
    assert all(x["properties"] is not y["properties"] for x, y in zip(a["features"], b["features"], strict=True))
