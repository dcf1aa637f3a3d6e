"""Bivariate, partial/conditional local Moran and multivariate local Geary: GeoDa, esda, exact enumeration."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import ValueDomainError
from geo.stats._geary import geary_counts, local_geary_values
from geo.stats._permutation import NeighbourTable, simulated_lags
from geo.stats.bivariate import (
    GEARY_LABELS,
    local_geary_mv,
    local_moran_bv,
    local_moran_conditional,
    local_moran_partial,
)
from geo.stats.moran import LISA_LABELS
from geo.stats.weights import build_weights
from tests.helpers.lattices import lattice_gdf

X, Y = "violent_rate_2022", "disorder_rate_2022"


@pytest.fixture(scope="module")
def npa_full(npa_layer):
    hh = npa_layer["households_2021"].where(npa_layer["households_2021"] > 0)
    return npa_layer.assign(income=npa_layer["household_income_aggregate_2021"] / hh)


@pytest.fixture(scope="module")
def npa(npa_full):
    keep = npa_full[[X, Y, "income"]].notna().all(axis=1)
    return npa_full[keep].reset_index(drop=True)


@pytest.fixture(scope="module")
def geoda(npa):
    pygeoda = pytest.importorskip("pygeoda")
    assert npa.geom_type.isin(["Polygon", "MultiPolygon"]).all()  # pygeoda segfaults on GeometryCollections
    return pygeoda, pygeoda.queen_weights(pygeoda.open(npa[["npa", "geometry"]]))


def _within_mc(p_ours, p_theirs, r):
    se = np.sqrt(np.maximum(p_ours * (1 - p_ours), 1e-4) / r)
    return np.abs(p_ours - p_theirs) <= 5 * np.sqrt(2) * se + 3 / (r + 1)


def test_bivariate_lisa_matches_geoda_with_undefined_units(npa_full, npa, geoda):
    pygeoda, gw = geoda
    r = 9999
    gl = pygeoda.local_bimoran(gw, npa[X].tolist(), npa[Y].tolist(), permutations=r, seed=7, cpu_threads=1)
    # the full layer: units lacking x, y (or, here, income) are Undefined and dropped, the rest = GeoDa on the subset
    full = npa_full.assign(**{Y: npa_full[Y].where(npa_full["income"].notna())})
    res = local_moran_bv(full, X, Y, weights="queen", permutations=r, seed=1, alternative="folded")
    defined = full[[X, Y]].notna().all(axis=1).to_numpy()
    f = res.frame[defined]
    np.testing.assert_allclose(f["bv_i"], gl.lisa_values(), atol=1e-9)
    assert res.counts["Undefined"] == (~defined).sum() == len(full) - len(npa)
    assert res.undefined == tuple(full.index[~defined])
    assert any(w.code == "undefined_units" for w in res.warnings)
    p = f["bv_p"].to_numpy()
    assert _within_mc(p, np.asarray(gl.lisa_pvalues()), r).all()
    names = gl.lisa_labels()
    theirs = np.array([names[c] for c in gl.lisa_clusters()])
    far = np.minimum(np.abs(p - 0.05), np.abs(np.asarray(gl.lisa_pvalues()) - 0.05)) > 4 * np.sqrt(0.05 * 0.95 / r)
    assert far.sum() > 300
    np.testing.assert_array_equal(f["bv_cluster"].to_numpy()[far], theirs[far])
    assert set(res.frame["bv_cluster"]) <= set(LISA_LABELS)


def test_bivariate_and_multivariate_statistics_match_esda(npa):
    esda = pytest.importorskip("esda")
    w = build_weights(npa, method="queen")
    g = w.graph.transform("r")
    bv = esda.Moran_Local_BV(npa[X].to_numpy(), npa[Y].to_numpy(), g, permutations=0)
    ours = local_moran_bv(npa, X, Y, weights=w, permutations=99, seed=1)
    np.testing.assert_allclose(ours.frame["bv_i"], bv.Is, atol=1e-9)
    assert ours.extra["global_bv"] == pytest.approx(bv.Is.sum() / (len(npa) - 1))
    mv = esda.Geary_Local_MV(connectivity=g, permutations=0).fit([npa[X].to_numpy(), npa[Y].to_numpy()])
    mg = local_geary_mv(npa, [X, Y], weights=w, permutations=99, seed=1)
    n = len(npa)  # esda standardises with the population SD, GeoDa (and we) with the sample SD
    np.testing.assert_allclose(mg.frame["mgeary_c"] * n / (n - 1), mv.localG, atol=1e-9)


def test_partial_and_conditional_match_esda(npa):
    esda = pytest.importorskip("esda")
    w = build_weights(npa, method="queen")
    covs = [Y, "income"]
    y, xs = npa[X].to_numpy(dtype=float), npa[covs].to_numpy(dtype=float)
    part = esda.MoranLocalPartial(permutations=0).fit(xs, y, w.graph.transform("r"))
    ours = local_moran_partial(npa, X, covariates=covs, weights=w, permutations=99, seed=1)
    np.testing.assert_allclose(ours.frame["plisa_i"], part.association_, atol=1e-9)
    np.testing.assert_array_equal(ours.frame["plisa_quadrant"], part.labels_)
    cond = esda.MoranLocalConditional(permutations=0).fit(xs, y.copy(), w.graph.transform("r"))
    ours_c = local_moran_conditional(npa, X, covariates=covs, weights=w, permutations=99, seed=1)
    np.testing.assert_allclose(ours_c.frame["clisa_i"], cond.association_, atol=1e-9)
    np.testing.assert_array_equal(ours_c.frame["clisa_quadrant"], cond.labels_)
    # the residuals and the share explained agree with a plain least-squares fit
    design = np.column_stack([np.ones(len(y)), xs])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ beta
    np.testing.assert_allclose(ours.frame["plisa_resid"], resid / y.std(), atol=1e-9)
    assert ours.extra["r2"] == pytest.approx(1 - resid @ resid / ((y - y.mean()) @ (y - y.mean())))


def test_multivariate_geary_matches_geoda(npa, geoda):
    pygeoda, gw = geoda
    r = 9999
    gl = pygeoda.local_multigeary(gw, [npa[X].tolist(), npa[Y].tolist()], permutations=r, seed=3, cpu_threads=1)
    res = local_geary_mv(npa, [X, Y], weights="queen", permutations=r, seed=2, alternative="folded")
    np.testing.assert_allclose(res.frame["mgeary_c"], gl.lisa_values(), atol=1e-9)
    # GeoDa picks the tail by the permutation mean, we by the smaller count: fold GeoDa's p the same way
    p, pg = res.frame["mgeary_p"].to_numpy(), np.asarray(gl.lisa_pvalues())
    assert _within_mc(p, np.minimum(pg, 1 - pg + 1 / (r + 1)), r).all()
    names = gl.lisa_labels()
    theirs = np.array([names[c] for c in gl.lisa_clusters()])
    far = np.minimum(np.abs(p - 0.05), np.abs(pg - 0.05)) > 4 * np.sqrt(0.05 * 0.95 / r)
    np.testing.assert_array_equal(res.frame["mgeary_cluster"].to_numpy()[far], theirs[far])
    assert res.counts["Positive"] > 50 and set(res.counts) == set(GEARY_LABELS)


def test_geary_pseudo_p_exact_on_small_lattice():
    # Corner unit 0 of a 3x3 rook lattice has 2 neighbours; under conditional permutation they are any
    # 2 of the 8 other units (28 pairs, equally likely): enumerate them all.
    a = np.arange(1.0, 10.0)
    b = np.array([3.0, 1, 4, 1, 5, 9, 2, 6, 5])
    g = lattice_gdf(3, 3, a).assign(b=b)
    z = np.column_stack([(v - v.mean()) / v.std(ddof=1) for v in (a, b)])
    table = NeighbourTable.from_sparse(build_weights(g, method="rook").matrix("R"))
    obs = local_geary_values(z, table)[0]
    sims = [((z[0] - z[list(pair)]) ** 2).sum() / 2 / 2 for pair in itertools.combinations(range(1, 9), 2)]
    ge, le = np.mean(np.array(sims) >= obs - 1e-12), np.mean(np.array(sims) <= obs + 1e-12)
    r = 99_999
    n_ge, n_le = geary_counts(z, table, permutations=r, seed=5)
    tol = 5 * np.sqrt(0.25 / r)
    assert n_ge[0] / r == pytest.approx(ge, abs=tol) and n_le[0] / r == pytest.approx(le, abs=tol)
    res = local_geary_mv(g, ["v", "b"], weights="rook", permutations=r, seed=5, alternative="folded")
    assert res.frame["mgeary_p"].iloc[0] == pytest.approx(min(ge, le), abs=tol + 2 / r)


def test_partial_p_values_follow_the_permuted_lags():
    # Hand computation with the very draws used: statistic_i^perm = coef_i * permuted lag of z.
    rng = np.random.default_rng(0)
    g = lattice_gdf(5, 5, rng.normal(size=25)).assign(c=rng.normal(size=25))
    r = 199
    res = local_moran_partial(g, "v", covariates=["c"], weights="queen", permutations=r, seed=11)
    f = res.frame
    table = NeighbourTable.from_sparse(build_weights(g, method="queen").matrix("R"))
    z = f["plisa_z"].to_numpy()
    coef = f["plisa_i"].to_numpy() / f["plisa_lag"].to_numpy()
    sims = coef * simulated_lags(z, table, permutations=r, seed=11)
    obs = f["plisa_i"].to_numpy()
    tail = np.minimum((sims >= obs - 1e-9).sum(axis=0), (sims <= obs + 1e-9).sum(axis=0))
    np.testing.assert_allclose(f["plisa_p"], np.minimum(1, 2 * (tail + 1) / (r + 1)))


def test_islands_fdr_and_labels():
    rng = np.random.default_rng(4)
    g = lattice_gdf(6, 6, rng.normal(size=36)).assign(u=rng.normal(size=36))
    g.loc[:8, "v"] += 3
    island = gpd.GeoDataFrame({"v": [1.0], "u": [0.0]}, geometry=[shapely.box(20, 20, 21, 21)], crs=g.crs)
    g = gpd.GeoDataFrame(pd.concat([g, island], ignore_index=True), crs=g.crs)
    for run, pre in (
        (lambda **k: local_moran_bv(g, "v", "u", **k), "bv_"),
        (lambda **k: local_moran_partial(g, "v", covariates=["u"], **k), "plisa_"),
        (lambda **k: local_moran_conditional(g, "v", covariates=["u"], **k), "clisa_"),
        (lambda **k: local_geary_mv(g, ["v", "u"], **k), "mgeary_"),
    ):
        res = run(weights="queen", permutations=999, seed=1, correction="fdr")
        f = res.frame
        assert f[f"{pre}cluster"].iloc[-1] == "Isolated" and np.isnan(f[f"{pre}p"].iloc[-1])
        assert res.islands == (36,) and res.n_tested == 36 and res.counts["Isolated"] == 1
        p = np.sort(f[f"{pre}p"].dropna().to_numpy())
        k = np.nonzero(p <= 0.05 * np.arange(1, p.size + 1) / p.size)[0]
        assert res.cutoff == (p[k[-1]] if k.size else -1.0)
        sig = f[f"{pre}significant"]
        assert (f.loc[sig, f"{pre}p"] <= res.cutoff).all()
        assert (f.loc[~sig, f"{pre}cluster"].isin(["Not significant", "Isolated"])).all()


def test_bad_input(npa):
    with pytest.raises(ValueDomainError, match="collinear"):
        local_moran_partial(npa.assign(y2=2 * npa[Y]), X, covariates=[Y, "y2"], permutations=99)
    with pytest.raises(ValueDomainError, match="its own covariate"):
        local_moran_conditional(npa, X, covariates=[X], permutations=99)
    with pytest.raises(ValueDomainError, match="used once"):
        local_moran_bv(npa, X, X, permutations=99)
    with pytest.raises(ValueDomainError, match="same value"):
        local_geary_mv(npa.assign(k=1.0), [X, "k"], permutations=99)
    with pytest.raises(ValueDomainError, match="non-empty list"):
        local_moran_partial(npa, X, covariates="income", permutations=99)
