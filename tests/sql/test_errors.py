"""The driver-error translation table, each mapping provoked for real on each database."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, create_engine, exc, insert, text, update
from sqlalchemy.pool import NullPool

from qiandao.errors import (
    ConcurrencyConflict,
    DuplicateAccount,
    InvalidInput,
    QiandaoError,
    StoreUnavailable,
)
from qiandao.ports.store import ItemQuery
from qiandao.testing.builders import sample_item, sample_unit
from qiandao_adapters.sql import SqlStore, make_engine
from qiandao_adapters.sql import schema as s
from qiandao_adapters.sql.errors import translate, translated
from tests.sql.conftest import Backend, clear_tables

NOW = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)


def _account(account_id: str, phone: str | None) -> dict[str, Any]:
    return {
        "id": account_id,
        "version": 1,
        "phone": phone,
        "jurisdiction": "zhoushan",
        "status": "active",
        "doc": "{}",
    }


def _unit(unit_id: str) -> dict[str, Any]:
    return {"id": unit_id, "jurisdiction": "zhoushan", "active": True, "version": 1, "doc": "{}"}


def _event(event_id: str, sequence: int) -> dict[str, Any]:
    return {
        "id": event_id,
        "item_id": "item-1",
        "sequence": sequence,
        "kind": "drafted",
        "actor_id": "m1",
        "at": NOW,
        "doc": "{}",
        "position": int(event_id.removeprefix("e-")),  # unique: only the sequence collides
    }


@contextmanager
def _translated_to(kind: type[QiandaoError], code: str) -> Iterator[None]:
    """Expect the block's driver error to come out as ``kind`` with ``code``, chained."""
    with pytest.raises(kind) as info, translated():
        yield
    assert info.value.code == code
    assert isinstance(info.value.__cause__, exc.DBAPIError), info.value.__cause__


def _insert_twice(
    engine: Engine, table: Any, first: dict[str, Any], second: dict[str, Any]
) -> None:
    with engine.connect() as conn:
        conn.execute(insert(table).values(first))
        conn.commit()
        conn.execute(insert(table).values(second))


# --- integrity errors --------------------------------------------------------------------


def test_primary_key_violation_is_a_conflict(backend: Backend) -> None:
    clear_tables(backend.engine)
    with _translated_to(ConcurrencyConflict, "store.conflict"):
        _insert_twice(backend.engine, s.units, _unit("u-1"), _unit("u-1"))


def test_event_sequence_violation_is_a_conflict(backend: Backend) -> None:
    clear_tables(backend.engine)
    with _translated_to(ConcurrencyConflict, "store.conflict"):
        _insert_twice(backend.engine, s.events, _event("e-1", 1), _event("e-2", 1))


def test_phone_violation_is_a_duplicate_account(backend: Backend) -> None:
    clear_tables(backend.engine)
    with _translated_to(DuplicateAccount, "account.duplicate"):
        _insert_twice(
            backend.engine,
            s.accounts,
            _account("a-1", "13800000001"),
            _account("a-2", "13800000001"),
        )


def test_external_identity_violation_is_a_duplicate_account(backend: Backend) -> None:
    clear_tables(backend.engine)
    with backend.engine.begin() as conn:
        conn.execute(insert(s.accounts), [_account("a-1", None), _account("a-2", None)])
    row = {"provider": "zzd", "subject": "s-1", "account_id": "a-1"}
    with _translated_to(DuplicateAccount, "account.duplicate"):
        _insert_twice(backend.engine, s.external_identities, row, {**row, "account_id": "a-2"})


def test_other_integrity_errors_are_not_translated(backend: Backend) -> None:
    """A foreign-key violation is a bug, not a conflict: it propagates unchanged."""
    clear_tables(backend.engine)
    orphan = {"item_id": "no-such-item", "account_id": "m1"}
    with pytest.raises(exc.IntegrityError), translated(), backend.engine.begin() as conn:
        conn.execute(insert(s.item_authors).values(orphan))


# --- contention: lock timeouts, deadlocks, serialization failures ------------------------


def _seed_units(engine: Engine, *ids: str) -> None:
    clear_tables(engine)
    with engine.begin() as conn:
        conn.execute(insert(s.units), [_unit(i) for i in ids])


def _touch(conn: Connection, unit_id: str) -> None:
    conn.execute(update(s.units).where(s.units.c.id == unit_id).values(active=False))


def test_lock_wait_timeout_is_a_retryable_conflict(backend: Backend) -> None:
    _seed_units(backend.engine, "u-1")
    engine = backend.engine
    if backend.name == "sqlite":
        engine = make_engine(backend.url, busy_timeout=0.05)
    try:
        with engine.connect() as holder, engine.connect() as waiter:
            holder.begin()
            _touch(holder, "u-1")
            if backend.name == "postgresql":
                waiter.execute(text("SET lock_timeout = '100ms'"))
            elif backend.name == "mysql":
                waiter.execute(text("SET SESSION innodb_lock_wait_timeout = 1"))
            waiter.commit()  # the session settings stay
            with pytest.raises(ConcurrencyConflict) as info, translated():
                waiter.begin()
                _touch(waiter, "u-1")
            assert info.value.details["retryable"] is True
            holder.rollback()
    finally:
        if engine is not backend.engine:
            engine.dispose()


def _run_both(*targets: Callable[[], None]) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as error:  # collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=run, args=(t,), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(t.is_alive() for t in threads)
    return errors


def test_deadlock_is_a_retryable_conflict(backend: Backend) -> None:
    if backend.name == "sqlite":
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE: no deadlock can occur")
    _seed_units(backend.engine, "u-1", "u-2")
    both_locked = threading.Barrier(2)

    def writer(first: str, second: str) -> Callable[[], None]:
        def work() -> None:
            with translated(), backend.engine.connect() as conn:
                conn.begin()
                _touch(conn, first)
                both_locked.wait(10)
                _touch(conn, second)
                conn.rollback()

        return work

    errors = _run_both(writer("u-1", "u-2"), writer("u-2", "u-1"))
    assert len(errors) == 1, errors
    (error,) = errors
    assert isinstance(error, ConcurrencyConflict), error
    assert error.code == "store.conflict"
    assert error.details["retryable"] is True


def test_serialization_failure_is_a_retryable_conflict(backend: Backend) -> None:
    if backend.name == "mysql":
        pytest.skip("InnoDB reports serialisation conflicts as lock timeouts or deadlocks")
    _seed_units(backend.engine, "u-1")
    with backend.engine.connect() as reader, backend.engine.connect() as writer:
        if backend.name == "postgresql":
            reader.execute(text("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"))
            reader.execute(text("SELECT active FROM qd_units WHERE id = 'u-1'")).all()
        else:  # a WAL read snapshot, as an old-style deferred transaction takes it
            reader.execution_options(qiandao_read_phase=True)
            reader.exec_driver_sql("BEGIN")
            reader.execute(text("SELECT active FROM qd_units WHERE id = 'u-1'")).all()
        writer.begin()
        _touch(writer, "u-1")
        writer.commit()
        with pytest.raises(ConcurrencyConflict) as info, translated():
            _touch(reader, "u-1")
        assert info.value.details["retryable"] is True
        reader.rollback()


# --- the database is gone ----------------------------------------------------------------


def test_unreachable_database_is_unavailable(backend: Backend, tmp_path: Any) -> None:
    urls = {
        "sqlite": f"sqlite:///{tmp_path / 'no-such-directory' / 'qiandao.db'}",
        "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/qiandao?connect_timeout=2",
        "mysql": "mysql+pymysql://root@127.0.0.1:1/qiandao?connect_timeout=2",
    }
    store = SqlStore(urls[backend.name])
    try:
        with pytest.raises(StoreUnavailable) as info, store.unit_of_work() as uow:
            uow.units.get("u-1")
        assert info.value.code == "store.unavailable"
    finally:
        store.dispose()


def _kill(engine: Engine, victim: Connection, backend: str) -> None:
    with engine.connect() as killer:
        if backend == "postgresql":
            pid = victim.execute(text("SELECT pg_backend_pid()")).scalar_one()
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        else:
            thread_id = victim.execute(text("SELECT CONNECTION_ID()")).scalar_one()
            killer.execute(text(f"KILL {int(thread_id)}"))


def test_dropped_connection_is_unavailable_and_the_store_recovers(backend: Backend) -> None:
    if backend.name == "sqlite":
        pytest.skip("an embedded SQLite database has no connection to drop")
    store = backend.store()
    with store.unit_of_work() as uow:
        uow.units.add(sample_unit("u-1"))
        uow.commit()
    with pytest.raises(StoreUnavailable), store.unit_of_work() as uow:
        uow.items.add(sample_item("item-1"))
        _kill(backend.engine, uow.connection(), backend.name)
        uow.units.get("u-1")
        uow.commit()
    with store.unit_of_work() as uow:  # the pool replaces the dead connection
        assert uow.units.get("u-1") == sample_unit("u-1")
        assert uow.items.count(ItemQuery()) == 0


def test_a_pooled_connection_dropped_while_idle_costs_at_most_one_unit(backend: Backend) -> None:
    """No pre-ping on checkout (issue 14): a connection the server dropped while it sat in the
    pool fails the one unit that meets it (``store.unavailable``, nothing written) and the pool
    is refilled for the next."""
    if backend.name == "sqlite":
        pytest.skip("an embedded SQLite database has no connection to drop")
    store = backend.store()
    own_id = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}
    with store.unit_of_work() as uow:
        uow.units.add(sample_unit("u-1"))
        victim = int(uow.connection().execute(text(own_id[backend.name])).scalar_one())
        uow.commit()
    outside = create_engine(backend.url, poolclass=NullPool)  # not a connection of the pool
    with outside.begin() as killer:  # the unit's connection now idles in the pool
        if backend.name == "postgresql":
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim})
        else:
            killer.execute(text(f"KILL {victim}"))
    outside.dispose()
    failed = 0
    for n in range(2):
        try:
            with store.unit_of_work() as uow:
                uow.units.add(sample_unit(f"u-{n + 2}"))
                uow.commit()
        except StoreUnavailable:
            failed += 1
    assert failed <= 1
    with store.unit_of_work() as uow:
        assert uow.units.get("u-1") == sample_unit("u-1")
        assert len(uow.units.list()) == 3 - failed


# --- values the database refuses -----------------------------------------------------------


def test_data_error_is_invalid_input(backend: Backend) -> None:
    if backend.name == "sqlite":
        pytest.skip("SQLite stores any value in any column: there is no DataError to provoke")
    clear_tables(backend.engine)
    too_long = "x" * (s.ID_LENGTH + 1)  # the store refuses this itself; raw SQL reaches the server
    with _translated_to(InvalidInput, "input.invalid"), backend.engine.begin() as conn:
        conn.execute(insert(s.units).values(_unit(too_long)))


def test_translate_leaves_foreign_errors_alone() -> None:
    assert translate(ValueError("not a database error")) is None
    conflict = ConcurrencyConflict()
    assert translate(conflict) is conflict
    assert isinstance(translate(exc.TimeoutError("pool exhausted")), StoreUnavailable)


def test_a_deadlock_loses_the_whole_unit_of_work(backend: Backend) -> None:
    """Two writers take rows in opposite orders: the victim can commit nothing, not a part."""
    if backend.name == "sqlite":
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE: no deadlock can occur")
    store = backend.store()
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def writer(mine: str, theirs: str) -> None:
        with store.unit_of_work() as uow:
            uow.units.add(sample_unit(f"{mine}-first"))
            uow.units.add(sample_unit(mine))
            barrier.wait(10)
            try:
                uow.units.add(sample_unit(theirs))  # one of the two is chosen as the victim
            except ConcurrencyConflict as conflict:
                outcomes[mine] = "retryable" if conflict.details.get("retryable") else "conflict"
            try:
                uow.units.add(sample_unit(f"{mine}-last"))
                uow.commit()
            except ConcurrencyConflict:
                outcomes.setdefault(mine, "lost")

    threads = [threading.Thread(target=writer, args=pair) for pair in (("u1", "u2"), ("u2", "u1"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with store.unit_of_work() as uow:
        ids = {u.id for u in uow.units.list()}
    for mine in ("u1", "u2"):
        written = {f"{mine}-first", f"{mine}-last"} & ids
        assert written in (set(), {f"{mine}-first", f"{mine}-last"}), ids  # all or nothing
    assert outcomes, "no writer saw the deadlock"
