"""The engine recipe: one SQLAlchemy engine configured the same way for every database.

PostgreSQL and MySQL/MariaDB run at ``READ COMMITTED`` without pre-ping (a round trip per unit
of work): a connection the server dropped fails the one unit that finds it
(``store.unavailable``, nothing written; the pool then drops every connection of that age), and
the next unit connects afresh. ``pool_pre_ping=True`` among the engine arguments restores it.
MySQL/MariaDB speak ``utf8mb4`` unless the URL names a charset. SQLite: pysqlite's own
transaction handling is switched off and every transaction starts with ``BEGIN IMMEDIATE`` (one
writer at a time), except a unit of work's read phase (see :data:`READ_PHASE`); each new
connection gets a busy timeout, ``foreign_keys=ON`` and, for a file, WAL journaling with
``synchronous=NORMAL``; ``:memory:`` shares one connection.

``synchronous=NORMAL`` in WAL is a durability trade-off (docs/storage.md): a commit does not
wait for the WAL to reach the disk, only checkpoints do, so a power failure or an OS crash may
lose the last committed transactions, but the database is never corrupted, and a crash of the
process (even ``kill -9``) loses nothing. ``sqlite_synchronous="FULL"`` syncs every commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

__all__ = ["READ_PHASE", "configure_sqlite", "make_engine"]

READ_PHASE = "qiandao_read_phase"
"""Execution option: while true, a SQLite connection reads without beginning a transaction."""


def make_engine(
    url: str | URL,
    *,
    busy_timeout: float = 30.0,
    sqlite_synchronous: str = "NORMAL",
    **kwargs: Any,
) -> Engine:
    """An engine configured for the store (see the module docstring); ``kwargs`` go to
    :func:`sqlalchemy.create_engine`."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            kwargs.setdefault("poolclass", StaticPool)
            kwargs.setdefault("connect_args", {"check_same_thread": False})
    else:
        kwargs.setdefault("isolation_level", "READ COMMITTED")
        if backend in ("mysql", "mariadb") and "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    engine = create_engine(parsed, **kwargs)
    configure_sqlite(engine, busy_timeout=busy_timeout, synchronous=sqlite_synchronous)
    return engine


def _sqlite_begin(conn: Connection) -> None:
    if not conn.get_execution_options().get(READ_PHASE, False):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def configure_sqlite(
    engine: Engine,
    *,
    busy_timeout: float = 30.0,
    wal: bool = True,
    synchronous: str = "NORMAL",
) -> None:
    """Give a SQLite engine real transactions (the pysqlite recipe of the SQLAlchemy docs) and
    the store's settings, ``synchronous`` applying to a WAL file (``NORMAL`` or ``FULL``, see the
    module); a no-op for other databases and for an engine already configured."""
    if engine.dialect.name != "sqlite" or event.contains(engine, "begin", _sqlite_begin):
        return
    if synchronous.upper() not in ("NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"synchronous must be NORMAL, FULL or EXTRA, not {synchronous!r}")
    file_backed = engine.url.database not in (None, "", ":memory:")

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if wal and file_backed:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        finally:
            cursor.close()

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", _sqlite_begin)
