"""A report as CSV: UTF-8 with a byte-order mark, so Excel and WPS open the Chinese correctly.

Layout: the first line is the 第十八条 watermark as a comment-like row (``# 导出：…``), then the
title and period lines; then each table as a section: a blank row, the table's title alone on a
row, its header row and its rows. Cells show what the DOCX shows (rates as ``85.7%``, ``—`` for
no data).
"""

from __future__ import annotations

import csv
import io

from qiandao_adapters.reports.tables import Report

__all__ = ["render_csv", "watermark_row"]


def watermark_row(report: Report) -> str:
    """The first line's one cell: the watermark and the 第十八条 reminder."""
    return f"# 导出：{report.watermark}（内部资料，不得上传或翻拍，第十八条）"


def render_csv(report: Report) -> bytes:
    """The report as ``utf-8-sig`` CSV bytes (CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([watermark_row(report)])
    writer.writerow([report.title])
    writer.writerow([report.period])
    for table in report.tables:
        writer.writerow([])
        writer.writerow([table.title])
        writer.writerow([c.header for c in table.columns])
        writer.writerows(table.shown())
    return out.getvalue().encode("utf-8-sig")
