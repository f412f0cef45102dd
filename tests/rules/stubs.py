"""Stub calendars for rule tests: Monday to Friday, no holidays."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from qiandao.calendar import DayKind, DeadlineExplanation, ExplainedDay
from qiandao.errors import InvalidDate, InvalidWorkdayCount


def _day(value: object) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidDate(f"日期应为date：{value!r}", value=value)
    return value


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidWorkdayCount(f"工作日数应为整数：{value!r}", value=value)
    return value


class WeekdayCalendar:
    """Every Monday–Friday is a working day; answers by walking (tests only).

    Years from ``provisional_from`` on count as having no official schedule (same days).
    """

    def __init__(self, provisional_from: int | None = None) -> None:
        self.provisional_from = provisional_from

    def is_working_day(self, d: date, /) -> bool:
        return _day(d).weekday() < 5

    def add_working_days(self, d: date, n: int, /) -> date:
        d, remaining = _day(d), _count(n)
        step = timedelta(days=1 if remaining >= 0 else -1)
        while remaining:
            d += step
            if self.is_working_day(d):
                remaining -= 1 if remaining > 0 else -1
        return d

    def working_days_between(self, a: date, b: date, /) -> int:
        a, b = _day(a), _day(b)
        lo, hi, sign = (a, b, 1) if a <= b else (b, a, -1)
        count = sum(
            1 for i in range(1, (hi - lo).days + 1) if self.is_working_day(lo + timedelta(days=i))
        )
        return sign * count

    def provisional_years(self, first: date, last: date, /) -> tuple[int, ...]:
        first, last = _day(first), _day(last)
        if self.provisional_from is None or last < first:
            return ()
        return tuple(range(max(first.year, self.provisional_from), last.year + 1))

    def explain(self, d: date, n: int, /) -> DeadlineExplanation:
        due = self.add_working_days(d, n)
        step = timedelta(days=1 if n > 0 else -1)
        walked = [d + step * k for k in range(1, abs((due - d).days) + 1)]
        return DeadlineExplanation(
            start=d,
            workdays=n,
            due=due,
            provisional_years=self.provisional_years(*sorted((d + step, due))) if n else (),
            counted=tuple(day for day in walked if self.is_working_day(day)),
            skipped=tuple(
                ExplainedDay(day, DayKind.WEEKEND, "")
                for day in walked
                if not self.is_working_day(day)
            ),
            makeup_counted=(),
            notices=(),
        )
