"""HTTP for :mod:`geo.ingest.fetch`: retries, status checks and paged ArcGIS REST queries. Private."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

from geo.errors import FetchError

Progress = Callable[[str], None]


class Retryable(Exception):
    """A failure worth another attempt (dropped connection, time-out, 5xx)."""


class HttpOptions:
    """The session and the retry policy shared by every request of one fetch."""

    def __init__(self, session: requests.Session, *, retries: int, backoff: float, timeout: float) -> None:
        self.session = session
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout


_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def _full_url(url: str, params: dict[str, Any] | None) -> str:
    return requests.Request("GET", url, params=params).prepare().url or url


def with_retries(opts: HttpOptions, url: str, attempt: Callable[[], Any]) -> Any:
    """Call ``attempt`` up to ``opts.retries`` times while it raises :class:`Retryable`."""
    last = ""
    for n in range(1, opts.retries + 1):
        try:
            return attempt()
        except Retryable as exc:
            last = str(exc)
        except _TRANSIENT as exc:
            last = f"{type(exc).__name__}: {exc}"
        if n < opts.retries and opts.backoff > 0:
            time.sleep(opts.backoff * 2 ** (n - 1))
    raise FetchError(f"Gave up after {opts.retries} attempt(s) on {url}: {last}")


def check_status(resp: requests.Response, url: str) -> None:
    """Raise :class:`Retryable` for HTTP 429 and 5xx, :class:`FetchError` for other 4xx answers."""
    code = resp.status_code
    if code == 429 or code >= 500:
        raise Retryable(f"HTTP {code} {resp.reason}")
    if code >= 400:
        raise FetchError(f"HTTP {code} {resp.reason} from {url}")


def get_json(opts: HttpOptions, url: str, params: dict[str, Any]) -> dict[str, Any]:
    """GET a JSON document, turning ArcGIS error payloads (sent with HTTP 200) into errors."""
    full = _full_url(url, params)

    def attempt() -> dict[str, Any]:
        resp = opts.session.get(url, params=params, timeout=opts.timeout)
        check_status(resp, full)
        try:
            payload = resp.json()
        except ValueError:
            raise Retryable(f"the answer is not JSON: {resp.text[:200]!r}") from None
        if not isinstance(payload, dict):
            raise FetchError(f"Unexpected answer from {full}: a JSON {type(payload).__name__}, not an object.")
        err = payload.get("error")
        if err is not None:
            err = err if isinstance(err, dict) else {"message": str(err)}
            code = err.get("code")
            details = [d for d in err.get("details") or [] if d]
            text = f"ArcGIS error {code}: {err.get('message', '(no message)')}"
            if details:
                text += " (" + "; ".join(map(str, details)) + ")"
            if isinstance(code, int) and code >= 500:
                raise Retryable(text)
            raise FetchError(f"{text}. URL: {full}")
        return payload

    payload: dict[str, Any] = with_retries(opts, full, attempt)
    return payload


def _query_params(*, fmt: str, offset: int, count: int, features: bool) -> dict[str, Any]:
    params: dict[str, Any] = {
        "where": "1=1",
        "outFields": "*",
        "f": fmt,
        "resultOffset": offset,
        "resultRecordCount": count,
        "orderByFields": "OBJECTID",
    }
    if features:
        params.update(returnGeometry="true", outSR=4326)
    return params


def _exceeded(payload: dict[str, Any]) -> bool:
    props = payload.get("properties")
    flag = payload.get("exceededTransferLimit")
    if flag is None and isinstance(props, dict):
        flag = props.get("exceededTransferLimit")
    return bool(flag)


def pages(
    opts: HttpOptions, url: str, *, fmt: str, page_size: int, features: bool, progress: Progress
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Yield ``(payload, records)`` page by page from an ArcGIS ``/query`` endpoint.

    Records are ``features`` items (esri JSON ``{"attributes": ...}`` or GeoJSON features).
    Paging moves by the number of records received, so a server with a smaller
    ``maxRecordCount`` than ``page_size`` is still read completely; it stops when the server
    no longer reports ``exceededTransferLimit`` or sends an empty page. An OBJECTID seen twice
    (a server ignoring ``resultOffset``, or a layer edited during the download) is an error.
    """
    query = url.rstrip("/") + "/query"
    offset = 0
    seen: set[Any] = set()
    while True:
        params = _query_params(fmt=fmt, offset=offset, count=page_size, features=features)
        payload = get_json(opts, query, params)
        records = payload.get("features")
        if records is None:
            raise FetchError(f"Unexpected answer from {_full_url(query, params)}: no 'features' member.")
        for rec in records:
            attrs = rec.get("properties" if features else "attributes") or {}
            oid = attrs.get("OBJECTID", rec.get("id") if features else None)
            if oid is None:
                continue
            if oid in seen:
                raise FetchError(
                    f"OBJECTID {oid} came twice while paging {query} (offset {offset}); the server may ignore "
                    "resultOffset, or the layer changed during the download. Run the command again."
                )
            seen.add(oid)
        yield payload, records
        offset += len(records)
        if records:
            progress(f"  {offset:,} records")
        if not records or not _exceeded(payload):
            return
