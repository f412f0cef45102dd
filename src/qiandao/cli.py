"""The ``qiandao`` command line: calendar questions and JSON Schemas here; adapters add commands
by entry point.

Packages register extra sub-commands in the ``qiandao.cli`` entry-point group (a callable taking
the sub-parsers object), so this module never imports an adapter.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import date
from importlib.metadata import entry_points
from typing import Any

from qiandao.errors import InvalidDate, InvalidWorkdayCount, QiandaoError

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidDate(f"不是合法日期：{text!r}（格式 YYYY-MM-DD）", value=text) from None


def _parse_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InvalidWorkdayCount(f"工作日数须为整数：{text!r}", value=text) from None
    if value < 0:
        raise InvalidWorkdayCount(f"期限的工作日数不能为负：{value}", value=text)
    return value


def _calendar(schedule: str | None) -> Any:
    from qiandao.calendar import ChinaWorkdays

    calendar = ChinaWorkdays.official()
    return calendar.load_schedule(schedule) if schedule else calendar


def _due(args: argparse.Namespace) -> int:
    calendar = _calendar(args.schedule)
    explanation = calendar.explain(_parse_date(args.start), _parse_count(args.workdays))
    print(explanation.due.isoformat())
    print(explanation.text())
    return 0


def _years(args: argparse.Namespace) -> int:
    from qiandao.calendar import MAX_YEAR, MIN_YEAR

    calendar = _calendar(args.schedule)
    official = calendar.official_years()
    for year in official:
        notices = "；".join(n.number for n in calendar.schedule(year).notices)
        print(f"{year}  官方安排  {notices}")
    print(f"{MIN_YEAR}–{MAX_YEAR} 中其余年份：临时推算（按法定节日，不含调休），结果标注为临时")
    return 0


def _schema(args: argparse.Namespace) -> int:
    import json

    from qiandao.json import schema, schemas

    if args.list:
        print("\n".join(schemas()))
        return 0
    found = schema(args.name) if args.name else schemas()
    print(json.dumps(found, ensure_ascii=False, indent=2))
    return 0


def _diagram(args: argparse.Namespace) -> int:
    from qiandao.rules.diagram import lifecycle_diagram

    print(lifecycle_diagram(args.kind), end="")
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m qiandao",
        description="qiandao 社情民意工作流程库命令行 / the qiandao command line",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    cal = commands.add_parser(
        "calendar", help="工作日日历（第十条办理期限）/ the working-day calendar"
    )
    cal_commands = cal.add_subparsers(dest="calendar_command", required=True)
    due = cal_commands.add_parser(
        "due", help="计算第N个工作日的到期日并说明 / the due date N working days on, explained"
    )
    due.add_argument("start", help="交办日期 YYYY-MM-DD（当日不计）/ the start day (not counted)")
    due.add_argument(
        "workdays", nargs="?", default="15", help="工作日数，默认15 / working days, default 15"
    )
    due.add_argument(
        "--schedule", help="追加的节假日安排文件（TOML 或 JSON）/ an extra holiday schedule file"
    )
    due.set_defaults(handler=_due)
    years = cal_commands.add_parser(
        "years", help="列出官方安排年份与临时推算年份 / official and provisional years"
    )
    years.add_argument(
        "--schedule", help="追加的节假日安排文件（TOML 或 JSON）/ an extra holiday schedule file"
    )
    years.set_defaults(handler=_years)

    schema = commands.add_parser(
        "schema",
        help="打印 JSON Schema（命令参数、返回值与视图）/ print the JSON Schemas",
        description=(
            "打印 JSON Schema（draft 2020-12）：命令名（如 draft）为其参数，"
            "“命令名.result”为其返回值，类型名（如 ItemView、QiandaoError）为其 JSON 形式；"
            "不给名称则打印全部。 / Print JSON Schemas (draft 2020-12): a command's name "
            "(draft) gives its arguments, '<command>.result' its result, a type's name "
            "(ItemView, QiandaoError) its JSON form; no name prints them all."
        ),
    )
    schema.add_argument("name", nargs="?", help="模式名称 / schema name（省略：全部 / all）")
    schema.add_argument("--list", action="store_true", help="只列出全部名称 / list the names only")
    schema.set_defaults(handler=_schema)

    from qiandao.rules.diagram import DIAGRAMS

    diagram = commands.add_parser(
        "diagram",
        help="生命周期图（Mermaid）/ the item or assignment lifecycle as a Mermaid diagram",
        description="由状态转移表生成信息或交办的生命周期图（Mermaid stateDiagram-v2）。"
        " Prints the lifecycle, generated from the transition tables, as Mermaid.",
    )
    diagram.add_argument(
        "kind",
        nargs="?",
        default="item",
        choices=DIAGRAMS,
        help="item 信息（默认）或 assignment 交办 / item (default) or assignment",
    )
    diagram.set_defaults(handler=_diagram)

    for entry in entry_points(group="qiandao.cli"):
        entry.load()(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; domain errors print their code and message and exit with 2."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except QiandaoError as error:
        print(f"错误 {error}", file=sys.stderr)
        return 2
