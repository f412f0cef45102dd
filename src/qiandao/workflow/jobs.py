"""The periodic job's decisions (第十、十二条): reminders, closed rating windows, recomputed dates.

For one item at a time: which reminders are due and not yet sent (each status once per deadline,
only while the unit owes a reply), which rating windows have closed unrated, and how provisional
deadlines move when a newly published official year replaces the calendar (第十条).
"""

from __future__ import annotations

import attrs

from qiandao.events import Change, EventKind
from qiandao.model import Assignment, Item
from qiandao.rules.deadlines import (
    DeadlineStatus,
    WorkdayCalendar,
    classify,
    due_after,
    end_of_day,
    local_day,
)
from qiandao.rules.lifecycle import AWAITING_UNIT_STATES, ItemState
from qiandao.rules.rating import Rating
from qiandao.workflow.context import Context, Decision

__all__ = [
    "REMINDER_STATUSES",
    "due_events",
    "recompute_deadlines",
    "recomputed",
    "recomputed_rating_window",
]

REMINDER_STATUSES = frozenset(
    {
        DeadlineStatus.DUE_SOON,
        DeadlineStatus.DUE_TODAY,
        DeadlineStatus.OVERDUE,
        DeadlineStatus.VERY_OVERDUE,
    }
)
"""The deadline statuses that send a reminder, each once per deadline."""


def due_events(ctx: Context, item: Item) -> tuple[Decision, tuple[DeadlineStatus, ...]]:
    """Reminders not yet sent for the current status, and rating windows that have closed.

    Returns the decision and the status of each reminder in it (in order), for the job's report.
    """
    decision: Decision = []
    sent: list[DeadlineStatus] = []
    for a in item.assignments:
        if a.state in AWAITING_UNIT_STATES:  # not DECLINED: that waits on the office
            status = classify(ctx.calendar, a.due, ctx.now, ctx.rules.deadlines)
            if status in REMINDER_STATUSES and status not in a.reminders:
                reminded = attrs.evolve(a, reminders=a.reminders | {status})
                decision.append(
                    (EventKind.REMINDER_SENT, Change(assignment=reminded, note=status.label))
                )
                sent.append(status)
        elif (closes := a.rating_pending_until) is not None and closes < ctx.today:
            # still 未评价 when its window ended: record the window as closed
            closed = attrs.evolve(a, rated_at=end_of_day(closes))
            decision.append(
                (EventKind.RATING_CLOSED, Change(assignment=closed, note=Rating.NOT_RATED.label))
            )
    return decision, tuple(sent)


def recomputed(a: Assignment, old: WorkdayCalendar, new: WorkdayCalendar) -> Assignment:
    """The assignment with its dates recounted under ``new``: same working days, same start."""
    start = local_day(a.assigned_at)
    due = due_after(new, start, old.working_days_between(start, a.due))
    decline = new.add_working_days(start, old.working_days_between(start, a.decline_until))
    moved = attrs.evolve(a, due=due.day, decline_until=decline, provisional=due.provisional)
    if moved.due != a.due:  # a new date: its reminders start afresh
        moved = attrs.evolve(moved, reminders=frozenset())
    return moved


def recomputed_rating_window(
    a: Assignment, old: WorkdayCalendar, new: WorkdayCalendar
) -> Assignment:
    """The assignment with its rating window recounted under ``new``: same working days from
    the day of the last reply (第十二条)."""
    if a.rating_closes is None or not a.replies:  # pragma: no cover - only replied ones count
        return a
    start = local_day(a.replies[-1].at)
    closes = due_after(new, start, old.working_days_between(start, a.rating_closes))
    return attrs.evolve(a, rating_closes=closes.day, rating_provisional=closes.provisional)


def recompute_deadlines(ctx: Context, item: Item, calendar: WorkdayCalendar) -> Decision:
    """Provisional dates recounted from ``ctx.calendar`` to ``calendar``.

    ``ctx.calendar`` is the calendar the dates were counted with. A moved reply deadline of an
    open assignment is a DEADLINE_RECOMPUTED event (it tells the unit), even one already passed:
    the unit still owes the reply. A moved rating window still awaiting its first rating is a
    RATING_WINDOW_RECOMPUTED event (it tells those who may rate), unless it is final: a window
    whose last day is before today (Asia/Shanghai) is over and stays over (the job records
    未评价), and a closed item's windows are never recounted (第十二条: closing ends the rating).
    As for reply deadlines, a date confirmed unchanged (no longer provisional) is recorded too.
    """
    decision: Decision = []
    closed = item.state is ItemState.CLOSED
    for a in item.assignments:
        if a.open and a.provisional:
            moved = recomputed(a, ctx.calendar, calendar)
            if moved != a:
                note = f"办理期限由{a.due.isoformat()}调整为{moved.due.isoformat()}"
                change = Change(assignment=moved, note=note)
                decision.append((EventKind.DEADLINE_RECOMPUTED, change))
        elif (
            a.rating_provisional
            and (last := a.rating_pending_until) is not None
            and last >= ctx.today
            and not closed
        ):
            moved = recomputed_rating_window(a, ctx.calendar, calendar)
            if moved != a:
                note = f"评价期限由{a.rating_closes}调整为{moved.rating_closes}"
                change = Change(assignment=moved, note=note)
                decision.append((EventKind.RATING_WINDOW_RECOMPUTED, change))
    return decision
