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


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CMPD_ALPHA": "0"}, r"alpha \(CMPD_ALPHA\) = 0.0: must be between 0 and 1"),
        ({"CMPD_ALPHA": "1.5"}, r"alpha \(CMPD_ALPHA\) = 1.5: must be between 0 and 1"),
        (
            {"CMPD_PERMUTATIONS": "50"},
            r"permutations \(CMPD_PERMUTATIONS\) = 50: must be a whole number from 99 to 99,999",
        ),
        ({"CMPD_PERMUTATIONS": "100000"}, r"from 99 to 99,999"),
        ({"CMPD_SEED": "-1"}, r"seed \(CMPD_SEED\) = -1: must be a whole number from 0"),
        ({"CMPD_ANALYSIS_CRS": "EPSG:4326"}, r"analysis_crs .* must be a projected CRS"),
        ({"CMPD_ANALYSIS_CRS": "not a crs"}, r"analysis_crs .* is not a CRS"),
        ({"CMPD_WEB_CRS": "EPSG:2264"}, r"web_crs .* must be a geographic CRS"),
        ({"CMPD_MIN_AGE": "16"}, r"Unknown setting CMPD_MIN_AGE"),
        ({"CMPD_MAX_DECOMPRESSED_BYTES": "1023"}, r"max_decompressed_bytes \(CMPD_MAX_DECOMPRESSED_BYTES\) = 1023"),
        ({"CMPD_MAX_DECOMPRESSED_BYTES": "1e9"}, r"CMPD_MAX_DECOMPRESSED_BYTES='1e9' is not a valid int"),
        ({"CMPD_MAX_ROWS": "0"}, r"max_rows \(CMPD_MAX_ROWS\) = 0: must be a whole number from 1 to"),
    ],
)
def test_each_setting_is_validated(env, message):
    from geo.errors import ValueDomainError

    with pytest.raises(ValueDomainError, match=message):
        get_settings(env)


def test_replace_validates_too():
    from geo.errors import ValueDomainError

    s = get_settings({})
    assert s.replace(permutations=9999).permutations == 9999
    with pytest.raises(ValueDomainError, match="alpha"):
        s.replace(alpha=2.0)


def test_input_limits_defaults_and_overrides():
    s = get_settings({})
    assert s.max_decompressed_bytes == 512 * 2**20 and s.max_rows == 5_000_000
    s = get_settings({"CMPD_MAX_DECOMPRESSED_BYTES": "1048576", "CMPD_MAX_ROWS": "10"})
    assert (s.max_decompressed_bytes, s.max_rows) == (1 << 20, 10)
