"""Alembic: ``upgrade`` builds exactly ``schema.metadata`` on an empty database (no drift)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, UniqueConstraint, inspect, text

from qiandao.testing.builders import sample_item
from qiandao_adapters.sql import SqlStore, alembic_config, make_engine, metadata, upgrade
from qiandao_adapters.sql.migrations import VERSION_TABLE
from qiandao_adapters.sql.schema import Key
from tests.sql.conftest import Backend, reset_schema


def _drop_everything(engine: Engine) -> None:
    metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))


@pytest.fixture
def empty(backend: Backend) -> Iterator[Engine]:
    """The backend's database with no qiandao table; the module schema is restored after."""
    _drop_everything(backend.engine)
    yield backend.engine
    reset_schema(backend.engine)


def _include(name: str | None, type_: str, _parents: Any) -> bool:
    return type_ != "table" or (name is not None and name.startswith("qd_"))


def _shape(engine: Engine) -> dict[str, Any]:
    """Tables, columns, keys and indexes as the database reports them."""
    inspector = inspect(engine)
    shape: dict[str, Any] = {}
    for table in sorted(t for t in inspector.get_table_names() if t.startswith("qd_")):
        if table == VERSION_TABLE:
            continue
        shape[table] = {
            "columns": [(c["name"], c["nullable"]) for c in inspector.get_columns(table)],
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted(
                (u["name"], tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(table)
            ),
            "foreign_keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in inspector.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
                if not i.get("duplicates_constraint")
                and i["name"] not in {u["name"] for u in inspector.get_unique_constraints(table)}
            ),
        }
    return shape


def _expected_shape() -> dict[str, Any]:
    shape: dict[str, Any] = {}
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        shape[table.name] = {
            "columns": [(c.name, c.nullable) for c in table.columns],
            "primary_key": [c.name for c in table.primary_key.columns],
            "unique": sorted(
                (c.name, tuple(col.name for col in c.columns))
                for c in table.constraints
                if isinstance(c, UniqueConstraint)
            ),
            "foreign_keys": sorted(
                (
                    tuple(fk.parent.name for fk in c.elements),
                    c.referred_table.name,
                    tuple(fk.column.name for fk in c.elements),
                )
                for c in table.foreign_key_constraints
            ),
            "indexes": sorted(
                (i.name, tuple(c.name for c in i.columns), bool(i.unique)) for i in table.indexes
            ),
        }
    return shape


def _collations(engine: Engine) -> set[tuple[str, str, str | None]]:
    """(table, column, collation) of every ``Key`` column, as the database reports it."""
    found: set[tuple[str, str, str | None]] = set()
    keys = {
        (t.name, c.name)
        for t in metadata.tables.values()
        for c in t.columns
        if isinstance(c.type, Key)
    }
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.execute(
                text(
                    "SELECT table_name, column_name, collation_name FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND table_name LIKE 'qd\\_%'"
                )
            )
        elif engine.dialect.name == "mysql":
            rows = conn.execute(
                text(
                    "SELECT table_name, column_name, collation_name FROM information_schema.columns"
                    " WHERE table_schema = DATABASE() AND table_name LIKE 'qd\\_%'"
                )
            )
        else:
            return found
        for table, column, collation in rows:
            if (table, column) in keys:
                found.add((table, column, collation))
    return found


def _assert_no_drift(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "version_table": VERSION_TABLE, "include_name": _include},
        )
        assert compare_metadata(context, metadata) == []
    assert _shape(engine) == _expected_shape()


def test_upgrade_builds_exactly_the_metadata(empty: Engine) -> None:
    upgrade(empty)
    _assert_no_drift(empty)
    with empty.connect() as conn:
        version = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one()
    assert version == "0001"


def test_upgrade_matches_create_all_down_to_collations(empty: Engine) -> None:
    """Key columns sort by code point: ``C`` on PostgreSQL, binary no-pad on MariaDB."""
    upgrade(empty)
    migrated = _collations(empty)
    _drop_everything(empty)
    metadata.create_all(empty)
    _assert_no_drift(empty)
    assert _collations(empty) == migrated
    if empty.dialect.name == "postgresql":
        assert {c for _, _, c in migrated} == {"C"}
    if empty.dialect.name == "mysql":
        assert {c for _, _, c in migrated} <= {"utf8mb4_nopad_bin", "utf8mb4_0900_bin"}
        assert len(migrated) > 0


def test_upgrade_is_idempotent_and_the_store_works_on_it(empty: Engine) -> None:
    upgrade(empty)
    upgrade(empty)
    store = SqlStore(empty)
    with store.unit_of_work() as uow:
        uow.items.add(sample_item("item-1"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.items.get("item-1") == sample_item("item-1")


def test_upgrade_from_a_url(sqlite_file: Any) -> None:
    url = sqlite_file()
    upgrade(url)
    engine = make_engine(url)
    try:
        _assert_no_drift(engine)
    finally:
        engine.dispose()


def test_downgrade_removes_every_table(empty: Engine) -> None:
    upgrade(empty)
    config = alembic_config()
    with empty.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert _shape(empty) == {}
