"""The command line: exports, reports, and bad input with one message and no traceback.

Messages are checked in process (``geo.cli.main`` with captured output); one test runs
``python -m geo`` as a subprocess for the exit codes a shell sees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo.caveats import REFERENCE_LAYERS_2013
from geo.cli import main
from geo.settings import PROJECT_ROOT


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(settings, monkeypatch, capsys):
    """``python -m geo ...`` in this process: exit code and captured output."""
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))

    def _run(*args: str) -> Result:
        try:
            code = main(list(args))
        except SystemExit as exc:  # --help and argparse errors exit
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return _run


def test_help_documents_every_command(run):
    out = run("--help")
    assert out.returncode == 0
    for cmd in ("fetch", "report", "export", "hotspots", "disparity", "aggregate", "--debug"):
        assert cmd in out.stdout
    exp = run("export", "--help").stdout
    for word in ("divisions", "npa", "ois", "incidents", "geojson", "gpkg", "csv", "RFC 7946"):
        assert word in exp


@pytest.mark.slow
def test_python_m_geo_exit_codes(settings, tmp_path):
    """The one subprocess test: the exit codes and streams a shell sees."""
    env = {**os.environ, "CMPD_DATA_DIR": str(settings.data_dir), "CMPD_CACHE_DIR": str(settings.cache_dir)}

    def shell(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "geo", *args], capture_output=True, text=True, cwd=PROJECT_ROOT, env=env, timeout=300
        )

    assert shell("--help").returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("")
    r = shell("report", "--stops", str(bad))
    assert r.returncode == 2 and "the file is empty" in r.stderr and "Traceback" not in r.stderr
    r = shell("--debug", "report", "--stops", str(bad))
    assert r.returncode == 1 and "Traceback" in r.stderr and "DataFileError" in r.stderr
    assert shell("export", "--layer", "nowhere", "--out", str(tmp_path / "x.geojson")).returncode == 2  # argparse


def test_debug_re_raises_in_process(run, tmp_path):
    from geo.errors import DataFileError

    bad = tmp_path / "bad.csv"
    bad.write_text("")
    assert run("report", "--stops", str(bad)).returncode == 2
    with pytest.raises(DataFileError, match="the file is empty"):
        main(["--debug", "report", "--stops", str(bad)])


def test_export_divisions_geojson(run, tmp_path):
    out = tmp_path / "divisions.geojson"
    r = run("export", "--layer", "divisions", "--format", "geojson", "--out", str(out))
    assert r.returncode == 0, r.stderr
    g = gpd.read_file(out)
    assert g.crs.to_epsg() == 4326 and len(g) == 14
    assert g["stops"].sum() == 135_512
    raw = json.loads(out.read_text())
    assert "crs" not in raw  # RFC 7946 has no crs member
    # exterior rings counter-clockwise (right-hand rule)
    for geom in shapely.from_geojson([json.dumps(f["geometry"]) for f in raw["features"]]):
        for poly in shapely.get_parts(geom):
            assert shapely.is_ccw(poly.exterior)


def test_export_npa_geojson_population(run, tmp_path):
    out = tmp_path / "npa.geojson"
    assert run("export", "--layer", "npa", "--out", str(out)).returncode == 0
    g = gpd.read_file(out)
    assert len(g) == 459 and g.crs.to_epsg() == 4326
    assert g["pop_2020"].sum() == 1_115_476


@pytest.mark.parametrize("layer", ["ois", "incidents"])
def test_export_points_gpkg_and_csv(run, tmp_path, layer):
    gpkg = tmp_path / f"{layer}.gpkg"
    csv = tmp_path / f"{layer}.csv"
    assert run("export", "--layer", layer, "--out", str(gpkg)).returncode == 0
    assert run("export", "--layer", layer, "--format", "csv", "--out", str(csv)).returncode == 0
    g = gpd.read_file(gpkg, layer=layer)  # the file also holds the table {layer}_dictionary
    t = pd.read_csv(csv)
    assert g.crs.to_epsg() == 2264 and len(g) == len(t)
    assert {"npa", "division", "longitude", "latitude", "geometry_wkt"} <= set(t.columns)
    assert t["latitude"].between(34.9, 35.6).all()


def test_report_prints_every_loader(run):
    r = run("report")
    assert r.returncode == 0, r.stderr
    assert "read 139,524; kept 139,524" in r.stdout
    assert "4,012" in r.stdout and "No division recorded" in r.stdout
    j = json.loads(run("report", "--json").stdout)
    stops = next(x for x in j if x["name"] == "stops")
    assert stops["rows_read"] == 139_524 and stops["rows_set_aside"] == 0
    # the NPA groups and every reference layer, each with its count and (the layers) the 2013 caveat
    by_name = {x["name"]: x for x in j}
    reference = ("zipcodes", "historic_districts", "council_districts", "landmarks", "railroads", "greenways", "roads")
    assert [by_name[k]["rows_read"] for k in reference] == [34, 6, 7, 315, 364, 307, 3_403]
    assert by_name["npa_groups"]["rows_read"] > 459
    assert all(REFERENCE_LAYERS_2013 in by_name[k]["notes"] for k in reference)
    assert "roads: " in r.stdout and "read 3,403; kept 3,403" in r.stdout


BAD_STOPS = {
    "missing_column": ("OBJECTID,Month_of_Stop\n1,2020/01\n", "missing column(s) Reason_for_Stop"),
    "empty": ("", "the file is empty"),
    "not_csv": ('{"features": []}', "looks like JSON"),
}


def _stops_text(**override: str) -> str:
    header = (
        "OBJECTID,Month_of_Stop,Reason_for_Stop,Officer_Race,Officer_Gender,Officer_Years_of_Service,Driver_Race,"
        "Driver_Ethnicity,Driver_Gender,Driver_Age,Was_a_Search_Conducted,Result_of_Stop,CMPD_Division"
    )
    row = dict(
        zip(
            header.split(","),
            "1,2020/01,Speeding,White,Male,5,Black,Non-Hispanic,Male,30,No,Arrest,Central Division".split(","),
            strict=True,
        )
    )
    good = ",".join(row.values())
    row.update(override)
    return f"{header}\n{good}\n{','.join(row.values())}\n"


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        *[(k, v[0], v[1]) for k, v in BAD_STOPS.items()],
        (
            "unknown_division",
            _stops_text(CMPD_Division="Gotham Division"),
            "CMPD_Division: 1 unknown division name(s) ('Gotham Division') at row 2",
        ),
        (
            "bad_month",
            _stops_text(Month_of_Stop="2020-XX"),
            "Month_of_Stop: 1 value(s) not a month in YYYY/MM form ('2020-XX') at row 2",
        ),
        ("bad_age", _stops_text(Driver_Age="abc"), "Driver_Age: 1 non-numeric age(s) ('abc') at row 2"),
    ],
)
def test_bad_stops_file(run, tmp_path, name, text, expected):
    p = tmp_path / f"{name}.csv"
    p.write_text(text)
    r = run("report", "--stops", str(p))
    assert r.returncode == 2
    assert expected in r.stderr and str(p) in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_bad_boundary_files(run, tmp_path):
    nocrs = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning):
        gpd.GeoDataFrame({"DNAME": ["Central Division"]}, geometry=[shapely.box(0, 0, 1, 1)]).to_file(nocrs)
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    broken = tmp_path / "broken.geojson"
    broken.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "1"}, "geometry": null}]}'
    )
    cases = [
        (("--divisions", str(nocrs)), "has no CRS"),
        (("--divisions", str(empty)), "has no features"),
        (("--npa", str(broken)), "have no geometry"),
        (("--npa", str(tmp_path / "absent.geojson")), "file not found"),
    ]
    for args, expected in cases:
        r = run("report", *args)
        assert r.returncode == 2, (args, r.stderr)
        assert expected in r.stderr and "Traceback" not in r.stderr


def test_report_good_files(run, settings):
    from geo.ingest import sources

    r = run("report", "--divisions", str(sources.resolve("divisions_2025", settings.data_dir)))
    assert r.returncode == 0 and "read 14" in r.stdout
