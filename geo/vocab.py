"""The data's own vocabulary, once: CMPD divisions, stop categories, driver groups, outcomes.

Every module that names a CMPD category, bucket or outcome imports it from here, so a
renamed category or a new division changes one line.
"""

from __future__ import annotations

__all__ = [
    "DIVISIONS",
    "NO_DIVISION",
    "OTHER",
    "STOP_COLUMNS",
    "STOP_CATEGORIES",
    "AGE_MIN",
    "AGE_MAX",
    "AGE_EDGES",
    "AGE_BANDS",
    "AGE_FLAGGED",
    "AGE_MISSING",
    "YEARS_BANDS",
    "DRIVER_GROUPS",
    "STOP_COUNTS",
    "GROUP_POPULATION",
    "OUTCOMES",
    "MIN_CELL",
    "ODP_RACES",
    "DRIVER_GROUP_TO_ODP",
    "INCIDENT_CATEGORIES",
    "NIBRS_CATEGORY_CODES",
    "NIBRS_CATEGORIES",
    "UNFOUNDED",
    "CLEARANCE",
    "DIVERSION_OUTCOMES",
    "DIVERSION_RACES",
    "OFFICER_TITLE",
]


#: CMPD patrol divisions: code -> ``DNAME``.
DIVISIONS: dict[str, str] = {
    "01": "Central Division",
    "02": "Metro Division",
    "06": "Eastway Division",
    "07": "North Tryon Division",
    "11": "North Division",
    "12": "Hickory Grove Division",
    "14": "University City Division",
    "16": "Providence Division",
    "17": "Independence Division",
    "21": "Steele Creek Division",
    "22": "South Division",
    "26": "Westover Division",
    "27": "Freedom Division",
    "28": "Airport Division",
}


#: The bucket for stops whose ``CMPD_Division`` is blank.
NO_DIVISION = "No division recorded"


OTHER = "Other/Unknown"


#: Columns a stops file must have (``OBJECTID`` and ``GlobalID`` are optional).
STOP_COLUMNS = (
    "Month_of_Stop",
    "Reason_for_Stop",
    "Officer_Race",
    "Officer_Gender",
    "Officer_Years_of_Service",
    "Driver_Race",
    "Driver_Ethnicity",
    "Driver_Gender",
    "Driver_Age",
    "Was_a_Search_Conducted",
    "Result_of_Stop",
    "CMPD_Division",
)


#: Known categories; values outside them are kept as ``Other/Unknown`` and reported.
STOP_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Reason_for_Stop": (
        "Speeding",
        "Vehicle Regulatory",
        "Vehicle Equipment",
        "Stop Light/Sign",
        "Safe Movement",
        "Investigation",
        "Other",
        "SeatBelt",
        "Driving While Impaired",
        "CheckPoint",
    ),
    "Officer_Race": (
        "White",
        "Black/African American",
        "Hispanic/Latino",
        "Asian / Pacific Islander",
        "2 or More",
        "American Indian/Alaska Native",
        "Not Specified",
    ),
    "Officer_Gender": ("Male", "Female"),
    "Driver_Race": ("White", "Black", "Asian", "Native American", OTHER),
    "Driver_Ethnicity": ("Non-Hispanic", "Hispanic"),
    "Driver_Gender": ("Male", "Female"),
    "Result_of_Stop": ("Verbal Warning", "Citation Issued", "Written Warning", "Arrest", "No Action Taken"),
}


#: Driver ages outside ``AGE_MIN``..``AGE_MAX`` are flagged (kept, with ``age_flagged``), not dropped.
AGE_MIN, AGE_MAX = 15, 100

#: Lower edges of the driver age bands (the last band ends at ``AGE_MAX``).
AGE_EDGES: tuple[int, ...] = (AGE_MIN, 18, 25, 35, 45, 55, 65)

#: Driver age bands, from :data:`AGE_EDGES`: ``("15-17", "18-24", ..., "65-100")``.
AGE_BANDS: tuple[str, ...] = tuple(
    f"{lo}-{hi - 1}" for lo, hi in zip(AGE_EDGES, (*AGE_EDGES[1:], AGE_MAX + 1), strict=True)
)

#: The band of a flagged age.
AGE_FLAGGED = f"Outside {AGE_MIN}-{AGE_MAX}"


AGE_MISSING = "Unknown"


YEARS_BANDS = ("0-4", "5-9", "10-14", "15-19", "20+")


#: ``driver_group`` combines race and ethnicity the way the census does: Hispanic
#: drivers of any race form one group; the race groups are non-Hispanic.
DRIVER_GROUPS = ("White", "Black", "Hispanic", "Asian", "Native American", OTHER)


#: Outcome columns computed from the clean stops frame.
STOP_COUNTS = ("stops", "searches", "arrests", "citations")


#: Driver group -> the 2020 population column that counts the same people.
#: Driver groups follow the census convention (Hispanic of any race; race groups
#: non-Hispanic). Native American and Other/Unknown drivers have no comparable
#: population column and get no per-capita rate.
GROUP_POPULATION = {
    "White": "white_nh_2020",
    "Black": "black_nh_2020",
    "Hispanic": "hispanic_2020",
    "Asian": "asian_nh_2020",
}


#: Outcome name -> value of ``result`` (``None`` for the search flag).
OUTCOMES: dict[str, str | None] = {
    "search": None,
    "arrest": "Arrest",
    "citation": "Citation Issued",
    "written_warning": "Written Warning",
    "verbal_warning": "Verbal Warning",
    "no_action": "No Action Taken",
}


#: Cells with a denominator below this are flagged ``small_cell``.
MIN_CELL = 50


#: Driver races of the state data, in its order ("Latinx" = Hispanic of any race).
ODP_RACES: tuple[str, ...] = ("Black", "White", "Latinx", "Asian", "Other", "Indigenous")


#: CMPD ``driver_group`` -> the state's race category.
DRIVER_GROUP_TO_ODP: dict[str, str] = {
    "White": "White",
    "Black": "Black",
    "Hispanic": "Latinx",
    "Asian": "Asian",
    "Native American": "Indigenous",
    "Other/Unknown": "Other",
}


#: The incident categories of both files, in the source's index order (0=persons ... 3=other).
#: (CMPD category names belong in :mod:`geo.vocab`; kept here until it has a home for them.)
INCIDENT_CATEGORIES: tuple[str, ...] = ("persons", "property", "society", "other")


#: ``HIGHEST_NIBRS_CODE`` of the whole incident layer -> its category, written per category: the table
#: of the repository that made the point sample (``hadi-nayebi/crime-cartography``,
#: ``data/charlotte-nc/PROVENANCE.md``, "Category mapping"), which follows the FBI's NIBRS
#: crimes-against list for Group A; Group B (90-series), CMPD's local criminal codes 99Y (indecent
#: exposure) and 99Z (affray) and 09C (justifiable homicide, not a crime in NIBRS) are ``other``.
#: Non-criminal 800-series codes have no category (the sample left those reports out); a code
#: not listed here is counted as ``other`` and reported.
NIBRS_CATEGORY_CODES: dict[str, tuple[str, ...]] = {
    "persons": ("09A", "09B", "100", "11A", "11B", "11C", "11D", "13A", "13B", "13C", "36A", "36B", "64A", "64B"),
    "property": (
        "120", "200", "210", "220", "23A", "23B", "23C", "23D", "23E", "23F", "23G", "23H", "240", "250",
        "26A", "26B", "26C", "26D", "26E", "26F", "26G", "270", "280", "290", "510",
    ),
    "society": ("35A", "35B", "370", "39A", "39B", "39C", "40A", "40B", "40C", "520", "720"),
    "other": ("09C", "90A", "90B", "90C", "90D", "90F", "90G", "90H", "90J", "90Z", "99Y", "99Z"),
}  # fmt: skip

#: ``HIGHEST_NIBRS_CODE`` -> incident category (:data:`NIBRS_CATEGORY_CODES` code by code).
NIBRS_CATEGORIES: dict[str, str] = {code: cat for cat, codes in NIBRS_CATEGORY_CODES.items() for code in codes}

#: The ``CLEARANCE_STATUS`` of reports found to be false or baseless (the point sample left them out).
UNFOUNDED = "Unfounded"


#: ``CLEARANCE_STATUS`` -> ``cleared``: how (or whether) the report was cleared.
CLEARANCE: dict[str, str] = {
    "Cleared by Arrest": "arrest",
    "Exceptionally Cleared": "exceptional",
    "Open": "open",
    "Unfounded": "unfounded",
    "Cleared by Arrest by Another Agency": "arrest by another agency",
}


#: Diversion ``status`` (case-folded) -> ``outcome``. Active and pending referrals have no outcome yet.
DIVERSION_OUTCOMES: dict[str, str] = {
    "inactive-successful": "successful",
    "inactive-unsuccessful": "unsuccessful",
    "rejected at screening": "rejected at screening",
    "active": "other",
    "pending": "other",
}


#: The race/ethnicity values of the diversion table (others, e.g. a blank, become ``"Unknown"``).
DIVERSION_RACES = ("Black", "White", "Hispanic", "Asian", "Other")


#: The job title counted as a sworn patrol officer in ``is_officer``.
OFFICER_TITLE = "Police Officer"
