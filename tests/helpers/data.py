"""Where the tests find the real data: the mirror beside the checkout (CI has it)."""

from __future__ import annotations

from geo.settings import PROJECT_ROOT

#: The shared mirror laid out like ``data/raw`` (``../shared/data`` seen from the project root).
SHARED = PROJECT_ROOT.parent / "shared" / "data"
