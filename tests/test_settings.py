"""Settings from the environment: types, unknown keys, bad values."""

from __future__ import annotations

import pytest

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
