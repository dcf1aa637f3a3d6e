"""Contiguity weights are cached on disk in the folder passed down: same matrix as libpysal, and no libpysal import on reuse."""

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
def test_cached_contiguity_equals_libpysal(npa_layer, method, tmp_path):
    cache = tmp_path / "weights"
    geom = npa_layer.geometry.reset_index(drop=True)
    direct = Graph.build_contiguity(geom, rook=method == "rook").sparse.toarray()
    uncached = build_weights(npa_layer, method=method)
    assert not cache.exists()  # no folder given: nothing written
    first = build_weights(npa_layer, method=method, cache_dir=cache)
    assert list(cache.glob(f"{method}-459-*.npz"))
    again = build_weights(npa_layer, method=method, cache_dir=cache)
    np.testing.assert_array_equal(first.matrix("B").toarray(), (direct > 0).astype(float))
    np.testing.assert_array_equal(again.matrix("B").toarray(), first.matrix("B").toarray())
    np.testing.assert_array_equal(uncached.matrix("B").toarray(), first.matrix("B").toarray())
    # a changed geometry is a different key
    moved = npa_layer.copy()
    moved.loc[0, "geometry"] = moved.geometry.iloc[0].buffer(-50)
    build_weights(moved, method=method, cache_dir=cache)
    assert len(list(cache.glob(f"{method}-459-*.npz"))) == 2


def test_unwritable_cache_folder_only_means_no_caching(tmp_path):
    from tests.helpers.lattices import lattice_gdf

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    w = build_weights(lattice_gdf(3, 3), method="queen", cache_dir=blocker / "weights")
    assert w.cardinality.tolist() == [3, 5, 3, 5, 8, 5, 3, 5, 3]


@pytest.mark.slow
def test_second_process_skips_libpysal(settings, tmp_path):
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from geo.layers import build\n"
        "from geo.stats.moran import local_moran\n"
        "from geo.stats.weights import build_weights\n"
        "layer = build.npa_layer()\n"
        "w = build_weights(layer, method='queen', cache_dir=Path(sys.argv[1]))\n"
        "r = local_moran(layer, 'pop_2020', weights=w, permutations=99, seed=1)\n"
        "print('libpysal' in sys.modules, r.counts.get('High-High', 0))\n"
    )
    # the layer comes from the session's cache folder; the weights from a fresh one
    env = {**os.environ, "CMPD_DATA_DIR": str(settings.data_dir), "CMPD_CACHE_DIR": str(settings.cache_dir)}
    weights_cache = str(tmp_path / "weights")
    runs = [
        subprocess.run(
            [sys.executable, "-c", code, weights_cache],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        for _ in range(2)
    ]
    assert runs[0][0] == "True" and runs[1][0] == "False"  # built once, then read back
    assert runs[0][1] == runs[1][1]  # same result either way
