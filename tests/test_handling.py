"""Handling (第十条) and rating (第十二条): assignment to rating and re-handling."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import partial

import pytest

from qiandao.events import EventKind, replay
from qiandao.model import ExtensionDecision
from qiandao.rules.deadlines import DeadlineStatus, end_of_day
from qiandao.rules.lifecycle import AssignmentState, ItemState
from qiandao.rules.rating import Rating, RatingRules
from qiandao.rules.ruleset import RuleSet
from tests.helpers import DH, World, at, make_world, refused


@pytest.fixture
def w() -> World:
    return make_world()


def kinds(w: World, item_id: str) -> list[EventKind]:
    return [e.kind for e in w.events(item_id)]


# --- assign -------------------------------------------------------------------------------


def test_assign_creates_pending_assignments_with_deadlines(w: World) -> None:
    item = w.issued()
    item = w.qd.assign(w.editor, item.id, [("u-a", True), "u-b"])
    assert item.state is ItemState.HANDLING
    a, b = item.assignments
    assert (a.unit_id, a.lead, b.unit_id, b.lead) == ("u-a", True, "u-b", False)
    for x in (a, b):
        assert x.state is AssignmentState.PENDING
        assert x.assigned_at == at(2026, 3, 2)
        assert x.due == date(2026, 3, 23)  # 15th working day after Monday 2 March
        assert x.decline_until == date(2026, 3, 5)
        assert x.provisional is False
        assert type(x.due) is date
    assert kinds(w, item.id)[-2:] == [EventKind.ASSIGNED, EventKind.ASSIGNED]
    told = [n for n in w.notifier.sent if n.kind == "assigned"]
    assert sorted(n.recipients for n in told) == [("unit:u-a",), ("unit:u-b",)]


def test_assign_before_national_day_skips_the_holiday_and_counts_the_makeup_day() -> None:
    w = make_world(at(2026, 9, 30, 16))
    item = w.issued()
    item = w.qd.assign(w.editor, item.id, ["u-a"])
    (a,) = item.assignments
    assert a.due == date(2026, 10, 27)  # 1–7 Oct off; Saturday 10 Oct is a working day
    assert a.decline_until == date(2026, 10, 10)


def test_assignment_on_a_saturday_counts_monday_as_day_one() -> None:
    saturday = make_world(at(2026, 3, 7, 10))
    friday = make_world(at(2026, 3, 6, 10))
    due = []
    for w in (saturday, friday):
        item = w.qd.assign(w.editor, w.issued().id, ["u-a"])
        due.append(item.assignments[0].due)
    assert due == [date(2026, 3, 27), date(2026, 3, 27)]


def test_assignment_day_is_the_shanghai_day() -> None:
    # 17:30 UTC on Friday 6 March is 01:30 on Saturday 7 March in Shanghai.
    w = make_world(datetime(2026, 3, 6, 17, 30, tzinfo=UTC))
    item = w.qd.assign(w.editor, w.issued().id, ["u-a"])
    assert item.assignments[0].due == date(2026, 3, 27)


def test_deadline_in_a_year_without_official_schedule_is_provisional() -> None:
    w = make_world(at(2026, 12, 21))
    item = w.qd.assign(w.editor, w.issued().id, ["u-a"])
    (a,) = item.assignments
    assert a.provisional is True
    assert a.due.year == 2027
    assert type(a.due) is date


def test_assign_adds_units_while_handling_and_after_replies(w: World) -> None:
    item, (a,) = w.accepted()
    item = w.qd.assign(w.editor, item.id, ["u-b"])
    assert item.state is ItemState.HANDLING
    item = w.qd.reply(w.unit("u-a"), item.id, a.id, "已研究并答复。")
    assert item.state is ItemState.HANDLING
    assert [x.unit_id for x in item.assignments] == ["u-a"]  # the unit sees only its own
    b = w.load(item.id).assignments[1]
    item = w.qd.accept(w.unit("u-b"), item.id, b.id)
    item = w.qd.reply(w.unit("u-b"), item.id, b.id, "已答复。")
    assert item.state is ItemState.REPLIED
    item = w.qd.assign(w.editor, item.id, ["u-c"])
    assert item.state is ItemState.HANDLING


@pytest.mark.parametrize(
    ("who", "units", "code"),
    [
        ("member", ["u-a"], "permission.denied"),
        ("deputy", ["u-a"], "permission.denied"),
        ("county_editor", ["u-a"], "permission.jurisdiction"),
        # an unknown unit id tells an actor who may not assign nothing: same refusal
        ("member", ["u-missing"], "permission.denied"),
        ("county_editor", ["u-missing"], "permission.jurisdiction"),
        ("editor", ["u-missing"], "not_found"),
        ("editor", ["u-dh"], "not_found"),  # a unit of another jurisdiction
        ("editor", ["u-old"], "input.invalid"),  # no longer active
        ("editor", [("u-a", True), ("u-b", True)], "input.invalid"),  # two leads
        ("editor", ["u-a", "u-a"], "input.invalid"),
        ("editor", [], "input.invalid"),
        ("editor", "u-a", "input.invalid"),
        ("editor", [("u-a", "yes")], "input.invalid"),
    ],
)
def test_assign_refusals(w: World, who: str, units: object, code: str) -> None:
    item = w.issued()
    actor = w.county["editor"] if who == "county_editor" else getattr(w, who)
    refused(w, item.id, code, lambda: w.qd.assign(actor, item.id, units))  # type: ignore[arg-type]


def test_assign_refuses_items_not_yet_issued(w: World) -> None:
    item = w.qd.submit_new(w.member, {"title": "标题", "body": "正文", "category": "hot_issue"})
    refused(w, item.id, "state.invalid_transition", lambda: w.qd.assign(w.editor, item.id, ["u-a"]))


def test_assign_refuses_a_unit_already_handling_and_a_second_lead(w: World) -> None:
    item, _ = w.assigned(("u-a", True))
    refused(w, item.id, "input.invalid", lambda: w.qd.assign(w.editor, item.id, ["u-a"]))
    refused(w, item.id, "input.invalid", lambda: w.qd.assign(w.editor, item.id, [("u-b", True)]))
    item = w.qd.assign(w.editor, item.id, [("u-b", False)])
    assert len(item.open_assignments) == 2


# --- accept and decline -------------------------------------------------------------------


def test_accept(w: World) -> None:
    item, (a,) = w.assigned()
    item = w.qd.accept(w.unit("u-a"), item.id, a.id)
    assert item.assignments[0].state is AssignmentState.ACCEPTED
    assert item.assignments[0].due == a.due  # the clock runs from assignment
    assert kinds(w, item.id)[-1] is EventKind.ACCEPTED


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("u-b", "not_found"),  # another unit does not see the assignment
        ("member", "permission.denied"),
        ("editor", "permission.denied"),
    ],
)
def test_accept_refusals(w: World, who: str, code: str) -> None:
    item, (a,) = w.assigned()
    actor = w.units[who] if who in w.units else getattr(w, who)
    refused(w, item.id, code, lambda: w.qd.accept(actor, item.id, a.id))


def test_accept_twice_and_unknown_assignment(w: World) -> None:
    item, (a,) = w.accepted()
    ua = w.unit("u-a")
    refused(w, item.id, "state.invalid_transition", lambda: w.qd.accept(ua, item.id, a.id))
    refused(w, item.id, "not_found", lambda: w.qd.accept(ua, item.id, "nope"))


def test_decline_with_reason_tells_the_office(w: World) -> None:
    item, (a,) = w.assigned()
    item = w.qd.decline(w.unit("u-a"), item.id, a.id, "  不属于本单位职责范围。 ")
    (d,) = item.assignments
    assert d.state is AssignmentState.DECLINED
    assert d.decline_reason == "不属于本单位职责范围。"
    assert w.notifier.sent[-1].kind == "declined"
    assert w.notifier.sent[-1].recipients == ("role:editor@zhoushan",)


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_decline_needs_a_reason(w: World, reason: str | None) -> None:
    item, (a,) = w.assigned()
    err = refused(
        w,
        item.id,
        "reason.required",
        lambda: w.qd.decline(w.unit("u-a"), item.id, a.id, reason),  # type: ignore[arg-type]
    )
    assert err.article == "第十条"


def test_decline_reason_is_bounded(w: World) -> None:
    item, (a,) = w.assigned()
    long = "理" * 2001
    refused(w, item.id, "input.too_large", lambda: w.qd.decline(w.unit("u-a"), item.id, a.id, long))


def test_decline_window_counts_working_days_over_national_day() -> None:
    w = make_world(at(2026, 9, 30, 16))
    item = w.qd.assign(w.editor, w.issued().id, ["u-a", "u-b"])
    a, b = item.assignments
    w.clock.set(at(2026, 10, 10, 17))  # the 调休 Saturday is the third working day
    item = w.qd.decline(w.unit("u-a"), item.id, a.id, "非本单位职责")
    assert item.assignment(a.id).state is AssignmentState.DECLINED  # type: ignore[union-attr]
    w.clock.set(at(2026, 10, 12, 9))
    refused(
        w,
        item.id,
        "deadline.passed",
        lambda: w.qd.decline(w.unit("u-b"), item.id, b.id, "非本单位职责"),
    )


def test_decline_after_accepting_is_refused(w: World) -> None:
    item, (a,) = w.accepted()
    refused(
        w,
        item.id,
        "state.invalid_transition",
        lambda: w.qd.decline(w.unit("u-a"), item.id, a.id, "理由"),
    )


# --- reassign, overrule, cancel -----------------------------------------------------------


def declined(w: World) -> tuple[str, str]:
    item, (a,) = w.assigned(("u-a", True))
    w.qd.decline(w.unit("u-a"), item.id, a.id, "非本单位职责")
    return item.id, a.id


def test_reassign_moves_to_another_unit_with_a_fresh_deadline(w: World) -> None:
    item_id, a_id = declined(w)
    w.clock.set(at(2026, 3, 4, 10))
    item = w.qd.reassign(w.editor, item_id, a_id, "u-b")
    old, new = item.assignments
    assert old.state is AssignmentState.REASSIGNED
    assert old.reassigned_to == new.id
    assert (new.unit_id, new.state, new.lead) == ("u-b", AssignmentState.PENDING, True)
    assert new.assigned_at == at(2026, 3, 4, 10)
    assert new.due == date(2026, 3, 25)
    assert kinds(w, item_id)[-2:] == [EventKind.REASSIGNED, EventKind.ASSIGNED]
    assert [n.recipients for n in w.notifier.sent if n.kind == "assigned"][-1] == ("unit:u-b",)
    assert item.state is ItemState.HANDLING


def test_reassign_can_set_the_lead_flag(w: World) -> None:
    item_id, a_id = declined(w)
    item = w.qd.reassign(w.editor, item_id, a_id, "u-b", lead=False)
    assert item.assignments[1].lead is False


@pytest.mark.parametrize(
    ("unit_id", "code"),
    [
        ("u-a", "input.invalid"),  # the unit that declined
        ("u-missing", "not_found"),
        ("u-dh", "not_found"),
        ("", "input.invalid"),
    ],
)
def test_reassign_refusals(w: World, unit_id: str, code: str) -> None:
    item_id, a_id = declined(w)
    refused(w, item_id, code, lambda: w.qd.reassign(w.editor, item_id, a_id, unit_id))


def test_reassign_refuses_a_busy_unit_wrong_role_state_and_jurisdiction(w: World) -> None:
    item, (a, b) = w.assigned("u-a", "u-b")
    qd = w.qd
    refused(
        w, item.id, "state.invalid_transition", lambda: qd.reassign(w.editor, item.id, a.id, "u-c")
    )
    qd.decline(w.unit("u-a"), item.id, a.id, "非本单位职责")
    refused(w, item.id, "input.invalid", lambda: qd.reassign(w.editor, item.id, a.id, "u-b"))
    refused(
        w, item.id, "permission.denied", lambda: qd.reassign(w.unit("u-a"), item.id, a.id, "u-c")
    )
    refused(
        w,
        item.id,
        "permission.jurisdiction",
        lambda: qd.reassign(w.county["editor"], item.id, a.id, "u-c"),
    )
    assert b.state is AssignmentState.PENDING


def test_overrule_keeps_the_original_deadline(w: World) -> None:
    item_id, a_id = declined(w)
    before = w.load(item_id).assignments[0]
    w.clock.set(at(2026, 3, 10))
    item = w.qd.overrule(w.editor, item_id, a_id, "属于贵单位职责，请办理")
    (a,) = item.assignments
    assert a.state is AssignmentState.ACCEPTED
    assert a.due == before.due == date(2026, 3, 23)
    assert w.notifier.sent[-1].kind == "overruled"
    assert w.notifier.sent[-1].recipients == ("unit:u-a",)


def test_overrule_refusals(w: World) -> None:
    item_id, a_id = declined(w)
    qd = w.qd
    refused(w, item_id, "reason.required", lambda: qd.overrule(w.editor, item_id, a_id, ""))
    refused(
        w, item_id, "permission.denied", lambda: qd.overrule(w.unit("u-a"), item_id, a_id, "理由")
    )
    qd.overrule(w.editor, item_id, a_id, "理由")
    refused(
        w, item_id, "state.invalid_transition", lambda: qd.overrule(w.editor, item_id, a_id, "理由")
    )


def test_cancel_assignment(w: World) -> None:
    item, (_a, b) = w.assigned("u-a", "u-b")
    item = w.qd.cancel_assignment(w.editor, item.id, b.id, "交办有误")
    assert item.assignment(b.id).state is AssignmentState.CANCELLED  # type: ignore[union-attr]
    assert item.state is ItemState.HANDLING
    assert w.notifier.sent[-1].recipients == ("unit:u-b",)


def test_cancelling_the_last_open_assignment_after_replies_makes_the_item_replied(
    w: World,
) -> None:
    item, (a, b) = w.assigned("u-a", "u-b")
    w.qd.accept(w.unit("u-a"), item.id, a.id)
    w.qd.reply(w.unit("u-a"), item.id, a.id, "已答复。")
    item = w.qd.cancel_assignment(w.editor, item.id, b.id, "交办有误")
    assert item.state is ItemState.REPLIED
    assert kinds(w, item.id)[-2:] == [EventKind.ASSIGNMENT_CANCELLED, EventKind.ALL_REPLIED]


def test_cancelling_the_only_rehandled_assignment_leaves_the_item_replied(w: World) -> None:
    """Reply, 不满意, 重新办理, then the office cancels the only assignment: the earlier reply
    stands, so the item is REPLIED and can be closed (it used to stay HANDLING for good)."""
    item, (a,) = w.accepted()
    w.qd.reply(w.unit("u-a"), item.id, a.id, "已答复。")
    w.qd.rate(w.member, item.id, a.id, Rating.DISSATISFIED)
    item = w.qd.order_rehandle(w.editor, item.id, a.id, "答复不具体")
    assert item.state is ItemState.HANDLING
    item = w.qd.cancel_assignment(w.editor, item.id, a.id, "改由其他渠道办理")
    assert item.state is ItemState.REPLIED
    assert kinds(w, item.id)[-2:] == [EventKind.ASSIGNMENT_CANCELLED, EventKind.ALL_REPLIED]
    assert w.qd.close(w.editor, item.id).state is ItemState.CLOSED


def test_cancelling_the_only_assignment_before_any_reply_awaits_a_new_one(w: World) -> None:
    item, (a,) = w.accepted()
    item = w.qd.cancel_assignment(w.editor, item.id, a.id, "交办有误")
    assert (item.state, item.open_assignments) == (ItemState.HANDLING, ())
    refused(w, item.id, "state.invalid_transition", lambda: w.qd.close(w.editor, item.id))
    item = w.qd.assign(w.editor, item.id, [("u-b", True)])
    assert item.state is ItemState.HANDLING and len(item.open_assignments) == 1


def test_cancel_refusals(w: World) -> None:
    item, (a,) = w.accepted()
    qd = w.qd
    refused(
        w, item.id, "reason.required", lambda: qd.cancel_assignment(w.editor, item.id, a.id, "")
    )
    refused(
        w,
        item.id,
        "permission.denied",
        lambda: qd.cancel_assignment(w.unit("u-a"), item.id, a.id, "理由"),
    )
    qd.reply(w.unit("u-a"), item.id, a.id, "已答复。")
    refused(
        w,
        item.id,
        "state.invalid_transition",
        lambda: qd.cancel_assignment(w.editor, item.id, a.id, "理由"),
    )


# --- extensions ---------------------------------------------------------------------------


def test_extension_request_and_approval_moves_the_deadline_over_qingming(w: World) -> None:
    item, (a,) = w.accepted()
    w.clock.set(at(2026, 3, 20))
    item = w.qd.request_extension(w.unit("u-a"), item.id, a.id, 15, "涉及多部门，情况复杂")
    (r,) = item.assignments
    assert r.state is AssignmentState.EXTENSION_REQUESTED
    assert r.extensions[0].workdays == 15
    assert r.extensions[0].decision is ExtensionDecision.PENDING
    assert w.notifier.sent[-1].recipients == ("role:editor@zhoushan",)
    w.clock.set(at(2026, 3, 24))  # the office may decide after the old deadline
    item = w.qd.approve_extension(w.editor, item.id, a.id)
    (g,) = item.assignments
    assert g.state is AssignmentState.ACCEPTED
    assert g.due == date(2026, 4, 14)  # 4–6 April (清明) skipped
    ext = g.extensions[0]
    assert (ext.decision, ext.decided_by, ext.new_due) == (
        ExtensionDecision.APPROVED,
        "e1",
        date(2026, 4, 14),
    )
    assert ext.decided_at == at(2026, 3, 24)
    assert g.approved_extensions == 1
    assert w.notifier.sent[-1].recipients == ("unit:u-a",)


def test_office_may_grant_fewer_days(w: World) -> None:
    item, (a,) = w.accepted()
    w.qd.request_extension(w.unit("u-a"), item.id, a.id, 10, "情况复杂")
    item = w.qd.approve_extension(w.editor, item.id, a.id, workdays=5)
    assert item.assignments[0].due == date(2026, 3, 30)
    assert item.assignments[0].extensions[0].workdays == 10


def test_approval_resets_reminders_for_the_new_deadline(w: World) -> None:
    item, (a,) = w.accepted()
    w.clock.set(at(2026, 3, 19))
    assert w.qd.run_due_jobs().reminders[DeadlineStatus.DUE_SOON] == 1
    w.qd.request_extension(w.unit("u-a"), item.id, a.id, 5, "情况复杂")
    item = w.qd.approve_extension(w.editor, item.id, a.id)
    assert item.assignments[0].reminders == frozenset()


def test_extension_refusals(w: World) -> None:
    item, (a,) = w.accepted()
    qd, ua = w.qd, w.unit("u-a")
    refused(w, item.id, "reason.required", lambda: qd.request_extension(ua, item.id, a.id, 5, ""))
    refused(
        w, item.id, "input.too_large", lambda: qd.request_extension(ua, item.id, a.id, 16, "复杂")
    )
    refused(
        w,
        item.id,
        "calendar.invalid_count",
        lambda: qd.request_extension(ua, item.id, a.id, 0, "复杂"),
    )
    refused(
        w,
        item.id,
        "permission.denied",
        lambda: qd.request_extension(w.editor, item.id, a.id, 5, "复杂"),
    )
    refused(
        w,
        item.id,
        "state.invalid_transition",
        lambda: qd.approve_extension(w.editor, item.id, a.id),
    )
    w.clock.set(at(2026, 3, 24))  # the day after the deadline
    refused(
        w, item.id, "deadline.passed", lambda: qd.request_extension(ua, item.id, a.id, 5, "复杂")
    )


def test_at_most_one_extension_is_granted(w: World) -> None:
    item, (a,) = w.accepted()
    qd, ua = w.qd, w.unit("u-a")
    qd.request_extension(ua, item.id, a.id, 5, "复杂")
    qd.approve_extension(w.editor, item.id, a.id)
    refused(
        w, item.id, "input.too_large", lambda: qd.request_extension(ua, item.id, a.id, 5, "还需")
    )


def test_approval_refusals(w: World) -> None:
    item, (a,) = w.accepted()
    qd = w.qd
    qd.request_extension(w.unit("u-a"), item.id, a.id, 5, "复杂")
    refused(
        w,
        item.id,
        "input.too_large",
        lambda: qd.approve_extension(w.editor, item.id, a.id, workdays=20),
    )
    refused(
        w,
        item.id,
        "permission.denied",
        lambda: qd.approve_extension(w.unit("u-a"), item.id, a.id),
    )
    refused(
        w,
        item.id,
        "permission.jurisdiction",
        lambda: qd.approve_extension(w.county["editor"], item.id, a.id),
    )


def test_refuse_extension_keeps_the_deadline(w: World) -> None:
    item, (a,) = w.accepted()
    w.qd.request_extension(w.unit("u-a"), item.id, a.id, 5, "复杂")
    refused(
        w, item.id, "reason.required", lambda: w.qd.refuse_extension(w.editor, item.id, a.id, "")
    )
    item = w.qd.refuse_extension(w.editor, item.id, a.id, "请按期答复")
    (r,) = item.assignments
    assert r.state is AssignmentState.ACCEPTED
    assert r.due == date(2026, 3, 23)
    assert r.extensions[0].decision is ExtensionDecision.REFUSED
    assert r.extensions[0].decided_by == "e1"
    assert r.approved_extensions == 0
    assert [e.change.note for e in w.events(item.id)][-1] == "请按期答复"


# --- reply --------------------------------------------------------------------------------


def test_reply_opens_the_rating_window_and_the_last_reply_makes_the_item_replied(
    w: World,
) -> None:
    item, (a, b) = w.accepted("u-a", "u-b")
    w.clock.set(at(2026, 3, 10, 15))
    item = w.qd.reply(w.unit("u-a"), item.id, a.id, " 已研究，答复如下。 ")
    ra = item.assignment(a.id)
    assert ra is not None
    assert ra.state is AssignmentState.REPLIED
    assert ra.replies[0].text == "已研究，答复如下。"
    assert (ra.replies[0].by, ra.replies[0].at) == ("ua", at(2026, 3, 10, 15))
    assert ra.rating_closes == date(2026, 3, 31)
    assert item.state is ItemState.HANDLING
    told = w.notifier.sent[-1]
    assert told.kind == "replied"
    assert set(told.recipients) == {"m1", "m2", "role:editor@zhoushan"}
    item = w.qd.reply(w.unit("u-b"), item.id, b.id, "答复。")
    assert item.state is ItemState.REPLIED
    assert kinds(w, item.id)[-2:] == [EventKind.REPLIED, EventKind.ALL_REPLIED]


def test_a_late_reply_is_accepted(w: World) -> None:
    item, (a,) = w.accepted()
    w.clock.set(at(2026, 4, 20))
    item = w.qd.reply(w.unit("u-a"), item.id, a.id, "迟到的答复。")
    assert item.state is ItemState.REPLIED


def test_reply_while_an_extension_is_pending_lets_the_request_lapse(w: World) -> None:
    item, (a,) = w.accepted()
    w.qd.request_extension(w.unit("u-a"), item.id, a.id, 5, "复杂")
    item = w.qd.reply(w.unit("u-a"), item.id, a.id, "已办结，答复如下。")
    (r,) = item.assignments
    assert r.state is AssignmentState.REPLIED
    assert r.due == date(2026, 3, 23)
    assert r.extensions[0].decision is ExtensionDecision.PENDING


def test_reply_refusals(w: World) -> None:
    item, (a,) = w.assigned()
    qd, ua = w.qd, w.unit("u-a")
    refused(w, item.id, "state.invalid_transition", lambda: qd.reply(ua, item.id, a.id, "答复"))
    qd.accept(ua, item.id, a.id)
    refused(w, item.id, "input.invalid", lambda: qd.reply(ua, item.id, a.id, "  "))
    refused(w, item.id, "input.too_large", lambda: qd.reply(ua, item.id, a.id, "字" * 20_001))
    refused(w, item.id, "not_found", lambda: qd.reply(w.unit("u-b"), item.id, a.id, "答复"))
    refused(w, item.id, "permission.denied", lambda: qd.reply(w.editor, item.id, a.id, "答复"))


# --- rating -------------------------------------------------------------------------------


def replied(w: World) -> tuple[str, str]:
    item, (a,) = w.accepted()
    w.clock.set(at(2026, 3, 10))
    w.qd.reply(w.unit("u-a"), item.id, a.id, "答复。")
    return item.id, a.id


def test_rate_and_change_the_rating(w: World) -> None:
    item_id, a_id = replied(w)
    item = w.qd.rate(w.member, item_id, a_id, Rating.BASICALLY_SATISFIED)
    (a,) = item.assignments
    assert (a.rating, a.rated_at) == (Rating.BASICALLY_SATISFIED, at(2026, 3, 10))
    assert w.notifier.sent[-1].recipients == ("role:editor@zhoushan",)
    w.clock.set(at(2026, 5, 6))  # long after the window: a given rating may still change
    item = w.qd.rate(w.member, item_id, a_id, "满意")
    assert item.assignments[0].rating is Rating.SATISFIED


def test_rating_on_the_last_day_of_the_window(w: World) -> None:
    item_id, a_id = replied(w)
    w.clock.set(at(2026, 3, 31, 23, 59))
    item = w.qd.rate(w.member, item_id, a_id, "dissatisfied")
    assert item.assignments[0].rating is Rating.DISSATISFIED


def test_first_rating_after_the_window_is_refused(w: World) -> None:
    item_id, a_id = replied(w)
    w.clock.set(at(2026, 4, 1, 0, 1))
    refused(
        w,
        item_id,
        "rating.window_closed",
        lambda: w.qd.rate(w.member, item_id, a_id, Rating.SATISFIED),
    )


def test_rating_refusals(w: World) -> None:
    item_id, a_id = replied(w)
    qd = w.qd
    # co-authors rate only if the rules say so
    for who in (w.coauthor, w.stranger, w.editor, w.unit("u-a")):
        refused(w, item_id, "permission.denied", partial(qd.rate, who, item_id, a_id, "满意"))
    refused(w, item_id, "input.invalid", lambda: qd.rate(w.member, item_id, a_id, "未评价"))
    refused(w, item_id, "input.invalid", lambda: qd.rate(w.member, item_id, a_id, "great"))
    refused(w, item_id, "not_found", lambda: qd.rate(w.member, item_id, "nope", "满意"))
    qd.rate(w.member, item_id, a_id, "满意")  # closing waits for a first rating (or the window)
    qd.close(w.editor, item_id)
    refused(w, item_id, "rating.window_closed", lambda: qd.rate(w.member, item_id, a_id, "不满意"))


def test_rating_an_unreplied_assignment_is_refused(w: World) -> None:
    item, (a, b) = w.accepted("u-a", "u-b")
    w.qd.reply(w.unit("u-a"), item.id, a.id, "答复。")
    refused(
        w,
        item.id,
        "state.invalid_transition",
        lambda: w.qd.rate(w.member, item.id, b.id, "满意"),
    )
    assert w.qd.rate(w.member, item.id, a.id, "满意").state is ItemState.HANDLING


def test_coauthors_rate_when_the_rules_allow() -> None:
    w = make_world(city_rules=RuleSet(rating=RatingRules(coauthors_may_rate=True)))
    item_id, a_id = replied(w)
    item = w.qd.rate(w.coauthor, item_id, a_id, "满意")
    assert item.assignments[0].rating is Rating.SATISFIED


# --- re-handling --------------------------------------------------------------------------


def test_rehandle_after_dissatisfied_gives_a_new_deadline(w: World) -> None:
    item_id, a_id = replied(w)
    w.qd.rate(w.member, item_id, a_id, "不满意")
    w.clock.set(at(2026, 3, 12))
    item = w.qd.order_rehandle(w.editor, item_id, a_id, "答复未解决实际问题")
    (a,) = item.assignments
    assert item.state is ItemState.HANDLING
    assert item.rehandles == 1
    assert a.state is AssignmentState.ACCEPTED
    assert a.due == date(2026, 4, 2)  # 15 working days from 12 March
    assert (a.rating, a.rated_at, a.rating_closes) == (Rating.NOT_RATED, None, None)
    assert a.rehandles == 1
    assert a.reminders == frozenset()
    assert len(a.replies) == 1  # the first reply is kept
    assert w.notifier.sent[-1].recipients == ("unit:u-a",)
    item = w.qd.reply(w.unit("u-a"), item_id, a_id, "重新答复。")
    assert item.state is ItemState.REPLIED
    assert len(item.assignments[0].replies) == 2


def test_rehandle_refusals(w: World) -> None:
    item_id, a_id = replied(w)
    qd = w.qd
    refused(w, item_id, "input.invalid", lambda: qd.order_rehandle(w.editor, item_id, a_id, "理由"))
    qd.rate(w.member, item_id, a_id, "satisfied")
    refused(w, item_id, "input.invalid", lambda: qd.order_rehandle(w.editor, item_id, a_id, "理由"))
    qd.rate(w.member, item_id, a_id, "dissatisfied")
    refused(w, item_id, "reason.required", lambda: qd.order_rehandle(w.editor, item_id, a_id, " "))
    refused(
        w,
        item_id,
        "permission.denied",
        lambda: qd.order_rehandle(w.member, item_id, a_id, "理由"),
    )
    refused(
        w,
        item_id,
        "permission.jurisdiction",
        lambda: qd.order_rehandle(w.county["editor"], item_id, a_id, "理由"),
    )
    qd.order_rehandle(w.editor, item_id, a_id, "理由")
    qd.reply(w.unit("u-a"), item_id, a_id, "重新答复。")
    qd.rate(w.member, item_id, a_id, "dissatisfied")
    refused(
        w, item_id, "input.too_large", lambda: qd.order_rehandle(w.editor, item_id, a_id, "理由")
    )


def test_county_items_are_handled_by_county_units(w: World) -> None:
    item = w.issued(w.county)
    county_editor = w.county["editor"]
    refused(w, item.id, "not_found", lambda: w.qd.assign(county_editor, item.id, ["u-a"]))
    item = w.qd.assign(county_editor, item.id, [("u-dh", True)])
    (a,) = item.assignments
    assert item.jurisdiction == DH
    item = w.qd.accept(w.unit("u-dh"), item.id, a.id)
    assert item.assignments[0].state is AssignmentState.ACCEPTED


def test_replay_rebuilds_the_item(w: World) -> None:
    item_id, a_id = replied(w)
    w.qd.rate(w.member, item_id, a_id, "不满意")
    w.qd.order_rehandle(w.editor, item_id, a_id, "理由")
    assert replay(w.events(item_id)) == w.load(item_id)


def test_end_of_day_is_the_deadline_instant() -> None:
    assert end_of_day(date(2026, 3, 23)) == at(2026, 3, 24, 0)
