"""Hot-spot results as export layers: real runs on the NPAs, written and read back with their options."""

from __future__ import annotations

import json
import sqlite3
import warnings

import numpy as np
import pandas as pd
import pyogrio
import pytest

import geo
from geo.analysis.hotspots import run_hotspots
from geo.analysis.robustness import WeightsSpec, robustness
from geo.output.dictionary import undescribed
from geo.output.results import result_layer, result_name, write_result

VARIABLE = "violent_crimes_2022"


@pytest.fixture(scope="module")
def lisa_run(npa_layer):
    return run_hotspots(
        npa_layer, layer="npa", variable=VARIABLE, per_capita=True, method="lisa", permutations=99, seed=1
    )


def test_lisa_result_layer_has_values_statistics_and_options(lisa_run):
    res = result_layer(lisa_run)
    assert res.name == "hotspots_npa_lisa" == result_name(lisa_run)
    cols = list(res.frame.columns)
    rate = "violent_crimes_2022_per_1000_pop"
    assert cols[:4] == ["npa", VARIABLE, "rate_pop_2022", rate]
    assert {"lisa_i", "lisa_z", "lisa_p", "lisa_quadrant", "lisa_cluster", "lisa_significance"} <= set(cols)
    assert cols[-8:] == ["method", "weights", "permutations", "seed", "alpha", "correction", "p_cutoff", "geometry"]
    row = res.frame.iloc[0]
    assert (row["method"], row["weights"], row["permutations"], row["seed"]) == ("lisa", "queen", 99, 1)
    assert row["correction"] == lisa_run.result.correction and row["alpha"] == lisa_run.result.alpha
    np.testing.assert_allclose(res.frame["lisa_p"], lisa_run.frame["lisa_p"])
    assert undescribed(res.dictionary) == []
    params = res.parameters
    assert params["permutations"] == 99 and params["seed"] == 1 and params["variable"] == rate
    assert params["statistic"] == "local_moran" and params["notes"]
    json.dumps(params)  # JSON as it is (numbers, text, lists)


def test_write_result_gpkg_round_trip(lisa_run, settings, tmp_path):
    out = write_result(lisa_run, tmp_path / "lisa.gpkg", settings=settings)
    assert pyogrio.list_layers(out.path).tolist() == [
        ["hotspots_npa_lisa", "Polygon"],
        ["hotspots_npa_lisa_dictionary", None],
    ]
    back = pyogrio.read_dataframe(out.path, layer="hotspots_npa_lisa")
    np.testing.assert_allclose(back["lisa_p"], lisa_run.frame["lisa_p"])
    assert back["lisa_cluster"].tolist() == lisa_run.frame["lisa_cluster"].tolist()
    with sqlite3.connect(out.path) as con:
        (text,) = con.execute("SELECT metadata FROM gpkg_metadata").fetchone()
    meta = json.loads(text)
    assert meta["software"]["version"] == geo.__version__
    assert meta["parameters"]["permutations"] == 99 and meta["parameters"]["weights"] == "queen"
    assert meta["stop_filter"]["applies"] is False  # NPA crime counts do not come from the stops


def test_write_result_csv_and_geojson(lisa_run, settings, tmp_path):
    csv = write_result(lisa_run, tmp_path / "lisa.csv", settings=settings)
    table = pd.read_csv(csv.path)
    assert csv.geometry == "wkt" and len(table) == 459
    assert table["method"].eq("lisa").all() and set(table["lisa_cluster"]) <= {
        "High-High", "Low-Low", "High-Low", "Low-High", "Not significant", "Isolated", "Undefined",
    }  # fmt: skip
    gj = write_result(lisa_run, tmp_path / "lisa.geojson", settings=settings)
    meta = json.loads((tmp_path / "lisa.metadata.json").read_text())
    assert meta["layer"] == "hotspots_npa_lisa" and meta["parameters"]["seed"] == 1
    assert pyogrio.read_dataframe(gj.path)["lisa_p"].notna().sum() == lisa_run.frame["lisa_p"].notna().sum()


@pytest.mark.parametrize("method", ["gi", "ehsa", "moran"])
def test_other_methods_are_layers_too(npa_layer, method):
    variable = "violent_crimes" if method == "ehsa" else VARIABLE
    run = run_hotspots(
        npa_layer, layer="npa", variable=variable, per_capita=True, method=method, permutations=99, seed=1
    )
    res = result_layer(run)
    cols = set(res.frame.columns)
    assert res.name == f"hotspots_npa_{method}" and undescribed(res.dictionary) == []
    if method == "gi":
        assert {"gi_z", "gi_p", "gi_bin", "gi_label", "p_cutoff"} <= cols
    elif method == "ehsa":
        assert {"ehsa_category", "ehsa_trend_tau", "ehsa_z_2022", "ehsa_p_2022", "violent_crimes_2011"} <= cols
        np.testing.assert_allclose(res.frame["ehsa_z_2022"], run.result.z["2022"])
        assert res.parameters["time_lag"] == 1
    else:
        assert {"moran_z", "moran_lag", "permutations"} <= cols
        assert res.parameters["global_moran"]["I"] == pytest.approx(run.result.statistic.I)


def test_robustness_is_a_layer(npa_2022):
    rob = robustness(
        npa_2022, "violent_rate_2022", specs=(WeightsSpec("queen", "queen"), WeightsSpec("knn-6", "knn", k=6)),
        seeds=(1,), permutations=99, id_column="npa",
    )  # fmt: skip
    res = result_layer(rob, layer="npa")
    assert res.name == "hotspots_npa_robustness_lisa"
    assert {"robust_runs", "robust_hot", "robust_class", "violent_rate_2022"} <= set(res.frame.columns)
    row = res.frame.iloc[0]
    assert row["method"] == "robustness (lisa)" and row["weights"] == "queen; knn-6" and row["seed"] == "1"
    assert res.parameters["runs"] == 2 and undescribed(res.dictionary) == []


def test_refuses_other_objects():
    with pytest.raises(TypeError, match="needs a HotspotRun or a RobustnessResult"):
        result_layer(object())  # type: ignore[arg-type]


# --- the layers of the space-time cube, the bivariate statistics and the regression ---


def test_regression_fit_is_spreg_ols_predy_and_u(npa_layer):
    import libpysal
    import spreg

    from geo.analysis.regression import spatial_regression
    from geo.output.results import regression_fit, regression_layer

    cols = ["violent_rate_2022", "disorder_rate_2022"]
    res = spatial_regression(npa_layer, cols[0], cols[1:], model="ols")
    fit = regression_fit(res, npa_layer)
    ok = np.isfinite(npa_layer[cols].to_numpy(dtype=float)).all(axis=1)
    assert fit["used"].tolist() == ok.tolist() and fit.loc[~ok, "fitted"].isna().all()
    used = npa_layer[ok]
    w = libpysal.weights.Queen.from_dataframe(used, use_index=False, silence_warnings=True)
    with warnings.catch_warnings():  # spreg's own pandas deprecation noise
        warnings.simplefilter("ignore")
        ref = spreg.OLS(used[[cols[0]]].to_numpy(), used[[cols[1]]].to_numpy(), w=w)
    np.testing.assert_allclose(fit.loc[ok, "fitted"], ref.predy.ravel(), rtol=1e-9)
    np.testing.assert_allclose(fit.loc[ok, "residual"], ref.u.ravel(), rtol=1e-9, atol=1e-9)
    layer = regression_layer(res, npa_layer)
    assert layer.name == "regression_npa_ols" and undescribed(layer.dictionary) == []
    assert layer.parameters["caveat"] == res.caveat and layer.parameters["dropped"] == int((~ok).sum())
    assert all(r["ci_low"] is not None for r in layer.parameters["coefficients"])


def test_local_layer_of_a_bivariate_lisa(npa_layer, tmp_path, settings):
    from geo.output.results import local_layer
    from geo.stats.bivariate import local_moran_bv

    res = local_moran_bv(npa_layer, "violent_rate_2022", "disorder_rate_2022", permutations=99, seed=1)
    layer = local_layer(res)
    assert layer.name == "hotspots_npa_bilisa" and undescribed(layer.dictionary) == []
    cols = list(layer.frame.columns)
    assert cols[:3] == ["npa", "violent_rate_2022", "disorder_rate_2022"] and cols[-1] == "geometry"
    assert set(layer.frame["method"]) == {"bilisa"} and set(layer.frame["permutations"]) == {99}
    out = write_result(layer, tmp_path / "bv.geojson", settings=settings)
    back = pyogrio.read_dataframe(out.path)
    assert back["bv_cluster"].tolist() == res.frame["bv_cluster"].tolist()
    assert json.loads((tmp_path / "bv.metadata.json").read_text())["undescribed_columns"] == []


def test_cube_layer_has_cells_counts_and_options(settings):
    from geo.analysis.spacetime import emerging_cube
    from geo.layers import build, records
    from geo.output.results import cube_layer

    res = emerging_cube(
        records.cube_points(settings), boundary=build.npa(settings), cell_size=10000, step="year",
        permutations=99, seed=1,
    )  # fmt: skip
    layer = cube_layer(res)
    assert undescribed(layer.dictionary) == []
    frame = layer.frame
    steps = [c for c in frame.columns if c.startswith("count_2")]
    assert len(steps) == res.cube.n_steps
    np.testing.assert_array_equal(frame[steps].sum(axis=1), frame["total"])
    assert (frame["ehsa_hot_steps"] >= frame["hot_recent"]).all()
    assert set(frame["recent_steps"]) == {min(8, res.cube.n_steps)} and set(frame["method"]) == {"ehsa"}
    assert layer.parameters["summary"] == list(res.lines)
    step = layer.dictionary.set_index("name").loc[steps[0]]
    assert res.parameters["points_dataset"] == "incidents_points"
    assert step["meaning"].startswith("Sample incidents") and step["source"] == "incidents_points"
