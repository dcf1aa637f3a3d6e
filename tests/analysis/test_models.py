"""Outcome models: the fit, the rows dropped and the errors.

Maximum-likelihood coefficients equal a direct statsmodels formula fit on an independently
built frame; Firth's penalised fit equals a direct numerical maximisation (scipy) and the
closed form of a 2 x 2 table; rows are left out only with reasons, and the accounting adds
up; filters that leave too little give clear errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import optimize, stats
from scipy.special import expit

from geo import caveats
from geo.analysis import _logit, models
from geo.errors import EmptyInputError, ValueDomainError
from geo.ingest.stops import load_stops
from geo.layers.filters import StopFilter


@pytest.fixture(scope="module")
def stops(stops_and_report):
    return stops_and_report[0]


@pytest.fixture(scope="module")
def fits(stops):
    return models.fit_models(stops)


def independent_frame(stops: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """The model's rows and terms built with plain pandas from the clean stops."""
    df = stops[~stops["age_band"].astype(str).isin(["Outside 15-100", "Unknown"]) & stops["officer_years"].notna()]
    if outcome == "search":
        df = df[df["searched"].notna()]
        y = df["searched"].astype(float)
    else:
        df = df[df["result"].astype(str) != "Other/Unknown"]
        y = (df["result"].astype(str) == "Arrest").astype(float)
    out = pd.DataFrame({"y": y.to_numpy()})
    for term in models.TERMS:
        col = df["month"].dt.strftime("%Y-%m") if term == "month" else df[term].astype(str)
        out[term] = pd.Categorical(col.to_numpy())
    return out


def assert_same_fit(result: models.ModelResult, frame: pd.DataFrame) -> None:
    assert result.n_used == len(frame)
    assert result.events == int(frame["y"].sum())
    direct = smf.logit(result.formula, data=frame).fit(disp=0)
    assert set(direct.params.index) == set(result.params.index)
    np.testing.assert_allclose(result.params[direct.params.index], direct.params, atol=1e-6, rtol=0)
    np.testing.assert_allclose(result.bse[direct.params.index], direct.bse, rtol=1e-6)
    ci = direct.conf_int()
    orr = result.odds_ratios.set_index("name")
    names = orr.index
    np.testing.assert_allclose(orr["odds_ratio"], np.exp(direct.params[names]), rtol=1e-6)
    np.testing.assert_allclose(orr["lo"], np.exp(ci.loc[names, 0]), rtol=1e-6)
    np.testing.assert_allclose(orr["hi"], np.exp(ci.loc[names, 1]), rtol=1e-6)
    np.testing.assert_allclose(orr["p_value"], direct.pvalues[names], rtol=1e-5, atol=1e-12)
    assert result.llf == pytest.approx(direct.llf, rel=1e-9)
    assert result.pseudo_r2 == pytest.approx(direct.prsquared, rel=1e-7)


@pytest.mark.slow
@pytest.mark.parametrize("outcome", ["search", "arrest"])
def test_full_models_equal_direct_formula_fit(stops, fits, outcome):
    r = fits[outcome]
    assert r.converged
    assert r.n_input == len(stops) == 139524
    assert r.dropped.to_dict(orient="records") == [
        {"reason": "driver age outside 15-100 or missing (flagged by the loader)", "rows": 63}
    ]
    assert r.n_used == 139524 - 63
    assert r.references["driver_race"] == "White" and r.references["month"] == "2020-01"
    assert r.references["officer_years_band"] == "0-4"
    assert r.terms_left_out == {}
    assert_same_fit(r, independent_frame(stops, outcome))
    # one row per non-reference level, with its counts
    t = r.odds_ratios
    black = t[(t["term"] == "driver_race") & (t["level"] == "Black")].iloc[0]
    frame_rows = stops[(stops["driver_race"] == "Black") & ~stops["age_flagged"]]
    assert black["n"] == len(frame_rows)
    assert len(t) == len(r.params) - 1


def test_model_frame_round_trip(fits):
    r = fits["search"]
    mf = r.model_frame()
    assert len(mf) == r.n_used and list(mf.columns) == ["y", *models.TERMS]
    assert mf["y"].sum() == r.events


def test_single_level_term_left_out(stops):
    f = StopFilter(driver_genders="Female", start="2021-01")
    r = models.fit_model(stops, outcome="search", filters=f)
    assert "driver_gender" in r.terms_left_out and "Female" in r.terms_left_out["driver_gender"]
    assert "driver_gender" not in r.formula
    assert r.method == models.MAXIMUM_LIKELIHOOD and r.separated == []
    frame = independent_frame(f.apply(stops), "search").drop(columns="driver_gender")
    assert_same_fit(r, frame)


@pytest.fixture
def synthetic(stops_csv):
    rng = np.random.default_rng(7)
    rows = []
    races = ["White", "Black", "Asian", "Other/Unknown"]
    p_race = {"White": 0.04, "Black": 0.12, "Asian": 0.03, "Other/Unknown": 0.05}
    for _ in range(1500):
        race = races[rng.integers(0, 4)]
        reason = ["Speeding", "Vehicle Regulatory", "Investigation", "CheckPoint"][rng.integers(0, 4)]
        p = 0.0 if reason == "CheckPoint" else p_race[race] * (3 if reason == "Investigation" else 1)
        rows.append(
            {
                "Month_of_Stop": f"2020/0{rng.integers(1, 7)}",
                "Reason_for_Stop": reason,
                "Officer_Race": ["White", "Black/African American"][rng.integers(0, 2)],
                "Officer_Gender": ["Male", "Female"][rng.integers(0, 2)],
                "Officer_Years_of_Service": str(rng.integers(1, 30)),
                "Driver_Race": race,
                "Driver_Ethnicity": ["Non-Hispanic", "Hispanic"][int(rng.random() < 0.2)],
                "Driver_Gender": ["Male", "Female"][rng.integers(0, 2)],
                "Driver_Age": str(rng.integers(16, 80)),
                "Was_a_Search_Conducted": "Yes" if rng.random() < p else "No",
                "Result_of_Stop": "Arrest" if rng.random() < 0.1 else "Citation Issued",
                "CMPD_Division": ["Central Division", "Metro Division", "South Division"][rng.integers(0, 3)],
            }
        )
    rows[0]["Driver_Age"] = "12"
    rows[1]["Driver_Age"] = "105"
    for i in (2, 3, 4):
        rows[i]["Officer_Years_of_Service"] = ""
    rows[5]["Was_a_Search_Conducted"] = "Maybe"
    s, _ = load_stops(stops_csv(rows))
    return s


def test_dropped_rows_have_reasons(synthetic):
    r = models.fit_model(synthetic, outcome="search")
    reasons = dict(zip(r.dropped["reason"], r.dropped["rows"], strict=True))
    assert reasons == {
        "search flag not Yes/No (outcome unknown)": 1,
        "driver age outside 15-100 or missing (flagged by the loader)": 2,
        "officer years of service missing": 3,
    }
    assert r.n_used + r.dropped["rows"].sum() == r.n_input == 1500
    arrest = models.fit_model(synthetic, outcome="arrest")
    assert arrest.method == models.MAXIMUM_LIKELIHOOD and arrest.separated == []
    assert (arrest.odds_ratios["interval"] == models.WALD).all()
    assert_same_fit(arrest, independent_frame(synthetic, "arrest"))


def _penalised_fit_by_scipy(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Maximise ``llf + log|X'WX| / 2`` with BFGS (numerical gradients), independently of the engine."""

    def neg(b: np.ndarray) -> float:
        eta = X @ b
        w = expit(eta) * (1 - expit(eta))
        return -(np.sum(y * eta - np.logaddexp(0, eta)) + 0.5 * np.linalg.slogdet(X.T @ (X * w[:, None]))[1])

    res = optimize.minimize(neg, np.zeros(X.shape[1]), method="BFGS", options={"gtol": 1e-7, "maxiter": 2000})
    return res.x, -res.fun


def test_level_without_events_is_kept_by_firth(synthetic):
    # no CheckPoint stop was searched: maximum likelihood would need an odds ratio of 0 (the old code dropped them)
    r = models.fit_model(synthetic, outcome="search")
    assert r.method == models.FIRTH
    n_cp = int(
        (
            (synthetic["reason"] == "CheckPoint")
            & ~synthetic["age_flagged"]
            & synthetic["officer_years"].notna()
            & synthetic["searched"].notna()
        ).sum()
    )
    assert r.separated == [f"reason = 'CheckPoint': no searches among its {n_cp:,} stops"]
    frame = independent_frame(synthetic, "search")
    assert r.n_used == len(frame) == 1500 - 6 and r.events == frame["y"].sum()
    cp = r.odds_ratios.set_index("level").loc["CheckPoint"]
    assert (cp["n"], cp["events"], cp["interval"]) == (n_cp, 0, models.PROFILE)
    assert 0 < cp["lo"] < cp["odds_ratio"] < cp["hi"] < np.inf
    # the estimates maximise the penalised likelihood: a direct numerical maximisation agrees
    design = smf.logit(r.formula, data=frame)
    theirs, pll = _penalised_fit_by_scipy(design.exog, design.endog)
    ours = r.params[design.exog_names].to_numpy()
    np.testing.assert_allclose(ours, theirs, atol=2e-4)
    eta = design.exog @ ours
    w = expit(eta) * (1 - expit(eta))
    our_pll = np.sum(design.endog * eta - np.logaddexp(0, eta))
    assert r.llf == pytest.approx(our_pll, rel=1e-10)
    our_pll += 0.5 * np.linalg.slogdet(design.exog.T @ (design.exog * w[:, None]))[1]
    assert our_pll >= pll - 1e-8
    # other levels keep Wald intervals from the inverse information at the penalised estimates
    other = r.odds_ratios[r.odds_ratios["interval"] == models.WALD].iloc[0]
    assert other["lo"] == pytest.approx(np.exp(other["coef"] - 1.959963984540054 * other["se"]), rel=1e-12)


def test_firth_two_by_two_is_the_half_added_odds_ratio():
    # one indicator: Firth's estimate is the log odds ratio with 0.5 added to every cell
    # group A 0 of 10 with the event, reference group B 5 of 20
    k = 2
    cols = np.array([[0, 1]] * 10 + [[0, k]] * 20)
    y = np.array([0.0] * 10 + [1.0] * 5 + [0.0] * 15)
    fit = _logit.fit_firth(y, _logit.Indicators(cols, k))
    assert fit.mle_retvals["converged"]
    np.testing.assert_allclose(fit.params, [np.log(5.5 / 15.5), np.log((0.5 * 15.5) / (10.5 * 5.5))], atol=1e-7)
    # Wald standard error from the information at the fitted proportions 0.5/11 and 5.5/21
    pa, pb = 0.5 / 11, 5.5 / 21
    assert fit.bse[1] == pytest.approx(np.sqrt(1 / (10 * pa * (1 - pa)) + 1 / (20 * pb * (1 - pb))), rel=1e-7)


def test_profile_interval_equals_direct_profile():
    rng = np.random.default_rng(0)
    n, k = 300, 1 + 2 + 3
    cols = np.column_stack(
        [
            np.zeros(n, dtype=np.int64),
            np.array([1, 2, k])[rng.integers(0, 3, n)],
            np.array([3, 4, 5, k])[rng.integers(0, 4, n)],
        ]
    )
    X = np.zeros((n, k + 1))
    X[np.arange(n)[:, None], cols] = 1.0
    X = X[:, :k]
    y = (rng.random(n) < 0.15).astype(float)
    y[cols[:, 1] == 1] = 0.0  # level 1 has no events
    fit = _logit.fit_firth(y, _logit.Indicators(cols, k))
    theirs, pll = _penalised_fit_by_scipy(X, y)
    np.testing.assert_allclose(fit.params, theirs, atol=1e-5)
    assert fit.penalised_llf == pytest.approx(pll, abs=1e-8)

    def profile(b: float) -> float:
        def neg(rest: np.ndarray) -> float:
            beta = np.insert(rest, 1, b)
            eta = X @ beta
            w = expit(eta) * (1 - expit(eta))
            return -(np.sum(y * eta - np.logaddexp(0, eta)) + 0.5 * np.linalg.slogdet(X.T @ (X * w[:, None]))[1])

        return -optimize.minimize(neg, np.delete(fit.params, 1), method="BFGS", options={"gtol": 1e-9}).fun

    q = stats.chi2.ppf(0.95, 1)
    b1 = fit.params[1]
    lo_ref = optimize.brentq(lambda b: 2 * (fit.penalised_llf - profile(b)) - q, b1 - 20, b1)
    hi_ref = optimize.brentq(lambda b: 2 * (fit.penalised_llf - profile(b)) - q, b1, b1 + 20)
    lo, hi, p = _logit.profile_interval(fit, 1)
    assert (lo, hi) == pytest.approx((lo_ref, hi_ref), abs=1e-5)
    assert p == pytest.approx(stats.chi2.sf(2 * (fit.penalised_llf - profile(0.0)), 1), rel=1e-4)


def test_firth_when_maximum_likelihood_diverges(synthetic, monkeypatch):
    monkeypatch.setattr(_logit, "fit_logit", lambda *a, **k: None)
    r = models.fit_model(synthetic, outcome="arrest")
    assert r.method == models.FIRTH and r.separated == [] and r.converged
    assert any("maximum likelihood diverges" in n for n in r.notes)
    assert (r.odds_ratios["interval"] == models.WALD).all()
    assert "diverged" in caveats.model_fit_note(r.method, r.separated)


def test_model_fit_notes_name_the_method():
    assert "maximum likelihood" in caveats.model_fit_note(models.MAXIMUM_LIKELIHOOD, [])
    text = caveats.model_fit_note(models.FIRTH, ["age_band = '65-100': no arrests among its 143 stops"])
    assert text.startswith("Fitted by Firth's penalised likelihood") and "65-100" in text and "143 stops" in text


@pytest.mark.slow
def test_central_arrest_model_keeps_every_driver(stops):
    # 143 drivers aged 65-100 in Central Division, none arrested: they used to be dropped from the model
    f = StopFilter(divisions=("Central Division",))
    r = models.fit_model(stops, outcome="arrest", filters=f)
    central = f.apply(stops)
    flagged = int(central["age_band"].astype(str).isin(["Outside 15-100", "Unknown"]).sum())
    assert r.n_input == len(central) and r.n_used == len(central) - flagged
    assert r.n_used + r.dropped["rows"].sum() == r.n_input
    assert list(r.dropped["reason"]) == ["driver age outside 15-100 or missing (flagged by the loader)"]
    assert r.method == models.FIRTH
    assert "age_band = '65-100': no arrests among its 143 stops" in r.separated
    old = r.odds_ratios.set_index(["term", "level"]).loc[("age_band", "65-100")]
    assert (old["n"], old["events"], old["interval"]) == (143, 0, models.PROFILE)
    assert old["hi"] < 1  # even with none arrested, the interval excludes 1 here
    assert "65-100" in caveats.model_fit_note(r.method, r.separated)


def test_too_few_rows_and_no_events(stops, stops_csv):
    with pytest.raises(EmptyInputError, match=r"Too few stops for the search model \(reason in CheckPoint\)"):
        models.fit_model(stops, outcome="search", filters=StopFilter(reasons="CheckPoint"))
    with pytest.raises(EmptyInputError, match="No stops left after the filter 'month from 2023-01'"):
        models.fit_model(stops, filters=StopFilter(start="2023-01"))
    s, _ = load_stops(stops_csv([{"Driver_Race": r} for r in ("White", "Black")] * 100))
    with pytest.raises(ValueDomainError, match="cannot be fitted: none of the 200 usable stops .* was searched"):
        models.fit_model(s, outcome="search")


def test_reference_errors(synthetic):
    with pytest.raises(ValueDomainError, match="Reference 'Martian' is not a driver_race level"):
        models.fit_model(synthetic, reference="Martian")
    with pytest.raises(ValueDomainError, match="Reference driver race 'Native American' has no stops"):
        models.fit_model(synthetic, reference="Native American")


def test_unknown_outcome(stops):
    with pytest.raises(ValueDomainError, match="Unknown model outcome 'citation'"):
        models.fit_model(stops, outcome="citation")


def test_to_dict_is_json_ready(fits):
    import json

    d = fits["arrest"].to_dict()
    text = json.dumps(d)
    assert '"n_used": 139461' in text and d["odds_ratios"][0]["term"] == "driver_race"


def test_fallback_without_warm_start(synthetic, monkeypatch):
    warm = models.fit_model(synthetic, outcome="arrest")
    monkeypatch.setattr(_logit, "_newton", lambda *a, **k: None)
    cold = models.fit_model(synthetic, outcome="arrest")
    assert cold.converged
    np.testing.assert_allclose(cold.params, warm.params, atol=1e-6)
    np.testing.assert_allclose(cold.bse, warm.bse, rtol=1e-6)


@pytest.mark.parametrize("cap", [1, 6, 256])
def test_indicator_products_equal_dense(cap):
    rng = np.random.default_rng(3)
    n = 500
    # intercept (column 0), then three terms with 3, 4 and 5 levels; the reference level -> dummy column k
    k = 1 + 2 + 3 + 4
    cols = np.column_stack(
        [
            np.zeros(n, dtype=np.int64),
            np.array([1, 2, k])[rng.integers(0, 3, n)],
            np.array([3, 4, 5, k])[rng.integers(0, 4, n)],
            np.array([6, 7, 8, 9, k])[rng.integers(0, 5, n)],
        ]
    )
    ind = _logit.Indicators(cols, k, cap=cap)
    X = np.zeros((n, k + 1))
    X[np.arange(n)[:, None], cols] = 1.0
    X = X[:, :k]
    w = rng.random(n)
    v = rng.standard_normal(n)
    b = rng.standard_normal(k)
    np.testing.assert_allclose(ind.xtwx(w), X.T @ (X * w[:, None]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ind.xtv(v), X.T @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ind.linpred(b), X @ b, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ind.dense(), X)


@pytest.mark.slow
def test_automatic_reference_avoids_a_separated_level(stops):
    # drivers 65-100: no search in Providence Division, the division with most of their stops
    f = StopFilter(age_bands=("65-100",))
    sub = f.apply(stops)
    counts = sub.groupby(sub["division"].astype(str))["searched"].agg(["size", "sum"])
    assert counts["size"].idxmax() == "Providence Division" and counts.loc["Providence Division", "sum"] == 0
    r = models.fit_model(stops, outcome="search", filters=f)
    assert r.method == models.FIRTH and r.n_used + r.dropped["rows"].sum() == r.n_input == len(sub)
    assert "division = 'Providence Division': no searches among its 765 stops" in r.separated
    ok = counts[(counts["sum"] > 0) & (counts["sum"] < counts["size"])]
    assert r.references["division"] == ok["size"].idxmax()
    row = r.odds_ratios.set_index(["term", "level"]).loc[("division", "Providence Division")]
    assert row["interval"] == models.PROFILE and row["events"] == 0
    assert (r.odds_ratios["interval"] == models.PROFILE).sum() == len(r.separated)
