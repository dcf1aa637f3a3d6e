"""Parquet points aggregated in process and on a two-worker Dask LocalCluster; synthetic points; bad input."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely

from geo import cli
from geo.errors import CRSError, DataFileError, GeometryError, SchemaError
from geo.scale.counting import aggregate
from geo.scale.distributed import SchedulerError, aggregate_parquet, connect
from geo.scale.parquet import inspect_points
from geo.scale.polygon_index import PolygonIndex
from geo.scale.synthetic import SYNTHETIC_METADATA_KEY, is_synthetic, write_points
from geo.settings import PROJECT_ROOT


@pytest.fixture(scope="module", autouse=True)
def _plain_main():
    """Dask's worker processes start by spawning, which re-runs ``__main__`` from its file.

    In a pytest worker that earlier ran an ``AppTest.from_function`` page, ``__main__`` is that
    page's generated script (``_harness(*__args, **__kwargs)``), and every Dask worker fails with a
    NameError. A ``__main__`` without a file is what a script started under
    ``if __name__ == "__main__":`` gives the workers.
    """
    import types

    saved = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = saved


@pytest.fixture(scope="module")
def npa(settings):
    from geo.layers import build

    return build.npa(settings)


@pytest.fixture(scope="module")
def index(npa):
    return PolygonIndex.build(npa, id_column="npa")


@pytest.fixture(scope="module")
def cluster():
    """One two-worker LocalCluster (127.0.0.1, 1 thread each) shared by the module."""
    from geo.scale.distributed import local_cluster

    with local_cluster() as cl:
        yield cl


@pytest.fixture(scope="module")
def client(cluster):
    with connect(cluster.scheduler_address) as c:
        yield c


@pytest.fixture(scope="module")
def clustered(npa, tmp_path_factory):
    """240,000 synthetic points clustered around NPA centroids (some outside the county), 4 files."""
    folder = tmp_path_factory.mktemp("clustered")
    write_points(folder, npa, n=240_000, kind="clustered", seed=7, rows_per_file=60_000)
    return folder


@pytest.fixture
def run_cli(monkeypatch, settings, capsys):
    """``python -m geo aggregate ...`` in process: (exit code, stdout, stderr)."""
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))

    def _run(*args: str) -> tuple[int, str, str]:
        code = cli.main(["aggregate", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_points(folder) -> gpd.GeoDataFrame:
    return pd.concat([gpd.read_parquet(f) for f in sorted(folder.glob("*.parquet"))], ignore_index=True)


# ---------------------------------------------------------------- local == dask


@pytest.mark.slow
def test_cli_dask_equals_local_per_unit_and_by_category(run_cli, clustered, cluster, tmp_path):
    code, out, err = run_cli(
        "--points",
        str(clustered / "*.parquet"),
        "--layer",
        "npa",
        "--by",
        "category",
        "--out",
        str(tmp_path / "local.csv"),
    )
    assert code == 0, err
    code, out_dask, err = run_cli(
        "--points", str(clustered), "--layer", "npa", "--by", "category", "--engine", "dask",
        "--scheduler", cluster.scheduler_address, "--out", str(tmp_path / "dask.csv"),
    )  # fmt: skip
    assert code == 0, err
    local = pd.read_csv(tmp_path / "local.csv")
    dask = pd.read_csv(tmp_path / "dask.csv")
    pd.testing.assert_frame_equal(local, dask)
    assert len(local) == 459 and local.columns.tolist() == [
        "npa", "synthetic", "count", "category=other", "category=property", "category=traffic", "category=violent",
    ]  # fmt: skip
    assert local["synthetic"].all() and out.startswith("SYNTHETIC points (benchmark data, not CMPD data)")
    np.testing.assert_array_equal(local.iloc[:, 3:].sum(axis=1), local["count"])
    outside = int(out.split("outside every unit (not counted): ")[1].split()[0].replace(",", ""))
    assert outside > 100 and local["count"].sum() + outside == 240_000
    assert f"Dask cluster at {cluster.scheduler_address}, 2 worker(s)" in out_dask
    assert "engine: local (in process)" in out


def test_local_engine_equals_sjoin_counts(clustered, npa, index):
    """Independent route: geopandas reads the files, sjoin assigns (smallest id on ties), pandas counts."""
    counts, report = aggregate_parquet(clustered, index=index, id_column="npa", by="category")
    pts = read_points(clustered)
    j = gpd.sjoin(pts, npa[["npa", "geometry"]], predicate="intersects", how="inner").reset_index(names="pt")
    j = j.sort_values(["pt", "npa"]).drop_duplicates("pt")
    expected = (
        j.groupby(["npa", "category"], observed=True).size().unstack(fill_value=0).reindex(npa["npa"], fill_value=0)
    )
    for cat in expected.columns:
        np.testing.assert_array_equal(counts[f"category={cat}"], expected[cat].to_numpy())
    assert report.outside == len(pts) - len(j) and report.null_geometry == 0 and report.files == 4


@pytest.mark.slow
def test_dask_without_scheduler_starts_its_own_cluster(clustered, index):
    local, _ = aggregate_parquet(clustered, index=index, id_column="npa")
    dask, report = aggregate_parquet(clustered, index=index, id_column="npa", engine="dask")
    pd.testing.assert_frame_equal(local, dask)
    assert any("local Dask cluster (2 workers), 2 worker(s)" in n for n in report.notes)


def test_shared_boundary_points_same_in_dask_local_and_sjoin(npa, index, client, tmp_path):
    """NPA vertices and float edge midpoints (on or just off shared boundaries), as x/y columns."""
    coords = shapely.get_coordinates(npa.geometry.values)
    rng = np.random.default_rng(4)
    xmin, ymin, xmax, ymax = npa.total_bounds
    pts = np.vstack([coords, (coords[:-1] + coords[1:]) / 2, rng.uniform((xmin, ymin), (xmax, ymax), (20_000, 2))])
    pd.DataFrame({"x": pts[:, 0], "y": pts[:, 1]}).to_parquet(tmp_path / "edges.parquet", row_group_size=10_000)
    local, report = aggregate_parquet(tmp_path / "edges.parquet", index=index, id_column="npa")
    dask, dreport = aggregate_parquet(
        tmp_path / "edges.parquet", index=index, id_column="npa", engine="dask", client=client
    )
    pd.testing.assert_frame_equal(local, dask)
    g = gpd.GeoDataFrame(geometry=gpd.points_from_xy(pts[:, 0], pts[:, 1]), crs=npa.crs)
    j = gpd.sjoin(g, npa[["npa", "geometry"]], predicate="intersects", how="inner").reset_index(names="pt")
    matches = j.groupby("pt").size()
    first = j.sort_values(["pt", "npa"]).drop_duplicates("pt")
    np.testing.assert_array_equal(
        local["count"], first["npa"].value_counts().reindex(npa["npa"], fill_value=0).to_numpy()
    )
    assert report.shared_boundary == dreport.shared_boundary == int((matches > 1).sum()) > 5000
    assert report.outside == len(pts) - len(first)


@pytest.mark.slow
def test_dask_geopandas_reader_equals_arrow_reader(clustered, index, client):
    arrow, _ = aggregate_parquet(clustered, index=index, id_column="npa", by="category", engine="dask", client=client)
    dgpd, report = aggregate_parquet(
        clustered, index=index, id_column="npa", by="category", engine="dask", client=client, reader="dask-geopandas"
    )
    pd.testing.assert_frame_equal(arrow, dgpd)
    assert "reader dask-geopandas" in report.notes[-1]


# ---------------------------------------------------------------- other CRS, x/y columns, nulls


@pytest.mark.slow
def test_other_crs_is_reprojected_and_said(clustered, npa, index, client, tmp_path):
    pts = gpd.read_parquet(sorted(clustered.glob("*.parquet"))[0])
    wgs = pts.to_crs("EPSG:4326")
    wgs.to_parquet(tmp_path / "wgs84.parquet")
    lonlat = pd.DataFrame({"Longitude": wgs.geometry.x, "Latitude": wgs.geometry.y, "category": wgs["category"]})
    lonlat.to_parquet(tmp_path / "lonlat.parquet")
    # independent route: geopandas reprojects back, the in-memory kernel counts
    expected, _ = aggregate(wgs.to_crs(npa.crs), npa, id_column="npa", by="category")
    for path in (tmp_path / "wgs84.parquet", tmp_path / "lonlat.parquet"):
        local, report = aggregate_parquet(path, index=index, id_column="npa", by="category")
        pd.testing.assert_frame_equal(local, expected)
        assert "points reprojected from EPSG:4326 to EPSG:2264" in report.notes
        dask, _ = aggregate_parquet(path, index=index, id_column="npa", by="category", engine="dask", client=client)
        pd.testing.assert_frame_equal(dask, local)
    with pytest.raises(CRSError, match="the file says its CRS is EPSG:4326, not EPSG:2264"):
        aggregate_parquet(tmp_path / "wgs84.parquet", index=index, id_column="npa", crs="EPSG:2264")


def test_null_geometries_are_counted_and_reported(index, npa, client, tmp_path, run_cli):
    rng = np.random.default_rng(1)
    xmin, ymin, xmax, ymax = npa.total_bounds
    x, y = rng.uniform(xmin, xmax, 1000), rng.uniform(ymin, ymax, 1000)
    geoms = shapely.points(x, y).astype(object)
    geoms[[3, 50, 51]] = None
    geoms[[7, 999]] = shapely.Point()
    gdf = gpd.GeoDataFrame({"v": np.arange(1000)}, geometry=list(geoms), crs=npa.crs)
    gdf.to_parquet(tmp_path / "nulls.parquet")
    xy = pd.DataFrame({"X": x, "Y": y})
    xy.loc[[0, 1, 2, 3], "X"] = np.nan
    xy.to_parquet(tmp_path / "xy.parquet")
    local, report = aggregate_parquet(tmp_path / "nulls.parquet", index=index, id_column="npa")
    assert report.null_geometry == 5 and report.points_read == 1000
    assert local["count"].sum() + report.outside == 995
    dask, dreport = aggregate_parquet(
        tmp_path / "nulls.parquet", index=index, id_column="npa", engine="dask", client=client
    )
    pd.testing.assert_frame_equal(dask, local)
    assert dreport.null_geometry == 5
    counts, xyreport = aggregate_parquet(tmp_path / "xy.parquet", index=index, id_column="npa")
    assert xyreport.null_geometry == 4
    assert any("carry no CRS; assumed EPSG:2264" in n for n in xyreport.notes)
    code, out, _ = run_cli(
        "--points", str(tmp_path / "nulls.parquet"), "--layer", "divisions", "--out", str(tmp_path / "d.parquet")
    )
    assert code == 0 and "no geometry / missing coordinates (not counted): 5" in out and "SYNTHETIC" not in out
    assert pd.read_parquet(tmp_path / "d.parquet").columns.tolist() == ["division", "count"]


# ---------------------------------------------------------------- bad input


def test_points_without_coordinates_fail_clearly(index, tmp_path, run_cli):
    pd.DataFrame({"id": [1, 2], "value": [3.0, 4.0]}).to_parquet(tmp_path / "nocoords.parquet")
    with pytest.raises(SchemaError, match=r"nocoords.parquet: no point coordinates.*Columns: 'id', 'value'"):
        aggregate_parquet(tmp_path / "nocoords.parquet", index=index, id_column="npa")
    code, out, err = run_cli(
        "--points", str(tmp_path / "nocoords.parquet"), "--layer", "npa", "--out", str(tmp_path / "o.csv")
    )
    assert code == 2 and "no point coordinates" in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


def test_unreachable_scheduler_fails_fast_with_a_message(run_cli, clustered, tmp_path):
    port = closed_port()
    start = time.perf_counter()
    code, _, err = run_cli(
        "--points", str(clustered), "--layer", "npa", "--engine", "dask", "--scheduler", f"tcp://127.0.0.1:{port}",
        "--timeout", "1", "--out", str(tmp_path / "o.csv"),
    )  # fmt: skip
    assert code == 2
    assert f"no Dask scheduler answered at tcp://127.0.0.1:{port} within 1 s" in err
    assert time.perf_counter() - start < 15
    with pytest.raises(SchedulerError, match="should look like tcp://HOST:PORT"):
        connect("127.0.0.1:8786")


@pytest.mark.slow
def test_python_m_geo_aggregate_exit_code(clustered, settings, tmp_path):
    env = {**os.environ, "CMPD_DATA_DIR": str(settings.data_dir), "CMPD_CACHE_DIR": str(settings.cache_dir)}
    args = [
        "aggregate",
        "--points",
        str(clustered),
        "--layer",
        "npa",
        "--engine",
        "dask",
        "--scheduler",
        f"tcp://127.0.0.1:{closed_port()}",
        "--timeout",
        "1",
        "--out",
        str(tmp_path / "o.csv"),
    ]
    r = subprocess.run(
        [sys.executable, "-m", "geo", *args], capture_output=True, text=True, cwd=PROJECT_ROOT, env=env, timeout=120
    )
    assert r.returncode == 2 and "no Dask scheduler answered" in r.stderr


def test_other_bad_inputs(index, clustered, tmp_path, run_cli):
    with pytest.raises(DataFileError, match="no file matches it"):
        aggregate_parquet(tmp_path / "nothing*.parquet", index=index, id_column="npa")
    with pytest.raises(SchemaError, match="cannot break counts down by 'colour'"):
        aggregate_parquet(clustered, index=index, id_column="npa", by="colour")
    lines = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)])], crs="EPSG:2264")
    lines.to_parquet(tmp_path / "lines.parquet")
    with pytest.raises(GeometryError, match="holds LineString; only points"):
        aggregate_parquet(tmp_path / "lines.parquet", index=index, id_column="npa")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    pq.write_table(pq.read_table(sorted(clustered.glob("*.parquet"))[0]), mixed / "a.parquet")
    pd.DataFrame({"x": [1.0], "y": [2.0]}).to_parquet(mixed / "b.parquet")
    with pytest.raises(SchemaError, match=r"b.parquet: column\(s\) 'geometry' missing"):
        aggregate_parquet(mixed, index=index, id_column="npa")
    code, _, err = run_cli(
        "--points",
        str(clustered),
        "--layer",
        "npa",
        "--scheduler",
        "tcp://127.0.0.1:1",
        "--out",
        str(tmp_path / "o.csv"),
    )
    assert code == 2 and "--scheduler needs --engine dask" in err
    code, _, err = run_cli("--points", str(clustered), "--layer", "npa", "--out", str(tmp_path / "o.txt"))
    assert code == 2 and "cannot tell the format" in err


def test_geojson_output_has_every_unit(run_cli, clustered, tmp_path):
    code, out, err = run_cli(
        "--points", str(clustered), "--layer", "hex", "--hex-size", "6000", "--out", str(tmp_path / "hex.geojson")
    )
    assert code == 0, err
    g = gpd.read_file(tmp_path / "hex.geojson")
    assert g.crs.to_epsg() == 4326 and {"cell_id", "count"} <= set(g.columns)
    assert (g["count"] == 0).any() and g["count"].sum() > 200_000
    assert f"wrote {len(g):,} hex units" in out


# ---------------------------------------------------------------- synthetic points


def test_synthetic_files_are_labelled_and_reproducible(npa, index, tmp_path):
    a = write_points(tmp_path / "a", npa, n=25_000, kind="uniform", seed=3, rows_per_file=10_000)
    write_points(tmp_path / "b", npa, n=25_000, kind="uniform", seed=3, rows_per_file=10_000)
    assert [p.name for p in a] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    meta = json.loads(pq.read_schema(a[0]).metadata[SYNTHETIC_METADATA_KEY])
    assert meta["synthetic"] is True and "SYNTHETIC" in meta["warning"] and meta["kind"] == "uniform"
    assert all(is_synthetic(p) for p in a)
    pd.DataFrame({"x": [1.0], "y": [2.0]}).to_parquet(tmp_path / "real.parquet")
    assert not is_synthetic(tmp_path / "real.parquet")
    ga, gb = read_points(tmp_path / "a"), read_points(tmp_path / "b")
    assert ga.crs == npa.crs and ga["synthetic"].all() and len(ga) == 25_000
    assert shapely.equals(ga.geometry.values, gb.geometry.values).all()
    # uniform points fill the county: every one is in an NPA; shares follow the areas
    pos = index.query(ga.geometry.x.to_numpy(), ga.geometry.y.to_numpy())
    assert (pos >= 0).all()
    share = np.bincount(pos, minlength=len(npa)) / len(pos)
    np.testing.assert_allclose(share, npa.area / npa.area.sum(), atol=0.004)
    assert set(ga["category"].unique()) == {"property", "violent", "traffic", "other"}
    with pytest.raises(DataFileError, match="already holds 3 part"):
        write_points(tmp_path / "a", npa, n=10, kind="uniform")
    spec = inspect_points(tmp_path / "a", target_crs=npa.crs)
    assert spec.encoding == "point" and len(spec.pieces) == 3 and spec.rows == 25_000 and not spec.notes
