"""Pages of an ArcGIS download kept on disk until the whole layer is verified, so a stopped fetch resumes. Private.

One folder per data set, ``<data_dir>/.staging/<key>/``: ``query.json`` says which query
the pages answer (address, ``where``, announced count, page size, field list); each page is
``<offset>.json``, ``{"rows": [[...], ...], "exceeded": bool}``, written with a rename so a
killed process leaves whole pages only. A staging folder for another query is emptied first.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from geo.ingest.files import atomic_path

STAGING_DIR = ".staging"


class Staging:
    """The staged pages of one data set's query."""

    def __init__(self, data_dir: Path, key: str, query: dict[str, Any]) -> None:
        self.folder = Path(data_dir) / STAGING_DIR / key
        self.query = query
        self.resumed = 0
        meta = self.folder / "query.json"
        try:
            same = json.loads(meta.read_text(encoding="utf-8")) == query
        except (OSError, ValueError):
            same = False
        if not same:
            self.clear()
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(meta, durable=False) as tmp:
                tmp.write_text(json.dumps(query, sort_keys=True), encoding="utf-8")

    def _page(self, offset: int) -> Path:
        return self.folder / f"{offset:012d}.json"

    def load(self, offset: int) -> tuple[list[list[Any]], bool] | None:
        """The rows and the ``exceededTransferLimit`` flag of the page at ``offset``, if it was kept."""
        try:
            doc = json.loads(self._page(offset).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
            return None
        self.resumed += 1
        return doc["rows"], bool(doc.get("exceeded"))

    def save(self, offset: int, rows: list[list[Any]], exceeded: bool) -> None:
        """Keep one page."""
        with atomic_path(self._page(offset), durable=False) as tmp:
            tmp.write_text(json.dumps({"rows": rows, "exceeded": exceeded}, separators=(",", ":")), encoding="utf-8")

    def clear(self) -> None:
        """Remove the folder and its pages (after the layer is written, or when the query changed)."""
        clear_staging(self.folder.parent.parent, self.folder.name)


def clear_staging(data_dir: Path, key: str) -> None:
    """Remove the staged pages of data set ``key`` (once its file is written)."""
    folder = Path(data_dir) / STAGING_DIR / key
    shutil.rmtree(folder, ignore_errors=True)
    parent = folder.parent
    if parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
