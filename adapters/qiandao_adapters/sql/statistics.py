"""The statistics pushdown: :func:`qiandao.statistics.statistics_of` in three ``GROUP BY`` queries.

Each query reads one index range of one period: credit rows by (jurisdiction, on_date), the
assignments by (jurisdiction, assigned_on), and the items by the covering (jurisdiction,
submitted_on, category, channel, sector, adopted). The credit rows are what ``credits_of``
returned when the item was saved, so they are only summed here, never decided.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Executable, Result, and_, case, func, select

from qiandao.rules.lifecycle import AWAITING_UNIT_STATES
from qiandao.rules.rating import Rating
from qiandao.statistics import (
    CreditKey,
    GroupCounts,
    PersonCounts,
    Statistics,
    StatisticsQuery,
    UnitCounts,
)
from qiandao_adapters.sql import schema as s
from qiandao_adapters.sql.rows import credit_key

__all__ = ["Execute", "statistics"]

Execute = Callable[[Executable], Result[Any]]
"""Runs one statement in the caller's unit of work."""

_I, _A, _C = s.items, s.assignments, s.credits
_OVERDUE_STATES = sorted(state.value for state in AWAITING_UNIT_STATES)


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _rows(execute: Execute, statement: Executable) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in execute(statement).all()]


def _period(column: Any, date_column: Any, query: StatisticsQuery) -> list[ColumnElement[bool]]:
    """The query's jurisdiction (if any) on ``column`` and its period on ``date_column``."""
    found = [date_column.between(query.period.start, query.period.end)]
    if query.jurisdiction is not None:
        found.insert(0, column == query.jurisdiction)
    return found


def _people(execute: Execute, query: StatisticsQuery) -> list[PersonCounts]:
    """Credit rows of the period, summed per person and credit key."""
    credits: dict[str, dict[CreditKey, int]] = defaultdict(dict)
    per_key = (
        select(_C.c.person_id, _C.c.kind, _C.c.level, _C.c.rank, func.count())
        .where(*_period(_C.c.jurisdiction, _C.c.on_date, query))
        .group_by(_C.c.person_id, _C.c.kind, _C.c.level, _C.c.rank)
    )
    for person, kind, level, rank, n in _rows(execute, per_key):
        credits[person][credit_key(kind, level, rank)] = int(n)
    return [PersonCounts(person, counts) for person, counts in credits.items()]


def _units(execute: Execute, query: StatisticsQuery) -> list[UnitCounts]:
    """Assignments made in the period, counted per unit."""
    replied = _A.c.last_replied_on.is_not(None)
    units = (
        select(
            _A.c.unit_id,
            func.count(),
            _count_if(replied),
            _count_if(_A.c.last_replied_on <= _A.c.due),
            _count_if(
                and_(
                    _A.c.last_replied_on.is_(None),
                    _A.c.state.in_(_OVERDUE_STATES),
                    _A.c.due < query.today,
                )
            ),
            _count_if(_A.c.extended),
            _count_if(_A.c.declined),
            *(_count_if(and_(replied, _A.c.rating == r.value)) for r in Rating),
            func.sum(_A.c.reply_workdays),
            func.count(_A.c.reply_workdays),
        )
        .where(*_period(_A.c.jurisdiction, _A.c.assigned_on, query))
        .group_by(_A.c.unit_id)
    )
    found = []
    for row in _rows(execute, units):
        unit_id, assigned, n_replied, on_time, overdue, extended, declined = row[:7]
        ratings = dict(zip(Rating, (int(n) for n in row[7 : 7 + len(Rating)]), strict=True))
        total, count = row[7 + len(Rating) :]
        found.append(
            UnitCounts(
                unit_id=unit_id,
                assigned=int(assigned),
                replied=int(n_replied),
                replied_on_time=int(on_time),
                overdue=int(overdue),
                extended=int(extended),
                declined=int(declined),
                ratings=ratings,
                reply_workdays_total=int(total or 0),
                reply_workdays_count=int(count),
            )
        )
    return found


def _groups(execute: Execute, query: StatisticsQuery) -> list[list[GroupCounts]]:
    """Items submitted in the period per category, sector, channel and jurisdiction."""
    groups = (
        select(
            _I.c.category,
            _I.c.sector,
            _I.c.channel,
            _I.c.jurisdiction,
            func.count(),
            _count_if(_I.c.adopted),
        )
        .where(*_period(_I.c.jurisdiction, _I.c.submitted_on, query))
        .group_by(_I.c.category, _I.c.sector, _I.c.channel, _I.c.jurisdiction)
    )
    tallies: list[dict[str, list[int]]] = [{}, {}, {}, {}]
    for row in _rows(execute, groups):
        n, n_adopted = int(row[4]), int(row[5])
        for tally, key in zip(tallies, row[:4], strict=True):
            counts = tally.setdefault(key, [0, 0])
            counts[0] += n
            counts[1] += n_adopted
    return [
        [GroupCounts(key, n, n_adopted) for key, (n, n_adopted) in tally.items()]
        for tally in tallies
    ]


def _overdue_reviews(execute: Execute, query: StatisticsQuery) -> int:
    """Review stages found past their window on a day of the period."""
    t = s.review_overruns
    stmt = select(func.count()).select_from(t).where(*_period(t.c.jurisdiction, t.c.on_date, query))
    return int(execute(stmt).scalar_one())


def statistics(execute: Execute, query: StatisticsQuery) -> Statistics:
    """The counts :func:`qiandao.statistics.statistics_of` gives for ``query``, from SQL."""
    people, units = _people(execute, query), _units(execute, query)
    category, sector, channel, jurisdiction = _groups(execute, query)
    return Statistics(
        query=query,
        people=people,
        units=units,
        by_category=category,
        by_sector=sector,
        by_channel=channel,
        by_jurisdiction=jurisdiction,
        overdue_reviews=_overdue_reviews(execute, query),
    )
