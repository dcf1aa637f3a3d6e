"""The benchmark test with a missing population: never read as zero."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.analysis.benchmark import stop_benchmark


@pytest.fixture
def population():
    divs = ["Central Division", "Metro Division"]
    return pd.DataFrame(
        {
            "pop_2020": [20000.0, 30000.0],
            "white_nh_2020": [8000.0, np.nan],  # Metro's White count unknown
            "black_nh_2020": [7000.0, 18000.0],
            "asian_nh_2020": [1000.0, 1000.0],
            "other_nh_2020": [1000.0, 1000.0],
            "hispanic_2020": [3000.0, 4000.0],
        },
        index=pd.Index(divs, name="division"),
    )


def test_missing_population_propagates_with_a_note(stops_and_report, population):
    population.attrs["notes"] = ["white_nh_2020 of NPA 1 is blank; derived"]
    b = stop_benchmark(stops_and_report[0], population).set_index(["unit", "group"])
    assert np.isnan(b.loc[("Metro Division", "White"), "per_1000"])
    assert np.isnan(b.loc[("Metro Division", "Black"), "ratio"])  # no reference rate
    # all divisions: the White residents are unknown (not 8,000), the Black ones known
    assert np.isnan(b.loc[("All divisions", "White"), "residents"])
    assert np.isnan(b.loc[("All divisions", "Black"), "ratio"])
    assert b.loc[("All divisions", "Black"), "residents"] == 25_000
    assert b.loc[("Central Division", "Black"), "ratio"] == pytest.approx(
        (b.loc[("Central Division", "Black"), "count"] / 7000) / (b.loc[("Central Division", "White"), "count"] / 8000)
    )
    notes = " ".join(b.attrs["notes"])
    assert "white_nh_2020 is missing (not zero) for Metro Division" in notes
    assert "NPA 1 is blank; derived" in notes
