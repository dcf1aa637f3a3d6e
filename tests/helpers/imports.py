"""Which modules importing some of ours brings in, asked of a fresh interpreter (this one has imported everything)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Sequence

from geo.settings import PROJECT_ROOT


def imported_by(modules: Sequence[str], watched: Sequence[str]) -> list[str]:
    """The ``watched`` modules that a new Python process has loaded after ``import``-ing ``modules``."""
    child = f"import sys\nimport {', '.join(modules)}\nprint(sorted(m for m in {tuple(watched)!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", child], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return list(ast.literal_eval(out.stdout.strip()))  # a printed list of str
