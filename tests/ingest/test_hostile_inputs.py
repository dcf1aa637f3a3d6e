"""Inputs that used to give wrong numbers, tracebacks or misleading messages (issue 15, items 2, 5 and 6).

Each case is crafted here: duplicated headers, a gzip bomb (built on the fly from valid rows,
refused at a small cap without holding it), row and size limits, a truncated or damaged
gzip, a manifest with a non-UTF-8 byte, a named pipe, a symbolic link loop, UTF-16 and
Latin-1 text, and ``report`` with the data missing. Each message names the file (and the
columns, line or limit) and the fix; the command line exits 2 with one line.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo.cli import main
from geo.errors import DataFileError, SchemaError
from geo.ingest import sources
from geo.ingest.files import read_layer, read_table
from geo.ingest.stops import load_stops
from geo.ingest.user_layer import load_user_layer
from geo.settings import PROJECT_ROOT, get_settings
from geo.vocab import STOP_COLUMNS

HEADER = list(STOP_COLUMNS)
ROW = {
    "Month_of_Stop": "2020/01",
    "Reason_for_Stop": "Speeding",
    "Officer_Race": "White",
    "Officer_Gender": "Male",
    "Officer_Years_of_Service": "5",
    "Driver_Race": "Black",
    "Driver_Ethnicity": "Non-Hispanic",
    "Driver_Gender": "Male",
    "Driver_Age": "30",
    "Was_a_Search_Conducted": "No",
    "Result_of_Stop": "Verbal Warning",
    "CMPD_Division": "Central Division",
}


def _stops_text(n: int = 3, *, extra: str = "", extra_value: str = "") -> str:
    """A valid stops CSV of ``n`` rows (as text); ``extra`` adds a last column with ``extra_value`` in every row."""
    header = ",".join(HEADER) + (f",{extra}" if extra else "")
    rows = [",".join(ROW.get(c, str(i)) for c in HEADER) + (f",{extra_value}" if extra else "") for i in range(n)]
    return header + "\n" + "\n".join(rows) + "\n"


def _settings(**limits: int):
    return get_settings({}).replace(**limits)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    """``python -m geo ...`` in this process, with an empty data folder unless told otherwise."""
    monkeypatch.setenv("CMPD_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(tmp_path / "cache"))

    def _run(*args: str) -> Result:
        code = main(list(args))
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return _run


def _one_line_error(r: Result, *needles: str) -> None:
    """Exit code 2 and a single ``error:`` line on stderr holding every needle; no traceback."""
    assert r.returncode == 2, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr + r.stdout and "internal error" not in r.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# --------------------------------------------------------------------------- 2. duplicated headers


def test_a_repeated_column_is_refused_not_silently_used(tmp_path):
    """Two Driver_Race columns, the second constant 'Asian': refused, naming both positions."""
    p = tmp_path / "stops.csv"
    p.write_text(_stops_text(extra="Driver_Race", extra_value="Asian"))
    pos = HEADER.index("Driver_Race") + 1
    with pytest.raises(
        SchemaError, match=rf"stops.csv: columns {pos} and {len(HEADER) + 1} are both named Driver_Race"
    ):
        load_stops(p)
    with pytest.raises(SchemaError, match="rename or remove one"):
        read_table(p)


@pytest.mark.parametrize(
    ("header_cells", "expected"),
    [
        (["a", " a ", "b"], "columns 1 and 2 are both named a"),
        (["\ufeffa", "b", "\ufeffb"], "columns 2 and 3 are both named b"),  # BOM at the start and inside a name
        (["x", "x", "y", "x"], "columns 1, 2 and 4 are all named x"),
        (["x", "x", "y", "y"], "columns 1 and 2 are both named x; columns 3 and 4 are both named y"),
        (['"q,r"', "s", '"q,r"'], "columns 1 and 3 are both named q,r"),  # quoted names with a comma
    ],
)
def test_repeated_names_after_removing_spaces_and_bom(tmp_path, header_cells, expected):
    p = tmp_path / "t.csv"
    p.write_text(",".join(header_cells) + "\n" + ",".join(["1"] * len(header_cells)) + "\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="after removing spaces and byte-order marks") as exc:
        read_table(p)
    assert expected in str(exc.value) and str(p) in str(exc.value)


def test_blank_header_cells_are_not_repeats(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,,b,\n1,2,3,4\n")
    assert list(read_table(p).columns) == ["a", "Unnamed: 1", "b", "Unnamed: 3"]


# --------------------------------------------------------------------------- 5. decompression and row limits


def _bomb(path: Path, expanded: int, *, rows_per_block: int | None = None) -> int:
    """A gzip of valid stops rows that expands to about ``expanded`` bytes: one member, then repeats of a second.

    A gzip file may hold several members; each repeat is the same compressed block of
    1 MiB of rows, so the file stays a few MB however large it expands. Returns the rows.
    """
    row = ",".join(ROW.get(c, "7") for c in HEADER) + "\n"
    n = rows_per_block or (1 << 20) // len(row)
    block = (row * n).encode()
    first = gzip.compress((",".join(HEADER) + "\n").encode() + block, mtime=0)
    again = gzip.compress(block, mtime=0)
    repeats = max(0, expanded // len(block) - 1)
    with open(path, "wb") as fh:
        fh.write(first)
        for _ in range(repeats):
            fh.write(again)
    return n * (repeats + 1)


BOMB_CHILD = """
import json, resource, sys, time
from pathlib import Path
from geo.errors import DataFileError
from geo.ingest.stops import load_stops
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    load_stops(Path(sys.argv[1]))
    message = None
except DataFileError as exc:
    message = str(exc)
grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"grew_kib": grew, "seconds": time.perf_counter() - start, "message": message}))
"""


def test_gzip_bomb_is_refused_at_the_cap_without_holding_it(tmp_path):
    """A 1 GiB-expanding gzip of valid rows, a 96 MiB cap from the environment: refused, peak memory + <64 MiB."""
    bomb = tmp_path / "bomb.csv.gz"
    _bomb(bomb, 1 << 30)
    assert bomb.stat().st_size < 8 << 20  # a few MB on disk
    cap = 96 << 20
    env = {**os.environ, "CMPD_MAX_DECOMPRESSED_BYTES": str(cap), "PYTHONPATH": str(PROJECT_ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", BOMB_CHILD, str(bomb)], capture_output=True, text=True, env=env, timeout=300, check=True
    )
    got = json.loads(out.stdout)
    assert got["message"] is not None and got["message"].startswith(f"{bomb}: expands, when decompressed, to more")
    assert f"{cap:,} bytes" in got["message"] and "CMPD_MAX_DECOMPRESSED_BYTES" in got["message"]
    assert got["grew_kib"] * 1024 < 64 << 20, got  # less than the cap itself: never held, let alone 1 GiB
    assert got["seconds"] < 60, got


def test_decompressed_size_cap_in_process(tmp_path):
    p = tmp_path / "stops.csv.gz"
    _bomb(p, 4 << 20)
    with pytest.raises(DataFileError, match=r"expands, when decompressed, to more than 1\.0 MB \(1,048,576 bytes\)"):
        load_stops(p, settings=_settings(max_decompressed_bytes=1 << 20))
    stops, report = load_stops(p, settings=_settings(max_decompressed_bytes=8 << 20))
    assert len(stops) == report.rows_read > 30_000


def test_a_single_member_bomb_is_refused_too(tmp_path):
    p = tmp_path / "one.csv.gz"
    row = ",".join(ROW.get(c, "7") for c in HEADER) + "\n"
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(p, "wb") as fh:
        fh.write(c.compress((",".join(HEADER) + "\n").encode()))
        block = (row * 10_000).encode()
        for _ in range(40):  # ~40 MB of rows
            fh.write(c.compress(block))
        fh.write(c.flush())
    with pytest.raises(DataFileError, match="expands, when decompressed, to more than 2.0 MB"):
        read_table(p, settings=_settings(max_decompressed_bytes=2 << 20))


def test_plain_file_over_the_size_cap(tmp_path):
    p = tmp_path / "stops.csv"
    p.write_text(_stops_text(200))
    with pytest.raises(DataFileError, match=r"stops.csv: is more than 1\.0 KB \(1,024 bytes\), the limit"):
        load_stops(p, settings=_settings(max_decompressed_bytes=1024))


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_row_cap(tmp_path, suffix):
    p = tmp_path / f"stops{suffix}"
    text = _stops_text(50).encode()
    p.write_bytes(gzip.compress(text) if suffix.endswith(".gz") else text)
    with pytest.raises(DataFileError, match=r"has more than 49 data rows, the limit .*CMPD_MAX_ROWS"):
        load_stops(p, settings=_settings(max_rows=49))
    assert len(load_stops(p, settings=_settings(max_rows=50))[0]) == 50


def test_row_cap_counts_records_not_lines(tmp_path):
    """A quoted line break is one record: 3 records on 6 lines pass a 3-row limit."""
    p = tmp_path / "t.csv"
    p.write_text('a,b\n"x\ny",1\n"x\ny",2\n"x\ny",3\n')
    assert len(read_table(p, settings=_settings(max_rows=3))) == 3


def test_parquet_and_layer_limits(tmp_path):
    table = pd.DataFrame({"a": [str(i) for i in range(10)], "b": ["x"] * 10})
    pq = tmp_path / "t.parquet"
    table.to_parquet(pq)
    with pytest.raises(DataFileError, match="t.parquet: has more than 9 data rows"):
        read_table(pq, settings=_settings(max_rows=9))
    assert len(read_table(pq, settings=_settings(max_rows=10))) == 10
    boxes = [shapely.box(i, 0, i + 1, 1) for i in range(20)]
    layer = gpd.GeoDataFrame({"id": [f"a{i}" for i in range(20)]}, geometry=boxes, crs="EPSG:2264")
    gj = tmp_path / "areas.geojson"
    layer.to_file(gj)
    with pytest.raises(DataFileError, match="areas.geojson: has more than 19 data rows"):
        load_user_layer(gj, id_column="id", settings=_settings(max_rows=19))
    assert len(load_user_layer(gj, id_column="id", settings=_settings(max_rows=20))[0]) == 20
    assert gj.stat().st_size > 1024
    with pytest.raises(DataFileError, match=r"areas.geojson: is more than 1\.0 KB"):
        read_layer(gj, "polygon", settings=_settings(max_decompressed_bytes=1024))
    gp = tmp_path / "areas.parquet"
    layer.to_parquet(gp)
    with pytest.raises(DataFileError, match="areas.parquet: has more than 19 data rows"):
        load_user_layer(gp, id_column="id", settings=_settings(max_rows=19))
    with pytest.raises(DataFileError, match="areas.parquet: holds, uncompressed, more than 1.0 KB"):
        load_user_layer(gp, id_column="id", settings=_settings(max_decompressed_bytes=1024))
    assert len(load_user_layer(gp, id_column="id", settings=_settings(max_rows=20))[0]) == 20


def test_limits_from_the_environment_on_the_command_line(run, tmp_path, monkeypatch):
    p = tmp_path / "stops.csv.gz"
    _bomb(p, 3 << 20)
    monkeypatch.setenv("CMPD_MAX_DECOMPRESSED_BYTES", str(1 << 20))
    _one_line_error(run("report", "--stops", str(p)), str(p), "expands, when decompressed", "1,048,576 bytes")
    monkeypatch.delenv("CMPD_MAX_DECOMPRESSED_BYTES")
    monkeypatch.setenv("CMPD_MAX_ROWS", "2")
    q = tmp_path / "three.csv"
    q.write_text(_stops_text(3))
    _one_line_error(run("report", "--stops", str(q)), str(q), "more than 2 data rows", "CMPD_MAX_ROWS")


# --------------------------------------------------------------------------- 6. misleading answers


def _truncated(path: Path) -> Path:
    data = gzip.compress(_stops_text(3000).encode())
    path.write_bytes(data[: len(data) // 2])
    return path


def test_truncated_gzip(tmp_path):
    p = _truncated(tmp_path / "stops.csv.gz")
    with pytest.raises(DataFileError, match=r"the gzip file is truncated \(it ends before its end marker\)"):
        load_stops(p)


def test_damaged_and_fake_gzip(tmp_path):
    data = bytearray(gzip.compress(_stops_text(3000).encode()))
    data[-8] ^= 0xFF  # the CRC-32 in the trailer
    bad = tmp_path / "damaged.csv.gz"
    bad.write_bytes(bytes(data))
    with pytest.raises(DataFileError, match=r"damaged.csv.gz: the gzip data is damaged \(CRC check failed"):
        read_table(bad)
    fake = tmp_path / "fake.csv.gz"
    fake.write_text(_stops_text(3))
    with pytest.raises(DataFileError, match="fake.csv.gz: cannot be read as gzip: it is not a gzip file"):
        read_table(fake)


def test_manifest_with_a_non_utf8_byte(tmp_path):
    (tmp_path / "manifest.json").write_bytes(b'{"files": {"stops": {"path": "st\xe9ps.csv"}}}')
    with pytest.raises(DataFileError, match=r"manifest.json: the data manifest is not UTF-8 text \(byte 0xE9"):
        sources.read_manifest(tmp_path)
    with pytest.raises(DataFileError, match=r"manifest.json: .*Run `python -m geo fetch`"):
        load_stops(settings=_settings(data_dir=tmp_path))


@pytest.mark.parametrize("content", [b"[1, 2]", b'{"files": ["stops"]}', b"{not json"])
def test_manifest_of_the_wrong_shape(tmp_path, content):
    (tmp_path / "manifest.json").write_bytes(content)
    with pytest.raises(DataFileError, match=r"manifest.json: the data manifest is not .*python -m geo fetch"):
        sources.read_manifest(tmp_path)


def test_named_pipe_is_not_called_empty(tmp_path):
    fifo = tmp_path / "stops.csv"
    os.mkfifo(fifo)
    for call in (lambda: load_stops(fifo), lambda: read_table(fifo), lambda: read_layer(fifo, "polygon")):
        with pytest.raises(DataFileError, match=r"stops.csv: not a regular file \(a named pipe\)"):
            call()


def test_symbolic_links(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(DataFileError, match="a.csv: cannot be opened: it is a symbolic link loop"):
        load_stops(a)
    broken = tmp_path / "broken.csv"
    broken.symlink_to(tmp_path / "nowhere.csv")
    with pytest.raises(DataFileError, match=r"broken.csv: file not found \(a symbolic link to .*nowhere.csv"):
        load_stops(broken)


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_utf16_with_a_byte_order_mark_is_read_as_text(tmp_path, suffix):
    text = _stops_text(4, extra="Note", extra_value="caf\u00e9 \u2013 ok")
    utf8, utf16 = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    for path, enc in ((utf8, "utf-8"), (utf16, "utf-16")):
        data = text.encode(enc)
        path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    assert utf16.read_bytes()[:2] in (b"\xff\xfe", b"\x1f\x8b")
    assert (read_table(utf16)["Note"] == "caf\u00e9 \u2013 ok").all()
    pd.testing.assert_frame_equal(read_table(utf16), read_table(utf8))
    pd.testing.assert_frame_equal(load_stops(utf16)[0], load_stops(utf8)[0])


def test_utf16_without_a_mark_and_binary(tmp_path):
    p = tmp_path / "le.csv"
    p.write_bytes(_stops_text(3).encode("utf-16-le"))
    with pytest.raises(
        DataFileError, match="le.csv: looks like UTF-16 text without a byte-order mark; save it as UTF-8"
    ):
        read_table(p)
    b = tmp_path / "bin.csv"
    b.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataFileError, match="bin.csv: is a binary file"):
        read_table(b)


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_latin1_names_the_line_and_the_byte(tmp_path, suffix):
    lines = _stops_text(5).splitlines()
    lines[4] = lines[4].replace("Central Division", "Central Divisi\u00f3n")  # line 5 = data row 4
    data = ("\n".join(lines) + "\n").encode("latin-1")
    p = tmp_path / f"stops{suffix}"
    p.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    character = lines[4].index("\u00f3") + 1
    with pytest.raises(DataFileError) as exc:
        load_stops(p)
    message = str(exc.value)
    assert message.startswith(f"{p}: line 5, character {character}: the byte 0xF3 is not UTF-8 text")
    assert "save it as UTF-8" in message


def test_report_exits_2_when_the_data_is_missing(run):
    r = run("report")
    _one_line_error(r, "cannot be used: stops", "python -m geo fetch")
    assert "missing" in r.stdout  # the per-data-set reports are still printed


@pytest.mark.parametrize(
    ("name", "make", "expected"),
    [
        ("dup.csv", lambda p: p.write_text(_stops_text(extra="Driver_Race", extra_value="Asian")), "both named"),
        ("trunc.csv.gz", _truncated, "the gzip file is truncated"),
        ("fifo.csv", os.mkfifo, "not a regular file (a named pipe)"),
        ("loop.csv", lambda p: p.symlink_to(p), "a symbolic link loop"),
        ("latin.csv", lambda p: p.write_bytes(_stops_text(2).replace("Male", "M\u00e1le").encode("latin-1")), "0xE1"),
        ("le.csv", lambda p: p.write_bytes(_stops_text(2).encode("utf-16-le")), "UTF-16"),
    ],
)
def test_command_line_gives_one_line_and_exit_2(run, tmp_path, name, make, expected):
    p = tmp_path / name
    make(p)
    _one_line_error(run("report", "--stops", str(p)), str(p), expected)


def test_a_data_set_that_is_a_link_loop_is_reported_as_a_loop_not_as_missing(tmp_path):
    from geo.ingest.sources import DATASETS, resolve

    target = tmp_path / DATASETS["stops"].path
    target.parent.mkdir(parents=True)
    other = target.with_name("other.csv.gz")
    target.symlink_to(other)
    other.symlink_to(target)
    assert resolve("stops", tmp_path) == target
    with pytest.raises(DataFileError, match="cannot be opened: it is a symbolic link loop"):
        load_stops(resolve("stops", tmp_path))
