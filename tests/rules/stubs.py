"""A stub calendar for rule tests: Monday to Friday, no holidays."""

from __future__ import annotations

from datetime import date, timedelta


class WeekdayCalendar:
    """Every Monday–Friday is a working day; answers by walking (tests only)."""

    def is_working_day(self, d: date, /) -> bool:
        return d.weekday() < 5

    def add_working_days(self, d: date, n: int, /) -> date:
        step = 1 if n >= 0 else -1
        remaining = abs(n)
        while remaining:
            d += timedelta(days=step)
            if self.is_working_day(d):
                remaining -= 1
        return d

    def working_days_between(self, a: date, b: date, /) -> int:
        lo, hi, sign = (a, b, 1) if a <= b else (b, a, -1)
        count = sum(
            1 for i in range(1, (hi - lo).days + 1) if self.is_working_day(lo + timedelta(days=i))
        )
        return sign * count
