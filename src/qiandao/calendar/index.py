"""The lookup index: prefix arrays that answer working-day arithmetic without walking days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from qiandao.calendar.values import YearSchedule

__all__ = ["WorkdayIndex", "year_flags"]


def year_flags(schedule: YearSchedule) -> bytes:
    """One byte per day of the schedule's year: 1 for a working day, 0 for a day off."""
    start = date(schedule.year, 1, 1).toordinal()
    size = date(schedule.year + 1, 1, 1).toordinal() - start
    first = date(schedule.year, 1, 1).weekday()
    buf = bytearray(1 if (first + k) % 7 < 5 else 0 for k in range(size))
    for day in schedule.holidays:
        buf[day.toordinal() - start] = 0
    for day in schedule.makeup_workdays:
        buf[day.toordinal() - start] = 1
    return bytes(buf)


class WorkdayIndex:
    """Prefix arrays over a contiguous range of whole years (offsets from ``base``).

    ``cum[i + 1]`` is the number of working days at offsets ``0..i``; ``work_off[k]`` and
    ``work_dates[k]`` are the offset and date of the ``k``-th working day.
    """

    __slots__ = (
        "base",
        "cum",
        "first_year",
        "last_year",
        "ndays",
        "nwork",
        "work_dates",
        "work_off",
    )

    def __init__(self, first_year: int, last_year: int) -> None:
        self.first_year = first_year
        self.last_year = last_year
        self.base = date(first_year, 1, 1).toordinal() if first_year <= last_year else 0
        self.ndays = 0
        self.nwork = 0
        self.cum: list[int] = [0]
        self.work_off: list[int] = []
        self.work_dates: list[date] = []

    @classmethod
    def build(cls, first_year: int, last_year: int, flags: Callable[[int], bytes]) -> WorkdayIndex:
        """The index of ``first_year..last_year`` from each year's day flags."""
        ix = cls(first_year, last_year)
        cum, work_off = ix.cum, ix.work_off
        c = off = 0
        for year in range(first_year, last_year + 1):
            for flag in flags(year):
                if flag:
                    work_off.append(off)
                    c += 1
                cum.append(c)
                off += 1
        fromordinal, base = date.fromordinal, ix.base
        ix.work_dates = [fromordinal(base + o) for o in work_off]
        ix.ndays = off
        ix.nwork = c
        return ix

    def covers(self, first_year: int, last_year: int) -> bool:
        """True when every day of ``first_year..last_year`` is indexed."""
        return self.first_year <= first_year and last_year <= self.last_year
