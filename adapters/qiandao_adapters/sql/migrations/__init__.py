"""Alembic migrations of the SQL store, shipped inside the package and run programmatically.

>>> from qiandao_adapters.sql import upgrade
>>> upgrade("sqlite://")  # doctest: +SKIP

A new revision, for developers of qiandao::

    from alembic import command
    command.revision(alembic_config(url), message="...", autogenerate=True)
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, column, inspect, select, table
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from qiandao.errors import (
    InvalidInput,
    MigrationFailed,
    StoreNotMigrated,
    StoreSchemaUnknown,
    StoreUnavailable,
)
from qiandao_adapters.sql.engine import make_engine
from qiandao_adapters.sql.errors import cause_of, hint_for

if TYPE_CHECKING:  # Alembic itself loads only when a migration is looked up or run
    from alembic.config import Config
    from alembic.script import ScriptDirectory

__all__ = [
    "SCRIPT_LOCATION",
    "VERSION_TABLE",
    "alembic_config",
    "check_revision",
    "current_revision",
    "head_revision",
    "upgrade",
]

SCRIPT_LOCATION = Path(__file__).resolve().parent
VERSION_TABLE = "qd_alembic_version"
_VERSIONS = table(VERSION_TABLE, column("version_num"))


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic configuration pointing at the migrations in this package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    if url is not None:
        rendered = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def current_revision(url_or_engine: str | URL | Engine) -> str | None:
    """The database's migration revision (``None`` for a database never upgraded)."""
    if isinstance(url_or_engine, Engine):
        engine, owned = url_or_engine, False
    else:
        engine, owned = make_engine(url_or_engine), True
    try:
        with engine.connect() as connection:
            return _current(connection)
    finally:
        if owned:
            engine.dispose()


@functools.cache
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


_REVISION = re.compile(r"^(down_)?revision(?:: [^=]+)? = (None|\"[^\"]*\")$", re.MULTILINE)


@functools.cache
def head_revision() -> str:
    """The newest migration revision this code knows (the schema the store reads and writes).

    Read from the revision files' ``revision`` / ``down_revision`` lines, so that opening a
    store does not load Alembic (a test checks it names Alembic's head)."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in (SCRIPT_LOCATION / "versions").glob("[0-9]*.py"):
        for down, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            if value != "None":
                (downs if down else revisions).add(value.strip('"'))
    heads = revisions - downs
    assert len(heads) == 1, heads  # the package ships one line of migrations
    return heads.pop()


def _stamped(connection: Connection) -> str | None:
    """The revision in the version table, read with one statement; ``None`` when the table is
    missing or empty."""
    try:
        found = connection.execute(select(_VERSIONS.c.version_num)).scalars().all()
    except DBAPIError:  # no version table (PostgreSQL aborts the transaction: roll it back)
        connection.rollback()
        return None
    return found[0] if len(found) == 1 else _current(connection)


def check_revision(connection: Connection, url: str) -> None:
    """Refuse a database the store cannot use: no qiandao tables or an older revision
    (``StoreNotMigrated``, telling the host to run ``db upgrade``), or a revision this code does
    not know (``StoreSchemaUnknown``). Tables made by ``metadata.create_all`` (tests, demos)
    carry no revision and pass. ``url`` is shown in the message, without its password.

    One statement when the database is at head (the version table read directly); the catalog
    is consulted only when that table is missing."""
    current = _stamped(connection)
    head = head_revision()
    if current == head:
        return
    if current is None:
        if inspect(connection).has_table("qd_items"):
            return
        raise StoreNotMigrated(
            f"数据库中没有 qiandao 的表（空库），请先运行 python -m qiandao db upgrade --url {url}"
            "（嵌入式 SQLite 也可用 SqlStore(..., create=True) 在启动时建表）",
            current=None,
            head=head,
        )
    _check_known(current)
    raise StoreNotMigrated(
        f"数据库结构版本为 {current}，本版本 qiandao 需要 {head}，"
        f"请先运行 python -m qiandao db upgrade --url {url}",
        current=current,
        head=head,
    )


def _check_known(current: str | None) -> None:
    """Refuse a database at a revision this code does not know (a newer qiandao's)."""
    if current is None:
        return
    from alembic.util import CommandError

    try:
        _script().get_revision(current)
    except CommandError:
        raise StoreSchemaUnknown(
            f"数据库结构版本 {current} 不为本版本 qiandao 所知（最新为 {head_revision()}），"
            "可能已由更新的 qiandao 升级：请升级 qiandao，数据库未作任何修改",
            current=current,
            head=head_revision(),
        ) from None


def _check_target(current: str | None, revision: str) -> None:
    """Refuse an unknown revision, and one older than the database's (upgrade never downgrades;
    Alembic would silently do nothing)."""
    from alembic.util import CommandError

    script = _script()
    try:
        target = script.get_revision(revision)
    except CommandError as exc:
        if "+" in revision:  # a relative target ("+1", "0002+1"): only ever upward
            return
        raise InvalidInput(
            f"未知的数据库版本：{revision!r}", field="revision", revision=revision
        ) from exc
    if target is None or current is None or target.revision == current:
        return
    older = {r.revision for r in script.iterate_revisions(current, "base")}
    if target.revision in older:
        raise InvalidInput(
            f"数据库当前版本为 {current}，晚于目标版本 {target.revision}；"
            "upgrade 只升级、不降级，数据库未作任何修改",
            field="revision",
            current=current,
            revision=target.revision,
        )


def _failing(current: str | None, applied: list[str]) -> str | None:
    """The revision that was running when an upgrade from ``current`` failed, given those
    ``applied`` before it: the one after the last applied (linear history)."""
    script = _script()
    last = applied[-1] if applied else current
    if last is None:
        return script.get_base()
    following = script.get_revision(last)
    nexts = sorted(following.nextrev) if following is not None else []
    return nexts[0] if nexts else None


def _failure(exc: SQLAlchemyError, url: URL, step: str | None) -> StoreUnavailable:
    """The error an upgrade raises: the database's message, the revision that failed (``None``
    if the database could not be reached) and a hint, the URL without its password."""
    cause = cause_of(exc, url.password if isinstance(url.password, str) else None)
    hint = hint_for(cause)
    where = url.render_as_string(hide_password=True)
    if step is None:
        return StoreUnavailable(
            f"无法连接数据库 {where}：{cause}。{hint}", cause=cause, hint=hint, url=where
        )
    return MigrationFailed(
        f"数据库升级在版本 {step} 失败（{where}）：{cause}。{hint}",
        revision=step,
        cause=cause,
        hint=hint,
        url=where,
    )


def upgrade(url_or_engine: str | URL | Engine, revision: str = "head") -> str | None:
    """Bring the database up to ``revision`` (default: the newest), creating it from empty.

    Returns the database's revision afterwards. A ``revision`` older than the database's is
    refused (``InvalidInput``, ``input.invalid``, ``details["current"]``): upgrade never
    downgrades. An unknown revision is ``input.invalid`` too; a database at a revision this code
    does not know is ``store.schema_unknown``. A database that cannot be reached is
    ``store.unavailable`` and a migration that fails ``store.migration_failed``, both with the
    database's own message (``details["cause"]``) and a ``hint``.
    """
    from alembic import command
    from alembic.util import CommandError

    if isinstance(url_or_engine, Engine):
        engine, owned = url_or_engine, False
    else:
        engine, owned = make_engine(url_or_engine), True
    config = alembic_config()
    started: list[str | None] = []
    try:
        with engine.begin() as connection:
            current = _current(connection)
            started.append(current)
            _check_known(current)
            _check_target(current, revision)
            config.attributes["connection"] = connection
            try:
                command.upgrade(config, revision)
            except CommandError as exc:
                raise InvalidInput(
                    f"无法升级到版本 {revision!r}：{exc}", field="revision", revision=revision
                ) from exc
            return _current(connection)
    except SQLAlchemyError as exc:
        step = _failing(started[0], config.attributes.get("applied", [])) if started else None
        raise _failure(exc, engine.url, step) from exc
    finally:
        if owned:
            engine.dispose()
