"""``python -m geo trends | persistence | accuracy | near-repeat | clearance`` in-process on the real data.

Every number is checked against the library function called directly with the same options.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyogrio
import pytest


@pytest.fixture(autouse=True)
def _cache(settings, monkeypatch):
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))


def _json(argv, capsys):
    from geo.cli import main

    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_trends_json_matches_division_trends(settings, capsys):
    from geo.analysis.trends import division_trends
    from geo.layers import records

    out = _json(["trends", "--division", "Citywide", "--division", "Central Division"], capsys)
    ref = division_trends(records.incident_timeline(settings), divisions=["Citywide", "Central Division"])
    tests = pd.DataFrame(out["tables"]["tests"])
    np.testing.assert_allclose(tests["p"], ref.tests["p"], rtol=1e-12)
    np.testing.assert_allclose(tests["slope_per_year"], ref.tests["slope_per_year"], rtol=1e-12)
    change = pd.DataFrame(out["tables"]["change"])
    assert change["count"].tolist() == ref.change["count"].tolist()
    assert out["lines"][-1].startswith("caveat: ") and any("Citywide, all categories" in ln for ln in out["lines"])


def test_trends_text_and_unknown_division(capsys):
    from geo.cli import main

    assert main(["trends", "--division", "Citywide"]) == 0
    text = capsys.readouterr().out
    assert "trend tests:" in text and "slope_per_year" in text
    assert main(["trends", "--division", "Nowhere Division"]) == 2
    err = capsys.readouterr().err
    assert "'Nowhere Division'" in err and "Central Division" in err and err.count("\n") == 1


def test_clearance_funnel_matches_library(settings, capsys):
    from geo.analysis.clearance import clearance_funnel
    from geo.layers import records

    out = _json(["clearance", "--outcome", "cleared", "--year", "2022"], capsys)
    ref = clearance_funnel(records.clearance(settings), outcome="cleared", year=2022)
    got = pd.DataFrame(out["tables"]["funnel"])
    assert got["unit"].tolist() == ref["unit"].tolist()
    np.testing.assert_allclose(got[["value", "lo", "hi"]], ref[["value", "lo", "hi"]], rtol=1e-12)
    assert got["outside95"].tolist() == ref["outside95"].tolist()


def test_accuracy_matches_library_and_says_sample(settings, tmp_path, capsys):
    from geo.analysis.spacetime import accuracy_by_year
    from geo.layers import build, records

    path = tmp_path / "acc.csv"
    argv = ["accuracy", "--cell-size", "8000", "--permutations", "99", "--seed", "1", "--out", str(path)]
    out = _json(argv, capsys)
    ref = accuracy_by_year(
        records.incident_points(settings), boundary=build.npa(settings), cell_size=8000, permutations=99, seed=1
    )
    got = pd.DataFrame(out["tables"]["table"])
    np.testing.assert_allclose(got["pai"].astype(float), ref.table["pai"], rtol=1e-12, equal_nan=True)
    assert got["captured"].tolist() == ref.table["captured"].tolist()
    assert any("1-in-61 sample" in ln for ln in out["lines"])
    back = pd.read_csv(path)
    assert len(back) == len(ref.table) and (tmp_path / "acc.dictionary.csv").exists()


def test_near_repeat_csv_export_and_knox_counts(settings, tmp_path, capsys):
    from geo.analysis.spacetime import near_repeat
    from geo.cli import main
    from geo.layers import records

    path = tmp_path / "knox.csv"
    argv = ["near-repeat", "--distance-bands", "400,1200", "--time-bands", "0,2", "--permutations", "99"]
    assert main([*argv, "--seed", "3", "--out", str(path)]) == 0
    text = capsys.readouterr().out
    assert "1-in-61 sample" in text and "knox:" in text
    ref = near_repeat(
        records.incident_points(settings), distance_bands=(400, 1200), time_bands=(0, 2), permutations=99, seed=3
    )
    back = pyogrio.read_dataframe(path)
    assert back["observed"].astype(int).tolist() == ref.table["observed"].tolist()
    np.testing.assert_allclose(back["p"].astype(float), ref.table["p"])
    dictionary = pd.read_csv(tmp_path / "knox.dictionary.csv")
    assert "observed" in set(dictionary["name"])
    # a table is written as CSV only
    assert main([*argv, "--out", str(tmp_path / "knox.gpkg")]) == 2
    assert "write the result as .csv" in capsys.readouterr().err


def test_persistence_layer_matches_library(npa_layer, tmp_path, capsys):
    from geo.analysis.persistence import persistence

    path = tmp_path / "persist.gpkg"
    out = _json(["persistence", "--permutations", "99", "--seed", "2", "--out", str(path)], capsys)
    ref = persistence(npa_layer, permutations=99, seed=2)
    table = pd.DataFrame(out["tables"]["quadrant transitions"])
    assert table["count"].tolist() == ref.quadrant_table["count"].tolist()
    assert out["lines"] == list(ref.lines) + [f"note: {n}" for n in ref.notes]
    name = pyogrio.list_layers(path)[0][0]
    back = pyogrio.read_dataframe(path, layer=name).set_index("npa")
    year = ref.years[-1]
    assert back.loc[ref.clusters.index, f"cluster_{year}"].tolist() == ref.clusters[year].tolist()
    hot = (ref.clusters == "High-High").sum(axis=1)
    assert back.loc[hot.index, "hot_years"].tolist() == hot.tolist()
