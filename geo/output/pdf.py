"""A :class:`geo.output.report.Report` as a one-page US-letter PDF (reportlab).

The page holds the title, the map (a reportlab drawing of the same shapes as the HTML's
SVG) beside the plain-language summary, the tables of numbers with their intervals, the
caveats, the data dates, the link back to the app and who made it. Everything goes into
one :class:`~reportlab.platypus.KeepInFrame` that shrinks to fit, so the report is always
exactly one page, however long the caveats.

Text is set in DejaVu Sans when the system has it (Debian's ``fonts-dejavu-core``), else in
Bitstream Vera, which ships with reportlab; both are embedded, so ``pdftotext`` and a
screen reader get the text back. A character the font lacks is replaced (``⚠`` by ``!``).
Text from the data is XML-escaped before it reaches reportlab's paragraph markup.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import reportlab
from reportlab.graphics.shapes import FILL_EVEN_ODD, Drawing, Rect, String
from reportlab.graphics.shapes import Path as DrawPath
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, KeepInFrame, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

import geo
from geo.output.report import NumberTable, Report, ReportStyle, check_link, markdown_runs

__all__ = ["report_pdf", "FONT"]


#: The font family the report is set in.
FONT = "ReportSans"

_MARGIN = 36.0  # points (half an inch)
_MAP_W, _MAP_H = 250.0, 187.5
_FONT_FILES = (
    (
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ),
    (Path(reportlab.__file__).parent / "fonts" / "Vera.ttf", Path(reportlab.__file__).parent / "fonts" / "VeraBd.ttf"),
)
_REPLACEMENTS = {"⚠": "!", "≤": "<=", "≥": ">=", "×": "x", "—": "-", "–": "-", "·": "-"}


@functools.cache
def _font_chars() -> frozenset[int]:
    """Register the report's fonts (once) and return the code points they cover."""
    regular, bold = next(((r, b) for r, b in _FONT_FILES if r.exists() and b.exists()), _FONT_FILES[-1])
    pdfmetrics.registerFont(TTFont(FONT, str(regular)))
    pdfmetrics.registerFont(TTFont(f"{FONT}-Bold", str(bold)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=f"{FONT}-Bold", italic=FONT, boldItalic=f"{FONT}-Bold")
    face = pdfmetrics.getFont(FONT).face
    return frozenset(face.charToGlyph)


def _text(value: object) -> str:
    """Plain text for reportlab's paragraph markup: characters the font lacks replaced, then XML-escaped."""
    chars = _font_chars()
    s = "".join(c if ord(c) in chars or c in "\n\t" else _REPLACEMENTS.get(c, "?") for c in str(value))
    return escape(s)


def _markdown(line: str) -> str:
    return "".join(f"<b>{_text(t)}</b>" if bold else _text(t) for t, bold in markdown_runs(line))


def _styles(style: ReportStyle) -> dict[str, ParagraphStyle]:
    text, muted = colors.HexColor(style.text), colors.HexColor(style.muted)
    base = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=10.5, textColor=text)
    return {
        "title": ParagraphStyle("title", base, fontName=f"{FONT}-Bold", fontSize=15, leading=18),
        "sub": ParagraphStyle("sub", base, textColor=muted, spaceAfter=6),
        "body": ParagraphStyle("summary", base, spaceAfter=3),
        "h2": ParagraphStyle("h2", base, fontName=f"{FONT}-Bold", fontSize=9, leading=11, spaceBefore=5, spaceAfter=2),
        "cell": ParagraphStyle("cell", base, fontSize=7, leading=8.4),
        "num": ParagraphStyle("num", base, fontSize=7, leading=8.4, alignment=TA_RIGHT),
        "head": ParagraphStyle("head", base, fontName=f"{FONT}-Bold", fontSize=7, leading=8.4),
        "small": ParagraphStyle("small", base, fontSize=6.8, leading=8.2, leftIndent=8, bulletIndent=0, spaceAfter=1),
        "foot": ParagraphStyle("foot", base, fontSize=6.8, leading=8.2, textColor=muted),
        "caption": ParagraphStyle("caption", base, fontSize=6.5, leading=7.8, textColor=muted),
    }


def _path(rings: Sequence[np.ndarray], *, height: float, closed: bool, **kw: object) -> DrawPath:
    p = DrawPath(fillMode=FILL_EVEN_ODD, **kw)
    for ring in rings:
        p.moveTo(float(ring[0, 0]), height - float(ring[0, 1]))
        for x, y in ring[1:]:
            p.lineTo(float(x), height - float(y))
        if closed:
            p.closePath()
    return p


def _drawing(report: Report, style: ReportStyle) -> Drawing:
    """The map: the area filled, roads over the fill, the context outlines, the area's outline on top."""
    w, h = _MAP_W, _MAP_H
    p = report.map.projected(width=w, height=h)
    d = Drawing(w, h)
    d.add(Rect(0, 0, w, h, fillColor=colors.white, strokeColor=colors.HexColor(style.context_outline), strokeWidth=0.5))
    if p.area:
        d.add(_path(p.area, height=h, closed=True, fillColor=colors.HexColor(style.area_fill), strokeColor=None))
    if p.roads:
        d.add(_path(p.roads, height=h, closed=False, fillColor=None, strokeColor=colors.HexColor(style.road),
                    strokeWidth=0.35))  # fmt: skip
    for rings in p.context:
        d.add(_path(rings, height=h, closed=True, fillColor=None, strokeColor=colors.HexColor(style.context_outline),
                    strokeWidth=0.5))  # fmt: skip
    if p.area:
        d.add(_path(p.area, height=h, closed=True, fillColor=None, strokeColor=colors.HexColor(style.area_outline),
                    strokeWidth=1.4))  # fmt: skip
    if p.label is not None and report.map.label:
        label = "".join(c if ord(c) in _font_chars() else "?" for c in report.map.label)
        d.add(String(p.label[0], h - p.label[1] - 3, label, fontName=f"{FONT}-Bold", fontSize=8,
                     fillColor=colors.HexColor(style.text), textAnchor="middle"))  # fmt: skip
    return d


def _number_table(t: NumberTable, st: dict[str, ParagraphStyle], style: ReportStyle) -> list[Flowable]:
    head = [Paragraph("", st["head"]), Paragraph("Value", st["head"]), Paragraph(_text(t.interval_header), st["head"]),
            Paragraph("Note", st["head"])]  # fmt: skip
    rows = [
        [Paragraph(_text(r.label), st["cell"]), Paragraph(_text(r.value), st["num"]),
         Paragraph(_text(r.interval), st["num"]), Paragraph(_text(r.note), st["cell"])]
        for r in t.rows
    ]  # fmt: skip
    table = Table([head, *rows], colWidths=[165, 60, 85, 218], repeatRows=1)
    line = colors.HexColor(style.context_outline)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, line),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return [Paragraph(_text(t.title), st["h2"]), table]


def _story(report: Report, style: ReportStyle) -> list[Flowable]:
    st = _styles(style)
    left = [_drawing(report, style), Spacer(1, 3), Paragraph(_text(report.map_caption), st["caption"])]
    top = Table([[left, [Paragraph(_markdown(line), st["body"]) for line in report.summary]]], colWidths=[258, 270])
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story: list[Flowable] = [
        Paragraph(_text(report.title), st["title"]),
        Paragraph(_text(report.subtitle), st["sub"]),
        top,
    ]
    story.append(Paragraph("The numbers", st["h2"]))
    for t in report.tables:
        story.extend(_number_table(t, st, style))
    story.append(Paragraph("What these numbers can and cannot say", st["h2"]))
    story.extend(Paragraph(_text(c), st["small"], bulletText="•") for c in report.caveats)
    story.append(Paragraph("Data", st["h2"]))
    story.extend(Paragraph(_text(str(d)), st["small"], bulletText="•") for d in report.data_dates)
    link = check_link(report.link)
    if link:
        href = escape(link, {'"': "&quot;"})
        story.append(Spacer(1, 3))
        story.append(Paragraph(f'This view in the app: <a href="{href}" color="blue">{_text(link)}</a>', st["foot"]))
    story.append(Paragraph(_text(report.footer), st["foot"]))
    return story


def report_pdf(report: Report, *, style: ReportStyle) -> bytes:
    """The report as a one-page US-letter PDF.

    Parameters
    ----------
    report
        From :mod:`geo.output.report_build`.
    style
        The colours (the app's: ``app_pages.report_section.STYLE``).

    Returns
    -------
    bytes
        The PDF file (fonts embedded; title, author and subject set).
    """
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=letter, leftMargin=_MARGIN, rightMargin=_MARGIN, topMargin=_MARGIN, bottomMargin=_MARGIN,
        title=report.title, author=f"cmpd-hotspots {geo.__version__}", subject=report.subtitle,
        creator="cmpd-hotspots",
    )  # fmt: skip
    # the frame's 6 pt padding on each side is inside doc.width and doc.height; the tables are laid out for the rest
    frame = KeepInFrame(doc.width - 12, doc.height - 12, _story(report, style), mode="shrink")
    doc.build([frame])
    return buf.getvalue()
