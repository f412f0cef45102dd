"""Keyset pages of every list, through the service, on every store.

A walk through a list yields each row once and in order although rows are inserted before the
cursor between pages; totals count the whole filter; a forged, altered or foreign cursor is
``input.invalid`` (field ``cursor``) and no cursor reaches a row outside the caller's filter.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta

import attrs
import pytest

from qiandao import SHANGHAI, Actor, ItemView, Page, Qiandao, QiandaoError, Role
from qiandao.audit import AuditQuery
from qiandao.model import Item
from qiandao.paging import MAX_PAGE, encode_position
from qiandao.ports.store import ItemOrder, Store
from qiandao.queries import order_position
from qiandao.rules.lifecycle import AssignmentState, ItemState
from qiandao.testing import ManualClock, enrol
from qiandao.testing.builders import sample_item
from qiandao_adapters.memory import MemoryStore
from tests.sql.test_overdue import _open

J = "zhoushan"
PENDING = AssignmentState.PENDING
NOW = datetime(2025, 6, 2, 9, tzinfo=SHANGHAI)
MEMBER = Actor("m1", Role.MEMBER, J)
OTHER = Actor("m2", Role.MEMBER, J)
EDITOR = Actor("e1", Role.EDITOR, J)
AUDITOR = Actor("a1", Role.AUDIT_ADMIN, J)


def _item(n: int, author: str, *, published: bool = True, secret: bool = False) -> Item:
    """An item of ``author``; ``n`` orders creation and issue (the larger, the newer)."""
    at = datetime(2025, 1, 1, 9, tzinfo=SHANGHAI) + timedelta(hours=n // 2)  # ties in pairs
    state = ItemState.CLOSED if published else ItemState.SUBMITTED
    return attrs.evolve(
        sample_item(f"it-{n:03d}"),
        lead_author_id=author,
        coauthor_ids=(),
        state=state,
        secret=secret,
        opted_out=frozenset(),
        commission_id=None,
        created_at=at,
        submitted_at=at,
        issued_at=at if published else None,
        assignments=(),
    )


def _seed(store: Store, items: list[Item]) -> None:
    with store.unit_of_work() as uow:
        for item in items:
            uow.items.add(item)
        uow.commit()


def _service(store: Store) -> Qiandao:
    enrol(store, MEMBER, OTHER, EDITOR, AUDITOR, at=NOW - timedelta(days=400))
    return Qiandao(store, clock=ManualClock(NOW), audit_key=b"k" * 32, hasher=None)


def _walk(
    listing: Callable[..., Page[ItemView]], size: int, between: Callable[[int], None]
) -> tuple[list[str], list[int]]:
    """Every row id of a list, page by page, calling ``between`` after each full page."""
    ids: list[str] = []
    totals: list[int] = []
    cursor = None
    for turn in range(1000):
        page = listing(limit=size, cursor=cursor)
        assert len(page.items) <= size
        ids += [v.id for v in page.items]
        totals.append(page.total)
        if page.next_cursor is None:
            assert len(page.items) <= size
            return ids, totals
        cursor = page.next_cursor
        between(turn)
    raise AssertionError("the walk did not end")


def test_my_items_walk_once_in_order_with_inserts_between_pages(any_store: Store) -> None:
    """New items are the newest: they sort before the cursor and never shift a later page."""
    mine = [_item(n, MEMBER.account_id, published=n % 3 != 0) for n in range(23)]
    _seed(any_store, [*mine, *(_item(100 + n, OTHER.account_id) for n in range(5))])
    qd = _service(any_store)
    newer = iter(range(200, 300))

    def insert(_turn: int) -> None:
        _seed(any_store, [_item(next(newer), MEMBER.account_id)])

    ids, totals = _walk(lambda **k: qd.my_items(MEMBER, **k), 5, insert)
    expected = [i.id for i in sorted(mine, key=lambda i: (i.created_at, i.id), reverse=True)]
    assert ids == expected
    assert totals == [23 + turn for turn in range(len(totals))]  # each insert is counted
    assert len(set(ids)) == len(ids)


def test_published_walk_once_in_order_and_never_shows_a_secret_item(any_store: Store) -> None:
    rows = [_item(n, f"p{n % 4}", published=n % 5 != 0, secret=n % 7 == 0) for n in range(30)]
    _seed(any_store, rows)
    qd = _service(any_store)
    newer = iter(range(200, 300))
    ids, totals = _walk(
        lambda **k: qd.published(EDITOR, **k),
        4,
        lambda _turn: _seed(any_store, [_item(next(newer), "p9")]),
    )
    public = [i for i in rows if i.published]
    assert ids == [i.id for i in sorted(public, key=lambda i: (i.issued_at, i.id), reverse=True)]
    assert totals[0] == len(public) and totals[-1] == len(public) + len(totals) - 1


def test_deep_pages_need_no_offset_and_the_last_page_has_no_cursor(any_store: Store) -> None:
    _seed(any_store, [_item(n, MEMBER.account_id) for n in range(7)])
    qd = _service(any_store)
    first = qd.my_items(MEMBER, limit=7)
    assert (len(first.items), first.total, first.next_cursor) == (7, 7, None)
    with pytest.raises(TypeError):  # offset is gone: a cursor replaces it
        getattr(qd, "my_items")(MEMBER, offset=3)  # noqa: B009
    assert qd.my_items(OTHER).items == ()
    assert qd.my_items(OTHER).total == 0


def _invalid(call: Callable[[], object], field: str = "cursor") -> None:
    with pytest.raises(QiandaoError) as raised:
        call()
    assert (raised.value.code, raised.value.details.get("field")) == ("input.invalid", field)


def _forge(raw: object) -> str:
    text = json.dumps(raw, ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_forged_altered_and_foreign_cursors_are_refused(any_store: Store) -> None:
    _seed(any_store, [_item(n, a) for n in range(6) for a in (MEMBER.account_id,)])
    _seed(any_store, [_item(50 + n, OTHER.account_id) for n in range(6)])
    qd = _service(any_store)
    mine = qd.my_items(MEMBER, limit=2).next_cursor
    public = qd.published(MEMBER, limit=2).next_cursor
    assert mine is not None and public is not None
    text = base64.urlsafe_b64decode(mine + "=" * (-len(mine) % 4)).decode()
    raw = json.loads(text)
    for bad in (
        "",
        "x" * 1001,
        "not base64 ☃",
        mine[:-3],
        mine + "AAAA",
        _forge([2, *raw[1:]]),  # another version
        _forge([True, *raw[1:]]),
        _forge(raw[:-1]),
        _forge([*raw[:3], 2, *raw[4:]]),  # a rank that does not exist
        _forge([*raw[:4], "2025-01-01T09:00:00", *raw[5:]]),  # an instant without offset
        _forge([*raw[:4], "tomorrow", *raw[5:]]),
        _forge([*raw[:5], "a\x00b", "a\x00b"]),  # an id no store can compare
        _forge([*raw[:5], raw[5], "another"]),  # row and item ids differ
        public,  # another list's cursor
        qd.my_items(OTHER, limit=2).next_cursor,  # another person's
        _forge(["preliminary", *raw[1:]]),  # a lane's
        _forge([raw[0], "preliminary", *raw[2:]]),
    ):
        _invalid(functools.partial(qd.my_items, MEMBER, cursor=bad))
    _invalid(lambda: qd.published(MEMBER, cursor=mine))
    _invalid(functools.partial(qd.my_items, MEMBER, cursor=7))  # type: ignore[arg-type]
    _invalid(lambda: qd.my_items(MEMBER, limit=0), "limit")
    _invalid(lambda: qd.my_items(MEMBER, limit=MAX_PAGE + 1), "limit")
    _invalid(lambda: qd.overdue(EDITOR, cursor=mine))
    _invalid(lambda: qd.overdue_reviews(EDITOR, cursor=mine))


def test_a_forged_position_reaches_no_row_outside_the_filter(any_store: Store) -> None:
    """A well-formed cursor holding any position: still only the caller's own items."""
    theirs = [_item(50 + n, OTHER.account_id, published=False) for n in range(4)]
    _seed(any_store, [_item(n, MEMBER.account_id, published=False) for n in range(3)] + theirs)
    qd = _service(any_store)
    mine = {f"it-{n:03d}" for n in range(3)}
    for item in theirs:
        position = order_position(ItemOrder.NEWEST_FIRST, item)
        forged = encode_position("my_items", MEMBER.account_id, position)
        page = qd.my_items(MEMBER, cursor=forged)
        assert {v.id for v in page.items} <= mine and page.total == 3
    earliest = attrs.evolve(position, when=datetime(2100, 1, 1, tzinfo=SHANGHAI))
    forged = encode_position("my_items", MEMBER.account_id, earliest)
    assert {v.id for v in qd.my_items(MEMBER, cursor=forged).items} == mine


def test_a_listing_records_the_non_public_items_it_showed(any_store: Store) -> None:
    _seed(any_store, [_item(n, MEMBER.account_id, published=n < 2) for n in range(5)])
    qd = _service(any_store)
    page = qd.my_items(MEMBER, limit=2)
    shown = [v.id for v in page.items]
    second = qd.my_items(MEMBER, limit=2, cursor=page.next_cursor)
    records = qd.audit_log(AUDITOR, AuditQuery(action="my_items")).records
    hidden = [{*r.entry.targets} for r in records]
    assert {"it-004", "it-003"} == set(shown)
    assert {*shown} in hidden
    assert {v.id for v in second.items if v.id not in ("it-000", "it-001")} in hidden


def test_overdue_pages_by_due_day_with_a_total(any_store: Store) -> None:
    due = [date(2025, 3, 3) + timedelta(days=n) for n in range(7)]
    items = [
        attrs.evolve(
            sample_item(f"late-{n}"),
            state=ItemState.HANDLING,
            closed_at=None,
            assignments=(_open(f"asg-{n}", "unit-x", AssignmentState.PENDING, due[n]),),
        )
        for n in range(7)
    ]
    _seed(any_store, items)
    qd = _service(any_store)
    walked: list[str] = []
    cursor = None
    cursors: list[str] = []
    while True:
        page = qd.overdue(EDITOR, limit=3, cursor=cursor)
        assert page.total == (7 if len(walked) < 3 else 8)  # the early one is counted
        walked += [a.assignment.id for _, a in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        cursors.append(cursor)
        if len(walked) == 3:  # an earlier due day arrives between pages: never shown now
            early = attrs.evolve(
                items[0],
                id="late-early",
                assignments=(
                    _open("asg-early", "unit-x", AssignmentState.PENDING, date(2025, 1, 2)),
                ),
            )
            _seed(any_store, [early])
    assert walked == [f"asg-{n}" for n in range(7)]
    _invalid(lambda: qd.overdue(EDITOR, very=True, cursor=cursors[0]))  # another list
    unit = Actor("u1", Role.HANDLING_UNIT, J, unit_id="unit-x")
    enrol(any_store, unit, at=NOW - timedelta(days=400))
    _invalid(lambda: qd.overdue(unit, cursor=cursors[0]))  # another scope


def test_the_memory_store_is_the_reference_of_the_walk() -> None:
    """The same walk on the reference store: a sanity check of the helper above."""
    store = MemoryStore()
    _seed(store, [_item(n, MEMBER.account_id) for n in range(3)])
    qd = _service(store)
    ids, totals = _walk(lambda **k: qd.my_items(MEMBER, **k), 1, lambda _t: None)
    assert ids == ["it-002", "it-001", "it-000"] and totals == [3, 3, 3]


def test_overdue_reviews_page_oldest_first_with_inserts_between_pages(any_store: Store) -> None:
    """Items waiting at 初审 since January: all late in June. One that has waited longer
    arrives between pages: it sorts before the cursor, so it is counted but not shown."""

    def waiting(n: int) -> Item:
        item = _item(n, MEMBER.account_id, published=False)
        return attrs.evolve(item, jurisdiction=J, state_since=item.created_at, reviews=())

    _seed(any_store, [waiting(10 + n) for n in range(7)])
    qd = _service(any_store)
    walked: list[str] = []
    totals: list[int] = []
    cursor = None
    while True:
        page = qd.overdue_reviews(EDITOR, limit=3, cursor=cursor)
        walked += [r.item.id for r in page.items]
        totals.append(page.total)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        _seed(any_store, [waiting(len(totals) - 1)])  # it-000, it-001: older than every row
    assert walked == [f"it-{10 + n:03d}" for n in range(7)]
    assert totals == [7, 8, 9]
    _invalid(lambda: qd.overdue_reviews(Actor("e2", Role.EDITOR, "dinghai"), cursor=cursor))


def test_an_assignment_page_statement_is_built_once_per_shape_and_holds_no_values() -> None:
    from qiandao.ports.store import AssignmentQuery
    from qiandao_adapters.sql.repositories import _assignment_select, _assignment_values

    def query(jurisdiction: str, due: date, limit: int) -> AssignmentQuery:
        return AssignmentQuery(
            jurisdiction, states=frozenset({PENDING}), due_before=due, limit=limit
        )

    first = query("zhoushan", date(2025, 3, 1), 5)
    second = query("dinghai", date(2026, 7, 9), 9)
    stmt = _assignment_select(first, counted=True)
    assert _assignment_select(second, counted=True) is stmt  # one statement per shape
    assert _assignment_select(second, counted=False) is not stmt
    assert _assignment_select(attrs.evolve(second, unit_id="u-1"), counted=True) is not stmt
    text = str(stmt)
    assert not any(value in text for value in ("zhoushan", "dinghai", "2025", "2026"))
    assert _assignment_values(second) == {
        "_jurisdiction": "dinghai",
        "_states": ["pending"],
        "_due_before": date(2026, 7, 9),
        "_limit": 9,
    }
