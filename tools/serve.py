"""Start the app (what `make run` calls): `streamlit run app.py` with the heavy imports warmed.

Streamlit runs ``app.py`` only when the first browser session connects, so that first
run would also pay for importing geopandas, libpysal, mapclassify and folium (about
1.5 s here). This launcher imports them in a background thread while the server starts
and the browser loads Streamlit's own scripts, so the first map paints sooner. The
modules are shared through ``sys.modules``; nothing else changes.

Usage: python tools/serve.py [streamlit options, e.g. --server.port 8501]
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _warm() -> None:
    try:
        import app_pages.common  # noqa: F401  (streamlit, geopandas, the layers)
        import geo.analysis.hotspots  # noqa: F401  (the statistics)
        import geo.maps.draw  # noqa: F401  (folium, mapclassify)
        from geo.layers import build

        build.stops()  # read the Parquet cache once, so the OS has it in memory
        build.npa_layer()
    except Exception:  # warming is an optimisation; the app reports real problems itself
        pass


def main() -> int:
    """Warm the imports in the background and run ``streamlit run app.py`` with the given options."""
    sys.path.insert(0, str(ROOT))
    if os.environ.get("SERVE_WARM", "0") == "1":  # off by default: on 2 busy cores it delayed the first paint
        threading.Thread(target=_warm, name="warm-imports", daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *sys.argv[1:]]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
