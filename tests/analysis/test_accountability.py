"""Accountability beyond stops, checked against the raw CSVs, statsmodels and hand computations.

- Diversion counts equal a pandas crosstab of the raw CSV (case folded as the file needs);
  Wilson intervals equal statsmodels' ``proportion_confint(method="wilson")``, ratio intervals
  its ``confint_proportions_2indep(compare="ratio", method="score", correction=False)``.
- The success model equals ``statsmodels.formula.api.logit`` on the same rows (the real data
  has no separated level, so the fit is maximum likelihood); a hand-made table with a separated
  level goes through Firth's path, checked against the closed form of a 2 x 2 table (0.5 added
  to every cell).
- Workforce shares are counted by hand from the raw stops and employee CSVs.
- The crime benchmark of one division is counted by hand from the raw stops and timeline CSVs
  over the months both cover, with the exact Poisson interval from ``scipy.stats.chi2``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from geo.analysis import accountability as acc
from geo.analysis._logit import FIRTH, MAXIMUM_LIKELIHOOD, PROFILE
from geo.errors import SchemaError, ValueDomainError
from geo.layers.filters import StopFilter
from geo.vocab import DIVERSION_OUTCOMES, DIVERSION_RACES
from tests.helpers.data import SHARED

RAW_DIVERSION = SHARED / "other" / "CMPD_Diversion_Program_2013-2016.csv"
RAW_EMPLOYEES = SHARED / "other" / "CMPD_Employee_Demographics_2017.csv"
RAW_STOPS = SHARED / "stops" / "Officer_Traffic_Stops_2020-2021.csv.gz"
RAW_TIMELINE = SHARED / "points" / "cmpd_incidents_division_monthly_2017-2026.csv"


def _raw(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def diversion(settings):
    from geo.layers import records

    return records.diversion(settings)


@pytest.fixture(scope="module")
def result(diversion):
    return acc.diversion_outcomes(diversion)


@pytest.fixture(scope="module")
def raw_diversion() -> pd.DataFrame:
    raw = _raw(RAW_DIVERSION)
    race = raw["Juvenile_race_ethnicity"].str.strip().str.capitalize()
    return pd.DataFrame(
        {
            "race": race.where(race.isin(DIVERSION_RACES), "Unknown"),
            "gender": raw["Juvenile_gender"].str.strip().str.capitalize(),
            "outcome": raw["status"].str.strip().str.lower().map(DIVERSION_OUTCOMES),
            "year": raw["intake_date"].str[:4],
        }
    )


@pytest.fixture(scope="module")
def raw_stops() -> pd.DataFrame:
    raw = pd.read_csv(RAW_STOPS, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return raw.apply(lambda c: c.str.strip())


def test_diversion_counts_equal_a_crosstab_of_the_raw_csv(result, raw_diversion):
    expected = pd.crosstab([raw_diversion["race"], raw_diversion["gender"]], raw_diversion["outcome"])
    got = result.counts.reindex(columns=expected.columns).astype("int64")
    got.index.names, got.columns.name = expected.index.names, expected.columns.name
    pd.testing.assert_frame_equal(got.sort_index(), expected.sort_index(), check_dtype=False)
    assert int(result.counts.to_numpy().sum()) == len(raw_diversion)
    # the rates count the same referrals: final outcomes only
    final = raw_diversion[raw_diversion["outcome"].isin(acc.FINAL_OUTCOMES)]
    by_race = pd.crosstab(final["race"], final["outcome"])
    t = result.table[result.table["dimension"] == "race"]
    for _, r in t.iterrows():
        assert r["count"] == by_race.loc[r["group"], r["outcome"]]
        assert r["denominator"] == by_race.loc[r["group"]].sum()


def test_diversion_rates_wilson_and_ratio_intervals_equal_statsmodels(result):
    t = result.table
    lo, hi = proportion_confint(t["count"], t["denominator"], method="wilson")
    np.testing.assert_allclose(t["lo"], lo, rtol=1e-10)
    np.testing.assert_allclose(t["hi"], hi, rtol=1e-10)
    # statsmodels' closed-form roots are wrong where a proportion is 0 or 1 (tests/stats/test_proportions.py
    # checks those cells against a direct inversion): compare the interior cells here
    interior = (t["count"] > 0) & (t["count"] < t["denominator"])
    rows = t[~t["is_reference"] & interior]
    assert len(rows) > 20
    for _, r in rows.iterrows():
        ref = t[(t["dimension"] == r["dimension"]) & (t["outcome"] == r["outcome"]) & t["is_reference"]].iloc[0]
        if not 0 < ref["count"] < ref["denominator"]:
            continue
        clo, chi = confint_proportions_2indep(
            r["count"], r["denominator"], ref["count"], ref["denominator"], compare="ratio", method="score",
            correction=False,
        )  # fmt: skip
        np.testing.assert_allclose([r["ratio_lo"], r["ratio_hi"]], [clo, chi], rtol=1e-6)
        assert r["ratio"] == pytest.approx((r["count"] / r["denominator"]) / (ref["count"] / ref["denominator"]))
    assert set(t.loc[t["dimension"] == "race_gender", "reference"]) == {"White Male"}


def test_success_model_equals_statsmodels_logit(result, diversion):
    model = result.model
    assert model.method == MAXIMUM_LIKELIHOOD and model.separated == []
    used = diversion[diversion["outcome"].isin(acc.FINAL_OUTCOMES)]
    frame = pd.DataFrame(
        {
            "y": (used["outcome"].astype(str) == "successful").astype(float).to_numpy(),
            "race": used["race"].astype(str).to_numpy(),
            "gender": used["gender"].astype(str).to_numpy(),
            "year": used["year"].astype(str).to_numpy(),
        }
    )
    ref = smf.logit(model.formula, data=frame).fit(disp=0)
    m = model.table.set_index("name")
    np.testing.assert_allclose(m["coef"], ref.params[m.index], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(m["se"], ref.bse[m.index], rtol=1e-5)
    ci = np.exp(ref.conf_int().loc[m.index])
    np.testing.assert_allclose(m["lo"], ci[0], rtol=1e-5)
    np.testing.assert_allclose(m["hi"], ci[1], rtol=1e-5)
    np.testing.assert_allclose(m["p_value"], ref.pvalues[m.index], rtol=1e-4, atol=1e-12)
    assert model.n_used == len(frame) and model.events == int(frame["y"].sum())
    # every odds ratio is shown with its interval in the plain lines
    model_lines = [ln for ln in result.lines if ln.startswith("Model")]
    assert model_lines and all("95% interval" in ln for ln in model_lines)


def test_separated_level_goes_through_firth_matching_the_2x2_closed_form():
    # White: 10 successful, 5 not; Black: 6 successful, 0 not (separated). One gender, one year.
    outcomes = ["successful"] * 10 + ["unsuccessful"] * 3 + ["rejected at screening"] * 2 + ["successful"] * 6
    frame = pd.DataFrame({"race": ["White"] * 15 + ["Black"] * 6, "gender": "Male", "outcome": outcomes, "year": 2014})
    r = acc.diversion_outcomes(frame)
    assert r.model.method == FIRTH
    assert r.model.separated == ["race = 'Black': every one successful among its 6 referrals"]
    row = r.model.table.set_index("level").loc["Black"]
    closed = (6.5 / 0.5) / (10.5 / 5.5)
    assert row["odds_ratio"] == pytest.approx(closed, rel=1e-5)
    assert row["interval"] == PROFILE and 0 < row["lo"] < closed < row["hi"]
    assert any("Firth" in n for n in r.notes)


def test_diversion_rejects_bad_input(diversion):
    with pytest.raises(SchemaError, match="missing column.*outcome"):
        acc.diversion_outcomes(diversion.drop(columns="outcome"))
    with pytest.raises(ValueDomainError, match="Reference group 'Martian'"):
        acc.diversion_outcomes(diversion, reference_race="Martian")


@pytest.fixture(scope="module")
def stops(settings):
    from geo.layers import build

    return build.stops(settings)


def test_workforce_shares_by_hand(settings, stops, raw_stops):
    from geo.layers import records

    w = acc.officer_workforce(stops, records.employees(settings))
    emp = _raw(RAW_EMPLOYEES).apply(lambda c: c.str.strip())
    off = emp[emp["JOB_TITLE"] == "Police Officer"]
    race = off["Race"].replace({"": "Not Specified", "Native Hawaiian/Oth Pac Island": "Asian / Pacific Islander"})
    t = w.table.set_index(["dimension", "group"])
    for dim, s_col, w_col in (("race", "Officer_Race", race), ("gender", "Officer_Gender", off["Gender"])):
        s_counts = raw_stops[s_col].value_counts()
        w_counts = w_col.value_counts()
        for g in w_counts.index:
            row = t.loc[(dim, g)]
            share_s = s_counts.get(g, 0) / len(raw_stops)
            share_w = w_counts[g] / len(off)
            assert row["stop_share"] == pytest.approx(share_s)
            assert row["workforce_share"] == pytest.approx(share_w)
            assert row["ratio"] == pytest.approx(share_s / share_w)
            lo, hi = proportion_confint(w_counts[g], len(off), method="wilson")
            assert (row["workforce_lo"], row["workforce_hi"]) == pytest.approx((lo, hi))
    assert int(t.loc[("gender", "Male"), "officers_total"]) == len(off) == 1558
    assert "2017" in w.caveat and "2020-2021" in w.caveat


def test_crime_benchmark_by_hand_for_one_division(settings, stops, raw_stops):
    from geo.layers import build, records

    pop = build.division_population(settings)[0]
    b = acc.crime_benchmark(stops, records.incident_timeline(settings), pop)
    timeline = _raw(RAW_TIMELINE)
    months = sorted(set(raw_stops["Month_of_Stop"].str.replace("/", "-")) & set(timeline["month"]))
    assert months[0] == "2020-01" and months[-1] == "2021-12"
    k = int(
        (
            (raw_stops["CMPD_Division"] == "Providence Division")
            & raw_stops["Month_of_Stop"].str.replace("/", "-").isin(months)
        ).sum()
    )
    sel = (timeline["division"] == "Providence") & timeline["month"].isin(months)
    incidents = int(timeline.loc[sel, "count"].astype(int).sum())
    row = b.table.set_index("division").loc["Providence Division"]
    assert (row["stops"], row["incidents"]) == (k, incidents)
    assert row["per_1000_incidents"] == pytest.approx(1000 * k / incidents)
    lo = stats.chi2.ppf(0.025, 2 * k) / 2 / incidents * 1000
    hi = stats.chi2.ppf(0.975, 2 * k + 2) / 2 / incidents * 1000
    assert (row["incidents_lo"], row["incidents_hi"]) == pytest.approx((lo, hi))
    residents = pop.loc["Providence Division", "pop_2020"]
    assert row["per_1000_residents"] == pytest.approx(1000 * k / residents)
    assert "assumes" in b.caveat and len(acc.BENCHMARK_ASSUMPTIONS) == 2
    city = b.table.set_index("division").loc["All divisions"]
    assert city["stops"] == b.table["stops"].iloc[:-1].sum()


def test_crime_benchmark_period_filter_and_categories(settings, stops):
    from geo.layers import records

    timeline = records.incident_timeline(settings)
    b = acc.crime_benchmark(stops, timeline, filters=StopFilter(start="2021-01"), categories=("persons",))
    in_2021 = timeline[(timeline["month"].dt.year == 2021) & (timeline["category"] == "persons")]
    row = b.table.set_index("division").loc["Central Division"]
    assert row["incidents"] == in_2021.loc[in_2021["division"] == "Central Division", "count"].sum()
    assert np.isnan(row["per_1000_residents"])  # no population given
    assert any("12 months" in n for n in b.notes)
    with pytest.raises(ValueDomainError, match="Unknown incident category 'burglary'"):
        acc.crime_benchmark(stops, timeline, categories=("burglary",))
