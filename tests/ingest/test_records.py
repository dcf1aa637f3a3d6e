"""Clearance, diversion and employee tables: counts equal a plain pandas read, bad input reported."""

from __future__ import annotations

import pandas as pd
import pytest

from geo.errors import SchemaError
from geo.ingest.records import CLEARANCE, DIVERSION_OUTCOMES, load_clearance, load_diversion, load_employees
from geo.ingest.sources import resolve


def _raw(settings, key):
    return pd.read_csv(resolve(key, settings.data_dir), dtype=str, keep_default_na=False, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def clearance(settings):
    return load_clearance(settings=settings)


def test_clearance_counts_match_the_raw_file(clearance, settings):
    df, report = clearance
    raw = _raw(settings, "clearance")
    assert len(df) == len(raw) == 83_037
    assert report.rows_read == report.rows_kept + report.rows_set_aside == 83_037
    assert df["clearance"].value_counts().to_dict() == raw["CLEARANCE_STATUS"].value_counts().to_dict()
    assert (df["clearance"] == "Open").sum() == 37_076
    assert (df["cleared"] == "arrest").sum() == (raw["CLEARANCE_STATUS"] == "Cleared by Arrest").sum() == 23_748
    assert set(df["cleared"].cat.categories) == set(CLEARANCE.values())
    ct = pd.crosstab(raw["CMPD_PATROL_DIVISION"], raw["CLEARANCE_STATUS"])
    mine = pd.crosstab(df["division_raw"], df["clearance"])
    pd.testing.assert_frame_equal(mine, ct, check_names=False)
    by_year = raw["DATE_REPORTED"].str[:4].astype(int).value_counts().sort_index()
    pd.testing.assert_series_equal(df["year"].value_counts().sort_index(), by_year, check_names=False)
    assert df["date"].min() == pd.Timestamp("2017-01-01")


def test_clearance_divisions(clearance):
    df, report = clearance
    assert df.loc[df["division_raw"] == "Central", "division"].eq("Central Division").all()
    # Airport is one of the 14 division polygons; the towns are not CMPD divisions
    assert (df["division"] == "Airport Division").sum() == 498
    towns = df[df["division_raw"].isin(["Huntersville", "Davidson"])]
    assert len(towns) == 39 and towns["division"].isna().all()
    flagged = {r for i in report.issues if i.column == "CMPD_PATROL_DIVISION" for r in i.rows}
    assert flagged == set(towns["row"])


def test_clearance_bad_input(tmp_path, settings):
    p = tmp_path / "clear.csv"
    p.write_text(
        "HIGHEST_NIBRS_DESCRIPTION,CLEARANCE_STATUS,DATE_REPORTED,CMPD_PATROL_DIVISION\n"
        "Intimidation,Open,2020-01-05,Central\n"
        "Intimidation,Open,2020-02-30,Central\n"  # no such date: set aside
        "Intimidation,Maybe,2020-03-01,\n"  # unknown status and blank division: kept, flagged
    )
    df, report = load_clearance(p, settings=settings)
    assert df["row"].tolist() == [1, 3]
    assert df["cleared"].isna().tolist() == [False, True]
    date_issue = next(i for i in report.issues if i.column == "DATE_REPORTED")
    assert date_issue.action == "set_aside" and date_issue.rows == [2] and "2020-02-30" in date_issue.reason
    assert report.rows_flagged == 1 and report.rows_set_aside == 1
    p.write_text("HIGHEST_NIBRS_DESCRIPTION,CLEARANCE_STATUS,DATE\nIntimidation,Open,2020-01-05\n")
    with pytest.raises(SchemaError, match=r"clear\.csv.*DATE_REPORTED, CMPD_PATROL_DIVISION"):
        load_clearance(p, settings=settings)


def test_diversion_counts_match_the_raw_file(settings):
    df, report = load_diversion(settings=settings)
    raw = _raw(settings, "diversion")
    assert len(df) == len(raw) == 2_555 == report.rows_kept
    assert (df["race_raw"] == "Black").sum() == (raw["Juvenile_race_ethnicity"] == "Black").sum() == 1_802
    assert (df["race"] == "Black").sum() == 1_802
    # 'HISPANIC' folds into Hispanic: 293 + 1
    assert (df["race"] == "Hispanic").sum() == raw["Juvenile_race_ethnicity"].str.lower().eq("hispanic").sum() == 294
    expected = raw["status"].str.strip().str.lower().map(DIVERSION_OUTCOMES).value_counts()
    assert df["outcome"].value_counts().to_dict() == expected.to_dict()
    assert df["outcome"].notna().all()
    assert (df["outcome"] == "successful").sum() == raw["status"].str.lower().eq("inactive-successful").sum()
    ct = pd.crosstab(raw["Juvenile_race_ethnicity"], raw["status"].str.lower())
    assert pd.crosstab(df["race_raw"], df["status"].str.lower()).equals(ct)
    assert set(df["gender"]) == {"Male", "Female"}
    assert df["year"].between(2013, 2016).all() and df["year"].eq(df["intake_date"].dt.year).all()
    assert df["status_reason"].isna().sum() == (raw["status_reason"].str.strip() == "").sum()


def test_diversion_bad_date_set_aside(tmp_path, settings):
    p = tmp_path / "div.csv"
    p.write_text(
        "Juvenile_race_ethnicity,Juvenile_gender,status,status_reason,intake_date\n"
        "Black,Male,Active,,2014-05-01T00:00:00.000Z\n"
        "Black,Male,Active,,not a date\n"
        "Purple,male,Lost,,2014-05-01T00:00:00.000Z\n"
    )
    df, report = load_diversion(p, settings=settings)
    assert df["row"].tolist() == [1, 3] and df["intake_date"].tolist()[0] == pd.Timestamp("2014-05-01")
    assert df["race"].tolist() == ["Black", "Unknown"] and df["gender"].tolist() == ["Male", "Male"]
    assert df["outcome"].isna().tolist() == [False, True]
    assert next(i for i in report.issues if i.column == "intake_date").rows == [2]
    assert next(i for i in report.issues if i.column == "status").rows == [3]


def test_employees_counts_match_the_raw_file(settings):
    df, report = load_employees(settings=settings)
    raw = _raw(settings, "employees")
    assert len(df) == len(raw) == 2_403 == report.rows_kept
    assert df["is_officer"].sum() == (raw["JOB_TITLE"] == "Police Officer").sum() == 1_558
    assert df["race"].isna().sum() == (raw["Race"].str.strip() == "").sum() == 34
    blank_race = next(i for i in report.issues if i.column == "Race")
    assert blank_race.count == 34
    assert (
        df["race"].value_counts().to_dict() == raw.loc[raw["Race"].str.strip() != "", "Race"].value_counts().to_dict()
    )
    assert df["age"].mean() == pytest.approx(pd.to_numeric(raw["Age"]).mean())
    ct = pd.crosstab(raw["JOB_TITLE"], raw["Gender"])
    assert pd.crosstab(df["job_title"], df["gender"]).equals(ct)


def test_employees_wrong_types_reported(tmp_path, settings):
    p = tmp_path / "emp.csv"
    p.write_text(
        "JOB_TITLE,Years_Of_Service,Age,Gender,Race\nPolice Officer,2,32,Male,White\nPolice Officer,two,thirty,Male, \n"
    )
    df, report = load_employees(p, settings=settings)
    assert len(df) == 2 and df["age"].isna().tolist() == [False, True]
    age = next(i for i in report.issues if i.column == "Age")
    assert age.rows == [2] and "'thirty'" in age.reason
    assert next(i for i in report.issues if i.column == "Years_Of_Service").rows == [2]
    with pytest.raises(SchemaError, match=r"emp\.csv.*Age"):
        p.write_text("JOB_TITLE,Years_Of_Service,Gender,Race\nPolice Officer,2,Male,White\n")
        load_employees(p, settings=settings)
