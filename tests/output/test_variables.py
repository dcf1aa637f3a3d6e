"""geo.output.variables: the metrics catalogue in words (titles, units, years) and the layers' variables."""

from __future__ import annotations

import html

import pandas as pd
import pytest

from geo.errors import ValueDomainError
from geo.output import variables


@pytest.fixture(scope="module")
def raw_catalogue(settings):
    from geo.layers import records

    return records.qol_catalogue(settings)


def test_every_metric_has_a_title_category_years_and_description(raw_catalogue):
    cat = variables.metric_catalogue(raw_catalogue)
    assert len(cat) == len(raw_catalogue) == 83
    for key, info in cat.items():
        row = raw_catalogue.set_index("metric").loc[key]
        assert info.title == html.unescape(row["title"])
        assert info.category == row["category"]
        assert info.years == tuple(sorted(int(y) for y in row["years"].split(",")))
        assert info.description == row["description"]
        assert key not in info.option  # pickers show titles, never ids
        assert info.details.endswith(f"Id: {key}.")


def test_units_from_format_label_or_subtitle(raw_catalogue):
    cat = variables.metric_catalogue(raw_catalogue)
    fmt = raw_catalogue.set_index("metric")["format"]
    assert all(cat[k].units == "percent" for k in fmt.index[fmt == "percent"])
    assert all(cat[k].units == "dollars" for k in fmt.index[fmt == "money"])
    assert cat["m58"].units == "per 1,000 residents"  # from "Violent crime rate per 1,000 residents"
    assert cat["m2"].units == "years"  # the explorer's label


def test_crime_measures_listed_first_and_lookup(raw_catalogue):
    cat = variables.metric_catalogue(raw_catalogue, crime_years={"violent": [2022, 2011]})
    assert next(iter(cat)) == "violent"
    assert cat["violent"].years == (2011, 2022)
    assert cat["violent"].category == variables.CRIME_CATEGORY
    assert variables.metric_info("m80", cat).title == "Food and Nutrition Services"
    with pytest.raises(ValueDomainError, match="no metric 'm999'"):
        variables.metric_info("m999", cat)
    with pytest.raises(ValueDomainError, match="crime measure"):
        variables.metric_catalogue(raw_catalogue, crime_years={"arson": [2022]})


def test_search_and_table(raw_catalogue):
    cat = variables.metric_catalogue(raw_catalogue)
    found = variables.search_metrics(cat, "tree canopy")
    want = raw_catalogue[
        (
            raw_catalogue[["title", "subtitle", "category", "description"]].agg(" ".join, axis=1).str.lower()
        ).str.contains("tree")
        & raw_catalogue[["title", "subtitle", "category", "description"]]
        .agg(" ".join, axis=1)
        .str.lower()
        .str.contains("canopy")
    ]
    assert {i.key for i in found} == set(want["metric"])
    table = variables.catalogue_table(cat.values())
    assert len(table) == 83 and list(table.columns)[-1] == "Id"
    assert (table["Description"] != "").all()


def test_variables_for_npa_lists_rates():
    frame = pd.DataFrame({"violent_rate_2022": [1.0], "property_rate_2022": [1.0], "pop_2020": [1]})
    labels = [v.label for v in variables.variables_for("npa", frame)]
    assert labels == ["Residents (2020)", "Violent crimes per 1,000 residents (2022)",
                      "Property crimes per 1,000 residents (2022)"]  # fmt: skip
