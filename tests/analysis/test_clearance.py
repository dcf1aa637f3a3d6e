"""Clearance counts, rates and funnel on the real 83,037 reports, against a pandas crosstab of the raw CSV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from geo.analysis.clearance import clearance, clearance_counts, clearance_funnel, clearance_rates
from geo.analysis.funnel import funnel_curve
from geo.errors import SchemaError, ValueDomainError
from geo.vocab import DIVISIONS
from tests.helpers.data import SHARED

RAW = SHARED / "other" / "CMPD_assault_intimidation_clearance_2017-2024.csv"


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(RAW)


@pytest.fixture(scope="module")
def frame(raw) -> pd.DataFrame:
    """Shaped as the loader gives it: DNAME or missing, raw status, year."""
    full = raw["CMPD_PATROL_DIVISION"] + " Division"
    date = pd.to_datetime(raw["DATE_REPORTED"], format="%Y-%m-%d")
    return pd.DataFrame(
        {
            "offense": raw["HIGHEST_NIBRS_DESCRIPTION"],
            "clearance": raw["CLEARANCE_STATUS"],
            "date": date,
            "year": date.dt.year,
            "division": full.where(full.isin(list(DIVISIONS.values()))),
            "division_raw": raw["CMPD_PATROL_DIVISION"],
        }
    )


def test_counts_equal_a_crosstab_of_the_raw_csv(raw, frame):
    counts = clearance_counts(frame).set_index(["division", "year"])
    year = pd.to_datetime(raw["DATE_REPORTED"]).dt.year.astype("int64")
    xt = pd.crosstab([raw["CMPD_PATROL_DIVISION"], year], raw["CLEARANCE_STATUS"])
    xt.index = xt.index.set_names(["division", "year"])
    names = {d: d + " Division" if d + " Division" in DIVISIONS.values() else f"{d} (not a CMPD division)"
             for d in xt.index.get_level_values(0).unique()}  # fmt: skip
    xt = xt.rename(index=names, level=0)
    assert counts["reports"].sum() == 83_037
    assert (counts["reports"] == xt.sum(axis=1).reindex(counts.index)).all()
    pd.testing.assert_series_equal(counts["unfounded"], xt["Unfounded"].reindex(counts.index), check_names=False)
    pd.testing.assert_series_equal(counts["open"], xt["Open"].reindex(counts.index), check_names=False)
    pd.testing.assert_series_equal(
        counts["exceptional"], xt["Exceptionally Cleared"].reindex(counts.index), check_names=False
    )
    arrest = xt["Cleared by Arrest"] + xt["Cleared by Arrest by Another Agency"]
    pd.testing.assert_series_equal(counts["arrest"], arrest.reindex(counts.index), check_names=False)
    assert (counts["founded"] == counts["reports"] - counts["unfounded"]).all()


def test_citywide_totals_match_provenance(frame):
    city = clearance_counts(frame, by=()).iloc[0]
    assert city["reports"] == 83_037 and city["unfounded"] == 926
    assert city["arrest"] == 23_748 + 816 and city["arrest_other_agency"] == 816
    assert (city["exceptional"], city["open"], city["founded"]) == (20_471, 37_076, 83_037 - 926)


def test_rates_have_wilson_intervals(frame):
    rates = clearance_rates(frame)
    r = rates[(rates["division"] == "Central Division") & (rates["year"] == 2020) & (rates["outcome"] == "exceptional")]
    r = r.iloc[0]
    lo, hi = proportion_confint(r["count"], r["denominator"], method="wilson")
    assert (r["lo"], r["hi"]) == (pytest.approx(lo), pytest.approx(hi))
    assert r["rate"] == pytest.approx(r["count"] / r["denominator"])
    unf = rates[rates["outcome"] == "unfounded"]
    founded = rates[rates["outcome"] == "open"]
    assert (unf["denominator"].to_numpy() >= founded["denominator"].to_numpy()).all()  # over all reports


def test_funnel_limits_by_hand_against_the_citywide_rate(frame):
    table = clearance_funnel(frame, outcome="arrest", year=2022)
    data = frame[frame["year"] == 2022]
    status = data["clearance"]
    founded = (status != "Unfounded").sum()
    p0 = status.isin(["Cleared by Arrest", "Cleared by Arrest by Another Agency"]).sum() / founded
    assert table["target"].iloc[0] == pytest.approx(p0)
    n = table["denominator"].to_numpy(dtype=float)
    np.testing.assert_allclose(table["hi95"], p0 + 1.959963984540054 * np.sqrt(p0 * (1 - p0) / n))
    np.testing.assert_allclose(table["lo998"], p0 - 3.090232306167813 * np.sqrt(p0 * (1 - p0) / n))
    assert len(table) == 14 and not table["unit"].str.contains("not a CMPD").any()
    assert (table["outside95"] == ((table["value"] < table["lo95"]) | (table["value"] > table["hi95"]))).all()
    curve = funnel_curve(table)
    assert np.isclose(curve["hi95"] - p0, 1.959963984540054 * np.sqrt(p0 * (1 - p0) / curve["x"])).all()


def test_overdispersion_widens_the_limits(frame):
    plain = clearance_funnel(frame, outcome="cleared")
    wide = clearance_funnel(frame, outcome="cleared", overdispersion=True)
    # Spiegelhalter's tau2 by hand: 10 % winsorised z, phi = mean z^2, w = 1 / se^2
    z, se = plain["z"].to_numpy(), plain["se"].to_numpy()
    phi = np.mean(np.clip(z, *np.quantile(z, [0.1, 0.9])) ** 2)
    w, k = 1 / se**2, len(z)
    tau2 = max(0.0, (k * phi - (k - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    assert wide["tau2"].iloc[0] == pytest.approx(tau2, rel=1e-12) and tau2 > 0
    np.testing.assert_allclose(wide["se"], np.sqrt(se**2 + tau2), rtol=1e-12)
    np.testing.assert_allclose(wide["lo"], plain["lo"])  # the Wilson intervals do not change
    assert (wide["hi95"] > plain["hi95"]).all() and wide["outside95"].sum() <= plain["outside95"].sum()


def test_clearance_result_lines_and_notes(frame):
    res = clearance(frame)
    text = res.summary()
    assert "926 Unfounded reports" in text and "816 reports cleared by arrest by another agency" in text
    assert "Huntersville (not a CMPD division)" in text
    assert res.lines[0].startswith("Of 82,111 founded reports 2017–2024")
    assert sum("Division:" in line for line in res.lines) == 14


def test_bad_inputs_are_refused(frame):
    with pytest.raises(SchemaError, match="clearance"):
        clearance_counts(frame.drop(columns="clearance"))
    with pytest.raises(ValueDomainError, match="Unknown clearance outcome"):
        clearance_funnel(frame, outcome="solved")  # type: ignore[arg-type]
    odd = frame.head(50).assign(clearance="Pending")
    assert clearance_counts(odd, by=())["unknown"].iloc[0] == 50
    assert "unknown status" in " ".join(clearance(pd.concat([frame, odd])).notes)
