"""``python -m geo regress`` in-process on the real NPA layer, checked against statsmodels and spreg."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pyogrio
import pytest

from geo.caveats import ECOLOGICAL_FALLACY_CAVEAT

Y, X1, X2 = "violent_rate_2022", "disorder_rate_2022", "pop_2020"


@pytest.fixture(autouse=True)
def _cache(settings, monkeypatch):
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))


def _main(argv):
    from geo.cli import main

    return main(["regress", *argv])


def _complete(npa_layer, cols):
    ok = np.isfinite(npa_layer[cols].to_numpy(dtype=float)).all(axis=1)
    return npa_layer[ok], int((~ok).sum())


def test_ols_json_matches_statsmodels_hc1(npa_layer, capsys):
    import statsmodels.api as sm

    assert _main(["--layer", "npa", "--y", Y, "--x", X1, "--x", X2, "--model", "ols", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    used, dropped = _complete(npa_layer, [Y, X1, X2])
    assert out["dropped_for_missing"] == dropped == out["n_units"] - out["n_used"] and dropped > 0
    assert out["missing"][Y] == int(npa_layer[Y].isna().sum())
    ref = sm.OLS(used[Y].to_numpy(), sm.add_constant(used[[X1, X2]].to_numpy())).fit(cov_type="HC1", use_t=True)
    coef = {r["term"]: r for r in out["coefficients"]}
    assert list(coef) == ["CONSTANT", X1, X2]
    np.testing.assert_allclose([coef[t]["estimate"] for t in coef], ref.params, rtol=1e-8)
    np.testing.assert_allclose([coef[t]["std_error"] for t in coef], ref.bse, rtol=1e-6)
    ci = ref.conf_int(0.05)
    np.testing.assert_allclose([coef[t]["ci_low"] for t in coef], ci[:, 0], rtol=1e-6)
    np.testing.assert_allclose([coef[t]["ci_high"] for t in coef], ci[:, 1], rtol=1e-6)
    assert out["caveat"] == ECOLOGICAL_FALLACY_CAVEAT


def test_lag_text_has_intervals_caveat_and_export(npa_layer, tmp_path, capsys):
    import libpysal
    import spreg

    path = tmp_path / "reg.gpkg"
    assert _main(["--y", Y, "--x", X1, "--model", "lag", "--out", str(path)]) == 0
    text = capsys.readouterr().out
    lines = text.strip().splitlines()
    assert lines[-1] == f"caveat: {ECOLOGICAL_FALLACY_CAVEAT}"
    _, dropped = _complete(npa_layer, [Y, X1])
    assert f"{dropped} dropped for missing values" in text
    for line in (ln for ln in lines if ln.startswith(f"  {X1}:") or ln.startswith(f"  W_{Y}:")):
        assert "95% interval" in line
    assert [n for n, _ in pyogrio.list_layers(path)] == ["regression_npa_lag", "regression_npa_lag_dictionary"]
    back = pyogrio.read_dataframe(path, layer="regression_npa_lag")
    meta = pyogrio.read_dataframe(path, layer="regression_npa_lag_dictionary")
    assert {"fitted", "residual", "used"} <= set(meta["name"]) and "no description" not in set(meta["meaning"])
    # the lag model's fitted values and residuals are spreg's predy and u, on the same rows and weights
    used, _ = _complete(npa_layer, [Y, X1])
    w = libpysal.weights.Queen.from_dataframe(used, use_index=False, silence_warnings=True)
    w.transform = "r"
    with warnings.catch_warnings():  # spreg's own pandas deprecation noise
        warnings.simplefilter("ignore")
        ref = spreg.ML_Lag(used[[Y]].to_numpy(), used[[X1]].to_numpy(), w=w)
    got = back.set_index("npa").loc[used["npa"]]
    np.testing.assert_allclose(got["fitted"], ref.predy.ravel(), rtol=1e-4)
    np.testing.assert_allclose(got["residual"], ref.u.ravel(), rtol=1e-3, atol=1e-3)
    assert int((~back["used"].astype(bool)).sum()) == dropped


def test_quality_of_life_metric_by_id(npa_layer, settings, capsys):
    from geo.layers import records

    assert _main(["--y", Y, "--x", "m2", "--model", "ols", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    title = records.qol_catalogue(settings).set_index("metric").loc["m2", "title"]
    assert out["covariates"] == ["m2_2021"] and out["labels"]["m2_2021"] == f"{title} 2021"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--y", Y, "--x", "nope"], r"'nope' is not a variable .*violent_rate_YYYY .*m58 Crime - Violent"),
        (["--y", "nope_y", "--x", X1], r"'nope_y'"),
        (["--y", Y, "--x", "m2_1999"], r"m2 .*has values for 2021 only"),
        (["--y", Y, "--x", X1, "--out", "x.txt"], r"\.geojson, \.gpkg or \.csv"),
        (["--y", Y, "--x", Y], r"each variable may be used once"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    import re

    assert _main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert re.search(message, err)
