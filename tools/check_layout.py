"""Check the layout rules that ruff, mypy and import-linter do not: run by ``make lint``.

- no module in ``geo/`` over 600 lines, at most 12 files at ``geo/``'s top level;
- no function over 80 lines (its docstring not counted) in geo, app_pages, tools, tests, bench;
- the app imports only public ``geo`` names (no ``_private`` module or name);
- every stage package of ``geo/`` has its tests folder (``tests/<package>/``).

Prints one line per problem (``path:line: message``) and exits 1 if there is any.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 600
MAX_TOP_LEVEL_FILES = 12
MAX_FUNCTION_LINES = 80
CODE_DIRS = ("geo", "app_pages", "tools", "tests", "bench")


def _python_files(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if ".venv" not in p.parts)


def _function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    first = body[0]
    docstring = (
        isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
    )
    start = first.end_lineno + 1 if docstring and len(body) > 1 and first.end_lineno else first.lineno
    return (node.end_lineno or start) - start + 1


def module_sizes() -> list[str]:
    """Modules of geo/ over the size limit, and too many files at geo/'s top level."""
    problems = []
    for p in _python_files("geo"):
        n = len(p.read_text().splitlines())
        if n > MAX_MODULE_LINES:
            problems.append(f"{p.relative_to(ROOT)}:1: {n} lines; split it (at most {MAX_MODULE_LINES})")
    top = sorted(p.name for p in (ROOT / "geo").glob("*.py"))
    if len(top) > MAX_TOP_LEVEL_FILES:
        problems.append(f"geo/:1: {len(top)} files at the top level ({', '.join(top)}); at most {MAX_TOP_LEVEL_FILES}")
    return problems


def function_sizes() -> list[str]:
    """Functions over the length limit, docstrings not counted."""
    problems = []
    for folder in CODE_DIRS:
        for p in _python_files(folder):
            for node in ast.walk(ast.parse(p.read_text())):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    n = _function_lines(node)
                    if n > MAX_FUNCTION_LINES:
                        problems.append(
                            f"{p.relative_to(ROOT)}:{node.lineno}: function {node.name} has {n} lines "
                            f"(at most {MAX_FUNCTION_LINES}); split it along check -> compute -> assemble"
                        )
    return problems


def _private(dotted: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in dotted.split("."))


def app_imports() -> list[str]:
    """Imports of private geo modules or names by the app."""
    problems = []
    for p in [ROOT / "app.py", *_python_files("app_pages")]:
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "geo":
                names = [a.name for a in node.names]
                bad = [n for n in names if _private(n)]
                if _private(node.module) or bad:
                    what = node.module + (f" ({', '.join(bad)})" if bad else "")
                    problems.append(f"{p.relative_to(ROOT)}:{node.lineno}: imports a private geo name: {what}")
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == "geo" and _private(a.name):
                        problems.append(f"{p.relative_to(ROOT)}:{node.lineno}: imports a private geo module: {a.name}")
    return problems


def test_folders() -> list[str]:
    """Stage packages of geo/ without a tests folder of the same name."""
    packages = sorted(p.parent.name for p in (ROOT / "geo").glob("*/__init__.py"))
    return [
        f"tests/{name}/:1: missing: tests mirror geo/{name}/"
        for name in packages
        if not (ROOT / "tests" / name).is_dir()
    ]


def main() -> int:
    """Print every problem; return 1 if there is any."""
    problems = module_sizes() + function_sizes() + app_imports() + test_folders()
    print("\n".join(problems) if problems else "layout: ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
