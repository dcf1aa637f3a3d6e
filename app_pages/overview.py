"""The landing page: what the app is for, a place search, the current hot-spot map and the headline disparity.

It answers first: the title, the purpose and the search box are drawn before anything slow is imported
or computed (the map library, the place index); data coverage and the row report are on the Data page.
Picking a search result, or clicking an area of the map, opens that NPA on the neighborhood page.

The map is the same for every user: it is built once per process (:func:`_landing_map`) and each
run shows a copy. :func:`warm` computes what the page needs while the server starts (tools/serve.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

import app_pages
from app_pages import common, url_state
from geo.caveats import CENSUS_DRIVER_GROUPS, RATIO_CAVEAT
from geo.errors import GeoDataError
from geo.layers.filters import StopFilter

# geo.analysis.disparity, the map library and the neighborhood page are imported where they are used:
# each takes seconds to import (scipy, mapclassify), and the title and the search box come first.

NEIGHBORHOOD_PAGE = "app_pages/neighborhood.py"
#: The headline: this group's search rate against the reference group's (geo's default reference for driver groups).
HEADLINE_GROUP = "Black"
#: (page, link text, what it answers) for the links beside the map.
LINKS = (
    ("app_pages/neighborhood.py", "Your neighborhood", "One area in plain words, found by name, ZIP code or road."),
    ("app_pages/hotspots.py", "Hot spots", "Where crime clusters, with every choice of the analysis open."),
    ("app_pages/disparities.py", "Disparities", "Stop, search and arrest rates by driver and officer group."),
    ("app_pages/use_of_force.py", "Use of force", "Officer-involved shootings and the state's tables."),
    ("app_pages/map_explorer.py", "Map explorer", "Any variable of the divisions and neighborhoods."),
    ("app_pages/data.py", "Data coverage", "Every file, and what happened to every row."),
    ("app_pages/methods.py", "Methods and data", "How each number is made."),
)
PURPOSE = (
    "Open data from the Charlotte-Mecklenburg Police Department (traffic stops, incidents, officer-involved "
    "shootings) and the Quality of Life Explorer, checked row by row and joined to police divisions and "
    "neighborhood profile areas (NPAs): where crime clusters, and how the police's traffic stops and searches "
    "differ between groups of drivers. Find your neighborhood below, or use the pages on the left; the sidebar "
    "filters apply to every stop-based figure."
)


# --------------------------------------------------------------------------- search


def _open(npa_id: int, *, query: str = "", place: str | None = None) -> None:
    """Show NPA ``npa_id`` on the neighborhood page (with the search that found it)."""
    params = {"npa": str(npa_id)}
    if query:
        params["q"] = query
    if place:
        params["place"] = place
    url_state.switch_page(NEIGHBORHOOD_PAGE, params)  # one history entry: the neighbourhood page's


def _search() -> None:
    """The place search: each match is a button that opens its first NPA on the neighborhood page."""
    q = st.text_input(
        "Find a place",
        key="ov_q",
        placeholder="A neighbourhood, ZIP code, road, school, park or NPA number, e.g. Plaza Midwood, 28205",
        help="Opens the neighborhood page with the NPAs that the place covers.",
    ).strip()
    if not q:
        return
    from app_pages import neighborhood  # here, not at the top: the map library it loads takes seconds

    matches = neighborhood.find_places(q)
    if not matches:
        st.info(neighborhood.no_match_text(q))
        return
    for i, m in enumerate(matches):
        if st.button(common.text(neighborhood.match_label(m)), key=f"ov_match_{i}", icon=":material/place:"):
            _open(m.npa_ids[0], query=q, place=m.place.key)


# --------------------------------------------------------------------------- headline figure


@common.data_cache(show_spinner=False, max_entries=32)
def _search_ratio(filters: StopFilter) -> pd.DataFrame:
    """Search rates by driver group against the reference group, citywide, for the stops left by ``filters``."""
    from geo.analysis import disparity

    return disparity.rates(common.stops(), outcome="search", by="driver_group", filters=filters)


def _headline() -> None:
    """The headline disparity: one group's search rate against the reference group's, with its 95 % interval."""
    filters = common.current_filters()
    try:
        table = _search_ratio(filters)
    except GeoDataError as exc:
        st.info(f"No headline figure for these filters: {common.text(exc)}")
        return
    rows = table.set_index("group")
    ref_group = str(table["reference"].dropna().iloc[0]) if table["reference"].notna().any() else ""
    reference = common.text(ref_group or "the reference")
    if HEADLINE_GROUP not in rows.index or ref_group not in rows.index:
        st.info(f"The stop filters leave no stops of {HEADLINE_GROUP} or of {reference} drivers to compare.")
        return
    g, ref = rows.loc[HEADLINE_GROUP], rows.loc[ref_group]
    label = f"Searches: {HEADLINE_GROUP} drivers against {reference} drivers"
    if pd.isna(g["ratio"]):
        st.metric(label, "no ratio", help=RATIO_CAVEAT)
        st.caption(f"{reference} drivers have no searches under these filters: there is no ratio.")
        return
    st.metric(label, f"{g['ratio']:.2f}×", help=RATIO_CAVEAT)
    interval = (
        f"95% interval {g['ratio_lo']:.2f}× to {g['ratio_hi']:.2f}×" if pd.notna(g["ratio_lo"]) else "no interval"
    )
    st.markdown(
        f"**{interval}.** {HEADLINE_GROUP} drivers' stops led to a search {g['ratio']:.1f} times as often as "
        f"{reference} drivers': {int(g['count']):,} searches in {int(g['denominator']):,} stops "
        f"({g['rate']:.1%}) against {int(ref['count']):,} in {int(ref['denominator']):,} ({ref['rate']:.1%})."
    )
    st.caption(
        f"{common.text(common.describe_filters(filters))}. Not adjusted for where, when or why drivers were stopped "
        f"(see the Disparities page). {CENSUS_DRIVER_GROUPS}"
    )


# --------------------------------------------------------------------------- map


@common.data_cache(resource=True, show_spinner=False, max_entries=2)
def _landing_map(year: int) -> Any:
    """The hot-spot map of ``year``, the same for every user: built once per process, copied to be shown."""
    from app_pages import neighborhood  # the map library takes seconds to import: after the first paint
    from geo.maps import draw, palettes

    npa = common.npa_layer()
    frame = npa[["npa", "pop_2020", "geometry"]].merge(neighborhood.hotspots(year), on="npa", how="left")
    frame.index = frame["npa"].astype(str)
    frame["label"] = "NPA " + frame["npa"].astype(str)
    return draw.categorical_map(
        frame,
        "cluster",
        colors=palettes.LISA_COLORS,
        name_field="label",
        name_alias="Neighborhood",
        tooltip_fields=["violent_rate"],
        tooltip_aliases=[f"Violent crimes per 1,000 ({year})"],
        tooltip_formats={"violent_rate": "{:,.1f}"},
        legend_title=f"Violent-crime hot spots, {year}",
        unknown="missing",
        outline=common.division_base(),
    )


def _latest_year() -> int:
    from app_pages import neighborhood

    return int(neighborhood.latest_year(common.npa_layer()))


def _hotspot_map() -> None:
    """The current violent-crime hot spots of the NPAs (small, no reference layers: it must come quickly)."""
    year = _latest_year()
    st.subheader(f"Violent-crime hot spots, {year}")
    m = common.copy_map(_landing_map(year))
    out = common.show_map(m, key="ov_map", height=420, returned_objects=["last_active_drawing"])
    clicked = (out.get("last_active_drawing") or {}).get("id")
    if clicked is not None and str(clicked) != st.session_state.get("ov_last_click"):
        st.session_state["ov_last_click"] = str(clicked)
        if str(clicked).isdigit():
            _open(int(clicked))
    st.caption(
        "Hot and cold spots of the violent-crime rate per 1,000 residents (local Moran's I, empirically "
        "Bayes-standardised, false-discovery-rate corrected). Click an area to open it on the neighborhood page."
    )


def _links() -> None:
    st.subheader("Where to next")
    for path, label, what in LINKS:
        st.page_link(path, label=label)
        st.caption(what)


def page() -> None:
    """The landing page: purpose, search, the headline disparity, the hot-spot map, links, caveats."""
    app_pages.heading("app_pages/overview.py")
    st.write(PURPOSE)
    _search()
    left, right = st.columns([2, 3])  # on a phone the headline comes first, then the map
    with left:
        st.subheader("Traffic-stop searches")
        common.section(_headline)
    with right:
        _hotspot_map()
    with left:
        _links()
    with st.expander("What these numbers can and cannot say"):
        common.caveats()
    from app_pages import neighborhood

    neighborhood.place_index()  # build the search index now, after the page is drawn, so a search answers at once


def warm(keep_going: Callable[[], bool] = lambda: True) -> None:
    """Fill this process's caches with what the landing page needs, in the order it draws it.

    ``keep_going`` is asked before each step; warming stops at the first ``False`` (tools/serve.py
    stops once a session's script runs: from then on the warm-up would only compete with it).

    ``tools/serve.py`` calls this in a thread while the server starts and the browser loads
    Streamlit's scripts: the stops and the sidebar's options, the headline for the default filters,
    the map library, the landing map, the place index (from the on-disk cache), then the reference
    layers every other map draws and the division layer of the default filters. A page that needs a
    value being computed waits for it (Streamlit holds a lock per cached value) instead of computing
    it again. ``streamlit_folium`` is left to the page: its component is registered only when it is
    first imported in a session's script run.
    """
    default = common.default_filters()  # what the sidebar's first run computes

    def landing_map() -> None:
        from app_pages import neighborhood  # folium, mapclassify, the statistics

        _landing_map(_latest_year())
        neighborhood.place_index()

    steps = (
        lambda: _search_ratio(default),
        landing_map,
        common.reference_layers,  # then what the other map pages share
        lambda: common.division_layer(default),
    )
    for step in steps:
        if not keep_going():
            return
        step()


if __name__ == "__main__":
    # run this file's functions as the module ``app_pages.overview``: their caches are then the ones
    # that :func:`warm` fills (a page script runs as ``__main__``, whose caches are its own)
    from app_pages import overview

    common.guarded(overview.page)()
