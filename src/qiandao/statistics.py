"""The counts behind the bulletin and the assessment (第十一、十三条), as a store aggregates them.

A store answers a :class:`StatisticsQuery` with :class:`Statistics`: counts only (no points, no
calendar), so a SQL store computes them with a handful of ``GROUP BY`` queries instead of
loading every item. :func:`statistics_of` is the reference semantics over items: the in-memory
store answers with it, and the store contract suite checks every store against it.
:func:`qiandao.reporting.bulletin` turns the counts and a points table into the bulletin.

Crediting rules (the same as :func:`credits_of`):

- 报送 (``SUBMITTED``): every author (lead and co-authors) of an item submitted in the period,
  unless the item is a draft or was withdrawn; dated by the day of submission.
- 录用 (``ADOPTED``) and 专报 (``REPORTED_TO_…``, the highest upward destination only): every
  author and every merged author of an adopted item, dated by the day it was issued.
- 上级采用 (``ADOPTED_BY``, per level) and 领导批示 (``INSTRUCTION``, per rank): the same people,
  once per feedback record, dated by the feedback's own date (``on``).

Per unit, over the assignments made in the period: assigned, replied, replied on time (last
reply on or before the due day), overdue (open, not declined, never replied, due before
``today``), extended (at least one approved extension), declined (a decline reason was given),
the ratings of replied assignments, and the sum and count of the working days to reply.
Per category, sector, channel and jurisdiction: items submitted in the period, and how many of
them are adopted. Overdue reviews (急事急报, 第五条): the review stages (初审, 审核, 签发) the
periodic job found past their window on a day of the period (``Item.review_overruns``: one per
stage entry, whether the review has since finished or is still waiting). Days are Asia/Shanghai
days.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import date

import attrs

from qiandao.model import FeedbackKind, Item
from qiandao.rules.deadlines import local_day
from qiandao.rules.lifecycle import AWAITING_UNIT_STATES, ItemState
from qiandao.rules.points import AdoptionLevel, Credit, CreditKind, LeaderRank, Period
from qiandao.rules.rating import Rating
from qiandao.rules.tiers import Destination

__all__ = [
    "CreditKey",
    "GroupCounts",
    "PersonCounts",
    "Statistics",
    "StatisticsQuery",
    "UnitCounts",
    "credits_of",
    "statistics_of",
    "upward_credit",
]


def upward_credit(destinations: Iterable[Destination]) -> CreditKind | None:
    """The credit for reporting upward: the highest upward destination only, if any."""
    chosen = frozenset(destinations)
    if Destination.REPORT_TO_PRINCIPAL_LEADERS_AND_PROVINCE in chosen:
        return CreditKind.REPORTED_TO_PRINCIPAL_OR_PROVINCE
    if Destination.REPORT_TO_CITY_LEADERS in chosen:
        return CreditKind.REPORTED_TO_CITY_LEADERS
    return None


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
        upward = upward_credit(item.destinations)
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
class StatisticsQuery:
    """Which counts: one jurisdiction (``None``: all), one period, and the day "overdue" is
    judged on."""

    jurisdiction: str | None
    """Code of the jurisdiction counted, or ``None`` for all."""
    period: Period
    """The days counted (a quarter for the bulletin, a year for the assessment)."""
    today: date
    """The day "overdue" is judged on (Asia/Shanghai)."""


@attrs.frozen
class CreditKey:
    """What a count is of: a credit kind, with the adoption level or the leader rank."""

    kind: CreditKind
    """The credit kind counted."""
    level: AdoptionLevel | None = None
    """The adoption level: for ``ADOPTED_BY`` only, and then required."""
    rank: LeaderRank | None = None
    """The leader's rank: for ``INSTRUCTION`` only, and then required."""

    def __attrs_post_init__(self) -> None:
        if (self.level is not None) != (self.kind is CreditKind.ADOPTED_BY):
            raise ValueError("an adoption level goes with ADOPTED_BY credits only")
        if (self.rank is not None) != (self.kind is CreditKind.INSTRUCTION):
            raise ValueError("a leader rank goes with INSTRUCTION credits only")

    @classmethod
    def of(cls, credit: Credit) -> CreditKey:
        """The key of one credit."""
        return cls(credit.kind, credit.level, credit.rank)


def _positive_counts(counts: Mapping[CreditKey, int]) -> Mapping[CreditKey, int]:
    return {key: n for key, n in counts.items() if n}


def _all_ratings(counts: Mapping[Rating, int]) -> Mapping[Rating, int]:
    return {rating: counts.get(rating, 0) for rating in Rating}


@attrs.frozen
class PersonCounts:
    """One person's credits in the period, counted per :class:`CreditKey` (zeros left out)."""

    person_id: str
    """Account id of the person."""
    credits: Mapping[CreditKey, int] = attrs.field(converter=_positive_counts)
    """Number of credits per key; keys with a zero count are left out."""

    def count(self, *kinds: CreditKind) -> int:
        """How many credits of any of ``kinds`` (every level and rank)."""
        return sum(n for key, n in self.credits.items() if key.kind in kinds)


@attrs.frozen
class UnitCounts:
    """One handling unit's assignments made in the period."""

    unit_id: str
    """Id of the handling unit."""
    assigned: int
    """Assignments made to the unit in the period."""
    replied: int
    """How many of them were replied to."""
    replied_on_time: int
    """How many got their last reply on or before the due day."""
    overdue: int
    """How many are open, not declined, never replied and due before ``today``."""
    extended: int
    """How many had at least one approved extension."""
    declined: int
    """How many the unit asked to decline (申退, a reason given)."""
    ratings: Mapping[Rating, int] = attrs.field(converter=_all_ratings)
    """Ratings of the replied assignments, per rating (every rating present)."""
    reply_workdays_total: int = 0
    """Sum of working days from assignment to reply, over the replies counted."""
    reply_workdays_count: int = 0
    """Replied assignments whose working days are known (the average's divisor)."""


@attrs.frozen
class GroupCounts:
    """Items submitted in the period with one key (category, sector, channel, jurisdiction),
    and how many of them are adopted. The key is the stored value (``""``: no sector)."""

    key: str
    """The group's stored value (category, sector, channel or jurisdiction; ``""``: none)."""
    submitted: int
    """Items of the group submitted in the period."""
    adopted: int
    """How many of those are adopted."""


def _by_person(people: Iterable[PersonCounts]) -> tuple[PersonCounts, ...]:
    return tuple(sorted((p for p in people if p.credits), key=lambda p: p.person_id))


def _by_unit(units: Iterable[UnitCounts]) -> tuple[UnitCounts, ...]:
    return tuple(sorted(units, key=lambda u: u.unit_id))


def _by_key(groups: Iterable[GroupCounts]) -> tuple[GroupCounts, ...]:
    return tuple(sorted(groups, key=lambda g: g.key))


@attrs.frozen
class Statistics:
    """Everything the bulletin and the assessment need, as counts (canonically ordered)."""

    query: StatisticsQuery
    """The query these counts answer."""
    people: tuple[PersonCounts, ...] = attrs.field(default=(), converter=_by_person)
    """Each credited person's counts, by person id."""
    units: tuple[UnitCounts, ...] = attrs.field(default=(), converter=_by_unit)
    """Each handling unit's counts, by unit id."""
    by_category: tuple[GroupCounts, ...] = attrs.field(default=(), converter=_by_key)
    """Items submitted and adopted per category, by key."""
    by_sector: tuple[GroupCounts, ...] = attrs.field(default=(), converter=_by_key)
    """Items submitted and adopted per sector (界别), by key."""
    by_channel: tuple[GroupCounts, ...] = attrs.field(default=(), converter=_by_key)
    """Items submitted and adopted per submission channel, by key."""
    by_jurisdiction: tuple[GroupCounts, ...] = attrs.field(default=(), converter=_by_key)
    """Items submitted and adopted per jurisdiction, by key."""
    overdue_reviews: int = 0
    """Review stages found past their window in the period."""


def statistics_of(items: Iterable[Item], query: StatisticsQuery) -> Statistics:
    """The reference answer to ``query`` over ``items`` (what every store must return)."""
    period, today = query.period, query.today
    credits: dict[str, Counter[CreditKey]] = defaultdict(Counter)
    units: dict[str, Counter[str]] = defaultdict(Counter)
    ratings: dict[str, Counter[Rating]] = defaultdict(Counter)
    groups: dict[str, dict[str, Counter[str]]] = {
        name: defaultdict(Counter) for name in ("category", "sector", "channel", "jurisdiction")
    }
    overdue_reviews = 0
    for item in items:
        if query.jurisdiction is not None and item.jurisdiction != query.jurisdiction:
            continue
        overdue_reviews += sum(local_day(o.at) in period for o in item.review_overruns)
        for credit in credits_of(item):
            if credit.on in period:
                credits[credit.person_id][CreditKey.of(credit)] += 1
        for a in item.assignments:
            if local_day(a.assigned_at) not in period:
                continue
            line = units[a.unit_id]
            line["assigned"] += 1
            line["extended"] += a.approved_extensions > 0
            line["declined"] += a.decline_reason is not None
            if a.replies:
                line["replied"] += 1
                line["replied_on_time"] += local_day(a.replies[-1].at) <= a.due
                ratings[a.unit_id][a.rating] += 1
                if a.reply_workdays is not None:
                    line["workdays_total"] += a.reply_workdays
                    line["workdays_count"] += 1
            elif a.state in AWAITING_UNIT_STATES and a.due < today:
                line["overdue"] += 1
        if item.submitted_at is not None and local_day(item.submitted_at) in period:
            keys = {
                "category": item.category.value,
                "sector": item.sector,
                "channel": item.channel.value,
                "jurisdiction": item.jurisdiction,
            }
            for name, key in keys.items():
                groups[name][key]["submitted"] += 1
                groups[name][key]["adopted"] += item.adopted

    def grouped(name: str) -> list[GroupCounts]:
        return [GroupCounts(k, c["submitted"], c["adopted"]) for k, c in groups[name].items()]

    return Statistics(
        query=query,
        people=[PersonCounts(person, counts) for person, counts in credits.items()],
        units=[
            UnitCounts(
                unit_id=unit_id,
                assigned=line["assigned"],
                replied=line["replied"],
                replied_on_time=line["replied_on_time"],
                overdue=line["overdue"],
                extended=line["extended"],
                declined=line["declined"],
                ratings=ratings[unit_id],
                reply_workdays_total=line["workdays_total"],
                reply_workdays_count=line["workdays_count"],
            )
            for unit_id, line in units.items()
        ],
        by_category=grouped("category"),
        by_sector=grouped("sector"),
        by_channel=grouped("channel"),
        by_jurisdiction=grouped("jurisdiction"),
        overdue_reviews=overdue_reviews,
    )
