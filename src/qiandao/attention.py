"""When an assignment next needs the periodic job (第十、十二条): a stored key, a query cut-off.

The job reminds each deadline status once and closes rating windows that ended unrated. Which of
these an assignment waits for next depends only on the assignment: :func:`attention` gives it as
a kind and a day (its due day, or the last day of its rating window), which a store keeps beside
the assignment and indexes. Whether that day has come depends on the calendar and the rules,
which the service holds: :func:`attention_cutoffs` turns "today" into one cut-off day per kind,
and the job asks the store only for the rows whose day is before their kind's cut-off. The key
does not depend on the calendar, so a new calendar (``adopt_calendar``) leaves it valid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from types import MappingProxyType

import attrs

from qiandao._enum import LabelledEnum
from qiandao.model import Assignment
from qiandao.rules.deadlines import DeadlineRules, DeadlineStatus, WorkdayCalendar
from qiandao.rules.lifecycle import AWAITING_UNIT_STATES

__all__ = ["Attention", "AttentionKey", "attention", "attention_cutoffs"]


class Attention(LabelledEnum):
    """What an assignment waits for from the periodic job next."""

    DUE_SOON = "due_soon", "即将到期提醒"
    DUE_TODAY = "due_today", "今日到期提醒"
    OVERDUE = "overdue", "逾期提醒"
    VERY_OVERDUE = "very_overdue", "严重逾期提醒"
    RATING_CLOSE = "rating_close", "评价期满"


_REMINDERS = (
    (DeadlineStatus.DUE_SOON, Attention.DUE_SOON),
    (DeadlineStatus.DUE_TODAY, Attention.DUE_TODAY),
    (DeadlineStatus.OVERDUE, Attention.OVERDUE),
    (DeadlineStatus.VERY_OVERDUE, Attention.VERY_OVERDUE),
)
"""The reminder statuses in the order a deadline passes through them."""


@attrs.frozen
class AttentionKey:
    """The next thing the job does for an assignment, and the day it is counted from."""

    kind: Attention
    """The reminder it waits for, or the close of its rating window."""
    day: date
    """The due day (reminders) or the last day of the rating window (its close)."""


def attention(a: Assignment) -> AttentionKey | None:
    """What the job does next for ``a`` (``None``: nothing, until a command changes it).

    An assignment awaiting its unit waits for the reminder after the latest one sent (statuses
    only move forward while the due day stands, and a new due day clears the reminders); one
    awaiting its first rating waits for its window to close.
    """
    if a.state in AWAITING_UNIT_STATES:
        sent = [n for n, (status, _) in enumerate(_REMINDERS) if status in a.reminders]
        following = max(sent) + 1 if sent else 0
        if following == len(_REMINDERS):
            return None
        return AttentionKey(_REMINDERS[following][1], a.due)
    if (closes := a.rating_pending_until) is not None:
        return AttentionKey(Attention.RATING_CLOSE, closes)
    return None


def attention_cutoffs(
    calendar: WorkdayCalendar, today: date, rules: Iterable[DeadlineRules]
) -> Mapping[Attention, date]:
    """Per kind, the day before which an :func:`attention` day has come at ``today``.

    Exact for one set of rules; with several (county overrides) the loosest figures are used,
    so every row due under some rules is found (the job then decides each item by its own).
    """
    every = list(rules) or [DeadlineRules()]
    soon = max(r.due_soon_workdays for r in every)
    very = min(r.very_overdue_workdays for r in every)
    return MappingProxyType(
        {
            # due soon (or later) ⇔ due before the (soon+1)-th working day after today
            Attention.DUE_SOON: calendar.add_working_days(today, soon + 1),
            Attention.DUE_TODAY: today + timedelta(days=1),
            Attention.OVERDUE: today,
            # very overdue ⇔ the very-th working day after the due day is before today
            Attention.VERY_OVERDUE: calendar.add_working_days(today, -very),
            Attention.RATING_CLOSE: today,
        }
    )
