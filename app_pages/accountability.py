"""Accountability beyond stops: juvenile diversion outcomes, who stops against who serves, a crime benchmark.

Numbers come from :mod:`geo.analysis.accountability`; this page only wires widgets to it and draws.
Every rate, share and ratio is shown with its 95 % interval, every odds ratio with its interval and the
model's caveat; every chart has a text alternative (:func:`app_pages.charts.show_chart`); the caveat of
each section stands beside its numbers. The open tab and every choice are kept in the address.
The stop filters of the sidebar apply to the workforce and benchmark sections, not to the diversion
referrals (they are not stops).
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

import app_pages
from app_pages import common, url_state
from app_pages.charts import interval_chart, show_chart
from app_pages.url_state import Param
from geo.analysis import accountability
from geo.analysis.accountability import DiversionResult, Finding
from geo.caveats import SMALL_CELL_NOTE, model_fit_note
from geo.layers.filters import StopFilter
from geo.maps.palettes import OKABE_ITO
from geo.settings import get_settings
from geo.vocab import MIN_CELL

TABS = {"Juvenile diversion": "diversion", "Who stops, who serves": "workforce", "Crime-based benchmark": "benchmark"}
BY = {"Race": "race", "Gender": "gender", "Race and gender": "race_gender"}
OUTCOMES = {
    "Successful": "successful",
    "Unsuccessful": "unsuccessful",
    "Rejected at screening": "rejected at screening",
}
CATEGORIES = {"Against persons": "persons", "Property": "property", "Society": "society", "Other": "other"}
TERM_LABELS = {"race": "Race", "gender": "Gender", "year": "Intake year"}
SOURCES = {"Share of stops (2020-2021)": OKABE_ITO["blue"], "Share of sworn officers (2017)": OKABE_ITO["vermillion"]}

PARAMS = (
    Param("ac_tab", "tab", codes=TABS),
    Param("ac_div_by", "by", codes=BY),
    Param("ac_div_outcome", "outcome", codes=OUTCOMES),
    Param("ac_wf_by", "officers", codes=BY),
    Param("ac_categories", "incidents", codes=CATEGORIES, multi=True, omit=list(CATEGORIES)),
)

PCT = st.column_config.NumberColumn(format="percent")
TWO = st.column_config.NumberColumn(format="%.2f")
ONE = st.column_config.NumberColumn(format="%.1f")
LOC = st.column_config.NumberColumn(format="localized")


# --------------------------------------------------------------------------- cached results


@common.data_cache(show_spinner="Counting diversion outcomes ...")
def diversion() -> DiversionResult:
    """Diversion outcomes of every referral (not filtered: they are not stops)."""
    from geo.layers import records

    return accountability.diversion_outcomes(records.diversion(get_settings()))


@common.data_cache(show_spinner="Comparing officers with the workforce ...")
def workforce(filters: StopFilter) -> Finding:
    """The officers on the stops left by ``filters`` against the 2017 workforce."""
    from geo.layers import records

    return accountability.officer_workforce(common.stops(), records.employees(get_settings()), filters=filters)


@common.data_cache(show_spinner="Counting stops per incident ...")
def benchmark(filters: StopFilter, categories: tuple[str, ...]) -> Finding:
    """Stops per 1,000 incidents of ``categories`` and per 1,000 residents, per division."""
    from geo.layers import records

    timeline = records.incident_timeline(get_settings())
    return accountability.crime_benchmark(
        common.stops(), timeline, common.division_population(), categories=categories, filters=filters
    )


# --------------------------------------------------------------------------- helpers


def _table(df: pd.DataFrame, *, key: str, config: dict[str, Any] | None = None) -> None:
    st.dataframe(df, hide_index=True, width="stretch", column_config=config or {}, key=key)


def _lines(lines: list[str]) -> None:
    """The library's plain sentences as a list (escaped: they quote the data's categories)."""
    st.markdown("\n".join(f"- {common.text(line)}" for line in lines))


def _range(rows: pd.DataFrame, *, label: str, value: str, lo: str, hi: str, fmt: str, what: str) -> str:
    """One sentence on a dot-and-interval chart: the highest and lowest row with their intervals."""
    d = rows[rows[value].notna()]
    if d.empty:
        return f"{what}: nothing to chart."
    top, low = d.loc[d[value].idxmax()], d.loc[d[value].idxmin()]

    def one(r: pd.Series) -> str:
        return f"{r[label]} {r[value]:{fmt}} (95% interval {r[lo]:{fmt}} to {r[hi]:{fmt}})"

    return f"{what}, {len(d)} shown: highest {one(top)}; lowest {one(low)}."


# --------------------------------------------------------------------------- diversion


def _diversion_section() -> None:
    r = diversion()
    st.caption("The sidebar's stop filters do not change this section: diversion referrals are not stops.")
    st.info(r.caveat)
    _lines(r.lines)
    c = st.columns(2)
    by = BY[c[0].radio("Break down by", list(BY), key="ac_div_by", horizontal=True)]
    label = c[1].radio("Outcome", list(OUTCOMES), key="ac_div_outcome", horizontal=True)
    t = r.table[(r.table["dimension"] == by) & (r.table["outcome"] == OUTCOMES[label])]
    what = f"{label} share of referrals with a final outcome"
    show_chart(
        interval_chart(
            t, y="group", y_title="Juveniles", value="rate", lo="lo", hi="hi", x_title=what, fmt=".0%",
            count_title=label, denominator_title="Referrals with a final outcome",
        ),
        summary=_range(t, label="group", value="rate", lo="lo", hi="hi", fmt=".1%", what=what),
        data=_diversion_view(t, label),
    )  # fmt: skip
    st.caption(f"Ratio intervals: 95 %, Koopman score method. Reference group: {common.text(t['reference'].iloc[0])}.")
    _table(_diversion_view(t, label), key="ac_div_table", config={"Rate": PCT, "95% low": PCT, "95% high": PCT})
    _model_part(r)
    common.notes(r.notes)


def _diversion_view(t: pd.DataFrame, label: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Juveniles": t["group"],
            label: t["count"],
            "Referrals with a final outcome": t["denominator"],
            "Rate": t["rate"],
            "95% low": t["lo"],
            "95% high": t["hi"],
            "Cell": t["small_cell"].map({True: SMALL_CELL_NOTE, False: ""}),
            "Ratio to reference": t["ratio"],
            "Ratio 95% low": t["ratio_lo"],
            "Ratio 95% high": t["ratio_hi"],
        }
    )


def _model_part(r: DiversionResult) -> None:
    m = r.model
    if m is None:
        return
    st.subheader("A model of success: race, gender and intake year together")
    st.warning(m.caveat + " " + model_fit_note(m.method, m.separated))
    t = m.table.assign(
        label=m.table["term"].map(TERM_LABELS) + ": " + m.table["level"] + " vs " + m.table["reference"],
        count=m.table["events"],
        denominator=m.table["n"],
        small_cell=m.table["n"] < MIN_CELL,
    )
    view = pd.DataFrame(
        {
            "Term": t["term"].map(TERM_LABELS),
            "Level": t["level"],
            "Compared with": t["reference"],
            "Odds ratio": t["odds_ratio"],
            "95% low": t["lo"],
            "95% high": t["hi"],
            "p value": t["p_value"],
            "Referrals": t["n"],
            "Successful": t["events"],
            "Interval": t["interval"],
        }
    )
    show_chart(
        interval_chart(
            t, y="label", y_title="Level", value="odds_ratio", lo="lo", hi="hi", x_title="Odds ratio of success",
            fmt=".2f", rule_at=1.0, log=True, count_title="Successful", denominator_title="Referrals",
        ),
        summary=_range(t, label="label", value="odds_ratio", lo="lo", hi="hi", fmt=".2f",
                       what=f"Odds ratios of success ({m.method}; 1 is no difference)"),
        data=view,
    )  # fmt: skip
    st.caption(f"{m.n_used:,} referrals in the model, {m.events:,} successful. {m.caveat}")
    _table(view, key="ac_model_table", config={"Odds ratio": TWO, "95% low": TWO, "95% high": TWO})


# --------------------------------------------------------------------------- workforce


def _workforce_section(filters: StopFilter) -> None:
    w = workforce(filters)
    st.warning(w.caveat)
    _lines(w.lines)
    by = BY[st.radio("Officers by", list(BY), key="ac_wf_by", horizontal=True)]
    t = w.table[w.table["dimension"] == by]
    long = pd.concat(
        [
            pd.DataFrame({"group": t["group"], "source": s, "share": t[v], "lo": t[lo], "hi": t[hi]})
            for s, (v, lo, hi) in zip(
                SOURCES,
                (("stop_share", "stop_lo", "stop_hi"), ("workforce_share", "workforce_lo", "workforce_hi")),
                strict=True,
            )
        ]
    )
    colour = alt.Color("source:N", title=None, scale=alt.Scale(domain=list(SOURCES), range=list(SOURCES.values())))
    base = alt.Chart(long).encode(
        y=alt.Y("group:N", title=None, sort=list(t["group"]), axis=alt.Axis(labelLimit=260)),
        yOffset=alt.YOffset("source:N", sort=list(SOURCES)),
        color=colour,
    )
    chart = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("lo:Q", title="Share (95% interval)", axis=alt.Axis(format=".0%")), x2="hi:Q"
    ) + base.mark_point(filled=True, size=60).encode(
        x="share:Q",
        tooltip=[
            alt.Tooltip("group:N", title="Officers"),
            alt.Tooltip("source:N", title="Share of"),
            alt.Tooltip("share:Q", format=".1%", title="Share"),
            alt.Tooltip("lo:Q", format=".1%", title="95% low"),
            alt.Tooltip("hi:Q", format=".1%", title="95% high"),
        ],
    )
    show_chart(
        chart.properties(height=alt.Step(14)),
        summary=_range(t, label="group", value="ratio", lo="ratio_lo", hi="ratio_hi", fmt=".2f",
                       what="Share of stops against share of 2017 officers, as a ratio (1 is parity)"),
        data=_workforce_view(t),
    )  # fmt: skip
    st.caption("Ratio intervals: 95 %, Koopman score method. " + w.caveat)
    _table(
        _workforce_view(t),
        key="ac_wf_table",
        config={**dict.fromkeys(("Share of stops", "Share of officers", "95% low", "95% high"), PCT), "Ratio": TWO},
    )
    common.notes(w.notes)


def _workforce_view(t: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Officers": t["group"],
            "Stops": t["stops"],
            "Share of stops": t["stop_share"],
            "95% low": t["stop_lo"],
            "95% high": t["stop_hi"],
            "Sworn officers (2017)": t["officers"],
            "Share of officers": t["workforce_share"],
            "Officers 95% low": t["workforce_lo"],
            "Officers 95% high": t["workforce_hi"],
            "Ratio": t["ratio"],
            "Ratio 95% low": t["ratio_lo"],
            "Ratio 95% high": t["ratio_hi"],
        }
    )


# --------------------------------------------------------------------------- crime benchmark


def _benchmark_section(filters: StopFilter) -> None:
    default = url_state.default("ac_categories", list(CATEGORIES), "default")
    chosen = st.multiselect("Reported incidents counted", list(CATEGORIES), key="ac_categories", **default)
    if not chosen:
        st.warning("Choose at least one kind of incident.")
        return
    b = benchmark(filters, tuple(CATEGORIES[c] for c in chosen))
    st.info(
        "**What each benchmark assumes.** "
        + " ".join(f"*{name}* {common.text(text)}" for name, text in accountability.BENCHMARK_ASSUMPTIONS.items())
    )
    _lines(b.lines)
    t = b.table[b.table["division"] != "All divisions"]
    c = st.columns(2)
    for col, (value, lo, hi, unit, den) in zip(
        c,
        (
            ("per_1000_incidents", "incidents_lo", "incidents_hi", "reported incidents", "incidents"),
            ("per_1000_residents", "residents_lo", "residents_hi", "residents", "residents"),
        ),
        strict=True,
    ):
        d = t.assign(count=t["stops"], denominator=t[den].round(0)).sort_values(value, ascending=False)
        with col:
            st.markdown(f"**Stops per 1,000 {unit}**")
            show_chart(
                interval_chart(
                    d, y="division", y_title="Division", value=value, lo=lo, hi=hi, x_title=f"Stops per 1,000 {unit}",
                    fmt=",.0f", count_title="Stops", denominator_title=unit.capitalize(), legend=False,
                ),
                summary=_range(d, label="division", value=value, lo=lo, hi=hi, fmt=",.1f",
                               what=f"Stops per 1,000 {unit} by division"),
                container=col,
            )  # fmt: skip
    _table(_benchmark_view(b.table), key="ac_bench_table", config=_benchmark_config())
    _worked_example(b.table)
    common.notes(b.notes)


def _benchmark_view(t: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Division": t["division"],
            "Stops": t["stops"],
            "Reported incidents": t["incidents"],
            "Stops per 1,000 incidents": t["per_1000_incidents"],
            "Incidents 95% low": t["incidents_lo"],
            "Incidents 95% high": t["incidents_hi"],
            "Rank by incidents": t["rank_incidents"],
            "Residents (2020)": t["residents"].round(0),
            "Stops per 1,000 residents": t["per_1000_residents"],
            "Residents 95% low": t["residents_lo"],
            "Residents 95% high": t["residents_hi"],
            "Rank by residents": t["rank_residents"],
            "Cell": t["small_cell"].map({True: SMALL_CELL_NOTE, False: ""}),
        }
    )


def _benchmark_config() -> dict[str, Any]:
    per = [f"{w} {k}" for k in ("incidents", "residents") for w in ("Stops per 1,000",)]
    per += [f"{k} 95% {e}" for k in ("Incidents", "Residents") for e in ("low", "high")]
    return {**dict.fromkeys(per, ONE), "Stops": LOC, "Reported incidents": LOC, "Residents (2020)": LOC}


def _worked_example(t: pd.DataFrame) -> None:
    """The arithmetic of both benchmarks for the division with the most stops, by hand."""
    d = t[t["division"] != "All divisions"]
    if d.empty or d["stops"].max() == 0:
        return
    r = d.loc[d["stops"].idxmax()]
    with st.expander(f"How the numbers are made: {r['division']}"):
        st.markdown(
            f"- Stops per 1,000 reported incidents = {int(r['stops']):,} stops / {int(r['incidents']):,} incidents "
            f"x 1,000 = **{r['per_1000_incidents']:,.1f}** (95% interval {r['incidents_lo']:,.1f} to "
            f"{r['incidents_hi']:,.1f}, exact Poisson, incidents taken as fixed)\n"
            f"- Stops per 1,000 residents = {int(r['stops']):,} stops / {r['residents']:,.0f} residents x 1,000 = "
            f"**{r['per_1000_residents']:,.1f}** (95% interval {r['residents_lo']:,.1f} to {r['residents_hi']:,.1f})"
        )


# --------------------------------------------------------------------------- page


def page() -> None:
    """Draw the page: one tab per question (only the open one runs); choices in the URL."""
    app_pages.heading("app_pages/accountability.py")
    st.write(
        "Three questions the stops alone cannot answer: how juvenile diversion referrals ended, by race and "
        "gender; who made the stops against who served in the force; and how the picture of stops per division "
        "changes when stops are set against reported crime instead of residents."
    )
    filters = common.current_filters()
    with url_state.bound(PARAMS):
        tabs = st.tabs(list(TABS), key="ac_tab", on_change="rerun")
        sections = [_diversion_section, lambda: _workforce_section(filters), lambda: _benchmark_section(filters)]
        for tab, section in zip(tabs, sections, strict=True):
            with tab:
                if tab.open is not False:  # lazy: only the open tab runs
                    common.section(section)


if __name__ == "__main__":
    common.guarded(page)()
