"""Statutory days off (《全国年节及纪念日放假办法》) for years without an official schedule.

Lunar festivals and Qingming come from workalendar's lunar and astronomy machinery; no 调休
make-up day is ever guessed.
"""

from __future__ import annotations

import functools
import warnings
from datetime import date, timedelta

from workalendar import precomputed_astronomy
from workalendar.core import ChineseNewYearCalendar

from qiandao.calendar.reader import solar_terms
from qiandao.calendar.values import YearSchedule

__all__ = ["provisional_schedule", "statutory_days"]

_TZ = "Asia/Hong_Kong"  # workalendar's UTC+8 solar terms; identical to Asia/Shanghai
_ONE_DAY = timedelta(days=1)


def _lunar(year: int, month: int, day: int) -> date:
    """A lunar date of ``year`` in the solar calendar, through workalendar's lunar machinery."""
    with warnings.catch_warnings():  # workalendar 17 calls lunardate's deprecated toSolarDate
        warnings.simplefilter("ignore", DeprecationWarning)
        solar: date = ChineseNewYearCalendar.lunar(year, month, day)
    return solar


@functools.cache
def _qingming(year: int) -> date:
    """The Qingming solar term (sun at 15°) in UTC+8, cached per year."""
    iso = solar_terms(_TZ).get(str(year), {}).get("15")
    if isinstance(iso, str):
        return date.fromisoformat(iso)
    day: date = precomputed_astronomy.solar_term(year, 15, _TZ)  # same data, public API
    return day


def statutory_days(year: int) -> list[tuple[date, str]]:
    """The days off under the 《全国年节及纪念日放假办法》 in force in ``year``.

    Versions in force from 2000 (1999), 2008, 2014 and 2025.
    """
    new_year = _lunar(year, 1, 1)
    spring = [new_year, new_year + _ONE_DAY, new_year + 2 * _ONE_DAY]
    if 2008 <= year < 2014 or year >= 2025:  # 除夕 is a day off in these versions
        spring.insert(0, new_year - _ONE_DAY)
    if 2008 <= year < 2014:
        spring.pop()  # 2008–2013: 除夕、初一、初二
    days = [(date(year, 1, 1), "元旦")] + [(d, "春节") for d in spring]
    if year < 2008:
        days += [(date(year, 5, k), "劳动节") for k in (1, 2, 3)]
    else:
        days.append((_qingming(year), "清明节"))
        days += [(date(year, 5, k), "劳动节") for k in ((1, 2) if year >= 2025 else (1,))]
        days.append((_lunar(year, 5, 5), "端午节"))
        days.append((_lunar(year, 8, 15), "中秋节"))
    days += [(date(year, 10, k), "国庆节") for k in (1, 2, 3)]
    return days


@functools.cache
def provisional_schedule(year: int) -> YearSchedule:
    """Statutory days plus 补假 (a day off on a weekend or on another day off moves to the next
    free weekday); no 调休 make-up days are guessed."""
    statutory = sorted(statutory_days(year))
    holidays: dict[date, str] = {}
    owed: list[tuple[date, str]] = []
    for day, name in statutory:
        if day in holidays:  # two festivals on one day (中秋节 on 国庆节): one day is owed
            holidays[day] = f"{holidays[day]}、{name}"
            owed.append((day, name))
        else:
            holidays[day] = name
            if day.weekday() >= 5:
                owed.append((day, name))
    for day, name in owed:
        comp = day + _ONE_DAY
        while comp.weekday() >= 5 or comp in holidays:
            comp += _ONE_DAY
        holidays[comp] = f"{name}（补假）"
    return YearSchedule(year, holidays, {}, (), provisional=True)
