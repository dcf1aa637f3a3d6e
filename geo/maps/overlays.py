"""What is drawn over a map's areas: the reference layers, and the outline of the selected area.

:class:`MapReference` draws the reference layers (:func:`geo.maps.reference.add_reference_layers`)
once and gives every later map a copy of the drawn elements: drawing them takes about a
second (merging and simplifying 3,400 road segments, placing their labels), copying about a
millisecond, so a page that reruns on every click does not pay for it each time.
:func:`selection_outline` outlines chosen areas so that they stand out on any fill;
:func:`dashed_outline` outlines a group of areas (a search's matches) more lightly, and
:func:`fit_once` zooms a live map to them once per search.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import folium
import geopandas as gpd
from branca.element import MacroElement
from folium.template import Template

from geo.errors import quote_values
from geo.ingest.reference import ReferenceLayers
from geo.maps._stored import drawn_reference
from geo.maps.geometry import simplify_for_display
from geo.maps.palettes import SELECTED_CASING_COLOR, SELECTED_OUTLINE_COLOR
from geo.maps.reference import DEFAULT_SHOW, add_reference_layers

__all__ = [
    "MapReference",
    "as_reference",
    "selection_outline",
    "dashed_outline",
    "DASHED_OUTLINE_STYLE",
    "FitOnce",
    "fit_once",
]

#: The outline of a group of areas (e.g. every NPA a search matched): dashed, no fill, under a selection's.
DASHED_OUTLINE_STYLE: dict[str, Any] = {
    "color": SELECTED_OUTLINE_COLOR,
    "weight": 2.5,
    "opacity": 0.9,
    "dashArray": "6 4",
    "fill": False,
}


@dataclass(frozen=True, eq=False)
class MapReference:
    """The reference layers to draw on every map (roads, rail, greenways, ZIP codes, divisions, landmarks).

    Build one per process (the app keeps it with ``st.cache_resource``) and pass it as the
    ``reference`` of :func:`choropleth` or :func:`categorical_map`. The layers are drawn once
    (:func:`geo.maps.reference.add_reference_layers`, about a second; a later process rebuilds them from the
    disk, :mod:`geo.maps._stored`) and every later map gets a copy of the drawn elements, which takes about a
    millisecond. They are from 2013: show
    :data:`geo.caveats.REFERENCE_LAYERS_2013` wherever they appear.

    Attributes
    ----------
    layers
        From :func:`geo.ingest.reference.load_reference_layers` (empty layers are skipped).
    divisions
        Division polygons (``division``, ``short_name``), drawn as outlines with their names.
    show
        The layers switched on when a map opens (the others are listed in the layer control).
    osm_tiles
        Offer OpenStreetMap tiles in the layer control, switched off (they need the internet;
        the map draws without them).
    """

    layers: ReferenceLayers
    divisions: gpd.GeoDataFrame | None = None
    show: tuple[str, ...] = DEFAULT_SHOW
    osm_tiles: bool = True
    _drawn: dict[tuple[float, int], folium.Map] = field(default_factory=dict, init=False, repr=False)

    def add_to(self, m: folium.Map, *, simplify_m: float = 10.0, precision: int = 5) -> folium.Map:
        """Add a copy of the drawn layers to ``m`` (changed in place, returned); the layer control is not copied."""
        key = (float(simplify_m), int(precision))
        drawn = self._drawn.get(key)
        if drawn is None:  # two threads may both draw: the same result, kept once

            def draw() -> folium.Map:
                fresh = folium.Map(tiles=None)
                return add_reference_layers(
                    fresh, self.layers, divisions=self.divisions, show=self.show, osm_tiles=self.osm_tiles,
                    simplify_m=simplify_m, precision=precision,
                )  # fmt: skip

            frames = {**dict(self.layers.items()), "divisions": self.divisions}
            options = f"{sorted(self.show)}|{self.osm_tiles}|{key}"
            drawn = drawn_reference(frames, options, draw)  # from the disk when a process drew these before
            self._drawn[key] = drawn
        for child in drawn._children.values():
            if not isinstance(child, folium.LayerControl):
                twin = copy.deepcopy(child, {id(drawn): m})  # the copy's parent is m
                m.add_child(twin, name=twin.get_name())
        return m


def as_reference(reference: MapReference | ReferenceLayers | None) -> MapReference | None:
    """``reference`` as a :class:`MapReference` (bare layers are wrapped; None stays None)."""
    if reference is None or isinstance(reference, MapReference):
        return reference
    if isinstance(reference, ReferenceLayers):
        return MapReference(reference)
    raise TypeError(f"reference must be a MapReference or ReferenceLayers, got {type(reference).__name__}")


def selection_outline(
    gdf: gpd.GeoDataFrame, labels: Sequence[Hashable], *, precision: int = 5, name: str = "Selected"
) -> folium.FeatureGroup:
    """The outline of the rows ``labels`` of ``gdf``: a white casing under a black line, not interactive.

    Drawn over the areas by the maps' ``selected`` option, or handed to
    ``st_folium(..., feature_group_to_add=...)`` so that a new selection changes the outline
    without drawing the map again (the view stays where the reader left it).

    Raises
    ------
    KeyError
        If a label is not in ``gdf.index`` (all of them named).
    """
    unknown = [lab for lab in labels if lab not in gdf.index]
    if unknown:
        raise KeyError(f"selected: {quote_values([str(u) for u in unknown])} not in the layer's index")
    group = folium.FeatureGroup(name=name, control=False)
    rows = gdf.loc[list(labels), [gdf.geometry.name]]
    if len(rows):
        shown = simplify_for_display(rows, tolerance_m=0.0, precision=precision)  # full detail: one area
        data = json.loads(shown.to_json(drop_id=True))
        for color, weight in ((SELECTED_CASING_COLOR, 6.0), (SELECTED_OUTLINE_COLOR, 3.0)):
            folium.GeoJson(
                data,
                style_function=lambda _f, c=color, w=weight: {"color": c, "weight": w, "fill": False, "opacity": 1},
                interactive=False,
                control=False,
            ).add_to(group)
    return group


def dashed_outline(
    gdf: gpd.GeoDataFrame, *, class_name: str = "", style: dict[str, Any] | None = None
) -> folium.GeoJson:
    """Outlines of the rows of ``gdf`` (EPSG:4326), dashed: no text, not clickable (a click goes to the area below).

    ``class_name`` is set on each path (a page or a test finds them by it); ``style`` replaces
    :data:`DASHED_OUTLINE_STYLE`.
    """
    shown = dict(DASHED_OUTLINE_STYLE if style is None else style)
    data = gdf[[gdf.geometry.name]].__geo_interface__
    return folium.GeoJson(
        data, style_function=lambda _f: dict(shown), interactive=False, control=False, class_name=class_name
    )


class FitOnce(MacroElement):
    """Zoom the live map to ``bounds`` once per ``key`` (a new search), not again when its layer is redrawn.

    It is meant for the feature group that streamlit-folium adds to the map it keeps (``window.map``):
    a click or a pick from a list, which redraws that group, leaves the view where the user put it.
    ``bounds=None`` forgets the last key (the same search typed again zooms again).

    Parameters
    ----------
    bounds
        ``[[south, west], [north, east]]`` in degrees, or None.
    key
        What identifies the zoom: the same key is not zoomed to twice in a row. It is written into
        the script as JSON: pass a digest, not text a user typed.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            if (!map) { return; }
            {% if this.bounds is none %}
            map._fitOnceKey = null;
            {% else %}
            if (map._fitOnceKey !== {{ this.key|tojson }}) {
                map._fitOnceKey = {{ this.key|tojson }};
                map.fitBounds({{ this.bounds|tojson }}, {padding: [12, 12], maxZoom: {{ this.max_zoom|tojson }}});
            }
            {% endif %}
        })(window.map);
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]] | None, key: str = "", *, max_zoom: int = 15) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement.__init__ has no annotations
        self._name = "FitOnce"
        self.bounds = bounds
        self.key = key
        self.max_zoom = int(max_zoom)


def fit_once(gdf: gpd.GeoDataFrame | None, key: str = "", *, max_zoom: int = 15) -> FitOnce:
    """A :class:`FitOnce` to the total bounds of ``gdf`` (EPSG:4326); ``gdf=None`` or empty forgets the last key."""
    if gdf is None or gdf.empty:
        return FitOnce(None)
    minx, miny, maxx, maxy = (float(v) for v in gdf.total_bounds)
    return FitOnce([[miny, minx], [maxy, maxx]], key=key, max_zoom=max_zoom)
