"""Run a Streamlit app and drive it from Debian's headless Chromium, with no internet.

Reusable by every browser test: import the fixtures into the test module::

    from tests.helpers.browser import browser, offline_page, streamlit_app  # noqa: F401

    @pytest.mark.browser
    def test_page(streamlit_app, offline_page):
        url = streamlit_app(PROJECT_ROOT / "app.py")
        offline_page.goto(url)

* :func:`streamlit_app` starts ``streamlit run`` on 127.0.0.1 and a free port with
  ``--server.enableStaticServing true`` and waits for ``/_stcore/health``. Streamlit
  serves the ``static/`` folder *next to the main script*; for a script elsewhere
  (``tests/maps/apps/*.py``) the server runs a link to it from a temporary folder that
  also links ``static`` -> the repository's ``static/``. The repository root is put
  on ``PYTHONPATH`` so the script imports ``geo``. The vendored files are fetched
  first (``tools/vendor_assets.py``; instant when present).
* :func:`browser` launches ``/usr/bin/chromium`` through Playwright (never downloads
  a browser). Browser tests are skipped when Chromium or Playwright is missing, unless
  ``REQUIRE_BROWSER_TESTS=1`` makes that a failure (set it in CI).
* :func:`app_env` is the environment that points a server of ``app.py`` (:data:`APP`) at the
  tests' data; :func:`page_in` opens (and closes) an offline page of a given size;
  :func:`no_exception_shown` and :func:`no_problems` check what a person must never see.
  ``tests/e2e/conftest.py`` builds the ``app_url``, ``page`` and ``phone`` fixtures from them.
* :func:`offline_page` is a page whose context aborts every request that is not to
  127.0.0.1/localhost, records them in ``page.blocked`` (and with the URL of the
  frame that asked in ``page.blocked_from``), records every ``alert`` /
  ``confirm`` in ``page.dialogs`` (and dismisses it) and every console error in
  ``page.console_errors``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The app's main script.
APP = ROOT / "app.py"
#: A desktop window, and a phone's (an iPhone 12-14 in portrait).
DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
STATIC_DIR = ROOT / "static"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
_ACTIVE_LOGS: set[Path] = set()
ALLOWED_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
#: Flags every browser test passes to ``streamlit run`` (the app needs the first two).
STREAMLIT_FLAGS = (
    "--server.headless", "true",
    "--server.enableStaticServing", "true",
    "--browser.gatherUsageStats", "false",
    "--server.fileWatcherType", "none",
    "--server.runOnSave", "false",
)  # fmt: skip


def _missing_browser(reason: str) -> None:
    if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
        pytest.fail(f"{reason} (REQUIRE_BROWSER_TESTS=1)")
    pytest.skip(reason)


def free_port() -> int:
    """Return a TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_vendored() -> None:
    """Fetch the vendored map assets if missing (fails the test if that is impossible)."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import vendor_assets
    finally:
        sys.path.pop(0)
    ok, _ = vendor_assets.is_up_to_date(STATIC_DIR / "vendor")
    if not ok:
        try:
            vendor_assets.vendor(STATIC_DIR / "vendor", quiet=True)
        except vendor_assets.VendorError as exc:
            pytest.fail(f"static/vendor is missing and could not be fetched: {exc}")


def _stage(script: Path, workdir: Path) -> Path:
    """Return the path to run so that ``static/`` next to it is the repository's."""
    if (script.parent / "static").resolve() == STATIC_DIR.resolve():
        return script
    staged = workdir / script.name
    staged.symlink_to(script)
    (workdir / "static").symlink_to(STATIC_DIR, target_is_directory=True)
    return staged


def _tail(path: Path, n: int = 4000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-n:]
    except OSError:
        return ""


@contextlib.contextmanager
def run_streamlit(
    script: Path,
    *,
    timeout: float = 90.0,
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
) -> Iterator[str]:
    """Run ``streamlit run script`` on a free port; yield its base URL; stop it afterwards.

    ``env`` entries override the environment (``PYTHONPATH`` defaults to the repository
    root); ``cwd`` (default the repository root) is also first on ``sys.path`` of the
    server. The server's output goes to ``artifacts/streamlit-<name>.log``.
    """
    script = Path(script).resolve()
    if not script.is_file():
        raise FileNotFoundError(script)
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = ARTIFACTS / f"streamlit-{script.stem}.log"
    if log_path in _ACTIVE_LOGS:  # a second server of the same script in one test
        log_path = ARTIFACTS / f"streamlit-{script.stem}-{port}.log"
    _ACTIVE_LOGS.add(log_path)
    with tempfile.TemporaryDirectory(prefix="st-app-") as tmp:
        target = _stage(script, Path(tmp))
        child_env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
            "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", str(ROOT / ".cache")),
            "MPLCONFIGDIR": os.environ.get("MPLCONFIGDIR", str(ROOT / ".cache" / "matplotlib")),
            **(env or {}),
        }
        cmd = [
            sys.executable, "-m", "streamlit", "run", str(target),
            "--server.address", "127.0.0.1", "--server.port", str(port),
            *STREAMLIT_FLAGS, *extra_args,
        ]  # fmt: skip
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd, cwd=cwd, env=child_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            try:
                _wait_healthy(proc, base, timeout, log_path)
                yield base
            finally:
                _stop(proc)
                _ACTIVE_LOGS.discard(log_path)


def _wait_healthy(proc: subprocess.Popen[bytes], base: str, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"streamlit did not answer {base}/_stcore/health within {timeout:.0f} s:\n{_tail(log_path)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server we started (its own process group, by its id)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture
def streamlit_app() -> Iterator[Callable[..., str]]:
    """Start apps on demand: ``url = streamlit_app(path)``; all are stopped after the test."""
    ensure_vendored()
    stack = contextlib.ExitStack()

    def start(script: Path, **kwargs: Any) -> str:
        return stack.enter_context(run_streamlit(Path(script), **kwargs))

    with stack:
        yield start


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Debian Chromium driven by Playwright (session-wide)."""
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        _missing_browser(f"{CHROMIUM} not found (Debian: apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing_browser("the playwright package is not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome-error"):
        return True
    return parts.hostname in ALLOWED_HOSTS


def new_offline_page(browser: Any, *, viewport: dict[str, int] | None = None) -> Any:
    """Open a page in a fresh context that cannot reach anything but this machine."""
    context = browser.new_context(viewport=viewport or {"width": 1100, "height": 900})
    page = context.new_page()
    page.blocked = []
    page.blocked_from = []  # (frame URL, blocked URL)
    page.dialogs = []
    page.console_errors = []

    def route(r: Any) -> None:
        if _is_local(r.request.url):
            r.continue_()
        else:
            page.blocked.append(r.request.url)
            try:
                frame_url = r.request.frame.url
            except Exception:  # requests of service workers have no frame
                frame_url = ""
            page.blocked_from.append((frame_url, r.request.url))
            r.abort("internetdisconnected")

    def on_dialog(d: Any) -> None:
        page.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    context.route("**/*", route)
    page.on("dialog", on_dialog)
    page.on("console", lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None)
    return page


@pytest.fixture
def offline_page(browser: Any) -> Iterator[Any]:
    """A page that can reach only 127.0.0.1 (see :func:`new_offline_page`)."""
    page = new_offline_page(browser)
    try:
        yield page
    finally:
        page.context.close()


def component_frame(page: Any, title_part: str = "st_folium", *, timeout_ms: float = 60_000) -> Any:
    """Return the Frame of the first component iframe whose title contains ``title_part``."""
    locator = page.locator(f'iframe[title*="{title_part}"]').first
    locator.wait_for(state="attached", timeout=timeout_ms)
    handle = locator.element_handle(timeout=timeout_ms)
    frame = handle.content_frame()
    if frame is None:
        raise RuntimeError(f"iframe {title_part!r} has no content frame")
    return frame


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot to ``artifacts/<name>.png`` and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_map(page: Any, *, min_paths: int = 1, timeout: float = 60.0) -> Any:
    """Return the frame whose Leaflet map has drawn at least ``min_paths`` shapes.

    Streamlit replaces component frames while it reruns, so every frame is polled.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for f in page.frames:
            try:
                if f.locator("path.leaflet-interactive").count() >= min_paths:
                    return f
            except Exception:  # a frame detached mid-poll
                pass
        page.wait_for_timeout(50)
    blocked = getattr(page, "blocked", [])[:5]
    raise AssertionError(f"no map with {min_paths} shapes within {timeout:.0f} s; blocked requests: {blocked}")


def app_env(settings: Any) -> dict[str, str]:
    """The environment that makes a server read ``settings``' data and cache folders."""
    return {"CMPD_DATA_DIR": str(settings.data_dir), "CMPD_CACHE_DIR": str(settings.cache_dir)}


@contextlib.contextmanager
def page_in(browser: Any, viewport: dict[str, int] | None = None) -> Iterator[Any]:
    """An offline page (:func:`new_offline_page`) of ``viewport`` (default :data:`DESKTOP`), closed afterwards."""
    p = new_offline_page(browser, viewport=viewport or DESKTOP)
    try:
        yield p
    finally:
        p.context.close()


def no_exception_shown(page: Any) -> None:
    """Assert the page shows no Streamlit exception box and no traceback."""
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.inner_text("body")


def offline(page: Any) -> None:
    """Assert nothing asked the internet (no tiles, no CDN) and no dialog opened."""
    assert page.blocked == [], page.blocked[:5]
    assert page.dialogs == []


def no_problems(page: Any) -> None:
    """:func:`no_exception_shown` and :func:`offline`."""
    no_exception_shown(page)
    offline(page)
