"""The periodic job: reminders once each per deadline, closing rating windows; safe to run twice.

A host runs :meth:`JobCommands.run_due_jobs` from a scheduler (e.g. hourly). Each item is handled
in its own unit of work, so an item someone else is changing never holds up the others, and what
was already done is recorded on the item itself (``Assignment.reminders``, ``rated_at``), so a
second run finds nothing new to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from types import MappingProxyType

import attrs

from qiandao._core import Actor
from qiandao._legacy import _LegacyCore
from qiandao.errors import ConcurrencyConflict, InvalidInput
from qiandao.events import Change, EventKind
from qiandao.model import Assignment, Item
from qiandao.ports.store import AssignmentQuery, UnitOfWork
from qiandao.rules.deadlines import (
    DeadlineStatus,
    WorkdayCalendar,
    classify,
    end_of_day,
    local_day,
)
from qiandao.rules.lifecycle import AWAITING_UNIT_STATES, OPEN_ASSIGNMENT_STATES
from qiandao.rules.rating import Rating
from qiandao.rules.roles import Role
from qiandao.rules.workdays import ProvisionalDate
from qiandao.workflow.context import Decision

__all__ = ["SYSTEM_ACTOR_ID", "JobCommands", "JobReport"]

SYSTEM_ACTOR_ID = "system:jobs"
"""The ``actor_id`` of events the periodic job records (no account has this id)."""

_REMIND = frozenset(
    {
        DeadlineStatus.DUE_SOON,
        DeadlineStatus.DUE_TODAY,
        DeadlineStatus.OVERDUE,
        DeadlineStatus.VERY_OVERDUE,
    }
)


def _counts(value: Mapping[DeadlineStatus, int]) -> Mapping[DeadlineStatus, int]:
    return MappingProxyType({s: value.get(s, 0) for s in DeadlineStatus if s in _REMIND})


@attrs.frozen
class JobReport:
    """What one run did: reminders sent per status, rating windows closed, items skipped."""

    reminders: Mapping[DeadlineStatus, int] = attrs.field(
        factory=dict, converter=_counts, hash=False
    )
    ratings_closed: int = 0
    conflicts: int = 0

    @property
    def reminders_sent(self) -> int:
        """All reminders of this run."""
        return sum(self.reminders.values())


class JobCommands(_LegacyCore):
    """The periodic job: reminders once each per deadline, rating windows closed; idempotent."""

    def _due_events(self, item: Item, now: datetime) -> tuple[Decision, list[DeadlineStatus]]:
        """Reminders not yet sent for the current status, and rating windows that have closed."""
        rules = self.rules_for(item.jurisdiction)
        today = local_day(now)
        decision: Decision = []
        sent: list[DeadlineStatus] = []
        for a in item.assignments:
            if a.state in AWAITING_UNIT_STATES:  # not DECLINED: that waits on the office
                status = classify(self.calendar, a.due, now, rules.deadlines)
                if status in _REMIND and status not in a.reminders:
                    reminded = attrs.evolve(a, reminders=a.reminders | {status})
                    change = Change(assignment=reminded, note=status.label)
                    decision.append((EventKind.REMINDER_SENT, change))
                    sent.append(status)
            elif (closes := a.rating_pending_until) is not None and closes < today:
                # still 未评价 when its window ended: record the window as closed
                closed = attrs.evolve(a, rated_at=end_of_day(closes))
                change = Change(assignment=closed, note=Rating.NOT_RATED.label)
                decision.append((EventKind.RATING_CLOSED, change))
        return decision, sent

    def _candidate_items(self, now: datetime) -> list[str]:
        """Items that may need the job: open work due soon or later, or replies awaiting rating."""
        today = local_day(now)
        soon = max(
            r.deadlines.due_soon_workdays for r in (self._default_rules, *self._rules.values())
        )
        # Due strictly before the (soon+1)-th working day after today ⇔ due soon, today or overdue.
        horizon = self.calendar.add_working_days(today, soon + 1)
        with self.store.unit_of_work() as uow:
            open_work = uow.items.assignments(
                AssignmentQuery(
                    states=AWAITING_UNIT_STATES, due_before=horizon, reminders_done=False
                )
            )
            expired = uow.items.assignments(AssignmentQuery(rating_closed_before=today))
        ids = [item.id for item, _ in open_work]
        ids += [item.id for item, _ in expired]
        return list(dict.fromkeys(ids))

    def run_due_jobs(self, now: datetime | None = None) -> JobReport:
        """Send due reminders (each status once per deadline) and close expired rating windows.

        Each item is decided and saved in its own unit of work; an item changed concurrently is
        skipped (counted in ``conflicts``) and picked up by the next run. Notices are dispatched
        after the run; a failing notifier leaves them pending for a later ``dispatch()``.
        """
        instant = self.now() if now is None else now
        if not isinstance(instant, datetime) or instant.utcoffset() is None:
            raise InvalidInput("时间必须带时区", field="now")
        reminders: dict[DeadlineStatus, int] = {}
        ratings_closed = conflicts = 0
        for item_id in self._candidate_items(instant):
            try:
                with self.store.unit_of_work() as uow:
                    item = uow.items.get(item_id)
                    decision, sent = self._due_events(item, instant)
                    if not decision:
                        continue
                    actor = Actor(SYSTEM_ACTOR_ID, Role.SYSTEM_ADMIN, item.jurisdiction)
                    self._stage(uow, item, decision, actor, instant)
                    uow.commit()
            except ConcurrencyConflict:
                conflicts += 1
                continue
            ratings_closed += len(decision) - len(sent)
            for status in sent:
                reminders[status] = reminders.get(status, 0) + 1
        self._drain()
        return JobReport(reminders, ratings_closed, conflicts)

    def _drain(self) -> None:
        """Dispatch until the outbox is empty or a whole batch failed (tried again next run)."""
        if not (self.dispatch_after_commit and self.notifier is not None):
            return
        while True:
            report = self.dispatch()
            if report.sent == 0 or report.sent + report.failed < 100:
                return

    def adopt_calendar(self, calendar: WorkdayCalendar) -> int:
        """Switch to ``calendar`` (e.g. one with a newly published official year) and recompute.

        Provisional deadlines of open assignments keep their count of working days from the same
        start under the new calendar; when a date moves, a DEADLINE_RECOMPUTED event tells the
        unit (DESIGN §2.4). The service keeps the old calendar until every item is done, so a
        failed run can simply be run again. Returns how many assignments changed.
        """
        old = self.calendar
        with self.store.unit_of_work() as uow:
            pairs = uow.items.assignments(AssignmentQuery(states=OPEN_ASSIGNMENT_STATES))
        item_ids = list(dict.fromkeys(item.id for item, a in pairs if a.provisional))
        changed = 0
        for item_id in item_ids:

            def work(uow: UnitOfWork, now: datetime, item_id: str = item_id) -> int:
                item = uow.items.get(item_id)
                decision: Decision = []
                for a in item.assignments:
                    if not (a.open and a.provisional):
                        continue
                    moved = _recomputed(a, old, calendar)
                    if moved != a:
                        note = f"办理期限由{a.due.isoformat()}调整为{moved.due.isoformat()}"
                        change = Change(assignment=moved, note=note)
                        decision.append((EventKind.DEADLINE_RECOMPUTED, change))
                if decision:
                    actor = Actor(SYSTEM_ACTOR_ID, Role.SYSTEM_ADMIN, item.jurisdiction)
                    self._stage(uow, item, decision, actor, now)
                return len(decision)

            changed += self._legacy_transact(work, any_conflict=True)
        self.calendar = calendar
        return changed


def _recomputed(a: Assignment, old: WorkdayCalendar, new: WorkdayCalendar) -> Assignment:
    """The assignment with its dates recounted under ``new``: same working days, same start."""
    start = local_day(a.assigned_at)
    due = new.add_working_days(start, old.working_days_between(start, a.due))
    decline = new.add_working_days(start, old.working_days_between(start, a.decline_until))
    moved = attrs.evolve(
        a,
        due=date.fromordinal(due.toordinal()),
        decline_until=date.fromordinal(decline.toordinal()),
        provisional=isinstance(due, ProvisionalDate),
    )
    if moved.due != a.due:  # a new date: its reminders start afresh
        moved = attrs.evolve(moved, reminders=frozenset())
    return moved
