"""Knox table: by hand on 10 points, against pointpats' Knox, and the permutation counts recounted."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pointpats.spacetime import Knox

from geo.errors import ValueDomainError
from geo.stats.near_repeat import knox_table, time_gap_totals

XY = np.array(
    [[0, 0], [100, 0], [0, 250], [500, 500], [520, 480], [900, 100], [1000, 1000], [150, 900], [600, 0], [90, 60]],
    dtype=float,
)
T = np.array([0, 1, 1, 3, 3, 7, 2, 0, 5, 1])
D_BANDS = (200.0, 600.0)
T_BANDS = (0, 2)


def _band(value: float, limits: tuple[float, ...]) -> int:
    for k, lim in enumerate(limits):
        if value <= lim:
            return k
    return len(limits)


def _hand_table(xy: np.ndarray, t: np.ndarray) -> np.ndarray:
    table = np.zeros((len(D_BANDS) + 1, len(T_BANDS) + 1), dtype=int)
    for i, j in itertools.combinations(range(len(t)), 2):
        d = float(np.hypot(*(xy[i] - xy[j])))
        table[_band(d, D_BANDS), _band(abs(int(t[i]) - int(t[j])), T_BANDS)] += 1
    return table


def test_knox_counts_and_expectation_by_hand():
    res = knox_table(XY, T, distance_bands=D_BANDS, time_bands=T_BANDS, permutations=0)
    np.testing.assert_array_equal(res.observed, _hand_table(XY, T))
    assert res.observed.sum() == res.n_pairs == 45
    # expectation: a pair's times are those of a uniformly random ordered pair of distinct points
    expected = np.zeros(res.observed.shape)
    ordered = [(a, b) for a in range(10) for b in range(10) if a != b]
    for i, j in itertools.combinations(range(10), 2):
        d_band = _band(float(np.hypot(*(XY[i] - XY[j]))), D_BANDS)
        for a, b in ordered:
            expected[d_band, _band(abs(int(T[a]) - int(T[b])), T_BANDS)] += 1 / len(ordered)
    np.testing.assert_allclose(res.expected, expected)
    np.testing.assert_allclose(res.ratio, res.observed / expected)
    assert np.isnan(res.p).all()


def test_permutation_counts_recounted_pair_by_pair():
    res = knox_table(XY, T, distance_bands=D_BANDS, time_bands=T_BANDS, permutations=199, seed=7)
    rng = np.random.default_rng(7)  # the same draws, recounted by brute force
    n_ge = np.zeros(res.observed.shape, dtype=int)
    n_le = np.zeros(res.observed.shape, dtype=int)
    total = np.zeros(res.observed.shape)
    for _ in range(199):
        table = _hand_table(XY, T[rng.permutation(10)])
        n_ge += table >= res.observed
        n_le += table <= res.observed
        total += table
    np.testing.assert_array_equal(res.n_ge, n_ge)
    np.testing.assert_array_equal(res.n_le, n_le)
    np.testing.assert_allclose(res.expected_mc, total / 199)
    np.testing.assert_allclose(res.p, np.minimum(1, 2 * (np.minimum(n_ge, n_le) + 1) / 200))
    greater = knox_table(XY, T, distance_bands=D_BANDS, time_bands=T_BANDS, permutations=199, seed=7,
                         alternative="greater")  # fmt: skip
    np.testing.assert_allclose(greater.p, (n_ge + 1) / 200)


@pytest.mark.parametrize("interaction", [True, False])
def test_matches_pointpats_knox_on_one_band(interaction):
    rng = np.random.default_rng(4)
    centres = rng.uniform(0, 20_000, (8, 2))
    xy = np.vstack([rng.uniform(0, 20_000, (150, 2)), centres[rng.integers(0, 8, 100)] + rng.normal(0, 300, (100, 2))])
    t = rng.integers(0, 36, 250)
    if interaction:
        t[150:] = rng.integers(10, 14, 100)  # the clustered points are also close in time
    ours = knox_table(xy, t, distance_bands=(1000.0,), time_bands=(2,), permutations=499, seed=1, alternative="greater")
    np.random.seed(1)
    theirs = Knox(xy, t.reshape(-1, 1).astype(float), delta=1000.0, tau=2, permutations=499)
    assert ours.observed[0, 0] == theirs.nst
    np.testing.assert_allclose(ours.observed, theirs.observed)
    np.testing.assert_allclose(ours.expected, theirs.expected)
    # two Monte Carlo estimates of one p-value from different random streams (about 0.33 without interaction)
    assert ours.p[0, 0] == pytest.approx(theirs.p_sim, abs=0.05)
    assert (ours.p[0, 0] < 0.01) == interaction


def test_time_gap_totals_by_brute_force():
    t = np.array([3, 3, 5, 0, 3, 9, 5])
    gaps = time_gap_totals(t)
    brute = np.bincount([abs(a - b) for a, b in itertools.combinations(t, 2)], minlength=gaps.size)
    np.testing.assert_array_equal(gaps, brute)


@pytest.mark.parametrize(
    ("bands", "unit", "labels"),
    [
        ((0, 1, 2, 3), "months", ["same month", "1 month", "2 months", "3 months", "over 3 months"]),
        ((0, 2), "months", ["same month", "1 - 2 months", "over 2 months"]),
        ((1, 3), "months", ["0 - 1 months", "2 - 3 months", "over 3 months"]),
        ((0,), "months", ["same month", "over 0 months"]),
        ((0, 7), "days", ["same day", "1 - 7 days", "over 7 days"]),
    ],
)
def test_time_labels_never_read_zero_to_zero(bands, unit, labels):
    res = knox_table(XY, T, distance_bands=D_BANDS, time_bands=bands, permutations=0, seed=0, time_unit=unit)
    assert res.time_labels() == labels
    assert res.table()["time_band"].drop_duplicates().tolist() == labels


def test_labels_and_tidy_table():
    res = knox_table(XY, T, distance_bands=D_BANDS, time_bands=T_BANDS, permutations=9, seed=0)
    assert res.distance_labels() == ["0 - 200 ft", "over 200 - 600 ft", "over 600 ft"]
    assert res.time_labels() == ["same month", "1 - 2 months", "over 2 months"]
    table = res.table()
    assert len(table) == 9 and table["observed"].sum() == 45
    assert res.ratio_table().shape == (3, 3)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueDomainError, match="increasing upper limits"):
        knox_table(XY, T, distance_bands=(600.0, 200.0), time_bands=T_BANDS)
    with pytest.raises(ValueDomainError, match="whole numbers"):
        knox_table(XY, T + 0.5, distance_bands=D_BANDS, time_bands=T_BANDS)
    with pytest.raises(ValueDomainError, match="alternative"):
        knox_table(XY, T, distance_bands=D_BANDS, time_bands=T_BANDS, alternative="less")  # type: ignore[arg-type]
