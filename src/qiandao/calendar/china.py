"""``ChinaWorkdays``: official schedules where published, the statutory rules elsewhere.

Deadlines (第十条) count Chinese working days; queries answer by index lookup, not by walking days.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from qiandao.calendar.index import WorkdayIndex, year_flags
from qiandao.calendar.reader import check_schedule, load_schedule, official_schedules
from qiandao.calendar.values import (
    MAX_WORKDAYS,
    MAX_YEAR,
    MIN_YEAR,
    DayKind,
    DeadlineExplanation,
    ExplainedDay,
    ScheduleNotice,
    YearSchedule,
)
from qiandao.errors import InvalidDate, InvalidWorkdayCount, YearOutOfRange

__all__ = ["ChinaWorkdays"]

_MARGIN_YEARS = 2
_ONE_DAY = timedelta(days=1)


# --- input checks ------------------------------------------------------------------------


def _as_date(value: object, what: str = "日期") -> date:
    if type(value) is date:
        return value
    if isinstance(value, datetime):
        raise InvalidDate(f"{what}应为日期（date），不能是带时刻的datetime：{value!r}", value=value)
    if isinstance(value, date):
        return value
    raise InvalidDate(f"{what}应为日期（date）：{value!r}", value=value)


def _check_year(d: date) -> None:
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise YearOutOfRange(
            f"{d}超出日历支持范围（{MIN_YEAR}–{MAX_YEAR}年）", year=d.year, day=d.isoformat()
        )


def _as_count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidWorkdayCount(f"工作日数应为整数：{value!r}", value=value)
    if not -MAX_WORKDAYS <= value <= MAX_WORKDAYS:
        raise InvalidWorkdayCount(
            f"工作日数超出范围（绝对值不超过{MAX_WORKDAYS}）：{value}", value=value
        )
    return int(value)


def _as_year(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidDate(f"年份应为整数：{value!r}", value=value)
    if not MIN_YEAR <= value <= MAX_YEAR:
        raise YearOutOfRange(f"{value}年超出日历支持范围（{MIN_YEAR}–{MAX_YEAR}年）", year=value)
    return int(value)


# --- the calendar ------------------------------------------------------------------------


class ChinaWorkdays:
    """Chinese working days: official schedules where published, statutory rules elsewhere.

    Immutable: ``with_schedules`` and ``load_schedule`` return new calendars. The lookup index
    is an internal cache, extended on demand (thread-safe).
    """

    __slots__ = ("_flags", "_ix", "_lock", "_official", "_schedules")

    def __init__(self, schedules: Iterable[YearSchedule] = ()) -> None:
        self._schedules: dict[int, YearSchedule] = {}
        for s in schedules:
            self._schedules[check_schedule(s).year] = s
        self._flags: dict[int, bytes] = {}
        self._lock = threading.Lock()
        self._ix = WorkdayIndex(MAX_YEAR + 1, MIN_YEAR - 1)  # empty
        official = [y for y, s in self._schedules.items() if not s.provisional]
        self._official = frozenset(official)
        if official:
            self._rebuild(
                max(MIN_YEAR, min(official) - 1), min(MAX_YEAR, max(official) + _MARGIN_YEARS)
            )

    def __repr__(self) -> str:
        years = self.official_years()
        span = f"{years[0]}–{years[-1]}" if years else "无"
        return f"ChinaWorkdays(official_years={span})"

    # -- construction --

    @classmethod
    def official(cls) -> ChinaWorkdays:
        """The calendar of the shipped official schedules (2018–2026); parsed once, shared."""
        return _official_calendar()

    def with_schedules(self, *schedules: YearSchedule) -> ChinaWorkdays:
        """A new calendar with these years added or replaced (the last one given wins)."""
        return ChinaWorkdays([*self._schedules.values(), *schedules])

    def load_schedule(self, path: str | os.PathLike[str]) -> ChinaWorkdays:
        """A new calendar with the years of a TOML/JSON schedule file added or replaced."""
        return self.with_schedules(*load_schedule(path))

    # -- years --

    def official_years(self) -> tuple[int, ...]:
        """The years that have an official (non-provisional) schedule."""
        return tuple(sorted(self._official))

    def is_provisional(self, year: int) -> bool:
        """True when ``year`` has no official schedule and is computed from the statutory rules."""
        return _as_year(year) not in self._official

    def schedule(self, year: int) -> YearSchedule:
        """The official schedule of ``year``, or the provisional one computed from the rules."""
        s = self._schedules.get(_as_year(year))
        if s is not None:
            return s
        # workalendar's lunar and astronomy machinery loads only when a provisional year is asked
        from qiandao.calendar.statutory import provisional_schedule

        return provisional_schedule(year)

    def provisional_years(self, first: date, last: date) -> tuple[int, ...]:
        """The years of the days ``first..last`` (inclusive) that have no official schedule."""
        official = self._official
        # the common case, a deadline within published years, needs no checks
        if type(first) is date and type(last) is date:
            lo, hi = first.year, last.year
            if (
                lo in official
                and hi in official
                and (hi - lo <= 1 or all(y in official for y in range(lo, hi + 1)))
            ):
                return ()
        start = _as_date(first, "起始日期")
        end = _as_date(last, "截止日期")
        _check_year(start)
        _check_year(end)
        if end < start:
            return ()
        return tuple(y for y in range(start.year, end.year + 1) if self.is_provisional(y))

    # -- days --

    def day_kind(self, d: date) -> DayKind:
        """Working day, weekend, holiday or 调休 make-up working day."""
        d = _as_date(d)
        _check_year(d)
        s = self.schedule(d.year)
        if d in s.holidays:
            return DayKind.HOLIDAY
        if d in s.makeup_workdays:
            return DayKind.MAKEUP_WORKDAY
        return DayKind.WEEKEND if d.weekday() >= 5 else DayKind.WORKDAY

    def holiday_name(self, d: date) -> str | None:
        """The Chinese name of the holiday ``d`` belongs to, or None."""
        d = _as_date(d)
        _check_year(d)
        return self.schedule(d.year).holidays.get(d)

    def is_working_day(self, d: date) -> bool:
        """True on Mon–Fri that are not days off, and on 调休 make-up days."""
        if type(d) is date:
            ix = self._ix
            i = d.toordinal() - ix.base
            if 0 <= i < ix.ndays:
                return ix.cum[i + 1] != ix.cum[i]
        d = _as_date(d)
        _check_year(d)
        ix = self._cover(d.year, d.year)
        i = d.toordinal() - ix.base
        return ix.cum[i + 1] != ix.cum[i]

    # -- counting --

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day after ``d`` (``d`` not counted); before ``d`` when n < 0."""
        if type(d) is date and type(n) is int:
            ix = self._ix
            i = d.toordinal() - ix.base
            if 0 <= i < ix.ndays:
                if 0 < n <= MAX_WORKDAYS:
                    k = ix.cum[i + 1] + n - 1
                    if k < ix.nwork:
                        return ix.work_dates[k]
                elif -MAX_WORKDAYS <= n < 0:
                    k = ix.cum[i] + n
                    if k >= 0:
                        return ix.work_dates[k]
                elif n == 0:
                    return d
        return self._add_slow(d, n)

    def _add_slow(self, d: object, n: object) -> date:
        day = _as_date(d)
        count = _as_count(n)
        _check_year(day)
        if count == 0:
            return day
        extra = abs(count) // 230 + 1
        ix = self._cover(
            day.year - (extra if count < 0 else 0), day.year + (extra if count > 0 else 0)
        )
        while True:
            i = day.toordinal() - ix.base
            k = ix.cum[i + 1] + count - 1 if count > 0 else ix.cum[i] + count
            if 0 <= k < ix.nwork:
                break
            if count > 0:
                if ix.last_year >= MAX_YEAR:
                    raise YearOutOfRange(
                        f"自{day}起第{count}个工作日超出日历支持范围（至{MAX_YEAR}年）",
                        day=day.isoformat(),
                        workdays=count,
                    )
                ix = self._cover(ix.first_year, ix.last_year + extra)
            else:
                if ix.first_year <= MIN_YEAR:
                    raise YearOutOfRange(
                        f"自{day}起向前第{-count}个工作日超出日历支持范围（始于{MIN_YEAR}年）",
                        day=day.isoformat(),
                        workdays=count,
                    )
                ix = self._cover(ix.first_year - extra, ix.last_year)
        return ix.work_dates[k]

    def working_days_between(self, a: date, b: date) -> int:
        """Working days ``w`` with a < w <= b (negative, mirrored, when b < a)."""
        if type(a) is date and type(b) is date:
            ix = self._ix
            base = ix.base
            i = a.toordinal() - base
            j = b.toordinal() - base
            if 0 <= i < ix.ndays and 0 <= j < ix.ndays:
                return ix.cum[j + 1] - ix.cum[i + 1]
        return self._between_slow(a, b)

    def _between_slow(self, a: object, b: object) -> int:
        start = _as_date(a, "起始日期")
        end = _as_date(b, "截止日期")
        _check_year(start)
        _check_year(end)
        ix = self._cover(min(start.year, end.year), max(start.year, end.year))
        return ix.cum[end.toordinal() - ix.base + 1] - ix.cum[start.toordinal() - ix.base + 1]

    def explain(self, d: date, n: int) -> DeadlineExplanation:
        """The due date with the working days counted, the days skipped and the notices used."""
        due = self.add_working_days(d, n)
        start = _as_date(d)  # checked by add_working_days
        step = _ONE_DAY if n > 0 else -_ONE_DAY
        counted: list[date] = []
        skipped: list[ExplainedDay] = []
        makeup: list[ExplainedDay] = []
        day = start
        while day != due:
            day += step
            kind = self.day_kind(day)
            s = self.schedule(day.year)
            if kind is DayKind.WORKDAY:
                counted.append(day)
            elif kind is DayKind.MAKEUP_WORKDAY:
                counted.append(day)
                makeup.append(ExplainedDay(day, kind, s.makeup_workdays[day]))
            else:
                skipped.append(ExplainedDay(day, kind, s.holidays.get(day, "")))
        notices: dict[str, ScheduleNotice] = {}
        years: tuple[int, ...] = ()
        if n != 0:
            first, last = sorted((start + step, due))  # the days the due date depends on
            years = self.provisional_years(first, last)
            for year in range(first.year, last.year + 1):
                for notice in self.schedule(year).notices:
                    notices.setdefault(notice.number, notice)
        return DeadlineExplanation(
            start=start,
            workdays=n,
            due=due,
            provisional_years=years,
            counted=tuple(counted),
            skipped=tuple(skipped),
            makeup_counted=tuple(makeup),
            notices=tuple(notices.values()),
        )

    # -- the index --

    def _cover(self, first: int, last: int) -> WorkdayIndex:
        """The index, extended (with a margin) if it does not yet cover ``first..last``."""
        ix = self._ix
        if ix.covers(first, last):
            return ix
        with self._lock:
            ix = self._ix
            lo = max(MIN_YEAR, min(ix.first_year, first - 1))
            hi = min(MAX_YEAR, max(ix.last_year, last + _MARGIN_YEARS))
            if (lo, hi) != (ix.first_year, ix.last_year):
                self._rebuild(lo, hi)
            return self._ix

    def _year_flags(self, year: int) -> bytes:
        flags = self._flags.get(year)
        if flags is None:
            flags = self._flags[year] = year_flags(self.schedule(year))
        return flags

    def _rebuild(self, first: int, last: int) -> None:
        self._ix = WorkdayIndex.build(first, last, self._year_flags)


@functools.cache
def _official_calendar() -> ChinaWorkdays:
    return ChinaWorkdays(official_schedules())
