"""Views on the SQL stores (issue 11): names opened from encrypted rows in one read per table,
however many rows a list has, and the allowed actions as on the memory store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from qiandao import AllowedAction, AssignmentCommand, ItemCommand, Lane
from qiandao_adapters.sql import SqlStore
from tests.sql.conftest import Backend
from tests.test_allowed_actions import ACTORS, FORWARD, NAMES, _issued, world


@contextmanager
def statements(store: SqlStore) -> Iterator[list[str]]:
    """The SQL statements run on the store's engine meanwhile."""
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def test_names_are_read_once_per_list_and_actions_match(store: SqlStore) -> None:
    qd, _ = world(store)
    first = _issued(qd, {FORWARD})
    qd.sign(ACTORS["head"], first)
    item = qd.assign(ACTORS["editor"], first, [("u-a", True), "u-b"])
    member = ACTORS["member"]
    with statements(store) as one:
        (view,) = qd.my_items(member).items
    assert {p: view.names[p] for p in ("m1", "m2", "d1")} == {  # opened from sealed rows
        p: NAMES[p] for p in ("m1", "m2", "d1")
    }
    for _ in range(3):
        qd.sign(ACTORS["head"], _issued(qd, {FORWARD}))
    with statements(store) as four:
        views = qd.my_items(member).items
    assert len(views) == 4

    def reads(table: str, run: list[str]) -> int:
        return sum(1 for sql in run if sql.lstrip().upper().startswith("SELECT") and table in sql)

    for table in ("qd_accounts", "qd_units"):  # no read per row
        assert reads(table, four) == reads(table, one), table
    editor_view = qd.item_detail(ACTORS["editor"], first)
    assert editor_view.names["d1"] == NAMES["d1"]
    assert {a.unit_name for a in editor_view.assignments} == {
        "市自然资源和规划局",
        "市海洋与渔业局",
    }
    mine = item.assignments[0].id
    assert qd.allowed_actions(ACTORS["unit_a"], first) == (
        AllowedAction(AssignmentCommand.ACCEPT, mine),
        AllowedAction(AssignmentCommand.DECLINE, mine),
    )
    assert ItemCommand.RATE not in {a.command for a in qd.allowed_actions(member, first)}


DRAFT = {"title": "渔港改造", "body": "渔港避风条件差。", "category": "hot_issue"}


def test_inbox_and_lane_reads_search_their_indexes_in_order(sqlite_backend: Backend) -> None:
    """SQLite's plans (issue 14): the member's inbox reads the author's rows from the authors
    index and looks their items up by key (a correlated ``EXISTS`` scanned every item); a lane's
    page reads its lane index in the lane's order, so nothing is sorted but the author's rows."""
    store = sqlite_backend.store()
    qd, _ = world(store)
    for _ in range(3):
        _issued(qd, {FORWARD})
    qd.draft(ACTORS["member"], DRAFT)
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(sqlite_backend.engine, "before_cursor_execute", record)
    try:
        assert len(qd.inbox(ACTORS["member"])) == 1  # the draft
        inbox = [(sql, p) for sql, p in seen if "qd_item_authors" in sql]
        seen.clear()
        assert qd.lane(ACTORS["head"], Lane.SIGNOFF).total == 3
        lane = [(sql, p) for sql, p in seen if "qd_items" in sql and "lane" in sql]
    finally:
        event.remove(sqlite_backend.engine, "before_cursor_execute", record)

    def plan(sql: str, parameters: Any) -> str:
        with sqlite_backend.engine.connect() as conn:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters).all()
        return " | ".join(str(row[-1]) for row in rows)

    (read,) = inbox
    found = plan(*read)
    assert "SCAN" not in found and "ix_qd_item_authors_account_id" in found, found
    (page,) = lane
    found = plan(*page)
    assert "SCAN" not in found and "TEMP B-TREE" not in found, found
    assert "ix_qd_items_lane_order" in found, found
