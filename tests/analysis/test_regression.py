"""Spatial regression on the NPAs: statsmodels for OLS, direct spreg calls for the rest, hand computations."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from geo.analysis.regression import ECOLOGICAL_FALLACY_CAVEAT, MISSING_ROWS, spatial_regression
from geo.analysis.regression_diagnostics import choose_model, condition_number, variance_inflation
from geo.errors import ValueDomainError
from geo.stats.weights import build_weights

Y, COVS = "violent_rate_2022", ["disorder_rate_2022", "income", "pop_2020"]


def _quiet(fn, *args, **kwargs):
    """A direct spreg call; its pandas deprecation noise is not what is tested."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.Pandas4Warning)
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def layer(npa_layer):
    hh = npa_layer["households_2021"].where(npa_layer["households_2021"] > 0)
    return npa_layer.assign(income=npa_layer["household_income_aggregate_2021"] / hh)


@pytest.fixture(scope="module")
def rows(layer):
    keep = layer[[Y, *COVS]].notna().all(axis=1)
    return keep, layer[keep]


@pytest.fixture(scope="module")
def spreg_w(rows):
    from libpysal.weights import WSP

    w = WSP(build_weights(rows[1], method="queen").matrix("O")).to_W(silence_warnings=True)
    w.transform = "r"
    return w


@pytest.fixture(scope="module")
def auto(layer):
    return spatial_regression(layer, Y, COVS, weights="queen", model="auto", robust="white", seed=1)


def test_ols_equals_statsmodels_on_the_same_rows(layer, rows):
    sm = pytest.importorskip("statsmodels.api")
    res = spatial_regression(layer, Y, COVS, model="ols", robust="white")
    d = rows[1]
    fit = sm.OLS(d[Y].to_numpy(), sm.add_constant(d[COVS].to_numpy())).fit(cov_type="HC1")
    t = res.coefficients
    np.testing.assert_allclose(t["estimate"], fit.params, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(t["std_error"], fit.bse, rtol=1e-8)
    lo, hi = fit.conf_int(alpha=0.05).T  # statsmodels' robust fit uses the normal; ours Student's t
    assert ((t["ci_low"] <= lo + 1e-12) & (t["ci_high"] >= hi - 1e-12)).all()
    assert res.fit["r2"] == pytest.approx(fit.rsquared, abs=1e-10)
    assert res.n_used == int(rows[0].sum()) and res.model == "ols"
    z = sm.OLS(d[Y].to_numpy(), sm.add_constant(d[COVS].to_numpy())).fit()
    std = spatial_regression(layer, Y, COVS, model="ols", robust="none", standardise=True)
    sd = d[[Y, *COVS]].std(ddof=1).to_numpy()
    np.testing.assert_allclose(std.coefficients["estimate"].iloc[1:], z.params[1:] * sd[1:] / sd[0], rtol=1e-8)


def test_missing_values_are_dropped_and_counted(layer, rows, auto):
    keep = rows[0]
    assert auto.n_units == len(layer) and auto.n_used == int(keep.sum())
    assert auto.dropped == tuple(layer.index[~keep])
    assert auto.missing == {c: int(layer[c].isna().sum()) for c in [Y, *COVS]}
    warn = [w for w in auto.warnings if w.code == MISSING_ROWS]
    assert len(warn) == 1 and f"{(~keep).sum()} of {len(layer)} units" in str(warn[0])


def test_diagnostics_and_auto_model_equal_direct_spreg_calls(rows, spreg_w, auto):
    import spreg

    d = rows[1]
    y, x = d[[Y]].to_numpy(), d[COVS].to_numpy()
    ols = _quiet(spreg.OLS, y, x, w=spreg_w, spat_diag=True, moran=True)
    diag = auto.diagnostics.set_index("test")
    for name, attr in (("LM-lag", "lm_lag"), ("LM-error", "lm_error"), ("robust LM-lag", "rlm_lag"),
                       ("robust LM-error", "rlm_error"), ("LM-SARMA", "lm_sarma")):  # fmt: skip
        assert diag.loc[name, "statistic"] == pytest.approx(getattr(ols, attr)[0], rel=1e-10)
        assert diag.loc[name, "p_value"] == pytest.approx(getattr(ols, attr)[1], rel=1e-8, abs=1e-300)
    assert diag.loc["Moran's I on residuals (z)", "value"] == pytest.approx(ols.moran_res[0], rel=1e-10)
    assert auto.condition_number == pytest.approx(ols.mulColli, rel=1e-8)
    # the rule, restated from the numbers
    lm = {a: getattr(ols, a) for a in ("lm_lag", "lm_error", "rlm_lag", "rlm_error")}
    assert auto.model == choose_model(lm, 0.05)[0]
    if auto.model == "lag":
        reg = _quiet(spreg.ML_Lag, y, x, w=spreg_w, spat_impacts=None)
    else:
        reg = _quiet(spreg.ML_Error, y, x, w=spreg_w)
    t = auto.coefficients
    np.testing.assert_allclose(t["estimate"], reg.betas.ravel(), rtol=1e-10)
    np.testing.assert_allclose(t["std_error"], reg.std_err, rtol=1e-10)
    assert auto.fit["log_likelihood"] == pytest.approx(reg.logll, rel=1e-12)
    lr = diag.loc["likelihood ratio vs OLS", "statistic"]
    assert lr == pytest.approx(2 * (reg.logll - ols.logll), rel=1e-10)


def test_lag_impacts_by_hand(layer, rows):
    res = spatial_regression(layer, Y, COVS, model="lag", seed=3)
    rho = res.coefficients["estimate"].iloc[-1]
    beta = res.coefficients["estimate"].iloc[1:-1].to_numpy()
    w = build_weights(rows[1], method="queen").matrix("R").toarray()
    inv = np.linalg.inv(np.eye(len(w)) - rho * w)
    imp = res.impacts.pivot(index="term", columns="impact", values="estimate").loc[COVS]
    np.testing.assert_allclose(imp["direct"], beta * np.trace(inv) / len(w), rtol=1e-9)
    np.testing.assert_allclose(imp["total"], beta * inv.sum() / len(w), rtol=1e-9)
    np.testing.assert_allclose(imp["indirect"], imp["total"] - imp["direct"], rtol=1e-9)
    lohi = res.impacts
    assert ((lohi["ci_low"] <= lohi["estimate"]) & (lohi["estimate"] <= lohi["ci_high"])).all()
    again = spatial_regression(layer, Y, COVS, model="lag", seed=3)
    assert again.impacts.equals(res.impacts)  # seeded


def test_hac_errors_equal_spreg(layer, rows):
    import spreg
    from libpysal.weights import Kernel

    res = spatial_regression(layer, Y, COVS, model="ols", robust="hac", hac_k=10)
    d = rows[1]
    pts = d.geometry.representative_point()
    gwk = Kernel(np.column_stack([pts.x, pts.y]), k=10, function="triangular", fixed=False, diagonal=True)
    ols = _quiet(spreg.OLS, d[[Y]].to_numpy(), d[COVS].to_numpy(), robust="hac", gwk=gwk)
    np.testing.assert_allclose(res.coefficients["std_error"], ols.std_err, rtol=1e-10)


def test_multicollinearity_matches_statsmodels(rows):
    sm = pytest.importorskip("statsmodels.api")
    from statsmodels.stats.outliers_influence import variance_inflation_factor

    x = sm.add_constant(rows[1][COVS].to_numpy(dtype=float))
    ours = variance_inflation(x[:, 1:], COVS)["vif"].to_numpy()
    np.testing.assert_allclose(ours, [variance_inflation_factor(x, j) for j in range(1, x.shape[1])], rtol=1e-8)
    xs = x / np.linalg.norm(x, axis=0)
    sv = np.linalg.svd(xs, compute_uv=False)
    assert condition_number(x) == pytest.approx(sv.max() / sv.min(), rel=1e-8)


def test_decision_rule_cases():
    sig, ns = 0.001, 0.5
    assert (
        choose_model({"lm_lag": (1, ns), "lm_error": (1, ns), "rlm_lag": (9, sig), "rlm_error": (9, sig)}, 0.05)[0]
        == "ols"
    )
    assert (
        choose_model({"lm_lag": (1, ns), "lm_error": (9, sig), "rlm_lag": (1, ns), "rlm_error": (1, ns)}, 0.05)[0]
        == "error"
    )
    both = {"lm_lag": (9, sig), "lm_error": (9, sig)}
    assert choose_model({**both, "rlm_lag": (1, ns), "rlm_error": (7, sig)}, 0.05)[0] == "error"
    assert choose_model({**both, "rlm_lag": (12, sig), "rlm_error": (7, sig)}, 0.05)[0] == "lag"


def test_summary_has_every_interval_and_the_caveat(auto):
    text = auto.summary()
    for r in auto.coefficients.itertuples():
        assert f"{r.term}: {r.estimate:.4g} (95% interval {r.ci_low:.4g} to {r.ci_high:.4g}" in text
    assert ECOLOGICAL_FALLACY_CAVEAT in text and "ecological fallacy" in auto.caveat
    assert "dropped for missing values" in text and auto.decision in text


def test_bad_input(layer):
    with pytest.raises(ValueDomainError, match="model must be"):
        spatial_regression(layer, Y, COVS, model="sarma")
    with pytest.raises(ValueDomainError, match="collinear"):
        spatial_regression(layer.assign(d2=2 * layer["income"]), Y, ["income", "d2"], model="ols")
    with pytest.raises(ValueDomainError, match="used once"):
        spatial_regression(layer, Y, [Y], model="ols")


def test_a_covariate_that_is_the_dependent_itself_is_named(layer, auto):
    """violent_rate_2022 is the violent crimes per 1,000 of 2022: as a covariate of itself it fits perfectly."""
    from geo.stats.warning_codes import SAME_MEASURE

    same = layer.assign(violent_again=layer[Y] * 2 + 1)
    res = spatial_regression(same, Y, ["disorder_rate_2022", "violent_again"], model="ols", robust="none")
    warn = [str(w) for w in res.warnings if w.code == SAME_MEASURE]
    assert len(warn) == 1 and warn[0].startswith("violent_again and violent_rate_2022 measure the same thing")
    assert "correlation 1.0000" in warn[0]
    assert not [w for w in auto.warnings if w.code == SAME_MEASURE]  # real covariates: no such warning
