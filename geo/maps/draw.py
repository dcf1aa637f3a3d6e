"""Choropleth and category maps (folium) that draw with no internet access.

Both maps take one path (``_draw``): check the layer, drop rows without a geometry,
simplify for display, build the tooltips, then the map (:func:`geo.maps.assets.offline_map`),
the optional outline, the layer, the reference layers (``reference=``, a
:class:`~geo.maps.overlays.MapReference`: roads with their names, rail, greenways, ZIP codes,
divisions, landmarks, each toggleable; tiles offered, switched off), the selected areas'
outline (``selected=``) and the legend (:class:`geo.maps.legend.Legend`, plain HTML, never a
branca ``ColorMap``). They differ only in how a row gets its colour and which legend
entries that adds: :func:`choropleth` classes a numeric column
(:func:`geo.maps.classify.classify`), :func:`categorical_map` looks each category up in a palette.
Every text that comes from the data (names, values, category labels, titles) is HTML-escaped
before it reaches a tooltip, the legend or the layer control.

Geometry is reprojected to EPSG:4326, simplified for display with shared borders kept
(``shapely.coverage_simplify``) and rounded to 5 decimals (about 1 m). Polygons are written
as encoded polylines (:mod:`geo.maps._compact`): the 459-NPA map takes about 0.1 MB of HTML,
0.27 MB with the reference layers; the 2,652 incident hexagons 0.5 MB with them. This is for
display only, never for analysis.

Nothing here imports streamlit. The app shows a map with::

    m = geo.maps.draw.choropleth(npa, "rate", tooltip_fields=["rate"], name_field="name")
    st_folium(m, key="rate_map", height=600, use_container_width=True,
              returned_objects=["last_active_drawing"])
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import CRSError, EmptyInputError, SchemaError, ValueDomainError, first_rows, quote_values
from geo.ingest.reference import ReferenceLayers
from geo.maps._compact import CompactGeoJson, can_compact
from geo.maps._tooltip import TooltipSpec, feature_collection, tooltip_spec
from geo.maps.assets import DEFAULT_ASSET_BASE, offline_map
from geo.maps.classify import Scheme, classify, ramp
from geo.maps.geometry import has_points, simplify_for_display, without_empty
from geo.maps.legend import Legend, check_color
from geo.maps.overlays import MapReference, as_reference, selection_outline
from geo.maps.palettes import AREA_BORDER_COLOR, CONTEXT_OUTLINE_COLOR, HOVER_OUTLINE_COLOR, MISSING_COLOR

__all__ = ["choropleth", "categorical_map", "MapReference", "selection_outline"]


#: The column of :func:`categorical_map`'s working frame that holds each row's palette key.
_CATEGORY = "__cat"


def _validate_frame(
    gdf: object, column: str, tooltip_fields: Sequence[str] | None, name_field: str | None, *, what: str
) -> None:
    """Check that ``gdf`` is a GeoDataFrame with rows, a CRS and every column to draw."""
    needed = [column, *(tooltip_fields or []), *([name_field] if name_field else [])]
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


def _check_selected(gdf: gpd.GeoDataFrame, selected: Sequence[Hashable] | None) -> tuple[Hashable, ...]:
    """The selected labels, each checked to be in ``gdf.index``."""
    if selected is None:
        return ()
    if isinstance(selected, str) or not isinstance(selected, Sequence):
        raise TypeError(f"selected must be a sequence of index labels, got {type(selected).__name__}")
    unknown = [lab for lab in selected if lab not in gdf.index]
    if unknown:
        raise KeyError(f"selected: {quote_values([str(u) for u in unknown])} not in the layer's index")
    return tuple(selected)


@dataclass(frozen=True)
class _MapOptions:
    """The options both maps share, passed on unchanged to :func:`_draw`."""

    title: str
    layer_name: str | None
    layer_control: bool
    popup: bool
    fill_opacity: float
    missing_color: str
    missing_label: str
    missing_opacity: float
    tiles: str | None
    asset_base: str
    background: str
    simplify_m: float
    precision: int
    outline: gpd.GeoDataFrame | None
    reference: MapReference | None = None
    selected: tuple[Hashable, ...] = ()


@dataclass(frozen=True)
class _Colouring:
    """What a map's own rule gives for the drawn rows.

    ``colors`` holds one colour per row, None where the row is drawn as missing; ``entries``
    are the legend entries above the missing one; ``notes`` go under the legend.
    """

    colors: list[str | None]
    entries: list[tuple[str, str, int | None]]
    notes: list[str]


def _add_layer(
    m: folium.Map,
    data: dict[str, Any],
    styles: Mapping[str, dict[str, Any]],
    tip: TooltipSpec,
    *,
    layer_name: str,
    popup: bool,
    points: bool,
    geoms: Sequence[Any],
    precision: int,
) -> folium.GeoJson:
    """Add the data layer: one style per feature id, a tooltip and optionally a popup.

    Polygons are written compactly (:class:`geo.maps._compact.CompactGeoJson`, about a third
    of the size); points stay plain GeoJSON, drawn as circle markers.
    """

    def style_function(feature: dict[str, Any]) -> dict[str, Any]:
        return styles[feature["id"]]

    def highlight_function(feature: dict[str, Any]) -> dict[str, Any]:
        return {"weight": 2.5, "color": HOVER_OUTLINE_COLOR}

    keys = [f"t{j}" for j in range(len(tip.fields))]
    aliases = [html.escape(a) for a in tip.aliases]
    kwargs: dict[str, Any] = dict(
        name=html.escape(layer_name),  # Leaflet's layer control writes names as HTML
        style_function=style_function,
        highlight_function=highlight_function,
        tooltip=folium.GeoJsonTooltip(fields=keys, aliases=aliases, labels=True, sticky=True, direction="auto")
        if keys
        else None,
        popup=folium.GeoJsonPopup(fields=keys, aliases=aliases, labels=True) if (popup and keys) else None,
    )
    if not points and can_compact(geoms, precision):
        ordered = [styles[f["id"]] for f in data["features"]]
        layer: folium.GeoJson = CompactGeoJson(data, geoms=geoms, styles=ordered, precision=precision, **kwargs)
    else:
        layer = folium.GeoJson(data, marker=folium.CircleMarker(radius=5, fill=True) if points else None, **kwargs)
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
        style_function=lambda _f: {"color": CONTEXT_OUTLINE_COLOR, "weight": 1.2, "fill": False, "interactive": False},
        interactive=False,
        control=False,
    ).add_to(m)


def _style(color: str | None, *, options: _MapOptions, points: bool) -> dict[str, Any]:
    """The Leaflet style of one feature; ``color`` None draws it as missing."""
    fill = color if color is not None else options.missing_color
    return {
        "fillColor": fill,
        "color": AREA_BORDER_COLOR if not points else fill,
        "weight": 0.6 if not points else 1,
        "fillOpacity": options.fill_opacity if color is not None else options.missing_opacity,
        "opacity": 0.9,
    }


def _legend(colouring: _Colouring, *, n_no_geom: int, options: _MapOptions) -> Legend:
    """The map's own legend entries, then the missing rows, then the notes and the rows not drawn."""
    entries = list(colouring.entries)
    opacity = [options.fill_opacity] * len(entries)  # swatches as the areas are drawn
    n_missing = sum(c is None for c in colouring.colors)
    if n_missing:
        entries.append((options.missing_label, options.missing_color, n_missing))
        opacity.append(options.missing_opacity)
    notes = list(colouring.notes)
    if n_no_geom:
        notes.append(f"{n_no_geom} row(s) without geometry not drawn.")
    return Legend(entries, title=options.title, note=" ".join(notes), opacity=opacity, background=options.background)


def _draw(
    gdf: gpd.GeoDataFrame,
    value_column: str,
    *,
    what: str,
    tip: TooltipSpec,
    colouring: Callable[[pd.Series], _Colouring],
    options: _MapOptions,
) -> folium.Map:
    """Draw the rows of a checked ``gdf`` that have a geometry, coloured by ``colouring(value_column)``.

    The steps both maps share: drop rows without geometry, simplify for display, build
    the features and their styles, then the base map, the outline, the layer, the reference
    layers (over the fills, so roads and names stay readable), the selected rows' outline,
    the legend and the layer control, in that order (streamlit-folium names elements by position).
    """
    frame, n_no_geom = without_empty(gdf)
    if len(frame) == 0:
        raise EmptyInputError(f"{what}: none of the {len(gdf)} rows has a geometry to draw.")
    frame = simplify_for_display(
        frame[[*dict.fromkeys([value_column, *tip.fields]), frame.geometry.name]],
        tolerance_m=options.simplify_m,
        precision=options.precision,
    )
    colours = colouring(frame[value_column])
    points = has_points(frame)
    data, ids = feature_collection(frame, tip)
    styles = {fid: _style(c, options=options, points=points) for fid, c in zip(ids, colours.colors, strict=True)}

    m = offline_map(
        frame.total_bounds, tiles=options.tiles, asset_base=options.asset_base, background=options.background
    )
    if options.outline is not None:
        _add_outline(m, options.outline, simplify_m=options.simplify_m, precision=options.precision)
    layer_name = options.layer_name or options.title
    geoms = list(frame.geometry.values)
    _add_layer(
        m, data, styles, tip, layer_name=layer_name, popup=options.popup, points=points, geoms=geoms,
        precision=options.precision,
    )  # fmt: skip
    if options.reference is not None:
        options.reference.add_to(m, simplify_m=options.simplify_m, precision=options.precision)
    if options.selected:
        chosen = [lab for lab in options.selected if lab in frame.index]  # rows without geometry are not drawn
        selection_outline(frame, chosen, precision=options.precision).add_to(m)
    _legend(colours, n_no_geom=n_no_geom, options=options).add_to(m)
    if options.layer_control:
        folium.LayerControl(collapsed=True).add_to(m)
    return m


def _check_numeric(series: pd.Series, column: str) -> None:
    """Refuse a column that is not numeric, or holds infinity (rows named)."""
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


def _classed(
    values: pd.Series, *, scheme: Scheme, k: int, cmap: str, seed: int | None, value_format: str | None
) -> _Colouring:
    """Colour each value by its class on the ramp ``cmap``; one legend entry per class."""
    cls = classify(values, scheme=scheme, k=k, seed=seed, value_format=value_format)
    colors = ramp(cmap, cls.k)
    return _Colouring(
        colors=[colors[c] if c >= 0 else None for c in cls.classes.tolist()],
        entries=list(zip(cls.labels, colors, cls.counts, strict=True)),
        notes=[cls.note] if cls.note else [],
    )


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
    reference: MapReference | ReferenceLayers | None = None,
    selected: Sequence[Hashable] | None = None,
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
    reference
        Reference layers drawn over the areas, each toggleable in the layer control
        (:class:`MapReference`; roads with their names at street zoom, divisions, ...).
        They make the map readable with no tiles; tiles are offered, switched off.
    selected
        Index labels of rows to outline over everything (the selected area).

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
    _validate_frame(gdf, column, tooltip_fields, name_field, what="choropleth")
    _check_numeric(gdf[column], column)
    ramp(cmap, 3)  # validate the name before any work
    check_color(missing_color, what="missing_color")
    tip = tooltip_spec(column, tooltip_fields, tooltip_aliases, tooltip_formats, name_field, name_alias)
    colouring = partial(_classed, scheme=scheme, k=k, cmap=cmap, seed=seed, value_format=value_format)
    options = _MapOptions(
        title=legend_title or column,
        layer_name=layer_name,
        layer_control=layer_control,
        popup=popup,
        fill_opacity=fill_opacity,
        missing_color=missing_color,
        missing_label="No data",
        missing_opacity=0.6,
        tiles=tiles,
        asset_base=asset_base,
        background=background,
        simplify_m=simplify_m,
        precision=precision,
        outline=outline,
        reference=as_reference(reference),
        selected=_check_selected(gdf, selected),
    )
    return _draw(gdf, column, what="choropleth", tip=tip, colouring=colouring, options=options)


def _check_categories(
    colors: Mapping[str, str], labels: Mapping[str, str] | None, *, unknown: str, missing_color: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Check the palette options; return category -> colour and category -> legend label."""
    if not colors:
        raise ValueError("colors must map at least one category to a colour")
    if unknown not in ("error", "missing"):
        raise ValueError(f"unknown must be 'error' or 'missing'; got {unknown!r}")
    palette = {str(key): check_color(c, what=f"colour of {key!r}") for key, c in colors.items()}
    check_color(missing_color, what="missing_color")
    label_of = {key: str((labels or {}).get(key, key)) for key in palette}
    return palette, label_of


def _category_keys(
    raw: pd.Series, palette: Mapping[str, str], *, column: str, unknown: str, missing_label: str
) -> tuple[np.ndarray, list[str]]:
    """Each row's palette key (None if missing), and a note on the values not in the palette.

    With ``unknown="error"`` such values raise (all of them and their rows named); with
    ``"missing"`` their rows get None.
    """
    is_missing = raw.isna().to_numpy()
    keys = np.array([None if miss else str(v) for v, miss in zip(raw.tolist(), is_missing, strict=True)], dtype=object)
    is_unknown = ~is_missing & ~np.isin(keys, list(palette))
    if not is_unknown.any():
        return keys, []
    bad_values = list(dict.fromkeys(keys[is_unknown].tolist()))
    if unknown == "error":
        raise ValueDomainError(
            f"categorical_map: column {column!r} has values with no colour: {quote_values(bad_values)} "
            f"({first_rows(np.flatnonzero(is_unknown) + 1)}); colours are given for {quote_values(list(palette))}"
        )
    keys[is_unknown] = None
    note = f"{int(is_unknown.sum())} area(s) with other values ({', '.join(map(str, bad_values[:5]))}) drawn as {missing_label}."
    return keys, [note]


def _by_category(
    values: pd.Series,
    *,
    palette: Mapping[str, str],
    label_of: Mapping[str, str],
    hide_empty: bool,
    notes: Sequence[str],
) -> _Colouring:
    """Colour each row by its palette key; one legend entry per category, in palette order."""
    cats = [None if pd.isna(c) else str(c) for c in values.tolist()]
    counts = pd.Series([c for c in cats if c is not None], dtype=object).value_counts()
    return _Colouring(
        colors=[palette[c] if c is not None else None for c in cats],
        entries=[
            (label_of[key], palette[key], int(counts.get(key, 0)))
            for key in palette
            if counts.get(key, 0) or not hide_empty
        ],
        notes=list(notes),
    )


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
    reference: MapReference | ReferenceLayers | None = None,
    selected: Sequence[Hashable] | None = None,
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
    simplify_m, precision, layer_name, layer_control, popup, outline, reference, selected
        As in :func:`choropleth`.

    Raises
    ------
    ValueDomainError
        If ``unknown="error"`` and some values have no colour (all such values and rows named).
    SchemaError, CRSError, EmptyInputError
        As in :func:`choropleth`.
    """
    _validate_frame(gdf, column, tooltip_fields, name_field, what="categorical_map")
    palette, label_of = _check_categories(colors, labels, unknown=unknown, missing_color=missing_color)
    tip = tooltip_spec(column, tooltip_fields, tooltip_aliases, tooltip_formats, name_field, name_alias)
    keys, notes = _category_keys(gdf[column], palette, column=column, unknown=unknown, missing_label=missing_label)
    colouring = partial(_by_category, palette=palette, label_of=label_of, hide_empty=hide_empty, notes=notes)
    options = _MapOptions(
        title=legend_title or column,
        layer_name=layer_name,
        layer_control=layer_control,
        popup=popup,
        fill_opacity=fill_opacity,
        missing_color=missing_color,
        missing_label=missing_label,
        missing_opacity=fill_opacity,
        tiles=tiles,
        asset_base=asset_base,
        background=background,
        simplify_m=simplify_m,
        precision=precision,
        outline=outline,
        reference=as_reference(reference),
        selected=_check_selected(gdf, selected),
    )
    work = gdf.assign(**{_CATEGORY: keys})
    return _draw(work, _CATEGORY, what="categorical_map", tip=tip, colouring=colouring, options=options)
