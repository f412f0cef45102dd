"""Handling (第十条) and rating (第十二条): assignment, decline, extensions, reply, rating.

The deadline clock runs from assignment, counted in Chinese working days (Asia/Shanghai); overdue
is derived from the stored due date, never stored. A new deadline (approved extension,
re-handling) starts a fresh set of reminders.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import attrs

from qiandao.actor import Actor
from qiandao.errors import InvalidInput, InvalidTransition, LimitExceeded, NotFound
from qiandao.events import Change, EventKind, ItemPatch
from qiandao.model import Assignment, ExtensionDecision, ExtensionRequest, Item, Reply, Unit
from qiandao.rules.deadlines import (
    Due,
    check_decline_window,
    extended_due,
    local_day,
)
from qiandao.rules.lifecycle import (
    AssignmentCommand,
    AssignmentState,
    ItemCommand,
    ItemState,
    next_item_state,
)
from qiandao.rules.rating import (
    GIVEN_RATINGS,
    Rating,
    check_rater,
    check_rating,
    check_rating_open,
    check_rehandle,
    rating_window,
)
from qiandao.rules.roles import Role
from qiandao.rules.text import check_id, clean_text, require_reason
from qiandao.workflow.context import Context, Decision
from qiandao.workflow.guards import assignment_step, find_assignment, item_step

__all__ = [
    "MAX_UNITS_PER_ASSIGN",
    "accept",
    "approve_extension",
    "assign",
    "cancel_assignment",
    "decline",
    "order_rehandle",
    "overrule",
    "rate",
    "reassign",
    "refuse_extension",
    "reply",
    "request_extension",
    "unit_entries",
]

_AC = AssignmentCommand

MAX_UNITS_PER_ASSIGN = 50
"""The most units one 交办 names: more is a mistake or an attack (each is looked up)."""


# --- helpers --------------------------------------------------------------------------------


def _stored_due(due: Due) -> tuple[date, bool]:
    """A computed deadline as an assignment stores it: the day, and whether it is provisional."""
    return due.day, due.provisional


def _reason(ctx: Context, reason: str | None) -> str:
    """A required written reason of 第十条, bounded by the jurisdiction's limit."""
    return require_reason(reason, max_chars=ctx.rules.intake.max_reason_chars, article="第十条")


def unit_entries(units: Sequence[str | tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Normalise ``units``: ``(unit_id, lead)`` pairs (a JSON pair is fine); a bare id is 协办."""
    if isinstance(units, str | bytes) or not isinstance(units, Sequence):
        raise InvalidInput("承办单位须为列表", field="units")
    if len(units) > MAX_UNITS_PER_ASSIGN:
        raise LimitExceeded(
            f"一次交办至多{MAX_UNITS_PER_ASSIGN}个承办单位",
            field="units",
            limit=MAX_UNITS_PER_ASSIGN,
        )
    entries: list[tuple[str, bool]] = []
    for index, entry in enumerate(units):
        if isinstance(entry, str):
            unit_id, lead = entry, False
        elif (
            isinstance(entry, tuple | list)
            and len(entry) == 2
            and isinstance(entry[0], str)
            and type(entry[1]) is bool
        ):
            unit_id, lead = entry[0], entry[1]
        else:
            raise InvalidInput(
                "承办单位须为单位编号或（单位编号, 是否主办）", field=f"units[{index}]"
            )
        entries.append((check_id(unit_id, f"units[{index}]"), lead))
    if not entries:
        raise InvalidInput("至少须交办一个承办单位（第十条）", field="units", article="第十条")
    ids = [unit_id for unit_id, _ in entries]
    if len(set(ids)) != len(ids):
        raise InvalidInput("同一承办单位不能重复交办", field="units")
    return entries


def _check_unit(item: Item, unit: Unit | str) -> Unit:
    """An active unit of the item's jurisdiction; a unit elsewhere (or unknown: a bare id) is
    not found. Checked after the actor's permission, so nobody learns which unit ids exist."""
    if isinstance(unit, str):
        raise NotFound(f"承办单位不存在：{unit}", id=unit)
    if unit.jurisdiction != item.jurisdiction:
        raise NotFound(f"承办单位不存在：{unit.id}", id=unit.id)
    if not unit.active:
        raise InvalidInput(f"承办单位已停用：{unit.name}", field="units")
    return unit


def _check_one_lead(
    open_assignments: Sequence[Assignment], new: Sequence[tuple[str, bool]]
) -> None:
    """When a lead (主办) is named, exactly one lead among the open assignments of the item."""
    named = sum(1 for _, lead in new if lead)
    if named and named + sum(1 for a in open_assignments if a.lead) != 1:
        raise InvalidInput("一件信息只能有一个主办单位", field="units", article="第十条")


def _new_assignment(ctx: Context, unit_id: str, lead: bool) -> Assignment:
    """A PENDING assignment whose reply is due on the n-th working day after today."""
    due, provisional = _stored_due(ctx.reply_due_now)
    last_decline, _ = _stored_due(ctx.decline_until_now)
    return Assignment(
        id=ctx.new_id(),
        unit_id=unit_id,
        lead=lead,
        state=AssignmentState.PENDING,
        assigned_at=ctx.now,
        due=due,
        decline_until=last_decline,
        provisional=provisional,
    )


def _all_replied(before: Item, changed: Assignment) -> Decision:
    """ALL_REPLIED when ``changed`` leaves a handling item with no open assignment and a reply.

    It is the system's consequence of the units' work, so the transition is looked up for
    the unit role whoever closed the last assignment (a reply, or the office's cancelling).
    Any assignment's reply counts, a cancelled one's too: cancelling a re-handling (重新办理)
    leaves its earlier reply standing. With no reply at all the item stays HANDLING, awaiting
    a new assignment (ASSIGN is allowed there).
    """
    if before.state is not ItemState.HANDLING:
        return []
    rest = [a for a in before.assignments if a.id != changed.id]
    if changed.open or any(a.open for a in rest):
        return []
    if not any(a.replies for a in (*rest, changed)):
        return []
    state = next_item_state(before.state, ItemCommand.ALL_REPLIED, Role.HANDLING_UNIT)
    return [(EventKind.ALL_REPLIED, Change(state=state))]


def _pending_request(assignment: Assignment) -> ExtensionRequest:
    """The extension request awaiting the office (the last one, while EXTENSION_REQUESTED)."""
    if not assignment.extensions or assignment.extensions[-1].decision is not (
        ExtensionDecision.PENDING
    ):  # pragma: no cover - the state table guarantees a pending request
        raise InvalidTransition("没有待审批的延期申请", id=assignment.id)
    return assignment.extensions[-1]


def _decided(assignment: Assignment, request: ExtensionRequest) -> tuple[ExtensionRequest, ...]:
    """The assignment's extension requests with the pending one replaced by its decision."""
    return (*assignment.extensions[:-1], request)


# --- assignment -----------------------------------------------------------------------------


def assign(
    ctx: Context,
    actor: Actor,
    item: Item,
    units: Sequence[tuple[Unit | str, bool]],
    note: str = "",
) -> Decision:
    """交办: the editor hands an adopted item to units, each with a 15-working-day deadline.

    ``units`` are the named units as loaded (a bare id for one that does not exist) with their
    lead (主办) flags, as :func:`unit_entries` gave them. Naming a lead requires exactly one
    lead among the item's open assignments.
    """
    state = item_step(actor, item, ItemCommand.ASSIGN)
    why = clean_text(
        note, "note", label="说明", max_chars=ctx.rules.intake.max_reason_chars, required=False
    )
    busy = {a.unit_id for a in item.open_assignments}
    found = [(_check_unit(item, unit), lead) for unit, lead in units]
    for unit, _ in found:
        if unit.id in busy:
            raise InvalidInput(f"{unit.name}已在办理此信息", field="units")
    _check_one_lead(item.open_assignments, [(unit.id, lead) for unit, lead in found])
    if ctx.probing:  # all that is left to refuse is counting the deadlines (a year too far)
        if found:
            _new_assignment(ctx, found[0][0].id, found[0][1])
        return []
    decision: Decision = []
    for unit, lead in found:
        assignment = _new_assignment(ctx, unit.id, lead)
        change = Change(state=None if decision else state, assignment=assignment, note=why)
        decision.append((EventKind.ASSIGNED, change))
    return decision


def accept(ctx: Context, actor: Actor, item: Item, assignment_id: str) -> Decision:
    """签收: the unit accepts its assignment; the deadline still runs from assignment."""
    assignment, state = assignment_step(actor, item, assignment_id, _AC.ACCEPT)
    return [(EventKind.ACCEPTED, Change(assignment=attrs.evolve(assignment, state=state)))]


def decline(ctx: Context, actor: Actor, item: Item, assignment_id: str, reason: str) -> Decision:
    """申退: a unit declines an item outside its remit, with a reason, within the window."""
    assignment, state = assignment_step(actor, item, assignment_id, _AC.DECLINE)
    why = _reason(ctx, reason)
    check_decline_window(ctx.calendar, assignment.assigned_at, ctx.now, ctx.rules.deadlines)
    declined = attrs.evolve(assignment, state=state, decline_reason=why)
    return [(EventKind.DECLINED, Change(assignment=declined, note=why))]


def reassign(
    ctx: Context,
    actor: Actor,
    item: Item,
    assignment_id: str,
    unit: Unit | str,
    lead: bool | None = None,
) -> Decision:
    """改派: the office moves a declined assignment to another unit, with a fresh deadline.

    ``unit`` is the new unit as loaded (a bare id if it does not exist); ``lead=None`` keeps
    the declined assignment's lead (主办) flag.
    """
    old, state = assignment_step(actor, item, assignment_id, _AC.REASSIGN)
    unit = _check_unit(item, unit)
    if unit.id == old.unit_id:
        raise InvalidInput("不能改派给申退的原单位；如不同意申退请驳回申退", field="unit_id")
    others = [a for a in item.open_assignments if a.id != old.id]
    if unit.id in {a.unit_id for a in others}:
        raise InvalidInput(f"{unit.name}已在办理此信息", field="unit_id")
    new_lead = old.lead if lead is None else lead
    _check_one_lead(others, [(unit.id, new_lead)])
    new = _new_assignment(ctx, unit.id, new_lead)
    moved = attrs.evolve(old, state=state, reassigned_to=new.id)
    return [
        (EventKind.REASSIGNED, Change(assignment=moved, note=unit.name)),
        (EventKind.ASSIGNED, Change(assignment=new)),
    ]


def overrule(ctx: Context, actor: Actor, item: Item, assignment_id: str, reason: str) -> Decision:
    """不同意申退: the office keeps the unit on the item; the deadline is unchanged."""
    assignment, state = assignment_step(actor, item, assignment_id, _AC.OVERRULE)
    why = _reason(ctx, reason)
    kept = attrs.evolve(assignment, state=state)
    return [(EventKind.OVERRULED, Change(assignment=kept, note=why))]


def cancel_assignment(
    ctx: Context, actor: Actor, item: Item, assignment_id: str, reason: str
) -> Decision:
    """撤销交办: the office withdraws an open assignment, with a reason.

    If that leaves a handling item with a reply (the cancelled assignment's own earlier reply
    included, after 重新办理) and nothing open, the item is REPLIED; with no reply at all it
    stays HANDLING until the office assigns again.
    """
    assignment, state = assignment_step(actor, item, assignment_id, _AC.CANCEL)
    why = _reason(ctx, reason)
    if ctx.probing:  # nothing below refuses
        return []
    cancelled = attrs.evolve(assignment, state=state)
    decision: Decision = [(EventKind.ASSIGNMENT_CANCELLED, Change(assignment=cancelled, note=why))]
    return decision + _all_replied(item, cancelled)


# --- extensions -----------------------------------------------------------------------------


def request_extension(
    ctx: Context, actor: Actor, item: Item, assignment_id: str, workdays: int, reason: str
) -> Decision:
    """申请延期: before the deadline, with a reason, within the count and size limits."""
    assignment, state = assignment_step(actor, item, assignment_id, _AC.REQUEST_EXTENSION)
    why = _reason(ctx, reason)
    extended_due(
        ctx.calendar,
        assignment.due,
        workdays,
        requested_at=ctx.now,
        extensions_used=assignment.approved_extensions,
        rules=ctx.rules.deadlines,
    )
    request = ExtensionRequest(requested_at=ctx.now, workdays=workdays, reason=why)
    asked = attrs.evolve(assignment, state=state, extensions=(*assignment.extensions, request))
    return [(EventKind.EXTENSION_REQUESTED, Change(assignment=asked, note=why))]


def approve_extension(
    ctx: Context, actor: Actor, item: Item, assignment_id: str, workdays: int | None = None
) -> Decision:
    """同意延期: the office grants the requested (or another) number of working days.

    The new due date counts from the current one; the request's time decides whether it was
    asked before the deadline. Reminders start afresh for the new deadline.
    """
    assignment, state = assignment_step(actor, item, assignment_id, _AC.APPROVE_EXTENSION)
    request = _pending_request(assignment)
    new_due, provisional = _stored_due(
        extended_due(
            ctx.calendar,
            assignment.due,
            request.workdays if workdays is None else workdays,
            requested_at=request.requested_at,
            extensions_used=assignment.approved_extensions,
            rules=ctx.rules.deadlines,
        )
    )
    decided = attrs.evolve(
        request,
        decision=ExtensionDecision.APPROVED,
        decided_by=actor.account_id,
        decided_at=ctx.now,
        new_due=new_due,
    )
    granted = attrs.evolve(
        assignment,
        state=state,
        due=new_due,
        provisional=provisional,
        extensions=_decided(assignment, decided),
        reminders=frozenset(),
    )
    note = f"延期至{new_due.isoformat()}"
    return [(EventKind.EXTENSION_APPROVED, Change(assignment=granted, note=note))]


def refuse_extension(
    ctx: Context, actor: Actor, item: Item, assignment_id: str, reason: str
) -> Decision:
    """不同意延期: the office refuses with a reason; the deadline stays."""
    assignment, state = assignment_step(actor, item, assignment_id, _AC.REFUSE_EXTENSION)
    why = _reason(ctx, reason)
    decided = attrs.evolve(
        _pending_request(assignment),
        decision=ExtensionDecision.REFUSED,
        decided_by=actor.account_id,
        decided_at=ctx.now,
    )
    refused = attrs.evolve(assignment, state=state, extensions=_decided(assignment, decided))
    return [(EventKind.EXTENSION_REFUSED, Change(assignment=refused, note=why))]


# --- reply, rating, re-handling -------------------------------------------------------------


def reply(ctx: Context, actor: Actor, item: Item, assignment_id: str, text: str) -> Decision:
    """书面答复: the unit replies (late replies are accepted and show as overdue).

    A reply while an extension request is pending leaves that request undecided (it lapses).
    The rating window opens; the last reply moves the item to REPLIED. The working days from
    the day of assignment to the day of this reply are kept on the assignment, so that stores
    can average them without a calendar.
    """
    assignment, state = assignment_step(actor, item, assignment_id, _AC.REPLY)
    body = clean_text(text, "text", label="答复", max_chars=ctx.rules.intake.max_body_chars)
    closes, provisional = _stored_due(rating_window(ctx.calendar, ctx.today, ctx.rules.rating))
    replied = attrs.evolve(
        assignment,
        state=state,
        replies=(*assignment.replies, Reply(body, actor.account_id, ctx.now)),
        rating_closes=closes,
        rating_provisional=provisional,
        reply_workdays=ctx.calendar.working_days_between(
            local_day(assignment.assigned_at), ctx.today
        ),
    )
    decision: Decision = [(EventKind.REPLIED, Change(assignment=replied))]
    return decision + _all_replied(item, replied)


def rate(ctx: Context, actor: Actor, item: Item, assignment_id: str, rating: Rating) -> Decision:
    """评价: the author rates a unit's reply; a given rating may change until the item closes.

    Closing ends the rating (第十二条): on a closed item an author who may rate is refused by
    :func:`~qiandao.rules.rating.check_rating_open` (a co-author who may not, by
    :func:`~qiandao.rules.rating.check_rater`) before anything else is looked up; anyone else
    is refused by relation and the transition table (which has no RATE on a closed item), so
    nobody learns which assignments exist.
    """
    is_lead_author = actor.account_id == item.lead_author_id
    is_coauthor = actor.account_id in item.coauthor_ids
    if item.state is ItemState.CLOSED and (is_lead_author or is_coauthor):
        check_rater(is_lead_author=is_lead_author, is_coauthor=is_coauthor, rules=ctx.rules.rating)
        check_rating_open(item_closed=True)
    item_step(actor, item, ItemCommand.RATE)
    assignment = find_assignment(item, assignment_id)
    if assignment.state is not AssignmentState.REPLIED or assignment.rating_closes is None:
        raise InvalidTransition(f"“{assignment.state.label}”状态下不能评价", article="第十二条")
    check_rating(
        rating,
        is_lead_author=is_lead_author,
        is_coauthor=is_coauthor,
        already_rated=assignment.rating in GIVEN_RATINGS,
        item_closed=False,  # a closed item was refused above
        window_closes=assignment.rating_closes,
        now=ctx.now,
        rules=ctx.rules.rating,
    )
    rated = attrs.evolve(assignment, rating=rating, rated_at=ctx.now)
    return [(EventKind.RATED, Change(assignment=rated, note=rating.label))]


def order_rehandle(
    ctx: Context, actor: Actor, item: Item, assignment_id: str, reason: str
) -> Decision:
    """重新办理 after 不满意: a new 15-working-day deadline from now; the rating resets."""
    item_state = item_step(actor, item, ItemCommand.REHANDLE)
    assignment, state = assignment_step(actor, item, assignment_id, _AC.REHANDLE)
    why = _reason(ctx, reason)
    check_rehandle(assignment.rating, assignment.rehandles, ctx.rules.rating)
    due, provisional = _stored_due(ctx.reply_due_now)
    again = attrs.evolve(
        assignment,
        state=state,
        due=due,
        provisional=provisional,
        rating=Rating.NOT_RATED,
        rated_at=None,
        rating_closes=None,
        rating_provisional=False,
        rehandles=assignment.rehandles + 1,
        reminders=frozenset(),
    )
    change = Change(
        state=item_state,
        assignment=again,
        fields=ItemPatch(rehandles=item.rehandles + 1),
        note=why,
    )
    return [(EventKind.REHANDLE_ORDERED, change)]
