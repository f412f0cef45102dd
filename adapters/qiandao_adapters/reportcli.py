"""``python -m qiandao report bulletin|assessment|units|topics``: write a report an office prints
and files (第一、八、十一、十三条) as DOCX, XLSX or CSV, through the library's audited reads.

The report is read as an office account: ``--as`` its mobile number (and ``--role`` when it
holds several office grants). Like ``units import``, the command acts for that person on the
operator's own machine (the database URL and keys are the operator's); the export is recorded
in the audit under that account, with the client ``qiandao-cli/report-…``, and the file carries
the person's 第十八条 watermark. The format is ``--format``, else the suffix of ``-o``, else DOCX.
``report topics`` (the hot-topics analysis of a quarter) reads the term index the service keeps
when it has an analyzer (the ``analysis`` extra); ``--category`` limits it to one focus category.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from qiandao.errors import AnalysisUnavailable, InvalidInput, PermissionDenied

__all__ = ["register"]

_CLIENT = "qiandao-cli"
_FORMATS = ("docx", "xlsx", "csv")


def _service(url: str, *, analysis: bool = False) -> Any:
    """A service on the database at ``url`` with the system clock (no password handling); with
    an analyzer when ``analysis`` (hot topics read the term index it keeps)."""
    from qiandao import Qiandao
    from qiandao_adapters.clock import SystemClock
    from qiandao_adapters.sql import SqlStore

    analyzer = None
    if analysis:
        from qiandao_adapters.analysis import MinHashAnalyzer

        try:
            analyzer = MinHashAnalyzer()  # reading topics computes no signature: no key needed
        except ImportError as missing:
            raise AnalysisUnavailable(
                "热点分析需要扩展 analysis：pip install 'qiandao[analysis]'"
            ) from missing
    return Qiandao(
        SqlStore(url),
        clock=SystemClock(),
        hasher=None,
        dispatch_after_commit=False,
        analyzer=analyzer,
    )


def acting_office(qd: Any, phone: str, role: str | None = None) -> Any:
    """The actor of the office account with mobile number ``phone`` (its only office grant,
    or the one of ``role``); an unknown number is ``input.invalid`` (field ``as``), several
    office grants without ``role`` too (field ``role``), no office grant ``permission.denied``."""
    from qiandao import Actor, Role
    from qiandao.accounts import normalise_phone
    from qiandao.rules.roles import OFFICE_ROLES

    with qd.store.unit_of_work() as uow:
        account = uow.accounts.by_phone(normalise_phone(phone))
    if account is None:
        raise InvalidInput("没有该手机号的账号", field="as")
    wanted = None if role is None else Role.parse(role, "role")
    grants = [g for g in account.grants if g.role in OFFICE_ROLES and wanted in (None, g.role)]
    if not grants:  # only office roles export (第十八条): the library would refuse the same
        raise PermissionDenied("该账号没有办公室角色，不能导出报表")
    if len(grants) != 1:
        raise InvalidInput("该账号有多个办公室角色，请用 --role 指定", field="role")
    grant = grants[0]
    return Actor(account.id, grant.role, grant.jurisdiction, unit_id=grant.unit_id)


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    suffix = Path(args.output).suffix.lower().lstrip(".") if args.output else ""
    return suffix if suffix in _FORMATS else "docx"


def _report(args: argparse.Namespace) -> int:
    from qiandao import FocusCategory
    from qiandao.audit import request_context
    from qiandao_adapters import reports

    kind = args.report_command
    chosen = _format(args)
    quarter: Any = getattr(args, "quarter", None)  # required for a bulletin
    output = Path(
        args.output or f"{kind}-{args.year}{'' if quarter is None else f'-q{quarter}'}.{chosen}"
    )
    qd = _service(args.url, analysis=kind == "topics")
    try:
        actor = acting_office(qd, args.acting, args.role)
        with request_context(client=f"{_CLIENT}/report-{kind}"):
            if kind == "bulletin":
                data = reports.bulletin_report(qd, actor, args.year, quarter, chosen)
            elif kind == "assessment":
                data = reports.assessment_report(qd, actor, args.year, chosen)
            elif kind == "topics":
                category = None if args.category is None else FocusCategory.parse(args.category)
                data = reports.topics_report(
                    qd, actor, args.year, quarter, chosen, category=category, limit=args.limit
                )
            else:
                data = reports.unit_report(qd, actor, args.year, quarter, chosen)
    finally:
        qd.store.dispose()
    if args.output == "-":  # to standard output, for a pipe
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    output.write_bytes(data)
    print(f"已写出 {output}（{chosen.upper()}，{len(data)} 字节）")
    return 0


def register(commands: Any) -> None:
    """Add ``report`` to ``python -m qiandao`` (entry point ``qiandao.cli``)."""
    report = commands.add_parser(
        "report", help="打印归档用的报表（DOCX/XLSX/CSV）/ printable reports"
    )
    kinds = report.add_subparsers(dest="report_command", required=True)
    bulletin = kinds.add_parser(
        "bulletin", help="季度通报（第十一、十三条）/ the quarterly bulletin"
    )
    assessment = kinds.add_parser(
        "assessment", help="年终考核积分排名（第十三条）/ the year-end assessment"
    )
    units = kinds.add_parser("units", help="承办单位办理情况（第十条）/ unit handling performance")
    topics = kinds.add_parser(
        "topics", help="热点分析（第一、八条）/ the hot-topics analysis of a quarter"
    )
    for parser in (bulletin, assessment, units, topics):
        parser.add_argument("--url", required=True, help="数据库 URL / database URL")
        parser.add_argument(
            "--as",
            dest="acting",
            metavar="PHONE",
            required=True,
            help="导出人（办公室账号）的手机号 / the exporting office account's mobile number",
        )
        parser.add_argument(
            "--role", help="账号有多个办公室角色时选择其一 / which office role, if several"
        )
        parser.add_argument("--year", type=int, required=True, help="年份 / the year")
        parser.add_argument(
            "--format",
            choices=_FORMATS,
            help="格式，默认按 -o 的后缀或 docx / the format (default: by suffix, else docx)",
        )
        parser.add_argument(
            "-o",
            "--output",
            help="输出文件，默认当前目录，- 为标准输出 / output file (default: here; -: stdout)",
        )
        parser.set_defaults(handler=_report)
    bulletin.add_argument(
        "--quarter", type=int, required=True, help="季度 1–4 / the quarter (1 to 4)"
    )
    units.add_argument(
        "--quarter", type=int, help="季度 1–4，省略为全年 / the quarter (default: the whole year)"
    )
    topics.add_argument(
        "--quarter", type=int, required=True, help="季度 1–4 / the quarter (1 to 4)"
    )
    topics.add_argument(
        "--category", help="只看一个关注类别（如 hot_issue）/ one focus category only"
    )
    topics.add_argument(
        "--limit", type=int, default=20, help="话题数，默认 20 / how many topics (default 20)"
    )
