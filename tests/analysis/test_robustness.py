"""geo.analysis.robustness: hot spots counted over weights x seeds, on hand-made lattices and the real NPAs."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.analysis import robustness as rb
from geo.analysis.robustness import (
    DEFAULT_SEEDS,
    DEFAULT_SPECS,
    ROBUSTNESS_CLASSES,
    ROBUSTNESS_COLUMNS,
    WeightsSpec,
    robustness,
    robustness_class,
)
from geo.errors import SchemaError, ValueDomainError
from geo.maps.palettes import ROBUSTNESS_COLORS
from geo.stats.moran import local_moran
from geo.stats.warning_codes import CUTOFF_BELOW_FLOOR, ISLANDS, UNDEFINED_UNITS
from tests.helpers.lattices import lattice_gdf

N = 12
#: The unit that is hot only under the wide distance band (row 8, column 8).
Y = 8 * N + 8
#: The centre of the hot 4 x 4 block in the corner (rows and columns 0-3).
CORE = [13, 14, 25, 26]
WIDE = WeightsSpec("wide band", "distance", threshold=2.5)
SPECS = (*DEFAULT_SPECS, WIDE)


def _lattice() -> gpd.GeoDataFrame:
    """12 x 12 lattice: a hot 4 x 4 block in a corner, and a high unit Y at (8, 8).

    Y's neighbours within distance 2 are low and its ring at distance sqrt(5) is high.
    Y's spatial lag is negative under every default weights (all its neighbours there lie
    within distance 2), so it is High-Low whatever the permutations draw; a distance band
    of 2.5 reaches the high ring and makes it High-High.
    """
    rng = np.random.default_rng(0)
    rows, cols = np.divmod(np.arange(N * N), N)
    v = rng.normal(0, 0.3, N * N)
    block = (rows <= 3) & (cols <= 3)
    v[block] = 5 + rng.normal(0, 0.3, block.sum())
    d2 = (rows - 8) ** 2 + (cols - 8) ** 2
    v[(d2 >= 1) & (d2 <= 4)] = -0.5
    v[(d2 == 5) | (d2 == 0)] = 6.0
    g = lattice_gdf(N, N, v)
    g["cell"] = np.arange(N * N) + 1000
    return g


@pytest.fixture(scope="module")
def lattice() -> gpd.GeoDataFrame:
    return _lattice()


@pytest.fixture(scope="module")
def lattice_result(lattice):
    return robustness(lattice, "v", specs=SPECS, correction="none", id_column="cell")


def test_core_of_the_hot_block_is_hot_in_every_run(lattice_result):
    f = lattice_result.frame
    n_runs = len(SPECS) * len(DEFAULT_SEEDS)
    assert lattice_result.n_runs == n_runs == 21
    assert (f.loc[CORE, "robust_hot"] == n_runs).all()
    assert (f.loc[CORE, "robust_class"] == "Hot in all runs").all()
    np.testing.assert_allclose(f.loc[CORE, "robust_hot_share"], 1.0)
    assert set(np.array(CORE) + 1000) <= set(lattice_result.ids("Hot in all runs"))
    # far from the block and from Y nothing is hot
    assert (f.loc[[N * N - 1, 11, 132], "robust_hot"] == 0).all()


def test_a_unit_hot_only_under_one_weights_choice(lattice_result):
    row = lattice_result.per_run.loc[Y]
    hot_runs = row.index[row == "hot"].tolist()
    assert hot_runs == [f"wide band / seed {s}" for s in DEFAULT_SEEDS]
    assert set(row.drop(hot_runs)) == {""}
    f = lattice_result.frame
    assert f.loc[Y, ["robust_runs", "robust_hot", "robust_cold"]].tolist() == [21, 3, 0]
    assert f.loc[Y, "robust_class"] == "Hot in some runs"
    np.testing.assert_allclose(f.loc[Y, "robust_hot_share"], 3 / 21)
    # without the wide band, Y is never a hot spot
    per_run = lattice_result.per_run.drop(columns=hot_runs)
    assert (per_run.loc[Y] != "hot").all()


def test_counts_add_up(lattice_result):
    f, per_run = lattice_result.frame, lattice_result.per_run
    never = (per_run == "").sum(axis=1)
    untested = (per_run == "not tested").sum(axis=1)
    assert (f["robust_hot"] + f["robust_cold"] + never == f["robust_runs"]).all()
    assert (f["robust_runs"] + untested == lattice_result.n_runs).all()
    assert (f["robust_hot"] == (per_run == "hot").sum(axis=1)).all()
    assert set(np.unique(per_run.to_numpy())) <= set(rb.RUN_STATES)
    assert sum(lattice_result.counts.values()) == len(f)
    assert list(lattice_result.counts) == list(ROBUSTNESS_CLASSES)
    assert lattice_result.counts == {c: int((f["robust_class"] == c).sum()) for c in ROBUSTNESS_CLASSES}
    # the runs table counts the same units as the per-unit table
    runs = lattice_result.runs.set_index("run")
    assert (runs["hot"] == (per_run == "hot").sum()).all()
    assert (runs["cold"] == (per_run == "cold").sum()).all()
    assert (runs["tested"] == (per_run != "not tested").sum()).all()


def test_the_runs_table_has_one_row_per_spec_and_seed(lattice_result):
    runs = lattice_result.runs
    assert len(runs) == len(SPECS) * len(DEFAULT_SEEDS)
    assert list(runs.columns) == [
        "run", "weights", "seed", "hot", "cold", "tested", "islands", "undefined", "cutoff", "mean_neighbours",
        "weights_detail",
    ]  # fmt: skip
    assert runs["weights"].tolist() == [s.name for s in SPECS for _ in DEFAULT_SEEDS]
    assert runs["seed"].tolist() == list(DEFAULT_SEEDS) * len(SPECS)
    assert runs["run"].tolist() == list(lattice_result.per_run.columns)
    assert (runs["cutoff"] == 0.05).all()  # no correction
    mean_k = runs.groupby("weights", sort=False)["mean_neighbours"].first()
    assert mean_k["knn-6"] == 6 and mean_k["knn-10"] == 10
    assert mean_k["rook"] < mean_k["queen"]
    detail = runs.set_index("weights")["weights_detail"]
    assert "threshold 2" in detail["wide band"].iloc[0]


def test_seeds_change_nothing_in_the_deterministic_parts(lattice, lattice_result):
    by_spec = lattice_result.runs.groupby("weights", sort=False)
    for col in ("tested", "islands", "undefined", "mean_neighbours", "weights_detail"):
        assert (by_spec[col].nunique() == 1).all(), col
    # under one weights the quadrant is fixed: no unit is hot with one seed and cold with another
    for spec in SPECS:
        cols = [f"{spec.name} / seed {s}" for s in DEFAULT_SEEDS]
        states = lattice_result.per_run[cols]
        assert not ((states == "hot").any(axis=1) & (states == "cold").any(axis=1)).any()
    # runs are independent: one seed at a time gives the same columns
    alone = robustness(lattice, "v", specs=SPECS[:2], seeds=DEFAULT_SEEDS[1:2], correction="none")
    pd.testing.assert_frame_equal(alone.per_run, lattice_result.per_run[alone.per_run.columns])
    # and the same call gives the same result
    again = robustness(lattice, "v", specs=SPECS[:2], seeds=DEFAULT_SEEDS[1:2], correction="none")
    pd.testing.assert_frame_equal(again.frame.drop(columns="geometry"), alone.frame.drop(columns="geometry"))


def test_each_weights_is_built_once_and_reused_across_seeds(lattice, monkeypatch):
    calls = []
    real = rb.build_weights

    def counting(*args, **kwargs):
        calls.append(kwargs["method"])
        return real(*args, **kwargs)

    monkeypatch.setattr(rb, "build_weights", counting)
    robustness(lattice, "v", specs=DEFAULT_SPECS[:3], seeds=(1, 2, 3, 4), permutations=99, correction="none")
    assert calls == ["queen", "rook", "knn"]


def test_the_frame_is_a_new_layer_with_the_columns(lattice, lattice_result):
    f = lattice_result.frame
    assert isinstance(f, gpd.GeoDataFrame) and f.crs == lattice.crs
    assert list(f.columns) == [*lattice.columns, *ROBUSTNESS_COLUMNS]
    assert f.index.equals(lattice.index)
    assert "robust_runs" not in lattice.columns  # the input is not changed
    assert lattice_result.per_run.index.equals(lattice.index)
    assert (lattice_result.variable, lattice_result.method, lattice_result.correction) == ("v", "lisa", "none")
    assert (lattice_result.permutations, lattice_result.alpha, lattice_result.seeds) == (999, 0.05, DEFAULT_SEEDS)


def test_summary_names_the_robust_hot_spots(lattice_result):
    text = lattice_result.summary(unit="cells", limit=3)
    lines = text.splitlines()
    assert lines[0].startswith("LISA robustness of v: 21 runs = 7 weights (queen, rook, knn-6")
    assert "999 permutations, alpha 0.05, correction none" in lines[0]
    assert lines[1].startswith("High-High per weights (min-max over seeds): queen ")
    n_all = lattice_result.counts["Hot in all runs"]
    first = ", ".join(map(str, lattice_result.ids("Hot in all runs")[:3]))
    assert f"hot in all 21 runs: {n_all} cells (ids {first} ... (+{n_all - 3}))" in lines
    assert "hot in some runs (at most half)" in text and "never significant" in text


def test_undefined_units_are_not_tested():
    g = _lattice()
    g.loc[[Y, 140], "v"] = np.nan
    res = robustness(g, "v", specs=DEFAULT_SPECS[:2], seeds=(1, 2), correction="none")
    f = res.frame
    assert f.loc[[Y, 140], "robust_class"].tolist() == ["Not tested", "Not tested"]
    assert f.loc[[Y, 140], "robust_runs"].tolist() == [0, 0]
    assert f.loc[[Y, 140], "robust_hot_share"].isna().all()
    assert (res.per_run.loc[[Y, 140]] == "not tested").all().all()
    assert (res.runs["undefined"] == 2).all() and (res.runs["tested"] == N * N - 2).all()
    undefined = [w for w in res.warnings if w.code == UNDEFINED_UNITS]
    assert len(undefined) == 1 and undefined[0].text.startswith("2 unit(s) have no value")  # once, not per run


def test_islands_are_not_tested_under_the_weights_that_isolate_them():
    g = lattice_gdf(6, 6, np.arange(36.0) % 7)
    far = gpd.GeoDataFrame({"v": [3.0]}, geometry=[shapely.box(9, 9, 10, 10)], crs=g.crs)
    g = pd.concat([g, far], ignore_index=True)
    res = robustness(g, "v", specs=DEFAULT_SPECS[:3], seeds=(1, 2), permutations=99, correction="none")
    assert res.frame.loc[36, "robust_runs"] == 2  # knn-6 only
    assert res.per_run.loc[36].tolist() == ["not tested"] * 4 + res.per_run.loc[36].tolist()[4:]
    assert res.runs.set_index("weights")["islands"].groupby(level=0, sort=False).first().tolist() == [1, 1, 0]
    islands = [w.text for w in res.warnings if w.code == ISLANDS]
    assert len(islands) == 2
    assert islands[0].startswith("queen: 1 unit(s) have no neighbours under queen weights")
    assert islands[1].startswith("rook: ")


def test_gi_star_core_is_hot_in_every_run(lattice):
    res = robustness(lattice, "v", method="gi", specs=DEFAULT_SPECS, correction="none")
    f = res.frame
    assert (f.loc[CORE, "robust_class"] == "Hot in all runs").all()
    assert res.summary().startswith("Gi* robustness of v: 18 runs")
    assert (f["robust_hot"] + f["robust_cold"] <= f["robust_runs"]).all()


def test_robustness_class_by_hand():
    hot = np.array([6, 4, 3, 1, 0, 0, 0, 0, 2, 0, 5])
    cold = np.array([0, 0, 0, 0, 6, 4, 3, 0, 1, 0, 0])
    runs = np.array([6, 6, 6, 6, 6, 6, 6, 6, 6, 0, 5])
    assert robustness_class(hot, cold, runs).tolist() == [
        "Hot in all runs", "Hot in most runs", "Hot in some runs", "Hot in some runs",  # 3 of 6 is not "most"
        "Cold in all runs", "Cold in most runs", "Cold in some runs", "Never significant",
        "Hot in some, cold in others", "Not tested", "Hot in all runs",  # all the runs in which it was tested
    ]  # fmt: skip


def test_every_class_has_a_colour():
    assert list(ROBUSTNESS_COLORS) == list(ROBUSTNESS_CLASSES)
    assert len(set(ROBUSTNESS_COLORS.values())) == len(ROBUSTNESS_CLASSES)


def test_bad_options_are_reported_together(lattice):
    with pytest.raises(
        ValueDomainError, match=r"method must be one of lisa, gi; got 'moran'.*at least one seed.*99 to"
    ):
        robustness(lattice, "v", method="moran", seeds=(), permutations=5)
    with pytest.raises(ValueDomainError, match=r"names must be unique; repeated: 'queen'"):
        robustness(lattice, "v", specs=(DEFAULT_SPECS[0], WeightsSpec("queen", "rook")))
    with pytest.raises(ValueDomainError, match=r"seeds must be distinct"):
        robustness(lattice, "v", seeds=(1, 1))
    with pytest.raises(ValueDomainError, match=r"correction must be one of"):
        robustness(lattice, "v", correction="holm")
    with pytest.raises(ValueDomainError, match=r"specs must be WeightsSpec values; got str"):
        robustness(lattice, "v", specs=("queen",))


def test_bad_inputs(lattice):
    with pytest.raises(TypeError, match="GeoDataFrame"):
        robustness(pd.DataFrame(lattice.drop(columns="geometry")), "v")
    with pytest.raises(SchemaError, match="'w' is not a column"):
        robustness(lattice, "w")
    with pytest.raises(SchemaError, match="id column 'npa'"):
        robustness(lattice, "v", id_column="npa")
    clash = lattice.assign(robust_hot=1)
    with pytest.raises(SchemaError, match="'robust_hot' already present"):
        robustness(clash, "v")
    with pytest.raises(ValueDomainError, match=r"weights 'big': k must be between 1 and n - 1"):
        robustness(lattice, "v", specs=(WeightsSpec("big", "knn", k=500),))
    with pytest.raises(ValueDomainError, match="knn weights need k"):
        WeightsSpec("knn", "knn")
    with pytest.raises(ValueDomainError, match="unknown method 'hex'"):
        WeightsSpec("hex", "hex")  # type: ignore[arg-type]
    with pytest.raises(ValueDomainError, match="unknown robustness class"):
        robustness(lattice, "v", specs=DEFAULT_SPECS[:1], seeds=(1,), permutations=99).ids("Hot")


def test_default_specs_describe_themselves():
    assert [s.name for s in DEFAULT_SPECS] == ["queen", "rook", "knn-6", "knn-10", "distance band", "kernel"]
    assert [s.describe() for s in DEFAULT_SPECS[:3]] == ["queen contiguity", "rook contiguity", "6 nearest neighbours"]
    assert DEFAULT_SPECS[4].describe().startswith("distance band (the smallest")
    assert DEFAULT_SPECS[5].describe().startswith("triangular kernel over the 6 nearest neighbours")


def test_real_npa_layer_violent_rate(npa_layer, settings):
    res = robustness(npa_layer, "violent_rate_2022", id_column="npa", cache_dir=settings.cache_dir / "weights")
    f, per_run = res.frame, res.per_run
    assert len(f) == len(npa_layer) == 459 and f["npa"].is_unique
    assert len(res.runs) == 18
    # classes follow the per-run counts
    hot, cold = (per_run == "hot").sum(axis=1), (per_run == "cold").sum(axis=1)
    tested = (per_run != "not tested").sum(axis=1)
    assert (f["robust_hot"] == hot).all() and (f["robust_cold"] == cold).all() and (f["robust_runs"] == tested).all()
    assert (f["robust_class"].to_numpy() == robustness_class(hot, cold, tested)).all()
    hot_all = f["robust_class"] == "Hot in all runs"
    assert (f.loc[hot_all, "robust_hot"] == f.loc[hot_all, "robust_runs"]).all()
    most = f["robust_class"] == "Hot in most runs"
    assert (2 * f.loc[most, "robust_hot"] > f.loc[most, "robust_runs"]).all()
    # the NPAs without a 2022 rate are never tested
    no_rate = npa_layer["violent_rate_2022"].isna()
    assert no_rate.sum() == 88 and (f.loc[no_rate, "robust_class"] == "Not tested").all()
    assert (res.runs["tested"] == 371).all()
    # a run is the ordinary LISA: queen with the first seed gives the page's High-High count
    lisa = local_moran(
        npa_layer, "violent_rate_2022", weights="queen", permutations=999, seed=DEFAULT_SEEDS[0], alpha=0.05,
        correction="fdr",
    )  # fmt: skip
    first = res.runs.iloc[0]
    assert (first["weights"], first["hot"]) == ("queen", lisa.counts["High-High"])
    assert (per_run.iloc[:, 0] == "hot").to_numpy().tolist() == (lisa.frame["lisa_cluster"] == "High-High").tolist()
    # a run in which FDR found nothing is named in the advice
    advice = " ".join(w.text for w in res.warnings if w.code == CUTOFF_BELOW_FLOOR)
    for label in res.runs.loc[res.runs["cutoff"] < 0, "run"]:
        assert label in advice
    assert "NPAs" in res.summary(unit="NPAs")
