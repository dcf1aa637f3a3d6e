"""Golden outputs: the command line and the app give exactly what they gave when recorded.

``tools/golden.py`` records ``report``, ``disparity`` (every ``--by`` and outcome),
``hotspots`` (every method; sha256 of each output file), ``export`` and every app page
(AppTest: metrics, headers, tables, charts). A change meant to alter an output records
again (``python tools/golden.py --write tests/golden/outputs.json``) and says why.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from geo.settings import PROJECT_ROOT


@pytest.mark.slow
def test_golden_outputs_unchanged(settings, npa_layer):
    # the session's cache folder, already warm (npa_layer): the outputs are the same, only sooner
    proc = subprocess.run(
        [
            sys.executable,
            "tools/golden.py",
            "--check",
            "tests/golden/outputs.json",
            "--cache-dir",
            str(settings.cache_dir),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "golden outputs identical" in proc.stdout
