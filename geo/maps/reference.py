"""Reference layers on a folium map: main roads with their names, rail, greenways, ZIP codes, districts, landmarks.

:func:`add_reference_layers` adds each layer as a toggleable :class:`folium.FeatureGroup` (listed in the
layer control, which is moved after them), so a map without tiles can still be read. Everything works
offline. Lines and outlines are written as encoded polylines (Google's algorithm, about 5 bytes a point)
that a few lines of inline JavaScript decode into ``L.polyline``; polygon layers are drawn as their edges,
each shared border once. Labels (road names, ZIP codes, district names) are ``L.divIcon`` markers that
show only from a zoom level up (road names from zoom 13, street level; :data:`LABEL_ZOOM`). No script or
stylesheet is loaded from the web; the only external address is the template of the optional
OpenStreetMap tile layer, which stays off until switched on in the layer control (and then needs the
internet).

Geometry is for display only: reprojected to EPSG:4326, simplified (10 m by default; the segments of one
road merged first) and rounded to 5 decimals: all the layers together add about 0.17 MB of HTML. Every
text from the data is HTML-escaped before it reaches the page. Lines and outlines are not interactive (a
click goes through to the data layer below); landmarks show a tooltip, and a click on one reaches
``st_folium(...)["last_active_drawing"]`` as a Point feature with ``properties.reference == "landmark"``
and no ``id``: a page that looks up the clicked NPA must ignore it.

The layers are from 2013 (:data:`geo.caveats.REFERENCE_LAYERS_2013`): for orientation, not analysis.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from folium.template import Template

from geo.errors import CRSError
from geo.ingest.reference import ReferenceLayers
from geo.maps._compact import encode
from geo.maps.geometry import simplify_for_display
from geo.maps.palettes import LANDMARK_COLORS, REFERENCE_COLORS

__all__ = ["REFERENCE_LAYER_NAMES", "DEFAULT_SHOW", "LABEL_ZOOM", "OSM_TILES", "add_reference_layers", "osm_tile_layer"]


#: Layer key -> its name in the layer control, in drawing order (bottom first).
REFERENCE_LAYER_NAMES: dict[str, str] = {
    "zipcodes": "ZIP codes (2013)",
    "council_districts": "Council districts (2013)",
    "historic_districts": "Historic districts (2013)",
    "divisions": "Police divisions",
    "greenways": "Greenways (2013)",
    "railroads": "Railroads (2013)",
    "roads": "Main roads",
    "landmarks": "Landmarks (2013)",
}

#: The layers shown when the map opens (the others are listed in the layer control, switched off).
DEFAULT_SHOW: tuple[str, ...] = ("roads", "divisions")

#: The zoom from which each layer's labels show (13 is street level in Charlotte).
LABEL_ZOOM: dict[str, int] = {
    "zipcodes": 11,
    "council_districts": 11,
    "historic_districts": 13,
    "divisions": 10,
    "roads": 13,
    "landmarks": 15,
}

#: The optional background tiles (need the internet; off by default).
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"

#: Road class -> line weight (its colour is in :data:`REFERENCE_COLORS`); a feature's style index is its position.
_ROAD_STYLES = {
    "interstate": 3.0,
    "highway": 2.2,
    "road": 1.5,
    "ramp": 1.0,
}

#: Feet between two labels of one long road, the shortest stretch that gets a label, the least gap between two
#: labels of one name.
_LABEL_SPACING_FT = 12_000.0
_LABEL_MIN_FT = 1_500.0
_LABEL_GAP_FT = 4_000.0


def _safe_json(obj: object) -> str:
    """Compact JSON that is safe inside a ``<script>`` and through branca's templates.

    No ``<``, ``>`` or ``&`` is left, and no ``{{``, ``{%`` or ``{#`` (branca parses a rendered script
    as a Jinja template again); in valid JSON those pairs occur only inside strings, where the
    second character is written as a JSON unicode escape.
    """
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=True)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.replace("{{", "{\\u007b").replace("{%", "{\\u0025").replace("{#", "{\\u0023")


#: Decodes one encoded polyline (Google's polyline algorithm, ``factor`` = 10 ** precision) into [lat, lon] pairs.
_DECODE_JS = """function (s, factor) {
    var pts = [], i = 0, lat = 0, lon = 0;
    function next() { var r = 0, sh = 0, b; do { b = s.charCodeAt(i++) - 63; r |= (b & 31) << sh; sh += 5; } while (b >= 32);
        return (r & 1) ? ~(r >> 1) : (r >> 1); }
    while (i < s.length) { lat += next(); lon += next(); pts.push([lat / factor, lon / factor]); }
    return pts;
}"""


class _Polylines(MacroElement):
    """Lines drawn into the parent feature group from ``[style index, encoded polyline]`` pairs; not interactive."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var decode = {{ this.decode_js }}, styles = {{ this.styles_json }}, data = {{ this.data_json }};
            for (var i = 0; i < data.length; i++) {
                L.polyline(decode(data[i][1], {{ this.factor }}), L.extend({interactive: false}, styles[data[i][0]]))
                    .addTo({{ this._parent.get_name() }});
            }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, lines: list[list[object]], styles: Sequence[dict[str, Any]], *, precision: int) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement.__init__ has no annotations
        self._name = "ReferenceLines"
        self.decode_js = _DECODE_JS
        self.styles_json = _safe_json(list(styles))
        self.data_json = _safe_json(lines)
        self.factor = 10**precision


class _Points(MacroElement):
    """Circle markers from ``[lat, lon, style index, escaped name, kind]``, with a tooltip each.

    Each marker carries a GeoJSON ``feature`` (``properties.reference == "landmark"``), which is what
    streamlit-folium reports as ``last_active_drawing`` when it is clicked.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var styles = {{ this.styles_json }}, data = {{ this.data_json }};
            for (var i = 0; i < data.length; i++) {
                var d = data[i], m = L.circleMarker([d[0], d[1]], styles[d[2]]);
                m.feature = {type: "Feature", properties: {reference: "landmark", name: d[3], kind: d[4]}};
                m.bindTooltip(d[3] + " (" + d[4] + ")").addTo({{ this._parent.get_name() }});
            }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, points: Sequence[Sequence[object]], styles: Sequence[dict[str, Any]]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement.__init__ has no annotations
        self._name = "ReferencePoints"
        self.styles_json = _safe_json(list(styles))
        self.data_json = _safe_json(points)


class _ZoomLabels(MacroElement):
    """Text labels (``[lat, lon, escaped text]``) in the parent feature group, shown from ``min_zoom`` up."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this.map_name }}, group = {{ this._parent.get_name() }}, labels = L.layerGroup();
            var data = {{ this.data_json }};
            for (var i = 0; i < data.length; i++) {
                L.marker([data[i][0], data[i][1]], {
                    icon: L.divIcon({className: "geo-ref-label {{ this.css_class }}", html: "<span>" + data[i][2] + "</span>", iconSize: null}),
                    interactive: false, keyboard: false
                }).addTo(labels);
            }
            function update() {
                if (map.getZoom() >= {{ this.min_zoom }}) { group.addLayer(labels); } else { group.removeLayer(labels); }
            }
            map.on("zoomend", update);
            update();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, labels: list[list[object]], *, min_zoom: int, css_class: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement.__init__ has no annotations
        self._name = "ReferenceLabels"
        self.data_json = _safe_json(labels)
        self.min_zoom = int(min_zoom)
        self.css_class = css_class

    @property
    def map_name(self) -> str:
        """The JavaScript name of the map above the parent group, looked up when the script is written.

        Not kept from the start: streamlit-folium renames every element before writing the scripts.
        """
        element = self._parent
        while element is not None and not isinstance(element, folium.Map):
            element = getattr(element, "_parent", None)
        if element is None:
            raise ValueError("road labels must be added to a feature group on a folium.Map")
        name: str = element.get_name()
        return name


class _LabelStyle(MacroElement):
    """The labels' stylesheet: small dark text with a white halo, centred on its point, never clickable."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .geo-ref-label { background: none; border: none; pointer-events: none; }
        .geo-ref-label span { position: absolute; transform: translate(-50%, -50%); white-space: nowrap;
            font: 11px/1.2 Arial, Helvetica, sans-serif; color: {{ this.text }};
            text-shadow: 0 0 2px {{ this.halo }}, 0 0 2px {{ this.halo }}, 0 0 3px {{ this.halo }}; }
        .geo-ref-label.geo-ref-road span { font-style: italic; }
        .geo-ref-label.geo-ref-divisions span { font-weight: bold; font-size: 12px; }
        .geo-ref-label.geo-ref-zipcodes span { color: {{ this.zip }}; }
        .geo-ref-label.geo-ref-landmarks span { font-size: 10px; transform: translate(6px, -50%); }
        </style>
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement.__init__ has no annotations
        self._name = "ReferenceLabelStyle"
        self.text = REFERENCE_COLORS["label"]
        self.halo = REFERENCE_COLORS["label_halo"]
        self.zip = REFERENCE_COLORS["zipcodes"]


def _encoded_lines(geoms: Iterable[shapely.Geometry], styles: Iterable[int], precision: int) -> list[list[object]]:
    """``[style, encoded]`` for every line part of every (EPSG:4326) geometry."""
    out: list[list[object]] = []
    for geom, style in zip(geoms, styles, strict=True):
        if geom is None or geom.is_empty:
            continue
        for part in shapely.get_parts(geom):
            xy = shapely.get_coordinates(part)
            if len(xy) >= 2:
                out.append([int(style), encode(xy, precision)])
    return out


def _edges(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The boundaries of a set of polygons as lines, each shared border once (drawn as outlines)."""
    rings = shapely.boundary(np.asarray(frame.geometry.values, dtype=object))
    return gpd.GeoDataFrame(geometry=[shapely.line_merge(shapely.union_all(rings))], crs=frame.crs)


def _label_points(frame: gpd.GeoDataFrame, texts: Iterable[object], precision: int) -> list[list[object]]:
    """A label at each feature's representative point (inside a polygon), text escaped."""
    pts = frame.geometry.representative_point().to_crs("EPSG:4326")
    return [
        [round(float(p.y), precision), round(float(p.x), precision), html.escape(str(t))]
        for p, t in zip(pts, texts, strict=True)
        if p is not None and not p.is_empty and str(t)
    ]


def _merged_lines(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One feature per name and class (``road_class``): its segments merged into as few lines as possible."""
    frame = roads.assign(name=roads["name"].fillna("").astype(str), road_class=roads["road_class"].fillna("road"))
    rows = []
    for (name, cls), g in frame.groupby(["name", "road_class"], sort=True):
        parts = shapely.get_parts(np.asarray(g.geometry.values, dtype=object))
        rows.append((name, cls, shapely.line_merge(shapely.MultiLineString(list(parts)))))
    return gpd.GeoDataFrame(rows, columns=["name", "road_class", "geometry"], geometry="geometry", crs=roads.crs)


def _road_labels(merged: gpd.GeoDataFrame, precision: int) -> list[list[object]]:
    """Labels along each named road (not ramps): one per 12,000 ft of every stretch of at least 1,500 ft.

    A label closer than 4,000 ft to one already placed for the same name (the other carriageway of a
    divided road) is dropped.
    """
    merged = merged.to_crs("EPSG:2264")  # the distances here are in feet
    points: list[shapely.Point] = []
    texts: list[str] = []
    for name, cls, geom in merged[["name", "road_class", "geometry"]].itertuples(index=False):
        if not name or cls == "ramp":
            continue
        for part in shapely.get_parts(geom):
            length = part.length
            n = max(1, int(length // _LABEL_SPACING_FT)) if length >= _LABEL_MIN_FT else 0
            for k in range(n):
                at = part.interpolate((k + 0.5) * length / n)
                if all(t != name or at.distance(q) >= _LABEL_GAP_FT for q, t in zip(points, texts, strict=True)):
                    points.append(at)
                    texts.append(name)
    if not points:
        return []
    where = gpd.GeoSeries(points, crs=merged.crs).to_crs("EPSG:4326")
    return [
        [round(float(p.y), precision), round(float(p.x), precision), html.escape(t)]
        for p, t in zip(where, texts, strict=True)
    ]


def _group(m: folium.Map, key: str, show: set[str]) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name=html.escape(REFERENCE_LAYER_NAMES[key]), show=key in show, overlay=True)
    group.add_to(m)
    return group


def _add_lines(m: folium.Map, key: str, frame: gpd.GeoDataFrame, show: set[str], *, tol: float, precision: int) -> None:
    """Railroads (dashed) or greenways (green), merged by name; no labels."""
    style = (
        {"color": REFERENCE_COLORS["railroad"], "weight": 1.2, "opacity": 0.8, "dashArray": "5 3"}
        if key == "railroads"
        else {"color": REFERENCE_COLORS["greenway"], "weight": 1.8, "opacity": 0.85}
    )
    merged = _merged_lines(frame.assign(road_class="road"))
    shown = simplify_for_display(merged[[merged.geometry.name]], tolerance_m=tol, precision=precision)
    lines = _encoded_lines(shown.geometry, [0] * len(shown), precision)
    _Polylines(lines, [style], precision=precision).add_to(_group(m, key, show))


def _add_roads(
    m: folium.Map, roads: gpd.GeoDataFrame, show: set[str], *, tol: float, precision: int, zoom: int
) -> None:
    """Main roads drawn by class (interstates heaviest), names shown from ``zoom`` up."""
    merged = _merged_lines(roads)
    shown = simplify_for_display(merged, tolerance_m=tol, precision=precision)
    order = list(_ROAD_STYLES)
    styles = [{"color": REFERENCE_COLORS[c], "weight": w, "opacity": 0.9} for c, w in _ROAD_STYLES.items()]
    index = [order.index(c) if c in order else order.index("road") for c in shown["road_class"]]
    group = _group(m, "roads", show)
    _Polylines(_encoded_lines(shown.geometry, index, precision), styles, precision=precision).add_to(group)
    _ZoomLabels(_road_labels(merged, precision), min_zoom=zoom, css_class="geo-ref-road").add_to(group)


def _add_outlines(
    m: folium.Map,
    key: str,
    frame: gpd.GeoDataFrame,
    texts: Sequence[object],
    show: set[str],
    *,
    tol: float,
    precision: int,
) -> None:
    """Polygon outlines (each shared border once, not filled), with a label inside each from :data:`LABEL_ZOOM` up."""
    weight, dash = {"divisions": (2.0, None), "zipcodes": (1.0, "4 3")}.get(key, (1.4, None))
    style: dict[str, Any] = {"color": REFERENCE_COLORS[key], "weight": weight, "opacity": 0.85}
    if dash:
        style["dashArray"] = dash
    shown = simplify_for_display(_edges(frame), tolerance_m=tol, precision=precision)
    group = _group(m, key, show)
    _Polylines(_encoded_lines(shown.geometry, [0], precision), [style], precision=precision).add_to(group)
    labels = _label_points(frame, texts, precision)
    _ZoomLabels(labels, min_zoom=LABEL_ZOOM[key], css_class=f"geo-ref-{key}").add_to(group)


def _add_landmarks(m: folium.Map, landmarks: gpd.GeoDataFrame, show: set[str], *, precision: int) -> None:
    """Small circle markers coloured by kind, a tooltip each, names shown from zoom 15 up."""
    kinds = list(LANDMARK_COLORS)
    styles = [
        {"radius": 4, "color": "#ffffff", "weight": 1, "fillColor": c, "fillOpacity": 0.95}
        for c in LANDMARK_COLORS.values()
    ]
    pts = landmarks.geometry.to_crs("EPSG:4326")
    points = [
        [round(float(p.y), precision), round(float(p.x), precision), kinds.index(k) if k in kinds else 0]
        + [html.escape(str(n)), html.escape(str(k))]
        for p, k, n in zip(pts, landmarks["kind"], landmarks["name"], strict=True)
        if p is not None and not p.is_empty
    ]
    group = _group(m, "landmarks", show)
    _Points(points, styles).add_to(group)
    labels = _label_points(landmarks, landmarks["name"], precision)
    _ZoomLabels(labels, min_zoom=LABEL_ZOOM["landmarks"], css_class="geo-ref-landmarks").add_to(group)


def _check_keys(values: Iterable[str], what: str) -> set[str]:
    if isinstance(values, str):
        raise TypeError(f"{what} must be a sequence of layer keys, not a str")
    keys = set(values)
    unknown = sorted(keys - set(REFERENCE_LAYER_NAMES))
    if unknown:
        raise ValueError(f"{what}: unknown layer(s) {unknown}; known: {', '.join(REFERENCE_LAYER_NAMES)}")
    return keys


def _outline_texts(key: str, frame: gpd.GeoDataFrame) -> list[object]:
    """The label of each polygon of an outline layer."""
    if key == "zipcodes":
        return list(frame["zipcode"])
    if key == "divisions":
        col = "short_name" if "short_name" in frame else "division"
        return list(frame[col])
    if key == "council_districts":
        return [f"District {d}" for d in frame["district"]]
    return list(frame["name"])


def _move_layer_control_last(m: folium.Map) -> None:
    """Put the layer control after every layer (it names them in its script), adding one if there is none."""
    controls = [(k, c) for k, c in m._children.items() if isinstance(c, folium.LayerControl)]
    for k, _ in controls:
        del m._children[k]
    for _, c in controls or [("", folium.LayerControl(collapsed=True))]:
        c.add_to(m)


def add_reference_layers(
    folium_map: folium.Map,
    layers: ReferenceLayers,
    *,
    divisions: gpd.GeoDataFrame | None = None,
    show: Iterable[str] = DEFAULT_SHOW,
    include: Iterable[str] | None = None,
    osm_tiles: bool = True,
    road_label_zoom: int = LABEL_ZOOM["roads"],
    simplify_m: float = 10.0,
    precision: int = 5,
) -> folium.Map:
    """Add the reference layers to a map, each toggleable in the layer control.

    Parameters
    ----------
    folium_map
        A map, e.g. from :func:`geo.maps.draw.choropleth`; changed in place and returned.
    layers
        The reference layers (:func:`geo.ingest.reference.load_reference_layers`); empty ones are skipped.
    divisions
        Division polygons (``division``, ``short_name``) drawn as outlines with their names; optional.
    show
        Keys of :data:`REFERENCE_LAYER_NAMES` drawn when the map opens (default: roads and divisions).
    include
        Keys of the layers to add at all (default: every one available).
    osm_tiles
        Also list OpenStreetMap tiles in the layer control, switched off (they need the internet).
    road_label_zoom
        Road names show from this zoom up (13: street level).
    simplify_m, precision
        Display simplification in metres, and decimals kept (see :func:`geo.maps.geometry.simplify_for_display`).

    Returns
    -------
    folium.Map
        The same map. The layer control is moved after the new layers (one is added if there was none).

    Raises
    ------
    ValueError
        For an unknown key in ``show`` or ``include``.
    CRSError
        If a layer has no CRS.
    """
    if not isinstance(folium_map, folium.Map):
        raise TypeError(f"add_reference_layers expects a folium.Map, got {type(folium_map).__name__}")
    shown = _check_keys(show, "show")
    wanted = _check_keys(include if include is not None else REFERENCE_LAYER_NAMES, "include")
    frames: dict[str, gpd.GeoDataFrame] = dict(layers.items())
    if divisions is not None:
        frames["divisions"] = divisions
    for key, frame in frames.items():
        if frame is not None and len(frame) and frame.crs is None:
            raise CRSError(f"add_reference_layers: layer {key!r} has no CRS.")
    _LabelStyle().add_to(folium_map)
    for key in REFERENCE_LAYER_NAMES:
        frame = frames.get(key)
        if key not in wanted or frame is None or len(frame) == 0:
            continue
        if key == "roads":
            _add_roads(folium_map, frame, shown, zoom=road_label_zoom, tol=simplify_m, precision=precision)
        elif key in ("railroads", "greenways"):
            _add_lines(folium_map, key, frame, shown, tol=simplify_m, precision=precision)
        elif key == "landmarks":
            _add_landmarks(folium_map, frame, shown, precision=precision)
        else:
            _add_outlines(
                folium_map, key, frame, _outline_texts(key, frame), shown, tol=simplify_m, precision=precision
            )
    if osm_tiles:
        osm_tile_layer().add_to(folium_map)
    _move_layer_control_last(folium_map)
    return folium_map


def osm_tile_layer() -> folium.TileLayer:
    """The optional OpenStreetMap tiles, listed in the layer control and switched off (they need the internet)."""
    return folium.TileLayer(
        OSM_TILES,
        name="OpenStreetMap tiles (needs internet)",
        attr="&copy; OpenStreetMap contributors",
        overlay=True,
        control=True,
        show=False,
        max_zoom=19,
    )
