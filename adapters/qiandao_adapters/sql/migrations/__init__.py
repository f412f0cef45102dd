"""Alembic migrations of the SQL store, shipped inside the package and run programmatically.

>>> from qiandao_adapters.sql import upgrade
>>> upgrade("sqlite://")  # doctest: +SKIP

A new revision, for developers of qiandao::

    from alembic import command
    command.revision(alembic_config(url), message="...", autogenerate=True)
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL

from qiandao.errors import InvalidInput
from qiandao_adapters.sql.engine import make_engine

__all__ = ["SCRIPT_LOCATION", "VERSION_TABLE", "alembic_config", "current_revision", "upgrade"]

SCRIPT_LOCATION = Path(__file__).resolve().parent
VERSION_TABLE = "qd_alembic_version"


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic configuration pointing at the migrations in this package."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    if url is not None:
        rendered = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def _current(connection: Connection) -> str | None:
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


def _check_target(config: Config, current: str | None, revision: str) -> None:
    """Refuse an unknown revision, and one older than the database's (upgrade never downgrades;
    Alembic would silently do nothing)."""
    script = ScriptDirectory.from_config(config)
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


def upgrade(url_or_engine: str | URL | Engine, revision: str = "head") -> str | None:
    """Bring the database up to ``revision`` (default: the newest), creating it from empty.

    Returns the database's revision afterwards. A ``revision`` older than the database's is
    refused (``InvalidInput``, ``input.invalid``, ``details["current"]``): upgrade never
    downgrades. An unknown revision is ``input.invalid`` too.
    """
    if isinstance(url_or_engine, Engine):
        engine, owned = url_or_engine, False
    else:
        engine, owned = make_engine(url_or_engine), True
    try:
        config = alembic_config()
        with engine.begin() as connection:
            _check_target(config, _current(connection), revision)
            config.attributes["connection"] = connection
            try:
                command.upgrade(config, revision)
            except CommandError as exc:
                raise InvalidInput(
                    f"无法升级到版本 {revision!r}：{exc}", field="revision", revision=revision
                ) from exc
            return _current(connection)
    finally:
        if owned:
            engine.dispose()
