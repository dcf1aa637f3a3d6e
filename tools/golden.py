"""Golden outputs: record what the command line and the app produce, and compare later runs.

A refactor that moves code must not change a single output. This script runs, in one
process with a fresh cache folder,

- ``python -m geo report --json`` (paths made relative to the data folder);
- ``python -m geo disparity --json`` for every ``--by`` and ``--outcome``, for
  ``--groups driver_race`` and for a filtered run;
- ``python -m geo hotspots --out`` for every method and layer it supports (plus
  per-capita rates and every kind of weights), recording the sha256 of each GeoJSON
  file and the summary it printed;
- ``python -m geo export`` of every layer as GeoJSON and CSV (sha256 of the files);
- every app page through Streamlit's AppTest: titles, headers, metrics, captions,
  messages and the content of every table (sha256 of its CSV).

Usage::

    python tools/golden.py --write tests/golden/outputs.json   # record
    python tools/golden.py --check tests/golden/outputs.json   # compare; exit 1 on a difference

The test ``tests/test_golden.py`` runs the check. When a change is *meant* to alter an
output, record again and say in the commit which outputs changed and why.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import io
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BY = ("division", "month", "reason", "officer_race", "officer_years")
OUTCOMES = ("search", "arrest", "citation")

#: (name, arguments of ``python -m geo hotspots`` without --out)
HOTSPOT_RUNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("npa_moran", ("--layer", "npa", "--variable", "violent_rate_2022", "--method", "moran")),
    ("npa_lisa", ("--layer", "npa", "--variable", "violent_rate_2022", "--method", "lisa")),
    ("npa_lisa_rook", ("--layer", "npa", "--variable", "violent_rate_2022", "--method", "lisa", "--weights", "rook")),
    (
        "npa_lisa_knn",
        ("--layer", "npa", "--variable", "violent_rate_2022", "--method", "lisa", "--weights", "knn", "--k", "5"),
    ),
    (
        "npa_lisa_distance",
        ("--layer", "npa", "--variable", "property_rate_2022", "--method", "lisa", "--weights", "distance"),
    ),
    (
        "npa_lisa_kernel",
        ("--layer", "npa", "--variable", "property_rate_2022", "--method", "lisa", "--weights", "kernel"),
    ),
    (
        "npa_lisa_none",
        ("--layer", "npa", "--variable", "violent_rate_2022", "--method", "lisa", "--correction", "none"),
    ),
    (
        "npa_lisa_bonf",
        ("--layer", "npa", "--variable", "violent_rate_2022", "--method", "lisa", "--correction", "bonferroni"),
    ),
    ("npa_lisa_percap", ("--layer", "npa", "--variable", "violent_crimes_2022", "--per-capita", "--method", "lisa")),
    ("npa_gi", ("--layer", "npa", "--variable", "violent_rate_2022", "--method", "gi")),
    ("npa_gi_perm", ("--layer", "npa", "--variable", "violent_rate_2022", "--method", "gi", "--permutations", "999")),
    ("npa_gi_percap", ("--layer", "npa", "--variable", "violent_crimes_2022", "--per-capita", "--method", "gi")),
    (
        "npa_gi_normal",
        ("--layer", "npa", "--variable", "violent_rate_2022", "--method", "gi", "--gi-inference", "normal"),
    ),
    (
        "npa_robustness",
        ("--layer", "npa", "--variable", "violent_crimes_2022", "--per-capita", "--method", "lisa", "--robustness"),
    ),
    ("npa_ehsa_none", ("--layer", "npa", "--variable", "violent_crimes", "--method", "ehsa", "--correction", "none")),
    ("npa_ehsa", ("--layer", "npa", "--variable", "violent_crimes", "--method", "ehsa")),
    ("npa_ehsa_lag2", ("--layer", "npa", "--variable", "property_crimes", "--method", "ehsa", "--time-lag", "2")),
    ("div_moran", ("--layer", "divisions", "--variable", "stops", "--method", "moran")),
    ("div_lisa", ("--layer", "divisions", "--variable", "search_rate", "--method", "lisa")),
    ("div_gi_percap", ("--layer", "divisions", "--variable", "stops", "--per-capita", "--method", "gi")),
    ("inc_gi", ("--layer", "incidents", "--variable", "count", "--method", "gi")),
)

#: (page, session-state changes) pairs recorded after the default view of every page.
STATES: tuple[tuple[str, dict[str, Any]], ...] = (
    *(("app_pages/disparities.py", {"dp_tab": t}) for t in ("Benchmark", "Models", "Officers", "Funnel plot")),
    *(
        ("app_pages/use_of_force.py", {"uf_tab": t})
        for t in ("Shootings by area and year", "People involved", "State tables (citywide)", "Two sources, two counts")
    ),
    ("app_pages/hotspots.py", {"hs_view": "Gi* hot and cold spots"}),
    ("app_pages/hotspots.py", {"hs_view": "Significance (p-values)"}),
    ("app_pages/hotspots.py", {"hs_layer": "Divisions"}),
    ("app_pages/hotspots.py", {"hs_layer": "Incident points (hexagons)"}),
    ("app_pages/map_explorer.py", {"mx_layer": "Neighborhoods (NPA)"}),
    ("app_pages/neighborhood.py", {"nb_npa": 30}),
    ("app_pages/emerging.py", {"eh_crime": "Property crime"}),
)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _cli(args: list[str]) -> tuple[int, str, str]:
    """Run ``python -m geo`` in this process; return the exit code, stdout and stderr."""
    from geo.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


@functools.cache
def _machine_paths() -> dict[str, str]:
    """Paths that differ between machines (the data folder, the mirror it was copied from) -> placeholders."""
    from geo.settings import get_settings

    data_dir = get_settings().data_dir
    out = {str(data_dir): "<data>"}
    manifest = data_dir / "manifest.json"
    if manifest.exists():
        source = json.loads(manifest.read_text()).get("source")
        if isinstance(source, str) and source.startswith("/"):
            out[source] = "<mirror>"
    return out


def _portable(text: str) -> str:
    """``text`` with the machine's paths replaced by placeholders."""
    for path, placeholder in _machine_paths().items():
        text = text.replace(path, placeholder)
    return text


def _relative(obj: Any, data_dir: str) -> Any:
    if isinstance(obj, str):
        return obj.replace(data_dir, "<data>")
    if isinstance(obj, list):
        return [_relative(x, data_dir) for x in obj]
    if isinstance(obj, dict):
        return {k: _relative(v, data_dir) for k, v in obj.items()}
    return obj


def record_cli(tmp: Path) -> dict[str, Any]:
    """Record the command line's outputs (files written into ``tmp``)."""
    from geo.settings import get_settings

    data_dir = str(get_settings().data_dir)
    out: dict[str, Any] = {}
    code, text, err = _cli(["report", "--json"])
    out["report"] = {"code": code, "json": _relative(json.loads(text), data_dir)}
    disp: dict[str, Any] = {}
    for by in BY:
        for outcome in OUTCOMES:
            code, text, err = _cli(["disparity", "--by", by, "--outcome", outcome, "--json"])
            disp[f"{by}/{outcome}"] = {"code": code, "sha": _sha(text.encode()), "rows": len(json.loads(text)["rows"])}
    for name, extra in (
        ("race", ["--groups", "driver_race"]),
        ("filtered", ["--start", "2021-01", "--reason", "Speeding", "--driver-gender", "Female"]),
        ("ref_black", ["--reference", "Black"]),
    ):
        code, text, err = _cli(["disparity", "--by", "division", "--json", *extra])
        disp[name] = {"code": code, "sha": _sha(text.encode()), "rows": len(json.loads(text)["rows"])}
    out["disparity"] = disp
    hs: dict[str, Any] = {}
    for name, args in HOTSPOT_RUNS:
        path = tmp / f"{name}.geojson"
        code, text, err = _cli(["hotspots", *args, "--out", str(path)])
        hs[name] = {
            "code": code,
            "stdout": text.replace(str(path), "<out>").replace(str(tmp), "<tmp>").splitlines(),
            "stderr": err.splitlines(),
            "sha": _sha(path.read_bytes()) if path.exists() else None,
        }
    out["hotspots"] = hs
    ex: dict[str, Any] = {}
    for layer in ("divisions", "npa", "ois", "incidents"):
        for fmt in ("geojson", "csv"):
            path = tmp / f"{layer}.{fmt}"
            code, text, err = _cli(["export", "--layer", layer, "--out", str(path)])
            ex[f"{layer}.{fmt}"] = {
                "code": code,
                "stdout": text.replace(str(path), "<out>").replace(str(tmp), "<tmp>").strip(),
                "sha": _sha(path.read_bytes()),
            }
    out["export"] = ex
    return out


def _page_record(at: Any) -> dict[str, Any]:
    def values(kind: str) -> list[str]:
        try:
            return [str(e.value) for e in at.get(kind)]
        except Exception:  # an element kind the page does not have
            return []

    tables = []
    for df in [*at.dataframe, *at.table]:
        value = df.value
        # 10 significant digits: model fits may differ in the last bits between runs (threaded BLAS);
        # when a file was fetched is not an output of the code
        value = value.drop(columns=[c for c in value.columns if str(c) == "retrieved"])
        text = _portable(value.to_csv(float_format="%.10g"))
        tables.append(
            {"shape": list(value.shape), "columns": [str(c) for c in value.columns], "sha": _sha(text.encode())}
        )
    return {
        "title": [t.value for t in at.title],
        "header": [h.value for h in at.header],
        "subheader": [h.value for h in at.subheader],
        "metrics": [[m.label, m.value] for m in at.metric],
        "caption": [c.value for c in at.caption],
        "error": [e.value for e in at.error],
        "warning": [e.value for e in at.warning],
        "info": [e.value for e in at.info],
        "success": [e.value for e in at.success],
        "exception": [str(e.value) for e in at.exception],
        "markdown_sha": _sha("\n".join(m.value for m in at.markdown).encode()),
        "tables": tables,
        "selectbox": values("selectbox"),
        # the chart's structure; its numbers are in the tables (dataset names are hashes of the data)
        # folium maps as streamlit-folium sends them (its element ids are deterministic)
        "maps": [_sha(json.loads(c.proto.json_args)["script"].encode()) for c in at.get("component_instance")],
        "charts": [
            _sha(re.sub(r'"name": "[0-9a-f]{32}"', '"name": "<data>"', c.proto.spec).encode())
            for c in at.get("vega_lite_chart")
        ],
    }


def record_app() -> dict[str, Any]:
    """Record every page, then the states of :data:`STATES`, through AppTest."""
    from streamlit.testing.v1 import AppTest

    out: dict[str, Any] = {}
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    import app_pages

    for page in (p.path for p in app_pages.PAGES):
        at.switch_page(page).run()
        out[page] = _page_record(at)
    for page, state in STATES:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
        at.switch_page(page).run()
        for key, value in state.items():
            at.session_state[key] = value
        at.run()
        out[f"{page} {json.dumps(state)}"] = _page_record(at)
    return out


def record(*, app: bool = True, cache_dir: Path | None = None) -> dict[str, Any]:
    """Record every golden output (with a fresh cache folder unless ``cache_dir`` is given)."""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CMPD_CACHE_DIR"] = str(cache_dir or Path(tmp) / "cache")
        result = {"cli": record_cli(Path(tmp))}
        if app:
            result["app"] = record_app()
    return json.loads(_portable(json.dumps(result)))


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where two records differ, as ``path: expected -> actual`` lines."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for k in sorted(set(expected) | set(actual)):
            if k not in actual:
                out.append(f"{path}/{k}: missing now")
            elif k not in expected:
                out.append(f"{path}/{k}: new")
            else:
                out += differences(expected[k], actual[k], f"{path}/{k}")
        return out
    if expected != actual:
        return [f"{path}: {json.dumps(expected)[:300]} -> {json.dumps(actual)[:300]}"]
    return []


def main(argv: list[str] | None = None) -> int:
    """Record or check; return the exit code."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--write", type=Path, metavar="FILE", help="record the golden outputs into FILE")
    g.add_argument("--check", type=Path, metavar="FILE", help="compare with FILE; exit 1 on a difference")
    p.add_argument("--no-app", action="store_true", help="skip the app pages")
    p.add_argument("--cache-dir", type=Path, metavar="DIR", help="use this cache folder (default: a fresh one)")
    args = p.parse_args(argv)
    result = record(app=not args.no_app, cache_dir=args.cache_dir)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {args.write}")
        return 0
    expected = json.loads(args.check.read_text())
    if args.no_app:
        expected.pop("app", None)
    diff = differences(expected, result)
    print("\n".join(diff) if diff else "golden outputs identical")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
