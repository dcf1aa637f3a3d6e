"""The benchmark test: stops per 1,000 residents by driver group in each division.

Read :data:`geo.caveats.BENCHMARK_CAVEAT` beside it: residents are not drivers. The
per-resident rate with its exact Poisson interval (:func:`geo.stats.proportions.per_population`) is also the
one behind the shootings' rates per 100,000 (:mod:`geo.analysis.use_of_force`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.analysis.disparity import data_notes, filtered
from geo.caveats import BENCHMARK_CAVEAT
from geo.errors import SchemaError, ValueDomainError
from geo.layers.filters import StopFilter, require_stop_columns
from geo.stats.proportions import per_population
from geo.stats.significance import Z95
from geo.vocab import DRIVER_GROUPS, GROUP_POPULATION, MIN_CELL, NO_DIVISION

__all__ = [
    "stop_benchmark",
]


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
        Other/Unknown) are not benchmarked; ``attrs["notes"]`` says how many. A
        missing population is never read as zero: its rates, ratios and the
        all-divisions figures of its group are missing, with a note; the notes of
        ``population.attrs["notes"]`` (e.g. derived NPA counts) are passed on. Read
        :data:`BENCHMARK_CAVEAT` beside it.
    """
    data, _ = filtered(stops, filters)
    require_stop_columns(data, ["division", "driver_group"])
    pop = _check_population(population, reference=reference)
    recorded = data[data["division"] != NO_DIVISION]
    notes = [*data_notes(data), *_population_notes(population, pop)]
    seen = [str(d) for d in pd.unique(recorded["division"].astype(str))]
    unknown_pop = [d for d in seen if d not in pop.index]
    divs = [*pop.index, *unknown_pop]
    if unknown_pop:
        notes.append(f"no population for division(s) {', '.join(unknown_pop)}: their stops have no per-resident rate")
    counts = pd.crosstab(recorded["division"].astype(str), recorded["driver_group"].astype(str)).reindex(
        index=divs, fill_value=0
    )
    not_bench = int(len(recorded) - counts.reindex(columns=list(GROUP_POPULATION), fill_value=0).to_numpy().sum())
    if not_bench:
        notes.append(
            f"{not_bench:,} stops of drivers without a comparable population group ({', '.join(_NOT_BENCHMARKED)}) "
            "are counted only in 'All drivers'"
        )
    out = _counts_and_residents(counts, pop, divs=divs, unknown_pop=unknown_pop)
    out["per_1000"], out["lo"], out["hi"] = per_population(out["count"], out["residents"], per=1000)
    out["small_cell"] = out["count"] < min_cell
    out["reference"] = reference
    out["ratio"], out["ratio_lo"], out["ratio_hi"] = _ratio_to_reference(out, reference=reference)
    n_nodiv = int((data["division"] == NO_DIVISION).sum())
    if n_nodiv:
        notes.append(f"{n_nodiv:,} stops with no division recorded are not in any division's rate")
    if "month" in data and len(data):
        notes.append(_period_note(data["month"]))
    out.attrs["notes"] = notes
    out.attrs["caveat"] = BENCHMARK_CAVEAT
    return out


def _population_notes(population: pd.DataFrame, pop: pd.DataFrame) -> list[str]:
    """The population table's own notes (derived counts) and every division-group without residents."""
    notes = [str(n) for n in population.attrs.get("notes", [])]
    for col in pop.columns:
        missing = [str(d) for d in pop.index[pop[col].isna()]]
        if missing:
            notes.append(
                f"{col} is missing (not zero) for {', '.join(missing)}: no per-resident rate or ratio there, "
                "nor for all divisions"
            )
    return notes


#: Driver groups with no comparable population column (counted only in "All drivers").
_NOT_BENCHMARKED = tuple(g for g in DRIVER_GROUPS if g not in GROUP_POPULATION)


def _check_population(population: pd.DataFrame, *, reference: str) -> pd.DataFrame:
    """The population columns the benchmark needs, as floats indexed by division name."""
    needed = ["pop_2020", *GROUP_POPULATION.values()]
    if not isinstance(population, pd.DataFrame):
        raise TypeError(f"population must be a pandas DataFrame, not {type(population).__name__}.")
    missing = [c for c in needed if c not in population.columns]
    if missing:
        raise SchemaError(
            f"The population table is missing column(s) {', '.join(missing)}; expected {', '.join(needed)} "
            "indexed by division."
        )
    if reference not in GROUP_POPULATION:
        raise ValueDomainError(
            f"Benchmark reference {reference!r} has no population column; allowed: {', '.join(GROUP_POPULATION)}."
        )
    pop = population[needed].astype(float)
    pop.index = pop.index.astype(str)
    return pop


def _counts_and_residents(
    counts: pd.DataFrame, pop: pd.DataFrame, *, divs: list[str], unknown_pop: list[str]
) -> pd.DataFrame:
    """``unit, group, count, residents``: each division and all divisions, each group and all drivers.

    The all-divisions row counts only the stops of divisions that have a population;
    its residents are missing for a group whose population is missing in any division.
    """
    rows = []
    known = [d for d in divs if d not in unknown_pop]
    for unit, sub_pop in [*((d, pop.reindex([d])) for d in divs), ("All divisions", pop.reindex(known))]:
        row_counts = counts.loc[known].sum() if unit == "All divisions" else counts.loc[unit]
        for g in [*GROUP_POPULATION, "All drivers"]:
            k = int(row_counts.get(g, 0)) if g != "All drivers" else int(row_counts.sum())
            col = "pop_2020" if g == "All drivers" else GROUP_POPULATION[g]
            # a missing population is not zero: one missing division leaves the total missing
            res = float(sub_pop[col].sum(skipna=False)) if len(sub_pop) else np.nan
            rows.append((unit, g, k, res))
    return pd.DataFrame(rows, columns=["unit", "group", "count", "residents"])


def _ratio_to_reference(out: pd.DataFrame, *, reference: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stops per resident of each group against ``reference`` in the same unit, 95 % interval ``sqrt(1/a + 1/c)``."""
    a = out["count"].to_numpy(dtype=float)
    ra = out["residents"].to_numpy()
    ref = out[out["group"] == reference].set_index("unit")
    c = out["unit"].map(ref["count"]).to_numpy(dtype=float)
    rc = out["unit"].map(ref["residents"]).to_numpy(dtype=float)
    ratio = np.full(len(out), np.nan)
    rlo = ratio.copy()
    rhi = ratio.copy()
    is_group = (out["group"] != "All drivers").to_numpy()
    okr = is_group & np.isfinite(ra) & (ra > 0) & np.isfinite(rc) & (rc > 0) & (c > 0)
    ratio[okr] = (a[okr] / ra[okr]) / (c[okr] / rc[okr])
    ci = okr & (a > 0) & (out["group"] != reference).to_numpy()
    se = np.sqrt(1 / a[ci] + 1 / c[ci])
    rlo[ci] = ratio[ci] * np.exp(-Z95 * se)
    rhi[ci] = ratio[ci] * np.exp(Z95 * se)
    return ratio, rlo, rhi


def _period_note(month: pd.Series) -> str:
    """The months the rates count (they are not yearly rates)."""
    m0, m1 = month.min(), month.max()
    months = (m1.year - m0.year) * 12 + m1.month - m0.month + 1
    return (
        f"rates count the stops of {m0:%Y-%m} to {m1:%Y-%m} ({months} months) per 1,000 residents; "
        "they are not yearly rates"
    )
