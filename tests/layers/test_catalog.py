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


# ---------------------------------------------------------------- the incident layer's source (issue 12, item 3)


def _data_dir(tmp_path, *keys: str):
    """A data folder holding the NPAs, the current divisions and the data sets ``keys``, copied from the mirror."""
    import shutil

    from geo.ingest.sources import DATASETS
    from tests.helpers.data import SHARED

    data = tmp_path / "data"
    for key in ("npa_geography", "divisions_2025", *keys):
        rel = DATASETS[key].path
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SHARED / rel, data / rel)
    return data


def _raw_rows(path) -> int:
    import pandas as pd

    return len(pd.read_csv(path, dtype=str))


def test_incidents_layer_is_the_point_sample_with_its_caveat(settings):
    from geo.caveats import SAMPLE_NOTE
    from geo.ingest.sources import resolve

    layer = catalog.get_layer("incidents", settings=settings)
    assert layer.attrs["source"] == "incidents_points" and layer.attrs["caveat"] == SAMPLE_NOTE
    assert catalog.layer_caveat("incidents", settings=settings) == SAMPLE_NOTE
    assert catalog.layer_source("npa", settings=settings) is None
    # every row of the raw file has a month, a category and coordinates: all of them are points of the layer
    assert len(layer) == _raw_rows(resolve("incidents_points", settings.data_dir))
    assert {"incident_id", "month", "category", "npa", "division"} <= set(layer.columns)
    assert layer["incident_id"].is_unique
    assert layer["month"].min().year == 2017 and layer["month"].max().year == 2026


def test_first_page_only_as_a_last_fallback_and_it_says_so(settings, tmp_path):
    from geo.caveats import POINT_SAMPLE

    data = _data_dir(tmp_path, "incidents_sample")
    s = settings.replace(data_dir=data, cache_dir=tmp_path / "cache")
    layer = catalog.get_layer("incidents", settings=s)
    assert layer.attrs["source"] == "incidents_sample" and layer.attrs["caveat"] == POINT_SAMPLE
    assert len(layer) == _raw_rows(data / "points" / "CMPD_Incidents_sample5000.csv")
    assert "first 5,000" in layer.attrs["source_label"]


def test_whole_layer_wins_when_fetched(settings, tmp_path):
    import pandas as pd

    data = _data_dir(tmp_path, "incidents_sample", "incidents_points")
    s = settings.replace(data_dir=data, cache_dir=tmp_path / "cache")
    before = catalog.cache_key("incidents", settings=s)
    # the portal layer as fetch writes it: Parquet with typed columns (a slice of the first page stands in)
    raw = pd.read_csv(data / "points" / "CMPD_Incidents_sample5000.csv").iloc[100:400]
    raw.drop(columns=["YEAR"]).to_parquet(data / "points" / "CMPD_Incidents_portal.parquet")
    assert catalog.cache_key("incidents", settings=s) != before
    layer = catalog.get_layer("incidents", settings=s)
    assert layer.attrs["source"] == "incidents_full" and layer.attrs["caveat"] == ""
    assert catalog.layer_caveat("incidents", settings=s) is None
    assert len(layer) == len(raw)
    assert layer["incident_id"].tolist() == raw["INCIDENT_REPORT_ID"].str.strip().tolist()
    months = pd.to_datetime(raw["DATE_REPORTED"], unit="ms").dt.strftime("%Y-%m").tolist()
    assert layer["month"].dt.strftime("%Y-%m").tolist() == months
    assert layer["year"].tolist() == pd.to_datetime(raw["DATE_REPORTED"], unit="ms").dt.year.tolist()


def test_no_incident_file_names_them_and_the_command(settings, tmp_path):
    from geo.errors import DataFileError

    s = settings.replace(data_dir=_data_dir(tmp_path), cache_dir=tmp_path / "cache")
    with pytest.raises(DataFileError, match=r"incidents_full.*incidents_points.*incidents_sample.*python -m geo fetch"):
        catalog.get_layer("incidents", settings=s)
