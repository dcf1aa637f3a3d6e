"""PAI, PEI and RRI by hand on a 3 x 3 grid."""

from __future__ import annotations

import numpy as np
import pytest

from geo.errors import ValueDomainError
from geo.stats.accuracy import prediction_accuracy, top_k_cells

# 3 x 3 grid of equal cells, row by row
NOW = np.array([5, 1, 0, 2, 8, 1, 0, 1, 2])  # year t: 20 incidents
NEXT = np.array([4, 0, 1, 3, 6, 0, 1, 5, 0])  # year t + 1: 20 incidents
FLAGGED = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0], dtype=bool)  # cells 0 and 4 (hot in year t)


def test_pai_pei_rri_by_hand():
    acc = prediction_accuracy(FLAGGED, NOW, NEXT)
    # n = 4 + 6 = 10 of N = 20 next-year incidents in 2 of 9 cells: PAI = (10 / 20) / (2 / 9) = 2.25
    assert acc.hit_rate == pytest.approx(0.5)
    assert acc.area_share == pytest.approx(2 / 9)
    assert acc.pai == pytest.approx(2.25)
    # the best 2 cells of t + 1 hold 6 + 5 = 11: PEI = 10 / 11
    assert acc.best == 11
    assert acc.pei == pytest.approx(10 / 11)
    # n_t = 5 + 8 = 13 of N_t = 20: RRI = (10 / 13) / (20 / 20)
    assert acc.rri == pytest.approx(10 / 13)
    assert (acc.captured, acc.total, acc.captured_now, acc.total_now) == (10, 20, 13, 20)


def test_pai_uses_cell_areas():
    area = np.ones(9)
    area[0] = 2.0  # the first flagged cell is twice as large: a / A = 3 / 10
    acc = prediction_accuracy(FLAGGED, NOW, NEXT, area=area)
    assert acc.pai == pytest.approx(0.5 / 0.3)


def test_no_flagged_cell_gives_nan():
    acc = prediction_accuracy(np.zeros(9, dtype=bool), NOW, NEXT)
    assert acc.flagged == 0 and np.isnan(acc.pai) and np.isnan(acc.pei) and np.isnan(acc.rri)


def test_top_k_cells_by_hand():
    # 8 (cell 4), 5 (cell 0), then the 2s of cells 3 and 8: ties broken by cell order
    assert np.nonzero(top_k_cells(NOW, 3))[0].tolist() == [0, 3, 4]
    assert np.nonzero(top_k_cells(NOW, 4))[0].tolist() == [0, 3, 4, 8]
    assert np.nonzero(top_k_cells(NOW, 5))[0].tolist() == [0, 1, 3, 4, 8]
    with pytest.raises(ValueDomainError, match="k must be between 0 and 9"):
        top_k_cells(NOW, 10)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueDomainError, match="one length"):
        prediction_accuracy(FLAGGED[:3], NOW, NEXT)
    with pytest.raises(ValueDomainError, match="non-negative"):
        prediction_accuracy(FLAGGED, -NOW, NEXT)
