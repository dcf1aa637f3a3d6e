"""Plain-language explanations of results, for people who do not read statistics.

Everything a page or a card says about a hot spot, an emerging pattern or a
neighborhood in words is written here, from the results of :mod:`geo.analysis`.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.analysis.hotspots import HotspotRun, emerging_result, emerging_series
from geo.caveats import CRIME_FISCAL_YEARS, RESIDENTS_NOT_DRIVERS, STOPS_NO_COORDINATES
from geo.errors import ValueDomainError
from geo.text import escape_md

__all__ = ["EHSA_RULES", "explain_emerging", "explain_unit", "HOTSPOT_WORDS", "Card", "neighborhood_card", "city_rate"]


def _rules() -> dict[str, str]:
    rules: dict[str, str] = {}
    for kind, other, stronger, weaker in (
        ("hot", "cold", "hotter", "less hot"),
        ("cold", "hot", "colder", "less cold"),
    ):
        k = kind.capitalize()
        ninety = f"a significant {kind} spot in at least 90% of the years, including the most recent one"
        rules[f"New {k} Spot"] = f"a significant {kind} spot in the most recent year, and never significant before"
        rules[f"Consecutive {k} Spot"] = (
            f"a significant {kind} spot in an unbroken run of two or more years up to the most recent one, "
            f"with no significant year before the run (and {kind} in fewer than 90% of the years)"
        )
        rules[f"Intensifying {k} Spot"] = (
            f"{ninety}, and the clustering has grown stronger ({stronger}) over time: a significant "
            "Mann-Kendall trend in the yearly Gi* z-scores"
        )
        rules[f"Persistent {k} Spot"] = f"{ninety}, with no significant trend in the yearly Gi* z-scores"
        rules[f"Diminishing {k} Spot"] = (
            f"{ninety}, but the clustering has weakened ({weaker}) over time: a significant Mann-Kendall trend "
            "in the yearly Gi* z-scores"
        )
        rules[f"Sporadic {k} Spot"] = (
            f"a significant {kind} spot in the most recent year and on and off before, never a significant "
            f"{other} spot, and {kind} in fewer than 90% of the years"
        )
        rules[f"Oscillating {k} Spot"] = (
            f"a significant {kind} spot in the most recent year that was a significant {other} spot in some "
            f"earlier year ({kind} in fewer than 90% of the years)"
        )
        rules[f"Historical {k} Spot"] = (
            f"not a significant {kind} spot in the most recent year, but a {kind} spot in at least 90% of the years"
        )
    rules["No Pattern Detected"] = "none of the hot or cold spot patterns fits its yearly results"
    rules["Isolated"] = "not tested: it has no neighbours under these weights"
    rules["Undefined"] = (
        "a value is missing in at least one year, so its series is incomplete and it is not classified "
        "(and it takes no part in its neighbours' statistics)"
    )
    return rules


#: Each emerging hot spot category's rule in plain words (see :mod:`geo.stats.emerging`).
EHSA_RULES: dict[str, str] = _rules()


def explain_emerging(run: HotspotRun, unit: Hashable) -> str:
    """A unit's emerging hot spot category and why, in plain words (plain text)."""
    res = emerging_result(run)
    row = run.frame.loc[unit]
    category = str(row["ehsa_category"])
    rule = EHSA_RULES.get(category, "")
    text = f"{category}: {rule}."
    if category in ("Undefined", "Isolated"):  # not tested: no yearly results to tell
        return text
    series = emerging_series(run, unit)
    t = len(series)
    hot = int((series["status"] == "Hot spot").sum())
    cold = int((series["status"] == "Cold spot").sum())
    last = series.iloc[-1]
    tau, tp = float(row["ehsa_trend_tau"]), float(row["ehsa_trend_p"])
    if tp <= res.trend_alpha:
        trend = f"a significant {'upward' if tau > 0 else 'downward'} trend (Kendall's tau {tau:+.2f}, p = {tp:.3f})"
    else:
        trend = f"no significant trend (Kendall's tau {tau:+.2f}, p = {tp:.3f})"
    return (
        f"{text} Over {t} years it was a significant hot spot in {hot} and a cold spot in {cold} "
        f"(p ≤ {res.alpha:g}); in {int(last['year'])} its Gi* z-score was {last['z']:+.2f} (p = {last['p']:.3f}). "
        f"The z-scores show {trend}."
    )


_LISA_MEANING: dict[str, str] = {
    "High-High": "a hot spot: its value and its neighbours' values are both above average",
    "Low-Low": "a cold spot: its value and its neighbours' values are both below average",
    "High-Low": "an outlier: its value is above average while its neighbours' are below",
    "Low-High": "an outlier: its value is below average while its neighbours' are above",
    "Not significant": "not part of a significant cluster: its pattern could well arise by chance",
    "Isolated": "not tested: it has no neighbours under these weights",
    "Undefined": "not tested: it has no value (missing, or no population for a rate)",
}


def explain_unit(lisa: HotspotRun, gi: HotspotRun | None, unit: Hashable) -> str:
    """One unit's LISA cluster and Gi* result, and how sure they are, in plain words (plain text).

    Parameters
    ----------
    lisa
        A ``lisa`` run of :func:`run_hotspots`.
    gi
        The ``gi`` run on the same layer and rows (or None).
    unit
        Row label of the unit.
    """
    res = lisa.local
    if lisa.method != "lisa" or res is None:
        raise ValueDomainError(f"explain_unit needs a 'lisa' run, not {lisa.method!r}")
    if unit not in lisa.frame.index:
        raise ValueDomainError(f"unit {unit!r} is not a row of the layer")
    row = lisa.frame.loc[unit]
    cluster = str(row["lisa_cluster"])
    parts = [f"LISA: {cluster}, {_LISA_MEANING.get(cluster, '')}."]
    p = float(row["lisa_p"])
    if np.isfinite(p):
        cut = res.cutoff
        verdict = "below" if p <= cut else "above"
        corr = {"none": "", "fdr": " after the false discovery rate correction", "bonferroni": " after Bonferroni"}
        cut_txt = f"{cut:.3g}" if cut > 0 else "none (no unit passes)"
        parts.append(
            f"Pseudo p = {p:.3g} from {res.permutations:,} permutations: about {p * 100:.2g} in 100 random "
            f"rearrangements look at least as clustered; the cutoff{corr.get(res.correction, '')} is {cut_txt}, "
            f"so this is {verdict} it."
        )
    if gi is not None and gi.local is not None and unit in gi.frame.index:
        g = gi.frame.loc[unit]
        z, gp = float(g["gi_z"]), float(g["gi_p"])
        if np.isfinite(z):
            parts.append(f"Gi*: {g['gi_label']} (z = {z:+.2f}, p = {gp:.3g}).")
        else:
            parts.append(f"Gi*: {g['gi_label']}.")
    if res.too_few_for_local_inference:
        parts.append(f"Only {res.n_tested} units were tested, too few for reliable local inference.")
    return " ".join(parts)


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
        :func:`geo.layers.build.npa_layer`.
    hotspots
        :func:`npa_hotspots` for ``year``.
    division_layer
        :func:`geo.layers.build.division_layer` (possibly with filtered stops).
    npa_id
        The NPA.
    year
        The crime year of ``hotspots``.
    """
    rows = npa_layer.loc[npa_layer["npa"] == npa_id]
    if rows.empty:
        raise ValueDomainError(
            f"There is no NPA {npa_id}; NPAs are numbered {npa_layer['npa'].min()} to {npa_layer['npa'].max()}."
        )
    r = rows.iloc[0]
    card = Card(title=f"Neighborhood profile area {int(npa_id)}")
    card.lines.append(_residents_line(r))
    card.trend = _crime_trend(npa_layer, r)
    card.lines.append(_rate_line(npa_layer, r, year))
    card.lines.append(_trend_line(card.trend))
    hs = hotspots.loc[hotspots["npa"] == npa_id]
    if not hs.empty:
        card.lines.append(_hotspot_line(hs.iloc[0], hotspots, year))
    division = _division_line(r, division_layer)
    if division:
        card.lines.append(division)
    card.caveats = [STOPS_NO_COORDINATES, RESIDENTS_NOT_DRIVERS, CRIME_FISCAL_YEARS,
                    "A hot spot is a pattern, not a verdict about the people who live there."]  # fmt: skip
    return card


def _residents_line(r: pd.Series) -> str:
    """Residents in 2020 and the shares of the four largest groups."""
    pop = r.get("pop_2020", np.nan)
    groups = [
        ("White", "white_nh_2020"),
        ("Black", "black_nh_2020"),
        ("Hispanic", "hispanic_2020"),
        ("Asian", "asian_nh_2020"),
    ]
    shares = ", ".join(f"{g} {r[c] / pop:.0%}" for g, c in groups if c in r and pd.notna(r[c]) and pop > 0)
    return f"**Residents (2020):** {pop:,.0f}" + (f" ({shares})" if shares else "")


def _crime_trend(npa_layer: gpd.GeoDataFrame, r: pd.Series) -> pd.DataFrame:
    """Violent and property crimes of the NPA per year (years without either left out)."""
    years = sorted(int(c.rsplit("_", 1)[1]) for c in npa_layer.columns if c.startswith("violent_crimes_"))
    trend = pd.DataFrame(
        {
            "Violent crimes": [r.get(f"violent_crimes_{y}", np.nan) for y in years],
            "Property crimes": [r.get(f"property_crimes_{y}", np.nan) for y in years],
        },
        index=pd.Index(years, name="year"),
    )
    return trend.dropna(how="all")


def city_rate(npa_layer: pd.DataFrame, year: int) -> float:
    """Violent crimes per 1,000 residents over the NPAs with a count and residents in ``year``.

    Numerator and denominator run over the same NPAs: those with a violent-crime count
    and a positive population (``rate_pop_<year>``). Crimes counted in NPAs with no
    residents have no rate and are left out of both, as the NPAs' own rates are.
    """
    crimes = pd.to_numeric(npa_layer[f"violent_crimes_{year}"], errors="coerce")
    residents = pd.to_numeric(npa_layer[f"rate_pop_{year}"], errors="coerce")
    used = crimes.notna() & (residents > 0)
    den = float(residents[used].sum())
    return float(crimes[used].sum()) / den * 1000 if den > 0 else np.nan


def _rate_line(npa_layer: gpd.GeoDataFrame, r: pd.Series, year: int) -> str:
    """The NPA's violent-crime rate next to the rate of all NPAs with data and residents."""
    rate = r.get(f"violent_rate_{year}", np.nan)
    city = city_rate(npa_layer, year)
    return (
        f"**Violent crimes per 1,000 residents ({year}):** {_fmt_rate(rate)} "
        f"(all NPAs with data and residents: {_fmt_rate(city)})"
    )


def _trend_line(trend: pd.DataFrame) -> str:
    """Violent crimes up, down or unchanged from the first year with data to the last."""
    v = trend["Violent crimes"].dropna()
    if len(v) < 2:
        return "**Trend:** not enough years with data to show a trend."
    first, last = v.index[0], v.index[-1]
    change = v.iloc[-1] - v.iloc[0]
    word = "up" if change > 0 else "down" if change < 0 else "unchanged"
    return f"**Trend:** violent crimes {word} from {v.iloc[0]:,.0f} in {first} to {v.iloc[-1]:,.0f} in {last}."


def _hotspot_line(h: pd.Series, hotspots: pd.DataFrame, year: int) -> str:
    """The NPA's LISA label in words, with its pseudo p and the FDR cutoff when it was tested."""
    words = HOTSPOT_WORDS.get(h["cluster"], h["cluster"])
    sure = ""
    if h["cluster"] not in ("Isolated", "Undefined") and np.isfinite(h["p"]):
        n = int(np.isfinite(hotspots["p"]).sum())
        cut = float(h["cutoff"])
        rule = (
            f"a result counts as significant when p is at most {cut:.4f} — the false-discovery-rate cutoff"
            if cut > 0  # a cutoff of -1: nothing passes the correction
            else "no area passes the false-discovery-rate correction"
        )
        sure = f" (pseudo p = {h['p']:.3f}; with {n} areas tested at once, {rule})"
    return f"**Hot spot ({year}):** this area is {words}{sure}."


def _division_line(r: pd.Series, division_layer: gpd.GeoDataFrame) -> str | None:
    """The stops of the NPA's police division, or that it lies outside CMPD (None: division not in the layer)."""
    div = r.get("division")
    if not (isinstance(div, str) and div):  # missing: mostly or wholly outside every division
        return (
            "**Police division:** this area lies outside CMPD's divisions (mostly or wholly in one of the county's "
            "towns, which have their own police departments), so no CMPD division's stop figures apply."
        )
    d = division_layer.loc[division_layer["division"] == div]
    if d.empty:
        return None
    d0 = d.iloc[0]
    return (
        f"**Police division:** {escape_md(div)} (the division covering most of this area). Its traffic stops: "
        f"{int(d0['stops']):,}, of which {int(d0['searches']):,} led to a search"
        + (f" ({d0['search_rate']:.1%})" if pd.notna(d0.get("search_rate")) else "")
        + (f"; {d0['stops_per_1000']:,.0f} stops per 1,000 residents." if pd.notna(d0.get("stops_per_1000")) else ".")
    )
