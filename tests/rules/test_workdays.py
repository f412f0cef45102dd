"""Tests of the Chinese working-day calendar (qiandao.calendar; also as qiandao.rules.workdays)."""

from __future__ import annotations

import json
import pickle
import re
import warnings
from collections.abc import Callable
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st
from workalendar.asia import China

import qiandao.calendar
import qiandao.rules.workdays
from qiandao.calendar import (
    MAX_WORKDAYS,
    MAX_YEAR,
    MIN_YEAR,
    ChinaWorkdays,
    DayKind,
    ScheduleNotice,
    YearSchedule,
    load_schedule,
)
from qiandao.errors import (
    InvalidDate,
    InvalidWorkdayCount,
    QiandaoError,
    ScheduleFileError,
    YearOutOfRange,
)
from qiandao.rules.deadlines import Due, due_after

CAL = ChinaWorkdays.official()
ONE = timedelta(days=1)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def walk_count(cal: ChinaWorkdays, first: date, last: date) -> int:
    """Oracle: working days in [first, last] counted one day at a time."""
    return sum(1 for d in days(first, last) if cal.is_working_day(d)) if first <= last else 0


# --- official data -----------------------------------------------------------------------


def test_agrees_with_chinese_calendar_on_every_day_2018_2026() -> None:
    """chinese_calendar is an independent peer used only to verify our shipped data."""
    disagreements = [
        (d, CAL.day_kind(d))
        for d in days(date(2018, 1, 1), date(2026, 12, 31))
        if CAL.is_working_day(d) != chinese_calendar.is_workday(d)
    ]
    assert disagreements == []


def test_official_years_and_notices() -> None:
    assert CAL.official_years() == tuple(range(2018, 2027))
    number = re.compile(r"国办发明电〔\d{4}〕\d+号")
    for year in CAL.official_years():
        s = CAL.schedule(year)
        assert not s.provisional and not CAL.is_provisional(year)
        assert s.notices
        for notice in s.notices:
            assert number.fullmatch(notice.number)
            assert notice.title.startswith("国务院办公厅关于")
            assert notice.published < date(year + 1, 1, 1)
        assert all(d.year == year for d in [*s.holidays, *s.makeup_workdays])
        assert all(d.weekday() >= 5 for d in s.makeup_workdays)
    numbers_2020 = [n.number for n in CAL.schedule(2020).notices]
    assert numbers_2020 == ["国办发明电〔2019〕16号", "国办发明电〔2020〕1号"]
    assert CAL.schedule(2020).notices[1].published == date(2020, 1, 27)
    assert CAL.schedule(2026).notices[0].number == "国办发明电〔2025〕7号"


def test_official_is_shared_and_immutable() -> None:
    assert ChinaWorkdays.official() is CAL
    with pytest.raises(TypeError):
        CAL.schedule(2025).holidays[date(2025, 3, 3)] = "x"  # type: ignore[index]


@pytest.mark.parametrize(
    ("day", "kind", "name"),
    [
        (date(2020, 1, 31), DayKind.HOLIDAY, "春节"),  # extended by 国办发明电〔2020〕1号
        (date(2020, 2, 1), DayKind.HOLIDAY, "春节"),  # was a make-up Saturday, cancelled
        (date(2020, 2, 2), DayKind.HOLIDAY, "春节"),
        (date(2020, 2, 3), DayKind.WORKDAY, None),
        (date(2025, 1, 28), DayKind.HOLIDAY, "春节"),  # 除夕, statutory from 2025
        (date(2025, 1, 26), DayKind.MAKEUP_WORKDAY, None),  # Sunday make-up day
        (date(2025, 5, 2), DayKind.HOLIDAY, "劳动节"),
        (date(2025, 10, 8), DayKind.HOLIDAY, "国庆节、中秋节"),
        (date(2023, 9, 29), DayKind.HOLIDAY, "中秋节、国庆节"),
        (date(2024, 2, 9), DayKind.WORKDAY, None),  # 2024 除夕 was a working day
        (date(2018, 12, 29), DayKind.MAKEUP_WORKDAY, None),  # 2019 元旦 make-up in 2018
        (date(2018, 12, 31), DayKind.HOLIDAY, "元旦"),
        (date(2026, 1, 4), DayKind.MAKEUP_WORKDAY, None),
        (date(2026, 2, 15), DayKind.HOLIDAY, "春节"),
        (date(2026, 2, 23), DayKind.HOLIDAY, "春节"),
        (date(2026, 2, 28), DayKind.MAKEUP_WORKDAY, None),
        (date(2026, 9, 20), DayKind.MAKEUP_WORKDAY, None),
        (date(2026, 10, 7), DayKind.HOLIDAY, "国庆节"),
        (date(2026, 3, 7), DayKind.WEEKEND, None),
    ],
)
def test_known_days(day: date, kind: DayKind, name: str | None) -> None:
    assert CAL.day_kind(day) is kind
    assert CAL.holiday_name(day) == name
    assert CAL.is_working_day(day) is (kind in (DayKind.WORKDAY, DayKind.MAKEUP_WORKDAY))
    assert kind.label


def test_saturday_make_up_day_is_a_working_day() -> None:
    saturday = date(2026, 2, 28)
    assert saturday.weekday() == 5
    assert CAL.is_working_day(saturday)
    assert CAL.add_working_days(date(2026, 2, 27), 1) == saturday


def test_assigned_on_saturday_counts_monday_as_day_1() -> None:
    saturday = date(2025, 3, 8)
    assert CAL.add_working_days(saturday, 1) == date(2025, 3, 10)
    assert CAL.add_working_days(saturday, 15) == date(2025, 3, 28)


def test_add_zero_and_negative() -> None:
    d = date(2025, 3, 8)
    assert CAL.add_working_days(d, 0) is d
    assert CAL.add_working_days(date(2025, 3, 10), -1) == date(2025, 3, 7)
    assert CAL.add_working_days(date(2025, 2, 5), -1) == date(2025, 1, 27)  # over 春节


def test_deadline_over_spring_festival_2026() -> None:
    # assigned Friday 2026-02-13: 02-14 (Sat, make-up) is day 1, the holiday is skipped
    assert CAL.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert CAL.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 28)) == 6


def test_agrees_with_workalendar_where_its_data_is_right() -> None:
    """workalendar's China (2018–2023) is a peer: spans where its days disagree are skipped."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = China()
        window = days(date(2018, 1, 1), date(2023, 12, 31))
        agree = {d: peer.is_working_day(d) == CAL.is_working_day(d) for d in window}
        kept = total = 0
        for d in window[::3]:
            due = CAL.add_working_days(d, 15)
            if due.year > 2023:
                continue
            total += 1
            if all(agree[x] for x in days(d + ONE, due)):
                kept += 1
                assert peer.add_working_days(d, 15) == due, d
        assert total > 600
        assert kept / total > 0.9


# --- properties (the general ones are the calendar contract: test_calendar_contract.py) ---------

counts = st.integers(0, 400)


@given(st.dates(date(2048, 1, 1), date(MAX_YEAR, 12, 31)), counts)
def test_counting_past_the_last_year_is_refused_only_when_the_days_run_out(d: date, n: int) -> None:
    try:
        due = CAL.add_working_days(d, n)
    except YearOutOfRange:
        assert walk_count(CAL, d + ONE, date(MAX_YEAR, 12, 31)) < n
        return
    assert walk_count(CAL, d + ONE, due) == n


@given(st.dates(date(MIN_YEAR, 1, 1), date(2002, 12, 31)), counts)
def test_counting_before_the_first_year_is_refused_only_when_the_days_run_out(
    d: date, n: int
) -> None:
    try:
        due = CAL.add_working_days(d, -n)
    except YearOutOfRange:
        assert walk_count(CAL, date(MIN_YEAR, 1, 1), d - ONE) < n
        return
    assert walk_count(CAL, due, d - ONE) == n


@given(st.dates(date(2018, 1, 1), date(2049, 12, 31)), st.integers(-60, 60))
def test_explanations_name_their_days(d: date, n: int) -> None:
    ex = CAL.explain(d, n)
    for s in ex.skipped:
        assert CAL.day_kind(s.day) is s.kind
        assert s.name == (CAL.holiday_name(s.day) or "")
    for m in ex.makeup_counted:
        assert m.name and m.name == CAL.schedule(m.day.year).makeup_workdays[m.day]
    assert ex.text().startswith(f"自{d}起") or n == 0


# --- explanations ------------------------------------------------------------------------


def test_explanation_text_official() -> None:
    ex = CAL.explain(date(2026, 11, 26), 15)
    assert ex.due == date(2026, 12, 17)
    assert not ex.provisional
    text = ex.text()
    assert text.startswith("自2026-11-26起（当日不计）第15个工作日为2026-12-17")
    assert "跳过周末6天" in text
    assert "依据：国办发明电〔2025〕7号" in text
    assert "临时推算" not in text


def test_explanation_over_holidays_and_make_up_days() -> None:
    ex = CAL.explain(date(2026, 2, 10), 10)
    assert [m.day for m in ex.makeup_counted] == [date(2026, 2, 14), date(2026, 2, 28)]
    assert {s.name for s in ex.skipped if s.kind is DayKind.HOLIDAY} == {"春节"}
    assert "春节9天" in ex.text() and "计入调休上班日2天" in ex.text()


def test_explanation_text_provisional() -> None:
    ex = CAL.explain(date(2026, 12, 20), 15)
    assert ex.provisional and ex.provisional_years == (2027,)
    assert ex.text().endswith("（临时推算，待国务院公布2027年安排后重算）")
    assert "国办发明电〔2025〕7号" in ex.text()


# --- provisional years -------------------------------------------------------------------


def test_provisional_results_are_marked() -> None:
    due = CAL.add_working_days(date(2027, 3, 1), 5)
    assert type(due) is date and due == date(2027, 3, 8)
    assert CAL.provisional_years(date(2027, 3, 2), due) == (2027,)
    assert CAL.explain(date(2027, 3, 1), 5).provisional_years == (2027,)
    assert due_after(CAL, date(2027, 3, 1), 5) == Due(date(2027, 3, 8), (2027,))
    crossing = due_after(CAL, date(2026, 12, 20), 15)
    assert crossing.provisional and crossing.provisional_years == (2027,)
    assert crossing.day == CAL.add_working_days(date(2026, 12, 20), 15)
    count = CAL.working_days_between(date(2026, 12, 1), date(2027, 1, 15))
    assert type(count) is int and count == 32
    assert CAL.provisional_years(date(2026, 12, 2), date(2027, 1, 15)) == (2027,)
    assert CAL.provisional_years(date(2026, 1, 1), date(2029, 6, 30)) == (2027, 2028, 2029)


def test_official_results_are_plain_dates() -> None:
    assert type(CAL.add_working_days(date(2025, 3, 3), 15)) is date
    assert type(CAL.add_working_days(date(2025, 12, 31), -200)) is date
    assert type(CAL.working_days_between(date(2025, 1, 1), date(2025, 12, 31))) is int
    assert due_after(CAL, date(2025, 3, 3), 15) == Due(date(2025, 3, 24))
    assert not due_after(CAL, date(2025, 12, 31), -200).provisional
    assert CAL.provisional_years(date(2025, 1, 2), date(2025, 12, 31)) == ()
    # the answer depends only on days strictly after / before the start
    assert due_after(CAL, date(2027, 1, 1), -1) == Due(date(2026, 12, 31))
    assert due_after(CAL, date(2026, 12, 31), 0) == Due(date(2026, 12, 31))
    assert CAL.provisional_years(date(2027, 1, 1), date(2026, 12, 31)) == ()  # an empty span


def test_results_are_plain_values_whatever_the_year() -> None:
    """No ``date``/``int`` subclass: provisional-ness travels in a ``Due``, never in a date."""
    due = CAL.add_working_days(date(2027, 3, 1), 5)
    assert type(due) is date and type(due + timedelta(days=1)) is date
    assert type(CAL.add_working_days(date(2027, 3, 9), -5)) is date
    assert type(CAL.working_days_between(date(2027, 1, 1), date(2027, 12, 31))) is int
    marked = Due(due, (2027,))
    assert marked == Due(date(2027, 3, 8), [2027, 2027]) and hash(marked) == hash(Due(due, (2027,)))
    assert pickle.loads(pickle.dumps(marked)) == marked
    assert marked.day - date(2027, 3, 1) == timedelta(days=7)
    # chaining is explicit: counting on from a provisional due names its own span's years
    assert due_after(CAL, marked.day, 1) == Due(date(2027, 3, 9), (2027,))
    assert due_after(CAL, date(2025, 3, 3), 1) == Due(date(2025, 3, 4))


def test_rules_workdays_keeps_the_old_import_path() -> None:
    assert qiandao.rules.workdays.__all__ == qiandao.calendar.__all__
    for name in qiandao.calendar.__all__:
        assert getattr(qiandao.rules.workdays, name) is getattr(qiandao.calendar, name)


def test_statutory_rules_for_provisional_years() -> None:
    bare = ChinaWorkdays()
    assert bare.official_years() == ()
    assert CAL.day_kind(date(2027, 2, 5)) is DayKind.HOLIDAY  # 除夕 2027
    assert CAL.day_kind(date(2027, 5, 3)) is DayKind.HOLIDAY  # 5/2 was a Sunday: 补假
    assert CAL.holiday_name(date(2027, 5, 3)) == "劳动节（补假）"
    assert bare.day_kind(date(2024, 2, 9)) is DayKind.WORKDAY  # 除夕 not statutory 2014–2024
    assert bare.day_kind(date(2010, 2, 13)) is DayKind.HOLIDAY  # 除夕 statutory 2008–2013
    assert bare.day_kind(date(2005, 5, 3)) is DayKind.HOLIDAY  # 1999 rules: 5/1–5/3
    assert bare.day_kind(date(2005, 4, 5)) is DayKind.WORKDAY  # no 清明 before 2008
    for year in range(MIN_YEAR, MAX_YEAR + 1):
        s = bare.schedule(year)
        assert s.provisional and not s.makeup_workdays and not s.notices
        weekday_days_off = sum(1 for d in s.holidays if d.weekday() < 5)
        expected = 10 if year < 2008 else 11 if year < 2025 else 13
        assert weekday_days_off == expected, year


def test_loading_a_2027_schedule_makes_it_official(tmp_path: Path) -> None:
    path = tmp_path / "2027.toml"
    path.write_text(
        """
[[years]]
year = 2027
[[years.notices]]
title = "国务院办公厅关于2027年部分节假日安排的通知（测试）"
number = "国办发明电〔2026〕99号"
published = 2026-11-05
[[years.holidays]]
name = "春节"
start = 2027-02-05
end = 2027-02-12
[[years.makeup_workdays]]
name = "春节"
days = ["2027-02-20"]
""",
        encoding="utf-8",
    )
    before = CAL.add_working_days(date(2027, 2, 4), 5)
    loaded = CAL.load_schedule(path)
    after = loaded.add_working_days(date(2027, 2, 4), 5)
    assert before == date(2027, 2, 17) and CAL.provisional_years(date(2027, 2, 5), before) == (
        2027,
    )
    assert type(after) is date and after == date(2027, 2, 19)
    assert loaded.provisional_years(date(2027, 2, 5), after) == ()
    assert loaded.is_provisional(2027) is False and 2027 in loaded.official_years()
    assert loaded.is_working_day(date(2027, 2, 20))
    assert loaded.explain(date(2027, 2, 4), 5).notices[0].number == "国办发明电〔2026〕99号"
    # the original calendar is untouched
    assert CAL.is_provisional(2027) and not CAL.is_working_day(date(2027, 2, 20))
    assert CAL.official_years() == tuple(range(2018, 2027))


def test_with_schedules_does_not_mutate() -> None:
    extra = YearSchedule(
        2027,
        {date(2027, 3, 1): "测试假日"},
        {},
        (ScheduleNotice("测试通知", "测试〔2026〕1号", date(2026, 11, 1)),),
    )
    new = CAL.with_schedules(extra)
    assert new is not CAL
    assert new.day_kind(date(2027, 3, 1)) is DayKind.HOLIDAY
    assert CAL.day_kind(date(2027, 3, 1)) is DayKind.WORKDAY
    assert new.is_working_day(date(2026, 2, 14))  # official years kept
    replaced = new.with_schedules(YearSchedule(2026, {}, {}, extra.notices))
    assert replaced.is_working_day(date(2026, 2, 16)) and not new.is_working_day(date(2026, 2, 16))


def test_json_schedule_same_structure(tmp_path: Path) -> None:
    doc = {
        "years": [
            {
                "year": 2030,
                "notices": [{"title": "t", "number": "n", "published": "2029-11-01"}],
                "holidays": [{"name": "元旦", "days": ["2030-01-01"]}],
                "makeup_workdays": [{"name": "春节", "start": "2030-02-09", "end": "2030-02-09"}],
            }
        ]
    }
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    (s,) = load_schedule(path)
    assert s.year == 2030 and not s.provisional
    assert dict(s.makeup_workdays) == {date(2030, 2, 9): "春节"}
    assert s.notices[0].published == date(2029, 11, 1)


def test_shipped_file_loads_as_a_schedule_file() -> None:
    ref = resources.files("qiandao.calendar").joinpath("data/schedules.toml")
    with resources.as_file(ref) as path:
        schedules = load_schedule(path)
    assert [s.year for s in schedules] == list(range(2018, 2027))
    assert schedules == tuple(CAL.schedule(y) for y in range(2018, 2027))


# --- boundaries and bad input ------------------------------------------------------------


def test_year_boundaries() -> None:
    first = CAL.add_working_days(date(2000, 1, 1), 1)
    assert first == date(2000, 1, 4) and CAL.provisional_years(date(2000, 1, 2), first) == (2000,)
    assert CAL.is_working_day(date(2050, 12, 30))
    assert CAL.add_working_days(date(2050, 12, 1), 5) == date(2050, 12, 8)
    assert CAL.working_days_between(date(2000, 1, 1), date(2050, 12, 31)) > 12000
    assert CAL.add_working_days(date(2050, 12, 31), -MAX_WORKDAYS).year >= 2036


BAD_CALLS: list[tuple[str, Callable[[], object], type[QiandaoError]]] = [
    ("str date", lambda: CAL.add_working_days("2025-01-01", 1), InvalidDate),  # type: ignore[arg-type]
    ("datetime", lambda: CAL.add_working_days(datetime(2025, 1, 2), 1), InvalidDate),
    ("None", lambda: CAL.add_working_days(None, 1), InvalidDate),  # type: ignore[arg-type]
    ("bool n", lambda: CAL.add_working_days(date(2025, 1, 2), True), InvalidWorkdayCount),
    ("float n", lambda: CAL.add_working_days(date(2025, 1, 2), 1.0), InvalidWorkdayCount),  # type: ignore[arg-type]
    ("str n", lambda: CAL.add_working_days(date(2025, 1, 2), "3"), InvalidWorkdayCount),  # type: ignore[arg-type]
    (
        "too many",
        lambda: CAL.add_working_days(date(2025, 1, 2), MAX_WORKDAYS + 1),
        InvalidWorkdayCount,
    ),
    (
        "too few",
        lambda: CAL.add_working_days(date(2025, 1, 2), -MAX_WORKDAYS - 1),
        InvalidWorkdayCount,
    ),
    ("1999", lambda: CAL.add_working_days(date(1999, 12, 31), 1), YearOutOfRange),
    ("2051", lambda: CAL.add_working_days(date(2051, 1, 3), 0), YearOutOfRange),
    ("result after 2050", lambda: CAL.add_working_days(date(2050, 12, 20), 15), YearOutOfRange),
    ("result before 2000", lambda: CAL.add_working_days(date(2000, 1, 5), -5), YearOutOfRange),
    ("between str", lambda: CAL.working_days_between("x", date(2025, 1, 1)), InvalidDate),  # type: ignore[arg-type]
    (
        "between datetime",
        lambda: CAL.working_days_between(date(2025, 1, 1), datetime(2025, 2, 1)),
        InvalidDate,
    ),
    (
        "between 1999",
        lambda: CAL.working_days_between(date(1999, 1, 1), date(2025, 1, 1)),
        YearOutOfRange,
    ),
    ("is_working_day datetime", lambda: CAL.is_working_day(datetime(2025, 1, 2)), InvalidDate),
    ("is_working_day 1999", lambda: CAL.is_working_day(date(1999, 6, 1)), YearOutOfRange),
    ("day_kind None", lambda: CAL.day_kind(None), InvalidDate),  # type: ignore[arg-type]
    ("holiday_name str", lambda: CAL.holiday_name("2025-01-01"), InvalidDate),  # type: ignore[arg-type]
    ("schedule 1999", lambda: CAL.schedule(1999), YearOutOfRange),
    ("schedule str", lambda: CAL.schedule("2025"), InvalidDate),  # type: ignore[arg-type]
    ("is_provisional 2051", lambda: CAL.is_provisional(2051), YearOutOfRange),
    (
        "provisional_years str",
        lambda: CAL.provisional_years("2025-01-01", date(2025, 2, 1)),  # type: ignore[arg-type]
        InvalidDate,
    ),
    (
        "provisional_years datetime",
        lambda: CAL.provisional_years(date(2025, 1, 1), datetime(2025, 2, 1)),
        InvalidDate,
    ),
    (
        "provisional_years 2051",
        lambda: CAL.provisional_years(date(2050, 1, 1), date(2051, 1, 1)),
        YearOutOfRange,
    ),
    ("explain bool", lambda: CAL.explain(date(2025, 1, 2), False), InvalidWorkdayCount),
    ("explain datetime", lambda: CAL.explain(datetime(2025, 1, 2), 3), InvalidDate),
    ("with_schedules junk", lambda: CAL.with_schedules("2027"), ScheduleFileError),  # type: ignore[arg-type]
    ("load_schedule None", lambda: CAL.load_schedule(None), ScheduleFileError),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(
    ("call", "error"), [(c, e) for _, c, e in BAD_CALLS], ids=[i for i, _, _ in BAD_CALLS]
)
def test_bad_input_raises_project_errors(
    call: Callable[[], object], error: type[QiandaoError]
) -> None:
    with pytest.raises(error) as info:
        call()
    assert info.value.code == error.code
    assert info.value.code.startswith("calendar.")


def _doc() -> dict[str, Any]:
    return {
        "years": [
            {
                "year": 2027,
                "notices": [
                    {"title": "通知", "number": "国办发明电〔2026〕1号", "published": "2026-11-01"}
                ],
                "holidays": [
                    {"name": "元旦", "days": ["2027-01-01"]},
                    {"name": "春节", "start": "2027-02-05", "end": "2027-02-11"},
                ],
                "makeup_workdays": [{"name": "春节", "days": ["2027-02-13", "2027-02-20"]}],
            }
        ]
    }


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return mutate


_DELETE = object()
Y = ["years", 0]

BAD_FILES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("no years", _set(["years"], _DELETE), "years"),
    ("years not array", _set(["years"], {"year": 2027}), "years"),
    ("empty years", _set(["years"], []), "years"),
    ("unknown top key", _set(["extra"], 1), "extra"),
    ("year too early", _set([*Y, "year"], 1999), "years[0].year"),
    ("year too late", _set([*Y, "year"], 2051), "years[0].year"),
    ("year not int", _set([*Y, "year"], "2027"), "years[0].year"),
    ("unknown year key", _set([*Y, "holiday"], []), "years[0].holiday"),
    ("no notices", _set([*Y, "notices"], _DELETE), "years[0].notices"),
    ("empty notices", _set([*Y, "notices"], []), "years[0].notices"),
    (
        "notice without number",
        _set([*Y, "notices", 0, "number"], _DELETE),
        "years[0].notices[0].number",
    ),
    (
        "notice bad date",
        _set([*Y, "notices", 0, "published"], "2026/11/01"),
        "years[0].notices[0].published",
    ),
    ("notice url not str", _set([*Y, "notices", 0, "url"], 5), "years[0].notices[0].url"),
    (
        "impossible date",
        _set([*Y, "holidays", 1, "start"], "2027-02-30"),
        "years[0].holidays[1].start",
    ),
    (
        "impossible day",
        _set([*Y, "holidays", 0, "days"], ["2027-01-01", "2027-02-30"]),
        "years[0].holidays[0].days[1]",
    ),
    (
        "date in another year",
        _set([*Y, "holidays", 0, "days"], ["2026-12-31"]),
        "years[0].holidays[0].days[0]",
    ),
    ("empty name", _set([*Y, "holidays", 0, "name"], " "), "years[0].holidays[0].name"),
    ("name not str", _set([*Y, "holidays", 0, "name"], 3), "years[0].holidays[0].name"),
    (
        "end before start",
        _set([*Y, "holidays", 1, "end"], "2027-02-01"),
        "years[0].holidays[1].end",
    ),
    (
        "days and start",
        _set([*Y, "holidays", 0, "start"], "2027-01-01"),
        "years[0].holidays[0].days",
    ),
    ("no days", _set([*Y, "holidays", 0, "days"], _DELETE), "years[0].holidays[0].days"),
    ("empty days", _set([*Y, "holidays", 0, "days"], []), "years[0].holidays[0].days"),
    (
        "duplicate holiday",
        _set([*Y, "holidays", 0, "days"], ["2027-02-06"]),
        "years[0].holidays[1].start",
    ),
    (
        "make-up on a weekday",
        _set([*Y, "makeup_workdays", 0, "days"], ["2027-02-15"]),
        "years[0].makeup_workdays[0].days[0]",
    ),
    (
        "make-up is a holiday",
        _set([*Y, "makeup_workdays", 0, "days"], ["2027-02-13", "2027-02-06"]),
        "years[0].makeup_workdays[0].days[1]",
    ),
    ("holidays not array", _set([*Y, "holidays"], {"name": "x"}), "years[0].holidays"),
    ("entry not table", _set([*Y, "holidays", 0], "2027-01-01"), "years[0].holidays[0]"),
]


@pytest.mark.parametrize(
    ("mutate", "path"), [(m, p) for _, m, p in BAD_FILES], ids=[i for i, _, _ in BAD_FILES]
)
def test_bad_schedule_file_names_the_entry(
    tmp_path: Path, mutate: Callable[[dict[str, Any]], None], path: str
) -> None:
    doc = _doc()
    mutate(doc)
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ScheduleFileError) as info:
        load_schedule(file)
    assert info.value.code == "calendar.schedule_invalid"
    assert info.value.details["path"] == path
    assert info.value.details["file"] == str(file)
    assert path in info.value.message


def test_good_fixture_document_loads(tmp_path: Path) -> None:
    file = tmp_path / "good.json"
    file.write_text(json.dumps(_doc()), encoding="utf-8")
    (s,) = load_schedule(file)
    assert len(s.holidays) == 8 and len(s.makeup_workdays) == 2


@pytest.mark.parametrize(
    ("name", "content", "path"),
    [
        ("bad.toml", "[[years]\nyear = ", ""),
        ("bad.json", "{not json", ""),
        ("latin1.toml", None, ""),
        (
            "datetime.toml",
            "[[years]]\nyear = 2027\n"
            "notices = [{title='t', number='n', published=2026-11-01T08:00:00}]\n",
            "years[0].notices[0].published",
        ),
        (
            "duplicate.toml",
            "[[years]]\nyear = 2027\nnotices = [{title='t', number='n', published=2026-11-01}]\n"
            * 2,
            "years[1].year",
        ),
    ],
)
def test_bad_schedule_file_syntax(
    tmp_path: Path, name: str, content: str | None, path: str
) -> None:
    file = tmp_path / name
    if content is None:
        file.write_bytes("名称".encode("gbk"))
    else:
        file.write_text(content, encoding="utf-8")
    with pytest.raises(ScheduleFileError) as info:
        load_schedule(file)
    assert info.value.details["path"] == path
    assert info.value.details["file"] == str(file)


def test_missing_schedule_file(tmp_path: Path) -> None:
    with pytest.raises(ScheduleFileError) as info:
        load_schedule(tmp_path / "missing.toml")
    assert info.value.code == "calendar.schedule_invalid"
    assert info.value.details["path"] == ""


@pytest.mark.parametrize(
    "schedule",
    [
        YearSchedule(2027, {date(2026, 12, 31): "元旦"}, {}),
        YearSchedule(2027, {date(2027, 1, 1): ""}, {}),
        YearSchedule(2027, {}, {date(2027, 1, 4): "元旦"}),
        YearSchedule(2027, {date(2027, 1, 2): "元旦"}, {date(2027, 1, 2): "元旦"}),
        YearSchedule(1999, {}, {}),
        YearSchedule(2027, {datetime(2027, 1, 1): "元旦"}, {}),
    ],
)
def test_with_schedules_checks_entries(schedule: YearSchedule) -> None:
    with pytest.raises(ScheduleFileError) as info:
        CAL.with_schedules(schedule)
    assert info.value.details["path"].startswith(f"YearSchedule({schedule.year})")
