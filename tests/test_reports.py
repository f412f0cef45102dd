"""Reports an office prints and files (第十一、十三条): each file, opened with its own library,
shows the statistics of the service's bulletin; charts are there; every file carries the
exporting person's 第十八条 watermark; only office roles export, and every export is audited."""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections import Counter
from pathlib import Path

import pytest
from docx import Document
from docx.enum.shape import WD_INLINE_SHAPE
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from qiandao import Actor, AuditQuery, Bulletin, Rating, Role, Target, TargetMeasure, TargetScope
from qiandao.cli import main
from qiandao.errors import ReportFontMissing
from qiandao.testing import enrol, sample_account
from qiandao_adapters.reports import (
    FORMATS,
    assessment_report,
    bulletin_report,
    fonts,
    unit_report,
)
from qiandao_adapters.reports.xlsx import HEADER_ROW
from tests.helpers import ZS, World, at, busy_world, fails, make_world

AUDITOR = Actor("audit-1", Role.AUDIT_ADMIN, ZS)
PEOPLE = ["名次", "姓名", "报送", "录用", "专报", "领导批示", "积分"]
SHEETS = ["人员", "承办单位", "类别", "界别", "渠道", "辖区"]


def _font() -> fonts.CjkFont:
    """The CJK font the DOCX charts need: CI installs one (fonts-noto-cjk); elsewhere its
    absence skips the DOCX checks with the reason."""
    try:
        return fonts.find_cjk_font()
    except ReportFontMissing:
        if os.environ.get("CI"):
            raise
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")


@pytest.fixture(scope="module")
def world() -> World:
    w = busy_world()
    enrol(w.store, AUDITOR)
    return w


def _people(b: Bulletin) -> list[tuple[object, ...]]:
    return [
        (
            p.place,
            b.names.get(p.person_id, p.person_id),
            p.submitted,
            p.adopted,
            p.reported_upward,
            p.instructions,
            p.score,
        )
        for p in b.people
    ]


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def _units_shown(b: Bulletin) -> dict[str, dict[str, str]]:
    """Per unit name, the KPIs as the DOCX and CSV show them."""
    return {
        b.unit_names[u.unit_id]: {
            "交办": str(u.assigned),
            "已答复": str(u.replied),
            "按时答复率": _percent(u.on_time_rate),
            "逾期未答复": str(u.overdue),
            "延期率": _percent(u.extended / u.assigned),
            "退回率": _percent(u.declined / u.assigned),
            "满意": str(u.ratings[Rating.SATISFIED]),
            "满意率": _percent(u.satisfaction_rate),
            "平均答复工作日": "—"
            if u.average_reply_workdays is None
            else f"{u.average_reply_workdays:.2f}",
        }
        for u in b.units
    }


def _picked(
    header: list[str], rows: list[list[str]], wanted: dict[str, dict[str, str]]
) -> dict[str, dict[str, str]]:
    """The rows of a units table keyed by unit name, only the columns ``wanted`` names."""
    columns = next(iter(wanted.values())).keys()
    return {row[0]: {c: row[header.index(c)] for c in columns} for row in rows}


def _sheet(book: Workbook, name: str) -> Worksheet:
    sheet = book[name]
    assert isinstance(sheet, Worksheet)
    return sheet


def _charts(sheet: Worksheet) -> list[object]:
    """The native charts openpyxl read from a sheet (``ws._charts``, not in its stubs)."""
    found: list[object] = getattr(sheet, "_charts")  # noqa: B009
    return found


def _exports(w: World, action: str) -> Counter[tuple[str, str | None, str | None]]:
    """The audit records of ``action``: outcome, person and error code, counted."""
    records = w.qd.audit_log(AUDITOR, AuditQuery(action=action, limit=500)).records
    return Counter((r.outcome, r.account_id, r.entry.code) for r in records)


def test_the_docx_bulletin_shows_the_statistics_with_charts_and_watermark(world: World) -> None:
    font = _font()
    before = _exports(world, "quarterly_bulletin")
    data = bulletin_report(world.qd, world.editor, 2026, 1, "docx", font=font)
    assert _exports(world, "quarterly_bulletin") - before == Counter(
        [("succeeded", world.editor.account_id, None)]
    )
    b = world.qd.quarterly_bulletin(world.editor, 2026, 1)
    assert b.people and b.units and b.by_category
    document = Document(io.BytesIO(data))
    assert document.paragraphs[0].text == "舟山市政协社情民意信息工作季度通报"
    assert document.paragraphs[1].text.startswith("2026年第一季度")
    tables = [[[cell.text for cell in row.cells] for row in t.rows] for t in document.tables]
    people, units, categories, sectors, channels, places = tables
    assert people[0] == PEOPLE
    assert people[1:] == [[str(v) for v in row] for row in _people(b)]
    expected = _units_shown(b)
    assert _picked(units[0], units[1:], expected) == expected
    assert {row[0]: row[1:3] for row in categories[1:]} == {
        g.label: [str(g.submitted), str(g.adopted)] for g in b.by_category
    }
    assert {row[0]: row[1:3] for row in channels[1:]} == {
        g.label: [str(g.submitted), str(g.adopted)] for g in b.by_channel
    }
    assert len(sectors) == 1 + len(b.by_sector)
    assert places[1:] == [  # the jurisdiction by its name
        ["舟山市政协", str(g.submitted), str(g.adopted), _percent(g.adopted / g.submitted)]
        for g in b.by_jurisdiction
    ]
    # charts: people, units, categories, sectors and channels (the one-line jurisdiction: none)
    shapes = document.inline_shapes
    assert len(shapes) == 5
    assert all(shape.type == WD_INLINE_SHAPE.PICTURE for shape in shapes)
    watermark = world.qd.watermark(world.editor)
    section = document.sections[0]
    assert watermark in section.header.paragraphs[0].text
    assert watermark in section.footer.paragraphs[0].text


def test_the_xlsx_bulletin_has_a_sheet_per_table_with_native_charts(world: World) -> None:
    data = bulletin_report(world.qd, world.editor, 2026, 1, "xlsx")
    b = world.qd.quarterly_bulletin(world.editor, 2026, 1)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == SHEETS
    watermark = world.qd.watermark(world.editor)
    for name in SHEETS:
        sheet = _sheet(book, name)
        assert watermark in str(sheet["A3"].value)
        assert sheet.oddHeader is not None and sheet.oddFooter is not None
        assert sheet.oddHeader.center.text == watermark
        assert watermark in str(sheet.oddFooter.left.text)

    def rows(name: str) -> tuple[list[object], list[tuple[object, ...]]]:
        sheet = _sheet(book, name)
        header: list[object] = [c.value for c in sheet[HEADER_ROW]]
        return header, list(sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=True))

    header, people = rows("人员")
    assert header == PEOPLE and people == _people(b)
    header, units = rows("承办单位")
    found = {row[0]: row for row in units}
    for u in b.units:
        row = found[b.unit_names[u.unit_id]]
        assert row[header.index("交办")] == u.assigned
        assert row[header.index("按时答复率")] == u.on_time_rate  # a number, None left empty
        assert row[header.index("满意率")] == u.satisfaction_rate
        assert row[header.index("逾期未答复")] == u.overdue
        assert row[header.index("平均答复工作日")] == u.average_reply_workdays
    _, categories = rows("类别")
    assert {r[0]: r[1:3] for r in categories} == {
        g.label: (g.submitted, g.adopted) for g in b.by_category
    }
    assert book["承办单位"]["E5"].number_format == "0.0%"
    charted = {name for name in SHEETS if _charts(_sheet(book, name))}
    assert charted == {"人员", "承办单位", "类别", "界别", "渠道"}


def test_the_csv_bulletin_is_utf8_with_bom_in_sections(world: World) -> None:
    data = bulletin_report(world.qd, world.editor, 2026, 1, "csv")
    assert data.startswith(codecs.BOM_UTF8)
    b = world.qd.quarterly_bulletin(world.editor, 2026, 1)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][0].startswith("#") and world.qd.watermark(world.editor) in rows[0][0]
    sections: list[list[list[str]]] = [[]]
    for row in rows:
        if row:
            sections[-1].append(row)
        else:
            sections.append([])
    preamble, people, units, *groups = sections
    assert preamble[1] == ["舟山市政协社情民意信息工作季度通报"]
    assert [s[0][0] for s in (people, units, *groups)] == [
        "委员与信息员报送情况",
        "承办单位办理情况",
        "按关注类别统计",
        "按界别统计",
        "按报送渠道统计",
        "按政协统计",
    ]
    assert people[1] == PEOPLE
    assert people[2:] == [[str(v) for v in row] for row in _people(b)]
    expected = _units_shown(b)
    assert _picked(units[1], units[2:], expected) == expected
    assert {r[0]: r[1:3] for r in groups[0][2:]} == {
        g.label: [str(g.submitted), str(g.adopted)] for g in b.by_category
    }


def test_the_assessment_ranks_as_the_service_does(world: World) -> None:
    ranking = world.qd.assessment(world.editor, 2026)
    names = world.qd.annual_bulletin(world.editor, 2026).names
    book = load_workbook(io.BytesIO(assessment_report(world.qd, world.editor, 2026, "xlsx")))
    assert book.sheetnames == ["考核排名"]
    sheet = _sheet(book, "考核排名")
    assert "年度考核" in str(sheet["A1"].value) and "2026年度" in str(sheet["A2"].value)
    rows = list(sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=True))
    assert [(r[0], r[1], r[6]) for r in rows] == [
        (r.place, names[r.person_id], r.score) for r in ranking
    ]
    assert _charts(sheet)
    document = Document(
        io.BytesIO(assessment_report(world.qd, world.editor, 2026, "docx", font=_font()))
    )
    assert [row.cells[1].text for row in document.tables[0].rows[1:]] == [
        names[r.person_id] for r in ranking
    ]
    assert len(document.inline_shapes) == 1


def test_the_unit_report_of_a_year_or_a_quarter(world: World) -> None:
    year = world.qd.annual_bulletin(world.editor, 2026)
    text = unit_report(world.qd, world.editor, 2026, format="csv").decode("utf-8-sig")
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    assert rows[1] == ["舟山市政协社情民意信息承办单位办理情况"]
    assert rows[2][0].startswith("2026年度（2026年1月1日至2026年12月31日）")
    assert rows[3] == ["承办单位办理情况"]
    expected = _units_shown(year)
    assert _picked(rows[4], rows[5:], expected) == expected
    quarter = unit_report(world.qd, world.editor, 2026, 2, "csv").decode("utf-8-sig")
    assert "2026年第二季度" in quarter and "本期无数据" not in quarter
    assert len([row for row in csv.reader(io.StringIO(quarter)) if row]) == 5  # no unit line
    document = Document(io.BytesIO(unit_report(world.qd, world.editor, 2026, font=_font())))
    assert len(document.tables) == 1 and len(document.inline_shapes) == 1


@pytest.mark.parametrize("format", FORMATS)
def test_only_office_roles_export_and_every_refusal_is_audited(world: World, format: str) -> None:
    before = _exports(world, "quarterly_bulletin")
    for actor in (world.member, world.unit("u-a")):
        fails("permission.denied", lambda: bulletin_report(world.qd, actor, 2026, 1, format))  # noqa: B023
        fails("permission.denied", lambda: unit_report(world.qd, actor, 2026, 1, format))  # noqa: B023
    refusals = _exports(world, "quarterly_bulletin") - before
    assert refusals == Counter(
        ("refused", actor.account_id, "permission.denied")
        for actor in (world.member, world.member, world.unit("u-a"), world.unit("u-a"))
    )
    before = _exports(world, "annual_bulletin")
    fails("permission.denied", lambda: assessment_report(world.qd, world.member, 2026, format))
    assert _exports(world, "annual_bulletin") - before == Counter(
        [("refused", world.member.account_id, "permission.denied")]
    )


def test_a_missing_cjk_font_is_a_coded_error_before_anything_is_read(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(fonts.FONT_VARIABLE, raising=False)
    monkeypatch.setattr(fonts, "FAMILIES", ("没有这种字体",))
    before = _exports(world, "quarterly_bulletin")
    error = fails("report.font_missing", lambda: bulletin_report(world.qd, world.editor, 2026, 1))
    assert error.article == "第十一条" and error.http_status == 503
    assert _exports(world, "quarterly_bulletin") == before  # nothing read, nothing exported
    fails("report.font_missing", lambda: fonts.find_cjk_font("/no/such/font.ttf"))
    # the tables-only formats draw nothing with matplotlib: no font needed
    assert bulletin_report(world.qd, world.editor, 2026, 1, "xlsx")
    fails("input.invalid", lambda: bulletin_report(world.qd, world.editor, 2026, 1, "pdf"))


def test_a_font_installed_after_matplotlib_cached_its_list_is_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from matplotlib import font_manager

    expected = _font()
    listed = font_manager.fontManager.ttflist
    cjk_files = {e.fname for e in listed if e.name in fonts.FAMILIES}
    stale = [e for e in listed if e.fname not in cjk_files]  # the list before the install
    monkeypatch.setattr(font_manager.fontManager, "ttflist", stale)
    monkeypatch.delenv(fonts.FONT_VARIABLE, raising=False)
    assert fonts.find_cjk_font().family == expected.family


def test_the_font_named_in_the_environment_comes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    found = _font()
    monkeypatch.setattr(fonts, "FAMILIES", ("没有这种字体",))
    monkeypatch.setenv(fonts.FONT_VARIABLE, str(found.path))
    assert fonts.find_cjk_font().path == found.path


def test_the_cli_writes_a_report_as_an_office_account(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from qiandao_adapters.sql import SqlStore

    url = f"sqlite:///{tmp_path / 'reports.db'}"
    store = SqlStore(url)
    store.create_all()
    w = make_world(at(2026, 3, 2), store=store)
    w.issued()
    w.qd.submit_new(w.coauthor, {"title": "刚报送", "body": "正文", "category": "emergency"})
    with store.unit_of_work() as uow:
        uow.accounts.add(sample_account("e9", "13900000009", role=Role.EDITOR))
        uow.accounts.add(sample_account("m9", "13900000008", role=Role.MEMBER))
        uow.commit()
    expected = w.qd.quarterly_bulletin(Actor("e9", Role.EDITOR, ZS), 2026, 1)
    store.dispose()
    out = tmp_path / "bulletin.xlsx"
    command = ["report", "bulletin", "--url", url, "--year", "2026", "--quarter", "1"]
    assert main([*command, "--as", "139 0000 0009", "-o", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    sheet = _sheet(load_workbook(out), "人员")
    assert list(sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=True)) == _people(expected)
    assert "王小明" in str(sheet["A3"].value)  # the exporting person's watermark
    assert main([*command, "--as", "13900000008", "-o", str(tmp_path / "x.csv")]) == 2
    assert "permission.denied" in capsys.readouterr().err  # a member: no office role
    assert main([*command, "--as", "13900000007", "-o", str(tmp_path / "x.csv")]) == 2
    assert "input.invalid" in capsys.readouterr().err  # no such account
    assert not (tmp_path / "x.csv").exists()
    assert main([*command, "--as", "13900000009", "--format", "csv", "-o", "-"]) == 0
    assert "王小明" in capsys.readouterr().out  # to standard output, watermark first
    csv_out = tmp_path / "units.csv"
    units = ["report", "units", "--url", url, "--as", "13900000009", "--year", "2026"]
    assert main([*units, "--format", "csv", "-o", str(csv_out)]) == 0
    assert csv_out.read_bytes().startswith(codecs.BOM_UTF8)


def _planned_world() -> World:
    """A quarter's work under an annual plan (第六条): 委员 m2 and m3 are behind."""
    w = make_world()
    targets = [
        Target(TargetScope.ROLE, TargetMeasure.SUBMITTED, 2, role=Role.MEMBER),
        Target(TargetScope.JURISDICTION, TargetMeasure.ADOPTED, 4),
    ]
    w.qd.set_annual_plan(w.editor, 2026, targets)
    w.issued()
    w.qd.submit_new(w.member, {"title": "二", "body": "正文", "category": "emergency"})
    return w


PLAN_ROWS = [
    ["政协委员每人报送不少于2篇", "3", "1", "33.3%", "m2、m3"],
    ["全办录用不少于4篇", "4", "1", "25.0%", ""],
]


def test_every_format_of_the_bulletin_shows_the_plans_progress() -> None:
    w = _planned_world()
    progress = w.qd.quarterly_bulletin(w.editor, 2026, 1).plan
    assert progress is not None
    assert [[t.goal, t.actual] for t in progress.targets] == [[3, 1], [4, 1]]
    book = load_workbook(io.BytesIO(bulletin_report(w.qd, w.editor, 2026, 1, "xlsx")))
    assert book.sheetnames == [*SHEETS, "年度计划"]
    sheet = _sheet(book, "年度计划")
    rows = list(sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=True))
    assert rows == [
        (r[0], int(r[1]), int(r[2]), t.share, r[4] or None)
        for r, t in zip(PLAN_ROWS, progress.targets, strict=True)
    ]
    data = bulletin_report(w.qd, w.editor, 2026, 1, "csv").decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(data)))
    start = next(
        i for i, row in enumerate(lines) if row and row[0].startswith("2026年度计划完成情况")
    )
    assert lines[start][0] == "2026年度计划完成情况（截至3月2日）"  # the quarter runs on: today
    assert lines[start + 2 : start + 4] == PLAN_ROWS
    font = _font()
    document = Document(io.BytesIO(bulletin_report(w.qd, w.editor, 2026, 1, "docx", font=font)))
    plan = [[cell.text for cell in row.cells] for row in document.tables[-1].rows]
    assert plan[1:] == PLAN_ROWS
    assert any("年度计划2项目标，已完成0项" in p.text for p in document.paragraphs)
