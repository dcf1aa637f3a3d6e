"""Space-time analyses on the 2017-2026 incident point sample: cube, emerging hot spots, accuracy, near repeat."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pymannkendall
import pytest

from geo.analysis.spacetime import (
    NEAR_REPEAT_CAVEAT,
    accuracy_by_year,
    cell_counts,
    emerging_cube,
    hex_adjacency,
    near_repeat,
)
from geo.errors import CRSError, ValueDomainError
from geo.stats.cube import build_cube
from geo.stats.weights import build_weights
from tests.helpers.data import SHARED

CELL = 5000.0  # feet: the 1-in-61 sample needs large cells to have points in its bins


@pytest.fixture(scope="module")
def points() -> gpd.GeoDataFrame:
    df = pd.read_csv(SHARED / "points" / "cmpd_incidents_point_sample_2017-2026.csv")
    geom = gpd.points_from_xy(df["lon"], df["lat"], crs="EPSG:4326")
    pts = gpd.GeoDataFrame({"month": pd.to_datetime(df["month"] + "-01"), "category": df["category"]}, geometry=geom)
    return pts.to_crs("EPSG:2264")


@pytest.fixture(scope="module")
def county() -> gpd.GeoDataFrame:
    return gpd.read_file(SHARED / "npa" / "npa_geography.geojson").to_crs("EPSG:2264")


@pytest.fixture(scope="module")
def counts(points, county):
    return cell_counts(points, boundary=county, cell_size=CELL)


@pytest.fixture(scope="module")
def result(points, county, counts):
    return emerging_cube(points, boundary=county, counts=counts, permutations=999, seed=1)


def _quarter(month: pd.Series) -> pd.Series:
    return month.dt.year.astype(str) + "-Q" + ((month.dt.month - 1) // 3 + 1).astype(str)


def test_cube_counts_equal_a_direct_groupby_of_the_points(points, counts, result):
    cube = result.cube
    assert cube.step == "quarter" and cube.n_steps == 38
    cells = counts.grid.cells
    joined = gpd.sjoin(points, cells[["cell_id", "geometry"]], predicate="within", how="inner")
    assert joined.index.is_unique  # no point on a shared edge
    direct = joined.groupby(["cell_id", _quarter(joined["month"])]).size().unstack(fill_value=0)
    kept = cells["cell_id"].to_numpy()[cube.cells]
    got = pd.DataFrame(cube.counts, index=kept, columns=list(cube.labels))
    expected = direct.reindex(index=kept, columns=list(cube.labels), fill_value=0)
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())
    # every point is counted, every cell with a point is kept, the others are in the county or counted as excluded
    assert got.to_numpy().sum() == len(points) == len(joined)
    assert set(direct.index) <= set(kept)
    assert cube.n_excluded_cells == len(cells) - len(kept) > 0
    assert counts.in_area[cube.cells].sum() == counts.in_area.sum()


def test_hexagon_lattice_neighbours_equal_queen_contiguity(result):
    frame = result.frame
    queen = build_weights(frame, method="queen").base
    lattice = hex_adjacency(frame["q"].to_numpy(), frame["r"].to_numpy())
    assert (queen != lattice).nnz == 0


def test_spacetime_gi_equals_a_hand_computation(result):
    frame, cube = result.frame, result.cube
    x = cube.counts.astype(float)  # (cells, steps)
    n_bins = x.size
    mean, sd = x.mean(), x.std()
    queen = build_weights(frame, method="queen")
    neighbours = [np.nonzero(queen.base[[i]].toarray().ravel())[0] for i in range(len(frame))]
    rng = np.random.default_rng(0)
    for i, t in zip(rng.integers(0, len(frame), 25), rng.integers(0, cube.n_steps, 25), strict=True):
        hood = [(i, t), *((j, t) for j in neighbours[i])]
        if t > 0:
            hood += [(i, t - 1), *((j, t - 1) for j in neighbours[i])]
        w = len(hood)  # binary weights, the bin itself included
        total = sum(x[a, b] for a, b in hood)
        z = (total - mean * w) / (sd * np.sqrt((n_bins * w - w * w) / (n_bins - 1)))
        assert result.emerging.z.iloc[i, t] == pytest.approx(z)


def test_count_trend_matches_pymannkendall(result):
    frame, cube = result.frame, result.cube
    busiest = np.argsort(-cube.counts.sum(axis=1))[:5]
    for i in busiest:
        ref = pymannkendall.original_test(cube.counts[i].astype(float))
        assert frame["count_trend_tau"].iloc[i] == pytest.approx(ref.Tau)
        assert frame["count_trend_p"].iloc[i] == pytest.approx(ref.p)


def test_result_has_plain_sentences_and_tidy_bins(result):
    frame, bins = result.frame, result.bins
    hot = frame[frame["ehsa_category"].str.contains("Hot Spot")]
    assert len(hot) > 0
    row = hot.iloc[0]
    assert f"a hot spot in {row['hot_recent']} of the last 8 quarters" in row["summary"]
    assert len(bins) == result.cube.counts.size
    assert set(bins["status"]) <= {"Hot spot", "Cold spot", "Not significant", "Not tested"}
    assert (bins["status"] == "Hot spot").sum() == int(result.emerging.hot.to_numpy().sum())
    assert bins["param_permutations"].iloc[0] == 999 and bins["param_correction"].iloc[0] == "fdr per step"
    assert "coarsest step" in result.step_choice.reason
    assert any("hexagon(s) outside the county" in line for line in result.lines)


def test_category_filter_and_refusals(points, county):
    res = cell_counts(points, boundary=county, cell_size=CELL, category="persons")
    assert res.monthly.sum() == (points["category"] == "persons").sum()
    with pytest.raises(ValueDomainError, match="category must be one of"):
        cell_counts(points, boundary=county, cell_size=CELL, category="violent")
    with pytest.raises(CRSError, match="projected CRS"):
        cell_counts(points.to_crs("EPSG:4326"), boundary=county, cell_size=CELL)


def test_accuracy_top_k_by_hand(points, county, counts):
    res = accuracy_by_year(points, boundary=county, counts=counts, permutations=99, seed=1)
    assert set(res.table["method"]) == {"LISA High-High", "Gi* hot spot", "top-k"}
    assert list(res.table["year"].unique()) == [str(y) for y in range(2017, 2025)]
    years = build_cube(counts.monthly, counts.first_month, step="year", in_area=counts.in_area)
    k = res.parameters["top_k"]
    now, nxt = years.counts[:, 2], years.counts[:, 3]  # 2019 -> 2020
    top = np.argsort(-now, kind="stable")[:k]
    area = counts.grid.cells.geometry.area.to_numpy()[years.cells]
    pai = (nxt[top].sum() / nxt.sum()) / (area[top].sum() / area.sum())
    row = res.table[(res.table["year"] == "2019") & (res.table["method"] == "top-k")].iloc[0]
    assert row["pai"] == pytest.approx(pai)
    assert row["pei"] == pytest.approx(nxt[top].sum() / np.sort(nxt)[::-1][:k].sum())
    assert row["rri"] == pytest.approx((nxt[top].sum() / now[top].sum()) / (nxt.sum() / now.sum()))
    assert len(res.lines) == len(res.table)


def test_near_repeat_on_the_sample(points):
    res = near_repeat(points, distance_bands=(1000.0, 2000.0), time_bands=(0, 1), permutations=99, seed=1)
    assert res.knox.observed.sum() == len(points) * (len(points) - 1) // 2
    assert res.lines[-1] == NEAR_REPEAT_CAVEAT
    assert len(res.table) == 9 and (res.table["category"] == "all").all()
