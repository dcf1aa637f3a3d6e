"""The layer catalogue: every named layer builds, with its id column, and its cache key follows its inputs."""

from __future__ import annotations

import os

import pytest

from geo.errors import ValueDomainError
from geo.layers import build, catalog
from geo.layers.filters import StopFilter


def test_names_and_uses():
    assert catalog.layer_names() == ("divisions", "npa", "ois", "incidents", "hex")
    assert catalog.layer_names("export") == ("divisions", "npa", "ois", "incidents")
    assert catalog.layer_names("hotspots") == ("divisions", "npa", "incidents")
    assert catalog.layer_names("aggregate") == ("divisions", "npa", "hex")
    for spec in catalog.CATALOG.values():
        assert spec.inputs and all(entry in build.INPUTS for entry in spec.inputs)


@pytest.mark.parametrize("name", ["divisions", "npa", "ois", "incidents"])
def test_every_layer_builds_with_unique_ids(settings, name):
    spec = catalog.layer_spec(name)
    layer = catalog.get_layer(name, settings=settings)
    assert layer.crs.to_epsg() == 2264 and len(layer) > 0
    assert spec.id_column in layer.columns
    kinds = set(layer.geom_type)
    assert kinds <= ({"Polygon", "MultiPolygon"} if spec.geometry == "polygons" else {"Point"})
    if spec.geometry == "polygons":
        assert layer[spec.id_column].is_unique


def test_stop_filters_apply_only_where_declared(settings):
    speeding = StopFilter(reasons=("Speeding",))
    all_stops = catalog.get_layer("divisions", settings=settings)
    some = catalog.get_layer("divisions", settings=settings, filters=speeding)
    assert some["stops"].sum() < all_stops["stops"].sum()
    assert some["stops"].sum() == speeding.apply(build.stops(settings)).query("division_recorded").shape[0]
    npa = catalog.get_layer("npa", settings=settings, filters=speeding)
    assert npa.equals(catalog.get_layer("npa", settings=settings))


def test_units_are_ids_and_geometry(settings):
    divs = catalog.get_units("divisions", settings=settings)
    assert list(divs.columns) == ["division", "geometry"] and len(divs) == 14
    hexes = catalog.get_units("hex", settings=settings, cell_size=4000.0)
    assert hexes["cell_id"].is_unique and set(hexes.geom_type) <= {"Polygon", "MultiPolygon"}
    with pytest.raises(ValueDomainError, match="not a layer of polygons"):
        catalog.get_units("ois", settings=settings)


def test_unknown_layer_lists_the_known_ones():
    with pytest.raises(
        ValueDomainError, match="Unknown layer 'roads'; choose one of divisions, npa, ois, incidents, hex"
    ):
        catalog.get_layer("roads")


def test_cache_key_follows_filter_inputs_and_version(settings, monkeypatch):
    import geo

    key = catalog.cache_key("divisions", settings=settings)
    assert key == catalog.cache_key("divisions", settings=settings, filters=StopFilter())
    assert key != catalog.cache_key("divisions", settings=settings, filters=StopFilter(reasons=("Speeding",)))
    # filters do not change layers that stops do not build
    npa_key = catalog.cache_key("npa", settings=settings)
    assert npa_key == catalog.cache_key("npa", settings=settings, filters=StopFilter(reasons=("Speeding",)))
    monkeypatch.setattr(geo, "__version__", geo.__version__ + ".post1")
    assert catalog.cache_key("npa", settings=settings) != npa_key


def test_cache_key_changes_when_an_input_file_changes(settings, tmp_path):
    from geo.ingest.fetch import copy_mirror
    from tests.helpers.data import SHARED

    data = tmp_path / "data"
    copy_mirror(SHARED, data)
    s = settings.replace(data_dir=data, cache_dir=tmp_path / "cache")
    before = catalog.cache_key("ois", settings=s)
    shootings = build.input_files(s, "ois")[0]
    st = shootings.stat()
    os.utime(shootings, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert catalog.cache_key("ois", settings=s) != before
