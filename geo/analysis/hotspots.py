r"""Hot-spot analyses assembled from a layer and a few choices.

The one entry point shared by the command line (``python -m geo hotspots``) and the
app's hot-spot pages: :func:`run_hotspots` takes a layer (NPAs, divisions, or
incident points), a variable, an optional per-capita rate (raw or empirical-Bayes
smoothed), the spatial weights and the inference options, runs one method, and
returns a :class:`HotspotRun` holding the statistic's result, the result layer and
a short summary.

Methods
-------
``moran``
    Global Moran's I with the Moran scatterplot columns (:func:`geo.stats.moran.moran`;
    :func:`~geo.stats.moran.moran_rate` for EB rates).
``lisa``
    Local Moran's I with cluster labels (:func:`geo.stats.moran.local_moran`;
    :func:`~geo.stats.moran.local_moran_rate` for EB rates), plus a
    ``lisa_significance`` column of p-value classes for a significance map
    (:func:`significance_classes`).
``gi``
    Getis-Ord Gi\* with ArcGIS confidence bins (:func:`geo.stats.getisord.local_gstar`).
    ``gi_inference`` chooses the p-value behind the bins, once for the command line and
    the app: ``permutation`` (the default: GeoDa's conditional permutations, robust for
    the skewed rates of small areas and the same rule as LISA on the same page) or
    ``normal`` (ArcGIS's normal-theory p). With permutations the bin's direction is the
    tail that is significant. The bins kept are the confidence levels at or above
    ``1 - alpha`` (alpha 0.10: 90, 95 and 99 %; 0.05: 95 and 99 %; 0.01: 99 %).
``ehsa``
    Emerging hot spots over the years (:func:`geo.stats.emerging.emerging_hotspots`);
    ``variable`` is then a column prefix such as ``violent_crimes`` (the columns
    ``violent_crimes_YYYY``). The correction applies to each year's bins (ArcGIS Pro).

Layers
------
``npa`` and ``divisions`` are polygon layers analysed as they are, and so is
``custom``, a user's own polygons (give ``id_column``; rates need ``population``). ``incidents`` are
points: they are counted in a hexagon grid clipped to ``boundary`` (the NPAs), the
variable is ``count``, and ``gi`` is ArcGIS-style *optimized* hot spots
(:func:`geo.stats.point_hotspots.optimized_hotspots`: the distance band comes from
incremental spatial autocorrelation, so ``weights`` is not used), while ``lisa`` and
``moran`` run on the hexagon counts with the chosen weights.

Rates
-----
``per_capita=True`` divides a count by the population, per 1,000 residents: for NPAs
the population behind that crime year (``rate_pop_YYYY``) when the variable ends in a
year, otherwise ``pop_2020``; for divisions ``pop_2020``. With ``smoothing="eb"`` the
rate is empirical-Bayes smoothed (:func:`geo.stats.rates.empirical_bayes`), and Moran's I
and LISA use the Assuncao-Reis EB standardisation of the rate (GeoDa's "EB rate").
Units with no population are ``Undefined`` (the columns and rates:
:mod:`geo.analysis.hotspot_variables`).

Every option is applied or refused with a message; none is silently ignored.

Warnings
--------
:attr:`HotspotRun.warnings` are :class:`geo.errors.GeoWarning` values: the statistic's
own (codes in :mod:`geo.stats.warning_codes`) and the :attr:`HotspotRun.advice` about
the choices (code ``cutoff_below_floor``, :mod:`geo.analysis.hotspot_advice`: too few
permutations for the significance asked for). Weights are built here; contiguity matrices
are kept in ``cache_dir`` between processes when one is given.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, get_args

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.analysis.hotspot_advice import result_advice
from geo.analysis.hotspot_options import (
    GI_INFERENCES,
    GiInference,
    Inference,
    WeightsChoice,
    check_choice,
    inference_options,
    unit_id_column,
)
from geo.analysis.hotspot_variables import (
    LAYERS,
    SMOOTHINGS,
    Layer,
    Smoothing,
    add_per_capita,
    prepare_variable,
    rate_note,
    step_columns,
)
from geo.analysis.robustness import RobustnessResult, robustness
from geo.errors import GeoWarning, ValueDomainError
from geo.stats.emerging import EmergingResult, emerging_hotspots
from geo.stats.getisord import local_gstar
from geo.stats.moran import MoranResult, local_moran, local_moran_rate, moran, moran_rate
from geo.stats.point_hotspots import PointHotspotResult, optimized_hotspots
from geo.stats.significance import Correction, LocalResult, significance_classes
from geo.stats.weights import KernelName, SpatialWeights, WeightsMethod

__all__ = [
    "Layer",
    "Method",
    "Smoothing",
    "LAYERS",
    "METHODS",
    "WEIGHTS",
    "GI_INFERENCES",
    "HotspotRun",
    "run_hotspots",
    "emerging_series",
    "emerging_result",
    "run_robustness",
]


Method = Literal["moran", "lisa", "gi", "ehsa"]


METHODS: tuple[str, ...] = get_args(Method)


WEIGHTS: tuple[str, ...] = get_args(WeightsMethod)


#: The statistic's own result, by method.
Result = LocalResult | MoranResult | EmergingResult | PointHotspotResult


@dataclass(frozen=True)
class HotspotRun:
    """One analysis of :func:`run_hotspots`.

    Attributes
    ----------
    layer, method
        What was analysed and how.
    variable
        The column whose values were analysed (the rate column when per capita;
        for ``ehsa`` the column prefix).
    columns
        The value columns in ``frame``: ``(variable,)``, or one per year for ``ehsa``.
    times
        Year labels of ``columns`` for ``ehsa`` (empty otherwise).
    result
        The statistic's own result: :class:`~geo.stats.significance.LocalResult` (``lisa``,
        ``gi``), :class:`~geo.stats.moran.MoranResult` (``moran``),
        :class:`~geo.stats.emerging.EmergingResult` (``ehsa``) or
        :class:`~geo.stats.point_hotspots.PointHotspotResult` (``gi`` on incidents).
    frame
        The result layer: the input (or hexagon) layer with the value and result
        columns; index as the input's (row i of the map is row i here).
    id_column
        Column naming each unit (``npa``, ``division``, ``cell_id``).
    lines
        Summary lines (global I, counts per label, warnings).
    notes
        How the choices were applied, in plain words (e.g. the rate's population).
    advice
        Warnings about the choices themselves (code ``cutoff_below_floor``: a
        corrected cutoff below the smallest p-value the permutations can give).
    extra
        ``weights``: the weights in words.
    """

    layer: str
    method: str
    variable: str
    columns: tuple[str, ...]
    times: tuple[str, ...]
    result: Result
    frame: gpd.GeoDataFrame
    id_column: str
    lines: tuple[str, ...]
    notes: tuple[str, ...] = ()
    advice: tuple[GeoWarning, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def local(self) -> LocalResult | None:
        """The local statistic's result (LISA or Gi*), if any."""
        if isinstance(self.result, LocalResult):
            return self.result
        if isinstance(self.result, PointHotspotResult):
            return self.result.gi
        return None

    @property
    def warnings(self) -> tuple[GeoWarning, ...]:
        """Warnings as data: the result's (small sample, islands, undefined units ...) and :attr:`advice`."""
        return tuple(dict.fromkeys([*self.result.warnings, *self.advice]))

    @property
    def islands(self) -> tuple[Hashable, ...]:
        """Row labels of units without neighbours."""
        local = self.local
        if local is not None:
            return local.islands
        return tuple(getattr(self.result, "islands", ()))

    @property
    def too_few_for_local_inference(self) -> bool:
        """Whether the local statistic tested fewer than 30 units."""
        local = self.local
        return bool(local is not None and local.too_few_for_local_inference)

    def summary(self) -> str:
        """The summary lines, as printed by the command line."""
        return "\n".join(self.lines)


def run_hotspots(
    layer_frame: gpd.GeoDataFrame,
    *,
    layer: Layer,
    variable: str,
    method: Method,
    per_capita: bool = False,
    smoothing: Smoothing = "none",
    weights: WeightsMethod | SpatialWeights = "queen",
    k: int | None = None,
    threshold: float | None = None,
    kernel: KernelName = "triangular",
    permutations: int | None = None,
    seed: int | None = None,
    alpha: float | None = None,
    correction: Correction | None = None,
    gi_inference: GiInference | None = None,
    time_lag: int = 1,
    boundary: gpd.GeoDataFrame | None = None,
    cache_dir: Path | None = None,
    id_column: str | None = None,
    population: str | None = None,
) -> HotspotRun:
    """Run one hot-spot method on a layer with the options of the command line and the app.

    Parameters
    ----------
    layer_frame
        The layer: NPAs or divisions (polygons, one row per unit), or incident
        points for ``layer="incidents"``. Not changed.
    layer
        ``npa``, ``divisions``, ``incidents`` or ``custom`` (a user's polygons).
    variable
        Numeric column; for ``ehsa`` a prefix of yearly columns (``violent_crimes``);
        for incidents ``count``.
    method
        ``moran``, ``lisa``, ``gi`` or ``ehsa``.
    per_capita
        Divide ``variable`` (a count) by the population, per 1,000 residents.
    smoothing
        ``none`` or ``eb`` (empirical Bayes; needs ``per_capita=True``).
    weights
        ``queen``, ``rook``, ``knn``, ``distance``, ``kernel``, or weights built for
        ``layer_frame`` (:func:`geo.stats.weights.build_weights`).
    k
        Neighbours for ``knn`` and ``kernel`` weights (default 6).
    threshold
        Distance band for ``distance`` weights, in CRS units (default: the smallest
        band giving every unit a neighbour).
    kernel
        Kernel function for ``kernel`` weights.
    permutations
        Conditional permutations, 99 to 99,999 (``None``: settings); 0 only with
        ``gi_inference="normal"`` or ``moran``.
    seed, alpha
        Random seed and significance level (defaults from settings). For ``gi`` the
        confidence bins kept are those at ``1 - alpha`` or above.
    correction
        Multiple-testing correction: ``fdr`` (the default for local methods), ``none`` or
        ``bonferroni``; ``ehsa`` corrects each time step. Refused for ``moran`` (one test).
    gi_inference
        ``permutation`` (default) or ``normal``: the p-value behind the Gi* bins
        (``gi``, and the optimized hot spots of ``incidents``); refused by other methods.
    time_lag
        ``ehsa``: previous years in each bin's neighbourhood.
    boundary
        Polygons delimiting the hexagon grid (required for ``incidents``).
    cache_dir
        Folder for contiguity weights kept between runs (e.g.
        ``get_settings().cache_dir / "weights"``); ``None``: built every time.
    id_column
        Column naming each unit (default per layer: ``npa``, ``division``; required
        for ``custom``).
    population
        Population column for per-capita rates (default per layer).

    Returns
    -------
    HotspotRun

    Raises
    ------
    ValueDomainError
        An unknown choice, a combination that does not apply (``ehsa`` on
        incidents, EB smoothing without a rate), or a bad number (k, permutations).
    SchemaError
        ``variable`` is not a (numeric) column, or no population column.

    Examples
    --------
    >>> run = run_hotspots(npa, layer="npa", variable="violent_crimes_2022", per_capita=True,
    ...                    smoothing="eb", method="lisa", weights="queen", seed=1)  # doctest: +SKIP
    >>> print(run.summary())  # doctest: +SKIP
    """
    check_choice(layer, LAYERS, "layer")
    check_choice(method, METHODS, "method")
    check_choice(smoothing, SMOOTHINGS, "smoothing")
    if isinstance(weights, str):
        check_choice(weights, WEIGHTS, "weights")
    if smoothing == "eb" and not per_capita:
        raise ValueDomainError("empirical Bayes smoothing applies to a rate: set per_capita=True")
    if not isinstance(variable, str) or not variable:
        raise TypeError("variable must be a column name (str)")
    inference = inference_options(method, permutations, seed, alpha, correction, gi_inference)
    choice = WeightsChoice(weights, k=k, threshold=threshold, kernel=kernel, cache_dir=cache_dir)
    if layer == "incidents":
        return _run_points(
            layer_frame, variable=variable, method=method, per_capita=per_capita, weights=choice,
            inference=inference, boundary=boundary,
        )  # fmt: skip
    ids = unit_id_column(layer_frame, layer, id_column)
    return _run_areas(
        layer_frame, layer=layer, variable=variable, method=method, per_capita=per_capita, smoothing=smoothing,
        weights=choice.build(layer_frame), inference=inference, time_lag=time_lag, id_column=ids,
        population=population,
    )  # fmt: skip


def _weights_name(w: SpatialWeights) -> str:
    if w.method == "knn":
        return f"knn (k={w.params.get('k')})"
    if w.method == "kernel":
        return f"kernel ({w.params.get('kernel')}, k={w.params.get('k')})" if "k" in w.params else "kernel"
    if w.method == "distance":
        return f"distance band ({w.params.get('threshold', 0):,.0f} {w.params.get('units', '')})".replace(" )", ")")
    return w.method


def _run_areas(
    gdf: gpd.GeoDataFrame, *, layer: str, variable: str, method: str, per_capita: bool, smoothing: Smoothing,
    weights: SpatialWeights, inference: Inference, time_lag: int, id_column: str, population: str | None,
) -> HotspotRun:  # fmt: skip
    """NPAs, divisions or a user's polygons: ``ehsa`` over the years, or one statistic of one column."""
    if method == "ehsa":
        return _run_ehsa(
            gdf, layer=layer, prefix=variable, per_capita=per_capita, smoothing=smoothing, weights=weights,
            inference=inference, time_lag=time_lag, id_column=id_column, population=population,
        )  # fmt: skip
    frame, column, rate, notes = prepare_variable(
        gdf, layer=layer, variable=variable, per_capita=per_capita, smoothing=smoothing, population=population
    )
    res, out, lines = _statistic(method, frame, column, weights, inference, rate=rate)
    return _make_run(
        res, layer=layer, method=method, variable=column, columns=(column,), frame=out, id_column=id_column,
        lines=lines, notes=notes, weights_name=_weights_name(weights),
    )  # fmt: skip


def _run_ehsa(
    gdf: gpd.GeoDataFrame, *, layer: str, prefix: str, per_capita: bool, smoothing: Smoothing,
    weights: SpatialWeights, inference: Inference, time_lag: int, id_column: str, population: str | None,
) -> HotspotRun:  # fmt: skip
    """Emerging hot spots of the yearly columns ``<prefix>_YYYY`` (counts, or rates per capita)."""
    counts = step_columns(gdf, prefix)
    years = tuple(c[-4:] for c in counts)
    columns, frame, notes = counts, gdf, []
    if per_capita:
        columns = []
        for c in counts:
            frame, name, _ = add_per_capita(frame, layer=layer, variable=c, smoothing=smoothing, population=population)
            columns.append(name)
        notes.append(rate_note(layer, eb=smoothing == "eb"))
    res = emerging_hotspots(
        frame, columns=columns, times=years, weights=weights, time_lag=time_lag,
        permutations=inference.permutations, seed=inference.seed, alpha=inference.alpha,
        correction=inference.correction,
    )  # fmt: skip
    return _make_run(
        res, layer=layer, method="ehsa", variable=prefix, columns=tuple(columns), times=years, frame=res.frame,
        id_column=id_column, lines=res.summary().splitlines(), notes=notes, weights_name=_weights_name(weights),
    )  # fmt: skip


def _statistic(
    method: str,
    frame: gpd.GeoDataFrame,
    column: str,
    weights: SpatialWeights,
    inference: Inference,
    *,
    rate: tuple[str, str] | None = None,
) -> tuple[LocalResult | MoranResult, gpd.GeoDataFrame, list[str]]:
    """Run ``moran``, ``lisa`` or ``gi`` on one column; return the result, its layer and summary lines.

    ``rate=(events, base)``: Moran's I and LISA of the EB-standardised rate instead
    (Assuncao-Reis), as GeoDa's "EB rate"; Gi* always uses ``column``.
    """
    perms, seed = inference.permutations, inference.seed
    if method == "moran":
        if rate is not None:
            m = moran_rate(frame, events=rate[0], base=rate[1], weights=weights, permutations=perms, seed=seed)
        else:
            m = moran(frame, column, weights=weights, permutations=perms, seed=seed)
        return m, m.frame, _moran_lines(m, _weights_name(weights))
    if method == "lisa":
        res = _local_moran(frame, column, weights, inference, rate=rate)
        out = res.frame.assign(
            lisa_significance=significance_classes(
                res.frame["lisa_p"], cutoff=res.cutoff, labels=res.frame["lisa_cluster"]
            )
        )
        return res, out, res.summary().splitlines()
    res = local_gstar(
        frame, column, weights=weights, permutations=perms, seed=seed, correction=inference.correction,
        inference=inference.gi_inference, alpha=inference.alpha,
    )  # fmt: skip
    return res, res.frame, res.summary().splitlines()


def _local_moran(
    frame: gpd.GeoDataFrame,
    column: str,
    weights: SpatialWeights,
    inference: Inference,
    *,
    rate: tuple[str, str] | None,
) -> LocalResult:
    """LISA of ``column``, or of the EB-standardised rate ``events / base`` when ``rate`` is given."""
    perms, seed, alpha, correction = inference.permutations, inference.seed, inference.alpha, inference.correction
    if rate is not None:
        return local_moran_rate(
            frame, events=rate[0], base=rate[1], weights=weights, permutations=perms, seed=seed, alpha=alpha,
            correction=correction,
        )  # fmt: skip
    return local_moran(
        frame, column, weights=weights, permutations=perms, seed=seed, alpha=alpha, correction=correction
    )


def _moran_lines(res: MoranResult, weights: str) -> list[str]:
    s = res.statistic
    lines = [
        f"global Moran's I of {res.variable} ({weights} weights, {s.n} units) = {s.I:.4f}; "
        + (f"pseudo p = {s.p_sim:.4g} ({s.permutations} permutations); " if s.p_sim is not None else "")
        + f"z = {s.z_rand:.2f}, p = {s.p_rand:.4g} under randomisation"
    ]
    return lines + [f"warning: {m}" for m in res.warnings]


def _make_run(
    result: Result, *, layer: str, method: str, variable: str, columns: tuple[str, ...], frame: gpd.GeoDataFrame,
    id_column: str, lines: list[str], notes: list[str], weights_name: str, times: tuple[str, ...] = (),
) -> HotspotRun:  # fmt: skip
    """Build a :class:`HotspotRun`, adding the advice about the choices to its lines."""
    local = result.gi if isinstance(result, PointHotspotResult) else result
    advice = result_advice(local)
    return HotspotRun(
        layer=layer, method=method, variable=variable, columns=columns, times=times, result=result, frame=frame,
        id_column=id_column, lines=(*lines, *(f"warning: {a}" for a in advice)), notes=tuple(notes),
        advice=advice, extra={"weights": weights_name},
    )  # fmt: skip


def _run_points(
    points: gpd.GeoDataFrame, *, variable: str, method: str, per_capita: bool, weights: WeightsChoice,
    inference: Inference, boundary: gpd.GeoDataFrame | None,
) -> HotspotRun:  # fmt: skip
    """Incident points counted in hexagons: optimized hot spots (``gi``), or LISA / Moran's I of the counts."""
    if variable != "count":
        raise ValueDomainError("for the incident layer the variable is the number of points per hexagon: use 'count'")
    if per_capita:
        raise ValueDomainError("hexagons have no population: per-capita rates apply to NPAs and divisions")
    if method == "ehsa":
        raise ValueDomainError("emerging hot spots need yearly values per unit: use the NPA layer")
    if boundary is None:
        raise ValueDomainError("incident hot spots need a boundary layer (e.g. the NPAs) for the hexagon grid")
    perms = inference.permutations
    opt = optimized_hotspots(
        points, boundary=boundary, correction=inference.correction, permutations=perms, seed=inference.seed,
        inference=inference.gi_inference, alpha=inference.alpha,
    )  # fmt: skip
    notes = [
        f"{opt.n_points:,} points counted in {len(opt.frame):,} hexagons {opt.grid.spacing:,.0f} feet apart"
        + (f" ({opt.n_outside:,} outside the boundary)" if opt.n_outside else "")
    ]
    if method == "gi":
        notes.append(
            f"Gi* uses a distance band of {opt.distance:,.0f} feet ({opt.distance_rule}), "
            "as ArcGIS's Optimized Hot Spot Analysis; the weights option is not used"
        )
        return _make_run(
            opt, layer="incidents", method=method, variable="count", columns=("count",), frame=opt.frame,
            id_column="cell_id", lines=opt.summary().splitlines(), notes=notes,
            weights_name=f"distance band {opt.distance:,.0f} ft",
        )  # fmt: skip
    cells = opt.frame[[c for c in opt.frame.columns if not str(c).startswith("gi_")]]
    w = weights.build(cells)
    res, out, lines = _statistic(method, cells, "count", w, inference)
    return _make_run(
        res, layer="incidents", method=method, variable="count", columns=("count",), frame=out, id_column="cell_id",
        lines=[*opt.summary().splitlines()[:1], *lines], notes=notes, weights_name=_weights_name(w),
    )  # fmt: skip


def emerging_series(run: HotspotRun, unit: Hashable) -> pd.DataFrame:
    """One unit's yearly values, Gi* z-scores, p-values and hot/cold status.

    Parameters
    ----------
    run
        An ``ehsa`` run of :func:`run_hotspots`.
    unit
        Row label of the unit in ``run.frame``.

    Returns
    -------
    pandas.DataFrame
        One row per year: ``year``, ``value``, ``z``, ``p``, ``status`` (``Hot spot``,
        ``Cold spot``, ``Not significant`` or ``No value``).
    """
    res = emerging_result(run)
    if unit not in run.frame.index:
        raise ValueDomainError(f"unit {unit!r} is not a row of the layer")
    values = pd.to_numeric(run.frame.loc[unit, list(run.columns)], errors="coerce").to_numpy(dtype=float)
    z = res.z.loc[unit].to_numpy(dtype=float)
    p = res.p.loc[unit].to_numpy(dtype=float)
    hot = res.hot.loc[unit].to_numpy(dtype=bool)
    cold = res.cold.loc[unit].to_numpy(dtype=bool)
    status = np.where(
        ~np.isfinite(z), "No value", np.where(hot, "Hot spot", np.where(cold, "Cold spot", "Not significant"))
    )
    return pd.DataFrame({"year": [int(t) for t in run.times], "value": values, "z": z, "p": p, "status": status})


def emerging_result(run: HotspotRun) -> EmergingResult:
    """The :class:`~geo.stats.emerging.EmergingResult` of an ``ehsa`` run (refuses any other method)."""
    if not isinstance(run.result, EmergingResult):
        raise ValueDomainError(f"this needs an emerging hot spot run (method 'ehsa'), not {run.method!r}")
    return run.result


def run_robustness(
    layer_frame: gpd.GeoDataFrame,
    *,
    layer: Layer,
    variable: str,
    method: Method,
    per_capita: bool = False,
    smoothing: Smoothing = "none",
    permutations: int | None = None,
    seed: int | None = None,
    alpha: float | None = None,
    correction: Correction | None = None,
    id_column: str | None = None,
    population: str | None = None,
    cache_dir: Path | None = None,
    **fixed: object,
) -> RobustnessResult:
    """How robust each hot spot is: ``lisa`` or ``gi`` under six weights and three seeds.

    The variable is made as in :func:`run_hotspots` (a count, a rate per 1,000
    residents, EB-smoothed or not); then :func:`geo.analysis.robustness.robustness`
    runs the method under :data:`~geo.analysis.robustness.DEFAULT_SPECS` with seeds
    ``seed``, ``seed + 1`` and ``seed + 2``. Choices the robustness run makes itself
    (the weights, the Gi* p-value) are refused when given in ``fixed`` with a value
    other than ``None``; an EB rate is analysed as the smoothed rate.

    Raises
    ------
    ValueDomainError
        ``moran`` or ``ehsa``, the incident layer, or a weights option given.
    """
    check_choice(layer, LAYERS, "layer")
    if method not in ("lisa", "gi"):
        raise ValueDomainError(f"the robustness run compares hot spots of lisa or gi, not {method!r}")
    if layer == "incidents":
        raise ValueDomainError("the robustness run is for polygon layers (npa, divisions, your own); not incidents")
    given = sorted(k for k, v in fixed.items() if v is not None and k not in ("boundary", "time_lag"))
    if given:
        raise ValueDomainError(
            f"the robustness run chooses its own weights and Gi* p-values; leave out {', '.join(given)}"
        )
    inference = inference_options(method, permutations, seed, alpha, correction, None)
    ids = unit_id_column(layer_frame, layer, id_column)
    frame, column, _, notes = prepare_variable(
        layer_frame, layer=layer, variable=variable, per_capita=per_capita, smoothing=smoothing, population=population
    )
    s = inference.seed
    res = robustness(
        frame, column, method=method, seeds=(s, s + 1, s + 2), permutations=inference.permutations,
        alpha=inference.alpha, correction=inference.correction, id_column=ids or None, cache_dir=cache_dir,
    )  # fmt: skip
    return replace(res, notes=tuple(notes))
