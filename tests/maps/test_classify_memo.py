"""The choropleth breaks remembered on disk: the same as mapclassify's, used without importing it, healed when damaged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mapclassify
import numpy as np
import pytest

from geo.maps import classify as classify_mod
from geo.maps.classify import classify
from geo.settings import PROJECT_ROOT

VALUES = np.random.default_rng(3).gamma(2.0, 7.0, 459).round(2)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CMPD_CACHE_DIR", str(tmp_path))
    return tmp_path / "classes"


@pytest.mark.parametrize("scheme", ["quantiles", "equal_interval", "fisher_jenks", "natural_breaks", "box_plot"])
def test_remembered_breaks_equal_a_fresh_computation_and_mapclassify(cache, scheme, monkeypatch):
    first = classify(VALUES, scheme=scheme, k=5, seed=1)
    assert len(list(cache.glob("*.json"))) == 1

    def no_mapclassify(*a, **kw):
        raise AssertionError("mapclassify was asked again")

    monkeypatch.setattr(classify_mod, "_scheme_bins", no_mapclassify)
    again = classify(VALUES, scheme=scheme, k=5, seed=1)
    assert again.bins == first.bins and again.labels == first.labels and again.note == first.note
    assert np.array_equal(again.classes, first.classes)
    if scheme == "quantiles":  # and they are mapclassify's
        assert np.array_equal(np.asarray(first.bins), mapclassify.Quantiles(VALUES, k=5).bins)


def test_other_values_or_options_get_their_own_entry(cache):
    classify(VALUES, scheme="quantiles", k=5)
    classify(VALUES, scheme="quantiles", k=4)
    classify(VALUES + 1, scheme="quantiles", k=5)
    assert len(list(cache.glob("*.json"))) == 3


@pytest.mark.parametrize("damage", ["truncated", "garbled", "tampered", "null"])
def test_a_damaged_entry_is_rebuilt_with_one_line(cache, damage, capsys):
    want = classify(VALUES, scheme="quantiles", k=5).bins
    (entry,) = cache.glob("*.json")
    text = entry.read_text()
    doc = json.loads(text)
    entry.write_text(
        {
            "truncated": text[: len(text) // 2],
            "garbled": "\x00\x01 not json",
            "tampered": json.dumps({**doc, "bins": [b * 2 for b in doc["bins"]]}),
            "null": "null",
        }[damage]
    )
    assert classify(VALUES, scheme="quantiles", k=5).bins == want
    err = capsys.readouterr().err
    assert err.count("cache: rebuilding") == 1 and entry.name in err
    assert json.loads(entry.read_text())["bins"] == list(want)  # healed


def test_a_later_process_draws_the_same_classes_without_importing_mapclassify(cache):
    classify(VALUES, scheme="fisher_jenks", k=5, seed=1)
    child = (
        "import sys, numpy as np\nfrom geo.maps.classify import classify\n"
        f"c = classify(np.array({VALUES.tolist()}), scheme='fisher_jenks', k=5, seed=1)\n"
        "print('mapclassify' in sys.modules, list(c.bins))"
    )
    env = {**__import__("os").environ, "CMPD_CACHE_DIR": str(cache.parent)}
    out = subprocess.run([sys.executable, "-c", child], cwd=PROJECT_ROOT, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    seen, bins = out.stdout.split(" ", 1)
    assert seen == "False" and bins.strip() == str(list(classify(VALUES, scheme="fisher_jenks", k=5, seed=1).bins))
