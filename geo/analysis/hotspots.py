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
    Getis-Ord Gi\* with ArcGIS confidence bins (:func:`geo.stats.getisord.local_gstar`):
    permutation p-values when ``permutations > 0``, normal p-values otherwise.
``ehsa``
    Emerging hot spots over the years (:func:`geo.stats.emerging.emerging_hotspots`);
    ``variable`` is then a column prefix such as ``violent_crimes`` (the columns
    ``violent_crimes_YYYY``).

Layers
------
``npa`` and ``divisions`` are polygon layers analysed as they are. ``incidents`` are
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
Units with no population are ``Undefined``.

The module also holds what the maps and pages say about these results: colours for
the Gi\*, significance and emerging hot spot labels (colour-blind-safe ColorBrewer
hues), and the emerging hot spot rules in plain words (:data:`EHSA_RULES`,
:func:`explain_emerging`).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import SchemaError, ValueDomainError
from geo.stats.emerging import EmergingResult
from geo.stats.moran import MoranResult
from geo.stats.point_hotspots import PointHotspotResult
from geo.stats.significance import Correction, LocalResult, settings_defaults, significance_classes
from geo.stats.weights import KernelName, SpatialWeights, WeightsMethod

__all__ = ["Layer", "Method", "Smoothing", "LAYERS", "METHODS", "WEIGHTS", "year_of", "population_column", "add_per_capita", "step_columns", "HotspotRun", "run_hotspots", "emerging_series"]


Layer = Literal["npa", "divisions", "incidents"]


Method = Literal["moran", "lisa", "gi", "ehsa"]


Smoothing = Literal["none", "eb"]


LAYERS: tuple[str, ...] = get_args(Layer)


METHODS: tuple[str, ...] = get_args(Method)


WEIGHTS: tuple[str, ...] = get_args(WeightsMethod)


SMOOTHINGS: tuple[str, ...] = get_args(Smoothing)


#: Unit id column of each layer (hexagon cells for incidents).
ID_COLUMNS: dict[str, str] = {"npa": "npa", "divisions": "division", "incidents": "cell_id"}


_YEAR = re.compile(r"^(?P<stem>.+)_(?P<year>\d{4})$")


_PER_1000 = "_per_1000"


def year_of(column: str) -> int | None:
    """The year a column name ends with (``violent_crimes_2022`` -> 2022), or None."""
    m = _YEAR.match(column)
    return int(m["year"]) if m else None


def population_column(gdf: pd.DataFrame, *, layer: Layer, variable: str) -> str:
    """The population column a per-capita rate of ``variable`` divides by.

    NPAs: ``rate_pop_YYYY`` when ``variable`` ends in a year YYYY and that column
    exists, else ``pop_2020``. Divisions: ``pop_2020``.

    Raises
    ------
    SchemaError
        No population column in the layer.
    """
    year = year_of(variable)
    if layer == "npa" and year is not None and f"rate_pop_{year}" in gdf.columns:
        return f"rate_pop_{year}"
    if "pop_2020" in gdf.columns:
        return "pop_2020"
    raise SchemaError(f"no population column to divide {variable!r} by (looked for rate_pop_YYYY and pop_2020)")


def add_per_capita(
    gdf: gpd.GeoDataFrame,
    *,
    layer: Layer,
    variable: str,
    smoothing: Smoothing = "none",
    multiplier: float = 1000.0,
) -> tuple[gpd.GeoDataFrame, str, str]:
    """Add ``variable`` per 1,000 residents (raw or EB-smoothed) as a new column.

    Parameters
    ----------
    gdf
        Layer with ``variable`` (a count) and a population column
        (:func:`population_column`).
    layer
        ``npa`` or ``divisions``.
    variable
        Count column.
    smoothing
        ``none`` (raw rate) or ``eb`` (global empirical Bayes, Marshall 1991).
    multiplier
        Residents the rate is expressed per.

    Returns
    -------
    frame, column, base
        A new layer with the rate column, the rate column's name
        (``<variable>_per_1000_pop`` or ``<variable>_per_1000_pop_eb``) and the
        population column used.
    """
    from geo.stats.rates import add_rate

    if smoothing not in SMOOTHINGS:
        raise ValueDomainError(f"smoothing must be one of {', '.join(SMOOTHINGS)}; got {smoothing!r}")
    base = population_column(gdf, layer=layer, variable=variable)
    name = f"{variable}_per_{int(multiplier):d}_pop" + ("_eb" if smoothing == "eb" else "")
    res = add_rate(
        gdf, events=variable, base=base, method="eb" if smoothing == "eb" else "raw", multiplier=multiplier, column=name
    )
    return res.frame, name, base


def step_columns(gdf: pd.DataFrame, prefix: str) -> list[str]:
    """The columns ``<prefix>_YYYY`` of a layer, in year order (one per time step).

    Raises
    ------
    SchemaError
        No such column; the message lists the prefixes that have yearly columns.
    """
    cols = sorted(
        (c for c in gdf.columns if isinstance(c, str) and (m := _YEAR.match(c)) and m["stem"] == prefix),
        key=lambda c: int(c[-4:]),
    )
    if not cols:
        stems = sorted({m["stem"] for c in gdf.columns if isinstance(c, str) and (m := _YEAR.match(c))})
        raise SchemaError(
            f"ehsa needs one column per year named {prefix}_YYYY; none found. Prefixes available: "
            + (", ".join(stems) or "none")
        )
    return cols


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
        Warnings about the choices themselves (e.g. a corrected cutoff below the
        smallest p-value the permutations can give).
    """

    layer: str
    method: str
    variable: str
    columns: tuple[str, ...]
    times: tuple[str, ...]
    result: LocalResult | MoranResult | EmergingResult | PointHotspotResult
    frame: gpd.GeoDataFrame
    id_column: str
    lines: tuple[str, ...]
    notes: tuple[str, ...] = ()
    advice: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def local(self) -> LocalResult | None:
        """The local statistic's result (LISA or Gi*), if any."""
        if isinstance(self.result, LocalResult):
            return self.result
        if isinstance(self.result, PointHotspotResult):
            return self.result.gi
        return None

    @property
    def warnings(self) -> tuple[str, ...]:
        """Plain-language warnings: the result's (small sample, islands, undefined units) and :attr:`advice`."""
        return tuple(dict.fromkeys([*getattr(self.result, "warnings", ()), *self.advice]))

    @property
    def islands(self) -> tuple[Hashable, ...]:
        """Row labels of units without neighbours."""
        local = self.local
        if local is not None:
            return local.islands
        return tuple(getattr(self.result, "islands", ()))

    @property
    def too_few_for_local_inference(self) -> bool:
        local = self.local
        return bool(local is not None and local.too_few_for_local_inference)

    def summary(self) -> str:
        return "\n".join(self.lines)


def _moran_lines(res: MoranResult, weights: str) -> list[str]:
    s = res.statistic
    lines = [
        f"global Moran's I of {res.variable} ({weights} weights, {s.n} units) = {s.I:.4f}; "
        + (f"pseudo p = {s.p_sim:.4g} ({s.permutations} permutations); " if s.p_sim is not None else "")
        + f"z = {s.z_rand:.2f}, p = {s.p_rand:.4g} under randomisation"
    ]
    return lines + [f"warning: {m}" for m in res.warnings]


def _make_run(**fields: Any) -> HotspotRun:
    """Build a :class:`HotspotRun`, adding the advice about the choices to its lines."""
    res = fields["result"]
    local = res.gi if isinstance(res, PointHotspotResult) else res if isinstance(res, LocalResult) else None
    advice = _resolution_advice(local)
    fields["lines"] = (*fields["lines"], *(f"warning: {a}" for a in advice))
    return HotspotRun(advice=tuple(advice), **fields)


def _resolution_advice(local: LocalResult | None) -> list[str]:
    """Warn when the corrected cutoff lies below the smallest pseudo p-value the permutations allow."""
    if local is None or not local.permutations:
        return []
    if local.statistic == "gi_star" and local.extra.get("inference") != "permutation":
        return []
    cut = local.extra.get("cutoffs", {}).get(1, local.cutoff) if local.statistic == "gi_star" else local.cutoff
    # the smallest pseudo p: one tail's (0 + 1) / (R + 1), doubled when two-sided
    floor = (1.0 if local.extra.get("alternative") == "folded" else 2.0) / (local.permutations + 1)
    if local.correction != "none" and 0 <= cut < floor:
        return [
            f"the p-value cutoff after the {local.correction} correction ({cut:.3g}) is below the smallest pseudo "
            f"p-value {local.permutations:,} permutations can give ({floor:.3g}), so no unit can be significant; "
            "use more permutations"
        ]
    return []


def _check_choice(value: object, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise ValueDomainError(f"{what} must be one of {', '.join(allowed)}; got {value!r}")


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
    correction: Correction = "none",
    time_lag: int = 1,
    boundary: gpd.GeoDataFrame | None = None,
) -> HotspotRun:
    """Run one hot-spot method on a layer with the options of the command line and the app.

    Parameters
    ----------
    layer_frame
        The layer: NPAs or divisions (polygons, one row per unit), or incident
        points for ``layer="incidents"``. Not changed.
    layer
        ``npa``, ``divisions`` or ``incidents``.
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
        Conditional permutations, 99 to 99,999 (``None``: settings). For ``gi`` 0
        means normal p-values; with permutations the bins use the pseudo p-values.
    seed, alpha
        Random seed and significance level (defaults from settings).
    correction
        Multiple-testing correction: ``none``, ``fdr`` or ``bonferroni`` (not used
        by ``moran`` and ``ehsa``).
    time_lag
        ``ehsa``: previous years in each bin's neighbourhood.
    boundary
        Polygons delimiting the hexagon grid (required for ``incidents``).

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
    _check_choice(layer, LAYERS, "layer")
    _check_choice(method, METHODS, "method")
    _check_choice(smoothing, SMOOTHINGS, "smoothing")
    if isinstance(weights, str):
        _check_choice(weights, WEIGHTS, "weights")
    if smoothing == "eb" and not per_capita:
        raise ValueDomainError("empirical Bayes smoothing applies to a rate: set per_capita=True")
    if not isinstance(variable, str) or not variable:
        raise TypeError("variable must be a column name (str)")
    permutations, seed, alpha = settings_defaults(permutations, seed, alpha)
    if layer == "incidents":
        return _run_points(
            layer_frame, variable=variable, method=method, per_capita=per_capita, weights=weights, k=k,
            threshold=threshold, kernel=kernel, permutations=permutations, seed=seed, alpha=alpha,
            correction=correction, boundary=boundary,
        )  # fmt: skip
    w = _weights(layer_frame, weights, k=k, threshold=threshold, kernel=kernel)
    return _run_areas(
        layer_frame, layer=layer, variable=variable, method=method, per_capita=per_capita, smoothing=smoothing,
        weights=w, permutations=permutations, seed=seed, alpha=alpha, correction=correction, time_lag=time_lag,
    )  # fmt: skip


def _weights(
    gdf: gpd.GeoDataFrame, weights: WeightsMethod | SpatialWeights, *, k: int | None, threshold: float | None,
    kernel: KernelName,
) -> SpatialWeights:  # fmt: skip
    from geo.stats.weights import build_weights

    if isinstance(weights, SpatialWeights):
        return weights
    if k is None and weights in ("knn", "kernel"):
        k = 6
    return build_weights(
        gdf,
        method=weights,
        k=k if weights in ("knn", "kernel") else None,
        threshold=threshold if weights == "distance" else None,
        kernel=kernel,
    )


def _weights_name(w: SpatialWeights) -> str:
    if w.method == "knn":
        return f"knn (k={w.params.get('k')})"
    if w.method == "kernel":
        return f"kernel ({w.params.get('kernel')}, k={w.params.get('k')})" if "k" in w.params else "kernel"
    if w.method == "distance":
        return f"distance band ({w.params.get('threshold', 0):,.0f} {w.params.get('units', '')})".replace(" )", ")")
    return w.method


def _run_areas(
    gdf: gpd.GeoDataFrame, *, layer: str, variable: str, method: str, per_capita: bool, smoothing: str,
    weights: SpatialWeights, permutations: int, seed: int, alpha: float, correction: Correction, time_lag: int,
) -> HotspotRun:  # fmt: skip
    from geo.stats.getisord import local_gstar
    from geo.stats.moran import local_moran, local_moran_rate, moran, moran_rate

    id_column = ID_COLUMNS[layer] if ID_COLUMNS[layer] in gdf.columns else ""
    notes: list[str] = []
    wname = _weights_name(weights)
    eb = smoothing == "eb"

    if method == "ehsa":
        from geo.stats.emerging import emerging_hotspots

        counts = step_columns(gdf, variable)
        years = tuple(c[-4:] for c in counts)
        columns = counts
        frame = gdf
        if per_capita:
            columns = []
            for c in counts:
                frame, name, _ = add_per_capita(frame, layer=layer, variable=c, smoothing=smoothing)  # type: ignore[arg-type]
                columns.append(name)
            notes.append(_rate_note(layer, eb))
        res = emerging_hotspots(
            frame, columns=columns, times=years, weights=weights, time_lag=time_lag,
            permutations=permutations, seed=seed, alpha=alpha,
        )  # fmt: skip
        return _make_run(
            layer=layer, method=method, variable=variable, columns=tuple(columns), times=years, result=res,
            frame=res.frame, id_column=id_column, lines=tuple(res.summary().splitlines()), notes=tuple(notes),
            extra={"weights": wname},
        )  # fmt: skip

    events, base = variable, None
    if per_capita:
        frame, column, base = add_per_capita(gdf, layer=layer, variable=variable, smoothing=smoothing)  # type: ignore[arg-type]
        notes.append(_rate_note(layer, eb, base))
    else:
        frame, column = gdf, variable

    if method == "moran":
        if eb:
            res = moran_rate(frame, events=events, base=base, weights=weights, permutations=permutations, seed=seed)
        else:
            res = moran(frame, column, weights=weights, permutations=permutations, seed=seed)
        out, lines = res.frame, _moran_lines(res, wname)
    elif method == "lisa":
        kw = dict(weights=weights, permutations=permutations, seed=seed, alpha=alpha, correction=correction)
        if eb:
            res = local_moran_rate(frame, events=events, base=base, **kw)
        else:
            res = local_moran(frame, column, **kw)
        out = res.frame.assign(
            lisa_significance=significance_classes(
                res.frame["lisa_p"], cutoff=res.cutoff, labels=res.frame["lisa_cluster"]
            )
        )
        lines = res.summary().splitlines()
    else:
        res = local_gstar(
            frame, column, weights=weights, permutations=permutations, seed=seed, correction=correction,
            inference="permutation" if permutations else "normal",
        )  # fmt: skip
        out, lines = res.frame, res.summary().splitlines()
    return _make_run(
        layer=layer, method=method, variable=column, columns=(column,), times=(), result=res, frame=out,
        id_column=id_column, lines=tuple(lines), notes=tuple(notes), extra={"weights": wname},
    )  # fmt: skip


def _rate_note(layer: str, eb: bool, base: str | None = None) -> str:
    pop = base or ("each year's population (rate_pop_YYYY)" if layer == "npa" else "pop_2020")
    how = "empirical-Bayes smoothed rate" if eb else "rate"
    return f"{how} per 1,000 residents, population from {pop}; units with no population are Undefined"


def _run_points(
    points: gpd.GeoDataFrame, *, variable: str, method: str, per_capita: bool, weights, k, threshold, kernel,
    permutations: int, seed: int, alpha: float, correction: Correction, boundary: gpd.GeoDataFrame | None,
) -> HotspotRun:  # fmt: skip
    from geo.stats.moran import local_moran, moran
    from geo.stats.point_hotspots import optimized_hotspots

    if variable != "count":
        raise ValueDomainError("for the incident layer the variable is the number of points per hexagon: use 'count'")
    if per_capita:
        raise ValueDomainError("hexagons have no population: per-capita rates apply to NPAs and divisions")
    if method == "ehsa":
        raise ValueDomainError("emerging hot spots need yearly values per unit: use the NPA layer")
    if boundary is None:
        raise ValueDomainError("incident hot spots need a boundary layer (e.g. the NPAs) for the hexagon grid")
    opt = optimized_hotspots(
        points, boundary=boundary, correction=correction, permutations=permutations, seed=seed,
        inference="permutation" if permutations else "normal",
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
            layer="incidents", method=method, variable="count", columns=("count",), times=(), result=opt,
            frame=opt.frame, id_column="cell_id", lines=tuple(opt.summary().splitlines()), notes=tuple(notes),
            extra={"weights": f"distance band {opt.distance:,.0f} ft"},
        )  # fmt: skip
    cells = opt.frame[[c for c in opt.frame.columns if not str(c).startswith("gi_")]]
    w = _weights(cells, weights, k=k, threshold=threshold, kernel=kernel)
    wname = _weights_name(w)
    if method == "moran":
        res = moran(cells, "count", weights=w, permutations=permutations, seed=seed)
        out, lines = res.frame, _moran_lines(res, wname)
    else:
        res = local_moran(
            cells, "count", weights=w, permutations=permutations, seed=seed, alpha=alpha, correction=correction
        )
        out = res.frame.assign(
            lisa_significance=significance_classes(
                res.frame["lisa_p"], cutoff=res.cutoff, labels=res.frame["lisa_cluster"]
            )
        )
        lines = res.summary().splitlines()
    return _make_run(
        layer="incidents", method=method, variable="count", columns=("count",), times=(), result=res, frame=out,
        id_column="cell_id", lines=(*opt.summary().splitlines()[:1], *lines), notes=tuple(notes),
        extra={"weights": wname},
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
    status = np.where(
        ~np.isfinite(z),
        "No value",
        np.where(
            p <= res.alpha,
            np.where(z > 0, "Hot spot", np.where(z < 0, "Cold spot", "Not significant")),
            "Not significant",
        ),
    )
    return pd.DataFrame({"year": [int(t) for t in run.times], "value": values, "z": z, "p": p, "status": status})


def emerging_result(run: HotspotRun) -> EmergingResult:
    if not isinstance(run.result, EmergingResult):
        raise ValueDomainError(f"this needs an emerging hot spot run (method 'ehsa'), not {run.method!r}")
    return run.result
