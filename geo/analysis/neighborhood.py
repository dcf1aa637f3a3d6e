"""Neighborhood hot spots for the community view: the violent-crime LISA of one year, per NPA."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.errors import ValueDomainError
from geo.stats.moran import local_moran_rate
from geo.stats.weights import build_weights

__all__ = ["npa_hotspots"]


def npa_hotspots(
    npa_layer: gpd.GeoDataFrame,
    *,
    year: int,
    permutations: int = 999,
    seed: int | None = None,
    alpha: float = 0.05,
    cache_dir: Path | None = None,
) -> pd.DataFrame:
    """Local Moran hot spots of the violent-crime rate of one year, per NPA.

    The rate is empirical-Bayes standardised (Assuncao-Reis), so an NPA with few
    residents cannot look extreme by chance alone; queen contiguity; two-sided
    pseudo p-values from conditional permutations; Benjamini-Hochberg FDR at ``alpha``.

    Parameters
    ----------
    npa_layer
        :func:`geo.layers.build.npa_layer`, with ``violent_crimes_<year>``,
        ``rate_pop_<year>`` and ``violent_rate_<year>``.
    year
        The crime year.
    permutations, seed, alpha
        Inference options (seed default from settings).
    cache_dir
        Folder for the queen weights kept between runs
        (``get_settings().cache_dir / "weights"``); ``None``: built every time.

    Returns
    -------
    pandas.DataFrame
        ``npa``, ``violent_rate``, ``cluster`` (LISA label), ``p`` (pseudo p),
        ``significant``, ``cutoff`` (the FDR p-value cutoff).
    """
    events, base = f"violent_crimes_{year}", f"rate_pop_{year}"
    if events not in npa_layer or base not in npa_layer:
        raise ValueDomainError(f"No violent-crime data for {year} in the NPA layer.")
    weights = build_weights(npa_layer, method="queen", cache_dir=cache_dir)
    res = local_moran_rate(
        npa_layer, events=events, base=base, weights=weights, permutations=permutations, seed=seed,
        alpha=alpha, correction="fdr", alternative="two-sided",
    )  # fmt: skip
    f = res.frame
    return pd.DataFrame(
        {
            "npa": f["npa"].to_numpy(),
            "violent_rate": npa_layer[f"violent_rate_{year}"].to_numpy(),
            "cluster": f["lisa_cluster"].astype(str).to_numpy(),
            "p": f["lisa_p"].to_numpy(),
            "significant": f["lisa_significant"].to_numpy(),
            "cutoff": res.cutoff,
        }
    )
