"""Handling (第十条): assign, accept, decline, reassign, extensions, reply; rating (第十二条).

The deadline clock runs from assignment, counted in Chinese working days (Asia/Shanghai); overdue
is derived from the stored due date, never stored. A new deadline (approved extension,
re-handling) starts a fresh set of reminders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import attrs

from qiandao._core import Actor
from qiandao._legacy import _LegacyCore
from qiandao.errors import InvalidInput, InvalidTransition, NotFound, WindowClosed
from qiandao.events import Change, EventKind, ItemPatch
from qiandao.model import Assignment, ExtensionDecision, ExtensionRequest, Item, Reply, Unit
from qiandao.ports.store import UnitOfWork
from qiandao.rules.deadlines import (
    check_decline_window,
    decline_until,
    extended_due,
    local_day,
    reply_due,
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
    check_rating,
    check_rehandle,
    rating_window_closes,
)
from qiandao.rules.roles import Role
from qiandao.rules.ruleset import RuleSet
from qiandao.rules.text import clean_text, require_reason
from qiandao.workflow.context import Decision

__all__ = ["HandlingCommands"]

_AC = AssignmentCommand
_DECIDE_IN = Callable[[UnitOfWork, Item, datetime], Decision]


def _reason(rules: RuleSet, reason: str | None) -> str:
    """A required written reason of 第十条, bounded by the jurisdiction's limit."""
    return require_reason(reason, max_chars=rules.intake.max_reason_chars, article="第十条")


def _unit_entries(units: Sequence[str | tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Normalise ``units``: ``(unit_id, lead)`` pairs (a JSON pair is fine); a bare id is 协办."""
    if isinstance(units, str | bytes) or not isinstance(units, Sequence):
        raise InvalidInput("承办单位须为列表", field="units")
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
        if not unit_id.strip():
            raise InvalidInput("承办单位编号不能为空", field=f"units[{index}]")
        entries.append((unit_id, lead))
    if not entries:
        raise InvalidInput("至少须交办一个承办单位（第十条）", field="units", article="第十条")
    ids = [unit_id for unit_id, _ in entries]
    if len(set(ids)) != len(ids):
        raise InvalidInput("同一承办单位不能重复交办", field="units")
    return entries


def _check_one_lead(
    open_assignments: Sequence[Assignment], new: Sequence[tuple[str, bool]]
) -> None:
    """When a lead (主办) is named, exactly one lead among the open assignments of the item."""
    named = sum(1 for _, lead in new if lead)
    if named and named + sum(1 for a in open_assignments if a.lead) != 1:
        raise InvalidInput("一件信息只能有一个主办单位", field="units", article="第十条")


def _pending_request(assignment: Assignment) -> ExtensionRequest:
    """The extension request awaiting the office (the last one, while EXTENSION_REQUESTED)."""
    if not assignment.extensions or assignment.extensions[-1].decision is not (
        ExtensionDecision.PENDING
    ):  # pragma: no cover - the state table guarantees a pending request
        raise InvalidTransition("没有待审批的延期申请", id=assignment.id)
    return assignment.extensions[-1]


def _decided(assignment: Assignment, request: ExtensionRequest) -> tuple[ExtensionRequest, ...]:
    return (*assignment.extensions[:-1], request)


class HandlingCommands(_LegacyCore):
    """Handling (第十条): assignment, decline, extensions, reply; rating (第十二条)."""

    # --- machinery ------------------------------------------------------------------------

    @staticmethod
    def _handling_unit(uow: UnitOfWork, item: Item, unit_id: str) -> Unit:
        """An active unit of the item's jurisdiction; a unit elsewhere is not found."""
        unit = uow.units.get(unit_id)
        if unit.jurisdiction != item.jurisdiction:
            raise NotFound(f"承办单位不存在：{unit_id}", id=unit_id)
        if not unit.active:
            raise InvalidInput(f"承办单位已停用：{unit.name}", field="units")
        return unit

    def _new_assignment(self, item: Item, unit_id: str, lead: bool, now: datetime) -> Assignment:
        """A PENDING assignment whose reply is due on the n-th working day after today."""
        rules = self.rules_for(item.jurisdiction).deadlines
        due = reply_due(self.calendar, now, rules)
        return Assignment(
            id=self.new_id(),
            unit_id=unit_id,
            lead=lead,
            state=AssignmentState.PENDING,
            assigned_at=now,
            due=due.day,
            decline_until=decline_until(self.calendar, now, rules).day,
            provisional=due.provisional,
        )

    @staticmethod
    def _all_replied(before: Item, changed: Assignment) -> Decision:
        """ALL_REPLIED when ``changed`` leaves a handling item with no open assignment.

        It is the system's consequence of the units' work, so the transition is looked up for
        the unit role whoever closed the last assignment (a reply, or the office's cancelling).
        """
        if before.state is not ItemState.HANDLING:
            return []
        rest = [a for a in before.assignments if a.id != changed.id]
        if changed.open or any(a.open for a in rest):
            return []
        if not any(a.state is AssignmentState.REPLIED for a in (*rest, changed)):
            return []
        state = next_item_state(before.state, ItemCommand.ALL_REPLIED, Role.HANDLING_UNIT)
        return [(EventKind.ALL_REPLIED, Change(state=state))]

    # --- assignment -----------------------------------------------------------------------

    def assign(
        self,
        actor: Actor,
        item_id: str,
        units: Sequence[str | tuple[str, bool]],
        *,
        note: str = "",
    ) -> Item:
        """交办: the editor hands an adopted item to units, each with a 15-working-day deadline.

        ``units`` holds ``(unit_id, lead)`` pairs or bare unit ids (协办). Naming a lead (主办)
        requires exactly one lead among the item's open assignments.
        """
        entries = _unit_entries(units)

        def decide(uow: UnitOfWork, item: Item, now: datetime) -> Decision:
            state = self._item_step(actor, item, ItemCommand.ASSIGN)
            rules = self.rules_for(item.jurisdiction)
            why = clean_text(note, "说明", max_chars=rules.intake.max_reason_chars, required=False)
            busy = {a.unit_id for a in item.open_assignments}
            for unit_id, _ in entries:
                unit = self._handling_unit(uow, item, unit_id)
                if unit_id in busy:
                    raise InvalidInput(f"{unit.name}已在办理此信息", field="units")
            _check_one_lead(item.open_assignments, entries)
            decision: Decision = []
            for unit_id, lead in entries:
                assignment = self._new_assignment(item, unit_id, lead, now)
                change = Change(state=None if decision else state, assignment=assignment, note=why)
                decision.append((EventKind.ASSIGNED, change))
            return decision

        return self._run_with_uow(actor, item_id, decide)

    def accept(self, actor: Actor, item_id: str, assignment_id: str) -> Item:
        """签收: the unit accepts its assignment; the deadline still runs from assignment."""

        def decide(item: Item, now: datetime) -> Decision:
            assignment, state = self._assignment_step(actor, item, assignment_id, _AC.ACCEPT)
            return [(EventKind.ACCEPTED, Change(assignment=attrs.evolve(assignment, state=state)))]

        return self._run(actor, item_id, decide)

    def decline(self, actor: Actor, item_id: str, assignment_id: str, reason: str) -> Item:
        """申退: a unit declines an item outside its remit, with a reason, within the window."""

        def decide(item: Item, now: datetime) -> Decision:
            assignment, state = self._assignment_step(actor, item, assignment_id, _AC.DECLINE)
            rules = self.rules_for(item.jurisdiction)
            why = _reason(rules, reason)
            check_decline_window(self.calendar, assignment.assigned_at, now, rules.deadlines)
            declined = attrs.evolve(assignment, state=state, decline_reason=why)
            return [(EventKind.DECLINED, Change(assignment=declined, note=why))]

        return self._run(actor, item_id, decide)

    def reassign(
        self,
        actor: Actor,
        item_id: str,
        assignment_id: str,
        unit_id: str,
        *,
        lead: bool | None = None,
    ) -> Item:
        """改派: the office moves a declined assignment to another unit, with a fresh deadline.

        ``lead=None`` keeps the declined assignment's lead (主办) flag.
        """
        if not isinstance(unit_id, str) or not unit_id.strip():
            raise InvalidInput("承办单位编号不能为空", field="unit_id")
        if lead is not None and type(lead) is not bool:
            raise InvalidInput("是否主办须为布尔值", field="lead")

        def decide(uow: UnitOfWork, item: Item, now: datetime) -> Decision:
            old, state = self._assignment_step(actor, item, assignment_id, _AC.REASSIGN)
            unit = self._handling_unit(uow, item, unit_id)
            if unit_id == old.unit_id:
                raise InvalidInput(
                    "不能改派给申退的原单位；如不同意申退请驳回申退", field="unit_id"
                )
            others = [a for a in item.open_assignments if a.id != old.id]
            if unit_id in {a.unit_id for a in others}:
                raise InvalidInput(f"{unit.name}已在办理此信息", field="unit_id")
            new_lead = old.lead if lead is None else lead
            _check_one_lead(others, [(unit_id, new_lead)])
            new = self._new_assignment(item, unit_id, new_lead, now)
            moved = attrs.evolve(old, state=state, reassigned_to=new.id)
            return [
                (EventKind.REASSIGNED, Change(assignment=moved, note=unit.name)),
                (EventKind.ASSIGNED, Change(assignment=new)),
            ]

        return self._run_with_uow(actor, item_id, decide)

    def overrule(self, actor: Actor, item_id: str, assignment_id: str, reason: str) -> Item:
        """不同意申退: the office keeps the unit on the item; the deadline is unchanged."""

        def decide(item: Item, now: datetime) -> Decision:
            assignment, state = self._assignment_step(actor, item, assignment_id, _AC.OVERRULE)
            why = _reason(self.rules_for(item.jurisdiction), reason)
            kept = attrs.evolve(assignment, state=state)
            return [(EventKind.OVERRULED, Change(assignment=kept, note=why))]

        return self._run(actor, item_id, decide)

    def cancel_assignment(
        self, actor: Actor, item_id: str, assignment_id: str, reason: str
    ) -> Item:
        """撤销交办: the office withdraws an open assignment, with a reason.

        If that leaves a handling item with replies and nothing open, the item is REPLIED.
        """

        def decide(item: Item, now: datetime) -> Decision:
            assignment, state = self._assignment_step(actor, item, assignment_id, _AC.CANCEL)
            why = _reason(self.rules_for(item.jurisdiction), reason)
            cancelled = attrs.evolve(assignment, state=state)
            decision: Decision = [
                (EventKind.ASSIGNMENT_CANCELLED, Change(assignment=cancelled, note=why))
            ]
            return decision + self._all_replied(item, cancelled)

        return self._run(actor, item_id, decide)

    # --- extensions -----------------------------------------------------------------------

    def request_extension(
        self, actor: Actor, item_id: str, assignment_id: str, workdays: int, reason: str
    ) -> Item:
        """申请延期: before the deadline, with a reason, within the count and size limits."""

        def decide(item: Item, now: datetime) -> Decision:
            assignment, state = self._assignment_step(
                actor, item, assignment_id, _AC.REQUEST_EXTENSION
            )
            rules = self.rules_for(item.jurisdiction)
            why = _reason(rules, reason)
            extended_due(
                self.calendar,
                assignment.due,
                workdays,
                requested_at=now,
                extensions_used=assignment.approved_extensions,
                rules=rules.deadlines,
            )
            request = ExtensionRequest(requested_at=now, workdays=workdays, reason=why)
            asked = attrs.evolve(
                assignment, state=state, extensions=(*assignment.extensions, request)
            )
            return [(EventKind.EXTENSION_REQUESTED, Change(assignment=asked, note=why))]

        return self._run(actor, item_id, decide)

    def approve_extension(
        self, actor: Actor, item_id: str, assignment_id: str, workdays: int | None = None
    ) -> Item:
        """同意延期: the office grants the requested (or another) number of working days.

        The new due date counts from the current one; the request's time decides whether it was
        asked before the deadline. Reminders start afresh for the new deadline.
        """

        def decide(item: Item, now: datetime) -> Decision:
            assignment, state = self._assignment_step(
                actor, item, assignment_id, _AC.APPROVE_EXTENSION
            )
            request = _pending_request(assignment)
            new_due = extended_due(
                self.calendar,
                assignment.due,
                request.workdays if workdays is None else workdays,
                requested_at=request.requested_at,
                extensions_used=assignment.approved_extensions,
                rules=self.rules_for(item.jurisdiction).deadlines,
            )
            decided = attrs.evolve(
                request,
                decision=ExtensionDecision.APPROVED,
                decided_by=actor.account_id,
                decided_at=now,
                new_due=new_due.day,
            )
            granted = attrs.evolve(
                assignment,
                state=state,
                due=new_due.day,
                provisional=new_due.provisional,
                extensions=_decided(assignment, decided),
                reminders=frozenset(),
            )
            note = f"延期至{new_due.day.isoformat()}"
            return [(EventKind.EXTENSION_APPROVED, Change(assignment=granted, note=note))]

        return self._run(actor, item_id, decide)

    def refuse_extension(self, actor: Actor, item_id: str, assignment_id: str, reason: str) -> Item:
        """不同意延期: the office refuses with a reason; the deadline stays."""

        def decide(item: Item, now: datetime) -> Decision:
            assignment, state = self._assignment_step(
                actor, item, assignment_id, _AC.REFUSE_EXTENSION
            )
            why = _reason(self.rules_for(item.jurisdiction), reason)
            decided = attrs.evolve(
                _pending_request(assignment),
                decision=ExtensionDecision.REFUSED,
                decided_by=actor.account_id,
                decided_at=now,
            )
            refused = attrs.evolve(
                assignment, state=state, extensions=_decided(assignment, decided)
            )
            return [(EventKind.EXTENSION_REFUSED, Change(assignment=refused, note=why))]

        return self._run(actor, item_id, decide)

    # --- reply, rating, re-handling -------------------------------------------------------

    def reply(self, actor: Actor, item_id: str, assignment_id: str, text: str) -> Item:
        """书面答复: the unit replies (late replies are accepted and show as overdue).

        A reply while an extension request is pending leaves that request undecided (it lapses).
        The rating window opens; the last reply moves the item to REPLIED. The working days
        from the day of assignment to the day of this reply are kept on the assignment, so that
        stores can average them without a calendar.
        """

        def decide(item: Item, now: datetime) -> Decision:
            assignment, state = self._assignment_step(actor, item, assignment_id, _AC.REPLY)
            rules = self.rules_for(item.jurisdiction)
            body = clean_text(text, "答复", max_chars=rules.intake.max_body_chars)
            today = local_day(now)
            replied = attrs.evolve(
                assignment,
                state=state,
                replies=(*assignment.replies, Reply(body, actor.account_id, now)),
                rating_closes=rating_window_closes(self.calendar, today, rules.rating),
                reply_workdays=self.calendar.working_days_between(
                    local_day(assignment.assigned_at), today
                ),
            )
            decision: Decision = [(EventKind.REPLIED, Change(assignment=replied))]
            return decision + self._all_replied(item, replied)

        return self._run(actor, item_id, decide)

    def rate(self, actor: Actor, item_id: str, assignment_id: str, rating: Rating | str) -> Item:
        """评价: the author rates a unit's reply; a given rating may change until closing."""
        grade = Rating.parse(rating)

        def decide(item: Item, now: datetime) -> Decision:
            if item.state is ItemState.CLOSED and actor.account_id in item.authors:
                raise WindowClosed("信息已办结，不能再评价")
            self._item_step(actor, item, ItemCommand.RATE)
            assignment = item.assignment(assignment_id)
            if assignment is None:
                raise NotFound(f"交办记录不存在：{assignment_id}", id=assignment_id)
            if assignment.state is not AssignmentState.REPLIED or assignment.rating_closes is None:
                raise InvalidTransition(
                    f"“{assignment.state.label}”状态下不能评价", article="第十二条"
                )
            check_rating(
                grade,
                is_lead_author=actor.account_id == item.lead_author_id,
                is_coauthor=actor.account_id in item.coauthor_ids,
                already_rated=assignment.rating in GIVEN_RATINGS,
                item_closed=False,
                window_closes=assignment.rating_closes,
                now=now,
                rules=self.rules_for(item.jurisdiction).rating,
            )
            rated = attrs.evolve(assignment, rating=grade, rated_at=now)
            return [(EventKind.RATED, Change(assignment=rated, note=grade.label))]

        return self._run(actor, item_id, decide)

    def order_rehandle(self, actor: Actor, item_id: str, assignment_id: str, reason: str) -> Item:
        """重新办理 after 不满意: a new 15-working-day deadline from now; the rating resets."""

        def decide(item: Item, now: datetime) -> Decision:
            item_state = self._item_step(actor, item, ItemCommand.REHANDLE)
            assignment, state = self._assignment_step(actor, item, assignment_id, _AC.REHANDLE)
            rules = self.rules_for(item.jurisdiction)
            why = _reason(rules, reason)
            check_rehandle(assignment.rating, assignment.rehandles, rules.rating)
            due = reply_due(self.calendar, now, rules.deadlines)
            again = attrs.evolve(
                assignment,
                state=state,
                due=due.day,
                provisional=due.provisional,
                rating=Rating.NOT_RATED,
                rated_at=None,
                rating_closes=None,
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

        return self._run(actor, item_id, decide)
