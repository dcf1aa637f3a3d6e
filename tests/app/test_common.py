"""The pages' shared cache decorator: results are keyed by the data folder as well as the arguments.

Streamlit's caches outlive a run; a page cached without the folder in its key showed the place
index of one test's fixture folder to the next test, which used the real data.
"""

from __future__ import annotations

from app_pages import common
from geo.settings import get_settings


def test_data_cache_keys_results_by_the_data_folder(tmp_path, monkeypatch):
    calls: list[tuple[str, int]] = []

    @common.data_cache(show_spinner=False)
    def folder(n: int) -> tuple[str, int]:
        calls.append((str(get_settings().data_dir), n))
        return str(get_settings().data_dir), n

    folder.clear()
    first, second = tmp_path / "first", tmp_path / "second"
    monkeypatch.setenv("CMPD_DATA_DIR", str(first))
    assert folder(1) == (str(first), 1) and folder(1) == (str(first), 1)
    assert folder(n=2) == (str(first), 2)
    monkeypatch.setenv("CMPD_DATA_DIR", str(second))
    assert folder(1) == (str(second), 1)
    (second / "manifest.json").parent.mkdir(parents=True)
    (second / "manifest.json").write_text("{}")  # a new fetch writes the manifest: fresh results
    assert folder(1) == (str(second), 1)
    assert calls == [(str(first), 1), (str(first), 2), (str(second), 1), (str(second), 1)]
    assert folder.__name__ == "folder" and folder.__doc__ is None


def test_two_decorated_functions_keep_their_own_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("CMPD_DATA_DIR", str(tmp_path))

    @common.data_cache(show_spinner=False)
    def one() -> str:
        return "one"

    @common.data_cache(resource=True, show_spinner=False)
    def two() -> str:
        return "two"

    assert (one(), two(), one(), two()) == ("one", "two", "one", "two")


def test_copy_map_shares_the_geojson_data_and_nothing_else():
    import folium

    base = folium.Map(location=[35.2, -80.8], zoom_start=10)
    data = {"type": "FeatureCollection", "features": []}
    layer = folium.GeoJson(data, name="areas").add_to(base)
    copy = common.copy_map(base)
    copied = next(c for c in copy._children.values() if isinstance(c, folium.GeoJson))
    assert copy is not base and copied is not layer and copied.data is layer.data
    folium.Marker([35.2, -80.8]).add_to(copy)  # what a page adds to the map it shows
    assert len(copy._children) == len(base._children) + 1


def test_default_filters_are_the_whole_period(settings, monkeypatch):
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))
    filters = common.default_filters()
    stops = common.stops()
    months = stops["month"].dropna().dt.strftime("%Y-%m")
    assert (filters.start, filters.end) == (months.min(), months.max()) == ("2020-01", "2021-12")
    assert not (filters.reasons or filters.driver_genders or filters.age_bands or filters.divisions)
