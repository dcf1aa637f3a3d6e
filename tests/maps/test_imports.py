"""The map stack stays quick to import: mapclassify (which brings matplotlib and scikit-learn) loads only to classify."""

from __future__ import annotations

import subprocess
import sys

from geo.settings import PROJECT_ROOT

CHILD = """
import sys
import numpy as np
import geo.maps.draw
before = "mapclassify" in sys.modules
from geo.maps.classify import classify
classify(np.arange(20.0), scheme="quantiles", k=4)
print(before, "mapclassify" in sys.modules)
"""


def test_mapclassify_is_imported_only_when_values_are_classified():
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
