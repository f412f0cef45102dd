"""Databases for the SQL store tests.

SQLite (a file in a temporary directory) always runs. PostgreSQL and MySQL/MariaDB run when
``QIANDAO_TEST_POSTGRES_URL`` / ``QIANDAO_TEST_MYSQL_URL`` name a database; without them those
tests are skipped, unless ``QIANDAO_TEST_REQUIRE_DB=1`` (CI), when they fail instead. Each test
module gets a fresh schema (``drop_all`` then ``create_all``) on each server.

Local runs::

    QIANDAO_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/qiandao_dev \\
    QIANDAO_TEST_MYSQL_URL=mysql+pymysql://root@127.0.0.1:3306/qiandao_dev \\
    .venv/bin/pytest -q tests/sql
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from sqlalchemy import Engine, delete, inspect, text

from qiandao.ports.store import Store
from qiandao_adapters.memory import MemoryStore
from qiandao_adapters.sql import SqlStore, make_engine, metadata, schema
from qiandao_adapters.sql.migrations import VERSION_TABLE

SERVER_ENV = {
    "postgresql": "QIANDAO_TEST_POSTGRES_URL",
    "mysql": "QIANDAO_TEST_MYSQL_URL",
}
BACKENDS = ("sqlite", "postgresql", "mysql")


def server_url(backend: str) -> str:
    """The test database URL of a server backend, or skip (fail when databases are required)."""
    variable = SERVER_ENV[backend]
    url = os.environ.get(variable, "").strip()
    if not url:
        reason = f"{variable} is not set: no {backend} database to test against"
        if os.environ.get("QIANDAO_TEST_REQUIRE_DB") == "1":
            pytest.fail(f"QIANDAO_TEST_REQUIRE_DB=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return url


@contextlib.contextmanager
def audit_tables_for_a_while(engine: Engine) -> Iterator[None]:
    """The audit tables (0009), the event log's positions (0012: ``qd_event_log_head`` and
    ``qd_events.position``) and the assignments' attention (0017) of today's schema beside an
    older revision, then gone again, so that today's service (which records every command,
    numbers every event and keys each assignment for the job) can run there and a later
    upgrade creates them itself."""
    tables = [schema.audit, schema.audit_targets, schema.audit_heads, schema.event_log_head]
    metadata.create_all(engine, tables=tables)
    quote = engine.dialect.identifier_preparer.quote
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("qd_events")}
        assignment_columns = {c["name"] for c in inspect(conn).get_columns("qd_assignments")}
    added = "position" not in columns
    if added:
        with engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE qd_events ADD COLUMN {quote('position')} BIGINT"))
    attention = [  # 0017: what the periodic job does next for an assignment
        (name, kind)
        for name, kind in (("attention", "VARCHAR(32)"), ("attention_day", "DATE"))
        if name not in assignment_columns
    ]
    with engine.begin() as conn:
        for name, kind in attention:
            conn.execute(text(f"ALTER TABLE qd_assignments ADD COLUMN {quote(name)} {kind}"))
    outbox = _revision_module("0011_outbox_leases")  # the outbox's states and leases
    _run_migration(engine, outbox.upgrade)
    try:
        yield
    finally:
        _run_migration(engine, outbox.downgrade)
        with engine.begin() as conn:
            for name, _ in attention:
                conn.execute(text(f"ALTER TABLE qd_assignments DROP COLUMN {quote(name)}"))
        if added:
            with engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE qd_events DROP COLUMN {quote('position')}"))
        metadata.drop_all(engine, tables=tables)


def _revision_module(name: str) -> Any:
    """A migration script of ``sql/migrations/versions`` as a module."""
    import importlib.util

    from qiandao_adapters.sql import migrations

    path = Path(migrations.__file__).parent / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_qd_revision_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_migration(engine: Engine, step: Callable[[], None]) -> None:
    """Run one revision's ``upgrade`` or ``downgrade`` outside Alembic's version bookkeeping."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        step()


def reset_schema(engine: Engine) -> None:
    """Drop every qiandao table (and the Alembic version table), then create the schema."""
    metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
    metadata.create_all(engine)


def clear_tables(engine: Engine) -> None:
    """Delete every row, children first; the seeded jurisdictions are put back (a new store
    holds them)."""
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))
        conn.execute(schema.jurisdictions.insert(), schema.jurisdiction_seed_rows())


@attrs.define
class Backend:
    """One database under test: its URL and an engine on a fresh schema."""

    name: str
    url: str
    engine: Engine

    def store(self) -> SqlStore:
        """A store on this backend's engine with every table emptied."""
        clear_tables(self.engine)
        return SqlStore(self.engine)


def _server_backend(name: str) -> Iterator[Backend]:
    url = server_url(name)
    engine = make_engine(url)
    try:
        reset_schema(engine)
        yield Backend(name, url, engine)
        metadata.drop_all(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def postgres_backend() -> Iterator[Backend]:
    yield from _server_backend("postgresql")


@pytest.fixture(scope="module")
def mysql_backend() -> Iterator[Backend]:
    yield from _server_backend("mysql")


@pytest.fixture(scope="module")
def sqlite_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'qiandao.db'}"
    engine = make_engine(url)
    try:
        reset_schema(engine)
        yield Backend("sqlite", url, engine)
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each backend in turn (module-scoped schema, emptied per test through ``store()``)."""
    fixture = {"sqlite": "sqlite_backend", "postgresql": "postgres_backend"}.get(
        request.param, "mysql_backend"
    )
    found: Backend = request.getfixturevalue(fixture)
    return found


@pytest.fixture
def store(backend: Backend) -> SqlStore:
    """An empty store on each backend."""
    return backend.store()


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Callable[[], str]:
    """Fresh SQLite file URLs in this test's temporary directory."""
    counter = iter(range(1_000_000))

    def make() -> str:
        return f"sqlite:///{tmp_path / f'store-{next(counter)}.db'}"

    return make


@pytest.fixture(params=["memory", *BACKENDS])
def any_store(request: pytest.FixtureRequest) -> Store:
    """An empty store of every kind: memory, then each database."""
    if request.param == "memory":
        return MemoryStore()
    fixture = {"sqlite": "sqlite_backend", "postgresql": "postgres_backend"}.get(
        request.param, "mysql_backend"
    )
    store: Store = request.getfixturevalue(fixture).store()
    return store
