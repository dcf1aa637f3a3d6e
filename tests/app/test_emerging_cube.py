"""The Emerging hot spots page's space-time cube option (incident points in hexagons) through app.py.

A link with the cube's choices restores them; the page draws one map whose legend and cells hold the
categories of :func:`geo.analysis.spacetime.emerging_cube` called directly with the same choices; the
plain sentences and the pattern counts are the library's; switching back to the NPA series works.
"""

from __future__ import annotations

import html
import json

import pytest
from streamlit.testing.v1 import AppTest

from geo.analysis.spacetime import emerging_cube
from geo.layers import build, records
from geo.settings import PROJECT_ROOT

#: AppTest runs the whole page script for every check: part of `make test`, not of `make test-fast`.
pytestmark = pytest.mark.slow

APP = str(PROJECT_ROOT / "app.py")
EMERGING = "app_pages/emerging.py"
PERMS = 99


def _problems(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(x.value) for x in at.exception]


def _map(at: AppTest) -> str:
    maps = [el.proto.json_args for el in at.get("component_instance") if "L.map(" in el.proto.json_args]
    assert len(maps) == 1, "expected exactly one folium map on the page"
    return json.loads(maps[0])["script"]


def _plain(s: str) -> str:
    """Markdown as escaped by the page back to plain text."""
    return html.unescape(s.replace("\\", ""))


def _query(at: AppTest, name: str) -> str:
    v = at.query_params[name]
    return v[0] if isinstance(v, list) else v


def test_cube_option_draws_the_cube_categories(settings, monkeypatch):
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))
    monkeypatch.setenv("CMPD_PERMUTATIONS", str(PERMS))
    at = AppTest.from_file(APP, default_timeout=240)
    link = {"source": "cube", "step": "year", "category": "property", "cell": "6000", "correction": "none"}
    for name, value in link.items():
        at.query_params[name] = value
    at.switch_page(EMERGING).run()
    assert not _problems(at)
    assert at.radio(key="eh_source").value == "Incident points (space-time cube)"
    assert at.selectbox(key="eh_step").value == "Year" and at.selectbox(key="eh_category").value == "property"
    assert at.select_slider(key="eh_cell").value == 6000

    res = emerging_cube(
        records.incident_points(settings), boundary=build.npa(settings), cell_size=6000.0, step="year",
        category="property", time_lag=1, permutations=PERMS, seed=settings.seed, alpha=0.05, correction="none",
    )  # fmt: skip
    script = _map(at)
    assert "Emerging hot spots: incident points, crimes against property, by year" in script
    found = set(res.frame["ehsa_category"])
    assert len(found) > 1  # without a correction some hexagons have a pattern: the legend has more than one entry
    for category in found:
        assert category in script
    assert "Intensifying Cold Spot" not in script or "Intensifying Cold Spot" in found  # empty categories hidden

    shown = [html.unescape(m.value.replace("\\", "")) for m in at.markdown]
    for line in res.lines:
        assert f"- {line.strip()}" in shown
    patterns = at.dataframe[0].value.set_index("Pattern")["Hexagons"]
    for category, n in res.emerging.counts.items():
        if n:
            assert patterns[category] == n
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[f"Years ({res.cube.labels[0]}–{res.cube.labels[-1]})"] == str(res.cube.n_steps)
    # which points were counted, and how many (the sample here: the mirror has no whole layer)
    captions = [_plain(c.value) for c in at.caption]
    n = int((records.incident_points(settings)["category"] == "property").sum())
    assert any(
        c.startswith(f"Points: CMPD incident points 2017-2026 (an even 1-in-61 sample), {n:,} incident points")
        for c in captions
    )
    assert any("1-in-61 sample" in c and "at most 100" in c for c in captions)  # the sample's caveat
    cells = at.dataframe[1].value
    assert len(cells) == (res.frame["ehsa_category"] != "No Pattern Detected").sum()
    assert set(cells["In plain words"]) <= set(res.frame["summary"])

    # the choices went to the address; back to the NPA series, the NPA map is drawn
    at.selectbox(key="eh_step").set_value("Quarter").run()
    assert not _problems(at) and _query(at, "step") == "quarter" and _query(at, "source") == "cube"
    at.radio(key="eh_source").set_value("NPA yearly series").run()
    assert not _problems(at)
    assert _query(at, "source") == "npa"
    assert "NPA" in _map(at) and "incident points" not in _map(at)


def test_intro_describes_both_choices(settings, monkeypatch):
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))
    monkeypatch.setenv("CMPD_PERMUTATIONS", str(PERMS))
    at = AppTest.from_file(APP, default_timeout=240)
    at.switch_page(EMERGING).run()
    assert not _problems(at)
    intro = _plain(at.markdown[0].value)
    for words in ("NPA yearly series", "Incident points (space-time cube)", "hexagons", "month, quarter or year"):
        assert words in intro
    assert set(at.radio(key="eh_source").options) == {"NPA yearly series", "Incident points (space-time cube)"}


def test_cube_on_the_whole_layer_names_it(settings, tmp_path, monkeypatch):
    from tests.analysis.test_cube_source import whole_layer_folder

    data, _ = whole_layer_folder(tmp_path, mirror=True)
    monkeypatch.setenv("CMPD_DATA_DIR", str(data))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CMPD_PERMUTATIONS", str(PERMS))
    at = AppTest.from_file(APP, default_timeout=240)
    for name, value in {"source": "cube", "step": "year", "cell": "8000"}.items():
        at.query_params[name] = value
    at.switch_page(EMERGING).run()
    assert not _problems(at)
    s = settings.replace(data_dir=data, cache_dir=tmp_path / "cache")
    pts = records.cube_points(s)
    captions = [_plain(c.value) for c in at.caption]
    assert f"Points: CMPD incident reports (the whole portal layer), {len(pts):,} incident points." in captions
    assert not any("1-in-61" in c for c in captions)
    assert any("counted as other" in c for c in captions)  # the hand-made unknown code, reported
    res = emerging_cube(
        pts, boundary=build.npa(s), cell_size=8000.0, step="year", time_lag=1, permutations=PERMS, seed=s.seed,
        alpha=0.05, correction="fdr",
    )  # fmt: skip
    shown = [_plain(m.value) for m in at.markdown]
    for line in res.lines:
        assert f"- {line.strip()}" in shown
