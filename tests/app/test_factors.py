"""The Factors page (and the measures table of Methods) through Streamlit's AppTest.

The pickers show titles, never metric ids; the coefficient table is the one
``spatial_regression`` gives when called here on the same joined variables; every
coefficient has its interval, in the table and in its sentence; the ecological-fallacy
caveat stands beside the numbers; a link's choices reopen the same view; the Methods page
lists all 83 metrics with their descriptions.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from geo.caveats import ECOLOGICAL_FALLACY_CAVEAT
from geo.settings import PROJECT_ROOT

#: AppTest runs the whole page script for every check: part of `make test`, not of `make test-fast`.
pytestmark = pytest.mark.slow

FACTORS = str(PROJECT_ROOT / "app_pages" / "factors.py")
METHODS = str(PROJECT_ROOT / "app_pages" / "methods.py")
RAW_ID = re.compile(r"\bm\d+\b")


def _harness(page_file: str) -> None:  # runs as a Streamlit script: imports inside
    import runpy

    runpy.run_path(page_file, run_name="__main__")


@pytest.fixture
def open_page(settings, monkeypatch):
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))

    def open_(page: str, **query: str) -> AppTest:
        at = AppTest.from_function(_harness, args=(page,), default_timeout=300)
        for k, v in query.items():
            at.query_params[k] = v
        at.run()
        assert not _problems(at)
        return at

    return open_


def _problems(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(x.value) for x in at.exception]


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


#: The columns that tell the page's tables apart.
TABLES = {"coefficients": {"Term", "Estimate", "Standard error"}, "measures": {"Id", "Description", "Units"}}


def _table(at: AppTest, name: str):
    found = [d.value for d in at.dataframe if TABLES[name] <= set(d.value.columns)]
    assert len(found) == 1, name
    return found[0]


def _direct(settings, outcome: str, conditions: list[str], year: int, **kw):
    from geo.analysis.factors import factor_layer
    from geo.analysis.regression import spatial_regression
    from geo.layers import build, records

    fl = factor_layer(build.npa_layer(settings), records.qol_metrics(settings), outcome=outcome,
                      conditions=conditions, year=year)  # fmt: skip
    return spatial_regression(fl.frame, fl.outcome.column, fl.condition_columns, weights="queen", **kw)


def test_page_renders_with_titles_not_ids(open_page):
    at = open_page(FACTORS)
    assert at.title[0].value == "Which factors play a role"
    outcome = at.selectbox(key="fa_outcome")
    conditions = at.multiselect(key="fa_conditions")
    assert len(outcome.options) == 83 + 3  # every metric and the three crime rates
    for text in [*outcome.options, *conditions.options]:
        assert not RAW_ID.search(text), text
    assert outcome.value == "violent" and conditions.value == ["m80"]
    assert "Food and Nutrition Services" in conditions.format_func("m80")
    assert at.get("vega_lite_chart"), "scatterplots missing"
    maps = [el for el in at.get("component_instance") if "L.map(" in el.proto.json_args]
    assert len(maps) == 1
    assert at.query_params["outcome"] == "violent" and at.query_params["conditions"] == "m80"


def test_coefficients_equal_spatial_regression_with_intervals_and_caveat(open_page, settings):
    at = open_page(FACTORS)
    at.multiselect(key="fa_conditions").set_value(["m80", "m37"]).run()
    assert not _problems(at)
    shown = _table(at, "coefficients")
    res = _direct(settings, "violent", ["m80", "m37"], 2022, model="auto")
    want = res.coefficients
    assert len(shown) == len(want)
    np.testing.assert_allclose(shown["Estimate"], want["estimate"], rtol=1e-10)
    np.testing.assert_allclose(shown["95% interval, low"], want["ci_low"], rtol=1e-10)
    np.testing.assert_allclose(shown["95% interval, high"], want["ci_high"], rtol=1e-10)
    np.testing.assert_allclose(shown["p-value"], want["p_value"], rtol=1e-10)
    assert shown[["95% interval, low", "95% interval, high"]].notna().all().all()
    assert (
        (shown["95% interval, low"] <= shown["Estimate"]) & (shown["Estimate"] <= shown["95% interval, high"])
    ).all()
    text = [_unescape(m.value) for m in at.markdown]
    sentences = [t for t in text if t.startswith("- In neighbourhoods where")]
    assert len(sentences) == 2 and all("95% interval" in s for s in sentences)
    assert any(f"{res.n_used:,} of {res.n_units:,} NPAs used" in t for t in text)
    warnings = [_unescape(w.value) for w in at.warning]
    assert sum(ECOLOGICAL_FALLACY_CAVEAT in w for w in warnings) >= 2  # at the top and beside the coefficients
    # standardised and a requested model: still the same numbers as the library's
    at.checkbox(key="fa_std").check().run()
    at.radio(key="fa_model").set_value("Plain regression (OLS, no spatial term)").run()
    assert not _problems(at)
    shown = _table(at, "coefficients")
    want = _direct(settings, "violent", ["m80", "m37"], 2022, model="ols", standardise=True).coefficients
    np.testing.assert_allclose(shown["Estimate"], want["estimate"], rtol=1e-10)
    np.testing.assert_allclose(shown["95% interval, high"], want["ci_high"], rtol=1e-10)


def test_link_reopens_the_choices_and_partial_lisa(open_page):
    at = open_page(FACTORS, outcome="property", conditions="m37", year="2021", local="partial")
    assert at.selectbox(key="fa_outcome").value == "property"
    assert at.multiselect(key="fa_conditions").value == ["m37"]
    assert at.selectbox(key="fa_year_property").value == 2021
    text = [_unescape(m.value) for m in at.markdown]
    assert any(t.startswith("**Does the hot spot remain?**") for t in text)


def test_methods_lists_every_metric_with_its_description(open_page, settings):
    from geo.layers import records

    at = open_page(METHODS)
    table = _table(at, "measures")
    raw = records.qol_catalogue(settings)
    assert len(table) == 83
    assert set(table["Id"]) == set(raw["metric"])
    assert (table["Description"].str.len() > 0).all()
    assert dict(zip(table["Id"], table["Description"], strict=True)) == dict(
        zip(raw["metric"], raw["description"], strict=True)
    )
    at.text_input(key="me_measure_search").input("income").run()
    found = _table(at, "measures")
    assert 0 < len(found) < 83 and "m37" in set(found["Id"])
