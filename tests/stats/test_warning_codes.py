"""Warnings are data: every statistic's warnings carry a code from geo.stats.warning_codes, and their text."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import GeoWarning
from geo.stats import warning_codes
from geo.stats.emerging import emerging_hotspots
from geo.stats.getisord import local_gstar
from geo.stats.moran import local_moran, moran
from geo.stats.point_hotspots import optimized_hotspots
from geo.stats.rates import add_rate
from geo.stats.weights import build_weights
from tests.helpers.lattices import lattice_gdf


def _codes(warnings) -> list[str]:
    assert all(isinstance(w, GeoWarning) for w in warnings)
    assert all(w.code in warning_codes.WARNING_CODES for w in warnings)
    return [w.code for w in warnings]


@pytest.fixture
def lattice_with_island():
    """A 6 x 6 lattice with values 0..35, plus one far square: the island."""
    g = lattice_gdf(6, 6, np.arange(36.0))
    island = gpd.GeoDataFrame({"v": [5.0]}, geometry=[shapely.box(20, 20, 21, 21)], crs=g.crs)
    return gpd.GeoDataFrame(pd.concat([g, island], ignore_index=True), geometry="geometry", crs=g.crs)


def test_every_code_is_documented_once():
    constants = [getattr(warning_codes, name) for name in warning_codes.__all__ if name != "WARNING_CODES"]
    assert sorted(constants) == sorted(warning_codes.WARNING_CODES)
    assert len(set(constants)) == len(constants)


def test_an_island_gives_code_islands(lattice_with_island):
    w = build_weights(lattice_with_island, method="queen")
    assert _codes(w.warnings) == ["islands"]
    res = local_moran(lattice_with_island, "v", weights=w, permutations=99, seed=1)
    assert _codes(res.warnings) == ["islands"]
    assert str(res.warnings[0]) == res.warnings[0].text
    assert f"warning: {res.warnings[0].text}" in res.summary().splitlines()


def test_disconnected_groups_give_code_components():
    g = lattice_gdf(3, 3, np.arange(9.0))
    far = g.copy()
    far["geometry"] = far.translate(100, 100)
    both = gpd.GeoDataFrame(pd.concat([g, far], ignore_index=True), crs=g.crs)
    assert _codes(build_weights(both, method="rook").warnings) == ["components"]


def test_gstar_codes_undefined_negative_small():
    g = lattice_gdf(3, 3, np.arange(9.0) - 3)
    g.loc[4, "v"] = np.nan
    res = local_gstar(g, "v", weights="rook")
    assert _codes(res.warnings) == ["undefined_units", "negative_values", "small_sample"]
    assert res.warnings[0].text == "1 unit(s) have no value and are labelled Undefined"
    assert res.warnings[2].text.startswith("only 8 units were tested: too few for local inference")


def test_moran_codes_undefined_units_before_the_weights(lattice_with_island):
    g = lattice_with_island.copy()
    g.loc[0, "v"] = np.nan
    res = moran(g, "v", weights="queen", permutations=0)
    assert _codes(res.warnings) == ["undefined_units", "islands"]
    assert "links to them were dropped" in res.warnings[0].text


def test_rate_and_emerging_undefined_units():
    g = lattice_gdf(6, 6)
    g["crimes"] = np.arange(36.0)
    g["pop"] = np.where(np.arange(36) == 3, 0.0, 1000.0)
    assert _codes(add_rate(g, events="crimes", base="pop").warnings) == ["undefined_units"]
    rng = np.random.default_rng(0)
    for year in (2020, 2021, 2022):
        g[f"c_{year}"] = rng.poisson(10, 36).astype(float)
    g.loc[7, "c_2021"] = np.nan
    res = emerging_hotspots(g, columns=["c_2020", "c_2021", "c_2022"], permutations=0)
    assert _codes(res.warnings) == ["undefined_units"]
    assert res.warnings[0].text == "1 unit(s) miss a value in some time step and are labelled Undefined"


def test_point_hotspot_codes():
    square = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1_000, 1_000)], crs="EPSG:2264")
    rng = np.random.default_rng(4)
    x = np.r_[rng.uniform(0, 1_000, 500), [5_000.0, 6_000.0]]
    y = np.r_[rng.uniform(0, 1_000, 500), [5_000.0, 6_000.0]]
    res = optimized_hotspots((x, y), crs="EPSG:2264", boundary=square, cell_size=250.0)
    # 27 cells, uniform points: no clustering peak, so the fallback distance; then Gi*'s own small sample
    assert _codes(res.warnings) == ["points_outside", "small_sample", "no_peak", "small_sample"]
    assert res.warnings[0].text == "2 of 502 points fall outside the boundary and were not counted"
    assert res.warnings[1].text == "only 27 cells: too few for local inference (ArcGIS asks for at least 30)"
    assert res.distance_rule.startswith("fallback") and res.warnings[2].text.endswith(res.distance_rule)
    assert res.summary().splitlines()[-4:] == [f"warning: {w.text}" for w in res.warnings]


def test_direction_conflict_code_for_gstar_and_emerging():
    v = np.random.default_rng(0).poisson(8, 100).astype(float)
    v[44], v[[33, 34, 35, 43, 45, 53, 54, 55]] = 150.0, 0.0  # z > 0, neighbours in the lower tail
    g = lattice_gdf(10, 10, v)
    res = local_gstar(g, "v", weights="queen", permutations=999, seed=1, inference="permutation")
    assert _codes(res.warnings) == ["direction_conflict"]
    for c in ("a", "b", "c"):
        g[c] = v
    ehsa = emerging_hotspots(g, columns=["a", "b", "c"], time_lag=0, permutations=999, seed=1, correction="none")
    assert "direction_conflict" in _codes(ehsa.warnings)
    assert "bin(s) (unit, step)" in next(w.text for w in ehsa.warnings if w.code == "direction_conflict")


def test_emerging_island_gives_code_islands(lattice_with_island):
    g = lattice_with_island.copy()
    rng = np.random.default_rng(1)
    for year in (2020, 2021, 2022):
        g[f"c_{year}"] = rng.poisson(10, len(g)).astype(float)
    res = emerging_hotspots(g, columns=["c_2020", "c_2021", "c_2022"], permutations=0)
    assert _codes(res.warnings) == ["islands"]
    assert res.frame.loc[36, "ehsa_category"] == "Isolated"
