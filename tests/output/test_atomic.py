"""A failed export leaves the previous good files intact (issue 15 item 1): staged, flushed, renamed."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys

import pytest

from geo.errors import DataFileError
from geo.output import export as export_mod
from geo.output.export import export_layer
from geo.settings import PROJECT_ROOT


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".csv"])
def test_a_write_that_fails_half_way_replaces_nothing(npa_layer, tmp_path, monkeypatch, suffix):
    out = tmp_path / f"npa{suffix}"
    first = export_layer(npa_layer, out, layer_name="npa")
    before = _digests(tmp_path)
    assert out.name in before and len(before) == len(first.files)

    def disk_full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    # the sidecar dictionary is written after the layer file: the failure comes half-way
    monkeypatch.setattr(export_mod, "write_dictionary", disk_full)
    with pytest.raises(DataFileError) as err:
        export_layer(npa_layer.head(3), out, layer_name="npa")
    msg = str(err.value)
    assert str(out) in msg and "No space left" in msg and "nothing was replaced" in msg
    assert _digests(tmp_path) == before  # same files, same bytes, no staging folder left behind


def test_the_cli_under_a_file_size_limit_exits_2_and_keeps_the_old_file(settings, tmp_path):
    out = tmp_path / "npa.geojson"
    env = {**os.environ, "CMPD_DATA_DIR": str(settings.data_dir), "CMPD_CACHE_DIR": str(settings.cache_dir)}
    cmd = f"{sys.executable} -m geo export --layer npa --out {out}"
    good = subprocess.run(["bash", "-c", cmd], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    size = out.stat().st_size
    assert size > 200_000
    before = _digests(tmp_path)
    # ulimit -f counts 1024-byte blocks: 100 KiB, well under the layer's size
    bad = subprocess.run(["bash", "-c", f"ulimit -f 100; {cmd}"], cwd=PROJECT_ROOT, env=env, capture_output=True,
                         text=True)  # fmt: skip
    assert bad.returncode == 2, bad.stderr
    assert "nothing was replaced" in bad.stderr and "Traceback" not in bad.stderr
    assert _digests(tmp_path) == before
