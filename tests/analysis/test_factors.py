"""geo.analysis.factors: joining metrics onto the NPA layer, nearest years, and coefficients in words.

The join is checked against the tidy metrics table read row by row; the sentences against
the regression's own table and impacts (numbers scaled by hand), and the fit itself against
spreg called directly on the joined columns.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geo.analysis import factors
from geo.analysis.regression import spatial_regression
from geo.errors import ValueDomainError


def _grid(n: int = 6) -> gpd.GeoDataFrame:
    cells = [box(i, j, i + 1, j + 1) for i in range(n) for j in range(n)]
    rng = np.random.default_rng(3)
    x = rng.normal(50, 10, n * n)
    return gpd.GeoDataFrame(
        {"npa": np.arange(1, n * n + 1), "violent_rate_2022": 2 + 0.3 * x + rng.normal(0, 1, n * n)},
        geometry=cells,
        crs="EPSG:2264",
    ), x


def _metrics(x: np.ndarray) -> pd.DataFrame:
    npa = np.arange(1, len(x) + 1)
    rows = [pd.DataFrame({"npa": npa, "metric": "m80", "year": 2022, "value": x})]
    rows.append(
        pd.DataFrame({"npa": npa, "metric": "m37", "year": 2021, "value": 1000 * np.arange(len(x), dtype=float)})
    )
    rows.append(pd.DataFrame({"npa": npa, "metric": "m37", "year": 2023, "value": np.nan}))
    return pd.concat(rows, ignore_index=True)


def test_nearest_year_prefers_the_year_then_earlier_then_later():
    assert factors.nearest_year([2011, 2021, 2023], 2021) == 2021
    assert factors.nearest_year([2011, 2021, 2023], 2022) == 2021
    assert factors.nearest_year([2015, 2017], 2013) == 2015
    assert factors.nearest_year([], 2013) is None


def test_factor_layer_joins_by_npa_and_counts_missing():
    layer, x = _grid()
    layer = layer.iloc[::-1].reset_index(drop=True)  # order must not matter: the join is by NPA id
    metrics = _metrics(x).drop(index=[0])  # NPA 1 has no m80 value
    fl = factors.factor_layer(layer, metrics, outcome="violent", conditions=["m80", "m37"], year=2022)
    assert fl.outcome.column == "violent_rate_2022"
    assert [c.column for c in fl.conditions] == ["m80_2022", "m37_2021"]  # m37: 2023 is all missing, 2021 used
    want = dict(
        zip(metrics.loc[metrics.metric == "m80", "npa"], metrics.loc[metrics.metric == "m80", "value"], strict=True)
    )
    for npa, v in zip(fl.frame["npa"], fl.frame["m80_2022"], strict=True):
        assert (np.isnan(v) and npa not in want) or v == want[npa]
    assert fl.conditions[0].n_missing == 1
    assert any("m37 has no values for 2022; its 2021 values are used" in n for n in fl.notes)
    assert "m80_2022" not in layer.columns  # the input is not changed


def test_factor_layer_refuses_bad_choices():
    layer, x = _grid()
    with pytest.raises(ValueDomainError, match="each variable may be used once"):
        factors.factor_layer(layer, _metrics(x), outcome="m80", conditions=["m80"], year=2022)
    with pytest.raises(ValueDomainError, match="no metric 'm999'"):
        factors.factor_layer(layer, _metrics(x), outcome="violent", conditions=["m999"], year=2022)
    with pytest.raises(ValueDomainError, match="no violent crime rate for 2019"):
        factors.factor_layer(layer, _metrics(x), outcome="violent", conditions=["m80"], year=2019)
    with pytest.raises(ValueDomainError, match="at least one condition"):
        factors.factor_layer(layer, _metrics(x), outcome="violent", conditions=[], year=2022)


def test_round_step():
    assert factors.round_step([1, 2, 3], percent=True) == 10.0
    assert factors.round_step(np.array([10_000.0, 50_000.0, 90_000.0])) == 10_000.0  # SD 40,000
    assert factors.round_step([5.0, 5.0]) == 1.0


def test_sentences_scale_the_coefficient_and_its_interval():
    layer, x = _grid()
    fl = factors.factor_layer(layer, _metrics(x), outcome="violent", conditions=["m80", "m37"], year=2022)
    res = spatial_regression(fl.frame, fl.outcome.column, fl.condition_columns, model="ols")
    texts = {
        "violent_rate_2022": factors.TermText("the violent crime rate", "per 1,000 residents"),
        "m80_2022": factors.TermText("the share on food assistance", "percent", 10.0),
        "m37_2021": factors.TermText("the median income", "dollars", 1000.0),
    }
    lines = factors.coefficient_sentences(res, texts)
    assert len(lines) == 2
    row = res.coefficients.set_index("term").loc["m80_2022"]
    est, lo, hi = 10 * row["estimate"], 10 * row["ci_low"], 10 * row["ci_high"]
    assert f"is {abs(est):,.3g} per 1,000 residents" in lines[0]
    assert f"95% interval {lo:,.3g} to {hi:,.3g}" in lines[0]
    assert "holding the median income fixed" in lines[0]
    assert "10 percentage points higher" in lines[0]


def test_lag_sentences_use_total_and_indirect_impacts():
    layer, x = _grid()
    fl = factors.factor_layer(layer, _metrics(x), outcome="violent", conditions=["m80"], year=2022)
    res = spatial_regression(fl.frame, fl.outcome.column, fl.condition_columns, model="lag", impact_draws=200)
    texts = {
        "violent_rate_2022": factors.TermText("the violent crime rate", "per 1,000 residents"),
        "m80_2022": factors.TermText("the share on food assistance", "percent", 10.0),
    }
    lines = factors.coefficient_sentences(res, texts)
    imp = res.impacts.set_index("impact")
    assert f"is {abs(10 * imp.loc['total', 'estimate']):,.3g} per 1,000 residents" in lines[0]
    assert f"{10 * imp.loc['indirect', 'estimate']:,.3g} of it spills over" in lines[0]
    assert lines[1].startswith("Spatial lag (rho)")
    with pytest.raises(ValueDomainError, match="no text"):
        factors.coefficient_sentences(res, {"m80_2022": texts["m80_2022"]})


def test_crime_years_real_layer(npa_layer):
    years = factors.crime_years(npa_layer, "disorder")
    assert years[0] == 2022 and 2011 not in years  # disorder calls start in 2013
    assert all(f"disorder_rate_{y}" in npa_layer.columns for y in years)
