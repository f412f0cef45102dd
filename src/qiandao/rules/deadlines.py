"""Deadlines of 第十条: the calendar they need, reply due date, decline window, extensions, overdue.

All instants are aware datetimes; a day is a day in Asia/Shanghai and a deadline date ends at the
end of that day there. Overdue is derived from these functions, never stored. A deadline is a
:class:`Due`: its day and the years without an official schedule it was counted through.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import attrs

from qiandao._enum import LabelledEnum
from qiandao.calendar import DeadlineExplanation
from qiandao.errors import DeadlinePassed, InvalidInput, InvalidWorkdayCount, LimitExceeded

__all__ = [
    "SHANGHAI",
    "DeadlineRules",
    "DeadlineStatus",
    "Due",
    "WorkdayCalendar",
    "check_decline_window",
    "classify",
    "decline_until",
    "due_after",
    "end_of_day",
    "extended_due",
    "local_day",
    "reply_due",
    "very_overdue_from",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
"""China Standard Time (``Asia/Shanghai``): deadlines and working days are counted in it."""


class WorkdayCalendar(Protocol):
    """What the deadline rules need of a calendar (``ChinaWorkdays`` or a host's own).

    Answers are plain ``date``/``int``; bad input raises ``InvalidDate`` or
    ``InvalidWorkdayCount``. ``qiandao.testing.calendar.CalendarContract`` checks all of this.
    """

    def is_working_day(self, d: date, /) -> bool:
        """True when ``d`` is a working day."""
        ...

    def add_working_days(self, d: date, n: int, /) -> date:
        """The n-th working day after ``d`` (``d`` not counted); before ``d`` when n < 0; d if 0."""
        ...

    def working_days_between(self, a: date, b: date, /) -> int:
        """The working days ``w`` with a < w <= b; negative, mirrored, when b < a."""
        ...

    def explain(self, d: date, n: int, /) -> DeadlineExplanation:
        """``add_working_days(d, n)`` with the days counted and skipped, and the notices used."""
        ...

    def provisional_years(self, first: date, last: date, /) -> tuple[int, ...]:
        """The years of the days ``first..last`` (inclusive) that have no official schedule."""
        ...


def _sorted_years(years: Iterable[int]) -> tuple[int, ...]:
    return tuple(sorted(set(years))) if years else ()


@attrs.frozen
class Due:
    """A deadline day and the years without an official schedule it depends on (sorted)."""

    day: date = attrs.field(validator=attrs.validators.instance_of(date))
    """The deadline day (a calendar day in Asia/Shanghai)."""
    provisional_years: tuple[int, ...] = attrs.field(default=(), converter=_sorted_years)
    """Years without an official schedule the day depends on (sorted)."""

    @property
    def provisional(self) -> bool:
        """True when the day will be recounted once those years' official schedules are out."""
        return bool(self.provisional_years)


def due_after(calendar: WorkdayCalendar, start: date, workdays: int) -> Due:
    """The ``workdays``-th working day after ``start``, with the provisional years it depends on."""
    day = calendar.add_working_days(start, workdays)
    if workdays > 0:
        return Due(day, calendar.provisional_years(start + timedelta(days=1), day))
    if workdays < 0:
        return Due(day, calendar.provisional_years(day, start - timedelta(days=1)))
    return Due(day)


_non_negative = attrs.validators.ge(0)
_positive = attrs.validators.ge(1)


@attrs.frozen
class DeadlineRules:
    """Working-day figures of 第十条 as settings (defaults: the Zhoushan rules)."""

    reply_workdays: int = attrs.field(default=15, validator=_positive)
    """Working days a unit has to reply in writing after assignment (第十条)."""
    decline_workdays: int = attrs.field(default=3, validator=_non_negative)
    """Working days after assignment within which a unit may ask to decline (第十条)."""
    max_extensions: int = attrs.field(default=1, validator=_non_negative)
    """How many extensions one assignment may get (第十条)."""
    max_extension_workdays: int = attrs.field(default=15, validator=_positive)
    """Most working days one extension may add (第十条)."""
    due_soon_workdays: int = attrs.field(default=3, validator=_non_negative)
    """Working days before the due day from which an assignment is due soon."""
    very_overdue_workdays: int = attrs.field(default=10, validator=_positive)
    """Working days past the due day after which an unreplied assignment is very overdue."""


class DeadlineStatus(LabelledEnum):
    """Where an unreplied assignment stands against its deadline at an instant."""

    ON_TRACK = "on_track", "未到期"
    DUE_SOON = "due_soon", "即将到期"
    DUE_TODAY = "due_today", "今日到期"
    OVERDUE = "overdue", "已逾期"
    VERY_OVERDUE = "very_overdue", "严重逾期"


def local_day(instant: datetime) -> date:
    """The Asia/Shanghai calendar day of an aware instant (naive datetimes are refused)."""
    if not isinstance(instant, datetime) or instant.utcoffset() is None:
        raise InvalidInput("时间必须带时区", field="now")
    if instant.tzinfo is SHANGHAI:  # already Shanghai time (the usual clock): no conversion
        return instant.date()
    return instant.astimezone(SHANGHAI).date()


def end_of_day(day: date) -> datetime:
    """The instant a deadline day ends: midnight after it, Asia/Shanghai (exclusive bound)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def reply_due(calendar: WorkdayCalendar, assigned_at: datetime, rules: DeadlineRules) -> Due:
    """The written reply is due on the n-th working day after the day of assignment."""
    return due_after(calendar, local_day(assigned_at), rules.reply_workdays)


def decline_until(calendar: WorkdayCalendar, assigned_at: datetime, rules: DeadlineRules) -> Due:
    """Last day a unit may decline (申退) an assignment."""
    return due_after(calendar, local_day(assigned_at), rules.decline_workdays)


def check_decline_window(
    calendar: WorkdayCalendar, assigned_at: datetime, now: datetime, rules: DeadlineRules
) -> None:
    """Refuse a decline after the window (default 3 working days after assignment)."""
    last = decline_until(calendar, assigned_at, rules).day
    if local_day(now) > last:
        raise DeadlinePassed(
            f"申退须在交办后{rules.decline_workdays}个工作日内提出（截至{last.isoformat()}）",
            until=last.isoformat(),
        )


def extended_due(
    calendar: WorkdayCalendar,
    current_due: date,
    extra_workdays: int,
    *,
    requested_at: datetime,
    extensions_used: int,
    rules: DeadlineRules,
) -> Due:
    """The new due date of an approved extension, or the error that refuses it."""
    if type(extra_workdays) is not int or extra_workdays < 1:
        raise InvalidWorkdayCount("延期天数须为正整数", field="extra_workdays")
    if extra_workdays > rules.max_extension_workdays:
        raise LimitExceeded(
            f"延期不得超过{rules.max_extension_workdays}个工作日",
            article="第十条",
            limit=rules.max_extension_workdays,
        )
    if extensions_used >= rules.max_extensions:
        raise LimitExceeded(
            f"每件信息最多延期{rules.max_extensions}次",
            article="第十条",
            limit=rules.max_extensions,
        )
    if local_day(requested_at) > current_due:
        raise DeadlinePassed("延期须在答复期限届满前申请", until=current_due.isoformat())
    return due_after(calendar, current_due, extra_workdays)


def very_overdue_from(calendar: WorkdayCalendar, due: date, rules: DeadlineRules) -> date:
    """First day an unreplied assignment counts as very overdue."""
    return calendar.add_working_days(due, rules.very_overdue_workdays) + timedelta(days=1)


def classify(
    calendar: WorkdayCalendar, due: date, now: datetime, rules: DeadlineRules
) -> DeadlineStatus:
    """Classify an unreplied assignment at ``now`` (the deadline ends at the end of ``due``)."""
    today = local_day(now)
    if today > due:
        if today >= very_overdue_from(calendar, due, rules):
            return DeadlineStatus.VERY_OVERDUE
        return DeadlineStatus.OVERDUE
    if today == due:
        return DeadlineStatus.DUE_TODAY
    if calendar.working_days_between(today, due) <= rules.due_soon_workdays:
        return DeadlineStatus.DUE_SOON
    return DeadlineStatus.ON_TRACK
