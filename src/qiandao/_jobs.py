"""The periodic job: reminders once each per deadline, closing rating windows, purging ended
sessions; safe to run twice.

A host runs :meth:`JobCommands.run_due_jobs` from a scheduler (e.g. hourly). It reads only the
assignments whose stored attention key (:mod:`qiandao.attention`) has come, by index and in pages,
and decides their items a batch per unit of work; a batch that meets a conflict is redone item by
item, so an item someone else is changing never holds up the others. What was already done is
recorded on the item itself (``Assignment.reminders``, ``rated_at``), so a second run finds
nothing new to do.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TypeVar

import attrs

from qiandao import planning
from qiandao._auditing import AuditCommands
from qiandao._core import Tx, _positive_lease
from qiandao._planning import read_progress
from qiandao.attention import attention_cutoffs
from qiandao.errors import ConcurrencyConflict
from qiandao.lanes import item_position
from qiandao.model import Item
from qiandao.ports.store import AssignmentQuery, AttentionQuery, ReviewWaitQuery
from qiandao.rules.deadlines import DeadlineStatus, WorkdayCalendar, local_day
from qiandao.workflow import jobs, timeliness
from qiandao.workflow.jobs import REMINDER_STATUSES

__all__ = ["JOB_LEASE", "JOB_LEASE_NAME", "SYSTEM_ACTOR_ID", "JobCommands", "JobReport"]

R = TypeVar("R")

SYSTEM_ACTOR_ID = "system:jobs"
"""The ``actor_id`` of events the periodic job records (no account has this id)."""


def _counts(value: Mapping[DeadlineStatus, int]) -> Mapping[DeadlineStatus, int]:
    return MappingProxyType({s: value.get(s, 0) for s in DeadlineStatus if s in REMINDER_STATUSES})


@attrs.frozen
class JobReport:
    """What one run did: reminders sent per status, rating windows closed, items skipped."""

    reminders: Mapping[DeadlineStatus, int] = attrs.field(
        factory=dict, converter=_counts, hash=False
    )
    ratings_closed: int = 0
    conflicts: int = 0
    reviews_reminded: int = 0  # review stages past their window (第五条), reminded once each
    sessions_purged: int = 0  # sessions ended (idle, lifetime) deleted from the store
    audit_anchor: str = ""  # the checkpoint written at the end of the run, "sequence:hash"
    skipped: bool = False  # another instance held the job's lease: this run did nothing
    plan_reminders: int = 0  # people behind their annual plan's target (第六条), once a year

    @property
    def reminders_sent(self) -> int:
        """All reminders of this run."""
        return sum(self.reminders.values())


def _run_due(tx: Tx, item: Item) -> tuple[tuple[DeadlineStatus, ...], int]:
    """One item's reminders and closed rating windows; returns the statuses and windows closed."""
    decision, sent = jobs.due_events(tx.context(item.jurisdiction), item)
    tx.stage(item, decision, actor_id=SYSTEM_ACTOR_ID)
    return sent, len(decision) - len(sent)


def _remind_review(tx: Tx, item: Item) -> int:
    """One item's review reminder if its stage is past the window; returns 1 if sent."""
    decision = timeliness.review_overdue(tx.context(item.jurisdiction), item)
    tx.stage(item, decision, actor_id=SYSTEM_ACTOR_ID)
    return len(decision)


PLAN_REMINDED = "plan_reminded"
"""The audit's event kind of the job's reminders of people behind the annual plan."""


def _remind_plan(tx: Tx, jurisdiction: str, year: int) -> int:
    """Remind, once, each person behind a person-group target of the plan; how many."""
    plan = tx.uow.plans.get(jurisdiction, year)
    if plan is None:
        return 0
    today = local_day(tx.now)
    progress = read_progress(tx.uow, plan, today, today)
    notices, reminded = planning.reminders(plan, progress, tx.now, tx.context(jurisdiction).new_id)
    if not notices:
        return 0
    tx.uow.plans.save(reminded, plan.version)
    tx.notify(notices)
    tx.audit_events.append(PLAN_REMINDED)
    tx.audit_targets.append(plan.id)
    return len(notices)


JOB_LEASE_NAME = "run_due_jobs"
"""The lease row the periodic job runs under (one run at a time across instances)."""
JOB_LEASE = timedelta(minutes=30)
"""How long a run holds the job's lease; a crashed run's lease lets the next one in after it."""


def _take_lease(tx: Tx, owner: str, until: datetime) -> bool:
    return tx.uow.leases.acquire(JOB_LEASE_NAME, owner, tx.now, until)


def _end_lease(tx: Tx, owner: str) -> None:
    tx.uow.leases.release(JOB_LEASE_NAME, owner)


_PURGE_BATCH = 500
"""Sessions deleted per unit of work by the purge."""
_ATTENTION_PAGE = 500
"""Rows of the job's attention index read per page."""
_JOB_BATCH = 100
"""Items the job decides and saves per unit of work (one by one after a conflict)."""


def _each(tx: Tx, item_ids: Sequence[str], one: Callable[[Tx, Item], R]) -> list[R]:
    """``one`` for each item, in one unit of work, the items read at once."""
    loaded = tx.uow.items.get_many(item_ids)
    return [one(tx, loaded.get(item_id) or tx.uow.items.get(item_id)) for item_id in item_ids]


def _purge_sessions(tx: Tx, before: datetime) -> int:
    """Delete one batch of sessions that ended before ``before``; how many."""
    return tx.uow.sessions.purge_expired(before, _PURGE_BATCH)


def _recompute(tx: Tx, item_id: str, calendar: WorkdayCalendar) -> int:
    """One item's provisional deadlines recounted under ``calendar``; returns how many moved."""
    item = tx.uow.items.get(item_id)
    decision = jobs.recompute_deadlines(tx.context(item.jurisdiction), item, calendar)
    tx.stage(item, decision, actor_id=SYSTEM_ACTOR_ID)
    return len(decision)


class JobCommands(AuditCommands):
    """The periodic job: reminders once each per deadline, rating windows closed; idempotent."""

    def _candidate_items(self, now: datetime) -> Iterator[str]:
        """Items with an assignment whose next reminder or rating-window close has come (its
        stored :func:`~qiandao.attention.attention` key before its kind's cut-off), each once:
        read by index a page at a time, between which the caller handles them. The first page
        of every kind is read in one unit of work (a run with nothing due: one)."""
        rules = [r.deadlines for r in (self._default_rules, *self._rules.values())]
        cutoffs = attention_cutoffs(self.calendar, local_day(now), rules)
        queries = [
            AttentionQuery(k, before, limit=_ATTENTION_PAGE) for k, before in cutoffs.items()
        ]
        with self.store.unit_of_work() as uow:
            first = [uow.items.needing_attention(query) for query in queries]
        seen: set[str] = set()
        for kind_query, kind_page in zip(queries, first, strict=True):
            query, page = kind_query, kind_page
            while True:
                for position in page:
                    if position.item_id not in seen:
                        seen.add(position.item_id)
                        yield position.item_id
                if len(page) < _ATTENTION_PAGE:
                    break
                query = attrs.evolve(query, after=page[-1])
                with self.store.unit_of_work() as uow:
                    page = uow.items.needing_attention(query)

    def run_due_jobs(self, *, lease: timedelta | None = None) -> JobReport:
        """Send due reminders (each status once per deadline), close expired rating windows and
        purge ended sessions (``Session.expires_at`` passed, by index, in batches); then write
        an audit checkpoint binding every audit chain's head (its anchor in the report).

        The clock says when. Items are decided and saved a batch per unit of work, item by item
        after a conflict; an item changed concurrently is skipped (counted in ``conflicts``) and
        picked up by the next run.
        Notices are left for the worker's ``dispatch()`` (sent after the run when
        ``dispatch_after_commit``).

        The run holds a lease (``JOB_LEASE_NAME``, for ``lease``, ``JOB_LEASE`` unless given):
        while another instance's run holds it, this one does nothing and reports ``skipped``;
        the lease is released at the end, and a crashed run's lease runs out.
        """
        lease = _positive_lease(lease, JOB_LEASE)
        now = self.now()
        owner = self.dispatcher_id
        take = functools.partial(_take_lease, owner=owner, until=now + lease)
        if not self._transact(None, take, dispatch=False):  # the run's first, audited, record
            return JobReport(skipped=True)
        try:
            return self._run_due_jobs()
        finally:
            end = functools.partial(_end_lease, owner=owner)
            self._transact(None, end, dispatch=False, audit=False)

    def _run_due_jobs(self) -> JobReport:
        """One run of the periodic job, under its lease."""
        reminders: dict[DeadlineStatus, int] = {}
        due, conflicts = self._batched(self._candidate_items(self.now()), _run_due)
        ratings_closed = sum(closed for _, closed in due)
        for sent, _ in due:
            for status in sent:
                reminders[status] = reminders.get(status, 0) + 1
        reviewed, review_conflicts = self._batched(self._late_reviews(self.now()), _remind_review)
        reviews = sum(reviewed)
        conflicts += review_conflicts
        plans, plan_conflicts = self._remind_plans()
        purged = self._purge_sessions(self.now())
        self._drain()
        head = self.audit_checkpoint()
        anchor = f"{head.sequence}:{head.hash}"
        return JobReport(
            reminders,
            ratings_closed,
            conflicts + plan_conflicts,
            reviews,
            purged,
            anchor,
            plan_reminders=plans,
        )

    def _batched(
        self, item_ids: Iterable[str], one: Callable[[Tx, Item], R]
    ) -> tuple[list[R], int]:
        """``one`` for each item, a batch of items per unit of work (one audit record each); a
        batch that meets a conflict is rolled back and run again item by item, each in its own
        unit of work, so an item someone else is changing is skipped (counted, picked up by the
        next run) and never holds up the others. Returns the results and the conflicts."""
        results: list[R] = []
        conflicts = 0
        pending = iter(item_ids)
        while batch := list(itertools.islice(pending, _JOB_BATCH)):
            try:
                work = functools.partial(_each, item_ids=batch, one=one)
                results += self._transact(None, work, dispatch=False)
                continue
            except ConcurrencyConflict:
                pass
            for item_id in batch:
                try:
                    alone = functools.partial(_each, item_ids=(item_id,), one=one)
                    results += self._transact(None, alone, dispatch=False)
                except ConcurrencyConflict:
                    conflicts += 1
        return results, conflicts

    def _remind_plans(self) -> tuple[int, int]:
        """In the last quarter of a year, remind each person behind the year's plan of their
        jurisdiction, once (a plan per unit of work); the reminders sent and the conflicts."""
        today = local_day(self.now())
        if not planning.reminder_due(today, today.year):
            return 0, 0
        with self.store.unit_of_work() as uow:
            places = [plan.jurisdiction for plan in uow.plans.of_year(today.year)]
        sent = conflicts = 0
        for jurisdiction in places:
            work = functools.partial(_remind_plan, jurisdiction=jurisdiction, year=today.year)
            try:
                sent += self._transact(None, work, dispatch=False)
            except ConcurrencyConflict:
                conflicts += 1
        return sent, conflicts

    def _purge_sessions(self, now: datetime) -> int:
        """Delete the sessions ended before ``now``, a batch per unit of work; how many."""
        purged = 0
        while True:
            work = functools.partial(_purge_sessions, before=now)
            batch: int = self._transact(None, work, dispatch=False)
            purged += batch
            if batch < _PURGE_BATCH:
                return purged

    def _late_reviews(self, now: datetime) -> list[str]:
        """Items at a review stage, not reminded for it, that entered it before the cut-off:
        read by index in keyset pages; each is checked exactly when decided."""
        every = (self._default_rules, *self._rules.values())
        before, urgent_before = timeliness.wait_cutoffs(local_day(now), [r.intake for r in every])
        query = ReviewWaitQuery(before, urgent_before, reminded=False, limit=500)
        ids: list[str] = []
        with self.store.unit_of_work() as uow:
            while batch := uow.items.review_waits(query):
                ids += [item.id for item in batch]
                query = attrs.evolve(query, after=item_position(batch[-1]))
        return ids

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
        start under the new calendar (passed ones too: the unit still owes the reply); when a
        date moves, a DEADLINE_RECOMPUTED event tells the unit (第十条). Provisional rating
        windows still awaiting a first rating keep their count from the day of the reply; a
        RATING_WINDOW_RECOMPUTED event tells those who may rate. A window whose last day is
        already before today is final (the job records 未评价), and a closed item's windows are
        never recounted.
        The service keeps the old calendar until every item is done, so a failed run can simply
        be run again. Returns how many assignments changed.
        """
        with self.store.unit_of_work() as uow:
            pairs = uow.items.assignments(AssignmentQuery(provisional_only=True))
        item_ids = list(dict.fromkeys(item.id for item, _ in pairs))
        changed = 0
        for item_id in item_ids:
            work = functools.partial(_recompute, item_id=item_id, calendar=calendar)
            changed += self._transact(None, work, any_conflict=True)
        self.calendar = calendar
        return changed
