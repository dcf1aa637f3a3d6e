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
    import pyogrio

    assert [name for name, _ in pyogrio.list_layers(out)] == ["hotspots_npa_gi", "hotspots_npa_gi_dictionary"]
    g = gpd.read_file(out, layer="hotspots_npa_gi").set_index("npa")
    # per capita = count / rate_pop_2022 * 1000 = the published rate per 1,000
    published = layers["npa"].set_index("npa").loc[g.index, "violent_rate_2022"]
    np.testing.assert_allclose(g["violent_crimes_2022_per_1000_pop"], published, rtol=1e-9)
    assert g.crs.to_epsg() == 2264
    assert set(g["weights"]) == {"knn (k=8)"} and set(g["correction"]) == {"fdr"}
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
        (["--layer", "incidents", "--variable", "count", "--method", "ehsa"], "yearly values"),
        (["--layer", "npa", "--variable", "violent_rate_2022", "--method", "lisa", "--per-capita"], "already a rate"),
        (["--layer", "npa", "--variable", "violent_rate_2022", "--method", "moran", "--correction", "fdr"], "one test"),
        (["--layer", "npa", "--variable", "violent_rate_2022", "--method", "lisa", "--gi-inference", "normal"], "Gi"),
        (["--layer", "npa", "--variable", "v", "--method", "lisa", "--id-column", "npa"], "polygon file of your own"),
        (["--layer", "tracts", "--variable", "v", "--method", "gi"], "tracts: no such file"),
        (
            ["--layer", "npa", "--variable", "violent_crimes_2022", "--method", "lisa", "--smoothing", "eb"],
            "per_capita",
        ),
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
    assert ".geojson, .gpkg or .csv" in capsys.readouterr().err


def test_parser_choices():
    parser = argparse.ArgumentParser()
    hotspots.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["hotspots", "--layer", "npa", "--variable", "v", "--method", "gi", "--out", "o.geojson"])
    # None: run_hotspots fills in the one default (queen, fdr for local methods, permutation p for Gi*)
    assert args.weights is None and args.correction is None and args.gi_inference is None and not args.per_capita
    with pytest.raises(SystemExit):
        parser.parse_args(["hotspots", "--layer", "npa", "--variable", "v", "--method", "gi", "--gi-inference", "x"])


def _gi(layers, tmp_path, *extra):
    out = tmp_path / "gi.geojson"
    argv = ["--layer", "npa", "--variable", "violent_rate_2022", "--method", "gi", "--permutations", "999", *extra]
    assert _main([*argv, "--out", str(out)]) == 0
    return gpd.read_file(out)


def test_gi_bins_use_permutation_p_by_default_and_normal_on_request(layers, tmp_path, capsys):
    # the old command line binned Gi* by the normal p unless told otherwise, the app by permutation p
    g = _gi(layers, tmp_path)
    ok = g["gi_p"].notna()
    np.testing.assert_array_equal(g.loc[ok, "gi_p"], g.loc[ok, "gi_p_sim"])
    normal = _gi(layers, tmp_path, "--gi-inference", "normal")
    np.testing.assert_array_equal(normal.loc[ok, "gi_p"], normal.loc[ok, "gi_p_norm"])
    # skewed rates: the normal p calls more hot spots than the permutation p
    hot = lambda f: int(f["gi_label"].str.startswith("Hot").sum())  # noqa: E731
    assert hot(normal) > hot(g)


def test_gi_alpha_is_applied(layers, tmp_path, capsys):
    loose = _gi(layers, tmp_path, "--alpha", "0.1", "--correction", "none")
    strict = _gi(layers, tmp_path, "--alpha", "0.01", "--correction", "none")
    assert loose["gi_label"].str.contains("90%").any()
    assert not strict["gi_label"].str.contains("90%|95%").any()
    assert strict["gi_label"].str.contains("99%").sum() == loose["gi_label"].str.contains("99%").sum()


def test_incidents_correction_none_is_kept(layers, tmp_path, capsys):
    # the old command line turned --correction none into fdr for the incident layer
    out = tmp_path / "h.geojson"
    argv = ["--layer", "incidents", "--variable", "count", "--method", "gi", "--correction", "none"]
    assert _main([*argv, "--permutations", "99", "--out", str(out)]) == 0
    fdr = tmp_path / "f.geojson"
    argv = ["--layer", "incidents", "--variable", "count", "--method", "gi", "--correction", "fdr"]
    assert _main([*argv, "--permutations", "99", "--out", str(fdr)]) == 0
    none, with_fdr = gpd.read_file(out), gpd.read_file(fdr)
    assert (none["gi_bin"] != 0).sum() > (with_fdr["gi_bin"] != 0).sum()


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".shp", ".parquet"])
def test_own_polygon_layer(layers, tmp_path, capsys, suffix):
    own = layers["npa"][["npa", "violent_crimes_2022", "rate_pop_2022", "geometry"]].to_crs("EPSG:4326")
    own = own.rename(columns={"npa": "area_id", "violent_crimes_2022": "crimes", "rate_pop_2022": "people"})
    path = tmp_path / f"mine{suffix}"
    if suffix == ".parquet":
        own.to_parquet(path)
    else:
        own.to_file(path)
    out = tmp_path / "own.geojson"
    argv = ["--layer", str(path), "--id-column", "area_id", "--variable", "crimes", "--per-capita"]
    assert _main([*argv, "--population", "people", "--method", "lisa", "--permutations", "999", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "459 areas read, 459 kept" in text and "projected from" in text
    g = gpd.read_file(out).set_index("area_id").sort_index()
    assert len(g) == 459 and set(g.index) == set(own["area_id"])
    assert g["lisa_cluster"].eq("High-High").any()
    # the same analysis as the built-in NPA layer's
    ref = tmp_path / "ref.geojson"
    argv = ["--layer", "npa", "--variable", "violent_crimes_2022", "--per-capita", "--method", "lisa"]
    assert _main([*argv, "--permutations", "999", "--out", str(ref)]) == 0
    r = gpd.read_file(ref).set_index("npa").sort_index()
    np.testing.assert_allclose(g["crimes_per_1000_pop"], r["violent_crimes_2022_per_1000_pop"], rtol=1e-12)
    assert g["lisa_cluster"].tolist() == r["lisa_cluster"].tolist()


def test_own_polygon_layer_errors(layers, tmp_path, capsys):
    own = layers["npa"][["npa", "violent_crimes_2022", "geometry"]].copy()
    own.loc[3, "npa"] = own.loc[2, "npa"]
    path = tmp_path / "dup.gpkg"
    own.to_file(path)
    base = [
        "--layer",
        str(path),
        "--variable",
        "violent_crimes_2022",
        "--method",
        "gi",
        "--out",
        str(tmp_path / "x.geojson"),
    ]
    assert _main([*base, "--id-column", "npa"]) == 2
    err = capsys.readouterr().err
    assert "repeated id" in err and "rows 3, 4" in err
    assert _main([*base, "--id-column", "name"]) == 2
    assert "no column 'name'" in capsys.readouterr().err
    assert _main(base) == 2
    assert "--id-column" in capsys.readouterr().err
    good = tmp_path / "good.gpkg"
    layers["npa"][["npa", "violent_crimes_2022", "geometry"]].to_file(good)
    base[1] = str(good)
    assert _main([*base, "--id-column", "npa", "--per-capita"]) == 2
    assert "--population" in capsys.readouterr().err


def test_robustness_run_writes_counts_per_unit(layers, tmp_path, capsys):
    out = tmp_path / "robust.geojson"
    argv = ["--layer", "npa", "--variable", "violent_crimes_2022", "--per-capita", "--method", "lisa"]
    assert _main([*argv, "--robustness", "--permutations", "99", "--correction", "none", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "18 runs = 6 weights" in text and "note: rate per 1,000 residents" in text
    g = gpd.read_file(out)
    assert len(g) == 459
    tested = g["robust_runs"] > 0
    assert (g.loc[tested, "robust_hot"] + g.loc[tested, "robust_cold"] <= g.loc[tested, "robust_runs"]).all()
    assert (g.loc[~tested, "robust_class"] == "Not tested").all()
    # the robustness run chooses its own weights: a weights option is refused, not ignored
    assert _main([*argv, "--robustness", "--weights", "rook", "--out", str(out)]) == 2
    assert "chooses its own weights" in capsys.readouterr().err
    assert _main([*argv, "--robustness", "--method", "moran", "--out", str(out)]) == 2
