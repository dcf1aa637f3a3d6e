"""Disparity tables: rates, intervals, funnels, benchmarks, filters and the command line.

Counts against plain crosstabs, intervals against statsmodels, hand-computed funnel limits
and empirical-Bayes rates, filters, bad input, and the command line.
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from geo import caveats, cli, vocab
from geo.analysis import benchmark, disparity, funnel
from geo.cli import disparity as cli_disparity
from geo.errors import EmptyInputError, GeoDataError, SchemaError, ValueDomainError
from geo.ingest.stops import load_stops
from geo.layers import filters
from geo.layers.filters import StopFilter
from geo.stats import proportions

OUTCOME_EVENT = {
    "arrest": "Arrest",
    "citation": "Citation Issued",
    "written_warning": "Written Warning",
    "verbal_warning": "Verbal Warning",
    "no_action": "No Action Taken",
}


@pytest.fixture(scope="module")
def stops(stops_and_report):
    return stops_and_report[0]


def crosstab_counts(stops: pd.DataFrame, outcome: str, keys: list[str]) -> pd.DataFrame:
    """Events and denominators by ``keys`` with plain pandas, independently of geo.disparity."""
    if outcome == "search":
        known = stops[stops["searched"].notna()]
        event = known["searched"].astype(bool)
    else:
        known = stops[stops["result"].astype(str) != "Other/Unknown"]
        event = known["result"].astype(str) == OUTCOME_EVENT[outcome]
    cols = [known[k].astype(str) if k != "month" else known["month"].dt.strftime("%Y-%m") for k in keys]
    ct = pd.crosstab(cols, event)
    ct = ct.reindex(columns=[False, True], fill_value=0)
    return pd.DataFrame({"count": ct[True], "denominator": ct[True] + ct[False]})


# --------------------------------------------------------------------------- counts and rates


@pytest.mark.parametrize("outcome", list(vocab.OUTCOMES))
@pytest.mark.parametrize("by", list(disparity.DRIVER_DIMENSIONS))
def test_citywide_counts_equal_crosstab(stops, outcome, by):
    t = disparity.rates(stops, outcome=outcome, by=by, reference=None)
    expected = crosstab_counts(stops, outcome, [by])
    expected = expected[expected["denominator"] > 0]
    got = t.set_index("group")[["count", "denominator"]]
    assert sorted(got.index) == sorted(expected.index)
    pd.testing.assert_frame_equal(got.loc[expected.index], expected, check_names=False, check_dtype=False)
    np.testing.assert_allclose(t["rate"], t["count"] / t["denominator"])
    assert (t["scope"] == "city").all()


@pytest.mark.parametrize("per", ["division", "month", "officer_race", "officer_years_band", "reason"])
def test_per_unit_counts_equal_crosstab(stops, per):
    t = disparity.rates(stops, outcome="search", by="driver_group", per=per)
    expected = crosstab_counts(stops, "search", [per, "driver_group"])
    expected = expected[expected["denominator"] > 0]
    got = t.set_index(["unit", "group"])[["count", "denominator"]]
    assert len(got) == len(expected)
    pd.testing.assert_frame_equal(got.loc[expected.index], expected, check_names=False, check_dtype=False)


def test_month_and_year_codes_equal_numpy_unique():
    """Months hashed then sorted give np.unique's codes and levels (unsorted input, NaT last)."""
    rng = np.random.default_rng(3)
    months = (np.datetime64("2016-01", "M") + rng.integers(0, 96, 5_000)).astype("datetime64[ns]")
    months[::97] = np.datetime64("NaT")
    prep = disparity.PreparedStops(pd.DataFrame({"month": months}))
    for dim, unit in (("month", "M"), ("year", "Y")):
        codes, levels = prep.codes(dim)
        uniq, inverse = np.unique(months.astype(f"datetime64[{unit}]"), return_inverse=True)
        np.testing.assert_array_equal(codes, inverse)
        assert levels == [str(x) for x in np.datetime_as_string(uniq, unit=unit)] and levels[-1] == "NaT"


@pytest.mark.parametrize("among", ["all", "searched"])
def test_per_year_counts_over_shuffled_years_equal_crosstab(stops, among):
    """Stops spread over 2016-2023 in random order: counts per (year, group) as plain pandas counts them."""
    rng = np.random.default_rng(12)
    spread = stops.assign(
        month=(np.datetime64("2016-01", "M") + rng.integers(0, 96, len(stops))).astype("datetime64[ns]")
    )
    t = disparity.rates(spread, outcome="arrest", by="driver_group", per="year", among=among)
    known = spread[spread["result"].astype(str) != "Other/Unknown"]
    if among == "searched":
        known = known[known["searched"].fillna(False).astype(bool)]
    ct = pd.crosstab(
        [known["month"].dt.year.astype(str), known["driver_group"].astype(str)], known["result"] == "Arrest"
    )
    ct = ct.reindex(columns=[False, True], fill_value=0)
    expected = pd.DataFrame({"count": ct[True], "denominator": ct[True] + ct[False]})
    expected = expected[expected["denominator"] > 0]
    got = t.set_index(["unit", "group"])[["count", "denominator"]]
    assert list(pd.unique(t["unit"])) == [str(y) for y in range(2016, 2024)]
    assert len(got) == len(expected)
    pd.testing.assert_frame_equal(got.loc[expected.index], expected, check_names=False, check_dtype=False)


def test_real_data_headline_numbers(stops):
    t = disparity.rates(stops, outcome="search", by="driver_group").set_index("group")
    assert t.loc["Black", "count"] == 6157 and t.loc["Black", "denominator"] == 77655
    assert t.loc["White", "count"] == 910 and t.loc["White", "denominator"] == 37880
    assert t.loc["White", "is_reference"] and t.loc["White", "ratio"] == 1.0
    # "No division recorded" stays a unit of its own
    d = disparity.rates(stops, outcome="search", by="driver_group", per="division")
    assert d.loc[d["unit"] == "No division recorded", "denominator"].sum() == 4012


def test_intervals_equal_statsmodels_wilson(stops):
    t = disparity.rates(stops, outcome="arrest", by="driver_group", per="division")
    for row in t.itertuples():
        lo, hi = proportion_confint(row.count, row.denominator, alpha=0.05, method="wilson")
        assert row.lo == pytest.approx(lo, abs=1e-12)
        assert row.hi == pytest.approx(hi, abs=1e-12)


def test_ratio_score_interval_equals_statsmodels(stops):
    t = disparity.rates(stops, outcome="search", by="driver_group").set_index("group")
    a, n1 = 6157, 77655  # Black
    c, n2 = 910, 37880  # White
    rr = (a / n1) / (c / n2)
    lo, hi = confint_proportions_2indep(a, n1, c, n2, compare="ratio", method="score", correction=False)
    assert t.loc["Black", "ratio"] == pytest.approx(rr, rel=1e-12)
    assert (t.loc["Black", "ratio_lo"], t.loc["Black", "ratio_hi"]) == pytest.approx((lo, hi), rel=1e-8)
    assert t.loc["Black", "ratio_method"] == disparity.RATIO_METHOD == "Koopman score"
    assert np.isnan(t.loc["White", "ratio_lo"]) and t.loc["White", "ratio_method"] == disparity.NO_RATIO_REFERENCE


def test_small_cell_ratio_interval_central_native_american(stops):
    # 2 of 3 Native American drivers searched in Central Division, 37 of 2,004 White drivers:
    # the log method gave 36.1 [15.3-85.5]; the score interval is valid for such small counts
    d = disparity.rates(stops, outcome="search", by="driver_group", per="division").set_index(["unit", "group"])
    row = d.loc[("Central Division", "Native American")]
    assert (row["count"], row["denominator"]) == (2, 3) and row["small_cell"]
    lo, hi = confint_proportions_2indep(2, 3, 37, 2004, compare="ratio", method="score", correction=False)
    assert row["ratio"] == pytest.approx(36.108108, rel=1e-6)
    assert (row["ratio_lo"], row["ratio_hi"]) == pytest.approx((lo, hi), rel=1e-8)
    assert (round(row["ratio_lo"], 1), round(row["ratio_hi"], 1)) == (10.9, 61.2)
    assert row["ratio_method"] == "Koopman score"


def test_zero_counts_in_ratios(stops_csv):
    # Central: no Asian driver searched (ratio 0); Metro: no White driver searched (no ratio at all)
    rows = _funnel_rows("Central Division", "White", 5, 100) + _funnel_rows("Central Division", "Asian", 0, 30)
    rows += _funnel_rows("Metro Division", "White", 0, 80) + _funnel_rows("Metro Division", "Asian", 3, 40)
    s, _ = load_stops(stops_csv(rows))
    t = disparity.rates(s, outcome="search", by="driver_group", per="division")
    d = t.set_index(["unit", "group"])
    zero = d.loc[("Central Division", "Asian")]
    _, hi = confint_proportions_2indep(0, 30, 5, 100, compare="ratio", method="score", correction=False)
    assert zero["ratio"] == 0.0 and zero["ratio_lo"] == 0.0 and zero["ratio_hi"] == pytest.approx(hi, rel=1e-7)
    assert zero["ratio_method"] == "Koopman score"
    none = d.loc[("Metro Division", "Asian")]
    assert np.isnan([none["ratio"], none["ratio_lo"], none["ratio_hi"]]).all()
    assert none["ratio_method"] == disparity.NO_RATIO_ZERO
    ref = d.loc[("Metro Division", "White")]
    assert np.isnan(ref["ratio"]) and ref["ratio_method"] == disparity.NO_RATIO_REFERENCE
    assert any("reference group 'White' has no search events" in n and "Metro Division" in n for n in t.attrs["notes"])


def test_selectable_reference(stops):
    t = disparity.rates(stops, outcome="search", by="driver_group", reference="Hispanic").set_index("group")
    assert t.loc["Hispanic", "ratio"] == 1.0
    assert t.loc["White", "ratio"] == pytest.approx((910 / 37880) / (751 / 18317))


def test_small_cell_flags(stops):
    t = disparity.rates(stops, outcome="search", by="driver_group", per="division")
    np.testing.assert_array_equal(t["small_cell"], t["denominator"] < 50)
    assert t["small_cell"].any() and not t["small_cell"].all()
    # search-based outcome: the denominator is the searches, the flag counts searches
    s = disparity.rates(stops, outcome="arrest", by="driver_group", per="division", among="searched")
    searched = stops[stops["searched"].fillna(False).astype(bool)]
    ct = pd.crosstab(
        [searched["division"].astype(str), searched["driver_group"].astype(str)], searched["result"] == "Arrest"
    )
    got = s.set_index(["unit", "group"])
    assert (got["denominator"] == ct.sum(axis=1).loc[got.index]).all()
    np.testing.assert_array_equal(s["small_cell"], s["denominator"] < 50)
    assert (s["base"] == "searched stops").all()


def test_small_cell_from_five_stops_does_not_headline(stops_csv):
    # 2 of 5 Asian drivers searched (40 %) in a division where most drivers are not
    rows = [{"Driver_Race": "Asian", "Was_a_Search_Conducted": "Yes" if i < 2 else "No"} for i in range(5)]
    rows += [{"Driver_Race": "White", "Was_a_Search_Conducted": "Yes" if i < 5 else "No"} for i in range(200)]
    rows += [{"Driver_Race": "Black", "Was_a_Search_Conducted": "Yes" if i < 12 else "No"} for i in range(200)]
    rows += [{"Driver_Race": "Other/Unknown", "Was_a_Search_Conducted": "Yes" if i < 4 else "No"} for i in range(200)]
    s, _ = load_stops(stops_csv(rows))
    t = disparity.rates(s, outcome="search", by="driver_group").set_index("group")
    assert t.loc["Asian", "rate"] == 0.4
    assert t.loc["Asian", "small_cell"]
    # citywide, a group is one cell: it is not pulled toward the other groups' rate (23/605)
    assert t.loc["Asian", "eb_rate"] == 0.4


# --------------------------------------------------------------------------- empirical Bayes


def test_eb_smooth_by_hand():
    x = np.array([1.0, 10.0, 30.0])
    n = np.array([5.0, 100.0, 200.0])
    p0 = 0.1
    # s2 = (5 * 0.1^2 + 100 * 0^2 + 200 * 0.05^2) / 305 = 0.55 / 305
    s2 = 0.55 / 305
    tau2 = s2 - 0.09 / (305 / 3)
    m = 0.09 / tau2 - 1
    expected = (x + m * p0) / (n + m)
    got, got_m = proportions.eb_smooth(x, n, prior_rate=p0)
    assert got_m == pytest.approx(m, rel=1e-12)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # written out: tau2 = 0.55/305 - 0.27/305 = 0.28/305, m = 0.09 * 305 / 0.28 - 1 = 97.0357...
    assert got_m == pytest.approx(27.45 / 0.28 - 1, rel=1e-12)
    assert got[0] == pytest.approx((1 + 0.1 * got_m) / (5 + got_m), rel=1e-12)  # 40 % from 5 stops -> 10.3 %
    assert got[0] < 0.11


def test_eb_smooth_no_spread_and_too_few_units():
    # rates closer to p0 than sampling noise: full shrinkage
    got, m = proportions.eb_smooth(np.array([10.0, 11.0, 9.0]), np.array([100.0, 100.0, 100.0]), prior_rate=0.1)
    assert m == math.inf
    np.testing.assert_allclose(got, 0.1)
    # two units: no smoothing
    got, m = proportions.eb_smooth(np.array([1.0, 5.0]), np.array([10.0, 10.0]), prior_rate=0.3)
    assert m == 0.0
    np.testing.assert_allclose(got, [0.1, 0.5])


def test_eb_rates_in_table_use_the_documented_prior(stops):
    t = disparity.rates(stops, outcome="search", by="driver_group").set_index("group")
    np.testing.assert_array_equal(t["eb_rate"], t["rate"])  # citywide: nothing of a group's own to borrow from
    assert t.loc["Native American", "eb_rate"] == pytest.approx(6 / 83)  # was pulled to 6.5 % (toward 7,892/139,524)
    ages = disparity.rates(stops, outcome="arrest", by="age_band").set_index("group")
    assert ages.loc["Outside 15-100", "eb_rate"] == pytest.approx(12 / 63)  # was pulled from 19 % to 4.7 %
    d = disparity.rates(stops, outcome="search", by="driver_group", per="division")
    black = d[d["group"] == "Black"]
    eb, _ = proportions.eb_smooth(black["count"].to_numpy(), black["denominator"].to_numpy(), prior_rate=6157 / 77655)
    np.testing.assert_allclose(black["eb_rate"], eb)


def test_eb_never_pools_groups(stops_csv):
    # Asian drivers: 28 % of 105 stops, beside White and Black drivers near 5 %: the old citywide smoothing
    # pulled the Asian rate toward theirs
    rows = []
    for division, (a_k, a_n, b_k, b_n) in {
        "Central Division": (2, 5, 10, 200),
        "Metro Division": (20, 30, 12, 220),
        "South Division": (6, 60, 8, 180),
        "North Division": (1, 10, 9, 210),
    }.items():
        rows += _funnel_rows(division, "Asian", a_k, a_n) + _funnel_rows(division, "White", b_k, b_n)
        rows += _funnel_rows(division, "Black", 12, 200)
    s, _ = load_stops(stops_csv(rows))
    city = disparity.rates(s, outcome="search", by="driver_group").set_index("group")
    np.testing.assert_array_equal(city["eb_rate"], city["rate"])
    assert city.loc["Asian", "eb_rate"] == 29 / 105
    per = disparity.rates(s, outcome="search", by="driver_group", per="division")
    asian = per[per["group"] == "Asian"]
    eb, m = proportions.eb_smooth(asian["count"].to_numpy(), asian["denominator"].to_numpy(), prior_rate=29 / 105)
    assert 0 < m < math.inf
    np.testing.assert_allclose(asian["eb_rate"], eb, rtol=1e-12)
    # each smoothed rate lies between its own rate and the group's own pooled rate, never the other group's
    lo = np.minimum(asian["rate"], 29 / 105)
    hi = np.maximum(asian["rate"], 29 / 105)
    assert ((asian["eb_rate"] >= lo - 1e-12) & (asian["eb_rate"] <= hi + 1e-12)).all()
    # changing the other group's counts leaves a group's smoothed rates as they are
    more = rows + _funnel_rows("Central Division", "White", 150, 150)
    per2 = disparity.rates(load_stops(stops_csv(more))[0], outcome="search", by="driver_group", per="division")
    np.testing.assert_allclose(per2.loc[per2["group"] == "Asian", "eb_rate"], asian["eb_rate"], rtol=1e-12)


# --------------------------------------------------------------------------- funnel


def _funnel_rows(division: str, race: str, searched: int, total: int) -> list[dict]:
    return [
        {"CMPD_Division": division, "Driver_Race": race, "Was_a_Search_Conducted": "Yes" if i < searched else "No"}
        for i in range(total)
    ]


@pytest.fixture
def funnel_stops(stops_csv):
    rows = (
        _funnel_rows("Central Division", "Black", 20, 100)
        + _funnel_rows("Central Division", "White", 5, 100)
        + _funnel_rows("Metro Division", "Black", 10, 200)
        + _funnel_rows("Metro Division", "White", 10, 100)
        + _funnel_rows("", "White", 0, 10)  # no division: in the city figure, not plotted
    )
    s, _ = load_stops(stops_csv(rows))
    return s


def test_funnel_ratio_limits_by_hand(funnel_stops):
    f = funnel.funnel(funnel_stops, group="Black", reference="White").set_index("unit")
    assert list(f.index) == ["Central Division", "Metro Division"]
    p1, p2 = 30 / 300, 15 / 210
    target = p1 / p2
    se_central = math.sqrt((1 - p1) / (100 * p1) + (1 - p2) / (100 * p2))
    se_metro = math.sqrt((1 - p1) / (200 * p1) + (1 - p2) / (100 * p2))
    z95, z998 = 1.959963984540054, 3.090232306167813
    for unit, se, value in (
        ("Central Division", se_central, (20 / 100) / (5 / 100)),
        ("Metro Division", se_metro, (10 / 200) / (10 / 100)),
    ):
        row = f.loc[unit]
        assert row["target"] == pytest.approx(target, rel=1e-12)
        assert row["value"] == pytest.approx(value, rel=1e-12)
        assert row["se"] == pytest.approx(se, rel=1e-12)
        assert row["x"] == pytest.approx(1 / se**2, rel=1e-12)
        assert row["lo95"] == pytest.approx(target * math.exp(-z95 * se), rel=1e-12)
        assert row["hi95"] == pytest.approx(target * math.exp(z95 * se), rel=1e-12)
        assert row["lo998"] == pytest.approx(target * math.exp(-z998 * se), rel=1e-12)
        assert row["hi998"] == pytest.approx(target * math.exp(z998 * se), rel=1e-12)
        assert row["z"] == pytest.approx((math.log(value) - math.log(target)) / se, rel=1e-12)
    # Central: ratio 4.0 vs target 1.4: z = 2.27, outside 95 % but inside 99.8 %
    assert f.loc["Central Division", "outside95"] and not f.loc["Central Division", "outside998"]
    assert any("no division recorded" in n for n in f.attrs["notes"])


def test_funnel_rate_limits_by_hand(funnel_stops):
    f = funnel.funnel(funnel_stops, measure="rate").set_index("unit")
    p0 = 45 / 510
    for unit, n, k in (("Central Division", 200, 25), ("Metro Division", 300, 20)):
        se = math.sqrt(p0 * (1 - p0) / n)
        row = f.loc[unit]
        assert row["value"] == pytest.approx(k / n)
        assert row["lo95"] == pytest.approx(p0 - 1.959963984540054 * se, rel=1e-12)
        assert row["hi998"] == pytest.approx(p0 + 3.090232306167813 * se, rel=1e-12)
        assert row["x"] == n


def test_rate_funnel_from_counts_by_hand():
    z95, z998 = 1.959963984540054, 3.090232306167813
    f = funnel.rate_funnel(["a", "b", "c"], [5, 30, 0], [100, 200, 0], target=0.1, measure="x rate")
    se = np.sqrt(0.1 * 0.9 / np.array([100.0, 200.0]))
    np.testing.assert_allclose(f["se"][:2], se, rtol=1e-12)
    np.testing.assert_allclose(f["lo95"][:2], 0.1 - z95 * se, rtol=1e-12)
    np.testing.assert_allclose(f["hi998"][:2], 0.1 + z998 * se, rtol=1e-12)
    np.testing.assert_allclose(f["z"][:2], (np.array([0.05, 0.15]) - 0.1) / se, rtol=1e-12)
    assert list(f["estimable"]) == [True, True, False]  # no denominator: no rate to place
    # a: z = -1.67 inside; b: z = 2.36, outside 95 % but inside 99.8 %
    assert list(f["outside95"]) == [False, True, False] and not f["outside998"].any()
    assert list(f["x"][:2]) == [100, 200]
    assert (f["tau2"] == 0).all() and f.attrs["notes"] == []
    assert (f["measure"] == "x rate").all() and list(f["unit"]) == ["a", "b", "c"]
    with pytest.raises(ValueDomainError, match=r"target rate must be in \[0, 1\]"):
        funnel.rate_funnel(["a"], [1], [2], target=1.5, measure="x")
    with pytest.raises(ValueDomainError, match="differ in length"):
        funnel.rate_funnel(["a", "b"], [1], [2], target=0.5, measure="x")


def test_rate_funnel_is_the_rate_funnel_of_funnel(stops):
    for od in (False, True):
        table = funnel.funnel(stops, measure="rate", overdispersion=od)
        again = funnel.rate_funnel(
            table["unit"], table["count"], table["denominator"], target=table["target"].iloc[0],
            measure=table["measure"].iloc[0], overdispersion=od,
        )  # fmt: skip
        pd.testing.assert_frame_equal(again, table)


def test_funnel_overdispersion_by_hand(stops):
    plain = funnel.funnel(stops, measure="rate")
    wide = funnel.funnel(stops, measure="rate", overdispersion=True)
    z = plain["z"].to_numpy()
    se = plain["se"].to_numpy()
    lo, hi = np.quantile(z, [0.1, 0.9])
    phi = np.mean(np.clip(z, lo, hi) ** 2)
    w = 1 / se**2
    k = len(z)
    tau2 = max(0.0, (k * phi - (k - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    assert wide["tau2"].iloc[0] == pytest.approx(tau2, rel=1e-10)
    np.testing.assert_allclose(wide["se"], np.sqrt(se**2 + tau2))
    assert wide["outside998"].sum() < plain["outside998"].sum()
    curve = funnel.funnel_curve(wide)
    assert (curve["hi998"] >= curve["hi95"]).all() and (curve["lo998"] <= curve["lo95"]).all()


def test_funnel_curve_by_hand(funnel_stops):
    z95, z998 = 1.959963984540054, 3.090232306167813
    ratio = funnel.funnel(funnel_stops, group="Black", reference="White")
    curve = funnel.funnel_curve(ratio, points=5)
    x = curve["x"].to_numpy()
    np.testing.assert_allclose(x, np.geomspace(ratio["x"].min() / 2, ratio["x"].max() * 1.2, 5), rtol=1e-12)
    target = (30 / 300) / (15 / 210)
    np.testing.assert_allclose(curve["lo95"], target * np.exp(-z95 * np.sqrt(1 / x)), rtol=1e-12)
    np.testing.assert_allclose(curve["hi998"], target * np.exp(z998 * np.sqrt(1 / x)), rtol=1e-12)
    rate = funnel.funnel_curve(funnel.funnel(funnel_stops, measure="rate"), points=5)
    p0 = 45 / 510
    se = np.sqrt(p0 * (1 - p0) / rate["x"].to_numpy())
    np.testing.assert_allclose(rate["hi95"], np.clip(p0 + z95 * se, 0, 1), rtol=1e-12)
    np.testing.assert_allclose(rate["lo998"], np.clip(p0 - z998 * se, 0, 1), rtol=1e-12)


def test_funnel_overdispersion_needs_three_units(funnel_stops):
    f = funnel.funnel(funnel_stops, overdispersion=True)
    assert (f["tau2"] == 0).all()
    assert "fewer than 3 units: no overdispersion adjustment" in f.attrs["notes"]


def test_funnel_real_data_excludes_no_division(stops):
    f = funnel.funnel(stops)
    assert "No division recorded" not in set(f["unit"])
    assert len(f) == 13
    assert f["target"].iloc[0] == pytest.approx((6157 / 77655) / (910 / 37880))


# --------------------------------------------------------------------------- benchmark


@pytest.fixture
def population():
    divs = ["Central Division", "Metro Division", "Airport Division"]
    return pd.DataFrame(
        {
            "pop_2020": [20000.0, 30000.0, 1000.0],
            "white_nh_2020": [8000.0, 6000.0, 500.0],
            "black_nh_2020": [7000.0, 18000.0, 300.0],
            "asian_nh_2020": [1000.0, 1000.0, 50.0],
            "other_nh_2020": [1000.0, 1000.0, 50.0],
            "hispanic_2020": [3000.0, 4000.0, 100.0],
        },
        index=pd.Index(divs, name="division"),
    )


def test_benchmark_by_hand(stops, population):
    b = benchmark.stop_benchmark(stops, population)
    ct = pd.crosstab(stops["division"].astype(str), stops["driver_group"].astype(str))
    row = b.set_index(["unit", "group"])
    for unit in population.index:
        for group, col in (
            ("White", "white_nh_2020"),
            ("Black", "black_nh_2020"),
            ("Hispanic", "hispanic_2020"),
            ("Asian", "asian_nh_2020"),
        ):
            k = int(ct.loc[unit, group]) if unit in ct.index else 0
            assert row.loc[(unit, group), "count"] == k
            assert row.loc[(unit, group), "per_1000"] == pytest.approx(k / population.loc[unit, col] * 1000)
    k = int(ct.loc["Central Division", "Black"])
    assert row.loc[("Central Division", "Black"), "lo"] == pytest.approx(stats.chi2.ppf(0.025, 2 * k) / 2 / 7000 * 1000)
    assert row.loc[("Central Division", "Black"), "hi"] == pytest.approx(
        stats.chi2.ppf(0.975, 2 * k + 2) / 2 / 7000 * 1000
    )
    a, c = k, int(ct.loc["Central Division", "White"])
    rr = (a / 7000) / (c / 8000)
    assert row.loc[("Central Division", "Black"), "ratio"] == pytest.approx(rr)
    assert row.loc[("Central Division", "Black"), "ratio_hi"] == pytest.approx(
        rr * math.exp(1.959963984540054 * math.sqrt(1 / a + 1 / c))
    )
    assert row.loc[("Airport Division", "All drivers"), "count"] == 0
    assert row.loc[("All divisions", "All drivers"), "residents"] == 51000.0
    # the all-divisions row counts only stops in divisions that have a population
    assert (
        row.loc[("All divisions", "All drivers"), "count"]
        == ct.reindex(population.index, fill_value=0).to_numpy().sum()
    )
    assert "2020-01 to 2021-12 (24 months)" in " ".join(b.attrs["notes"])
    assert b.attrs["caveat"] == caveats.BENCHMARK_CAVEAT
    assert "not the driving population" in caveats.BENCHMARK_CAVEAT
    notes = " ".join(b.attrs["notes"])
    assert "no population for division(s)" in notes and "no division recorded" in notes
    assert "without a comparable population group (Native American, Other/Unknown)" in notes


def test_benchmark_bad_population(stops, population):
    with pytest.raises(SchemaError, match="missing column.*hispanic_2020"):
        benchmark.stop_benchmark(stops, population.drop(columns="hispanic_2020"))
    with pytest.raises(ValueDomainError, match="no population column"):
        benchmark.stop_benchmark(stops, population, reference="Native American")


# --------------------------------------------------------------------------- accountability


def test_officer_rates_equal_crosstab(stops):
    t = disparity.officer_rates(stops, by="officer_years_band")
    for outcome in ("search", "arrest", "citation"):
        got = t[t["outcome"] == outcome].set_index("group")[["count", "denominator"]]
        exp = crosstab_counts(stops, outcome, ["officer_years_band"])
        exp = exp[exp["denominator"] > 0]
        pd.testing.assert_frame_equal(got.loc[exp.index], exp, check_names=False, check_dtype=False)
    assert set(t["outcome"]) == set(vocab.OUTCOMES)
    assert t[t["group"] == "0-4"]["is_reference"].all()


def test_officer_driver_search_matrix(stops):
    wide = disparity.officer_driver_matrix(stops, wide=True)
    known = stops[stops["searched"].notna()]
    ct = pd.crosstab(
        known["officer_race"].astype(str),
        known["driver_group"].astype(str),
        values=known["searched"].astype(float),
        aggfunc="mean",
    )
    for officer in wide.index:
        for driver in wide.columns:
            if not np.isnan(ct.loc[officer, driver]):
                assert wide.loc[officer, driver] == pytest.approx(ct.loc[officer, driver])
    assert list(wide.index)[0] == "White" and list(wide.columns)[:2] == ["White", "Black"]
    long = disparity.officer_driver_matrix(stops)
    assert set(long["scope"]) == {"officer_race"}


# --------------------------------------------------------------------------- filters


def test_filter_matches_plain_pandas(stops):
    f = StopFilter(start="2021-01", end="2021-06", reasons=("Speeding", "Investigation"), driver_genders="Female")
    t = disparity.rates(stops, outcome="search", by="driver_group", filters=f)
    sub = stops[
        (stops["month"] >= "2021-01-01")
        & (stops["month"] <= "2021-06-01")
        & stops["reason"].isin(["Speeding", "Investigation"])
        & (stops["driver_gender"] == "Female")
    ]
    exp = crosstab_counts(sub, "search", ["driver_group"])
    exp = exp[exp["denominator"] > 0]
    got = t.set_index("group")[["count", "denominator"]]
    pd.testing.assert_frame_equal(got.loc[exp.index], exp, check_names=False, check_dtype=False)
    assert (
        f.describe()
        == "month from 2021-01; month to 2021-06; reason in Speeding, Investigation; driver gender in Female"
    )
    assert hash(f) == hash(
        StopFilter(start="2021-01", end="2021-06", reasons=("Speeding", "Investigation"), driver_genders=("Female",))
    )
    kw = filters.filter_stops(
        stops, start="2021-01", end="2021-06", reasons=["Speeding", "Investigation"], driver_genders="Female"
    )
    assert len(kw) == len(sub)


def test_filter_errors(stops):
    with pytest.raises(ValueDomainError, match=r"reason: unknown value\(s\) 'Jaywalking'; allowed: Speeding"):
        StopFilter(reasons=("Jaywalking",)).apply(stops)
    with pytest.raises(EmptyInputError, match="No stops left after the filter 'month from 2023-01'"):
        StopFilter(start="2023-01").apply(stops)
    with pytest.raises(
        EmptyInputError, match=r"after the filter 'division in Airport Division' \(after reason in Speeding\)"
    ):
        StopFilter(reasons="Speeding", divisions="Airport Division").apply(stops)
    with pytest.raises(ValueDomainError, match="start 2021-06 is after end 2021-01"):
        StopFilter(start="2021-06", end="2021-01")
    with pytest.raises(ValueDomainError, match="not a month"):
        StopFilter(start="June")
    with pytest.raises(ValueDomainError, match="not a month"):
        StopFilter(end="2021-13")


def test_reference_absent_from_filtered_data(stops):
    f = StopFilter(divisions="Steele Creek Division", reasons="SeatBelt")
    sub = f.apply(stops)
    assert len(sub) == 8 and "White" not in set(sub["driver_group"].astype(str))
    with pytest.raises(
        ValueDomainError,
        match=r"Reference group 'White' has no stops in the filtered data \(reason in SeatBelt; division in Steele Creek Division\); driver_group groups present: Black, Hispanic",
    ):
        disparity.rates(stops, by="driver_group", filters=f)
    with pytest.raises(ValueDomainError, match="is not a driver_group group; allowed"):
        disparity.rates(stops, by="driver_group", reference="Martian")
    # without a ratio the table is still there
    t = disparity.rates(stops, by="driver_group", reference=None, filters=f)
    assert t["denominator"].sum() == 8 and t["ratio"].isna().all()


def test_unknown_categories_are_kept_and_reported(stops_csv):
    rows = (
        [{"Driver_Race": "Martian"}] * 3
        + [{"Result_of_Stop": "Warp"}] * 2
        + [{"Officer_Years_of_Service": ""}]
        + [{}] * 60
    )
    rows += [{"Driver_Race": "White"}] * 60
    s, report = load_stops(stops_csv(rows))
    t = disparity.rates(s, outcome="arrest", by="driver_race")
    assert t.set_index("group").loc["Other/Unknown", "denominator"] == 3  # kept, as a group of its own
    assert t["denominator"].sum() == len(s) - 2  # the two unknown results are out of result rates only
    notes = " ".join(t.attrs["notes"])
    assert "driver race 'Other/Unknown': 3" in notes
    assert "result of stop 'Other/Unknown': 2" in notes
    assert "officer years of service missing: 1" in notes
    search = disparity.rates(s, outcome="search", by="driver_race")
    assert search["denominator"].sum() == len(s)


def test_filter_in_words_and_missing_values_as_a_level(stops):
    assert disparity.describe_filter(None) == "all stops"
    f = StopFilter(reasons="Speeding")
    data, where = disparity.filtered(stops, f)
    assert where == f.describe() == "reason in Speeding" and len(data) == (stops["reason"] == "Speeding").sum()
    data, where = disparity.filtered(stops, None)
    assert data is stops and where == "all stops"
    # a category value the frame does not know (NaN) is counted under a level of its own
    blank = stops.assign(officer_gender=stops["officer_gender"].where(np.arange(len(stops)) >= 5))
    t = disparity.rates(blank, by="officer_gender", reference=None).set_index("group")
    assert t.loc["Missing", "denominator"] == stops["searched"].iloc[:5].notna().sum() > 0
    assert t["denominator"].sum() == stops["searched"].notna().sum()


def test_bad_arguments(stops):
    with pytest.raises(ValueDomainError, match="Unknown outcome 'frisk'"):
        disparity.rates(stops, outcome="frisk")
    with pytest.raises(ValueDomainError, match="Unknown dimension 'shoe_size'"):
        disparity.rates(stops, by="shoe_size")
    with pytest.raises(ValueDomainError, match="always 1"):
        disparity.rates(stops, outcome="search", among="searched")
    with pytest.raises(SchemaError, match="missing column"):
        disparity.rates(stops.drop(columns="searched"))
    with pytest.raises(EmptyInputError, match="no rows"):
        disparity.rates(stops.iloc[:0])
    with pytest.raises(TypeError):
        disparity.rates([1, 2, 3])


def test_rates_cover_every_outcome_dimension_and_scope(stops):
    for outcome in vocab.OUTCOMES:
        for dim in disparity.DRIVER_DIMENSIONS:
            for per in (None, "division", "month"):
                r = disparity.rates(stops, outcome=outcome, by=dim, per=per, reference="auto")
                for col in (
                    "count",
                    "denominator",
                    "rate",
                    "lo",
                    "hi",
                    "small_cell",
                    "eb_rate",
                    "ratio",
                    "ratio_lo",
                    "ratio_hi",
                    "ratio_method",
                ):
                    assert col in r.columns
    one = disparity.rates(stops, outcome="citation", by="age_band", per="month")
    exp = crosstab_counts(stops, "citation", ["month", "age_band"])
    exp = exp[exp["denominator"] > 0]
    assert len(one) == len(exp) and one["count"].sum() == exp["count"].sum()


# --------------------------------------------------------------------------- command line


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))


def _parse(argv):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    cli_disparity.add_parser(sub)
    return parser.parse_args(["disparity", *argv])


def test_cli_json_rows(cli_env, stops, capsys):
    args = _parse(["--by", "officer_years", "--outcome", "arrest", "--json"])
    assert cli_disparity.run(args) == 0
    out = json.loads(capsys.readouterr().out)
    t = disparity.rates(stops, outcome="arrest", by="driver_group", per="officer_years_band")
    assert len(out["rows"]) == len(t)
    first = out["rows"][0]
    assert set(first) == {
        "unit",
        "group",
        "count",
        "denominator",
        "rate",
        "lo",
        "hi",
        "small_cell",
        "eb_rate",
        "ratio",
        "ratio_lo",
        "ratio_hi",
        "ratio_method",
    }
    assert first["unit"] == "0-4" and first["group"] == "White" and first["ratio_lo"] is None
    exp = crosstab_counts(stops, "arrest", ["officer_years_band", "driver_group"])
    assert first["count"] == exp.loc[("0-4", "White"), "count"]
    assert out["reference"] == "White" and out["caveats"]["small_cell"] == caveats.SMALL_CELL_CAVEAT


def test_cli_text_and_filters(cli_env, capsys):
    args = _parse(
        [
            "--by",
            "division",
            "--outcome",
            "citation",
            "--reference",
            "Black",
            "--reason",
            "Speeding",
            "--start",
            "2021-01",
        ]
    )
    assert cli_disparity.run(args) == 0
    out = capsys.readouterr().out
    assert (
        "citation rate by driver_group within each division (month from 2021-01; reason in Speeding); reference: Black"
        in out
    )
    assert "Central Division" in out and "small cell" in out


def test_cli_errors_exit_2(cli_env, capsys):
    with pytest.raises(GeoDataError, match="not a driver_group group"):
        cli_disparity.run(_parse(["--reference", "Martian"]))
    assert cli.main(["disparity", "--by", "month", "--division", "Airport Division"]) == 2
    err = capsys.readouterr().err
    assert "No stops left after the filter 'division in Airport Division'" in err and "Traceback" not in err


def test_cli_help_shows_single_percent_signs(capsys):
    # argparse %-formats argument help and usage only: a doubled %% in the description or epilog shows as is
    with pytest.raises(SystemExit) as exit_:
        cli.main(["disparity", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "95% Wilson intervals" in out and "Koopman score" in out
    assert "%%" not in out
    assert "95 % Koopman score interval" in " ".join(out.split())  # the ratio caveat, as the epilog


def test_units_without_reference_events_are_noted(stops):
    t = disparity.rates(stops, outcome="arrest", by="driver_group", per="reason")
    white = stops[stops["driver_group"] == "White"]
    ct = pd.crosstab(white["reason"].astype(str), white["result"] == "Arrest")
    lacking = sorted(ct.index[ct.get(True, 0) == 0])
    assert lacking == ["CheckPoint"]
    assert any("reference group 'White' has no arrest events" in n and "CheckPoint" in n for n in t.attrs["notes"])
    assert t[(t["unit"] == "CheckPoint")]["ratio"].isna().all()


def test_black_reference(stops):
    f = funnel.funnel(stops, group="White", reference="Black")
    assert f["measure"].iloc[0] == "search rate ratio, White / Black"
    city = disparity.rates(stops, outcome="search", by="driver_group", reference="Black").set_index("group")
    assert city.loc["Black", "is_reference"] and city.loc["White", "ratio"] == pytest.approx(
        (910 / 37880) / (6157 / 77655)
    )
    race = disparity.rates(stops, outcome="search", by="driver_race", reference="Black")
    assert (race["reference"] == "Black").all()
    with pytest.raises(ValueDomainError, match="not a driver_race group"):
        disparity.rates(stops, outcome="search", by="driver_race", reference="Hispanic")
