"""Division trends on the real 697,504-incident timeline, against pandas, statsmodels and pymannkendall."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymannkendall as pmk
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.tsa.seasonal import STL

from geo.analysis.trends import ALL_CATEGORIES, CITYWIDE, division_trends, monthly_series
from geo.errors import ValueDomainError
from tests.helpers.data import SHARED

RAW = SHARED / "points" / "cmpd_incidents_division_monthly_2017-2026.csv"


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(RAW)


@pytest.fixture(scope="module")
def timeline(raw) -> pd.DataFrame:
    """Shaped as the loader gives it: DNAME divisions, first-of-month timestamps."""
    return pd.DataFrame(
        {
            "division": raw["division"] + " Division",
            "month": pd.to_datetime(raw["month"], format="%Y-%m"),
            "category": raw["category"],
            "count": raw["count"],
        }
    )


def test_monthly_series_totals_equal_the_raw_file(raw, timeline):
    s, notes = monthly_series(timeline)
    assert raw["count"].sum() == 697_504
    city = s[(s["division"] == CITYWIDE) & (s["category"] == ALL_CATEGORIES)]
    assert city["count"].sum() == 697_504 and len(city) == 114
    per_div = s[(s["category"] == ALL_CATEGORIES) & (s["division"] != CITYWIDE)].groupby("division")["count"].sum()
    expected = raw.groupby("division")["count"].sum()
    expected.index = expected.index + " Division"
    pd.testing.assert_series_equal(per_div, expected, check_names=False)
    assert notes == []  # the file is complete: 14 x 114 x 4 rows


def test_monthly_series_fills_absent_months_and_says_so(timeline):
    part = timeline.drop(index=timeline.index[:4])  # Airport, 2017-01, every category
    s, notes = monthly_series(part)
    cell = s[(s["division"] == "Airport Division") & (s["month"] == "2017-01-01") & (s["category"] == "persons")]
    assert cell["count"].tolist() == [0]
    assert any("absent" in n for n in notes)


@pytest.fixture(scope="module")
def result(timeline):
    return division_trends(timeline, divisions=["Central Division", "Steele Creek Division", CITYWIDE])


def _raw_series(raw: pd.DataFrame, division: str | None, category: str | None) -> pd.Series:
    d = raw if division is None else raw[raw["division"] == division]
    d = d if category is None else d[d["category"] == category]
    return d.groupby("month")["count"].sum().sort_index().astype(float)


@pytest.mark.parametrize(
    ("division", "category", "short", "cat"),
    [("Central Division", ALL_CATEGORIES, "Central", None), ("Steele Creek Division", "persons", "Steele Creek", "persons"),
     (CITYWIDE, "property", None, "property")],
)  # fmt: skip
def test_stl_and_seasonal_mk_equal_statsmodels_and_pymannkendall(result, raw, division, category, short, cat):
    y = _raw_series(raw, short, cat)
    comp = result.series[(result.series["division"] == division) & (result.series["category"] == category)]
    ref = STL(y.to_numpy(), period=12, robust=True).fit()
    np.testing.assert_allclose(comp["trend"], ref.trend)
    np.testing.assert_allclose(comp["seasonal"], ref.seasonal)
    np.testing.assert_array_equal(comp["count"], y.to_numpy())
    row = result.tests[(result.tests["division"] == division) & (result.tests["category"] == category)].iloc[0]
    mk = pmk.seasonal_test(y.to_numpy(), period=12)
    assert row["s"] == mk.s and row["tau"] == pytest.approx(mk.Tau)
    assert row["p"] == pytest.approx(mk.p, rel=1e-8, abs=1e-12)
    assert row["slope_per_year"] == pytest.approx(mk.slope)


def test_original_mk_equals_pymannkendall(timeline, raw):
    res = division_trends(timeline, divisions=["Central Division"], categories=["society"], test="original")
    mk = pmk.original_test(_raw_series(raw, "Central", "society").to_numpy())
    row = res.tests.iloc[0]
    assert row["s"] == mk.s and row["p"] == pytest.approx(mk.p, abs=1e-12)
    assert row["slope_per_year"] == pytest.approx(mk.slope * 12)


def test_significance_is_benjamini_hochberg(result):
    reject = multipletests(result.tests["p"], alpha=0.05, method="fdr_bh")[0]
    np.testing.assert_array_equal(result.tests["significant"].to_numpy(), reject)


def test_year_over_year_counts_equal_raw_sums(result, raw):
    row = result.change[
        (result.change["division"] == "Central Division") & (result.change["category"] == ALL_CATEGORIES)
    ]
    row = row.iloc[0]
    d = raw[raw["division"] == "Central"]
    now = d[(d["month"] >= "2025-07") & (d["month"] <= "2026-06")]["count"].sum()
    before = d[(d["month"] >= "2024-07") & (d["month"] <= "2025-06")]["count"].sum()
    assert (row["count"], row["earlier_count"]) == (now, before)
    assert row["period"] == "Jul 2025–Jun 2026" and row["ratio"] == pytest.approx(now / before)
    assert row["lo"] < row["ratio"] < row["hi"]
    assert "Central Division" in row["line"] and "a year earlier" in row["line"]


def test_lines_are_plain_and_one_per_division(result):
    assert len(result.lines) == 6  # three series x (trend, change), all categories
    assert all(line.endswith(".") for line in result.lines)
    assert "Mann-Kendall" in result.summary()


def test_bad_choices_are_refused(timeline):
    with pytest.raises(ValueDomainError, match="unknown division 'Nowhere'"):
        division_trends(timeline, divisions=["Nowhere"])
    with pytest.raises(ValueDomainError, match="does not cover"):
        division_trends(timeline, divisions=[CITYWIDE], categories=[ALL_CATEGORIES], end="2017-06")
