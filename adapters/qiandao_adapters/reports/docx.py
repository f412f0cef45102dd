"""A report as a DOCX an office prints and files: titled like a bulletin, with tables and charts.

A4 portrait; the title in 黑体, the text in 宋体 (the fonts every office Word has); the 第十八条
watermark (person, phone tail, time) in every page's header and footer; each table under a
numbered heading (一、二、…), its charts below it as pictures.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from qiandao_adapters.reports.charts import bar_png
from qiandao_adapters.reports.fonts import CjkFont
from qiandao_adapters.reports.tables import Kind, Report, Table

__all__ = ["render_docx", "watermark_line"]

NUMERALS = "一二三四五六七八九十"
BODY_FONT = "宋体"
TITLE_FONT = "黑体"
WIDE_COLUMNS = 8  # more columns than this: the table is set on landscape pages
A4 = (21.0, 29.7)  # centimetres
MARGIN = 2.2
SHARES = {Kind.TEXT: 3.4, Kind.RATE: 2.2, Kind.DAYS: 2.2, Kind.COUNT: 1.6}


def _new_section(document: Any, *, landscape: bool) -> None:
    """Start a new page in ``landscape`` or portrait A4 (the header and footer carry on)."""
    from docx.enum.section import WD_ORIENT, WD_SECTION
    from docx.shared import Cm

    section = document.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    width, height = reversed(A4) if landscape else A4
    section.page_width, section.page_height = Cm(width), Cm(height)


def watermark_line(report: Report) -> str:
    """The header and footer text: the watermark and the 第十八条 reminder."""
    return f"{report.watermark} · 内部资料，不得上传或翻拍（第十八条）"


def _east_asian(target: Any, family: str) -> None:
    """Set a style's or run's font, the East Asian slot included (python-docx sets only
    the western one)."""
    from docx.oxml.ns import qn

    target.font.name = family
    properties = target.element.get_or_add_rPr()
    fonts = properties.find(qn("w:rFonts"))
    if fonts is None:
        fonts = properties.makeelement(qn("w:rFonts"), {})
        properties.append(fonts)
    fonts.set(qn("w:eastAsia"), family)


def render_docx(report: Report, font: CjkFont) -> bytes:
    """The report as DOCX bytes; charts are drawn with ``font``."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(A4[0]), Cm(A4[1])
    section.left_margin = section.right_margin = Cm(MARGIN)
    normal = document.styles["Normal"]
    _east_asian(normal, BODY_FONT)
    normal.font.size = Pt(11)
    line = watermark_line(report)
    for part in (section.header, section.footer):
        paragraph = part.paragraphs[0]
        paragraph.text = line
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.core_properties.title = report.title
    document.core_properties.comments = line

    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(report.title)
    run.bold = True
    run.font.size = Pt(20)
    _east_asian(run, TITLE_FONT)
    for text in (report.period, f"{report.issuer}　{report.issued}"):
        paragraph = document.add_paragraph(text)
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for text in report.summary:
        document.add_paragraph(text).paragraph_format.first_line_indent = Pt(22)

    for n, table in enumerate(report.tables):
        wide = len(table.columns) > WIDE_COLUMNS
        if wide:  # a wide table (the unit KPIs) gets landscape pages of its own
            _new_section(document, landscape=True)
        heading = document.add_paragraph()
        heading_run = heading.add_run(f"{NUMERALS[n % 10]}、{table.title}")
        heading_run.bold = True
        heading_run.font.size = Pt(14)
        _east_asian(heading_run, TITLE_FONT)
        _table(document, table)
        for chart in table.charts:
            if table.rows:
                document.add_picture(io.BytesIO(bar_png(table, chart, font)), width=Cm(15.5))
                document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        if wide and n + 1 < len(report.tables):
            _new_section(document, landscape=False)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _table(document: Any, table: Table) -> None:
    """The table, its header row bold and centred, numbers right-aligned, each cell sized.

    The rows are written as one WordprocessingML fragment parsed once: python-docx's cell by
    cell calls take seconds for the thousand lines of a city's people."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    if not table.rows:
        document.add_paragraph("本期无数据。")
        return
    grid = document.add_table(rows=0, cols=len(table.columns))
    grid.style = "Table Grid"
    wide = len(table.columns) > WIDE_COLUMNS
    size = 18 if wide else 21  # half-points: 9 and 10.5 pt
    widths = _widths(table, (A4[1] if wide else A4[0]) - 2 * MARGIN)
    for column, width in zip(grid.columns, widths, strict=True):
        column.width = width
    twips = [round(w.twips) for w in widths]
    align = ["right" if c.kind is not Kind.TEXT else "left" for c in table.columns]
    rows = [_row([c.header for c in table.columns], twips, ["center"] * len(twips), size, True)]
    rows += [_row(values, twips, align, size, False) for values in table.shown()]
    fragment = parse_xml(f"<w:tbl {nsdecls('w')}>{''.join(rows)}</w:tbl>")
    for row in list(fragment):
        grid._tbl.append(row)


def _row(values: list[str], twips: list[int], align: list[str], size: int, bold: bool) -> str:
    """One ``<w:tr>``: each cell's width, alignment, font size and text."""
    weight = "<w:b/>" if bold else ""
    cells = (
        f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr>'
        f'<w:p><w:pPr><w:jc w:val="{side}"/></w:pPr>'
        f'<w:r><w:rPr>{weight}<w:sz w:val="{size}"/></w:rPr>'
        f'<w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p></w:tc>'
        for text, width, side in zip(values, twips, align, strict=True)
    )
    header = "<w:trPr><w:tblHeader/></w:trPr>" if bold else ""  # repeated on every page
    return f"<w:tr>{header}{''.join(cells)}</w:tr>"


def _widths(table: Table, usable: float) -> list[Any]:
    """Column widths filling ``usable`` centimetres, in shares by what a column holds (a name,
    a percentage, a count)."""
    from docx.shared import Cm

    shares = [SHARES[c.kind] for c in table.columns]
    unit = usable / sum(shares)
    return [Cm(unit * share) for share in shares]
