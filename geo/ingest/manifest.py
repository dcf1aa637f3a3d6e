"""The data folder's ``manifest.json``: what each file is, where it came from, its rows, period and checksum."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from geo.errors import FetchError
from geo.ingest.files import atomic_path
from geo.ingest.sources import MANIFEST_NAME, read_manifest

#: Columns whose smallest and largest value describe a table's period ("vintage").
_PERIOD_FIELDS = ("Month_of_Stop",)


class Period:
    """Smallest and largest value of the first period column (e.g. ``Month_of_Stop``) seen."""

    def __init__(self) -> None:
        self.index: int | None = None
        self.lo: str | None = None
        self.hi: str | None = None

    def columns(self, names: list[str]) -> None:
        """Take the header: find the period column (a UTF-8 byte-order mark ignored)."""
        clean = [n.lstrip("\ufeff") for n in names]
        self.index = next((clean.index(c) for c in _PERIOD_FIELDS if c in clean), None)

    def add(self, values: list[Any]) -> None:
        """Take one record's values (blank and missing periods ignored)."""
        if self.index is None or self.index >= len(values):
            return
        v = values[self.index]
        if v is None or str(v).strip() == "":
            return
        v = str(v).strip()
        self.lo = v if self.lo is None or v < self.lo else self.lo
        self.hi = v if self.hi is None or v > self.hi else self.hi

    def text(self) -> str | None:
        """``"first..last"``, or ``None`` when no period value was seen."""
        return None if self.lo is None else f"{self.lo}..{self.hi}"


def describe_file(path: Path) -> tuple[int | None, str | None]:
    """Count the records of a data file and find its period, when the format allows.

    CSV (also gzipped): records after the header (quoted line breaks handled); GeoJSON:
    features; shapefile: features (``pyogrio.read_info``); anything else: ``None``.

    Raises
    ------
    FetchError
        If a CSV, GeoJSON or shapefile cannot be read.
    """
    name = path.name.lower()
    try:
        if name.endswith((".csv", ".csv.gz")):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:
                reader = csv.reader(fh)
                header = next(reader, None)
                if header is None:
                    return 0, None
                period = Period()
                period.columns(header)
                rows = 0
                for row in reader:
                    rows += 1
                    period.add(row)
                return rows, period.text()
        if name.endswith((".geojson", ".json")):
            with open(path, "rb") as fh:
                doc = json.load(fh)
            if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
                return len(doc.get("features") or []), None
            return None, None
        if name.endswith(".shp"):
            shx = path.with_suffix(".shx")
            if shx.is_file() and (shx.stat().st_size - 100) % 8 == 0:  # the index: a 100-byte header, 8 per feature
                return (shx.stat().st_size - 100) // 8, None  # what OGR counts, without importing it (a second)
            import pyogrio

            return int(pyogrio.read_info(path)["features"]), None
    except (OSError, EOFError, ValueError, csv.Error, gzip.BadGzipFile) as exc:
        raise FetchError(f"{path}: cannot read it to count its records ({type(exc).__name__}: {exc}).") from None
    except Exception as exc:  # pyogrio's DataSourceError and friends
        if type(exc).__module__.startswith("pyogrio"):
            raise FetchError(f"{path}: cannot read the shapefile ({exc}).") from None
        raise
    return None, None


def write_manifest(
    data_dir: Path,
    *,
    mode: str,
    source: str,
    files: dict[str, dict[str, Any]],
    skipped: dict[str, str] | None = None,
    failed: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Merge ``files`` into the existing manifest (keeping entries whose files still exist) and write it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    kept = {
        k: e
        for k, e in read_manifest(data_dir).get("files", {}).items()
        if k not in files and isinstance(e, dict) and e.get("path") and (data_dir / e["path"]).is_file()
    }
    manifest: dict[str, Any] = {
        "created": now(),
        "mode": mode,
        "source": source,
        "files": {**kept, **files},
    }
    if skipped:
        manifest["skipped"] = skipped
    if failed:
        manifest["failed"] = failed
    dest = data_dir / MANIFEST_NAME
    with atomic_path(dest) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def now() -> str:
    """The current UTC time, to the second, in ISO 8601 (the manifest's ``retrieved``)."""
    return datetime.now(UTC).isoformat(timespec="seconds")
