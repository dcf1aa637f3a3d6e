"""The data dictionary's per-table meanings (the space-time commands' and the Trends page's tables) and options.

Generic names such as ``p`` or ``count`` mean something else in each table: they are described only when
the table is named, and the meanings of the layers stay as they were.
"""

from __future__ import annotations

import pandas as pd

from geo.output.dictionary import (
    NO_DESCRIPTION,
    RESULT_TABLES,
    data_dictionary,
    describe_column,
    undescribed,
)


def test_generic_names_are_described_per_table_only():
    assert RESULT_TABLES == ("trends", "accuracy", "near_repeat", "clearance")
    assert describe_column("p") is None  # no table named: unknown, as before
    assert "permutations" in describe_column("p", layer="near_repeat").meaning
    assert "Mann-Kendall" in describe_column("p", layer="trends").meaning
    assert describe_column("count", layer="clearance").units == "reports"
    assert describe_column("count").meaning == "Incident points counted in the hexagon"  # the hexagon layers' count
    assert describe_column("year", layer="accuracy").label == "Hot spots of"
    assert describe_column("method", layer="accuracy").meaning.startswith("How cells are flagged")
    assert describe_column("clearance_status", layer="clearance").label == "Clearance status"  # other names as before
    assert describe_column("division", layer="ois").meaning == "CMPD division the point falls in (spatial join)"
    assert describe_column("npa", layer="incidents").sources == ("npa_geography",)
    assert describe_column("shootings").sources == ("ois_incidents",) and describe_column("shootings").units


def test_options_repeated_on_every_row_are_described_from_the_option():
    seeds = describe_column("param_seed")
    assert seeds.label == "Seed" and seeds.meaning.startswith("Option of the analysis (the same on every row): ")
    assert describe_column("param_cell_size_ft").units == "feet"
    assert describe_column("param_no_such_option") is None


def test_a_table_with_an_unknown_column_says_so():
    frame = pd.DataFrame({"pai": [1.5], "mystery": [1], "param_top_k": [3]})
    d = data_dictionary(frame, "accuracy")
    assert undescribed(d) == ["mystery"]
    assert d.set_index("name").loc["mystery", "meaning"] == NO_DESCRIPTION
    assert d.set_index("name").loc["pai", "source"] == "incidents_points; analysis"
