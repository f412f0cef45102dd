"""The decisions of 第十、十二条 (qiandao.workflow.handling), without a store or a service."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import attrs
import pytest

from qiandao.actor import Actor
from qiandao.errors import QiandaoError
from qiandao.events import Change, EventKind, ItemPatch
from qiandao.model import Assignment, ExtensionDecision, ExtensionRequest, Item, Reply, Unit
from qiandao.rules.deadlines import SHANGHAI, DeadlineStatus
from qiandao.rules.lifecycle import AssignmentState, ItemState
from qiandao.rules.rating import Rating, RatingRules
from qiandao.rules.roles import Role
from qiandao.rules.ruleset import RuleSet
from qiandao.rules.workdays import ChinaWorkdays
from qiandao.testing.builders import sample_item
from qiandao.workflow import feedback, handling
from qiandao.workflow.context import Context, Decision

CALENDAR = ChinaWorkdays.official()
ZS = "zhoushan"

EDITOR = Actor("e1", Role.EDITOR, ZS)
COUNTY_EDITOR = Actor("e9", Role.EDITOR, "zhoushan.putuo")
DEPUTY = Actor("d1", Role.DEPUTY, ZS)
AUTHOR = Actor("member-001", Role.MEMBER, ZS)  # the lead author of sample_item
COAUTHOR = Actor("member-002", Role.MEMBER, ZS)
STRANGER = Actor("member-777", Role.MEMBER, ZS)
UNIT_A = Actor("ua", Role.HANDLING_UNIT, ZS, "u-a")
UNIT_B = Actor("ub", Role.HANDLING_UNIT, ZS, "u-b")

U_A = Unit("u-a", "市海洋与渔业局", ZS)
U_B = Unit("u-b", "市人力社保局", ZS)
U_C = Unit("u-c", "市交通运输局", ZS)
U_ELSEWHERE = Unit("u-dh", "定海区民政局", "zhoushan.dinghai")
U_OLD = Unit("u-old", "已撤并的局", ZS, active=False)


def at(year: int, month: int, day: int, hour: int = 9) -> datetime:
    """An instant in Asia/Shanghai."""
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


MONDAY = at(2026, 3, 2)  # the day of assignment in most tests


def ctx(now: datetime = MONDAY, rules: RuleSet | None = None) -> Context:
    """A context with the Zhoushan rules, the official calendar and counted ids."""
    counter = itertools.count(1)
    return Context(rules or RuleSet.zhoushan(), CALENDAR, now, lambda: f"id-{next(counter)}")


def assignment(
    assignment_id: str = "a1",
    unit_id: str = "u-a",
    state: AssignmentState = AssignmentState.ACCEPTED,
    **changes: Any,
) -> Assignment:
    """An assignment made on MONDAY: due 23 March, declinable until 5 March."""
    made = Assignment(
        id=assignment_id,
        unit_id=unit_id,
        lead=False,
        state=state,
        assigned_at=MONDAY,
        due=date(2026, 3, 23),
        decline_until=date(2026, 3, 5),
    )
    return attrs.evolve(made, **changes)


def replied(assignment_id: str = "a1", unit_id: str = "u-a", **changes: Any) -> Assignment:
    """A replied assignment whose rating window closes on 31 March."""
    return assignment(
        assignment_id,
        unit_id,
        AssignmentState.REPLIED,
        replies=(Reply("已答复。", "ua", at(2026, 3, 10)),),
        rating_closes=date(2026, 3, 31),
        **changes,
    )


def item(*assignments: Assignment, state: ItemState = ItemState.HANDLING) -> Item:
    """An adopted item of Zhoushan (author member-001, co-author member-002) in ``state``."""
    return sample_item("item-1", state=state, assignments=assignments, closed_at=None, rehandles=0)


def refused(code: str, decide: Callable[[], object]) -> QiandaoError:
    """The decision refuses with ``code``."""
    with pytest.raises(QiandaoError) as caught:
        decide()
    assert caught.value.code == code, caught.value
    return caught.value


def only(decision: Decision, kind: EventKind) -> Change:
    """The one change of a one-event decision of ``kind``."""
    assert [k for k, _ in decision] == [kind]
    return decision[0][1]


def changed(change: Change) -> Assignment:
    """The assignment a change carries."""
    assert change.assignment is not None
    return change.assignment


# --- unit entries ---------------------------------------------------------------------------


def test_unit_entries_take_pairs_and_bare_ids() -> None:
    entries = handling.unit_entries([("u-a", True), "u-b", ["u-c", False]])  # type: ignore[list-item]
    assert entries == [("u-a", True), ("u-b", False), ("u-c", False)]


@pytest.mark.parametrize(
    "units",
    [[], "u-a", ["u-a", "u-a"], [("u-a", "yes")], [" "], [("u-a", True, 1)], None],
)
def test_unit_entries_refusals(units: Any) -> None:
    refused("input.invalid", lambda: handling.unit_entries(units))


# --- assign ---------------------------------------------------------------------------------


def test_assign_decides_one_pending_assignment_per_unit_with_the_deadlines() -> None:
    decision = handling.assign(
        ctx(), EDITOR, item(state=ItemState.ISSUED), [(U_A, True), (U_B, False)], " 请研办 "
    )
    assert [k for k, _ in decision] == [EventKind.ASSIGNED, EventKind.ASSIGNED]
    first, second = (change for _, change in decision)
    assert (first.state, second.state) == (ItemState.HANDLING, None)  # the item moves once
    assert first.note == second.note == "请研办"
    a, b = changed(first), changed(second)
    assert (a.id, a.unit_id, a.lead, b.id, b.unit_id, b.lead) == (
        "id-1",
        "u-a",
        True,
        "id-2",
        "u-b",
        False,
    )
    for x in (a, b):
        assert x.state is AssignmentState.PENDING
        assert x.assigned_at == MONDAY
        assert x.due == date(2026, 3, 23)  # the 15th working day after Monday 2 March
        assert x.decline_until == date(2026, 3, 5)
        assert x.provisional is False
        assert type(x.due) is date and type(x.decline_until) is date


def test_a_deadline_in_a_year_without_official_schedule_is_stored_plain_and_provisional() -> None:
    decision = handling.assign(
        ctx(at(2026, 12, 21)), EDITOR, item(state=ItemState.ISSUED), [(U_A, False)]
    )
    a = changed(only(decision, EventKind.ASSIGNED))
    assert a.provisional is True and a.due.year == 2027
    assert type(a.due) is date


def test_a_context_counts_its_day_and_deadlines_once_and_afresh_when_evolved() -> None:
    first = ctx()
    assert first.today == date(2026, 3, 2)
    reply, decline = first.reply_due_now, first.decline_until_now
    assert first.reply_due_now is reply and first.decline_until_now is decline  # counted once
    assert (reply.day, decline.day) == (date(2026, 3, 23), date(2026, 3, 5))
    later = attrs.evolve(first, now=at(2026, 3, 9))  # a new instant shares nothing
    assert later.today == date(2026, 3, 9)
    assert later.reply_due_now.day == date(2026, 3, 30)
    assert first.today == date(2026, 3, 2) and first.reply_due_now.day == reply.day
    decision = handling.assign(later, EDITOR, item(state=ItemState.ISSUED), [(U_A, False)])
    assert changed(only(decision, EventKind.ASSIGNED)).due == date(2026, 3, 30)


def test_rehandling_counts_only_the_reply_deadline() -> None:
    """A long decline window that runs past the calendar's last year does not stop 重新办理,
    which has no decline window to count."""
    rules = RuleSet.zhoushan()
    long_decline = attrs.evolve(
        rules, deadlines=attrs.evolve(rules.deadlines, reply_workdays=5, decline_workdays=20)
    )
    late = ctx(at(2050, 12, 15), long_decline)
    refused("calendar.year_out_of_range", lambda: late.decline_until_now)
    rated = replied(rating=Rating.DISSATISFIED, rated_at=at(2050, 12, 14))
    decision = handling.order_rehandle(
        late, EDITOR, item(rated, state=ItemState.REPLIED), "a1", "再办"
    )
    assert changed(decision[0][1]).due == date(2050, 12, 22)


def _outcome(decide: Callable[[Context], Decision], context: Context) -> str | Decision:
    """The decision, or the code it refuses with."""
    try:
        return decide(context)
    except QiandaoError as error:
        return error.code


def test_a_probing_context_refuses_as_the_command_does_and_builds_nothing() -> None:
    not_a_bool: dict[str, Any] = {"shared_with_units": 1}
    busy = item(assignment("a1", "u-a"))
    day = date(2026, 3, 2)
    cases: list[Callable[[Context], Decision]] = [
        lambda c: handling.assign(c, EDITOR, busy, [(U_B, False)]),
        lambda c: handling.assign(c, EDITOR, busy, [(U_A, False)]),  # already handling it
        lambda c: handling.assign(c, EDITOR, busy, [(U_ELSEWHERE, False)]),
        lambda c: handling.assign(c, EDITOR, busy, [(U_OLD, False)]),
        lambda c: handling.assign(c, EDITOR, busy, [(U_B, True), (U_C, True)]),  # two leads
        lambda c: handling.assign(c, EDITOR, busy, [(U_B, False)], "长" * 100_000),
        lambda c: handling.assign(c, AUTHOR, busy, [(U_B, False)]),
        lambda c: handling.cancel_assignment(c, EDITOR, busy, "a1", "不再需要"),
        lambda c: handling.cancel_assignment(c, EDITOR, busy, "a1", " "),
        lambda c: handling.cancel_assignment(c, EDITOR, busy, "a9", "不再需要"),
        lambda c: handling.cancel_assignment(c, UNIT_A, busy, "a1", "不再需要"),
        lambda c: feedback.record_implementation(c, EDITOR, busy, day, "已落实"),
        lambda c: feedback.record_implementation(c, EDITOR, busy, day, ""),
        lambda c: feedback.record_implementation(c, EDITOR, busy, day, "已落实", **not_a_bool),
        lambda c: feedback.record_implementation(c, AUTHOR, busy, day, "已落实"),
        lambda c: feedback.record_implementation(c, EDITOR, busy, date(2026, 3, 9), "已落实"),
    ]
    decided = refusals = 0
    for decide in cases:
        full, probed = _outcome(decide, ctx()), _outcome(decide, attrs.evolve(ctx(), probing=True))
        if isinstance(full, str):
            assert probed == full  # refused alike, with the same code
            refusals += 1
        else:
            assert full and probed == []  # allowed alike; the probe built nothing
            decided += 1
    assert (decided, refusals) == (3, 13)
    # counting a deadline past the calendar's last year refuses a probe as it refuses the command
    issued_late = item(state=ItemState.ISSUED)
    late = ctx(at(2050, 12, 20))

    def assign(c: Context) -> Decision:
        return handling.assign(c, EDITOR, issued_late, [(U_A, False)])

    assert _outcome(assign, late) == "calendar.year_out_of_range"
    assert _outcome(assign, attrs.evolve(late, probing=True)) == "calendar.year_out_of_range"


@pytest.mark.parametrize("state", [ItemState.HANDLING, ItemState.REPLIED])
def test_assign_adds_units_to_an_item_in_handling_or_replied(state: ItemState) -> None:
    decision = handling.assign(ctx(), EDITOR, item(replied(), state=state), [(U_B, False)])
    assert only(decision, EventKind.ASSIGNED).state is ItemState.HANDLING


@pytest.mark.parametrize(
    ("actor", "units", "code"),
    [
        (AUTHOR, [(U_B, False)], "permission.denied"),
        (DEPUTY, [(U_B, False)], "permission.denied"),
        (COUNTY_EDITOR, [(U_B, False)], "permission.jurisdiction"),
        (EDITOR, [(U_ELSEWHERE, False)], "not_found"),
        (EDITOR, [(U_OLD, False)], "input.invalid"),
        (EDITOR, [(U_A, False)], "input.invalid"),  # already handling the item
        (EDITOR, [(U_B, True), (U_C, True)], "input.invalid"),  # two leads
    ],
)
def test_assign_refusals(actor: Actor, units: list[tuple[Unit, bool]], code: str) -> None:
    refused(code, lambda: handling.assign(ctx(), actor, item(assignment()), units))


@pytest.mark.parametrize(
    ("actor", "code"),
    [
        (AUTHOR, "permission.denied"),
        (DEPUTY, "permission.denied"),
        (COUNTY_EDITOR, "permission.jurisdiction"),
        (EDITOR, "not_found"),
    ],
)
def test_an_unknown_unit_is_refused_only_after_the_actor_may_assign(
    actor: Actor, code: str
) -> None:
    # the service passes the bare id of a unit it did not find: an outsider must not learn
    # from the error whether a unit id exists
    refused(code, lambda: handling.assign(ctx(), actor, item(assignment()), [("no-such", False)]))
    declined = declined_item()
    refused(code, lambda: handling.reassign(ctx(), actor, declined, "a1", "no-such"))


def test_a_named_lead_must_be_the_only_open_lead() -> None:
    handling_item = item(assignment(lead=True))
    refused("input.invalid", lambda: handling.assign(ctx(), EDITOR, handling_item, [(U_B, True)]))
    assert handling.assign(ctx(), EDITOR, handling_item, [(U_B, False)])


def test_assign_refuses_an_item_not_yet_issued() -> None:
    submitted = item(state=ItemState.SUBMITTED)
    refused(
        "state.invalid_transition",
        lambda: handling.assign(ctx(), EDITOR, submitted, [(U_A, False)]),
    )


# --- accept and decline ---------------------------------------------------------------------


def test_accept() -> None:
    pending = assignment(state=AssignmentState.PENDING)
    change = only(handling.accept(ctx(), UNIT_A, item(pending), "a1"), EventKind.ACCEPTED)
    assert changed(change) == attrs.evolve(pending, state=AssignmentState.ACCEPTED)
    assert change.state is None


@pytest.mark.parametrize(
    ("actor", "assignment_id", "code"),
    [
        (UNIT_B, "a1", "not_found"),  # another unit does not see the assignment
        (UNIT_A, "nope", "not_found"),
        (EDITOR, "a1", "permission.denied"),
        (AUTHOR, "a1", "permission.denied"),
    ],
)
def test_accept_refusals(actor: Actor, assignment_id: str, code: str) -> None:
    pending = item(assignment(state=AssignmentState.PENDING))
    refused(code, lambda: handling.accept(ctx(), actor, pending, assignment_id))


def test_accept_twice_is_refused() -> None:
    refused(
        "state.invalid_transition", lambda: handling.accept(ctx(), UNIT_A, item(assignment()), "a1")
    )


def test_decline_within_the_window_keeps_the_reason() -> None:
    pending = item(assignment(state=AssignmentState.PENDING))
    change = only(
        handling.decline(ctx(at(2026, 3, 5, 23)), UNIT_A, pending, "a1", " 非本单位职责 "),
        EventKind.DECLINED,
    )
    a = changed(change)
    assert (a.state, a.decline_reason, change.note) == (
        AssignmentState.DECLINED,
        "非本单位职责",
        "非本单位职责",
    )


@pytest.mark.parametrize(
    ("now", "reason", "code"),
    [
        (at(2026, 3, 6), "非本单位职责", "deadline.passed"),  # after the 3rd working day
        (MONDAY, "  ", "reason.required"),
        (MONDAY, "理" * 2001, "input.too_large"),
    ],
)
def test_decline_refusals(now: datetime, reason: str, code: str) -> None:
    pending = item(assignment(state=AssignmentState.PENDING))
    refused(code, lambda: handling.decline(ctx(now), UNIT_A, pending, "a1", reason))


# --- reassign, overrule, cancel -------------------------------------------------------------


def declined_item(*others: Assignment) -> Item:
    return item(
        assignment(state=AssignmentState.DECLINED, lead=True, decline_reason="非本单位职责"),
        *others,
    )


def test_reassign_moves_a_declined_assignment_with_a_fresh_deadline() -> None:
    decision = handling.reassign(ctx(at(2026, 3, 4, 10)), EDITOR, declined_item(), "a1", U_B)
    assert [k for k, _ in decision] == [EventKind.REASSIGNED, EventKind.ASSIGNED]
    (_, moved), (_, assigned) = decision
    old, new = changed(moved), changed(assigned)
    assert moved.note == U_B.name
    assert (old.state, old.reassigned_to) == (AssignmentState.REASSIGNED, new.id)
    assert (new.unit_id, new.state, new.lead) == ("u-b", AssignmentState.PENDING, True)
    assert (new.assigned_at, new.due) == (at(2026, 3, 4, 10), date(2026, 3, 25))
    assert moved.state is None and assigned.state is None


def test_reassign_may_set_the_lead_flag() -> None:
    decision = handling.reassign(ctx(), EDITOR, declined_item(), "a1", U_B, lead=False)
    assert changed(decision[1][1]).lead is False


@pytest.mark.parametrize(
    ("actor", "unit", "code"),
    [
        (EDITOR, U_A, "input.invalid"),  # the unit that declined
        (EDITOR, U_B, "input.invalid"),  # busy with the item
        (EDITOR, U_ELSEWHERE, "not_found"),
        (EDITOR, U_OLD, "input.invalid"),
        (UNIT_A, U_C, "permission.denied"),
        (COUNTY_EDITOR, U_C, "permission.jurisdiction"),
    ],
)
def test_reassign_refusals(actor: Actor, unit: Unit, code: str) -> None:
    busy = assignment("a2", "u-b", AssignmentState.PENDING)
    refused(code, lambda: handling.reassign(ctx(), actor, declined_item(busy), "a1", unit))


def test_reassign_refuses_an_assignment_not_declined() -> None:
    refused(
        "state.invalid_transition",
        lambda: handling.reassign(ctx(), EDITOR, item(assignment()), "a1", U_C),
    )


def test_overrule_keeps_the_deadline() -> None:
    change = only(
        handling.overrule(ctx(at(2026, 3, 10)), EDITOR, declined_item(), "a1", "属贵单位职责"),
        EventKind.OVERRULED,
    )
    a = changed(change)
    assert (a.state, a.due, change.note) == (
        AssignmentState.ACCEPTED,
        date(2026, 3, 23),
        "属贵单位职责",
    )


def test_overrule_refusals() -> None:
    refused("reason.required", lambda: handling.overrule(ctx(), EDITOR, declined_item(), "a1", ""))
    refused(
        "permission.denied",
        lambda: handling.overrule(ctx(), UNIT_A, declined_item(), "a1", "理由"),
    )


def test_cancelling_one_of_two_open_assignments_leaves_the_item_handling() -> None:
    two = item(assignment(), assignment("a2", "u-b"))
    change = only(
        handling.cancel_assignment(ctx(), EDITOR, two, "a2", "交办有误"),
        EventKind.ASSIGNMENT_CANCELLED,
    )
    assert (changed(change).state, change.note) == (AssignmentState.CANCELLED, "交办有误")


def test_cancelling_the_last_open_assignment_after_a_reply_makes_the_item_replied() -> None:
    decision = handling.cancel_assignment(
        ctx(), EDITOR, item(replied(), assignment("a2", "u-b")), "a2", "交办有误"
    )
    assert [k for k, _ in decision] == [EventKind.ASSIGNMENT_CANCELLED, EventKind.ALL_REPLIED]
    assert decision[1][1] == Change(state=ItemState.REPLIED)


def test_cancelling_the_only_assignment_without_replies_leaves_the_item_handling() -> None:
    decision = handling.cancel_assignment(ctx(), EDITOR, item(assignment()), "a1", "交办有误")
    assert [k for k, _ in decision] == [EventKind.ASSIGNMENT_CANCELLED]


def test_cancelling_a_rehandled_assignment_keeps_its_earlier_reply() -> None:
    """The only assignment, reopened by 重新办理 after a reply, is cancelled: the item has a
    reply and nothing open, so it is REPLIED (it was left HANDLING, and could not be closed)."""
    reopened = attrs.evolve(
        replied(),
        state=AssignmentState.ACCEPTED,
        rating_closes=None,
        rehandles=1,
        due=date(2026, 4, 14),
    )
    decision = handling.cancel_assignment(ctx(), EDITOR, item(reopened), "a1", "交办有误")
    assert [k for k, _ in decision] == [EventKind.ASSIGNMENT_CANCELLED, EventKind.ALL_REPLIED]
    assert decision[1][1] == Change(state=ItemState.REPLIED)


def test_cancel_refusals() -> None:
    refused(
        "reason.required",
        lambda: handling.cancel_assignment(ctx(), EDITOR, item(assignment()), "a1", " "),
    )
    refused(
        "permission.denied",
        lambda: handling.cancel_assignment(ctx(), UNIT_A, item(assignment()), "a1", "理由"),
    )
    refused(
        "state.invalid_transition",
        lambda: handling.cancel_assignment(ctx(), EDITOR, item(replied()), "a1", "理由"),
    )


# --- extensions -----------------------------------------------------------------------------


def requested(workdays: int = 15, **changes: Any) -> Item:
    """An item whose assignment asked on 20 March for ``workdays`` more working days."""
    request = ExtensionRequest(requested_at=at(2026, 3, 20), workdays=workdays, reason="复杂")
    return item(
        assignment(state=AssignmentState.EXTENSION_REQUESTED, extensions=(request,), **changes)
    )


def test_request_extension_appends_a_pending_request() -> None:
    now = at(2026, 3, 20)
    change = only(
        handling.request_extension(ctx(now), UNIT_A, item(assignment()), "a1", 15, " 情况复杂 "),
        EventKind.EXTENSION_REQUESTED,
    )
    a = changed(change)
    assert a.state is AssignmentState.EXTENSION_REQUESTED
    assert a.extensions == (ExtensionRequest(requested_at=now, workdays=15, reason="情况复杂"),)
    assert a.due == date(2026, 3, 23) and change.note == "情况复杂"


@pytest.mark.parametrize(
    ("actor", "now", "workdays", "reason", "code"),
    [
        (UNIT_A, MONDAY, 5, "", "reason.required"),
        (UNIT_A, MONDAY, 16, "复杂", "input.too_large"),
        (UNIT_A, MONDAY, 0, "复杂", "calendar.invalid_count"),
        (UNIT_A, at(2026, 3, 24), 5, "复杂", "deadline.passed"),  # the day after the deadline
        (EDITOR, MONDAY, 5, "复杂", "permission.denied"),
    ],
)
def test_request_extension_refusals(
    actor: Actor, now: datetime, workdays: int, reason: str, code: str
) -> None:
    accepted = item(assignment())
    refused(
        code,
        lambda: handling.request_extension(ctx(now), actor, accepted, "a1", workdays, reason),
    )


def test_only_one_extension_is_granted() -> None:
    granted = ExtensionRequest(
        at(2026, 3, 10), 5, "复杂", ExtensionDecision.APPROVED, "e1", at(2026, 3, 11)
    )
    once = item(assignment(extensions=(granted,), due=date(2026, 3, 30)))
    refused(
        "input.too_large",
        lambda: handling.request_extension(ctx(), UNIT_A, once, "a1", 5, "还需"),
    )


def test_approve_extension_moves_the_deadline_over_qingming_and_resets_reminders() -> None:
    now = at(2026, 3, 24)  # the office may decide after the old deadline
    pending = requested(reminders=frozenset({DeadlineStatus.DUE_SOON}))
    change = only(
        handling.approve_extension(ctx(now), EDITOR, pending, "a1"), EventKind.EXTENSION_APPROVED
    )
    a = changed(change)
    assert (a.state, a.due, a.provisional, a.reminders) == (
        AssignmentState.ACCEPTED,
        date(2026, 4, 14),  # 4–6 April (清明) skipped
        False,
        frozenset(),
    )
    (decided,) = a.extensions
    assert (decided.decision, decided.decided_by, decided.decided_at, decided.new_due) == (
        ExtensionDecision.APPROVED,
        "e1",
        now,
        date(2026, 4, 14),
    )
    assert change.note == "延期至2026-04-14"


def test_the_office_may_grant_fewer_days() -> None:
    decision = handling.approve_extension(ctx(), EDITOR, requested(10), "a1", 5)
    a = changed(only(decision, EventKind.EXTENSION_APPROVED))
    assert a.due == date(2026, 3, 30)
    assert a.extensions[0].workdays == 10


def test_an_extension_into_a_year_without_schedule_is_stored_plain_and_provisional() -> None:
    request = ExtensionRequest(requested_at=at(2026, 12, 10), workdays=15, reason="复杂")
    late = item(
        assignment(
            state=AssignmentState.EXTENSION_REQUESTED,
            due=date(2026, 12, 21),
            extensions=(request,),
        )
    )
    decision = handling.approve_extension(ctx(at(2026, 12, 11)), EDITOR, late, "a1")
    a = changed(only(decision, EventKind.EXTENSION_APPROVED))
    assert a.provisional is True and a.due.year == 2027
    assert type(a.due) is date and type(a.extensions[0].new_due) is date


@pytest.mark.parametrize(
    ("actor", "workdays", "code"),
    [
        (EDITOR, 20, "input.too_large"),
        (UNIT_A, None, "permission.denied"),
        (COUNTY_EDITOR, None, "permission.jurisdiction"),
    ],
)
def test_approve_extension_refusals(actor: Actor, workdays: int | None, code: str) -> None:
    refused(code, lambda: handling.approve_extension(ctx(), actor, requested(), "a1", workdays))


def test_approve_without_a_request_is_refused() -> None:
    refused(
        "state.invalid_transition",
        lambda: handling.approve_extension(ctx(), EDITOR, item(assignment()), "a1"),
    )


def test_refuse_extension_keeps_the_deadline() -> None:
    change = only(
        handling.refuse_extension(ctx(), EDITOR, requested(), "a1", "请按期答复"),
        EventKind.EXTENSION_REFUSED,
    )
    a = changed(change)
    assert (a.state, a.due, a.approved_extensions, change.note) == (
        AssignmentState.ACCEPTED,
        date(2026, 3, 23),
        0,
        "请按期答复",
    )
    assert (a.extensions[0].decision, a.extensions[0].decided_by) == (
        ExtensionDecision.REFUSED,
        "e1",
    )
    refused(
        "reason.required",
        lambda: handling.refuse_extension(ctx(), EDITOR, requested(), "a1", ""),
    )


# --- reply ----------------------------------------------------------------------------------


def test_a_reply_opens_the_rating_window_and_counts_the_working_days() -> None:
    now = at(2026, 3, 10, 15)
    two = item(assignment(), assignment("a2", "u-b"))
    change = only(
        handling.reply(ctx(now), UNIT_A, two, "a1", " 已研究，答复如下。 "), EventKind.REPLIED
    )
    a = changed(change)
    assert a.state is AssignmentState.REPLIED
    assert a.replies == (Reply("已研究，答复如下。", "ua", now),)
    assert a.rating_closes == date(2026, 3, 31)
    assert a.reply_workdays == 6  # Monday 2 March to Tuesday 10 March


def test_the_last_reply_makes_the_item_replied() -> None:
    decision = handling.reply(ctx(), UNIT_B, item(replied(), assignment("a2", "u-b")), "a2", "答复")
    assert [k for k, _ in decision] == [EventKind.REPLIED, EventKind.ALL_REPLIED]
    assert decision[1][1].state is ItemState.REPLIED


def test_a_reply_with_an_extension_pending_lets_the_request_lapse() -> None:
    decision = handling.reply(ctx(), UNIT_A, requested(), "a1", "答复")
    a = changed(decision[0][1])
    assert a.state is AssignmentState.REPLIED
    assert a.extensions[0].decision is ExtensionDecision.PENDING


@pytest.mark.parametrize(
    ("actor", "text", "code"),
    [
        (UNIT_A, "  ", "input.invalid"),
        (UNIT_A, "字" * 20_001, "input.too_large"),
        (UNIT_B, "答复", "not_found"),
        (EDITOR, "答复", "permission.denied"),
    ],
)
def test_reply_refusals(actor: Actor, text: str, code: str) -> None:
    refused(code, lambda: handling.reply(ctx(), actor, item(assignment()), "a1", text))


def test_reply_before_accepting_is_refused() -> None:
    pending = item(assignment(state=AssignmentState.PENDING))
    refused("state.invalid_transition", lambda: handling.reply(ctx(), UNIT_A, pending, "a1", "答"))


# --- rating ---------------------------------------------------------------------------------


def test_rate_records_the_grade() -> None:
    now = at(2026, 3, 31, 23)  # the last day of the window
    change = only(
        handling.rate(ctx(now), AUTHOR, item(replied()), "a1", Rating.DISSATISFIED),
        EventKind.RATED,
    )
    assert (changed(change).rating, changed(change).rated_at) == (Rating.DISSATISFIED, now)
    assert change.note == Rating.DISSATISFIED.label


def test_a_first_rating_after_the_window_is_refused_but_a_given_one_may_change() -> None:
    late = ctx(at(2026, 4, 1))
    unrated = item(replied())
    refused(
        "rating.window_closed", lambda: handling.rate(late, AUTHOR, unrated, "a1", Rating.SATISFIED)
    )
    rated = item(replied(rating=Rating.DISSATISFIED, rated_at=at(2026, 3, 11)))
    decision = handling.rate(late, AUTHOR, rated, "a1", Rating.SATISFIED)
    assert changed(only(decision, EventKind.RATED)).rating is Rating.SATISFIED


@pytest.mark.parametrize(
    ("actor", "assignment_id", "grade", "code"),
    [
        (COAUTHOR, "a1", Rating.SATISFIED, "permission.denied"),
        (STRANGER, "a1", Rating.SATISFIED, "permission.denied"),
        (EDITOR, "a1", Rating.SATISFIED, "permission.denied"),
        (UNIT_A, "a1", Rating.SATISFIED, "permission.denied"),
        (COUNTY_EDITOR, "a1", Rating.SATISFIED, "permission.jurisdiction"),
        (AUTHOR, "a1", Rating.NOT_RATED, "input.invalid"),
        (AUTHOR, "nope", Rating.SATISFIED, "not_found"),
        (AUTHOR, "a2", Rating.SATISFIED, "state.invalid_transition"),  # not replied
    ],
)
def test_rating_refusals(actor: Actor, assignment_id: str, grade: Rating, code: str) -> None:
    handling_item = item(replied(), assignment("a2", "u-b"))
    refused(code, lambda: handling.rate(ctx(), actor, handling_item, assignment_id, grade))


def test_coauthors_rate_when_the_rules_allow() -> None:
    rules = RuleSet(rating=RatingRules(coauthors_may_rate=True))
    decision = handling.rate(ctx(rules=rules), COAUTHOR, item(replied()), "a1", Rating.SATISFIED)
    assert changed(only(decision, EventKind.RATED)).rating is Rating.SATISFIED


@pytest.mark.parametrize(
    ("actor", "code"),
    [
        (AUTHOR, "rating.window_closed"),  # even a rating already given no longer changes
        (COAUTHOR, "permission.denied"),
        (STRANGER, "permission.denied"),
        (EDITOR, "permission.denied"),
        (UNIT_A, "permission.denied"),
        (COUNTY_EDITOR, "permission.jurisdiction"),
    ],
)
def test_rating_a_closed_item_is_refused(actor: Actor, code: str) -> None:
    closed = item(
        replied(rating=Rating.SATISFIED, rated_at=at(2026, 3, 11)), state=ItemState.CLOSED
    )
    refused(code, lambda: handling.rate(ctx(), actor, closed, "a1", Rating.DISSATISFIED))
    # before any assignment is looked up: the same answer for an id that does not exist
    refused(code, lambda: handling.rate(ctx(), actor, closed, "no-such", Rating.DISSATISFIED))


# --- re-handling ----------------------------------------------------------------------------


def dissatisfied(**changes: Any) -> Item:
    rated = replied(
        rating=Rating.DISSATISFIED,
        rated_at=at(2026, 3, 11),
        reminders=frozenset({DeadlineStatus.DUE_SOON}),
        **changes,
    )
    return item(rated, state=ItemState.REPLIED)


def test_rehandle_gives_a_new_deadline_and_resets_the_rating() -> None:
    now = at(2026, 3, 12)
    change = only(
        handling.order_rehandle(ctx(now), EDITOR, dissatisfied(), "a1", "请重新研究"),
        EventKind.REHANDLE_ORDERED,
    )
    assert change.state is ItemState.HANDLING
    assert change.fields == ItemPatch(rehandles=1)
    assert change.note == "请重新研究"
    a = changed(change)
    assert (a.state, a.due, a.provisional) == (AssignmentState.ACCEPTED, date(2026, 4, 2), False)
    assert (a.rating, a.rated_at, a.rating_closes) == (Rating.NOT_RATED, None, None)
    assert (a.rehandles, a.reminders) == (1, frozenset())
    assert a.replies == dissatisfied().assignments[0].replies  # the first reply is kept


def test_rehandle_into_a_year_without_schedule_is_provisional() -> None:
    decision = handling.order_rehandle(ctx(at(2026, 12, 21)), EDITOR, dissatisfied(), "a1", "再办")
    a = changed(only(decision, EventKind.REHANDLE_ORDERED))
    assert a.provisional is True and type(a.due) is date


@pytest.mark.parametrize(
    ("actor", "source", "code"),
    [
        (EDITOR, item(replied(rating=Rating.SATISFIED), state=ItemState.REPLIED), "input.invalid"),
        (EDITOR, dissatisfied(rehandles=1), "input.too_large"),  # at most once
        (EDITOR, item(replied(), state=ItemState.REPLIED), "input.invalid"),  # not rated
        (AUTHOR, dissatisfied(), "permission.denied"),
        (COUNTY_EDITOR, dissatisfied(), "permission.jurisdiction"),
    ],
)
def test_rehandle_refusals(actor: Actor, source: Item, code: str) -> None:
    refused(code, lambda: handling.order_rehandle(ctx(), actor, source, "a1", "再办"))


def test_rehandle_needs_a_reason() -> None:
    refused(
        "reason.required", lambda: handling.order_rehandle(ctx(), EDITOR, dissatisfied(), "a1", "")
    )


def test_a_rating_window_into_an_unpublished_year_is_provisional() -> None:
    """第十二条: the window is a deadline like the reply's, marked provisional where it runs
    into a year with no official schedule."""
    late = at(2026, 12, 15)
    a = assignment(assigned_at=at(2026, 12, 1), due=date(2026, 12, 22))
    two = item(a, assignment("a2", "u-b"))  # one reply of two: only REPLIED
    window = changed(only(handling.reply(ctx(late), UNIT_A, two, "a1", "答复"), EventKind.REPLIED))
    assert window.rating_provisional
    assert window.rating_closes == CALENDAR.add_working_days(date(2026, 12, 15), 15)
    two = item(assignment(), assignment("a2", "u-b"))
    early = changed(only(handling.reply(ctx(), UNIT_A, two, "a1", "答复"), EventKind.REPLIED))
    assert not early.rating_provisional
