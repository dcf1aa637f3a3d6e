"""Loaders: the real data accounted for row by row, and every kind of bad input."""

from __future__ import annotations

import csv
import gzip
import io
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from geo import vocab
from geo.errors import CRSError, DataFileError, EmptyInputError, GeometryError, SchemaError, ValueDomainError
from geo.ingest import boundaries, npa_metrics, points, sources
from geo.ingest.stops import load_stops

# ----------------------------------------------------------------------- real stops


def _raw_stops(settings):
    path = sources.resolve("stops", settings.data_dir)
    with gzip.open(path, "rt", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def test_real_stops_every_row_accounted(stops_and_report, settings):
    stops, report = stops_and_report
    raw = _raw_stops(settings)
    assert report.rows_read == len(raw) == 139_524
    assert len(stops) == 139_524 and report.rows_set_aside == 0
    assert (~stops["division_recorded"]).sum() == 4_012
    assert (stops["division"] == vocab.NO_DIVISION).sum() == 4_012
    assert stops["division_recorded"].sum() == 135_512
    kept = [i for i in report.issues if i.action == "kept"]
    assert kept[0].count == 4_012
    # blank-division rows are exactly the raw blanks
    blank_rows = [i + 1 for i, r in enumerate(raw) if r["CMPD_Division"].strip() == ""]
    assert kept[0].rows == blank_rows


def test_real_stops_values_match_raw(stops_and_report, settings):
    stops, report = stops_and_report
    raw = _raw_stops(settings)
    # strings stripped, months parsed, counts per category equal the raw counts
    reasons = pd.Series([r["Reason_for_Stop"].strip() for r in raw]).value_counts()
    assert stops["reason"].value_counts()[reasons.index].tolist() == reasons.tolist()
    assert stops["month"].min() == pd.Timestamp("2020-01-01")
    assert stops["month"].max() == pd.Timestamp("2021-12-01")
    assert (stops["year"] == 2020).sum() == 62_422 and (stops["year"] == 2021).sum() == 77_102
    assert int(stops["searched"].sum()) == sum(r["Was_a_Search_Conducted"] == "Yes" for r in raw)
    ages = np.array([int(r["Driver_Age"]) for r in raw])
    flagged = (ages < 15) | (ages > 100)
    assert stops["age_flagged"].sum() == flagged.sum()
    assert (stops.loc[stops["age_flagged"], "age_band"] == vocab.AGE_FLAGGED).all()
    hisp = np.array([r["Driver_Ethnicity"] == "Hispanic" for r in raw])
    assert (stops["driver_group"] == "Hispanic").sum() == hisp.sum()
    assert set(stops["division"].cat.categories) == {*vocab.DIVISIONS.values(), vocab.NO_DIVISION}


# ----------------------------------------------------------------------- bad stops


def test_missing_column(stops_csv):
    p = stops_csv([{}], drop=("Driver_Age",))
    with pytest.raises(SchemaError, match=r"stops\.csv: the stops table is missing column\(s\) Driver_Age"):
        load_stops(p)


def test_unknown_division_names_rows(stops_csv):
    p = stops_csv([{}, {"CMPD_Division": "Gotham Division"}, {}, {"CMPD_Division": "Gotham Division"}])
    with pytest.raises(
        ValueDomainError, match=r"CMPD_Division: 2 unknown division name\(s\) \('Gotham Division'\) at rows 2, 4"
    ):
        load_stops(p)


def test_unparseable_month(stops_csv):
    p = stops_csv([{}, {}, {"Month_of_Stop": "Jan 2020"}])
    with pytest.raises(
        ValueDomainError, match=r"(?s)stops\.csv.*column Month_of_Stop: 1 value\(s\) not a month.*'Jan 2020'.*row 3"
    ):
        load_stops(p)


def test_month_13_is_rejected(stops_csv):
    with pytest.raises(ValueDomainError, match="Month_of_Stop"):
        load_stops(stops_csv([{"Month_of_Stop": "2020/13"}]))


def test_non_numeric_age(stops_csv):
    p = stops_csv([{"Driver_Age": "thirty"}, {}])
    with pytest.raises(ValueDomainError, match=r"Driver_Age: 1 non-numeric age\(s\) \('thirty'\) at row 1"):
        load_stops(p)


def test_all_problems_in_one_message(stops_csv):
    p = stops_csv([{"Driver_Age": "x"}, {"Month_of_Stop": "bad"}, {"CMPD_Division": "Nowhere"}])
    with pytest.raises(ValueDomainError) as exc:
        load_stops(p)
    msg = str(exc.value)
    assert "3 problem(s)" in msg and "Driver_Age" in msg and "Month_of_Stop" in msg and "Nowhere" in msg


def test_set_aside_mode_reports_reasons(stops_csv):
    p = stops_csv([{}, {"Driver_Age": "x"}, {"CMPD_Division": "Nowhere"}, {}])
    stops, report = load_stops(p, on_error="set_aside")
    assert stops["row"].tolist() == [1, 4]
    assert report.rows_read == 4 and report.rows_set_aside == 2 and report.rows_kept == 2
    reasons = {i.column: i.rows for i in report.issues if i.action == "set_aside"}
    assert reasons == {"Driver_Age": [2], "CMPD_Division": [3]}


def test_unknown_categories_kept_as_other(stops_csv):
    p = stops_csv([{"Driver_Race": "Martian", "Result_of_Stop": "Hug"}, {}])
    stops, report = load_stops(p)
    assert stops["driver_race"].tolist() == ["Other/Unknown", "Black"]
    assert stops["result"].tolist()[0] == "Other/Unknown"
    repaired = {i.column: i for i in report.issues if i.action == "repaired"}
    assert repaired["Driver_Race"].rows == [1] and "'Martian'" in repaired["Driver_Race"].reason
    assert repaired["Result_of_Stop"].rows == [1]


def test_blank_age_and_years_flagged_not_dropped(stops_csv):
    p = stops_csv([{"Driver_Age": "", "Officer_Years_of_Service": ""}, {"Driver_Age": "12"}])
    stops, report = load_stops(p)
    assert len(stops) == 2
    assert stops["age_band"].tolist() == [vocab.AGE_MISSING, vocab.AGE_FLAGGED]
    assert stops["officer_years_band"].tolist()[0] == vocab.AGE_MISSING
    assert report.rows_flagged == 2


def test_empty_file(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_bytes(b"")
    with pytest.raises(DataFileError, match=r"empty\.csv: the file is empty"):
        load_stops(p)


def test_header_only(stops_csv):
    with pytest.raises(EmptyInputError, match="no data rows"):
        load_stops(stops_csv([]))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary file"),
        (b'{"type": "FeatureCollection"}', "looks like JSON"),
        (b"just one column\nvalue\n", "1 column"),
    ],
)
def test_not_a_csv(tmp_path, content, match):
    p = tmp_path / "stops.csv"
    p.write_bytes(content)
    with pytest.raises(DataFileError, match=match):
        load_stops(p)


def test_bad_gzip(tmp_path):
    p = tmp_path / "stops.csv.gz"
    p.write_bytes(b"not gzip at all")
    with pytest.raises(DataFileError, match="cannot be read as gzip"):
        load_stops(p)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(month=st.text(alphabet="0123456789/-aJ ", max_size=9), age=st.text(alphabet="0123456789.-x", max_size=4))
def test_parser_never_crashes(stops_csv, month, age):
    p = stops_csv([{"Month_of_Stop": month, "Driver_Age": age}, {}])
    try:
        stops, _ = load_stops(p)
    except ValueDomainError as exc:
        assert "Month_of_Stop" in str(exc) or "Driver_Age" in str(exc)
    else:
        assert len(stops) == 2
        assert stops["month"].notna().all()


# ------------------------------------------- the fast loader against a row-by-row reference

# The loader parses each distinct value once and reads unquoted CSVs with pyarrow; this is the
# loader as it was before (every row parsed, pandas' reader), kept here as the reference its frame
# and report must equal, value for value and row number for row number.


def _ref_read(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as fh:
        df = pd.read_csv(fh, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8-sig")
    df.columns = [str(c).replace("\ufeff", "").strip() for c in df.columns]
    return df


def _ref_number(text, *, nonnegative):
    num = pd.to_numeric(text.replace("", np.nan), errors="coerce")
    bad = (num.isna() & (text != "")) | (num.notna() & ((num % 1) != 0))
    if nonnegative:
        bad |= num.notna() & (num < 0)
    return num, bad.to_numpy()


def _ref_band(values, bins, labels, extra):
    out = pd.cut(values.astype("float"), bins=bins, right=False, labels=list(labels)).astype(object)
    return out, [*labels, *extra]


def _ref_assemble(raw, text, rownum, parsed, keep, report):
    """The clean frame of the old loader, every column built from every row."""
    from geo.errors import quote_values

    year, mon, age, bad_age, years, bad_years, blank, unknown = parsed

    def category(column):
        cats = vocab.STOP_CATEGORIES[column]
        bad = (~text[column].isin(cats)).to_numpy()
        if bad.any():
            shown = quote_values(pd.unique(raw.loc[bad, column]))
            why = f"value(s) outside the known categories ({shown}) kept as '{vocab.OTHER}'"
            report.add("repaired", column, why, rownum[bad])
        allowed = list(cats) if vocab.OTHER in cats else [*cats, vocab.OTHER]
        return pd.Categorical(text[column].where(~bad, vocab.OTHER), categories=allowed)

    out = pd.DataFrame({"row": rownum})
    out["objectid"] = pd.to_numeric(text["OBJECTID"], errors="coerce").astype("Int64")
    parts = {"year": year.fillna(2000), "month": mon.clip(1, 12).fillna(1), "day": 1}
    out["month"] = pd.to_datetime(parts, errors="coerce").astype("datetime64[ns]")
    out["year"] = year.astype("Int64")
    out["reason"] = category("Reason_for_Stop")
    out["officer_race"] = category("Officer_Race")
    out["officer_gender"] = category("Officer_Gender")
    yrs = years.where(~bad_years).astype("Int64")
    missing = yrs.isna().to_numpy() & ~bad_years
    report.add(
        "flagged", "Officer_Years_of_Service", "years of service missing (kept; band 'Unknown')", rownum[missing]
    )
    out["officer_years"] = yrs
    band, cats = _ref_band(yrs, [0, 5, 10, 15, 20, np.inf], vocab.YEARS_BANDS, [vocab.AGE_MISSING])
    band[yrs.isna().to_numpy()] = vocab.AGE_MISSING
    out["officer_years_band"] = pd.Categorical(band, categories=cats)
    out["driver_race"] = category("Driver_Race")
    out["driver_ethnicity"] = category("Driver_Ethnicity")
    hispanic = (out["driver_ethnicity"] == "Hispanic").to_numpy()
    group = np.where(hispanic, "Hispanic", out["driver_race"].astype(str))
    out["driver_group"] = pd.Categorical(group, categories=list(vocab.DRIVER_GROUPS))
    out["driver_gender"] = category("Driver_Gender")
    a = age.where(~bad_age).astype("Int64")
    flagged = ((a < vocab.AGE_MIN) | (a > vocab.AGE_MAX)).fillna(False).to_numpy(dtype=bool)
    limits = f"{vocab.AGE_MIN}-{vocab.AGE_MAX}"
    report.add("flagged", "Driver_Age", f"age outside {limits} (kept; age_flagged=True)", rownum[flagged])
    report.add("flagged", "Driver_Age", "age missing (kept; band 'Unknown')", rownum[a.isna().to_numpy() & ~bad_age])
    out["driver_age"], out["age_flagged"] = a, flagged
    band, cats = _ref_band(
        a, [*vocab.AGE_EDGES, vocab.AGE_MAX + 1], vocab.AGE_BANDS, [vocab.AGE_FLAGGED, vocab.AGE_MISSING]
    )
    band[flagged] = vocab.AGE_FLAGGED
    band[a.isna().to_numpy()] = vocab.AGE_MISSING
    out["age_band"] = pd.Categorical(band, categories=cats)
    answer = text["Was_a_Search_Conducted"].str.lower()
    unclear = ~answer.isin(["yes", "no"]).to_numpy()
    why = "not Yes/No (kept; searched unknown, left out of search rates)"
    report.add("flagged", "Was_a_Search_Conducted", why, rownum[unclear])
    out["searched"] = pd.array(np.where(unclear, None, answer == "yes"), dtype="boolean")
    out["result"] = category("Result_of_Stop")
    out["division"] = pd.Categorical(
        text["CMPD_Division"].where(~(blank | unknown), vocab.NO_DIVISION),
        categories=[*vocab.DIVISIONS.values(), vocab.NO_DIVISION],
    )
    why = f"division blank (kept under '{vocab.NO_DIVISION}')"
    report.add("kept", "CMPD_Division", why, rownum[blank & keep])
    out["division_recorded"] = ~blank
    return out


def _ref_load(path, on_error):
    """The old loader: read with pandas, parse every row, set aside, assemble."""
    from geo.errors import first_rows, quote_values
    from geo.ingest.report import LoadReport

    raw = _ref_read(path)
    report = LoadReport("stops", str(path), rows_read=len(raw))
    text = raw.apply(lambda c: c.str.strip())
    rownum = np.arange(1, len(raw) + 1)
    m = text["Month_of_Stop"].str.extract(r"^(\d{4})[/-](\d{1,2})$")
    year, mon = pd.to_numeric(m[0], errors="coerce"), pd.to_numeric(m[1], errors="coerce")
    bad_month = (year.isna() | mon.isna() | (mon < 1) | (mon > 12) | (year < 1990) | (year > 2100)).to_numpy()
    age, bad_age = _ref_number(text["Driver_Age"], nonnegative=False)
    years, bad_years = _ref_number(text["Officer_Years_of_Service"], nonnegative=True)
    div = text["CMPD_Division"]
    blank = (div == "").to_numpy()
    unknown = (~div.isin(list(vocab.DIVISIONS.values())) & ~pd.Series(blank)).to_numpy()
    problems = []
    for col, mask, what, reason, allowed in (
        ("Month_of_Stop", bad_month, "value(s) not a month in YYYY/MM form", None, ""),
        ("Driver_Age", bad_age, "non-numeric age(s)", None, ""),
        ("Officer_Years_of_Service", bad_years, "non-numeric or negative years of service", None, ""),
        ("CMPD_Division", unknown, "unknown division name(s)", "unknown division name",
         f"; allowed: {', '.join(vocab.DIVISIONS.values())} or blank"),
    ):  # fmt: skip
        if mask.any():
            values = quote_values(pd.unique(raw.loc[mask, col]))
            msg = f"column {col}: {mask.sum():,} {what} ({values}) at {first_rows(rownum[mask])}{allowed}"
            problems.append((col, reason or what, msg, mask))
    if problems and on_error == "raise":
        lines = "\n  - ".join(p[2] for p in problems)
        raise ValueDomainError(f"{path}: {len(problems)} problem(s) in the stops table:\n  - {lines}")
    keep = np.ones(len(raw), dtype=bool)
    for col, reason, _, mask in problems:
        report.add("set_aside", col, reason, rownum[mask])
        keep &= ~mask

    out = _ref_assemble(raw, text, rownum, (year, mon, age, bad_age, years, bad_years, blank, unknown), keep, report)
    stops = out.loc[keep].reset_index(drop=True)
    report.notes.append(
        f"months {stops['month'].min():%Y-%m} to {stops['month'].max():%Y-%m}; "
        f"{int(stops['division_recorded'].sum()):,} stops with a division, "
        f"{int((~stops['division_recorded']).sum()):,} without"
    )
    return stops, report


def _assert_same_load(got, want):
    (stops, report), (ref_stops, ref_report) = got, want
    pd.testing.assert_frame_equal(stops, ref_stops, check_exact=True)
    for c in stops.select_dtypes("category"):
        assert stops[c].dtype == ref_stops[c].dtype, c  # the same categories, in the same order
    assert report == ref_report  # every issue: action, column, reason (values shown), rows; the notes


#: One row per kind of value the loader parses, repairs, flags or sets aside (over a valid default row).
_EVERY_KIND = [
    {},
    {"Month_of_Stop": "Jan 2020"},
    {"Month_of_Stop": "2020/13"},
    {"Month_of_Stop": "1989/05"},
    {"Month_of_Stop": "2020-3"},
    {"Month_of_Stop": " 2021/04 "},
    {"Month_of_Stop": ""},
    {"Month_of_Stop": "2020/00"},
    {"Driver_Age": "thirty"},
    {"Driver_Age": "12"},
    {"Driver_Age": "101"},
    {"Driver_Age": ""},
    {"Driver_Age": " 45 "},
    {"Driver_Age": "30.5"},
    {"Driver_Age": "-3"},
    {"Driver_Age": "1e1"},
    {"Driver_Age": "40.0"},
    {"Officer_Years_of_Service": "-1"},
    {"Officer_Years_of_Service": ""},
    {"Officer_Years_of_Service": "x"},
    {"Officer_Years_of_Service": "2.5"},
    {"Officer_Years_of_Service": " 7"},
    {"Officer_Years_of_Service": "25"},
    {"CMPD_Division": "Gotham Division"},
    {"CMPD_Division": ""},
    {"CMPD_Division": "  "},
    {"CMPD_Division": " Central Division "},
    {"Driver_Race": "Martian", "Result_of_Stop": "Hug"},
    {"Driver_Race": "Martian "},
    {"Driver_Race": "White", "Driver_Ethnicity": "Hispanic"},
    {"Driver_Race": "Martian", "Driver_Ethnicity": "Hispanic"},
    {"Driver_Ethnicity": "Latino"},
    {"Officer_Race": "", "Officer_Gender": "X", "Driver_Gender": "  Female"},
    {"Reason_for_Stop": "Vehicle Regulatory"},
    {"Reason_for_Stop": "Joyriding"},
    {"Was_a_Search_Conducted": "YES"},
    {"Was_a_Search_Conducted": "maybe"},
    {"Was_a_Search_Conducted": ""},
    {"Was_a_Search_Conducted": " no "},
    {"OBJECTID": "abc"},
    {"OBJECTID": ""},
    {"OBJECTID": " 12 "},
    {"OBJECTID": "7.0"},
    {},
]


@pytest.mark.parametrize("kind", ["plain", "quoted", "gzip", "short row"])
def test_fast_loader_equals_the_row_by_row_reference_on_every_kind_of_value(stops_csv, kind):
    """Bad months, ages, years, divisions, blanks, unknown categories, padded values: frame, report, message."""
    rows = [*_EVERY_KIND, *_EVERY_KIND[::-1]]  # every value twice, in two orders (first-seen order in messages)
    if kind == "quoted":  # a quote anywhere: pandas reads the file (pyarrow only reads files without quotes)
        rows = [*rows, {"Reason_for_Stop": '"Speeding"'}]
    p = stops_csv(rows)
    if kind == "gzip":
        gz = p.with_name("stops.csv.gz")
        gz.write_bytes(gzip.compress(p.read_bytes()))
        p = gz
    elif kind == "short row":  # a row with fewer values than the header: pandas reads the file
        p.write_text(p.read_text(encoding="utf-8") + "99,2020/05,Speeding\n", encoding="utf-8")
    _assert_same_load(load_stops(p, on_error="set_aside"), _ref_load(p, "set_aside"))
    with pytest.raises(ValueDomainError) as got:
        load_stops(p)
    with pytest.raises(ValueDomainError) as want:
        _ref_load(p, "raise")
    assert str(got.value) == str(want.value) and str(got.value).count("\n  - ") == 4


def test_fast_loader_equals_the_reference_on_a_clean_file(stops_csv):
    p = stops_csv([{}, {"Driver_Race": "Asian", "Month_of_Stop": "2021/11"}, {"CMPD_Division": ""}])
    _assert_same_load(load_stops(p), _ref_load(p, "raise"))


def test_fast_loader_equals_the_reference_on_the_real_stops(settings):
    path = sources.resolve("stops", settings.data_dir)
    _assert_same_load(load_stops(path), _ref_load(path, "raise"))


@pytest.mark.parametrize(
    "content",
    [
        b"a,b\n1,2\n3,4\n",
        b"\xef\xbb\xbfa, b \r\n1 , 2\r\n\r\n3,\r\n",
        b"a,b\r1,2\r3,4\r",
        b"a,b\n" + b"1,2\n" * 20_000 + b"1,x\x00y\n\n\n,\n",  # a NUL byte past the sniffed start
        b"a,b\n1,\xef\xbb\xbf2\n#c,d\n  ,  \n",
        b"a,b\n",
        b"a,b\n1,2\n \n3,4\n",  # a blank-looking row of one value: pandas
        b"a,b\n1\n2,3\n",  # a short row: pandas
        b'a,b\n"1,5",2\n',  # quoted: pandas
        b"a,b,\n1,2,3\n",  # a blank header cell: pandas
    ],
    ids=[
        "plain",
        "bom-crlf-blank",
        "cr",
        "nul",
        "bom-in-value",
        "header-only",
        "space-row",
        "short",
        "quoted",
        "blank-name",
    ],
)
@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_read_table_equals_pandas_read_csv(tmp_path, content, suffix):
    """Every value as text, as ``pandas.read_csv(dtype=str, keep_default_na=False)`` reads it."""
    from geo.ingest.files import read_table

    p = tmp_path / f"t{suffix}"
    p.write_bytes(gzip.compress(content) if suffix.endswith(".gz") else content)
    want = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8-sig")
    want.columns = [str(c).replace("\ufeff", "").strip() for c in want.columns]
    pd.testing.assert_frame_equal(read_table(p), want, check_exact=True)


def test_an_unquoted_csv_is_read_by_pyarrow_a_quoted_or_large_gzip_one_as_pandas_reads_it(tmp_path, monkeypatch):
    """The fast path is taken (pandas' reader is not called) and gives pandas' frame, also streaming a gzip."""
    from geo.ingest import files

    real = pd.read_csv
    want = real(io.BytesIO(b"a,b\n1,2\n3,\n"), dtype=str, keep_default_na=False)
    calls = []
    monkeypatch.setattr(pd, "read_csv", lambda *a, **k: calls.append(a) or real(*a, **k))  # files imports it late
    monkeypatch.setattr(files, "_KEEP", 8)  # the gzip is not kept by the counting pass: streamed again
    for name, content in (("t.csv", b"a,b\n1,2\n3,\n"), ("t.csv.gz", gzip.compress(b"a,b\n1,2\n3,\n"))):
        (tmp_path / name).write_bytes(content)
        pd.testing.assert_frame_equal(files.read_table(tmp_path / name), want, check_exact=True)
    assert calls == []
    (tmp_path / "q.csv").write_bytes(b'a,b\n"1",2\n3,\n')
    pd.testing.assert_frame_equal(files.read_table(tmp_path / "q.csv"), want, check_exact=True)
    assert len(calls) == 1


# ----------------------------------------------------------------------- divisions


def test_divisions_auto_picks_2019_and_repairs(settings):
    d, report = boundaries.load_divisions(settings=settings)
    assert report.source.endswith("CMPD_Police_Divisions_2019.shp")
    assert len(d) == 14 and report.rows_read == 15
    assert set(d["division"]) == set(vocab.DIVISIONS.values())
    assert d.geometry.is_valid.all()
    assert set(d.geom_type) <= {"Polygon", "MultiPolygon"}
    assert d.crs.to_epsg() == 2264
    reasons = " ".join(i.reason for i in report.issues)
    assert "Steele Creek" in reasons and "Airport Division (2 parts)" in reasons
    # area about 410 sq mi in total (PROVENANCE)
    assert 400 < d["area_sqmi"].sum() < 420


def test_divisions_2025(settings):
    d, _ = boundaries.load_divisions(vintage=2025, settings=settings)
    assert len(d) == 14 and d.geometry.is_valid.all()
    south = d.set_index("division").loc["South Division", "area_sqmi"]
    assert south == pytest.approx(56.23, abs=0.05)


def _write_geojson(path, features):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _square(x0, y0, s=0.01):
    return [[[x0, y0], [x0 + s, y0], [x0 + s, y0 + s], [x0, y0 + s], [x0, y0]]]


def test_divisions_no_crs(tmp_path):
    g = gpd.GeoDataFrame({"DNAME": ["Central Division"]}, geometry=[shapely.box(0, 0, 1, 1)])
    p = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="crs"):
        g.to_file(p)
    with pytest.raises(CRSError, match=r"nocrs\.shp: the division boundary layer has no CRS"):
        boundaries.load_divisions(p)


def test_divisions_no_features(tmp_path):
    p = _write_geojson(tmp_path / "empty.geojson", [])
    with pytest.raises(EmptyInputError, match=r"empty\.geojson: the division boundary layer has no features"):
        boundaries.load_divisions(p)


def test_divisions_bowtie_repaired(tmp_path):
    bowtie = [[[-80.8, 35.2], [-80.7, 35.3], [-80.7, 35.2], [-80.8, 35.3], [-80.8, 35.2]]]
    p = _write_geojson(
        tmp_path / "bow.geojson",
        [
            {
                "type": "Feature",
                "properties": {"DNAME": "Metro Division"},
                "geometry": {"type": "Polygon", "coordinates": bowtie},
            }
        ],
    )
    d, report = boundaries.load_divisions(p)
    assert d.geometry.is_valid.all() and d.geom_type.iloc[0] in ("Polygon", "MultiPolygon")
    assert report.rows_repaired == 1 and "Self-intersection" in report.issues[0].reason


def test_divisions_null_geometry(tmp_path):
    p = _write_geojson(
        tmp_path / "null.geojson",
        [
            {
                "type": "Feature",
                "properties": {"DNAME": "Metro Division"},
                "geometry": {"type": "Polygon", "coordinates": _square(-80.8, 35.2)},
            },
            {"type": "Feature", "properties": {"DNAME": "North Division"}, "geometry": None},
        ],
    )
    with pytest.raises(
        GeometryError,
        match=r"null\.geojson: column geometry: 1 feature\(s\) have no geometry \('North Division'\) at row 2",
    ):
        boundaries.load_divisions(p)


def test_divisions_unknown_name(tmp_path):
    p = _write_geojson(
        tmp_path / "names.geojson",
        [
            {
                "type": "Feature",
                "properties": {"DNAME": "Gotham"},
                "geometry": {"type": "Polygon", "coordinates": _square(-80.8, 35.2)},
            }
        ],
    )
    with pytest.raises(ValueDomainError, match=r"column DNAME: unknown division name\(s\) 'Gotham' at row 1"):
        boundaries.load_divisions(p)


def test_divisions_missing_column(tmp_path):
    p = _write_geojson(
        tmp_path / "cols.geojson",
        [
            {
                "type": "Feature",
                "properties": {"NAME": "x"},
                "geometry": {"type": "Polygon", "coordinates": _square(-80.8, 35.2)},
            }
        ],
    )
    with pytest.raises(SchemaError, match=r"missing column\(s\) DNAME"):
        boundaries.load_divisions(p)


def test_divisions_not_a_layer(tmp_path):
    p = tmp_path / "junk.geojson"
    p.write_text("this is not geojson")
    with pytest.raises(DataFileError, match=r"junk\.geojson: cannot be read as a division boundary layer"):
        boundaries.load_divisions(p)


def test_points_not_polygons(tmp_path):
    p = _write_geojson(
        tmp_path / "pts.geojson",
        [
            {
                "type": "Feature",
                "properties": {"DNAME": "Metro Division"},
                "geometry": {"type": "Point", "coordinates": [-80.8, 35.2]},
            }
        ],
    )
    with pytest.raises(GeometryError, match=r"not polygons \('Point'\)"):
        boundaries.load_divisions(p)


# ----------------------------------------------------------------------- NPAs


def test_npa_repaired_and_complete(settings):
    n, report = boundaries.load_npa(settings=settings)
    assert len(n) == 459 and n["npa"].is_unique
    assert n.geometry.is_valid.all() and set(n.geom_type) <= {"Polygon", "MultiPolygon"}
    assert report.rows_repaired == 1 and "NPA 138" in report.issues[0].reason


def test_npa_duplicate_ids(tmp_path):
    f = {
        "type": "Feature",
        "properties": {"id": "7"},
        "geometry": {"type": "Polygon", "coordinates": _square(-80.8, 35.2)},
    }
    p = _write_geojson(tmp_path / "dup.geojson", [f, f])
    with pytest.raises(ValueDomainError, match=r"duplicate NPA id\(s\) 7 at rows 1, 2"):
        boundaries.load_npa(p)


def test_npa_metrics_tidy(settings):
    n, _ = boundaries.load_npa(settings=settings)
    m, report = npa_metrics.load_npa_metrics(npa_ids=n["npa"].tolist(), settings=settings)
    assert set(m.columns) == {"npa", "year", "measure", "value", "source", "derived"}
    pop = m[(m.measure == "population") & (m.year == 2020)]
    assert pop["value"].sum() == 1_115_476
    assert len(pop) == 459
    set_aside = [i for i in report.issues if i.action == "set_aside"]
    assert {i.file for i in set_aside} == {"r14.csv", "r60.csv", "d60.csv"}
    assert all("384" in i.reason for i in set_aside)
    assert report.rows_set_aside == 3
    assert 384 not in set(m["npa"])


def test_npa_metrics_blank_white_count_of_npa_380_is_derived(settings):
    n, _ = boundaries.load_npa(settings=settings)
    m, report = npa_metrics.load_npa_metrics(npa_ids=n["npa"].tolist(), settings=settings)
    cell = m[(m.npa == 380) & (m.year == 2020) & (m.measure == "white_nh")].iloc[0]
    # r14 is blank for NPA 380; r47 = 5,960 and r15-r18 = 293 + 454 + 297 + 285 = 1,329
    assert cell["value"] == 5960 - 1329 == 4631 and cell["derived"]
    assert not m.loc[(m.npa == 380) & (m.measure == "black_nh"), "derived"].any()
    issue = next(i for i in report.issues if i.file == "r14.csv" and i.column == "y_2020")
    assert issue.action == "repaired" and "NPA 380 = 4,631" in issue.reason
    assert 372 in issue.rows  # NPA 380 is data row 372 of r14.csv
    # a blank is never zero-filled silently: crime blanks are kept missing and reported per file
    r58 = next(i for i in report.issues if i.file == "r58.csv")
    assert r58.action == "flagged" and "y_2022: 86" in r58.reason
    assert m[(m.source == "r58") & (m.year == 2022)]["value"].isna().sum() == 86


def _metric_csv(path, rows):
    path.write_text("id,y_2020\n" + "\n".join(f"{i},{v}" for i, v in rows) + "\n", encoding="utf-8")
    return path


def test_npa_metrics_blank_race_counts_derived_or_flagged(tmp_path):
    # NPA: population; white, black, asian, other, hispanic ("" = blank)
    table = {
        1: ("100", "", "20", "5", "5", "10"),  # one blank: 100 - 40 = 60
        2: ("100", "", "", "5", "5", "10"),  # two blanks share 80: kept missing
        3: ("0", "", "", "", "", ""),  # no residents: every group is 0
        4: ("", "", "1", "1", "1", "1"),  # population blank: kept missing
        5: ("10", "", "8", "2", "1", "1"),  # others exceed the population: clipped at 0
        6: ("50", "10", "10", "10", "10", "10"),  # complete: untouched
    }
    codes = ("r47", "r14", "r15", "r16", "r17", "r18")
    files = {c: _metric_csv(tmp_path / f"{c}.csv", [(i, v[k]) for i, v in table.items()]) for k, c in enumerate(codes)}
    m, report = npa_metrics.load_npa_metrics(files=files)
    v = m[m.measure == "white_nh"].set_index("npa")
    assert v.loc[1, "value"] == 60 and v.loc[3, "value"] == 0 and v.loc[5, "value"] == 0 and v.loc[6, "value"] == 10
    assert np.isnan(v.loc[2, "value"]) and np.isnan(v.loc[4, "value"])
    assert v["derived"].to_dict() == {1: True, 2: False, 3: True, 4: False, 5: True, 6: False}
    black = m[m.measure == "black_nh"].set_index("npa")
    assert np.isnan(black.loc[2, "value"]) and black.loc[3, "value"] == 0 and black.loc[3, "derived"]
    by = {(i.file, i.action): i for i in report.issues}
    derived = by[("r14.csv", "repaired")]
    assert derived.rows == [1, 3, 5] and "NPA 1 = 60" in derived.reason and "NPA 5 = 0" in derived.reason
    kept = by[("r14.csv", "flagged")]
    assert kept.rows == [2, 4] and "share 80 resident(s)" in kept.reason and "population is blank" in kept.reason
    assert by[("r15.csv", "flagged")].rows == [2] and by[("r15.csv", "repaired")].rows == [3]
    assert by[("r47.csv", "flagged")].rows == [4]  # the blank population itself


# ----------------------------------------------------------------------- points


def test_ois_points(settings):
    ois, report = points.load_ois(settings=settings)
    assert report.rows_read == 76 and len(ois) == 75 and report.rows_set_aside == 1
    assert ois.crs.to_epsg() == 2264
    assert ois["in_county"].all()
    # companion tables joined on INCIDENT_ID, counted independently with the csv module
    with open(sources.resolve("ois_individuals", settings.data_dir), encoding="utf-8-sig") as fh:
        people = [r["INCIDENT_ID"].strip() for r in csv.DictReader(fh)]
    for _, row in ois.head(20).iterrows():
        assert row["individuals"] == people.count(row["incident_id"])
    assert ois["individuals"].sum() == sum(people.count(i) for i in ois["incident_id"])


def test_incident_points_outside_county_reported(settings):
    inc, report = points.load_incidents(settings=settings)
    assert len(inc) == 5_000
    outside = [i for i in report.issues if "outside Mecklenburg" in i.reason]
    assert outside and outside[0].rows == inc.loc[~inc["in_county"], "row"].tolist()
    assert inc["non_criminal"].sum() > 400
