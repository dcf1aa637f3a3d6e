"""Settings from the environment, and the Parquet cache's invalidation."""

from __future__ import annotations

import os
import time

import pandas as pd
import pytest

from geo.ingest.cache import cached, clear_cache
from geo.ingest.report import LoadReport
from geo.settings import get_settings


def test_env_overrides_and_types(tmp_path):
    s = get_settings({"CMPD_PERMUTATIONS": "9999", "CMPD_ALPHA": "0.01", "CMPD_DATA_DIR": str(tmp_path), "PATH": "x"})
    assert s.permutations == 9999 and s.alpha == 0.01 and s.data_dir == tmp_path.resolve()
    assert s.analysis_crs == "EPSG:2264" and s.web_crs == "EPSG:4326"


def test_unknown_or_bad_setting_rejected():
    with pytest.raises(ValueError, match=r"Unknown setting CMPD_PERMUTATION; allowed: .*CMPD_PERMUTATIONS"):
        get_settings({"CMPD_PERMUTATION": "99"})
    with pytest.raises(ValueError, match=r"CMPD_SEED='abc' is not a valid int"):
        get_settings({"CMPD_SEED": "abc"})


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
