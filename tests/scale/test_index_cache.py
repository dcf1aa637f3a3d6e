"""The cached polygon index: same answers as a fresh build and as geopandas.sjoin; damaged or stale entries rebuilt."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.layers import build
from geo.scale import index_cache
from geo.scale.distributed import aggregate_parquet, aggregate_totals
from geo.scale.index_cache import entry_path, layer_index, load_index, save_index
from geo.scale.memory import keep_freed_memory
from geo.scale.parquet import _numbers
from geo.scale.polygon_index import PolygonIndex
from geo.scale.synthetic import write_points


@pytest.fixture(scope="module")
def npa(settings):
    return build.npa(settings)


@pytest.fixture
def fresh(settings, tmp_path):
    """Settings with an empty cache folder of their own (the NPA frame still comes from the session cache)."""
    build.npa(settings)  # the GeoParquet entry, copied so that get_units does not rebuild it from the raw files
    cache = tmp_path / "cache"
    cache.mkdir()
    for name in ("npa.parquet", "npa.json"):
        (cache / name).write_bytes((settings.cache_dir / name).read_bytes())
    return settings.replace(cache_dir=cache)


@pytest.fixture
def builds(monkeypatch):
    """Count the calls of PolygonIndex.build."""
    calls = []
    real = PolygonIndex.build.__func__

    def spy(cls, *args, **kwargs):
        calls.append(1)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(PolygonIndex, "build", classmethod(spy))
    return calls


@pytest.fixture(scope="module")
def points(npa):
    """Uniform points over the county's box, a ring of them outside, and points on NPA vertices (shared edges)."""
    rng = np.random.default_rng(11)
    x0, y0, x1, y1 = npa.total_bounds
    x = rng.uniform(x0 - 5000, x1 + 5000, 60_000)
    y = rng.uniform(y0 - 5000, y1 + 5000, 60_000)
    vx, vy = shapely.get_coordinates(npa.geometry.values[:40]).T
    return np.concatenate([x, vx]), np.concatenate([y, vy])


def sjoin_positions(npa, x, y) -> np.ndarray:
    """geopandas.sjoin(predicate='intersects'): the smallest id holding each point, as a layer position."""
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=npa.crs)
    poly = npa[["npa", "geometry"]].reset_index(drop=True)
    poly["pos"] = np.arange(len(poly))
    j = gpd.sjoin(pts, poly, predicate="intersects", how="left").sort_values("npa")
    first = j[~j.index.duplicated(keep="first")].sort_index()
    return first["pos"].fillna(-1).to_numpy(dtype=np.int64)


def test_cached_index_answers_as_a_fresh_build_and_sjoin(fresh, npa, points, builds):
    x, y = points
    cold = layer_index("npa", settings=fresh)
    warm = layer_index("npa", settings=fresh)
    assert len(builds) == 1  # the second call read the entry
    assert entry_path("npa", settings=fresh).exists()
    default = PolygonIndex.build(npa, id_column="npa")
    expected = default.query(x, y)
    for idx in (cold, warm):
        pos, shared = idx.query(x, y, return_shared=True)
        np.testing.assert_array_equal(pos, expected)
        np.testing.assert_array_equal(shared, default.query(x, y, return_shared=True)[1])
    assert warm.id_column == "npa" and warm.crs == npa.crs
    np.testing.assert_array_equal(warm.ids, npa["npa"].to_numpy())
    sample = np.random.default_rng(3).choice(len(x), 4000, replace=False)
    np.testing.assert_array_equal(warm.query(x[sample], y[sample]), sjoin_positions(npa, x[sample], y[sample]))
    # the GEOS fallback works on the geometries read back from WKB
    assert shapely.equals(warm.geometries, np.asarray(npa.geometry.values)).all()


def test_string_ids_come_back_as_python_strings(tmp_path):
    polys = gpd.GeoDataFrame(
        {"name": ["b, one", 'a "two"']}, geometry=[shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)], crs=2264
    )
    idx = PolygonIndex.build(polys, id_column="name")
    path = tmp_path / "i.npz"
    assert save_index(idx, path, record={"key": {"k": 1}, "inputs": []})
    back = load_index(path, key={"k": 1})
    assert isinstance(back, PolygonIndex)
    assert back.ids.dtype == object and list(back.ids) == ["b, one", 'a "two"']
    np.testing.assert_array_equal(back.query(np.array([5.0, 15.0, 10.0]), np.array([5.0, 5.0, 5.0])), [0, 1, 1])
    assert load_index(path, key={"k": 2}) == ""  # another key: out of date, silently


def damage_truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def damage_garbage(path):
    path.write_bytes(b"not a zip file at all")


def damage_tamper(path):
    """Change one label inside the entry, keeping the recorded hash: a valid .npz whose arrays do not match."""
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["labels"] = arrays["labels"].copy()
    arrays["labels"][np.flatnonzero(arrays["labels"] >= 0)[0]] += 1
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (damage_truncate, "cannot be read back"),
        (damage_garbage, "cannot be read back"),
        (damage_tamper, "do not match the hash"),
    ],
)
def test_damaged_entry_is_rebuilt_with_one_line(fresh, points, builds, capsys, damage, why):
    first = layer_index("npa", settings=fresh)
    path = entry_path("npa", settings=fresh)
    damage(path)
    capsys.readouterr()
    again = layer_index("npa", settings=fresh)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"cache: rebuilding {path}") and why in err[0]
    assert len(builds) == 2
    x, y = points
    np.testing.assert_array_equal(again.query(x, y), first.query(x, y))
    assert isinstance(load_index(path, key=index_cache._key("npa", fresh, 1000.0, 16)), PolygonIndex)  # rewritten
    assert zipfile.is_zipfile(path)


def test_changed_polygon_file_invalidates_the_entry(fresh, builds, monkeypatch, tmp_path, capsys):
    polygons = tmp_path / "npa.shp"
    polygons.write_bytes(b"version 1")
    monkeypatch.setattr(index_cache, "_inputs", lambda name, s: [polygons])
    layer_index("npa", settings=fresh)
    layer_index("npa", settings=fresh)
    assert len(builds) == 1
    polygons.write_bytes(b"version 2, longer")
    layer_index("npa", settings=fresh)
    assert len(builds) == 2
    assert "rebuilding" not in capsys.readouterr().err  # out of date is not damage: no message
    polygons.unlink()  # gone: the layer is built from other files now
    monkeypatch.setattr(index_cache, "_inputs", lambda name, s: [])
    layer_index("npa", settings=fresh)
    assert len(builds) == 3
    layer_index("npa", settings=fresh)
    assert len(builds) == 3


def test_new_release_or_other_hexagon_size_is_another_entry(fresh, builds, monkeypatch):
    layer_index("npa", settings=fresh)
    monkeypatch.setattr(index_cache, "INDEX_VERSION", "test-bump")
    layer_index("npa", settings=fresh)
    assert len(builds) == 2
    assert entry_path("hex", settings=fresh, cell_size=1000) != entry_path("hex", settings=fresh, cell_size=2000)


def test_unwritable_cache_is_tolerated(fresh, builds, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr(np, "savez", refuse)
    idx = layer_index("npa", settings=fresh)
    assert len(idx) == 459 and not entry_path("npa", settings=fresh).exists()


def test_totals_equal_frames_with_threads_nulls_and_outside(npa, tmp_path):
    folder = tmp_path / "pts"
    write_points(folder, npa, n=90_000, kind="clustered", seed=5, rows_per_file=30_000)
    idx = PolygonIndex.build(npa, id_column="npa", cells=250_000, subdivide=16)
    frame, rep = aggregate_parquet(folder, index=idx, id_column="npa")
    for threads in (1, 2):
        totals, rep2 = aggregate_totals(folder, index=idx, threads=threads)
        np.testing.assert_array_equal(totals, frame["count"].to_numpy())
        a, b = rep.to_dict(), rep2.to_dict()
        assert a.pop("notes")[:-1] == b.pop("notes")[:-1] and a == b
    assert rep.outside > 0  # the clustered points reach outside the county


def test_numbers_reads_offsets_and_nulls():
    import pyarrow as pa

    arr = pa.array([1.5, None, 3.0, 4.0, None, 6.0], type=pa.float64()).slice(1, 4)
    np.testing.assert_array_equal(_numbers(arr), [np.nan, 3.0, 4.0, np.nan])
    ints = pa.array([7, 8, 9], type=pa.int32()).slice(1)
    np.testing.assert_array_equal(_numbers(ints), [8.0, 9.0])
    out = _numbers(pa.array([1.0, 2.0]), writable=True)
    out[0] = 5.0  # a copy: the Arrow buffer is read-only
    assert out[0] == 5.0


def test_keep_freed_memory_applies_on_glibc():
    import platform
    import sys

    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert keep_freed_memory() is glibc


def test_threads_share_the_geos_fallback(tmp_path):
    """A grid around the origin is not exact: every boundary-cell point goes to GEOS, from two threads at once."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    boxes = [shapely.box(i, j, i + 1.0, j + 1.0) for i in range(-3, 3) for j in range(-3, 3)]
    polys = gpd.GeoDataFrame({"uid": np.arange(len(boxes))[::-1]}, geometry=boxes, crs=2264)
    idx = PolygonIndex.build(polys, id_column="uid", subdivide=1)
    assert not idx.exact
    rng = np.random.default_rng(8)
    xs, ys = [], []
    for k in range(4):
        x = np.round(rng.uniform(-3.5, 3.5, 40_000), 1)  # many points on the shared edges
        y = np.round(rng.uniform(-3.5, 3.5, 40_000), 1)
        pq.write_table(pa.table({"x": x, "y": y}), tmp_path / f"p{k}.parquet")
        xs.append(x)
        ys.append(y)
    totals, rep = aggregate_totals(tmp_path, index=idx, crs="EPSG:2264", threads=2)
    x, y = np.concatenate(xs), np.concatenate(ys)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=2264)
    j = gpd.sjoin(pts, polys.assign(pos=np.arange(len(polys))), predicate="intersects").sort_values("uid")
    first = j[~j.index.duplicated(keep="first")]
    np.testing.assert_array_equal(totals, np.bincount(first["pos"], minlength=len(polys)))
    assert rep.shared_boundary == int((j.index.value_counts() > 1).sum()) > 0
    assert rep.outside == len(x) - len(first)
