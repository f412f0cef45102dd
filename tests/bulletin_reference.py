"""The item-based bulletin the library computed before stores aggregated statistics.

Kept verbatim as an independent oracle: ``bulletin(statistics_of(items, q), table)`` and every
store's ``statistics`` must give the same bulletin as this function over the same items. It
computes the working days to reply with the calendar, where the library now adds up
``Assignment.reply_workdays`` as recorded by the reply command.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date

from qiandao.model import Item
from qiandao.reporting import Bulletin, GroupLine, PersonLine, UnitLine
from qiandao.rules.deadlines import WorkdayCalendar, local_day
from qiandao.rules.lifecycle import AssignmentState
from qiandao.rules.points import CreditKind, Period, PointsTable, rank, scores
from qiandao.rules.rating import Rating
from qiandao.statistics import credits_of

__all__ = ["reference_bulletin"]


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


def reference_bulletin(
    items: Iterable[Item],
    period: Period,
    table: PointsTable,
    calendar: WorkdayCalendar,
    today: date,
) -> Bulletin:
    """The bulletin computed straight from the items, as the library did before statistics."""
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
        # review stages the job found past their window (第五条), on days of the period
        overdue_reviews=sum(local_day(o.at) in period for i in items for o in i.review_overruns),
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
