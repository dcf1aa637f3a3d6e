"""Altair charts shared by the disparity and use-of-force pages (drawing only; numbers come from ``geo``).

Colours are the Okabe-Ito palette, which stays distinguishable with every common
form of colour blindness; small cells also differ in shape, not only in colour.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from geo.vocab import MIN_CELL

INK = "#0072B2"
SMALL = "#E69F00"
FAR = "#D55E00"
GREEN = "#009E73"
GREY = "#777777"
#: One colour per driver group (CMPD's groups and the state's names for them).
GROUP_COLORS = {
    "White": "#0072B2",
    "Black": "#D55E00",
    "Hispanic": "#009E73",
    "Latinx": "#009E73",
    "Asian": "#CC79A7",
    "Native American": "#E69F00",
    "Indigenous": "#E69F00",
    "Other/Unknown": "#56B4E9",
    "Other": "#56B4E9",
    "All drivers": "#000000",
    "All": "#000000",
}
RELIABLE = f"{MIN_CELL} or more"
SMALL_LABEL = f"Small cell (under {MIN_CELL})"
SMALL_NOTE = f"⚠ small cell (under {MIN_CELL})"


def group_scale(groups: list[str]) -> alt.Scale:
    """Colour scale for driver groups (unknown groups in grey)."""
    return alt.Scale(domain=groups, range=[GROUP_COLORS.get(g, GREY) for g in groups])


def interval_chart(
    t: pd.DataFrame,
    *,
    y: str,
    y_title: str,
    value: str,
    lo: str,
    hi: str,
    x_title: str,
    fmt: str,
    eb: str | None = None,
    rule_at: float | None = None,
    log: bool = False,
    count_title: str = "With outcome",
    denominator_title: str = "Denominator",
    legend: bool = True,
    label_limit: int = 220,
) -> alt.LayerChart:
    """Dot-and-interval chart of a rates table (``count``, ``denominator``, ``small_cell`` columns).

    Small cells are orange triangles, the others blue dots; ``eb`` adds the smoothed
    rate as a black tick; ``rule_at`` draws a dashed reference line (e.g. parity at 1).
    ``legend=False`` leaves the legend out (for narrow columns; say it in a caption).
    """
    d = t.assign(_y=t[y].astype(str), _cell=t["small_cell"].map({True: SMALL_LABEL, False: RELIABLE}))
    d = d[d[value].notna()]
    scale = alt.Scale(type="log") if log else alt.Scale(zero=True)
    cells = alt.Scale(domain=[RELIABLE, SMALL_LABEL], range=[INK, SMALL])
    show = {} if legend else {"legend": None}
    tips = [
        alt.Tooltip("_y:N", title=y_title),
        alt.Tooltip(f"{value}:Q", title=x_title, format=fmt),
        alt.Tooltip(f"{lo}:Q", title="95% low", format=fmt),
        alt.Tooltip(f"{hi}:Q", title="95% high", format=fmt),
        alt.Tooltip("count:Q", title=count_title, format=","),
        alt.Tooltip("denominator:Q", title=denominator_title, format=","),
        alt.Tooltip("_cell:N", title="Cell size"),
    ]
    if eb:
        tips.insert(4, alt.Tooltip(f"{eb}:Q", title="Smoothed (EB)", format=fmt))
    base = alt.Chart(d).encode(
        y=alt.Y("_y:N", sort=list(dict.fromkeys(d["_y"])), title=None, axis=alt.Axis(labelLimit=label_limit))
    )
    parts: list[alt.Chart] = [
        base.mark_rule(strokeWidth=2).encode(
            x=alt.X(f"{lo}:Q", title=x_title, scale=scale, axis=alt.Axis(format=fmt)),
            x2=f"{hi}:Q",
            color=alt.Color("_cell:N", title="Denominator", scale=cells, **show),
        ),
        base.mark_point(filled=True, size=70).encode(
            x=f"{value}:Q",
            color=alt.Color("_cell:N", title="Denominator", scale=cells, **show),
            shape=alt.Shape(
                "_cell:N",
                title="Denominator",
                scale=alt.Scale(domain=[RELIABLE, SMALL_LABEL], range=["circle", "triangle"]),
                **show,
            ),
            tooltip=tips,
        ),
    ]
    if eb:
        parts.append(base.mark_tick(color="#000000", thickness=2, size=14).encode(x=f"{eb}:Q", tooltip=tips))
    if rule_at is not None:
        parts.append(alt.Chart(pd.DataFrame({"v": [rule_at]})).mark_rule(color=GREY, strokeDash=[4, 4]).encode(x="v:Q"))
    return alt.layer(*parts).properties(height=alt.Step(26))
