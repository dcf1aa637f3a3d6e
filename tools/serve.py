"""Start the app (what `make run` calls): `streamlit run app.py` with the landing page's work begun early.

Streamlit runs ``app.py`` only when the first browser session connects, so that first run
would also pay for importing geopandas, scipy, mapclassify and folium and for reading the
stops, computing the headline figure and building the landing map. This launcher does that
work in a background thread while the server starts and the browser loads Streamlit's own
scripts (time the process would otherwise spend idle): it imports the modules (shared
through ``sys.modules``) and calls the pages' own cached functions
(:func:`app_pages.overview.warm`), so the first run finds the values in Streamlit's caches,
or waits for the one being computed (Streamlit holds a lock per cached value) instead of
computing it twice. The place index and the reference layers come from the on-disk cache
(:mod:`geo.layers.prepared`), which the thread also rebuilds when an input file changed.

The thread stops starting new steps once a session's script runs (a thread computing ahead of the
script shares the interpreter with it). It is off by default (``SERVE_WARM=1`` turns it on): on this
2-core machine under a load average of 10-18, bench/bench_app.py measured the landing page's heading
and map later with it than without (the extra thread also slows the server's own start); on an idle
machine with cores to spare, measure again.

Usage: python tools/serve.py [streamlit options, e.g. --server.port 8501]
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THREAD = "warm-caches"
#: The loggers that warn when a cached function runs outside a session.
_STREAMLIT_LOGGERS = (
    "streamlit.runtime.scriptrunner_utils.script_run_context",
    "streamlit.runtime.caching.cache_data_api",
    "streamlit.runtime.caching.cache_resource_api",
)


class _QuietWarmThread(logging.Filter):
    """Drop Streamlit's "missing ScriptRunContext" warnings from the warm-up thread (it has no session)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != THREAD


#: The name Streamlit gives the thread that runs a session's script.
_SCRIPT_THREAD = "ScriptRunner.scriptThread"
_session_seen = threading.Event()


def _no_session_yet() -> bool:
    """True until a session's script has started to run (then False for good).

    Warming helps only while the process would otherwise be idle: once a script runs, a second
    thread computing ahead of it shares the interpreter with it and delays what it draws first.
    """
    if not _session_seen.is_set() and any(t.name.startswith(_SCRIPT_THREAD) for t in threading.enumerate()):
        _session_seen.set()
    return not _session_seen.is_set()


def _warm() -> None:
    try:
        from streamlit import runtime

        import app_pages.common  # noqa: F401  (streamlit, the layers)
        import geo.layers.build  # noqa: F401  (geopandas)

        deadline = time.monotonic() + 60
        while not runtime.exists() and time.monotonic() < deadline:  # the caches live in the server's runtime
            time.sleep(0.05)
        from app_pages import overview

        overview.warm(keep_going=_no_session_yet)
    except Exception:  # warming is an optimisation; the pages report real problems themselves
        pass


def main() -> int:
    """Start the warm-up thread if ``SERVE_WARM=1`` and run ``streamlit run app.py`` with the given options."""
    sys.path.insert(0, str(ROOT))
    if os.environ.get("SERVE_WARM", "0") == "1":
        for name in _STREAMLIT_LOGGERS:
            logging.getLogger(name).addFilter(_QuietWarmThread())
        threading.Thread(target=_warm, name=THREAD, daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *sys.argv[1:]]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
