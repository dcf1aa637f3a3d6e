"""One-page reports of a neighborhood (NPA) or a police division, to print or share, and their HTML.

A :class:`Report` holds what the page says, independent of the format: a title, the
plain-language summary (the lines of :func:`geo.output.narrative.neighborhood_card`,
Markdown with ``**bold**`` and backslash escapes), tables of numbers with their 95 %
intervals, the caveats (from :mod:`geo.caveats`), the data dates (from the data
folder's fetch manifest), a link back to the same view in the app, and the map's
shapes (the area, its neighbours or the other divisions, optional roads; EPSG:2264).

- :func:`geo.output.report_build.neighborhood_report` and
  :func:`geo.output.report_build.division_report` build one from the layers.
- :func:`report_html` writes it as a self-contained page (inline CSS with print rules
  for US letter, an inline SVG map, no external address but the link);
  :func:`geo.output.pdf.report_pdf` writes the same report as a one-page PDF.

Text from the data is escaped where it is written out (``html.escape`` here, XML
escapes in the PDF's paragraphs), never trusted as markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import shapely

import geo
from geo.errors import ValueDomainError
from geo.ingest.sources import read_manifest
from geo.output import _report_map
from geo.settings import Settings, get_settings

__all__ = [
    "NumberRow",
    "NumberTable",
    "DataDate",
    "ReportMap",
    "ReportStyle",
    "Report",
    "report_slug",
    "markdown_runs",
    "plain_text",
    "data_dates",
    "check_link",
    "report_html",
]


@dataclass(frozen=True)
class NumberRow:
    """One number of a report, with its interval and what it rests on (plain text, not escaped).

    Attributes
    ----------
    label
        What the number is, e.g. ``"Violent crimes per 1,000 residents (2022)"``.
    value
        The number as shown, e.g. ``"4.2"``, or a word (``"Not significant"``).
    interval
        The 95 % interval as shown (``"2.9 to 5.8"``), or a text such as ``"pseudo p = 0.132"``;
        empty when there is none.
    note
        What the number rests on, or how to read it.
    low, high
        The interval's limits as numbers (None when there are none).
    """

    label: str
    value: str
    interval: str = ""
    note: str = ""
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class NumberTable:
    """A titled table of :class:`NumberRow` (columns: what, value, 95 % interval, note)."""

    title: str
    rows: tuple[NumberRow, ...]
    interval_header: str = "95% interval"


@dataclass(frozen=True)
class DataDate:
    """When a data set behind the report was retrieved, and the period it covers."""

    label: str
    retrieved: str
    period: str = ""

    def __str__(self) -> str:
        period = f"{self.period}; " if self.period else ""
        return f"{self.label}: {period}retrieved {self.retrieved}"


@dataclass(frozen=True)
class ReportMap:
    """The shapes of the report's map, in the analysis CRS.

    Attributes
    ----------
    area
        The chosen NPA or division (filled and outlined).
    context
        Polygons around it, outlined: the neighbouring NPAs, or the other divisions.
    roads
        Lines drawn thin and grey under the outlines (may be empty).
    frame
        The extent shown, ``(minx, miny, maxx, maxy)``.
    label
        The area's name on the map.
    crs
        The CRS of every shape.
    """

    area: shapely.Geometry
    context: tuple[shapely.Geometry, ...]
    roads: tuple[shapely.Geometry, ...]
    frame: tuple[float, float, float, float]
    label: str = ""
    crs: str = "EPSG:2264"

    def projected(self, *, width: float, height: float) -> _report_map.Projected:
        """The shapes fitted into a ``width`` by ``height`` box (points, ``y`` down)."""
        return _report_map.project(
            area=self.area, context=self.context, roads=self.roads, frame=self.frame, width=width, height=height
        )


@dataclass(frozen=True)
class ReportStyle:
    """Colours of a printed report; the app passes those of :mod:`geo.maps.palettes` (see ``app_pages``).

    Attributes
    ----------
    area_fill, area_outline
        The chosen area.
    context_outline
        Neighbouring areas.
    road
        Roads.
    text, muted
        Body text, and notes and captions.
    """

    area_fill: str
    area_outline: str
    context_outline: str
    road: str
    text: str
    muted: str


@dataclass(frozen=True)
class Report:
    """A one-page report, whatever the format (see :func:`report_html`, :func:`geo.output.pdf.report_pdf`).

    Attributes
    ----------
    kind
        ``"npa"`` or ``"division"``.
    ident
        The NPA number or the division's name.
    title, subtitle
        Plain text.
    summary
        Plain-language lines, Markdown as the neighborhood card writes them (``**bold**``,
        data text escaped with :func:`geo.text.escape_md`); see :func:`markdown_runs`.
    tables
        The numbers, with their intervals.
    caveats
        What the numbers can and cannot say (plain text from :mod:`geo.caveats`).
    data_dates
        The data sets behind the numbers, when each was retrieved and what period it covers.
    link
        The same view in the app (``http(s)://`` address), or None.
    map
        The map's shapes.
    created
        When the report was made (UTC, ``YYYY-MM-DD HH:MM``).
    """

    kind: Literal["npa", "division"]
    ident: str
    title: str
    subtitle: str
    summary: tuple[str, ...]
    tables: tuple[NumberTable, ...]
    caveats: tuple[str, ...]
    data_dates: tuple[DataDate, ...]
    link: str | None
    map: ReportMap
    created: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))

    @property
    def slug(self) -> str:
        """A file name stem: ``npa-380-report``, ``central-division-report`` (see :func:`report_slug`)."""
        return report_slug(self.kind, self.ident)

    @property
    def map_caption(self) -> str:
        """What the map shows (plain text)."""
        context = "neighbouring NPAs" if self.kind == "npa" else "the other CMPD divisions"
        roads = "; grey lines: main roads" if self.map.roads else ""
        return f"{self.map.label or self.title}: filled; outlines: {context}{roads}."

    @property
    def footer(self) -> str:
        """Who made the report, and when (plain text)."""
        return f"Made {self.created} with cmpd-hotspots {geo.__version__} from CMPD and Mecklenburg County open data."


# --------------------------------------------------------------------------- text


def report_slug(kind: str, ident: object) -> str:
    """A file name stem for a report: ``report_slug("npa", 380)`` is ``"npa-380-report"``.

    Examples
    --------
    >>> report_slug("division", "Central Division")
    'central-division-report'
    """
    stem = re.sub(r"[^0-9a-z]+", "-", f"{'npa-' if kind == 'npa' else ''}{ident}".lower()).strip("-")
    return f"{stem or 'area'}-report"


_BOLD = re.compile(r"(?<!\\)\*\*")
_MD_ESCAPE = re.compile(r"\\(.)")


def markdown_runs(text: str) -> list[tuple[str, bool]]:
    r"""Split a card line into ``(plain text, bold)`` runs: the Markdown the cards use, undone.

    ``**`` toggles bold; backslash escapes and HTML entities (from
    :func:`geo.text.escape_md`) become the characters they stand for, so each run is
    plain text, to be escaped again for the format it is written to.

    Examples
    --------
    >>> markdown_runs(r"**Police division:** A\-B &lt;x&gt;")
    [('Police division:', True), (' A-B <x>', False)]
    """
    out = []
    for i, part in enumerate(_BOLD.split(str(text))):
        plain = html.unescape(_MD_ESCAPE.sub(r"\1", part))
        if plain:
            out.append((plain, i % 2 == 1))
    return out


def plain_text(text: str) -> str:
    """A card line as plain text (no Markdown)."""
    return "".join(t for t, _ in markdown_runs(text))


def check_link(link: str | None) -> str | None:
    """The link, if it is an ``http(s)://`` address without spaces; raise otherwise."""
    if link is None or link == "":
        return None
    if not re.fullmatch(r"https?://[^\s<>\"']+", str(link)):
        raise ValueDomainError(f"The report's link must be an http(s):// address without spaces, not {link!r}.")
    return str(link)


# --------------------------------------------------------------------------- data dates


def _period_text(vintage: object) -> str:
    """``"2020/01..2021/12"`` (a manifest's vintage) -> ``"2020-01 to 2021-12"``."""
    if not isinstance(vintage, str) or not vintage:
        return ""
    return " to ".join(v.replace("/", "-") for v in vintage.split(".."))


def data_dates(
    groups: Sequence[tuple[str, Sequence[str], str]], *, settings: Settings | None = None
) -> tuple[DataDate, ...]:
    """The retrieval dates of the data sets behind a report, from the data folder's ``manifest.json``.

    Parameters
    ----------
    groups
        ``(label, data set keys, period)``: one line per group of data sets (e.g. the 15
        Quality of Life metric files). An empty period is taken from the manifest's
        ``vintage`` (the stops' months) when it has one.
    settings
        Where the data folder is.

    Returns
    -------
    tuple of DataDate
        The retrieval dates (``YYYY-MM-DD``; a range when the files differ), or
        ``"not recorded"`` when the manifest has no entry (files put in place by hand).
    """
    s = settings if settings is not None else get_settings()
    files = read_manifest(s.data_dir).get("files", {})
    out = []
    for label, keys, period in groups:
        entries = [files[k] for k in keys if k in files]
        dates = sorted({str(e["retrieved"])[:10] for e in entries if e.get("retrieved")})
        retrieved = " to ".join(dict.fromkeys([dates[0], dates[-1]])) if dates else "not recorded"
        if not period:
            period = next((_period_text(e.get("vintage")) for e in entries if e.get("vintage")), "")
        out.append(DataDate(label, retrieved, period))
    return tuple(out)


# --------------------------------------------------------------------------- HTML

_CSS = """
@page { size: letter; margin: 0.4in; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Verdana, Arial, sans-serif; color: %(text)s; margin: 0; font-size: 10pt;
  line-height: 1.3; }
.report { max-width: 7.7in; margin: 0 auto; padding: 0.3in 0; }
h1 { font-size: 16pt; margin: 0 0 2pt; }
h2 { font-size: 10.5pt; margin: 8pt 0 3pt; }
.sub, figcaption, footer { color: %(muted)s; }
.sub { margin: 0 0 6pt; }
.top { display: flex; gap: 12pt; align-items: flex-start; }
figure { margin: 0; flex: 0 0 3.2in; }
figure svg { display: block; width: 100%%; height: auto; border: 0.5pt solid %(context)s; }
figcaption { font-size: 7.5pt; }
.summary { flex: 1 1 auto; }
.summary p { margin: 0 0 4pt; }
table { border-collapse: collapse; table-layout: fixed; width: 100%%; font-size: 8pt; margin-bottom: 4pt; }
col.what { width: 31%%; } col.value { width: 12%%; } col.interval { width: 16%%; } col.note { width: 41%%; }
caption { text-align: left; font-weight: bold; font-size: 8.5pt; padding: 2pt 0; }
th, td { text-align: left; padding: 1.5pt 4pt; border-bottom: 0.5pt solid %(context)s; vertical-align: top; }
th.num, td.num { text-align: right; }
.caveats li { font-size: 7.5pt; margin-bottom: 2pt; }
.caveats ul, footer ul { margin: 0; padding-left: 12pt; }
footer { font-size: 7.5pt; }
footer h2 { color: %(text)s; }
footer a { color: %(text)s; word-break: break-all; }
@media print {
  body { font-size: 7.6pt; line-height: 1.2; }
  .report { max-width: none; padding: 0; }
  h1 { font-size: 13pt; }
  h2 { font-size: 8.6pt; margin: 4pt 0 1.5pt; }
  .sub { margin-bottom: 4pt; }
  figure { flex-basis: 2.9in; }
  .summary p { margin-bottom: 2.5pt; }
  table { font-size: 6.6pt; margin-bottom: 2pt; }
  caption { font-size: 7pt; padding: 1pt 0; }
  th, td { padding: 0.6pt 3pt; }
  .caveats li, footer { font-size: 6.4pt; }
  .caveats li { margin-bottom: 1pt; }
  a { text-decoration: none; }
  table, figure, .caveats li { break-inside: avoid; }
}
"""


def _runs_html(text: str) -> str:
    return "".join(f"<strong>{html.escape(t)}</strong>" if b else html.escape(t) for t, b in markdown_runs(text))


def _svg(report: Report, style: ReportStyle, *, width: float = 300, height: float = 225) -> str:
    """The map as inline SVG: the area filled, roads over the fill, context outlines, the area's outline on top."""
    p = report.map.projected(width=width, height=height)
    e = html.escape
    area = _report_map.svg_path(p.area, closed=True)
    parts = [
        f'<svg viewBox="0 0 {width:g} {height:g}" role="img" aria-label="{e(report.map_caption)}">',
        f'<rect width="{width:g}" height="{height:g}" fill="white"/>',
    ]
    if p.area:
        parts.append(f'<path d="{area}" fill="{e(style.area_fill)}" fill-rule="evenodd" stroke="none"/>')
    if p.roads:
        d = _report_map.svg_path(p.roads, closed=False)
        parts.append(f'<path d="{d}" fill="none" stroke="{e(style.road)}" stroke-width="0.4"/>')
    if p.context:
        d = "".join(_report_map.svg_path(r, closed=True) for r in p.context)
        parts.append(f'<path d="{d}" fill="none" stroke="{e(style.context_outline)}" stroke-width="0.6"/>')
    if p.area:
        parts.append(f'<path d="{area}" fill="none" stroke="{e(style.area_outline)}" stroke-width="1.6"/>')
    if p.label is not None and report.map.label:
        x, y = p.label
        parts.append(
            f'<text x="{x:.1f}" y="{y + 3:.1f}" font-size="9" font-weight="bold" text-anchor="middle" '
            f'fill="{e(style.text)}">{e(report.map.label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table_html(t: NumberTable) -> str:
    e = html.escape
    rows = "".join(
        f'<tr><td>{e(r.label)}</td><td class="num">{e(r.value)}</td><td class="num">{e(r.interval)}</td>'
        f"<td>{e(r.note)}</td></tr>"
        for r in t.rows
    )
    cols = '<colgroup><col class="what"><col class="value"><col class="interval"><col class="note"></colgroup>'
    head = f'<tr><th></th><th class="num">Value</th><th class="num">{e(t.interval_header)}</th><th>Note</th></tr>'
    return f"<table><caption>{e(t.title)}</caption>{cols}<thead>{head}</thead><tbody>{rows}</tbody></table>"


def report_html(report: Report, *, style: ReportStyle) -> str:
    """The report as one self-contained HTML page (fits one US-letter page when printed).

    Inline CSS (``@page`` letter, ``@media print`` rules), the map as inline SVG, no
    scripts and no external address but :attr:`Report.link`. Every text is escaped.

    Parameters
    ----------
    report
        From :mod:`geo.output.report_build`.
    style
        The colours (the app's: ``app_pages.report_section.STYLE``).
    """
    e = html.escape
    css = _CSS % {"text": style.text, "muted": style.muted, "context": style.context_outline}
    summary = "".join(f"<p>{_runs_html(line)}</p>" for line in report.summary)
    tables = "".join(_table_html(t) for t in report.tables)
    caveats = "".join(f"<li>{e(c)}</li>" for c in report.caveats)
    dates = "".join(f"<li>{e(str(d))}</li>" for d in report.data_dates)
    link = check_link(report.link)
    link_html = f'<p>This view in the app: <a href="{e(link)}">{e(link)}</a></p>' if link else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{e(report.title)}</title><style>{css}</style></head><body><main class="report">'
        f'<header><h1>{e(report.title)}</h1><p class="sub">{e(report.subtitle)}</p></header>'
        f'<section class="top"><figure>{_svg(report, style)}'
        f"<figcaption>{e(report.map_caption)}</figcaption></figure>"
        f'<div class="summary">{summary}</div></section>'
        f'<section class="numbers"><h2>The numbers</h2>{tables}</section>'
        f'<section class="caveats"><h2>What these numbers can and cannot say</h2><ul>{caveats}</ul></section>'
        f"<footer><h2>Data</h2><ul>{dates}</ul>{link_html}<p>{e(report.footer)}</p></footer>"
        "</main></body></html>"
    )
