r"""Space-time analyses of incident points: the cube, emerging hot spots, accuracy, near repeats.

Input: incident points in EPSG:2264 with ``month`` (a Timestamp, the first of the
month), ``category`` (persons, property, society, other) and point geometry -- the
full incidents layer when fetched, else the 2017-2026 point sample of the mirror
(:func:`geo.layers.records.cube_points`; its ``attrs["source_label"]`` is named in the
results) -- and a boundary (the county: the NPAs dissolved).

* :func:`emerging_cube` -- *Create Space Time Cube By Aggregating Points* and
  *Emerging Hot Spot Analysis*: the points are counted in contiguous hexagons
  (:func:`geo.layers.grid.hexagon_grid`, laid over the county's bounding box) x
  whole months, quarters or years (:mod:`geo.stats.cube`: which cells are kept,
  the step rule), then :func:`geo.stats.emerging.emerging_hotspots` runs on the
  cube: space-time Gi* (a cell, its six hexagon neighbours, and the same in the
  previous ``time_lag`` steps), FDR per step, Mann-Kendall per cell, the ArcGIS
  categories. Neighbours come from the hexagon lattice itself (axial coordinates),
  which equals queen contiguity of the cells (checked in the tests) and costs nothing.
* :func:`accuracy_by_year` -- how well year ``t``'s LISA High-High cells, Gi* hot
  spots and top-k cells would have targeted year ``t + 1``'s incidents (PAI, PEI,
  RRI: :mod:`geo.stats.accuracy`).
* :func:`near_repeat` -- the Knox table over distance x month bands
  (:mod:`geo.stats.near_repeat`), with the caveats of the point sample.

Each returns a result object with summary ``lines`` a community member can read and
tidy frames ready for export (values, z, p, labels, the method and its parameters).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from geo.caveats import NEAR_REPEAT_CAVEAT
from geo.errors import CRSError, EmptyInputError, SchemaError, ValueDomainError
from geo.layers.grid import HexGrid, boundary_geometry, hex_counts, hexagon_grid
from geo.stats.accuracy import prediction_accuracy, top_k_cells
from geo.stats.cube import SpaceTimeCube, Step, StepChoice, build_cube, choose_step, month_label
from geo.stats.emerging import EmergingResult, emerging_hotspots, mann_kendall
from geo.stats.getisord import local_gstar
from geo.stats.moran import local_moran
from geo.stats.near_repeat import KnoxAlternative, KnoxResult, knox_table
from geo.stats.significance import Correction, settings_defaults
from geo.stats.weights import SpatialWeights, weights_from_matrix
from geo.vocab import INCIDENT_CATEGORIES

__all__ = [
    "INCIDENT_CATEGORIES",
    "NEAR_REPEAT_CAVEAT",
    "CellCounts",
    "cell_counts",
    "hex_adjacency",
    "SpaceTimeResult",
    "emerging_cube",
    "AccuracyResult",
    "accuracy_by_year",
    "NearRepeatResult",
    "near_repeat",
]


_AXIAL_NEIGHBOURS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1))
_STEP_WORD = {"month": "months", "quarter": "quarters", "year": "years"}


@dataclass(frozen=True)
class CellCounts:
    """Incident points counted per hexagon and month.

    Attributes
    ----------
    grid
        The hexagon grid (over the boundary's bounding box).
    in_area
        ``(n_cells,)`` cells that overlap the boundary (the county).
    monthly, first_month
        ``(n_cells, n_months)`` counts; column 0 is month ``first_month`` (``12 * year + month - 1``).
    n_points, n_outside, n_undated
        Points given (after the category filter), outside every cell, without a month.
    category
        The category kept (``None``: all).
    source
        Which points were counted, in words (e.g. the 1-in-61 sample or the whole layer); empty if not known.
    dataset
        Their data set key (``incidents_points``, ``incidents_full``; ``points.attrs["source"]``), for the dictionary.
    """

    grid: HexGrid
    in_area: np.ndarray
    monthly: np.ndarray
    first_month: int
    n_points: int
    n_outside: int
    n_undated: int
    category: str | None
    source: str = ""
    dataset: str = ""


def _months(points: gpd.GeoDataFrame, category: str | None) -> tuple[gpd.GeoDataFrame, np.ndarray, int]:
    """The points of ``category``, their month index, and the number without a month."""
    missing = [c for c in ("month", "category") if c not in points.columns]
    if missing:
        raise SchemaError(f"the incident points have no column(s) {', '.join(missing)}")
    if points.crs is None or points.crs.is_geographic:
        raise CRSError("the incident points must be in a projected CRS (EPSG:2264, feet), not degrees or none")
    if category is not None:
        if category not in INCIDENT_CATEGORIES:
            raise ValueDomainError(f"category must be one of {', '.join(INCIDENT_CATEGORIES)}; got {category!r}")
        points = points[points["category"] == category]
    month = pd.to_datetime(points["month"], errors="coerce")
    dated = month.notna().to_numpy()
    idx = (month.dt.year * 12 + month.dt.month - 1).to_numpy(dtype=float)
    return points[dated], idx[dated].astype(np.int64), int((~dated).sum())


def cell_counts(
    points: gpd.GeoDataFrame,
    *,
    boundary: gpd.GeoDataFrame | shapely.Geometry,
    cell_size: float = 2000.0,
    category: str | None = None,
    source: str | None = None,
) -> CellCounts:
    """Count incident points per hexagon and month.

    The grid covers the boundary's bounding box (so that cells outside the county
    that hold points are seen); cells overlapping the boundary are ``in_area``.
    ``source`` names the points in the results; by default ``points.attrs["source_label"]``
    (set by :func:`geo.layers.records.cube_points`).

    Raises
    ------
    SchemaError, CRSError, ValueDomainError
        Missing columns, an unprojected layer, an unknown category.
    EmptyInputError
        No dated point.
    """
    pts, month, n_undated = _months(points, category)
    if len(pts) == 0:
        raise EmptyInputError(f"no dated incident point{'' if category is None else f' of category {category}'}")
    geom = boundary_geometry(boundary, pts.crs)
    grid = hexagon_grid(shapely.box(*geom.bounds), cell_size=cell_size, crs=pts.crs)
    cells = grid.cells.geometry.to_numpy()
    shapely.prepare(geom)
    in_area = shapely.intersects(geom, cells) & ~shapely.touches(geom, cells)
    x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    order = np.argsort(month, kind="stable")
    months, starts = np.unique(month[order], return_index=True)
    first = int(months[0])
    monthly = np.zeros((len(cells), int(months[-1]) - first + 1), dtype=np.int64)
    n_outside = 0
    for m, a, b in zip(months, starts, [*starts[1:], order.size], strict=True):
        sel = order[a:b]
        counts, out = hex_counts(x[sel], y[sel], grid)
        monthly[:, int(m) - first] = counts
        n_outside += out
    label = str(points.attrs.get("source_label", "")) if source is None else source
    dataset = str(points.attrs.get("source", ""))
    return CellCounts(
        grid, in_area, monthly, first, len(pts) + n_undated, n_outside, n_undated, category, label, dataset
    )


def hex_adjacency(q: np.ndarray, r: np.ndarray) -> sparse.csr_array:
    """Binary contiguity of hexagons from their axial coordinates (the six lattice neighbours present)."""
    q = np.asarray(q, dtype=np.int64)
    r = np.asarray(r, dtype=np.int64)
    q0, r0 = q.min() - 1, r.min() - 1
    nq = int(q.max() - q0 + 2)
    lookup = np.full(int(r.max() - r0 + 2) * nq, -1, dtype=np.int64)
    lookup[(r - r0) * nq + (q - q0)] = np.arange(q.size)
    rows, cols = [], []
    for dq, dr in _AXIAL_NEIGHBOURS:
        other = lookup[(r + dr - r0) * nq + (q + dq - q0)]
        ok = other >= 0
        rows.append(np.nonzero(ok)[0])
        cols.append(other[ok])
    i, j = np.concatenate(rows), np.concatenate(cols)
    return sparse.csr_array((np.ones(i.size), (i, j)), shape=(q.size, q.size))


def _cell_frame(counts: CellCounts, cube: SpaceTimeCube) -> tuple[gpd.GeoDataFrame, list[str], SpatialWeights]:
    """The kept cells with one count column per step, and their hexagon weights."""
    cells = counts.grid.cells.iloc[cube.cells]
    cols = [f"count_{label.replace('-', '_')}" for label in cube.labels]
    frame = gpd.GeoDataFrame(
        {
            "cell_id": cells["cell_id"].to_numpy(),
            "q": cells["q"].to_numpy(),
            "r": cells["r"].to_numpy(),
            "in_county": counts.in_area[cube.cells],
            "total": cube.counts.sum(axis=1),
            **dict(zip(cols, cube.counts.T, strict=True)),
        },
        geometry=cells.geometry.to_numpy(),
        crs=cells.crs,
    ).set_index("cell_id", drop=False)
    frame.index.name = None
    w = weights_from_matrix(
        hex_adjacency(frame["q"].to_numpy(), frame["r"].to_numpy()), ids=frame.index, method="hexagon contiguity"
    )
    return frame, cols, w


@dataclass(frozen=True)
class SpaceTimeResult:
    """Emerging hot spots of a space-time cube of incident points.

    Attributes
    ----------
    frame
        One row per kept cell: ``cell_id``, ``q``, ``r``, ``in_county``, ``total``, one
        ``count_<step>`` column per step, the ``ehsa_`` columns of
        :func:`geo.stats.emerging.emerging_hotspots`, ``count_trend_tau`` and
        ``count_trend_p`` (Mann-Kendall of the counts, as ArcGIS's cube), ``hot_recent``
        and ``cold_recent`` (hot / cold steps among the last ``recent``) and ``summary``
        (one plain sentence).
    bins
        Long table, one row per (cell, step): ``count``, ``z``, ``p``, ``status``, and the
        method and its parameters.
    cube, step_choice, emerging
        The cube, the step rule's outcome, the emerging hot spot result.
    parameters
        Method and options, for exports.
    lines
        Summary lines in plain words.
    """

    frame: gpd.GeoDataFrame
    bins: pd.DataFrame
    cube: SpaceTimeCube
    step_choice: StepChoice | None
    emerging: EmergingResult
    parameters: dict[str, object]
    lines: tuple[str, ...]

    def summary(self) -> str:
        """The summary lines joined."""
        return "\n".join(self.lines)


def emerging_cube(
    points: gpd.GeoDataFrame,
    *,
    boundary: gpd.GeoDataFrame | shapely.Geometry,
    cell_size: float = 2000.0,
    step: Step | None = None,
    category: str | None = None,
    time_lag: int = 1,
    permutations: int | None = 999,
    seed: int | None = None,
    alpha: float | None = None,
    correction: Correction = "fdr",
    recent: int = 8,
    counts: CellCounts | None = None,
) -> SpaceTimeResult:
    """Space-time cube of incident points and its emerging hot spots.

    Parameters
    ----------
    points
        Incident points (EPSG:2264) with ``month`` and ``category``.
    boundary
        The county (polygons, dissolved) or one polygon.
    cell_size
        Distance between hexagon centres, feet.
    step
        ``month``, ``quarter`` or ``year``; ``None``: the rule of :mod:`geo.stats.cube`.
    category
        One of :data:`INCIDENT_CATEGORIES`, or ``None`` for all.
    time_lag, permutations, seed, alpha, correction
        As :func:`geo.stats.emerging.emerging_hotspots` (two-sided, FDR per step by default).
    recent
        Steps counted in the plain-language sentence ("hot in 7 of the last 8 quarters").
    counts
        Counts from :func:`cell_counts` to reuse (then ``points``, ``boundary``,
        ``cell_size`` and ``category`` are not read again).
    """
    permutations, seed, alpha = settings_defaults(permutations, seed, alpha)
    if counts is None:
        counts = cell_counts(points, boundary=boundary, cell_size=cell_size, category=category)
    choice = None
    if step is None:
        choice = choose_step(counts.monthly, counts.first_month, in_area=counts.in_area)
        step = choice.step  # type: ignore[assignment]
    cube = build_cube(counts.monthly, counts.first_month, step=step, in_area=counts.in_area)  # type: ignore[arg-type]
    frame, cols, w = _cell_frame(counts, cube)
    res = emerging_hotspots(
        frame, columns=cols, times=cube.labels, weights=w, time_lag=time_lag, permutations=permutations,
        seed=seed, alpha=alpha, correction=correction, alternative="two-sided",
    )  # fmt: skip
    params: dict[str, object] = {
        "method": "emerging hot spots (space-time Gi*, Mann-Kendall)",
        "points_source": counts.source or "not named",
        "points": counts.n_points,
        "points_dataset": counts.dataset or "not named",
        "category": counts.category or "all",
        "cell_size_ft": counts.grid.spacing,
        "step": cube.step,
        "step_rule": choice.reason if choice else "chosen by the user",
        "time_lag": time_lag,
        "permutations": permutations,
        "seed": seed,
        "alpha": alpha,
        "correction": f"{correction} per step",
        "alternative": "two-sided",
        "weights": "hexagon contiguity (6 neighbours)",
    }
    out = _add_cell_columns(res, cube, recent)
    return SpaceTimeResult(
        frame=out,
        bins=_bins(res, cube, params),
        cube=cube,
        step_choice=choice,
        emerging=res,
        parameters=params,
        lines=_cube_lines(counts, cube, choice, res, out, recent),
    )


def _add_cell_columns(res: EmergingResult, cube: SpaceTimeCube, recent: int) -> gpd.GeoDataFrame:
    """Count trend, recent hot / cold steps and the plain sentence of each cell."""
    seen = np.asarray(cube.counts.sum(axis=1) > 0)  # a series of zeros has S = 0, tau 0, p 1: skip the work
    tau, trend_p = np.zeros(seen.size), np.ones(seen.size)
    if seen.any():
        mk = mann_kendall(cube.counts[seen].astype(float))
        tau[seen], trend_p[seen] = mk.tau, mk.p
    m = min(recent, cube.n_steps)
    hot_recent = res.hot.iloc[:, -m:].sum(axis=1).to_numpy()
    cold_recent = res.cold.iloc[:, -m:].sum(axis=1).to_numpy()
    word = _STEP_WORD[cube.step]
    sentences = [
        _sentence(cat, int(h), int(c), m, word)
        for cat, h, c in zip(res.frame["ehsa_category"], hot_recent, cold_recent, strict=True)
    ]
    return res.frame.assign(
        count_trend_tau=tau, count_trend_p=trend_p, hot_recent=hot_recent, cold_recent=cold_recent, summary=sentences
    )


def _sentence(category: str, hot: int, cold: int, m: int, word: str) -> str:
    """One cell's sentence, e.g. "Persistent Hot Spot: this cell has been a hot spot in 7 of the last 8 quarters"."""
    if category in ("Isolated", "Undefined"):
        return f"{category}: this cell was not tested (no neighbouring cell, or a missing step)."
    if hot and not cold:
        return f"{category}: this cell has been a hot spot in {hot} of the last {m} {word}."
    if cold and not hot:
        return f"{category}: this cell has been a cold spot in {cold} of the last {m} {word}."
    if hot and cold:
        return f"{category}: in the last {m} {word} this cell was a hot spot {hot} times and a cold spot {cold} times."
    return f"{category}: this cell has not been a significant hot or cold spot in the last {m} {word}."


def _bins(res: EmergingResult, cube: SpaceTimeCube, params: dict[str, object]) -> pd.DataFrame:
    """One row per (cell, step): count, z, p, status, and the method's parameters."""
    n, t = cube.counts.shape
    z = res.z.to_numpy(dtype=float)
    status = np.where(
        ~np.isfinite(z), "Not tested", np.where(res.hot, "Hot spot", np.where(res.cold, "Cold spot", "Not significant"))
    )
    keep = ("method", "category", "step", "time_lag", "permutations", "seed", "alpha", "correction")
    return pd.DataFrame(
        {
            "cell_id": np.repeat(res.z.index.to_numpy(), t),
            "step": np.tile(np.asarray(cube.labels, dtype=object), n),
            "count": cube.counts.ravel(),
            "z": z.ravel(),
            "p": res.p.to_numpy(dtype=float).ravel(),
            "status": status.ravel(),
            **{f"param_{k}": params[k] for k in keep},
        }
    )


def _cube_lines(
    counts: CellCounts,
    cube: SpaceTimeCube,
    choice: StepChoice | None,
    res: EmergingResult,
    frame: gpd.GeoDataFrame,
    recent: int,
) -> tuple[str, ...]:
    """Plain-language summary of the cube and its emerging hot spots."""
    word = _STEP_WORD[cube.step]
    what = "incidents" if counts.category is None else f"{counts.category} incidents"
    lines = [
        f"{cube.n_points - cube.n_partial_points:,} {what} counted in {len(frame):,} hexagons "
        f"{counts.grid.spacing:,.0f} ft apart over {cube.n_steps} {word} ({cube.labels[0]} to {cube.labels[-1]}); "
        f"{cube.sparseness:.0%} of the cell-{cube.step} bins hold no incident.",
        f"step: {choice.reason}" if choice else f"step: {cube.step} (chosen by the user)",
    ]
    if counts.source:
        kind = "" if counts.category is None else f"{counts.category} "
        lines.insert(1, f"points: {counts.source}: {counts.n_points:,} {kind}incident points")
    left = [
        (cube.n_excluded_cells, "hexagon(s) outside the county with no incident left out"),
        (cube.n_partial_points, f"incident(s) of a partial first or last {cube.step} left out"),
        (counts.n_outside, "incident(s) outside the grid left out"),
        (counts.n_undated, "incident(s) without a month left out"),
    ]
    lines += [f"{k:,} {text}" for k, text in left if k]
    m = min(recent, cube.n_steps)
    hot_now = int(res.hot.iloc[:, -1].sum())
    steady = int(((frame["hot_recent"] >= m - 1) & res.hot.iloc[:, -1].to_numpy()).sum())
    lines.append(
        f"{hot_now:,} hexagons are hot spots in the latest {cube.step} ({cube.labels[-1]}); "
        f"{steady:,} of them were hot spots in at least {m - 1} of the last {m} {word}."
    )
    lines += res.summary().splitlines()
    return tuple(lines)


@dataclass(frozen=True)
class AccuracyResult:
    """PAI, PEI and RRI of each year's hot spots for the next year's incidents.

    Attributes
    ----------
    table
        One row per (year, method): ``year``, ``next_year``, ``method`` (``LISA High-High``,
        ``Gi* hot spot``, ``top-k``), ``cells``, ``area_share``, ``hit_rate``, ``pai``,
        ``pei``, ``rri``, ``captured``, ``total``, and the parameters.
    parameters
        Options used.
    lines
        One plain sentence per year and method.
    """

    table: pd.DataFrame
    parameters: dict[str, object]
    lines: tuple[str, ...]

    def summary(self) -> str:
        """The summary lines joined."""
        return "\n".join(self.lines)


def _flags(
    frame: gpd.GeoDataFrame, w: SpatialWeights, k: int, *, permutations: int, seed: int, alpha: float, corr: Correction
) -> dict[str, np.ndarray]:
    """Cells flagged by each method from the ``count`` column."""
    lisa = local_moran(frame, "count", weights=w, permutations=permutations, seed=seed, alpha=alpha, correction=corr)
    gi = local_gstar(
        frame, "count", weights=w, permutations=permutations, seed=seed, inference="permutation",
        correction=corr, alpha=alpha,
    )  # fmt: skip
    return {
        "LISA High-High": (lisa.frame["lisa_cluster"] == "High-High").to_numpy(),
        "Gi* hot spot": (gi.frame["gi_bin"] > 0).to_numpy(),
        "top-k": top_k_cells(frame["count"].to_numpy(), k),
    }


def accuracy_by_year(
    points: gpd.GeoDataFrame,
    *,
    boundary: gpd.GeoDataFrame | shapely.Geometry,
    cell_size: float = 2000.0,
    category: str | None = None,
    top_share: float = 0.05,
    permutations: int | None = 999,
    seed: int | None = None,
    alpha: float | None = None,
    correction: Correction = "fdr",
    counts: CellCounts | None = None,
) -> AccuracyResult:
    """How well each whole year's hot spots would have targeted the next year's incidents.

    For each pair of whole years ``(t, t + 1)``: LISA High-High cells and Gi* hot spots
    (999 permutations, two-sided, FDR; hexagon contiguity) of year ``t``'s counts, and
    the top ``k`` cells of year ``t`` (``k = round(top_share * cells)``, at least 1; ties by
    cell order), scored on year ``t + 1`` by :func:`geo.stats.accuracy.prediction_accuracy`
    with the cells' areas.
    """
    permutations, seed, alpha = settings_defaults(permutations, seed, alpha)
    if not 0 < top_share <= 1:
        raise ValueDomainError(f"top_share must be in (0, 1]; got {top_share!r}")
    if counts is None:
        counts = cell_counts(points, boundary=boundary, cell_size=cell_size, category=category)
    cube = build_cube(counts.monthly, counts.first_month, step="year", in_area=counts.in_area)
    if cube.n_steps < 2:
        raise ValueDomainError(f"accuracy needs two whole years of incidents; got {cube.n_steps}")
    frame, _, w = _cell_frame(counts, cube)
    area = frame.geometry.area.to_numpy()
    k = max(1, round(top_share * len(frame)))
    rows = []
    for s in range(cube.n_steps - 1):
        layer = frame[["cell_id", "geometry"]].assign(count=cube.counts[:, s])
        flags = _flags(layer, w, k, permutations=permutations, seed=seed, alpha=alpha, corr=correction)
        for method, flagged in flags.items():
            acc = prediction_accuracy(flagged, cube.counts[:, s], cube.counts[:, s + 1], area=area)
            rows.append(
                {"year": cube.labels[s], "next_year": cube.labels[s + 1], "method": method, "cells": acc.flagged,
                 "area_share": acc.area_share, "hit_rate": acc.hit_rate, "pai": acc.pai, "pei": acc.pei,
                 "rri": acc.rri, "captured": acc.captured, "total": acc.total}
            )  # fmt: skip
    params: dict[str, object] = {
        "category": counts.category or "all", "cell_size_ft": counts.grid.spacing, "top_k": k,
        "permutations": permutations, "seed": seed, "alpha": alpha, "correction": correction,
        "alternative": "two-sided",
    }  # fmt: skip
    table = pd.DataFrame(rows).assign(**{f"param_{key}": [v] * len(rows) for key, v in params.items()})
    return AccuracyResult(table=table, parameters=params, lines=tuple(_accuracy_sentence(r) for r in rows))


def _accuracy_sentence(row: dict[str, object]) -> str:
    """One row's sentence: "Gi* hot spot cells of 2019 (...) held 12% of 2020's incidents: PAI 3.9, ..."."""
    if not row["cells"]:
        return f"{row['method']}: no cell flagged in {row['year']}."
    return (
        f"{row['method']} cells of {row['year']} ({row['cells']} cells, {row['area_share']:.1%} of the area) held "
        f"{row['hit_rate']:.1%} of {row['next_year']}'s incidents: PAI {row['pai']:.2f} (1 = no better than chance), "
        f"PEI {row['pei']:.2f} (1 = the best cells possible), RRI {row['rri']:.2f}."
    )


@dataclass(frozen=True)
class NearRepeatResult:
    """Knox test of incident points over distance x month bands.

    Attributes
    ----------
    knox
        The Knox table (:class:`geo.stats.near_repeat.KnoxResult`).
    table
        Its tidy frame plus ``category``.
    lines
        Plain sentences, the caveat last.
    """

    knox: KnoxResult
    table: pd.DataFrame
    lines: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        """The summary lines joined."""
        return "\n".join(self.lines)


def near_repeat(
    points: gpd.GeoDataFrame,
    *,
    distance_bands: Sequence[float] = (400.0, 800.0, 1200.0, 1600.0, 2000.0),
    time_bands: Sequence[int] = (0, 1, 2, 3),
    category: str | None = None,
    permutations: int = 999,
    seed: int | None = None,
    alternative: KnoxAlternative = "two-sided",
) -> NearRepeatResult:
    """Knox test of the incident points: distance bands in feet x time bands in months.

    Times are months (``time_bands=(0, 1, 2, 3)``: the same month, 1, 2 and 3 months
    apart); :data:`NEAR_REPEAT_CAVEAT` says what the point sample allows.
    """
    _, seed, _ = settings_defaults(permutations, seed, 0.05)
    pts, month, _ = _months(points, category)
    xy = np.column_stack([pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()])
    res = knox_table(
        xy, month - month.min(), distance_bands=distance_bands, time_bands=time_bands, permutations=permutations,
        seed=seed, alternative=alternative, distance_unit="ft", time_unit="months",
    )  # fmt: skip
    d0, t0 = res.distance_labels()[0], res.time_labels()[0]
    lines = [
        f"Knox test of {res.n_points:,} {'incidents' if category is None else category + ' incidents'} "
        f"({month_label(int(month.min()), 'month')} to {month_label(int(month.max()), 'month')}), "
        f"{res.permutations} permutations, {alternative} p-values.",
        f"Pairs {d0} apart and {'in the same month' if t0 == 'same month' else t0 + ' apart'}: "
        f"{res.observed[0, 0]:,} observed, {res.expected[0, 0]:,.1f} expected "
        f"(ratio {res.ratio[0, 0]:.2f}, p = {res.p[0, 0]:.3g}).",
        NEAR_REPEAT_CAVEAT,
    ]
    return NearRepeatResult(knox=res, table=res.table().assign(category=category or "all"), lines=tuple(lines))
