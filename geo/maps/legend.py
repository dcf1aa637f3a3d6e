"""The map legend: plain HTML in a Leaflet control, never a branca ``ColorMap``.

streamlit-folium adds two d3 CDN scripts whenever a ``ColorMap`` is on the map, and a
script that fails to load stops the whole component. Every label is HTML-escaped.

The legend can be read on a phone and with a keyboard: its heading is a button
(``aria-expanded``) that hides and shows the entries; the box never takes more than half
the map's width and half its height (a quarter of the map at most), scrolling inside when
the entries do not fit; long labels wrap instead of being cut off. Swatches are drawn at
the fill opacity of the map's areas, so a swatch looks like the areas it stands for.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Literal

import branca
from branca.element import MacroElement
from folium.template import Template

from geo.maps.palettes import LEGEND_COLORS

__all__ = ["Legend", "check_color", "MAX_SHARE"]


_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")

#: The largest share of the map's width, and of its height, that the legend takes (so at most a quarter of it).
MAX_SHARE = 0.5

#: The legend's stylesheet; ``@name@`` stands for ``LEGEND_COLORS[name]``.
_CSS = """
.cmpd-legend { background: @box@; border-radius: 4px; box-shadow: 0 1px 4px @shadow@;
  font: 12px/1.4 Arial, Helvetica, sans-serif; color: @text@; max-width: 50vw; max-height: 50vh;
  display: flex; flex-direction: column; box-sizing: border-box; overflow: hidden; }
.cmpd-legend-toggle { display: flex; align-items: flex-start; gap: 6px; width: 100%; margin: 0; padding: 5px 8px;
  border: 0; background: transparent; color: inherit; font: inherit; font-weight: bold; text-align: left;
  cursor: pointer; border-radius: 4px; flex: none; }
.cmpd-legend-toggle:focus-visible { outline: 3px solid @focus@; outline-offset: -3px; }
.cmpd-legend-caret { margin-left: auto; flex: none; }
.cmpd-legend-title { overflow-wrap: anywhere; }
.cmpd-legend-body { padding: 0 8px 6px; overflow: auto; min-height: 0; }
.cmpd-legend-body[hidden] { display: none; }
.cmpd-legend-item { display: flex; align-items: flex-start; gap: 6px; white-space: normal; overflow-wrap: anywhere;
  margin: 1px 0; }
.cmpd-legend-swatch { flex: none; width: 14px; height: 12px; margin-top: 2px; border: 1px solid @swatch_border@;
  position: relative; }
.cmpd-legend-swatch span { position: absolute; inset: 0; }
.cmpd-legend-count { color: @count@; white-space: nowrap; }
.cmpd-legend-note { margin-top: 4px; color: @note@; font-size: 11px; white-space: normal; overflow-wrap: anywhere; }
"""


def _stylesheet() -> str:
    """The stylesheet with the palette's colours filled in, on one line."""
    css = _CSS
    for name, color in LEGEND_COLORS.items():
        css = css.replace(f"@{name}@", color)
    return " ".join(css.split())


class Legend(MacroElement):
    """A legend drawn as a Leaflet control in plain HTML: no d3, no CDN.

    Every label, title and note is HTML-escaped here; pass plain text.

    Parameters
    ----------
    entries
        ``(label, colour, count)`` per class, top to bottom; ``count`` may be None.
        Colours are ``#rgb``/``#rrggbb`` hex or CSS colour names.
    title
        Heading (may be empty: the button then reads "Legend").
    note
        Small print under the entries (may be empty), e.g. why there are fewer classes.
    position
        Leaflet control corner.
    opacity
        The fill opacity of the areas each swatch stands for: one number for every entry,
        or one per entry (e.g. "No data" drawn lighter).
    collapsed
        Start with the entries hidden (the button shows them).
    background
        The map's background under the areas, drawn under each swatch so that it blends the same way.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", "cmpd-legend");
            div.innerHTML = {{ this.html|tojson }};
            var button = div.querySelector(".cmpd-legend-toggle"), body = div.querySelector(".cmpd-legend-body");
            var caret = div.querySelector(".cmpd-legend-caret");
            body.id = {{ this.get_name()|tojson }} + "_body";
            button.setAttribute("aria-controls", body.id);
            function show(open) {
                button.setAttribute("aria-expanded", open ? "true" : "false");
                body.hidden = !open;
                caret.textContent = open ? "\u25be" : "\u25b8";
                button.title = open ? "Hide the legend" : "Show the legend";
            }
            L.DomEvent.on(button, "click", function (e) {
                L.DomEvent.stop(e);
                show(button.getAttribute("aria-expanded") !== "true");
            });
            function fit() {
                var size = map.getSize();
                div.style.maxWidth = Math.floor(size.x * {{ this.max_share }}) + "px";
                div.style.maxHeight = Math.floor(size.y * {{ this.max_share }}) + "px";
            }
            show({{ "false" if this.collapsed else "true" }});
            fit();
            map.on("resize", fit);
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
        opacity: float | Sequence[float] = 1.0,
        collapsed: bool = False,
        background: str = LEGEND_COLORS["background"],
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement.__init__ has no annotations
        self._name = "Legend"
        if position not in ("topleft", "topright", "bottomleft", "bottomright"):
            raise ValueError(f"position must be one of topleft, topright, bottomleft, bottomright; got {position!r}")
        for _, color, _ in entries:
            check_color(color, what="legend colour")
        self.entries = [(str(label), color, count) for label, color, count in entries]
        self.opacities = _opacities(opacity, len(self.entries))
        self.title = str(title)
        self.note = str(note)
        self.position = position
        self.collapsed = bool(collapsed)
        self.background = check_color(background, what="legend background")
        self.max_share = MAX_SHARE
        self.css = _stylesheet()
        self.html = self._build_html()

    def _build_html(self) -> str:
        esc = html.escape
        heading = esc(self.title) if self.title else "Legend"
        parts = [
            '<button type="button" class="cmpd-legend-toggle" aria-expanded="true">'
            f'<span class="cmpd-legend-title">{heading}</span>'
            '<span class="cmpd-legend-caret" aria-hidden="true">\u25be</span></button>',
            '<div class="cmpd-legend-body">',
        ]
        for (label, color, count), alpha in zip(self.entries, self.opacities, strict=True):
            n = "" if count is None else f' <span class="cmpd-legend-count">({count:,})</span>'
            parts.append(
                f'<div class="cmpd-legend-item"><span class="cmpd-legend-swatch" style="background:{esc(self.background)}">'
                f'<span style="background:{esc(color)};opacity:{alpha:g}"></span></span>'
                f'<span class="cmpd-legend-label">{esc(label)}{n}</span></div>'
            )
        if self.note:
            parts.append(f'<div class="cmpd-legend-note">{esc(self.note)}</div>')
        parts.append("</div>")
        return "".join(parts)


def _opacities(opacity: float | Sequence[float], n: int) -> list[float]:
    """One opacity per entry, each checked to lie in 0..1."""
    values = [float(opacity)] * n if isinstance(opacity, (int, float)) else [float(v) for v in opacity]
    if len(values) != n:
        raise ValueError(f"opacity has {len(values)} values for {n} legend entries")
    bad = [v for v in values if not 0.0 <= v <= 1.0]
    if bad:
        raise ValueError(f"opacity must lie between 0 and 1; got {bad[:3]}")
    return values


@cache
def _css_color_names() -> frozenset[str]:
    """The CSS colour names branca knows, lower case."""
    path = Path(branca.__file__).parent / "_cnames.json"
    return frozenset(k.lower() for k in json.loads(path.read_text(encoding="utf-8")))


def check_color(color: object, *, what: str) -> str:
    """Return ``color`` if it is a hex colour or a CSS colour name, safe to write into HTML.

    Parameters
    ----------
    color
        The colour to check.
    what
        What the colour is for, to name it in the error (e.g. ``"missing_color"``).

    Raises
    ------
    ValueError
        If ``color`` is neither ``#rgb``/``#rgba``/``#rrggbb``/``#rrggbbaa`` nor a CSS colour name.
    """
    if not isinstance(color, str) or not (_HEX_COLOR.match(color) or color.lower() in _css_color_names()):
        raise ValueError(f"{what} {color!r} is not a hex colour (#rrggbb) or a CSS colour name")
    return color
