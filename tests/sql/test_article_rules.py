"""Issue-8 rules of 第二、五、七、九条 through the service, on the memory store and every SQL store.

The channel follows the submitter and is never free input; drafts and withdrawn items are their
authors' alone; 退回修改 and resubmission round-trip. Every refusal is coded and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from qiandao import SHANGHAI, Actor, Channel, Qiandao, QiandaoError, Role
from qiandao.ports.store import ItemQuery, Store
from qiandao.rules.lifecycle import ItemState
from qiandao.testing import ManualClock, enrol

J = "zhoushan"
AUTHORS = {
    Role.MEMBER: (Actor("m1", Role.MEMBER, J), Channel.MEMBER),
    Role.INFO_OFFICER: (Actor("o1", Role.INFO_OFFICER, J), Channel.INFO_OFFICER),
    Role.CONTACT_POINT: (Actor("c1", Role.CONTACT_POINT, J), Channel.CONTACT_POINT),
    Role.ORGANISATION: (Actor("g1", Role.ORGANISATION, J), Channel.COLLECTIVE),
}
MEMBER = AUTHORS[Role.MEMBER][0]
EDITOR = Actor("e1", Role.EDITOR, J)
DEPUTY = Actor("d1", Role.DEPUTY, J)
CHAIR = Actor("ch1", Role.CHAIR, J)
PAYLOAD = {"title": "关于海岛交通的建议", "body": "正文", "category": "hot_issue"}


def service(store: Store, *others: Actor) -> Qiandao:
    """A service over ``store`` whose people (this module's and ``others``) have accounts."""
    enrol(store, *(a for a, _ in AUTHORS.values()), EDITOR, DEPUTY, CHAIR, *others)
    return Qiandao(store, clock=ManualClock(datetime(2026, 11, 2, 9, tzinfo=SHANGHAI)), hasher=None)


def snapshot(qd: Qiandao) -> tuple[object, ...]:
    """Everything a refused command must leave alone: items, their events, the outbox."""
    with qd.store.unit_of_work() as uow:
        items = uow.items.find(ItemQuery())
        events = [uow.events.for_item(i.id) for i in items]
        return (items, events, uow.outbox.pending(1000))


def refused(
    qd: Qiandao, code: str, call: Callable[..., object], *args: Any, **kw: Any
) -> QiandaoError:
    """``call(*args, **kw)`` fails with ``code`` and leaves the store as it was."""
    before = snapshot(qd)
    with pytest.raises(QiandaoError) as caught:
        call(*args, **kw)
    assert caught.value.code == code, caught.value
    assert snapshot(qd) == before, "a refused call changed the store"
    return caught.value


def test_the_channel_follows_the_submitter_and_the_bulletin_counts_it(any_store: Store) -> None:
    qd = service(any_store)
    for actor, channel in AUTHORS.values():
        item = qd.submit_new(actor, PAYLOAD)
        assert item.channel is channel
        assert qd.item_detail(actor, item.id).id == item.id
        with qd.store.unit_of_work() as uow:
            assert uow.items.get(item.id).channel is channel  # kept by the store
    counted = {
        line.key: line.submitted for line in qd.quarterly_bulletin(EDITOR, 2026, 4).by_channel
    }
    assert counted == {channel.value: 1 for _, channel in AUTHORS.values()}


@pytest.mark.parametrize("channel", ["info_officer", "meeting", "daily_work", "commission"])
def test_a_member_naming_another_channel_is_refused(any_store: Store, channel: str) -> None:
    qd = service(any_store)
    for submit in (qd.draft, qd.submit_new):
        error = refused(
            qd, "input.channel_mismatch", submit, MEMBER, {**PAYLOAD, "channel": channel}
        )
        assert error.details["field"] == "channel" and error.article == "第七条"
    assert qd.submit_new(MEMBER, {**PAYLOAD, "channel": "member"}).channel is Channel.MEMBER


@pytest.mark.parametrize("role", [Role.EDITOR, Role.DEPUTY, Role.CHAIR, Role.HANDLING_UNIT])
def test_roles_that_never_submit_are_refused_permission(any_store: Store, role: Role) -> None:
    actor = Actor("x1", role, J, "u-a" if role is Role.HANDLING_UNIT else None)
    qd = service(any_store, actor)
    for submit in (qd.draft, qd.submit_new):
        refused(qd, "permission.denied", submit, actor, PAYLOAD)


def test_drafts_and_withdrawn_items_are_their_authors_alone(any_store: Store) -> None:
    qd = service(any_store)
    draft = qd.draft(MEMBER, PAYLOAD)
    withdrawn = qd.withdraw(MEMBER, qd.draft(MEMBER, PAYLOAD).id)
    assert withdrawn.state is ItemState.WITHDRAWN
    for item in (draft, withdrawn):
        assert qd.item_detail(MEMBER, item.id).body == "正文"
        for office in (EDITOR, DEPUTY, CHAIR):
            refused(qd, "not_found", qd.item_detail, office, item.id)
        refused(qd, "not_found", qd.reclassify, EDITOR, item.id, True, "涉密")
        refused(
            qd,
            "not_found",
            qd.pass_preliminary,
            EDITOR,
            item.id,
            destinations=["forward_to_departments"],
        )
    submitted = qd.submit_new(MEMBER, PAYLOAD)
    refused(qd, "not_found", qd.merge, EDITOR, submitted.id, draft.id)
    assert qd.item_detail(EDITOR, submitted.id).id == submitted.id  # once submitted, it is seen


def test_return_for_revision_and_resubmission(any_store: Store) -> None:
    qd = service(any_store)
    item = qd.submit_new(MEMBER, PAYLOAD)
    returned = qd.return_for_revision(EDITOR, item.id, "请补充数据")
    assert returned.state is ItemState.RETURNED
    assert qd.item_detail(EDITOR, item.id).state is ItemState.RETURNED  # the office still sees it
    refused(qd, "permission.denied", qd.resubmit, AUTHORS[Role.INFO_OFFICER][0], item.id)
    again = qd.resubmit(MEMBER, item.id, body="正文，补充了数据")
    assert (again.state, again.body, len(again.texts)) == (
        ItemState.SUBMITTED,
        "正文，补充了数据",
        2,
    )
    assert [r.decision.value for r in again.reviews] == ["returned"]
    passed = qd.pass_preliminary(EDITOR, item.id, destinations=["forward_to_departments"])
    assert passed.state is ItemState.IN_REVIEW
