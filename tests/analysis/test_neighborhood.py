"""The neighborhood card: numbers equal the layers, hot-spot words follow the LISA label."""

from __future__ import annotations

import numpy as np
import pytest

from geo.analysis.neighborhood import npa_hotspots
from geo.errors import ValueDomainError
from geo.output.narrative import HOTSPOT_WORDS, neighborhood_card


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
