"""The statistics pushdown: :func:`qiandao.statistics.statistics_of` in five ``GROUP BY`` queries.

Each reads one index range of one period: credit rows by (jurisdiction, submitted_on) and
(jurisdiction, issued_on), feedback by (jurisdiction, on_date) joined to the credit rows of its
item, assignments by (jurisdiction, assigned_on), and items by the covering (jurisdiction,
submitted_on, category, channel, sector, adopted).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Executable, Result, and_, case, func, select

from qiandao.model import FeedbackKind
from qiandao.rules.lifecycle import AWAITING_UNIT_STATES
from qiandao.rules.points import AdoptionLevel, CreditKind, LeaderRank
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

__all__ = ["Execute", "statistics"]

Execute = Callable[[Executable], Result[Any]]
"""Runs one statement in the caller's unit of work."""

_I, _A, _IA, _F = s.items, s.assignments, s.item_authors, s.feedback
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


_SUBMITTED_KEY = CreditKey(CreditKind.SUBMITTED)
_ADOPTED_KEY = CreditKey(CreditKind.ADOPTED)
_UPWARD_KEYS = {
    kind.value: CreditKey(kind)
    for kind in (CreditKind.REPORTED_TO_CITY_LEADERS, CreditKind.REPORTED_TO_PRINCIPAL_OR_PROVINCE)
}
_ADOPTED_BY_KEYS = {
    level.value: CreditKey(CreditKind.ADOPTED_BY, level=level) for level in AdoptionLevel
}
_INSTRUCTION_KEYS = {
    rank.value: CreditKey(CreditKind.INSTRUCTION, rank=rank) for rank in LeaderRank
}


def _people(execute: Execute, query: StatisticsQuery) -> list[PersonCounts]:
    """Credits of the period per person: submitted, adopted and upward, then feedback."""
    credits: dict[str, dict[CreditKey, int]] = defaultdict(dict)

    def credit(person: str, key: CreditKey, n: int) -> None:
        credits[person][key] = credits[person].get(key, 0) + int(n)

    submitted = (
        select(_IA.c.account_id, func.count())
        .where(*_period(_IA.c.jurisdiction, _IA.c.submitted_on, query))
        .group_by(_IA.c.account_id)
    )
    for person, n in _rows(execute, submitted):
        credit(person, _SUBMITTED_KEY, n)

    adopted = (
        select(_IA.c.account_id, _IA.c.upward, func.count())
        .where(*_period(_IA.c.jurisdiction, _IA.c.issued_on, query))
        .group_by(_IA.c.account_id, _IA.c.upward)
    )
    for person, upward, n in _rows(execute, adopted):
        credit(person, _ADOPTED_KEY, n)
        if upward is not None:
            credit(person, _UPWARD_KEYS[upward], n)

    feedback = (
        select(_IA.c.account_id, _F.c.kind, _F.c.level, _F.c.rank, func.count())
        .select_from(_F)
        .join(_IA, _IA.c.item_id == _F.c.item_id)
        .where(*_period(_F.c.jurisdiction, _F.c.on_date, query), _F.c.credited)
        .group_by(_IA.c.account_id, _F.c.kind, _F.c.level, _F.c.rank)
    )
    for person, kind, level, leader_rank, n in _rows(execute, feedback):
        if kind == FeedbackKind.ADOPTION.value:
            credit(person, _ADOPTED_BY_KEYS[level], n)
        else:
            credit(person, _INSTRUCTION_KEYS[leader_rank], n)
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
    )
