"""Quarterly bulletin and year-end assessment (第十一、十三条), as pure functions over items.

The in-memory path computes them here; a SQL store may push the same aggregates down.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import date

import attrs

from qiandao.model import FeedbackKind, Item
from qiandao.rules.deadlines import WorkdayCalendar, local_day
from qiandao.rules.lifecycle import AssignmentState, ItemState
from qiandao.rules.points import Credit, CreditKind, Period, PointsTable, RankedScore, rank, scores
from qiandao.rules.rating import Rating
from qiandao.rules.tiers import Destination

__all__ = [
    "Bulletin",
    "GroupLine",
    "PersonLine",
    "UnitLine",
    "bulletin",
    "credits_of",
]


def credits_of(item: Item) -> list[Credit]:
    """Every creditable fact of one item, for each credited person (merged authors included)."""
    out: list[Credit] = []
    if item.submitted_at is not None and item.state not in (ItemState.DRAFT, ItemState.WITHDRAWN):
        day = local_day(item.submitted_at)
        out += [Credit(p, CreditKind.SUBMITTED, day, item.id) for p in sorted(item.authors)]
    if item.adopted and item.issued_at is not None:
        day = local_day(item.issued_at)
        credited = sorted(item.authors | item.merged_authors)
        out += [Credit(p, CreditKind.ADOPTED, day, item.id) for p in credited]
        upward = None
        if Destination.REPORT_TO_PRINCIPAL_LEADERS_AND_PROVINCE in item.destinations:
            upward = CreditKind.REPORTED_TO_PRINCIPAL_OR_PROVINCE
        elif Destination.REPORT_TO_CITY_LEADERS in item.destinations:
            upward = CreditKind.REPORTED_TO_CITY_LEADERS
        if upward is not None:
            out += [Credit(p, upward, day, item.id) for p in credited]
        for fb in item.feedback:
            if fb.kind is FeedbackKind.ADOPTION and fb.level is not None:
                out += [
                    Credit(p, CreditKind.ADOPTED_BY, fb.on, item.id, level=fb.level)
                    for p in credited
                ]
            elif fb.kind is FeedbackKind.INSTRUCTION and fb.rank is not None:
                out += [
                    Credit(p, CreditKind.INSTRUCTION, fb.on, item.id, rank=fb.rank)
                    for p in credited
                ]
    return out


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


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _groups(pairs: Iterable[tuple[str, str, bool, bool]]) -> tuple[GroupLine, ...]:
    submitted: Counter[str] = Counter()
    adopted: Counter[str] = Counter()
    labels: dict[str, str] = {}
    for key, label, was_submitted, was_adopted in pairs:
        labels[key] = label
        submitted[key] += was_submitted
        adopted[key] += was_adopted
    return tuple(GroupLine(k, labels[k], submitted[k], adopted[k]) for k in sorted(labels))


def bulletin(
    items: Iterable[Item],
    period: Period,
    table: PointsTable,
    calendar: WorkdayCalendar,
    today: date,
) -> Bulletin:
    """Aggregate the period's work: people by score, units by KPIs, and the breakdowns."""
    items = list(items)
    all_credits = [c for item in items for c in credits_of(item)]
    totals = scores(all_credits, table, period)
    counts: dict[str, Counter[CreditKind]] = defaultdict(Counter)
    for credit in all_credits:
        if credit.on in period:
            counts[credit.person_id][credit.kind] += 1
    ranking = rank(totals)
    place = {r.person_id: r.place for r in ranking}
    people = tuple(
        PersonLine(
            person_id=r.person_id,
            submitted=counts[r.person_id][CreditKind.SUBMITTED],
            adopted=counts[r.person_id][CreditKind.ADOPTED],
            reported_upward=counts[r.person_id][CreditKind.REPORTED_TO_CITY_LEADERS]
            + counts[r.person_id][CreditKind.REPORTED_TO_PRINCIPAL_OR_PROVINCE],
            instructions=counts[r.person_id][CreditKind.INSTRUCTION],
            score=r.score,
            place=place[r.person_id],
        )
        for r in ranking
    )
    units = _unit_lines(items, period, calendar, today)
    in_period = [
        i for i in items if i.submitted_at is not None and local_day(i.submitted_at) in period
    ]
    return Bulletin(
        period=period,
        people=people,
        units=units,
        by_category=_groups(
            (i.category.value, i.category.label, True, i.adopted) for i in in_period
        ),
        by_sector=_groups(
            (i.sector or "-", i.sector or "未填", True, i.adopted) for i in in_period
        ),
        by_channel=_groups((i.channel.value, i.channel.label, True, i.adopted) for i in in_period),
        by_jurisdiction=_groups(
            (i.jurisdiction, i.jurisdiction, True, i.adopted) for i in in_period
        ),
        ranking=tuple(ranking),
    )


def _unit_lines(
    items: list[Item], period: Period, calendar: WorkdayCalendar, today: date
) -> tuple[UnitLine, ...]:
    lines: dict[str, dict[str, int]] = defaultdict(Counter)
    ratings: dict[str, Counter[Rating]] = defaultdict(Counter)
    reply_days: dict[str, list[int]] = defaultdict(list)
    for item in items:
        for a in item.assignments:
            assigned_day = local_day(a.assigned_at)
            if assigned_day not in period:
                continue
            line = lines[a.unit_id]
            line["assigned"] += 1
            line["extended"] += a.approved_extensions > 0
            line["declined"] += a.decline_reason is not None
            if a.replies:
                replied_day = local_day(a.replies[-1].at)
                line["replied"] += 1
                line["on_time"] += replied_day <= a.due
                reply_days[a.unit_id].append(
                    calendar.working_days_between(assigned_day, replied_day)
                )
                ratings[a.unit_id][a.rating] += 1
            elif a.open and a.state is not AssignmentState.DECLINED and today > a.due:
                line["overdue"] += 1
    out = []
    for unit_id in sorted(lines):
        line = lines[unit_id]
        r = ratings[unit_id]
        rated = r[Rating.SATISFIED] + r[Rating.BASICALLY_SATISFIED] + r[Rating.DISSATISFIED]
        days = reply_days[unit_id]
        out.append(
            UnitLine(
                unit_id=unit_id,
                assigned=line["assigned"],
                replied=line["replied"],
                replied_on_time=line["on_time"],
                overdue=line["overdue"],
                extended=line["extended"],
                declined=line["declined"],
                ratings={k: r[k] for k in Rating},
                on_time_rate=_rate(line["on_time"], line["replied"]),
                satisfaction_rate=_rate(r[Rating.SATISFIED] + r[Rating.BASICALLY_SATISFIED], rated),
                average_reply_workdays=round(sum(days) / len(days), 2) if days else None,
            )
        )
    return tuple(out)
