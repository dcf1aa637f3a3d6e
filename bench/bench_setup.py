"""Clean clone -> first painted map: `make run` on a fresh checkout, timed to the landing page's map (issue 16 item 5).

Clones this repository (its committed HEAD) into a temporary folder with ``../shared`` linked beside it,
as CI lays it out, runs ``make run`` there on a free port and opens the landing page in headless
Chromium (every request outside 127.0.0.1 blocked), printing the seconds from the start of
``make run`` to:

- the virtual environment installed (``.venv/.installed`` appears), the data copied
  (``data/raw/manifest.json``), the server answering ``/_stcore/health``;
- the landing page's heading and its painted hot-spot map (459 NPA shapes).

``--cold`` first removes the tools folder outside the clone (``~/.cache/cmpd-hotspots``: uv and its
download cache), so uv is installed and every package downloaded again; without it the figure is that
of a second clone on the same machine. Target (issue 16): <= 20 s when packages are reachable.

Run: .venv/bin/python bench/bench_setup.py [--cold]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, free_port, wait_for_map  # noqa: E402

TOOLS = Path.home() / ".cache" / "cmpd-hotspots"


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/_stcore/health", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cold", action="store_true", help="remove uv and its cache first (a first clone)")
    args = ap.parse_args()
    if args.cold:
        shutil.rmtree(TOOLS, ignore_errors=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench_setup_") as tmp, sync_playwright() as p:
        clone = Path(tmp) / "main"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        shared = ROOT.parent / "shared"
        if shared.exists():
            (Path(tmp) / "shared").symlink_to(shared.resolve())
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url else r.abort())
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        t0 = time.monotonic()
        proc = subprocess.Popen(
            ["make", "run", f"PORT={port}"], cwd=clone, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        marks: dict[str, float] = {}
        try:
            checks = {
                "venv installed": lambda: (clone / ".venv" / ".installed").exists(),
                "data copied": lambda: (clone / "data" / "raw" / "manifest.json").exists(),
                "server healthy": lambda: _healthy(base),
            }
            deadline = t0 + 600
            while len(marks) < len(checks) and time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise RuntimeError(f"make run ended with exit code {proc.returncode}")
                for name, check in checks.items():
                    if name not in marks and check():
                        marks[name] = time.monotonic() - t0
                time.sleep(0.05)
            page.goto(f"{base}/")
            page.get_by_role("heading", name="CMPD hot spots: overview").wait_for(timeout=180_000)
            marks["heading"] = time.monotonic() - t0
            wait_for_map(page, min_paths=459, timeout=180)
            marks["map painted"] = time.monotonic() - t0
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
            browser.close()
    label = "cold (uv and its cache removed first)" if args.cold else "warm (uv and its cache from an earlier clone)"
    print(
        f"clean clone -> make run, {label}: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in marks.items())
        + " (target: map <= 20 s; load {:.2f} {:.2f} {:.2f})".format(*os.getloadavg())
    )


if __name__ == "__main__":
    main()
