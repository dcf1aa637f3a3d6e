"""Neighborhood view, for community groups: find a place by name, see the NPAs it covers, one NPA in plain words.

One search box takes a ZIP code, a town, a council district, a historic district, a landmark (school, park,
library, police station, hospital, college, town hall), a road or an NPA number
(:class:`geo.layers.places.PlaceIndex`). The NPAs of the chosen match are outlined (dashed) and the map zooms
to them; the chosen NPA is outlined in solid black and described by the card. A click on the map still picks an
NPA. The search (``q``), the chosen match (``place``) and the NPA (``npa``) are in the address bar, so a shared
link reopens the same view.

The map is the same every run (NPAs coloured by hot spot, the reference layers: built once, copied per run),
so the browser keeps the one it has drawn; what changes, the match's outlines, the zoom to them (once per
search) and the chosen NPA's outline, comes as a feature group drawn onto it (``feature_group_to_add``). A
search, a pick from the list or a click reruns only the part of the page below the title (a fragment).
"""

from __future__ import annotations

import hashlib

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st

import app_pages
from app_pages import common, report_section, url_state
from app_pages.url_state import Param
from geo.analysis.neighborhood import npa_hotspots
from geo.caveats import NPA_NOT_NEIGHBORHOOD, REFERENCE_LAYERS_2013
from geo.layers import catalog, prepared
from geo.layers.filters import StopFilter
from geo.layers.places import PlaceIndex, PlaceMatch
from geo.maps import draw, overlays, palettes
from geo.maps.geometry import simplify_for_display
from geo.output.narrative import neighborhood_card
from geo.output.report_build import neighborhood_report
from geo.settings import get_settings

__all__ = ["page", "place_index", "npa_labels", "find_places", "match_label", "hotspots"]

#: At most this many matches are listed; a query is at most this long.
MATCH_LIMIT = 8
MAX_QUERY = 100
SEARCH_LABEL = "Find a place"
SEARCH_PLACEHOLDER = "A neighbourhood, ZIP code, road, school, park or NPA number, e.g. Plaza Midwood, 28205, Monroe Rd"
SEARCH_HELP = (
    "ZIP codes, towns, council and county commission districts, police divisions, historic districts and "
    "neighbourhood names, schools, parks, libraries, police stations, hospitals, colleges, town halls, main roads, "
    "greenways, and NPA numbers. Names are matched without regard to case, punctuation or abbreviations."
)
#: Plain names of the place kinds (the others are shown as they are, capitalised).
KIND_NAMES = {"npa": "NPA", "zip": "ZIP code"}
#: The outline of every NPA of the match (dashed); the chosen NPA is outlined as every page outlines a selection.
MATCH_STYLE = overlays.DASHED_OUTLINE_STYLE
MAP_KEY = "nb_map"


# --------------------------------------------------------------------------- cached data


@common.data_cache(ttl=30, show_spinner=False)
def _version() -> str:
    """The data version: a new fetch of the input files gives new cached indexes and maps (checked every 30 s)."""
    s = get_settings()
    return f"{s.data_dir}|{catalog.cache_key('npa', settings=s)}"


@common.data_cache(resource=True, show_spinner="Indexing place names ...", max_entries=2)
def _places(version: str) -> tuple[PlaceIndex, dict[int, str]]:
    index = prepared.place_index(get_settings())  # from the on-disk cache unless an input file changed
    ids = sorted(n for p in index.places if p.kind == "npa" for n in p.npa_ids)
    return index, {n: _npa_label(index, n) for n in ids}


def place_index() -> PlaceIndex:
    """The place-name index (read from the on-disk cache once per data version; shared, never changed)."""
    return _places(_version())[0]


def npa_labels() -> dict[int, str]:
    """NPA id -> "NPA 378 — Plaza-Midwood, 28205": the first historic district and ZIP code it overlaps (or town)."""
    return _places(_version())[1]


def _npa_label(index: PlaceIndex, npa_id: int) -> str:
    places = index.places_for(npa_id, kinds=("historic district", "zip", "town"))
    first = {
        kind: next((p.name for p in places if p.kind == kind), None) for kind in ("historic district", "zip", "town")
    }
    parts = [first["historic district"], (first["zip"] or "").removeprefix("ZIP ") or None]
    if first["historic district"] is None:
        parts.append(first["town"])
    names = [p for p in parts if p]
    return f"NPA {npa_id}" + (f" — {', '.join(names)}" if names else "")


@common.data_cache(show_spinner="Finding hot and cold spots ...")
def hotspots(year: int) -> pd.DataFrame:
    """The violent-crime LISA of ``year`` per NPA (:func:`geo.analysis.neighborhood.npa_hotspots`)."""
    return npa_hotspots(common.npa_layer(), year=year, cache_dir=get_settings().cache_dir / "weights")


def latest_year(npa: pd.DataFrame) -> int:
    """The last year with violent-crime rates in the NPA layer."""
    return max(int(c.rsplit("_", 1)[1]) for c in npa.columns if c.startswith("violent_rate_"))


@common.data_cache(resource=True, show_spinner=False, max_entries=2)
def _display_npas(version: str) -> gpd.GeoDataFrame:
    """The NPA outlines as the map draws them (EPSG:4326, simplified together), indexed by NPA id."""
    npa = common.npa_layer()
    return simplify_for_display(npa[["npa", npa.geometry.name]]).set_index("npa")


@common.data_cache(resource=True, show_spinner="Drawing the map ...", max_entries=4)
def _base_map(year: int, version: str) -> folium.Map:
    """NPAs coloured by hot spot, with roads, ZIP codes, divisions and landmarks: shared, copy before changing."""
    npa = common.npa_layer()
    frame = npa[["npa", "division", "pop_2020", "geometry"]].merge(hotspots(year), on="npa", how="left")
    frame.index = frame["npa"].astype(str)
    labels = npa_labels()
    frame["label"] = frame["npa"].map(lambda n: labels.get(int(n), f"NPA {n}"))
    m = draw.categorical_map(
        frame,
        "cluster",
        colors=palettes.LISA_COLORS,
        name_field="label",
        name_alias="Neighborhood",
        tooltip_fields=["pop_2020", "violent_rate"],
        tooltip_aliases=["Residents (2020)", f"Violent crimes per 1,000 ({year})"],
        tooltip_formats={"pop_2020": "{:,.0f}", "violent_rate": "{:,.1f}"},
        legend_title=f"Violent-crime hot spots, {year}",
        unknown="missing",
        reference=common.reference_layers(),
    )
    return m


def hotspot_map(year: int) -> folium.Map:
    """A copy of the neighbourhood map (hot spots and reference layers), to change and show (:func:`common.copy_map`)."""
    return common.copy_map(_base_map(year, _version()))


# --------------------------------------------------------------------------- search


def find_places(query: str) -> list[PlaceMatch]:
    """The best matches of ``query`` that cover at least one NPA."""
    return [m for m in place_index().search(query, limit=MATCH_LIMIT) if m.npa_ids]


def match_label(m: PlaceMatch) -> str:
    """Plain text for a match: "Historic district: Plaza-Midwood — NPA 378" (escape it for markdown)."""
    kind = KIND_NAMES.get(m.kind, m.kind.capitalize())
    ids = m.npa_ids
    npas = (
        f"NPA {ids[0]}"
        if len(ids) == 1
        else f"{len(ids)} NPAs ({', '.join(map(str, ids[:6]))}{', …' if len(ids) > 6 else ''})"
    )
    return f"{kind}: {m.name} — {npas}"


def no_match_text(query: str) -> str:
    """The message for a search without a match (the query escaped)."""
    return f"No place matches '{common.text(query)}'; try a ZIP code, a road, a school or an NPA number."


def _search() -> tuple[PlaceMatch | None, str]:
    """The search box and its matches, and the query; a new match moves the chosen NPA into it (kept if in it)."""
    q = st.text_input(
        SEARCH_LABEL, key="nb_q", placeholder=SEARCH_PLACEHOLDER, help=SEARCH_HELP, max_chars=MAX_QUERY
    ).strip()
    matches = find_places(q) if q else []
    if not matches:
        if q:
            st.info(no_match_text(q))
        st.session_state["nb_match"] = None
        st.session_state["_nb_seen"] = (q, None)  # the same search typed again is a new search
        return None, q
    by_key = {m.place.key: m for m in matches}
    if st.session_state.get("nb_match") not in by_key:
        st.session_state["nb_match"] = matches[0].place.key
    key = st.radio(
        f"Places matching '{common.text(q)}'",
        list(by_key),
        key="nb_match",
        format_func=lambda k: common.text(match_label(by_key[k])),
        label_visibility="collapsed",
    )
    match = by_key[key]
    if st.session_state.get("_nb_seen") != (q, key):
        st.session_state["_nb_seen"] = (q, key)
        if st.session_state.get("nb_npa") not in match.npa_ids:
            st.session_state["nb_npa"] = match.npa_ids[0]
    return match, q


def _take_click(ids: list[int]) -> None:
    """A click on the map (read before the widgets are drawn) picks its NPA; landmarks, without an id, do not."""
    out = st.session_state.get(MAP_KEY) or {}
    drawing = out.get("last_active_drawing") or {}
    where = out.get("last_object_clicked") or {}
    clicked = drawing.get("id")
    token = f"{clicked}@{where.get('lat')},{where.get('lng')}"
    if clicked is None or token == st.session_state.get("nb_last_click"):
        return
    st.session_state["nb_last_click"] = token
    try:
        npa_id = int(clicked)
    except (TypeError, ValueError):
        return
    if npa_id in ids:
        st.session_state["nb_npa"] = npa_id


def _npa_picker(ids: list[int], match: PlaceMatch | None) -> int:
    """The NPA list: the match's NPAs (while the chosen one is among them), else every NPA."""
    in_match = match is not None and st.session_state.get("nb_npa") in match.npa_ids
    options = list(match.npa_ids) if in_match and match is not None else ids
    if st.session_state.get("nb_npa") not in options:
        st.session_state["nb_npa"] = options[0]
    labels = npa_labels()
    chosen = st.selectbox(
        "Neighborhood profile area (NPA)", options, key="nb_npa", format_func=lambda n: labels.get(n, f"NPA {n}")
    )
    if in_match and match is not None and len(options) > 1:
        st.caption(f"The {len(options)} NPAs of {common.text(match.name)}, outlined on the map.")
    return int(chosen)


# --------------------------------------------------------------------------- map and card


def _highlight(match: PlaceMatch | None, chosen: int, query: str) -> folium.FeatureGroup:
    """The match's NPAs (dashed) and the zoom to them, the chosen NPA (solid): drawn onto the live map."""
    shapes = _display_npas(_version())
    group = folium.FeatureGroup(name="Search results", control=False)
    ids = [n for n in match.npa_ids if n in shapes.index] if match is not None else []
    if match is not None and ids:
        overlays.dashed_outline(shapes.loc[ids], class_name="nb-match", style=MATCH_STYLE).add_to(group)
        search = hashlib.sha256(f"{query}|{match.place.key}".encode()).hexdigest()[:16]  # no typed text in the script
        overlays.fit_once(shapes.loc[ids], key=search).add_to(group)
    else:
        overlays.fit_once(None).add_to(group)
    if chosen in shapes.index:
        draw.selection_outline(shapes, [chosen], name="Chosen NPA").add_to(group)
    return group


def _map(year: int, match: PlaceMatch | None, chosen: int, query: str) -> None:
    """The map: the same base every run (never redrawn), with the search results drawn onto it."""
    common.show_map(
        hotspot_map(year),
        key=MAP_KEY,
        height=520,
        returned_objects=["last_active_drawing", "last_object_clicked"],
        feature_group_to_add=_highlight(match, chosen, query),
        render=False,  # st_folium renders the map itself once more; the first, whole-page render is not needed
    )
    st.caption(
        f"{_outline_words(match, chosen)} Click an area to choose it. Roads, ZIP codes, divisions and landmarks can "
        f"be switched on and off in the layer control. {REFERENCE_LAYERS_2013}"
    )


def _outline_words(match: PlaceMatch | None, chosen: int) -> str:
    """What the outlines on the map are, in words."""
    if match is None:
        return f"Outlined in black: NPA {chosen}."
    n = len(match.npa_ids)
    npas = "the NPA" if n == 1 else f"the {n} NPAs"
    return f"Dashed: {npas} of {common.text(match.name)}. Solid black: NPA {chosen}, the one described here."


def _divisions(filters: StopFilter) -> gpd.GeoDataFrame:
    try:
        return common.division_layer(filters)
    except Exception:  # an empty stop filter must not hide the neighborhood card
        st.caption("The stop filters leave no stops; division figures below count all stops.")
        return common.division_layer(StopFilter())


def _card(year: int, chosen: int, hs: pd.DataFrame) -> None:
    """The chosen NPA in plain words: where it is, its people, crime, hot spot and police division."""
    npa = common.npa_layer()
    filters = common.current_filters()
    divisions = _divisions(filters)
    card = neighborhood_card(npa, hs, divisions, npa_id=chosen, year=year)
    st.subheader(card.title)
    st.markdown(f"**Where it is:** {common.text(place_index().overlap_text(chosen))}")
    st.caption(NPA_NOT_NEIGHBORHOOD)
    for line in card.lines:  # data text in the lines is escaped by geo.output.narrative
        st.markdown(line)
    if card.trend is not None and not card.trend.empty:
        st.line_chart(card.trend, x_label="Fiscal year", y_label="Crimes reported")
    with st.expander("What these numbers can and cannot say"):
        for line in [NPA_NOT_NEIGHBORHOOD, *card.caveats]:
            st.markdown(f"- {line}")
    link = url_state.page_url()
    roads = common.reference_layers().layers.roads
    report_section.downloads(
        lambda: neighborhood_report(
            npa,
            hs,
            divisions,
            npa_id=chosen,
            year=year,
            link=link,
            filters=filters,
            roads=roads,
            settings=get_settings(),
        ),
        key=report_section.report_key("npa", chosen, year=year, filters=filters, link=link, data=_version()),
    )


def _params(ids: list[int]) -> tuple[Param, ...]:
    return (
        Param("nb_q", "q", omit=""),
        Param("nb_match", "place"),
        Param("nb_npa", "npa", options=ids),
    )


def page() -> None:
    """The neighborhood page: find a place, see its NPAs on the map, and the card of the one chosen."""
    app_pages.heading("app_pages/neighborhood.py")
    st.write(
        "Type a place (a neighbourhood, ZIP code, road, school, park or NPA number) or click the map to see a "
        "neighborhood profile area (NPA): its population, its crime trend, whether it lies in a statistical hot or "
        "cold spot, and the traffic-stop figures of its police division."
    )
    _view()


@st.fragment
@common.guarded
def _view() -> None:
    """Search, map, list and card: a fragment, so a search or a click reruns only this part of the page.

    The layout is the same whatever the search finds (the notes, the matches and the list sit in
    containers drawn every run): an element added above the map would make the browser load a new map.
    On a phone the columns stack: search, list, map, card.
    """
    npa = common.npa_layer()
    ids = sorted(int(n) for n in npa["npa"])
    year = latest_year(npa)
    params = _params(ids)
    with url_state.bound(params, boxed=True):
        st.session_state.setdefault(
            "_nb_seen", (str(st.session_state.get("nb_q") or "").strip(), st.session_state.get("nb_match"))
        )
        _take_click(ids)
        find, pick = st.columns([3, 2], vertical_alignment="top")
        with find:
            match, query = _search()
        with pick:
            chosen = _npa_picker(ids, match)
    hs = hotspots(year)
    left, right = st.columns([3, 2])
    with left:
        _map(year, match, chosen, query)
    with right:
        _card(year, chosen, hs)


if __name__ == "__main__":
    common.guarded(page)()
