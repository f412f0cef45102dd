"""The calendar contract: every ``WorkdayCalendar``, ours or a host's, proves itself here.

Shipped in the package so a host with a calendar of its own (another region's holidays, a
database-backed schedule) runs exactly the checks ``ChinaWorkdays`` passes. Subclass it in a test
module whose class name starts with ``Test`` and pytest collects it::

    from qiandao.testing import CalendarContract


    class TestMyCalendar(CalendarContract):
        def make_calendar(self) -> MyCalendar:
            return MyCalendar()

Hooks and knobs:

- ``make_calendar()`` (required): the calendar under test (called once per test).
- ``first_day`` / ``last_day``: the start days the property tests draw from; every count up to
  ``max_workdays`` either way from them must be answerable.
- ``max_workdays``: the largest count drawn (``explain`` is checked up to ``explain_workdays``).
- ``out_of_range``: days the calendar refuses with ``YearOutOfRange`` (default: none).
- ``hypothesis_max_examples``: examples per property (default: the loaded Hypothesis profile).

Register the package for pytest's assertion rewriting in the host's ``conftest.py``::

    pytest.register_assert_rewrite("qiandao.testing")

The semantics checked are those of the protocol: ``add_working_days(d, n)`` is the n-th working
day after ``d`` (``d`` not counted), before ``d`` when n < 0, and ``d`` itself when n == 0;
``working_days_between(a, b)`` counts the working days ``w`` with a < w <= b (negated when
b < a); answers are plain ``date``/``int``; bad input raises the coded calendar errors. This
module imports pytest and Hypothesis; import it from tests only.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

import pytest
from hypothesis import strategies as st

from qiandao.calendar import DayKind
from qiandao.errors import CalendarError, InvalidDate, InvalidWorkdayCount, YearOutOfRange
from qiandao.rules.deadlines import WorkdayCalendar
from qiandao.testing._support import property_of

__all__ = ["CalendarContract"]

_ONE = timedelta(days=1)
_BAD_DATES: tuple[object, ...] = ("2025-01-02", None, 20250102, datetime(2025, 1, 2, 9, 30))
_BAD_COUNTS: tuple[object, ...] = (True, 1.0, "3", None)


def _walk(calendar: WorkdayCalendar, first: date, last: date) -> int:
    """Oracle: the working days in ``first..last``, one day at a time (0 for an empty span)."""
    days = (last - first).days + 1
    return sum(1 for k in range(max(days, 0)) if calendar.is_working_day(first + k * _ONE))


def _span(start: date, n: int, due: date) -> tuple[date, date] | None:
    """The days a count of ``n`` from ``start`` depends on: (start, due] or [due, start)."""
    if n > 0:
        return start + _ONE, due
    if n < 0:
        return due, start - _ONE
    return None


class CalendarContract(abc.ABC):
    """The behaviour every working-day calendar must have (第十条, the protocol's docs).

    Subclass it in a ``Test…`` class and implement :meth:`make_calendar`.
    """

    first_day: ClassVar[date] = date(2018, 1, 1)
    last_day: ClassVar[date] = date(2048, 12, 31)
    max_workdays: ClassVar[int] = 300
    explain_workdays: ClassVar[int] = 60
    out_of_range: ClassVar[tuple[date, ...]] = ()
    hypothesis_max_examples: ClassVar[int | None] = None
    official_years: ClassVar[frozenset[int]] = frozenset()
    """Years the calendar under test has an official schedule for (checked, not trusted)."""
    provisional_years: ClassVar[frozenset[int]] = frozenset()
    """Years it has none for: every deadline touching them must say so."""

    # --- hooks ----------------------------------------------------------------------------

    @abc.abstractmethod
    def make_calendar(self) -> WorkdayCalendar:
        """The calendar under test."""

    def _property(self, *strategies: st.SearchStrategy[Any]) -> Callable[..., Any]:
        """``given(*strategies)`` under this contract's settings."""
        return property_of(self.hypothesis_max_examples, *strategies)

    def _days(self) -> st.SearchStrategy[date]:
        return st.dates(self.first_day, self.last_day)

    def _counts(self, limit: int | None = None) -> st.SearchStrategy[int]:
        top = self.max_workdays if limit is None else limit
        return st.integers(-top, top)

    # --- counting -------------------------------------------------------------------------

    def test_zero_working_days_is_the_start_itself(self) -> None:
        calendar = self.make_calendar()

        @self._property(self._days())
        def check(d: date) -> None:
            assert calendar.add_working_days(d, 0) == d
            assert calendar.working_days_between(d, d) == 0

        check()

    def test_counting_lands_on_the_nth_working_day_either_way(self) -> None:
        calendar = self.make_calendar()

        @self._property(self._days(), self._counts())
        def check(d: date, n: int) -> None:
            due = calendar.add_working_days(d, n)
            if n == 0:
                assert due == d
                return
            assert calendar.is_working_day(due), (d, n, due)
            if n > 0:
                assert due > d
                assert _walk(calendar, d + _ONE, due) == n
                assert calendar.working_days_between(d, due) == n
                start = d if calendar.is_working_day(d) else calendar.add_working_days(d, -1)
                assert calendar.add_working_days(due, -n) == start  # back to d's working day
            else:
                assert due < d
                assert _walk(calendar, due, d - _ONE) == -n
                after_due = -n - 1 + calendar.is_working_day(d)  # (due, d] holds these
                assert calendar.working_days_between(due, d) == after_due
                assert calendar.working_days_between(d, due) == -after_due

        check()

    def test_counting_is_monotone(self) -> None:
        calendar = self.make_calendar()

        @self._property(self._days(), self._days(), self._counts(), self._counts())
        def check(d1: date, d2: date, n1: int, n2: int) -> None:
            (d1, d2), (n1, n2) = sorted((d1, d2)), sorted((n1, n2))
            assert calendar.add_working_days(d1, n1) <= calendar.add_working_days(d2, n1)
            assert calendar.add_working_days(d1, n1) <= calendar.add_working_days(d1, n2)

        check()

    def test_between_is_antisymmetric_and_inverts_adding(self) -> None:
        calendar = self.make_calendar()

        @self._property(self._days(), st.integers(-800, 800))
        def check(a: date, offset: int) -> None:
            b = min(max(a + timedelta(days=offset), self.first_day), self.last_day)
            count = calendar.working_days_between(a, b)
            assert calendar.working_days_between(b, a) == -count
            lo, hi = sorted((a, b))
            assert abs(count) == _walk(calendar, lo + _ONE, hi)
            if b > a and calendar.is_working_day(b):
                assert calendar.add_working_days(a, count) == b

        check()

    def test_answers_are_plain_dates_and_ints(self) -> None:
        calendar = self.make_calendar()

        @self._property(self._days(), self._counts())
        def check(d: date, n: int) -> None:
            due = calendar.add_working_days(d, n)
            assert type(due) is date, type(due)
            assert type(calendar.working_days_between(d, due)) is int
            assert type(calendar.is_working_day(d)) is bool

        check()

    # --- explanations and provisional years -----------------------------------------------

    def test_explain_agrees_with_adding_and_lists_every_day(self) -> None:
        calendar = self.make_calendar()

        @self._property(self._days(), self._counts(self.explain_workdays))
        def check(d: date, n: int) -> None:
            ex = calendar.explain(d, n)
            assert (ex.start, ex.workdays, ex.due) == (d, n, calendar.add_working_days(d, n))
            assert len(ex.counted) == abs(n)
            assert not n or ex.counted[-1] == ex.due
            span = _span(d, n, ex.due)
            covered = sorted([*ex.counted, *(s.day for s in ex.skipped)])
            if span is None:
                assert covered == []
            else:
                first, last = span
                assert covered == [first + k * _ONE for k in range((last - first).days + 1)]
            assert all(calendar.is_working_day(c) for c in ex.counted)
            assert all(not calendar.is_working_day(s.day) for s in ex.skipped)
            assert all(s.kind in (DayKind.WEEKEND, DayKind.HOLIDAY) for s in ex.skipped)
            counted = set(ex.counted)
            for m in ex.makeup_counted:
                assert m.day in counted and m.day.weekday() >= 5
                assert m.kind is DayKind.MAKEUP_WORKDAY
            expected = () if span is None else calendar.provisional_years(*span)
            assert ex.provisional_years == expected
            assert ex.provisional == bool(expected)
            assert isinstance(ex.text(), str) and ex.text()

        check()

    def test_provisional_years_are_whole_years_of_the_span(self) -> None:
        calendar = self.make_calendar()

        @self._property(self._days(), self._days(), self._days())
        def check(a: date, b: date, c: date) -> None:
            first, split, last = sorted((a, b, c))
            years = calendar.provisional_years(first, last)
            assert list(years) == sorted(set(years))
            assert all(type(y) is int and first.year <= y <= last.year for y in years)
            halves = {*calendar.provisional_years(first, split)}
            halves |= {*calendar.provisional_years(split + _ONE, last)}
            assert years == tuple(sorted(halves))
            assert calendar.provisional_years(split + _ONE, split) == ()  # an empty span
            whole = calendar.provisional_years(date(first.year, 1, 1), date(first.year, 12, 31))
            assert calendar.provisional_years(first, first) == whole
            assert whole in ((), (first.year,))

        check()

    def test_provisional_years_match_the_declared_years(self) -> None:
        """Checked against what the subclass declares, not against the calendar itself."""
        calendar = self.make_calendar()
        for year in sorted(self.official_years):
            assert calendar.provisional_years(date(year, 1, 1), date(year, 12, 31)) == ()
        for year in sorted(self.provisional_years):
            jan1, dec31 = date(year, 1, 1), date(year, 12, 31)
            assert calendar.provisional_years(jan1, dec31) == (year,)
            assert year in calendar.provisional_years(jan1 - _ONE, jan1)  # a span ending in it
            assert year in calendar.provisional_years(dec31, dec31 + _ONE)  # one starting in it
            assert calendar.explain(jan1 - _ONE, 1).provisional_years == (year,)

    # --- bad input ------------------------------------------------------------------------

    def _calls_with(self, calendar: WorkdayCalendar, day: Any) -> list[Callable[[], object]]:
        """Every method, called with ``day`` in each of its date places."""
        good = self.first_day
        return [
            lambda: calendar.is_working_day(day),
            lambda: calendar.add_working_days(day, 1),
            lambda: calendar.working_days_between(day, good),
            lambda: calendar.working_days_between(good, day),
            lambda: calendar.explain(day, 1),
            lambda: calendar.provisional_years(day, good),
            lambda: calendar.provisional_years(good, day),
        ]

    @pytest.mark.parametrize("bad", _BAD_DATES, ids=repr)
    def test_a_bad_date_raises_invalid_date(self, bad: Any) -> None:
        for call in self._calls_with(self.make_calendar(), bad):
            self._refused(call, InvalidDate)

    @pytest.mark.parametrize("bad", _BAD_COUNTS, ids=repr)
    def test_a_bad_count_raises_invalid_workday_count(self, bad: Any) -> None:
        calendar = self.make_calendar()
        self._refused(lambda: calendar.add_working_days(self.first_day, bad), InvalidWorkdayCount)
        self._refused(lambda: calendar.explain(self.first_day, bad), InvalidWorkdayCount)

    def test_days_out_of_range_raise_year_out_of_range(self) -> None:
        calendar = self.make_calendar()
        for day in self.out_of_range:
            for call in self._calls_with(calendar, day):
                self._refused(call, YearOutOfRange)

    @staticmethod
    def _refused(call: Callable[[], object], kind: type[CalendarError]) -> None:
        with pytest.raises(kind) as info:
            call()
        assert info.value.code == kind.code, info.value.code
