"""What the numbers can and cannot say, in plain words, for the app and the reports.

One place for the caveats so that every page, export and note says the same thing.
"""

from __future__ import annotations

__all__ = ["CAVEATS", "STOPS_NO_COORDINATES", "RESIDENTS_NOT_DRIVERS", "SOURCES_COUNT_DIFFERENTLY", "TOWNS_OUTSIDE",
           "DRIVER_GROUPS", "POINT_SAMPLE", "CRIME_FISCAL_YEARS"]

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

DRIVER_GROUPS = (
    "Driver groups follow the census: Hispanic drivers of any race form one group, and White, Black and Asian mean "
    "non-Hispanic, so that they line up with the population counts."
)

POINT_SAMPLE = (
    "The incident points are the first 5,000 records of CMPD's incident layer (2017-2025), not a random sample, with "
    "locations anonymised to the block. Use them to see patterns, not to count crime."
)

CRIME_FISCAL_YEARS = (
    "Neighborhood crime counts come from the Quality of Life Explorer and are by fiscal year; outside Charlotte they "
    "include town police departments' reports. Rates are per 1,000 residents of that year's population estimate."
)

CAVEATS: dict[str, str] = {
    "Stops have no locations": STOPS_NO_COORDINATES,
    "Residents are not drivers": RESIDENTS_NOT_DRIVERS,
    "Two sources, two counts": SOURCES_COUNT_DIFFERENTLY,
    "Towns outside CMPD": TOWNS_OUTSIDE,
    "Driver groups": DRIVER_GROUPS,
    "Incident points are a sample": POINT_SAMPLE,
    "Neighborhood crime counts": CRIME_FISCAL_YEARS,
}
