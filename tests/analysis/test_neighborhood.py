"""The neighborhood card: numbers equal the layers, hot-spot words follow the LISA label."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.analysis.neighborhood import npa_hotspots
from geo.errors import ValueDomainError
from geo.output.narrative import HOTSPOT_WORDS, city_rate, neighborhood_card


@pytest.fixture(scope="module")
def hotspots(npa_layer):
    return npa_hotspots(npa_layer, year=2022, permutations=999, seed=1)


def test_hotspots_cover_every_npa(hotspots, npa_layer):
    assert len(hotspots) == 459 and set(hotspots["npa"]) == set(npa_layer["npa"])
    undefined = hotspots["cluster"] == "Undefined"
    no_rate = npa_layer["violent_crimes_2022"].isna() | ~(npa_layer["rate_pop_2022"] > 0)
    assert undefined.sum() == no_rate.sum() == 88  # 86 NPAs without a 2022 count, 2 with no residents
    sig = hotspots["significant"].astype(bool)
    assert (hotspots.loc[sig, "p"] <= hotspots["cutoff"].iloc[0]).all()
    assert set(hotspots.loc[~sig & ~undefined, "cluster"]) <= {"Not significant", "Isolated"}


def test_weights_come_from_the_cache_folder_when_given(npa_layer, hotspots, tmp_path):
    cached = npa_hotspots(npa_layer, year=2022, permutations=999, seed=1, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("queen-459-*.npz"))) == 1
    assert cached.equals(hotspots)  # same weights, same result


def test_card_numbers_equal_layer(npa_layer, hotspots, division_layer):
    card = neighborhood_card(npa_layer, hotspots, division_layer, npa_id=30, year=2022)
    row = npa_layer.set_index("npa").loc[30]
    text = "\n".join(card.lines)
    assert f"{row['pop_2020']:,.0f}" in text
    assert f"{row['violent_rate_2022']:,.1f}" in text
    label = hotspots.set_index("npa").loc[30, "cluster"]
    assert HOTSPOT_WORDS[label] in text
    d = division_layer.set_index("division").loc[row["division"]]
    assert f"{int(d['stops']):,}" in text
    assert card.trend.loc[2022, "Violent crimes"] == row["violent_crimes_2022"]


def test_card_outside_cmpd_and_unknown_npa(npa_layer, hotspots, division_layer):
    outside = npa_layer.loc[npa_layer["division"].isna(), "npa"].iloc[0]
    card = neighborhood_card(npa_layer, hotspots, division_layer, npa_id=int(outside), year=2022)
    assert "outside CMPD" in "\n".join(card.lines)
    with pytest.raises(ValueDomainError, match="There is no NPA 99999"):
        neighborhood_card(npa_layer, hotspots, division_layer, npa_id=99999, year=2022)


def test_hostile_division_name_is_escaped(npa_layer, hotspots, division_layer):
    evil = "<img src=x onerror=alert(1)>"
    layer = npa_layer.copy()
    layer.loc[layer["npa"] == 30, "division"] = evil
    divs = division_layer.copy()
    divs.loc[0, "division"] = evil
    text = "\n".join(neighborhood_card(layer, hotspots, divs, npa_id=30, year=2022).lines)
    assert evil not in text and "&lt;img src=x onerror=alert\\(1\\)&gt;" in text


def test_zero_population_npa_has_no_rate(npa_layer, hotspots, division_layer):
    zero = npa_layer.loc[(npa_layer["rate_pop_2022"] == 0) & npa_layer["violent_crimes_2022"].notna(), "npa"]
    assert len(zero) == 2
    card = neighborhood_card(npa_layer, hotspots, division_layer, npa_id=int(zero.iloc[0]), year=2022)
    assert np.isnan(npa_layer.set_index("npa").loc[zero.iloc[0], "violent_rate_2022"])
    text = "\n".join(card.lines)
    assert "per 1,000 residents (2022):** not available" in text and "not tested" in text


def test_town_npa_touching_a_division_by_a_sliver_shows_no_stops(npa_layer, hotspots, division_layer):
    # NPA 406 has 298 sq ft (0.0005 %) in Independence Division: it lies outside CMPD's divisions
    card = neighborhood_card(npa_layer, hotspots, division_layer, npa_id=406, year=2022)
    text = "\n".join(card.lines)
    assert "lies outside CMPD's divisions" in text and "own police" in text
    independence = division_layer.set_index("division").loc["Independence Division", "stops"]
    assert f"{int(independence):,}" not in text and "Its traffic stops" not in text


def _tiny_layer(crimes, residents):
    n = len(crimes)
    return gpd.GeoDataFrame(
        {
            "npa": np.arange(1, n + 1),
            "division": [None] * n,
            "pop_2020": residents,
            "violent_crimes_2022": crimes,
            "rate_pop_2022": residents,
            "violent_rate_2022": [c / r * 1000 if r else np.nan for c, r in zip(crimes, residents, strict=True)],
        },
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(n)],
        crs="EPSG:2264",
    )


def test_city_rate_counts_the_same_npas_above_and_below():
    # NPA 2 has 5 crimes and no residents, NPA 3 residents but no count, NPA 4 no count and no residents:
    # (10 + 30) crimes / (1,000 + 3,000) residents * 1,000 = 10.0 (counting NPA 2 would give 11.25)
    layer = _tiny_layer([10.0, 5.0, np.nan, np.nan, 30.0], [1000.0, 0.0, 500.0, 0.0, 3000.0])
    assert city_rate(layer, 2022) == pytest.approx(10.0)
    hotspots = pd.DataFrame({"npa": [1], "cluster": ["Not significant"], "p": [0.5], "cutoff": [0.01]})
    divisions = gpd.GeoDataFrame({"division": ["Central Division"]}, geometry=[shapely.box(9, 9, 10, 10)])
    text = "\n".join(neighborhood_card(layer, hotspots, divisions, npa_id=1, year=2022).lines)
    assert "(all NPAs with data and residents: 10.0)" in text
    assert np.isnan(city_rate(_tiny_layer([5.0], [0.0]), 2022))  # no NPA with residents: no rate


def test_city_rate_on_the_real_layer(npa_layer):
    crimes, residents = npa_layer["violent_crimes_2022"], npa_layer["rate_pop_2022"]
    used = crimes.notna() & (residents > 0)
    # 4,951 crimes over 911,283 residents: the 14 crimes of NPAs 122 and 285 (no residents) are left out
    assert crimes[used].sum() == 4951 and crimes.sum() == 4965 and residents[used].sum() == 911_283
    assert city_rate(npa_layer, 2022) == pytest.approx(4951 / 911_283 * 1000)


def test_no_negative_cutoff_on_the_card():
    # with FDR and nothing significant the cutoff is -1: the card says so instead of "p is at most -1"
    layer = _tiny_layer([10.0, 30.0], [1000.0, 3000.0])
    hotspots = pd.DataFrame({"npa": [1, 2], "cluster": ["Not significant"] * 2, "p": [0.2, 0.5], "cutoff": [-1.0] * 2})
    divisions = gpd.GeoDataFrame({"division": ["Central Division"]}, geometry=[shapely.box(9, 9, 10, 10)])
    text = "\n".join(neighborhood_card(layer, hotspots, divisions, npa_id=1, year=2022).lines)
    assert (
        "-1" not in text and "with 2 areas tested at once, no area passes the false-discovery-rate correction" in text
    )
