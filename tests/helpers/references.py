"""Reference libraries that need numba's JIT on while they are imported and run (giddy, via quantecon).

Importing :mod:`geo` turns numba's JIT off for the process (``NUMBA_DISABLE_JIT=1``, see
``geo/__init__.py``). quantecon compiles gufuncs (``guvectorize``, which ignores that switch) when it
is imported, and numba's own helpers they need are then plain functions, so a fresh environment
fails with "'function' object has no attribute 'get_call_template'" (an environment with numba's
on-disk cache from an earlier run does not show it). Tests that compare with giddy run with the
JIT on for their module.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def numba_jit_on() -> Iterator[None]:
    """Turn numba's JIT on inside the block (re-reading numba's configuration), then back as it was."""
    from numba.core import config

    old = os.environ.get("NUMBA_DISABLE_JIT")
    os.environ["NUMBA_DISABLE_JIT"] = "0"
    config.reload_config()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("NUMBA_DISABLE_JIT", None)
        else:
            os.environ["NUMBA_DISABLE_JIT"] = old
        config.reload_config()
