"""Choropleth and category maps (folium) that draw with no internet access.

folium and streamlit-folium load Leaflet, jQuery, Bootstrap, Font Awesome and d3 from
public CDNs; with none reachable the map stays blank. The maps built here need only
Leaflet's own JavaScript, CSS and images, which ``tools/vendor_assets.py`` copies into
``static/vendor/leaflet/`` and Streamlit serves at ``/app/static/vendor/...``
(``--server.enableStaticServing true``):

* :func:`use_local_assets` replaces folium's CDN links, on one map only, by the local
  Leaflet files and drops the libraries these maps never use;
* the legend is plain HTML in a Leaflet control (:class:`Legend`), never a branca
  ``ColorMap``: streamlit-folium adds two d3 CDN scripts whenever a ``ColorMap`` is on
  the map, and a script that fails to load stops the whole component;
* there are no background tiles unless asked for (``tiles=None``);
* every text that comes from the data (names, values, category labels, titles) is
  HTML-escaped before it reaches a tooltip, the legend or the layer control.

:func:`offline_problems` lists whatever would still need the internet on a map.

Geometry is reprojected to EPSG:4326, simplified for display with shared borders kept
(``shapely.coverage_simplify``) and rounded to 5 decimals (about 1 m), which keeps the
459-NPA map near 0.35 MB of HTML. This is for display only, never for analysis.

Nothing here imports streamlit. The app shows a map with::

    m = geo.maps.draw.choropleth(npa, "rate", tooltip_fields=["rate"], name_field="name")
    st_folium(m, key="rate_map", height=600, use_container_width=True,
              returned_objects=["last_active_drawing"])
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import folium
import folium.elements
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template

from geo.errors import CRSError, EmptyInputError, SchemaError, ValueDomainError, first_rows, quote_values
from geo.maps.assets import DEFAULT_ASSET_BASE, use_local_assets
from geo.maps.classify import Scheme, classify, ramp
from geo.maps.geometry import simplify_for_display
from geo.maps.legend import Legend, check_color
from geo.maps.palettes import MISSING_COLOR

__all__ = ["choropleth", "categorical_map"]


class _FitBounds(MacroElement):
    """Fit the map to bounds at once (folium's ``fit_bounds`` animates a zoom from the start view)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.fitBounds({{ this.bounds|tojson }}, {animate: false, padding: [8, 8]});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "FitBounds"
        self.bounds = bounds


class _Background(MacroElement):
    """Give the map container a plain background (Leaflet's default grey looks like "No data")."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.getContainer().style.background = {{ this.color|tojson }};
        {% endmacro %}
        """
    )

    def __init__(self, color: str) -> None:
        super().__init__()
        self._name = "Background"
        self.color = check_color(color, what="background colour")


def _format_cell(value: object, fmt: str | None) -> str:
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


def _validate_frame(gdf: object, needed: Sequence[str], *, what: str) -> None:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"{what} expects a GeoDataFrame, got {type(gdf).__name__}")
    if len(gdf) == 0:
        raise EmptyInputError(f"{what}: the layer has no rows to map.")
    missing = [c for c in dict.fromkeys(needed) if c not in gdf.columns]
    if missing:
        raise SchemaError(
            f"{what}: column(s) {quote_values(missing)} not in the layer; available: {quote_values(list(gdf.columns), limit=20)}"
        )
    if gdf.crs is None:
        raise CRSError(f"{what}: the layer has no CRS; set one (e.g. gdf.set_crs('EPSG:2264')) before mapping it.")


@dataclass(frozen=True)
class _TooltipSpec:
    fields: list[str]
    aliases: list[str]
    formats: dict[str, str]


def _tooltip_spec(
    column: str,
    tooltip_fields: Sequence[str] | None,
    tooltip_aliases: Sequence[str] | None,
    tooltip_formats: Mapping[str, str] | None,
    name_field: str | None,
    name_alias: str,
) -> _TooltipSpec:
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
    return _TooltipSpec(fields=fields, aliases=[str(a) for a in aliases], formats=formats)


def _feature_collection(
    frame: gpd.GeoDataFrame, tip: _TooltipSpec, extra: Mapping[str, Sequence[str]] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """GeoJSON with only the escaped tooltip texts as properties; ids are the frame's index labels."""
    ids = [str(i) for i in frame.index] if frame.index.is_unique else [str(i) for i in range(len(frame))]
    cols: dict[str, list[str]] = {}
    for j, field in enumerate(tip.fields):
        fmt = tip.formats.get(field)
        cols[f"t{j}"] = [html.escape(_format_cell(v, fmt)) for v in frame[field].tolist()]
    for key, vals in (extra or {}).items():
        cols[key] = [html.escape(str(v)) for v in vals]
    geoms = shapely.to_geojson(np.asarray(frame.geometry.values, dtype=object))
    features = [
        {
            "type": "Feature",
            "id": fid,
            "properties": {key: vals[i] for key, vals in cols.items()},
            "geometry": json.loads(g),
        }
        for i, (fid, g) in enumerate(zip(ids, geoms, strict=True))
    ]
    return {"type": "FeatureCollection", "features": features}, ids


def _base_map(frame: gpd.GeoDataFrame, *, tiles: str | None, asset_base: str, background: str) -> folium.Map:
    minx, miny, maxx, maxy = (float(v) for v in frame.total_bounds)
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=10,
        tiles=tiles,
        control_scale=True,
        prefer_canvas=False,  # SVG paths: crisp, and testable in a browser
    )
    use_local_assets(m, asset_base)
    if tiles is None:
        _Background(background).add_to(m)
    _FitBounds([[miny, minx], [maxy, maxx]]).add_to(m)
    return m


def _add_layer(
    m: folium.Map,
    data: dict[str, Any],
    styles: Mapping[str, dict[str, Any]],
    tip: _TooltipSpec,
    *,
    layer_name: str,
    popup: bool,
    has_points: bool,
) -> folium.GeoJson:
    def style_function(feature: dict[str, Any]) -> dict[str, Any]:
        return styles[feature["id"]]

    def highlight_function(feature: dict[str, Any]) -> dict[str, Any]:
        return {"weight": 2.5, "color": "#000000"}

    keys = [f"t{j}" for j in range(len(tip.fields))]
    aliases = [html.escape(a) for a in tip.aliases]
    layer = folium.GeoJson(
        data,
        name=html.escape(layer_name),  # Leaflet's layer control writes names as HTML
        style_function=style_function,
        highlight_function=highlight_function,
        tooltip=folium.GeoJsonTooltip(fields=keys, aliases=aliases, labels=True, sticky=True) if keys else None,
        popup=folium.GeoJsonPopup(fields=keys, aliases=aliases, labels=True) if (popup and keys) else None,
        marker=folium.CircleMarker(radius=5, fill=True) if has_points else None,
    )
    layer.add_to(m)
    return layer


def _add_outline(m: folium.Map, outline: gpd.GeoDataFrame, *, simplify_m: float, precision: int) -> None:
    """Draw polygon outlines (e.g. divisions) under the data as context: grey, not interactive.

    Without background tiles, points would otherwise float on a blank page.
    """
    if outline.crs is None:
        raise CRSError("outline: the layer has no CRS.")
    frame = simplify_for_display(outline[[outline.geometry.name]], tolerance_m=simplify_m, precision=precision)
    data = json.loads(frame.to_json(drop_id=True))
    folium.GeoJson(
        data,
        name="Outlines",
        style_function=lambda _f: {"color": "#757575", "weight": 1.2, "fill": False, "interactive": False},
        interactive=False,
        control=False,
    ).add_to(m)


def _drop_empty(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    geoms = np.asarray(frame.geometry.values, dtype=object)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    return frame.loc[~empty], int(empty.sum())


def _has_points(frame: gpd.GeoDataFrame) -> bool:
    return bool(np.isin(shapely.get_type_id(np.asarray(frame.geometry.values, dtype=object)), [0, 4]).any())


def _style(color: str, *, fill_opacity: float, points: bool) -> dict[str, Any]:
    return {
        "fillColor": color,
        "color": "#4d4d4d" if not points else color,
        "weight": 0.6 if not points else 1,
        "fillOpacity": fill_opacity,
        "opacity": 0.9,
    }


def choropleth(
    gdf: gpd.GeoDataFrame,
    column: str,
    *,
    scheme: Scheme = "quantiles",
    k: int = 5,
    cmap: str = "YlOrRd",
    tooltip_fields: Sequence[str] | None = None,
    tooltip_aliases: Sequence[str] | None = None,
    tooltip_formats: Mapping[str, str] | None = None,
    name_field: str | None = None,
    name_alias: str = "Name",
    legend_title: str = "",
    value_format: str | None = None,
    missing_color: str = MISSING_COLOR,
    fill_opacity: float = 0.75,
    tiles: str | None = None,
    asset_base: str = DEFAULT_ASSET_BASE,
    simplify_m: float = 10.0,
    precision: int = 5,
    seed: int | None = None,
    layer_name: str | None = None,
    layer_control: bool = True,
    popup: bool = False,
    background: str = "#ffffff",
    outline: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """Draw a classed choropleth of a numeric column; works offline.

    Parameters
    ----------
    gdf
        Polygons (or points) in any CRS; not changed.
    column
        Numeric column to classify. Missing values are drawn in ``missing_color``
        with a "No data" legend entry.
    scheme, k, seed, value_format
        Passed to :func:`classify`. Awkward data (ties, one value) give fewer classes
        and a note under the legend instead of an error.
    cmap
        Colour ramp, one of :data:`SEQUENTIAL_CMAPS` (``_r`` reverses); the default
        ColorBrewer ``YlOrRd`` is colour-blind safe and prints in greyscale.
    tooltip_fields, tooltip_aliases, tooltip_formats
        Columns shown on hover (default: ``column``), their labels, and optional
        ``str.format`` patterns per column (``{"p_sim": "{:.3f}"}``).
    name_field, name_alias
        Column shown first in the tooltip, labelled ``name_alias``.
    legend_title
        Legend heading (default: ``column``).
    missing_color, fill_opacity, background
        Colours: no-data fill, fill opacity, map background when there are no tiles.
    tiles
        None (default) draws no background tiles, so nothing is fetched from the web.
        Any folium tiles name or URL template needs the internet.
    asset_base
        URL of the vendored files; see :func:`use_local_assets`.
    simplify_m, precision
        Display simplification; see :func:`simplify_for_display`.
    layer_name, layer_control, popup
        Name in the layer control (default: the legend title), whether to add the
        control, and whether a click opens a popup with the tooltip fields.
    outline
        Polygons drawn underneath as grey, non-interactive outlines (context for a
        point layer on a map without tiles), e.g. the division boundaries.

    Returns
    -------
    folium.Map
        Feature ids are the index labels of ``gdf`` as strings (positions if the index
        is not unique), so ``st_folium(...)["last_active_drawing"]["id"]`` finds the row.
        Tooltip texts in the features' properties are HTML-escaped.

    Raises
    ------
    SchemaError
        If a column is missing or ``column`` is not numeric.
    CRSError
        If ``gdf`` has no CRS.
    EmptyInputError
        If ``gdf`` has no rows, or no row has a geometry.
    ValueDomainError
        If ``column`` holds infinite values.
    """
    _validate_frame(gdf, [column, *(tooltip_fields or []), *([name_field] if name_field else [])], what="choropleth")
    series = gdf[column]
    if pd.api.types.is_bool_dtype(series) or not (pd.api.types.is_numeric_dtype(series) or series.isna().all()):
        raise SchemaError(
            f"choropleth: column {column!r} must be numeric, got dtype {series.dtype}; use categorical_map for labels"
        )
    infinite = np.isinf(series.to_numpy(dtype=float, na_value=np.nan))
    if infinite.any():
        raise ValueDomainError(
            f"choropleth: column {column!r} holds infinity in {first_rows(np.flatnonzero(infinite) + 1)} "
            "(a rate divided by zero?); set those values to NaN to draw them as no data"
        )
    ramp(cmap, 3)  # validate the name before any work
    check_color(missing_color, what="missing_color")
    tip = _tooltip_spec(column, tooltip_fields, tooltip_aliases, tooltip_formats, name_field, name_alias)

    frame, n_no_geom = _drop_empty(gdf)
    if len(frame) == 0:
        raise EmptyInputError(f"choropleth: none of the {len(gdf)} rows has a geometry to draw.")
    frame = simplify_for_display(
        frame[[*dict.fromkeys([column, *tip.fields]), frame.geometry.name]], tolerance_m=simplify_m, precision=precision
    )
    cls = classify(frame[column], scheme=scheme, k=k, seed=seed, value_format=value_format)
    colors = ramp(cmap, cls.k)
    points = _has_points(frame)

    data, ids = _feature_collection(frame, tip)
    styles = {
        fid: _style(colors[c] if c >= 0 else missing_color, fill_opacity=fill_opacity if c >= 0 else 0.6, points=points)
        for fid, c in zip(ids, cls.classes.tolist(), strict=True)
    }
    title = legend_title or column
    m = _base_map(frame, tiles=tiles, asset_base=asset_base, background=background)
    if outline is not None:
        _add_outline(m, outline, simplify_m=simplify_m, precision=precision)
    _add_layer(m, data, styles, tip, layer_name=layer_name or title, popup=popup, has_points=points)

    entries: list[tuple[str, str, int | None]] = list(zip(cls.labels, colors, cls.counts, strict=True))
    if cls.n_missing:
        entries.append(("No data", missing_color, cls.n_missing))
    notes = [cls.note] if cls.note else []
    if n_no_geom:
        notes.append(f"{n_no_geom} row(s) without geometry not drawn.")
    Legend(entries, title=title, note=" ".join(notes)).add_to(m)
    if layer_control:
        folium.LayerControl(collapsed=True).add_to(m)
    return m


def categorical_map(
    gdf: gpd.GeoDataFrame,
    column: str,
    *,
    colors: Mapping[str, str],
    labels: Mapping[str, str] | None = None,
    unknown: Literal["error", "missing"] = "error",
    hide_empty: bool = False,
    tooltip_fields: Sequence[str] | None = None,
    tooltip_aliases: Sequence[str] | None = None,
    tooltip_formats: Mapping[str, str] | None = None,
    name_field: str | None = None,
    name_alias: str = "Name",
    legend_title: str = "",
    missing_color: str = MISSING_COLOR,
    missing_label: str = "No data",
    fill_opacity: float = 0.8,
    tiles: str | None = None,
    asset_base: str = DEFAULT_ASSET_BASE,
    simplify_m: float = 10.0,
    precision: int = 5,
    layer_name: str | None = None,
    layer_control: bool = True,
    popup: bool = False,
    background: str = "#ffffff",
    outline: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """Draw areas coloured by category (e.g. LISA clusters); works offline.

    Parameters
    ----------
    gdf
        Polygons (or points) in any CRS; not changed.
    column
        Category column. Values are matched to ``colors`` by ``str(value)``; missing
        values are drawn in ``missing_color`` as ``missing_label``.
    colors
        Category → colour, in legend order (e.g. :data:`LISA_COLORS`).
    labels
        Optional category → legend label (default: the category itself).
    unknown
        ``"error"`` raises on values not in ``colors``; ``"missing"`` draws them as missing
        and says so under the legend.
    hide_empty
        Leave categories that no area has out of the legend.
    tooltip_fields, tooltip_aliases, tooltip_formats, name_field, name_alias, legend_title
        As in :func:`choropleth`.
    missing_color, missing_label, fill_opacity, background, tiles, asset_base,
    simplify_m, precision, layer_name, layer_control, popup, outline
        As in :func:`choropleth`.

    Raises
    ------
    ValueDomainError
        If ``unknown="error"`` and some values have no colour (all such values and rows named).
    SchemaError, CRSError, EmptyInputError
        As in :func:`choropleth`.
    """
    _validate_frame(
        gdf, [column, *(tooltip_fields or []), *([name_field] if name_field else [])], what="categorical_map"
    )
    if not colors:
        raise ValueError("colors must map at least one category to a colour")
    if unknown not in ("error", "missing"):
        raise ValueError(f"unknown must be 'error' or 'missing'; got {unknown!r}")
    palette = {str(key): check_color(c, what=f"colour of {key!r}") for key, c in colors.items()}
    check_color(missing_color, what="missing_color")
    label_of = {key: str((labels or {}).get(key, key)) for key in palette}
    tip = _tooltip_spec(column, tooltip_fields, tooltip_aliases, tooltip_formats, name_field, name_alias)

    raw = gdf[column]
    is_missing = raw.isna().to_numpy()
    keys = np.array([None if miss else str(v) for v, miss in zip(raw.tolist(), is_missing, strict=True)], dtype=object)
    is_unknown = ~is_missing & ~np.isin(keys, list(palette))
    notes: list[str] = []
    if is_unknown.any():
        bad_values = list(dict.fromkeys(keys[is_unknown].tolist()))
        if unknown == "error":
            raise ValueDomainError(
                f"categorical_map: column {column!r} has values with no colour: {quote_values(bad_values)} "
                f"({first_rows(np.flatnonzero(is_unknown) + 1)}); colours are given for {quote_values(list(palette))}"
            )
        notes.append(
            f"{int(is_unknown.sum())} area(s) with other values ({', '.join(map(str, bad_values[:5]))}) drawn as {missing_label}."
        )
        keys[is_unknown] = None

    work = gdf.assign(__cat=keys)
    frame, n_no_geom = _drop_empty(work)
    if len(frame) == 0:
        raise EmptyInputError(f"categorical_map: none of the {len(gdf)} rows has a geometry to draw.")
    frame = simplify_for_display(
        frame[[*dict.fromkeys(["__cat", *tip.fields]), frame.geometry.name]],
        tolerance_m=simplify_m,
        precision=precision,
    )
    points = _has_points(frame)
    data, ids = _feature_collection(frame, tip)
    cats = [None if pd.isna(c) else str(c) for c in frame["__cat"].tolist()]
    styles = {
        fid: _style(palette[c] if c is not None else missing_color, fill_opacity=fill_opacity, points=points)
        for fid, c in zip(ids, cats, strict=True)
    }
    title = legend_title or column
    m = _base_map(frame, tiles=tiles, asset_base=asset_base, background=background)
    if outline is not None:
        _add_outline(m, outline, simplify_m=simplify_m, precision=precision)
    _add_layer(m, data, styles, tip, layer_name=layer_name or title, popup=popup, has_points=points)

    counts = pd.Series([c for c in cats if c is not None], dtype=object).value_counts()
    entries: list[tuple[str, str, int | None]] = [
        (label_of[key], palette[key], int(counts.get(key, 0)))
        for key in palette
        if counts.get(key, 0) or not hide_empty
    ]
    n_missing = sum(c is None for c in cats)
    if n_missing:
        entries.append((missing_label, missing_color, n_missing))
    if n_no_geom:
        notes.append(f"{n_no_geom} row(s) without geometry not drawn.")
    Legend(entries, title=title, note=" ".join(notes)).add_to(m)
    if layer_control:
        folium.LayerControl(collapsed=True).add_to(m)
    return m
