"""Neighborhood view, for community groups: one NPA in plain words."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import common
from geo.analysis.neighborhood import npa_hotspots
from geo.layers.filters import StopFilter
from geo.maps import draw, palettes
from geo.output.narrative import neighborhood_card
from geo.settings import get_settings


@st.cache_data(show_spinner="Finding hot and cold spots ...")
def _hotspots(year: int) -> pd.DataFrame:
    return npa_hotspots(common.npa_layer(), year=year, cache_dir=get_settings().cache_dir / "weights")


def page() -> None:
    """The neighborhood page: a map of the NPAs and the card of the one chosen."""
    st.title("Your neighborhood")
    st.write(
        "Pick a neighborhood profile area (NPA) on the map or from the list to see its population, its crime trend, "
        "whether it lies in a statistical hot or cold spot, and the traffic-stop figures of its police division."
    )
    npa = common.npa_layer()
    years = sorted(int(c.rsplit("_", 1)[1]) for c in npa.columns if c.startswith("violent_rate_"))
    year = years[-1]
    hs = _hotspots(year)
    frame = npa[["npa", "division", "pop_2020", "geometry"]].merge(hs, on="npa", how="left")
    frame.index = frame["npa"].astype(str)
    frame["label"] = "NPA " + frame["npa"].astype(str)
    ids = frame["npa"].tolist()

    if "nb_npa" not in st.session_state:
        st.session_state["nb_npa"] = ids[0]
    left, right = st.columns([3, 2])
    with left:
        m = draw.categorical_map(
            frame,
            "cluster",
            colors=palettes.LISA_COLORS,
            name_field="label",
            name_alias="Neighborhood",
            tooltip_fields=["pop_2020", "violent_rate"],
            tooltip_aliases=["Residents (2020)", f"Violent crimes per 1,000 ({year})"],
            tooltip_formats={"pop_2020": "{:,.0f}", "violent_rate": "{:,.1f}"},
            legend_title=f"Violent-crime hot spots, {year}",
            unknown="missing",
        )
        out = common.show_map(m, key="nb_map", height=520, returned_objects=["last_active_drawing"])
        clicked = (out.get("last_active_drawing") or {}).get("id")
        if clicked is not None and str(clicked) != st.session_state.get("nb_last_click"):
            st.session_state["nb_last_click"] = str(clicked)
            try:
                st.session_state["nb_npa"] = int(clicked)
            except ValueError:
                pass
    with right:
        chosen = st.selectbox("Neighborhood (NPA number)", ids, key="nb_npa")
        filters = common.current_filters()
        try:
            divisions = common.division_layer(filters)
        except Exception:  # an empty stop filter must not hide the neighborhood card
            divisions = common.division_layer(StopFilter())
            st.caption("The stop filters leave no stops; division figures below count all stops.")
        card = neighborhood_card(npa, hs, divisions, npa_id=int(chosen), year=year)
        st.subheader(card.title)
        for line in card.lines:  # data text in the lines is escaped by geo.analysis.neighborhood
            st.markdown(line)
        if card.trend is not None and not card.trend.empty:
            st.line_chart(card.trend, x_label="Fiscal year", y_label="Crimes reported")
        with st.expander("What these numbers can and cannot say"):
            for line in card.caveats:
                st.markdown(f"- {line}")


if __name__ == "__main__":
    common.guarded(page)()
