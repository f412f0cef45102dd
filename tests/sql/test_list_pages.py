"""The account, unit and jurisdiction lists as keyset pages, through the service, on every store.

Each is a short list the store returns whole and the service pages over its sorted rows: a walk
yields each row once and in order although rows are added between pages, the total counts the
whole list, and a forged or foreign cursor is ``input.invalid`` (field ``cursor``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qiandao import SHANGHAI, Actor, Page, Qiandao, QiandaoError, Role
from qiandao.lanes import LanePosition
from qiandao.paging import EPOCH, MAX_PAGE, encode_position, page_of, page_start, sequence_id
from qiandao.ports.store import Store
from qiandao.testing import ManualClock, enrol
from qiandao_adapters.argon2_hasher import Argon2Hasher
from qiandao_adapters.delivery import RecordingDelivery

ZS, DH = "zhoushan", "zhoushan.dinghai"
NOW = datetime(2025, 6, 2, 9, tzinfo=SHANGHAI)
ADMIN = Actor("admin-1", Role.SYSTEM_ADMIN, ZS)
SECURITY = Actor("security-1", Role.SECURITY_ADMIN, ZS)
AUDITOR = Actor("audit-1", Role.AUDIT_ADMIN, ZS)
EDITOR = Actor("e1", Role.EDITOR, ZS)
MEMBER = Actor("m1", Role.MEMBER, ZS)


@attrs.frozen
class Office:
    qd: Qiandao
    clock: ManualClock


def _office(store: Store) -> Office:
    enrol(store, ADMIN, SECURITY, AUDITOR, EDITOR, MEMBER)
    clock = ManualClock(NOW)
    qd = Qiandao(
        store,
        clock=clock,
        audit_key=b"k" * 32,
        hasher=Argon2Hasher.fast(),
        credential_delivery=RecordingDelivery(),
    )
    return Office(qd, clock)


def _walk(
    listing: Callable[..., Page[Any]], size: int, between: Callable[[int], object]
) -> tuple[list[Any], list[int]]:
    """Every row of a list, page by page, calling ``between`` after each full page."""
    rows: list[Any] = []
    totals: list[int] = []
    cursor = None
    for turn in range(1000):
        page = listing(limit=size, cursor=cursor)
        assert len(page.items) <= size
        rows += page.items
        totals.append(page.total)
        if page.next_cursor is None:
            assert turn > 0, "the walk should cross pages"
            return rows, totals
        assert len(page.items) == size
        cursor = page.next_cursor
        between(turn)
    raise AssertionError("the walk did not end")


def _invalid(call: Callable[[], object], field: str = "cursor") -> None:
    with pytest.raises(QiandaoError) as raised:
        call()
    assert (raised.value.code, raised.value.details.get("field")) == ("input.invalid", field)


def test_units_walk_by_id_with_units_added_before_and_after_the_cursor(any_store: Store) -> None:
    office = _office(any_store)
    qd = office.qd
    before = {u.id for u in qd.units(ADMIN, limit=MAX_PAGE).items}
    for n in range(0, 24, 2):
        qd.add_unit(ADMIN, f"u-t{n:02d}", f"单位{n}")
    added: list[str] = []

    def insert(turn: int) -> None:  # one sorts first (never shown), one among the rest
        for unit_id in (f"u-a{turn:02d}", f"u-t{2 * turn + 7:02d}x"):
            qd.add_unit(ADMIN, unit_id, f"新单位{unit_id}")
            added.append(unit_id)

    units, totals = _walk(functools.partial(qd.units, EDITOR), 4, insert)
    ids = [u.id for u in units]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {f"u-t{n:02d}" for n in range(0, 24, 2)} | before <= set(ids)
    start = len(before) + 12
    assert totals == [start + 2 * turn for turn in range(len(totals))]
    assert not {i for i in added if i.startswith("u-a")} & set(ids)
    assert qd.units(EDITOR).total == start + len(added)


def test_unit_history_walks_in_order_while_the_unit_changes(any_store: Store) -> None:
    office = _office(any_store)
    qd = office.qd
    qd.add_unit(ADMIN, "u-x", "单位0")
    for n in range(1, 10):
        qd.rename_unit(ADMIN, "u-x", f"单位{n}")
    names = iter(range(100, 200))
    events, totals = _walk(
        functools.partial(qd.unit_history, ADMIN, "u-x"),
        3,
        lambda _turn: qd.rename_unit(ADMIN, "u-x", f"单位{next(names)}"),
    )
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert totals == [10 + turn for turn in range(len(totals))]
    assert len(events) == totals[-1]  # the renames after the cursor are reached


def test_jurisdictions_walk_by_code_with_one_added_between_pages(any_store: Store) -> None:
    office = _office(any_store)
    qd = office.qd
    first = qd.jurisdictions(MEMBER, limit=MAX_PAGE)
    assert first.total == len(first.items) and first.next_cursor is None
    new = iter(range(100))
    codes, totals = _walk(
        functools.partial(qd.jurisdictions, MEMBER),
        2,
        lambda _turn: qd.add_jurisdiction(ADMIN, f"zhoushan.z{next(new):02d}", "新区", ZS),
    )
    seen = [j.code for j in codes]
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert {j.code for j in first.items} <= set(seen)
    assert totals == [first.total + turn for turn in range(len(totals))]


def test_password_policy_changes_and_account_history_walk_in_order(any_store: Store) -> None:
    office = _office(any_store)
    qd = office.qd
    current = qd.password_policy(ZS)
    tighter = iter(
        attrs.evolve(current, min_length=max(current.min_length, 12), lockout_minutes=60 + n)
        for n in range(100)
    )

    def change(_turn: int = 0) -> None:
        office.clock.advance(minutes=1)
        qd.set_password_policy(SECURITY, ZS, next(tighter))

    for _ in range(7):
        change()
    changes, totals = _walk(functools.partial(qd.password_policy_changes, AUDITOR, ZS), 2, change)
    assert [c.sequence for c in changes] == list(range(1, len(changes) + 1))
    assert totals == [7 + turn for turn in range(len(totals))] and len(changes) == totals[-1]

    roles = iter([Role.EDITOR, Role.DEPUTY, Role.OFFICE_HEAD, Role.SECRETARY_GENERAL, Role.CHAIR])

    def grant(turn: int = 0) -> None:
        if turn > 1:
            return
        proposal = qd.grant_role(ADMIN, MEMBER.account_id, next(roles), ZS)
        qd.approve_grant(SECURITY, proposal.id)

    for _ in range(3):
        grant()
    whole = qd.account_history(AUDITOR, MEMBER.account_id, limit=MAX_PAGE)
    events, totals = _walk(
        functools.partial(qd.account_history, AUDITOR, MEMBER.account_id), 3, grant
    )
    assert [e.sequence for e in events[: whole.total]] == [e.sequence for e in whole.items]
    sequences = [e.sequence for e in events]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    assert totals[0] == whole.total and totals == sorted(totals)
    assert len(events) == totals[-1]


def test_grant_proposals_walk_oldest_first_with_proposals_added(any_store: Store) -> None:
    office = _office(any_store)
    qd = office.qd
    people = [Actor(f"p{n:02d}", Role.MEMBER, ZS) for n in range(30)]
    enrol(any_store, *people)
    waiting = iter(people)

    def propose(_turn: int = 0) -> None:
        office.clock.advance(seconds=30)
        qd.grant_role(ADMIN, next(waiting).account_id, Role.EDITOR, ZS)

    for _ in range(9):
        propose()
    first = [p.id for p in qd.grant_proposals(SECURITY, limit=MAX_PAGE).items]
    proposals, totals = _walk(functools.partial(qd.grant_proposals, SECURITY), 4, propose)
    keys = [(p.proposed_at, p.id) for p in proposals]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert [p.id for p in proposals[:9]] == first
    assert totals == [9 + turn for turn in range(len(totals))] and len(proposals) == totals[-1]
    # the filter is part of the listing: an approved proposal leaves the pending list
    qd.approve_grant(SECURITY, first[0])
    assert qd.grant_proposals(SECURITY).total == totals[-1] - 1
    assert qd.grant_proposals(SECURITY, state="approved").total == 1


def test_foreign_and_forged_cursors_of_these_lists_are_refused(any_store: Store) -> None:
    office = _office(any_store)
    qd = office.qd
    for n in range(5):
        qd.add_unit(ADMIN, f"u-{n}", f"单位{n}")
        qd.add_unit(ADMIN, f"u-dh{n}", f"区单位{n}", DH)
    units = qd.units(EDITOR, limit=2).next_cursor
    places = qd.jurisdictions(MEMBER, limit=1).next_cursor
    assert units is not None and places is not None
    _invalid(lambda: qd.jurisdictions(MEMBER, cursor=units))  # another list's
    _invalid(lambda: qd.units(MEMBER, cursor=units))  # another person's
    _invalid(lambda: qd.units(ADMIN, DH, cursor=qd.units(ADMIN, limit=2).next_cursor))
    _invalid(lambda: qd.unit_history(ADMIN, "u-1", cursor=units))
    _invalid(lambda: qd.account_history(AUDITOR, MEMBER.account_id, cursor=places))
    _invalid(lambda: qd.password_policy_changes(AUDITOR, ZS, cursor=places))
    _invalid(lambda: qd.grant_proposals(SECURITY, cursor=places))
    for bad in ("", "x" * 1001, "not base64 ☃", units[:-3], units + "AAAA"):
        _invalid(functools.partial(qd.units, EDITOR, cursor=bad))
    _invalid(functools.partial(qd.units, EDITOR, cursor=7))  # type: ignore[arg-type]
    _invalid(lambda: qd.jurisdictions(MEMBER, limit=0), "limit")
    _invalid(lambda: qd.units(EDITOR, limit=MAX_PAGE + 1), "limit")
    # a well-formed cursor grants nothing: the county's units stay out of the city's list
    forged = encode_position("units:zhoushan", EDITOR.account_id, LanePosition(0, EPOCH, "a", "a"))
    page = qd.units(EDITOR, cursor=forged)
    assert {u.jurisdiction for u in page.items} == {ZS}
    assert page.total == qd.units(EDITOR).total
    assert all(not u.id.startswith("u-dh") for u in page.items)


@given(
    st.lists(st.integers(0, 50), unique=True, max_size=30),
    st.integers(1, 7),
    st.lists(st.integers(0, 50), max_size=5),
)
def test_a_service_page_walk_yields_each_row_once_in_order(
    keys: list[int], size: int, inserted: list[int]
) -> None:
    """The rule of ``page_of``: with rows added between pages, each row is seen at most once,
    in order; every row there from the start is seen; each total counts the whole list."""
    rows = [sequence_id(k) for k in keys]
    extra = iter(sequence_id(k) for k in inserted)

    def position(row: str) -> LanePosition:
        return LanePosition(0, EPOCH, row, row)

    def listing(limit: int, cursor: str | None) -> Page[str]:
        after = page_start(limit, cursor, "rule", "s")
        return page_of(list(dict.fromkeys(rows)), position, limit, after, "rule", "s")

    def insert(_turn: int) -> None:
        rows.append(next(extra, rows[0]))

    if not rows:
        assert listing(size, None) == Page((), 0, None)
        return
    first = sorted(rows)
    if len(first) <= size:
        assert listing(size, None) == Page(tuple(first), len(first), None)
        return
    seen, totals = _walk(listing, size, insert)
    assert seen == sorted(seen) and len(set(seen)) == len(seen) and set(first) <= set(seen)
    assert totals == sorted(totals) and totals[-1] == len(set(rows))
