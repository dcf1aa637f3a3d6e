"""The data dictionary: every column of every catalogue layer described; years, units, sources, types."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo.ingest.sources import DATASETS
from geo.layers.catalog import CATALOG, get_layer
from geo.output.dictionary import (
    DICTIONARY_COLUMNS,
    NO_DESCRIPTION,
    ColumnInfo,
    data_dictionary,
    describe_column,
    dictionary_paths,
    undescribed,
)


@pytest.mark.parametrize("name", list(CATALOG))
def test_every_column_of_every_catalogue_layer_is_described(settings, name):
    layer = get_layer(name, settings=settings)
    d = data_dictionary(layer, name)
    assert list(d.columns) == list(DICTIONARY_COLUMNS)
    assert d["name"].tolist() == [str(c) for c in layer.columns]
    assert undescribed(d) == []
    assert (d["label"] != "").all() and (d["meaning"] != "").all()
    # every source is a data set of the project (or "analysis"), and its file is named
    for sources, files in zip(d["source"], d["source_file"], strict=True):
        keys = [k for k in sources.split("; ") if k]
        assert all(k in DATASETS or k == "analysis" for k in keys), sources
        if any(k in DATASETS for k in keys):
            assert files


def test_meanings_units_sources_and_years():
    rate = describe_column("violent_rate_2022", layer="npa")
    assert rate.units == "crimes per 1,000 residents" and rate.sources == ("npa_metric_r58", "npa_metric_d58")
    assert "rate_pop_2022" in rate.meaning
    assert describe_column("searches_native_american", layer="divisions").label == "Searches, Native American drivers"
    assert describe_column("stops_gender_female").label == "Stops, Female drivers"
    assert "areal weighting" in describe_column("pop_2020", layer="divisions").meaning
    assert "areal" not in describe_column("pop_2020", layer="npa").meaning
    assert "covering most" in describe_column("division", layer="npa").meaning
    assert describe_column("division", layer="ois").meaning.endswith("(spatial join)")
    per = describe_column("violent_crimes_2022_per_1000_pop_eb", layer="npa")
    assert per.label == "Violent crimes 2022 per 1,000 residents (EB smoothed)" and "analysis" in per.sources
    assert describe_column("stops_made_up_group") is None  # an unknown group is not guessed
    frame = pd.DataFrame(columns=["pop_2020", "stops_per_1000", "violent_crimes_2022_per_1000_pop", "lisa_p"])
    years = data_dictionary(frame, "npa")["year"].tolist()
    assert years[0] == 2020 and pd.isna(years[1]) and years[2] == 2022 and pd.isna(years[3])


def test_unknown_columns_are_listed_and_types_named():
    gdf = gpd.GeoDataFrame(
        {
            "npa": [1, 2],
            "mystery": ["a", "b"],
            "flag": [True, False],
            "when": pd.to_datetime(["2021-01-01", "2021-02-01"]),
            "share": [0.5, None],
        },
        geometry=[shapely.Point(0, 0), shapely.box(0, 0, 1, 1)],
        crs="EPSG:2264",
    )
    d = data_dictionary(gdf, "npa", extra={"share": ColumnInfo("Share", "A share of something", "share (0-1)")})
    assert undescribed(d) == ["mystery", "flag", "when"]
    assert d.set_index("name").loc["mystery", "meaning"] == NO_DESCRIPTION
    types = d.set_index("name")["type"].to_dict()
    assert types == {
        "npa": "integer",
        "mystery": "text",
        "flag": "boolean",
        "when": "date-time",
        "share": "real",
        "geometry": "geometry (Point, Polygon)",
    }
    assert d.set_index("name").loc["share", "units"] == "share (0-1)"


def test_dictionary_files_sit_beside_the_export(tmp_path):
    assert dictionary_paths(tmp_path / "npa.geojson") == (
        tmp_path / "npa.dictionary.csv",
        tmp_path / "npa.dictionary.json",
    )
