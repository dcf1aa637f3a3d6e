"""Hot-spot persistence on the real NPAs: quadrants, transitions and hot-neighbour counts recounted by hand.

The Markov statistics are compared with giddy's (the reference, imported only here) on the real series.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from geo.analysis.persistence import consecutive_years, persistence, unit_history
from geo.errors import ValueDomainError
from geo.settings import PROJECT_ROOT
from tests.stats.test_markov import assert_lisa_equals_giddy, assert_spatial_equals_giddy


@pytest.fixture(scope="module", autouse=True)
def _jit_for_giddy():
    """The giddy reference (through quantecon) compiles numba gufuncs: it needs the JIT on (see tests/helpers)."""
    from tests.helpers.references import numba_jit_on

    with numba_jit_on():
        yield


def test_consecutive_years():
    assert consecutive_years([2011, 2013, 2015, 2016, 2017]) == [2015, 2016, 2017]
    assert consecutive_years([2020]) == [2020]
    assert consecutive_years([]) == []


@pytest.fixture(scope="module")
def result(npa_layer):
    return persistence(npa_layer, variable="violent_crimes", permutations=99, seed=3)


@pytest.fixture(scope="module")
def graph(npa_layer, result):
    """Queen contiguity of the NPAs kept, built by libpysal directly."""
    from libpysal.graph import Graph

    sub = npa_layer.set_index("npa").loc[result.values.index]
    return Graph.build_contiguity(sub, rook=False)


def test_years_and_units(result, npa_layer):
    assert result.years == tuple(range(2015, 2023))
    cols = [f"violent_crimes_{y}" for y in result.years]
    complete = npa_layer[cols].notna().all(axis=1)
    assert len(result.values) == int(complete.sum())
    assert any("2011, 2013 left out" in n for n in result.notes)


def test_quadrants_by_hand(result, graph):
    dense = graph.sparse.toarray()
    rs = dense / dense.sum(axis=1, keepdims=True)
    for year in result.years:
        y = result.values[year].to_numpy()
        z = y - y.mean()
        lag = rs @ z
        hand = np.where(z > 0, np.where(lag > 0, 1, 4), np.where(lag > 0, 2, 3))
        np.testing.assert_array_equal(result.quadrants[year].to_numpy(), hand)


def test_transitions_equal_pandas_counts(result):
    q = result.quadrants.to_numpy()
    pairs = pd.DataFrame({"a": q[:, :-1].ravel(), "b": q[:, 1:].ravel()})
    hand = pd.crosstab(pairs["a"], pairs["b"]).reindex(index=[1, 2, 3, 4], columns=[1, 2, 3, 4], fill_value=0)
    np.testing.assert_array_equal(result.lisa.transitions, hand.to_numpy())


@pytest.mark.slow  # giddy's import compiles with numba (10-30 s once per process)
def test_markov_statistics_equal_giddy_on_the_real_series(result, graph):
    from giddy.markov import LISA_Markov, Spatial_Markov

    w = graph.transform("r").to_W()
    y = result.values.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = LISA_Markov(y, w)
    assert_lisa_equals_giddy(result.lisa, ref)
    assert_spatial_equals_giddy(result.spatial, Spatial_Markov(y / y.mean(axis=0), w, k=4, m=4, fixed=True))


def test_persistence_does_not_import_giddy():
    """The library computes giddy's statistics itself: giddy would bring quantecon and numba (20-30 s)."""
    code = (
        "import sys\n"
        "from geo.layers import build\n"
        "from geo.analysis.persistence import persistence\n"
        "res = persistence(build.npa_layer(), seed=1, permutations=99)\n"
        "assert len(res.values) > 300, len(res.values)\n"
        "print(sorted(m for m in ('giddy', 'quantecon', 'numba', 'mapclassify') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_hot_neighbour_counts_by_hand(result, graph):
    dense = graph.sparse.toarray() > 0
    hot = result.quadrants.to_numpy() == 1
    became = {True: [0, 0], False: [0, 0]}  # [not hot -> hot, not hot -> any]
    for t in range(hot.shape[1] - 1):
        near = (dense.astype(int) @ hot[:, t].astype(int)) > 0
        for i in np.nonzero(~hot[:, t])[0]:
            became[bool(near[i])][0] += int(hot[i, t + 1])
            became[bool(near[i])][1] += 1
    t = result.neighbour_table
    for flag in (True, False):
        row = t[(t["hot_neighbour"] == flag) & (t["from"] == "not hot") & (t["to"] == "hot")].iloc[0]
        assert row["count"] == became[flag][0]
        assert row["share"] == pytest.approx(became[flag][0] / became[flag][1])


def test_lines_state_the_shares(result):
    stay = result.quadrant_table.query("`from` == 'High-High' and to == 'High-High'")["share"].iloc[0]
    assert f"stayed hot the next year in {stay:.0%}" in result.summary()
    assert result.seconds > 0
    unit = result.values.index[0]
    hist = unit_history(result, unit)
    assert (
        list(hist["year"]) == list(result.years)
        and hist["quadrant"].isin(["High-High", "Low-High", "Low-Low", "High-Low"]).all()
    )


def test_bad_years_are_refused(npa_layer):
    with pytest.raises(ValueDomainError, match="no column violent_crimes_YYYY for year"):
        persistence(npa_layer, years=[2014, 2015, 2016])
