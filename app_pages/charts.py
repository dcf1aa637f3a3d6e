"""Altair charts shared by the pages (drawing only; numbers come from ``geo``).

Colours come from :mod:`geo.maps.palettes` (Okabe-Ito, colour-blind safe); small cells
also differ in shape, not only in colour. Every chart is shown with :func:`show_chart`,
which gives it a text alternative: a one-line summary (the chart's accessible description
and a caption under it) and, optionally, the numbers in an expander. Years go on an axis
with :func:`year_axis`, so they read 2011, not 2,011.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from geo.caveats import RELIABLE_CELL_LABEL, SMALL_CELL_LABEL
from geo.maps.palettes import (
    DRIVER_GROUP_COLORS,
    ESTIMATE_COLOR,
    NEUTRAL_COLOR,
    SMALL_CELL_COLOR,
    SMOOTHED_COLOR,
)
from geo.text import escape_md


def year_axis(field: str = "year", *, title: str = "Year", ordinal: bool = True, channel: str = "x") -> Any:
    """An axis of years that reads as plain years (2011, not 2,011).

    ``ordinal`` (the default) gives one tick per year present (a bar per year); otherwise a
    continuous axis with whole years only (``format="d"``, at least a year between ticks),
    for series with gaps that should show as gaps.
    """
    enc = alt.X if channel == "x" else alt.Y
    if ordinal:
        return enc(f"{field}:O", title=title, axis=alt.Axis(labelAngle=0, labelOverlap=True))
    return enc(f"{field}:Q", title=title, axis=alt.Axis(format="d", tickMinStep=1), scale=alt.Scale(zero=False))


def show_chart(
    chart: Any,
    *,
    summary: str,
    data: pd.DataFrame | None = None,
    data_label: str = "The numbers behind this chart",
    container: Any = None,
    key: str | None = None,
) -> None:
    """Show an Altair chart with a text alternative.

    ``summary`` (plain text; escaped here) becomes the chart's accessible description
    (screen readers read it for the chart) and a caption under it; ``data``, if given, is
    listed in an expander, for those who cannot read the chart. ``container`` is a column
    or other container to draw in (default: the page).
    """
    where = container if container is not None else st
    where.altair_chart(chart.properties(description=summary), width="stretch", key=key)
    where.caption(escape_md(summary))
    if data is not None:
        with where.expander(data_label):
            st.dataframe(data, hide_index=True, width="stretch")


def color_scale(colors: dict[str, str]) -> alt.Scale:
    """Colour scale of a palette: its labels in legend order, each with its colour."""
    return alt.Scale(domain=list(colors), range=list(colors.values()))


def group_scale(groups: list[str]) -> alt.Scale:
    """Colour scale for driver groups (unknown groups in grey)."""
    return alt.Scale(domain=groups, range=[DRIVER_GROUP_COLORS.get(g, NEUTRAL_COLOR) for g in groups])


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
    d = t.assign(_y=t[y].astype(str), _cell=t["small_cell"].map({True: SMALL_CELL_LABEL, False: RELIABLE_CELL_LABEL}))
    d = d[d[value].notna()]
    scale = alt.Scale(type="log") if log else alt.Scale(zero=True)
    cells = alt.Scale(domain=[RELIABLE_CELL_LABEL, SMALL_CELL_LABEL], range=[ESTIMATE_COLOR, SMALL_CELL_COLOR])
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
                scale=alt.Scale(domain=[RELIABLE_CELL_LABEL, SMALL_CELL_LABEL], range=["circle", "triangle"]),
                **show,
            ),
            tooltip=tips,
        ),
    ]
    if eb:
        parts.append(base.mark_tick(color=SMOOTHED_COLOR, thickness=2, size=14).encode(x=f"{eb}:Q", tooltip=tips))
    if rule_at is not None:
        parts.append(
            alt.Chart(pd.DataFrame({"v": [rule_at]})).mark_rule(color=NEUTRAL_COLOR, strokeDash=[4, 4]).encode(x="v:Q")
        )
    return alt.layer(*parts).properties(height=alt.Step(26))


def interval_summary(rows: pd.DataFrame, *, label: str, value: str, lo: str, hi: str, fmt: str, what: str) -> str:
    """One plain sentence on a dot-and-interval chart: how many rows, the highest and the lowest, with intervals.

    ``label`` names each row (a column of ``rows``); ``fmt`` is a Python format spec (``".1%"``).
    """
    d = rows[rows[value].notna()]
    if d.empty:
        return f"{what}: nothing to chart."

    def one(r: pd.Series) -> str:
        return f"{r[label]} {r[value]:{fmt}} (95% interval {r[lo]:{fmt}} to {r[hi]:{fmt}})"

    values = d[value].to_numpy(dtype=float)
    top, low = d.iloc[int(np.argmax(values))], d.iloc[int(np.argmin(values))]
    if len(d) == 1:
        return f"{what}: {one(top)}."
    return f"{what}, {len(d)} shown: highest {one(top)}; lowest {one(low)}."
