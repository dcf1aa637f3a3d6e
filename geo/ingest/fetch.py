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

import shutil
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import requests

from geo.errors import FetchError, quote_values
from geo.ingest._http import HttpOptions, Progress, download_file
from geo.ingest._progress import Meter, make_meter
from geo.ingest._staging import clear_staging
from geo.ingest.arcgis import (
    check_schema,
    download_table,
    features_to_geojson,
    layer_info,
    merge,
    read_rows,
    since_where,
    write_table,
)
from geo.ingest.files import atomic_path, human_size, sha256
from geo.ingest.manifest import Period, describe_file, now, write_manifest
from geo.ingest.sources import DATASETS, MANIFEST_NAME, Dataset, read_manifest, select_layers
from geo.settings import get_settings

__all__ = ["PORTAL_URL", "Since", "fetch", "fetch_portal", "copy_mirror", "rebase_url", "make_meter"]


#: Landing page of the City of Charlotte open data portal (the manifest's top-level source).
PORTAL_URL = "https://data.charlottenc.gov"


#: Sidecars a shapefile cannot be read without (``.prj`` and ``.cpg`` are copied when present).
_SHAPEFILE_REQUIRED = (".shx", ".dbf")


#: ``--since``: a day, or ``"last"`` (the day of each data set's previous download, from the manifest).
Since = date | Literal["last"]


#: Mirror files never copied: the mirror's own manifest (if it is a data folder itself).
_NOT_COPIED = frozenset({MANIFEST_NAME})


def fetch(
    data_dir: Path | None = None,
    *,
    mirror: Path | None = None,
    progress: Progress | None = None,
    **portal: Any,
) -> dict[str, Any]:
    """Fill ``data_dir`` from a mirror folder when ``mirror`` is given, else from the portal.

    Parameters
    ----------
    data_dir
        Data folder; defaults to ``get_settings().data_dir``.
    mirror
        A folder laid out like ``shared/data``; see :func:`copy_mirror`.
    progress
        Called with one line of text per step.
    **portal
        Passed to :func:`fetch_portal` (``datasets``, ``layers``, ``since``, ``portal_url`` ...;
        ignored with ``mirror``).

    Returns
    -------
    dict
        The manifest that was written.
    """
    data_dir = Path(data_dir) if data_dir is not None else get_settings().data_dir
    if mirror is not None:
        return copy_mirror(Path(mirror), data_dir, progress=progress)
    return fetch_portal(data_dir, progress=progress, **portal)


def fetch_portal(
    data_dir: Path,
    *,
    datasets: Iterable[str] | None = None,
    layers: Iterable[str] | None = None,
    since: Since | None = None,
    portal_url: str | None = None,
    session: requests.Session | None = None,
    page_size: int = 2000,
    retries: int = 4,
    backoff: float = 1.0,
    timeout: float = 60,
    deadline: float = 300,
    base_url_override: dict[str, str] | None = None,
    progress: Progress | None = None,
    meter: Meter | None = None,
    timing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Download the data sets from their publishers into ``data_dir`` and write the manifest.

    ArcGIS tables go through :mod:`geo.ingest.arcgis` (layer description and count first,
    pages kept in a staging folder, verified before the file is replaced) and are written
    as gzipped CSV or, for large layers (a ``.parquet`` path), Parquet; ArcGIS feature layers
    are written as one GeoJSON FeatureCollection in EPSG:4326; plain files as they are. A
    manifest entry is written only for a file that was verified and written.

    Parameters
    ----------
    data_dir
        Data folder (created if missing).
    datasets
        Keys of :data:`geo.ingest.sources.DATASETS` to get.
    layers
        ``--layers`` names: groups of :data:`geo.ingest.sources.LAYER_GROUPS` or keys (added to ``datasets``).
        With neither, every data set that has a portal address; those without one are listed
        under ``"skipped"``.
    since
        Ask ArcGIS layers only for records dated on or after this day (``"last"``: the day of
        the previous download in the manifest) and merge them into the earlier file.
    portal_url
        Send every ArcGIS request to this base address instead, keeping each layer's path.
    session
        HTTP session to use (one is created and closed otherwise).
    page_size
        Records asked for per request (at most the layer's ``maxRecordCount``).
    retries
        Attempts per request, the first included.
    backoff
        Seconds before the second attempt; doubled for each later one (a ``Retry-After`` wins).
    timeout
        Seconds to wait for the server to connect or to send the next bytes.
    deadline
        Seconds one request may take in all.
    base_url_override
        Data-set key to address, replacing the registry's (for tests and other hosts).
    progress
        Called with one line of text per step.
    meter
        Progress bar for ArcGIS pages (:func:`make_meter`); none by default.
    timing
        Filled with where the time went: ``wait`` (network) and ``parse`` (JSON) seconds, ``requests``, ``bytes``.

    Returns
    -------
    dict
        The manifest that was written.

    Raises
    ------
    FetchError
        For an unknown key, or, after the manifest is written, when a required data set
        (or one asked for by name) could not be downloaded.
    """
    if page_size < 1:
        raise FetchError(f"page_size must be at least 1, got {page_size}.")
    if retries < 1:
        raise FetchError(f"retries (attempts per request) must be at least 1, got {retries}.")
    data_dir = Path(data_dir)
    say = progress or (lambda _msg: None)
    overrides = dict(base_url_override or {})
    explicit = datasets is not None or layers is not None
    wanted = None if not explicit else [*(datasets or []), *select_layers(list(layers or []))]
    keys = _portal_keys(wanted, overrides)
    http = session if session is not None else requests.Session()
    opts = HttpOptions(http, retries=retries, backoff=backoff, timeout=timeout, deadline=deadline)
    job = _Job(data_dir, opts, page_size, since, portal_url, meter or Meter(), say)
    try:
        files, skipped, failed = _download_all(keys, overrides, job)
    finally:
        if session is None:
            http.close()
    manifest = write_manifest(data_dir, mode="portal", source=PORTAL_URL, files=files, skipped=skipped, failed=failed)
    if timing is not None:
        timing.update(vars(opts.timing))
    _raise_fatal(failed, data_dir, explicit=explicit)
    return manifest


class _Job:
    """What every download of one fetch shares."""

    def __init__(
        self,
        data_dir: Path,
        opts: HttpOptions,
        page_size: int,
        since: Since | None,
        portal_url: str | None,
        meter: Meter,
        progress: Progress,
    ) -> None:
        self.data_dir = data_dir
        self.opts = opts
        self.page_size = page_size
        self.since = since
        self.portal_url = portal_url
        self.meter = meter
        self.progress = progress
        self.previous: dict[str, Any] = read_manifest(data_dir).get("files", {})


def rebase_url(url: str, base: str) -> str:
    """``url`` sent to ``base`` instead: its scheme and host (and any path prefix), keeping ``url``'s path.

    Examples
    --------
    >>> rebase_url("https://gis.charlottenc.gov/arcgis/rest/services/CMPD/X/MapServer/0", "http://127.0.0.1:8080")
    'http://127.0.0.1:8080/arcgis/rest/services/CMPD/X/MapServer/0'
    """
    u, b = urlsplit(url), urlsplit(base)
    if not b.scheme or not b.netloc:
        raise FetchError(f"--portal-url {base!r} is not an address like http://host:port (scheme and host needed).")
    return urlunsplit((b.scheme, b.netloc, b.path.rstrip("/") + u.path, u.query, ""))


def _portal_keys(datasets: Iterable[str] | None, overrides: dict[str, str]) -> list[str]:
    """The data-set keys to download, in order, once each; every key must be known."""
    keys = list(DATASETS) if datasets is None else list(dict.fromkeys(datasets))
    unknown = [k for k in overrides if k not in DATASETS] + [k for k in keys if k not in DATASETS]
    if unknown:
        raise FetchError(f"Unknown data set(s) {quote_values(unknown)}; known: {', '.join(DATASETS)}.")
    return keys


def _download_all(
    keys: list[str], overrides: dict[str, str], job: _Job
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
        if job.portal_url and ds.kind != "file" and key not in overrides:
            url = rebase_url(url, job.portal_url)
        job.progress(f"{key}: downloading from {url}")
        try:
            entry = _download(ds, url, job)
        except (FetchError, OSError) as exc:  # OSError: the data folder cannot be written
            msg = str(exc) if isinstance(exc, FetchError) else f"cannot write into {job.data_dir}: {exc}"
            failed[key] = " ".join(msg.split())
            job.progress(f"{key}: FAILED: {failed[key]}")
            continue
        files[key] = entry
        rows = "" if entry["rows"] is None else f", {entry['rows']:,} rows"
        job.progress(f"{key}: wrote {entry['path']} ({human_size(entry['bytes'])}{rows})")
    return files, skipped, failed


def _raise_fatal(failed: dict[str, str], data_dir: Path, *, explicit: bool) -> None:
    """Raise (one line) for the failed data sets that were asked for by name, or that the app requires."""
    fatal = {k: v for k, v in failed.items() if explicit or DATASETS[k].required}
    if fatal:
        raise FetchError(
            f"Could not download {len(fatal)} data set(s) into {data_dir} (earlier files left as they were): "
            + "; ".join(f"{k}: {msg}" for k, msg in fatal.items())
            + " | Run the command again (pages already received are kept), or use `python -m geo fetch --mirror DIR`."
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


def _download(ds: Dataset, url: str, job: _Job) -> dict[str, Any]:
    """Download one data set into the data folder; its manifest entry."""
    rel = ds.portal_path or ds.path
    dest = job.data_dir / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    if ds.kind == "arcgis_table":
        entry = _download_table(ds, url, dest, job)
    else:
        vintage: str | None = None
        if ds.kind == "arcgis_features":
            rows: int | None = features_to_geojson(job.opts, url, dest, page_size=job.page_size, meter=job.meter)
        else:
            download_file(job.opts, url, dest)
            rows, vintage = describe_file(dest)
        entry = {"rows": rows} if vintage is None else {"rows": rows, "vintage": vintage}
    return {
        "path": rel,
        "source": url,
        "retrieved": now(),
        **entry,
        "sha256": sha256(dest),
        "bytes": dest.stat().st_size,
    }


def _since_day(ds: Dataset, job: _Job) -> date | None:
    """The day ``--since`` means for ``ds`` (``"last"``: the date of its previous download), or ``None``."""
    if job.since is None or ds.date_field is None:
        if job.since is not None:
            job.progress(f"{ds.key}: the layer has no date field; asking for every record")
        return None
    if job.since != "last":
        return job.since
    retrieved = (job.previous.get(ds.key) or {}).get("retrieved")
    try:
        return date.fromisoformat(str(retrieved)[:10])
    except ValueError:
        job.progress(f"{ds.key}: no earlier download in the manifest; asking for every record")
        return None


def _download_table(ds: Dataset, url: str, dest: Path, job: _Job) -> dict[str, Any]:
    """Page an ArcGIS table (all of it, or the records since a day merged into the earlier file) into ``dest``."""
    info = layer_info(job.opts, url)
    check_schema(info, ds.columns, f"the {ds.key} layer")
    day = _since_day(ds, job)
    prev = job.previous.get(ds.key) or {}
    old = job.data_dir / prev["path"] if day is not None and prev.get("path") else None
    if day is not None and (old is None or not old.is_file()):
        job.progress(f"{ds.key}: no earlier file to add to; asking for every record")
        day, old = None, None
    where = "1=1" if day is None else since_where(ds, day)
    table = download_table(
        job.opts, info, key=ds.key, data_dir=job.data_dir, where=where, page_size=job.page_size, meter=job.meter
    )
    received = len(table.rows)
    if old is not None:
        table = merge(*read_rows(old), table, path=old)
    write_table(table, dest)
    clear_staging(job.data_dir, ds.key)
    period = Period()
    period.columns(table.columns)
    for row in table.rows:
        period.add(row)
    entry: dict[str, Any] = {
        "rows": len(table.rows),
        "query": {"where": where, "outFields": "*", "orderByFields": table.object_id_field, "count": table.count},
    }
    if day is not None:
        entry.update(since=day.isoformat(), received=received)
    if period.text() is not None:
        entry["vintage"] = period.text()
    return entry
