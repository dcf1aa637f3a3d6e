"""Advice about the inference choices of a hot-spot run: can its permutations reach significance.

A permutation test cannot give a pseudo p-value below its floor: with ``R``
permutations the smallest two-sided pseudo p is ``2 / (R + 1)``
(:func:`geo.stats.significance.permutation_floor`). When the significance level, after
the multiple-testing correction, lies below that floor, no unit can be significant,
whatever the data. Two checks, both returning :class:`geo.errors.GeoWarning` values
with code ``cutoff_below_floor``:

- :func:`choice_advice`, *before* a run (the app shows it next to the widgets): the
  choices cannot work at all. Without correction or with FDR a unit needs
  ``p <= alpha`` at best (FDR reaches ``alpha`` only when every unit is at the floor);
  with Bonferroni ``p <= alpha / n``.
- :func:`result_advice`, *after* a run: the corrected cutoff of this run lies below
  the floor, or FDR found nothing while the floor exceeds ``alpha / n`` (the p a
  single unit needs to be significant on its own). The text names the smallest
  number of permutations that would do.

Emerging hot spots correct each time step on its own, so ``n`` is the number of
units (one step's bins).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from geo.errors import GeoWarning
from geo.stats.emerging import EmergingResult
from geo.stats.significance import LocalResult, min_permutations, permutation_floor
from geo.stats.warning_codes import CUTOFF_BELOW_FLOOR

__all__ = ["choice_advice", "result_advice", "significance_level", "uses_permutation_p"]


def uses_permutation_p(method: str, permutations: int, gi_inference: str) -> bool:
    """Whether the run's significance comes from permutation p-values."""
    if method == "moran" or not permutations:
        return False
    return not (method == "gi" and gi_inference == "normal")


def significance_level(method: str, alpha: float) -> float:
    """The weakest p-level a unit can be significant at: ``alpha``, or for Gi* the loosest bin level <= alpha."""
    if method != "gi":
        return alpha
    kept = [a for a in (0.10, 0.05, 0.01) if a <= alpha + 1e-12]
    return max(kept) if kept else alpha


def _too_few(permutations: int, need: float, why: str) -> GeoWarning:
    floor = permutation_floor(permutations)
    text = (
        f"{permutations:,} permutations cannot give a pseudo p below {floor:.3g} (two-sided: 2 / (permutations + 1)), "
        f"and {why} needs p \u2264 {need:.3g}: no unit can be significant. "
        f"Use at least {min_permutations(need):,} permutations"
    )
    return GeoWarning(CUTOFF_BELOW_FLOOR, text)


def choice_advice(
    *, method: str, permutations: int, alpha: float, correction: str, n_tests: int, gi_inference: str = "permutation"
) -> tuple[GeoWarning, ...]:
    """Warn, before running, when the choices cannot give any significant unit.

    Parameters
    ----------
    method
        ``moran``, ``lisa``, ``gi`` or ``ehsa``.
    permutations, alpha, correction
        The inference choices.
    n_tests
        Units tested at once (for ``ehsa``: the units of one time step).
    gi_inference
        ``permutation`` or ``normal`` (Gi* only).
    """
    if not uses_permutation_p(method, permutations, gi_inference):
        return ()
    level = significance_level(method, alpha)
    need = level / max(n_tests, 1) if correction == "bonferroni" else level
    if permutation_floor(permutations) <= need:
        return ()
    why = {
        "bonferroni": f"Bonferroni over {n_tests:,} units at \u03b1 = {alpha:g}",
        "fdr": f"even at best the FDR correction at \u03b1 = {alpha:g}",
    }.get(correction, f"\u03b1 = {alpha:g}")
    return (_too_few(permutations, need, why),)


def result_advice(result: object, *, alpha: float | None = None) -> tuple[GeoWarning, ...]:
    """Warn, after a run, when its corrected cutoff lies below the permutation floor.

    ``result`` is a :class:`~geo.stats.significance.LocalResult` (LISA or Gi*) or an
    :class:`~geo.stats.emerging.EmergingResult`; anything else gives no advice.
    """
    if isinstance(result, LocalResult):
        return _local_advice(result)
    if isinstance(result, EmergingResult):
        return _emerging_advice(result)
    return ()


def _local_advice(local: LocalResult) -> tuple[GeoWarning, ...]:
    if not local.permutations or (local.statistic == "gi_star" and local.extra.get("inference") != "permutation"):
        return ()
    cut = local.cutoff  # for Gi*: the cutoff of the weakest confidence level kept
    level = significance_level("gi" if local.statistic == "gi_star" else "lisa", local.alpha)
    return _check_cutoff(local.permutations, cut, level, local.n_tested, local.correction)


def _emerging_advice(res: EmergingResult) -> tuple[GeoWarning, ...]:
    if not res.permutations:
        return ()
    correction = str(getattr(res, "correction", "none"))
    cutoffs = res.extra.get("cutoffs")
    values = [float(c) for c in cutoffs.values()] if isinstance(cutoffs, Mapping) and cutoffs else [res.alpha]
    n = int(np.isfinite(res.p.to_numpy(dtype=float)).any(axis=1).sum())
    return _check_cutoff(res.permutations, max(values), res.alpha, n, correction, steps=True)


def _check_cutoff(
    permutations: int, cut: float, alpha: float, n: int, correction: str, *, steps: bool = False
) -> tuple[GeoWarning, ...]:
    """The warning when ``cut`` (the run's corrected cutoff; < 0: nothing passed FDR) is below the floor."""
    floor = permutation_floor(permutations)
    where = " in any time step" if steps else ""
    if 0 <= cut < floor:
        what = (
            "the significance level"
            if correction == "none"
            else f"the p-value cutoff after the {correction} correction"
        )
        text = (
            f"{what} ({cut:.3g}{where and ', every step'}) is below the "
            f"smallest pseudo p-value {permutations:,} permutations can give ({floor:.3g}), so no unit can be "
            f"significant{where}; use at least {min_permutations(cut if cut > 0 else alpha / max(n, 1)):,} permutations"
        )
        return (GeoWarning(CUTOFF_BELOW_FLOOR, text),)
    single = alpha / max(n, 1)
    if cut < 0 and correction == "fdr" and floor > alpha:
        return (_too_few(permutations, alpha, f"even at best the FDR correction at \u03b1 = {alpha:g}"),)
    if cut < 0 and correction == "fdr" and floor > single:
        text = (
            f"no unit passed the FDR correction{where}: with {permutations:,} permutations the smallest pseudo p is "
            f"{floor:.3g}, while a single unit among {n:,} needs p \u2264 {single:.3g} to be significant on its own; "
            f"use at least {min_permutations(single):,} permutations to tell whether any unit is"
        )
        return (GeoWarning(CUTOFF_BELOW_FLOOR, text),)
    return ()
