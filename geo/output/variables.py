"""The variables a user can map, with plain labels, per layer.

Used by the app's map explorer and the command line, so both name things the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from geo.layers.stop_tables import slug
from geo.vocab import GROUP_POPULATION

__all__ = ["Variable", "variables_for"]


LayerName = Literal["divisions", "npa"]


@dataclass(frozen=True)
class Variable:
    """One mappable column.

    Attributes
    ----------
    column
        Column in the layer.
    label
        Plain words, with the unit.
    group
        Heading it is listed under.
    fmt
        ``str.format`` pattern for tooltips.
    stop_based
        Whether the sidebar's stop filters change it.
    """

    column: str
    label: str
    group: str
    fmt: str = "{:,.0f}"
    stop_based: bool = False


def variables_for(layer: LayerName, frame: pd.DataFrame) -> list[Variable]:
    """The variables available in ``frame`` for ``layer``, in display order."""
    out: list[Variable] = []
    cols = set(frame.columns)

    def add(column: str, label: str, group: str, fmt: str = "{:,.0f}", stop_based: bool = False) -> None:
        if column in cols:
            out.append(Variable(column, label, group, fmt, stop_based))

    if layer == "divisions":
        for c, lab in (
            ("stops", "Stops"),
            ("searches", "Searches"),
            ("arrests", "Arrests"),
            ("citations", "Citations"),
        ):
            add(c, lab, "Stops (counts)", stop_based=True)
        add("search_rate", "Search rate (share of stops)", "Stops (rates)", "{:.1%}", True)
        add("arrest_rate", "Arrest rate (share of stops)", "Stops (rates)", "{:.1%}", True)
        add("stops_per_1000", "Stops per 1,000 residents", "Stops (rates)", "{:,.1f}", True)
        for group in GROUP_POPULATION:
            g = slug(group)
            add(
                f"stops_per_1000_{g}",
                f"Stops of {group} drivers per 1,000 {group} residents",
                "Stops (rates)",
                "{:,.1f}",
                True,
            )
        for group in GROUP_POPULATION:
            g = slug(group)
            if f"searches_{g}" in cols and f"stops_{g}" in cols:
                out.append(
                    Variable(
                        f"search_rate_{g}", f"Search rate, {group} drivers", "Stops by driver group", "{:.1%}", True
                    )
                )
                out.append(
                    Variable(
                        f"arrest_rate_{g}", f"Arrest rate, {group} drivers", "Stops by driver group", "{:.1%}", True
                    )
                )
        add("pop_2020", "Residents (2020)", "Population")
        for c, lab in (
            ("white_nh_2020", "White"),
            ("black_nh_2020", "Black"),
            ("hispanic_2020", "Hispanic"),
            ("asian_nh_2020", "Asian"),
        ):
            add(c, f"{lab} residents (2020)", "Population")
        add("shootings", "Officer-involved shootings 2005-2018", "Use of force")
        add("shootings_per_100k", "Officer-involved shootings per 100,000 residents", "Use of force", "{:,.2f}")
        add("incidents", "Incident-sample points", "Incidents")
        return out

    add("pop_2020", "Residents (2020)", "Population")
    for c, lab in (
        ("white_nh_2020", "White"),
        ("black_nh_2020", "Black"),
        ("hispanic_2020", "Hispanic"),
        ("asian_nh_2020", "Asian"),
    ):
        add(c, f"{lab} residents (2020)", "Population")
    years = sorted({int(m.group(1)) for c in cols if (m := re.fullmatch(r"violent_rate_(\d{4})", c))}, reverse=True)
    for y in years:
        add(f"violent_rate_{y}", f"Violent crimes per 1,000 residents ({y})", "Crime rates", "{:,.1f}")
        add(f"property_rate_{y}", f"Property crimes per 1,000 residents ({y})", "Crime rates", "{:,.1f}")
        add(f"disorder_rate_{y}", f"Disorder calls per 1,000 residents ({y})", "Crime rates", "{:,.1f}")
    for y in years:
        add(f"violent_crimes_{y}", f"Violent crimes ({y})", "Crime counts")
        add(f"property_crimes_{y}", f"Property crimes ({y})", "Crime counts")
    add("shootings", "Officer-involved shootings 2005-2018", "Use of force")
    add("shootings_per_100k", "Officer-involved shootings per 100,000 residents", "Use of force", "{:,.2f}")
    add("incidents", "Incident-sample points", "Incidents")
    return out
