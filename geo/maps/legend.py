"""The map legend: plain HTML in a Leaflet control, never a branca ``ColorMap``.

streamlit-folium adds two d3 CDN scripts whenever a ``ColorMap`` is on the map, and a
script that fails to load stops the whole component. Every label is HTML-escaped.
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

__all__ = ["Legend", "check_color"]


_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")


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
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement.__init__ has no annotations
        self._name = "Legend"
        if position not in ("topleft", "topright", "bottomleft", "bottomright"):
            raise ValueError(f"position must be one of topleft, topright, bottomleft, bottomright; got {position!r}")
        for _, color, _ in entries:
            check_color(color, what="legend colour")
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
