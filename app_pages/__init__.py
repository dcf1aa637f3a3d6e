"""The Streamlit pages: each wires widgets to one geo call and draws; common.py holds what they share.

:data:`PAGES` is the one list of pages: ``app.py`` builds the navigation from it, and the
tests and ``tools/golden.py`` visit every page through it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PageSpec", "PAGES", "UNFILTERED_PAGES"]


@dataclass(frozen=True)
class PageSpec:
    """One page of the app: its script, its title in the navigation, and its address (``/url_path``)."""

    path: str
    title: str
    url_path: str
    default: bool = False


PAGES: tuple[PageSpec, ...] = (
    PageSpec("app_pages/overview.py", "Overview", "overview", default=True),
    PageSpec("app_pages/map_explorer.py", "Map explorer", "map"),
    PageSpec("app_pages/hotspots.py", "Hot spots", "hotspots"),
    PageSpec("app_pages/emerging.py", "Emerging hot spots", "emerging"),
    PageSpec("app_pages/disparities.py", "Disparities and accountability", "disparities"),
    PageSpec("app_pages/use_of_force.py", "Use of force", "use-of-force"),
    PageSpec("app_pages/neighborhood.py", "Your neighborhood", "neighborhood"),
    PageSpec("app_pages/export.py", "Export", "export"),
    PageSpec("app_pages/upload.py", "Check a stops file", "check-file"),
    PageSpec("app_pages/methods.py", "Methods and data", "methods"),
)


#: Pages that show no stop figure: the sidebar says the stop filters do not change them.
UNFILTERED_PAGES: frozenset[str] = frozenset({"emerging", "methods", "check-file"})
