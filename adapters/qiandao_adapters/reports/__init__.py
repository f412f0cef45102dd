"""Reports an office prints and files (第十一、十三条): the quarterly bulletin, the year-end
assessment and unit handling performance as DOCX, XLSX or CSV bytes.

Each function reads through the service's own audited query (``quarterly_bulletin`` or
``annual_bulletin``): only office roles may export (``permission.denied`` otherwise, and nothing
is produced), and every export is an audited read. Each file carries the 第十八条 watermark of
:meth:`~qiandao.Qiandao.watermark` (person, phone tail, time). DOCX charts need a CJK font
(:func:`~qiandao_adapters.reports.fonts.find_cjk_font`; ``report.font_missing`` otherwise),
found before anything is read. Needs the ``reports`` extra (python-docx, openpyxl, matplotlib).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from typing import Any

from qiandao import Actor, Bulletin, FocusCategory, HotTopics, InvalidInput, Period, Qiandao
from qiandao.rules.deadlines import local_day
from qiandao_adapters.reports.fonts import CjkFont, find_cjk_font
from qiandao_adapters.reports.tables import (
    Report,
    Table,
    assessment_tables,
    bulletin_summary,
    bulletin_tables,
    topic_summary,
    topic_tables,
    unit_tables,
)

__all__ = [
    "FORMATS",
    "assessment_report",
    "bulletin_report",
    "render",
    "topics_report",
    "unit_report",
]

FORMATS = ("docx", "xlsx", "csv")
"""The formats every report is rendered in."""
QUARTERS = "一二三四"

Renderer = Callable[[Report], bytes]
FontChoice = CjkFont | str | os.PathLike[str] | None


def _renderer(format: str, font: FontChoice) -> Renderer:
    """The renderer of ``format`` (checked, and the DOCX font found, before any read)."""
    if format == "docx":
        chosen = font if isinstance(font, CjkFont) else find_cjk_font(font)
        from qiandao_adapters.reports.docx import render_docx

        return lambda report: render_docx(report, chosen)
    if format == "xlsx":
        from qiandao_adapters.reports.xlsx import render_xlsx

        return render_xlsx
    if format == "csv":
        from qiandao_adapters.reports.csv import render_csv

        return render_csv
    raise InvalidInput(f"报表格式须为 {'、'.join(FORMATS)}：{format!r}", field="format")


def render(report: Report, format: str = "docx", *, font: FontChoice = None) -> bytes:
    """A built :class:`~qiandao_adapters.reports.tables.Report` in ``format`` (no service)."""
    return _renderer(format, font)(report)


def _day(day: date) -> str:
    """A day as an official document writes it: 2026年10月1日."""
    return f"{day.year}年{day.month}月{day.day}日"


def _period_line(period: Period, quarter: int | None) -> str:
    span = f"{_day(period.start)}至{_day(period.end)}"
    if quarter is None:
        return f"{period.start.year}年度（{span}）"
    return f"{period.start.year}年第{QUARTERS[quarter - 1]}季度（{span}）"


def _report(
    qd: Qiandao,
    actor: Actor,
    kind: str,
    title: str,
    bulletin: Bulletin | HotTopics,
    quarter: int | None,
    tables: tuple[Table, ...],
    summary: tuple[str, ...] = (),
) -> Report:
    """The report around ``tables``: its title under the jurisdiction's name, the period,
    the issuing office and day, and the reader's watermark."""
    organ = qd.rules_for(actor.jurisdiction).name
    today = local_day(qd.now())
    return Report(
        kind=kind,
        title=f"{organ}{title}",
        period=_period_line(bulletin.period, quarter),
        issuer=f"{organ}办公室",
        issued=_day(today),
        watermark=qd.watermark(actor),
        summary=summary,
        tables=tables,
    )


def _places(qd: Qiandao, bulletin: Bulletin) -> dict[str, str]:
    """The jurisdictions' names from their rules (the code where none are loaded)."""
    found: dict[str, str] = {}
    for line in bulletin.by_jurisdiction:
        rules = qd.rules_for(line.key)
        found[line.key] = rules.name if rules.jurisdiction == line.key else line.key
    return found


def bulletin_report(
    qd: Qiandao,
    actor: Actor,
    year: int,
    quarter: int,
    format: str = "docx",
    *,
    font: FontChoice = None,
) -> bytes:
    """The quarterly bulletin (季度通报, 第十一、十三条) of the actor's jurisdiction as
    ``format`` bytes: totals, people, units with their KPIs, categories, sectors, channels,
    jurisdictions; charts of categories, channels and unit rates. ``font``: a
    :class:`CjkFont` or a font file for the DOCX charts (default: found)."""
    render_as = _renderer(format, font)
    bulletin = qd.quarterly_bulletin(actor, year, quarter)
    tables = bulletin_tables(bulletin, _places(qd, bulletin))
    report = _report(
        qd,
        actor,
        "bulletin",
        "社情民意信息工作季度通报",
        bulletin,
        quarter,
        tables,
        bulletin_summary(bulletin),
    )
    return render_as(report)


def assessment_report(
    qd: Qiandao, actor: Actor, year: int, format: str = "docx", *, font: FontChoice = None
) -> bytes:
    """The year-end assessment (年终考核, 第十三条) as ``format`` bytes: every person's place,
    counts and score (the ranking of :meth:`~qiandao.Qiandao.assessment`), read through
    ``annual_bulletin`` so the names come with it."""
    render_as = _renderer(format, font)
    bulletin = qd.annual_bulletin(actor, year)
    report = _report(
        qd,
        actor,
        "assessment",
        "社情民意信息工作年度考核",
        bulletin,
        None,
        assessment_tables(bulletin),
        (
            f"本年度参与报送并计分的委员和信息员{len(bulletin.people)}人，按积分排名如下（积分相同名次并列）。",
        ),
    )
    return render_as(report)


def unit_report(
    qd: Qiandao,
    actor: Actor,
    year: int,
    quarter: int | None = None,
    format: str = "docx",
    *,
    font: FontChoice = None,
) -> bytes:
    """Unit handling performance (承办单位办理情况, 第十条) of a quarter, or of the whole year
    when ``quarter`` is ``None``, as ``format`` bytes: each unit's workload, on-time,
    extension, decline and satisfaction rates and average working days to reply."""
    render_as = _renderer(format, font)
    bulletin: Any = (
        qd.annual_bulletin(actor, year)
        if quarter is None
        else qd.quarterly_bulletin(actor, year, quarter)
    )
    report = _report(
        qd, actor, "units", "社情民意信息承办单位办理情况", bulletin, quarter, unit_tables(bulletin)
    )
    return render_as(report)


def topics_report(
    qd: Qiandao,
    actor: Actor,
    year: int,
    quarter: int,
    format: str = "docx",
    *,
    category: FocusCategory | None = None,
    limit: int = 20,
    font: FontChoice = None,
) -> bytes:
    """The hot-topics analysis (民情分析研判, 第一、八条) of a quarter as ``format`` bytes:
    :meth:`~qiandao.Qiandao.hot_topics` (optionally of one ``category``) with each topic's
    counts and representative titles, and :meth:`~qiandao.Qiandao.trends` of the quarter and
    the four before by category, each with a chart. Needs a service with an analyzer."""
    render_as = _renderer(format, font)
    period = Period.quarter(year, quarter)
    topics = qd.hot_topics(actor, period, category=category, limit=limit)
    quarters = [
        Period.quarter(year + (quarter - 1 - n) // 4, (quarter - 1 - n) % 4 + 1)
        for n in range(4, -1, -1)
    ]
    trends = qd.trends(actor, quarters, by="category")
    report = _report(
        qd,
        actor,
        "topics",
        "社情民意热点分析",
        topics,
        quarter,
        topic_tables(topics, trends),
        topic_summary(topics),
    )
    return render_as(report)
