"""The options of a hot-spot run, checked once and with the defaults filled in.

:func:`geo.analysis.hotspots.run_hotspots` takes its options as keywords; this module
checks them (unknown choices, combinations that would leave an option unused) and
holds them as small frozen records: :class:`Inference` (permutations, seed, alpha,
correction, the Gi* p-value) and :class:`WeightsChoice` (the weights, built per layer).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast, get_args

import geopandas as gpd

from geo.errors import SchemaError, ValueDomainError
from geo.stats.significance import Correction, settings_defaults
from geo.stats.weights import KernelName, SpatialWeights, WeightsMethod, build_weights

__all__ = [
    "GiInference",
    "GI_INFERENCES",
    "CORRECTIONS",
    "Inference",
    "WeightsChoice",
    "check_choice",
    "inference_options",
    "unit_id_column",
    "ID_COLUMNS",
]


#: Multiple-testing corrections; the first is the default of every local method.
CORRECTIONS: tuple[str, ...] = ("fdr", "none", "bonferroni")


GiInference = Literal["permutation", "normal"]


#: The p-value behind the Gi* bins; the first is the default.
GI_INFERENCES: tuple[str, ...] = get_args(GiInference)


#: Unit id column of each layer (hexagon cells for incidents).
ID_COLUMNS: dict[str, str] = {"npa": "npa", "divisions": "division", "incidents": "cell_id"}


@dataclass(frozen=True)
class Inference:
    """The inference options, defaults filled in (:func:`inference_options`)."""

    permutations: int
    seed: int
    alpha: float
    correction: Correction
    gi_inference: GiInference = "permutation"


@dataclass(frozen=True)
class WeightsChoice:
    """The weights options of a run, built per layer by :meth:`build`."""

    weights: WeightsMethod | SpatialWeights
    k: int | None
    threshold: float | None
    kernel: KernelName
    cache_dir: Path | None

    def build(self, gdf: gpd.GeoDataFrame) -> SpatialWeights:
        """The weights for ``gdf`` (k defaults to 6 for knn and kernel weights)."""
        if isinstance(self.weights, SpatialWeights):
            return self.weights
        method = self.weights
        k = self.k
        if k is None and method in ("knn", "kernel"):
            k = 6
        return build_weights(
            gdf,
            method=method,
            k=k if method in ("knn", "kernel") else None,
            threshold=self.threshold if method == "distance" else None,
            kernel=self.kernel,
            cache_dir=self.cache_dir,
        )


def check_choice(value: object, allowed: tuple[str, ...], what: str) -> None:
    """Refuse a value outside ``allowed``, naming the option and the choices."""
    if value not in allowed:
        raise ValueDomainError(f"{what} must be one of {', '.join(allowed)}; got {value!r}")


def inference_options(
    method: str, permutations: int | None, seed: int | None, alpha: float | None, correction: Correction | None,
    gi_inference: GiInference | None,
) -> Inference:  # fmt: skip
    """The inference options with the defaults filled in; refuses options that would not be used.

    ``correction=None`` is the default: ``fdr`` for the local methods, ``none`` for
    global Moran's I (one test, so a correction asked for is refused). ``gi_inference``
    applies to Gi* only: given for another method, it is refused; left out, it is
    ``permutation``, or ``normal`` when ``permutations=0`` (no permutation test asked for).
    """
    if method == "moran":
        if correction not in (None, "none"):
            raise ValueDomainError(
                "global Moran's I is one test of the whole map: a multiple-testing correction does not apply "
                "(leave the correction out, or use --correction none)"
            )
        correction = "none"
    chosen: str = correction or CORRECTIONS[0]
    check_choice(chosen, CORRECTIONS, "correction")
    if gi_inference is not None and method in ("moran", "lisa", "ehsa"):
        raise ValueDomainError(f"gi_inference chooses the p-value of Gi*; {method} always uses permutation p-values")
    perms, seed_, alpha_ = settings_defaults(permutations, seed, alpha)
    # permutations=0 asks for no permutation test: Gi* then can only use the normal p
    gi_inference = gi_inference or ("permutation" if perms else "normal")
    check_choice(gi_inference, GI_INFERENCES, "gi_inference")
    if perms == 0 and method in ("lisa", "ehsa"):
        raise ValueDomainError(f"{method} needs permutations (99 to 99,999) for its pseudo p-values")
    if perms == 0 and method == "gi" and gi_inference == "permutation":
        raise ValueDomainError("Gi* with permutation p-values needs permutations; or choose gi_inference='normal'")
    return Inference(perms, seed_, alpha_, cast(Correction, chosen), gi_inference)


def unit_id_column(gdf: gpd.GeoDataFrame, layer: str, id_column: str | None) -> str:
    """The unit id column: the given one (checked: present, no blanks, unique) or the layer's own."""
    if id_column is None:
        if layer == "custom":
            raise ValueDomainError("your own layer needs the column naming each area (id_column / --id-column)")
        return ID_COLUMNS[layer] if ID_COLUMNS[layer] in gdf.columns else ""
    if id_column not in gdf.columns:
        raise SchemaError(f"id column {id_column!r} not in the layer; columns: {', '.join(map(str, gdf.columns[:30]))}")
    ids = gdf[id_column]
    blank = ids.isna() | (ids.astype(str).str.strip() == "")
    if blank.any():
        raise SchemaError(f"id column {id_column!r} is blank in rows {', '.join(map(str, gdf.index[blank][:10]))}")
    dup = ids[ids.duplicated(keep=False)]
    if not dup.empty:
        raise SchemaError(
            f"id column {id_column!r} repeats values ({', '.join(map(str, dup.unique()[:10]))}): each area needs "
            "its own id"
        )
    return id_column
