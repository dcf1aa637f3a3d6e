"""Maps that draw with no internet: local Leaflet files instead of folium's CDN links.

folium and streamlit-folium load Leaflet, jQuery, Bootstrap, Font Awesome and d3 from
public CDNs; with none reachable the map stays blank. The maps of :mod:`geo.maps.draw`
need only Leaflet's own JavaScript, CSS and images, which ``tools/vendor_assets.py``
copies into ``static/vendor/leaflet/`` and Streamlit serves at ``/app/static/vendor/...``
(``--server.enableStaticServing true``).

:func:`offline_map` starts such a map (no tiles unless asked for, a plain background, tooltips
kept inside the map);
:func:`use_local_assets` points any map at the local files; :func:`offline_problems`
lists whatever would still need the internet on a map.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import branca.colormap
import folium
import folium.elements
from branca.element import MacroElement
from folium.template import Template

from geo.maps.legend import check_color

__all__ = [
    "DEFAULT_ASSET_BASE",
    "LEAFLET_VERSION",
    "offline_map",
    "use_local_assets",
    "offline_problems",
    "map_html_size",
    "standalone_html",
]


#: Where Streamlit serves ``static/vendor`` (``--server.enableStaticServing true``).
DEFAULT_ASSET_BASE = "/app/static/vendor"


#: The Leaflet release that ``tools/vendor_assets.py`` copies (keep the two in step).
LEAFLET_VERSION = "1.9.4"


_SAFE_URL = re.compile(r"^[A-Za-z0-9_.~:/\-]*$")


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
    """Refuse a base URL that folium would write unescaped into an attribute; drop a trailing slash."""
    if not isinstance(asset_base, str):
        raise TypeError(f"asset_base must be a str, got {type(asset_base).__name__}")
    if not _SAFE_URL.match(asset_base):
        raise ValueError(
            f"asset_base {asset_base!r} may hold only letters, digits and _ . ~ : / - "
            "(it is written into src/href attributes unescaped by folium)"
        )
    return asset_base.rstrip("/")


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
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement.__init__ has no annotations
        self._name = "FitBounds"
        self.bounds = bounds


class _TooltipFit(MacroElement):
    """Keep every tooltip inside the map: wrap a long one, and move it back in at an edge.

    Leaflet places a tooltip beside the pointer (``direction: "auto"`` only picks the side
    facing the map's centre) and the map's frame clips whatever sticks out, so a tooltip near
    the bottom or beside a wide one near an edge was cut off. This wraps Leaflet 1.9's
    ``L.Tooltip.prototype._setPosition`` (the pinned :data:`LEAFLET_VERSION`; the method is
    private): after Leaflet places the tooltip, it is shifted to lie at least 4 px inside the
    map, and it is never wider than the map.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var proto = L.Tooltip.prototype, margin = 4;
            if (proto._cmpdFit) { return; }
            var place = proto._setPosition;
            proto._setPosition = function (pos) {
                var map = this._map, el = this._container;
                if (map && el) {
                    el.style.whiteSpace = "normal";
                    el.style.width = "max-content";
                    el.style.maxWidth = Math.max(120, Math.min(360, map.getSize().x - 2 * margin)) + "px";
                }
                place.call(this, pos);
                if (!map || !el) { return; }
                var size = map.getSize(), at = L.DomUtil.getPosition(el), corner = map.layerPointToContainerPoint(at);
                var w = el.offsetWidth, h = el.offsetHeight, dx = 0, dy = 0;
                if (corner.x + w > size.x - margin) { dx = size.x - margin - (corner.x + w); }
                if (corner.x + dx < margin) { dx = margin - corner.x; }
                if (corner.y + h > size.y - margin) { dy = size.y - margin - (corner.y + h); }
                if (corner.y + dy < margin) { dy = margin - corner.y; }
                if (dx || dy) { L.DomUtil.setPosition(el, at.add([dx, dy])); }
            };
            proto._cmpdFit = true;
        })();
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement.__init__ has no annotations
        self._name = "TooltipFit"


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
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement.__init__ has no annotations
        self._name = "Background"
        self.color = check_color(color, what="background colour")


def offline_map(
    bounds: Iterable[float],
    *,
    tiles: str | None = None,
    asset_base: str = DEFAULT_ASSET_BASE,
    background: str = "#ffffff",
) -> folium.Map:
    """Start an empty map on the local Leaflet files, fitted to ``bounds`` at once.

    Parameters
    ----------
    bounds
        ``(min lon, min lat, max lon, max lat)``, as ``GeoDataFrame.total_bounds`` in EPSG:4326.
    tiles
        None (default) draws no background tiles, so nothing is fetched from the web;
        any folium tiles name or URL template needs the internet.
    asset_base
        URL of the vendored files; see :func:`use_local_assets`.
    background
        Colour of the map container when there are no tiles (Leaflet's default grey
        looks like "No data").

    Returns
    -------
    folium.Map
        SVG rendering (crisp, and testable in a browser), with a scale bar; tooltips stay
        inside the map (see :class:`_TooltipFit`).
    """
    minx, miny, maxx, maxy = (float(v) for v in bounds)
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
    _TooltipFit().add_to(m)
    return m


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
                "streamlit-folium adds two more d3 CDN scripts; use geo.maps.legend.Legend instead."
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
