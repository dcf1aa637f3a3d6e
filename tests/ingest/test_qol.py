"""Quality of Life catalogue and metrics: the explorer's rule (round(r / d, 4)) by hand, blanks counted."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

from geo.errors import ValueDomainError
from geo.ingest.qol import load_qol_catalogue, load_qol_metrics, plain_text
from geo.ingest.sources import resolve


@pytest.fixture(scope="module")
def catalogue(settings):
    return load_qol_catalogue(settings=settings)


def _cell(path, npa, column):
    with open(path, newline="") as fh:
        for rec in csv.DictReader(fh):
            if rec["id"] == str(npa):
                return rec[column]
    raise LookupError(npa)


def test_catalogue_has_every_configured_metric(catalogue, settings):
    cat, report = catalogue
    config = json.loads(resolve("qol_config", settings.data_dir).read_text())
    assert len(cat) == len(config) == 83 == report.rows_kept
    assert list(cat["metric"]) == [c["metric"] for c in config]
    row = cat.set_index("metric").loc["m58"]
    assert row["title"] == "Crime - Violent" and row["category"] == next(
        c["category"] for c in config if c["metric"] == "m58"
    )
    assert row["years"] == "2011,2013,2015,2016,2017,2018,2019,2020,2021,2022"
    assert (row["first_year"], row["last_year"]) == (2011, 2022)
    assert row["files"] == "r58.csv,d58.csv" and row["computation"] == "r/d"
    assert "multiplied by 1,000" in row["about_the_data"]
    assert row["source"].startswith("Charlotte-Mecklenburg Police Department")
    assert row["why_it_matters"].startswith("The incidence and perception of crime")
    assert cat.set_index("metric").loc["m1", "sums"] and not row["sums"]
    assert cat.set_index("metric").loc["m2", "files"] == "r2.csv,d2.csv,m2-accuracy.csv"
    assert any("m50" in n and "m84" in n for n in report.notes)


def test_catalogue_text_is_plain(catalogue):
    cat, _ = catalogue
    for col in ("description", "why_it_matters", "about_the_data", "source", "label"):
        text = " ".join(cat[col])
        assert "**" not in text and "](" not in text and "<span" not in text and "## " not in text
    assert plain_text("_**Source**: [CMPD](http://x) <b>data</b>_") == "Source: CMPD data"


def test_metric_by_hand_for_npa_2(settings):
    df, report = load_qol_metrics(settings=settings, metrics=["m58", "m13"])
    r = resolve("npa_metric_r58", settings.data_dir)
    d = resolve("npa_metric_d58", settings.data_dir)
    num, den = float(_cell(r, 2, "y_2022")), float(_cell(d, 2, "y_2022"))
    assert (num, den) == (24.0, 2.143)
    row = df[(df["npa"] == 2) & (df["metric"] == "m58") & (df["year"] == 2022)].iloc[0]
    assert row["value"] == round(24 / 2.143, 4) == 11.1993
    assert (row["numerator"], row["denominator"]) == (24.0, 2.143)
    # percent metrics are already percentages: d13 is the population / 100
    m13 = df[(df["npa"] == 2) & (df["metric"] == "m13")].iloc[0]
    assert m13["value"] == pytest.approx(182 / 23.94, abs=1e-4) and 0 <= m13["value"] <= 100
    assert report.rows_read == 4 * sum(1 for _ in open(r)) - 4


def test_all_metrics_blanks_counted_not_invented(settings):
    df, report = load_qol_metrics(settings=settings)
    assert df["metric"].nunique() == 83
    assert df.dtypes["npa"] == np.int64 and df.dtypes["year"] == np.int64
    # every cell of every r file is a row; its blanks stay missing
    r42 = pd.read_csv(resolve("npa_metric_r42", settings.data_dir))
    mine = df[df["metric"] == "m42"]
    assert len(mine) == r42.drop(columns="id").size
    assert mine["numerator"].isna().sum() == r42.drop(columns="id").isna().sum().sum()
    blank = next(i for i in report.issues if i.file == "r42.csv" and "blank" in i.reason)
    assert blank.count == r42.drop(columns="id").isna().any(axis=1).sum()
    assert report.rows_read == report.rows_kept + report.rows_set_aside


def test_unknown_metric_names_the_config(settings):
    with pytest.raises(ValueDomainError, match=r"qol_metric_config\.json.*'m999'"):
        load_qol_metrics(settings=settings, metrics=["m999"])


@pytest.fixture
def tiny(tmp_path, settings):
    """A data folder with a two-metric configuration: m7 = r7 / d7, m9 = r9 alone."""
    npa = tmp_path / "npa"
    (npa / "metric").mkdir(parents=True)
    (npa / "meta").mkdir()
    config = [
        {"metric": "m7", "category": "Housing", "title": "Seven", "subtitle": "r over d", "format": "percent"},
        {"metric": "m9", "category": "Housing", "title": "Nine", "type": "sum"},
        {"title": "no id"},
    ]
    (npa / "qol_metric_config.json").write_text(json.dumps(config))
    (npa / "metric" / "r7.csv").write_text("id,y_2019,y_2020\n1,3,5\n2,,4\nx,1,1\n3,2,7\n")
    (npa / "metric" / "d7.csv").write_text("id,y_2019,y_2020\n1,6,0\n2,abc,8\nx,1,1\n3,3,9\n")
    (npa / "metric" / "r9.csv").write_text("id,y_2021\n1,10\n2,20\n")
    (npa / "meta" / "m7.md").write_text(
        "## Seven\nr over d\n\n### Why is this important?\nBecause.\n\n#### Did you know?\nYes.\n\n"
        "### About the Data\nNumerator over denominator.\n\n_**Source**: [Us](http://x)_\n"
    )
    return settings.replace(data_dir=tmp_path)


def test_tiny_metrics_by_hand(tiny):
    df, report = load_qol_metrics(settings=tiny, npa_ids=[1, 2])
    v = df.set_index(["metric", "npa", "year"])["value"]
    assert v[("m7", 1, 2019)] == 0.5
    assert np.isnan(v[("m7", 1, 2020)])  # zero denominator
    assert np.isnan(v[("m7", 2, 2019)])  # blank numerator
    assert v[("m7", 2, 2020)] == 0.5
    assert v[("m9", 2, 2021)] == 20 and np.isnan(df.loc[df["metric"] == "m9", "denominator"]).all()
    assert 3 not in set(df["npa"])  # not in the geography
    assert report.rows_read == 4 + 4 + 2 and report.rows_set_aside == 4  # ids x and 3, in r7 and d7

    def rows(file, start):
        return next(i.rows for i in report.issues if i.file == file and i.reason.startswith(start))

    assert rows("r7.csv", "id is not a whole number") == [3]
    assert rows("d7.csv", "NPA id(s) 3 not in the NPA geography") == [4]
    assert rows("r7.csv", "blank value(s) (suppressed) kept missing (y_2019: 1)") == [2]
    assert rows("d7.csv", "non-numeric value(s) read as missing") == [2]
    assert rows("d7.csv", "zero denominator") == [1]


def test_tiny_catalogue(tiny):
    cat, report = load_qol_catalogue(settings=tiny)
    assert list(cat["metric"]) == ["m7", "m9"] and report.rows_set_aside == 1
    m7 = cat.set_index("metric").loc["m7"]
    assert (m7["why_it_matters"], m7["did_you_know"], m7["about_the_data"]) == (
        "Because.",
        "Yes.",
        "Numerator over denominator.",
    )
    assert m7["source"] == "Us" and m7["what_it_measures"] == "r over d" and m7["years"] == "2019,2020"
    m9 = cat.set_index("metric").loc["m9"]
    assert m9["sums"] and m9["computation"] == "r" and m9["description"] == ""
    assert any(i.reason.startswith("m9: no description") for i in report.issues)
