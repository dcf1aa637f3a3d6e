"""Project settings: one typed object, overridable by environment variables.

Each field can be set with an environment variable ``CMPD_<FIELD>`` (upper case),
for example ``CMPD_DATA_DIR=/tmp/data`` or ``CMPD_PERMUTATIONS=9999``. Unknown
``CMPD_*`` variables are rejected so that a typo is not silently ignored.

Examples
--------
>>> from geo.settings import get_settings
>>> s = get_settings()
>>> s.analysis_crs
'EPSG:2264'
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

__all__ = ["Settings", "get_settings", "PROJECT_ROOT"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Defaults used across :mod:`geo`.

    Attributes
    ----------
    data_dir
        Folder holding fetched or mirrored raw data (laid out like ``shared/data``)
        and its ``manifest.json``.
    cache_dir
        Folder for cleaned (Geo)Parquet layers.
    analysis_crs
        Projected CRS for every distance, area and spatial join (NC State Plane, US feet).
    web_crs
        CRS for web maps and GeoJSON (RFC 7946 requires WGS 84).
    permutations
        Default number of conditional permutations for pseudo p-values.
    alpha
        Default significance level.
    seed
        Default random seed for permutation tests.
    min_age, max_age
        Driver ages outside this range are flagged (not dropped).
    """

    data_dir: Path = PROJECT_ROOT / "data" / "raw"
    cache_dir: Path = PROJECT_ROOT / "data" / "cache"
    analysis_crs: str = "EPSG:2264"
    web_crs: str = "EPSG:4326"
    permutations: int = 999
    alpha: float = 0.05
    seed: int = 12345
    min_age: int = 15
    max_age: int = 100

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied (unknown keys raise ``TypeError``)."""
        return dataclasses.replace(self, **changes)


def _coerce(name: str, typ: Any, raw: str) -> Any:
    typ = typ if isinstance(typ, str) else getattr(typ, "__name__", str(typ))
    try:
        if "Path" in typ:
            return Path(raw).expanduser().resolve()
        if typ == "int":
            return int(raw)
        if typ == "float":
            return float(raw)
    except ValueError:
        raise ValueError(f"Environment variable CMPD_{name.upper()}={raw!r} is not a valid {typ}.") from None
    return raw


def get_settings(env: dict[str, str] | None = None) -> Settings:
    """Build settings from defaults and ``CMPD_*`` environment variables.

    Parameters
    ----------
    env
        Mapping to read instead of ``os.environ`` (for tests).

    Raises
    ------
    ValueError
        If a ``CMPD_*`` variable names no setting or cannot be converted.
    """
    env = dict(os.environ if env is None else env)
    known = {f.name: f.type for f in fields(Settings)}
    changes: dict[str, Any] = {}
    for key, raw in env.items():
        if not key.startswith("CMPD_"):
            continue
        name = key[5:].lower()
        if name not in known:
            raise ValueError(
                f"Unknown setting {key}; allowed: "
                + ", ".join(f"CMPD_{k.upper()}" for k in known)
            )
        changes[name] = _coerce(name, known[name], raw)
    return Settings(**changes)
