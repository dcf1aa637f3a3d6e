"""The benchmark test: stops per 1,000 residents by driver group in each division.

Read :data:`geo.caveats.BENCHMARK_CAVEAT` beside it: residents are not drivers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from geo.analysis.disparity import data_notes, filtered
from geo.caveats import BENCHMARK_CAVEAT
from geo.errors import SchemaError, ValueDomainError
from geo.layers.filters import StopFilter, require_stop_columns
from geo.stats.significance import Z95
from geo.vocab import GROUP_POPULATION, MIN_CELL, NO_DIVISION

__all__ = ["stop_benchmark"]


def _poisson_interval(k: np.ndarray, *, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for a Poisson count."""
    k = np.asarray(k, dtype=float)
    lo = np.where(k > 0, stats.chi2.ppf(alpha / 2, 2 * k) / 2, 0.0)
    hi = stats.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2
    return lo, hi


def stop_benchmark(
    stops: pd.DataFrame,
    population: pd.DataFrame,
    *,
    reference: str = "White",
    filters: StopFilter | None = None,
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """Stops per 1,000 residents by driver group in each division (the benchmark test).

    Parameters
    ----------
    stops
        The clean stops frame.
    population
        Indexed by division name, with ``pop_2020`` and the columns of
        :data:`geo.vocab.GROUP_POPULATION` (``white_nh_2020``, ``black_nh_2020``,
        ``hispanic_2020``, ``asian_nh_2020``), e.g. :func:`geo.layers.build.division_population`.
    reference
        Driver group the stop-rate ratio compares with.
    filters
        Which stops to use.
    min_cell
        Fewer stops than this are flagged ``small_cell``.

    Returns
    -------
    pandas.DataFrame
        ``unit`` (division, plus ``"All divisions"``), ``group`` (White, Black,
        Hispanic, Asian and ``"All drivers"``), ``count`` (stops), ``residents``,
        ``per_1000`` with a 95 % exact Poisson interval (``lo``, ``hi``), ``small_cell``,
        ``reference``, ``ratio`` (stops per resident against ``reference`` in the same
        division, 95 % log-method interval ``sqrt(1/a + 1/c)``). Stops with no division
        and drivers without a comparable population column (Native American,
        Other/Unknown) are not benchmarked; ``attrs["notes"]`` says how many. Read
        :data:`BENCHMARK_CAVEAT` beside it.
    """
    data = filtered(stops, filters)
    require_stop_columns(data, ["division", "driver_group"])
    needed = ["pop_2020", *GROUP_POPULATION.values()]
    if not isinstance(population, pd.DataFrame):
        raise TypeError(f"population must be a pandas DataFrame, not {type(population).__name__}.")
    missing = [c for c in needed if c not in population.columns]
    if missing:
        raise SchemaError(
            f"The population table is missing column(s) {', '.join(missing)}; expected {', '.join(needed)} indexed by division."
        )
    if reference not in GROUP_POPULATION:
        raise ValueDomainError(f"Benchmark reference {reference!r} has no population column; allowed: {', '.join(GROUP_POPULATION)}.")
    pop = population[needed].astype(float)
    pop.index = pop.index.astype(str)
    recorded = data[data["division"] != NO_DIVISION]
    notes = data_notes(data)
    seen = [str(d) for d in pd.unique(recorded["division"].astype(str))]
    unknown_pop = [d for d in seen if d not in pop.index]
    divs = [*pop.index, *unknown_pop]
    if unknown_pop:
        notes.append(f"no population for division(s) {', '.join(unknown_pop)}: their stops have no per-resident rate")
    counts = pd.crosstab(recorded["division"].astype(str), recorded["driver_group"].astype(str)).reindex(index=divs, fill_value=0)
    groups = list(GROUP_POPULATION)
    not_bench = int(len(recorded) - counts.reindex(columns=groups, fill_value=0).to_numpy().sum())
    if not_bench:
        notes.append(f"{not_bench:,} stops of drivers without a comparable population group (Native American, Other/Unknown) are counted only in 'All drivers'")
    rows = []
    for unit, sub_pop in [*((d, pop.reindex([d])) for d in divs), ("All divisions", pop.reindex(divs))]:
        if unit == "All divisions":
            row_counts = counts.loc[[d for d in divs if d not in unknown_pop]].sum()  # divisions with a population
        else:
            row_counts = counts.loc[unit]
        for g in [*groups, "All drivers"]:
            k = int(row_counts.get(g, 0)) if g != "All drivers" else int(row_counts.sum())
            col = "pop_2020" if g == "All drivers" else GROUP_POPULATION[g]
            res = float(sub_pop[col].sum(min_count=1)) if sub_pop[col].notna().any() else np.nan
            rows.append((unit, g, k, res))
    out = pd.DataFrame(rows, columns=["unit", "group", "count", "residents"])
    res = out["residents"].to_numpy()
    ok = np.isfinite(res) & (res > 0)
    k = out["count"].to_numpy(dtype=float)
    lo, hi = _poisson_interval(k)
    out["per_1000"] = np.where(ok, k / np.where(ok, res, 1) * 1000, np.nan)
    out["lo"] = np.where(ok, lo / np.where(ok, res, 1) * 1000, np.nan)
    out["hi"] = np.where(ok, hi / np.where(ok, res, 1) * 1000, np.nan)
    out["small_cell"] = out["count"] < min_cell
    out["reference"] = reference
    ref = out[out["group"] == reference].set_index("unit")
    a = k
    c = out["unit"].map(ref["count"]).to_numpy(dtype=float)
    ra = res
    rc = out["unit"].map(ref["residents"]).to_numpy(dtype=float)
    ratio = np.full(len(out), np.nan)
    rlo = ratio.copy()
    rhi = ratio.copy()
    is_group = (out["group"] != "All drivers").to_numpy()
    okr = is_group & ok & np.isfinite(rc) & (rc > 0) & (c > 0)
    ratio[okr] = (a[okr] / ra[okr]) / (c[okr] / rc[okr])
    ci = okr & (a > 0) & (out["group"] != reference).to_numpy()
    se = np.sqrt(1 / a[ci] + 1 / c[ci])
    rlo[ci] = ratio[ci] * np.exp(-Z95 * se)
    rhi[ci] = ratio[ci] * np.exp(Z95 * se)
    out["ratio"], out["ratio_lo"], out["ratio_hi"] = ratio, rlo, rhi
    n_nodiv = int((data["division"] == NO_DIVISION).sum())
    if n_nodiv:
        notes.append(f"{n_nodiv:,} stops with no division recorded are not in any division's rate")
    if "month" in data and len(data):
        m0, m1 = data["month"].min(), data["month"].max()
        months = (m1.year - m0.year) * 12 + m1.month - m0.month + 1
        notes.append(f"rates count the stops of {m0:%Y-%m} to {m1:%Y-%m} ({months} months) per 1,000 residents; they are not yearly rates")
    out.attrs["notes"] = notes
    out.attrs["caveat"] = BENCHMARK_CAVEAT
    return out
