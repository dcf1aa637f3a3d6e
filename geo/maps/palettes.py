"""Every colour the maps and charts use, in one place: categories, ramps and "no data".

Map palettes are colour-blind safe (ColorBrewer): warm against cool, no red-green
contrast; darker for stronger patterns. ``tests/maps/test_palettes.py`` checks it: with
deuteranopia, protanopia and tritanopia simulated, neighbouring legend classes (as drawn, at
the map's fill opacity over white) stay at least 8 CIEDE2000 units apart. Chart colours are the Okabe-Ito palette, which
stays distinguishable with every common form of colour blindness; the charts also tell
small cells apart by shape, not only by colour.
"""

from __future__ import annotations

__all__ = [
    "POINT_STROKE_COLOR",
    "POINT_STROKE_DARK",
    "GUIDE_LINE_COLOR",
    "FIT_LINE_COLOR",
    "SELECTED_OUTLINE_COLOR",
    "SELECTED_CASING_COLOR",
    "SELECTED_ROW_FILL",
    "SERIES_BAR_COLOR",
    "SERIES_LINE_COLOR",
    "EMERGING_STATUS_COLORS",
    "MISSING_COLOR",
    "LISA_COLORS",
    "SEQUENTIAL_CMAPS",
    "CHOROPLETH_CMAPS",
    "SIGNIFICANCE_COLORS",
    "GI_COLORS",
    "EHSA_COLORS",
    "OKABE_ITO",
    "ESTIMATE_COLOR",
    "SMALL_CELL_COLOR",
    "OUTLIER_COLOR",
    "NEUTRAL_COLOR",
    "REFERENCE_LINE_COLOR",
    "SMOOTHED_COLOR",
    "LABEL_COLOR",
    "SMALL_CELL_FILL",
    "TEXT_ON_LIGHT",
    "TEXT_ON_DARK",
    "RATE_SCHEME",
    "COUNT_RAMP",
    "CELL_BORDER_COLOR",
    "DRIVER_GROUP_COLORS",
    "ODDS_RATIO_COLORS",
    "FUNNEL_COLORS",
    "DA_REVIEW_COLORS",
    "INJURY_COLORS",
    "OFFICER_GENDER_RANGE",
    "SOURCE_COLORS",
    "ROBUSTNESS_COLORS",
    "REFERENCE_COLORS",
    "LANDMARK_COLORS",
    "AREA_BORDER_COLOR",
    "CONTEXT_OUTLINE_COLOR",
    "HOVER_OUTLINE_COLOR",
    "LEGEND_COLORS",
]


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


#: The ramps a reader may choose for a choropleth (map explorer), all readable with colour blindness.
CHOROPLETH_CMAPS: tuple[str, ...] = ("YlOrRd", "viridis", "Blues", "PuBuGn", "Greys")


#: Significance map colours (ColorBrewer Greens, as GeoDa), strictest first: five of the nine-class
#: ramp, picked so that neighbouring classes stay apart with colour blindness (tests/maps/test_palettes.py).
SIGNIFICANCE_COLORS: dict[str, str] = {
    "p ≤ 0.0001": "#00441b",
    "p ≤ 0.001": "#006d2c",
    "p ≤ 0.01": "#238b45",
    "p ≤ 0.05": "#74c476",
    "p ≤ 0.1": "#c7e9c0",
    "Not significant": "#f0f0f0",
    "Isolated": "#737373",
    "Undefined": "#404040",
}


#: Gi* confidence-bin colours: ColorBrewer RdBu (diverging, colour-blind safe), the nine-class ramp
#: without its two palest steps, so the 90 % bins stand apart from "Not Significant" with colour blindness.
GI_COLORS: dict[str, str] = {
    "Hot Spot with 99% Confidence": "#b2182b",
    "Hot Spot with 95% Confidence": "#d6604d",
    "Hot Spot with 90% Confidence": "#f4a582",
    "Not Significant": "#f7f7f7",
    "Cold Spot with 90% Confidence": "#92c5de",
    "Cold Spot with 95% Confidence": "#4393c3",
    "Cold Spot with 99% Confidence": "#2166ac",
    "Isolated": "#737373",
    "Undefined": "#404040",
}


#: Emerging hot spot category colours: reds, oranges and browns for hot, blues, teal and
#: purples for cold (warm against cool, no red-green contrast), darker for the stronger
#: patterns; the map's tooltip names the category too. Neighbours in the legend stay apart with
#: colour blindness (tests/maps/test_palettes.py): "Sporadic" is a yellow-orange, not a second salmon.
EHSA_COLORS: dict[str, str] = {
    "Intensifying Hot Spot": "#67000d",
    "Persistent Hot Spot": "#cb181d",
    "Consecutive Hot Spot": "#fc4e2a",
    "New Hot Spot": "#fc9272",
    "Sporadic Hot Spot": "#fec44f",
    "Oscillating Hot Spot": "#fee6ce",
    "Diminishing Hot Spot": "#a6611a",
    "Historical Hot Spot": "#dfc27d",
    "Intensifying Cold Spot": "#08306b",
    "Persistent Cold Spot": "#08519c",
    "Consecutive Cold Spot": "#4292c6",
    "New Cold Spot": "#9ecae1",
    "Sporadic Cold Spot": "#807dba",
    "Oscillating Cold Spot": "#dadaeb",
    "Diminishing Cold Spot": "#41b6c4",
    "Historical Cold Spot": "#c6dbef",
    "No Pattern Detected": "#f7f7f7",
    "Isolated": "#737373",
    "Undefined": "#404040",
}


#: The Okabe-Ito palette (Okabe and Ito, 2008), by the names its authors gave the colours.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}

#: An estimate that rests on enough data (a rate, a count), and the plain colour of a bar.
ESTIMATE_COLOR = OKABE_ITO["blue"]
#: A small cell (fewer than :data:`geo.vocab.MIN_CELL` stops or searches): too uncertain to headline.
SMALL_CELL_COLOR = OKABE_ITO["orange"]
#: A value far from its reference: outside the 99.8 % control limits, or clearly higher odds.
OUTLIER_COLOR = OKABE_ITO["vermillion"]
#: What is neither high nor low: control limits, the dashed parity line of a rates chart, intervals
#: that include 1, driver groups without a colour of their own.
NEUTRAL_COLOR = "#777777"
#: The solid line every value is read against: a funnel plot's citywide value, a forest plot's odds ratio 1.
REFERENCE_LINE_COLOR = OKABE_ITO["black"]
#: The smoothed (empirical-Bayes) rate, a tick beside the recorded rate.
SMOOTHED_COLOR = OKABE_ITO["black"]
#: Text labels drawn on a chart (e.g. the names of outlying divisions).
LABEL_COLOR = "#333333"
#: Heat-map cells too small to colour: kept out of the colour scale, so 5 stops cannot set it.
SMALL_CELL_FILL = "#e6e6e6"
#: Text on a light heat-map cell, and on a dark one.
TEXT_ON_LIGHT = "black"
TEXT_ON_DARK = "white"
#: Vega colour scheme of heat maps of rates (perceptually uniform, colour-blind safe).
RATE_SCHEME = "viridis"
#: Heat maps of counts: white for none to ColorBrewer Blues' darkest blue for the most.
COUNT_RAMP: list[str] = ["#ffffff", "#08519c"]
#: Thin border between heat-map cells.
CELL_BORDER_COLOR = "#d9d9d9"

#: One colour per driver group: CMPD's groups and the state's names for them (Latinx,
#: Indigenous, Other, All) share a colour. A group not listed is drawn in :data:`NEUTRAL_COLOR`.
DRIVER_GROUP_COLORS: dict[str, str] = {
    "White": OKABE_ITO["blue"],
    "Black": OKABE_ITO["vermillion"],
    "Hispanic": OKABE_ITO["bluish green"],
    "Latinx": OKABE_ITO["bluish green"],
    "Asian": OKABE_ITO["reddish purple"],
    "Native American": OKABE_ITO["orange"],
    "Indigenous": OKABE_ITO["orange"],
    "Other/Unknown": OKABE_ITO["sky blue"],
    "Other": OKABE_ITO["sky blue"],
    "All drivers": OKABE_ITO["black"],
    "All": OKABE_ITO["black"],
}

#: Odds ratios by where their 95 % interval lies against 1, in legend order.
ODDS_RATIO_COLORS: dict[str, str] = {
    "higher odds than reference": OUTLIER_COLOR,
    "interval includes 1": NEUTRAL_COLOR,
    "lower odds than reference": ESTIMATE_COLOR,
}

#: Funnel-plot divisions by where they lie against the city's control limits, in legend order.
FUNNEL_COLORS: dict[str, str] = {
    "within 95% limits": ESTIMATE_COLOR,
    "outside 95% limits": SMALL_CELL_COLOR,
    "outside 99.8% limits": OUTLIER_COLOR,
}

#: The district attorney's review of each officer-involved shooting.
DA_REVIEW_COLORS: dict[str, str] = {
    "Legally Justified": OKABE_ITO["blue"],
    "No DA review": OKABE_ITO["orange"],
    "Pending Decision": OKABE_ITO["bluish green"],
    "Not Legally Justified as determined by NC AG Office": OKABE_ITO["vermillion"],
}

#: What happened to each person shot at: fatal in the warmest colour, a miss in the coolest.
INJURY_COLORS: dict[str, str] = {
    "Fatal Injury": OKABE_ITO["vermillion"],
    "Non-Fatal Injury": OKABE_ITO["orange"],
    "Miss": OKABE_ITO["sky blue"],
}

#: Officer gender, in the chart's (alphabetical) order of the genders: Female, Male, Undisclosed.
OFFICER_GENDER_RANGE: list[str] = [OKABE_ITO["blue"], OKABE_ITO["orange"], NEUTRAL_COLOR]

#: The two sources of yearly stop counts, in the chart's (alphabetical) order.
SOURCE_COLORS: dict[str, str] = {
    "CMPD stops table": OKABE_ITO["blue"],
    "State (Open Data Policing NC)": OKABE_ITO["orange"],
}


#: Hot-spot charts (the Moran scatterplot, an emerging hot spot's yearly series).
#: The outline of a scatter point, and of a point on a series.
POINT_STROKE_COLOR = "#555555"
POINT_STROKE_DARK = "#333333"
#: Guide lines: the axes through zero, the +/-1.96 z-score band.
GUIDE_LINE_COLOR = "#999999"
#: The fitted line of a scatterplot, and the ring around the selected unit.
FIT_LINE_COLOR = "#000000"
SELECTED_OUTLINE_COLOR = "#000000"
#: The casing under the selected area's outline on a map, so that it shows on the darkest fills too.
SELECTED_CASING_COLOR = "#ffffff"
#: The background of the selected unit's row in a table.
SELECTED_ROW_FILL = "#ffe08a"
#: The yearly values of one unit (bars), and its z-scores (line).
SERIES_BAR_COLOR = "#9e9ac8"
SERIES_LINE_COLOR = "#636363"
#: An emerging hot spot's status in one year: the 99 % Gi* colours for hot and cold.
EMERGING_STATUS_COLORS: dict[str, str] = {
    "Hot spot": GI_COLORS["Hot Spot with 99% Confidence"],
    "Cold spot": GI_COLORS["Cold Spot with 99% Confidence"],
    "Not significant": MISSING_COLOR,
    "No value": GI_COLORS["Undefined"],
}

#: Hot-spot robustness classes (:data:`geo.analysis.robustness.ROBUSTNESS_CLASSES`), in legend
#: order: the Gi* reds and blues, darker the more runs agree; purple for a unit hot in some runs
#: and cold in others; "Not tested" as "Undefined".
ROBUSTNESS_COLORS: dict[str, str] = {
    "Hot in all runs": GI_COLORS["Hot Spot with 99% Confidence"],
    "Hot in most runs": GI_COLORS["Hot Spot with 95% Confidence"],
    "Hot in some runs": GI_COLORS["Hot Spot with 90% Confidence"],
    "Never significant": GI_COLORS["Not Significant"],
    "Cold in some runs": GI_COLORS["Cold Spot with 90% Confidence"],
    "Cold in most runs": GI_COLORS["Cold Spot with 95% Confidence"],
    "Cold in all runs": GI_COLORS["Cold Spot with 99% Confidence"],
    "Hot in some, cold in others": "#b2abd2",
    "Not tested": GI_COLORS["Undefined"],
}


#: Reference layers (:mod:`geo.maps.reference`): quiet greys for roads and rail under the data, a green for
#: greenways, outlines for ZIP codes and districts, and the labels' text and halo.
REFERENCE_COLORS: dict[str, str] = {
    "interstate": "#4d4d4d",
    "highway": "#636363",
    "road": "#7f7f7f",
    "ramp": "#a6a6a6",
    "railroad": "#3d3d3d",
    "greenway": OKABE_ITO["bluish green"],
    "zipcodes": "#6a51a3",
    "divisions": "#252525",
    "council_districts": "#8c510a",
    "historic_districts": "#b35806",
    "label": "#262626",
    "label_halo": "#ffffff",
}

#: Landmark points by kind (Okabe-Ito, with a white outline so they stand out on any fill).
LANDMARK_COLORS: dict[str, str] = {
    "school": OKABE_ITO["blue"],
    "park": OKABE_ITO["bluish green"],
    "library": OKABE_ITO["reddish purple"],
    "police station": OKABE_ITO["black"],
    "hospital": OKABE_ITO["vermillion"],
    "college": OKABE_ITO["sky blue"],
    "town hall": OKABE_ITO["orange"],
}


#: The thin border of every area, the grey outlines drawn under points for context, and the outline of the
#: area under the pointer.
AREA_BORDER_COLOR = "#4d4d4d"
CONTEXT_OUTLINE_COLOR = "#757575"
HOVER_OUTLINE_COLOR = "#000000"

#: The map legend (:class:`geo.maps.legend.Legend`): its box and shadow, the map background under each swatch
#: (so a swatch blends as the areas do), text, counts and notes, swatch borders, and the keyboard focus ring
#: of its show/hide button.
LEGEND_COLORS: dict[str, str] = {
    "box": "rgba(255,255,255,0.94)",
    "shadow": "rgba(0,0,0,0.35)",
    "background": "#ffffff",
    "text": "#222222",
    "count": "#595959",
    "note": "#4d4d4d",
    "swatch_border": "#777777",
    "focus": "#0072b2",
}
