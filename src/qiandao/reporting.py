"""Quarterly bulletin and year-end assessment (第十一、十三条), from counts and a points table.

The store aggregates the counts (:meth:`~qiandao.ports.store.ItemRepository.statistics`, with
:func:`qiandao.statistics.statistics_of` as the reference semantics); this module only scores,
ranks and labels them, so no bulletin ever loads every item.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import attrs

from qiandao.model import Channel, FocusCategory
from qiandao.planning import PlanProgress
from qiandao.rules.points import CreditKind, Period, PointsTable, RankedScore, points_for, rank
from qiandao.rules.rating import Rating
from qiandao.statistics import (
    CreditKey,
    GroupCounts,
    PersonCounts,
    Statistics,
    UnitCounts,
    credits_of,
)

__all__ = [
    "Bulletin",
    "GroupLine",
    "PersonLine",
    "UnitLine",
    "bulletin",
    "credits_of",
    "score",
]


@attrs.frozen
class PersonLine:
    """One member's or officer's line in the bulletin."""

    person_id: str
    submitted: int
    adopted: int
    reported_upward: int
    instructions: int
    score: int
    place: int


@attrs.frozen
class UnitLine:
    """One handling unit's line: workload, timeliness and ratings."""

    unit_id: str
    assigned: int
    replied: int
    replied_on_time: int
    overdue: int
    extended: int
    declined: int
    ratings: Mapping[Rating, int]
    on_time_rate: float | None
    satisfaction_rate: float | None
    average_reply_workdays: float | None


@attrs.frozen
class GroupLine:
    """Submitted and adopted counts for one category, sector, channel or jurisdiction."""

    key: str
    label: str
    submitted: int
    adopted: int


@attrs.frozen
class Bulletin:
    """The quarterly bulletin (季度通报) of one period."""

    period: Period
    people: tuple[PersonLine, ...]
    units: tuple[UnitLine, ...]
    by_category: tuple[GroupLine, ...]
    by_sector: tuple[GroupLine, ...]
    by_channel: tuple[GroupLine, ...]
    by_jurisdiction: tuple[GroupLine, ...]
    ranking: tuple[RankedScore, ...]
    overdue_reviews: int = 0  # review stages past their window (第五条), see Statistics
    # display names by id: people's real names and units' names; an id the store no longer
    # knows is absent (the line shows the id)
    names: Mapping[str, str] = attrs.field(factory=dict)
    unit_names: Mapping[str, str] = attrs.field(factory=dict)
    # the annual plan's progress (第六条) from 1 January to the period's end, when the
    # jurisdiction has a plan for the year
    plan: PlanProgress | None = None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def score(person: PersonCounts, table: PointsTable) -> int:
    """A person's points: each count times the points of its credit under ``table``."""
    return sum(n * _points(key, table) for key, n in person.credits.items())


def _points(key: CreditKey, table: PointsTable) -> int:
    return points_for(table, key.kind, level=key.level, rank=key.rank)


def _groups(
    counts: Iterable[GroupCounts], label: Mapping[str, str] | None = None, *, blank: str = ""
) -> tuple[GroupLine, ...]:
    lines = []
    for g in counts:
        key = g.key or "-"
        name = (label or {}).get(g.key, g.key) or blank
        lines.append(GroupLine(key, name, g.submitted, g.adopted))
    return tuple(sorted(lines, key=lambda line: line.key))


def _unit_line(u: UnitCounts) -> UnitLine:
    r = u.ratings
    rated = r[Rating.SATISFIED] + r[Rating.BASICALLY_SATISFIED] + r[Rating.DISSATISFIED]
    days = u.reply_workdays_count
    return UnitLine(
        unit_id=u.unit_id,
        assigned=u.assigned,
        replied=u.replied,
        replied_on_time=u.replied_on_time,
        overdue=u.overdue,
        extended=u.extended,
        declined=u.declined,
        ratings=dict(r),
        on_time_rate=_rate(u.replied_on_time, u.replied),
        satisfaction_rate=_rate(r[Rating.SATISFIED] + r[Rating.BASICALLY_SATISFIED], rated),
        average_reply_workdays=round(u.reply_workdays_total / days, 2) if days else None,
    )


_CATEGORY_LABELS = {c.value: c.label for c in FocusCategory}
_CHANNEL_LABELS = {c.value: c.label for c in Channel}


def bulletin(stats: Statistics, table: PointsTable) -> Bulletin:
    """The bulletin of ``stats``' period: people scored with ``table`` and ranked, units with
    their KPIs, and the breakdowns by category, sector, channel and jurisdiction."""
    worth = {key: _points(key, table) for p in stats.people for key in p.credits}
    ranking = rank(
        {p.person_id: sum(n * worth[key] for key, n in p.credits.items()) for p in stats.people}
    )
    kinds: dict[str, Counter[CreditKind]] = {}
    for p in stats.people:
        counter: Counter[CreditKind] = Counter()
        kinds[p.person_id] = counter
        for key, n in p.credits.items():
            counter[key.kind] += n
    people = tuple(
        PersonLine(
            person_id=r.person_id,
            submitted=kinds[r.person_id][CreditKind.SUBMITTED],
            adopted=kinds[r.person_id][CreditKind.ADOPTED],
            reported_upward=kinds[r.person_id][CreditKind.REPORTED_TO_CITY_LEADERS]
            + kinds[r.person_id][CreditKind.REPORTED_TO_PRINCIPAL_OR_PROVINCE],
            instructions=kinds[r.person_id][CreditKind.INSTRUCTION],
            score=r.score,
            place=r.place,
        )
        for r in ranking
    )
    return Bulletin(
        period=stats.query.period,
        people=people,
        units=tuple(_unit_line(u) for u in stats.units),
        by_category=_groups(stats.by_category, _CATEGORY_LABELS),
        by_sector=_groups(stats.by_sector, blank="未填"),
        by_channel=_groups(stats.by_channel, _CHANNEL_LABELS),
        by_jurisdiction=_groups(stats.by_jurisdiction),
        ranking=tuple(ranking),
        overdue_reviews=stats.overdue_reviews,
    )
