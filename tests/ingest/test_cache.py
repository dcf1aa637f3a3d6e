"""The Parquet cache of clean layers: rebuilt when an input changes or an entry is damaged."""

from __future__ import annotations

import os
import time

import pandas as pd
import pytest

from geo.ingest.cache import cached, clear_cache
from geo.ingest.report import LoadReport


def test_cache_rebuilds_when_an_input_changes(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("a\n1\n")
    calls = []

    def build():
        calls.append(1)
        rep = LoadReport("t", str(src), rows_read=1)
        rep.add("flagged", "a", "because", [1])
        return pd.read_csv(src), rep

    cache = tmp_path / "cache"
    f1, r1 = cached("t", build, inputs=[src], cache_dir=cache)
    f2, r2 = cached("t", build, inputs=[src], cache_dir=cache)
    assert len(calls) == 1 and f2.equals(f1) and r2.to_dict() == r1.to_dict()
    time.sleep(0.01)
    src.write_text("a\n1\n2\n")
    os.utime(src, None)
    f3, _ = cached("t", build, inputs=[src], cache_dir=cache)
    assert len(calls) == 2 and len(f3) == 2
    # a damaged entry is rebuilt, not trusted
    (cache / "t.parquet").write_bytes(b"garbage")
    cached("t", build, inputs=[src], cache_dir=cache)
    assert len(calls) == 3
    assert clear_cache(cache) == 2


def test_cache_key_follows_the_code_version(tmp_path, monkeypatch):
    import geo

    src = tmp_path / "in.csv"
    src.write_text("a\n1\n")
    calls = []

    def build():
        calls.append(1)
        return pd.read_csv(src), LoadReport("t", str(src), rows_read=1)

    cache = tmp_path / "cache"
    cached("t", build, inputs=[src], cache_dir=cache)
    cached("t", build, inputs=[src], cache_dir=cache)
    assert len(calls) == 1
    monkeypatch.setattr(geo, "__version__", geo.__version__ + ".post1")
    cached("t", build, inputs=[src], cache_dir=cache)
    assert len(calls) == 2


def _entry(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("a\n1\n2\n")
    calls = []

    def build():
        calls.append(1)
        return pd.read_csv(src), LoadReport("t", str(src), rows_read=2)

    cache = tmp_path / "cache"
    cached("t", build, inputs=[src], cache_dir=cache)
    return src, build, calls, cache


@pytest.mark.parametrize(
    "damage",
    ["json_null", "json_list", "json_garbled", "json_latin1", "parquet_truncated", "parquet_foreign", "json_missing"],
)
def test_a_damaged_entry_is_rebuilt_with_one_line(tmp_path, capsys, damage):
    """Issue 15 item 3: `null`, `[]`, a garbled or foreign file never breaks a page; it is rebuilt and said."""
    src, build, calls, cache = _entry(tmp_path)
    meta, data = cache / "t.json", cache / "t.parquet"
    if damage == "json_null":
        meta.write_text("null")
    elif damage == "json_list":
        meta.write_text("[]")
    elif damage == "json_garbled":
        meta.write_text(meta.read_text()[:30])
    elif damage == "json_latin1":
        meta.write_bytes(b'{"key": "\xe9"}')
    elif damage == "parquet_truncated":
        data.write_bytes(data.read_bytes()[:100])
    elif damage == "parquet_foreign":  # a valid Parquet file with other rows: the hash no longer matches
        pd.DataFrame({"a": [7, 8, 9]}).to_parquet(data)
    else:
        meta.unlink()
    capsys.readouterr()
    frame, report = cached("t", build, inputs=[src], cache_dir=cache)
    assert len(calls) == 2 and frame["a"].tolist() == [1, 2] and report.rows_read == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rebuilding" in err
    cached("t", build, inputs=[src], cache_dir=cache)
    assert len(calls) == 2 and capsys.readouterr().err == ""  # healed


def test_cache_clear_command_removes_layers_and_weights(tmp_path, monkeypatch, capsys):
    from geo.cli import main

    _, _, _, cache = _entry(tmp_path)
    (cache / "weights").mkdir()
    (cache / "weights" / "queen-9-abc.npz").write_bytes(b"x")
    monkeypatch.setenv("CMPD_CACHE_DIR", str(cache))

    assert main(["cache", "clear"]) == 0
    out = capsys.readouterr().out
    assert "removed 3 files" in out and str(cache) in out
    assert not list(cache.rglob("*.parquet")) and not list(cache.rglob("*.npz"))


def test_cache_clear_removes_the_map_entries_too(tmp_path):
    """The remembered choropleth breaks, display outlines and drawn reference layers go with the layers."""
    for rel in (
        "classes/a.json",
        "display/b.npz",
        "map_reference_c.json",
        "weights/d.npz",
        "e.parquet",
        "index/npa-sub16.npz",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    assert clear_cache(tmp_path) == 6
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
