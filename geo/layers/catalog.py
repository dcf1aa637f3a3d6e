"""The named layers: one catalogue used by the command line, the app and the exports.

Each :class:`LayerSpec` says what a layer is (its label and description), how its units
are named (``id_column``), what it is built from (``inputs``: data sets of
:data:`geo.ingest.sources.DATASETS`), whether the stop filters change it, and which front
ends offer it. :func:`get_layer` builds it; :func:`cache_key` is the one key for anything
cached from it (the app's caches use it), derived from the declared inputs' files, the
filter, the CRS and :data:`geo.__version__`.

Examples
--------
>>> from geo.layers.catalog import CATALOG, get_layer  # doctest: +SKIP
>>> CATALOG["npa"].id_column
'npa'
>>> get_layer("divisions", filters=StopFilter(reasons=("Speeding",)))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd

import geo
from geo.errors import ValueDomainError
from geo.ingest.cache import CACHE_VERSION
from geo.ingest.geometry import polygonal
from geo.layers import build
from geo.layers.filters import StopFilter
from geo.layers.grid import hexagon_grid
from geo.settings import Settings, get_settings

__all__ = [
    "LayerSpec",
    "CATALOG",
    "Use",
    "layer_names",
    "layer_spec",
    "get_layer",
    "get_units",
    "layer_source",
    "layer_caveat",
    "cache_key",
    "DEFAULT_CELL_SIZE",
]

#: Where a layer is offered: ``export`` (``python -m geo export`` and the Export page),
#: ``hotspots`` (hot-spot analyses), ``aggregate`` (``python -m geo aggregate``: polygons to count in).
Use = Literal["export", "hotspots", "aggregate"]

#: Distance between hexagon centres for the ``hex`` layer, feet.
DEFAULT_CELL_SIZE = 1000.0


@dataclass(frozen=True)
class LayerSpec:
    """One named layer.

    Attributes
    ----------
    name
        The name used on the command line and in the app (``npa``, ``divisions``, ...).
    label
        Plain words for pickers.
    description
        What one row is and what it holds.
    id_column
        The column naming each unit.
    geometry
        ``polygons`` or ``points``.
    inputs
        Cached entries of :data:`geo.layers.build.INPUTS` it is built from (their data
        sets' files key every cache of the layer).
    stop_filters
        Whether :class:`~geo.layers.filters.StopFilter` changes it (only stop counts do).
    uses
        Which front ends offer it.
    builder
        Builds the layer from settings, a stop filter and a hexagon cell size.
    units
        Builds the units alone (``id_column`` and geometry, no attributes) from settings
        and a cell size: what points are counted in, without loading what the layer's
        attributes need (e.g. the stops).
    """

    name: str
    label: str
    description: str
    id_column: str
    geometry: Literal["polygons", "points"]
    inputs: tuple[str, ...]
    stop_filters: bool
    uses: frozenset[Use]
    builder: Callable[[Settings, StopFilter | None, float], gpd.GeoDataFrame]
    units: Callable[[Settings, float], gpd.GeoDataFrame] | None = None


def _divisions(s: Settings, filters: StopFilter | None, _cell: float) -> gpd.GeoDataFrame:
    stops = build.stops(s)  # read once: division_layer would read it again without a frame
    return build.division_layer(s, stops_frame=filters.apply(stops) if filters is not None else stops)


def _npa(s: Settings, _filters: StopFilter | None, _cell: float) -> gpd.GeoDataFrame:
    return build.npa_layer(s)


def _ois(s: Settings, _filters: StopFilter | None, _cell: float) -> gpd.GeoDataFrame:
    return build.points_with_units(s, layer="ois")


def _incidents(s: Settings, _filters: StopFilter | None, _cell: float) -> gpd.GeoDataFrame:
    return build.points_with_units(s, layer="incidents")


def _division_units(s: Settings, _cell: float) -> gpd.GeoDataFrame:
    return build.divisions(s)[["division", "geometry"]]


def _npa_units(s: Settings, _cell: float) -> gpd.GeoDataFrame:
    return build.npa(s)[["npa", "geometry"]]


def _hexagon_units(s: Settings, cell: float) -> gpd.GeoDataFrame:
    return _hexagons(s, None, cell)


def _hexagons(s: Settings, _filters: StopFilter | None, cell: float) -> gpd.GeoDataFrame:
    cells = hexagon_grid(build.npa(s), cell_size=cell).cells[["cell_id", "x", "y", "geometry"]]
    types = cells.geom_type
    if types.isin(["Polygon", "MultiPolygon"]).all():
        return cells
    # clipping to the county can leave slivers of lines beside the polygons: keep the polygons
    return cells.set_geometry(gpd.GeoSeries([polygonal(g) for g in cells.geometry], index=cells.index, crs=cells.crs))


CATALOG: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in (
        LayerSpec(
            "divisions",
            "Divisions (stops, population, shootings)",
            "One row per CMPD patrol division (all 14; Airport with zero stops): stop outcomes by driver group, "
            "2020 population by race apportioned from the NPAs, stops per 1,000 residents, shootings.",
            "division",
            "polygons",
            ("stops", "division_base"),
            True,
            frozenset({"export", "hotspots", "aggregate"}),
            _divisions,
            _division_units,
        ),
        LayerSpec(
            "npa",
            "Neighborhoods / NPAs (population, crime by year)",
            "One row per Quality of Life neighborhood profile area (459): population by race, crime counts and "
            "rates by fiscal year, incident and shooting counts, the division covering most of it.",
            "npa",
            "polygons",
            ("npa_layer",),
            False,
            frozenset({"export", "hotspots", "aggregate"}),
            _npa,
            _npa_units,
        ),
        LayerSpec(
            "ois",
            "Officer-involved shootings (points)",
            "One row per officer-involved shooting incident 2005-2018, with the NPA and division it falls in.",
            "incident_id",
            "points",
            ("ois", "npa", "divisions"),
            False,
            frozenset({"export"}),
            _ois,
        ),
        LayerSpec(
            "incidents",
            "Incident points",
            "One row per incident point, with the NPA and division it falls in: the whole CMPD incident layer "
            "when fetched, else the even 1-in-61 sample of 2017-2026 (see layer_source); hot-spot analyses "
            "count them in hexagons.",
            "incident_id",
            "points",
            ("incidents", "npa", "divisions"),
            False,
            frozenset({"export", "hotspots"}),
            _incidents,
        ),
        LayerSpec(
            "hex",
            "Hexagon grid over the county",
            "Hexagons over Mecklenburg County (the union of the NPAs), clipped to it; cell size in feet.",
            "cell_id",
            "polygons",
            ("npa",),
            False,
            frozenset({"aggregate"}),
            _hexagons,
            _hexagon_units,
        ),
    )
}


def layer_names(use: Use | None = None) -> tuple[str, ...]:
    """The catalogue's layer names, optionally only those offered for ``use``."""
    return tuple(n for n, spec in CATALOG.items() if use is None or use in spec.uses)


def layer_spec(name: str) -> LayerSpec:
    """The :class:`LayerSpec` of ``name``.

    Raises
    ------
    ValueDomainError
        Unknown name; the message lists the known ones.
    """
    if name not in CATALOG:
        raise ValueDomainError(f"Unknown layer {name!r}; choose one of {', '.join(CATALOG)}.")
    return CATALOG[name]


def get_layer(
    name: str,
    *,
    settings: Settings | None = None,
    filters: StopFilter | None = None,
    cell_size: float = DEFAULT_CELL_SIZE,
) -> gpd.GeoDataFrame:
    """Build the named layer with all its attributes (EPSG:2264); a new frame each call.

    Parameters
    ----------
    name
        A name of :data:`CATALOG`.
    settings
        Settings (data and cache folders); by default from the environment.
    filters
        Which stops count, for layers with ``stop_filters``; ignored by the others.
    cell_size
        Hexagon spacing in feet, for ``hex``.
    """
    spec = layer_spec(name)
    s = settings if settings is not None else get_settings()
    return spec.builder(s, filters if spec.stop_filters else None, float(cell_size))


def get_units(name: str, *, settings: Settings | None = None, cell_size: float = DEFAULT_CELL_SIZE) -> gpd.GeoDataFrame:
    """The units of a polygon layer: its ``id_column`` and geometry only (EPSG:2264).

    Raises
    ------
    ValueDomainError
        Unknown layer, or a layer of points.
    """
    spec = layer_spec(name)
    if spec.units is None:
        raise ValueDomainError(
            f"Layer {name!r} is not a layer of polygons; choose one of {', '.join(layer_names('aggregate'))}."
        )
    return spec.units(settings if settings is not None else get_settings(), float(cell_size))


def layer_source(name: str, *, settings: Settings | None = None) -> build.IncidentSource | None:
    """Which data the points of layer ``name`` come from, when that varies (``incidents``); ``None`` otherwise.

    The built layer carries the same in ``attrs`` (``source``, ``source_label``, ``caveat``).

    Raises
    ------
    ValueDomainError
        Unknown layer.
    DataFileError
        ``incidents`` with no incident file at all (the message names the command that gets one).
    """
    layer_spec(name)
    if name != "incidents":
        return None
    return build.incident_source(settings if settings is not None else get_settings())


def layer_caveat(name: str, *, settings: Settings | None = None) -> str | None:
    """What layer ``name``'s points can and cannot say (the 1-in-61 sample, the first page), or ``None``."""
    src = layer_source(name, settings=settings)
    return src.caveat if src is not None else None


def cache_key(name: str, *, settings: Settings | None = None, filters: StopFilter | None = None) -> str:
    """A key that changes whenever the layer would: its input files, the filter, the CRS, the code.

    The files are named by path, size and modification time; the code by
    :data:`geo.__version__` and the cache version of :mod:`geo.ingest.cache`.
    """
    spec = layer_spec(name)
    s = settings if settings is not None else get_settings()
    h = hashlib.sha256(f"{geo.__version__}|{CACHE_VERSION}|{name}|{s.analysis_crs}".encode())
    if spec.stop_filters and filters is not None and filters.steps():
        h.update(filters.describe().encode())
    for entry in spec.inputs:
        for p in build.input_files(s, entry, optional=True):
            st = os.stat(p)
            h.update(f"|{p.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:20]
