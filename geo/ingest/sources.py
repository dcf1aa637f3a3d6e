"""The data sets the project uses: where each lives on disk and where it comes from.

Raw files live under :attr:`geo.settings.Settings.data_dir`, laid out exactly like
the shared mirror (``stops/``, ``divisions/``, ``npa/``, ``points/``, ``other/``, ``reference/``).
``python -m geo fetch`` fills that folder, from the City of Charlotte portal or from a
mirror folder, and writes ``manifest.json`` beside the files; :func:`resolve` reads the
manifest to find the file of a data set (a portal download may use another file name
than the mirror).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from geo.errors import DataFileError
from geo.vocab import STOP_COLUMNS

__all__ = [
    "MANIFEST_NAME",
    "Dataset",
    "DATASETS",
    "REFERENCE_FILES",
    "CORE_NPA_METRICS",
    "QOL_METRIC_FILES",
    "QOL_META_FILES",
    "INCIDENT_COLUMNS",
    "LAYER_GROUPS",
    "select_layers",
    "read_manifest",
    "resolve",
]


MANIFEST_NAME = "manifest.json"


Kind = Literal["arcgis_table", "arcgis_features", "file"]


#: How a layer's date field is written, for ``--since``: epoch milliseconds (esri date), ``"2021/03"``,
#: ``"2021-03"`` text, or a year number.
DateFormat = Literal["epoch_ms", "YYYY/MM", "YYYY-MM", "year"]


@dataclass(frozen=True)
class Dataset:
    """One data set.

    Attributes
    ----------
    key
        Short name used throughout the code.
    path
        Path relative to the data folder, as in the mirror.
    description
        What it is, in plain words.
    portal_url
        Where ``python -m geo fetch`` downloads it from, or ``None`` when it is only
        available from a mirror.
    kind
        How to download it: an ArcGIS REST table or feature layer (paged), or a file.
    portal_path
        File name (relative to the data folder) for the portal download, when it
        differs from the mirror's.
    required
        Whether the app needs it to start.
    columns
        Columns a portal download must have (checked before anything is replaced).
    date_field, date_format
        The field ``python -m geo fetch --since`` selects newer records by, and how it is written.
    """

    key: str
    path: str
    description: str
    portal_url: str | None = None
    kind: Kind = "file"
    portal_path: str | None = None
    required: bool = False
    columns: tuple[str, ...] = ()
    date_field: str | None = None
    date_format: DateFormat | None = None


#: The City of Charlotte's ArcGIS Server; ``--portal-url`` replaces it, keeping each layer's path.
_CLT_GIS = "https://gis.charlottenc.gov/arcgis/rest/services"


#: Columns of the CMPD incidents layer (as in the mirror's ``points/CMPD_Incidents_sample5000.csv``) that a
#: download must have.
INCIDENT_COLUMNS = (
    "OBJECTID",
    "INCIDENT_REPORT_ID",
    "DATE_REPORTED",
    "DATE_INCIDENT_BEGAN",
    "HIGHEST_NIBRS_CODE",
    "HIGHEST_NIBRS_DESCRIPTION",
    "CMPD_PATROL_DIVISION",
    "DIVISION_ID",
    "NPA",
    "LATITUDE_PUBLIC",
    "LONGITUDE_PUBLIC",
    "X_COORD_PUBLIC",
    "Y_COORD_PUBLIC",
    "CLEARANCE_STATUS",
)


# Download addresses, as confirmed (the build machine cannot reach them; fetch is tested
# against a local imitation of the services):
# - Officer Traffic Stops: the ArcGIS Server page of CMPD/Officer_Traffic_Stop/MapServer/0 shows
#   "Type: Table", MaxRecordCount 2000, query formats JSON and PBF (no GeoJSON), pagination and
#   orderBy supported, fields OBJECTID, Month_of_Stop, Reason_for_Stop, Officer_Race ... (the same
#   table is also published as CMPD/CMPD/MapServer/14).
# - CMPD Police Divisions: ArcGIS Online item b787e43380cd4fc0ba6dd6a9fb10cb27, owner CharlotteNC,
#   FeatureServer layer 0 under services.arcgis.com/9Nl857LBlQVyzq54 (listed by the portal's DCAT feed,
#   as cited by two independent public code bases).
# - Quality of Life Explorer: the geography is public/data/geography/geography.geojson.json and the
#   metric files data/metric/<r|d><n>.csv in tobinbradley/quality-of-life-explorer. The addresses are
#   pinned to commit 974f4007 (the one the shared mirror was copied from) so that geography ids and
#   metric ids always match and a download reproduces the mirror byte for byte; replace the commit
#   with "HEAD" to follow the repository's default branch. (mcmap.org/qol/data serves only the built
#   JSON metrics, not these CSVs.)
_QOL_REPO = (
    "https://raw.githubusercontent.com/tobinbradley/quality-of-life-explorer/974f4007eb3381e4e661671575117150bd27aff0"
)


_QOL = f"{_QOL_REPO}/public/data"


# - Reference layers (2013): mecklenburg-gis/mecklenburg-gis-opendata, data/<name>.geojson, pinned to the
#   commit the shared mirror was copied from; the state-maintained roads: dillonmabry/cmpd-traffic-helper,
#   traffic_analyzer/resources/reference_data/roads.csv; the NPA groups: the Quality of Life Explorer's
#   src/assets/neighborhod-groups.json (sic). Addresses from shared/data/PROVENANCE.md section 6 (not
#   reachable from the build machine).
_MECK_GIS = "https://raw.githubusercontent.com/mecklenburg-gis/mecklenburg-gis-opendata/30d5a88cbbbd73aaa41510a6490a081112eb103e/data"


_ROADS_URL = (
    "https://raw.githubusercontent.com/dillonmabry/cmpd-traffic-helper/d261bc007eb127cb5dbea16f6c0de36c54fa41e4"
    "/traffic_analyzer/resources/reference_data/roads.csv"
)


#: Reference layer key -> (file stem in the Mecklenburg GIS repository, description).
REFERENCE_FILES: dict[str, tuple[str, str]] = {
    "ref_zipcodes": ("zipcodes", "ZIP code areas (34 polygons, 2013)"),
    "ref_historic_districts": ("historic_districts", "Charlotte local historic districts (6 polygons, 2013)"),
    "ref_council_districts": ("charlotte_city_council", "Charlotte City Council districts (7 polygons, 2013 lines)"),
    "ref_police_stations": ("police_stations", "CMPD police stations (points, 2013)"),
    "ref_parks": ("parks", "Mecklenburg parks and recreation sites (points, 2013)"),
    "ref_schools": ("schools", "schools (points, 2013)"),
    "ref_libraries": ("libraries", "public libraries (points, 2013)"),
    "ref_hospitals": ("hospitals", "hospitals (points, 2013)"),
    "ref_colleges": ("colleges", "colleges and universities (points, 2013)"),
    "ref_town_halls": ("town_halls", "town halls (points, 2013)"),
    "ref_railroads": ("railroads", "railroads (lines, 2013)"),
    "ref_greenways": ("greenways", "greenways (lines, 2013)"),
}


#: The metric files the NPA table (:func:`geo.ingest.npa_metrics.load_npa_metrics`) is built from.
CORE_NPA_METRICS = (
    "r1",
    "r47",
    "r14",
    "r15",
    "r16",
    "r17",
    "r18",
    "r58",
    "d58",
    "r59",
    "d59",
    "r60",
    "d60",
    "r37",
    "d37",
)

#: Every metric file the Quality of Life Explorer publishes (179: ``mNN`` values, ``rNN``/``dNN`` numerators and
#: denominators, ``mNN-accuracy`` margins), as in the mirror's ``npa/metric/``.
QOL_METRIC_FILES = tuple(
    (
        "d1 d2 d3 d4 d5 d6 d7 d8 d9 d10 d11 d12 d13 d14 d15 d16 d17 d18 d19 d20 d21 d22 d23 d24 d25 d26 d27 d28 d29 d30 "
        "d31 d32 d33 d34 d35 d36 d37 d38 d39 d40 d41 d42 d43 d44 d45 d46 d47 d48 d49 d51 d52 d53 d54 d55 d56 d57 d58 "
        "d59 d60 d61 d62 d63 d64 d65 d66 d67 d68 d69 d70 d71 d72 d73 d74 d75 d76 d77 d78 d79 d80 d81 d82 d83 d88 "
        "m2-accuracy m10-accuracy m12-accuracy m13-accuracy m20-accuracy m29-accuracy m31-accuracy m33-accuracy "
        "m37-accuracy m38-accuracy m39-accuracy m40-accuracy m88-accuracy r1 r2 r3 r4 r5 r6 r7 r8 r9 r10 r11 r12 r13 "
        "r14 r15 r16 r17 r18 r19 r20 r21 r22 r23 r24 r25 r26 r27 r28 r29 r30 r31 r32 r33 r34 r35 r36 r37 r38 r39 r40 "
        "r41 r42 r43 r44 r45 r46 r47 r48 r49 r51 r52 r53 r54 r55 r56 r57 r58 r59 r60 r61 r62 r63 r64 r65 r66 r67 r68 "
        "r69 r70 r71 r72 r73 r74 r75 r76 r77 r78 r79 r80 r81 r82 r83 r88 "
    ).split()
)

#: The explorer's description of each metric (``npa/meta/mNN.md``, 85 files).
QOL_META_FILES = tuple(
    (
        "m1 m2 m3 m4 m5 m6 m7 m8 m9 m10 m11 m12 m13 m14 m15 m16 m17 m18 m19 m20 m21 m22 m23 m24 m25 m26 m27 m28 m29 m30 "
        "m31 m32 m33 m34 m35 m36 m37 m38 m39 m40 m41 m42 m43 m44 m45 m46 m47 m48 m49 m50 m51 m52 m53 m54 m55 m56 m57 "
        "m58 m59 m60 m61 m62 m63 m64 m65 m66 m67 m68 m69 m70 m71 m72 m73 m74 m75 m76 m77 m78 m79 m80 m81 m82 m83 m84 "
        "m88 "
    ).split()
)


DATASETS: dict[str, Dataset] = {
    d.key: d
    for d in [
        Dataset(
            "stops",
            "stops/Officer_Traffic_Stops_2020-2021.csv.gz",
            "CMPD Officer Traffic Stops (one row per stop; finest geography is the division)",
            f"{_CLT_GIS}/CMPD/Officer_Traffic_Stop/MapServer/0",
            "arcgis_table",
            portal_path="stops/Officer_Traffic_Stops_portal.csv.gz",
            required=True,
            columns=("OBJECTID", *STOP_COLUMNS),
            date_field="Month_of_Stop",
            date_format="YYYY/MM",
        ),
        Dataset(
            "divisions_2025",
            "divisions/CMPD_Police_Divisions_2025.geojson",
            "CMPD Police Divisions, current layer (14 polygons)",
            "https://services.arcgis.com/9Nl857LBlQVyzq54/arcgis/rest/services/CMPD_Police_Divisions/FeatureServer/0",
            "arcgis_features",
            portal_path="divisions/CMPD_Police_Divisions_current.geojson",
            required=True,
        ),
        Dataset(
            "divisions_2019",
            "divisions/CMPD_Police_Divisions_2019.shp",
            "CMPD Police Divisions, 2019 layer (Airport in two parts)",
        ),
        Dataset(
            "division_offices",
            "divisions/CMPD_Police_Division_Offices.shp",
            "CMPD division offices (points)",
        ),
        Dataset(
            "npa_geography",
            "npa/npa_geography.geojson",
            "Quality of Life Explorer neighborhood profile areas (459 NPAs)",
            f"{_QOL}/geography/geography.geojson.json",
            required=True,
        ),
        *[
            Dataset(
                f"npa_metric_{m}",
                f"npa/metric/{m}.csv",
                f"Quality of Life Explorer metric file {m}",
                f"{_QOL_REPO}/data/metric/{m}.csv",
                required=m in {"r1", "r47", "r14", "r15", "r16", "r17", "r18", "r58", "d58", "r59", "d59"},
            )
            for m in QOL_METRIC_FILES
        ],
        *[
            Dataset(
                f"npa_meta_{m}",
                f"npa/meta/{m}.md",
                f"Quality of Life Explorer description of metric {m}",
                f"{_QOL_REPO}/data/meta/{m}.md",
            )
            for m in QOL_META_FILES
        ],
        Dataset(
            "qol_config",
            "npa/qol_metric_config.json",
            "Quality of Life Explorer metric catalogue (83 metrics: category, title, units, files)",
            f"{_QOL_REPO}/data/data.json",
        ),
        Dataset(
            "ois_incidents",
            "points/CMPD_OfficerInvolved_Shootings__Incidents.csv",
            "CMPD officer-involved shootings, incidents (points)",
            f"{_CLT_GIS}/CMPD/CMPDOfficerInvolvedShootings_Incidents/MapServer/0",
            "arcgis_table",
            portal_path="points/CMPD_OfficerInvolved_Shootings__Incidents_portal.csv.gz",
            columns=("INCIDENT_ID", "YEAR_MONTH", "LOCATION", "DA_LEGAL_REVIEW", "NARRATIVE", "Latitude", "Longitude"),
            date_field="YEAR_MONTH",
            date_format="YYYY-MM",
        ),
        Dataset(
            "ois_individuals",
            "points/CMPD_OfficerInvolved_Shootings__Individuals.csv",
            "CMPD officer-involved shootings, individuals",
            f"{_CLT_GIS}/CMPD/CMPDOfficerInvolvedShootings_Individuals/MapServer/0",
            "arcgis_table",
            portal_path="points/CMPD_OfficerInvolved_Shootings__Individuals_portal.csv.gz",
            columns=("INCIDENT_ID", "INDIVIDUAL_RACE", "INDIVIDUAL_GENDER", "INDIVIDUAL_AGE", "INDIVIDUAL_INJURY_TYPE"),
            date_field="YR",
            date_format="year",
        ),
        Dataset(
            "ois_officers",
            "points/CMPD_OfficerInvolved_Shootings__Officers.csv",
            "CMPD officer-involved shootings, officers",
            f"{_CLT_GIS}/CMPD/CMPDOfficerInvolvedShootings_Officers/MapServer/0",
            "arcgis_table",
            portal_path="points/CMPD_OfficerInvolved_Shootings__Officers_portal.csv.gz",
            columns=(
                "INCIDENT_ID",
                "OFFICER_RACE",
                "OFFICER_GENDER",
                "OFFICER_EXPERIENCE_YEARS",
                "OFFICER_POLICY_VIOLATION",
            ),
            date_field="YR",
            date_format="year",
        ),
        Dataset(
            "incidents_full",
            "points/CMPD_Incidents_portal.parquet",
            "CMPD incident reports with coordinates, the whole portal layer (2017 on; Parquet)",
            f"{_CLT_GIS}/CMPD/CMPDIncidents/MapServer/0",
            "arcgis_table",
            portal_path="points/CMPD_Incidents_portal.parquet",
            columns=INCIDENT_COLUMNS,
            date_field="DATE_REPORTED",
            date_format="epoch_ms",
        ),
        Dataset(
            "incidents_sample",
            "points/CMPD_Incidents_sample5000.csv",
            "CMPD incident reports, first 5,000 records of the layer (points)",
        ),
        Dataset(
            "incidents_points",
            "points/cmpd_incidents_point_sample_2017-2026.csv",
            "CMPD incident points 2017-2026, an even 1-in-61 sample (at most 100 a month; month, lon, lat, category)",
        ),
        Dataset(
            "incidents_timeline",
            "points/cmpd_incidents_division_monthly_2017-2026.csv",
            "CMPD incidents per division, month and category 2017-2026 (697,504 incidents)",
        ),
        Dataset(
            "clearance",
            "other/CMPD_assault_intimidation_clearance_2017-2024.csv",
            "CMPD simple assault and intimidation reports 2017-2024 with clearance status (83,037 reports)",
        ),
        Dataset(
            "diversion",
            "other/CMPD_Diversion_Program_2013-2016.csv",
            "CMPD juvenile diversion referrals 2013-2016 (2,555 referrals; race, gender, outcome)",
        ),
        Dataset(
            "employees",
            "other/CMPD_Employee_Demographics_2017.csv",
            "CMPD employee demographics, 2017 (2,403 employees; job title, race, gender, age, service)",
            f"{_CLT_GIS}/CMPD/CMPDEmployeeDemographics/MapServer/0",
            "arcgis_table",
            portal_path="other/CMPD_Employee_Demographics_portal.csv.gz",
            columns=("JOB_TITLE", "Years_Of_Service", "Age", "Gender", "Race"),
        ),
        *[
            Dataset(
                key, f"reference/meck_{stem}.geojson", f"Mecklenburg County GIS {desc}", f"{_MECK_GIS}/{stem}.geojson"
            )
            for key, (stem, desc) in REFERENCE_FILES.items()
        ],
        Dataset(
            "ref_state_roads",
            "reference/charlotte_state_maintained_roads.csv",
            "City of Charlotte state-maintained roads (3,403 segments; geometry as a flat lon,lat list)",
            _ROADS_URL,
        ),
        Dataset(
            "npa_groups",
            "npa/npa_groups_council_jurisdiction.json",
            "Quality of Life Explorer NPA groups: jurisdiction, City Council and County Commission districts",
            f"{_QOL_REPO}/src/assets/neighborhod-groups.json",
        ),
        Dataset(
            "odp_workbook",
            "other/opendatapolicingnc_CMPD_traffic_stop_summary_2002-2024.xlsx",
            "Open Data Policing NC: citywide yearly stop, search and use-of-force tables",
        ),
    ]
}


def _group_of(key: str) -> str | None:
    """The ``--layers`` group of a data-set key (``None``: mirror only, or not a portal layer)."""
    if key.startswith(("npa_", "qol_")):
        return "qol"
    if key.startswith("ref_"):
        return "reference"
    if key.startswith("ois_"):
        return "ois"
    named = {"stops": "stops", "incidents_full": "incidents", "employees": "employees", "divisions_2025": "divisions"}
    return named.get(key)


#: ``python -m geo fetch --layers`` group -> the data-set keys it downloads (in registry order).
LAYER_GROUPS: dict[str, tuple[str, ...]] = {
    g: tuple(k for k in DATASETS if _group_of(k) == g)
    for g in ("stops", "incidents", "ois", "employees", "divisions", "qol", "reference")
}


def select_layers(names: list[str] | tuple[str, ...]) -> list[str]:
    """Data-set keys for ``--layers`` names: groups (:data:`LAYER_GROUPS`) or single keys, in order, once each.

    Raises
    ------
    DataFileError
        Naming the unknown names and the groups there are.
    """
    unknown = [n for n in names if n not in LAYER_GROUPS and n not in DATASETS]
    if unknown:
        raise DataFileError(
            f"Unknown layer(s) {', '.join(map(repr, unknown))}; choose from {', '.join(LAYER_GROUPS)} "
            "(or a data-set key such as npa_metric_r1)."
        )
    keys: list[str] = []
    for n in names:
        keys.extend(LAYER_GROUPS.get(n, (n,)))
    return list(dict.fromkeys(keys))


def read_manifest(data_dir: Path) -> dict[str, Any]:
    """Read ``manifest.json`` in ``data_dir``; an empty manifest if there is none.

    Raises
    ------
    DataFileError
        If the manifest cannot be read, is not UTF-8 text, not valid JSON or not a JSON
        object: the message names the file and says to run ``python -m geo fetch`` again.
    """
    path = Path(data_dir) / MANIFEST_NAME
    if not (path.is_symlink() or path.exists()):
        return {"files": {}}
    again = "Run `python -m geo fetch` (with --mirror DIR if the data came from a mirror) again to rewrite it."
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise DataFileError(f"{path}: the data manifest cannot be read ({exc.strerror or exc}). {again}") from None
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"{path}: the data manifest is not UTF-8 text (byte 0x{exc.object[exc.start]:02X} at offset "
            f"{exc.start:,}). {again}"
        ) from None
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{path}: the data manifest is not valid JSON ({exc}). {again}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files", {}), dict):
        raise DataFileError(f"{path}: the data manifest is not a JSON object with a 'files' object. {again}")
    return manifest


def resolve(key: str, data_dir: Path, *, manifest: dict[str, Any] | None = None) -> Path:
    """Return the file of data set ``key`` in ``data_dir``.

    The manifest's entry wins; otherwise the mirror path, then the portal path.
    ``manifest`` (:func:`read_manifest` of ``data_dir``) saves reading it again when
    resolving many data sets.

    Raises
    ------
    DataFileError
        If no file is found, with the command that gets it.
    """
    if key not in DATASETS:
        raise KeyError(f"Unknown data set {key!r}; known: {', '.join(DATASETS)}")
    data_dir = Path(data_dir)
    ds = DATASETS[key]
    entry = (manifest if manifest is not None else read_manifest(data_dir)).get("files", {}).get(key)
    candidates: list[str] = (
        ([str(entry["path"])] if entry and "path" in entry else [])
        + [ds.path]
        + ([ds.portal_path] if ds.portal_path else [])
    )
    for rel in candidates:
        p = data_dir / rel
        if p.is_symlink() or p.exists():  # a broken link or a loop is reported by check_file, not as "missing"
            return p
    raise DataFileError(
        f"Data set {key!r} ({ds.description}) is not in {data_dir}: looked for "
        + ", ".join(candidates)
        + ". Run `python -m geo fetch` (or `python -m geo fetch --mirror ../shared/data`)."
    )
