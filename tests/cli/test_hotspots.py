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
        (["--layer", "incidents", "--variable", "violent_crimes", "--method", "ehsa"], "does not apply"),
        (["--layer", "npa", "--method", "lisa"], "needs --variable"),
        (["--layer", "npa", "--variable", "violent_rate_2022", "--method", "bilisa"], "at least one --covariate"),
        (["--layer", "divisions", "--variable", "stops", "--method", "partial", "--covariate", "x"], "--layer npa"),
        (
            ["--layer", "npa", "--variable", "v", "--method", "bilisa", "--covariate", "a", "--covariate", "b"],
            "takes one --covariate",
        ),
        (["--layer", "npa", "--variable", "violent_rate_2022", "--method", "lisa", "--covariate", "x"], "bilisa"),
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


# --- issue 13 and 14: the cube of incident points and the bivariate statistics, on the real layers ---


@pytest.fixture
def real(settings, monkeypatch):
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))
    return settings


def test_incident_cube_ehsa_matches_emerging_cube(real, tmp_path, capsys):
    import json

    import pyogrio

    from geo.analysis.spacetime import emerging_cube
    from geo.layers import build, records

    out = tmp_path / "cube.gpkg"
    argv = ["--layer", "incidents", "--method", "ehsa", "--time-step", "year", "--cell-size", "8000"]
    assert _main([*argv, "--permutations", "99", "--seed", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "1-in-61 sample" in text and "ehsa_category" in text
    ref = emerging_cube(
        records.incident_points(real), boundary=build.npa(real), cell_size=8000, step="year", permutations=99, seed=1
    )
    assert ref.lines[0] in text
    assert [n for n, _ in pyogrio.list_layers(out)] == ["hotspots_incidents_ehsa", "hotspots_incidents_ehsa_dictionary"]
    back = pyogrio.read_dataframe(out, layer="hotspots_incidents_ehsa").set_index("cell_id")
    frame = ref.frame.set_index("cell_id")
    assert back.loc[frame.index, "ehsa_category"].tolist() == frame["ehsa_category"].tolist()
    np.testing.assert_allclose(back.loc[frame.index, "count_trend_p"], frame["count_trend_p"])
    assert set(back["step"]) == {"year"} and set(back["permutations"]) == {99}
    meta = json.loads((tmp_path / "cube.metadata.json").read_text())
    assert meta["undescribed_columns"] == []
    # JSON: the same table, machine-readable
    assert _main([*argv, "--permutations", "99", "--seed", "1", "--json"]) == 0
    table = pd.DataFrame(json.loads(capsys.readouterr().out)["table"])
    assert table["hot_recent"].tolist() == frame["hot_recent"].tolist()


def test_bilisa_json_matches_local_moran_bv(real, npa_layer, capsys):
    import json

    from geo.stats.bivariate import local_moran_bv
    from geo.stats.weights import build_weights

    argv = ["--layer", "npa", "--method", "bilisa", "--variable", "violent_rate_2022"]
    assert _main([*argv, "--covariate", "disorder_rate_2022", "--permutations", "99", "--seed", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    w = build_weights(npa_layer, method="queen", id_column="npa")
    ref = local_moran_bv(
        npa_layer, "violent_rate_2022", "disorder_rate_2022", weights=w, permutations=99, seed=4, correction="fdr"
    )
    table = pd.DataFrame(out["table"])
    np.testing.assert_allclose(table["bv_i"].astype(float), ref.frame["bv_i"], equal_nan=True)
    assert table["bv_cluster"].tolist() == ref.frame["bv_cluster"].tolist()
    assert any(f"global bivariate Moran's I = {ref.extra['global_bv']:.4f}" in ln for ln in out["lines"])
    assert out["lines"][-1].startswith("caveat: ")


@pytest.mark.parametrize("method", ["partial", "conditional", "geary_mv"])
def test_covariate_methods_with_a_quality_of_life_metric(real, npa_layer, tmp_path, capsys, method):
    import pyogrio

    from geo.layers import records
    from geo.stats import bivariate
    from geo.stats.weights import build_weights

    out = tmp_path / f"{method}.geojson"
    argv = ["--layer", "npa", "--method", method, "--variable", "violent_rate_2022", "--covariate", "m2"]
    assert _main([*argv, "--permutations", "99", "--seed", "5", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "m2_2021: Age of Residents 2021" in text and "Undefined" in text
    metrics = records.qol_metrics(real)
    age = metrics[(metrics["metric"] == "m2") & (metrics["year"] == 2021)].set_index("npa")["value"]
    layer = npa_layer.assign(m2_2021=npa_layer["npa"].map(age).astype(float))
    w = build_weights(layer, method="queen", id_column="npa")
    opts = dict(weights=w, permutations=99, seed=5, correction="fdr")
    if method == "geary_mv":
        ref, col = bivariate.local_geary_mv(layer, ["violent_rate_2022", "m2_2021"], **opts), "mgeary_cluster"
    else:
        fn = bivariate.local_moran_partial if method == "partial" else bivariate.local_moran_conditional
        ref = fn(layer, "violent_rate_2022", covariates=["m2_2021"], **opts)
        col = "plisa_cluster" if method == "partial" else "clisa_cluster"
    back = pyogrio.read_dataframe(out)
    assert back[col].tolist() == ref.frame[col].tolist()
    np.testing.assert_allclose(back["m2_2021"].astype(float), layer["m2_2021"], equal_nan=True)
    dictionary = pd.read_csv(tmp_path / f"{method}.dictionary.csv")
    assert "no description" not in set(dictionary["meaning"])


def test_bad_factor_variable_lists_valid_names(real, tmp_path, capsys):
    argv = ["--layer", "npa", "--method", "bilisa", "--variable", "violent_rate_2022", "--covariate", "nope"]
    assert _main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'nope' is not a variable" in err and "m2 Age of Residents" in err
