"""The Hot spots page's robustness section: which hot spots hold under every modelling choice.

Wired to :func:`geo.analysis.hotspots.run_robustness`; every number comes from ``geo``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import common
from geo.analysis import hotspots
from geo.errors import GeoDataError
from geo.layers.filters import StopFilter
from geo.maps import draw, palettes
from geo.settings import get_settings

EXPLANATION = (
    "Hot-spot maps change with the analyst's choices: who counts as a neighbour, and the random rearrangements "
    "behind the p-values. This check repeats the analysis under six definitions of neighbours (shared border or "
    "corner, shared border, 6 and 10 nearest, a distance band, a kernel) and three random seeds, and counts in how "
    "many of the 18 runs each area is a hot (or cold) spot. An area *hot in all runs* does not depend on a "
    "modelling choice; one *hot in some runs* does."
)


@common.data_cache(show_spinner=False, max_entries=8)
def _robustness(
    layer: str, filters: StopFilter, method: str, variable: str, per_capita: bool, smoothing: str,
    permutations: int, seed: int, alpha: float, correction: str,
):  # fmt: skip
    """One cached robustness run, keyed on the options (the layer frame comes from its own cache)."""
    return hotspots.run_robustness(
        common.layer(layer, filters), layer=layer, variable=variable, method=method, per_capita=per_capita,
        smoothing=smoothing, permutations=permutations, seed=seed, alpha=alpha, correction=correction,
        cache_dir=get_settings().cache_dir / "weights",
    )  # fmt: skip


def section(*, layer: str, filters: StopFilter, var_label: str, name_col: str, name_alias: str, **options) -> None:
    """The toggle, then the robustness map, the per-weights table and the per-area table."""
    st.subheader("How robust are these hot spots?")
    st.caption(EXPLANATION)
    if layer == "incidents":
        st.info("The robustness check runs on areas (NPAs, divisions); incident hexagons are not included.")
        return
    if not st.toggle("Run the robustness check (18 runs)", key="hs_robust"):
        return
    method = (
        "lisa" if st.radio("Statistic", ["LISA", "Gi*"], horizontal=True, key="hs_robust_method") == "LISA" else "gi"
    )
    keep = ("variable", "per_capita", "smoothing", "permutations", "seed", "alpha", "correction")
    try:
        with st.spinner("Running the analysis under 6 weights x 3 seeds ..."):
            rob = _robustness(layer, filters, method, *(options[k] for k in keep))
    except GeoDataError as exc:
        st.warning(f"The robustness check cannot run with these choices: {exc}")
        return
    for note in rob.notes:
        st.caption(note[0].upper() + note[1:] + ".")
    if rob.warnings:
        st.warning("\n".join(f"- {common.text(w.text)}" for w in rob.warnings))
    counts = rob.counts
    c = st.columns(3)
    c[0].metric("Hot in all runs", f"{counts.get('Hot in all runs', 0):,}")
    c[1].metric("Hot in most runs", f"{counts.get('Hot in most runs', 0):,}")
    c[2].metric("Hot in some runs", f"{counts.get('Hot in some runs', 0):,}")
    m = draw.categorical_map(
        rob.frame, "robust_class", colors=palettes.ROBUSTNESS_COLORS, hide_empty=True,
        legend_title=f"Robustness of {'LISA' if method == 'lisa' else 'Gi*'} hot spots: {var_label}",
        tooltip_fields=["robust_class", "robust_hot", "robust_cold", "robust_runs"],
        tooltip_aliases=["Robustness", "Runs as a hot spot", "Runs as a cold spot", "Runs tested"],
        name_field=name_col if name_col in rob.frame else None, name_alias=name_alias,
    )  # fmt: skip
    common.show_map(m, key=f"hs_robust_map_{layer}")
    per = rob.hot_per_weights().reset_index()
    per = per.rename(columns={"weights": "Neighbours", "hot_min": "Hot (fewest)", "hot_max": "Hot (most)",
                              "cold_min": "Cold (fewest)", "cold_max": "Cold (most)", "tested": "Areas tested"})  # fmt: skip
    st.caption("Hot and cold spots under each definition of neighbours, fewest to most over the three seeds.")
    st.dataframe(per, hide_index=True, width="stretch", key="hs_robust_weights")
    cols = [c for c in (name_col, "robust_class", "robust_hot", "robust_cold", "robust_runs") if c in rob.frame]
    table = pd.DataFrame(rob.frame[cols]).sort_values(["robust_hot", "robust_cold"], ascending=[False, True])
    table = table.rename(columns={name_col: name_alias, "robust_class": "Robustness", "robust_hot": "Runs hot",
                                  "robust_cold": "Runs cold", "robust_runs": "Runs tested"})  # fmt: skip
    st.dataframe(table, hide_index=True, width="stretch", height=280, key="hs_robust_table")
