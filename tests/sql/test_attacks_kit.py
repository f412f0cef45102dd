"""Adversarial review of the embedding kit on every store (memory, SQLite, and the servers when
configured): the change feed judged on the item as it is now, cursors that grant nothing, unit
commands and the outbox's manual retry."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from qiandao import Access, Role
from qiandao._core import Actor
from qiandao.json import to_json
from qiandao.ports.store import Store
from qiandao.testing import enrol
from qiandao.workflow.handling import MAX_UNITS_PER_ASSIGN
from tests.helpers import DH, ZS, World, fails, make_world

ADMIN = Actor("admin-1", Role.SYSTEM_ADMIN, ZS)
DH_ADMIN = Actor("admin-dh", Role.SYSTEM_ADMIN, DH)
INTEGRATION = Actor("int-zs", Role.INTEGRATION, ZS)
INTEGRATION_DH = Actor("int-dh", Role.INTEGRATION, DH)
DRAFT = {"title": "标题", "body": "正文", "category": "hot_issue"}


@pytest.fixture
def w(any_store: Store) -> World:
    world = make_world(store=any_store)
    enrol(world.store, ADMIN, DH_ADMIN, INTEGRATION, INTEGRATION_DH)
    return world


def _shown(w: World, actor: Actor) -> set[str]:
    return {e.item_id for e in w.qd.events_since(actor, None, 500).items}


def test_an_item_made_secret_after_publication_leaves_every_outside_feed(w: World) -> None:
    item = w.issued()
    assert item.id in _shown(w, w.stranger) and item.id in _shown(w, INTEGRATION_DH)
    w.qd.reclassify(w.editor, item.id, True, "涉及敏感信息")
    for reader in (w.stranger, INTEGRATION_DH, w.county["member"], w.unit("u-dh")):
        assert item.id not in _shown(w, reader)
    assert item.id in _shown(w, w.editor)


def test_a_reader_of_another_jurisdiction_sees_only_published_entries(w: World) -> None:
    published = w.issued()
    draft = w.qd.draft(w.member, DRAFT)
    submitted = w.qd.submit_new(w.member, DRAFT)
    page = w.qd.events_since(INTEGRATION_DH, None, 500)
    assert {e.item_id for e in page.items} == {published.id}
    assert all(e.access is Access.PUBLISHED and e.actor_id == "" for e in page.items)
    text = json.dumps(to_json(page), ensure_ascii=False)
    assert draft.id not in text and submitted.id not in text


def test_a_cursor_past_everything_or_at_zero_grants_nothing_new(w: World) -> None:
    w.qd.submit_new(w.member, DRAFT)
    far = w.qd.events_since(w.stranger, "999999999999999999", 500)
    assert far.items == () and far.caught_up
    zero = w.qd.events_since(w.stranger, "0", 500)
    assert zero.items == ()
    fails("input.invalid", lambda: w.qd.events_since(w.stranger, "-1"))
    fails("input.invalid", lambda: w.qd.events_since(w.stranger, "1" * 19))
    fails("input.invalid", lambda: w.qd.events_since(w.stranger, "１２"))  # full-width digits


def test_a_merge_across_jurisdictions_moves_nothing(w: World) -> None:
    item, _ = w.accepted("u-a")
    fails("input.invalid", lambda: w.qd.merge_units(DH_ADMIN, "u-a", "u-dh"))  # u-a: as unknown
    fails("input.invalid", lambda: w.qd.merge_units(ADMIN, "u-a", "u-dh"))
    assert [a.unit_id for a in w.load(item.id).assignments] == ["u-a"]


def test_a_sent_notice_cannot_be_queued_again(w: World) -> None:
    w.issued()
    assert w.notifier.sent
    with w.store.unit_of_work() as uow:
        for notice in w.notifier.sent:
            assert uow.outbox.retry(notice.id, w.clock.now()) is False
            assert uow.outbox.discard(notice.id) is False
        uow.commit()
    with w.store.unit_of_work() as uow:
        assert uow.outbox.pending(1000) == []


def test_an_operator_retry_does_not_free_a_notice_a_worker_is_sending(w: World) -> None:
    """Worker A has claimed a notice and is sending it; the operator runs ``outbox retry`` on
    it: worker B must not claim it before A's lease ends, or the notice goes out twice."""
    w.notifier.failing = True
    w.qd.submit_new(w.member, DRAFT)
    now, lease = w.clock.now() + timedelta(days=1), timedelta(minutes=5)  # past any backoff
    with w.store.unit_of_work() as uow:
        (message,) = uow.outbox.claim(1, now, lease, "worker-a")
        uow.commit()
    with w.store.unit_of_work() as uow:
        assert uow.outbox.retry(message.notice.id, now) is True
        uow.commit()
    with w.store.unit_of_work() as uow:
        assert uow.outbox.claim(10, now, lease, "worker-b") == []
        uow.commit()
    with w.store.unit_of_work() as uow:  # once A's lease has run out, it is due again
        (again,) = uow.outbox.claim(10, now + lease, lease, "worker-b")
        assert again.notice.id == message.notice.id and again.attempts == 0
        uow.commit()


def test_thousands_of_unknown_unit_ids_are_refused_and_change_nothing(w: World) -> None:
    item = w.issued()
    many = [f"x{n}" for n in range(5_000)]
    fails("input.too_large", lambda: w.qd.assign(w.editor, item.id, many))  # before any lookup
    fails("not_found", lambda: w.qd.assign(w.editor, item.id, many[:MAX_UNITS_PER_ASSIGN]))
    assert w.load(item.id).assignments == ()
