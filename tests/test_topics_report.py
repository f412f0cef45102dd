"""The hot-topics report (report topics): each format opened with its own library and checked
against hot_topics and trends."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from qiandao import FocusCategory, HotTopics, Role
from qiandao.cli import main
from qiandao.rules.points import Period
from qiandao.testing import sample_account
from qiandao_adapters.analysis import MinHashAnalyzer
from qiandao_adapters.reports import topics_report
from qiandao_adapters.reports.xlsx import HEADER_ROW
from tests.helpers import World, at, fails, make_world
from tests.test_reports import _charts, _font
from tests.test_topics import BURST, BURST_BODY, OTHER, OTHER_BODY

Q1 = Period.quarter(2026, 1)


def _world(store: object = None) -> World:
    w = make_world(at(2026, 1, 12), analyzer=MinHashAnalyzer(), store=store)  # type: ignore[arg-type]
    for n in range(3):
        w.clock.advance(hours=1)
        w.qd.submit_new(w.member, {"title": BURST, "body": BURST_BODY, "category": "hot_issue"})
        if n < 2:
            w.qd.submit_new(w.member, {"title": OTHER, "body": OTHER_BODY, "category": "emergency"})
    return w


@pytest.fixture(scope="module")
def world() -> World:
    return _world()


def _topic_rows(found: HotTopics) -> list[list[str]]:
    return [
        [
            str(n),
            t.word,
            f"{t.weight:.2f}",
            str(t.items),
            str(t.previous_items),
            str(t.change),
            "；".join(r.title for r in t.representatives),
        ]
        for n, t in enumerate(found.topics, start=1)
    ]


def test_the_docx_shows_the_topics_and_the_trend_with_charts(world: World) -> None:
    data = topics_report(world.qd, world.editor, 2026, 1, "docx", font=_font())
    found = world.qd.hot_topics(world.editor, Q1)
    assert {"台风", "公交"} <= {t.word for t in found.topics}
    document = Document(io.BytesIO(data))
    assert document.paragraphs[0].text == "舟山市政协社情民意热点分析"
    topics, trend = [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]
    assert topics[1:] == _topic_rows(found)
    assert trend[0][-1] == "2026年Q1" and len(trend[0]) == 6
    assert {row[0]: row[-1] for row in trend[1:]} == {
        FocusCategory.HOT_ISSUE.label: "3",
        FocusCategory.EMERGENCY.label: "2",
    }
    assert len(document.inline_shapes) == 2
    assert world.qd.watermark(world.editor) in document.sections[0].header.paragraphs[0].text


def test_the_xlsx_and_csv_carry_the_same_numbers(world: World) -> None:
    found = world.qd.hot_topics(world.editor, Q1)
    book = load_workbook(io.BytesIO(topics_report(world.qd, world.editor, 2026, 1, "xlsx")))
    sheet = book["热点话题"]
    assert isinstance(sheet, Worksheet)
    rows = list(sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=True))
    assert [(r[1], r[3], r[4]) for r in rows] == [
        (t.word, t.items, t.previous_items) for t in found.topics
    ]
    assert _charts(sheet)
    data = topics_report(world.qd, world.editor, 2026, 1, "csv")
    assert data.startswith(codecs.BOM_UTF8)
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    start = lines.index(["序号", "话题", "权重", "本期条数", "上期条数", "增减", "代表性信息"])
    assert lines[start + 1 : start + 1 + len(found.topics)] == _topic_rows(found)


def test_only_office_roles_export_topics(world: World) -> None:
    fails("permission.denied", lambda: topics_report(world.qd, world.member, 2026, 1, "csv"))
    fails("input.invalid", lambda: topics_report(world.qd, world.editor, 2026, 1, "pdf"))


def test_the_cli_writes_the_topics_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from qiandao_adapters.sql import SqlStore

    url = f"sqlite:///{tmp_path / 'topics.db'}"
    store = SqlStore(url)
    store.create_all()
    _world(store)
    with store.unit_of_work() as uow:
        uow.accounts.add(sample_account("e9", "13900000009", role=Role.EDITOR))
        uow.commit()
    store.dispose()
    out = tmp_path / "topics.csv"
    command = ["report", "topics", "--url", url, "--as", "13900000009", "--year", "2026"]
    assert main([*command, "--quarter", "1", "-o", str(out)]) == 0
    text = out.read_bytes().decode("utf-8-sig")
    assert "台风" in text and "王小明" in text.splitlines()[0]
    only = tmp_path / "emergency.csv"
    assert main([*command, "--quarter", "1", "--category", "emergency", "-o", str(only)]) == 0
    assert "台风" not in only.read_bytes().decode("utf-8-sig").split("各关注类别")[0]
    capsys.readouterr()
