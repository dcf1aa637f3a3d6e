r"""A space-time cube of point counts: cells x time steps, as plain arrays.

In the spirit of ArcGIS's *Create Space Time Cube By Aggregating Points*: every
point falls in one cell (a hexagon) and one time step, the cube holds the number
of points of each (cell, step) bin, and an empty bin is a real zero. The caller
counts the points per cell and *month* (:func:`monthly_counts`); this module
trims the months to whole steps, sums them into months, quarters or years,
decides which cells belong to the cube and chooses the step.

Cells
-----
A cell is kept when it lies in the study area (``in_area``, e.g. the county) or
held at least one point in some step: cells of the county with no point are kept
as zeros (places without a recorded incident are part of the pattern), cells
outside it that never see a point are excluded and counted (``n_excluded_cells``).
This is ArcGIS's rule ("only locations with at least one point in some time step")
plus the study area's empty cells.

Whole steps only
----------------
Only steps whose every month lies within the data's span of months are used (a
year 2026 holding only January to June would look like a collapse in crime):
points of a partial first or last step are left out and counted
(``n_partial_points``).

The step rule (:func:`choose_step`)
-----------------------------------
Candidates are month, quarter and year, finest first. ArcGIS's trend test and
emerging hot spot categories (the 90 % rule) are meant for at least ten time
steps, and a cube whose typical bin is empty mostly tests zeros against zeros. So
the step is **the finest of month, quarter and year that gives at least
``min_steps`` (10) whole steps and a median bin of at least ``min_median`` (1)
point** -- at least half of the cube's bins (kept cells x steps) hold a point.
When no step reaches that median, the rule takes **the coarsest step that still
gives at least 10 whole steps** (the most points per bin the trend test allows) and
says the cube is sparse; when no step gives 10 whole steps it refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from geo.errors import ValueDomainError

__all__ = [
    "Step",
    "STEPS",
    "MONTHS_PER_STEP",
    "MIN_CUBE_STEPS",
    "month_index",
    "month_label",
    "monthly_counts",
    "SpaceTimeCube",
    "StepChoice",
    "build_cube",
    "step_table",
    "choose_step",
]


Step = Literal["month", "quarter", "year"]

#: Candidate steps, finest first.
STEPS: tuple[str, ...] = get_args(Step)

MONTHS_PER_STEP: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}

#: Fewest time steps the step rule accepts (ArcGIS's advice for the trend test).
MIN_CUBE_STEPS = 10


def month_index(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Months since January of year 0: ``12 * year + month - 1`` (``month`` 1 .. 12)."""
    out: np.ndarray = 12 * np.asarray(year, dtype=np.int64) + np.asarray(month, dtype=np.int64) - 1
    return out


def month_label(period: int, step: str) -> str:
    """Label of step ``period`` (months, quarters or years since year 0): ``2017-01``, ``2017-Q1``, ``2017``."""
    if step == "month":
        return f"{period // 12:04d}-{period % 12 + 1:02d}"
    if step == "quarter":
        return f"{period // 4:04d}-Q{period % 4 + 1}"
    return f"{period:04d}"


def monthly_counts(cell: np.ndarray, month: np.ndarray, n_cells: int) -> tuple[np.ndarray, int]:
    """Count points per (cell, month): ``(counts, first_month)``.

    Parameters
    ----------
    cell
        ``(n,)`` cell of each point, ``-1`` for a point in no cell (not counted).
    month
        ``(n,)`` month index of each point (:func:`month_index`).
    n_cells
        Number of cells.

    Returns
    -------
    counts, first_month
        ``(n_cells, n_months)`` int64 counts, column ``m`` for month
        ``first_month + m``, spanning the first to the last month of the counted points.
    """
    cell = np.asarray(cell, dtype=np.int64)
    month = np.asarray(month, dtype=np.int64)
    ok = cell >= 0
    if not ok.any():
        return np.zeros((n_cells, 0), dtype=np.int64), 0
    first = int(month[ok].min())
    n_months = int(month[ok].max()) - first + 1
    flat = cell[ok] * n_months + (month[ok] - first)
    counts = np.bincount(flat, minlength=n_cells * n_months).reshape(n_cells, n_months)
    return counts.astype(np.int64), first


@dataclass(frozen=True)
class SpaceTimeCube:
    """Point counts of the kept cells in whole time steps.

    Attributes
    ----------
    counts
        ``(n_kept, n_steps)`` int64 counts; row ``i`` is cell ``cells[i]``.
    cells
        ``(n_kept,)`` positions of the kept cells among all cells.
    step
        ``month``, ``quarter`` or ``year``.
    periods
        ``(n_steps,)`` step numbers (months, quarters or years since year 0).
    labels
        Step labels (``2017-01``, ``2017-Q1``, ``2017``).
    n_points
        Points counted in some cell and month (before trimming).
    n_partial_points
        Points of partial first or last steps, left out.
    n_excluded_cells
        Cells outside the study area that never held a point.
    """

    counts: np.ndarray
    cells: np.ndarray
    step: str
    periods: np.ndarray
    labels: tuple[str, ...]
    n_points: int
    n_partial_points: int
    n_excluded_cells: int

    @property
    def n_steps(self) -> int:
        """Number of time steps."""
        return int(self.counts.shape[1])

    @property
    def sparseness(self) -> float:
        """Share of the bins with no point (ArcGIS's "sparseness")."""
        return float((self.counts == 0).mean()) if self.counts.size else 1.0

    @property
    def median_bin(self) -> float:
        """Median count of a bin."""
        return float(np.median(self.counts)) if self.counts.size else 0.0


def _whole_steps(n_months: int, first_month: int, step: str) -> tuple[np.ndarray, np.ndarray]:
    """``(periods, period_of_month)``: the whole steps and each month's step (-1 in a partial step)."""
    k = MONTHS_PER_STEP[step]
    months = first_month + np.arange(n_months)
    period = months // k
    last = first_month + n_months - 1
    whole = (period * k >= first_month) & ((period + 1) * k - 1 <= last)
    periods = np.unique(period[whole])
    return periods, np.where(whole, period, -1)


def build_cube(
    monthly: np.ndarray,
    first_month: int,
    *,
    step: Step,
    in_area: np.ndarray | None = None,
) -> SpaceTimeCube:
    """Sum monthly counts into whole steps and keep the study area's cells and those with points.

    Parameters
    ----------
    monthly
        ``(n_cells, n_months)`` counts from :func:`monthly_counts`.
    first_month
        Month index of column 0.
    step
        ``month``, ``quarter`` or ``year``.
    in_area
        ``(n_cells,)`` True for cells in the study area (kept even when empty);
        default every cell.

    Raises
    ------
    ValueDomainError
        An unknown step, or a mask of the wrong length.
    """
    if step not in STEPS:
        raise ValueDomainError(f"step must be one of {', '.join(STEPS)}; got {step!r}")
    monthly = np.asarray(monthly, dtype=np.int64)
    n_cells, n_months = monthly.shape
    area = np.ones(n_cells, dtype=bool) if in_area is None else np.asarray(in_area, dtype=bool)
    if area.shape != (n_cells,):
        raise ValueDomainError(f"in_area has {area.size} entries for {n_cells} cells")
    periods, of_month = _whole_steps(n_months, first_month, step)
    used = of_month >= 0  # a contiguous run of whole steps, MONTHS_PER_STEP[step] months each
    steps = monthly[:, used].reshape(n_cells, periods.size, MONTHS_PER_STEP[step]).sum(axis=2)
    kept = area | (steps.sum(axis=1) > 0)
    return SpaceTimeCube(
        counts=steps[kept],
        cells=np.nonzero(kept)[0],
        step=step,
        periods=periods,
        labels=tuple(month_label(int(p), step) for p in periods),
        n_points=int(monthly.sum()),
        n_partial_points=int(monthly[:, ~used].sum()),
        n_excluded_cells=int((~kept).sum()),
    )


@dataclass(frozen=True)
class StepChoice:
    """The step the rule chose, and why.

    Attributes
    ----------
    step
        The chosen step.
    reason
        The rule's outcome in one sentence.
    sparse
        Whether no step reached the median bin asked for.
    table
        One row per candidate: ``(step, n_steps, median_bin, mean_bin, sparseness)``.
    min_steps, min_median
        The rule's thresholds.
    """

    step: str
    reason: str
    sparse: bool
    table: tuple[tuple[str, int, float, float, float], ...]
    min_steps: int
    min_median: float


def step_table(
    monthly: np.ndarray, first_month: int, *, in_area: np.ndarray | None = None
) -> tuple[tuple[str, int, float, float, float], ...]:
    """For each candidate step: ``(step, whole steps, median bin, mean bin, sparseness)``."""
    rows = []
    for step in STEPS:
        cube = build_cube(monthly, first_month, step=step, in_area=in_area)  # type: ignore[arg-type]
        mean = float(cube.counts.mean()) if cube.counts.size else 0.0
        rows.append((step, cube.n_steps, cube.median_bin, mean, cube.sparseness))
    return tuple(rows)


def choose_step(
    monthly: np.ndarray,
    first_month: int,
    *,
    in_area: np.ndarray | None = None,
    min_steps: int = MIN_CUBE_STEPS,
    min_median: float = 1.0,
) -> StepChoice:
    """Choose month, quarter or year by the rule of the module docstring.

    Parameters
    ----------
    monthly, first_month, in_area
        As for :func:`build_cube`.
    min_steps
        Fewest whole steps (default 10).
    min_median
        Smallest acceptable median count of a bin (default 1: at least half the bins hold a point).

    Raises
    ------
    ValueDomainError
        No candidate gives ``min_steps`` whole steps.
    """
    table = step_table(monthly, first_month, in_area=in_area)
    long_enough = [row for row in table if row[1] >= min_steps]
    if not long_enough:
        spans = ", ".join(f"{row[1]} {row[0]}s" for row in table)
        raise ValueDomainError(
            f"the points span too short a time for a space-time cube: {spans}; at least {min_steps} whole steps needed"
        )
    for row in long_enough:
        if row[2] >= min_median:
            reason = (
                f"{row[0]}: the finest step with at least {min_steps} whole steps ({row[1]}) and a median bin of "
                f"at least {min_median:g} point(s) (median {row[2]:g}, {row[4]:.0%} of bins empty)"
            )
            return StepChoice(row[0], reason, False, table, min_steps, min_median)
    row = long_enough[-1]
    reason = (
        f"{row[0]}: no step gives a median bin of {min_median:g} point(s), so the coarsest step with at least "
        f"{min_steps} whole steps ({row[1]}); the cube is sparse ({row[4]:.0%} of bins empty, "
        f"{row[3]:.2f} points per bin on average): larger cells would give each bin more points"
    )
    return StepChoice(row[0], reason, True, table, min_steps, min_median)
