"""How robust is each hot spot: the same local statistic under several weights and seeds.

A hot-spot map is one draw from many reasonable choices. On the 2022 NPA violent-crime
rates the number of LISA High-High units (FDR at 0.05) is 10 with queen weights, 5
with rook, 2 with 6 nearest neighbours, 33 with 10, 45 with a distance band and 1
with a kernel. :func:`robustness` runs the same variable under a set of weights
(:data:`DEFAULT_SPECS`) and several permutation seeds, and counts per unit in how many
of the runs it was a hot (cold) spot, so that an analyst can say which hot spots do
not depend on a modelling choice.

Each run is :func:`geo.stats.moran.local_moran` (``method="lisa"``: hot is
``High-High``, cold ``Low-Low``) or :func:`geo.stats.getisord.local_gstar` with
permutation inference, binned at ``alpha`` (``method="gi"``: hot is a positive
confidence bin, cold a negative one; the direction is the permutation tail). A unit is
*tested* in a run when it has a value and at least one neighbour with a value;
undefined units (no value) and islands are not tested in that run. Its class
(:data:`ROBUSTNESS_CLASSES`) counts only the runs in which it was tested:

* ``Hot in all runs``: hot in every tested run; ``Hot in most runs``: in more than
  half; ``Hot in some runs``: in at least one, at most half, never cold;
* the same three for cold;
* ``Hot in some, cold in others``: both at least once;
* ``Never significant``: tested, never hot nor cold; ``Not tested``: in no run.

Each weights object is built once (:func:`geo.stats.weights.build_weights`) and reused
for every seed; 6 weights x 3 seeds at 999 permutations on the 459 NPAs take about a
second. With FDR and 999 permutations some runs find nothing at all (the corrected
cutoff needs more units at the permutation floor than the data has); those runs are
named in a ``cutoff_below_floor`` warning (:mod:`geo.analysis.hotspot_advice`).

Examples
--------
>>> res = robustness(layer, "violent_rate_2022", id_column="npa")  # doctest: +SKIP
>>> res.counts["Hot in all runs"]  # doctest: +SKIP
>>> print(res.summary(unit="NPAs"))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.analysis.hotspot_advice import result_advice
from geo.errors import GeoDataError, GeoWarning, SchemaError, ValueDomainError
from geo.stats.getisord import local_gstar
from geo.stats.moran import local_moran
from geo.stats.significance import (
    Correction,
    LocalResult,
    add_columns,
    check_alpha,
    check_permutations,
    numeric_values,
    significance_cutoff,
)
from geo.stats.warning_codes import NEGATIVE_VALUES, UNDEFINED_UNITS
from geo.stats.weights import METHODS as WEIGHTS_METHODS
from geo.stats.weights import KernelName, SpatialWeights, WeightsMethod, build_weights

__all__ = [
    "RobustnessMethod",
    "ROBUSTNESS_METHODS",
    "ROBUSTNESS_CLASSES",
    "ROBUSTNESS_COLUMNS",
    "RUN_STATES",
    "WeightsSpec",
    "DEFAULT_SPECS",
    "DEFAULT_SEEDS",
    "RobustnessResult",
    "robustness",
    "robustness_class",
]


RobustnessMethod = Literal["lisa", "gi"]


ROBUSTNESS_METHODS: tuple[str, ...] = get_args(RobustnessMethod)


#: The class of each unit, in legend order: hot to cold, then the mixed and untested units.
ROBUSTNESS_CLASSES: tuple[str, ...] = (
    "Hot in all runs", "Hot in most runs", "Hot in some runs",
    "Never significant",
    "Cold in some runs", "Cold in most runs", "Cold in all runs",
    "Hot in some, cold in others", "Not tested",
)  # fmt: skip


#: The columns :func:`robustness` adds to the layer.
ROBUSTNESS_COLUMNS: tuple[str, ...] = (
    "robust_runs", "robust_hot", "robust_cold", "robust_hot_share", "robust_cold_share", "robust_class",
)  # fmt: skip


#: The values of :attr:`RobustnessResult.per_run`: hot, cold, tested but not significant, not tested.
RUN_STATES: tuple[str, ...] = ("hot", "cold", "", "not tested")


#: Warnings that do not depend on the weights (kept once, without a spec name).
_SHARED_CODES: frozenset[str] = frozenset({UNDEFINED_UNITS, NEGATIVE_VALUES})


#: The words of the summary for each class.
_CLASS_WORDS: dict[str, str] = {
    "Hot in all runs": "hot in all",
    "Hot in most runs": "hot in most runs (more than half)",
    "Hot in some runs": "hot in some runs (at most half)",
    "Cold in all runs": "cold in all",
    "Cold in most runs": "cold in most runs (more than half)",
    "Cold in some runs": "cold in some runs (at most half)",
    "Hot in some, cold in others": "hot in some runs, cold in others",
    "Never significant": "never significant",
    "Not tested": "not tested (no value, or no neighbour in any run)",
}


@dataclass(frozen=True)
class WeightsSpec:
    """One choice of spatial weights, built by :meth:`build`.

    Attributes
    ----------
    name
        Short name shown in tables and run labels (e.g. ``"knn-6"``).
    method
        ``queen``, ``rook``, ``knn``, ``distance`` or ``kernel``
        (:func:`geo.stats.weights.build_weights`).
    k
        Neighbours for ``knn`` (required) and ``kernel`` (6 when ``None``).
    threshold
        Distance band in CRS units; ``None``: the smallest band in which every unit
        has a neighbour.
    kernel
        Kernel function of ``kernel`` weights.
    """

    name: str
    method: WeightsMethod
    k: int | None = None
    threshold: float | None = None
    kernel: KernelName = "triangular"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueDomainError(f"a weights spec needs a name; got {self.name!r}")
        if self.method not in WEIGHTS_METHODS:
            raise ValueDomainError(
                f"weights spec {self.name!r}: unknown method {self.method!r}; allowed: {', '.join(WEIGHTS_METHODS)}"
            )
        if self.method == "knn" and self.k is None:
            raise ValueDomainError(f"weights spec {self.name!r}: knn weights need k, e.g. k=6")

    def describe(self) -> str:
        """The weights in plain words."""
        if self.method in ("queen", "rook"):
            return f"{self.method} contiguity"
        if self.method == "knn":
            return f"{self.k} nearest neighbours"
        if self.method == "distance":
            if self.threshold is None:
                return "distance band (the smallest giving every unit a neighbour)"
            return f"distance band of {self.threshold:,.0f} CRS units"
        k = 6 if self.k is None else self.k
        return f"{self.kernel} kernel over the {k} nearest neighbours (bandwidth: the largest {k}th-neighbour distance)"

    def build(self, gdf: gpd.GeoDataFrame, *, cache_dir: Path | None = None) -> SpatialWeights:
        """Build these weights for the rows of ``gdf``.

        Raises
        ------
        GeoDataError
            As :func:`geo.stats.weights.build_weights`, the message starting with the spec's name.
        """
        knn_like = self.method in ("knn", "kernel")
        try:
            return build_weights(
                gdf,
                method=self.method,
                k=self.k if knn_like else None,
                threshold=self.threshold if self.method == "distance" else None,
                kernel=self.kernel,
                cache_dir=cache_dir,
            )
        except GeoDataError as exc:
            raise type(exc)(f"weights {self.name!r}: {exc}") from exc


#: Queen, rook, 6 and 10 nearest neighbours, the automatic distance band, a triangular kernel.
DEFAULT_SPECS: tuple[WeightsSpec, ...] = (
    WeightsSpec("queen", "queen"),
    WeightsSpec("rook", "rook"),
    WeightsSpec("knn-6", "knn", k=6),
    WeightsSpec("knn-10", "knn", k=10),
    WeightsSpec("distance band", "distance"),
    WeightsSpec("kernel", "kernel", k=6, kernel="triangular"),
)


#: Permutation seeds: the settings' default seed (12345) and the next two.
DEFAULT_SEEDS: tuple[int, ...] = (12345, 12346, 12347)


@dataclass(frozen=True)
class RobustnessResult:
    """What :func:`robustness` found: per unit, in how many runs it was a hot or cold spot.

    Attributes
    ----------
    frame
        Copy of the layer with :data:`ROBUSTNESS_COLUMNS`: ``robust_runs`` (runs in which
        the unit was tested), ``robust_hot`` and ``robust_cold`` (runs in which it was a
        hot / cold spot), ``robust_hot_share`` and ``robust_cold_share`` (those over
        ``robust_runs``; NaN when never tested) and ``robust_class``
        (:data:`ROBUSTNESS_CLASSES`).
    runs
        One row per run (weights x seed, in that order): ``run`` (its label, a column
        of ``per_run``), ``weights`` (spec name), ``seed``, ``hot``, ``cold``,
        ``tested``, ``islands``, ``undefined``, ``cutoff`` (p cutoff after the
        correction; -1 when nothing can pass), ``mean_neighbours`` and
        ``weights_detail`` (the weights in words).
    per_run
        Unit x run (index as ``frame``, columns ``runs["run"]``): ``"hot"``, ``"cold"``,
        ``""`` (tested, not significant) or ``"not tested"``.
    counts
        Units per class, in :data:`ROBUSTNESS_CLASSES` order.
    warnings
        The runs' warnings, deduplicated: those that depend on the weights (``islands``,
        ``components``, ``small_sample``, ``direction_conflict``) start with the spec's
        name; ``cutoff_below_floor`` advice (:func:`geo.analysis.hotspot_advice.result_advice`)
        names the runs it applies to.
    variable, method, specs, seeds, permutations, alpha, correction
        The options used.
    id_column
        Column naming each unit in the summary (``None``: the index).
    notes
        How the variable was made (e.g. the rate's population), for the summary.
    """

    frame: gpd.GeoDataFrame
    runs: pd.DataFrame
    per_run: pd.DataFrame
    counts: Mapping[str, int]
    warnings: tuple[GeoWarning, ...]
    variable: str
    method: str
    specs: tuple[WeightsSpec, ...]
    seeds: tuple[int, ...]
    permutations: int
    alpha: float
    correction: str
    id_column: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def n_runs(self) -> int:
        """Number of runs (weights x seeds)."""
        return len(self.specs) * len(self.seeds)

    def ids(self, robust_class: str) -> list[Hashable]:
        """Ids (``id_column``, else the index) of the units in one class."""
        if robust_class not in ROBUSTNESS_CLASSES:
            raise ValueDomainError(
                f"unknown robustness class {robust_class!r}; allowed: {', '.join(ROBUSTNESS_CLASSES)}"
            )
        mask = (self.frame["robust_class"] == robust_class).to_numpy()
        ids = self.frame.index if self.id_column is None else pd.Index(self.frame[self.id_column])
        return list(ids[mask])

    def hot_per_weights(self) -> pd.DataFrame:
        """Hot and cold spots per weights: min and max over the seeds (one row per spec)."""
        return self.runs.groupby("weights", sort=False).agg(
            hot_min=("hot", "min"), hot_max=("hot", "max"), cold_min=("cold", "min"), cold_max=("cold", "max"),
            tested=("tested", "max"),
        )  # fmt: skip

    def summary(self, *, unit: str = "units", limit: int = 12) -> str:
        """A few lines for the command line: the runs, the hot spots per weights, the classes.

        Parameters
        ----------
        unit
            What the rows are, for the sentences (``"NPAs"``).
        limit
            Ids listed per class before ``...``.
        """
        stat = "LISA" if self.method == "lisa" else "Gi*"
        hot_word = "High-High" if self.method == "lisa" else "Gi* hot spots"
        names = ", ".join(s.name for s in self.specs)
        lines = [
            f"{stat} robustness of {self.variable}: {self.n_runs} runs = {len(self.specs)} weights ({names}) "
            f"x {len(self.seeds)} seeds ({', '.join(map(str, self.seeds))}); {self.permutations} permutations, "
            f"alpha {self.alpha:g}, correction {self.correction}"
        ]
        per = self.hot_per_weights()
        spans = [_span(name, row["hot_min"], row["hot_max"]) for name, row in per.iterrows()]
        lines.append(f"{hot_word} per weights (min-max over seeds): " + ", ".join(spans))
        full = self.frame["robust_runs"].to_numpy() == self.n_runs
        for cls in ROBUSTNESS_CLASSES:
            n = self.counts.get(cls, 0)
            words = _CLASS_WORDS[cls]
            if cls in ("Hot in all runs", "Cold in all runs"):
                short = int((~full & (self.frame["robust_class"] == cls).to_numpy()).sum())
                words += f" {self.n_runs} runs" if not short else f" runs in which tested ({short} untested in some)"
            ids = (
                "" if cls in ("Never significant", "Not tested") or not n else f" (ids {_first(self.ids(cls), limit)})"
            )
            lines.append(f"{words}: {n} {unit}{ids}")
        lines += [f"note: {n}" for n in self.notes] + [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _span(name: object, low: int, high: int) -> str:
    return f"{name} {low}" if low == high else f"{name} {low}-{high}"


def _first(values: Sequence[Hashable], limit: int) -> str:
    shown = ", ".join(map(str, values[:limit]))
    return shown + (f" ... (+{len(values) - limit})" if len(values) > limit else "")


def robustness_class(hot: np.ndarray, cold: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """The class (:data:`ROBUSTNESS_CLASSES`) of each unit from its hot, cold and tested run counts.

    Examples
    --------
    >>> robustness_class(np.array([6, 4, 3, 0, 2, 0]), np.array([0, 0, 0, 0, 1, 0]), np.array([6, 6, 6, 6, 6, 0])).tolist()
    ['Hot in all runs', 'Hot in most runs', 'Hot in some runs', 'Never significant', 'Hot in some, cold in others', 'Not tested']
    """
    hot, cold, runs = (np.asarray(a, dtype=np.int64) for a in (hot, cold, runs))
    out = np.full(hot.shape, "Never significant", dtype=object)
    for count, side in ((hot, "Hot"), (cold, "Cold")):
        out[count > 0] = f"{side} in some runs"
        out[2 * count > runs] = f"{side} in most runs"
        out[(count == runs) & (runs > 0)] = f"{side} in all runs"
    out[(hot > 0) & (cold > 0)] = "Hot in some, cold in others"
    out[runs == 0] = "Not tested"
    return out


@dataclass(frozen=True)
class _Options:
    """The checked options of one robustness run."""

    method: str
    specs: tuple[WeightsSpec, ...]
    seeds: tuple[int, ...]
    permutations: int
    alpha: float
    correction: Correction


def _check_options(
    method: str,
    specs: Sequence[WeightsSpec],
    seeds: Sequence[int],
    permutations: int,
    alpha: float,
    correction: Correction,
) -> _Options:
    """Check every option and report all the problems in one message."""
    problems: list[str] = []
    if method not in ROBUSTNESS_METHODS:
        problems.append(f"method must be one of {', '.join(ROBUSTNESS_METHODS)}; got {method!r}")
    specs = tuple(specs)
    if not specs:
        problems.append("specs must hold at least one WeightsSpec")
    bad = [type(s).__name__ for s in specs if not isinstance(s, WeightsSpec)]
    if bad:
        problems.append(f"specs must be WeightsSpec values; got {', '.join(bad)}")
    names = [s.name for s in specs if isinstance(s, WeightsSpec)]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        problems.append(f"weights spec names must be unique; repeated: {', '.join(map(repr, dup))}")
    seeds = tuple(seeds)
    if not seeds:
        problems.append("seeds must hold at least one seed")
    if any(isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 0 for s in seeds):
        problems.append(f"seeds must be non-negative integers; got {seeds!r}")
    elif len(set(seeds)) < len(seeds):
        problems.append(f"seeds must be distinct; got {seeds!r}")
    for check in (lambda: check_permutations(permutations, allow_zero=False), lambda: check_alpha(alpha)):
        try:
            check()
        except (ValueDomainError, TypeError) as exc:
            problems.append(str(exc))
    try:
        significance_cutoff(np.array([0.5]), 0.05, correction)
    except ValueDomainError as exc:
        problems.append(str(exc))
    if problems:
        raise ValueDomainError("robustness: " + "; ".join(problems))
    return _Options(method, specs, tuple(int(s) for s in seeds), int(permutations), float(alpha), correction)


def robustness(
    gdf: gpd.GeoDataFrame,
    column: str,
    *,
    method: RobustnessMethod = "lisa",
    specs: Sequence[WeightsSpec] = DEFAULT_SPECS,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    permutations: int = 999,
    alpha: float = 0.05,
    correction: Correction = "fdr",
    id_column: str | None = None,
    cache_dir: Path | None = None,
) -> RobustnessResult:
    """Run a local statistic under every weights spec and seed; count the runs each unit is hot or cold in.

    Parameters
    ----------
    gdf
        Layer, one row per unit, in a projected CRS (distance-based weights).
    column
        Numeric column analysed (e.g. a rate computed beforehand); missing values are
        ``Not tested``.
    method
        ``lisa`` (local Moran's I: hot is High-High, cold Low-Low) or ``gi``
        (Getis-Ord Gi* with permutation p-values: hot is a positive bin, cold a negative
        one, significant at ``alpha``).
    specs
        The weights (:data:`DEFAULT_SPECS`); names must be unique.
    seeds
        Permutation seeds; every spec runs with each.
    permutations
        Conditional permutations per run (99 to 99,999).
    alpha
        Significance level.
    correction
        ``none``, ``fdr`` (Benjamini-Hochberg, per run) or ``bonferroni``.
    id_column
        Column naming each unit in :meth:`RobustnessResult.summary` and
        :meth:`RobustnessResult.ids`; default the index.
    cache_dir
        Folder where contiguity matrices are kept between processes
        (:func:`geo.stats.weights.build_weights`).

    Returns
    -------
    RobustnessResult

    Raises
    ------
    TypeError
        ``gdf`` is not a GeoDataFrame.
    SchemaError
        ``column`` absent or not numeric, ``id_column`` absent, or a ``robust_*`` column
        already in the layer.
    ValueDomainError
        An option out of range (every problem in one message).
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"robustness needs a GeoDataFrame, got {type(gdf).__name__}")
    options = _check_options(method, specs, seeds, permutations, alpha, correction)
    numeric_values(gdf, column)
    if id_column is not None and id_column not in gdf.columns:
        raise SchemaError(f"id column {id_column!r} is not in the layer; columns: {', '.join(map(str, gdf.columns))}")
    add_columns(gdf.iloc[:0], dict.fromkeys(ROBUSTNESS_COLUMNS, np.array([])))  # refuse to overwrite, up front
    slim = gpd.GeoDataFrame({column: gdf[column]}, geometry=gdf.geometry.values, index=gdf.index, crs=gdf.crs)
    states: dict[str, np.ndarray] = {}
    rows: list[dict[str, object]] = []
    warnings: dict[tuple[str, str], GeoWarning] = {}
    advice: dict[tuple[str, str], list[str]] = {}
    for spec in options.specs:
        weights = spec.build(slim, cache_dir=cache_dir)
        for seed in options.seeds:
            res = _one_run(slim, column, weights, seed, options)
            label = f"{spec.name} / seed {seed}"
            states[label] = _run_state(res, options.method)
            rows.append(_run_row(label, spec, seed, res, states[label], weights))
            for w in res.warnings:
                w = GeoWarning(w.code, f"{spec.name}: {w.text}") if w.code not in _SHARED_CODES else w
                warnings.setdefault((w.code, w.text), w)
            for w in result_advice(res):
                advice.setdefault((w.code, w.text), []).append(label)
    n_runs = len(rows)
    for (code, text), labels in advice.items():
        warnings[code, text] = GeoWarning(code, f"{len(labels)} of {n_runs} runs ({', '.join(labels)}): {text}")
    return _assemble(gdf, column, options, states, rows, tuple(warnings.values()), id_column)


def _one_run(slim: gpd.GeoDataFrame, column: str, weights: SpatialWeights, seed: int, options: _Options) -> LocalResult:
    """One local statistic under one weights object and one seed."""
    if options.method == "lisa":
        return local_moran(
            slim, column, weights=weights, permutations=options.permutations, seed=seed, alpha=options.alpha,
            correction=options.correction, alternative="two-sided", prefix="lisa_",
        )  # fmt: skip
    return local_gstar(
        slim, column, weights=weights, permutations=options.permutations, seed=seed, inference="permutation",
        correction=options.correction, alpha=options.alpha, alternative="two-sided", prefix="gi_",
    )  # fmt: skip


def _run_state(res: LocalResult, method: str) -> np.ndarray:
    """``"hot"``, ``"cold"``, ``""`` or ``"not tested"`` for each unit of one run.

    LISA: High-High and Low-Low. Gi*: the sign of the bin, binned at ``alpha`` (its
    direction is the permutation tail).
    """
    frame = res.frame
    if method == "lisa":
        labels = frame["lisa_cluster"].to_numpy(dtype=object)
        hot, cold = labels == "High-High", labels == "Low-Low"
    else:
        labels = frame["gi_label"].to_numpy(dtype=object)
        bins = frame["gi_bin"].to_numpy(dtype=np.int64)
        hot, cold = bins > 0, bins < 0
    state = np.full(len(frame), "", dtype=object)
    state[hot] = "hot"
    state[cold] = "cold"
    state[np.isin(labels, ["Isolated", "Undefined"])] = "not tested"
    return state


def _run_row(
    label: str,
    spec: WeightsSpec,
    seed: int,
    res: LocalResult,
    state: np.ndarray,
    weights: SpatialWeights,
) -> dict[str, object]:
    """One row of :attr:`RobustnessResult.runs`."""
    summary = weights.summary()
    detail = spec.describe()
    for key in ("threshold", "bandwidth"):
        value = weights.params.get(key)
        if isinstance(value, int | float):
            detail += f"; {key} {value:,.0f} {weights.params.get('units', 'CRS units')}"
    return {
        "run": label,
        "weights": spec.name,
        "seed": seed,
        "hot": int((state == "hot").sum()),
        "cold": int((state == "cold").sum()),
        "tested": int(res.n_tested),
        "islands": len(res.islands),
        "undefined": len(res.undefined),
        "cutoff": float(res.cutoff),
        "mean_neighbours": float(summary["mean_neighbours"]),
        "weights_detail": detail,
    }


def _assemble(
    gdf: gpd.GeoDataFrame,
    column: str,
    options: _Options,
    states: dict[str, np.ndarray],
    rows: list[dict[str, object]],
    warnings: tuple[GeoWarning, ...],
    id_column: str | None,
) -> RobustnessResult:
    """Count the runs per unit and build the result."""
    per_run = pd.DataFrame(states, index=gdf.index)
    grid = per_run.to_numpy(dtype=object)
    hot = (grid == "hot").sum(axis=1)
    cold = (grid == "cold").sum(axis=1)
    tested = (grid != "not tested").sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        hot_share = np.where(tested > 0, hot / tested, np.nan)
        cold_share = np.where(tested > 0, cold / tested, np.nan)
    classes = robustness_class(hot, cold, tested)
    cols = {
        "robust_runs": tested.astype(np.int64),
        "robust_hot": hot.astype(np.int64),
        "robust_cold": cold.astype(np.int64),
        "robust_hot_share": hot_share,
        "robust_cold_share": cold_share,
        "robust_class": classes,
    }
    frame = add_columns(gdf, cols)
    counts = pd.Series(classes).value_counts()
    return RobustnessResult(
        frame=frame,
        runs=pd.DataFrame(rows),
        per_run=per_run,
        counts={c: int(counts.get(c, 0)) for c in ROBUSTNESS_CLASSES},
        warnings=warnings,
        variable=column,
        method=options.method,
        specs=options.specs,
        seeds=options.seeds,
        permutations=options.permutations,
        alpha=options.alpha,
        correction=options.correction,
        id_column=id_column,
    )
