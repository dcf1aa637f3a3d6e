"""Contiguity weights are cached on disk: same matrix as libpysal, and no libpysal import on reuse."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from libpysal.graph import Graph

from geo.settings import PROJECT_ROOT
from geo.stats.weights import build_weights


@pytest.mark.parametrize("method", ["queen", "rook"])
def test_cached_contiguity_equals_libpysal(npa_layer, method, tmp_path, monkeypatch):
    monkeypatch.setenv("CMPD_CACHE_DIR", str(tmp_path))
    geom = npa_layer.geometry.reset_index(drop=True)
    direct = Graph.build_contiguity(geom, rook=method == "rook").sparse.toarray()
    first = build_weights(npa_layer, method=method)
    assert list((tmp_path / "weights").glob(f"{method}-459-*.npz"))
    again = build_weights(npa_layer, method=method)
    np.testing.assert_array_equal(first.matrix("B").toarray(), (direct > 0).astype(float))
    np.testing.assert_array_equal(again.matrix("B").toarray(), first.matrix("B").toarray())
    # a changed geometry is a different key
    moved = npa_layer.copy()
    moved.loc[0, "geometry"] = moved.geometry.iloc[0].buffer(-50)
    build_weights(moved, method=method)
    assert len(list((tmp_path / "weights").glob(f"{method}-459-*.npz"))) == 2


def test_second_process_skips_libpysal(settings, tmp_path):
    code = (
        "import sys\n"
        "from geo.layers import build\n"
        "from geo.stats.moran import local_moran\n"
        "r = local_moran(build.npa_layer(), 'pop_2020', weights='queen', permutations=99, seed=1)\n"
        "print('libpysal' in sys.modules, r.counts.get('High-High', 0))\n"
    )
    env = {**os.environ, "CMPD_DATA_DIR": str(settings.data_dir), "CMPD_CACHE_DIR": str(tmp_path)}
    runs = [
        subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True).stdout.split()
        for _ in range(2)
    ]
    assert runs[0][0] == "True" and runs[1][0] == "False"  # built once, then read back
    assert runs[0][1] == runs[1][1]  # same result either way
