"""A map's areas written compactly: rings as encoded polylines, decoded into GeoJSON in the browser.

folium writes every coordinate of a GeoJSON layer as ``[-80.83063, 35.23297], `` (24 bytes a
point) and a ``case "id":`` per feature for its style. For the 2,652 hexagons of the incident
hot spot map that was 1.0 MB before the reference layers; over the 800 KB a map may weigh.
:class:`CompactGeoJson` is a :class:`folium.GeoJson` (its tooltip, popup, highlight and the
click that streamlit-folium reports work as before) whose areas are written instead as one
row each: ``[id, style, kind, rings, tooltip texts...]`` with each ring an encoded polyline
(Google's algorithm, about 5 bytes a point). A few lines of JavaScript decode the rows into a
FeatureCollection and add it to the layer. The map of the 2,652 hexagons takes 0.33 MB, of the 459 NPAs 0.1 MB.

The full GeoJSON stays in ``layer.full_data`` (the bounds are computed from it); folium's own
``layer.data`` holds one placeholder feature without a geometry (which Leaflet skips), so that
folium, and streamlit-folium, which writes each element's script itself, write the tooltip and
highlight code without writing the areas a second time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import numpy as np
import shapely
from branca.element import MacroElement
from folium.template import Template
from folium.utilities import get_bounds

__all__ = ["CompactGeoJson", "encode", "script_json", "compact_rows", "can_compact", "POLYGON", "MULTIPOLYGON"]


#: The kind of a row's geometry.
POLYGON, MULTIPOLYGON = 1, 2


def script_json(obj: object) -> str:
    """Compact JSON that is safe inside a ``<script>`` and through branca's templates.

    No ``<``, ``>`` or ``&`` is left, and no ``{{``, ``{%`` or ``{#`` (branca parses a rendered
    script as a Jinja template again); in valid JSON those occur only inside strings, where
    the second character is written as a JSON unicode escape.
    """
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=True)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.replace("{{", "{\\u007b").replace("{%", "{\\u0025").replace("{#", "{\\u0023")


def encode(xy: np.ndarray, precision: int) -> str:
    """Google's encoded polyline of (lon, lat) pairs at ``precision`` decimals (latitude first, as the algorithm)."""
    ints = np.round(np.asarray(xy)[:, ::-1] * 10**precision).astype(np.int64)
    out: list[str] = []
    for v in np.diff(ints, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).ravel().tolist():
        v = ~(v << 1) if v < 0 else v << 1
        while v >= 0x20:
            out.append(chr((0x20 | (v & 0x1F)) + 63))
            v >>= 5
        out.append(chr(v + 63))
    return "".join(out)


def _rings(polygon: shapely.Polygon, precision: int) -> list[str]:
    rings = [polygon.exterior, *polygon.interiors]
    return [encode(shapely.get_coordinates(r), precision) for r in rings]


#: The most decimals an encoded polyline keeps here (the browser decodes with 32-bit integers).
MAX_PRECISION = 6


def compact_rows(
    geoms: Sequence[shapely.Geometry],
    ids: Sequence[str],
    styles: Sequence[int],
    texts: Sequence[Sequence[str]],
    *,
    precision: int,
) -> list[list[object]]:
    """One row per area: ``[id, style index, kind, rings, *texts]``.

    ``geoms`` are Polygons or MultiPolygons in EPSG:4326, already rounded to ``precision`` decimals.
    """
    rows: list[list[object]] = []
    for i, geom in enumerate(geoms):
        rings: list[str] | list[list[str]]
        if isinstance(geom, shapely.Polygon):
            kind, rings = POLYGON, _rings(geom, precision)
        else:
            kind, rings = MULTIPOLYGON, [_rings(p, precision) for p in geom.geoms]
        rows.append([ids[i], int(styles[i]), kind, rings, *texts[i]])
    return rows


def can_compact(geoms: Sequence[shapely.Geometry], precision: int) -> bool:
    """Whether every geometry is a Polygon or MultiPolygon (points and lines stay plain GeoJSON), at most 6 decimals."""
    arr = np.asarray(geoms, dtype=object)
    kinds = shapely.get_type_id(arr)
    return bool(len(arr)) and precision <= MAX_PRECISION and bool(np.isin(kinds, [3, 6]).all())


class _Rows(MacroElement):
    """Decodes the rows into a FeatureCollection and adds it to the parent GeoJSON layer."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var layer = {{ this._parent.get_name() }}, styles = {{ this.styles_json }}, keys = {{ this.keys_json }};
            var rows = {{ this.rows_json }}, factor = {{ this.factor }};
            function ring(s) {
                var pts = [], i = 0, lat = 0, lon = 0;
                function next() {
                    var r = 0, sh = 0, b;
                    do { b = s.charCodeAt(i++) - 63; r |= (b & 31) << sh; sh += 5; } while (b >= 32);
                    return (r & 1) ? ~(r >> 1) : (r >> 1);
                }
                while (i < s.length) { lat += next(); lon += next(); pts.push([lon / factor, lat / factor]); }
                return pts;
            }
            function polygon(rings) { return rings.map(ring); }
            layer.options.style = function (feature) { return styles[feature.properties.__s]; };
            var features = rows.map(function (r) {
                var props = {__s: r[1]};
                for (var j = 0; j < keys.length; j++) { props[keys[j]] = r[4 + j]; }
                var geometry = r[2] === 1 ? {type: "Polygon", coordinates: polygon(r[3])}
                    : {type: "MultiPolygon", coordinates: r[3].map(polygon)};
                return {type: "Feature", id: r[0], properties: props, geometry: geometry};
            });
            layer.addData({type: "FeatureCollection", features: features});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, rows: list[list[object]], styles: Sequence[Mapping[str, Any]], keys: Sequence[str], factor: int):
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement.__init__ has no annotations
        self._name = "CompactRows"
        self.rows_json = script_json(rows)
        self.styles_json = script_json([dict(s) for s in styles])
        self.keys_json = script_json(list(keys))
        self.factor = int(factor)


class CompactGeoJson(folium.GeoJson):
    """A :class:`folium.GeoJson` of polygons whose areas are written as compact rows (see the module).

    Parameters
    ----------
    data
        The FeatureCollection (ids unique; properties the escaped tooltip texts), kept for Python.
    geoms
        The features' geometries, in the same order (Polygons or MultiPolygons, EPSG:4326).
    styles
        One Leaflet style per feature, in the same order.
    precision
        Decimals of the coordinates (at most :data:`MAX_PRECISION`).
    **kwargs
        Passed to :class:`folium.GeoJson` (``name``, ``style_function``, ``highlight_function``, ``tooltip``, ...).
    """

    def __init__(
        self,
        data: dict[str, Any],
        *,
        geoms: Sequence[shapely.Geometry],
        styles: Sequence[Mapping[str, Any]],
        precision: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.style = False  # the styles come with the rows, not as folium's per-id switch
        unique = list(dict.fromkeys(json.dumps(dict(s), sort_keys=True) for s in styles))
        index = {key: i for i, key in enumerate(unique)}
        features = data["features"]
        keys = list(features[0]["properties"]) if features else []
        texts = [[f["properties"][k] for k in keys] for f in features]
        style_index = [index[json.dumps(dict(s), sort_keys=True)] for s in styles]
        rows = compact_rows(geoms, [f["id"] for f in features], style_index, texts, precision=precision)
        self.full_data = self.data
        placeholder = {
            "type": "Feature",
            "id": features[0]["id"],
            "properties": dict.fromkeys(keys, ""),
            "geometry": None,
        }
        self.data = {"type": "FeatureCollection", "features": [placeholder] if features else []}
        self.add_child(_Rows(rows, [json.loads(u) for u in unique], keys, 10**precision))

    def _get_self_bounds(self) -> list[list[float | None]]:
        """The bounds of the areas (not of the placeholder)."""
        bounds: list[list[float | None]] = get_bounds(self.full_data, lonlat=True)
        return bounds
