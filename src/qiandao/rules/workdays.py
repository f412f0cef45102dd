"""The Chinese working-day calendar: official State Council schedules, provisional statutory years.

Deadlines (第十条) count Chinese working days; queries answer by index lookup, not by walking days.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
import threading
import tomllib
import warnings
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn, Self, overload

import attrs
from workalendar import precomputed_astronomy
from workalendar.core import ChineseNewYearCalendar

from qiandao._enum import LabelledEnum
from qiandao.errors import InvalidDate, InvalidWorkdayCount, ScheduleFileError, YearOutOfRange

__all__ = [
    "MAX_WORKDAYS",
    "MAX_YEAR",
    "MIN_YEAR",
    "ChinaWorkdays",
    "DayKind",
    "DeadlineExplanation",
    "ExplainedDay",
    "Notice",
    "ProvisionalCount",
    "ProvisionalDate",
    "YearSchedule",
    "load_schedule",
]

MIN_YEAR = 2000
MAX_YEAR = 2050
MAX_WORKDAYS = 3660

_TZ = "Asia/Hong_Kong"  # workalendar's UTC+8 solar terms; identical to Asia/Shanghai
_MARGIN_YEARS = 2
_ONE_DAY = timedelta(days=1)


class DayKind(LabelledEnum):
    """What a calendar day is for the working-day count."""

    WORKDAY = "workday", "工作日"
    WEEKEND = "weekend", "休息日（周末）"
    HOLIDAY = "holiday", "法定节假日"
    MAKEUP_WORKDAY = "makeup_workday", "调休上班日"


# --- values ------------------------------------------------------------------------------


def _frozen_days(days: Mapping[date, str]) -> Mapping[date, str]:
    return MappingProxyType(dict(sorted(days.items())))


@attrs.frozen
class Notice:
    """A State Council General Office notice that fixed a year's days off and make-up days."""

    title: str
    number: str
    published: date
    url: str = ""


@attrs.frozen
class YearSchedule:
    """One calendar year's days off (date → holiday name) and weekend make-up working days."""

    year: int
    holidays: Mapping[date, str] = attrs.field(converter=_frozen_days, hash=False)
    makeup_workdays: Mapping[date, str] = attrs.field(converter=_frozen_days, hash=False)
    notices: tuple[Notice, ...] = ()
    provisional: bool = False


@attrs.frozen
class ExplainedDay:
    """A day passed over or counted, with its kind and the holiday it belongs to ("" if none)."""

    day: date
    kind: DayKind
    name: str


@attrs.frozen
class DeadlineExplanation:
    """How a due date was reached: the days counted, skipped and the notices relied on."""

    start: date
    workdays: int
    due: date
    provisional: bool
    provisional_years: tuple[int, ...]
    counted: tuple[date, ...]
    skipped: tuple[ExplainedDay, ...]
    makeup_counted: tuple[ExplainedDay, ...]
    notices: tuple[Notice, ...]

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


class ProvisionalDate(date):
    """A date that depends on a year without an official schedule (``provisional_years``)."""

    __slots__ = ("provisional_years",)
    provisional_years: tuple[int, ...]

    def __new__(
        cls, year: int, month: int, day: int, provisional_years: Iterable[int] = ()
    ) -> Self:
        self = super().__new__(cls, year, month, day)
        self.provisional_years = tuple(sorted(set(provisional_years)))
        return self

    def __repr__(self) -> str:
        return (
            f"ProvisionalDate({self.year}, {self.month}, {self.day}, "
            f"provisional_years={self.provisional_years!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.year, self.month, self.day, self.provisional_years))

    def __add__(self, other: timedelta) -> Self:
        result = super().__add__(other)
        if isinstance(result, ProvisionalDate):
            result.provisional_years = self.provisional_years
        return result

    __radd__ = __add__

    @overload  # type: ignore[override]
    def __sub__(self, other: timedelta) -> Self: ...
    @overload
    def __sub__(self, other: date) -> timedelta: ...
    def __sub__(self, other: timedelta | date) -> Self | timedelta:
        result = date.__sub__(self, other)
        if isinstance(result, ProvisionalDate):
            result.provisional_years = self.provisional_years
        return result


class ProvisionalCount(int):
    """A working-day count that depends on a year without an official schedule."""

    provisional_years: tuple[int, ...]

    def __new__(cls, value: int, provisional_years: Iterable[int] = ()) -> Self:
        self = super().__new__(cls, value)
        self.provisional_years = tuple(sorted(set(provisional_years)))
        return self

    def __repr__(self) -> str:
        return f"ProvisionalCount({int(self)}, provisional_years={self.provisional_years!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (int(self), self.provisional_years))


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


def _inherited_years(*values: object) -> tuple[int, ...]:
    years: list[int] = []
    for v in values:
        if isinstance(v, ProvisionalDate):
            years.extend(v.provisional_years)
    return tuple(years)


# --- statutory rules (provisional years) -------------------------------------------------


def _lunar(year: int, month: int, day: int) -> date:
    """A lunar date of ``year`` in the solar calendar, through workalendar's lunar machinery."""
    with warnings.catch_warnings():  # workalendar 17 calls lunardate's deprecated toSolarDate
        warnings.simplefilter("ignore", DeprecationWarning)
        solar: date = ChineseNewYearCalendar.lunar(year, month, day)
    return solar


@functools.cache
def _solar_terms_utc8() -> Mapping[str, Mapping[str, str]]:
    """workalendar's precomputed UTC+8 solar terms, read once (its ``solar_term`` re-reads the
    gzip file on every call, ~1.5 ms)."""
    try:
        raw = gzip.decompress(precomputed_astronomy.pre_computed_solar_terms_path.read_bytes())
        table: Mapping[str, Mapping[str, str]] = json.loads(raw)[_TZ]
    except (AttributeError, OSError, ValueError, KeyError, TypeError):
        return {}
    return table


@functools.cache
def _qingming(year: int) -> date:
    """The Qingming solar term (sun at 15°) in UTC+8, cached per year."""
    iso = _solar_terms_utc8().get(str(year), {}).get("15")
    if isinstance(iso, str):
        return date.fromisoformat(iso)
    day: date = precomputed_astronomy.solar_term(year, 15, _TZ)  # same data, public API
    return day


def _statutory_days(year: int) -> list[tuple[date, str]]:
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
def _provisional_schedule(year: int) -> YearSchedule:
    """Statutory days plus 补假 (a day off on a weekend or on another day off moves to the next
    free weekday); no 调休 make-up days are guessed."""
    statutory = sorted(_statutory_days(year))
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


# --- schedule files ----------------------------------------------------------------------

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_WEEKDAYS = "一二三四五六日"


class _Reader:
    """Walks a parsed schedule document, naming the path of every bad entry."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> NoReturn:
        raise ScheduleFileError(f"{path}: {message}", path=path, file=self.source)

    def table(
        self, value: object, path: str, required: set[str], optional: set[str]
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, "应为表（对象）")
        for key in value:
            if key not in required | optional:
                self.fail(f"{path}.{key}" if path else str(key), "未知字段")
        for key in sorted(required):
            if key not in value:
                self.fail(f"{path}.{key}" if path else key, "缺少必填字段")
        return value

    def array(self, value: object, path: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(path, "应为数组")
        if not value:
            self.fail(path, "不能为空")
        return value

    def text(self, value: object, path: str, *, allow_empty: bool = False) -> str:
        if not isinstance(value, str):
            self.fail(path, f"应为字符串：{value!r}")
        if not allow_empty and not value.strip():
            self.fail(path, "不能为空")
        return value.strip()

    def day(self, value: object, path: str, year: int | None = None) -> date:
        if isinstance(value, datetime):
            self.fail(path, f"应为日期，不能带时刻：{value}")
        if isinstance(value, date):
            day = value
        elif isinstance(value, str) and _ISO_DAY.fullmatch(value):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                self.fail(path, f"不是合法日期 {value!r}")
        else:
            self.fail(path, f"不是合法日期 {value!r}（应为 YYYY-MM-DD）")
        if year is not None and day.year != year:
            self.fail(path, f"日期 {day} 不属于{year}年")
        return day

    def days(self, entry: dict[str, Any], path: str, year: int) -> list[tuple[date, str]]:
        """The (day, path) pairs of a ``days = [...]`` or ``start``/``end`` entry."""
        if "days" in entry:
            if "start" in entry or "end" in entry:
                self.fail(f"{path}.days", "days 与 start/end 只能二选一")
            items = self.array(entry["days"], f"{path}.days")
            return [
                (self.day(v, f"{path}.days[{i}]", year), f"{path}.days[{i}]")
                for i, v in enumerate(items)
            ]
        if "start" not in entry or "end" not in entry:
            self.fail(f"{path}.days", "缺少 days，或缺少 start/end")
        start = self.day(entry["start"], f"{path}.start", year)
        end = self.day(entry["end"], f"{path}.end", year)
        if end < start:
            self.fail(f"{path}.end", f"结束日期 {end} 早于开始日期 {start}")
        span = (end - start).days + 1
        return [(start + timedelta(days=k), f"{path}.start") for k in range(span)]

    def year_entry(self, value: object, path: str) -> YearSchedule:
        entry = self.table(value, path, {"year", "notices"}, {"holidays", "makeup_workdays"})
        year = entry["year"]
        if isinstance(year, bool) or not isinstance(year, int):
            self.fail(f"{path}.year", f"应为整数：{year!r}")
        if not MIN_YEAR <= year <= MAX_YEAR:
            self.fail(f"{path}.year", f"年份 {year} 超出支持范围（{MIN_YEAR}–{MAX_YEAR}）")
        notices = []
        for i, raw in enumerate(self.array(entry["notices"], f"{path}.notices")):
            npath = f"{path}.notices[{i}]"
            n = self.table(raw, npath, {"title", "number", "published"}, {"url"})
            notices.append(
                Notice(
                    title=self.text(n["title"], f"{npath}.title"),
                    number=self.text(n["number"], f"{npath}.number"),
                    published=self.day(n["published"], f"{npath}.published"),
                    url=self.text(n.get("url", ""), f"{npath}.url", allow_empty=True),
                )
            )
        holidays: dict[date, str] = {}
        makeups: dict[date, str] = {}
        for key, target in (("holidays", holidays), ("makeup_workdays", makeups)):
            entries = entry.get(key, [])
            if not isinstance(entries, list):
                self.fail(f"{path}.{key}", "应为数组")
            for i, raw in enumerate(entries):
                epath = f"{path}.{key}[{i}]"
                e = self.table(raw, epath, {"name"}, {"days", "start", "end"})
                name = self.text(e["name"], f"{epath}.name")
                for day, dpath in self.days(e, epath, year):
                    if day in target:
                        self.fail(dpath, f"{day} 重复列出")
                    if key == "makeup_workdays":
                        if day in holidays:
                            self.fail(dpath, f"{day} 同时被列为放假日与调休上班日")
                        if day.weekday() < 5:
                            wd = _WEEKDAYS[day.weekday()]
                            self.fail(dpath, f"调休上班日 {day} 不是周末（星期{wd}）")
                    target[day] = name
        return YearSchedule(year, holidays, makeups, tuple(notices))

    def document(self, doc: object) -> tuple[YearSchedule, ...]:
        top = self.table(doc, "", {"years"}, set())
        seen: dict[int, int] = {}
        out = []
        for i, raw in enumerate(self.array(top["years"], "years")):
            schedule = self.year_entry(raw, f"years[{i}]")
            if schedule.year in seen:
                self.fail(
                    f"years[{i}].year", f"{schedule.year}年与 years[{seen[schedule.year]}] 重复"
                )
            seen[schedule.year] = i
            out.append(schedule)
        return tuple(out)


def _parse_schedule(raw: bytes, source: str, *, is_json: bool) -> tuple[YearSchedule, ...]:
    kind = "JSON" if is_json else "TOML"
    try:
        text = raw.decode("utf-8")
        doc = json.loads(text) if is_json else tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ScheduleFileError(
            f"节假日安排文件不是UTF-8编码：{exc}", path="", file=source
        ) from exc
    except ValueError as exc:  # tomllib.TOMLDecodeError and json.JSONDecodeError
        raise ScheduleFileError(
            f"节假日安排文件{kind}格式错误：{exc}", path="", file=source
        ) from exc
    return _Reader(source).document(doc)


def load_schedule(path: str | os.PathLike[str]) -> tuple[YearSchedule, ...]:
    """Parse a schedule file (TOML, or JSON when the name ends in .json); bad entries are named."""
    if not isinstance(path, str | os.PathLike):
        raise ScheduleFileError(f"节假日安排文件路径不合法：{path!r}", path="", file=repr(path))
    name = os.fspath(path)
    try:
        raw = Path(name).read_bytes()
    except OSError as exc:
        raise ScheduleFileError(
            f"无法读取节假日安排文件 {name}：{exc.strerror or exc}", path="", file=name
        ) from exc
    return _parse_schedule(raw, name, is_json=name.lower().endswith(".json"))


@functools.cache
def _official_schedules() -> tuple[YearSchedule, ...]:
    raw = resources.files("qiandao.rules").joinpath("data/schedules.toml").read_bytes()
    return _parse_schedule(raw, "qiandao/rules/data/schedules.toml", is_json=False)


def _check_schedule(s: object) -> YearSchedule:
    """Checks a schedule given in code with the same rules as a file entry."""
    if not isinstance(s, YearSchedule):
        raise ScheduleFileError(f"应为 YearSchedule：{s!r}", path="", file="")
    where = f"YearSchedule({s.year})"
    reader = _Reader("")
    if isinstance(s.year, bool) or not isinstance(s.year, int):
        reader.fail(f"{where}.year", f"应为整数：{s.year!r}")
    if not MIN_YEAR <= s.year <= MAX_YEAR:
        reader.fail(f"{where}.year", f"年份 {s.year} 超出支持范围（{MIN_YEAR}–{MAX_YEAR}）")
    for key, days in (("holidays", s.holidays), ("makeup_workdays", s.makeup_workdays)):
        for day, name in days.items():
            dpath = f"{where}.{key}[{day!s}]"
            reader.day(day, dpath, s.year)
            reader.text(name, dpath)
            if key == "makeup_workdays":
                if day in s.holidays:
                    reader.fail(dpath, f"{day} 同时被列为放假日与调休上班日")
                if day.weekday() < 5:
                    reader.fail(dpath, f"调休上班日 {day} 不是周末")
    return s


# --- the calendar ------------------------------------------------------------------------


class _Index:
    """Prefix arrays over a contiguous range of whole years (offsets from ``base``).

    ``cum[i + 1]`` is the number of working days at offsets ``0..i``; ``work_off[k]`` and
    ``work_dates[k]`` are the offset and date of the ``k``-th working day; ``prov[i + 1]`` counts
    the days at offsets ``0..i`` that lie in a provisional year.
    """

    __slots__ = (
        "base",
        "cum",
        "first_year",
        "last_year",
        "ndays",
        "nwork",
        "prov",
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
        self.prov: list[int] = [0]
        self.work_off: list[int] = []
        self.work_dates: list[date] = []


class ChinaWorkdays:
    """Chinese working days: official schedules where published, statutory rules elsewhere.

    Immutable: ``with_schedules`` and ``load_schedule`` return new calendars. The lookup index
    is an internal cache, extended on demand (thread-safe).
    """

    __slots__ = ("_flags", "_ix", "_lock", "_schedules")

    def __init__(self, schedules: Iterable[YearSchedule] = ()) -> None:
        self._schedules: dict[int, YearSchedule] = {}
        for s in schedules:
            self._schedules[_check_schedule(s).year] = s
        self._flags: dict[int, bytes] = {}
        self._lock = threading.Lock()
        self._ix = _Index(MAX_YEAR + 1, MIN_YEAR - 1)  # empty
        official = [y for y, s in self._schedules.items() if not s.provisional]
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
        return tuple(sorted(y for y, s in self._schedules.items() if not s.provisional))

    def is_provisional(self, year: int) -> bool:
        """True when ``year`` has no official schedule and is computed from the statutory rules."""
        s = self._schedules.get(_as_year(year))
        return s is None or s.provisional

    def schedule(self, year: int) -> YearSchedule:
        """The official schedule of ``year``, or the provisional one computed from the rules."""
        s = self._schedules.get(_as_year(year))
        return s if s is not None else _provisional_schedule(year)

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
        """The ``n``-th working day after ``d`` (``d`` not counted); before ``d`` when n < 0.

        A plain ``date`` when every day it depends on is official, else a ``ProvisionalDate``.
        """
        if type(d) is date and type(n) is int:
            ix = self._ix
            i = d.toordinal() - ix.base
            if 0 <= i < ix.ndays:
                if 0 < n <= MAX_WORKDAYS:
                    k = ix.cum[i + 1] + n - 1
                    if k < ix.nwork and ix.prov[ix.work_off[k] + 1] == ix.prov[i + 1]:
                        return ix.work_dates[k]
                elif -MAX_WORKDAYS <= n < 0:
                    k = ix.cum[i] + n
                    if k >= 0 and ix.prov[i] == ix.prov[ix.work_off[k]]:
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
        j = ix.work_off[k]
        lo, hi = (i + 1, j) if count > 0 else (j, i - 1)  # the days the answer depends on
        result = ix.work_dates[k]
        years = _inherited_years(d)
        if ix.prov[hi + 1] != ix.prov[lo]:
            years += self._provisional_years(ix, lo, hi)
        if years:
            return ProvisionalDate(result.year, result.month, result.day, years)
        return result

    def working_days_between(self, a: date, b: date) -> int:
        """Working days ``w`` with a < w <= b (negative, mirrored, when b < a)."""
        if type(a) is date and type(b) is date:
            ix = self._ix
            base = ix.base
            i = a.toordinal() - base
            j = b.toordinal() - base
            if 0 <= i < ix.ndays and 0 <= j < ix.ndays and ix.prov[i + 1] == ix.prov[j + 1]:
                return ix.cum[j + 1] - ix.cum[i + 1]
        return self._between_slow(a, b)

    def _between_slow(self, a: object, b: object) -> int:
        start = _as_date(a, "起始日期")
        end = _as_date(b, "截止日期")
        _check_year(start)
        _check_year(end)
        ix = self._cover(min(start.year, end.year), max(start.year, end.year))
        i = start.toordinal() - ix.base
        j = end.toordinal() - ix.base
        count = ix.cum[j + 1] - ix.cum[i + 1]
        years = _inherited_years(a, b)
        lo, hi = min(i, j) + 1, max(i, j)
        if lo <= hi and ix.prov[hi + 1] != ix.prov[lo]:
            years += self._provisional_years(ix, lo, hi)
        return ProvisionalCount(count, years) if years else count

    def explain(self, d: date, n: int) -> DeadlineExplanation:
        """The due date with the working days counted, the days skipped and the notices used."""
        due = self.add_working_days(d, n)
        start = _as_date(d)
        step = _ONE_DAY if n > 0 else -_ONE_DAY
        counted: list[date] = []
        skipped: list[ExplainedDay] = []
        makeup: list[ExplainedDay] = []
        day = date.fromordinal(start.toordinal())  # plain date, even for a ProvisionalDate start
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
        notices: dict[str, Notice] = {}
        if n != 0:
            first, last = sorted((start + step, due))
            for year in range(first.year, last.year + 1):
                for notice in self.schedule(year).notices:
                    notices.setdefault(notice.number, notice)
        years = due.provisional_years if isinstance(due, ProvisionalDate) else ()
        return DeadlineExplanation(
            start=start,
            workdays=n,
            due=due,
            provisional=bool(years),
            provisional_years=years,
            counted=tuple(counted),
            skipped=tuple(skipped),
            makeup_counted=tuple(makeup),
            notices=tuple(notices.values()),
        )

    # -- the index --

    def _provisional_years(self, ix: _Index, lo: int, hi: int) -> tuple[int, ...]:
        first = date.fromordinal(ix.base + lo).year
        last = date.fromordinal(ix.base + hi).year
        return tuple(y for y in range(first, last + 1) if self.is_provisional(y))

    def _cover(self, first: int, last: int) -> _Index:
        """The index, extended (with a margin) if it does not yet cover ``first..last``."""
        ix = self._ix
        if ix.first_year <= first and last <= ix.last_year:
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
            s = self.schedule(year)
            start = date(year, 1, 1).toordinal()
            size = date(year + 1, 1, 1).toordinal() - start
            first = date(year, 1, 1).weekday()
            buf = bytearray(1 if (first + k) % 7 < 5 else 0 for k in range(size))
            for day in s.holidays:
                buf[day.toordinal() - start] = 0
            for day in s.makeup_workdays:
                buf[day.toordinal() - start] = 1
            flags = self._flags[year] = bytes(buf)
        return flags

    def _rebuild(self, first: int, last: int) -> None:
        ix = _Index(first, last)
        cum, prov, work_off = ix.cum, ix.prov, ix.work_off
        c = p = off = 0
        for year in range(first, last + 1):
            provisional = self.is_provisional(year)
            for flag in self._year_flags(year):
                if flag:
                    work_off.append(off)
                    c += 1
                p += provisional
                cum.append(c)
                prov.append(p)
                off += 1
        fromordinal, base = date.fromordinal, ix.base
        ix.work_dates = [fromordinal(base + o) for o in work_off]
        ix.ndays = off
        ix.nwork = c
        self._ix = ix


@functools.cache
def _official_calendar() -> ChinaWorkdays:
    return ChinaWorkdays(_official_schedules())
