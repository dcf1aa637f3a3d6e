"""Use of force: shootings by place and year, and the state's tables.

Shooting counts against an independent spatial join, the state workbook against its own
cells (read with openpyxl), the fraction parser, and the reconciliation table.
"""

from __future__ import annotations

import re
import shutil

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from geo import caveats
from geo.analysis import use_of_force
from geo.errors import DataFileError, SchemaError, ValueDomainError
from geo.ingest import odp, sources
from geo.ingest.boundaries import load_divisions, load_npa
from geo.ingest.npa_metrics import load_npa_metrics
from geo.ingest.points import load_ois, load_ois_tables
from geo.layers.npa_table import npa_wide
from geo.stats import proportions


@pytest.fixture(scope="module")
def ois(settings):
    return load_ois(settings=settings)[0]


@pytest.fixture(scope="module")
def divisions(settings):
    return load_divisions(settings=settings)[0]


@pytest.fixture(scope="module")
def npa(settings):
    return load_npa(settings=settings)[0]


@pytest.fixture(scope="module")
def workbook_path(settings):
    return sources.resolve("odp_workbook", settings.data_dir)


@pytest.fixture(scope="module")
def workbook(workbook_path):
    return odp.load_odp_workbook(workbook_path)


# --------------------------------------------------------------------------- shootings


def test_division_counts_equal_plain_sjoin(ois, divisions):
    res = use_of_force.ois_summary(ois, divisions, id_column="division")
    joined = gpd.sjoin(ois[["geometry"]], divisions[["division", "geometry"]], how="left", predicate="within")
    assert not joined.index.duplicated().any()
    expected = joined["division"].value_counts()
    got = res.totals.set_index("unit")["incidents"]
    for division in divisions["division"]:
        assert got[division] == expected.get(division, 0), division
    assert got.sum() == len(ois) == 75
    assert got["Airport Division"] == 0  # zero rows kept, not missing
    assert "Outside every unit" not in got.index  # every shooting lies in a division


def test_npa_counts_equal_plain_sjoin(ois, npa, settings):
    metrics, _ = load_npa_metrics(npa_ids=npa["npa"], settings=settings)
    pop = npa_wide(metrics)
    res = use_of_force.ois_summary(ois, npa, id_column="npa", population=pop)
    joined = gpd.sjoin(ois[["geometry"]], npa[["npa", "geometry"]], how="left", predicate="within")
    expected = joined["npa"].value_counts()
    got = res.totals.set_index("unit")["incidents"]
    assert got.sum() == expected.sum() == len(ois)
    for unit, k in expected.items():
        assert got[unit] == k
    assert len(res.totals) == len(npa)
    row = res.totals.set_index("unit").loc[expected.index[0]]
    assert row["per_100k"] == pytest.approx(row["incidents"] / pop.loc[expected.index[0], "pop_2020"] * 1e5)


def test_rates_per_100k_and_years(ois, divisions):
    pop = pd.DataFrame({"pop_2020": 100000.0}, index=divisions["division"])
    pop.loc["Metro Division", "pop_2020"] = 50000.0
    res = use_of_force.ois_summary(ois, divisions, id_column="division", population=pop)
    t = res.totals.set_index("unit")
    k = t.loc["Metro Division", "incidents"]
    assert t.loc["Metro Division", "per_100k"] == pytest.approx(k / 50000 * 1e5)
    assert t.loc["Metro Division", "lo"] == pytest.approx(stats.chi2.ppf(0.025, 2 * k) / 2 / 50000 * 1e5)
    assert t.loc["Metro Division", "hi"] == pytest.approx(stats.chi2.ppf(0.975, 2 * k + 2) / 2 / 50000 * 1e5)
    assert t.loc["Metro Division", "per_100k_per_year"] == pytest.approx(k / 50000 * 1e5 / 14)  # 2005-2018
    by_year = res.by_year
    assert by_year.groupby("unit")["incidents"].sum().reindex(t.index).tolist() == t["incidents"].tolist()
    assert sorted(by_year["year"].unique()) == list(range(2005, 2019))
    assert by_year.loc[by_year["year"] == 2009, "incidents"].sum() == 0
    assert (
        by_year.groupby("year")["incidents"].sum().to_dict()
        == ois.groupby("year").size().reindex(range(2005, 2019), fill_value=0).to_dict()
    )
    assert any("2009" in n for n in res.notes)
    # individuals and officers come from the companion tables
    assert t["individuals"].sum() == ois["individuals"].sum()


def test_points_outside_are_reported(ois, divisions):
    central = divisions[divisions["division"] == "Central Division"]
    res = use_of_force.ois_summary(ois, central, id_column="division")
    t = res.totals.set_index("unit")
    assert t.loc["Outside every unit", "incidents"] == len(ois) - t.loc["Central Division", "incidents"]
    assert res.report.issues and "outside every polygon" in res.report.issues[0].reason


def test_ois_people(settings):
    tables, _ = load_ois_tables(settings=settings)
    people = use_of_force.ois_people(tables)
    ind = people["individuals"]
    assert ind["count"].sum() == len(tables["individuals"]) == 79
    black = tables["individuals"]["individual_race"].str.strip() == "Black"
    assert ind.loc[ind["race"] == "Black", "count"].sum() == black.sum()
    assert people["officers"]["count"].sum() == 107
    with pytest.raises(SchemaError, match="No 'officers' table"):
        use_of_force.ois_people({"individuals": tables["individuals"]})


# --------------------------------------------------------------------------- workbook


def _cells(path, sheet):
    wb = openpyxl.load_workbook(path, data_only=True)
    ws = wb[sheet]
    header = [c.value for c in ws[1]]
    return ws, header


def test_workbook_counts_equal_cells(workbook, workbook_path):
    wbk, report = workbook
    ws, header = _cells(workbook_path, "TRAFFIC_STOP_CNT")
    assert ws["A2"].value == 2002 and header[1] == "Black"
    stops = wbk.stops.set_index(["year", "race"])["stops"]
    n = 0
    for row in ws.iter_rows(min_row=2, values_only=True):
        if row[0] is None:
            continue
        for j, race in enumerate(header[1:7], start=1):
            assert stops[(row[0], race)] == row[j]
            n += 1
    assert n == len(stops) == 23 * 6
    # the provenance figures: 56,044 stops in 2020 and 50,576 in 2021
    assert wbk.stops.groupby("year")["stops"].sum()[2020] == 56044
    assert wbk.stops.groupby("year")["stops"].sum()[2021] == 50576
    assert wbk.partial_years == [2024]
    assert any("2024 (51 stops)" in n for n in report.notes)


def test_workbook_fractions_equal_cells(workbook, workbook_path):
    wbk, _ = workbook
    ws, header = _cells(workbook_path, "SEARCH_RATE")
    assert ws["B2"].value == "1,792 / 39,207"
    sr = wbk.search_rate.set_index(["year", "race"])
    assert tuple(sr.loc[(2002, "Black"), ["searches", "stops"]]) == (1792, 39207)
    for r in range(2, 25):
        for c in range(2, 9):
            v = ws.cell(r, c).value
            if v is None:
                continue
            a, b = (int(x.replace(",", "")) for x in re.findall(r"[\d,]+", v))
            assert tuple(sr.loc[(ws.cell(r, 1).value, header[c - 1]), ["searches", "stops"]]) == (a, b)
    ws, header = _cells(workbook_path, "CONTRABAND_RATE")
    cb = wbk.contraband.set_index(["year", "race"])
    assert ws["B2"].value == "450/1,792"
    assert tuple(cb.loc[(2002, "Black"), ["hits", "searches"]]) == (450, 1792)
    assert ws["C23"].value == "121/277"
    assert tuple(cb.loc[(2023, "White"), ["hits", "searches"]]) == (121, 277)


def test_workbook_keyed_sheets_equal_cells(workbook, workbook_path):
    wbk, _ = workbook
    for sheet, table, value in (
        ("USE_OF_FORCE", wbk.use_of_force, "count"),
        ("STOP_PURPOSE", wbk.stop_purpose, "stops"),
    ):
        ws, header = _cells(workbook_path, sheet)
        t = table.set_index(["year", "purpose", "race"])[value]
        for row in ws.iter_rows(min_row=2, values_only=True):
            for j, race in enumerate(header[2:8], start=2):
                assert t[(row[0], row[1], race)] == row[j]
    ws, _ = _cells(workbook_path, "STOP_CAUSE_RATE")
    sbp = wbk.search_by_purpose.set_index(["year", "purpose", "race"])
    assert ws["B2"].value == "Vehicle Regulatory Violation" and ws["C2"].value == "477/10,327"
    assert tuple(sbp.loc[(2002, "Vehicle Regulatory Violation", "Black"), ["searches", "stops"]]) == (477, 10327)
    ws, _ = _cells(workbook_path, "SEARCH_BY_STOP_TYPE")
    stype = wbk.search_type.set_index(["year", "search_type", "race"])["searches"]
    assert ws["B2"].value == "Consent" and stype[(2002, "Consent", "Black")] == ws["C2"].value == 804


def test_odp_yearly(workbook):
    wbk, _ = workbook
    y = use_of_force.odp_yearly(wbk).set_index(["year", "race"])
    row = y.loc[(2021, "Black")]
    assert (row["stops"], row["searches"], row["hits"]) == (28360, 1232, 596)
    assert row["search_rate"] == pytest.approx(1232 / 28360)
    lo, hi = proportion_confint(596, 1232, method="wilson")
    assert (row["hit_lo"], row["hit_hi"]) == pytest.approx((lo, hi))
    uof_2021_black = wbk.use_of_force.query("year == 2021 and race == 'Black'")["count"].sum()
    assert row["use_of_force"] == uof_2021_black == 25
    assert row["uof_per_10k_stops"] == pytest.approx(25 / 28360 * 1e4)
    assert y.loc[(2021, "All"), "stops"] == 50576
    assert y.loc[(2024, "All"), "partial_year"] and not y.loc[(2023, "All"), "partial_year"]
    assert y.loc[(2021, "Indigenous"), "small_cell"] and not y.loc[(2021, "White"), "small_cell"]


def test_hit_rates_outcome_test(workbook):
    wbk, _ = workbook
    h = use_of_force.hit_rates(wbk, years=(2020, 2021))
    pooled = h[h["unit"] == "2020-2021 pooled"].set_index("group")
    assert tuple(pooled.loc["Black", ["count", "denominator"]]) == (423 + 596, 842 + 1232)
    a, n1, c, n2 = 1019, 2074, 226 + 270, 464 + 608
    rr = (a / n1) / (c / n2)
    assert pooled.loc["Black", "ratio"] == pytest.approx(rr)
    lo, hi = confint_proportions_2indep(a, n1, c, n2, compare="ratio", method="score", correction=False)
    assert (pooled.loc["Black", "ratio_lo"], pooled.loc["Black", "ratio_hi"]) == pytest.approx((lo, hi), rel=1e-8)
    assert pooled.loc["Indigenous", "small_cell"]
    yearly = h[h["unit"] == "2021"].set_index("group")
    lo, hi = proportion_confint(270, 608, method="wilson")
    assert (yearly.loc["White", "lo"], yearly.loc["White", "hi"]) == pytest.approx((lo, hi))
    assert "infra-marginality" in caveats.HIT_RATE_CAVEAT and h.attrs["caveat"] == caveats.HIT_RATE_CAVEAT
    assert "2024" not in set(h["unit"])  # partial year left out by default
    with pytest.raises(ValueDomainError, match="not a race of the state data"):
        use_of_force.hit_rates(wbk, reference="Hispanic")


def test_reconciliation(stops_and_report, workbook):
    stops = stops_and_report[0]
    wbk, _ = workbook
    r = use_of_force.reconcile_counts(stops, wbk).set_index(["year", "group"])
    assert tuple(r.loc[(2020, "All"), ["cmpd_stops", "state_stops"]]) == (62422, 56044)
    assert tuple(r.loc[(2021, "All"), ["cmpd_stops", "state_stops"]]) == (77102, 50576)
    assert r.loc[(2021, "All"), "difference"] == 77102 - 50576
    hisp_2020 = int(((stops["year"] == 2020) & (stops["driver_group"] == "Hispanic")).sum())
    assert r.loc[(2020, "Latinx"), "cmpd_stops"] == hisp_2020
    assert r.loc[(2020, "Latinx"), "state_stops"] == 7259
    assert r.xs(2021, level="year").drop("All")["cmpd_stops"].sum() == 77102
    assert "count differently" in caveats.RECONCILIATION_NOTE


# --------------------------------------------------------------------------- parser and bad input


def test_parse_fraction_examples():
    assert odp.parse_fraction("1,792 / 39,207") == (1792, 39207)
    assert odp.parse_fraction("477/10,327") == (477, 10327)
    assert odp.parse_fraction("0 / 0") == (0, 0)
    for bad in ("", "12", "1,2,3 / 4", "5 / 4", "a / b", "1/2/3", None, 3.5, "1,23 / 400"):
        with pytest.raises(ValueDomainError):
            odp.parse_fraction(bad)


@given(
    a=st.integers(min_value=0, max_value=10**7),
    extra=st.integers(min_value=0, max_value=10**7),
    commas=st.booleans(),
    left=st.sampled_from(["", " ", "  "]),
    mid=st.sampled_from(["/", " / ", "/ ", " /"]),
)
def test_parse_fraction_round_trip(a, extra, commas, left, mid):
    b = a + extra
    fmt = "{:,}" if commas else "{}"
    assert odp.parse_fraction(f"{left}{fmt.format(a)}{mid}{fmt.format(b)}") == (a, b)


@given(text=st.text(max_size=12))
def test_parse_fraction_never_crashes(text):
    try:
        a, b = odp.parse_fraction(text)
    except ValueDomainError:
        return
    assert 0 <= a <= b


def test_bad_workbooks(tmp_path, workbook_path):
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    with pytest.raises(DataFileError, match="empty"):
        odp.load_odp_workbook(empty)
    text = tmp_path / "text.xlsx"
    text.write_text("Year,Black\n2020,1\n")
    with pytest.raises(DataFileError, match="cannot be read as an Excel workbook"):
        odp.load_odp_workbook(text)
    with pytest.raises(DataFileError, match="not found"):
        odp.load_odp_workbook(tmp_path / "missing.xlsx")

    bad = tmp_path / "bad.xlsx"
    shutil.copy(workbook_path, bad)
    wb = openpyxl.load_workbook(bad)
    wb["SEARCH_RATE"]["C3"] = "lots / many"
    wb["TRAFFIC_STOP_CNT"]["B4"] = -5
    wb.save(bad)
    with pytest.raises(
        ValueDomainError,
        match=r"(?s)2 problem\(s\).*sheet TRAFFIC_STOP_CNT: 1 bad cell\(s\): TRAFFIC_STOP_CNT!B4 = -5 \(not a count\)"
        r".*sheet SEARCH_RATE: 1 bad cell\(s\): SEARCH_RATE!C3 = 'lots / many'",
    ):
        odp.load_odp_workbook(bad)

    nosheet = tmp_path / "nosheet.xlsx"
    shutil.copy(workbook_path, nosheet)
    wb = openpyxl.load_workbook(nosheet)
    del wb["USE_OF_FORCE"]
    wb.save(nosheet)
    with pytest.raises(SchemaError, match="missing sheet.*USE_OF_FORCE"):
        odp.load_odp_workbook(nosheet)

    nocol = tmp_path / "nocol.xlsx"
    shutil.copy(workbook_path, nocol)
    wb = openpyxl.load_workbook(nocol)
    wb["SEARCH_CNT"]["C1"] = "Caucasian"
    wb.save(nocol)
    with pytest.raises(SchemaError, match="sheet SEARCH_CNT: missing column.*White"):
        odp.load_odp_workbook(nocol)


def test_poisson_interval_matches_scipy():
    lo, hi = proportions.poisson_interval(np.array([0, 3]))
    assert lo[0] == 0 and hi[0] == pytest.approx(stats.chi2.ppf(0.975, 2) / 2)
    assert lo[1] == pytest.approx(stats.chi2.ppf(0.025, 6) / 2)


def test_per_population_is_missing_without_residents():
    rate, lo, hi = proportions.per_population(np.array([3, 3, 3, 0]), np.array([2000.0, np.nan, 0.0, 1000.0]), per=1000)
    assert rate[0] == pytest.approx(1.5) and np.isnan(rate[1:3]).all() and rate[3] == 0
    assert lo[0] == pytest.approx(stats.chi2.ppf(0.025, 6) / 2 / 2) and hi[0] == pytest.approx(
        stats.chi2.ppf(0.975, 8) / 2 / 2
    )
    assert np.isnan(lo[1:3]).all() and np.isnan(hi[1:3]).all() and lo[3] == 0


def test_ois_population_column_and_missing_units(ois, divisions):
    pop = pd.DataFrame({"pop_2020": 100000.0}, index=divisions["division"])
    with pytest.raises(SchemaError, match=r"population table has no column 'pop_2010'; columns: pop_2020"):
        use_of_force.ois_summary(ois, divisions, id_column="division", population=pop, pop_column="pop_2010")
    res = use_of_force.ois_summary(
        ois, divisions, id_column="division", population=pop["pop_2020"].drop("Metro Division")
    )
    t = res.totals.set_index("unit")
    assert np.isnan(t.loc["Metro Division", "per_100k"]) and np.isnan(t.loc["Metro Division", "lo"])
    assert t.loc["Central Division", "residents"] == 100000.0
    assert "no population for 1 unit(s): 'Metro Division'" in res.notes


def test_ois_caveat_counts_the_table(ois, divisions):
    # the caveat once said "76 incidents": the loader reads 76 rows and keeps 75 (one set aside)
    s = use_of_force.ois_summary(ois, divisions, id_column="division")
    n = int(s.totals["incidents"].sum())
    assert n == len(ois) == 75
    first, last = int(s.totals["first_year"].iloc[0]), int(s.totals["last_year"].iloc[0])
    text = caveats.ois_caveat(n, first, last)
    assert f"({n} incidents in {first}-{last})" in text and "76" not in text
    assert (first, last) == (int(ois["year"].min()), int(ois["year"].max()))
