"""HTTP for :mod:`geo.ingest.fetch` and :mod:`geo.ingest.arcgis`: retries, deadlines, status checks. Private.

Every request has two time limits: ``timeout`` for each wait on the socket (connect, or the
next bytes), and ``deadline`` for the whole answer, so a server that trickles one byte a
second is given up on. HTTP 429 and 5xx answers, dropped connections, time-outs and bodies
that are not the JSON asked for are tried again, at most ``retries`` times in all, after
``backoff`` seconds doubled each time, or after the ``Retry-After`` the server asked for.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import requests
import urllib3

from geo.errors import FetchError
from geo.ingest.files import atomic_path

Progress = Callable[[str], None]


class Retryable(Exception):
    """A failure worth another attempt; ``wait`` is the server's ``Retry-After`` in seconds, if it sent one."""

    def __init__(self, message: str, *, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


@dataclass
class Timing:
    """Where the time of a fetch went: waiting for the network, and parsing what arrived."""

    wait: float = 0.0
    parse: float = 0.0
    requests: int = 0
    bytes: int = 0


class HttpOptions:
    """The session, the retry policy and the time limits shared by every request of one fetch."""

    def __init__(
        self,
        session: requests.Session,
        *,
        retries: int,
        backoff: float,
        timeout: float,
        deadline: float = 300.0,
        max_wait: float = 120.0,
    ) -> None:
        self.session = session
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.deadline = deadline
        self.max_wait = max_wait
        self.timing = Timing()


_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    urllib3.exceptions.HTTPError,
    ConnectionError,
    TimeoutError,
)


def full_url(url: str, params: dict[str, Any] | None) -> str:
    """``url`` with ``params`` as its query string (for messages and the manifest)."""
    return requests.Request("GET", url, params=params).prepare().url or url


def with_retries(opts: HttpOptions, url: str, attempt: Callable[[], Any]) -> Any:
    """Call ``attempt`` up to ``opts.retries`` times while it raises :class:`Retryable` or a network error."""
    last = ""
    for n in range(1, opts.retries + 1):
        wait: float | None = None
        try:
            return attempt()
        except Retryable as exc:
            last, wait = str(exc), exc.wait
        except _TRANSIENT as exc:
            last = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if n == opts.retries:
            break
        if wait is not None and wait > opts.max_wait:
            raise FetchError(
                f"{url}: the server asks to wait {wait:.0f} s (Retry-After) before trying again, longer than the "
                f"{opts.max_wait:.0f} s allowed; run the command again later."
            )
        delay = wait if wait is not None else opts.backoff * 2 ** (n - 1)
        if delay > 0:
            time.sleep(delay)
    raise FetchError(f"Gave up after {opts.retries} attempt(s) on {url}: {last}")


def retry_after(value: str | None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (a number of seconds or an HTTP date); ``None`` if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def check_status(resp: requests.Response, url: str) -> None:
    """Raise :class:`Retryable` for HTTP 429 and 5xx (with ``Retry-After``), :class:`FetchError` for other 4xx."""
    code = resp.status_code
    if code == 429 or code >= 500:
        raise Retryable(f"HTTP {code} {resp.reason}", wait=retry_after(resp.headers.get("Retry-After")))
    if code >= 400:
        raise FetchError(f"HTTP {code} {resp.reason} from {url}")


def _chunks(opts: HttpOptions, resp: requests.Response, url: str) -> Iterator[bytes]:
    """The body, as it arrives, until the request's deadline (then :class:`Retryable`)."""
    end = time.monotonic() + opts.deadline
    raw = resp.raw
    while True:
        chunk = raw.read1(1 << 16, decode_content=True)
        if not chunk:
            return
        yield chunk
        if time.monotonic() > end:
            raise Retryable(f"the answer took longer than the {opts.deadline:g} s allowed for one request")


def get_bytes_once(opts: HttpOptions, url: str, params: dict[str, Any] | None = None) -> bytes:
    """One GET, the whole body within the deadline; errors as :class:`Retryable` or :class:`FetchError`."""
    t0 = time.perf_counter()
    with opts.session.get(url, params=params, timeout=opts.timeout, stream=True) as resp:
        check_status(resp, full_url(url, params))
        body = b"".join(_chunks(opts, resp, url))
    opts.timing.wait += time.perf_counter() - t0
    opts.timing.requests += 1
    opts.timing.bytes += len(body)
    return body


def get_json_once(opts: HttpOptions, url: str, params: dict[str, Any]) -> dict[str, Any]:
    """One GET of a JSON object; ArcGIS error payloads (sent with HTTP 200) become errors."""
    full = full_url(url, params)
    body = get_bytes_once(opts, url, params)
    t0 = time.perf_counter()
    try:
        payload = json.loads(body)
    except ValueError:
        head = body[:120].decode("utf-8", "replace")
        what = "an HTML page" if head.lstrip().lower().startswith(("<!doctype", "<html")) else "not valid JSON"
        raise Retryable(f"the answer is {what} ({len(body):,} bytes, starting {head!r})") from None
    finally:
        opts.timing.parse += time.perf_counter() - t0
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
        if isinstance(code, int) and (code >= 500 or code == 429):
            raise Retryable(text)
        raise FetchError(f"{text}. URL: {full}")
    return payload


def get_json(opts: HttpOptions, url: str, params: dict[str, Any]) -> dict[str, Any]:
    """GET a JSON object with retries (see :func:`get_json_once`)."""
    payload: dict[str, Any] = with_retries(opts, full_url(url, params), lambda: get_json_once(opts, url, params))
    return payload


def download_file(opts: HttpOptions, url: str, dest: Path) -> None:
    """Stream a file to a temporary file beside ``dest`` (within the deadline), then rename it into place."""

    def attempt() -> None:
        with opts.session.get(url, stream=True, timeout=opts.timeout) as resp:
            check_status(resp, url)
            with atomic_path(dest) as tmp, open(tmp, "wb") as out:
                for chunk in _chunks(opts, resp, url):
                    out.write(chunk)

    with_retries(opts, url, attempt)
