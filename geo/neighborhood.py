"""A plain-language card for one neighborhood (NPA), for community groups.

Everything here is computed from the analysis layers; the app only shows the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geo._errors import ValueDomainError
from geo.autocorrelation import local_moran_rate
from geo.caveats import CRIME_FISCAL_YEARS, RESIDENTS_NOT_DRIVERS, STOPS_NO_COORDINATES
from geo.text import escape_md

__all__ = ["Card", "npa_hotspots", "neighborhood_card", "HOTSPOT_WORDS"]


#: What each LISA label means for a resident.
HOTSPOT_WORDS = {
    "High-High": "a **hot spot**: its violent-crime rate is high and so are its neighbors'",
    "Low-Low": "a **cold spot**: its violent-crime rate is low and so are its neighbors'",
    "High-Low": "a **high outlier**: its rate is high while its neighbors' are low",
    "Low-High": "a **low outlier**: its rate is low while its neighbors' are high",
    "Not significant": "**not in a hot or cold spot**: its pattern could well be chance",
    "Isolated": "**not tested**: it has no neighboring area with data",
    "Undefined": "**not tested**: a crime count or population is missing for that year",
}


def npa_hotspots(
    npa_layer: gpd.GeoDataFrame,
    *,
    year: int,
    permutations: int = 999,
    seed: int | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Local Moran hot spots of the violent-crime rate of one year, per NPA.

    The rate is empirical-Bayes standardised (Assuncao-Reis), so an NPA with few
    residents cannot look extreme by chance alone; queen contiguity; two-sided
    pseudo p-values from conditional permutations; Benjamini-Hochberg FDR at ``alpha``.

    Returns
    -------
    pandas.DataFrame
        ``npa``, ``violent_rate``, ``cluster`` (LISA label), ``p`` (pseudo p),
        ``significant``, ``cutoff`` (the FDR p-value cutoff).
    """
    events, base = f"violent_crimes_{year}", f"rate_pop_{year}"
    if events not in npa_layer or base not in npa_layer:
        raise ValueDomainError(f"No violent-crime data for {year} in the NPA layer.")
    res = local_moran_rate(
        npa_layer, events=events, base=base, weights="queen", permutations=permutations, seed=seed,
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


@dataclass
class Card:
    """Plain-language summary of one NPA."""

    title: str
    lines: list[str] = field(default_factory=list)
    trend: pd.DataFrame | None = None
    caveats: list[str] = field(default_factory=list)


def _fmt_rate(x: float) -> str:
    return "not available" if not np.isfinite(x) else f"{x:,.1f}"


def neighborhood_card(
    npa_layer: gpd.GeoDataFrame,
    hotspots: pd.DataFrame,
    division_layer: gpd.GeoDataFrame,
    *,
    npa_id: int,
    year: int,
) -> Card:
    """Build the card for NPA ``npa_id``.

    Parameters
    ----------
    npa_layer
        :func:`geo.layers.npa_layer`.
    hotspots
        :func:`npa_hotspots` for ``year``.
    division_layer
        :func:`geo.layers.division_layer` (possibly with filtered stops).
    npa_id
        The NPA.
    year
        The crime year of ``hotspots``.
    """
    rows = npa_layer.loc[npa_layer["npa"] == npa_id]
    if rows.empty:
        raise ValueDomainError(f"There is no NPA {npa_id}; NPAs are numbered {npa_layer['npa'].min()} to {npa_layer['npa'].max()}.")
    r = rows.iloc[0]
    card = Card(title=f"Neighborhood profile area {int(npa_id)}")
    pop = r.get("pop_2020", np.nan)
    groups = [("White", "white_nh_2020"), ("Black", "black_nh_2020"), ("Hispanic", "hispanic_2020"), ("Asian", "asian_nh_2020")]
    shares = ", ".join(f"{g} {r[c] / pop:.0%}" for g, c in groups if c in r and pd.notna(r[c]) and pop > 0)
    card.lines.append(f"**Residents (2020):** {pop:,.0f}" + (f" ({shares})" if shares else ""))

    years = sorted(int(c.rsplit("_", 1)[1]) for c in npa_layer.columns if c.startswith("violent_crimes_"))
    trend = pd.DataFrame(
        {
            "Violent crimes": [r.get(f"violent_crimes_{y}", np.nan) for y in years],
            "Property crimes": [r.get(f"property_crimes_{y}", np.nan) for y in years],
        },
        index=pd.Index(years, name="year"),
    )
    card.trend = trend.dropna(how="all")
    rate = r.get(f"violent_rate_{year}", np.nan)
    city = npa_layer[f"violent_crimes_{year}"].sum() / npa_layer[f"rate_pop_{year}"].where(npa_layer[f"violent_crimes_{year}"].notna()).sum() * 1000
    card.lines.append(
        f"**Violent crimes per 1,000 residents ({year}):** {_fmt_rate(rate)} (all NPAs with data: {_fmt_rate(city)})"
    )
    v = card.trend["Violent crimes"].dropna()
    if len(v) >= 2:
        first, last = v.index[0], v.index[-1]
        change = v.iloc[-1] - v.iloc[0]
        word = "up" if change > 0 else "down" if change < 0 else "unchanged"
        card.lines.append(
            f"**Trend:** violent crimes {word} from {v.iloc[0]:,.0f} in {first} to {v.iloc[-1]:,.0f} in {last}."
        )
    else:
        card.lines.append("**Trend:** not enough years with data to show a trend.")

    hs = hotspots.loc[hotspots["npa"] == npa_id]
    if not hs.empty:
        h = hs.iloc[0]
        words = HOTSPOT_WORDS.get(h["cluster"], h["cluster"])
        sure = ""
        if h["cluster"] not in ("Isolated", "Undefined") and np.isfinite(h["p"]):
            sure = (
                f" (pseudo p = {h['p']:.3f}; with {int(np.isfinite(hotspots['p']).sum())} areas tested at once, a result counts as significant "
                f"when p is at most {h['cutoff']:.4f} — the false-discovery-rate cutoff)"
            )
        card.lines.append(f"**Hot spot ({year}):** this area is {words}{sure}.")

    div = r.get("division")
    if isinstance(div, str) and div:
        d = division_layer.loc[division_layer["division"] == div]
        if not d.empty:
            d0 = d.iloc[0]
            card.lines.append(
                f"**Police division:** {escape_md(div)} (the division covering most of this area). Its traffic stops: "
                f"{int(d0['stops']):,}, of which {int(d0['searches']):,} led to a search"
                + (f" ({d0['search_rate']:.1%})" if pd.notna(d0.get("search_rate")) else "")
                + (f"; {d0['stops_per_1000']:,.0f} stops per 1,000 residents." if pd.notna(d0.get("stops_per_1000")) else ".")
            )
    else:
        card.lines.append(
            "**Police division:** this area lies outside CMPD's divisions (a town with its own police department), "
            "so no CMPD stop figures apply."
        )
    card.caveats = [STOPS_NO_COORDINATES, RESIDENTS_NOT_DRIVERS, CRIME_FISCAL_YEARS,
                    "A hot spot is a pattern, not a verdict about the people who live there."]  # fmt: skip
    return card
