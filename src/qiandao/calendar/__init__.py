"""The Chinese working-day calendar (第十条): a sub-library of its own.

Official State Council schedules where published (shipped data, or a file loaded at run time),
the statutory rules elsewhere, answered by index lookup. ``values`` holds the values,
``statutory`` the 放假办法 rules, ``reader`` the schedule and data files (the only I/O),
``index`` the lookup structure and ``china`` the calendar itself. Its errors (defined in
:mod:`qiandao.errors`) are re-exported here.
"""

from qiandao.calendar.china import ChinaWorkdays
from qiandao.calendar.reader import load_schedule
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
from qiandao.errors import (
    CalendarError,
    InvalidDate,
    InvalidWorkdayCount,
    ScheduleFileError,
    YearOutOfRange,
)

__all__ = [
    "MAX_WORKDAYS",
    "MAX_YEAR",
    "MIN_YEAR",
    "CalendarError",
    "ChinaWorkdays",
    "DayKind",
    "DeadlineExplanation",
    "ExplainedDay",
    "InvalidDate",
    "InvalidWorkdayCount",
    "ScheduleFileError",
    "ScheduleNotice",
    "YearOutOfRange",
    "YearSchedule",
    "load_schedule",
]
