"""Shared pieces of the Streamlit pages: cached data, the sidebar filters, error display.

Pages only wire widgets to :mod:`geo` functions; everything computed lives in ``geo``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from geo.errors import GeoDataError
from geo.layers import build
from geo.settings import get_settings
from geo.text import escape_md

FILTER_KEYS = ("f_period", "f_reasons", "f_genders", "f_ages", "f_divisions")


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


def text(value: object) -> str:
    """Escape text from the data for st.markdown (see :func:`geo.text.escape_md`)."""
    return escape_md(value)


# --------------------------------------------------------------------------- data


@st.cache_data(show_spinner="Loading the stops ...")
def stops() -> pd.DataFrame:
    return build.stops(get_settings())


@st.cache_data(show_spinner="Loading the neighborhoods ...")
def npa_layer() -> gpd.GeoDataFrame:
    return build.npa_layer(get_settings())


@st.cache_data(show_spinner="Loading the divisions ...")
def division_base() -> gpd.GeoDataFrame:
    return build.division_base(get_settings())


@st.cache_data(show_spinner="Apportioning population to divisions ...")
def division_population() -> pd.DataFrame:
    """2020 population by race per division (areal-weighted from NPAs)."""
    return build.division_population(get_settings())[0]


@st.cache_data(show_spinner=False)
def division_layer(filters: tuple[tuple[str, Any], ...]) -> gpd.GeoDataFrame:
    """Division layer counting the stops left by the sidebar filters."""
    return build.division_layer(get_settings(), stops_frame=filtered_stops(filters))


@st.cache_data(show_spinner=False)
def filtered_stops(filters: tuple[tuple[str, Any], ...]) -> pd.DataFrame:
    from geo.layers.filters import filter_stops

    return filter_stops(stops(), **dict(filters))


@st.cache_data(show_spinner="Checking the data ...")
def reports() -> list[dict]:
    return [r.to_dict() for r in build.reports(get_settings())]


@st.cache_data(show_spinner=False)
def ois() -> gpd.GeoDataFrame:
    return build.points_with_units(get_settings(), layer="ois")


@st.cache_data(show_spinner=False)
def incidents() -> gpd.GeoDataFrame:
    return build.points_with_units(get_settings(), layer="incidents")


# --------------------------------------------------------------------------- filters


def sidebar_filters() -> None:
    """Draw the stop filters in the sidebar; their values live in session state."""
    s = stops()
    months = sorted(s["month"].dropna().dt.strftime("%Y-%m").unique())
    with st.sidebar:
        st.header("Stop filters")
        st.caption("Apply to every stop-based figure (maps, disparities). Neighborhood data is not filtered.")
        if months:
            st.select_slider("Period", options=months, value=(months[0], months[-1]), key="f_period")
        st.multiselect("Reason for stop", list(s["reason"].cat.categories), key="f_reasons", placeholder="All reasons")
        st.multiselect("Driver gender", list(s["driver_gender"].cat.categories), key="f_genders", placeholder="All")
        st.multiselect("Driver age band", list(s["age_band"].cat.categories), key="f_ages", placeholder="All ages")
        st.multiselect("Division", list(s["division"].cat.categories), key="f_divisions", placeholder="All divisions")


def current_filters() -> tuple[tuple[str, Any], ...]:
    """The sidebar filters as a hashable tuple of keyword arguments for ``filter_stops``."""
    ss = st.session_state
    out: list[tuple[str, Any]] = []
    period = ss.get("f_period")
    if period:
        out += [("start", period[0]), ("end", period[1])]
    for key, name in (("f_reasons", "reasons"), ("f_genders", "driver_genders"), ("f_ages", "age_bands"), ("f_divisions", "divisions")):
        if ss.get(key):
            out.append((name, tuple(ss[key])))
    return tuple(out)


def describe_filters(filters: tuple[tuple[str, Any], ...]) -> str:
    """Plain words for the active filters."""
    if not filters:
        return "all stops"
    d = dict(filters)
    parts = []
    if "start" in d:
        parts.append(f"{d['start']} to {d['end']}")
    for key, label in (("reasons", "reason"), ("driver_genders", "driver gender"), ("age_bands", "age"), ("divisions", "division")):
        if key in d:
            parts.append(f"{label}: {', '.join(d[key])}")
    return "; ".join(parts)


# --------------------------------------------------------------------------- maps


def show_map(m: Any, *, key: str, height: int = 560, returned_objects: list[str] | None = None) -> dict:
    """Show a folium map; return only the objects the page asks for (none by default).

    Returning no objects means panning and zooming never rerun the script.
    """
    from streamlit_folium import st_folium

    out = st_folium(m, key=key, height=height, use_container_width=True, returned_objects=returned_objects or [])
    return out or {}
