"""The tooltip of a map's areas: which columns, their labels and formats, and the GeoJSON that carries them.

Private to :mod:`geo.maps`: :mod:`geo.maps.draw` checks the options here and writes each
row's tooltip texts, already HTML-escaped, as the only properties of its GeoJSON feature.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import quote_values
from geo.maps._recent import Recent

__all__ = ["TooltipSpec", "tooltip_spec", "feature_collection", "format_cell"]


def format_cell(value: object, fmt: str | None) -> str:
    """Plain text for one tooltip cell (escaped later)."""
    if value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)):
        return "No data"
    if fmt is not None:
        try:
            return fmt.format(value)
        except (ValueError, TypeError):
            return str(value)
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        if abs(v) >= 100:
            return f"{v:,.1f}"
        if abs(v) >= 1:
            return f"{v:,.2f}"
        return f"{v:.3g}"
    return str(value)


@dataclass(frozen=True)
class TooltipSpec:
    """The tooltip's columns (name first), their labels and their ``str.format`` patterns."""

    fields: list[str]
    aliases: list[str]
    formats: dict[str, str]


def tooltip_spec(
    column: str,
    tooltip_fields: Sequence[str] | None,
    tooltip_aliases: Sequence[str] | None,
    tooltip_formats: Mapping[str, str] | None,
    name_field: str | None,
    name_alias: str,
) -> TooltipSpec:
    """Check the tooltip options and resolve their defaults."""
    if isinstance(tooltip_fields, str) or isinstance(tooltip_aliases, str):
        raise TypeError("tooltip_fields and tooltip_aliases must be sequences of str, not a str")
    fields = list(tooltip_fields) if tooltip_fields is not None else [column]
    aliases = list(tooltip_aliases) if tooltip_aliases is not None else list(fields)
    if len(aliases) != len(fields):
        raise ValueError(f"tooltip_aliases has {len(aliases)} entries but tooltip_fields has {len(fields)}")
    if name_field is not None:
        fields = [name_field, *fields]
        aliases = [name_alias, *aliases]
    formats = dict(tooltip_formats or {})
    unknown = [f for f in formats if f not in fields]
    if unknown:
        raise ValueError(f"tooltip_formats names {quote_values(unknown)}, which are not tooltip fields")
    return TooltipSpec(fields=fields, aliases=[str(a) for a in aliases], formats=formats)


def feature_collection(frame: gpd.GeoDataFrame, tip: TooltipSpec) -> tuple[dict[str, Any], list[str]]:
    """GeoJSON with only the escaped tooltip texts as properties; ids are the frame's index labels."""
    ids = [str(i) for i in frame.index] if frame.index.is_unique else [str(i) for i in range(len(frame))]
    cols: dict[str, list[str]] = {}
    for j, field in enumerate(tip.fields):
        fmt = tip.formats.get(field)
        cols[f"t{j}"] = [html.escape(format_cell(v, fmt)) for v in frame[field].tolist()]
    geometries = _parsed(shapely.to_geojson(np.asarray(frame.geometry.values, dtype=object)))
    features = [
        {"type": "Feature", "id": fid, "properties": {key: vals[i] for key, vals in cols.items()}, "geometry": g}
        for i, (fid, g) in enumerate(zip(ids, geometries, strict=True))
    ]
    return {"type": "FeatureCollection", "features": features}, ids


#: Parsed GeoJSON geometries of the last few layers drawn, by a digest of their text.
_PARSED_SIZE = 16
_PARSED: Recent[list[Any]] = Recent(_PARSED_SIZE)


def _parsed(texts: np.ndarray) -> list[Any]:
    """``json.loads`` of every geometry, remembered for the last :data:`_PARSED_SIZE` layers.

    Parsing the 459 NPA outlines took most of a map's drawing, and every map of the same areas parsed the
    same text again. The parsed geometries are shared between the maps: nothing changes them (folium
    writes styles into a feature's properties, which are each map's own).
    """
    h = hashlib.sha256()
    for t in texts:
        h.update(b"\0" if t is None else t.encode() + b"\1")  # each text ends with a byte JSON never holds
    key = h.hexdigest()
    found = _PARSED.get(key)
    if found is None:
        found = [None if t is None else json.loads(t) for t in texts]
        _PARSED.put(key, found)
    return found
