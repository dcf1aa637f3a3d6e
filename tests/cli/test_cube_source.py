"""``hotspots --layer incidents --method ehsa`` on the whole incident layer, and the space-time commands' CSV dictionaries.

The whole layer is the hand-made data folder of :mod:`tests.analysis.test_cube_source` (the mirror has none).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.analysis.test_cube_source import ODD_CODE, whole_layer_folder

CUBE = ["hotspots", "--layer", "incidents", "--method", "ehsa", "--time-step", "year", "--cell-size", "8000"]


def test_cube_cli_uses_the_whole_layer_and_says_so(settings, tmp_path, monkeypatch, capsys):
    from geo.analysis.spacetime import emerging_cube
    from geo.cli import main
    from geo.layers import build, records

    data, _ = whole_layer_folder(tmp_path, mirror=True)
    monkeypatch.setenv("CMPD_DATA_DIR", str(data))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(tmp_path / "cache"))
    assert main([*CUBE, "--permutations", "99", "--seed", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    s = settings.replace(data_dir=data, cache_dir=tmp_path / "cache")
    pts = records.cube_points(s)
    ref = emerging_cube(pts, boundary=build.npa(s), cell_size=8000.0, step="year", permutations=99, seed=2)
    points_line = f"points: CMPD incident reports (the whole portal layer): {len(pts):,} incident points"
    assert points_line in out["lines"] and not any("1-in-61" in ln for ln in out["lines"])
    assert any(ln.startswith("note: set aside") and "800-series" in ln for ln in out["lines"])
    assert any(f"'{ODD_CODE}' (1)" in ln and "counted as other" in ln for ln in out["lines"])
    table = pd.DataFrame(out["table"]).set_index("cell_id")
    assert table.loc[ref.frame.index, "ehsa_category"].tolist() == ref.frame["ehsa_category"].tolist()


def test_cube_cli_on_the_sample_names_the_sample(settings, tmp_path, monkeypatch, capsys):
    from geo.caveats import SAMPLE_NOTE
    from geo.cli import main

    data, _ = whole_layer_folder(tmp_path, portal=False, mirror=True)
    monkeypatch.setenv("CMPD_DATA_DIR", str(data))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(tmp_path / "cache"))
    assert main([*CUBE, "--permutations", "99", "--json"]) == 0
    lines = json.loads(capsys.readouterr().out)["lines"]
    assert "points: CMPD incident points 2017-2026 (an even 1-in-61 sample): 11,400 incident points" in lines
    assert f"note: {SAMPLE_NOTE}" in lines


@pytest.mark.parametrize(
    "argv",
    [
        ["trends", "--division", "Citywide"],
        ["accuracy", "--cell-size", "8000", "--permutations", "99"],
        ["near-repeat", "--permutations", "99"],
        ["clearance"],
    ],
    ids=lambda a: a[0],
)
def test_every_exported_column_is_described(argv, settings, tmp_path, monkeypatch, capsys):
    from geo.cli import main
    from geo.output.dictionary import NO_DESCRIPTION

    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))
    path = tmp_path / f"{argv[0]}.csv"
    assert main([*argv, "--out", str(path)]) == 0
    capsys.readouterr()
    written = pd.read_csv(path, nrows=1).columns.tolist()
    dictionary = pd.read_csv(tmp_path / f"{argv[0]}.dictionary.csv", keep_default_na=False)
    assert dictionary["name"].tolist() == written
    missing = dictionary.loc[dictionary["meaning"].isin([NO_DESCRIPTION, ""]), "name"].tolist()
    assert missing == [], f"{argv[0]}: columns without a description: {missing}"
    assert json.loads((tmp_path / f"{argv[0]}.metadata.json").read_text())["undescribed_columns"] == []
