r"""Near repeats: the Knox test of space-time interaction over distance x time bands.

For ``n`` dated points, every unordered pair ``(i, j)`` has a distance ``d_ij`` and a
time gap ``|t_i - t_j|``. The pairs are tabulated by distance band (rows) and time
band (columns), as Ratcliffe's *Near Repeat Calculator* does. Bands are given by
their upper limits and are closed above: distance limits ``(400, 800)`` give the
bands ``0 - 400`` and ``over 400 - 800``, plus a last row for pairs beyond 800; time
limits ``(0, 1, 2)`` in months give "same month", "1 month" and "2 months" (apart),
plus a last column for pairs further apart.

Null hypothesis: *when* an event happened is unrelated to *where* (the times are
exchangeable among the points). Then a pair's time gap is that of a uniformly
random pair of points, so the expected count of cell (distance band ``d``, time
band ``b``) is ``S_d T_b / P`` (Knox 1964): ``S_d`` pairs in the distance band,
``T_b`` pairs in the time band, ``P = n (n - 1) / 2``. ``ratio`` is observed over
expected; above 1 means more pairs close in space *and* time than chance -- a near
repeat pattern when it holds in the short bands.

Inference is by Monte Carlo: the times are permuted among the points
``permutations`` times (seeded) and the table recounted. The p-value of a cell is
two-sided by default, ``min(1, 2 (min(n_ge, n_le) + 1) / (R + 1))``, or one-sided
``"greater"``, ``(n_ge + 1) / (R + 1)`` -- the one pointpats' ``Knox.p_sim`` and
Ratcliffe's calculator report -- with ``n_ge`` (``n_le``) the permuted tables at or
above (below) the observed count.

Implementation
--------------
Only pairs within the largest distance band are enumerated (a k-d tree); the
counts beyond it follow from the totals: the number of pairs in each *time* band
over all pairs does not change when times are permuted (it is a property of the
multiset of times), and it is counted once from the histogram of the times. Each
permutation is then one gather of the pairs' times and one ``bincount``. Times are
integers (months or days since some origin). pointpats' ``Knox`` (one band) and a
hand count are the test oracles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.signal import fftconvolve
from scipy.spatial import cKDTree

from geo.errors import ValueDomainError

__all__ = ["KnoxAlternative", "KnoxResult", "knox_table", "time_gap_totals"]


KnoxAlternative = Literal["two-sided", "greater"]


@dataclass(frozen=True)
class KnoxResult:
    """Knox table over distance x time bands.

    Attributes
    ----------
    distance_bands, time_bands
        Upper limits of the bands (each table has one more row and column: beyond the last).
    observed, expected
        ``(len(distance_bands) + 1, len(time_bands) + 1)`` pair counts and their
        expectation under no space-time interaction.
    expected_mc
        Mean count over the permutations (NaN without permutations); it converges to ``expected``.
    ratio
        ``observed / expected`` (NaN where nothing is expected).
    p
        Monte Carlo p-value of each cell (NaN without permutations).
    n_ge, n_le
        Permutations with a count at or above / at or below the observed one.
    n_points, n_pairs
        Points and unordered pairs ``n (n - 1) / 2``.
    permutations, seed, alternative
        The inference options.
    distance_unit, time_unit
        Names of the units (for labels).
    """

    distance_bands: tuple[float, ...]
    time_bands: tuple[int, ...]
    observed: np.ndarray
    expected: np.ndarray
    expected_mc: np.ndarray
    ratio: np.ndarray
    p: np.ndarray
    n_ge: np.ndarray
    n_le: np.ndarray
    n_points: int
    n_pairs: int
    permutations: int
    seed: int | None
    alternative: str
    distance_unit: str = "ft"
    time_unit: str = "months"

    def distance_labels(self) -> list[str]:
        """Row labels: ``0 - 400 ft``, ``over 400 - 800 ft``, ``over 800 ft``."""
        lims = [f"{d:,.0f}" for d in self.distance_bands]
        labels = [f"0 - {lims[0]} {self.distance_unit}"]
        labels += [f"over {a} - {b} {self.distance_unit}" for a, b in zip(lims[:-1], lims[1:], strict=True)]
        return [*labels, f"over {lims[-1]} {self.distance_unit}"]

    def time_labels(self) -> list[str]:
        """Column labels: ``same month``, ``1 month``, ``2 - 3 months`` ... ``over 3 months``.

        A band holds the whole gaps from one past the previous limit up to its own, both ends
        included (the first starts at 0); a band one unit wide is named by that gap (``0``: the
        same month, or day), so no band reads ``0 - 0 months``.
        """
        unit = self.time_unit
        one = unit.removesuffix("s")

        def gap(t: int) -> str:
            return f"{t} {one if t == 1 else unit}"

        labels, lo = [], 0
        for hi in (int(t) for t in self.time_bands):
            labels.append((f"same {one}" if hi == 0 else gap(hi)) if hi == lo else f"{lo} - {hi} {unit}")
            lo = hi + 1
        return [*labels, f"over {gap(int(self.time_bands[-1]))}"]

    def table(self) -> pd.DataFrame:
        """Tidy table, one row per (distance band, time band): counts, expectation, ratio, p."""
        rows, cols = self.observed.shape
        d_lab, t_lab = self.distance_labels(), self.time_labels()
        return pd.DataFrame(
            {
                "distance_band": np.repeat(d_lab, cols),
                "time_band": np.tile(t_lab, rows),
                "observed": self.observed.ravel(),
                "expected": self.expected.ravel(),
                "expected_mc": self.expected_mc.ravel(),
                "ratio": self.ratio.ravel(),
                "p": self.p.ravel(),
                "permutations": self.permutations,
                "seed": self.seed,
                "alternative": self.alternative,
            }
        )

    def ratio_table(self) -> pd.DataFrame:
        """Observed / expected as a distance x time table (Ratcliffe's layout)."""
        return pd.DataFrame(self.ratio, index=self.distance_labels(), columns=self.time_labels())


def _check_bands(values: Sequence[float], what: str, *, integer: bool) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0 or not np.isfinite(arr).all() or arr[0] < 0 or (np.diff(arr) <= 0).any():
        raise ValueDomainError(f"{what} must be non-negative, increasing upper limits; got {list(values)!r}")
    if integer and not np.array_equal(arr, np.round(arr)):
        raise ValueDomainError(f"{what} are whole numbers of time units; got {list(values)!r}")
    return arr


def time_gap_totals(t: np.ndarray) -> np.ndarray:
    """``g[k]``: number of unordered pairs of points whose integer times are ``k`` apart.

    Counted from the histogram of the times (a correlation), without enumerating pairs.
    """
    t = np.asarray(t, dtype=np.int64)
    h = np.bincount(t - t.min()).astype(float)
    corr = np.correlate(h, h, mode="full") if h.size <= 20_000 else fftconvolve(h, h[::-1])
    g = np.rint(corr[h.size - 1 :]).astype(np.int64)
    g[0] = int((h * (h - 1)).sum() // 2)
    return g


def _prepare(xy: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xy = np.asarray(xy, dtype=float)
    t_arr = np.asarray(t)
    if xy.ndim != 2 or xy.shape[1] != 2 or t_arr.shape != (xy.shape[0],):
        raise ValueDomainError(f"xy must be (n, 2) and t (n,); got {xy.shape} and {t_arr.shape}")
    if xy.shape[0] < 3:
        raise ValueDomainError(f"the Knox test needs at least 3 points; got {xy.shape[0]}")
    if not np.isfinite(xy).all():
        raise ValueDomainError("xy has missing or infinite coordinates")
    if not np.issubdtype(t_arr.dtype, np.integer):
        if not (np.isfinite(t_arr.astype(float)).all() and np.array_equal(t_arr, np.round(t_arr))):
            raise ValueDomainError("t must be whole numbers of time units (months or days since some origin)")
    return xy, t_arr.astype(np.int64)


def knox_table(
    xy: np.ndarray,
    t: np.ndarray,
    *,
    distance_bands: Sequence[float],
    time_bands: Sequence[int],
    permutations: int = 999,
    seed: int | None = 0,
    alternative: KnoxAlternative = "two-sided",
    distance_unit: str = "ft",
    time_unit: str = "months",
) -> KnoxResult:
    """Knox counts, expectations, ratios and Monte Carlo p-values over distance x time bands.

    Parameters
    ----------
    xy
        ``(n, 2)`` projected coordinates.
    t
        ``(n,)`` integer times (e.g. months since January 2017).
    distance_bands, time_bands
        Increasing upper limits (closed) of the bands; see the module docstring.
    permutations
        Random permutations of the times (0: no p-values).
    seed
        Seed of the permutations.
    alternative
        ``two-sided`` or ``greater`` (more pairs than expected; Ratcliffe, pointpats).
    distance_unit, time_unit
        Unit names for the labels.

    Raises
    ------
    ValueDomainError
        Bad shapes, bands, times or options.
    """
    xy, tt = _prepare(xy, t)
    d_lim = _check_bands(distance_bands, "distance_bands", integer=False)
    t_lim = _check_bands(time_bands, "time_bands", integer=True).astype(np.int64)
    if alternative not in ("two-sided", "greater"):
        raise ValueDomainError(f"alternative must be 'two-sided' or 'greater'; got {alternative!r}")
    if isinstance(permutations, bool) or not isinstance(permutations, int | np.integer) or permutations < 0:
        raise ValueDomainError(f"permutations must be a non-negative integer; got {permutations!r}")
    n = tt.size
    n_pairs = n * (n - 1) // 2
    nd, nt = d_lim.size, t_lim.size
    pairs = cKDTree(xy).query_pairs(float(d_lim[-1]), output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    d_band = np.searchsorted(d_lim, np.hypot(*(xy[i] - xy[j]).T), side="left")
    i, j, d_band = i[d_band < nd], j[d_band < nd], d_band[d_band < nd]  # rounding at the last limit
    gaps = time_gap_totals(tt)
    band_of_gap = np.searchsorted(t_lim, np.arange(gaps.size), side="left").astype(np.intp)
    col_totals = np.bincount(band_of_gap, weights=gaps, minlength=nt + 1).astype(np.int64)
    count = _counter(i, j, d_band, band_of_gap, col_totals, nd=nd, t_min=int(tt.min()))
    observed = count(tt)
    row_totals = observed.sum(axis=1)
    expected = np.outer(row_totals, col_totals) / n_pairs if n_pairs else np.zeros_like(observed, dtype=float)
    n_ge, n_le, mc = _simulate(tt, count, observed, permutations, seed)
    p = _p_values(n_ge, n_le, permutations, alternative)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, observed / expected, np.nan)
    return KnoxResult(
        distance_bands=tuple(float(d) for d in d_lim),
        time_bands=tuple(int(x) for x in t_lim),
        observed=observed,
        expected=expected,
        expected_mc=mc,
        ratio=ratio,
        p=p,
        n_ge=n_ge,
        n_le=n_le,
        n_points=n,
        n_pairs=n_pairs,
        permutations=int(permutations),
        seed=seed,
        alternative=alternative,
        distance_unit=distance_unit,
        time_unit=time_unit,
    )


def _counter(
    i: np.ndarray,
    j: np.ndarray,
    d_band: np.ndarray,
    band_of_gap: np.ndarray,
    col_totals: np.ndarray,
    *,
    nd: int,
    t_min: int,
) -> Callable[[np.ndarray], np.ndarray]:
    """A function from the points' times to the Knox table (pairs within the bands, then the row beyond).

    The pairs are sorted by distance band and by point, so each permutation costs two
    gathers of the pairs' times (int32), a subtraction, one look-up of the time band of
    the signed gap and one ``bincount`` per distance band.
    """
    order = np.lexsort((j, i, d_band))
    ii, jj = i[order].astype(np.intp), j[order].astype(np.intp)
    bounds = np.searchsorted(d_band[order], np.arange(nd + 1), side="left")
    span = band_of_gap.size - 1
    signed = np.concatenate([band_of_gap[::-1], band_of_gap[1:]])  # position gap + span
    nt1 = col_totals.size

    def count(times: np.ndarray) -> np.ndarray:
        """The table for one assignment of times."""
        tp = (np.asarray(times) - (t_min - span)).astype(np.int32)  # int32 gathers are several times faster here
        bands = signed[tp[ii] - tp[jj] + span]
        out = np.empty((nd + 1, nt1), dtype=np.int64)
        for d in range(nd):
            out[d] = np.bincount(bands[bounds[d] : bounds[d + 1]], minlength=nt1)
        out[nd] = col_totals - out[:nd].sum(axis=0)
        return out

    return count


def _simulate(
    t: np.ndarray,
    count: Callable[[np.ndarray], np.ndarray],
    observed: np.ndarray,
    permutations: int,
    seed: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Permute the times ``permutations`` times: counts at or above / below the observed table, and the mean table."""
    n_ge = np.zeros(observed.shape, dtype=np.int64)
    n_le = np.zeros(observed.shape, dtype=np.int64)
    total = np.zeros(observed.shape, dtype=float)
    if permutations == 0:
        return n_ge, n_le, np.full(observed.shape, np.nan)
    rng = np.random.default_rng(seed)
    for _ in range(permutations):
        table = count(t[rng.permutation(t.size)])
        n_ge += table >= observed
        n_le += table <= observed
        total += table
    return n_ge, n_le, total / permutations


def _p_values(n_ge: np.ndarray, n_le: np.ndarray, permutations: int, alternative: str) -> np.ndarray:
    if permutations == 0:
        return np.full(n_ge.shape, np.nan)
    if alternative == "greater":
        out: np.ndarray = (n_ge + 1.0) / (permutations + 1.0)
        return out
    out = np.minimum(1.0, 2.0 * (np.minimum(n_ge, n_le) + 1.0) / (permutations + 1.0))
    return out
