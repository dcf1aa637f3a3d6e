"""The map stack stays quick to import: mapclassify (which brings matplotlib and scikit-learn) loads only to classify.

The child runs on an empty cache folder: with the breaks remembered there, classifying needs no mapclassify at all
(tests/maps/test_classify_memo.py).
"""

from __future__ import annotations

import os
import subprocess
import sys

from geo.settings import PROJECT_ROOT
from tests.helpers.imports import imported_by

CHILD = """
import sys
import numpy as np
import geo.maps.draw
before = "mapclassify" in sys.modules
from geo.maps.classify import classify
classify(np.arange(20.0), scheme="quantiles", k=4)
print(before, "mapclassify" in sys.modules)
"""


def test_mapclassify_is_imported_only_when_values_are_classified(tmp_path):
    env = {**os.environ, "CMPD_CACHE_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split() == ["False", "True"]


def test_the_map_explorers_modules_import_no_scipy_stats_or_regression():
    """The Map explorer's first map waits for these imports: scipy.stats (via the regression) took 1.4 s of it."""
    modules = ["geo.output.variables", "geo.maps.draw", "geo.output.dictionary"]
    assert imported_by(modules, ["scipy.stats", "spreg", "statsmodels", "geo.analysis.regression"]) == []
