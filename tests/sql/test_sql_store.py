"""What the contract suite does not see: columns, collations, limits, SQLite locking."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import attrs
import pytest
from sqlalchemy import Table, func, select

from qiandao.errors import ConcurrencyConflict, LimitExceeded, NotFound
from qiandao.events import Event
from qiandao.ports.store import (
    AssignmentQuery,
    IdempotencyRecord,
    ItemOrder,
    ItemQuery,
    UnitOfWork,
)
from qiandao.rules.lifecycle import ItemState
from qiandao.rules.points import Credit
from qiandao.statistics import credits_of
from qiandao.testing.builders import (
    NASTY_TEXT,
    sample_account,
    sample_assignment,
    sample_events,
    sample_item,
    sample_outbox_message,
    sample_session,
    sample_unit,
)
from qiandao_adapters.sql import SqlStore
from qiandao_adapters.sql import schema as s
from qiandao_adapters.sql.rows import credit_from_row
from tests.sql.conftest import Backend

EMOJI = "🌊🐟🚢👩‍👩‍👧𠮷"  # non-BMP, a ZWJ sequence and a CJK extension-B character


# --- values round-trip exactly ---------------------------------------------------------------


def test_metacharacters_and_emoji_round_trip_in_keys_and_documents(store: SqlStore) -> None:
    nasty_id = "u-'; DROP TABLE qd_items; --%_\\" + EMOJI
    item = sample_item(
        "item-" + EMOJI,
        jurisdiction="嵊泗县" + EMOJI,
        sector=NASTY_TEXT,
        lead_author_id="o'brien%_\\",
        assignments=(sample_assignment("asg-" + EMOJI, nasty_id),),
    )
    with store.unit_of_work() as uow:
        uow.units.add(sample_unit(nasty_id, name=NASTY_TEXT + EMOJI, jurisdiction="嵊泗县" + EMOJI))
        uow.items.add(item)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.units.get(nasty_id).name == NASTY_TEXT + EMOJI
        assert [u.id for u in uow.units.list("嵊泗县" + EMOJI)] == [nasty_id]
        assert uow.units.list("嵊泗县") == []
        assert uow.items.get(item.id) == item
        assert uow.items.find(ItemQuery(author_id="o'brien%_\\")) == [item]
        assert uow.items.find(ItemQuery(author_id="o'brien%")) == []
        assert uow.items.find(ItemQuery(unit_id=nasty_id)) == [item]
        assert uow.items.find(ItemQuery(jurisdiction="嵊泗县" + EMOJI)) == [item]
        pairs = uow.items.assignments(AssignmentQuery(unit_id=nasty_id))
        assert [(i.id, a.id) for i, a in pairs] == [(item.id, "asg-" + EMOJI)]


def test_keys_differing_by_case_or_trailing_space_are_distinct(store: SqlStore) -> None:
    ids = ["u", "u ", "U", "u\t", "ü", "u\u0308"]  # MariaDB's PAD SPACE collations would merge
    with store.unit_of_work() as uow:
        for unit_id in ids:
            uow.units.add(sample_unit(unit_id, name=repr(unit_id)))
        uow.commit()
    with store.unit_of_work() as uow:
        for unit_id in ids:
            assert uow.units.get(unit_id).name == repr(unit_id)
        with pytest.raises(NotFound):
            uow.units.get("u  ")
        assert [u.id for u in uow.units.list()] == sorted(ids)


def test_ids_sort_by_code_point_like_python(store: SqlStore) -> None:
    ids = ["b", "B", "a", "中", "Z", "a b", "ab", "a-b", "a_b", "é", "10", "9", EMOJI, "ｚ"]
    items = [sample_item(i, created_at=sample_item().created_at) for i in ids]
    with store.unit_of_work() as uow:
        for item in items:
            uow.items.add(item)
        for unit_id in ids:
            uow.units.add(sample_unit(unit_id))
        uow.commit()
    with store.unit_of_work() as uow:
        assert [u.id for u in uow.units.list()] == sorted(ids)
        for order in ItemOrder:  # ties: the newest-first orders read ids backwards too
            newest_first = order is not ItemOrder.URGENT_FIRST
            found = [i.id for i in uow.items.find(ItemQuery(order=order))]
            assert found == sorted(ids, reverse=newest_first), order


def test_instants_keep_their_microseconds_and_order_across_zones(store: SqlStore) -> None:
    base = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
    shanghai = sample_item().created_at.tzinfo
    plus_five = timezone(timedelta(hours=5))
    created = {
        "a": base + timedelta(microseconds=2),
        "b": (base + timedelta(microseconds=1)).astimezone(shanghai),
        "c": base.astimezone(plus_five),
    }
    with store.unit_of_work() as uow:
        for item_id, at in created.items():
            uow.items.add(sample_item(item_id, created_at=at, submitted_at=None, urgent=False))
        uow.commit()
    with store.unit_of_work() as uow:
        assert [i.id for i in uow.items.find(ItemQuery())] == ["a", "b", "c"]
        urgent_first = uow.items.find(ItemQuery(order=ItemOrder.URGENT_FIRST))
        assert [i.id for i in urgent_first] == ["c", "b", "a"]
        assert {i.id: i.created_at for i in urgent_first} == created
        assert uow.items.get("b").created_at.utcoffset() == timedelta(hours=8)


# --- derived columns and child rows ------------------------------------------------------------


def _count(store: SqlStore, table: Table, item_id: str) -> int:
    with store.engine.connect() as conn:
        stmt = select(func.count()).select_from(table).where(table.c.item_id == item_id)
        return int(conn.execute(stmt).scalar_one())


def _credits(store: SqlStore, item_id: str) -> list[Credit]:
    with store.engine.connect() as conn:
        stmt = select(s.credits).where(s.credits.c.item_id == item_id).order_by(s.credits.c.seq)
        return [credit_from_row(row._mapping) for row in conn.execute(stmt)]


def test_saving_rewrites_derived_columns_and_child_rows(store: SqlStore) -> None:
    item = sample_item("item-1", state=ItemState.CLOSED, secret=False, opted_out=frozenset())
    assert item.published
    with store.unit_of_work() as uow:
        uow.items.add(item)
        uow.commit()
    assert _count(store, s.assignments, "item-1") == len(item.assignments)
    assert _count(store, s.text_versions, "item-1") == len(item.texts)
    assert _count(store, s.feedback, "item-1") == len(item.feedback)
    assert _count(store, s.item_authors, "item-1") == len(item.authors)
    assert _credits(store, "item-1") == credits_of(item) != []
    secret = attrs.evolve(
        item, version=item.version + 1, secret=True, assignments=(), feedback=(), coauthor_ids=()
    )
    with store.unit_of_work() as uow:
        uow.items.save(secret, expected_version=item.version)
        uow.commit()
    with store.engine.connect() as conn:
        row = conn.execute(select(s.items).where(s.items.c.id == "item-1")).one()
    assert (row.version, row.secret, row.published) == (secret.version, True, False)
    assert _count(store, s.assignments, "item-1") == 0
    assert _count(store, s.feedback, "item-1") == 0
    assert _count(store, s.item_authors, "item-1") == 1
    assert _credits(store, "item-1") == credits_of(secret)
    with store.unit_of_work() as uow:
        assert uow.items.find(ItemQuery(published_only=True)) == []


def test_events_keep_typed_change_fields(store: SqlStore) -> None:
    item = sample_item("item-1")
    events = sample_events(item)
    with store.unit_of_work() as uow:
        uow.events.append(events)
        uow.commit()
    with store.unit_of_work() as uow:
        loaded = uow.events.for_item("item-1")
    assert loaded == events
    submitted = loaded[1].change.fields.submitted_at
    assert isinstance(submitted, datetime)
    assert submitted.utcoffset() is not None
    assert loaded[2].change.fields.destinations == item.destinations


# --- limits are refused before the database is touched -----------------------------------------


@pytest.fixture
def unreachable(tmp_path: object) -> SqlStore:
    """A store whose database cannot be opened: any statement would fail as unavailable (the
    revision check, a statement too, is off)."""
    return SqlStore(f"sqlite:///{tmp_path}/no-such-directory/qiandao.db", check_revision=False)


def _first_event(event_id: str) -> Event:
    return attrs.evolve(sample_events(sample_item())[0], id=event_id)


TOO_LONG: dict[str, Callable[[UnitOfWork], None]] = {
    "item id": lambda u: u.items.add(sample_item("i" * 65)),
    "author id": lambda u: u.items.add(sample_item("i", lead_author_id="m" * 65)),
    "jurisdiction": lambda u: u.items.add(sample_item("i", jurisdiction="j" * 65)),
    "assignment unit": lambda u: u.items.add(
        sample_item("i", assignments=(sample_assignment("a", "u" * 65),))
    ),
    "phone": lambda u: u.accounts.add(sample_account("a", phone="1" * 129)),
    "unit id": lambda u: u.units.add(sample_unit("u" * 65)),
    "session token": lambda u: u.sessions.put(sample_session("t" * 129)),
    "idempotency key": lambda u: u.idempotency.add(IdempotencyRecord("k" * 321, "f", "i", "draft")),
    "notice id": lambda u: u.outbox.add([sample_outbox_message("n" * 65)]),
    "event id": lambda u: u.events.append([_first_event("e" * 65)]),
}


@pytest.mark.parametrize("what", sorted(TOO_LONG))
def test_oversized_values_are_refused_before_the_database(unreachable: SqlStore, what: str) -> None:
    with pytest.raises(LimitExceeded) as info, unreachable.unit_of_work() as uow:
        TOO_LONG[what](uow)
    assert info.value.code == "input.too_large"
    assert info.value.details["limit"] in (64, 128, 320)


def test_values_at_the_limit_are_stored(store: SqlStore) -> None:
    longest = "码" * 63 + "🐟"  # 64 characters, 193 bytes in UTF-8
    with store.unit_of_work() as uow:
        uow.units.add(sample_unit(longest))
        uow.items.add(sample_item(longest, lead_author_id=longest, jurisdiction=longest))
        uow.idempotency.add(IdempotencyRecord("钥" * 320, "f" * 128, longest, "c" * 64))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.units.get(longest).id == longest
        assert uow.items.find(ItemQuery(author_id=longest))[0].id == longest
        assert uow.idempotency.get("钥" * 320) == IdempotencyRecord(
            "钥" * 320, "f" * 128, longest, "c" * 64
        )


def test_huge_documents_are_stored(store: SqlStore) -> None:
    body = ("渔民反映🐟" * 40_000)[:200_000]  # beyond MySQL's 64 KiB TEXT
    item = sample_item("item-big")
    item = attrs.evolve(
        item, texts=(*item.texts, attrs.evolve(item.texts[-1], number=3, body=body))
    )
    with store.unit_of_work() as uow:
        uow.items.add(item)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.items.get("item-big").body == body


# --- units of work ------------------------------------------------------------------------------


def test_a_unit_of_work_can_commit_several_times(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.units.add(sample_unit("u-1"))
        uow.commit()
        uow.units.add(sample_unit("u-2"))
        uow.commit()
        uow.units.add(sample_unit("u-3"))
    with store.unit_of_work() as uow:
        assert [u.id for u in uow.units.list()] == ["u-1", "u-2"]


def test_a_refused_call_leaves_the_unit_of_work_usable(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.units.add(sample_unit("u-1"))
        uow.commit()
    with store.unit_of_work() as uow:
        uow.units.add(sample_unit("u-2"))
        with pytest.raises(ConcurrencyConflict):
            uow.units.add(sample_unit("u-1"))
        item = sample_item("item-1")
        uow.items.add(item)
        with pytest.raises(ConcurrencyConflict):
            uow.events.append([sample_events(item)[1]])  # sequence 2 before 1
        uow.events.append(sample_events(item)[:1])
        uow.commit()
    with store.unit_of_work() as uow:
        assert [u.id for u in uow.units.list()] == ["u-1", "u-2"]
        assert len(uow.events.for_item("item-1")) == 1


def test_in_memory_sqlite_store() -> None:
    store = SqlStore("sqlite://")
    store.create_all()
    with store.unit_of_work() as uow:
        uow.units.add(sample_unit("u-1"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.units.get("u-1") == sample_unit("u-1")
    store.dispose()


# --- SQLite locking -----------------------------------------------------------------------------


def test_sqlite_readers_do_not_wait_for_a_writer(sqlite_file: Callable[[], str]) -> None:
    store = SqlStore(sqlite_file(), busy_timeout=5)
    store.create_all()
    with store.unit_of_work() as writer:
        writer.units.add(sample_unit("u-1"))  # holds SQLite's write lock until it ends
        started = time.monotonic()
        with store.unit_of_work() as reader:
            assert reader.units.list() == []
            assert reader.items.count(ItemQuery()) == 0
        assert time.monotonic() - started < 1
        writer.commit()
    store.dispose()


def test_sqlite_second_writer_waits_then_gives_a_retryable_conflict(
    sqlite_file: Callable[[], str],
) -> None:
    store = SqlStore(sqlite_file(), busy_timeout=0.2)
    store.create_all()
    with store.unit_of_work() as first, store.unit_of_work() as second:
        first.units.add(sample_unit("u-1"))
        started = time.monotonic()
        with pytest.raises(ConcurrencyConflict) as info:
            second.units.add(sample_unit("u-2"))
        assert info.value.details["retryable"] is True
        assert 0.15 < time.monotonic() - started < 5
        first.commit()
        second.units.add(sample_unit("u-2"))  # the unit of work is usable again
        second.commit()
    with store.unit_of_work() as uow:
        assert [u.id for u in uow.units.list()] == ["u-1", "u-2"]
    store.dispose()


def test_sqlite_foreign_keys_are_enforced(sqlite_file: Callable[[], str]) -> None:
    store = SqlStore(sqlite_file())
    store.create_all()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30_000
    store.dispose()


def test_server_sessions_run_read_committed(backend: Backend) -> None:
    if backend.name == "sqlite":
        pytest.skip("SQLite has no isolation levels")
    query = {
        "postgresql": "SHOW transaction_isolation",
        "mysql": "SELECT @@tx_isolation",
    }[backend.name]
    with backend.engine.connect() as conn:
        level = str(conn.exec_driver_sql(query).scalar_one())
    assert level.replace("-", " ").lower() == "read committed"


def test_the_domain_package_never_imports_sqlalchemy() -> None:
    script = (
        "import pkgutil, importlib, sys, qiandao\n"
        "for m in pkgutil.walk_packages(qiandao.__path__, 'qiandao.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
        "('sqlalchemy', 'alembic', 'psycopg', 'pymysql', 'qiandao_adapters'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
