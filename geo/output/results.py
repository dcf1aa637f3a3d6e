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
from geo.analysis.regression import RegressionResult
from geo.analysis.robustness import RobustnessResult
from geo.analysis.spacetime import SpaceTimeResult
from geo.layers.catalog import CATALOG
from geo.layers.filters import StopFilter
from geo.output.dictionary import ColumnInfo, data_dictionary
from geo.output.export import CsvGeometry, ExportResult, Format, export_layer
from geo.output.metadata import LayerInfo, layer_info
from geo.settings import Settings
from geo.stats.significance import LocalResult, resolve_weights
from geo.stats.weights import SpatialWeights, WeightsMethod

__all__ = [
    "STATISTIC_PREFIXES",
    "LOCAL_METHODS",
    "ResultLayer",
    "result_name",
    "result_layer",
    "cube_layer",
    "local_layer",
    "regression_fit",
    "regression_layer",
    "write_result",
]


#: Column prefixes of the statistics' own columns.
STATISTIC_PREFIXES: tuple[str, ...] = (
    "lisa_", "gi_", "ehsa_", "moran_", "robust_", "bv_", "plisa_", "clisa_", "mgeary_",
)  # fmt: skip

#: Statistic of :mod:`geo.stats.bivariate` -> the command line's method name.
LOCAL_METHODS: dict[str, str] = {
    "local_moran_bv": "bilisa",
    "local_moran_partial": "partial",
    "local_moran_conditional": "conditional",
    "local_geary_mv": "geary_mv",
}

#: The option columns of a result layer, in order.
_OPTION_COLUMNS = ("method", "weights", "permutations", "seed", "alpha", "correction", "p_cutoff")

_RATE = re.compile(r"^(?P<count>.+)_per_\d+_pop(?:_eb)?$")

_METHOD_WORDS = {
    "lisa": "Local Moran's I (LISA)",
    "gi": "Getis-Ord Gi* hot spots",
    "ehsa": "Emerging hot spots",
    "moran": "Global Moran's I",
    "robustness": "Hot-spot robustness",
    "bilisa": "Bivariate local Moran's I",
    "partial": "Partial local Moran's I",
    "conditional": "Conditional local Moran's I",
    "geary_mv": "Local multivariate Geary",
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


def _fields(text: str) -> dict[str, ColumnInfo]:
    """Parse ``name | label | meaning | units`` lines (values computed by the analysis)."""
    out = {}
    for line in text.strip().splitlines():
        name, label, meaning, units = (part.strip() for part in line.split("|"))
        out[name] = ColumnInfo(label, meaning, units, ("analysis",))
    return out


#: Columns of the space-time cube layer (:func:`cube_layer`) that the registry does not describe, or describes
#: for the yearly NPA series (steps here are months, quarters or years).
_CUBE_FIELDS = _fields("""
q | Hexagon column | Axial column of the hexagon in the grid | code
r | Hexagon row | Axial row of the hexagon in the grid | code
total | Incidents in the cell | Incidents counted in the hexagon over every step of the cube (see points_source) | incidents
ehsa_trend_tau | Trend tau of Gi* | Mann-Kendall tau of the cell's space-time Gi* z-scores over the steps | index (-1 to 1)
ehsa_hot_steps | Steps hot | Steps in which the cell was a significant hot spot | steps
ehsa_cold_steps | Steps cold | Steps in which the cell was a significant cold spot | steps
ehsa_final_z | Last step's z | Space-time Gi* z-score in the last step | standard deviations
ehsa_final_p | Last step's p | Space-time Gi* p-value in the last step (two-sided, permutation) | probability
count_trend_tau | Count trend tau | Mann-Kendall tau of the cell's counts over the steps (ArcGIS's cube trend) | index (-1 to 1)
count_trend_p | Count trend p-value | Mann-Kendall p-value of the count trend | probability
hot_recent | Recent steps hot | Hot-spot steps among the last ones (see recent_steps) | steps
cold_recent | Recent steps cold | Cold-spot steps among the last ones (see recent_steps) | steps
summary | In plain words | The cell's category and recent history in one sentence |
method | Method | The analysis (see the metadata for every option) |
category | Incident category | Incident category counted (persons, property, society, other, or all) |
step | Time step | Length of one step of the cube: month, quarter or year |
recent_steps | Recent steps | Steps counted in hot_recent and cold_recent | steps
cell_size_ft | Cell size | Distance between hexagon centres | US survey feet
time_lag | Time lag | Previous steps in each space-time neighbourhood | steps
weights | Spatial weights | The spatial weights, in words |
""")

#: Columns of the local statistics of geo.stats.bivariate, without their prefix: label, meaning, units.
_LOCAL_FIELDS = _fields("""
i | Local statistic | The unit's local Moran's I of the method (see the metadata) | index
z | Standardised value | The unit's value standardised over the units with every value | standard deviations
resid | Residual | The unit's standardised value minus what the covariates predict | standard deviations
lag | Spatial lag | Weighted mean of the neighbours' standardised values (conditional: of their residuals) | standard deviations
quadrant | Quadrant | 1 High-High, 2 Low-High, 3 Low-Low, 4 High-Low, 0 none | code
c | Local Geary c | Mean squared difference from the neighbours over the standardised variables | index
p | Pseudo p-value | Conditional-permutation p-value (see alternative) | probability
significant | Significant | Whether p is at or below the corrected cutoff (p_cutoff) |
cluster | Cluster | The cluster label of a significant unit; Not significant, Isolated or Undefined otherwise |
""")

_OPTION_FIELDS = _fields("""
alternative | Alternative | two-sided or folded (GeoDa's) permutation p-value |
covariates | Covariates | The other variables of the method, comma-separated |
model | Model | ols, lag (spatial lag, ML) or error (spatial error, ML) |
used | Used | Whether the unit had every value and was in the regression |
fitted | Fitted value | The model's fitted value (lag: X b + rho W y, as spreg's predy; missing when not used) | as the dependent
residual | Residual | dependent - fitted (missing when not used) | as the dependent
robust | Standard errors | OLS standard errors: none, white or hac |
""")


def _about(name: str, title: str, description: str, params: dict[str, Any], columns: Mapping[str, ColumnInfo],
           *, base: str | None, id_column: str) -> LayerInfo:  # fmt: skip
    catalogue = layer_info(base) if base in CATALOG else LayerInfo(base or "layer")
    return LayerInfo(
        name, title=title, description=description, describe_as=base if base in CATALOG else None,
        id_column=id_column, sources=catalogue.sources, parameters=_plain(params), columns=dict(columns),
    )  # fmt: skip


def cube_layer(result: SpaceTimeResult, *, recent: int = 8, name: str = "hotspots_incidents_ehsa") -> ResultLayer:
    """The export layer of :func:`geo.analysis.spacetime.emerging_cube`: one row per hexagon.

    Columns: the cell's id, axial coordinates, whether it is in the county, its counts
    (``total`` and one ``count_<step>`` per step of the cube), the emerging hot spot
    category with the Mann-Kendall trend of its Gi* z-scores and of its counts, hot and
    cold steps (all and recent), the plain sentence, and the method and options.
    ``recent`` is the ``recent`` given to :func:`~geo.analysis.spacetime.emerging_cube`.
    """
    params = dict(result.parameters)
    frame = result.frame.copy()
    n = len(frame)
    options = {
        "method": "ehsa", "category": params.get("category"), "step": params.get("step"),
        "cell_size_ft": params.get("cell_size_ft"), "time_lag": params.get("time_lag"),
        "weights": params.get("weights"), "permutations": params.get("permutations"), "seed": params.get("seed"),
        "alpha": params.get("alpha"), "correction": params.get("correction"),
        "recent_steps": min(result.cube.n_steps, recent),
    }  # fmt: skip
    geometry = frame.geometry.name
    out = frame[[c for c in frame.columns if c != geometry]].assign(**{k: [v] * n for k, v in options.items()})
    out = gpd.GeoDataFrame(out.assign(geometry=frame.geometry.to_numpy()), geometry="geometry", crs=frame.crs)
    columns = dict(_CUBE_FIELDS)
    dataset = "incidents_full" if params.get("points_dataset") == "incidents_full" else "incidents_points"
    which = "Sample incidents" if dataset == "incidents_points" else "Incidents"
    for step in (c for c in out.columns if str(c).startswith("count_") and c not in _CUBE_FIELDS):
        label = str(step).removeprefix("count_").replace("_", "-")
        columns[str(step)] = ColumnInfo(
            f"Incidents {label}", f"{which} in the hexagon in {label}", "incidents", (dataset,)
        )
    params |= {"summary": list(result.lines), "step_choice": getattr(result.step_choice, "reason", None)}
    title = f"Emerging hot spots of {params.get('category')} incidents by {params.get('step')} (hexagons)"
    about = _about(name, title, result.lines[0], params, columns, base="hex", id_column="cell_id")
    return ResultLayer(out, about, data_dictionary(out, about.describe_as, extra=columns))


def _analysed(result: LocalResult) -> list[str]:
    extra = result.extra
    if "x" in extra:
        return [str(extra["x"]), str(extra["y"])]
    if "columns" in extra:
        return [str(c) for c in extra["columns"]]  # type: ignore[attr-defined]
    column = result.variable.split(" given ")[0]
    return [column, *(str(c) for c in extra.get("covariates", ()))]  # type: ignore[attr-defined]


def local_layer(
    result: LocalResult,
    *,
    layer: str = "npa",
    id_column: str = "npa",
    labels: Mapping[str, ColumnInfo] | None = None,
) -> ResultLayer:
    """The export layer of a statistic of :mod:`geo.stats.bivariate` (bilisa, partial, conditional, geary_mv).

    Parameters
    ----------
    result
        The :class:`~geo.stats.significance.LocalResult`.
    layer, id_column
        The analysed layer and its id column.
    labels
        Descriptions of analysed columns the registry does not know (e.g. a Quality of
        Life metric joined for the analysis).
    """
    method = LOCAL_METHODS.get(result.statistic, result.statistic)
    values = _analysed(result)
    frame = result.frame
    keep = [c for c in dict.fromkeys([id_column, *values, *result.columns]) if c in frame.columns]
    out = frame[keep].copy()
    options: dict[str, Any] = {
        "method": method, "weights": result.extra.get("weights"), "permutations": result.permutations,
        "seed": result.seed, "alpha": result.alpha, "correction": result.correction, "p_cutoff": result.cutoff,
        "alternative": result.extra.get("alternative"), "covariates": ", ".join(values[1:]),
    }  # fmt: skip
    for col, value in options.items():
        out[col] = value
    out = gpd.GeoDataFrame(out.assign(geometry=frame.geometry.to_numpy()), geometry="geometry", crs=frame.crs)
    prefix = str(result.columns[0]).rsplit("_", 1)[0] + "_"
    columns = {
        c: _LOCAL_FIELDS[c.removeprefix(prefix)] for c in result.columns if c.removeprefix(prefix) in _LOCAL_FIELDS
    }
    columns |= {k: v for k, v in _OPTION_FIELDS.items() if k in out.columns} | dict(labels or {})
    params = {**options, "statistic": result.statistic, "variable": result.variable, "value_columns": values,
              "n_units": result.n_units, "n_tested": result.n_tested, "counts": dict(result.counts),
              "undefined": len(result.undefined), "islands": list(result.islands),
              "extra": {k: v for k, v in result.extra.items() if k not in ("weights", "alternative")},
              "warnings": [{"code": w.code, "text": w.text} for w in result.warnings]}  # fmt: skip
    title = f"{_METHOD_WORDS.get(method, method)} of {result.variable} ({layer})"
    about = _about(f"hotspots_{layer}_{method}", title, title, params, columns, base=layer, id_column=id_column)
    return ResultLayer(out, about, data_dictionary(out, about.describe_as, extra=columns))


def regression_fit(
    result: RegressionResult, gdf: gpd.GeoDataFrame, *, weights: SpatialWeights | WeightsMethod = "queen"
) -> pd.DataFrame:
    """Fitted values and residuals of a :class:`~geo.analysis.regression.RegressionResult`, one row per unit.

    ``fitted`` is ``X b`` (OLS and the error model, whose residual is ``y - X b`` before
    the spatial filter) or ``X b + rho W y`` (the lag model: spreg's ``predy``), on the
    scale the model was fitted on (standardised when ``result.standardised``); units
    left out for a missing value have ``used`` False and no fitted value.

    Parameters
    ----------
    result
        The regression.
    gdf
        The layer it was fitted on.
    weights
        The weights it was fitted with (needed for the lag model).

    Returns
    -------
    pandas.DataFrame
        ``used``, ``fitted``, ``residual``, indexed as ``gdf``.
    """
    names = [result.dependent, *result.covariates]
    values = np.column_stack([pd.to_numeric(gdf[c], errors="coerce").to_numpy(dtype=float) for c in names])
    used = np.isfinite(values).all(axis=1)
    data = values[used]
    if result.standardised:
        data = (data - data.mean(axis=0)) / data.std(axis=0, ddof=1)
    coef = result.coefficients.set_index("term")["estimate"]
    beta = coef.reindex(["CONSTANT", *result.covariates]).to_numpy(dtype=float)
    fitted = np.column_stack([np.ones(len(data)), data[:, 1:]]) @ beta
    if result.model == "lag":
        w = resolve_weights(gdf, weights)
        sub = w if used.all() else w.subset(used)
        fitted = fitted + float(coef[f"W_{result.dependent}"]) * (sub.matrix("R") @ data[:, 0])
    out = pd.DataFrame({"used": used, "fitted": np.nan, "residual": np.nan}, index=gdf.index)
    out.loc[used, "fitted"] = fitted
    out.loc[used, "residual"] = data[:, 0] - fitted
    return out


def regression_layer(
    result: RegressionResult,
    gdf: gpd.GeoDataFrame,
    *,
    weights: SpatialWeights | WeightsMethod = "queen",
    layer: str = "npa",
    id_column: str = "npa",
    labels: Mapping[str, ColumnInfo] | None = None,
) -> ResultLayer:
    """The export layer of a regression: the variables, ``used``, ``fitted``, ``residual`` and the options per unit.

    The coefficients with their intervals, the diagnostics, the rows dropped and the
    ecological-fallacy caveat go into the metadata (:attr:`ResultLayer.parameters`).
    """
    fit = regression_fit(result, gdf, weights=weights)
    names = [result.dependent, *result.covariates]
    keep = [c for c in dict.fromkeys([id_column, *names]) if c in gdf.columns]
    out = pd.concat([gdf[keep], fit], axis=1)
    options = {"model": result.model, "robust": result.robust, "weights": str(weights if isinstance(weights, str)
               else weights.summary())}  # fmt: skip
    for col, value in options.items():
        out[col] = value
    out = gpd.GeoDataFrame(out.assign(geometry=gdf.geometry.to_numpy()), geometry="geometry", crs=gdf.crs)
    columns = {k: v for k, v in _OPTION_FIELDS.items() if k in out.columns} | dict(labels or {})
    params = {
        **options, "dependent": result.dependent, "covariates": list(result.covariates), "decision": result.decision,
        "coefficients": result.coefficients.to_dict(orient="records"),
        "diagnostics": result.diagnostics.to_dict(orient="records"), "fit": dict(result.fit),
        "n_units": result.n_units, "n_used": result.n_used, "missing": dict(result.missing),
        "dropped": len(result.dropped), "standardised": result.standardised, "confidence": result.confidence,
        "summary": result.summary().splitlines(), "caveat": result.caveat,
    }  # fmt: skip
    name = f"regression_{layer}_{result.model}"
    title = f"Spatial regression ({result.model}) of {result.dependent} on {', '.join(result.covariates)} ({layer})"
    about = _about(name, title, f"{title}. {result.caveat}", params, columns, base=layer, id_column=id_column)
    return ResultLayer(out, about, data_dictionary(out, about.describe_as, extra=columns))


def write_result(
    run: HotspotRun | RobustnessResult | ResultLayer,
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
        As :func:`result_layer`; or a :class:`ResultLayer` already built (:func:`cube_layer`,
        :func:`local_layer`, :func:`regression_layer`).
    path, fmt, csv_geometry, settings
        As :func:`geo.output.export.export_layer`.
    filters
        The stop filter behind a divisions layer's values, for the metadata.
    """
    res = run if isinstance(run, ResultLayer) else result_layer(run, layer=layer)
    return export_layer(
        res.frame, path, fmt=fmt, filters=filters, about=res.about, csv_geometry=csv_geometry, settings=settings
    )
