"""The upload page with crafted files: a gzip bomb and a duplicated header give a clear message, no traceback.

The page runs through Streamlit's AppTest; the decompression limit comes from the
environment (``CMPD_MAX_DECOMPRESSED_BYTES``) as in a deployment, set low to keep the test fast.
"""

from __future__ import annotations

import gzip
import re

import pytest
from streamlit.testing.v1 import AppTest

from geo.settings import PROJECT_ROOT
from geo.vocab import STOP_COLUMNS

#: AppTest runs the whole page script: part of `make test`, not of `make test-fast` (as tests/app/*).
pytestmark = pytest.mark.slow

UPLOAD = str(PROJECT_ROOT / "app_pages" / "upload.py")
ROW = "7,2020/01,Speeding,White,Male,5,Black,Non-Hispanic,Male,30,No,Verbal Warning,Central Division"


def _page(page_file: str) -> None:  # runs as a Streamlit script: imports inside
    import runpy

    runpy.run_path(page_file, run_name="__main__")


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


@pytest.fixture
def upload(settings, monkeypatch):
    """Open the upload page with a 2 MiB decompression limit; ``upload(name, data)`` uploads a file."""
    monkeypatch.setenv("CMPD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CMPD_CACHE_DIR", str(settings.cache_dir))
    monkeypatch.setenv("CMPD_MAX_DECOMPRESSED_BYTES", str(2 << 20))

    def _upload(name: str, data: bytes) -> AppTest:
        at = AppTest.from_function(_page, args=(UPLOAD,), default_timeout=120).run()
        assert not at.exception and not at.error
        at.file_uploader(key="up_file").set_value((name, data, "application/octet-stream")).run()
        assert not at.exception, [str(e.value) for e in at.exception]
        return at

    return _upload


def _bomb(expanded: int) -> bytes:
    """A gzip of valid stops rows expanding to ``expanded`` bytes: a header member, then one 1 MiB member repeated."""
    block = ((ROW + "\n") * ((1 << 20) // (len(ROW) + 1))).encode()
    again = gzip.compress(block, mtime=0)
    return gzip.compress(",".join(["OBJECTID", *STOP_COLUMNS]).encode() + b"\n", mtime=0) + again * (
        expanded // len(block)
    )


def test_a_gzip_bomb_upload_is_refused_with_the_limit(upload):
    data = _bomb(64 << 20)
    assert len(data) < 1 << 20  # well under a MiB uploaded, 64 MiB of rows inside
    at = upload("newer_export.csv.gz", data)
    assert len(at.error) == 1 and not at.success and not at.metric
    shown = _unescape(at.error[0].value)
    assert shown.startswith("newer_export.csv.gz: expands, when decompressed, to more than 2.0 MB (2,097,152 bytes)")
    assert "CMPD_MAX_DECOMPRESSED_BYTES" in shown and "cmpd-upload-" not in shown
    assert "Traceback" not in shown and "Something went wrong" not in shown
    assert any("Limits: 2 MiB of text" in c.value for c in at.caption)  # the page says the limit in effect


def test_a_duplicated_header_upload_is_refused_naming_the_columns(upload):
    header = ",".join(["OBJECTID", *STOP_COLUMNS, "Driver_Race", ":red[x]", ":red[x]"])
    data = f"{header}\n{ROW},Asian,a,b\n".encode()
    at = upload("dup.csv", data)
    assert len(at.error) == 1 and not at.success
    raw = at.error[0].value
    shown = _unescape(raw)
    race = 1 + 1 + STOP_COLUMNS.index("Driver_Race")
    n = len(STOP_COLUMNS) + 1
    assert shown.startswith(f"dup.csv: columns {race} and {n + 1} are both named Driver_Race;")
    assert f"columns {n + 2} and {n + 3} are both named :red[x]" in shown and "rename or remove one" in shown
    assert "\\:red\\[x\\]" in raw  # a name from the data cannot colour the message
    assert "Traceback" not in shown
