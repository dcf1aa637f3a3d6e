"""geo.analysis.hotspots: the shared orchestration of the hot-spot CLI and pages, on hand-made lattices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.analysis import hotspots
from geo.analysis.hotspots import run_hotspots
from geo.errors import SchemaError, ValueDomainError
from geo.maps import palettes
from geo.output import narrative
from geo.stats import significance
from geo.stats.emerging import EHSA_CATEGORIES
from geo.stats.getisord import GI_LABELS
from geo.stats.significance import significance_classes
from tests.helpers.lattices import lattice_gdf


def _layer(n: int = 7):
    """An n x n lattice: a hot 3x3 block in one corner, counts and populations."""
    rng = np.random.default_rng(0)
    g = lattice_gdf(n, n)
    rows, cols = np.divmod(np.arange(n * n), n)
    hot = (rows < 3) & (cols < 3)
    g["pop_2020"] = 1000.0 + 100 * np.arange(n * n)
    g["crimes"] = np.where(hot, 80.0, 10.0) + rng.integers(0, 5, n * n)
    g["npa"] = np.arange(n * n) + 100
    return g, hot


def test_significance_classes_by_hand():
    p = [0.00005, 0.0005, 0.004, 0.03, 0.07, 0.2, np.nan, 0.01]
    labels = ["High-High"] * 6 + ["Undefined", "Isolated"]
    out = significance_classes(p, cutoff=0.1, labels=labels)
    assert out.tolist() == [
        "p ≤ 0.0001", "p ≤ 0.001", "p ≤ 0.01", "p ≤ 0.05", "p ≤ 0.1", "Not significant", "Undefined", "Isolated",
    ]  # fmt: skip
    # a corrected cutoff between levels: p above it is not significant even if below 0.05
    out = significance_classes([0.004, 0.03], cutoff=0.02)
    assert out.tolist() == ["p ≤ 0.01", "Not significant"]
    # FDR with nothing passing: cutoff -1
    assert significance_classes([0.001], cutoff=-1.0).tolist() == ["Not significant"]
    with pytest.raises(ValueDomainError, match="3 labels for 2 p-values"):
        significance_classes([0.1, 0.2], cutoff=0.05, labels=["a", "b", "c"])


def test_every_label_has_a_colour_and_every_category_a_rule():
    assert set(GI_LABELS) == set(palettes.GI_COLORS)
    assert set(EHSA_CATEGORIES) == set(palettes.EHSA_COLORS) == set(narrative.EHSA_RULES)
    classes = {f"p ≤ {level:g}" for level in significance.SIGNIFICANCE_LEVELS}
    assert classes | {"Not significant", "Isolated", "Undefined"} == set(palettes.SIGNIFICANCE_COLORS)
    assert len(set(palettes.EHSA_COLORS.values())) == len(palettes.EHSA_COLORS)  # no two categories alike


def test_per_capita_rate_and_lisa_on_a_lattice():
    g, hot = _layer()
    run = run_hotspots(
        g, layer="divisions", variable="crimes", per_capita=True, method="lisa", permutations=999, seed=1
    )
    assert run.variable == "crimes_per_1000_pop"
    np.testing.assert_allclose(run.frame["crimes_per_1000_pop"], g["crimes"] / g["pop_2020"] * 1000)
    assert run.frame["lisa_cluster"][hot].eq("High-High").sum() >= 4  # the hot block shows up
    sig = run.frame["lisa_significance"]
    assert ((run.frame["lisa_p"] <= run.local.cutoff) == sig.str.startswith("p ≤")).all()
    assert not run.too_few_for_local_inference  # 49 units
    assert g.columns.tolist() == ["geometry", "pop_2020", "crimes", "npa"]  # input untouched


def test_eb_smoothing_uses_the_eb_rate_statistics():
    g, _ = _layer()
    lisa = run_hotspots(g, layer="npa", variable="crimes", per_capita=True, smoothing="eb", method="lisa", seed=1)
    assert lisa.result.statistic == "local_moran_rate" and lisa.variable == "crimes_per_1000_pop_eb"
    assert (lisa.frame["crimes_per_1000_pop_eb"] >= 0).all()
    gi = run_hotspots(g, layer="npa", variable="crimes", per_capita=True, smoothing="eb", method="gi", permutations=0)
    assert gi.result.variable == "crimes_per_1000_pop_eb" and gi.result.extra["inference"] == "normal"
    moran = run_hotspots(g, layer="npa", variable="crimes", per_capita=True, smoothing="eb", method="moran", seed=1)
    assert moran.result.statistic.I == pytest.approx(lisa.result.global_moran.I)
    assert "global Moran's I of crimes/pop_2020 (queen weights, 49 units)" in moran.summary()


def test_small_layer_is_flagged_and_weights_options_apply():
    g, _ = _layer(4)
    run = run_hotspots(g, layer="divisions", variable="crimes", method="lisa", weights="knn", k=3, seed=1)
    assert run.too_few_for_local_inference
    small = [w for w in run.warnings if w.code == "small_sample"]
    assert len(small) == 1 and "too few for local inference" in small[0].text
    assert run.extra["weights"] == "knn (k=3)"
    band = run_hotspots(g, layer="divisions", variable="crimes", method="gi", weights="distance", threshold=1.01)
    assert band.extra["weights"].startswith("distance band (1 ")  # rook-like band of one cell


def test_warnings_are_data_with_codes():
    g, _ = _layer()
    g.loc[0, "crimes"] = np.nan
    island = g.iloc[[1]].copy()
    island["geometry"] = island.translate(50, 50)
    island["npa"] = 999
    g = type(g)(pd.concat([g, island], ignore_index=True), crs=g.crs)
    run = run_hotspots(g, layer="npa", variable="crimes", method="lisa", permutations=99, correction="bonferroni")
    assert [w.code for w in run.warnings] == ["undefined_units", "islands", "cutoff_below_floor"]
    assert run.lines[-3:] == tuple(f"warning: {w.text}" for w in run.warnings)
    gi = run_hotspots(g, layer="npa", variable="crimes", method="gi", permutations=0)
    assert [w.code for w in gi.warnings] == ["undefined_units", "islands"]
    assert gi.warnings[0].text == "1 unit(s) have no value and are labelled Undefined"


def test_weights_cache_folder_is_passed_down(tmp_path):
    g, _ = _layer()
    run_hotspots(g, layer="npa", variable="crimes", method="gi", permutations=0)
    assert not list(tmp_path.iterdir())  # no folder given: nothing written
    cached = run_hotspots(g, layer="npa", variable="crimes", method="gi", permutations=0, cache_dir=tmp_path / "w")
    assert len(list((tmp_path / "w").glob("queen-49-*.npz"))) == 1
    again = run_hotspots(g, layer="npa", variable="crimes", method="gi", permutations=0, cache_dir=tmp_path / "w")
    np.testing.assert_array_equal(cached.frame["gi_z"], again.frame["gi_z"])
    run_hotspots(g, layer="npa", variable="crimes", method="gi", weights="knn", cache_dir=tmp_path / "w")
    assert len(list((tmp_path / "w").iterdir())) == 1  # distance-based weights are not cached


def test_bonferroni_cutoff_below_the_permutation_floor_is_flagged():
    g, _ = _layer()
    low = run_hotspots(g, layer="npa", variable="crimes", method="lisa", permutations=99, correction="bonferroni")
    assert [a.code for a in low.advice] == ["cutoff_below_floor"]
    # 0.05 / 49 units = 0.00102 < 2 / 100: the message names the permutations that would reach it
    assert "no unit can be significant; use at least 1,959 permutations" in low.advice[0].text
    assert low.advice[0] in low.warnings
    assert low.summary().splitlines()[-1].startswith("warning: the p-value cutoff after the bonferroni")
    assert low.local.counts["High-High"] == 0
    ok = run_hotspots(g, layer="npa", variable="crimes", method="lisa", permutations=9999, correction="bonferroni")
    assert not ok.advice


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(layer="tracts"), ValueDomainError, "layer must be one of npa, divisions, incidents, custom"),
        (dict(method="kriging"), ValueDomainError, "method must be one of moran, lisa, gi, ehsa"),
        (dict(weights="delaunay"), ValueDomainError, "weights must be one of queen, rook, knn, distance, kernel"),
        (dict(smoothing="eb"), ValueDomainError, "set per_capita=True"),
        (dict(variable="nope"), SchemaError, "'nope' is not a column"),
        (dict(method="ehsa", variable="nope"), SchemaError, "ehsa needs one column per year named nope_YYYY"),
        (dict(layer="incidents"), ValueDomainError, "use 'count'"),
        (dict(layer="incidents", variable="count"), ValueDomainError, "need a boundary layer"),
        (dict(layer="incidents", variable="count", per_capita=True), ValueDomainError, "hexagons have no population"),
    ],
)
def test_bad_choices_say_what_is_allowed(kwargs, error, message):
    g, _ = _layer()
    options = dict(layer="npa", variable="crimes", method="lisa", permutations=99) | kwargs
    with pytest.raises(error, match=message):
        run_hotspots(g, **options)


def test_per_capita_without_population_column():
    g, _ = _layer()
    with pytest.raises(SchemaError, match="no population column to divide 'crimes' by"):
        run_hotspots(g.drop(columns="pop_2020"), layer="npa", variable="crimes", per_capita=True, method="gi")


def _cube():
    """5x5 lattice, 6 years: the left column grows hot, the rest is noise; unit 24 misses a year."""
    g = lattice_gdf(5, 5)
    g["npa"] = np.arange(25)
    rng = np.random.default_rng(3)
    left = np.arange(25) % 5 == 0
    for i, year in enumerate(range(2015, 2021)):
        g[f"crimes_{year}"] = rng.poisson(10, 25).astype(float) + np.where(left, 20.0 + 15 * i, 0.0)
    g.loc[24, "crimes_2017"] = np.nan
    return g


def test_emerging_series_and_explanation_agree_with_the_result():
    g = _cube()
    run = run_hotspots(g, layer="npa", variable="crimes", method="ehsa", permutations=999, seed=2)
    assert run.times == ("2015", "2016", "2017", "2018", "2019", "2020")
    assert run.columns == tuple(f"crimes_{y}" for y in range(2015, 2021))
    for unit in (0, 12):
        s = hotspots.emerging_series(run, unit)
        assert s["year"].tolist() == list(range(2015, 2021))
        np.testing.assert_array_equal(s["value"], g.loc[unit, list(run.columns)].to_numpy(dtype=float))
        hot = int((s["status"] == "Hot spot").sum())
        assert hot == run.frame.loc[unit, "ehsa_hot_steps"]
        text = narrative.explain_emerging(run, unit)
        category = run.frame.loc[unit, "ehsa_category"]
        assert text.startswith(f"{category}: {narrative.EHSA_RULES[category]}.")
        assert f"significant hot spot in {hot} and a cold spot in" in text
    assert "Hot Spot" in run.frame.loc[0, "ehsa_category"]  # the growing column is hot
    assert run.frame.loc[24, "ehsa_category"] == "Undefined"
    assert narrative.explain_emerging(run, 24) == f"Undefined: {narrative.EHSA_RULES['Undefined']}."
    assert (hotspots.emerging_series(run, 24)["status"] == "No value").all()
    with pytest.raises(ValueDomainError, match="not a row"):
        hotspots.emerging_series(run, 99)
    lisa = run_hotspots(g, layer="npa", variable="crimes_2020", method="lisa", permutations=99)
    with pytest.raises(ValueDomainError, match="emerging hot spot run"):
        narrative.explain_emerging(lisa, 0)


def test_explain_unit_states_cluster_p_and_cutoff():
    g, hot = _layer()
    lisa = run_hotspots(g, layer="npa", variable="crimes", method="lisa", permutations=999, seed=1, correction="none")
    gi = run_hotspots(g, layer="npa", variable="crimes", method="gi", permutations=999, seed=1, correction="none")
    for unit in (0, 48):
        text = narrative.explain_unit(lisa, gi, unit)
        row = lisa.frame.loc[unit]
        assert text.startswith(f"LISA: {row['lisa_cluster']}")
        verdict = "below" if row["lisa_p"] <= lisa.local.cutoff else "above"
        assert f"so this is {verdict} it" in text
        assert f"Gi*: {gi.frame.loc[unit, 'gi_label']} (z = {gi.frame.loc[unit, 'gi_z']:+.2f}" in text
    assert narrative.explain_unit(lisa, gi, 0).startswith("LISA: High-High, a hot spot")


# --------------------------------------------------------------------------- issue 10: choices applied, advice


def test_choice_advice_names_the_permutations_needed():
    from geo.analysis.hotspot_advice import choice_advice

    # alpha 0.01 with 99 permutations: the smallest two-sided pseudo p, 0.02, is above alpha
    (w,) = choice_advice(method="ehsa", permutations=99, alpha=0.01, correction="fdr", n_tests=371)
    assert w.code == "cutoff_below_floor" and "0.02" in w.text and "at least 199 permutations" in w.text
    assert not choice_advice(method="ehsa", permutations=199, alpha=0.01, correction="fdr", n_tests=371)
    # Bonferroni over 371 units at 0.05 needs p <= 0.000135: 2 / (R + 1) <= that -> R >= 14,839
    (b,) = choice_advice(method="lisa", permutations=9999, alpha=0.05, correction="bonferroni", n_tests=371)
    assert "at least 14,839 permutations" in b.text
    # normal-theory Gi* and Moran's I have no permutation floor
    assert not choice_advice(
        method="gi", permutations=99, alpha=0.01, correction="none", n_tests=371, gi_inference="normal"
    )
    assert not choice_advice(method="moran", permutations=99, alpha=0.01, correction="none", n_tests=371)


def test_ehsa_with_too_few_permutations_is_flagged():
    # the old run said "No Pattern Detected" for every unit without a word
    run = run_hotspots(_cube(), layer="npa", variable="crimes", method="ehsa", permutations=99, alpha=0.01, seed=1)
    assert run.result.counts["No Pattern Detected"] + run.result.counts.get("Isolated", 0) == 24
    assert "cutoff_below_floor" in [w.code for w in run.warnings]
    assert any("at least 199 permutations" in w.text for w in run.advice)


def test_fdr_finding_nothing_says_how_many_permutations_a_unit_needs():
    g, _ = _layer()
    g["crimes"] = np.random.default_rng(5).poisson(20, len(g)).astype(float)  # no pattern
    run = run_hotspots(g, layer="npa", variable="crimes", method="lisa", permutations=99, seed=2)
    assert run.local.counts["High-High"] + run.local.counts["Low-Low"] == 0
    (w,) = [a for a in run.advice if a.code == "cutoff_below_floor"]
    # a single unit among 49 needs p <= 0.05 / 49 = 0.00102: R >= 1,959
    assert "no unit passed the FDR correction" in w.text and "at least 1,959 permutations" in w.text


def test_ehsa_correction_is_passed_through():
    cube = _cube()
    fdr = run_hotspots(cube, layer="npa", variable="crimes", method="ehsa", permutations=999, seed=1)
    none = run_hotspots(
        cube, layer="npa", variable="crimes", method="ehsa", permutations=999, seed=1, correction="none"
    )
    assert fdr.result.correction == "fdr" and none.result.correction == "none"
    assert none.result.hot.to_numpy().sum() >= fdr.result.hot.to_numpy().sum()
    series = hotspots.emerging_series(fdr, 0)
    assert (series["status"] == "Hot spot").tolist() == fdr.result.hot.loc[0].tolist()


def test_gi_inference_default_is_permutation_and_options_are_refused_where_unused():
    g, _ = _layer()
    gi = run_hotspots(g, layer="npa", variable="crimes", method="gi", permutations=99, seed=1)
    assert gi.local.extra["inference"] == "permutation"
    normal = run_hotspots(g, layer="npa", variable="crimes", method="gi", permutations=99, gi_inference="normal")
    assert normal.local.extra["inference"] == "normal"
    with pytest.raises(ValueDomainError, match="one test"):
        run_hotspots(g, layer="npa", variable="crimes", method="moran", permutations=99, correction="fdr")
    with pytest.raises(ValueDomainError, match="p-value of Gi"):
        run_hotspots(g, layer="npa", variable="crimes", method="lisa", permutations=99, gi_inference="normal")
    with pytest.raises(ValueDomainError, match="needs permutations"):
        run_hotspots(g, layer="npa", variable="crimes", method="gi", permutations=0, gi_inference="permutation")
    g["crime_rate"] = g["crimes"] / g["pop_2020"]
    with pytest.raises(ValueDomainError, match="already a rate"):
        run_hotspots(g, layer="npa", variable="crime_rate", method="lisa", permutations=99, per_capita=True)
