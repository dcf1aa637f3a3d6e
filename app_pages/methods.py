"""Methods and data: provenance, definitions, caveats, and the glossary of the words the app uses."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st
from streamlit.errors import StreamlitAPIException

import app_pages
from app_pages import common
from geo.caveats import DATA_PREPARATION, REFERENCE_LAYERS_2013
from geo.ingest import sources
from geo.output import glossary
from geo.output.variables import MetricInfo, catalogue_table, metric_catalogue, search_metrics
from geo.settings import get_settings

#: The page's path, for links from the other pages.
PATH = "app_pages/methods.py"


def page() -> None:
    """Draw the methods page: the sources, how the data is prepared, the caveats and the glossary."""
    app_pages.heading("app_pages/methods.py")
    st.subheader("Sources")
    for ds in sources.DATASETS.values():
        where = ds.portal_url or "available from a mirror of the public data only"
        st.markdown(f"- **{ds.description}** — `{ds.path}` — {where}")
    st.subheader("How the data is prepared")
    st.markdown(DATA_PREPARATION)
    st.subheader("Caveats")
    common.caveats()
    st.markdown(f"**Reference layers on the maps.** {common.text(REFERENCE_LAYERS_2013)}")
    common.section(_measures)
    st.subheader("Glossary", anchor="glossary")
    st.caption("The words the maps and tables use, in plain words.")
    by_group: dict[str, list[glossary.Term]] = {}
    for term in glossary.GLOSSARY.values():
        by_group.setdefault(term.group, []).append(term)
    for group, items in by_group.items():
        st.markdown(f"**{common.text(group)}**")
        st.markdown(_definitions(items))


@common.data_cache(show_spinner="Loading the catalogue of neighbourhood measures ...")
def measures() -> dict[str, MetricInfo]:
    """Every Quality of Life Explorer metric, in words (see :func:`geo.output.variables.metric_catalogue`)."""
    from geo.layers import records

    return metric_catalogue(records.qol_catalogue(get_settings()))


def _measures() -> None:
    """The searchable table of every neighbourhood measure, with its description and source."""
    st.subheader("Neighbourhood measures (Quality of Life Explorer)", anchor="measures")
    cat = measures()
    st.caption(
        f"The {len(cat)} measures the explorer publishes per neighbourhood (NPA), as the Factors page and the maps "
        "name them: category, units, years with data, what each measures, its description and source."
    )
    query = st.text_input("Search the measures", key="me_measure_search", placeholder="e.g. income, tree, school")
    found = search_metrics(cat, query) if query else list(cat.values())
    if query:
        st.caption(f"{len(found)} of {len(cat)} measures match.")
    st.dataframe(catalogue_table(found), hide_index=True, width="stretch", key="me_measures")


def _definitions(items: Sequence[glossary.Term]) -> str:
    """A Markdown list of terms and their meanings (escaped: the words hold ``*`` and ``-``)."""
    return "\n".join(f"- **{common.text(t.name)}**: {common.text(t.text)}" for t in items)


def words_used_here(names: Sequence[str]) -> None:
    """An expander "Words used here" with the page's terms, and a link to the whole glossary."""
    with st.expander("Words used here"):
        st.markdown(_definitions(glossary.terms(names)))
        try:
            st.page_link(PATH, label="Every word, on Methods and data", icon=":material/menu_book:")
        except StreamlitAPIException:  # the page runs on its own (not through app.py): no navigation to link to
            st.caption("Every word is on the Methods and data page.")


if __name__ == "__main__":
    common.guarded(page)()
