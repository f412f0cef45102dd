"""A report as XLSX: one sheet per table, with native Excel bar charts beside the tables.

Each sheet: the report's title (row 1), the period (row 2), the 第十八条 watermark (row 3, and
in the printed page's header and footer), the header row (:data:`HEADER_ROW`) and the rows
below it. Cells hold numbers (rates as fractions formatted ``0.0%``, ``None`` left empty), so
the office can sort and sum them.
"""

from __future__ import annotations

import io
from typing import Any

from qiandao_adapters.reports.tables import Kind, Report, Table, chart_title, rows_of

__all__ = ["HEADER_ROW", "render_xlsx"]

HEADER_ROW = 4
FORMATS = {Kind.RATE: "0.0%", Kind.DAYS: "0.00", Kind.COUNT: "0", Kind.TEXT: "@"}


def render_xlsx(report: Report) -> bytes:
    """The report as XLSX bytes."""
    from openpyxl import Workbook

    book = Workbook()
    for default in list(book.worksheets):
        book.remove(default)
    book.properties.title = report.title
    book.properties.description = report.watermark
    for table in report.tables:
        _sheet(book.create_sheet(table.name), report, table)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(sheet: Any, report: Report, table: Table) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    sheet["A1"] = f"{report.title} · {table.title}"
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = f"{report.period}　{report.issuer}　{report.issued}"
    sheet["A3"] = f"导出：{report.watermark}（内部资料，不得上传或翻拍，第十八条）"
    sheet["A3"].font = Font(color="C0392B")
    sheet.oddHeader.center.text = report.watermark
    sheet.oddFooter.left.text = f"导出：{report.watermark}（第十八条）"
    sheet.oddFooter.right.text = "第 &P 页 共 &N 页"
    for c, column in enumerate(table.columns, start=1):
        cell = sheet.cell(HEADER_ROW, c, column.header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
        wide = 24 if column.kind is Kind.TEXT else max(8, 2 * len(column.header) + 2)
        sheet.column_dimensions[get_column_letter(c)].width = wide
    for r, row in enumerate(table.rows, start=HEADER_ROW + 1):
        for c, (column, value) in enumerate(zip(table.columns, row, strict=True), start=1):
            cell = sheet.cell(r, c, value)
            if column.kind is not Kind.TEXT:
                cell.number_format = FORMATS[column.kind]
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 1, 1)
    sheet.page_setup.orientation = "landscape"  # printed: the table and its chart, one page wide
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    anchor_row = HEADER_ROW + len(table.rows) + 2  # below the table: it prints in order
    for chart in table.charts:
        if table.rows:
            anchor_row += _chart(sheet, table, chart, anchor_row)


def _chart(sheet: Any, table: Table, chart: Any, anchor_row: int) -> int:
    """Add ``chart`` at column A of ``anchor_row``; the rows it covers (and a gap)."""
    from openpyxl.chart import BarChart, Reference

    count = len(rows_of(table, chart))
    bars = BarChart()
    bars.type = "bar"  # horizontal, so long Chinese labels stay legible
    bars.title = chart_title(table, chart)
    bars.style = 10
    bars.height = max(7.5, 0.6 * count + 2)
    bars.width = 18
    bars.y_axis.scaling.orientation = "minMax"
    bars.x_axis.scaling.orientation = "maxMin"  # the first row on top, as in the table
    last = HEADER_ROW + count
    for index in chart.values:
        data = Reference(sheet, min_col=index + 1, min_row=HEADER_ROW, max_row=last)
        bars.add_data(data, titles_from_data=True)
    labels = Reference(sheet, min_col=chart.label + 1, min_row=HEADER_ROW + 1, max_row=last)
    bars.set_categories(labels)
    if all(table.columns[i].kind is Kind.RATE for i in chart.values):
        bars.y_axis.number_format = "0%"
        bars.y_axis.scaling.min, bars.y_axis.scaling.max = 0, 1
    bars.y_axis.crosses = "max"  # the value axis below the bars (the categories run down)
    if len(chart.values) == 1:
        bars.legend = None
    else:
        bars.legend.position = "b"
    bars.y_axis.delete = False
    bars.x_axis.delete = False
    sheet.add_chart(bars, f"A{anchor_row}")
    return int(bars.height / 0.5) + 2  # a row is about half a centimetre
