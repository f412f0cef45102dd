"""The change feed on every store: commands committing from threads while a follower pages
through ``events_since`` (every event once, in order), and the visibility cuts on SQL."""

from __future__ import annotations

import pytest

from qiandao import Access, Actor, EventKind, FeedEntry, Role
from qiandao.ports.store import Store
from qiandao.testing import enrol
from qiandao.testing._support import run_threads_while_polling
from tests.helpers import ZS, World, make_world

INTEGRATION = Actor("int-zs", Role.INTEGRATION, ZS)
WRITERS = 4
PER_WRITER = 5


@pytest.fixture
def w(any_store: Store) -> World:
    world = make_world(store=any_store)
    enrol(world.store, INTEGRATION)
    return world


def _follow(w: World, actor: Actor, cursor: str | None = None) -> tuple[list[FeedEntry], str]:
    found: list[FeedEntry] = []
    while True:
        page = w.qd.events_since(actor, cursor, 3)
        found += page.items
        cursor = page.next_cursor
        if page.caught_up:
            return found, cursor


def test_a_follower_sees_every_committed_command_once_in_order(w: World) -> None:
    """Members submit from threads while a data centre follows the feed, three at a time: it
    sees every event of every submission exactly once, in position order, none skipped."""
    members = [Actor(f"mw{n}", Role.MEMBER, ZS) for n in range(WRITERS)]
    enrol(w.store, *members)
    errors: list[BaseException] = []
    seen: list[FeedEntry] = []

    def writer(index: int) -> None:
        try:
            for n in range(PER_WRITER):
                draft = {"title": f"建议{index}-{n}", "body": "正文", "category": "hot_issue"}
                w.qd.submit_new(members[index], draft)
        except BaseException as exc:  # reported below
            errors.append(exc)

    cursor = None

    def follow(finished: bool) -> bool:
        nonlocal cursor
        page = w.qd.events_since(INTEGRATION, cursor, 3)
        seen.extend(page.items)
        cursor = page.next_cursor
        return finished and page.caught_up

    run_threads_while_polling(writer, WRITERS, follow)
    assert errors == []
    whole, _ = _follow(w, w.editor)
    assert len(whole) == WRITERS * PER_WRITER * 2  # drafted and submitted, each
    assert [(e.position, e.item_id, e.sequence) for e in seen] == [
        (e.position, e.item_id, e.sequence) for e in whole
    ]
    positions = [e.position for e in seen]
    assert positions == sorted(set(positions))


def test_the_cuts_hold_on_every_store(w: World) -> None:
    item, (a, b) = w.assigned(("u-a", True), "u-b")
    w.qd.accept(w.unit("u-a"), item.id, a.id)
    unit, cursor = _follow(w, w.unit("u-a"))
    assert [e.kind for e in unit] == [EventKind.ASSIGNED, EventKind.ACCEPTED]
    assert all(e.change.assignment is not None and e.change.assignment.id == a.id for e in unit)
    stranger, _ = _follow(w, w.stranger)
    assert [(e.kind, e.access) for e in stranger] == [(EventKind.SIGNED, Access.PUBLISHED)]
    office, _ = _follow(w, INTEGRATION)
    assert {e.access for e in office} == {Access.FULL}
    w.qd.reclassify(w.editor, item.id, True, "涉密")
    assert _follow(w, INTEGRATION)[0] == []  # the item is 涉密 now: none of its events
    assert _follow(w, w.stranger)[0] == []
    after, _ = _follow(w, w.unit("u-a"), cursor)  # the assigned unit still reads its own
    assert [e.kind for e in after] == []  # a reclassification is not an assignment event
    assert b.unit_id == "u-b"
