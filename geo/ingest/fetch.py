"""Get the raw data: download it from the City of Charlotte portal, or copy it from a mirror.

``python -m geo fetch`` calls :func:`fetch`. Both ways fill the data folder
(:attr:`geo.settings.Settings.data_dir`) with the layout of the shared mirror
(``stops/``, ``divisions/``, ``npa/`` ...) and write ``manifest.json`` beside the files::

    {"created": "2025-01-01T12:00:00+00:00", "mode": "portal" | "mirror",
     "source": "<portal address or mirror folder>",
     "files": {"stops": {"path": "stops/...csv.gz", "source": "<url or mirror file>",
                         "retrieved": "<UTC time>", "rows": 139524, "sha256": "...",
                         "bytes": 1288309, "vintage": "2020/01..2021/12"}, ...},
     "skipped": {"<key>": "<why>"}, "failed": {"<key>": "<error>"}}

:func:`geo.ingest.sources.resolve` reads ``files[key]["path"]``.

Every file is written to a temporary file in the target folder and renamed into place,
so an interrupted run never leaves a half-written data file.

Examples
--------
>>> from pathlib import Path
>>> from geo.ingest.fetch import copy_mirror
>>> manifest = copy_mirror(Path("../shared/data"), Path("data/raw"))  # doctest: +SKIP
>>> manifest["files"]["stops"]["rows"]  # doctest: +SKIP
139524
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import requests

from geo.errors import FetchError, quote_values
from geo.ingest._http import HttpOptions, Progress, check_status, pages, with_retries
from geo.ingest.files import atomic_path, gzip_text, human_size, sha256
from geo.ingest.manifest import Period, describe_file, now, write_manifest
from geo.ingest.sources import DATASETS, MANIFEST_NAME, Dataset, read_manifest
from geo.settings import get_settings

__all__ = ["PORTAL_URL", "fetch", "fetch_portal", "copy_mirror"]


#: Landing page of the City of Charlotte open data portal (the manifest's top-level source).
PORTAL_URL = "https://data.charlottenc.gov"


#: Sidecars a shapefile cannot be read without (``.prj`` and ``.cpg`` are copied when present).
_SHAPEFILE_REQUIRED = (".shx", ".dbf")


#: Mirror files never copied: the mirror's own manifest (if it is a data folder itself).
_NOT_COPIED = frozenset({MANIFEST_NAME})


def fetch(
    data_dir: Path | None = None,
    *,
    mirror: Path | None = None,
    datasets: Iterable[str] | None = None,
    session: requests.Session | None = None,
    page_size: int = 2000,
    retries: int = 4,
    backoff: float = 1.0,
    timeout: float = 60,
    base_url_override: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Fill ``data_dir`` from a mirror folder when ``mirror`` is given, else from the portal.

    Parameters
    ----------
    data_dir
        Data folder; defaults to ``get_settings().data_dir``.
    mirror
        A folder laid out like ``shared/data``; see :func:`copy_mirror`.
    datasets, session, page_size, retries, backoff, timeout, base_url_override
        Passed to :func:`fetch_portal` (ignored with ``mirror``).
    progress
        Called with one line of text per step.

    Returns
    -------
    dict
        The manifest that was written.
    """
    data_dir = Path(data_dir) if data_dir is not None else get_settings().data_dir
    if mirror is not None:
        return copy_mirror(Path(mirror), data_dir, progress=progress)
    return fetch_portal(
        data_dir,
        datasets=datasets,
        session=session,
        page_size=page_size,
        retries=retries,
        backoff=backoff,
        timeout=timeout,
        base_url_override=base_url_override,
        progress=progress,
    )


def fetch_portal(
    data_dir: Path,
    *,
    datasets: Iterable[str] | None = None,
    session: requests.Session | None = None,
    page_size: int = 2000,
    retries: int = 4,
    backoff: float = 1.0,
    timeout: float = 60,
    base_url_override: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Download the data sets from their publishers into ``data_dir`` and write the manifest.

    ArcGIS REST tables are paged with ``resultOffset``/``resultRecordCount`` until the
    service no longer reports ``exceededTransferLimit`` and written as gzipped CSV (the
    service's field names, in its field order); ArcGIS feature layers are paged the same
    way with ``f=geojson`` and written as one GeoJSON FeatureCollection in EPSG:4326;
    plain files are downloaded as they are.

    Parameters
    ----------
    data_dir
        Data folder (created if missing).
    datasets
        Keys of :data:`geo.ingest.sources.DATASETS` to get; default all that have a portal address.
        Data sets without one are listed under ``"skipped"`` in the manifest.
    session
        HTTP session to use (one is created and closed otherwise).
    page_size
        Records asked for per request (the services allow at most 2,000).
    retries
        Attempts per request, the first included. Dropped connections, time-outs, HTTP 429
        and 5xx answers, and ArcGIS error payloads with a 5xx code are tried again.
    backoff
        Seconds before the second attempt; doubled for each later one (0 in tests).
    timeout
        Seconds to wait for the server to connect or to send data.
    base_url_override
        Data-set key to address, replacing the registry's (for tests and other hosts).
    progress
        Called with one line of text per step.

    Returns
    -------
    dict
        The manifest that was written. Entries of earlier runs whose files still exist
        are kept; failures of data sets the app does not require are listed under
        ``"failed"``.

    Raises
    ------
    FetchError
        For an unknown key, or, after the manifest is written, when a required data set
        (or one named in ``datasets``) could not be downloaded.
    """
    if page_size < 1:
        raise FetchError(f"page_size must be at least 1, got {page_size}.")
    if retries < 1:
        raise FetchError(f"retries (attempts per request) must be at least 1, got {retries}.")
    data_dir = Path(data_dir)
    say = progress or (lambda _msg: None)
    overrides = dict(base_url_override or {})
    keys = _portal_keys(datasets, overrides)
    http = session if session is not None else requests.Session()
    opts = HttpOptions(http, retries=retries, backoff=backoff, timeout=timeout)
    try:
        files, skipped, failed = _download_all(keys, overrides, data_dir, opts, page_size=page_size, progress=say)
    finally:
        if session is None:
            http.close()
    manifest = write_manifest(data_dir, mode="portal", source=PORTAL_URL, files=files, skipped=skipped, failed=failed)
    _raise_fatal(failed, data_dir, explicit=datasets is not None)
    return manifest


def _portal_keys(datasets: Iterable[str] | None, overrides: dict[str, str]) -> list[str]:
    """The data-set keys to download, in order, once each; every key must be known."""
    keys = list(DATASETS) if datasets is None else list(dict.fromkeys(datasets))
    unknown = [k for k in overrides if k not in DATASETS] + [k for k in keys if k not in DATASETS]
    if unknown:
        raise FetchError(f"Unknown data set(s) {quote_values(unknown)}; known: {', '.join(DATASETS)}.")
    return keys


def _download_all(
    keys: list[str],
    overrides: dict[str, str],
    data_dir: Path,
    opts: HttpOptions,
    *,
    page_size: int,
    progress: Progress,
) -> tuple[dict[str, dict[str, Any]], dict[str, str], dict[str, str]]:
    """Download every data set that has an address: manifest entries, skipped keys, failed keys (with why)."""
    files: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    failed: dict[str, str] = {}
    for key in keys:
        ds = DATASETS[key]
        url = overrides.get(key, ds.portal_url)
        if url is None:
            skipped[key] = "no public download address; copy it from a mirror (python -m geo fetch --mirror DIR)"
            continue
        progress(f"{key}: downloading from {url}")
        try:
            entry = _download(ds, url, data_dir, opts, page_size=page_size, progress=progress)
        except (FetchError, OSError) as exc:  # OSError: the data folder cannot be written
            failed[key] = str(exc) if isinstance(exc, FetchError) else f"cannot write into {data_dir}: {exc}"
            progress(f"{key}: FAILED: {failed[key]}")
            continue
        files[key] = entry
        rows = "" if entry["rows"] is None else f", {entry['rows']:,} rows"
        progress(f"{key}: wrote {entry['path']} ({human_size(entry['bytes'])}{rows})")
    return files, skipped, failed


def _raise_fatal(failed: dict[str, str], data_dir: Path, *, explicit: bool) -> None:
    """Raise for the failed data sets that were asked for by name, or that the app requires."""
    fatal = {k: v for k, v in failed.items() if explicit or DATASETS[k].required}
    if fatal:
        raise FetchError(
            f"Could not download {len(fatal)} data set(s) into {data_dir}:\n"
            + "\n".join(f"- {k}: {msg}" for k, msg in fatal.items())
            + "\nThe files that did arrive are listed in the manifest; run the command again, "
            "or use `python -m geo fetch --mirror DIR`."
        )


def copy_mirror(mirror: Path, data_dir: Path, *, progress: Progress | None = None) -> dict[str, Any]:
    """Copy every file of a mirror folder into ``data_dir`` and write the manifest.

    Relative paths are kept, shapefile sidecars included. A file whose path is a data set's
    (``Dataset.path`` or ``Dataset.portal_path``) is listed under that data set's key,
    every other file under its relative path. A file already in ``data_dir`` with the same
    size and SHA-256 is left alone, so running this again is fast.

    Parameters
    ----------
    mirror
        A folder laid out like ``shared/data``.
    data_dir
        Data folder (created if missing); must not be ``mirror`` itself.
    progress
        Called with one line of text per file.

    Returns
    -------
    dict
        The manifest that was written.

    Raises
    ------
    FetchError
        If ``mirror`` is missing, lacks a required data set, or holds a shapefile without its
        ``.shx``/``.dbf`` (naming every missing path), or if a data file cannot be read.
    """
    mirror = Path(mirror).expanduser()
    data_dir = Path(data_dir).expanduser()
    say = progress or (lambda _msg: None)
    if not mirror.is_dir():
        raise FetchError(f"Mirror folder {mirror} does not exist (or is not a folder).")
    if mirror.resolve() == data_dir.resolve():
        raise FetchError(f"The mirror and the data folder are the same folder ({mirror}); nothing to copy.")
    rels = _mirror_files(mirror, exclude=data_dir)
    _check_mirror_complete(mirror, rels)
    previous = read_manifest(data_dir).get("files", {})
    digests, copied, unchanged = _copy_files(mirror, data_dir, rels, progress=say)
    files = _mirror_entries(mirror, data_dir, rels, digests, previous)
    say(f"{copied} file(s) copied, {unchanged} unchanged, from {mirror}")
    return write_manifest(data_dir, mode="mirror", source=str(mirror.resolve()), files=files)


def _check_mirror_complete(mirror: Path, rels: list[str]) -> None:
    """Raise naming every required data set and shapefile sidecar the mirror lacks."""
    present = set(rels)
    missing = [
        ds.path
        for ds in DATASETS.values()
        if ds.required and ds.path not in present and (ds.portal_path is None or ds.portal_path not in present)
    ]
    for rel in rels:
        if rel.lower().endswith(".shp"):
            stem = rel[:-4]
            missing += [stem + ext for ext in _SHAPEFILE_REQUIRED if stem + ext not in present]
    if missing:
        raise FetchError(
            f"Mirror {mirror} lacks {len(missing)} required file(s): "
            + ", ".join(missing)
            + ". Point --mirror at a folder laid out like shared/data (stops/, divisions/, npa/ ...)."
        )


def _copy_files(
    mirror: Path, data_dir: Path, rels: list[str], *, progress: Progress
) -> tuple[dict[str, tuple[str, int, str]], int, int]:
    """Copy every file whose copy differs (size or SHA-256).

    Returns each file's digest, size and time of copy, and how many were copied and
    left unchanged.

    Everything is copied before anything is read: a shapefile can be read only once its
    sidecars are there.
    """
    copied = unchanged = 0
    digests: dict[str, tuple[str, int, str]] = {}
    for rel in rels:
        src = mirror / rel
        dst = data_dir / rel
        size = src.stat().st_size
        digest = sha256(src)
        if dst.is_file() and dst.stat().st_size == size and sha256(dst) == digest:
            unchanged += 1
            progress(f"unchanged {rel}")
        else:
            try:
                with atomic_path(dst) as tmp:
                    shutil.copyfile(src, tmp)
            except OSError as exc:
                raise FetchError(f"Cannot copy {src} to {dst}: {exc}") from None
            copied += 1
            progress(f"copied {rel} ({human_size(size)})")
        digests[rel] = (digest, size, now())
    return digests, copied, unchanged


def _mirror_keys(rels: list[str]) -> dict[str, str]:
    """Relative path -> data-set key (a portal path only when the mirror path is absent)."""
    present = set(rels)
    key_of = {ds.path: ds.key for ds in DATASETS.values()}
    for ds in DATASETS.values():
        if ds.portal_path and ds.path not in present:
            key_of[ds.portal_path] = ds.key
    return key_of


def _mirror_entries(
    mirror: Path,
    data_dir: Path,
    rels: list[str],
    digests: dict[str, tuple[str, int, str]],
    previous: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """Manifest entries of the copied files; rows and period reused from an earlier entry with the same digest."""
    old_by_path = {e.get("path"): e for e in previous.values() if isinstance(e, dict)}
    key_of = _mirror_keys(rels)
    files: dict[str, dict[str, Any]] = {}
    for rel in rels:
        digest, size, retrieved = digests[rel]
        old = old_by_path.get(rel)
        if old and old.get("sha256") == digest and "rows" in old:
            rows, vintage = old["rows"], old.get("vintage")
        else:
            rows, vintage = describe_file(data_dir / rel)
        entry = {
            "path": rel,
            "source": str((mirror / rel).resolve()),
            "retrieved": retrieved,
            "rows": rows,
            "sha256": digest,
            "bytes": size,
        }
        if vintage is not None:
            entry["vintage"] = vintage
        files[key_of.get(rel, rel)] = entry
    return files


def _mirror_files(mirror: Path, *, exclude: Path) -> list[str]:
    """Relative POSIX paths of the files to copy, sorted; hidden files and ``exclude`` left out."""
    excluded = exclude.resolve()
    out = []
    for p in sorted(mirror.rglob("*")):
        rel = p.relative_to(mirror)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        if p.resolve() == excluded or excluded in p.resolve().parents:
            continue
        if rel.as_posix() in _NOT_COPIED:
            continue
        out.append(rel.as_posix())
    return out


def _download(
    ds: Dataset, url: str, data_dir: Path, opts: HttpOptions, *, page_size: int, progress: Progress
) -> dict[str, Any]:
    """Download one data set into ``data_dir``; its manifest entry."""
    rel = ds.portal_path or ds.path
    dest = data_dir / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    rows: int | None
    vintage: str | None = None
    if ds.kind == "arcgis_table":
        rows, vintage = _download_table(opts, url, dest, page_size=page_size, progress=progress)
    elif ds.kind == "arcgis_features":
        rows = _download_features(opts, url, dest, page_size=page_size, progress=progress)
    else:
        _download_file(opts, url, dest)
        rows, vintage = describe_file(dest)
    entry = {
        "path": rel,
        "source": url,
        "retrieved": now(),
        "rows": rows,
        "sha256": sha256(dest),
        "bytes": dest.stat().st_size,
    }
    if vintage is not None:
        entry["vintage"] = vintage
    return entry


def _download_table(
    opts: HttpOptions, url: str, dest: Path, *, page_size: int, progress: Progress
) -> tuple[int, str | None]:
    """Page an ArcGIS table into a gzipped CSV; return the row count and the period covered."""
    rows = 0
    columns: list[str] | None = None
    period = Period()
    with atomic_path(dest) as tmp, gzip_text(tmp) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        for payload, records in pages(opts, url, fmt="json", page_size=page_size, features=False, progress=progress):
            if columns is None:
                fields = [f.get("name") for f in payload.get("fields") or [] if f.get("name")]
                columns = fields or (list(records[0].get("attributes") or {}) if records else [])
                writer.writerow(columns)
                period.columns(columns)
            known = set(columns)
            for rec in records:
                attrs = rec.get("attributes") or {}
                extra = [k for k in attrs if k not in known]
                if extra:
                    raise FetchError(
                        f"{url}: record {rows + 1} has field(s) {quote_values(extra)} not in the layer's field list "
                        f"({', '.join(columns)})."
                    )
                values = [attrs.get(c) for c in columns]
                writer.writerow(["" if v is None else v for v in values])
                period.add(values)
                rows += 1
        if columns is None:  # no page at all cannot happen, but keep the file a valid CSV
            writer.writerow([])
    return rows, period.text()


def _download_features(opts: HttpOptions, url: str, dest: Path, *, page_size: int, progress: Progress) -> int:
    """Page an ArcGIS feature layer (``f=geojson``) into one GeoJSON FeatureCollection."""
    features: list[dict[str, Any]] = []
    for _payload, records in pages(opts, url, fmt="geojson", page_size=page_size, features=True, progress=progress):
        features.extend(records)
    collection = {
        "type": "FeatureCollection",
        "name": dest.stem,
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": features,
    }
    with atomic_path(dest) as tmp:
        tmp.write_text(json.dumps(collection, separators=(",", ":")), encoding="utf-8")
    return len(features)


def _download_file(opts: HttpOptions, url: str, dest: Path) -> None:
    """Stream a file to a temporary file beside ``dest``, then rename it into place."""

    def attempt() -> None:
        with opts.session.get(url, stream=True, timeout=opts.timeout) as resp:
            check_status(resp, url)
            with atomic_path(dest) as tmp, open(tmp, "wb") as out:
                for chunk in resp.iter_content(chunk_size=1 << 16):
                    out.write(chunk)

    with_retries(opts, url, attempt)
