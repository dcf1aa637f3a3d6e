"""``python -m geo aggregate``: the CSV path without pandas, and a warm run without geopandas.

The pandas-free CSV writer writes the bytes the frame path writes; a warm run imports neither.
"""

from __future__ import annotations

import os
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo import cli
from geo.cli.aggregate import write_counts, write_totals_csv
from geo.layers import build
from geo.scale.counting import counts_frame
from geo.scale.distributed import aggregate_parquet
from geo.scale.polygon_index import PolygonIndex
from geo.scale.synthetic import write_points
from geo.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def points(settings, tmp_path_factory):
    folder = tmp_path_factory.mktemp("agg_points")
    write_points(folder, build.npa(settings), n=50_000, kind="clustered", seed=3, rows_per_file=25_000)
    return folder


@pytest.mark.parametrize("synthetic", [False, True])
def test_totals_csv_has_the_bytes_of_the_frame_csv(tmp_path, synthetic):
    polys = gpd.GeoDataFrame(
        {"name": ['comma, "quote"', "plain", "new\nline"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(2, 0, 3, 1)],
        crs=2264,
    )
    idx = PolygonIndex.build(polys, id_column="name")
    totals = np.array([3, 0, 12_345_678], dtype=np.int64)
    import pandas as pd

    series = pd.Series(totals[totals > 0], index=pd.Index(np.flatnonzero(totals), name="unit"), name="count")
    frame = counts_frame(series, idx)
    if synthetic:
        frame.insert(1, "synthetic", True)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_counts(frame, None, "name", a)
    write_totals_csv(totals, idx, b, synthetic=synthetic)
    assert b.read_bytes() == a.read_bytes()


def test_cli_csv_equals_the_frame_path(run_env, points, tmp_path, settings, capsys):
    out = tmp_path / "counts.csv"
    assert cli.main(["aggregate", "--points", str(points), "--layer", "npa", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "points read: 50,000" in printed and "SYNTHETIC" in printed
    frame, _ = aggregate_parquet(points, build.npa(settings), id_column="npa")
    frame.insert(1, "synthetic", True)
    ref = tmp_path / "ref.csv"
    write_counts(frame, None, "npa", ref)
    assert out.read_bytes() == ref.read_bytes()


@pytest.fixture
def run_env(monkeypatch, settings):
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))


def test_unknown_layer_is_an_argparse_error_listing_the_layers(run_env, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["aggregate", "--points", "x.parquet", "--layer", "nope", "--out", "o.csv"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nope'" in err and "'npa'" in err and "'divisions'" in err and "'hex'" in err
    with pytest.raises(SystemExit):
        cli.main(["aggregate", "--help"])
    assert "npa, " in capsys.readouterr().out


def test_warm_run_imports_neither_geopandas_nor_pandas(settings, points, tmp_path):
    """The one subprocess test: a second run reads the cached index and counts with numpy and pyarrow alone."""
    env = {**os.environ, "CMPD_DATA_DIR": str(settings.data_dir), "CMPD_CACHE_DIR": str(settings.cache_dir)}
    out = tmp_path / "c.csv"
    code = (
        "import sys; from geo.cli import main; "
        f"rc = main(['aggregate', '--points', {str(points)!r}, '--layer', 'npa', '--out', {str(out)!r}]); "
        "print('loaded', *[m for m in ('geopandas', 'pandas') if m in sys.modules]); sys.exit(rc)"
    )

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, env=env, timeout=300
        )

    cold = run()
    assert cold.returncode == 0, cold.stderr
    first = out.read_bytes()
    out.unlink()
    warm = run()
    assert warm.returncode == 0, warm.stderr
    assert warm.stdout.strip().splitlines()[-1] == "loaded"  # nothing heavy in the warm run
    assert out.read_bytes() == first and first.startswith(b"npa,synthetic,count\n")
