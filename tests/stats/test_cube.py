"""The space-time cube: counts against a direct groupby, whole steps, kept cells, the step rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.errors import ValueDomainError
from geo.stats.cube import build_cube, choose_step, month_index, month_label, monthly_counts


def _random_points(seed: int = 0, n: int = 2000, n_cells: int = 7):
    rng = np.random.default_rng(seed)
    cell = rng.integers(-1, n_cells, n)  # -1: in no cell
    year = rng.integers(2017, 2020, n)
    month = rng.integers(1, 13, n)
    return cell, year, month


def test_monthly_counts_equal_a_groupby_of_the_points():
    cell, year, month = _random_points()
    m = month_index(year, month)
    counts, first = monthly_counts(cell, m, 7)
    frame = pd.DataFrame({"cell": cell, "m": m})
    direct = frame[frame.cell >= 0].groupby(["cell", "m"]).size()
    assert first == 2017 * 12
    for (c, mm), k in direct.items():
        assert counts[c, mm - first] == k
    assert counts.sum() == (cell >= 0).sum()


def test_quarterly_cube_equals_a_groupby_by_quarter():
    cell, year, month = _random_points(1)
    counts, first = monthly_counts(cell, month_index(year, month), 7)
    cube = build_cube(counts, first, step="quarter")
    assert cube.labels[0] == "2017-Q1" and cube.labels[-1] == "2019-Q4" and cube.n_steps == 12
    frame = pd.DataFrame({"cell": cell, "q": [f"{y}-Q{(mm - 1) // 3 + 1}" for y, mm in zip(year, month, strict=True)]})
    direct = frame[frame.cell >= 0].groupby(["cell", "q"]).size().unstack(fill_value=0)
    np.testing.assert_array_equal(cube.counts, direct.loc[cube.cells, list(cube.labels)].to_numpy())
    assert cube.n_partial_points == 0


def test_partial_steps_are_left_out_and_counted():
    # points from 2017-02 to 2019-06: 2017 and 2019 are partial years, 2017-Q1 is partial
    monthly = np.zeros((2, 29), dtype=np.int64)
    monthly[0, :] = 1  # one point per month in cell 0
    first = month_index(np.array(2017), np.array(2))
    years = build_cube(monthly, int(first), step="year")
    assert years.labels == ("2018",)
    assert years.counts.tolist() == [[12], [0]]  # no area mask: every cell is in the area, cell 1 kept as zeros
    assert years.n_partial_points == 29 - 12
    quarters = build_cube(monthly, int(first), step="quarter")
    assert quarters.labels[0] == "2017-Q2" and quarters.labels[-1] == "2019-Q2"
    assert quarters.n_partial_points == 2  # February and March 2017


def test_cells_outside_the_area_without_points_are_excluded():
    monthly = np.zeros((4, 24), dtype=np.int64)
    monthly[0, 3] = 2  # in the area, with points
    monthly[2, 5] = 1  # outside the area, with a point: kept
    in_area = np.array([True, True, False, False])  # cell 1: in the area, empty: kept as zeros
    cube = build_cube(monthly, 2017 * 12, step="year", in_area=in_area)
    assert cube.cells.tolist() == [0, 1, 2]
    assert cube.n_excluded_cells == 1
    assert cube.counts.tolist() == [[2, 0], [0, 0], [1, 0]]


def test_month_labels():
    assert month_label(2017 * 12, "month") == "2017-01"
    assert month_label(2017 * 4 + 3, "quarter") == "2017-Q4"
    assert month_label(2026, "year") == "2026"


def test_step_rule_takes_the_finest_step_with_a_median_bin_of_one():
    # 3 cells x 120 months; every cell has a point every second month: months have median 0 (half the bins empty,
    # the other half 1 -> median 0.5), quarters have >= 1 in each bin
    monthly = np.zeros((3, 120), dtype=np.int64)
    monthly[:, ::2] = 1
    choice = choose_step(monthly, 2010 * 12)
    assert choice.step == "quarter" and not choice.sparse
    rows = {row[0]: row for row in choice.table}
    assert rows["month"][2] == pytest.approx(0.5)
    assert rows["quarter"][1] == 40 and rows["year"][1] == 10


def test_step_rule_falls_back_to_the_coarsest_step_with_ten_steps():
    monthly = np.zeros((50, 60), dtype=np.int64)  # five years: only months (60) and quarters (20) give 10 steps
    monthly[0, :] = 1
    choice = choose_step(monthly, 2015 * 12)
    assert choice.step == "quarter" and choice.sparse
    assert "coarsest" in choice.reason


def test_step_rule_refuses_a_short_span():
    with pytest.raises(ValueDomainError, match="at least 10 whole steps"):
        choose_step(np.ones((3, 8), dtype=np.int64), 2020 * 12)


def test_build_cube_refuses_bad_options():
    with pytest.raises(ValueDomainError, match="step must be one of"):
        build_cube(np.ones((2, 12), dtype=np.int64), 0, step="week")  # type: ignore[arg-type]
    with pytest.raises(ValueDomainError, match="in_area has 3 entries"):
        build_cube(np.ones((2, 12), dtype=np.int64), 0, step="year", in_area=np.ones(3, dtype=bool))
