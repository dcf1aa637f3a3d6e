"""Many people at once: N concurrent browser sessions against one local server (issue 15, item 7).

For each session count the server is started afresh, as `make run` starts it (tools/serve.py with the
``run`` target's flags, on a free port of 127.0.0.1), warmed by one session visiting every page once,
and then N Playwright contexts of one headless Debian Chromium (every request not to this machine
aborted) loop for ``--duration`` seconds over the pages (``/``, ``/map``, ``/hotspots``,
``/neighborhood?npa=380``, ``/disparities``), switching pages by the sidebar's links and changing a
widget or two on each (the map's layer, the hot-spot map view, the disparities tab). Measured:

- time to a settled page: from the click (or ``goto``) until Streamlit's running indicator is gone
  (``stApp``'s ``data-test-script-state`` is ``notRunning``), nothing is stale and the page's main
  element is there (its heading; on map pages a painted Leaflet shape), seen twice 0.25 s apart (the
  first time is recorded); after a widget change the rerun is given 1.5 s to show itself first;
- errors: an exception box, an error alert, a "connection error", a step that does not settle
  within ``--step-timeout``, or a Playwright failure;
- ``/_stcore/health`` polled every 0.5 s from a thread (latency; a failure or > 1 s is a miss);
- RSS of the server's process tree every second (psutil), through the load and ``--idle`` seconds
  of idleness after every context is closed; CPU seconds of the server and of the browser.

Targets (issue 15): no errors, health always within 1 s, p95 <= 5 s, RSS <= 1.5 GB and back within
20 % of its start (after the warm-up) after 60 s idle.

Run: .venv/bin/python bench/bench_sessions.py --sessions 1,5,10,20 --duration 180 --idle 60 --json OUT
(quick: --sessions 1,5 --duration 30 --idle 20). Needs `make setup`, the data and Debian's chromium.
In a checkout others edit during the run, add ``--server-flag=--server.fileWatcherType=none``: `make run`'s
file watcher otherwise reloads edited modules under the running sessions (and half-made edits break pages).
The browser runs on the same cores as the server: the CPU seconds printed say which of the two was busy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.browser import ALLOWED_HOSTS, CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

#: The ``run`` target's flags (Makefile), with the address and port of this run added.
RUN_FLAGS = (
    "--server.headless", "true",
    "--server.enableStaticServing", "true",
    "--browser.gatherUsageStats", "false",
)  # fmt: skip
VIEWPORT = {"width": 1400, "height": 1000}
GB = 1024**3

#: (path, heading, a map must be painted) of each page visited.
PAGES = (
    ("/", "CMPD hot spots: overview", True),
    ("/map", "Map explorer", True),
    ("/hotspots", "Hot spots", True),
    ("/neighborhood?npa=380", "Neighborhood profile area 380", True),
    ("/disparities", "Disparities and accountability", False),
)

#: True when the page has finished its run (Streamlit's script state), nothing is stale and the heading is there.
SETTLED_JS = """(heading) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  const hs = Array.from(document.querySelectorAll('h1, h2, h3'));
  return hs.some(h => (h.textContent || '').trim().startsWith(heading));
}"""
#: A run has started (the script is running or asked to, or an element is stale).
RUNNING_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const state = app ? app.getAttribute('data-test-script-state') : '';
  return state === 'running' || state === 'rerunRequested' || !!document.querySelector('[data-stale="true"]');
}"""
MAP_JS = "() => !!document.querySelector('path.leaflet-interactive')"
#: What a person must never see: the text of the first such element, or ''.
PROBLEM_JS = """() => {
  const ex = document.querySelector('[data-testid="stException"]');
  if (ex) return 'exception: ' + ex.innerText.slice(0, 200);
  for (const a of document.querySelectorAll('[data-testid="stAlertContentError"], [data-testid="stAlert"]')) {
    const t = a.innerText || '';
    if (a.matches('[data-testid="stAlertContentError"]') || /Something went wrong|could not be loaded/.test(t))
      return 'error alert: ' + t.slice(0, 200);
  }
  const b = document.body ? document.body.innerText : '';
  if (/Connection error|Is Streamlit still running/.test(b)) return 'connection error';
  if (b.includes('Traceback')) return 'traceback';
  if (b.includes('This app has encountered an error')) return 'app error (redacted)';
  return '';
}"""


@dataclass
class Level:
    """What one session count measured."""

    sessions: int
    duration: float
    loads: list[float] = field(default_factory=list)  # seconds to a settled page
    by_step: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    blocked: int = 0
    health: list[tuple[float, float]] = field(default_factory=list)  # (t, latency s; inf = failed)
    rss: list[tuple[float, float]] = field(default_factory=list)  # (t, bytes), t from the server start
    marks: dict[str, float] = field(default_factory=dict)  # phase -> t
    cpu: dict[str, float] = field(default_factory=dict)
    load_avg: list[float] = field(default_factory=list)


# --------------------------------------------------------------------------- the server


def serve(port: int, extra: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    """Start the app as `make run` does (tools/serve.py and the ``run`` target's flags), plus ``extra`` flags."""
    root = ROOT
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", str(ROOT / ".cache")),
        "MPLCONFIGDIR": os.environ.get("MPLCONFIGDIR", str(ROOT / ".cache" / "matplotlib")),
    }
    (ROOT / "artifacts").mkdir(exist_ok=True)
    log = open(ROOT / "artifacts" / f"bench-sessions-{port}.log", "wb")  # noqa: SIM115 (closed with the process)
    cmd = [
        sys.executable,
        "tools/serve.py",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        *RUN_FLAGS,
        *extra,
    ]
    return subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server this script started (its own process group, by its id)."""
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=15)


def health_once(base: str, timeout: float = 5.0) -> float:
    """Seconds ``/_stcore/health`` took to answer 200, or ``inf``."""
    t = time.monotonic()
    try:
        with urllib.request.urlopen(f"{base}/_stcore/health", timeout=timeout) as r:
            return time.monotonic() - t if r.status == 200 else float("inf")
    except OSError:
        return float("inf")


def wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Wait until the server answers its health check."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} (see artifacts/bench-sessions-*.log)")
        if health_once(base, 1) < float("inf"):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{base} not healthy within {timeout:.0f} s")


def tree_rss(proc: psutil.Process) -> float:
    """Resident memory of a process and its children, in bytes."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return float(total)


def tree_cpu(procs: list[psutil.Process]) -> float:
    """User + system CPU seconds of the processes (children that ended are counted by their parent)."""
    total = 0.0
    for p in procs:
        try:
            c = p.cpu_times()
            total += c.user + c.system + c.children_user + c.children_system
        except psutil.Error:
            pass
    return total


class Samplers:
    """The health poller (every 0.5 s) and the RSS sampler (every 1 s), each in its own thread."""

    def __init__(self, base: str, server: psutil.Process, level: Level, t0: float) -> None:
        self.base, self.server, self.level, self.t0 = base, server, level, t0
        self.done = threading.Event()
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self._health, self._rss)]

    def _health(self) -> None:
        while not self.done.is_set():
            t = time.monotonic()
            self.level.health.append((t - self.t0, health_once(self.base)))
            self.done.wait(max(0.0, 0.5 - (time.monotonic() - t)))

    def _rss(self) -> None:
        while not self.done.is_set():
            self.level.rss.append((time.monotonic() - self.t0, tree_rss(self.server)))
            self.done.wait(1.0)

    def __enter__(self) -> Samplers:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        for t in self.threads:
            t.join(timeout=10)


# --------------------------------------------------------------------------- one session


async def offline_context(browser: Any, blocked: list[str], timeout: float = 90.0) -> tuple[Any, Any]:
    """A fresh context and page that reach only this machine (other requests aborted, noted in ``blocked``)."""
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(timeout * 1000)  # clicks and loads wait as long as a page may take to settle

    async def route(r: Any) -> None:
        u = urlsplit(r.request.url)
        if NO_MAPS and "streamlit_folium" in u.path:  # --no-maps: the map component's page is never loaded
            await r.abort("blockedbyclient")
        elif u.scheme in ("data", "blob", "about") or u.hostname in ALLOWED_HOSTS:
            await r.continue_()
        else:
            blocked.append(r.request.url)
            await r.abort("internetdisconnected")

    await context.route("**/*", route)
    return context, await context.new_page()


async def settle(page: Any, heading: str, need_map: bool, *, after_action: bool, timeout: float) -> float:
    """Wait for a settled page; return the monotonic time it was first seen settled (confirmed 0.25 s later)."""
    deadline = time.monotonic() + timeout
    if after_action:  # give the rerun up to 1.5 s to show itself, so the old page is not taken as settled
        start_by = time.monotonic() + 1.5
        while time.monotonic() < start_by and not await _safe(page, RUNNING_JS):
            await asyncio.sleep(0.05)
    first: float | None = None
    while time.monotonic() < deadline:
        try:
            ok = await page.evaluate(SETTLED_JS, heading) and (not need_map or await painted(page))
        except Exception as exc:  # the document is being replaced (a load just committed): not settled yet
            if "context was destroyed" not in str(exc) and "navigat" not in str(exc):
                raise
            ok = False
        now = time.monotonic()
        if ok and first is None:
            first = now
        elif ok and first is not None and now - first >= 0.25:
            return first
        elif not ok:
            first = None
        await asyncio.sleep(0.05)
    raise TimeoutError(f"not settled within {timeout:.0f} s")


async def _safe(page: Any, js: str) -> bool:
    """``js`` evaluated in the page, False while the document is being replaced."""
    try:
        return bool(await page.evaluate(js))
    except Exception:
        return False


async def painted(page: Any) -> bool:
    """Whether a frame of the page holds a drawn Leaflet shape (component frames nest, so all are asked)."""
    for f in page.frames:
        if f is page.main_frame:
            continue
        try:
            if await f.evaluate(MAP_JS):
                return True
        except Exception:  # a frame replaced mid-poll
            pass
    return False


async def widget_change(page: Any, path: str, i: int) -> bool:
    """Change a widget of the page at ``path`` (which one depends on ``i``); False if the page has none."""
    if path == "/map":
        await page.get_by_text("Neighborhoods (NPA)" if i % 2 == 0 else "Divisions", exact=True).first.click()
    elif path == "/hotspots":
        view = ["Gi* hot and cold spots", "Significance (p-values)", "LISA clusters"][i % 3]
        await page.get_by_text(view, exact=True).first.click()
    elif path == "/disparities":
        await page.get_by_role("tab", name=["Benchmark", "Funnel plot", "Rates and ratios"][i % 3]).click()
    else:
        return False
    return True


async def navigate(page: Any, base: str, path: str) -> None:
    """Switch to ``path`` by the sidebar's link (one Streamlit session), else by loading the address."""
    bare = path.split("?")[0].strip("/")
    if "?" not in path and page.url.startswith(base):
        link = page.locator(f'[data-testid="stSidebarNav"] a[href$="/{bare}"]').first
        if bare and await link.count():
            await link.click()
            return
        if not bare:
            home = page.locator('[data-testid="stSidebarNav"] a').first  # the overview (its alias at / is hidden)
            if await home.count():
                await home.click()
                return
    await page.goto(base + path, wait_until="commit")  # the settle check waits for the rest


async def step(page: Any, base: str, spec: tuple[str, str, bool], i: int, level: Level | None, timeout: float) -> None:
    """Visit one page (and change a widget there), recording the times to a settled page."""
    path, heading, need_map = spec
    need_map = need_map and not NO_MAPS
    t = time.monotonic()
    label = path
    try:
        await navigate(page, base, path)
        done = await settle(page, heading, need_map, after_action=False, timeout=timeout)
        _record(level, label, done - t)
        await _check(page, level, label)
        label = f"{path} widget"
        t = time.monotonic()
        if await widget_change(page, path, i):
            done = await settle(page, heading, need_map, after_action=True, timeout=timeout)
            _record(level, label, done - t)
            await _check(page, level, label)
    except Exception as exc:  # a timeout or a Playwright failure: an error, and the session goes on
        if VERBOSE:
            print(f"  {label}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}", flush=True)
        if level is not None:
            level.errors.append(f"{label}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
        try:
            await page.goto(base + "/", wait_until="commit")
        except Exception:
            pass


VERBOSE = False
#: --no-maps: the sessions' browsers do not load the map component (Leaflet drawing 459 shapes per page), so on one
#: machine the figures are the server's: the script runs, the map HTML and its transfer, all as before.
NO_MAPS = False


def _record(level: Level | None, label: str, seconds: float) -> None:
    if VERBOSE:
        print(f"  {'warm-up ' if level is None else ''}{label}: {seconds:.2f} s", flush=True)
    if level is not None:
        level.loads.append(seconds)
        level.by_step.setdefault(label, []).append(seconds)


async def _check(page: Any, level: Level | None, label: str) -> None:
    problem = await page.evaluate(PROBLEM_JS)
    if problem and level is not None:
        level.errors.append(f"{label}: {problem}")


async def session(browser: Any, base: str, until: float, level: Level | None, timeout: float, seed: int) -> None:
    """One person: a fresh context, pages in a loop (a random start) until ``until``."""
    blocked: list[str] = []
    context, page = await offline_context(browser, blocked, timeout)
    rng = random.Random(seed)
    order = list(PAGES)
    rng.shuffle(order)
    i = 0
    try:
        while time.monotonic() < until:  # the first visit loads its address (the page is still blank)
            await step(page, base, order[i % len(order)], i, level, timeout)
            i += 1
    finally:
        if level is not None:
            level.blocked += len(blocked)
        await context.close()


# --------------------------------------------------------------------------- one level


async def run_level(n: int, args: argparse.Namespace) -> Level:
    """Start a server, warm it, run ``n`` sessions for ``args.duration`` s, close them, wait ``args.idle`` s."""
    from playwright.async_api import async_playwright

    level = Level(sessions=n, duration=args.duration)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    proc = serve(port, tuple(args.server_flag))
    server = psutil.Process(proc.pid)
    me = psutil.Process()
    try:
        with Samplers(base, server, level, t0):
            wait_healthy(base, proc)
            level.marks["healthy"] = time.monotonic() - t0
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                browsers = [p for p in me.children(recursive=True) if p.pid not in _tree_pids(server)]
                cpu0 = (tree_cpu([server]), tree_cpu(browsers))
                await _warm(browser, base, args.step_timeout)  # every page once, not counted
                level.marks["warm"] = time.monotonic() - t0
                cpu1 = (tree_cpu([server]), tree_cpu(browsers))
                until = time.monotonic() + args.duration
                tasks = [
                    asyncio.create_task(_staggered(k * args.stagger, browser, base, until, level, args.step_timeout, k))
                    for k in range(n)
                ]
                await asyncio.gather(*tasks)
                level.marks["load_end"] = time.monotonic() - t0
                cpu2 = (tree_cpu([server]), tree_cpu(browsers))
                await browser.close()
            level.load_avg = list(os.getloadavg())
            await asyncio.sleep(args.idle)
            level.marks["idle_end"] = time.monotonic() - t0
    finally:
        stop(proc)
    level.cpu = {
        "server_warmup_s": cpu1[0] - cpu0[0],
        "server_load_s": cpu2[0] - cpu1[0],
        "browser_load_s": cpu2[1] - cpu1[1],
    }
    return level


def _tree_pids(p: psutil.Process) -> set[int]:
    try:
        return {p.pid, *(c.pid for c in p.children(recursive=True))}
    except psutil.Error:
        return {p.pid}


async def _warm(browser: Any, base: str, timeout: float) -> None:
    """One visit of every page (and its widget), so the caches every person shares are filled."""
    context, page = await offline_context(browser, [], timeout)
    for i, spec in enumerate(PAGES):
        await step(page, base, spec, i, None, timeout)
    await context.close()


async def _staggered(delay: float, browser: Any, base: str, until: float, level: Level, timeout: float, k: int):
    await asyncio.sleep(delay)
    await session(browser, base, until, level, timeout, seed=k + 1)


# --------------------------------------------------------------------------- the report


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values`` by linear interpolation; nan when empty."""
    if not values:
        return float("nan")
    s = sorted(values)
    x = q * (len(s) - 1)
    lo = int(x)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (x - lo)


def summary(level: Level) -> dict[str, Any]:
    """The figures of one level: loads, errors, percentiles, health, RSS at the marks."""
    m = level.marks

    def rss_at(t: float) -> float:
        before = [r for tt, r in level.rss if tt <= t]
        return before[-1] if before else float("nan")

    during = [r for tt, r in level.rss if m.get("warm", 0) <= tt <= m.get("load_end", 0)]
    in_load = [lat for tt, lat in level.health if m.get("warm", 0) <= tt <= m.get("idle_end", 1e9)]
    start, after = rss_at(m.get("warm", 0)), rss_at(m.get("idle_end", 0))
    return {
        "sessions": level.sessions,
        "page_loads": len(level.loads),
        "errors": len(level.errors),
        "p50_s": pct(level.loads, 0.5),
        "p95_s": pct(level.loads, 0.95),
        "max_s": max(level.loads, default=float("nan")),
        "health_max_s": max(in_load, default=float("nan")),
        "health_over_1s": sum(1 for x in in_load if x > 1.0),
        "health_checks": len(in_load),
        "rss_boot_gb": rss_at(m.get("healthy", 0)) / GB,
        "rss_start_gb": start / GB,
        "rss_peak_gb": max(during, default=float("nan")) / GB,
        "rss_after_idle_gb": after / GB,
        "rss_after_idle_vs_start": after / start - 1 if start else float("nan"),
        "blocked_requests": level.blocked,
        "load_avg": level.load_avg,
        "cpu": level.cpu,
        "per_step_p50_p95": {k: (pct(v, 0.5), pct(v, 0.95), len(v)) for k, v in sorted(level.by_step.items())},
    }


def table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of the summaries."""
    head = (
        "| sessions | page loads | errors | p50 s | p95 s | max s | health max s (>1 s) "
        "| RSS start GB | RSS peak GB | RSS after idle GB (vs start) | load avg 1/5/15 |"
    )
    out = [head, "|" + "---|" * 11]
    for r in rows:
        la = "/".join(f"{x:.1f}" for x in r["load_avg"])
        out.append(
            f"| {r['sessions']} | {r['page_loads']} | {r['errors']} | {r['p50_s']:.2f} | {r['p95_s']:.2f} "
            f"| {r['max_s']:.2f} | {r['health_max_s']:.2f} ({r['health_over_1s']}/{r['health_checks']}) "
            f"| {r['rss_start_gb']:.2f} | {r['rss_peak_gb']:.2f} "
            f"| {r['rss_after_idle_gb']:.2f} ({r['rss_after_idle_vs_start']:+.0%}) | {la} |"
        )
    return "\n".join(out)


def memory_curve(level: Level, every: float = 15.0) -> str:
    """RSS every ``every`` seconds from the server start, in GB, with the phase marks."""
    pts, nxt = [], 0.0
    for t, r in level.rss:
        if t >= nxt:
            pts.append(f"{t:.0f}s {r / GB:.2f}")
            nxt = t + every
    marks = ", ".join(f"{k} {v:.0f}s" for k, v in level.marks.items())
    return f"{level.sessions} sessions (marks: {marks}): " + "; ".join(pts)


def main(argv: list[str] | None = None) -> int:
    """Run every level and print the table, the per-step times, the memory curves and the errors."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", default="1,5,10,20", help="session counts, comma-separated")
    ap.add_argument("--duration", type=float, default=180.0, help="seconds each level runs its sessions")
    ap.add_argument("--idle", type=float, default=60.0, help="seconds of idleness after the sessions close")
    ap.add_argument("--stagger", type=float, default=0.5, help="seconds between the starts of the sessions")
    ap.add_argument("--step-timeout", type=float, default=90.0, help="seconds a page may take to settle")
    ap.add_argument("--json", type=Path, help="write every sample and summary to this file")
    ap.add_argument("--verbose", action="store_true", help="print every step's time as it happens")
    ap.add_argument(
        "--no-maps",
        action="store_true",
        help="the browsers do not draw the maps (the component's page is blocked): on the server's own machine, "
        "the browsers' drawing would otherwise take most of the CPU",
    )
    ap.add_argument(
        "--server-flag",
        action="append",
        default=[],
        help="an extra flag for the server (repeat; e.g. --server-flag=--server.fileWatcherType=none, which keeps "
        "edits made in the checkout during a run from reloading modules under the sessions)",
    )
    args = ap.parse_args(argv)
    global VERBOSE, NO_MAPS
    VERBOSE, NO_MAPS = args.verbose, args.no_maps
    rows, levels = [], []
    for n in (int(x) for x in args.sessions.split(",")):
        print(f"== {n} session(s) for {args.duration:.0f} s, then {args.idle:.0f} s idle", flush=True)
        level = asyncio.run(run_level(n, args))
        levels.append(level)
        rows.append(summary(level))
        print(table(rows[-1:]), flush=True)
        if args.json:
            args.json.write_text(json.dumps({"summary": rows, "levels": [asdict(x) for x in levels]}, indent=1))
    print("\n" + table(rows))
    print("\nTime to a settled page by step (p50 / p95 s, count):")
    for r in rows:
        steps = "; ".join(f"{k} {a:.1f}/{b:.1f} ({c})" for k, (a, b, c) in r["per_step_p50_p95"].items())
        print(f"- {r['sessions']} sessions: {steps}; CPU s: " + ", ".join(f"{k} {v:.0f}" for k, v in r["cpu"].items()))
    print("\nServer RSS (GB) from the server start:")
    for level in levels:
        print("- " + memory_curve(level))
    for level in levels:
        for e in sorted(set(level.errors))[:10]:
            print(f"error ({level.sessions} sessions, x{level.errors.count(e)}): {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
