"""A command's writes run without savepoints (issue 14): a refusal raised before the first write
leaves the unit of work usable; any other failure inside a write block loses the whole unit, so
nothing of it, not even what was written before the block, can be committed. Events of an item
whose row the unit wrote skip ``SELECT max(sequence)``; a taken sequence is refused at commit.
A save writes only the child rows that changed, and they end as a full rewrite would leave them."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from sqlalchemy import event, exc, insert, select, text

from qiandao.errors import ConcurrencyConflict, NotFound, QiandaoError
from qiandao.model import Item
from qiandao.ports.store import ItemQuery
from qiandao.testing.builders import sample_events, sample_item, sample_unit
from qiandao_adapters.sql import SqlStore
from qiandao_adapters.sql import schema as s
from qiandao_adapters.sql.rows import item_children, unit_row
from tests.sql.conftest import Backend, clear_tables


def test_a_refusal_before_any_write_leaves_the_unit_usable(backend: Backend) -> None:
    store = backend.store()
    with store.unit_of_work() as uow:
        uow.items.add(sample_item("item-0001"))
        uow.commit()
    with store.unit_of_work() as uow:
        uow.units.add(sample_unit("unit-kept"))
        with pytest.raises(ConcurrencyConflict):
            uow.items.add(sample_item("item-0001"))  # a duplicate: refused before writing
        with pytest.raises(NotFound):
            uow.items.save(sample_item("ghost"), expected_version=3)
        uow.units.add(sample_unit("unit-after"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert {u.id for u in uow.units.list()} == {"unit-kept", "unit-after"}


def test_a_driver_error_after_a_write_loses_the_whole_unit(backend: Backend) -> None:
    store = backend.store()
    with store.unit_of_work() as uow:
        uow.units.add(sample_unit("unit-before"))  # written before the failing block
        with pytest.raises((exc.DBAPIError, QiandaoError)), uow.writes() as conn:
            conn.execute(insert(s.units).values(unit_row(sample_unit("unit-half"))))
            conn.execute(text("SELECT no_such_column FROM qd_units"))
        with pytest.raises(QiandaoError):
            uow.units.add(sample_unit("unit-later"))
        with pytest.raises(QiandaoError):
            uow.commit()
    with store.unit_of_work() as uow:
        assert uow.units.list() == []
        assert uow.items.find(ItemQuery()) == []


def test_a_rollback_makes_a_lost_unit_usable_again(backend: Backend) -> None:
    store = backend.store()
    with store.unit_of_work() as uow:
        with pytest.raises((exc.DBAPIError, QiandaoError)), uow.writes() as conn:
            conn.execute(text("SELECT no_such_column FROM qd_units"))
        uow.rollback()
        uow.units.add(sample_unit("unit-fresh"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert [u.id for u in uow.units.list()] == ["unit-fresh"]


def _stored(backend: Backend, item: Item, events: int) -> SqlStore:
    """An empty store given ``item`` and its first ``events`` events."""
    store = backend.store()
    with store.unit_of_work() as uow:
        uow.items.add(item)
        uow.events.append(sample_events(item)[:events])
        uow.commit()
    return store


def _saved_with_event(store: SqlStore, item: Item, sequence: int) -> None:
    """Save the next version of ``item`` and append an event numbered ``sequence``; commit."""
    with store.unit_of_work() as uow:
        uow.items.save(attrs.evolve(item, version=item.version + 1), item.version)
        next_event = sample_events(item)[1]
        uow.events.append([attrs.evolve(next_event, id=f"evt-{sequence}", sequence=sequence)])
        uow.commit()


def test_events_of_an_item_saved_in_the_unit_ask_no_max_sequence(backend: Backend) -> None:
    item = sample_item("item-0001")
    store = _stored(backend, item, 1)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.lower())

    event.listen(backend.engine, "before_cursor_execute", record)
    try:
        _saved_with_event(store, item, 2)
    finally:
        event.remove(backend.engine, "before_cursor_execute", record)
    assert statements and not [x for x in statements if "max(" in x and "qd_events" in x]
    with store.unit_of_work() as uow:
        assert [e.sequence for e in uow.events.for_item(item.id)] == [1, 2]


def test_a_taken_sequence_of_a_saved_item_is_refused_at_commit(backend: Backend) -> None:
    item = sample_item("item-0001")
    store = _stored(backend, item, 2)
    with pytest.raises(ConcurrencyConflict):
        _saved_with_event(store, item, 2)  # the version check passes, the log has 2
    with store.unit_of_work() as uow:
        assert uow.items.get(item.id) == item
        assert [e.sequence for e in uow.events.for_item(item.id)] == [1, 2]


def _child_rows(store: SqlStore, item_id: str) -> list[list[dict[str, Any]]]:
    """The stored child rows of an item, per child table, in primary key order."""
    found = []
    with store.engine.connect() as conn:
        for table, _ in item_children(sample_item(item_id)):
            order = list(table.primary_key.columns)
            rows = conn.execute(select(table).where(table.c.item_id == item_id).order_by(*order))
            found.append([dict(row._mapping) for row in rows])
    return found


def _expected_rows(item: Item) -> list[list[dict[str, Any]]]:
    """The child rows ``item`` should have, in the order of :func:`_child_rows`."""
    expected = []
    for table, rows in item_children(item):
        keys = [c.name for c in table.primary_key.columns]
        expected.append(sorted(rows, key=lambda row: [row[k] for k in keys]))
    return expected


def test_saves_write_the_child_rows_that_changed_and_leave_the_others_right(
    backend: Backend,
) -> None:
    clear_tables(backend.engine)
    store = SqlStore(backend.engine, plaintext=True)  # child rows comparable in clear
    item = sample_item("item-0001")
    with store.unit_of_work() as uow:
        uow.items.add(item)
        uow.commit()
    first = item.assignments[0]
    edits: list[dict[str, Any]] = [
        {"texts": item.texts[:1]},  # a row gone
        {"coauthor_ids": (*item.coauthor_ids, "member-new")},  # a row added
        {"assignments": (attrs.evolve(first, unit_id="unit-other"), *item.assignments[1:])},
        {"feedback": item.feedback[1:]},  # rows renumbered
        {"texts": item.texts, "feedback": ()},
        {},  # nothing of the children
    ]
    for edit in edits:
        with store.unit_of_work() as uow:
            held = uow.items.get(item.id)
            saved = attrs.evolve(held, version=held.version + 1, **edit)
            uow.items.save(saved, held.version)
            uow.commit()
        assert _child_rows(store, item.id) == _expected_rows(saved), edit
    with store.unit_of_work() as uow:  # two saves in one unit: the second diffs the first
        held = uow.items.get(item.id)
        once = attrs.evolve(held, version=held.version + 1, coauthor_ids=())
        uow.items.save(once, held.version)
        twice = attrs.evolve(once, version=once.version + 1, texts=item.texts[:1])
        uow.items.save(twice, once.version)
        uow.commit()
    assert _child_rows(store, item.id) == _expected_rows(twice)
    with store.unit_of_work() as uow:
        assert uow.items.get(item.id) == twice
