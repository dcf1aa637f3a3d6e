"""Project settings: one typed object, overridable by environment variables, every value checked.

Each field can be set with an environment variable ``CMPD_<FIELD>`` (upper case),
for example ``CMPD_DATA_DIR=/tmp/data``, ``CMPD_PERMUTATIONS=9999`` or
``CMPD_MAX_ROWS=10000000`` (the limits on one input file's size and rows). Unknown
``CMPD_*`` variables are rejected so that a typo is not silently ignored, and every
value is validated when the settings are made (``0 < alpha < 1``, 99 to 99,999
permutations, a projected analysis CRS, ...): a bad value fails at once with a
message naming the setting, not deep inside an analysis.

Examples
--------
>>> from geo.settings import get_settings
>>> s = get_settings({})
>>> s.analysis_crs
'EPSG:2264'
>>> get_settings({"CMPD_ALPHA": "1.5"})
Traceback (most recent call last):
...
geo.errors.ValueDomainError: Setting alpha (CMPD_ALPHA) = 1.5: must be between 0 and 1, e.g. 0.05.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from geo.errors import ValueDomainError

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
        Folder for cleaned (Geo)Parquet layers and cached weights.
    analysis_crs
        Projected CRS for every distance, area and spatial join (NC State Plane, US feet).
    web_crs
        Geographic CRS for web maps and GeoJSON (RFC 7946 requires WGS 84).
    permutations
        Default number of conditional permutations for pseudo p-values (99 to 99,999).
    alpha
        Default significance level (between 0 and 1).
    seed
        Default random seed for permutation tests (0 or more).
    max_decompressed_bytes
        Largest file a reader accepts, in bytes of text after decompression (a ``.gz``
        file is counted as it expands, so a "gzip bomb" stops at the limit); also the
        largest layer file and the largest uncompressed Parquet data. Default 512 MiB
        (the stops file expands to 22 MB). ``CMPD_MAX_DECOMPRESSED_BYTES``; 1,024 or more.
    max_rows
        Most data rows (or layer features) a reader accepts from one file. Default
        5,000,000 (the stops file has 139,524). ``CMPD_MAX_ROWS``; 1 or more.
    """

    data_dir: Path = PROJECT_ROOT / "data" / "raw"
    cache_dir: Path = PROJECT_ROOT / "data" / "cache"
    analysis_crs: str = "EPSG:2264"
    web_crs: str = "EPSG:4326"
    permutations: int = 999
    alpha: float = 0.05
    seed: int = 12345
    max_decompressed_bytes: int = 512 * 2**20
    max_rows: int = 5_000_000

    def __post_init__(self) -> None:
        for f in fields(self):
            message = _VALIDATORS[f.name](getattr(self, f.name))
            if message:
                value = getattr(self, f.name)
                raise ValueDomainError(f"Setting {f.name} (CMPD_{f.name.upper()}) = {value}: {message}.")

    def replace(self, **changes: Any) -> Settings:
        """Return a validated copy with ``changes`` applied (unknown keys raise ``TypeError``)."""
        return dataclasses.replace(self, **changes)


def _path(value: object) -> str | None:
    return None if isinstance(value, Path) else "must be a path (pathlib.Path)"


@functools.cache
def _crs(value: str, *, projected: bool) -> str | None:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_user_input(value)
    except CRSError:
        return "is not a CRS (use e.g. EPSG:2264)"
    if projected and not crs.is_projected:
        return "must be a projected CRS, in feet or metres (e.g. EPSG:2264), so that distances and areas mean something"
    if not projected and not crs.is_geographic:
        return "must be a geographic CRS (longitude/latitude, e.g. EPSG:4326): GeoJSON and web maps need one"
    return None


def _int_between(low: int, high: int) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"must be a whole number from {low:,} to {high:,}"
        return None

    return check


def _alpha(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        return "must be between 0 and 1, e.g. 0.05"
    return None


#: One validator per field: returns what is wrong, or None.
_VALIDATORS: dict[str, Callable[[Any], str | None]] = {
    "data_dir": _path,
    "cache_dir": _path,
    "analysis_crs": lambda v: _crs(v, projected=True) if isinstance(v, str) else "must be a CRS string",
    "web_crs": lambda v: _crs(v, projected=False) if isinstance(v, str) else "must be a CRS string",
    "permutations": _int_between(99, 99_999),
    "alpha": _alpha,
    "seed": _int_between(0, 2**32 - 1),
    "max_decompressed_bytes": _int_between(1024, 2**40),
    "max_rows": _int_between(1, 10**9),
}


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
        raise ValueDomainError(f"Environment variable CMPD_{name.upper()}={raw!r} is not a valid {typ}.") from None
    return raw


def get_settings(env: dict[str, str] | None = None) -> Settings:
    """Build settings from defaults and ``CMPD_*`` environment variables.

    Parameters
    ----------
    env
        Mapping to read instead of ``os.environ`` (for tests).

    Raises
    ------
    ValueDomainError
        If a ``CMPD_*`` variable names no setting, cannot be converted, or has a value
        the setting does not allow (a subclass of ``ValueError``).
    """
    env = dict(os.environ if env is None else env)
    known = {f.name: f.type for f in fields(Settings)}
    changes: dict[str, Any] = {}
    for key, raw in env.items():
        if not key.startswith("CMPD_"):
            continue
        name = key[5:].lower()
        if name not in known:
            raise ValueDomainError(f"Unknown setting {key}; allowed: " + ", ".join(f"CMPD_{k.upper()}" for k in known))
        changes[name] = _coerce(name, known[name], raw)
    return Settings(**changes)
