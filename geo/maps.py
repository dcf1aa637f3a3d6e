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

    m = geo.maps.choropleth(npa, "rate", tooltip_fields=["rate"], name_field="name")
    st_folium(m, key="rate_map", height=600, use_container_width=True,
              returned_objects=["last_active_drawing"])
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

import branca
import branca.colormap
import branca.utilities
import folium
import folium.elements
import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template

from geo._errors import CRSError, EmptyInputError, SchemaError, ValueDomainError, first_rows, quote_values
from geo.settings import get_settings

__all__ = [
    "Scheme",
    "Classification",
    "Legend",
    "DEFAULT_ASSET_BASE",
    "LEAFLET_VERSION",
    "MISSING_COLOR",
    "LISA_COLORS",
    "SEQUENTIAL_CMAPS",
    "classify",
    "choropleth",
    "categorical_map",
    "simplify_for_display",
    "use_local_assets",
    "offline_problems",
    "map_html_size",
    "standalone_html",
]

Scheme = Literal["quantiles", "fisher_jenks", "natural_breaks", "equal_interval", "box_plot"]
_SCHEMES: tuple[str, ...] = get_args(Scheme)

#: Where Streamlit serves ``static/vendor`` (``--server.enableStaticServing true``).
DEFAULT_ASSET_BASE = "/app/static/vendor"
#: The Leaflet release that ``tools/vendor_assets.py`` copies (keep the two in step).
LEAFLET_VERSION = "1.9.4"
#: Fill for areas without a value ("No data").
MISSING_COLOR = "#bdbdbd"
#: LISA cluster colours for the labels of :data:`geo.autocorrelation.LISA_LABELS`, in legend
#: order; "Not significant" is lighter and "Isolated" (no neighbours) darker than "No data".
LISA_COLORS: dict[str, str] = {
    "High-High": "#d7191c",
    "Low-Low": "#2c7bb6",
    "Low-High": "#abd9e9",
    "High-Low": "#fdae61",
    "Not significant": "#f0f0f0",
    "Isolated": "#737373",
    "Undefined": "#404040",
}

#: Colour ramps accepted by :func:`choropleth` (append ``_r`` to reverse): ColorBrewer
#: sequential ramps, the viridis family, and the colour-blind-safe ColorBrewer diverging ramps.
SEQUENTIAL_CMAPS: frozenset[str] = frozenset(
    {
        "Blues", "BuGn", "BuPu", "GnBu", "Greens", "Greys", "OrRd", "Oranges", "PuBu", "PuBuGn",
        "PuRd", "Purples", "RdPu", "Reds", "YlGn", "YlGnBu", "YlOrBr", "YlOrRd",
        "viridis", "plasma", "inferno", "magma",
        "RdBu", "RdYlBu", "PuOr", "BrBG", "PiYG", "PRGn",
    }
)  # fmt: skip

#: Above this many values Fisher-Jenks (pure Python here, O(n²)) runs on a seeded sample.
_FISHER_JENKS_MAX_N = 1000
#: Metres per degree of latitude; display tolerances are converted with it.
_M_PER_DEGREE = 111_320.0
_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_SAFE_URL = re.compile(r"^[A-Za-z0-9_.~:/\-]*$")
_POLYGONAL = {"Polygon", "MultiPolygon"}
_LINEAR = {"LineString", "MultiLineString", "LinearRing"}


# --------------------------------------------------------------------------- assets


def use_local_assets(m: folium.Map, asset_base: str = DEFAULT_ASSET_BASE) -> folium.Map:
    """Point one map at the local Leaflet files and drop folium's other CDN libraries.

    folium's ``Map.default_js`` / ``default_css`` are class attributes (lists shared
    by every map); this sets new lists on ``m`` only. jQuery, Bootstrap, Font Awesome
    and Awesome Markers are dropped: polygons, tooltips, popups, circle markers, the
    layer control and :class:`Legend` need only Leaflet. Leaflet's CSS finds its
    images (layer-control icon, marker icons) relative to itself.

    Parameters
    ----------
    m
        The map to change (changed in place and returned).
    asset_base
        URL of the folder that holds ``leaflet/leaflet.js`` and ``leaflet/leaflet.css``.
        With ``streamlit run --server.enableStaticServing true`` and the files in
        ``static/vendor/`` next to the app, that is ``/app/static/vendor``.

    Returns
    -------
    folium.Map
        ``m`` itself.
    """
    if not isinstance(m, folium.Map):
        raise TypeError(f"use_local_assets expects a folium.Map, got {type(m).__name__}")
    base = _check_asset_base(asset_base)
    m.default_js = [("leaflet", f"{base}/leaflet/leaflet.js")]
    m.default_css = [("leaflet_css", f"{base}/leaflet/leaflet.css")]
    return m


def _check_asset_base(asset_base: str) -> str:
    if not isinstance(asset_base, str):
        raise TypeError(f"asset_base must be a str, got {type(asset_base).__name__}")
    if not _SAFE_URL.match(asset_base):
        raise ValueError(
            f"asset_base {asset_base!r} may hold only letters, digits and _ . ~ : / - "
            "(it is written into src/href attributes unescaped by folium)"
        )
    return asset_base.rstrip("/")


def _walk(element: Any) -> Any:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def offline_problems(m: folium.Map, *, include_tiles: bool = True) -> list[str]:
    """List what on ``m`` would need the internet.

    Parameters
    ----------
    m
        The map to inspect.
    include_tiles
        Also report tile layers served from the web. Missing tiles leave the
        background empty but do not stop the map from drawing.

    Returns
    -------
    list of str
        One sentence per problem; empty when the map draws with no internet.
    """
    problems: list[str] = []
    for el in _walk(m):
        if isinstance(el, branca.colormap.ColorMap):
            problems.append(
                f"{type(el).__name__} {el.get_name()!r} is on the map: branca loads d3 from a CDN for it and "
                "streamlit-folium adds two more d3 CDN scripts; use geo.maps.Legend instead."
            )
        if isinstance(el, folium.elements.JSCSSMixin):
            for kind, links in (("script", el.default_js), ("stylesheet", el.default_css)):
                for name, url in links:
                    if re.match(r"^(?:https?:)?//", url):
                        problems.append(f"{type(el).__name__} loads {kind} {name!r} from {url}")
        if include_tiles and isinstance(el, folium.TileLayer):
            if re.match(r"^(?:https?:)?//", str(el.tiles)):
                problems.append(f"tile layer {el.tile_name!r} loads tiles from {el.tiles}")
    return problems


def map_html_size(m: folium.Map) -> int:
    """Size in bytes (UTF-8) of the map rendered as a complete HTML page."""
    return len(m.get_root().render().encode("utf-8"))


def standalone_html(m: folium.Map, vendor_dir: str | Path) -> str:
    """Render ``m`` as one HTML page with Leaflet inlined, to open from a file with no internet.

    The Leaflet script and stylesheet set by :func:`use_local_assets` are replaced by
    the files in ``vendor_dir`` (``static/vendor``), and the CSS images become
    ``data:`` URLs.

    Parameters
    ----------
    m
        A map configured with :func:`use_local_assets` (every map from this module is).
    vendor_dir
        The folder written by ``tools/vendor_assets.py``.

    Raises
    ------
    FileNotFoundError
        If the vendored Leaflet files are missing (run ``python tools/vendor_assets.py``).
    ValueError
        If the map does not load Leaflet through :func:`use_local_assets`.
    """
    leaflet_dir = Path(vendor_dir) / "leaflet"
    js_path, css_path = leaflet_dir / "leaflet.js", leaflet_dir / "leaflet.css"
    for p in (js_path, css_path):
        if not p.is_file():
            raise FileNotFoundError(f"{p} is missing; run `python tools/vendor_assets.py`")
    js = js_path.read_text(encoding="utf-8")
    if re.search(r"</script", js, flags=re.IGNORECASE):
        raise ValueError(f"{js_path} contains '</script' and cannot be inlined")
    css = css_path.read_text(encoding="utf-8")

    def _data_url(match: re.Match[str]) -> str:
        img = leaflet_dir / match.group(1)
        if not img.is_file():
            return match.group(0)
        return "url(data:image/png;base64," + base64.b64encode(img.read_bytes()).decode("ascii") + ")"

    css = re.sub(r"url\((images/[A-Za-z0-9_.\-]+\.png)\)", _data_url, css)
    page = m.get_root().render()
    page, n_js = re.subn(
        r'<script src="[^"]*/leaflet/leaflet\.js"></script>', lambda _: "<script>" + js + "</script>", page
    )
    page, n_css = re.subn(
        r'<link rel="stylesheet" href="[^"]*/leaflet/leaflet\.css"/>', lambda _: "<style>" + css + "</style>", page
    )
    if n_js != 1 or n_css != 1:
        raise ValueError("the map does not load Leaflet from local assets; call use_local_assets(m) first")
    return page


# --------------------------------------------------------------------------- legend


class Legend(MacroElement):
    """A legend drawn as a Leaflet control in plain HTML: no d3, no CDN.

    Every label, title and note is HTML-escaped here; pass plain text.

    Parameters
    ----------
    entries
        ``(label, colour, count)`` per class, top to bottom; ``count`` may be None.
        Colours are ``#rgb``/``#rrggbb`` hex or CSS colour names.
    title
        Heading (may be empty).
    note
        Small print under the entries (may be empty), e.g. why there are fewer classes.
    position
        Leaflet control corner.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", "cmpd-legend");
            div.innerHTML = {{ this.html|tojson }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        entries: Sequence[tuple[str, str, int | None]],
        *,
        title: str = "",
        note: str = "",
        position: Literal["topleft", "topright", "bottomleft", "bottomright"] = "bottomright",
    ) -> None:
        super().__init__()
        self._name = "Legend"
        if position not in ("topleft", "topright", "bottomleft", "bottomright"):
            raise ValueError(f"position must be one of topleft, topright, bottomleft, bottomright; got {position!r}")
        for _, color, _ in entries:
            _check_color(color, what="legend colour")
        self.entries = [(str(label), color, count) for label, color, count in entries]
        self.title = str(title)
        self.note = str(note)
        self.position = position
        self.html = self._build_html()

    def _build_html(self) -> str:
        esc = html.escape
        parts = [
            '<div style="background:rgba(255,255,255,0.92);padding:6px 8px;border-radius:4px;'
            "box-shadow:0 1px 4px rgba(0,0,0,0.35);font:12px/1.45 Arial,Helvetica,sans-serif;"
            'color:#222;max-width:280px">'
        ]
        if self.title:
            parts.append(
                f'<div class="cmpd-legend-title" style="font-weight:bold;margin-bottom:3px">{esc(self.title)}</div>'
            )
        for label, color, count in self.entries:
            n = "" if count is None else f' <span style="color:#666">({count:,})</span>'
            parts.append(
                '<div class="cmpd-legend-item" style="white-space:nowrap">'
                f'<span style="display:inline-block;width:14px;height:12px;margin-right:6px;vertical-align:-1px;'
                f'border:1px solid #777;background:{esc(color)}"></span>{esc(label)}{n}</div>'
            )
        if self.note:
            parts.append(
                f'<div class="cmpd-legend-note" style="margin-top:4px;color:#555;font-size:11px;white-space:normal">{esc(self.note)}</div>'
            )
        parts.append("</div>")
        return "".join(parts)


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
        self.color = _check_color(color, what="background colour")


@cache
def _css_color_names() -> frozenset[str]:
    path = Path(branca.__file__).parent / "_cnames.json"
    return frozenset(k.lower() for k in json.loads(path.read_text(encoding="utf-8")))


def _check_color(color: object, *, what: str) -> str:
    if not isinstance(color, str) or not (_HEX_COLOR.match(color) or color.lower() in _css_color_names()):
        raise ValueError(f"{what} {color!r} is not a hex colour (#rrggbb) or a CSS colour name")
    return color


# --------------------------------------------------------------------------- classification


@dataclass(frozen=True)
class Classification:
    """Classes of a numeric column, as drawn by :func:`choropleth`.

    Attributes
    ----------
    scheme
        The classification scheme used.
    bins
        Upper bound of each class (class ``i`` holds ``bins[i-1] < v <= bins[i]``).
    labels
        Legend label of each class.
    classes
        Class index of every input value; ``-1`` where the value is missing.
    counts
        Number of values in each class.
    n_missing
        Number of missing values.
    k_requested
        The ``k`` asked for (``len(bins)`` may be smaller, see ``note``).
    note
        Why the classes differ from what was asked for (empty if they do not).
    """

    scheme: str
    bins: tuple[float, ...]
    labels: tuple[str, ...]
    classes: np.ndarray
    counts: tuple[int, ...]
    n_missing: int
    k_requested: int
    note: str = ""

    @property
    def k(self) -> int:
        """Number of classes actually formed."""
        return len(self.bins)


def _number_format(values: np.ndarray, bins: np.ndarray | None = None) -> str:
    """Choose a format for ``values``: whole numbers stay whole, else enough decimals to tell ``bins`` apart."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "{:,.2f}"
    if np.all(np.equal(np.mod(finite, 1), 0)):
        return "{:,.0f}"
    magnitude = float(np.median(np.abs(finite))) or float(np.abs(finite).max()) or 1.0
    decimals = 0 if magnitude >= 100 else 1 if magnitude >= 1 else min(6, 1 - math.floor(math.log10(magnitude)))
    if bins is not None:
        distinct = np.unique(bins).size
        while decimals < 6 and len({f"{b:,.{decimals}f}" for b in bins}) < distinct:
            decimals += 1
    return f"{{:,.{decimals}f}}"


def _fmt(fmt: str, value: float) -> str:
    text = fmt.format(value)
    return "0" if re.fullmatch(r"-0(?:\.0*)?", text) else text


def _natural_breaks_bins(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Compute NaturalBreaks bins like mapclassify (1-D k-means, best of 10), but seeded and thread-safe."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, init="k-means++", n_init=10, random_state=seed).fit(y.reshape(-1, 1))
    return np.sort(np.array([y[km.labels_ == c].max() for c in range(k)]))


def _fisher_jenks_bins(y: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, str]:
    note = ""
    sample = y
    if y.size > _FISHER_JENKS_MAX_N:
        rng = np.random.default_rng(seed)
        sample = np.concatenate([rng.choice(y, _FISHER_JENKS_MAX_N - 2, replace=False), [y.min(), y.max()]])
        k = min(k, np.unique(sample).size)
        note = (
            f"Fisher-Jenks breaks from a random sample of {_FISHER_JENKS_MAX_N:,} of {y.size:,} values (seed {seed})."
        )
    bins = np.asarray(mapclassify.FisherJenks(sample, k=k).bins, dtype=float)
    bins[-1] = y.max()
    return bins, note


def classify(
    values: Sequence[float] | np.ndarray | pd.Series,
    *,
    scheme: Scheme = "quantiles",
    k: int = 5,
    seed: int | None = None,
    value_format: str | None = None,
) -> Classification:
    """Put numeric values into classes for a choropleth, never failing on awkward data.

    Missing values (NaN, None) get class ``-1``. When there are fewer distinct values
    than ``k`` (or ties make quantile breaks coincide) fewer classes are formed and
    :attr:`Classification.note` says so; one distinct value gives one class.

    Parameters
    ----------
    values
        Numbers to classify.
    scheme
        ``quantiles`` (equal counts), ``fisher_jenks`` (optimal breaks; on more than
        1,000 values, computed on a seeded sample), ``natural_breaks`` (1-D k-means, seeded),
        ``equal_interval`` or ``box_plot`` (6 classes: outliers, whiskers and quartiles;
        ``k`` is ignored).
    k
        Number of classes, 2 to 12.
    seed
        Seed for ``natural_breaks`` and for the Fisher-Jenks sample; default
        :func:`geo.settings.get_settings` ``.seed``.
    value_format
        ``str.format`` pattern for numbers in labels, e.g. ``"{:,.1f}"``; default
        chosen from the spread of the values.

    Raises
    ------
    ValueError
        If ``scheme`` or ``k`` is not allowed.
    SchemaError
        If the values are not numeric.
    ValueDomainError
        If some values are infinite.

    Examples
    --------
    >>> c = classify([1, 2, 3, 4, 100, None], scheme="quantiles", k=2)
    >>> c.bins, c.counts, c.n_missing
    ((3.0, 100.0), (3, 2), 1)
    """
    if scheme not in _SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(_SCHEMES)}; got {scheme!r}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= 12:
        raise ValueError(f"k must be an integer from 2 to 12; got {k!r}")
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    if series.size and (pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series)):
        try:
            series = pd.to_numeric(series, errors="raise")
        except (TypeError, ValueError):
            raise SchemaError(
                f"Values to classify must be numeric; got dtype {series.dtype} "
                f"(e.g. {quote_values(series.dropna().unique()[:3].tolist())})"
            ) from None
    arr = series.to_numpy(dtype=float, na_value=np.nan)
    missing = np.isnan(arr)
    infinite = np.isinf(arr)
    if infinite.any():
        raise ValueDomainError(
            f"Values to classify must be finite; {first_rows(np.flatnonzero(infinite) + 1)} hold infinity"
        )
    seed = get_settings().seed if seed is None else int(seed)
    y = arr[~missing]
    classes = np.full(arr.shape, -1, dtype=int)
    n_unique = np.unique(y).size
    notes: list[str] = []

    fmt = value_format or _number_format(y)
    if n_unique == 0:
        return Classification(scheme, (), (), classes, (), int(missing.sum()), int(k), "No values to classify.")
    if n_unique == 1:
        classes[~missing] = 0
        only = float(y[0])
        return Classification(
            scheme, (only,), (_fmt(fmt, only),), classes, (int(y.size),), int(missing.sum()), int(k),
            f"All values equal {_fmt(fmt, only)}: one class.",
        )  # fmt: skip

    k_used = min(int(k), n_unique) if scheme != "box_plot" else 6
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if scheme == "quantiles":
            bins = np.asarray(mapclassify.Quantiles(y, k=k_used).bins, dtype=float)
        elif scheme == "equal_interval":
            bins = np.asarray(mapclassify.EqualInterval(y, k=k_used).bins, dtype=float)
        elif scheme == "fisher_jenks":
            bins, fj_note = _fisher_jenks_bins(y, k_used, seed)
            if fj_note:
                notes.append(fj_note)
        elif scheme == "natural_breaks":
            bins = _natural_breaks_bins(y, k_used, seed)
        else:
            bins = np.asarray(mapclassify.BoxPlot(y).bins, dtype=float)
    for w in caught:
        # mapclassify's UserWarnings ("Numba not installed", "Not enough unique values ...
        # Setting k to 3") are covered by the note below; anything else is passed on.
        if not issubclass(w.category, UserWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)

    if scheme == "box_plot":
        bins = np.maximum.accumulate(bins)  # fences can coincide with quartiles; keep the order
    else:
        bins = np.unique(bins)
        bins[-1] = max(bins[-1], y.max())
        if bins.size < k:
            why = f"only {n_unique} distinct values" if n_unique < k else "ties in the data"
            if n_unique < k and bins.size < n_unique:
                why += " and ties"
            notes.insert(0, f"{bins.size} classes instead of {k}: {why}.")
    classes[~missing] = np.minimum(np.searchsorted(bins, y, side="left"), bins.size - 1)
    counts = np.bincount(classes[~missing], minlength=bins.size)
    if scheme == "box_plot":
        labels = _box_plot_labels(bins, value_format or _number_format(np.concatenate([y, bins])))
    else:
        labels = _range_labels(y, classes[~missing], bins, value_format or _number_format(y, bins))
    return Classification(
        scheme=scheme,
        bins=tuple(float(b) for b in bins),
        labels=tuple(labels),
        classes=classes,
        counts=tuple(int(c) for c in counts),
        n_missing=int(missing.sum()),
        k_requested=int(k),
        note=" ".join(notes),
    )


def _range_labels(y: np.ndarray, yb: np.ndarray, bins: np.ndarray, fmt: str) -> list[str]:
    """Label each class with the smallest and largest value in it (its bounds if empty)."""
    labels = []
    for i, hi_bound in enumerate(bins):
        inside = y[yb == i]
        if inside.size:
            lo, hi = float(inside.min()), float(inside.max())
        else:
            lo, hi = (float(bins[i - 1]) if i else float(y.min())), float(hi_bound)
        a, b = _fmt(fmt, lo), _fmt(fmt, hi)
        labels.append(a if a == b else f"{a} – {b}")
    return labels


def _box_plot_labels(bins: np.ndarray, fmt: str) -> list[str]:
    f = [_fmt(fmt, b) for b in bins]
    labels = [
        f"Low outlier (≤ {f[0]})",
        f"{f[0]} – {f[1]} (lower whisker)",
        f"{f[1]} – {f[2]} (25th–50th pct)",
        f"{f[2]} – {f[3]} (50th–75th pct)",
        f"{f[3]} – {f[4]} (upper whisker)",
    ]
    if bins.size == 6:
        labels.append(f"High outlier (> {f[4]})")
    return labels[: bins.size]


def _ramp(cmap: str, n: int) -> list[str]:
    base = cmap[:-2] if cmap.endswith("_r") else cmap
    if base not in SEQUENTIAL_CMAPS:
        raise ValueError(
            f"cmap must be one of {', '.join(sorted(SEQUENTIAL_CMAPS))} (optionally with _r); got {cmap!r}"
        )
    if n <= 0:
        return []
    if n >= 3:
        return list(branca.utilities.color_brewer(cmap, n))
    three = branca.utilities.color_brewer(cmap, 3)
    return [three[1]] if n == 1 else [three[0], three[2]]


# --------------------------------------------------------------------------- geometry


def simplify_for_display(gdf: gpd.GeoDataFrame, *, tolerance_m: float = 10.0, precision: int = 5) -> gpd.GeoDataFrame:
    """Return a copy in EPSG:4326, repaired, simplified and rounded for a web map.

    Invalid geometries are repaired (``make_valid``, structure method). Polygons are
    simplified together with ``shapely.coverage_simplify`` so neighbours keep a
    common border (no slivers or gaps appear between them); a polygon that would come
    out empty or invalid is simplified on its own instead. Lines are simplified one by
    one; points are kept. Coordinates are then rounded to ``precision`` decimals.
    For display only: never use the result for analysis.

    Parameters
    ----------
    gdf
        Any CRS; rows and columns are kept, null geometries stay null.
    tolerance_m
        Simplification tolerance in metres (converted at 111,320 m per degree);
        0 turns simplification off.
    precision
        Decimals kept in longitude/latitude (5 ≈ 1 m).

    Raises
    ------
    CRSError
        If ``gdf`` has no CRS.
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"expected a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is None:
        raise CRSError("The layer has no CRS; set one (e.g. gdf.set_crs('EPSG:2264')) before mapping it.")
    if tolerance_m < 0 or not 0 <= precision <= 15:
        raise ValueError(f"tolerance_m must be >= 0 and precision 0..15; got {tolerance_m!r}, {precision!r}")
    out = gdf.to_crs("EPSG:4326") if not gdf.crs.equals("EPSG:4326") else gdf.copy()
    geoms = np.asarray(out.geometry.values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    bad = present & ~shapely.is_valid(geoms)
    if bad.any():
        geoms[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
    collections = present & (shapely.get_type_id(geoms) == 7)
    if collections.any():  # Leaflet tooltips skip GeometryCollections; keep their polygons
        geoms[collections] = [_polygonal_part(g) for g in geoms[collections]]
    if tolerance_m > 0:
        tol = tolerance_m / _M_PER_DEGREE
        types = shapely.get_type_id(geoms)
        poly = present & np.isin(types, [3, 6])
        line = present & np.isin(types, [1, 2, 5])
        if poly.any():
            simple = shapely.coverage_simplify(geoms[poly], tol)
            broken = shapely.is_empty(simple) | ~shapely.is_valid(simple)
            if broken.any():
                simple[broken] = shapely.simplify(geoms[poly][broken], tol, preserve_topology=True)
            geoms[poly] = simple
        if line.any():
            geoms[line] = shapely.simplify(geoms[line], tol, preserve_topology=True)
    if present.any():
        geoms[present] = shapely.transform(geoms[present], lambda xy: np.round(xy, precision))
    out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs="EPSG:4326"), crs="EPSG:4326")
    return out


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    """Return the polygons of a GeometryCollection (or the collection itself if it has none)."""
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if shapely.get_type_id(p) in (3, 6)]
    if not polys:
        return geom
    return polys[0] if len(polys) == 1 else shapely.union_all(polys)


# --------------------------------------------------------------------------- maps


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
    _ramp(cmap, 3)  # validate the name before any work
    _check_color(missing_color, what="missing_color")
    tip = _tooltip_spec(column, tooltip_fields, tooltip_aliases, tooltip_formats, name_field, name_alias)

    frame, n_no_geom = _drop_empty(gdf)
    if len(frame) == 0:
        raise EmptyInputError(f"choropleth: none of the {len(gdf)} rows has a geometry to draw.")
    frame = simplify_for_display(
        frame[[*dict.fromkeys([column, *tip.fields]), frame.geometry.name]], tolerance_m=simplify_m, precision=precision
    )
    cls = classify(frame[column], scheme=scheme, k=k, seed=seed, value_format=value_format)
    colors = _ramp(cmap, cls.k)
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
    palette = {str(key): _check_color(c, what=f"colour of {key!r}") for key, c in colors.items()}
    _check_color(missing_color, what="missing_color")
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
