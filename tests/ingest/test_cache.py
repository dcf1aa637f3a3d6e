"""The Parquet cache of clean layers: rebuilt when an input changes or an entry is damaged."""

from __future__ import annotations

import os
import time

import pandas as pd

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
