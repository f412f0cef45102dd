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
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from qiandao_adapters.sql.engine import make_engine

__all__ = ["SCRIPT_LOCATION", "VERSION_TABLE", "alembic_config", "upgrade"]

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


def upgrade(url_or_engine: str | URL | Engine, revision: str = "head") -> None:
    """Bring the database up to ``revision`` (default: the newest), creating it from empty."""
    if isinstance(url_or_engine, Engine):
        engine, owned = url_or_engine, False
    else:
        engine, owned = make_engine(url_or_engine), True
    try:
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        if owned:
            engine.dispose()
