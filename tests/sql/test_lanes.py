"""Work lanes and review timeliness through the service (第五、九、十条), on memory and SQLite.

Each scenario runs on a memory store and on a SQLite store (a fresh file per test); the SQL
backends of ``tests/sql`` run the store contract (``StoreContract``) for the same queries.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Engine, event

from qiandao import (
    SYSTEM_ACTOR_ID,
    EventKind,
    ItemState,
    Lane,
    ReviewStage,
    Role,
    replay,
)
from qiandao._core import Actor
from qiandao.lanes import lanes_of
from qiandao.model import ID_LENGTH, Item
from qiandao.notices import role_group
from qiandao.ports.store import Store
from qiandao.rules.ruleset import RuleSet
from qiandao.service import Qiandao
from qiandao.testing import enrol
from qiandao_adapters.sql import SqlStore
from tests.helpers import ZS, World, at, fails, make_world
from tests.sql.conftest import Backend


@pytest.fixture
def world(any_store: Store) -> World:
    """A world on the memory store and on every SQL store."""
    return make_world(store=any_store)


def _submit(w: World, title: str, *, urgent: bool = False) -> Item:
    item = w.qd.submit_new(
        w.member, {"title": title, "body": "正文", "category": "hot_issue", "urgent": urgent}
    )
    w.clock.advance(minutes=1)
    return item


def _awaiting_signoff(w: World, destination: str) -> str:
    item = _submit(w, destination)
    w.qd.pass_preliminary(w.editor, item.id, destinations=[destination])
    w.qd.approve(w.deputy, item.id)
    return item.id


def _all_pages(w: World, actor: Actor, lane: Lane, limit: int) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = w.qd.lane(actor, lane, limit=limit, cursor=cursor)
        ids += [v.id for v in page.items]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


# --- lanes ------------------------------------------------------------------------------------


def test_the_preliminary_lane_holds_only_submitted_items_urgent_first_then_oldest(
    world: World,
) -> None:
    w = world
    plain = [_submit(w, f"普通{n}").id for n in range(3)]
    urgent = [_submit(w, f"急件{n}", urgent=True).id for n in range(2)]
    reviewed = _submit(w, "已初审")
    w.qd.pass_preliminary(w.editor, reviewed.id, destinations=["forward_to_departments"])
    w.issued()  # an issued item: 待交办, not 待初审
    page = w.qd.lane(w.editor, Lane.PRELIMINARY, limit=2)
    assert page.total == 5 and page.lane is Lane.PRELIMINARY
    assert [v.id for v in page.items] == urgent
    assert page.items[0].urgent and page.assignment_ids == (None, None)
    assert page.next_cursor is not None
    assert _all_pages(w, w.editor, Lane.PRELIMINARY, 2) == urgent + plain
    assert all(v.state is ItemState.SUBMITTED for v in page.items)
    assert w.qd.lane(w.editor, "to_assign").total == 1
    assert w.qd.lane(w.deputy, Lane.REVIEW).items[0].id == reviewed.id


def test_lane_rows_are_item_detail_views(world: World) -> None:
    w = world
    item = _submit(w, "视图")
    (view,) = w.qd.lane(w.editor, Lane.PRELIMINARY).items
    assert view == w.qd.item_detail(w.editor, item.id)


def test_a_later_page_neither_repeats_nor_skips_when_items_arrive(world: World) -> None:
    w = world
    first = [_submit(w, f"先{n}").id for n in range(4)]
    page = w.qd.lane(w.editor, Lane.PRELIMINARY, limit=2)
    assert [v.id for v in page.items] == first[:2]
    newer_urgent = _submit(w, "插队急件", urgent=True).id  # sorts before the cursor
    newer = _submit(w, "后到").id  # sorts after every earlier row
    rest = w.qd.lane(w.editor, Lane.PRELIMINARY, limit=10, cursor=page.next_cursor)
    assert [v.id for v in rest.items] == [*first[2:], newer]
    assert rest.total == 6 and rest.next_cursor is None
    assert w.qd.lane(w.editor, Lane.PRELIMINARY).items[0].id == newer_urgent


def test_a_malformed_or_foreign_cursor_is_invalid_input(world: World) -> None:
    w = world
    for n in range(3):
        _submit(w, f"信息{n}")
    cursor = w.qd.lane(w.editor, Lane.PRELIMINARY, limit=1).next_cursor
    assert cursor is not None
    for bad in ("", "not-a-cursor", "eyJ4IjoxfQ", cursor[:-3], cursor + "A"):
        fails("input.invalid", partial(w.qd.lane, w.editor, Lane.PRELIMINARY, cursor=bad))
    # another lane, another jurisdiction's editor
    fails("input.invalid", lambda: w.qd.lane(w.editor, Lane.TO_ASSIGN, cursor=cursor))
    county_editor = w.county["editor"]
    fails("input.invalid", lambda: w.qd.lane(county_editor, Lane.PRELIMINARY, cursor=cursor))
    fails("input.invalid", lambda: w.qd.lane(w.editor, Lane.PRELIMINARY, limit=0))


def _forged(cursor: str, **edits: object) -> str:
    """``cursor`` with some of its JSON fields replaced (a cursor is base64 of a JSON list)."""
    raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    names = ("version", "lane", "scope", "priority", "when", "id", "item_id")
    for name, value in edits.items():
        raw[names.index(name)] = value
    try:  # as the service writes it; a lone surrogate only fits as an escape
        data = json.dumps(raw, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        data = json.dumps(raw).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_a_forged_cursor_is_invalid_input_on_every_store(world: World) -> None:
    """Values no store can compare are refused before the query, identically everywhere."""
    w = world
    ids = [_submit(w, f"信息{n}").id for n in range(3)]
    cursor = w.qd.lane(w.editor, Lane.PRELIMINARY, limit=1).next_cursor
    assert cursor is not None
    forged: list[dict[str, object]] = [
        {"when": "0001-01-01T00:00:00+01:00"},  # before year 1 in UTC
        {"when": "9999-12-31T23:59:59-01:00"},  # after year 9999 in UTC
        {"when": "2026-03-02T09:00:00"},  # no offset
        {"id": "\ud800", "item_id": "\ud800"},  # a lone surrogate
        {"id": "a\x00b", "item_id": "a\x00b"},  # NUL
        {"id": "a\nb", "item_id": "a\nb"},  # another control character
        {"id": "x" * (ID_LENGTH + 1), "item_id": "x" * (ID_LENGTH + 1)},
        {"id": "", "item_id": ""},
        {"id": 7, "item_id": 7},
        {"item_id": "item-other"},  # an item lane's row is the item itself
        {"version": 1.0},
        {"version": True},
        {"version": 2},
        {"priority": 1.0},
        {"priority": False},
    ]
    for edits in forged:
        bad = _forged(cursor, **edits)
        fails("input.invalid", partial(w.qd.lane, w.editor, Lane.PRELIMINARY, cursor=bad))
    # the extremes that every store can compare are accepted, and give the same pages
    longest = "\uffff" * ID_LENGTH
    early = _forged(cursor, when="0001-01-01T00:00:00+00:00", id=longest, item_id=longest)
    late = _forged(cursor, when="9999-12-31T23:59:59+00:00", priority=0)
    assert [v.id for v in w.qd.lane(w.editor, Lane.PRELIMINARY, cursor=early).items] == ids
    assert [v.id for v in w.qd.lane(w.editor, Lane.PRELIMINARY, cursor=late).items] == ids
    # an assignment lane's cursor holds a day; its ids are checked the same way
    item, _ = w.assigned()
    unit = w.unit("u-a")
    w.qd.assign(w.editor, w.issued().id, [("u-a", True)])
    unit_cursor = w.qd.lane(unit, Lane.TO_ACCEPT, limit=1).next_cursor
    assert unit_cursor is not None
    unit_forged: list[dict[str, object]] = [
        {"when": "2026-03-02T09:00:00+08:00"},
        {"id": "a\x00b"},
        {"item_id": "\udfff"},
        {"item_id": "y" * (ID_LENGTH + 1)},
    ]
    for edits in unit_forged:
        bad = _forged(unit_cursor, **edits)
        fails("input.invalid", partial(w.qd.lane, unit, Lane.TO_ACCEPT, cursor=bad))
    first = _forged(unit_cursor, when="0001-01-01", id=longest, item_id=longest)
    rows = w.qd.lane(unit, Lane.TO_ACCEPT, cursor=first).items
    assert len(rows) == 2 and item.id in {v.id for v in rows}


def test_a_lane_the_role_does_not_have_is_permission_denied(world: World) -> None:
    w = world
    fails("permission.denied", lambda: w.qd.lane(w.deputy, Lane.PRELIMINARY))
    fails("permission.denied", lambda: w.qd.lane(w.member, Lane.PRELIMINARY))
    fails("permission.denied", lambda: w.qd.lane(w.unit("u-a"), Lane.DECLINED))
    fails("permission.denied", lambda: w.qd.lane(w.head, Lane.REVIEW))
    fails("input.invalid", lambda: w.qd.lane(w.editor, "no-such-lane"))
    assert w.qd.lane_counts(w.member) == {}


def test_a_unit_account_without_a_unit_sees_no_queue_and_no_overdue_list(world: World) -> None:
    """Without a unit a unit's queries would have no scope (every unit's work): refused."""
    w = world
    w.assigned()
    w.clock.advance(days=60)  # the assignment is overdue, very overdue
    assert w.qd.overdue(w.unit("u-a"), very=True).total == 1
    nowhere = Actor("u-none", Role.HANDLING_UNIT, ZS)
    unverified: list[Callable[[], object]] = [
        partial(w.qd.overdue, nowhere),
        partial(w.qd.lane_counts, nowhere),
    ]
    for attempt in unverified:
        fails("account.actor_refused", attempt)  # no account holds that grant
    enrol(w.store, nowhere)  # even a stored grant without its unit (a broken import) is refused
    calls: list[Callable[[], object]] = [
        partial(w.qd.overdue, nowhere),
        partial(w.qd.overdue, nowhere, very=True),
        partial(w.qd.lane, nowhere, Lane.HANDLING),
        partial(w.qd.lane_counts, nowhere),
        partial(w.qd.inbox, nowhere),
    ]
    for call in calls:
        assert fails("input.invalid", call).details.get("field") == "unit_id"


def test_lane_counts_cover_every_lane_of_the_role(world: World) -> None:
    w = world
    _submit(w, "待初审")
    item, (a, b) = w.assigned(("u-a", True), "u-b")
    w.qd.decline(w.unit("u-b"), item.id, b.id, "不属于本单位职责")
    w.qd.accept(w.unit("u-a"), item.id, a.id)
    w.issued()
    counts = w.qd.lane_counts(w.editor)
    assert list(counts) == list(lanes_of(Role.EDITOR))
    assert counts == {
        Lane.PRELIMINARY: 1,
        Lane.DECLINED: 1,
        Lane.EXTENSION: 0,
        Lane.TO_ASSIGN: 1,
        Lane.AWAITING_RATING: 0,
        Lane.FOLLOW_UP: 0,
    }
    declined = w.qd.lane(w.editor, Lane.DECLINED)
    assert [v.id for v in declined.items] == [item.id] and declined.assignment_ids == (b.id,)
    assert w.qd.lane_counts(w.unit("u-a")) == {
        Lane.TO_ACCEPT: 0,
        Lane.HANDLING: 1,
        Lane.REHANDLE: 0,
    }
    assert w.qd.lane_counts(w.unit("u-b"))[Lane.TO_ACCEPT] == 0  # declined: waits on the office


def test_unit_lanes_put_urgent_items_first_then_by_due_date(world: World) -> None:
    w = world
    plain, _ = w.assigned()
    w.clock.advance(days=1)
    urgent = w.issued(urgent=True)
    w.qd.assign(w.editor, urgent.id, [("u-a", True)])
    page = w.qd.lane(w.unit("u-a"), Lane.TO_ACCEPT)
    assert [v.id for v in page.items] == [urgent.id, plain.id]  # urgent though due later
    assert w.qd.inbox(w.unit("u-a"))[0].id == urgent.id


def test_signers_see_only_items_of_their_tier(world: World) -> None:
    w = world
    forward = _awaiting_signoff(w, "forward_to_departments")
    city = _awaiting_signoff(w, "report_to_city_leaders")
    top = _awaiting_signoff(w, "report_to_principal_leaders_and_province")
    secretary = Actor("s1", Role.SECRETARY_GENERAL, ZS)
    chair = Actor("c1", Role.CHAIR, ZS)
    enrol(w.store, secretary, chair)
    assert [v.id for v in w.qd.lane(w.head, Lane.SIGNOFF).items] == [forward]
    assert [v.id for v in w.qd.lane(secretary, Lane.SIGNOFF).items] == [forward, city]
    page = w.qd.lane(chair, Lane.SIGNOFF, limit=2)
    assert page.total == 3 and [v.id for v in page.items] == [forward, city]
    assert _all_pages(w, chair, Lane.SIGNOFF, 1) == [forward, city, top]
    assert w.qd.lane_counts(w.head) == {Lane.SIGNOFF: 1}
    head_cursor = w.qd.lane(chair, Lane.SIGNOFF, limit=1).next_cursor
    fails("input.invalid", lambda: w.qd.lane(w.head, Lane.SIGNOFF, cursor=head_cursor))


def test_the_inbox_is_the_roles_lanes_urgent_first(world: World) -> None:
    w = world
    plain = _submit(w, "普通").id
    issued = w.issued(urgent=True).id
    assert [v.id for v in w.qd.inbox(w.editor)] == [issued, plain]
    assert [v.id for v in w.qd.inbox(w.editor, limit=1)] == [issued]


# --- review timeliness (急事急报, 第五条) ----------------------------------------------------


def test_a_late_preliminary_review_is_reminded_once_to_the_editors(world: World) -> None:
    w = world
    w.clock.set(at(2026, 3, 2, 10))  # Monday
    item = _submit(w, "待初审")
    urgent = _submit(w, "急件", urgent=True)
    w.clock.set(at(2026, 3, 4, 10))  # Wednesday: the urgent window (1 day) has passed
    assert w.qd.run_due_jobs().reviews_reminded == 1
    assert [r.item.id for r in w.qd.overdue_reviews(w.editor).items] == [urgent.id]
    w.clock.set(at(2026, 3, 6, 10))  # Friday: the 3-day window ends Thursday
    report = w.qd.run_due_jobs()
    assert report.reviews_reminded == 1
    assert w.qd.run_due_jobs().reviews_reminded == 0  # once per stage entry
    kinds = [e.kind for e in w.events(item.id)]
    assert kinds.count(EventKind.REVIEW_OVERDUE) == 1
    (event,) = [e for e in w.events(item.id) if e.kind is EventKind.REVIEW_OVERDUE]
    assert event.actor_id == SYSTEM_ACTOR_ID
    sent = [n for n in w.notifier.sent if n.id == event.id]
    assert [n.recipients for n in sent] == [(role_group(Role.EDITOR, ZS),)]
    late = w.qd.overdue_reviews(w.deputy).items
    assert [r.item.id for r in late] == [urgent.id, item.id]
    assert (late[1].stage, late[1].waited_workdays, late[1].window_workdays) == (
        ReviewStage.PRELIMINARY,
        4,
        3,
    )
    (overrun,) = w.load(item.id).review_overruns
    assert overrun.stage is ReviewStage.PRELIMINARY and overrun.window_workdays == 3
    assert replay(w.events(item.id)) == w.load(item.id)


def test_each_stage_entry_has_its_own_window_and_reminder(world: World) -> None:
    w = world
    w.clock.set(at(2026, 3, 2, 10))
    item = _submit(w, "待审核")
    w.qd.pass_preliminary(w.editor, item.id, destinations=["report_to_city_leaders"])
    w.qd.approve(w.deputy, item.id)
    w.clock.set(at(2026, 3, 9, 10))  # a week later: 签发 is late
    assert w.qd.run_due_jobs().reviews_reminded == 1
    (event,) = [e for e in w.events(item.id) if e.kind is EventKind.REVIEW_OVERDUE]
    sent = [n for n in w.notifier.sent if n.id == event.id]
    assert [n.recipients for n in sent] == [(role_group(Role.SECRETARY_GENERAL, ZS),)]
    secretary = Actor("s1", Role.SECRETARY_GENERAL, ZS)
    enrol(w.store, secretary)
    w.qd.send_back(secretary, item.id, "请补充")
    assert w.qd.overdue_reviews(w.editor).total == 0  # back at 审核: a new window
    w.clock.set(at(2026, 3, 13, 10))
    assert w.qd.run_due_jobs().reviews_reminded == 1
    stages = [o.stage for o in w.load(item.id).review_overruns]
    assert stages == [ReviewStage.SIGNOFF, ReviewStage.DEPUTY]
    assert replay(w.events(item.id)) == w.load(item.id)
    bulletin = w.qd.quarterly_bulletin(w.editor, 2026, 1)
    assert bulletin.overdue_reviews == 2


def test_overdue_reviews_are_for_the_office_only(world: World) -> None:
    w = world
    for actor in (w.member, w.unit("u-a")):
        fails("permission.denied", partial(w.qd.overdue_reviews, actor))
    fails("input.invalid", lambda: w.qd.overdue_reviews(w.editor, limit=0))


def test_state_since_is_the_instant_of_the_last_state_change(world: World) -> None:
    w = world
    submitted_at = w.clock.now()
    item = _submit(w, "时间")
    assert w.load(item.id).state_since == submitted_at
    w.clock.advance(hours=2)
    passed = w.qd.pass_preliminary(w.editor, item.id, destinations=["forward_to_departments"])
    assert passed.state_since == w.clock.now()
    assert replay(w.events(item.id)) == w.load(item.id)


# --- one snapshot per page and per set of counts (SQL) -----------------------------------------


@contextmanager
def _meanwhile(engine: Engine, marker: str, act: Callable[[], object]) -> Iterator[list[str]]:
    """Run ``act`` (another session's command, committed) right after the first SELECT whose
    text contains ``marker`` has run, before the reading session runs anything else."""
    fired: list[str] = []

    def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not fired and statement.lstrip().upper().startswith("SELECT") and marker in statement:
            fired.append(statement)
            act()

    event.listen(engine, "after_cursor_execute", after)
    try:
        yield fired
    finally:
        event.remove(engine, "after_cursor_execute", after)


def _other_service(backend: Backend, w: World) -> Qiandao:
    """A second service on the same database (its own sessions)."""
    return Qiandao(
        SqlStore(backend.engine), clock=w.clock, rules={ZS: RuleSet.zhoushan()}, hasher=None
    )


def test_a_page_and_its_total_come_from_one_snapshot(backend: Backend) -> None:
    w = make_world(store=backend.store())
    first = [_submit(w, f"先{n}").id for n in range(3)]
    other = _other_service(backend, w)
    late = partial(
        other.submit_new, w.member, {"title": "后到", "body": "正文", "category": "hot_issue"}
    )
    with _meanwhile(backend.engine, "qd_items.lane", late) as fired:
        page = w.qd.lane(w.editor, Lane.PRELIMINARY)
    assert fired  # the other session committed while the page was read
    assert [v.id for v in page.items] == first and page.total == 3
    assert w.qd.lane(w.editor, Lane.PRELIMINARY).total == 4

    item, (_, b) = w.assigned(("u-a", True), "u-b")
    w.qd.decline(w.unit("u-a"), item.id, item.assignments[0].id, "不属于本单位职责")
    decline = partial(other.decline, w.unit("u-b"), item.id, b.id, "也不属于本单位")
    with _meanwhile(backend.engine, "qd_assignments.office_lane", decline) as fired:
        page = w.qd.lane(w.editor, Lane.DECLINED)
    assert fired
    assert page.assignment_ids == (item.assignments[0].id,) and page.total == 1
    assert w.qd.lane(w.editor, Lane.DECLINED).total == 2


def test_lane_counts_come_from_one_snapshot(backend: Backend) -> None:
    w = make_world(store=backend.store())
    _submit(w, "待初审")
    item, (a, b) = w.assigned(("u-a", True), "u-b")
    w.qd.decline(w.unit("u-a"), item.id, a.id, "不属于本单位职责")
    before = w.qd.lane_counts(w.editor)
    assert (before[Lane.PRELIMINARY], before[Lane.DECLINED]) == (1, 1)
    other = _other_service(backend, w)
    decline = partial(other.decline, w.unit("u-b"), item.id, b.id, "也不属于本单位")
    with _meanwhile(backend.engine, "GROUP BY", decline) as fired:
        counts = w.qd.lane_counts(w.editor)
    assert fired and counts == before
    assert w.qd.lane_counts(w.editor)[Lane.DECLINED] == 2
