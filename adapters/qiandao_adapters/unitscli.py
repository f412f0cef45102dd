"""``python -m qiandao admin bootstrap`` and ``units import|list``: the first administrator and
the handling units from the command line, through the library's own commands (audited).

``admin bootstrap`` creates the first 系统管理员 of an empty database. Its one-time password goes
to the person through ``--delivery module:factory`` (a
:class:`~qiandao.ports.security.CredentialDelivery`, e.g. the host's SMS gateway) when given,
else it is printed once on the terminal of the installer, who is that first administrator
(三员: nobody else learns it; it must be changed at first sign-in, and every later password goes
through the service's credential delivery).

``units import`` reads a UTF-8 CSV file with the header ``id,name,jurisdiction[,active]`` and
adds every unit in one transaction (:meth:`~qiandao.Qiandao.import_units`), acting as a system
admin account (``--as`` its mobile number; default: the platform's only one). A bad row imports
nothing, and the error names its line.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import sys
from pathlib import Path
from typing import Any

from qiandao.errors import InvalidInput, QiandaoError
from qiandao.model import Unit
from qiandao.paging import MAX_PAGE

__all__ = ["register"]

_CLIENT = "qiandao-cli"
_TRUE = frozenset({"", "1", "true", "yes", "y", "是", "启用"})
_FALSE = frozenset({"0", "false", "no", "n", "否", "停用", "撤销"})
_COLUMNS = ("id", "name", "jurisdiction")


def _service(url: str, **options: Any) -> Any:
    """A service on the database at ``url`` with the system clock (and ``options``)."""
    from qiandao import Qiandao
    from qiandao_adapters.clock import SystemClock
    from qiandao_adapters.sql import SqlStore

    options.setdefault("hasher", None)  # only ``admin bootstrap`` handles a password
    return Qiandao(SqlStore(url), clock=SystemClock(), dispatch_after_commit=False, **options)


def _delivery(spec: str | None) -> Any:
    """The credential delivery named ``module:factory`` (called with no arguments), or None."""
    if not spec:
        return None
    module, colon, name = spec.partition(":")
    if not colon or not module or not name:
        raise InvalidInput("--delivery 须为“模块:工厂函数”", field="delivery")
    try:
        factory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise InvalidInput(f"无法加载密码送达方式 {spec}：{exc}", field="delivery") from None
    return factory()


def _bootstrap(args: argparse.Namespace) -> int:
    from qiandao.audit import request_context
    from qiandao_adapters.argon2_hasher import Argon2Hasher

    delivery = _delivery(args.delivery)
    qd = _service(args.url, hasher=Argon2Hasher(), credential_delivery=delivery)
    try:
        if args.jurisdiction is not None:
            _known_place(qd, args.jurisdiction)
        with request_context(client=f"{_CLIENT}/admin-bootstrap"):
            account, password = qd.bootstrap_admin(
                real_name=args.name, phone=args.phone, jurisdiction=args.jurisdiction
            )
    finally:
        qd.store.dispose()
    print(f"已创建系统管理员 {account.real_name}（{account.jurisdiction}），账号编号 {account.id}")
    if delivery is not None:
        try:
            delivery.deliver(account, args.phone, password)
        except Exception as exc:  # the account exists: its one password must not be lost
            print(f"送达失败（{type(exc).__name__}），改在终端显示", file=sys.stderr)
        else:
            print("初始密码已通过配置的送达方式发给本人")
            return 0
    print(f"初始密码（仅显示这一次，首次登录须修改）：{password}")
    return 0


def _known_place(qd: Any, code: str) -> None:
    """``code`` must be a stored jurisdiction (``input.invalid`` otherwise)."""
    with qd.store.unit_of_work() as uow:
        if uow.jurisdictions.get(code) is None:
            raise InvalidInput(f"未知的政协：{code}", field="jurisdiction")


def _acting_admin(qd: Any, phone: str | None) -> Any:
    """The actor of the system admin account ``phone`` (default: the platform's only one)."""
    from qiandao import Actor, Role
    from qiandao.accounts import normalise_phone

    platform = qd.rules_for("").jurisdiction  # the default rules: the platform's own
    with qd.store.unit_of_work() as uow:
        if phone is None:
            admins = uow.accounts.holders(Role.SYSTEM_ADMIN, platform)
            if len(admins) != 1:
                raise InvalidInput(
                    f"平台有 {len(admins)} 个系统管理员账号，请用 --as 指定手机号", field="as"
                )
            account = admins[0]
        else:
            account = uow.accounts.by_phone(normalise_phone(phone))
            if account is None:
                raise InvalidInput("没有该手机号的账号", field="as")
    grant = next((g for g in account.grants if g.role is Role.SYSTEM_ADMIN), None)
    if grant is None:
        raise InvalidInput("该账号不是系统管理员", field="as")
    return Actor(account.id, grant.role, grant.jurisdiction)


def _active(text: str, line: int) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidInput(f"第{line}行：active 须为 true/false：{text!r}", field="active", line=line)


def read_units(path: Path) -> tuple[list[Any], list[int]]:
    """The units of a CSV file and the line each came from (``input.invalid`` naming a line)."""
    from qiandao import NewUnit

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"无法读取文件 {path}：{exc}", field="file") from None
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [c for c in _COLUMNS if c not in header]
    unknown = [c for c in header if c not in (*_COLUMNS, "active")]
    if missing or unknown:
        raise InvalidInput(
            f"第1行：表头须为 id,name,jurisdiction[,active]（缺少 {missing}，多出 {unknown}）",
            field="file",
            line=1,
        )
    units: list[Any] = []
    lines: list[int] = []
    for row in reader:
        line = reader.line_num
        if None in row or any(v is None for v in row.values()):
            raise InvalidInput(f"第{line}行：列数与表头不符", field="file", line=line)
        place = row["jurisdiction"].strip() or None
        active = _active(row.get("active") or "", line)
        units.append(NewUnit(row["id"].strip(), row["name"], place, active))
        lines.append(line)
    return units, lines


def _import(args: argparse.Namespace) -> int:
    from qiandao.audit import request_context

    units, lines = read_units(Path(args.file))
    qd = _service(args.url)
    try:
        actor = _acting_admin(qd, args.acting)
        try:
            with request_context(client=f"{_CLIENT}/units-import"):
                added = qd.import_units(actor, units)
        except QiandaoError as error:
            row = error.details.get("row")
            if isinstance(row, int) and 0 <= row < len(lines):
                print(f"错误 第{lines[row]}行：{error}（未导入任何单位）", file=sys.stderr)
                return 2
            raise
    finally:
        qd.store.dispose()
    retired = sum(1 for u in added if not u.active)
    print(f"已导入 {len(added)} 个承办单位（其中 {retired} 个为已撤销）")
    return 0


def _every(fetch: Any) -> list[Any]:
    """Every row of a paged list, following its cursors."""
    found: list[Any] = []
    cursor: str | None = None
    while True:
        page = fetch(limit=MAX_PAGE, cursor=cursor)
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return found


def _list(args: argparse.Namespace) -> int:
    from qiandao.errors import JurisdictionDenied

    qd = _service(args.url)
    try:
        actor = _acting_admin(qd, args.acting)
        codes = (
            [args.jurisdiction]
            if args.jurisdiction is not None
            else [j.code for j in _every(lambda **page: qd.jurisdictions(actor, **page))]
        )
        found: list[Unit] = []
        for code in codes:  # without --jurisdiction: every one the admin manages
            try:
                found.extend(_every(lambda **page: qd.units(actor, code, **page)))  # noqa: B023
            except JurisdictionDenied:
                if args.jurisdiction is not None:
                    raise
    finally:
        qd.store.dispose()
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["id", "name", "jurisdiction", "active", "merged_into"])
    for unit in found:
        state = "true" if unit.active else "false"
        writer.writerow([unit.id, unit.name, unit.jurisdiction, state, unit.merged_into or ""])
    return 0


def register(commands: Any) -> None:
    """Add ``admin`` and ``units`` to ``python -m qiandao`` (entry point ``qiandao.cli``)."""
    admin = commands.add_parser("admin", help="管理员 / administrators")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    boot = admin_commands.add_parser(
        "bootstrap",
        help="在空数据库中创建第一个系统管理员 / create the first system admin of an empty store",
        description=(
            "创建第一个系统管理员；初始密码经 --delivery 发给本人，否则只在终端显示一次。"
            " Create the first system admin; the one-time password goes through --delivery,"
            " else it is printed once on this terminal."
        ),
    )
    boot.add_argument("--url", required=True, help="数据库 URL / database URL")
    boot.add_argument("--name", required=True, help="真实姓名 / real name")
    boot.add_argument("--phone", required=True, help="手机号（用户名）/ mobile number (username)")
    boot.add_argument(
        "--jurisdiction", help="所属政协编码，默认平台本级 / jurisdiction code (default: platform)"
    )
    boot.add_argument(
        "--delivery",
        help="密码送达方式“模块:工厂函数” / credential delivery as module:factory",
    )
    boot.set_defaults(handler=_bootstrap)

    units = commands.add_parser("units", help="承办单位 / handling units")
    unit_commands = units.add_subparsers(dest="units_command", required=True)
    load = unit_commands.add_parser(
        "import",
        help="从 CSV 导入承办单位（全部或全不）/ import units from CSV (all or nothing)",
        description=(
            "CSV 表头：id,name,jurisdiction[,active]；任一行有误则不导入任何单位，并指出行号。"
            " CSV header: id,name,jurisdiction[,active]; a bad row imports nothing and the"
            " error names its line."
        ),
    )
    listing = unit_commands.add_parser(
        "list", help="列出承办单位（CSV 输出）/ list the handling units (as CSV)"
    )
    for parser in (load, listing):
        parser.add_argument("--url", required=True, help="数据库 URL / database URL")
        parser.add_argument(
            "--as",
            dest="acting",
            metavar="PHONE",
            help="执行操作的系统管理员手机号 / the acting system admin's mobile number",
        )
    load.add_argument("file", help="UTF-8 CSV 文件 / UTF-8 CSV file")
    load.set_defaults(handler=_import)
    listing.add_argument(
        "--jurisdiction",
        help="政协编码，默认可管理的全部政协 / jurisdiction code (default: all it manages)",
    )
    listing.set_defaults(handler=_list)
