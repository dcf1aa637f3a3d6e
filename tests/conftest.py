"""Shared fixtures: the real CMPD data with a fresh cache folder per test session.

The data is fetched into data/raw by ``make test``, or copied from ../shared/data here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geo import errors
from geo.ingest import sources
from geo.settings import PROJECT_ROOT, Settings, get_settings

# One session-wide browser for every test module (two Playwright sync sessions cannot coexist).
from tests.helpers.browser import browser, offline_page, streamlit_app  # noqa: E402, F401
from tests.helpers.data import SHARED

os.environ.setdefault("MPLCONFIGDIR", str(PROJECT_ROOT / ".cache" / "matplotlib"))
os.environ.setdefault("XDG_CACHE_HOME", str(PROJECT_ROOT / ".cache"))


def _ensure_data(data_dir: Path) -> None:
    try:
        sources.resolve("stops", data_dir)
        return
    except errors.DataFileError:
        pass
    if not SHARED.exists():
        pytest.fail(f"No data in {data_dir} and no mirror at {SHARED}: run `make data` first.")
    from geo.ingest.fetch import copy_mirror

    copy_mirror(SHARED, data_dir)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings pointing at the real data and a per-session cache folder."""
    s = get_settings({})
    _ensure_data(s.data_dir)
    return s.replace(cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def stops_and_report(settings):
    from geo.layers import build

    return build.stops_with_report(settings)


@pytest.fixture(scope="session")
def division_layer(settings):
    from geo.layers import build

    return build.division_layer(settings)


@pytest.fixture(scope="session")
def npa_layer(settings):
    from geo.layers import build

    return build.npa_layer(settings)


@pytest.fixture(scope="session")
def npa_2022(npa_layer):
    """NPAs with a 2022 violent-crime count and a non-zero population (371 units)."""
    keep = npa_layer["violent_crimes_2022"].notna() & (npa_layer["rate_pop_2022"] > 0)
    return npa_layer[keep].reset_index(drop=True)


@pytest.fixture
def stops_csv(tmp_path: Path):
    """Write a small stops CSV; rows are dicts overriding a valid default row."""
    header = [
        "OBJECTID",
        "Month_of_Stop",
        "Reason_for_Stop",
        "Officer_Race",
        "Officer_Gender",
        "Officer_Years_of_Service",
        "Driver_Race",
        "Driver_Ethnicity",
        "Driver_Gender",
        "Driver_Age",
        "Was_a_Search_Conducted",
        "Result_of_Stop",
        "CMPD_Division",
        "GlobalID",
    ]
    default = dict(
        zip(
            header,
            [
                "1",
                "2020/01",
                "Speeding                 ",
                "White",
                "Male",
                "5",
                "Black",
                "Non-Hispanic",
                "Male",
                "30",
                "No",
                "Verbal Warning",
                "Central Division",
                "{00000000-0000-0000-0000-000000000000}",
            ],
            strict=True,
        )
    )

    def write(rows: list[dict], *, name: str = "stops.csv", drop: tuple[str, ...] = ()) -> Path:
        cols = [c for c in header if c not in drop]
        lines = [",".join(cols)]
        for i, r in enumerate(rows, start=1):
            row = {**default, "OBJECTID": str(i), **r}
            lines.append(",".join(row[c] for c in cols))
        p = tmp_path / name
        p.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
        return p

    return write
