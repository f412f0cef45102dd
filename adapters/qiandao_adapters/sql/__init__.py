"""The SQL store (SQLAlchemy Core): SQLite embedded by default, PostgreSQL, MySQL/MariaDB.

>>> from qiandao_adapters.sql import SqlStore
>>> store = SqlStore("sqlite://")
>>> store.create_all()
>>> with store.unit_of_work() as uow:
...     uow.units.list()
[]

Production databases are created and upgraded with Alembic: ``upgrade(url)``.
Needs the ``sql`` extra (``pip install 'qiandao[sql]'``, plus ``postgres`` or ``mysql``).
"""

from qiandao_adapters.sql.engine import configure_sqlite, make_engine
from qiandao_adapters.sql.migrations import (
    alembic_config,
    current_revision,
    head_revision,
    upgrade,
)
from qiandao_adapters.sql.schema import metadata
from qiandao_adapters.sql.store import SqlStore
from qiandao_adapters.sql.uow import SqlUnitOfWork

__all__ = [
    "SqlStore",
    "SqlUnitOfWork",
    "alembic_config",
    "configure_sqlite",
    "current_revision",
    "head_revision",
    "make_engine",
    "metadata",
    "upgrade",
]
