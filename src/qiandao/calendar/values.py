"""The calendar's values: day kinds, a year's schedule and its notices, deadline explanations."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType

import attrs

from qiandao._enum import LabelledEnum

__all__ = [
    "MAX_WORKDAYS",
    "MAX_YEAR",
    "MIN_YEAR",
    "DayKind",
    "DeadlineExplanation",
    "ExplainedDay",
    "ScheduleNotice",
    "YearSchedule",
]

MIN_YEAR = 2000
"""The first year the calendar covers (an earlier day: ``calendar.year_out_of_range``)."""
MAX_YEAR = 2050
"""The last year the calendar covers (a later day: ``calendar.year_out_of_range``)."""
MAX_WORKDAYS = 3660
"""The largest number of working days (either sign) a calendar adds (``calendar.invalid_count``)."""


class DayKind(LabelledEnum):
    """What a calendar day is for the working-day count."""

    WORKDAY = "workday", "工作日"
    WEEKEND = "weekend", "休息日（周末）"
    HOLIDAY = "holiday", "法定节假日"
    MAKEUP_WORKDAY = "makeup_workday", "调休上班日"


def _frozen_days(days: Mapping[date, str]) -> Mapping[date, str]:
    return MappingProxyType(dict(sorted(days.items())))


@attrs.frozen
class ScheduleNotice:
    """A State Council General Office notice that fixed a year's days off and make-up days."""

    title: str
    """The notice's title, in Chinese."""
    number: str
    """The notice's document number (e.g. 国办发明电〔2017〕12号)."""
    published: date
    """The day the notice was published."""
    url: str = ""
    """Where the notice is published (``""`` if not recorded)."""


@attrs.frozen
class YearSchedule:
    """One calendar year's days off (date → holiday name) and weekend make-up working days."""

    year: int
    """The calendar year."""
    holidays: Mapping[date, str] = attrs.field(converter=_frozen_days, hash=False)
    """Days off by date, each with its holiday's Chinese name."""
    makeup_workdays: Mapping[date, str] = attrs.field(converter=_frozen_days, hash=False)
    """Weekend days that are working days (调休上班), each with its holiday's name."""
    notices: tuple[ScheduleNotice, ...] = ()
    """The State Council notices that fixed this schedule (none when provisional)."""
    provisional: bool = False
    """Whether the schedule is inferred from the statutory holidays, not yet published."""


@attrs.frozen
class ExplainedDay:
    """A day passed over or counted, with its kind and the holiday it belongs to ("" if none)."""

    day: date
    """The calendar day."""
    kind: DayKind
    """What kind of day it is (weekend, holiday, make-up working day...)."""
    name: str
    """The holiday it belongs to, in Chinese (``""`` if none)."""


@attrs.frozen
class DeadlineExplanation:
    """How a due date was reached: the days counted, skipped and the notices relied on."""

    start: date
    """The day counting starts from (not counted itself)."""
    workdays: int
    """How many working days were counted (negative: counted backwards)."""
    due: date
    """The day reached: the due date."""
    provisional_years: tuple[int, ...]
    """Years without an official schedule the due date depends on (sorted)."""
    counted: tuple[date, ...]
    """Every working day counted, in counting order (make-up working days included)."""
    skipped: tuple[ExplainedDay, ...]
    """Every weekend day and holiday passed over, in counting order."""
    makeup_counted: tuple[ExplainedDay, ...]
    """The weekend make-up working days (调休上班) that were counted."""
    notices: tuple[ScheduleNotice, ...]
    """The State Council notices whose schedules the count relied on."""

    @property
    def provisional(self) -> bool:
        """True when the due date depends on a day of a year without an official schedule."""
        return bool(self.provisional_years)

    def text(self) -> str:
        """A readable Chinese paragraph for people (the unit, the office)."""
        n = self.workdays
        if n > 0:
            parts = [f"自{self.start}起（当日不计）第{n}个工作日为{self.due}"]
        elif n < 0:
            parts = [f"自{self.start}起向前（当日不计）第{-n}个工作日为{self.due}"]
        else:
            parts = [f"{self.start}起算0个工作日，即当日"]
        weekends = sum(1 for s in self.skipped if s.kind is DayKind.WEEKEND)
        by_name: dict[str, int] = {}
        for s in self.skipped:
            if s.kind is DayKind.HOLIDAY:
                by_name[s.name] = by_name.get(s.name, 0) + 1
        if weekends or by_name:
            skip = [f"周末{weekends}天"] if weekends else []
            if by_name:
                detail = "，".join(f"{name}{count}天" for name, count in by_name.items())
                skip.append(f"法定节假日{sum(by_name.values())}天（{detail}）")
            parts.append("跳过" + "、".join(skip))
        if self.makeup_counted:
            days = "、".join(f"{m.day}（{m.name}）" for m in self.makeup_counted)
            parts.append(f"计入调休上班日{len(self.makeup_counted)}天：{days}")
        if self.notices:
            parts.append("依据：" + "、".join(x.number for x in self.notices))
        elif self.provisional:
            parts.append("依据：《全国年节及纪念日放假办法》")
        out = "；".join(parts) + "。"
        if self.provisional:
            years = "、".join(str(y) for y in self.provisional_years)
            out += f"（临时推算，待国务院公布{years}年安排后重算）"
        return out
