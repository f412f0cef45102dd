"""What the rules, the calendar, the values and the errors give a caller."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, assert_type

from qiandao import (
    Access,
    Actor,
    AssignmentCommand,
    AssignmentState,
    ChinaWorkdays,
    Credit,
    DayKind,
    DeadlineExplanation,
    DeadlineRules,
    DeadlineStatus,
    Destination,
    Due,
    Event,
    ExplainedDay,
    InvalidInput,
    Item,
    ItemCommand,
    ItemState,
    NotFound,
    Period,
    PointsTable,
    QiandaoError,
    RankedScore,
    Rating,
    RatingRules,
    Role,
    RuleSet,
    Statistics,
    StatisticsQuery,
    TierRules,
    YearSchedule,
    bulletin,
    credits_of,
    evolve,
    replay,
    statistics_of,
)
from qiandao.rules import (
    access,
    allowed_item_commands,
    check_signer,
    classify,
    is_published,
    next_assignment_state,
    next_item_state,
    points,
    rank,
    required_signer,
    scores,
)

# Not (yet) importable from ``qiandao`` or ``qiandao.rules``:
from qiandao.rules.deadlines import decline_until, local_day, reply_due
from qiandao.rules.publication import AccessFacts, Viewer
from qiandao.rules.rating import rating_window, rating_window_closes


def tiers_and_lifecycle(chosen: list[Destination]) -> None:
    tiers = TierRules()
    assert_type(required_signer(chosen, tiers), Role)
    assert_type(check_signer(Role.CHAIR, chosen, tiers), Role)
    assert_type(next_item_state(ItemState.SUBMITTED, ItemCommand.REJECT, Role.EDITOR), ItemState)
    assert_type(allowed_item_commands(ItemState.ISSUED, Role.EDITOR), frozenset[ItemCommand])
    accept = AssignmentCommand.ACCEPT
    state = next_assignment_state(AssignmentState.PENDING, accept, Role.HANDLING_UNIT)
    assert_type(state, AssignmentState)


def deadlines_and_rating(calendar: ChinaWorkdays, assigned_at: datetime) -> None:
    rules = DeadlineRules()
    due = reply_due(calendar, assigned_at, rules)
    assert_type(due, Due)
    assert_type(due.day, date)
    assert_type(due.provisional, bool)
    assert_type(decline_until(calendar, assigned_at, rules), Due)
    assert_type(local_day(assigned_at), date)
    assert_type(classify(calendar, date(2026, 12, 17), assigned_at, rules), DeadlineStatus)
    assert_type(rating_window_closes(calendar, date(2026, 12, 1), RatingRules()), date)
    assert_type(rating_window(calendar, date(2026, 12, 1), RatingRules()).provisional, bool)


def publication_and_visibility(item: Item, actor: Actor) -> None:
    assert_type(is_published(item.state, secret=item.secret, opted_out=item.opted_out), bool)
    assert_type(item.published, bool)
    assert_type(item.access_facts(), AccessFacts)
    assert_type(actor.viewer(), Viewer)
    assert_type(access(actor.viewer(), item.access_facts()), Access)


def points_and_statistics(credits: list[Credit], items: list[Item], period: Period) -> None:
    table = PointsTable()
    assert_type(points(credits[0], table), int)
    totals = scores(credits, table, period)
    assert_type(totals, dict[str, int])
    assert_type(rank(totals), list[RankedScore])
    assert_type(credits_of(items[0]), list[Credit])
    stats = statistics_of(items, StatisticsQuery(None, period, date(2026, 12, 31)))
    assert_type(stats, Statistics)
    assert_type(bulletin(stats, RuleSet.zhoushan().points).ranking, tuple[RankedScore, ...])


def calendar(days: ChinaWorkdays, d: date) -> None:
    assert_type(ChinaWorkdays.official(), ChinaWorkdays)
    assert_type(days.load_schedule("schedule-2027.toml"), ChinaWorkdays)
    assert_type(days.is_working_day(d), bool)
    assert_type(days.add_working_days(d, 15), date)
    assert_type(days.working_days_between(d, d), int)
    assert_type(days.official_years(), tuple[int, ...])
    assert_type(days.is_provisional(2027), bool)
    assert_type(days.holiday_name(d), str | None)
    assert_type(days.day_kind(d), DayKind)
    assert_type(days.schedule(2026), YearSchedule)
    explained = days.explain(d, 15)
    assert_type(explained, DeadlineExplanation)
    assert_type(explained.skipped, tuple[ExplainedDay, ...])
    assert_type(explained.text(), str)


def labels_and_parsing() -> None:
    assert_type(Rating.BASICALLY_SATISFIED.label, str)
    assert_type(ItemState.DRAFT.label, str)
    assert_type(AssignmentState.DECLINED.label, str)
    assert_type(Role.CHAIR.label, str)
    assert_type(Destination.REPORT_TO_CITY_LEADERS.label, str)
    assert_type(DeadlineStatus.VERY_OVERDUE.label, str)
    assert_type(Access.ISSUED_TEXT.label, str)
    assert_type(Rating.parse("基本满意"), Rating)
    assert_type(ItemState.parse("draft"), ItemState)


def errors(error: QiandaoError, missing: NotFound, bad: InvalidInput) -> None:
    assert_type(error.code, str)
    assert_type(error.message, str)
    assert_type(error.article, str)
    assert_type(error.as_dict(), dict[str, Any])
    assert_type(missing.code, str)
    assert_type(bad.code, str)


def events(events: list[Event], item: Item | None) -> None:
    assert_type(replay(events), Item | None)
    assert_type(evolve(item, events[0]), Item)
