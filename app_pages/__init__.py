"""The Streamlit pages: each wires widgets to one geo call and draws; common.py holds what they share.

:data:`PAGES` is the one list of pages in the navigation: ``app.py`` builds the navigation from it
(with :data:`ALIASES`, the addresses that show a page without a navigation entry of their own),
and the tests and ``tools/golden.py`` visit every page through it.

The landing page answers at ``/`` and at ``/overview``. Streamlit serves its default page at
``/`` only (``st.Page(default=True, url_path=...)`` keeps ``url_path`` as an internal name: 1.67
answers ``/overview`` with "Page not found"), so the overview is a page of its own at
``/overview`` and a hidden alias of it is the default page at ``/``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["PageSpec", "PAGES", "ALIASES", "UNFILTERED_PAGES", "spec", "draw_heading", "heading", "import_pages_later"]


@dataclass(frozen=True)
class PageSpec:
    """One page of the app: its script, its title in the navigation, and its address (``/url_path``).

    ``default``: served at ``/`` (its ``url_path`` is then only an internal name). ``hidden``: not
    listed in the navigation (``st.Page(..., visibility="hidden")``). ``heading``: the page's title
    at its top (:func:`heading`), when it differs from ``title``.
    """

    path: str
    title: str
    url_path: str
    default: bool = False
    hidden: bool = False
    heading: str = ""

    @property
    def visibility(self) -> str:
        """``"hidden"`` or ``"visible"``, as ``st.Page`` takes it."""
        return "hidden" if self.hidden else "visible"


PAGES: tuple[PageSpec, ...] = (
    PageSpec("app_pages/overview.py", "Overview", "overview", heading="CMPD hot spots: overview"),
    PageSpec("app_pages/map_explorer.py", "Map explorer", "map"),
    PageSpec("app_pages/hotspots.py", "Hot spots", "hotspots"),
    PageSpec("app_pages/emerging.py", "Emerging hot spots", "emerging"),
    PageSpec("app_pages/factors.py", "Which factors play a role", "factors"),
    PageSpec("app_pages/trends.py", "Problem areas over time", "trends"),
    PageSpec("app_pages/disparities.py", "Disparities and accountability", "disparities"),
    PageSpec("app_pages/use_of_force.py", "Use of force", "use-of-force"),
    PageSpec("app_pages/accountability.py", "Accountability beyond stops", "accountability"),
    PageSpec("app_pages/neighborhood.py", "Your neighborhood", "neighborhood"),
    PageSpec("app_pages/export.py", "Export", "export", heading="Export layers"),
    PageSpec("app_pages/upload.py", "Check a stops file", "check-file"),
    PageSpec("app_pages/data.py", "Data coverage", "data", heading="Data coverage and row accounting"),
    PageSpec("app_pages/methods.py", "Methods and data", "methods"),
)

#: Addresses that run a page of :data:`PAGES` without an entry in the navigation: the landing page at ``/``.
ALIASES: tuple[PageSpec, ...] = (
    PageSpec(
        "app_pages/overview.py", "Overview", "home", default=True, hidden=True, heading="CMPD hot spots: overview"
    ),
)


#: Pages that show no stop figure: the sidebar says the stop filters do not change them.
UNFILTERED_PAGES: frozenset[str] = frozenset({"emerging", "trends", "factors", "methods", "check-file"})


def spec(url_path: str) -> PageSpec | None:
    """The page at ``/url_path`` (``""``: the default page), or ``None``."""
    for p in (*ALIASES, *PAGES):
        if p.url_path == url_path or (p.default and url_path == ""):
            return p
    return None


#: The page whose heading ``app.py`` has drawn in this script run (each run has its own thread).
_early = threading.local()


def draw_heading(url_path: str) -> None:
    """Draw the heading of the page at ``/url_path`` now, first of all (``app.py``, before the sidebar).

    The heading then reaches the browser before the stops are read for the sidebar and the page's
    modules are imported (a second or two on a first visit); the page's own :func:`heading` call in
    the same run draws nothing.
    """
    import streamlit as st

    page = spec(url_path)
    _early.path = page.path if page else None
    if page is not None:
        st.title(page.heading or page.title)


def heading(path: str) -> None:
    """Draw the title of the page whose script is ``path`` (e.g. ``"app_pages/hotspots.py"``), unless drawn already.

    Every page calls this first; run through ``app.py`` the heading is already there (:func:`draw_heading`),
    run on its own (a test harness) the page draws it.
    """
    import streamlit as st

    if getattr(_early, "path", None) == path:
        _early.path = None
        return
    page = next(p for p in PAGES if p.path == path)
    st.title(page.heading or page.title)


#: Set once the background import of the pages has been started (once per process).
_IMPORTING = threading.Event()


def import_pages_later() -> None:
    """Import every page's modules in a background thread, once per process, after the first page is drawn.

    A page's first visit in a process spends most of its time importing what it needs (the Hot spots
    page: altair, the statistics, the robustness runs; the Map explorer: mapclassify, 3.4 s). ``app.py``
    calls this at the end of a run, so the imports use the time a person spends reading the first page,
    and the next page they open finds its modules loaded. A page opened while the thread works waits only
    for the module being imported (Python's import lock), never for the whole list.
    """
    if _IMPORTING.is_set():
        return
    _IMPORTING.set()
    threading.Thread(target=_import_pages, name="import-pages", daemon=True).start()


#: Seconds the background import waits after the first run: the browser is still fetching the first page's
#: map component from the server then, and an import holding the interpreter would delay that map.
IMPORT_DELAY_S = 2.0


def _import_pages() -> None:
    import importlib
    import time

    time.sleep(IMPORT_DELAY_S)

    for name in (*(p.path.removesuffix(".py").replace("/", ".") for p in PAGES), "mapclassify"):
        try:
            importlib.import_module(name)  # a page module's top level defines its functions; nothing is drawn
        except Exception:  # an optimisation only: the page reports its own problems when it runs
            pass
