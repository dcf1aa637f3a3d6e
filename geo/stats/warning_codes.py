"""The codes of the warnings that statistics results carry, with where each is made.

Every ``warnings`` tuple of a result in :mod:`geo.stats` (and of
:class:`geo.analysis.hotspots.HotspotRun`) holds :class:`geo.errors.GeoWarning` values:
``str(w)`` is the text people read, ``w.code`` one of the codes below. A page that
shows some warnings and not others filters on the code, never on the wording.

Examples
--------
>>> from geo.errors import GeoWarning
>>> w = GeoWarning(ISLANDS, "1 unit(s) have no neighbours under queen weights ...")
>>> w.code in WARNING_CODES
True
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "MISSING_ROWS",
    "MODEL_WARNING",
    "SAME_MEASURE",
    "ISLANDS",
    "COMPONENTS",
    "UNDEFINED_UNITS",
    "SMALL_SAMPLE",
    "NEGATIVE_VALUES",
    "POINTS_OUTSIDE",
    "NO_PEAK",
    "CUTOFF_BELOW_FLOOR",
    "DIRECTION_CONFLICT",
    "WARNING_CODES",
]

ISLANDS: Final = "islands"

COMPONENTS: Final = "components"

UNDEFINED_UNITS: Final = "undefined_units"

SMALL_SAMPLE: Final = "small_sample"

NEGATIVE_VALUES: Final = "negative_values"

POINTS_OUTSIDE: Final = "points_outside"

NO_PEAK: Final = "no_peak"

CUTOFF_BELOW_FLOOR: Final = "cutoff_below_floor"

DIRECTION_CONFLICT: Final = "direction_conflict"

#: Rows without a value in a model variable were left out.
MISSING_ROWS: Final = "missing_rows"

#: spreg warned during a model fit.
MODEL_WARNING: Final = "model_warning"

#: A covariate is (almost) the dependent variable itself.
SAME_MEASURE: Final = "same_measure"

#: Every code: what it says, and the function that makes it.
WARNING_CODES: Final[dict[str, str]] = {
    ISLANDS: "some units have no neighbour under the weights and are Isolated "
    "(geo.stats.weights.build_weights, and every statistic that drops undefined units; emerging_hotspots "
    "labels such units Isolated)",
    COMPONENTS: "the weights split the units into groups that no spatial lag crosses (geo.stats.weights)",
    UNDEFINED_UNITS: "some units have no value (missing, zero population, or a gap in a time series) and are "
    "labelled Undefined (local_gstar, moran, local_moran, add_rate, emerging_hotspots)",
    SMALL_SAMPLE: "fewer than 30 units or cells were tested: too few for local inference "
    "(geo.stats.significance.small_sample_warning, optimized_hotspots)",
    NEGATIVE_VALUES: "the variable has negative values, so the G* ratio means nothing (local_gstar)",
    POINTS_OUTSIDE: "some points fall outside the boundary and were not counted (optimized_hotspots)",
    NO_PEAK: "incremental spatial autocorrelation found no peak; the fallback distance was used (optimized_hotspots)",
    CUTOFF_BELOW_FLOOR: "the corrected p-value cutoff is below the smallest pseudo p-value the permutations can "
    "give, so no unit can be significant (geo.analysis.hotspots.run_hotspots)",
    DIRECTION_CONFLICT: "with permutation inference, some significant units (or bins) have a Gi* z-score whose sign "
    "disagrees with the permutation tail that made p small; their bin follows the tail (local_gstar, "
    "emerging_hotspots)",
    MISSING_ROWS: "rows without a value in a model variable were left out and counted "
    "(geo.analysis.regression.spatial_regression)",
    MODEL_WARNING: "spreg warned during the fit (geo.analysis.regression.spatial_regression)",
    SAME_MEASURE: "a covariate correlates with the dependent variable at |r| >= 0.999 among the units used: it "
    "measures the same thing, and the fit says nothing about the other factors "
    "(geo.analysis.regression.spatial_regression)",
}
