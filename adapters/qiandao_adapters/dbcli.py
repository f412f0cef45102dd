"""``python -m qiandao db upgrade --url URL``: create or upgrade a database with the migrations."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from qiandao.errors import InvalidInput, StoreUnavailable

__all__ = ["register", "sql_errors"]


@contextmanager
def sql_errors(url: str, what: str) -> Iterator[None]:
    """SQLAlchemy's errors as the library's: a bad URL ``input.invalid``, anything else of the
    database ``store.unavailable`` (``what`` failed), the URL shown without its password."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        yield
    except ArgumentError as exc:
        raise InvalidInput(f"数据库 URL 无效：{exc}", field="url") from exc
    except SQLAlchemyError as exc:
        from qiandao_adapters.sql.errors import cause_of, hint_for

        cause = cause_of(exc, _password(url))
        hint = hint_for(cause)
        raise StoreUnavailable(
            f"{what}：{cause}。{hint}", url=_safe(url), cause=cause, hint=hint
        ) from exc


def _upgrade(args: argparse.Namespace) -> int:
    try:
        from qiandao_adapters.sql import upgrade
    except ImportError as exc:  # the sql extra is not installed
        print(f"错误 需要安装 sql 扩展：pip install 'qiandao[sql]'（{exc}）", file=sys.stderr)
        return 2

    try:
        with sql_errors(args.url, "无法升级数据库"):
            reached = upgrade(args.url, args.revision)
    except StoreUnavailable as error:
        _explain(error, args.url)
        return 2
    asked = "" if args.revision == reached else f"（{args.revision}）"
    print(f"数据库已升级到 {reached or 'base'}{asked}：{_safe(args.url)}")
    return 0


def _explain(error: StoreUnavailable, url: str) -> None:
    """Print why an upgrade failed: the database's own message, the revision, a hint."""
    lines = [f"错误 [{error.code}] 数据库升级失败 / upgrade failed：{_safe(url)}"]
    for key, label in (("revision", "失败的版本 / revision"), ("cause", "原因 / cause")):
        if error.details.get(key):
            lines.append(f"  {label}：{error.details[key]}")
    lines.append(f"  建议 / hint：{error.details.get('hint') or error.message}")
    print("\n".join(lines), file=sys.stderr)


def _password(url: str) -> str | None:
    """The URL's password, to mask should a driver message repeat it."""
    from sqlalchemy.engine import make_url

    try:
        password = make_url(url).password
    except Exception:
        return None
    return password if isinstance(password, str) else None


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<无效的数据库 URL>"


def register(commands: Any) -> None:
    """Add ``db`` to the ``python -m qiandao`` command line (entry point ``qiandao.cli``)."""
    db = commands.add_parser("db", help="数据库迁移（Alembic）/ database migrations")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    up = db_commands.add_parser(
        "upgrade",
        help="创建或升级数据库到最新结构 / create or upgrade the database to the newest schema",
        description="创建或升级数据库；失败时打印数据库的报错、失败的版本与建议，退出码 2。"
        " Creates or upgrades the database; on failure prints the database's message, the"
        " revision that failed and a hint, and exits with 2.",
    )
    up.add_argument(
        "--url", required=True, help="数据库 URL，如 / database URL, e.g. sqlite:///qiandao.db"
    )
    up.add_argument("--revision", default="head", help="目标版本，默认 / target revision: head")
    up.set_defaults(handler=_upgrade)
