"""Every colour the maps and charts use, in one place: categories, ramps and "no data".

Categorical palettes are colour-blind safe (ColorBrewer): warm against cool, no
red-green contrast; darker for stronger patterns.
"""

from __future__ import annotations

__all__ = ["MISSING_COLOR", "LISA_COLORS", "SEQUENTIAL_CMAPS", "SIGNIFICANCE_COLORS", "GI_COLORS", "EHSA_COLORS"]


#: Fill for areas without a value ("No data").
MISSING_COLOR = "#bdbdbd"


#: LISA cluster colours for the labels of :data:`geo.stats.moran.LISA_LABELS`, in legend
#: order; "Not significant" is lighter and "Isolated" (no neighbours) darker than "No data".
LISA_COLORS: dict[str, str] = {
    "High-High": "#d7191c",
    "Low-Low": "#2c7bb6",
    "Low-High": "#abd9e9",
    "High-Low": "#fdae61",
    "Not significant": "#f0f0f0",
    "Isolated": "#737373",
    "Undefined": "#404040",
}


#: Colour ramps accepted by :func:`choropleth` (append ``_r`` to reverse): ColorBrewer
#: sequential ramps, the viridis family, and the colour-blind-safe ColorBrewer diverging ramps.
SEQUENTIAL_CMAPS: frozenset[str] = frozenset(
    {
        "Blues", "BuGn", "BuPu", "GnBu", "Greens", "Greys", "OrRd", "Oranges", "PuBu", "PuBuGn",
        "PuRd", "Purples", "RdPu", "Reds", "YlGn", "YlGnBu", "YlOrBr", "YlOrRd",
        "viridis", "plasma", "inferno", "magma",
        "RdBu", "RdYlBu", "PuOr", "BrBG", "PiYG", "PRGn",
    }
)  # fmt: skip


#: Significance map colours (ColorBrewer Greens, as GeoDa), strictest first.
SIGNIFICANCE_COLORS: dict[str, str] = {
    "p ≤ 0.0001": "#00441b",
    "p ≤ 0.001": "#006d2c",
    "p ≤ 0.01": "#31a354",
    "p ≤ 0.05": "#74c476",
    "p ≤ 0.1": "#c7e9c0",
    "Not significant": "#f0f0f0",
    "Isolated": "#737373",
    "Undefined": "#404040",
}


#: Gi* confidence-bin colours: ColorBrewer RdBu (diverging, colour-blind safe).
GI_COLORS: dict[str, str] = {
    "Hot Spot with 99% Confidence": "#b2182b",
    "Hot Spot with 95% Confidence": "#ef8a62",
    "Hot Spot with 90% Confidence": "#fddbc7",
    "Not Significant": "#f7f7f7",
    "Cold Spot with 90% Confidence": "#d1e5f0",
    "Cold Spot with 95% Confidence": "#67a9cf",
    "Cold Spot with 99% Confidence": "#2166ac",
    "Isolated": "#737373",
    "Undefined": "#404040",
}


#: Emerging hot spot category colours: reds, oranges and browns for hot, blues, teal and
#: purples for cold (warm against cool, no red-green contrast), darker for the stronger
#: patterns; the map's tooltip names the category too.
EHSA_COLORS: dict[str, str] = {
    "Intensifying Hot Spot": "#67000d",
    "Persistent Hot Spot": "#cb181d",
    "Consecutive Hot Spot": "#ef6548",
    "New Hot Spot": "#fc9272",
    "Sporadic Hot Spot": "#fdae6b",
    "Oscillating Hot Spot": "#fee6ce",
    "Diminishing Hot Spot": "#a6611a",
    "Historical Hot Spot": "#dfc27d",
    "Intensifying Cold Spot": "#08306b",
    "Persistent Cold Spot": "#2171b5",
    "Consecutive Cold Spot": "#4292c6",
    "New Cold Spot": "#9ecae1",
    "Sporadic Cold Spot": "#807dba",
    "Oscillating Cold Spot": "#dadaeb",
    "Diminishing Cold Spot": "#41b6c4",
    "Historical Cold Spot": "#c6dbef",
    "No Pattern Detected": "#f7f7f7",
    "Undefined": "#404040",
}
