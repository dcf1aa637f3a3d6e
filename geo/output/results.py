"""Hot-spot results as export layers: values, z, p, bins and labels, with the method and its options.

:func:`result_layer` turns a :class:`geo.analysis.hotspots.HotspotRun` (``lisa``,
``gi``, ``ehsa``, ``moran``) or a :class:`geo.analysis.robustness.RobustnessResult` into
a :class:`ResultLayer`: one row per unit with

- the unit's id, the count and population behind a per-capita rate, the analysed
  value column(s);
- the statistic's columns (``lisa_*``, ``gi_*``, ``ehsa_*`` with each year's
  ``ehsa_z_YYYY`` / ``ehsa_p_YYYY``, ``moran_*``, ``robust_*``), described in
  :mod:`geo.output.dictionary`;
- the options as columns, so that a CSV stands on its own: ``method``, ``weights``,
  ``permutations``, ``seed``, ``alpha``, ``correction``, ``p_cutoff``;

and the whole set of options, the global statistic, the notes and the warnings as
metadata (:attr:`ResultLayer.parameters`). :func:`write_result` writes it with the
export machinery (:func:`geo.output.export.export_layer`): GeoJSON, GeoPackage (layer
``hotspots_<layer>_<method>``) or CSV, each with its dictionary and metadata.

Examples
--------
>>> run = run_hotspots(npa, layer="npa", variable="violent_crimes_2022", per_capita=True,
...                    method="lisa", permutations=99, seed=1)  # doctest: +SKIP
>>> write_result(run, "lisa.gpkg").layer_name  # doctest: +SKIP
'hotspots_npa_lisa'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.analysis.hotspot_variables import population_column
from geo.analysis.hotspots import HotspotRun
from geo.analysis.robustness import RobustnessResult
from geo.layers.catalog import CATALOG
from geo.layers.filters import StopFilter
from geo.output.dictionary import data_dictionary
from geo.output.export import CsvGeometry, ExportResult, Format, export_layer
from geo.output.metadata import LayerInfo, layer_info
from geo.settings import Settings

__all__ = ["STATISTIC_PREFIXES", "ResultLayer", "result_name", "result_layer", "write_result"]


#: Column prefixes of the statistics' own columns.
STATISTIC_PREFIXES: tuple[str, ...] = ("lisa_", "gi_", "ehsa_", "moran_", "robust_")

#: The option columns of a result layer, in order.
_OPTION_COLUMNS = ("method", "weights", "permutations", "seed", "alpha", "correction", "p_cutoff")

_RATE = re.compile(r"^(?P<count>.+)_per_\d+_pop(?:_eb)?$")

_METHOD_WORDS = {
    "lisa": "Local Moran's I (LISA)",
    "gi": "Getis-Ord Gi* hot spots",
    "ehsa": "Emerging hot spots",
    "moran": "Global Moran's I",
    "robustness": "Hot-spot robustness",
}


@dataclass(frozen=True)
class ResultLayer:
    """A hot-spot result ready to export.

    Attributes
    ----------
    frame
        One row per unit (index and CRS as the run's frame): id, values, the statistic's
        columns, the option columns, geometry.
    about
        Its name (``hotspots_npa_lisa``), title, description, sources and parameters.
    dictionary
        One row per column of ``frame`` (:func:`geo.output.dictionary.data_dictionary`).
    """

    frame: gpd.GeoDataFrame
    about: LayerInfo
    dictionary: pd.DataFrame

    @property
    def name(self) -> str:
        """The layer's name."""
        return self.about.name

    @property
    def parameters(self) -> Mapping[str, Any]:
        """The method, its options, the global statistic, notes and warnings."""
        return self.about.parameters


def _plain(value: object) -> Any:
    """A JSON-friendly copy of ``value`` (numbers as Python numbers, NaN as None, mappings with text keys)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _robustness(run: object) -> RobustnessResult | None:
    if isinstance(run, RobustnessResult):
        return run
    inner = getattr(run, "result", None)
    return inner if isinstance(inner, RobustnessResult) else None


def result_name(run: HotspotRun | RobustnessResult, *, layer: str | None = None) -> str:
    """``hotspots_<layer>_<method>`` (``hotspots_npa_robustness_lisa`` for robustness)."""
    rob = _robustness(run)
    base = layer or getattr(run, "layer", None) or "layer"
    method = f"robustness_{rob.method}" if rob is not None else str(getattr(run, "method", "result"))
    return re.sub(r"[^0-9a-z_]+", "_", f"hotspots_{base}_{method}".lower())


def _run_parameters(run: HotspotRun) -> dict[str, Any]:
    """The options of a :class:`HotspotRun` and its statistic, with the global statistic when there is one."""
    res = run.result
    stat = getattr(res, "gi", res)  # optimized hot spots keep Gi*'s result in .gi
    params: dict[str, Any] = {
        "method": run.method,
        "layer": run.layer,
        "variable": run.variable,
        "value_columns": list(run.columns),
        "weights": run.extra.get("weights"),
    }
    for attr in ("permutations", "seed", "alpha", "correction", "cutoff", "time_lag", "trend_alpha"):
        value = getattr(stat, attr, None)
        if value is not None:
            params["p_cutoff" if attr == "cutoff" else attr] = value
    statistic = getattr(stat, "statistic", None)
    if isinstance(statistic, str):
        params["statistic"] = statistic
    elif statistic is not None:  # Moran's I: the global statistic itself
        keys = ("I", "expected", "z_rand", "p_rand", "p_sim", "permutations", "n")
        params["global_moran"] = {k: getattr(statistic, k, None) for k in keys}
        params.setdefault("permutations", getattr(statistic, "permutations", None))
    extra = getattr(stat, "extra", {}) or {}
    for key in ("inference", "alternative", "cutoffs"):
        if key in extra:
            params[key] = extra[key]
    params["notes"] = list(run.notes)
    params["summary"] = list(getattr(run, "lines", ()))
    params["warnings"] = [{"code": w.code, "text": w.text} for w in getattr(run, "warnings", ())]
    out: dict[str, Any] = _plain(params)
    return out


def _robustness_parameters(rob: RobustnessResult, run: object) -> dict[str, Any]:
    params = {
        "method": "robustness",
        "statistic": rob.method,
        "layer": getattr(run, "layer", None),
        "variable": rob.variable,
        "value_columns": [rob.variable],
        "weights": [f"{s.name}: {s.describe()}" for s in rob.specs],
        "seeds": list(rob.seeds),
        "runs": rob.n_runs,
        "permutations": rob.permutations,
        "alpha": rob.alpha,
        "correction": rob.correction,
        "counts": dict(rob.counts),
        "runs_table": rob.runs.to_dict(orient="records"),
        "warnings": [{"code": w.code, "text": w.text} for w in rob.warnings],
    }
    out: dict[str, Any] = _plain(params)
    return out


def _value_columns(frame: pd.DataFrame, params: Mapping[str, Any], layer: str | None) -> list[str]:
    """The count and population behind a rate (when they can be told), then the analysed values."""
    values = [c for c in params.get("value_columns", []) if c in frame.columns]
    behind: list[str] = []
    for col in values:
        m = _RATE.match(col)
        if m is None or m["count"] not in frame.columns:
            continue
        behind.append(m["count"])
        if layer not in ("npa", "divisions"):  # a custom layer's population is the user's own column
            continue
        try:
            pop = population_column(frame, layer=layer or "", variable=m["count"])
        except ValueError:
            continue
        behind.append(pop)
    return list(dict.fromkeys([*behind, *values]))


def _ehsa_steps(run: object, frame: gpd.GeoDataFrame) -> dict[str, np.ndarray]:
    """Each year's Gi* z and p of an emerging hot spot run, as ``ehsa_z_YYYY`` / ``ehsa_p_YYYY``."""
    res = getattr(run, "result", None)
    z, p = getattr(res, "z", None), getattr(res, "p", None)
    if not isinstance(z, pd.DataFrame) or not isinstance(p, pd.DataFrame):
        return {}
    out: dict[str, np.ndarray] = {}
    for t in z.columns:
        out[f"ehsa_z_{t}"] = z[t].reindex(frame.index).to_numpy(dtype=float)
        out[f"ehsa_p_{t}"] = p[t].reindex(frame.index).to_numpy(dtype=float)
    return out


def _option_columns(params: Mapping[str, Any]) -> dict[str, object]:
    out: dict[str, object] = {}
    for col in _OPTION_COLUMNS:
        value = params.get(col)
        if col == "method" and params.get("method") == "robustness":
            value = f"robustness ({params.get('statistic')})"
        if col == "weights" and isinstance(value, list):
            value = "; ".join(str(v).split(":")[0] for v in value)
        if col == "seed" and value is None and params.get("seeds"):
            value = ", ".join(map(str, params["seeds"]))
        if value is not None:
            out[col] = value
    return out


def result_layer(run: HotspotRun | RobustnessResult, *, layer: str | None = None) -> ResultLayer:
    """The export layer of a hot-spot run.

    Parameters
    ----------
    run
        A :class:`~geo.analysis.hotspots.HotspotRun` of
        :func:`~geo.analysis.hotspots.run_hotspots`, a
        :class:`~geo.analysis.robustness.RobustnessResult`, or a run holding one in ``result``.
    layer
        The analysed layer (``npa``, ``divisions``, ``incidents``); by default the run's
        ``layer``. Its catalogue entry gives the column meanings and the sources.

    Returns
    -------
    ResultLayer
    """
    rob = _robustness(run)
    base = layer or getattr(run, "layer", None)
    if rob is not None:
        frame, params = getattr(run, "frame", rob.frame), _robustness_parameters(rob, run)
        id_column = getattr(run, "id_column", None) or rob.id_column
    elif isinstance(run, HotspotRun):
        frame, params, id_column = run.frame, _run_parameters(run), run.id_column
    else:
        raise TypeError(f"result_layer needs a HotspotRun or a RobustnessResult, not {type(run).__name__}")
    if base and params.get("layer") is None:
        params["layer"] = base
    keep = [c for c in (id_column,) if c and c in frame.columns]
    keep += [c for c in _value_columns(frame, params, base) if c not in keep]
    keep += [c for c in frame.columns if str(c).startswith(STATISTIC_PREFIXES) and c not in keep]
    out = frame[[*keep, frame.geometry.name]].copy()
    for col, values in {**_ehsa_steps(run, frame), **_option_columns(params)}.items():
        out.insert(len(out.columns) - 1, col, values)
    out = gpd.GeoDataFrame(out, geometry=frame.geometry.name, crs=frame.crs)
    catalogue = layer_info(base) if base in CATALOG else LayerInfo(base or "layer")
    method = str(params.get("method"))
    about = LayerInfo(
        result_name(run, layer=base),
        title=f"{_METHOD_WORDS.get(method, method)} of {params.get('variable')} ({base})",
        description=" ".join(params.get("summary", [])[:1]) or catalogue.description,
        describe_as=base if base in CATALOG else None,
        id_column=id_column or catalogue.id_column,
        sources=catalogue.sources,
        stop_filters=catalogue.stop_filters,
        parameters=params,
    )
    return ResultLayer(out, about, data_dictionary(out, about.describe_as))


def write_result(
    run: HotspotRun | RobustnessResult,
    path: str | Path,
    *,
    fmt: Format | None = None,
    filters: StopFilter | str | None = None,
    layer: str | None = None,
    csv_geometry: CsvGeometry = "auto",
    settings: Settings | None = None,
) -> ExportResult:
    """Write a run's :func:`result_layer` as GeoJSON, GeoPackage or CSV with its dictionary and metadata.

    Parameters
    ----------
    run, layer
        As :func:`result_layer`.
    path, fmt, csv_geometry, settings
        As :func:`geo.output.export.export_layer`.
    filters
        The stop filter behind a divisions layer's values, for the metadata.
    """
    res = result_layer(run, layer=layer)
    return export_layer(
        res.frame, path, fmt=fmt, filters=filters, about=res.about, csv_geometry=csv_geometry, settings=settings
    )
