"""The analysis layers: the issue's must-show figures, and per-capita arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.layers import build
from geo.layers.npa_table import npa_wide
from geo.layers.stop_tables import safe_rate, stop_counts


def test_division_layer_counts(division_layer, stops_and_report):
    stops, _ = stops_and_report
    assert len(division_layer) == 14
    assert division_layer["stops"].sum() == 135_512
    assert division_layer.set_index("division").loc["Airport Division", "stops"] == 0
    # independent crosstab
    ct = pd.crosstab(stops["division"].astype(str), stops["driver_group"].astype(str))
    d = division_layer.set_index("division")
    for div in ("Central Division", "South Division"):
        assert d.loc[div, "stops_black"] == ct.loc[div, "Black"]
        assert d.loc[div, "stops_hispanic"] == ct.loc[div, "Hispanic"]
    searches = stops[stops["searched"].fillna(False)].groupby("division", observed=True).size()
    assert d.loc["Metro Division", "searches"] == searches["Metro Division"]


def test_stops_per_1000_by_hand(division_layer):
    d = division_layer.set_index("division").loc["Central Division"]
    assert d["stops_per_1000_black"] == pytest.approx(d["stops_black"] / d["black_nh_2020"] * 1000, rel=1e-3)
    assert d["stops_per_1000"] == pytest.approx(d["stops"] / d["pop_2020"] * 1000, rel=1e-3)


def test_airport_population_small_rates_defined(division_layer):
    air = division_layer.set_index("division").loc["Airport Division"]
    assert air["pop_2020"] < 2_000 and air["stops_per_1000"] == 0


def test_npa_layer_population_and_rates(npa_layer):
    assert len(npa_layer) == 459
    assert npa_layer["pop_2020"].sum() == 1_115_476
    row = npa_layer.set_index("npa").loc[2]
    assert row["violent_crimes_2022"] == 24 and row["violent_rate_2022"] == pytest.approx(24 / 2.143)
    assert npa_layer["shootings"].sum() == 75
    assert npa_layer["incidents"].sum() == 4_999  # one sample point lies outside the county


def test_zero_population_gives_no_rate():
    metrics = pd.DataFrame(
        {
            "npa": [1, 1, 2, 2, 3],
            "year": [2022] * 5,
            "measure": ["violent_crimes", "violent_per_1000_denominator"] * 2 + ["violent_crimes"],
            "value": [5.0, 0.0, 3.0, 1.5, 2.0],
            "source": "x",
        }
    )
    wide = npa_wide(metrics)
    assert np.isnan(wide.loc[1, "violent_rate_2022"])  # zero population: no rate, not infinity
    assert wide.loc[2, "violent_rate_2022"] == pytest.approx(2.0)
    assert np.isnan(wide.loc[3, "violent_rate_2022"])  # missing denominator stays missing
    assert np.isinf(safe_rate([1.0], [0.0])).sum() == 0


def test_stop_counts_keep_empty_categories(stops_and_report):
    stops, _ = stops_and_report
    c = stop_counts(stops, by="division").set_index("division")
    assert c.loc["Airport Division", "stops"] == 0
    assert c.loc["No division recorded", "stops"] == 4_012
    assert c["stops"].sum() == len(stops)


def test_reports_cover_every_loader(settings):
    names = [r.name for r in build.reports(settings)]
    assert names == ["stops", "divisions", "npa", "npa_metrics", "ois", "incidents"]


@pytest.mark.slow
def test_warm_cache_returns_same_frames(settings):
    a = build.stops(settings)
    b = build.stops(settings)
    pd.testing.assert_frame_equal(a, b)
    assert isinstance(b["division"].dtype, pd.CategoricalDtype)
