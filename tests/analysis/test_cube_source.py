"""The space-time cube's points: the whole incident layer when fetched (categories from the NIBRS code), else the sample.

The mirror has no whole incident layer, so a data folder is made by hand: the NPAs, the divisions, the
1-in-61 sample and, standing in for the portal layer, 800 records of the layer's first page written as
``points/CMPD_Incidents_portal.parquet`` (the format ``python -m geo fetch`` writes), with one NIBRS code
changed by hand to a code no table knows. The categories are checked against the table of the repository
that made the point sample, copied here from its PROVENANCE.md with its per-code counts.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from geo.analysis.spacetime import emerging_cube, near_repeat
from geo.layers import build, records
from tests.helpers.data import SHARED

#: ``hadi-nayebi/crime-cartography`` data/charlotte-nc/PROVENANCE.md, "Category mapping": code | cat | window count.
REPO_TABLE = """
23F property 82492|90Z other 80638|13B persons 72839|23H property 68532|23C property 51896|290 property 48271
220 property 39237|240 property 38812|35A society 31915|13C persons 26753|13A persons 25450|26A property 14797
120 property 13758|23G property 13427|23D property 9017|26B property 8965|26F property 7799|520 society 7218
280 property 6314|90J other 6003|250 property 4856|35B society 4612|90D other 4564|26C property 4412
11D persons 3559|270 property 2553|370 society 2530|99Z other 1954|11A persons 1733|210 property 1565
100 persons 1518|23A property 1415|200 property 1212|23B property 1145|99Y other 1027|09A persons 828
90C other 781|26G property 553|90F other 430|90G other 413|11B persons 411|26E property 396|720 society 295
23E property 272|36B persons 246|90H other 227|90B other 144|09C other 110|90A other 95|40A society 91
11C persons 79|64B persons 57|09B persons 34|39B society 32|39C society 27|64A persons 25|36A persons 20
40B society 14|39A society 12|26D property 11|40C society 5|510 property 3
"""
#: The same file's category totals.
REPO_TOTALS = {"persons": 133_552, "property": 421_710, "society": 46_751, "other": 96_386}

ODD_CODE = "99X"  # not a NIBRS code: must be counted as other and reported


def _repo_table() -> pd.DataFrame:
    rows = [cell.split() for line in REPO_TABLE.strip().splitlines() for cell in line.split("|")]
    return pd.DataFrame(rows, columns=["code", "category", "count"]).astype({"count": int})


def whole_layer_folder(tmp_path, *, portal: bool = True, mirror: bool = False):
    """A data folder with the NPAs, divisions, the sample and (``portal``) a hand-made whole layer; its raw records.

    ``mirror``: a copy of the whole mirror instead (what the command line's layers need), plus the whole layer.
    """
    from geo.ingest.sources import DATASETS

    data = tmp_path / "data"
    if mirror:
        shutil.copytree(SHARED, data)
    for key in () if mirror else ("npa_geography", "divisions_2025", "incidents_points"):
        rel = DATASETS[key].path
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SHARED / rel, data / rel)
    raw = pd.read_csv(SHARED / "points" / "CMPD_Incidents_sample5000.csv", dtype={"HIGHEST_NIBRS_CODE": str})
    raw = raw.iloc[:800].drop(columns=["YEAR"]).reset_index(drop=True)
    raw.loc[3, "HIGHEST_NIBRS_CODE"] = ODD_CODE
    if portal:
        raw.to_parquet(data / "points" / "CMPD_Incidents_portal.parquet")
    return data, raw


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return whole_layer_folder(tmp_path_factory.mktemp("whole"))


@pytest.fixture(scope="module")
def whole(folder, settings, tmp_path_factory):
    data, raw = folder
    s = settings.replace(data_dir=data, cache_dir=tmp_path_factory.mktemp("cache"))
    return s, raw, *records.cube_points_with_report(s)


def test_vocab_table_reproduces_the_sample_makers_category_totals():
    from geo.vocab import NIBRS_CATEGORIES

    repo = _repo_table()
    assert len(repo) == 62 and sorted(repo["code"]) == sorted(NIBRS_CATEGORIES)
    assert (repo["code"].map(NIBRS_CATEGORIES) == repo["category"]).all()
    # the repository's per-code counts summed by our mapping equal its own category totals
    ours = repo.groupby(repo["code"].map(NIBRS_CATEGORIES))["count"].sum().to_dict()
    assert ours == REPO_TOTALS


def test_nibrs_category_cleans_codes_and_flags_unknown_ones():
    codes = pd.Series([" 13a", "23F", "90Z", "35A", ODD_CODE, None], index=[10, 11, 12, 13, 14, 15])
    category, unmapped = records.nibrs_category(codes)
    assert category.tolist() == ["persons", "property", "other", "society", "other", "other"]
    assert unmapped.tolist() == [False, False, False, False, True, True]
    assert category.index.tolist() == codes.index.tolist()


def test_whole_layer_is_used_with_categories_from_the_code(whole):
    _, raw, pts, report = whole
    assert pts.attrs["source"] == "incidents_full" and pts.attrs["caveat"] == ""
    code = raw["HIGHEST_NIBRS_CODE"].str.strip()
    keep = ~code.str.startswith("8") & (raw["CLEARANCE_STATUS"].str.strip() != "Unfounded")
    assert 0 < keep.sum() < len(raw) and len(pts) == keep.sum()
    # categories against the repository's table (independent of geo.vocab); unknown codes are other
    table = dict(zip(_repo_table()["code"], _repo_table()["category"], strict=True))
    expected = code[keep].map(table).fillna("other")
    assert pts["category"].astype(str).tolist() == expected.tolist()
    months = pd.to_datetime(raw.loc[keep, "DATE_REPORTED"], unit="ms").dt.to_period("M").dt.to_timestamp()
    assert (pts["month"].to_numpy() == months.to_numpy()).all()
    issues = {(i.action, i.column): i for i in report.issues}
    assert issues[("set_aside", "HIGHEST_NIBRS_CODE")].count == code.str.startswith("8").sum()
    unfounded = (raw["CLEARANCE_STATUS"].str.strip() == "Unfounded") & ~code.str.startswith("8")
    assert issues[("set_aside", "CLEARANCE_STATUS")].count == unfounded.sum()
    odd = issues[("kept", "HIGHEST_NIBRS_CODE")]
    assert odd.count == 1 and f"'{ODD_CODE}' (1)" in odd.reason and "counted as other" in odd.reason
    assert any("1 with a code not in the table counted as other" in n for n in report.notes)


def test_cube_on_the_whole_layer_says_which_points(whole):
    s, _, pts, _ = whole
    res = emerging_cube(pts, boundary=build.npa(s), cell_size=8000.0, step="year", permutations=99, seed=1)
    assert (
        res.parameters["points_source"] == pts.attrs["source_label"] == "CMPD incident reports (the whole portal layer)"
    )
    assert res.parameters["points"] == len(pts)
    assert f"points: CMPD incident reports (the whole portal layer): {len(pts):,} incident points" in res.lines
    # every point is dated and inside the grid: it is in the cube or in a partial (first or last) year
    assert res.cube.counts.sum() + res.cube.n_partial_points == len(pts)
    persons = emerging_cube(
        pts, boundary=build.npa(s), cell_size=8000.0, step="year", category="persons", permutations=99, seed=1
    )
    n = int((pts["category"] == "persons").sum())
    assert persons.parameters["points"] == n and f"{n:,} persons incident points" in persons.lines[1]


def test_without_the_whole_layer_the_sample_is_used(settings, tmp_path):
    data, _ = whole_layer_folder(tmp_path, portal=False)
    s = settings.replace(data_dir=data, cache_dir=tmp_path / "cache")
    pts, report = records.cube_points_with_report(s)
    assert pts.attrs["source"] == "incidents_points" and "1-in-61" in pts.attrs["source_label"]
    assert len(pts) == len(pd.read_csv(data / "points" / "cmpd_incidents_point_sample_2017-2026.csv"))
    assert list(pts.columns) == list(records.CUBE_COLUMNS) and pts.attrs["caveat"]
    assert report.notes[0].endswith(f"{len(pts):,} points")


def test_near_repeat_table_and_line_say_same_month(whole):
    _, _, pts, _ = whole
    res = near_repeat(pts, distance_bands=(2000.0,), time_bands=(0, 1), permutations=19, seed=1)
    assert res.table["time_band"].drop_duplicates().tolist() == ["same month", "1 month", "over 1 month"]
    assert "0 - 0" not in " ".join(res.lines) and "apart and in the same month:" in res.lines[1]
    # the relabelled table keeps the statistic's numbers in the same order
    np.testing.assert_array_equal(res.table["observed"].to_numpy(), res.knox.observed.ravel())
