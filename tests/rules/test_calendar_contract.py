"""The calendar contract against ChinaWorkdays (shipped, and with a loaded year) and the stubs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from qiandao.calendar import ChinaWorkdays
from qiandao.testing.calendar import CalendarContract

from .stubs import WeekdayCalendar

SCHEDULE_2027 = Path(__file__).with_name("schedule-2027.toml")


class TestOfficialChinaWorkdays(CalendarContract):
    last_day = date(2049, 1, 1)
    official_years = frozenset(range(2018, 2027))
    provisional_years = frozenset({2017, 2027, 2030})
    max_workdays = 400
    out_of_range = (date(1999, 12, 31), date(2051, 1, 1))

    def make_calendar(self) -> ChinaWorkdays:
        return ChinaWorkdays.official()


class TestChinaWorkdaysWithALoadedYear(CalendarContract):
    first_day = date(2026, 1, 1)
    official_years = frozenset({2026, 2027})
    provisional_years = frozenset({2028})
    last_day = date(2029, 12, 31)
    out_of_range = (date(1999, 12, 31), date(2051, 1, 1))

    def make_calendar(self) -> ChinaWorkdays:
        calendar = ChinaWorkdays.official().load_schedule(SCHEDULE_2027)
        assert 2027 in calendar.official_years()
        return calendar


class TestWeekdayStub(CalendarContract):
    official_years = frozenset({2018, 2030, 2048})

    def make_calendar(self) -> WeekdayCalendar:
        return WeekdayCalendar()


class TestWeekdayStubWithProvisionalYears(CalendarContract):
    official_years = frozenset({2029})
    provisional_years = frozenset({2030, 2031})

    def make_calendar(self) -> WeekdayCalendar:
        return WeekdayCalendar(provisional_from=2030)
