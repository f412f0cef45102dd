"""Closing, feedback (第十一条), publication and secrecy (第十四条), reporting up, commissions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest

from qiandao.events import EventKind
from qiandao.model import Account, Channel, FeedbackKind, RoleGrant
from qiandao.rules.lifecycle import ItemState
from qiandao.rules.points import AdoptionLevel, LeaderRank
from qiandao.rules.roles import Role
from tests.helpers import DH, ZS, World, at, fails, make_world, refused


@pytest.fixture
def w() -> World:
    return make_world()


# --- close --------------------------------------------------------------------------------


def test_close_an_issued_item(w: World) -> None:
    item = w.issued()
    w.clock.set(at(2026, 3, 5))
    item = w.qd.close(w.editor, item.id)
    assert item.state is ItemState.CLOSED
    assert item.closed_at == at(2026, 3, 5)
    assert item.published  # closed items stay adopted
    assert w.notifier.sent[-1].kind == "closed"


def test_close_a_replied_item(w: World) -> None:
    item, (a,) = w.accepted()
    w.qd.reply(w.unit("u-a"), item.id, a.id, "答复。")
    w.qd.rate(w.member, item.id, a.id, "满意")  # closing waits for the rating (第十二条)
    assert w.qd.close(w.editor, item.id).state is ItemState.CLOSED


def test_close_refusals(w: World) -> None:
    item, _ = w.assigned()
    qd = w.qd
    refused(w, item.id, "state.invalid_transition", lambda: qd.close(w.editor, item.id))
    refused(w, item.id, "permission.denied", lambda: qd.close(w.member, item.id))
    refused(w, item.id, "permission.jurisdiction", lambda: qd.close(w.county["editor"], item.id))


# --- feedback -----------------------------------------------------------------------------


def test_record_adoption_instruction_and_implementation(w: World) -> None:
    item = w.issued()
    w.clock.set(at(2026, 4, 1))
    qd = w.qd
    qd.record_adoption(w.editor, item.id, AdoptionLevel.PROVINCIAL_CPPCC, date(2026, 3, 30))
    qd.record_instruction(
        w.editor,
        item.id,
        "张某某",
        "city_principal_leader",
        date(2026, 3, 31),
        "请市人力社保局研究。",
    )
    item = qd.record_implementation(w.editor, item.id, date(2026, 4, 1), "已出台补充办法。")
    adoption, instruction, implementation = item.feedback
    assert (adoption.kind, adoption.level, adoption.on) == (
        FeedbackKind.ADOPTION,
        AdoptionLevel.PROVINCIAL_CPPCC,
        date(2026, 3, 30),
    )
    assert (adoption.recorded_by, adoption.at) == ("e1", at(2026, 4, 1))
    assert (instruction.leader, instruction.rank, instruction.text) == (
        "张某某",
        LeaderRank.CITY_PRINCIPAL_LEADER,
        "请市人力社保局研究。",
    )
    assert implementation.kind is FeedbackKind.IMPLEMENTATION
    assert item.state is ItemState.ISSUED
    assert [e.kind for e in w.events(item.id)][-3:] == [EventKind.FEEDBACK_RECORDED] * 3
    assert set(w.notifier.sent[-1].recipients) == {"m1", "m2"}


def test_feedback_may_be_recorded_after_closing(w: World) -> None:
    item = w.issued()
    w.qd.close(w.editor, item.id)
    item = w.qd.record_adoption(w.editor, item.id, "national_cppcc", date(2026, 3, 2))
    assert item.state is ItemState.CLOSED
    assert item.feedback[0].level is AdoptionLevel.NATIONAL_CPPCC


def test_feedback_refusals(w: World) -> None:
    item = w.issued()
    qd, e = w.qd, w.editor
    today = date(2026, 3, 2)
    cases = [
        ("permission.denied", lambda: qd.record_adoption(w.member, item.id, "city_cppcc", today)),
        (
            "permission.jurisdiction",
            lambda: qd.record_adoption(w.county["editor"], item.id, "city_cppcc", today),
        ),
        ("input.invalid", lambda: qd.record_adoption(e, item.id, "city_cppcc", date(2026, 3, 3))),
        ("input.invalid", lambda: qd.record_adoption(e, item.id, "city_cppcc", at(2026, 3, 2))),
        ("input.invalid", lambda: qd.record_adoption(e, item.id, "nowhere", today)),
        (
            "input.invalid",
            lambda: qd.record_instruction(e, item.id, "", "city_leader", today, "批示"),
        ),
        (
            "input.invalid",
            lambda: qd.record_instruction(e, item.id, "张", "city_leader", today, " "),
        ),
        (
            "input.too_large",
            lambda: qd.record_instruction(e, item.id, "张", "city_leader", today, "字" * 20_001),
        ),
        ("input.invalid", lambda: qd.record_implementation(e, item.id, today, "")),
    ]
    for code, call in cases:
        refused(w, item.id, code, call)


def test_one_adoption_record_per_level(w: World) -> None:
    item = w.issued()
    w.qd.record_adoption(w.editor, item.id, "city_party_government", date(2026, 3, 2))
    refused(
        w,
        item.id,
        "input.invalid",
        lambda: w.qd.record_adoption(w.editor, item.id, "city_party_government", date(2026, 3, 2)),
    )


def test_feedback_needs_an_adopted_item(w: World) -> None:
    item = w.qd.submit_new(w.member, {"title": "标题", "body": "正文", "category": "hot_issue"})
    refused(
        w,
        item.id,
        "state.invalid_transition",
        lambda: w.qd.record_implementation(w.editor, item.id, date(2026, 3, 2), "落实"),
    )


# --- publication and secrecy --------------------------------------------------------------


def test_any_author_may_opt_out_and_back_in(w: World) -> None:
    item = w.issued()
    assert item.published
    item = w.qd.set_publication_consent(w.coauthor, item.id, False)
    assert item.opted_out == frozenset({"m2"})
    assert not item.published
    version = item.version
    item = w.qd.set_publication_consent(w.coauthor, item.id, False)  # already so: no event
    assert item.version == version
    item = w.qd.set_publication_consent(w.coauthor, item.id, True)
    assert item.published
    kinds = [e.kind for e in w.events(item.id)]
    assert kinds.count(EventKind.PUBLICATION_CONSENT_SET) == 2


def test_publication_consent_refusals(w: World) -> None:
    item = w.issued()
    qd = w.qd
    refused(
        w,
        item.id,
        "permission.denied",
        lambda: qd.set_publication_consent(w.stranger, item.id, False),
    )
    refused(
        w,
        item.id,
        "permission.denied",
        lambda: qd.set_publication_consent(w.editor, item.id, False),
    )
    not_a_bool: Any = "no"
    refused(
        w,
        item.id,
        "input.invalid",
        lambda: qd.set_publication_consent(w.member, item.id, not_a_bool),
    )


def test_reclassify_hides_and_restores_publication(w: World) -> None:
    item = w.issued()
    item = w.qd.reclassify(w.editor, item.id, True, "涉及未公开的规划信息")
    assert item.secret and not item.published
    assert w.events(item.id)[-1].change.note == "涉及未公开的规划信息"
    item = w.qd.reclassify(w.editor, item.id, False, "规划已公布")
    assert item.published


def test_reclassify_refusals(w: World) -> None:
    item = w.issued()
    qd = w.qd
    refused(w, item.id, "reason.required", lambda: qd.reclassify(w.editor, item.id, True, ""))
    refused(w, item.id, "permission.denied", lambda: qd.reclassify(w.member, item.id, True, "理由"))
    refused(
        w,
        item.id,
        "permission.jurisdiction",
        lambda: qd.reclassify(w.county["editor"], item.id, True, "理由"),
    )


# --- reporting up -------------------------------------------------------------------------


def test_county_reports_an_adopted_item_up_to_the_city(w: World) -> None:
    county = w.issued(w.county, urgent=True)
    w.clock.set(at(2026, 3, 3))
    linked = w.qd.report_up(w.county["editor"], county.id)
    assert linked.id == county.id and linked.reported_as is not None
    city = w.load(linked.reported_as)
    assert city.channel is Channel.COLLECTIVE  # a county reports by 集体报送
    assert city.jurisdiction == ZS
    assert city.state is ItemState.SUBMITTED
    assert city.reported_from == county.id
    assert city.authors == county.authors
    assert city.lead_author_id == county.lead_author_id
    assert (city.title, city.body) == (county.title, county.body)
    assert len(city.texts) == 1 and city.reviews == () and city.destinations == frozenset()
    assert city.urgent and city.submitted_at == at(2026, 3, 3)
    source = w.load(county.id)
    assert source.reported_as == city.id
    assert source.state is ItemState.ISSUED
    assert [e.kind for e in w.events(city.id)] == [EventKind.DRAFTED, EventKind.SUBMITTED]
    assert w.events(county.id)[-1].kind is EventKind.REPORTED_UP
    assert w.notifier.sent[-1].recipients == ("role:editor@zhoushan",)
    # the city reviews it like any other submission
    passed = w.qd.pass_preliminary(w.editor, city.id, destinations=["forward_to_departments"])
    assert passed.state is ItemState.IN_REVIEW


def test_report_up_refusals(w: World) -> None:
    county = w.issued(w.county)
    qd, ce = w.qd, w.county["editor"]
    refused(w, county.id, "permission.denied", lambda: qd.report_up(w.county["member"], county.id))
    refused(w, county.id, "permission.jurisdiction", lambda: qd.report_up(w.editor, county.id))
    refused(w, county.id, "input.invalid", lambda: qd.report_up(ce, county.id, DH))
    refused(w, county.id, "input.invalid", lambda: qd.report_up(ce, county.id, "hangzhou"))
    qd.report_up(ce, county.id)
    refused(w, county.id, "state.invalid_transition", lambda: qd.report_up(ce, county.id))


def test_only_adopted_items_are_reported_and_not_to_their_own_level(w: World) -> None:
    draft = w.qd.submit_new(
        w.county["member"], {"title": "标题", "body": "正文", "category": "hot_issue"}
    )
    refused(
        w,
        draft.id,
        "state.invalid_transition",
        lambda: w.qd.report_up(w.county["editor"], draft.id),
    )
    city = w.issued()
    refused(w, city.id, "input.invalid", lambda: w.qd.report_up(w.editor, city.id))


# --- commissions --------------------------------------------------------------------------


def add_account(w: World, account_id: str, role: Role = Role.MEMBER, j: str = ZS) -> None:
    with w.store.unit_of_work() as uow:
        uow.accounts.add(
            Account(account_id, 1, account_id, (RoleGrant(role, j),), j, w.clock.now())
        )
        uow.commit()


def test_commission_progress(w: World) -> None:
    add_account(w, "cp1", Role.CONTACT_POINT)
    c = w.qd.create_commission(w.editor, "海岛养老服务调研", ["m1", "cp1", "m1"], date(2026, 3, 31))
    assert c.invitee_ids == ("m1", "cp1")
    assert c.jurisdiction == ZS and c.created_by == "e1"
    invited = [n for n in w.notifier.sent if n.kind == "commission_created"]
    assert invited and invited[0].recipients == ("m1", "cp1")
    data = {"title": "养老", "body": "正文", "category": "hot_issue", "channel": "commission"}
    first = w.qd.submit_new(w.member, {**data, "commission_id": c.id})
    w.qd.draft(w.member, {**data, "commission_id": c.id})  # a draft is not yet submitted
    refused(  # 第七条: only invitees answer a commission; nothing is created
        w,
        first.id,
        "permission.denied",
        lambda: w.qd.submit_new(w.stranger, {**data, "commission_id": c.id}),
    )
    w.qd.pass_preliminary(w.editor, first.id, destinations=["forward_to_departments"])
    w.qd.approve(w.deputy, first.id)
    w.qd.sign(w.head, first.id)
    progress = w.qd.commission_progress(w.deputy, c.id)
    assert [(p.invitee_id, p.submitted, p.adopted) for p in progress.invitees] == [
        ("m1", 1, 1),
        ("cp1", 0, 0),
    ]
    assert (progress.submitted, progress.adopted) == (1, 1)
    assert w.qd.my_items(w.stranger).items == ()
    assert progress.outstanding == ("cp1",)
    assert not progress.overdue
    w.clock.set(at(2026, 4, 1))
    assert w.qd.commission_progress(w.editor, c.id).overdue


def test_commission_refusals(w: World) -> None:
    add_account(w, "dh-x", j=DH)
    due = date(2026, 3, 31)
    qd = w.qd
    cases: list[tuple[str, Callable[[], object]]] = [
        ("permission.denied", lambda: qd.create_commission(w.member, "主题", ["m1"], due)),
        ("permission.denied", lambda: qd.create_commission(w.deputy, "主题", ["m1"], due)),
        ("not_found", lambda: qd.create_commission(w.editor, "主题", ["ghost"], due)),
        ("not_found", lambda: qd.create_commission(w.editor, "主题", ["dh-x"], due)),
        ("input.invalid", lambda: qd.create_commission(w.editor, "主题", ["e1"], due)),
        ("input.invalid", lambda: qd.create_commission(w.editor, "主题", [], due)),
        ("input.invalid", lambda: qd.create_commission(w.editor, "主题", "m1", due)),
        ("input.invalid", lambda: qd.create_commission(w.editor, " ", ["m1"], due)),
        ("input.too_large", lambda: qd.create_commission(w.editor, "题" * 201, ["m1"], due)),
        ("input.invalid", lambda: qd.create_commission(w.editor, "主题", ["m1"], date(2026, 3, 1))),
        (
            "input.invalid",
            lambda: qd.create_commission(w.editor, "主题", ["m1"], datetime(2026, 3, 31)),
        ),
    ]
    for code, call in cases:
        fails(code, call)
    with w.store.unit_of_work() as uow:
        assert uow.commissions.list() == []


def test_commission_progress_refusals(w: World) -> None:
    c = w.qd.create_commission(w.editor, "主题", ["m1"], date(2026, 3, 31))
    fails("permission.jurisdiction", lambda: w.qd.commission_progress(w.county["editor"], c.id))
    fails("permission.denied", lambda: w.qd.commission_progress(w.member, c.id))
    fails("not_found", lambda: w.qd.commission_progress(w.editor, "nope"))
