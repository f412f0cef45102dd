"""The periodic job's decisions for one item, with no store: reminders, rating windows, dates."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import count
from typing import Any

import attrs

from qiandao.events import Change, EventKind
from qiandao.model import Assignment, Item, Reply
from qiandao.rules.deadlines import SHANGHAI, DeadlineRules, DeadlineStatus, end_of_day
from qiandao.rules.lifecycle import AssignmentState, ItemState
from qiandao.rules.rating import Rating
from qiandao.rules.ruleset import RuleSet
from qiandao.rules.workdays import ChinaWorkdays
from qiandao.testing.builders import sample_assignment, sample_item
from qiandao.workflow import jobs
from qiandao.workflow.context import Context
from tests.rules.stubs import WeekdayCalendar

S = DeadlineStatus
A = AssignmentState
DUE = date(2025, 3, 31)  # a Monday


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def context(now: datetime, rules: RuleSet | None = None, calendar: Any = None) -> Context:
    ids = count(1)
    return Context(
        rules or RuleSet.zhoushan(),
        calendar or ChinaWorkdays.official(),
        now,
        lambda: f"id-{next(ids)}",
    )


def assignment(assignment_id: str, state: AssignmentState, **changes: Any) -> Assignment:
    """An assignment of 10 March due 31 March, in ``state``, with nothing recorded yet."""
    base = attrs.evolve(
        sample_assignment(assignment_id, f"unit-{assignment_id}"),
        state=state,
        due=DUE,
        provisional=False,
        extensions=(),
        replies=(),
        rating=Rating.NOT_RATED,
        rated_at=None,
        rating_closes=None,
        rating_provisional=False,
        decline_reason=None,
        reassigned_to=None,
        rehandles=0,
        reminders=frozenset(),
        reply_workdays=None,
    )
    return attrs.evolve(base, **changes)


def handling(*assignments: Assignment) -> Item:
    return sample_item(state=ItemState.HANDLING, closed_at=None, assignments=assignments)


# --- reminders -------------------------------------------------------------------------------


def test_each_status_is_reminded_once() -> None:
    item = handling(assignment("a", A.ACCEPTED))
    expected = [
        (at(date(2025, 3, 25)), None),  # four working days left
        (at(date(2025, 3, 26)), S.DUE_SOON),
        (at(date(2025, 3, 31), 23), S.DUE_TODAY),
        (at(date(2025, 4, 1)), S.OVERDUE),
        (at(date(2025, 4, 16)), S.VERY_OVERDUE),  # ten working days, 清明 (4–6 April) skipped
    ]
    for now, status in expected:
        decision, sent = jobs.due_events(context(now), item)
        if status is None:
            assert (decision, sent) == ([], ())
            continue
        reminded = attrs.evolve(
            item.assignments[0], reminders=item.assignments[0].reminders | {status}
        )
        assert decision == [
            (EventKind.REMINDER_SENT, Change(assignment=reminded, note=status.label))
        ]
        assert sent == (status,)
        item = attrs.evolve(item, assignments=(reminded,))
        assert jobs.due_events(context(now), item) == ([], ())  # the same run again: nothing


def test_a_late_first_run_reminds_only_the_current_status() -> None:
    item = handling(assignment("a", A.PENDING))
    decision, sent = jobs.due_events(context(at(date(2025, 5, 6))), item)
    assert sent == (S.VERY_OVERDUE,)
    assert decision[0][1].assignment is not None
    assert decision[0][1].assignment.reminders == {S.VERY_OVERDUE}


def test_only_a_unit_that_owes_a_reply_is_reminded() -> None:
    owes = [assignment(s.value, s) for s in (A.PENDING, A.ACCEPTED, A.EXTENSION_REQUESTED)]
    waits = [assignment(s.value, s) for s in (A.DECLINED, A.REASSIGNED, A.CANCELLED)]
    replied = assignment("replied", A.REPLIED, rating=Rating.SATISFIED, rated_at=at(DUE))
    item = handling(*owes, *waits, replied)
    decision, sent = jobs.due_events(context(at(date(2025, 4, 1))), item)
    assert sent == (S.OVERDUE,) * 3
    assert [c.assignment.id for _, c in decision if c.assignment] == [a.id for a in owes]


def test_the_thresholds_are_the_jurisdictions() -> None:
    rules = RuleSet(deadlines=DeadlineRules(due_soon_workdays=5))
    item = handling(assignment("a", A.ACCEPTED))
    now = at(date(2025, 3, 24))  # five working days before 31 March
    assert jobs.due_events(context(now), item) == ([], ())
    assert jobs.due_events(context(now, rules), item)[1] == (S.DUE_SOON,)


# --- rating windows --------------------------------------------------------------------------


def test_a_rating_window_closes_the_day_after_its_last_day() -> None:
    closes = date(2025, 4, 23)
    item = handling(assignment("a", A.REPLIED, rating_closes=closes))
    assert jobs.due_events(context(at(closes, 23)), item) == ([], ())
    decision, sent = jobs.due_events(context(at(closes + timedelta(days=1), 0)), item)
    closed = attrs.evolve(item.assignments[0], rated_at=end_of_day(closes))
    assert decision == [
        (EventKind.RATING_CLOSED, Change(assignment=closed, note=Rating.NOT_RATED.label))
    ]
    assert sent == ()
    again = attrs.evolve(item, assignments=(closed,))
    assert jobs.due_events(context(at(date(2025, 5, 1))), again) == ([], ())


def test_a_given_rating_is_not_closed() -> None:
    rated = assignment(
        "a", A.REPLIED, rating=Rating.SATISFIED, rated_at=at(DUE), rating_closes=date(2025, 4, 23)
    )
    assert jobs.due_events(context(at(date(2025, 5, 6))), handling(rated)) == ([], ())


# --- recomputed deadlines --------------------------------------------------------------------


class _WithHoliday(WeekdayCalendar):
    """Weekdays, except a holiday on Friday 28 March 2025."""

    def is_working_day(self, d: date, /) -> bool:
        return super().is_working_day(d) and d != date(2025, 3, 28)


OLD, NEW = WeekdayCalendar(), _WithHoliday()
ASSIGNED_ON = date(2025, 3, 10)
REPLIED_ON = date(2025, 3, 12)


def provisional_open(assignment_id: str = "a", **changes: Any) -> Assignment:
    """An accepted assignment of 10 March with a provisional deadline: 31 March under OLD
    (1 April under NEW), declinable until 13 March."""
    return assignment(
        assignment_id,
        A.ACCEPTED,
        provisional=True,
        due=OLD.add_working_days(ASSIGNED_ON, 15),
        decline_until=OLD.add_working_days(ASSIGNED_ON, 3),
        **changes,
    )


def waiting_window(assignment_id: str = "a") -> Assignment:
    """Replied on 12 March, awaiting its first rating: a provisional window to 2 April under
    OLD (3 April under NEW, through the new holiday)."""
    reply = (Reply("已答复。", "unit-a", at(REPLIED_ON, 15)),)
    closes = OLD.add_working_days(REPLIED_ON, 15)
    return assignment(
        assignment_id, A.REPLIED, replies=reply, rating_closes=closes, rating_provisional=True
    )


def test_provisional_deadlines_keep_their_working_days_under_the_new_calendar() -> None:
    provisional = provisional_open(reminders=frozenset({S.DUE_SOON}))
    official = assignment("b", A.ACCEPTED, due=OLD.add_working_days(ASSIGNED_ON, 15))
    replied = assignment(
        "c", A.REPLIED, provisional=True, due=OLD.add_working_days(ASSIGNED_ON, 15)
    )
    item = handling(provisional, official, replied)
    ctx = context(at(date(2025, 3, 20)), calendar=OLD)

    decision = jobs.recompute_deadlines(ctx, item, NEW)

    moved = attrs.evolve(
        provisional,
        due=date(2025, 4, 1),
        decline_until=date(2025, 3, 13),
        provisional=False,
        reminders=frozenset(),  # a new date: its reminders start afresh
    )
    note = "办理期限由2025-03-31调整为2025-04-01"
    assert decision == [(EventKind.DEADLINE_RECOMPUTED, Change(assignment=moved, note=note))]
    settled = attrs.evolve(item, assignments=(moved, official, replied))
    assert jobs.recompute_deadlines(ctx, settled, NEW) == []  # official now: nothing to move


def test_a_passed_provisional_reply_deadline_is_still_recounted() -> None:
    """The unit still owes the reply: its deadline is recounted even after it has passed."""
    late = provisional_open()
    ctx = context(at(date(2025, 4, 2)), calendar=OLD)  # after both the old and the new due day
    decision = jobs.recompute_deadlines(ctx, handling(late), NEW)
    assert [k for k, _ in decision] == [EventKind.DEADLINE_RECOMPUTED]
    assert decision[0][1].assignment is not None
    assert decision[0][1].assignment.due == date(2025, 4, 1)


def test_an_unmoved_date_keeps_its_reminders() -> None:
    calendar = WeekdayCalendar()
    a = assignment("a", A.PENDING, provisional=True, reminders=frozenset({S.DUE_SOON}))
    assert jobs.recomputed(a, calendar, calendar) == attrs.evolve(a, provisional=False)


def test_provisional_rating_windows_keep_their_working_days_from_the_reply() -> None:
    """第十二条: a window still awaiting its first rating is recounted from the day of the reply;
    a rated or official window is left alone."""
    waiting = waiting_window()
    rated = attrs.evolve(
        waiting, id="b", rating=Rating.SATISFIED, rated_at=at(REPLIED_ON + timedelta(days=1))
    )
    official = attrs.evolve(waiting, id="c", rating_provisional=False)
    item = attrs.evolve(handling(waiting, rated, official), state=ItemState.REPLIED)
    ctx = context(at(date(2025, 3, 20)), calendar=OLD)

    decision = jobs.recompute_deadlines(ctx, item, NEW)

    moved = attrs.evolve(waiting, rating_closes=date(2025, 4, 3), rating_provisional=False)
    assert moved == jobs.recomputed_rating_window(waiting, OLD, NEW)
    note = "评价期限由2025-04-02调整为2025-04-03"
    assert decision == [(EventKind.RATING_WINDOW_RECOMPUTED, Change(assignment=moved, note=note))]
    settled = attrs.evolve(item, assignments=(moved, rated, official))
    assert jobs.recompute_deadlines(ctx, settled, NEW) == []


def test_a_rating_window_over_before_the_calendar_is_adopted_is_final() -> None:
    """A window whose last day is before today (Asia/Shanghai) is not recounted, even when the
    new calendar would lengthen it; one ending today still is."""
    waiting = waiting_window()
    assert waiting.rating_closes is not None
    closes = waiting.rating_closes
    item = attrs.evolve(handling(waiting), state=ItemState.REPLIED)
    last_day = context(at(closes, 23), calendar=OLD)
    assert [k for k, _ in jobs.recompute_deadlines(last_day, item, NEW)] == [
        EventKind.RATING_WINDOW_RECOMPUTED
    ]
    day_after = context(at(closes + timedelta(days=1), 0), calendar=OLD)
    assert jobs.recompute_deadlines(day_after, item, NEW) == []


def test_the_rating_window_of_a_closed_item_is_not_recounted() -> None:
    """Closing ends the rating (第十二条): even a window not yet over is left alone."""
    closed = attrs.evolve(
        handling(waiting_window()), state=ItemState.CLOSED, closed_at=at(date(2025, 3, 19))
    )
    assert jobs.recompute_deadlines(context(at(date(2025, 3, 20)), calendar=OLD), closed, NEW) == []
