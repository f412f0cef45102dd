"""Deferred writes of the SQL store: a unit's saves of the versions it read and its outbox
notices are written together, one statement per kind, before its next statement or at commit.
Batching never changes what lands: a unit still reads its own writes, a save twice in a unit
lands as the second, a row changed by another writer meanwhile fails the commit with nothing of
the unit written, and a stale save is still refused on the spot."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from sqlalchemy import delete, select

from qiandao.errors import ConcurrencyConflict
from qiandao.model import Item
from qiandao.ports import ItemQuery, OutboxMessage, UnitOfWork
from qiandao.rules.deadlines import DeadlineStatus
from qiandao.testing.builders import sample_item, sample_notice
from qiandao_adapters.sql import SqlStore, repositories
from qiandao_adapters.sql import schema as s
from qiandao_adapters.sql import statements as st
from qiandao_adapters.sql.uow import SqlUnitOfWork
from tests.helpers import at, make_world
from tests.sql.conftest import Backend
from tests.sql.test_views import statements


def _stored(backend: Backend, count: int) -> tuple[SqlStore, list[Item]]:
    store = backend.store()
    items = [sample_item(f"item-{n:03d}") for n in range(count)]
    with store.unit_of_work() as uow:
        for item in items:
            uow.items.add(item)
        uow.commit()
    return store, items


def _bumped(item: Item, **changes: Any) -> Item:
    return attrs.evolve(item, version=item.version + 1, **changes)


def _retitled(item: Item, title: str) -> Item:
    """The item, one version on, its last text retitled (a child row updated in place)."""
    text = attrs.evolve(item.texts[-1], title=title)
    return _bumped(item, texts=(*item.texts[:-1], text))


def _raced(
    store: SqlStore,
    uow: UnitOfWork,
    items: list[Item],
    changed: int,
    notices: list[OutboxMessage] | None = None,
) -> pytest.ExceptionInfo[ConcurrencyConflict]:
    """``uow`` retitles every item (and adds ``notices``); another writer changes
    ``items[changed]`` before its commit, which fails with the conflict returned."""
    held = uow.items.get_many([i.id for i in items])
    for n, item in enumerate(items):
        uow.items.save(_retitled(held[item.id], f"批量{n}"), item.version)
    uow.outbox.add(notices or [])
    with store.unit_of_work() as other:
        theirs = other.items.get(items[changed].id)
        other.items.save(_retitled(theirs, "他人"), theirs.version)
        other.commit()
    with pytest.raises(ConcurrencyConflict) as raised:
        uow.commit()
    return raised


def _notice(n: int) -> OutboxMessage:
    notice = attrs.evolve(sample_notice(), id=f"notice-{n:03d}")
    return OutboxMessage(notice, notice.at)


def test_a_batch_of_saves_is_one_update_statement_at_commit(backend: Backend) -> None:
    store, items = _stored(backend, 5)
    with store.unit_of_work() as uow:
        held = uow.items.get_many([i.id for i in items])
        with statements(store) as seen:
            for n, item in enumerate(items):
                uow.items.save(_retitled(held[item.id], f"第{n}版"), item.version)
                uow.outbox.add([_notice(n)])
            writes = [text for text in seen if not text.lstrip().startswith("SELECT")]
            assert writes == []  # nothing written yet: it waits for the commit
            uow.commit()

    def count(start: str) -> int:
        return sum(" ".join(text.split()).startswith(start) for text in seen)

    # one statement each for the five items' rows, their retitled texts and their notices
    # (on MySQL and MariaDB a multi-table ``UPDATE qd_items, (SELECT …) AS _new``, as their
    # driver sends an executemany UPDATE one row at a time)
    items_updates = count("UPDATE qd_items ") + count("UPDATE qd_items, ")
    assert (items_updates, count("INSERT INTO qd_text_versions ")) == (1, 1)
    assert count("UPDATE qd_text_versions ") == 0  # overwritten by key (an upsert)
    assert count("INSERT INTO qd_outbox ") == 1
    with store.unit_of_work() as uow:
        stored = uow.items.get_many([i.id for i in items])
        assert [stored[i.id].texts[-1].title for i in items] == [f"第{n}版" for n in range(5)]
        assert [stored[i.id].version for i in items] == [i.version + 1 for i in items]
        assert {m.notice.id for m in uow.outbox.pending(10)} == {
            f"notice-{n:03d}" for n in range(5)
        }


def test_a_unit_reads_its_own_deferred_writes(backend: Backend) -> None:
    store, (item,) = _stored(backend, 1)
    with store.unit_of_work() as uow:
        held = uow.items.get(item.id)
        uow.items.save(_bumped(held, jurisdiction="daishan"), held.version)
        uow.outbox.add([_notice(1)])
        found = uow.items.find(ItemQuery(jurisdiction="daishan"))
        assert [i.id for i in found] == [item.id]
        assert [m.notice.id for m in uow.outbox.pending(10)] == ["notice-001"]
        uow.rollback()
    with store.unit_of_work() as uow:  # rolled back: nothing of it landed
        assert uow.items.get(item.id) == item
        assert uow.outbox.pending(10) == []


def test_an_item_saved_twice_in_a_unit_lands_as_the_second_save(backend: Backend) -> None:
    store, (item,) = _stored(backend, 1)
    with store.unit_of_work() as uow:
        held = uow.items.get(item.id)
        first = _retitled(held, "第一次")
        uow.items.save(first, held.version)
        dropped = attrs.evolve(first, version=first.version + 1, texts=first.texts[:-1])
        uow.items.save(dropped, first.version)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.items.get(item.id) == dropped
    with backend.engine.connect() as conn:
        t = s.text_versions
        numbers = conn.execute(select(t.c.number).where(t.c.item_id == item.id)).scalars()
        assert sorted(numbers) == [v.number for v in dropped.texts]


def test_a_row_changed_meanwhile_fails_the_commit_and_nothing_of_the_unit_lands(
    backend: Backend,
) -> None:
    store, items = _stored(backend, 3)
    with store.unit_of_work() as uow:
        raised = _raced(store, uow, items, 1, [_notice(7)])  # the middle item changes first
    assert raised.value.details.get("id") == items[1].id
    assert raised.value.details.get("actual") == items[1].version + 1
    with store.unit_of_work() as uow:
        stored = uow.items.get_many([i.id for i in items])
        assert stored[items[0].id] == items[0] and stored[items[2].id] == items[2]
        assert stored[items[1].id].texts[-1].title == "他人"
        assert uow.outbox.pending(10) == []


def test_a_stale_save_is_refused_at_once_and_the_unit_goes_on(backend: Backend) -> None:
    store, (item, other) = _stored(backend, 2)
    with store.unit_of_work() as uow:
        held = uow.items.get(other.id)
        uow.items.save(_retitled(held, "照常"), held.version)  # deferred
        with pytest.raises(ConcurrencyConflict):  # not read in this unit: runs at once
            stale = attrs.evolve(item, version=item.version + 5)
            uow.items.save(stale, item.version + 4)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.items.get(other.id).texts[-1].title == "照常"
        assert uow.items.get(item.id) == item


def test_a_batch_writes_the_child_rows_its_table_lost(backend: Backend) -> None:
    store, items = _stored(backend, 3)
    t = s.text_versions
    last = items[1].texts[-1].number
    with backend.engine.begin() as conn:  # one item's row went missing
        conn.execute(delete(t).where(t.c.item_id == items[1].id, t.c.number == last))
    with store.unit_of_work() as uow:
        held = uow.items.get_many([i.id for i in items])
        for item in items:
            uow.items.save(_retitled(held[item.id], "补齐"), item.version)
        uow.commit()
    with store.unit_of_work() as uow:
        stored = uow.items.get_many([i.id for i in items])
        assert all(stored[i.id].texts[-1].title == "补齐" for i in items)
        assert all(len(stored[i.id].texts) == len(i.texts) for i in items)


def test_a_notice_added_twice_is_stored_once(backend: Backend) -> None:
    store = backend.store()
    with store.unit_of_work() as uow:
        uow.outbox.add([_notice(1)])
        uow.outbox.add([_notice(1), _notice(2)])
        uow.commit()
    with store.unit_of_work() as uow:  # and once more in a later unit: still once
        uow.outbox.add([_notice(2)])
        uow.commit()
    with store.unit_of_work() as uow:
        ids = [m.notice.id for m in uow.outbox.pending(10)]
    assert sorted(ids) == ["notice-001", "notice-002"]


def test_a_job_batch_whose_item_changes_before_its_commit_goes_item_by_item(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's batch learns of a concurrent change only at its commit now: the batch is
    rolled back and run item by item, the changed item skipped (counted) and the others sent."""
    store = backend.store()
    w = make_world(store=store)
    victim, _ = w.assigned("u-a")
    other, _ = w.assigned("u-a")
    real = store.unit_of_work
    races = 2  # the batch's unit, then the victim's own unit, each meet one change

    def racing() -> SqlUnitOfWork:
        uow = real()
        save = uow.items.save

        def raced(item: Item, expected_version: int) -> None:
            nonlocal races
            save(item, expected_version)  # deferred: the race below lands before the flush
            if item.id == victim.id and races:
                races -= 1
                with real() as rival:
                    theirs = rival.items.get(victim.id)
                    rival.items.save(_retitled(theirs, f"他人{races}"), theirs.version)
                    rival.commit()

        uow.items.save = raced  # type: ignore[method-assign]
        return uow

    monkeypatch.setattr(store, "unit_of_work", racing)
    w.clock.set(at(2026, 3, 18))
    report = w.qd.run_due_jobs()
    assert (report.conflicts, report.reminders[DeadlineStatus.DUE_SOON]) == (1, 1)
    monkeypatch.setattr(store, "unit_of_work", real)
    assert w.load(other.id).assignments[0].reminders == {DeadlineStatus.DUE_SOON}
    stored = w.load(victim.id)
    assert stored.assignments[0].reminders == frozenset()
    assert stored.texts[-1].title == "他人0"  # both rivals' changes landed, the job's did not
    assert stored.version == victim.version + 2


def test_a_flush_whose_write_transaction_cannot_begin_loses_the_unit(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error the store does not translate, met where the flush begins its write transaction
    (SQLite ends its read phase there), loses the unit: its commit raises, nothing lands."""
    store, (item,) = _stored(backend, 1)
    with store.unit_of_work() as uow:
        held = uow.items.get(item.id)
        uow.items.save(_retitled(held, "延迟的保存"), held.version)
        real = uow.connection

        def failing(*, write: bool = False) -> Any:
            if write:
                raise RuntimeError("BEGIN failed")
            return real(write=write)

        monkeypatch.setattr(uow, "connection", failing)
        with pytest.raises(RuntimeError):
            uow.items.count(ItemQuery())  # a read: flushes first, and the write cannot begin
        monkeypatch.setattr(uow, "connection", real)
        with pytest.raises(ConcurrencyConflict):
            uow.commit()
    with store.unit_of_work() as uow:
        assert uow.items.get(item.id) == item


def test_a_lost_race_no_row_tells_apart_names_every_item(backend: Backend) -> None:
    """A plaintext rival writing exactly the version and document this unit deferred leaves no
    row that tells which save lost: the conflict names them all, never a wrong one."""
    _stored(backend, 0)  # empties the tables
    store = SqlStore(backend.engine, plaintext=True)
    items = [sample_item(f"item-{n}") for n in range(2)]
    with store.unit_of_work() as uow:
        for item in items:
            uow.items.add(item)
        uow.commit()
    with store.unit_of_work() as uow:
        held = uow.items.get_many([i.id for i in items])
        saved = {i.id: _retitled(held[i.id], "同一改动") for i in items}
        for item in items:
            uow.items.save(saved[item.id], item.version)
        with store.unit_of_work() as rival:
            rival.items.get(items[1].id)
            rival.items.save(saved[items[1].id], items[1].version)
            rival.commit()
        with pytest.raises(ConcurrencyConflict) as raised:
            uow.commit()
    assert raised.value.details.get("ids") == [i.id for i in items]
    with store.unit_of_work() as uow:  # the rival's write stands, this unit's other did not land
        assert uow.items.get(items[0].id) == items[0]


def test_without_an_upsert_a_batch_still_writes_the_child_rows_its_table_lost(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dialect with no upsert (a host's database) updates the kept child rows instead, and
    still inserts those the table lost."""
    monkeypatch.setattr(st, "overwrite", lambda _table, _dialect: None)
    test_a_batch_writes_the_child_rows_its_table_lost(backend)


@pytest.mark.parametrize("limits", [(2, 10**6), (100, 1)], ids=["rows", "text"])
def test_a_batch_split_over_several_statements_is_still_all_or_nothing(
    backend: Backend, limits: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where one statement takes a bounded number of rows or amount of text (MySQL, MariaDB),
    a race on a row of a later statement still fails the whole unit, naming the row."""
    monkeypatch.setattr(repositories, "_CAS_ROWS", limits[0])
    monkeypatch.setattr(repositories, "_CAS_BYTES", limits[1])
    store, items = _stored(backend, 5)
    with store.unit_of_work() as uow:
        raised = _raced(store, uow, items, 3)  # another writer changes the fourth item first
    assert raised.value.details.get("id") == items[3].id
    with store.unit_of_work() as uow:
        stored = uow.items.get_many([i.id for i in items])
        assert [stored[i.id] for i in items[:3]] == items[:3]  # earlier statements rolled back
        again = {i.id: _retitled(stored[i.id], f"再批{n}") for n, i in enumerate(items)}
        for item in items:
            uow.items.save(again[item.id], stored[item.id].version)
        uow.commit()
    with store.unit_of_work() as uow:
        stored = uow.items.get_many([i.id for i in items])
    assert [stored[i.id] for i in items] == [again[i.id] for i in items]


def test_a_statement_is_bounded_in_bytes_whatever_the_text() -> None:
    """Chunks stay within ``_CAS_BYTES`` of UTF-8 however wide the characters, and split where
    the columns set differ."""
    wide = {"doc": "😀" * 100_000, "_key": "a", "_expected": 1}  # 400,000 bytes
    ascii_doc = {"doc": "x" * 400_000, "_key": "b", "_expected": 1}
    other_columns = {"title": "x", "_key": "c", "_expected": 1}
    rows = [wide, wide, wide, ascii_doc, ascii_doc, other_columns]
    chunks = list(repositories._chunks(rows))
    assert [len(c) for c in chunks] == [2, 2, 1, 1]
    for chunk in chunks:
        texts = [v for row in chunk for v in row.values() if isinstance(v, str)]
        assert sum(len(t.encode()) for t in texts) <= repositories._CAS_BYTES
        assert len({tuple(row) for row in chunk}) == 1
