"""Data files, the calendar's only I/O: schedule files (TOML/JSON), the shipped official data,
and workalendar's precomputed solar terms.

Every bad schedule entry is reported with its path (``years[0].holidays[2].days[1]``) and file.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from qiandao.calendar.values import MAX_YEAR, MIN_YEAR, ScheduleNotice, YearSchedule
from qiandao.errors import ScheduleFileError

__all__ = ["check_schedule", "load_schedule", "official_schedules", "solar_terms"]

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
                ScheduleNotice(
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
def official_schedules() -> tuple[YearSchedule, ...]:
    """The shipped official schedules (``qiandao/calendar/data/schedules.toml``), read once."""
    raw = resources.files("qiandao.calendar").joinpath("data/schedules.toml").read_bytes()
    return _parse_schedule(raw, "qiandao/calendar/data/schedules.toml", is_json=False)


@functools.cache
def solar_terms(tz: str) -> Mapping[str, Mapping[str, str]]:
    """workalendar's precomputed solar terms in ``tz`` (year → degrees → ISO day), read once.

    Its ``solar_term`` re-reads the gzip file on every call (~1.5 ms); ``{}`` if unreadable.
    """
    from workalendar import precomputed_astronomy  # only statutory (provisional) years need it

    try:
        raw = gzip.decompress(precomputed_astronomy.pre_computed_solar_terms_path.read_bytes())
        table: Mapping[str, Mapping[str, str]] = json.loads(raw)[tz]
    except (AttributeError, OSError, ValueError, KeyError, TypeError):
        return {}
    return table


def check_schedule(s: object) -> YearSchedule:
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
