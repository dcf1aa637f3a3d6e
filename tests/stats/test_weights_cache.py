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
def test_no_process_imports_libpysal_and_the_second_reads_the_file(settings, tmp_path):
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from geo.layers import build\n"
        "from geo.stats.moran import local_moran\n"
        "from geo.stats.weights import build_weights\n"
        "layer = build.npa_layer()\n"
        "w = build_weights(layer, method='queen', cache_dir=Path(sys.argv[1]))\n"
        "r = local_moran(layer, 'pop_2020', weights=w, permutations=99, seed=1)\n"
        "print('libpysal' in sys.modules, r.counts.get('High-High', 0), len(list(Path(sys.argv[1]).glob('*.npz'))))\n"
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
    assert runs[0][0] == runs[1][0] == "False"  # contiguity is our own: libpysal (0.6 s to import) is not loaded
    assert runs[0][2] == runs[1][2] == "1"  # built once, written, then read back
    assert runs[0][1] == runs[1][1]  # same result either way


def _one_file(cache):
    files = list(cache.glob("queen-*.npz"))
    assert len(files) == 1
    return files[0]


@pytest.mark.parametrize("damage", ["truncated", "garbage", "wrong_shape", "foreign_matrix", "old_format"])
def test_a_damaged_weights_file_is_rebuilt_and_said(tmp_path, capsys, damage):
    """Issue 15 item 3: a bad .npz never breaks a run nor silently changes the weights."""
    from scipy import sparse

    from tests.helpers.lattices import lattice_gdf

    cache = tmp_path / "weights"
    layer = lattice_gdf(3, 3)
    good = build_weights(layer, method="queen", cache_dir=cache).matrix("B").toarray()
    path = _one_file(cache)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:40])
    elif damage == "garbage":
        path.write_bytes(b"not a zip file at all")
    elif damage == "wrong_shape":
        sparse.save_npz(path, sparse.identity(4, format="csr"))
    elif damage == "foreign_matrix":  # valid, right shape, from elsewhere: all 9 cells linked to each other
        full = np.ones((9, 9)) - np.eye(9)
        np.savez(
            path,
            key=np.array("queen-9-" + "0" * 64),
            shape=np.array([9, 9]),
            data=full[full > 0],
            indices=np.tile(np.arange(9), 9)[(full > 0).ravel()],
            indptr=np.arange(0, 73, 8),
            checksum=np.array("x"),
        )
    else:  # the format written before: a bare scipy matrix, same shape, other links
        sparse.save_npz(path, sparse.csr_matrix(np.ones((9, 9)) - np.eye(9)))
    capsys.readouterr()
    again = build_weights(layer, method="queen", cache_dir=cache).matrix("B").toarray()
    np.testing.assert_array_equal(again, good)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rebuilding" in err and path.name in err
    # healed: the next read uses the rewritten file and says nothing
    build_weights(layer, method="queen", cache_dir=cache)
    assert capsys.readouterr().err == ""
