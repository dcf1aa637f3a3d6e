"""``python -m geo hotspots`` through geo.cli.main, with the layers replaced by test layers."""

from __future__ import annotations

import argparse

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo.cli import hotspots
from tests.helpers.data import SHARED
from tests.helpers.lattices import lattice_gdf


@pytest.fixture
def layers(monkeypatch, npa_layer):
    npa = npa_layer.copy()
    npa["pop_2020"] = npa["rate_pop_2020"]
    divisions = lattice_gdf(2, 7, np.arange(14.0) * 10 + 5, column="stops")
    divisions["division"] = [f"D{i}" for i in range(14)]
    divisions["pop_2020"] = 1000.0 + np.arange(14)
    df = pd.read_csv(SHARED / "points" / "CMPD_Incidents_sample5000.csv", usecols=["X_COORD_PUBLIC", "Y_COORD_PUBLIC"])
    incidents = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(df["X_COORD_PUBLIC"], df["Y_COORD_PUBLIC"]), crs="EPSG:2264"
    )
    frames = {"npa": npa, "divisions": divisions, "incidents": incidents}
    from geo.layers import catalog

    monkeypatch.setattr(catalog, "get_layer", lambda name, **kw: frames[name].copy())
    return frames


def _main(argv):
    from geo.cli import main

    return main(["hotspots", *argv])


def test_lisa_writes_geojson_and_prints_summary(layers, tmp_path, capsys):
    out = tmp_path / "lisa.geojson"
    rc = _main(
        [
            "--layer",
            "npa",
            "--variable",
            "violent_rate_2022",
            "--method",
            "lisa",
            "--permutations",
            "999",
            "--seed",
            "1",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "global Moran's I = 0.4196" in text
    assert "Undefined: 88" in text
    g = gpd.read_file(out)
    assert len(g) == 459 and g.crs.to_epsg() == 4326
    assert set(g["lisa_cluster"]) <= {"High-High", "Low-Low", "High-Low", "Low-High", "Not significant", "Undefined"}


def test_gi_per_capita_knn_fdr_to_gpkg(layers, tmp_path, capsys):
    out = tmp_path / "gi.gpkg"
    rc = _main(
        [
            "--layer",
            "npa",
            "--variable",
            "violent_crimes_2022",
            "--per-capita",
            "--method",
            "gi",
            "--weights",
            "knn",
            "--k",
            "8",
            "--correction",
            "fdr",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    g = gpd.read_file(out)
    # per capita = count / rate_pop_2022 * 1000 = the published rate per 1,000
    np.testing.assert_allclose(g["violent_crimes_2022_per_1000_pop"], g["violent_rate_2022"], rtol=1e-9)
    assert g.crs.to_epsg() == 2264
    assert "Hot Spot with 99% Confidence" in capsys.readouterr().out


def test_moran_and_ehsa(layers, tmp_path, capsys):
    assert (
        _main(
            [
                "--layer",
                "npa",
                "--variable",
                "violent_rate_2022",
                "--method",
                "moran",
                "--permutations",
                "99",
                "--out",
                str(tmp_path / "m.geojson"),
            ]
        )
        == 0
    )
    assert "global Moran's I of violent_rate_2022" in capsys.readouterr().out
    assert (
        _main(
            [
                "--layer",
                "npa",
                "--variable",
                "violent_crimes",
                "--method",
                "ehsa",
                "--permutations",
                "99",
                "--out",
                str(tmp_path / "e.geojson"),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "emerging hot spots over 10 steps (2011 .. 2022)" in text
    g = gpd.read_file(tmp_path / "e.geojson")
    assert (g["ehsa_category"] == "Undefined").sum() == 88


def test_weights_cached_in_the_settings_cache_folder(layers, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CMPD_CACHE_DIR", str(tmp_path / "cache"))
    argv = ["--layer", "npa", "--variable", "violent_rate_2022", "--method", "gi", "--out", str(tmp_path / "g.geojson")]
    assert _main(argv) == 0
    assert len(list((tmp_path / "cache" / "weights").glob("queen-459-*.npz"))) == 1


def test_divisions_flagged_as_too_few(layers, tmp_path, capsys):
    assert (
        _main(
            [
                "--layer",
                "divisions",
                "--variable",
                "stops",
                "--per-capita",
                "--method",
                "lisa",
                "--permutations",
                "99",
                "--out",
                str(tmp_path / "d.geojson"),
            ]
        )
        == 0
    )
    assert "too few for local inference" in capsys.readouterr().out


def test_incidents_optimized_hotspots(layers, tmp_path, capsys):
    assert (
        _main(["--layer", "incidents", "--variable", "count", "--method", "gi", "--out", str(tmp_path / "h.geojson")])
        == 0
    )
    assert "5,000 points" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--layer", "npa", "--variable", "nope", "--method", "lisa"], "'nope' is not a column"),
        (
            ["--layer", "npa", "--variable", "violent_rate_2022", "--method", "lisa", "--weights", "knn", "--k", "500"],
            "k must be between 1 and n - 1 = 458",
        ),
        (
            ["--layer", "npa", "--variable", "violent_rate_2022", "--method", "lisa", "--permutations", "5"],
            "permutations must be 99 to 99,999",
        ),
        (["--layer", "npa", "--variable", "nope", "--method", "ehsa"], "Prefixes available: .*violent_crimes"),
        (["--layer", "incidents", "--variable", "count", "--method", "lisa"], "--method gi"),
    ],
)
def test_bad_arguments_exit_2_with_message(layers, tmp_path, capsys, argv, message):
    assert _main([*argv, "--out", str(tmp_path / "x.geojson")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    import re

    assert re.search(message, err)


def test_bad_output_extension(layers, tmp_path, capsys):
    assert (
        _main(
            ["--layer", "npa", "--variable", "violent_rate_2022", "--method", "lisa", "--out", str(tmp_path / "x.txt")]
        )
        == 2
    )
    assert ".geojson or .gpkg" in capsys.readouterr().err


def test_parser_choices():
    parser = argparse.ArgumentParser()
    hotspots.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["hotspots", "--layer", "npa", "--variable", "v", "--method", "gi", "--out", "o.geojson"])
    assert args.weights == "queen" and args.correction == "fdr" and not args.per_capita
    with pytest.raises(SystemExit):
        parser.parse_args(["hotspots", "--layer", "tracts", "--variable", "v", "--method", "gi", "--out", "o.geojson"])
