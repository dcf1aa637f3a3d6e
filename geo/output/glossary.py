"""The words the maps and tables use, in plain words: one home for every definition.

The Methods page shows the whole glossary; the Hot spots and Emerging hot spots pages show
the words they use (:data:`HOTSPOT_TERMS`, :data:`EMERGING_TERMS`) under "Words used here".
The rules of the emerging hot spot categories come from :data:`geo.output.narrative.EHSA_RULES`
(the same sentences that explain one area's category), so they are written once.

Definitions are plain text (no Markdown, no HTML): escape them for the place they are shown.

Examples
--------
>>> lookup("pseudo p").name
'Pseudo p (permutation p-value)'
>>> [t.name for t in terms(["High-High", "FDR"])]
['High-High', 'False discovery rate (FDR)']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from geo.output.narrative import EHSA_RULES

__all__ = ["Term", "GLOSSARY", "HOTSPOT_TERMS", "EMERGING_TERMS", "lookup", "terms"]


@dataclass(frozen=True)
class Term:
    """One word or phrase and what it means.

    Attributes
    ----------
    name
        The word as the app shows it (with its abbreviation, if any).
    text
        What it means, in plain words (plain text).
    group
        The topic it belongs to (the Methods page lists the terms by topic).
    aliases
        Other ways of writing it, for :func:`lookup` (case does not matter).
    """

    name: str
    text: str
    group: str
    aliases: tuple[str, ...] = ()


_PLACES = "Places"
_CLUSTERS = "Hot spots and clusters"
_SURE = "How sure we are"
_RATES = "Rates"
_EMERGING = "Emerging hot spots"
_ROBUST = "Robustness"

_BASE: tuple[Term, ...] = (
    Term("NPA (Neighborhood Profile Area)", "One of the 459 small areas of Charlotte-Mecklenburg's Quality of Life "
         "Explorer, about the size of a neighborhood; its boundaries stay the same from year to year.", _PLACES,
         ("NPA", "Neighborhood Profile Area")),
    Term("Division", "One of CMPD's patrol divisions: the police's own large areas, each with its own station.",
         _PLACES, ("division", "patrol division")),
    Term("Hexagon", "A cell of an even grid of hexagons laid over the county, used to count points (such as the "
         "incident sample) in areas of equal size.", _PLACES, ("hexagons",)),
    Term("Neighbours (spatial weights)", "Which areas count as each area's neighbours: those that share a border "
         "(rook), a border or a corner (queen), the k nearest, those within a distance, or every area with a weight "
         "that falls with distance (kernel). The answer to 'is this a cluster?' depends on this choice.", _PLACES,
         ("spatial weights", "weights", "neighbours", "neighbors")),
    Term("Hot spot", "A place where high values cluster: the area and its neighbours are higher than chance alone "
         "would make them. A cold spot is the same for low values. A hot spot says where, not why.", _CLUSTERS,
         ("hot spots", "cold spot")),
    Term("LISA (local Moran's I)", "A statistic that compares each area's value with the average of its "
         "neighbours'. It sorts the significant areas into High-High, Low-Low, High-Low and Low-High.", _CLUSTERS,
         ("LISA", "local Moran's I")),
    Term("Moran's I", "One number for the whole map: above 0 when similar values sit next to each other, near 0 "
         "when values are scattered at random, below 0 when high and low values alternate.", _CLUSTERS,
         ("global Moran's I",)),
    Term("High-High", "An area with a high value whose neighbours are high too, more than chance would give: part "
         "of a hot spot.", _CLUSTERS),
    Term("Low-Low", "An area with a low value whose neighbours are low too, more than chance would give: part of a "
         "cold spot.", _CLUSTERS),
    Term("High-Low", "An area with a high value among low neighbours: an outlier, not a cluster.", _CLUSTERS),
    Term("Low-High", "An area with a low value among high neighbours: an outlier, not a cluster.", _CLUSTERS),
    Term("Not significant", "The area's pattern could easily arise by chance at the chosen significance level. It "
         "is not evidence that the area is average, only that this test cannot tell.", _CLUSTERS),
    Term("Isolated", "The area has no neighbours under the chosen neighbours rule (an island), so it cannot be "
         "compared with them and is not tested.", _CLUSTERS, ("islands", "island")),
    Term("Undefined", "The area has no value to test: the data leave it blank, or a rate has no residents to divide "
         "by. It is left out of the test; it is neither cold nor 'no pattern'.", _CLUSTERS),
    Term("Gi* (Getis-Ord)", "A statistic that adds up each area's value together with its neighbours' and asks "
         "whether that local total is unusually high (a hot spot) or low (a cold spot). Its classes say how "
         "confident: 99%, 95% or 90%.", _CLUSTERS, ("Gi*", "Getis-Ord", "Gi")),
    Term("z-score", "How far a value is from what chance would give, in standard deviations: positive above, "
         "negative below. A Gi* z-score says how hot (positive) or cold (negative) a place is; whether it is "
         "significant here comes from the permutation p-value, not from a fixed z cutoff such as 1.96.", _SURE,
         ("z", "Gi* z-score", "z score")),
    Term("Pseudo p (permutation p-value)", "The share of random rearrangements of the values over the map that "
         "look at least as clustered as the real map (counting the real map once). p = 0.01 means about 1 in 100. "
         "The smallest possible two-sided value is 2 / (permutations + 1): 0.002 with 999.", _SURE,
         ("pseudo p", "pseudo-p", "permutation p", "p_sim")),
    Term("p-value", "How often chance alone would give a result at least this strong. Small values (such as "
         "0.01) are evidence of a real pattern; large values are not evidence of anything.", _SURE, ("p",)),
    Term("Significance level (α)", "The p-value cutoff below which a result is called significant, such as 0.05. "
         "Lower is stricter.", _SURE, ("alpha", "α", "significance level")),
    Term("Permutations", "How many random rearrangements the test compares the map with. More give steadier "
         "p-values and allow smaller ones, but take longer.", _SURE, ("permutation test",)),
    Term("False discovery rate (FDR)", "A correction for testing hundreds of areas at once. Without it about 1 "
         "area in 20 with no real pattern looks significant at α = 0.05; with it, among the areas called "
         "significant, only about α are expected to be false alarms.", _SURE, ("FDR", "false discovery rate")),
    Term("Bonferroni", "A stricter correction for testing many areas: each area must pass α divided by the number "
         "of areas, so that even one false alarm on the whole map has a chance of at most α.", _SURE,
         ("Bonferroni correction",)),
    Term("Seed", "The starting number of the random rearrangements: the same seed gives the same p-values again.",
         _SURE, ("random seed",)),
    Term("Rate per 1,000 residents", "A count divided by the residents of the area, times 1,000. It compares areas "
         "of different sizes; for stops it counts residents, not the drivers who pass through.", _RATES,
         ("rate", "per 1,000")),
    Term("EB smoothing (empirical Bayes)", "A rate over few residents jumps around by chance. The smoothed rate "
         "pulls each area's rate towards the county rate, more strongly the fewer residents it has.", _RATES,
         ("EB", "empirical Bayes", "smoothed rate", "EB-smoothed")),
    Term("Small cell", "A count over too few stops or searches to headline: its rate is shown, flagged, with a wide "
         "interval.", _RATES, ("small cells",)),
    Term("Emerging hot spot analysis", "A Gi* z-score for every area and every year (each year with the year "
         "before, the time lag), then a trend test of those z-scores, named with the rules below: new, "
         "consecutive, intensifying, persistent, diminishing, sporadic, oscillating or historical hot (or cold) "
         "spots.", _EMERGING, ("emerging categories", "EHSA", "emerging hot spots")),
    Term("Mann-Kendall trend", "A test of whether a series keeps going up (or down) over the years, counting how "
         "often a later year is higher than an earlier one. Its tau runs from -1 (always down) to +1 (always up).",
         _EMERGING, ("Mann-Kendall", "tau", "trend")),
    Term("Time lag", "How many earlier years count as neighbours in time: with 1, each year's Gi* includes the area "
         "and its neighbours in that year and the year before.", _EMERGING, ("time step",)),
    Term("No Pattern Detected", "The area was tested every year but does not fit any of the hot or cold spot "
         "patterns.", _EMERGING, ("no pattern",)),
    Term("Robustness classes", "How often an area is a hot (or cold) spot when the analysis is rerun with other "
         "neighbours rules and seeds: in all runs, in most runs (more than half), in some runs (at most half), never "
         "significant, hot in some runs and cold in others, or not tested. An area hot in all runs does not depend "
         "on those choices.", _ROBUST, ("robustness", "Hot in all runs", "Hot in most runs", "Hot in some runs")),
)  # fmt: skip

#: The pattern names of the emerging hot spot analysis, without "Hot Spot" / "Cold Spot".
_PATTERNS = ("New", "Consecutive", "Intensifying", "Persistent", "Diminishing", "Sporadic", "Oscillating", "Historical")


def _pattern_terms() -> tuple[Term, ...]:
    """One term per emerging pattern, from the rules of :data:`EHSA_RULES` (hot and cold)."""
    out = []
    for word in _PATTERNS:
        hot, cold = f"{word} Hot Spot", f"{word} Cold Spot"
        text = f"{hot}: {EHSA_RULES[hot]}. {cold}: {EHSA_RULES[cold]}."
        out.append(Term(f"{word} hot or cold spot", text, _EMERGING, (hot, cold, word)))
    return tuple(out)


#: Every term, by its name, in the order the Methods page lists them.
GLOSSARY: dict[str, Term] = {t.name: t for t in (*_BASE, *_pattern_terms())}

#: The words of the Hot spots page.
HOTSPOT_TERMS: tuple[str, ...] = (
    "Hot spot", "LISA (local Moran's I)", "Moran's I", "High-High", "Low-Low", "High-Low", "Low-High",
    "Not significant", "Isolated", "Undefined", "Gi* (Getis-Ord)", "z-score", "Pseudo p (permutation p-value)",
    "Significance level (α)", "False discovery rate (FDR)", "Bonferroni", "Permutations", "Seed",
    "Neighbours (spatial weights)", "EB smoothing (empirical Bayes)", "NPA (Neighborhood Profile Area)", "Hexagon",
    "Robustness classes",
)  # fmt: skip

#: The words of the Emerging hot spots page.
EMERGING_TERMS: tuple[str, ...] = (
    "Emerging hot spot analysis", "Gi* (Getis-Ord)", "z-score", "Pseudo p (permutation p-value)",
    "Mann-Kendall trend", "Time lag", *(f"{w} hot or cold spot" for w in _PATTERNS), "No Pattern Detected",
    "Isolated", "Undefined", "False discovery rate (FDR)", "Bonferroni", "NPA (Neighborhood Profile Area)",
    "EB smoothing (empirical Bayes)",
)  # fmt: skip


def _index() -> dict[str, Term]:
    out: dict[str, Term] = {}
    for t in GLOSSARY.values():
        for key in (t.name, *t.aliases):
            out.setdefault(key.casefold(), t)
    return out


_INDEX = _index()


def lookup(word: str) -> Term:
    """The term for ``word``: its name or one of its aliases, in any case.

    Raises
    ------
    KeyError
        If no term has that name or alias.
    """
    try:
        return _INDEX[str(word).casefold()]
    except KeyError:
        raise KeyError(f"no glossary term {word!r}; terms: {', '.join(GLOSSARY)}") from None


def terms(words: Iterable[str]) -> list[Term]:
    """The terms for ``words`` (names or aliases), in that order, each once.

    Raises
    ------
    KeyError
        If a word has no term (every such word named).
    """
    words = list(words)
    unknown = [w for w in words if str(w).casefold() not in _INDEX]
    if unknown:
        raise KeyError(f"no glossary term for {unknown}; terms: {', '.join(GLOSSARY)}")
    return list(dict.fromkeys(_INDEX[str(w).casefold()] for w in words))
