"""The drawn reference layers kept on disk, so that a new process draws its first map without preparing them again.

Preparing the reference layers for a map (merging 3,400 road segments by name, simplifying every outline,
encoding the polylines, placing the labels: :func:`geo.maps.reference.add_reference_layers`) takes a second
or two, and every process used to pay it on its first map. What it produces is data: each layer's group
(name, shown or not) holding lines, labels or points as JSON text. :func:`to_recipe` writes that down,
:func:`from_recipe` rebuilds the same elements from it, and :func:`drawn_reference` keeps the recipe in
``Settings.cache_dir`` keyed by a digest of the layers themselves (geometry and attributes), the options and
the code version. An entry that cannot be read, or whose content does not match its digest, is rebuilt with
one line on standard error; an unwritable cache folder is tolerated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import shapely
from branca.element import MacroElement

import geo
from geo.ingest.cache import note_rebuild
from geo.ingest.files import atomic_path
from geo.maps import reference
from geo.settings import get_settings

#: Bump when the drawing of the reference layers changes (the recipe of an older code version is not reused).
STORE_VERSION = "1"

#: Element class -> its kind in a recipe and the attributes that make it.
_KINDS: dict[type[MacroElement], tuple[str, tuple[str, ...]]] = {
    reference._Polylines: ("lines", ("decode_js", "styles_json", "data_json", "factor")),
    reference._ZoomLabels: ("labels", ("data_json", "min_zoom", "css_class")),
    reference._Points: ("points", ("styles_json", "data_json")),
}
_BY_KIND = {kind: (cls, attrs) for cls, (kind, attrs) in _KINDS.items()}


def frames_digest(frames: Mapping[str, gpd.GeoDataFrame | None]) -> str:
    """SHA-256 of the layers: each one's name, CRS, geometry (WKB) and attribute values, in key order."""
    h = hashlib.sha256()
    for key in sorted(frames):
        frame = frames[key]
        h.update(f"|{key}|".encode())
        if frame is None or len(frame) == 0:
            continue
        h.update(f"{frame.crs}|{len(frame)}|{','.join(map(str, frame.columns))}".encode())
        for wkb in shapely.to_wkb(frame.geometry.values, hex=False):
            h.update(b"" if wkb is None else wkb)
        attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name)).astype(str)
        h.update(pd.util.hash_pandas_object(attrs, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _element(el: object) -> dict[str, Any]:
    kind, attrs = _KINDS[type(el)]  # type: ignore[index]  # a KeyError for any other element: not storable
    return {"kind": kind, **{a: getattr(el, a) for a in attrs}}


def to_recipe(drawn: folium.Map) -> list[dict[str, Any]]:
    """What :func:`~geo.maps.reference.add_reference_layers` added to ``drawn``, as JSON-ready data, in order."""
    out: list[dict[str, Any]] = []
    for child in drawn._children.values():
        if isinstance(child, reference._LabelStyle):
            out.append({"kind": "label_style"})
        elif isinstance(child, folium.FeatureGroup):
            parts = [_element(el) for el in child._children.values()]
            out.append({"kind": "group", "name": child.layer_name, "show": bool(child.show), "children": parts})
        elif isinstance(child, folium.TileLayer) and child.tiles == reference.OSM_TILES:
            out.append({"kind": "osm_tiles"})
        elif isinstance(child, folium.LayerControl):
            continue
        else:
            raise TypeError(f"the reference layers hold a {type(child).__name__} that cannot be stored")
    return out


def _restore(item: dict[str, Any]) -> MacroElement:
    cls, attrs = _BY_KIND[item["kind"]]
    el = cls.__new__(cls)
    MacroElement.__init__(el)  # type: ignore[no-untyped-call]  # branca's MacroElement.__init__ has no annotations
    el._name = {"lines": "ReferenceLines", "labels": "ReferenceLabels", "points": "ReferencePoints"}[item["kind"]]
    for a in attrs:
        setattr(el, a, item[a])
    return el


def from_recipe(recipe: list[dict[str, Any]]) -> folium.Map:
    """A map holding the elements of ``recipe`` (as :func:`to_recipe` wrote it), ready for ``MapReference``."""
    m = folium.Map(tiles=None)
    for item in recipe:
        if item["kind"] == "label_style":
            reference._LabelStyle().add_to(m)
        elif item["kind"] == "group":
            group = folium.FeatureGroup(name=item["name"], show=item["show"], overlay=True)
            group.add_to(m)
            for part in item["children"]:
                _restore(part).add_to(group)
        elif item["kind"] == "osm_tiles":
            reference.osm_tile_layer().add_to(m)
        else:
            raise ValueError(f"a reference recipe holds an unknown element {item['kind']!r}")
    folium.LayerControl(collapsed=True).add_to(m)
    return m


def _digest(recipe: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def _read(path: Path, key: str) -> list[dict[str, Any]] | str:
    """The stored recipe, or why it cannot be used."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        recipe = doc["recipe"]
        if doc["key"] != key or doc["digest"] != _digest(recipe):
            return "its key or digest does not match its content"
        from_recipe(recipe)  # every element known, every attribute there
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        return f"it cannot be read ({type(exc).__name__})"
    return list(recipe)


def drawn_reference(
    frames: Mapping[str, gpd.GeoDataFrame | None], options: str, draw: Callable[[], folium.Map]
) -> folium.Map:
    """The drawn reference layers: rebuilt from the stored recipe for these ``frames`` and ``options``, else ``draw()``.

    ``options`` names what else changes the drawing (shown layers, tiles, simplification, decimals).
    """
    key = hashlib.sha256(f"{STORE_VERSION}|{geo.__version__}|{options}|{frames_digest(frames)}".encode()).hexdigest()
    path = get_settings().cache_dir / f"map_reference_{key[:24]}.json"
    if path.is_file():
        found = _read(path, key)
        if not isinstance(found, str):
            return from_recipe(found)
        note_rebuild(path, found)
    drawn = draw()
    recipe = to_recipe(drawn)
    try:
        with atomic_path(path, durable=False) as tmp:
            tmp.write_text(json.dumps({"key": key, "recipe": recipe, "digest": _digest(recipe)}), encoding="utf-8")
    except OSError:  # a read-only cache folder: drawn again by the next process
        pass
    return drawn
