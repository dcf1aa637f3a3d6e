"""``python -m geo export``: sidecars, named layers, the CSV geometry choice and the stop filter, in process."""

from __future__ import annotations

import json

import pandas as pd
import pyogrio
import pytest

import geo
from geo.cli import main


@pytest.fixture
def export(settings, monkeypatch, capsys):
    """``python -m geo export ...`` in this process: (exit code, stdout)."""
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))

    def _run(*args: str) -> tuple[int, str]:
        code = main(["export", *args])
        return code, capsys.readouterr().out

    return _run


def test_help_names_the_sidecars(export, capsys):
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    out = capsys.readouterr().out
    for word in ("NAME.dictionary.csv", "NAME.metadata.json", "gpkg_metadata", "32,767", "--csv-geometry"):
        assert word in out


def test_csv_of_divisions_says_where_the_geometry_went(export, tmp_path):
    code, out = export("--layer", "divisions", "--out", str(tmp_path / "divisions.csv"))
    assert code == 0
    assert "geometry written to divisions.geometry.geojson" in out and "32,767" in out
    for name in ("divisions.geometry.geojson", "divisions.dictionary.csv", "divisions.metadata.json"):
        assert (tmp_path / name).exists() and name in out
    dictionary = pd.read_csv(tmp_path / "divisions.dictionary.csv")
    assert dictionary["name"].tolist() == pd.read_csv(tmp_path / "divisions.csv", nrows=0).columns.tolist()


def test_gpkg_layer_is_named_and_carries_its_dictionary(export, tmp_path):
    code, out = export("--layer", "npa", "--out", str(tmp_path / "npa_export.gpkg"))
    assert code == 0 and "wrote 459 features of layer npa" in out
    assert pyogrio.list_layers(tmp_path / "npa_export.gpkg")[:, 0].tolist() == ["npa", "npa_dictionary"]


def test_stop_filter_reaches_the_counts_and_the_metadata(export, tmp_path):
    code, _ = export("--layer", "divisions", "--out", str(tmp_path / "d.geojson"), "--start", "2021-01")
    assert code == 0
    meta = json.loads((tmp_path / "d.metadata.json").read_text())
    assert meta["stop_filter"]["description"] == "month from 2021-01" and meta["software"]["version"] == geo.__version__
    stops = pyogrio.read_dataframe(tmp_path / "d.geojson")["stops"].sum()
    assert 0 < stops < 135_512
    code, out = export("--layer", "npa", "--out", str(tmp_path / "n.geojson"), "--reason", "Speeding")
    assert code == 0 and "they are ignored" in out


def test_simplified_csv_geometry(export, tmp_path):
    code, out = export("--layer", "divisions", "--out", str(tmp_path / "d.csv"), "--csv-geometry", "simplify")
    assert code == 0 and "simplified with a tolerance of" in out
    assert not (tmp_path / "d.geometry.geojson").exists()
    assert pd.read_csv(tmp_path / "d.csv")["geometry_wkt"].str.len().max() <= 32_767
