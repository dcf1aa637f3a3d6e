"""Shared pieces of the Streamlit pages: cached data, the sidebar filters, error display.

Pages only wire widgets to :mod:`geo` functions; everything computed lives in ``geo``.

Importing this module is quick: geopandas and :mod:`geo.layers.build` (seconds to import) are
imported by the functions that load data, and the sidebar's months and categories are computed
once (:func:`_filter_options`), not on every run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import streamlit as st

from app_pages import url_state
from app_pages.url_state import Param
from geo.caveats import CAVEATS
from geo.errors import GeoDataError
from geo.layers.filters import StopFilter
from geo.settings import get_settings
from geo.text import escape_md

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from geo.layers.build import IncidentSource


#: Shown instead of the page when the stops cannot be loaded (``{exc}``: the error).
def data_problem(exc: BaseException) -> str:
    """What to show when the data behind every page cannot be loaded: the cause and its own fix, escaped.

    The project's errors already name the file and the command that mends it (a missing data set:
    ``python -m geo fetch``; a bad setting: the setting). Anything else is unexpected: say what it
    was and how to find the file at fault, not a fix that would not help.
    """
    if isinstance(exc, GeoDataError):
        return f"The data could not be loaded: {escape_md(exc)}"
    return (
        f"The data could not be loaded ({type(exc).__name__}: {escape_md(exc)}). "
        "`python -m geo report` names the file and rows at fault; damaged cache files are rebuilt by themselves, "
        "and `python -m geo cache clear` starts the cache afresh."
    )


# --------------------------------------------------------------------------- errors


def guarded(page: Callable[[], None]) -> Callable[[], None]:
    """Run a page, turning any error into a message on the page (never a traceback)."""

    @functools.wraps(page)
    def run() -> None:
        try:
            page()
        except GeoDataError as exc:  # messages may quote values from the data: escape them
            st.error(text(exc))
        except Exception as exc:  # last resort: say what failed, no traceback
            st.error(
                f"Something went wrong on this page ({type(exc).__name__}: {text(exc)}). "
                "The rest of the app still works; please report this with what you clicked."
            )

    return run


def section(fn: Callable[..., None], *args: Any) -> None:
    """Run one section of a page; a data problem (e.g. a group with no stops) becomes a warning there."""
    try:
        fn(*args)
    except GeoDataError as exc:
        st.warning(text(exc))


def notes(items: list[str], *, label: str = "Notes on the data behind this table") -> None:
    """Notes from a geo result (what was left out, bucketed or flagged), escaped, in an expander."""
    if items:
        with st.expander(label):
            for n in items:
                st.markdown(f"- {text(n)}")


def caveats() -> None:
    """Every caveat of :data:`geo.caveats.CAVEATS`, titled."""
    for title, body in CAVEATS.items():
        st.markdown(f"**{title}.** {body}")


def text(value: object) -> str:
    """Escape text from the data for st.markdown (see :func:`geo.text.escape_md`)."""
    return escape_md(value)


# --------------------------------------------------------------------------- data


def data_key() -> str:
    """The data folder behind this run and its manifest's time, as a cache key.

    Another folder or a new fetch then gives new results instead of the cached ones of the data seen first.
    """
    from pathlib import Path

    s = get_settings()
    manifest = Path(s.data_dir) / "manifest.json"
    stamp = manifest.stat().st_mtime_ns if manifest.exists() else 0
    return f"{s.data_dir}|{s.cache_dir}|{stamp}"


def data_cache(*, resource: bool = False, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``st.cache_data`` (``resource=True``: ``st.cache_resource``) keyed by :func:`data_key` as well.

    Streamlit's caches live as long as the process and know only a function's arguments: without
    the data folder in the key, a second folder (or a new fetch) would get the results of the first.
    ``options`` go to Streamlit (``show_spinner``, ``max_entries``, ``ttl``).

    Examples
    --------
    >>> @common.data_cache(show_spinner="Loading ...")  # doctest: +SKIP
    ... def clearance_frame() -> pd.DataFrame:
    ...     return records.clearance(get_settings())
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        def keyed(data: str, *args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

        # Streamlit names a cache by module and qualified name: each function keeps its own
        keyed.__module__, keyed.__qualname__, keyed.__name__ = fn.__module__, fn.__qualname__, fn.__name__
        cached = (st.cache_resource if resource else st.cache_data)(**options)(keyed)

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            return cached(data_key(), *args, **kwargs)

        call.clear = cached.clear  # type: ignore[attr-defined]
        return call

    return decorate


def _stops_key() -> str:
    """The stops file behind the data folder (path, size, modification time): a new download changes it.

    Keys the caches of :func:`stops` and the sidebar's months, so a stops file of any span that
    replaces the one there (a newer portal download, a checked file) is used without a restart.
    """
    from geo.ingest.sources import resolve

    s = get_settings()
    try:
        p = resolve("stops", s.data_dir)
    except GeoDataError:
        return f"{s.data_dir}|missing"
    st_ = p.stat()
    return f"{p.resolve()}|{st_.st_size}|{st_.st_mtime_ns}"


@st.cache_data(show_spinner="Loading the stops ...", max_entries=2)
def _stops(key: str) -> pd.DataFrame:
    """The stops of the file ``key`` names (:func:`_stops_key`)."""
    from geo.layers import build

    return build.stops(get_settings())


def stops() -> pd.DataFrame:
    """The clean stops frame (see :func:`geo.ingest.stops.load_stops`), whatever months the file holds."""
    return _stops(_stops_key())


@st.cache_data(show_spinner="Loading the layer ...", max_entries=32)
def _layer(name: str, filters: StopFilter, key: str) -> gpd.GeoDataFrame:
    """One layer of the catalogue; ``key`` (:func:`geo.layers.catalog.cache_key`) changes with its input files."""
    from geo.layers import catalog

    return catalog.get_layer(name, settings=get_settings(), filters=filters)


def layer(name: str, filters: StopFilter | None = None) -> gpd.GeoDataFrame:
    """A layer of :data:`geo.layers.catalog.CATALOG`, cached per stop filter (ignored by layers it does not change)."""
    from geo.layers import catalog

    s = get_settings()
    f = filters if filters is not None and catalog.layer_spec(name).stop_filters else StopFilter()
    return _layer(name, f, catalog.cache_key(name, settings=s, filters=f))


def npa_layer() -> gpd.GeoDataFrame:
    """The NPA layer (see :func:`geo.layers.build.npa_layer`)."""
    return layer("npa")


def division_layer(filters: StopFilter) -> gpd.GeoDataFrame:
    """The division layer counting the stops left by ``filters``."""
    return layer("divisions", filters)


def ois() -> gpd.GeoDataFrame:
    """Officer-involved shootings with the NPA and division of each."""
    return layer("ois")


def incidents() -> gpd.GeoDataFrame:
    """The incident points with the NPA and division of each; ``attrs`` name their source (see :func:`incident_source`)."""
    return layer("incidents")


def incident_source() -> IncidentSource | None:
    """Where the incident points come from (the whole layer, the 1-in-61 sample, the first page); ``None`` if nowhere."""
    from geo.layers import catalog

    try:
        return catalog.layer_source("incidents", settings=get_settings())
    except GeoDataError:
        return None


def incident_caption() -> None:
    """Say which incident points a figure counts, with their caveat, or which files are missing and how to get them."""
    from geo.layers import build

    src = incident_source()
    if src is None:
        try:
            build.incident_source(get_settings())
        except GeoDataError as exc:
            st.warning(text(exc))
        return
    st.caption(f"Incident points: {text(src.label)}." + (f" {text(src.caveat)}" if src.caveat else ""))


@data_cache(show_spinner="Loading the incident points ...")
def incident_points() -> gpd.GeoDataFrame:
    """The 2017-2026 incident point sample (EPSG:2264) with ``month`` and ``category`` (see ``records.SAMPLE_NOTE``)."""
    from geo.layers import records

    return records.incident_points(get_settings())


@data_cache(show_spinner="Loading the county boundary ...")
def county() -> gpd.GeoDataFrame:
    """The county as the NPAs (EPSG:2264): the boundary of the hexagon grids."""
    from geo.layers import build

    return build.npa(get_settings())[["npa", "geometry"]]


@data_cache(show_spinner="Loading the divisions ...")
def division_base() -> gpd.GeoDataFrame:
    """Divisions with what does not depend on the stops (see :func:`geo.layers.build.division_base`)."""
    from geo.layers import build

    return build.division_base(get_settings())


@data_cache(show_spinner="Apportioning population to divisions ...")
def division_population() -> pd.DataFrame:
    """2020 population by race per division (areal-weighted from NPAs)."""
    from geo.layers import build

    return build.division_population(get_settings())[0]


@data_cache(show_spinner=False, max_entries=16)  # about 9 MB per filter
def filtered_stops(filters: StopFilter) -> pd.DataFrame:
    """The stops left by ``filters``."""
    return filters.apply(stops())


@data_cache(show_spinner="Checking the data ...")
def reports() -> list[dict[str, Any]]:
    """Every loader's row report, as dictionaries."""
    from geo.layers import build

    return [r.to_dict() for r in build.reports(get_settings())]


# --------------------------------------------------------------------------- filters


@st.cache_data(show_spinner=False, max_entries=2)
def _filter_options(key: str) -> tuple[list[str], dict[str, list[str]]]:
    """The months with stops ("YYYY-MM", sorted: the span the file holds) and each filter's categories.

    Computed once per stops file (``key``: :func:`_stops_key`), not on every run.
    """
    s = stops()
    months = sorted(s["month"].dropna().dt.strftime("%Y-%m").unique())
    return months, {k: list(s[c].cat.categories) for k, c in _FILTER_COLUMNS.items()}


def _filter_params(months: list[str], cats: dict[str, list[str]]) -> tuple[Param, ...]:
    """The stop filters' URL parameters (left out of the URL while a filter is at its default)."""
    return (
        Param("f_period", "period", options=months, pair=True, omit=(months[0], months[-1]) if months else None),
        *(Param(k, name, options=cats[k], multi=True, omit=[]) for k, name in _FILTER_NAMES.items()),
    )


_FILTER_COLUMNS = {"f_reasons": "reason", "f_genders": "driver_gender", "f_ages": "age_band", "f_divisions": "division"}
_FILTER_NAMES = {"f_reasons": "reason", "f_genders": "gender", "f_ages": "age", "f_divisions": "division"}


def _reset_filters() -> None:
    """Back to every stop (a button callback: runs before the widgets are drawn)."""
    st.session_state.pop("f_period", None)  # the slider then takes its default range (all months)
    for key in _FILTER_COLUMNS:
        st.session_state[key] = []


def sidebar_filters(*, applies: bool = True) -> None:
    """Draw the stop filters in the sidebar; their values live in session state and in the URL.

    ``applies=False`` (a page that shows no stop figure) keeps the filters but says
    they do not change this page.
    """
    months, cats = _filter_options(_stops_key())
    params = _filter_params(months, cats)
    url_state.restore(params, keep=False)
    with st.sidebar:
        st.header("Stop filters")
        if applies:
            st.caption("Apply to every stop-based figure (maps, disparities). Neighborhood data is not filtered.")
        else:
            st.caption("These filters apply to the stop figures of other pages; they do not change this page.")
        if months:
            st.select_slider(
                "Period",
                options=months,
                key="f_period",
                **url_state.default("f_period", (months[0], months[-1]), always=True),
            )
        st.multiselect("Reason for stop", cats["f_reasons"], key="f_reasons", placeholder="All reasons")
        st.multiselect("Driver gender", cats["f_genders"], key="f_genders", placeholder="All")
        st.multiselect("Driver age band", cats["f_ages"], key="f_ages", placeholder="All ages")
        st.multiselect("Division", cats["f_divisions"], key="f_divisions", placeholder="All divisions")
        st.button("Reset the filters", key="f_reset", on_click=_reset_filters)
    url_state.store(params)


def current_filters() -> StopFilter:
    """The sidebar filters as a :class:`~geo.layers.filters.StopFilter` (hashable: it keys the caches)."""
    ss = st.session_state
    period = ss.get("f_period") or (None, None)
    return StopFilter(
        start=period[0],
        end=period[1],
        reasons=tuple(ss.get("f_reasons") or ()),
        driver_genders=tuple(ss.get("f_genders") or ()),
        age_bands=tuple(ss.get("f_ages") or ()),
        divisions=tuple(ss.get("f_divisions") or ()),
    )


def default_filters() -> StopFilter:
    """The sidebar's filters before anyone changes them: the whole period, nothing else (what a first visit sees)."""
    months, _ = _filter_options(_stops_key())
    return StopFilter(start=months[0], end=months[-1]) if months else StopFilter()


def describe_filters(filters: StopFilter) -> str:
    """Plain words for the active filters, as the sidebar shows them."""
    parts = []
    if filters.start:
        parts.append(f"{filters.start} to {filters.end}")
    for values, label in (
        (filters.reasons, "reason"),
        (filters.driver_genders, "driver gender"),
        (filters.age_bands, "age"),
        (filters.divisions, "division"),
    ):
        if values:
            parts.append(f"{label}: {', '.join(values)}")
    return "; ".join(parts) or "all stops"


# --------------------------------------------------------------------------- maps


def show_map(
    m: Any,
    *,
    key: str,
    height: int = 560,
    returned_objects: list[str] | None = None,
    feature_group_to_add: Any = None,
    render: bool = True,
) -> dict:
    """Show a folium map; return only the objects the page asks for (none by default).

    Returning no objects means panning and zooming never rerun the script. ``feature_group_to_add``
    (a ``folium.FeatureGroup``, e.g. :func:`geo.maps.overlays.selection_outline`) is drawn onto the map
    the browser keeps, so changing it never reloads the map. ``render=False`` skips the whole-page render
    that ``st_folium`` does not need for a map it renders itself.
    """
    from streamlit_folium import st_folium

    out = st_folium(
        m,
        key=key,
        height=height,
        use_container_width=True,
        returned_objects=returned_objects or [],
        feature_group_to_add=feature_group_to_add,
        render=render,
    )
    return out or {}


def copy_map(base: Any) -> Any:
    """A copy of a cached (shared) folium map to change and show, sharing its read-only GeoJSON data.

    ``st_folium`` and the pages add to the map they render: a map cached for every session is
    never shown itself. Copying the GeoJSON data (most of the map) is what would be slow.
    """
    import copy

    shared, todo = {}, [base]
    while todo:
        el = todo.pop()
        if isinstance(getattr(el, "data", None), dict):
            shared[id(el.data)] = el.data
        todo.extend(getattr(el, "_children", {}).values())
    return copy.deepcopy(base, memo=shared)


@data_cache(resource=True, show_spinner="Drawing the roads and other reference layers ...")
def reference_layers() -> Any:
    """The reference layers for every map, drawn once: a :class:`geo.maps.draw.MapReference` for ``reference=``.

    A resource, not data: every map copies the drawn roads, rail, greenways, ZIP codes, divisions
    and landmarks. Layers whose files are missing are left out. Show
    :data:`geo.caveats.REFERENCE_LAYERS_2013` with them.
    """
    from geo.layers import build, prepared
    from geo.maps.draw import MapReference

    s = get_settings()
    layers, _ = prepared.reference_layers(s)  # GeoParquet from the on-disk cache unless a file changed
    return MapReference(layers, divisions=build.division_base(s))
