"""What the numbers can and cannot say, in plain words, for the app, the reports and the exports.

One place for every caveat, so that every page, table, export and note says the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence

from geo.vocab import AGE_MAX, AGE_MIN, MIN_CELL

__all__ = [
    "REFERENCE_LAYERS_2013",
    "NPA_NOT_NEIGHBORHOOD",
    "STOPS_NO_COORDINATES",
    "RESIDENTS_NOT_DRIVERS",
    "SOURCES_COUNT_DIFFERENTLY",
    "TOWNS_OUTSIDE",
    "CENSUS_DRIVER_GROUPS",
    "POINT_SAMPLE",
    "CRIME_FISCAL_YEARS",
    "RATE_CAVEAT",
    "RATIO_CAVEAT",
    "SMALL_CELL_CAVEAT",
    "RELIABLE_CELL_LABEL",
    "SMALL_CELL_LABEL",
    "SMALL_CELL_NOTE",
    "SMALL_SEARCH_CELL_NOTE",
    "small_cells_warning",
    "EB_CAVEAT",
    "BENCHMARK_CAVEAT",
    "FUNNEL_CAVEAT",
    "ACCOUNTABILITY_CAVEAT",
    "MODEL_CAVEAT",
    "model_fit_note",
    "NOT_CONVERGED",
    "ois_caveat",
    "OIS_PEOPLE_NOTE",
    "HIT_RATE_CAVEAT",
    "STATE_TABLES_NOTE",
    "STATE_COUNTS_UNFILTERED",
    "RECONCILIATION_NOTE",
    "UOF_CAVEAT",
    "DATA_PREPARATION",
    "CAVEATS",
    "SAMPLE_NOTE",
    "TIMELINE_NOTE",
    "TRENDS_CAVEAT",
    "CLEARANCE_CAVEAT",
    "ECOLOGICAL_FALLACY_CAVEAT",
    "NEAR_REPEAT_CAVEAT",
    "DIVERSION_CAVEAT",
    "MODEL_CAVEAT_DIVERSION",
    "WORKFORCE_CAVEAT",
    "RESIDENTIAL_BENCHMARK_ASSUMES",
    "CRIME_BENCHMARK_ASSUMES",
    "RESIDENTS_NOT_PEOPLE_INVOLVED",
]


STOPS_NO_COORDINATES = (
    "The traffic-stops table has no locations: the finest geography it records is the CMPD division. "
    "Stop figures are shown per division only, never per neighborhood; 4,012 stops (2.9%) have no division "
    "recorded and appear in citywide totals under 'No division recorded'."
)


RESIDENTS_NOT_DRIVERS = (
    "Residential population is not the driving population. People are stopped where they drive, not where they "
    "live, so 'stops per 1,000 residents' is a rough benchmark: a division with a highway, a business district or "
    "an airport sees many drivers who live elsewhere."
)


SOURCES_COUNT_DIFFERENTLY = (
    "CMPD's own stops table and the state's traffic-stop database (as published by Open Data Policing NC) give "
    "different yearly counts for CMPD. The two sources count differently; neither number is 'the' count."
)


TOWNS_OUTSIDE = (
    "Part of Mecklenburg County's population lives in towns (Huntersville, Cornelius, Davidson, Matthews, Mint Hill, "
    "Pineville) outside every CMPD division; it is not counted in any division's population."
)


CENSUS_DRIVER_GROUPS = (
    "Driver groups follow the census: Hispanic drivers of any race form one group, and White, Black and Asian mean "
    "non-Hispanic, so that they line up with the population counts."
)


POINT_SAMPLE = (
    "The incident points of this layer are the first 5,000 records of CMPD's incident layer (2017-2025), not a random sample, with "
    "locations anonymised to the block. Use them to see patterns, not to count crime."
)


CRIME_FISCAL_YEARS = (
    "Neighborhood crime counts come from the Quality of Life Explorer and are by fiscal year; outside Charlotte they "
    "include town police departments' reports. Rates are per 1,000 residents of that year's population estimate."
)


RATE_CAVEAT = (
    "Rates are shares of stops (or of searched stops) with the outcome, with 95 % Wilson intervals. "
    "They describe what happened in the recorded stops; they do not by themselves show why."
)


RATIO_CAVEAT = (
    "A disparity ratio compares a group's rate with the reference group's rate in the same unit, with a 95 % "
    "Koopman score interval, which stays valid for small counts: a small cell keeps its interval, and it is wide. "
    "A group with no events has ratio 0; where the reference group has no events there is no ratio. Groups differ in where, when and why they are stopped: a raw ratio is not adjusted for any of "
    "that (see the multivariable models), and the models cannot adjust for what the data do not record."
)


SMALL_CELL_CAVEAT = (
    f"Small cell: fewer than {MIN_CELL} stops (or {MIN_CELL} searches for search-based outcomes). "
    "Its rate is too uncertain to headline; read the interval and the smoothed rate."
)


#: The small-cell flag: legend labels of the charts, and the mark beside a small cell in a table.
RELIABLE_CELL_LABEL = f"{MIN_CELL} or more"
SMALL_CELL_LABEL = f"Small cell (under {MIN_CELL})"
SMALL_CELL_NOTE = f"⚠ small cell (under {MIN_CELL})"
SMALL_SEARCH_CELL_NOTE = f"⚠ under {MIN_CELL} searches"


def small_cells_warning(n_small: int, n_cells: int, *, base: str) -> str:
    """The warning above a rates table with small cells.

    Parameters
    ----------
    n_small
        How many cells rest on fewer than :data:`geo.vocab.MIN_CELL` of ``base``.
    n_cells
        How many cells the table has.
    base
        What the rates are shares of, e.g. ``"Stops"`` or ``"Searched stops"``.

    Returns
    -------
    str
        One sentence for ``st.warning``.
    """
    return (
        f"{n_small} of {n_cells} cells rest on fewer than {MIN_CELL} {base.lower()} (marked {SMALL_CELL_NOTE}, orange "
        "triangles): their rates are too uncertain to headline. Read their interval and smoothed rate."
    )


EB_CAVEAT = (
    "Smoothed rates (empirical Bayes) pull a group's rate in one division (or month, or officer group) toward that "
    "same group's rate over all of them, more so the fewer stops it rests on. Groups are never pooled with each "
    "other, so the smoothing does not shrink a disparity; citywide, each group is a single cell and its smoothed "
    "rate is its recorded rate. Smoothed rates are steadier for ranking small units but are estimates, not counts."
)


BENCHMARK_CAVEAT = (
    RESIDENTS_NOT_DRIVERS
    + " Division populations are the 2020 census counts of neighborhood profile areas apportioned to divisions by "
    "area, and exposure to police differs with where officers are deployed. A higher stop rate per resident is a "
    "prompt for questions, not proof of bias."
)


FUNNEL_CAVEAT = (
    "Funnel plot: each division's value against the citywide value, with 95 % and 99.8 % control limits that "
    "narrow as the division's stop counts grow. Points outside the 99.8 % limits differ from the city by more "
    "than chance alone would explain (about 1 in 500 expected by chance). With thousands of stops per division "
    "the plain limits are narrow and most divisions fall outside them (overdispersion): real differences in "
    "population, roads and deployment that the limits do not account for. The overdispersion option widens "
    "the limits by the ordinary spread between divisions and shows which stand out even from that."
)


ACCOUNTABILITY_CAVEAT = (
    "Officer-level rates describe the stops officers in each group made. Officers are not assigned at random: "
    "years of service, assignment, shift and division shape who and where they stop, so differences between "
    "officer groups are descriptive, not evidence about individual officers."
)


MODEL_CAVEAT = (
    "Odds ratios compare the odds of the outcome between a level and its reference with every other term held "
    "fixed. They are associations, not causes: the data do not record time of day, exact place, the vehicle, "
    "what the officer saw, or the driver's record, and any of these can differ between groups. For rare outcomes "
    "(searches, arrests) odds ratios are close to rate ratios; for common ones they are larger. Intervals are "
    "95 % Wald intervals (profile penalised-likelihood ones where the table says so) that treat stops as "
    "independent (stops by the same officer are not)."
)


def model_fit_note(method: str, separated: Sequence[str]) -> str:
    """How a model was fitted, in words, for the page beside its odds ratios.

    Parameters
    ----------
    method
        ``ModelResult.method``: ``"maximum likelihood"`` or ``"Firth penalised likelihood"``.
    separated
        ``ModelResult.separated``: the levels whose stops all share one outcome, described.

    Returns
    -------
    str
        One paragraph (Markdown).
    """
    if method == "maximum likelihood":
        return (
            "Fitted by maximum likelihood: every level in the model has stops with and stops without the outcome, "
            "and no stop was left out for lack of events."
        )
    if not separated:
        return (
            "Fitted by Firth's penalised likelihood: maximum likelihood diverged (some categories together separate "
            "the outcome). Every stop listed as used is in the model; odds ratios are pulled slightly toward 1."
        )
    return (
        f"Fitted by Firth's penalised likelihood, because {len(separated)} level(s) have stops that all share one "
        f"outcome: {'; '.join(separated)}. Maximum likelihood would put their odds ratios at 0 or infinity and "
        "their stops would have to be dropped; the penalty (Firth 1993) keeps every one of those stops in the "
        "model and gives these levels finite odds ratios pulled toward 1, with profile penalised-likelihood "
        "intervals (Interval column). Read them as 'few or no events here', not as measured effects."
    )


NOT_CONVERGED = "The fit did not converge: read the odds ratios with extra caution."


def ois_caveat(incidents: int, first_year: int, last_year: int) -> str:
    """The caveat beside the officer-involved shootings, with the count and years of the table it describes.

    Parameters
    ----------
    incidents
        Shootings in the table shown (e.g. ``OisSummary.totals["incidents"].sum()``).
    first_year, last_year
        The years they cover.

    Returns
    -------
    str
    """
    return (
        f"Officer-involved shootings are rare ({incidents:,} incidents in {first_year}-{last_year}), so rates per "
        "100,000 residents rest on a handful of events and their intervals are wide. The population is the 2020 "
        "census, later than the shootings, and residents are not the only people police meet in a place. Counts "
        "are of incidents, not of people shot."
    )


OIS_PEOPLE_NOTE = (
    "Counts of people and officer involvements across the 2005-2018 shootings; an officer in several shootings is "
    "counted in each."
)


HIT_RATE_CAVEAT = (
    "Outcome (hit-rate) test: the share of searches that found contraband. If officers searched one group on "
    "less evidence, searches of that group would find contraband less often. But hit rates can differ between "
    "groups even without bias, and be equal despite it, because they average over every searched driver, not "
    "the marginal one an officer was unsure about (the infra-marginality problem). A lower hit rate for a group "
    "is a warning sign, not proof; an equal one is not an all-clear. These are citywide state figures: they "
    "cannot be broken down by division."
)


STATE_TABLES_NOTE = (
    "Open Data Policing NC (NC State Bureau of Investigation data), citywide CMPD figures by year and driver race. "
    "The state's races: Latinx is Hispanic of any race; the others are non-Hispanic. These are not filtered by the "
    "sidebar."
)


STATE_COUNTS_UNFILTERED = (
    "All CMPD stops of each year, whatever the sidebar filters: the state counts cannot be filtered the same way."
)


RECONCILIATION_NOTE = (
    SOURCES_COUNT_DIFFERENTLY
    + " The CMPD Officer Traffic Stops table (city open data) counts more stops in 2020 and 2021 than the state's "
    "traffic-stop database (NC SBI). Possible reasons, not verified here: which stops each treats as reportable, "
    "how each records race and ethnicity, and when each was extracted. Do not mix rates from one source with "
    "counts from the other."
)


UOF_CAVEAT = (
    "Use of force here is the state's count of stops in which force was used against the driver, by race; "
    "it is not CMPD's use-of-force report, which is not available."
)


#: How the data is prepared, and what that assumes (Markdown list, for the methods page).
DATA_PREPARATION = f"""
- **Every row is accounted for.** Each loader reports rows read, kept, repaired, flagged and set aside, with
  reasons and row numbers (see the Overview page, or `python -m geo report`).
- **Stops** are joined to divisions by name (all 13 names in the table match the division layer; Airport
  Division has no stops and shows zero). Stops with a blank division are kept as "No division recorded".
  Driver ages outside {AGE_MIN}-{AGE_MAX} are flagged, not dropped.
- **Divisions**: the 2019 layer is used by default (nearest in time to the 2020-2021 stops); Airport's two parts
  are dissolved and Steele Creek's self-intersecting polygon is repaired.
- **Neighborhoods (NPAs)**: 459 Quality of Life Explorer areas covering the county; NPA 138 is repaired.
  Population by race (2020) is apportioned to divisions by area (the share of each NPA's area inside each
  division), which assumes people are spread evenly within an NPA.
- **Points** (shootings, incidents) are assigned to divisions and NPAs by a spatial join in NC State Plane
  (EPSG:2264, US feet); a point on a shared boundary goes to exactly one area (the smallest id).
- **Rates** are missing, not infinite, where the population is zero.
- Analysis uses EPSG:2264; maps and GeoJSON use WGS 84 (EPSG:4326). Map shapes are simplified for display
  only; every statistic uses the full geometry.
"""


CAVEATS: dict[str, str] = {
    "Stops have no locations": STOPS_NO_COORDINATES,
    "Residents are not drivers": RESIDENTS_NOT_DRIVERS,
    "Two sources, two counts": SOURCES_COUNT_DIFFERENTLY,
    "Towns outside CMPD": TOWNS_OUTSIDE,
    "Driver groups": CENSUS_DRIVER_GROUPS,
    "Incident points are a sample": POINT_SAMPLE,
    "Neighborhood crime counts": CRIME_FISCAL_YEARS,
}


#: The reference layers (ZIP codes, historic districts, council districts, landmarks, rail, greenways) are from 2013.
REFERENCE_LAYERS_2013 = (
    "The reference layers (ZIP code areas, historic districts, 2013 City Council lines, schools, parks, libraries, "
    "police stations and other landmarks, railroads and greenways) are Mecklenburg County GIS files from 2013; the "
    "main roads are the City's state-maintained road inventory (2019). Council lines and some facilities have changed "
    "since. They are for finding your way and labelling the map, not for analysis."
)


#: NPAs are statistical areas: said on the neighbourhood card and wherever a place search lists NPAs.
NPA_NOT_NEIGHBORHOOD = (
    "NPAs (neighborhood profile areas) are statistical areas drawn for the Quality of Life study, not neighbourhood "
    "boundaries: a named neighbourhood can span several NPAs, and one NPA can hold parts of several neighbourhoods."
)


#: What the point sample is, for pages to show beside any map or count of it.
SAMPLE_NOTE = (
    "The incident points are an even 1-in-61 sample of CMPD incident reports, 2017-01 to 2026-06: at most 100 real "
    "(block-anonymized) locations a month, 11,400 in all, taken by the crime-cartography project after it dropped "
    "non-criminal 800-series and Unfounded reports. They show where incidents happen, not how many: a month with "
    "more incidents still has at most 100 points, so counts of points are not incident counts. Use the division "
    "timeline (every placed incident) for totals."
)


#: What the division timeline leaves out, by construction of the source (PROVENANCE section 4).
TIMELINE_NOTE = (
    "The source excluded non-criminal 800-series reports, Unfounded reports and 895 records outside the 14 "
    "divisions; the counts are every other incident placed in a division (697,504 in 2017-01..2026-06)."
)


#: What to keep in mind reading these trends (should move to :mod:`geo.caveats`).
TRENDS_CAVEAT = (
    "These are reported incidents, not all crime: a change can come from how often people report, how CMPD "
    "records, or division boundaries, as well as from crime itself. The most recent months may still grow as "
    "late reports are entered. Intervals treat the counts as Poisson; real counts vary more from month to "
    "month, so treat borderline results with care."
)


#: What to keep in mind reading clearance rates (should move to :mod:`geo.caveats`).
CLEARANCE_CAVEAT = (
    "A clearance is what the police record, not what a court decides. 'Exceptionally cleared' means the police "
    "name a suspect but make no arrest for a reason outside their control (for example the victim declines to "
    "prosecute). Clearing a case takes time: recent reports, above all those of 2024 (which runs to 20 November "
    "only), have had less time to be cleared, so their open share is higher."
)


#: Shown with every regression result.
ECOLOGICAL_FALLACY_CAVEAT = (
    "These coefficients describe neighbourhoods, not people. A correlation across areas says nothing about the "
    "individuals in them (the ecological fallacy): the residents counted by the census are not the people stopped, "
    "the victims or the offenders, many of whom live elsewhere. Recorded crime also measures where police look and "
    "what people report. The estimates are associations, not causes, and depend on the boundaries used."
)


#: What the point sample does to a near-repeat test.
NEAR_REPEAT_CAVEAT = (
    "The point sample keeps about 1 incident in 61, so it keeps only about 1 pair in 3,700: the counts are small "
    "and the test has little power, although the observed/expected ratios are not biased by an even thinning. "
    "Locations are anonymised to the block, so pairs less than a block apart (a few hundred feet) cannot be told "
    "apart from pairs at the same address: read the smallest distance band with care. Dates are months, so the "
    "shortest time band is 'the same month', not days."
)


#: Shown beside the juvenile diversion outcomes.
DIVERSION_CAVEAT = (
    "Diversion referrals are juveniles the police chose to refer instead of charging; the table does not record "
    "the offence, prior contacts, age, school or family circumstances, nor who screened the referral. A "
    "difference in outcomes between groups can come from any of these, from who is referred in the first place, "
    "or from how the program treats them: the rates describe outcomes, they do not show why they differ. "
    "'Unsuccessful' and 'rejected at screening' are different endings (a referral that did not complete the "
    "program, and one that never entered it); referrals still active or pending are left out."
)


#: Shown with every odds ratio of the diversion success model.
MODEL_CAVEAT_DIVERSION = (
    "Odds ratios compare the odds of a successful outcome between a group and its reference with the other terms "
    "(race, gender, intake year) held fixed. They are associations, not causes: offence, age and prior record are "
    "not in the data and may differ between groups. Success is common here, so odds ratios are further from 1 than "
    "the rate ratios. Intervals are 95 % Wald intervals (profile penalised-likelihood ones where the table says "
    "so); groups with few referrals have wide intervals."
)


#: Shown beside the officers who made the stops against the 2017 workforce.
WORKFORCE_CAVEAT = (
    "The stops are of 2020-2021; the only employee table is of 2017. The force changed in the years between "
    "(hiring, retirements, promotions), so the 2017 shares only approximate who served when the stops were made. "
    "The stops carry no officer id: a group's share of stops reflects both how many of its officers there are "
    "and how many stops each makes, which depends on assignment (traffic units, patrol shifts, divisions), not "
    "only on the officers. The workforce counts only the job title 'Police Officer'; sergeants and other ranks "
    "who also stop drivers are not in it. Intervals treat stops as independent, which they are not (one officer "
    "makes many), so they are too narrow; a ratio above 1 means the group made more stops than its 2017 share "
    "of officers, not that any officer stops more than another."
)


#: What the residential benchmark (stops per 1,000 residents) assumes.
RESIDENTIAL_BENCHMARK_ASSUMES = (
    "assumes the people at risk of a stop in a division are the people who live there, in proportion to their "
    "number. Drivers cross divisions to work, shop and pass through; a division with a highway, a stadium or the "
    "city centre has many more drivers than residents."
)


#: What the crime benchmark (stops per 1,000 reported incidents) assumes.
CRIME_BENCHMARK_ASSUMES = (
    "assumes police presence, and so the chance of a stop, follows reported crime. Most stops are for traffic "
    "violations, not crimes; reported incidents count where crime is reported, not where people drive; and some "
    "incidents (drug and other 'society' offences) are found by the police themselves, so the denominator partly "
    "measures the same enforcement it is meant to benchmark. Neither benchmark is a measure of bias: where they "
    "disagree, the difference says how much the answer depends on the assumption."
)


#: The crime-rate form of RESIDENTS_NOT_DRIVERS: residents are not the people involved.
RESIDENTS_NOT_PEOPLE_INVOLVED = (
    "Rates per 1,000 residents divide by the people who live in an area, but the victims, offenders and people "
    "stopped there often live elsewhere: a business district or a highway has few residents and many visitors. "
)
