"""Outcome models: the fit, the rows dropped and the errors.

Coefficients equal a direct statsmodels formula fit on an independently built frame; rows
are dropped with reasons; filters that leave too little give clear errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

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


def independent_frame(
    stops: pd.DataFrame, outcome: str, *, drop_levels: dict[str, list[str]] | None = None
) -> pd.DataFrame:
    """The model's rows and terms built with plain pandas from the clean stops."""
    df = stops[~stops["age_band"].astype(str).isin(["Outside 15-100", "Unknown"]) & stops["officer_years"].notna()]
    if outcome == "search":
        df = df[df["searched"].notna()]
        y = df["searched"].astype(float)
    else:
        df = df[df["result"].astype(str) != "Other/Unknown"]
        y = (df["result"].astype(str) == "Arrest").astype(float)
    for term, levels in (drop_levels or {}).items():
        keep = ~df[term].astype(str).isin(levels)
        df, y = df[keep], y[keep]
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
    # the filtered data may leave levels without a search: the model sets them aside, so must we
    dropped = {}
    for reason in r.dropped["reason"]:
        if " = '" in reason:
            term, level = reason.split(" = '", 1)
            dropped.setdefault(term, []).append(level.split("'", 1)[0])
    frame = independent_frame(f.apply(stops), "search", drop_levels=dropped).drop(columns="driver_gender")
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
    assert reasons["search flag not Yes/No (outcome unknown)"] == 1
    assert reasons["driver age outside 15-100 or missing (flagged by the loader)"] == 2
    assert reasons["officer years of service missing"] == 3
    checkpoint = [k for k in reasons if k.startswith("reason = 'CheckPoint': no searches among its")]
    assert len(checkpoint) == 1
    n_cp = int(
        (
            (synthetic["reason"] == "CheckPoint")
            & ~synthetic["age_flagged"]
            & synthetic["officer_years"].notna()
            & synthetic["searched"].notna()
        ).sum()
    )
    assert reasons[checkpoint[0]] == n_cp
    assert r.n_used + r.dropped["rows"].sum() == r.n_input == 1500
    assert "CheckPoint" not in set(r.odds_ratios["level"])
    frame = independent_frame(synthetic, "search", drop_levels={"reason": ["CheckPoint"]})
    assert_same_fit(r, frame)
    arrest = models.fit_model(synthetic, outcome="arrest")
    assert "reason = 'CheckPoint'" not in " ".join(arrest.dropped["reason"])  # CheckPoint stops do have arrests
    assert_same_fit(arrest, independent_frame(synthetic, "arrest"))


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
